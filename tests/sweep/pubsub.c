/*
 * tests/sweep/pubsub.c - the publish/subscribe broker of the gallery
 * (examples/pubsub/) as a seeded scenario: two subjects, a publisher
 * process for each and two subscriber processes to each, whatever the
 * seed kills, times out or refuses.  In every run a subscriber sees only
 * its own subject, each message at most once and in order, never one
 * that was not published; a run with no fault delivers every message to
 * every subscriber and refuses the two bad requests with their errors.
 */
#include <stdint.h>
#include <string.h>

#include "examples/pubsub/pubsub.h"

#include "sweep.h"

#define PS_SUBJ 2
#define PS_SUBS 4               /* subscriber i takes subject i % 2 */
#define PS_MSGS 10
#define PS_WAIT (5 * HS_MSEC)

static const struct pubsub_subject ps_subjects[PS_SUBJ] = {
    { .name = "temp", .publisher = 1 },
    { .name = "wind", .publisher = 2 },
};

static hs_topic_pub ps_pub[PS_SUBJ];    /* large: off the small stacks */

static struct {
    struct {
        uint64_t got, last;     /* messages taken, the last sequence */
        int disorder;           /* one not the next after the last */
        int crossed;            /* one of the other subject */
    } sub[PS_SUBS];
    uint64_t published[PS_SUBJ];
    hs_status pub_end[PS_SUBJ];     /* a publisher's last status */
    hs_status unknown;              /* the request for "rain" */
    hs_status usurp;                /* subscriber 0 asking to publish */
    int ended;                      /* init reached its end */
} ps;

static void ps_take(int id, uint64_t m)
{
    uint64_t seq = (uint32_t)m;
    if (m >> 32 != (uint64_t)(id % PS_SUBJ))
        ps.sub[id].crossed++;
    if (ps.sub[id].got && seq != ps.sub[id].last + 1)
        ps.sub[id].disorder++;
    ps.sub[id].last = seq;
    ps.sub[id].got++;
}

static int ps_subscriber(void *arg)
{
    int id = (int)(intptr_t)arg;
    const char *name = ps_subjects[id % PS_SUBJ].name;
    hs_cap_t topic = 0, no = 0;
    hs_topic_sub sub;
    if (pubsub_subscribe(1, name, PS_WAIT, &topic) != HS_OK ||
        hs_topic_subscribe(topic, 0, &sub) != HS_OK)
        return 1;
    if (id == 0)
        ps.usurp = pubsub_publisher(1, name, PS_WAIT, &no);
    uint64_t m = 0;
    size_t len = 0;
    while (hs_topic_recv(&sub, &m, sizeof m, &len, PS_WAIT) == HS_OK)
        ps_take(id, m);
    return hs_topic_unsubscribe(&sub) == HS_OK ? 0 : 1;
}

/* Wait (at most PS_WAIT) for the subject's subscribers, then publish; a
 * publish that failed ends the stream, so what went out has no gap. */
static int ps_publisher(void *arg)
{
    int s = (int)(intptr_t)arg;
    hs_cap_t topic = 0;
    hs_status st = pubsub_publisher(1, ps_subjects[s].name, PS_WAIT,
                                    &topic);
    hs_time_t end = hs_time_now() + PS_WAIT;
    hs_topic_info ti = { .subs = 0 };
    while (st == HS_OK && (st = hs_topic_info_get(topic, &ti)) == HS_OK &&
           ti.subs < PS_SUBS / PS_SUBJ && hs_time_now() < end)
        st = hs_thread_sleep(HS_USEC);
    if (st == HS_OK)
        st = hs_topic_pub_init(&ps_pub[s], topic);
    for (uint64_t seq = 0; st == HS_OK && seq < PS_MSGS; seq++) {
        uint64_t m = (uint64_t)s << 32 | seq;
        st = hs_topic_publish(&ps_pub[s], &m, sizeof m, NULL);
        if (st == HS_OK)
            ps.published[s]++;
    }
    if (st == HS_OK)
        st = hs_topic_pub_destroy(&ps_pub[s]);
    ps.pub_end[s] = st;
    return st == HS_OK ? 0 : 1;
}

static int ps_broker(void *arg)
{
    (void)arg;
    (void)pubsub_serve(ps_subjects, PS_SUBJ);
    return 0;
}

