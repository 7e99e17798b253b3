/*
 * tests/sweep/tour.c - the parts of the tour (examples/tour.c) as sweep
 * scenarios.  The tour is a program whose parts are static functions; it
 * is compiled here once more, its main() renamed, so that each part's
 * spawn function can be run under any seed.  What the parts print goes
 * wherever the sweep sends stdout.
 */
#include "sweep.h"

int tour_main(int argc, char **argv);
#define main tour_main
#include "examples/tour.c"
#undef main

/* A part: its spawn function, and the one exit status other than 0 its
 * processes end with when nothing goes wrong (part 3's child exits with
 * 7). */
struct part {
    void (*spawn)(void);
    int status;
};

static hs_status part_setup(void *arg)
{
    const struct part *p = arg;
    p->spawn();
    return HS_OK;
}

/* A part is right if its run ends and, when no fault fired, every process
 * that ended did so with its part's status: each part reports a partner
 * it lost, or a call that failed, in its exit status.  What a part prints
 * the tour checks only by eye. */
static hs_status part_check(void *arg, hs_status run)
{
    const struct part *p = arg;
    int status = 0;
    unsigned bad;
    if (run != HS_OK)
        return sweep_why("run ended with %s", hs_strerror(run));
    if (!sweep_fault_fired() && (bad = sweep_bad_exits(p->status, &status)))
        return sweep_why("fault-free run: %u process(es) ended with status "
                         "%d", bad, status);
    return HS_OK;
}

#define PART(n, f, st) \
    {.name = n, .setup = part_setup, .check = part_check, \
     .arg = &(struct part){.spawn = f, .status = st}}

const hs_scenario sweep_tour_scenarios[] = {
    PART("tour-players", spawn_players, 0),
    PART("tour-nappers", spawn_nappers, 0),
    PART("tour-family", spawn_family, 7),
    PART("tour-echo", spawn_echo, 0),
    PART("tour-chain", spawn_chain, 0),
    PART("tour-names", spawn_init, 0),
    PART("tour-fifo", spawn_fifo, 0),
};
const unsigned sweep_tour_nscenarios =
    sizeof sweep_tour_scenarios / sizeof sweep_tour_scenarios[0];
