/*
 * tests/test_ipc.c - synchronous IPC through gates: call and reply, labels,
 * many clients, send and receive timeouts, stale and missing replies,
 * receiving from nobody, ended partners, rights, revocation and deletion,
 * tag validation and message copying, the order of blocked senders,
 * priority inheritance while serving, giving capabilities to a child (not
 * to one that has ended), short messages and replies leaving the
 * registers past them alone, and a send to the sender's own gate.
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

/* Start, spawn one root process running entry, run: must end HS_OK. */
static void run_one(hs_entry_fn entry)
{
    start();
    spawn_root("main", entry, NULL);
    assert_int_equal(hs_sim_run(), HS_OK);
    assert_no_bad_status();
}

static void *id_arg(int id)
{
    return (void *)(intptr_t)id;
}

static int arg_id(void *arg)
{
    return (int)(intptr_t)arg;
}

/* A thread of the caller's process; prio 0: the default. */
static hs_tid_t mk(hs_entry_fn entry, void *arg, int prio)
{
    hs_thread_attr a;
    memset(&a, 0, sizeof a);
    if (prio) {
        a.priority = prio;
        a.priority_set = 1;
    }
    hs_tid_t tid = 0;
    EXPECT_ST(hs_thread_create(entry, arg, &a, &tid), HS_OK);
    return tid;
}

static void join(hs_tid_t tid)
{
    EXPECT_ST(hs_thread_join(tid, HS_NEVER, NULL), HS_OK);
}

static void sleep_until(hs_time_t t)
{
    hs_time_t now = hs_time_now();
    EXPECT_ST(hs_thread_sleep(t > now ? t - now : 0), HS_OK);
}

static void set_msg(uint64_t label, unsigned words, uint64_t mr0)
{
    hs_utcb()->tag = HS_TAG(label, words);
    hs_utcb()->mr[0] = mr0;
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
    hs_tid_t s = mk(rt_server, NULL, 0);
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
    join(s);
    return 0;
}

static void test_ipc_call_reply_round_trip(void **state)
{
    (void)state;
    srv_label = srv_tag = 0xbad;
    run_one(rt_main);
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
    int i = arg_id(arg);
    /* Spread the calls out a little, in an order unlike creation. */
    EXPECT_ST(hs_thread_sleep((hs_time_t)((i * 7) % NCLIENTS) * 10), HS_OK);
    set_msg(0, 1, (uint64_t)i);
    status[i] = hs_ipc_call(client_cap[i], HS_NEVER, HS_NEVER);
    word[i] = hs_utcb()->mr[0];
    return 0;
}

static int many_main(void *arg)
{
    (void)arg;
    hs_tid_t s = mk(many_server, NULL, 0);
    hs_cap_t g = 0;
    EXPECT_ST(hs_gate_create(s, 0, &g), HS_OK);
    for (int i = 0; i < NCLIENTS; i++)
        EXPECT_ST(hs_cap_derive(g, HS_CAP_SEND, (uint64_t)(i + 1),
                                &client_cap[i]), HS_OK);
    hs_tid_t t[NCLIENTS];
    for (int i = 0; i < NCLIENTS; i++)
        t[i] = mk(many_client, id_arg(i), 0);
    for (int i = 0; i < NCLIENTS; i++)
        join(t[i]);
    join(s);
    return 0;
}

static void test_ipc_many_clients_own_replies(void **state)
{
    (void)state;
    run_one(many_main);
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
    sleep_until(10000);
    status[10] = hs_ipc_wait(HS_NOWAIT, NULL);
    return 0;
}

static int sendto_main(void *arg)
{
    (void)arg;
    hs_tid_t s = mk(idle_server, NULL, 0);
    hs_cap_t g = 0;
    EXPECT_ST(hs_gate_create(s, 0, &g), HS_OK);
    set_msg(0, 1, 5);
    status[0] = hs_ipc_send(g, HS_NOWAIT);
    phase[0] = hs_utcb()->phase;
    when[0] = hs_time_now();
    sleep_until(1000);
    status[1] = hs_ipc_send(g, 3000);
    phase[1] = hs_utcb()->phase;
    when[1] = hs_time_now();
    /* A call with a send timeout: fails in the send phase too. */
    status[2] = hs_ipc_call(g, 500, HS_NEVER);
    phase[2] = hs_utcb()->phase;
    when[2] = hs_time_now();
    join(s);
    return 0;
}

