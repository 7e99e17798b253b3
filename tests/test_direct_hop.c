/*
 * tests/test_direct_hop.c - direct hop returns, and every other way back.
 *
 * A checkpointed hop made with nothing else due leaves its caller by a
 * direct switch; when the handler returns, also with nothing due, the
 * switch back returns the status straight to the program (ports/hop.c,
 * level_park(); hs_sim_summary.direct_hops).  Whatever else resumes such
 * a caller makes it end its hs_hop() first (core/level.h,
 * level_resume_plain()).  Each scenario here runs twice, with the fast
 * switch (direct hops) and with the ucontext switch (never direct),
 * checks what its threads recorded after each run, and requires the same
 * events, switches, virtual time and hash of both:
 *
 *   1. round trips: the first hop into a process (the general path),
 *      hops that reuse its parked context (the quick path), hops nested
 *      two and three deep through three processes, and hops into the
 *      process the handler runs in (whose outer returns find a context
 *      parked already, so do not park theirs);
 *   2. returns with work due: the handler made a thread runnable
 *      (created at equal, lower and higher priority; woken by an IPC
 *      send) or queued a notification for its caller, which runs as the
 *      hop returns; and a hop left with work due, after a direct return
 *      from the same level, whose handler's return finds nothing due;
 *   3. kept checkpoints: resumed by another thread with a chosen status
 *      and words, timed out, timed out before the handler returned, and
 *      resumed before a finite timeout, each after a hop on the quick or
 *      the general path;
 *   4. the visited process ends: with the caller blocked in the handler
 *      (a sleep, an IPC wait), at a checkpoint the handler kept, woken
 *      but not yet run, running in it (the handler calls hs_proc_exit()),
 *      and two deep, the outer or the inner process ending; each as the
 *      first hop into the process and as a hop that reuses its parked
 *      context; and the caller's own process ending while it visits,
 *      which resumes nothing;
 *   5. hops from notification handlers (one delivered as a hop returns),
 *      handlers that make direct IPC calls, and an IPC server that hops
 *      while its caller waits: direct hand-offs and direct hops mixed;
 *   6. 1 to 5 again under three seeds (seeded runs switch directly as
 *      well when nothing else is runnable, but are not required to);
 *   7. hops the quick path must refuse although the process visited has
 *      a spare context parked: one past cfg.max_hop_depth, and a timeout
 *      out of range.
 *
 * The fast runs of scenarios that return directly must have done so at
 * least once and have taken the quick path of hs_hop() (not under the
 * address sanitizer, which never switches directly), the ucontext runs
 * neither.
 */
#include "core/kernel.h"
#include "testutil.h"

#define N 48
static hs_status status[N];
static uint64_t word[N];
static hs_time_t when[N];
static struct tu_log order;         /* handlers and threads, as they ran */
static int must_not_run;
static int inner_bad;               /* nested hops or calls that came back
                                       wrong */
static int seeded;                  /* the run is seeded: FIFO order among
                                       equals is not to be checked */
static hs_checkpoint_t kept[8];
static unsigned nkept;
static unsigned nnotes;             /* notification handlers run */
static unsigned depth_limit;        /* cfg.max_hop_depth if not 0 */

static void reset(void)
{
    for (int i = 0; i < N; i++) {
        status[i] = HS_STATUS_COUNT;
        word[i] = 0xbad;
        when[i] = HS_NEVER;
    }
    tu_log_reset(&order);
    must_not_run = 0;
    inner_bad = 0;
    memset(kept, 0, sizeof kept);
    nkept = 0;
    nnotes = 0;
}

/* Run f(arg) as the (privileged) root process under seed with the switch
 * kind; the records are reset first, and the run must end HS_OK. */
static hs_sim_summary run_kind(hs_switch_kind kind, hs_entry_fn f,
                               void *arg, uint64_t seed)
{
    hs_sim_config cfg = tu_config();
    cfg.seed = seed;
    cfg.switch_kind = kind;
    if (depth_limit)
        cfg.max_hop_depth = depth_limit;
    reset();
    seeded = seed != HS_SEED_NONE;
    return tu_run_privileged(&cfg, f, arg);
}

/* What a scenario's fast run must have done: hops returned directly,
 * direct IPC hand-offs, hops on the quick path of hs_hop() (into a
 * process visited before, whose spare context is parked). */
enum { NOT_DIRECT = 0, HOPS = 1, IPC = 2, QUICK = 4 };

/* f(arg) with the fast switch and with the ucontext switch: check()
 * holds after each, the two are the same run, the fast run made direct
 * hops, direct IPC hand-offs and quick hops as the flags in direct say,
 * the ucontext run none.  (k.general_hops, the hops of the run that took the
 * general path, outlives the run: core/kernel.h.) */
static void compare(hs_entry_fn f, void *arg, uint64_t seed,
                    void (*check)(void), int direct)
{
    hs_sim_summary d = run_kind(HS_SWITCH_FAST, f, arg, seed);
    uint64_t general_d = k.general_hops;
    check();
    hs_sim_summary p = run_kind(HS_SWITCH_UCONTEXT, f, arg, seed);
    uint64_t general_p = k.general_hops;    /* every hop of the run */
    check();
    assert_true(general_d <= general_p);
    if (direct & HOPS)
        assert_true(d.direct_hops > 0 || !TU_DIRECT_BUILD);
    if (direct & QUICK)
        assert_true(general_d < general_p || !TU_DIRECT_BUILD);
    if (direct & IPC)
        assert_true(d.direct_switches > 0 || !TU_DIRECT_BUILD);
    assert_int_equal(p.direct_hops, 0);
    assert_int_equal(p.direct_switches, 0);
    tu_assert_same_run(&d, &p);
}

/* ---- servers ------------------------------------------------------------ */

#define PORTS 8

/* A server process: setup (if any) first, then its named ports with their
 * handlers (the server is every handler's cookie, port[] their handles);
 * then it serves, or ends with exit_status at exit_at. */
struct server {
    const char *name[PORTS];
    hs_hop_handler handler[PORTS];
    hs_port_t port[PORTS];
    void (*setup)(struct server *s);
    hs_time_t exit_at;              /* HS_NEVER: serve */
    int exit_status;
};

