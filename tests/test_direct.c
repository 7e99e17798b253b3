/*
 * tests/test_direct.c - direct IPC hand-offs, ended every other way.
 *
 * A call or a reply-and-wait that hands the CPU over with nothing else
 * due ends with the switch itself: the thread resumed returns straight to
 * its program (hopsim/ipc.h, "Direct hand-offs").  Whatever resumes such
 * a thread otherwise makes it finish its call first.  Each scenario here
 * runs twice, with the fast switch (direct hand-offs) and with the
 * ucontext switch (never direct), checks its records after each run and
 * requires the same events, switches, virtual time and hash of both:
 *
 *   a caller timed out, a server's wait ended by a send and by the next
 *   call, a caller whose server ends, a server cancelled; a caller
 *   blocked inside a hop handler, unwound as the visited process ends
 *   (blocked, and woken but not yet run); a caller and a server killed
 *   with their process; a notification queued on a server blocked after
 *   its reply, delivered as the next call resumes it; a thread ending in
 *   the middle of a long ping-pong; an IRQ signal ending a server's
 *   wait; a direct call made inside a notification handler; and two of
 *   them again under seeds.
 *
 * The fast runs must have switched directly at least once
 * (hs_sim_summary.direct_switches), the ucontext runs never.
 */
#include "testutil.h"

#define N 32
static hs_status status[N];
static uint64_t word[N];
static uint64_t phase[N];
static hs_time_t when[N];
static int must_not_run;
static hs_cap_t gcap;
static hs_tid_t srv;
static int handled;
static struct tu_log order;
static int e_round;                 /* the ping-pong's round */

static void reset(void)
{
    for (int i = 0; i < N; i++) {
        status[i] = HS_STATUS_COUNT;
        word[i] = 0xbad;
        phase[i] = 0xbad;
        when[i] = HS_NEVER;
    }
    must_not_run = 0;
    gcap = 0;
    srv = 0;
    handled = 0;
    e_round = 0;
    tu_log_reset(&order);
}

/* Run f(arg) as the root process under seed with the switch kind; the
 * records are reset first, and the run must end HS_OK. */
static hs_sim_summary run_kind(hs_switch_kind kind, hs_entry_fn f,
                               void *arg, uint64_t seed)
{
    hs_sim_config cfg = tu_config();
    cfg.seed = seed;
    cfg.switch_kind = kind;
    reset();
    return tu_run_privileged(&cfg, f, arg);
}

/* f(arg) with the fast switch, whose hand-offs are direct, and with the
 * ucontext switch, whose are not: check() holds after each, and the two
 * are the same run. */
static void compare(hs_entry_fn f, void *arg, uint64_t seed,
                    void (*check)(void))
{
    hs_sim_summary d = run_kind(HS_SWITCH_FAST, f, arg, seed);
    check();
    hs_sim_summary p = run_kind(HS_SWITCH_UCONTEXT, f, arg, seed);
    check();
    assert_true(d.direct_switches > 0 || !TU_DIRECT_BUILD);
    assert_int_equal(p.direct_switches, 0);
    tu_assert_same_run(&d, &p);
}

/* ---- A: caller in a hop handler, blocked by a direct call, unwound ---- */

static int a_server(void *arg)
{
    (void)arg;
    uint64_t label = 0;
    status[2] = hs_ipc_wait(HS_NEVER, &label);
    word[2] = label;
    when[2] = hs_time_now();
    EXPECT_ST(hs_thread_sleep(5 * HS_MSEC), HS_OK);
    status[3] = hs_ipc_reply();
    return 0;
}

/* A handler that calls the server through the capability the child
 * was given (local name 1) and must never return: its process ends. */
static void a_handler(hs_hop_t *hop, void *cookie)
{
    (void)hop;
    (void)cookie;
    tu_set_msg(1, 1, 10);
    hs_status st = hs_ipc_call(1, HS_NEVER, HS_NEVER);
    must_not_run = 1 + (int)st;
}

