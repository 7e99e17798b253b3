/*
 * kern/event.h - the kernel's event stream.
 *
 * Every kernel event is counted and folded into the run's hash (printed at
 * exit, so that two runs can be compared), and written to the text log
 * when HOPSIM_LOG is set.  An event is its kind, the thread it concerns,
 * two values and the virtual time.
 */
#ifndef HOPSIM_KERN_EVENT_H
#define HOPSIM_KERN_EVENT_H

#include <stdint.h>

#include "kern/pool.h"
#include "sim/platform.h"

struct thread;

/* The kinds of event; event.c names each one. */
enum event_kind {
    EV_BLOCK,
    EV_CAP_REVOKE,
    EV_CHAN_ATTACH,
    EV_CHAN_CLOSE,
    EV_CHAN_CREATE,
    EV_CHAN_DESTROY,
    EV_CHAN_DETACH,
    EV_CHAN_REVOKE,
    EV_CHAN_SLEEP,
    EV_CHAN_WAKE,
    EV_CHECKPOINT_KEEP,
    EV_CHECKPOINT_RESUME,
    EV_CLOCK,
    EV_DEADLOCK,
    EV_DEVICE_CREATE,
    EV_FAULT,
    EV_GATE_CREATE,
    EV_HOP,
    EV_HOP_ACCEPT,
    EV_HOP_ASYNC,
    EV_HOP_RETURN,
    EV_HOP_UNWIND,
    EV_IPC_CALL,
    EV_IPC_CANCEL,
    EV_IPC_RECV,
    EV_IPC_REPLY,
    EV_IPC_REPLY_KEEP,
    EV_IPC_REPLY_TO,
    EV_IPC_SEND,
    EV_IRQ_BIND,
    EV_IRQ_CREATE,
    EV_IRQ_DESTROY,
    EV_IRQ_SIGNAL,
    EV_JOIN,
    EV_MEM_COPY,
    EV_MEM_COW,
    EV_MEM_DECLINE,
    EV_MEM_DESTROY,
    EV_MEM_MAP,
    EV_MEM_MOVE,
    EV_MEM_PROTECT,
    EV_MEM_REVOKE,
    EV_MEM_SHARE,
    EV_MEM_SPLIT,
    EV_MEM_UNMAP,
    EV_NOTIFY_DECIDE,
    EV_NOTIFY_DISPATCH,
    EV_NOTIFY_DROP,
    EV_NOTIFY_NORETURN,
    EV_NOTIFY_RETURN,
    EV_NOTIFY_SEND,
    EV_PAGES_ABANDON,
    EV_PAGES_ACCEPT,
    EV_PAGES_SEND,
    EV_PANIC,
    EV_PF,
    EV_PF_COW,
    EV_PF_DELIVER,
    EV_PF_KILL,
    EV_PF_RESOLVE,
    EV_PCT_CHANGE,
    EV_PORT_CLOSE,
    EV_PORT_CREATE,
    EV_PORTAL_CLOSE,
    EV_PORTAL_CREATE,
    EV_PREEMPT,
    EV_PRIORITY,
    EV_PROC_EXIT,
    EV_QUOTA,
    EV_REAP,
    EV_SPAWN,
    EV_SWITCH,
    EV_THREAD_CREATE,
    EV_THREAD_EXIT,
    EV_TIMEOUT,
    EV_TOPIC_CREATE,
    EV_TOPIC_DESTROY,
    EV_TOPIC_SUBSCRIBE,
    EV_TOPIC_UNSUBSCRIBE,
    EV_WAKE,
    EV_YIELD,
    EV_COUNT
};

/* A message from one thread to another, as the trace and chart show it. */
enum trace_msg {
    TRACE_CALL,     /* a call delivered to its receiver */
    TRACE_SEND,     /* a send delivered to its receiver */
    TRACE_REPLY,    /* a reply delivered to its caller */
    TRACE_IRQ,      /* an IRQ signal delivered to a waiting thread */
};

typedef void event_msg_sink_fn(enum trace_msg kind, const struct thread *from,
                               const struct thread *to);

/* Where a traced event goes (the text log, a trace, the user's event_fn):
 * given by the kernel above the base when the run starts. */
typedef void event_sink_fn(enum event_kind kind, const struct thread *t,
                           uint64_t a, uint64_t b);

/* The stream of the current run.  Read by the summary; written only by
 * event_record() (and reset by event_stream_start()). */
struct event_stream {
    uint64_t count;                 /* events so far */
    uint64_t hash;                  /* of every event so far */
    int tracing;                    /* sink set: a text log, trace or
                                       chart is open, or an event_fn */
    event_sink_fn *sink;
    event_msg_sink_fn *msg_sink;    /* set with sink */
    uint64_t kind_hash[EV_COUNT];   /* hash of each kind's name */
};

extern struct event_stream kevents;

/* Start the stream of a new run: no events, the initial hash; every event
 * goes to sink and every message to msg_sink too, if sink is not NULL. */
void event_stream_start(event_sink_fn *sink, event_msg_sink_fn *msg_sink);

/* The name of a kind ("hop"), as the log prints it. */
const char *event_name(enum event_kind kind);

/* The handle of thread t (0 for none): its first member, as for every
 * pooled object, so the base reads it without knowing threads. */
static inline uint64_t event_handle(const struct thread *t)
{
    return t ? ((const struct kobj *)(const void *)t)->handle : 0;
}

#define EVENT_MUL 0x9e3779b97f4a7c15ull     /* odd */

/* One word into the hash: a bijection of h for a given w, and of w for a
 * given h (xor, then multiply by an odd constant). */
static inline uint64_t event_mix(uint64_t h, uint64_t w)
{
    return (h ^ w) * EVENT_MUL;
}

/*
 * An event into the run's hash.  The hash takes five words per event: the
 * hash of the kind's name (so it does not depend on the order of enum
 * event_kind), the thread's handle, the two values and the virtual time,
 * each through event_mix(); then the event folds the high half into the
 * low half, so high bits reach the later multiplies.  Every step is a
 * bijection, so two streams that differ in a single word of a single
 * event always end with different hashes.
 */
static inline void event_hash(enum event_kind kind, const struct thread *t,
                              uint64_t a, uint64_t b)
{
    hs_time_t now = plat_clock_now();
    uint64_t h = event_mix(kevents.hash, kevents.kind_hash[kind]);
    h = event_mix(h, event_handle(t));
    h = event_mix(h, a);
    h = event_mix(h, b);
    h = event_mix(h, now);
    kevents.hash = h ^ (h >> 32);
}

/* Record an event: hashed (event_hash()), logged if a log is open, and
 * counted.  Inline: a dozen instructions, on every kernel path. */
static inline void event_record(enum event_kind kind, const struct thread *t,
                                uint64_t a, uint64_t b)
{
    event_hash(kind, t, a, b);
    if (kevents.tracing)
        kevents.sink(kind, t, a, b);
    kevents.count++;
}

/* event_record() where kevents.tracing is known clear (the quick paths of
 * IPC test it first): no sink to call, so a caller that calls nothing
 * else saves no registers of its own. */
static inline void event_record_untraced(enum event_kind kind,
                                         const struct thread *t, uint64_t a,
                                         uint64_t b)
{
    event_hash(kind, t, a, b);
    kevents.count++;
}

/* A message moved from one thread to another (the IPC paths): to the
 * message sink when tracing.  Not part of the hash: the events around it
 * are. */
static inline void trace_message(enum trace_msg kind,
                                 const struct thread *from,
                                 const struct thread *to)
{
    if (kevents.tracing)
        kevents.msg_sink(kind, from, to);
}

#endif
