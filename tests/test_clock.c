/*
 * tests/test_clock.c - the virtual clock: sleeps, timeouts and their order.
 *
 * Every run starts at virtual time 0 and the clock only moves when no
 * thread can run, so each thread can predict exactly when it wakes.
 */
#include "testutil.h"

#include "core/proc.h"
#include "mem/vm.h"

static struct tu_log wake_order;

/* ---- 1,000 sleepers, shuffled */

#define SLEEPERS 1000

static int perm[SLEEPERS];               /* thread i sleeps perm[i] + 1 us */
static hs_time_t woke_at[SLEEPERS];
static int exit_value[SLEEPERS];

/* A fixed shuffle, so that creation order is not deadline order. */
static void shuffle(int *a, int n)
{
    uint64_t x = 0x2545f4914f6cdd1dull;
    for (int i = 0; i < n; i++)
        a[i] = i;
    for (int i = n - 1; i > 0; i--) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        int j = (int)((x >> 33) % (uint64_t)(i + 1));
        int t = a[i];
        a[i] = a[j];
        a[j] = t;
    }
}

static int sleep_own_duration(void *arg)
{
    int i = tu_arg_id(arg);
    EXPECT_ST(hs_thread_sleep((hs_time_t)(perm[i] + 1) * HS_USEC), HS_OK);
    woke_at[i] = hs_time_now();
    tu_log_add(&wake_order, i);
    return i;
}

static hs_entry_fn sleeper_fn;

static int create_sleepers(void *arg)
{
    (void)arg;
    static hs_tid_t tid[SLEEPERS];
    for (int i = 0; i < SLEEPERS; i++) {
        tid[i] = 0;
        EXPECT_ST(hs_thread_create(sleeper_fn, tu_id_arg(i), NULL, &tid[i]),
                  HS_OK);
    }
    for (int i = 0; i < SLEEPERS; i++)
        EXPECT_ST(hs_thread_join(tid[i], HS_NEVER, &exit_value[i]), HS_OK);
    return 0;
}

static hs_status run_sleepers(hs_entry_fn fn)
{
    tu_log_reset(&wake_order);
    for (int i = 0; i < SLEEPERS; i++) {
        woke_at[i] = HS_NEVER;
        exit_value[i] = -1;
    }
    sleeper_fn = fn;
    hs_sim_config cfg = tu_config();
    cfg.stack_size = HS_STACK_MIN;
    return tu_run(&cfg, "sleepers", create_sleepers, NULL, NULL);
}

static void test_sleepers_wake_in_deadline_order_at_exact_time(void **state)
{
    (void)state;
    shuffle(perm, SLEEPERS);
    assert_true(perm[0] != 0 || perm[1] != 1);  /* really shuffled */
    assert_int_equal(run_sleepers(sleep_own_duration), HS_OK);
    assert_no_bad_status();
    assert_int_equal(tu_log_len(&wake_order), SLEEPERS);
    for (int k = 0; k < SLEEPERS; k++) {
        int i = wake_order.v[k];
        assert_in_range(i, 0, SLEEPERS - 1);
        assert_int_equal(perm[i], k);           /* k-th shortest sleep */
    }
    for (int i = 0; i < SLEEPERS; i++) {
        assert_int_equal(woke_at[i], (hs_time_t)(perm[i] + 1) * HS_USEC);
        assert_int_equal(exit_value[i], i);
    }
    hs_sim_summary s = tu_summary();
    assert_int_equal(s.vtime, (hs_time_t)SLEEPERS * HS_USEC);
    assert_int_equal(s.threads_created, SLEEPERS + 1);
    /* Outside a run the clock reads the time the last run ended. */
    assert_int_equal(hs_time_now(), s.vtime);
}

static int sleep_one_second(void *arg)
{
    int i = tu_arg_id(arg);
    EXPECT_ST(hs_thread_sleep(HS_SEC), HS_OK);
    woke_at[i] = hs_time_now();
    tu_log_add(&wake_order, i);
    return i;
}

static void test_thousand_one_second_sleeps_end_at_one_virtual_second(
    void **state)
{
    (void)state;
    assert_int_equal(run_sleepers(sleep_one_second), HS_OK);
    assert_no_bad_status();
    for (int i = 0; i < SLEEPERS; i++) {
        assert_int_equal(woke_at[i], HS_SEC);
        assert_int_equal(exit_value[i], i);
    }
    hs_sim_summary s = tu_summary();
    assert_int_equal(s.vtime, HS_SEC);
    assert_int_equal(s.status, HS_OK);
}

/* ---- equal deadlines */

