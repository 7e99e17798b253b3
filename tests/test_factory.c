/*
 * tests/test_factory.c - factories: the account of what a process holds
 * (threads, processes, ports, gates, capabilities, IRQ objects, stack
 * memory) as objects are made and freed, with peaks; each quota reached,
 * refused with HS_EQUOTA and nothing changed, then recovered; limits
 * inherited by children, capped by the parent's, set by the parent, and
 * set below what is in use; capabilities given to a child, or passed to it
 * at spawn, counted against it; reading an account from outside the run;
 * resource names and the printed table.
 *
 * Simulated threads record what they saw in the statics below (and check
 * statuses with EXPECT_ST); the test asserts after hs_sim_run().  Timing is
 * set with sleeps on the virtual clock.  Every simulated thread ends, so
 * every run must end with HS_OK.
 */
#include <unistd.h>

#include "testutil.h"

#define NREC 32
#define KIB ((uint64_t)1024)
#define STACK (64 * KIB)            /* the default stack of tu_config() */

/* What simulated threads saw: statuses and accounts, slot by slot; the
 * out parameters of calls that must be refused (still 0 if nothing was
 * made); capabilities given to a child. */
static hs_status status[NREC];
static hs_account seen[NREC];
static hs_cap_t given[4];
static hs_tid_t out_tid;
static hs_pid_t out_pid;
static hs_cap_t out_cap;
static hs_port_t out_port;

static void reset(void)
{
    for (int i = 0; i < NREC; i++)
        status[i] = HS_STATUS_COUNT;
    memset(seen, 0xa5, sizeof seen);
    memset(given, 0, sizeof given);
    out_tid = 0;
    out_pid = 0;
    out_cap = 0;
    out_port = 0;
}

static void start(void)
{
    hs_sim_config cfg = tu_config();
    assert_int_equal(cfg.stack_size, STACK);
    reset();
    tu_status_reset();
    assert_int_equal(hs_sim_start(&cfg), HS_OK);
}

/* Reset the records, run entry as the root process "main" with limits q
 * (NULL: none): must end HS_OK. */
static void run_quota(hs_entry_fn entry, const hs_quota *q)
{
    hs_sim_config cfg = tu_config();
    hs_proc_attr a;
    memset(&a, 0, sizeof a);
    a.quota = q;
    assert_int_equal(cfg.stack_size, STACK);
    reset();
    tu_run_one(&cfg, "main", entry, NULL, &a);
}

/* Unlimited but for one resource. */
static hs_quota quota_one(hs_res r, uint64_t limit)
{
    hs_quota q = hs_quota_unlimited();
    q.limit[r] = limit;
    return q;
}

/* Sleeps until the virtual time arg, then returns. */
static int sleeper(void *arg)
{
    tu_sleep_until((hs_time_t)(uintptr_t)arg);
    return 0;
}

static void *at(hs_time_t t)
{
    return (void *)(uintptr_t)t;
}

/* A thread of the caller's process sleeping until t; stack 0: default. */
static hs_tid_t mk_sleeper(hs_time_t t, size_t stack)
{
    hs_thread_attr a;
    memset(&a, 0, sizeof a);
    a.stack_size = stack;
    hs_tid_t tid = 0;
    EXPECT_ST(hs_thread_create(sleeper, at(t), &a, &tid), HS_OK);
    return tid;
}

/* The account of process p (0: the caller's) into slot i. */
static void acct_at(int i, hs_pid_t p)
{
    EXPECT_ST(hs_factory_account(p, &seen[i]), HS_OK);
}

/* Assert the used counts of a, in hs_res order. */
static void assert_used(const hs_account *a, uint64_t threads,
                        uint64_t procs, uint64_t ports, uint64_t gates,
                        uint64_t caps, uint64_t irqs, uint64_t memory)
{
    assert_int_equal(a->used[HS_RES_THREADS], threads);
    assert_int_equal(a->used[HS_RES_PROCS], procs);
    assert_int_equal(a->used[HS_RES_PORTS], ports);
    assert_int_equal(a->used[HS_RES_GATES], gates);
    assert_int_equal(a->used[HS_RES_CAPS], caps);
    assert_int_equal(a->used[HS_RES_IRQS], irqs);
    assert_int_equal(a->used[HS_RES_MEMORY], memory);
}

/* b is a after one more refusal of r, and nothing else changed. */
static void assert_refused_once(const hs_account *a, const hs_account *b,
                                hs_res r)
{
    for (int i = 0; i < HS_RES_COUNT; i++) {
        assert_int_equal(b->used[i], a->used[i]);
        assert_int_equal(b->peak[i], a->peak[i]);
        assert_int_equal(b->limit[i], a->limit[i]);
        assert_int_equal(b->refused[i], a->refused[i] + (i == (int)r));
    }
}

/* Nothing was made or freed between a and b: used, peaks and limits are
 * the same (the refusal of a child's first thread or initial capabilities
 * counts against the child that was never made). */
static void assert_nothing_made(const hs_account *a, const hs_account *b)
{
    for (int i = 0; i < HS_RES_COUNT; i++) {
        assert_int_equal(b->used[i], a->used[i]);
        assert_int_equal(b->peak[i], a->peak[i]);
        assert_int_equal(b->limit[i], a->limit[i]);
    }
}

/* The same, for a refusal that counts against no resource. */
static void assert_unchanged(const hs_account *a, const hs_account *b)
{
    assert_memory_equal(a, b, sizeof *a);
}

/* ---- 1. the account follows objects made and freed ------------------- */

static int count_main(void *arg)
{
    (void)arg;
    acct_at(0, 0);
    hs_tid_t t = mk_sleeper(1000, 32 * KIB);
    acct_at(1, 0);
    hs_cap_t g = 0, d = 0, q = 0;
    EXPECT_ST(hs_gate_create(t, 1, &g), HS_OK);
    acct_at(2, 0);
    EXPECT_ST(hs_cap_derive(g, HS_CAP_SEND, 2, &d), HS_OK);
    hs_port_t p1 = 0, p2 = 0;
    EXPECT_ST(hs_port_create(&p1), HS_OK);
    EXPECT_ST(hs_port_create_named("factory-count", &p2), HS_OK);
    EXPECT_ST(hs_irq_create(&q), HS_OK);
    acct_at(3, 0);
    EXPECT_ST(hs_cap_delete(d), HS_OK);
    acct_at(4, 0);
    tu_sleep_until(1500);               /* t ended at 1000, not joined */
    acct_at(5, 0);
    tu_join(t);
    acct_at(6, 0);
    EXPECT_ST(hs_cap_delete(g), HS_OK);
    acct_at(7, 0);
    hs_pid_t c = 0;
    EXPECT_ST(hs_proc_spawn("child", sleeper, at(2000), NULL, &c), HS_OK);
    acct_at(8, 0);
    acct_at(9, c);
    EXPECT_ST(hs_proc_wait(c, HS_NEVER, NULL), HS_OK);
    acct_at(10, 0);
    return 0;
}