static void test_ipc_send_timeouts(void **state)
{
    (void)state;
    run_one(sendto_main);
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
    sleep_until(1000);
    EXPECT_ST(hs_ipc_wait(HS_NEVER, NULL), HS_OK);
    when[10] = hs_time_now();
    word[10] = u->mr[0];
    sleep_until(7000);
    set_msg(0, 1, 100);                 /* the stale answer */
    status[10] = hs_ipc_reply();
    phase[10] = u->phase;
    EXPECT_ST(hs_ipc_wait(HS_NEVER, NULL), HS_OK);
    word[11] = u->mr[0];
    set_msg(0, 1, 200);
    status[11] = hs_ipc_reply();
    return 0;
}

static int slow_main(void *arg)
{
    (void)arg;
    hs_utcb_t *u = hs_utcb();
    hs_tid_t s = mk(slow_server, NULL, 0);
    hs_cap_t g = 0;
    EXPECT_ST(hs_gate_create(s, 0, &g), HS_OK);
    set_msg(0, 1, 1);
    status[0] = hs_ipc_call(g, HS_NEVER, 5000);
    phase[0] = u->phase;
    when[0] = hs_time_now();
    word[0] = u->mr[0];
    sleep_until(8000);
    word[1] = u->mr[0];                 /* the stale reply did not land */
    set_msg(0, 1, 2);
    status[1] = hs_ipc_call(g, HS_NEVER, HS_NEVER);
    phase[1] = u->phase;
    word[2] = u->mr[0];
    when[1] = hs_time_now();
    join(s);
    return 0;
}

static void test_ipc_recv_timeout_then_stale_reply(void **state)
{
    (void)state;
    run_one(slow_main);
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
    set_msg(0, 1, 0);
    status[10] = hs_ipc_reply();                /* never received */
    phase[10] = u->phase;
    EXPECT_ST(hs_ipc_wait(HS_NEVER, NULL), HS_OK);
    set_msg(0, 1, 11);
    status[11] = hs_ipc_reply();
    status[12] = hs_ipc_reply();                /* again */
    EXPECT_ST(hs_ipc_wait(HS_NEVER, NULL), HS_OK);
    status[13] = hs_ipc_wait(HS_NOWAIT, NULL);  /* ends the reply cap */
    set_msg(0, 1, 22);
    status[14] = hs_ipc_reply();
    /* Outlive the caller's receive timeout: were it to end now, the
     * caller would get HS_EPARTNER at once. */
    sleep_until(10000);
    return 0;
}

static int noreply_main(void *arg)
{
    (void)arg;
    hs_tid_t s = mk(noreply_server, NULL, 0);
    hs_cap_t g = 0;
    EXPECT_ST(hs_gate_create(s, 0, &g), HS_OK);
    sleep_until(100);
    set_msg(0, 1, 1);
    status[0] = hs_ipc_call(g, HS_NEVER, HS_NEVER);
    word[0] = hs_utcb()->mr[0];
    set_msg(0, 1, 2);
    hs_time_t t0 = hs_time_now();
    status[1] = hs_ipc_call(g, HS_NEVER, 3000);
    phase[1] = hs_utcb()->phase;
    when[1] = hs_time_now() - t0;
    word[1] = hs_utcb()->mr[0];
    join(s);
    return 0;
}

static void test_ipc_reply_without_call(void **state)
{
    (void)state;
    run_one(noreply_main);
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
    sleep_until(250);
    status[0] = hs_ipc_receive(HS_CAP_NIL, 5000, NULL);
    phase[0] = hs_utcb()->phase;
    when[0] = hs_time_now();
    status[1] = hs_ipc_receive(HS_CAP_NIL, HS_NEVER, NULL);
    when[1] = hs_time_now();
    status[2] = hs_ipc_receive(HS_CAP_NIL, HS_NOWAIT, NULL);
    when[2] = hs_time_now();
    return 0;
}

