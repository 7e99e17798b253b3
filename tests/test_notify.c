/*
 * tests/test_notify.c - notifications: delivery at the next kernel exit,
 * the order and completeness of a burst, the queue bound, the state a
 * handler leaves untouched, the NOW and RETURN flags in the event stream,
 * nesting with and without an allocator action, handlers that return
 * without hs_notify_return, exit notifications to the parent and to
 * watches set before and after the exit, memory exhaustion through the
 * synchronous dispatch, typed messages taken, abandoned, withdrawn and
 * orphaned, bad input, and threads killed inside handlers.
 *
 * Simulated threads record into the statics below; the test asserts after
 * hs_sim_run().  Every run is unseeded on one CPU, so orders are exact.
 */
#include "testutil.h"

#define BAD 0xbadull
#define SLOT 5

static struct tu_log order;          /* what happened, in order */
static struct tu_log got;            /* words received, in order */
static hs_status status[32];
static unsigned depth_seen[8];
static hs_tid_t tid[8];
static hs_pid_t pid[4];
static hs_notification last;         /* the last notification handled */
static unsigned handled;

/* The event stream: the kinds asked for, with their thread. */
#define NEV 64
static struct {
    const char *kind;
    uint64_t thread, a, b;
} ev[NEV];
static unsigned nev;

static void reset(void)
{
    tu_log_reset(&order);
    tu_log_reset(&got);
    for (int i = 0; i < 32; i++)
        status[i] = HS_STATUS_COUNT;
    memset(depth_seen, 0, sizeof depth_seen);
    memset(tid, 0, sizeof tid);
    memset(pid, 0, sizeof pid);
    memset(&last, 0, sizeof last);
    handled = 0;
    nev = 0;
}

/* Keep the notification and switch events. */
static void on_event(void *cookie, const hs_event *e)
{
    (void)cookie;
    if (nev >= NEV || (strncmp(e->kind, "notify_", 7) != 0 &&
                       strcmp(e->kind, "switch") != 0))
        return;
    ev[nev].kind = e->kind;
    ev[nev].thread = e->thread;
    ev[nev].a = e->a;
    ev[nev].b = e->b;
    nev++;
}

static hs_sim_config config(void)
{
    hs_sim_config cfg = tu_config();
    cfg.event_fn = on_event;
    return cfg;
}

static void start(void)
{
    hs_sim_config cfg = config();
    reset();
    tu_status_reset();
    assert_int_equal(hs_sim_start(&cfg), HS_OK);
}

static const hs_proc_attr privileged = { .privileged = 1 };

/* Reset the records, run entry as the root process "main" (privileged if
 * priv) with config(): must end HS_OK. */
static void run_main(hs_entry_fn entry, int priv)
{
    hs_sim_config cfg = config();
    reset();
    tu_run_one(&cfg, "main", entry, NULL, priv ? &privileged : NULL);
}

static void sleep_ns(hs_time_t ns)
{
    EXPECT_ST(hs_thread_sleep(ns), HS_OK);
}

/* Events of the given kinds only ("notify_*" and "switch" are kept). */
static unsigned events_of(const char *const *kinds, unsigned nkinds,
                          unsigned *idx, unsigned max)
{
    unsigned n = 0;
    for (unsigned i = 0; i < nev && n < max; i++)
        for (unsigned j = 0; j < nkinds; j++)
            if (strcmp(ev[i].kind, kinds[j]) == 0)
                idx[n++] = i;
    return n;
}

static unsigned count_events(const char *kind)
{
    unsigned n = 0;
    for (unsigned i = 0; i < nev; i++)
        n += strcmp(ev[i].kind, kind) == 0;
    return n;
}

/* ---- handlers ------------------------------------------------------------ */

/* Logs 100 + words[0], keeps the notification, returns properly. */
static void h_log(void *cookie, const hs_notification *n)
{
    (void)cookie;
    last = *n;
    handled++;
    tu_log_add(&order, 100 + (int)n->words[0]);
    hs_notify_return();
    tu_log_add(&order, -1);             /* never reached */
}

/* ---- 1. delivery at the next kernel exit ---------------------------------- */

static int deliver_target(void *arg)
{
    (void)arg;
    tu_log_add(&order, 1);
    EXPECT_ST(hs_notify_wait(HS_NEVER), HS_OK);     /* the handler ran */
    tu_log_add(&order, 2);
    return 0;
}

static int deliver_main(void *arg)
{
    (void)arg;
    tid[0] = tu_mk(deliver_target, NULL, 0);
    EXPECT_ST(hs_notify_install(tid[0], SLOT, h_log, NULL), HS_OK);
    sleep_ns(10);                       /* the target waits */
    uint64_t w[3] = { 7, 8, 9 };
    EXPECT_ST(hs_notify_send(tid[0], SLOT, w, 3, 0), HS_OK);
    tu_log_add(&order, 3);              /* no flag: the sender goes on */
    tu_join(tid[0]);
    /* To itself: it runs as the call returns. */
    EXPECT_ST(hs_notify_install(hs_thread_self(), SLOT, h_log, NULL), HS_OK);
    w[0] = 4;
    EXPECT_ST(hs_notify_send(hs_thread_self(), SLOT, w, 1, 0), HS_OK);
    tu_log_add(&order, 5);
    return 0;
}

static void test_notify_runs_at_the_targets_next_kernel_exit(void **state)
{
    (void)state;
    run_main(deliver_main, 1);
    static const int want[] = { 1, 3, 107, 2, 104, 5 };
    assert_log(&order, want, 6);
    assert_int_equal(last.slot, SLOT);
    assert_int_equal(last.n, 1);
    assert_int_equal(last.words[0], 4);
    assert_int_equal(last.depth, 1);
    assert_int_equal(last.flags, 0);
    assert_int_equal(handled, 2);
    assert_int_equal(count_events("notify_dispatch"), 2);
    assert_int_equal(count_events("notify_return"), 2);
    assert_int_equal(count_events("notify_noreturn"), 0);
}

/* ---- 2. 1,000 notifications from 10 senders ------------------------------ */

#define NSENDERS 10
#define PER_SENDER 100
static struct tu_log sent;

static void h_burst(void *cookie, const hs_notification *n)
{
    (void)cookie;
    tu_log_add(&got, (int)(n->words[0] * 1000 + n->words[1]));
    handled++;
    hs_notify_return();
}

static int burst_target(void *arg)
{
    (void)arg;
    while (handled < NSENDERS * PER_SENDER)
        EXPECT_ST(hs_notify_wait(HS_NEVER), HS_OK);
    return 0;
}

