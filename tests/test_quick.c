/*
 * tests/test_quick.c - the quick paths of a call and a reply-and-wait end
 * as the general paths do.
 *
 * hs_ipc_call() and hs_ipc_reply_wait() first try a quick path, which
 * makes every check up front and calls nothing but the direct switch
 * (ports/ipc.c, "the quick paths"); when a check fails the general path
 * runs instead and must give the same result.  Each scenario here puts
 * one of those checks in the way at a point of the run where the path
 * would otherwise be quick, with quick calls before and after it, checks
 * what the threads recorded, and runs three ways that must be the same
 * run (events, hash, switches, virtual time): the fast switch (quick
 * paths on), the ucontext switch (never direct, so never quick) and the
 * fast switch with an event callback (tracing: never quick, still
 * direct).  The fast runs must have switched directly, both the same
 * number of times; the ucontext runs never; the callback must have seen
 * every event.
 *
 * The call's checks (call_quick_receiver()):
 *   1  a receiver waiting with a timeout, its timer armed;
 *   2  a call with a finite reply timeout (and a finite send timeout,
 *      which is quick; HS_NOWAIT; timeouts out of range);
 *   3  messages of 8 words (quick), 9 words, a capability item, an
 *      invalid tag; replies of the same shapes;
 *   4  a capability whose chain was found valid in an older epoch: an
 *      unrelated revoke or delete, then revokes that break its chain;
 *   5  no send right, a capability of another kind, bad names, a
 *      deleted capability, a gate whose receiver ended.
 * The reply's checks (reply_quick_caller()):
 *   6  a second client queued on the server;
 *   7  an IRQ bound to the server, with and without bits pending;
 *   8  a server running at a priority lent by its caller;
 *   9  a caller whose call had a finite reply timeout;
 *  10  a caller that does not run next: a runnable thread of its
 *      priority, one above it;
 *  11  reply-and-waits with a finite timeout and HS_NOWAIT;
 *  12  stale replies (a caller that timed out and called elsewhere, a
 *      caller cancelled) and none to give.
 * Both (kernel_enter_quick()):
 *  13  work due at kernel entry and exit: a notification queued on the
 *      server; memory checks at every exit (never direct, never quick).
 * And under seeds, where a reply never hands off at once (the scheduler
 * chooses): 14, a ping-pong with another thread waking beside it, with
 * the random and PCT strategies, with reply-timeout and kill faults; and
 * scenario 10 again.
 */
#include "core/kernel.h"
#include "testutil.h"

#define N 64
static hs_status status[N];
static uint64_t word[N];
static uint64_t phase[N];
static hs_time_t when[N];
static int prio[N];
static uint64_t tag_seen[N];
static uint64_t sum_seen[N];
static struct tu_log order;
static hs_cap_t gcap;
static hs_tid_t srv;
static int stale_replies;           /* reply-and-waits the echo server
                                       found stale */
static int echo_done;               /* echo servers that ended by DONE */
static uint64_t traced_events;      /* events the callback saw */
static int pp_ok, pp_timeouts, pp_bad;  /* the ping-pong's calls */

/* A phase no call writes: set before a call, so that the phase read
 * after it is the call's. */
#define PHASE_UNSET 7u

/* Tag labels the echo server reads (echo_server()). */
#define SLOW 5u                     /* answer after 2 ms */
#define DONE 99u                    /* answer with hs_ipc_reply(), end */

static void reset(void)
{
    for (int i = 0; i < N; i++) {
        status[i] = HS_STATUS_COUNT;
        word[i] = 0xbad;
        phase[i] = 0xbad;
        when[i] = HS_NEVER;
        prio[i] = -1;
        tag_seen[i] = 0xbad;
        sum_seen[i] = 0xbad;
    }
    tu_log_reset(&order);
    gcap = 0;
    srv = 0;
    stale_replies = 0;
    echo_done = 0;
    traced_events = 0;
    pp_ok = pp_timeouts = pp_bad = 0;
}

/* ---- running three ways ------------------------------------------------- */

/* How a scenario runs: seed (HS_SEED_NONE: FIFO), strategy, faults,
 * memory checks at every kernel exit. */
struct how {
    uint64_t seed;
    hs_strategy strategy;
    unsigned faults;
    int mem_check;
};

static const struct how fifo = { HS_SEED_NONE, HS_STRATEGY_RANDOM, 0, 0 };

/* The event callback of the traced runs: it only counts. */
static void count_event(void *cookie, const hs_event *ev)
{
    (void)cookie;
    (void)ev;
    traced_events++;
}

/* Run f(arg) as the root process (privileged: notifications) with the
 * switch kind, traced (an event callback) or not; the records are reset
 * first, the run must end HS_OK with every EXPECT_ST matched, and a
 * traced run's callback must have seen every event of the summary. */
static hs_sim_summary run_kind(hs_switch_kind kind, int traced,
                               hs_entry_fn f, void *arg,
                               const struct how *h)
{
    hs_sim_config cfg = tu_config();
    cfg.seed = h->seed;
    cfg.strategy = h->strategy;
    cfg.faults = h->faults;
    cfg.mem_check = h->mem_check;
    cfg.switch_kind = kind;
    if (traced)
        cfg.event_fn = count_event;
    reset();
    hs_sim_summary s = tu_run_privileged(&cfg, f, arg);
    if (traced)
        assert_int_equal(traced_events, s.events);
    return s;
}

/* The calls and reply-and-waits of the last run that took the general
 * path (core/kernel.h: the kernel's statistics outlive the run). */
struct general {
    uint64_t calls, replies;
};

static struct general general_taken(void)
{
    return (struct general){ k.general_calls, k.general_replies };
}

/* What the fast runs of compare_runs() did: how many times they
 * switched directly, and how many calls and how many reply-and-waits
 * took the quick paths. */
struct taken {
    uint64_t direct, calls, replies;
    uint64_t all_replies;       /* the run's reply-and-waits */
};

/* f(arg) with the quick paths (the fast switch), without any (the
 * ucontext switch) and with the general path's direct hand-offs only
 * (the fast switch, traced): check() holds after each, and the three
 * are the same run.  The fast runs
 * switch directly at the same hand-offs (the quick paths only ever take
 * the place of a direct hand-off of the general path), the ucontext run
 * never.  The ucontext and traced runs take every call and
 * reply-and-wait by the general path, the untraced fast run the same
 * calls but those it took quick. */
static struct taken compare_runs(hs_entry_fn f, void *arg,
                                 const struct how *h, void (*check)(void))
{
    hs_sim_summary q = run_kind(HS_SWITCH_FAST, 0, f, arg, h);
    struct general gq = general_taken();
    check();
    hs_sim_summary u = run_kind(HS_SWITCH_UCONTEXT, 0, f, arg, h);
    struct general gu = general_taken();
    check();
    hs_sim_summary t = run_kind(HS_SWITCH_FAST, 1, f, arg, h);
    struct general gt = general_taken();
    check();
    assert_int_equal(u.direct_switches, 0);
    assert_int_equal(t.direct_switches, q.direct_switches);
    tu_assert_same_run(&q, &u);
    tu_assert_same_run(&q, &t);
    assert_int_equal(gu.calls, gt.calls);
    assert_int_equal(gu.replies, gt.replies);
    assert_true(gq.calls <= gt.calls);
    assert_true(gq.replies <= gt.replies);
    return (struct taken){ q.direct_switches, gt.calls - gq.calls,
                           gt.replies - gq.replies, gt.replies };
}

/* compare_runs(), whose fast runs must have switched directly and taken
 * the quick path of a call, and of a reply-and-wait if the run made any,
 * unless seeded (a seeded run's scheduler chooses what runs next:
 * sched_runs_next()). */
static void compare_how(hs_entry_fn f, void *arg, const struct how *h,
                        void (*check)(void))
{
    struct taken tk = compare_runs(f, arg, h, check);
    assert_true(tk.direct > 0 || !TU_DIRECT_BUILD);
    assert_true(tk.calls > 0 || !TU_DIRECT_BUILD);
    if (h->seed == HS_SEED_NONE && tk.all_replies > 0)
        assert_true(tk.replies > 0 || !TU_DIRECT_BUILD);
    else
        assert_int_equal(tk.replies, 0);
}

