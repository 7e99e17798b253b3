/*
 * tests/test_fault.c - faults drawn from the seed: a process killed at a
 * hop (the caller's side and the target's side), a process killed at an
 * IPC call, a caller timed out just before its reply; each fires where
 * the summary says, is survived (the run ends normally), and happens the
 * same way again with the same seed.  `make memcheck` runs these under
 * Valgrind, so nothing a fault frees early may leak.
 *
 * Seeds are picked by scanning from 0 for one whose fault has the wanted
 * side; that scan is itself deterministic.
 */
#include <fcntl.h>
#include <unistd.h>

#include "testutil.h"

#define NHOPS 10

static hs_status hop_st[NHOPS];     /* status of each hop, in order */
static int hops_done;               /* hops that returned */
static int client_exit, server_exit;
static hs_status server_wait;

static void reset(void)
{
    for (int i = 0; i < NHOPS; i++)
        hop_st[i] = HS_STATUS_COUNT;
    hops_done = 0;
    client_exit = server_exit = 12345;
    server_wait = HS_STATUS_COUNT;
}

static void echo(hs_hop_t *hop, void *cookie)
{
    (void)cookie;
    hs_utcb()->mr[0] = hs_mr(hop, 0) + 1;
}

static int server(void *arg)
{
    (void)arg;
    hs_port_t p;
    EXPECT_ST(hs_port_create_named("srv", &p), HS_OK);
    EXPECT_ST(hs_port_set_handler(p, echo, NULL), HS_OK);
    return hs_proc_serve();
}

/* NHOPS hops into the server; stops at the first that fails. */
static int client(void *arg)
{
    (void)arg;
    hs_port_t p;
    EXPECT_ST(hs_port_lookup("srv", HS_NEVER, &p), HS_OK);
    for (int i = 0; i < NHOPS; i++) {
        uint64_t r;
        hs_status st;
        while ((st = hs_hop_call(p, (uint64_t)i, &r)) == HS_ENOHANDLER)
            hs_thread_yield();
        hop_st[i] = st;
        hops_done = i + 1;
        if (st != HS_OK)
            break;
    }
    return 0;
}

static int parent(void *arg)
{
    (void)arg;
    hs_pid_t s, c;
    EXPECT_ST(hs_proc_spawn("server", server, NULL, NULL, &s), HS_OK);
    EXPECT_ST(hs_proc_spawn("client", client, NULL, NULL, &c), HS_OK);
    EXPECT_ST(hs_proc_wait(c, HS_NEVER, &client_exit), HS_OK);
    server_wait = hs_proc_wait(s, HS_NOWAIT, &server_exit);
    return 0;
}

static hs_status run_hops(uint64_t seed, unsigned faults, hs_sim_summary *s)
{
    reset();
    hs_sim_config cfg = tu_config();
    cfg.seed = seed;
    cfg.faults = faults;
    cfg.fault_window = 4;
    hs_status st = tu_run(&cfg, "parent", parent, NULL, NULL);
    *s = tu_summary();
    return st;
}

/* The first seed whose kill fault takes the given side. */
static uint64_t seed_for_side(hs_fault_side side)
{
    hs_sim_summary s;
    for (uint64_t seed = 0; seed < 64; seed++) {
        run_hops(seed, HS_FAULT_KILL, &s);
        if (s.nfaults == 1 && s.faults[0].side == side)
            return seed;
    }
    fail_msg("no seed below 64 kills on side %d", (int)side);
    return 0;
}

