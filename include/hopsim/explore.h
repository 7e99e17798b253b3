/*
 * hopsim/explore.h - running a scenario across many seeds.
 *
 * A scenario is a small program under test: setup() spawns its processes
 * (after hs_sim_start(), before hs_sim_run()), and check() judges the
 * finished run.  hs_explore() runs it once per seed with a strategy
 * (cfg.strategy: random choice at each scheduling point, or PCT with
 * cfg.pct_depth), optionally with faults drawn from each seed
 * (cfg.faults), and stops at the first run that fails.  Since one CPU is
 * deterministic, the failing seed, with the same strategy, depth, steps
 * and faults, replays the failure exactly.
 *
 * hs_explore_compare() runs two configurations (one seed twice, or two
 * seeds) and reports the first kernel event where the runs differ.
 *
 * hs_explore_main() is the command line of a program built around
 * scenarios (see examples/racy.c):
 *
 *   prog                            one run, configured by HOPSIM_* as usual
 *   prog --seeds 1000 --strategy pct --depth 3
 *                                   sweep seeds 0..999; on a failure print
 *                                   the seed, the faults that were active
 *                                   and the exact command that replays it,
 *                                   then replay it once, verbosely
 *   prog --seed 17 [--strategy ...]  one seed, verbosely (the replay)
 *   prog --seed 17 --check-determinism [--against 18]
 *                                   run seed 17 twice (or 17 and 18) and
 *                                   print the first event that differs
 *
 * Options: --scenario NAME, --seeds N, --first-seed S, --seed N,
 * --strategy random|pct, --depth D, --steps K, --faults LIST (kill,
 * reply-timeout, all), --fault-window N, --deadlock-dot FILE,
 * --check-determinism, --against M, --events N (events kept for the
 * comparison), --help.
 *
 * Everything here runs on the host thread that calls it, outside any
 * simulation; each run is a complete hs_sim_start() .. hs_sim_run().
 */
#ifndef HOPSIM_EXPLORE_H
#define HOPSIM_EXPLORE_H

#include <stddef.h>
#include <stdint.h>

#include "api.h"
#include "sim.h"
#include "status.h"

HS_BEGIN_DECLS

typedef struct hs_scenario {
    const char *name;       /* 1..HS_NAME_MAX bytes: messages, --scenario */
    /* Spawn the run's processes (hs_sim_start() is done) and reset the
     * scenario's own state.  Anything but HS_OK stops the exploration
     * with that status. */
    hs_status (*setup)(void *arg);
    /* Judge the run that just ended; run is what hs_sim_run() returned.
     * HS_OK: the run was correct; anything else (HS_ECHECK by
     * convention) is a failure. */
    hs_status (*check)(void *arg, hs_status run);
    void *arg;
} hs_scenario;

/* An exploration: the configuration of every run, and which seeds. */
typedef struct hs_explore_opts {
    /* Each run's configuration.  cfg.seed is replaced by each seed in
     * turn; the runs are quiet (no summary lines) unless verbose.  With
     * HS_STRATEGY_PCT and pct_steps 0, one calibration run of the first
     * seed counts its scheduling points, and that count becomes
     * pct_steps for every run (hs_explore_result.cfg says which). */
    hs_sim_config cfg;
    uint64_t first_seed;    /* seeds first_seed .. first_seed + seeds - 1 */
    uint64_t seeds;         /* 1 or more */
    int verbose;            /* nonzero: every run prints its summary */
} hs_explore_opts;

#define HS_EXPLORE_DEFAULTS {                 \
    .cfg = HS_SIM_DEFAULTS,                   \
    .first_seed = 0,                          \
    .seeds = 1000,                            \
    .verbose = 0,                             \
}

