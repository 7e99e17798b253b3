/*
 * tests/bench/bench_base.c - the machine's own limits, the baselines that
 * hopsim's figures are divided by.
 *
 *   base_call          an empty function call that is not inlined
 *   base_switch        round trip between two contexts with the cheapest
 *                      switch (coswitch_x86_64.S: callee-saved registers
 *                      and the stack pointer, then jump)
 *   base_swapcontext   round trip between two contexts with glibc
 *                      swapcontext (a signal-mask system call each way)
 *   base_futex         round trip between two pthreads pinned to the same
 *                      core, each waking the other with a futex
 *   base_pipe          round trip between two pthreads pinned to the same
 *                      core, one byte each way over two pipes
 *   base_memcpy_2m     memcpy of 2 MiB between two resident buffers
 *
 * All of it is written for this project, none of it uses hopsim, and all of
 * it runs on the core bench_init() pinned the program to.
 */
#include <linux/futex.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

#include "bench.h"

#define CO_STACK_SIZE ((size_t)64 * 1024)

/* ---- base_call ----------------------------------------------------------- */

/* Empty, but the compiler may neither inline it nor drop the call: the
 * asm is a side effect it cannot see through. */
__attribute__((noinline)) static void empty_function(void)
{
    __asm__ volatile("");
}

static void loop_call(void *arg, uint64_t iters)
{
    (void)arg;
    for (uint64_t i = 0; i < iters; i++)
        empty_function();
}

/* ---- base_switch ----------------------------------------------------------- */

void bench_coswitch(void **save_sp, void *load_sp);

static void *main_sp, *co_sp;

/* The other side of every round trip: switch straight back. */
static _Noreturn void co_bounce(void)
{
    for (;;)
        bench_coswitch(&co_sp, main_sp);
}

/* Lay out a fresh stack as bench_coswitch expects to find it. */
static void *co_stack_init(char *stack, size_t size, void (*entry)(void))
{
    uintptr_t top = ((uintptr_t)stack + size) & ~(uintptr_t)15;
    void **sp = (void **)top;
    *--sp = NULL;                       /* entry's return address: none */
    *--sp = (void *)(uintptr_t)entry;   /* where the first switch returns */
    for (int i = 0; i < 6; i++)
        *--sp = NULL;                   /* rbp, rbx, r12-r15 */
    return sp;
}

static void loop_switch(void *arg, uint64_t iters)
{
    (void)arg;
    for (uint64_t i = 0; i < iters; i++)
        bench_coswitch(&main_sp, co_sp);
}

/* ---- base_swapcontext -------------------------------------------------------- */

static ucontext_t main_uc, co_uc;

static void uc_bounce(void)
{
    for (;;)
        swapcontext(&co_uc, &main_uc);
}

static void loop_swapcontext(void *arg, uint64_t iters)
{
    (void)arg;
    for (uint64_t i = 0; i < iters; i++)
        swapcontext(&main_uc, &co_uc);
}

/* ---- base_futex ------------------------------------------------------------ */

/* Whose turn it is: 0 the main thread's, 1 the partner's, 2 the partner
 * is to stop. */
static atomic_int turn;

static void futex_wait(atomic_int *addr, int val)
{
    syscall(SYS_futex, addr, FUTEX_WAIT_PRIVATE, val, NULL, NULL, 0);
}

