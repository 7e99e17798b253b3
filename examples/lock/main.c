/*
 * examples/lock/main.c - the lock server (lock.h) with three clients in
 * processes of their own, each taking the lock three times.
 *
 *   build/examples/lock                     one run, a line per grant
 *   HOPSIM_MSC=lock.msc build/examples/lock its sequence chart
 *   HOPSIM_SEED=7 build/examples/lock       another interleaving
 *
 * Every client's capability to the server's gate has its own label, by
 * which the server knows the holder.  A client that finds the lock held
 * stays blocked in its call: the server keeps the call and answers it
 * when the holder releases.  The program checks that no two clients were
 * ever inside at once, and exits 1 if they were or a run went wrong.
 */
#include <stdio.h>

#include "lock.h"

#define CLIENTS 3
#define ROUNDS 3

static int inside, overlaps, grants;

static int client(void *arg)
{
    int id = (int)(intptr_t)arg;
    for (int r = 0; r < ROUNDS; r++) {
        hs_status st = lock_acquire(1, 100 * HS_MSEC);
        if (st != HS_OK) {
            printf("client %d: acquire: %s\n", id, hs_strerror(st));
            return 1;
        }
        if (inside++)
            overlaps++;
        grants++;
        printf("[%9llu ns] client %d holds the lock (round %d)\n",
               (unsigned long long)hs_time_now(), id, r);
        hs_thread_sleep(HS_MSEC);               /* the critical section */
        inside--;
        if (lock_release(1) != HS_OK)
            return 1;
    }
    return 0;
}

static int server(void *arg)
{
    (void)arg;
    return (int)lock_serve(1);
}

/* The server thread, its gate (capability 1 of this process), and the
 * clients, each given a copy of the gate with label id + 1 (with
 * HS_CAP_GRANT, which a capability given at spawn must have). */
static int init(void *arg)
{
    (void)arg;
    hs_thread_attr a = { .name = "lock", .priority = HS_PRIO_DEFAULT - 1,
                         .priority_set = 1 };
    hs_tid_t t = 0;
    hs_cap_t gate = 0;
    if (hs_thread_create(server, NULL, &a, &t) != HS_OK ||
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
    for (int i = 0; i < CLIENTS; i++)
        (void)hs_proc_wait(pid[i], HS_NEVER, NULL);
    return 0;                   /* the server serves on: the run ends */
}

int main(void)
{
    hs_sim_config cfg = HS_SIM_DEFAULTS;
    if (hs_sim_start(&cfg) != HS_OK)
        return 1;
    if (hs_proc_spawn("locks", init, NULL, NULL, NULL) != HS_OK)
        return 1;
    hs_status st = hs_sim_run();
    printf("lock: %d grants, %d overlaps: %s\n", grants, overlaps,
           hs_strerror(st));
    return st == HS_OK && !overlaps && grants == CLIENTS * ROUNDS ? 0 : 1;
}