static void test_kill_at_a_hop_on_the_target_side(void **state)
{
    (void)state;
    uint64_t seed = seed_for_side(HS_FAULT_TARGET);
    hs_sim_summary s;
    assert_int_equal(run_hops(seed, HS_FAULT_KILL, &s), HS_OK);
    assert_no_bad_status();
    assert_int_equal(s.nfaults, 1);
    const hs_fault *f = &s.faults[0];
    assert_int_equal(f->kind, HS_FAULT_KILL);
    assert_true(f->fired);
    assert_true(f->at >= 1 && f->at <= 4);
    assert_string_equal(f->victim_name, "server");
    /* Hops before the fault worked; the one at it found the port gone. */
    assert_int_equal(hops_done, (int)f->at);
    for (uint64_t i = 0; i + 1 < f->at; i++)
        assert_int_equal(hop_st[i], HS_OK);
    assert_int_equal(hop_st[f->at - 1], HS_ENOPORT);
    assert_int_equal(client_exit, 0);
    assert_int_equal(server_wait, HS_OK);
    assert_int_equal(server_exit, HS_FAULT_EXIT_STATUS);
}

static void test_kill_at_a_hop_on_the_caller_side(void **state)
{
    (void)state;
    uint64_t seed = seed_for_side(HS_FAULT_CALLER);
    hs_sim_summary s;
    assert_int_equal(run_hops(seed, HS_FAULT_KILL, &s), HS_OK);
    assert_no_bad_status();
    const hs_fault *f = &s.faults[0];
    assert_true(f->fired);
    assert_string_equal(f->victim_name, "client");
    /* The client died making hop number `at`: it never returned. */
    assert_int_equal(hops_done, (int)f->at - 1);
    assert_int_equal(client_exit, HS_FAULT_EXIT_STATUS);
    assert_int_equal(server_wait, HS_ETIMEOUT);     /* still serving */
}

static void test_same_seed_same_fault_same_run(void **state)
{
    (void)state;
    for (hs_fault_side side = HS_FAULT_CALLER; side <= HS_FAULT_TARGET;
         side++) {
        uint64_t seed = seed_for_side(side);
        hs_sim_summary a, b;
        run_hops(seed, HS_FAULT_KILL, &a);
        int done_a = hops_done;
        run_hops(seed, HS_FAULT_KILL, &b);
        assert_int_equal(a.hash, b.hash);
        assert_int_equal(a.events, b.events);
        assert_int_equal(a.faults[0].at, b.faults[0].at);
        assert_int_equal(a.faults[0].time, b.faults[0].time);
        assert_int_equal(a.faults[0].thread, b.faults[0].thread);
        assert_int_equal(a.faults[0].victim, b.faults[0].victim);
        assert_int_equal(done_a, hops_done);
    }
}

/* The fault stream is separate from the schedule: until the fault fires,
 * a seeded run with faults makes the same choices as without. */
static void test_fault_leaves_the_schedule_alone_until_it_fires(void **state)
{
    (void)state;
    hs_sim_summary with, without;
    uint64_t seed = seed_for_side(HS_FAULT_TARGET);
    run_hops(seed, HS_FAULT_KILL, &with);
    run_hops(seed, 0, &without);
    assert_int_equal(without.nfaults, 0);
    assert_int_equal(hops_done, NHOPS);     /* no fault: every hop done */
    assert_true(with.events < without.events);
}

static void test_fault_beyond_the_run_stays_unfired(void **state)
{
    (void)state;
    reset();
    hs_sim_config cfg = tu_config();
    cfg.seed = 3;
    cfg.faults = HS_FAULT_REPLY_TIMEOUT;    /* hops have no replies */
    assert_int_equal(tu_run(&cfg, "parent", parent, NULL, NULL), HS_OK);
    hs_sim_summary s = tu_summary();
    assert_int_equal(s.nfaults, 1);
    assert_false(s.faults[0].fired);
    assert_int_equal(hops_done, NHOPS);
}

/* ---- IPC: a reply that comes just too late, a kill at a call */

#define NCALLS 6

static hs_status call_st[NCALLS], reply_st[NCALLS];
static uint64_t call_phase[NCALLS], call_word[NCALLS];
static int calls_done;
static hs_cap_t gate;

