/*
 * tests/test_ipc.c - synchronous IPC through gates: call and reply, labels,
 * many clients, send and receive timeouts, stale and missing replies,
 * receiving from nobody, ended partners, rights, revocation and deletion,
 * tag validation and message copying, the order of blocked senders,
 * priority inheritance while serving, giving capabilities to a child (not
 * to one that has ended), short messages and replies leaving the
 * registers past them alone, a send to the sender's own gate; every
 * operation with every kind of timeout at exact virtual times,
 * capabilities as typed items (in calls and replies, the receive window,
 * rights, quota, revocation through a message), cancelling each kind of
 * wait, a chain of calls through five proxies, a reply to a caller that
 * died, who runs after a reply-and-wait (the caller is handed the CPU
 * only when the scheduler would pick it anyway), and a send through a
 * capability of another kind.
 *
 * Simulated threads record what they saw in the statics below (and check
 * statuses with EXPECT_ST); the test asserts after hs_sim_run().  Timing is
 * set with sleeps on the virtual clock, so every expected time is exact.
 * Every simulated thread ends, so every run must end with HS_OK.
 */
#include "testutil.h"

#define NREC 64

static hs_time_t when[NREC];
static uint64_t word[NREC];
static uint64_t phase[NREC];
static hs_status status[NREC];
static int prio_seen[NREC];
static struct tu_log order;

/* Shared between threads of one test. */
static hs_cap_t gate_cap;
static hs_cap_t client_cap[NREC];
static hs_cap_t given_cap;

static void reset(void)
{
    for (int i = 0; i < NREC; i++) {
        when[i] = HS_NEVER;
        word[i] = 0xbad;
        phase[i] = 0xbad;
        status[i] = HS_STATUS_COUNT;
        prio_seen[i] = -1;
        client_cap[i] = 0;
    }
    gate_cap = 0;
    given_cap = 0;
    tu_log_reset(&order);
}

/* Reset the records, run entry(arg) as the root process "main": must end
 * HS_OK. */
static void run_main(hs_entry_fn entry, void *arg)
{
    reset();
    tu_run_one(NULL, "main", entry, arg, NULL);
}

/* Reset the records and start a simulation; the test spawns its roots
 * with spawn_root() and calls hs_sim_run(). */
static void start(void)
{
    hs_sim_config cfg = tu_config();
    reset();
    tu_status_reset();
    assert_int_equal(hs_sim_start(&cfg), HS_OK);
}

static hs_pid_t spawn_root(const char *name, hs_entry_fn entry, void *arg)
{
    hs_pid_t pid = 0;
    assert_int_equal(hs_proc_spawn(name, entry, arg, NULL, &pid), HS_OK);
    return pid;
}

/* ---- 1. call and reply -------------------------------------------------- */

static uint64_t srv_label, srv_tag;

static int rt_server(void *arg)
{
    (void)arg;
    hs_utcb_t *u = hs_utcb();
    EXPECT_ST(hs_ipc_wait(HS_NEVER, &srv_label), HS_OK);
    srv_tag = u->tag;
    word[0] = u->mr[0];
    word[1] = u->mr[1];
    u->tag = HS_TAG(0, 1);
    u->mr[0] = word[0] * 10 + word[1];
    EXPECT_ST(hs_ipc_reply(), HS_OK);
    return 0;
}

static int rt_main(void *arg)
{
    (void)arg;
    hs_tid_t s = tu_mk(rt_server, NULL, 0);
    hs_cap_t g = 0, c = 0;
    EXPECT_ST(hs_gate_create(s, 1, &g), HS_OK);
    EXPECT_ST(hs_cap_derive(g, HS_CAP_SEND, 42, &c), HS_OK);
    hs_utcb_t *u = hs_utcb();
    u->tag = HS_TAG(7, 2);
    u->mr[0] = 3;
    u->mr[1] = 4;
    u->phase = 0xff;
    status[0] = hs_ipc_call(c, HS_NEVER, HS_NEVER);
    word[2] = u->mr[0];
    word[3] = hs_tag_words(u->tag);
    phase[0] = u->phase;
    tu_join(s);
    return 0;
}

static void test_ipc_call_reply_round_trip(void **state)
{
    (void)state;
    srv_label = srv_tag = 0xbad;
    run_main(rt_main, NULL);
    assert_int_equal(status[0], HS_OK);
    assert_int_equal(srv_label, 42);
    assert_int_equal(hs_tag_label(srv_tag), 7);
    assert_int_equal(hs_tag_words(srv_tag), 2);
    assert_int_equal(word[0], 3);
    assert_int_equal(word[1], 4);
    assert_int_equal(word[2], 34);
    assert_int_equal(word[3], 1);
    assert_int_equal(phase[0], HS_PHASE_NONE);
}

/* ---- 2. many clients, many labels -------------------------------------- */

#define NCLIENTS 32

static int many_server(void *arg)
{
    (void)arg;
    hs_utcb_t *u = hs_utcb();
    for (int i = 0; i < NCLIENTS; i++) {
        uint64_t label = 0;
        if (EXPECT_ST(hs_ipc_wait(HS_NEVER, &label), HS_OK) != HS_OK)
            return 1;
        u->mr[0] = label * 1000 + u->mr[0];
        u->tag = HS_TAG(0, 1);
        EXPECT_ST(hs_ipc_reply(), HS_OK);
    }
    return 0;
}

static int many_client(void *arg)
{
    int i = tu_arg_id(arg);
    /* Spread the calls out a little, in an order unlike creation. */
    EXPECT_ST(hs_thread_sleep((hs_time_t)((i * 7) % NCLIENTS) * 10), HS_OK);
    tu_set_msg(0, 1, (uint64_t)i);
    status[i] = hs_ipc_call(client_cap[i], HS_NEVER, HS_NEVER);
    word[i] = hs_utcb()->mr[0];
    return 0;
}

static int many_main(void *arg)
{
    (void)arg;
    hs_tid_t s = tu_mk(many_server, NULL, 0);
    hs_cap_t g = 0;
    EXPECT_ST(hs_gate_create(s, 0, &g), HS_OK);
    for (int i = 0; i < NCLIENTS; i++)
        EXPECT_ST(hs_cap_derive(g, HS_CAP_SEND, (uint64_t)(i + 1),
                                &client_cap[i]), HS_OK);
    hs_tid_t t[NCLIENTS];
    for (int i = 0; i < NCLIENTS; i++)
        t[i] = tu_mk(many_client, tu_id_arg(i), 0);
    for (int i = 0; i < NCLIENTS; i++)
        tu_join(t[i]);
    tu_join(s);
    return 0;
}

static void test_ipc_many_clients_own_replies(void **state)
{
    (void)state;
    run_main(many_main, NULL);
    for (int i = 0; i < NCLIENTS; i++) {
        assert_int_equal(status[i], HS_OK);
        assert_int_equal(word[i], (uint64_t)(i + 1) * 1000 + (uint64_t)i);
    }
}

/* ---- 3. send timeouts -------------------------------------------------- */

static int idle_server(void *arg)
{
    /* Never receives before 10000; then checks nobody is left queued. */
    (void)arg;
    tu_sleep_until(10000);
    status[10] = hs_ipc_wait(HS_NOWAIT, NULL);
    return 0;
}

static int sendto_main(void *arg)
{
    (void)arg;
    hs_tid_t s = tu_mk(idle_server, NULL, 0);
    hs_cap_t g = 0;
    EXPECT_ST(hs_gate_create(s, 0, &g), HS_OK);
    tu_set_msg(0, 1, 5);
    status[0] = hs_ipc_send(g, HS_NOWAIT);
    phase[0] = hs_utcb()->phase;
    when[0] = hs_time_now();
    tu_sleep_until(1000);
    status[1] = hs_ipc_send(g, 3000);
    phase[1] = hs_utcb()->phase;
    when[1] = hs_time_now();
    /* A call with a send timeout: fails in the send phase too. */
    status[2] = hs_ipc_call(g, 500, HS_NEVER);
    phase[2] = hs_utcb()->phase;
    when[2] = hs_time_now();
    tu_join(s);
    return 0;
}

static void test_ipc_send_timeouts(void **state)
{
    (void)state;
    run_main(sendto_main, NULL);
    assert_int_equal(status[0], HS_ETIMEOUT);
    assert_int_equal(phase[0], HS_PHASE_SEND);
    assert_int_equal(when[0], 0);
    assert_int_equal(status[1], HS_ETIMEOUT);
    assert_int_equal(phase[1], HS_PHASE_SEND);
    assert_int_equal(when[1], 4000);
    assert_int_equal(status[2], HS_ETIMEOUT);
    assert_int_equal(phase[2], HS_PHASE_SEND);
    assert_int_equal(when[2], 4500);
    assert_int_equal(status[10], HS_ETIMEOUT);   /* nobody left queued */
}

/* ---- 4. receive timeout, stale reply, the next call -------------------- */

static int slow_server(void *arg)
{
    (void)arg;
    hs_utcb_t *u = hs_utcb();
    tu_sleep_until(1000);
    EXPECT_ST(hs_ipc_wait(HS_NEVER, NULL), HS_OK);
    when[10] = hs_time_now();
    word[10] = u->mr[0];
    tu_sleep_until(7000);
    tu_set_msg(0, 1, 100);                 /* the stale answer */
    status[10] = hs_ipc_reply();
    phase[10] = u->phase;
    EXPECT_ST(hs_ipc_wait(HS_NEVER, NULL), HS_OK);
    word[11] = u->mr[0];
    tu_set_msg(0, 1, 200);
    status[11] = hs_ipc_reply();
    return 0;
}

static int slow_main(void *arg)
{
    (void)arg;
    hs_utcb_t *u = hs_utcb();
    hs_tid_t s = tu_mk(slow_server, NULL, 0);
    hs_cap_t g = 0;
    EXPECT_ST(hs_gate_create(s, 0, &g), HS_OK);
    tu_set_msg(0, 1, 1);
    status[0] = hs_ipc_call(g, HS_NEVER, 5000);
    phase[0] = u->phase;
    when[0] = hs_time_now();
    word[0] = u->mr[0];
    tu_sleep_until(8000);
    word[1] = u->mr[0];                 /* the stale reply did not land */
    tu_set_msg(0, 1, 2);
    status[1] = hs_ipc_call(g, HS_NEVER, HS_NEVER);
    phase[1] = u->phase;
    word[2] = u->mr[0];
    when[1] = hs_time_now();
    tu_join(s);
    return 0;
}

static void test_ipc_recv_timeout_then_stale_reply(void **state)
{
    (void)state;
    run_main(slow_main, NULL);
    assert_int_equal(when[10], 1000);           /* the send completed */
    assert_int_equal(word[10], 1);
    assert_int_equal(status[0], HS_ETIMEOUT);
    assert_int_equal(phase[0], HS_PHASE_RECV);
    assert_int_equal(when[0], 1000 + 5000);
    assert_int_equal(status[10], HS_ESTALE);
    assert_int_equal(phase[10], HS_PHASE_SEND);
    assert_int_not_equal(word[1], 100);
    assert_int_equal(word[11], 2);
    assert_int_equal(status[11], HS_OK);
    assert_int_equal(status[1], HS_OK);
    assert_int_equal(phase[1], HS_PHASE_NONE);
    assert_int_equal(word[2], 200);
    assert_int_equal(when[1], 8000);
}

/* ---- 5. no reply capability -------------------------------------------- */

static int noreply_server(void *arg)
{
    (void)arg;
    hs_utcb_t *u = hs_utcb();
    tu_set_msg(0, 1, 0);
    status[10] = hs_ipc_reply();                /* never received */
    phase[10] = u->phase;
    EXPECT_ST(hs_ipc_wait(HS_NEVER, NULL), HS_OK);
    tu_set_msg(0, 1, 11);
    status[11] = hs_ipc_reply();
    status[12] = hs_ipc_reply();                /* again */
    EXPECT_ST(hs_ipc_wait(HS_NEVER, NULL), HS_OK);
    status[13] = hs_ipc_wait(HS_NOWAIT, NULL);  /* ends the reply cap */
    tu_set_msg(0, 1, 22);
    status[14] = hs_ipc_reply();
    /* Outlive the caller's receive timeout: were it to end now, the
     * caller would get HS_EPARTNER at once. */
    tu_sleep_until(10000);
    return 0;
}

static int noreply_main(void *arg)
{
    (void)arg;
    hs_tid_t s = tu_mk(noreply_server, NULL, 0);
    hs_cap_t g = 0;
    EXPECT_ST(hs_gate_create(s, 0, &g), HS_OK);
    tu_sleep_until(100);
    tu_set_msg(0, 1, 1);
    status[0] = hs_ipc_call(g, HS_NEVER, HS_NEVER);
    word[0] = hs_utcb()->mr[0];
    tu_set_msg(0, 1, 2);
    hs_time_t t0 = hs_time_now();
    status[1] = hs_ipc_call(g, HS_NEVER, 3000);
    phase[1] = hs_utcb()->phase;
    when[1] = hs_time_now() - t0;
    word[1] = hs_utcb()->mr[0];
    tu_join(s);
    return 0;
}

static void test_ipc_reply_without_call(void **state)
{
    (void)state;
    run_main(noreply_main, NULL);
    assert_int_equal(status[10], HS_ENOREPLY);
    assert_int_equal(phase[10], HS_PHASE_SEND);
    assert_int_equal(status[0], HS_OK);
    assert_int_equal(word[0], 11);
    assert_int_equal(status[11], HS_OK);
    assert_int_equal(status[12], HS_ENOREPLY);
    assert_int_equal(status[13], HS_ETIMEOUT);
    assert_int_equal(status[14], HS_ENOREPLY);
    assert_int_equal(status[1], HS_ETIMEOUT);
    assert_int_equal(phase[1], HS_PHASE_RECV);
    assert_int_equal(when[1], 3000);
    assert_int_not_equal(word[1], 22);
}

/* ---- 6. receive from nobody -------------------------------------------- */

static int nobody_main(void *arg)
{
    (void)arg;
    tu_sleep_until(250);
    status[0] = hs_ipc_recv(HS_CAP_NIL, 5000, NULL);
    phase[0] = hs_utcb()->phase;
    when[0] = hs_time_now();
    status[1] = hs_ipc_recv(HS_CAP_NIL, HS_NEVER, NULL);
    when[1] = hs_time_now();
    status[2] = hs_ipc_recv(HS_CAP_NIL, HS_NOWAIT, NULL);
    when[2] = hs_time_now();
    return 0;
}

