/*
 * tests/test_pages.c - page-unit sends (hopsim/pages.h): a move accepted
 * (the sender loses the range, the receiver maps the very frames), a move
 * abandoned or taken without the pages (the sender keeps them, its access
 * as bit 0 says), a duplicate leaving the sender read-only, the receiver's
 * access, the broadcast to all but self with 3 of 4 accepting and the
 * counts exact, a send to the sender's own process, a large page, every
 * bad input refused with the sender's mappings untouched, a receiver that
 * ends before deciding, timeouts, and a sender that ends while offering.
 *
 * Every run checks the whole memory state at every kernel exit
 * (cfg.mem_check), so the frames an offer holds are counted throughout;
 * after each run hs_mem_check() is HS_OK and the pool is whole again.
 * Simulated threads record what they saw; the test asserts afterwards.
 */
#include "testutil.h"

#define TYPE 7
#define SRC 0x10000000ull
#define DST 0x20000000ull
#define K4 HS_PAGE_4K
#define M2 HS_PAGE_2M
#define RW (HS_PROT_READ | HS_PROT_WRITE)
#define NRX 6

static const char text[] = "page-unit send";

/* What a receiver does with a page message. */
enum rx_mode {
    RX_ACCEPT,          /* accept at DST */
    RX_ABANDON,         /* hs_notify_abandon() */
    RX_TAKE_ONLY,       /* hs_notify_take() without the pages */
    RX_DIE,             /* its process ends inside the handler */
    RX_SLOW,            /* sleeps, then tries to accept: too late */
    RX_ACCEPT_CHECKED,  /* tries bad addresses first, then DST */
};

/* One receiving process: its mode in, what it saw out. */
struct rx {
    enum rx_mode mode;
    hs_pid_t pid;
    int ran;                    /* handler runs */
    hs_notification note;
    hs_status accept;           /* hs_pages_accept() at DST */
    hs_status again;            /* a second decision after it */
    hs_status bad[4];           /* RX_ACCEPT_CHECKED: bad attempts */
    hs_status query;            /* hs_mem_query(DST) after deciding */
    hs_mem_info info;
    hs_status probe_w;          /* hs_mem_probe(DST, write) */
    hs_status raise;            /* hs_mem_protect(DST, RW) */
    char data[sizeof text];
};

static struct rx rx[NRX];

/* The sender's records. */
static hs_status sent[16];
static unsigned taken[16];
static hs_mem_info before[16], after[16];
static hs_status query[16], probe[16];
static hs_pid_t other_pid;      /* a process with no registration */
static int self_ran;            /* the sender's own registered thread */

#define NEV 256
static struct {
    const char *kind;
    uint64_t a, b;
} ev[NEV];
static unsigned nev;

static void on_event(void *cookie, const hs_event *e)
{
    (void)cookie;
    if (nev >= NEV || strncmp(e->kind, "pages_", 6) != 0)
        return;
    ev[nev].kind = e->kind;
    ev[nev].a = e->a;
    ev[nev].b = e->b;
    nev++;
}

static unsigned count_events(const char *kind)
{
    unsigned n = 0;
    for (unsigned i = 0; i < nev; i++)
        n += strcmp(ev[i].kind, kind) == 0;
    return n;
}

static void reset(void)
{
    memset(rx, 0, sizeof rx);
    for (int i = 0; i < NRX; i++)
        rx[i].accept = rx[i].again = rx[i].query = HS_STATUS_COUNT;
    for (int i = 0; i < 16; i++) {
        sent[i] = query[i] = probe[i] = HS_STATUS_COUNT;
        taken[i] = 99;
    }
    memset(before, 0xa5, sizeof before);
    memset(after, 0xa5, sizeof after);
    other_pid = 0;
    self_ran = 0;
    nev = 0;
}

static void start(void)
{
    hs_sim_config cfg = tu_config();
    cfg.mem_size = 64ull << 20;
    cfg.mem_check = 1;
    cfg.event_fn = on_event;
    reset();
    tu_status_reset();
    assert_int_equal(hs_sim_start(&cfg), HS_OK);
}

/* Run what start() and the spawns set up: HS_OK, every status as
 * expected, the memory consistent and the pool whole again. */
