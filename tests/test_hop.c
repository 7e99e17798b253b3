/*
 * tests/test_hop.c - process hopping: call and return, identity inside a
 * handler, message registers, chains and depth, refused hops, one-way
 * hops, receiver stacks, kept checkpoints, the end of a visited process,
 * async hops, a long loop, backtraces and panics across hops, and the
 * names of the hop statuses.
 *
 * Servers are processes that create a named port, set its handler and
 * serve with hs_proc_serve(); the run ends normally once only serving
 * threads remain.  Simulated threads and handlers record what they saw in
 * the statics below and the test asserts after hs_sim_run().  Timing uses
 * the virtual clock: who does what when is set with sleeps, so every
 * expected time is exact.
 */
#include "testutil.h"

static hs_time_t when[8];
static uint64_t word[8];
static hs_status status[8];
static hs_pid_t pid_seen[8];
static hs_tid_t tid_seen[8];
static hs_port_t port_seen[8];
static int arrivals[8];
static int must_not_run;
static struct tu_log order;

static void reset(void)
{
    for (int i = 0; i < 8; i++) {
        when[i] = HS_NEVER;
        word[i] = 0xbad;
        status[i] = HS_STATUS_COUNT;
        pid_seen[i] = 0;
        tid_seen[i] = 0;
        port_seen[i] = 0;
        arrivals[i] = 0;
    }
    must_not_run = 0;
    tu_log_reset(&order);
}

/* Start a simulation with cfg (NULL: the test defaults); processes are
 * then spawned with spawn_root() and the test calls hs_sim_run(). */
static void start(const hs_sim_config *cfg)
{
    hs_sim_config def = tu_config();
    reset();
    tu_status_reset();
    assert_int_equal(hs_sim_start(cfg ? cfg : &def), HS_OK);
}

static hs_pid_t spawn_root(const char *name, hs_entry_fn entry, void *arg)
{
    hs_pid_t pid = 0;
    assert_int_equal(hs_proc_spawn(name, entry, arg, NULL, &pid), HS_OK);
    return pid;
}

/* Serve hops until the run ends.  hs_proc_serve() returns only on error,
 * so any return at all is recorded as a bad status. */
static int serve_forever(void)
{
    tu_expect(hs_proc_serve(), HS_STATUS_COUNT, __LINE__);
    return 0;
}

/* A server process: a named port with a handler, optionally a small
 * stack pool, then hs_proc_serve(). */
struct server {
    const char *port_name;
    hs_hop_handler handler;
    void *cookie;
    unsigned stacks;            /* hs_proc_set_hop_stacks count; 0: default */
    hs_pid_t pid;
    hs_port_t port;
};

static int server_main(void *arg)
{
    struct server *s = arg;
    s->pid = hs_proc_self();
    if (s->stacks)
        EXPECT_ST(hs_proc_set_hop_stacks(s->stacks, HS_STACK_MIN), HS_OK);
    EXPECT_ST(hs_port_create_named(s->port_name, &s->port), HS_OK);
    EXPECT_ST(hs_port_set_handler(s->port, s->handler, s->cookie), HS_OK);
    return serve_forever();
}

/* Spawn server s as a root process named name (before the run). */
static void spawn_server(const char *name, struct server *s)
{
    s->pid = 0;
    s->port = 0;
    spawn_root(name, server_main, s);
}

static hs_port_t find(const char *name)
{
    hs_port_t p = 0;
    EXPECT_ST(hs_port_lookup(name, HS_NEVER, &p), HS_OK);
    return p;
}

/* Replies mr[0] + 1. */
static void echo(hs_hop_t *hop, void *cookie)
{
    (void)cookie;
    arrivals[0]++;
    hs_utcb()->mr[0] = hs_mr(hop, 0) + 1;
}

static struct server echo_srv = { .port_name = "echo", .handler = echo };

/* ---- call and return */

static int echo_client(void *arg)
{
    (void)arg;
    hs_port_t p = find("echo");
    EXPECT_ST(hs_hop_call(p, 41, &word[0]), HS_OK);
    hs_utcb()->mr[0] = 99;
    EXPECT_ST(hs_hop(p, HS_HOP_CHECKPOINT, HS_NEVER), HS_OK);
    word[1] = hs_utcb()->mr[0];
    EXPECT_ST(hs_hop_call(p, 7, NULL), HS_OK);   /* reply may be NULL */
    word[2] = hs_utcb()->mr[0];
    when[0] = hs_time_now();
    return 0;
}

static void test_hop_call_echo_round_trip(void **state)
{
    (void)state;
    start(NULL);
    spawn_server("server", &echo_srv);
    spawn_root("client", echo_client, NULL);
    assert_int_equal(hs_sim_run(), HS_OK);
    assert_no_bad_status();
    assert_int_equal(word[0], 42);
    assert_int_equal(word[1], 100);
    assert_int_equal(word[2], 8);
    assert_int_equal(arrivals[0], 3);
    assert_int_equal(when[0], 0);
}

static void identity_handler(hs_hop_t *hop, void *cookie)
{
    (void)cookie;
    pid_seen[1] = hs_proc_self();
    pid_seen[2] = hs_hop_source(hop);
    tid_seen[1] = hs_thread_self();
    port_seen[1] = hs_hop_port(hop);
}

static struct server identity_srv = {
    .port_name = "who", .handler = identity_handler,
};

static int identity_client(void *arg)
{
    (void)arg;
    hs_port_t p = find("who");
    pid_seen[0] = hs_proc_self();
    tid_seen[0] = hs_thread_self();
    EXPECT_ST(hs_hop_call(p, 0, NULL), HS_OK);
    pid_seen[3] = hs_proc_self();
    tid_seen[2] = hs_thread_self();
    return 0;
}

static void test_handler_runs_in_receiver_as_the_calling_thread(
    void **state)
{
    (void)state;
    start(NULL);
    spawn_server("server", &identity_srv);
    hs_pid_t client = spawn_root("client", identity_client, NULL);
    assert_int_equal(hs_sim_run(), HS_OK);
    assert_no_bad_status();
    assert_true(pid_seen[0] == client);
    assert_true(pid_seen[2] == client);             /* hs_hop_source */
    assert_true(port_seen[1] == identity_srv.port); /* hs_hop_port */
    assert_true(tid_seen[0] != 0);
    assert_true(tid_seen[1] == tid_seen[0]);        /* the same thread */
    assert_true(tid_seen[2] == tid_seen[0]);
    assert_true(pid_seen[3] == client);             /* back home */
    assert_true(pid_seen[1] == identity_srv.pid);   /* hs_proc_self */
}

static hs_utcb_t *utcb_seen[2];

static void register_handler(hs_hop_t *hop, void *cookie)
{
    (void)cookie;
    utcb_seen[1] = hs_utcb();
    word[0] = hs_mr(hop, 3);
    word[1] = hs_utcb()->mr[HS_MR_COUNT - 1];
    word[2] = hs_mr(hop, HS_MR_COUNT);      /* out of range: 0 */
    hs_utcb()->mr[5] = 0x5555;
}

static struct server register_srv = {
    .port_name = "regs", .handler = register_handler,
};

static int register_client(void *arg)
{
    (void)arg;
    hs_port_t p = find("regs");
    hs_utcb_t *u = hs_utcb();
    utcb_seen[0] = u;
    for (unsigned i = 0; i < HS_MR_COUNT; i++)
        u->mr[i] = 1000 + i;
    EXPECT_ST(hs_hop(p, HS_HOP_CHECKPOINT, HS_NEVER), HS_OK);
    word[3] = u->mr[5];
    word[4] = u->mr[6];
    return 0;
}

static void test_message_registers_travel_with_the_thread_uncopied(
    void **state)
{
    (void)state;
    utcb_seen[0] = utcb_seen[1] = NULL;
    start(NULL);
    spawn_server("server", &register_srv);
    spawn_root("client", register_client, NULL);
    assert_int_equal(hs_sim_run(), HS_OK);
    assert_no_bad_status();
    assert_int_equal(word[0], 1003);
    assert_int_equal(word[1], 1000 + HS_MR_COUNT - 1);
    assert_int_equal(word[2], 0);
    assert_int_equal(word[3], 0x5555);      /* the handler's write */
    assert_int_equal(word[4], 1006);
    assert_non_null(utcb_seen[0]);
    assert_ptr_equal(utcb_seen[1], utcb_seen[0]);
}

/* ---- chains and depth */

#define CHAIN 5

static struct server chain_srv[CHAIN + 2];
static int chain_last;                  /* the handler that stops */
static hs_hop_level levels[8];
static unsigned chain_count, chain_count_small;
static hs_hop_level levels_small[3];

/* Handler of chain server i (the cookie): hops on to server i + 1 unless
 * it is the last, which records the chain.  Replies mr[0] + 1. */
static void chain_handler(hs_hop_t *hop, void *cookie)
{
    int i = tu_arg_id(cookie);
    (void)hop;
    arrivals[i]++;
    if (i < chain_last) {
        EXPECT_ST(hs_hop(chain_srv[i + 1].port, HS_HOP_CHECKPOINT, HS_NEVER),
                  HS_OK);
    } else {
        EXPECT_ST(hs_hop_chain(levels, 8, &chain_count), HS_OK);
        EXPECT_ST(hs_hop_chain(levels_small, 2, &chain_count_small), HS_OK);
        EXPECT_ST(hs_hop_chain(levels, 8, NULL), HS_EINVAL);
        EXPECT_ST(hs_hop_chain(NULL, 1, &chain_count_small), HS_EINVAL);
    }
    tu_log_add(&order, i);
    hs_utcb()->mr[0] += 1;
}

static const char *const chain_port_names[] = {
    "c0", "c1", "c2", "c3", "c4", "c5", "c6",
};
static const char *const chain_proc_names[] = {
    "p0", "p1", "p2", "p3", "p4", "p5", "p6",
};