/* The process visited: names the port "dying", ends at 2 ms. */
static int dying_child(void *arg)
{
    (void)arg;
    hs_port_t p = 0;
    EXPECT_ST(hs_port_create_named("dying", &p), HS_OK);
    EXPECT_ST(hs_port_set_handler(p, a_handler, NULL), HS_OK);
    tu_sleep_until(2 * HS_MSEC);
    word[9] = 1;
    hs_proc_exit(4);
}

/* Start thread server (at server_prio; 0: the default) with a gate of
 * label 77, given to a child process, dying_child() (at child_prio; 0:
 * the default); hop-call the child's port, the status and time in
 * status[0] and when[0]; then reap the child and join the server. */
static void hop_into_dying(hs_entry_fn server, int server_prio,
                           int child_prio)
{
    srv = tu_mk(server, NULL, server_prio);
    EXPECT_ST(hs_gate_create(srv, 77, &gcap), HS_OK);
    uint32_t caps[1] = { (uint32_t)gcap };
    hs_proc_attr at;
    memset(&at, 0, sizeof at);
    at.caps = caps;
    at.ncaps = 1;
    if (child_prio) {
        at.priority = child_prio;
        at.priority_set = 1;
    }
    hs_pid_t child = 0;
    EXPECT_ST(hs_proc_spawn("child", dying_child, NULL, &at, &child),
              HS_OK);
    hs_port_t port = 0;
    EXPECT_ST(hs_port_lookup("dying", HS_NEVER, &port), HS_OK);
    uint64_t w = 0;
    status[0] = hs_hop_call(port, 1, &w);
    when[0] = hs_time_now();
    int ex = 0;
    EXPECT_ST(hs_proc_wait(child, HS_NEVER, &ex), HS_OK);
    tu_join(srv);
}

static int a_main(void *arg)
{
    (void)arg;
    hop_into_dying(a_server, 0, 0);
    return 0;
}

static void a_check(void)
{
    assert_int_equal(must_not_run, 0);
    assert_int_equal(status[0], HS_EPARTNER);
    assert_int_equal(when[0], 2 * HS_MSEC);
    assert_int_equal(status[2], HS_OK);
    assert_int_equal(word[2], 77);
    assert_int_equal(status[3], HS_ESTALE);
}

static void test_caller_in_a_hop_handler_is_unwound_with_its_process(
    void **state)
{
    (void)state;
    compare(a_main, NULL, HS_SEED_NONE, a_check);
}

/* ---- B: server blocked by a direct reply_wait, its process killed while
 * blocked; a caller blocked by a direct call in the killed process too. */

static int b_server(void *arg)
{
    (void)arg;
    uint64_t label = 0;
    hs_utcb_t *u = hs_utcb();
    EXPECT_ST(hs_ipc_wait(HS_NEVER, &label), HS_OK);
    u->tag = HS_TAG(0, 1);
    u->mr[0] += 1;
    EXPECT_ST(hs_ipc_reply_wait(HS_NEVER, &label), HS_OK);
    hs_thread_sleep(10 * HS_MSEC);              /* killed here */
    must_not_run = 300;
    return 0;
}

static int b_caller(void *arg)
{
    int second_blocks = tu_arg_id(arg);
    tu_set_msg(1, 1, 1);
    status[6] = hs_ipc_call(gcap, HS_NEVER, HS_NEVER);
    word[6] = hs_utcb()->mr[0];
    if (!second_blocks) {
        hs_thread_sleep(10 * HS_MSEC);          /* killed here */
        must_not_run = 400;
        return 0;
    }
    tu_set_msg(1, 1, 5);
    status[7] = hs_ipc_call(gcap, HS_NEVER, HS_NEVER);  /* killed here */
    must_not_run = 200;
    return 0;
}

