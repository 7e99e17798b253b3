/*
 * tests/sweep/scenarios.c - the seeded scenarios of the sweep, built from
 * the examples: the name server (examples/servers/names.h), the racy
 * example's fixed counter (examples/racy.h) and large messages
 * (examples/lib/largemsg.h); the gallery's scenarios are in files of
 * their own (lock.c, supervisor.c, pubsub.c, posix.c).
 *
 * Each is written to end under any fault the seed injects: every wait that
 * could wait on a killed partner has a timeout, or ends when the partner's
 * end of a channel goes.  check() asserts what must hold whatever fault
 * fired, and the exact result of the example when none did.  Simulated
 * threads only record; check() runs on the host after the run.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "examples/lib/largemsg.h"
#include "examples/racy.h"
#include "examples/servers/names.h"

#include "sweep.h"

static char why_buf[256];

hs_status sweep_why(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why_buf, sizeof why_buf, fmt, ap);
    va_end(ap);
    return HS_ECHECK;
}

const char *sweep_why_text(void)
{
    return why_buf;
}

hs_status sweep_ns_thread_start(hs_entry_fn serve, hs_tid_t *t,
                                hs_cap_t *gate)
{
    hs_thread_attr a = { .name = "names", .priority = HS_PRIO_DEFAULT - 1 };
    hs_status st = hs_thread_create(serve, NULL, &a, t);
    if (st == HS_OK)
        st = hs_gate_create(*t, 0, gate);
    return st == HS_OK && *gate != 1 ? HS_EINVAL : st;
}

/* ---- the name server ---------------------------------------------------- */

/* init runs the server in a thread of its own (its gate is init's
 * capability 1, label 0: the stop label); "service" registers its gate as
 * "svc" and answers one call; "client" looks it up and calls it.  Nothing
 * sleeps: a lookup before the registration is held by the server and
 * answered at the registration's time. */
static struct {
    hs_status serve;        /* names_serve() */
    hs_status stop;         /* names_stop() */
    hs_status reg;          /* the service's registration */
    hs_time_t reg_at;       /* when it was answered */
    hs_status lookup;       /* the client's lookup */
    hs_time_t lookup_at;    /* when it was answered */
    hs_status call;         /* the client's call of the service */
    uint64_t reply;
    hs_status unreg;        /* unregistering a name not the client's */
    int ended;              /* init reached its end */
} nm;

#define NM_WAIT (20 * HS_MSEC)

static int nm_server(void *arg)
{
    (void)arg;
    nm.serve = names_serve(1, 0);
    return 0;
}

static int nm_service(void *arg)
{
    (void)arg;
    hs_cap_t g = 0, sg = 0;
    if (hs_gate_create(0, 5, &g) != HS_OK ||
        hs_cap_derive(g, HS_CAP_SEND | HS_CAP_GRANT, 5, &sg) != HS_OK)
        return 1;
    nm.reg = names_register(1, "svc", sg);
    nm.reg_at = hs_time_now();
    if (nm.reg != HS_OK)
        return 1;
    hs_utcb_t *u = hs_utcb();
    if (hs_ipc_recv(g, NM_WAIT, NULL) != HS_OK)
        return 1;
    u->tag = HS_TAG(0, 1);
    u->mr[0] += 1;
    return hs_ipc_reply() == HS_OK ? 0 : 1;
}

static int nm_client(void *arg)
{
    (void)arg;
    hs_cap_t svc = 0;
    nm.lookup = names_lookup(1, "svc", HS_CAP_SEND, NM_WAIT, &svc);
    nm.lookup_at = hs_time_now();
    if (nm.lookup != HS_OK)
        return 1;
    hs_utcb_t *u = hs_utcb();
    u->tag = HS_TAG(0, 1);
    u->mr[0] = 41;
    nm.call = hs_ipc_call(svc, NM_WAIT, NM_WAIT);
    nm.reply = u->mr[0];
    nm.unreg = names_unregister(1, "svc");
    return 0;
}

static hs_status nm_spawn(const char *name, hs_entry_fn entry,
                          uint64_t label, hs_pid_t *pid)
{
    hs_cap_t mine = 0;
    hs_status st = hs_cap_derive(1, HS_CAP_SEND | HS_CAP_GRANT, label, &mine);
    hs_proc_attr at = { .caps = &mine, .ncaps = 1 };
    return st == HS_OK ? hs_proc_spawn(name, entry, NULL, &at, pid) : st;
}