static int ipc_server(void *arg)
{
    (void)arg;
    for (int i = 0; i < NCALLS; i++) {
        uint64_t label;
        EXPECT_ST(hs_ipc_wait(HS_NEVER, &label), HS_OK);
        hs_utcb()->mr[0] += 100;
        reply_st[i] = hs_ipc_reply();
    }
    return 0;
}

static int ipc_main(void *arg)
{
    (void)arg;
    hs_tid_t s;
    EXPECT_ST(hs_thread_create(ipc_server, NULL, NULL, &s), HS_OK);
    EXPECT_ST(hs_gate_create(s, 1, &gate), HS_OK);
    hs_utcb_t *u = hs_utcb();
    for (int i = 0; i < NCALLS; i++) {
        u->tag = HS_TAG(0, 1);
        u->mr[0] = (uint64_t)i;
        call_st[i] = hs_ipc_call(gate, HS_NEVER, HS_NEVER);
        call_phase[i] = u->phase;
        call_word[i] = u->mr[0];
        calls_done = i + 1;
    }
    EXPECT_ST(hs_thread_join(s, HS_NEVER, NULL), HS_OK);
    return 0;
}

static hs_status run_ipc(uint64_t seed, unsigned faults, hs_sim_summary *s)
{
    for (int i = 0; i < NCALLS; i++) {
        call_st[i] = reply_st[i] = HS_STATUS_COUNT;
        call_phase[i] = call_word[i] = 0xbad;
    }
    calls_done = 0;
    hs_sim_config cfg = tu_config();
    cfg.seed = seed;
    cfg.faults = faults;
    cfg.fault_window = 4;
    hs_status st = tu_run(&cfg, "ipc", ipc_main, NULL, NULL);
    *s = tu_summary();
    return st;
}

static void test_reply_timeout_fires_just_before_the_reply(void **state)
{
    (void)state;
    hs_sim_summary s;
    assert_int_equal(run_ipc(9, HS_FAULT_REPLY_TIMEOUT, &s), HS_OK);
    assert_no_bad_status();
    assert_int_equal(s.nfaults, 1);
    const hs_fault *f = &s.faults[0];
    assert_int_equal(f->kind, HS_FAULT_REPLY_TIMEOUT);
    assert_true(f->fired);
    assert_string_equal(f->victim_name, "ipc");
    uint64_t n = f->at - 1;                 /* the call that timed out */
    assert_int_equal(calls_done, NCALLS);
    for (uint64_t i = 0; i < NCALLS; i++) {
        if (i == n) {
            assert_int_equal(call_st[i], HS_ETIMEOUT);
            assert_int_equal(call_phase[i], HS_PHASE_RECV);
            assert_int_equal(reply_st[i], HS_ESTALE);
        } else {
            assert_int_equal(call_st[i], HS_OK);
            assert_int_equal(call_word[i], i + 100);
            assert_int_equal(reply_st[i], HS_OK);
        }
    }
    /* Reproducible. */
    hs_sim_summary again;
    run_ipc(9, HS_FAULT_REPLY_TIMEOUT, &again);
    assert_int_equal(again.hash, s.hash);
    assert_int_equal(again.faults[0].at, f->at);
    assert_int_equal(call_st[n], HS_ETIMEOUT);
}

static void test_kill_at_an_ipc_call(void **state)
{
    (void)state;
    hs_sim_summary s;
    assert_int_equal(run_ipc(4, HS_FAULT_KILL, &s), HS_OK);
    assert_no_bad_status();
    const hs_fault *f = &s.faults[0];
    assert_true(f->fired);
    assert_string_equal(f->victim_name, "ipc");
    /* Both threads were in "ipc": the calls stop at the fault. */
    assert_int_equal(calls_done, (int)f->at - 1);
    for (uint64_t i = 0; i + 1 < f->at; i++)
        assert_int_equal(call_st[i], HS_OK);
}

/* ---- configuration and the summary line */