/* compare_how() unseeded. */
static void compare(hs_entry_fn f, void *arg, void (*check)(void))
{
    compare_how(f, arg, &fifo, check);
}

/* ---- inside simulated threads -------------------------------------------- */

/* Call through cap with a one-word message (tag label, mr[0]) and the
 * timeouts: the status, phase, reply word and time in slot i. */
static hs_status call_to(int i, hs_cap_t cap, hs_time_t send_to,
                         hs_time_t recv_to, uint32_t label, uint64_t mr0)
{
    hs_utcb_t *u = hs_utcb();
    tu_set_msg(label, 1, mr0);
    u->phase = PHASE_UNSET;
    status[i] = hs_ipc_call(cap, send_to, recv_to);
    phase[i] = u->phase;
    word[i] = u->mr[0];
    when[i] = hs_time_now();
    return status[i];
}

/* call_to() with no send timeout. */
static hs_status call_rec(int i, hs_cap_t cap, hs_time_t recv_to,
                          uint32_t label, uint64_t mr0)
{
    return call_to(i, cap, HS_NEVER, recv_to, label, mr0);
}

/* The echo server: answers each call with mr[0] + 1 by a reply-and-wait
 * for ever, logging the label of the capability each came through; a
 * call of tag label SLOW is answered after 2 ms, one of DONE with
 * hs_ipc_reply(), and then it ends.  A reply-and-wait found stale
 * (its caller gave up) is counted, and the server waits again. */
static int echo_server(void *arg)
{
    (void)arg;
    hs_utcb_t *u = hs_utcb();
    uint64_t label = 0;
    EXPECT_ST(hs_ipc_wait(HS_NEVER, &label), HS_OK);
    for (;;) {
        tu_log_add(&order, (int)label);
        uint32_t tl = hs_tag_label(u->tag);
        if (tl == SLOW)
            EXPECT_ST(hs_thread_sleep(2 * HS_MSEC), HS_OK);
        u->tag = HS_TAG(0, 1);
        u->mr[0] += 1;
        if (tl == DONE) {
            EXPECT_ST(hs_ipc_reply(), HS_OK);
            echo_done++;
            return 0;
        }
        hs_status st = hs_ipc_reply_wait(HS_NEVER, &label);
        if (st == HS_ESTALE) {
            stale_replies++;
            EXPECT_ST(hs_ipc_wait(HS_NEVER, &label), HS_OK);
        } else if (EXPECT_ST(st, HS_OK) != HS_OK) {
            return 1;
        }
    }
}

/* Start an echo server with a gate of label into gcap, and let it
 * wait. */
static void echo_start(uint64_t label)
{
    srv = tu_mk(echo_server, NULL, 0);
    EXPECT_ST(hs_gate_create(srv, label, &gcap), HS_OK);
    EXPECT_ST(hs_thread_sleep(10), HS_OK);
}

/* The last call of a scenario (DONE, through cap), then join the echo
 * server. */
static void echo_finish(hs_cap_t cap, hs_tid_t server)
{
    tu_set_msg(DONE, 1, 0);
    EXPECT_ST(hs_ipc_call(cap, HS_NEVER, HS_NEVER), HS_OK);
    tu_join(server);
}

/* Assert that call slot i ended with st in phase ph, its reply word w
 * (not checked for a failed call: the registers keep what they held). */
#define assert_call(i, st, ph, w) do {                  \
        assert_int_equal(status[i], (st));              \
        assert_int_equal(phase[i], (ph));               \
        if ((st) == HS_OK)                              \
            assert_int_equal(word[i], (w));             \
    } while (0)

/* ---- 1: a receiver waiting with a timeout ------------------------------ */

/* Waits for ever twice (the first call takes the general path, as the
 * first use of any capability does; the second is quick), then with a
 * 5 ms timeout (the call finds its timer armed: general), then for ever
 * again, past that deadline (quick; had the call left the timer armed it
 * would end this wait), then 1 ms, which expires.  Each wait's status,
 * label and time in slots 10.., answered with hs_ipc_reply(). */
static int rt_server(void *arg)
{
    (void)arg;
    static const hs_time_t waits[4] = {
        HS_NEVER, HS_NEVER, 5 * HS_MSEC, HS_NEVER,
    };
    hs_utcb_t *u = hs_utcb();
    for (int i = 0; i < 4; i++) {
        uint64_t label = 0;
        status[10 + i] = hs_ipc_wait(waits[i], &label);
        word[10 + i] = label;
        when[10 + i] = hs_time_now();
        u->tag = HS_TAG(0, 1);
        u->mr[0] += 1;
        EXPECT_ST(hs_ipc_reply(), HS_OK);
    }
    u->phase = PHASE_UNSET;
    status[14] = hs_ipc_wait(HS_MSEC, NULL);
    phase[14] = u->phase;
    when[14] = hs_time_now();
    return 0;
}

static int rt_main(void *arg)
{
    (void)arg;
    srv = tu_mk(rt_server, NULL, 0);
    hs_cap_t g = 0;
    EXPECT_ST(hs_gate_create(srv, 3, &g), HS_OK);
    tu_sleep_until(10);
    call_rec(0, g, HS_NEVER, 1, 10);
    call_rec(1, g, HS_NEVER, 1, 20);
    call_rec(2, g, HS_NEVER, 1, 30);        /* its timer armed */
    tu_sleep_until(10 * HS_MSEC);           /* past 10 ns + 5 ms */
    call_rec(3, g, HS_NEVER, 1, 40);
    tu_join(srv);
    return 0;
}

static void rt_check(void)
{
    assert_call(0, HS_OK, HS_PHASE_NONE, 11);
    assert_call(1, HS_OK, HS_PHASE_NONE, 21);
    assert_call(2, HS_OK, HS_PHASE_NONE, 31);
    assert_call(3, HS_OK, HS_PHASE_NONE, 41);
    for (int i = 10; i < 14; i++) {
        assert_int_equal(status[i], HS_OK);
        assert_int_equal(word[i], 3);
    }
    assert_int_equal(when[10], 10);
    assert_int_equal(when[11], 10);
    assert_int_equal(when[12], 10);
    /* the call ended the 5 ms wait and its timer: the wait for ever
     * after it lasts until the call at 10 ms */
    assert_int_equal(when[13], 10 * HS_MSEC);
    assert_int_equal(when[3], 10 * HS_MSEC);
    assert_int_equal(status[14], HS_ETIMEOUT);
    assert_int_equal(phase[14], HS_PHASE_RECV);
    assert_int_equal(when[14], 11 * HS_MSEC);
}

static void test_call_to_a_receiver_with_its_timer_armed(void **state)
{
    (void)state;
    compare(rt_main, NULL, rt_check);
}

/* ---- 2: a call with a finite reply timeout ----------------------------- */

/* Calls of every kind of timeout to the echo server: none (general,
 * then quick), a finite send timeout (quick: the receiver waits), a send
 * or reply timeout out of range (refused, the server waiting), a finite
 * reply timeout answered in time and one that expires while the server
 * sleeps (general both), HS_NOWAIT for the reply (general); then quick
 * again. */
static int rto_main(void *arg)
{
    (void)arg;
    echo_start(1);
    call_rec(0, gcap, HS_NEVER, 1, 10);
    call_rec(1, gcap, HS_NEVER, 1, 20);
    call_to(2, gcap, HS_MSEC, HS_NEVER, 1, 30);
    call_to(3, gcap, HS_TIMEOUT_MAX + 1, HS_NEVER, 1, 40);
    call_rec(4, gcap, HS_TIMEOUT_MAX + 1, 1, 50);
    call_rec(5, gcap, 5 * HS_MSEC, 1, 60);
    call_rec(6, gcap, HS_MSEC, SLOW, 70);       /* times out */
    tu_sleep_until(3 * HS_MSEC);                /* the server waits */
    call_rec(7, gcap, HS_NOWAIT, 1, 80);
    call_rec(8, gcap, HS_NEVER, 1, 90);         /* queued: the server
                                                   has not run yet */
    call_rec(9, gcap, HS_NEVER, 1, 100);
    echo_finish(gcap, srv);
    return 0;
}