static void run(void)
{
    assert_int_equal(hs_sim_run(), HS_OK);
    assert_no_bad_status();
    assert_int_equal(hs_mem_check(), HS_OK);
    hs_mem_stats s;
    assert_int_equal(hs_mem_stats_get(&s), HS_OK);
    assert_int_equal(s.free, s.pool);
}

static void sleep_ns(hs_time_t ns)
{
    EXPECT_ST(hs_thread_sleep(ns), HS_OK);
}

/* ---- the receiver ---------------------------------------------------------- */

static void after_decision(struct rx *r)
{
    r->query = hs_mem_query(0, DST, &r->info);
    r->probe_w = hs_mem_probe(DST, 1, HS_PROT_WRITE);
    if (r->query == HS_OK)
        EXPECT_ST(hs_mem_read(DST, r->data, sizeof r->data), HS_OK);
}

static void h_pages(void *cookie, const hs_notification *n)
{
    struct rx *r = cookie;
    hs_pages_offer_t offer = n->words[HS_PAGES_W_OFFER];
    r->ran++;
    r->note = *n;
    switch (r->mode) {
    case RX_ACCEPT_CHECKED:
        r->bad[0] = hs_pages_accept(offer, DST + 1);
        r->bad[1] = hs_pages_accept(offer + 1, DST);
        r->bad[2] = hs_pages_accept(offer, SRC);    /* mapped there */
        r->bad[3] = hs_pages_accept(offer, HS_VA_LIMIT);
        /* fall through */
    case RX_ACCEPT:
        r->accept = hs_pages_accept(offer, DST);
        r->again = hs_pages_accept(offer, DST + 16 * K4);
        r->raise = hs_mem_protect(DST, K4, RW);
        break;
    case RX_ABANDON:
        EXPECT_ST(hs_notify_abandon(), HS_OK);
        r->again = hs_pages_accept(offer, DST);
        break;
    case RX_TAKE_ONLY:
        EXPECT_ST(hs_notify_take(), HS_OK);
        r->again = hs_pages_accept(offer, DST);
        break;
    case RX_DIE:
        hs_proc_exit(5);
    case RX_SLOW:
        sleep_ns(1000);
        r->accept = hs_pages_accept(offer, DST);
        break;
    }
    after_decision(r);
    hs_notify_return();
}

/* A receiving process: registers, handles one message, ends. */
static int rx_main(void *arg)
{
    struct rx *r = arg;
    r->pid = hs_proc_self();
    EXPECT_ST(hs_notify_type_register(TYPE, h_pages, r), HS_OK);
    while (!r->ran)
        EXPECT_ST(hs_notify_wait(HS_NEVER), HS_OK);
    sleep_ns(1000);             /* its mapping outlives the sender's look */
    return 0;
}

static void spawn_rx(int i, enum rx_mode mode)
{
    rx[i].mode = mode;
    assert_int_equal(hs_proc_spawn("rx", rx_main, &rx[i], NULL, &rx[i].pid),
                     HS_OK);
}

/* ---- the sender's side ---------------------------------------------------- */

/* Map n pages at SRC, read/write, with text at the start. */
static void map_src(uint64_t n)
{
    EXPECT_ST(hs_mem_map(SRC, n * K4, RW, K4), HS_OK);
    EXPECT_ST(hs_mem_write(SRC, text, sizeof text), HS_OK);
}

static void send_at(int i, hs_pid_t pid, uint64_t n, unsigned flags,
                    hs_time_t timeout)
{
    EXPECT_ST(hs_mem_query(0, SRC, &before[i]), HS_OK);
    sent[i] = hs_pages_send(pid, TYPE, SRC, n, flags, timeout, &taken[i]);
    query[i] = hs_mem_query(0, SRC, &after[i]);
    probe[i] = hs_mem_probe(SRC, 1, HS_PROT_WRITE);
}

/* ---- 1. a move accepted ------------------------------------------------------ */

static int move_sender(void *arg)
{
    (void)arg;
    map_src(2);
    sleep_ns(10);
    send_at(0, rx[0].pid, 2, HS_PAGES_RECEIVER_RW | HS_PAGES_TO_ONE,
            HS_NEVER);
    return 0;
}

