/*
 * tests/test_chan.c - asynchronous channels: a million messages through a
 * ring between two processes, each exactly once and in order; several
 * producers on an MPSC ring; each overflow policy under a producer faster
 * than its consumer; revocation mid-stream; the peer of an exiting
 * process seeing the channel closed; bad input; two CPUs; determinism
 * under a seed; a sender that writes the ring by hand, and a handle
 * whose fields were changed, reading nothing outside the ring; an end
 * detached while another thread of its process is in a call on it.
 *
 * Simulated threads record what they saw in the statics below (and check
 * statuses with EXPECT_ST); the test asserts after hs_sim_run().
 */
#include "testutil.h"

#define MILLION 1000000u
#define BATCH 64u
#define NPROD 3u
#define NREC 64

/* ---- what the simulated threads saw ------------------------------------------ */

static hs_status status[NREC];
static uint64_t word[NREC];
static hs_time_t when[NREC];
static hs_chan_info info[NREC];

/* The consumer's verdict on a stream: messages taken, the first out of
 * place (index, and what it held), per producer for MPSC. */
struct verdict {
    uint64_t got;
    uint64_t bad_at;            /* UINT64_MAX: none */
    uint64_t bad_val;
    uint64_t next[NPROD];       /* next sequence number expected */
    hs_status end;              /* how the stream ended */
};
static struct verdict v;

/* Values a consumer received, in order (small runs only). */
static struct tu_log seen;

static hs_cap_t chan_cap;
static uint64_t n_msgs;         /* per producer */
static uint32_t mpsc_slots;     /* of mpsc_main()'s ring */
static atomic_uint attached;    /* producers attached so far */

static void reset(void)
{
    for (int i = 0; i < NREC; i++) {
        status[i] = HS_STATUS_COUNT;
        word[i] = 0xbad;
        when[i] = HS_NEVER;
        memset(&info[i], 0xa5, sizeof info[i]);
    }
    memset(&v, 0, sizeof v);
    v.bad_at = UINT64_MAX;
    v.end = HS_STATUS_COUNT;
    tu_log_reset(&seen);
    chan_cap = 0;
    atomic_store(&attached, 0);
}

static int under_valgrind(void)
{
    const char *s = getenv("HOPSIM_UNDER_VALGRIND");
    return s && strcmp(s, "1") == 0;
}

static void run_cfg(hs_sim_config *cfg, hs_entry_fn entry)
{
    reset();
    tu_run_one(cfg, "main", entry, NULL, NULL);
}

static void run_arg(hs_sim_config *cfg, hs_entry_fn entry, void *arg)
{
    reset();
    tu_run_one(cfg, "main", entry, arg, NULL);
}

static void run_main(hs_entry_fn entry)
{
    hs_sim_config cfg = tu_config();
    run_cfg(&cfg, entry);
}

static hs_chan_attr attr(uint32_t slots, uint32_t msg_max, unsigned kind,
                         unsigned overflow, hs_time_t timeout)
{
    return (hs_chan_attr){ .slots = slots, .msg_max = msg_max, .kind = kind,
                           .overflow = overflow, .timeout = timeout };
}

/* Spawn a child that gets a copy of cap (with rights) as its capability
 * 1. */
static hs_pid_t spawn_with(const char *name, hs_entry_fn entry, void *arg,
                           hs_cap_t cap, unsigned rights)
{
    hs_cap_t d = 0;
    EXPECT_ST(hs_cap_derive(cap, rights | HS_CAP_GRANT, 0, &d), HS_OK);
    hs_proc_attr a;
    memset(&a, 0, sizeof a);
    a.caps = &d;
    a.ncaps = 1;
    hs_pid_t pid = 0;
    EXPECT_ST(hs_proc_spawn(name, entry, arg, &a, &pid), HS_OK);
    return pid;
}

static void wait_child(hs_pid_t pid)
{
    EXPECT_ST(hs_proc_wait(pid, HS_NEVER, NULL), HS_OK);
}

/* ---- producers and consumers ------------------------------------------------- */

/* A message: who sent it and its sequence number. */
struct msg {
    uint64_t prod;
    uint64_t seq;
};

/* Send n_msgs messages {prod, 0..n-1} on c in batches. */
static hs_status produce(hs_chan *c, uint64_t prod)
{
    struct msg buf[BATCH];
    hs_chan_msg m[BATCH];
    for (uint64_t i = 0; i < n_msgs;) {
        size_t k = n_msgs - i < BATCH ? (size_t)(n_msgs - i) : BATCH;
        for (size_t j = 0; j < k; j++) {
            buf[j] = (struct msg){ .prod = prod, .seq = i + j };
            m[j] = (hs_chan_msg){ .data = &buf[j], .len = sizeof buf[j] };
        }
        size_t sent = 0;
        hs_status st = hs_chan_send_batch(c, m, k, &sent);
        i += sent;
        if (st != HS_OK)
            return st;
    }
    return HS_OK;
}

/* Check one message against the expected sequence of its producer. */
static void verdict_take(const struct msg *x, size_t len)
{
    uint64_t p = x->prod;
    if (v.bad_at == UINT64_MAX &&
        (len != sizeof *x || p >= NPROD || x->seq != v.next[p])) {
        v.bad_at = v.got;
        v.bad_val = x->seq;
    }
    if (p < NPROD)
        v.next[p] = x->seq + 1;
    v.got++;
}

/* Receive one batch, waiting for it, into the verdict; how the stream
 * ended into v.end when it did (closed, or failed). */
static hs_status consume_batch(hs_chan *c)
{
    struct msg buf[BATCH];
    hs_chan_msg m[BATCH];
    for (size_t j = 0; j < BATCH; j++)
        m[j] = (hs_chan_msg){ .data = &buf[j], .len = sizeof buf[j] };
    size_t got = 0;
    hs_status st = hs_chan_recv_batch(c, m, BATCH, &got, HS_NEVER);
    if (st != HS_OK) {
        v.end = st;
        return st;
    }
    for (size_t j = 0; j < got; j++)
        verdict_take(&buf[j], m[j].len);
    return HS_OK;
}

/* Receive in batches until the channel closes (or fails). */
static void consume(hs_chan *c)
{
    while (consume_batch(c) == HS_OK)
        ;
}

/* ---- 1. a million messages, SPSC, between two processes ------------------------- */