static void ps_spawn(hs_entry_fn fn, int arg, hs_cap_t gate, uint64_t label,
                     hs_pid_t *pid)
{
    hs_cap_t mine = 0;
    if (hs_cap_derive(gate, HS_CAP_SEND | HS_CAP_GRANT, label, &mine) !=
        HS_OK)
        return;
    hs_proc_attr at = { .caps = &mine, .ncaps = 1 };
    (void)hs_proc_spawn("client", fn, (void *)(intptr_t)arg, &at, pid);
}

static int ps_init(void *arg)
{
    (void)arg;
    hs_thread_attr a = { .name = "broker", .priority = HS_PRIO_DEFAULT - 1,
                         .priority_set = 1 };
    hs_tid_t t = 0;
    hs_cap_t gate = 0, no = 0;
    if (hs_thread_create(ps_broker, NULL, &a, &t) != HS_OK ||
        hs_gate_create(t, 0, &gate) != HS_OK)
        return 1;
    hs_pid_t pid[PS_SUBS + PS_SUBJ] = { 0 };
    for (int i = 0; i < PS_SUBS; i++)
        ps_spawn(ps_subscriber, i, gate, 3 + (uint64_t)i, &pid[i]);
    for (int s = 0; s < PS_SUBJ; s++)
        ps_spawn(ps_publisher, s, gate, ps_subjects[s].publisher,
                 &pid[PS_SUBS + s]);
    ps.unknown = pubsub_subscribe(gate, "rain", PS_WAIT, &no);
    for (int i = 0; i < PS_SUBS + PS_SUBJ; i++)
        if (pid[i])
            (void)hs_proc_wait(pid[i], HS_NEVER, NULL);
    ps.ended = 1;
    return 0;                       /* the broker serves on: the run ends */
}

hs_status sweep_pubsub_setup(void *arg)
{
    (void)arg;
    memset(&ps, 0, sizeof ps);
    memset(ps_pub, 0, sizeof ps_pub);
    for (int s = 0; s < PS_SUBJ; s++)
        ps.pub_end[s] = HS_STATUS_COUNT;
    ps.unknown = ps.usurp = HS_STATUS_COUNT;
    return hs_proc_spawn("pubsub", ps_init, NULL, NULL, NULL);
}

/* What holds whatever fault fired: subscriber id saw only its subject,
 * in order, no more than was published. */
static hs_status ps_check_sub(int id)
{
    int s = id % PS_SUBJ;
    if (ps.sub[id].crossed)
        return sweep_why("subscriber %d: %d messages of another subject",
                         id, ps.sub[id].crossed);
    if (ps.sub[id].disorder)
        return sweep_why("subscriber %d: %d out of order", id,
                         ps.sub[id].disorder);
    if (ps.sub[id].got > ps.published[s] ||
        (ps.sub[id].got && ps.sub[id].last >= ps.published[s]))
        return sweep_why("subscriber %d: %llu got, %llu published", id,
                         (unsigned long long)ps.sub[id].got,
                         (unsigned long long)ps.published[s]);
    return HS_OK;
}

hs_status sweep_pubsub_check(void *arg, hs_status run)
{
    (void)arg;
    if (run != HS_OK)
        return sweep_why("run ended with %s", hs_strerror(run));
    for (int i = 0; i < PS_SUBS; i++)
        if (ps_check_sub(i) != HS_OK)
            return HS_ECHECK;
    if (sweep_fault_fired())
        return HS_OK;
    if (!ps.ended || ps.unknown != HS_ENOPORT || ps.usurp != HS_EPERM)
        return sweep_why("fault-free run: ended %d, unknown subject %s, "
                         "subscriber publishing %s", ps.ended,
                         hs_strerror(ps.unknown), hs_strerror(ps.usurp));
    for (int s = 0; s < PS_SUBJ; s++)
        if (ps.pub_end[s] != HS_OK || ps.published[s] != PS_MSGS)
            return sweep_why("fault-free run: publisher %d: %llu sent, %s",
                             s, (unsigned long long)ps.published[s],
                             hs_strerror(ps.pub_end[s]));
    for (int i = 0; i < PS_SUBS; i++)
        if (ps.sub[i].got != PS_MSGS)
            return sweep_why("fault-free run: subscriber %d got %llu", i,
                             (unsigned long long)ps.sub[i].got);
    return HS_OK;
}