static void test_pages_move_to_one_accepted(void **state)
{
    (void)state;
    start();
    spawn_rx(0, RX_ACCEPT);
    assert_int_equal(hs_proc_spawn("tx", move_sender, NULL, NULL, NULL),
                     HS_OK);
    run();
    assert_int_equal(sent[0], HS_OK);
    assert_int_equal(taken[0], 1);
    assert_int_equal(query[0], HS_ENOMAP);      /* moved away */
    /* The message as the seed gives it to the handler. */
    assert_int_equal(rx[0].note.slot, HS_NOTIFY_TYPED);
    assert_int_equal(rx[0].note.type, TYPE);
    assert_int_equal(rx[0].note.n, HS_PAGES_WORDS);
    assert_int_equal(rx[0].note.words[HS_PAGES_W_TYPE], TYPE);
    assert_int_equal(rx[0].note.words[HS_PAGES_W_VA], SRC);
    assert_int_equal(rx[0].note.words[HS_PAGES_W_NPAGES], 2);
    assert_int_equal(rx[0].note.words[HS_PAGES_W_FLAGS],
                     HS_PAGES_RECEIVER_RW);
    assert_int_not_equal(rx[0].note.words[HS_PAGES_W_PID], 0);
    /* The receiver maps the very frame, read/write, with the data. */
    assert_int_equal(rx[0].accept, HS_OK);
    assert_int_equal(rx[0].again, HS_ESTATE);   /* decided already */
    assert_int_equal(rx[0].query, HS_OK);
    assert_int_equal(rx[0].info.pa, before[0].pa);
    assert_int_equal(rx[0].info.prot, RW);
    assert_int_equal(rx[0].info.refs, 1);
    assert_int_equal(rx[0].probe_w, HS_OK);
    assert_string_equal(rx[0].data, text);
    assert_int_equal(count_events("pages_send"), 1);
    assert_int_equal(count_events("pages_accept"), 1);
    assert_int_equal(count_events("pages_abandon"), 0);
}

/* ---- 2. a move abandoned ------------------------------------------------------ */

static int abandon_sender(void *arg)
{
    (void)arg;
    map_src(1);
    sleep_ns(10);
    /* Bit 0 clear: the sender keeps the page, read-only. */
    send_at(0, rx[0].pid, 1, HS_PAGES_TO_ONE, HS_NEVER);
    EXPECT_ST(hs_mem_protect(SRC, K4, RW), HS_OK);
    /* Bit 0 set: it keeps read/write. */
    send_at(1, rx[1].pid, 1, HS_PAGES_SENDER_RW, HS_NEVER);
    /* Taking the message without the pages abandons them. */
    send_at(2, rx[2].pid, 1, HS_PAGES_SENDER_RW, HS_NEVER);
    return 0;
}

static void test_pages_move_abandoned_stays_with_sender(void **state)
{
    (void)state;
    start();
    spawn_rx(0, RX_ABANDON);
    spawn_rx(1, RX_ABANDON);
    spawn_rx(2, RX_TAKE_ONLY);
    assert_int_equal(hs_proc_spawn("tx", abandon_sender, NULL, NULL, NULL),
                     HS_OK);
    run();
    for (int i = 0; i < 3; i++) {
        assert_int_equal(sent[i], HS_EABANDONED);
        assert_int_equal(taken[i], 0);
        assert_int_equal(query[i], HS_OK);
        assert_int_equal(after[i].pa, before[i].pa);
        assert_int_equal(after[i].refs, 1);
        assert_int_equal(rx[i].query, HS_ENOMAP);
        assert_int_equal(rx[i].again, HS_ESTATE);
    }
    assert_int_equal(after[0].prot, HS_PROT_READ);
    assert_int_equal(probe[0], HS_EFAULT);
    assert_int_equal(after[1].prot, RW);
    assert_int_equal(probe[1], HS_OK);
    assert_int_equal(after[2].prot, RW);
    assert_int_equal(count_events("pages_abandon"), 3);
    assert_int_equal(count_events("pages_accept"), 0);
}

/* ---- 3. a duplicate, the sender read-only afterwards ------------------------- */

static int dup_sender(void *arg)
{
    (void)arg;
    map_src(1);
    sleep_ns(10);
    send_at(0, rx[0].pid, 1, HS_PAGES_DUP | HS_PAGES_RECEIVER_RW, HS_NEVER);
    /* The receiver wrote into the shared frame; the sender sees it. */
    char seen[sizeof text];
    EXPECT_ST(hs_mem_read(SRC, seen, sizeof seen), HS_OK);
    sent[1] = memcmp(seen, "PAGE", 4) == 0 ? HS_OK : HS_EFAULT;
    probe[1] = hs_mem_probe(SRC, 1, HS_PROT_READ);
    return 0;
}

