/*
 * tests/test_port.c - ports: named ports and lookup (waiting, timing out,
 * bad names, duplicates), what happens when a port closes or its owner
 * ends, ownership, the anonymous ports made at spawn, and a session port
 * a handler creates and hands back in a reply; the registry's hash (how
 * names spread over buckets) and names that share a hash.
 *
 * Servers are processes that create a port, set its handler and then
 * serve with hs_proc_serve(); the run ends normally once only serving
 * threads remain.  Simulated threads and handlers record what they saw in
 * the statics below and the test asserts after hs_sim_run().
 */
#include "testutil.h"

#include "ports/registry.h"

static void *ns_arg(hs_time_t ns)
{
    return (void *)(uintptr_t)ns;
}

static hs_time_t arg_ns(void *arg)
{
    return (hs_time_t)(uintptr_t)arg;
}

static hs_time_t when[8];
static uint64_t word[8];
static hs_port_t port_seen[8];
static hs_pid_t pid_seen[8];
static int arrivals;

static void reset(void)
{
    for (int i = 0; i < 8; i++) {
        when[i] = HS_NEVER;
        word[i] = 0xbad;
        port_seen[i] = 0;
        pid_seen[i] = 0;
    }
    arrivals = 0;
}

/* Start a simulation with cfg (NULL: the test defaults); roots are then
 * spawned with spawn_root() and the test calls hs_sim_run(). */
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

/* Replies mr[0] + cookie, so each port's handler can be told apart. */
static void adder(hs_hop_t *hop, void *cookie)
{
    arrivals++;
    hs_utcb()->mr[0] = hs_mr(hop, 0) + (uint64_t)(uintptr_t)cookie;
}

/* A server: creates the named port arg, handler adder(+1), serves. */
static int named_server(void *arg)
{
    EXPECT_ST(hs_port_create_named(arg, &port_seen[0]), HS_OK);
    EXPECT_ST(hs_port_set_handler(port_seen[0], adder, tu_id_arg(1)), HS_OK);
    return serve_forever();
}

/* ---- a named port with its handler in one step */

#define RACE_SEEDS 200

static hs_status race_hop[RACE_SEEDS], bad_create[3];

static int one_step_server(void *arg)
{
    (void)arg;
    EXPECT_ST(hs_port_create_named_handler("echo", adder, tu_id_arg(1),
                                           &port_seen[0]), HS_OK);
    return serve_forever();
}

static int racing_client(void *arg)
{
    hs_port_t p = 0;
    EXPECT_ST(hs_port_lookup("echo", HS_NEVER, &p), HS_OK);
    race_hop[tu_arg_id(arg)] = hs_hop_call(p, 41, &word[0]);
    return 0;
}

/* Whatever order a seed runs the two in, the client that finds the name
 * finds its handler: a two-step create and set fails under some seeds. */
static void test_named_port_with_handler_is_never_found_without_it(
    void **state)
{
    (void)state;
    for (int s = 0; s < RACE_SEEDS; s++) {
        hs_sim_config cfg = tu_config();
        cfg.seed = (uint64_t)s + 1;
        start(&cfg);
        spawn_root("server", one_step_server, NULL);
        spawn_root("client", racing_client, tu_id_arg(s));
        assert_int_equal(hs_sim_run(), HS_OK);
        assert_int_equal(race_hop[s], HS_OK);
        assert_int_equal(word[0], 42);
    }
}

static int bad_one_step(void *arg)
{
    (void)arg;
    hs_port_t p = 0;
    bad_create[0] = hs_port_create_named_handler("echo", NULL, NULL, &p);
    bad_create[1] = hs_port_create_named_handler("echo", adder, NULL, NULL);
    bad_create[2] = hs_port_lookup("echo", HS_NOWAIT, &p);  /* none made */
    return 0;
}

static void test_named_port_with_null_handler_is_einval_and_makes_nothing(
    void **state)
{
    (void)state;
    tu_run_one(NULL, "main", bad_one_step, NULL, NULL);
    assert_int_equal(bad_create[0], HS_EINVAL);
    assert_int_equal(bad_create[1], HS_EINVAL);
    assert_int_equal(bad_create[2], HS_ETIMEOUT);
}

/* ---- named ports and lookup */

static int lookup_three_ways(void *arg)
{
    EXPECT_ST(hs_port_lookup(arg, HS_NOWAIT, &port_seen[1]), HS_OK);
    EXPECT_ST(hs_port_lookup(arg, HS_NEVER, &port_seen[2]), HS_OK);
    EXPECT_ST(hs_port_lookup(arg, 5 * HS_MSEC, &port_seen[3]), HS_OK);
    EXPECT_ST(hs_hop_call(port_seen[1], 41, &word[0]), HS_OK);
    when[0] = hs_time_now();
    return 0;
}

static void test_named_port_is_found_by_lookup(void **state)
{
    (void)state;
    start(NULL);
    spawn_root("server", named_server, "svc");
    spawn_root("client", lookup_three_ways, "svc");
    assert_int_equal(hs_sim_run(), HS_OK);
    assert_no_bad_status();
    assert_true(port_seen[0] != 0);
    assert_true(port_seen[1] == port_seen[0]);
    assert_true(port_seen[2] == port_seen[0]);
    assert_true(port_seen[3] == port_seen[0]);
    assert_int_equal(word[0], 42);
    assert_int_equal(when[0], 0);           /* nothing waited */
    assert_int_equal(arrivals, 1);
}

/* Creates the named port "late" at 3 ms, then serves. */
static int late_server(void *arg)
{
    (void)arg;
    tu_sleep_until(3 * HS_MSEC);
    return named_server("late");
}

/* Looks "late" up with timeout arg, notes when it woke, hops through. */
static int lookup_late(void *arg)
{
    EXPECT_ST(hs_port_lookup("late", arg_ns(arg), &port_seen[1]), HS_OK);
    when[0] = hs_time_now();
    EXPECT_ST(hs_hop_call(port_seen[1], 41, &word[0]), HS_OK);
    return 0;
}

static void run_late_lookup(hs_time_t timeout)
{
    start(NULL);
    /* The client runs first and waits for the name. */
    spawn_root("client", lookup_late, ns_arg(timeout));
    spawn_root("server", late_server, NULL);
    assert_int_equal(hs_sim_run(), HS_OK);
    assert_no_bad_status();
    assert_true(port_seen[0] != 0);
    assert_true(port_seen[1] == port_seen[0]);
    assert_int_equal(when[0], 3 * HS_MSEC);
    assert_int_equal(word[0], 42);
}

static void test_lookup_without_timeout_wakes_when_name_is_created(
    void **state)
{
    (void)state;
    run_late_lookup(HS_NEVER);
}

