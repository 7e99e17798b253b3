/*
 * tests/sweep/selftest.c - scenarios built to fail, one detector of the
 * sweep each, for `sweep --self-test`.  A sweep that reports no failures
 * says something only if each of its detectors is known to fire; each
 * probe here makes one of them fire, and the self-test (sweep.c) passes
 * only if the run is counted, and as that kind alone.
 *
 *   leak-notify      a kernel object outlives the run: a notification
 *                    queued for a thread that serves for ever, so that
 *                    nothing ever runs it (the teardown audit, audit.c);
 *   leak-stack       a simulated stack taken through the platform's
 *                    allocator (the wrapped stack_get) and not given back
 *                    when the run ends (the stack count);
 *   invariant-racy   the racy example's unfixed counter (examples/racy.h),
 *                    over seeds until its own check finds a lost update;
 *   panic-overflow   a thread overflows its stack into the guard page: the
 *                    kernel's stack-overflow panic;
 *   hang-sleeper     a thread sleeps for ever, one virtual second at a
 *                    time: the virtual-time bound stops the run;
 *   hang-deadlock    a thread waits on an IRQ nobody signals: the kernel
 *                    finds the deadlock;
 *   mismatch-host    the run sleeps 1 or 2 ms by a counter of runs the host
 *                    process keeps, which no seed controls: the second
 *                    run of a seed differs from the first.
 */
#include <string.h>

#include "examples/racy.h"
#include "sim/internal.h"

#include "sweep.h"

plat_context *__wrap_stack_get(size_t stack_size);
void __wrap_stack_put(plat_context *ctx);

/* ---- leak: a notification that outlives the run ------------------------- */

static void ignore(void *cookie, const hs_notification *n)
{
    (void)cookie;
    (void)n;
    hs_notify_return();
}

static int serve_forever(void *arg)
{
    (void)arg;
    return hs_proc_serve() == HS_OK ? 0 : 1;
}

/* A core server (slot 0 is not a kernel slot) whose second thread serves
 * at a priority above the first: it is blocked in hs_proc_serve() before
 * the first thread sends it the notification, which its wait never
 * lets run. */
static int keeper(void *arg)
{
    (void)arg;
    hs_thread_attr a = { .name = "server", .priority = HS_PRIO_DEFAULT + 1 };
    hs_tid_t t = 0;
    if (hs_notify_install(0, 0, ignore, NULL) != HS_OK ||
        hs_thread_create(serve_forever, NULL, &a, &t) != HS_OK)
        return 1;
    return hs_notify_send(t, 0, NULL, 0, 0) == HS_OK ? 0 : 1;
}

static hs_status leak_notify_setup(void *arg)
{
    (void)arg;
    hs_proc_attr a = { .privileged = 1 };
    return hs_proc_spawn("keeper", keeper, NULL, &a, NULL);
}

/* ---- leak: a stack not given back --------------------------------------- */

static plat_context *kept_stack;

static int nothing(void *arg)
{
    (void)arg;
    return 0;
}

static hs_status leak_stack_setup(void *arg)
{
    (void)arg;
    kept_stack = __wrap_stack_get(HS_STACK_MIN);
    if (!kept_stack)
        return HS_ENOMEM;
    return hs_proc_spawn("idle", nothing, NULL, NULL, NULL);
}

static void leak_stack_after(void)
{
    if (kept_stack)
        __wrap_stack_put(kept_stack);
    kept_stack = NULL;
}

/* ---- invariant: the racy counter's lost update -------------------------- */

static struct racy_state racy = {.fixed = 0};

static hs_status racy_lost_check(void *arg, hs_status run)
{
    struct racy_state *s = arg;
    if (racy_check(arg, run) != HS_OK)
        return sweep_why("counter %llu, want %d: an increment was lost",
                         (unsigned long long)s->final,
                         RACY_CLIENTS * RACY_ROUNDS);
    return HS_OK;
}

