/*
 * tests/test_thread.c - threads: create, exit, join, identity, limits and
 * the refusal of bad calls.
 *
 * Every refused call must leave the kernel as it was; besides its status
 * each test checks that a following valid call works and that the summary's
 * threads_created counts only the successful creations.
 */
#include "testutil.h"

static int return_arg(void *arg)
{
    return tu_arg_id(arg);
}

/* Sleeps arg nanoseconds, returns 7. */
static int sleep_then_seven(void *arg)
{
    EXPECT_ST(hs_thread_sleep((hs_time_t)(uintptr_t)arg), HS_OK);
    return 7;
}

static int value[16];
static hs_time_t when[4];

static void value_reset(void)
{
    for (int i = 0; i < 16; i++)
        value[i] = -1;
    for (int i = 0; i < 4; i++)
        when[i] = HS_NEVER;
}

/* ---- create, exit, join */

static int join_in_reverse(void *arg)
{
    (void)arg;
    hs_tid_t tid[5] = { 0 };
    for (int i = 0; i < 5; i++)
        EXPECT_ST(hs_thread_create(return_arg, tu_id_arg(i * 11 + 3), NULL,
                                   &tid[i]), HS_OK);
    for (int i = 4; i >= 0; i--)
        EXPECT_ST(hs_thread_join(tid[i], HS_NEVER, &value[i]), HS_OK);
    return 0;
}

static void test_join_returns_each_thread_return_value(void **state)
{
    (void)state;
    value_reset();
    assert_int_equal(tu_run_default("join", join_in_reverse, NULL), HS_OK);
    assert_no_bad_status();
    for (int i = 0; i < 5; i++)
        assert_int_equal(value[i], i * 11 + 3);
    assert_int_equal(tu_summary().threads_created, 6);
}

static int after_exit;

static int exit_from_deep_call(int depth)
{
    if (depth < 0)
        return -1;
    if (depth == 0)
        hs_thread_exit(42);
    int r = exit_from_deep_call(depth - 1);
    after_exit = 1;                         /* must never run */
    return r;
}

static int exit_42(void *arg)
{
    (void)arg;
    int r = exit_from_deep_call(10);
    after_exit = 2;                         /* must never run */
    return r;
}

static int join_exiter(void *arg)
{
    (void)arg;
    hs_tid_t t = 0;
    EXPECT_ST(hs_thread_create(exit_42, NULL, NULL, &t), HS_OK);
    EXPECT_ST(hs_thread_join(t, HS_NEVER, &value[0]), HS_OK);
    return 0;
}

static void test_thread_exit_value_from_nested_call_reaches_joiner(
    void **state)
{
    (void)state;
    value_reset();
    after_exit = 0;
    assert_int_equal(tu_run_default("exit", join_exiter, NULL), HS_OK);
    assert_no_bad_status();
    assert_int_equal(value[0], 42);
    assert_int_equal(after_exit, 0);    /* hs_thread_exit did not return */
}

/* ---- 10,000 threads */

#define MANY 10000
#define BATCH 100

static int many_value[MANY];

static int create_many(void *arg)
{
    (void)arg;
    hs_tid_t tid[BATCH];
    for (int b = 0; b < MANY / BATCH; b++) {
        for (int i = 0; i < BATCH; i++) {
            tid[i] = 0;
            EXPECT_ST(hs_thread_create(return_arg, tu_id_arg(b * BATCH + i),
                                       NULL, &tid[i]), HS_OK);
        }
        for (int i = 0; i < BATCH; i++)
            EXPECT_ST(hs_thread_join(tid[i], HS_NEVER,
                                     &many_value[b * BATCH + i]), HS_OK);
    }
    return 0;
}

static void test_ten_thousand_threads_created_and_joined(void **state)
{
    (void)state;
    for (int i = 0; i < MANY; i++)
        many_value[i] = -1;
    hs_sim_config cfg = tu_config();
    cfg.stack_size = HS_STACK_MIN;
    assert_int_equal(tu_run(&cfg, "many", create_many, NULL, NULL), HS_OK);
    assert_no_bad_status();
    for (int i = 0; i < MANY; i++)
        assert_int_equal(many_value[i], i);
    hs_sim_summary s = tu_summary();
    assert_int_equal(s.threads_created, MANY + 1);
    assert_int_equal(s.procs_created, 1);
    assert_int_equal(s.status, HS_OK);
}

