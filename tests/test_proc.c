/*
 * tests/test_proc.c - processes: spawn, names, exit, wait, limits, and the
 * life cycle of a simulation (start, run, bad configurations).
 */
#include "testutil.h"

static int return_arg(void *arg)
{
    return tu_arg_id(arg);
}

static void *ns_arg(hs_time_t ns)
{
    return (void *)(uintptr_t)ns;
}

/* Sleeps arg nanoseconds, returns 7. */
static int sleep_then_seven(void *arg)
{
    EXPECT_ST(hs_thread_sleep((hs_time_t)(uintptr_t)arg), HS_OK);
    return 7;
}

static int value[8];
static hs_time_t when[4];
static int flag[4];
static char name[4][40];

static void reset(void)
{
    for (int i = 0; i < 8; i++)
        value[i] = -1;
    for (int i = 0; i < 4; i++) {
        when[i] = HS_NEVER;
        flag[i] = 0;
        memset(name[i], 'x', sizeof name[i]);
        name[i][sizeof name[i] - 1] = 0;
    }
}

/* ---- spawn and names */

static hs_pid_t worker_self;

static int worker(void *arg)
{
    value[0] = *(const int *)arg;
    worker_self = hs_proc_self();
    EXPECT_ST(hs_proc_name(hs_proc_self(), name[1], sizeof name[1]), HS_OK);
    return 12;
}

static hs_pid_t worker_pid;

static int spawn_worker(void *arg)
{
    (void)arg;
    static const int magic = 5;
    char small[8];
    memset(small, 'x', sizeof small);
    EXPECT_ST(hs_proc_spawn("worker", worker, (void *)&magic, NULL,
                            &worker_pid), HS_OK);
    EXPECT_ST(hs_proc_name(worker_pid, name[0], sizeof name[0]), HS_OK);
    EXPECT_ST(hs_proc_name(hs_proc_self(), name[2], sizeof name[2]), HS_OK);
    EXPECT_ST(hs_proc_name(worker_pid, small, 4), HS_OK);
    memcpy(name[3], small, sizeof small);
    EXPECT_ST(hs_proc_name(worker_pid, NULL, 8), HS_EINVAL);
    EXPECT_ST(hs_proc_name(worker_pid, small, 0), HS_EINVAL);
    EXPECT_ST(hs_proc_name(0, small, sizeof small), HS_ESRCH);
    EXPECT_ST(hs_proc_wait(worker_pid, HS_NEVER, &value[1]), HS_OK);
    /* Reaped: the handle is stale now. */
    EXPECT_ST(hs_proc_name(worker_pid, small, sizeof small), HS_ESRCH);
    return 0;
}

static void test_spawn_runs_entry_with_arg_under_its_name(void **state)
{
    (void)state;
    reset();
    worker_pid = worker_self = 0;
    assert_int_equal(tu_run_default("parent", spawn_worker, NULL), HS_OK);
    assert_no_bad_status();
    assert_int_equal(value[0], 5);
    assert_int_equal(value[1], 12);
    assert_true(worker_pid != 0);
    assert_true(worker_self == worker_pid);
    assert_string_equal(name[0], "worker");
    assert_string_equal(name[1], "worker");
    assert_string_equal(name[2], "parent");
    assert_string_equal(name[3], "wor");    /* truncated, NUL terminated */
    hs_sim_summary s = tu_summary();
    assert_int_equal(s.procs_created, 2);
    assert_int_equal(s.threads_created, 2);
}

/* ---- when a process ends */

static int sleep_5ms_and_note(void *arg)
{
    (void)arg;
    EXPECT_ST(hs_thread_sleep(5 * HS_MSEC), HS_OK);
    when[1] = hs_time_now();
    return 0;
}

static int main_returns_early(void *arg)
{
    (void)arg;
    hs_tid_t t = 0;
    EXPECT_ST(hs_thread_create(sleep_5ms_and_note, NULL, NULL, &t), HS_OK);
    return 3;
}