static int server_main(void *arg)
{
    struct server *s = arg;
    if (s->setup)
        s->setup(s);
    for (int i = 0; i < PORTS && s->name[i]; i++)
        EXPECT_ST(hs_port_create_named_handler(s->name[i], s->handler[i], s,
                                               &s->port[i]),
                  HS_OK);
    if (s->exit_at == HS_NEVER) {
        tu_expect(hs_proc_serve(), HS_STATUS_COUNT, __LINE__);
        return 0;
    }
    tu_sleep_until(s->exit_at);
    hs_proc_exit(s->exit_status);
}

/* Spawn server s as a child process at priority prio (0: the default). */
static hs_pid_t spawn_server(const char *name, struct server *s, int prio)
{
    hs_proc_attr at;
    memset(&at, 0, sizeof at);
    if (prio) {
        at.priority = prio;
        at.priority_set = 1;
    }
    hs_pid_t pid = 0;
    EXPECT_ST(hs_proc_spawn(name, server_main, s, &at, &pid), HS_OK);
    return pid;
}

static hs_port_t find(const char *name)
{
    hs_port_t p = 0;
    EXPECT_ST(hs_port_lookup(name, HS_NEVER, &p), HS_OK);
    return p;
}

/* Wait for child pid to end; its exit status. */
static uint64_t reap(hs_pid_t pid)
{
    int ex = -1;
    EXPECT_ST(hs_proc_wait(pid, HS_NEVER, &ex), HS_OK);
    return (uint64_t)ex;
}

/* Replies mr[0] + 1 and, in mr[1], three times that. */
static void echo(hs_hop_t *hop, void *cookie)
{
    (void)hop;
    (void)cookie;
    hs_utcb_t *u = hs_utcb();
    tu_log_add(&order, 1);
    u->mr[0] += 1;
    u->mr[1] = 3 * u->mr[0];
}

/* A thread that logs its id (tu_id_arg()) and ends. */
static int log_thread(void *arg)
{
    tu_log_add(&order, tu_arg_id(arg));
    return 0;
}

/* ---- 1: round trips ------------------------------------------------------ */

static void mid(hs_hop_t *hop, void *cookie);
static void top(hs_hop_t *hop, void *cookie);
static void self_hop(hs_hop_t *hop, void *cookie);

static struct server s1_a = {
    .name = { "s1.echo", "s1.self" }, .handler = { echo, self_hop },
    .exit_at = HS_NEVER,
};
static struct server s1_b = {
    .name = { "s1.mid" }, .handler = { mid }, .exit_at = HS_NEVER,
};
static struct server s1_c = {
    .name = { "s1.top" }, .handler = { top }, .exit_at = HS_NEVER,
};

/* Two deep: hops into s1.echo with 2 * mr[0], replies what came back +
 * 1000.  Sleeps 1 ms first when mr[0] is 6: a handler that blocked
 * returns as one that did not. */
static void mid(hs_hop_t *hop, void *cookie)
{
    (void)hop;
    (void)cookie;
    uint64_t w = hs_utcb()->mr[0], r = 0;
    tu_log_add(&order, 2);
    if (w == 6)
        EXPECT_ST(hs_thread_sleep(HS_MSEC), HS_OK);
    if (hs_hop_call(s1_a.port[0], 2 * w, &r) != HS_OK || r != 2 * w + 1)
        inner_bad++;
    hs_utcb()->mr[0] = r + 1000;
}

/* Three deep: hops into s1.mid with mr[0] + 1, replies that + 100000. */
static void top(hs_hop_t *hop, void *cookie)
{
    (void)hop;
    (void)cookie;
    uint64_t w = hs_utcb()->mr[0], r = 0;
    tu_log_add(&order, 3);
    if (hs_hop_call(s1_b.port[0], w + 1, &r) != HS_OK ||
        r != 2 * (w + 1) + 1 + 1000)
        inner_bad++;
    hs_utcb()->mr[0] = r + 100000;
}

/* Into its own process, mr[0] levels deeper: f(0) = 7, f(n) = 10 f(n-1)
 * + n.  Every return but the innermost finds the context of the one
 * before parked as the process's spare, and frees its own. */
static void self_hop(hs_hop_t *hop, void *cookie)
{
    (void)hop;
    struct server *s = cookie;
    uint64_t n = hs_utcb()->mr[0], r = 0;
    tu_log_add(&order, 4);
    if (n == 0) {
        hs_utcb()->mr[0] = 7;
        return;
    }
    if (hs_hop_call(s->port[1], n - 1, &r) != HS_OK)
        inner_bad++;
    hs_utcb()->mr[0] = 10 * r + n;
}

static int s1_main(void *arg)
{
    (void)arg;
    spawn_server("a", &s1_a, 0);
    spawn_server("b", &s1_b, 0);
    spawn_server("c", &s1_c, 0);
    hs_port_t e = find("s1.echo"), self = find("s1.self");
    hs_port_t m = find("s1.mid"), t = find("s1.top");
    hs_pid_t me = hs_proc_self();
    status[0] = hs_hop_call(e, 10, &word[0]);       /* general path */
    for (int i = 1; i <= 8; i++)                    /* its spare reused */
        status[i] = hs_hop_call(e, 100 + (uint64_t)i, &word[i]);
    status[9] = hs_hop_call(m, 5, &word[9]);        /* two deep */
    status[10] = hs_hop_call(m, 6, &word[10]);
    when[10] = hs_time_now();
    status[11] = hs_hop_call(t, 1, &word[11]);      /* three deep */
    status[12] = hs_hop_call(t, 2, &word[12]);
    status[13] = hs_hop_call(self, 3, &word[13]);   /* into one process */
    status[14] = hs_hop_call(self, 3, &word[14]);
    hs_utcb()->mr[1] = 0x55;
    status[15] = hs_hop_call(e, 20, &word[15]);
    word[16] = hs_utcb()->mr[1];
    word[17] = hs_proc_self() == me;
    return 0;
}