static int million_consumer(void *arg)
{
    (void)arg;
    hs_chan c;
    if (EXPECT_ST(hs_chan_attach(1, HS_CHAN_RECEIVER, 0, &c), HS_OK))
        return 1;
    consume(&c);
    EXPECT_ST(hs_chan_detach(&c), HS_OK);
    return 0;
}

static int million_main(void *arg)
{
    unsigned kind = (unsigned)(uintptr_t)arg;
    hs_chan_attr a = attr(1024, sizeof(struct msg), kind, HS_CHAN_BLOCK,
                          HS_NEVER);
    EXPECT_ST(hs_chan_create(&a, &chan_cap), HS_OK);
    hs_pid_t kid = spawn_with("consumer", million_consumer, NULL, chan_cap,
                              HS_CAP_RECV);
    hs_chan c;
    EXPECT_ST(hs_chan_attach(chan_cap, HS_CHAN_SENDER, 0, &c), HS_OK);
    status[0] = produce(&c, 0);
    EXPECT_ST(hs_chan_detach(&c), HS_OK);     /* closes: the last sender */
    wait_child(kid);
    return 0;
}

static void test_chan_million_messages_spsc_each_once_in_order(void **state)
{
    (void)state;
    n_msgs = under_valgrind() ? MILLION / 10 : MILLION;
    reset();
    hs_sim_config cfg = tu_config();
    assert_int_equal(tu_run(&cfg, "producer", million_main,
                            (void *)(uintptr_t)HS_CHAN_SPSC, NULL), HS_OK);
    assert_no_bad_status();
    assert_int_equal(status[0], HS_OK);
    assert_int_equal(v.bad_at, UINT64_MAX);
    assert_int_equal(v.got, n_msgs);
    assert_int_equal(v.next[0], n_msgs);
    assert_int_equal(v.end, HS_ECLOSED);
    /* The fast path does not enter the kernel: the events are the
     * sleeps and wakes of a ring's worth of messages at a time. */
    hs_sim_summary s = tu_summary();
    assert_true(s.events < n_msgs / 64);
}

/* ---- 2. several producers on an MPSC ring ------------------------------------------ */

/* Counts itself as attached before it sends anything, so the consumer
 * sees the count once it has received any of its messages. */
static int mpsc_producer(void *arg)
{
    hs_chan c;
    if (EXPECT_ST(hs_chan_attach(1, HS_CHAN_SENDER, 0, &c), HS_OK))
        return 1;
    atomic_fetch_add(&attached, 1);
    status[(uintptr_t)arg] = produce(&c, (uintptr_t)arg);
    EXPECT_ST(hs_chan_detach(&c), HS_OK);
    return 0;
}

/*
 * The channel closes when its last sender detaches, and the producers
 * attach themselves once they run.  With two CPUs one producer may send
 * all its messages and detach before another has attached (its CPU busy,
 * or its host thread not scheduled): the channel would close under the
 * latecomer.  So the consumer holds a sender end of its own until every
 * producer has attached; each sends after attaching, which wakes it.
 */
static int mpsc_main(void *arg)
{
    (void)arg;
    hs_chan_attr a = attr(mpsc_slots, sizeof(struct msg), HS_CHAN_MPSC,
                          HS_CHAN_BLOCK, HS_NEVER);
    EXPECT_ST(hs_chan_create(&a, &chan_cap), HS_OK);
    hs_chan c, hold;
    EXPECT_ST(hs_chan_attach(chan_cap, HS_CHAN_RECEIVER, 0, &c), HS_OK);
    EXPECT_ST(hs_chan_attach(chan_cap, HS_CHAN_SENDER, 0, &hold), HS_OK);
    hs_pid_t kid[NPROD];
    for (uintptr_t i = 0; i < NPROD; i++)
        kid[i] = spawn_with("producer", mpsc_producer, (void *)i, chan_cap,
                            HS_CAP_SEND);
    while (atomic_load(&attached) < NPROD && consume_batch(&c) == HS_OK)
        ;
    EXPECT_ST(hs_chan_detach(&hold), HS_OK);
    consume(&c);        /* until the last producer detaches */
    for (unsigned i = 0; i < NPROD; i++)
        wait_child(kid[i]);
    EXPECT_ST(hs_chan_detach(&c), HS_OK);
    return 0;
}

static void assert_mpsc_verdict(void)
{
    for (unsigned i = 0; i < NPROD; i++) {
        assert_int_equal(status[i], HS_OK);
        assert_int_equal(v.next[i], n_msgs);
    }
    assert_int_equal(v.bad_at, UINT64_MAX);
    assert_int_equal(v.got, NPROD * n_msgs);
    assert_int_equal(v.end, HS_ECLOSED);
}

static void test_chan_mpsc_producers_each_in_order_none_lost(void **state)
{
    (void)state;
    n_msgs = under_valgrind() ? 20000 : 100000;
    mpsc_slots = 256;
    run_main(mpsc_main);
    assert_mpsc_verdict();
}

/* A seeded run interleaves the producers; the same seed, the same run. */
static void test_chan_mpsc_seeded_runs_repeat_exactly(void **state)
{
    (void)state;
    n_msgs = 2000;
    mpsc_slots = 256;
    hs_sim_config cfg = tu_config();
    cfg.seed = 7;
    run_cfg(&cfg, mpsc_main);
    assert_mpsc_verdict();
    hs_sim_summary first = tu_summary();
    run_cfg(&cfg, mpsc_main);
    assert_mpsc_verdict();
    hs_sim_summary again = tu_summary();
    assert_int_equal(first.hash, again.hash);
    assert_int_equal(first.events, again.events);
    assert_int_equal(first.vtime, again.vtime);
}

/* ---- 3. overflow policies under a producer faster than the consumer ---------------- */

#define OV_SLOTS 8u
#define OV_SENT  20u

static hs_chan ov_send_end, ov_recv_end;

/* Receive everything now queued into seen; the final status in *end. */
static void drain(hs_chan *c, hs_status *end)
{
    uint64_t x;
    size_t len;
    hs_status st;
    while ((st = hs_chan_recv(c, &x, sizeof x, &len, HS_NOWAIT)) == HS_OK)
        tu_log_add(&seen, (int)x);
    *end = st;
}

/* The producer: OV_SENT messages 0..19 without pause, each status kept. */
static int ov_producer(void *arg)
{
    (void)arg;
    for (uint64_t i = 0; i < OV_SENT; i++)
        status[i] = hs_chan_send(&ov_send_end, &i, sizeof i);
    when[0] = hs_time_now();
    return 0;
}

