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
 */
#include <pthread.h>
#include <signal.h>
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
int plat_cpus_multi;

static pthread_mutex_t klock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t kick = PTHREAD_COND_INITIALIZER;
static struct sigaction old_segv, old_bus;

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
}

void plat_kunlock_shared(void)
{
    pthread_mutex_unlock(&klock);
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

/* SIGSEGV/SIGBUS on a CPU thread.  A hit in the running context's guard
 * page is a simulated stack overflow: the kernel's hook panics and never
 * returns here.  Anything else is a real crash: say which context crashed,
 * restore the previous handler and return, so the fault repeats and the
 * host reports it as usual. */
static void on_fault(int sig, siginfo_t *info, void *uctx)
{
    (void)uctx;
    struct sim_cpu *cpu = this_cpu;
    if (cpu && stack_guard_hit(cpu->current, info->si_addr) && run_hooks &&
        run_hooks->stack_overflow) {
        if (!plat_tls_klocked)
            plat_klock();
        run_hooks->stack_overflow(cpu->current->owner);
    }
    static const char msg[] =
        "hopsim: fatal host signal in a simulated thread\n";
    ssize_t r = write(2, msg, sizeof msg - 1);
    (void)r;
    sigaction(SIGSEGV, &old_segv, NULL);
    sigaction(SIGBUS, &old_bus, NULL);
    (void)sig;
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
    sigaction(SIGSEGV, &sa, &old_segv);
    sigaction(SIGBUS, &sa, &old_bus);
}

static void restore_fault_handler(void)
{
    sigaction(SIGSEGV, &old_segv, NULL);
    sigaction(SIGBUS, &old_bus, NULL);
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