static void test_ipc_receive_from_nobody(void **state)
{
    (void)state;
    run_main(nobody_main, NULL);
    assert_int_equal(status[0], HS_ETIMEOUT);
    assert_int_equal(phase[0], HS_PHASE_RECV);
    assert_int_equal(when[0], 250 + 5000);
    assert_int_equal(status[1], HS_EINVAL);
    assert_int_equal(when[1], 5250);
    assert_int_equal(status[2], HS_ETIMEOUT);
    assert_int_equal(when[2], 5250);
}

/* ---- 7. the partner ends ----------------------------------------------- */

static int quitter(void *arg)
{
    (void)arg;
    tu_sleep_until(1000);
    return 0;
}

static int take_and_quit(void *arg)
{
    (void)arg;
    EXPECT_ST(hs_ipc_wait(HS_NEVER, NULL), HS_OK);
    when[10] = hs_time_now();
    tu_sleep_until(3000);
    return 0;
}

static int partner_main(void *arg)
{
    (void)arg;
    hs_utcb_t *u = hs_utcb();
    hs_tid_t s1 = tu_mk(quitter, NULL, 0);
    hs_cap_t g1 = 0, g2 = 0;
    EXPECT_ST(hs_gate_create(s1, 0, &g1), HS_OK);
    tu_set_msg(0, 1, 1);
    status[0] = hs_ipc_call(g1, HS_NEVER, HS_NEVER);
    phase[0] = u->phase;
    when[0] = hs_time_now();
    /* The gate's receiver is gone: the capability is refused. */
    status[1] = hs_ipc_send(g1, HS_NOWAIT);
    tu_join(s1);

    hs_tid_t s2 = tu_mk(take_and_quit, NULL, 0);
    EXPECT_ST(hs_gate_create(s2, 0, &g2), HS_OK);
    tu_sleep_until(2000);
    tu_set_msg(0, 1, 2);
    status[2] = hs_ipc_call(g2, HS_NEVER, HS_NEVER);
    phase[2] = u->phase;
    when[2] = hs_time_now();
    tu_join(s2);
    return 0;
}

static void test_ipc_partner_ended(void **state)
{
    (void)state;
    run_main(partner_main, NULL);
    assert_int_equal(status[0], HS_EPARTNER);
    assert_int_equal(phase[0], HS_PHASE_SEND);
    assert_int_equal(when[0], 1000);
    assert_int_equal(status[1], HS_EBADCAP);
    assert_int_equal(when[10], 2000);
    assert_int_equal(status[2], HS_EPARTNER);
    assert_int_equal(phase[2], HS_PHASE_RECV);
    assert_int_equal(when[2], 3000);
}

/* A server that takes two calls before replying supersedes the first
 * caller's reply capability; its end must still wake both callers. */
static int take_two_and_quit(void *arg)
{
    (void)arg;
    EXPECT_ST(hs_ipc_wait(HS_NEVER, NULL), HS_OK);
    EXPECT_ST(hs_ipc_wait(HS_NEVER, NULL), HS_OK);
    tu_sleep_until(3000);
    return 0;
}

static int superseded_caller(void *arg)
{
    int i = tu_arg_id(arg);
    tu_sleep_until(1000 + 500 * i);
    tu_set_msg(0, 1, (uint64_t)i);
    status[i] = hs_ipc_call(gate_cap, HS_NEVER, 10000);
    phase[i] = hs_utcb()->phase;
    when[i] = hs_time_now();
    return 0;
}

static int superseded_main(void *arg)
{
    (void)arg;
    hs_tid_t s = tu_mk(take_two_and_quit, NULL, 0);
    hs_cap_t g = 0;
    EXPECT_ST(hs_gate_create(s, 0, &g), HS_OK);
    gate_cap = g;
    hs_tid_t a = tu_mk(superseded_caller, tu_id_arg(0), 0);
    hs_tid_t b = tu_mk(superseded_caller, tu_id_arg(1), 0);
    tu_join(a);
    tu_join(b);
    tu_join(s);
    return 0;
}

static void test_ipc_server_end_wakes_superseded_caller(void **state)
{
    (void)state;
    run_main(superseded_main, NULL);
    assert_int_equal(status[0], HS_EPARTNER);   /* superseded by b's call */
    assert_int_equal(phase[0], HS_PHASE_RECV);
    assert_int_equal(when[0], 3000);
    assert_int_equal(status[1], HS_EPARTNER);
    assert_int_equal(phase[1], HS_PHASE_RECV);
    assert_int_equal(when[1], 3000);
}

/* ---- deferred replies ------------------------------------------------------ */

#define KEEP_N 20

static hs_reply_t kept[KEEP_N];
static uint64_t kept_word[KEEP_N];
static hs_status keep_st[KEEP_N], answer_st[KEEP_N], again_st;

/* Receives KEEP_N calls, keeps each, and ends without answering one. */
static int keeper(void *arg)
{
    (void)arg;
    for (int i = 0; i < KEEP_N; i++) {
        EXPECT_ST(hs_ipc_wait(HS_NEVER, NULL), HS_OK);
        kept_word[i] = hs_utcb()->mr[0];
        keep_st[i] = hs_ipc_reply_keep(&kept[i]);
    }
    return 0;
}

/* Another thread of the process answers them, newest first. */
static int answerer(void *arg)
{
    (void)arg;
    tu_sleep_until(1000);
    for (int i = KEEP_N - 1; i >= 0; i--) {
        tu_set_msg(0, 1, kept_word[i] * 10);
        answer_st[i] = hs_ipc_reply_to(kept[i]);
    }
    tu_set_msg(0, 1, 0);
    again_st = hs_ipc_reply_to(kept[0]);        /* exactly once */
    return 0;
}

static int kept_caller(void *arg)
{
    int i = tu_arg_id(arg);
    tu_sleep_until(10 + (hs_time_t)i);
    tu_set_msg(0, 1, (uint64_t)i + 1);
    status[i] = hs_ipc_call(gate_cap, HS_NEVER, HS_NEVER);
    word[i] = hs_utcb()->mr[0];
    when[i] = hs_time_now();
    return 0;
}

static int keep_many_main(void *arg)
{
    (void)arg;
    hs_tid_t s = tu_mk(keeper, NULL, 0);
    EXPECT_ST(hs_gate_create(s, 0, &gate_cap), HS_OK);
    hs_tid_t a = tu_mk(answerer, NULL, 0);
    hs_tid_t c[KEEP_N];
    for (int i = 0; i < KEEP_N; i++)
        c[i] = tu_mk(kept_caller, tu_id_arg(i), 0);
    for (int i = 0; i < KEEP_N; i++)
        tu_join(c[i]);
    tu_join(a);
    tu_join(s);
    return 0;
}

static void test_ipc_server_holds_twenty_calls_and_answers_each_once(
    void **state)
{
    (void)state;
    run_main(keep_many_main, NULL);
    for (int i = 0; i < KEEP_N; i++) {
        assert_int_equal(keep_st[i], HS_OK);
        assert_int_equal(answer_st[i], HS_OK);
        assert_int_equal(status[i], HS_OK);
        assert_int_equal(word[i], (uint64_t)(i + 1) * 10);
        assert_int_equal(when[i], 1000);    /* the keeper had ended */
    }
    assert_int_equal(again_st, HS_ESTALE);
}

/* Stale kept replies: a caller that timed out, one cancelled; and the
 * errors of keeping. */
static hs_tid_t cancelled_tid;

static int stale_keeper(void *arg)
{
    (void)arg;
    hs_reply_t r[2] = { 0, 0 };
    status[10] = hs_ipc_reply_keep(NULL);       /* nothing received */
    status[11] = hs_ipc_reply_keep(&r[0]);
    for (int i = 0; i < 2; i++) {
        EXPECT_ST(hs_ipc_wait(HS_NEVER, NULL), HS_OK);
        EXPECT_ST(hs_ipc_reply_keep(&r[i]), HS_OK);
    }
    status[12] = hs_ipc_reply_keep(&r[1]);      /* kept already */
    tu_sleep_until(500);
    tu_set_msg(0, 1, 7);
    status[13] = hs_ipc_reply_to(r[0]);         /* timed out */
    status[14] = hs_ipc_reply_to(r[1]);         /* cancelled */
    status[15] = hs_ipc_reply_to(r[0]);         /* freed */
    return 0;
}

static int timing_out_caller(void *arg)
{
    (void)arg;
    tu_sleep_until(10);
    tu_set_msg(0, 1, 1);
    status[0] = hs_ipc_call(gate_cap, HS_NEVER, 100);
    phase[0] = hs_utcb()->phase;
    when[0] = hs_time_now();
    return 0;
}

static int cancelled_caller(void *arg)
{
    (void)arg;
    tu_sleep_until(20);
    tu_set_msg(0, 1, 2);
    status[1] = hs_ipc_call(gate_cap, HS_NEVER, HS_NEVER);
    phase[1] = hs_utcb()->phase;
    when[1] = hs_time_now();
    return 0;
}

static int stale_main(void *arg)
{
    (void)arg;
    hs_tid_t s = tu_mk(stale_keeper, NULL, 0);
    EXPECT_ST(hs_gate_create(s, 0, &gate_cap), HS_OK);
    hs_tid_t a = tu_mk(timing_out_caller, NULL, 0);
    cancelled_tid = tu_mk(cancelled_caller, NULL, 0);
    tu_sleep_until(300);
    status[2] = hs_ipc_cancel(cancelled_tid);
    tu_join(a);
    tu_join(cancelled_tid);
    tu_join(s);
    return 0;
}

static void test_ipc_kept_reply_of_a_gone_caller_is_stale(void **state)
{
    (void)state;
    run_main(stale_main, NULL);
    assert_int_equal(status[10], HS_EINVAL);
    assert_int_equal(status[11], HS_ENOREPLY);
    assert_int_equal(status[12], HS_ENOREPLY);
    assert_int_equal(status[0], HS_ETIMEOUT);
    assert_int_equal(phase[0], HS_PHASE_RECV);
    assert_int_equal(when[0], 110);
    assert_int_equal(status[2], HS_OK);
    assert_int_equal(status[1], HS_ECANCELED);
    assert_int_equal(when[1], 300);
    assert_int_equal(status[13], HS_ESTALE);
    assert_int_equal(status[14], HS_ESTALE);
    assert_int_equal(status[15], HS_ESTALE);
}

/* Another process cannot answer a kept reply; when the keeping process
 * ends, its caller wakes with HS_EPARTNER. */
static hs_reply_t foreign_kept;

static int keep_child(void *arg)
{
    (void)arg;
    tu_sleep_until(100);
    tu_set_msg(0, 1, 5);
    status[0] = hs_ipc_call(given_cap, HS_NEVER, HS_NEVER);
    phase[0] = hs_utcb()->phase;
    when[0] = hs_time_now();
    return 0;
}

static int keep_and_end_main(void *arg)
{
    (void)arg;
    hs_cap_t g = 0;
    EXPECT_ST(hs_gate_create(0, 0, &g), HS_OK);
    hs_pid_t child = 0;
    EXPECT_ST(hs_proc_spawn("caller", keep_child, NULL, NULL, &child), HS_OK);
    EXPECT_ST(hs_cap_give(child, g, HS_CAP_SEND, &given_cap), HS_OK);
    EXPECT_ST(hs_ipc_wait(HS_NEVER, NULL), HS_OK);
    status[1] = hs_ipc_reply_keep(&foreign_kept);
    tu_sleep_until(200);
    return 0;                   /* the process ends, its call kept */
}

static int foreign_answerer(void *arg)
{
    (void)arg;
    tu_sleep_until(150);
    tu_set_msg(0, 1, 9);
    status[2] = hs_ipc_reply_to(foreign_kept);
    return 0;
}

static void test_ipc_kept_reply_is_its_process_s_and_dies_with_it(
    void **state)
{
    (void)state;
    start();
    spawn_root("server", keep_and_end_main, NULL);
    spawn_root("other", foreign_answerer, NULL);
    assert_int_equal(hs_sim_run(), HS_OK);
    assert_int_equal(status[1], HS_OK);
    assert_int_equal(status[2], HS_EPERM);
    assert_int_equal(status[0], HS_EPARTNER);
    assert_int_equal(phase[0], HS_PHASE_RECV);
    assert_int_equal(when[0], 200);
}

/* ---- serving ---------------------------------------------------------------- */

static hs_tid_t serve_tid;

/* Answers mr[0] + 1 until its wait fails; then, if arg, waits without
 * serving. */
static int ipc_server(void *arg)
{
    uint64_t label;
    hs_status st;
    while ((st = hs_ipc_serve(&label)) == HS_OK) {
        hs_utcb()->mr[0] += 1;
        EXPECT_ST(hs_ipc_reply(), HS_OK);
    }
    status[20] = st;
    if (arg)
        status[21] = hs_ipc_wait(HS_NEVER, NULL);   /* not serving */
    return 0;
}

static int serve_client(void *arg)
{
    (void)arg;
    for (int i = 0; i < 3; i++) {
        tu_set_msg(0, 1, (uint64_t)i * 10);
        status[i] = hs_ipc_call(gate_cap, HS_NEVER, HS_NEVER);
        word[i] = hs_utcb()->mr[0];
    }
    return 0;
}

static int serve_main(void *arg)
{
    serve_tid = tu_mk(ipc_server, arg, 0);
    EXPECT_ST(hs_gate_create(serve_tid, 0, &gate_cap), HS_OK);
    tu_join(tu_mk(serve_client, NULL, 0));
    if (arg) {                          /* cancel the server's serving */
        status[22] = hs_ipc_cancel(serve_tid);
        tu_join(serve_tid);
    }
    return 0;
}

/* Left serving, an IPC server lets the run end normally. */
static void test_ipc_serving_server_lets_the_run_end(void **state)
{
    (void)state;
    run_main(serve_main, NULL);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(status[i], HS_OK);
        assert_int_equal(word[i], (uint64_t)i * 10 + 1);
    }
    assert_int_equal(status[20], HS_STATUS_COUNT);  /* still serving */
}

/* A cancelled serve no longer counts: the same thread then waiting
 * without serving is a deadlock, as an hs_ipc_wait() server always was. */
static void test_ipc_cancelled_serve_is_uncounted(void **state)
{
    (void)state;
    reset();
    hs_sim_config cfg = tu_config();
    assert_int_equal(tu_run(&cfg, "main", serve_main, (void *)1, NULL),
                     HS_EDEADLK);
    assert_int_equal(status[22], HS_OK);
    assert_int_equal(status[20], HS_ECANCELED);
    assert_int_equal(status[21], HS_STATUS_COUNT);  /* blocked at the end */
}