static int wait_for_long_lived(void *arg)
{
    (void)arg;
    hs_pid_t c = 0;
    EXPECT_ST(hs_proc_spawn("child", main_returns_early, NULL, NULL, &c),
              HS_OK);
    EXPECT_ST(hs_thread_sleep(HS_MSEC), HS_OK);
    /* The child's main has returned, its other thread still sleeps. */
    EXPECT_ST(hs_proc_wait(c, HS_NOWAIT, &value[0]), HS_ETIMEOUT);
    EXPECT_ST(hs_proc_wait(c, HS_NEVER, &value[1]), HS_OK);
    when[0] = hs_time_now();
    return 0;
}

static void test_process_lives_until_its_last_thread_ends(void **state)
{
    (void)state;
    reset();
    assert_int_equal(tu_run_default("parent", wait_for_long_lived, NULL),
                     HS_OK);
    assert_no_bad_status();
    assert_int_equal(value[0], -1);
    assert_int_equal(value[1], 3);          /* main's return value */
    assert_int_equal(when[1], 5 * HS_MSEC);
    assert_int_equal(when[0], 5 * HS_MSEC);
}

static int sleep_10ms_and_flag(void *arg)
{
    EXPECT_ST(hs_thread_sleep(10 * HS_MSEC), HS_OK);
    flag[tu_arg_id(arg)] = 1;               /* must never run */
    return 0;
}

static int exit_while_sibling_sleeps(void *arg)
{
    (void)arg;
    hs_tid_t t = 0;
    EXPECT_ST(hs_thread_create(sleep_10ms_and_flag, tu_id_arg(0), NULL, &t),
              HS_OK);
    EXPECT_ST(hs_thread_sleep(HS_MSEC), HS_OK);
    hs_proc_exit(9);
}

static hs_entry_fn exiter_entry;

static int wait_for_child(void *arg)
{
    (void)arg;
    hs_pid_t c = 0;
    EXPECT_ST(hs_proc_spawn("exiter", exiter_entry, NULL, NULL, &c), HS_OK);
    EXPECT_ST(hs_proc_wait(c, HS_NEVER, &value[0]), HS_OK);
    when[0] = hs_time_now();
    return 0;
}

static void run_exiter(hs_entry_fn entry)
{
    reset();
    exiter_entry = entry;
    assert_int_equal(tu_run_default("parent", wait_for_child, NULL), HS_OK);
    assert_no_bad_status();
}

static void test_proc_exit_ends_every_thread_at_once(void **state)
{
    (void)state;
    run_exiter(exit_while_sibling_sleeps);
    assert_int_equal(value[0], 9);
    assert_int_equal(when[0], HS_MSEC);
    assert_int_equal(flag[0], 0);
    /* The killed sibling's 10 ms timer does not outlive it. */
    assert_int_equal(tu_summary().vtime, HS_MSEC);
}

static int sibling_exits_process(void *arg)
{
    (void)arg;
    EXPECT_ST(hs_thread_sleep(HS_MSEC), HS_OK);
    hs_proc_exit(4);
}

static int main_joins_exiting_sibling(void *arg)
{
    (void)arg;
    hs_tid_t t = 0;
    EXPECT_ST(hs_thread_create(sibling_exits_process, NULL, NULL, &t), HS_OK);
    hs_status st = hs_thread_join(t, HS_NEVER, NULL);
    flag[1] = 1 + (int)st;                  /* must never run */
    return 1;
}

static void test_proc_exit_from_second_thread_ends_blocked_main(void **state)
{
    (void)state;
    run_exiter(main_joins_exiting_sibling);
    assert_int_equal(value[0], 4);
    assert_int_equal(when[0], HS_MSEC);
    assert_int_equal(flag[1], 0);
}

static int main_returns_then_sibling_exits(void *arg)
{
    (void)arg;
    hs_tid_t t = 0;
    EXPECT_ST(hs_thread_create(sibling_exits_process, NULL, NULL, &t), HS_OK);
    return 1;
}

