/*
 * tests/sweep/sweep.h - the seed sweep: every seeded scenario of the
 * examples run over many seeds with faults injected, each run checked for
 * leaks, broken invariants, panics, hangs and determinism (see sweep.c).
 */
#ifndef HOPSIM_TESTS_SWEEP_H
#define HOPSIM_TESTS_SWEEP_H

#include <stddef.h>
#include <stdint.h>

#include "hopsim.h"

/* A scenario: hs_scenario's setup() spawns its root processes (after
 * hs_sim_start()), check() judges the run and, when it fails, says why
 * with sweep_why(). */
extern const hs_scenario sweep_scenarios[];
extern const unsigned sweep_nscenarios;

/* For check(): the reason a run failed (printf-style), kept for the
 * driver's report; returns HS_ECHECK. */
hs_status sweep_why(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

/* The reason given by the last sweep_why(). */
const char *sweep_why_text(void);

/* The seed of the run being set up (for a scenario that draws a variant
 * from it). */
extern uint64_t sweep_seed;

/* Whether a fault fired in the run that just ended. */
int sweep_fault_fired(void);

/* Start a name server thread (serve) in the caller's process, whose first
 * capability becomes the server's gate (*gate, label 0: the stop label).
 * The thread runs below the caller's priority, so that under any seed the
 * gate exists before it serves.  HS_EINVAL if the gate is not capability
 * 1. */
hs_status sweep_ns_thread_start(hs_entry_fn serve, hs_tid_t *t,
                                hs_cap_t *gate);

/* Processes of the run that just ended whose exit status is neither 0 nor
 * also_ok (seen by the sweep's event hook); *status gets the first such
 * status.  Counts every such process, however many ended. */
unsigned sweep_bad_exits(int also_ok, int *status);

/* What the sweep counts a failed run as (sweep.c). */
enum sweep_failure {
    SWEEP_LEAK, SWEEP_INVARIANT, SWEEP_PANIC, SWEEP_HANG, SWEEP_MISMATCH,
    SWEEP_KINDS
};

/* A scenario built to fail, for `sweep --self-test`
 * (tests/sweep/selftest.c): the self-test passes only if each detector
 * counts its probe's run, and only as its own kind. */
struct sweep_probe {
    hs_scenario sc;
    enum sweep_failure detector;    /* what the run must be counted as */
    uint64_t seeds;         /* seeds tried, from 0, until it is */
    int twice;              /* each seed run twice: the determinism pass */
    int guard_fault;        /* provoked through a guard page: not under
                               ASan or Valgrind */
    void (*after)(void);    /* gives back what the probe kept, or NULL */
};

extern const struct sweep_probe sweep_probes[];
extern const unsigned sweep_nprobes;

/* The gallery's lock server (tests/sweep/lock.c): setup and check. */
hs_status sweep_lock_setup(void *arg);
hs_status sweep_lock_check(void *arg, hs_status run);

/* The gallery's supervisor (tests/sweep/supervisor.c): setup and check. */
hs_status sweep_supervisor_setup(void *arg);
hs_status sweep_supervisor_check(void *arg, hs_status run);

/* The gallery's pubsub broker (tests/sweep/pubsub.c): setup and check. */
hs_status sweep_pubsub_setup(void *arg);
hs_status sweep_pubsub_check(void *arg, hs_status run);

/* The gallery's RAM file server (tests/sweep/ramfs.c): setup and check. */
hs_status sweep_ramfs_setup(void *arg);
hs_status sweep_ramfs_check(void *arg, hs_status run);

/* The gallery's block driver (tests/sweep/blk.c): setup and check. */
hs_status sweep_blk_setup(void *arg);
hs_status sweep_blk_check(void *arg, hs_status run);

/* The gallery's pager (tests/sweep/pager.c): setup and check. */
hs_status sweep_pager_setup(void *arg);
hs_status sweep_pager_check(void *arg, hs_status run);

/* The gallery's POSIX-style layer (tests/sweep/posix.c): setup and check. */
hs_status sweep_posix_setup(void *arg);
hs_status sweep_posix_check(void *arg, hs_status run);

/* The tour's parts (tests/sweep/tour.c). */
extern const hs_scenario sweep_tour_scenarios[];
extern const unsigned sweep_tour_nscenarios;

/* ---- the audit of kernel objects (tests/sweep/audit.c) ---------------- */

/* Kernel objects still live when the run's teardown began, by pool. */
#define AUDIT_POOLS_MAX 32

struct audit {
    int taken;                  /* the teardown began (a snapshot exists) */
    unsigned serving;           /* threads blocked in hs_proc_serve() */
    unsigned live_threads;      /* threads not ended */
    unsigned npools;
    struct {
        const char *name;
        uint32_t live;
        int may_stay;           /* objects a serving process may hold */
    } pool[AUDIT_POOLS_MAX];
    long stacks_at_end;         /* contexts with a stack at teardown */
};

/* Forget the last snapshot; call before each hs_sim_run(). */
void audit_reset(void);

/* The snapshot of the last teardown. */
const struct audit *audit_last(void);

/* Contexts with a simulated stack now (created, not yet destroyed). */
long audit_stacks_out(void);

/* Check the snapshot after a run that ended with HS_OK: with no serving
 * process every pool is empty; with some, only what a serving process
 * holds (its threads, ports, capabilities, gates, ...) may remain.
 * Returns 0, or 1 with the first leak described in why. */
int audit_leaks(const struct audit *a, char *why, size_t len);

#endif