/* Spawn chain servers 1..n. */
static void spawn_chain(int n, int last)
{
    chain_last = last;
    memset(levels, 0x5a, sizeof levels);
    memset(levels_small, 0x5a, sizeof levels_small);
    chain_count = chain_count_small = 0;
    for (int i = 1; i <= n; i++) {
        chain_srv[i] = (struct server){
            .port_name = chain_port_names[i], .handler = chain_handler,
            .cookie = tu_id_arg(i),
        };
        spawn_server(chain_proc_names[i], &chain_srv[i]);
    }
}

static int chain_client(void *arg)
{
    (void)arg;
    unsigned n = 0;
    EXPECT_ST(hs_hop_chain(NULL, 0, &n), HS_OK);
    word[1] = n;                            /* not hopped: level 0 only */
    EXPECT_ST(hs_hop_call(chain_srv[1].port, 0, &word[0]), HS_OK);
    return 0;
}

static void test_chain_of_five_processes_lists_every_level(void **state)
{
    (void)state;
    start(NULL);
    spawn_chain(CHAIN, CHAIN);
    hs_pid_t client = spawn_root("client", chain_client, NULL);
    assert_int_equal(hs_sim_run(), HS_OK);
    assert_no_bad_status();
    assert_int_equal(word[1], 1);
    assert_int_equal(word[0], CHAIN);       /* each level added one */
    static const int returns[] = { 5, 4, 3, 2, 1 };
    assert_log(&order, returns, 5);
    assert_int_equal(chain_count, CHAIN + 1);
    assert_true(levels[0].proc == client);
    assert_string_equal(levels[0].proc_name, "client");
    assert_int_equal(levels[0].port, 0);
    assert_int_equal(levels[0].checkpoint, 0);
    assert_int_equal(levels[0].checkpointed, 0);
    for (int i = 1; i <= CHAIN; i++) {
        assert_true(levels[i].proc == chain_srv[i].pid);
        assert_string_equal(levels[i].proc_name, chain_proc_names[i]);
        assert_true(levels[i].port == chain_srv[i].port);
        /* A checkpoint, not kept: it has no handle. */
        assert_int_equal(levels[i].checkpointed, 1);
        assert_int_equal(levels[i].checkpoint, 0);
    }
    /* With room for two levels: the total, and only the outer two. */
    assert_int_equal(chain_count_small, CHAIN + 1);
    assert_true(levels_small[0].proc == client);
    assert_true(levels_small[1].proc == chain_srv[1].pid);
    hs_hop_level untouched;
    memset(&untouched, 0x5a, sizeof untouched);
    assert_memory_equal(&levels_small[2], &untouched, sizeof untouched);
}

/* A -> B -> C -> B: B hops to C when called from A, replies otherwise.
 * Replies build a number digit by digit: inner B 1, C 2, outer B 3. */
static struct server nest_b, nest_c;

static void nest_b_handler(hs_hop_t *hop, void *cookie)
{
    (void)cookie;
    if (hs_hop_source(hop) == nest_c.pid) {
        EXPECT_ST(hs_hop_chain(levels, 8, &chain_count), HS_OK);
        hs_utcb()->mr[0] = 1;
        return;
    }
    EXPECT_ST(hs_hop(nest_c.port, HS_HOP_CHECKPOINT, HS_NEVER), HS_OK);
    hs_utcb()->mr[0] = hs_utcb()->mr[0] * 10 + 3;
}

static void nest_c_handler(hs_hop_t *hop, void *cookie)
{
    (void)hop;
    (void)cookie;
    EXPECT_ST(hs_hop(nest_b.port, HS_HOP_CHECKPOINT, HS_NEVER), HS_OK);
    hs_utcb()->mr[0] = hs_utcb()->mr[0] * 10 + 2;
}

static int nest_client(void *arg)
{
    (void)arg;
    EXPECT_ST(hs_hop_call(find("b"), 0, &word[0]), HS_OK);
    return 0;
}

static void test_nested_hop_back_into_a_visited_process_is_legal(
    void **state)
{
    (void)state;
    nest_b = (struct server){ .port_name = "b", .handler = nest_b_handler };
    nest_c = (struct server){ .port_name = "c", .handler = nest_c_handler };
    start(NULL);
    spawn_server("B", &nest_b);
    spawn_server("C", &nest_c);
    hs_pid_t a = spawn_root("A", nest_client, NULL);
    chain_count = 0;
    assert_int_equal(hs_sim_run(), HS_OK);
    assert_no_bad_status();
    assert_int_equal(word[0], 123);
    assert_int_equal(chain_count, 4);
    assert_true(levels[0].proc == a);
    assert_true(levels[1].proc == nest_b.pid);
    assert_true(levels[2].proc == nest_c.pid);
    assert_true(levels[3].proc == nest_b.pid);
}

/* Depth 3 allowed: client -> d1 -> d2 -> d3, and d3 -> d4 is refused.
 * d4 has a single hop stack, so a refused hop that kept one would make
 * the later d1 -> d4 hop fail. */
static struct server depth_srv[5];
static unsigned depth_before, depth_after;
static hs_hop_level depth_top;

static void depth_handler(hs_hop_t *hop, void *cookie)
{
    int i = tu_arg_id(cookie);
    (void)hop;
    arrivals[i]++;
    hs_utcb_t *u = hs_utcb();
    if (i == 1) {
        EXPECT_ST(hs_hop(depth_srv[2].port, HS_HOP_CHECKPOINT, HS_NEVER),
                  HS_OK);
        /* After the refusal deeper down, hops work as before. */
        u->mr[0] = 500;
        status[1] = hs_hop(depth_srv[4].port, HS_HOP_CHECKPOINT, HS_NEVER);
        word[2] = u->mr[0];
    } else if (i == 2) {
        EXPECT_ST(hs_hop(depth_srv[3].port, HS_HOP_CHECKPOINT, HS_NEVER),
                  HS_OK);
    } else if (i == 3) {
        hs_hop_level lv[8];
        EXPECT_ST(hs_hop_chain(lv, 8, &depth_before), HS_OK);
        u->mr[0] = 77;
        status[0] = hs_hop(depth_srv[4].port, HS_HOP_CHECKPOINT, HS_NEVER);
        word[0] = u->mr[0];
        when[0] = hs_time_now();
        EXPECT_ST(hs_hop_chain(lv, 8, &depth_after), HS_OK);
        depth_top = lv[depth_after > 0 && depth_after <= 8 ? depth_after - 1
                                                           : 0];
    } else {
        u->mr[0] += 1;
    }
}

static int depth_client(void *arg)
{
    (void)arg;
    EXPECT_ST(hs_hop_call(depth_srv[1].port, 0, NULL), HS_OK);
    return 0;
}

static void test_hop_past_max_depth_is_edepth_and_changes_nothing(
    void **state)
{
    (void)state;
    hs_sim_config cfg = tu_config();
    cfg.max_hop_depth = 3;
    depth_before = depth_after = 0;
    memset(&depth_top, 0, sizeof depth_top);
    start(&cfg);
    for (int i = 1; i <= 4; i++) {
        depth_srv[i] = (struct server){
            .port_name = chain_port_names[i], .handler = depth_handler,
            .cookie = tu_id_arg(i), .stacks = i == 4 ? 1 : 0,
        };
        spawn_server(chain_proc_names[i], &depth_srv[i]);
    }
    spawn_root("client", depth_client, NULL);
    assert_int_equal(hs_sim_run(), HS_OK);
    assert_no_bad_status();
    assert_int_equal(status[0], HS_EDEPTH);
    assert_int_equal(word[0], 77);          /* registers untouched */
    assert_int_equal(when[0], 0);
    assert_int_equal(depth_before, 4);      /* levels 0..3 */
    assert_int_equal(depth_after, 4);
    assert_true(depth_top.proc == depth_srv[3].pid);
    assert_int_equal(status[1], HS_OK);
    assert_int_equal(word[2], 501);
    assert_int_equal(arrivals[4], 1);       /* only the hop from d1 */
    assert_int_equal(arrivals[3], 1);
}

/* ---- refused hops */

/* A port with no handler until 2 ms, echo from 2 ms, none from 4 ms. */
static int bare_server(void *arg)
{
    (void)arg;
    pid_seen[0] = hs_proc_self();
    EXPECT_ST(hs_port_create_named("bare", &port_seen[0]), HS_OK);
    tu_sleep_until(2 * HS_MSEC);
    EXPECT_ST(hs_port_set_handler(port_seen[0], echo, NULL), HS_OK);
    tu_sleep_until(4 * HS_MSEC);
    EXPECT_ST(hs_port_set_handler(port_seen[0], NULL, NULL), HS_OK);
    return serve_forever();
}

static int hop_into_bare(void *arg)
{
    (void)arg;
    hs_port_t p = find("bare");
    hs_utcb_t *u = hs_utcb();
    tu_sleep_until(HS_MSEC);
    u->mr[0] = 41;
    status[0] = hs_hop(p, HS_HOP_CHECKPOINT, HS_NEVER);
    word[0] = u->mr[0];
    when[0] = hs_time_now();
    pid_seen[1] = hs_proc_self();
    status[1] = hs_hop_call(p, 41, &word[1]);
    tu_sleep_until(3 * HS_MSEC);
    status[2] = hs_hop_call(p, 41, &word[2]);
    tu_sleep_until(5 * HS_MSEC);
    status[3] = hs_hop_call(p, 41, &word[3]);
    when[1] = hs_time_now();
    return 0;
}

static void test_hop_without_handler_fails_and_caller_continues(
    void **state)
{
    (void)state;
    start(NULL);
    spawn_root("server", bare_server, NULL);
    hs_pid_t client = spawn_root("client", hop_into_bare, NULL);
    assert_int_equal(hs_sim_run(), HS_OK);
    assert_no_bad_status();
    assert_int_equal(status[0], HS_ENOHANDLER);
    assert_int_equal(word[0], 41);
    assert_int_equal(when[0], HS_MSEC);     /* refused at once */
    assert_true(pid_seen[1] == client);
    assert_int_equal(status[1], HS_ENOHANDLER);
    assert_int_equal(word[1], 0xbad);
    assert_int_equal(status[2], HS_OK);     /* with a handler: works */
    assert_int_equal(word[2], 42);
    assert_int_equal(status[3], HS_ENOHANDLER);  /* cleared again */
    assert_int_equal(when[1], 5 * HS_MSEC);
    assert_int_equal(arrivals[0], 1);
}