static void test_proc_exit_status_overrides_main_return_value(void **state)
{
    (void)state;
    run_exiter(main_returns_then_sibling_exits);
    assert_int_equal(value[0], 4);
    assert_int_equal(when[0], HS_MSEC);
}

static int orphan_child(void *arg)
{
    (void)arg;
    EXPECT_ST(hs_thread_sleep(5 * HS_MSEC), HS_OK);
    when[2] = hs_time_now();
    return 0;
}

static int parent_leaves_child(void *arg)
{
    (void)arg;
    EXPECT_ST(hs_proc_spawn("orphan", orphan_child, NULL, NULL, NULL), HS_OK);
    return 0;
}

static void test_child_outlives_parent_that_did_not_wait(void **state)
{
    (void)state;
    reset();
    assert_int_equal(tu_run_default("parent", parent_leaves_child, NULL),
                     HS_OK);
    assert_no_bad_status();
    assert_int_equal(when[2], 5 * HS_MSEC);
    assert_int_equal(tu_summary().vtime, 5 * HS_MSEC);
}

/* ---- a child ending under its parent's only thread */

static void linger_in_child(hs_hop_t *hop, void *cookie);

static int child_dies_with_visitor(void *arg)
{
    (void)arg;
    hs_port_t from;
    EXPECT_ST(hs_port_from_parent(&from), HS_OK);
    EXPECT_ST(hs_port_set_handler(from, linger_in_child, NULL), HS_OK);
    flag[0] = 1;
    /* The parent hops in meanwhile; this return ends the process. */
    EXPECT_ST(hs_thread_sleep(2 * HS_MSEC), HS_OK);
    return 3;
}

static void linger_in_child(hs_hop_t *hop, void *cookie)
{
    (void)hop;
    (void)cookie;
    flag[1] = 1;
    hs_thread_sleep(10 * HS_MSEC);  /* the child ends under it */
    flag[2] = 1;                    /* never: the thread unwinds and ends */
}

static int parent_visits_dying_child(void *arg)
{
    (void)arg;
    hs_pid_t c;
    hs_port_t to;
    EXPECT_ST(hs_proc_spawn("child", child_dies_with_visitor, NULL, NULL, &c),
              HS_OK);
    EXPECT_ST(hs_port_to_child(c, &to), HS_OK);
    EXPECT_ST(hs_thread_sleep(HS_MSEC), HS_OK);
    value[0] = hs_hop(to, 0, HS_NEVER);     /* returns only on error */
    return 1;
}

/* The parent's only thread is in the child through a one-way hop when the
 * child ends: the thread unwinds and ends, which ends the parent, which
 * reaps its ended children.  The child's own end must not then go on
 * with a freed process, nor reap it a second time. */
static void test_child_ending_under_parents_only_thread_is_reaped_once(
    void **state)
{
    (void)state;
    reset();
    assert_int_equal(tu_run_default("parent", parent_visits_dying_child,
                                    NULL), HS_OK);
    assert_no_bad_status();
    assert_int_equal(flag[0], 1);
    assert_int_equal(flag[1], 1);
    assert_int_equal(flag[2], 0);
    assert_int_equal(value[0], -1);
    hs_sim_summary s = tu_summary();
    assert_int_equal(s.procs_created, 2);
}

/* ---- wait errors */

static hs_pid_t root_b, grandchild, root_a;

static int middle_child(void *arg)
{
    (void)arg;
    EXPECT_ST(hs_proc_spawn("grandchild", sleep_then_seven,
                            ns_arg(2 * HS_MSEC), NULL, &grandchild), HS_OK);
    /* Its parent is not its child either. */
    EXPECT_ST(hs_proc_wait(root_a, HS_NEVER, &value[4]), HS_ENOTCHILD);
    EXPECT_ST(hs_proc_wait(grandchild, HS_NEVER, &value[5]), HS_OK);
    return 8;
}

