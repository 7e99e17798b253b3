/*
 * lib/explore.c - the exploration harness: seeds, replay, determinism
 * check, and the command line of programs built around scenarios.
 *
 * Host code on top of the public API: it starts and runs whole
 * simulations, keeps an event log in host memory and prints with stdio,
 * so it lives beside the platform, not in the kernel.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hopsim.h"
#include "sim/platform.h"

/* ---- one run ---------------------------------------------------------------- */

static int scenario_valid(const hs_scenario *sc)
{
    if (!sc || !sc->setup || !sc->check || !sc->name)
        return 0;
    size_t n = strlen(sc->name);
    return n >= 1 && n <= HS_NAME_MAX;
}

/* Start, set up, run and judge; *out gets the outcome. */
static hs_status run_once(const hs_scenario *sc, const hs_sim_config *cfg,
                          hs_explore_result *out)
{
    hs_status st = hs_sim_start(cfg);
    if (st != HS_OK)
        return st;
    st = sc->setup(sc->arg);
    hs_status run = hs_sim_run();       /* frees whatever setup made */
    if (st != HS_OK)
        return st;
    out->run = run;
    out->check = sc->check(sc->arg, run);
    out->found = out->check != HS_OK;
    hs_sim_summary_get(&out->summary);
    out->cfg = *cfg;
    out->cfg.seed = out->summary.seed;
    out->cfg.strategy = out->summary.strategy;
    out->cfg.pct_depth = out->summary.pct_depth;
    out->cfg.pct_steps = out->summary.pct_steps;
    out->cfg.faults = 0;
    for (unsigned i = 0; i < out->summary.nfaults; i++)
        out->cfg.faults |= out->summary.faults[i].kind;
    return out->found ? HS_ECHECK : HS_OK;
}

static hs_status outside_check(void)
{
    return (plat_cpu_id() >= 0) ? HS_ESTATE : HS_OK;
}

hs_status hs_explore_one(const hs_scenario *sc, const hs_sim_config *cfg,
                         hs_explore_result *out)
{
    static const hs_sim_config defaults = HS_SIM_DEFAULTS;
    if (!scenario_valid(sc) || !out)
        return HS_EINVAL;
    hs_status st = outside_check();
    if (st != HS_OK)
        return st;
    memset(out, 0, sizeof *out);
    out->runs = 1;
    return run_once(sc, cfg ? cfg : &defaults, out);
}

/* ---- many seeds ---------------------------------------------------------------- */

/* PCT without pct_steps: count the scheduling points of one run. */
static hs_status calibrate(const hs_scenario *sc, hs_sim_config *cfg)
{
    hs_explore_result r;
    memset(&r, 0, sizeof r);
    cfg->pct_steps = HS_PCT_STEPS_DEFAULT;
    hs_status st = run_once(sc, cfg, &r);
    if (st != HS_OK && st != HS_ECHECK)
        return st;
    cfg->pct_steps = r.summary.sched_points ? r.summary.sched_points : 1;
    return HS_OK;
}

hs_status hs_explore(const hs_scenario *sc, const hs_explore_opts *opts,
                     hs_explore_result *out)
{
    if (!scenario_valid(sc) || !opts || !out || !opts->seeds ||
        opts->first_seed > HS_SEED_MAX ||
        opts->seeds - 1 > HS_SEED_MAX - opts->first_seed)
        return HS_EINVAL;
    hs_status st = outside_check();
    if (st != HS_OK)
        return st;
    memset(out, 0, sizeof *out);
    hs_sim_config cfg = opts->cfg;
    cfg.quiet = !opts->verbose;
    cfg.seed = opts->first_seed;
    if (cfg.strategy == HS_STRATEGY_PCT && !cfg.pct_steps &&
        (st = calibrate(sc, &cfg)) != HS_OK)
        return st;
    for (uint64_t i = 0; i < opts->seeds; i++) {
        cfg.seed = opts->first_seed + i;
        out->runs++;
        st = run_once(sc, &cfg, out);
        if (st == HS_ECHECK)
            out->seed = cfg.seed;
        if (st != HS_OK)
            return st;
    }
    return HS_OK;
}

/* ---- comparing two runs ------------------------------------------------------------- */

struct event_log {
    hs_explore_event *ev;
    size_t max, n;          /* room, events kept */
    uint64_t seen;          /* events of the run */
    /* Comparing (second run): the first run's log, and the first
     * difference found. */
    const struct event_log *ref;
    int differ;
    uint64_t at;
    hs_explore_event first;
};

