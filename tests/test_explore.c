/*
 * tests/test_explore.c - the exploration harness on the racy counter of
 * examples/racy.h: the lost update is found within 1,000 seeds with the
 * random strategy and with PCT, the reported seed (and the printed
 * command) replays it, the fix survives the sweep, and the determinism
 * check finds no difference for one seed and the first differing event
 * for two seeds.  Also PCT's own behaviour and argument checks.
 *
 * The sweeps of the fix use 2,000 seeds per strategy here (200 under
 * Valgrind); `make explore` runs 10,000.
 */
#include "testutil.h"

#include "examples/racy.h"

static struct racy_state racy = {.fixed = 0};
static struct racy_state fixed = {.fixed = 1};

static const hs_scenario racy_sc = {
    .name = "racy", .setup = racy_setup, .check = racy_check, .arg = &racy,
};
static const hs_scenario fixed_sc = {
    .name = "fixed", .setup = racy_setup, .check = racy_check, .arg = &fixed,
};

static hs_explore_opts opts(hs_strategy strategy, unsigned depth,
                            uint64_t seeds)
{
    hs_explore_opts o = HS_EXPLORE_DEFAULTS;
    o.cfg = tu_config();
    o.cfg.strategy = strategy;
    o.cfg.pct_depth = depth;
    o.seeds = seeds;
    return o;
}

static uint64_t fix_seeds(void)
{
    return tu_under_valgrind() ? 200 : 2000;
}

/* ---- the planted bug */

static void test_plain_run_hides_the_lost_update(void **state)
{
    (void)state;
    hs_sim_config cfg = tu_config();        /* no seed */
    hs_explore_result r;
    assert_int_equal(hs_explore_one(&racy_sc, &cfg, &r), HS_OK);
    assert_false(r.found);
    assert_int_equal(racy.final, RACY_CLIENTS * RACY_ROUNDS);
}

/* A failure found by a sweep fails again, the same way, with the
 * configuration it reports. */
static void assert_replays(const hs_explore_result *r)
{
    hs_explore_result again;
    assert_int_equal(r->cfg.seed, r->seed);
    assert_int_equal(hs_explore_one(&racy_sc, &r->cfg, &again),
                     HS_ECHECK);
    assert_true(again.found);
    assert_int_equal(again.summary.hash, r->summary.hash);
    assert_int_equal(again.summary.events, r->summary.events);
    assert_true(racy.final < RACY_CLIENTS * RACY_ROUNDS);   /* lost */
}

static void test_random_strategy_finds_the_lost_update(void **state)
{
    (void)state;
    hs_explore_opts o = opts(HS_STRATEGY_RANDOM, 0, 1000);
    hs_explore_result r;
    assert_int_equal(hs_explore(&racy_sc, &o, &r), HS_ECHECK);
    assert_true(r.found);
    assert_true(r.runs >= 1 && r.runs <= 1000);
    assert_int_equal(r.seed, r.runs - 1);
    assert_int_equal(r.run, HS_OK);
    assert_int_equal(r.check, HS_ECHECK);
    assert_int_equal(r.summary.nfaults, 0);
    assert_replays(&r);
}

static void test_pct_finds_the_lost_update(void **state)
{
    (void)state;
    hs_explore_opts o = opts(HS_STRATEGY_PCT, 3, 1000);
    o.first_seed = 100;
    hs_explore_result r;
    assert_int_equal(hs_explore(&racy_sc, &o, &r), HS_ECHECK);
    assert_true(r.runs <= 1000);
    assert_int_equal(r.seed, 100 + r.runs - 1);
    assert_int_equal(r.cfg.strategy, HS_STRATEGY_PCT);
    assert_int_equal(r.cfg.pct_depth, 3);
    assert_true(r.cfg.pct_steps > 0);       /* calibrated */
    assert_true(r.cfg.pct_steps < HS_PCT_STEPS_DEFAULT);
    assert_replays(&r);
}

