/*
 * kern/event.c - the names of event kinds and the start of a run's stream
 * (event_record() itself is inline in event.h).
 */
#include "kern/event.h"
#include "kern/panic.h"

#define FNV_OFFSET 0xcbf29ce484222325ull
#define FNV_PRIME  0x100000001b3ull

static const char *const names[EV_COUNT] = {
    [EV_BLOCK] = "block",
    [EV_CAP_REVOKE] = "cap_revoke",
    [EV_CHAN_ATTACH] = "chan_attach",
    [EV_CHAN_CLOSE] = "chan_close",
    [EV_CHAN_CREATE] = "chan_create",
    [EV_CHAN_DESTROY] = "chan_destroy",
    [EV_CHAN_DETACH] = "chan_detach",
    [EV_CHAN_REVOKE] = "chan_revoke",
    [EV_CHAN_SLEEP] = "chan_sleep",
    [EV_CHAN_WAKE] = "chan_wake",
    [EV_CHECKPOINT_KEEP] = "checkpoint_keep",
    [EV_CHECKPOINT_RESUME] = "checkpoint_resume",
    [EV_CLOCK] = "clock",
    [EV_DEADLOCK] = "deadlock",
    [EV_DEVICE_CREATE] = "device_create",
    [EV_FAULT] = "fault",
    [EV_GATE_CREATE] = "gate_create",
    [EV_HOP] = "hop",
    [EV_HOP_ACCEPT] = "hop_accept",
    [EV_HOP_ASYNC] = "hop_async",
    [EV_HOP_RETURN] = "hop_return",
    [EV_HOP_UNWIND] = "hop_unwind",
    [EV_IPC_CALL] = "ipc_call",
    [EV_IPC_CANCEL] = "ipc_cancel",
    [EV_IPC_RECV] = "ipc_recv",
    [EV_IPC_REPLY] = "ipc_reply",
    [EV_IPC_REPLY_KEEP] = "ipc_reply_keep",
    [EV_IPC_REPLY_TO] = "ipc_reply_to",
    [EV_IPC_SEND] = "ipc_send",
    [EV_IRQ_BIND] = "irq_bind",
    [EV_IRQ_CREATE] = "irq_create",
    [EV_IRQ_DESTROY] = "irq_destroy",
    [EV_IRQ_SIGNAL] = "irq_signal",
    [EV_JOIN] = "join",
    [EV_MEM_COPY] = "mem_copy",
    [EV_MEM_COW] = "mem_cow",
    [EV_MEM_DECLINE] = "mem_decline",
    [EV_MEM_DESTROY] = "mem_destroy",
    [EV_MEM_MAP] = "mem_map",
    [EV_MEM_MOVE] = "mem_move",
    [EV_MEM_PROTECT] = "mem_protect",
    [EV_MEM_REVOKE] = "mem_revoke",
    [EV_MEM_SHARE] = "mem_share",
    [EV_MEM_SPLIT] = "mem_split",
    [EV_MEM_UNMAP] = "mem_unmap",
    [EV_NOTIFY_DECIDE] = "notify_decide",
    [EV_NOTIFY_DISPATCH] = "notify_dispatch",
    [EV_NOTIFY_DROP] = "notify_drop",
    [EV_NOTIFY_NORETURN] = "notify_noreturn",
    [EV_NOTIFY_RETURN] = "notify_return",
    [EV_NOTIFY_SEND] = "notify_send",
    [EV_PAGES_ABANDON] = "pages_abandon",
    [EV_PAGES_ACCEPT] = "pages_accept",
    [EV_PAGES_SEND] = "pages_send",
    [EV_PANIC] = "panic",
    [EV_PF] = "pf",
    [EV_PF_COW] = "pf_cow",
    [EV_PF_DELIVER] = "pf_deliver",
    [EV_PF_KILL] = "pf_kill",
    [EV_PF_RESOLVE] = "pf_resolve",
    [EV_PCT_CHANGE] = "pct_change",
    [EV_PORT_CLOSE] = "port_close",
    [EV_PORT_CREATE] = "port_create",
    [EV_PORTAL_CLOSE] = "portal_close",
    [EV_PORTAL_CREATE] = "portal_create",
    [EV_PREEMPT] = "preempt",
    [EV_PRIORITY] = "priority",
    [EV_PROC_EXIT] = "proc_exit",
    [EV_QUOTA] = "quota",
    [EV_REAP] = "reap",
    [EV_SPAWN] = "spawn",
    [EV_SWITCH] = "switch",
    [EV_THREAD_CREATE] = "thread_create",
    [EV_THREAD_EXIT] = "thread_exit",
    [EV_TIMEOUT] = "timeout",
    [EV_TOPIC_CREATE] = "topic_create",
    [EV_TOPIC_DESTROY] = "topic_destroy",
    [EV_TOPIC_SUBSCRIBE] = "topic_subscribe",
    [EV_TOPIC_UNSUBSCRIBE] = "topic_unsubscribe",
    [EV_WAKE] = "wake",
    [EV_YIELD] = "yield",
};

struct event_stream kevents;

/* FNV-1a of a name. */
static uint64_t fnv_str(const char *s)
{
    uint64_t h = FNV_OFFSET;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= FNV_PRIME;
    }
    return h;
}

void event_stream_start(event_sink_fn *sink, event_msg_sink_fn *msg_sink)
{
    for (int i = 0; i < EV_COUNT; i++) {
        KASSERT(names[i], "every event kind has a name");
        kevents.kind_hash[i] = fnv_str(names[i]);
    }
    kevents.sink = sink;
    kevents.msg_sink = msg_sink;
    kevents.tracing = sink != NULL;
    kevents.count = 0;
    kevents.hash = FNV_OFFSET;
}

const char *event_name(enum event_kind kind)
{
    return (unsigned)kind < EV_COUNT ? names[kind] : "?";
}