/* The consumer starts late, then drains. */
static int ov_consumer(void *arg)
{
    (void)arg;
    EXPECT_ST(hs_thread_sleep(HS_MSEC), HS_OK);
    EXPECT_ST(hs_chan_info_get(&ov_recv_end, &info[0]), HS_OK);
    drain(&ov_recv_end, &status[NREC - 1]);
    return 0;
}

/* The BLOCK consumer: takes every message, waiting for each. */
static int ov_block_consumer(void *arg)
{
    (void)arg;
    EXPECT_ST(hs_thread_sleep(HS_MSEC), HS_OK);
    EXPECT_ST(hs_chan_info_get(&ov_recv_end, &info[0]), HS_OK);
    for (unsigned i = 0; i < OV_SENT; i++) {
        uint64_t x;
        size_t len;
        if (EXPECT_ST(hs_chan_recv(&ov_recv_end, &x, sizeof x, &len,
                                   HS_NEVER), HS_OK) == HS_OK)
            tu_log_add(&seen, (int)x);
    }
    status[NREC - 1] = hs_chan_recv(&ov_recv_end, &word[0], 8, &(size_t){0},
                                    HS_NOWAIT);
    return 0;
}

struct ov_case {
    unsigned policy;
    hs_time_t timeout;
    hs_entry_fn consumer;
};

static int ov_main(void *arg)
{
    const struct ov_case *oc = arg;
    hs_chan_attr a = attr(OV_SLOTS, 8, HS_CHAN_SPSC, oc->policy,
                          oc->timeout);
    EXPECT_ST(hs_chan_create(&a, &chan_cap), HS_OK);
    EXPECT_ST(hs_chan_attach(chan_cap, HS_CHAN_SENDER, 0, &ov_send_end),
              HS_OK);
    EXPECT_ST(hs_chan_attach(chan_cap, HS_CHAN_RECEIVER, 0, &ov_recv_end),
              HS_OK);
    hs_tid_t p = 0, q = 0;
    EXPECT_ST(hs_thread_create(oc->consumer, NULL, NULL, &q), HS_OK);
    EXPECT_ST(hs_thread_create(ov_producer, NULL, NULL, &p), HS_OK);
    EXPECT_ST(hs_thread_join(p, HS_NEVER, NULL), HS_OK);
    EXPECT_ST(hs_thread_join(q, HS_NEVER, NULL), HS_OK);
    EXPECT_ST(hs_chan_info_get(&ov_recv_end, &info[1]), HS_OK);
    EXPECT_ST(hs_chan_detach(&ov_send_end), HS_OK);
    EXPECT_ST(hs_chan_detach(&ov_recv_end), HS_OK);
    return 0;
}

static void run_ov(unsigned policy, hs_time_t timeout, hs_entry_fn consumer)
{
    struct ov_case oc = { policy, timeout, consumer };
    hs_sim_config cfg = tu_config();
    run_arg(&cfg, ov_main, &oc);
}

static void assert_seen_range(unsigned from, unsigned to)
{
    assert_int_equal(atomic_load(&seen.n), to - from);
    for (unsigned i = from; i < to; i++)
        assert_int_equal(seen.v[i - from], (int)i);
}

static void assert_sends(unsigned from, unsigned to, hs_status want)
{
    for (unsigned i = from; i < to; i++)
        assert_int_equal(status[i], want);
}

static void test_chan_overflow_drop_newest_keeps_the_first(void **state)
{
    (void)state;
    run_ov(HS_CHAN_DROP_NEWEST, 0, ov_consumer);
    assert_sends(0, OV_SENT, HS_OK);
    assert_int_equal(info[0].queued, OV_SLOTS);
    assert_int_equal(info[0].dropped, OV_SENT - OV_SLOTS);
    assert_seen_range(0, OV_SLOTS);
    assert_int_equal(status[NREC - 1], HS_ETIMEOUT);
    assert_int_equal(info[1].queued, 0);
}

static void test_chan_overflow_drop_oldest_keeps_the_last(void **state)
{
    (void)state;
    run_ov(HS_CHAN_DROP_OLDEST, 0, ov_consumer);
    assert_sends(0, OV_SENT, HS_OK);
    assert_int_equal(info[0].queued, OV_SLOTS);
    assert_int_equal(info[0].dropped, OV_SENT - OV_SLOTS);
    assert_seen_range(OV_SENT - OV_SLOTS, OV_SENT);
    assert_int_equal(status[NREC - 1], HS_ETIMEOUT);
}

static void test_chan_overflow_fail_refuses_with_efull(void **state)
{
    (void)state;
    run_ov(HS_CHAN_FAIL, 0, ov_consumer);
    assert_sends(0, OV_SLOTS, HS_OK);
    assert_sends(OV_SLOTS, OV_SENT, HS_EFULL);
    assert_int_equal(info[0].queued, OV_SLOTS);
    assert_int_equal(info[0].dropped, 0);
    assert_seen_range(0, OV_SLOTS);
}

/* BLOCK without a limit: the producer waits for each slot; all arrive. */
static void test_chan_overflow_block_delivers_everything(void **state)
{
    (void)state;
    run_ov(HS_CHAN_BLOCK, HS_NEVER, ov_block_consumer);
    assert_sends(0, OV_SENT, HS_OK);
    assert_int_equal(info[0].queued, OV_SLOTS);
    assert_int_equal(info[0].dropped, 0);
    assert_seen_range(0, OV_SENT);
    assert_int_equal(status[NREC - 1], HS_ETIMEOUT);
    assert_true(when[0] >= HS_MSEC);    /* it had to wait for the consumer */
}

/* BLOCK with a limit the consumer outlasts: each further send times out
 * after exactly the limit, and nothing past the ring is delivered. */
static void test_chan_overflow_block_times_out(void **state)
{
    (void)state;
    run_ov(HS_CHAN_BLOCK, 10 * HS_USEC, ov_consumer);
    assert_sends(0, OV_SLOTS, HS_OK);
    assert_sends(OV_SLOTS, OV_SENT, HS_ETIMEOUT);
    assert_int_equal(when[0], (OV_SENT - OV_SLOTS) * 10 * HS_USEC);
    assert_int_equal(info[0].dropped, 0);
    assert_seen_range(0, OV_SLOTS);
}

/* ---- 4. revocation mid-stream ------------------------------------------------------- */

