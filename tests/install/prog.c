/*
 * tests/install/prog.c - a program built against an installed hopsim, with
 * the README's recipes, by tools/check-install.sh.
 *
 * A server process answers hops on the named port "echo" with the word
 * plus one; a client process hops to it, then calls a gate served by a
 * second thread of its own, which answers with the word plus 100.  The
 * program also defines globals named like the library's internal ones
 * (k, sched_init, pool_init): an installed library must keep its
 * internals to itself, so these stay the program's own, and the kernel
 * keeps its own.  On success it prints
 *   hopsim-install: hop 42, ipc 142, k 7, sched_init 8, pool_init 9
 * and exits 0.
 */
#include <stdio.h>

#include "hopsim.h"

/* Names the kernel uses inside the library. */
int k = 7;
int sched_init(void);
int pool_init(int n);

int sched_init(void)
{
    return 8;
}

int pool_init(int n)
{
    return n + 1;
}

static uint64_t hop_reply, ipc_reply;
static hs_status hop_status = HS_EINVAL, ipc_status = HS_EINVAL;

static void echo(hs_hop_t *hop, void *cookie)
{
    (void)cookie;
    hs_utcb()->mr[0] = hs_mr(hop, 0) + 1;
}

static int server(void *arg)
{
    hs_port_t p;
    (void)arg;
    if (hs_port_create_named("echo", &p) != HS_OK ||
        hs_port_set_handler(p, echo, NULL) != HS_OK)
        return 1;
    return hs_proc_serve();
}

/* Answers one call through a gate bound to it. */
static int gate_server(void *arg)
{
    (void)arg;
    if (hs_ipc_wait(HS_NEVER, NULL) != HS_OK)
        return 1;
    hs_utcb()->mr[0] += 100;
    return hs_ipc_reply() == HS_OK ? 0 : 1;
}

static int client(void *arg)
{
    hs_port_t p;
    hs_tid_t t;
    hs_cap_t gate;
    (void)arg;
    if (hs_port_lookup("echo", HS_NEVER, &p) != HS_OK)
        return 1;
    hop_status = hs_hop_call(p, 41, &hop_reply);

    if (hs_thread_create(gate_server, NULL, NULL, &t) != HS_OK ||
        hs_gate_create(t, 0, &gate) != HS_OK)
        return 1;
    hs_utcb()->tag = HS_TAG(0, 1);
    hs_utcb()->mr[0] = hop_reply;
    ipc_status = hs_ipc_call(gate, HS_NEVER, HS_NEVER);
    ipc_reply = hs_utcb()->mr[0];
    return hs_thread_join(t, HS_NEVER, NULL) == HS_OK ? 0 : 1;
}

int main(void)
{
    hs_sim_config cfg = HS_SIM_DEFAULTS;
    hs_status st;

    cfg.quiet = 1;
    if (hs_sim_start(&cfg) != HS_OK ||
        hs_proc_spawn("echo-srv", server, NULL, NULL, NULL) != HS_OK ||
        hs_proc_spawn("client", client, NULL, NULL, NULL) != HS_OK)
        return 1;
    st = hs_sim_run();
    if (st != HS_OK || hop_status != HS_OK || ipc_status != HS_OK) {
        fprintf(stderr, "prog: run %s, hop %s, ipc %s\n%s\n", hs_strerror(st),
                hs_strerror(hop_status), hs_strerror(ipc_status),
                hs_sim_report());
        return 1;
    }
    printf("hopsim-install: hop %llu, ipc %llu, k %d, sched_init %d, "
           "pool_init %d\n", (unsigned long long)hop_reply,
           (unsigned long long)ipc_reply, k, sched_init(), pool_init(8));
    return 0;
}