static void rto_check(void)
{
    assert_call(0, HS_OK, HS_PHASE_NONE, 11);
    assert_call(1, HS_OK, HS_PHASE_NONE, 21);
    assert_call(2, HS_OK, HS_PHASE_NONE, 31);
    assert_call(3, HS_EINVAL, HS_PHASE_SEND, 0);
    assert_call(4, HS_EINVAL, HS_PHASE_SEND, 0);
    assert_call(5, HS_OK, HS_PHASE_NONE, 61);
    assert_call(6, HS_ETIMEOUT, HS_PHASE_RECV, 0);
    assert_int_equal(when[6], 10 + HS_MSEC);
    assert_call(7, HS_ETIMEOUT, HS_PHASE_RECV, 0);
    assert_int_equal(when[7], 3 * HS_MSEC);
    assert_call(8, HS_OK, HS_PHASE_NONE, 91);
    assert_call(9, HS_OK, HS_PHASE_NONE, 101);
    assert_int_equal(stale_replies, 2);         /* to calls 6 and 7 */
    assert_int_equal(echo_done, 1);
    /* every call that reached the server, and the last */
    assert_log(&order, ((int[]){1, 1, 1, 1, 1, 1, 1, 1, 1}), 9);
}

static void test_call_with_a_finite_reply_timeout(void **state)
{
    (void)state;
    compare(rto_main, NULL, rto_check);
}

/* ---- 3: messages and replies of more than 8 words, with items, invalid - */

enum {
    MS_ONE = 1,             /* one word, answered mr[0] + 1 */
    MS_ITEM = 4,            /* a capability item, answered with one */
    MS_BADREPLY = 7,        /* answered first with an invalid tag */
    MS_W8 = 8,              /* 8 words, answered with 8 */
    MS_W9 = 9,              /* 9 words, answered with 9 */
    MS_EMPTY = 10,          /* no words, answered mr[0] + 1 */
};

/* The sum of the words of the message in the UTCB. */
static uint64_t mr_sum(const hs_utcb_t *u)
{
    uint64_t s = 0;
    for (unsigned i = 0; i < hs_tag_words(u->tag); i++)
        s += u->mr[i];
    return s;
}

/* A message of n words base, base + 1, ... with tag label. */
static void msg_words(uint32_t label, unsigned n, uint64_t base)
{
    hs_utcb_t *u = hs_utcb();
    u->tag = HS_TAG(label, n);
    for (unsigned i = 0; i < n; i++)
        u->mr[i] = base + i;
}

/* A message of one word and one capability item passing cap with
 * rights. */
static void msg_item(uint32_t label, uint64_t w, hs_cap_t cap,
                     unsigned rights)
{
    hs_utcb_t *u = hs_utcb();
    u->tag = HS_TAG_ITEMS(label, 1, 1);
    u->mr[0] = w;
    u->mr[1] = HS_ITEM(HS_ITEM_CAP, rights);
    u->mr[2] = cap;
}

/* The capability item of a message just received: its name in slot i,
 * its rights and label in slots i + 1 and i + 2. */
static void item_seen(int i)
{
    hs_utcb_t *u = hs_utcb();
    hs_cap_info info;
    memset(&info, 0, sizeof info);
    word[i] = u->mr[2];
    EXPECT_ST(hs_cap_info_get((hs_cap_t)u->mr[2], &info), HS_OK);
    word[i + 1] = info.rights;
    word[i + 2] = info.label;
}

/* The answer to a message of tag label tl: of its shape.  An MS_BADREPLY
 * is first answered with a tag of 65 words, refused (its status and phase
 * in slot 19) with the reply capability kept. */
static void ms_answer(uint32_t tl)
{
    hs_utcb_t *u = hs_utcb();
    if (tl == MS_W8 || tl == MS_W9) {
        msg_words(0, tl, 100);
        return;
    }
    if (tl == MS_ITEM) {
        msg_item(0, 7, gcap, HS_CAP_SEND);
        return;
    }
    uint64_t next = u->mr[0] + 1;
    if (tl == MS_BADREPLY) {
        u->tag = HS_TAG(0, 65);
        u->phase = PHASE_UNSET;
        status[19] = hs_ipc_reply_wait(HS_NEVER, NULL);
        phase[19] = u->phase;
    }
    tu_set_msg(0, 1, next);
}

/* Records each message: its tag in tag_seen[20 + n], the sum of its
 * words in sum_seen[20 + n], its mr[8] in word[20 + n]; a capability
 * item in slots 40..42. */
static int ms_server(void *arg)
{
    (void)arg;
    hs_utcb_t *u = hs_utcb();
    uint64_t label = 0;
    u->br[HS_BR_CAPS] = 1;
    EXPECT_ST(hs_ipc_wait(HS_NEVER, &label), HS_OK);
    for (int i = 20; i < N; i++) {
        uint32_t tl = hs_tag_label(u->tag);
        tag_seen[i] = u->tag;
        sum_seen[i] = mr_sum(u);
        word[i] = u->mr[8];
        if (hs_tag_items(u->tag))
            item_seen(40);
        if (tl == DONE) {
            tu_set_msg(0, 1, 0);
            EXPECT_ST(hs_ipc_reply(), HS_OK);
            return 0;
        }
        ms_answer(tl);
        EXPECT_ST(hs_ipc_reply_wait(HS_NEVER, &label), HS_OK);
    }
    return 1;
}

/* A call of the message in the UTCB: status and phase in slot i; if it
 * was answered, the reply's tag and the sum of its words too, and its
 * mr[8] in word[i] (a refused call leaves its own tag, which may be out
 * of range). */
static void ms_call(int i)
{
    hs_utcb_t *u = hs_utcb();
    u->phase = PHASE_UNSET;
    status[i] = hs_ipc_call(gcap, HS_NEVER, HS_NEVER);
    phase[i] = u->phase;
    if (status[i] != HS_OK)
        return;
    tag_seen[i] = u->tag;
    sum_seen[i] = mr_sum(u);
    word[i] = u->mr[8];
}

static hs_cap_t ms_x;               /* the capability passed to the server */

static int ms_main(void *arg)
{
    (void)arg;
    hs_utcb_t *u = hs_utcb();
    u->br[HS_BR_CAPS] = 1;
    srv = tu_mk(ms_server, NULL, 0);
    EXPECT_ST(hs_gate_create(srv, 1, &gcap), HS_OK);
    EXPECT_ST(hs_cap_derive(gcap, HS_CAP_SEND | HS_CAP_GRANT, 44, &ms_x),
              HS_OK);
    tu_sleep_until(10);
    msg_words(MS_ONE, 1, 5);
    ms_call(0);
    msg_words(MS_W9, 9, 1);                 /* general both ways */
    ms_call(1);
    msg_words(MS_W8, 8, 1);                 /* quick both ways */
    ms_call(2);
    msg_item(MS_ITEM, 3, ms_x, HS_CAP_SEND);
    ms_call(3);
    item_seen(43);
    u->tag = HS_TAG(5, 65);                 /* 65 words: invalid */
    ms_call(4);
    u->tag = HS_TAG(6, 1) | HS_TAG_IRQ;     /* a kernel flag: invalid */
    ms_call(5);
    msg_words(MS_BADREPLY, 1, 70);
    ms_call(6);
    msg_words(MS_EMPTY, 0, 0);
    ms_call(7);
    msg_words(DONE, 1, 0);
    ms_call(8);
    tu_join(srv);
    return 0;
}

