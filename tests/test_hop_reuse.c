/*
 * tests/test_hop_reuse.c - handler contexts that outlive their hop.
 *
 * A handler context whose hop returned through its checkpoint parks,
 * with its level, as its process's spare, and the next hop into that
 * process runs on it (ports/hop.c).  These tests hold that path to what a
 * hop on a new context does: the same events, the same stack budget, the
 * same unwinding when the process ends, the right thread named when a
 * reused stack overflows, nothing left behind (the level pool is read
 * directly, and `make memcheck` runs this under Valgrind), and the same
 * replies when two CPUs hop into one process at once.
 */
#include "core/kernel.h"
#include "testutil.h"

#define WORDS 8

static hs_status status[8];
static uint64_t word[8];
static hs_time_t when[8];
static int arrivals;
static int bad_replies;
static uint32_t levels_live = 0xbad;    /* k.levels.live, read in the run */

static void reset(void)
{
    for (int i = 0; i < 8; i++) {
        status[i] = HS_STATUS_COUNT;
        word[i] = 0xbad;
        when[i] = HS_NEVER;
    }
    arrivals = 0;
    bad_replies = 0;
    levels_live = 0xbad;
}

static void start(const hs_sim_config *cfg)
{
    hs_sim_config def = tu_config();
    reset();
    tu_status_reset();
    assert_int_equal(hs_sim_start(cfg ? cfg : &def), HS_OK);
}

static void spawn(const char *name, hs_entry_fn entry, void *arg)
{
    assert_int_equal(hs_proc_spawn(name, entry, arg, NULL, NULL), HS_OK);
}

static hs_port_t find(const char *name)
{
    hs_port_t p = 0;
    EXPECT_ST(hs_port_lookup(name, HS_NEVER, &p), HS_OK);
    return p;
}

/* Levels alive now, hop chains and parked spares together.  Read inside
 * the run, under no lock: with one CPU nothing else runs meanwhile. */
static uint32_t live_levels(void)
{
    return k.levels.live;
}

/* A server: a named port with handler, its stacks set first. */
struct server {
    const char *port;
    hs_hop_handler handler;
    unsigned stacks;            /* lent stacks; 0: the default */
    size_t stack_size;
    hs_time_t exit_at;          /* hs_proc_exit() then; HS_NEVER: serve */
};

static int server_main(void *arg)
{
    struct server *s = arg;
    hs_port_t p = 0;
    if (s->stacks)
        EXPECT_ST(hs_proc_set_hop_stacks(s->stacks, s->stack_size), HS_OK);
    /* One step: a client on another CPU must not find the name before
     * its handler (HS_ENOHANDLER). */
    EXPECT_ST(hs_port_create_named_handler(s->port, s->handler, NULL, &p),
              HS_OK);
    if (s->exit_at != HS_NEVER) {
        tu_sleep_until(s->exit_at);
        hs_proc_exit(3);
    }
    tu_expect(hs_proc_serve(), HS_STATUS_COUNT, __LINE__);
    return 0;
}

/* Load mr[0..WORDS-1] with base + i, hop with a checkpoint, check that
 * each came back plus one. */
static hs_status hop_words(hs_port_t p, uint64_t base)
{
    hs_utcb_t *u = hs_utcb();
    for (unsigned i = 0; i < WORDS; i++)
        u->mr[i] = base + i;
    hs_status st = hs_hop(p, HS_HOP_CHECKPOINT, HS_NEVER);
    for (unsigned i = 0; st == HS_OK && i < WORDS; i++)
        if (u->mr[i] != base + i + 1)
            bad_replies++;
    return st;
}

static void add_one(void)
{
    hs_utcb_t *u = hs_utcb();
    for (unsigned i = 0; i < WORDS; i++)
        u->mr[i] += 1;
}

/* ---- the same events whether the context is reused or new */

#define SIZE_A ((size_t)HS_STACK_MIN)
#define SIZE_B ((size_t)HS_STACK_MIN * 2)
#define SAME_HOPS 40

static int alternate_sizes;     /* 1: the handler flips the stack size */

/* Adds one to each word; then sets the process's hop stacks for the
 * next hop: the same size (the parked context fits, every hop after the
 * first reuses it), or the other size (it does not: every other hop
 * needs a new context, which is freed as it returns, since the spare is
 * taken).  The same call either way, so both runs make the same
 * kernel calls. */