static void test_factory_account_counts_objects(void **state)
{
    (void)state;
    run_quota(count_main, NULL);
    /*                     thr prc prt gat cap irq memory */
    assert_used(&seen[0], 1,  0,  0,  0,  0,  0,  STACK);
    assert_used(&seen[1], 2,  0,  0,  0,  0,  0,  STACK + 32 * KIB);
    assert_used(&seen[2], 2,  0,  0,  1,  1,  0,  STACK + 32 * KIB);
    assert_used(&seen[3], 2,  0,  2,  1,  3,  1,  STACK + 32 * KIB);
    assert_used(&seen[4], 2,  0,  2,  1,  2,  1,  STACK + 32 * KIB);
    /* An ended thread: its stack and its gate go at once, the thread
     * object when joined; the gate's capability stays until deleted. */
    assert_used(&seen[5], 2,  0,  2,  0,  2,  1,  STACK);
    assert_used(&seen[6], 1,  0,  2,  0,  2,  1,  STACK);
    assert_used(&seen[7], 1,  0,  2,  0,  1,  1,  STACK);
    /* The peaks before any process was spawned. */
    assert_int_equal(seen[7].peak[HS_RES_THREADS], 2);
    assert_int_equal(seen[7].peak[HS_RES_PORTS], 2);
    assert_int_equal(seen[7].peak[HS_RES_GATES], 1);
    assert_int_equal(seen[7].peak[HS_RES_CAPS], 3);
    assert_int_equal(seen[7].peak[HS_RES_IRQS], 1);
    assert_int_equal(seen[7].peak[HS_RES_MEMORY], STACK + 32 * KIB);
    assert_int_equal(seen[7].peak[HS_RES_PROCS], 0);
    /* A child counts in its parent's procs; its own first thread and
     * stack in its own account. */
    assert_int_equal(seen[8].used[HS_RES_PROCS], 1);
    assert_int_equal(seen[8].used[HS_RES_THREADS], 1);
    assert_int_equal(seen[8].used[HS_RES_MEMORY], STACK);
    assert_int_equal(seen[9].used[HS_RES_THREADS], 1);
    assert_int_equal(seen[9].used[HS_RES_MEMORY], STACK);
    assert_int_equal(seen[9].used[HS_RES_PROCS], 0);
    assert_int_equal(seen[9].used[HS_RES_GATES], 0);
    assert_int_equal(seen[9].used[HS_RES_CAPS], 0);
    assert_int_equal(seen[9].used[HS_RES_IRQS], 0);
    /* Reaped: back to none, the peak stays. */
    assert_int_equal(seen[10].used[HS_RES_PROCS], 0);
    assert_int_equal(seen[10].peak[HS_RES_PROCS], 1);
    for (int i = 0; i <= 10; i++) {
        for (int r = 0; r < HS_RES_COUNT; r++) {
            assert_int_equal(seen[i].limit[r], HS_UNLIMITED);
            assert_int_equal(seen[i].refused[r], 0);
        }
    }
}

/* ---- 2. peaks -------------------------------------------------------- */

static int peak_main(void *arg)
{
    (void)arg;
    hs_tid_t t[3];
    for (int i = 0; i < 3; i++)
        t[i] = mk_sleeper(100, (size_t)(i + 1) * 16 * KIB);
    for (int i = 0; i < 3; i++)
        tu_join(t[i]);
    hs_tid_t u = mk_sleeper(200, 16 * KIB);
    hs_cap_t q = 0, d[5];
    EXPECT_ST(hs_irq_create(&q), HS_OK);
    for (int i = 0; i < 5; i++)
        EXPECT_ST(hs_cap_derive(q, HS_CAP_SEND, (uint64_t)i, &d[i]), HS_OK);
    for (int i = 0; i < 5; i++)
        EXPECT_ST(hs_cap_delete(d[i]), HS_OK);
    EXPECT_ST(hs_cap_derive(q, HS_CAP_SEND, 9, &d[0]), HS_OK);
    acct_at(0, 0);
    tu_join(u);
    acct_at(1, 0);
    return 0;
}

static void test_factory_peaks_stay(void **state)
{
    (void)state;
    run_quota(peak_main, NULL);
    assert_used(&seen[0], 2, 0, 0, 0, 2, 1, STACK + 16 * KIB);
    assert_int_equal(seen[0].peak[HS_RES_THREADS], 4);
    assert_int_equal(seen[0].peak[HS_RES_MEMORY], STACK + 96 * KIB);
    assert_int_equal(seen[0].peak[HS_RES_CAPS], 6);
    assert_int_equal(seen[0].peak[HS_RES_IRQS], 1);
    assert_used(&seen[1], 1, 0, 0, 0, 2, 1, STACK);
    assert_int_equal(seen[1].peak[HS_RES_THREADS], 4);
    assert_int_equal(seen[1].peak[HS_RES_MEMORY], STACK + 96 * KIB);
    assert_int_equal(seen[1].peak[HS_RES_CAPS], 6);
}

/* ---- 3. threads: exhaustion and recovery ----------------------------- */

static int threads_main(void *arg)
{
    (void)arg;
    hs_tid_t t1 = mk_sleeper(1000, 0);
    hs_tid_t t2 = mk_sleeper(3000, 0);
    acct_at(0, 0);
    status[0] = hs_thread_create(sleeper, at(0), NULL, &out_tid);
    acct_at(1, 0);
    tu_sleep_until(2000);               /* t1 ended, not joined */
    acct_at(2, 0);
    status[1] = hs_thread_create(sleeper, at(0), NULL, &out_tid);
    acct_at(3, 0);
    tu_join(t1);
    hs_tid_t t3 = 0;
    status[2] = hs_thread_create(sleeper, at(2500), NULL, &t3);
    acct_at(4, 0);
    tu_join(t2);
    tu_join(t3);
    return 0;
}

static void test_factory_threads_quota_exhaustion_and_recovery(void **state)
{
    (void)state;
    hs_quota q = quota_one(HS_RES_THREADS, 3);
    run_quota(threads_main, &q);
    assert_used(&seen[0], 3, 0, 0, 0, 0, 0, 3 * STACK);
    assert_int_equal(status[0], HS_EQUOTA);
    assert_refused_once(&seen[0], &seen[1], HS_RES_THREADS);
    assert_int_equal(seen[1].limit[HS_RES_THREADS], 3);
    /* An ended thread counts until it is joined. */
    assert_used(&seen[2], 3, 0, 0, 0, 0, 0, 2 * STACK);
    assert_int_equal(status[1], HS_EQUOTA);
    assert_refused_once(&seen[2], &seen[3], HS_RES_THREADS);
    assert_int_equal(out_tid, 0);
    assert_int_equal(status[2], HS_OK);
    assert_used(&seen[4], 3, 0, 0, 0, 0, 0, 3 * STACK);
    assert_int_equal(seen[4].refused[HS_RES_THREADS], 2);
    /* main, t1, t2, t3: the refused ones made nothing. */
    assert_int_equal(tu_summary().threads_created, 4);
}

/* ---- 4. memory: exhaustion and recovery ------------------------------ */

