/*
 * tests/bench/bench.c - timing, repetitions, statistics and result records
 * shared by the benchmark programs (see bench.h).
 */
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

#define NAMES_MAX 64

static const char *prog = "bench";
static const char *names[NAMES_MAX];
static int names_seen[NAMES_MAX];
static int nnames;
static int failed;
static int pinned_cpu = -1;

int bench_cpu(void)
{
    if (pinned_cpu < 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        pinned_cpu = n > 0 ? (int)n - 1 : 0;
    }
    return pinned_cpu;
}

int bench_pin(int cpu)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    return sched_setaffinity(0, sizeof set, &set);
}

void bench_init(int argc, char **argv, const char *program)
{
    prog = program;
    for (int i = 1; i < argc; i++) {
        if (nnames == NAMES_MAX) {
            fprintf(stderr, "%s: too many names\n", prog);
            exit(2);
        }
        names[nnames++] = argv[i];
    }
    /* The run measures hopsim as configured by the program, not by
     * whatever the caller's shell had set. */
    unsetenv("HOPSIM_SEED");
    unsetenv("HOPSIM_SWITCH");
    unsetenv("HOPSIM_LOG");
    if (bench_pin(bench_cpu()) != 0)
        fprintf(stderr, "%s: warning: cannot pin to CPU %d\n", prog,
                bench_cpu());
#ifndef __OPTIMIZE__
    fprintf(stderr, "%s: warning: built without optimisation\n", prog);
#endif
    setvbuf(stdout, NULL, _IOLBF, 0);
}

int bench_wanted(const char *name)
{
    if (nnames == 0)
        return 1;
    for (int i = 0; i < nnames; i++) {
        if (strcmp(names[i], name) == 0) {
            names_seen[i] = 1;
            return 1;
        }
    }
    return 0;
}

int bench_finish(void)
{
    for (int i = 0; i < nnames; i++) {
        if (!names_seen[i]) {
            fprintf(stderr, "%s: no benchmark named %s\n", prog, names[i]);
            failed = 1;
        }
    }
    return failed;
}

hs_sim_config bench_sim_config(void)
{
    hs_sim_config cfg = HS_SIM_DEFAULTS;
    cfg.seed = HS_SEED_NONE;
    cfg.switch_kind = HS_SWITCH_FAST;
    cfg.quiet = 1;
    return cfg;
}

uint64_t bench_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---- measuring --------------------------------------------------------- */

static uint64_t time_loop(bench_loop_fn loop, void *arg, uint64_t iters)
{
    uint64_t t0 = bench_now_ns();
    loop(arg, iters);
    return bench_now_ns() - t0;
}

/* A positive number from the environment, or 0. */
static uint64_t env_count(const char *var)
{
    const char *s = getenv(var);
    return s && *s ? strtoull(s, NULL, 10) : 0;
}

uint64_t bench_calibrate(bench_loop_fn loop, void *arg,
                         const struct bench_plan *plan)
{
    uint64_t iters = env_count("BENCH_ITERS");
    if (iters) {                /* fixed by hand, e.g. under callgrind */
        loop(arg, iters);
        return iters;
    }
    iters = plan->min_iters ? plan->min_iters : 1;
    for (;;) {
        uint64_t ns = time_loop(loop, arg, iters);
        if (ns >= plan->rep_ns || iters >= plan->max_iters)
            break;
        /* Aim straight for the target once the time is measurable;
         * double while it is not. */
        uint64_t next = ns > plan->rep_ns / 64
                            ? iters * plan->rep_ns / ns + 1
                            : iters * 2;
        if (next <= iters)
            next = iters + 1;
        iters = next < plan->max_iters ? next : plan->max_iters;
    }
    /* One more at the final count: the warm-up. */
    time_loop(loop, arg, iters);
    return iters;
}

void bench_measure(bench_loop_fn loop, void *arg,
                   const struct bench_plan *plan, struct bench_samples *out)
{
    unsigned reps = env_count("BENCH_REPS") ? (unsigned)env_count("BENCH_REPS")
                                            : plan->reps;
    out->n = 0;
    out->iters = bench_calibrate(loop, arg, plan);
    for (unsigned r = 0; r < reps && r < BENCH_REPS_MAX; r++) {
        uint64_t ns = time_loop(loop, arg, out->iters);
        bench_sample(out, (double)ns / (double)out->iters);
    }
}