static int hop_via_made_up_handles(void *arg)
{
    (void)arg;
    hs_port_t real = find("echo");
    hs_tid_t t = 0;
    status[0] = hs_hop(0, HS_HOP_CHECKPOINT, HS_NEVER);
    status[1] = hs_hop((hs_port_t)0x12345678, HS_HOP_CHECKPOINT, HS_NEVER);
    status[2] = hs_hop_call((hs_port_t)0xdeadbeefcafeull, 1, &word[0]);
    status[3] = hs_hop(0, 0, HS_NEVER);   /* one-way: returns the error */
    status[4] = hs_hop_async(0, &t);
    tid_seen[0] = t;
    /* A near miss: the real handle with another generation or index. */
    status[5] = hs_hop_call(real ^ ((hs_port_t)1 << 40), 1, &word[1]);
    status[6] = hs_hop_call(real + 1000, 1, &word[1]);
    status[7] = hs_hop_call(real, 1, &word[2]);
    return 0;
}

static void test_hop_via_invalid_handle_is_enoport(void **state)
{
    (void)state;
    start(NULL);
    spawn_server("server", &echo_srv);
    spawn_root("client", hop_via_made_up_handles, NULL);
    assert_int_equal(hs_sim_run(), HS_OK);
    assert_no_bad_status();
    for (int i = 0; i < 7; i++)
        assert_int_equal(status[i], HS_ENOPORT);
    assert_int_equal(tid_seen[0], 0);
    assert_int_equal(word[0], 0xbad);
    assert_int_equal(word[1], 0xbad);
    assert_int_equal(status[7], HS_OK);
    assert_int_equal(word[2], 2);
    assert_int_equal(arrivals[0], 1);
}

static int hop_with_bad_arguments(void *arg)
{
    (void)arg;
    hs_port_t p = find("echo");
    hs_utcb()->mr[0] = 10;
    status[0] = hs_hop(p, 0x80, HS_NEVER);
    status[1] = hs_hop(p, HS_HOP_CHECKPOINT | 0x80, HS_NEVER);
    status[2] = hs_hop(p, HS_HOP_CHECKPOINT, HS_TIMEOUT_MAX + 1);
    status[3] = hs_hop(p, HS_HOP_CHECKPOINT, HS_NEVER - 1);
    status[4] = hs_hop(p, 0x80, HS_TIMEOUT_MAX + 1);
    word[0] = hs_utcb()->mr[0];
    when[0] = hs_time_now();
    /* The largest finite timeout is fine. */
    status[5] = hs_hop(p, HS_HOP_CHECKPOINT, HS_TIMEOUT_MAX);
    word[1] = hs_utcb()->mr[0];
    return 0;
}

static void test_hop_with_bad_flags_or_timeout_is_einval(void **state)
{
    (void)state;
    start(NULL);
    spawn_server("server", &echo_srv);
    spawn_root("client", hop_with_bad_arguments, NULL);
    assert_int_equal(hs_sim_run(), HS_OK);
    assert_no_bad_status();
    for (int i = 0; i < 5; i++)
        assert_int_equal(status[i], HS_EINVAL);
    assert_int_equal(word[0], 10);
    assert_int_equal(when[0], 0);
    assert_int_equal(status[5], HS_OK);
    assert_int_equal(word[1], 11);
    assert_int_equal(arrivals[0], 1);       /* only the valid hop arrived */
}

/* ---- one-way hops */

static int one_way_thread(void *arg)
{
    hs_port_t p = (hs_port_t)(uintptr_t)arg;
    tid_seen[1] = hs_thread_self();
    hs_utcb()->mr[0] = 9;
    hs_status st = hs_hop(p, 0, HS_NEVER);
    must_not_run = 1 + (int)st;
    return 77;
}

static void one_way_handler(hs_hop_t *hop, void *cookie)
{
    (void)cookie;
    arrivals[0]++;
    tid_seen[2] = hs_thread_self();
    pid_seen[1] = hs_hop_source(hop);
    word[0] = hs_mr(hop, 0);
    EXPECT_ST(hs_thread_sleep(HS_MSEC), HS_OK);
    when[0] = hs_time_now();
    tu_log_add(&order, 2);
}

static struct server one_way_srv = {
    .port_name = "oneway", .handler = one_way_handler,
};

static int one_way_client(void *arg)
{
    (void)arg;
    hs_port_t p = find("oneway");
    int value = -1;
    pid_seen[0] = hs_proc_self();
    EXPECT_ST(hs_thread_create(one_way_thread, (void *)(uintptr_t)p, NULL,
                               &tid_seen[0]), HS_OK);
    EXPECT_ST(hs_thread_join(tid_seen[0], HS_NEVER, &value), HS_OK);
    tu_log_add(&order, 3);
    when[1] = hs_time_now();
    word[1] = (uint64_t)value;
    return 0;
}

static void test_one_way_hop_continues_in_handler_and_ends_thread(
    void **state)
{
    (void)state;
    start(NULL);
    spawn_server("server", &one_way_srv);
    spawn_root("client", one_way_client, NULL);
    assert_int_equal(hs_sim_run(), HS_OK);
    assert_no_bad_status();
    assert_int_equal(must_not_run, 0);      /* hs_hop did not return */
    assert_int_equal(arrivals[0], 1);
    assert_true(tid_seen[0] != 0);
    assert_true(tid_seen[1] == tid_seen[0]);
    assert_true(tid_seen[2] == tid_seen[0]);
    assert_true(pid_seen[1] == pid_seen[0]);
    assert_int_equal(word[0], 9);
    assert_int_equal(when[0], HS_MSEC);
    assert_int_equal(word[1], 0);           /* exit value 0, not 77 */
    assert_int_equal(when[1], HS_MSEC);
    static const int want[] = { 2, 3 };
    assert_log(&order, want, 2);
}

/* ---- receiver stacks */

/* Sleeps 2 ms, replies mr[0] + 1. */
static void slow_echo(hs_hop_t *hop, void *cookie)
{
    (void)cookie;
    arrivals[0]++;
    EXPECT_ST(hs_thread_sleep(2 * HS_MSEC), HS_OK);
    hs_utcb()->mr[0] = hs_mr(hop, 0) + 1;
}

static struct server narrow_srv = {
    .port_name = "narrow", .handler = slow_echo, .stacks = 1,
};

static int first_caller(void *arg)
{
    (void)arg;
    status[0] = hs_hop_call(find("narrow"), 1, &word[0]);
    when[0] = hs_time_now();
    return 0;
}

static int second_caller(void *arg)
{
    (void)arg;
    hs_port_t p = find("narrow");
    tu_sleep_until(HS_MSEC);
    hs_utcb()->mr[0] = 5;
    status[1] = hs_hop(p, HS_HOP_CHECKPOINT, HS_NEVER);
    word[1] = hs_utcb()->mr[0];
    when[1] = hs_time_now();
    tu_sleep_until(3 * HS_MSEC);
    status[2] = hs_hop_call(p, 10, &word[2]);
    when[2] = hs_time_now();
    return 0;
}

static void test_second_concurrent_hop_without_free_stack_is_enostack(
    void **state)
{
    (void)state;
    start(NULL);
    spawn_server("server", &narrow_srv);
    spawn_root("first", first_caller, NULL);
    spawn_root("second", second_caller, NULL);
    assert_int_equal(hs_sim_run(), HS_OK);
    assert_no_bad_status();
    assert_int_equal(status[0], HS_OK);
    assert_int_equal(word[0], 2);
    assert_int_equal(when[0], 2 * HS_MSEC);
    assert_int_equal(status[1], HS_ENOSTACK);
    assert_int_equal(word[1], 5);
    assert_int_equal(when[1], HS_MSEC);     /* refused at once */
    assert_int_equal(status[2], HS_OK);     /* the stack is back */
    assert_int_equal(word[2], 11);
    assert_int_equal(when[2], 5 * HS_MSEC);
    assert_int_equal(arrivals[0], 2);
}

static int alloc_budget, alloc_calls;

/* Grants alloc_budget more stacks, then refuses. */
static hs_status grant_stacks(void *cookie, size_t *stack_size)
{
    int *budget = cookie;
    alloc_calls++;
    if (*budget <= 0)
        return HS_ELIMIT;
    (*budget)--;
    *stack_size = HS_STACK_MIN;
    return HS_OK;
}

/* Sleeps 10 ms, replies mr[0] + 1. */
static void slower_echo(hs_hop_t *hop, void *cookie)
{
    (void)cookie;
    arrivals[0]++;
    EXPECT_ST(hs_thread_sleep(10 * HS_MSEC), HS_OK);
    hs_utcb()->mr[0] = hs_mr(hop, 0) + 1;
}

static int growing_server(void *arg)
{
    (void)arg;
    hs_port_t p = 0;
    EXPECT_ST(hs_proc_set_hop_stacks(1, HS_STACK_MIN), HS_OK);
    EXPECT_ST(hs_proc_set_stack_alloc(grant_stacks, &alloc_budget), HS_OK);
    EXPECT_ST(hs_port_create_named("grow", &p), HS_OK);
    EXPECT_ST(hs_port_set_handler(p, slower_echo, NULL), HS_OK);
    return serve_forever();
}

static int grow_caller(void *arg)
{
    int i = tu_arg_id(arg);
    status[i] = hs_hop_call(find("grow"), (uint64_t)i * 10, &word[i]);
    when[i] = hs_time_now();
    return 0;
}

static int grow_client(void *arg)
{
    (void)arg;
    hs_tid_t t[4] = { 0 };
    for (int i = 0; i < 4; i++)
        EXPECT_ST(hs_thread_create(grow_caller, tu_id_arg(i), NULL, &t[i]),
                  HS_OK);
    for (int i = 0; i < 4; i++)
        EXPECT_ST(hs_thread_join(t[i], HS_NEVER, NULL), HS_OK);
    word[6] = (uint64_t)alloc_calls;
    tu_sleep_until(20 * HS_MSEC);
    /* Everything returned: the pool's own stack serves again. */
    status[4] = hs_hop_call(find("grow"), 40, &word[4]);
    return 0;
}

