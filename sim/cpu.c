/*
 * sim/cpu.c - simulated CPUs, the kernel lock, and the guard-page handler.
 *
 * A simulated CPU is a host thread.  cpu0 is the thread that calls
 * plat_cpus_run() (the test's own thread, so a test asserts right after the
 * run); cpu1.. are pthreads created for the run.  Each runs the kernel's
 * CPU loop on its own stack, which is also the CPU's own context.
 *
 * The kernel lock is one mutex taken on kernel entry; with a single CPU it
 * is never touched, since nothing else could contend for it.
 *
 * While the CPUs run, a fatal signal (SIGSEGV, SIGBUS, SIGFPE, SIGILL,
 * SIGABRT) on a CPU is caught to say which simulated thread crashed,
 * then the process ends with it as it would have without hopsim.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <valgrind/valgrind.h>

#include "sim/internal.h"

#define ALTSTACK_SIZE ((size_t)64 * 1024)

static struct sim_cpu *cpus;
static unsigned ncpus_run;
static const struct plat_hooks *run_hooks;
static void (*run_main)(unsigned);
static _Thread_local struct sim_cpu *this_cpu;
_Thread_local int plat_tls_cpu_id = -1;
_Thread_local int plat_tls_klocked;
_Thread_local void *plat_tls_cpu_data;
int plat_cpus_multi;

static pthread_mutex_t klock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t kick = PTHREAD_COND_INITIALIZER;

/* Reads a thread-local variable: see plat_cpu_id() in platform.h for
 * why it is not inline, not even in a build with link-time
 * optimisation. */
__attribute__((noinline)) struct sim_cpu *sim_cpu_self(void)
{
    return this_cpu;
}

/* The slow halves of plat_klock() and plat_kunlock() (platform.h). */
void plat_klock_shared(void)
{
    pthread_mutex_lock(&klock);
    plat_tls_klocked = 1;
}

void plat_kunlock_shared(void)
{
    plat_tls_klocked = 0;
    pthread_mutex_unlock(&klock);
}

void plat_cpu_data_set(void *d)
{
    plat_tls_cpu_data = d;
}

void plat_cpu_idle(void)
{
    if (!plat_cpus_multi)
        return;
    pthread_cond_wait(&kick, &klock);
}

void plat_cpu_kick_shared(void)
{
    pthread_cond_broadcast(&kick);
}

int plat_under_valgrind(void)
{
    return RUNNING_ON_VALGRIND ? 1 : 0;
}

static void restore_fault_handler(void);

/* The signals of a crash, and the actions they had before the run. */
static const int fatal_signals[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT};
#define NFATAL (sizeof fatal_signals / sizeof fatal_signals[0])
static struct sigaction old_actions[NFATAL];
static int crashing;            /* a crash is being reported */

/* What sig means, for people. */
static const char *signal_meaning(int sig, int code)
{
    switch (sig) {
    case SIGSEGV:
        return "invalid memory reference";
    case SIGBUS:
        return "bus error";
    case SIGFPE:
        return code == FPE_INTDIV ? "integer division by zero"
                                  : "arithmetic fault";
    case SIGILL:
        return "illegal instruction";
    default:
        return "aborted";
    }
}

/* One line on sig: its name, its meaning, the address it concerns and
 * the instruction it hit, e.g.
 *   SIGSEGV (invalid memory reference) at address 0x0, pc 0x4011d6 */
static void signal_describe(int sig, const siginfo_t *info, const void *uctx,
                            char *buf, size_t cap)
{
    static const char *const names[] = {
        [SIGSEGV] = "SIGSEGV", [SIGBUS] = "SIGBUS", [SIGFPE] = "SIGFPE",
        [SIGILL] = "SIGILL", [SIGABRT] = "SIGABRT",
    };
    const ucontext_t *uc = uctx;
    unsigned long pc = (unsigned long)uc->uc_mcontext.gregs[REG_RIP];
    unsigned long addr = (unsigned long)(uintptr_t)info->si_addr;
    const char *what = signal_meaning(sig, info->si_code);
    if (info->si_code <= 0)         /* sent: kill(), raise(), abort() */
        snprintf(buf, cap, "%s (%s) sent by %s, pc 0x%lx", names[sig], what,
                 sig == SIGABRT ? "abort() or kill()" : "kill() or raise()",
                 pc);
    else if (sig == SIGSEGV || sig == SIGBUS)
        snprintf(buf, cap, "%s (%s) at address 0x%lx, pc 0x%lx", names[sig],
                 what, addr, pc);
    else
        snprintf(buf, cap, "%s (%s) at pc 0x%lx", names[sig], what, addr);
}

/* Say where the crash happened: in a simulated thread, through the
 * kernel's hook; on the CPU's own context, here.  On a host thread that
 * is no simulated CPU, nothing: the crash is not the simulation's. */
static void fatal_report(int sig, const siginfo_t *info, const void *uctx,
                         const struct sim_cpu *cpu)
{
    if (!cpu)
        return;
    char what[192];
    signal_describe(sig, info, uctx, what, sizeof what);
    const plat_context *ctx = cpu->current;
    if (ctx && ctx->owner && run_hooks && run_hooks->fatal_signal) {
        if (!plat_tls_klocked)
            plat_klock();
        const plat_crash crash = {.uc = uctx};
        run_hooks->fatal_signal(ctx->owner, what, &crash);
        return;
    }
    char line[320];
    snprintf(line, sizeof line, "hopsim: fatal signal %s on simulated CPU "
             "%d, outside any simulated thread (in the kernel's CPU loop)\n",
             what, plat_tls_cpu_id);
    plat_print(line);
}