/* ---- join errors */

static int join_twice(void *arg)
{
    (void)arg;
    hs_tid_t t = 0;
    EXPECT_ST(hs_thread_create(return_arg, tu_id_arg(5), NULL, &t), HS_OK);
    EXPECT_ST(hs_thread_join(t, HS_NEVER, &value[0]), HS_OK);
    EXPECT_ST(hs_thread_join(t, HS_NEVER, &value[1]), HS_ESRCH);
    EXPECT_ST(hs_thread_join(t, HS_NOWAIT, &value[1]), HS_ESRCH);
    return 0;
}

static void test_second_join_of_freed_thread_is_esrch(void **state)
{
    (void)state;
    value_reset();
    assert_int_equal(tu_run_default("twice", join_twice, NULL), HS_OK);
    assert_no_bad_status();
    assert_int_equal(value[0], 5);
    assert_int_equal(value[1], -1);
}

static hs_tid_t shared_tid;

static int first_joiner(void *arg)
{
    (void)arg;
    EXPECT_ST(hs_thread_join(shared_tid, HS_NEVER, &value[0]), HS_OK);
    when[0] = hs_time_now();
    return 1;
}

static int join_while_joined(void *arg)
{
    (void)arg;
    hs_tid_t j = 0;
    shared_tid = 0;
    EXPECT_ST(hs_thread_create(sleep_then_seven, (void *)(uintptr_t)HS_MSEC,
                               NULL, &shared_tid), HS_OK);
    EXPECT_ST(hs_thread_create(first_joiner, NULL, NULL, &j), HS_OK);
    /* Let the sleeper start sleeping and the first joiner block. */
    EXPECT_ST(hs_thread_sleep(100), HS_OK);
    EXPECT_ST(hs_thread_join(shared_tid, HS_NEVER, &value[1]), HS_EJOINED);
    EXPECT_ST(hs_thread_join(shared_tid, HS_NOWAIT, &value[1]), HS_EJOINED);
    when[1] = hs_time_now();
    EXPECT_ST(hs_thread_join(j, HS_NEVER, &value[2]), HS_OK);
    return 0;
}

static void test_concurrent_second_joiner_is_ejoined(void **state)
{
    (void)state;
    value_reset();
    assert_int_equal(tu_run_default("joined", join_while_joined, NULL),
                     HS_OK);
    assert_no_bad_status();
    assert_int_equal(when[1], 100);         /* refused at once */
    assert_int_equal(value[1], -1);
    assert_int_equal(value[0], 7);          /* the first joiner got it */
    assert_int_equal(when[0], HS_MSEC);
    assert_int_equal(value[2], 1);
}

static int join_self(void *arg)
{
    (void)arg;
    EXPECT_ST(hs_thread_join(hs_thread_self(), HS_NEVER, &value[0]),
              HS_EDEADLK);
    EXPECT_ST(hs_thread_join(hs_thread_self(), HS_NOWAIT, &value[0]),
              HS_EDEADLK);
    EXPECT_ST(hs_thread_join(hs_thread_self(), HS_MSEC, &value[0]),
              HS_EDEADLK);
    when[0] = hs_time_now();
    return 0;
}

static void test_join_self_is_edeadlk(void **state)
{
    (void)state;
    value_reset();
    assert_int_equal(tu_run_default("self", join_self, NULL), HS_OK);
    assert_no_bad_status();
    assert_int_equal(value[0], -1);
    assert_int_equal(when[0], 0);
}

static hs_tid_t child_main_tid;

static int publish_self_and_sleep(void *arg)
{
    (void)arg;
    child_main_tid = hs_thread_self();
    EXPECT_ST(hs_thread_sleep(HS_MSEC), HS_OK);
    return 3;
}

