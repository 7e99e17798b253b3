/*
 * hopsim/fault.h - faults injected from the seed.
 *
 * A seeded run may be asked (cfg.faults, or HOPSIM_FAULTS) to inject
 * faults of some kinds.  Which opportunity each fault fires at, and on
 * which side, is drawn from the seed with a generator of its own, so the
 * same seed and the same fault kinds inject the same faults at the same
 * points, every time, and the schedule drawn by the seed is the same as
 * without faults up to the first fault that fires.  Each kind fires at
 * most once per run, at opportunity n (1-based) of the run, where n is
 * drawn from 1..cfg.fault_window.  A run with fewer opportunities
 * than n ends with the fault unfired; the summary says so.
 *
 * Faults need a seed: hs_sim_start() refuses them (HS_EINVAL) in an
 * unseeded run.  The summary line of every run with faults lists them:
 *
 *   hopsim: seed=7 ... status=HS_OK faults=kill@4:target:'counter',reply-timeout@2:unfired
 *
 * The kinds and their opportunities:
 *
 *   HS_FAULT_KILL           every hs_hop(), hs_hop_call(), hs_hop_async(),
 *                           hs_ipc_send() and hs_ipc_call() whose
 *                           arguments are valid is one opportunity.  At
 *                           the chosen one a process is killed, as if it
 *                           had called hs_proc_exit(HS_FAULT_EXIT_STATUS),
 *                           before the hop or message leaves: the caller's
 *                           process (side HS_FAULT_CALLER; the caller ends,
 *                           or unwinds to its own caller if it was visiting
 *                           that process) or the process it hops or sends
 *                           to (side HS_FAULT_TARGET; the call then fails
 *                           as the port or gate vanished: HS_ENOPORT or
 *                           HS_EBADCAP).
 *   HS_FAULT_REPLY_TIMEOUT  every reply that would reach a waiting caller
 *                           (hs_ipc_reply(), hs_ipc_reply_wait(),
 *                           hs_checkpoint_resume()) is one opportunity.  At
 *                           the chosen one the caller's timeout fires just
 *                           before the reply lands: the caller's call
 *                           returns HS_ETIMEOUT (phase HS_PHASE_RECV for
 *                           IPC) and the reply fails with HS_ESTALE, as if
 *                           the caller had given up a moment earlier.
 *
 *   HS_FAULT_FRAME          every allocation of simulated frames
 *                           (mapping fresh memory, a copy, a
 *                           copy-on-write break, a portal) is one
 *                           opportunity.  At the chosen one the allocator
 *                           answers HS_ENOFRAME as if the pool were
 *                           empty: the call that asked fails with it (or
 *                           raises the memory-exhaustion path) and
 *                           nothing is half-done.
 */
#ifndef HOPSIM_FAULT_H
#define HOPSIM_FAULT_H

#include <stdint.h>

#include "api.h"
#include "proc.h"

HS_BEGIN_DECLS

/* Fault kinds: bits of cfg.faults. */
#define HS_FAULT_KILL           0x1u
#define HS_FAULT_REPLY_TIMEOUT  0x2u
#define HS_FAULT_FRAME          0x4u
#define HS_FAULT_ALL            (HS_FAULT_KILL | HS_FAULT_REPLY_TIMEOUT | \
                                 HS_FAULT_FRAME)
#define HS_FAULT_KINDS          3   /* number of kinds */

/* cfg.faults: read HOPSIM_FAULTS, a comma-separated list of kind names
 * ("kill", "reply-timeout", "frame", "all" or
 * "none"); none if it is unset. */
#define HS_FAULTS_FROM_ENV      (~0u)

/* Exit status of a process killed by HS_FAULT_KILL. */
#define HS_FAULT_EXIT_STATUS    (-9)

/* cfg.fault_window when 0: the faults fire among the first 16
 * opportunities of their kind. */
#define HS_FAULT_WINDOW_DEFAULT 16
#define HS_FAULT_WINDOW_MAX     (1u << 30)

/* Which side HS_FAULT_KILL kills. */
typedef enum hs_fault_side {
    HS_FAULT_CALLER = 0,    /* the process making the hop or call */
    HS_FAULT_TARGET = 1,    /* the process it hops or sends to */
} hs_fault_side;

/* One fault of a run, as chosen by the seed and as it happened. */
typedef struct hs_fault {
    unsigned kind;          /* one HS_FAULT_* bit */
    uint64_t at;            /* the opportunity it fires at, from 1 */
    hs_fault_side side;     /* HS_FAULT_KILL only */
    int fired;              /* nonzero once it fired */
    uint64_t time;          /* virtual time it fired at */
    uint64_t thread;        /* the thread at the fault point (hs_tid_t) */
    hs_pid_t victim;        /* process killed, or the caller's process
                               that timed out */
    char victim_name[HS_NAME_MAX + 1];
} hs_fault;

/* The name of a fault kind ("kill", "reply-timeout", "frame"), or "?". */
const char *hs_fault_name(unsigned kind);

HS_END_DECLS

#endif