static void test_ipc_receive_from_nobody(void **state)
{
    (void)state;
    run_one(nobody_main);
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
    sleep_until(1000);
    return 0;
}

static int take_and_quit(void *arg)
{
    (void)arg;
    EXPECT_ST(hs_ipc_wait(HS_NEVER, NULL), HS_OK);
    when[10] = hs_time_now();
    sleep_until(3000);
    return 0;
}

static int partner_main(void *arg)
{
    (void)arg;
    hs_utcb_t *u = hs_utcb();
    hs_tid_t s1 = mk(quitter, NULL, 0);
    hs_cap_t g1 = 0, g2 = 0;
    EXPECT_ST(hs_gate_create(s1, 0, &g1), HS_OK);
    set_msg(0, 1, 1);
    status[0] = hs_ipc_call(g1, HS_NEVER, HS_NEVER);
    phase[0] = u->phase;
    when[0] = hs_time_now();
    /* The gate's receiver is gone: the capability is refused. */
    status[1] = hs_ipc_send(g1, HS_NOWAIT);
    join(s1);

    hs_tid_t s2 = mk(take_and_quit, NULL, 0);
    EXPECT_ST(hs_gate_create(s2, 0, &g2), HS_OK);
    sleep_until(2000);
    set_msg(0, 1, 2);
    status[2] = hs_ipc_call(g2, HS_NEVER, HS_NEVER);
    phase[2] = u->phase;
    when[2] = hs_time_now();
    join(s2);
    return 0;
}

static void test_ipc_partner_ended(void **state)
{
    (void)state;
    run_one(partner_main);
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
    sleep_until(3000);
    return 0;
}

static int superseded_caller(void *arg)
{
    int i = arg_id(arg);
    sleep_until(1000 + 500 * i);
    set_msg(0, 1, (uint64_t)i);
    status[i] = hs_ipc_call(gate_cap, HS_NEVER, 10000);
    phase[i] = hs_utcb()->phase;
    when[i] = hs_time_now();
    return 0;
}

static int superseded_main(void *arg)
{
    (void)arg;
    hs_tid_t s = mk(take_two_and_quit, NULL, 0);
    hs_cap_t g = 0;
    EXPECT_ST(hs_gate_create(s, 0, &g), HS_OK);
    gate_cap = g;
    hs_tid_t a = mk(superseded_caller, id_arg(0), 0);
    hs_tid_t b = mk(superseded_caller, id_arg(1), 0);
    join(a);
    join(b);
    join(s);
    return 0;
}

static void test_ipc_server_end_wakes_superseded_caller(void **state)
{
    (void)state;
    run_one(superseded_main);
    assert_int_equal(status[0], HS_EPARTNER);   /* superseded by b's call */
    assert_int_equal(phase[0], HS_PHASE_RECV);
    assert_int_equal(when[0], 3000);
    assert_int_equal(status[1], HS_EPARTNER);
    assert_int_equal(phase[1], HS_PHASE_RECV);
    assert_int_equal(when[1], 3000);
}

/* ---- 8. rights --------------------------------------------------------- */

static int rights_main(void *arg)
{
    (void)arg;
    hs_cap_t g = 0, s = 0, r = 0, x = 0, other = 0;
    EXPECT_ST(hs_gate_create(0, 9, &g), HS_OK);     /* bound to me */
    EXPECT_ST(hs_cap_derive(g, HS_CAP_SEND, 1, &s), HS_OK);
    EXPECT_ST(hs_cap_derive(g, HS_CAP_RECV, 2, &r), HS_OK);
    set_msg(0, 1, 0);
    status[0] = hs_ipc_receive(s, HS_NOWAIT, NULL);
    phase[0] = hs_utcb()->phase;
    status[1] = hs_ipc_receive(r, HS_NOWAIT, NULL);  /* allowed */
    status[2] = hs_ipc_send(r, HS_NOWAIT);
    phase[2] = hs_utcb()->phase;
    status[3] = hs_ipc_send(s, HS_NOWAIT);           /* allowed */
    status[4] = hs_ipc_call(r, HS_NOWAIT, HS_NOWAIT);

    hs_tid_t t = mk(quitter, NULL, 0);
    EXPECT_ST(hs_gate_create(t, 0, &other), HS_OK);
    status[5] = hs_ipc_receive(other, HS_NOWAIT, NULL);

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
    join(t);
    return 0;
}

