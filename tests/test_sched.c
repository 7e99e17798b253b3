/*
 * tests/test_sched.c - the scheduler: priority order, FIFO within a
 * priority, yielding, preemption by priority, and seeded schedules.
 *
 * Simulated threads append to a log; the test compares the log after
 * hs_sim_run() returns.
 */
#include <unistd.h>

#include "testutil.h"

static struct tu_log order;

/* A thread that records its id once and ends. */
static int record_id(void *arg)
{
    tu_log_add(&order, tu_arg_id(arg));
    return tu_arg_id(arg);
}

static hs_proc_attr prio_attr(int prio)
{
    hs_proc_attr a = { .priority = prio, .priority_set = 1 };
    return a;
}

static hs_thread_attr thread_prio(int prio)
{
    hs_thread_attr a = { .priority = prio, .priority_set = 1 };
    return a;
}

/* ---- priority, then FIFO */

static const int fifo_prio[8] = { 5, 20, 5, 20, 10, 30, 10, 5 };
static int fifo_value[8];

/* Runs at priority 31: creates all eight before any can run. */
static int create_mixed_priorities(void *arg)
{
    (void)arg;
    hs_tid_t tid[8] = { 0 };
    for (int i = 0; i < 8; i++) {
        hs_thread_attr a = thread_prio(fifo_prio[i]);
        EXPECT_ST(hs_thread_create(record_id, tu_id_arg(i), &a, &tid[i]),
                  HS_OK);
    }
    tu_log_add(&order, 100);
    for (int i = 0; i < 8; i++)
        EXPECT_ST(hs_thread_join(tid[i], HS_NEVER, &fifo_value[i]), HS_OK);
    return 0;
}

static void test_higher_priority_first_fifo_within_priority(void **state)
{
    (void)state;
    tu_log_reset(&order);
    for (int i = 0; i < 8; i++)
        fifo_value[i] = -1;
    hs_sim_config cfg = tu_config();
    hs_proc_attr pa = prio_attr(HS_PRIO_MAX);
    assert_int_equal(tu_run(&cfg, "mixed", create_mixed_priorities, NULL,
                            &pa), HS_OK);
    assert_no_bad_status();
    /* The creator (31) creates all eight first; then 30: 5; 20: 1, 3;
     * 10: 4, 6; 5: 0, 2, 7. */
    static const int want[] = { 100, 5, 1, 3, 4, 6, 0, 2, 7 };
    assert_log(&order, want, sizeof want / sizeof want[0]);
    for (int i = 0; i < 8; i++)
        assert_int_equal(fifo_value[i], i);
}

/* ---- yield */

static int yield_three_times(void *arg)
{
    for (int round = 0; round < 3; round++) {
        tu_log_add(&order, tu_arg_id(arg));
        EXPECT_ST(hs_thread_yield(), HS_OK);
    }
    return 0;
}

static int create_yielders(void *arg)
{
    (void)arg;
    hs_tid_t tid[4] = { 0 };
    hs_thread_attr eq = thread_prio(10), low = thread_prio(5);
    for (int i = 0; i < 3; i++)
        EXPECT_ST(hs_thread_create(yield_three_times, tu_id_arg(i), &eq,
                                   &tid[i]), HS_OK);
    EXPECT_ST(hs_thread_create(record_id, tu_id_arg(9), &low, &tid[3]), HS_OK);
    for (int i = 0; i < 4; i++)
        EXPECT_ST(hs_thread_join(tid[i], HS_NEVER, NULL), HS_OK);
    return 0;
}

static void test_yield_round_robins_among_equal_priority(void **state)
{
    (void)state;
    tu_log_reset(&order);
    hs_sim_config cfg = tu_config();
    hs_proc_attr pa = prio_attr(HS_PRIO_MAX);
    assert_int_equal(tu_run(&cfg, "yield", create_yielders, NULL, &pa),
                     HS_OK);
    assert_no_bad_status();
    /* Yield passes the CPU round-robin at priority 10, never down to the
     * priority-5 thread while a priority-10 thread can run. */
    static const int want[] = { 0, 1, 2, 0, 1, 2, 0, 1, 2, 9 };
    assert_log(&order, want, sizeof want / sizeof want[0]);
}

