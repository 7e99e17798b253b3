/*
 * tests/test_names.c - the example name server (examples/servers/names.h)
 * and the initial capabilities a parent gives a child at spawn, which is
 * how the name server's clients get their capability to it.
 *
 * Simulated threads record into the statics below; the test asserts after
 * hs_sim_run().  Every run must end with HS_OK.
 */
#include "testutil.h"

#include "examples/servers/names.h"

#define NREC 64

static hs_status status[NREC];
static uint64_t word[NREC];
static hs_time_t when[NREC];

static void reset(void)
{
    for (int i = 0; i < NREC; i++) {
        status[i] = HS_STATUS_COUNT;
        word[i] = 0xbad;
        when[i] = HS_NEVER;
    }
}

static void run_main(hs_entry_fn entry)
{
    reset();
    tu_run_one(NULL, "init", entry, NULL, NULL);
}

/* ---- 1. initial capabilities ----------------------------------------------- */

static int ic_child(void *arg)
{
    (void)arg;
    for (hs_cap_t c = 1; c <= 3; c++) {
        hs_cap_info info;
        memset(&info, 0, sizeof info);
        status[10 + c] = hs_cap_info_get(c, &info);
        word[10 + c] = info.label;
        word[20 + c] = info.rights;
    }
    return 0;
}

static int ic_main(void *arg)
{
    (void)arg;
    hs_cap_t g = 0, a = 0, b = 0, nogrant = 0;
    EXPECT_ST(hs_gate_create(0, 0, &g), HS_OK);
    EXPECT_ST(hs_cap_derive(g, HS_CAP_SEND | HS_CAP_GRANT, 7, &a), HS_OK);
    EXPECT_ST(hs_cap_derive(g, HS_CAP_GRANT, 8, &b), HS_OK);
    EXPECT_ST(hs_cap_derive(g, HS_CAP_SEND, 9, &nogrant), HS_OK);
    hs_cap_t caps[HS_SPAWN_CAPS_MAX + 1] = { a, b };
    hs_proc_attr at;
    hs_pid_t pid = 0;
    hs_account before, after;
    EXPECT_ST(hs_factory_account(0, &before), HS_OK);

    memset(&at, 0, sizeof at);
    at.caps = caps;
    at.ncaps = HS_SPAWN_CAPS_MAX + 1;
    status[0] = hs_proc_spawn("c", ic_child, NULL, &at, &pid);
    at.ncaps = 1;
    at.caps = NULL;
    status[1] = hs_proc_spawn("c", ic_child, NULL, &at, &pid);
    caps[1] = nogrant;
    at.caps = caps;
    at.ncaps = 2;
    status[2] = hs_proc_spawn("c", ic_child, NULL, &at, &pid);
    caps[1] = 999;
    status[3] = hs_proc_spawn("c", ic_child, NULL, &at, &pid);
    /* The child may hold one capability only: two do not fit. */
    caps[1] = b;
    hs_quota q = hs_quota_unlimited();
    q.limit[HS_RES_CAPS] = 1;
    at.quota = &q;
    status[4] = hs_proc_spawn("c", ic_child, NULL, &at, &pid);
    EXPECT_ST(hs_factory_account(0, &after), HS_OK);
    word[0] = after.used[HS_RES_PROCS] - before.used[HS_RES_PROCS];
    word[1] = after.used[HS_RES_CAPS] - before.used[HS_RES_CAPS];

    at.quota = NULL;
    status[5] = hs_proc_spawn("c", ic_child, NULL, &at, &pid);
    EXPECT_ST(hs_proc_wait(pid, HS_NEVER, NULL), HS_OK);
    return 0;
}

static void test_initial_caps(void **state)
{
    (void)state;
    run_main(ic_main);
    assert_int_equal(status[0], HS_EINVAL);
    assert_int_equal(status[1], HS_EINVAL);
    assert_int_equal(status[2], HS_EPERM);
    assert_int_equal(status[3], HS_EBADCAP);
    assert_int_equal(status[4], HS_EQUOTA);
    assert_int_equal(word[0], 0);           /* refused spawns made nothing */
    assert_int_equal(word[1], 0);
    assert_int_equal(status[5], HS_OK);
    assert_int_equal(status[11], HS_OK);
    assert_int_equal(word[11], 7);
    assert_int_equal(word[21], HS_CAP_SEND | HS_CAP_GRANT);
    assert_int_equal(status[12], HS_OK);
    assert_int_equal(word[12], 8);
    assert_int_equal(word[22], HS_CAP_GRANT);
    assert_int_equal(status[13], HS_EBADCAP);   /* only two were given */
}