static void event_copy(hs_explore_event *e, const hs_event *ev)
{
    e->seq = ev->seq;
    e->time = ev->time;
    e->kind = ev->kind;
    e->thread = ev->thread;
    e->a = ev->a;
    e->b = ev->b;
    e->thread_name[0] = '\0';
    if (ev->thread_name)
        snprintf(e->thread_name, sizeof e->thread_name, "%s",
                 ev->thread_name);
}

static int event_same(const hs_explore_event *e, const hs_event *ev)
{
    return e->time == ev->time && strcmp(e->kind, ev->kind) == 0 &&
           e->thread == ev->thread && e->a == ev->a && e->b == ev->b;
}

/* The first run: keep its first max events. */
static void log_record(void *cookie, const hs_event *ev)
{
    struct event_log *l = cookie;
    if (l->n < l->max)
        event_copy(&l->ev[l->n++], ev);
    l->seen++;
}

/* The second run: compare with the first as it goes.  Past the events
 * kept of the first run nothing is compared, unless the first run ended
 * there: then this event is the first difference. */
static void log_compare(void *cookie, const hs_event *ev)
{
    struct event_log *l = cookie;
    const struct event_log *ref = l->ref;
    uint64_t i = l->seen++;
    if (l->differ || (i >= ref->n && i != ref->seen))
        return;
    if (i < ref->n && event_same(&ref->ev[i], ev))
        return;
    l->differ = 1;
    l->at = i;
    event_copy(&l->first, ev);
}

static void diff_fill(hs_explore_diff *d, const struct event_log *a,
                      const struct event_log *b)
{
    if (b->differ) {
        d->differ = 1;
        d->at = b->at;
        d->have_b = 1;
        d->b = b->first;
        d->have_a = b->at < a->n;
        if (d->have_a)
            d->a = a->ev[b->at];
        return;
    }
    if (a->seen == b->seen && d->sa.hash == d->sb.hash &&
        d->sa.status == d->sb.status)
        return;                     /* the same run */
    d->differ = 1;
    if (b->seen < a->seen && b->seen < a->n) {
        d->at = b->seen;            /* the second run ended here */
        d->have_a = 1;
        d->a = a->ev[b->seen];
    } else {
        d->at = a->n;               /* after the events kept */
        d->beyond_log = 1;
    }
}

hs_status hs_explore_compare(const hs_scenario *sc, const hs_sim_config *a,
                             const hs_sim_config *b, size_t max_events,
                             hs_explore_diff *out)
{
    static const hs_sim_config defaults = HS_SIM_DEFAULTS;
    if (!scenario_valid(sc) || !out)
        return HS_EINVAL;
    hs_status st = outside_check();
    if (st != HS_OK)
        return st;
    if (!max_events)
        max_events = HS_EXPLORE_EVENTS_DEFAULT;
    if (max_events > SIZE_MAX / sizeof(hs_explore_event))
        return HS_ENOMEM;
    struct event_log la = {.max = max_events}, lb = {.ref = &la};
    la.ev = malloc(max_events * sizeof *la.ev);
    if (!la.ev)
        return HS_ENOMEM;
    memset(out, 0, sizeof *out);
    hs_sim_config ca = a ? *a : defaults, cb = b ? *b : defaults;
    ca.event_fn = log_record;
    ca.event_cookie = &la;
    cb.event_fn = log_compare;
    cb.event_cookie = &lb;
    hs_explore_result ra, rb;
    memset(&ra, 0, sizeof ra);
    memset(&rb, 0, sizeof rb);
    st = run_once(sc, &ca, &ra);
    if (st == HS_OK || st == HS_ECHECK)
        st = run_once(sc, &cb, &rb);
    if (st == HS_OK || st == HS_ECHECK) {
        out->sa = ra.summary;
        out->sb = rb.summary;
        diff_fill(out, &la, &lb);
        st = HS_OK;
    }
    free(la.ev);
    return st;
}

/* ---- the replay command ---------------------------------------------------------- */

/* The names of the fault kinds in mask, comma separated. */
static void fault_list(unsigned mask, char *buf, size_t len)
{
    buf[0] = '\0';
    for (unsigned kind = 1; kind & HS_FAULT_ALL; kind <<= 1)
        if (mask & kind) {
            size_t n = strlen(buf);
            snprintf(buf + n, len - n, "%s%s", n ? "," : "",
                     hs_fault_name(kind));
        }
}

/* A bounded string being appended to; over is set when it did not fit. */
struct sbuf {
    char *buf;
    size_t len, n;
    int over;
};