static void test_lookup_with_timeout_wakes_when_name_is_created_in_time(
    void **state)
{
    (void)state;
    run_late_lookup(10 * HS_MSEC);
    /* The lookup's 10 ms timer went with the wake: the run ended at 3 ms. */
    assert_int_equal(tu_summary().vtime, 3 * HS_MSEC);
}

static int lookup_absent_for_2ms(void *arg)
{
    (void)arg;
    port_seen[1] = 0x1234;
    tu_sleep_until(HS_MSEC);
    EXPECT_ST(hs_port_lookup("absent", 2 * HS_MSEC, &port_seen[1]),
              HS_ETIMEOUT);
    when[0] = hs_time_now();
    return 0;
}

static void test_lookup_times_out_at_exact_virtual_time(void **state)
{
    (void)state;
    start(NULL);
    spawn_root("client", lookup_absent_for_2ms, NULL);
    /* A name that exists does not satisfy a lookup of another. */
    spawn_root("server", named_server, "present");
    assert_int_equal(hs_sim_run(), HS_OK);
    assert_no_bad_status();
    assert_int_equal(when[0], 3 * HS_MSEC);
}

static int lookup_absent_nowait(void *arg)
{
    (void)arg;
    EXPECT_ST(hs_port_lookup("absent", HS_NOWAIT, &port_seen[1]),
              HS_ETIMEOUT);
    when[0] = hs_time_now();
    return 0;
}

static void test_lookup_nowait_of_missing_name_is_etimeout_at_once(
    void **state)
{
    (void)state;
    start(NULL);
    spawn_root("client", lookup_absent_nowait, NULL);
    assert_int_equal(hs_sim_run(), HS_OK);
    assert_no_bad_status();
    assert_int_equal(when[0], 0);
    assert_int_equal(tu_summary().vtime, 0);
}

/* ---- duplicate and bad names */

static int create_duplicate(void *arg)
{
    (void)arg;
    EXPECT_ST(hs_port_create_named("dup", &port_seen[1]), HS_EEXIST);
    EXPECT_ST(hs_port_lookup("dup", HS_NOWAIT, &port_seen[2]), HS_OK);
    EXPECT_ST(hs_hop_call(port_seen[2], 41, &word[0]), HS_OK);
    /* The refused creator is not broken: another name is fine. */
    EXPECT_ST(hs_port_create_named("dup2", &port_seen[3]), HS_OK);
    return 0;
}

static void test_duplicate_name_is_eexist_and_original_still_works(
    void **state)
{
    (void)state;
    start(NULL);
    spawn_root("server", named_server, "dup");
    spawn_root("intruder", create_duplicate, NULL);
    assert_int_equal(hs_sim_run(), HS_OK);
    assert_no_bad_status();
    assert_true(port_seen[0] != 0);
    assert_true(port_seen[2] == port_seen[0]);
    assert_int_equal(word[0], 42);          /* the original handler */
    assert_int_equal(arrivals, 1);
    assert_true(port_seen[3] != 0 && port_seen[3] != port_seen[0]);
}

static char name63[HS_PORT_NAME_MAX + 1];
static char name64[HS_PORT_NAME_MAX + 2];

static int bad_names(void *arg)
{
    (void)arg;
    hs_port_t p = 0;
    EXPECT_ST(hs_port_create_named("", &p), HS_EINVAL);
    EXPECT_ST(hs_port_create_named(NULL, &p), HS_EINVAL);
    EXPECT_ST(hs_port_create_named(name64, &p), HS_EINVAL);
    EXPECT_ST(hs_port_create_named("fine", NULL), HS_EINVAL);
    /* Refused at once, even with no timeout. */
    EXPECT_ST(hs_port_lookup("", HS_NEVER, &p), HS_EINVAL);
    EXPECT_ST(hs_port_lookup(NULL, HS_NEVER, &p), HS_EINVAL);
    EXPECT_ST(hs_port_lookup(name64, HS_NEVER, &p), HS_EINVAL);
    EXPECT_ST(hs_port_lookup("fine", HS_NEVER, NULL), HS_EINVAL);
    EXPECT_ST(hs_port_lookup("fine", HS_TIMEOUT_MAX + 1, &p), HS_EINVAL);
    when[0] = hs_time_now();
    /* Nothing was created, not even under the name cut to 63 bytes, nor
     * "fine" by the call without an out parameter. */
    EXPECT_ST(hs_port_lookup(name63, HS_NOWAIT, &p), HS_ETIMEOUT);
    EXPECT_ST(hs_port_lookup("fine", HS_NOWAIT, &p), HS_ETIMEOUT);
    /* The longest valid name works. */
    EXPECT_ST(hs_port_create_named(name63, &port_seen[0]), HS_OK);
    EXPECT_ST(hs_port_lookup(name63, HS_NOWAIT, &port_seen[1]), HS_OK);
    return 0;
}

static void test_empty_null_and_overlong_port_names_are_einval(void **state)
{
    (void)state;
    memset(name63, 'n', HS_PORT_NAME_MAX);
    name63[HS_PORT_NAME_MAX] = 0;
    memset(name64, 'n', HS_PORT_NAME_MAX + 1);
    name64[HS_PORT_NAME_MAX + 1] = 0;
    start(NULL);
    spawn_root("names", bad_names, NULL);
    assert_int_equal(hs_sim_run(), HS_OK);
    assert_no_bad_status();
    assert_int_equal(when[0], 0);
    assert_true(port_seen[0] != 0);
    assert_true(port_seen[1] == port_seen[0]);
}

static void test_port_calls_outside_a_simulated_thread_are_estate(
    void **state)
{
    (void)state;
    hs_port_t p = 0;
    start(NULL);
    assert_int_equal(hs_port_create(&p), HS_ESTATE);
    assert_int_equal(hs_port_create_named("x", &p), HS_ESTATE);
    assert_int_equal(hs_port_lookup("x", HS_NOWAIT, &p), HS_ESTATE);
    assert_int_equal(hs_port_to_parent(&p), HS_ESTATE);
    spawn_root("idle", named_server, "x");
    assert_int_equal(hs_sim_run(), HS_OK);
    assert_no_bad_status();
    assert_int_equal(hs_port_set_handler(port_seen[0], adder, NULL),
                     HS_ESTATE);
    assert_int_equal(hs_port_destroy(port_seen[0]), HS_ESTATE);
}

/* ---- when the owner ends, and closing */

/* Owns "short" for 1 ms, then returns: the process ends. */
static int short_server(void *arg)
{
    (void)arg;
    EXPECT_ST(hs_port_create_named("short", &port_seen[0]), HS_OK);
    EXPECT_ST(hs_port_set_handler(port_seen[0], adder, tu_id_arg(1)), HS_OK);
    tu_sleep_until(HS_MSEC);
    return 0;
}

