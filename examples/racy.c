/*
 * examples/racy.c - a racy counter protocol and its fix, explored across
 * seeds (the scenario is in examples/racy.h).
 *
 *   racy                                       one plain run: passes
 *   racy --seeds 1000 --strategy pct --depth 3 finds the lost update and
 *                                              prints the replay command
 *   racy --seed 5                              replays seed 5
 *   racy --scenario fixed --seeds 10000        the fix survives
 *   racy --seed 5 --check-determinism          the same seed twice
 *
 * See hopsim/explore.h for every option.  Prints, after each verbose run,
 * the counter's final value.
 */
#include <inttypes.h>
#include <stdio.h>

#include "racy.h"

static struct racy_state racy = {.fixed = 0};
static struct racy_state fixed = {.fixed = 1};

static hs_status check_and_say(void *arg, hs_status run)
{
    struct racy_state *s = arg;
    hs_status st = racy_check(arg, run);
    if (st != HS_OK)
        fprintf(stderr, "racy: counter ended at %" PRIu64 ", want %d "
                "(%u of %d clients finished)\n", s->final,
                RACY_CLIENTS * RACY_ROUNDS, s->done, RACY_CLIENTS);
    return st;
}

int main(int argc, char **argv)
{
    const hs_scenario scenarios[] = {
        {.name = "racy", .setup = racy_setup, .check = check_and_say,
         .arg = &racy},
        {.name = "fixed", .setup = racy_setup, .check = check_and_say,
         .arg = &fixed},
    };
    return hs_explore_main(argc, argv, scenarios, 2);
}
