/*
 * tests/sweep/sweep.c - run every seeded scenario over many seeds with
 * faults injected, and check each run.
 *
 *   sweep [--seeds N] [--first-seed S] [--faults LIST] [--scenario NAME]...
 *         [--strategy random|pct] [--depth D] [--fault-window N]
 *         [--max-vtime NS] [--max-events N] [--host-timeout S]
 *         [--mem-check] [--no-repeat] [--show N] [--list]
 *   sweep --scenario NAME --seed S     replay one run, with its summary
 *                                      line and report
 *   sweep --self-test                  show that every detector below
 *                                      can fire (tests/sweep/selftest.c)
 *
 * Every scenario runs with every fault kind asked for: each is written to
 * end whatever process a fault kills or whatever reply it loses.
 *
 * Every run is a whole hs_sim_start() .. hs_sim_run() in this process, on
 * one simulated CPU.  A run fails as
 *   a leak             the memory check that ends every run found a
 *                      difference, or kernel objects or stacks were still
 *                      held when the teardown began (tests/sweep/audit.c),
 *                      or frames were missing from the pool after it;
 *   an invariant break the scenario's own check failed (see
 *                      tests/sweep/scenarios.c and tests/sweep/tour.c);
 *   a panic            the run ended with HS_EPANIC;
 *   a hang             the run deadlocked (HS_EDEADLK), or went past
 *                      --max-vtime of virtual time or --max-events kernel
 *                      events (the event hook panics the kernel to stop
 *                      it); a run past --host-timeout seconds of host time
 *                      ends the program at once (exit status 3);
 *   a hash mismatch    a second pass over every seed, in the other order,
 *                      gave another status, event count or event hash.
 * Prints the first --show failures (default 20), each with the command
 * that replays it, then
 *   sweep: N seeds x K scenarios: L leaks, I invariant breaks, P panics,
 *          H hangs, M hash mismatches
 * and exits 1 if any count is not 0, 2 on a usage error.
 *
 * The self-test runs one probe per way of failing, each a scenario built
 * to fail that one way (a leak, a broken check, a stack overflow, a run
 * that never ends, one that depends on the host), and passes only if
 * each is counted, as its own kind alone.  It prints one line,
 *   sweep: self-test: 5 detectors fire
 * or says which detector did not, and exits 1.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/kernel.h"

#include "sweep.h"

uint64_t sweep_seed;

struct opts {
    uint64_t seeds, first;
    int one;                    /* --seed: replay one run */
    const char *faults;         /* as HOPSIM_FAULTS spells them */
    unsigned fault_window;
    hs_strategy strategy;
    unsigned depth;
    hs_time_t max_vtime;
    uint64_t max_events;
    unsigned host_timeout;      /* seconds */
    int mem_check;
    int repeat;
    unsigned show;              /* failures printed in full */
    const char *only[64];
    unsigned nonly;
};

static const char *const failure_name[SWEEP_KINDS] = {
    "leak", "invariant break", "panic", "hang", "hash mismatch",
};

static uint64_t failures[SWEEP_KINDS];
static unsigned printed;
static int second_pass;         /* only hash mismatches count there */
static int self_testing;        /* failures are expected: count them only */

/* What one run gave, for the determinism pass. */
struct outcome {
    hs_status status;
    uint64_t events, hash;
};

static const char *prog = "sweep";

/* ---- bounding a run ----------------------------------------------------- */

static struct opts o;
static int over_bound;          /* the event hook stopped the run */
static volatile const char *cur_scenario;
static volatile uint64_t cur_seed;

/* The exit statuses of the run's processes, as the hook saw them end. */
#define EXITS_MAX 64
static struct {
    unsigned n;                 /* processes ended */
    int status[EXITS_MAX];      /* the first EXITS_MAX of them */
} exits;

unsigned sweep_bad_exits(int also_ok, int *status)
{
    unsigned bad = exits.n > EXITS_MAX ? exits.n - EXITS_MAX : 0;
    for (unsigned i = 0; i < exits.n && i < EXITS_MAX; i++) {
        int st = exits.status[i];
        if (st != 0 && st != also_ok && !bad++)
            *status = st;
    }
    return bad;
}

int sweep_fault_fired(void)
{
    hs_sim_summary s;
    if (hs_sim_summary_get(&s) != HS_OK)
        return 1;
    for (unsigned i = 0; i < s.nfaults; i++)
        if (s.faults[i].fired)
            return 1;
    return 0;
}

/* Every kernel event: note each process's exit status; past the bound,
 * stop the run as a kernel panic (the kernel lock is held; the panic
 * needs a current thread). */