/* The initial capabilities are outside the run only for children. */
static int noop(void *arg)
{
    (void)arg;
    return 0;
}

static void test_initial_caps_need_a_parent(void **state)
{
    (void)state;
    hs_sim_config cfg = tu_config();
    assert_int_equal(hs_sim_start(&cfg), HS_OK);
    hs_cap_t one = 1;
    hs_proc_attr at;
    memset(&at, 0, sizeof at);
    at.caps = &one;
    at.ncaps = 1;
    assert_int_equal(hs_proc_spawn("root", noop, NULL, &at, NULL),
                     HS_EINVAL);
    assert_int_equal(hs_proc_spawn("root", noop, NULL, NULL, NULL), HS_OK);
    assert_int_equal(hs_sim_run(), HS_OK);
}

/* ---- 2. the name server ---------------------------------------------------- */

/* init: capability 1 is the name server's gate (label 0, the stop label);
 * children get their own labelled copies as their capability 1. */
static int ns_thread(void *arg)
{
    (void)arg;
    status[63] = names_serve(1, 0);
    return 0;
}

static hs_status spawn_client_arg(const char *name, hs_entry_fn entry,
                                  void *arg, uint64_t label, hs_pid_t *pid)
{
    hs_cap_t mine = 0;
    hs_status st = hs_cap_derive(1, HS_CAP_SEND | HS_CAP_GRANT, label,
                                 &mine);
    hs_proc_attr at;
    memset(&at, 0, sizeof at);
    at.caps = &mine;
    at.ncaps = 1;
    if (st == HS_OK)
        st = hs_proc_spawn(name, entry, arg, &at, pid);
    return st;
}

static hs_status spawn_client(const char *name, hs_entry_fn entry,
                              uint64_t label, hs_pid_t *pid)
{
    return spawn_client_arg(name, entry, NULL, label, pid);
}

/* A service: registers its gate as "svc", answers one call, then waits
 * until its end (its gate goes with its thread). */
static int service(void *arg)
{
    (void)arg;
    hs_cap_t g = 0, sg = 0, nogrant = 0;
    EXPECT_ST(hs_gate_create(0, 5, &g), HS_OK);
    EXPECT_ST(hs_cap_derive(g, HS_CAP_SEND | HS_CAP_GRANT, 5, &sg), HS_OK);
    EXPECT_ST(hs_cap_derive(g, HS_CAP_SEND, 0, &nogrant), HS_OK);
    status[0] = names_register(1, "svc", nogrant);      /* no grant */
    status[1] = names_register(1, "", g);
    status[2] = names_register(1, NULL, g);
    status[3] = names_register(1,
        "a-name-of-forty-eight-bytes-is-one-too-long-xxxx", g);
    hs_thread_sleep(2000000);   /* the client's first lookups fail */
    status[4] = names_register(1, "svc", sg);
    when[4] = hs_time_now();
    status[5] = names_register(1, "svc", sg);            /* taken */
    uint64_t label = 0;
    EXPECT_ST(hs_ipc_recv(g, HS_NEVER, &label), HS_OK);
    word[5] = label;
    word[6] = hs_utcb()->mr[0];
    hs_utcb()->tag = HS_TAG(0, 1);
    hs_utcb()->mr[0] = word[6] + 1;
    EXPECT_ST(hs_ipc_reply(), HS_OK);
    return 0;
}

static int client(void *arg)
{
    (void)arg;
    hs_cap_t svc = 0;
    status[10] = names_lookup(1, "svc", HS_CAP_SEND, HS_NOWAIT, &svc);
    status[11] = names_lookup(1, "svc", HS_CAP_SEND, 500000, &svc);
    when[11] = hs_time_now();
    status[12] = names_lookup(1, "svc", HS_CAP_SEND, HS_NEVER, &svc);
    when[12] = hs_time_now();
    status[13] = names_lookup(1, "svc", HS_CAP_SEND | HS_CAP_RECV,
                              HS_NOWAIT, &svc);
    status[14] = names_lookup(1, "svc", 0, HS_NOWAIT, &svc);
    hs_cap_info info;
    memset(&info, 0, sizeof info);
    EXPECT_ST(hs_cap_info_get(svc, &info), HS_OK);
    word[14] = info.rights;
    hs_utcb()->tag = HS_TAG(0, 1);
    hs_utcb()->mr[0] = 41;
    status[15] = hs_ipc_call(svc, HS_NEVER, HS_NEVER);
    word[15] = hs_utcb()->mr[0];
    status[16] = names_unregister(1, "svc");         /* not ours */
    status[17] = names_unregister(1, "nothing");
    status[18] = names_lookup(1, "svc", HS_CAP_SEND, HS_TIMEOUT_MAX + 1,
                              &svc);
    return 0;
}