static int memory_main(void *arg)
{
    (void)arg;
    hs_tid_t t1 = mk_sleeper(1000, 0);
    acct_at(0, 0);
    hs_thread_attr a;
    memset(&a, 0, sizeof a);
    a.stack_size = 16 * KIB;
    status[0] = hs_thread_create(sleeper, at(0), &a, &out_tid);
    acct_at(1, 0);
    /* A child whose own memory quota cannot hold its first stack. */
    hs_quota small = hs_quota_unlimited();
    small.limit[HS_RES_MEMORY] = 16 * KIB;
    hs_proc_attr pa;
    memset(&pa, 0, sizeof pa);
    pa.quota = &small;
    status[1] = hs_proc_spawn("small", sleeper, at(0), &pa, &out_pid);
    acct_at(2, 0);
    tu_sleep_until(1500);               /* t1 ended: its stack is free */
    acct_at(3, 0);
    hs_tid_t t2 = 0;
    status[2] = hs_thread_create(sleeper, at(0), NULL, &t2);
    acct_at(4, 0);
    tu_join(t1);
    tu_join(t2);
    return 0;
}

static void test_factory_memory_quota_exhaustion_and_recovery(void **state)
{
    (void)state;
    hs_quota q = quota_one(HS_RES_MEMORY, 2 * STACK);
    run_quota(memory_main, &q);
    assert_used(&seen[0], 2, 0, 0, 0, 0, 0, 2 * STACK);
    assert_int_equal(status[0], HS_EQUOTA);
    assert_refused_once(&seen[0], &seen[1], HS_RES_MEMORY);
    assert_int_equal(out_tid, 0);
    assert_int_equal(status[1], HS_EQUOTA);
    assert_nothing_made(&seen[1], &seen[2]);
    assert_int_equal(out_pid, 0);
    assert_used(&seen[3], 2, 0, 0, 0, 0, 0, STACK);
    assert_int_equal(status[2], HS_OK);
    assert_used(&seen[4], 3, 0, 0, 0, 0, 0, 2 * STACK);
    assert_int_equal(tu_summary().threads_created, 3);
    assert_int_equal(tu_summary().procs_created, 1);
}

/* ---- 5. processes: exhaustion and recovery --------------------------- */

static int procs_main(void *arg)
{
    (void)arg;
    hs_pid_t a = 0, b = 0;
    EXPECT_ST(hs_proc_spawn("a", sleeper, at(1000), NULL, &a), HS_OK);
    acct_at(0, 0);
    status[0] = hs_proc_spawn("b", sleeper, at(0), NULL, &out_pid);
    acct_at(1, 0);
    tu_sleep_until(1500);               /* a ended, not reaped */
    acct_at(2, 0);
    status[1] = hs_proc_spawn("b", sleeper, at(0), NULL, &out_pid);
    acct_at(3, 0);
    EXPECT_ST(hs_proc_wait(a, HS_NEVER, NULL), HS_OK);
    acct_at(4, 0);
    status[2] = hs_proc_spawn("b", sleeper, at(2000), NULL, &b);
    acct_at(5, 0);
    EXPECT_ST(hs_proc_wait(b, HS_NEVER, NULL), HS_OK);
    return 0;
}

static void test_factory_procs_quota_exhaustion_and_recovery(void **state)
{
    (void)state;
    hs_quota q = quota_one(HS_RES_PROCS, 1);
    run_quota(procs_main, &q);
    assert_int_equal(seen[0].used[HS_RES_PROCS], 1);
    assert_int_equal(status[0], HS_EQUOTA);
    assert_refused_once(&seen[0], &seen[1], HS_RES_PROCS);
    assert_int_equal(seen[2].used[HS_RES_PROCS], 1);
    assert_int_equal(status[1], HS_EQUOTA);
    assert_refused_once(&seen[2], &seen[3], HS_RES_PROCS);
    assert_int_equal(out_pid, 0);
    assert_int_equal(seen[4].used[HS_RES_PROCS], 0);
    assert_int_equal(status[2], HS_OK);
    assert_int_equal(seen[5].used[HS_RES_PROCS], 1);
    assert_int_equal(seen[5].refused[HS_RES_PROCS], 2);
    assert_int_equal(seen[5].peak[HS_RES_PROCS], 1);
    /* main, a, b. */
    assert_int_equal(tu_summary().procs_created, 3);
}

/* ---- 6. gates: exhaustion and recovery ------------------------------- */

static int gates_main(void *arg)
{
    (void)arg;
    hs_tid_t t = mk_sleeper(1000, 0);
    hs_cap_t g1 = 0, g2 = 0;
    EXPECT_ST(hs_gate_create(t, 0, &g1), HS_OK);
    acct_at(0, 0);
    status[0] = hs_gate_create(0, 0, &out_cap);
    acct_at(1, 0);
    tu_sleep_until(1500);               /* t ended: its gate went */
    acct_at(2, 0);
    status[1] = hs_gate_create(0, 0, &g2);
    acct_at(3, 0);
    tu_join(t);
    return 0;
}

static void test_factory_gates_quota_exhaustion_and_recovery(void **state)
{
    (void)state;
    hs_quota q = quota_one(HS_RES_GATES, 1);
    run_quota(gates_main, &q);
    assert_used(&seen[0], 2, 0, 0, 1, 1, 0, 2 * STACK);
    assert_int_equal(status[0], HS_EQUOTA);
    assert_refused_once(&seen[0], &seen[1], HS_RES_GATES);
    assert_int_equal(out_cap, 0);
    assert_used(&seen[2], 2, 0, 0, 0, 1, 0, STACK);
    assert_int_equal(status[1], HS_OK);
    assert_used(&seen[3], 2, 0, 0, 1, 2, 0, STACK);
}

/* ---- 7. capabilities: exhaustion and recovery ------------------------ */

static int caps_main(void *arg)
{
    (void)arg;
    hs_cap_t q = 0, d1 = 0, d2 = 0, d3 = 0;
    EXPECT_ST(hs_irq_create(&q), HS_OK);
    EXPECT_ST(hs_cap_derive(q, HS_CAP_SEND, 1, &d1), HS_OK);
    EXPECT_ST(hs_cap_derive(q, HS_CAP_SEND, 2, &d2), HS_OK);
    acct_at(0, 0);
    status[0] = hs_cap_derive(q, HS_CAP_SEND, 3, &out_cap);
    acct_at(1, 0);
    status[1] = hs_irq_create(&out_cap);        /* the IRQ needs a cap */
    acct_at(2, 0);
    status[2] = hs_gate_create(0, 0, &out_cap); /* so does the gate */
    acct_at(3, 0);
    EXPECT_ST(hs_cap_delete(d1), HS_OK);
    acct_at(4, 0);
    status[3] = hs_cap_derive(q, HS_CAP_SEND, 3, &d3);
    acct_at(5, 0);
    return 0;
}