static int wait_on_non_children(void *arg)
{
    (void)arg;
    hs_pid_t c = 0;
    root_a = hs_proc_self();
    EXPECT_ST(hs_proc_spawn("middle", middle_child, NULL, NULL, &c), HS_OK);
    EXPECT_ST(hs_thread_sleep(HS_MSEC), HS_OK);
    if (grandchild == 0)
        return 99;
    EXPECT_ST(hs_proc_wait(grandchild, HS_NEVER, &value[0]), HS_ENOTCHILD);
    EXPECT_ST(hs_proc_wait(root_b, HS_NEVER, &value[0]), HS_ENOTCHILD);
    EXPECT_ST(hs_proc_wait(hs_proc_self(), HS_NEVER, &value[0]),
              HS_ENOTCHILD);
    when[0] = hs_time_now();
    EXPECT_ST(hs_proc_wait(c, HS_NEVER, &value[1]), HS_OK);
    return 0;
}

static void test_wait_on_non_child_is_enotchild(void **state)
{
    (void)state;
    reset();
    root_b = grandchild = root_a = 0;
    tu_status_reset();
    hs_sim_config cfg = tu_config();
    assert_int_equal(hs_sim_start(&cfg), HS_OK);
    assert_int_equal(hs_proc_spawn("a", wait_on_non_children, NULL, NULL,
                                   NULL), HS_OK);
    assert_int_equal(hs_proc_spawn("b", sleep_then_seven,
                                   ns_arg(2 * HS_MSEC), NULL, &root_b),
                     HS_OK);
    assert_int_equal(hs_sim_run(), HS_OK);
    assert_no_bad_status();
    assert_int_equal(when[0], HS_MSEC);     /* refused without waiting */
    assert_int_equal(value[0], -1);
    assert_int_equal(value[4], -1);
    assert_int_equal(value[5], 7);
    assert_int_equal(value[1], 8);
}

static int wait_on_reaped(void *arg)
{
    (void)arg;
    hs_pid_t c = 0;
    EXPECT_ST(hs_proc_spawn("child", return_arg, tu_id_arg(2), NULL, &c),
              HS_OK);
    EXPECT_ST(hs_proc_wait(c, HS_NEVER, &value[0]), HS_OK);
    EXPECT_ST(hs_proc_wait(c, HS_NEVER, &value[1]), HS_ESRCH);
    EXPECT_ST(hs_proc_wait(c, HS_NOWAIT, &value[1]), HS_ESRCH);
    EXPECT_ST(hs_proc_wait(0, HS_NEVER, &value[1]), HS_ESRCH);
    EXPECT_ST(hs_proc_wait(0x7654321, HS_NEVER, &value[1]), HS_ESRCH);
    return 0;
}

static void test_wait_on_reaped_child_is_esrch(void **state)
{
    (void)state;
    reset();
    assert_int_equal(tu_run_default("parent", wait_on_reaped, NULL), HS_OK);
    assert_no_bad_status();
    assert_int_equal(value[0], 2);
    assert_int_equal(value[1], -1);
}

static hs_pid_t waited_child;

static int first_waiter(void *arg)
{
    (void)arg;
    EXPECT_ST(hs_proc_wait(waited_child, HS_NEVER, &value[0]), HS_OK);
    return 0;
}

static int wait_while_waited(void *arg)
{
    (void)arg;
    hs_tid_t t = 0;
    EXPECT_ST(hs_proc_spawn("child", sleep_then_seven, ns_arg(HS_MSEC), NULL,
                            &waited_child), HS_OK);
    EXPECT_ST(hs_thread_create(first_waiter, NULL, NULL, &t), HS_OK);
    EXPECT_ST(hs_thread_sleep(100), HS_OK);
    EXPECT_ST(hs_proc_wait(waited_child, HS_NEVER, &value[1]), HS_EJOINED);
    when[0] = hs_time_now();
    EXPECT_ST(hs_thread_join(t, HS_NEVER, NULL), HS_OK);
    return 0;
}

static void test_second_concurrent_wait_is_ejoined(void **state)
{
    (void)state;
    reset();
    assert_int_equal(tu_run_default("parent", wait_while_waited, NULL),
                     HS_OK);
    assert_no_bad_status();
    assert_int_equal(value[0], 7);
    assert_int_equal(value[1], -1);
    assert_int_equal(when[0], 100);
}

