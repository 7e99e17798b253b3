/*
 * tests/testutil.h - what every hopsim test program shares.
 *
 * CMocka asserts may only run on the test's own thread (a failed assert
 * inside a simulated thread would longjmp across stacks).  Simulated threads
 * therefore check the statuses they receive with EXPECT_ST(), which records
 * the first mismatch; the test asserts with assert_no_bad_status() after
 * hs_sim_run() has returned.  Recording is atomic so that it also works with
 * several simulated CPUs.
 */
#ifndef HOPSIM_TESTUTIL_H
#define HOPSIM_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hopsim.h"

/* ---- statuses seen inside simulated threads */

static struct {
    atomic_uint bad;        /* mismatches seen */
    atomic_uint checked;    /* statuses checked */
    int line;               /* of the first mismatch */
    hs_status got, want;
} tu_st;

static inline void tu_status_reset(void)
{
    atomic_store(&tu_st.bad, 0);
    atomic_store(&tu_st.checked, 0);
    tu_st.line = 0;
    tu_st.got = tu_st.want = HS_OK;
}

/* Record status got; a mismatch with want is remembered for the test. */
static inline hs_status tu_expect(hs_status got, hs_status want, int line)
{
    atomic_fetch_add(&tu_st.checked, 1);
    if (got != want && atomic_fetch_add(&tu_st.bad, 1) == 0) {
        tu_st.line = line;
        tu_st.got = got;
        tu_st.want = want;
    }
    return got;
}

/* In a simulated thread: check that call returns want. */
#define EXPECT_ST(call, want) tu_expect((call), (want), __LINE__)

/* On the test's thread, after the run: every EXPECT_ST matched. */
#define assert_no_bad_status() tu_assert_statuses(__FILE__, __LINE__)

static inline void tu_assert_statuses(const char *file, int line)
{
    unsigned bad = atomic_load(&tu_st.bad);
    if (bad) {
        print_error("%s:%d: %u unexpected status(es) in simulated threads; "
                    "first at line %d: got %s, want %s\n", file, line, bad,
                    tu_st.line, hs_strerror(tu_st.got),
                    hs_strerror(tu_st.want));
        fail();
    }
}

/* ---- configuring and running */

/* The configuration every test starts from: deterministic whatever
 * HOPSIM_SEED / HOPSIM_SWITCH / HOPSIM_LOG say, and quiet. */
static inline hs_sim_config tu_config(void)
{
    hs_sim_config cfg = HS_SIM_DEFAULTS;
    cfg.seed = HS_SEED_NONE;
    cfg.faults = 0;             /* whatever HOPSIM_FAULTS says */
    cfg.quiet = 1;
    return cfg;
}

/* Start a simulation with cfg, spawn one root process running entry(arg)
 * with attr (may be NULL), run it and return what hs_sim_run() returned.
 * Resets the status record first. */
static inline hs_status tu_run(const hs_sim_config *cfg, const char *name,
                               hs_entry_fn entry, void *arg,
                               const hs_proc_attr *attr)
{
    tu_status_reset();
    assert_int_equal(hs_sim_start(cfg), HS_OK);
    assert_int_equal(hs_proc_spawn(name, entry, arg, attr, NULL), HS_OK);
    return hs_sim_run();
}

/* tu_run() with the default test configuration. */
static inline hs_status tu_run_default(const char *name, hs_entry_fn entry,
                                       void *arg)
{
    hs_sim_config cfg = tu_config();
    return tu_run(&cfg, name, entry, arg, NULL);
}

/* tu_run() (cfg NULL: tu_config()) that must end HS_OK with every
 * EXPECT_ST matched; if it ends otherwise, the report goes to stderr. */
static inline void tu_run_one(const hs_sim_config *cfg, const char *name,
                              hs_entry_fn entry, void *arg,
                              const hs_proc_attr *attr)
{
    hs_sim_config def;
    if (!cfg) {
        def = tu_config();
        cfg = &def;
    }
    hs_status st = tu_run(cfg, name, entry, arg, attr);
    if (st != HS_OK) {
        const char *r = hs_sim_report();
        fprintf(stderr, "%s\n", r ? r : "(no report)");
    }
    assert_int_equal(st, HS_OK);
    assert_no_bad_status();
}

/* tu_run_one() on a pool of pool bytes checked at every kernel exit
 * (cfg.mem_check); after it hs_mem_check() is HS_OK and the pool is whole
 * again: all of it free, no frame referenced, no page table left. */