/* The lost update needs one ordering constraint (the other GET between
 * a GET and its SET): PCT of depth 1 runs each client to the end, so it
 * cannot find it; depth 2 can. */
static void test_pct_depth_one_cannot_find_a_depth_two_bug(void **state)
{
    (void)state;
    hs_explore_opts o = opts(HS_STRATEGY_PCT, 1, 300);
    hs_explore_result r;
    assert_int_equal(hs_explore(&racy_sc, &o, &r), HS_OK);
    assert_int_equal(r.runs, 300);
    o.cfg.pct_depth = 2;
    assert_int_equal(hs_explore(&racy_sc, &o, &r), HS_ECHECK);
}

/* The command printed for a failure replays it through the command
 * line: split it and hand it to hs_explore_main(). */
static void test_replay_command_replays_the_failure(void **state)
{
    (void)state;
    hs_explore_opts o = opts(HS_STRATEGY_PCT, 2, 1000);
    hs_explore_result r;
    assert_int_equal(hs_explore(&racy_sc, &o, &r), HS_ECHECK);
    char cmd[512];
    assert_int_equal(hs_explore_command("racy", "racy", &r.cfg, cmd,
                                        sizeof cmd), HS_OK);
    char want[200];
    snprintf(want, sizeof want, "racy --scenario racy --strategy pct "
             "--depth 2 --steps %llu --seed %llu",
             (unsigned long long)r.cfg.pct_steps,
             (unsigned long long)r.seed);
    assert_string_equal(cmd, want);
    char *argv[32];
    int argc = 0;
    for (char *save, *t = strtok_r(cmd, " ", &save); t && argc < 31;
         t = strtok_r(NULL, " ", &save))
        argv[argc++] = t;
    argv[argc] = NULL;
    const hs_scenario both[] = {racy_sc, fixed_sc};
    assert_int_equal(hs_explore_main(argc, argv, both, 2), 1);
    assert_true(racy.final < RACY_CLIENTS * RACY_ROUNDS);
    /* The same schedule with the fix passes. */
    argv[2] = "fixed";
    assert_int_equal(hs_explore_main(argc, argv, both, 2), 0);
    assert_int_equal(fixed.final, RACY_CLIENTS * RACY_ROUNDS);
}

/* ---- the fix */

static void test_fix_survives_random_seeds(void **state)
{
    (void)state;
    hs_explore_opts o = opts(HS_STRATEGY_RANDOM, 0, fix_seeds());
    hs_explore_result r;
    assert_int_equal(hs_explore(&fixed_sc, &o, &r), HS_OK);
    assert_false(r.found);
    assert_int_equal(r.runs, fix_seeds());
}

static void test_fix_survives_pct_seeds(void **state)
{
    (void)state;
    hs_explore_opts o = opts(HS_STRATEGY_PCT, 3, fix_seeds());
    hs_explore_result r;
    assert_int_equal(hs_explore(&fixed_sc, &o, &r), HS_OK);
    assert_int_equal(r.runs, fix_seeds());
}

/* The fix is exercised, not bypassed: some seeds make a CAS retry. */
static void test_fix_retries_under_some_seeds(void **state)
{
    (void)state;
    unsigned retried = 0;
    for (uint64_t seed = 0; seed < 50; seed++) {
        hs_sim_config cfg = tu_config();
        cfg.seed = seed;
        hs_explore_result r;
        assert_int_equal(hs_explore_one(&fixed_sc, &cfg, &r), HS_OK);
        retried += fixed.retries > 0;
    }
    assert_true(retried > 0);
}

/* ---- determinism */