static int rv_producer(void *arg)
{
    (void)arg;
    hs_chan c;
    if (EXPECT_ST(hs_chan_attach(1, HS_CHAN_SENDER, 0, &c), HS_OK))
        return 1;
    uint64_t i = 0;
    hs_status st;
    while ((st = hs_chan_send(&c, &i, sizeof i)) == HS_OK)
        i++;
    word[0] = i;
    status[0] = st;
    status[1] = hs_chan_send(&c, &i, sizeof i);
    EXPECT_ST(hs_chan_detach(&c), HS_OK);   /* a revoked end detaches */
    return 0;
}

static int rv_main(void *arg)
{
    (void)arg;
    hs_chan_attr a = attr(16, 8, HS_CHAN_SPSC, HS_CHAN_BLOCK, HS_NEVER);
    EXPECT_ST(hs_chan_create(&a, &chan_cap), HS_OK);
    hs_chan c;
    EXPECT_ST(hs_chan_attach(chan_cap, HS_CHAN_RECEIVER, 0, &c), HS_OK);
    hs_pid_t kid = spawn_with("producer", rv_producer, NULL, chan_cap,
                              HS_CAP_SEND);
    uint64_t x;
    size_t len;
    for (int i = 0; i < 100; i++)
        if (EXPECT_ST(hs_chan_recv(&c, &x, sizeof x, &len, HS_NEVER),
                      HS_OK) == HS_OK)
            tu_log_add(&seen, (int)x);
    EXPECT_ST(hs_cap_revoke(chan_cap), HS_OK);
    hs_status st;
    while ((st = hs_chan_recv(&c, &x, sizeof x, &len, HS_NEVER)) == HS_OK)
        tu_log_add(&seen, (int)x);
    status[2] = st;
    wait_child(kid);
    EXPECT_ST(hs_chan_detach(&c), HS_OK);
    return 0;
}

static void test_chan_revoke_mid_stream_stops_sender_loses_nothing(void **state)
{
    (void)state;
    run_main(rv_main);
    assert_int_equal(status[0], HS_EBADCAP);
    assert_int_equal(status[1], HS_EBADCAP);
    assert_int_equal(status[2], HS_ECLOSED);
    assert_true(word[0] >= 100);
    assert_seen_range(0, (unsigned)word[0]);
}

/* ---- 5. the peer of an exiting process sees the channel closed ----------------------- */

static int ex_producer(void *arg)
{
    (void)arg;
    hs_chan c;
    if (EXPECT_ST(hs_chan_attach(1, HS_CHAN_SENDER, 0, &c), HS_OK))
        return 1;
    for (uint64_t i = 0; i < 10; i++)
        EXPECT_ST(hs_chan_send(&c, &i, sizeof i), HS_OK);
    return 0;                   /* exits attached */
}

static int ex_recv_main(void *arg)
{
    (void)arg;
    hs_chan_attr a = attr(16, 8, HS_CHAN_SPSC, HS_CHAN_BLOCK, HS_NEVER);
    EXPECT_ST(hs_chan_create(&a, &chan_cap), HS_OK);
    hs_chan c;
    EXPECT_ST(hs_chan_attach(chan_cap, HS_CHAN_RECEIVER, 0, &c), HS_OK);
    hs_pid_t kid = spawn_with("producer", ex_producer, NULL, chan_cap,
                              HS_CAP_SEND);
    uint64_t x;
    size_t len;
    hs_status st;
    while ((st = hs_chan_recv(&c, &x, sizeof x, &len, HS_NEVER)) == HS_OK)
        tu_log_add(&seen, (int)x);
    status[0] = st;
    wait_child(kid);
    status[1] = hs_chan_recv(&c, &x, sizeof x, &len, HS_NEVER);
    EXPECT_ST(hs_chan_detach(&c), HS_OK);
    return 0;
}

static void test_chan_sender_exit_closes_after_drain(void **state)
{
    (void)state;
    run_main(ex_recv_main);
    assert_seen_range(0, 10);
    assert_int_equal(status[0], HS_ECLOSED);
    assert_int_equal(status[1], HS_ECLOSED);
}

static int ex_consumer(void *arg)
{
    (void)arg;
    hs_chan c;
    uint64_t x;
    size_t len;
    if (EXPECT_ST(hs_chan_attach(1, HS_CHAN_RECEIVER, 0, &c), HS_OK))
        return 1;
    EXPECT_ST(hs_chan_recv(&c, &x, sizeof x, &len, HS_NEVER), HS_OK);
    word[1] = x;
    return 0;                   /* exits attached */
}

static int ex_send_main(void *arg)
{
    (void)arg;
    hs_chan_attr a = attr(4, 8, HS_CHAN_SPSC, HS_CHAN_BLOCK, HS_NEVER);
    EXPECT_ST(hs_chan_create(&a, &chan_cap), HS_OK);
    hs_pid_t kid = spawn_with("consumer", ex_consumer, NULL, chan_cap,
                              HS_CAP_RECV);
    hs_chan c;
    EXPECT_ST(hs_chan_attach(chan_cap, HS_CHAN_SENDER, 0, &c), HS_OK);
    uint64_t i = 0;
    hs_status st;
    while ((st = hs_chan_send(&c, &i, sizeof i)) == HS_OK)
        i++;
    word[0] = i;
    status[0] = st;             /* woken from a full ring */
    wait_child(kid);
    status[1] = hs_chan_send(&c, &i, sizeof i);
    EXPECT_ST(hs_chan_info_get(&c, &info[0]), HS_OK);
    EXPECT_ST(hs_chan_detach(&c), HS_OK);
    return 0;
}

static void test_chan_receiver_exit_wakes_blocked_sender(void **state)
{
    (void)state;
    run_main(ex_send_main);
    assert_int_equal(word[0], 4);       /* the ring's worth, then asleep */
    assert_int_equal(word[1], 0);
    assert_int_equal(status[0], HS_ECLOSED);
    assert_int_equal(status[1], HS_ECLOSED);
    assert_true(info[0].closed);
    assert_int_equal(info[0].queued, 3);
}

/* The creator ends without detaching: its channel is destroyed, and a
 * receiver elsewhere still drains what was sent, then sees it closed. */
static int cr_consumer(void *arg)
{
    (void)arg;
    hs_chan c;
    uint64_t x;
    size_t len;
    hs_status st;
    if (EXPECT_ST(hs_chan_attach(1, HS_CHAN_RECEIVER, 0, &c), HS_OK))
        return 1;
    EXPECT_ST(hs_thread_sleep(HS_MSEC), HS_OK);     /* the creator is gone */
    while ((st = hs_chan_recv(&c, &x, sizeof x, &len, HS_NEVER)) == HS_OK)
        tu_log_add(&seen, (int)x);
    status[0] = st;
    EXPECT_ST(hs_chan_detach(&c), HS_OK);
    return 0;
}