static void s1_check(void)
{
    for (int i = 0; i <= 15; i++)
        assert_int_equal(status[i], HS_OK);
    assert_int_equal(word[0], 11);
    for (int i = 1; i <= 8; i++)
        assert_int_equal(word[i], 101 + (uint64_t)i);
    assert_int_equal(word[9], 1011);
    assert_int_equal(word[10], 1013);
    assert_int_equal(when[10], HS_MSEC);
    assert_int_equal(word[11], 101005);
    assert_int_equal(word[12], 101007);
    assert_int_equal(word[13], 7123);
    assert_int_equal(word[14], 7123);
    assert_int_equal(word[15], 21);
    assert_int_equal(word[16], 63);         /* the reply's second word */
    assert_int_equal(word[17], 1);          /* back home */
    assert_int_equal(inner_bad, 0);
    assert_log(&order, ((int[]){ 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 1, 2, 1,
                                 3, 2, 1, 3, 2, 1, 4, 4, 4, 4, 4, 4, 4, 4,
                                 1 }),
               28);
}

static void test_round_trips_first_reused_and_nested_return_directly(
    void **state)
{
    (void)state;
    compare(s1_main, NULL, HS_SEED_NONE, s1_check, HOPS | QUICK);
}

/* ---- 2: a return with work due ---------------------------------------- */

static hs_cap_t s2_gate;            /* s2's worker, in s2's space */

/* Each logs its code, does what makes work due at its return, and
 * replies mr[0] + 1. */
static void s2_reply(void)
{
    hs_utcb()->mr[0] += 1;
}

static void eq_handler(hs_hop_t *hop, void *cookie)
{
    (void)hop;
    (void)cookie;
    tu_log_add(&order, 10);
    tu_mk(log_thread, tu_id_arg(21), 0);
    s2_reply();
}

static void lo_handler(hs_hop_t *hop, void *cookie)
{
    (void)hop;
    (void)cookie;
    tu_log_add(&order, 11);
    tu_mk(log_thread, tu_id_arg(22), HS_PRIO_DEFAULT - 1);
    s2_reply();
}

/* The thread created runs at once, so nothing is due at the return. */
static void hi_handler(hs_hop_t *hop, void *cookie)
{
    (void)hop;
    (void)cookie;
    tu_log_add(&order, 12);
    tu_mk(log_thread, tu_id_arg(23), HS_PRIO_DEFAULT + 1);
    tu_log_add(&order, 13);
    s2_reply();
}

/* Sends mr[0] to the worker, which waits (equal priority). */
static void send_handler(hs_hop_t *hop, void *cookie)
{
    (void)hop;
    (void)cookie;
    uint64_t w = hs_utcb()->mr[0];
    tu_log_add(&order, 14);
    tu_set_msg(2, 1, w);
    EXPECT_ST(hs_ipc_send(s2_gate, HS_NEVER), HS_OK);
    hs_utcb()->mr[0] = w + 1;
}

/* Queues a notification for its caller: it runs back home. */
static void notify_handler(hs_hop_t *hop, void *cookie)
{
    (void)hop;
    (void)cookie;
    uint64_t w[1] = { 99 };
    tu_log_add(&order, 15);
    EXPECT_ST(hs_notify_send(hs_thread_self(), 5, w, 1, 0), HS_OK);
    s2_reply();
}

/* Waits for a message 1 ms: the thread's last wait ends HS_ETIMEOUT
 * (its wait result), which its hop must not return. */
static void wait_handler(hs_hop_t *hop, void *cookie)
{
    (void)hop;
    (void)cookie;
    uint64_t label = 0;
    tu_log_add(&order, 16);
    status[22] = hs_ipc_wait(HS_MSEC, &label);
    s2_reply();
}

static int s2_worker(void *arg)
{
    (void)arg;
    uint64_t label = 0;
    for (;;) {
        EXPECT_ST(hs_ipc_serve(&label), HS_OK);
        tu_log_add(&order, 25);
        word[20] = hs_utcb()->mr[0];
    }
    return 0;
}

static void s2_setup(struct server *s)
{
    (void)s;
    hs_tid_t w = tu_mk(s2_worker, NULL, 0);
    EXPECT_ST(hs_gate_create(w, 9, &s2_gate), HS_OK);
}

static struct server s2 = {
    .name = { "s2.eq", "s2.lo", "s2.hi", "s2.send", "s2.notify",
              "s2.wait" },
    .handler = { eq_handler, lo_handler, hi_handler, send_handler,
                 notify_handler, wait_handler },
    .setup = s2_setup, .exit_at = HS_NEVER,
};

static void s2_note(void *cookie, const hs_notification *n)
{
    (void)cookie;
    tu_log_add(&order, 26);
    word[21] = n->words[0];
    hs_notify_return();
}

/* Hop through s2's port i with mr[0] = i + 1: status and reply in
 * status[i] and word[i]; then log code. */
static void s2_hop(int i, int code)
{
    status[i] = hs_hop_call(s2.port[i], (uint64_t)i + 1, &word[i]);
    tu_log_add(&order, code);
}

static int s2_main(void *arg)
{
    (void)arg;
    EXPECT_ST(hs_notify_install(hs_thread_self(), 5, s2_note, NULL), HS_OK);
    spawn_server("s2", &s2, 0);
    find("s2.wait");
    s2_hop(0, 30);                  /* a thread of equal priority */
    EXPECT_ST(hs_thread_yield(), HS_OK);
    s2_hop(1, 31);                  /* a lower one */
    EXPECT_ST(hs_thread_sleep(HS_MSEC), HS_OK);
    s2_hop(3, 33);                  /* the worker woken */
    EXPECT_ST(hs_thread_yield(), HS_OK);
    s2_hop(4, 34);                  /* a notification for the caller */
    s2_hop(2, 32);                  /* a higher one: nothing due, direct */
    /* Work due at the hop: left plainly.  Nothing due at the return. */
    tu_mk(log_thread, tu_id_arg(27), HS_PRIO_DEFAULT - 1);
    s2_hop(5, 35);
    when[5] = hs_time_now();
    return 0;
}

/* Where x first is in the log, which must hold it. */
static int log_index(int x)
{
    for (unsigned i = 0; i < tu_log_len(&order); i++)
        if (order.v[i] == x)
            return (int)i;
    fail_msg("%d is not in the log", x);
    return -1;
}