static void ms_check(void)
{
    /* what the server received */
    assert_true(tag_seen[20] == HS_TAG(MS_ONE, 1));
    assert_int_equal(sum_seen[20], 5);
    assert_true(tag_seen[21] == HS_TAG(MS_W9, 9));
    assert_int_equal(sum_seen[21], 45);
    assert_true(tag_seen[22] == HS_TAG(MS_W8, 8));
    assert_int_equal(sum_seen[22], 36);
    assert_int_equal(word[22], 108);        /* mr[8] kept: its own reply */
    assert_true(tag_seen[23] == HS_TAG_ITEMS(MS_ITEM, 1, 1));
    assert_int_equal(sum_seen[23], 3);
    assert_true(word[40] != ms_x);          /* a new capability */
    assert_int_equal(word[41], HS_CAP_SEND);
    assert_int_equal(word[42], 44);
    assert_true(tag_seen[24] == HS_TAG(MS_BADREPLY, 1));
    assert_int_equal(sum_seen[24], 70);
    assert_true(tag_seen[25] == HS_TAG(MS_EMPTY, 0));
    assert_int_equal(sum_seen[25], 0);
    assert_true(tag_seen[26] == HS_TAG(DONE, 1));
    assert_int_equal(tag_seen[27], 0xbad);  /* nothing more */
    /* what the client received */
    for (int i = 0; i < 9; i++) {
        hs_status want = i == 4 || i == 5 ? HS_EINVAL : HS_OK;
        assert_int_equal(status[i], want);
        assert_int_equal(phase[i], want == HS_OK ? HS_PHASE_NONE
                                                 : HS_PHASE_SEND);
    }
    assert_true(tag_seen[0] == HS_TAG(0, 1));
    assert_int_equal(sum_seen[0], 6);
    assert_true(tag_seen[1] == HS_TAG(0, 9));
    assert_int_equal(sum_seen[1], 936);     /* 100 + ... + 108 */
    assert_true(tag_seen[2] == HS_TAG(0, 8));
    assert_int_equal(sum_seen[2], 828);     /* 100 + ... + 107 */
    assert_int_equal(word[2], 108);         /* mr[8] kept */
    assert_true(tag_seen[3] == HS_TAG_ITEMS(0, 1, 1));
    assert_int_equal(sum_seen[3], 7);
    assert_true(word[43] != gcap);          /* a new capability */
    assert_int_equal(word[44], HS_CAP_SEND);
    assert_int_equal(word[45], 1);
    assert_int_equal(status[19], HS_EINVAL);    /* the refused reply */
    assert_int_equal(phase[19], HS_PHASE_SEND);
    assert_true(tag_seen[6] == HS_TAG(0, 1));
    assert_int_equal(sum_seen[6], 71);
    assert_true(tag_seen[7] == HS_TAG(0, 1));
    assert_int_equal(sum_seen[7], 72);      /* the server's mr[0] kept */
}

static void test_messages_of_more_than_8_words_or_with_items(void **state)
{
    (void)state;
    compare(ms_main, NULL, ms_check);
}

/* ---- 4: a capability found valid in an older epoch --------------------- */

/* Through c1, derived from the gate, and c2, derived from c1, to the
 * echo server: after an unrelated revoke and an unrelated delete (the
 * epoch moves on, the next call walks the chain and goes through), then
 * after revoking c1 (c2 is broken) and the gate (c1 is). */
static int ep_main(void *arg)
{
    (void)arg;
    echo_start(1);
    hs_cap_t c1 = 0, c2 = 0, un = 0;
    EXPECT_ST(hs_cap_derive(gcap, HS_CAP_SEND, 5, &c1), HS_OK);
    EXPECT_ST(hs_cap_derive(gcap, HS_CAP_SEND, 9, &un), HS_OK);
    EXPECT_ST(hs_cap_derive(c1, HS_CAP_SEND, 6, &c2), HS_OK);
    call_rec(0, c1, HS_NEVER, 1, 10);       /* first use */
    call_rec(1, c1, HS_NEVER, 1, 20);       /* quick */
    EXPECT_ST(hs_cap_revoke(un), HS_OK);
    call_rec(2, c1, HS_NEVER, 1, 30);       /* stale epoch */
    call_rec(3, c1, HS_NEVER, 1, 40);
    EXPECT_ST(hs_cap_delete(un), HS_OK);
    call_rec(4, c1, HS_NEVER, 1, 50);       /* stale epoch */
    call_rec(5, c2, HS_NEVER, 1, 60);       /* first use */
    call_rec(6, c2, HS_NEVER, 1, 70);
    EXPECT_ST(hs_cap_revoke(c1), HS_OK);
    call_rec(7, c2, HS_NEVER, 1, 80);       /* broken */
    call_rec(8, c1, HS_NEVER, 1, 90);
    call_rec(9, c1, HS_NEVER, 1, 100);
    EXPECT_ST(hs_cap_revoke(gcap), HS_OK);
    call_rec(10, c1, HS_NEVER, 1, 110);     /* broken */
    call_rec(11, gcap, HS_NEVER, 1, 120);   /* first use */
    call_rec(12, gcap, HS_NEVER, 1, 130);
    echo_finish(gcap, srv);
    return 0;
}

static void ep_check(void)
{
    for (int i = 0; i < 13; i++) {
        if (i == 7 || i == 10)
            assert_call(i, HS_EBADCAP, HS_PHASE_SEND, 0);
        else
            assert_call(i, HS_OK, HS_PHASE_NONE, (uint64_t)(i + 1) * 10 + 1);
    }
    assert_log(&order, ((int[]){5, 5, 5, 5, 5, 6, 6, 5, 5, 1, 1, 1}), 12);
    assert_int_equal(echo_done, 1);
}

static void test_capability_of_an_older_epoch(void **state)
{
    (void)state;
    compare(ep_main, NULL, ep_check);
}

/* ---- 5: no send right, bad capabilities ------------------------------- */

static int bc_main(void *arg)
{
    (void)arg;
    echo_start(1);
    hs_cap_t s = 0, r = 0, q = 0, d = 0, g2 = 0;
    EXPECT_ST(hs_cap_derive(gcap, HS_CAP_SEND, 3, &s), HS_OK);
    EXPECT_ST(hs_cap_derive(gcap, HS_CAP_RECV, 2, &r), HS_OK);
    EXPECT_ST(hs_irq_create(&q), HS_OK);
    call_rec(0, s, HS_NEVER, 1, 10);        /* first use */
    call_rec(1, s, HS_NEVER, 1, 20);        /* quick */
    call_rec(2, r, HS_NEVER, 1, 30);        /* no send right */
    call_rec(3, r, HS_NEVER, 1, 40);        /* again, its chain known */
    call_rec(4, s, HS_NEVER, 1, 50);
    call_rec(5, q, HS_NEVER, 1, 60);        /* an IRQ */
    call_rec(6, q, HS_NEVER, 1, 70);
    call_rec(7, HS_CAP_NIL, HS_NEVER, 1, 80);
    call_rec(8, 999, HS_NEVER, 1, 90);
    EXPECT_ST(hs_cap_derive(gcap, HS_CAP_SEND, 4, &d), HS_OK);
    call_rec(9, d, HS_NEVER, 1, 100);
    call_rec(10, d, HS_NEVER, 1, 110);
    EXPECT_ST(hs_cap_delete(d), HS_OK);
    call_rec(11, d, HS_NEVER, 1, 120);      /* deleted */
    /* a gate whose receiver ends: the capability outlives it */
    hs_tid_t s2 = tu_mk(echo_server, NULL, 0);
    EXPECT_ST(hs_gate_create(s2, 7, &g2), HS_OK);
    EXPECT_ST(hs_thread_sleep(10), HS_OK);
    call_rec(12, g2, HS_NEVER, 1, 130);
    call_rec(13, g2, HS_NEVER, 1, 140);
    echo_finish(g2, s2);
    call_rec(14, g2, HS_NEVER, 1, 150);     /* its gate is gone */
    call_rec(15, s, HS_NEVER, 1, 160);
    call_rec(16, s, HS_NEVER, 1, 170);
    echo_finish(s, srv);
    return 0;
}

static void bc_check(void)
{
    static const hs_status want[17] = {
        HS_OK, HS_OK, HS_EPERM, HS_EPERM, HS_OK, HS_EPERM, HS_EPERM,
        HS_EBADCAP, HS_EBADCAP, HS_OK, HS_OK, HS_EBADCAP, HS_OK, HS_OK,
        HS_EBADCAP, HS_OK, HS_OK,
    };
    for (int i = 0; i < 17; i++)
        assert_call(i, want[i], want[i] == HS_OK ? HS_PHASE_NONE
                                                 : HS_PHASE_SEND,
                    (uint64_t)(i + 1) * 10 + 1);
    assert_log(&order,
               ((int[]){3, 3, 3, 4, 4, 7, 7, 7, 3, 3, 3}), 11);
    assert_int_equal(echo_done, 2);
}