static void test_stack_allocator_grants_more_stacks_then_refuses(
    void **state)
{
    (void)state;
    alloc_budget = 2;
    alloc_calls = 0;
    start(NULL);
    spawn_root("server", growing_server, NULL);
    spawn_root("client", grow_client, NULL);
    assert_int_equal(hs_sim_run(), HS_OK);
    assert_no_bad_status();
    for (int i = 0; i < 3; i++) {           /* pool, then two granted */
        assert_int_equal(status[i], HS_OK);
        assert_int_equal(word[i], (uint64_t)i * 10 + 1);
        assert_int_equal(when[i], 10 * HS_MSEC);
    }
    assert_int_equal(status[3], HS_ENOSTACK);
    assert_int_equal(when[3], 0);
    assert_int_equal(word[3], 0xbad);
    assert_int_equal(word[6], 3);           /* asked for 2nd, 3rd, 4th */
    assert_int_equal(alloc_budget, 0);
    assert_int_equal(status[4], HS_OK);
    assert_int_equal(word[4], 41);
    assert_int_equal(alloc_calls, 3);       /* the pool had room */
    assert_int_equal(arrivals[0], 4);
}

/* ---- kept checkpoints */

static hs_checkpoint_t kept;
static int keep_sleep_ms;               /* the handler sleeps after keeping */
static int keep_late_ms;                /* ... and before keeping */

/* Keeps the checkpoint and returns (after keep_late_ms and
 * keep_sleep_ms). */
static void keeper_handler(hs_hop_t *hop, void *cookie)
{
    (void)cookie;
    arrivals[0]++;
    if (keep_late_ms)
        EXPECT_ST(hs_thread_sleep((hs_time_t)keep_late_ms * HS_MSEC), HS_OK);
    EXPECT_ST(hs_hop_keep(hop, &kept), HS_OK);
    if (keep_sleep_ms)
        EXPECT_ST(hs_thread_sleep((hs_time_t)keep_sleep_ms * HS_MSEC), HS_OK);
    when[7] = hs_time_now();
}

/* What the keeper's worker thread does: at time `at`, resume `kept` with
 * result and words[0..n-1] (words NULL if null_words). */
struct resume_step {
    hs_time_t at;
    hs_status result;
    unsigned n;
    int null_words;
};

static struct resume_step steps[8];
static unsigned nsteps;
static hs_status step_status[8];
static const uint64_t reply_words[HS_MR_COUNT + 1] = { 100, 101, 102 };

static int resume_worker(void *arg)
{
    (void)arg;
    for (unsigned i = 0; i < nsteps; i++) {
        tu_sleep_until(steps[i].at);
        step_status[i] = hs_checkpoint_resume(
            kept, steps[i].result, steps[i].null_words ? NULL : reply_words,
            steps[i].n);
    }
    return 0;
}

static int keeper_server(void *arg)
{
    (void)arg;
    hs_port_t p = 0;
    pid_seen[0] = hs_proc_self();
    EXPECT_ST(hs_port_create_named("keeper", &p), HS_OK);
    EXPECT_ST(hs_port_set_handler(p, keeper_handler, NULL), HS_OK);
    EXPECT_ST(hs_thread_create(resume_worker, NULL, NULL, &tid_seen[0]),
              HS_OK);
    return serve_forever();
}

/* Hops into "keeper" at start_at with timeout; mr[3] is a sentinel. */
static hs_time_t client_start_at, client_timeout;

static int keeper_client(void *arg)
{
    (void)arg;
    hs_port_t p = find("keeper");
    hs_utcb_t *u = hs_utcb();
    tu_sleep_until(client_start_at);
    tid_seen[1] = hs_thread_self();
    u->mr[0] = 1;
    u->mr[1] = 2;
    u->mr[3] = 0x33;
    status[0] = hs_hop(p, HS_HOP_CHECKPOINT, client_timeout);
    when[0] = hs_time_now();
    for (int i = 0; i < 4; i++)
        word[i] = u->mr[i];
    return 0;
}

static void keeper_setup(const hs_sim_config *cfg)
{
    start(cfg);
    kept = 0;
    keep_sleep_ms = 0;
    keep_late_ms = 0;
    nsteps = 0;
    client_start_at = 0;
    client_timeout = HS_NEVER;
    for (int i = 0; i < 8; i++)
        step_status[i] = HS_STATUS_COUNT;
}

static void add_step(hs_time_t at, hs_status result, unsigned n,
                     int null_words)
{
    steps[nsteps++] = (struct resume_step){ at, result, n, null_words };
}

static void keeper_run(void)
{
    spawn_root("server", keeper_server, NULL);
    spawn_root("client", keeper_client, NULL);
    assert_int_equal(hs_sim_run(), HS_OK);
    assert_no_bad_status();
}

static void test_kept_checkpoint_is_resumed_later_by_worker_thread(
    void **state)
{
    (void)state;
    keeper_setup(NULL);
    add_step(5 * HS_MSEC, HS_OK, 3, 0);
    add_step(6 * HS_MSEC, HS_OK, 3, 0);     /* again: stale */
    keeper_run();
    assert_true(kept != 0);
    assert_int_equal(when[7], 0);           /* the handler returned at once */
    assert_int_equal(step_status[0], HS_OK);
    assert_int_equal(status[0], HS_OK);
    assert_int_equal(when[0], 5 * HS_MSEC); /* waited for the resume */
    assert_int_equal(word[0], 100);
    assert_int_equal(word[1], 101);
    assert_int_equal(word[2], 102);
    assert_int_equal(word[3], 0x33);        /* beyond n: untouched */
    assert_true(tid_seen[0] != tid_seen[1]);
    assert_int_equal(step_status[1], HS_ESTALE);
}

static int made_up_resumer(void *arg)
{
    (void)arg;
    status[4] = hs_checkpoint_resume(0, HS_OK, NULL, 0);
    status[5] = hs_checkpoint_resume((hs_checkpoint_t)0x7777777, HS_OK,
                                     NULL, 0);
    return 0;
}

static void test_resume_of_unknown_checkpoint_is_estale(void **state)
{
    (void)state;
    start(NULL);
    spawn_root("resumer", made_up_resumer, NULL);
    assert_int_equal(hs_sim_run(), HS_OK);
    assert_no_bad_status();
    assert_int_equal(status[4], HS_ESTALE);
    assert_int_equal(status[5], HS_ESTALE);
}

static int thief(void *arg)
{
    (void)arg;
    tu_sleep_until(HS_MSEC);
    status[2] = hs_checkpoint_resume(kept, HS_OK, reply_words, 1);
    return 0;
}

static void test_resume_from_another_process_is_eperm(void **state)
{
    (void)state;
    keeper_setup(NULL);
    add_step(2 * HS_MSEC, HS_OK, 3, 0);
    spawn_root("thief", thief, NULL);
    keeper_run();
    assert_int_equal(status[2], HS_EPERM);
    /* Nothing changed: the owner's resume at 2 ms works. */
    assert_int_equal(step_status[0], HS_OK);
    assert_int_equal(status[0], HS_OK);
    assert_int_equal(when[0], 2 * HS_MSEC);
    assert_int_equal(word[0], 100);
}

static void test_resume_before_keeping_handler_returns_is_estate(
    void **state)
{
    (void)state;
    keeper_setup(NULL);
    keep_sleep_ms = 2;
    add_step(HS_MSEC, HS_OK, 3, 0);         /* handler still sleeping */
    add_step(3 * HS_MSEC, HS_OK, 3, 0);
    keeper_run();
    assert_int_equal(when[7], 2 * HS_MSEC);
    assert_int_equal(step_status[0], HS_ESTATE);
    assert_int_equal(step_status[1], HS_OK);
    assert_int_equal(status[0], HS_OK);
    assert_int_equal(when[0], 3 * HS_MSEC);
    assert_int_equal(word[0], 100);
}

static void test_caller_timeout_while_checkpoint_kept_is_etimeout(
    void **state)
{
    (void)state;
    keeper_setup(NULL);
    client_start_at = HS_MSEC;
    client_timeout = 4 * HS_MSEC;
    add_step(6 * HS_MSEC, HS_OK, 3, 0);     /* too late */
    keeper_run();
    assert_int_equal(status[0], HS_ETIMEOUT);
    assert_int_equal(when[0], 5 * HS_MSEC); /* hop time + timeout */
    assert_int_equal(word[0], 1);           /* no reply delivered */
    assert_int_equal(word[1], 2);
    assert_int_equal(step_status[0], HS_ESTALE);
}

/* The caller's timeout runs from the hop, whenever the handler keeps:
 * kept at 3 ms, a hop at 1 ms with 4 ms gives up at 5 ms. */
static void test_kept_checkpoint_times_out_from_the_hop_not_the_keep(
    void **state)
{
    (void)state;
    keeper_setup(NULL);
    client_start_at = HS_MSEC;
    client_timeout = 4 * HS_MSEC;
    keep_late_ms = 2;
    add_step(6 * HS_MSEC, HS_OK, 3, 0);     /* too late */
    keeper_run();
    assert_int_equal(when[7], 3 * HS_MSEC);
    assert_int_equal(status[0], HS_ETIMEOUT);
    assert_int_equal(when[0], 5 * HS_MSEC);
    assert_int_equal(word[0], 1);
    assert_int_equal(step_status[0], HS_ESTALE);
}

/* A handler that keeps and returns after the caller's deadline: the
 * caller times out as the handler returns, and the handle is stale. */
static void test_kept_checkpoint_past_its_deadline_times_out_at_return(
    void **state)
{
    (void)state;
    keeper_setup(NULL);
    client_timeout = 2 * HS_MSEC;
    keep_sleep_ms = 3;
    add_step(4 * HS_MSEC, HS_OK, 3, 0);
    keeper_run();
    assert_int_equal(when[7], 3 * HS_MSEC);
    assert_int_equal(status[0], HS_ETIMEOUT);
    assert_int_equal(when[0], 3 * HS_MSEC);
    assert_int_equal(word[0], 1);
    assert_int_equal(step_status[0], HS_ESTALE);
}

