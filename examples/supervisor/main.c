/*
 * examples/supervisor/main.c - the supervisor (supervisor.h) with an echo
 * worker that crashes on every third call, and three clients in
 * processes of their own, each echoing three words.
 *
 *   build/examples/supervisor                     one run
 *   HOPSIM_MSC=sup.msc build/examples/supervisor  its sequence chart
 *   HOPSIM_SEED=7 build/examples/supervisor       another interleaving
 *
 * Each worker answers two calls and dies with the third, so the nine
 * echoes need five workers: the first and four restarts.  A client whose
 * worker died asks the supervisor again and retries.  The program checks
 * that every echo came back right and that the supervisor saw the four
 * crashes, and exits 1 otherwise.  When the clients are done, init stops
 * the supervisor.
 */
#include <stdio.h>

#include "supervisor.h"

#define CLIENTS 3
#define ROUNDS 3
#define TIMEOUT (100 * HS_MSEC)

static const struct supervisor_cfg cfg = {
    .crash_after = 3, .restarts_max = 5,
};
static struct supervisor_stats stats;
static int echoed;

static int client(void *arg)
{
    int id = (int)(intptr_t)arg;
    hs_cap_t svc = 0;
    for (int r = 0; r < ROUNDS; r++) {
        uint64_t word = (uint64_t)(100 * id + r), back = 0;
        hs_status st = supervisor_echo(1, &svc, word, TIMEOUT, &back);
        if (st != HS_OK || back != word) {
            printf("client %d: echo: %s\n", id, hs_strerror(st));
            return 1;
        }
        echoed++;
        printf("[%9llu ns] client %d: echo %llu (worker %u)\n",
               (unsigned long long)hs_time_now(), id,
               (unsigned long long)back, stats.started);
    }
    return 0;
}

static int supervisor(void *arg)
{
    (void)arg;
    return (int)supervisor_serve(1, &cfg, &stats);
}

/* The supervisor thread, its gate (capability 1 of this process), and the
 * clients, each given a copy of the gate with label id + 1. */
static int init(void *arg)
{
    (void)arg;
    hs_thread_attr a = { .name = "supervisor",
                         .priority = HS_PRIO_DEFAULT - 1,
                         .priority_set = 1 };
    hs_tid_t t = 0;
    hs_cap_t gate = 0;
    if (hs_thread_create(supervisor, NULL, &a, &t) != HS_OK ||
        hs_gate_create(t, 0, &gate) != HS_OK)
        return 1;
    hs_pid_t pid[CLIENTS];
    for (int i = 0; i < CLIENTS; i++) {
        hs_cap_t mine = 0;
        if (hs_cap_derive(gate, HS_CAP_SEND | HS_CAP_GRANT, (uint64_t)i + 1,
                          &mine) != HS_OK)
            return 1;
        hs_proc_attr at = { .caps = &mine, .ncaps = 1 };
        char name[HS_NAME_MAX + 1];
        snprintf(name, sizeof name, "client%d", i);
        if (hs_proc_spawn(name, client, (void *)(intptr_t)i, &at,
                          &pid[i]) != HS_OK)
            return 1;
    }
    int bad = 0;
    for (int i = 0; i < CLIENTS; i++) {
        int status = 1;
        if (hs_proc_wait(pid[i], HS_NEVER, &status) != HS_OK || status)
            bad = 1;
    }
    /* The last worker is left serving; nothing else is. */
    if (supervisor_stop(gate, TIMEOUT) != HS_OK)
        bad = 1;
    return bad;
}

int main(void)
{
    hs_sim_config c = HS_SIM_DEFAULTS;
    if (hs_sim_start(&c) != HS_OK)
        return 1;
    if (hs_proc_spawn("supervise", init, NULL, NULL, NULL) != HS_OK)
        return 1;
    hs_status st = hs_sim_run();
    printf("supervisor: %d echoes, %u workers started, %u crashed "
           "(last status %d): %s\n", echoed, stats.started, stats.exits,
           stats.last_status, hs_strerror(st));
    int want_workers = (CLIENTS * ROUNDS + 1) / 2;  /* two calls each */
    return st == HS_OK && echoed == CLIENTS * ROUNDS &&
           stats.started == (unsigned)want_workers &&
           stats.exits == (unsigned)want_workers - 1 &&
           stats.last_status == SUPERVISOR_CRASH ? 0 : 1;
}