static int ns_main(void *arg)
{
    (void)arg;
    hs_tid_t t = 0;
    hs_cap_t gate = 0;
    EXPECT_ST(hs_thread_create(ns_thread, NULL, NULL, &t), HS_OK);
    EXPECT_ST(hs_gate_create(t, 0, &gate), HS_OK);
    word[40] = gate;
    hs_pid_t s = 0, c = 0;
    EXPECT_ST(spawn_client("service", service, 1, &s), HS_OK);
    EXPECT_ST(spawn_client("client", client, 2, &c), HS_OK);
    EXPECT_ST(hs_proc_wait(c, HS_NEVER, NULL), HS_OK);
    EXPECT_ST(hs_proc_wait(s, HS_NEVER, NULL), HS_OK);
    /* The service ended: its registration is dropped at the next lookup. */
    hs_cap_t dead = 0;
    status[20] = names_lookup(1, "svc", HS_CAP_SEND, HS_NOWAIT, &dead);
    /* Fill the server; one more is refused; free one, it fits again. */
    hs_cap_t mine = 0;
    EXPECT_ST(hs_gate_create(0, 0, &mine), HS_OK);
    char name[16];
    int ok = 0;
    for (int i = 0; i < NAMES_CAPACITY; i++) {
        snprintf(name, sizeof name, "n%d", i);
        ok += names_register(1, name, mine) == HS_OK;
    }
    word[21] = (uint64_t)ok;
    status[22] = names_register(1, "one-more", mine);
    status[23] = names_unregister(1, "n7");
    status[24] = names_register(1, "one-more", mine);
    /* Only the stop label stops it. */
    hs_cap_t other = 0;
    EXPECT_ST(hs_cap_derive(1, HS_CAP_SEND, 3, &other), HS_OK);
    status[25] = names_stop(other);
    status[26] = names_stop(1);
    EXPECT_ST(hs_thread_join(t, HS_NEVER, NULL), HS_OK);
    return 0;
}

static void test_name_server(void **state)
{
    (void)state;
    run_main(ns_main);
    assert_int_equal(word[40], 1);          /* the gate is capability 1 */
    assert_int_equal(status[0], HS_EPERM);
    assert_int_equal(status[1], HS_EINVAL);
    assert_int_equal(status[2], HS_EINVAL);
    assert_int_equal(status[3], HS_EINVAL);
    assert_int_equal(status[4], HS_OK);
    assert_int_equal(when[4], 2000000);
    assert_int_equal(status[5], HS_EEXIST);
    /* Lookups: not there yet, timed out at exactly 500000 ns (the
     * call's receive timeout), then held and answered by the
     * registration at 2000000 ns, at that time. */
    assert_int_equal(status[10], HS_ENOPORT);
    assert_int_equal(status[11], HS_ETIMEOUT);
    assert_int_equal(when[11], 500000);
    assert_int_equal(status[12], HS_OK);
    assert_int_equal(when[12], 2000000);
    assert_int_equal(status[13], HS_EPERM);     /* more than registered */
    assert_int_equal(status[14], HS_EINVAL);
    assert_int_equal(word[14], HS_CAP_SEND);
    assert_int_equal(status[15], HS_OK);
    assert_int_equal(word[5], 5);               /* the service's label */
    assert_int_equal(word[6], 41);
    assert_int_equal(word[15], 42);
    assert_int_equal(status[16], HS_EPERM);
    assert_int_equal(status[17], HS_ENOPORT);
    assert_int_equal(status[18], HS_EINVAL);
    assert_int_equal(status[20], HS_ENOPORT);
    assert_int_equal(word[21], NAMES_CAPACITY);
    assert_int_equal(status[22], HS_ELIMIT);
    assert_int_equal(status[23], HS_OK);
    assert_int_equal(status[24], HS_OK);
    assert_int_equal(status[25], HS_EPERM);
    assert_int_equal(status[26], HS_OK);
    assert_int_equal(status[63], HS_OK);
}

