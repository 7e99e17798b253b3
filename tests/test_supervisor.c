/*
 * tests/test_supervisor.c - the supervisor of the gallery
 * (examples/supervisor/): workers restarted after each crash with every
 * request answered, on one CPU and two; a worker restarted at the time of
 * its exit with no call following; the restart limit; the stop; and the
 * protocol's errors.
 *
 * The supervisor is a thread of the test's process, its clients threads
 * of that process too, each with its own capability (label 1, 2, ...) to
 * the supervisor's gate; the workers are children of the process.
 */
#include <stdint.h>

#include "examples/supervisor/supervisor.h"
#include "testutil.h"

#define NCLIENTS 2
#define ROUNDS 3
#define WAIT (10 * HS_MSEC)

static struct supervisor_cfg cfg;
static struct supervisor_stats stats;
static hs_cap_t gate;                   /* the supervisor's */
static hs_cap_t cap[NCLIENTS];          /* client i's capability */
static hs_status st_of[NCLIENTS][ROUNDS + 1];
static uint64_t back_of[NCLIENTS][ROUNDS];
static hs_status stop_st;               /* of the stop that ends a run */
static hs_status perm_st;               /* of a stop without the label */

static void reset(unsigned crash_after, unsigned restarts_max)
{
    cfg.crash_after = crash_after;
    cfg.restarts_max = restarts_max;
    memset(&stats, 0, sizeof stats);
    gate = 0;
    stop_st = perm_st = HS_STATUS_COUNT;
    for (int i = 0; i < NCLIENTS; i++) {
        cap[i] = 0;
        for (int j = 0; j < ROUNDS; j++)
            back_of[i][j] = 0;
        for (int j = 0; j <= ROUNDS; j++)
            st_of[i][j] = HS_STATUS_COUNT;
    }
}

/* The supervisor thread: it may run before its gate exists (at once, on
 * a second CPU), so it first waits for the message that says the gate is
 * made. */
static int supervisor(void *arg)
{
    (void)arg;
    if (hs_ipc_wait(HS_NEVER, NULL) != HS_OK)
        return 1;
    (void)supervisor_serve(gate, &cfg, &stats);
    return 0;
}

/* The supervisor below the caller's priority, its gate, and one
 * capability per client with label id + 1. */
static void start_supervisor(void)
{
    hs_thread_attr a = { .name = "supervisor",
                         .priority = HS_PRIO_DEFAULT - 1,
                         .priority_set = 1 };
    hs_tid_t t = 0;
    EXPECT_ST(hs_thread_create(supervisor, NULL, &a, &t), HS_OK);
    EXPECT_ST(hs_gate_create(t, 0, &gate), HS_OK);
    hs_utcb()->tag = HS_TAG(0, 0);
    EXPECT_ST(hs_ipc_send(gate, HS_NEVER), HS_OK);
    for (int i = 0; i < NCLIENTS; i++)
        EXPECT_ST(hs_cap_derive(gate, HS_CAP_SEND, (uint64_t)i + 1,
                                &cap[i]), HS_OK);
}

/* Client arg: from time 10 * id, echoes ROUNDS words, 100 ns apart. */
static int echo_client(void *arg)
{
    int id = tu_arg_id(arg);
    hs_cap_t svc = 0;
    tu_sleep_until(10 * (hs_time_t)id);
    for (int r = 0; r < ROUNDS; r++) {
        st_of[id][r] = supervisor_echo(cap[id], &svc,
                                       (uint64_t)(1000 * id + r), WAIT,
                                       &back_of[id][r]);
        tu_sleep_until(hs_time_now() + 100);
    }
    return 0;
}

static int clients_main(void *arg)
{
    int n = tu_arg_id(arg);
    start_supervisor();
    hs_tid_t t[NCLIENTS];
    for (int i = 0; i < n; i++)
        t[i] = tu_mk(echo_client, tu_id_arg(i), 0);
    for (int i = 0; i < n; i++)
        tu_join(t[i]);
    stop_st = supervisor_stop(gate, WAIT);
    return 0;
}

/* Each worker answers two calls and dies with its third: six echoes need
 * three workers, and every echo comes back. */
