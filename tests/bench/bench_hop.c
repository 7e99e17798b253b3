/*
 * tests/bench/bench_hop.c - process hopping, end to end through the API.
 *
 *   hop_roundtrip   a client thread loads 8 message registers and hops
 *                   with a checkpoint (hs_hop, HS_HOP_CHECKPOINT, no
 *                   timeout) through a named port into a server process's
 *                   handler, which adds one to each word in place; the
 *                   handler returns and the client resumes at its
 *                   checkpoint with the reply, which it checks
 *
 * The server parks its only thread in hs_proc_serve().  Calibration, the
 * warm-up and every repetition happen inside one simulation run, timed on
 * the client's simulated thread with the host clock; each repetition is N
 * hops divided by N.  The kernel runs as it always does: one CPU, default
 * limits, every check on.
 */
#include <stdio.h>

#include "bench.h"
#include "hopsim.h"

#define WORDS 8
#define PORT_NAME "bench.echo"

struct hop_state {
    hs_port_t port;
    hs_utcb_t *utcb;            /* the client's */
    uint64_t hops;              /* hops made, calibration included */
    uint64_t bad;               /* failed hops or wrong replies */
    hs_status first_error;
    struct bench_samples *out;
};

static struct bench_samples samples;

/* The server's handler: the reply is the message plus one, word by word,
 * in the same registers. */
static void echo(hs_hop_t *hop, void *cookie)
{
    (void)hop;
    (void)cookie;
    hs_utcb_t *u = hs_utcb();
    for (unsigned i = 0; i < WORDS; i++)
        u->mr[i] += 1;
}

static int server(void *arg)
{
    (void)arg;
    hs_port_t p;
    if (hs_port_create_named(PORT_NAME, &p) != HS_OK ||
        hs_port_set_handler(p, echo, NULL) != HS_OK)
        return 1;
    hs_proc_serve();
    return 1;                   /* hs_proc_serve() returned: an error */
}

static void loop_hop(void *arg, uint64_t iters)
{
    struct hop_state *s = arg;
    hs_utcb_t *u = s->utcb;
    for (uint64_t i = 0; i < iters; i++) {
        for (unsigned w = 0; w < WORDS; w++)
            u->mr[w] = i + w;
        hs_status st = hs_hop(s->port, HS_HOP_CHECKPOINT, HS_NEVER);
        if (st != HS_OK || u->mr[WORDS - 1] != i + WORDS) {
            if (!s->bad++)
                s->first_error = st;
        }
    }
    s->hops += iters;
}

static int client(void *arg)
{
    struct hop_state *s = arg;
    hs_status st = hs_port_lookup(PORT_NAME, HS_NEVER, &s->port);
    if (st != HS_OK) {
        s->bad = 1;
        s->first_error = st;
        return 1;
    }
    s->utcb = hs_utcb();
    struct bench_plan plan = BENCH_PLAN_DEFAULT;
    bench_measure(loop_hop, s, &plan, s->out);
    return 0;
}

static void run_hop_roundtrip(void)
{
    const char *name = "hop_roundtrip";
    struct hop_state s = {.out = &samples};
    hs_sim_config cfg = bench_sim_config();
    hs_status st = hs_sim_start(&cfg);
    if (st == HS_OK)
        st = hs_proc_spawn("bench-server", server, NULL, NULL, NULL);
    if (st == HS_OK)
        st = hs_proc_spawn("bench-client", client, &s, NULL, NULL);
    if (st == HS_OK)
        st = hs_sim_run();
    hs_sim_summary sum;
    if (!bench_sim_done(name, st, s.bad, s.first_error, "hops", &sum))
        return;
    char note[160];
    snprintf(note, sizeof note,
             "%llu hops in one run, %.2f kernel events per hop",
             (unsigned long long)s.hops,
             (double)sum.events / (double)s.hops);
    bench_report(name, "ns/op", &samples, note, NULL);
}

int main(int argc, char **argv)
{
    bench_init(argc, argv, "bench_hop");
    if (bench_wanted("hop_roundtrip"))
        run_hop_roundtrip();
    return bench_finish();
}
