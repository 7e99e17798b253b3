/*
 * tests/sweep/lock.c - the lock server of the gallery (examples/lock/) as
 * a seeded scenario: three client processes take the lock three times
 * each, whatever the seed kills or times out.  Mutual exclusion must hold
 * in every run; a run with no fault grants all nine.
 */
#include <stdint.h>
#include <string.h>

#include "examples/lock/lock.h"

#include "sweep.h"

#define LK_CLIENTS 3
#define LK_ROUNDS 3
#define LK_WAIT (20 * HS_MSEC)

static struct {
    int inside, overlaps, grants;
    hs_status first_error;          /* a client's first failed call */
    int ended;                      /* init reached its end */
} lk;

static void lk_error(hs_status st)
{
    if (lk.first_error == HS_OK)
        lk.first_error = st;
}

static int lk_client(void *arg)
{
    (void)arg;
    for (int r = 0; r < LK_ROUNDS; r++) {
        hs_status st = lock_acquire(1, LK_WAIT);
        if (st != HS_OK) {
            lk_error(st);
            return 1;
        }
        if (lk.inside++)
            lk.overlaps++;
        lk.grants++;
        (void)hs_thread_sleep(HS_MSEC);
        lk.inside--;
        st = lock_release(1);
        if (st != HS_OK) {
            lk_error(st);
            return 1;
        }
    }
    return 0;
}

static int lk_server(void *arg)
{
    (void)arg;
    (void)lock_serve(0);
    return 0;
}

static int lk_init(void *arg)
{
    (void)arg;
    hs_thread_attr a = { .name = "lock", .priority = HS_PRIO_DEFAULT - 1,
                         .priority_set = 1 };
    hs_tid_t t = 0;
    hs_cap_t gate = 0;
    if (hs_thread_create(lk_server, NULL, &a, &t) != HS_OK ||
        hs_gate_create(t, 0, &gate) != HS_OK)
        return 1;
    hs_pid_t pid[LK_CLIENTS] = { 0 };
    for (int i = 0; i < LK_CLIENTS; i++) {
        hs_cap_t mine = 0;
        if (hs_cap_derive(gate, HS_CAP_SEND | HS_CAP_GRANT, (uint64_t)i + 1,
                          &mine) != HS_OK)
            continue;
        hs_proc_attr at = { .caps = &mine, .ncaps = 1 };
        (void)hs_proc_spawn("client", lk_client, NULL, &at, &pid[i]);
    }
    for (int i = 0; i < LK_CLIENTS; i++)
        if (pid[i])
            (void)hs_proc_wait(pid[i], HS_NEVER, NULL);
    lk.ended = 1;
    return 0;                       /* the server serves on: the run ends */
}

hs_status sweep_lock_setup(void *arg)
{
    (void)arg;
    memset(&lk, 0, sizeof lk);
    return hs_proc_spawn("locks", lk_init, NULL, NULL, NULL);
}

hs_status sweep_lock_check(void *arg, hs_status run)
{
    (void)arg;
    if (run != HS_OK)
        return sweep_why("run ended with %s", hs_strerror(run));
    if (lk.overlaps)
        return sweep_why("%d overlapping holders", lk.overlaps);
    if (sweep_fault_fired())
        return HS_OK;
    if (!lk.ended || lk.grants != LK_CLIENTS * LK_ROUNDS ||
        lk.first_error != HS_OK)
        return sweep_why("fault-free run: %d grants, first error %s",
                         lk.grants, hs_strerror(lk.first_error));
    return HS_OK;
}
