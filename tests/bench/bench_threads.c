/*
 * tests/bench/bench_threads.c - what a simulated thread costs.
 *
 *   thread_create_exit      a thread creates a thread, which runs and
 *                           returns, and joins it: hs_thread_create() to
 *                           hs_thread_join() returning, one at a time, so
 *                           every stack but the first is one the last
 *                           thread gave back
 *   thread_create_exit_10k  the same in waves of 10,000: all of a wave
 *                           are created before the first runs, then all
 *                           are joined, so a wave needs 10,000 stacks at
 *                           once; the stack pool keeps that many idle
 *                           between waves (fewer than its 16,384), so
 *                           the waves after the first reuse them; ns per
 *                           thread
 *   threads_1m              1,000,000 simulated threads alive at once,
 *                           each having run and gone to sleep: resident
 *                           memory per idle thread in KiB, from the
 *                           process's own accounting (/proc/self/statm,
 *                           resident pages), the growth from before the
 *                           first thread to when all are asleep, divided
 *                           by the number of threads
 *
 * Stacks are carved from large host mappings with a guard page below
 * each.  Where a guard is a PROT_NONE page (kernels before Linux 6.13,
 * and Valgrind) every stack costs two entries in the process's memory
 * map, and Linux allows vm.max_map_count of them (65530 by default):
 * about 32,000 live stacks.  So threads_1m first probes how many threads
 * the host lets it create, trying 1,000,000; if that fails it says so and
 * measures at the largest round count below the limit.  The figure is
 * the real per-thread cost at that count; the goal's count is reported
 * as not reached.  Every run of threads_1m is a fresh child process, so
 * the heap starts cold each time; the timed lines run in this process,
 * on a simulated thread, before them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"
#include "hopsim.h"

#define TARGET 1000000
/* Runs of threads_1m: one, since a run takes most of a minute and its
 * figure repeats to a hundredth of a KiB (three runs gave 6.43, 6.43 and
 * 6.43 KiB). */
#define REPS 1
#define WAVE 10000     /* threads of one wave of thread_create_exit_10k */
#define WAVE_REPS 30
#define MARGIN 1000     /* below the probed limit: room for the rest */

struct threads_state {
    unsigned want;              /* threads to create */
    unsigned created;
    unsigned asleep;            /* threads that ran and went to sleep */
    hs_status create_error;     /* why creation stopped short, or HS_OK */
    long rss_before, rss_idle;  /* resident bytes */
    long maps_idle;             /* entries in /proc/self/maps */
    long maps_failed;           /* the same when creation failed */
    uint64_t bad;
};

static struct bench_samples samples;
static struct threads_state *state;

/* ---- creation and exit --------------------------------------------------- */

struct create_state {
    uint64_t bad;
    hs_status first_error;
    hs_tid_t wave[WAVE];
    struct bench_samples *out;
    unsigned wave_size;         /* 0: one thread at a time */
};

static void create_record(struct create_state *s, hs_status st)
{
    if (!s->bad++)
        s->first_error = st;
}

static int quick(void *arg)
{
    (void)arg;
    return 1;
}

/* Create and join one thread at a time. */
static void loop_one(void *arg, uint64_t iters)
{
    struct create_state *s = arg;
    hs_thread_attr attr = {.name = "quick"};
    for (uint64_t i = 0; i < iters; i++) {
        hs_tid_t tid = 0;
        int v = 0;
        hs_status st = hs_thread_create(quick, NULL, &attr, &tid);
        if (st == HS_OK)
            st = hs_thread_join(tid, HS_NEVER, &v);
        if (st != HS_OK || v != 1)
            create_record(s, st);
    }
}

