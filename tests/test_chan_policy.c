/*
 * tests/test_chan_policy.c - channel policy: the rate limit in virtual
 * time, the size and type filters, the rights and sources checked at
 * attach (and re-checked by hs_chan_policy_set()), the audit log against
 * what was sent, statistics and latency histograms against what was sent
 * and received, the printed table, refused sends losing and
 * duplicating nothing under a seeded schedule, and an audit log in the
 * frames at physical address 0.
 *
 * Simulated threads record what they saw in the statics below (and check
 * statuses with EXPECT_ST); the test asserts after hs_sim_run().
 */
#include <unistd.h>

#include "testutil.h"

#define NREC 64
#define NPROD 2u

/* ---- what the simulated threads saw ------------------------------------------ */

static hs_status status[NREC];
static uint64_t word[NREC];
static hs_chan_meta meta[NREC];
static hs_chan_audit_rec audit[NREC];
static size_t naudit;
static hs_chan_stats stats[2];
static hs_pid_t pid[4];
static unsigned rights[4];
static uint64_t chan_id;

/* Values a receiver took, in order. */
static struct tu_log seen;

static hs_cap_t chan_cap;

static void reset(void)
{
    for (int i = 0; i < NREC; i++) {
        status[i] = HS_STATUS_COUNT;
        word[i] = 0xbad;
    }
    memset(meta, 0xa5, sizeof meta);
    memset(audit, 0xa5, sizeof audit);
    memset(stats, 0xa5, sizeof stats);
    memset(pid, 0, sizeof pid);
    memset(rights, 0, sizeof rights);
    naudit = 0;
    chan_id = 0;
    tu_log_reset(&seen);
    chan_cap = 0;
}

static void run_cfg(hs_sim_config *cfg, hs_entry_fn entry)
{
    reset();
    tu_run_one(cfg, "main", entry, NULL, NULL);
}

static void run_main(hs_entry_fn entry)
{
    hs_sim_config cfg = tu_config();
    run_cfg(&cfg, entry);
}

static hs_chan_attr attr(uint32_t slots, unsigned kind, unsigned overflow,
                         const hs_chan_policy *pol)
{
    return (hs_chan_attr){ .slots = slots, .msg_max = 32, .kind = kind,
                           .overflow = overflow, .timeout = HS_NEVER,
                           .policy = pol };
}

/* Spawn a child that gets a copy of cap (with rights) as its capability
 * 1. */
static hs_pid_t spawn_with(const char *name, hs_entry_fn entry, void *arg,
                           hs_cap_t cap, unsigned r)
{
    hs_cap_t d = 0;
    EXPECT_ST(hs_cap_derive(cap, r | HS_CAP_GRANT, 0, &d), HS_OK);
    hs_proc_attr a;
    memset(&a, 0, sizeof a);
    a.caps = &d;
    a.ncaps = 1;
    hs_pid_t p = 0;
    EXPECT_ST(hs_proc_spawn(name, entry, arg, &a, &p), HS_OK);
    return p;
}

/* Receive every queued message (8-byte words) into seen. */
static void drain(hs_chan *c)
{
    uint64_t x;
    size_t len;
    while (hs_chan_recv(c, &x, sizeof x, &len, HS_NOWAIT) == HS_OK)
        tu_log_add(&seen, (int)x);
}

/* ---- 1. the rate limit, in virtual time ---------------------------------------- */

/* 10 tokens a virtual second (one every 100 ms), a bucket of 3. */
static int rate_main(void *arg)
{
    (void)arg;
    hs_chan_policy pol = { .flags = HS_CHAN_POL_RATE | HS_CHAN_POL_STATS,
                           .rate = 10, .burst = 3 };
    hs_chan_attr a = attr(16, HS_CHAN_SPSC, HS_CHAN_FAIL, &pol);
    EXPECT_ST(hs_chan_create(&a, &chan_cap), HS_OK);
    hs_chan s, r;
    EXPECT_ST(hs_chan_attach(chan_cap, HS_CHAN_SENDER, 0, &s), HS_OK);
    EXPECT_ST(hs_chan_attach(chan_cap, HS_CHAN_RECEIVER, 0, &r), HS_OK);
    uint64_t x = 0;
    unsigned n = 0;
    for (int i = 0; i < 5; i++, x++)            /* t = 0: 3 of 5 */
        status[n++] = hs_chan_send(&s, &x, sizeof x);
    EXPECT_ST(hs_thread_sleep(100 * HS_MSEC), HS_OK);
    for (int i = 0; i < 2; i++, x++)            /* t = 100 ms: 1 of 2 */
        status[n++] = hs_chan_send(&s, &x, sizeof x);
    EXPECT_ST(hs_thread_sleep(250 * HS_MSEC), HS_OK);
    for (int i = 0; i < 3; i++, x++)            /* t = 350 ms: 2 of 3 */
        status[n++] = hs_chan_send(&s, &x, sizeof x);
    EXPECT_ST(hs_thread_sleep(HS_SEC), HS_OK);  /* full again: 3 */
    uint64_t v[5] = { 100, 101, 102, 103, 104 };
    hs_chan_msg m[5];
    for (int i = 0; i < 5; i++)
        m[i] = (hs_chan_msg){ .data = &v[i], .len = sizeof v[i] };
    size_t sent = 99;
    status[n++] = hs_chan_send_batch(&s, m, 5, &sent);
    word[0] = sent;
    drain(&r);
    EXPECT_ST(hs_chan_stats_get(&r, &stats[0]), HS_OK);
    return 0;
}

