/*
 * tests/test_revoke.c - the mapping database and hs_mem_revoke: chains of
 * shared pages taken back from the middle and from the root, large pages
 * split along a chain, copy-on-write before and after its break, a
 * pager's page taken back, a process ending in the middle of a chain,
 * moves handing their place over, page-unit sends, bad arguments and the
 * node limit.
 *
 * The root process A drives every scenario from its one thread.  The
 * other processes (B, C, D, P) each publish a port "m<i>" and sleep until
 * told to end; A acts in one of them by hopping into its port (a hop's
 * thread acts as the process it visits), so that a share from B to C is
 * A's thread, visiting B, hopping on into C with B's page as its item.
 * Every status is recorded and asserted after the run; the memory state
 * is checked at every kernel exit (cfg.mem_check) and after every
 * revoke.
 */
#include "testutil.h"

#include "core/proc.h"
#include "mem/vm.h"

#define LABEL 0x72766b00u

enum { A, B, C, D, P, NPROC };

enum op {
    OP_MAP = 1,     /* va, len, page */
    OP_UNMAP,       /* va, len */
    OP_PROTECT,     /* va, len, prot */
    OP_REVOKE,      /* va, len */
    OP_WRITE,       /* va, byte */
    OP_READ,        /* va: the byte read goes to rd_byte */
    OP_GIVE,        /* to, mode, fpage, window, prot */
    OP_TAKE,        /* window: accept the hop's items there */
    OP_PAGER,       /* set the process's pager to P's "pager" port */
    OP_POKE,        /* va, byte: write if it cannot kill (mapped, and
                       writable or a copy-on-write break) */
};

#define RW (HS_PROT_READ | HS_PROT_WRITE)

#define SRC ((uint64_t)1 << 30)             /* A's pages */
#define WIN ((uint64_t)2 << 30)             /* B's, C's, D's windows */
#define WIN_FP HS_FPAGE(WIN, 30)
#define PG  ((uint64_t)3 << 30)             /* the pager's page */
#define HOLE ((uint64_t)5 << 30)            /* faulted in from the pager */

#define NREC 48

static hs_port_t ports[NPROC];          /* "m<i>": A acts in i through it */
static hs_port_t pager_port;            /* P's "pager" */
static hs_pid_t pids[NPROC];
static volatile int die[NPROC];
static hs_status op_st;                 /* the last operation's status */
static unsigned char rd_byte;
static unsigned faults;                 /* delivered to the pager */

static hs_status st[NREC];              /* statuses the scenario records */
static hs_status qs[NREC];              /* queries */
static hs_mem_info inf[NREC];
static hs_mem_stats stats[NREC];
static uint64_t val[NREC];

static void reset(void)
{
    for (int i = 0; i < NREC; i++) {
        st[i] = qs[i] = HS_STATUS_COUNT;
        val[i] = 0xbad;
        memset(&inf[i], 0xee, sizeof inf[i]);
        memset(&stats[i], 0xee, sizeof stats[i]);
    }
    memset(ports, 0, sizeof ports);
    pager_port = 0;
    memset(pids, 0, sizeof pids);
    for (int i = 0; i < NPROC; i++)
        die[i] = 0;
    faults = 0;
    rd_byte = 0;
}

/* ---- operations, in whichever process runs them ---------------------- */

static hs_status op_give(const uint64_t *a)
{
    hs_utcb_t *u = hs_utcb();
    u->tag = HS_TAG_ITEMS(LABEL, 2, 1);
    u->mr[0] = OP_TAKE;
    u->mr[1] = a[3];
    u->mr[2] = HS_ITEM_MEM_WORD((unsigned)a[1], (unsigned)a[4]);
    u->mr[3] = a[2];
    op_st = HS_STATUS_COUNT;
    hs_status s = hs_hop(ports[a[0]], HS_HOP_CHECKPOINT | HS_HOP_ITEMS,
                         HS_NEVER);
    return s != HS_OK ? s : op_st;
}

/* Write byte at va if the write cannot kill the thread: the page is
 * writable, or copy-on-write with write allowed (hopsim/mem.h). */
static hs_status poke(uint64_t va, unsigned char byte)
{
    hs_mem_info i;
    hs_status s = hs_mem_query(0, va, &i);
    if (s != HS_OK)
        return s;
    int cow = (i.flags & HS_MEM_COW) && (i.max_prot & HS_PROT_WRITE) &&
              (i.prot & HS_PROT_READ);
    int plain = !(i.flags & (HS_MEM_COW | HS_MEM_SPECIAL)) &&
                (i.prot & HS_PROT_WRITE);
    return cow || plain ? hs_mem_write(va, &byte, 1) : HS_EPERM;
}

/* Operation op with arguments a[0..4] in the calling process. */
static hs_status op_do(uint64_t op, const uint64_t *a, hs_hop_t *hop)
{
    switch (op) {
    case OP_MAP:
        return hs_mem_map(a[0], a[1], RW, a[2]);
    case OP_UNMAP:
        return hs_mem_unmap(a[0], a[1]);
    case OP_PROTECT:
        return hs_mem_protect(a[0], a[1], (unsigned)a[2]);
    case OP_REVOKE:
        return hs_mem_revoke(a[0], a[1]);
    case OP_WRITE: {
        unsigned char b = (unsigned char)a[1];
        return hs_mem_write(a[0], &b, 1);
    }
    case OP_READ:
        return hs_mem_read(a[0], &rd_byte, 1);
    case OP_GIVE:
        return op_give(a);
    case OP_TAKE:
        return hs_hop_accept(hop, a[0]);
    case OP_PAGER:
        return hs_mem_pager_set(pager_port);
    case OP_POKE:
        return poke(a[0], (unsigned char)a[1]);
    default:
        return HS_EINVAL;
    }
}

static void member_handler(hs_hop_t *hop, void *cookie)
{
    (void)cookie;
    uint64_t a[5];
    for (unsigned i = 0; i < 5; i++)
        a[i] = hs_mr(hop, 1 + i);
    op_st = op_do(hs_mr(hop, 0), a, hop);
}

/* A in process who: itself, or a hop into who's port. */
static hs_status in(int who, uint64_t op, uint64_t a0, uint64_t a1,
                    uint64_t a2, uint64_t a3, uint64_t a4)
{
    uint64_t a[5] = {a0, a1, a2, a3, a4};
    if (who == A)
        return op_do(op, a, NULL);
    hs_utcb_t *u = hs_utcb();
    u->tag = HS_TAG(LABEL, 6);
    u->mr[0] = op;
    for (unsigned i = 0; i < 5; i++)
        u->mr[1 + i] = a[i];
    op_st = HS_STATUS_COUNT;
    hs_status s = hs_hop(ports[who], HS_HOP_CHECKPOINT, HS_NEVER);
    return s != HS_OK ? s : op_st;
}

