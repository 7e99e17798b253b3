/*
 * tests/test_topic.c - multicast topics: sixteen subscriber processes,
 * one of them stalled, under each overflow policy; subscribers joining
 * and leaving mid-stream; bad input (subscribing twice, missing rights,
 * revoked capabilities); a revoked subscription draining then closed; a
 * subscriber's exit removing it; the creator's exit closing the topic
 * for its subscribers after they drain; determinism under a seed; an
 * unsubscribe while another thread of the process is in hs_topic_recv();
 * a refused publish changing nothing; a publisher whose fields were
 * changed.
 *
 * Simulated threads record what they saw in the statics below (and check
 * statuses with EXPECT_ST); the test asserts after hs_sim_run().  Every
 * run checks the memory (hs_mem_check) at its end and that the frame
 * pool is whole afterwards.
 */
#include "testutil.h"

#define NSUBS 16u
#define STALLED 7u              /* the subscriber that never keeps up */
#define SLOTS 8u
#define ROUNDS 8u               /* of SLOTS messages each */
#define NMSGS (SLOTS * ROUNDS)
#define NREC 64

/* ---- what the simulated threads saw ------------------------------------------- */

/* One subscriber's stream: messages taken, whether each was the next
 * expected (seq ascending by one from the first), how it ended. */
struct stream {
    uint64_t got;
    uint64_t first, last;
    int out_of_order;
    hs_status end;
};

static struct stream streams[NSUBS];
static hs_status status[NREC];
static uint64_t word[NREC];
static hs_time_t when[NREC];
static hs_topic_sub_info sinfo[NREC];
static struct tu_log seen[3];

static hs_cap_t topic_cap;
static uint64_t stalled_sub;        /* the stalled subscriber's handle */
static hs_topic_pub pub;            /* large: not on a simulated stack */
static hs_status mem_status;

static void reset(void)
{
    for (unsigned i = 0; i < NSUBS; i++)
        streams[i] = (struct stream){ .first = UINT64_MAX,
                                      .end = HS_STATUS_COUNT };
    for (int i = 0; i < NREC; i++) {
        status[i] = HS_STATUS_COUNT;
        word[i] = 0xbad;
        when[i] = HS_NEVER;
        memset(&sinfo[i], 0xa5, sizeof sinfo[i]);
    }
    for (unsigned i = 0; i < 3; i++)
        tu_log_reset(&seen[i]);
    topic_cap = 0;
    stalled_sub = 0;
    memset(&pub, 0, sizeof pub);
    mem_status = HS_STATUS_COUNT;
}

/* Run entry as the root process; the memory checked at its end (entry
 * sets mem_status) and the pool whole after the run. */
static void run_cfg(hs_sim_config *cfg, hs_entry_fn entry, void *arg)
{
    reset();
    tu_run_one(cfg, "main", entry, arg, NULL);
    assert_int_equal(mem_status, HS_OK);
    hs_mem_stats ms;
    assert_int_equal(hs_mem_stats_get(&ms), HS_OK);
    assert_int_equal(ms.free, ms.pool);
}

static void run_main(hs_entry_fn entry, void *arg)
{
    hs_sim_config cfg = tu_config();
    run_cfg(&cfg, entry, arg);
}

static hs_topic_attr attr(uint32_t slots, uint32_t msg_max,
                          unsigned overflow)
{
    return (hs_topic_attr){ .slots = slots, .msg_max = msg_max,
                            .overflow = overflow };
}

/* Spawn a child that gets a copy of cap (with rights) as its capability
 * 1; *via (may be NULL) gets the copy in the caller's space that the
 * child's is derived from. */
static hs_pid_t spawn_with(const char *name, hs_entry_fn entry, void *arg,
                           hs_cap_t cap, unsigned rights, hs_cap_t *via)
{
    hs_cap_t d = 0;
    EXPECT_ST(hs_cap_derive(cap, rights | HS_CAP_GRANT, 0, &d), HS_OK);
    hs_proc_attr a;
    memset(&a, 0, sizeof a);
    a.caps = &d;
    a.ncaps = 1;
    hs_pid_t pid = 0;
    EXPECT_ST(hs_proc_spawn(name, entry, arg, &a, &pid), HS_OK);
    if (via)
        *via = d;
    return pid;
}

static void wait_child(hs_pid_t pid)
{
    EXPECT_ST(hs_proc_wait(pid, HS_NEVER, NULL), HS_OK);
}

/* Sleep until the topic has n subscribers. */
static void wait_subs(hs_cap_t cap, uint32_t n)
{
    hs_topic_info ti;
    while (EXPECT_ST(hs_topic_info_get(cap, &ti), HS_OK) == HS_OK &&
           ti.subs != n)
        EXPECT_ST(hs_thread_sleep(HS_USEC), HS_OK);
}

static void stream_take(struct stream *s, uint64_t seq)
{
    if (s->got && seq != s->last + 1)
        s->out_of_order = 1;
    if (!s->got)
        s->first = seq;
    s->last = seq;
    s->got++;
}