static int burst_sender(void *arg)
{
    int i = tu_arg_id(arg);
    for (int j = 0; j < PER_SENDER; j++) {
        uint64_t w[2] = { (uint64_t)i, (uint64_t)j };
        EXPECT_ST(hs_notify_send(tid[0], SLOT, w, 2, 0), HS_OK);
        tu_log_add(&sent, i * 1000 + j);
        if ((j + i) % 7 == 0)           /* interleave the senders */
            EXPECT_ST(hs_thread_yield(), HS_OK);
    }
    return 0;
}

static int burst_main(void *arg)
{
    (void)arg;
    tid[0] = tu_mk(burst_target, NULL, 0);
    EXPECT_ST(hs_notify_install(tid[0], SLOT, h_burst, NULL), HS_OK);
    hs_tid_t s[NSENDERS];
    for (int i = 0; i < NSENDERS; i++)
        s[i] = tu_mk(burst_sender, tu_id_arg(i), 0);
    for (int i = 0; i < NSENDERS; i++)
        tu_join(s[i]);
    tu_join(tid[0]);
    return 0;
}

static void test_notify_1000_from_10_senders_in_order_none_lost(void **state)
{
    (void)state;
    tu_log_reset(&sent);
    run_main(burst_main, 1);
    assert_int_equal(tu_log_len(&got), NSENDERS * PER_SENDER);
    assert_true(tu_log_equal(&got, &sent));     /* the order sent */
    /* Each sender's notifications arrived in its order, all of them. */
    int next[NSENDERS] = { 0 };
    for (unsigned i = 0; i < tu_log_len(&got); i++) {
        int s = got.v[i] / 1000, j = got.v[i] % 1000;
        assert_int_equal(j, next[s]);
        next[s]++;
    }
    for (int s = 0; s < NSENDERS; s++)
        assert_int_equal(next[s], PER_SENDER);
    /* The senders really interleaved. */
    int switches = 0;
    for (unsigned i = 1; i < tu_log_len(&got); i++)
        switches += got.v[i] / 1000 != got.v[i - 1] / 1000;
    assert_true(switches > NSENDERS);
}

/* ---- 3. the queue bound --------------------------------------------------- */

static int full_target(void *arg)
{
    (void)arg;
    sleep_ns(1000);             /* blocked: nothing runs while it sleeps */
    tu_log_add(&order, (int)handled);
    return 0;
}

static int full_main(void *arg)
{
    (void)arg;
    tid[0] = tu_mk(full_target, NULL, 0);
    EXPECT_ST(hs_notify_install(tid[0], SLOT, h_burst, NULL), HS_OK);
    sleep_ns(10);
    uint64_t w[2] = { 0, 0 };
    for (int i = 0; i < HS_NOTIFY_QUEUE_MAX; i++) {
        w[1] = (uint64_t)i % 1000;
        EXPECT_ST(hs_notify_send(tid[0], SLOT, w, 2, 0), HS_OK);
    }
    status[0] = hs_notify_send(tid[0], SLOT, w, 2, 0);
    tu_join(tid[0]);
    return 0;
}

static void test_notify_queue_bound_is_elimit_and_nothing_lost(void **state)
{
    (void)state;
    run_main(full_main, 1);
    assert_int_equal(status[0], HS_ELIMIT);
    static const int want[] = { HS_NOTIFY_QUEUE_MAX };
    assert_log(&order, want, 1);        /* all ran when its sleep ended */
    assert_int_equal(tu_log_len(&got), HS_NOTIFY_QUEUE_MAX);
    for (unsigned i = 0; i < tu_log_len(&got); i++)
        assert_int_equal(got.v[i], (int)(i % 1000));
}

/* ---- 4. the interrupted state comes back exactly -------------------------- */

static int regs_ok;

#if defined(__x86_64__)
/* Callee-saved registers loaded with known values across a kernel call
 * whose exit runs a handler. */
static int registers_survive(void)
{
    register uint64_t rbx __asm__("rbx") = 0x1111111111111111ull;
    register uint64_t r12 __asm__("r12") = 0x1212121212121212ull;
    register uint64_t r13 __asm__("r13") = 0x1313131313131313ull;
    register uint64_t r14 __asm__("r14") = 0x1414141414141414ull;
    register uint64_t r15 __asm__("r15") = 0x1515151515151515ull;
    __asm__ volatile("" : "+r"(rbx), "+r"(r12), "+r"(r13), "+r"(r14),
                     "+r"(r15));
    hs_status st = hs_thread_yield();
    __asm__ volatile("" : "+r"(rbx), "+r"(r12), "+r"(r13), "+r"(r14),
                     "+r"(r15));
    return st == HS_OK && rbx == 0x1111111111111111ull &&
           r12 == 0x1212121212121212ull && r13 == 0x1313131313131313ull &&
           r14 == 0x1414141414141414ull && r15 == 0x1515151515151515ull;
}
#else
static int registers_survive(void)
{
    volatile uint64_t a = 0x1111111111111111ull;
    hs_status st = hs_thread_yield();
    return st == HS_OK && a == 0x1111111111111111ull;
}
#endif

/* Clobbers every message register, the tag, the wait result (a sleep),
 * and the stack below it. */
static void h_clobber(void *cookie, const hs_notification *n)
{
    (void)cookie;
    hs_utcb_t *u = hs_utcb();
    volatile char junk[4096];
    memset((char *)junk, 0x5a, sizeof junk);
    for (int i = 0; i < HS_MR_COUNT; i++)
        u->mr[i] = ~0ull;
    u->tag = ~0ull;
    depth_seen[0] = n->depth;
    EXPECT_ST(hs_thread_sleep(5), HS_OK);
    tu_log_add(&order, 100);
    hs_notify_return();
}

static int state_target(void *arg)
{
    (void)arg;
    hs_utcb_t *u = hs_utcb();
    for (int i = 0; i < HS_MR_COUNT; i++)
        u->mr[i] = 0xabc00000ull + (uint64_t)i;
    u->tag = 0x7a9;
    tu_log_add(&order, 1);
    regs_ok = registers_survive();      /* the handler runs in the yield */
    tu_log_add(&order, 2);
    int same = u->tag == 0x7a9;
    for (int i = 0; i < HS_MR_COUNT; i++)
        same = same && u->mr[i] == 0xabc00000ull + (uint64_t)i;
    tu_log_add(&order, same ? 3 : -3);
    return 0;
}

static int state_main(void *arg)
{
    (void)arg;
    tid[0] = tu_mk(state_target, NULL, 0);
    EXPECT_ST(hs_notify_install(tid[0], SLOT, h_clobber, NULL), HS_OK);
    EXPECT_ST(hs_thread_yield(), HS_OK);        /* the target yields back */
    EXPECT_ST(hs_notify_send(tid[0], SLOT, NULL, 0, 0), HS_OK);
    tu_join(tid[0]);
    return 0;
}