/* who shares (or moves, copies...) fpage of its own to `to`, whose
 * window is WIN_FP + the offset where it lands. */
static hs_status give(int who, int to, unsigned mode, uint64_t fpage,
                      unsigned prot)
{
    return in(who, OP_GIVE, (uint64_t)to, mode, fpage, WIN_FP, prot);
}

static hs_status revoke_in(int who, uint64_t va, uint64_t len)
{
    hs_status s = in(who, OP_REVOKE, va, len, 0, 0, 0);
    EXPECT_ST(hs_mem_check(), HS_OK);
    return s;
}

static void query(int i, int who, uint64_t va)
{
    qs[i] = hs_mem_query(pids[who], va, &inf[i]);
}

static void stats_at(int i)
{
    EXPECT_ST(hs_mem_stats_get(&stats[i]), HS_OK);
}

/* ---- the processes -------------------------------------------------------- */

/* The pager's port: share its page PG with the faulting process. */
static void pager_handler(hs_hop_t *hop, void *cookie)
{
    (void)cookie;
    faults++;
    EXPECT_ST(hs_mem_fault_resolve(hs_mr(hop, 1), PG, HS_XFER_SHARE, RW),
              HS_OK);
}

/* D's handler of page messages: accept at WIN. */
#define PAGES_TYPE 0x70670000u
static hs_status pages_accepted = HS_STATUS_COUNT;

static void pages_handler(void *cookie, const hs_notification *n)
{
    (void)cookie;
    pages_accepted = hs_pages_accept(n->words[HS_PAGES_W_OFFER], WIN);
    hs_notify_return();
}

static int member_main(void *arg)
{
    int i = (int)(uintptr_t)arg;
    char name[8] = {'m', (char)('0' + i), 0};
    hs_port_t port, pager;
    EXPECT_ST(hs_port_create_named(name, &port), HS_OK);
    EXPECT_ST(hs_port_set_handler(port, member_handler, NULL), HS_OK);
    if (i == D)
        EXPECT_ST(hs_notify_type_register(PAGES_TYPE, pages_handler, NULL),
                  HS_OK);
    if (i == P) {
        EXPECT_ST(hs_port_create_named("pager", &pager), HS_OK);
        EXPECT_ST(hs_port_set_handler(pager, pager_handler, NULL), HS_OK);
    }
    while (!die[i])
        EXPECT_ST(hs_thread_sleep(1000), HS_OK);
    return 0;
}

/* End process who and wait for it. */
static void end(int who)
{
    die[who] = 1;
    EXPECT_ST(hs_proc_wait(pids[who], HS_NEVER, NULL), HS_OK);
}

typedef void (*scenario_fn)(void);

static int driver(void *arg)
{
    scenario_fn fn = (scenario_fn)arg;
    static const char *const names[NPROC] = {"A", "B", "C", "D", "P"};
    pids[A] = hs_proc_self();
    EXPECT_ST(hs_port_create_named("m0", &ports[A]), HS_OK);
    EXPECT_ST(hs_port_set_handler(ports[A], member_handler, NULL), HS_OK);
    for (int i = B; i < NPROC; i++) {
        char name[8] = {'m', (char)('0' + i), 0};
        EXPECT_ST(hs_proc_spawn(names[i], member_main, (void *)(uintptr_t)i,
                                NULL, &pids[i]), HS_OK);
        EXPECT_ST(hs_port_lookup(name, HS_NEVER, &ports[i]), HS_OK);
    }
    EXPECT_ST(hs_port_lookup("pager", HS_NEVER, &pager_port), HS_OK);
    fn();
    EXPECT_ST(hs_mem_check(), HS_OK);
    for (int i = B; i < NPROC; i++)
        if (!die[i])
            end(i);
    return 0;
}

static hs_sim_config config(void)
{
    hs_sim_config cfg = tu_config();
    cfg.mem_size = (uint64_t)2 << 30;
    cfg.mem_check = 1;
    return cfg;
}

/* Run scenario fn: the run ends HS_OK, every status matched, the memory
 * check passes and the pool is whole again, no node left. */
static void run(scenario_fn fn)
{
    hs_sim_config cfg = config();
    reset();
    tu_run_one(&cfg, "A", driver, (void *)fn, NULL);
    assert_int_equal(hs_mem_check(), HS_OK);
    hs_mem_stats s;
    assert_int_equal(hs_mem_stats_get(&s), HS_OK);
    assert_int_equal(s.free, s.pool);
    assert_int_equal(s.derived, 0);
    assert_int_equal(s.page_tables, 0);
}

/* ---- a chain A -> B -> C ----------------------------------------------- */

/* A maps a 4K page and shares it with B, which shares it with C. */
static void chain_4k(void)
{
    EXPECT_ST(in(A, OP_MAP, SRC, HS_PAGE_4K, HS_PAGE_4K, 0, 0), HS_OK);
    EXPECT_ST(in(A, OP_WRITE, SRC, 0x41, 0, 0, 0), HS_OK);
    EXPECT_ST(give(A, B, HS_XFER_SHARE, HS_FPAGE(SRC, 12), RW), HS_OK);
    EXPECT_ST(give(B, C, HS_XFER_SHARE, HS_FPAGE(WIN, 12), RW), HS_OK);
}

static void chain_revoked_in_the_middle(void)
{
    chain_4k();
    query(0, A, SRC);
    query(1, B, WIN);
    query(2, C, WIN);
    stats_at(0);
    st[0] = revoke_in(B, WIN, HS_PAGE_4K);
    query(3, A, SRC);
    query(4, B, WIN);
    query(5, C, WIN);
    stats_at(1);
    st[1] = in(B, OP_READ, WIN, 0, 0, 0, 0);
    val[0] = rd_byte;
}

static void test_revoke_in_the_middle_takes_c_not_a_or_b(void **state)
{
    (void)state;
    run(chain_revoked_in_the_middle);
    /* Before: one frame, three mappings, all derived. */
    for (int i = 0; i < 3; i++) {
        assert_int_equal(qs[i], HS_OK);
        assert_int_equal(inf[i].pa, inf[0].pa);
        assert_int_equal(inf[i].refs, 3);
        assert_true(inf[i].flags & HS_MEM_DERIVED);
    }
    assert_int_equal(stats[0].derived, 3);
    assert_int_equal(st[0], HS_OK);
    /* After: C's mapping is gone, A's and B's stay, counted twice. */
    assert_int_equal(qs[3], HS_OK);
    assert_int_equal(qs[4], HS_OK);
    assert_int_equal(qs[5], HS_ENOMAP);
    assert_int_equal(inf[3].refs, 2);
    assert_int_equal(inf[4].pa, inf[0].pa);
    assert_true(inf[4].flags & HS_MEM_DERIVED);     /* still A's child */
    assert_int_equal(stats[1].derived, 2);
    assert_int_equal(stats[1].refs_4k, stats[0].refs_4k - 1);
    assert_int_equal(stats[1].free, stats[0].free);
    /* C's tables stay, empty, for its next map. */
    assert_int_equal(stats[1].page_tables, stats[0].page_tables);
    assert_int_equal(st[1], HS_OK);
    assert_int_equal(val[0], 0x41);
}

