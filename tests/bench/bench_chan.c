/*
 * tests/bench/bench_chan.c - asynchronous channels, end to end through
 * the API (hopsim/chan.h).
 *
 *   async_send        ns per message of hs_chan_send(): a producer sends
 *                     16-byte messages one call each into an SPSC ring of
 *                     1,024 slots; a consumer in another process drains
 *                     them 64 at a time with hs_chan_recv_batch().  The
 *                     figure is the producer's time per message, so it
 *                     includes its share of the sleeps and wake-ups when
 *                     the ring fills (both run on the one simulated CPU)
 *   ring_throughput   messages per second through an SPSC ring of 1,024
 *                     slots, producer and consumer in two processes, both
 *                     with batch operations of 64 messages
 *
 * The producer is the root process; it creates the channel, spawns the
 * consumer with a receive capability, and times its loops inside the
 * simulation with the host clock (calibration and warm-up included).  A
 * last message with seq UINT64_MAX stops the consumer, which checks that
 * every message arrived once and in order.
 */
#include <stdio.h>
#include <string.h>

#include "bench.h"
#include "hopsim.h"

#define SLOTS 1024u
#define BATCH 64u

struct msg {
    uint64_t seq;
    uint64_t pad;
};

struct chan_state {
    int batched;                /* ring_throughput: send in batches */
    hs_chan tx;
    uint64_t next;              /* producer: next sequence number */
    uint64_t received;          /* consumer: messages taken */
    uint64_t bad;
    hs_status first_error;
};

static struct bench_samples samples;

static void note_error(struct chan_state *s, hs_status st)
{
    if (!s->bad++)
        s->first_error = st;
}

static void loop_send(void *arg, uint64_t iters)
{
    struct chan_state *s = arg;
    for (uint64_t i = 0; i < iters; i++) {
        struct msg m = { .seq = s->next++ };
        hs_status st = hs_chan_send(&s->tx, &m, sizeof m);
        if (st != HS_OK)
            note_error(s, st);
    }
}

static void loop_send_batch(void *arg, uint64_t iters)
{
    struct chan_state *s = arg;
    struct msg buf[BATCH];
    hs_chan_msg m[BATCH];
    for (uint64_t i = 0; i < iters;) {
        size_t k = iters - i < BATCH ? (size_t)(iters - i) : BATCH;
        for (size_t j = 0; j < k; j++) {
            buf[j] = (struct msg){ .seq = s->next + j };
            m[j] = (hs_chan_msg){ .data = &buf[j], .len = sizeof buf[j] };
        }
        size_t sent = 0;
        hs_status st = hs_chan_send_batch(&s->tx, m, k, &sent);
        s->next += sent;
        i += sent;
        if (st != HS_OK) {
            note_error(s, st);
            return;
        }
    }
}

/* Drain until the stop message, checking the order. */
static int consumer(void *arg)
{
    struct chan_state *s = arg;
    hs_chan rx;
    hs_status st = hs_chan_attach(1, HS_CHAN_RECEIVER, 0, &rx);
    struct msg buf[BATCH];
    hs_chan_msg m[BATCH];
    for (int done = 0; st == HS_OK && !done;) {
        for (unsigned j = 0; j < BATCH; j++)
            m[j] = (hs_chan_msg){ .data = &buf[j], .len = sizeof buf[j] };
        size_t got = 0;
        st = hs_chan_recv_batch(&rx, m, BATCH, &got, HS_NEVER);
        for (size_t j = 0; st == HS_OK && j < got; j++) {
            if (buf[j].seq == UINT64_MAX)
                done = 1;
            else if (buf[j].seq != s->received++)
                note_error(s, HS_ECHECK);
        }
    }
    if (st != HS_OK)
        note_error(s, st);
    (void)hs_chan_detach(&rx);
    return 0;
}

static int producer(void *arg)
{
    struct chan_state *s = arg;
    hs_chan_attr a = { .slots = SLOTS, .msg_max = sizeof(struct msg),
                       .kind = HS_CHAN_SPSC, .overflow = HS_CHAN_BLOCK,
                       .timeout = HS_NEVER };
    hs_cap_t cap = 0, d = 0;
    hs_pid_t child = 0;
    hs_status st = hs_chan_create(&a, &cap);
    if (st == HS_OK)
        st = hs_cap_derive(cap, HS_CAP_RECV | HS_CAP_GRANT, 0, &d);
    hs_proc_attr pa = { .caps = &d, .ncaps = 1 };
    if (st == HS_OK)
        st = hs_proc_spawn("bench-consumer", consumer, s, &pa, &child);
    if (st == HS_OK)
        st = hs_chan_attach(cap, HS_CHAN_SENDER, 0, &s->tx);
    if (st != HS_OK) {
        note_error(s, st);
        return 0;
    }
    struct bench_plan plan = BENCH_PLAN_DEFAULT;
    bench_measure(s->batched ? loop_send_batch : loop_send, s, &plan,
                  &samples);
    struct msg stop = { .seq = UINT64_MAX };
    if ((st = hs_chan_send(&s->tx, &stop, sizeof stop)) != HS_OK)
        note_error(s, st);
    if ((st = hs_proc_wait(child, HS_NEVER, NULL)) != HS_OK)
        note_error(s, st);
    if (s->received != s->next)
        note_error(s, HS_ECHECK);
    (void)hs_chan_detach(&s->tx);
    return 0;
}

static void run_line(const char *name, int batched)
{
    static struct chan_state s;
    memset(&s, 0, sizeof s);
    s.batched = batched;
    hs_sim_config cfg = bench_sim_config();
    hs_status st = hs_sim_start(&cfg);
    if (st == HS_OK)
        st = hs_proc_spawn("bench-producer", producer, &s, NULL, NULL);
    if (st == HS_OK)
        st = hs_sim_run();
    hs_sim_summary sum;
    if (!bench_sim_done(name, st, s.bad, s.first_error, "messages", &sum))
        return;
    char note[200];
    snprintf(note, sizeof note,
             "%llu messages in one run, each received once in order; "
             "%.3f kernel events per message",
             (unsigned long long)s.next,
             (double)sum.events / (double)s.next);
    if (!batched) {
        bench_report(name, "ns/op", &samples, note, NULL);
        return;
    }
    /* Per-message times to messages per second. */
    for (unsigned i = 0; i < samples.n; i++)
        samples.v[i] = 1e9 / samples.v[i];
    bench_report(name, "msgs/s", &samples, note, NULL);
}

int main(int argc, char **argv)
{
    bench_init(argc, argv, "bench_chan");
    if (bench_wanted("async_send"))
        run_line("async_send", 0);
    if (bench_wanted("ring_throughput"))
        run_line("ring_throughput", 1);
    return bench_finish();
}