/* Receive until the subscription ends (or fails). */
static void consume(hs_topic_sub *s, struct stream *out, hs_time_t timeout)
{
    uint64_t x;
    size_t len;
    hs_status st;
    while ((st = hs_topic_recv(s, &x, sizeof x, &len, timeout)) == HS_OK)
        stream_take(out, x);
    out->end = st;
}

static void check_memory(void)
{
    mem_status = hs_mem_check();
}

/* ---- 1. sixteen subscribers, one stalled ------------------------------------------- */

static int fan_subscriber(void *arg)
{
    unsigned i = (unsigned)(uintptr_t)arg;
    hs_topic_sub s;
    if (EXPECT_ST(hs_topic_subscribe(1, 0, &s), HS_OK))
        return 1;
    if (i == STALLED) {
        stalled_sub = s.sub;
        EXPECT_ST(hs_thread_sleep(HS_SEC), HS_OK);  /* long after */
        when[1] = hs_time_now();
        EXPECT_ST(hs_topic_sub_info_get(&s, &sinfo[0]), HS_OK);
        consume(&s, &streams[i], HS_NOWAIT);
    } else {
        consume(&s, &streams[i], HS_NEVER);
    }
    EXPECT_ST(hs_topic_unsubscribe(&s), HS_OK);
    return 0;
}

static int fan_main(void *arg)
{
    unsigned policy = (unsigned)(uintptr_t)arg;
    hs_topic_attr a = attr(SLOTS, 8, policy);
    EXPECT_ST(hs_topic_create(&a, &topic_cap), HS_OK);
    hs_pid_t kids[NSUBS];
    for (unsigned i = 0; i < NSUBS; i++)
        kids[i] = spawn_with("subscriber", fan_subscriber,
                             (void *)(uintptr_t)i, topic_cap, HS_CAP_RECV,
                             NULL);
    wait_subs(topic_cap, NSUBS);
    EXPECT_ST(hs_topic_pub_init(&pub, topic_cap), HS_OK);
    uint64_t delivered = 0, missed = 0, bad = 0;
    for (uint64_t seq = 0; seq < NMSGS; seq++) {
        hs_topic_sent r = { 0, 0 };
        if (hs_topic_publish(&pub, &seq, sizeof seq, &r) != HS_OK)
            bad++;
        delivered += r.delivered;
        missed += r.missed;
        if (seq % SLOTS == SLOTS - 1)       /* the others drain */
            EXPECT_ST(hs_thread_sleep(HS_MSEC), HS_OK);
    }
    when[0] = hs_time_now();
    word[0] = delivered;
    word[1] = missed;
    word[2] = bad;
    word[3] = hs_topic_pub_missed(&pub, stalled_sub);
    EXPECT_ST(hs_topic_destroy(topic_cap), HS_OK);
    for (unsigned i = 0; i < NSUBS; i++)
        wait_child(kids[i]);
    EXPECT_ST(hs_topic_pub_destroy(&pub), HS_OK);
    check_memory();
    return 0;
}

/* The fifteen that keep up got every message, in order, and saw the
 * topic closed; the stalled one's ring holds SLOTS messages: the first
 * (keep_first) or the last.  The publisher never waited on it. */
static void assert_fan(int keep_first, uint64_t ring_dropped,
                       uint64_t pub_missed)
{
    for (unsigned i = 0; i < NSUBS; i++) {
        if (i == STALLED)
            continue;
        assert_int_equal(streams[i].got, NMSGS);
        assert_int_equal(streams[i].first, 0);
        assert_false(streams[i].out_of_order);
        assert_int_equal(streams[i].end, HS_ECLOSED);
    }
    const struct stream *st = &streams[STALLED];
    assert_int_equal(st->got, SLOTS);
    assert_int_equal(st->first, keep_first ? 0 : NMSGS - SLOTS);
    assert_false(st->out_of_order);
    assert_int_equal(st->end, HS_ECLOSED);
    assert_int_equal(sinfo[0].queued, SLOTS);
    assert_int_equal(sinfo[0].dropped, ring_dropped);
    assert_true(sinfo[0].closed);
    assert_int_equal(word[2], 0);                   /* every publish OK */
    assert_int_equal(word[0], NMSGS * NSUBS - pub_missed);
    assert_int_equal(word[1], pub_missed);
    assert_int_equal(word[3], pub_missed);
    /* The publisher finished long before the stalled one woke. */
    assert_true(when[0] < HS_SEC);
    assert_true(when[1] >= HS_SEC);
}

static void test_topic_sixteen_subscribers_one_stalled_drop_oldest(
    void **state)
{
    (void)state;
    run_main(fan_main, (void *)(uintptr_t)HS_CHAN_DROP_OLDEST);
    assert_fan(0, NMSGS - SLOTS, 0);
}