#define EQUALS 8
static const int pre_ms[EQUALS] = { 5, 0, 3, 7, 1, 6, 2, 4 };
static hs_time_t eq_woke[EQUALS];

/* Sleep first pre_ms[i] ms, then the rest up to 10 ms: every thread has
 * the deadline 10 ms, but they start their last sleep in pre_ms order. */
static int sleep_to_ten_ms(void *arg)
{
    int i = tu_arg_id(arg);
    if (pre_ms[i])
        EXPECT_ST(hs_thread_sleep((hs_time_t)pre_ms[i] * HS_MSEC), HS_OK);
    EXPECT_ST(hs_thread_sleep((hs_time_t)(10 - pre_ms[i]) * HS_MSEC), HS_OK);
    eq_woke[i] = hs_time_now();
    tu_log_add(&wake_order, i);
    return 0;
}

static int create_equal_deadlines(void *arg)
{
    (void)arg;
    hs_tid_t tid[EQUALS] = { 0 };
    for (int i = 0; i < EQUALS; i++)
        EXPECT_ST(hs_thread_create(sleep_to_ten_ms, tu_id_arg(i), NULL,
                                   &tid[i]), HS_OK);
    for (int i = 0; i < EQUALS; i++)
        EXPECT_ST(hs_thread_join(tid[i], HS_NEVER, NULL), HS_OK);
    return 0;
}

static void test_equal_deadlines_wake_in_fifo_order_of_sleeping(void **state)
{
    (void)state;
    tu_log_reset(&wake_order);
    assert_int_equal(tu_run_default("equal", create_equal_deadlines, NULL),
                     HS_OK);
    assert_no_bad_status();
    /* Ordered by pre_ms, i.e. by when each started its last sleep. */
    static const int want[EQUALS] = { 1, 4, 6, 2, 7, 0, 5, 3 };
    assert_log(&wake_order, want, EQUALS);
    for (int i = 0; i < EQUALS; i++)
        assert_int_equal(eq_woke[i], 10 * HS_MSEC);
    assert_int_equal(tu_summary().vtime, 10 * HS_MSEC);
}

/* ---- sleep(0) */

static hs_time_t zero_now[2];

static int sleep_zero_between(void *arg)
{
    int i = tu_arg_id(arg);
    tu_log_add(&wake_order, i);
    EXPECT_ST(hs_thread_sleep(0), HS_OK);
    zero_now[i] = hs_time_now();
    tu_log_add(&wake_order, i + 2);
    return 0;
}

static int record_five(void *arg)
{
    (void)arg;
    tu_log_add(&wake_order, 5);
    return 0;
}

static int create_zero_sleepers(void *arg)
{
    (void)arg;
    hs_tid_t a = 0, b = 0, low = 0;
    hs_thread_attr la = { .priority = HS_PRIO_DEFAULT - 1 };
    EXPECT_ST(hs_thread_create(sleep_zero_between, tu_id_arg(0), NULL, &a),
              HS_OK);
    EXPECT_ST(hs_thread_create(sleep_zero_between, tu_id_arg(1), NULL, &b),
              HS_OK);
    EXPECT_ST(hs_thread_create(record_five, NULL, &la, &low), HS_OK);
    EXPECT_ST(hs_thread_join(a, HS_NEVER, NULL), HS_OK);
    EXPECT_ST(hs_thread_join(b, HS_NEVER, NULL), HS_OK);
    EXPECT_ST(hs_thread_join(low, HS_NEVER, NULL), HS_OK);
    return 0;
}

static void test_sleep_zero_yields_without_moving_the_clock(void **state)
{
    (void)state;
    tu_log_reset(&wake_order);
    zero_now[0] = zero_now[1] = HS_NEVER;
    assert_int_equal(tu_run_default("zero", create_zero_sleepers, NULL),
                     HS_OK);
    assert_no_bad_status();
    /* Like a yield: round-robin between the two, the lower one last. */
    static const int want[] = { 0, 1, 2, 3, 5 };
    assert_log(&wake_order, want, 5);
    assert_int_equal(zero_now[0], 0);
    assert_int_equal(zero_now[1], 0);
    assert_int_equal(tu_summary().vtime, 0);
}

/* ---- timeouts of join and proc_wait */

/* Sleeps arg nanoseconds, returns 7. */
static int sleep_then_seven(void *arg)
{
    EXPECT_ST(hs_thread_sleep((hs_time_t)(uintptr_t)arg), HS_OK);
    return 7;
}

static void *ns_arg(hs_time_t ns)
{
    return (void *)(uintptr_t)ns;
}

static struct {
    hs_time_t t[6];
    int value[4];
} seen;

