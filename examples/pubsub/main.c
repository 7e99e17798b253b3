/*
 * examples/pubsub/main.c - the publish/subscribe broker (pubsub.h) with
 * two subjects, a publisher for each and two subscribers to each, every
 * client a process of its own.
 *
 *   build/examples/pubsub                       one run, a line a client
 *   HOPSIM_MSC=pubsub.msc build/examples/pubsub its sequence chart
 *   HOPSIM_SEED=7 build/examples/pubsub         another interleaving
 *
 * Every client's capability to the broker's gate has its own label; the
 * broker lets label 1 publish "temp" and label 2 publish "wind".  Each
 * publisher waits until its subject has its two subscribers, then
 * publishes MSGS numbered messages (the subject in the high half).  A
 * subscriber that asks to publish is refused, and so is a request for a
 * subject the broker does not know.  The program checks that every
 * subscriber received every message of its subject, in order, and that
 * both refusals came with their errors; it exits 1 otherwise.
 */
#include <stdio.h>

#include "pubsub.h"

#define SUBJECTS 2
#define SUBS 4                  /* subscriber i takes subject i % 2 */
#define MSGS 8
#define WAIT (10 * HS_MSEC)

static const struct pubsub_subject subjects[SUBJECTS] = {
    { .name = "temp", .publisher = 1 },
    { .name = "wind", .publisher = 2 },
};

static hs_topic_pub pub[SUBJECTS];      /* large: off the small stacks */
static int in_order[SUBS];              /* subscribers that got all */
static hs_status refused_publish, refused_unknown;

static uint64_t msg_of(int subject, uint64_t seq)
{
    return (uint64_t)subject << 32 | seq;
}

/* Sleep until the topic has n subscribers, or at most WAIT. */
static hs_status wait_subscribers(hs_cap_t topic, uint32_t n)
{
    hs_time_t end = hs_time_now() + WAIT;
    hs_topic_info ti;
    hs_status st;
    while ((st = hs_topic_info_get(topic, &ti)) == HS_OK && ti.subs < n &&
           hs_time_now() < end)
        st = hs_thread_sleep(HS_USEC);
    return st;
}

static int publisher(void *arg)
{
    int s = (int)(intptr_t)arg;
    hs_cap_t topic = 0;
    hs_status st = pubsub_publisher(1, subjects[s].name, WAIT, &topic);
    if (st == HS_OK)
        st = wait_subscribers(topic, SUBS / SUBJECTS);
    if (st == HS_OK)
        st = hs_topic_pub_init(&pub[s], topic);
    for (uint64_t seq = 0; st == HS_OK && seq < MSGS; seq++) {
        uint64_t m = msg_of(s, seq);
        st = hs_topic_publish(&pub[s], &m, sizeof m, NULL);
    }
    if (st == HS_OK)
        st = hs_topic_pub_destroy(&pub[s]);
    printf("publisher %s: %d messages: %s\n", subjects[s].name, MSGS,
           hs_strerror(st));
    return st == HS_OK ? 0 : 1;
}

/* Receive MSGS messages of subject s; whether each was the next. */
static int receive_all(hs_topic_sub *sub, int s)
{
    for (uint64_t seq = 0; seq < MSGS; seq++) {
        uint64_t m = 0;
        size_t len = 0;
        if (hs_topic_recv(sub, &m, sizeof m, &len, WAIT) != HS_OK ||
            len != sizeof m || m != msg_of(s, seq))
            return 0;
    }
    return 1;
}

static int subscriber(void *arg)
{
    int id = (int)(intptr_t)arg, s = id % SUBJECTS;
    hs_cap_t topic = 0, no = 0;
    hs_topic_sub sub;
    if (pubsub_subscribe(1, subjects[s].name, WAIT, &topic) != HS_OK ||
        hs_topic_subscribe(topic, 0, &sub) != HS_OK)
        return 1;
    if (id == 0)                /* not its label: refused */
        refused_publish = pubsub_publisher(1, subjects[s].name, WAIT, &no);
    in_order[id] = receive_all(&sub, s);
    printf("subscriber %d (%s): %s\n", id, subjects[s].name,
           in_order[id] ? "every message, in order" : "gap or disorder");
    return hs_topic_unsubscribe(&sub) == HS_OK && in_order[id] ? 0 : 1;
}

static int broker(void *arg)
{
    (void)arg;
    return (int)pubsub_serve(subjects, SUBJECTS);
}

/* Spawn a client with a copy of the gate labelled label (with
 * HS_CAP_GRANT, which a capability given at spawn must have). */
static hs_status spawn_client(const char *name, hs_entry_fn fn, int arg,
                              hs_cap_t gate, uint64_t label, hs_pid_t *pid)
{
    hs_cap_t mine = 0;
    hs_status st = hs_cap_derive(gate, HS_CAP_SEND | HS_CAP_GRANT, label,
                                 &mine);
    hs_proc_attr at = { .caps = &mine, .ncaps = 1 };
    if (st == HS_OK)
        st = hs_proc_spawn(name, fn, (void *)(intptr_t)arg, &at, pid);
    return st;
}

/* The broker thread and its gate, subscribers labelled 3.., publishers
 * labelled 1 and 2; init itself asks for a subject nobody serves. */
static int init(void *arg)
{
    (void)arg;
    hs_thread_attr a = { .name = "broker", .priority = HS_PRIO_DEFAULT - 1,
                         .priority_set = 1 };
    hs_tid_t t = 0;
    hs_cap_t gate = 0, no = 0;
    if (hs_thread_create(broker, NULL, &a, &t) != HS_OK ||
        hs_gate_create(t, 0, &gate) != HS_OK)
        return 1;
    hs_pid_t pid[SUBS + SUBJECTS];
    for (int i = 0; i < SUBS; i++)
        if (spawn_client("sub", subscriber, i, gate, 3 + (uint64_t)i,
                         &pid[i]) != HS_OK)
            return 1;
    for (int s = 0; s < SUBJECTS; s++)
        if (spawn_client("pub", publisher, s, gate, subjects[s].publisher,
                         &pid[SUBS + s]) != HS_OK)
            return 1;
    refused_unknown = pubsub_subscribe(gate, "rain", WAIT, &no);
    printf("subscribe to \"rain\": %s\n", hs_strerror(refused_unknown));
    for (int i = 0; i < SUBS + SUBJECTS; i++)
        (void)hs_proc_wait(pid[i], HS_NEVER, NULL);
    return 0;                   /* the broker serves on: the run ends */
}

int main(void)
{
    hs_sim_config cfg = HS_SIM_DEFAULTS;
    if (hs_sim_start(&cfg) != HS_OK)
        return 1;
    if (hs_proc_spawn("pubsub", init, NULL, NULL, NULL) != HS_OK)
        return 1;
    hs_status st = hs_sim_run();
    int good = 0;
    for (int i = 0; i < SUBS; i++)
        good += in_order[i];
    printf("pubsub: %d of %d subscribers in order; a subscriber "
           "publishing: %s\n", good, SUBS, hs_strerror(refused_publish));
    printf("pubsub: run %s\n", hs_strerror(st));
    return st == HS_OK && good == SUBS && refused_publish == HS_EPERM &&
           refused_unknown == HS_ENOPORT ? 0 : 1;
}