static void test_chan_policy_rate_limit_in_virtual_time(void **state)
{
    (void)state;
    run_main(rate_main);
    static const hs_status want[] = {
        HS_OK, HS_OK, HS_OK, HS_ERATE, HS_ERATE,    /* t = 0 */
        HS_OK, HS_ERATE,                            /* t = 100 ms */
        HS_OK, HS_OK, HS_ERATE,                     /* t = 350 ms */
        HS_ERATE,                                   /* the batch */
    };
    for (unsigned i = 0; i < sizeof want / sizeof want[0]; i++)
        assert_int_equal(status[i], want[i]);
    assert_int_equal(word[0], 3);
    /* Exactly the accepted messages, once each, in order. */
    static const int got[] = { 0, 1, 2, 5, 7, 8, 100, 101, 102 };
    assert_log(&seen, got, 9);
    assert_int_equal(stats[0].sent, 9);
    assert_int_equal(stats[0].received, 9);
    assert_int_equal(stats[0].refused_rate, 2 + 1 + 1 + 2);
}

/* ---- 2. size and type filters ------------------------------------------------------- */

static int filter_main(void *arg)
{
    (void)arg;
    hs_chan_policy pol = {
        .flags = HS_CHAN_POL_SIZE | HS_CHAN_POL_TYPES | HS_CHAN_POL_STATS,
        .size_max = 8, .types = (1u << 1) | (1u << 5),
    };
    hs_chan_attr a = attr(16, HS_CHAN_SPSC, HS_CHAN_FAIL, &pol);
    EXPECT_ST(hs_chan_create(&a, &chan_cap), HS_OK);
    hs_chan s, r;
    EXPECT_ST(hs_chan_attach(chan_cap, HS_CHAN_SENDER, 0, &s), HS_OK);
    EXPECT_ST(hs_chan_attach(chan_cap, HS_CHAN_RECEIVER, 0, &r), HS_OK);
    unsigned char b[32] = { 7 };
    uint64_t x = 11;
    status[0] = hs_chan_send_typed(&s, 1, &x, 8);
    status[1] = hs_chan_send_typed(&s, 1, b, 9);        /* over size_max */
    status[2] = hs_chan_send_typed(&s, 2, &x, 8);       /* not allowed */
    status[3] = hs_chan_send_typed(&s, 64, &x, 8);      /* never allowed */
    status[4] = hs_chan_send(&s, &x, 8);                /* type 0 */
    x = 12;
    status[5] = hs_chan_send_typed(&s, 5, &x, 8);
    /* A batch with one bad message sends none of it. */
    uint64_t v[3] = { 20, 21, 22 };
    hs_chan_msg m[3] = {
        { .data = &v[0], .len = 8, .type = 1 },
        { .data = &v[1], .len = 8, .type = 3 },
        { .data = &v[2], .len = 8, .type = 1 },
    };
    size_t sent = 99;
    status[6] = hs_chan_send_batch(&s, m, 3, &sent);
    word[0] = sent;
    m[1].type = 5;
    m[1].len = 16;
    status[7] = hs_chan_send_batch(&s, m, 3, &sent);
    word[1] = sent;
    for (int i = 0; i < 3; i++) {
        size_t len = 0;
        status[8 + i] = hs_chan_recv_ex(&r, &x, sizeof x, &len, &meta[i],
                                        HS_NOWAIT);
        word[2 + i] = x;
    }
    pid[0] = hs_proc_self();
    EXPECT_ST(hs_chan_stats_get(&r, &stats[0]), HS_OK);
    return 0;
}

static void test_chan_policy_size_and_type_filters(void **state)
{
    (void)state;
    run_main(filter_main);
    assert_int_equal(status[0], HS_OK);
    assert_int_equal(status[1], HS_EMSGSIZE);
    assert_int_equal(status[2], HS_EFILTER);
    assert_int_equal(status[3], HS_EFILTER);
    assert_int_equal(status[4], HS_EFILTER);
    assert_int_equal(status[5], HS_OK);
    assert_int_equal(status[6], HS_EFILTER);
    assert_int_equal(word[0], 0);
    assert_int_equal(status[7], HS_EMSGSIZE);
    assert_int_equal(word[1], 0);
    /* The two accepted, with their types and source; then nothing. */
    assert_int_equal(status[8], HS_OK);
    assert_int_equal(word[2], 11);
    assert_int_equal(meta[0].type, 1);
    assert_int_equal(meta[0].src, pid[0]);
    assert_int_equal(status[9], HS_OK);
    assert_int_equal(word[3], 12);
    assert_int_equal(meta[1].type, 5);
    assert_int_equal(meta[1].src, pid[0]);
    assert_int_equal(status[10], HS_ETIMEOUT);
    assert_int_equal(stats[0].sent, 2);
    assert_int_equal(stats[0].refused_size, 1 + 3);
    assert_int_equal(stats[0].refused_type, 3 + 3);
}