static void test_notify_saved_state_identical_after_handler(void **state)
{
    (void)state;
    regs_ok = 0;
    run_main(state_main, 1);
    static const int want[] = { 1, 100, 2, 3 };
    assert_log(&order, want, 4);
    assert_true(regs_ok);
    assert_int_equal(depth_seen[0], 1);
}

/* ---- 5. the flags, in the event stream ------------------------------------- */

static void h_flag(void *cookie, const hs_notification *n)
{
    (void)cookie;
    last = *n;
    tu_log_add(&order, 100);
    hs_notify_return();
}

static int flag_target(void *arg)
{
    (void)arg;
    EXPECT_ST(hs_notify_wait(HS_NEVER), HS_OK);
    tu_log_add(&order, 2);              /* the target's own code again */
    return 0;
}

static int flag_other(void *arg)
{
    (void)arg;
    tu_log_add(&order, 9);              /* a bystander, queued first */
    return 0;
}

static unsigned flags_sent;

static int flag_main(void *arg)
{
    (void)arg;
    tid[0] = tu_mk(flag_target, NULL, 0);
    EXPECT_ST(hs_notify_install(tid[0], SLOT, h_flag, NULL), HS_OK);
    sleep_ns(10);                       /* the target waits */
    tid[1] = tu_mk(flag_other, NULL, 0); /* runnable, ahead of the target */
    EXPECT_ST(hs_notify_send(tid[0], SLOT, NULL, 0, flags_sent), HS_OK);
    tu_log_add(&order, 1);              /* the sender's next statement */
    tu_join(tid[0]);
    tu_join(tid[1]);
    return 0;
}

static void run_flags(unsigned flags)
{
    flags_sent = flags;
    run_main(flag_main, 1);
    assert_int_equal(last.flags, flags);
}

static void test_notify_without_flags_waits_for_the_scheduler(void **state)
{
    (void)state;
    run_flags(0);
    /* The sender goes on; the bystander runs before the target. */
    static const int want[] = { 1, 9, 100, 2 };
    assert_log(&order, want, 4);
}

static void test_notify_now_runs_the_target_next(void **state)
{
    (void)state;
    run_flags(HS_NOTIFY_NOW);
    /* The target runs next, handler then its own code, before the
     * sender goes on and before the bystander. */
    static const int want[] = { 100, 2, 1, 9 };
    assert_log(&order, want, 4);
}

static void test_notify_now_return_flags_in_trace_order(void **state)
{
    (void)state;
    run_flags(HS_NOTIFY_NOW | HS_NOTIFY_RETURN);
    /* The handler, then straight back to the sender; the target's own
     * code after the sender, ahead of the bystander (it went back at the
     * front of the queue). */
    static const int want[] = { 100, 1, 2, 9 };
    assert_log(&order, want, 4);
    /* In the event stream: send, switch to the target, dispatch, return,
     * switch straight back to the sender. */
    static const char *const kinds[] = {
        "notify_send", "notify_dispatch", "notify_return", "switch",
    };
    unsigned idx[NEV];
    unsigned n = events_of(kinds, 4, idx, NEV);
    unsigned s = 0;
    while (s < n && strcmp(ev[idx[s]].kind, "notify_send") != 0)
        s++;
    assert_true(s + 4 < n);
    hs_tid_t sender = ev[idx[s]].thread;
    assert_int_equal(ev[idx[s]].a, tid[0]);
    assert_string_equal(ev[idx[s + 1]].kind, "switch");
    assert_int_equal(ev[idx[s + 1]].thread, tid[0]);
    assert_int_equal(ev[idx[s + 1]].a, sender);
    assert_string_equal(ev[idx[s + 2]].kind, "notify_dispatch");
    assert_int_equal(ev[idx[s + 2]].thread, tid[0]);
    assert_int_equal(ev[idx[s + 2]].a, SLOT);
    assert_int_equal(ev[idx[s + 2]].b, 1);
    assert_string_equal(ev[idx[s + 3]].kind, "notify_return");
    assert_int_equal(ev[idx[s + 3]].thread, tid[0]);
    assert_string_equal(ev[idx[s + 4]].kind, "switch");
    assert_int_equal(ev[idx[s + 4]].thread, sender);
    assert_int_equal(ev[idx[s + 4]].a, tid[0]);
}

/* ---- 6. nesting ---------------------------------------------------------------- */

static int alloc_calls;

static hs_status alloc_stack(void *cookie, unsigned depth, size_t *size)
{
    (void)cookie;
    alloc_calls++;
    tu_log_add(&order, 30 + (int)depth);
    *size = 32 * 1024;
    return HS_OK;
}

/* Enter (10 + depth), let the sender run (it nests the next one on top
 * of this handler), leave (20 + depth). */
static void h_nest(void *cookie, const hs_notification *n)
{
    (void)cookie;
    unsigned d = 0;
    EXPECT_ST(hs_notify_depth(&d), HS_OK);
    depth_seen[n->words[0]] = d;
    tu_log_add(&order, 10 + (int)n->depth);
    if (n->words[0] < 3)
        EXPECT_ST(hs_thread_yield(), HS_OK);
    tu_log_add(&order, 20 + (int)n->depth);
    hs_notify_return();
}

static int nest_target(void *arg)
{
    (void)arg;
    EXPECT_ST(hs_notify_wait(HS_NEVER), HS_OK);
    unsigned d = 9;
    EXPECT_ST(hs_notify_depth(&d), HS_OK);
    tu_log_add(&order, 40 + (int)d);
    return 0;
}

static int nest_main(void *arg)
{
    int with_alloc = tu_arg_id(arg);
    if (with_alloc)
        EXPECT_ST(hs_notify_stack_alloc_set(alloc_stack, NULL), HS_OK);
    tid[0] = tu_mk(nest_target, NULL, 0);
    EXPECT_ST(hs_notify_install(tid[0], SLOT, h_nest, NULL), HS_OK);
    sleep_ns(10);
    for (int i = 1; i <= 3; i++) {
        uint64_t w = (uint64_t)i;
        status[i] = hs_notify_send(tid[0], SLOT, &w, 1, HS_NOTIFY_NOW);
    }
    tu_join(tid[0]);
    return 0;
}

static void run_nest(int with_alloc)
{
    alloc_calls = 0;
    start();
    assert_int_equal(hs_proc_spawn("main", nest_main, tu_id_arg(with_alloc),
                                   &privileged, NULL), HS_OK);
    assert_int_equal(hs_sim_run(), HS_OK);
    assert_no_bad_status();
}

