/*
 * core/event.h - the kernel's event stream.
 *
 * Every kernel event is counted and folded into the run's hash (printed at
 * exit, so that two runs can be compared), and written to the text log
 * when HOPSIM_LOG is set.  An event is its kind, the thread it concerns,
 * two values and the virtual time.
 */
#ifndef HOPSIM_CORE_EVENT_H
#define HOPSIM_CORE_EVENT_H

#include <stdint.h>

struct thread;

/* The kinds of event; event.c names each one. */
enum event_kind {
    EV_BLOCK,
    EV_CAP_REVOKE,
    EV_CHECKPOINT_KEEP,
    EV_CHECKPOINT_RESUME,
    EV_CLOCK,
    EV_DEADLOCK,
    EV_GATE_CREATE,
    EV_HOP,
    EV_HOP_ASYNC,
    EV_HOP_RETURN,
    EV_HOP_UNWIND,
    EV_IPC_CALL,
    EV_IPC_RECV,
    EV_IPC_REPLY,
    EV_IPC_SEND,
    EV_JOIN,
    EV_PANIC,
    EV_PORT_CLOSE,
    EV_PORT_CREATE,
    EV_PREEMPT,
    EV_PRIORITY,
    EV_PROC_EXIT,
    EV_REAP,
    EV_SPAWN,
    EV_SWITCH,
    EV_THREAD_CREATE,
    EV_THREAD_EXIT,
    EV_TIMEOUT,
    EV_WAKE,
    EV_YIELD,
    EV_COUNT
};

/* Start the stream of a new run: no events, the initial hash, and the
 * text log if the platform has one open. */
void event_stream_start(void);

/* Record an event: counted, hashed, and logged if a log is open. */
void event_record(enum event_kind kind, const struct thread *t, uint64_t a,
                  uint64_t b);

/* The name of a kind ("hop"), as the log prints it. */
const char *event_name(enum event_kind kind);

#endif