static void s2_check(void)
{
    for (int i = 0; i <= 5; i++) {
        assert_int_equal(status[i], HS_OK);
        assert_int_equal(word[i], (uint64_t)i + 2);
    }
    assert_int_equal(word[20], 4);          /* the worker got the send */
    assert_int_equal(word[21], 99);         /* and the caller its note */
    assert_int_equal(status[22], HS_ETIMEOUT);
    assert_int_equal(when[5], 2 * HS_MSEC);
    assert_int_equal(tu_log_len(&order), 19);
    /* Whatever the seed: the notification runs as the hop returns,
     * before the caller's next statement; the thread of higher priority
     * at once, inside the handler; the one of lower priority while the
     * handler waits, before the hop returns. */
    assert_true(log_index(15) < log_index(26));
    assert_true(log_index(26) + 1 == log_index(34));
    assert_true(log_index(12) + 1 == log_index(23));
    assert_true(log_index(23) < log_index(13));
    assert_true(log_index(16) < log_index(27));
    assert_true(log_index(27) < log_index(35));
    if (seeded)
        return;
    /* Unseeded, FIFO among equals: the caller goes on first, the others
     * run when it yields. */
    assert_log(&order, ((int[]){ 10, 30, 21, 11, 31, 22, 14, 33, 25,
                                 15, 26, 34, 12, 23, 13, 32, 16, 27, 35 }),
               19);
}

static void test_returns_with_work_due_resume_the_caller_plainly(
    void **state)
{
    (void)state;
    compare(s2_main, NULL, HS_SEED_NONE, s2_check, HOPS | QUICK);
}

/* ---- 3: kept checkpoints ------------------------------------------------- */

/* Keeps its checkpoint (into kept[], in order) and returns. */
static void keep_handler(hs_hop_t *hop, void *cookie)
{
    (void)cookie;
    tu_log_add(&order, 40);
    if (hs_hop_keep(hop, &kept[nkept++]) != HS_OK)
        inner_bad++;
}

/* Keeps its checkpoint, then returns 2 ms later. */
static void keep_late_handler(hs_hop_t *hop, void *cookie)
{
    (void)cookie;
    tu_log_add(&order, 41);
    if (hs_hop_keep(hop, &kept[nkept++]) != HS_OK)
        inner_bad++;
    EXPECT_ST(hs_thread_sleep(2 * HS_MSEC), HS_OK);
}

/* What s3's resumer does at each time: resume kept[i] with result and
 * words[0..n-1]; its status into status[10 + i]. */
static const struct {
    hs_time_t at;
    hs_status result;
    uint64_t words[2];
    unsigned n;
} s3_steps[] = {
    { 2 * HS_MSEC, HS_ECANCELED, { 41, 42 }, 2 },
    { 4 * HS_MSEC, HS_OK, { 43 }, 1 },
    { 7 * HS_MSEC, HS_OK, { 0 }, 0 },           /* timed out at 6 ms */
    { 11 * HS_MSEC, HS_OK, { 0 }, 0 },          /* timed out at 10 ms */
    { 14 * HS_MSEC, HS_OK, { 44 }, 1 },         /* before its 16 ms */
};

static int s3_resumer(void *arg)
{
    (void)arg;
    for (unsigned i = 0; i < sizeof s3_steps / sizeof s3_steps[0]; i++) {
        tu_sleep_until(s3_steps[i].at);
        status[10 + i] = hs_checkpoint_resume(kept[i], s3_steps[i].result,
                                              s3_steps[i].words,
                                              s3_steps[i].n);
    }
    return 0;
}

static void s3_setup(struct server *s)
{
    (void)s;
    tu_mk(s3_resumer, NULL, 0);
}

static struct server s3 = {
    .name = { "s3.echo", "s3.keep", "s3.late" },
    .handler = { echo, keep_handler, keep_late_handler },
    .setup = s3_setup, .exit_at = HS_NEVER,
};

/* At time at, hop through s3's port i with mr[0] = w, mr[1] = 0x55 and
 * timeout: the status, time and reply registers in status[j], when[j],
 * word[2j] and word[2j + 1]. */
static void s3_hop(int j, hs_time_t at, int i, uint64_t w, hs_time_t timeout)
{
    hs_utcb_t *u = hs_utcb();
    tu_sleep_until(at);
    u->mr[0] = w;
    u->mr[1] = 0x55;
    status[j] = hs_hop(s3.port[i], HS_HOP_CHECKPOINT, timeout);
    when[j] = hs_time_now();
    word[2 * j] = u->mr[0];
    word[2 * j + 1] = u->mr[1];
}

static int s3_main(void *arg)
{
    (void)arg;
    spawn_server("s3", &s3, 0);
    find("s3.late");
    s3_hop(0, 0, 0, 1, HS_NEVER);                   /* parks a spare */
    s3_hop(1, HS_MSEC, 1, 2, HS_NEVER);             /* quick path */
    s3_hop(2, 3 * HS_MSEC, 1, 3, HS_NEVER);         /* general path */
    s3_hop(3, 5 * HS_MSEC, 1, 4, HS_MSEC);          /* times out */
    s3_hop(4, 8 * HS_MSEC, 2, 5, HS_MSEC);          /* before the return */
    s3_hop(5, 13 * HS_MSEC, 1, 6, 3 * HS_MSEC);     /* resumed in time */
    s3_hop(6, 15 * HS_MSEC, 0, 7, HS_NEVER);
    return 0;
}

static void s3_check(void)
{
    static const hs_status st[7] = { HS_OK, HS_ECANCELED, HS_OK,
                                     HS_ETIMEOUT, HS_ETIMEOUT, HS_OK,
                                     HS_OK };
    static const hs_time_t at[7] = { 0, 2 * HS_MSEC, 4 * HS_MSEC,
                                     6 * HS_MSEC, 10 * HS_MSEC,
                                     14 * HS_MSEC, 15 * HS_MSEC };
    /* mr[0] and mr[1] after each: the resumer's words where it gave
     * some, the caller's own where not. */
    static const uint64_t w[14] = { 2, 6, 41, 42, 43, 0x55, 4, 0x55,
                                    5, 0x55, 44, 0x55, 8, 24 };
    for (int j = 0; j < 7; j++) {
        assert_int_equal(status[j], st[j]);
        assert_int_equal(when[j], at[j]);
    }
    for (int i = 0; i < 14; i++)
        assert_int_equal(word[i], w[i]);
    assert_int_equal(nkept, 5);
    assert_int_equal(inner_bad, 0);
    assert_int_equal(status[10], HS_OK);
    assert_int_equal(status[11], HS_OK);
    assert_int_equal(status[12], HS_ESTALE);
    assert_int_equal(status[13], HS_ESTALE);
    assert_int_equal(status[14], HS_OK);
    assert_log(&order, ((int[]){ 1, 40, 40, 40, 41, 40, 1 }), 7);
}