static void chain_revoked_at_the_root(void)
{
    chain_4k();
    stats_at(0);
    st[0] = revoke_in(A, SRC, HS_PAGE_4K);
    query(0, A, SRC);
    query(1, B, WIN);
    query(2, C, WIN);
    stats_at(1);
    st[1] = revoke_in(A, SRC, HS_PAGE_4K);         /* nothing left */
    stats_at(2);
}

static void test_revoke_at_the_root_takes_b_and_c(void **state)
{
    (void)state;
    run(chain_revoked_at_the_root);
    assert_int_equal(st[0], HS_OK);
    assert_int_equal(qs[0], HS_OK);
    assert_int_equal(inf[0].refs, 1);
    assert_false(inf[0].flags & HS_MEM_DERIVED);    /* alone: no node */
    assert_int_equal(qs[1], HS_ENOMAP);
    assert_int_equal(qs[2], HS_ENOMAP);
    assert_int_equal(stats[1].derived, 0);
    assert_int_equal(stats[1].refs_4k, stats[0].refs_4k - 2);
    assert_int_equal(st[1], HS_OK);
    assert_memory_equal(&stats[2], &stats[1], sizeof stats[1]);
}

/* ---- large pages split along the chain --------------------------------- */

#define MID (SRC + 5 * HS_PAGE_4K)      /* a 4K page inside A's 2M page */

static void chain_2m_split(void)
{
    EXPECT_ST(in(A, OP_MAP, SRC, HS_PAGE_2M, HS_PAGE_2M, 0, 0), HS_OK);
    EXPECT_ST(in(A, OP_WRITE, MID, 0x33, 0, 0, 0), HS_OK);
    EXPECT_ST(give(A, B, HS_XFER_SHARE, HS_FPAGE(SRC, 21), RW), HS_OK);
    EXPECT_ST(give(B, C, HS_XFER_SHARE, HS_FPAGE(WIN, 21), RW), HS_OK);
    query(0, C, WIN);
    /* A protects one 4K page: its 2M page splits, and so do B's and C's
     * (the same frames): every piece still derived, A's 4K from... */
    EXPECT_ST(in(A, OP_PROTECT, MID, HS_PAGE_4K, HS_PROT_READ, 0, 0), HS_OK);
    EXPECT_ST(hs_mem_check(), HS_OK);
    query(1, B, WIN);
    query(2, C, WIN + 5 * HS_PAGE_4K);
    stats_at(0);
    /* A takes back one 4K page: B and C lose that page only. */
    st[0] = revoke_in(A, MID, HS_PAGE_4K);
    query(3, B, WIN + 5 * HS_PAGE_4K);
    query(4, C, WIN + 5 * HS_PAGE_4K);
    query(5, B, WIN + 6 * HS_PAGE_4K);
    query(6, C, WIN + 4 * HS_PAGE_4K);
    stats_at(1);
    /* B unmaps another 4K page: C's piece of it moves up to A. */
    EXPECT_ST(in(B, OP_UNMAP, WIN + 9 * HS_PAGE_4K, HS_PAGE_4K, 0, 0, 0),
              HS_OK);
    query(7, C, WIN + 9 * HS_PAGE_4K);
    st[1] = revoke_in(B, WIN, HS_PAGE_2M);          /* holes allowed */
    query(8, C, WIN + 9 * HS_PAGE_4K);              /* A's now: stays */
    query(9, C, WIN + 6 * HS_PAGE_4K);              /* B's: gone */
    query(10, B, WIN + 6 * HS_PAGE_4K);
    st[2] = revoke_in(A, SRC, HS_PAGE_2M);
    query(11, C, WIN + 9 * HS_PAGE_4K);
    query(12, B, WIN + 6 * HS_PAGE_4K);
    query(13, A, MID);
    stats_at(2);
}

static void test_revoke_follows_a_2m_page_split_in_4k(void **state)
{
    (void)state;
    run(chain_2m_split);
    assert_int_equal(qs[0], HS_OK);
    assert_int_equal(inf[0].page, HS_PAGE_2M);
    /* The split reached B and C. */
    assert_int_equal(inf[1].page, HS_PAGE_4K);
    assert_true(inf[1].flags & HS_MEM_DERIVED);
    assert_int_equal(inf[2].page, HS_PAGE_4K);
    assert_int_equal(inf[2].refs, 3);
    assert_int_equal(stats[0].derived, 3 * 512);
    assert_int_equal(st[0], HS_OK);
    assert_int_equal(qs[3], HS_ENOMAP);
    assert_int_equal(qs[4], HS_ENOMAP);
    assert_int_equal(qs[5], HS_OK);
    assert_int_equal(qs[6], HS_OK);
    assert_int_equal(inf[6].refs, 3);
    assert_int_equal(stats[1].derived, 3 * 512 - 3);  /* A's alone too */
    assert_int_equal(qs[7], HS_OK);
    assert_int_equal(st[1], HS_OK);
    assert_int_equal(qs[8], HS_OK);
    assert_int_equal(inf[8].refs, 2);
    assert_int_equal(qs[9], HS_ENOMAP);
    assert_int_equal(qs[10], HS_OK);
    assert_int_equal(st[2], HS_OK);
    assert_int_equal(qs[11], HS_ENOMAP);
    assert_int_equal(qs[12], HS_ENOMAP);
    assert_int_equal(qs[13], HS_OK);
    assert_int_equal(inf[13].refs, 1);
    assert_int_equal(stats[2].derived, 0);
    assert_int_equal(stats[2].refs_4k, 512);        /* A's own, split */
}

/* A 1G page shared A -> B -> C; B protects one 4K page of it: B's page
 * splits to 2M and one 2M piece to 4K, and C's (the same frames) with
 * it.  Never touched, so the 1G costs no host memory. */
#define CUT (3 * HS_PAGE_2M + HS_PAGE_4K)