/* ---- 3. rights and sources, at attach ---------------------------------------------- */

static int src_sender(void *arg)
{
    unsigned i = (unsigned)(uintptr_t)arg;
    EXPECT_ST(hs_thread_sleep(HS_MSEC), HS_OK);     /* the policy is set */
    hs_chan c;
    status[i] = hs_chan_attach(1, HS_CHAN_SENDER, 0, &c);
    if (status[i] != HS_OK)
        return 0;
    status[10] = hs_chan_policy_set(1, NULL);       /* not the creator */
    size_t n;
    status[11] = hs_chan_audit_read(1, audit, 1, &n);
    uint64_t x = 42;
    status[12] = hs_chan_send(&c, &x, sizeof x);
    EXPECT_ST(hs_thread_sleep(10 * HS_MSEC), HS_OK);    /* now refused */
    status[13] = hs_chan_send(&c, &x, sizeof x);
    (void)hs_chan_detach(&c);
    return 0;
}

static int src_main(void *arg)
{
    (void)arg;
    hs_chan_attr a = attr(16, HS_CHAN_MPSC, HS_CHAN_FAIL, NULL);
    EXPECT_ST(hs_chan_create(&a, &chan_cap), HS_OK);
    unsigned both = HS_CAP_SEND | HS_CAP_SHARE;
    pid[0] = spawn_with("a", src_sender, (void *)0, chan_cap, both);
    pid[1] = spawn_with("b", src_sender, (void *)1, chan_cap, both);
    pid[2] = spawn_with("c", src_sender, (void *)2, chan_cap, HS_CAP_SEND);
    hs_chan_policy pol = { .flags = HS_CHAN_POL_RIGHTS | HS_CHAN_POL_SOURCES,
                           .rights = HS_CAP_SHARE, .nsources = 2,
                           .sources = { pid[0], pid[2] } };
    EXPECT_ST(hs_chan_policy_set(chan_cap, &pol), HS_OK);
    hs_chan r;
    EXPECT_ST(hs_chan_attach(chan_cap, HS_CHAN_RECEIVER, 0, &r), HS_OK);
    EXPECT_ST(hs_thread_sleep(5 * HS_MSEC), HS_OK);
    /* a alone may send; now c alone would: a's end is revoked. */
    pol.sources[0] = pid[2];
    pol.nsources = 1;
    EXPECT_ST(hs_chan_policy_set(chan_cap, &pol), HS_OK);
    uint64_t x = 0;
    size_t len;
    status[20] = hs_chan_recv(&r, &x, sizeof x, &len, HS_NEVER);
    word[0] = x;
    status[21] = hs_chan_recv(&r, &x, sizeof x, &len, HS_NEVER);
    return 0;
}

static void test_chan_policy_rights_and_sources_checked_at_attach(void **state)
{
    (void)state;
    run_main(src_main);
    assert_int_equal(status[0], HS_OK);     /* listed, with the right */
    assert_int_equal(status[1], HS_EPERM);  /* not listed */
    assert_int_equal(status[2], HS_EPERM);  /* listed, no HS_CAP_SHARE */
    assert_int_equal(status[10], HS_EPERM);
    assert_int_equal(status[11], HS_EPERM);
    assert_int_equal(status[12], HS_OK);
    assert_int_equal(status[13], HS_EBADCAP);
    /* What a sent before the revocation arrives, then the channel is
     * closed: its last sender went. */
    assert_int_equal(status[20], HS_OK);
    assert_int_equal(word[0], 42);
    assert_int_equal(status[21], HS_ECLOSED);
}