static int outlive_short_server(void *arg)
{
    (void)arg;
    hs_port_t h = 0, again = 0;
    EXPECT_ST(hs_port_lookup("short", HS_NEVER, &h), HS_OK);
    port_seen[1] = h;
    EXPECT_ST(hs_hop_call(h, 1, &word[0]), HS_OK);
    tu_sleep_until(2 * HS_MSEC);
    EXPECT_ST(hs_port_lookup("short", HS_MSEC, &again), HS_ETIMEOUT);
    when[0] = hs_time_now();
    hs_utcb()->mr[0] = 5;
    EXPECT_ST(hs_hop(h, HS_HOP_CHECKPOINT, HS_NEVER), HS_ENOPORT);
    word[1] = hs_utcb()->mr[0];
    EXPECT_ST(hs_hop_call(h, 5, &word[2]), HS_ENOPORT);
    EXPECT_ST(hs_port_set_handler(h, adder, NULL), HS_ENOPORT);
    /* The name is free for anyone now. */
    EXPECT_ST(hs_port_create_named("short", &port_seen[2]), HS_OK);
    return 0;
}

static void test_named_port_disappears_when_owner_exits(void **state)
{
    (void)state;
    start(NULL);
    spawn_root("server", short_server, NULL);
    spawn_root("client", outlive_short_server, NULL);
    assert_int_equal(hs_sim_run(), HS_OK);
    assert_no_bad_status();
    assert_true(port_seen[1] == port_seen[0]);
    assert_int_equal(word[0], 2);
    assert_int_equal(when[0], 3 * HS_MSEC);
    assert_int_equal(word[1], 5);           /* the failed hop changed none */
    assert_int_equal(word[2], 0xbad);
    assert_int_equal(arrivals, 1);
    assert_true(port_seen[2] != 0);
}

/* Owns "closing" (+1) until 1 ms, closes it, creates "closing" again
 * (+100) at 2 ms and serves. */
static int closing_server(void *arg)
{
    (void)arg;
    EXPECT_ST(hs_port_create_named("closing", &port_seen[0]), HS_OK);
    EXPECT_ST(hs_port_set_handler(port_seen[0], adder, tu_id_arg(1)), HS_OK);
    tu_sleep_until(HS_MSEC);
    EXPECT_ST(hs_port_destroy(port_seen[0]), HS_OK);
    EXPECT_ST(hs_port_destroy(port_seen[0]), HS_ECLOSED);
    EXPECT_ST(hs_port_set_handler(port_seen[0], adder, tu_id_arg(7)),
              HS_ECLOSED);
    tu_sleep_until(2 * HS_MSEC);
    EXPECT_ST(hs_port_create_named("closing", &port_seen[1]), HS_OK);
    EXPECT_ST(hs_port_set_handler(port_seen[1], adder, tu_id_arg(100)), HS_OK);
    return serve_forever();
}

static int use_closing_port(void *arg)
{
    (void)arg;
    hs_port_t p = 0;
    EXPECT_ST(hs_port_lookup("closing", HS_NEVER, &port_seen[2]), HS_OK);
    EXPECT_ST(hs_hop_call(port_seen[2], 1, &word[0]), HS_OK);
    tu_sleep_until(HS_MSEC + 500 * HS_USEC);
    EXPECT_ST(hs_hop_call(port_seen[2], 1, &word[1]), HS_ECLOSED);
    EXPECT_ST(hs_port_lookup("closing", HS_NOWAIT, &p), HS_ETIMEOUT);
    EXPECT_ST(hs_port_lookup("closing", HS_NEVER, &port_seen[3]), HS_OK);
    when[0] = hs_time_now();
    EXPECT_ST(hs_hop_call(port_seen[3], 1, &word[2]), HS_OK);
    return 0;
}

static void test_closed_port_refuses_hops_and_frees_its_name(void **state)
{
    (void)state;
    start(NULL);
    spawn_root("server", closing_server, NULL);
    spawn_root("client", use_closing_port, NULL);
    assert_int_equal(hs_sim_run(), HS_OK);
    assert_no_bad_status();
    assert_true(port_seen[2] == port_seen[0]);
    assert_int_equal(word[0], 2);
    assert_int_equal(word[1], 0xbad);
    assert_int_equal(when[0], 2 * HS_MSEC);
    assert_true(port_seen[1] != 0 && port_seen[1] != port_seen[0]);
    assert_true(port_seen[3] == port_seen[1]);
    assert_int_equal(word[2], 101);         /* the new port's handler */
    assert_int_equal(arrivals, 2);
}

/* Creates arg ports, the last one's handle in port_seen[0], and tries a
 * handler on port_seen[1] (0: none), its status in word[0]. */
static int port_maker(void *arg)
{
    unsigned n = (unsigned)(uintptr_t)arg;
    for (unsigned i = 0; i < n; i++)
        EXPECT_ST(hs_port_create(&port_seen[0]), HS_OK);
    if (port_seen[1])
        word[0] = (uint64_t)hs_port_set_handler(port_seen[1], adder, NULL);
    return 0;
}

/* A pool's memory can come back from the host with the objects of an
 * earlier run still in it: a handle that was live then names no object
 * until its slot is allocated again, whatever the memory holds (under
 * make memcheck, a lookup that read a slot never written fails too). */
static void test_port_handle_of_an_earlier_run_names_nothing(void **state)
{
    (void)state;
    start(NULL);
    spawn_root("maker", port_maker, (void *)(uintptr_t)200);
    assert_int_equal(hs_sim_run(), HS_OK);
    assert_no_bad_status();
    hs_port_t old = port_seen[0];
    assert_true(old != 0);

    start(NULL);
    port_seen[1] = old;
    spawn_root("maker", port_maker, (void *)(uintptr_t)1);
    assert_int_equal(hs_sim_run(), HS_OK);
    assert_no_bad_status();
    assert_true(port_seen[0] != old);
    assert_int_equal(word[0], HS_ENOPORT);
}

/* Replies mr[0] + 1 after sleeping 2 ms. */
static void slow_adder(hs_hop_t *hop, void *cookie)
{
    (void)cookie;
    arrivals++;
    EXPECT_ST(hs_thread_sleep(2 * HS_MSEC), HS_OK);
    hs_utcb()->mr[0] = hs_mr(hop, 0) + 1;
}

static int close_during_hop_server(void *arg)
{
    (void)arg;
    EXPECT_ST(hs_port_create_named("slow", &port_seen[0]), HS_OK);
    EXPECT_ST(hs_port_set_handler(port_seen[0], slow_adder, NULL), HS_OK);
    tu_sleep_until(HS_MSEC);
    EXPECT_ST(hs_port_destroy(port_seen[0]), HS_OK);
    when[1] = hs_time_now();
    return serve_forever();
}