static void seen_reset(void)
{
    for (int i = 0; i < 6; i++)
        seen.t[i] = HS_NEVER;
    for (int i = 0; i < 4; i++)
        seen.value[i] = -1;
}

static int join_with_short_timeout(void *arg)
{
    (void)arg;
    hs_tid_t t = 0;
    EXPECT_ST(hs_thread_create(sleep_then_seven, ns_arg(10 * HS_MSEC), NULL,
                               &t), HS_OK);
    EXPECT_ST(hs_thread_join(t, 3 * HS_MSEC, &seen.value[0]), HS_ETIMEOUT);
    seen.t[0] = hs_time_now();
    /* The timed-out join left the thread joinable. */
    EXPECT_ST(hs_thread_join(t, HS_NEVER, &seen.value[1]), HS_OK);
    seen.t[1] = hs_time_now();
    return 0;
}

static void test_join_times_out_at_exact_virtual_time(void **state)
{
    (void)state;
    seen_reset();
    assert_int_equal(tu_run_default("jointo", join_with_short_timeout, NULL),
                     HS_OK);
    assert_no_bad_status();
    assert_int_equal(seen.t[0], 3 * HS_MSEC);
    assert_int_equal(seen.value[0], -1);    /* untouched on timeout */
    assert_int_equal(seen.t[1], 10 * HS_MSEC);
    assert_int_equal(seen.value[1], 7);
    assert_int_equal(tu_summary().vtime, 10 * HS_MSEC);
}

static int join_with_long_timeout(void *arg)
{
    (void)arg;
    hs_tid_t t = 0;
    EXPECT_ST(hs_thread_create(sleep_then_seven, ns_arg(2 * HS_MSEC), NULL,
                               &t), HS_OK);
    EXPECT_ST(hs_thread_join(t, 5 * HS_MSEC, &seen.value[0]), HS_OK);
    seen.t[0] = hs_time_now();
    return 0;
}

static void test_join_returns_when_thread_ends_before_timeout(void **state)
{
    (void)state;
    seen_reset();
    assert_int_equal(tu_run_default("joinok", join_with_long_timeout, NULL),
                     HS_OK);
    assert_no_bad_status();
    assert_int_equal(seen.t[0], 2 * HS_MSEC);
    assert_int_equal(seen.value[0], 7);
    /* The cancelled 5 ms timeout does not keep the clock going. */
    assert_int_equal(tu_summary().vtime, 2 * HS_MSEC);
}

static int wait_with_short_timeout(void *arg)
{
    (void)arg;
    hs_pid_t c = 0;
    EXPECT_ST(hs_proc_spawn("child", sleep_then_seven, ns_arg(10 * HS_MSEC),
                            NULL, &c), HS_OK);
    EXPECT_ST(hs_proc_wait(c, 4 * HS_MSEC, &seen.value[0]), HS_ETIMEOUT);
    seen.t[0] = hs_time_now();
    EXPECT_ST(hs_proc_wait(c, HS_NEVER, &seen.value[1]), HS_OK);
    seen.t[1] = hs_time_now();
    return 0;
}

static void test_proc_wait_times_out_at_exact_virtual_time(void **state)
{
    (void)state;
    seen_reset();
    assert_int_equal(tu_run_default("waitto", wait_with_short_timeout, NULL),
                     HS_OK);
    assert_no_bad_status();
    assert_int_equal(seen.t[0], 4 * HS_MSEC);
    assert_int_equal(seen.value[0], -1);
    assert_int_equal(seen.t[1], 10 * HS_MSEC);
    assert_int_equal(seen.value[1], 7);
}

static int nowait_while_alive(void *arg)
{
    (void)arg;
    hs_tid_t t = 0;
    hs_pid_t c = 0;
    EXPECT_ST(hs_thread_create(sleep_then_seven, ns_arg(10 * HS_MSEC), NULL,
                               &t), HS_OK);
    EXPECT_ST(hs_proc_spawn("child", sleep_then_seven, ns_arg(10 * HS_MSEC),
                            NULL, &c), HS_OK);
    EXPECT_ST(hs_thread_join(t, HS_NOWAIT, &seen.value[0]), HS_ETIMEOUT);
    seen.t[0] = hs_time_now();
    EXPECT_ST(hs_proc_wait(c, HS_NOWAIT, &seen.value[1]), HS_ETIMEOUT);
    seen.t[1] = hs_time_now();
    /* Let both block in their sleep, and ask again. */
    EXPECT_ST(hs_thread_yield(), HS_OK);
    EXPECT_ST(hs_thread_join(t, HS_NOWAIT, &seen.value[0]), HS_ETIMEOUT);
    EXPECT_ST(hs_proc_wait(c, HS_NOWAIT, &seen.value[1]), HS_ETIMEOUT);
    seen.t[2] = hs_time_now();
    /* Once they have ended, HS_NOWAIT succeeds. */
    EXPECT_ST(hs_thread_sleep(20 * HS_MSEC), HS_OK);
    EXPECT_ST(hs_thread_join(t, HS_NOWAIT, &seen.value[2]), HS_OK);
    EXPECT_ST(hs_proc_wait(c, HS_NOWAIT, &seen.value[3]), HS_OK);
    seen.t[3] = hs_time_now();
    return 0;
}