/* Bad policies are refused whole, at creation and later. */
static int bad_policy_main(void *arg)
{
    (void)arg;
    hs_chan_policy bad[] = {
        { .flags = 0x80 },
        { .flags = HS_CHAN_POL_RATE, .rate = 0, .burst = 1 },
        { .flags = HS_CHAN_POL_RATE, .rate = HS_CHAN_RATE_MAX + 1,
          .burst = 1 },
        { .flags = HS_CHAN_POL_RATE, .rate = 1, .burst = 0 },
        { .flags = HS_CHAN_POL_SIZE, .size_max = 0 },
        { .flags = HS_CHAN_POL_SIZE, .size_max = 33 },
        { .flags = HS_CHAN_POL_RIGHTS, .rights = 0x10 },
        { .flags = HS_CHAN_POL_SOURCES, .nsources = 0 },
        { .flags = HS_CHAN_POL_SOURCES, .nsources = HS_CHAN_SOURCES_MAX + 1 },
    };
    hs_cap_t cap;
    unsigned n = sizeof bad / sizeof bad[0];
    for (unsigned i = 0; i < n; i++) {
        hs_chan_attr a = attr(4, HS_CHAN_SPSC, HS_CHAN_FAIL, &bad[i]);
        status[i] = hs_chan_create(&a, &cap);
    }
    hs_chan_attr a = attr(4, HS_CHAN_SPSC, HS_CHAN_FAIL, NULL);
    EXPECT_ST(hs_chan_create(&a, &chan_cap), HS_OK);
    for (unsigned i = 0; i < n; i++)
        status[20 + i] = hs_chan_policy_set(chan_cap, &bad[i]);
    size_t got = 0;
    status[40] = hs_chan_audit_read(chan_cap, audit, 4, &got);
    status[41] = hs_chan_audit_read(chan_cap, NULL, 4, &got);
    /* Without HS_CHAN_POL_STATS only the slow-path counters count. */
    hs_chan s, r;
    EXPECT_ST(hs_chan_attach(chan_cap, HS_CHAN_SENDER, 0, &s), HS_OK);
    EXPECT_ST(hs_chan_attach(chan_cap, HS_CHAN_RECEIVER, 0, &r), HS_OK);
    uint64_t x = 1;
    EXPECT_ST(hs_chan_send(&s, &x, sizeof x), HS_OK);
    drain(&r);
    EXPECT_ST(hs_chan_stats_get(&s, &stats[0]), HS_OK);
    status[42] = hs_chan_stats_get(NULL, &stats[1]);
    return 0;
}

static void test_chan_policy_bad_policies_refused(void **state)
{
    (void)state;
    run_main(bad_policy_main);
    for (unsigned i = 0; i < 9; i++) {
        assert_int_equal(status[i], HS_EINVAL);
        assert_int_equal(status[20 + i], HS_EINVAL);
    }
    assert_int_equal(status[40], HS_ENOENT);
    assert_int_equal(status[41], HS_EINVAL);
    assert_int_equal(status[42], HS_EINVAL);
    assert_int_equal(stats[0].sent, 0);
    assert_int_equal(stats[0].received, 0);
    assert_int_equal(stats[0].empty_waits, 0);
    assert_int_equal(stats[0].lat_virt[0], 0);
    assert_int_equal(tu_log_len(&seen), 1);
}

/* ---- 4. the audit log ---------------------------------------------------------------- */

#define AUDIT_EACH 5u

/* Producer i (1 or 2): AUDIT_EACH messages of type 10 + i, one every
 * 10 ms, producer 2 5 ms after producer 1. */
static int audit_sender(void *arg)
{
    unsigned i = (unsigned)(uintptr_t)arg;
    hs_cap_info ci;
    EXPECT_ST(hs_cap_info_get(1, &ci), HS_OK);
    rights[i] = ci.rights;
    hs_chan c;
    if (EXPECT_ST(hs_chan_attach(1, HS_CHAN_SENDER, 0, &c), HS_OK))
        return 1;
    EXPECT_ST(hs_thread_sleep(i == 1 ? 10 * HS_MSEC : 15 * HS_MSEC), HS_OK);
    for (uint64_t k = 0; k < AUDIT_EACH; k++) {
        uint64_t x = i * 100 + k;
        EXPECT_ST(hs_chan_send_typed(&c, 10 + i, &x, sizeof x), HS_OK);
        EXPECT_ST(hs_thread_sleep(10 * HS_MSEC), HS_OK);
    }
    EXPECT_ST(hs_chan_detach(&c), HS_OK);
    return 0;
}

static int audit_main(void *arg)
{
    (void)arg;
    hs_chan_policy pol = { .flags = HS_CHAN_POL_AUDIT | HS_CHAN_POL_STATS };
    hs_chan_attr a = attr(16, HS_CHAN_MPSC, HS_CHAN_FAIL, &pol);
    EXPECT_ST(hs_chan_create(&a, &chan_cap), HS_OK);
    hs_chan r;
    EXPECT_ST(hs_chan_attach(chan_cap, HS_CHAN_RECEIVER, 0, &r), HS_OK);
    chan_id = r.id;
    pid[1] = spawn_with("p1", audit_sender, (void *)1, chan_cap,
                        HS_CAP_SEND);
    pid[2] = spawn_with("p2", audit_sender, (void *)2, chan_cap,
                        HS_CAP_SEND | HS_CAP_SHARE);
    for (unsigned i = 0; i < 2 * AUDIT_EACH; i++) {
        uint64_t x;
        size_t len;
        status[i] = hs_chan_recv_ex(&r, &x, sizeof x, &len, &meta[i],
                                    HS_NEVER);
        word[i] = x;
    }
    status[20] = hs_chan_recv(&r, &word[20], 8, &(size_t){ 0 }, HS_NEVER);
    /* Read back in two parts, then nothing is left. */
    size_t n1 = 0, n2 = 0, n3 = 9;
    EXPECT_ST(hs_chan_audit_read(chan_cap, audit, 4, &n1), HS_OK);
    EXPECT_ST(hs_chan_audit_read(chan_cap, audit + n1, NREC - n1, &n2),
              HS_OK);
    EXPECT_ST(hs_chan_audit_read(chan_cap, audit, NREC, &n3), HS_OK);
    naudit = n1 + n2;
    word[30] = n1;
    word[31] = n3;
    EXPECT_ST(hs_chan_stats_get(&r, &stats[0]), HS_OK);
    return 0;
}