static void test_ipc_rights(void **state)
{
    (void)state;
    run_one(rights_main);
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
    set_msg(0, 0, 0);
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
    run_one(revoke_main);
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
    set_msg(0, 1, 55);
    status[12] = hs_ipc_reply();
    return 0;
}

static int tag_main(void *arg)
{
    (void)arg;
    hs_utcb_t *u = hs_utcb();
    hs_tid_t s = mk(tag_server, NULL, 0);
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
    set_msg(0, 1, 3);
    status[6] = hs_ipc_call(g, HS_NEVER, HS_NEVER);
    word[0] = u->mr[0];
    join(s);
    return 0;
}

static void test_ipc_tags_and_copy(void **state)
{
    (void)state;
    run_one(tag_main);
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

/* ---- 11. the order of blocked senders ---------------------------------- */

struct sender { int id, prio; hs_time_t at; };

/* Created in this order; they block at these times. */
static const struct sender senders[4] = {
    { 1, 10, 100 }, { 2, 20, 200 }, { 3, 20, 400 }, { 4, 15, 300 },
};

static int order_sender(void *arg)
{
    const struct sender *s = arg;
    sleep_until(s->at);
    set_msg(0, 1, (uint64_t)s->id);
    status[s->id] = hs_ipc_send(gate_cap, HS_NEVER);
    return 0;
}

static int order_server(void *arg)
{
    (void)arg;
    sleep_until(1000);
    for (int i = 0; i < 4; i++) {
        if (EXPECT_ST(hs_ipc_wait(HS_NEVER, NULL), HS_OK) == HS_OK)
            tu_log_add(&order, (int)hs_utcb()->mr[0]);
    }
    return 0;
}

static int order_main(void *arg)
{
    (void)arg;
    hs_tid_t s = mk(order_server, NULL, 5);
    EXPECT_ST(hs_gate_create(s, 0, &gate_cap), HS_OK);
    hs_tid_t t[4];
    for (int i = 0; i < 4; i++)
        t[i] = mk(order_sender, (void *)&senders[i], senders[i].prio);
    for (int i = 0; i < 4; i++)
        join(t[i]);
    join(s);
    return 0;
}

static void test_ipc_senders_by_priority_then_fifo(void **state)
{
    (void)state;
    run_one(order_main);
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
        set_msg(0, 1, 0);
        EXPECT_ST(hs_ipc_reply(), HS_OK);
        EXPECT_ST(hs_thread_get_priority(me, &prio_seen[2 + 2 * round]),
                  HS_OK);
    }
    /* A call at a lower priority does not lower it. */
    EXPECT_ST(hs_thread_set_priority(me, 20), HS_OK);
    EXPECT_ST(hs_ipc_wait(HS_NEVER, NULL), HS_OK);
    EXPECT_ST(hs_thread_get_priority(me, &prio_seen[5]), HS_OK);
    set_msg(0, 1, 0);
    EXPECT_ST(hs_ipc_reply(), HS_OK);
    return 0;
}

static int inherit_client(void *arg)
{
    (void)arg;
    set_msg(0, 1, 0);
    EXPECT_ST(hs_ipc_call(gate_cap, HS_NEVER, HS_NEVER), HS_OK);
    sleep_until(1000);
    set_msg(0, 1, 0);
    EXPECT_ST(hs_ipc_call(gate_cap, HS_NEVER, HS_NEVER), HS_OK);
    return 0;
}