static int cr_main(void *arg)
{
    (void)arg;
    hs_chan_attr a = attr(16, 8, HS_CHAN_MPSC, HS_CHAN_FAIL, 0);
    EXPECT_ST(hs_chan_create(&a, &chan_cap), HS_OK);
    spawn_with("consumer", cr_consumer, NULL, chan_cap, HS_CAP_RECV);
    EXPECT_ST(hs_thread_sleep(HS_USEC), HS_OK);     /* it attaches */
    hs_chan c;
    EXPECT_ST(hs_chan_attach(chan_cap, HS_CHAN_SENDER, 0, &c), HS_OK);
    for (uint64_t i = 0; i < 5; i++)
        EXPECT_ST(hs_chan_send(&c, &i, sizeof i), HS_OK);
    return 0;
}

static void test_chan_creator_exit_closes_for_peer(void **state)
{
    (void)state;
    run_main(cr_main);
    assert_seen_range(0, 5);
    assert_int_equal(status[0], HS_ECLOSED);
}

/* ---- 6. bad input ------------------------------------------------------------------------ */

static int bad_create(void *arg)
{
    (void)arg;
    hs_cap_t cap;
    hs_chan_attr a = attr(4, 16, HS_CHAN_SPSC, HS_CHAN_FAIL, 0);
    EXPECT_ST(hs_chan_create(NULL, &cap), HS_EINVAL);
    EXPECT_ST(hs_chan_create(&a, NULL), HS_EINVAL);
    uint32_t bad_slots[] = { 0, 1, 3, 12, HS_CHAN_SLOTS_MAX * 2 };
    for (unsigned i = 0; i < sizeof bad_slots / sizeof bad_slots[0]; i++) {
        hs_chan_attr b = a;
        b.slots = bad_slots[i];
        EXPECT_ST(hs_chan_create(&b, &cap), HS_EINVAL);
    }
    hs_chan_attr b = a;
    b.msg_max = 0;
    EXPECT_ST(hs_chan_create(&b, &cap), HS_EINVAL);
    b.msg_max = HS_CHAN_MSG_MAX + 1;
    EXPECT_ST(hs_chan_create(&b, &cap), HS_EINVAL);
    b = attr(HS_CHAN_SLOTS_MAX, 64, HS_CHAN_SPSC, HS_CHAN_FAIL, 0);
    EXPECT_ST(hs_chan_create(&b, &cap), HS_EINVAL);     /* 128 MiB */
    b = a;
    b.kind = 3;
    EXPECT_ST(hs_chan_create(&b, &cap), HS_EINVAL);
    b = a;
    b.overflow = 0;
    EXPECT_ST(hs_chan_create(&b, &cap), HS_EINVAL);
    b = a;
    b.overflow = HS_CHAN_BLOCK;
    b.timeout = HS_TIMEOUT_MAX + 1;
    EXPECT_ST(hs_chan_create(&b, &cap), HS_EINVAL);
    hs_mem_stats ms;
    EXPECT_ST(hs_mem_stats_get(&ms), HS_OK);
    word[0] = ms.free;          /* nothing taken by the refusals */
    return 0;
}

static void test_chan_create_refuses_bad_attributes(void **state)
{
    (void)state;
    run_main(bad_create);
    hs_mem_stats ms;
    assert_int_equal(hs_mem_stats_get(&ms), HS_OK);
    assert_int_equal(word[0], ms.pool);
}

static int bad_ops(void *arg)
{
    (void)arg;
    hs_chan_attr a = attr(4, 16, HS_CHAN_SPSC, HS_CHAN_FAIL, 0);
    EXPECT_ST(hs_chan_create(&a, &chan_cap), HS_OK);
    hs_cap_t send_only = 0, gate = 0;
    EXPECT_ST(hs_cap_derive(chan_cap, HS_CAP_SEND, 0, &send_only), HS_OK);
    hs_chan r, s, t;
    /* Rights and roles. */
    status[0] = hs_chan_attach(send_only, HS_CHAN_RECEIVER, 0, &r);
    status[1] = hs_chan_attach(chan_cap, 7, 0, &r);
    status[2] = hs_chan_attach(chan_cap, HS_CHAN_RECEIVER, 0x1001, &r);
    EXPECT_ST(hs_gate_create(0, 0, &gate), HS_OK);
    status[3] = hs_chan_attach(gate, HS_CHAN_SENDER, 0, &t);
    EXPECT_ST(hs_chan_attach(chan_cap, HS_CHAN_RECEIVER, 0x10000000, &r),
              HS_OK);
    status[4] = hs_chan_attach(chan_cap, HS_CHAN_RECEIVER, 0, &t);
    status[5] = hs_chan_attach(chan_cap, HS_CHAN_SENDER, 0x10000000, &t);
    EXPECT_ST(hs_chan_attach(send_only, HS_CHAN_SENDER, 0, &s), HS_OK);
    status[6] = hs_chan_attach(chan_cap, HS_CHAN_SENDER, 0, &t);
    /* The control page is read-only, the indices are not. */
    status[7] = hs_mem_probe(0x10000000, 8, HS_PROT_WRITE);
    status[8] = hs_mem_probe(0x10000000 + HS_CHAN_IDX_OFF, 8, HS_PROT_WRITE);
    /* Sizes: nothing sent, nothing taken. */
    char big[32] = "0123456789abcdefXYZ", out[32];
    size_t len = 0;
    status[9] = hs_chan_send(&s, big, 17);
    EXPECT_ST(hs_chan_info_get(&r, &info[0]), HS_OK);
    EXPECT_ST(hs_chan_send(&s, big, 16), HS_OK);
    status[10] = hs_chan_recv(&r, out, 8, &len, HS_NOWAIT);
    EXPECT_ST(hs_chan_info_get(&r, &info[1]), HS_OK);
    EXPECT_ST(hs_chan_recv(&r, out, sizeof out, &len, HS_NOWAIT), HS_OK);
    word[0] = len;
    word[1] = memcmp(out, big, 16) == 0;
    status[11] = hs_chan_recv(&s, out, sizeof out, &len, HS_NOWAIT);
    status[12] = hs_chan_send(&r, big, 4);
    status[13] = hs_chan_send(&s, big, 0);
    /* Revoking the capability the sender came through. */
    EXPECT_ST(hs_chan_send(&s, big, 4), HS_OK);
    EXPECT_ST(hs_cap_revoke(chan_cap), HS_OK);
    status[14] = hs_chan_send(&s, big, 4);
    status[15] = hs_chan_info_get(&s, &info[2]);
    EXPECT_ST(hs_chan_recv(&r, out, sizeof out, &len, HS_NOWAIT), HS_OK);
    word[2] = len;
    status[16] = hs_chan_recv(&r, out, sizeof out, &len, HS_NOWAIT);
    status[17] = hs_chan_attach(chan_cap, HS_CHAN_SENDER, 0, &t);
    EXPECT_ST(hs_chan_detach(&s), HS_OK);
    /* Destroyed: the capability is stale, the end an orphan. */
    EXPECT_ST(hs_chan_destroy(chan_cap), HS_OK);
    status[18] = hs_chan_attach(chan_cap, HS_CHAN_SENDER, 0, &t);
    status[19] = hs_chan_recv(&r, out, sizeof out, &len, HS_NOWAIT);
    EXPECT_ST(hs_chan_detach(&r), HS_OK);
    status[20] = hs_chan_detach(&r);
    return 0;
}

