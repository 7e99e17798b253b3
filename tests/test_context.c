/*
 * tests/test_context.c - the platform's contexts and stacks, seen through
 * the public API: both switch implementations give the same run, thread
 * stacks are usable and ABI-aligned, per-thread FP control state survives
 * switches, a stack overflow hits the guard page and ends the run with
 * a panic that names the thread (in an arena with guard regions too),
 * stacks are carved from arenas and reused without asking the host,
 * idle stacks go back to the host in bulk, and (under ASan) a stack given
 * back to the host leaves no sanitizer poison behind.  Simulated CPUs are
 * host threads named cpu0, cpu1, ...
 */
#include "testutil.h"

#include <pthread.h>
#include <stdatomic.h>

#include "sim/asan.h"
#include "sim/platform.h"

#if defined(__x86_64__)
#include <xmmintrin.h>
#endif

static const hs_switch_kind kinds[2] = { HS_SWITCH_FAST, HS_SWITCH_UCONTEXT };

/* ---- the same run with both switches */

static struct tu_log *mix_log;
static const int mix_prio[6] = { 16, 16, 18, 16, 14, 16 };

static int mixed_worker(void *arg)
{
    int id = tu_arg_id(arg);
    for (int round = 0; round < 5; round++) {
        tu_log_add(mix_log, id * 10 + round);
        if ((round + id) % 2)
            EXPECT_ST(hs_thread_yield(), HS_OK);
        else
            EXPECT_ST(hs_thread_sleep((hs_time_t)(id + 1) * HS_USEC), HS_OK);
    }
    return id;
}

static int mixed_main(void *arg)
{
    (void)arg;
    hs_tid_t t[6] = { 0 };
    for (int i = 0; i < 6; i++) {
        hs_thread_attr a = { .priority = mix_prio[i] };
        EXPECT_ST(hs_thread_create(mixed_worker, tu_id_arg(i), &a, &t[i]),
                  HS_OK);
    }
    for (int i = 5; i >= 0; i--) {
        int v = -1;
        EXPECT_ST(hs_thread_join(t[i], HS_NEVER, &v), HS_OK);
        tu_log_add(mix_log, 100 + v);
    }
    return 0;
}

static hs_sim_summary run_mixed(hs_switch_kind kind, uint64_t seed,
                                struct tu_log *log)
{
    tu_log_reset(log);
    mix_log = log;
    hs_sim_config cfg = tu_config();
    cfg.switch_kind = kind;
    cfg.seed = seed;
    assert_int_equal(tu_run(&cfg, "mixed", mixed_main, NULL, NULL), HS_OK);
    assert_no_bad_status();
    assert_int_equal(tu_log_len(log), 6 * 5 + 6);
    return tu_summary();
}

static struct tu_log fast_log, ucontext_log;

static void test_fast_and_ucontext_switches_give_identical_runs(void **state)
{
    (void)state;
    const uint64_t seeds[3] = { HS_SEED_NONE, 3, 1234567 };
    for (int s = 0; s < 3; s++) {
        hs_sim_summary f = run_mixed(HS_SWITCH_FAST, seeds[s], &fast_log);
        hs_sim_summary u = run_mixed(HS_SWITCH_UCONTEXT, seeds[s],
                                     &ucontext_log);
        assert_true(tu_log_equal(&fast_log, &ucontext_log));
        tu_assert_same_run(&f, &u);
        /* Running costs no virtual time: the run lasts as long as the
         * longest sum of one thread's sleeps (thread 4: 3 x 5 us). */
        assert_true(f.vtime == 15 * HS_USEC);
    }
}

/* ---- stacks are aligned and usable */

static int aligned[4];
static char printed[2][64];
static int depth_sum[2];

/* The frame address of a function entered by a call is 16-byte aligned
 * when the stack was aligned per the ABI at the call. */
static __attribute__((noinline)) int frame_is_aligned(void)
{
    char *volatile frame = __builtin_frame_address(0);
    return ((uintptr_t)frame % 16) == 0;
}