static void sb_printf(struct sbuf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void sb_printf(struct sbuf *b, const char *fmt, ...)
{
    if (b->over)
        return;
    va_list ap;
    va_start(ap, fmt);
    int w = vsnprintf(b->buf + b->n, b->len - b->n, fmt, ap);
    va_end(ap);
    if (w < 0 || (size_t)w >= b->len - b->n) {
        b->over = 1;
        b->n = b->len - 1;
        return;
    }
    b->n += (size_t)w;
}

hs_status hs_explore_command(const char *prog, const char *sc_name,
                             const hs_sim_config *cfg, char *buf,
                             size_t len)
{
    if (!prog || !cfg || !buf || !len || cfg->seed > HS_SEED_MAX)
        return HS_EINVAL;
    struct sbuf b = {.buf = buf, .len = len};
    buf[0] = '\0';
    sb_printf(&b, "%s", prog);
    if (sc_name)
        sb_printf(&b, " --scenario %s", sc_name);
    if (cfg->strategy == HS_STRATEGY_PCT)
        sb_printf(&b, " --strategy pct --depth %u --steps %" PRIu64,
                  cfg->pct_depth, cfg->pct_steps);
    if (cfg->faults && cfg->faults != HS_FAULTS_FROM_ENV) {
        char list[64];
        fault_list(cfg->faults, list, sizeof list);
        sb_printf(&b, " --faults %s --fault-window %u", list,
                  cfg->fault_window ? cfg->fault_window
                                    : HS_FAULT_WINDOW_DEFAULT);
    }
    sb_printf(&b, " --seed %" PRIu64, cfg->seed);
    return b.over ? HS_EINVAL : HS_OK;
}

/* ---- the command line -------------------------------------------------------------- */

struct cli {
    const char *prog;
    const hs_scenario *sc;
    int named;              /* print --scenario in the replay command */
    hs_sim_config cfg;      /* explicit options over the defaults */
    int sweep;
    uint64_t seeds, first_seed;
    int have_seed;
    uint64_t seed;
    int determinism;
    int have_against;
    uint64_t against;
    size_t events;
};

static void usage(const char *prog)
{
    fprintf(stderr,
            "usage: %s [--scenario NAME] [--seeds N [--first-seed S] | "
            "--seed N]\n"
            "       [--strategy random|pct] [--depth D] [--steps K]\n"
            "       [--faults kill,reply-timeout,frame|all] [--fault-window N]\n"
            "       [--check-determinism [--against M] [--events N]]\n"
            "       [--deadlock-dot FILE]\n", prog);
}

static int parse_num(const char *s, uint64_t max, uint64_t *out)
{
    if (!s || *s < '0' || *s > '9')
        return 0;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end || v > max)
        return 0;
    *out = v;
    return 1;
}

static int parse_faults(const char *s, unsigned *out)
{
    char buf[128];
    snprintf(buf, sizeof buf, "%s", s);
    unsigned mask = 0;
    for (char *save, *t = strtok_r(buf, ",", &save); t;
         t = strtok_r(NULL, ",", &save)) {
        unsigned kind = 0;
        if (strcmp(t, "all") == 0)
            kind = HS_FAULT_ALL;
        for (unsigned b = 1; b & HS_FAULT_ALL; b <<= 1)
            if (strcmp(t, hs_fault_name(b)) == 0)
                kind = b;
        if (!kind && strcmp(t, "none") != 0)
            return 0;
        mask |= kind;
    }
    *out = mask;
    return 1;
}

/* One option with its value; returns 0 on a bad option or value. */
static int parse_option(struct cli *c, const char *opt, const char *val,
                        const hs_scenario *scs, unsigned n)
{
    uint64_t v;
    if (strcmp(opt, "--scenario") == 0) {
        for (unsigned i = 0; val && i < n; i++)
            if (strcmp(scs[i].name, val) == 0) {
                c->sc = &scs[i];
                return 1;
            }
        return 0;
    }
    if (strcmp(opt, "--strategy") == 0) {
        if (val && strcmp(val, "random") == 0)
            c->cfg.strategy = HS_STRATEGY_RANDOM;
        else if (val && strcmp(val, "pct") == 0)
            c->cfg.strategy = HS_STRATEGY_PCT;
        else
            return 0;
        return 1;
    }
    if (strcmp(opt, "--faults") == 0)
        return val && parse_faults(val, &c->cfg.faults);
    if (strcmp(opt, "--deadlock-dot") == 0)
        return (c->cfg.deadlock_dot = val) != NULL;
    if (!parse_num(val, HS_SEED_MAX, &v))
        return 0;
    if (strcmp(opt, "--seeds") == 0 && v > 0)
        c->sweep = 1, c->seeds = v;
    else if (strcmp(opt, "--first-seed") == 0)
        c->first_seed = v;
    else if (strcmp(opt, "--seed") == 0)
        c->have_seed = 1, c->seed = v;
    else if (strcmp(opt, "--against") == 0)
        c->have_against = 1, c->against = v;
    else if (strcmp(opt, "--depth") == 0 && v >= 1 && v <= HS_PCT_DEPTH_MAX)
        c->cfg.pct_depth = (unsigned)v;
    else if (strcmp(opt, "--steps") == 0 && v > 0)
        c->cfg.pct_steps = v;
    else if (strcmp(opt, "--fault-window") == 0 && v > 0 &&
             v <= HS_FAULT_WINDOW_MAX)
        c->cfg.fault_window = (unsigned)v;
    else if (strcmp(opt, "--events") == 0 && v > 0)
        c->events = (size_t)v;
    else
        return 0;
    return 1;
}