/* ---- a checkpoint's handle: none until kept, a fresh one then */

#define KEEPS 3

static hs_hop_level chain_before[2], chain_after[2];
static hs_checkpoint_t keeps[KEEPS];
static hs_status keep_resume[KEEPS], keep_again[KEEPS];
static unsigned nkeeps;

/* Reads the chain, keeps the checkpoint, reads the chain again. */
static void keep_and_look(hs_hop_t *hop, void *cookie)
{
    (void)cookie;
    unsigned n = 0;
    EXPECT_ST(hs_hop_chain(chain_before, 2, &n), HS_OK);
    EXPECT_ST(hs_hop_keep(hop, &keeps[nkeeps]), HS_OK);
    EXPECT_ST(hs_hop_chain(chain_after, 2, &n), HS_OK);
    nkeeps++;
}

/* Resumes keep i at (i + 1) ms, then tries it again and every earlier
 * one: all stale. */
static int keep_resumer(void *arg)
{
    (void)arg;
    for (unsigned i = 0; i < KEEPS; i++) {
        tu_sleep_until((hs_time_t)(i + 1) * HS_MSEC);
        keep_resume[i] = hs_checkpoint_resume(keeps[i], HS_OK, NULL, 0);
        keep_again[i] = HS_ESTALE;
        for (unsigned j = 0; j <= i; j++)
            if (hs_checkpoint_resume(keeps[j], HS_OK, NULL, 0) != HS_ESTALE)
                keep_again[i] = HS_OK;
    }
    return 0;
}

static int look_server(void *arg)
{
    (void)arg;
    hs_port_t p = 0;
    EXPECT_ST(hs_port_create_named("look", &p), HS_OK);
    EXPECT_ST(hs_port_set_handler(p, keep_and_look, NULL), HS_OK);
    EXPECT_ST(hs_thread_create(keep_resumer, NULL, NULL, NULL), HS_OK);
    return serve_forever();
}

static int look_client(void *arg)
{
    (void)arg;
    hs_port_t p = find("look");
    for (unsigned i = 0; i < KEEPS; i++)
        status[i] = hs_hop(p, HS_HOP_CHECKPOINT, HS_NEVER);
    return 0;
}

/* hs_hop_chain gives a checkpoint's handle only once it is kept; each
 * keep gives a new handle, stale once resumed. */
static void test_checkpoint_has_a_fresh_handle_only_once_kept(void **state)
{
    (void)state;
    start(NULL);
    nkeeps = 0;
    memset(keeps, 0, sizeof keeps);
    spawn_root("server", look_server, NULL);
    spawn_root("client", look_client, NULL);
    assert_int_equal(hs_sim_run(), HS_OK);
    assert_no_bad_status();
    assert_int_equal(nkeeps, KEEPS);
    assert_int_equal(chain_before[0].checkpointed, 0);
    assert_int_equal(chain_before[1].checkpointed, 1);
    assert_int_equal(chain_before[1].checkpoint, 0);
    assert_int_equal(chain_after[1].checkpointed, 1);
    assert_true(chain_after[1].checkpoint == keeps[KEEPS - 1]);
    for (unsigned i = 0; i < KEEPS; i++) {
        assert_true(keeps[i] != 0);
        for (unsigned j = 0; j < i; j++)
            assert_true(keeps[i] != keeps[j]);
        assert_int_equal(status[i], HS_OK);
        assert_int_equal(keep_resume[i], HS_OK);
        assert_int_equal(keep_again[i], HS_ESTALE);
    }
}

/* The event stream: a return through a checkpoint names it by its handle
 * only if it was kept (the keep's handle), else 0. */
#define RETURNS_MAX 4
static uint64_t return_a[RETURNS_MAX], keep_a;
static unsigned nreturns;

static void record_returns(void *cookie, const hs_event *ev)
{
    (void)cookie;
    if (!strcmp(ev->kind, "hop_return") && nreturns < RETURNS_MAX)
        return_a[nreturns++] = ev->a;
    if (!strcmp(ev->kind, "checkpoint_keep"))
        keep_a = ev->a;
}

static int return_client(void *arg)
{
    (void)arg;
    EXPECT_ST(hs_hop_call(find("echo"), 1, NULL), HS_OK);
    status[0] = hs_hop(find("keeper"), HS_HOP_CHECKPOINT, HS_NEVER);
    return 0;
}

static void test_hop_return_event_names_a_checkpoint_only_if_kept(
    void **state)
{
    (void)state;
    hs_sim_config cfg = tu_config();
    cfg.event_fn = record_returns;
    keeper_setup(&cfg);
    add_step(HS_MSEC, HS_OK, 1, 0);
    nreturns = 0;
    keep_a = 0;
    spawn_server("echo-server", &echo_srv);
    spawn_root("server", keeper_server, NULL);
    spawn_root("client", return_client, NULL);
    assert_int_equal(hs_sim_run(), HS_OK);
    assert_no_bad_status();
    assert_int_equal(status[0], HS_OK);
    assert_int_equal(step_status[0], HS_OK);
    assert_int_equal(nreturns, 2);
    assert_int_equal(return_a[0], 0);
    assert_true(keep_a != 0 && keep_a == kept);
    assert_true(return_a[1] == kept);
}

/* A handler keeps its checkpoint and is still running when its process
 * ends: the caller unwinds with HS_EPARTNER, and the kept checkpoint goes
 * with the level. */
static int keep_doomed_server(void *arg)
{
    (void)arg;
    hs_port_t p = 0;
    EXPECT_ST(hs_port_create_named("keeper", &p), HS_OK);
    EXPECT_ST(hs_port_set_handler(p, keeper_handler, NULL), HS_OK);
    tu_sleep_until(2 * HS_MSEC);
    hs_proc_exit(4);
}

/* Resumes the kept checkpoint from outside its process while it lives
 * (1 ms) and after it ended (3 ms). */
static int kept_prober(void *arg)
{
    (void)arg;
    tu_sleep_until(HS_MSEC);
    status[1] = hs_checkpoint_resume(kept, HS_OK, NULL, 0);
    tu_sleep_until(3 * HS_MSEC);
    status[2] = hs_checkpoint_resume(kept, HS_OK, NULL, 0);
    return 0;
}

static void test_kept_checkpoint_of_a_running_handler_unwinds_at_proc_end(
    void **state)
{
    (void)state;
    keeper_setup(NULL);
    keep_sleep_ms = 10;
    spawn_root("server", keep_doomed_server, NULL);
    spawn_root("client", keeper_client, NULL);
    spawn_root("prober", kept_prober, NULL);
    assert_int_equal(hs_sim_run(), HS_OK);
    assert_no_bad_status();
    assert_true(kept != 0);
    assert_int_equal(when[7], HS_NEVER);    /* the handler never returned */
    assert_int_equal(status[0], HS_EPARTNER);
    assert_int_equal(when[0], 2 * HS_MSEC);
    assert_int_equal(word[0], 1);
    assert_int_equal(status[1], HS_EPERM);      /* kept, not ours */
    assert_int_equal(status[2], HS_ESTALE);     /* gone with the level */
}

static hs_checkpoint_t second_keep;

static void keep_twice_handler(hs_hop_t *hop, void *cookie)
{
    (void)cookie;
    status[4] = hs_hop_keep(hop, NULL);
    status[5] = hs_hop_keep(NULL, &second_keep);
    status[6] = hs_hop_keep(hop, &kept);
    status[7] = hs_hop_keep(hop, &second_keep);
}

static int keep_twice_server(void *arg)
{
    (void)arg;
    hs_port_t p = 0;
    EXPECT_ST(hs_port_create_named("keeper", &p), HS_OK);
    EXPECT_ST(hs_port_set_handler(p, keep_twice_handler, NULL), HS_OK);
    EXPECT_ST(hs_thread_create(resume_worker, NULL, NULL, NULL), HS_OK);
    return serve_forever();
}

static void test_keeping_a_checkpoint_twice_is_ejoined(void **state)
{
    (void)state;
    keeper_setup(NULL);
    second_keep = 0;
    add_step(HS_MSEC, HS_OK, 1, 0);
    spawn_root("server", keep_twice_server, NULL);
    spawn_root("client", keeper_client, NULL);
    assert_int_equal(hs_sim_run(), HS_OK);
    assert_no_bad_status();
    assert_int_equal(status[4], HS_EINVAL);
    assert_int_equal(status[5], HS_ESTATE);
    assert_int_equal(status[6], HS_OK);
    assert_int_equal(status[7], HS_EJOINED);
    assert_int_equal(second_keep, 0);
    /* The first keep stands: resumed at 1 ms. */
    assert_int_equal(step_status[0], HS_OK);
    assert_int_equal(status[0], HS_OK);
    assert_int_equal(when[0], HS_MSEC);
    assert_int_equal(word[0], 100);
}

static void keep_status_handler(hs_hop_t *hop, void *cookie)
{
    (void)cookie;
    hs_checkpoint_t cp = 0;
    status[1] = hs_hop_keep(hop, &cp);
    word[1] = cp;
}

static struct server keep_one_way_srv = {
    .port_name = "keep1", .handler = keep_status_handler,
};

static int keep_one_way_client(void *arg)
{
    (void)arg;
    hs_tid_t t = 0;
    int value = -1;
    EXPECT_ST(hs_thread_create(one_way_thread,
                               (void *)(uintptr_t)find("keep1"), NULL, &t),
              HS_OK);
    EXPECT_ST(hs_thread_join(t, HS_NEVER, &value), HS_OK);
    word[0] = (uint64_t)value;
    return 0;
}

static void test_keep_on_one_way_hop_is_einval(void **state)
{
    (void)state;
    start(NULL);
    spawn_server("server", &keep_one_way_srv);
    spawn_root("client", keep_one_way_client, NULL);
    assert_int_equal(hs_sim_run(), HS_OK);
    assert_no_bad_status();
    assert_int_equal(status[1], HS_EINVAL);
    assert_int_equal(word[1], 0);
    assert_int_equal(must_not_run, 0);
    assert_int_equal(word[0], 0);           /* the thread ended normally */
}