/* The child ends and wakes first_waiter; before first_waiter runs, the
 * parent's main thread waits for the same child.  The woken waiter still
 * owns the wait: the second one is HS_EJOINED, and the child is reaped
 * once, by first_waiter. */
static int wait_while_waiter_wakes(void *arg)
{
    (void)arg;
    hs_tid_t t = 0;
    EXPECT_ST(hs_proc_spawn("child", sleep_then_seven, ns_arg(HS_MSEC), NULL,
                            &waited_child), HS_OK);
    EXPECT_ST(hs_thread_create(first_waiter, NULL, NULL, &t), HS_OK);
    /* The child arms its sleep and first_waiter blocks before this
     * thread sleeps: at HS_MSEC the child wakes first, ends and queues
     * first_waiter behind this thread. */
    EXPECT_ST(hs_thread_yield(), HS_OK);
    EXPECT_ST(hs_thread_sleep(HS_MSEC), HS_OK);
    EXPECT_ST(hs_proc_wait(waited_child, HS_NEVER, &value[1]), HS_EJOINED);
    when[0] = hs_time_now();
    EXPECT_ST(hs_thread_join(t, HS_NEVER, NULL), HS_OK);
    EXPECT_ST(hs_proc_wait(waited_child, HS_NOWAIT, &value[2]), HS_ESRCH);
    return 0;
}

static void test_wait_for_a_child_whose_waiter_is_waking_is_ejoined(
    void **state)
{
    (void)state;
    reset();
    assert_int_equal(tu_run_default("parent", wait_while_waiter_wakes, NULL),
                     HS_OK);
    assert_no_bad_status();
    assert_int_equal(value[0], 7);
    assert_int_equal(value[1], -1);
    assert_int_equal(value[2], -1);
    assert_int_equal(when[0], HS_MSEC);
}

/* ---- max_procs */

static int spawn_past_limit(void *arg)
{
    (void)arg;
    hs_pid_t c[4] = { 0 };
    EXPECT_ST(hs_proc_spawn("c1", sleep_then_seven, ns_arg(HS_MSEC), NULL,
                            &c[0]), HS_OK);
    EXPECT_ST(hs_proc_spawn("c2", sleep_then_seven, ns_arg(HS_MSEC), NULL,
                            &c[1]), HS_OK);
    /* root + c1 + c2 = 3 = max_procs */
    EXPECT_ST(hs_proc_spawn("c3", return_arg, NULL, NULL, &c[2]), HS_ELIMIT);
    EXPECT_ST(hs_proc_wait(c[0], HS_NEVER, &value[0]), HS_OK);
    /* c1 is gone: room for one more. */
    EXPECT_ST(hs_proc_spawn("c4", return_arg, tu_id_arg(4), NULL, &c[3]),
              HS_OK);
    EXPECT_ST(hs_proc_wait(c[3], HS_NEVER, &value[1]), HS_OK);
    EXPECT_ST(hs_proc_wait(c[1], HS_NEVER, &value[2]), HS_OK);
    return 0;
}

static void test_spawn_past_max_procs_is_elimit_and_changes_nothing(
    void **state)
{
    (void)state;
    reset();
    hs_sim_config cfg = tu_config();
    cfg.max_procs = 3;
    assert_int_equal(tu_run(&cfg, "root", spawn_past_limit, NULL, NULL),
                     HS_OK);
    assert_no_bad_status();
    assert_int_equal(value[0], 7);
    assert_int_equal(value[1], 4);
    assert_int_equal(value[2], 7);
    hs_sim_summary s = tu_summary();
    assert_int_equal(s.procs_created, 4);   /* root, c1, c2, c4 */
    assert_int_equal(s.threads_created, 4);
}

/* ---- refused spawns */

#define NAME31 "abcdefghijklmnopqrstuvwxyz01234"
#define NAME32 "abcdefghijklmnopqrstuvwxyz012345"