static void chain_1g(void)
{
    EXPECT_ST(in(A, OP_MAP, SRC, HS_PAGE_1G, HS_PAGE_1G, 0, 0), HS_OK);
    EXPECT_ST(give(A, B, HS_XFER_SHARE, HS_FPAGE(SRC, 30), RW), HS_OK);
    EXPECT_ST(give(B, C, HS_XFER_SHARE, HS_FPAGE(WIN, 30), RW), HS_OK);
    EXPECT_ST(in(B, OP_PROTECT, WIN + CUT, HS_PAGE_4K, HS_PROT_READ, 0, 0),
              HS_OK);
    query(0, A, SRC);
    query(1, C, WIN + CUT);
    query(2, C, WIN);
    stats_at(0);
    st[0] = revoke_in(A, SRC + CUT + HS_PAGE_4K, HS_PAGE_4K);
    query(3, C, WIN + CUT + HS_PAGE_4K);
    query(4, B, WIN + CUT + HS_PAGE_4K);
    query(5, C, WIN + CUT);
    stats_at(1);
    st[1] = revoke_in(A, SRC + 10 * HS_PAGE_2M, HS_PAGE_2M);
    query(6, C, WIN + 10 * HS_PAGE_2M);
    query(7, B, WIN + 11 * HS_PAGE_2M);
    stats_at(2);
    st[2] = revoke_in(A, SRC, HS_PAGE_1G);
    query(8, B, WIN);
    query(9, C, WIN + CUT);
    query(10, A, SRC);
    stats_at(3);
}

static void test_revoke_follows_a_1g_page_split_twice(void **state)
{
    (void)state;
    run(chain_1g);
    assert_int_equal(inf[0].page, HS_PAGE_1G);
    assert_int_equal(inf[1].page, HS_PAGE_4K);
    assert_int_equal(inf[1].refs, 2);               /* B's and C's */
    assert_int_equal(inf[2].page, HS_PAGE_2M);
    /* A's 1G node; B's and C's 511 2M and 512 4K nodes each. */
    assert_int_equal(stats[0].derived, 1 + 2 * (511 + 512));
    assert_int_equal(st[0], HS_OK);
    assert_int_equal(qs[3], HS_ENOMAP);
    assert_int_equal(qs[4], HS_ENOMAP);
    assert_int_equal(qs[5], HS_OK);
    assert_int_equal(stats[1].derived, stats[0].derived - 2);
    assert_int_equal(st[1], HS_OK);
    assert_int_equal(qs[6], HS_ENOMAP);
    assert_int_equal(qs[7], HS_OK);
    assert_int_equal(inf[7].page, HS_PAGE_2M);
    assert_int_equal(stats[2].derived, stats[0].derived - 4);
    assert_int_equal(st[2], HS_OK);
    assert_int_equal(qs[8], HS_ENOMAP);
    assert_int_equal(qs[9], HS_ENOMAP);
    assert_int_equal(qs[10], HS_OK);
    assert_int_equal(inf[10].page, HS_PAGE_1G);
    assert_int_equal(inf[10].refs, 1);
    assert_int_equal(stats[3].derived, 0);
    assert_int_equal(stats[3].refs_1g, 1);
    assert_int_equal(stats[3].refs_2m + stats[3].refs_4k, 0);
}

/* B protects part of its 2M page: B's node splits under A's whole page. */
static void child_split(void)
{
    EXPECT_ST(in(A, OP_MAP, SRC, HS_PAGE_2M, HS_PAGE_2M, 0, 0), HS_OK);
    EXPECT_ST(give(A, B, HS_XFER_SHARE, HS_FPAGE(SRC, 21), RW), HS_OK);
    EXPECT_ST(in(B, OP_PROTECT, WIN + HS_PAGE_4K, HS_PAGE_4K, HS_PROT_READ,
                 0, 0), HS_OK);
    query(0, A, SRC);
    query(1, B, WIN + HS_PAGE_4K);
    stats_at(0);
    st[0] = revoke_in(A, SRC + HS_PAGE_2M - HS_PAGE_4K, HS_PAGE_4K);
    query(2, B, WIN + HS_PAGE_2M - HS_PAGE_4K);
    query(3, B, WIN);
    st[1] = revoke_in(A, SRC, HS_PAGE_2M);
    query(4, B, WIN);
    stats_at(1);
}

static void test_revoke_reaches_a_split_child(void **state)
{
    (void)state;
    run(child_split);
    assert_int_equal(inf[0].page, HS_PAGE_2M);
    assert_int_equal(inf[1].page, HS_PAGE_4K);
    assert_int_equal(stats[0].derived, 1 + 512);
    assert_int_equal(st[0], HS_OK);
    assert_int_equal(qs[2], HS_ENOMAP);
    assert_int_equal(qs[3], HS_OK);
    assert_int_equal(st[1], HS_OK);
    assert_int_equal(qs[4], HS_ENOMAP);
    assert_int_equal(stats[1].derived, 0);
}

/* ---- copy-on-write -------------------------------------------------------- */

static void cow(void)
{
    EXPECT_ST(in(A, OP_MAP, SRC, HS_PAGE_4K, HS_PAGE_4K, 0, 0), HS_OK);
    EXPECT_ST(in(A, OP_WRITE, SRC, 0x11, 0, 0, 0), HS_OK);
    /* Before the break: the copy-on-write page is derived. */
    EXPECT_ST(give(A, B, HS_XFER_COW, HS_FPAGE(SRC, 12), RW), HS_OK);
    query(0, B, WIN);
    st[0] = revoke_in(A, SRC, HS_PAGE_4K);
    query(1, B, WIN);
    /* After B's break: B's private copy is no longer derived. */
    EXPECT_ST(give(A, B, HS_XFER_COW, HS_FPAGE(SRC, 12), RW), HS_OK);
    EXPECT_ST(in(B, OP_WRITE, WIN, 0x22, 0, 0, 0), HS_OK);
    query(2, B, WIN);
    stats_at(0);
    st[1] = revoke_in(A, SRC, HS_PAGE_4K);
    query(3, B, WIN);
    st[2] = in(B, OP_READ, WIN, 0, 0, 0, 0);
    val[0] = rd_byte;
    EXPECT_ST(in(B, OP_UNMAP, WIN, HS_PAGE_4K, 0, 0, 0), HS_OK);
    /* After A's break: A's new page has nothing derived; B's stays. */
    EXPECT_ST(give(A, B, HS_XFER_COW, HS_FPAGE(SRC, 12), RW), HS_OK);
    EXPECT_ST(in(A, OP_WRITE, SRC, 0x44, 0, 0, 0), HS_OK);
    query(4, A, SRC);
    st[3] = revoke_in(A, SRC, HS_PAGE_4K);
    query(5, B, WIN);
    st[4] = in(B, OP_READ, WIN, 0, 0, 0, 0);
    val[1] = rd_byte;
}