static void test_resume_with_custom_status_is_returned_by_hop(void **state)
{
    (void)state;
    keeper_setup(NULL);
    /* Refused, changing nothing. */
    add_step(HS_MSEC, HS_EPANIC, 1, 0);
    add_step(HS_MSEC, HS_STATUS_COUNT, 1, 0);
    add_step(HS_MSEC, HS_OK, HS_MR_COUNT + 1, 0);
    add_step(HS_MSEC, HS_OK, 1, 1);
    /* Accepted. */
    add_step(HS_MSEC, HS_EPERM, 1, 0);
    keeper_run();
    for (int i = 0; i < 4; i++)
        assert_int_equal(step_status[i], HS_EINVAL);
    assert_int_equal(step_status[4], HS_OK);
    assert_int_equal(status[0], HS_EPERM);
    assert_int_equal(when[0], HS_MSEC);
    assert_int_equal(word[0], 100);
    assert_int_equal(word[1], 2);           /* only one word delivered */
}

/* ---- the end of a visited process */

static int mortal_server(void *arg)
{
    (void)arg;
    hs_port_t p = 0;
    EXPECT_ST(hs_port_create_named("mortal", &p), HS_OK);
    EXPECT_ST(hs_port_set_handler(p, keeper_handler, NULL), HS_OK);
    tu_sleep_until(5 * HS_MSEC);
    hs_proc_exit(3);
}

static int mortal_caller(void *arg)
{
    int i = tu_arg_id(arg);
    status[i] = hs_hop_call(find("mortal"), 1, &word[i]);
    when[i] = hs_time_now();
    return 0;
}

static int mortal_client(void *arg)
{
    (void)arg;
    hs_tid_t t[3] = { 0 };
    for (int i = 0; i < 3; i++)
        EXPECT_ST(hs_thread_create(mortal_caller, tu_id_arg(i), NULL, &t[i]),
                  HS_OK);
    for (int i = 0; i < 3; i++)
        EXPECT_ST(hs_thread_join(t[i], HS_NEVER, NULL), HS_OK);
    tu_sleep_until(6 * HS_MSEC);
    when[4] = hs_time_now();                /* the client lives on */
    return 0;
}

static void test_server_exit_resumes_every_kept_checkpoint_with_epartner(
    void **state)
{
    (void)state;
    keeper_setup(NULL);
    spawn_root("server", mortal_server, NULL);
    spawn_root("client", mortal_client, NULL);
    assert_int_equal(hs_sim_run(), HS_OK);
    assert_no_bad_status();
    assert_int_equal(arrivals[0], 3);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(status[i], HS_EPARTNER);
        assert_int_equal(when[i], 5 * HS_MSEC);
        assert_int_equal(word[i], 0xbad);
    }
    assert_int_equal(when[4], 6 * HS_MSEC);
}

/* Sleeps 10 ms; its process ends meanwhile. */
static void doomed_handler(hs_hop_t *hop, void *cookie)
{
    (void)hop;
    (void)cookie;
    arrivals[0]++;
    hs_status st = hs_thread_sleep(10 * HS_MSEC);
    must_not_run = 1 + (int)st;
}

static int dying_server(void *arg)
{
    (void)arg;
    hs_port_t p = 0;
    EXPECT_ST(hs_port_create_named("dying", &p), HS_OK);
    EXPECT_ST(hs_port_set_handler(p, doomed_handler, NULL), HS_OK);
    tu_sleep_until(2 * HS_MSEC);
    hs_proc_exit(4);
}

static int visit_dying(void *arg)
{
    (void)arg;
    pid_seen[0] = hs_proc_self();
    status[0] = hs_hop_call(find("dying"), 1, &word[0]);
    when[0] = hs_time_now();
    pid_seen[1] = hs_proc_self();
    tu_sleep_until(3 * HS_MSEC);
    when[1] = hs_time_now();
    return 0;
}

static void test_visitor_in_dying_process_unwinds_with_epartner(
    void **state)
{
    (void)state;
    start(NULL);
    spawn_root("server", dying_server, NULL);
    spawn_root("client", visit_dying, NULL);
    assert_int_equal(hs_sim_run(), HS_OK);
    assert_no_bad_status();
    assert_int_equal(arrivals[0], 1);
    assert_int_equal(must_not_run, 0);
    assert_int_equal(status[0], HS_EPARTNER);
    assert_int_equal(when[0], 2 * HS_MSEC);
    assert_true(pid_seen[1] == pid_seen[0]);
    assert_int_equal(when[1], 3 * HS_MSEC);
    /* The handler's 10 ms sleep ended with its process. */
    assert_int_equal(tu_summary().vtime, 3 * HS_MSEC);
}

static void exiting_handler(hs_hop_t *hop, void *cookie)
{
    (void)hop;
    (void)cookie;
    arrivals[0]++;
    hs_proc_exit(5);
}

static int victim_main(void *arg)
{
    (void)arg;
    hs_port_t p = 0;
    EXPECT_ST(hs_port_create_named("victim", &p), HS_OK);
    EXPECT_ST(hs_port_set_handler(p, exiting_handler, NULL), HS_OK);
    return serve_forever();
}

static int visit_and_exit(void *arg)
{
    (void)arg;
    hs_pid_t child = 0;
    hs_port_t again = 0;
    int exit_status = -1;
    pid_seen[0] = hs_proc_self();
    EXPECT_ST(hs_proc_spawn("victim", victim_main, NULL, NULL, &child),
              HS_OK);
    status[0] = hs_hop_call(find("victim"), 1, &word[0]);
    pid_seen[1] = hs_proc_self();
    EXPECT_ST(hs_proc_wait(child, HS_NEVER, &exit_status), HS_OK);
    word[1] = (uint64_t)exit_status;
    EXPECT_ST(hs_port_lookup("victim", HS_NOWAIT, &again), HS_ETIMEOUT);
    tu_sleep_until(HS_MSEC);
    when[0] = hs_time_now();
    return 0;
}

static void test_visitor_calling_proc_exit_ends_the_visited_process(
    void **state)
{
    (void)state;
    start(NULL);
    spawn_root("client", visit_and_exit, NULL);
    assert_int_equal(hs_sim_run(), HS_OK);
    assert_no_bad_status();
    assert_int_equal(arrivals[0], 1);
    assert_int_equal(status[0], HS_EPARTNER);
    assert_int_equal(word[0], 0xbad);
    assert_true(pid_seen[1] == pid_seen[0]);
    assert_int_equal(word[1], 5);           /* the visited process's exit */
    assert_int_equal(when[0], HS_MSEC);     /* the caller's process lives */
}

/* ---- async hops */

static void async_handler(hs_hop_t *hop, void *cookie)
{
    (void)cookie;
    int n = arrivals[0]++;
    tu_log_add(&order, 2);
    if (n == 0) {
        pid_seen[1] = hs_proc_self();
        pid_seen[2] = hs_hop_source(hop);
        tid_seen[1] = hs_thread_self();
        for (int i = 0; i < 3; i++)
            word[i] = hs_mr(hop, (unsigned)i);
        hs_utcb()->mr[1] = 999;             /* its own copy */
    }
    EXPECT_ST(hs_thread_sleep(3 * HS_MSEC), HS_OK);
    when[n] = hs_time_now();
    tu_log_add(&order, 3);
}

static struct server async_srv = {
    .port_name = "async", .handler = async_handler,
};

static int async_client(void *arg)
{
    (void)arg;
    hs_port_t p = find("async");
    hs_utcb_t *u = hs_utcb();
    hs_tid_t again = 0;
    pid_seen[0] = hs_proc_self();
    tid_seen[0] = hs_thread_self();
    u->mr[0] = 7;
    u->mr[1] = 8;
    u->mr[2] = 9;
    status[0] = hs_hop_async(p, &tid_seen[2]);
    tu_log_add(&order, 1);
    when[4] = hs_time_now();
    u->mr[0] = 1234;                        /* after the copy was made */
    tu_sleep_until(HS_MSEC);
    tu_log_add(&order, 4);
    word[3] = u->mr[1];
    status[1] = hs_hop_async(p, &again);    /* the first still runs */
    tid_seen[3] = again;
    /* The new thread is the receiver's, not ours to join. */
    status[2] = hs_thread_join(tid_seen[2], HS_NOWAIT, NULL);
    tu_log_add(&order, 5);
    return 0;
}

static void test_async_hop_starts_receiver_thread_and_returns_at_once(
    void **state)
{
    (void)state;
    start(NULL);
    /* The server may hold two threads: its serving main and one async
     * thread; the client only its main, so the new thread cannot be the
     * client's. */
    hs_proc_attr server_attr = { .max_threads = 2 };
    hs_proc_attr client_attr = { .max_threads = 1 };
    async_srv.pid = async_srv.port = 0;
    assert_int_equal(hs_proc_spawn("server", server_main, &async_srv,
                                   &server_attr, NULL), HS_OK);
    assert_int_equal(hs_proc_spawn("client", async_client, NULL,
                                   &client_attr, NULL), HS_OK);
    assert_int_equal(hs_sim_run(), HS_OK);
    assert_no_bad_status();
    assert_int_equal(status[0], HS_OK);
    assert_int_equal(when[4], 0);
    assert_true(tid_seen[2] != 0 && tid_seen[2] != tid_seen[0]);
    assert_true(tid_seen[1] == tid_seen[2]);
    assert_true(pid_seen[1] == async_srv.pid);
    assert_true(pid_seen[2] == pid_seen[0]);
    assert_int_equal(word[0], 7);           /* a copy taken at the hop */
    assert_int_equal(word[1], 8);
    assert_int_equal(word[2], 9);
    assert_int_equal(word[3], 8);           /* the handler's write stayed */
    assert_int_equal(when[0], 3 * HS_MSEC);
    assert_int_equal(status[1], HS_ELIMIT);
    assert_int_equal(tid_seen[3], 0);
    assert_int_equal(status[2], HS_EPERM);
    assert_int_equal(arrivals[0], 1);
    /* The caller went on at once; the handler ran when it slept. */
    static const int want[] = { 1, 2, 4, 5, 3 };
    assert_log(&order, want, 5);
}