static void test_chan_bad_input_named_errors_nothing_lost(void **state)
{
    (void)state;
    run_main(bad_ops);
    assert_int_equal(status[0], HS_EPERM);      /* no receive right */
    assert_int_equal(status[1], HS_EINVAL);     /* unknown role */
    assert_int_equal(status[2], HS_EINVAL);     /* unaligned */
    assert_int_equal(status[3], HS_EPERM);      /* not a channel */
    assert_int_equal(status[4], HS_ESTATE);     /* second receiver */
    assert_int_equal(status[5], HS_EEXIST);     /* address taken */
    assert_int_equal(status[6], HS_ESTATE);     /* second SPSC sender */
    assert_int_equal(status[7], HS_EFAULT);
    assert_int_equal(status[8], HS_OK);
    assert_int_equal(status[9], HS_EMSGSIZE);
    assert_int_equal(info[0].queued, 0);
    assert_int_equal(status[10], HS_EMSGSIZE);
    assert_int_equal(info[1].queued, 1);        /* still there */
    assert_int_equal(word[0], 16);
    assert_int_equal(word[1], 1);
    assert_int_equal(status[11], HS_EINVAL);    /* recv on a sender */
    assert_int_equal(status[12], HS_EINVAL);    /* send on a receiver */
    assert_int_equal(status[13], HS_EINVAL);    /* empty message */
    assert_int_equal(status[14], HS_EBADCAP);   /* revoked */
    assert_int_equal(status[15], HS_EBADCAP);
    assert_int_equal(word[2], 4);               /* sent before: delivered */
    assert_int_equal(status[16], HS_ECLOSED);   /* its only sender went */
    assert_int_equal(status[17], HS_ECLOSED);
    assert_int_equal(status[18], HS_EBADCAP);
    assert_int_equal(status[19], HS_ECLOSED);
    assert_int_equal(status[20], HS_EINVAL);    /* detached already */
}

/* ---- 7. two CPUs ----------------------------------------------------------------------------- */

static void test_chan_two_cpus_spsc_and_mpsc(void **state)
{
    (void)state;
    hs_sim_config cfg = tu_config();
    cfg.ncpus = 2;
    n_msgs = under_valgrind() ? 20000 : 300000;
    run_arg(&cfg, million_main, (void *)(uintptr_t)HS_CHAN_SPSC);
    assert_int_equal(status[0], HS_OK);
    assert_int_equal(v.bad_at, UINT64_MAX);
    assert_int_equal(v.got, n_msgs);
    assert_int_equal(v.end, HS_ECLOSED);

    run_arg(&cfg, million_main, (void *)(uintptr_t)HS_CHAN_MPSC);
    assert_int_equal(status[0], HS_OK);
    assert_int_equal(v.bad_at, UINT64_MAX);
    assert_int_equal(v.got, n_msgs);

    n_msgs = under_valgrind() ? 5000 : 100000;
    mpsc_slots = 256;
    run_cfg(&cfg, mpsc_main);
    assert_mpsc_verdict();
}

/* A ring of two slots between three producers on two CPUs: a producer
 * finds it full at nearly every send and asks the kernel to sleep, while
 * the others take the room the kernel may just have seen.  A send with
 * no time limit must still never time out, and nothing is lost. */
static void test_chan_two_cpus_mpsc_full_ring_sends_never_time_out(
    void **state)
{
    (void)state;
    hs_sim_config cfg = tu_config();
    cfg.ncpus = 2;
    n_msgs = under_valgrind() ? 5000 : 200000;
    mpsc_slots = 2;
    run_cfg(&cfg, mpsc_main);
    assert_mpsc_verdict();
}

/* ---- 8. a sender that writes the ring by hand ------------------------------------- */

#define RX_VA 0x10000000u           /* where the receiver maps the ring */
#define TX_VA 0x20000000u           /* where the hostile sender does */
#define HOSTILE_LEN 60000u          /* far past a 4 KiB block of slots */
#define FILL 0xa5

/* A receive buffer larger than HOSTILE_LEN: a length the receiver
 * trusted would be copied whole. */
static unsigned char big[HOSTILE_LEN + 4096];

enum hostile_mode { HOSTILE_LENGTH, HOSTILE_INDICES, HOSTILE_HEAD };

struct hostile_case {
    unsigned kind;
    enum hostile_mode mode;
};

static uint64_t slot_va(uint64_t va, uint64_t pos)
{
    return va + HS_CHAN_DATA_OFF + (pos & 3) * hs_chan_stride(8);
}

static void poke64(uint64_t va, uint64_t val)
{
    EXPECT_ST(hs_mem_write(va, &val, sizeof val), HS_OK);
}

/* Sends messages 0 and 1 on a ring of 4 slots of 8 bytes, then writes
 * it by hand: position 1's length, or tail a thousand messages ahead,
 * or head past tail.  Exits attached (the channel closes). */