static int parse_cli(struct cli *c, int argc, char **argv,
                     const hs_scenario *scs, unsigned n)
{
    static const hs_sim_config defaults = HS_SIM_DEFAULTS;
    memset(c, 0, sizeof *c);
    c->prog = argc > 0 ? argv[0] : "prog";
    c->sc = &scs[0];
    c->named = n > 1;
    c->cfg = defaults;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--check-determinism") == 0) {
            c->determinism = 1;
            continue;
        }
        if (strcmp(argv[i], "--help") == 0 ||
            !parse_option(c, argv[i], i + 1 < argc ? argv[i + 1] : NULL,
                          scs, n)) {
            if (strcmp(argv[i], "--help") != 0)
                fprintf(stderr, "%s: bad option or value: %s%s%s\n", c->prog,
                        argv[i], i + 1 < argc ? " " : "",
                        i + 1 < argc ? argv[i + 1] : "");
            return 0;
        }
        i++;
    }
    if ((c->sweep && (c->have_seed || c->determinism)) ||
        (c->have_against && !c->determinism)) {
        fprintf(stderr, "%s: --seeds goes with neither --seed nor "
                "--check-determinism; --against needs --check-determinism\n",
                c->prog);
        return 0;
    }
    return 1;
}

/* The faults of a run as the summary line shows them, or "none". */
static void faults_text(const hs_sim_summary *s, char *buf, size_t len)
{
    struct sbuf b = {.buf = buf, .len = len};
    buf[0] = '\0';
    if (!s->nfaults)
        sb_printf(&b, "none");
    for (unsigned i = 0; i < s->nfaults; i++) {
        const hs_fault *f = &s->faults[i];
        sb_printf(&b, "%s%s@%" PRIu64, i ? "," : "", hs_fault_name(f->kind),
                  f->at);
        if (f->kind == HS_FAULT_KILL)
            sb_printf(&b, ":%s",
                      f->side == HS_FAULT_TARGET ? "target" : "caller");
        if (f->fired)
            sb_printf(&b, ":'%s' at vtime %" PRIu64, f->victim_name, f->time);
        else
            sb_printf(&b, ":unfired");
    }
}

static void print_failure(const struct cli *c, const hs_explore_result *r)
{
    char text[512];
    fprintf(stderr, "explore: '%s': seed %" PRIu64 " fails: check %s, "
            "run %s\n", c->sc->name, r->seed, hs_strerror(r->check),
            hs_strerror(r->run));
    faults_text(&r->summary, text, sizeof text);
    fprintf(stderr, "explore: faults active: %s\n", text);
}