static void test_kept_checkpoints_resumed_and_timed_out_after_direct_hops(
    void **state)
{
    (void)state;
    compare(s3_main, NULL, HS_SEED_NONE, s3_check, HOPS | QUICK);
}

/* ---- 4: the visited process ends ----------------------------------------- */

/* The hop that meets the end, by case (tu_id_arg(case | WARM) makes a
 * round trip into each process first, so that it reuses a spare). */
enum {
    D_NAP,              /* blocked in a sleep in da's handler */
    D_WAIT,             /* blocked in an IPC wait there */
    D_DOZE,             /* woken there, but da's exit runs first */
    D_EXIT,             /* running there: the handler ends da */
    D_KEPT,             /* at a checkpoint da's handler kept */
    D_OUTER,            /* in db through da, da ends */
    D_INNER,            /* in db through da, db ends: back in da */
    D_INNER_EXIT,       /* in db through da, db's handler ends db */
    D_CASES,
    WARM = 0x10,
};

static hs_port_t d_inner;          /* where da's outer handler hops */

/* The handlers of 4 that block (or end their process) never come back
 * from it: their process ends meanwhile.  must_not_run says if one
 * did. */
static void nap(hs_hop_t *hop, void *cookie)
{
    (void)hop;
    (void)cookie;
    tu_log_add(&order, 50);
    hs_thread_sleep(10 * HS_MSEC);
    must_not_run = 1;
}

static void wait_ipc(hs_hop_t *hop, void *cookie)
{
    (void)hop;
    (void)cookie;
    uint64_t label = 0;
    tu_log_add(&order, 51);
    hs_ipc_wait(HS_NEVER, &label);
    must_not_run = 2;
}

/* Hopped into at 1 ms: wakes at 2 ms, as da's exit does. */
static void doze(hs_hop_t *hop, void *cookie)
{
    (void)hop;
    (void)cookie;
    tu_log_add(&order, 52);
    hs_thread_sleep(HS_MSEC);
    must_not_run = 3;
}

static void exit_handler(hs_hop_t *hop, void *cookie)
{
    (void)hop;
    (void)cookie;
    tu_log_add(&order, 53);
    hs_proc_exit(6);
}

/* Hops on into d_inner with mr[0]: its status and time in status[3] and
 * when[3]; replies what came back (or mr[0]) + 100. */
static void outer(hs_hop_t *hop, void *cookie)
{
    (void)hop;
    (void)cookie;
    uint64_t w = hs_utcb()->mr[0], r = w;
    tu_log_add(&order, 54);
    status[3] = hs_hop_call(d_inner, w, &r);
    when[3] = hs_time_now();
    hs_utcb()->mr[0] = r + 100;
}

static struct server da = {
    .name = { "da.echo", "da.nap", "da.wait", "da.doze", "da.exit",
              "da.outer", "da.keep" },
    .handler = { echo, nap, wait_ipc, doze, exit_handler, outer,
                 keep_handler },
};
static struct server db = {
    .name = { "db.echo", "db.nap", "db.exit" },
    .handler = { echo, nap, exit_handler },
};

/* da's port the hop of case c goes through. */
static int d_port(int c)
{
    static const int port[D_CASES] = { 1, 2, 3, 4, 6, 5, 5, 5 };
    return port[c];
}

/* Set da and db up for case c: who ends, when, at what priority. */
static void d_setup(int c, hs_pid_t *a, hs_pid_t *b)
{
    int two_deep = c >= D_OUTER;
    da.exit_at = (c == D_EXIT || c == D_INNER || c == D_INNER_EXIT)
                 ? HS_NEVER : 2 * HS_MSEC;
    da.exit_status = 4;
    db.exit_at = c == D_INNER ? 2 * HS_MSEC : HS_NEVER;
    db.exit_status = 8;
    *a = spawn_server("da", &da, c == D_DOZE ? HS_PRIO_DEFAULT + 2 : 0);
    *b = two_deep ? spawn_server("db", &db, 0) : 0;
    find("da.keep");
    if (two_deep)
        find("db.exit");
    d_inner = c == D_INNER_EXIT ? db.port[2] : db.port[1];
}

/* The hop of case c at 1 ms (status, reply, time in status[0], word[0],
 * when[0]) after round trips into da and db with WARM (status[1],
 * word[1]); the exit status of the process ended in word[2]; then a
 * round trip into the process left, if any (status[4], word[4]). */
static int d_main(void *arg)
{
    int c = tu_arg_id(arg) & ~WARM;
    hs_pid_t a = 0, b = 0;
    d_setup(c, &a, &b);
    if (tu_arg_id(arg) & WARM) {
        status[1] = hs_hop_call(da.port[0], 1, &word[1]);
        if (b && status[1] == HS_OK)
            status[1] = hs_hop_call(db.port[0], word[1], &word[1]);
    }
    tu_sleep_until(HS_MSEC);
    status[0] = hs_hop_call(da.port[d_port(c)], 1, &word[0]);
    when[0] = hs_time_now();
    if (c == D_INNER || c == D_INNER_EXIT) {
        word[2] = reap(b);
        status[4] = hs_hop_call(da.port[0], 30, &word[4]);
    } else {
        word[2] = reap(a);
        if (b)
            status[4] = hs_hop_call(db.port[0], 30, &word[4]);
    }
    return 0;
}

/* What case c leaves: the hop's status, reply and time; the exit status
 * of the process that ended; the status and time of da's hop into db
 * (D_INNER*: da's handler is resumed; HS_STATUS_COUNT: it is not); the
 * codes of the hop's handler and, two deep, of db's. */