static int check_stack(void *arg)
{
    int k = tu_arg_id(arg);
    volatile char seed = 0;
    aligned[k] = frame_is_aligned();
    EXPECT_ST(hs_thread_yield(), HS_OK);
    aligned[k + 2] = frame_is_aligned();
    volatile double x = 1.5 + k;
    snprintf(printed[k], sizeof printed[k], "%.3f %g", x, x * 2);
    /* 8 KiB of a 16 KiB stack. */
    depth_sum[k] = tu_dive(7, &seed);
    return 0;
}

static int stack_main(void *arg)
{
    (void)arg;
    hs_tid_t t[2] = { 0 };
    hs_thread_attr a = { .stack_size = HS_STACK_MIN };
    for (int k = 0; k < 2; k++)
        EXPECT_ST(hs_thread_create(check_stack, tu_id_arg(k), &a, &t[k]),
                  HS_OK);
    for (int k = 0; k < 2; k++)
        EXPECT_ST(hs_thread_join(t[k], HS_NEVER, NULL), HS_OK);
    return 0;
}

static void test_thread_stacks_are_aligned_and_usable_with_both_switches(
    void **state)
{
    (void)state;
    for (int s = 0; s < 2; s++) {
        memset(aligned, 0, sizeof aligned);
        memset(printed, 0, sizeof printed);
        depth_sum[0] = depth_sum[1] = -1;
        hs_sim_config cfg = tu_config();
        cfg.switch_kind = kinds[s];
        assert_int_equal(tu_run(&cfg, "stacks", stack_main, NULL, NULL),
                         HS_OK);
        assert_no_bad_status();
        for (int i = 0; i < 4; i++)
            assert_int_equal(aligned[i], 1);
        assert_string_equal(printed[0], "1.500 3");
        assert_string_equal(printed[1], "2.500 5");
        assert_int_equal(depth_sum[0], 8 + 7 * 8 / 2);  /* 8, then 7..1 */
        assert_int_equal(depth_sum[1], 8 + 7 * 8 / 2);
    }
}

/* ---- FP control state is per thread */

#define RC_MASK 0x6000u     /* MXCSR rounding control */
#define RC_UP   0x4000u

#if defined(__x86_64__)
static const int have_mxcsr = 1;

static unsigned read_rc(void)
{
    return _mm_getcsr() & RC_MASK;
}

static void set_rc(unsigned rc)
{
    _mm_setcsr((_mm_getcsr() & ~RC_MASK) | rc);
}
#else
static const int have_mxcsr = 0;

static unsigned read_rc(void)
{
    return 0;
}

static void set_rc(unsigned rc)
{
    (void)rc;
}
#endif

static unsigned rc_seen[3];

static int round_up_then_yield(void *arg)
{
    (void)arg;
    unsigned saved = read_rc();
    set_rc(RC_UP);
    EXPECT_ST(hs_thread_yield(), HS_OK);
    rc_seen[0] = read_rc();
    set_rc(saved);
    return 0;
}

static int look_at_rounding(void *arg)
{
    (void)arg;
    rc_seen[1] = read_rc();
    EXPECT_ST(hs_thread_yield(), HS_OK);
    rc_seen[2] = read_rc();
    return 0;
}

static int rounding_main(void *arg)
{
    (void)arg;
    hs_tid_t a = 0, b = 0;
    EXPECT_ST(hs_thread_create(round_up_then_yield, NULL, NULL, &a), HS_OK);
    EXPECT_ST(hs_thread_create(look_at_rounding, NULL, NULL, &b), HS_OK);
    EXPECT_ST(hs_thread_join(a, HS_NEVER, NULL), HS_OK);
    EXPECT_ST(hs_thread_join(b, HS_NEVER, NULL), HS_OK);
    return 0;
}