/* A serving thread that a message woke but that has not run yet is
 * still counted as serving; its process ending then must uncount it, or
 * the run, with no thread left, would end as a deadlock. */
static int woken_server(void *arg)
{
    (void)arg;
    status[0] = hs_ipc_serve(NULL);     /* never returns: killed first */
    return 0;
}

static int woken_server_proc(void *arg)
{
    (void)arg;
    hs_tid_t t = tu_mk(woken_server, NULL, 0);  /* at the caller's
                                                   priority */
    hs_cap_t g = 0;
    EXPECT_ST(hs_gate_create(t, 0, &g), HS_OK);
    EXPECT_ST(hs_thread_yield(), HS_OK);    /* the server is serving */
    tu_set_msg(0, 1, 1);
    status[1] = hs_ipc_send(g, HS_NEVER);   /* wakes it; it has not run */
    hs_proc_exit(0);
}

static void test_ipc_serve_woken_then_killed_is_uncounted(void **state)
{
    (void)state;
    run_main(woken_server_proc, NULL);
    assert_int_equal(status[1], HS_OK);
    assert_int_equal(status[0], HS_STATUS_COUNT);
}

/* A thread queued on its own gate (a finite send to itself) behind a
 * higher-priority sender: when it times out, the priority walk from its
 * gate's receiver (itself) must not queue it again. */
static hs_cap_t self_gate;

static int higher_sender(void *arg)
{
    (void)arg;
    tu_set_msg(0, 1, 2);
    status[30] = hs_ipc_send(self_gate, HS_MSEC);
    return 0;
}

static int own_gate_timeout_main(void *arg)
{
    (void)arg;
    EXPECT_ST(hs_gate_create(0, 0, &self_gate), HS_OK);  /* bound to me */
    hs_tid_t t = tu_mk(higher_sender, NULL, HS_PRIO_DEFAULT + 5);
    tu_set_msg(0, 1, 1);                   /* it is queued on me: I queue */
    status[31] = hs_ipc_send(self_gate, 2 * HS_MSEC);    /* behind it */
    int prio = -1;
    EXPECT_ST(hs_thread_get_priority(hs_thread_self(), &prio), HS_OK);
    word[30] = (uint64_t)prio;
    status[32] = hs_ipc_recv(self_gate, HS_NOWAIT, NULL);    /* nobody */
    tu_join(t);
    return 0;
}

static void test_ipc_send_to_own_gate_times_out_cleanly(void **state)
{
    (void)state;
    run_main(own_gate_timeout_main, NULL);
    assert_int_equal(status[30], HS_ETIMEOUT);
    assert_int_equal(status[31], HS_ETIMEOUT);
    assert_int_equal(word[30], HS_PRIO_DEFAULT);    /* nothing lent now */
    assert_int_equal(status[32], HS_ETIMEOUT);
}

/* ---- 8. rights --------------------------------------------------------- */

static int rights_main(void *arg)
{
    (void)arg;
    hs_cap_t g = 0, s = 0, r = 0, x = 0, other = 0;
    EXPECT_ST(hs_gate_create(0, 9, &g), HS_OK);     /* bound to me */
    EXPECT_ST(hs_cap_derive(g, HS_CAP_SEND, 1, &s), HS_OK);
    EXPECT_ST(hs_cap_derive(g, HS_CAP_RECV, 2, &r), HS_OK);
    tu_set_msg(0, 1, 0);
    status[0] = hs_ipc_recv(s, HS_NOWAIT, NULL);
    phase[0] = hs_utcb()->phase;
    status[1] = hs_ipc_recv(r, HS_NOWAIT, NULL);  /* allowed */
    status[2] = hs_ipc_send(r, HS_NOWAIT);
    phase[2] = hs_utcb()->phase;
    status[3] = hs_ipc_send(s, HS_NOWAIT);           /* allowed */
    status[4] = hs_ipc_call(r, HS_NOWAIT, HS_NOWAIT);

    hs_tid_t t = tu_mk(quitter, NULL, 0);
    EXPECT_ST(hs_gate_create(t, 0, &other), HS_OK);
    status[5] = hs_ipc_recv(other, HS_NOWAIT, NULL);

    status[6] = hs_cap_derive(s, HS_CAP_SEND | HS_CAP_RECV, 3, &x);
    status[7] = hs_cap_derive(g, 0, 3, &x);
    status[8] = hs_cap_derive(g, 0x10, 3, &x);
    status[9] = hs_cap_derive(s, HS_CAP_GRANT, 3, &x);
    status[10] = hs_cap_derive(s, HS_CAP_SEND, 3, NULL);

    hs_cap_info info;
    memset(&info, 0, sizeof info);
    status[11] = hs_cap_info_get(s, &info);
    word[0] = info.rights;
    word[1] = info.label;
    word[2] = (uint64_t)info.kind;
    tu_join(t);
    return 0;
}

static void test_ipc_rights(void **state)
{
    (void)state;
    run_main(rights_main, NULL);
    assert_int_equal(status[0], HS_EPERM);
    assert_int_equal(phase[0], HS_PHASE_RECV);
    assert_int_equal(status[1], HS_ETIMEOUT);
    assert_int_equal(status[2], HS_EPERM);
    assert_int_equal(phase[2], HS_PHASE_SEND);
    assert_int_equal(status[3], HS_ETIMEOUT);
    assert_int_equal(status[4], HS_EPERM);
    assert_int_equal(status[5], HS_EPERM);
    assert_int_equal(status[6], HS_EPERM);
    assert_int_equal(status[7], HS_EINVAL);
    assert_int_equal(status[8], HS_EINVAL);
    assert_int_equal(status[9], HS_EPERM);
    assert_int_equal(status[10], HS_EINVAL);
    assert_int_equal(status[11], HS_OK);
    assert_int_equal(word[0], HS_CAP_SEND);
    assert_int_equal(word[1], 1);
    assert_int_equal(word[2], HS_CAP_KIND_GATE);
}

/* ---- 9. revocation and deletion ---------------------------------------- */

/* Whether cap still works: a send to my own gate (I am not receiving)
 * times out if it does. */
static hs_status probe(hs_cap_t c)
{
    tu_set_msg(0, 0, 0);
    return hs_ipc_send(c, HS_NOWAIT);
}

static int revoke_main(void *arg)
{
    (void)arg;
    hs_cap_t g = 0, a = 0, b = 0, c = 0, d = 0, e = 0;
    EXPECT_ST(hs_gate_create(0, 0, &g), HS_OK);
    EXPECT_ST(hs_cap_derive(g, HS_CAP_ALL, 1, &a), HS_OK);
    EXPECT_ST(hs_cap_derive(a, HS_CAP_SEND, 2, &b), HS_OK);
    status[0] = probe(b);
    status[1] = hs_cap_revoke(a);
    status[2] = probe(b);
    status[3] = probe(a);
    status[4] = probe(g);
    status[5] = hs_cap_derive(b, HS_CAP_SEND, 3, &e);   /* from revoked */
    /* A copy made after the revocation works. */
    EXPECT_ST(hs_cap_derive(a, HS_CAP_SEND, 4, &c), HS_OK);
    status[6] = probe(c);
    /* Deleting: the name goes, and copies derived from it stop. */
    status[7] = hs_cap_delete(a);
    status[8] = probe(a);
    status[9] = probe(c);
    status[12] = hs_cap_delete(a);                     /* twice */
    /* ... even once the freed slots (and a's name) are used again. */
    EXPECT_ST(hs_cap_derive(g, HS_CAP_SEND, 5, &d), HS_OK);
    EXPECT_ST(hs_cap_derive(g, HS_CAP_SEND, 6, &e), HS_OK);
    status[10] = probe(c);
    status[11] = probe(d);
    status[13] = probe(0);
    status[14] = probe(12345);
    status[15] = hs_cap_revoke(0);
    status[16] = hs_cap_delete(0);
    status[17] = probe(g);
    /* A revoked name may still be deleted. */
    status[18] = hs_cap_delete(b);
    return 0;
}

static void test_ipc_revoke_and_delete(void **state)
{
    (void)state;
    run_main(revoke_main, NULL);
    assert_int_equal(status[0], HS_ETIMEOUT);
    assert_int_equal(status[1], HS_OK);
    assert_int_equal(status[2], HS_EBADCAP);
    assert_int_equal(status[3], HS_ETIMEOUT);
    assert_int_equal(status[4], HS_ETIMEOUT);
    assert_int_equal(status[5], HS_EBADCAP);
    assert_int_equal(status[6], HS_ETIMEOUT);
    assert_int_equal(status[7], HS_OK);
    assert_int_equal(status[8], HS_EBADCAP);
    assert_int_equal(status[9], HS_EBADCAP);
    assert_int_equal(status[10], HS_EBADCAP);
    assert_int_equal(status[11], HS_ETIMEOUT);
    assert_int_equal(status[12], HS_EBADCAP);
    assert_int_equal(status[13], HS_EBADCAP);
    assert_int_equal(status[14], HS_EBADCAP);
    assert_int_equal(status[15], HS_EBADCAP);
    assert_int_equal(status[16], HS_EBADCAP);
    assert_int_equal(status[17], HS_ETIMEOUT);
    assert_int_equal(status[18], HS_OK);
}

/* ---- 10. tags and message copying -------------------------------------- */

#define MARK 0xdeadbeefull

static int tag_server(void *arg)
{
    (void)arg;
    hs_utcb_t *u = hs_utcb();
    EXPECT_ST(hs_ipc_wait(HS_NEVER, NULL), HS_OK);     /* 64 words */
    word[10] = hs_tag_words(u->tag);
    word[11] = u->mr[0];
    word[12] = u->mr[63];
    word[13] = u->mr[31];
    u->mr[20] = MARK;
    u->mr[12] = MARK;
    EXPECT_ST(hs_ipc_wait(HS_NEVER, NULL), HS_OK);     /* 10 words */
    word[14] = hs_tag_words(u->tag);
    word[15] = u->mr[9];
    word[16] = u->mr[20];
    word[17] = u->mr[12];
    /* A call: a bad reply tag is refused and does not spend the cap. */
    EXPECT_ST(hs_ipc_wait(HS_NEVER, NULL), HS_OK);
    u->tag = HS_TAG(0, 65);
    status[10] = hs_ipc_reply();
    u->tag = HS_TAG(0, 1) | (1ull << 8);
    status[11] = hs_ipc_reply();
    tu_set_msg(0, 1, 55);
    status[12] = hs_ipc_reply();
    return 0;
}

static int tag_main(void *arg)
{
    (void)arg;
    hs_utcb_t *u = hs_utcb();
    hs_tid_t s = tu_mk(tag_server, NULL, 0);
    hs_cap_t g = 0;
    EXPECT_ST(hs_gate_create(s, 0, &g), HS_OK);
    u->tag = HS_TAG(0, 65);
    status[0] = hs_ipc_send(g, HS_NEVER);
    phase[0] = u->phase;
    u->tag = HS_TAG(0, 1) | (1ull << 8);
    status[1] = hs_ipc_send(g, HS_NEVER);
    u->tag = HS_TAG(0, 1) | (1ull << 16);
    status[2] = hs_ipc_call(g, HS_NEVER, HS_NEVER);
    u->tag = HS_TAG(0, 1);
    status[3] = hs_ipc_send(g, HS_TIMEOUT_MAX + 1);
    when[0] = hs_time_now();

    for (unsigned i = 0; i < HS_MR_COUNT; i++)
        u->mr[i] = 1000 + i;
    u->tag = HS_TAG(0, 64);
    status[4] = hs_ipc_send(g, HS_NEVER);
    for (unsigned i = 0; i < HS_MR_COUNT; i++)
        u->mr[i] = 2000 + i;
    u->tag = HS_TAG(0, 10);
    status[5] = hs_ipc_send(g, HS_NEVER);
    tu_set_msg(0, 1, 3);
    status[6] = hs_ipc_call(g, HS_NEVER, HS_NEVER);
    word[0] = u->mr[0];
    tu_join(s);
    return 0;
}

static void test_ipc_tags_and_copy(void **state)
{
    (void)state;
    run_main(tag_main, NULL);
    assert_int_equal(status[0], HS_EINVAL);
    assert_int_equal(phase[0], HS_PHASE_SEND);
    assert_int_equal(status[1], HS_EINVAL);
    assert_int_equal(status[2], HS_EINVAL);
    assert_int_equal(status[3], HS_EINVAL);
    assert_int_equal(when[0], 0);
    assert_int_equal(status[4], HS_OK);
    assert_int_equal(word[10], 64);
    assert_int_equal(word[11], 1000);
    assert_int_equal(word[12], 1063);
    assert_int_equal(word[13], 1031);
    assert_int_equal(status[5], HS_OK);
    assert_int_equal(word[14], 10);
    assert_int_equal(word[15], 2009);
    assert_int_equal(word[16], MARK);
    assert_int_equal(word[17], MARK);
    assert_int_equal(status[10], HS_EINVAL);
    assert_int_equal(status[11], HS_EINVAL);
    assert_int_equal(status[12], HS_OK);
    assert_int_equal(status[6], HS_OK);
    assert_int_equal(word[0], 55);
}

/* ---- 10b. the fast paths and the general ones ------------------------- */

/* A call of registers only (at most 8 words, no items) to a receiver
 * waiting for it, and a reply-and-wait of registers only, take fast
 * paths; a 9-word message takes the general ones.  Both must do the
 * same: the same replies, and the same events (no event names a message's
 * length), so the same hash.  A fast path that forgot an event, recorded
 * one in another order or handed the CPU another way would differ. */
#define PATH_ROUNDS 40
#define PATH_STOP 9

static unsigned path_words;         /* words per message of the run */
static uint64_t path_bad;           /* wrong replies or statuses */

static int path_server(void *arg)
{
    (void)arg;
    hs_utcb_t *u = hs_utcb();
    uint64_t label = 0;
    hs_status st = hs_ipc_wait(HS_NEVER, &label);
    while (st == HS_OK && hs_tag_label(u->tag) != PATH_STOP) {
        unsigned n = hs_tag_words(u->tag);
        for (unsigned w = 0; w < n; w++)
            u->mr[w] = u->mr[w] * 2 + label;
        u->tag = HS_TAG(1, n);
        st = hs_ipc_reply_wait(HS_NEVER, &label);
    }
    if (st != HS_OK)
        path_bad++;
    return 0;
}