static void test_chan_policy_audit_records_match_what_was_sent(void **state)
{
    (void)state;
    run_main(audit_main);
    assert_int_equal(status[20], HS_ECLOSED);
    assert_int_equal(word[30], 4);
    assert_int_equal(word[31], 0);
    assert_int_equal(naudit, 2 * AUDIT_EACH);
    for (unsigned i = 0; i < 2 * AUDIT_EACH; i++) {
        /* Producer 1 at 10, 20, ... ms; producer 2 at 15, 25, ... ms. */
        unsigned p = 1 + i % 2;
        uint64_t k = i / 2;
        hs_time_t t = (p == 1 ? 10 : 15) * HS_MSEC + k * 10 * HS_MSEC;
        assert_int_equal(status[i], HS_OK);
        assert_int_equal(word[i], p * 100 + k);
        assert_int_equal(meta[i].type, 10 + p);
        assert_int_equal(meta[i].src, pid[p]);
        assert_int_equal(meta[i].sent_ns, t);
        assert_int_equal(audit[i].seq, i);
        assert_int_equal(audit[i].time, t);
        assert_int_equal(audit[i].chan, chan_id);
        assert_int_equal(audit[i].pos, i);
        assert_int_equal(audit[i].src, pid[p]);
        assert_int_equal(audit[i].type, 10 + p);
        assert_int_equal(audit[i].len, 8);
        assert_int_equal(audit[i].rights, rights[p]);
    }
    assert_int_equal(rights[1], HS_CAP_SEND | HS_CAP_GRANT);
    assert_int_equal(rights[2], HS_CAP_SEND | HS_CAP_SHARE | HS_CAP_GRANT);
    assert_int_equal(stats[0].sent, 2 * AUDIT_EACH);
    assert_int_equal(stats[0].received, 2 * AUDIT_EACH);
    /* The receiver waited for each message, which it took at once, and
     * once more for the close. */
    assert_int_equal(stats[0].empty_waits, 2 * AUDIT_EACH + 1);
    assert_int_equal(stats[0].lat_virt[0], 2 * AUDIT_EACH);
}

/* ---- 5. statistics and histograms ---------------------------------------------------- */

#define ST_SLOTS 4u

/* Phase 1: six messages one at a time, each after 1 ms, to a receiver
 * already waiting (six empty waits, latency 0).  Phase 2: six at once
 * into four slots (one full wait), taken 10 ms later in two batches
 * (latency 10 ms each). */
static int st_sender(void *arg)
{
    (void)arg;
    hs_chan c;
    if (EXPECT_ST(hs_chan_attach(1, HS_CHAN_SENDER, 0, &c), HS_OK))
        return 1;
    unsigned char b[32];
    memset(b, 0x5a, sizeof b);
    for (size_t i = 0; i < 6; i++) {
        EXPECT_ST(hs_thread_sleep(HS_MSEC), HS_OK);
        EXPECT_ST(hs_chan_send(&c, b, i + 1), HS_OK);
    }
    EXPECT_ST(hs_thread_sleep(HS_MSEC), HS_OK);
    for (size_t i = 0; i < 6; i++)
        EXPECT_ST(hs_chan_send(&c, b, 10 + i), HS_OK);
    EXPECT_ST(hs_chan_detach(&c), HS_OK);
    return 0;
}