static int b_child(void *arg)
{
    srv = tu_mk(b_server, NULL, 0);
    EXPECT_ST(hs_gate_create(srv, 5, &gcap), HS_OK);
    EXPECT_ST(hs_thread_sleep(HS_MSEC / 2), HS_OK);
    tu_mk(b_caller, arg, 0);
    EXPECT_ST(hs_thread_sleep(HS_MSEC), HS_OK);
    hs_proc_exit(9);
}

/* arg (tu_id_arg()): 1, the caller is killed blocked in its second
 * call; 0, the server is killed blocked in its reply-and-wait. */
static int b_main(void *arg)
{
    hs_pid_t child = 0;
    EXPECT_ST(hs_proc_spawn("child", b_child, arg, NULL, &child), HS_OK);
    int ex = 0;
    EXPECT_ST(hs_proc_wait(child, HS_NEVER, &ex), HS_OK);
    word[5] = (uint64_t)ex;
    return 0;
}

static void b_check(void)
{
    assert_int_equal(must_not_run, 0);
    assert_int_equal(word[5], 9);
    assert_int_equal(status[6], HS_OK);         /* the first call */
    assert_int_equal(word[6], 2);
    assert_int_equal(status[7], HS_STATUS_COUNT);   /* never returned */
}

static void test_caller_and_server_blocked_directly_are_killed(void **state)
{
    (void)state;
    compare(b_main, tu_id_arg(1), HS_SEED_NONE, b_check);
    compare(b_main, tu_id_arg(0), HS_SEED_NONE, b_check);
}

/* ---- C: the ends of a call and of a reply-and-wait --------------------- */

/* The server times its caller out (1); answers with a reply-and-wait
 * that a send ends (2) and one that the next call ends (3); ends with a
 * caller waiting (4); and a second server is cancelled in its
 * reply-and-wait (5). */
static hs_tid_t dh_server2;

/* Take a call and answer it with mr[0] + 1 by a reply-and-wait: its
 * status in status[st], then the label and mr[0] of what ends the wait
 * in word[w] and word[w + 1], and the phase in phase[ph]. */
static void dh_answer(int st, int w, int ph)
{
    hs_utcb_t *u = hs_utcb();
    uint64_t label = 0;
    EXPECT_ST(hs_ipc_wait(HS_NEVER, &label), HS_OK);
    u->tag = HS_TAG(0, 1);
    u->mr[0] += 1;
    status[st] = hs_ipc_reply_wait(HS_NEVER, &label);
    word[w] = label;
    word[w + 1] = u->mr[0];
    phase[ph] = u->phase;
}

/* Steps of the server thread; the main thread's are in dh_main(). */
static int dh_server(void *arg)
{
    (void)arg;
    uint64_t label = 0;
    /* 1: the call is taken, then its caller times out. */
    EXPECT_ST(hs_ipc_wait(HS_NEVER, &label), HS_OK);
    word[0] = label;
    EXPECT_ST(hs_thread_sleep(2000), HS_OK);
    status[1] = hs_ipc_reply();
    /* 2: a call answered by a reply-and-wait, which a send ends. */
    dh_answer(4, 2, 1);
    /* 3: a call answered by a reply-and-wait, which the next call ends. */
    dh_answer(8, 4, 2);
    /* 4: the server ends while its caller waits for the reply. */
    return 0;
}

/* 5: a second server, cancelled in its reply-and-wait. */
static int dh_cancelled(void *arg)
{
    (void)arg;
    hs_utcb_t *u = hs_utcb();
    uint64_t label = 0;
    EXPECT_ST(hs_ipc_wait(HS_NEVER, &label), HS_OK);
    u->tag = HS_TAG(0, 1);
    status[7] = hs_ipc_reply_wait(HS_NEVER, &label);
    phase[4] = u->phase;
    return 0;
}