static const struct {
    hs_status st;
    uint64_t reply;
    hs_time_t at;
    uint64_t exit;
    hs_status inner_st;
    hs_time_t inner_at;
    int logged[2];
} d_want[D_CASES] = {
#define ENDS(at, exit, code) \
    { HS_EPARTNER, 0xbad, at, exit, HS_STATUS_COUNT, HS_NEVER, { code, 0 } }
    [D_NAP] = ENDS(2 * HS_MSEC, 4, 50),
    [D_WAIT] = ENDS(2 * HS_MSEC, 4, 51),
    [D_DOZE] = ENDS(2 * HS_MSEC, 4, 52),
    [D_EXIT] = ENDS(HS_MSEC, 6, 53),
    [D_KEPT] = ENDS(2 * HS_MSEC, 4, 40),
    [D_OUTER] = { HS_EPARTNER, 0xbad, 2 * HS_MSEC, 4, HS_STATUS_COUNT,
                  HS_NEVER, { 54, 50 } },
#undef ENDS
    [D_INNER] = { HS_OK, 101, 2 * HS_MSEC, 8, HS_EPARTNER, 2 * HS_MSEC,
                  { 54, 50 } },
    [D_INNER_EXIT] = { HS_OK, 101, HS_MSEC, 6, HS_EPARTNER, HS_MSEC,
                       { 54, 53 } },
};

/* What case c left in the records: d_want[c]; the warm-up's replies;
 * two deep, a round trip into the process left (status[4], word[4]); the
 * handlers in the order they ran (the warm-up's echoes first, the last
 * round trip's last). */
static void d_check_case(int c, int warm)
{
    int two_deep = c >= D_OUTER;
    assert_int_equal(must_not_run, 0);
    assert_int_equal(inner_bad, 0);
    assert_int_equal(nkept, c == D_KEPT);
    if (warm) {
        assert_int_equal(status[1], HS_OK);
        assert_int_equal(word[1], two_deep ? 3 : 2);
    }
    assert_int_equal(status[0], d_want[c].st);
    assert_int_equal(word[0], d_want[c].reply);
    assert_int_equal(when[0], d_want[c].at);
    assert_int_equal(word[2], d_want[c].exit);
    assert_int_equal(status[3], d_want[c].inner_st);
    assert_int_equal(when[3], d_want[c].inner_at);
    assert_int_equal(status[4], two_deep ? HS_OK : HS_STATUS_COUNT);
    assert_int_equal(word[4], two_deep ? 31 : 0xbad);
    unsigned n = 0;
    int want[5];
    for (int i = 0; warm && i < 1 + two_deep; i++)
        want[n++] = 1;
    for (int i = 0; i < 1 + two_deep; i++)
        want[n++] = d_want[c].logged[i];
    if (two_deep)
        want[n++] = 1;
    assert_log(&order, want, n);
}

static int d_case;

static void d_check(void)
{
    d_check_case(d_case & ~WARM, (d_case & WARM) != 0);
}

/* Case c, first hop into the process and after a round trip.  Without the
 * round trip, a direct return happens only two deep with da left, where
 * da's handler returns directly once resumed.  Seeded runs need make
 * none. */
static void d_compare(int c, uint64_t seed)
{
    int inner = c == D_INNER || c == D_INNER_EXIT;
    int unseeded = seed == HS_SEED_NONE;
    d_case = c;
    compare(d_main, tu_id_arg(c), seed, d_check,
            unseeded && inner ? HOPS : NOT_DIRECT);
    d_case = c | WARM;
    compare(d_main, tu_id_arg(c | WARM), seed, d_check,
            unseeded ? HOPS | QUICK : NOT_DIRECT);
}

static void test_caller_blocked_in_an_ending_process_gets_epartner(
    void **state)
{
    (void)state;
    d_compare(D_NAP, HS_SEED_NONE);
    d_compare(D_WAIT, HS_SEED_NONE);
}

static void test_caller_at_a_checkpoint_kept_by_an_ending_process(
    void **state)
{
    (void)state;
    d_compare(D_KEPT, HS_SEED_NONE);
}

static void test_caller_woken_but_not_run_in_an_ending_process(void **state)
{
    (void)state;
    d_compare(D_DOZE, HS_SEED_NONE);
}

static void test_handler_that_ends_its_process_unwinds_its_caller(
    void **state)
{
    (void)state;
    d_compare(D_EXIT, HS_SEED_NONE);
}

static void test_two_deep_the_outer_or_the_inner_process_ends(void **state)
{
    (void)state;
    d_compare(D_OUTER, HS_SEED_NONE);
    d_compare(D_INNER, HS_SEED_NONE);
    d_compare(D_INNER_EXIT, HS_SEED_NONE);
}

/* The other end: the caller's own process ends while it sleeps in da's
 * handler.  It is killed there, and the context it left is never
 * resumed; da serves on. */
static int v_hopper(void *arg)
{
    (void)arg;
    status[5] = hs_hop_call(da.port[1], 1, &word[5]);
    must_not_run = 5;
    return 0;
}

static int v_main(void *arg)
{
    (void)arg;
    tu_mk(v_hopper, NULL, 0);
    tu_sleep_until(2 * HS_MSEC);
    hs_proc_exit(9);
}

/* With arg nonzero, a round trip into da first (status[1], word[1]), so
 * that the visitor's hop reuses a spare; the visitor's process's exit
 * status in word[2]; then a round trip into da (status[4], word[4],
 * when[4]). */
static int v_main_outer(void *arg)
{
    hs_pid_t a = 0, b = 0;
    d_setup(D_EXIT, &a, &b);            /* da alone, serving */
    if (tu_arg_id(arg))
        status[1] = hs_hop_call(da.port[0], 1, &word[1]);
    hs_pid_t v = 0;
    EXPECT_ST(hs_proc_spawn("visitor", v_main, NULL, NULL, &v), HS_OK);
    word[2] = reap(v);
    status[4] = hs_hop_call(da.port[0], 30, &word[4]);
    when[4] = hs_time_now();
    return 0;
}

static int v_warm;