static int join_other_process(void *arg)
{
    (void)arg;
    hs_pid_t c = 0;
    child_main_tid = 0;
    EXPECT_ST(hs_proc_spawn("other", publish_self_and_sleep, NULL, NULL, &c),
              HS_OK);
    EXPECT_ST(hs_thread_yield(), HS_OK);    /* the child publishes its tid */
    if (child_main_tid == 0)
        return 99;
    EXPECT_ST(hs_thread_join(child_main_tid, HS_NEVER, &value[0]), HS_EPERM);
    EXPECT_ST(hs_thread_set_priority(child_main_tid, 3), HS_EPERM);
    EXPECT_ST(hs_proc_wait(c, HS_NEVER, &value[1]), HS_OK);
    return 0;
}

static void test_join_thread_of_another_process_is_eperm(void **state)
{
    (void)state;
    value_reset();
    assert_int_equal(tu_run_default("joiner", join_other_process, NULL),
                     HS_OK);
    assert_no_bad_status();
    assert_int_equal(value[0], -1);
    assert_int_equal(value[1], 3);          /* the child was not disturbed */
}

static int join_unknown(void *arg)
{
    (void)arg;
    hs_tid_t old = 0, fresh = 0;
    EXPECT_ST(hs_thread_join(0, HS_NEVER, &value[0]), HS_ESRCH);
    EXPECT_ST(hs_thread_join(0x7654321, HS_NEVER, &value[0]), HS_ESRCH);
    EXPECT_ST(hs_thread_create(return_arg, tu_id_arg(1), NULL, &old), HS_OK);
    EXPECT_ST(hs_thread_join(old, HS_NEVER, &value[1]), HS_OK);
    /* A new thread may reuse the slot; the stale handle must not reach
     * it. */
    EXPECT_ST(hs_thread_create(return_arg, tu_id_arg(2), NULL, &fresh), HS_OK);
    if (fresh == old)
        return 99;
    EXPECT_ST(hs_thread_join(old, HS_NEVER, &value[0]), HS_ESRCH);
    EXPECT_ST(hs_thread_set_priority(old, 3), HS_ESRCH);
    int p = -1;
    EXPECT_ST(hs_thread_get_priority(old, &p), HS_ESRCH);
    EXPECT_ST(hs_thread_join(fresh, HS_NEVER, &value[2]), HS_OK);
    return p;
}

static void test_join_unknown_or_stale_handle_is_esrch(void **state)
{
    (void)state;
    value_reset();
    assert_int_equal(tu_run_default("stale", join_unknown, NULL), HS_OK);
    assert_no_bad_status();
    assert_int_equal(value[0], -1);
    assert_int_equal(value[1], 1);
    assert_int_equal(value[2], 2);
}

/* ---- identity */

static hs_tid_t seen_tid[2];
static hs_pid_t seen_pid[3];

static int record_identity(void *arg)
{
    (void)arg;
    seen_tid[1] = hs_thread_self();
    seen_pid[1] = hs_proc_self();
    return 0;
}

static int identity_main(void *arg)
{
    (void)arg;
    hs_tid_t t = 0;
    seen_pid[0] = hs_proc_self();
    EXPECT_ST(hs_thread_create(record_identity, NULL, NULL, &t), HS_OK);
    seen_tid[0] = t;
    EXPECT_ST(hs_thread_join(t, HS_NEVER, NULL), HS_OK);
    value[0] = hs_thread_self() != 0 && hs_thread_self() != t;
    return 0;
}

static void test_self_handles_name_the_calling_thread_and_process(
    void **state)
{
    (void)state;
    value_reset();
    seen_tid[0] = seen_tid[1] = 0;
    seen_pid[0] = seen_pid[1] = seen_pid[2] = 0;
    tu_status_reset();
    hs_sim_config cfg = tu_config();
    assert_int_equal(hs_sim_start(&cfg), HS_OK);
    assert_int_equal(hs_proc_spawn("ident", identity_main, NULL, NULL,
                                   &seen_pid[2]), HS_OK);
    assert_int_equal(hs_sim_run(), HS_OK);
    assert_no_bad_status();
    assert_true(seen_pid[2] != 0);
    assert_true(seen_pid[0] == seen_pid[2]);
    assert_true(seen_pid[1] == seen_pid[2]);
    assert_true(seen_tid[0] != 0);
    assert_true(seen_tid[1] == seen_tid[0]);
    assert_int_equal(value[0], 1);
}