static void test_topic_sixteen_subscribers_one_stalled_drop_newest(
    void **state)
{
    (void)state;
    run_main(fan_main, (void *)(uintptr_t)HS_CHAN_DROP_NEWEST);
    assert_fan(1, NMSGS - SLOTS, NMSGS - SLOTS);
}

static void test_topic_sixteen_subscribers_one_stalled_fail(void **state)
{
    (void)state;
    run_main(fan_main, (void *)(uintptr_t)HS_CHAN_FAIL);
    assert_fan(1, 0, NMSGS - SLOTS);
}

static void test_topic_sixteen_subscribers_seeded_runs_repeat(void **state)
{
    (void)state;
    hs_sim_config cfg = tu_config();
    cfg.seed = 11;
    run_cfg(&cfg, fan_main, (void *)(uintptr_t)HS_CHAN_DROP_OLDEST);
    assert_fan(0, NMSGS - SLOTS, 0);
    hs_sim_summary first = tu_summary();
    run_cfg(&cfg, fan_main, (void *)(uintptr_t)HS_CHAN_DROP_OLDEST);
    assert_fan(0, NMSGS - SLOTS, 0);
    hs_sim_summary again = tu_summary();
    assert_int_equal(first.hash, again.hash);
    assert_int_equal(first.events, again.events);
    assert_int_equal(first.vtime, again.vtime);
}

/* ---- 2. joining and leaving mid-stream ---------------------------------------------- */

/* arg 0: subscribed from the start, to the end; 1: joins after message
 * 9; 2: leaves after taking messages 0..4.  Values go to seen[arg]. */
static int mid_subscriber(void *arg)
{
    unsigned who = (unsigned)(uintptr_t)arg;
    hs_topic_sub s;
    uint64_t x;
    size_t len;
    hs_status st = HS_OK;
    if (EXPECT_ST(hs_topic_subscribe(1, 0, &s), HS_OK))
        return 1;
    unsigned n = 0;
    while ((who != 2 || n < 5) &&
           (st = hs_topic_recv(&s, &x, sizeof x, &len, HS_NEVER)) == HS_OK) {
        tu_log_add(&seen[who], (int)x);
        n++;
    }
    if (who == 2) {
        EXPECT_ST(hs_topic_unsubscribe(&s), HS_OK);
        status[2] = hs_topic_recv(&s, &x, sizeof x, &len, HS_NOWAIT);
        status[3] = hs_topic_unsubscribe(&s);
        return 0;
    }
    status[who] = st;
    EXPECT_ST(hs_topic_unsubscribe(&s), HS_OK);
    return 0;
}

static int mid_main(void *arg)
{
    (void)arg;
    hs_topic_attr a = attr(64, 8, HS_CHAN_DROP_NEWEST);
    EXPECT_ST(hs_topic_create(&a, &topic_cap), HS_OK);
    EXPECT_ST(hs_topic_pub_init(&pub, topic_cap), HS_OK);
    hs_pid_t k0 = spawn_with("all", mid_subscriber, (void *)0, topic_cap,
                             HS_CAP_RECV, NULL);
    hs_pid_t k2 = spawn_with("leaver", mid_subscriber, (void *)2,
                             topic_cap, HS_CAP_RECV, NULL);
    wait_subs(topic_cap, 2);
    hs_topic_sent r;
    for (uint64_t seq = 0; seq < 10; seq++) {
        EXPECT_ST(hs_topic_publish(&pub, &seq, sizeof seq, &r), HS_OK);
        word[seq] = r.delivered;
        EXPECT_ST(hs_thread_sleep(HS_USEC), HS_OK);
        if (seq == 4) {                 /* the leaver goes */
            wait_child(k2);
            wait_subs(topic_cap, 1);
        }
    }
    hs_pid_t k1 = spawn_with("joiner", mid_subscriber, (void *)1,
                             topic_cap, HS_CAP_RECV, NULL);
    wait_subs(topic_cap, 2);
    for (uint64_t seq = 10; seq < 20; seq++) {
        EXPECT_ST(hs_topic_publish(&pub, &seq, sizeof seq, &r), HS_OK);
        word[seq] = r.delivered;
    }
    EXPECT_ST(hs_topic_destroy(topic_cap), HS_OK);
    wait_child(k0);
    wait_child(k1);
    EXPECT_ST(hs_topic_pub_destroy(&pub), HS_OK);
    check_memory();
    return 0;
}

static void assert_log_range(const struct tu_log *l, int from, int to)
{
    assert_int_equal(tu_log_len(l), (unsigned)(to - from));
    for (int i = from; i < to; i++)
        assert_int_equal(l->v[i - from], i);
}

static void test_topic_join_and_leave_mid_stream(void **state)
{
    (void)state;
    run_main(mid_main, NULL);
    assert_log_range(&seen[0], 0, 20);  /* there throughout */
    assert_log_range(&seen[1], 10, 20); /* only what followed its join */
    assert_log_range(&seen[2], 0, 5);   /* nothing after it left */
    for (unsigned i = 0; i < 20; i++)
        assert_int_equal(word[i], i < 5 ? 2 : i < 10 ? 1 : 2);
    assert_int_equal(status[0], HS_ECLOSED);
    assert_int_equal(status[1], HS_ECLOSED);
    assert_int_equal(status[2], HS_EINVAL);     /* unsubscribed */
    assert_int_equal(status[3], HS_EINVAL);
}