static void test_fp_rounding_mode_stays_with_its_thread_with_both_switches(
    void **state)
{
    (void)state;
    if (!have_mxcsr)
        skip();
    unsigned before = read_rc();
    for (int s = 0; s < 2; s++) {
        rc_seen[0] = rc_seen[1] = rc_seen[2] = 0xffff;
        hs_sim_config cfg = tu_config();
        cfg.switch_kind = kinds[s];
        assert_int_equal(tu_run(&cfg, "fpenv", rounding_main, NULL, NULL),
                         HS_OK);
        assert_no_bad_status();
        assert_int_equal(rc_seen[0], RC_UP);     /* kept across its yield */
        assert_int_equal(rc_seen[1], 0);         /* not inherited */
        assert_int_equal(rc_seen[2], 0);
        assert_int_equal(read_rc(), before);     /* the test's own thread */
    }
}

/* ---- stack overflow */

static int dive_returned;

static int diver(void *arg)
{
    (void)arg;
    volatile char seed = 0;
    int r = tu_dive(10000, &seed);
    dive_returned = 1 + (r & 1);            /* must never run */
    return r;
}

static int overflow_main(void *arg)
{
    (void)arg;
    hs_tid_t t = 0;
    hs_thread_attr a = { .name = "deep-diver", .stack_size = HS_STACK_MIN };
    EXPECT_ST(hs_thread_create(diver, NULL, &a, &t), HS_OK);
    EXPECT_ST(hs_thread_join(t, HS_NEVER, NULL), HS_OK);
    return 0;
}

static void run_overflow(hs_switch_kind kind)
{
    dive_returned = 0;
    hs_sim_config cfg = tu_config();
    cfg.switch_kind = kind;
    assert_int_equal(tu_run(&cfg, "overflow", overflow_main, NULL, NULL),
                     HS_EPANIC);
    assert_int_equal(dive_returned, 0);
    assert_int_equal(tu_summary().status, HS_EPANIC);
    assert_report_has("stack overflow");
    assert_report_has("deep-diver");
}

/*
 * The overflow tests are skipped under Valgrind (HOPSIM_UNDER_VALGRIND set
 * by `make memcheck`): Valgrind delivers the guard-page fault on its own
 * terms (it reports the overflow itself and may kill the process) instead
 * of running hopsim's SIGSEGV handler on the signal stack.  They are
 * skipped under ASan too (see tu_guard_faults_testable()).
 */
static void test_stack_overflow_hits_guard_page_and_panics_fast_switch(
    void **state)
{
    (void)state;
    if (!tu_guard_faults_testable())
        skip();
    run_overflow(HS_SWITCH_FAST);
}

static void test_stack_overflow_hits_guard_page_and_panics_ucontext_switch(
    void **state)
{
    (void)state;
    if (!tu_guard_faults_testable())
        skip();
    run_overflow(HS_SWITCH_UCONTEXT);
}

static int after_value[3];

static int after_worker(void *arg)
{
    EXPECT_ST(hs_thread_sleep(HS_USEC), HS_OK);
    return tu_arg_id(arg);
}

static int after_main(void *arg)
{
    (void)arg;
    hs_tid_t t[3] = { 0 };
    for (int i = 0; i < 3; i++)
        EXPECT_ST(hs_thread_create(after_worker, tu_id_arg(i + 20), NULL,
                                   &t[i]), HS_OK);
    for (int i = 0; i < 3; i++)
        EXPECT_ST(hs_thread_join(t[i], HS_NEVER, &after_value[i]), HS_OK);
    return 0;
}

static void test_run_after_stack_overflow_works_normally(void **state)
{
    (void)state;
    if (!tu_guard_faults_testable())
        skip();
    for (int s = 0; s < 2; s++) {
        run_overflow(kinds[s]);
        for (int i = 0; i < 3; i++)
            after_value[i] = -1;
        hs_sim_config cfg = tu_config();
        cfg.switch_kind = kinds[s];
        assert_int_equal(tu_run(&cfg, "after", after_main, NULL, NULL),
                         HS_OK);
        assert_no_bad_status();
        for (int i = 0; i < 3; i++)
            assert_int_equal(after_value[i], i + 20);
        assert_string_equal(hs_sim_report(), "");
        assert_int_equal(tu_summary().threads_created, 4);
    }
}