/* A lone thread's yield returns at once: lower priorities do not run. */
static int yield_alone(void *arg)
{
    (void)arg;
    hs_tid_t low = 0;
    hs_thread_attr a = thread_prio(HS_PRIO_MIN);
    EXPECT_ST(hs_thread_create(record_id, tu_id_arg(2), &a, &low), HS_OK);
    tu_log_add(&order, 1);
    for (int i = 0; i < 5; i++)
        EXPECT_ST(hs_thread_yield(), HS_OK);
    tu_log_add(&order, 3);
    EXPECT_ST(hs_thread_join(low, HS_NEVER, NULL), HS_OK);
    return 0;
}

static void test_yield_without_equal_thread_keeps_running(void **state)
{
    (void)state;
    tu_log_reset(&order);
    assert_int_equal(tu_run_default("alone", yield_alone, NULL), HS_OK);
    assert_no_bad_status();
    static const int want[] = { 1, 3, 2 };
    assert_log(&order, want, 3);
}

/* ---- preemption by priority */

static int create_higher_then_equal(void *arg)
{
    (void)arg;
    hs_tid_t hi = 0, eq = 0, lo = 0;
    hs_thread_attr ha = thread_prio(HS_PRIO_DEFAULT + 4);
    hs_thread_attr ea = thread_prio(HS_PRIO_DEFAULT);
    hs_thread_attr la = thread_prio(HS_PRIO_DEFAULT - 6);
    tu_log_add(&order, 1);
    EXPECT_ST(hs_thread_create(record_id, tu_id_arg(2), &ha, &hi), HS_OK);
    tu_log_add(&order, 3);
    EXPECT_ST(hs_thread_create(record_id, tu_id_arg(4), &ea, &eq), HS_OK);
    EXPECT_ST(hs_thread_create(record_id, tu_id_arg(6), &la, &lo), HS_OK);
    tu_log_add(&order, 5);
    EXPECT_ST(hs_thread_join(hi, HS_NEVER, NULL), HS_OK);
    EXPECT_ST(hs_thread_join(eq, HS_NEVER, NULL), HS_OK);
    EXPECT_ST(hs_thread_join(lo, HS_NEVER, NULL), HS_OK);
    return 0;
}

static void test_higher_priority_thread_runs_before_creator_continues(
    void **state)
{
    (void)state;
    tu_log_reset(&order);
    assert_int_equal(tu_run_default("creator", create_higher_then_equal,
                                    NULL), HS_OK);
    assert_no_bad_status();
    /* The priority-20 thread runs inside the create call; the equal and
     * lower ones wait until the creator blocks. */
    static const int want[] = { 1, 2, 3, 5, 4, 6 };
    assert_log(&order, want, 6);
}

static int seen_prio[3];

static int lower_own_priority(void *arg)
{
    (void)arg;
    hs_tid_t t = 0, self = hs_thread_self();
    hs_thread_attr a = thread_prio(15);
    EXPECT_ST(hs_thread_create(record_id, tu_id_arg(2), &a, &t), HS_OK);
    tu_log_add(&order, 1);
    /* Still above the runnable thread: no yield. */
    EXPECT_ST(hs_thread_set_priority(self, 18), HS_OK);
    EXPECT_ST(hs_thread_get_priority(self, &seen_prio[0]), HS_OK);
    tu_log_add(&order, 3);
    /* Below it: the priority-15 thread runs now. */
    EXPECT_ST(hs_thread_set_priority(self, 10), HS_OK);
    EXPECT_ST(hs_thread_get_priority(self, &seen_prio[1]), HS_OK);
    tu_log_add(&order, 4);
    EXPECT_ST(hs_thread_join(t, HS_NEVER, NULL), HS_OK);
    return 0;
}