static int st_main(void *arg)
{
    (void)arg;
    hs_chan_policy pol = { .flags = HS_CHAN_POL_STATS };
    hs_chan_attr a = attr(ST_SLOTS, HS_CHAN_SPSC, HS_CHAN_BLOCK, &pol);
    EXPECT_ST(hs_chan_create(&a, &chan_cap), HS_OK);
    hs_chan r;
    EXPECT_ST(hs_chan_attach(chan_cap, HS_CHAN_RECEIVER, 0, &r), HS_OK);
    spawn_with("sender", st_sender, NULL, chan_cap, HS_CAP_SEND);
    unsigned char b[4][32];
    size_t len;
    for (int i = 0; i < 6; i++)
        EXPECT_ST(hs_chan_recv(&r, b[0], sizeof b[0], &len, HS_NEVER), HS_OK);
    for (int round = 0; round < 2; round++) {
        EXPECT_ST(hs_thread_sleep(10 * HS_MSEC), HS_OK);
        hs_chan_msg m[4];
        for (int i = 0; i < 4; i++)
            m[i] = (hs_chan_msg){ .data = b[i], .len = sizeof b[i] };
        size_t got = 0;
        EXPECT_ST(hs_chan_recv_batch(&r, m, 4, &got, HS_NOWAIT), HS_OK);
        word[round] = got;
    }
    EXPECT_ST(hs_chan_stats_get(&r, &stats[0]), HS_OK);
    status[0] = hs_chan_recv(&r, b[0], sizeof b[0], &len, HS_NEVER);

    /* A second channel drops what does not fit. */
    hs_chan_attr d = attr(2, HS_CHAN_SPSC, HS_CHAN_DROP_NEWEST, &pol);
    hs_cap_t cap2;
    EXPECT_ST(hs_chan_create(&d, &cap2), HS_OK);
    hs_chan s2, r2;
    EXPECT_ST(hs_chan_attach(cap2, HS_CHAN_SENDER, 0, &s2), HS_OK);
    EXPECT_ST(hs_chan_attach(cap2, HS_CHAN_RECEIVER, 0, &r2), HS_OK);
    for (uint64_t i = 0; i < 5; i++)
        EXPECT_ST(hs_chan_send(&s2, &i, sizeof i), HS_OK);
    drain(&r2);
    EXPECT_ST(hs_chan_stats_get(&s2, &stats[1]), HS_OK);
    return 0;
}

static uint64_t hist_sum(const uint64_t *h)
{
    uint64_t n = 0;
    for (unsigned i = 0; i < HS_CHAN_HIST_BUCKETS; i++)
        n += h[i];
    return n;
}

static void test_chan_policy_stats_and_histograms_match(void **state)
{
    (void)state;
    run_main(st_main);
    const hs_chan_stats *s = &stats[0];
    uint64_t bytes = (1 + 2 + 3 + 4 + 5 + 6) + (10 + 11 + 12 + 13 + 14 + 15);
    assert_int_equal(word[0], 4);
    assert_int_equal(word[1], 2);
    assert_int_equal(status[0], HS_ECLOSED);
    assert_int_equal(s->sent, 12);
    assert_int_equal(s->sent_bytes, bytes);
    assert_int_equal(s->received, 12);
    assert_int_equal(s->received_bytes, bytes);
    assert_int_equal(s->dropped, 0);
    assert_int_equal(s->refused_rate + s->refused_size + s->refused_type, 0);
    assert_int_equal(s->empty_waits, 6);
    assert_int_equal(s->full_waits, 1);
    /* 10 ms = 10,000,000 ns lies in [2^23, 2^24): bucket 24. */
    assert_int_equal(s->lat_virt[0], 6);
    assert_int_equal(s->lat_virt[24], 6);
    assert_int_equal(hist_sum(s->lat_virt), 12);
    assert_int_equal(hist_sum(s->lat_host), 12);

    assert_int_equal(stats[1].sent, 2);
    assert_int_equal(stats[1].dropped, 3);
    assert_int_equal(stats[1].received, 2);
    static const int got[] = { 0, 1 };
    assert_log(&seen, got, 2);
}

/* What hs_chan_stats_print(title, s) writes, into buf. */
static void capture_print(const char *title, const hs_chan_stats *s,
                          char *buf, size_t len)
{
    FILE *f = tmpfile();
    assert_non_null(f);
    fflush(stderr);
    int saved = dup(2);
    assert_true(saved >= 0);
    assert_true(dup2(fileno(f), 2) >= 0);
    hs_chan_stats_print(title, s);
    fflush(stderr);
    assert_true(dup2(saved, 2) >= 0);
    close(saved);
    rewind(f);
    size_t n = fread(buf, 1, len - 1, f);
    buf[n] = 0;
    fclose(f);
}

static void test_chan_policy_stats_table_printed(void **state)
{
    (void)state;
    hs_chan_stats s;
    memset(&s, 0, sizeof s);
    s.sent = 12;
    s.sent_bytes = 96;
    s.received = 10;
    s.received_bytes = 80;
    s.dropped = 2;
    s.refused_rate = 3;
    s.refused_size = 4;
    s.refused_type = 5;
    s.full_waits = 6;
    s.empty_waits = 7;
    s.lat_virt[0] = 9;
    s.lat_virt[24] = 1;
    s.lat_host[11] = 10;
    char buf[4096];
    capture_print("chan 1", &s, buf, sizeof buf);
    assert_string_equal(buf,
        "chan 1\n"
        "  sent                 12    sent bytes           96\n"
        "  received             10    received bytes       80\n"
        "  dropped               2    refused rate          3\n"
        "  refused size          4    refused type          5\n"
        "  full waits            6    empty waits           7\n"
        "  latency >= ns   virtual         host\n"
        "               0        9            0\n"
        "            1024        0           10\n"
        "         8388608        1            0\n");
    capture_print(NULL, NULL, buf, sizeof buf);
    assert_string_equal(buf, "");
}

/* ---- 6. refused sends lose nothing, under a seed ----------------------------------- */

#define MIX_EACH 60u