static void test_revoke_cow_before_and_after_the_break(void **state)
{
    (void)state;
    run(cow);
    assert_int_equal(qs[0], HS_OK);
    assert_true(inf[0].flags & HS_MEM_COW);
    assert_true(inf[0].flags & HS_MEM_DERIVED);
    assert_int_equal(st[0], HS_OK);
    assert_int_equal(qs[1], HS_ENOMAP);
    assert_int_equal(qs[2], HS_OK);
    assert_false(inf[2].flags & (HS_MEM_COW | HS_MEM_DERIVED));
    assert_int_equal(stats[0].derived, 0);
    assert_int_equal(st[1], HS_OK);
    assert_int_equal(qs[3], HS_OK);
    assert_int_equal(st[2], HS_OK);
    assert_int_equal(val[0], 0x22);
    assert_int_equal(qs[4], HS_OK);
    assert_false(inf[4].flags & HS_MEM_DERIVED);
    assert_int_equal(st[3], HS_OK);
    assert_int_equal(qs[5], HS_OK);
    assert_int_equal(st[4], HS_OK);
    assert_int_equal(val[1], 0x11);
}

/* ---- a pager's page -------------------------------------------------------- */

static void pager(void)
{
    EXPECT_ST(in(P, OP_MAP, PG, HS_PAGE_4K, HS_PAGE_4K, 0, 0), HS_OK);
    EXPECT_ST(in(P, OP_WRITE, PG, 0x77, 0, 0, 0), HS_OK);
    EXPECT_ST(in(C, OP_PAGER, 0, 0, 0, 0, 0), HS_OK);
    st[0] = in(C, OP_READ, HOLE, 0, 0, 0, 0);       /* fault 1 */
    val[0] = rd_byte;
    query(0, C, HOLE);
    st[1] = revoke_in(P, PG, HS_PAGE_4K);
    query(1, C, HOLE);
    query(2, P, PG);
    val[1] = faults;
    st[2] = in(C, OP_READ, HOLE, 0, 0, 0, 0);       /* fault 2 */
    val[2] = rd_byte;
    val[3] = faults;
}

static void test_revoke_by_a_pager_sends_the_next_fault_to_it(void **state)
{
    (void)state;
    run(pager);
    assert_int_equal(st[0], HS_OK);
    assert_int_equal(val[0], 0x77);
    assert_int_equal(qs[0], HS_OK);
    assert_true(inf[0].flags & HS_MEM_DERIVED);
    assert_int_equal(st[1], HS_OK);
    assert_int_equal(qs[1], HS_ENOMAP);
    assert_int_equal(qs[2], HS_OK);
    assert_int_equal(inf[2].refs, 1);
    assert_int_equal(val[1], 1);
    assert_int_equal(st[2], HS_OK);
    assert_int_equal(val[2], 0x77);
    assert_int_equal(val[3], 2);
}

/* Without a pager, the next access after a revoke kills the thread as
 * any access to nothing mapped does. */
static volatile int reader_go;
static hs_status reader_st = HS_STATUS_COUNT;

static int reader_main(void *arg)
{
    (void)arg;
    hs_port_t port;
    EXPECT_ST(hs_port_create_named("m3", &port), HS_OK);
    EXPECT_ST(hs_port_set_handler(port, member_handler, NULL), HS_OK);
    while (!reader_go)
        EXPECT_ST(hs_thread_sleep(1000), HS_OK);
    unsigned char b;
    reader_st = hs_mem_read(WIN, &b, 1);            /* killed here */
    return 0;
}

static int kill_driver(void *arg)
{
    (void)arg;
    int status = 0;
    pids[A] = hs_proc_self();
    EXPECT_ST(hs_proc_spawn("D", reader_main, NULL, NULL, &pids[D]), HS_OK);
    EXPECT_ST(hs_port_lookup("m3", HS_NEVER, &ports[D]), HS_OK);
    EXPECT_ST(in(A, OP_MAP, SRC, HS_PAGE_4K, HS_PAGE_4K, 0, 0), HS_OK);
    EXPECT_ST(give(A, D, HS_XFER_SHARE, HS_FPAGE(SRC, 12), RW), HS_OK);
    st[0] = revoke_in(A, SRC, HS_PAGE_4K);
    reader_go = 1;
    EXPECT_ST(hs_proc_wait(pids[D], HS_NEVER, &status), HS_OK);
    val[0] = (uint64_t)status;
    return 0;
}

static void test_revoke_then_access_without_pager_kills(void **state)
{
    (void)state;
    hs_sim_config cfg = config();
    reset();
    reader_go = 0;
    tu_run_one(&cfg, "A", kill_driver, NULL, NULL);
    assert_int_equal(st[0], HS_OK);
    assert_int_equal(reader_st, HS_STATUS_COUNT);  /* never returned */
    assert_int_equal(val[0], HS_EFAULT);
    assert_non_null(strstr(hs_sim_report(), "nothing mapped, and no handler"));
}

/* ---- a process ending in the middle --------------------------------------- */

static void middle_ends(void)
{
    chain_4k();
    end(B);
    query(0, C, WIN);
    query(1, A, SRC);
    stats_at(0);
    st[0] = revoke_in(A, SRC, HS_PAGE_4K);
    query(2, C, WIN);
    query(3, A, SRC);
    stats_at(1);
}

static void test_revoke_reaches_past_a_process_that_ended(void **state)
{
    (void)state;
    run(middle_ends);
    /* B's end leaves C's page mapped, now A's child. */
    assert_int_equal(qs[0], HS_OK);
    assert_true(inf[0].flags & HS_MEM_DERIVED);
    assert_int_equal(inf[0].refs, 2);
    assert_int_equal(stats[0].derived, 2);
    assert_int_equal(st[0], HS_OK);
    assert_int_equal(qs[2], HS_ENOMAP);
    assert_int_equal(qs[3], HS_OK);
    assert_int_equal(inf[3].refs, 1);
    assert_int_equal(stats[1].derived, 0);
}

/* An unmap in the middle works the same: C moves up to A. */
static void middle_unmaps(void)
{
    chain_4k();
    EXPECT_ST(in(B, OP_UNMAP, WIN, HS_PAGE_4K, 0, 0, 0), HS_OK);
    query(0, C, WIN);
    st[0] = revoke_in(A, SRC, HS_PAGE_4K);
    query(1, C, WIN);
}

static void test_unmap_in_the_middle_keeps_c_for_a(void **state)
{
    (void)state;
    run(middle_unmaps);
    assert_int_equal(qs[0], HS_OK);
    assert_int_equal(st[0], HS_OK);
    assert_int_equal(qs[1], HS_ENOMAP);
}

/* ---- moves hand their place over -------------------------------------- */

static void moved_on(void)
{
    EXPECT_ST(in(A, OP_MAP, SRC, HS_PAGE_4K, HS_PAGE_4K, 0, 0), HS_OK);
    EXPECT_ST(give(A, B, HS_XFER_SHARE, HS_FPAGE(SRC, 12), RW), HS_OK);
    EXPECT_ST(give(B, C, HS_XFER_SHARE, HS_FPAGE(WIN, 12), RW), HS_OK);
    EXPECT_ST(give(B, D, HS_XFER_MOVE, HS_FPAGE(WIN, 12), RW), HS_OK);
    query(0, B, WIN);
    query(1, D, WIN);
    st[0] = revoke_in(D, WIN, HS_PAGE_4K);          /* D has B's place */
    query(2, C, WIN);
    query(3, D, WIN);
    st[1] = revoke_in(A, SRC, HS_PAGE_4K);
    query(4, D, WIN);
    stats_at(0);
}