static void h_dup_writer(void *cookie, const hs_notification *n)
{
    struct rx *r = cookie;
    r->ran++;
    r->accept = hs_pages_accept(n->words[HS_PAGES_W_OFFER], DST);
    EXPECT_ST(hs_mem_write(DST, "PAGE", 4), HS_OK);
    after_decision(r);
    hs_notify_return();
}

static int dup_rx_main(void *arg)
{
    struct rx *r = arg;
    EXPECT_ST(hs_notify_type_register(TYPE, h_dup_writer, r), HS_OK);
    while (!r->ran)
        EXPECT_ST(hs_notify_wait(HS_NEVER), HS_OK);
    sleep_ns(1000);             /* its mapping outlives the sender's look */
    return 0;
}

static void test_pages_dup_leaves_sender_read_only(void **state)
{
    (void)state;
    start();
    assert_int_equal(hs_proc_spawn("rx", dup_rx_main, &rx[0], NULL,
                                   &rx[0].pid), HS_OK);
    assert_int_equal(hs_proc_spawn("tx", dup_sender, NULL, NULL, NULL),
                     HS_OK);
    run();
    assert_int_equal(sent[0], HS_OK);
    assert_int_equal(taken[0], 1);
    assert_int_equal(query[0], HS_OK);
    assert_int_equal(after[0].prot, HS_PROT_READ);
    assert_int_equal(after[0].pa, before[0].pa);
    assert_int_equal(after[0].refs, 2);         /* sender and receiver */
    assert_int_equal(probe[0], HS_EFAULT);      /* no write any more */
    assert_int_equal(probe[1], HS_OK);          /* reading is fine */
    assert_int_equal(sent[1], HS_OK);           /* the receiver's write */
    assert_int_equal(rx[0].accept, HS_OK);
    assert_int_equal(rx[0].info.pa, before[0].pa);
    assert_true(rx[0].info.flags & HS_MEM_SHARED);
    assert_int_equal(rx[0].probe_w, HS_OK);
}

/* ---- 4. the receiver's access ------------------------------------------------- */

static int access_sender(void *arg)
{
    (void)arg;
    map_src(1);
    sleep_ns(10);
    send_at(0, rx[0].pid, 1, HS_PAGES_DUP | HS_PAGES_SENDER_RW |
            HS_PAGES_RECEIVER_RW, HS_NEVER);
    send_at(1, rx[1].pid, 1, HS_PAGES_DUP | HS_PAGES_SENDER_RW, HS_NEVER);
    return 0;
}

static void test_pages_receiver_rw_or_read_only(void **state)
{
    (void)state;
    start();
    spawn_rx(0, RX_ACCEPT);
    spawn_rx(1, RX_ACCEPT);
    assert_int_equal(hs_proc_spawn("tx", access_sender, NULL, NULL, NULL),
                     HS_OK);
    run();
    assert_int_equal(sent[0], HS_OK);
    assert_int_equal(sent[1], HS_OK);
    assert_int_equal(after[1].prot, RW);        /* bit 0 set */
    assert_int_equal(rx[0].info.prot, RW);
    assert_int_equal(rx[0].info.max_prot, RW);
    assert_int_equal(rx[0].probe_w, HS_OK);
    assert_int_equal(rx[0].raise, HS_OK);
    assert_int_equal(rx[1].info.prot, HS_PROT_READ);
    assert_int_equal(rx[1].info.max_prot, HS_PROT_READ);
    assert_int_equal(rx[1].probe_w, HS_EFAULT);
    assert_int_equal(rx[1].raise, HS_EPERM);    /* cannot be raised */
    assert_string_equal(rx[1].data, text);
}

/* ---- 5. broadcast to all but self ---------------------------------------------- */

static void h_self(void *cookie, const hs_notification *n)
{
    (void)cookie;
    (void)n;
    self_ran++;
    hs_notify_return();
}

/* Another thread of the sender's process, registered for the type too:
 * all-but-self must pass it by. */
static int self_rx(void *arg)
{
    (void)arg;
    EXPECT_ST(hs_notify_type_register(TYPE, h_self, NULL), HS_OK);
    EXPECT_ST(hs_notify_wait(5000), HS_ETIMEOUT);
    return 0;
}