static void sizing_echo(hs_hop_t *hop, void *cookie)
{
    (void)hop;
    (void)cookie;
    size_t next = SIZE_A;
    if (alternate_sizes && arrivals % 2 == 0)
        next = SIZE_B;
    arrivals++;
    add_one();
    EXPECT_ST(hs_proc_set_hop_stacks(4, next), HS_OK);
}

static struct server sizing_srv = {
    .port = "sizing", .handler = sizing_echo, .stacks = 4,
    .stack_size = SIZE_A, .exit_at = HS_NEVER,
};

static int sizing_client(void *arg)
{
    (void)arg;
    hs_port_t p = find("sizing");
    for (int i = 0; i < SAME_HOPS; i++)
        EXPECT_ST(hop_words(p, (uint64_t)i * 100), HS_OK);
    levels_live = live_levels();
    return 0;
}

static hs_sim_summary sizing_run(int alternate)
{
    alternate_sizes = alternate;
    start(NULL);
    spawn("server", server_main, &sizing_srv);
    spawn("client", sizing_client, NULL);
    assert_int_equal(hs_sim_run(), HS_OK);
    assert_no_bad_status();
    assert_int_equal(arrivals, SAME_HOPS);
    assert_int_equal(bad_replies, 0);
    return tu_summary();
}

static void test_reused_and_new_handler_contexts_record_the_same_events(
    void **state)
{
    (void)state;
    hs_sim_summary reused = sizing_run(0);
    assert_int_equal(levels_live, 1);       /* the parked spare's */
    hs_sim_summary mixed = sizing_run(1);
    assert_int_equal(levels_live, 1);
    assert_true(reused.events >= 2 * SAME_HOPS);
    assert_int_equal(reused.events, mixed.events);
    assert_int_equal(reused.hash, mixed.hash);
    assert_int_equal(reused.switches, mixed.switches);
}

/* ---- the stack budget */

/* Adds one. */
static void plain_echo(hs_hop_t *hop, void *cookie)
{
    (void)hop;
    (void)cookie;
    arrivals++;
    add_one();
}

#define SLEEPY 1000             /* mr[0] that makes sleepy_echo sleep */

/* Adds one; sleeps 2 ms first when mr[0] is SLEEPY. */
static void sleepy_echo(hs_hop_t *hop, void *cookie)
{
    (void)cookie;
    arrivals++;
    if (hs_mr(hop, 0) == SLEEPY)
        EXPECT_ST(hs_thread_sleep(2 * HS_MSEC), HS_OK);
    add_one();
}

static struct server narrow_srv = {
    .port = "narrow", .handler = sleepy_echo, .stacks = 1,
    .stack_size = SIZE_A, .exit_at = HS_NEVER,
};

/* 20 hops in a row with one lent stack: each returned hop gives the stack
 * back although its context stays parked.  Then one that sleeps in the
 * handler until 2 ms, holding the stack. */
static int narrow_first(void *arg)
{
    (void)arg;
    hs_port_t p = find("narrow");
    status[0] = hop_words(p, 0);
    for (int i = 1; i < 20; i++)
        EXPECT_ST(hop_words(p, (uint64_t)i), HS_OK);
    status[3] = hop_words(p, SLEEPY);
    when[3] = hs_time_now();
    return 0;
}

static int narrow_second(void *arg)
{
    (void)arg;
    hs_port_t p = find("narrow");
    tu_sleep_until(HS_MSEC);
    status[1] = hop_words(p, 50);
    when[1] = hs_time_now();
    tu_sleep_until(3 * HS_MSEC);
    status[2] = hop_words(p, 60);
    levels_live = live_levels();
    return 0;
}

static void test_parked_context_gives_its_stack_back_to_the_budget(
    void **state)
{
    (void)state;
    start(NULL);
    spawn("server", server_main, &narrow_srv);
    spawn("first", narrow_first, NULL);
    spawn("second", narrow_second, NULL);
    assert_int_equal(hs_sim_run(), HS_OK);
    assert_no_bad_status();
    assert_int_equal(status[0], HS_OK);
    assert_int_equal(status[1], HS_ENOSTACK);
    assert_int_equal(when[1], HS_MSEC);
    assert_int_equal(status[2], HS_OK);
    assert_int_equal(status[3], HS_OK);
    assert_int_equal(when[3], 2 * HS_MSEC);
    assert_int_equal(arrivals, 22);
    assert_int_equal(bad_replies, 0);
    assert_int_equal(levels_live, 1);
}

