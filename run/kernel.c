/*
 * run/kernel.c - starting, running and ending a simulation; kernel entry,
 * exit and panic.
 */
#include <string.h>

#include "core/cap.h"
#include "core/checkpoint.h"
#include "core/fault.h"
#include "core/level.h"
#include "ports/hop.h"
#include "core/kernel.h"
#include "core/sched.h"
#include "mem/vm.h"
#include "notify/notify.h"
#include "observe/trace.h"
#include "ports/port.h"

struct kernel k;
struct kern_state kern;

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
    sched_abandon(self->ctx, plat_cpu_context(), 0);
}

/* ---- calls from outside a simulated thread ------------------------------------ */

/*
 * A public call made outside any simulated thread returns HS_ESTATE.  The
 * first one in the process says so on the console, naming the call, e.g.
 *   hopsim: hs_hop() called outside a simulated thread (no simulation is
 *   running): it returns HS_ESTATE; call it from a thread started by ...
 * The call is named by the function its return address returns into.
 * This runs only on that error path, never on kernel_enter()'s fast path.
 */

/* Calls that serve the host outside a run too (a NULL from
 * kernel_enter() then is no mistake), and calls that say why
 * themselves. */
static const char *const outside_quiet[] = {
    "hs_mem_stats_get", "hs_mem_check", "hs_thread_exit", "hs_proc_exit",
};

/* The public call that return address ra returns into, into name (its
 * symbol without a compiler suffix such as ".constprop.0"): 0, or -1
 * when it has no hs_ name. */
static int outside_call_name(const void *ra, char *name, size_t len)
{
    if (plat_symbol_of_return(ra, name, len) != 0 ||
        strncmp(name, "hs_", 3) != 0)
        return -1;
    char *dot = strchr(name, '.');
    if (dot)
        *dot = '\0';
    return 0;
}

static int outside_allowed(const char *name)
{
    for (size_t i = 0; i < sizeof outside_quiet / sizeof outside_quiet[0]; i++)
        if (strcmp(name, outside_quiet[i]) == 0)
            return 1;
    return 0;
}

/* Why the caller is outside: the state of the run. */
static const char *outside_why(void)
{
    if (!kern.running)
        return k.started ? "before hs_sim_run()" : "no simulation is running";
    if (plat_cpu_id() < 0)
        return "on a host thread that is not a simulated CPU";
    return "on a simulated CPU between threads, e.g. in an event callback";
}

/* The error path of kernel entry; ra is the return address into the
 * public call.  The first call outside a thread that is not one of the
 * quiet ones says so, once. */
static struct thread *outside(const void *ra)
{
    static int said;
    char name[KFMT_NAME];
    if (__atomic_load_n(&said, __ATOMIC_RELAXED) ||
        outside_call_name(ra, name, sizeof name) != 0 ||
        outside_allowed(name) ||
        __atomic_exchange_n(&said, 1, __ATOMIC_RELAXED))
        return NULL;
    char line[KFMT_LINE];
    kfmt(line, sizeof line, "hopsim: %s() called outside a simulated thread "
         "(%s): it returns HS_ESTATE; call it from a thread started by "
         "hs_proc_spawn() or hs_thread_create()\n", name, outside_why());
    plat_print(line);
    return NULL;
}

__attribute__((noinline, cold)) struct thread *kernel_enter_outside(void)
{
    return outside(__builtin_return_address(0));
}

struct thread *kernel_enter_slow(struct kcpu *c)
{
    plat_klock();
    struct thread *self = c->current;
    if (!self) {
        plat_kunlock();
        return outside(__builtin_return_address(0));
    }
    if (kern.ending)
        abandon(self);
    if (self->attn & KATTN_KILLED)
        thread_exit(self, self->proc->exit_status);
    if (self->attn & KATTN_UNWIND)
        hop_unwind_self(self);
    return self;
}

