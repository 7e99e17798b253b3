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

static hs_status part_setup(void *arg)
{
    void (*spawn)(void) = (void (*)(void))arg;
    spawn();
    return HS_OK;
}

/* A part is right if its run ends: the tour checks its own output only
 * by eye. */
static hs_status part_check(void *arg, hs_status run)
{
    (void)arg;
    return run == HS_OK ? HS_OK
                        : sweep_why("run ended with %s", hs_strerror(run));
}

#define PART(n, f) \
    {.name = n, .setup = part_setup, .check = part_check, .arg = (void *)f}

const hs_scenario sweep_tour_scenarios[] = {
    PART("tour-players", spawn_players),
    PART("tour-nappers", spawn_nappers),
    PART("tour-family", spawn_family),
    PART("tour-echo", spawn_echo),
    PART("tour-chain", spawn_chain),
    PART("tour-names", spawn_init),
    PART("tour-fifo", spawn_fifo),
};
const unsigned sweep_tour_nscenarios =
    sizeof sweep_tour_scenarios / sizeof sweep_tour_scenarios[0];