static void test_move_hands_the_node_over(void **state)
{
    (void)state;
    run(moved_on);
    assert_int_equal(qs[0], HS_ENOMAP);
    assert_int_equal(qs[1], HS_OK);
    assert_true(inf[1].flags & HS_MEM_DERIVED);
    assert_int_equal(st[0], HS_OK);
    assert_int_equal(qs[2], HS_ENOMAP);
    assert_int_equal(qs[3], HS_OK);
    assert_int_equal(st[1], HS_OK);
    assert_int_equal(qs[4], HS_ENOMAP);
    assert_int_equal(stats[0].derived, 0);
}

/* A move of part of a derived 2M page splits it first: the moved 4K
 * pages take their nodes along. */
static void moved_part(void)
{
    EXPECT_ST(in(A, OP_MAP, SRC, HS_PAGE_2M, HS_PAGE_2M, 0, 0), HS_OK);
    EXPECT_ST(give(A, B, HS_XFER_SHARE, HS_FPAGE(SRC, 21), RW), HS_OK);
    EXPECT_ST(give(B, D, HS_XFER_MOVE, HS_FPAGE(WIN + 0x10000, 16), RW),
              HS_OK);
    query(0, D, WIN);
    query(1, B, WIN);
    stats_at(0);
    st[0] = revoke_in(A, SRC, HS_PAGE_2M);
    query(2, D, WIN);
    query(3, B, WIN);
}

static void test_move_of_part_of_a_derived_page(void **state)
{
    (void)state;
    run(moved_part);
    assert_int_equal(qs[0], HS_OK);
    assert_int_equal(inf[0].page, HS_PAGE_4K);
    assert_true(inf[0].flags & HS_MEM_DERIVED);
    assert_int_equal(qs[1], HS_OK);
    assert_int_equal(stats[0].derived, 1 + 512);
    assert_int_equal(st[0], HS_OK);
    assert_int_equal(qs[2], HS_ENOMAP);
    assert_int_equal(qs[3], HS_ENOMAP);
}

/* A copy-on-write transfer of part of a 2M page with no node yet: the
 * sender's page gets its node, then splits for the copy-on-write (nodes
 * set aside by the transfer's check). */
static void cow_part(void)
{
    EXPECT_ST(in(A, OP_MAP, SRC, HS_PAGE_2M, HS_PAGE_2M, 0, 0), HS_OK);
    EXPECT_ST(in(A, OP_WRITE, SRC + 0x10000, 0x66, 0, 0, 0), HS_OK);
    st[0] = give(A, B, HS_XFER_COW, HS_FPAGE(SRC + 0x10000, 16), RW);
    query(0, A, SRC + 0x10000);
    query(1, B, WIN);
    stats_at(0);
    st[1] = revoke_in(A, SRC, HS_PAGE_2M);
    query(2, B, WIN);
    query(3, A, SRC + 0x10000);
}

static void test_cow_of_part_of_a_2m_page_without_a_node(void **state)
{
    (void)state;
    run(cow_part);
    assert_int_equal(st[0], HS_OK);
    assert_int_equal(inf[0].page, HS_PAGE_4K);
    assert_true(inf[0].flags & HS_MEM_COW);
    assert_true(inf[0].flags & HS_MEM_DERIVED);
    assert_true(inf[1].flags & HS_MEM_DERIVED);
    /* A's 16 pieces with a child each, B's 16; A's other pieces, alone,
     * have none. */
    assert_int_equal(stats[0].derived, 16 + 16);
    assert_int_equal(st[1], HS_OK);
    assert_int_equal(qs[2], HS_ENOMAP);
    assert_int_equal(qs[3], HS_OK);
}

/* Two items of one message in one 2M page with no node: the share makes
 * its node, the move then cuts it (nodes set aside for that too). */
static void two_items(void)
{
    EXPECT_ST(in(A, OP_MAP, SRC, HS_PAGE_2M, HS_PAGE_2M, 0, 0), HS_OK);
    hs_utcb_t *u = hs_utcb();
    u->tag = HS_TAG_ITEMS(LABEL, 2, 2);
    u->mr[0] = OP_TAKE;
    u->mr[1] = WIN_FP;
    u->mr[2] = HS_ITEM_MEM_WORD(HS_XFER_SHARE, RW);
    u->mr[3] = HS_FPAGE(SRC, 12);
    u->mr[4] = HS_ITEM_MEM_WORD(HS_XFER_MOVE, RW);
    u->mr[5] = HS_FPAGE(SRC + HS_PAGE_4K, 12);
    op_st = HS_STATUS_COUNT;
    st[0] = hs_hop(ports[B], HS_HOP_CHECKPOINT | HS_HOP_ITEMS, HS_NEVER);
    st[1] = op_st;
    query(0, A, SRC);
    query(1, A, SRC + HS_PAGE_4K);
    query(2, B, WIN);
    query(3, B, WIN + HS_PAGE_4K);
    stats_at(0);
    st[2] = revoke_in(A, SRC, HS_PAGE_2M);
    query(4, B, WIN);
    query(5, B, WIN + HS_PAGE_4K);
}

static void test_share_and_move_of_one_page_in_one_message(void **state)
{
    (void)state;
    run(two_items);
    assert_int_equal(st[0], HS_OK);
    assert_int_equal(st[1], HS_OK);
    assert_int_equal(qs[0], HS_OK);
    assert_int_equal(inf[0].page, HS_PAGE_4K);
    assert_int_equal(qs[1], HS_ENOMAP);             /* moved away */
    assert_true(inf[2].flags & HS_MEM_DERIVED);
    /* The moved page had no node of its own (A's split left the piece
     * alone): it is B's now, derived from nothing, and stays. */
    assert_false(inf[3].flags & HS_MEM_DERIVED);
    assert_int_equal(stats[0].derived, 2);
    assert_int_equal(st[2], HS_OK);
    assert_int_equal(qs[4], HS_ENOMAP);
    assert_int_equal(qs[5], HS_OK);
}

/* ---- the memory check covers the database ------------------------------ */

static void corrupt(void)
{
    chain_4k();
    struct proc *c = proc_lookup(pids[C]);
    vm_leaf_mark(c, WIN, 0);            /* behind the kernel's back */
    st[0] = hs_mem_check();
    vm_leaf_mark(c, WIN, 1);
    st[1] = hs_mem_check();
}