/* Producer i sends MIX_EACH good messages {i, seq} of type 1; before
 * every third (each try of it) it tries one of a filtered type and one
 * too long, and it retries after 20 ms when the rate limit refuses.
 * word[i]: refused by the rate limit; word[2 + i]: tries of each bad
 * kind. */
static int mix_sender(void *arg)
{
    unsigned i = (unsigned)(uintptr_t)arg;
    hs_chan c;
    if (EXPECT_ST(hs_chan_attach(1, HS_CHAN_SENDER, 0, &c), HS_OK))
        return 1;
    uint64_t refused = 0, bad = 0;
    unsigned char big[32] = { 0 };
    for (uint64_t k = 0; k < MIX_EACH;) {
        uint64_t x[2] = { i, k };
        if (k % 3 == 0) {
            EXPECT_ST(hs_chan_send_typed(&c, 2, x, sizeof x), HS_EFILTER);
            EXPECT_ST(hs_chan_send_typed(&c, 1, big, sizeof big),
                      HS_EMSGSIZE);
            bad++;
        }
        hs_status st = hs_chan_send_typed(&c, 1, x, sizeof x);
        if (st == HS_ERATE) {
            refused++;
            EXPECT_ST(hs_thread_sleep(20 * HS_MSEC), HS_OK);
            continue;
        }
        if (EXPECT_ST(st, HS_OK))
            break;
        k++;
    }
    word[i] = refused;
    word[2 + i] = bad;
    EXPECT_ST(hs_chan_detach(&c), HS_OK);
    return 0;
}

static int mix_main(void *arg)
{
    (void)arg;
    hs_chan_policy pol = {
        .flags = HS_CHAN_POL_RATE | HS_CHAN_POL_SIZE | HS_CHAN_POL_TYPES |
                 HS_CHAN_POL_STATS | HS_CHAN_POL_AUDIT,
        .rate = 100, .burst = 4, .size_max = 16, .types = 1u << 1,
    };
    hs_chan_attr a = attr(64, HS_CHAN_MPSC, HS_CHAN_BLOCK, &pol);
    EXPECT_ST(hs_chan_create(&a, &chan_cap), HS_OK);
    hs_chan r;
    EXPECT_ST(hs_chan_attach(chan_cap, HS_CHAN_RECEIVER, 0, &r), HS_OK);
    for (unsigned i = 0; i < NPROD; i++)
        spawn_with("producer", mix_sender, (void *)(uintptr_t)i, chan_cap,
                   HS_CAP_SEND);
    uint64_t next[NPROD] = { 0 };
    uint64_t x[2];
    word[10] = word[11] = 0;
    size_t len;
    hs_status st;
    while ((st = hs_chan_recv(&r, x, sizeof x, &len, HS_NEVER)) == HS_OK) {
        if (x[0] >= NPROD || x[1] != next[x[0]] || len != sizeof x)
            word[10]++;                         /* out of place */
        else
            next[x[0]]++;
        word[11]++;
    }
    status[0] = st;
    word[12] = next[0];
    word[13] = next[1];
    EXPECT_ST(hs_chan_stats_get(&r, &stats[0]), HS_OK);
    EXPECT_ST(hs_chan_audit_read(chan_cap, audit, NREC, &naudit), HS_OK);
    return 0;
}

static void assert_mix(void)
{
    assert_int_equal(status[0], HS_ECLOSED);
    assert_int_equal(word[10], 0);
    assert_int_equal(word[11], NPROD * MIX_EACH);
    assert_int_equal(word[12], MIX_EACH);
    assert_int_equal(word[13], MIX_EACH);
    /* 100 a second, 4 at first, and the two producers want 120. */
    assert_true(word[0] + word[1] > 0);
    assert_int_equal(stats[0].sent, NPROD * MIX_EACH);
    assert_int_equal(stats[0].received, NPROD * MIX_EACH);
    assert_int_equal(stats[0].refused_rate, word[0] + word[1]);
    assert_true(word[2] >= MIX_EACH / 3 && word[3] >= MIX_EACH / 3);
    assert_int_equal(stats[0].refused_type, word[2] + word[3]);
    assert_int_equal(stats[0].refused_size, word[2] + word[3]);
    assert_int_equal(hist_sum(stats[0].lat_virt), NPROD * MIX_EACH);
    assert_int_equal(hist_sum(stats[0].lat_host), NPROD * MIX_EACH);
    /* The log kept every message (fewer than HS_CHAN_AUDIT_LEN); the
     * first NREC read back in ring order. */
    assert_int_equal(naudit, NREC);
    for (unsigned i = 0; i < NREC; i++) {
        assert_int_equal(audit[i].seq, i);
        assert_int_equal(audit[i].pos, i);
        assert_int_equal(audit[i].type, 1);
        assert_int_equal(audit[i].len, 16);
    }
}