/* ---- refused arguments */

#define NAME31 "abcdefghijklmnopqrstuvwxyz01234"
#define NAME32 "abcdefghijklmnopqrstuvwxyz012345"

static int bad_create_calls(void *arg)
{
    (void)arg;
    hs_tid_t t = 0;
    hs_thread_attr a;

    EXPECT_ST(hs_thread_create(NULL, NULL, NULL, &t), HS_EINVAL);

    a = (hs_thread_attr){ .priority = -1, .priority_set = 1 };
    EXPECT_ST(hs_thread_create(return_arg, NULL, &a, &t), HS_EINVAL);
    a = (hs_thread_attr){ .priority = -1 };
    EXPECT_ST(hs_thread_create(return_arg, NULL, &a, &t), HS_EINVAL);
    a = (hs_thread_attr){ .priority = HS_PRIO_MAX + 1, .priority_set = 1 };
    EXPECT_ST(hs_thread_create(return_arg, NULL, &a, &t), HS_EINVAL);

    a = (hs_thread_attr){ .stack_size = 1 };
    EXPECT_ST(hs_thread_create(return_arg, NULL, &a, &t), HS_EINVAL);
    a = (hs_thread_attr){ .stack_size = HS_STACK_MAX + 1 };
    EXPECT_ST(hs_thread_create(return_arg, NULL, &a, &t), HS_EINVAL);

    a = (hs_thread_attr){ .name = NAME32 };
    EXPECT_ST(hs_thread_create(return_arg, NULL, &a, &t), HS_EINVAL);

    /* The boundaries are accepted. */
    hs_tid_t ok[4] = { 0 };
    a = (hs_thread_attr){ .name = NAME31 };
    EXPECT_ST(hs_thread_create(return_arg, tu_id_arg(1), &a, &ok[0]), HS_OK);
    a = (hs_thread_attr){ .priority = HS_PRIO_MIN, .priority_set = 1 };
    EXPECT_ST(hs_thread_create(return_arg, tu_id_arg(2), &a, &ok[1]), HS_OK);
    a = (hs_thread_attr){ .priority = HS_PRIO_MAX - 1, .priority_set = 1 };
    EXPECT_ST(hs_thread_create(return_arg, tu_id_arg(3), &a, &ok[2]), HS_OK);
    a = (hs_thread_attr){ .stack_size = HS_STACK_MIN };
    EXPECT_ST(hs_thread_create(return_arg, tu_id_arg(4), &a, &ok[3]), HS_OK);
    EXPECT_ST(hs_thread_get_priority(ok[1], &value[4]), HS_OK);
    for (int i = 0; i < 4; i++)
        EXPECT_ST(hs_thread_join(ok[i], HS_NEVER, &value[i]), HS_OK);
    return 0;
}

static void test_create_with_bad_arguments_is_einval_and_creates_nothing(
    void **state)
{
    (void)state;
    value_reset();
    assert_int_equal(tu_run_default("badcreate", bad_create_calls, NULL),
                     HS_OK);
    assert_no_bad_status();
    for (int i = 0; i < 4; i++)
        assert_int_equal(value[i], i + 1);
    assert_int_equal(value[4], HS_PRIO_MIN);
    /* The main thread and the four valid ones; no refused one. */
    assert_int_equal(tu_summary().threads_created, 5);
}

static int bad_priority_calls(void *arg)
{
    (void)arg;
    hs_tid_t self = hs_thread_self();
    EXPECT_ST(hs_thread_set_priority(self, -1), HS_EINVAL);
    EXPECT_ST(hs_thread_set_priority(self, HS_PRIO_MAX + 1), HS_EINVAL);
    EXPECT_ST(hs_thread_get_priority(self, NULL), HS_EINVAL);
    EXPECT_ST(hs_thread_get_priority(self, &value[0]), HS_OK);
    EXPECT_ST(hs_thread_set_priority(self, 7), HS_OK);
    EXPECT_ST(hs_thread_get_priority(self, &value[1]), HS_OK);
    return 0;
}