static void test_notify_nests_three_deep_with_allocator(void **state)
{
    (void)state;
    run_nest(1);
    static const int want[] = { 11, 32, 12, 33, 13, 23, 22, 21, 40 };
    assert_log(&order, want, 9);
    assert_int_equal(alloc_calls, 2);
    assert_int_equal(status[1], HS_OK);
    assert_int_equal(status[2], HS_OK);
    assert_int_equal(status[3], HS_OK);
    assert_int_equal(depth_seen[1], 1);
    assert_int_equal(depth_seen[2], 2);
    assert_int_equal(depth_seen[3], 3);
}

static void test_notify_nesting_without_allocator_is_enostack(void **state)
{
    (void)state;
    run_nest(0);
    /* The second and third cannot nest: the sender is told, they stay
     * queued and run one after the other once the first returns. */
    static const int want[] = { 11, 21, 11, 21, 11, 21, 40 };
    assert_log(&order, want, 7);
    assert_int_equal(alloc_calls, 0);
    assert_int_equal(status[1], HS_OK);
    assert_int_equal(status[2], HS_ENOSTACK);
    assert_int_equal(status[3], HS_ENOSTACK);
    assert_int_equal(depth_seen[2], 1);
    assert_int_equal(depth_seen[3], 1);
    assert_int_equal(count_events("notify_dispatch"), 3);
}

/* ---- 7. a handler that returns without hs_notify_return ------------------- */

static void h_forgets(void *cookie, const hs_notification *n)
{
    (void)cookie;
    hs_utcb()->mr[0] = 0;
    tu_log_add(&order, 100 + (int)n->words[0]);
}

static int forget_main(void *arg)
{
    (void)arg;
    EXPECT_ST(hs_notify_install(hs_thread_self(), SLOT, h_forgets, NULL),
              HS_OK);
    hs_utcb()->mr[0] = 77;
    uint64_t w = 1;
    EXPECT_ST(hs_notify_send(hs_thread_self(), SLOT, &w, 1, 0), HS_OK);
    tu_log_add(&order, (int)hs_utcb()->mr[0]);
    w = 2;                              /* and again: the stack came back */
    EXPECT_ST(hs_notify_send(hs_thread_self(), SLOT, &w, 1, 0), HS_OK);
    tu_log_add(&order, (int)hs_utcb()->mr[0]);
    status[0] = hs_notify_return();     /* outside any handler */
    return 0;
}

static void test_notify_handler_returning_is_recovered(void **state)
{
    (void)state;
    run_main(forget_main, 1);
    static const int want[] = { 101, 77, 102, 77 };
    assert_log(&order, want, 4);
    assert_int_equal(count_events("notify_noreturn"), 2);
    assert_int_equal(count_events("notify_return"), 2);
    assert_int_equal(status[0], HS_ESTATE);
}

/* ---- 8. bad input ----------------------------------------------------------------- */

static int ended(void *arg)
{
    (void)arg;
    return 0;
}

static int sits(void *arg)
{
    (void)arg;
    sleep_ns(100);
    return 0;
}

static int bad_other(void *arg)
{
    (void)arg;
    tid[2] = hs_thread_self();
    sleep_ns(50);
    return 0;
}

/* An unprivileged process. */
static int bad_plain(void *arg)
{
    (void)arg;
    hs_tid_t me = hs_thread_self();
    status[0] = hs_notify_install(me, SLOT, h_log, NULL);
    status[1] = hs_notify_install(0, SLOT, h_log, NULL);
    status[2] = hs_notify_install(me, HS_NOTIFY_SLOTS, h_log, NULL);
    status[3] = hs_notify_install(me, HS_NOTIFY_EXIT, h_log, NULL);
    status[4] = hs_notify_install(0, HS_NOTIFY_PAGE_FAULT, h_log, NULL);
    status[5] = hs_notify_install(tid[2], HS_NOTIFY_EXIT, h_log, NULL);
    status[6] = hs_notify_install(me + 1000, HS_NOTIFY_EXIT, h_log, NULL);
    status[7] = hs_notify_install(me, HS_NOTIFY_EXIT, NULL, NULL);
    return 0;
}

/* A privileged process. */
static int bad_core(void *arg)
{
    (void)arg;
    hs_tid_t me = hs_thread_self();
    uint64_t w[HS_NOTIFY_WORDS + 1] = { 0 };
    sleep_ns(10);                       /* bad_other has started */
    status[10] = hs_notify_send(me, SLOT, w, 1, 0);     /* no handler */
    EXPECT_ST(hs_notify_install(me, SLOT, h_log, NULL), HS_OK);
    status[11] = hs_notify_send(me, HS_NOTIFY_SLOTS, w, 1, 0);
    status[12] = hs_notify_send(me, HS_NOTIFY_EXIT, w, 1, 0);
    status[13] = hs_notify_send(me, SLOT, w, HS_NOTIFY_WORDS + 1, 0);
    status[14] = hs_notify_send(me, SLOT, NULL, 1, 0);
    status[15] = hs_notify_send(me, SLOT, w, 1, HS_NOTIFY_RETURN);
    status[16] = hs_notify_send(me, SLOT, w, 1, 0x80);
    hs_tid_t z = tu_mk(ended, NULL, 0);
    EXPECT_ST(hs_notify_install(z, SLOT, h_log, NULL), HS_OK);
    sleep_ns(10);                       /* z ended: a zombie */
    status[17] = hs_notify_send(z, SLOT, w, 1, 0);
    tu_join(z);                         /* freed: a stale handle */
    status[18] = hs_notify_send(z, SLOT, w, 1, 0);
    status[19] = hs_notify_install(z, SLOT, h_log, NULL);
    /* A core server may install anywhere, and on another's thread. */
    status[20] = hs_notify_install(tid[2], 3, h_log, NULL);
    w[0] = 6;
    status[21] = hs_notify_send(tid[2], 3, w, 1, 0);
    hs_tid_t s = tu_mk(sits, NULL, 0);
    status[22] = hs_notify_wait(HS_NOWAIT);
    status[23] = hs_notify_wait(5);
    status[24] = hs_notify_depth(NULL);
    status[25] = hs_notify_wait(HS_TIMEOUT_MAX + 1);
    tu_join(s);
    return 0;
}

