/*
 * tests/bench/bench_port.c - the named-port registry.
 *
 *   port_lookup   hs_port_lookup(name, HS_NOWAIT) of a name that exists,
 *                 among 10,000 named ports, in a shuffled order so that
 *                 consecutive lookups touch unrelated buckets; each result
 *                 is checked against the handle the name was created with
 *
 * One simulation run: a process creates the 10,000 ports, then times the
 * lookups on its own simulated thread.  Every lookup is a kernel entry
 * with its checks and its scheduling point, as a server would see it.
 */
#include <stdio.h>
#include <stdlib.h>

#include "bench.h"
#include "hopsim.h"

#define NPORTS 10000
#define NAME_LEN 32

struct port_state {
    char (*names)[NAME_LEN];
    hs_port_t *ports;           /* the handle of names[i] */
    unsigned *order;            /* a permutation of 0..NPORTS-1 */
    unsigned next;              /* position in order */
    uint64_t bad;
    hs_status first_error;
    struct bench_samples *out;
};

static struct bench_samples samples;

static void loop_lookup(void *arg, uint64_t iters)
{
    struct port_state *s = arg;
    unsigned next = s->next;
    for (uint64_t i = 0; i < iters; i++) {
        unsigned j = s->order[next];
        next = next + 1 < NPORTS ? next + 1 : 0;
        hs_port_t p = 0;
        hs_status st = hs_port_lookup(s->names[j], HS_NOWAIT, &p);
        if (st != HS_OK || p != s->ports[j]) {
            if (!s->bad++)
                s->first_error = st;
        }
    }
    s->next = next;
}

static int registry_owner(void *arg)
{
    struct port_state *s = arg;
    for (unsigned i = 0; i < NPORTS; i++) {
        hs_status st = hs_port_create_named(s->names[i], &s->ports[i]);
        if (st != HS_OK) {
            s->bad = 1;
            s->first_error = st;
            return 1;
        }
    }
    struct bench_plan plan = BENCH_PLAN_DEFAULT;
    bench_measure(loop_lookup, s, &plan, s->out);
    return 0;
}

/* Names of the shape services register under, and a fixed shuffle of
 * them, so every run looks up the same sequence. */
static int state_init(struct port_state *s)
{
    s->names = calloc(NPORTS, sizeof *s->names);
    s->ports = calloc(NPORTS, sizeof *s->ports);
    s->order = calloc(NPORTS, sizeof *s->order);
    if (!s->names || !s->ports || !s->order)
        return -1;
    static const char *const kinds[] = {"fs", "net", "blk", "tty"};
    for (unsigned i = 0; i < NPORTS; i++)
        snprintf(s->names[i], NAME_LEN, "svc/%s/%u", kinds[i % 4], i);
    bench_shuffle(s->order, NPORTS, 0x9e3779b97f4a7c15ull);
    return 0;
}

static void state_free(struct port_state *s)
{
    free(s->names);
    free(s->ports);
    free(s->order);
}

static void run_port_lookup(void)
{
    const char *name = "port_lookup";
    struct port_state s = {.out = &samples};
    if (state_init(&s) != 0) {
        bench_fail(name, "out of memory");
        state_free(&s);
        return;
    }
    hs_sim_config cfg = bench_sim_config();
    hs_status st = hs_sim_start(&cfg);
    if (st == HS_OK)
        st = hs_proc_spawn("bench-registry", registry_owner, &s, NULL, NULL);
    if (st == HS_OK)
        st = hs_sim_run();
    if (st != HS_OK)
        bench_fail(name, "run ended with %s", hs_strerror(st));
    else if (s.bad)
        bench_fail(name, "%llu bad lookups, the first: %s",
                   (unsigned long long)s.bad, hs_strerror(s.first_error));
    else
        bench_report(name, "ns/op", &samples,
                     "10000 names like svc/net/4321, shuffled order",
                     "\"names\": 10000");
    state_free(&s);
}

int main(int argc, char **argv)
{
    bench_init(argc, argv, "bench_port");
    if (bench_wanted("port_lookup"))
        run_port_lookup();
    return bench_finish();
}
