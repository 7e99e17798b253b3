/*
 * tests/test_pubsub.c - the publish/subscribe broker of the gallery
 * (examples/pubsub/): two subjects, each subscriber receiving every
 * message of its own subject in order, unseeded and under seeds; the
 * rights the broker hands out and no more; the protocol's errors.
 *
 * Subscribers and publishers are processes of their own (a process
 * subscribes to a topic at most once), each with its own capability to
 * the broker's gate: publishers labelled 1 ("temp") and 2 ("wind"),
 * subscribers 3, 4, ...  Simulated threads only record; the test asserts
 * after the run.
 */
#include <stdint.h>

#include "examples/pubsub/pubsub.h"
#include "testutil.h"

#define NSUBJ 2
#define NSUBS 4                 /* subscriber i takes subject i % 2 */
#define NMSGS 10
#define WAIT (10 * HS_MSEC)
#define NREC 24

static const struct pubsub_subject subjects[NSUBJ] = {
    { .name = "temp", .publisher = 1 },
    { .name = "wind", .publisher = 2 },
};

static struct tu_log seqs[NSUBS];       /* sequence numbers received */
static int crossed[NSUBS];              /* messages of the other subject */
static hs_status end_of[NSUBS];         /* how each subscriber ended */
static hs_status pub_st[NSUBJ];
static uint32_t delivered_min[NSUBJ];   /* fewest rings a publish reached */
static hs_topic_pub pub[NSUBJ];         /* large: not on a simulated stack */
static hs_cap_t gate_cap;
static hs_status status[NREC];
static uint64_t word[NREC];

static void reset(void)
{
    for (int i = 0; i < NSUBS; i++) {
        tu_log_reset(&seqs[i]);
        crossed[i] = 0;
        end_of[i] = HS_STATUS_COUNT;
    }
    for (int s = 0; s < NSUBJ; s++) {
        pub_st[s] = HS_STATUS_COUNT;
        delivered_min[s] = UINT32_MAX;
    }
    for (int i = 0; i < NREC; i++) {
        status[i] = HS_STATUS_COUNT;
        word[i] = 0xbad;
    }
    memset(pub, 0, sizeof pub);
    gate_cap = 0;
}

static int broker(void *arg)
{
    (void)arg;
    (void)pubsub_serve(subjects, NSUBJ);
    return 0;
}

/* The broker below the caller's priority, its gate in gate_cap. */
static void start_broker(void)
{
    hs_thread_attr a = { .name = "broker", .priority = HS_PRIO_DEFAULT - 1,
                         .priority_set = 1 };
    hs_tid_t t = 0;
    EXPECT_ST(hs_thread_create(broker, NULL, &a, &t), HS_OK);
    EXPECT_ST(hs_gate_create(t, 0, &gate_cap), HS_OK);
}

/* A copy of the gate with label, in the caller's space. */
static hs_cap_t client_cap(uint64_t label)
{
    hs_cap_t c = 0;
    EXPECT_ST(hs_cap_derive(gate_cap, HS_CAP_SEND | HS_CAP_GRANT, label,
                            &c), HS_OK);
    return c;
}

static hs_pid_t spawn_client(hs_entry_fn fn, int id, uint64_t label)
{
    hs_cap_t c = client_cap(label);
    hs_proc_attr at = { .caps = &c, .ncaps = 1 };
    hs_pid_t pid = 0;
    EXPECT_ST(hs_proc_spawn("client", fn, tu_id_arg(id), &at, &pid), HS_OK);
    return pid;
}

/* ---- 1. two subjects, every subscriber gets all of its own, in order --- */

static int subscriber(void *arg)
{
    int id = tu_arg_id(arg), s = id % NSUBJ;
    hs_cap_t topic = 0;
    hs_topic_sub sub;
    if (EXPECT_ST(pubsub_subscribe(1, subjects[s].name, WAIT, &topic),
                  HS_OK) != HS_OK ||
        EXPECT_ST(hs_topic_subscribe(topic, 0, &sub), HS_OK) != HS_OK)
        return 1;
    uint64_t m = 0;
    size_t len = 0;
    hs_status st;
    while ((st = hs_topic_recv(&sub, &m, sizeof m, &len, WAIT)) == HS_OK) {
        if (m >> 32 != (uint64_t)s)
            crossed[id]++;
        tu_log_add(&seqs[id], (int)(uint32_t)m);
    }
    end_of[id] = st;                    /* HS_ETIMEOUT: nothing more */
    EXPECT_ST(hs_topic_unsubscribe(&sub), HS_OK);
    return 0;
}