static void test_notify_bad_input_is_refused(void **state)
{
    (void)state;
    start();
    assert_int_equal(hs_proc_spawn("other", bad_other, NULL, NULL, NULL),
                     HS_OK);
    assert_int_equal(hs_proc_spawn("core", bad_core, NULL, &privileged,
                                   NULL), HS_OK);
    assert_int_equal(hs_sim_run(), HS_OK);
    assert_no_bad_status();
    /* The notification to the other process's thread ran there. */
    assert_int_equal(last.words[0], 6);
    assert_int_equal(last.slot, 3);
    assert_int_equal(status[10], HS_ENOHANDLER);
    assert_int_equal(status[11], HS_EINVAL);
    assert_int_equal(status[12], HS_EPERM);
    assert_int_equal(status[13], HS_EINVAL);
    assert_int_equal(status[14], HS_EINVAL);
    assert_int_equal(status[15], HS_EINVAL);
    assert_int_equal(status[16], HS_EINVAL);
    assert_int_equal(status[17], HS_ESRCH);
    assert_int_equal(status[18], HS_ESRCH);
    assert_int_equal(status[19], HS_ESRCH);
    assert_int_equal(status[20], HS_OK);
    assert_int_equal(status[21], HS_OK);
    assert_int_equal(status[22], HS_ETIMEOUT);
    assert_int_equal(status[23], HS_ETIMEOUT);
    assert_int_equal(status[24], HS_EINVAL);
    assert_int_equal(status[25], HS_EINVAL);

    start();
    assert_int_equal(hs_proc_spawn("other", bad_other, NULL, NULL, NULL),
                     HS_OK);
    assert_int_equal(hs_proc_spawn("plain", bad_plain, NULL, NULL, NULL),
                     HS_OK);
    assert_int_equal(hs_sim_run(), HS_OK);
    assert_int_equal(status[0], HS_EPERM);      /* not a kernel slot */
    assert_int_equal(status[1], HS_EPERM);
    assert_int_equal(status[2], HS_EINVAL);
    assert_int_equal(status[3], HS_OK);         /* its own thread */
    assert_int_equal(status[4], HS_OK);         /* its own process */
    assert_int_equal(status[5], HS_EPERM);      /* another's thread */
    assert_int_equal(status[6], HS_ESRCH);
    assert_int_equal(status[7], HS_OK);         /* removed */
}

/* ---- 9. exit notifications ------------------------------------------------------ */

static void h_exit(void *cookie, const hs_notification *n)
{
    int who = tu_arg_id(cookie);
    tu_log_add(&order, who * 100 + (int)n->words[1]);
    if (n->words[0] == pid[0])
        tu_log_add(&got, who);
    hs_notify_return();
}

static int exit_child(void *arg)
{
    (void)arg;
    sleep_ns(100);
    return 7;
}

/* Watches before the exit, waits for the notification. */
static int early_watcher(void *arg)
{
    (void)arg;
    EXPECT_ST(hs_notify_install(0, HS_NOTIFY_EXIT, h_exit, tu_id_arg(2)),
              HS_OK);
    sleep_ns(10);                       /* the child exists */
    status[0] = hs_notify_watch(pid[0]);
    status[1] = hs_notify_watch(pid[0]);
    EXPECT_ST(hs_notify_wait(HS_NEVER), HS_OK);
    tu_log_add(&order, 2);
    return 0;
}

/* Watches after the exit, before the reap: fires at once. */
static int late_watcher(void *arg)
{
    (void)arg;
    EXPECT_ST(hs_notify_install(hs_thread_self(), HS_NOTIFY_EXIT, h_exit,
                                tu_id_arg(3)), HS_OK);
    sleep_ns(500);
    status[2] = hs_notify_watch(pid[0]);
    tu_log_add(&order, 3);
    sleep_ns(1000);                     /* reaped by now */
    status[3] = hs_notify_watch(pid[0]);
    return 0;
}

static int no_handler_watcher(void *arg)
{
    (void)arg;
    sleep_ns(10);
    status[4] = hs_notify_watch(pid[0]);
    return 0;
}

static int exit_parent(void *arg)
{
    (void)arg;
    EXPECT_ST(hs_notify_install(0, HS_NOTIFY_EXIT, h_exit, tu_id_arg(1)),
              HS_OK);
    EXPECT_ST(hs_proc_spawn("child", exit_child, NULL, NULL, &pid[0]),
              HS_OK);
    sleep_ns(1000);                     /* the handler ran meanwhile */
    tu_log_add(&order, 1);
    int st = 0;
    EXPECT_ST(hs_proc_wait(pid[0], HS_NEVER, &st), HS_OK);
    return 0;
}

static void test_notify_exit_to_parent_and_watches(void **state)
{
    (void)state;
    start();
    assert_int_equal(hs_proc_spawn("parent", exit_parent, NULL, NULL, NULL),
                     HS_OK);
    assert_int_equal(hs_proc_spawn("early", early_watcher, NULL, NULL,
                                   NULL), HS_OK);
    assert_int_equal(hs_proc_spawn("late", late_watcher, NULL, NULL, NULL),
                     HS_OK);
    assert_int_equal(hs_proc_spawn("none", no_handler_watcher, NULL, NULL,
                                   NULL), HS_OK);
    assert_int_equal(hs_sim_run(), HS_OK);
    assert_no_bad_status();
    /* At 100 ns the early watcher's handler (exit status 7) ends its
     * hs_notify_wait; the parent's waits for the end of its sleep; at
     * 500 ns the late watch fires before its call returns; at 1000 ns
     * the parent's handler runs, then it reaps. */
    static const int want[] = { 207, 2, 307, 3, 107, 1 };
    assert_log(&order, want, 6);
    static const int once[] = { 2, 3, 1 };
    assert_log(&got, once, 3);
    assert_int_equal(status[0], HS_OK);
    assert_int_equal(status[1], HS_EEXIST);
    assert_int_equal(status[2], HS_OK);
    assert_int_equal(status[3], HS_ESRCH);
    assert_int_equal(status[4], HS_ENOHANDLER);
}

/* ---- 10. memory exhaustion through the synchronous dispatch ---------------- */

#define STACK (64 * 1024)
static hs_tid_t victim;

static int short_lived(void *arg)
{
    (void)arg;
    sleep_ns(50);
    return 5;
}

/* Frees a stack by waiting for a thread to end; clobbers the UTCB. */
static void h_exhausted(void *cookie, const hs_notification *n)
{
    int frees = tu_arg_id(cookie);
    last = *n;
    handled++;
    hs_utcb()->mr[0] = 0;
    tu_log_add(&order, 100);
    if (frees)
        EXPECT_ST(hs_thread_join(victim, HS_NEVER, NULL), HS_OK);
    hs_notify_return();
}

static int exhaust_main(void *arg)
{
    int mode = tu_arg_id(arg);  /* 0: no handler, 1: frees, 2: does not */
    if (mode)
        EXPECT_ST(hs_notify_install(0, HS_NOTIFY_EXHAUSTED, h_exhausted,
                                    tu_id_arg(mode == 1)), HS_OK);
    victim = tu_mk(short_lived, NULL, 0);
    hs_utcb()->mr[0] = 55;
    hs_tid_t t = 0;
    status[0] = hs_thread_create(ended, NULL, NULL, &t);
    tu_log_add(&order, (int)hs_utcb()->mr[0]);
    if (status[0] == HS_OK)
        tu_join(t);
    if (mode != 1)
        tu_join(victim);
    return 0;
}