/* ---- 3. bad input ---------------------------------------------------------------------- */

static int bad_create(void *arg)
{
    (void)arg;
    hs_cap_t cap;
    hs_topic_attr a = attr(8, 16, HS_CHAN_DROP_NEWEST);
    status[0] = hs_topic_create(NULL, &cap);
    status[1] = hs_topic_create(&a, NULL);
    hs_topic_attr b = a;
    b.slots = 12;
    status[2] = hs_topic_create(&b, &cap);
    b = a;
    b.msg_max = 0;
    status[3] = hs_topic_create(&b, &cap);
    b = a;
    b.overflow = HS_CHAN_BLOCK;         /* would hold back the others */
    status[4] = hs_topic_create(&b, &cap);
    b = attr(HS_CHAN_SLOTS_MAX, 64, HS_CHAN_FAIL);
    status[5] = hs_topic_create(&b, &cap);      /* a 128 MiB ring */
    b = a;
    b.overflow = 9;
    status[6] = hs_topic_create(&b, &cap);
    check_memory();
    return 0;
}

static void test_topic_create_refuses_bad_attributes(void **state)
{
    (void)state;
    run_main(bad_create, NULL);
    for (int i = 0; i <= 6; i++)
        assert_int_equal(status[i], HS_EINVAL);
}

static int bad_child(void *arg)
{
    (void)arg;
    status[20] = hs_topic_destroy(1);       /* not its topic */
    return 0;
}

static int bad_ops(void *arg)
{
    (void)arg;
    hs_topic_attr a = attr(8, 16, HS_CHAN_DROP_NEWEST);
    EXPECT_ST(hs_topic_create(&a, &topic_cap), HS_OK);
    hs_cap_t send_only = 0, recv_only = 0, mid = 0, leaf = 0, gate = 0;
    EXPECT_ST(hs_cap_derive(topic_cap, HS_CAP_SEND, 0, &send_only), HS_OK);
    EXPECT_ST(hs_cap_derive(topic_cap, HS_CAP_RECV, 0, &recv_only), HS_OK);
    EXPECT_ST(hs_gate_create(0, 0, &gate), HS_OK);
    hs_topic_sub s, t;
    /* Rights. */
    status[0] = hs_topic_subscribe(send_only, 0, &t);
    EXPECT_ST(hs_topic_pub_init(&pub, recv_only), HS_OK);
    status[1] = hs_topic_publish(&pub, "x", 1, NULL);
    status[2] = hs_topic_subscribe(gate, 0, &t);
    status[3] = hs_topic_subscribe(topic_cap, 0x1001, &t);
    /* Subscribing twice, whatever the capability: nothing left behind. */
    EXPECT_ST(hs_topic_subscribe(recv_only, 0, &s), HS_OK);
    hs_mem_stats before, after;
    EXPECT_ST(hs_mem_stats_get(&before), HS_OK);
    status[4] = hs_topic_subscribe(recv_only, 0, &t);
    status[5] = hs_topic_subscribe(topic_cap, 0, &t);
    EXPECT_ST(hs_mem_stats_get(&after), HS_OK);
    word[0] = before.free == after.free;
    hs_topic_info ti;
    EXPECT_ST(hs_topic_info_get(topic_cap, &ti), HS_OK);
    word[1] = ti.subs;
    /* Sizes, then one message: delivered once. */
    EXPECT_ST(hs_topic_pub_init(&pub, send_only), HS_OK);
    char big[32] = "0123456789abcdefXYZ";
    status[6] = hs_topic_publish(&pub, big, 17, NULL);
    status[7] = hs_topic_publish(&pub, big, 0, NULL);
    status[8] = hs_topic_publish(NULL, big, 4, NULL);
    hs_topic_sent r;
    EXPECT_ST(hs_topic_publish(&pub, big, 16, &r), HS_OK);
    word[2] = r.delivered;
    char out[32];
    size_t len = 0;
    EXPECT_ST(hs_topic_recv(&s, out, sizeof out, &len, HS_NOWAIT), HS_OK);
    word[3] = len == 16 && memcmp(out, big, 16) == 0;
    status[9] = hs_topic_recv(&s, out, sizeof out, &len, HS_NOWAIT);
    /* Revoked: a capability derived from a revoked one. */
    EXPECT_ST(hs_cap_derive(topic_cap, HS_CAP_ALL, 0, &mid), HS_OK);
    EXPECT_ST(hs_cap_derive(mid, HS_CAP_ALL, 0, &leaf), HS_OK);
    EXPECT_ST(hs_cap_revoke(mid), HS_OK);
    status[10] = hs_topic_subscribe(leaf, 0, &t);
    hs_topic_pub p2;
    EXPECT_ST(hs_topic_pub_init(&p2, leaf), HS_OK);
    status[11] = hs_topic_publish(&p2, big, 4, NULL);
    status[12] = hs_topic_info_get(leaf, &ti);
    EXPECT_ST(hs_topic_pub_destroy(&p2), HS_OK);
    /* The publisher's own capability revoked mid-stream. */
    EXPECT_ST(hs_cap_revoke(topic_cap), HS_OK);     /* send_only too */
    status[13] = hs_topic_publish(&pub, big, 4, NULL);
    /* Not the owner. */
    hs_pid_t kid = spawn_with("other", bad_child, NULL, topic_cap,
                              HS_CAP_ALL, NULL);
    wait_child(kid);
    EXPECT_ST(hs_topic_pub_destroy(&pub), HS_OK);
    EXPECT_ST(hs_topic_unsubscribe(&s), HS_OK);
    status[14] = hs_topic_unsubscribe(&s);
    status[15] = hs_topic_pub_init(NULL, topic_cap);
    EXPECT_ST(hs_topic_destroy(topic_cap), HS_OK);
    status[16] = hs_topic_destroy(topic_cap);
    check_memory();
    return 0;
}