/* ---- 3. answers lost to a caller that gave up ----------------------------- */

/* The reply-timeout fault fires at the reply the seed draws from the
 * first window replies of the run (window 1: the first): that caller's
 * call ends with HS_ETIMEOUT just before the answer lands, after the
 * server acted on the request.  A held lookup answered later
 * (hs_ipc_reply_to) is no such reply. */
static hs_sim_summary run_lost_answer(hs_entry_fn entry, unsigned window,
                                      uint64_t seed)
{
    reset();
    hs_sim_config cfg = tu_config();
    cfg.seed = seed;
    cfg.faults = HS_FAULT_REPLY_TIMEOUT;
    cfg.fault_window = window;
    tu_run_one(&cfg, "init", entry, NULL, NULL);
    hs_sim_summary sum = tu_summary();
    assert_int_equal(sum.nfaults, 1);
    assert_true(sum.faults[0].fired);
    return sum;
}

/* The service registers "svc" (after a nap, unless arg says at once),
 * then answers one call with its word plus one. */
static int lost_service(void *arg)
{
    hs_cap_t g = 0, sg = 0;
    EXPECT_ST(hs_gate_create(0, 5, &g), HS_OK);
    EXPECT_ST(hs_cap_derive(g, HS_CAP_SEND | HS_CAP_GRANT, 5, &sg), HS_OK);
    if (!arg)
        hs_thread_sleep(2000000);
    status[30] = names_register(1, "svc", sg);
    if (status[30] != HS_OK)
        return 1;
    status[31] = names_register(1, "svc", sg);      /* still taken */
    uint64_t label = 0;
    status[32] = hs_ipc_recv(g, HS_NEVER, &label);
    hs_utcb()->tag = HS_TAG(0, 1);
    hs_utcb()->mr[0] += 1;
    EXPECT_ST(hs_ipc_reply(), HS_OK);
    return 0;
}

/* The client looks "svc" up, waiting for as long as it takes (after a
 * nap if arg says so), calls it, and unregisters a name not its own. */
static int lost_client(void *arg)
{
    hs_cap_t svc = 0;
    if (arg)
        hs_thread_sleep(1000000);
    status[40] = names_lookup(1, "svc", HS_CAP_SEND, 20000000, &svc);
    if (status[40] != HS_OK)
        return 1;
    hs_utcb()->tag = HS_TAG(0, 1);
    hs_utcb()->mr[0] = 41;
    status[41] = hs_ipc_call(svc, HS_NEVER, HS_NEVER);
    word[41] = hs_utcb()->mr[0];
    status[42] = names_unregister(1, "svc");
    return 0;
}

/* init: the name server in a thread below init's priority (so its gate,
 * capability 1, exists before it serves under any seed), then the
 * service and the client; arg: the service registers first. */
static int lost_main(void *arg)
{
    hs_tid_t t = 0;
    hs_cap_t gate = 0;
    hs_thread_attr a = { .priority = HS_PRIO_DEFAULT - 1 };
    EXPECT_ST(hs_thread_create(ns_thread, NULL, &a, &t), HS_OK);
    EXPECT_ST(hs_gate_create(t, 0, &gate), HS_OK);
    word[50] = gate;
    hs_pid_t s = 0, c = 0;
    hs_cap_t mine = 0;
    EXPECT_ST(hs_cap_derive(1, HS_CAP_SEND | HS_CAP_GRANT, 1, &mine), HS_OK);
    hs_proc_attr at = { .caps = &mine, .ncaps = 1 };
    EXPECT_ST(hs_proc_spawn("service", lost_service, arg, &at, &s), HS_OK);
    EXPECT_ST(hs_cap_derive(1, HS_CAP_SEND | HS_CAP_GRANT, 2, &mine), HS_OK);
    EXPECT_ST(hs_proc_spawn("client", lost_client, arg, &at, &c), HS_OK);
    EXPECT_ST(hs_proc_wait(c, HS_NEVER, NULL), HS_OK);
    EXPECT_ST(hs_proc_wait(s, HS_NEVER, NULL), HS_OK);
    status[51] = names_stop(1);
    EXPECT_ST(hs_thread_join(t, HS_NEVER, NULL), HS_OK);
    return 0;
}