/* ---- stacks given back to the host carry no sanitizer poison */

static const volatile char *redzone;    /* just past a local array */
static int redzone_on_stack;            /* in the thread's own stack */
static int redzone_was_poisoned;        /* while its frame was live */

/* Blocks inside a frame whose array ASan guards with redzones, until the
 * process ends and kills it: the frame never returns, nor does the thread
 * leave through a noreturn call (before which ASan would clear its
 * stack), so the poison stays on the stack, which the end of the run
 * gives back to the host. */
static __attribute__((noinline)) int sleep_in_guarded_frame(void)
{
    volatile char buf[40];
    buf[0] = 1;
    redzone = buf + sizeof buf;
    /* With detect_stack_use_after_return the array lives on ASan's fake
     * stack instead, far from the frame. */
    intptr_t d = (const char *)__builtin_frame_address(0) -
                 (const char *)redzone;
    redzone_on_stack = d > -65536 && d < 65536;
    redzone_was_poisoned = sim_asan_poisoned((const void *)redzone);
    EXPECT_ST(hs_thread_sleep(HS_SEC), HS_OK);      /* killed first */
    return buf[0];
}

static int poison_sleeper(void *arg)
{
    (void)arg;
    return sleep_in_guarded_frame();
}

static int poison_main(void *arg)
{
    (void)arg;
    EXPECT_ST(hs_thread_create(poison_sleeper, NULL, NULL, NULL), HS_OK);
    EXPECT_ST(hs_thread_sleep(HS_USEC), HS_OK);
    hs_proc_exit(0);
}

static void test_unmapped_stacks_leave_no_asan_poison(void **state)
{
    (void)state;
    if (!sim_asan_on())
        skip();
    for (int s = 0; s < 2; s++) {
        redzone = NULL;
        redzone_on_stack = redzone_was_poisoned = 0;
        hs_sim_config cfg = tu_config();
        cfg.switch_kind = kinds[s];
        assert_int_equal(tu_run(&cfg, "poison", poison_main, NULL, NULL),
                         HS_OK);
        assert_no_bad_status();
        if (!redzone_on_stack)
            skip();
        assert_true(redzone_was_poisoned);
        /* The run has ended: its stacks are unmapped, and the addresses
         * are free for the next mapping to reuse. */
        assert_false(sim_asan_poisoned((const void *)redzone));
    }
}

/* ---- the stack pool's arenas */

/* A wave: create n threads of one stack size before any runs, then join
 * them all, so that n stacks are in use at once. */
struct wave {
    unsigned n;
    unsigned waves;
    plat_stack_stats before[4], after[4];   /* around each wave */
    plat_stack_stats created[4];            /* once all were created */
    unsigned ran;
};

static struct wave *wave;

static int wave_member(void *arg)
{
    (void)arg;
    wave->ran++;
    return 0;
}

static int wave_main(void *arg)
{
    struct wave *w = arg;
    hs_tid_t *t = calloc(w->n, sizeof *t);
    EXPECT_ST(t ? HS_OK : HS_ENOMEM, HS_OK);
    for (unsigned r = 0; t && r < w->waves; r++) {
        plat_stack_stats_get(&w->before[r]);
        for (unsigned i = 0; i < w->n; i++)
            EXPECT_ST(hs_thread_create(wave_member, NULL, NULL, &t[i]),
                      HS_OK);
        plat_stack_stats_get(&w->created[r]);
        for (unsigned i = 0; i < w->n; i++)
            EXPECT_ST(hs_thread_join(t[i], HS_NEVER, NULL), HS_OK);
        plat_stack_stats_get(&w->after[r]);
    }
    free(t);
    return 0;
}

static void run_waves(struct wave *w)
{
    wave = w;
    hs_sim_config cfg = tu_config();
    assert_int_equal(tu_run(&cfg, "waves", wave_main, w, NULL), HS_OK);
    assert_no_bad_status();
    assert_int_equal(w->ran, w->n * w->waves);
}