static void test_call_without_a_send_right_or_with_a_bad_capability(
    void **state)
{
    (void)state;
    compare(bc_main, NULL, bc_check);
}

/* ---- 6: a second client queued on the server --------------------------- */

/* Client B: calls at 1 ms through gate label 2, while the server sleeps
 * on the main thread's SLOW call, so it queues. */
static int sq_client(void *arg)
{
    hs_cap_t gb = (hs_cap_t)tu_arg_id(arg);
    tu_sleep_until(HS_MSEC);
    call_rec(20, gb, HS_NEVER, 1, 500);
    tu_log_add(&order, 200);
    return 0;
}

static int sq_main(void *arg)
{
    (void)arg;
    echo_start(1);
    hs_cap_t gb = 0;
    EXPECT_ST(hs_cap_derive(gcap, HS_CAP_SEND, 2, &gb), HS_OK);
    hs_tid_t b = tu_mk(sq_client, tu_id_arg((int)gb), 0);
    call_rec(0, gcap, HS_NEVER, 1, 10);     /* first use */
    tu_log_add(&order, 100);
    call_rec(1, gcap, HS_NEVER, 1, 20);     /* quick both ways */
    tu_log_add(&order, 101);
    call_rec(2, gcap, HS_NEVER, SLOW, 30);  /* answered with B queued */
    tu_log_add(&order, 102);
    call_rec(3, gcap, HS_NEVER, 1, 40);
    tu_log_add(&order, 103);
    call_rec(4, gcap, HS_NEVER, 1, 50);
    tu_log_add(&order, 104);
    echo_finish(gcap, srv);
    tu_join(b);
    return 0;
}

static void sq_check(void)
{
    assert_call(0, HS_OK, HS_PHASE_NONE, 11);
    assert_call(1, HS_OK, HS_PHASE_NONE, 21);
    assert_call(2, HS_OK, HS_PHASE_NONE, 31);
    assert_int_equal(when[2], 10 + 2 * HS_MSEC);
    assert_call(3, HS_OK, HS_PHASE_NONE, 41);
    assert_call(4, HS_OK, HS_PHASE_NONE, 51);
    assert_call(20, HS_OK, HS_PHASE_NONE, 501);     /* B */
    assert_int_equal(when[20], 10 + 2 * HS_MSEC);
    /* the server takes B's call within the reply-and-wait that answers
     * the SLOW call; B is answered before the main thread's next call,
     * and runs after it, both woken by the scheduler */
    assert_log(&order, ((int[]){1, 100, 1, 101, 1, 2, 102, 1, 200, 103,
                                1, 104, 1}), 13);
    assert_int_equal(echo_done, 1);
}

static void test_reply_with_a_sender_queued(void **state)
{
    (void)state;
    compare(sq_main, NULL, sq_check);
}

/* ---- 7: an IRQ bound to the server ------------------------------------- */

static hs_cap_t irqc;

/* What the server's wait ended with (status st, label), in slot i with
 * the tag and mr[0]. */
static void iq_seen(int i, hs_status st, uint64_t label)
{
    hs_utcb_t *u = hs_utcb();
    status[i] = st;
    word[i] = label;
    tag_seen[i] = u->tag;
    sum_seen[i] = u->mr[0];
}

/* The answer, mr[0] + 1, in the registers. */
static void iq_answer(void)
{
    hs_utcb_t *u = hs_utcb();
    u->tag = HS_TAG(0, 1);
    u->mr[0] += 1;
}

/* A server with an IRQ bound (label 99): a reply-and-wait with no bits
 * pending (general, yet handing off at once), one with bits it signalled
 * itself (general: the bits end the wait at once), then, unbound, one
 * that is quick.  What each wait ended with in slots 20..24. */
static int iq_server(void *arg)
{
    (void)arg;
    uint64_t label = 0;
    hs_status st;
    EXPECT_ST(hs_irq_bind(irqc, hs_thread_self(), 99), HS_OK);
    st = hs_ipc_wait(HS_NEVER, &label);
    iq_seen(20, st, label);
    iq_answer();
    st = hs_ipc_reply_wait(HS_NEVER, &label);
    iq_seen(21, st, label);
    EXPECT_ST(hs_irq_signal(irqc, 0x5), HS_OK);
    iq_answer();
    st = hs_ipc_reply_wait(HS_NEVER, &label);
    iq_seen(22, st, label);
    EXPECT_ST(hs_irq_bind(irqc, HS_IRQ_UNBIND, 0), HS_OK);
    st = hs_ipc_wait(HS_NEVER, &label);
    iq_seen(23, st, label);
    iq_answer();
    st = hs_ipc_reply_wait(HS_NEVER, &label);      /* quick */
    iq_seen(24, st, label);
    iq_answer();
    EXPECT_ST(hs_ipc_reply(), HS_OK);
    return 0;
}

static int iq_main(void *arg)
{
    (void)arg;
    EXPECT_ST(hs_irq_create(&irqc), HS_OK);
    srv = tu_mk(iq_server, NULL, 0);
    EXPECT_ST(hs_gate_create(srv, 1, &gcap), HS_OK);
    tu_sleep_until(10);
    for (int i = 0; i < 4; i++)
        call_rec(i, gcap, HS_NEVER, 1, (uint64_t)(i + 1) * 10);
    tu_join(srv);
    return 0;
}

static void iq_check(void)
{
    for (int i = 0; i < 4; i++)
        assert_call(i, HS_OK, HS_PHASE_NONE, (uint64_t)(i + 1) * 10 + 1);
    for (int i = 20; i < 25; i++)
        assert_int_equal(status[i], HS_OK);
    assert_int_equal(word[20], 1);          /* call 0 */
    assert_int_equal(sum_seen[20], 10);
    assert_int_equal(word[21], 1);          /* call 1 */
    assert_int_equal(sum_seen[21], 20);
    assert_int_equal(word[22], 99);         /* the IRQ */
    assert_true(tag_seen[22] == (HS_TAG_IRQ | HS_TAG(0, 1)));
    assert_int_equal(sum_seen[22], 0x5);
    assert_int_equal(word[23], 1);          /* call 2 */
    assert_int_equal(sum_seen[23], 30);
    assert_int_equal(word[24], 1);          /* call 3 */
}

static void test_reply_with_an_irq_bound(void **state)
{
    (void)state;
    compare(iq_main, NULL, iq_check);
}

/* ---- 8: a server running at a priority lent by its caller -------------- */

#define LP_SERVER_PRIO (HS_PRIO_DEFAULT - 6)
#define LP_LOW_PRIO (HS_PRIO_DEFAULT - 8)

/* The server, at LP_SERVER_PRIO: its own priority while it serves each
 * call in prio[20..]; answers by reply-and-waits, the last (DONE) by
 * hs_ipc_reply(). */
static int lp_server(void *arg)
{
    (void)arg;
    hs_utcb_t *u = hs_utcb();
    uint64_t label = 0;
    EXPECT_ST(hs_ipc_wait(HS_NEVER, &label), HS_OK);
    for (int i = 20; i < N; i++) {
        EXPECT_ST(hs_thread_get_priority(hs_thread_self(), &prio[i]), HS_OK);
        int done = hs_tag_label(u->tag) == DONE;
        u->tag = HS_TAG(0, 1);
        u->mr[0] += 1;
        if (done)
            return (int)EXPECT_ST(hs_ipc_reply(), HS_OK);
        EXPECT_ST(hs_ipc_reply_wait(HS_NEVER, &label), HS_OK);
    }
    return 1;
}

/* A call, then the server's priority as the caller sees it after the
 * reply, in prio[i]. */