static void test_topic_bad_input_named_errors_nothing_lost(void **state)
{
    (void)state;
    run_main(bad_ops, NULL);
    assert_int_equal(status[0], HS_EPERM);      /* no receive right */
    assert_int_equal(status[1], HS_EPERM);      /* no send right */
    assert_int_equal(status[2], HS_EPERM);      /* not a topic */
    assert_int_equal(status[3], HS_EINVAL);     /* unaligned */
    assert_int_equal(status[4], HS_EEXIST);     /* subscribed already */
    assert_int_equal(status[5], HS_EEXIST);
    assert_int_equal(word[0], 1);               /* nothing left behind */
    assert_int_equal(word[1], 1);
    assert_int_equal(status[6], HS_EMSGSIZE);
    assert_int_equal(status[7], HS_EINVAL);
    assert_int_equal(status[8], HS_EINVAL);
    assert_int_equal(word[2], 1);               /* once, not twice */
    assert_int_equal(word[3], 1);
    assert_int_equal(status[9], HS_ETIMEOUT);   /* nothing duplicated */
    assert_int_equal(status[10], HS_EBADCAP);
    assert_int_equal(status[11], HS_EBADCAP);
    assert_int_equal(status[12], HS_EBADCAP);
    assert_int_equal(status[13], HS_EBADCAP);
    assert_int_equal(status[20], HS_EPERM);
    assert_int_equal(status[14], HS_EINVAL);
    assert_int_equal(status[15], HS_EINVAL);
    assert_int_equal(status[16], HS_EBADCAP);   /* gone */
}

/* ---- 4. a revoked subscription drains, then sees the topic closed ------------------- */

static int rv_subscriber(void *arg)
{
    (void)arg;
    hs_topic_sub s;
    if (EXPECT_ST(hs_topic_subscribe(1, 0, &s), HS_OK))
        return 1;
    EXPECT_ST(hs_thread_sleep(HS_MSEC), HS_OK);     /* revoked meanwhile */
    consume(&s, &streams[0], HS_NEVER);
    status[1] = hs_topic_subscribe(1, 0, &(hs_topic_sub){ 0 });
    EXPECT_ST(hs_topic_unsubscribe(&s), HS_OK);
    return 0;
}

static int rv_main(void *arg)
{
    (void)arg;
    hs_topic_attr a = attr(8, 8, HS_CHAN_DROP_OLDEST);
    EXPECT_ST(hs_topic_create(&a, &topic_cap), HS_OK);
    EXPECT_ST(hs_topic_pub_init(&pub, topic_cap), HS_OK);
    hs_cap_t via = 0;
    hs_pid_t kid = spawn_with("subscriber", rv_subscriber, NULL, topic_cap,
                              HS_CAP_RECV, &via);
    wait_subs(topic_cap, 1);
    hs_topic_sent r;
    for (uint64_t seq = 0; seq < 3; seq++)
        EXPECT_ST(hs_topic_publish(&pub, &seq, sizeof seq, &r), HS_OK);
    EXPECT_ST(hs_cap_revoke(via), HS_OK);
    uint64_t seq = 3;
    EXPECT_ST(hs_topic_publish(&pub, &seq, sizeof seq, &r), HS_OK);
    word[0] = r.delivered;
    hs_topic_info ti;
    EXPECT_ST(hs_topic_info_get(topic_cap, &ti), HS_OK);
    word[1] = ti.subs;
    wait_child(kid);
    EXPECT_ST(hs_topic_pub_destroy(&pub), HS_OK);
    EXPECT_ST(hs_topic_destroy(topic_cap), HS_OK);
    check_memory();
    return 0;
}