static int hop_into_slow(void *arg)
{
    (void)arg;
    EXPECT_ST(hs_port_lookup("slow", HS_NEVER, &port_seen[1]), HS_OK);
    EXPECT_ST(hs_hop_call(port_seen[1], 41, &word[0]), HS_OK);
    when[0] = hs_time_now();
    EXPECT_ST(hs_hop_call(port_seen[1], 41, &word[1]), HS_ECLOSED);
    return 0;
}

static void test_closing_a_port_does_not_affect_a_hop_in_progress(
    void **state)
{
    (void)state;
    start(NULL);
    spawn_root("server", close_during_hop_server, NULL);
    spawn_root("client", hop_into_slow, NULL);
    assert_int_equal(hs_sim_run(), HS_OK);
    assert_no_bad_status();
    assert_int_equal(when[1], HS_MSEC);     /* closed while the hop ran */
    assert_int_equal(word[0], 42);
    assert_int_equal(when[0], 2 * HS_MSEC);
    assert_int_equal(word[1], 0xbad);
    assert_int_equal(arrivals, 1);
}

/* ---- ownership */

static int hijack_port(void *arg)
{
    (void)arg;
    hs_port_t h = 0;
    EXPECT_ST(hs_port_lookup("mine", HS_NEVER, &h), HS_OK);
    EXPECT_ST(hs_port_set_handler(h, adder, tu_id_arg(100)), HS_EPERM);
    EXPECT_ST(hs_port_set_handler(h, NULL, NULL), HS_EPERM);
    EXPECT_ST(hs_port_destroy(h), HS_EPERM);
    EXPECT_ST(hs_port_set_handler(0, adder, NULL), HS_ENOPORT);
    EXPECT_ST(hs_port_destroy(0), HS_ENOPORT);
    /* Still the owner's port, handler and name. */
    EXPECT_ST(hs_hop_call(h, 41, &word[0]), HS_OK);
    EXPECT_ST(hs_port_lookup("mine", HS_NOWAIT, &port_seen[1]), HS_OK);
    return 0;
}

static void test_set_handler_on_port_not_owned_is_eperm(void **state)
{
    (void)state;
    start(NULL);
    spawn_root("server", named_server, "mine");
    spawn_root("thief", hijack_port, NULL);
    assert_int_equal(hs_sim_run(), HS_OK);
    assert_no_bad_status();
    assert_int_equal(word[0], 42);
    assert_true(port_seen[1] == port_seen[0]);
}

/* ---- the anonymous ports made at spawn */

static hs_pid_t parent_pid, child_pid;

/* In the parent, on its from_child port. */
static void parent_handler(hs_hop_t *hop, void *cookie)
{
    (void)cookie;
    pid_seen[0] = hs_hop_source(hop);
    port_seen[4] = hs_hop_port(hop);
    hs_utcb()->mr[0] = hs_mr(hop, 0) + 1;
}

/* In the child, on its from_parent port. */
static void child_handler(hs_hop_t *hop, void *cookie)
{
    (void)cookie;
    pid_seen[1] = hs_hop_source(hop);
    port_seen[5] = hs_hop_port(hop);
    hs_utcb()->mr[0] = hs_mr(hop, 0) + 2;
}

static int spawned_child(void *arg)
{
    (void)arg;
    EXPECT_ST(hs_port_from_parent(&port_seen[2]), HS_OK);
    EXPECT_ST(hs_port_set_handler(port_seen[2], child_handler, NULL), HS_OK);
    EXPECT_ST(hs_port_to_parent(&port_seen[3]), HS_OK);
    EXPECT_ST(hs_hop_call(port_seen[3], 20, &word[0]), HS_OK);
    return serve_forever();
}

static int spawning_parent(void *arg)
{
    (void)arg;
    parent_pid = hs_proc_self();
    EXPECT_ST(hs_proc_spawn("child", spawned_child, NULL, NULL, &child_pid),
              HS_OK);
    EXPECT_ST(hs_port_from_child(child_pid, &port_seen[0]), HS_OK);
    EXPECT_ST(hs_port_set_handler(port_seen[0], parent_handler, NULL),
              HS_OK);
    /* The child sets its handler and hops into us meanwhile. */
    tu_sleep_until(HS_MSEC);
    EXPECT_ST(hs_port_to_child(child_pid, &port_seen[1]), HS_OK);
    EXPECT_ST(hs_hop_call(port_seen[1], 10, &word[1]), HS_OK);
    return 0;
}

static void test_parent_and_child_hop_through_spawn_ports(void **state)
{
    (void)state;
    parent_pid = child_pid = 0;
    start(NULL);
    spawn_root("parent", spawning_parent, NULL);
    assert_int_equal(hs_sim_run(), HS_OK);
    assert_no_bad_status();
    /* The child hopped into the parent's handler on from_child ... */
    assert_int_equal(word[0], 21);
    assert_true(pid_seen[0] == child_pid);
    assert_true(port_seen[4] == port_seen[0]);
    assert_true(port_seen[3] == port_seen[0]);
    /* ... and the parent into the child's handler on from_parent. */
    assert_int_equal(word[1], 12);
    assert_true(pid_seen[1] == parent_pid);
    assert_true(port_seen[5] == port_seen[2]);
    assert_true(port_seen[1] == port_seen[2]);
    assert_true(port_seen[0] != port_seen[2]);
}

static int root_asks_for_parent(void *arg)
{
    (void)arg;
    hs_port_t p = 0;
    EXPECT_ST(hs_port_to_parent(&p), HS_ENOPORT);
    EXPECT_ST(hs_port_from_parent(&p), HS_ENOPORT);
    EXPECT_ST(hs_port_to_parent(NULL), HS_EINVAL);
    port_seen[0] = p;
    return 0;
}

static void test_port_to_parent_in_root_process_is_enoport(void **state)
{
    (void)state;
    start(NULL);
    spawn_root("root", root_asks_for_parent, NULL);
    assert_int_equal(hs_sim_run(), HS_OK);
    assert_no_bad_status();
    assert_int_equal(port_seen[0], 0);
}

static hs_pid_t kid, grandkid, other_root;

static int sleep_arg(void *arg)
{
    tu_sleep_until(arg_ns(arg));
    return 0;
}

static int spawn_grandkid(void *arg)
{
    (void)arg;
    EXPECT_ST(hs_proc_spawn("grandkid", sleep_arg, ns_arg(2 * HS_MSEC),
                            NULL, &grandkid), HS_OK);
    tu_sleep_until(2 * HS_MSEC);
    return 0;
}