static int lost_main_registers_first(void *arg)
{
    (void)arg;
    return lost_main((void *)1);
}

/* The service registers at once (its answer and that of its second
 * registration are the run's first two replies); the client's lookup,
 * a millisecond later, is answered at once, and is the third, which the
 * fault (window 3, seed 2: the third) takes.  The lookup waits with a
 * deadline 20 ms on: a timeout before it is a lost answer, and the
 * lookup is sent again; it must find the service and call it, or the
 * service would wait for its call until its end. */
static void test_name_server_lookup_survives_a_lost_answer(void **state)
{
    (void)state;
    hs_sim_summary sum = run_lost_answer(lost_main_registers_first, 3, 2);
    assert_string_equal(sum.faults[0].victim_name, "client");
    assert_int_equal(sum.faults[0].at, 3);
    assert_int_equal(word[50], 1);
    assert_int_equal(status[30], HS_OK);
    assert_int_equal(status[31], HS_EEXIST);
    assert_int_equal(status[40], HS_OK);
    assert_int_equal(status[41], HS_OK);
    assert_int_equal(word[41], 42);
    assert_int_equal(status[42], HS_EPERM);
    assert_int_equal(status[51], HS_OK);
    assert_int_equal(status[63], HS_OK);
}

/* The service's registration loses its answer after the server took the
 * name: the registration sent again is the same one, HS_OK, and the
 * client finds the capability registered the first time. */
static void test_name_server_registration_survives_a_lost_answer(void **state)
{
    (void)state;
    hs_sim_summary sum = run_lost_answer(lost_main_registers_first, 1, 1);
    assert_string_equal(sum.faults[0].victim_name, "service");
    assert_int_equal(status[30], HS_OK);
    assert_int_equal(status[31], HS_EEXIST);
    assert_int_equal(status[32], HS_OK);
    assert_int_equal(status[40], HS_OK);
    assert_int_equal(status[41], HS_OK);
    assert_int_equal(word[41], 42);
    assert_int_equal(status[51], HS_OK);
    assert_int_equal(status[63], HS_OK);
}

/* The client's lookup, before the registration, is held; the first reply
 * of the run is the registration's, which loses its answer.  The held
 * lookup is answered by the first registration, and the registration
 * sent again is HS_OK. */
static void test_name_server_held_lookup_and_a_lost_registration(void **state)
{
    (void)state;
    hs_sim_summary sum = run_lost_answer(lost_main, 1, 1);
    assert_string_equal(sum.faults[0].victim_name, "service");
    assert_int_equal(status[30], HS_OK);
    assert_int_equal(status[31], HS_EEXIST);
    assert_int_equal(status[40], HS_OK);
    assert_int_equal(status[41], HS_OK);
    assert_int_equal(word[41], 42);
    assert_int_equal(status[42], HS_EPERM);
    assert_int_equal(status[51], HS_OK);
    assert_int_equal(status[63], HS_OK);
}

/* ---- 4. lookups held until the registration --------------------------------- */

/* The events of a run that tell held lookups apart: each kept reply, and
 * each answer to one by its status. */
static struct {
    uint64_t keeps;
    uint64_t reply_to[HS_STATUS_COUNT];
    hs_time_t last_stale;           /* the last HS_ESTALE answer's time */
} ev;

static void ev_count(void *cookie, const hs_event *e)
{
    (void)cookie;
    if (strcmp(e->kind, "ipc_reply_keep") == 0)
        ev.keeps++;
    else if (strcmp(e->kind, "ipc_reply_to") == 0 && e->b < HS_STATUS_COUNT)
        ev.reply_to[e->b]++;
    if (strcmp(e->kind, "ipc_reply_to") == 0 && e->b == HS_ESTALE)
        ev.last_stale = e->time;
}

/* Run entry(arg) counting those events; the run's summary. */
static hs_sim_summary run_counted(hs_entry_fn entry, void *arg)
{
    reset();
    memset(&ev, 0, sizeof ev);
    hs_sim_config cfg = tu_config();
    cfg.event_fn = ev_count;
    tu_run_one(&cfg, "init", entry, arg, NULL);
    return tu_summary();
}

/* Kept replies never answered, or answered with a message refused (they
 * stay kept): 0 when every kept reply was freed. */
static uint64_t ev_kept_left(void)
{
    return ev.keeps - ev.reply_to[HS_OK] - ev.reply_to[HS_ESTALE];
}