/* ---- the process ends */

static struct server short_srv = {
    .port = "short", .handler = plain_echo, .stacks = 0,
    .exit_at = 2 * HS_MSEC,
};

/* Hops at 0 (its context parks), then after the server ended. */
static int short_client(void *arg)
{
    (void)arg;
    hs_port_t p = find("short");
    status[0] = hop_words(p, 0);
    word[0] = live_levels();
    tu_sleep_until(3 * HS_MSEC);
    status[1] = hop_words(p, 10);
    levels_live = live_levels();
    return 0;
}

static void test_process_end_frees_its_parked_context_and_level(
    void **state)
{
    (void)state;
    start(NULL);
    spawn("server", server_main, &short_srv);
    spawn("client", short_client, NULL);
    assert_int_equal(hs_sim_run(), HS_OK);
    assert_no_bad_status();
    assert_int_equal(status[0], HS_OK);
    assert_int_equal(word[0], 1);           /* parked with its context */
    assert_int_equal(status[1], HS_ENOPORT);
    assert_int_equal(levels_live, 0);
    assert_int_equal(arrivals, 1);
    assert_int_equal(bad_replies, 0);
}

/* Adds one; the second visitor sleeps 10 ms inside first. */
static void slow_second(hs_hop_t *hop, void *cookie)
{
    (void)hop;
    (void)cookie;
    if (++arrivals == 2)
        EXPECT_ST(hs_thread_sleep(10 * HS_MSEC), HS_OK);
    add_one();
}

static struct server ending_srv = {
    .port = "ending", .handler = slow_second, .stacks = 0,
    .exit_at = 2 * HS_MSEC,
};

/* The second hop runs on the context the first parked, and is inside the
 * handler when the server ends at 2 ms: it unwinds with HS_EPARTNER. */
static int ending_client(void *arg)
{
    (void)arg;
    hs_port_t p = find("ending");
    status[0] = hop_words(p, 0);
    tu_sleep_until(HS_MSEC);
    status[1] = hop_words(p, 10);
    when[1] = hs_time_now();
    word[1] = hs_utcb()->mr[0];
    levels_live = live_levels();
    return 0;
}

static void test_visitor_on_a_reused_context_unwinds_when_the_process_ends(
    void **state)
{
    (void)state;
    start(NULL);
    spawn("server", server_main, &ending_srv);
    spawn("client", ending_client, NULL);
    assert_int_equal(hs_sim_run(), HS_OK);
    assert_no_bad_status();
    assert_int_equal(status[0], HS_OK);
    assert_int_equal(status[1], HS_EPARTNER);
    assert_int_equal(when[1], 2 * HS_MSEC);
    assert_int_equal(word[1], 10);          /* the handler never replied */
    assert_int_equal(levels_live, 0);
    assert_int_equal(arrivals, 2);
}

/* ---- the order of unwinding */

/* Adds one after sleeping mr[0] ms (its handler ends with the process). */
static void napping_echo(hs_hop_t *hop, void *cookie)
{
    (void)cookie;
    arrivals++;
    EXPECT_ST(hs_thread_sleep(hs_mr(hop, 0) * HS_MSEC), HS_OK);
    add_one();
}

static struct server order_srv = {
    .port = "order", .handler = napping_echo, .stacks = 0,
    .exit_at = 3 * HS_MSEC,
};

/* Client i hops at start[i] ms for nap[i] ms: a at 0 for 1 ms (its
 * context parks at 1 ms, while b, which came at 0.5 ms, naps on), c at
 * 2 ms on a's parked context.  The server ends at 3 ms with b and c
 * inside. */
static const hs_time_t order_start[3] = { 0, HS_MSEC / 2, 2 * HS_MSEC };
static const uint64_t order_nap[3] = { 1, 10, 10 };
static int order_seen[3], order_n;