static int path_main(void *arg)
{
    (void)arg;
    hs_tid_t s = tu_mk(path_server, NULL, 0);
    hs_cap_t g = 0, c = 0;
    EXPECT_ST(hs_gate_create(s, 0, &g), HS_OK);
    EXPECT_ST(hs_cap_derive(g, HS_CAP_SEND, 5, &c), HS_OK);
    hs_utcb_t *u = hs_utcb();
    for (uint64_t i = 0; i < PATH_ROUNDS; i++) {
        for (unsigned w = 0; w < path_words; w++)
            u->mr[w] = i * 100 + w;
        u->tag = HS_TAG(2, path_words);
        /* Every fourth call waits a little first: the server is then
         * still waiting, as on every call, but the clock has moved. */
        if (i % 4 == 3)
            EXPECT_ST(hs_thread_sleep(7), HS_OK);
        if (hs_ipc_call(c, HS_NEVER, 1000) != HS_OK ||
            hs_tag_label(u->tag) != 1 || hs_tag_words(u->tag) != path_words)
            path_bad++;
        for (unsigned w = 0; w < path_words; w++)
            if (u->mr[w] != (i * 100 + w) * 2 + 5)
                path_bad++;
    }
    u->tag = HS_TAG(PATH_STOP, 0);
    EXPECT_ST(hs_ipc_send(c, HS_NEVER), HS_OK);
    tu_join(s);
    return 0;
}

static hs_sim_summary path_run(unsigned words)
{
    path_words = words;
    path_bad = 0;
    run_main(path_main, NULL);
    assert_int_equal(path_bad, 0);
    return tu_summary();
}

static void test_ipc_fast_and_general_paths_record_the_same(void **state)
{
    (void)state;
    hs_sim_summary fast = path_run(8);
    hs_sim_summary general = path_run(9);
    assert_int_equal(fast.status, HS_OK);
    assert_int_equal(general.status, HS_OK);
    assert_true(fast.events > 2 * PATH_ROUNDS);
    tu_assert_same_run(&fast, &general);
    /* And the fast path again: a run is its own repeat. */
    hs_sim_summary again = path_run(8);
    assert_true(again.hash == fast.hash);
}

/* ---- 11. the order of blocked senders ---------------------------------- */

struct sender { int id, prio; hs_time_t at; };

/* Created in this order; they block at these times. */
static const struct sender senders[4] = {
    { 1, 10, 100 }, { 2, 20, 200 }, { 3, 20, 400 }, { 4, 15, 300 },
};

static int order_sender(void *arg)
{
    const struct sender *s = arg;
    tu_sleep_until(s->at);
    tu_set_msg(0, 1, (uint64_t)s->id);
    status[s->id] = hs_ipc_send(gate_cap, HS_NEVER);
    return 0;
}

static int order_server(void *arg)
{
    (void)arg;
    tu_sleep_until(1000);
    for (int i = 0; i < 4; i++) {
        if (EXPECT_ST(hs_ipc_wait(HS_NEVER, NULL), HS_OK) == HS_OK)
            tu_log_add(&order, (int)hs_utcb()->mr[0]);
    }
    return 0;
}

static int order_main(void *arg)
{
    (void)arg;
    hs_tid_t s = tu_mk(order_server, NULL, 5);
    EXPECT_ST(hs_gate_create(s, 0, &gate_cap), HS_OK);
    hs_tid_t t[4];
    for (int i = 0; i < 4; i++)
        t[i] = tu_mk(order_sender, (void *)&senders[i], senders[i].prio);
    for (int i = 0; i < 4; i++)
        tu_join(t[i]);
    tu_join(s);
    return 0;
}

static void test_ipc_senders_by_priority_then_fifo(void **state)
{
    (void)state;
    run_main(order_main, NULL);
    static const int want[] = { 2, 3, 4, 1 };
    assert_log(&order, want, 4);
    for (int i = 1; i <= 4; i++)
        assert_int_equal(status[i], HS_OK);
}

/* ---- 12. priority inheritance ------------------------------------------ */

static int inherit_server(void *arg)
{
    (void)arg;
    hs_tid_t me = hs_thread_self();
    EXPECT_ST(hs_thread_get_priority(me, &prio_seen[0]), HS_OK);
    for (int round = 0; round < 2; round++) {
        /* Round 0: the caller is already queued; round 1: I wait first. */
        EXPECT_ST(hs_ipc_wait(HS_NEVER, NULL), HS_OK);
        EXPECT_ST(hs_thread_get_priority(me, &prio_seen[1 + 2 * round]),
                  HS_OK);
        tu_set_msg(0, 1, 0);
        EXPECT_ST(hs_ipc_reply(), HS_OK);
        EXPECT_ST(hs_thread_get_priority(me, &prio_seen[2 + 2 * round]),
                  HS_OK);
    }
    /* A call at a lower priority does not lower it. */
    EXPECT_ST(hs_thread_set_priority(me, 20), HS_OK);
    EXPECT_ST(hs_ipc_wait(HS_NEVER, NULL), HS_OK);
    EXPECT_ST(hs_thread_get_priority(me, &prio_seen[5]), HS_OK);
    tu_set_msg(0, 1, 0);
    EXPECT_ST(hs_ipc_reply(), HS_OK);
    return 0;
}

static int inherit_client(void *arg)
{
    (void)arg;
    tu_set_msg(0, 1, 0);
    EXPECT_ST(hs_ipc_call(gate_cap, HS_NEVER, HS_NEVER), HS_OK);
    tu_sleep_until(1000);
    tu_set_msg(0, 1, 0);
    EXPECT_ST(hs_ipc_call(gate_cap, HS_NEVER, HS_NEVER), HS_OK);
    return 0;
}

static int inherit_low(void *arg)
{
    (void)arg;
    tu_sleep_until(2000);
    tu_set_msg(0, 1, 0);
    EXPECT_ST(hs_ipc_call(gate_cap, HS_NEVER, HS_NEVER), HS_OK);
    return 0;
}

static int inherit_main(void *arg)
{
    (void)arg;
    hs_tid_t s = tu_mk(inherit_server, NULL, 5);
    EXPECT_ST(hs_gate_create(s, 0, &gate_cap), HS_OK);
    hs_tid_t c = tu_mk(inherit_client, NULL, 25);
    hs_tid_t l = tu_mk(inherit_low, NULL, 10);
    tu_join(c);
    tu_join(l);
    tu_join(s);
    return 0;
}

static void test_ipc_priority_inheritance(void **state)
{
    (void)state;
    run_main(inherit_main, NULL);
    /* The caller (25) queued its call before the server first ran: the
     * server already runs at its priority. */
    assert_int_equal(prio_seen[0], 25);
    assert_int_equal(prio_seen[1], 25);
    assert_int_equal(prio_seen[2], 5);
    assert_int_equal(prio_seen[3], 25);
    assert_int_equal(prio_seen[4], 5);
    assert_int_equal(prio_seen[5], 20);
}

/* A priority-20 caller queued on a busy priority-5 server lends it its
 * priority at once, so a priority-10 thread that keeps the CPU does not
 * hold the caller up (seed 004). */
#define SPINS 1000

static int spins_done, spins_at_reply, busy_prio;

static int busy_server(void *arg)
{
    (void)arg;
    for (int i = 0; i < 100; i++)       /* busy: not receiving yet */
        hs_thread_yield();
    EXPECT_ST(hs_thread_get_priority(hs_thread_self(), &busy_prio), HS_OK);
    EXPECT_ST(hs_ipc_wait(HS_NEVER, NULL), HS_OK);
    tu_set_msg(0, 1, 1);
    EXPECT_ST(hs_ipc_reply(), HS_OK);
    return 0;
}

static int high_caller(void *arg)
{
    (void)arg;
    tu_set_msg(0, 1, 0);
    status[0] = hs_ipc_call(gate_cap, HS_NEVER, HS_NEVER);
    spins_at_reply = spins_done;
    return 0;
}

/* Keeps the CPU at priority 10; the caller starts once it spins. */
static int spinner(void *arg)
{
    hs_tid_t c = 0;
    for (spins_done = 0; spins_done < SPINS; spins_done++) {
        if (spins_done == 10)
            c = tu_mk(high_caller, NULL, 20);
        hs_thread_yield();
    }
    tu_join(c);
    tu_join((hs_tid_t)(uintptr_t)arg);
    return 0;
}

static int inversion_main(void *arg)
{
    (void)arg;
    hs_tid_t s = tu_mk(busy_server, NULL, 5);
    EXPECT_ST(hs_gate_create(s, 0, &gate_cap), HS_OK);
    tu_join(tu_mk(spinner, (void *)(uintptr_t)s, 10));
    return 0;
}

static void test_ipc_queued_caller_lends_its_priority_to_a_busy_server(
    void **state)
{
    (void)state;
    spins_done = spins_at_reply = busy_prio = -1;
    run_main(inversion_main, NULL);
    assert_int_equal(status[0], HS_OK);
    assert_int_equal(busy_prio, 20);
    assert_int_equal(spins_at_reply, 10);   /* not SPINS: no inversion */
}

/* ---- 13. giving a capability to a child -------------------------------- */

static int give_child(void *arg)
{
    (void)arg;
    hs_utcb_t *u = hs_utcb();
    tu_sleep_until(100);
    /* (Before the call: the server ends after one reply, and its gate
     * with it.) */
    status[1] = hs_ipc_recv(given_cap, HS_NOWAIT, NULL);
    hs_cap_info info;
    memset(&info, 0, sizeof info);
    status[2] = hs_cap_info_get(given_cap, &info);
    word[1] = info.rights;
    word[2] = info.label;
    tu_set_msg(0, 1, 77);
    status[0] = hs_ipc_call(given_cap, HS_NEVER, HS_NEVER);
    word[0] = u->mr[0];
    tu_sleep_until(200);
    status[3] = hs_ipc_send(given_cap, HS_NOWAIT);   /* its gate is gone */
    return 0;
}

static int give_server(void *arg)
{
    (void)arg;
    uint64_t label = 0;
    EXPECT_ST(hs_ipc_wait(HS_NEVER, &label), HS_OK);
    word[10] = label;
    hs_utcb()->mr[0] += 1;
    hs_utcb()->tag = HS_TAG(0, 1);
    EXPECT_ST(hs_ipc_reply(), HS_OK);
    return 0;
}

static hs_pid_t sibling_pid;

static int give_main(void *arg)
{
    (void)arg;
    hs_tid_t s = tu_mk(give_server, NULL, 0);
    hs_cap_t g = 0, nogrant = 0, t = 0;
    EXPECT_ST(hs_gate_create(s, 33, &g), HS_OK);
    EXPECT_ST(hs_cap_derive(g, HS_CAP_SEND, 34, &nogrant), HS_OK);
    hs_pid_t child = 0;
    EXPECT_ST(hs_proc_spawn("child", give_child, NULL, NULL, &child), HS_OK);
    status[10] = hs_cap_give(hs_proc_self(), g, HS_CAP_SEND, &t);
    status[11] = hs_cap_give(sibling_pid, g, HS_CAP_SEND, &t);
    status[12] = hs_cap_give(child, nogrant, HS_CAP_SEND, &t);
    status[13] = hs_cap_give(child, g, 0, &t);
    status[14] = hs_cap_give(child, g, HS_CAP_SEND, &given_cap);
    EXPECT_ST(hs_proc_wait(child, HS_NEVER, NULL), HS_OK);
    tu_join(s);
    return 0;
}

static void test_ipc_cap_give(void **state)
{
    (void)state;
    start();
    sibling_pid = spawn_root("sibling", quitter, NULL);
    spawn_root("parent", give_main, NULL);
    assert_int_equal(hs_sim_run(), HS_OK);
    assert_no_bad_status();
    assert_int_equal(status[10], HS_ENOTCHILD);
    assert_int_equal(status[11], HS_ENOTCHILD);
    assert_int_equal(status[12], HS_EPERM);
    assert_int_equal(status[13], HS_EINVAL);
    assert_int_equal(status[14], HS_OK);
    assert_int_equal(status[0], HS_OK);
    assert_int_equal(word[0], 78);
    assert_int_equal(word[10], 33);
    assert_int_equal(status[1], HS_EPERM);
    assert_int_equal(status[2], HS_OK);
    assert_int_equal(word[1], HS_CAP_SEND);
    assert_int_equal(word[2], 33);
    assert_int_equal(status[3], HS_EBADCAP);
}

/* ---- 14. no capability for a child that has ended ---------------------- */

#define GIVE_MAX_CAPS 8

static int exit_at_once(void *arg)
{
    (void)arg;
    return 0;
}

static int give_zombie_main(void *arg)
{
    (void)arg;
    hs_cap_t g = 0, t = 0x5eed;
    EXPECT_ST(hs_gate_create(0, 1, &g), HS_OK);
    hs_pid_t child = 0;
    EXPECT_ST(hs_proc_spawn("child", exit_at_once, NULL, NULL, &child),
              HS_OK);
    tu_sleep_until(100);            /* the child has ended, unreaped */
    status[0] = hs_cap_give(child, g, HS_CAP_SEND, &t);
    word[0] = t;
    EXPECT_ST(hs_proc_wait(child, HS_NEVER, NULL), HS_OK);
    hs_cap_t c = 0;
    unsigned made = 0;
    while ((status[1] = hs_cap_derive(g, HS_CAP_SEND, 2, &c)) == HS_OK)
        made++;
    word[1] = made;
    return 0;
}

static void test_ipc_cap_give_to_ended_child_is_esrch(void **state)
{
    (void)state;
    hs_sim_config cfg = tu_config();
    cfg.max_caps = GIVE_MAX_CAPS;
    reset();
    assert_int_equal(tu_run(&cfg, "main", give_zombie_main, NULL, NULL),
                     HS_OK);
    assert_no_bad_status();
    /* Nothing leaked: after the reap, every capability but the gate's
     * could be made. */
    assert_int_equal(status[1], HS_ELIMIT);
    assert_int_equal(word[1], GIVE_MAX_CAPS - 1);
    assert_int_equal(status[0], HS_ESRCH);
    assert_int_equal(word[0], 0x5eed);          /* *theirs untouched */
}

/* ---- 15. registers past the message ------------------------------------ */