static hs_time_t late_at;           /* when "late" is registered */

/* Registers its gate as "late" at late_at, and ends 20 ms later (its
 * gate with it: a registration of a gate gone would not be handed out). */
static int late_service(void *arg)
{
    (void)arg;
    hs_cap_t g = 0, sg = 0;
    EXPECT_ST(hs_gate_create(0, 5, &g), HS_OK);
    EXPECT_ST(hs_cap_derive(g, HS_CAP_SEND | HS_CAP_GRANT, 5, &sg), HS_OK);
    hs_thread_sleep(late_at);
    status[0] = names_register(1, "late", sg);
    when[0] = hs_time_now();
    hs_thread_sleep(20 * HS_MSEC);
    return 0;
}

/* Looks "late" up, waiting for ever (arg 0) or 10 ms (arg 1). */
static int late_client(void *arg)
{
    hs_cap_t svc = 0;
    int i = 1 + tu_arg_id(arg);
    status[i] = names_lookup(1, "late", HS_CAP_SEND,
                             tu_arg_id(arg) ? 10 * HS_MSEC : HS_NEVER, &svc);
    when[i] = hs_time_now();
    return 0;
}

static int late_main(void *arg)
{
    (void)arg;
    hs_tid_t t = 0;
    hs_cap_t gate = 0;
    hs_thread_attr a = { .priority = HS_PRIO_DEFAULT - 1 };
    EXPECT_ST(hs_thread_create(ns_thread, NULL, &a, &t), HS_OK);
    EXPECT_ST(hs_gate_create(t, 0, &gate), HS_OK);
    hs_pid_t s = 0, c0 = 0, c1 = 0;
    EXPECT_ST(spawn_client_arg("client", late_client, tu_id_arg(0), 1, &c0),
              HS_OK);
    EXPECT_ST(spawn_client_arg("client", late_client, tu_id_arg(1), 2, &c1),
              HS_OK);
    EXPECT_ST(spawn_client("service", late_service, 3, &s), HS_OK);
    EXPECT_ST(hs_proc_wait(c0, HS_NEVER, NULL), HS_OK);
    EXPECT_ST(hs_proc_wait(c1, HS_NEVER, NULL), HS_OK);
    EXPECT_ST(hs_proc_wait(s, HS_NEVER, NULL), HS_OK);
    status[51] = names_stop(1);
    EXPECT_ST(hs_thread_join(t, HS_NEVER, NULL), HS_OK);
    return 0;
}

/* Two lookups issued at time 0, before the registration (one waiting for
 * ever, one 10 ms), are held and answered when the name is registered,
 * at that very time, not at some later tick; the run's events do not
 * grow with the wait (nobody polls), and both kept replies are freed. */
static void test_name_server_lookup_is_answered_at_the_registration(void **state)
{
    (void)state;
    late_at = 2500000;
    hs_sim_summary early = run_counted(late_main, NULL);
    assert_int_equal(status[0], HS_OK);
    assert_int_equal(when[0], 2500000);
    assert_int_equal(status[1], HS_OK);
    assert_int_equal(when[1], 2500000);
    assert_int_equal(status[2], HS_OK);
    assert_int_equal(when[2], 2500000);
    assert_int_equal(status[51], HS_OK);
    assert_int_equal(status[63], HS_OK);
    assert_int_equal(ev.keeps, 2);
    assert_int_equal(ev.reply_to[HS_OK], 2);
    assert_int_equal(ev_kept_left(), 0);

    late_at = 9 * HS_MSEC;              /* still before the 10 ms one gives up */
    hs_sim_summary late = run_counted(late_main, NULL);
    assert_int_equal(when[1], 9 * HS_MSEC);
    assert_int_equal(when[2], 9 * HS_MSEC);
    assert_int_equal(status[2], HS_OK);
    assert_int_equal(late.events, early.events);
    assert_int_equal(ev_kept_left(), 0);
}