static void test_topic_revoked_subscription_drains_then_closed(void **state)
{
    (void)state;
    run_main(rv_main, NULL);
    assert_int_equal(word[0], 0);           /* nobody left to deliver to */
    assert_int_equal(word[1], 0);
    assert_int_equal(streams[0].got, 3);    /* what came before */
    assert_int_equal(streams[0].first, 0);
    assert_false(streams[0].out_of_order);
    assert_int_equal(streams[0].end, HS_ECLOSED);
    assert_int_equal(status[1], HS_EBADCAP);
}

/* ---- 5. a subscriber's exit removes it ---------------------------------------------- */

static int ex_subscriber(void *arg)
{
    (void)arg;
    hs_topic_sub s;
    uint64_t x;
    size_t len;
    if (EXPECT_ST(hs_topic_subscribe(1, 0, &s), HS_OK))
        return 1;
    EXPECT_ST(hs_topic_recv(&s, &x, sizeof x, &len, HS_NEVER), HS_OK);
    word[10] = x;
    return 0;                   /* exits subscribed */
}

static int ex_main(void *arg)
{
    (void)arg;
    hs_topic_attr a = attr(4, 8, HS_CHAN_FAIL);
    EXPECT_ST(hs_topic_create(&a, &topic_cap), HS_OK);
    EXPECT_ST(hs_topic_pub_init(&pub, topic_cap), HS_OK);
    hs_topic_sub mine;
    EXPECT_ST(hs_topic_subscribe(topic_cap, 0, &mine), HS_OK);
    hs_pid_t kid = spawn_with("subscriber", ex_subscriber, NULL, topic_cap,
                              HS_CAP_RECV, NULL);
    wait_subs(topic_cap, 2);
    hs_topic_sent r;
    uint64_t seq = 41;
    EXPECT_ST(hs_topic_publish(&pub, &seq, sizeof seq, &r), HS_OK);
    word[0] = r.delivered;
    wait_child(kid);
    hs_topic_info ti;
    EXPECT_ST(hs_topic_info_get(topic_cap, &ti), HS_OK);
    word[1] = ti.subs;
    seq = 42;
    EXPECT_ST(hs_topic_publish(&pub, &seq, sizeof seq, &r), HS_OK);
    word[2] = r.delivered;
    word[3] = pub.npeers;           /* its end detached */
    uint64_t x;
    size_t len;
    for (int i = 0; i < 2; i++)
        if (EXPECT_ST(hs_topic_recv(&mine, &x, sizeof x, &len, HS_NOWAIT),
                      HS_OK) == HS_OK)
            tu_log_add(&seen[0], (int)x);
    EXPECT_ST(hs_topic_pub_destroy(&pub), HS_OK);
    EXPECT_ST(hs_topic_unsubscribe(&mine), HS_OK);
    EXPECT_ST(hs_topic_destroy(topic_cap), HS_OK);
    check_memory();
    return 0;
}

static void test_topic_subscriber_exit_removes_it(void **state)
{
    (void)state;
    run_main(ex_main, NULL);
    assert_int_equal(word[0], 2);
    assert_int_equal(word[10], 41);
    assert_int_equal(word[1], 1);
    assert_int_equal(word[2], 1);
    assert_int_equal(word[3], 1);
    assert_log_range(&seen[0], 41, 43);
}

/* ---- 6. the creator's exit closes the topic after its subscribers drain ------------- */

static int cr_subscriber(void *arg)
{
    (void)arg;
    hs_topic_sub s;
    if (EXPECT_ST(hs_topic_subscribe(1, 0, &s), HS_OK))
        return 1;
    EXPECT_ST(hs_thread_sleep(HS_MSEC), HS_OK);     /* the creator is gone */
    hs_topic_info ti;
    status[1] = hs_topic_info_get(1, &ti);
    consume(&s, &streams[0], HS_NEVER);
    EXPECT_ST(hs_topic_unsubscribe(&s), HS_OK);
    check_memory();
    return 0;
}

/* Joins after the last publish: no publisher ever had an end on its
 * ring, and it must still see the topic close (asleep when it does). */
static int cr_late(void *arg)
{
    (void)arg;
    hs_topic_sub s;
    if (EXPECT_ST(hs_topic_subscribe(1, 0, &s), HS_OK))
        return 1;
    consume(&s, &streams[1], HS_NEVER);
    EXPECT_ST(hs_topic_unsubscribe(&s), HS_OK);
    return 0;
}

static int cr_creator(void *arg)
{
    (void)arg;
    hs_topic_attr a = attr(16, 8, HS_CHAN_DROP_NEWEST);
    EXPECT_ST(hs_topic_create(&a, &topic_cap), HS_OK);
    spawn_with("subscriber", cr_subscriber, NULL, topic_cap, HS_CAP_RECV,
               NULL);
    wait_subs(topic_cap, 1);
    EXPECT_ST(hs_topic_pub_init(&pub, topic_cap), HS_OK);
    for (uint64_t seq = 0; seq < 5; seq++)
        EXPECT_ST(hs_topic_publish(&pub, &seq, sizeof seq, NULL), HS_OK);
    spawn_with("late", cr_late, NULL, topic_cap, HS_CAP_RECV, NULL);
    wait_subs(topic_cap, 2);
    EXPECT_ST(hs_thread_sleep(HS_USEC), HS_OK);     /* it sleeps */
    return 0;                   /* exits with the topic and its ends */
}