/* The client (a child process) and the server (a thread of its parent)
 * fill every message register with their own marks before each message;
 * each records the first 8 registers (the fast path's) after each
 * message it receives.  Messages: a 0-word send taken at once, a 3-word
 * send taken from the queue, a 3-word call answered by a 0-word reply, a
 * 0-word call answered by a 3-word reply (of hs_ipc_reply_wait), and a
 * 1-word send with a capability item (3 registers). */
#define FAST_SEEN 8
#define CLIENT_MR(i) (0xc1000ull + (i))
#define SERVER_MR(i) (0x5e000ull + (i))
#define REPLY_MR(i)  (0x7e000ull + (i))

enum { SEEN_SEND0, SEEN_SEND3, SEEN_CALL3, SEEN_CALL0, SEEN_ITEM,
       SEEN_REPLY0, SEEN_REPLY3, SEEN_COUNT };

static uint64_t seen[SEEN_COUNT][FAST_SEEN];

static void mr_fill(uint64_t mark)
{
    for (unsigned i = 0; i < HS_MR_COUNT; i++)
        hs_utcb()->mr[i] = mark + i;
}

static void mr_note(int k)
{
    for (unsigned i = 0; i < FAST_SEEN; i++)
        seen[k][i] = hs_utcb()->mr[i];
}

static int short_client(void *arg)
{
    (void)arg;
    hs_utcb_t *u = hs_utcb();
    tu_sleep_until(10);             /* the server waits already */
    mr_fill(CLIENT_MR(0));
    u->tag = HS_TAG(1, 0);
    status[0] = hs_ipc_send(given_cap, HS_NEVER);
    mr_fill(CLIENT_MR(0));
    u->tag = HS_TAG(2, 3);
    status[1] = hs_ipc_send(given_cap, HS_NEVER);   /* queued until 100 */
    when[1] = hs_time_now();
    mr_fill(CLIENT_MR(0));
    u->tag = HS_TAG(3, 3);
    status[2] = hs_ipc_call(given_cap, HS_NEVER, HS_NEVER);
    mr_note(SEEN_REPLY0);
    mr_fill(CLIENT_MR(0));
    u->tag = HS_TAG(4, 0);
    status[3] = hs_ipc_call(given_cap, HS_NEVER, HS_NEVER);
    mr_note(SEEN_REPLY3);
    mr_fill(CLIENT_MR(0));
    u->mr[1] = HS_ITEM(HS_ITEM_CAP, HS_CAP_SEND);
    u->mr[2] = given_cap;
    u->tag = HS_TAG_ITEMS(5, 1, 1);
    status[4] = hs_ipc_send(given_cap, HS_NEVER);
    return 0;
}

static int short_server(void *arg)
{
    (void)arg;
    hs_utcb_t *u = hs_utcb();
    mr_fill(SERVER_MR(0));
    EXPECT_ST(hs_ipc_wait(HS_NEVER, NULL), HS_OK);
    mr_note(SEEN_SEND0);
    tu_sleep_until(100);
    mr_fill(SERVER_MR(0));
    EXPECT_ST(hs_ipc_wait(HS_NEVER, NULL), HS_OK);
    mr_note(SEEN_SEND3);
    mr_fill(SERVER_MR(0));
    EXPECT_ST(hs_ipc_wait(HS_NEVER, NULL), HS_OK);
    mr_note(SEEN_CALL3);
    mr_fill(REPLY_MR(0));
    u->tag = HS_TAG(0, 0);
    EXPECT_ST(hs_ipc_reply(), HS_OK);
    mr_fill(SERVER_MR(0));
    EXPECT_ST(hs_ipc_wait(HS_NEVER, NULL), HS_OK);
    mr_note(SEEN_CALL0);
    mr_fill(REPLY_MR(0));
    u->tag = HS_TAG(0, 3);
    u->br[HS_BR_CAPS] = 1;
    EXPECT_ST(hs_ipc_reply_wait(HS_NEVER, NULL), HS_OK);
    mr_note(SEEN_ITEM);
    return 0;
}

static int short_main(void *arg)
{
    (void)arg;
    hs_tid_t s = tu_mk(short_server, NULL, 0);
    hs_cap_t g = 0;
    EXPECT_ST(hs_gate_create(s, 9, &g), HS_OK);
    hs_pid_t child = 0;
    EXPECT_ST(hs_proc_spawn("client", short_client, NULL, NULL, &child),
              HS_OK);
    EXPECT_ST(hs_cap_give(child, g, HS_CAP_SEND | HS_CAP_GRANT, &given_cap),
              HS_OK);
    EXPECT_ST(hs_proc_wait(child, HS_NEVER, NULL), HS_OK);
    tu_join(s);
    return 0;
}

/* Registers [0, n) of record k came from the sender (from + i), the rest
 * are the receiver's own (own + i). */
static void assert_seen(int k, unsigned n, uint64_t from, uint64_t own)
{
    for (unsigned i = 0; i < FAST_SEEN; i++)
        assert_int_equal(seen[k][i], (i < n ? from : own) + i);
}

static void test_ipc_short_messages_leave_later_registers_alone(void **state)
{
    (void)state;
    memset(seen, 0, sizeof seen);
    run_main(short_main, NULL);
    for (int i = 0; i < 5; i++)
        assert_int_equal(status[i], HS_OK);
    assert_int_equal(when[1], 100);             /* the queued path */
    assert_seen(SEEN_SEND0, 0, CLIENT_MR(0), SERVER_MR(0));
    assert_seen(SEEN_SEND3, 3, CLIENT_MR(0), SERVER_MR(0));
    assert_seen(SEEN_CALL3, 3, CLIENT_MR(0), SERVER_MR(0));
    assert_seen(SEEN_REPLY0, 0, REPLY_MR(0), CLIENT_MR(0));
    assert_seen(SEEN_CALL0, 0, CLIENT_MR(0), SERVER_MR(0));
    assert_seen(SEEN_REPLY3, 3, REPLY_MR(0), CLIENT_MR(0));
    /* The item message: its word, its item (now the server's name for
     * the capability), then the server's registers as its reply left
     * them. */
    assert_int_equal(seen[SEEN_ITEM][0], CLIENT_MR(0));
    assert_int_equal(seen[SEEN_ITEM][1], HS_ITEM(HS_ITEM_CAP, HS_CAP_SEND));
    assert_true(seen[SEEN_ITEM][2] != 0 &&
                seen[SEEN_ITEM][2] != CLIENT_MR(2));
    for (unsigned i = 3; i < FAST_SEEN; i++)
        assert_int_equal(seen[SEEN_ITEM][i], REPLY_MR(i));
}

/* ---- 16. a send to the sender's own gate -------------------------------- */

static hs_cap_t own_gate;

static int own_gate_sender(void *arg)
{
    (void)arg;
    tu_set_msg(0, 1, 41);
    EXPECT_ST(hs_ipc_send(own_gate, HS_NEVER), HS_OK);
    return 0;
}

static int own_gate_main(void *arg)
{
    (void)arg;
    hs_utcb_t *u = hs_utcb();
    EXPECT_ST(hs_gate_create(0, 6, &own_gate), HS_OK);
    tu_set_msg(0, 1, 7);
    status[0] = hs_ipc_send(own_gate, HS_NEVER);
    phase[0] = u->phase;
    status[1] = hs_ipc_call(own_gate, HS_NEVER, HS_NEVER);
    phase[1] = u->phase;
    when[0] = hs_time_now();
    /* A finite send timeout just expires. */
    status[2] = hs_ipc_send(own_gate, 50);
    when[1] = hs_time_now();
    status[3] = hs_ipc_call(own_gate, HS_NOWAIT, HS_NEVER);
    /* Nothing changed: the gate still brings another thread's message. */
    hs_tid_t t = tu_mk(own_gate_sender, NULL, 0);
    uint64_t label = 0;
    status[4] = hs_ipc_recv(own_gate, HS_NEVER, &label);
    word[0] = u->mr[0];
    word[1] = label;
    tu_join(t);
    return 0;
}

static void test_ipc_send_to_own_gate_never_is_edeadlk(void **state)
{
    (void)state;
    run_main(own_gate_main, NULL);
    assert_int_equal(status[0], HS_EDEADLK);
    assert_int_equal(phase[0], HS_PHASE_SEND);
    assert_int_equal(status[1], HS_EDEADLK);
    assert_int_equal(phase[1], HS_PHASE_SEND);
    assert_int_equal(when[0], 0);
    assert_int_equal(status[2], HS_ETIMEOUT);
    assert_int_equal(when[1], 50);
    assert_int_equal(status[3], HS_ETIMEOUT);
    assert_int_equal(status[4], HS_OK);
    assert_int_equal(word[0], 41);
    assert_int_equal(word[1], 6);
}

/* ---- 17. every operation, every timeout kind --------------------------- */

/*
 * Case i runs one operation starting at virtual time T0 = 1000 * (i + 1)
 * against a partner that arrives at T0 + 300.  Each operation is tried
 * with HS_NOWAIT (fails at T0), 100 (fails at T0 + 100), 1000 and
 * HS_NEVER (both succeed at T0 + 300).
 */
enum op { OP_SEND, OP_RECV_CLOSED, OP_WAIT_OPEN, OP_CALL_SEND,
          OP_REPLY_WAIT, OP_COUNT };

static const hs_time_t kinds[] = { HS_NOWAIT, 100, 1000, HS_NEVER };
#define NKINDS 4

static hs_cap_t t_gate;         /* bound to t_partner */
static hs_cap_t t_mygate;       /* bound to the thread under test */

static hs_time_t case_start(int c)
{
    return 1000 * (hs_time_t)(c + 1);
}

/* The partner of each case: arrives 300 after the case starts. */
static int t_partner(void *arg)
{
    (void)arg;
    for (int c = 0; c < OP_COUNT * NKINDS; c++) {
        enum op op = (enum op)(c / NKINDS);
        tu_sleep_until(case_start(c) + 300);
        switch (op) {
        case OP_SEND:           /* take the message, if it is still sent */
        case OP_CALL_SEND:      /* and answer a call at once */
            if (hs_ipc_recv(t_gate, HS_NOWAIT, NULL) == HS_OK &&
                op == OP_CALL_SEND)
                EXPECT_ST(hs_ipc_reply(), HS_OK);
            break;
        case OP_RECV_CLOSED:
        case OP_WAIT_OPEN:
        case OP_REPLY_WAIT:     /* send one message, if it is taken */
            tu_set_msg(0, 1, (uint64_t)c);
            (void)hs_ipc_send(t_mygate, HS_NOWAIT);
            break;
        case OP_COUNT:
            break;
        }
    }
    return 0;
}

static int timeouts_main(void *arg)
{
    (void)arg;
    hs_tid_t p = tu_mk(t_partner, NULL, 0);
    EXPECT_ST(hs_gate_create(p, 0, &t_gate), HS_OK);
    EXPECT_ST(hs_gate_create(0, 0, &t_mygate), HS_OK);
    hs_utcb_t *u = hs_utcb();
    for (int c = 0; c < OP_COUNT * NKINDS; c++) {
        enum op op = (enum op)(c / NKINDS);
        hs_time_t to = kinds[c % NKINDS];
        tu_sleep_until(case_start(c));
        tu_set_msg(0, 1, 0);
        switch (op) {
        case OP_SEND:
            status[c] = hs_ipc_send(t_gate, to);
            break;
        case OP_RECV_CLOSED:
            status[c] = hs_ipc_recv(t_mygate, to, NULL);
            break;
        case OP_WAIT_OPEN:
            status[c] = hs_ipc_wait(to, NULL);
            break;
        case OP_CALL_SEND:
            status[c] = hs_ipc_call(t_gate, to, HS_NEVER);
            break;
        case OP_REPLY_WAIT:
            /* No reply capability: the reply fails first. */
            status[c] = hs_ipc_reply_wait(to, NULL);
            break;
        case OP_COUNT:
            break;
        }
        phase[c] = u->phase;
        when[c] = hs_time_now() - case_start(c);
    }
    tu_join(p);
    return 0;
}

/* Send, closed and open receive and a call's send phase; reply-and-wait
 * without a call.  The reply phase of a call and a real reply-and-wait
 * follow in the next test. */
static void test_timeouts_send_receive_wait(void **state)
{
    (void)state;
    run_main(timeouts_main, NULL);
    static const enum op ops[] = { OP_SEND, OP_RECV_CLOSED, OP_WAIT_OPEN,
                                   OP_CALL_SEND };
    for (unsigned i = 0; i < 4; i++) {
        int c = (int)ops[i] * NKINDS;
        uint64_t ph = ops[i] == OP_SEND || ops[i] == OP_CALL_SEND
                          ? HS_PHASE_SEND : HS_PHASE_RECV;
        /* HS_NOWAIT: fails at once. */
        assert_int_equal(status[c], HS_ETIMEOUT);
        assert_int_equal(phase[c], ph);
        assert_int_equal(when[c], 0);
        /* 100: fails when it runs out. */
        assert_int_equal(status[c + 1], HS_ETIMEOUT);
        assert_int_equal(phase[c + 1], ph);
        assert_int_equal(when[c + 1], 100);
        /* 1000 and HS_NEVER: the partner comes at 300. */
        assert_int_equal(status[c + 2], HS_OK);
        assert_int_equal(phase[c + 2], HS_PHASE_NONE);
        assert_int_equal(when[c + 2], 300);
        assert_int_equal(status[c + 3], HS_OK);
        assert_int_equal(when[c + 3], 300);
    }
    /* Reply-and-wait without a call to answer fails in the send phase at
     * once, whatever its timeout. */
    for (int c = OP_REPLY_WAIT * NKINDS; c < OP_COUNT * NKINDS; c++) {
        assert_int_equal(status[c], HS_ENOREPLY);
        assert_int_equal(phase[c], HS_PHASE_SEND);
        assert_int_equal(when[c], 0);
    }
}

/* A call's receive timeout starts when the send completes; reply-and-wait
 * answers, then waits with its own timeout. */
static hs_cap_t rw_gate, rw_back;