static void run_exhaust(int mode)
{
    hs_quota q = hs_quota_unlimited();
    q.limit[HS_RES_MEMORY] = 2 * STACK;
    hs_proc_attr a = { .quota = &q };
    start();
    assert_int_equal(hs_proc_spawn("main", exhaust_main, tu_id_arg(mode), &a,
                                   NULL), HS_OK);
    assert_int_equal(hs_sim_run(), HS_OK);
    assert_no_bad_status();
}

static void test_notify_exhausted_handler_frees_and_request_succeeds(
    void **state)
{
    (void)state;
    run_exhaust(1);
    assert_int_equal(status[0], HS_OK);
    static const int want[] = { 100, 55 };      /* the UTCB came back */
    assert_log(&order, want, 2);
    assert_int_equal(last.slot, HS_NOTIFY_EXHAUSTED);
    assert_int_equal(last.n, 4);
    assert_int_equal(last.words[0], HS_RES_MEMORY);
    assert_int_equal(last.words[1], STACK);
    assert_int_equal(last.words[2], 2 * STACK);
    assert_int_equal(last.words[3], 2 * STACK);
    assert_int_equal(last.sender, 0);
    assert_int_equal(last.depth, 1);
}

static void test_notify_exhausted_default_and_failed_retry_are_equota(
    void **state)
{
    (void)state;
    run_exhaust(0);
    assert_int_equal(status[0], HS_EQUOTA);
    static const int none[] = { 55 };
    assert_log(&order, none, 1);
    run_exhaust(2);
    assert_int_equal(status[0], HS_EQUOTA);     /* tried once more */
    static const int once[] = { 100, 55 };
    assert_log(&order, once, 2);
    assert_int_equal(handled, 1);
}

/* ---- 11. typed messages ---------------------------------------------------------- */

#define TYPE 9

/* words[0]: 0 take, 1 abandon, 2 return undecided, 3 take then end the
 * thread's process (after deciding). */
static void h_typed(void *cookie, const hs_notification *n)
{
    (void)cookie;
    tu_log_add(&order, 100 + (int)n->words[0]);
    last = *n;
    if (n->words[0] == 0) {
        EXPECT_ST(hs_notify_take(), HS_OK);
        status[20] = hs_notify_take();          /* decided already */
    } else if (n->words[0] == 1) {
        EXPECT_ST(hs_notify_abandon(), HS_OK);
    }
    hs_notify_return();
}

static int typed_killer(void *arg)
{
    (void)arg;
    sleep_ns(500);
    hs_proc_exit(0);
}

static int typed_receiver(void *arg)
{
    (void)arg;
    status[21] = hs_notify_take();              /* no message */
    EXPECT_ST(hs_notify_type_register(TYPE, h_typed, NULL), HS_OK);
    tid[0] = hs_thread_self();
    while (handled < 3) {
        EXPECT_ST(hs_notify_wait(HS_NEVER), HS_OK);
        handled++;
    }
    sleep_ns(1000);         /* a message sent meanwhile is withdrawn */
    EXPECT_ST(hs_notify_wait(HS_NOWAIT), HS_ETIMEOUT);
    /* One more is queued while it sleeps again; its process ends first. */
    tu_mk(typed_killer, NULL, 0);
    sleep_ns(100000);
    return 0;
}

static int typed_sender(void *arg)
{
    (void)arg;
    sleep_ns(10);
    hs_pid_t r = pid[0];
    for (uint64_t w = 0; w < 3; w++)
        status[w] = hs_notify_type_send(r, TYPE, &w, 1, HS_NEVER);
    uint64_t w = 0;
    status[3] = hs_notify_type_send(r, TYPE + 1, &w, 1, HS_NEVER);
    status[4] = hs_notify_type_send(r, TYPE, &w, 1, 100);  /* it sleeps */
    status[5] = hs_notify_type_send(r, TYPE, &w, 9, HS_NEVER);
    status[6] = hs_notify_type_send(r + 1000, TYPE, &w, 1, HS_NEVER);
    sleep_ns(1000);
    status[7] = hs_notify_type_send(r, TYPE, &w, 1, HS_NEVER); /* it ends */
    status[8] = hs_notify_type_send(r, TYPE, &w, 1, HS_NEVER); /* ended */
    return 0;
}

static int typed_self(void *arg)
{
    (void)arg;
    EXPECT_ST(hs_notify_type_register(TYPE, h_typed, NULL), HS_OK);
    uint64_t w = 0;
    status[9] = hs_notify_type_send(hs_proc_self(), TYPE, &w, 1, HS_NEVER);
    EXPECT_ST(hs_notify_type_register(TYPE, NULL, NULL), HS_OK);
    status[10] = hs_notify_type_send(hs_proc_self(), TYPE, &w, 1, 10);
    return 0;
}

static void test_notify_typed_take_abandon_withdraw_orphan(void **state)
{
    (void)state;
    start();
    assert_int_equal(hs_proc_spawn("receiver", typed_receiver, NULL, NULL,
                                   &pid[0]), HS_OK);
    assert_int_equal(hs_proc_spawn("sender", typed_sender, NULL, NULL,
                                   NULL), HS_OK);
    assert_int_equal(hs_proc_spawn("self", typed_self, NULL, NULL, NULL),
                     HS_OK);
    assert_int_equal(hs_sim_run(), HS_OK);
    assert_no_bad_status();
    static const int want[] = { 100, 101, 102 };    /* the withdrawn and
                                                       orphaned never ran */
    assert_log(&order, want, 3);
    assert_int_equal(status[0], HS_OK);
    assert_int_equal(status[1], HS_EABANDONED);
    assert_int_equal(status[2], HS_EABANDONED);     /* undecided */
    assert_int_equal(status[3], HS_ENOHANDLER);
    assert_int_equal(status[4], HS_ETIMEOUT);
    assert_int_equal(status[5], HS_EINVAL);
    assert_int_equal(status[6], HS_ESRCH);
    assert_int_equal(status[7], HS_EPARTNER);
    assert_int_equal(status[8], HS_ESRCH);
    assert_int_equal(status[9], HS_EDEADLK);
    assert_int_equal(status[10], HS_ENOHANDLER);
    assert_int_equal(status[20], HS_ESTATE);
    assert_int_equal(status[21], HS_ESTATE);
    assert_int_equal(last.slot, HS_NOTIFY_TYPED);
    assert_int_equal(last.type, TYPE);
    assert_int_equal(count_events("notify_decide"), 3);
}