static int bad_spawns(void *arg)
{
    (void)arg;
    hs_pid_t c = 0;
    hs_proc_attr a;
    EXPECT_ST(hs_proc_spawn("x", NULL, NULL, NULL, &c), HS_EINVAL);
    EXPECT_ST(hs_proc_spawn(NULL, return_arg, NULL, NULL, &c), HS_EINVAL);
    EXPECT_ST(hs_proc_spawn("", return_arg, NULL, NULL, &c), HS_EINVAL);
    EXPECT_ST(hs_proc_spawn(NAME32, return_arg, NULL, NULL, &c), HS_EINVAL);
    a = (hs_proc_attr){ .priority = -1, .priority_set = 1 };
    EXPECT_ST(hs_proc_spawn("x", return_arg, NULL, &a, &c), HS_EINVAL);
    a = (hs_proc_attr){ .priority = HS_PRIO_MAX + 1 };
    EXPECT_ST(hs_proc_spawn("x", return_arg, NULL, &a, &c), HS_EINVAL);
    a = (hs_proc_attr){ .stack_size = 1 };
    EXPECT_ST(hs_proc_spawn("x", return_arg, NULL, &a, &c), HS_EINVAL);
    a = (hs_proc_attr){ .stack_size = HS_STACK_MAX + 1 };
    EXPECT_ST(hs_proc_spawn("x", return_arg, NULL, &a, &c), HS_EINVAL);
    /* The boundaries are fine. */
    a = (hs_proc_attr){ .priority = HS_PRIO_MIN, .priority_set = 1,
                        .stack_size = HS_STACK_MIN };
    EXPECT_ST(hs_proc_spawn(NAME31, return_arg, tu_id_arg(31), &a, &c), HS_OK);
    EXPECT_ST(hs_proc_name(c, name[0], sizeof name[0]), HS_OK);
    EXPECT_ST(hs_proc_wait(c, HS_NEVER, &value[0]), HS_OK);
    return 0;
}

static void test_spawn_with_bad_arguments_is_einval_and_creates_nothing(
    void **state)
{
    (void)state;
    reset();
    tu_status_reset();
    hs_sim_config cfg = tu_config();
    assert_int_equal(hs_sim_start(&cfg), HS_OK);
    /* Refused from the test's thread before the run, too. */
    assert_int_equal(hs_proc_spawn("x", NULL, NULL, NULL, NULL), HS_EINVAL);
    assert_int_equal(hs_proc_spawn("", return_arg, NULL, NULL, NULL),
                     HS_EINVAL);
    assert_int_equal(hs_proc_spawn("root", bad_spawns, NULL, NULL, NULL),
                     HS_OK);
    assert_int_equal(hs_sim_run(), HS_OK);
    assert_no_bad_status();
    assert_string_equal(name[0], NAME31);
    assert_int_equal(value[0], 31);
    hs_sim_summary s = tu_summary();
    assert_int_equal(s.procs_created, 2);
    assert_int_equal(s.threads_created, 2);
}

/* ---- the life cycle of a simulation */

static void test_spawn_and_wait_before_start_are_estate(void **state)
{
    (void)state;
    char buf[8];
    int v = -1;
    assert_int_equal(hs_proc_spawn("early", return_arg, NULL, NULL, NULL),
                     HS_ESTATE);
    assert_int_equal(hs_proc_wait(1, HS_NEVER, &v), HS_ESTATE);
    assert_int_equal(hs_proc_name(1, buf, sizeof buf), HS_ESTATE);
    assert_int_equal(v, -1);
}

static void test_run_without_start_is_estate(void **state)
{
    (void)state;
    assert_int_equal(hs_sim_run(), HS_ESTATE);
    /* Still nothing started. */
    assert_int_equal(hs_proc_spawn("x", return_arg, NULL, NULL, NULL),
                     HS_ESTATE);
}

static void test_run_twice_is_estate(void **state)
{
    (void)state;
    assert_int_equal(tu_run_default("once", return_arg, NULL), HS_OK);
    assert_int_equal(hs_sim_run(), HS_ESTATE);
    /* The refused run did not replace the finished run's summary. */
    hs_sim_summary s = tu_summary();
    assert_int_equal(s.status, HS_OK);
    assert_int_equal(s.procs_created, 1);
}