static int hostile_sender(void *arg)
{
    const struct hostile_case *hc = arg;
    hs_chan c;
    if (EXPECT_ST(hs_chan_attach(1, HS_CHAN_SENDER, TX_VA, &c), HS_OK))
        return 1;
    for (uint64_t i = 0; i < 2; i++)
        EXPECT_ST(hs_chan_send(&c, &i, sizeof i), HS_OK);
    uint64_t idx = TX_VA + HS_CHAN_IDX_OFF;
    uint32_t len = HOSTILE_LEN;
    switch (hc->mode) {
    case HOSTILE_LENGTH:
        EXPECT_ST(hs_mem_write(slot_va(TX_VA, 1) +
                                   offsetof(hs_chan_slot, len),
                               &len, sizeof len), HS_OK);
        break;
    case HOSTILE_INDICES:
        poke64(idx + offsetof(hs_chan_idx, tail), 1000);
        break;
    case HOSTILE_HEAD:
        poke64(idx + offsetof(hs_chan_idx, head), 5);
        break;
    }
    return 0;
}

/* Once the sender has written the ring and gone, receives message 0
 * (before the damaged slot: HOSTILE_LENGTH only), then twice more and
 * once in a batch into big: each status, each length, and whether big
 * still holds nothing but its fill. */
static int hostile_main(void *arg)
{
    const struct hostile_case *hc = arg;
    hs_chan_attr a = attr(4, 8, hc->kind, HS_CHAN_FAIL, 0);
    EXPECT_ST(hs_chan_create(&a, &chan_cap), HS_OK);
    hs_chan c;
    EXPECT_ST(hs_chan_attach(chan_cap, HS_CHAN_RECEIVER, RX_VA, &c), HS_OK);
    hs_pid_t kid = spawn_with("hostile", hostile_sender, (void *)hc,
                              chan_cap, HS_CAP_SEND);
    wait_child(kid);
    size_t len = 0;
    memset(big, FILL, sizeof big);
    if (hc->mode == HOSTILE_LENGTH) {
        status[0] = hs_chan_recv(&c, big, sizeof big, &len, HS_NOWAIT);
        word[0] = len;
        memset(big, FILL, sizeof big);
    }
    for (int i = 1; i <= 2; i++) {
        len = 0xbad;
        status[i] = hs_chan_recv(&c, big, sizeof big, &len, HS_NOWAIT);
        word[i] = len;
    }
    hs_chan_msg m = { .data = big, .len = sizeof big };
    size_t got = 99;
    status[3] = hs_chan_recv_batch(&c, &m, 1, &got, HS_NOWAIT);
    word[3] = got;
    word[4] = 1;
    for (size_t i = 0; i < sizeof big; i++)
        if (big[i] != FILL)
            word[4] = 0;
    EXPECT_ST(hs_chan_detach(&c), HS_OK);
    return 0;
}

static void run_hostile(unsigned kind, enum hostile_mode mode)
{
    struct hostile_case hc = { kind, mode };
    hs_sim_config cfg = tu_config();
    run_arg(&cfg, hostile_main, &hc);
    if (mode == HOSTILE_LENGTH) {
        assert_int_equal(status[0], HS_OK);     /* before the damage */
        assert_int_equal(word[0], 8);
    }
    for (int i = 1; i <= 2; i++) {              /* it stays as it is */
        assert_int_equal(status[i], HS_ERANGE);
        assert_int_equal(word[i], 0xbad);       /* *len untouched */
    }
    assert_int_equal(status[3], HS_ERANGE);
    assert_int_equal(word[3], 0);
    assert_int_equal(word[4], 1);               /* not one byte copied */
}

static void test_chan_recv_refuses_corrupt_length(void **state)
{
    (void)state;
    run_hostile(HS_CHAN_SPSC, HOSTILE_LENGTH);
    run_hostile(HS_CHAN_MPSC, HOSTILE_LENGTH);
}

static void test_chan_recv_refuses_corrupt_indices(void **state)
{
    (void)state;
    run_hostile(HS_CHAN_SPSC, HOSTILE_INDICES);
    run_hostile(HS_CHAN_SPSC, HOSTILE_HEAD);
}

/* ---- 9. a handle whose fields were changed --------------------------------------- */

/* The ring's shape is the kernel's: a sender's msg_max, a receiver's
 * slots and stride, and an end_slot out of range change nothing. */
static int handle_main(void *arg)
{
    (void)arg;
    hs_chan_attr a = attr(4, 8, HS_CHAN_SPSC, HS_CHAN_FAIL, 0);
    EXPECT_ST(hs_chan_create(&a, &chan_cap), HS_OK);
    hs_chan s, r;
    EXPECT_ST(hs_chan_attach(chan_cap, HS_CHAN_SENDER, 0, &s), HS_OK);
    EXPECT_ST(hs_chan_attach(chan_cap, HS_CHAN_RECEIVER, 0, &r), HS_OK);
    hs_chan s0 = s, r0 = r;
    s.msg_max = 4000;
    status[0] = hs_chan_send(&s, big, 100);
    r.slots = 1024;
    r.stride *= 2;
    r.msg_max = 1;
    for (uint64_t i = 0; i < 4; i++)
        EXPECT_ST(hs_chan_send(&s, &i, sizeof i), HS_OK);
    for (int i = 0; i < 4; i++) {
        uint64_t x = 0xbad;
        size_t len = 0;
        if (EXPECT_ST(hs_chan_recv(&r, &x, sizeof x, &len, HS_NOWAIT),
                      HS_OK) == HS_OK && len == sizeof x)
            tu_log_add(&seen, (int)x);
    }
    uint64_t x = 7;
    size_t len = 0;
    EXPECT_ST(hs_chan_send(&s, &x, sizeof x), HS_OK);
    r.end_slot = 5000;
    s.end_slot = HS_CHAN_ENDS_MAX;
    status[1] = hs_chan_recv(&r, &x, sizeof x, &len, HS_NOWAIT);
    status[2] = hs_chan_info_get(&r, &info[0]);
    status[3] = hs_chan_send(&s, &x, sizeof x);
    status[4] = hs_chan_stats_get(&s, &(hs_chan_stats){ 0 });
    s = s0;
    r = r0;
    EXPECT_ST(hs_chan_recv(&r, &x, sizeof x, &len, HS_NOWAIT), HS_OK);
    word[0] = x;
    EXPECT_ST(hs_chan_detach(&s), HS_OK);
    EXPECT_ST(hs_chan_detach(&r), HS_OK);
    return 0;
}

static void test_chan_bounds_come_from_the_kernel_not_the_handle(void **state)
{
    (void)state;
    run_main(handle_main);
    assert_int_equal(status[0], HS_EMSGSIZE);
    assert_seen_range(0, 4);
    for (int i = 1; i <= 4; i++)
        assert_int_equal(status[i], HS_EINVAL);
    assert_int_equal(word[0], 7);       /* still queued, then taken */
}