static int bystander(void *arg)
{
    (void)arg;
    other_pid = hs_proc_self();
    sleep_ns(100);
    return 0;
}

static int broadcast_sender(void *arg)
{
    (void)arg;
    EXPECT_ST(hs_thread_create(self_rx, NULL, NULL, NULL), HS_OK);
    map_src(2);
    sleep_ns(10);
    send_at(0, 0, 2, HS_PAGES_DUP | HS_PAGES_SENDER_RW | HS_PAGES_TO_OTHERS,
            HS_NEVER);
    query[1] = hs_mem_query(0, SRC + K4, &after[1]);
    return 0;
}

static void test_pages_broadcast_to_all_but_self(void **state)
{
    (void)state;
    start();
    spawn_rx(0, RX_ACCEPT);
    spawn_rx(1, RX_ABANDON);
    spawn_rx(2, RX_ACCEPT);
    spawn_rx(3, RX_ACCEPT);
    assert_int_equal(hs_proc_spawn("bystander", bystander, NULL, NULL,
                                   NULL), HS_OK);
    assert_int_equal(hs_proc_spawn("tx", broadcast_sender, NULL, NULL,
                                   NULL), HS_OK);
    run();
    assert_int_equal(sent[0], HS_OK);
    assert_int_equal(taken[0], 3);
    assert_int_equal(self_ran, 0);              /* not to itself */
    /* The sender keeps both pages, read/write, each frame counted once
     * per process that maps it: itself and the three that accepted. */
    assert_int_equal(query[0], HS_OK);
    assert_int_equal(after[0].prot, RW);
    assert_int_equal(after[0].refs, 4);
    assert_int_equal(query[1], HS_OK);
    assert_int_equal(after[1].refs, 4);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(rx[i].ran, 1);
        assert_int_equal(rx[i].note.words[HS_PAGES_W_NPAGES], 2);
    }
    for (int i = 0; i < 4; i += i == 0 ? 2 : 1) {
        assert_int_equal(rx[i].accept, HS_OK);
        assert_int_equal(rx[i].info.pa, before[0].pa);
        assert_int_equal(rx[i].info.prot, HS_PROT_READ);
        assert_string_equal(rx[i].data, text);
    }
    assert_int_equal(rx[1].query, HS_ENOMAP);   /* it abandoned */
    assert_int_equal(count_events("pages_send"), 1);
    assert_int_equal(ev[0].b, 4);               /* four receivers */
    assert_int_equal(count_events("pages_accept"), 3);
    assert_int_equal(count_events("pages_abandon"), 1);
}

/* ---- 6. to the sender's own process -------------------------------------------- */

static struct rx self_rec;

static int self_helper(void *arg)
{
    (void)arg;
    return rx_main(&self_rec);
}

static void h_own(void *cookie, const hs_notification *n)
{
    (void)cookie;
    self_ran++;
    (void)n;
    hs_notify_return();
}

static int self_sender(void *arg)
{
    (void)arg;
    map_src(1);
    hs_tid_t t = 0;
    EXPECT_ST(hs_thread_create(self_helper, NULL, NULL, &t), HS_OK);
    sleep_ns(10);
    send_at(0, 0, 1, HS_PAGES_TO_SELF, HS_NEVER);
    query[1] = hs_mem_query(0, DST, &after[1]);
    EXPECT_ST(hs_thread_join(t, HS_NEVER, NULL), HS_OK);
    /* Registered on the caller itself: it would wait for itself. */
    EXPECT_ST(hs_notify_type_register(TYPE, h_own, NULL), HS_OK);
    EXPECT_ST(hs_mem_map(SRC, K4, RW, K4), HS_OK);
    sent[2] = hs_pages_send(0, TYPE, SRC, 1, HS_PAGES_TO_SELF, HS_NEVER,
                            &taken[2]);
    sent[3] = hs_pages_send(0, TYPE, SRC, 1, HS_PAGES_DUP | HS_PAGES_TO_ALL,
                            HS_NEVER, &taken[3]);
    return 0;
}