static int ask_for_non_children(void *arg)
{
    (void)arg;
    hs_port_t p = 0;
    EXPECT_ST(hs_proc_spawn("kid", spawn_grandkid, NULL, NULL, &kid), HS_OK);
    tu_sleep_until(HS_MSEC);
    EXPECT_ST(hs_port_to_child(grandkid, &p), HS_ENOTCHILD);
    EXPECT_ST(hs_port_from_child(grandkid, &p), HS_ENOTCHILD);
    EXPECT_ST(hs_port_to_child(hs_proc_self(), &p), HS_ENOTCHILD);
    EXPECT_ST(hs_port_to_child(other_root, &p), HS_ENOTCHILD);
    EXPECT_ST(hs_port_to_child(0, &p), HS_ESRCH);
    port_seen[0] = p;
    EXPECT_ST(hs_port_to_child(kid, &port_seen[1]), HS_OK);
    return 0;
}

static int other_root_asks(void *arg)
{
    (void)arg;
    hs_port_t p = 0;
    tu_sleep_until(HS_MSEC);
    EXPECT_ST(hs_port_to_child(kid, &p), HS_ENOTCHILD);
    EXPECT_ST(hs_port_from_child(kid, &p), HS_ENOTCHILD);
    port_seen[2] = p;
    return 0;
}

static void test_port_to_child_of_non_child_is_enotchild(void **state)
{
    (void)state;
    kid = grandkid = other_root = 0;
    start(NULL);
    spawn_root("a", ask_for_non_children, NULL);
    other_root = spawn_root("b", other_root_asks, NULL);
    assert_int_equal(hs_sim_run(), HS_OK);
    assert_no_bad_status();
    assert_true(grandkid != 0);
    assert_int_equal(port_seen[0], 0);
    assert_true(port_seen[1] != 0);
    assert_int_equal(port_seen[2], 0);
}

static int ask_after_child_ended(void *arg)
{
    (void)arg;
    hs_pid_t c = 0;
    hs_port_t to = 0, p = 0;
    int status = -1;
    EXPECT_ST(hs_proc_spawn("brief", sleep_arg, ns_arg(HS_MSEC), NULL, &c),
              HS_OK);
    EXPECT_ST(hs_port_to_child(c, &to), HS_OK);
    tu_sleep_until(2 * HS_MSEC);
    /* A zombie child: its ports are gone, its pid is not. */
    EXPECT_ST(hs_port_to_child(c, &p), HS_ENOPORT);
    EXPECT_ST(hs_port_from_child(c, &p), HS_ENOPORT);
    EXPECT_ST(hs_hop_call(to, 1, &word[0]), HS_ENOPORT);
    EXPECT_ST(hs_proc_wait(c, HS_NEVER, &status), HS_OK);
    EXPECT_ST(hs_port_to_child(c, &p), HS_ESRCH);
    port_seen[0] = p;
    return 0;
}

static void test_spawn_ports_vanish_when_child_ends(void **state)
{
    (void)state;
    start(NULL);
    spawn_root("parent", ask_after_child_ended, NULL);
    assert_int_equal(hs_sim_run(), HS_OK);
    assert_no_bad_status();
    assert_int_equal(port_seen[0], 0);
    assert_int_equal(word[0], 0xbad);
}

/* ---- a session port made by a handler */

/* Session: replies mr[0] * 2 + the session number in the cookie. */
static void session_handler(hs_hop_t *hop, void *cookie)
{
    int n = (int)(intptr_t)cookie;
    pid_seen[2 + n] = hs_hop_source(hop);
    port_seen[4 + n] = hs_hop_port(hop);
    hs_utcb()->mr[0] = hs_mr(hop, 0) * 2 + (uint64_t)n;
}

static int sessions_made;

/* Login: makes a new anonymous port and returns it in mr[0]. */
static void login_handler(hs_hop_t *hop, void *cookie)
{
    (void)cookie;
    hs_port_t s = 0;
    EXPECT_ST(hs_port_create(&s), HS_OK);
    EXPECT_ST(hs_port_create(NULL), HS_EINVAL);
    EXPECT_ST(hs_port_set_handler(s, session_handler,
                                  tu_id_arg(sessions_made)), HS_OK);
    EXPECT_ST(hs_port_grant(s, hs_hop_source(hop)), HS_OK);
    port_seen[1 + sessions_made++] = s;
    hs_utcb()->mr[0] = s;
}

static int login_server(void *arg)
{
    (void)arg;
    pid_seen[0] = hs_proc_self();
    EXPECT_ST(hs_port_create_named("login", &port_seen[0]), HS_OK);
    EXPECT_ST(hs_port_set_handler(port_seen[0], login_handler, NULL), HS_OK);
    return serve_forever();
}

static int session_client(void *arg)
{
    (void)arg;
    hs_port_t login = 0;
    uint64_t s0 = 0, s1 = 0;
    pid_seen[1] = hs_proc_self();
    EXPECT_ST(hs_port_lookup("login", HS_NEVER, &login), HS_OK);
    EXPECT_ST(hs_hop_call(login, 0, &s0), HS_OK);
    EXPECT_ST(hs_hop_call(login, 0, &s1), HS_OK);
    EXPECT_ST(hs_hop_call((hs_port_t)s0, 21, &word[0]), HS_OK);
    EXPECT_ST(hs_hop_call((hs_port_t)s1, 21, &word[1]), HS_OK);
    /* The session port belongs to the server, not to us. */
    EXPECT_ST(hs_port_set_handler((hs_port_t)s0, NULL, NULL), HS_EPERM);
    word[2] = s0;
    word[3] = s1;
    return 0;
}

static void test_handler_returns_session_port_for_later_hops(void **state)
{
    (void)state;
    sessions_made = 0;
    start(NULL);
    spawn_root("server", login_server, NULL);
    spawn_root("client", session_client, NULL);
    assert_int_equal(hs_sim_run(), HS_OK);
    assert_no_bad_status();
    assert_int_equal(sessions_made, 2);
    assert_true(word[2] == port_seen[1] && word[3] == port_seen[2]);
    assert_true(port_seen[1] != 0 && port_seen[2] != 0);
    assert_true(port_seen[1] != port_seen[2]);
    assert_true(port_seen[1] != port_seen[0]);
    assert_int_equal(word[0], 42);          /* session 0 */
    assert_int_equal(word[1], 43);          /* session 1 */
    assert_true(port_seen[4] == port_seen[1]);
    assert_true(port_seen[5] == port_seen[2]);
    assert_true(pid_seen[2] == pid_seen[1] && pid_seen[3] == pid_seen[1]);
}

/* ---- the registry under churn */

#define CHURN 600

static hs_port_t churn_port[CHURN];
static int churn_bad;

static void churn_name(char *buf, int i)
{
    snprintf(buf, 32, "churn/%d", i);
}

/* Whether every name resolves as it should: to its port, or not at all
 * when gone (i % 3 == gone_mod, unless gone_mod is -1). */
static void churn_verify(int gone_mod)
{
    char name[32];
    for (int i = 0; i < CHURN; i++) {
        hs_port_t p = 0;
        churn_name(name, i);
        hs_status st = hs_port_lookup(name, HS_NOWAIT, &p);
        int gone = gone_mod >= 0 && i % 3 == gone_mod;
        if (gone ? st != HS_ETIMEOUT : (st != HS_OK || p != churn_port[i]))
            churn_bad++;
    }
}