/* ---- 12. killed inside handlers, with notifications queued ------------------- */

static void h_stuck(void *cookie, const hs_notification *n)
{
    (void)cookie;
    tu_log_add(&order, 10 + (int)n->depth);
    if (n->depth < 3)
        EXPECT_ST(hs_thread_yield(), HS_OK);
    else
        sleep_ns(1000000);              /* killed while asleep here */
    tu_log_add(&order, -1);
    hs_notify_return();
}

static int kill_target(void *arg)
{
    (void)arg;
    EXPECT_ST(hs_notify_wait(HS_NEVER), HS_OK);
    tu_log_add(&order, -2);
    return 0;
}

static int kill_main(void *arg)
{
    (void)arg;
    EXPECT_ST(hs_notify_stack_alloc_set(alloc_stack, NULL), HS_OK);
    tid[0] = tu_mk(kill_target, NULL, 0);
    EXPECT_ST(hs_notify_install(tid[0], SLOT, h_stuck, NULL), HS_OK);
    sleep_ns(10);
    for (int i = 0; i < 3; i++)
        EXPECT_ST(hs_notify_send(tid[0], SLOT, NULL, 0, HS_NOTIFY_NOW),
                  HS_OK);
    for (int i = 0; i < 20; i++)        /* queued behind */
        EXPECT_ST(hs_notify_send(tid[0], SLOT, NULL, 0, 0), HS_OK);
    tu_log_add(&order, 1);
    hs_proc_exit(4);
}

static int kill_parent(void *arg)
{
    (void)arg;
    hs_pid_t c = 0;
    int st = 0;
    EXPECT_ST(hs_proc_spawn("victim", kill_main, NULL, &privileged, &c),
              HS_OK);
    EXPECT_ST(hs_proc_wait(c, HS_NEVER, &st), HS_OK);
    tu_log_add(&order, st);
    return 0;
}

static void test_notify_kill_inside_nested_handlers_frees_all(void **state)
{
    (void)state;
    alloc_calls = 0;
    run_main(kill_parent, 1);
    static const int want[] = { 11, 32, 12, 33, 13, 1, 4 };
    assert_log(&order, want, 7);
    /* Three frames and twenty queued: all dropped. */
    assert_int_equal(count_events("notify_drop"), 23);
}

/* ---- 13. handlers and hops --------------------------------------------------- */

static hs_port_t srv_port;

/* In the server: mr[0] 1: hs_notify_return() here is refused; 2: yield
 * (a notification is dispatched at this level) and stay. */
static void srv_handler(hs_hop_t *hop, void *cookie)
{
    (void)cookie;
    if (hs_mr(hop, 0) == 1) {
        status[1] = hs_notify_return();
        return;
    }
    tu_log_add(&order, 2);
    EXPECT_ST(hs_thread_yield(), HS_OK);
    tu_log_add(&order, -2);             /* its process ends first */
}

static int srv_killer(void *arg)
{
    (void)arg;
    sleep_ns(500);
    hs_proc_exit(0);
}

static int srv_main(void *arg)
{
    (void)arg;
    EXPECT_ST(hs_port_create_named("srv", &srv_port), HS_OK);
    EXPECT_ST(hs_port_set_handler(srv_port, srv_handler, NULL), HS_OK);
    tu_mk(srv_killer, NULL, 0);
    hs_proc_serve();
    return 0;
}

/* words[0] 1: at home, hops into the server; 2: runs inside the server's
 * level and sleeps there until the server ends. */
static void h_hopper(void *cookie, const hs_notification *n)
{
    (void)cookie;
    if (n->words[0] == 1) {
        uint64_t r = 0;
        status[2] = hs_hop(srv_port, 0, HS_NEVER);      /* one-way */
        EXPECT_ST(hs_hop_call(srv_port, 1, &r), HS_OK);
        tu_log_add(&order, 1);
    } else {
        tu_log_add(&order, 3);
        pid[3] = hs_proc_self();
        sleep_ns(100000);
        tu_log_add(&order, -3);
    }
    hs_notify_return();
}

static int hop_poker(void *arg)
{
    (void)arg;
    uint64_t w = 2;
    EXPECT_ST(hs_notify_send(tid[0], SLOT, &w, 1, 0), HS_OK);
    return 0;
}

static int hop_client(void *arg)
{
    (void)arg;
    tid[0] = hs_thread_self();
    pid[2] = hs_proc_self();
    EXPECT_ST(hs_notify_install(tid[0], SLOT, h_hopper, NULL), HS_OK);
    hs_port_t p = 0;
    EXPECT_ST(hs_port_lookup("srv", HS_NEVER, &p), HS_OK);
    uint64_t w = 1;
    EXPECT_ST(hs_notify_send(tid[0], SLOT, &w, 1, 0), HS_OK);
    tu_mk(hop_poker, NULL, 0);
    uint64_t r = 0;
    status[3] = hs_hop_call(p, 2, &r);
    unsigned d = 9;
    EXPECT_ST(hs_notify_depth(&d), HS_OK);
    tu_log_add(&order, 10 + (int)d);
    return 0;
}

static void test_notify_handlers_and_hops(void **state)
{
    (void)state;
    start();
    assert_int_equal(hs_proc_spawn("server", srv_main, NULL, NULL, NULL),
                     HS_OK);
    assert_int_equal(hs_proc_spawn("client", hop_client, NULL, &privileged,
                                   NULL), HS_OK);
    assert_int_equal(hs_sim_run(), HS_OK);
    assert_no_bad_status();
    /* A handler may not leave one-way, nor return from inside its hop;
     * a notification sent while the client is inside the server waits
     * until its hop returns, and then runs at home, in the client. */
    static const int want[] = { 1, 2, -2, 3, -3, 10 };
    assert_log(&order, want, 6);
    assert_int_equal(status[1], HS_ESTATE);
    assert_int_equal(status[2], HS_ESTATE);
    assert_int_equal(status[3], HS_OK);
    assert_int_equal(pid[3], pid[2]);
    assert_int_equal(count_events("notify_drop"), 0);
}

/* ---- 14. a notification runs in the process that installed it ---------- */

static hs_time_t back_home, watch_ran;

/* The visited process: its handler keeps the visitor 2 ms, and its
 * main thread tries what the visitor must not be able to do for it. */
static void visited_handler(hs_hop_t *hop, void *cookie)
{
    (void)hop;
    (void)cookie;
    sleep_ns(2 * HS_MSEC);
    /* A visitor's hs_notify_wait would wait for what cannot run here. */
    status[4] = hs_notify_wait(HS_NOWAIT);
}

