/*
 * tests/install/names.c - a program built against an installed
 * libhopsim-servers with the README's recipes, by tools/check-install.sh.
 *
 * A thread serves the name server on a gate; the main thread registers a
 * gate of its own (label 5) as "svc", looks it up again, calls the
 * capability the lookup gave (a second thread answers with the word plus
 * one), and stops the name server.  On success it prints
 *   hopsim-servers: svc label 5 rights 0x1, call 42
 * and exits 0.
 */
#include <stdio.h>

#include <hopsim/servers/names.h>

static hs_cap_t ns_gate, svc_gate;
static hs_status serve_status = HS_EINVAL;
static hs_cap_info info;
static uint64_t answer;
static int init_done;

static int name_server(void *arg)
{
    (void)arg;
    serve_status = names_serve(ns_gate, 0);
    return 0;
}

/* Answers one call through svc_gate. */
static int service(void *arg)
{
    (void)arg;
    if (hs_ipc_recv(svc_gate, HS_NEVER, NULL) != HS_OK)
        return 1;
    hs_utcb()->mr[0] += 1;
    return hs_ipc_reply() == HS_OK ? 0 : 1;
}

static int init(void *arg)
{
    hs_tid_t ns, svc;
    hs_cap_t found = HS_CAP_NIL;
    hs_status st;
    (void)arg;
    if (hs_thread_create(name_server, NULL, NULL, &ns) != HS_OK ||
        hs_gate_create(ns, 0, &ns_gate) != HS_OK ||
        hs_thread_create(service, NULL, NULL, &svc) != HS_OK ||
        hs_gate_create(svc, 5, &svc_gate) != HS_OK)
        return 1;
    st = names_register(ns_gate, "svc", svc_gate);
    if (st == HS_OK)
        st = names_lookup(ns_gate, "svc", HS_CAP_SEND, HS_NOWAIT, &found);
    if (st == HS_OK)
        st = hs_cap_info_get(found, &info);
    if (st == HS_OK) {
        hs_utcb()->tag = HS_TAG(0, 1);
        hs_utcb()->mr[0] = 41;
        st = hs_ipc_call(found, HS_NEVER, HS_NEVER);
    }
    if (st != HS_OK) {
        fprintf(stderr, "names: %s\n", hs_strerror(st));
        return 1;
    }
    answer = hs_utcb()->mr[0];
    if (names_stop(ns_gate) != HS_OK ||
        hs_thread_join(ns, HS_NEVER, NULL) != HS_OK ||
        hs_thread_join(svc, HS_NEVER, NULL) != HS_OK)
        return 1;
    init_done = 1;
    return 0;
}

int main(void)
{
    hs_sim_config cfg = HS_SIM_DEFAULTS;

    cfg.quiet = 1;
    cfg.seed = HS_SEED_NONE;
    cfg.faults = 0;
    if (hs_sim_start(&cfg) != HS_OK ||
        hs_proc_spawn("init", init, NULL, NULL, NULL) != HS_OK)
        return 1;
    if (hs_sim_run() != HS_OK || !init_done || serve_status != HS_OK) {
        fprintf(stderr, "names: run failed (name server: %s)\n%s\n",
                hs_strerror(serve_status), hs_sim_report());
        return 1;
    }
    printf("hopsim-servers: svc label %llu rights %#x, call %llu\n",
           (unsigned long long)info.label, info.rights,
           (unsigned long long)answer);
    return 0;
}