static int order_client(void *arg)
{
    int i = (int)(intptr_t)arg;
    hs_port_t p = find("order");
    tu_sleep_until(order_start[i]);
    hs_utcb()->mr[0] = order_nap[i];
    status[i] = hs_hop(p, HS_HOP_CHECKPOINT, HS_NEVER);
    when[i] = hs_time_now();
    order_seen[order_n++] = i;
    return 0;
}

/* Visitors unwind in the order they arrived, whether a hop came on a new
 * context or on a parked one: b (arrived at 0.5 ms) before c (at 2 ms,
 * on the context a parked at 1 ms, which a came on before b). */
static void test_visitors_unwind_in_arrival_order_on_a_reused_context(
    void **state)
{
    (void)state;
    start(NULL);
    order_n = 0;
    spawn("server", server_main, &order_srv);
    spawn("a", order_client, (void *)(intptr_t)0);
    spawn("b", order_client, (void *)(intptr_t)1);
    spawn("c", order_client, (void *)(intptr_t)2);
    assert_int_equal(hs_sim_run(), HS_OK);
    assert_no_bad_status();
    assert_int_equal(arrivals, 3);
    assert_int_equal(status[0], HS_OK);
    assert_int_equal(when[0], HS_MSEC);
    assert_int_equal(status[1], HS_EPARTNER);
    assert_int_equal(status[2], HS_EPARTNER);
    assert_int_equal(when[1], 3 * HS_MSEC);
    assert_int_equal(when[2], 3 * HS_MSEC);
    assert_int_equal(order_n, 3);
    assert_int_equal(order_seen[0], 0);
    assert_int_equal(order_seen[1], 1);
    assert_int_equal(order_seen[2], 2);
}

/* ---- a one-way hop takes the parked context */

static struct server oneway_srv = {
    .port = "oneway", .handler = plain_echo, .stacks = 0,
    .exit_at = HS_NEVER,
};

static int one_way_thread(void *arg)
{
    (void)arg;
    status[1] = hs_hop(find("oneway"), 0, HS_NEVER);
    word[7] = 1;                            /* never: the hop ended us */
    return 0;
}

/* Checkpointed hop (its context parks), a thread of ours hops one-way on
 * it and ends in the handler, then a checkpointed hop again. */
static int oneway_client(void *arg)
{
    (void)arg;
    hs_port_t p = find("oneway");
    hs_tid_t t = 0;
    status[0] = hop_words(p, 0);
    EXPECT_ST(hs_thread_create(one_way_thread, NULL, NULL, &t), HS_OK);
    EXPECT_ST(hs_thread_join(t, HS_NEVER, NULL), HS_OK);
    status[2] = hop_words(p, 20);
    levels_live = live_levels();
    return 0;
}

static void test_one_way_hop_runs_on_the_parked_context_and_ends_there(
    void **state)
{
    (void)state;
    start(NULL);
    spawn("server", server_main, &oneway_srv);
    spawn("client", oneway_client, NULL);
    assert_int_equal(hs_sim_run(), HS_OK);
    assert_no_bad_status();
    assert_int_equal(status[0], HS_OK);
    assert_int_equal(status[1], HS_STATUS_COUNT);   /* did not return */
    assert_int_equal(word[7], 0xbad);
    assert_int_equal(status[2], HS_OK);
    assert_int_equal(arrivals, 3);
    assert_int_equal(bad_replies, 0);
    assert_int_equal(levels_live, 1);
}

/* ---- a stack overflow on a reused context */

/* Overflows its stack when mr[0] is 1. */
static void maybe_overflow(hs_hop_t *hop, void *cookie)
{
    (void)cookie;
    arrivals++;
    if (hs_mr(hop, 0) == 1) {
        volatile char seed = 0;
        word[2] = (uint64_t)tu_dive(10000, &seed);
    }
}

static struct server ov_srv = {
    .port = "ov", .handler = maybe_overflow, .stacks = 0,
    .exit_at = HS_NEVER,
};

static int ov_first(void *arg)
{
    (void)arg;
    EXPECT_ST(hs_hop_call(find("ov"), 0, NULL), HS_OK);
    return 0;
}

static int ov_second(void *arg)
{
    (void)arg;
    hs_port_t p = find("ov");
    tu_sleep_until(HS_MSEC);
    EXPECT_ST(hs_hop_call(p, 1, NULL), HS_OK);
    word[3] = 1;                            /* never: the run panicked */
    return 0;
}