static void test_pages_to_self(void **state)
{
    (void)state;
    start();
    memset(&self_rec, 0, sizeof self_rec);
    self_rec.mode = RX_ACCEPT_CHECKED;
    assert_int_equal(hs_proc_spawn("tx", self_sender, NULL, NULL, NULL),
                     HS_OK);
    run();
    assert_int_equal(sent[0], HS_OK);
    assert_int_equal(taken[0], 1);
    assert_int_equal(query[0], HS_ENOMAP);      /* moved from SRC ... */
    assert_int_equal(query[1], HS_OK);          /* ... to DST */
    assert_int_equal(after[1].pa, before[0].pa);
    assert_int_equal(after[1].prot, HS_PROT_READ);
    assert_int_equal(self_rec.bad[0], HS_EINVAL);
    assert_int_equal(self_rec.bad[1], HS_ESTALE);
    assert_int_equal(self_rec.bad[2], HS_EEXIST);   /* onto its own source */
    assert_int_equal(self_rec.bad[3], HS_ERANGE);
    assert_int_equal(self_rec.accept, HS_OK);
    assert_string_equal(self_rec.data, text);
    assert_int_equal(sent[2], HS_EDEADLK);
    assert_int_equal(sent[3], HS_EDEADLK);
    assert_int_equal(self_ran, 0);
}

/* ---- 7. a large page ------------------------------------------------------------ */

static int large_sender(void *arg)
{
    (void)arg;
    EXPECT_ST(hs_mem_map(SRC, M2, RW, M2), HS_OK);
    EXPECT_ST(hs_mem_write(SRC, text, sizeof text), HS_OK);
    sleep_ns(10);
    /* The whole 2M page, duplicated: held and mapped at 2M. */
    send_at(0, rx[0].pid, M2 / K4, HS_PAGES_DUP | HS_PAGES_SENDER_RW,
            HS_NEVER);
    /* Its first two 4K pages, moved: held at 4K, the sender's page split. */
    send_at(1, rx[1].pid, 2, HS_PAGES_SENDER_RW, HS_NEVER);
    query[2] = hs_mem_query(0, SRC + 2 * K4, &after[2]);
    return 0;
}

static void test_pages_large_page_kept_whole_or_split(void **state)
{
    (void)state;
    start();
    spawn_rx(0, RX_ACCEPT);
    spawn_rx(1, RX_ACCEPT);
    assert_int_equal(hs_proc_spawn("tx", large_sender, NULL, NULL, NULL),
                     HS_OK);
    run();
    assert_int_equal(sent[0], HS_OK);
    assert_int_equal(before[0].page, M2);
    assert_int_equal(rx[0].info.page, M2);
    assert_int_equal(rx[0].info.pa, before[0].pa);
    assert_int_equal(rx[0].info.refs, 2);       /* two at 2M */
    assert_int_equal(after[0].refs, 2);
    assert_int_equal(sent[1], HS_OK);
    assert_int_equal(query[1], HS_ENOMAP);      /* the two pages went */
    assert_int_equal(rx[1].info.page, K4);
    assert_int_equal(rx[1].info.pa, before[0].pa);
    assert_string_equal(rx[1].data, text);
    assert_int_equal(query[2], HS_OK);          /* the rest stays, in 4K */
    assert_int_equal(after[2].page, K4);
    assert_int_equal(after[2].pa, before[0].pa + 2 * K4);
}

/* ---- 8. bad input ------------------------------------------------------------------ */

static hs_status bad[24];
static hs_status host_send, host_accept;