/* What a held lookup may end with other than its name: */
static int gave_up_client(void *arg)
{
    hs_cap_t svc = 0;
    switch (tu_arg_id(arg)) {
    case 0:     /* its deadline passes: HS_ETIMEOUT at it */
        status[10] = names_lookup(1, "a", HS_CAP_SEND, HS_MSEC, &svc);
        when[10] = hs_time_now();
        break;
    case 1:     /* cancelled by another thread: HS_ECANCELED */
        status[11] = names_lookup(1, "b", HS_CAP_SEND, HS_NEVER, &svc);
        when[11] = hs_time_now();
        break;
    case 2:     /* its process ends under it: no status */
        status[12] = names_lookup(1, "c", HS_CAP_SEND, HS_NEVER, &svc);
        break;
    case 3:     /* more rights than the registration carries: HS_EPERM */
        status[13] = names_lookup(1, "e", HS_CAP_SEND | HS_CAP_RECV,
                                  HS_NEVER, &svc);
        when[13] = hs_time_now();
        break;
    default:    /* the server stops while it waits: HS_EPARTNER */
        status[14] = names_lookup(1, "d", HS_CAP_SEND, HS_NEVER, &svc);
        when[14] = hs_time_now();
    }
    return 0;
}

/* A client process: looks up "a" (1 ms) and "b" (cancelled at 1 ms), and
 * "c" in a thread its process's end at 1 ms takes. */
static int gave_up_proc(void *arg)
{
    (void)arg;
    hs_tid_t a = tu_mk(gave_up_client, tu_id_arg(0), 0);
    hs_tid_t b = tu_mk(gave_up_client, tu_id_arg(1), 0);
    (void)tu_mk(gave_up_client, tu_id_arg(2), 0);
    hs_thread_sleep(HS_MSEC);
    status[20] = hs_ipc_cancel(b);
    tu_join(a);
    tu_join(b);
    hs_proc_exit(0);
}

static int other_proc(void *arg)
{
    hs_tid_t t = tu_mk(gave_up_client, arg, 0);
    tu_join(t);
    return 0;
}

static int gave_up_main(void *arg)
{
    (void)arg;
    hs_tid_t t = 0;
    hs_cap_t gate = 0, g = 0;
    hs_thread_attr a = { .priority = HS_PRIO_DEFAULT - 1 };
    EXPECT_ST(hs_thread_create(ns_thread, NULL, &a, &t), HS_OK);
    EXPECT_ST(hs_gate_create(t, 0, &gate), HS_OK);
    EXPECT_ST(hs_gate_create(0, 5, &g), HS_OK);     /* registered below */
    hs_pid_t p = 0, e = 0, d = 0;
    EXPECT_ST(spawn_client("client", gave_up_proc, 1, &p), HS_OK);
    EXPECT_ST(spawn_client_arg("client", other_proc, tu_id_arg(3), 2, &e),
              HS_OK);
    EXPECT_ST(spawn_client_arg("client", other_proc, tu_id_arg(4), 3, &d),
              HS_OK);
    hs_cap_t send = 0;
    EXPECT_ST(hs_cap_derive(g, HS_CAP_SEND | HS_CAP_GRANT, 0, &send), HS_OK);
    EXPECT_ST(hs_proc_wait(p, HS_NEVER, NULL), HS_OK);
    hs_thread_sleep(HS_MSEC);                       /* now 2 ms */
    /* The registrations answer the held lookups of callers that gave up:
     * HS_ESTALE, dropped; and the one that asked for too much. */
    status[21] = names_register(1, "b", send);
    status[22] = names_register(1, "c", send);
    status[23] = names_register(1, "e", send);
    EXPECT_ST(hs_proc_wait(e, HS_NEVER, NULL), HS_OK);
    hs_thread_sleep(HS_MSEC);                       /* stop at 3 ms */
    status[51] = names_stop(1);
    EXPECT_ST(hs_proc_wait(d, HS_NEVER, NULL), HS_OK);
    EXPECT_ST(hs_thread_join(t, HS_NEVER, NULL), HS_OK);
    return 0;
}

/* Held lookups whose callers timed out, were cancelled or ended are
 * dropped (their kept replies answer HS_ESTALE and are freed: the one
 * whose deadline passed at the next request, at 2 ms), one that
 * asks for more than is registered is told HS_EPERM when the name
 * comes, and those held when the server stops are answered HS_EPARTNER:
 * no kept reply outlives the server. */