static void test_same_seed_twice_does_not_differ(void **state)
{
    (void)state;
    hs_sim_config cfg = tu_config();
    cfg.seed = 7;
    cfg.strategy = HS_STRATEGY_PCT;
    cfg.pct_steps = 20;
    hs_explore_diff d;
    assert_int_equal(hs_explore_compare(&racy_sc, &cfg, &cfg, 0, &d), HS_OK);
    assert_false(d.differ);
    assert_int_equal(d.sa.hash, d.sb.hash);
    assert_int_equal(d.sa.events, d.sb.events);
    assert_true(d.sa.events > 0);
}

/* Every event of a run, for checking the comparison independently. */
#define MAXEV 4096
struct evrec {
    unsigned n;
    hs_explore_event ev[MAXEV];
};
static struct evrec rec_a, rec_b;

static void rec_event(void *cookie, const hs_event *ev)
{
    struct evrec *r = cookie;
    if (r->n < MAXEV) {
        hs_explore_event *e = &r->ev[r->n++];
        e->seq = ev->seq;
        e->time = ev->time;
        e->kind = ev->kind;
        e->thread = ev->thread;
        e->a = ev->a;
        e->b = ev->b;
    }
}

static int same_event(const hs_explore_event *x, const hs_explore_event *y)
{
    return x->time == y->time && strcmp(x->kind, y->kind) == 0 &&
           x->thread == y->thread && x->a == y->a && x->b == y->b;
}

static void test_two_seeds_differ_at_their_first_differing_event(
    void **state)
{
    (void)state;
    hs_sim_config a = tu_config(), b = tu_config();
    a.seed = 1;
    b.seed = 2;
    hs_explore_diff d;
    assert_int_equal(hs_explore_compare(&racy_sc, &a, &b, 0, &d), HS_OK);
    assert_true(d.differ);
    assert_false(d.beyond_log);
    assert_true(d.sa.hash != d.sb.hash);
    /* Record both runs on their own and find the first difference. */
    hs_explore_result r;
    memset(&rec_a, 0, sizeof rec_a);
    memset(&rec_b, 0, sizeof rec_b);
    a.event_fn = rec_event;
    a.event_cookie = &rec_a;
    b.event_fn = rec_event;
    b.event_cookie = &rec_b;
    hs_explore_one(&racy_sc, &a, &r);
    hs_explore_one(&racy_sc, &b, &r);
    unsigned first = 0;
    while (first < rec_a.n && first < rec_b.n &&
           same_event(&rec_a.ev[first], &rec_b.ev[first]))
        first++;
    assert_int_equal(d.at, first);
    assert_true(d.have_a && d.have_b);
    assert_int_equal(d.a.seq, first);
    assert_int_equal(d.b.seq, first);
    assert_true(same_event(&d.a, &rec_a.ev[first]));
    assert_true(same_event(&d.b, &rec_b.ev[first]));
    assert_false(same_event(&d.a, &d.b));
}

/* With a log shorter than the common prefix, the difference is reported
 * as lying after the log. */
static void test_difference_past_the_log_is_reported_as_such(void **state)
{
    (void)state;
    hs_sim_config a = tu_config(), b = tu_config();
    a.seed = 1;
    b.seed = 2;
    hs_explore_diff d;
    assert_int_equal(hs_explore_compare(&racy_sc, &a, &b, 0, &d), HS_OK);
    assert_true(d.at > 2);
    size_t keep = (size_t)d.at - 1;
    assert_int_equal(hs_explore_compare(&racy_sc, &a, &b, keep, &d), HS_OK);
    assert_true(d.differ);
    assert_true(d.beyond_log);
    assert_int_equal(d.at, keep);
}

static void test_determinism_command_line(void **state)
{
    (void)state;
    const hs_scenario both[] = {racy_sc, fixed_sc};
    char *same[] = {"racy", "--seed", "3", "--check-determinism", NULL};
    assert_int_equal(hs_explore_main(4, same, both, 2), 0);
    char *other[] = {"racy", "--seed", "1", "--check-determinism",
                     "--against", "2", NULL};
    assert_int_equal(hs_explore_main(6, other, both, 2), 1);
}