static int dh_main(void *arg)
{
    (void)arg;
    hs_utcb_t *u = hs_utcb();
    hs_tid_t s = tu_mk(dh_server, NULL, 0);
    hs_cap_t g = 0, c5 = 0, c7 = 0, g2 = 0;
    EXPECT_ST(hs_gate_create(s, 0, &g), HS_OK);
    EXPECT_ST(hs_cap_derive(g, HS_CAP_SEND, 5, &c5), HS_OK);
    EXPECT_ST(hs_cap_derive(g, HS_CAP_SEND, 7, &c7), HS_OK);
    tu_sleep_until(10);                     /* the server waits */
    tu_set_msg(1, 1, 100);
    status[0] = hs_ipc_call(c5, HS_NEVER, 1000);
    phase[0] = u->phase;
    tu_sleep_until(3000);                   /* the server waits again */
    tu_set_msg(1, 1, 200);
    status[2] = hs_ipc_call(c5, HS_NEVER, HS_NEVER);
    word[1] = u->mr[0];
    tu_set_msg(2, 1, 300);
    status[3] = hs_ipc_send(c7, HS_NEVER);
    tu_sleep_until(4000);                   /* the server waits again */
    tu_set_msg(1, 1, 400);
    status[5] = hs_ipc_call(c5, HS_NEVER, HS_NEVER);
    word[6] = u->mr[0];
    tu_set_msg(3, 1, 500);
    status[6] = hs_ipc_call(c7, HS_NEVER, HS_NEVER);
    phase[3] = u->phase;
    tu_join(s);
    dh_server2 = tu_mk(dh_cancelled, NULL, 0);
    EXPECT_ST(hs_gate_create(dh_server2, 0, &g2), HS_OK);
    tu_sleep_until(5000);
    tu_set_msg(1, 1, 600);
    EXPECT_ST(hs_ipc_call(g2, HS_NEVER, HS_NEVER), HS_OK);
    status[9] = hs_ipc_cancel(dh_server2);
    tu_join(dh_server2);
    return 0;
}

static void c_check(void)
{
    assert_int_equal(status[0], HS_ETIMEOUT);       /* 1 */
    assert_int_equal(phase[0], HS_PHASE_RECV);
    assert_int_equal(word[0], 5);
    assert_int_equal(status[1], HS_ESTALE);
    assert_int_equal(status[2], HS_OK);             /* 2 */
    assert_int_equal(word[1], 201);
    assert_int_equal(status[3], HS_OK);
    assert_int_equal(status[4], HS_OK);
    assert_int_equal(word[2], 7);
    assert_int_equal(word[3], 300);
    assert_int_equal(phase[1], HS_PHASE_NONE);
    assert_int_equal(status[5], HS_OK);             /* 3 */
    assert_int_equal(word[6], 401);
    assert_int_equal(status[8], HS_OK);
    assert_int_equal(word[4], 7);
    assert_int_equal(word[5], 500);
    assert_int_equal(phase[2], HS_PHASE_NONE);
    assert_int_equal(status[6], HS_EPARTNER);       /* 4 */
    assert_int_equal(phase[3], HS_PHASE_RECV);
    assert_int_equal(status[9], HS_OK);             /* 5 */
    assert_int_equal(status[7], HS_ECANCELED);
    assert_int_equal(phase[4], HS_PHASE_RECV);
}

static void test_timeout_send_call_end_and_cancel_end_as_plain_ones(
    void **state)
{
    (void)state;
    compare(dh_main, NULL, HS_SEED_NONE, c_check);
}

/* ---- D: a notification queued on a server blocked by a direct
 * reply_wait, then a call: the plain hand-off resumes it through
 * recv_resume, whose kernel_leave delivers the notification. */

static void d_handler(void *cookie, const hs_notification *n)
{
    (void)cookie;
    handled++;
    tu_log_add(&order, 1);
    word[10] = n->words[0];
    when[10] = hs_time_now();
    hs_notify_return();
}