static void test_bad_priority_is_einval_and_keeps_priority(void **state)
{
    (void)state;
    value_reset();
    assert_int_equal(tu_run_default("badprio", bad_priority_calls, NULL),
                     HS_OK);
    assert_no_bad_status();
    assert_int_equal(value[0], HS_PRIO_DEFAULT);
    assert_int_equal(value[1], 7);
}

/* ---- calls from outside a simulated thread */

static int create_one(void *arg)
{
    (void)arg;
    hs_tid_t t = 0;
    EXPECT_ST(hs_thread_create(return_arg, tu_id_arg(8), NULL, &t), HS_OK);
    EXPECT_ST(hs_thread_join(t, HS_NEVER, &value[0]), HS_OK);
    return 0;
}

static void test_thread_calls_outside_a_simulated_thread_are_estate(
    void **state)
{
    (void)state;
    value_reset();
    tu_status_reset();
    hs_sim_config cfg = tu_config();
    hs_tid_t t = 0;
    int v = -1, p = -1;

    /* Before any simulation, too. */
    assert_int_equal(hs_thread_yield(), HS_ESTATE);

    assert_int_equal(hs_sim_start(&cfg), HS_OK);
    assert_int_equal(hs_thread_yield(), HS_ESTATE);
    assert_int_equal(hs_thread_sleep(0), HS_ESTATE);
    assert_int_equal(hs_thread_sleep(HS_MSEC), HS_ESTATE);
    assert_int_equal(hs_thread_create(return_arg, NULL, NULL, &t), HS_ESTATE);
    assert_int_equal(hs_thread_join(1, HS_NEVER, &v), HS_ESTATE);
    assert_int_equal(hs_thread_set_priority(1, 3), HS_ESTATE);
    assert_int_equal(hs_thread_get_priority(1, &p), HS_ESTATE);
    assert_int_equal(hs_proc_wait(1, HS_NEVER, &v), HS_ESTATE);
    assert_true(hs_thread_self() == 0);
    assert_true(hs_proc_self() == 0);
    assert_int_equal(v, -1);
    assert_int_equal(p, -1);

    /* Nothing changed: a normal run follows. */
    assert_int_equal(hs_proc_spawn("after", create_one, NULL, NULL, NULL),
                     HS_OK);
    assert_int_equal(hs_sim_run(), HS_OK);
    assert_no_bad_status();
    assert_int_equal(value[0], 8);
    assert_int_equal(tu_summary().threads_created, 2);

    /* And after the run. */
    assert_int_equal(hs_thread_yield(), HS_ESTATE);
    assert_int_equal(hs_thread_create(return_arg, NULL, NULL, &t), HS_ESTATE);
    assert_true(hs_thread_self() == 0);
    assert_true(hs_proc_self() == 0);
}

/* ---- thread limits */

static int fill_process_limit(void *arg)
{
    (void)arg;
    hs_tid_t t[3] = { 0 };
    EXPECT_ST(hs_thread_create(sleep_then_seven, (void *)(uintptr_t)HS_MSEC,
                               NULL, &t[0]), HS_OK);
    EXPECT_ST(hs_thread_create(sleep_then_seven, (void *)(uintptr_t)HS_MSEC,
                               NULL, &t[1]), HS_OK);
    /* main + 2 = 3 = the limit */
    EXPECT_ST(hs_thread_create(return_arg, tu_id_arg(1), NULL, &t[2]),
              HS_ELIMIT);
    EXPECT_ST(hs_thread_join(t[0], HS_NEVER, &value[0]), HS_OK);
    /* One joined and freed: room again. */
    EXPECT_ST(hs_thread_create(return_arg, tu_id_arg(9), NULL, &t[2]), HS_OK);
    EXPECT_ST(hs_thread_join(t[2], HS_NEVER, &value[1]), HS_OK);
    EXPECT_ST(hs_thread_join(t[1], HS_NEVER, &value[2]), HS_OK);
    return 0;
}

static void test_create_past_process_thread_limit_is_elimit(void **state)
{
    (void)state;
    value_reset();
    hs_sim_config cfg = tu_config();
    cfg.max_threads_per_proc = 3;
    assert_int_equal(tu_run(&cfg, "limit", fill_process_limit, NULL, NULL),
                     HS_OK);
    assert_no_bad_status();
    assert_int_equal(value[0], 7);
    assert_int_equal(value[1], 9);
    assert_int_equal(value[2], 7);
    assert_int_equal(tu_summary().threads_created, 4);
}