static hs_status inner_status[2];

static int call_sim_from_inside(void *arg)
{
    (void)arg;
    hs_sim_config cfg = tu_config();
    inner_status[0] = hs_sim_run();
    inner_status[1] = hs_sim_start(&cfg);
    return 0;
}

static void test_run_and_start_inside_a_simulated_thread_are_estate(
    void **state)
{
    (void)state;
    inner_status[0] = inner_status[1] = HS_OK;
    assert_int_equal(tu_run_default("inner", call_sim_from_inside, NULL),
                     HS_OK);
    assert_no_bad_status();
    assert_int_equal(inner_status[0], HS_ESTATE);
    assert_int_equal(inner_status[1], HS_ESTATE);
}

static void test_start_twice_is_estate_and_keeps_first_config(void **state)
{
    (void)state;
    hs_sim_config first = tu_config();
    hs_sim_config second = tu_config();
    second.seed = 5;
    assert_int_equal(hs_sim_start(&first), HS_OK);
    assert_int_equal(hs_sim_start(&second), HS_ESTATE);
    assert_int_equal(hs_proc_spawn("p", return_arg, NULL, NULL, NULL), HS_OK);
    assert_int_equal(hs_sim_run(), HS_OK);
    assert_true(tu_summary().seed == HS_SEED_NONE);
}

static void expect_config_refused(hs_sim_config cfg)
{
    assert_int_equal(hs_sim_start(&cfg), HS_EINVAL);
    /* Nothing was started. */
    assert_int_equal(hs_proc_spawn("x", return_arg, NULL, NULL, NULL),
                     HS_ESTATE);
    assert_int_equal(hs_sim_run(), HS_ESTATE);
}

static void test_bad_config_fields_are_einval_and_start_nothing(void **state)
{
    (void)state;
    hs_sim_config cfg;

    cfg = tu_config();
    cfg.ncpus = 0;
    expect_config_refused(cfg);
    cfg = tu_config();
    cfg.ncpus = HS_CPUS_MAX + 1;
    expect_config_refused(cfg);
    cfg = tu_config();
    cfg.stack_size = 1;
    expect_config_refused(cfg);
    cfg = tu_config();
    cfg.stack_size = 4096;
    expect_config_refused(cfg);
    cfg = tu_config();
    cfg.stack_size = HS_STACK_MAX + 1;
    expect_config_refused(cfg);
    cfg = tu_config();
    cfg.max_procs = 0;
    expect_config_refused(cfg);
    cfg = tu_config();
    cfg.max_threads = 0;
    expect_config_refused(cfg);
    cfg = tu_config();
    cfg.max_threads_per_proc = 0;
    expect_config_refused(cfg);
    cfg = tu_config();
    cfg.switch_kind = (hs_switch_kind)99;
    expect_config_refused(cfg);

    /* The limits themselves are accepted. */
    cfg = tu_config();
    cfg.ncpus = 1;
    cfg.stack_size = HS_STACK_MIN;
    cfg.max_procs = 1;
    cfg.max_threads = 1;
    cfg.max_threads_per_proc = 1;
    assert_int_equal(tu_run(&cfg, "tiny", return_arg, NULL, NULL), HS_OK);
    assert_no_bad_status();
}

static void test_summary_get_with_null_is_einval(void **state)
{
    (void)state;
    assert_int_equal(tu_run_default("p", return_arg, NULL), HS_OK);
    assert_int_equal(hs_sim_summary_get(NULL), HS_EINVAL);
    hs_sim_summary s = tu_summary();
    assert_int_equal(s.status, HS_OK);
    assert_string_equal(hs_sim_report(), "");   /* empty after HS_OK */
}

/* ---- core servers */

static int priv_child(void *arg)
{
    (void)arg;
    int on = -1;
    EXPECT_ST(hs_proc_privileged(0, &on), HS_OK);
    return on;
}