/* ---- panic: a stack overflow -------------------------------------------- */

/* Recurse depth frames of over 1 KiB each, touching both ends of each,
 * so that a stack smaller than depth KiB runs into its guard page; the
 * result depends on every frame, so the recursion cannot be folded. */
static __attribute__((noinline)) int dive(int depth, volatile char *parent)
{
    volatile char buf[1024];
    buf[0] = (char)(parent[0] + 1);
    buf[sizeof buf - 1] = buf[0];
    if (depth <= 0)
        return buf[0];
    return dive(depth - 1, buf) + buf[sizeof buf - 1];
}

static int diver(void *arg)
{
    (void)arg;
    volatile char seed = 0;
    return dive(10000, &seed) & 1;
}

static hs_status panic_setup(void *arg)
{
    (void)arg;
    hs_proc_attr a = { .stack_size = HS_STACK_MIN };
    return hs_proc_spawn("diver", diver, NULL, &a, NULL);
}

/* ---- hangs -------------------------------------------------------------- */

static int sleeper(void *arg)
{
    (void)arg;
    for (;;)
        if (hs_thread_sleep(HS_SEC) != HS_OK)
            return 1;
}

static hs_status sleeper_setup(void *arg)
{
    (void)arg;
    return hs_proc_spawn("sleeper", sleeper, NULL, NULL, NULL);
}

static int waiter(void *arg)
{
    (void)arg;
    hs_cap_t irq = 0;
    if (hs_irq_create(&irq) != HS_OK)
        return 1;
    return hs_irq_wait(irq, HS_NEVER, NULL) == HS_OK ? 0 : 1;
}

static hs_status waiter_setup(void *arg)
{
    (void)arg;
    return hs_proc_spawn("waiter", waiter, NULL, NULL, NULL);
}

/* ---- hash mismatch: a run that depends on the host ---------------------- */

static unsigned host_runs;

static int host_dependent(void *arg)
{
    hs_time_t t = (hs_time_t)(uintptr_t)arg;
    return hs_thread_sleep(t) == HS_OK ? 0 : 1;
}

static hs_status mismatch_setup(void *arg)
{
    (void)arg;
    host_runs++;
    hs_time_t t = (1 + host_runs % 2) * HS_MSEC;
    return hs_proc_spawn("host-dependent", host_dependent,
                         (void *)(uintptr_t)t, NULL, NULL);
}

/* ---- the probes --------------------------------------------------------- */

static hs_status passes(void *arg, hs_status run)
{
    (void)arg;
    return run == HS_OK ? HS_OK
                        : sweep_why("run ended with %s", hs_strerror(run));
}

#define PROBE(n, setup_fn, check_fn, arg_p) \
    {.name = n, .setup = setup_fn, .check = check_fn, .arg = arg_p}

const struct sweep_probe sweep_probes[] = {
    {PROBE("leak-notify", leak_notify_setup, passes, NULL), SWEEP_LEAK,
     1, 0, 0, NULL},
    {PROBE("leak-stack", leak_stack_setup, passes, NULL), SWEEP_LEAK,
     1, 0, 0, leak_stack_after},
    {PROBE("invariant-racy", racy_setup, racy_lost_check, &racy),
     SWEEP_INVARIANT, 1000, 0, 0, NULL},
    {PROBE("panic-overflow", panic_setup, passes, NULL), SWEEP_PANIC,
     1, 0, 1, NULL},
    {PROBE("hang-sleeper", sleeper_setup, passes, NULL), SWEEP_HANG,
     1, 0, 0, NULL},
    {PROBE("hang-deadlock", waiter_setup, passes, NULL), SWEEP_HANG,
     1, 0, 0, NULL},
    {PROBE("mismatch-host", mismatch_setup, passes, NULL), SWEEP_MISMATCH,
     1, 1, 0, NULL},
};
const unsigned sweep_nprobes = sizeof sweep_probes / sizeof sweep_probes[0];