/* Create iters threads (at most a wave), then join them all. */
static void loop_wave(void *arg, uint64_t iters)
{
    struct create_state *s = arg;
    hs_thread_attr attr = {.name = "quick"};
    unsigned n = 0;
    for (; n < iters && n < WAVE; n++) {
        hs_status st = hs_thread_create(quick, NULL, &attr, &s->wave[n]);
        if (st != HS_OK) {
            create_record(s, st);
            break;
        }
    }
    for (unsigned i = 0; i < n; i++) {
        int v = 0;
        hs_status st = hs_thread_join(s->wave[i], HS_NEVER, &v);
        if (st != HS_OK || v != 1)
            create_record(s, st);
    }
}

static int create_main(void *arg)
{
    struct create_state *s = arg;
    struct bench_plan plan = BENCH_PLAN_DEFAULT;
    if (s->wave_size) {
        plan.reps = WAVE_REPS;
        plan.min_iters = plan.max_iters = s->wave_size;
    }
    bench_measure(s->wave_size ? loop_wave : loop_one, s, &plan, s->out);
    return 0;
}

static void run_create_exit(const char *name, unsigned wave_size)
{
    static struct create_state s;
    s = (struct create_state){.out = &samples, .wave_size = wave_size};
    hs_sim_config cfg = bench_sim_config();
    hs_sim_summary sum;
    hs_status st = hs_sim_start(&cfg);
    if (st == HS_OK)
        st = hs_proc_spawn("bench-create", create_main, &s, NULL, NULL);
    if (st == HS_OK)
        st = hs_sim_run();
    if (!bench_sim_done(name, st, s.bad, s.first_error, "threads", &sum))
        return;
    char note[128];
    if (wave_size)
        snprintf(note, sizeof note, "create + run + exit + join, in waves "
                 "of %u threads; ns per thread", wave_size);
    else
        snprintf(note, sizeof note, "create + run + exit + join, one "
                 "thread at a time");
    bench_report(name, "ns/op", &samples, note, NULL);
}

/* ---- idle threads -------------------------------------------------------- */

static long resident_bytes(void)
{
    long size = 0, resident = -1;
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f)
        return -1;
    if (fscanf(f, "%ld %ld", &size, &resident) != 2)
        resident = -1;
    fclose(f);
    return resident < 0 ? -1 : resident * sysconf(_SC_PAGESIZE);
}

static long map_count(void)
{
    FILE *f = fopen("/proc/self/maps", "r");
    if (!f)
        return -1;
    long n = 0;
    int c;
    while ((c = getc(f)) != EOF)
        n += c == '\n';
    fclose(f);
    return n;
}

static long max_map_count(void)
{
    long v = -1;
    FILE *f = fopen("/proc/sys/vm/max_map_count", "r");
    if (f) {
        if (fscanf(f, "%ld", &v) != 1)
            v = -1;
        fclose(f);
    }
    return v;
}

/* An idle thread: it has run (its stack holds the frames of a kernel
 * call) and sleeps past the measurement. */
static int idler(void *arg)
{
    (void)arg;
    state->asleep++;
    if (hs_thread_sleep(HS_SEC) != HS_OK)
        state->bad++;
    return 0;
}

static int creator(void *arg)
{
    struct threads_state *s = arg;
    hs_thread_attr attr = {.name = "idle"};
    s->rss_before = resident_bytes();
    while (s->created < s->want) {
        hs_status st = hs_thread_create(idler, NULL, &attr, NULL);
        if (st != HS_OK) {
            s->create_error = st;
            s->maps_failed = map_count();
            break;
        }
        s->created++;
    }
    /* Every new thread runs before this sleep ends, and sleeps longer. */
    if (hs_thread_sleep(1) != HS_OK)
        s->bad++;
    s->rss_idle = resident_bytes();
    s->maps_idle = map_count();
    return 0;
}

static hs_status run_here(struct threads_state *s, unsigned want)
{
    *s = (struct threads_state){.want = want};
    state = s;
    hs_sim_config cfg = bench_sim_config();
    cfg.max_threads_per_proc = TARGET + 1;
    hs_status st = hs_sim_start(&cfg);
    if (st == HS_OK)
        st = hs_proc_spawn("bench-threads", creator, s, NULL, NULL);
    if (st == HS_OK)
        st = hs_sim_run();
    return st;
}