/* ---- PCT in the scheduler */

static void test_pct_run_reports_its_settings_and_is_deterministic(
    void **state)
{
    (void)state;
    hs_sim_config cfg = tu_config();
    cfg.seed = 11;
    cfg.strategy = HS_STRATEGY_PCT;
    cfg.pct_depth = 4;
    cfg.pct_steps = 30;
    hs_explore_result r1, r2;
    hs_explore_one(&racy_sc, &cfg, &r1);
    hs_explore_one(&racy_sc, &cfg, &r2);
    assert_int_equal(r1.summary.strategy, HS_STRATEGY_PCT);
    assert_int_equal(r1.summary.pct_depth, 4);
    assert_int_equal(r1.summary.pct_steps, 30);
    assert_true(r1.summary.sched_points > 0);
    assert_int_equal(r1.summary.hash, r2.summary.hash);
    /* Another strategy with the same seed is another schedule. */
    cfg.strategy = HS_STRATEGY_RANDOM;
    hs_explore_one(&racy_sc, &cfg, &r2);
    assert_true(r1.summary.hash != r2.summary.hash);
}

static void test_strategy_and_depth_come_from_the_environment(void **state)
{
    (void)state;
    hs_sim_config cfg = tu_config();
    cfg.seed = 5;
    setenv("HOPSIM_STRATEGY", "pct", 1);
    setenv("HOPSIM_PCT_DEPTH", "2", 1);
    setenv("HOPSIM_PCT_STEPS", "40", 1);
    hs_explore_result r;
    hs_status st = hs_explore_one(&racy_sc, &cfg, &r);
    setenv("HOPSIM_STRATEGY", "sideways", 1);
    hs_status bad = hs_sim_start(&cfg);
    unsetenv("HOPSIM_STRATEGY");
    unsetenv("HOPSIM_PCT_DEPTH");
    unsetenv("HOPSIM_PCT_STEPS");
    assert_true(st == HS_OK || st == HS_ECHECK);
    assert_int_equal(r.summary.strategy, HS_STRATEGY_PCT);
    assert_int_equal(r.summary.pct_depth, 2);
    assert_int_equal(r.summary.pct_steps, 40);
    assert_int_equal(bad, HS_EINVAL);
}

/* ---- arguments */

static hs_status no_setup(void *arg)
{
    (void)arg;
    return HS_OK;
}

static hs_status pass_check(void *arg, hs_status run)
{
    (void)arg;
    return run;
}

static void test_bad_arguments_are_refused(void **state)
{
    (void)state;
    hs_explore_opts o = opts(HS_STRATEGY_RANDOM, 0, 10);
    hs_explore_result r;
    hs_explore_diff d;
    hs_scenario bad = racy_sc;
    assert_int_equal(hs_explore_compare(&racy_sc, NULL, NULL, 0, NULL),
                     HS_EINVAL);
    assert_int_equal(hs_explore_compare(NULL, NULL, NULL, 0, &d),
                     HS_EINVAL);
    assert_int_equal(hs_explore(NULL, &o, &r), HS_EINVAL);
    assert_int_equal(hs_explore(&racy_sc, NULL, &r), HS_EINVAL);
    assert_int_equal(hs_explore(&racy_sc, &o, NULL), HS_EINVAL);
    bad.check = NULL;
    assert_int_equal(hs_explore(&bad, &o, &r), HS_EINVAL);
    bad = racy_sc;
    bad.name = "";
    assert_int_equal(hs_explore(&bad, &o, &r), HS_EINVAL);
    o.seeds = 0;
    assert_int_equal(hs_explore(&racy_sc, &o, &r), HS_EINVAL);
    o.seeds = 2;
    o.first_seed = HS_SEED_MAX;
    assert_int_equal(hs_explore(&racy_sc, &o, &r), HS_EINVAL);
    assert_int_equal(hs_explore_one(NULL, NULL, &r), HS_EINVAL);
    /* A configuration hs_sim_start() refuses stops the sweep. */
    o = opts(HS_STRATEGY_PCT, HS_PCT_DEPTH_MAX + 1, 10);
    assert_int_equal(hs_explore(&racy_sc, &o, &r), HS_EINVAL);
    o = opts(HS_STRATEGY_RANDOM, 0, 10);
    o.cfg.strategy = (hs_strategy)7;
    assert_int_equal(hs_explore(&racy_sc, &o, &r), HS_EINVAL);
    /* A scenario whose setup spawns nothing runs and passes. */
    hs_scenario empty = {.name = "empty", .setup = no_setup,
                         .check = pass_check};
    o = opts(HS_STRATEGY_RANDOM, 0, 3);
    assert_int_equal(hs_explore(&empty, &o, &r), HS_OK);
    assert_int_equal(r.runs, 3);
    /* Inside a started simulation: refused, nothing run. */
    hs_sim_config cfg = tu_config();
    assert_int_equal(hs_sim_start(&cfg), HS_OK);
    assert_int_equal(hs_explore(&racy_sc, &o, &r), HS_ESTATE);
    assert_int_equal(hs_sim_run(), HS_OK);
}