static int visited_main(void *arg)
{
    (void)arg;
    hs_port_t p;
    EXPECT_ST(hs_port_create_named("visited", &p), HS_OK);
    EXPECT_ST(hs_port_set_handler(p, visited_handler, NULL), HS_OK);
    return hs_proc_serve();
}

/* The exit watch's handler: where and when it runs. */
static void h_watch_where(void *cookie, const hs_notification *n)
{
    (void)cookie;
    pid[1] = hs_proc_self();
    last = *n;
    watch_ran = hs_time_now();
    hs_notify_return();
}

static int ends_in_a_msec(void *arg)
{
    (void)arg;
    sleep_ns(HS_MSEC);          /* ends while the watcher visits */
    return 5;
}

/* An unprivileged process watches another's exit, then visits a third
 * process when the exit comes. */
static int watcher_main(void *arg)
{
    (void)arg;
    hs_pid_t dying;
    pid[0] = hs_proc_self();
    EXPECT_ST(hs_notify_install(0, HS_NOTIFY_EXIT, h_watch_where, NULL),
              HS_OK);
    EXPECT_ST(hs_proc_spawn("short", ends_in_a_msec, NULL, NULL, &dying),
              HS_OK);
    pid[2] = dying;
    hs_port_t p;
    EXPECT_ST(hs_port_lookup("visited", HS_NEVER, &p), HS_OK);
    status[0] = hs_hop_call(p, 0, NULL);
    back_home = hs_time_now();
    EXPECT_ST(hs_proc_wait(dying, HS_NEVER, NULL), HS_OK);
    return 0;
}

/* The victim ends 1 ms in, while the watcher's only thread is in the
 * visited process's handler (until 2 ms): the exit handler must not run
 * there as the visited process, but once the thread is back home. */
static void test_notify_runs_in_the_installing_process_not_a_visited_one(
    void **state)
{
    (void)state;
    start();
    watch_ran = back_home = HS_NEVER;
    assert_int_equal(hs_proc_spawn("visited", visited_main, NULL, NULL,
                                   NULL), HS_OK);
    assert_int_equal(hs_proc_spawn("watcher", watcher_main, NULL, NULL,
                                   NULL), HS_OK);
    assert_int_equal(hs_sim_run(), HS_OK);
    assert_no_bad_status();
    assert_int_equal(status[0], HS_OK);
    assert_int_equal(status[4], HS_ESTATE);
    assert_int_equal(pid[1], pid[0]);
    assert_int_equal(last.slot, HS_NOTIFY_EXIT);
    assert_int_equal(last.words[0], pid[2]);
    assert_int_equal(last.words[1], 5);
    assert_int_equal(back_home, 2 * HS_MSEC);
    assert_int_equal(watch_ran, 2 * HS_MSEC);
    assert_int_equal(count_events("notify_drop"), 0);
}

/* The synchronous page-fault notification of a thread visiting another
 * process runs the visited process's handler, not its own process's. */

#define PF_VA 0x40000000ull

static void h_pf_where(void *cookie, const hs_notification *n)
{
    tu_log_add(&order, tu_arg_id(cookie));
    pid[3] = hs_proc_self();
    uint64_t page = n->words[0] & ~(HS_PAGE_4K - 1);
    EXPECT_ST(hs_mem_map(page, HS_PAGE_4K, HS_PROT_READ | HS_PROT_WRITE, 0),
              HS_OK);
    hs_notify_return();
}

static void pf_visited_handler(hs_hop_t *hop, void *cookie)
{
    (void)hop;
    (void)cookie;
    char buf[8];
    status[5] = hs_mem_read(PF_VA, buf, sizeof buf);
}

static int pf_visited_main(void *arg)
{
    (void)arg;
    hs_port_t p;
    pid[1] = hs_proc_self();
    EXPECT_ST(hs_notify_install(0, HS_NOTIFY_PAGE_FAULT, h_pf_where,
                                tu_id_arg(2)), HS_OK);
    EXPECT_ST(hs_port_create_named("pfvisited", &p), HS_OK);
    EXPECT_ST(hs_port_set_handler(p, pf_visited_handler, NULL), HS_OK);
    return hs_proc_serve();
}

static int pf_visitor_main(void *arg)
{
    (void)arg;
    hs_port_t p;
    EXPECT_ST(hs_notify_install(0, HS_NOTIFY_PAGE_FAULT, h_pf_where,
                                tu_id_arg(1)), HS_OK);
    EXPECT_ST(hs_port_lookup("pfvisited", HS_NEVER, &p), HS_OK);
    status[6] = hs_hop_call(p, 0, NULL);
    return 0;
}

static void test_notify_page_fault_in_visited_process_runs_its_handler(
    void **state)
{
    (void)state;
    start();
    assert_int_equal(hs_proc_spawn("pfvisited", pf_visited_main, NULL, NULL,
                                   NULL), HS_OK);
    assert_int_equal(hs_proc_spawn("pfvisitor", pf_visitor_main, NULL, NULL,
                                   NULL), HS_OK);
    assert_int_equal(hs_sim_run(), HS_OK);
    assert_no_bad_status();
    static const int want[] = { 2 };
    assert_log(&order, want, 1);
    assert_int_equal(pid[3], pid[1]);
    assert_int_equal(status[5], HS_OK);
    assert_int_equal(status[6], HS_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        TU_TEST(test_notify_runs_at_the_targets_next_kernel_exit),
        TU_TEST(test_notify_1000_from_10_senders_in_order_none_lost),
        TU_TEST(test_notify_queue_bound_is_elimit_and_nothing_lost),
        TU_TEST(test_notify_saved_state_identical_after_handler),
        TU_TEST(test_notify_without_flags_waits_for_the_scheduler),
        TU_TEST(test_notify_now_runs_the_target_next),
        TU_TEST(test_notify_now_return_flags_in_trace_order),
        TU_TEST(test_notify_nests_three_deep_with_allocator),
        TU_TEST(test_notify_nesting_without_allocator_is_enostack),
        TU_TEST(test_notify_handler_returning_is_recovered),
        TU_TEST(test_notify_bad_input_is_refused),
        TU_TEST(test_notify_exit_to_parent_and_watches),
        TU_TEST(test_notify_exhausted_handler_frees_and_request_succeeds),
        TU_TEST(test_notify_exhausted_default_and_failed_retry_are_equota),
        TU_TEST(test_notify_typed_take_abandon_withdraw_orphan),
        TU_TEST(test_notify_kill_inside_nested_handlers_frees_all),
        TU_TEST(test_notify_handlers_and_hops),
        TU_TEST(
            test_notify_runs_in_the_installing_process_not_a_visited_one),
        TU_TEST(
            test_notify_page_fault_in_visited_process_runs_its_handler),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