static void test_factory_caps_quota_exhaustion_and_recovery(void **state)
{
    (void)state;
    hs_quota q = quota_one(HS_RES_CAPS, 3);
    run_quota(caps_main, &q);
    assert_used(&seen[0], 1, 0, 0, 0, 3, 1, STACK);
    assert_int_equal(status[0], HS_EQUOTA);
    assert_refused_once(&seen[0], &seen[1], HS_RES_CAPS);
    assert_int_equal(status[1], HS_EQUOTA);
    assert_refused_once(&seen[1], &seen[2], HS_RES_CAPS);
    assert_int_equal(status[2], HS_EQUOTA);
    assert_refused_once(&seen[2], &seen[3], HS_RES_CAPS);
    assert_int_equal(out_cap, 0);
    assert_used(&seen[4], 1, 0, 0, 0, 2, 1, STACK);
    assert_int_equal(status[3], HS_OK);
    assert_used(&seen[5], 1, 0, 0, 0, 3, 1, STACK);
    assert_int_equal(seen[5].refused[HS_RES_CAPS], 3);
}

/* ---- 8. ports and IRQ objects: exhaustion, then a higher limit ------- */

/* Neither a port nor an IRQ object goes before its process does, so the
 * child recovers when its parent raises its limits.  The parent sets the
 * child's port limit to two more than the child holds at the start. */
static uint64_t ports_base;

static int pi_child(void *arg)
{
    (void)arg;
    hs_port_t p = 0;
    hs_cap_t q = 0;
    tu_sleep_until(100);
    EXPECT_ST(hs_port_create(&p), HS_OK);
    EXPECT_ST(hs_port_create(&p), HS_OK);
    EXPECT_ST(hs_irq_create(&q), HS_OK);
    acct_at(0, 0);
    status[0] = hs_port_create(&out_port);
    acct_at(1, 0);
    status[1] = hs_port_create_named("factory-pi", &out_port);
    acct_at(2, 0);
    status[2] = hs_port_lookup("factory-pi", HS_NOWAIT, &out_port);
    status[3] = hs_irq_create(&out_cap);
    acct_at(3, 0);
    tu_sleep_until(1000);               /* the parent raises the limits */
    status[4] = hs_port_create_named("factory-pi", &p);
    status[5] = hs_irq_create(&q);
    acct_at(4, 0);
    status[6] = hs_port_create(&out_port);
    status[7] = hs_irq_create(&out_cap);
    acct_at(5, 0);
    return 0;
}

static int pi_main(void *arg)
{
    (void)arg;
    hs_quota q = quota_one(HS_RES_IRQS, 1);
    hs_proc_attr a;
    memset(&a, 0, sizeof a);
    a.quota = &q;
    hs_pid_t c = 0;
    EXPECT_ST(hs_proc_spawn("child", pi_child, NULL, &a, &c), HS_OK);
    acct_at(6, c);
    ports_base = seen[6].used[HS_RES_PORTS];
    status[12] = hs_factory_set_limit(c, HS_RES_PORTS, ports_base + 2);
    tu_sleep_until(500);
    status[10] = hs_factory_set_limit(c, HS_RES_PORTS, ports_base + 3);
    status[11] = hs_factory_set_limit(c, HS_RES_IRQS, 2);
    EXPECT_ST(hs_proc_wait(c, HS_NEVER, NULL), HS_OK);
    return 0;
}

static void test_factory_ports_and_irqs_quota_exhaustion(void **state)
{
    (void)state;
    ports_base = UINT64_MAX;
    run_quota(pi_main, NULL);
    assert_int_equal(status[12], HS_OK);
    uint64_t b = ports_base;
    assert_used(&seen[0], 1, 0, b + 2, 0, 1, 1, STACK);
    assert_int_equal(status[0], HS_EQUOTA);
    assert_refused_once(&seen[0], &seen[1], HS_RES_PORTS);
    assert_int_equal(status[1], HS_EQUOTA);
    assert_refused_once(&seen[1], &seen[2], HS_RES_PORTS);
    assert_int_equal(status[2], HS_ETIMEOUT);   /* the name was not taken */
    assert_int_equal(status[3], HS_EQUOTA);
    assert_refused_once(&seen[2], &seen[3], HS_RES_IRQS);
    assert_int_equal(out_port, 0);
    assert_int_equal(out_cap, 0);
    assert_int_equal(status[10], HS_OK);
    assert_int_equal(status[11], HS_OK);
    assert_int_equal(status[4], HS_OK);
    assert_int_equal(status[5], HS_OK);
    assert_used(&seen[4], 1, 0, b + 3, 0, 2, 2, STACK);
    assert_int_equal(seen[4].limit[HS_RES_PORTS], b + 3);
    assert_int_equal(seen[4].limit[HS_RES_IRQS], 2);
    assert_int_equal(status[6], HS_EQUOTA);
    assert_int_equal(status[7], HS_EQUOTA);
    assert_int_equal(seen[5].refused[HS_RES_PORTS], 3);
    assert_int_equal(seen[5].refused[HS_RES_IRQS], 2);
    assert_used(&seen[5], 1, 0, b + 3, 0, 2, 2, STACK);
}

/* ---- 9. children inherit their parent's limits ----------------------- */

static hs_quota root_quota;

static int inherit_grandchild(void *arg)
{
    tu_sleep_until((hs_time_t)(uintptr_t)arg);
    return 0;
}

static int inherit_child(void *arg)
{
    (void)arg;
    hs_pid_t g = 0;
    EXPECT_ST(hs_proc_spawn("grandchild", inherit_grandchild, at(100), NULL,
                            &g), HS_OK);
    acct_at(1, g);
    /* Its own, tighter limits. */
    hs_quota q = root_quota;
    q.limit[HS_RES_CAPS] = 4;
    hs_proc_attr a;
    memset(&a, 0, sizeof a);
    a.quota = &q;
    hs_pid_t h = 0;
    EXPECT_ST(hs_proc_spawn("tight", inherit_grandchild, at(100), &a, &h),
              HS_OK);
    acct_at(2, h);
    EXPECT_ST(hs_proc_wait(g, HS_NEVER, NULL), HS_OK);
    EXPECT_ST(hs_proc_wait(h, HS_NEVER, NULL), HS_OK);
    return 0;
}

static int inherit_main(void *arg)
{
    (void)arg;
    hs_pid_t c = 0;
    EXPECT_ST(hs_proc_spawn("child", inherit_child, NULL, NULL, &c), HS_OK);
    acct_at(0, c);
    acct_at(3, 0);
    EXPECT_ST(hs_proc_wait(c, HS_NEVER, NULL), HS_OK);
    return 0;
}

static void test_factory_child_inherits_limits(void **state)
{
    (void)state;
    static const uint64_t lim[HS_RES_COUNT] = {
        [HS_RES_THREADS] = 10, [HS_RES_PROCS] = 3, [HS_RES_PORTS] = 5,
        [HS_RES_GATES] = 6, [HS_RES_CAPS] = 20, [HS_RES_IRQS] = 2,
        [HS_RES_MEMORY] = 1024 * KIB,
    };
    for (int r = 0; r < HS_RES_COUNT; r++)
        root_quota.limit[r] = lim[r];
    run_quota(inherit_main, &root_quota);
    for (int r = 0; r < HS_RES_COUNT; r++) {
        assert_int_equal(seen[3].limit[r], lim[r]);
        assert_int_equal(seen[0].limit[r], lim[r]);
        assert_int_equal(seen[1].limit[r], lim[r]);
        assert_int_equal(seen[2].limit[r],
                         r == HS_RES_CAPS ? 4 : lim[r]);
    }
}

