/*
 * tests/bench/bench_notify.c - notification objects, end to end through
 * the API.
 *
 *   notify_roundtrip   a thread signals notification object A
 *                      (hs_irq_signal) and waits on object B
 *                      (hs_irq_wait); a thread of another process waits
 *                      on A and signals B: one round trip is both
 *                      signals and both wake-ups
 *
 * The notification objects of seed 001 are hopsim's IRQ objects
 * (hopsim/irq.h): bits that accumulate, and a waiter that takes them.
 * The echo process creates both objects, spawns the pinger as its child
 * with a signal capability to A and a wait capability to B, and answers
 * until the pinger sends the STOP bit.  Calibration, the warm-up and every
 * repetition happen inside one simulation run, timed on the pinger's
 * simulated thread with the host clock.
 */
#include <stdio.h>

#include "bench.h"
#include "hopsim.h"

#define PING 1u
#define STOP 2u

struct ping_state {
    hs_cap_t a, b;              /* the pinger's: signal A, wait on B */
    uint64_t rounds;
    uint64_t bad;
    hs_status first_error;
};

static struct bench_samples samples;

static void note_error(struct ping_state *s, hs_status st)
{
    if (!s->bad++)
        s->first_error = st;
}

static void loop_ping(void *arg, uint64_t iters)
{
    struct ping_state *s = arg;
    for (uint64_t i = 0; i < iters; i++) {
        uint64_t bits = 0;
        hs_status st = hs_irq_signal(s->a, PING);
        if (st == HS_OK)
            st = hs_irq_wait(s->b, HS_NEVER, &bits);
        if (st != HS_OK || bits != PING)
            note_error(s, st);
    }
    s->rounds += iters;
}

static int pinger(void *arg)
{
    struct ping_state *s = arg;
    struct bench_plan plan = BENCH_PLAN_DEFAULT;
    bench_measure(loop_ping, s, &plan, &samples);
    hs_status st = hs_irq_signal(s->a, STOP);
    if (st != HS_OK)
        note_error(s, st);
    return 0;
}

/* Answer every PING on A with a PING on B, until STOP. */
static int echo(void *arg)
{
    struct ping_state *s = arg;
    hs_cap_t a = 0, b = 0;
    hs_pid_t child = 0;
    hs_status st = hs_irq_create(&a);
    if (st == HS_OK)
        st = hs_irq_create(&b);
    if (st == HS_OK)
        st = hs_proc_spawn("bench-pinger", pinger, s, NULL, &child);
    if (st == HS_OK)
        st = hs_cap_give(child, a, HS_CAP_SEND, &s->a);
    if (st == HS_OK)
        st = hs_cap_give(child, b, HS_CAP_RECV, &s->b);
    uint64_t bits = 0;
    while (st == HS_OK && (st = hs_irq_wait(a, HS_NEVER, &bits)) == HS_OK &&
           !(bits & STOP))
        st = hs_irq_signal(b, PING);
    if (st != HS_OK)
        note_error(s, st);
    return 0;
}

static void run_notify_roundtrip(const char *name)
{
    struct ping_state s = {0};
    hs_sim_config cfg = bench_sim_config();
    hs_status st = hs_sim_start(&cfg);
    if (st == HS_OK)
        st = hs_proc_spawn("bench-echo", echo, &s, NULL, NULL);
    if (st == HS_OK)
        st = hs_sim_run();
    hs_sim_summary sum;
    if (!bench_sim_done(name, st, s.bad, s.first_error, "rounds", &sum))
        return;
    char note[160];
    snprintf(note, sizeof note,
             "%llu rounds in one run, %.2f kernel events per round",
             (unsigned long long)s.rounds,
             (double)sum.events / (double)s.rounds);
    bench_report(name, "ns/op", &samples, note, NULL);
}

int main(int argc, char **argv)
{
    bench_init(argc, argv, "bench_notify");
    if (bench_wanted("notify_roundtrip"))
        run_notify_roundtrip("notify_roundtrip");
    return bench_finish();
}