static void watch(void *cookie, const hs_event *ev)
{
    (void)cookie;
    if (strcmp(ev->kind, "proc_exit") == 0 && exits.n++ < EXITS_MAX)
        exits.status[exits.n - 1] = (int)(int64_t)ev->b;
    if (over_bound || (ev->seq < o.max_events && ev->time <= o.max_vtime))
        return;
    if (!kernel_current())
        return;
    over_bound = 1;
    kernel_panic("sweep: run past its bound (%" PRIu64 " events, %" PRIu64
                 " ns)", ev->seq, ev->time);
}

static void on_alarm(int sig)
{
    (void)sig;
    char line[200];
    int n = snprintf(line, sizeof line, "sweep: hang: scenario %s seed %"
                     PRIu64 " ran past %u s of host time\n",
                     (const char *)cur_scenario, (uint64_t)cur_seed,
                     o.host_timeout);
    if (n > 0)
        (void)!write(2, line, (size_t)n);
    _exit(3);
}

/* ---- one run ------------------------------------------------------------ */

static hs_sim_config run_config(uint64_t seed, unsigned faults)
{
    hs_sim_config cfg = HS_SIM_DEFAULTS;
    cfg.seed = seed;
    cfg.switch_kind = HS_SWITCH_DEFAULT;
    cfg.quiet = !o.one;
    cfg.strategy = o.strategy;
    cfg.pct_depth = o.depth;
    cfg.faults = faults;
    cfg.fault_window = o.fault_window;
    cfg.event_fn = watch;
    cfg.mem_check = o.mem_check;
    return cfg;
}

static void fail(enum sweep_failure f, const hs_scenario *sc, uint64_t seed,
                 const char *what)
{
    if (second_pass && f != SWEEP_MISMATCH)
        return;
    failures[f]++;
    if (self_testing)
        return;
    if (printed++ >= o.show) {
        if (printed == o.show + 1)
            fprintf(stderr, "sweep: (further failures not shown)\n");
        return;
    }
    hs_sim_summary s;
    memset(&s, 0, sizeof s);
    (void)hs_sim_summary_get(&s);
    fprintf(stderr, "sweep: %s: scenario %s seed %" PRIu64 ": %s\n",
            failure_name[f], sc->name, seed, what);
    for (unsigned i = 0; i < s.nfaults; i++)
        fprintf(stderr, "  fault %s at %" PRIu64 ": %s%s%s\n",
                hs_fault_name(s.faults[i].kind), s.faults[i].at,
                s.faults[i].fired ? "fired, victim '" : "unfired",
                s.faults[i].fired ? s.faults[i].victim_name : "",
                s.faults[i].fired ? "'" : "");
    fprintf(stderr, "  replay: %s --faults %s --scenario %s --seed %" PRIu64
            "%s\n", prog, o.faults, sc->name, seed,
            o.strategy == HS_STRATEGY_PCT ? " --strategy pct" : "");
}

/* The first line of the report, for a failure message. */
static const char *report_line(char *buf, size_t len)
{
    const char *r = hs_sim_report();
    size_t n = strcspn(r, "\n");
    snprintf(buf, len, "%.*s", (int)(n < len ? n : len - 1), r);
    return buf;
}

/* Judge a finished run; returns the failure kind, or SWEEP_KINDS if none. */
static enum sweep_failure judge(const hs_scenario *sc, hs_status run,
                                char *what, size_t len)
{
    char line[300];
    if (over_bound) {
        snprintf(what, len, "past its bound (%" PRIu64 " events, %" PRIu64
                 " ns of virtual time)", o.max_events, o.max_vtime);
        return SWEEP_HANG;
    }
    if (run == HS_EDEADLK) {
        snprintf(what, len, "deadlock: %s", report_line(line, sizeof line));
        return SWEEP_HANG;
    }
    if (run == HS_EPANIC) {
        const char *r = hs_sim_report();
        snprintf(what, len, "%s", report_line(line, sizeof line));
        return strncmp(r, "memory check", 12) == 0 ? SWEEP_LEAK : SWEEP_PANIC;
    }
    if (run == HS_OK && audit_leaks(audit_last(), what, len))
        return SWEEP_LEAK;
    long stacks = audit_stacks_out();
    hs_mem_stats ms;
    if (stacks) {
        snprintf(what, len, "%ld stacks not given back after the run",
                 stacks);
        return SWEEP_LEAK;
    }
    if (hs_mem_stats_get(&ms) == HS_OK && ms.free != ms.pool) {
        snprintf(what, len, "%" PRIu64 " bytes of the frame pool not free "
                 "after the run", ms.pool - ms.free);
        return SWEEP_LEAK;
    }
    if (sc->check(sc->arg, run) != HS_OK) {
        snprintf(what, len, "%s", sweep_why_text());
        return SWEEP_INVARIANT;
    }
    return SWEEP_KINDS;
}