/* ---- 10. a child's quota may not exceed its parent's ----------------- */

static int above_main(void *arg)
{
    (void)arg;
    hs_proc_attr a;
    memset(&a, 0, sizeof a);
    hs_quota over = quota_one(HS_RES_THREADS, 5);
    over.limit[HS_RES_MEMORY] = 8 * STACK;
    hs_quota all = hs_quota_unlimited();
    hs_quota mem = quota_one(HS_RES_THREADS, 4);
    mem.limit[HS_RES_MEMORY] = 8 * STACK + 1;
    hs_quota same = quota_one(HS_RES_THREADS, 4);
    same.limit[HS_RES_MEMORY] = 8 * STACK;
    hs_quota less = quota_one(HS_RES_THREADS, 2);
    less.limit[HS_RES_MEMORY] = 2 * STACK;
    acct_at(0, 0);
    a.quota = &over;
    status[0] = hs_proc_spawn("over", sleeper, at(0), &a, &out_pid);
    a.quota = &all;
    status[1] = hs_proc_spawn("all", sleeper, at(0), &a, &out_pid);
    a.quota = &mem;
    status[2] = hs_proc_spawn("mem", sleeper, at(0), &a, &out_pid);
    acct_at(1, 0);
    hs_pid_t s = 0, l = 0;
    a.quota = &same;
    status[3] = hs_proc_spawn("same", sleeper, at(100), &a, &s);
    a.quota = &less;
    status[4] = hs_proc_spawn("less", sleeper, at(100), &a, &l);
    acct_at(2, s);
    acct_at(3, l);
    EXPECT_ST(hs_proc_wait(s, HS_NEVER, NULL), HS_OK);
    EXPECT_ST(hs_proc_wait(l, HS_NEVER, NULL), HS_OK);
    return 0;
}

static void test_factory_quota_above_parent_refused(void **state)
{
    (void)state;
    hs_quota q = quota_one(HS_RES_THREADS, 4);
    q.limit[HS_RES_MEMORY] = 8 * STACK;
    run_quota(above_main, &q);
    assert_int_equal(status[0], HS_EPERM);
    assert_int_equal(status[1], HS_EPERM);
    assert_int_equal(status[2], HS_EPERM);
    assert_int_equal(out_pid, 0);
    assert_unchanged(&seen[0], &seen[1]);
    assert_int_equal(status[3], HS_OK);
    assert_int_equal(status[4], HS_OK);
    assert_int_equal(seen[2].limit[HS_RES_THREADS], 4);
    assert_int_equal(seen[2].limit[HS_RES_MEMORY], 8 * STACK);
    assert_int_equal(seen[3].limit[HS_RES_THREADS], 2);
    assert_int_equal(seen[3].limit[HS_RES_MEMORY], 2 * STACK);
    assert_int_equal(seen[3].limit[HS_RES_CAPS], HS_UNLIMITED);
    assert_int_equal(tu_summary().procs_created, 3);
}

/* ---- 11. setting a child's limit ------------------------------------- */

static hs_pid_t sibling_pid, grandchild_pid;

static int setl_child(void *arg)
{
    (void)arg;
    EXPECT_ST(hs_proc_spawn("grandchild", sleeper, at(1000), NULL,
                            &grandchild_pid), HS_OK);
    tu_sleep_until(200);                /* the parent set caps to 10 */
    status[20] = hs_factory_set_limit(grandchild_pid, HS_RES_CAPS, 11);
    status[21] = hs_factory_set_limit(grandchild_pid, HS_RES_CAPS, 10);
    acct_at(20, grandchild_pid);
    EXPECT_ST(hs_proc_wait(grandchild_pid, HS_NEVER, NULL), HS_OK);
    return 0;
}

static int setl_main(void *arg)
{
    (void)arg;
    hs_pid_t c = 0, z = 0;
    EXPECT_ST(hs_proc_spawn("child", setl_child, NULL, NULL, &c), HS_OK);
    EXPECT_ST(hs_proc_spawn("gone", sleeper, at(0), NULL, &z), HS_OK);
    EXPECT_ST(hs_proc_wait(z, HS_NEVER, NULL), HS_OK);
    tu_sleep_until(100);
    acct_at(0, c);
    acct_at(1, 0);
    status[0] = hs_factory_set_limit(sibling_pid, HS_RES_CAPS, 1);
    status[1] = hs_factory_set_limit(hs_proc_self(), HS_RES_CAPS, 1);
    status[2] = hs_factory_set_limit(grandchild_pid, HS_RES_CAPS, 1);
    status[3] = hs_factory_set_limit(c, HS_RES_COUNT, 1);
    status[4] = hs_factory_set_limit(c, (hs_res)-1, 1);
    status[5] = hs_factory_set_limit(c, HS_RES_CAPS, 13);
    status[6] = hs_factory_set_limit(c, HS_RES_CAPS, HS_UNLIMITED);
    status[7] = hs_factory_set_limit(z, HS_RES_CAPS, 1);
    acct_at(2, c);
    acct_at(3, 0);
    status[8] = hs_factory_set_limit(c, HS_RES_CAPS, 10);
    status[9] = hs_factory_set_limit(c, HS_RES_THREADS, 7);
    acct_at(4, c);
    /* Whose account may be read. */
    hs_account a;
    status[10] = hs_factory_account(sibling_pid, &a);
    status[11] = hs_factory_account(grandchild_pid, &a);
    status[12] = hs_factory_account(z, &a);
    status[13] = hs_factory_account(c, NULL);
    status[14] = hs_factory_account(hs_proc_self(), &a);
    EXPECT_ST(hs_proc_wait(c, HS_NEVER, NULL), HS_OK);
    return 0;
}