static int d_server(void *arg)
{
    (void)arg;
    uint64_t label = 0;
    hs_utcb_t *u = hs_utcb();
    EXPECT_ST(hs_notify_install(hs_thread_self(), 5, d_handler, NULL), HS_OK);
    EXPECT_ST(hs_ipc_wait(HS_NEVER, &label), HS_OK);
    u->tag = HS_TAG(0, 1);
    u->mr[0] += 1;
    status[11] = hs_ipc_reply_wait(HS_NEVER, &label);
    tu_log_add(&order, 2);
    word[11] = label;
    word[12] = u->mr[0];
    phase[11] = u->phase;
    u->tag = HS_TAG(0, 1);
    u->mr[0] += 1;
    status[12] = hs_ipc_reply_wait(2 * HS_MSEC, &label);    /* times out */
    phase[12] = u->phase;
    when[12] = hs_time_now();
    return 0;
}

static int d_main(void *arg)
{
    (void)arg;
    srv = tu_mk(d_server, NULL, 0);
    EXPECT_ST(hs_gate_create(srv, 3, &gcap), HS_OK);
    EXPECT_ST(hs_thread_sleep(HS_MSEC), HS_OK);
    tu_set_msg(1, 1, 10);
    status[13] = hs_ipc_call(gcap, HS_NEVER, HS_NEVER);
    word[13] = hs_utcb()->mr[0];
    /* the server is blocked by a direct reply_wait now */
    uint64_t w[1] = { 42 };
    status[14] = hs_notify_send(srv, 5, w, 1, 0);
    tu_set_msg(1, 1, 20);
    status[15] = hs_ipc_call(gcap, HS_NEVER, HS_NEVER);
    word[15] = hs_utcb()->mr[0];
    tu_join(srv);
    return 0;
}

static void d_check(void)
{
    assert_int_equal(status[13], HS_OK);
    assert_int_equal(word[13], 11);
    assert_int_equal(status[14], HS_OK);
    assert_int_equal(status[11], HS_OK);
    assert_int_equal(word[11], 3);
    assert_int_equal(word[12], 20);
    assert_int_equal(phase[11], HS_PHASE_NONE);
    assert_int_equal(handled, 1);
    assert_int_equal(word[10], 42);
    assert_log(&order, ((int[]){1, 2}), 2);     /* at the resume */
    assert_int_equal(when[10], HS_MSEC);
    assert_int_equal(when[12], 3 * HS_MSEC);
    assert_int_equal(status[15], HS_OK);
    assert_int_equal(word[15], 21);
    assert_int_equal(status[12], HS_ETIMEOUT);
    assert_int_equal(phase[12], HS_PHASE_RECV);
}

static void test_notification_queued_on_a_server_blocked_directly(void **state)
{
    (void)state;
    compare(d_main, NULL, HS_SEED_NONE, d_check);
}

/* ---- E: a ping-pong of 1000 round trips, then a thread exit with
 * a thread blocked directly (to_free). */
static int e_server(void *arg)
{
    (void)arg;
    uint64_t label = 0;
    hs_utcb_t *u = hs_utcb();
    EXPECT_ST(hs_ipc_wait(HS_NEVER, &label), HS_OK);
    for (int i = 0; i < 1000; i++) {
        u->tag = HS_TAG(0, 1);
        u->mr[0] += 1;
        EXPECT_ST(hs_ipc_reply_wait(HS_NEVER, &label), HS_OK);
    }
    u->tag = HS_TAG(0, 1);
    u->mr[0] += 1;
    EXPECT_ST(hs_ipc_reply(), HS_OK);
    return 0;
}

/* Runs once, at the round it is made in, and ends: its context is left
 * to free (kern.to_free) in the middle of the direct hand-offs. */
static int e_short(void *arg)
{
    (void)arg;
    word[21] = (uint64_t)e_round;
    return 0;
}