static void v_check(void)
{
    assert_int_equal(must_not_run, 0);
    assert_int_equal(status[5], HS_STATUS_COUNT);      /* never returned */
    assert_int_equal(word[5], 0xbad);
    assert_int_equal(word[2], 9);
    assert_int_equal(status[4], HS_OK);
    assert_int_equal(word[4], 31);
    assert_int_equal(when[4], 2 * HS_MSEC);
    if (v_warm) {
        assert_int_equal(status[1], HS_OK);
        assert_int_equal(word[1], 2);
        assert_log(&order, ((int[]){ 1, 50, 1 }), 3);
    } else {
        assert_log(&order, ((int[]){ 50, 1 }), 2);
    }
}

static void test_caller_whose_own_process_ends_in_a_handler_is_not_resumed(
    void **state)
{
    (void)state;
    v_warm = 0;
    compare(v_main_outer, tu_id_arg(0), HS_SEED_NONE, v_check, HOPS);
    v_warm = 1;
    compare(v_main_outer, tu_id_arg(1), HS_SEED_NONE, v_check,
            HOPS | QUICK);
}

/* ---- 5: notification handlers and direct IPC ----------------------------- */

static hs_cap_t n5_gate;            /* n5's IPC server, in n5's space */

/* n5's IPC server: replies mr[0] + 1000, for ever. */
static int n5_server(void *arg)
{
    (void)arg;
    uint64_t label = 0;
    for (;;) {
        EXPECT_ST(hs_ipc_serve(&label), HS_OK);
        hs_utcb()->tag = HS_TAG(0, 1);
        hs_utcb()->mr[0] += 1000;
        EXPECT_ST(hs_ipc_reply(), HS_OK);
    }
    return 0;
}

static void n5_setup(struct server *s)
{
    (void)s;
    hs_tid_t t = tu_mk(n5_server, NULL, 0);
    EXPECT_ST(hs_gate_create(t, 5, &n5_gate), HS_OK);
}

/* Calls n5's server three times with mr[0], mr[0] + 1, mr[0] + 2 (each
 * call a direct hand-off to a waiting server); replies the sum. */
static void ipc_handler(hs_hop_t *hop, void *cookie)
{
    (void)hop;
    (void)cookie;
    uint64_t w = hs_utcb()->mr[0], sum = 0;
    tu_log_add(&order, 60);
    for (uint64_t i = 0; i < 3; i++) {
        tu_set_msg(1, 1, w + i);
        if (hs_ipc_call(n5_gate, HS_NEVER, HS_NEVER) != HS_OK ||
            hs_utcb()->mr[0] != w + i + 1000)
            inner_bad++;
        sum += hs_utcb()->mr[0];
    }
    hs_utcb()->mr[0] = sum;
}

/* Queues notification 6 for its caller with words 7 and 50: it runs as
 * the hop returns, and hops itself. */
static void note_handler(hs_hop_t *hop, void *cookie)
{
    (void)hop;
    (void)cookie;
    uint64_t w[2] = { 7, 50 };
    tu_log_add(&order, 62);
    EXPECT_ST(hs_notify_send(hs_thread_self(), 6, w, 2, 0), HS_OK);
    hs_utcb()->mr[0] += 1;
}

static struct server n5 = {
    .name = { "n5.echo", "n5.ipc", "n5.note" },
    .handler = { echo, ipc_handler, note_handler },
    .setup = n5_setup, .exit_at = HS_NEVER,
};

/* Notification 6, on the main thread: hops into n5.echo with words[0]
 * and into n5.ipc with words[1]; the statuses and replies of the i-th
 * in status[10 + 2i ..] and word[10 + 2i ..]. */
static void n5_note(void *cookie, const hs_notification *n)
{
    (void)cookie;
    unsigned i = nnotes++;
    tu_log_add(&order, 61);
    status[10 + 2 * i] = hs_hop_call(n5.port[0], n->words[0],
                                     &word[10 + 2 * i]);
    status[11 + 2 * i] = hs_hop_call(n5.port[1], n->words[1],
                                     &word[11 + 2 * i]);
    hs_notify_return();
}

/* An IPC server of the main process that hops into n5.echo with each
 * call's mr[0] before it replies (what came back + 50). */
static int hopping_server(void *arg)
{
    (void)arg;
    uint64_t label = 0;
    for (;;) {
        EXPECT_ST(hs_ipc_serve(&label), HS_OK);
        uint64_t r = 0;
        status[20] = hs_hop_call(n5.port[0], hs_utcb()->mr[0], &r);
        hs_utcb()->tag = HS_TAG(0, 1);
        hs_utcb()->mr[0] = r + 50;
        EXPECT_ST(hs_ipc_reply(), HS_OK);
    }
    return 0;
}

static int n5_main(void *arg)
{
    (void)arg;
    hs_utcb_t *u = hs_utcb();
    EXPECT_ST(hs_notify_install(hs_thread_self(), 6, n5_note, NULL), HS_OK);
    spawn_server("n5", &n5, 0);
    find("n5.note");
    status[0] = hs_hop_call(n5.port[1], 10, &word[0]);
    status[1] = hs_hop_call(n5.port[1], 20, &word[1]);
    /* Hops from a notification handler run on the main thread. */
    uint64_t w[2] = { 5, 30 };
    u->mr[0] = 777;
    status[2] = hs_notify_send(hs_thread_self(), 6, w, 2, 0);
    word[2] = u->mr[0];                         /* restored */
    /* One queued by a handler, run as the hop returns. */
    status[3] = hs_hop_call(n5.port[2], 40, &word[3]);
    /* A server that hops while its caller waits. */
    hs_tid_t s = tu_mk(hopping_server, NULL, 0);
    hs_cap_t g = 0;
    EXPECT_ST(hs_gate_create(s, 1, &g), HS_OK);
    tu_sleep_until(HS_MSEC);
    tu_set_msg(1, 1, 60);
    status[4] = hs_ipc_call(g, HS_NEVER, HS_NEVER);
    word[4] = u->mr[0];
    return 0;
}