static void futex_wake(atomic_int *addr)
{
    syscall(SYS_futex, addr, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

static void *futex_partner(void *arg)
{
    (void)arg;
    bench_pin(bench_cpu());
    for (;;) {
        int t;
        while ((t = atomic_load(&turn)) == 0)
            futex_wait(&turn, 0);
        if (t == 2)
            return NULL;
        atomic_store(&turn, 0);
        futex_wake(&turn);
    }
}

static void loop_futex(void *arg, uint64_t iters)
{
    (void)arg;
    for (uint64_t i = 0; i < iters; i++) {
        atomic_store(&turn, 1);
        futex_wake(&turn);
        while (atomic_load(&turn) == 1)
            futex_wait(&turn, 1);
    }
}

/* ---- base_pipe ------------------------------------------------------------- */

static int to_partner[2], from_partner[2];

static void *pipe_partner(void *arg)
{
    (void)arg;
    bench_pin(bench_cpu());
    char c;
    while (read(to_partner[0], &c, 1) == 1) {
        if (write(from_partner[1], &c, 1) != 1)
            break;
    }
    return NULL;
}

static void loop_pipe(void *arg, uint64_t iters)
{
    int *errors = arg;
    char c = 'x';
    for (uint64_t i = 0; i < iters; i++) {
        if (write(to_partner[1], &c, 1) != 1 ||
            read(from_partner[0], &c, 1) != 1)
            (*errors)++;
    }
}

/* ---- base_memcpy_2m ----------------------------------------------------------- */

#define COPY_SIZE ((size_t)2 * 1024 * 1024)

struct copy {
    char *src, *dst;
};

static void loop_memcpy(void *arg, uint64_t iters)
{
    struct copy *c = arg;
    for (uint64_t i = 0; i < iters; i++) {
        memcpy(c->dst, c->src, COPY_SIZE);
        BENCH_KEEP(c->dst);
    }
}

/* ---- the lines ----------------------------------------------------------------- */

static struct bench_samples samples;

static void run_call(void)
{
    struct bench_plan plan = BENCH_PLAN_DEFAULT;
    bench_measure(loop_call, NULL, &plan, &samples);
    bench_report("base_call", "ns/op", &samples, NULL, NULL);
}

static void run_switch(void)
{
    static char stack[CO_STACK_SIZE] __attribute__((aligned(16)));
    co_sp = co_stack_init(stack, sizeof stack, co_bounce);
    struct bench_plan plan = BENCH_PLAN_DEFAULT;
    bench_measure(loop_switch, NULL, &plan, &samples);
    bench_report("base_switch", "ns/op", &samples,
                 "round trip = 2 switches", NULL);
}

static void run_swapcontext(void)
{
    static char stack[CO_STACK_SIZE] __attribute__((aligned(16)));
    if (getcontext(&co_uc) != 0) {
        bench_fail("base_swapcontext", "getcontext failed");
        return;
    }
    co_uc.uc_stack.ss_sp = stack;
    co_uc.uc_stack.ss_size = sizeof stack;
    co_uc.uc_link = NULL;
    makecontext(&co_uc, uc_bounce, 0);
    struct bench_plan plan = BENCH_PLAN_DEFAULT;
    bench_measure(loop_swapcontext, NULL, &plan, &samples);
    bench_report("base_swapcontext", "ns/op", &samples,
                 "round trip = 2 swapcontext calls", NULL);
}

/* Run loop against a partner thread pinned to our core. */
static void run_partnered(const char *name, void *(*partner)(void *),
                          bench_loop_fn loop, void *arg, void (*stop)(void))
{
    pthread_t th;
    if (pthread_create(&th, NULL, partner, NULL) != 0) {
        bench_fail(name, "cannot start the partner thread");
        return;
    }
    struct bench_plan plan = BENCH_PLAN_DEFAULT;
    plan.reps = 50;     /* each round trip costs microseconds */
    bench_measure(loop, arg, &plan, &samples);
    stop();
    pthread_join(th, NULL);
    char note[64];
    snprintf(note, sizeof note, "both threads pinned to CPU %d",
             bench_cpu());
    bench_report(name, "ns/op", &samples, note, NULL);
}

static void futex_stop(void)
{
    atomic_store(&turn, 2);
    futex_wake(&turn);
}

static void run_futex(void)
{
    atomic_store(&turn, 0);
    run_partnered("base_futex", futex_partner, loop_futex, NULL, futex_stop);
}

static void pipe_stop(void)
{
    close(to_partner[1]);       /* the partner reads end-of-file */
}

static void run_pipe(void)
{
    int errors = 0;
    if (pipe(to_partner) != 0 || pipe(from_partner) != 0) {
        bench_fail("base_pipe", "pipe() failed");
        return;
    }
    run_partnered("base_pipe", pipe_partner, loop_pipe, &errors, pipe_stop);
    close(to_partner[0]);
    close(from_partner[0]);
    close(from_partner[1]);
    if (errors)
        bench_fail("base_pipe", "%d short reads or writes", errors);
}

static void run_memcpy(void)
{
    struct copy c = {aligned_alloc(4096, COPY_SIZE),
                     aligned_alloc(4096, COPY_SIZE)};
    if (!c.src || !c.dst) {
        bench_fail("base_memcpy_2m", "out of memory");
    } else {
        memset(c.src, 0x5a, COPY_SIZE);     /* both resident */
        memset(c.dst, 0, COPY_SIZE);
        struct bench_plan plan = BENCH_PLAN_DEFAULT;
        plan.reps = 50;
        bench_measure(loop_memcpy, &c, &plan, &samples);
        bench_report("base_memcpy_2m", "ns/op", &samples, NULL, NULL);
    }
    free(c.src);
    free(c.dst);
}

int main(int argc, char **argv)
{
    bench_init(argc, argv, "bench_base");
    if (bench_wanted("base_call"))
        run_call();
    if (bench_wanted("base_switch"))
        run_switch();
    if (bench_wanted("base_swapcontext"))
        run_swapcontext();
    if (bench_wanted("base_futex"))
        run_futex();
    if (bench_wanted("base_pipe"))
        run_pipe();
    if (bench_wanted("base_memcpy_2m"))
        run_memcpy();
    return bench_finish();
}
