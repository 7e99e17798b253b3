/*
 * tests/bench/bench_proc.c - the life of a process.
 *
 *   spawn_exit   a parent spawns a child process with one thread, the
 *                child's thread runs and returns, and the parent reaps it
 *                with hs_proc_wait() and checks its exit status: the
 *                whole life of a process, from hs_proc_spawn() to the
 *                zombie freed (its stack comes from the stack pool, as in
 *                any long run)
 *
 * One simulation run; the parent times its loop on its simulated thread.
 */
#include <stdio.h>

#include "bench.h"
#include "hopsim.h"

#define EXIT_VALUE 7

struct proc_state {
    uint64_t bad;
    hs_status first_error;
    struct bench_samples *out;
};

static struct bench_samples samples;

static int child(void *arg)
{
    (void)arg;
    return EXIT_VALUE;
}

static void loop_spawn(void *arg, uint64_t iters)
{
    struct proc_state *s = arg;
    for (uint64_t i = 0; i < iters; i++) {
        hs_pid_t pid = 0;
        int status = -1;
        hs_status st = hs_proc_spawn("child", child, NULL, NULL, &pid);
        if (st == HS_OK)
            st = hs_proc_wait(pid, HS_NEVER, &status);
        if (st != HS_OK || status != EXIT_VALUE) {
            if (!s->bad++)
                s->first_error = st;
        }
    }
}

static int parent(void *arg)
{
    struct proc_state *s = arg;
    struct bench_plan plan = BENCH_PLAN_DEFAULT;
    bench_measure(loop_spawn, s, &plan, s->out);
    return 0;
}

static void run_spawn_exit(void)
{
    const char *name = "spawn_exit";
    struct proc_state s = {.out = &samples};
    hs_sim_config cfg = bench_sim_config();
    hs_status st = hs_sim_start(&cfg);
    if (st == HS_OK)
        st = hs_proc_spawn("bench-parent", parent, &s, NULL, NULL);
    if (st == HS_OK)
        st = hs_sim_run();
    if (st != HS_OK)
        bench_fail(name, "run ended with %s", hs_strerror(st));
    else if (s.bad)
        bench_fail(name, "%llu bad spawns, the first: %s",
                   (unsigned long long)s.bad, hs_strerror(s.first_error));
    else
        bench_report(name, "ns/op", &samples,
                     "spawn + run + exit + hs_proc_wait reap", NULL);
}

int main(int argc, char **argv)
{
    bench_init(argc, argv, "bench_proc");
    if (bench_wanted("spawn_exit"))
        run_spawn_exit();
    return bench_finish();
}