static int run_one(const hs_scenario *sc, uint64_t seed, unsigned faults,
                   struct outcome *out)
{
    hs_sim_config cfg = run_config(seed, faults);
    hs_status st = hs_sim_start(&cfg);
    if (st != HS_OK) {
        fprintf(stderr, "sweep: hs_sim_start: %s\n", hs_strerror(st));
        return -1;
    }
    sweep_seed = seed;
    cur_scenario = sc->name;
    cur_seed = seed;
    over_bound = 0;
    exits.n = 0;
    audit_reset();
    st = sc->setup(sc->arg);
    alarm(o.host_timeout);
    hs_status run = hs_sim_run();
    alarm(0);
    if (st != HS_OK) {
        fprintf(stderr, "sweep: scenario %s: setup: %s\n", sc->name,
                hs_strerror(st));
        return -1;
    }
    hs_sim_summary s;
    (void)hs_sim_summary_get(&s);
    *out = (struct outcome){ .status = run, .events = s.events,
                             .hash = s.hash };
    char what[400];
    enum sweep_failure f = judge(sc, run, what, sizeof what);
    if (f != SWEEP_KINDS)
        fail(f, sc, seed, what);
    if (o.one) {
        fprintf(stderr, "sweep: scenario %s seed %" PRIu64 ": %s\n",
                sc->name, seed, f == SWEEP_KINDS ? "passed" : failure_name[f]);
    }
    return 0;
}

/* The determinism check: run b of seed must have given what run a did. */
static void compare(const hs_scenario *sc, uint64_t seed,
                    const struct outcome *a, const struct outcome *b)
{
    if (a->status == b->status && a->events == b->events &&
        a->hash == b->hash)
        return;
    char what[200];
    snprintf(what, sizeof what, "first run %s, %" PRIu64 " events, hash %016"
             PRIx64 "; again %s, %" PRIu64 " events, hash %016" PRIx64,
             hs_strerror(a->status), a->events, a->hash,
             hs_strerror(b->status), b->events, b->hash);
    fail(SWEEP_MISMATCH, sc, seed, what);
}

/* ---- the self-test ------------------------------------------------------ */

/* Guard-page faults reach the kernel's stack-overflow panic only in a
 * plain build outside Valgrind (both take such faults for themselves). */
#ifdef HOPSIM_ASAN
#define GUARD_FAULTS_SEEN 0
#else
#define GUARD_FAULTS_SEEN 1
#endif

/* Run probe p over its seeds, without faults, until its detector counts
 * a failure.  Returns 1 if it did and no other detector counted one, 0
 * if not (why says what happened), -1 if a run could not start. */
static int probe_fires(const struct sweep_probe *p, char *why, size_t len)
{
    uint64_t before[SWEEP_KINDS];
    memcpy(before, failures, sizeof before);
    uint64_t s;
    for (s = 0; s < p->seeds && failures[p->detector] == before[p->detector];
         s++) {
        struct outcome a, b;
        second_pass = 0;
        if (run_one(&p->sc, s, 0, &a) != 0)
            return -1;
        if (p->twice) {
            second_pass = 1;
            int r = run_one(&p->sc, s, 0, &b);
            second_pass = 0;
            if (r != 0)
                return -1;
            compare(&p->sc, s, &a, &b);
        }
    }
    if (p->after)
        p->after();
    for (int f = 0; f < SWEEP_KINDS; f++) {
        uint64_t n = failures[f] - before[f];
        if (f == (int)p->detector && n != 1) {
            snprintf(why, len, "%s counted %" PRIu64 " times in %" PRIu64
                     " seeds, want once", failure_name[f], n, s);
            return 0;
        }
        if (f != (int)p->detector && n) {
            snprintf(why, len, "counted as %s, not as %s",
                     failure_name[f], failure_name[p->detector]);
            return 0;
        }
    }
    return 1;
}

/* Show that every detector can fail: run each probe and check that it
 * is counted, as its own kind.  Prints one line; returns 0 if every
 * detector fired, 1 if one did not, 2 if a run could not start. */