/* Publish NMSGS numbered messages once both subscribers are in. */
static int publisher(void *arg)
{
    int s = tu_arg_id(arg);
    hs_cap_t topic = 0;
    hs_status st = pubsub_publisher(1, subjects[s].name, WAIT, &topic);
    hs_topic_info ti = { .subs = 0 };
    while (st == HS_OK && (st = hs_topic_info_get(topic, &ti)) == HS_OK &&
           ti.subs < NSUBS / NSUBJ)
        st = hs_thread_sleep(HS_USEC);
    if (st == HS_OK)
        st = hs_topic_pub_init(&pub[s], topic);
    for (uint64_t seq = 0; st == HS_OK && seq < NMSGS; seq++) {
        uint64_t m = (uint64_t)s << 32 | seq;
        hs_topic_sent r = { 0, 0 };
        st = hs_topic_publish(&pub[s], &m, sizeof m, &r);
        if (r.delivered < delivered_min[s])
            delivered_min[s] = r.delivered;
    }
    if (st == HS_OK)
        st = hs_topic_pub_destroy(&pub[s]);
    pub_st[s] = st;
    return 0;
}

static int stream_main(void *arg)
{
    (void)arg;
    start_broker();
    hs_pid_t pid[NSUBS + NSUBJ];
    for (int i = 0; i < NSUBS; i++)
        pid[i] = spawn_client(subscriber, i, 3 + (uint64_t)i);
    for (int s = 0; s < NSUBJ; s++)
        pid[NSUBS + s] = spawn_client(publisher, s, subjects[s].publisher);
    for (int i = 0; i < NSUBS + NSUBJ; i++)
        EXPECT_ST(hs_proc_wait(pid[i], HS_NEVER, NULL), HS_OK);
    return 0;
}

static void assert_streams(void)
{
    int want[NMSGS];
    for (int k = 0; k < NMSGS; k++)
        want[k] = k;
    for (int i = 0; i < NSUBS; i++) {
        assert_log(&seqs[i], want, NMSGS);
        assert_int_equal(crossed[i], 0);
        assert_int_equal(end_of[i], HS_ETIMEOUT);
    }
    for (int s = 0; s < NSUBJ; s++) {
        assert_int_equal(pub_st[s], HS_OK);
        assert_int_equal(delivered_min[s], NSUBS / NSUBJ);
    }
}

static void test_pubsub_two_subjects_every_subscriber_in_order(void **state)
{
    (void)state;
    reset();
    tu_run_one(NULL, "main", stream_main, NULL, NULL);
    assert_streams();
}

static void test_pubsub_seeded_runs_deliver_all_in_order(void **state)
{
    (void)state;
    hs_sim_config cfg = tu_config();
    for (uint64_t seed = 1; seed <= 8; seed++) {
        cfg.seed = seed;
        reset();
        tu_run_one(&cfg, "main", stream_main, NULL, NULL);
        assert_streams();
    }
}

/* ---- 2. what the broker refuses, and the rights it hands out ----------- */

/* A raw request: op and words words, the first 16 bytes of name (NUL
 * padded) in mr[0..1]. */
static hs_status raw_call(hs_cap_t c, uint32_t op, unsigned words,
                          const char *name)
{
    hs_utcb_t *u = hs_utcb();
    char buf[16] = { 0 };
    memcpy(buf, name, strnlen(name, sizeof buf));
    memcpy(u->mr, buf, sizeof buf);
    u->tag = HS_TAG(op, words);
    hs_status st = hs_ipc_call(c, WAIT, WAIT);
    return st == HS_OK ? (hs_status)u->mr[0] : st;
}

static unsigned rights_of(hs_cap_t c)
{
    hs_cap_info ci = { .rights = 0 };
    EXPECT_ST(hs_cap_info_get(c, &ci), HS_OK);
    return ci.rights;
}

static uint64_t caps_used(void)
{
    hs_account acc;
    EXPECT_ST(hs_factory_account(0, &acc), HS_OK);
    return acc.used[HS_RES_CAPS];
}

static void bad_subjects(void)
{
    static const struct pubsub_subject bad[2] = {
        { .name = "ok", .publisher = 1 },
        { .name = "sixteen-bytes-xx", .publisher = 2 },
    };
    uint64_t before = caps_used();
    status[16] = pubsub_serve(NULL, 1);
    status[17] = pubsub_serve(bad, 0);
    status[18] = pubsub_serve(bad, PUBSUB_SUBJECTS_MAX + 1);
    status[19] = pubsub_serve(bad, 2);      /* "ok"'s topic undone */
    word[4] = caps_used() - before;
}

