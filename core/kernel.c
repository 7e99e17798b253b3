/*
 * core/kernel.c - starting, running and ending a simulation; kernel entry,
 * exit and panic.
 */
#include <string.h>

#include "core/cap.h"
#include "core/checkpoint.h"
#include "core/fault.h"
#include "core/hop.h"
#include "mem/pagefault.h"
#include "mem/portal.h"
#include "mem/pages.h"
#include "core/kernel.h"
#include "core/sched.h"
#include "core/trace.h"
#include "ports/gate.h"
#include "ports/chan.h"
#include "ports/topic.h"
#include "ports/irq.h"
#include "ports/port.h"
#include "ports/registry.h"

struct kernel k;

static char report_buf[REPORT_MAX];
static struct kbuf report;
static hs_sim_summary last;
static int have_last;

struct kbuf *kernel_report(void)
{
    return &report;
}

/* A CPU of an ending run that was running a thread: park the thread in the
 * CPU's own context; teardown frees it. */
static _Noreturn void abandon(struct thread *self)
{
    kernel_cpu()->current = NULL;
    plat_ctx_switch_final(self->ctx, plat_cpu_context());
}

struct thread *kernel_enter_slow(struct thread *self)
{
    if (!self) {
        plat_kunlock();
        return NULL;
    }
    if (k.ending)
        abandon(self);
    if (self->killed)
        thread_exit(self, self->proc->exit_status);
    if (self->hop_unwind)
        hop_unwind_self(self);
    return self;
}

/* ---- panic ---------------------------------------------------------------- */

static void panic_line(void *cookie, const char *line)
{
    (void)cookie;
    kbuf_printf(&report, "    %s\n", line);
}

_Noreturn void kernel_panic(const char *fmt, ...)
{
    struct thread *self = kernel_current();
    kbuf_init(&report, report_buf, sizeof report_buf);
    kbuf_printf(&report, "hopsim: kernel panic: ");
    va_list ap;
    va_start(ap, fmt);
    kbuf_vprintf(&report, fmt, ap);
    va_end(ap);
    kbuf_printf(&report, "\n");
    if (self) {
        kbuf_printf(&report, "  in ");
        thread_describe(self, &report);
        kbuf_printf(&report, " at vtime %llu ns\n",
                    (unsigned long long)plat_clock_now());
        kbuf_printf(&report, "  backtrace%s:\n",
                    self->top->below ? " across hops" : "");
        hop_backtrace(self, panic_line, NULL);
    }
    if (!self || !k.running || !k.cfg.quiet)
        plat_print(report.buf);
    if (!self || !k.running) {
        plat_print("hopsim: panic outside a simulated thread: abort\n");
        __builtin_trap();
    }
    k.ending = 1;
    k.end_status = HS_EPANIC;
    event_record(EV_PANIC, self, 0, 0);
    plat_cpu_kick();
    abandon(self);
}

/* The platform saw the running context hit its stack's guard page. */
static void on_stack_overflow(void *owner)
{
    struct thread *t = owner;
    kernel_panic("stack overflow in thread %u '%s' of process '%s' "
                 "(stack %llu bytes)", handle_index(t->obj.handle), t->name,
                 t->proc->name, (unsigned long long)t->stack_size);
}

/* ---- the CPU loop ---------------------------------------------------------- */

static void run_end(hs_status st)
{
    if (!k.ending) {
        k.ending = 1;
        k.end_status = st;
    }
    plat_cpu_kick();
}

/* Each simulated CPU runs this on its host thread: run threads until the
 * run ends; idle while other CPUs work; decide the end when every CPU is
 * idle and nothing can run. */
static void cpu_main(unsigned id)
{
    (void)id;
    plat_klock();
    while (!k.ending) {
        struct thread *t = sched_pick();
        if (t) {
            sched_run_from_cpu(t);
            continue;
        }
        if (k.idle_cpus + 1 < k.cfg.ncpus) {
            k.idle_cpus++;
            plat_cpu_idle();
            k.idle_cpus--;
            continue;
        }
        if (k.nlive == k.nserving) {
            run_end(HS_OK);
        } else {
            deadlock_report();
            run_end(HS_EDEADLK);
        }
    }
    plat_cpu_kick();
    plat_kunlock();
}

/* ---- start, run, end --------------------------------------------------------- */

static hs_status parse_u64(const char *s, uint64_t *out)
{
    uint64_t v = 0;
    if (!s || !*s)
        return HS_EINVAL;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return HS_EINVAL;
        uint64_t d = (uint64_t)(*s - '0');
        if (v > (HS_SEED_MAX - d) / 10)
            return HS_EINVAL;
        v = v * 10 + d;
    }
    *out = v;
    return HS_OK;
}