static int bad_sender(void *arg)
{
    (void)arg;
    map_src(2);
    EXPECT_ST(hs_mem_map(SRC + 8 * K4, K4, HS_PROT_READ, K4), HS_OK);
    hs_mem_info b0, b1, a0, a1;
    EXPECT_ST(hs_mem_query(0, SRC, &b0), HS_OK);
    EXPECT_ST(hs_mem_query(0, SRC + K4, &b1), HS_OK);
    unsigned t = 77;
    hs_pid_t none = other_pid;  /* alive, no registration */
    int i = 0;
    bad[i++] = hs_pages_send(none, TYPE, SRC, 2, 0x20, HS_NEVER, &t);
    bad[i++] = hs_pages_send(0, TYPE, SRC, 2, HS_PAGES_TO_ALL, HS_NEVER, &t);
    bad[i++] = hs_pages_send(0, TYPE, SRC, 2, HS_PAGES_TO_OTHERS, HS_NEVER,
                             &t);
    bad[i++] = hs_pages_send(none, TYPE, SRC, 2, HS_PAGES_TO_SELF, HS_NEVER,
                             &t);
    bad[i++] = hs_pages_send(none, TYPE, SRC, 0, 0, HS_NEVER, &t);
    bad[i++] = hs_pages_send(none, TYPE, SRC + 1, 2, 0, HS_NEVER, &t);
    bad[i++] = hs_pages_send(none, TYPE, SRC, 2, 0, HS_TIMEOUT_MAX + 1, &t);
    bad[i++] = hs_pages_send(none, TYPE, SRC, ~0ull, 0, HS_NEVER, &t);
    bad[i++] = hs_pages_send(none, TYPE, HS_VA_LIMIT - K4, 2, 0, HS_NEVER,
                             &t);
    bad[i++] = hs_pages_send(none, TYPE, SRC, 3, 0, HS_NEVER, &t);
    bad[i++] = hs_pages_send(none, TYPE, SRC + 7 * K4, 2, 0, HS_NEVER, &t);
    bad[i++] = hs_pages_send(none, TYPE, SRC + 8 * K4, 1,
                             HS_PAGES_RECEIVER_RW, HS_NEVER, &t);
    bad[i++] = hs_pages_send(none + 1000, TYPE, SRC, 2, 0, HS_NEVER, &t);
    bad[i++] = hs_pages_send(none, TYPE, SRC, 2, 0, HS_NEVER, &t);
    bad[i++] = hs_pages_send(0, TYPE, SRC, 2, HS_PAGES_TO_SELF, HS_NEVER,
                             &t);
    bad[i++] = hs_pages_send(0, TYPE, SRC, 2, HS_PAGES_DUP | HS_PAGES_TO_ALL,
                             HS_NEVER, &t);
    bad[i++] = hs_pages_send(0, TYPE, SRC, 2,
                             HS_PAGES_DUP | HS_PAGES_TO_OTHERS, HS_NEVER, &t);
    bad[i++] = hs_pages_accept(1, DST);         /* not in a handler */
    taken[0] = t;
    EXPECT_ST(hs_mem_query(0, SRC, &a0), HS_OK);
    EXPECT_ST(hs_mem_query(0, SRC + K4, &a1), HS_OK);
    sent[0] = memcmp(&a0, &b0, sizeof a0) == 0 &&
              memcmp(&a1, &b1, sizeof a1) == 0 ? HS_OK : HS_EFAULT;
    after[0] = a0;
    return 0;
}

static void test_pages_bad_input_changes_nothing(void **state)
{
    (void)state;
    start();
    host_send = hs_pages_send(0, TYPE, SRC, 1, 0, HS_NEVER, NULL);
    host_accept = hs_pages_accept(1, DST);
    assert_int_equal(hs_proc_spawn("bystander", bystander, NULL, NULL,
                                   NULL), HS_OK);
    assert_int_equal(hs_proc_spawn("tx", bad_sender, NULL, NULL, NULL),
                     HS_OK);
    memset(bad, 0, sizeof bad);
    run();
    assert_int_equal(host_send, HS_ESTATE);
    assert_int_equal(host_accept, HS_ESTATE);
    static const hs_status want[] = {
        HS_EINVAL, HS_EINVAL, HS_EINVAL, HS_EINVAL, HS_EINVAL, HS_EINVAL,
        HS_EINVAL, HS_ERANGE, HS_ERANGE, HS_ENOMAP, HS_ENOMAP, HS_EPERM,
        HS_ESRCH, HS_ENOHANDLER, HS_ENOHANDLER, HS_ENOHANDLER,
        HS_ENOHANDLER, HS_ESTATE,
    };
    for (unsigned i = 0; i < sizeof want / sizeof want[0]; i++) {
        if (bad[i] != want[i])
            print_error("bad[%u]: %s, want %s\n", i, hs_strerror(bad[i]),
                        hs_strerror(want[i]));
        assert_int_equal(bad[i], want[i]);
    }
    assert_int_equal(taken[0], 0);              /* none, whatever the error */
    assert_int_equal(sent[0], HS_OK);           /* mappings unchanged */
    assert_int_equal(after[0].prot, RW);
    assert_int_equal(after[0].refs, 1);
    assert_int_equal(nev, 0);
}

/* ---- 9. a receiver that ends before deciding ----------------------------------- */