static int rw_server(void *arg)
{
    (void)arg;
    /* Take four calls at 500 after each starts; answer each at 800. */
    for (int i = 0; i < NKINDS; i++) {
        hs_time_t t0 = 10000 * (hs_time_t)(i + 1);
        tu_sleep_until(t0 + 500);
        EXPECT_ST(hs_ipc_recv(rw_gate, HS_NEVER, NULL), HS_OK);
        when[20 + i] = hs_time_now() - t0;
        tu_sleep_until(t0 + 800);
        tu_set_msg(0, 1, (uint64_t)i);
        status[20 + i] = hs_ipc_reply();
    }
    /* Reply-and-wait with each timeout kind; a message arrives 300 after
     * the wait starts, for the kinds that can see it. */
    for (int i = 0; i < NKINDS; i++) {
        hs_time_t t0 = 100000 + 10000 * (hs_time_t)i;
        tu_sleep_until(t0);
        EXPECT_ST(hs_ipc_recv(rw_gate, HS_NEVER, NULL), HS_OK);
        tu_set_msg(0, 1, 7);
        hs_time_t w0 = hs_time_now();
        status[30 + i] = hs_ipc_reply_wait(kinds[i], NULL);
        phase[30 + i] = hs_utcb()->phase;
        when[30 + i] = hs_time_now() - w0;
    }
    return 0;
}

static int rw_main(void *arg)
{
    (void)arg;
    hs_tid_t s = tu_mk(rw_server, NULL, 0);
    EXPECT_ST(hs_gate_create(s, 0, &rw_gate), HS_OK);
    EXPECT_ST(hs_gate_create(s, 0, &rw_back), HS_OK);
    hs_utcb_t *u = hs_utcb();
    for (int i = 0; i < NKINDS; i++) {
        hs_time_t t0 = 10000 * (hs_time_t)(i + 1);
        tu_sleep_until(t0);
        tu_set_msg(0, 1, 0);
        /* Send phase never times out; the reply comes 300 after the send
         * completes (at 500). */
        status[i] = hs_ipc_call(rw_gate, HS_NEVER, kinds[i]);
        phase[i] = u->phase;
        when[i] = hs_time_now() - t0;
        word[i] = u->mr[0];
    }
    for (int i = 0; i < NKINDS; i++) {
        hs_time_t t0 = 100000 + 10000 * (hs_time_t)i;
        tu_sleep_until(t0);
        tu_set_msg(0, 1, 0);
        EXPECT_ST(hs_ipc_call(rw_gate, HS_NEVER, HS_NEVER), HS_OK);
        tu_sleep_until(t0 + 300);
        tu_set_msg(0, 1, 9);
        status[40 + i] = hs_ipc_send(rw_back, HS_NOWAIT);
    }
    tu_join(s);
    return 0;
}

static void test_timeouts_call_reply_and_reply_wait(void **state)
{
    (void)state;
    run_main(rw_main, NULL);
    for (int i = 0; i < NKINDS; i++)
        assert_int_equal(when[20 + i], 500);        /* send completed */
    /* HS_NOWAIT: the reply wait fails as the send completes. */
    assert_int_equal(status[0], HS_ETIMEOUT);
    assert_int_equal(phase[0], HS_PHASE_RECV);
    assert_int_equal(when[0], 500);
    assert_int_equal(status[20], HS_ESTALE);
    /* 100 from the send (500): fails at 600; the reply is stale. */
    assert_int_equal(status[1], HS_ETIMEOUT);
    assert_int_equal(phase[1], HS_PHASE_RECV);
    assert_int_equal(when[1], 600);
    assert_int_equal(status[21], HS_ESTALE);
    /* 1000 and HS_NEVER: the reply at 800 lands. */
    for (int i = 2; i < NKINDS; i++) {
        assert_int_equal(status[i], HS_OK);
        assert_int_equal(phase[i], HS_PHASE_NONE);
        assert_int_equal(when[i], 800);
        assert_int_equal(word[i], (uint64_t)i);
        assert_int_equal(status[20 + i], HS_OK);
    }
    /* Reply-and-wait: HS_NOWAIT and 100 time out in the receive phase;
     * 1000 and HS_NEVER take the message sent 300 later. */
    assert_int_equal(status[30], HS_ETIMEOUT);
    assert_int_equal(phase[30], HS_PHASE_RECV);
    assert_int_equal(when[30], 0);
    assert_int_equal(status[31], HS_ETIMEOUT);
    assert_int_equal(phase[31], HS_PHASE_RECV);
    assert_int_equal(when[31], 100);
    assert_int_equal(status[32], HS_OK);
    assert_int_equal(when[32], 300);
    assert_int_equal(status[33], HS_OK);
    assert_int_equal(when[33], 300);
    assert_int_equal(status[40], HS_ETIMEOUT);      /* nobody waited */
    assert_int_equal(status[41], HS_ETIMEOUT);
    assert_int_equal(status[42], HS_OK);
    assert_int_equal(status[43], HS_OK);
}

/* ---- 18. capabilities as typed items ----------------------------------- */

static hs_cap_t it_gate;        /* bound to it_server */
static hs_cap_t it_target;      /* bound to it_sink: the cap to pass */
static hs_cap_t it_received;

static int it_sink(void *arg)
{
    (void)arg;
    uint64_t label = 0;
    EXPECT_ST(hs_ipc_wait(HS_NEVER, &label), HS_OK);
    word[10] = label;
    word[11] = hs_utcb()->mr[0];
    status[3] = hs_ipc_wait(1000, NULL);    /* nothing more comes */
    return 0;
}

static int it_server(void *arg)
{
    (void)arg;
    hs_utcb_t *u = hs_utcb();
    u->br[HS_BR_CAPS] = 1;
    EXPECT_ST(hs_ipc_recv(it_gate, HS_NEVER, NULL), HS_OK);
    word[0] = hs_tag_words(u->tag);
    word[1] = hs_tag_items(u->tag);
    word[2] = u->mr[0];
    word[3] = u->mr[1];                 /* item: type and rights */
    it_received = (hs_cap_t)u->mr[2];   /* item: my new name */
    hs_cap_info info;
    memset(&info, 0, sizeof info);
    EXPECT_ST(hs_cap_info_get(it_received, &info), HS_OK);
    word[4] = info.rights;
    word[5] = info.label;
    /* The tag is still the one received, items and all: a reply sets its
     * own. */
    status[2] = hs_ipc_reply();
    u->tag = HS_TAG(0, 0);
    EXPECT_ST(hs_ipc_reply(), HS_OK);
    /* Use it: the sink sees the label of the capability passed. */
    tu_set_msg(0, 1, 77);
    status[0] = hs_ipc_send(it_received, HS_NEVER);
    /* Until the giver revokes it. */
    EXPECT_ST(hs_ipc_recv(it_gate, HS_NEVER, NULL), HS_OK);
    EXPECT_ST(hs_ipc_reply(), HS_OK);
    tu_set_msg(0, 1, 78);
    status[1] = hs_ipc_send(it_received, HS_NOWAIT);
    return 0;
}

static int items_main(void *arg)
{
    (void)arg;
    hs_tid_t sink = tu_mk(it_sink, NULL, 0);
    hs_tid_t srv = tu_mk(it_server, NULL, 0);
    hs_cap_t sink_gate = 0;
    EXPECT_ST(hs_gate_create(sink, 5, &sink_gate), HS_OK);
    EXPECT_ST(hs_cap_derive(sink_gate, HS_CAP_SEND | HS_CAP_GRANT, 55,
                            &it_target), HS_OK);
    EXPECT_ST(hs_gate_create(srv, 0, &it_gate), HS_OK);
    hs_utcb_t *u = hs_utcb();
    u->tag = HS_TAG_ITEMS(3, 1, 1);
    u->mr[0] = 1234;
    u->mr[1] = HS_ITEM(HS_ITEM_CAP, HS_CAP_SEND);
    u->mr[2] = it_target;
    EXPECT_ST(hs_ipc_call(it_gate, HS_NEVER, HS_NEVER), HS_OK);
    tu_sleep_until(100);                /* the sink got its message */
    /* Revoke what it_target passed on: the server's copy stops. */
    EXPECT_ST(hs_cap_revoke(it_target), HS_OK);
    tu_set_msg(0, 0, 0);
    EXPECT_ST(hs_ipc_call(it_gate, HS_NEVER, HS_NEVER), HS_OK);
    tu_join(srv);
    tu_join(sink);
    return 0;
}

static void test_items_cap_in_a_call(void **state)
{
    (void)state;
    run_main(items_main, NULL);
    assert_int_equal(word[0], 1);
    assert_int_equal(word[1], 1);
    assert_int_equal(word[2], 1234);
    assert_int_equal(word[3], HS_ITEM(HS_ITEM_CAP, HS_CAP_SEND));
    assert_int_not_equal(it_received, 0);
    assert_int_equal(word[4], HS_CAP_SEND);         /* only what was passed */
    assert_int_equal(word[5], 55);                  /* the label travels */
    /* Replying with the received tag would pass the item on again, and
     * the server's copy has no grant right. */
    assert_int_equal(status[2], HS_EPERM);
    assert_int_equal(status[0], HS_OK);
    assert_int_equal(word[10], 55);
    assert_int_equal(word[11], 77);
    assert_int_equal(status[1], HS_EBADCAP);        /* revoked */
    assert_int_equal(status[3], HS_ETIMEOUT);
}

/* Refused items: nothing lands, the receiver goes on waiting. */
static hs_cap_t bad_gate;
static hs_account bad_before, bad_after;

static int bad_server(void *arg)
{
    (void)arg;
    hs_utcb_t *u = hs_utcb();
    u->br[HS_BR_CAPS] = 1;
    /* Waits while every bad message is refused; takes the good one. */
    EXPECT_ST(hs_ipc_recv(bad_gate, HS_NEVER, NULL), HS_OK);
    word[0] = u->mr[0];
    when[0] = hs_time_now();
    /* A queued sender whose items do not fit is refused at the receive,
     * and the next sender is taken. */
    tu_sleep_until(2000);
    u->br[HS_BR_CAPS] = 1;
    EXPECT_ST(hs_ipc_recv(bad_gate, HS_NEVER, NULL), HS_OK);
    word[1] = u->mr[0];
    word[2] = hs_tag_items(u->tag);
    return 0;
}

static int two_items_sender(void *arg)
{
    hs_cap_t c = (hs_cap_t)tu_arg_id(arg);
    hs_utcb_t *u = hs_utcb();
    u->tag = HS_TAG_ITEMS(0, 1, 2);
    u->mr[0] = 500;
    u->mr[1] = HS_ITEM(HS_ITEM_CAP, HS_CAP_SEND);
    u->mr[2] = c;
    u->mr[3] = HS_ITEM(HS_ITEM_CAP, HS_CAP_SEND);
    u->mr[4] = c;
    status[30] = hs_ipc_send(bad_gate, HS_NEVER);
    phase[30] = u->phase;
    when[30] = hs_time_now();
    return 0;
}

static int plain_sender(void *arg)
{
    (void)arg;
    tu_sleep_until(1500);
    tu_set_msg(0, 1, 600);
    status[31] = hs_ipc_send(bad_gate, HS_NEVER);
    return 0;
}

static int bad_main(void *arg)
{
    (void)arg;
    hs_tid_t srv = tu_mk(bad_server, NULL, 0);
    EXPECT_ST(hs_gate_create(srv, 0, &bad_gate), HS_OK);
    hs_cap_t nogrant = 0, grant = 0;
    EXPECT_ST(hs_cap_derive(bad_gate, HS_CAP_SEND, 0, &nogrant), HS_OK);
    EXPECT_ST(hs_cap_derive(bad_gate, HS_CAP_SEND | HS_CAP_GRANT, 0, &grant),
              HS_OK);
    tu_sleep_until(100);                /* the server waits */
    EXPECT_ST(hs_factory_account(0, &bad_before), HS_OK);
    hs_utcb_t *u = hs_utcb();
    /* 0: an item without the grant right. */
    u->tag = HS_TAG_ITEMS(0, 1, 1);
    u->mr[1] = HS_ITEM(HS_ITEM_CAP, HS_CAP_SEND);
    u->mr[2] = nogrant;
    status[0] = hs_ipc_send(bad_gate, HS_NOWAIT);
    phase[0] = u->phase;
    /* 1: passing a right the capability lacks. */
    u->mr[1] = HS_ITEM(HS_ITEM_CAP, HS_CAP_SEND | HS_CAP_RECV);
    u->mr[2] = grant;
    status[1] = hs_ipc_send(bad_gate, HS_NOWAIT);
    /* 2: an unknown item type; 3: no rights; 4: stray bits. */
    u->mr[1] = HS_ITEM(9, HS_CAP_SEND);
    status[2] = hs_ipc_send(bad_gate, HS_NOWAIT);
    u->mr[1] = HS_ITEM(HS_ITEM_CAP, 0);
    status[3] = hs_ipc_send(bad_gate, HS_NOWAIT);
    u->mr[1] = HS_ITEM(HS_ITEM_CAP, HS_CAP_SEND) | (1u << 20);
    status[4] = hs_ipc_send(bad_gate, HS_NOWAIT);
    /* 5: no such capability; 6: a capability name beyond 32 bits. */
    u->mr[1] = HS_ITEM(HS_ITEM_CAP, HS_CAP_SEND);
    u->mr[2] = 999;
    status[5] = hs_ipc_send(bad_gate, HS_NOWAIT);
    u->mr[2] = (uint64_t)grant | (1ull << 40);
    status[6] = hs_ipc_send(bad_gate, HS_NOWAIT);
    /* 7: words + 2 * items beyond 64; 8: a flag set by the sender. */
    u->tag = HS_TAG_ITEMS(0, 63, 1);
    status[7] = hs_ipc_send(bad_gate, HS_NOWAIT);
    u->tag = HS_TAG(0, 1) | HS_TAG_IRQ;
    status[8] = hs_ipc_send(bad_gate, HS_NOWAIT);
    /* 9: two capabilities, the server takes one: cut, nothing lands. */
    u->tag = HS_TAG_ITEMS(0, 1, 2);
    u->mr[0] = 400;
    u->mr[1] = HS_ITEM(HS_ITEM_CAP, HS_CAP_SEND);
    u->mr[2] = grant;
    u->mr[3] = HS_ITEM(HS_ITEM_CAP, HS_CAP_SEND);
    u->mr[4] = grant;
    status[9] = hs_ipc_send(bad_gate, HS_NEVER);
    phase[9] = u->phase;
    when[9] = hs_time_now();
    EXPECT_ST(hs_factory_account(0, &bad_after), HS_OK);
    /* The good one. */
    tu_set_msg(0, 1, 300);
    tu_sleep_until(1000);
    status[10] = hs_ipc_send(bad_gate, HS_NEVER);
    /* A queued sender with two items, then a plain one. */
    hs_tid_t a = tu_mk(two_items_sender, (void *)(intptr_t)grant, 0);
    hs_tid_t b = tu_mk(plain_sender, NULL, 0);
    tu_join(a);
    tu_join(b);
    tu_join(srv);
    return 0;
}