/* A run in a child process of its own, so that memory an earlier run
 * freed (and the allocator kept) cannot hide this run's growth. */
static hs_status one_run(struct threads_state *s, unsigned want)
{
    struct {
        hs_status st;
        struct threads_state s;
    } r = {.st = HS_ESTATE};
    int fd[2];
    if (pipe(fd) != 0)
        return HS_ENOMEM;
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        close(fd[0]);
        r.st = run_here(&r.s, want);
        ssize_t n = write(fd[1], &r, sizeof r);
        _exit(n == (ssize_t)sizeof r ? 0 : 1);
    }
    close(fd[1]);
    ssize_t n = pid > 0 ? read(fd[0], &r, sizeof r) : -1;
    close(fd[0]);
    if (pid > 0)
        waitpid(pid, NULL, 0);
    if (n != (ssize_t)sizeof r)
        return HS_EPANIC;       /* the child died before reporting */
    *s = r.s;
    return r.st;
}

/* Add the figure of a finished run of count threads; on failure report
 * it and return -1. */
static int take_sample(const char *name, const struct threads_state *s,
                       hs_status st, unsigned count, long *maps)
{
    if (st != HS_OK || s->bad || s->created != count ||
        s->asleep != count || s->rss_before < 0 || s->rss_idle < 0) {
        bench_fail(name, "run of %u threads: %s, %u created, %u asleep",
                   count, hs_strerror(st != HS_OK ? st : s->create_error),
                   s->created, s->asleep);
        return -1;
    }
    *maps = s->maps_idle;
    bench_sample(&samples,
                 (double)(s->rss_idle - s->rss_before) / 1024.0 / count);
    return 0;
}

static void run_threads(void)
{
    const char *name = "threads_1m";
    struct threads_state s;
    hs_status st = one_run(&s, TARGET);
    if (st != HS_OK) {
        bench_fail(name, "probe run ended with %s", hs_strerror(st));
        return;
    }
    unsigned limit = s.created, count = TARGET;
    char note[256];
    if (limit < TARGET) {
        count = limit > 2 * MARGIN ? (limit - MARGIN) / 1000 * 1000
                                   : limit / 2;
        snprintf(note, sizeof note,
                 "measured at %u threads; thread %u of %u failed with "
                 "%s, %ld mappings in use, vm.max_map_count=%ld",
                 count, limit + 1, TARGET, hs_strerror(s.create_error),
                 s.maps_failed, max_map_count());
    } else {
        snprintf(note, sizeof note, "measured at %u threads", count);
    }
    samples.n = 0;
    samples.iters = count;
    long maps = 0;
    /* A probe that reached the target already is a measurement. */
    int ok = limit < TARGET || take_sample(name, &s, st, count, &maps) == 0;
    for (unsigned r = samples.n; ok && r < REPS; r++) {
        st = one_run(&s, count);
        ok = take_sample(name, &s, st, count, &maps) == 0;
    }
    if (!ok)
        return;
    char extra[200];
    snprintf(extra, sizeof extra,
             "\"threads\": %u, \"target\": %u, \"limit\": %u, "
             "\"max_map_count\": %ld, \"maps\": %ld",
             count, TARGET, limit, max_map_count(), maps);
    bench_report(name, "KiB/thread", &samples, note, extra);
}

int main(int argc, char **argv)
{
    bench_init(argc, argv, "bench_threads");
    if (bench_wanted("thread_create_exit"))
        run_create_exit("thread_create_exit", 0);
    if (bench_wanted("thread_create_exit_10k"))
        run_create_exit("thread_create_exit_10k", WAVE);
    if (bench_wanted("threads_1m"))
        run_threads();
    return bench_finish();
}