static void test_command_formatting(void **state)
{
    (void)state;
    hs_sim_config cfg = tu_config();
    char buf[200];
    assert_int_equal(hs_explore_command("p", NULL, &cfg, buf, sizeof buf),
                     HS_EINVAL);            /* no seed */
    cfg.seed = 42;
    assert_int_equal(hs_explore_command("p", NULL, &cfg, buf, sizeof buf),
                     HS_OK);
    assert_string_equal(buf, "p --seed 42");
    cfg.faults = HS_FAULT_ALL;
    cfg.fault_window = 5;
    assert_int_equal(hs_explore_command("p", "s", &cfg, buf, sizeof buf),
                     HS_OK);
    assert_string_equal(buf, "p --scenario s --faults kill,reply-timeout,frame "
                        "--fault-window 5 --seed 42");
    assert_int_equal(hs_explore_command("p", "s", &cfg, buf, 10), HS_EINVAL);
    assert_int_equal(hs_explore_command("p", "s", &cfg, NULL, 10), HS_EINVAL);
    /* Usage errors of the command line: exit status 2. */
    const hs_scenario one[] = {racy_sc};
    char *bad1[] = {"racy", "--strategy", "sideways", NULL};
    char *bad2[] = {"racy", "--seeds", "10", "--seed", "3", NULL};
    char *bad3[] = {"racy", "--scenario", "nope", NULL};
    assert_int_equal(hs_explore_main(3, bad1, one, 1), 2);
    assert_int_equal(hs_explore_main(5, bad2, one, 1), 2);
    assert_int_equal(hs_explore_main(3, bad3, one, 1), 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        TU_TEST(test_plain_run_hides_the_lost_update),
        TU_TEST(test_random_strategy_finds_the_lost_update),
        TU_TEST(test_pct_finds_the_lost_update),
        TU_TEST(test_pct_depth_one_cannot_find_a_depth_two_bug),
        TU_TEST(test_replay_command_replays_the_failure),
        TU_TEST(test_fix_survives_random_seeds),
        TU_TEST(test_fix_survives_pct_seeds),
        TU_TEST(test_fix_retries_under_some_seeds),
        TU_TEST(test_same_seed_twice_does_not_differ),
        TU_TEST(test_two_seeds_differ_at_their_first_differing_event),
        TU_TEST(test_difference_past_the_log_is_reported_as_such),
        TU_TEST(test_determinism_command_line),
        TU_TEST(test_pct_run_reports_its_settings_and_is_deterministic),
        TU_TEST(test_strategy_and_depth_come_from_the_environment),
        TU_TEST(test_bad_arguments_are_refused),
        TU_TEST(test_command_formatting),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