static void test_items_refused_change_nothing(void **state)
{
    (void)state;
    run_main(bad_main, NULL);
    assert_int_equal(status[0], HS_EPERM);
    assert_int_equal(phase[0], HS_PHASE_SEND);
    assert_int_equal(status[1], HS_EPERM);
    assert_int_equal(status[2], HS_EINVAL);
    assert_int_equal(status[3], HS_EINVAL);
    assert_int_equal(status[4], HS_EINVAL);
    assert_int_equal(status[5], HS_EBADCAP);
    assert_int_equal(status[6], HS_EBADCAP);
    assert_int_equal(status[7], HS_EINVAL);
    assert_int_equal(status[8], HS_EINVAL);
    assert_int_equal(status[9], HS_EMSGCUT);
    assert_int_equal(phase[9], HS_PHASE_SEND);
    assert_int_equal(when[9], 100);
    /* Same process: the account shows no capability was made. */
    assert_int_equal(bad_before.used[HS_RES_CAPS],
                     bad_after.used[HS_RES_CAPS]);
    /* The server took the good message only. */
    assert_int_equal(status[10], HS_OK);
    assert_int_equal(word[0], 300);
    assert_int_equal(when[0], 1000);
    /* The queued two-item sender was refused at the receive (2000), the
     * plain one taken. */
    assert_int_equal(status[30], HS_EMSGCUT);
    assert_int_equal(phase[30], HS_PHASE_SEND);
    assert_int_equal(when[30], 2000);
    assert_int_equal(status[31], HS_OK);
    assert_int_equal(word[1], 600);
    assert_int_equal(word[2], 0);
}

/* A reply carries a capability; a caller that takes none makes the reply
 * fail, and the reply capability stays for a corrected reply. */
static hs_cap_t rp_gate, rp_given;

static int rp_server(void *arg)
{
    (void)arg;
    hs_utcb_t *u = hs_utcb();
    hs_cap_t mine = 0;
    EXPECT_ST(hs_gate_create(0, 8, &mine), HS_OK);
    for (int i = 0; i < 2; i++) {
        EXPECT_ST(hs_ipc_recv(rp_gate, HS_NEVER, NULL), HS_OK);
        u->tag = HS_TAG_ITEMS(0, 1, 1);
        u->mr[0] = 11;
        u->mr[1] = HS_ITEM(HS_ITEM_CAP, HS_CAP_SEND);
        u->mr[2] = mine;
        status[i] = hs_ipc_reply();
        phase[i] = u->phase;
        if (status[i] != HS_OK) {
            tu_set_msg(0, 1, 12);              /* no items this time */
            status[10 + i] = hs_ipc_reply();
        }
    }
    /* A message through the capability that the caller received. */
    uint64_t label = 0;
    EXPECT_ST(hs_ipc_recv(mine, HS_NEVER, &label), HS_OK);
    word[20] = label;
    word[21] = u->mr[0];
    return 0;
}

static int rp_main(void *arg)
{
    (void)arg;
    hs_tid_t s = tu_mk(rp_server, NULL, 0);
    EXPECT_ST(hs_gate_create(s, 0, &rp_gate), HS_OK);
    hs_utcb_t *u = hs_utcb();
    tu_set_msg(0, 0, 0);
    status[2] = hs_ipc_call(rp_gate, HS_NEVER, HS_NEVER);  /* takes none */
    word[2] = u->mr[0];
    word[3] = hs_tag_items(u->tag);
    u->br[HS_BR_CAPS] = 4;
    tu_set_msg(0, 0, 0);
    status[3] = hs_ipc_call(rp_gate, HS_NEVER, HS_NEVER);
    word[4] = u->mr[0];
    word[5] = hs_tag_items(u->tag);
    rp_given = (hs_cap_t)u->mr[2];
    tu_set_msg(0, 1, 99);
    status[4] = hs_ipc_send(rp_given, HS_NEVER);
    tu_join(s);
    return 0;
}

static void test_items_in_a_reply(void **state)
{
    (void)state;
    run_main(rp_main, NULL);
    assert_int_equal(status[0], HS_EMSGCUT);
    assert_int_equal(phase[0], HS_PHASE_SEND);
    assert_int_equal(status[10], HS_OK);        /* the cap was kept */
    assert_int_equal(status[2], HS_OK);
    assert_int_equal(word[2], 12);
    assert_int_equal(word[3], 0);
    assert_int_equal(status[1], HS_OK);
    assert_int_equal(status[3], HS_OK);
    assert_int_equal(word[4], 11);
    assert_int_equal(word[5], 1);
    assert_int_not_equal(rp_given, 0);
    assert_int_equal(status[4], HS_OK);
    assert_int_equal(word[20], 8);
    assert_int_equal(word[21], 99);
}

/* The receiver's process may hold no more capabilities: HS_EQUOTA for
 * the sender, the message does not land, and once the receiver frees a
 * slot the same message goes through. */
static hs_cap_t q_parent_gate;  /* the parent's gate, named in the parent */
static hs_cap_t q_given;        /* its name in the child */

static int q_child(void *arg)
{
    (void)arg;
    tu_sleep_until(10);                 /* the parent has given it */
    hs_cap_t to_parent = q_given;       /* cap 1 of 2 */
    hs_utcb_t *u = hs_utcb();
    hs_cap_t mine = 0;
    EXPECT_ST(hs_gate_create(0, 0, &mine), HS_OK);  /* cap 2 of 2 */
    u->tag = HS_TAG_ITEMS(0, 0, 1);
    u->mr[0] = HS_ITEM(HS_ITEM_CAP, HS_CAP_SEND);
    u->mr[1] = mine;
    EXPECT_ST(hs_ipc_send(to_parent, HS_NEVER), HS_OK);
    u->br[HS_BR_CAPS] = 1;
    EXPECT_ST(hs_ipc_recv(mine, HS_NEVER, NULL), HS_OK);
    word[0] = u->mr[0];                 /* the plain message */
    EXPECT_ST(hs_cap_delete(to_parent), HS_OK);
    EXPECT_ST(hs_ipc_recv(mine, HS_NEVER, NULL), HS_OK);
    word[1] = hs_tag_items(u->tag);
    word[2] = u->mr[0];
    hs_cap_info info;
    status[20] = hs_cap_info_get((hs_cap_t)u->mr[2], &info);
    return 0;
}

static int q_main(void *arg)
{
    (void)arg;
    hs_utcb_t *u = hs_utcb();
    EXPECT_ST(hs_gate_create(0, 0, &q_parent_gate), HS_OK);
    hs_quota q = hs_quota_unlimited();
    q.limit[HS_RES_CAPS] = 2;
    hs_proc_attr a;
    memset(&a, 0, sizeof a);
    a.quota = &q;
    hs_pid_t child = 0;
    EXPECT_ST(hs_proc_spawn("child", q_child, NULL, &a, &child), HS_OK);
    EXPECT_ST(hs_cap_give(child, q_parent_gate,
                          HS_CAP_SEND | HS_CAP_GRANT, &q_given), HS_OK);
    u->br[HS_BR_CAPS] = 1;
    EXPECT_ST(hs_ipc_recv(q_parent_gate, HS_NEVER, NULL), HS_OK);
    hs_cap_t child_gate = (hs_cap_t)u->mr[1];
    hs_account before, after;
    EXPECT_ST(hs_factory_account(child, &before), HS_OK);
    /* Full: refused, nothing lands. */
    u->tag = HS_TAG_ITEMS(0, 1, 1);
    u->mr[0] = 5;
    u->mr[1] = HS_ITEM(HS_ITEM_CAP, HS_CAP_SEND);
    u->mr[2] = q_parent_gate;
    status[0] = hs_ipc_send(child_gate, HS_NEVER);
    phase[0] = u->phase;
    EXPECT_ST(hs_factory_account(child, &after), HS_OK);
    word[10] = before.used[HS_RES_CAPS];
    word[11] = after.used[HS_RES_CAPS];
    word[12] = after.refused[HS_RES_CAPS] - before.refused[HS_RES_CAPS];
    tu_set_msg(0, 1, 6);
    status[1] = hs_ipc_send(child_gate, HS_NEVER);
    /* The child deleted a capability: the same message now lands. */
    u->tag = HS_TAG_ITEMS(0, 1, 1);
    u->mr[0] = 7;
    u->mr[1] = HS_ITEM(HS_ITEM_CAP, HS_CAP_SEND);
    u->mr[2] = q_parent_gate;
    status[2] = hs_ipc_send(child_gate, HS_NEVER);
    EXPECT_ST(hs_proc_wait(child, HS_NEVER, NULL), HS_OK);
    return 0;
}

static void test_items_receiver_quota(void **state)
{
    (void)state;
    run_main(q_main, NULL);
    assert_int_equal(status[0], HS_EQUOTA);
    assert_int_equal(phase[0], HS_PHASE_SEND);
    assert_int_equal(word[10], 2);
    assert_int_equal(word[11], 2);
    assert_int_equal(word[12], 1);
    assert_int_equal(status[1], HS_OK);
    assert_int_equal(word[0], 6);
    assert_int_equal(status[2], HS_OK);
    assert_int_equal(word[1], 1);
    assert_int_equal(word[2], 7);
    assert_int_equal(status[20], HS_OK);
}

/* ---- 19. cancel -------------------------------------------------------- */

static hs_cap_t c_gate, c_idle_gate;
static hs_tid_t c_waiters[5];

static int c_sender(void *arg)
{
    (void)arg;
    tu_set_msg(0, 1, 1);
    status[0] = hs_ipc_send(c_idle_gate, HS_NEVER);
    phase[0] = hs_utcb()->phase;
    when[0] = hs_time_now();
    return 0;
}

static int c_caller(void *arg)
{
    (void)arg;
    tu_set_msg(0, 1, 2);
    status[1] = hs_ipc_call(c_gate, HS_NEVER, HS_NEVER);
    phase[1] = hs_utcb()->phase;
    when[1] = hs_time_now();
    return 0;
}

static int c_receiver(void *arg)
{
    (void)arg;
    status[2] = hs_ipc_wait(HS_NEVER, NULL);
    phase[2] = hs_utcb()->phase;
    when[2] = hs_time_now();
    return 0;
}

static int c_sleeper(void *arg)
{
    (void)arg;
    status[3] = hs_ipc_recv(HS_CAP_NIL, 100000, NULL);
    phase[3] = hs_utcb()->phase;
    when[3] = hs_time_now();
    return 0;
}

/* Takes the call, then replies after its caller was cancelled. */
static int c_server(void *arg)
{
    (void)arg;
    EXPECT_ST(hs_ipc_recv(c_gate, HS_NEVER, NULL), HS_OK);
    tu_sleep_until(500);
    tu_set_msg(0, 1, 3);
    status[4] = hs_ipc_reply();
    return 0;
}

static int c_other_proc(void *arg)
{
    (void)arg;
    status[7] = hs_ipc_cancel(c_waiters[2]);    /* not its thread */
    return 0;
}

static int cancel_main(void *arg)
{
    (void)arg;
    hs_tid_t idle = tu_mk(c_sleeper, NULL, 0);  /* bound to idle_gate */
    EXPECT_ST(hs_gate_create(idle, 0, &c_idle_gate), HS_OK);
    hs_tid_t srv = tu_mk(c_server, NULL, 0);
    EXPECT_ST(hs_gate_create(srv, 0, &c_gate), HS_OK);
    c_waiters[0] = tu_mk(c_sender, NULL, 0);
    c_waiters[1] = tu_mk(c_caller, NULL, 0);
    c_waiters[2] = tu_mk(c_receiver, NULL, 0);
    c_waiters[3] = idle;
    tu_sleep_until(200);                /* everybody blocked */
    hs_pid_t other = 0;
    EXPECT_ST(hs_proc_spawn("other", c_other_proc, NULL, NULL, &other),
              HS_OK);
    EXPECT_ST(hs_proc_wait(other, HS_NEVER, NULL), HS_OK);
    for (int i = 0; i < 4; i++)
        EXPECT_ST(hs_ipc_cancel(c_waiters[i]), HS_OK);
    status[5] = hs_ipc_cancel(c_waiters[0]);    /* no longer waiting */
    status[6] = hs_ipc_cancel(hs_thread_self()); /* running */
    status[8] = hs_ipc_cancel(0);
    for (int i = 0; i < 4; i++)
        tu_join(c_waiters[i]);
    status[9] = hs_ipc_cancel(c_waiters[0]);    /* gone */
    tu_join(srv);
    return 0;
}

static void test_cancel_each_wait(void **state)
{
    (void)state;
    run_main(cancel_main, NULL);
    assert_int_equal(status[0], HS_ECANCELED);
    assert_int_equal(phase[0], HS_PHASE_SEND);
    assert_int_equal(when[0], 200);
    assert_int_equal(status[1], HS_ECANCELED);   /* in the reply wait */
    assert_int_equal(phase[1], HS_PHASE_RECV);
    assert_int_equal(when[1], 200);
    assert_int_equal(status[2], HS_ECANCELED);
    assert_int_equal(phase[2], HS_PHASE_RECV);
    assert_int_equal(status[3], HS_ECANCELED);   /* a sleep */
    assert_int_equal(phase[3], HS_PHASE_RECV);
    assert_int_equal(when[3], 200);
    assert_int_equal(status[4], HS_ESTALE);      /* its caller left */
    assert_int_equal(status[5], HS_ESTATE);
    assert_int_equal(status[6], HS_ESTATE);
    assert_int_equal(status[7], HS_EPERM);
    assert_int_equal(status[8], HS_ESRCH);
    assert_int_equal(status[9], HS_ESRCH);
}

/* ---- 20. client -> 5 proxies -> server --------------------------------- */

#define NPROXY 5
#define ROUNDS 10

static hs_cap_t chain[NPROXY + 1];  /* chain[i]: gate of hop i */

/* Proxy i: forwards each call to the next, adds 1 << (4 * i) to the
 * answer. */
static int proxy(void *arg)
{
    int i = tu_arg_id(arg);
    hs_utcb_t *u = hs_utcb();
    for (int r = 0; r < ROUNDS; r++) {
        EXPECT_ST(hs_ipc_recv(chain[i], HS_NEVER, NULL), HS_OK);
        uint64_t v = u->mr[0];
        /* The implicit reply capability survives our own call. */
        tu_set_msg(0, 1, v + 1);
        EXPECT_ST(hs_ipc_call(chain[i + 1], HS_NEVER, HS_NEVER), HS_OK);
        uint64_t back = u->mr[0];
        tu_set_msg(0, 1, back + ((uint64_t)1 << (4 * i)));
        EXPECT_ST(hs_ipc_reply(), HS_OK);
    }
    return 0;
}

