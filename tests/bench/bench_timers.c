/*
 * tests/bench/bench_timers.c - many sleepers on the virtual clock.
 *
 *   timers_10k   one process starts 10,000 threads, thread i sleeping
 *                (i + 1) * 100 us of virtual time, so the last wakes at
 *                exactly one virtual second; they are started in a
 *                shuffled order so that the timer heap sees deadlines out
 *                of order.  The figure is the wall time of the whole run,
 *                from hs_sim_start() to hs_sim_run() returning (stacks
 *                mapped, every thread run, slept, woken, ended, and
 *                everything freed), in ms per run.
 *
 * Each repetition is a run of its own; the virtual end time is checked.
 */
#include <stdio.h>
#include <stdlib.h>

#include "bench.h"
#include "hopsim.h"

#define NSLEEPERS 10000
#define REPS 11

struct timer_state {
    unsigned *order;            /* a permutation of 0..NSLEEPERS-1 */
    unsigned woke;              /* sleepers that woke on time */
    uint64_t bad;
    hs_status first_error;
};

static struct bench_samples samples;
static struct timer_state *state;   /* sleepers' argument is their time */

static void record(struct timer_state *s, hs_status st)
{
    if (!s->bad++)
        s->first_error = st;
}

static int sleeper(void *arg)
{
    hs_time_t ns = (hs_time_t)(uintptr_t)arg;
    hs_status st = hs_thread_sleep(ns);
    if (st != HS_OK || hs_time_now() != ns)
        record(state, st);
    else
        state->woke++;
    return 0;
}

static int starter(void *arg)
{
    struct timer_state *s = arg;
    hs_thread_attr attr = {.name = "sleeper"};
    for (unsigned i = 0; i < NSLEEPERS; i++) {
        hs_time_t ns = (hs_time_t)(s->order[i] + 1) * (HS_SEC / NSLEEPERS);
        hs_status st = hs_thread_create(sleeper, (void *)(uintptr_t)ns,
                                        &attr, NULL);
        if (st != HS_OK) {
            record(s, st);
            break;
        }
    }
    return 0;
}

/* One run; its wall time in ms, or a negative value on failure. */
static double one_run(struct timer_state *s, hs_status *run_st)
{
    s->woke = 0;
    hs_sim_config cfg = bench_sim_config();
    uint64_t t0 = bench_now_ns();
    hs_status st = hs_sim_start(&cfg);
    if (st == HS_OK)
        st = hs_proc_spawn("bench-timers", starter, s, NULL, NULL);
    if (st == HS_OK)
        st = hs_sim_run();
    uint64_t t1 = bench_now_ns();
    *run_st = st;
    if (st != HS_OK || s->bad || s->woke != NSLEEPERS ||
        hs_time_now() != HS_SEC)
        return -1;
    return (double)(t1 - t0) / 1e6;
}

static void run_timers(void)
{
    const char *name = "timers_10k";
    struct timer_state s = {0};
    state = &s;
    s.order = calloc(NSLEEPERS, sizeof *s.order);
    if (!s.order) {
        bench_fail(name, "out of memory");
        return;
    }
    bench_shuffle(s.order, NSLEEPERS, 0x2545f4914f6cdd1dull);
    samples.n = 0;
    samples.iters = 1;
    for (unsigned r = 0; r <= REPS; r++) {
        hs_status st;
        double ms = one_run(&s, &st);
        if (ms < 0) {
            bench_fail(name, "run %u: %s, %u of %u woke on time, vtime %llu",
                       r, hs_strerror(st != HS_OK ? st : s.first_error),
                       s.woke, NSLEEPERS, (unsigned long long)hs_time_now());
            free(s.order);
            return;
        }
        if (r > 0)              /* run 0 is the warm-up */
            bench_sample(&samples, ms);
    }
    free(s.order);
    bench_report(name, "ms/run", &samples,
                 "10000 threads, sleeps of 100 us .. 1 s virtual, shuffled",
                 "\"threads\": 10000, \"vtime_ns\": 1000000000");
}

int main(int argc, char **argv)
{
    bench_init(argc, argv, "bench_timers");
    if (bench_wanted("timers_10k"))
        run_timers();
    return bench_finish();
}
