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
 * What it shows: a server's life kept apart from its clients', and a
 * server that reacts to notifications while it waits for calls.  A
 * notification does not interrupt an IPC wait (hopsim/notify.h), so the
 * thread that serves the gate in hs_ipc_serve() cannot hear of an exit
 * itself.  supervisor_serve() starts a second thread in its process, the
 * watcher, which holds the HS_NOTIFY_EXIT handler and waits in
 * hs_notify_wait(), which notifications end; each worker is watched
 * (hs_notify_watch).  When a worker ends, the watcher's handler runs at
 * once and signals an IRQ object bound to the serve thread, which ends
 * its open wait: the serve thread reaps the worker, drops its
 * capabilities and starts the next one, at the virtual time of the exit,
 * whether or not a call follows.  The signal carries no data (the serve
 * thread finds which child ended by reaping its worker), so the
 * supervisor's state belongs to the serve thread alone and nothing is
 * shared between the two threads, on one CPU or several.  Clients never
 * hold a name that outlives a worker: a call that fails with HS_EPARTNER
 * (the worker died with the call) or HS_EBADCAP (its gate is gone) drops
 * the capability and asks the supervisor again (supervisor_echo() does
 * this), and the supervisor holds the question until the new worker has
 * registered, so no client polls.
 *
 * Ending.  The watcher's wait does not count as serving, so a run whose
 * supervisor still watches does not end normally (HS_EDEADLK): stop the
 * supervisor when its clients are done.  A stop ends the watcher (with a
 * typed message, WATCH_STOP_TYPE in supervisor.c, which it waits for
 * along with the exits) and joins it before supervisor_serve() returns;
 * the worker it leaves serving counts as a server.
 *
 * What it does not do.  A retried request may have been carried out
 * twice (at least once, not exactly once), which an echo does not mind;
 * the worker keeps no state across a restart; the supervisor does not
 * back off between restarts; and a stop does not end the current worker.
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
 * Starts the watcher, a thread of the caller's process at the caller's
 * priority, which installs an HS_NOTIFY_EXIT handler on itself and
 * registers a typed message type; an IRQ object bound to the calling
 * thread carries its signals.  So the process's other threads must not
 * install an HS_NOTIFY_EXIT handler, and one process runs one
 * supervisor.  Workers are children of the caller's process.  stats may
 * be NULL.  Returns HS_OK after a stop, or the error that keeps it from
 * going on: of receiving, starting the watcher, or starting the first
 * worker; the watcher has ended in every case. */
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