static int limited_child(void *arg)
{
    (void)arg;
    hs_tid_t t = 0, u = 0;
    EXPECT_ST(hs_thread_create(return_arg, tu_id_arg(4), NULL, &t), HS_OK);
    EXPECT_ST(hs_thread_create(return_arg, tu_id_arg(5), NULL, &u), HS_ELIMIT);
    EXPECT_ST(hs_thread_join(t, HS_NEVER, &value[0]), HS_OK);
    return 0;
}

static int spawn_limited_child(void *arg)
{
    (void)arg;
    hs_pid_t c = 0;
    hs_proc_attr a = { .max_threads = 2 };
    EXPECT_ST(hs_proc_spawn("limited", limited_child, NULL, &a, &c), HS_OK);
    EXPECT_ST(hs_proc_wait(c, HS_NEVER, &value[1]), HS_OK);
    /* The parent itself has the configured default limit. */
    hs_tid_t t[3] = { 0 };
    for (int i = 0; i < 3; i++)
        EXPECT_ST(hs_thread_create(return_arg, tu_id_arg(i), NULL, &t[i]),
                  HS_OK);
    for (int i = 0; i < 3; i++)
        EXPECT_ST(hs_thread_join(t[i], HS_NEVER, NULL), HS_OK);
    return 0;
}

static void test_proc_attr_max_threads_limits_that_process(void **state)
{
    (void)state;
    value_reset();
    assert_int_equal(tu_run_default("parent", spawn_limited_child, NULL),
                     HS_OK);
    assert_no_bad_status();
    assert_int_equal(value[0], 4);
    assert_int_equal(value[1], 0);
    assert_int_equal(tu_summary().threads_created, 1 + 2 + 3);
}

static int fill_system_limit(void *arg)
{
    (void)arg;
    hs_tid_t t[2] = { 0 };
    hs_pid_t c = 0;
    EXPECT_ST(hs_thread_create(sleep_then_seven, (void *)(uintptr_t)HS_MSEC,
                               NULL, &t[0]), HS_OK);
    EXPECT_ST(hs_thread_create(sleep_then_seven, (void *)(uintptr_t)HS_MSEC,
                               NULL, &t[1]), HS_OK);
    /* Three threads exist in the system: neither a thread nor a process
     * (which needs a first thread) fits. */
    EXPECT_ST(hs_thread_create(return_arg, NULL, NULL, &t[0]), HS_ELIMIT);
    EXPECT_ST(hs_proc_spawn("nope", return_arg, NULL, NULL, &c), HS_ELIMIT);
    EXPECT_ST(hs_thread_join(t[1], HS_NEVER, &value[0]), HS_OK);
    EXPECT_ST(hs_proc_spawn("yes", return_arg, tu_id_arg(6), NULL, &c), HS_OK);
    EXPECT_ST(hs_proc_wait(c, HS_NEVER, &value[1]), HS_OK);
    return 0;
}

static void test_system_thread_limit_refuses_create_and_spawn(void **state)
{
    (void)state;
    value_reset();
    hs_sim_config cfg = tu_config();
    cfg.max_threads = 3;
    assert_int_equal(tu_run(&cfg, "sys", fill_system_limit, NULL, NULL),
                     HS_OK);
    assert_no_bad_status();
    assert_int_equal(value[0], 7);
    assert_int_equal(value[1], 6);
    hs_sim_summary s = tu_summary();
    assert_int_equal(s.threads_created, 4);
    assert_int_equal(s.procs_created, 2);
}

/* ---- the thread of an asynchronous hop is detached */

static hs_status async_join_st[2];
static int async_ran;

static void async_body(hs_hop_t *hop, void *cookie)
{
    (void)hop;
    (void)cookie;
    async_ran++;
    hs_thread_sleep(HS_MSEC);
}