static void test_lowering_own_priority_below_runnable_thread_yields(
    void **state)
{
    (void)state;
    tu_log_reset(&order);
    seen_prio[0] = seen_prio[1] = -1;
    hs_sim_config cfg = tu_config();
    hs_proc_attr pa = prio_attr(20);
    assert_int_equal(tu_run(&cfg, "lower", lower_own_priority, NULL, &pa),
                     HS_OK);
    assert_no_bad_status();
    static const int want[] = { 1, 3, 2, 4 };
    assert_log(&order, want, 4);
    assert_int_equal(seen_prio[0], 18);
    assert_int_equal(seen_prio[1], 10);
}

static int raise_other_priority(void *arg)
{
    (void)arg;
    hs_tid_t t = 0;
    hs_thread_attr a = thread_prio(HS_PRIO_DEFAULT - 6);
    EXPECT_ST(hs_thread_create(record_id, tu_id_arg(2), &a, &t), HS_OK);
    tu_log_add(&order, 1);
    EXPECT_ST(hs_thread_set_priority(t, HS_PRIO_DEFAULT + 4), HS_OK);
    tu_log_add(&order, 3);
    EXPECT_ST(hs_thread_join(t, HS_NEVER, NULL), HS_OK);
    return 0;
}

static void test_raising_runnable_thread_above_caller_preempts_caller(
    void **state)
{
    (void)state;
    tu_log_reset(&order);
    assert_int_equal(tu_run_default("raise", raise_other_priority, NULL),
                     HS_OK);
    assert_no_bad_status();
    static const int want[] = { 1, 2, 3 };
    assert_log(&order, want, 3);
}

/* ---- determinism and seeds */

#define RACERS 4
#define RACE_ROUNDS 20

static struct tu_log *race_log;

static int racer(void *arg)
{
    for (int i = 0; i < RACE_ROUNDS; i++) {
        tu_log_add(race_log, tu_arg_id(arg));
        EXPECT_ST(hs_thread_yield(), HS_OK);
    }
    return tu_arg_id(arg);
}

static int start_race(void *arg)
{
    (void)arg;
    hs_tid_t tid[RACERS] = { 0 };
    for (int i = 0; i < RACERS; i++)
        EXPECT_ST(hs_thread_create(racer, tu_id_arg(i), NULL, &tid[i]), HS_OK);
    for (int i = 0; i < RACERS; i++) {
        int v = -1;
        EXPECT_ST(hs_thread_join(tid[i], HS_NEVER, &v), HS_OK);
        if (v != i)
            tu_log_add(race_log, -1000 - i);    /* wrong exit value */
    }
    return 0;
}

/* Run the race with the given seed into *log; return the summary. */
static hs_sim_summary run_race(uint64_t seed, struct tu_log *log)
{
    tu_log_reset(log);
    race_log = log;
    hs_sim_config cfg = tu_config();
    cfg.seed = seed;
    assert_int_equal(tu_run(&cfg, "race", start_race, NULL, NULL), HS_OK);
    assert_no_bad_status();
    assert_int_equal(tu_log_len(log), RACERS * RACE_ROUNDS);
    return tu_summary();
}

static struct tu_log race_a, race_b;
static struct tu_log race_seed[10];

static void test_unseeded_order_is_identical_across_runs(void **state)
{
    (void)state;
    hs_sim_summary a = run_race(HS_SEED_NONE, &race_a);
    hs_sim_summary b = run_race(HS_SEED_NONE, &race_b);
    assert_true(tu_log_equal(&race_a, &race_b));
    assert_true(a.seed == HS_SEED_NONE);
    assert_true(b.seed == HS_SEED_NONE);
    assert_true(a.hash == b.hash);
    assert_true(a.events == b.events);
    assert_true(a.switches == b.switches);
    /* Without a seed the yields are strictly round-robin. */
    int want[RACERS * RACE_ROUNDS];
    for (int i = 0; i < RACERS * RACE_ROUNDS; i++)
        want[i] = i % RACERS;
    assert_log(&race_a, want, RACERS * RACE_ROUNDS);
}