/* ---- 10. an end detached while another thread is in a call on it ------------------ */

static hs_chan dt_recv, dt_send;

/* Receives one message on dt_recv, waiting as long as it takes: the
 * status into status[i], the message into word[i]. */
static int dt_receiver(void *arg)
{
    uintptr_t i = (uintptr_t)arg;
    uint64_t x = 0xbad;
    size_t len;
    status[i] = hs_chan_recv(&dt_recv, &x, sizeof x, &len, HS_NEVER);
    word[i] = x;
    return 0;
}

/* Sends on dt_send until a send fails (the ring is full, so it sleeps
 * first): the status into status[i], how many went into word[i]. */
static int dt_sender(void *arg)
{
    uintptr_t i = (uintptr_t)arg;
    uint64_t x = 0;
    hs_status st;
    while ((st = hs_chan_send(&dt_send, &x, sizeof x)) == HS_OK)
        x++;
    status[i] = st;
    word[i] = x;
    return 0;
}

/* arg 0: the receiver (and a blocked sender) are asleep when their ends
 * are detached; arg 1: a message wakes the receiver, and its end is
 * detached before it runs again. */
static int dt_main(void *arg)
{
    uintptr_t woken = (uintptr_t)arg;
    hs_chan_attr a = attr(4, 8, HS_CHAN_SPSC, HS_CHAN_BLOCK, HS_NEVER);
    EXPECT_ST(hs_chan_create(&a, &chan_cap), HS_OK);
    EXPECT_ST(hs_chan_attach(chan_cap, HS_CHAN_RECEIVER, 0, &dt_recv), HS_OK);
    EXPECT_ST(hs_chan_attach(chan_cap, HS_CHAN_SENDER, 0, &dt_send), HS_OK);
    hs_tid_t t[2] = { 0, 0 };
    EXPECT_ST(hs_thread_create(dt_receiver, (void *)0, NULL, &t[0]), HS_OK);
    EXPECT_ST(hs_thread_sleep(HS_USEC), HS_OK);     /* it sleeps */
    if (woken) {
        uint64_t x = 41;
        EXPECT_ST(hs_chan_send(&dt_send, &x, sizeof x), HS_OK);
    }
    EXPECT_ST(hs_chan_detach(&dt_recv), HS_OK);
    EXPECT_ST(hs_thread_join(t[0], HS_NEVER, NULL), HS_OK);
    if (!woken) {
        /* A sender asleep on a full ring (its receiver gone: the channel
         * is closed, so a fresh one). */
        EXPECT_ST(hs_chan_detach(&dt_send), HS_OK);
        EXPECT_ST(hs_chan_destroy(chan_cap), HS_OK);
        EXPECT_ST(hs_chan_create(&a, &chan_cap), HS_OK);
        EXPECT_ST(hs_chan_attach(chan_cap, HS_CHAN_RECEIVER, 0, &dt_recv),
                  HS_OK);
        EXPECT_ST(hs_chan_attach(chan_cap, HS_CHAN_SENDER, 0, &dt_send),
                  HS_OK);
        EXPECT_ST(hs_thread_create(dt_sender, (void *)1, NULL, &t[1]),
                  HS_OK);
        EXPECT_ST(hs_thread_sleep(HS_USEC), HS_OK);
        EXPECT_ST(hs_chan_detach(&dt_send), HS_OK);
        EXPECT_ST(hs_thread_join(t[1], HS_NEVER, NULL), HS_OK);
        EXPECT_ST(hs_chan_info_get(&dt_recv, &info[0]), HS_OK);
        EXPECT_ST(hs_chan_detach(&dt_recv), HS_OK);
    } else {
        EXPECT_ST(hs_chan_detach(&dt_send), HS_OK);
    }
    return 0;
}

static void test_chan_detach_while_asleep_in_call_returns_eclosed(void **state)
{
    (void)state;
    hs_sim_config cfg = tu_config();
    run_arg(&cfg, dt_main, (void *)0);
    assert_int_equal(status[0], HS_ECLOSED);
    assert_int_equal(status[1], HS_ECLOSED);
    assert_int_equal(word[1], 4);               /* a ring's worth */
    assert_int_equal(info[0].queued, 4);        /* left where they were */
}

static void test_chan_detach_after_wake_before_recv_runs_returns_eclosed(
    void **state)
{
    (void)state;
    hs_sim_config cfg = tu_config();
    run_arg(&cfg, dt_main, (void *)1);
    assert_int_equal(status[0], HS_ECLOSED);
    /* Under any seed the receiver either took the message before the
     * detach or sees its end gone. */
    for (uint64_t seed = 1; seed <= 32; seed++) {
        cfg.seed = seed;
        run_arg(&cfg, dt_main, (void *)1);
        if (status[0] == HS_OK)
            assert_int_equal(word[0], 41);
        else
            assert_int_equal(status[0], HS_ECLOSED);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        TU_TEST(test_chan_million_messages_spsc_each_once_in_order),
        TU_TEST(test_chan_mpsc_producers_each_in_order_none_lost),
        TU_TEST(test_chan_mpsc_seeded_runs_repeat_exactly),
        TU_TEST(test_chan_overflow_drop_newest_keeps_the_first),
        TU_TEST(test_chan_overflow_drop_oldest_keeps_the_last),
        TU_TEST(test_chan_overflow_fail_refuses_with_efull),
        TU_TEST(test_chan_overflow_block_delivers_everything),
        TU_TEST(test_chan_overflow_block_times_out),
        TU_TEST(test_chan_revoke_mid_stream_stops_sender_loses_nothing),
        TU_TEST(test_chan_sender_exit_closes_after_drain),
        TU_TEST(test_chan_receiver_exit_wakes_blocked_sender),
        TU_TEST(test_chan_creator_exit_closes_for_peer),
        TU_TEST(test_chan_create_refuses_bad_attributes),
        TU_TEST(test_chan_bad_input_named_errors_nothing_lost),
        TU_TEST(test_chan_two_cpus_spsc_and_mpsc),
        TU_TEST(test_chan_two_cpus_mpsc_full_ring_sends_never_time_out),
        TU_TEST(test_chan_recv_refuses_corrupt_length),
        TU_TEST(test_chan_recv_refuses_corrupt_indices),
        TU_TEST(test_chan_bounds_come_from_the_kernel_not_the_handle),
        TU_TEST(test_chan_detach_while_asleep_in_call_returns_eclosed),
        TU_TEST(test_chan_detach_after_wake_before_recv_runs_returns_eclosed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