static void test_factory_set_limit_rules(void **state)
{
    (void)state;
    hs_quota q = quota_one(HS_RES_CAPS, 12);
    hs_proc_attr a;
    memset(&a, 0, sizeof a);
    a.quota = &q;
    start();
    assert_int_equal(hs_proc_spawn("sibling", sleeper, at(1000), NULL,
                                   &sibling_pid), HS_OK);
    assert_int_equal(hs_proc_spawn("main", setl_main, NULL, &a, NULL),
                     HS_OK);
    /* Only a simulated thread sets limits. */
    assert_int_equal(hs_factory_set_limit(sibling_pid, HS_RES_CAPS, 1),
                     HS_ESTATE);
    assert_int_equal(hs_sim_run(), HS_OK);
    assert_no_bad_status();

    assert_int_equal(status[0], HS_ENOTCHILD);
    assert_int_equal(status[1], HS_ENOTCHILD);
    assert_int_equal(status[2], HS_ENOTCHILD);
    assert_int_equal(status[3], HS_EINVAL);
    assert_int_equal(status[4], HS_EINVAL);
    assert_int_equal(status[5], HS_EPERM);
    assert_int_equal(status[6], HS_EPERM);
    assert_int_equal(status[7], HS_ESRCH);
    assert_unchanged(&seen[0], &seen[2]);
    assert_unchanged(&seen[1], &seen[3]);
    assert_int_equal(seen[0].limit[HS_RES_CAPS], 12);
    assert_int_equal(status[8], HS_OK);
    assert_int_equal(status[9], HS_OK);
    assert_int_equal(seen[4].limit[HS_RES_CAPS], 10);
    assert_int_equal(seen[4].limit[HS_RES_THREADS], 7);
    assert_int_equal(seen[4].limit[HS_RES_GATES], HS_UNLIMITED);
    /* The child, limited to 10 caps, may not give its child 11. */
    assert_int_equal(status[20], HS_EPERM);
    assert_int_equal(status[21], HS_OK);
    assert_int_equal(seen[20].limit[HS_RES_CAPS], 10);
    assert_int_equal(status[10], HS_ENOTCHILD);
    assert_int_equal(status[11], HS_ENOTCHILD);
    assert_int_equal(status[12], HS_ESRCH);
    assert_int_equal(status[13], HS_EINVAL);
    assert_int_equal(status[14], HS_OK);
}

/* ---- 12. a limit below what is in use -------------------------------- */

static int below_child(void *arg)
{
    (void)arg;
    hs_cap_t q = 0, d1 = 0, d2 = 0, d3 = 0;
    EXPECT_ST(hs_irq_create(&q), HS_OK);
    EXPECT_ST(hs_cap_derive(q, HS_CAP_SEND, 1, &d1), HS_OK);
    EXPECT_ST(hs_cap_derive(q, HS_CAP_SEND, 2, &d2), HS_OK);
    tu_sleep_until(200);                /* the limit is now 2, 3 in use */
    acct_at(0, 0);
    status[0] = hs_cap_derive(q, HS_CAP_SEND, 3, &out_cap);
    EXPECT_ST(hs_cap_delete(d1), HS_OK);
    status[1] = hs_cap_derive(q, HS_CAP_SEND, 3, &out_cap);
    EXPECT_ST(hs_cap_delete(d2), HS_OK);
    status[2] = hs_cap_derive(q, HS_CAP_SEND, 3, &d3);
    acct_at(1, 0);
    status[3] = hs_thread_create(sleeper, at(0), NULL, &out_tid);
    acct_at(2, 0);
    return 0;
}

static int below_main(void *arg)
{
    (void)arg;
    hs_pid_t c = 0;
    EXPECT_ST(hs_proc_spawn("child", below_child, NULL, NULL, &c), HS_OK);
    tu_sleep_until(100);
    status[10] = hs_factory_set_limit(c, HS_RES_CAPS, 2);
    status[11] = hs_factory_set_limit(c, HS_RES_THREADS, 0);
    EXPECT_ST(hs_proc_wait(c, HS_NEVER, NULL), HS_OK);
    return 0;
}

static void test_factory_limit_below_use_refuses_until_use_drops(void **state)
{
    (void)state;
    run_quota(below_main, NULL);
    assert_int_equal(status[10], HS_OK);
    assert_int_equal(status[11], HS_OK);
    assert_used(&seen[0], 1, 0, 0, 0, 3, 1, STACK);
    assert_int_equal(seen[0].limit[HS_RES_CAPS], 2);
    assert_int_equal(status[0], HS_EQUOTA);     /* 3 in use */
    assert_int_equal(status[1], HS_EQUOTA);     /* 2 in use */
    assert_int_equal(status[2], HS_OK);         /* 1 in use */
    assert_used(&seen[1], 1, 0, 0, 0, 2, 1, STACK);
    assert_int_equal(seen[1].refused[HS_RES_CAPS], 2);
    assert_int_equal(status[3], HS_EQUOTA);     /* 1 thread, limit 0 */
    assert_refused_once(&seen[1], &seen[2], HS_RES_THREADS);
    assert_int_equal(out_cap, 0);
    assert_int_equal(out_tid, 0);
}

/* ---- 13. capabilities given to a child count against it -------------- */

static int given_child(void *arg)
{
    (void)arg;
    tu_sleep_until(500);
    status[20] = hs_irq_signal(given[1], 0x1);
    EXPECT_ST(hs_cap_delete(given[0]), HS_OK);
    tu_sleep_until(1000);
    return 0;
}

static uint64_t bits_seen;

static int given_main(void *arg)
{
    (void)arg;
    hs_quota q = quota_one(HS_RES_CAPS, 2);
    hs_proc_attr a;
    memset(&a, 0, sizeof a);
    a.quota = &q;
    hs_pid_t c = 0;
    hs_cap_t irq = 0;
    EXPECT_ST(hs_irq_create(&irq), HS_OK);
    EXPECT_ST(hs_proc_spawn("child", given_child, NULL, &a, &c), HS_OK);
    acct_at(0, 0);
    acct_at(1, c);
    status[0] = hs_cap_give(c, irq, HS_CAP_SEND, &given[0]);
    status[1] = hs_cap_give(c, irq, HS_CAP_SEND, &given[1]);
    acct_at(2, 0);
    acct_at(3, c);
    status[2] = hs_cap_give(c, irq, HS_CAP_SEND, &given[2]);
    acct_at(4, 0);
    acct_at(5, c);
    tu_sleep_until(600);                /* the child deleted one */
    acct_at(6, c);
    status[3] = hs_cap_give(c, irq, HS_CAP_SEND, &given[3]);
    acct_at(7, c);
    EXPECT_ST(hs_irq_poll(irq, &bits_seen), HS_OK);
    EXPECT_ST(hs_proc_wait(c, HS_NEVER, NULL), HS_OK);
    return 0;
}

static void test_factory_given_caps_count_against_receiver(void **state)
{
    (void)state;
    bits_seen = 0;
    run_quota(given_main, NULL);
    assert_int_equal(seen[0].used[HS_RES_CAPS], 1);
    assert_int_equal(seen[1].used[HS_RES_CAPS], 0);
    assert_int_equal(status[0], HS_OK);
    assert_int_equal(status[1], HS_OK);
    assert_unchanged(&seen[0], &seen[2]);       /* the giver pays nothing */
    assert_int_equal(seen[3].used[HS_RES_CAPS], 2);
    assert_int_equal(status[2], HS_EQUOTA);
    assert_int_equal(given[2], 0);
    assert_unchanged(&seen[2], &seen[4]);
    assert_refused_once(&seen[3], &seen[5], HS_RES_CAPS);
    assert_int_equal(status[20], HS_OK);
    assert_int_equal(seen[6].used[HS_RES_CAPS], 1);
    assert_int_equal(status[3], HS_OK);
    assert_int_equal(seen[7].used[HS_RES_CAPS], 2);
    assert_int_equal(bits_seen, 0x1);         /* the given cap worked */
}

