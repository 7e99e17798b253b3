/*
 * examples/supervisor/supervisor.h - a supervisor that restarts a crashed
 * server: it spawns a worker (an echo server in a process of its own),
 * watches it with an exit watch, starts a new one when it ends, up to a
 * restart limit, and tells clients where the current worker is.
 *
 * Two gates, two protocols.  The tag's label is the operation; replies
 * carry an hs_status in mr[0].
 *
 * The supervisor's gate (bound to the thread in supervisor_serve()):
 *   where     no words.  A worker is registered: HS_OK and one capability
 *             item, a send-only capability to the worker's gate (the
 *             caller sets br[HS_BR_CAPS] to 1).  None yet (starting, or
 *             restarting): the call is kept (hs_ipc_reply_keep) and
 *             answered when one registers.  The restart limit is spent
 *             and the last worker ended: HS_ESRCH.  More than
 *             SUPERVISOR_WAITERS_MAX kept: HS_ELIMIT.
 *   register  from a worker only: no words, one capability item (its
 *             gate, with HS_CAP_SEND | HS_CAP_GRANT).  Accepted from the
 *             current worker, once: HS_OK.  A capability whose label is
 *             not the current worker's: HS_EPERM; a malformed message or
 *             a second registration: HS_EINVAL.  A worker's capability
 *             has label SUPERVISOR_WORKER_LABEL | its number, so clients'
 *             capabilities must have labels below SUPERVISOR_WORKER_LABEL.
 *   stop      no words, through a capability labelled cfg->stop_label
 *             (0 by default: the gate's own capability); another label:
 *             HS_EPERM.  Kept where calls are answered HS_ESRCH, the
 *             stop HS_OK, and supervisor_serve() returns HS_OK.  The
 *             current worker is left serving its clients, no longer
 *             watched nor restarted.
 *
 * The worker's gate:
 *   echo      mr[0] a word.  Reply: mr[0] HS_OK, mr[1] the word.  Any
 *             other operation: HS_EINVAL.  Each worker counts the calls
 *             it receives and, on the crash_after-th, crashes: it ends
 *             with hs_proc_exit(SUPERVISOR_CRASH) without answering, and
 *             its caller's call fails with HS_EPARTNER.
 *
 * What it shows: a server's life kept apart from its clients'.  The
 * supervisor installs an HS_NOTIFY_EXIT handler on its own thread and
 * watches each worker (hs_notify_watch); the handler only records the
 * exit, and the serve loop reaps the worker, drops its capabilities and
 * starts the next one.  Clients never hold a name that outlives a worker:
 * a call that fails with HS_EPARTNER (the worker died with the call) or
 * HS_EBADCAP (its gate is gone) drops the capability and asks the
 * supervisor again (supervisor_echo() does this), and the supervisor
 * holds the question until the new worker has registered, so no client
 * polls.
 *
 * What it does not do.  A notification does not interrupt a wait
 * (hopsim/notify.h), and the supervisor waits in hs_ipc_serve() so that a
 * run left with only servers ends: it learns of an exit when a message
 * next wakes it, so a worker is restarted on demand, when the first
 * client that lost it asks where it is, not at the moment it died (and
 * one that dies when no call follows stays a zombie).  While it waits
 * its exit handler is removed, so that no notification is left queued on
 * a thread that may wait for good; on waking it re-arms the watch, which
 * fires at once for a worker that ended meanwhile.  A retried request
 * may have been carried out twice (at least once, not exactly once),
 * which an echo does not mind; the worker keeps no state across a
 * restart; and the supervisor does not back off between restarts.
 */
#ifndef EXAMPLES_SUPERVISOR_SUPERVISOR_H
#define EXAMPLES_SUPERVISOR_SUPERVISOR_H

#include "hopsim.h"

#ifdef __cplusplus
extern "C" {
#endif

enum supervisor_op {
    SUPERVISOR_WHERE = 1,
    SUPERVISOR_REGISTER = 2,
    SUPERVISOR_ECHO = 3,
    SUPERVISOR_STOP = 4,
};

#define SUPERVISOR_WAITERS_MAX 16
#define SUPERVISOR_WORKER_LABEL ((uint64_t)1 << 62)
#define SUPERVISOR_CRASH 3      /* a worker's exit status when it crashes */
#define SUPERVISOR_FAILED 4     /* ... when it could not register or
                                   receive */
#define SUPERVISOR_TRIES 8      /* attempts of supervisor_echo() */

/* What the supervisor does; read before it starts. */
struct supervisor_cfg {
    unsigned crash_after;       /* a worker crashes on its crash_after-th
                                   call; 0: never */
    unsigned restarts_max;      /* workers started after the first */
    uint64_t stop_label;        /* label of the capability a stop must come
                                   through; below SUPERVISOR_WORKER_LABEL */
};

/* What happened, updated as it happens (for a program or a test to read
 * once the run is over). */
struct supervisor_stats {
    unsigned started;           /* workers spawned */
    unsigned registered;        /* of those, registered */
    unsigned exits;             /* worker exits seen */
    int last_status;            /* exit status of the last worker ended */
    hs_time_t registered_at;    /* virtual time of the last registration */
};

/* Supervise workers as cfg says, serving the supervisor's gate (bound to
 * the calling thread, with HS_CAP_GRANT) with hs_ipc_serve() until a stop.
 * Installs an HS_NOTIFY_EXIT handler on the calling thread, so the
 * process's other threads must not install one; workers are children of
 * the caller's process.  stats may be NULL.  Returns HS_OK after a stop,
 * or the error that keeps it from going on: of receiving, installing the
 * handler, or starting the first worker. */
hs_status supervisor_serve(hs_cap_t gate, const struct supervisor_cfg *cfg,
                           struct supervisor_stats *stats);

/* Ask supervisor sup where the worker is, waiting at most timeout for
 * the answer; *svc gets a send capability to its gate.  HS_OK, HS_ESRCH
 * (no worker, none to come), HS_ELIMIT, or the IPC error. */
hs_status supervisor_where(hs_cap_t sup, hs_time_t timeout, hs_cap_t *svc);

/* Stop supervisor sup, waiting at most timeout to be heard and answered.
 * HS_OK, HS_EPERM (sup does not carry the stop label), or the IPC error. */
hs_status supervisor_stop(hs_cap_t sup, hs_time_t timeout);

/* Echo word through the worker of supervisor sup, with *svc the caller's
 * capability to it (0: none yet; it is filled in and kept for the next
 * call).  A lost worker (HS_EPARTNER, HS_EBADCAP) is asked for again, up
 * to SUPERVISOR_TRIES attempts; each call waits at most timeout to be
 * sent and timeout for its reply.  HS_OK: *out is the word echoed.
 * Otherwise the error of supervisor_where(), of the last attempt, or of
 * the worker. */
hs_status supervisor_echo(hs_cap_t sup, hs_cap_t *svc, uint64_t word,
                          hs_time_t timeout, uint64_t *out);

#ifdef __cplusplus
}
#endif

#endif