/* A fatal signal while the CPUs run.  A SIGSEGV in (or just below) the
 * running context's guard page is a simulated stack overflow: the kernel's
 * hook panics and never returns here.  (A SIGBUS never is one: it may
 * strike a file mapped right below a stack.)  Anything else is a real
 * crash: say where (once, whichever CPU comes first), restore the actions
 * from before the run, and let the signal end the process as usual: a
 * fault repeats when the handler returns; a sent signal is sent again. */
static void on_fault(int sig, siginfo_t *info, void *uctx)
{
    struct sim_cpu *cpu = this_cpu;
    if (sig == SIGSEGV && cpu &&
        stack_guard_hit(cpu->current, info->si_addr) && run_hooks &&
        run_hooks->stack_overflow) {
        if (!plat_tls_klocked)
            plat_klock();
        run_hooks->stack_overflow(cpu->current->owner);
    }
    if (!__atomic_exchange_n(&crashing, 1, __ATOMIC_SEQ_CST))
        fatal_report(sig, info, uctx, cpu);
    restore_fault_handler();
    if (info->si_code <= 0)
        raise(sig);
}

static void install_fault_handler(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_fault;
    /* SA_NODEFER: the handler leaves by switching contexts, never through
     * sigreturn, so the signal must not stay blocked. */
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
    sigemptyset(&sa.sa_mask);
    __atomic_store_n(&crashing, 0, __ATOMIC_SEQ_CST);
    for (size_t i = 0; i < NFATAL; i++)
        sigaction(fatal_signals[i], &sa, &old_actions[i]);
}

static void restore_fault_handler(void)
{
    for (size_t i = 0; i < NFATAL; i++)
        sigaction(fatal_signals[i], &old_actions[i], NULL);
}

/* Run one CPU's loop on the calling host thread, with a signal stack so
 * that a stack overflow can still be handled. */
static void cpu_run(unsigned id)
{
    struct sim_cpu *cpu = &cpus[id];
    this_cpu = cpu;
    plat_tls_cpu_id = (int)id;
    cpu->current = &cpu->self;

    stack_t ss, old_ss;
    memset(&ss, 0, sizeof ss);
    ss.ss_sp = malloc(ALTSTACK_SIZE);
    ss.ss_size = ALTSTACK_SIZE;
    int have_ss = ss.ss_sp && sigaltstack(&ss, &old_ss) == 0;

    run_main(id);

    if (have_ss)
        sigaltstack(&old_ss, NULL);
    free(ss.ss_sp);
    this_cpu = NULL;
    plat_tls_cpu_id = -1;
    plat_tls_cpu_data = NULL;
}

/* CPU threads wait at this gate until every CPU has been created; if one
 * could not be, none runs the kernel. */
static enum { GATE_WAIT, GATE_GO, GATE_ABORT } gate;
static pthread_cond_t gate_cond = PTHREAD_COND_INITIALIZER;
static pthread_mutex_t gate_lock = PTHREAD_MUTEX_INITIALIZER;

static void gate_set(int state)
{
    pthread_mutex_lock(&gate_lock);
    gate = state;
    pthread_cond_broadcast(&gate_cond);
    pthread_mutex_unlock(&gate_lock);
}

static void *cpu_thread(void *arg)
{
    pthread_mutex_lock(&gate_lock);
    while (gate == GATE_WAIT)
        pthread_cond_wait(&gate_cond, &gate_lock);
    int go = gate == GATE_GO;
    pthread_mutex_unlock(&gate_lock);
    if (go)
        cpu_run((unsigned)(uintptr_t)arg);
    return NULL;
}

/* "cpuN" into name (at least 16 bytes). */
static void cpu_name(char *name, unsigned n)
{
    char digits[12];
    unsigned nd = 0, i = 3;
    memcpy(name, "cpu", 3);
    do {
        digits[nd++] = (char)('0' + n % 10);
        n /= 10;
    } while (n);
    while (nd)
        name[i++] = digits[--nd];
    name[i] = '\0';
}

hs_status plat_cpus_run(unsigned ncpus, const struct plat_hooks *hooks,
                        void (*cpu_main)(unsigned cpu))
{
    cpus = calloc(ncpus, sizeof *cpus);
    pthread_t *threads = calloc(ncpus, sizeof *threads);
    if (!cpus || !threads) {
        free(cpus);
        free(threads);
        cpus = NULL;
        return HS_ENOMEM;
    }
    ncpus_run = ncpus;
    run_hooks = hooks;
    run_main = cpu_main;
    plat_cpus_multi = ncpus > 1;

    char old_name[16] = "";
    pthread_getname_np(pthread_self(), old_name, sizeof old_name);
    pthread_setname_np(pthread_self(), "cpu0");
    install_fault_handler();

    hs_status st = HS_OK;
    unsigned started = 1;
    gate = GATE_WAIT;
    for (; started < ncpus; started++) {
        if (pthread_create(&threads[started], NULL, cpu_thread,
                           (void *)(uintptr_t)started) != 0) {
            st = HS_ENOMEM;
            break;
        }
        char name[16];
        cpu_name(name, started);
        pthread_setname_np(threads[started], name);
    }
    gate_set(st == HS_OK ? GATE_GO : GATE_ABORT);
    if (st == HS_OK)
        cpu_run(0);
    for (unsigned i = 1; i < started; i++)
        pthread_join(threads[i], NULL);

    restore_fault_handler();
    pthread_setname_np(pthread_self(), old_name);
    plat_cpus_multi = 0;
    free(threads);
    free(cpus);
    cpus = NULL;
    return st;
}