/* Initial capabilities at spawn count against the child too. */
static int initial_child(void *arg)
{
    (void)arg;
    acct_at(10, 0);
    status[10] = hs_cap_derive(1, HS_CAP_SEND, 0, &out_cap);
    status[11] = hs_irq_signal(2, 0x4);
    return 0;
}

static int initial_main(void *arg)
{
    (void)arg;
    hs_cap_t irq = 0;
    EXPECT_ST(hs_irq_create(&irq), HS_OK);
    const uint32_t caps[2] = { irq, irq };
    hs_quota q = quota_one(HS_RES_CAPS, 1);
    hs_proc_attr a;
    memset(&a, 0, sizeof a);
    a.quota = &q;
    a.caps = caps;
    a.ncaps = 2;
    acct_at(0, 0);
    status[0] = hs_proc_spawn("small", initial_child, NULL, &a, &out_pid);
    acct_at(1, 0);
    q.limit[HS_RES_CAPS] = 2;
    hs_pid_t c = 0;
    status[1] = hs_proc_spawn("fits", initial_child, NULL, &a, &c);
    EXPECT_ST(hs_proc_wait(c, HS_NEVER, NULL), HS_OK);
    EXPECT_ST(hs_irq_poll(irq, &bits_seen), HS_OK);
    return 0;
}

static void test_factory_initial_caps_count_against_child(void **state)
{
    (void)state;
    bits_seen = 0;
    run_quota(initial_main, NULL);
    assert_int_equal(status[0], HS_EQUOTA);
    assert_int_equal(out_pid, 0);
    assert_nothing_made(&seen[0], &seen[1]);
    assert_int_equal(status[1], HS_OK);
    assert_used(&seen[10], 1, 0, seen[10].used[HS_RES_PORTS], 0, 2, 0,
                STACK);
    assert_int_equal(seen[10].limit[HS_RES_CAPS], 2);
    assert_int_equal(status[10], HS_EQUOTA);
    assert_int_equal(status[11], HS_OK);
    assert_int_equal(bits_seen, 0x4);
    /* main and "fits": the refused spawn made no process. */
    assert_int_equal(tu_summary().procs_created, 2);
}

/* ---- 14. reading an account from outside the run --------------------- */

static void test_factory_account_outside_run(void **state)
{
    (void)state;
    hs_account a, b;
    assert_int_equal(hs_factory_account(1, &a), HS_ESTATE);
    start();
    assert_int_equal(hs_factory_account(1, &a), HS_ESRCH);
    hs_quota q = quota_one(HS_RES_CAPS, 5);
    hs_proc_attr pa;
    memset(&pa, 0, sizeof pa);
    pa.quota = &q;
    pa.stack_size = 32 * KIB;
    hs_pid_t p = 0, r = 0;
    assert_int_equal(hs_proc_spawn("limited", sleeper, at(100), &pa, &p),
                     HS_OK);
    assert_int_equal(hs_proc_spawn("free", sleeper, at(100), NULL, &r),
                     HS_OK);
    memset(&a, 0xa5, sizeof a);
    assert_int_equal(hs_factory_account(p, &a), HS_OK);
    assert_used(&a, 1, 0, 0, 0, 0, 0, 32 * KIB);
    assert_int_equal(a.peak[HS_RES_THREADS], 1);
    assert_int_equal(a.peak[HS_RES_MEMORY], 32 * KIB);
    for (int i = 0; i < HS_RES_COUNT; i++) {
        assert_int_equal(a.limit[i], q.limit[i]);
        assert_int_equal(a.refused[i], 0);
    }
    memset(&b, 0xa5, sizeof b);
    assert_int_equal(hs_factory_account(r, &b), HS_OK);
    assert_used(&b, 1, 0, 0, 0, 0, 0, STACK);
    for (int i = 0; i < HS_RES_COUNT; i++)
        assert_int_equal(b.limit[i], HS_UNLIMITED);
    assert_int_equal(hs_factory_account(0, &a), HS_ESRCH);
    assert_int_equal(hs_factory_account(p, NULL), HS_EINVAL);
    assert_int_equal(hs_factory_account(p + r + 12345, &a), HS_ESRCH);
    tu_status_reset();
    assert_int_equal(hs_sim_run(), HS_OK);
    assert_no_bad_status();
    assert_int_equal(hs_factory_account(p, &a), HS_ESTATE);
}

/* ---- 15. configured limits are not quotas ---------------------------- */

static int limit_main(void *arg)
{
    (void)arg;
    hs_cap_t q = 0, d = 0;
    EXPECT_ST(hs_irq_create(&q), HS_OK);
    EXPECT_ST(hs_cap_derive(q, HS_CAP_SEND, 1, &d), HS_OK);
    acct_at(0, 0);
    status[0] = hs_cap_derive(q, HS_CAP_SEND, 2, &out_cap);
    acct_at(1, 0);
    return 0;
}

static void test_factory_config_limit_is_elimit_not_quota(void **state)
{
    (void)state;
    hs_sim_config cfg = tu_config();
    cfg.max_caps = 2;
    reset();
    assert_int_equal(tu_run(&cfg, "main", limit_main, NULL, NULL), HS_OK);
    assert_no_bad_status();
    assert_int_equal(status[0], HS_ELIMIT);
    assert_unchanged(&seen[0], &seen[1]);
}

/* ---- 16. names and the printed table --------------------------------- */

/* What hs_account_print(title, a) writes, into buf. */
static void capture_print(const char *title, const hs_account *a, char *buf,
                          size_t len)
{
    FILE *f = tmpfile();
    assert_non_null(f);
    fflush(stderr);
    int saved = dup(2);
    assert_true(saved >= 0);
    assert_true(dup2(fileno(f), 2) >= 0);
    hs_account_print(title, a);
    fflush(stderr);
    assert_true(dup2(saved, 2) >= 0);
    close(saved);
    rewind(f);
    size_t n = fread(buf, 1, len - 1, f);
    buf[n] = 0;
    fclose(f);
}