static int refusals_main(void *arg)
{
    (void)arg;
    start_broker();
    hs_cap_t sub = client_cap(3), temp_pub = client_cap(1);
    hs_cap_t wind_pub = client_cap(2), t = 0, r = 0, w = 0, d = 0;
    status[0] = pubsub_subscribe(sub, "rain", WAIT, &t);
    status[1] = pubsub_publisher(sub, "temp", WAIT, &t);
    status[2] = pubsub_publisher(wind_pub, "temp", WAIT, &t);
    status[3] = pubsub_subscribe(sub, "", WAIT, &t);
    status[4] = pubsub_subscribe(sub, "sixteen-bytes-xx", WAIT, &t);
    status[5] = pubsub_subscribe(sub, "temp", WAIT, NULL);
    status[6] = raw_call(sub, 9, PUBSUB_NAME_WORDS, "temp");
    status[7] = raw_call(sub, PUBSUB_SUBSCRIBE, 1, "temp");
    status[8] = raw_call(sub, PUBSUB_SUBSCRIBE, 2, "0123456789abcdef");
    word[0] = t;                            /* untouched by refusals */
    /* What is granted: the one right asked for, never passed on. */
    EXPECT_ST(pubsub_subscribe(sub, "temp", WAIT, &r), HS_OK);
    EXPECT_ST(pubsub_publisher(temp_pub, "temp", WAIT, &w), HS_OK);
    word[1] = rights_of(r);
    word[2] = rights_of(w);
    status[9] = hs_cap_derive(r, HS_CAP_RECV | HS_CAP_GRANT, 0, &d);
    EXPECT_ST(hs_topic_pub_init(&pub[0], r), HS_OK);
    uint64_t m = 1;
    status[10] = hs_topic_publish(&pub[0], &m, sizeof m, NULL);
    hs_topic_sub s;
    status[11] = hs_topic_subscribe(w, 0, &s);
    /* The other subject's topic is handed out too. */
    EXPECT_ST(pubsub_subscribe(sub, "wind", WAIT, &t), HS_OK);
    hs_cap_info a, b;
    EXPECT_ST(hs_cap_info_get(t, &a), HS_OK);
    EXPECT_ST(hs_cap_info_get(r, &b), HS_OK);
    word[3] = a.kind == HS_CAP_KIND_TOPIC && b.kind == HS_CAP_KIND_TOPIC;
    bad_subjects();
    return 0;
}

static void test_pubsub_refusals_and_rights(void **state)
{
    (void)state;
    reset();
    tu_run_one(NULL, "main", refusals_main, NULL, NULL);
    assert_int_equal(status[0], HS_ENOPORT);    /* no such subject */
    assert_int_equal(status[1], HS_EPERM);      /* a subscriber publishing */
    assert_int_equal(status[2], HS_EPERM);      /* another's subject */
    assert_int_equal(status[3], HS_EINVAL);     /* empty name */
    assert_int_equal(status[4], HS_EINVAL);     /* too long */
    assert_int_equal(status[5], HS_EINVAL);     /* nowhere to put it */
    assert_int_equal(status[6], HS_EINVAL);     /* unknown operation */
    assert_int_equal(status[7], HS_EINVAL);     /* too few words */
    assert_int_equal(status[8], HS_EINVAL);     /* not NUL terminated */
    assert_int_equal(word[0], 0);
    assert_int_equal(word[1], HS_CAP_RECV);
    assert_int_equal(word[2], HS_CAP_SEND);
    assert_int_equal(status[9], HS_EPERM);      /* cannot pass it on */
    assert_int_equal(status[10], HS_EPERM);     /* receive right only */
    assert_int_equal(status[11], HS_EPERM);     /* send right only */
    assert_int_equal(word[3], 1);
    assert_int_equal(status[16], HS_EINVAL);
    assert_int_equal(status[17], HS_EINVAL);
    assert_int_equal(status[18], HS_EINVAL);
    assert_int_equal(status[19], HS_EINVAL);
    assert_int_equal(word[4], 0);               /* nothing left behind */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        TU_TEST(test_pubsub_two_subjects_every_subscriber_in_order),
        TU_TEST(test_pubsub_seeded_runs_deliver_all_in_order),
        TU_TEST(test_pubsub_refusals_and_rights),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