static void test_supervisor_restarts_crashed_worker(void **state)
{
    (void)state;
    reset(3, 5);
    tu_run_one(NULL, "main", clients_main, tu_id_arg(NCLIENTS), NULL);
    for (int i = 0; i < NCLIENTS; i++)
        for (int r = 0; r < ROUNDS; r++) {
            assert_int_equal(st_of[i][r], HS_OK);
            assert_int_equal(back_of[i][r], (uint64_t)(1000 * i + r));
        }
    assert_int_equal(stats.started, 3);
    assert_int_equal(stats.registered, 3);
    assert_int_equal(stats.exits, 2);
    assert_int_equal(stats.last_status, SUPERVISOR_CRASH);
    assert_int_equal(stop_st, HS_OK);
}

/* The same on two CPUs, where the watcher and the serve thread run at
 * once: the serve thread alone touches the supervisor's state. */
static void test_supervisor_restarts_on_two_cpus(void **state)
{
    (void)state;
    hs_sim_config c = tu_config();
    c.ncpus = 2;
    reset(3, 5);
    tu_run_one(&c, "main", clients_main, tu_id_arg(NCLIENTS), NULL);
    for (int i = 0; i < NCLIENTS; i++)
        for (int r = 0; r < ROUNDS; r++) {
            assert_int_equal(st_of[i][r], HS_OK);
            assert_int_equal(back_of[i][r], (uint64_t)(1000 * i + r));
        }
    assert_int_equal(stats.started, 3);
    assert_int_equal(stats.registered, 3);
    assert_int_equal(stats.exits, 2);
    assert_int_equal(stop_st, HS_OK);
}

/* One call per worker and one restart: the third echo finds the second
 * worker dead for good and learns there will be no other. */
static void test_supervisor_gives_up_at_the_limit(void **state)
{
    (void)state;
    reset(2, 1);
    tu_run_one(NULL, "main", clients_main, tu_id_arg(1), NULL);
    assert_int_equal(st_of[0][0], HS_OK);
    assert_int_equal(back_of[0][0], 0);
    assert_int_equal(st_of[0][1], HS_OK);
    assert_int_equal(back_of[0][1], 1);
    assert_int_equal(st_of[0][2], HS_ESRCH);
    assert_int_equal(stop_st, HS_OK);
    assert_int_equal(stats.started, 2);
    assert_int_equal(stats.exits, 2);
    assert_int_equal(stats.last_status, SUPERVISOR_CRASH);
}

/* What the crash test records, on its simulated threads. */
static hs_status crash_st;              /* the call the worker dies with */
static hs_time_t crash_at;              /* when that call was made */

/* Finds the worker and, once the supervisor has gone back to waiting for
 * calls, makes the call the worker crashes on, a plain call: unlike
 * supervisor_echo() it does not ask the supervisor again, so no call to
 * the supervisor follows the crash. */
static int crash_client(void *arg)
{
    (void)arg;
    hs_cap_t svc = 0;
    if (supervisor_where(cap[0], WAIT, &svc) != HS_OK)
        return 1;
    tu_sleep_until(hs_time_now() + 100);
    hs_utcb_t *u = hs_utcb();
    u->tag = HS_TAG(SUPERVISOR_ECHO, 1);
    u->mr[0] = 7;
    crash_at = hs_time_now();
    crash_st = hs_ipc_call(svc, WAIT, WAIT);
    return 0;
}

/* The crash, then a quiet WAIT in which nobody calls the supervisor, then
 * the stop. */
static int crash_main(void *arg)
{
    (void)arg;
    start_supervisor();
    tu_join(tu_mk(crash_client, NULL, 0));
    tu_sleep_until(hs_time_now() + WAIT);
    stop_st = supervisor_stop(gate, WAIT);
    return 0;
}

/* A worker that dies with no call following is restarted at its exit:
 * the next one has registered within RESTART_BOUND of the crash, long
 * before the stop that ends the run. */
#define RESTART_BOUND HS_USEC
static void restarts_at_the_exit(unsigned ncpus)
{
    hs_sim_config c = tu_config();
    c.ncpus = ncpus;
    reset(1, 5);
    crash_st = HS_STATUS_COUNT;
    crash_at = 0;
    tu_run_one(&c, "main", crash_main, NULL, NULL);
    assert_int_equal(crash_st, HS_EPARTNER);
    assert_int_equal(stop_st, HS_OK);
    assert_int_equal(stats.exits, 1);
    assert_int_equal(stats.last_status, SUPERVISOR_CRASH);
    assert_int_equal(stats.started, 2);
    assert_int_equal(stats.registered, 2);
    assert_true(stats.registered_at >= crash_at);
    assert_true(stats.registered_at - crash_at <= RESTART_BOUND);
}