void kernel_leave_work(struct thread *self)
{
    if (kern.leave_work & LEAVE_MEM)
        vm_leave();
    if (kern.rq_bits || (self->attn & KATTN_KILLED))
        sched_point(self);
    if (self->attn & KATTN_NOTIFY)
        notify_deliver(self);
    plat_kunlock();
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
    if (!self || !kern.running || !k.cfg.quiet)
        plat_print(report.buf);
    if (!self || !kern.running) {
        plat_print("hopsim: panic outside a simulated thread: abort\n");
        __builtin_trap();
    }
    kern_end();
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

/* ---- a crash in a simulated thread ----------------------------------------- */

#define CRASH_REPORT_MAX (16 * 1024)     /* a crash report, backtraces
                                           included */
static char crash_buf[CRASH_REPORT_MAX];

static void crash_line(void *cookie, const char *line)
{
    kbuf_printf(cookie, "    %s\n", line);
}

/* The process the thread is in, then each it hopped from, e.g.
 *   process 4 'back' (entered via port 'back') <- process 3 'front'
 *   (entered via port 'front') <- process 2 'client' */
static void crash_hop_chain(const struct thread *t, struct kbuf *b)
{
    kbuf_printf(b, "  hop chain, innermost first: ");
    for (const struct hs_level *l = t->top; l; l = l->below) {
        kbuf_printf(b, "process %u '%s'", handle_index(l->proc->obj.handle),
                    l->proc->name);
        if (l->below) {
            kbuf_printf(b, " (entered via ");
            port_describe(l->port, b);
            kbuf_printf(b, ") <- ");
        }
    }
    kbuf_printf(b, "\n");
}

/* The frames of the crashed stack, from the frame the signal struck,
 * then the levels below it as hop_backtrace() writes them. */
static void crash_backtrace(const struct thread *t, const plat_crash *crash,
                            struct kbuf *b)
{
    plat_backtrace_crash(crash, crash_line, b);
    hop_backtrace_levels(t, crash_line, b);
}

/* The platform caught a fatal host signal in a simulated thread: say which
 * thread, in which process, how it got there, and where; the platform
 * then ends the process with the signal.  Printed whatever cfg.quiet
 * says: the process will not live to return a status. */
static void on_fatal_signal(void *owner, const char *what,
                            const plat_crash *crash)
{
    struct thread *t = owner;
    struct kbuf b;
    kbuf_init(&b, crash_buf, sizeof crash_buf);
    kbuf_printf(&b, "hopsim: fatal signal %s\n  in ", what);
    thread_describe(t, &b);
    kbuf_printf(&b, " at vtime %llu ns, seed ",
                (unsigned long long)plat_clock_now());
    if (k.seed == HS_SEED_NONE)
        kbuf_printf(&b, "none\n");
    else
        kbuf_printf(&b, "%llu\n", (unsigned long long)k.seed);
    crash_hop_chain(t, &b);
    kbuf_printf(&b, "  backtrace%s:\n", t->top->below ? " across hops" : "");
    crash_backtrace(t, crash, &b);
    plat_print(crash_buf);
}

/* ---- the CPU loop ---------------------------------------------------------- */

static void run_end(hs_status st)
{
    if (!kern.ending) {
        kern_end();
        k.end_status = st;
    }
    plat_cpu_kick();
}

/* Each simulated CPU runs this on its host thread: run threads until the
 * run ends; idle while other CPUs work; decide the end when every CPU is
 * idle and nothing can run. */
static void cpu_main(unsigned id)
{
    plat_cpu_data_set(&kern.cpu[id]);
    plat_klock();
    while (!kern.ending) {
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
    plat_cpu_data_set(NULL);
}

/* ---- start, run, end --------------------------------------------------------- */

/* ---- configuration ------------------------------------------------------------ */

/*
 * hs_sim_start() refuses a bad configuration with one console line that
 * names the field or variable, its value, and what is allowed, e.g.
 *   hopsim: HOPSIM_SEED='abc' is not a number (want a decimal seed 0..N)
 * printed whatever cfg.quiet says: the caller has no other way to learn
 * which setting was wrong.
 */
static hs_status refuse(hs_status st, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static hs_status refuse(hs_status st, const char *fmt, ...)
{
    char line[KFMT_LINE];
    struct kbuf b;
    kbuf_init(&b, line, sizeof line - 1);   /* room for the newline */
    kbuf_printf(&b, "hopsim: ");
    va_list ap;
    va_start(ap, fmt);
    kbuf_vprintf(&b, fmt, ap);
    va_end(ap);
    line[b.len] = '\n';
    line[b.len + 1] = '\0';
    plat_print(line);
    return st;
}

enum num { NUM_OK, NUM_NOT_A_NUMBER, NUM_TOO_LARGE };

/* A decimal number no larger than max into *out (untouched unless
 * NUM_OK). */
static enum num parse_num(const char *s, uint64_t max, uint64_t *out)
{
    uint64_t v = 0;
    if (!*s)
        return NUM_NOT_A_NUMBER;
    for (const char *p = s; *p; p++)
        if (*p < '0' || *p > '9')
            return NUM_NOT_A_NUMBER;
    for (; *s; s++) {
        uint64_t d = (uint64_t)(*s - '0');
        if (d > max || v > (max - d) / 10)
            return NUM_TOO_LARGE;
        v = v * 10 + d;
    }
    *out = v;
    return NUM_OK;
}

static hs_status config_check_run(const hs_sim_config *c)
{
    if (c->ncpus < 1 || c->ncpus > HS_CPUS_MAX)
        return refuse(HS_EINVAL, "hs_sim_config.ncpus=%u is out of range "
                      "(want 1..%u)", c->ncpus, (unsigned)HS_CPUS_MAX);
    if (c->stack_size < HS_STACK_MIN || c->stack_size > HS_STACK_MAX)
        return refuse(HS_EINVAL, "hs_sim_config.stack_size=%llu is out of "
                      "range (want %llu..%llu bytes)",
                      (unsigned long long)c->stack_size,
                      (unsigned long long)HS_STACK_MIN,
                      (unsigned long long)HS_STACK_MAX);
    if (c->switch_kind < HS_SWITCH_DEFAULT ||
        c->switch_kind > HS_SWITCH_UCONTEXT)
        return refuse(HS_EINVAL, "hs_sim_config.switch_kind=%d is not one of "
                      "HS_SWITCH_DEFAULT, HS_SWITCH_FAST, HS_SWITCH_UCONTEXT",
                      (int)c->switch_kind);
    return HS_OK;
}

/* The name of the first count limit that is 0, or NULL. */
static const char *zero_limit(const hs_sim_config *c)
{
    if (!c->max_procs)
        return "max_procs";
    if (!c->max_threads)
        return "max_threads";
    if (!c->max_threads_per_proc)
        return "max_threads_per_proc";
    if (!c->max_ports)
        return "max_ports";
    if (!c->max_caps)
        return "max_caps";
    return NULL;
}

static hs_status config_check_limits(const hs_sim_config *c)
{
    const char *zero = zero_limit(c);
    if (zero)
        return refuse(HS_EINVAL, "hs_sim_config.%s=0 is out of range "
                      "(want at least 1)", zero);
    if (!c->max_hop_depth || c->max_hop_depth > HS_HOP_DEPTH_MAX)
        return refuse(HS_EINVAL, "hs_sim_config.max_hop_depth=%u is out of "
                      "range (want 1..%u)", c->max_hop_depth,
                      (unsigned)HS_HOP_DEPTH_MAX);
    if (c->hop_stacks > HS_HOP_STACKS_MAX)
        return refuse(HS_EINVAL, "hs_sim_config.hop_stacks=%u is out of range "
                      "(want 0..%u)", c->hop_stacks,
                      (unsigned)HS_HOP_STACKS_MAX);
    return HS_OK;
}

static hs_status config_check_explore(const hs_sim_config *c)
{
    if (c->strategy < HS_STRATEGY_DEFAULT || c->strategy > HS_STRATEGY_PCT)
        return refuse(HS_EINVAL, "hs_sim_config.strategy=%d is not one of "
                      "HS_STRATEGY_DEFAULT, HS_STRATEGY_RANDOM, "
                      "HS_STRATEGY_PCT", (int)c->strategy);
    if (c->pct_depth > HS_PCT_DEPTH_MAX)
        return refuse(HS_EINVAL, "hs_sim_config.pct_depth=%u is out of range "
                      "(want 1..%u, or 0 for HOPSIM_PCT_DEPTH or %u)",
                      c->pct_depth, (unsigned)HS_PCT_DEPTH_MAX,
                      (unsigned)HS_PCT_DEPTH_DEFAULT);
    if (c->fault_window > HS_FAULT_WINDOW_MAX)
        return refuse(HS_EINVAL, "hs_sim_config.fault_window=%u is out of "
                      "range (want 1..%u, or 0 for %u)", c->fault_window,
                      (unsigned)HS_FAULT_WINDOW_MAX,
                      (unsigned)HS_FAULT_WINDOW_DEFAULT);
    if (c->faults != HS_FAULTS_FROM_ENV && (c->faults & ~HS_FAULT_ALL))
        return refuse(HS_EINVAL, "hs_sim_config.faults=0x%x has unknown bits "
                      "0x%x (want HS_FAULT_* bits, or HS_FAULTS_FROM_ENV)",
                      c->faults, c->faults & ~HS_FAULT_ALL);
    return HS_OK;
}

static hs_status config_check_mem(const hs_sim_config *c)
{
    if (!c->mem_size || c->mem_size % HS_PAGE_4K ||
        c->mem_size > HS_MEM_SIZE_MAX)
        return refuse(HS_EINVAL, "hs_sim_config.mem_size=%llu is not a "
                      "multiple of 4096 from 4096 to %llu bytes",
                      (unsigned long long)c->mem_size,
                      (unsigned long long)HS_MEM_SIZE_MAX);
    return HS_OK;
}

/* Check the fields of a configuration, saying which one is wrong. */
static hs_status config_check(const hs_sim_config *c)
{
    hs_status st = config_check_run(c);
    if (st == HS_OK)
        st = config_check_limits(c);
    if (st == HS_OK)
        st = config_check_explore(c);
    if (st == HS_OK)
        st = config_check_mem(c);
    return st;
}

/* An optional word from the environment: *out is the index of its value
 * in words[0..n-1], or -1 when the variable is unset or empty. */
static hs_status env_word(const char *name, const char *const *words,
                          unsigned n, int *out)
{
    const char *s = plat_getenv(name);
    *out = -1;
    if (!s || !*s)
        return HS_OK;
    for (unsigned i = 0; i < n; i++) {
        if (strcmp(s, words[i]) == 0) {
            *out = (int)i;
            return HS_OK;
        }
    }
    char want[KFMT_NOTE];
    struct kbuf b;
    kbuf_init(&b, want, sizeof want);
    for (unsigned i = 0; i < n; i++)
        kbuf_printf(&b, "%s%s", i ? ", " : "", words[i]);
    return refuse(HS_EINVAL, "%s='%s' is not one of %s", name, s, want);
}

/* An optional count from the environment into *v (left as is if the
 * variable is unset or empty): 1..max. */
static hs_status env_count(const char *name, uint64_t max, uint64_t *v)
{
    const char *s = plat_getenv(name);
    uint64_t x = 0;
    if (!s || !*s)
        return HS_OK;
    enum num r = parse_num(s, max, &x);
    if (r == NUM_OK && x) {
        *v = x;
        return HS_OK;
    }
    return refuse(HS_EINVAL, "%s='%s' is %s (want a decimal number 1..%llu)",
                  name, s, r == NUM_NOT_A_NUMBER ? "not a number" :
                  "out of range", (unsigned long long)max);
}

/* HOPSIM_SEED into *seed: HS_SEED_NONE when unset or empty. */
static hs_status env_seed(uint64_t *seed)
{
    const char *s = plat_getenv("HOPSIM_SEED");
    *seed = HS_SEED_NONE;
    if (!s || !*s)
        return HS_OK;
    enum num r = parse_num(s, HS_SEED_MAX, seed);
    if (r == NUM_OK)
        return HS_OK;
    return refuse(HS_EINVAL, "HOPSIM_SEED='%s' is %s (want a decimal seed "
                  "0..%llu)", s, r == NUM_NOT_A_NUMBER ? "not a number" :
                  "too large", (unsigned long long)HS_SEED_MAX);
}

/* HOPSIM_FAULTS names a kind that does not exist: the n bytes at word. */
static hs_status refuse_fault_kind(const char *all, const char *word,
                                   size_t n)
{
    char kind[KFMT_NAME], kinds[KFMT_NOTE];
    kstrlcpy(kind, word, n + 1 < sizeof kind ? n + 1 : sizeof kind);
    struct kbuf b;
    kbuf_init(&b, kinds, sizeof kinds);
    for (unsigned bit = 1; bit & HS_FAULT_ALL; bit <<= 1)
        kbuf_printf(&b, "%s, ", hs_fault_name(bit));
    return refuse(HS_EINVAL, "HOPSIM_FAULTS='%s' has an unknown fault kind "
                  "'%s' (want a comma-separated list of %sall or none)",
                  all, kind, kinds);
}

/* HOPSIM_FAULTS: kind names separated by commas, "all" or "none". */
static hs_status parse_faults(const char *s, unsigned *out)
{
    const char *all = s;
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
                return refuse_fault_kind(all, s, n);
        }
        mask |= kind;
        s += n;
        if (*s == ',')
            s++;
    }
    *out = mask;
    return HS_OK;
}

/* Resolve the exploration settings: strategy, PCT depth and steps,
 * faults, the deadlock graph's file. */
static hs_status config_resolve_explore(hs_sim_config *c, uint64_t seed)
{
    static const char *const strategies[] = {"random", "pct"};
    if (c->strategy == HS_STRATEGY_DEFAULT) {
        int i;
        if (env_word("HOPSIM_STRATEGY", strategies, 2, &i) != HS_OK)
            return HS_EINVAL;
        c->strategy = i == 1 ? HS_STRATEGY_PCT : HS_STRATEGY_RANDOM;
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
    const char *fenv = NULL;
    if (c->faults == HS_FAULTS_FROM_ENV) {
        fenv = plat_getenv("HOPSIM_FAULTS");
        c->faults = 0;
        if (fenv && parse_faults(fenv, &c->faults) != HS_OK)
            return HS_EINVAL;
    }
    if (c->faults && seed == HS_SEED_NONE) {
        /* faults are drawn from the seed */
        if (fenv)
            return refuse(HS_EINVAL, "HOPSIM_FAULTS='%s' needs a seed: faults "
                          "are drawn from it (set HOPSIM_SEED or "
                          "hs_sim_config.seed)", fenv);
        return refuse(HS_EINVAL, "hs_sim_config.faults=0x%x needs a seed: "
                      "faults are drawn from it (set HOPSIM_SEED or "
                      "hs_sim_config.seed)", c->faults);
    }
    if (!c->fault_window)
        c->fault_window = HS_FAULT_WINDOW_DEFAULT;
    if (!c->deadlock_dot) {
        const char *s = plat_getenv("HOPSIM_DEADLOCK_DOT");
        c->deadlock_dot = (s && *s) ? s : NULL;
        /* Written only on a deadlock, and a run that cannot write it still
         * runs: warn now rather than after the run. */
        if (c->deadlock_dot && plat_file_writable(c->deadlock_dot) != HS_OK)
            refuse(HS_OK, "HOPSIM_DEADLOCK_DOT='%s' cannot be written: %s "
                   "(a deadlock's wait-for graph would be lost)",
                   c->deadlock_dot, plat_file_error());
    }
    return HS_OK;
}

/* Where each file setting came from, for messages. */
struct config_origin {
    const char *log, *trace, *msc;
};

/* Take a file path from the environment variable env when *path is NULL;
 * note in *origin which of the two named it. */
static void config_path(const char **path, const char *env,
                        const char *field, const char **origin)
{
    *origin = field;
    if (!*path) {
        const char *s = plat_getenv(env);
        *path = (s && *s) ? s : NULL;
        *origin = env;
    }
}

/* Resolve the settings that come from the environment. */
static hs_status config_resolve(hs_sim_config *c, uint64_t *seed,
                                struct config_origin *o)
{
    static const char *const switches[] = {"fast", "ucontext"};
    static const char *const bools[] = {"0", "1"};
    *seed = c->seed;
    if (c->seed == HS_SEED_FROM_ENV && env_seed(seed) != HS_OK)
        return HS_EINVAL;
    if (c->switch_kind == HS_SWITCH_DEFAULT) {
        int i;
        if (env_word("HOPSIM_SWITCH", switches, 2, &i) != HS_OK)
            return HS_EINVAL;
        c->switch_kind = i == 1 ? HS_SWITCH_UCONTEXT : HS_SWITCH_FAST;
    }
    config_path(&c->log_path, "HOPSIM_LOG", "hs_sim_config.log_path", &o->log);
    config_path(&c->trace_path, "HOPSIM_TRACE", "hs_sim_config.trace_path",
                &o->trace);
    config_path(&c->msc_path, "HOPSIM_MSC", "hs_sim_config.msc_path",
                &o->msc);
    if (!c->mem_check) {
        int i;
        if (env_word("HOPSIM_MEM_CHECK", bools, 2, &i) != HS_OK)
            return HS_EINVAL;
        c->mem_check = i == 1;
    }
    c->stack_size = page_round(c->stack_size);
    return config_resolve_explore(c, *seed);
}

/* Open the event log, the trace and the chart, and reserve the memory
 * pool; on failure say which setting and why, and leave nothing open. */
static hs_status config_open(const hs_sim_config *c,
                             const struct config_origin *o)
{
    if (c->log_path && plat_trace_open(c->log_path) != HS_OK)
        return refuse(HS_EINVAL, "%s='%s' cannot be written: %s", o->log,
                      c->log_path, plat_file_error());
    if ((c->trace_path || c->msc_path) &&
        trace_open(c->trace_path, c->msc_path) != HS_OK) {
        /* trace_open() opens the trace first: if it is open, the chart
         * failed. */
        const char *why = plat_file_error();
        int msc = !c->trace_path || plat_file_error_path() == c->msc_path;
        plat_trace_close();
        return refuse(HS_EINVAL, "%s='%s' cannot be written: %s",
                      msc ? o->msc : o->trace,
                      msc ? c->msc_path : c->trace_path, why);
    }
    hs_status st = mem_start(c->mem_size);
    if (st != HS_OK) {
        plat_trace_close();
        trace_close();
        return refuse(st, "hs_sim_config.mem_size=%llu: the host refused "
                      "the memory pool's address space: %s",
                      (unsigned long long)c->mem_size, hs_strerror(st));
    }
    return HS_OK;
}

hs_status hs_sim_start(const hs_sim_config *cfg)
{
    static const hs_sim_config defaults = HS_SIM_DEFAULTS;
    if (kern.running)
        return refuse(HS_ESTATE, "hs_sim_start() called while a simulation "
                      "runs: it returns HS_ESTATE");
    if (k.started)
        return refuse(HS_ESTATE, "hs_sim_start() called twice: it returns "
                      "HS_ESTATE (hs_sim_run() runs the simulation started "
                      "first)");
    hs_sim_config c = cfg ? *cfg : defaults;
    uint64_t seed;
    struct config_origin origin;
    hs_status st = config_check(&c);
    if (st == HS_OK)
        st = config_resolve(&c, &seed, &origin);
    if (st == HS_OK)
        st = config_open(&c, &origin);
    if (st != HS_OK)
        return st;

    memset(&k, 0, sizeof k);
    memset(&kern, 0, sizeof kern);
    k.cfg = c;
    k.seed = seed;
    k.rng = seed;
    k.strategy = c.strategy;
    k.pct_depth = c.pct_depth;
    k.pct_steps = c.pct_steps;
    k.cap_epoch = 1;                /* above every new capability's 0 */
    plat_ctx_configure(c.switch_kind);
    kern.leave_work = (c.mem_check ? LEAVE_MEM_CHECK : 0) |
                      (c.ncpus > 1 ? LEAVE_SHARED : 0) |
                      (plat_ctx_direct() ? 0 : LEAVE_NO_DIRECT);
    kern.enter_work = c.ncpus > 1 ? ENTER_SHARED : 0;
    kobj_start();
    sched_init();
    fault_init();
    plat_clock_reset();
    kbuf_init(&report, report_buf, sizeof report_buf);
    if (trace_wanted())
        event_stream_start(trace_sink, trace_message_slow);
    else
        event_stream_start(NULL, NULL);
    k.started = 1;
    return HS_OK;
}

/* Free every thread, process and stack of the finished run.  The timer
 * heap goes before the objects: a run that ended in a panic leaves
 * threads' timers armed, and releasing the heap disarms each of them, so
 * they must still be there. */
static void teardown(void)
{
    trace_run_end();
    plat_clock_release();
    kobj_stop();                /* channels' holds went with mem_end() */
    plat_stacks_release();
    plat_trace_close();
    trace_close();
}

static void summary_print(const hs_sim_summary *s)
{
    char line[KFMT_LINE], seed[KFMT_WORD];
    if (s->seed == HS_SEED_NONE)
        kstrlcpy(seed, "none", sizeof seed);
    else
        kfmt(seed, sizeof seed, "%llu", (unsigned long long)s->seed);
    const char *name = hs_strerror(s->status);
    char sname[KFMT_WORD];
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
    if (!k.started || kern.running || plat_cpu_id() >= 0)
        return HS_ESTATE;
    static const struct plat_hooks hooks = {
        .stack_overflow = on_stack_overflow,
        .fatal_signal = on_fatal_signal,
    };
    kern.running = 1;
    hs_status st = plat_cpus_run(k.cfg.ncpus, &hooks, cpu_main);
    if (st != HS_OK)
        k.end_status = st;
    kern.running = 0;
    k.end_status = mem_end(k.end_status);

    last = (hs_sim_summary){
        .status = k.end_status, .seed = k.seed, .events = kevents.count,
        .hash = kevents.hash, .vtime = plat_clock_now(),
        .switches = k.plain_switches + k.direct_switches,
        .direct_switches = k.direct_switches,
        .direct_hops = k.direct_hops,
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

hs_time_t hs_deadline(hs_time_t t)
{
    if (t == HS_NEVER)
        return HS_NEVER;
    hs_time_t now = plat_clock_now();
    if (t <= now)
        return HS_NOWAIT;
    return t - now > HS_TIMEOUT_MAX ? HS_TIMEOUT_MAX : t - now;
}