static void test_faults_need_a_seed_and_known_kinds(void **state)
{
    (void)state;
    hs_sim_config cfg = tu_config();
    cfg.faults = HS_FAULT_KILL;             /* no seed */
    assert_int_equal(hs_sim_start(&cfg), HS_EINVAL);
    cfg.seed = 1;
    cfg.faults = 0x80;
    assert_int_equal(hs_sim_start(&cfg), HS_EINVAL);
    cfg.faults = HS_FAULT_KILL;
    cfg.fault_window = HS_FAULT_WINDOW_MAX + 1;
    assert_int_equal(hs_sim_start(&cfg), HS_EINVAL);
    cfg = tu_config();
    cfg.seed = 1;
    cfg.faults = HS_FAULTS_FROM_ENV;
    setenv("HOPSIM_FAULTS", "kill,bogus", 1);
    assert_int_equal(hs_sim_start(&cfg), HS_EINVAL);
    setenv("HOPSIM_FAULTS", "reply-timeout,kill", 1);
    reset();
    hs_status st = tu_run(&cfg, "parent", parent, NULL, NULL);
    unsetenv("HOPSIM_FAULTS");
    assert_int_equal(st, HS_OK);
    hs_sim_summary s = tu_summary();
    assert_int_equal(s.nfaults, 2);
    assert_int_equal(s.faults[0].kind, HS_FAULT_KILL);
    assert_int_equal(s.faults[1].kind, HS_FAULT_REPLY_TIMEOUT);
    assert_string_equal(hs_fault_name(HS_FAULT_KILL), "kill");
    assert_string_equal(hs_fault_name(HS_FAULT_REPLY_TIMEOUT),
                        "reply-timeout");
    assert_string_equal(hs_fault_name(0x3), "?");
}

static void test_summary_line_lists_the_faults(void **state)
{
    (void)state;
    uint64_t seed = seed_for_side(HS_FAULT_TARGET);
    char path[] = "/tmp/hopsim-fault-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    int saved = dup(2);
    dup2(fd, 2);
    reset();
    hs_sim_config cfg = tu_config();
    cfg.seed = seed;
    cfg.faults = HS_FAULT_ALL;
    cfg.fault_window = 4;
    cfg.quiet = 0;
    hs_status st = tu_run(&cfg, "parent", parent, NULL, NULL);
    dup2(saved, 2);
    close(saved);
    char line[1024] = "";
    lseek(fd, 0, SEEK_SET);
    ssize_t n = read(fd, line, sizeof line - 1);
    close(fd);
    unlink(path);
    assert_int_equal(st, HS_OK);
    assert_true(n > 0);
    line[n] = 0;
    hs_sim_summary s = tu_summary();
    char want[200];
    snprintf(want, sizeof want, " faults=kill@%llu:%s:'",
             (unsigned long long)s.faults[0].at,
             s.faults[0].side == HS_FAULT_TARGET ? "target" : "caller");
    if (!strstr(line, want))
        fail_msg("summary line lacks \"%s\": %s", want, line);
    snprintf(want, sizeof want, ",reply-timeout@%llu:unfired,",
             (unsigned long long)s.faults[1].at);
    if (!strstr(line, want))
        fail_msg("summary line lacks \"%s\": %s", want, line);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        TU_TEST(test_kill_at_a_hop_on_the_target_side),
        TU_TEST(test_kill_at_a_hop_on_the_caller_side),
        TU_TEST(test_same_seed_same_fault_same_run),
        TU_TEST(test_fault_leaves_the_schedule_alone_until_it_fires),
        TU_TEST(test_fault_beyond_the_run_stays_unfired),
        TU_TEST(test_reply_timeout_fires_just_before_the_reply),
        TU_TEST(test_kill_at_an_ipc_call),
        TU_TEST(test_faults_need_a_seed_and_known_kinds),
        TU_TEST(test_summary_line_lists_the_faults),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
