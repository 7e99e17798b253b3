/*
 * core/kernel.h - the kernel's global state and its entry and exit.
 *
 * Every public call made from a simulated thread brackets its work with
 * kernel_enter() and kernel_leave(): enter takes the kernel lock and finds
 * the calling thread; leave is the scheduling point and drops the lock.
 */
#ifndef HOPSIM_CORE_KERNEL_H
#define HOPSIM_CORE_KERNEL_H

#include <stdint.h>

#include "kern/base.h"
#include "kern/entry.h"
#include "kern/event.h"
#include "kern/list.h"
#include "kern/object.h"
#include "kern/panic.h"
#include "kern/pool.h"
#include "core/proc.h"
#include "core/thread.h"
#include "hopsim.h"
#include "sim/platform.h"

#define NPRIO (HS_PRIO_MAX + 1)
#define REPORT_MAX (64 * 1024)

struct kernel {
    int started;                /* hs_sim_start() done, run not finished */
    hs_sim_config cfg;
    uint64_t seed;              /* HS_SEED_NONE when not seeded */
    uint64_t rng;               /* generator state */

    struct pool threads, procs, ports, levels, checkpoints, caps, gates,
        irqs, pagefaults, hop_offers, portals, sharepoints;
    struct pool chans, chan_ends;   /* channels and their ends
                                       (ports/chan.c) */
    struct pool topics, topic_subs; /* topics and their subscriptions
                                       (ports/topic.c) */
    /* Page-unit sends (mem/pages.c): sends, the offer to each receiver,
     * and the runs of frames a send holds. */
    struct pool pages_sends, pages_offers, pages_runs;
    struct list pagefaults_open; /* faults waiting for a pager */
    struct list portals_live;   /* every portal (mem/portal.c) */
    struct list sharepoints_live; /* every share-point, named or not */
    unsigned nlive;             /* threads not yet ended */
    unsigned nserving;          /* of those, blocked in hs_proc_serve()
                                   or hs_ipc_serve() */
    struct list name_waiters;   /* threads in hs_port_lookup() */
    uint64_t cap_epoch;         /* moves on at every capability revoke
                                   or free (cap_chain_valid()); from 1 */

    /* Run queues: one FIFO per priority; bit p of kern.rq_bits set
     * when rq[p] is not empty. */
    struct list rq[NPRIO];

    unsigned idle_cpus;         /* CPUs waiting in plat_cpu_idle() */

    hs_status end_status;

    /* Statistics (the event count and hash: kern/event.h). */
    uint64_t plain_switches;    /* context switches but direct ones */
    uint64_t direct_switches;   /* direct hand-offs (each counted once) */
    uint64_t direct_hops;       /* hops returned by a direct switch */
    /* Calls of hs_ipc_call(), hs_ipc_reply_wait() and hs_hop() from a
     * simulated thread that took the general path and not the quick one
     * (ports/ipc.c, ports/hop.c): counted there, to cost the quick paths
     * nothing; the tests compare them between runs. */
    uint64_t general_calls, general_replies, general_hops;
    uint64_t threads_created, procs_created;

    /* Schedule exploration (sched.c), seeded runs only. */
    hs_strategy strategy;       /* as resolved */
    unsigned pct_depth;
    uint64_t pct_steps;
    uint64_t pct_change[HS_PCT_DEPTH_MAX]; /* change points, ascending */
    unsigned pct_nchange;       /* pct_depth - 1 */
    unsigned pct_next;          /* next change point to reach */
    uint64_t sched_points;      /* scheduling decisions so far */

    /* Faults drawn from the seed (fault.c). */
    unsigned fault_kinds;       /* HS_FAULT_* bits still to fire */
    uint64_t fault_rng;         /* their own generator */
    unsigned nfaults;
    hs_fault faults[HS_FAULT_KINDS];
    uint64_t fault_seen[HS_FAULT_KINDS]; /* opportunities so far */
};

extern struct kernel k;

/* splitmix64: small, fast, and good enough to spread interleavings. */
static inline uint64_t splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Whether n more ports, gates or IRQ objects fit cfg.max_ports, which
 * counts the three together. */
static inline int endpoints_fit(unsigned n)
{
    return k.ports.live + k.gates.live + k.irqs.live + n <= k.cfg.max_ports;
}

/* Validate a timeout value (see hopsim/time.h). */
static inline int timeout_valid(hs_time_t t)
{
    return t == HS_NEVER || t <= HS_TIMEOUT_MAX;
}

/* Write the deadlock report (deadlock.c) into the run report, and the
 * wait-for graph to cfg.deadlock_dot if set. */
void deadlock_report(void);

/* The run's report buffer. */
struct kbuf *kernel_report(void);

/* ---- upcalls: what core asks of the layers above it ---------------------- */

/*
 * Provided by notify/ (dispatch.c).  The synchronous dispatch of a kernel
 * notification, for the memory code
 * (page faults, exhaustion) and core/thread.c (a stack over quota).
 * Called with the kernel lock held, from inside a kernel call made by t
 * itself (t is the running thread).  If t has a handler for slot (its own,
 * or its process's), it runs now, on t: t's kernel-call state is saved,
 * the handler runs on a notification stack with the kernel lock released
 * (so it may make any hopsim call, e.g. map memory or end a thread), and
 * when it calls hs_notify_return() (or returns), execution continues here:
 * HS_OK, with the lock held again and t's UTCB, wait result and reply
 * capability as they were.  Queued notifications do not run first.
 * Errors, nothing changed: HS_ENOHANDLER (no handler: the caller applies
 * its default), HS_ENOSTACK (t runs a handler already and no nested stack
 * could be had), HS_ENOMEM.  A handler that ends its thread never comes
 * back.
 */
hs_status notify_kernel_sync(struct thread *t, unsigned slot,
                             const uint64_t *words, unsigned n);

/* Last: its inline functions read k. */
#include "core/sched.h"

#endif