/* Three async hops, each after the previous handler has returned. */
static int serial_async_client(void *arg)
{
    (void)arg;
    hs_port_t p = find("async");
    for (int i = 0; i < 3; i++) {
        tu_sleep_until((hs_time_t)i * 5 * HS_MSEC);
        status[i] = hs_hop_async(p, NULL);
    }
    return 0;
}

static void test_async_hop_thread_frees_its_receiver_slot_when_it_ends(
    void **state)
{
    (void)state;
    start(NULL);
    /* Room for the serving main and one async thread at a time.  Nobody
     * joins an async thread (the caller may not, and the receiver is not
     * given its handle), so one that has ended must not hold the slot. */
    hs_proc_attr server_attr = { .max_threads = 2 };
    async_srv.pid = async_srv.port = 0;
    assert_int_equal(hs_proc_spawn("server", server_main, &async_srv,
                                   &server_attr, NULL), HS_OK);
    spawn_root("client", serial_async_client, NULL);
    assert_int_equal(hs_sim_run(), HS_OK);
    assert_no_bad_status();
    assert_int_equal(status[0], HS_OK);
    assert_int_equal(status[1], HS_OK);
    assert_int_equal(status[2], HS_OK);
    assert_int_equal(arrivals[0], 3);
    assert_int_equal(when[2], 13 * HS_MSEC);
}

/* ---- many hops */

#define MANY_HOPS 100000

static int many_hops_client(void *arg)
{
    (void)arg;
    hs_port_t p = find("echo");
    uint64_t reply = 0;
    int good = 0;
    for (int i = 0; i < MANY_HOPS; i++) {
        hs_status st = hs_hop_call(p, (uint64_t)i, &reply);
        if (st == HS_OK && reply == (uint64_t)i + 1)
            good++;
        else
            EXPECT_ST(st, HS_OK);
    }
    word[0] = (uint64_t)good;
    word[1] = reply;
    return 0;
}

static void test_hundred_thousand_hops_return_every_reply(void **state)
{
    (void)state;
    start(NULL);
    spawn_server("server", &echo_srv);
    spawn_root("client", many_hops_client, NULL);
    assert_int_equal(hs_sim_run(), HS_OK);
    assert_no_bad_status();
    assert_int_equal(word[0], MANY_HOPS);
    assert_int_equal(word[1], MANY_HOPS);
    assert_int_equal(arrivals[0], MANY_HOPS);
    hs_sim_summary s = tu_summary();
    assert_int_equal(s.threads_created, 2);
}

/* ---- backtraces and panics across hops */

#define BT_LINES 256

static char bt_text[BT_LINES][200];
static int bt_count;

static void collect_line(void *cookie, const char *text)
{
    (void)cookie;
    if (bt_count < BT_LINES)
        snprintf(bt_text[bt_count], sizeof bt_text[0], "%s", text);
    bt_count++;
}

static __attribute__((noinline)) void bt_deep_handler(hs_hop_t *hop,
                                                      void *cookie)
{
    (void)hop;
    (void)cookie;
    EXPECT_ST(hs_hop_backtrace(collect_line, NULL), HS_OK);
    EXPECT_ST(hs_hop_backtrace(NULL, NULL), HS_EINVAL);
    hs_utcb()->mr[0] += 1;
}

static __attribute__((noinline)) void bt_mid_handler(hs_hop_t *hop,
                                                     void *cookie)
{
    (void)hop;
    (void)cookie;
    EXPECT_ST(hs_hop(find("deep"), HS_HOP_CHECKPOINT, HS_NEVER), HS_OK);
    hs_utcb()->mr[0] += 1;
}

static struct server bt_mid = { .port_name = "mid", .handler = bt_mid_handler };
static struct server bt_deep = {
    .port_name = "deep", .handler = bt_deep_handler,
};

static __attribute__((noinline)) int bt_client_main(void *arg)
{
    (void)arg;
    EXPECT_ST(hs_hop_call(find("mid"), 0, &word[0]), HS_OK);
    return (int)word[0] - 2;
}

/* Index of the first line from `from` containing needle, or -1. */
static int bt_find(const char *needle, int from)
{
    int n = bt_count < BT_LINES ? bt_count : BT_LINES;
    for (int i = from < 0 ? 0 : from; i < n; i++)
        if (strstr(bt_text[i], needle))
            return i;
    return -1;
}

static void print_backtrace(void)
{
    for (int i = 0; i < bt_count && i < BT_LINES; i++)
        print_message("  %s\n", bt_text[i]);
}

static void test_backtrace_across_hops_names_every_process_in_order(
    void **state)
{
    (void)state;
    bt_count = 0;
    start(NULL);
    spawn_server("bt-mid", &bt_mid);
    spawn_server("bt-deep", &bt_deep);
    spawn_root("bt-client", bt_client_main, NULL);
    assert_int_equal(hs_sim_run(), HS_OK);
    assert_no_bad_status();
    assert_int_equal(word[0], 2);
    int inner = bt_find("--- hop from bt-mid via", 0);
    int outer = bt_find("--- hop from bt-client via", 0);
    if (inner < 0 || outer < 0 || inner > outer)
        print_backtrace();
    assert_true(inner >= 0);
    assert_true(outer > inner);             /* innermost hop first */
    assert_int_equal(bt_find("--- hop from", outer + 1), -1);
    assert_int_equal(bt_find("--- hop from", inner + 1), outer);
    /* Each level's frames, between the hop lines. */
    int f_deep = bt_find("bt_deep_handler", 0);
    int f_mid = bt_find("bt_mid_handler", inner);
    int f_client = bt_find("bt_client_main", outer);
    if (f_deep < 0 || f_mid < 0 || f_client < 0)
        print_backtrace();
    assert_true(f_deep >= 0 && f_deep < inner);
    assert_true(f_mid > inner && f_mid < outer);
    assert_true(f_client > outer);
}

/* Whether some line of the backtrace has needle. */
static int bt_has(const char *needle)
{
    return bt_find(needle, 0) >= 0;
}

/* Each of the program's frames names its source line (addr2line comes
 * with gcc), and none of the kernel's or the platform's own frames is
 * printed: of those, only the public call the program made, at the top
 * of each level. */
static void test_backtrace_shows_source_lines_and_no_kernel_frames(
    void **state)
{
    (void)state;
    bt_count = 0;
    start(NULL);
    spawn_server("bt-mid", &bt_mid);
    spawn_server("bt-deep", &bt_deep);
    spawn_root("bt-client", bt_client_main, NULL);
    assert_int_equal(hs_sim_run(), HS_OK);
    assert_no_bad_status();
    int ok = bt_has(" bt_deep_handler+0x") && bt_has(" bt_mid_handler+0x") &&
             bt_has(" bt_client_main+0x");
    /* The frames of the program each have a line of this file. */
    for (int i = 0; i < bt_count && i < BT_LINES; i++)
        if (strstr(bt_text[i], " bt_") && !strstr(bt_text[i], " at tests/"
                                                  "test_hop.c:"))
            ok = 0;
    /* The first frame is the call hs_hop_backtrace, with its line. */
    ok = ok && strncmp(bt_text[0], "#0 0x", 5) == 0 &&
         strstr(bt_text[0], " hs_hop_backtrace+0x") &&
         strstr(bt_text[0], " at ports/hop.c:");
    /* Nothing from inside: not the kernel's functions, not the platform's
     * context entry, not the unwinder's caller. */
    static const char *const inside[] = {
        " hop_backtrace+", " plat_backtrace_here+", " level_start+",
        " sim_ctx_start_fast+", " thread_start+", " sched_", " at sim/",
    };
    for (size_t i = 0; i < sizeof inside / sizeof inside[0]; i++)
        if (bt_has(inside[i]))
            ok = 0;
    /* A kernel frame printed is a public call (hs_...) only. */
    static const char *const kernel[] = {
        " at kern/", " at core/", " at notify/", " at mem/", " at ports/",
        " at observe/", " at run/",
    };
    for (int i = 0; i < bt_count && i < BT_LINES; i++)
        for (size_t j = 0; j < sizeof kernel / sizeof kernel[0]; j++)
            if (strstr(bt_text[i], kernel[j]) && !strstr(bt_text[i], " hs_"))
                ok = 0;
    if (!ok)
        print_backtrace();
    assert_true(ok);
}

static void ov_deep_handler(hs_hop_t *hop, void *cookie)
{
    (void)hop;
    (void)cookie;
    volatile char seed = 0;
    int r = tu_dive(10000, &seed);
    must_not_run = 1 + (r & 1);
}

static void ov_mid_handler(hs_hop_t *hop, void *cookie)
{
    (void)hop;
    (void)cookie;
    EXPECT_ST(hs_hop(find("ov-deep"), HS_HOP_CHECKPOINT, HS_NEVER), HS_OK);
    must_not_run = 10;
}

static struct server ov_mid = {
    .port_name = "ov-mid", .handler = ov_mid_handler,
};
static struct server ov_deep = {
    .port_name = "ov-deep", .handler = ov_deep_handler, .stacks = 2,
};

static int ov_client(void *arg)
{
    (void)arg;
    EXPECT_ST(hs_hop_call(find("ov-mid"), 0, NULL), HS_OK);
    must_not_run = 20;
    return 0;
}

/* Skipped where a guard-page fault cannot be provoked: under Valgrind or
 * ASan (see tu_guard_faults_testable()). */
static void test_stack_overflow_in_nested_handler_panics_with_hop_report(
    void **state)
{
    (void)state;
    if (!tu_guard_faults_testable())
        skip();
    start(NULL);
    spawn_server("ov-mid-proc", &ov_mid);
    spawn_server("ov-deep-proc", &ov_deep);
    spawn_root("ov-client-proc", ov_client, NULL);
    assert_int_equal(hs_sim_run(), HS_EPANIC);
    assert_int_equal(must_not_run, 0);
    assert_int_equal(tu_summary().status, HS_EPANIC);
    assert_report_has("stack overflow");
    assert_report_has("--- hop from ov-mid-proc via");
    assert_report_has("--- hop from ov-client-proc via");
    const char *r = hs_sim_report();
    assert_true(strstr(r, "--- hop from ov-mid-proc via") <
                strstr(r, "--- hop from ov-client-proc via"));
}

