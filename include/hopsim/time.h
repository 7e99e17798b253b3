/*
 * hopsim/time.h - virtual time and timeouts.
 *
 * All time in hopsim is virtual: simulated nanoseconds since the start of
 * the run.  The clock only moves when no simulated thread can run, and then
 * it jumps to the earliest pending timer, so sleeping never costs wall time.
 */
#ifndef HOPSIM_TIME_H
#define HOPSIM_TIME_H

#include <stdint.h>

#include "api.h"

HS_BEGIN_DECLS

/* A point in virtual time, or a duration, in simulated nanoseconds. */
typedef uint64_t hs_time_t;

/*
 * A timeout is one of three kinds:
 *   HS_NOWAIT          never block: fail with HS_ETIMEOUT if the operation
 *                      cannot complete at once;
 *   1..HS_TIMEOUT_MAX  block for at most that many virtual nanoseconds;
 *   HS_NEVER           block until the operation completes.
 * Any other value is not a timeout and is refused with HS_EINVAL.
 */
#define HS_NOWAIT       ((hs_time_t)0)
#define HS_NEVER        (~(hs_time_t)0)
#define HS_TIMEOUT_MAX  ((hs_time_t)1 << 62)   /* about 146 virtual years */

#define HS_USEC ((hs_time_t)1000)
#define HS_MSEC ((hs_time_t)1000 * HS_USEC)
#define HS_SEC  ((hs_time_t)1000 * HS_MSEC)

/* The current virtual time.  Outside a run it reads the time at which the
 * last run ended (0 before any run). */
hs_time_t hs_time_now(void);

/* The timeout that ends at absolute virtual time t, for any call that
 * takes a timeout: HS_NOWAIT if t has passed (or is now), t minus now
 * otherwise (at most HS_TIMEOUT_MAX), HS_NEVER for HS_NEVER.  Between
 * this call and the next kernel call of the same thread the clock cannot
 * move (it moves only while no thread runs), so
 *     hs_ipc_recv(gate, hs_deadline(t), &label)
 * gives up exactly at t, and a deadline already passed never blocks --
 * where t - hs_time_now() would wrap for a passed t. */
hs_time_t hs_deadline(hs_time_t t);

/* The host's monotonic clock in nanoseconds (real time, not virtual:
 * for measuring what the host spends, e.g. channel latencies in host
 * time).  Any thread, inside a run or not; never deterministic. */
uint64_t hs_time_host_ns(void);

HS_END_DECLS

#endif