/* Skipped where a guard-page fault cannot be provoked (Valgrind, ASan). */
static void test_overflow_on_a_reused_context_names_the_thread_running_it(
    void **state)
{
    (void)state;
    if (!tu_guard_faults_testable())
        skip();
    start(NULL);
    spawn("ov-server", server_main, &ov_srv);
    spawn("ov-first", ov_first, NULL);
    spawn("ov-second", ov_second, NULL);
    assert_int_equal(hs_sim_run(), HS_EPANIC);
    assert_int_equal(arrivals, 2);
    assert_int_equal(word[3], 0xbad);
    assert_report_has("stack overflow in thread");
    assert_report_has("of process 'ov-second'");
    assert_null(strstr(hs_sim_report(), "of process 'ov-first'"));
}

/* ---- two CPUs */

#define CPU_CLIENTS 4
#define CPU_HOPS 3000

static struct server cpu_srv = {
    .port = "cpus", .handler = plain_echo, .stacks = CPU_CLIENTS,
    .stack_size = SIZE_A, .exit_at = HS_NEVER,
};

static int cpu_bad[CPU_CLIENTS];
static int cpu_done[CPU_CLIENTS];

static int cpu_caller(void *arg)
{
    int id = (int)(intptr_t)arg;
    hs_port_t p = find("cpus");
    hs_utcb_t *u = hs_utcb();
    for (int i = 0; i < CPU_HOPS; i++) {
        uint64_t base = ((uint64_t)id << 32) + (uint64_t)i * 16;
        for (unsigned w = 0; w < WORDS; w++)
            u->mr[w] = base + w;
        if (hs_hop(p, HS_HOP_CHECKPOINT, HS_NEVER) != HS_OK)
            cpu_bad[id]++;
        for (unsigned w = 0; w < WORDS; w++)
            if (u->mr[w] != base + w + 1)
                cpu_bad[id]++;
        cpu_done[id]++;
    }
    return 0;
}

static int cpu_client(void *arg)
{
    (void)arg;
    hs_tid_t t[CPU_CLIENTS];
    for (int i = 0; i < CPU_CLIENTS; i++)
        EXPECT_ST(hs_thread_create(cpu_caller, (void *)(intptr_t)i, NULL,
                                   &t[i]), HS_OK);
    for (int i = 0; i < CPU_CLIENTS; i++)
        EXPECT_ST(hs_thread_join(t[i], HS_NEVER, NULL), HS_OK);
    return 0;
}

static void test_two_cpus_hopping_into_one_process_get_every_reply(
    void **state)
{
    (void)state;
    hs_sim_config cfg = tu_config();
    cfg.ncpus = 2;
    memset(cpu_bad, 0, sizeof cpu_bad);
    memset(cpu_done, 0, sizeof cpu_done);
    start(&cfg);
    spawn("server", server_main, &cpu_srv);
    spawn("client", cpu_client, NULL);
    assert_int_equal(hs_sim_run(), HS_OK);
    assert_no_bad_status();
    for (int i = 0; i < CPU_CLIENTS; i++) {
        assert_int_equal(cpu_bad[i], 0);
        assert_int_equal(cpu_done[i], CPU_HOPS);
    }
    /* Two events a hop at least (the hop, its return). */
    assert_true(tu_summary().events >= 2u * CPU_CLIENTS * CPU_HOPS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        TU_TEST(
            test_reused_and_new_handler_contexts_record_the_same_events),
        TU_TEST(test_parked_context_gives_its_stack_back_to_the_budget),
        TU_TEST(test_process_end_frees_its_parked_context_and_level),
        TU_TEST(
            test_visitor_on_a_reused_context_unwinds_when_the_process_ends),
        TU_TEST(
            test_visitors_unwind_in_arrival_order_on_a_reused_context),
        TU_TEST(
            test_one_way_hop_runs_on_the_parked_context_and_ends_there),
        TU_TEST(
            test_overflow_on_a_reused_context_names_the_thread_running_it),
        TU_TEST(test_two_cpus_hopping_into_one_process_get_every_reply),
    };
    return cmocka_run_group_tests_name("hop_reuse", tests, NULL, NULL);
}