/* A privileged root may make a privileged child; that child's own
 * unprivileged child may not. */
static int priv_grandchild_maker(void *arg)
{
    (void)arg;
    hs_proc_attr a = {.privileged = 1};
    hs_pid_t pid = 0;
    value[2] = EXPECT_ST(hs_proc_spawn("gc", priv_child, NULL, &a, &pid),
                         HS_EPERM);
    value[3] = pid == 0;
    a.privileged = 0;
    EXPECT_ST(hs_proc_spawn("gc", priv_child, NULL, &a, &pid), HS_OK);
    int st = -1;
    EXPECT_ST(hs_proc_wait(pid, HS_NEVER, &st), HS_OK);
    value[4] = st;
    return 0;
}

static int priv_root(void *arg)
{
    (void)arg;
    int on = -1;
    EXPECT_ST(hs_proc_privileged(0, &on), HS_OK);
    value[0] = on;
    EXPECT_ST(hs_proc_privileged(0, NULL), HS_EINVAL);
    EXPECT_ST(hs_proc_privileged(12345, &on), HS_ESRCH);
    hs_proc_attr a = {.privileged = 1};
    hs_pid_t pid;
    EXPECT_ST(hs_proc_spawn("child", priv_child, NULL, &a, &pid), HS_OK);
    int st = -1;
    EXPECT_ST(hs_proc_wait(pid, HS_NEVER, &st), HS_OK);
    value[1] = st;
    EXPECT_ST(hs_proc_spawn("maker", priv_grandchild_maker, NULL, NULL, &pid),
              HS_OK);
    EXPECT_ST(hs_proc_wait(pid, HS_NEVER, &st), HS_OK);
    return 0;
}

static void test_privilege_is_asked_at_spawn_and_never_widened(void **state)
{
    (void)state;
    reset();
    hs_sim_config cfg = tu_config();
    hs_proc_attr a = {.privileged = 1};
    assert_int_equal(tu_run(&cfg, "root", priv_root, NULL, &a), HS_OK);
    assert_no_bad_status();
    assert_int_equal(value[0], 1);  /* asked from outside */
    assert_int_equal(value[1], 1);  /* a core server's child may be one */
    assert_int_equal(value[2], HS_EPERM);
    assert_int_equal(value[3], 1);  /* the refused spawn made nothing */
    assert_int_equal(value[4], 0);  /* the default is unprivileged */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        TU_TEST(test_spawn_runs_entry_with_arg_under_its_name),
        TU_TEST(test_process_lives_until_its_last_thread_ends),
        TU_TEST(test_proc_exit_ends_every_thread_at_once),
        TU_TEST(test_proc_exit_from_second_thread_ends_blocked_main),
        TU_TEST(test_proc_exit_status_overrides_main_return_value),
        TU_TEST(test_child_outlives_parent_that_did_not_wait),
        TU_TEST(test_wait_on_non_child_is_enotchild),
        TU_TEST(test_wait_on_reaped_child_is_esrch),
        TU_TEST(test_second_concurrent_wait_is_ejoined),
        TU_TEST(test_wait_for_a_child_whose_waiter_is_waking_is_ejoined),
        TU_TEST(test_spawn_past_max_procs_is_elimit_and_changes_nothing),
        TU_TEST(test_spawn_with_bad_arguments_is_einval_and_creates_nothing),
        TU_TEST(test_spawn_and_wait_before_start_are_estate),
        TU_TEST(test_run_without_start_is_estate),
        TU_TEST(test_run_twice_is_estate),
        TU_TEST(test_run_and_start_inside_a_simulated_thread_are_estate),
        TU_TEST(test_start_twice_is_estate_and_keeps_first_config),
        TU_TEST(test_bad_config_fields_are_einval_and_start_nothing),
        TU_TEST(test_summary_get_with_null_is_einval),
        TU_TEST(test_privilege_is_asked_at_spawn_and_never_widened),
        TU_TEST(test_child_ending_under_parents_only_thread_is_reaped_once),
    };
    return cmocka_run_group_tests_name("proc", tests, NULL, NULL);
}