static void test_name_server_drops_lookups_whose_callers_gave_up(void **state)
{
    (void)state;
    run_counted(gave_up_main, NULL);
    assert_int_equal(status[10], HS_ETIMEOUT);
    assert_int_equal(when[10], HS_MSEC);
    assert_int_equal(status[20], HS_OK);
    assert_int_equal(status[11], HS_ECANCELED);
    assert_int_equal(when[11], HS_MSEC);
    assert_int_equal(status[12], HS_STATUS_COUNT);  /* never returned */
    assert_int_equal(status[21], HS_OK);
    assert_int_equal(status[22], HS_OK);
    assert_int_equal(status[23], HS_OK);
    assert_int_equal(status[13], HS_EPERM);
    assert_int_equal(when[13], 2 * HS_MSEC);
    assert_int_equal(status[51], HS_OK);
    assert_int_equal(status[14], HS_EPARTNER);
    assert_int_equal(when[14], 3 * HS_MSEC);
    assert_int_equal(status[63], HS_OK);
    assert_int_equal(ev.keeps, 5);
    assert_int_equal(ev.reply_to[HS_ESTALE], 3);    /* a, b, c */
    assert_int_equal(ev.last_stale, 2 * HS_MSEC);
    assert_int_equal(ev.reply_to[HS_EPERM], 1);     /* e's capability */
    assert_int_equal(ev.reply_to[HS_OK], 2);        /* e's status, d */
    assert_int_equal(ev_kept_left(), 0);
}

/* NAMES_HELD_MAX + 1 threads look "late" up before it is registered: one
 * is refused HS_ELIMIT at once, the others are held and all answered
 * by the registration. */
static int many_client(void *arg)
{
    hs_cap_t svc = 0;
    int i = tu_arg_id(arg);
    status[i] = names_lookup(1, "late", HS_CAP_SEND, HS_NEVER, &svc);
    when[i] = hs_time_now();
    return 0;
}

static int many_proc(void *arg)
{
    (void)arg;
    hs_tid_t t[NAMES_HELD_MAX + 1];
    for (int i = 0; i <= NAMES_HELD_MAX; i++)
        t[i] = tu_mk(many_client, tu_id_arg(i), 0);
    for (int i = 0; i <= NAMES_HELD_MAX; i++)
        tu_join(t[i]);
    return 0;
}

static int many_main(void *arg)
{
    (void)arg;
    hs_tid_t t = 0;
    hs_cap_t gate = 0;
    hs_thread_attr a = { .priority = HS_PRIO_DEFAULT - 1 };
    EXPECT_ST(hs_thread_create(ns_thread, NULL, &a, &t), HS_OK);
    EXPECT_ST(hs_gate_create(t, 0, &gate), HS_OK);
    hs_pid_t c = 0, s = 0;
    late_at = HS_MSEC;
    EXPECT_ST(spawn_client("client", many_proc, 1, &c), HS_OK);
    EXPECT_ST(spawn_client("service", late_service, 2, &s), HS_OK);
    EXPECT_ST(hs_proc_wait(c, HS_NEVER, NULL), HS_OK);
    EXPECT_ST(hs_proc_wait(s, HS_NEVER, NULL), HS_OK);
    status[NAMES_HELD_MAX + 1] = names_stop(1);
    EXPECT_ST(hs_thread_join(t, HS_NEVER, NULL), HS_OK);
    return 0;
}

static void test_name_server_holds_at_most_names_held_max(void **state)
{
    (void)state;
    _Static_assert(NAMES_HELD_MAX + 2 < NREC, "a record each");
    run_counted(many_main, NULL);
    int ok = 0, limit = 0;
    for (int i = 0; i <= NAMES_HELD_MAX; i++) {
        if (status[i] == HS_OK && when[i] == HS_MSEC)
            ok++;
        if (status[i] == HS_ELIMIT && when[i] == 0)
            limit++;
    }
    assert_int_equal(ok, NAMES_HELD_MAX);
    assert_int_equal(limit, 1);
    assert_int_equal(status[NAMES_HELD_MAX + 1], HS_OK);
    assert_int_equal(ev.keeps, NAMES_HELD_MAX);
    assert_int_equal(ev_kept_left(), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        TU_TEST(test_initial_caps),
        TU_TEST(test_initial_caps_need_a_parent),
        TU_TEST(test_name_server),
        TU_TEST(test_name_server_lookup_survives_a_lost_answer),
        TU_TEST(test_name_server_registration_survives_a_lost_answer),
        TU_TEST(test_name_server_held_lookup_and_a_lost_registration),
        TU_TEST(test_name_server_lookup_is_answered_at_the_registration),
        TU_TEST(test_name_server_drops_lookups_whose_callers_gave_up),
        TU_TEST(test_name_server_holds_at_most_names_held_max),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