static double seconds_since(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) +
           (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

/* Replay the failing run verbosely and say whether it failed the same
 * way. */
static int replay(const struct cli *c, const hs_explore_result *r)
{
    hs_explore_result again;
    hs_sim_config cfg = r->cfg;
    cfg.quiet = 0;
    fprintf(stderr, "explore: replaying seed %" PRIu64 ":\n", r->seed);
    hs_status st = hs_explore_one(c->sc, &cfg, &again);
    if (st == HS_ECHECK && again.summary.hash == r->summary.hash) {
        fprintf(stderr, "explore: the replay fails the same way "
                "(hash %016" PRIx64 ")\n", again.summary.hash);
        return 1;
    }
    fprintf(stderr, "explore: the replay did not do the same: %s, hash "
            "%016" PRIx64 " (was %016" PRIx64 ")\n", hs_strerror(st),
            again.summary.hash, r->summary.hash);
    return 1;
}

static int cli_sweep(const struct cli *c)
{
    hs_explore_opts o = HS_EXPLORE_DEFAULTS;
    o.cfg = c->cfg;
    o.first_seed = c->first_seed;
    o.seeds = c->seeds;
    hs_explore_result r;
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    hs_status st = hs_explore(c->sc, &o, &r);
    double secs = seconds_since(&t0);
    const char *strat = r.cfg.strategy == HS_STRATEGY_PCT ? "pct" : "random";
    if (st == HS_OK) {
        fprintf(stderr, "explore: '%s': %" PRIu64 " seeds from %" PRIu64
                ", strategy %s: no failure (%.2f s)\n", c->sc->name, r.runs,
                c->first_seed, strat, secs);
        return 0;
    }
    if (st != HS_ECHECK) {
        fprintf(stderr, "explore: '%s': stopped at run %" PRIu64 ": %s\n",
                c->sc->name, r.runs, hs_strerror(st));
        return 2;
    }
    fprintf(stderr, "explore: '%s': failure found after %" PRIu64
            " run(s), strategy %s (%.2f s)\n", c->sc->name, r.runs, strat,
            secs);
    print_failure(c, &r);
    char cmd[1024];
    hs_explore_command(c->prog, c->named ? c->sc->name : NULL, &r.cfg, cmd,
                       sizeof cmd);
    fprintf(stderr, "explore: replay with: %s\n", cmd);
    return replay(c, &r);
}

static void print_event(const char *who, const hs_explore_event *e)
{
    fprintf(stderr, "  %s: event %" PRIu64 " at vtime %" PRIu64 ": %s "
            "thread %" PRIx64 " '%s' a=%" PRIx64 " b=%" PRIx64 "\n", who,
            e->seq, e->time, e->kind, e->thread, e->thread_name, e->a, e->b);
}

static int cli_determinism(const struct cli *c)
{
    hs_sim_config a = c->cfg, b = c->cfg;
    a.seed = c->have_seed ? c->seed : 0;
    b.seed = c->have_against ? c->against : a.seed;
    a.quiet = b.quiet = 1;
    hs_explore_diff d;
    hs_status st = hs_explore_compare(c->sc, &a, &b, c->events, &d);
    if (st != HS_OK) {
        fprintf(stderr, "explore: '%s': %s\n", c->sc->name, hs_strerror(st));
        return 2;
    }
    if (!d.differ) {
        fprintf(stderr, "explore: '%s': seed %" PRIu64 " and seed %" PRIu64
                ": no difference in %" PRIu64 " events (hash %016" PRIx64
                ")\n", c->sc->name, a.seed, b.seed, d.sa.events, d.sa.hash);
        return 0;
    }
    fprintf(stderr, "explore: '%s': seed %" PRIu64 " and seed %" PRIu64
            " differ %s event %" PRIu64 " (%" PRIu64 " vs %" PRIu64
            " events, hash %016" PRIx64 " vs %016" PRIx64 ")\n",
            c->sc->name, a.seed, b.seed, d.beyond_log ? "after" : "at",
            d.at, d.sa.events, d.sb.events, d.sa.hash, d.sb.hash);
    if (d.have_a)
        print_event("first ", &d.a);
    else if (!d.beyond_log)
        fprintf(stderr, "  first : (ended)\n");
    if (d.have_b)
        print_event("second", &d.b);
    else if (!d.beyond_log)
        fprintf(stderr, "  second: (ended)\n");
    return 1;
}

/* One run, verbosely: the plain program, or --seed N. */
static int cli_one(const struct cli *c)
{
    hs_sim_config cfg = c->cfg;
    if (c->have_seed)
        cfg.seed = c->seed;
    hs_explore_result r;
    hs_status st = hs_explore_one(c->sc, &cfg, &r);
    if (st == HS_OK)
        return 0;
    if (st != HS_ECHECK) {
        fprintf(stderr, "explore: '%s': %s\n", c->sc->name, hs_strerror(st));
        return 2;
    }
    r.seed = r.summary.seed;
    print_failure(c, &r);
    return 1;
}

int hs_explore_main(int argc, char **argv, const hs_scenario *scenarios,
                    unsigned n)
{
    if (!scenarios || !n) {
        fprintf(stderr, "hs_explore_main: no scenario\n");
        return 2;
    }
    for (unsigned i = 0; i < n; i++)
        if (!scenario_valid(&scenarios[i])) {
            fprintf(stderr, "hs_explore_main: scenario %u is invalid\n", i);
            return 2;
        }
    struct cli c;
    if (!parse_cli(&c, argc, argv, scenarios, n)) {
        usage(argc > 0 ? argv[0] : "prog");
        return 2;
    }
    if (c.sweep)
        return cli_sweep(&c);
    if (c.determinism)
        return cli_determinism(&c);
    return cli_one(&c);
}