static int cr_main(void *arg)
{
    (void)arg;
    hs_pid_t kid = 0;
    EXPECT_ST(hs_proc_spawn("creator", cr_creator, NULL, NULL, &kid), HS_OK);
    wait_child(kid);
    return 0;
}

static void test_topic_creator_exit_closes_after_drain(void **state)
{
    (void)state;
    run_main(cr_main, NULL);
    assert_int_equal(status[1], HS_EBADCAP);    /* the topic is gone */
    assert_int_equal(streams[0].got, 5);
    assert_int_equal(streams[0].first, 0);
    assert_false(streams[0].out_of_order);
    assert_int_equal(streams[0].end, HS_ECLOSED);
    assert_int_equal(streams[1].got, 0);
    assert_int_equal(streams[1].end, HS_ECLOSED);
}

/* ---- 7. unsubscribing while another thread is in hs_topic_recv() ------------------- */

static hs_topic_sub us_sub;         /* shared by the threads of main */

static int us_receiver(void *arg)
{
    (void)arg;
    uint64_t x = 0xbad;
    size_t len;
    status[0] = hs_topic_recv(&us_sub, &x, sizeof x, &len, HS_NEVER);
    word[0] = x;
    return 0;
}

/* arg 0: the receiver is asleep when the process unsubscribes; arg 1: a
 * publish wakes it, and the process unsubscribes before it runs. */
static int us_main(void *arg)
{
    uintptr_t woken = (uintptr_t)arg;
    hs_topic_attr a = attr(4, 8, HS_CHAN_DROP_NEWEST);
    EXPECT_ST(hs_topic_create(&a, &topic_cap), HS_OK);
    EXPECT_ST(hs_topic_subscribe(topic_cap, 0, &us_sub), HS_OK);
    EXPECT_ST(hs_topic_pub_init(&pub, topic_cap), HS_OK);
    hs_tid_t t = 0;
    EXPECT_ST(hs_thread_create(us_receiver, NULL, NULL, &t), HS_OK);
    EXPECT_ST(hs_thread_sleep(HS_USEC), HS_OK);     /* it sleeps */
    if (woken) {
        uint64_t seq = 41;
        EXPECT_ST(hs_topic_publish(&pub, &seq, sizeof seq, NULL), HS_OK);
    }
    EXPECT_ST(hs_topic_unsubscribe(&us_sub), HS_OK);
    EXPECT_ST(hs_thread_join(t, HS_NEVER, NULL), HS_OK);
    EXPECT_ST(hs_topic_pub_destroy(&pub), HS_OK);
    EXPECT_ST(hs_topic_destroy(topic_cap), HS_OK);
    check_memory();
    return 0;
}

static void test_topic_unsubscribe_while_recv_asleep_returns_eclosed(
    void **state)
{
    (void)state;
    run_main(us_main, (void *)0);
    assert_int_equal(status[0], HS_ECLOSED);
}

static void test_topic_unsubscribe_after_wake_before_recv_runs_returns_eclosed(
    void **state)
{
    (void)state;
    run_main(us_main, (void *)1);
    assert_int_equal(status[0], HS_ECLOSED);
    /* Under any seed the receiver either took the message before the
     * unsubscribe or sees its subscription gone. */
    hs_sim_config cfg = tu_config();
    for (uint64_t seed = 1; seed <= 32; seed++) {
        cfg.seed = seed;
        run_cfg(&cfg, us_main, (void *)1);
        if (status[0] == HS_OK)
            assert_int_equal(word[0], 41);
        else
            assert_int_equal(status[0], HS_ECLOSED);
    }
}

/* ---- 8. a refused publish changes nothing ----------------------------------------- */

/* What a publish could change: the publisher, the process's capabilities
 * and mapped bytes, the topic, the free frames. */
struct pub_state {
    hs_topic_pub pub;
    uint64_t caps, mapped, free;
    hs_topic_info topic;
};

static struct pub_state before, after;

static void pub_state_get(struct pub_state *ps)
{
    hs_account acc;
    hs_mem_stats ms;
    memcpy(&ps->pub, &pub, sizeof pub);
    EXPECT_ST(hs_factory_account(0, &acc), HS_OK);
    ps->caps = acc.used[HS_RES_CAPS];
    ps->mapped = acc.used[HS_RES_MAPPED];
    EXPECT_ST(hs_mem_stats_get(&ms), HS_OK);
    ps->free = ms.free;
    EXPECT_ST(hs_topic_info_get(topic_cap, &ps->topic), HS_OK);
}

/* A subscriber the publisher has no end for yet: the first publish would
 * attach one; an over-long one must not. */