static int self_test(FILE *out)
{
    int fired[SWEEP_KINDS] = {0}, missed = 0, skipped = 0;
    int guard_ok = GUARD_FAULTS_SEEN && !plat_under_valgrind();
    self_testing = 1;
    for (unsigned i = 0; i < sweep_nprobes; i++) {
        const struct sweep_probe *p = &sweep_probes[i];
        char why[200] = "";
        if (p->guard_fault && !guard_ok) {
            skipped++;
            continue;
        }
        int r = probe_fires(p, why, sizeof why);
        if (r < 0)
            return 2;
        if (r == 0) {
            fprintf(stderr, "sweep: self-test: the %s detector did not fire "
                    "on probe %s: %s\n", failure_name[p->detector],
                    p->sc.name, why);
            missed++;
        } else {
            fired[p->detector] = 1;
        }
    }
    self_testing = 0;
    int kinds = 0;
    for (int f = 0; f < SWEEP_KINDS; f++)
        kinds += fired[f];
    if (missed)
        return 1;
    if (kinds < SWEEP_KINDS && !skipped) {
        fprintf(stderr, "sweep: self-test: only %d of %d detectors have a "
                "probe\n", kinds, SWEEP_KINDS);
        return 1;
    }
    fprintf(out, "sweep: self-test: %d detectors fire", kinds);
    if (skipped)
        fprintf(out, " (%d probe%s skipped: no guard-page faults under "
                "ASan or Valgrind)", skipped, skipped > 1 ? "s" : "");
    fprintf(out, "\n");
    return 0;
}

/* ---- options ------------------------------------------------------------ */

static int usage(void)
{
    fprintf(stderr,
            "usage: sweep [--seeds N] [--first-seed S] [--seed S] "
            "[--faults LIST]\n"
            "             [--scenario NAME]... [--strategy random|pct] "
            "[--depth D]\n"
            "             [--fault-window N] [--max-vtime NS] "
            "[--max-events N]\n"
            "             [--host-timeout S] [--mem-check] [--no-repeat] "
            "[--show N]\n"
            "             [--list] [--self-test]\n");
    return 2;
}

static int parse_u64(const char *s, uint64_t *v)
{
    char *end;
    if (!s || !*s)
        return -1;
    *v = strtoull(s, &end, 10);
    return *end ? -1 : 0;
}

static unsigned faults_mask(const char *s)
{
    unsigned m = 0;
    char buf[128];
    snprintf(buf, sizeof buf, "%s", s);
    for (char *t = strtok(buf, ","); t; t = strtok(NULL, ",")) {
        if (strcmp(t, "all") == 0)
            m |= HS_FAULT_ALL;
        else if (strcmp(t, "none") == 0)
            continue;
        else {
            unsigned b;
            for (b = 1; b & HS_FAULT_ALL; b <<= 1)
                if (strcmp(t, hs_fault_name(b)) == 0)
                    break;
            if (!(b & HS_FAULT_ALL))
                return ~0u;
            m |= b;
        }
    }
    return m;
}

static int parse(int argc, char **argv, unsigned *faults, int *list,
                 int *selftest)
{
    o = (struct opts){ .seeds = 1000, .faults = "all",
                       .strategy = HS_STRATEGY_RANDOM,
                       .max_vtime = 60 * HS_SEC, .max_events = 1000000,
                       .host_timeout = 20, .repeat = 1, .show = 20 };
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        uint64_t x = 0;
        int takes = 1;
        if (strcmp(a, "--seeds") == 0 && !parse_u64(v, &x) && x)
            o.seeds = x;
        else if (strcmp(a, "--first-seed") == 0 && !parse_u64(v, &x))
            o.first = x;
        else if (strcmp(a, "--seed") == 0 && !parse_u64(v, &x))
            o.first = x, o.seeds = 1, o.one = 1;
        else if (strcmp(a, "--faults") == 0 && v)
            o.faults = v;
        else if (strcmp(a, "--fault-window") == 0 && !parse_u64(v, &x))
            o.fault_window = (unsigned)x;
        else if (strcmp(a, "--strategy") == 0 && v &&
                 (strcmp(v, "random") == 0 || strcmp(v, "pct") == 0))
            o.strategy = v[0] == 'p' ? HS_STRATEGY_PCT : HS_STRATEGY_RANDOM;
        else if (strcmp(a, "--depth") == 0 && !parse_u64(v, &x))
            o.depth = (unsigned)x;
        else if (strcmp(a, "--max-vtime") == 0 && !parse_u64(v, &x) && x)
            o.max_vtime = x;
        else if (strcmp(a, "--max-events") == 0 && !parse_u64(v, &x) && x)
            o.max_events = x;
        else if (strcmp(a, "--host-timeout") == 0 && !parse_u64(v, &x))
            o.host_timeout = (unsigned)x;
        else if (strcmp(a, "--show") == 0 && !parse_u64(v, &x))
            o.show = (unsigned)x;
        else if (strcmp(a, "--scenario") == 0 && v && o.nonly < 64)
            o.only[o.nonly++] = v;
        else if ((takes = 0), strcmp(a, "--mem-check") == 0)
            o.mem_check = 1;
        else if (strcmp(a, "--no-repeat") == 0)
            o.repeat = 0;
        else if (strcmp(a, "--list") == 0)
            *list = 1;
        else if (strcmp(a, "--self-test") == 0)
            *selftest = 1;
        else
            return -1;
        i += takes;
    }
    *faults = faults_mask(o.faults);
    if (*faults == ~0u || o.seeds > HS_SEED_MAX - o.first)
        return -1;
    if (o.one)
        o.repeat = 0;
    return 0;
}