static int churn_main(void *arg)
{
    (void)arg;
    char name[32];
    for (int i = 0; i < CHURN; i++) {
        churn_name(name, i);
        EXPECT_ST(hs_port_create_named(name, &churn_port[i]), HS_OK);
    }
    churn_verify(-1);
    /* Close a third: removals shift later entries back in their runs. */
    for (int i = 0; i < CHURN; i += 3)
        EXPECT_ST(hs_port_destroy(churn_port[i]), HS_OK);
    churn_verify(0);
    for (int i = 1; i < CHURN; i += 3)
        EXPECT_ST(hs_port_destroy(churn_port[i]), HS_OK);
    for (int i = 0; i < CHURN; i += 3) {
        churn_name(name, i);
        EXPECT_ST(hs_port_create_named(name, &churn_port[i]), HS_OK);
    }
    churn_verify(1);
    return 0;
}

static void test_registry_finds_every_name_through_adds_and_removes(
    void **state)
{
    (void)state;
    churn_bad = 0;
    assert_int_equal(tu_run_default("churn", churn_main, NULL), HS_OK);
    assert_no_bad_status();
    assert_int_equal(churn_bad, 0);
}

/* ---- the registry's hash */

#define SPREAD_NAMES 10000
#define SPREAD_BUCKETS 16384    /* the table for 10,000 names (load <= 1) */