static hs_status config_check(const hs_sim_config *c)
{
    if (c->ncpus < 1 || c->ncpus > HS_CPUS_MAX)
        return HS_EINVAL;
    if (c->stack_size < HS_STACK_MIN || c->stack_size > HS_STACK_MAX)
        return HS_EINVAL;
    if (!c->max_procs || !c->max_threads || !c->max_threads_per_proc ||
        !c->max_ports || !c->max_caps || !c->max_hop_depth ||
        c->max_hop_depth > HS_HOP_DEPTH_MAX || c->hop_stacks > HS_HOP_STACKS_MAX)
        return HS_EINVAL;
    if (c->switch_kind < HS_SWITCH_DEFAULT ||
        c->switch_kind > HS_SWITCH_UCONTEXT)
        return HS_EINVAL;
    if (c->strategy < HS_STRATEGY_DEFAULT || c->strategy > HS_STRATEGY_PCT ||
        c->pct_depth > HS_PCT_DEPTH_MAX ||
        c->fault_window > HS_FAULT_WINDOW_MAX ||
        (c->faults != HS_FAULTS_FROM_ENV && (c->faults & ~HS_FAULT_ALL)))
        return HS_EINVAL;
    if (!c->mem_size || c->mem_size % HS_PAGE_4K ||
        c->mem_size > HS_MEM_SIZE_MAX)
        return HS_EINVAL;
    return HS_OK;
}

/* HOPSIM_FAULTS: kind names separated by commas, "all" or "none". */
static hs_status parse_faults(const char *s, unsigned *out)
{
    unsigned mask = 0;
    while (*s) {
        size_t n = 0;
        while (s[n] && s[n] != ',')
            n++;
        unsigned kind = 0;
        if (n == 3 && strncmp(s, "all", 3) == 0)
            kind = HS_FAULT_ALL;
        else if (n == 4 && strncmp(s, "none", 4) == 0)
            kind = 0;
        else {
            for (unsigned b = 1; b & HS_FAULT_ALL; b <<= 1)
                if (strlen(hs_fault_name(b)) == n &&
                    strncmp(s, hs_fault_name(b), n) == 0)
                    kind = b;
            if (!kind)
                return HS_EINVAL;
        }
        mask |= kind;
        s += n;
        if (*s == ',')
            s++;
    }
    *out = mask;
    return HS_OK;
}

/* An optional number from the environment into *v (left as is if the
 * variable is unset or empty); 0 is refused. */
static hs_status env_count(const char *name, uint64_t max, uint64_t *v)
{
    const char *s = plat_getenv(name);
    uint64_t x;
    if (!s || !*s)
        return HS_OK;
    if (parse_u64(s, &x) != HS_OK || x == 0 || x > max)
        return HS_EINVAL;
    *v = x;
    return HS_OK;
}

/* Resolve the exploration settings: strategy, PCT depth and steps,
 * faults, the deadlock graph's file. */
static hs_status config_resolve_explore(hs_sim_config *c, uint64_t seed)
{
    if (c->strategy == HS_STRATEGY_DEFAULT) {
        const char *s = plat_getenv("HOPSIM_STRATEGY");
        c->strategy = HS_STRATEGY_RANDOM;
        if (s && *s && strcmp(s, "random") != 0) {
            if (strcmp(s, "pct") != 0)
                return HS_EINVAL;
            c->strategy = HS_STRATEGY_PCT;
        }
    }
    uint64_t depth = c->pct_depth ? c->pct_depth : HS_PCT_DEPTH_DEFAULT;
    uint64_t steps = c->pct_steps ? c->pct_steps : HS_PCT_STEPS_DEFAULT;
    if ((!c->pct_depth &&
         env_count("HOPSIM_PCT_DEPTH", HS_PCT_DEPTH_MAX, &depth) != HS_OK) ||
        (!c->pct_steps &&
         env_count("HOPSIM_PCT_STEPS", HS_SEED_MAX, &steps) != HS_OK))
        return HS_EINVAL;
    c->pct_depth = (unsigned)depth;
    c->pct_steps = steps;
    if (c->faults == HS_FAULTS_FROM_ENV) {
        const char *s = plat_getenv("HOPSIM_FAULTS");
        c->faults = 0;
        if (s && parse_faults(s, &c->faults) != HS_OK)
            return HS_EINVAL;
    }
    if (c->faults && seed == HS_SEED_NONE)
        return HS_EINVAL;           /* faults are drawn from the seed */
    if (!c->fault_window)
        c->fault_window = HS_FAULT_WINDOW_DEFAULT;
    if (!c->deadlock_dot) {
        const char *s = plat_getenv("HOPSIM_DEADLOCK_DOT");
        c->deadlock_dot = (s && *s) ? s : NULL;
    }
    return HS_OK;
}