static int nm_init(void *arg)
{
    (void)arg;
    hs_tid_t t = 0;
    hs_cap_t gate = 0;
    hs_pid_t s = 0, c = 0;
    if (sweep_ns_thread_start(nm_server, &t, &gate) != HS_OK)
        return 1;
    if (nm_spawn("service", nm_service, 1, &s) != HS_OK)
        s = 0;
    if (nm_spawn("client", nm_client, 2, &c) != HS_OK)
        c = 0;
    if (s)
        (void)hs_proc_wait(s, HS_NEVER, NULL);
    if (c)
        (void)hs_proc_wait(c, HS_NEVER, NULL);
    nm.stop = names_stop(1);
    (void)hs_thread_join(t, HS_NEVER, NULL);
    nm.ended = 1;
    return 0;
}

static hs_status nm_setup(void *arg)
{
    (void)arg;
    memset(&nm, 0xff, sizeof nm);
    nm.ended = 0;
    return hs_proc_spawn("init", nm_init, NULL, NULL, NULL);
}

static hs_status nm_check(void *arg, hs_status run)
{
    (void)arg;
    if (run != HS_OK)
        return sweep_why("run ended with %s", hs_strerror(run));
    /* Whoever else was killed or timed out, a living init stops its
     * server, which must still be answering. */
    if (nm.ended && (nm.stop != HS_OK || nm.serve != HS_OK))
        return sweep_why("name server not stopped cleanly: stop %s, serve "
                         "%s", hs_strerror(nm.stop), hs_strerror(nm.serve));
    if (sweep_fault_fired())
        return HS_OK;
    if (!nm.ended || nm.reg != HS_OK || nm.lookup != HS_OK ||
        nm.call != HS_OK || nm.reply != 42 || nm.unreg != HS_EPERM)
        return sweep_why("fault-free run: register %s, lookup %s, call %s "
                         "reply %llu, unregister %s",
                         hs_strerror(nm.reg), hs_strerror(nm.lookup),
                         hs_strerror(nm.call),
                         (unsigned long long)nm.reply, hs_strerror(nm.unreg));
    /* A lookup that came before the registration was held and answered
     * by it, at its time: nobody waited on the clock. */
    if (nm.lookup_at > nm.reg_at)
        return sweep_why("fault-free run: lookup answered at %llu ns, after "
                         "the registration at %llu ns",
                         (unsigned long long)nm.lookup_at,
                         (unsigned long long)nm.reg_at);
    return HS_OK;
}

/* ---- the racy example's fixed scenario ---------------------------------- */

static struct racy_state racy = {.fixed = 1};

static hs_status racy_fixed_check(void *arg, hs_status run)
{
    struct racy_state *s = arg;
    uint64_t want = (uint64_t)RACY_CLIENTS * RACY_ROUNDS;
    if (run != HS_OK)
        return sweep_why("run ended with %s", hs_strerror(run));
    /* A killed client or a timed-out call loses increments, never adds
     * any: each finished client added its rounds. */
    if (s->final > want || s->final < (uint64_t)s->done * RACY_ROUNDS)
        return sweep_why("counter %llu with %u of %d clients done",
                         (unsigned long long)s->final, s->done,
                         RACY_CLIENTS);
    if (!sweep_fault_fired() && racy_check(arg, run) != HS_OK)
        return sweep_why("fault-free run: counter %llu, %u clients done",
                         (unsigned long long)s->final, s->done);
    return HS_OK;
}

/* ---- large messages ----------------------------------------------------- */

#define LM_SRC ((uint64_t)0x10000000)
#define LM_DST ((uint64_t)0x20000000)
#define LM_PAGES 4u

static const unsigned lm_modes[] = {
    HS_XFER_MOVE, HS_XFER_SHARE, HS_XFER_COW, HS_XFER_COPY,
};

static struct {
    unsigned mode;          /* drawn from the seed */
    hs_status recv;         /* lm_recv */
    hs_status read[LM_PAGES];
    char page[LM_PAGES][16];
    hs_status release;
    hs_status sent;         /* lm_send */
    unsigned pending;       /* offers left when the receiver ended */
    int child_status;
    int ended;
} lm;

static int lm_receiver(void *arg)
{
    (void)arg;
    hs_chan c;
    lm_msg m;
    if (hs_chan_attach(1, HS_CHAN_RECEIVER, 0, &c) != HS_OK)
        return 1;
    lm.recv = lm_recv(&c, LM_DST, &m, HS_NEVER);
    if (lm.recv == HS_OK) {
        /* Touch every other page: a page never touched stays unmapped. */
        for (unsigned i = 0; i < LM_PAGES; i += 2)
            lm.read[i] = hs_mem_read(LM_DST + i * HS_PAGE_4K, lm.page[i],
                                     sizeof lm.page[i]);
        lm.release = lm_release(&m);
    }
    (void)hs_chan_detach(&c);
    return 0;
}