static void test_same_seed_replays_identical_interleaving_and_hash(
    void **state)
{
    (void)state;
    hs_sim_summary a = run_race(7, &race_a);
    hs_sim_summary b = run_race(7, &race_b);
    assert_true(tu_log_equal(&race_a, &race_b));
    assert_true(a.seed == 7);
    assert_true(a.hash == b.hash);
    assert_true(a.events == b.events);
    assert_true(a.switches == b.switches);
}

static void test_different_seeds_give_different_interleavings(void **state)
{
    (void)state;
    unsigned distinct = 0;
    for (int s = 0; s < 10; s++) {
        hs_sim_summary first = run_race((uint64_t)s + 1, &race_seed[s]);
        hs_sim_summary again = run_race((uint64_t)s + 1, &race_a);
        assert_true(first.seed == (uint64_t)s + 1);
        assert_true(tu_log_equal(&race_seed[s], &race_a));
        assert_true(first.hash == again.hash);
        int seen = 0;
        for (int p = 0; p < s && !seen; p++)
            seen = tu_log_equal(&race_seed[p], &race_seed[s]);
        if (!seen)
            distinct++;
    }
    assert_true(distinct >= 2);
    /* A seed that did not change the order at all would be suspicious:
     * at least one seeded log differs from plain round-robin. */
    run_race(HS_SEED_NONE, &race_b);
    int differs = 0;
    for (int s = 0; s < 10; s++)
        differs |= !tu_log_equal(&race_seed[s], &race_b);
    assert_true(differs);
}

/* ---- the event stream */

/* Sets its own priority to the value in arg, then ends: one "priority"
 * event whose value is arg, and nothing else that depends on it. */
static int set_own_priority(void *arg)
{
    EXPECT_ST(hs_thread_set_priority(hs_thread_self(), tu_arg_id(arg)), HS_OK);
    return 0;
}

static hs_sim_summary run_set_priority(int prio)
{
    hs_sim_config cfg = tu_config();
    assert_int_equal(tu_run(&cfg, "prio", set_own_priority, tu_id_arg(prio),
                            NULL), HS_OK);
    assert_no_bad_status();
    return tu_summary();
}

static void test_hash_changes_with_one_event_value(void **state)
{
    (void)state;
    hs_sim_summary a = run_set_priority(3);
    hs_sim_summary b = run_set_priority(4);
    hs_sim_summary a2 = run_set_priority(3);
    assert_true(a.events == b.events);
    assert_true(a.hash != b.hash);
    assert_true(a.hash == a2.hash);
}

/* The text log names each event's kind. */
static void test_event_log_names_kinds(void **state)
{
    (void)state;
    char path[] = "/tmp/hopsim-test-log-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    hs_sim_config cfg = tu_config();
    cfg.log_path = path;
    assert_int_equal(tu_run(&cfg, "log", set_own_priority, tu_id_arg(7), NULL),
                     HS_OK);
    assert_no_bad_status();
    hs_sim_summary s = tu_summary();
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char line[256], kind[64];
    unsigned long long seq, vtime;
    unsigned lines = 0, created = 0, prio = 0, ended = 0;
    while (fgets(line, sizeof line, f)) {
        assert_int_equal(sscanf(line, "%llu %llu %63s", &seq, &vtime, kind),
                         3);
        assert_true(seq == lines);
        created += strcmp(kind, "thread_create") == 0;
        prio += strcmp(kind, "priority") == 0 && strstr(line, " a=7 ");
        ended += strcmp(kind, "thread_exit") == 0;
        lines++;
    }
    fclose(f);
    unlink(path);
    close(fd);
    assert_true(lines == s.events);
    assert_int_equal(created, 1);
    assert_int_equal(prio, 1);
    assert_int_equal(ended, 1);
}