static int refused_main(void *arg)
{
    (void)arg;
    hs_topic_attr a = attr(4, 8, HS_CHAN_DROP_NEWEST);
    EXPECT_ST(hs_topic_create(&a, &topic_cap), HS_OK);
    hs_topic_sub s;
    EXPECT_ST(hs_topic_subscribe(topic_cap, 0, &s), HS_OK);
    EXPECT_ST(hs_topic_pub_init(&pub, topic_cap), HS_OK);
    char msg[16] = "0123456789abcde";
    hs_topic_sent r = { 7, 7 };
    pub_state_get(&before);
    status[0] = hs_topic_publish(&pub, msg, 9, &r);
    pub_state_get(&after);
    word[0] = r.delivered;
    word[1] = r.missed;
    /* Within msg_max it goes out, attaching the end then. */
    EXPECT_ST(hs_topic_publish(&pub, msg, 8, &r), HS_OK);
    word[2] = r.delivered;
    word[3] = pub.npeers;
    EXPECT_ST(hs_topic_pub_destroy(&pub), HS_OK);
    EXPECT_ST(hs_topic_unsubscribe(&s), HS_OK);
    EXPECT_ST(hs_topic_destroy(topic_cap), HS_OK);
    check_memory();
    return 0;
}

static void test_topic_publish_refused_over_long_changes_nothing(void **state)
{
    (void)state;
    run_main(refused_main, NULL);
    assert_int_equal(status[0], HS_EMSGSIZE);
    assert_int_equal(word[0], 7);               /* *sent untouched */
    assert_int_equal(word[1], 7);
    assert_memory_equal(&before.pub, &after.pub, sizeof before.pub);
    assert_int_equal(before.caps, after.caps);
    assert_int_equal(before.mapped, after.mapped);
    assert_int_equal(before.free, after.free);
    assert_int_equal(before.topic.gen, after.topic.gen);
    assert_int_equal(before.topic.subs, after.topic.subs);
    assert_int_equal(word[2], 1);
    assert_int_equal(word[3], 1);
}

/* ---- 9. a publisher whose fields were changed ------------------------------------- */

static int npeers_main(void *arg)
{
    (void)arg;
    hs_topic_attr a = attr(4, 8, HS_CHAN_DROP_NEWEST);
    EXPECT_ST(hs_topic_create(&a, &topic_cap), HS_OK);
    hs_topic_sub s;
    EXPECT_ST(hs_topic_subscribe(topic_cap, 0, &s), HS_OK);
    EXPECT_ST(hs_topic_pub_init(&pub, topic_cap), HS_OK);
    uint64_t seq = 1;
    EXPECT_ST(hs_topic_publish(&pub, &seq, sizeof seq, NULL), HS_OK);
    uint32_t n = pub.npeers;
    pub.npeers = 1000;
    status[0] = hs_topic_publish(&pub, &seq, sizeof seq, NULL);
    word[0] = hs_topic_pub_missed(&pub, s.sub);
    status[1] = hs_topic_pub_destroy(&pub);
    pub.npeers = n;
    hs_topic_sub_info si;
    EXPECT_ST(hs_topic_sub_info_get(&s, &si), HS_OK);
    word[1] = si.queued;                /* the first publish only */
    EXPECT_ST(hs_topic_pub_destroy(&pub), HS_OK);
    EXPECT_ST(hs_topic_unsubscribe(&s), HS_OK);
    EXPECT_ST(hs_topic_destroy(topic_cap), HS_OK);
    check_memory();
    return 0;
}

static void test_topic_publisher_bounds_from_its_array(void **state)
{
    (void)state;
    run_main(npeers_main, NULL);
    assert_int_equal(status[0], HS_EINVAL);
    assert_int_equal(word[0], 0);
    assert_int_equal(status[1], HS_EINVAL);
    assert_int_equal(word[1], 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        TU_TEST(test_topic_sixteen_subscribers_one_stalled_drop_oldest),
        TU_TEST(test_topic_sixteen_subscribers_one_stalled_drop_newest),
        TU_TEST(test_topic_sixteen_subscribers_one_stalled_fail),
        TU_TEST(test_topic_sixteen_subscribers_seeded_runs_repeat),
        TU_TEST(test_topic_join_and_leave_mid_stream),
        TU_TEST(test_topic_create_refuses_bad_attributes),
        TU_TEST(test_topic_bad_input_named_errors_nothing_lost),
        TU_TEST(test_topic_revoked_subscription_drains_then_closed),
        TU_TEST(test_topic_subscriber_exit_removes_it),
        TU_TEST(test_topic_creator_exit_closes_after_drain),
        TU_TEST(test_topic_unsubscribe_while_recv_asleep_returns_eclosed),
        TU_TEST(
            test_topic_unsubscribe_after_wake_before_recv_runs_returns_eclosed),
        TU_TEST(test_topic_publish_refused_over_long_changes_nothing),
        TU_TEST(test_topic_publisher_bounds_from_its_array),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