static int end_server(void *arg)
{
    (void)arg;
    hs_utcb_t *u = hs_utcb();
    EXPECT_ST(hs_ipc_recv(chain[NPROXY], HS_NEVER, NULL), HS_OK);
    for (int r = 0;; r++) {
        uint64_t v = u->mr[0];
        tu_set_msg(0, 1, v * 1000000);
        if (r == ROUNDS - 1)
            break;
        EXPECT_ST(hs_ipc_reply_wait(HS_NEVER, NULL), HS_OK);
    }
    EXPECT_ST(hs_ipc_reply(), HS_OK);
    return 0;
}

static int chain_main(void *arg)
{
    (void)arg;
    hs_tid_t t[NPROXY + 1];
    for (int i = 0; i < NPROXY; i++)
        t[i] = tu_mk(proxy, (void *)(intptr_t)i, 0);
    t[NPROXY] = tu_mk(end_server, NULL, 0);
    for (int i = 0; i <= NPROXY; i++)
        EXPECT_ST(hs_gate_create(t[i], 0, &chain[i]), HS_OK);
    for (int r = 0; r < ROUNDS; r++) {
        tu_set_msg(0, 1, (uint64_t)r);
        status[r] = hs_ipc_call(chain[0], HS_NEVER, HS_NEVER);
        word[r] = hs_utcb()->mr[0];
    }
    for (int i = 0; i <= NPROXY; i++)
        tu_join(t[i]);
    return 0;
}

static void test_chain_through_five_proxies(void **state)
{
    (void)state;
    run_main(chain_main, NULL);
    for (int r = 0; r < ROUNDS; r++) {
        assert_int_equal(status[r], HS_OK);
        /* r + 5 at the server, times a million, plus each proxy's mark. */
        assert_int_equal(word[r], ((uint64_t)r + NPROXY) * 1000000 +
                                      0x11111);
    }
}

/* ---- 21. the caller dies while the server holds its call --------------- */

static hs_cap_t dc_gate;

static int dc_killer(void *arg)
{
    (void)arg;
    tu_sleep_until(100);
    hs_proc_exit(3);
}

static int dc_client(void *arg)
{
    (void)arg;
    tu_mk(dc_killer, NULL, 0);
    tu_set_msg(0, 1, 5);
    status[0] = hs_ipc_call(1, HS_NEVER, HS_NEVER);  /* never returns */
    return 0;
}

static int dc_server(void *arg)
{
    (void)arg;
    EXPECT_ST(hs_ipc_recv(dc_gate, HS_NEVER, NULL), HS_OK);
    word[1] = hs_utcb()->mr[0];
    tu_sleep_until(500);
    tu_set_msg(0, 1, 6);
    status[1] = hs_ipc_reply();
    phase[1] = hs_utcb()->phase;
    status[2] = hs_ipc_reply();         /* spent by the stale reply */
    return 0;
}

static int dc_main(void *arg)
{
    (void)arg;
    hs_tid_t s = tu_mk(dc_server, NULL, 0);
    hs_cap_t send = 0;
    EXPECT_ST(hs_gate_create(s, 0, &dc_gate), HS_OK);
    EXPECT_ST(hs_cap_derive(dc_gate, HS_CAP_SEND | HS_CAP_GRANT, 1, &send),
              HS_OK);
    hs_proc_attr a;
    memset(&a, 0, sizeof a);
    a.caps = &send;
    a.ncaps = 1;
    hs_pid_t c = 0;
    int code = 0;
    EXPECT_ST(hs_proc_spawn("client", dc_client, NULL, &a, &c), HS_OK);
    EXPECT_ST(hs_proc_wait(c, HS_NEVER, &code), HS_OK);
    word[0] = (uint64_t)code;
    tu_join(s);
    return 0;
}

static void test_reply_to_a_dead_caller_is_stale(void **state)
{
    (void)state;
    run_main(dc_main, NULL);
    assert_int_equal(word[0], 3);
    assert_int_equal(word[1], 5);
    assert_int_equal(status[0], HS_STATUS_COUNT);   /* it never returned */
    assert_int_equal(status[1], HS_ESTALE);
    assert_int_equal(phase[1], HS_PHASE_SEND);
    assert_int_equal(status[2], HS_ENOREPLY);
}

/* ---- 22. who runs after a reply-and-wait ------------------------------- */

/*
 * hs_ipc_reply_wait() switches straight to the caller it replied to when
 * the wait blocks and the caller is the scheduler's next choice.  Each
 * case below breaks one of those conditions, and the order in `order`
 * shows the caller is not run ahead of what the scheduler owes: a thread
 * of the same priority already queued runs first (FIFO), a queued sender
 * is received at once, pending IRQ bits are received at once.
 */
static hs_cap_t ho_gate;        /* bound to ho_server */
static hs_cap_t ho_irq;         /* bound to ho_server, label 77 */

/* Serves two messages: logs 100 + mr[0] of each (an IRQ logs 100 + its
 * label); while serving a call it sleeps 50 if mr[1] is 1, signals its
 * IRQ if mr[1] is 2. */
static int ho_server(void *arg)
{
    (void)arg;
    hs_utcb_t *u = hs_utcb();
    uint64_t label = 0;
    EXPECT_ST(hs_ipc_wait(HS_NEVER, &label), HS_OK);
    int irq;
    for (int i = 0;; i++) {
        irq = (u->tag & HS_TAG_IRQ) != 0;
        tu_log_add(&order, 100 + (int)(irq ? label : u->mr[0]));
        if (!irq && u->mr[1] == 1)
            tu_sleep_until(hs_time_now() + 50);
        if (!irq && u->mr[1] == 2)
            EXPECT_ST(hs_irq_signal(ho_irq, 1), HS_OK);
        tu_set_msg(0, 1, 0);
        if (i == 1)
            break;
        EXPECT_ST(hs_ipc_reply_wait(HS_NEVER, &label), HS_OK);
    }
    if (!irq)
        EXPECT_ST(hs_ipc_reply(), HS_OK);
    return 0;
}

/* Calls with mr[0] = id (and mr[1] = what the server does), logs id when
 * the reply is back. */
static int ho_client(void *arg)
{
    int id = tu_arg_id(arg);
    tu_set_msg(0, 2, (uint64_t)(id % 10));
    hs_utcb()->mr[1] = (uint64_t)(id / 10);
    EXPECT_ST(hs_ipc_call(ho_gate, HS_NEVER, HS_NEVER), HS_OK);
    tu_log_add(&order, id % 10);
    return 0;
}

/* Logs 9 when it first runs. */
static int ho_bystander(void *arg)
{
    (void)arg;
    tu_log_add(&order, 9);
    return 0;
}

enum ho_case { HO_PLAIN, HO_QUEUED_THREAD, HO_QUEUED_SENDER, HO_IRQ };

static int ho_main(void *arg)
{
    enum ho_case c = (enum ho_case)tu_arg_id(arg);
    hs_tid_t s = tu_mk(ho_server, NULL, 0);
    EXPECT_ST(hs_gate_create(s, 0, &ho_gate), HS_OK);
    EXPECT_ST(hs_irq_create(&ho_irq), HS_OK);
    EXPECT_ST(hs_irq_bind(ho_irq, s, 77), HS_OK);
    hs_tid_t t[3] = {0, 0, 0};
    switch (c) {
    case HO_PLAIN:              /* 1's reply hands over: 1 logs first */
        t[0] = tu_mk(ho_client, (void *)1, 0);
        tu_sleep_until(10);
        t[1] = tu_mk(ho_client, (void *)2, 0);
        break;
    case HO_QUEUED_THREAD:      /* 9 queued while 1 is served: 9 first */
        t[0] = tu_mk(ho_client, (void *)1, 0);
        t[1] = tu_mk(ho_bystander, NULL, 0);
        tu_sleep_until(10);
        t[2] = tu_mk(ho_client, (void *)2, 0);
        break;
    case HO_QUEUED_SENDER:      /* 2 queues while 1 is served: 2 first */
        t[0] = tu_mk(ho_client, (void *)11, 0);
        t[1] = tu_mk(ho_client, (void *)2, 0);
        break;
    case HO_IRQ:                /* the IRQ signalled while 1 is served */
        t[0] = tu_mk(ho_client, (void *)21, 0);
        break;
    }
    for (int i = 0; i < 3; i++)
        if (t[i])
            tu_join(t[i]);
    tu_join(s);
    EXPECT_ST(hs_irq_destroy(ho_irq), HS_OK);
    return 0;
}

static void run_handoff(enum ho_case c, const int *want, unsigned n)
{
    tu_log_reset(&order);
    run_main(ho_main, (void *)(intptr_t)c);
    assert_log(&order, want, n);
}

static void test_reply_wait_hands_over_only_when_the_caller_is_next(
    void **state)
{
    (void)state;
    static const int plain[] = { 101, 1, 102, 2 };
    run_handoff(HO_PLAIN, plain, 4);
    static const int thread[] = { 101, 9, 1, 102, 2 };
    run_handoff(HO_QUEUED_THREAD, thread, 5);
    static const int sender[] = { 101, 102, 1, 2 };
    run_handoff(HO_QUEUED_SENDER, sender, 4);
    static const int irq[] = { 101, 177, 1 };
    run_handoff(HO_IRQ, irq, 3);
}

/* ---- 23. what a send's capability names -------------------------------- */

static int gc_quitter(void *arg)
{
    (void)arg;
    return 0;
}

/* A send, call or receive through a capability that is not a gate's
 * fails with HS_EPERM while its object lives and HS_EBADCAP once it is
 * gone, as a gate's does once its receiver has ended: the object's
 * liveness is checked before its kind and rights. */
static int gc_main(void *arg)
{
    (void)arg;
    hs_cap_t q = 0, qs = 0, g = 0, gs = 0;
    EXPECT_ST(hs_irq_create(&q), HS_OK);
    EXPECT_ST(hs_cap_derive(q, HS_CAP_SEND | HS_CAP_RECV, 1, &qs), HS_OK);
    hs_tid_t t = tu_mk(gc_quitter, NULL, 0);
    EXPECT_ST(hs_gate_create(t, 0, &g), HS_OK);
    EXPECT_ST(hs_cap_derive(g, HS_CAP_RECV, 2, &gs), HS_OK);
    tu_set_msg(0, 1, 1);
    status[0] = hs_ipc_send(qs, HS_NOWAIT);
    status[1] = hs_ipc_call(qs, HS_NOWAIT, HS_NOWAIT);
    status[2] = hs_ipc_recv(qs, HS_NOWAIT, NULL);
    status[3] = hs_ipc_send(gs, HS_NOWAIT);         /* no send right */
    tu_join(t);                                     /* the gate goes */
    EXPECT_ST(hs_irq_destroy(q), HS_OK);
    status[4] = hs_ipc_send(qs, HS_NOWAIT);
    status[5] = hs_ipc_call(qs, HS_NOWAIT, HS_NOWAIT);
    status[6] = hs_ipc_recv(qs, HS_NOWAIT, NULL);
    status[7] = hs_ipc_send(gs, HS_NOWAIT);
    status[8] = hs_ipc_call(g, HS_NOWAIT, HS_NOWAIT);
    status[9] = hs_ipc_recv(gs, HS_NOWAIT, NULL);
    phase[0] = hs_utcb()->phase;
    return 0;
}

static void test_send_through_another_kind_is_eperm_until_it_is_gone(
    void **state)
{
    (void)state;
    run_main(gc_main, NULL);
    for (int i = 0; i <= 3; i++)
        assert_int_equal(status[i], HS_EPERM);
    for (int i = 4; i <= 9; i++)
        assert_int_equal(status[i], HS_EBADCAP);
    assert_int_equal(phase[0], HS_PHASE_RECV);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        TU_TEST(test_ipc_call_reply_round_trip),
        TU_TEST(test_ipc_many_clients_own_replies),
        TU_TEST(test_ipc_send_timeouts),
        TU_TEST(test_ipc_recv_timeout_then_stale_reply),
        TU_TEST(test_ipc_reply_without_call),
        TU_TEST(test_ipc_receive_from_nobody),
        TU_TEST(test_ipc_partner_ended),
        TU_TEST(test_ipc_server_end_wakes_superseded_caller),
        TU_TEST(test_ipc_server_holds_twenty_calls_and_answers_each_once),
        TU_TEST(test_ipc_kept_reply_of_a_gone_caller_is_stale),
        TU_TEST(test_ipc_kept_reply_is_its_process_s_and_dies_with_it),
        TU_TEST(test_ipc_serving_server_lets_the_run_end),
        TU_TEST(test_ipc_cancelled_serve_is_uncounted),
        TU_TEST(test_ipc_serve_woken_then_killed_is_uncounted),
        TU_TEST(test_ipc_send_to_own_gate_times_out_cleanly),
        TU_TEST(test_ipc_rights),
        TU_TEST(test_ipc_revoke_and_delete),
        TU_TEST(test_ipc_tags_and_copy),
        TU_TEST(test_ipc_fast_and_general_paths_record_the_same),
        TU_TEST(test_ipc_senders_by_priority_then_fifo),
        TU_TEST(test_ipc_priority_inheritance),
        TU_TEST(test_ipc_queued_caller_lends_its_priority_to_a_busy_server),
        TU_TEST(test_ipc_cap_give),
        TU_TEST(test_ipc_cap_give_to_ended_child_is_esrch),
        TU_TEST(test_ipc_short_messages_leave_later_registers_alone),
        TU_TEST(test_ipc_send_to_own_gate_never_is_edeadlk),
        TU_TEST(test_timeouts_send_receive_wait),
        TU_TEST(test_timeouts_call_reply_and_reply_wait),
        TU_TEST(test_items_cap_in_a_call),
        TU_TEST(test_items_refused_change_nothing),
        TU_TEST(test_items_in_a_reply),
        TU_TEST(test_items_receiver_quota),
        TU_TEST(test_cancel_each_wait),
        TU_TEST(test_chain_through_five_proxies),
        TU_TEST(test_reply_to_a_dead_caller_is_stale),
        TU_TEST(test_reply_wait_hands_over_only_when_the_caller_is_next),
        TU_TEST(test_send_through_another_kind_is_eperm_until_it_is_gone),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