static int e_main(void *arg)
{
    (void)arg;
    srv = tu_mk(e_server, NULL, 0);
    EXPECT_ST(hs_gate_create(srv, 3, &gcap), HS_OK);
    EXPECT_ST(hs_thread_sleep(HS_MSEC), HS_OK);
    uint64_t v = 0;
    for (int i = 0; i < 1001; i++) {
        e_round = i;
        if (i == 500)
            tu_mk(e_short, NULL, 0);
        tu_set_msg(1, 1, v);
        EXPECT_ST(hs_ipc_call(gcap, HS_NEVER, HS_NEVER), HS_OK);
        v = hs_utcb()->mr[0];
    }
    word[20] = v;
    tu_join(srv);
    return 0;
}

static void e_check(void)
{
    assert_int_equal(word[20], 1001);
    assert_int_equal(word[21], 500);
}

static void test_thread_ends_during_a_direct_ping_pong(void **state)
{
    (void)state;
    compare(e_main, NULL, HS_SEED_NONE, e_check);
}


/* ---- F: IRQ delivered to a server blocked by a direct reply_wait ---- */
static hs_cap_t irqc;
static int f_server(void *arg)
{
    (void)arg;
    uint64_t label = 0;
    hs_utcb_t *u = hs_utcb();
    EXPECT_ST(hs_irq_bind(irqc, hs_thread_self(), 99), HS_OK);
    EXPECT_ST(hs_ipc_wait(HS_NEVER, &label), HS_OK);
    u->tag = HS_TAG(0, 1);
    u->mr[0] += 1;
    status[16] = hs_ipc_reply_wait(HS_NEVER, &label);
    word[16] = label;
    word[17] = u->mr[0];
    phase[16] = u->phase;
    return 0;
}

static int f_main(void *arg)
{
    (void)arg;
    EXPECT_ST(hs_irq_create(&irqc), HS_OK);
    srv = tu_mk(f_server, NULL, 0);
    EXPECT_ST(hs_gate_create(srv, 3, &gcap), HS_OK);
    EXPECT_ST(hs_thread_sleep(HS_MSEC), HS_OK);
    tu_set_msg(1, 1, 10);
    status[19] = hs_ipc_call(gcap, HS_NEVER, HS_NEVER);
    EXPECT_ST(hs_irq_signal(irqc, 0x6), HS_OK);
    tu_join(srv);
    return 0;
}

static void f_check(void)
{
    assert_int_equal(status[19], HS_OK);
    assert_int_equal(status[16], HS_OK);
    assert_int_equal(word[16], 99);
    assert_int_equal(word[17], 0x6);
    assert_int_equal(phase[16], HS_PHASE_NONE);
}

static void test_irq_ends_the_wait_of_a_server_blocked_directly(void **state)
{
    (void)state;
    compare(f_main, NULL, HS_SEED_NONE, f_check);
}

/* ---- G: caller in a hop handler, blocked directly, woken by a reply
 * (reenter applied, RUNNABLE), then unwound before it runs ---- */
static int g_server(void *arg)
{
    (void)arg;
    uint64_t label = 0;
    status[2] = hs_ipc_wait(HS_NEVER, &label);
    tu_sleep_until(2 * HS_MSEC);
    status[3] = hs_ipc_reply();             /* caller now RUNNABLE */
    when[3] = hs_time_now();
    return 0;
}

static int g_main(void *arg)
{
    (void)arg;
    hop_into_dying(g_server, HS_PRIO_DEFAULT + 4, HS_PRIO_DEFAULT + 2);
    return 0;
}

static void g_check(void)
{
    assert_int_equal(must_not_run, 0);
    assert_int_equal(status[0], HS_EPARTNER);
    assert_int_equal(status[3], HS_OK);
    assert_int_equal(when[3], 2 * HS_MSEC);
    assert_int_equal(word[9], 1);
}