static void lp_call(int i, uint32_t label)
{
    call_rec(i, gcap, HS_NEVER, label, (uint64_t)i * 10);
    EXPECT_ST(hs_thread_get_priority(srv, &prio[i]), HS_OK);
}

/* A client below the server: lends nothing, so is answered quick. */
static int lp_low(void *arg)
{
    (void)arg;
    tu_sleep_until(HS_MSEC);
    lp_call(10, 1);
    lp_call(11, 1);
    return 0;
}

static int lp_main(void *arg)
{
    (void)arg;
    srv = tu_mk(lp_server, NULL, LP_SERVER_PRIO);
    EXPECT_ST(hs_gate_create(srv, 1, &gcap), HS_OK);
    hs_tid_t low = tu_mk(lp_low, NULL, LP_LOW_PRIO);
    tu_sleep_until(10);
    lp_call(0, 1);                          /* first use */
    lp_call(1, 1);                          /* quick call, lent */
    tu_sleep_until(2 * HS_MSEC);            /* lp_low's calls */
    lp_call(2, 1);
    lp_call(3, DONE);
    tu_join(srv);
    tu_join(low);
    return 0;
}

static void lp_check(void)
{
    static const int idx[6] = { 0, 1, 10, 11, 2, 3 };
    for (int i = 0; i < 6; i++) {
        int c = idx[i];
        assert_call(c, HS_OK, HS_PHASE_NONE, (uint64_t)c * 10 + 1);
        assert_int_equal(prio[c], LP_SERVER_PRIO);  /* its own again */
    }
    assert_int_equal(prio[20], HS_PRIO_DEFAULT);    /* lent */
    assert_int_equal(prio[21], HS_PRIO_DEFAULT);
    assert_int_equal(prio[22], LP_SERVER_PRIO);     /* lp_low's */
    assert_int_equal(prio[23], LP_SERVER_PRIO);
    assert_int_equal(prio[24], HS_PRIO_DEFAULT);
    assert_int_equal(prio[25], HS_PRIO_DEFAULT);
    assert_int_equal(prio[26], -1);
    assert_int_equal(when[10], HS_MSEC);
    assert_int_equal(when[2], 2 * HS_MSEC);
}

static void test_reply_at_a_lent_priority(void **state)
{
    (void)state;
    compare(lp_main, NULL, lp_check);
}

/* ---- 9: a caller whose call had a finite reply timeout ----------------- */

/* The reply to call 2 finds the caller's timer armed (general); call 3
 * waits past that timer's deadline for a SLOW answer, quick both ways. */
static int ct_main(void *arg)
{
    (void)arg;
    echo_start(1);
    call_rec(0, gcap, HS_NEVER, 1, 10);     /* first use */
    call_rec(1, gcap, HS_NEVER, 1, 20);     /* quick */
    call_rec(2, gcap, HS_MSEC, 1, 30);      /* its timer armed */
    call_rec(3, gcap, HS_NEVER, SLOW, 40);  /* past 10 ns + 1 ms */
    call_rec(4, gcap, HS_NEVER, 1, 50);
    echo_finish(gcap, srv);
    return 0;
}

static void ct_check(void)
{
    for (int i = 0; i < 5; i++)
        assert_call(i, HS_OK, HS_PHASE_NONE, (uint64_t)(i + 1) * 10 + 1);
    assert_int_equal(when[2], 10);
    assert_int_equal(when[3], 10 + 2 * HS_MSEC);
    assert_int_equal(stale_replies, 0);
    assert_log(&order, ((int[]){1, 1, 1, 1, 1, 1}), 6);
}

static void test_reply_to_a_caller_with_its_timer_armed(void **state)
{
    (void)state;
    compare(ct_main, NULL, ct_check);
}

/* ---- 10: a caller that does not run next ------------------------------- */

#define NN_LOW_PRIO (HS_PRIO_DEFAULT - 6)
#define NN_MID_PRIO (HS_PRIO_DEFAULT - 4)
#define NN_EQUAL 2u                         /* tag: start a thread of the
                                               server's priority first */
#define NN_ABOVE 3u                         /* tag: start one above the
                                               caller's, below the
                                               server's */

/* A thread made runnable just before a reply: logs its id. */
static int nn_runnable(void *arg)
{
    tu_log_add(&order, tu_arg_id(arg));
    return 0;
}

static hs_tid_t nn_made[2];

/* Echo server that, for NN_EQUAL and NN_ABOVE, makes a thread runnable
 * just before its reply-and-wait. */
static int nn_server(void *arg)
{
    (void)arg;
    hs_utcb_t *u = hs_utcb();
    uint64_t label = 0;
    EXPECT_ST(hs_ipc_wait(HS_NEVER, &label), HS_OK);
    for (;;) {
        uint32_t tl = hs_tag_label(u->tag);
        if (tl == NN_EQUAL)
            nn_made[0] = tu_mk(nn_runnable, tu_id_arg(1001), 0);
        if (tl == NN_ABOVE)
            nn_made[1] = tu_mk(nn_runnable, tu_id_arg(1002), NN_MID_PRIO);
        u->tag = HS_TAG(0, 1);
        u->mr[0] += 1;
        if (tl == DONE)
            return (int)EXPECT_ST(hs_ipc_reply(), HS_OK);
        EXPECT_ST(hs_ipc_reply_wait(HS_NEVER, &label), HS_OK);
    }
}

/* The low client: one call at 1 ms, answered with a thread above it
 * runnable. */
static int nn_low(void *arg)
{
    (void)arg;
    tu_sleep_until(HS_MSEC);
    call_rec(10, gcap, HS_NEVER, NN_ABOVE, 100);
    tu_log_add(&order, 300);
    return 0;
}

static int nn_main(void *arg)
{
    (void)arg;
    srv = tu_mk(nn_server, NULL, 0);
    EXPECT_ST(hs_gate_create(srv, 1, &gcap), HS_OK);
    hs_tid_t low = tu_mk(nn_low, NULL, NN_LOW_PRIO);
    tu_sleep_until(10);
    call_rec(0, gcap, HS_NEVER, 1, 10);     /* first use */
    tu_log_add(&order, 100);
    call_rec(1, gcap, HS_NEVER, 1, 20);     /* quick */
    tu_log_add(&order, 101);
    call_rec(2, gcap, HS_NEVER, NN_EQUAL, 30);
    tu_log_add(&order, 102);
    tu_sleep_until(2 * HS_MSEC);
    call_rec(3, gcap, HS_NEVER, 1, 40);     /* quick */
    tu_log_add(&order, 103);
    echo_finish(gcap, srv);
    tu_join(low);
    tu_join(nn_made[0]);
    tu_join(nn_made[1]);
    return 0;
}

/* What holds under any seed: every call answered. */
static void nn_check_any(void)
{
    for (int i = 0; i < 4; i++)
        assert_call(i, HS_OK, HS_PHASE_NONE, (uint64_t)(i + 1) * 10 + 1);
    assert_call(10, HS_OK, HS_PHASE_NONE, 101);
    assert_int_equal(tu_log_len(&order), 7);
}

/* Unseeded: the thread made runnable runs before the caller. */
static void nn_check(void)
{
    nn_check_any();
    assert_log(&order, ((int[]){100, 101, 1001, 102, 1002, 300, 103}), 7);
}

static void test_reply_to_a_caller_that_does_not_run_next(void **state)
{
    (void)state;
    compare(nn_main, NULL, nn_check);
    for (uint64_t sd = 1; sd <= 3; sd++) {
        struct how h = { sd, HS_STRATEGY_RANDOM, 0, 0 };
        compare_how(nn_main, NULL, &h, nn_check_any);
        h.strategy = HS_STRATEGY_PCT;
        compare_how(nn_main, NULL, &h, nn_check_any);
    }
}

/* ---- 11: reply-and-waits with a finite timeout ------------------------- */

/* The server's reply-and-waits: 2 ms (expires), HS_NOWAIT (expires at
 * once), 5 ms (a call comes first), then for ever (quick).  Each status,
 * phase and time in slots 20.. */