static int async_joiner(void *arg)
{
    (void)arg;
    hs_port_t p;
    hs_tid_t t = 0;
    EXPECT_ST(hs_port_create_named("a", &p), HS_OK);
    EXPECT_ST(hs_port_set_handler(p, async_body, NULL), HS_OK);
    EXPECT_ST(hs_hop_async(p, &t), HS_OK);
    /* It runs in this process, but nobody may join it: it frees itself. */
    async_join_st[0] = hs_thread_join(t, HS_NEVER, NULL);
    EXPECT_ST(hs_thread_sleep(2 * HS_MSEC), HS_OK);
    async_join_st[1] = hs_thread_join(t, HS_NEVER, NULL);
    return 0;
}

static void test_join_of_an_async_hop_thread_is_einval(void **state)
{
    (void)state;
    async_ran = 0;
    assert_int_equal(tu_run_default("joiner", async_joiner, NULL), HS_OK);
    assert_no_bad_status();
    assert_int_equal(async_ran, 1);
    assert_int_equal(async_join_st[0], HS_EINVAL);
    assert_int_equal(async_join_st[1], HS_ESRCH);
}

/* ---- a second join of a thread whose joiner has not run yet */

static hs_tid_t late_target;
static hs_status late_st[2];

static int ends_at_one_ms(void *arg)
{
    (void)arg;
    hs_thread_sleep(HS_MSEC);
    return 5;
}

static int waking_joiner(void *arg)
{
    (void)arg;
    int v = 0;
    late_st[0] = hs_thread_join(late_target, HS_NEVER, &v);
    return v;
}

static int late_joiner(void *arg)
{
    (void)arg;
    hs_thread_sleep(HS_MSEC);   /* runs after the target ends, before the
                                   first joiner it woke */
    late_st[1] = hs_thread_join(late_target, HS_NEVER, NULL);
    return 0;
}

static int late_join_main(void *arg)
{
    (void)arg;
    hs_tid_t a, b;
    EXPECT_ST(hs_thread_create(ends_at_one_ms, NULL, NULL, &late_target),
              HS_OK);
    EXPECT_ST(hs_thread_create(waking_joiner, NULL, NULL, &a), HS_OK);
    EXPECT_ST(hs_thread_create(late_joiner, NULL, NULL, &b), HS_OK);
    int v = 0;
    EXPECT_ST(hs_thread_join(a, HS_NEVER, &v), HS_OK);
    EXPECT_ST(hs_thread_join(b, HS_NEVER, NULL), HS_OK);
    return v;
}

/* The target ends and wakes its joiner; before the joiner runs, another
 * thread joins the zombie: it is refused (HS_EJOINED), and the first
 * joiner gets the value and frees it, once. */
static void test_join_of_a_zombie_whose_joiner_is_waking_is_ejoined(
    void **state)
{
    (void)state;
    assert_int_equal(tu_run_default("late", late_join_main, NULL), HS_OK);
    assert_no_bad_status();
    assert_int_equal(late_st[0], HS_OK);
    assert_int_equal(late_st[1], HS_EJOINED);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        TU_TEST(test_join_returns_each_thread_return_value),
        TU_TEST(test_thread_exit_value_from_nested_call_reaches_joiner),
        TU_TEST(test_ten_thousand_threads_created_and_joined),
        TU_TEST(test_second_join_of_freed_thread_is_esrch),
        TU_TEST(test_concurrent_second_joiner_is_ejoined),
        TU_TEST(test_join_self_is_edeadlk),
        TU_TEST(test_join_thread_of_another_process_is_eperm),
        TU_TEST(test_join_unknown_or_stale_handle_is_esrch),
        TU_TEST(test_self_handles_name_the_calling_thread_and_process),
        TU_TEST(test_create_with_bad_arguments_is_einval_and_creates_nothing),
        TU_TEST(test_bad_priority_is_einval_and_keeps_priority),
        TU_TEST(test_thread_calls_outside_a_simulated_thread_are_estate),
        TU_TEST(test_create_past_process_thread_limit_is_elimit),
        TU_TEST(test_proc_attr_max_threads_limits_that_process),
        TU_TEST(test_system_thread_limit_refuses_create_and_spawn),
        TU_TEST(test_join_of_an_async_hop_thread_is_einval),
        TU_TEST(test_join_of_a_zombie_whose_joiner_is_waking_is_ejoined),
    };
    return cmocka_run_group_tests_name("thread", tests, NULL, NULL);
}
