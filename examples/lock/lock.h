/*
 * examples/lock/lock.h - a lock server: one lock, granted to its callers
 * in the order they asked, with deferred replies.
 *
 * The server is a thread with a gate.  A client's capability to the gate
 * carries its own label (hs_cap_derive), by which the server knows the
 * holder.  The protocol, for porting the server or writing a client by
 * hand: the tag's label is the operation, the message has no words, and
 * the reply's mr[0] is an hs_status.
 *
 *   acquire  the lock is free: granted at once (HS_OK).  Held by another:
 *            the server keeps the call (hs_ipc_reply_keep) and queues it;
 *            the caller stays blocked in its call until the lock is handed
 *            to it, or its receive timeout gives up.  Held by the caller:
 *            HS_EDEADLK.  More than LOCK_WAITERS_MAX waiting: HS_ELIMIT.
 *   release  by the holder: the lock goes to the first queued caller still
 *            waiting (hs_ipc_reply_to), or becomes free; HS_OK.  By
 *            anyone else: HS_EPERM.
 *
 * What the protocol shows: a server that holds requests.  With the one
 * implicit reply capability of a plain receive, a lock server must answer
 * at once, and a caller that finds the lock held can only poll.  Here a
 * waiter costs nothing until the lock is free, waiters are served first
 * come first served, and a caller that gave up (timed out, was cancelled,
 * ended) is skipped: answering its kept reply is HS_ESTALE.  The server
 * also knows whether a grant landed: if the caller timed out just before
 * the reply, the reply is HS_ESTALE and the lock is not its.
 *
 * What it does not do: a holder that ends without releasing keeps the
 * lock (waiters' timeouts end their waits); a supervisor or an exit watch
 * (hopsim/notify.h) would release it.
 */
#ifndef EXAMPLES_LOCK_LOCK_H
#define EXAMPLES_LOCK_LOCK_H

#include "hopsim.h"

#ifdef __cplusplus
extern "C" {
#endif

enum lock_op {
    LOCK_ACQUIRE = 1,
    LOCK_RELEASE = 2,
};

#define LOCK_WAITERS_MAX 64

/* Serve the lock on gate (bound to the calling thread) for ever, with
 * hs_ipc_serve(): a run left with only the server ends normally.  Returns
 * only when receiving fails (HS_ECANCELED, ...). */
hs_status lock_serve(hs_cap_t gate);

/* Acquire the lock through capability lock, waiting at most timeout for
 * it.  HS_OK: the caller holds it.  HS_ETIMEOUT (phase HS_PHASE_RECV):
 * not acquired; HS_EDEADLK: the caller holds it already; HS_ELIMIT: too
 * many waiting; or the IPC error. */
hs_status lock_acquire(hs_cap_t lock, hs_time_t timeout);

/* Release the lock: HS_OK, HS_EPERM (not the holder), or the IPC error. */
hs_status lock_release(hs_cap_t lock);

#ifdef __cplusplus
}
#endif

#endif
