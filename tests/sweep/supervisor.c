/*
 * tests/sweep/supervisor.c - the supervisor of the gallery
 * (examples/supervisor/) as a seeded scenario: three client processes
 * echo three words each through workers that crash on every third call,
 * whatever else the seed kills or times out, and init stops the
 * supervisor when they are done.  Every run must end HS_OK (a watcher
 * left waiting would end it HS_EDEADLK) and no echo may ever come back
 * wrong; a run with no fault answers all nine with five workers, each
 * ended by its crash but the last, and a stop that succeeds.
 */
#include <stdint.h>
#include <string.h>

#include "examples/supervisor/supervisor.h"

#include "sweep.h"

#define SV_CLIENTS 3
#define SV_ROUNDS 3
#define SV_WAIT (20 * HS_MSEC)

static const struct supervisor_cfg sv_cfg = {
    .crash_after = 3, .restarts_max = 6,
};

static struct {
    struct supervisor_stats stats;
    int echoed, wrong;
    hs_status first_error;          /* a client's first failed call */
    int ended;                      /* init reached its end */
    hs_status stopped;              /* its stop of the supervisor */
} sv;

static int sv_client(void *arg)
{
    int id = (int)(intptr_t)arg;
    hs_cap_t svc = 0;
    for (int r = 0; r < SV_ROUNDS; r++) {
        uint64_t word = (uint64_t)(100 * id + r), back = 0;
        hs_status st = supervisor_echo(1, &svc, word, SV_WAIT, &back);
        if (st != HS_OK) {
            if (sv.first_error == HS_OK)
                sv.first_error = st;
            return 1;
        }
        if (back != word)
            sv.wrong++;
        sv.echoed++;
    }
    return 0;
}

static int sv_supervisor(void *arg)
{
    (void)arg;
    (void)supervisor_serve(1, &sv_cfg, &sv.stats);
    return 0;
}

static int sv_init(void *arg)
{
    (void)arg;
    hs_thread_attr a = { .name = "supervisor",
                         .priority = HS_PRIO_DEFAULT - 1,
                         .priority_set = 1 };
    hs_tid_t t = 0;
    hs_cap_t gate = 0;
    if (hs_thread_create(sv_supervisor, NULL, &a, &t) != HS_OK ||
        hs_gate_create(t, 0, &gate) != HS_OK)
        return 1;
    hs_pid_t pid[SV_CLIENTS] = { 0 };
    for (int i = 0; i < SV_CLIENTS; i++) {
        hs_cap_t mine = 0;
        if (hs_cap_derive(gate, HS_CAP_SEND | HS_CAP_GRANT, (uint64_t)i + 1,
                          &mine) != HS_OK)
            continue;
        hs_proc_attr at = { .caps = &mine, .ncaps = 1 };
        (void)hs_proc_spawn("client", sv_client, (void *)(intptr_t)i, &at,
                            &pid[i]);
    }
    for (int i = 0; i < SV_CLIENTS; i++)
        if (pid[i])
            (void)hs_proc_wait(pid[i], HS_NEVER, NULL);
    /* No thread of the supervisor may be left waiting: stop it. */
    sv.stopped = supervisor_stop(gate, SV_WAIT);
    sv.ended = 1;
    return 0;               /* the last worker serves on */
}

hs_status sweep_supervisor_setup(void *arg)
{
    (void)arg;
    memset(&sv, 0, sizeof sv);
    return hs_proc_spawn("supervise", sv_init, NULL, NULL, NULL);
}

hs_status sweep_supervisor_check(void *arg, hs_status run)
{
    (void)arg;
    if (run != HS_OK)
        return sweep_why("run ended with %s", hs_strerror(run));
    if (sv.wrong)
        return sweep_why("%d echoes came back wrong", sv.wrong);
    if (sv.stats.exits > sv.stats.started ||
        sv.stats.started > sv_cfg.restarts_max + 1)
        return sweep_why("%u workers started, %u exits, limit %u",
                         sv.stats.started, sv.stats.exits,
                         sv_cfg.restarts_max);
    if (sweep_fault_fired())
        return HS_OK;
    int bad = 0;
    unsigned other = sweep_bad_exits(SUPERVISOR_CRASH, &bad);
    if (!sv.ended || sv.echoed != SV_CLIENTS * SV_ROUNDS ||
        sv.first_error != HS_OK || sv.stopped != HS_OK ||
        sv.stats.started != 5 ||
        sv.stats.registered != 5 || sv.stats.exits != 4 ||
        sv.stats.last_status != SUPERVISOR_CRASH || other)
        return sweep_why("fault-free run: %d echoes, first error %s, "
                         "stop %s, %u workers, %u exits (last %d), %u "
                         "other failed exits (%d)", sv.echoed,
                         hs_strerror(sv.first_error),
                         hs_strerror(sv.stopped), sv.stats.started,
                         sv.stats.exits, sv.stats.last_status, other, bad);
    return HS_OK;
}