static inline void tu_run_pool(uint64_t pool, const char *name,
                               hs_entry_fn entry, void *arg,
                               const hs_proc_attr *attr)
{
    hs_sim_config cfg = tu_config();
    cfg.mem_size = pool;
    cfg.mem_check = 1;
    tu_run_one(&cfg, name, entry, arg, attr);
    assert_int_equal(hs_mem_check(), HS_OK);
    hs_mem_stats s;
    assert_int_equal(hs_mem_stats_get(&s), HS_OK);
    assert_int_equal(s.free, pool);
    assert_int_equal(s.refs_4k + s.refs_2m + s.refs_1g, 0);
    assert_int_equal(s.page_tables, 0);
}

/* Teardown of every test: a test that failed between hs_sim_start() and
 * hs_sim_run() leaves a started simulation behind, and every later test
 * would then fail at hs_sim_start() with HS_ESTATE.  Running it to its end
 * frees it; with nothing started hs_sim_run() only returns HS_ESTATE. */
static inline int tu_teardown(void **state)
{
    (void)state;
    (void)hs_sim_run();
    return 0;
}

/* A test with that teardown. */
#define TU_TEST(f) cmocka_unit_test_teardown(f, tu_teardown)

/* The summary of the last run (asserts it is available). */
static inline hs_sim_summary tu_summary(void)
{
    hs_sim_summary s;
    memset(&s, 0, sizeof s);
    assert_int_equal(hs_sim_summary_get(&s), HS_OK);
    return s;
}

/* tu_run_one() of entry(arg) as the privileged root process "main"
 * (notifications need the privilege); the run's summary. */
static inline hs_sim_summary tu_run_privileged(const hs_sim_config *cfg,
                                               hs_entry_fn entry, void *arg)
{
    hs_proc_attr at;
    memset(&at, 0, sizeof at);
    at.privileged = 1;
    tu_run_one(cfg, "main", entry, arg, &at);
    return tu_summary();
}

/* Two runs that must be the same run: the same events, hash, switches
 * and virtual time (a run and its repeat, or one run under two switch
 * implementations). */
static inline void tu_assert_same_run(const hs_sim_summary *a,
                                      const hs_sim_summary *b)
{
    assert_int_equal(a->events, b->events);
    assert_true(a->hash == b->hash);
    assert_int_equal(a->switches, b->switches);
    assert_int_equal(a->vtime, b->vtime);
}

/* ---- inside simulated threads
 *
 * These check their calls' statuses with EXPECT_ST, so a mismatch they
 * record names a line of this file. */

/* A small integer as a thread's or process's argument, and back. */
static inline void *tu_id_arg(int id)
{
    return (void *)(intptr_t)id;
}

/* The integer tu_id_arg() made into arg. */
static inline int tu_arg_id(void *arg)
{
    return (int)(intptr_t)arg;
}

/* A new thread of the caller's process running entry(arg), at priority
 * prio (0: the default); its creation is expected to succeed. */
static inline hs_tid_t tu_mk(hs_entry_fn entry, void *arg, int prio)
{
    hs_thread_attr a;
    memset(&a, 0, sizeof a);
    if (prio) {
        a.priority = prio;
        a.priority_set = 1;
    }
    hs_tid_t tid = 0;
    EXPECT_ST(hs_thread_create(entry, arg, &a, &tid), HS_OK);
    return tid;
}

/* Join thread tid however long it takes (the join expected to succeed),
 * ignoring its exit value. */
static inline void tu_join(hs_tid_t tid)
{
    EXPECT_ST(hs_thread_join(tid, HS_NEVER, NULL), HS_OK);
}

/* A message in the caller's UTCB: tag (label, words) and mr[0]. */
static inline void tu_set_msg(uint64_t label, unsigned words, uint64_t mr0)
{
    hs_utcb()->tag = HS_TAG(label, words);
    hs_utcb()->mr[0] = mr0;
}

/* Sleep until virtual time t; a sleep of 0 if t has passed. */
static inline void tu_sleep_until(hs_time_t t)
{
    hs_time_t now = hs_time_now();
    EXPECT_ST(hs_thread_sleep(t > now ? t - now : 0), HS_OK);
}

/* ---- an append-only log of small integers */

#define TU_LOG_MAX 4096

struct tu_log {
    atomic_uint n;
    int v[TU_LOG_MAX];
};

static inline void tu_log_reset(struct tu_log *l)
{
    atomic_store(&l->n, 0);
    memset(l->v, 0, sizeof l->v);
}