static int inherit_low(void *arg)
{
    (void)arg;
    sleep_until(2000);
    set_msg(0, 1, 0);
    EXPECT_ST(hs_ipc_call(gate_cap, HS_NEVER, HS_NEVER), HS_OK);
    return 0;
}

static int inherit_main(void *arg)
{
    (void)arg;
    hs_tid_t s = mk(inherit_server, NULL, 5);
    EXPECT_ST(hs_gate_create(s, 0, &gate_cap), HS_OK);
    hs_tid_t c = mk(inherit_client, NULL, 25);
    hs_tid_t l = mk(inherit_low, NULL, 10);
    join(c);
    join(l);
    join(s);
    return 0;
}

static void test_ipc_priority_inheritance(void **state)
{
    (void)state;
    run_one(inherit_main);
    assert_int_equal(prio_seen[0], 5);
    assert_int_equal(prio_seen[1], 25);
    assert_int_equal(prio_seen[2], 5);
    assert_int_equal(prio_seen[3], 25);
    assert_int_equal(prio_seen[4], 5);
    assert_int_equal(prio_seen[5], 20);
}

/* ---- 13. giving a capability to a child -------------------------------- */

static int give_child(void *arg)
{
    (void)arg;
    hs_utcb_t *u = hs_utcb();
    sleep_until(100);
    /* (Before the call: the server ends after one reply, and its gate
     * with it.) */
    status[1] = hs_ipc_receive(given_cap, HS_NOWAIT, NULL);
    hs_cap_info info;
    memset(&info, 0, sizeof info);
    status[2] = hs_cap_info_get(given_cap, &info);
    word[1] = info.rights;
    word[2] = info.label;
    set_msg(0, 1, 77);
    status[0] = hs_ipc_call(given_cap, HS_NEVER, HS_NEVER);
    word[0] = u->mr[0];
    sleep_until(200);
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
    hs_tid_t s = mk(give_server, NULL, 0);
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
    join(s);
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
    sleep_until(100);               /* the child has ended, unreaped */
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
    sleep_until(10);                /* the server waits already */
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
    sleep_until(100);
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
    hs_tid_t s = mk(short_server, NULL, 0);
    hs_cap_t g = 0;
    EXPECT_ST(hs_gate_create(s, 9, &g), HS_OK);
    hs_pid_t child = 0;
    EXPECT_ST(hs_proc_spawn("client", short_client, NULL, NULL, &child),
              HS_OK);
    EXPECT_ST(hs_cap_give(child, g, HS_CAP_SEND | HS_CAP_GRANT, &given_cap),
              HS_OK);
    EXPECT_ST(hs_proc_wait(child, HS_NEVER, NULL), HS_OK);
    join(s);
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
    run_one(short_main);
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
    set_msg(0, 1, 41);
    EXPECT_ST(hs_ipc_send(own_gate, HS_NEVER), HS_OK);
    return 0;
}

static int own_gate_main(void *arg)
{
    (void)arg;
    hs_utcb_t *u = hs_utcb();
    EXPECT_ST(hs_gate_create(0, 6, &own_gate), HS_OK);
    set_msg(0, 1, 7);
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
    hs_tid_t t = mk(own_gate_sender, NULL, 0);
    uint64_t label = 0;
    status[4] = hs_ipc_receive(own_gate, HS_NEVER, &label);
    word[0] = u->mr[0];
    word[1] = label;
    join(t);
    return 0;
}

static void test_ipc_send_to_own_gate_never_is_edeadlk(void **state)
{
    (void)state;
    run_one(own_gate_main);
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
        TU_TEST(test_ipc_rights),
        TU_TEST(test_ipc_revoke_and_delete),
        TU_TEST(test_ipc_tags_and_copy),
        TU_TEST(test_ipc_senders_by_priority_then_fifo),
        TU_TEST(test_ipc_priority_inheritance),
        TU_TEST(test_ipc_cap_give),
        TU_TEST(test_ipc_cap_give_to_ended_child_is_esrch),
        TU_TEST(test_ipc_short_messages_leave_later_registers_alone),
        TU_TEST(test_ipc_send_to_own_gate_never_is_edeadlk),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