static int partner_sender(void *arg)
{
    (void)arg;
    map_src(1);
    sleep_ns(10);
    send_at(0, rx[0].pid, 1, HS_PAGES_SENDER_RW | HS_PAGES_RECEIVER_RW,
            HS_NEVER);
    return 0;
}

static void test_pages_receiver_dies_before_deciding(void **state)
{
    (void)state;
    start();
    spawn_rx(0, RX_DIE);
    assert_int_equal(hs_proc_spawn("tx", partner_sender, NULL, NULL, NULL),
                     HS_OK);
    run();
    assert_int_equal(rx[0].ran, 1);
    assert_int_equal(sent[0], HS_EPARTNER);
    assert_int_equal(taken[0], 0);
    assert_int_equal(query[0], HS_OK);          /* the sender keeps it */
    assert_int_equal(after[0].pa, before[0].pa);
    assert_int_equal(after[0].prot, RW);
    assert_int_equal(after[0].refs, 1);
    assert_int_equal(count_events("pages_abandon"), 1);
    assert_int_equal(ev[nev - 1].b, HS_EPARTNER);
}

/* ---- 10. timeouts ---------------------------------------------------------------- */

static int timeout_sender(void *arg)
{
    (void)arg;
    map_src(1);
    sleep_ns(10);
    /* HS_NOWAIT: withdrawn before the receiver sees it. */
    send_at(0, rx[0].pid, 1, HS_PAGES_SENDER_RW, HS_NOWAIT);
    /* The receiver dawdles past the timeout, then its accept is stale. */
    send_at(1, rx[0].pid, 1, HS_PAGES_SENDER_RW, 100);
    return 0;
}

static void test_pages_timeout_withdraws_the_offer(void **state)
{
    (void)state;
    start();
    spawn_rx(0, RX_SLOW);
    assert_int_equal(hs_proc_spawn("tx", timeout_sender, NULL, NULL, NULL),
                     HS_OK);
    run();
    assert_int_equal(sent[0], HS_ETIMEOUT);
    assert_int_equal(taken[0], 0);
    assert_int_equal(sent[1], HS_ETIMEOUT);
    assert_int_equal(taken[1], 0);
    assert_int_equal(rx[0].ran, 1);             /* the second one only */
    assert_int_equal(rx[0].accept, HS_ESTALE);
    assert_int_equal(rx[0].query, HS_ENOMAP);
    assert_int_equal(query[1], HS_OK);
    assert_int_equal(after[1].pa, before[1].pa);
    assert_int_equal(after[1].refs, 1);
    assert_int_equal(count_events("pages_abandon"), 2);
}

/* ---- 11. the sender ends while offering ------------------------------------------ */

static int ender(void *arg)
{
    (void)arg;
    sleep_ns(500);
    hs_proc_exit(9);
}

static int ending_sender(void *arg)
{
    (void)arg;
    map_src(1);
    EXPECT_ST(hs_thread_create(ender, NULL, NULL, NULL), HS_OK);
    sleep_ns(10);
    send_at(0, 0, 1, HS_PAGES_DUP | HS_PAGES_TO_ALL, HS_NEVER);
    return 0;                   /* never reached: its process ends */
}

static void test_pages_sender_ends_while_offering(void **state)
{
    (void)state;
    start();
    spawn_rx(0, RX_SLOW);
    assert_int_equal(hs_proc_spawn("tx", ending_sender, NULL, NULL, NULL),
                     HS_OK);
    run();
    assert_int_equal(sent[0], HS_STATUS_COUNT);  /* it never returned */
    assert_int_equal(rx[0].ran, 1);
    assert_int_equal(rx[0].accept, HS_ESTALE);
    assert_int_equal(count_events("pages_abandon"), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        TU_TEST(test_pages_move_to_one_accepted),
        TU_TEST(test_pages_move_abandoned_stays_with_sender),
        TU_TEST(test_pages_dup_leaves_sender_read_only),
        TU_TEST(test_pages_receiver_rw_or_read_only),
        TU_TEST(test_pages_broadcast_to_all_but_self),
        TU_TEST(test_pages_to_self),
        TU_TEST(test_pages_large_page_kept_whole_or_split),
        TU_TEST(test_pages_bad_input_changes_nothing),
        TU_TEST(test_pages_receiver_dies_before_deciding),
        TU_TEST(test_pages_timeout_withdraws_the_offer),
        TU_TEST(test_pages_sender_ends_while_offering),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