/* Resolve the settings that come from the environment. */
static hs_status config_resolve(hs_sim_config *c, uint64_t *seed)
{
    *seed = c->seed;
    if (c->seed == HS_SEED_FROM_ENV) {
        const char *s = plat_getenv("HOPSIM_SEED");
        *seed = HS_SEED_NONE;
        if (s && *s && parse_u64(s, seed) != HS_OK)
            return HS_EINVAL;
    }
    if (c->switch_kind == HS_SWITCH_DEFAULT) {
        const char *s = plat_getenv("HOPSIM_SWITCH");
        c->switch_kind = HS_SWITCH_FAST;
        if (s && *s && strcmp(s, "fast") != 0) {
            if (strcmp(s, "ucontext") != 0)
                return HS_EINVAL;
            c->switch_kind = HS_SWITCH_UCONTEXT;
        }
    }
    if (!c->log_path) {
        const char *s = plat_getenv("HOPSIM_LOG");
        c->log_path = (s && *s) ? s : NULL;
    }
    if (!c->trace_path) {
        const char *s = plat_getenv("HOPSIM_TRACE");
        c->trace_path = (s && *s) ? s : NULL;
    }
    if (!c->msc_path) {
        const char *s = plat_getenv("HOPSIM_MSC");
        c->msc_path = (s && *s) ? s : NULL;
    }
    if (!c->mem_check) {
        const char *s = plat_getenv("HOPSIM_MEM_CHECK");
        if (s && *s && strcmp(s, "0") != 0) {
            if (strcmp(s, "1") != 0)
                return HS_EINVAL;
            c->mem_check = 1;
        }
    }
    c->stack_size = (c->stack_size + 4095) & ~(size_t)4095;
    return config_resolve_explore(c, *seed);
}

hs_status hs_sim_start(const hs_sim_config *cfg)
{
    static const hs_sim_config defaults = HS_SIM_DEFAULTS;
    if (k.started || k.running)
        return HS_ESTATE;
    hs_sim_config c = cfg ? *cfg : defaults;
    uint64_t seed;
    hs_status st = config_check(&c);
    if (st == HS_OK)
        st = config_resolve(&c, &seed);
    if (st == HS_OK && c.log_path)
        st = plat_trace_open(c.log_path);
    if (st == HS_OK && (c.trace_path || c.msc_path)) {
        st = trace_open(c.trace_path, c.msc_path);
        if (st != HS_OK)
            plat_trace_close();
    }
    if (st == HS_OK) {
        st = mem_start(c.mem_size);
        if (st != HS_OK) {
            plat_trace_close();
            trace_close();
        }
    }
    if (st != HS_OK)
        return st;

    memset(&k, 0, sizeof k);
    k.cfg = c;
    k.seed = seed;
    k.rng = seed;
    k.strategy = c.strategy;
    k.pct_depth = c.pct_depth;
    k.pct_steps = c.pct_steps;
    k.mem_leave = c.mem_check ? MEM_LEAVE_CHECK : 0;
    pool_init(&k.threads, sizeof(struct thread));
    pool_init(&k.procs, sizeof(struct proc));
    pool_init(&k.ports, sizeof(struct port));
    pool_init(&k.levels, sizeof(struct hs_hop));
    pool_init(&k.checkpoints, sizeof(struct checkpoint));
    pool_init(&k.caps, sizeof(struct cap));
    pool_init(&k.gates, sizeof(struct gate));
    pool_init(&k.irqs, sizeof(struct irq));
    pool_init(&k.chans, sizeof(struct chan));
    pool_init(&k.chan_ends, sizeof(struct chan_end));
    topic_init();
    pool_init(&k.pagefaults, sizeof(struct pagefault));
    pool_init(&k.hop_offers, sizeof(struct hop_offer));
    list_init(&k.pagefaults_open);
    portal_init();
    pages_init();
    list_init(&k.name_waiters);
    registry_init();
    notify_init();
    sched_init();
    fault_init();
    plat_clock_reset();
    plat_ctx_configure(c.switch_kind);
    kbuf_init(&report, report_buf, sizeof report_buf);
    event_stream_start();
    k.started = 1;
    return HS_OK;
}

