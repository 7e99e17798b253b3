/*
 * core/event.c - the kernel's event stream (see event.h).
 *
 * The run's hash folds in five words per event: a hash of the kind's name
 * (so the hash does not depend on the order of enum event_kind), the
 * thread's handle, the two values and the virtual time.  Each word goes
 * in as h = (h ^ w) * odd constant, and each event ends by folding the
 * high half into the low half.  Every one of these steps is a bijection,
 * so two streams that differ in a single word of a single event always end
 * with different hashes; and an event costs a dozen instructions, not a
 * multiply per byte of its kind's name.
 */
#include "core/event.h"
#include "core/kernel.h"

#define FNV_OFFSET 0xcbf29ce484222325ull
#define FNV_PRIME  0x100000001b3ull
#define MIX_MUL    0x9e3779b97f4a7c15ull   /* odd */

static const char *const names[EV_COUNT] = {
    [EV_BLOCK] = "block",
    [EV_CAP_REVOKE] = "cap_revoke",
    [EV_CHECKPOINT_KEEP] = "checkpoint_keep",
    [EV_CHECKPOINT_RESUME] = "checkpoint_resume",
    [EV_CLOCK] = "clock",
    [EV_DEADLOCK] = "deadlock",
    [EV_GATE_CREATE] = "gate_create",
    [EV_HOP] = "hop",
    [EV_HOP_ASYNC] = "hop_async",
    [EV_HOP_RETURN] = "hop_return",
    [EV_HOP_UNWIND] = "hop_unwind",
    [EV_IPC_CALL] = "ipc_call",
    [EV_IPC_RECV] = "ipc_recv",
    [EV_IPC_REPLY] = "ipc_reply",
    [EV_IPC_SEND] = "ipc_send",
    [EV_JOIN] = "join",
    [EV_PANIC] = "panic",
    [EV_PORT_CLOSE] = "port_close",
    [EV_PORT_CREATE] = "port_create",
    [EV_PREEMPT] = "preempt",
    [EV_PRIORITY] = "priority",
    [EV_PROC_EXIT] = "proc_exit",
    [EV_REAP] = "reap",
    [EV_SPAWN] = "spawn",
    [EV_SWITCH] = "switch",
    [EV_THREAD_CREATE] = "thread_create",
    [EV_THREAD_EXIT] = "thread_exit",
    [EV_TIMEOUT] = "timeout",
    [EV_WAKE] = "wake",
    [EV_YIELD] = "yield",
};

/* FNV-1a of each name, filled by event_stream_start(). */
static uint64_t name_hash[EV_COUNT];
static int tracing;             /* a text log is open for this run */

static uint64_t fnv_str(const char *s)
{
    uint64_t h = FNV_OFFSET;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= FNV_PRIME;
    }
    return h;
}

/* One word into the hash: a bijection of h for a given w, and of w for a
 * given h (xor, then multiply by an odd constant). */
static inline uint64_t mix(uint64_t h, uint64_t w)
{
    return (h ^ w) * MIX_MUL;
}

/* The end of an event's words: fold the high half into the low half (a
 * bijection too), so that high bits reach every later multiply. */
static inline uint64_t fold(uint64_t h)
{
    return h ^ (h >> 32);
}

void event_stream_start(void)
{
    for (int i = 0; i < EV_COUNT; i++) {
        KASSERT(names[i], "every event kind has a name");
        name_hash[i] = fnv_str(names[i]);
    }
    tracing = plat_trace_enabled();
    k.events = 0;
    k.hash = FNV_OFFSET;
}

const char *event_name(enum event_kind kind)
{
    return (unsigned)kind < EV_COUNT ? names[kind] : "?";
}

/* Write one event to the text log. */
static __attribute__((noinline)) void event_trace(enum event_kind kind,
                                                 const struct thread *t,
                                                 uint64_t tid, uint64_t a,
                                                 uint64_t b, hs_time_t now)
{
    struct plat_event ev = {
        .seq = k.events, .time = now, .kind = names[kind], .thread = tid,
        .a = a, .b = b, .text = t ? t->name : NULL,
    };
    plat_trace_event(&ev);
}

void event_record(enum event_kind kind, const struct thread *t, uint64_t a,
                  uint64_t b)
{
    uint64_t tid = t ? t->obj.handle : 0;
    hs_time_t now = plat_clock_now();
    uint64_t h = mix(k.hash, name_hash[kind]);
    h = mix(h, tid);
    h = mix(h, a);
    h = mix(h, b);
    k.hash = fold(mix(h, now));
    if (tracing)
        event_trace(kind, t, tid, a, b, now);
    k.events++;
}