static void test_mem_check_finds_a_node_without_its_bit(void **state)
{
    (void)state;
    hs_sim_config cfg = config();
    cfg.mem_check = 0;
    reset();
    tu_run_one(&cfg, "A", driver, (void *)corrupt, NULL);
    assert_int_equal(st[0], HS_ECHECK);
    assert_non_null(strstr(hs_sim_report(), "lacks the derived bit"));
    assert_int_equal(st[1], HS_OK);
}

/* ---- page-unit sends --------------------------------------------------------- */

static void pages_dup(void)
{
    unsigned taken = 0;
    EXPECT_ST(in(A, OP_MAP, SRC, 2 * HS_PAGE_4K, HS_PAGE_4K, 0, 0), HS_OK);
    EXPECT_ST(in(A, OP_WRITE, SRC, 0x55, 0, 0, 0), HS_OK);
    st[0] = hs_pages_send(pids[D], PAGES_TYPE, SRC, 2,
                          HS_PAGES_DUP | HS_PAGES_SENDER_RW |
                          HS_PAGES_RECEIVER_RW, HS_NEVER, &taken);
    st[1] = pages_accepted;
    val[0] = taken;
    query(0, D, WIN);
    query(1, D, WIN + HS_PAGE_4K);
    st[2] = give(D, C, HS_XFER_SHARE, HS_FPAGE(WIN, 12), RW);
    st[3] = revoke_in(A, SRC + HS_PAGE_4K, HS_PAGE_4K);
    query(2, D, WIN);
    query(3, D, WIN + HS_PAGE_4K);
    st[4] = revoke_in(A, SRC, HS_PAGE_4K);
    query(4, D, WIN);
    query(5, C, WIN);
}

static void test_pages_accepted_are_derived_from_the_sender(void **state)
{
    (void)state;
    pages_accepted = HS_STATUS_COUNT;
    run(pages_dup);
    assert_int_equal(st[0], HS_OK);
    assert_int_equal(st[1], HS_OK);
    assert_int_equal(val[0], 1);
    assert_int_equal(qs[0], HS_OK);
    assert_true(inf[0].flags & HS_MEM_DERIVED);
    assert_true(inf[1].flags & HS_MEM_DERIVED);
    assert_int_equal(st[2], HS_OK);
    assert_int_equal(st[3], HS_OK);
    assert_int_equal(qs[2], HS_OK);
    assert_int_equal(qs[3], HS_ENOMAP);
    assert_int_equal(st[4], HS_OK);
    assert_int_equal(qs[4], HS_ENOMAP);
    assert_int_equal(qs[5], HS_ENOMAP);         /* passed on from D */
}

/* ---- nothing derived, bad arguments, the limit ---------------------------- */

static void nothing_derived(void)
{
    EXPECT_ST(in(A, OP_MAP, SRC, HS_PAGE_2M, 0, 0, 0), HS_OK);
    EXPECT_ST(give(A, B, HS_XFER_COPY, HS_FPAGE(SRC, 12), RW), HS_OK);
    EXPECT_ST(give(A, C, HS_XFER_SHARE, HS_FPAGE(SRC + HS_PAGE_4K, 12), RW),
              HS_OK);
    stats_at(0);
    st[0] = revoke_in(A, SRC + 2 * HS_PAGE_4K, 64 * HS_PAGE_4K);
    st[1] = revoke_in(B, WIN, HS_PAGE_4K);          /* a copy: no node */
    st[2] = revoke_in(C, WIN, HS_PAGE_4K);          /* a leaf of the tree */
    stats_at(1);
    query(0, B, WIN);
    query(1, C, WIN);
    /* Bad arguments: refused, nothing changed. */
    st[3] = hs_mem_revoke(SRC + 1, HS_PAGE_4K);
    st[4] = hs_mem_revoke(SRC, 0);
    st[5] = hs_mem_revoke(SRC, HS_PAGE_4K + 12);
    st[6] = hs_mem_revoke(HS_VA_LIMIT, HS_PAGE_4K);
    st[7] = hs_mem_revoke(HS_VA_LIMIT - HS_PAGE_4K, 2 * HS_PAGE_4K);
    st[8] = hs_mem_revoke(~(uint64_t)0xfff, 2 * HS_PAGE_4K);   /* wraps */
    st[9] = hs_mem_revoke(HOLE, HS_PAGE_2M);        /* nothing mapped */
    stats_at(2);
    query(2, C, WIN);
}

static void test_revoke_with_nothing_derived_or_bad_arguments(void **state)
{
    (void)state;
    run(nothing_derived);
    assert_int_equal(st[0], HS_OK);
    assert_int_equal(st[1], HS_OK);
    assert_int_equal(st[2], HS_OK);
    assert_memory_equal(&stats[1], &stats[0], sizeof stats[0]);
    assert_int_equal(stats[0].derived, 2);
    assert_int_equal(qs[0], HS_OK);
    assert_int_equal(qs[1], HS_OK);
    assert_int_equal(st[3], HS_EINVAL);
    assert_int_equal(st[4], HS_EINVAL);
    assert_int_equal(st[5], HS_EINVAL);
    assert_int_equal(st[6], HS_ERANGE);
    assert_int_equal(st[7], HS_ERANGE);
    assert_int_equal(st[8], HS_ERANGE);
    assert_int_equal(st[9], HS_ENOMAP);
    assert_memory_equal(&stats[2], &stats[0], sizeof stats[0]);
    assert_int_equal(qs[2], HS_OK);
    assert_true(inf[2].flags & HS_MEM_DERIVED);
}

/* With room for 3 nodes: a share to B takes 2, a share on to C 1 more; a
 * share to D would need 2 and is refused whole, the receiver's window
 * still empty; a split that would need 511 more is refused too. */
static void limited(void)
{
    EXPECT_ST(in(A, OP_MAP, SRC, HS_PAGE_2M, HS_PAGE_2M, 0, 0), HS_OK);
    EXPECT_ST(in(A, OP_MAP, SRC + HS_PAGE_2M, HS_PAGE_4K, HS_PAGE_4K, 0, 0),
              HS_OK);
    EXPECT_ST(give(A, B, HS_XFER_SHARE, HS_FPAGE(SRC, 21), RW), HS_OK);
    EXPECT_ST(give(B, C, HS_XFER_SHARE, HS_FPAGE(WIN, 21), RW), HS_OK);
    stats_at(0);
    st[0] = give(A, D, HS_XFER_SHARE, HS_FPAGE(SRC + HS_PAGE_2M, 12), RW);
    query(0, D, WIN);
    st[1] = in(A, OP_PROTECT, SRC, HS_PAGE_4K, HS_PROT_READ, 0, 0);
    st[2] = in(B, OP_UNMAP, WIN, HS_PAGE_4K, 0, 0, 0);
    st[3] = revoke_in(A, SRC, HS_PAGE_4K);          /* C's split */
    stats_at(1);
    query(1, A, SRC);
    query(2, C, WIN);
    st[4] = revoke_in(A, SRC, HS_PAGE_2M);          /* whole: no split */
    query(3, C, WIN);
}