static void test_chan_policy_refusals_lose_nothing_seeded(void **state)
{
    (void)state;
    hs_sim_config cfg = tu_config();
    cfg.seed = 11;
    run_cfg(&cfg, mix_main);
    assert_mix();
    hs_sim_summary first = tu_summary();
    uint64_t refused[2] = { word[0], word[1] };
    run_cfg(&cfg, mix_main);
    assert_mix();
    hs_sim_summary again = tu_summary();
    assert_int_equal(first.hash, again.hash);
    assert_int_equal(first.events, again.events);
    assert_int_equal(first.vtime, again.vtime);
    assert_int_equal(refused[0], word[0]);
    assert_int_equal(refused[1], word[1]);
}

/* ---- 7. an audit log at physical address 0 ------------------------------------------ */

#define LOW_VA    0x30000000u
#define LOW_PAGES 16u           /* 64 KiB: the size of an audit log */

/*
 * The frame allocator hands out the lowest free block of the smallest
 * size that has one.  The process takes the first 64 KiB of the pool,
 * creates a channel (whose frames come from above them), and gives the
 * 64 KiB back: the next 64 KiB block, the audit log's, is at physical
 * address 0.  arg 0: the log comes with hs_chan_create(); arg 1: with
 * hs_chan_policy_set() on a channel created without one.
 */
static int low_audit_main(void *arg)
{
    uintptr_t later = (uintptr_t)arg;
    uint64_t len = LOW_PAGES * HS_PAGE_4K;
    hs_mem_info mi;
    hs_cap_t other;
    EXPECT_ST(hs_mem_map(LOW_VA, len, HS_PROT_READ | HS_PROT_WRITE,
                         HS_PAGE_4K), HS_OK);
    EXPECT_ST(hs_mem_query(0, LOW_VA, &mi), HS_OK);
    word[0] = mi.pa;
    hs_chan_attr a = attr(16, HS_CHAN_SPSC, HS_CHAN_FAIL, NULL);
    EXPECT_ST(hs_chan_create(&a, &other), HS_OK);
    EXPECT_ST(hs_mem_unmap(LOW_VA, len), HS_OK);
    hs_chan_policy pol = { .flags = HS_CHAN_POL_AUDIT };
    a.policy = later ? NULL : &pol;
    EXPECT_ST(hs_chan_create(&a, &chan_cap), HS_OK);
    if (later)
        EXPECT_ST(hs_chan_policy_set(chan_cap, &pol), HS_OK);
    hs_chan s, r;
    EXPECT_ST(hs_chan_attach(chan_cap, HS_CHAN_SENDER, 0, &s), HS_OK);
    EXPECT_ST(hs_chan_attach(chan_cap, HS_CHAN_RECEIVER, 0, &r), HS_OK);
    for (uint64_t x = 0; x < 3; x++)
        EXPECT_ST(hs_chan_send_typed(&s, 20 + (uint32_t)x, &x, sizeof x),
                  HS_OK);
    status[0] = hs_chan_audit_read(chan_cap, audit, NREC, &naudit);
    drain(&r);
    EXPECT_ST(hs_chan_detach(&s), HS_OK);
    EXPECT_ST(hs_chan_detach(&r), HS_OK);
    EXPECT_ST(hs_chan_destroy(chan_cap), HS_OK);
    EXPECT_ST(hs_chan_destroy(other), HS_OK);
    return 0;
}

static void test_chan_policy_audit_log_at_physical_address_zero(void **state)
{
    (void)state;
    for (uintptr_t later = 0; later < 2; later++) {
        reset();
        hs_sim_config cfg = tu_config();
        hs_status st = tu_run(&cfg, "main", low_audit_main, (void *)later,
                              NULL);
        if (st != HS_OK)
            fprintf(stderr, "%s\n", hs_sim_report());
        assert_int_equal(st, HS_OK);            /* nothing leaked */
        assert_no_bad_status();
        assert_int_equal(word[0], 0);           /* the 64 KiB at 0 */
        assert_int_equal(status[0], HS_OK);
        assert_int_equal(naudit, 3);
        for (unsigned i = 0; i < 3; i++) {
            assert_int_equal(audit[i].seq, i);
            assert_int_equal(audit[i].pos, i);
            assert_int_equal(audit[i].type, 20 + i);
            assert_int_equal(audit[i].len, 8);
        }
        assert_int_equal(tu_log_len(&seen), 3);
        hs_mem_stats ms;
        assert_int_equal(hs_mem_stats_get(&ms), HS_OK);
        assert_int_equal(ms.free, ms.pool);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        TU_TEST(test_chan_policy_rate_limit_in_virtual_time),
        TU_TEST(test_chan_policy_size_and_type_filters),
        TU_TEST(test_chan_policy_rights_and_sources_checked_at_attach),
        TU_TEST(test_chan_policy_bad_policies_refused),
        TU_TEST(test_chan_policy_audit_records_match_what_was_sent),
        TU_TEST(test_chan_policy_stats_and_histograms_match),
        TU_TEST(test_chan_policy_stats_table_printed),
        TU_TEST(test_chan_policy_refusals_lose_nothing_seeded),
        TU_TEST(test_chan_policy_audit_log_at_physical_address_zero),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