static int hash_order(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

/* The names of one shape, i = 0..SPREAD_NAMES-1, hashed by the registry
 * (each must be valid): how long the chains of SPREAD_BUCKETS buckets are,
 * and how many names share their whole hash with the name before them. */
struct spread {
    unsigned max_chain;
    double visits;          /* names a successful lookup visits, mean */
    unsigned same_hash;
};

static struct spread spread(const char *fmt)
{
    static const char *const kinds[] = {"fs", "net", "blk", "tty"};
    unsigned *count = calloc(SPREAD_BUCKETS, sizeof *count);
    uint32_t *hash = calloc(SPREAD_NAMES, sizeof *hash);
    assert_true(count && hash);
    char name[HS_PORT_NAME_MAX + 1];
    for (unsigned i = 0; i < SPREAD_NAMES; i++) {
        struct registry_key key;
        if (strstr(fmt, "%s"))
            snprintf(name, sizeof name, fmt, kinds[i % 4], i);
        else
            snprintf(name, sizeof name, fmt, i);
        assert_int_equal(registry_key(name, &key), 1);
        assert_int_equal(key.len, strlen(name));
        hash[i] = key.hash;
        count[key.hash & (SPREAD_BUCKETS - 1)]++;
    }
    /* A successful lookup visits on average (c + 1) / 2 names of a chain
     * of c. */
    struct spread r = {0, 0, 0};
    for (unsigned b = 0; b < SPREAD_BUCKETS; b++) {
        r.visits += count[b] * (count[b] + 1) / 2.0;
        if (count[b] > r.max_chain)
            r.max_chain = count[b];
    }
    r.visits /= SPREAD_NAMES;
    qsort(hash, SPREAD_NAMES, sizeof *hash, hash_order);
    for (unsigned i = 1; i < SPREAD_NAMES; i++)
        r.same_hash += hash[i] == hash[i - 1];
    free(hash);
    free(count);
    return r;
}

/* A random function would give 1.31 names visited a lookup at this load,
 * a longest chain of 5 or 6, and almost never two of 10,000 names with
 * one 32-bit hash; a hash that mixes some bytes poorly (a word read twice,
 * no final avalanche) fails on one of these shapes.  The shapes cover each
 * way the hash reads a name: under 4 bytes, 4 to 7, exactly 8, 9 to 16,
 * exactly 16, and longer. */
static void test_registry_hash_spreads_numbered_names_over_buckets(
    void **state)
{
    (void)state;
    static const char *const shapes[] = {
        "svc/%s/%u",            /* the port_lookup benchmark's names */
        "%u", "p/%u", "%08u", "churn/%u", "x%015u",
        "a/longer/service/path/%08u/endpoint",
    };
    for (size_t i = 0; i < sizeof shapes / sizeof *shapes; i++) {
        struct spread r = spread(shapes[i]);
        if (r.max_chain > 8 || r.visits > 1.35 || r.same_hash > 1)
            fail_msg("names like \"%s\": longest chain %u, %.3f names "
                     "visited a lookup, %u sharing a hash", shapes[i],
                     r.max_chain, r.visits, r.same_hash);
    }
}

/* Pairs of names with the same hash (found by search; if the hash
 * changes, find new ones: the test checks they still collide).  Their
 * lengths make the name comparison take each of its paths: 3, 4 to 7 and
 * 8 or more bytes with the NUL. */
static const char *const twins[][2] = {
    {"Z$", "uev"},
    {"p/194", "p/92339"},
    {"twin/50226", "twin/79463"},
};
#define NTWINS (sizeof twins / sizeof *twins)

static hs_port_t twin_port[NTWINS][2];
static hs_port_t twin_found[NTWINS][2];

static int twins_main(void *arg)
{
    (void)arg;
    for (size_t i = 0; i < NTWINS; i++) {
        hs_port_t p = 0;
        EXPECT_ST(hs_port_create_named(twins[i][0], &twin_port[i][0]), HS_OK);
        /* Same hash, same bucket: only the bytes tell them apart. */
        EXPECT_ST(hs_port_lookup(twins[i][1], HS_NOWAIT, &p), HS_ETIMEOUT);
        EXPECT_ST(hs_port_create_named(twins[i][1], &twin_port[i][1]), HS_OK);
        EXPECT_ST(hs_port_lookup(twins[i][0], HS_NOWAIT, &twin_found[i][0]),
                  HS_OK);
        EXPECT_ST(hs_port_lookup(twins[i][1], HS_NOWAIT, &twin_found[i][1]),
                  HS_OK);
        EXPECT_ST(hs_port_destroy(twin_port[i][1]), HS_OK);
        EXPECT_ST(hs_port_lookup(twins[i][1], HS_NOWAIT, &p), HS_ETIMEOUT);
    }
    return 0;
}

static void test_names_with_the_same_hash_are_told_apart(void **state)
{
    (void)state;
    for (size_t i = 0; i < NTWINS; i++) {
        struct registry_key a, b;
        assert_int_equal(registry_key(twins[i][0], &a), 1);
        assert_int_equal(registry_key(twins[i][1], &b), 1);
        if (a.hash != b.hash)
            fail_msg("\"%s\" and \"%s\" no longer share a hash",
                     twins[i][0], twins[i][1]);
    }
    memset(twin_found, 0, sizeof twin_found);
    assert_int_equal(tu_run_default("twins", twins_main, NULL), HS_OK);
    assert_no_bad_status();
    for (size_t i = 0; i < NTWINS; i++) {
        assert_true(twin_port[i][0] != twin_port[i][1]);
        assert_true(twin_found[i][0] == twin_port[i][0]);
        assert_true(twin_found[i][1] == twin_port[i][1]);
    }
}

/* ---- names of every length */

/* name[n] is n bytes long, alone in a heap block of n + 1 bytes, so that
 * under ASan or Valgrind (make asan, make memcheck) reading a byte past
 * its NUL is reported; shorter[n] is its first n - 1 bytes, other[n] the
 * same length with the last byte changed.  No two are equal: the letters
 * follow a pattern that starts at n, and only other[n] has a '#'. */
static char *len_name[HS_PORT_NAME_MAX + 1];
static char *len_shorter[HS_PORT_NAME_MAX + 1];
static char *len_other[HS_PORT_NAME_MAX + 1];
static hs_port_t len_port[HS_PORT_NAME_MAX + 1];
static hs_port_t len_found[HS_PORT_NAME_MAX + 1];

static char *exact_name(size_t n, size_t seed, char last)
{
    char *s = malloc(n + 1);
    assert_non_null(s);
    for (size_t i = 0; i < n; i++)
        s[i] = (char)('a' + (i * 7 + seed) % 26);
    if (n && last)
        s[n - 1] = last;
    s[n] = '\0';
    return s;
}

static int lengths_main(void *arg)
{
    (void)arg;
    for (int n = 1; n <= HS_PORT_NAME_MAX; n++)
        EXPECT_ST(hs_port_create_named(len_name[n], &len_port[n]), HS_OK);
    for (int n = 1; n <= HS_PORT_NAME_MAX; n++) {
        hs_port_t p = 0;
        EXPECT_ST(hs_port_lookup(len_name[n], HS_NOWAIT, &len_found[n]),
                  HS_OK);
        EXPECT_ST(hs_port_lookup(len_other[n], HS_NOWAIT, &p), HS_ETIMEOUT);
        if (n > 1)
            EXPECT_ST(hs_port_lookup(len_shorter[n], HS_NOWAIT, &p),
                      HS_ETIMEOUT);
    }
    return 0;
}

static void test_names_of_every_length_are_found_and_read_within_bounds(
    void **state)
{
    (void)state;
    for (size_t n = 1; n <= HS_PORT_NAME_MAX; n++) {
        len_name[n] = exact_name(n, n, 0);
        len_shorter[n] = exact_name(n - 1, n, 0);
        len_other[n] = exact_name(n, n, '#');
        len_found[n] = 0;
    }
    assert_int_equal(tu_run_default("lengths", lengths_main, NULL), HS_OK);
    assert_no_bad_status();
    for (size_t n = 1; n <= HS_PORT_NAME_MAX; n++) {
        assert_true(len_found[n] == len_port[n]);
        free(len_name[n]);
        free(len_shorter[n]);
        free(len_other[n]);
    }
}

/* ---- who may hop through an anonymous port -------------------------------- */

static hs_status iso[16];
static hs_pid_t spy_pid;

static void iso_handler(hs_hop_t *hop, void *cookie)
{
    (void)cookie;
    hs_utcb()->mr[0] = hs_mr(hop, 0) + 1;
}

/* The owner: a session port given to the client only; it gives it to
 * the spy at 2 ms and takes it back at 4 ms. */
static int iso_owner(void *arg)
{
    (void)arg;
    hs_port_t named, s;
    EXPECT_ST(hs_port_create_named("iso", &named), HS_OK);
    EXPECT_ST(hs_port_create(&s), HS_OK);
    EXPECT_ST(hs_port_set_handler(s, iso_handler, NULL), HS_OK);
    port_seen[0] = s;
    EXPECT_ST(hs_port_grant(s, pid_seen[1]), HS_OK);
    EXPECT_ST(hs_port_grant(s, pid_seen[1]), HS_OK);   /* once is enough */
    /* What grant and revoke refuse, changing nothing. */
    iso[0] = hs_port_grant(named, pid_seen[1]);
    iso[1] = hs_port_grant(s, 0);
    iso[2] = hs_port_grant(s + 1000, pid_seen[1]);
    iso[3] = hs_port_revoke(s, spy_pid);                /* not given */
    tu_sleep_until(2 * HS_MSEC);
    EXPECT_ST(hs_port_grant(s, spy_pid), HS_OK);
    tu_sleep_until(4 * HS_MSEC);
    EXPECT_ST(hs_port_revoke(s, spy_pid), HS_OK);
    return serve_forever();
}

static int iso_client(void *arg)
{
    (void)arg;
    uint64_t r = 0;
    tu_sleep_until(HS_MSEC);
    iso[4] = hs_hop_call(port_seen[0], 1, &r);
    word[0] = r;
    /* Not the owner: it may not give the port on, nor take it back. */
    iso[5] = hs_port_grant(port_seen[0], spy_pid);
    iso[6] = hs_port_revoke(port_seen[0], hs_proc_self());
    return 0;
}

/* Knows the handle (a number anyone can guess), was not given the port
 * until 2 ms, and loses it at 4 ms. */
static int iso_spy(void *arg)
{
    (void)arg;
    uint64_t r = 0;
    tu_sleep_until(HS_MSEC);
    iso[7] = hs_hop_call(port_seen[0], 10, &r);
    iso[8] = hs_hop_async(port_seen[0], NULL);
    tu_sleep_until(3 * HS_MSEC);
    iso[9] = hs_hop_call(port_seen[0], 20, &r);
    word[1] = r;
    tu_sleep_until(5 * HS_MSEC);
    iso[10] = hs_hop_call(port_seen[0], 30, &r);
    return 0;
}

static int iso_root(void *arg)
{
    (void)arg;
    EXPECT_ST(hs_proc_spawn("client", iso_client, NULL, NULL, &pid_seen[1]),
              HS_OK);
    EXPECT_ST(hs_proc_spawn("spy", iso_spy, NULL, NULL, &spy_pid), HS_OK);
    EXPECT_ST(hs_proc_spawn("owner", iso_owner, NULL, NULL, &pid_seen[0]),
              HS_OK);
    return 0;
}

static void test_anonymous_port_reaches_only_processes_it_was_given(
    void **state)
{
    (void)state;
    memset(iso, 0, sizeof iso);
    start(NULL);
    spawn_root("root", iso_root, NULL);
    assert_int_equal(hs_sim_run(), HS_OK);
    assert_no_bad_status();
    assert_int_equal(iso[0], HS_EINVAL);
    assert_int_equal(iso[1], HS_ESRCH);
    assert_int_equal(iso[2], HS_ENOPORT);
    assert_int_equal(iso[3], HS_ESRCH);
    assert_int_equal(iso[4], HS_OK);
    assert_int_equal(word[0], 2);
    assert_int_equal(iso[5], HS_EPERM);
    assert_int_equal(iso[6], HS_EPERM);
    assert_int_equal(iso[7], HS_EPERM);
    assert_int_equal(iso[8], HS_EPERM);
    assert_int_equal(iso[9], HS_OK);
    assert_int_equal(word[1], 21);
    assert_int_equal(iso[10], HS_EPERM);
}

/* Spawn ports: the parent reaches its child's, the child its parent's;
 * a sibling that learns the handles reaches neither. */
static int sib_child(void *arg)
{
    (void)arg;
    hs_port_t from;
    EXPECT_ST(hs_port_from_parent(&from), HS_OK);
    EXPECT_ST(hs_port_set_handler(from, iso_handler, NULL), HS_OK);
    EXPECT_ST(hs_port_to_parent(&port_seen[2]), HS_OK);
    tu_sleep_until(2 * HS_MSEC);
    return 0;
}

static int sib_sibling(void *arg)
{
    (void)arg;
    uint64_t r = 0;
    tu_sleep_until(HS_MSEC);
    iso[11] = hs_hop_call(port_seen[1], 5, &r);     /* into the child */
    iso[12] = hs_hop_call(port_seen[2], 5, &r);     /* into the parent */
    return 0;
}

static int sib_parent(void *arg)
{
    (void)arg;
    hs_pid_t c;
    hs_port_t from;
    EXPECT_ST(hs_proc_spawn("child", sib_child, NULL, NULL, &c), HS_OK);
    EXPECT_ST(hs_port_to_child(c, &port_seen[1]), HS_OK);
    EXPECT_ST(hs_port_from_child(c, &from), HS_OK);
    EXPECT_ST(hs_port_set_handler(from, iso_handler, NULL), HS_OK);
    tu_sleep_until(HS_MSEC / 2);
    uint64_t r = 0;
    iso[13] = hs_hop_call(port_seen[1], 7, &r);
    word[2] = r;
    tu_sleep_until(3 * HS_MSEC);
    return 0;
}

static void test_spawn_ports_reach_only_parent_and_child(void **state)
{
    (void)state;
    memset(iso, 0, sizeof iso);
    start(NULL);
    spawn_root("parent", sib_parent, NULL);
    spawn_root("sibling", sib_sibling, NULL);
    assert_int_equal(hs_sim_run(), HS_OK);
    assert_no_bad_status();
    assert_int_equal(iso[13], HS_OK);
    assert_int_equal(word[2], 8);
    assert_int_equal(iso[11], HS_EPERM);
    assert_int_equal(iso[12], HS_EPERM);
}

/* HS_PORT_GRANTS_MAX live processes fill a port's grants; an ended one's
 * entry is free again. */
static int grant_taker(void *arg)
{
    tu_sleep_until(arg_ns(arg));
    return 0;
}

static int grant_filler(void *arg)
{
    (void)arg;
    hs_port_t s;
    hs_pid_t kids[HS_PORT_GRANTS_MAX + 1];
    EXPECT_ST(hs_port_create(&s), HS_OK);
    for (int i = 0; i <= HS_PORT_GRANTS_MAX; i++)
        EXPECT_ST(hs_proc_spawn("taker", grant_taker,
                                ns_arg(i == 0 ? HS_MSEC : 5 * HS_MSEC), NULL,
                                &kids[i]), HS_OK);
    for (int i = 0; i < HS_PORT_GRANTS_MAX; i++)
        EXPECT_ST(hs_port_grant(s, kids[i]), HS_OK);
    iso[14] = hs_port_grant(s, kids[HS_PORT_GRANTS_MAX]);
    tu_sleep_until(2 * HS_MSEC);            /* kids[0] has ended */
    iso[15] = hs_port_grant(s, kids[HS_PORT_GRANTS_MAX]);
    for (int i = 0; i <= HS_PORT_GRANTS_MAX; i++)
        EXPECT_ST(hs_proc_wait(kids[i], HS_NEVER, NULL), HS_OK);
    return 0;
}

static void test_port_grants_are_bounded_and_reused_after_an_end(
    void **state)
{
    (void)state;
    memset(iso, 0, sizeof iso);
    start(NULL);
    spawn_root("filler", grant_filler, NULL);
    assert_int_equal(hs_sim_run(), HS_OK);
    assert_no_bad_status();
    assert_int_equal(iso[14], HS_ELIMIT);
    assert_int_equal(iso[15], HS_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        TU_TEST(test_named_port_is_found_by_lookup),
        TU_TEST(test_named_port_with_handler_is_never_found_without_it),
        TU_TEST(test_named_port_with_null_handler_is_einval_and_makes_nothing),
        TU_TEST(
            test_lookup_without_timeout_wakes_when_name_is_created),
        TU_TEST(
            test_lookup_with_timeout_wakes_when_name_is_created_in_time),
        TU_TEST(test_lookup_times_out_at_exact_virtual_time),
        TU_TEST(
            test_lookup_nowait_of_missing_name_is_etimeout_at_once),
        TU_TEST(
            test_duplicate_name_is_eexist_and_original_still_works),
        TU_TEST(test_empty_null_and_overlong_port_names_are_einval),
        TU_TEST(
            test_port_calls_outside_a_simulated_thread_are_estate),
        TU_TEST(test_named_port_disappears_when_owner_exits),
        TU_TEST(test_closed_port_refuses_hops_and_frees_its_name),
        TU_TEST(
            test_closing_a_port_does_not_affect_a_hop_in_progress),
        TU_TEST(test_port_handle_of_an_earlier_run_names_nothing),
        TU_TEST(test_set_handler_on_port_not_owned_is_eperm),
        TU_TEST(test_parent_and_child_hop_through_spawn_ports),
        TU_TEST(test_port_to_parent_in_root_process_is_enoport),
        TU_TEST(test_port_to_child_of_non_child_is_enotchild),
        TU_TEST(test_spawn_ports_vanish_when_child_ends),
        TU_TEST(test_handler_returns_session_port_for_later_hops),
        TU_TEST(test_registry_finds_every_name_through_adds_and_removes),
        TU_TEST(test_registry_hash_spreads_numbered_names_over_buckets),
        TU_TEST(test_names_with_the_same_hash_are_told_apart),
        TU_TEST(test_anonymous_port_reaches_only_processes_it_was_given),
        TU_TEST(test_spawn_ports_reach_only_parent_and_child),
        TU_TEST(test_port_grants_are_bounded_and_reused_after_an_end),
        TU_TEST(
            test_names_of_every_length_are_found_and_read_within_bounds),
    };
    return cmocka_run_group_tests_name("port", tests, NULL, NULL);
}