static void test_node_limit_refuses_with_nothing_changed(void **state)
{
    (void)state;
    hs_sim_config cfg = config();
    cfg.max_map_nodes = 3;
    reset();
    tu_run_one(&cfg, "A", driver, (void *)limited, NULL);
    assert_int_equal(stats[0].derived, 3);
    assert_int_equal(st[0], HS_ENOMEM);
    assert_int_equal(qs[0], HS_ENOMAP);
    assert_int_equal(st[1], HS_ENOMEM);
    assert_int_equal(st[2], HS_ENOMEM);
    assert_int_equal(st[3], HS_ENOMEM);
    assert_memory_equal(&stats[1], &stats[0], sizeof stats[0]);
    assert_int_equal(inf[1].page, HS_PAGE_2M);
    assert_int_equal(inf[1].prot, RW);
    assert_int_equal(qs[2], HS_OK);
    assert_int_equal(st[4], HS_OK);
    assert_int_equal(qs[3], HS_ENOMAP);
}

/* ---- random sequences ------------------------------------------------------- */

/* Every process works in [SRC, SRC + 8 x 2M); transfers land in the same
 * range of the receiver.  Nearly every operation may be refused (a page
 * already there, nothing mapped, a copy-on-write of a page shared
 * writable...); what matters is that nothing panics, the memory state and
 * the mapping database pass the check at every kernel exit, and the run
 * ends with everything given back. */
#define SLOTS 8
#define RANDOM_OPS 250
#define RANDOM_SEEDS 6

static uint64_t rng;
static unsigned random_ok;              /* operations that succeeded */
static unsigned random_revoked;         /* revokes that took something */

static uint64_t next_rand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* A random naturally aligned range of a slot: 4K, 64K or 2M. */
static void random_range(uint64_t *va, unsigned *log2)
{
    static const unsigned sizes[3] = {12, 16, 21};
    *log2 = sizes[next_rand() % 3];
    uint64_t size = (uint64_t)1 << *log2;
    uint64_t slot = SRC + (next_rand() % SLOTS) * HS_PAGE_2M;
    *va = slot + (next_rand() % (HS_PAGE_2M / size)) * size;
}

static void random_step(void)
{
    static const unsigned modes[4] = {HS_XFER_SHARE, HS_XFER_COW,
                                      HS_XFER_MOVE, HS_XFER_SHARE};
    int who = (int)(next_rand() % 4);
    uint64_t va;
    unsigned log2;
    random_range(&va, &log2);
    uint64_t len = (uint64_t)1 << log2;
    hs_status s;
    hs_mem_stats before, after;
    switch (next_rand() % 8) {
    case 0:
        s = in(who, OP_MAP, va, len, next_rand() % 2 ? len : HS_PAGE_4K, 0, 0);
        break;
    case 1:
    case 2: {
        uint64_t to_va;
        unsigned to_log2;
        random_range(&to_va, &to_log2);
        s = in(who, OP_GIVE, next_rand() % 4, modes[next_rand() % 4],
               HS_FPAGE(va, log2), HS_FPAGE(to_va & ~(len - 1), log2),
               next_rand() % 3 ? RW : HS_PROT_READ);
        break;
    }
    case 3:
        s = in(who, OP_UNMAP, va, len, 0, 0, 0);
        break;
    case 4:
        s = in(who, OP_PROTECT, va, len,
               next_rand() % 2 ? HS_PROT_READ : RW, 0, 0);
        break;
    case 5:
    case 6:
        EXPECT_ST(hs_mem_stats_get(&before), HS_OK);
        s = revoke_in(who, va, len);
        EXPECT_ST(hs_mem_stats_get(&after), HS_OK);
        random_revoked += after.derived != before.derived;
        break;
    default:
        s = in(who, OP_POKE, va + (next_rand() % len & ~7ull), 0x5a, 0, 0,
               0);
        break;
    }
    random_ok += s == HS_OK;
}

static void random_ops(void)
{
    for (int who = A; who <= D; who++)      /* half the slots mapped */
        for (uint64_t slot = 0; slot < SLOTS; slot += 2)
            EXPECT_ST(in(who, OP_MAP, SRC + slot * HS_PAGE_2M, HS_PAGE_2M,
                         next_rand() % 2 ? HS_PAGE_2M : HS_PAGE_4K, 0, 0),
                      HS_OK);
    for (unsigned i = 0; i < RANDOM_OPS; i++)
        random_step();
    for (int who = A; who <= D; who++)      /* take everything back */
        EXPECT_ST(revoke_in(who, SRC, SLOTS * HS_PAGE_2M) == HS_EPANIC,
                  0);
    stats_at(0);
}

static void test_random_sequences_keep_the_database_exact(void **state)
{
    (void)state;
    unsigned ok = 0, revoked = 0;
    for (uint64_t seed = 1; seed <= RANDOM_SEEDS; seed++) {
        rng = seed * 0x9e3779b97f4a7c15ull;
        random_ok = random_revoked = 0;
        run(random_ops);
        ok += random_ok;
        revoked += random_revoked;
    }
    /* The sequences do something: most of it is refused, not all. */
    assert_true(ok > RANDOM_SEEDS * RANDOM_OPS / 8);
    assert_true(revoked > RANDOM_SEEDS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_revoke_in_the_middle_takes_c_not_a_or_b),
        cmocka_unit_test(test_revoke_at_the_root_takes_b_and_c),
        cmocka_unit_test(test_revoke_follows_a_2m_page_split_in_4k),
        cmocka_unit_test(test_revoke_reaches_a_split_child),
        cmocka_unit_test(test_revoke_follows_a_1g_page_split_twice),
        cmocka_unit_test(test_revoke_cow_before_and_after_the_break),
        cmocka_unit_test(test_revoke_by_a_pager_sends_the_next_fault_to_it),
        cmocka_unit_test(test_revoke_then_access_without_pager_kills),
        cmocka_unit_test(test_revoke_reaches_past_a_process_that_ended),
        cmocka_unit_test(test_unmap_in_the_middle_keeps_c_for_a),
        cmocka_unit_test(test_move_hands_the_node_over),
        cmocka_unit_test(test_move_of_part_of_a_derived_page),
        cmocka_unit_test(test_pages_accepted_are_derived_from_the_sender),
        cmocka_unit_test(test_cow_of_part_of_a_2m_page_without_a_node),
        cmocka_unit_test(test_share_and_move_of_one_page_in_one_message),
        cmocka_unit_test(test_mem_check_finds_a_node_without_its_bit),
        cmocka_unit_test(test_revoke_with_nothing_derived_or_bad_arguments),
        cmocka_unit_test(test_node_limit_refuses_with_nothing_changed),
        cmocka_unit_test(test_random_sequences_keep_the_database_exact),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
