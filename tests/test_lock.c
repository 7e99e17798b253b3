/*
 * tests/test_lock.c - the lock server of the gallery (examples/lock/):
 * grants in the order asked, hand-over on release through kept replies,
 * waiters that gave up skipped, and the protocol's errors.
 *
 * All clients are threads of one process, each with its own capability
 * (label 1, 2, ...) to the server's gate, so the server tells them apart.
 */
#include <stdint.h>

#include "examples/lock/lock.h"
#include "testutil.h"

#define NCLIENTS 4

static struct tu_log order;             /* client id at each grant */
static hs_cap_t cap[NCLIENTS];          /* client i's capability */
static hs_status st_of[NCLIENTS][4];
static hs_time_t when_of[NCLIENTS];
static uint64_t phase_of[NCLIENTS];

static void reset(void)
{
    tu_log_reset(&order);
    for (int i = 0; i < NCLIENTS; i++) {
        cap[i] = 0;
        when_of[i] = HS_NEVER;
        phase_of[i] = 0xbad;
        for (int j = 0; j < 4; j++)
            st_of[i][j] = HS_STATUS_COUNT;
    }
}

static int server(void *arg)
{
    (void)arg;
    (void)lock_serve(0);
    return 0;
}

/* The server below the caller's priority, and one capability per client
 * with label id + 1. */
static void start_server(void)
{
    hs_thread_attr a = { .name = "lock", .priority = HS_PRIO_DEFAULT - 1,
                         .priority_set = 1 };
    hs_tid_t t = 0;
    hs_cap_t gate = 0;
    EXPECT_ST(hs_thread_create(server, NULL, &a, &t), HS_OK);
    EXPECT_ST(hs_gate_create(t, 0, &gate), HS_OK);
    for (int i = 0; i < NCLIENTS; i++)
        EXPECT_ST(hs_cap_derive(gate, HS_CAP_SEND, (uint64_t)i + 1,
                                &cap[i]), HS_OK);
}

/* Client arg: asks at time 10 * id, holds the lock 100 ns, releases. */
static int fifo_client(void *arg)
{
    int id = tu_arg_id(arg);
    tu_sleep_until(10 * (hs_time_t)id);
    st_of[id][0] = lock_acquire(cap[id], HS_NEVER);
    tu_log_add(&order, id);
    when_of[id] = hs_time_now();
    tu_sleep_until(hs_time_now() + 100);
    st_of[id][1] = lock_release(cap[id]);
    return 0;
}

static int fifo_main(void *arg)
{
    (void)arg;
    start_server();
    hs_tid_t t[NCLIENTS];
    for (int i = 0; i < NCLIENTS; i++)
        t[i] = tu_mk(fifo_client, tu_id_arg(i), 0);
    for (int i = 0; i < NCLIENTS; i++)
        tu_join(t[i]);
    return 0;
}

/* Each waiter gets the lock the moment the one before releases it, in the
 * order they asked: no polling, no gap. */
static void test_lock_grants_in_order_on_release(void **state)
{
    (void)state;
    reset();
    tu_run_one(NULL, "main", fifo_main, NULL, NULL);
    static const int want[] = { 0, 1, 2, 3 };
    assert_log(&order, want, NCLIENTS);
    for (int i = 0; i < NCLIENTS; i++) {
        assert_int_equal(st_of[i][0], HS_OK);
        assert_int_equal(st_of[i][1], HS_OK);
        assert_int_equal(when_of[i], 100 * (hs_time_t)i);
    }
}

/* Client 1 gives up at time 50 while client 0 holds the lock until 100;
 * client 2, queued after it, gets the lock at 100. */
static int impatient(void *arg)
{
    (void)arg;
    tu_sleep_until(10);
    st_of[1][0] = lock_acquire(cap[1], 40);
    phase_of[1] = hs_utcb()->phase;
    when_of[1] = hs_time_now();
    return 0;
}

static int holder(void *arg)
{
    (void)arg;
    st_of[0][0] = lock_acquire(cap[0], HS_NEVER);
    st_of[0][1] = lock_acquire(cap[0], HS_NEVER);    /* holds it already */
    st_of[0][2] = lock_release(cap[3]);              /* not the holder */
    tu_sleep_until(100);
    st_of[0][3] = lock_release(cap[0]);
    return 0;
}

static int patient(void *arg)
{
    (void)arg;
    tu_sleep_until(20);
    st_of[2][0] = lock_acquire(cap[2], HS_NEVER);
    when_of[2] = hs_time_now();
    st_of[2][1] = lock_release(cap[2]);
    st_of[2][2] = lock_release(cap[2]);              /* free now */
    return 0;
}

static int give_up_main(void *arg)
{
    (void)arg;
    start_server();
    hs_tid_t a = tu_mk(holder, NULL, 0);
    hs_tid_t b = tu_mk(impatient, NULL, 0);
    hs_tid_t c = tu_mk(patient, NULL, 0);
    tu_join(a);
    tu_join(b);
    tu_join(c);
    return 0;
}

static void test_lock_skips_a_waiter_that_gave_up(void **state)
{
    (void)state;
    reset();
    tu_run_one(NULL, "main", give_up_main, NULL, NULL);
    assert_int_equal(st_of[0][0], HS_OK);
    assert_int_equal(st_of[0][1], HS_EDEADLK);
    assert_int_equal(st_of[0][2], HS_EPERM);
    assert_int_equal(st_of[0][3], HS_OK);
    assert_int_equal(st_of[1][0], HS_ETIMEOUT);
    assert_int_equal(phase_of[1], HS_PHASE_RECV);
    assert_int_equal(when_of[1], 50);
    assert_int_equal(st_of[2][0], HS_OK);
    assert_int_equal(when_of[2], 100);
    assert_int_equal(st_of[2][1], HS_OK);
    assert_int_equal(st_of[2][2], HS_EPERM);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        TU_TEST(test_lock_grants_in_order_on_release),
        TU_TEST(test_lock_skips_a_waiter_that_gave_up),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