static void test_caller_woken_but_not_run_is_unwound(void **state)
{
    (void)state;
    compare(g_main, NULL, HS_SEED_NONE, g_check);
}

/* ---- H: a direct call from inside a notification handler ---- */
static void h_handler(void *cookie, const hs_notification *n)
{
    (void)cookie;
    (void)n;
    tu_set_msg(1, 1, 50);
    status[21] = hs_ipc_call(gcap, HS_NEVER, HS_NEVER);
    word[21] = hs_utcb()->mr[0];
    hs_notify_return();
}

static int h_server(void *arg)
{
    (void)arg;
    uint64_t label = 0;
    hs_utcb_t *u = hs_utcb();
    EXPECT_ST(hs_ipc_wait(HS_NEVER, &label), HS_OK);
    for (;;) {
        u->tag = HS_TAG(0, 1);
        u->mr[0] += 1;
        hs_status st = hs_ipc_reply_wait(HS_NEVER, &label);
        if (st != HS_OK)
            break;
        if (u->mr[0] == 999) {
            u->tag = HS_TAG(0, 1);
            EXPECT_ST(hs_ipc_reply(), HS_OK);
            break;
        }
    }
    return 0;
}

static int h_main(void *arg)
{
    (void)arg;
    srv = tu_mk(h_server, NULL, 0);
    EXPECT_ST(hs_gate_create(srv, 3, &gcap), HS_OK);
    EXPECT_ST(hs_notify_install(hs_thread_self(), 5, h_handler, NULL), HS_OK);
    EXPECT_ST(hs_thread_sleep(HS_MSEC), HS_OK);
    tu_set_msg(1, 1, 10);
    status[22] = hs_ipc_call(gcap, HS_NEVER, HS_NEVER);
    word[22] = hs_utcb()->mr[0];
    uint64_t w[1] = { 1 };
    EXPECT_ST(hs_notify_send(hs_thread_self(), 5, w, 1, 0), HS_OK);
    /* handler ran: the call inside it was direct */
    word[23] = hs_utcb()->mr[0];        /* restored UTCB */
    tu_set_msg(1, 1, 999);
    status[24] = hs_ipc_call(gcap, HS_NEVER, HS_NEVER);
    tu_join(srv);
    return 0;
}

static void h_check(void)
{
    assert_int_equal(status[22], HS_OK);
    assert_int_equal(word[22], 11);
    assert_int_equal(status[21], HS_OK);
    assert_int_equal(word[21], 51);
    assert_int_equal(word[23], 11);
    assert_int_equal(status[24], HS_OK);
}

static void test_direct_call_from_a_notification_handler(void **state)
{
    (void)state;
    compare(h_main, NULL, HS_SEED_NONE, h_check);
}

/* The ping-pong and the notification under five seeds (their outcome
 * does not depend on the interleaving; the hop scenarios' does). */
static void test_seeded_runs_end_as_plain_ones(void **state)
{
    (void)state;
    for (uint64_t sd = 1; sd <= 5; sd++) {
        compare(e_main, NULL, sd, e_check);
        compare(d_main, NULL, sd, d_check);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        TU_TEST(test_caller_in_a_hop_handler_is_unwound_with_its_process),
        TU_TEST(test_caller_and_server_blocked_directly_are_killed),
        TU_TEST(test_timeout_send_call_end_and_cancel_end_as_plain_ones),
        TU_TEST(test_notification_queued_on_a_server_blocked_directly),
        TU_TEST(test_thread_ends_during_a_direct_ping_pong),
        TU_TEST(test_irq_ends_the_wait_of_a_server_blocked_directly),
        TU_TEST(test_caller_woken_but_not_run_is_unwound),
        TU_TEST(test_direct_call_from_a_notification_handler),
        TU_TEST(test_seeded_runs_end_as_plain_ones),
    };
    return cmocka_run_group_tests_name("direct", tests, tu_unset_run_env,
                                       NULL);
}
