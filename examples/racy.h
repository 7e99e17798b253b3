/*
 * examples/racy.h - a counter server and two clients that increment it:
 * the scenario of examples/racy.c and tests/test_explore.c.
 *
 * The server process "counter" serves three operations on one number
 * through its named port "counter", each a hop with a checkpoint:
 *   GET          the reply is the value
 *   SET v        the value becomes v
 *   CAS old new  if the value is old it becomes new; the reply is 1,
 *                else 0 and nothing changes
 * Each client adds 1, RACY_ROUNDS times.  Scenario "racy" does it with GET
 * then SET: a read-modify-write across two hops, with a scheduling point
 * between them, so when the other client's GET comes in between, one
 * increment is lost.  Scenario "fixed" does GET then CAS, and tries again
 * when the CAS finds the value changed.  Both check that the counter ends
 * at RACY_CLIENTS * RACY_ROUNDS.  The plain run (no seed: priority/FIFO
 * order) never interleaves the two hops, so "racy" passes it; seeded
 * exploration finds the lost update.
 *
 * A partner may end early (seeded runs can kill a process or lose a
 * reply: hopsim/fault.h), and nothing here waits for ever on one that
 * did: a client waits RACY_WAIT of virtual time for the server to name its
 * port, a hop into a server that ended fails at once (HS_ENOPORT), and a
 * client whose request failed stops.  Such a run loses increments; it
 * never gains any, and each client that finished made all of its own.
 */
#ifndef HOPSIM_EXAMPLES_RACY_H
#define HOPSIM_EXAMPLES_RACY_H

#include <stdint.h>

#include "hopsim.h"

#define RACY_CLIENTS 2
#define RACY_ROUNDS  2

/* How long a client waits for the port "counter" to appear.  The server
 * names it before it takes any virtual time, so only a server that ended
 * first makes a client wait this long. */
#define RACY_WAIT    (100 * HS_MSEC)

enum racy_op { RACY_GET = 1, RACY_SET, RACY_CAS };

struct racy_state {
    int fixed;                  /* clients use CAS and retry */
    uint64_t value;             /* the server's counter */
    uint64_t final;             /* its value when the server ended */
    unsigned done;              /* clients that finished their rounds */
    unsigned retries;           /* CAS attempts that found a change */
};

static void racy_handler(hs_hop_t *hop, void *cookie)
{
    struct racy_state *s = cookie;
    hs_utcb_t *u = hs_utcb();
    switch (hs_mr(hop, 0)) {
    case RACY_GET:
        u->mr[0] = s->value;
        break;
    case RACY_SET:
        s->value = hs_mr(hop, 1);
        u->mr[0] = 0;
        break;
    case RACY_CAS:
        u->mr[0] = s->value == hs_mr(hop, 1);
        if (u->mr[0])
            s->value = hs_mr(hop, 2);
        break;
    default:
        u->mr[0] = UINT64_MAX;
    }
    s->final = s->value;
}

static int racy_server(void *arg)
{
    hs_port_t p;
    if (hs_port_create_named("counter", &p) != HS_OK ||
        hs_port_set_handler(p, racy_handler, arg) != HS_OK)
        return 1;
    return hs_proc_serve() == HS_OK ? 0 : 1;
}

/* One request: op and its arguments in mr[0..2], the reply in *reply.
 * The port's name appears (hs_port_create_named) one scheduling point
 * before its handler is set, so a client that finds it in between gets
 * HS_ENOHANDLER: it lets the server run and tries again. */
static hs_status racy_call(hs_port_t p, uint64_t op, uint64_t x, uint64_t y,
                           uint64_t *reply)
{
    hs_utcb_t *u = hs_utcb();
    hs_status st;
    do {
        u->mr[1] = x;
        u->mr[2] = y;
        st = hs_hop_call(p, op, reply);
    } while (st == HS_ENOHANDLER && hs_thread_yield() == HS_OK);
    return st;
}

/* Add 1 to the counter: GET then SET (racy), or GET then CAS, again
 * until the CAS takes (fixed). */
static hs_status racy_increment(struct racy_state *s, hs_port_t p)
{
    for (;;) {
        uint64_t v, ok;
        hs_status st = racy_call(p, RACY_GET, 0, 0, &v);
        if (st != HS_OK)
            return st;
        if (!s->fixed)
            return racy_call(p, RACY_SET, v + 1, 0, &ok);
        st = racy_call(p, RACY_CAS, v, v + 1, &ok);
        if (st != HS_OK || ok == 1)
            return st;
        s->retries++;
    }
}

static int racy_client(void *arg)
{
    struct racy_state *s = arg;
    hs_port_t p;
    if (hs_port_lookup("counter", RACY_WAIT, &p) != HS_OK)
        return 1;
    for (int i = 0; i < RACY_ROUNDS; i++)
        if (racy_increment(s, p) != HS_OK)
            return 1;
    s->done++;
    return 0;
}

static hs_status racy_setup(void *arg)
{
    struct racy_state *s = arg;
    s->value = s->final = 0;
    s->done = s->retries = 0;
    hs_status st = hs_proc_spawn("counter", racy_server, s, NULL, NULL);
    for (int i = 0; st == HS_OK && i < RACY_CLIENTS; i++)
        st = hs_proc_spawn(i ? "client-b" : "client-a", racy_client, s,
                           NULL, NULL);
    return st;
}

/* Whether a fault fired in the run that just ended. */
static int racy_fault_fired(void)
{
    hs_sim_summary sum;
    if (hs_sim_summary_get(&sum) != HS_OK)
        return 1;
    for (unsigned i = 0; i < sum.nfaults; i++)
        if (sum.faults[i].fired)
            return 1;
    return 0;
}

/* The run is right if it ended normally, every client finished, and no
 * increment was lost.  After a fault (see above) clients may stop early:
 * the counter must then hold the increments of every client that
 * finished, and no more than all of them. */
static hs_status racy_check(void *arg, hs_status run)
{
    struct racy_state *s = arg;
    uint64_t all = (uint64_t)RACY_CLIENTS * RACY_ROUNDS;
    if (run != HS_OK || s->final > all ||
        s->final < (uint64_t)s->done * RACY_ROUNDS)
        return HS_ECHECK;
    if (!racy_fault_fired() && (s->done != RACY_CLIENTS || s->final != all))
        return HS_ECHECK;
    return HS_OK;
}

#endif
