/*
 * tests/bench/bench.h - what every benchmark program shares: a clock,
 * repetitions, median and p99, the result line and its JSON record.
 *
 * One program per area (bench_base, bench_hop, ...).  Each is run by
 * tools/bench-run.sh as
 *
 *     bench_<area> [NAME...]
 *
 * and measures the lines named (all of its lines without arguments).  For
 * each line it prints one human-readable line on stdout and, when
 * BENCH_RESULTS names a file, appends one JSON object on one line to it;
 * the runner turns those into ratios and bench.json.
 *
 * A line is a number of repetitions; each repetition times a loop of
 * iters operations with one pair of clock reads and gives one sample (ns
 * per operation, or whatever unit the line reports).  The median and p99
 * (nearest rank) are taken over the samples, so p99 says how much the
 * repetitions vary, not how long the slowest single operation took.
 * Timing a whole loop keeps the clock's own cost (about 20 ns) out of
 * figures of a few nanoseconds.
 *
 * Everything here is host code: it runs as well on a simulated thread
 * (the hopsim benchmarks time their loops inside the simulation) as on
 * the program's main thread.
 */
#ifndef HOPSIM_BENCH_H
#define HOPSIM_BENCH_H

#include <stddef.h>
#include <stdint.h>

#include "hopsim/sim.h"

/* A loop of iters operations; arg is the benchmark's state. */
typedef void (*bench_loop_fn)(void *arg, uint64_t iters);

/* How a line is measured. */
struct bench_plan {
    unsigned reps;          /* samples; 100 makes p99 the 99th of them */
    uint64_t rep_ns;        /* aim for repetitions this long */
    uint64_t min_iters;     /* iterations per repetition, at least... */
    uint64_t max_iters;     /* ...and at most */
};

#define BENCH_REPS_MAX 1000

/* 100 repetitions of about 2 ms each: a fast line costs a quarter second. */
#define BENCH_PLAN_DEFAULT {                    \
    .reps = 100,                                \
    .rep_ns = 2 * 1000 * 1000,                  \
    .min_iters = 1,                             \
    .max_iters = (uint64_t)1 << 32,             \
}

/* Samples of one line, and what they summarise to. */
struct bench_samples {
    double v[BENCH_REPS_MAX];
    unsigned n;
    uint64_t iters;         /* operations per sample (1 for a whole run) */
};

/* Parse the names to run from argv (none: every line of the program),
 * pin the calling thread to the last online CPU so that baselines and
 * the figures they are compared with run on the same core, and clear the
 * hopsim variables that would change what is measured (HOPSIM_SEED,
 * HOPSIM_SWITCH, HOPSIM_LOG).  program is used in messages. */
void bench_init(int argc, char **argv, const char *program);

/* Whether line name was asked for.  Names given that no program line
 * asks about are reported by bench_finish(). */
int bench_wanted(const char *name);

/* Exit status for main(): 0, or 1 if a line failed or an unknown name
 * was given. */
int bench_finish(void);

/* A line could not be measured: print why, record it, and make
 * bench_finish() fail.  printf-style. */
void bench_fail(const char *name, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Nanoseconds from a monotonic clock. */
uint64_t bench_now_ns(void);

/* The CPU benchmarks pin to (the last online one). */
int bench_cpu(void);

/* Pin the calling thread to cpu; 0 on success. */
int bench_pin(int cpu);

/* Iterations per repetition for loop so that one lasts about plan->rep_ns
 * (the loop is run with growing counts until one takes long enough; this
 * is also its warm-up).  BENCH_ITERS=n in the environment fixes the count
 * instead (one warm-up loop of n), and BENCH_REPS=n the repetitions of
 * bench_measure(): for profiling under callgrind, where time means
 * nothing. */
uint64_t bench_calibrate(bench_loop_fn loop, void *arg,
                         const struct bench_plan *plan);

/* Calibrate, then run plan->reps repetitions of loop into out, each
 * sample in ns per iteration. */
void bench_measure(bench_loop_fn loop, void *arg,
                   const struct bench_plan *plan, struct bench_samples *out);

/* Add one sample. */
void bench_sample(struct bench_samples *s, double v);

/* Median and p99 (nearest rank) of the samples; sorts them. */
double bench_median(struct bench_samples *s);
double bench_p99(struct bench_samples *s);

/*
 * Print and record a measured line: "NAME  median UNIT  p99 UNIT  (...)".
 * unit names what a sample is ("ns/op", "ms/run", "KiB/thread").  note
 * (may be NULL) is printed on the next line and stored; extra (may be
 * NULL) is a JSON fragment of more fields, e.g. "\"threads\": 30000",
 * added to the record as it is.
 */
void bench_report(const char *name, const char *unit,
                  struct bench_samples *s, const char *note,
                  const char *extra);

/* After the run of line name: whether it can be reported.  A run that
 * did not end with HS_OK, or bad operations (counted by the benchmark,
 * the first one's status first_error, what naming them: "calls"), make
 * the line fail (bench_fail) and return 0; else *sum gets the run's
 * summary and 1 is returned. */
int bench_sim_done(const char *name, hs_status run, uint64_t bad,
                   hs_status first_error, const char *what,
                   hs_sim_summary *sum);

/* HS_SIM_DEFAULTS with what the environment could change pinned down: no
 * seed (priority and FIFO order), the fast switch (hopsim's default), and
 * quiet, so that the summary line does not interleave with the results. */
hs_sim_config bench_sim_config(void);

/* Fill a[0..n-1] with a permutation of 0..n-1, the same for the same seed
 * (xorshift64 and Fisher-Yates), so that every run visits things in the
 * same scattered order. */
void bench_shuffle(unsigned *a, unsigned n, uint64_t seed);

/* Keep the compiler from proving a value or a memory write unused. */
#define BENCH_KEEP(x) __asm__ volatile("" : : "g"(x) : "memory")

#endif