void bench_sample(struct bench_samples *s, double v)
{
    if (s->n < BENCH_REPS_MAX)
        s->v[s->n++] = v;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double bench_median(struct bench_samples *s)
{
    if (s->n == 0)
        return 0;
    qsort(s->v, s->n, sizeof s->v[0], cmp_double);
    if (s->n % 2)
        return s->v[s->n / 2];
    return (s->v[s->n / 2 - 1] + s->v[s->n / 2]) / 2;
}

double bench_p99(struct bench_samples *s)
{
    if (s->n == 0)
        return 0;
    qsort(s->v, s->n, sizeof s->v[0], cmp_double);
    unsigned rank = (99 * s->n + 99) / 100;     /* ceil(0.99 n), >= 1 */
    return s->v[rank - 1];
}

void bench_shuffle(unsigned *a, unsigned n, uint64_t seed)
{
    uint64_t x = seed ? seed : 1;
    for (unsigned i = 0; i < n; i++)
        a[i] = i;
    for (unsigned i = n; i > 1; i--) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        unsigned j = (unsigned)(x % i), t = a[i - 1];
        a[i - 1] = a[j];
        a[j] = t;
    }
}

/* ---- reporting --------------------------------------------------------- */

/* Write s as a JSON string (our notes hold no control characters but
 * quotes and backslashes are escaped all the same). */
static void json_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            fputc('\\', f);
        fputc((unsigned char)*s < 0x20 ? ' ' : *s, f);
    }
    fputc('"', f);
}

static FILE *results_open(void)
{
    const char *path = getenv("BENCH_RESULTS");
    if (!path || !*path)
        return NULL;
    FILE *f = fopen(path, "a");
    if (!f)
        fprintf(stderr, "%s: cannot append to %s\n", prog, path);
    return f;
}

/* Figures between 0.1 and 100000 keep three significant digits. */
static const char *fmt_value(char *buf, size_t len, double v)
{
    if (v < 10)
        snprintf(buf, len, "%.2f", v);
    else if (v < 100)
        snprintf(buf, len, "%.1f", v);
    else
        snprintf(buf, len, "%.0f", v);
    return buf;
}

void bench_report(const char *name, const char *unit,
                  struct bench_samples *s, const char *note,
                  const char *extra)
{
    double median = bench_median(s), p99 = bench_p99(s);
    char m[32], p[32];
    printf("%-20s %10s %-10s p99 %10s %-10s (%u reps of %llu)\n", name,
           fmt_value(m, sizeof m, median), unit,
           fmt_value(p, sizeof p, p99), unit, s->n,
           (unsigned long long)s->iters);
    if (note)
        printf("%-20s %s\n", "", note);
    FILE *f = results_open();
    if (!f)
        return;
    fprintf(f, "{\"name\": ");
    json_string(f, name);
    fprintf(f, ", \"unit\": ");
    json_string(f, unit);
    fprintf(f, ", \"median\": %.6g, \"p99\": %.6g, \"min\": %.6g, "
               "\"reps\": %u, \"iters\": %llu",
            median, p99, s->n ? s->v[0] : 0.0, s->n,
            (unsigned long long)s->iters);
    if (note) {
        fprintf(f, ", \"note\": ");
        json_string(f, note);
    }
    if (extra)
        fprintf(f, ", %s", extra);
    fprintf(f, "}\n");
    fclose(f);
}

void bench_fail(const char *name, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    printf("%-20s FAILED: %s\n", name, msg);
    failed = 1;
    FILE *f = results_open();
    if (!f)
        return;
    fprintf(f, "{\"name\": ");
    json_string(f, name);
    fprintf(f, ", \"error\": ");
    json_string(f, msg);
    fprintf(f, "}\n");
    fclose(f);
}

int bench_sim_done(const char *name, hs_status run, uint64_t bad,
                   hs_status first_error, const char *what,
                   hs_sim_summary *sum)
{
    if (run != HS_OK) {
        bench_fail(name, "run ended with %s", hs_strerror(run));
        return 0;
    }
    if (bad) {
        bench_fail(name, "%llu bad %s, the first: %s",
                   (unsigned long long)bad, what, hs_strerror(first_error));
        return 0;
    }
    hs_sim_summary_get(sum);
    return 1;
}