static int rw_server(void *arg)
{
    (void)arg;
    static const hs_time_t waits[5] = {
        2 * HS_MSEC, HS_NOWAIT, 5 * HS_MSEC, HS_NEVER, HS_NEVER,
    };
    hs_utcb_t *u = hs_utcb();
    uint64_t label = 0;
    EXPECT_ST(hs_ipc_wait(HS_NEVER, &label), HS_OK);
    for (int i = 0; i < 5; i++) {
        u->tag = HS_TAG(0, 1);
        u->mr[0] += 1;
        u->phase = PHASE_UNSET;
        status[20 + i] = hs_ipc_reply_wait(waits[i], &label);
        phase[20 + i] = u->phase;
        when[20 + i] = hs_time_now();
        if (status[20 + i] != HS_OK)
            EXPECT_ST(hs_ipc_wait(HS_NEVER, &label), HS_OK);
    }
    u->tag = HS_TAG(0, 1);
    u->mr[0] += 1;
    EXPECT_ST(hs_ipc_reply(), HS_OK);
    return 0;
}

static int rw_main(void *arg)
{
    (void)arg;
    srv = tu_mk(rw_server, NULL, 0);
    EXPECT_ST(hs_gate_create(srv, 1, &gcap), HS_OK);
    tu_sleep_until(10);
    call_rec(0, gcap, HS_NEVER, 1, 10);
    tu_sleep_until(3 * HS_MSEC);            /* the 2 ms wait expires */
    for (int i = 1; i < 6; i++)
        call_rec(i, gcap, HS_NEVER, 1, (uint64_t)(i + 1) * 10);
    tu_join(srv);
    return 0;
}

static void rw_check(void)
{
    for (int i = 0; i < 6; i++)
        assert_call(i, HS_OK, HS_PHASE_NONE, (uint64_t)(i + 1) * 10 + 1);
    assert_int_equal(status[20], HS_ETIMEOUT);
    assert_int_equal(phase[20], HS_PHASE_RECV);
    assert_int_equal(when[20], 10 + 2 * HS_MSEC);
    assert_int_equal(status[21], HS_ETIMEOUT);
    assert_int_equal(phase[21], HS_PHASE_RECV);
    assert_int_equal(when[21], 3 * HS_MSEC);
    for (int i = 22; i < 25; i++) {
        assert_int_equal(status[i], HS_OK);
        assert_int_equal(phase[i], HS_PHASE_NONE);
        assert_int_equal(when[i], 3 * HS_MSEC);
    }
}

static void test_reply_wait_with_a_finite_timeout(void **state)
{
    (void)state;
    compare(rw_main, NULL, rw_check);
}

/* ---- 12: stale replies, and none to give ------------------------------- */

/* The reply-and-waits of the server, each status, phase and time in
 * slots 20..: to a caller that timed out and now waits for another
 * server's reply (stale by its call number), with no reply capability
 * left, to a caller cancelled; then quick. */
static int st_server(void *arg)
{
    (void)arg;
    hs_utcb_t *u = hs_utcb();
    uint64_t label = 0;
    EXPECT_ST(hs_ipc_wait(HS_NEVER, &label), HS_OK);
    u->tag = HS_TAG(0, 1);
    u->mr[0] += 1;
    EXPECT_ST(hs_ipc_reply_wait(HS_NEVER, &label), HS_OK);  /* quick */
    for (int i = 20; i < 23; i++) {
        if (i != 21)                        /* a SLOW call */
            EXPECT_ST(hs_thread_sleep(2 * HS_MSEC), HS_OK);
        u->tag = HS_TAG(0, 1);
        u->mr[0] += 1;
        u->phase = PHASE_UNSET;
        status[i] = hs_ipc_reply_wait(HS_NEVER, &label);
        phase[i] = u->phase;
        when[i] = hs_time_now();
        if (i != 20)
            EXPECT_ST(hs_ipc_wait(HS_NEVER, &label), HS_OK);
    }
    u->tag = HS_TAG(0, 1);
    u->mr[0] += 1;
    EXPECT_ST(hs_ipc_reply_wait(HS_NEVER, &label), HS_OK);  /* quick */
    u->tag = HS_TAG(0, 1);
    u->mr[0] += 1;
    EXPECT_ST(hs_ipc_reply(), HS_OK);
    return 0;
}

/* Another server, answering after sleeping until 5 ms, with mr[0] +
 * 1000. */
static int st_other(void *arg)
{
    (void)arg;
    hs_utcb_t *u = hs_utcb();
    EXPECT_ST(hs_ipc_wait(HS_NEVER, NULL), HS_OK);
    tu_sleep_until(5 * HS_MSEC);
    u->tag = HS_TAG(0, 1);
    u->mr[0] += 1000;
    EXPECT_ST(hs_ipc_reply(), HS_OK);
    return 0;
}

/* A client cancelled in its call at 7 ms (the server sleeps on it until
 * 8 ms), alive after it until 9 ms. */
static int st_cancelled(void *arg)
{
    (void)arg;
    tu_sleep_until(6 * HS_MSEC);
    call_rec(10, gcap, HS_NEVER, 1, 100);
    tu_sleep_until(9 * HS_MSEC);
    return 0;
}

static int st_main(void *arg)
{
    (void)arg;
    srv = tu_mk(st_server, NULL, 0);
    EXPECT_ST(hs_gate_create(srv, 1, &gcap), HS_OK);
    hs_tid_t other = tu_mk(st_other, NULL, 0);
    hs_cap_t g2 = 0;
    EXPECT_ST(hs_gate_create(other, 2, &g2), HS_OK);
    hs_tid_t c = tu_mk(st_cancelled, NULL, 0);
    tu_sleep_until(10);
    call_rec(0, gcap, HS_NEVER, 1, 10);
    call_rec(1, gcap, HS_MSEC, 1, 20);      /* times out at 1 ms */
    call_rec(2, g2, HS_NEVER, 1, 30);       /* answered at 5 ms */
    tu_sleep_until(7 * HS_MSEC);
    status[3] = hs_ipc_cancel(c);
    tu_sleep_until(10 * HS_MSEC);
    call_rec(4, gcap, HS_NEVER, 1, 50);     /* quick both ways */
    call_rec(5, gcap, HS_NEVER, 1, 60);
    tu_join(srv);
    tu_join(other);
    tu_join(c);
    return 0;
}

static void st_check(void)
{
    assert_call(0, HS_OK, HS_PHASE_NONE, 11);
    assert_call(1, HS_ETIMEOUT, HS_PHASE_RECV, 0);
    assert_int_equal(when[1], 10 + HS_MSEC);
    assert_call(2, HS_OK, HS_PHASE_NONE, 1030);
    assert_int_equal(when[2], 5 * HS_MSEC);
    assert_int_equal(status[3], HS_OK);
    assert_call(4, HS_OK, HS_PHASE_NONE, 51);
    assert_call(5, HS_OK, HS_PHASE_NONE, 61);
    assert_call(10, HS_ECANCELED, HS_PHASE_RECV, 0);
    assert_int_equal(when[10], 7 * HS_MSEC);
    assert_int_equal(status[20], HS_ESTALE);    /* timed out */
    assert_int_equal(phase[20], HS_PHASE_SEND);
    assert_int_equal(when[20], 10 + 2 * HS_MSEC);
    assert_int_equal(status[21], HS_ENOREPLY);  /* spent */
    assert_int_equal(phase[21], HS_PHASE_SEND);
    assert_int_equal(when[21], 10 + 2 * HS_MSEC);
    assert_int_equal(status[22], HS_ESTALE);    /* cancelled */
    assert_int_equal(phase[22], HS_PHASE_SEND);
    assert_int_equal(when[22], 8 * HS_MSEC);
}

static void test_stale_reply_and_none_to_give(void **state)
{
    (void)state;
    compare(st_main, NULL, st_check);
}

/* ---- 13: work due at kernel entry or exit ---------------------------- */

/* The server's notification handler: logs 1, the word and the time. */
static void nq_handler(void *cookie, const hs_notification *n)
{
    (void)cookie;
    tu_log_add(&order, 1);
    word[30] = n->words[0];
    when[30] = hs_time_now();
    hs_notify_return();
}

/* An echo server that takes notifications in slot 5 and logs 2 for each
 * call it receives. */