typedef struct hs_explore_result {
    uint64_t runs;          /* runs made, calibration not counted */
    int found;              /* nonzero: a run failed */
    uint64_t seed;          /* the failing seed (when found) */
    hs_status run;          /* what hs_sim_run() returned in it */
    hs_status check;        /* what check() returned for it */
    hs_sim_summary summary; /* its summary: faults active, hash, ... */
    hs_sim_config cfg;      /* the configuration that replays it, with
                               cfg.seed set (strategy, depth and steps,
                               faults as resolved) */
} hs_explore_result;

/*
 * Run scenario sc once per seed of opts, stopping at the first failure.
 * Returns HS_OK when every run passed (out->found is 0), HS_ECHECK when
 * one failed (out says which and how).
 * Errors, before any run: HS_EINVAL (a NULL argument, sc without setup,
 * check or a valid name, seeds 0, a seed range past HS_SEED_MAX);
 * HS_ESTATE (a simulation is started, or called from a simulated thread).
 * During the runs: what hs_sim_start() or setup() returned, if not HS_OK
 * (out->runs says how far it got).
 */
hs_status hs_explore(const hs_scenario *sc, const hs_explore_opts *opts,
                     hs_explore_result *out);

/*
 * Run sc once with cfg exactly as given (cfg->seed included; NULL: the
 * defaults) and fill *out (found, run, check, summary, cfg).  Returns
 * HS_OK if the run passed, HS_ECHECK if not; errors as hs_explore().
 */
hs_status hs_explore_one(const hs_scenario *sc, const hs_sim_config *cfg,
                         hs_explore_result *out);

/* One event of a run, copied for the comparison. */
typedef struct hs_explore_event {
    uint64_t seq;
    hs_time_t time;
    const char *kind;                   /* as in hs_event */
    uint64_t thread;
    uint64_t a, b;
    char thread_name[HS_NAME_MAX + 1];  /* "" if none */
} hs_explore_event;

typedef struct hs_explore_diff {
    int differ;             /* nonzero: the runs differ */
    uint64_t at;            /* index of the first event that differs */
    int have_a, have_b;     /* a / b hold that event of each run (a run
                               that ended earlier has none) */
    hs_explore_event a, b;
    int beyond_log;         /* the first max_events agree, yet the runs'
                               hashes or event counts differ: the first
                               difference is after event at */
    hs_sim_summary sa, sb;  /* the summaries of the two runs */
} hs_explore_diff;

#define HS_EXPLORE_EVENTS_DEFAULT 65536

/*
 * Run sc with configuration a, then with b (NULL: the defaults), keeping
 * the first max_events events of the first run (0: the default), and
 * compare the runs event by event.  *out says whether and where they
 * differ.  Returns HS_OK (whether or not they differ).
 * Errors: as hs_explore(), plus HS_ENOMEM (no room for the event log).
 */
hs_status hs_explore_compare(const hs_scenario *sc, const hs_sim_config *a,
                             const hs_sim_config *b, size_t max_events,
                             hs_explore_diff *out);

/*
 * Format the command line that replays configuration cfg of scenario
 * sc_name with program prog (sc_name NULL: no --scenario option) into buf:
 *   prog [--scenario NAME] [--strategy pct --depth D --steps K]
 *        [--faults LIST --fault-window N] --seed S
 * cfg->seed must be a seed.  Errors: HS_EINVAL (NULL argument, no seed,
 * len 0, or buf too small: then buf holds as much as fits).
 */
hs_status hs_explore_command(const char *prog, const char *sc_name,
                             const hs_sim_config *cfg, char *buf,
                             size_t len);

/*
 * The command line described at the top: parse argv, run scenarios[0..n-1]
 * (--scenario picks one by name; the first by default), print to stderr.
 * Returns the program's exit status: 0 when every run passed (and, with
 * --check-determinism, the runs did not differ), 1 when a run failed or
 * the runs differed, 2 for a usage error or a refused configuration.
 */
int hs_explore_main(int argc, char **argv, const hs_scenario *scenarios,
                    unsigned n);

HS_END_DECLS

#endif