static void test_nowait_times_out_at_once_while_target_alive(void **state)
{
    (void)state;
    seen_reset();
    assert_int_equal(tu_run_default("nowait", nowait_while_alive, NULL),
                     HS_OK);
    assert_no_bad_status();
    assert_int_equal(seen.t[0], 0);
    assert_int_equal(seen.t[1], 0);
    assert_int_equal(seen.t[2], 0);
    assert_int_equal(seen.value[0], -1);
    assert_int_equal(seen.value[1], -1);
    assert_int_equal(seen.t[3], 20 * HS_MSEC);
    assert_int_equal(seen.value[2], 7);
    assert_int_equal(seen.value[3], 7);
}

static const hs_time_t bad_timeouts[] = {
    HS_TIMEOUT_MAX + 1,
    (hs_time_t)1 << 63,
    HS_NEVER - 1,
};
#define NBAD (sizeof bad_timeouts / sizeof bad_timeouts[0])

static int bad_timeout_calls(void *arg)
{
    (void)arg;
    hs_tid_t t = 0;
    hs_pid_t c = 0;
    EXPECT_ST(hs_thread_create(sleep_then_seven, ns_arg(HS_MSEC), NULL, &t),
              HS_OK);
    EXPECT_ST(hs_proc_spawn("child", sleep_then_seven, ns_arg(HS_MSEC), NULL,
                            &c), HS_OK);
    for (unsigned i = 0; i < NBAD; i++) {
        EXPECT_ST(hs_thread_join(t, bad_timeouts[i], &seen.value[0]),
                  HS_EINVAL);
        EXPECT_ST(hs_proc_wait(c, bad_timeouts[i], &seen.value[1]),
                  HS_EINVAL);
        EXPECT_ST(hs_thread_sleep(bad_timeouts[i]), HS_EINVAL);
    }
    seen.t[0] = hs_time_now();
    /* Nothing changed: the largest finite timeout is valid and both
     * targets can still be joined / waited for. */
    EXPECT_ST(hs_thread_join(t, HS_TIMEOUT_MAX, &seen.value[2]), HS_OK);
    EXPECT_ST(hs_proc_wait(c, HS_TIMEOUT_MAX, &seen.value[3]), HS_OK);
    seen.t[1] = hs_time_now();
    return 0;
}

static void test_timeouts_between_max_and_never_are_einval(void **state)
{
    (void)state;
    seen_reset();
    assert_int_equal(tu_run_default("badto", bad_timeout_calls, NULL),
                     HS_OK);
    assert_no_bad_status();
    assert_int_equal(seen.t[0], 0);
    assert_int_equal(seen.value[0], -1);
    assert_int_equal(seen.value[1], -1);
    assert_int_equal(seen.value[2], 7);
    assert_int_equal(seen.value[3], 7);
    assert_int_equal(seen.t[1], HS_MSEC);
    assert_int_equal(tu_summary().vtime, HS_MSEC);
}

/* ---- absolute deadlines ---------------------------------------------------- */

static hs_time_t dl_value[8], dl_when[8];
static hs_status dl_status[4];

static int use_deadlines(void *arg)
{
    (void)arg;
    EXPECT_ST(hs_thread_sleep(1000), HS_OK);
    dl_value[0] = hs_deadline(999);             /* passed by 1 ns */
    dl_value[1] = hs_deadline(1000);            /* now */
    dl_value[2] = hs_deadline(1001);
    dl_value[3] = hs_deadline(HS_NEVER);
    dl_value[4] = hs_deadline(HS_NEVER - 1);    /* beyond the longest */
    dl_status[0] = hs_ipc_recv(HS_CAP_NIL, hs_deadline(500), NULL);
    dl_when[0] = hs_time_now();                 /* did not block */
    dl_status[1] = hs_ipc_recv(HS_CAP_NIL, hs_deadline(1500), NULL);
    dl_when[1] = hs_time_now();                 /* gave up at 1500 */
    dl_status[2] = hs_thread_sleep(hs_deadline(1200));
    dl_when[2] = hs_time_now();                 /* passed: no sleep */
    dl_status[3] = hs_thread_sleep(hs_deadline(2000));
    dl_when[3] = hs_time_now();
    return 0;
}