/* The end of a run gives every arena back to the host. */
static void assert_pool_empty(void)
{
    plat_stack_stats st;
    plat_stack_stats_get(&st);
    assert_int_equal(st.arenas, 0);
    assert_int_equal(st.slots, 0);
    assert_int_equal(st.in_use, 0);
    assert_int_equal(st.idle, 0);
    assert_int_equal(st.dirty, 0);
}

/* 6,000 threads at once (1,000 under Valgrind) come from a few large
 * mappings, and a second wave of as many finds every stack it needs in
 * the pool: not one call to the host, where one mapping per stack (and
 * a cache of 4,096) would map 1,904 stacks again. */
static void test_a_second_wave_of_threads_reuses_stacks_without_host_calls(
    void **state)
{
    (void)state;
    static struct wave w;
    w = (struct wave){.n = tu_under_valgrind() ? 1000 : 6000, .waves = 2};
    run_waves(&w);
    assert_true(w.after[0].arenas * 16 < w.n);
    assert_true(w.after[0].slots >= w.n);
    assert_int_equal(w.after[0].in_use, 1);     /* wave_main's own */
    assert_int_equal(w.after[0].idle, w.n);
    assert_true(w.after[1].host_calls == w.before[1].host_calls);
    assert_pool_empty();
}

/* When more threads end than the pool keeps resident, their pages go back
 * to the host in a few calls over whole runs of stacks, not one per
 * thread, and what stays resident is bounded.  (Not under Valgrind:
 * every guard there is a PROT_NONE page, two memory-map entries a stack,
 * and 20,000 stacks take minutes.) */
static void test_idle_stacks_go_back_to_the_host_in_bulk(void **state)
{
    (void)state;
    if (tu_under_valgrind())
        skip();
    static struct wave w;
    plat_stack_stats st;
    plat_stack_stats_get(&st);
    w = (struct wave){.n = (unsigned)st.dirty_max + 4096, .waves = 1};
    run_waves(&w);
    assert_true(w.after[0].dirty <= w.after[0].dirty_max);
    assert_true(w.after[0].idle + w.after[0].keep_slots >= w.n);
    assert_true(w.after[0].host_calls - w.created[0].host_calls <
                w.n / 32);
    assert_pool_empty();
}

/* An overflow in an arena with guard regions (the arenas made once 16,384
 * stacks are mapped, where the host offers them) panics like one into a
 * PROT_NONE page. */
static struct {
    unsigned idle;
    plat_stack_stats st;
} light;

static int light_idler(void *arg)
{
    (void)arg;
    EXPECT_ST(hs_thread_sleep(HS_SEC), HS_OK);
    return 0;
}

static int light_main(void *arg)
{
    (void)arg;
    hs_thread_attr a = { .name = "idle" };
    for (unsigned i = 0; i < light.idle; i++)
        EXPECT_ST(hs_thread_create(light_idler, NULL, &a, NULL), HS_OK);
    hs_tid_t t = 0;
    hs_thread_attr d = { .name = "deep-diver", .stack_size = HS_STACK_MIN };
    EXPECT_ST(hs_thread_create(diver, NULL, &d, &t), HS_OK);
    plat_stack_stats_get(&light.st);
    EXPECT_ST(hs_thread_join(t, HS_NEVER, NULL), HS_OK);
    return 0;
}

static void test_stack_overflow_in_an_arena_with_guard_regions_panics(
    void **state)
{
    (void)state;
    if (!tu_guard_faults_testable())
        skip();
    light.idle = 16400;
    dive_returned = 0;
    hs_sim_config cfg = tu_config();
    cfg.max_threads_per_proc = light.idle + 2;
    assert_int_equal(tu_run(&cfg, "overflow", light_main, NULL, NULL),
                     HS_EPANIC);
    assert_int_equal(dive_returned, 0);
    assert_report_has("stack overflow");
    assert_report_has("deep-diver");
    assert_true(light.st.slots >= light.idle);
    /* Where the host has guard regions (Linux 6.13), the diver's arena,
     * the first of its stack size, is made with them. */
    if (light.st.light_slots == 0)
        print_message("# guard regions not offered by this host\n");
    else
        assert_true(light.st.light_slots >= 16);
    assert_pool_empty();
}