/* ---- status names */

static void test_strerror_names_every_hop_status(void **state)
{
    (void)state;
    static const struct {
        hs_status st;
        const char *name;
    } names[] = {
        { HS_EEXIST, "HS_EEXIST" },
        { HS_ENOPORT, "HS_ENOPORT" },
        { HS_ECLOSED, "HS_ECLOSED" },
        { HS_ENOHANDLER, "HS_ENOHANDLER" },
        { HS_ENOSTACK, "HS_ENOSTACK" },
        { HS_EDEPTH, "HS_EDEPTH" },
        { HS_EPARTNER, "HS_EPARTNER" },
        { HS_ESTALE, "HS_ESTALE" },
    };
    size_t n = sizeof names / sizeof names[0];
    assert_int_equal(n, HS_ESTALE - HS_EEXIST + 1);
    for (size_t i = 0; i < n; i++) {
        const char *s = hs_strerror(names[i].st);
        size_t len = strlen(names[i].name);
        assert_non_null(s);
        if (strncmp(s, names[i].name, len) != 0 ||
            (s[len] != ' ' && s[len] != '\0'))
            fail_msg("hs_strerror(%d) is \"%s\", want \"%s ...\"",
                     (int)names[i].st, s, names[i].name);
    }
    /* Every status, whatever module added it, has a name of its own. */
    for (int a = 0; a < HS_STATUS_COUNT; a++) {
        const char *s = hs_strerror((hs_status)a);
        assert_true(strncmp(s, "HS_E?", 5) != 0);
        size_t len = strcspn(s, " ");
        for (int b = 0; b < a; b++) {
            const char *o = hs_strerror((hs_status)b);
            assert_false(strcspn(o, " ") == len && strncmp(o, s, len) == 0);
        }
    }
    assert_true(strncmp(hs_strerror(HS_STATUS_COUNT), "HS_E?", 5) == 0);
}

/* ---- a hop pointer kept past its handler */

static const hs_hop_t *stale_hop;

static void keep_pointer_handler(hs_hop_t *hop, void *cookie)
{
    (void)cookie;
    if (hs_mr(hop, 0) == 111)
        stale_hop = hop;        /* kept past the return: a mistake */
    else
        hs_thread_sleep(2 * HS_MSEC);   /* the second visit lingers */
}

/* The server's main thread reads through the stale pointer while a
 * second client of another process is in the handler. */
static int stale_server(void *arg)
{
    (void)arg;
    hs_port_t p;
    EXPECT_ST(hs_port_create_named("stale", &p), HS_OK);
    EXPECT_ST(hs_port_set_handler(p, keep_pointer_handler, NULL), HS_OK);
    EXPECT_ST(hs_thread_sleep(3 * HS_MSEC), HS_OK);
    word[2] = hs_mr(stale_hop, 0);
    pid_seen[2] = hs_hop_source(stale_hop);
    port_seen[2] = hs_hop_port(stale_hop);
    return hs_proc_serve();
}

static int stale_client(void *arg)
{
    hs_port_t p;
    int id = tu_arg_id(arg);
    EXPECT_ST(hs_thread_sleep((hs_time_t)id * HS_MSEC), HS_OK);
    EXPECT_ST(hs_port_lookup("stale", HS_NEVER, &p), HS_OK);
    pid_seen[id] = hs_proc_self();
    hs_utcb()->mr[0] = id == 1 ? 111 : 222;
    status[id] = hs_hop(p, HS_HOP_CHECKPOINT, HS_NEVER);
    return 0;
}

static int stale_root(void *arg)
{
    (void)arg;
    EXPECT_ST(hs_proc_spawn("server", stale_server, NULL, NULL, NULL), HS_OK);
    EXPECT_ST(hs_proc_spawn("c1", stale_client, tu_id_arg(1), NULL, NULL),
              HS_OK);
    EXPECT_ST(hs_proc_spawn("c2", stale_client, tu_id_arg(2), NULL, NULL),
              HS_OK);
    return 0;
}

/* A handler's hop pointer names its running hop only: kept and used
 * later, while another process's hop runs in the same level, it reads
 * nothing of that hop (the registers and the source are the other
 * process's). */
static void test_stale_hop_pointer_reads_nothing_of_a_later_hop(void **state)
{
    (void)state;
    reset();
    stale_hop = NULL;
    word[2] = 99;
    assert_int_equal(tu_run_default("root", stale_root, NULL), HS_OK);
    assert_no_bad_status();
    assert_int_equal(status[1], HS_OK);
    assert_int_equal(status[2], HS_OK);
    assert_non_null(stale_hop);
    assert_int_equal(word[2], 0);
    assert_int_equal(pid_seen[2], 0);
    assert_int_equal(port_seen[2], 0);
}

/* ---- resuming with no words */

static hs_checkpoint_t kept_cp;

static void keep_it(hs_hop_t *hop, void *cookie)
{
    (void)cookie;
    EXPECT_ST(hs_hop_keep(hop, &kept_cp), HS_OK);
}

static int resumer(void *arg)
{
    (void)arg;
    EXPECT_ST(hs_thread_sleep(HS_MSEC), HS_OK);
    status[1] = hs_checkpoint_resume(kept_cp, HS_OK, NULL, 0);
    return 0;
}

static int nowords_server(void *arg)
{
    (void)arg;
    hs_port_t p;
    hs_tid_t r;
    EXPECT_ST(hs_port_create_named("nowords", &p), HS_OK);
    EXPECT_ST(hs_port_set_handler(p, keep_it, NULL), HS_OK);
    EXPECT_ST(hs_thread_create(resumer, NULL, NULL, &r), HS_OK);
    return hs_proc_serve();
}

static int nowords_client(void *arg)
{
    (void)arg;
    hs_port_t p;
    EXPECT_ST(hs_port_lookup("nowords", HS_NEVER, &p), HS_OK);
    hs_utcb()->mr[0] = 77;
    status[0] = hs_hop(p, HS_HOP_CHECKPOINT, HS_NEVER);
    word[0] = hs_utcb()->mr[0];
    return 0;
}

static int nowords_root(void *arg)
{
    (void)arg;
    EXPECT_ST(hs_proc_spawn("server", nowords_server, NULL, NULL, NULL),
              HS_OK);
    EXPECT_ST(hs_proc_spawn("client", nowords_client, NULL, NULL, NULL),
              HS_OK);
    return 0;
}

/* words may be NULL when n is 0 (the caller's registers stay as they
 * are); under UBSan a copy from NULL would stop the run. */
static void test_resume_with_no_words_keeps_callers_registers(void **state)
{
    (void)state;
    reset();
    assert_int_equal(tu_run_default("root", nowords_root, NULL), HS_OK);
    assert_no_bad_status();
    assert_int_equal(status[0], HS_OK);
    assert_int_equal(status[1], HS_OK);
    assert_int_equal(word[0], 77);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        TU_TEST(test_hop_call_echo_round_trip),
        TU_TEST(test_handler_runs_in_receiver_as_the_calling_thread),
        TU_TEST(
            test_message_registers_travel_with_the_thread_uncopied),
        TU_TEST(test_chain_of_five_processes_lists_every_level),
        TU_TEST(
            test_nested_hop_back_into_a_visited_process_is_legal),
        TU_TEST(
            test_hop_past_max_depth_is_edepth_and_changes_nothing),
        TU_TEST(test_hop_without_handler_fails_and_caller_continues),
        TU_TEST(test_hop_via_invalid_handle_is_enoport),
        TU_TEST(test_hop_with_bad_flags_or_timeout_is_einval),
        TU_TEST(
            test_one_way_hop_continues_in_handler_and_ends_thread),
        TU_TEST(
            test_second_concurrent_hop_without_free_stack_is_enostack),
        TU_TEST(
            test_stack_allocator_grants_more_stacks_then_refuses),
        TU_TEST(
            test_kept_checkpoint_is_resumed_later_by_worker_thread),
        TU_TEST(test_resume_of_unknown_checkpoint_is_estale),
        TU_TEST(test_resume_from_another_process_is_eperm),
        TU_TEST(
            test_resume_before_keeping_handler_returns_is_estate),
        TU_TEST(
            test_caller_timeout_while_checkpoint_kept_is_etimeout),
        TU_TEST(
            test_kept_checkpoint_times_out_from_the_hop_not_the_keep),
        TU_TEST(
            test_kept_checkpoint_past_its_deadline_times_out_at_return),
        TU_TEST(test_checkpoint_has_a_fresh_handle_only_once_kept),
        TU_TEST(test_hop_return_event_names_a_checkpoint_only_if_kept),
        TU_TEST(
            test_kept_checkpoint_of_a_running_handler_unwinds_at_proc_end),
        TU_TEST(test_keeping_a_checkpoint_twice_is_ejoined),
        TU_TEST(test_keep_on_one_way_hop_is_einval),
        TU_TEST(test_resume_with_custom_status_is_returned_by_hop),
        TU_TEST(
            test_server_exit_resumes_every_kept_checkpoint_with_epartner),
        TU_TEST(
            test_visitor_in_dying_process_unwinds_with_epartner),
        TU_TEST(
            test_visitor_calling_proc_exit_ends_the_visited_process),
        TU_TEST(
            test_async_hop_starts_receiver_thread_and_returns_at_once),
        TU_TEST(
            test_async_hop_thread_frees_its_receiver_slot_when_it_ends),
        TU_TEST(test_hundred_thousand_hops_return_every_reply),
        TU_TEST(
            test_backtrace_across_hops_names_every_process_in_order),
        TU_TEST(test_backtrace_shows_source_lines_and_no_kernel_frames),
        TU_TEST(
            test_stack_overflow_in_nested_handler_panics_with_hop_report),
        TU_TEST(test_strerror_names_every_hop_status),
        TU_TEST(test_stale_hop_pointer_reads_nothing_of_a_later_hop),
        TU_TEST(test_resume_with_no_words_keeps_callers_registers),
    };
    return cmocka_run_group_tests_name("hop", tests, NULL, NULL);
}