static inline void tu_log_add(struct tu_log *l, int x)
{
    unsigned i = atomic_fetch_add(&l->n, 1);
    if (i < TU_LOG_MAX)
        l->v[i] = x;
}

static inline unsigned tu_log_len(const struct tu_log *l)
{
    unsigned n = atomic_load(&l->n);
    return n < TU_LOG_MAX ? n : TU_LOG_MAX;
}

static inline int tu_log_equal(const struct tu_log *a,
                               const struct tu_log *b)
{
    return atomic_load(&a->n) == atomic_load(&b->n) &&
           memcmp(a->v, b->v, tu_log_len(a) * sizeof a->v[0]) == 0;
}

/* Assert that log l holds exactly want[0..n-1]. */
#define assert_log(l, want, n) \
    tu_assert_log((l), (want), (n), __FILE__, __LINE__)

static inline void tu_assert_log(const struct tu_log *l, const int *want,
                                 unsigned n, const char *file, int line)
{
    unsigned got = atomic_load(&l->n);
    int same = got == n;
    for (unsigned i = 0; same && i < n; i++)
        same = l->v[i] == want[i];
    if (same)
        return;
    print_error("%s:%d: log mismatch\n  want (%u):", file, line, n);
    for (unsigned i = 0; i < n; i++)
        print_error(" %d", want[i]);
    print_error("\n  got  (%u):", got);
    for (unsigned i = 0; i < tu_log_len(l); i++)
        print_error(" %d", l->v[i]);
    print_error("\n");
    fail();
}

/* ---- the report */

/* Assert that the last run's report contains needle. */
#define assert_report_has(needle) \
    tu_assert_report_has((needle), __FILE__, __LINE__)

static inline void tu_assert_report_has(const char *needle,
                                        const char *file, int line)
{
    const char *r = hs_sim_report();
    if (r && strstr(r, needle))
        return;
    print_error("%s:%d: report lacks \"%s\"; report:\n%s\n", file, line,
                needle, r ? r : "(NULL)");
    fail();
}

/* Nonzero when the tests run under Valgrind (set by `make memcheck`). */
static inline int tu_under_valgrind(void)
{
    const char *v = getenv("HOPSIM_UNDER_VALGRIND");
    return v && *v;
}

#if defined(__SANITIZE_ADDRESS__)
#define TU_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TU_ASAN 1
#endif
#endif
#ifndef TU_ASAN
#define TU_ASAN 0
#endif

/* Whether this build switches directly at all (direct IPC hand-offs and
 * hop returns): not under the address sanitizer, which must finish
 * every switch after it (sim/context.c). */
#define TU_DIRECT_BUILD (!TU_ASAN)

/* Group setup of the programs that count direct switches and quick
 * paths (test_direct, test_direct_hop, test_quick): HOPSIM_MEM_CHECK=1
 * turns every direct switch off, and HOPSIM_LOG, HOPSIM_TRACE or
 * HOPSIM_MSC every quick path (they turn tracing on), and no
 * hs_sim_config value turns them back off (0 and NULL mean "as the
 * environment says"), so these programs set their runs up without them. */
static inline int tu_unset_run_env(void **state)
{
    (void)state;
    unsetenv("HOPSIM_MEM_CHECK");
    unsetenv("HOPSIM_LOG");
    unsetenv("HOPSIM_TRACE");
    unsetenv("HOPSIM_MSC");
    return 0;
}

/* Whether a simulated stack overflow can be provoked here.  Not under
 * Valgrind, which handles the guard-page fault itself, nor under ASan,
 * whose runtime does not survive a SIGSEGV handler that leaves by a
 * context switch (its leak check at exit then hangs on a lock). */
static inline int tu_guard_faults_testable(void)
{
    return !tu_under_valgrind() && !TU_ASAN;
}

/* ---- overflowing a stack */

/* Recurse depth frames of over 1 KiB each, touching both ends of each, so
 * that a simulated stack smaller than depth KiB overflows into its guard
 * page; returns a value that depends on every frame (so the recursion
 * cannot be folded away). */
static __attribute__((noinline, unused)) int tu_dive(int depth,
                                                     volatile char *parent)
{
    volatile char buf[1024];
    buf[0] = (char)(parent[0] + 1);
    buf[sizeof buf - 1] = (char)depth;
    if (depth == 0)
        return buf[0];
    return tu_dive(depth - 1, buf) + buf[sizeof buf - 1];
}

#endif