static void n5_check(void)
{
    assert_int_equal(inner_bad, 0);
    for (int i = 0; i <= 4; i++)
        assert_int_equal(status[i], HS_OK);
    assert_int_equal(word[0], 3033);
    assert_int_equal(word[1], 3063);
    assert_int_equal(word[2], 777);
    assert_int_equal(word[3], 41);              /* restored after the note */
    assert_int_equal(word[4], 111);
    assert_int_equal(status[20], HS_OK);
    assert_int_equal(nnotes, 2);
    assert_int_equal(status[10], HS_OK);        /* the note sent by main */
    assert_int_equal(word[10], 6);
    assert_int_equal(status[11], HS_OK);
    assert_int_equal(word[11], 3093);
    assert_int_equal(status[12], HS_OK);        /* the one queued in a hop */
    assert_int_equal(word[12], 8);
    assert_int_equal(status[13], HS_OK);
    assert_int_equal(word[13], 3153);
    assert_log(&order, ((int[]){ 60, 60, 61, 1, 60, 62, 61, 1, 60, 1 }),
               10);
}

static void test_hops_from_notification_handlers_and_with_direct_ipc(
    void **state)
{
    (void)state;
    compare(n5_main, NULL, HS_SEED_NONE, n5_check, HOPS | IPC | QUICK);
}

/* ---- 6: seeds -------------------------------------------------------------- */

/* Seeded runs choose among equals at random, so scenario 2 checks no
 * FIFO order then; what the others check holds whatever the choice. */
static void test_seeded_runs_end_as_unseeded_ones(void **state)
{
    (void)state;
    for (uint64_t sd = 1; sd <= 3; sd++) {
        compare(s1_main, NULL, sd, s1_check, NOT_DIRECT);
        compare(s2_main, NULL, sd, s2_check, NOT_DIRECT);
        compare(s3_main, NULL, sd, s3_check, NOT_DIRECT);
        for (int c = 0; c < D_CASES; c++)
            d_compare(c, sd);
        v_warm = 1;
        compare(v_main_outer, tu_id_arg(1), sd, v_check, NOT_DIRECT);
        compare(n5_main, NULL, sd, n5_check, NOT_DIRECT);
    }
}

/* ---- 7: what the quick path refuses ---------------------------------------- */

static void deep(hs_hop_t *hop, void *cookie);

static struct server s7_a = {
    .name = { "s7.echo" }, .handler = { echo }, .exit_at = HS_NEVER,
};
static struct server s7_b = {
    .name = { "s7.deep" }, .handler = { deep }, .exit_at = HS_NEVER,
};

/* Hops on into s7.echo with 1 and replies 1000 * the hop's status + its
 * reply word (0 if refused). */
static void deep(hs_hop_t *hop, void *cookie)
{
    (void)hop;
    (void)cookie;
    uint64_t r = 0;
    hs_status st = hs_hop_call(s7_a.port[0], 1, &r);
    hs_utcb()->mr[0] = 1000 * (uint64_t)st + r;
}

/* Run with cfg.max_hop_depth 1.  s7.echo's spare context is parked from
 * the first hop on, so that each hop into it below would be quick but
 * for the check that refuses it; a refused hop leaves mr[0] as it was,
 * and the hops after it take the spare as before. */
static int s7_main(void *arg)
{
    (void)arg;
    spawn_server("a", &s7_a, 0);
    spawn_server("b", &s7_b, 0);
    hs_port_t e = find("s7.echo"), d = find("s7.deep");
    hs_utcb_t *u = hs_utcb();
    status[0] = hs_hop_call(e, 10, &word[0]);       /* general path */
    status[1] = hs_hop_call(e, 11, &word[1]);       /* quick */
    status[2] = hs_hop_call(d, 0, &word[2]);        /* deep: too deep */
    status[3] = hs_hop_call(d, 0, &word[3]);        /* again, d's spare */
    u->mr[0] = 5;
    status[4] = hs_hop(e, HS_HOP_CHECKPOINT, HS_TIMEOUT_MAX + 1);
    word[4] = u->mr[0];
    u->mr[0] = 12;
    status[5] = hs_hop(e, HS_HOP_CHECKPOINT, HS_TIMEOUT_MAX);
    word[5] = u->mr[0];
    status[6] = hs_hop_call(e, 20, &word[6]);
    return 0;
}

static void s7_check(void)
{
    assert_int_equal(status[0], HS_OK);
    assert_int_equal(word[0], 11);
    assert_int_equal(status[1], HS_OK);
    assert_int_equal(word[1], 12);
    for (int i = 2; i <= 3; i++) {
        assert_int_equal(status[i], HS_OK);
        assert_int_equal(word[i], 1000 * (uint64_t)HS_EDEPTH);
    }
    assert_int_equal(status[4], HS_EINVAL);
    assert_int_equal(word[4], 5);
    assert_int_equal(status[5], HS_OK);
    assert_int_equal(word[5], 13);
    assert_int_equal(status[6], HS_OK);
    assert_int_equal(word[6], 21);
}

static void test_quick_path_refuses_a_hop_too_deep_or_out_of_range(
    void **state)
{
    (void)state;
    depth_limit = 1;
    compare(s7_main, NULL, HS_SEED_NONE, s7_check, HOPS | QUICK);
    depth_limit = 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        TU_TEST(test_round_trips_first_reused_and_nested_return_directly),
        TU_TEST(test_returns_with_work_due_resume_the_caller_plainly),
        TU_TEST(test_kept_checkpoints_resumed_and_timed_out_after_direct_hops),
        TU_TEST(test_caller_blocked_in_an_ending_process_gets_epartner),
        TU_TEST(test_caller_at_a_checkpoint_kept_by_an_ending_process),
        TU_TEST(test_caller_woken_but_not_run_in_an_ending_process),
        TU_TEST(test_handler_that_ends_its_process_unwinds_its_caller),
        TU_TEST(test_two_deep_the_outer_or_the_inner_process_ends),
        TU_TEST(test_caller_whose_own_process_ends_in_a_handler_is_not_resumed),
        TU_TEST(test_hops_from_notification_handlers_and_with_direct_ipc),
        TU_TEST(test_seeded_runs_end_as_unseeded_ones),
        TU_TEST(test_quick_path_refuses_a_hop_too_deep_or_out_of_range),
    };
    return cmocka_run_group_tests_name("direct_hop", tests, tu_unset_run_env,
                                       NULL);
}