/* Free every thread, process and stack of the finished run. */
static void teardown(void)
{
    trace_run_end();
    for (uint32_t i = 0; i < pool_slots(&k.levels); i++) {
        struct hs_hop *l = pool_at(&k.levels, i);
        if (l && l->ctx)
            plat_ctx_destroy(l->ctx);
    }
    for (uint32_t i = 0; i < pool_slots(&k.threads); i++) {
        struct thread *t = pool_at(&k.threads, i);
        if (t && t->home.ctx)
            plat_ctx_destroy(t->home.ctx);
    }
    notify_teardown();
    for (uint32_t i = 0; i < pool_slots(&k.procs); i++) {
        struct proc *p = pool_at(&k.procs, i);
        if (p) {
            plat_free(p->caps);
            hop_spare_free(p);
        }
    }
    pool_destroy(&k.threads);
    pool_destroy(&k.procs);
    pool_destroy(&k.ports);
    pool_destroy(&k.levels);
    pool_destroy(&k.checkpoints);
    pool_destroy(&k.caps);
    pool_destroy(&k.gates);
    pool_destroy(&k.irqs);
    /* Their holds went with mem_end(). */
    pool_destroy(&k.chans);
    pool_destroy(&k.chan_ends);
    topic_release();
    pool_destroy(&k.pagefaults);
    pool_destroy(&k.hop_offers);
    portal_release();
    pages_teardown();
    registry_release();
    plat_clock_release();
    plat_stacks_release();
    plat_trace_close();
    trace_close();
}

static void summary_print(const hs_sim_summary *s)
{
    char line[600], seed[24];
    if (s->seed == HS_SEED_NONE)
        kstrlcpy(seed, "none", sizeof seed);
    else
        kfmt(seed, sizeof seed, "%llu", (unsigned long long)s->seed);
    const char *name = hs_strerror(s->status);
    char sname[24];
    size_t n = 0;
    while (name[n] && name[n] != ' ' && n + 1 < sizeof sname) {
        sname[n] = name[n];
        n++;
    }
    sname[n] = '\0';
    struct kbuf b;
    kbuf_init(&b, line, sizeof line);
    kbuf_printf(&b,
                "hopsim: seed=%s events=%llu hash=%016llx vtime=%llu status=%s",
                seed, (unsigned long long)s->events,
                (unsigned long long)s->hash, (unsigned long long)s->vtime,
                sname);
    if (s->seed != HS_SEED_NONE && s->strategy == HS_STRATEGY_PCT)
        kbuf_printf(&b, " strategy=pct depth=%u steps=%llu", s->pct_depth,
                    (unsigned long long)s->pct_steps);
    if (s->nfaults) {
        kbuf_printf(&b, " faults=");
        fault_describe(s->faults, s->nfaults, &b);
    }
    kbuf_printf(&b, "\n");
    plat_print(line);
}

hs_status hs_sim_run(void)
{
    if (!k.started || k.running || plat_cpu_id() >= 0)
        return HS_ESTATE;
    static const struct plat_hooks hooks = {
        .stack_overflow = on_stack_overflow,
    };
    k.running = 1;
    hs_status st = plat_cpus_run(k.cfg.ncpus, &hooks, cpu_main);
    if (st != HS_OK)
        k.end_status = st;
    k.running = 0;
    k.end_status = mem_end(k.end_status);

    last = (hs_sim_summary){
        .status = k.end_status, .seed = k.seed, .events = kevents.count,
        .hash = kevents.hash, .vtime = plat_clock_now(), .switches = k.switches,
        .threads_created = k.threads_created,
        .procs_created = k.procs_created,
        .sched_points = k.sched_points, .strategy = k.strategy,
        .pct_depth = k.pct_depth, .pct_steps = k.pct_steps,
        .nfaults = k.nfaults,
    };
    memcpy(last.faults, k.faults, sizeof last.faults);
    have_last = 1;
    teardown();
    k.started = 0;
    if (!k.cfg.quiet)
        summary_print(&last);
    return last.status;
}

hs_status hs_sim_summary_get(hs_sim_summary *out)
{
    if (!out)
        return HS_EINVAL;
    if (!have_last)
        return HS_ESTATE;
    *out = last;
    return HS_OK;
}

const char *hs_sim_report(void)
{
    return report.buf ? report.buf : "";
}

hs_time_t hs_time_now(void)
{
    return plat_clock_now();
}