/* ---- the sweep ---------------------------------------------------------- */

static const hs_scenario *scenario_at(unsigned i)
{
    return i < sweep_nscenarios ? &sweep_scenarios[i]
                                : &sweep_tour_scenarios[i - sweep_nscenarios];
}

static int chosen(const hs_scenario *sc)
{
    if (!o.nonly)
        return 1;
    for (unsigned i = 0; i < o.nonly; i++)
        if (strcmp(o.only[i], sc->name) == 0)
            return 1;
    return 0;
}

/* Send stdout (what the examples print) to /dev/null; returns the
 * stream for the summary. */
static FILE *quiet_stdout(void)
{
    fflush(stdout);
    int keep = dup(1), null = open("/dev/null", O_WRONLY);
    if (keep < 0 || null < 0)
        return stdout;
    dup2(null, 1);
    close(null);
    FILE *f = fdopen(keep, "w");
    return f ? f : stdout;
}

int main(int argc, char **argv)
{
    unsigned faults = 0, n = sweep_nscenarios + sweep_tour_nscenarios;
    int list = 0, selftest = 0;
    prog = argv[0];
    if (parse(argc, argv, &faults, &list, &selftest) != 0)
        return usage();
    if (selftest) {
        signal(SIGALRM, on_alarm);
        FILE *out = quiet_stdout();
        int r = self_test(out);
        fflush(out);
        return r;
    }
    if (list) {
        for (unsigned i = 0; i < n; i++)
            printf("%s\n", scenario_at(i)->name);
        return 0;
    }
    const hs_scenario *sc[64];
    unsigned nsc = 0;
    for (unsigned i = 0; i < n && nsc < 64; i++)
        if (chosen(scenario_at(i)))
            sc[nsc++] = scenario_at(i);
    if (!nsc || nsc < o.nonly) {
        fprintf(stderr, "sweep: unknown scenario (see sweep --list)\n");
        return 2;
    }
    signal(SIGALRM, on_alarm);
    FILE *out = o.one ? stdout : quiet_stdout();
    struct outcome *first = calloc(nsc * o.seeds, sizeof *first);
    if (!first)
        return 2;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (unsigned i = 0; i < nsc; i++)
        for (uint64_t s = 0; s < o.seeds; s++)
            if (run_one(sc[i], o.first + s, faults,
                        &first[i * o.seeds + s]) != 0)
                return 2;
    /* Determinism: every run again, seeds in the other order, after the
     * others ran (so state a run leaves behind shows too). */
    for (unsigned i = 0; o.repeat && i < nsc; i++) {
        for (uint64_t s = o.seeds; s-- > 0;) {
            struct outcome b;
            second_pass = 1;
            if (run_one(sc[i], o.first + s, faults, &b) != 0)
                return 2;
            compare(sc[i], o.first + s, &first[i * o.seeds + s], &b);
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (double)(t1.tv_sec - t0.tv_sec) +
                  (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    fprintf(out, "sweep: %" PRIu64 " seeds x %u scenarios: %" PRIu64
            " leaks, %" PRIu64 " invariant breaks, %" PRIu64 " panics, %"
            PRIu64 " hangs, %" PRIu64 " hash mismatches\n", o.seeds, nsc,
            failures[SWEEP_LEAK], failures[SWEEP_INVARIANT],
            failures[SWEEP_PANIC], failures[SWEEP_HANG],
            failures[SWEEP_MISMATCH]);
    fprintf(stderr, "sweep: %" PRIu64 " runs in %.1f s (faults: %s)\n",
            o.seeds * nsc * (o.repeat ? 2 : 1), secs, o.faults);
    fflush(out);
    free(first);
    for (int f = 0; f < SWEEP_KINDS; f++)
        if (failures[f])
            return 1;
    return 0;
}