static int nq_server(void *arg)
{
    (void)arg;
    hs_utcb_t *u = hs_utcb();
    uint64_t label = 0;
    EXPECT_ST(hs_notify_install(hs_thread_self(), 5, nq_handler, NULL),
              HS_OK);
    EXPECT_ST(hs_ipc_wait(HS_NEVER, &label), HS_OK);
    for (;;) {
        tu_log_add(&order, 2);
        int done = hs_tag_label(u->tag) == DONE;
        u->tag = HS_TAG(0, 1);
        u->mr[0] += 1;
        if (done)
            return (int)EXPECT_ST(hs_ipc_reply(), HS_OK);
        EXPECT_ST(hs_ipc_reply_wait(HS_NEVER, &label), HS_OK);
    }
}

/* A notification queued on the server, blocked in its reply-and-wait:
 * the kernel has work at every entry and exit until it is delivered, so
 * the next call is general (and hands off by a plain switch, whose
 * resume delivers it); then quick again. */
static int nq_main(void *arg)
{
    (void)arg;
    srv = tu_mk(nq_server, NULL, 0);
    EXPECT_ST(hs_gate_create(srv, 1, &gcap), HS_OK);
    tu_sleep_until(10);
    call_rec(0, gcap, HS_NEVER, 1, 10);     /* first use */
    call_rec(1, gcap, HS_NEVER, 1, 20);     /* quick */
    uint64_t w[1] = { 42 };
    status[29] = hs_notify_send(srv, 5, w, 1, 0);
    call_rec(2, gcap, HS_NEVER, 1, 30);     /* work due */
    call_rec(3, gcap, HS_NEVER, 1, 40);     /* quick */
    tu_set_msg(DONE, 1, 0);
    EXPECT_ST(hs_ipc_call(gcap, HS_NEVER, HS_NEVER), HS_OK);
    tu_join(srv);
    return 0;
}

static void nq_check(void)
{
    for (int i = 0; i < 4; i++)
        assert_call(i, HS_OK, HS_PHASE_NONE, (uint64_t)(i + 1) * 10 + 1);
    assert_int_equal(status[29], HS_OK);
    assert_int_equal(word[30], 42);
    assert_int_equal(when[30], 10);
    /* delivered as the call resumes the server, before it takes it */
    assert_log(&order, ((int[]){2, 2, 1, 2, 2, 2}), 6);
}

static void test_work_due_at_kernel_entry_or_exit(void **state)
{
    (void)state;
    compare(nq_main, NULL, nq_check);
    /* Memory checks at every kernel exit: nothing is direct, so nothing
     * is quick, and the run is still the same three ways. */
    struct how h = fifo;
    h.mem_check = 1;
    struct taken tk = compare_runs(nq_main, NULL, &h, nq_check);
    assert_int_equal(tk.direct + tk.calls + tk.replies, 0);
    tk = compare_runs(rt_main, NULL, &h, rt_check);
    assert_int_equal(tk.direct + tk.calls + tk.replies, 0);
}

/* ---- 14: seeded ping-pongs --------------------------------------------- */

#define PP_ROUNDS 40

/* Wakes beside the ping-pong every microsecond, so that the seed has
 * choices to make (and, runnable, keeps calls from handing off
 * directly). */
static int pp_noise(void *arg)
{
    (void)arg;
    for (int i = 0; i < PP_ROUNDS / 4; i++)
        EXPECT_ST(hs_thread_sleep(HS_USEC), HS_OK);
    return 0;
}

/* PP_ROUNDS calls to the echo server, sleeping a microsecond every four
 * and starting pp_noise() after the first four (which then hand off
 * directly whatever the seed); an answer must be the word sent plus one,
 * a failure a reply timeout (a fault). */
static int pp_main(void *arg)
{
    (void)arg;
    hs_utcb_t *u = hs_utcb();
    echo_start(1);
    hs_tid_t noise = 0;
    uint64_t v = 0;
    for (int i = 0; i < PP_ROUNDS; i++) {
        if (i == 4)
            noise = tu_mk(pp_noise, NULL, 0);
        tu_set_msg(1, 1, v);
        hs_status st = hs_ipc_call(gcap, HS_NEVER, HS_NEVER);
        if (st == HS_OK && u->mr[0] == v + 1) {
            pp_ok++;
            v++;
        } else if (st == HS_ETIMEOUT && u->phase == HS_PHASE_RECV) {
            pp_timeouts++;
        } else {
            pp_bad++;
        }
        if (i % 4 == 3)
            EXPECT_ST(hs_thread_sleep(HS_USEC), HS_OK);
    }
    word[0] = v;
    echo_finish(gcap, srv);
    tu_join(noise);
    return 0;
}

/* Every call answered, but for the one a reply-timeout fault makes time
 * out, whose reply the server finds stale. */
static void pp_check_with(int timeouts)
{
    assert_int_equal(pp_bad, 0);
    assert_int_equal(pp_timeouts, timeouts);
    assert_int_equal(pp_ok, PP_ROUNDS - timeouts);
    assert_int_equal(word[0], PP_ROUNDS - timeouts);
    assert_int_equal(stale_replies, timeouts);
    assert_int_equal(echo_done, 1);
}

static void pp_check(void)
{
    pp_check_with(0);
}

static void pp_check_fault(void)
{
    pp_check_with(1);
}

static void test_seeded_ping_pongs(void **state)
{
    (void)state;
    compare(pp_main, NULL, pp_check);
    for (uint64_t sd = 1; sd <= 4; sd++) {
        struct how h = { sd, HS_STRATEGY_RANDOM, 0, 0 };
        compare_how(pp_main, NULL, &h, pp_check);
        h.strategy = HS_STRATEGY_PCT;
        compare_how(pp_main, NULL, &h, pp_check);
        h.faults = HS_FAULT_REPLY_TIMEOUT;
        compare_how(pp_main, NULL, &h, pp_check_fault);
    }
}

/* A kill fault ends the process at some call, wherever the seed puts
 * it: the run is the same three ways, and every call made before it was
 * answered. */
static void pp_check_killed(void)
{
    assert_int_equal(pp_bad, 0);
    assert_int_equal(pp_timeouts, 0);
    assert_true(pp_ok < PP_ROUNDS);
}

static void test_seeded_ping_pongs_with_a_kill_fault(void **state)
{
    (void)state;
    uint64_t direct = 0;        /* a kill at the first call leaves none */
    uint64_t quick = 0;         /* a kill fault to draw keeps every call
                                   off the quick path */
    for (uint64_t sd = 1; sd <= 4; sd++) {
        struct how h = { sd, HS_STRATEGY_RANDOM, HS_FAULT_KILL, 0 };
        struct taken tk = compare_runs(pp_main, NULL, &h, pp_check_killed);
        direct += tk.direct;
        quick += tk.calls + tk.replies;
    }
    assert_true(direct > 0 || !TU_DIRECT_BUILD);
    assert_int_equal(quick, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        TU_TEST(test_call_to_a_receiver_with_its_timer_armed),
        TU_TEST(test_call_with_a_finite_reply_timeout),
        TU_TEST(test_messages_of_more_than_8_words_or_with_items),
        TU_TEST(test_capability_of_an_older_epoch),
        TU_TEST(test_call_without_a_send_right_or_with_a_bad_capability),
        TU_TEST(test_reply_with_a_sender_queued),
        TU_TEST(test_reply_with_an_irq_bound),
        TU_TEST(test_reply_at_a_lent_priority),
        TU_TEST(test_reply_to_a_caller_with_its_timer_armed),
        TU_TEST(test_reply_to_a_caller_that_does_not_run_next),
        TU_TEST(test_reply_wait_with_a_finite_timeout),
        TU_TEST(test_stale_reply_and_none_to_give),
        TU_TEST(test_work_due_at_kernel_entry_or_exit),
        TU_TEST(test_seeded_ping_pongs),
        TU_TEST(test_seeded_ping_pongs_with_a_kill_fault),
    };
    return cmocka_run_group_tests_name("quick", tests, tu_unset_run_env,
                                       NULL);
}