static void test_supervisor_restarts_at_the_exit_without_a_call(void **state)
{
    (void)state;
    restarts_at_the_exit(1);
}

static void test_supervisor_restarts_at_the_exit_on_two_cpus(void **state)
{
    (void)state;
    restarts_at_the_exit(2);
}

/* Register through cap c carrying capability item (0: none). */
static hs_status try_register(hs_cap_t c, hs_cap_t item)
{
    hs_utcb_t *u = hs_utcb();
    u->tag = item ? HS_TAG_ITEMS(SUPERVISOR_REGISTER, 0, 1)
                  : HS_TAG(SUPERVISOR_REGISTER, 0);
    u->mr[0] = HS_ITEM(HS_ITEM_CAP, HS_CAP_SEND);
    u->mr[1] = item;
    hs_status st = hs_ipc_call(c, WAIT, WAIT);
    return st == HS_OK ? (hs_status)u->mr[0] : st;
}

/* A call of operation op through c, with no words. */
static hs_status try_op(hs_cap_t c, unsigned op)
{
    hs_utcb_t *u = hs_utcb();
    u->tag = HS_TAG(op, 0);
    hs_status st = hs_ipc_call(c, WAIT, WAIT);
    return st == HS_OK ? (hs_status)u->mr[0] : st;
}

static int errors_main(void *arg)
{
    (void)arg;
    start_supervisor();
    hs_cap_t svc = 0, mine = 0, stale = 0, current = 0;
    EXPECT_ST(supervisor_where(cap[0], WAIT, &svc), HS_OK);
    EXPECT_ST(hs_cap_derive(gate, HS_CAP_SEND | HS_CAP_GRANT, 9, &mine),
              HS_OK);
    EXPECT_ST(hs_cap_derive(gate, HS_CAP_SEND,
                            SUPERVISOR_WORKER_LABEL | 7, &stale), HS_OK);
    EXPECT_ST(hs_cap_derive(gate, HS_CAP_SEND,
                            SUPERVISOR_WORKER_LABEL | 1, &current), HS_OK);
    st_of[0][0] = try_register(cap[0], mine);       /* not a worker */
    st_of[0][1] = try_register(stale, mine);        /* not the current */
    st_of[0][2] = try_register(current, mine);      /* registered already */
    st_of[0][3] = try_register(current, 0);         /* no gate */
    st_of[1][0] = try_op(cap[0], 9);                /* no such operation */
    st_of[1][1] = try_op(svc, 9);                   /* nor at the worker */
    st_of[1][2] = supervisor_where(cap[0], WAIT, NULL);
    st_of[1][3] = supervisor_echo(cap[0], NULL, 1, WAIT, NULL);
    perm_st = supervisor_stop(cap[0], WAIT);        /* not the stop label */
    stop_st = supervisor_stop(gate, WAIT);
    return 0;
}

static void test_supervisor_protocol_errors(void **state)
{
    (void)state;
    reset(0, 0);
    tu_run_one(NULL, "main", errors_main, NULL, NULL);
    assert_int_equal(st_of[0][0], HS_EPERM);
    assert_int_equal(st_of[0][1], HS_EPERM);
    assert_int_equal(st_of[0][2], HS_EINVAL);
    assert_int_equal(st_of[0][3], HS_EINVAL);
    assert_int_equal(st_of[1][0], HS_EINVAL);
    assert_int_equal(st_of[1][1], HS_EINVAL);
    assert_int_equal(st_of[1][2], HS_EINVAL);
    assert_int_equal(st_of[1][3], HS_EINVAL);
    assert_int_equal(perm_st, HS_EPERM);
    assert_int_equal(stop_st, HS_OK);
    assert_int_equal(stats.started, 1);
    assert_int_equal(stats.registered, 1);
    assert_int_equal(stats.exits, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        TU_TEST(test_supervisor_restarts_crashed_worker),
        TU_TEST(test_supervisor_restarts_on_two_cpus),
        TU_TEST(test_supervisor_gives_up_at_the_limit),
        TU_TEST(test_supervisor_restarts_at_the_exit_without_a_call),
        TU_TEST(test_supervisor_restarts_at_the_exit_on_two_cpus),
        TU_TEST(test_supervisor_protocol_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