static int lm_sender(void *arg)
{
    (void)arg;
    hs_cap_t cap = 0, d = 0;
    hs_chan_attr a = { .slots = 4, .msg_max = 64, .kind = HS_CHAN_SPSC,
                       .overflow = HS_CHAN_BLOCK, .timeout = HS_NEVER };
    if (hs_chan_create(&a, &cap) != HS_OK ||
        hs_cap_derive(cap, HS_CAP_RECV | HS_CAP_GRANT, 0, &d) != HS_OK)
        return 1;
    hs_status st = hs_mem_map(LM_SRC, LM_PAGES * HS_PAGE_4K,
                              HS_PROT_READ | HS_PROT_WRITE, HS_PAGE_4K);
    for (unsigned i = 0; st == HS_OK && i < LM_PAGES; i++) {
        char b[16];
        snprintf(b, sizeof b, "page %u", i);
        st = hs_mem_write(LM_SRC + i * HS_PAGE_4K, b, sizeof b);
    }
    hs_proc_attr pa = { .caps = &d, .ncaps = 1 };
    hs_pid_t child = 0;
    if (hs_proc_spawn("receiver", lm_receiver, NULL, &pa, &child) != HS_OK)
        return 1;
    hs_chan c;
    if (hs_chan_attach(cap, HS_CHAN_SENDER, 0, &c) == HS_OK) {
        if (st == HS_OK)
            lm.sent = lm_send(&c, child, LM_SRC, LM_PAGES * HS_PAGE_4K - 100,
                              lm.mode, HS_PROT_READ | HS_PROT_WRITE);
        /* The receiver sees the end of the channel if nothing came. */
        if (lm.sent != HS_OK)
            (void)hs_chan_detach(&c);
    }
    (void)hs_proc_wait(child, HS_NEVER, &lm.child_status);
    (void)lm_offers_pending(&lm.pending);
    lm.ended = 1;
    return 0;
}

/* The transfer mode comes from the seed, so every mode is swept. */
static hs_status lm_setup(void *arg)
{
    (void)arg;
    memset(&lm, 0, sizeof lm);
    lm.mode = lm_modes[sweep_seed % (sizeof lm_modes / sizeof lm_modes[0])];
    lm.recv = lm.sent = lm.release = HS_STATUS_COUNT;
    lm.child_status = -1000;
    return hs_proc_spawn("sender", lm_sender, NULL, NULL, NULL);
}

static hs_status lm_check(void *arg, hs_status run)
{
    (void)arg;
    if (run != HS_OK)
        return sweep_why("run ended with %s", hs_strerror(run));
    if (sweep_fault_fired())
        return HS_OK;
    int pages_ok = 1;
    for (unsigned i = 0; i < LM_PAGES; i += 2) {
        char want[16];
        snprintf(want, sizeof want, "page %u", i);
        pages_ok &= lm.read[i] == HS_OK && strcmp(lm.page[i], want) == 0;
    }
    if (!lm.ended || lm.sent != HS_OK || lm.recv != HS_OK || !pages_ok ||
        lm.release != HS_OK || lm.child_status != 0 || lm.pending != 0)
        return sweep_why("fault-free run (mode %u): send %s, recv %s, pages "
                         "%s, release %s, child %d, offers left %u", lm.mode,
                         hs_strerror(lm.sent), hs_strerror(lm.recv),
                         pages_ok ? "ok" : "wrong", hs_strerror(lm.release),
                         lm.child_status, lm.pending);
    return HS_OK;
}

const hs_scenario sweep_scenarios[] = {
    {.name = "names", .setup = nm_setup, .check = nm_check},
    {.name = "racy-fixed", .setup = racy_setup, .check = racy_fixed_check,
     .arg = &racy},
    {.name = "posix", .setup = sweep_posix_setup,
     .check = sweep_posix_check},
    {.name = "largemsg", .setup = lm_setup, .check = lm_check},
    {.name = "lock", .setup = sweep_lock_setup, .check = sweep_lock_check},
    {.name = "supervisor", .setup = sweep_supervisor_setup,
     .check = sweep_supervisor_check},
    {.name = "pubsub", .setup = sweep_pubsub_setup,
     .check = sweep_pubsub_check},
    {.name = "ramfs", .setup = sweep_ramfs_setup,
     .check = sweep_ramfs_check},
    {.name = "blk", .setup = sweep_blk_setup, .check = sweep_blk_check},
    {.name = "pager", .setup = sweep_pager_setup,
     .check = sweep_pager_check},
};
const unsigned sweep_nscenarios =
    sizeof sweep_scenarios / sizeof sweep_scenarios[0];