/* ---- seeds still respect priority */

static int seeded_mixed(void *arg)
{
    (void)arg;
    hs_tid_t tid[5] = { 0 };
    hs_thread_attr hi = thread_prio(20), lo = thread_prio(10);
    for (int i = 0; i < 4; i++)
        EXPECT_ST(hs_thread_create(yield_three_times, tu_id_arg(i), &hi,
                                   &tid[i]), HS_OK);
    EXPECT_ST(hs_thread_create(record_id, tu_id_arg(99), &lo, &tid[4]), HS_OK);
    for (int i = 0; i < 5; i++)
        EXPECT_ST(hs_thread_join(tid[i], HS_NEVER, NULL), HS_OK);
    return 0;
}

static void test_seeded_schedule_still_runs_higher_priority_first(
    void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 5; seed++) {
        tu_log_reset(&order);
        hs_sim_config cfg = tu_config();
        cfg.seed = seed;
        hs_proc_attr pa = prio_attr(HS_PRIO_MAX);
        assert_int_equal(tu_run(&cfg, "seedprio", seeded_mixed, NULL, &pa),
                         HS_OK);
        assert_no_bad_status();
        assert_int_equal(tu_log_len(&order), 4 * 3 + 1);
        assert_int_equal(order.v[4 * 3], 99);
    }
}

/* ---- HOPSIM_SEED */

static void restore_env(const char *name, const char *saved)
{
    if (saved)
        setenv(name, saved, 1);
    else
        unsetenv(name);
}

static void test_seed_from_env_is_used_and_bad_env_seed_is_refused(
    void **state)
{
    (void)state;
    const char *old = getenv("HOPSIM_SEED");
    char *saved = old ? strdup(old) : NULL;

    hs_sim_summary explicit_seed = run_race(12, &race_a);

    setenv("HOPSIM_SEED", "12", 1);
    hs_sim_summary from_env = run_race(HS_SEED_FROM_ENV, &race_b);
    assert_true(from_env.seed == 12);
    assert_true(from_env.hash == explicit_seed.hash);
    assert_true(tu_log_equal(&race_a, &race_b));

    unsetenv("HOPSIM_SEED");
    hs_sim_summary unset = run_race(HS_SEED_FROM_ENV, &race_b);
    assert_true(unset.seed == HS_SEED_NONE);

    setenv("HOPSIM_SEED", "banana", 1);
    hs_sim_config cfg = tu_config();
    cfg.seed = HS_SEED_FROM_ENV;
    hs_status st = hs_sim_start(&cfg);
    hs_status spawn = hs_proc_spawn("x", record_id, NULL, NULL, NULL);
    restore_env("HOPSIM_SEED", saved);
    free(saved);
    assert_int_equal(st, HS_EINVAL);
    assert_int_equal(spawn, HS_ESTATE);    /* nothing was started */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        TU_TEST(test_higher_priority_first_fifo_within_priority),
        TU_TEST(test_yield_round_robins_among_equal_priority),
        TU_TEST(test_yield_without_equal_thread_keeps_running),
        TU_TEST(test_higher_priority_thread_runs_before_creator_continues),
        TU_TEST(test_lowering_own_priority_below_runnable_thread_yields),
        TU_TEST(test_raising_runnable_thread_above_caller_preempts_caller),
        TU_TEST(test_unseeded_order_is_identical_across_runs),
        TU_TEST(test_same_seed_replays_identical_interleaving_and_hash),
        TU_TEST(test_different_seeds_give_different_interleavings),
        TU_TEST(test_seeded_schedule_still_runs_higher_priority_first),
        TU_TEST(test_hash_changes_with_one_event_value),
        TU_TEST(test_event_log_names_kinds),
        TU_TEST(test_seed_from_env_is_used_and_bad_env_seed_is_refused),
    };
    return cmocka_run_group_tests_name("sched", tests, NULL, NULL);
}