static void test_factory_res_names_and_print(void **state)
{
    (void)state;
    static const char *const names[HS_RES_COUNT] = {
        "threads", "procs", "ports", "gates", "caps", "irqs", "memory",
        "mapped",
    };
    for (int r = 0; r < HS_RES_COUNT; r++)
        assert_string_equal(hs_res_name((hs_res)r), names[r]);
    assert_string_equal(hs_res_name(HS_RES_COUNT), "?");
    assert_string_equal(hs_res_name((hs_res)-1), "?");
    assert_string_equal(hs_res_name((hs_res)1000), "?");
    assert_true(strncmp(hs_strerror(HS_EQUOTA), "HS_EQUOTA", 9) == 0);

    hs_account a;
    memset(&a, 0, sizeof a);
    for (int r = 0; r < HS_RES_COUNT; r++)
        a.limit[r] = HS_UNLIMITED;
    a.used[HS_RES_THREADS] = 3;
    a.peak[HS_RES_THREADS] = 5;
    a.limit[HS_RES_THREADS] = 7;
    a.refused[HS_RES_THREADS] = 2;
    a.used[HS_RES_MEMORY] = 196608;
    char buf[2048];
    capture_print("account of tester", &a, buf, sizeof buf);
    assert_non_null(strstr(buf, "account of tester"));
    for (int r = 0; r < HS_RES_COUNT; r++)
        assert_non_null(strstr(buf, names[r]));
    assert_non_null(strstr(buf, "unlimited"));
    assert_non_null(strstr(buf, "196608"));
    const char *row = strstr(buf, "threads");
    assert_non_null(row);
    int used = -1, peak = -1, limit = -1, refused = -1;
    assert_int_equal(sscanf(row, "threads %d %d %d %d", &used, &peak,
                            &limit, &refused), 4);
    assert_int_equal(used, 3);
    assert_int_equal(peak, 5);
    assert_int_equal(limit, 7);
    assert_int_equal(refused, 2);
    /* No title: still the table; no account: nothing. */
    capture_print(NULL, &a, buf, sizeof buf);
    assert_non_null(strstr(buf, "memory"));
    capture_print("nothing", NULL, buf, sizeof buf);
    assert_string_equal(buf, "");
}

/* ---- closing and destroying give the quota back; limits reach down --------- */

static int recover_main(void *arg)
{
    (void)arg;
    hs_port_t p1 = 0;
    hs_cap_t q1 = 0;
    EXPECT_ST(hs_port_create(&p1), HS_OK);
    status[0] = hs_port_create(&out_port);              /* ports: 1 */
    EXPECT_ST(hs_port_destroy(p1), HS_OK);
    EXPECT_ST(hs_factory_account(0, &seen[0]), HS_OK);
    status[1] = hs_port_create(&out_port);              /* fits again */
    EXPECT_ST(hs_irq_create(&q1), HS_OK);
    status[2] = hs_irq_create(&out_cap);                /* irqs: 1 */
    EXPECT_ST(hs_irq_destroy(q1), HS_OK);
    EXPECT_ST(hs_factory_account(0, &seen[1]), HS_OK);
    status[3] = hs_irq_create(&out_cap);
    status[4] = hs_irq_signal(q1, 1);                   /* stale */
    return 0;
}

static void test_factory_close_and_destroy_give_back(void **state)
{
    (void)state;
    hs_quota q = hs_quota_unlimited();
    q.limit[HS_RES_PORTS] = 1;
    q.limit[HS_RES_IRQS] = 1;
    run_quota(recover_main, &q);
    assert_int_equal(status[0], HS_EQUOTA);
    assert_int_equal(seen[0].used[HS_RES_PORTS], 0);
    assert_int_equal(status[1], HS_OK);
    assert_int_equal(status[2], HS_EQUOTA);
    assert_int_equal(seen[1].used[HS_RES_IRQS], 0);
    assert_int_equal(status[3], HS_OK);
    assert_int_equal(status[4], HS_EBADCAP);
}

/* A limit set on a child after it spawned reaches the grandchild. */
static int grandchild(void *arg)
{
    (void)arg;
    tu_sleep_until(100);                /* the root lowered the limit */
    hs_cap_t g = 0, c = 0;
    status[10] = hs_gate_create(0, 0, &g);
    status[11] = hs_cap_derive(g, HS_CAP_SEND, 0, &c);
    EXPECT_ST(hs_factory_account(0, &seen[10]), HS_OK);
    return 0;
}

static int middle(void *arg)
{
    (void)arg;
    hs_pid_t gc = 0;
    EXPECT_ST(hs_proc_spawn("grandchild", grandchild, NULL, NULL, &gc),
              HS_OK);
    EXPECT_ST(hs_proc_wait(gc, HS_NEVER, NULL), HS_OK);
    return 0;
}

static int clamp_main(void *arg)
{
    (void)arg;
    hs_pid_t mid = 0;
    EXPECT_ST(hs_proc_spawn("middle", middle, NULL, NULL, &mid), HS_OK);
    tu_sleep_until(50);                 /* the grandchild exists */
    status[0] = hs_factory_set_limit(mid, HS_RES_CAPS, 1);
    EXPECT_ST(hs_proc_wait(mid, HS_NEVER, NULL), HS_OK);
    return 0;
}

static void test_factory_set_limit_reaches_descendants(void **state)
{
    (void)state;
    run_quota(clamp_main, NULL);
    assert_int_equal(status[0], HS_OK);
    assert_int_equal(seen[10].limit[HS_RES_CAPS], 1);
    assert_int_equal(status[10], HS_OK);                /* cap 1 of 1 */
    assert_int_equal(status[11], HS_EQUOTA);
}

/* cfg.max_ports counts ports, gates and IRQ objects together. */
static int endpoints_main(void *arg)
{
    (void)arg;
    hs_cap_t a = 0, b = 0;
    status[0] = hs_irq_create(&a);
    status[1] = hs_gate_create(0, 0, &b);
    status[2] = hs_port_create(&out_port);
    status[3] = hs_irq_create(&out_cap);
    status[4] = hs_gate_create(0, 0, &out_cap);
    return 0;
}

static void test_factory_max_ports_counts_every_endpoint(void **state)
{
    (void)state;
    hs_sim_config cfg = tu_config();
    cfg.max_ports = 2;
    reset();
    assert_int_equal(tu_run(&cfg, "main", endpoints_main, NULL, NULL),
                     HS_OK);
    assert_no_bad_status();
    assert_int_equal(status[0], HS_OK);
    assert_int_equal(status[1], HS_OK);
    assert_int_equal(status[2], HS_ELIMIT);
    assert_int_equal(status[3], HS_ELIMIT);
    assert_int_equal(status[4], HS_ELIMIT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        TU_TEST(test_factory_account_counts_objects),
        TU_TEST(test_factory_peaks_stay),
        TU_TEST(test_factory_threads_quota_exhaustion_and_recovery),
        TU_TEST(test_factory_memory_quota_exhaustion_and_recovery),
        TU_TEST(test_factory_procs_quota_exhaustion_and_recovery),
        TU_TEST(test_factory_gates_quota_exhaustion_and_recovery),
        TU_TEST(test_factory_caps_quota_exhaustion_and_recovery),
        TU_TEST(test_factory_ports_and_irqs_quota_exhaustion),
        TU_TEST(test_factory_child_inherits_limits),
        TU_TEST(test_factory_quota_above_parent_refused),
        TU_TEST(test_factory_set_limit_rules),
        TU_TEST(test_factory_limit_below_use_refuses_until_use_drops),
        TU_TEST(test_factory_given_caps_count_against_receiver),
        TU_TEST(test_factory_initial_caps_count_against_child),
        TU_TEST(test_factory_account_outside_run),
        TU_TEST(test_factory_config_limit_is_elimit_not_quota),
        TU_TEST(test_factory_res_names_and_print),
        TU_TEST(test_factory_close_and_destroy_give_back),
        TU_TEST(test_factory_set_limit_reaches_descendants),
        TU_TEST(test_factory_max_ports_counts_every_endpoint),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