/* ---- CPUs are named host threads */

static char cpu_name_seen[2][16];
static atomic_int other_ran;
static int spin_timed_out;

/* Holds its CPU in user code (no kernel call) until the other thread has
 * run, which it can only do on the other CPU. */
static int spinner(void *arg)
{
    (void)arg;
    pthread_getname_np(pthread_self(), cpu_name_seen[0], 16);
    for (long i = 0; !atomic_load(&other_ran); i++) {
        if (i > 4000000000L) {      /* far beyond any scheduling delay */
            spin_timed_out = 1;
            break;
        }
    }
    return 0;
}

static int other(void *arg)
{
    (void)arg;
    pthread_getname_np(pthread_self(), cpu_name_seen[1], 16);
    atomic_store(&other_ran, 1);
    return 0;
}

static int two_cpus_main(void *arg)
{
    (void)arg;
    hs_tid_t a = 0, b = 0;
    EXPECT_ST(hs_thread_create(spinner, NULL, NULL, &a), HS_OK);
    EXPECT_ST(hs_thread_create(other, NULL, NULL, &b), HS_OK);
    EXPECT_ST(hs_thread_join(a, HS_NEVER, NULL), HS_OK);
    EXPECT_ST(hs_thread_join(b, HS_NEVER, NULL), HS_OK);
    return 0;
}

static void test_cpus_are_host_threads_named_cpu0_and_cpu1(void **state)
{
    (void)state;
    char before[16] = "", after[16] = "";
    pthread_getname_np(pthread_self(), before, sizeof before);
    memset(cpu_name_seen, 0, sizeof cpu_name_seen);
    atomic_store(&other_ran, 0);
    spin_timed_out = 0;
    hs_sim_config cfg = tu_config();
    cfg.ncpus = 2;
    assert_int_equal(tu_run(&cfg, "cpus", two_cpus_main, NULL, NULL), HS_OK);
    assert_no_bad_status();
    assert_int_equal(spin_timed_out, 0);
    /* The two threads ran at the same time, so on different CPUs. */
    assert_true(strcmp(cpu_name_seen[0], cpu_name_seen[1]) != 0);
    for (int i = 0; i < 2; i++)
        assert_true(strcmp(cpu_name_seen[i], "cpu0") == 0 ||
                    strcmp(cpu_name_seen[i], "cpu1") == 0);
    /* cpu0 was the test's own thread, which gets its name back. */
    pthread_getname_np(pthread_self(), after, sizeof after);
    assert_string_equal(after, before);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        TU_TEST(test_fast_and_ucontext_switches_give_identical_runs),
        TU_TEST(test_cpus_are_host_threads_named_cpu0_and_cpu1),
        TU_TEST(test_thread_stacks_are_aligned_and_usable_with_both_switches),
        TU_TEST(
            test_fp_rounding_mode_stays_with_its_thread_with_both_switches),
        TU_TEST(test_stack_overflow_hits_guard_page_and_panics_fast_switch),
        TU_TEST(
            test_stack_overflow_hits_guard_page_and_panics_ucontext_switch),
        TU_TEST(test_run_after_stack_overflow_works_normally),
        TU_TEST(test_unmapped_stacks_leave_no_asan_poison),
        TU_TEST(
            test_a_second_wave_of_threads_reuses_stacks_without_host_calls),
        TU_TEST(test_idle_stacks_go_back_to_the_host_in_bulk),
        TU_TEST(test_stack_overflow_in_an_arena_with_guard_regions_panics),
    };
    return cmocka_run_group_tests_name("context", tests, NULL, NULL);
}