static void test_deadline_gives_the_timeout_to_an_absolute_time(void **state)
{
    (void)state;
    tu_run_one(NULL, "main", use_deadlines, NULL, NULL);
    assert_int_equal(dl_value[0], HS_NOWAIT);
    assert_int_equal(dl_value[1], HS_NOWAIT);
    assert_int_equal(dl_value[2], 1);
    assert_int_equal(dl_value[3], HS_NEVER);
    assert_int_equal(dl_value[4], HS_TIMEOUT_MAX);
    assert_int_equal(dl_status[0], HS_ETIMEOUT);
    assert_int_equal(dl_when[0], 1000);
    assert_int_equal(dl_status[1], HS_ETIMEOUT);
    assert_int_equal(dl_when[1], 1500);
    assert_int_equal(dl_status[2], HS_OK);
    assert_int_equal(dl_when[2], 1500);
    assert_int_equal(dl_status[3], HS_OK);
    assert_int_equal(dl_when[3], 2000);
}

/* ---- a run that panics with timers armed
 *
 * A panic ends the run where it stands: sleepers keep their timers armed,
 * and the end of the run frees those threads and the timer heap.  The
 * panic is provoked as tests/test_mem.c does, by a memory reference the
 * kernel's memory check (cfg.mem_check) finds at the next kernel exit.
 * Freeing the threads before the heap let go of their timers wrote into
 * freed memory: a crash when the host had unmapped it, a report under
 * `make memcheck` or `make asan` whether or not it had. */

#define PANIC_SLEEPERS 8

static int sleeper_woke;

static int sleep_past_the_panic(void *arg)
{
    (void)arg;
    EXPECT_ST(hs_thread_sleep(HS_SEC), HS_OK);
    sleeper_woke++;                         /* never: the run panicked */
    return 0;
}

static int panic_under_sleepers(void *arg)
{
    (void)arg;
    for (int i = 0; i < PANIC_SLEEPERS; i++)
        tu_mk(sleep_past_the_panic, NULL, 0);
    EXPECT_ST(hs_thread_yield(), HS_OK);    /* every sleeper is armed */
    EXPECT_ST(hs_mem_map(0, HS_PAGE_4K, HS_PROT_READ | HS_PROT_WRITE, 0),
              HS_OK);
    frame_ref(0, PS_4K);                    /* a reference nothing holds */
    (void)hs_thread_yield();                /* the memory check panics */
    sleeper_woke += 100;                    /* never */
    return 0;
}

static void test_run_that_panics_with_timers_armed_ends_cleanly(void **state)
{
    (void)state;
    sleeper_woke = 0;
    hs_sim_config cfg = tu_config();
    cfg.mem_size = 64 * HS_PAGE_2M;
    cfg.mem_check = 1;
    assert_int_equal(tu_run(&cfg, "main", panic_under_sleepers, NULL, NULL),
                     HS_EPANIC);
    assert_report_has("memory check");
    assert_int_equal(sleeper_woke, 0);
    assert_int_equal(tu_summary().vtime, 0);
    /* The next run starts with an empty timer heap. */
    tu_run_one(NULL, "main", sleep_past_the_panic, NULL, NULL);
    assert_int_equal(sleeper_woke, 1);
    assert_int_equal(tu_summary().vtime, HS_SEC);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        TU_TEST(test_sleepers_wake_in_deadline_order_at_exact_time),
        TU_TEST(test_thousand_one_second_sleeps_end_at_one_virtual_second),
        TU_TEST(test_equal_deadlines_wake_in_fifo_order_of_sleeping),
        TU_TEST(test_sleep_zero_yields_without_moving_the_clock),
        TU_TEST(test_join_times_out_at_exact_virtual_time),
        TU_TEST(test_join_returns_when_thread_ends_before_timeout),
        TU_TEST(test_proc_wait_times_out_at_exact_virtual_time),
        TU_TEST(test_nowait_times_out_at_once_while_target_alive),
        TU_TEST(test_timeouts_between_max_and_never_are_einval),
        TU_TEST(test_deadline_gives_the_timeout_to_an_absolute_time),
        TU_TEST(test_run_that_panics_with_timers_armed_ends_cleanly),
    };
    return cmocka_run_group_tests_name("clock", tests, NULL, NULL);
}
