/*
 * tests/test_xfer.c - memory transfers as typed items: move, share, copy
 * and copy-on-write, through a gate (send, call and reply) and through a
 * hop with hs_hop_accept(); declining; a 1G page shared with eight
 * processes; every kind of bad input refused with nothing changed; a move
 * within one process at its HS_RES_MAPPED quota (not refused by it); a
 * page another mapping may write never made copy-on-write.
 *
 * The pair of processes of a gate test: the root process receives (its
 * gate, bound to its first thread), and its child sends through that gate
 * (local name 1, given at spawn).  In a hop test the root owns the port
 * "xfer" and its child hops in.  Simulated threads record into the statics
 * below; the test asserts after hs_sim_run().  Every run checks the whole
 * memory state at each kernel exit (cfg.mem_check), and the simulated
 * threads call hs_mem_check() after each transfer too.
 */
#include "testutil.h"

#define LABEL   0x78666572u     /* "xfer" */
#define MARK    0x6d61726bu     /* a plain message after a refused one */
#define GATE    1               /* the sender's name of the root's gate */

#define RW (HS_PROT_READ | HS_PROT_WRITE)
#define K4 HS_PAGE_4K
#define M2 HS_PAGE_2M

/* Addresses: the sender's ranges, and the receiver's window. */
#define SRC     ((uint64_t)0x10000000)      /* 2 x 4K, read-write */
#define SRC_RO  ((uint64_t)0x10100000)      /* 1 x 4K, read-only */
#define SRC_2M  ((uint64_t)0x20000000)      /* one 2M page */
#define WIN     ((uint64_t)0x40000000)
#define WIN_FP  HS_FPAGE(WIN, 24)           /* 16M window */

#define NREC 64

static hs_status st_rec[NREC];
static uint64_t w_rec[NREC];
static hs_mem_info info_rec[NREC];
static hs_status qst_rec[NREC];
static hs_pid_t recv_pid, send_pid;

static struct {
    unsigned pf_cow, mem_move, mem_share, mem_copy, mem_cow, mem_decline,
        hop_accept;
} ev;

static void count_event(void *cookie, const hs_event *e)
{
    (void)cookie;
    static const struct { const char *name; size_t off; } kinds[] = {
        {"pf_cow", offsetof(__typeof__(ev), pf_cow)},
        {"mem_move", offsetof(__typeof__(ev), mem_move)},
        {"mem_share", offsetof(__typeof__(ev), mem_share)},
        {"mem_copy", offsetof(__typeof__(ev), mem_copy)},
        {"mem_cow", offsetof(__typeof__(ev), mem_cow)},
        {"mem_decline", offsetof(__typeof__(ev), mem_decline)},
        {"hop_accept", offsetof(__typeof__(ev), hop_accept)},
    };
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        if (strcmp(e->kind, kinds[i].name) == 0)
            (*(unsigned *)((char *)&ev + kinds[i].off))++;
}

static void reset(void)
{
    for (int i = 0; i < NREC; i++) {
        st_rec[i] = HS_STATUS_COUNT;
        qst_rec[i] = HS_STATUS_COUNT;
        w_rec[i] = 0xbad;
        memset(&info_rec[i], 0xee, sizeof info_rec[i]);
    }
    memset(&ev, 0, sizeof ev);
    recv_pid = send_pid = 0;
}

static hs_sim_config xfer_config(void)
{
    hs_sim_config cfg = tu_config();
    cfg.mem_check = 1;
    cfg.event_fn = count_event;
    return cfg;
}

static void run_cfg(const hs_sim_config *cfg, hs_entry_fn entry, void *arg)
{
    reset();
    tu_run_one(cfg, "root", entry, arg, NULL);
}

/* Run entry as the root process (attr a, may be NULL) on a pool of size
 * bytes: the run ends HS_OK, every status matched, the check at its end
 * found nothing, and the pool is whole again. */
static void run_with(uint64_t pool, hs_entry_fn entry,
                     const hs_proc_attr *a)
{
    reset();
    tu_run_pool(pool, "root", entry, NULL, a);
}

/* Record the mapping of va in pid into slot i (status and info). */
static void query(int i, hs_pid_t pid, uint64_t va)
{
    qst_rec[i] = hs_mem_query(pid, va, &info_rec[i]);
}

/* Map len bytes at va (page size page) with prot, and fill every 4K
 * page's first bytes with a pattern of byte. */
static void map_fill(uint64_t va, uint64_t len, uint64_t page, unsigned prot,
                     unsigned char byte)
{
    EXPECT_ST(hs_mem_map(va, len, prot, page), HS_OK);
    if (!(prot & HS_PROT_WRITE))
        return;
    for (uint64_t off = 0; off < len; off += HS_PAGE_4K) {
        unsigned char b[16];
        memset(b, byte, sizeof b);
        b[0] = (unsigned char)(off >> 12);
        EXPECT_ST(hs_mem_write(va + off, b, sizeof b), HS_OK);
    }
}

/* Whether the first bytes of every 4K page of [va, va + len) hold the
 * pattern map_fill() wrote with byte. */
static int holds(uint64_t va, uint64_t len, unsigned char byte)
{
    for (uint64_t off = 0; off < len; off += HS_PAGE_4K) {
        unsigned char b[16], want[16];
        memset(want, byte, sizeof want);
        want[0] = (unsigned char)(off >> 12);
        if (hs_mem_read(va + off, b, sizeof b) != HS_OK ||
            memcmp(b, want, sizeof b) != 0)
            return 0;
    }
    return 1;
}

/* Put one memory item (and one word, mr[0] = word0) in the UTCB. */
static void set_item(uint64_t word0, unsigned mode, unsigned prot,
                     uint64_t fpage)
{
    hs_utcb_t *u = hs_utcb();
    u->tag = HS_TAG_ITEMS(LABEL, 1, 1);
    u->mr[0] = word0;
    u->mr[1] = HS_ITEM_MEM_WORD(mode, prot);
    u->mr[2] = fpage;
}

static void set_plain(uint64_t word0)
{
    hs_utcb()->tag = HS_TAG(MARK, 1);
    hs_utcb()->mr[0] = word0;
}

/* ---- the pair of processes of a gate test ---------------------------------- */

struct pair {
    hs_entry_fn receiver;       /* runs in the root, gets its gate */
    hs_entry_fn sender;         /* runs in the child, sends to GATE */
    int privileged;             /* both are core servers */
};

static int pair_root(void *arg)
{
    const struct pair *p = arg;
    hs_cap_t g = 0;
    EXPECT_ST(hs_gate_create(0, LABEL, &g), HS_OK);
    uint32_t caps[1] = {g};
    hs_proc_attr a;
    memset(&a, 0, sizeof a);
    a.caps = caps;
    a.ncaps = 1;
    a.privileged = p->privileged;
    recv_pid = hs_proc_self();
    EXPECT_ST(hs_proc_spawn("sender", p->sender, NULL, &a, &send_pid),
              HS_OK);
    int r = p->receiver((void *)(uintptr_t)g);
    EXPECT_ST(hs_proc_wait(send_pid, HS_NEVER, NULL), HS_OK);
    EXPECT_ST(hs_mem_check(), HS_OK);
    return r;
}

static void run_pair(hs_entry_fn receiver, hs_entry_fn sender)
{
    struct pair p = {receiver, sender, 0};
    hs_sim_config cfg = xfer_config();
    run_cfg(&cfg, pair_root, &p);
}

static hs_cap_t arg_gate(void *arg)
{
    return (hs_cap_t)(uintptr_t)arg;
}

/* ---- move, accepted and declined ------------------------------------------- */

static int move_recv(void *arg)
{
    hs_utcb_t *u = hs_utcb();
    u->br[HS_BR_MEM] = WIN_FP;
    st_rec[0] = hs_ipc_recv(arg_gate(arg), HS_NEVER, NULL);
    w_rec[0] = u->mr[2];                        /* where it landed */
    w_rec[1] = u->tag;
    query(1, 0, WIN);
    w_rec[2] = holds(WIN, HS_PAGE_2M, 0x5a);
    EXPECT_ST(hs_mem_check(), HS_OK);
    return 0;
}

static int move_send(void *arg)
{
    (void)arg;
    map_fill(SRC_2M, HS_PAGE_2M, HS_PAGE_2M, RW, 0x5a);
    query(0, 0, SRC_2M);
    set_item(7, HS_XFER_MOVE, RW, HS_FPAGE(SRC_2M, 21));
    st_rec[1] = hs_ipc_send(GATE, HS_NEVER);
    query(2, 0, SRC_2M);
    EXPECT_ST(hs_mem_check(), HS_OK);
    return 0;
}

static void test_xfer_move_accepted_unmaps_the_sender(void **state)
{
    (void)state;
    run_pair(move_recv, move_send);
    assert_int_equal(st_rec[0], HS_OK);
    assert_int_equal(st_rec[1], HS_OK);
    assert_int_equal(w_rec[0], HS_FPAGE(WIN, 21));
    assert_int_equal(w_rec[1], HS_TAG_ITEMS(LABEL, 1, 1));
    /* The receiver maps the very frame, at the same size; once only. */
    assert_int_equal(qst_rec[0], HS_OK);
    assert_int_equal(qst_rec[1], HS_OK);
    assert_int_equal(info_rec[1].pa, info_rec[0].pa);
    assert_int_equal(info_rec[1].page, HS_PAGE_2M);
    assert_int_equal(info_rec[1].refs, 1);
    assert_int_equal(info_rec[1].prot, RW);
    assert_int_equal(w_rec[2], 1);              /* the data came along */
    assert_int_equal(qst_rec[2], HS_ENOMAP);    /* the sender lost it */
    assert_int_equal(ev.mem_move, 1);
}

static int decline_recv(void *arg)
{
    hs_utcb_t *u = hs_utcb();
    u->br[HS_BR_MEM] = 0;
    st_rec[0] = hs_ipc_recv(arg_gate(arg), HS_NEVER, NULL);
    w_rec[0] = u->mr[2];
    w_rec[1] = u->mr[0];
    query(1, 0, WIN);
    return 0;
}

static void test_xfer_move_declined_keeps_the_sender(void **state)
{
    (void)state;
    run_pair(decline_recv, move_send);
    assert_int_equal(st_rec[0], HS_OK);         /* the message landed */
    assert_int_equal(st_rec[1], HS_OK);
    assert_int_equal(w_rec[1], 7);
    assert_int_equal(w_rec[0], 0);              /* the item did not */
    assert_int_equal(qst_rec[1], HS_ENOMAP);
    assert_int_equal(qst_rec[2], HS_OK);        /* the sender keeps it */
    assert_int_equal(info_rec[2].pa, info_rec[0].pa);
    assert_int_equal(info_rec[2].refs, 1);
    assert_int_equal(ev.mem_move, 0);
    assert_int_equal(ev.mem_decline, 1);
}

/* A move of 64K out of the middle of a 2M page splits the sender's page;
 * the receiver gets 4K pages of the same frames. */
static int cut_send(void *arg)
{
    (void)arg;
    map_fill(SRC_2M, HS_PAGE_2M, HS_PAGE_2M, RW, 0x33);
    query(0, 0, SRC_2M);
    set_item(7, HS_XFER_MOVE, RW, HS_FPAGE(SRC_2M + 0x20000, 16));
    st_rec[1] = hs_ipc_send(GATE, HS_NEVER);
    query(2, 0, SRC_2M + 0x20000);
    query(3, 0, SRC_2M + 0x30000 - HS_PAGE_4K);
    query(4, 0, SRC_2M + 0x30000);
    query(5, 0, SRC_2M);
    w_rec[5] = holds(SRC_2M, 0x20000, 0x33);
    EXPECT_ST(hs_mem_check(), HS_OK);
    return 0;
}

static int cut_recv(void *arg)
{
    hs_utcb_t *u = hs_utcb();
    u->br[HS_BR_MEM] = WIN_FP;
    st_rec[0] = hs_ipc_recv(arg_gate(arg), HS_NEVER, NULL);
    w_rec[0] = u->mr[2];
    query(6, 0, WIN);
    query(7, 0, WIN + 0x10000 - HS_PAGE_4K);
    return 0;
}

static void test_xfer_move_of_part_of_a_2m_page_splits_it(void **state)
{
    (void)state;
    run_pair(cut_recv, cut_send);
    assert_int_equal(st_rec[1], HS_OK);
    assert_int_equal(w_rec[0], HS_FPAGE(WIN, 16));
    assert_int_equal(qst_rec[2], HS_ENOMAP);
    assert_int_equal(qst_rec[3], HS_ENOMAP);
    assert_int_equal(qst_rec[4], HS_OK);        /* the rest stays */
    assert_int_equal(qst_rec[5], HS_OK);
    assert_int_equal(info_rec[4].pa, info_rec[0].pa + 0x30000);
    assert_int_equal(w_rec[5], 1);
    assert_int_equal(qst_rec[6], HS_OK);
    assert_int_equal(info_rec[6].page, HS_PAGE_4K);
    assert_int_equal(info_rec[6].pa, info_rec[0].pa + 0x20000);
    assert_int_equal(info_rec[7].pa, info_rec[0].pa + 0x2f000);
}

/* ---- share ----------------------------------------------------------------- */

static hs_mem_stats stats_rec[8];

static int share_send(void *arg)
{
    (void)arg;
    map_fill(SRC_2M, HS_PAGE_2M, HS_PAGE_2M, RW, 0x44);
    map_fill(SRC, 2 * HS_PAGE_4K, HS_PAGE_4K, RW, 0x45);
    query(0, 0, SRC_2M);
    EXPECT_ST(hs_mem_stats_get(&stats_rec[0]), HS_OK);
    hs_utcb_t *u = hs_utcb();
    u->tag = HS_TAG_ITEMS(LABEL, 1, 2);
    u->mr[0] = 9;
    u->mr[1] = HS_ITEM_MEM_WORD(HS_XFER_SHARE, RW);
    u->mr[2] = HS_FPAGE(SRC_2M, 21);
    u->mr[3] = HS_ITEM_MEM_WORD(HS_XFER_SHARE, HS_PROT_READ);
    u->mr[4] = HS_FPAGE(SRC, 13);
    st_rec[1] = hs_ipc_call(GATE, HS_NEVER, HS_NEVER);
    query(2, 0, SRC_2M);
    query(3, 0, SRC);
    EXPECT_ST(hs_mem_stats_get(&stats_rec[1]), HS_OK);
    /* The receiver wrote through its mapping: the same bytes. */
    unsigned char b = 0;
    EXPECT_ST(hs_mem_read(SRC_2M + 100, &b, 1), HS_OK);
    w_rec[3] = b;
    /* Now the receiver unmaps the 2M page: one count less. */
    set_plain(1);
    EXPECT_ST(hs_ipc_call(GATE, HS_NEVER, HS_NEVER), HS_OK);
    query(4, 0, SRC_2M);
    EXPECT_ST(hs_mem_stats_get(&stats_rec[2]), HS_OK);
    EXPECT_ST(hs_mem_check(), HS_OK);
    return 0;
}

static int share_recv(void *arg)
{
    hs_utcb_t *u = hs_utcb();
    u->br[HS_BR_MEM] = WIN_FP;
    st_rec[0] = hs_ipc_recv(arg_gate(arg), HS_NEVER, NULL);
    w_rec[0] = u->mr[2];
    w_rec[1] = u->mr[4];
    query(5, 0, WIN);
    query(6, 0, hs_fpage_base(u->mr[4]));
    w_rec[2] = holds(WIN, HS_PAGE_2M, 0x44) &&
               holds(hs_fpage_base(u->mr[4]), 2 * HS_PAGE_4K, 0x45);
    unsigned char b = 0xab;
    EXPECT_ST(hs_mem_write(WIN + 100, &b, 1), HS_OK);
    /* The read-only share refuses a write: probe, do not fault. */
    st_rec[2] = hs_mem_probe(hs_fpage_base(u->mr[4]), 1, HS_PROT_WRITE);
    u->tag = HS_TAG(0, 0);
    EXPECT_ST(hs_ipc_reply(), HS_OK);
    EXPECT_ST(hs_ipc_recv(arg_gate(arg), HS_NEVER, NULL), HS_OK);
    EXPECT_ST(hs_mem_unmap(WIN, HS_PAGE_2M), HS_OK);
    EXPECT_ST(hs_ipc_reply(), HS_OK);
    return 0;
}

static void test_xfer_share_counts_one_per_page(void **state)
{
    (void)state;
    run_pair(share_recv, share_send);
    assert_int_equal(st_rec[0], HS_OK);
    assert_int_equal(st_rec[1], HS_OK);
    /* Items land in order, each aligned to its size. */
    assert_int_equal(w_rec[0], HS_FPAGE(WIN, 21));
    assert_int_equal(w_rec[1], HS_FPAGE(WIN + HS_PAGE_2M, 13));
    assert_int_equal(w_rec[2], 1);
    /* One 2M count, not 512. */
    assert_int_equal(info_rec[0].refs, 1);
    assert_int_equal(info_rec[2].refs, 2);
    assert_int_equal(info_rec[5].refs, 2);
    assert_int_equal(info_rec[5].pa, info_rec[0].pa);
    assert_int_equal(info_rec[5].page, HS_PAGE_2M);
    assert_int_equal(stats_rec[1].refs_2m, stats_rec[0].refs_2m + 1);
    assert_int_equal(stats_rec[1].refs_4k, stats_rec[0].refs_4k + 2);
    /* No frame was taken (page tables live outside the pool). */
    assert_int_equal(stats_rec[1].free, stats_rec[0].free);
    assert_true(info_rec[2].flags & HS_MEM_SHARED);
    assert_true(info_rec[3].flags & HS_MEM_SHARED);
    assert_true(info_rec[5].flags & HS_MEM_SHARED);
    assert_int_equal(info_rec[6].prot, HS_PROT_READ);
    assert_int_equal(info_rec[6].refs, 2);
    assert_int_equal(st_rec[2], HS_EFAULT);
    assert_int_equal(w_rec[3], 0xab);           /* zero-copy */
    assert_int_equal(info_rec[4].refs, 1);
    assert_int_equal(stats_rec[2].refs_2m, stats_rec[0].refs_2m);
    assert_int_equal(ev.mem_share, 2);
}

/* A shared 2M page split by a 4K unmap on one side: the splitting side's
 * count moves down to 511 4K counts, the other side keeps its 2M count,
 * and the unmapped frame is freed only when the other side lets go. */
static int split_send(void *arg)
{
    (void)arg;
    map_fill(SRC_2M, HS_PAGE_2M, HS_PAGE_2M, RW, 0x47);
    set_item(1, HS_XFER_SHARE, RW, HS_FPAGE(SRC_2M, 21));
    EXPECT_ST(hs_ipc_call(GATE, HS_NEVER, HS_NEVER), HS_OK);
    EXPECT_ST(hs_mem_stats_get(&stats_rec[0]), HS_OK);     /* shared */
    set_plain(1);               /* the receiver unmaps 4K of its view */
    EXPECT_ST(hs_ipc_call(GATE, HS_NEVER, HS_NEVER), HS_OK);
    EXPECT_ST(hs_mem_stats_get(&stats_rec[1]), HS_OK);
    query(0, 0, SRC_2M);
    EXPECT_ST(hs_mem_unmap(SRC_2M, HS_PAGE_2M), HS_OK);     /* let go */
    EXPECT_ST(hs_mem_stats_get(&stats_rec[2]), HS_OK);
    EXPECT_ST(hs_mem_check(), HS_OK);
    set_plain(2);               /* the receiver unmaps the rest */
    EXPECT_ST(hs_ipc_call(GATE, HS_NEVER, HS_NEVER), HS_OK);
    EXPECT_ST(hs_mem_stats_get(&stats_rec[3]), HS_OK);
    return 0;
}

static int split_recv(void *arg)
{
    hs_utcb_t *u = hs_utcb();
    u->br[HS_BR_MEM] = WIN_FP;
    st_rec[0] = hs_ipc_recv(arg_gate(arg), HS_NEVER, NULL);
    u->tag = HS_TAG(0, 0);
    EXPECT_ST(hs_ipc_reply(), HS_OK);
    EXPECT_ST(hs_ipc_recv(arg_gate(arg), HS_NEVER, NULL), HS_OK);
    st_rec[1] = hs_mem_unmap(WIN + 0x5000, HS_PAGE_4K);
    query(1, 0, WIN);
    query(2, 0, WIN + 0x6000);
    qst_rec[3] = hs_mem_query(0, WIN + 0x5000, &info_rec[3]);
    u->tag = HS_TAG(0, 0);
    EXPECT_ST(hs_ipc_reply(), HS_OK);
    EXPECT_ST(hs_ipc_recv(arg_gate(arg), HS_NEVER, NULL), HS_OK);
    unsigned char kept[2] = {0, 0};                     /* still there */
    EXPECT_ST(hs_mem_read(WIN + 0x6000, kept, 2), HS_OK);
    w_rec[0] = kept[0] == 6 && kept[1] == 0x47;
    EXPECT_ST(hs_mem_unmap(WIN, 0x5000), HS_OK);
    EXPECT_ST(hs_mem_unmap(WIN + 0x6000, HS_PAGE_2M - 0x6000), HS_OK);
    u->tag = HS_TAG(0, 0);
    EXPECT_ST(hs_ipc_reply(), HS_OK);
    return 0;
}

static void test_xfer_shared_2m_page_split_by_a_4k_unmap(void **state)
{
    (void)state;
    run_pair(split_recv, split_send);
    assert_int_equal(st_rec[0], HS_OK);
    assert_int_equal(st_rec[1], HS_OK);
    /* Shared: one 2M page, two counts at 2M. */
    hs_mem_stats a = stats_rec[0], b = stats_rec[1], c = stats_rec[2];
    /* The receiver's split: its 2M count became 511 4K counts. */
    assert_int_equal(b.refs_2m, a.refs_2m - 1);
    assert_int_equal(b.refs_4k, a.refs_4k + 511);
    assert_int_equal(b.free, a.free);           /* the hole is the
                                                   sender's still */
    assert_int_equal(info_rec[0].page, HS_PAGE_2M);
    assert_int_equal(info_rec[0].refs, 1);
    assert_int_equal(info_rec[1].page, HS_PAGE_4K);
    assert_int_equal(info_rec[1].refs, 1);
    assert_int_equal(info_rec[1].pa, info_rec[0].pa);
    assert_int_equal(info_rec[2].pa, info_rec[0].pa + 0x6000);
    assert_int_equal(qst_rec[3], HS_ENOMAP);
    /* The sender lets go: exactly the hole's frame comes free. */
    assert_int_equal(c.refs_2m, b.refs_2m - 1);
    assert_int_equal(c.refs_4k, b.refs_4k);
    assert_int_equal(c.free, b.free + HS_PAGE_4K);
    assert_int_equal(w_rec[0], 1);
    /* The receiver lets go of the rest: the whole block is free. */
    assert_int_equal(stats_rec[3].refs_4k, c.refs_4k - 511);
    assert_int_equal(stats_rec[3].free, c.free + HS_PAGE_2M - HS_PAGE_4K);
}

/* Sharing part of a 2M page: the receiver gets 4K pages of its frames,
 * the sender's page is not split but flagged shared. */
static int part_send(void *arg)
{
    (void)arg;
    map_fill(SRC_2M, HS_PAGE_2M, HS_PAGE_2M, RW, 0x46);
    query(0, 0, SRC_2M);
    set_item(1, HS_XFER_SHARE, HS_PROT_READ, HS_FPAGE(SRC_2M + 0x10000, 16));
    st_rec[1] = hs_ipc_send(GATE, HS_NEVER);
    query(1, 0, SRC_2M);
    return 0;
}

static int part_recv(void *arg)
{
    hs_utcb_t *u = hs_utcb();
    u->br[HS_BR_MEM] = WIN_FP;
    st_rec[0] = hs_ipc_recv(arg_gate(arg), HS_NEVER, NULL);
    query(2, 0, WIN);
    unsigned char b[2] = {0, 0};
    EXPECT_ST(hs_mem_read(WIN, b, 2), HS_OK);
    w_rec[1] = b[0];
    w_rec[2] = b[1];
    return 0;
}

static void test_xfer_share_of_part_of_a_large_page(void **state)
{
    (void)state;
    run_pair(part_recv, part_send);
    assert_int_equal(st_rec[0], HS_OK);
    assert_int_equal(st_rec[1], HS_OK);
    assert_int_equal(info_rec[1].page, HS_PAGE_2M);     /* not split */
    assert_int_equal(info_rec[1].refs, 1);
    assert_true(info_rec[1].flags & HS_MEM_SHARED);
    assert_int_equal(info_rec[2].page, HS_PAGE_4K);
    assert_int_equal(info_rec[2].pa, info_rec[0].pa + 0x10000);
    assert_int_equal(info_rec[2].prot, HS_PROT_READ);
    assert_int_equal(w_rec[1], 0x10);                   /* 4K page 16 */
    assert_int_equal(w_rec[2], 0x46);
}

/* A copy-on-write page passed on: never shared writable (its frame is
 * another's too), but moved with its write to come. */
static int onward_send(void *arg)
{
    (void)arg;
    hs_utcb_t *u = hs_utcb();
    map_fill(SRC, HS_PAGE_4K, HS_PAGE_4K, RW, 0x4f);
    query(0, 0, SRC);
    u->br[HS_BR_MEM] = WIN_FP;
    set_item(1, HS_XFER_COW, RW, HS_FPAGE(SRC, 12));
    st_rec[1] = hs_ipc_call(GATE, HS_NEVER, HS_NEVER);
    w_rec[1] = u->mr[2];
    query(1, 0, WIN);
    unsigned char b = 0x50;
    unsigned faults = ev.pf_cow;
    EXPECT_ST(hs_mem_write(WIN, &b, 1), HS_OK);
    w_rec[2] = ev.pf_cow - faults;
    query(2, 0, WIN);
    w_rec[3] = holds(SRC, HS_PAGE_4K, 0x4f);
    return 0;
}

static int onward_recv(void *arg)
{
    hs_utcb_t *u = hs_utcb();
    u->br[HS_BR_MEM] = WIN_FP;
    st_rec[0] = hs_ipc_recv(arg_gate(arg), HS_NEVER, NULL);
    uint64_t landed = u->mr[2];
    set_item(2, HS_XFER_SHARE, RW, landed);
    st_rec[2] = hs_ipc_reply();
    set_item(2, HS_XFER_MOVE, RW, landed);
    st_rec[3] = hs_ipc_reply();
    query(3, 0, hs_fpage_base(landed));
    return 0;
}

static void test_xfer_cow_page_moved_on_not_shared_writable(void **state)
{
    (void)state;
    run_pair(onward_recv, onward_send);
    assert_int_equal(st_rec[0], HS_OK);
    assert_int_equal(st_rec[2], HS_EPERM);
    assert_int_equal(st_rec[3], HS_OK);
    assert_int_equal(st_rec[1], HS_OK);
    assert_int_equal(qst_rec[3], HS_ENOMAP);
    assert_int_equal(w_rec[1], HS_FPAGE(WIN, 12));
    /* Back with the sender, at WIN: the same frame, still copy-on-write. */
    assert_int_equal(info_rec[1].pa, info_rec[0].pa);
    assert_true(info_rec[1].flags & HS_MEM_COW);
    assert_int_equal(info_rec[1].prot, HS_PROT_READ);
    assert_int_equal(info_rec[1].max_prot, RW);
    assert_int_equal(w_rec[2], 1);
    assert_int_not_equal(info_rec[2].pa, info_rec[0].pa);
    assert_int_equal(w_rec[3], 1);
}

/* ---- copy ------------------------------------------------------------------ */

static int copy_send(void *arg)
{
    (void)arg;
    map_fill(SRC, 2 * HS_PAGE_4K, HS_PAGE_4K, RW, 0x61);
    query(0, 0, SRC);
    set_item(1, HS_XFER_COPY, RW, HS_FPAGE(SRC, 13));
    st_rec[1] = hs_ipc_call(GATE, HS_NEVER, HS_NEVER);
    /* The receiver wrote its copy: not here. */
    w_rec[3] = holds(SRC, 2 * HS_PAGE_4K, 0x61);
    unsigned char b = 0x99;
    EXPECT_ST(hs_mem_write(SRC + HS_PAGE_4K + 1, &b, 1), HS_OK);
    set_plain(2);
    EXPECT_ST(hs_ipc_call(GATE, HS_NEVER, HS_NEVER), HS_OK);
    query(2, 0, SRC);
    return 0;
}

static int copy_recv(void *arg)
{
    hs_utcb_t *u = hs_utcb();
    u->br[HS_BR_MEM] = WIN_FP;
    st_rec[0] = hs_ipc_recv(arg_gate(arg), HS_NEVER, NULL);
    w_rec[0] = u->mr[2];
    query(5, 0, WIN);
    w_rec[1] = holds(WIN, 2 * HS_PAGE_4K, 0x61);
    unsigned char b = 0x77;
    EXPECT_ST(hs_mem_write(WIN + 1, &b, 1), HS_OK);
    u->tag = HS_TAG(0, 0);
    EXPECT_ST(hs_ipc_reply(), HS_OK);
    EXPECT_ST(hs_ipc_recv(arg_gate(arg), HS_NEVER, NULL), HS_OK);
    unsigned char c = 0;
    EXPECT_ST(hs_mem_read(WIN + HS_PAGE_4K + 1, &c, 1), HS_OK);
    w_rec[2] = c;
    u->tag = HS_TAG(0, 0);
    EXPECT_ST(hs_ipc_reply(), HS_OK);
    return 0;
}

static void test_xfer_copy_is_isolated(void **state)
{
    (void)state;
    run_pair(copy_recv, copy_send);
    assert_int_equal(st_rec[0], HS_OK);
    assert_int_equal(st_rec[1], HS_OK);
    assert_int_equal(w_rec[0], HS_FPAGE(WIN, 13));
    assert_int_equal(w_rec[1], 1);                  /* the contents */
    assert_int_not_equal(info_rec[5].pa, info_rec[0].pa);
    assert_int_equal(info_rec[5].refs, 1);
    assert_int_equal(info_rec[5].flags & HS_MEM_SHARED, 0);
    assert_int_equal(w_rec[3], 1);                  /* its write: not here */
    assert_int_equal(w_rec[2], 0x61);               /* ours: not there */
    assert_int_equal(info_rec[2].refs, 1);
    assert_int_equal(info_rec[2].pa, info_rec[0].pa);
    assert_int_equal(ev.mem_copy, 1);
}

/* ---- out of frames for a copy --------------------------------------------------- */

static hs_mem_stats nofr_before, nofr_after;

/* Fills all but one frame of the 16-frame pool, then waits. */
static int nofr_recv(void *arg)
{
    hs_utcb_t *u = hs_utcb();
    EXPECT_ST(hs_mem_map(WIN + 0x1000000, 7 * HS_PAGE_4K, RW, HS_PAGE_4K),
              HS_OK);
    u->br[HS_BR_MEM] = WIN_FP;
    st_rec[0] = hs_ipc_recv(arg_gate(arg), HS_NEVER, NULL);
    w_rec[0] = hs_tag_label(u->tag);            /* the plain message */
    query(1, 0, WIN);
    u->tag = HS_TAG(0, 0);
    EXPECT_ST(hs_ipc_reply(), HS_OK);
    return 0;
}

static int nofr_send(void *arg)
{
    (void)arg;
    map_fill(SRC, 8 * HS_PAGE_4K, HS_PAGE_4K, RW, 0x33);
    EXPECT_ST(hs_mem_stats_get(&nofr_before), HS_OK);
    set_item(1, HS_XFER_COPY, RW, HS_FPAGE(SRC, 15));     /* 8 pages */
    st_rec[1] = hs_ipc_call(GATE, HS_NEVER, HS_NEVER);
    w_rec[1] = hs_utcb()->phase;
    EXPECT_ST(hs_mem_stats_get(&nofr_after), HS_OK);
    w_rec[2] = holds(SRC, 8 * HS_PAGE_4K, 0x33);
    set_plain(2);
    EXPECT_ST(hs_ipc_call(GATE, HS_NEVER, HS_NEVER), HS_OK);
    return 0;
}

static void test_xfer_copy_out_of_frames_changes_nothing(void **state)
{
    (void)state;
    struct pair p = {nofr_recv, nofr_send, 0};
    hs_sim_config cfg = xfer_config();
    cfg.mem_size = 16 * HS_PAGE_4K;
    run_cfg(&cfg, pair_root, &p);
    assert_int_equal(st_rec[1], HS_ENOFRAME);
    assert_int_equal(w_rec[1], HS_PHASE_SEND);
    assert_int_equal(nofr_after.free, nofr_before.free);
    assert_int_equal(nofr_after.free, HS_PAGE_4K);
    assert_int_equal(nofr_after.refs_4k, nofr_before.refs_4k);
    assert_int_equal(w_rec[2], 1);              /* the sender's pages */
    assert_int_equal(st_rec[0], HS_OK);         /* the receiver waited on */
    assert_int_equal(w_rec[0], MARK);
    assert_int_equal(qst_rec[1], HS_ENOMAP);    /* nothing landed */
    assert_int_equal(ev.mem_copy, 0);
}

/* ---- copy-on-write ------------------------------------------------------------- */

/*
 * Two pages.  Page 0: the receiver writes first (it faults and gets a
 * copy; the sender still reads the old bytes, and its own later write
 * only makes its page writable again, the frame being its alone).
 * Page 1: the sender writes first (it gets the copy; the receiver still
 * reads the old bytes).
 */
static int cow_send(void *arg)
{
    (void)arg;
    map_fill(SRC, 2 * HS_PAGE_4K, HS_PAGE_4K, RW, 0x41);
    query(0, 0, SRC);
    query(1, 0, SRC + HS_PAGE_4K);
    set_item(1, HS_XFER_COW, RW, HS_FPAGE(SRC, 13));
    st_rec[1] = hs_ipc_call(GATE, HS_NEVER, HS_NEVER);
    query(2, 0, SRC);                       /* copy-on-write, read-only */
    w_rec[3] = holds(SRC, HS_PAGE_4K, 0x41);
    w_rec[4] = ev.pf_cow;
    unsigned char b = 0x53;
    EXPECT_ST(hs_mem_write(SRC + HS_PAGE_4K + 1, &b, 1), HS_OK);
    w_rec[5] = ev.pf_cow;
    query(3, 0, SRC + HS_PAGE_4K);          /* its own copy now */
    set_plain(2);
    EXPECT_ST(hs_ipc_call(GATE, HS_NEVER, HS_NEVER), HS_OK);
    EXPECT_ST(hs_mem_write(SRC + 1, &b, 1), HS_OK);
    query(4, 0, SRC);
    w_rec[6] = ev.pf_cow;
    EXPECT_ST(hs_mem_check(), HS_OK);
    return 0;
}

static int cow_recv(void *arg)
{
    hs_utcb_t *u = hs_utcb();
    u->br[HS_BR_MEM] = WIN_FP;
    st_rec[0] = hs_ipc_recv(arg_gate(arg), HS_NEVER, NULL);
    w_rec[0] = u->mr[2];
    query(5, 0, WIN);
    query(6, 0, WIN + HS_PAGE_4K);
    w_rec[1] = holds(WIN, 2 * HS_PAGE_4K, 0x41);
    unsigned faults = ev.pf_cow;
    unsigned char b = 0x52;
    EXPECT_ST(hs_mem_write(WIN + 1, &b, 1), HS_OK);
    w_rec[2] = ev.pf_cow - faults;
    query(7, 0, WIN);
    u->tag = HS_TAG(0, 0);
    EXPECT_ST(hs_ipc_reply(), HS_OK);
    EXPECT_ST(hs_ipc_recv(arg_gate(arg), HS_NEVER, NULL), HS_OK);
    unsigned char c[2] = {0, 0};
    EXPECT_ST(hs_mem_read(WIN + HS_PAGE_4K + 1, &c[0], 1), HS_OK);
    EXPECT_ST(hs_mem_read(WIN + 1, &c[1], 1), HS_OK);
    w_rec[7] = c[0];
    w_rec[8] = c[1];
    query(8, 0, WIN + HS_PAGE_4K);
    u->tag = HS_TAG(0, 0);
    EXPECT_ST(hs_ipc_reply(), HS_OK);
    return 0;
}

static void test_xfer_cow_isolates_both_ways(void **state)
{
    (void)state;
    run_pair(cow_recv, cow_send);
    assert_int_equal(st_rec[0], HS_OK);
    assert_int_equal(st_rec[1], HS_OK);
    assert_int_equal(w_rec[0], HS_FPAGE(WIN, 13));
    /* At first both map the same frames, read-only, copy-on-write. */
    assert_int_equal(info_rec[5].pa, info_rec[0].pa);
    assert_int_equal(info_rec[6].pa, info_rec[1].pa);
    assert_int_equal(info_rec[5].prot, HS_PROT_READ);
    assert_int_equal(info_rec[5].max_prot, RW);
    assert_true(info_rec[5].flags & HS_MEM_COW);
    assert_int_equal(info_rec[5].refs, 2);
    assert_int_equal(w_rec[1], 1);
    /* The receiver's first write faulted and got a copy. */
    assert_int_equal(w_rec[2], 1);
    assert_int_not_equal(info_rec[7].pa, info_rec[0].pa);
    assert_int_equal(info_rec[7].prot, RW);
    assert_int_equal(info_rec[7].flags & HS_MEM_COW, 0);
    /* The sender's page 0: untouched by the receiver's write. */
    assert_int_equal(info_rec[2].pa, info_rec[0].pa);
    assert_true(info_rec[2].flags & HS_MEM_COW);
    assert_int_equal(info_rec[2].prot, HS_PROT_READ);
    assert_int_equal(w_rec[3], 1);
    /* The sender wrote page 1 first: it got the copy. */
    assert_int_equal(w_rec[5] - w_rec[4], 1);
    assert_int_not_equal(info_rec[3].pa, info_rec[1].pa);
    assert_int_equal(w_rec[7], 0x41);               /* receiver: old byte */
    assert_int_equal(info_rec[8].pa, info_rec[1].pa);
    assert_int_equal(w_rec[8], 0x52);
    /* The sender's later write to page 0: its frame is its own by then,
     * so the fault only makes it writable. */
    assert_int_equal(w_rec[6] - w_rec[5], 1);
    assert_int_equal(info_rec[4].pa, info_rec[0].pa);
    assert_int_equal(info_rec[4].prot, RW);
    assert_int_equal(ev.mem_cow, 1);
}

/* ---- a reply carries memory items into the caller's window ----------------- */

static int reply_send(void *arg)
{
    (void)arg;
    hs_utcb_t *u = hs_utcb();
    u->br[HS_BR_MEM] = HS_FPAGE(WIN, 21);
    set_plain(3);
    st_rec[1] = hs_ipc_call(GATE, HS_NEVER, HS_NEVER);
    w_rec[1] = u->mr[2];
    query(1, 0, WIN);
    w_rec[2] = holds(WIN, HS_PAGE_4K, 0x72);
    return 0;
}

static int reply_recv(void *arg)
{
    hs_utcb_t *u = hs_utcb();
    map_fill(SRC, HS_PAGE_4K, HS_PAGE_4K, RW, 0x72);
    query(0, 0, SRC);
    EXPECT_ST(hs_ipc_recv(arg_gate(arg), HS_NEVER, NULL), HS_OK);
    /* A window too small for the item first: refused, kept. */
    u->br[HS_BR_MEM] = 0;
    set_item(4, HS_XFER_SHARE, HS_PROT_READ, HS_FPAGE(SRC, 13));
    st_rec[2] = hs_ipc_reply();
    set_item(4, HS_XFER_SHARE, HS_PROT_READ, HS_FPAGE(SRC, 12));
    st_rec[0] = hs_ipc_reply();
    query(2, 0, SRC);
    return 0;
}

static void test_xfer_reply_lands_in_the_callers_window(void **state)
{
    (void)state;
    run_pair(reply_recv, reply_send);
    assert_int_equal(st_rec[2], HS_ENOMAP);     /* 8K, 4K of it mapped */
    assert_int_equal(st_rec[0], HS_OK);
    assert_int_equal(st_rec[1], HS_OK);
    assert_int_equal(w_rec[1], HS_FPAGE(WIN, 12));
    assert_int_equal(info_rec[1].pa, info_rec[0].pa);
    assert_int_equal(info_rec[2].refs, 2);
    assert_int_equal(w_rec[2], 1);
}

/* ---- bad input: refused, nothing changed, the receiver still waits ---------- */

/*
 * The sender maps SRC (8K, read-write) and SRC_RO (4K, read-only); the
 * receiver maps one page at WIN + 64K, so that an item landing there
 * collides.  Each case sends one message and must fail with want (phase
 * SEND); then a plain message numbered by the case must be the next thing
 * the receiver gets, with its window and every mapping of both sides as
 * before.
 */
struct bad {
    const char *what;
    uint64_t w0, f0;        /* item 0 */
    uint64_t w1, f1;        /* item 1, if w1 */
    uint64_t window;
    hs_status want;
};

#define IT(mode, prot) HS_ITEM_MEM_WORD(mode, prot)

static const struct bad bads[] = {
    {"unaligned base", IT(HS_XFER_SHARE, RW), HS_FPAGE(SRC + 0x800, 12), 0, 0,
     WIN_FP, HS_EINVAL},
    {"base not aligned to size", IT(HS_XFER_SHARE, RW),
     HS_FPAGE(SRC + HS_PAGE_4K, 13), 0, 0, WIN_FP, HS_EINVAL},
    {"zero length", IT(HS_XFER_MOVE, RW), 0, 0, 0, WIN_FP, HS_EINVAL},
    {"size below 4K", IT(HS_XFER_MOVE, RW), HS_FPAGE(SRC, 11), 0, 0, WIN_FP,
     HS_EINVAL},
    {"size 2^48", IT(HS_XFER_MOVE, RW), HS_FPAGE(0, 48), 0, 0, WIN_FP,
     HS_EINVAL},
    {"beyond 48 bits", IT(HS_XFER_MOVE, RW), HS_FPAGE(HS_VA_LIMIT, 12), 0, 0,
     WIN_FP, HS_ERANGE},
    {"wraps", IT(HS_XFER_COPY, RW), HS_FPAGE(~(uint64_t)0xfff, 12), 0, 0,
     WIN_FP, HS_ERANGE},
    {"nothing mapped", IT(HS_XFER_SHARE, RW), HS_FPAGE(SRC + 0x100000 * 3, 12),
     0, 0, WIN_FP, HS_ENOMAP},
    {"a hole in the range", IT(HS_XFER_MOVE, RW), HS_FPAGE(SRC, 14), 0, 0,
     WIN_FP, HS_ENOMAP},
    {"more than held", IT(HS_XFER_SHARE, RW), HS_FPAGE(SRC_RO, 12), 0, 0,
     WIN_FP, HS_EPERM},
    {"exec not held", IT(HS_XFER_COPY, HS_PROT_ALL), HS_FPAGE(SRC, 13), 0, 0,
     WIN_FP, HS_EPERM},
    {"move more than held", IT(HS_XFER_MOVE, RW), HS_FPAGE(SRC_RO, 12), 0, 0,
     WIN_FP, HS_EPERM},
    {"no protection", IT(HS_XFER_SHARE, 0), HS_FPAGE(SRC, 12), 0, 0, WIN_FP,
     HS_EINVAL},
    {"unknown protection bit", IT(HS_XFER_SHARE, 0x9), HS_FPAGE(SRC, 12), 0, 0,
     WIN_FP, HS_EINVAL},
    {"mode 0", IT(0, RW), HS_FPAGE(SRC, 12), 0, 0, WIN_FP, HS_EINVAL},
    {"mode 5", IT(5, RW), HS_FPAGE(SRC, 12), 0, 0, WIN_FP, HS_EINVAL},
    {"reserved bits", IT(HS_XFER_SHARE, RW) | (1u << 20), HS_FPAGE(SRC, 12),
     0, 0, WIN_FP, HS_EINVAL},
    {"cow without read", IT(HS_XFER_COW, HS_PROT_WRITE), HS_FPAGE(SRC, 12),
     0, 0, WIN_FP, HS_EINVAL},
    {"overlapping items", IT(HS_XFER_SHARE, RW), HS_FPAGE(SRC, 13),
     IT(HS_XFER_MOVE, RW), HS_FPAGE(SRC + HS_PAGE_4K, 12), WIN_FP, HS_EINVAL},
    {"window too small", IT(HS_XFER_MOVE, RW), HS_FPAGE(SRC, 13), 0, 0,
     HS_FPAGE(WIN, 12), HS_EMSGCUT},
    {"two items do not fit", IT(HS_XFER_MOVE, RW), HS_FPAGE(SRC, 12),
     IT(HS_XFER_SHARE, RW), HS_FPAGE(SRC + HS_PAGE_4K, 12),
     HS_FPAGE(WIN + 0x10000 - HS_PAGE_4K, 12), HS_EMSGCUT},
    {"window malformed", IT(HS_XFER_MOVE, RW), HS_FPAGE(SRC, 12), 0, 0,
     HS_FPAGE(WIN + HS_PAGE_4K, 13), HS_EMSGCUT},
    {"target mapped", IT(HS_XFER_COPY, RW), HS_FPAGE(SRC, 13), 0, 0,
     HS_FPAGE(WIN + 0x10000, 16), HS_EEXIST},
    {"second target mapped", IT(HS_XFER_MOVE, RW), HS_FPAGE(SRC, 12),
     IT(HS_XFER_COW, RW), HS_FPAGE(SRC + HS_PAGE_4K, 12),
     HS_FPAGE(WIN + 0x20000, 13), HS_EEXIST},
};

#define NBAD (sizeof bads / sizeof bads[0])

static hs_status bad_st[NBAD];
static uint64_t bad_phase[NBAD];
static int bad_same[NBAD];          /* mappings of both sides unchanged */
static uint64_t bad_got[NBAD];      /* what the receiver got next */

/* A fingerprint of both sides' mappings that a refused message must not
 * change: the sender's pages, the receiver's window start, its pages,
 * and the pool's counts. */
#define NPRINT 7

struct print {
    hs_status st[NPRINT];
    hs_mem_info in[NPRINT];
    hs_mem_stats stats;
};

static void fingerprint(struct print *p)
{
    const struct { int recv; uint64_t va; } at[NPRINT] = {
        {0, SRC}, {0, SRC + HS_PAGE_4K}, {0, SRC_RO}, {1, WIN},
        {1, WIN + 0x10000}, {1, WIN + 0x20000}, {1, WIN + 0x21000},
    };
    memset(p, 0, sizeof *p);
    for (int i = 0; i < NPRINT; i++)
        p->st[i] = hs_mem_query(at[i].recv ? recv_pid : 0, at[i].va,
                                &p->in[i]);
    EXPECT_ST(hs_mem_stats_get(&p->stats), HS_OK);
}

static int bad_send(void *arg)
{
    (void)arg;
    map_fill(SRC, 2 * HS_PAGE_4K, HS_PAGE_4K, RW, 0x11);
    map_fill(SRC_RO, HS_PAGE_4K, HS_PAGE_4K, HS_PROT_READ, 0);
    hs_utcb_t *u = hs_utcb();
    for (unsigned i = 0; i < NBAD; i++) {
        const struct bad *b = &bads[i];
        struct print before, after;
        set_plain(1000 + i);                /* the receiver sets its window */
        EXPECT_ST(hs_ipc_call(GATE, HS_NEVER, HS_NEVER), HS_OK);
        fingerprint(&before);
        u->tag = HS_TAG_ITEMS(LABEL, 1, b->w1 ? 2 : 1);
        u->mr[0] = i;
        u->mr[1] = b->w0;
        u->mr[2] = b->f0;
        u->mr[3] = b->w1;
        u->mr[4] = b->f1;
        bad_st[i] = hs_ipc_send(GATE, HS_NEVER);
        bad_phase[i] = u->phase;
        fingerprint(&after);
        bad_same[i] = memcmp(&before, &after, sizeof before) == 0;
        EXPECT_ST(hs_mem_check(), HS_OK);
        set_plain(i);
        EXPECT_ST(hs_ipc_send(GATE, HS_NEVER), HS_OK);
    }
    set_plain(9999);
    EXPECT_ST(hs_ipc_send(GATE, HS_NEVER), HS_OK);
    return 0;
}

static int bad_recv(void *arg)
{
    hs_utcb_t *u = hs_utcb();
    map_fill(WIN + 0x10000, HS_PAGE_4K, HS_PAGE_4K, RW, 0x22);
    map_fill(WIN + 0x21000, HS_PAGE_4K, HS_PAGE_4K, RW, 0x23);
    for (unsigned i = 0; i < NBAD; i++) {
        EXPECT_ST(hs_ipc_recv(arg_gate(arg), HS_NEVER, NULL), HS_OK);
        u->br[HS_BR_MEM] = bads[i].window;
        set_plain(0);
        EXPECT_ST(hs_ipc_reply(), HS_OK);
        EXPECT_ST(hs_ipc_recv(arg_gate(arg), HS_NEVER, NULL), HS_OK);
        bad_got[i] = hs_tag_label(u->tag) == MARK ? u->mr[0] : 0xbad;
    }
    EXPECT_ST(hs_ipc_recv(arg_gate(arg), HS_NEVER, NULL), HS_OK);
    w_rec[0] = u->mr[0];
    return 0;
}

static void test_xfer_bad_input_changes_nothing(void **state)
{
    (void)state;
    run_pair(bad_recv, bad_send);
    for (unsigned i = 0; i < NBAD; i++) {
        if (bad_st[i] != bads[i].want || bad_phase[i] != HS_PHASE_SEND ||
            !bad_same[i] || bad_got[i] != i)
            print_error("case %u (%s): %s (want %s), phase %llu, same %d, "
                        "next %llu\n", i, bads[i].what,
                        hs_strerror(bad_st[i]), hs_strerror(bads[i].want),
                        (unsigned long long)bad_phase[i], bad_same[i],
                        (unsigned long long)bad_got[i]);
        assert_int_equal(bad_st[i], bads[i].want);
        assert_int_equal(bad_phase[i], HS_PHASE_SEND);
        assert_true(bad_same[i]);
        assert_int_equal(bad_got[i], i);
    }
    assert_int_equal(w_rec[0], 9999);
    assert_int_equal(ev.mem_move + ev.mem_share + ev.mem_copy + ev.mem_cow +
                     ev.mem_decline, 0);
}

/* A direct page (a device region, hopsim/portal.h) never travels. */
#define SRC_DEV ((uint64_t)0x50000000)

static int direct_send(void *arg)
{
    (void)arg;
    uint64_t pa = 0;
    EXPECT_ST(hs_mem_device_create(HS_PAGE_4K, &pa), HS_OK);
    hs_portal_req req;
    memset(&req, 0, sizeof req);
    req.type = HS_PORTAL_DIRECT;
    req.prot = RW;
    req.length = HS_PAGE_4K;
    req.morphology.addr = SRC_DEV;
    req.morphology.paddr = pa;
    EXPECT_ST(hs_portal(&req, NULL), HS_OK);
    query(0, 0, SRC_DEV);
    for (unsigned mode = HS_XFER_MOVE; mode <= HS_XFER_COW; mode++) {
        set_item(1, mode, HS_PROT_READ, HS_FPAGE(SRC_DEV, 12));
        st_rec[mode] = hs_ipc_send(GATE, HS_NEVER);
    }
    query(1, 0, SRC_DEV);
    set_plain(5);
    EXPECT_ST(hs_ipc_send(GATE, HS_NEVER), HS_OK);
    return 0;
}

static int direct_recv(void *arg)
{
    hs_utcb_t *u = hs_utcb();
    u->br[HS_BR_MEM] = WIN_FP;
    EXPECT_ST(hs_ipc_recv(arg_gate(arg), HS_NEVER, NULL), HS_OK);
    w_rec[0] = u->mr[0];
    query(2, 0, WIN);
    return 0;
}

static void test_xfer_direct_page_never_travels(void **state)
{
    (void)state;
    struct pair p = {direct_recv, direct_send, 1};
    hs_sim_config cfg = xfer_config();
    reset();
    hs_proc_attr a;
    memset(&a, 0, sizeof a);
    a.privileged = 1;
    tu_run_one(&cfg, "root", pair_root, &p, &a);
    assert_int_equal(qst_rec[0], HS_OK);
    assert_true(info_rec[0].flags & HS_MEM_DIRECT);
    for (unsigned mode = HS_XFER_MOVE; mode <= HS_XFER_COW; mode++)
        assert_int_equal(st_rec[mode], HS_EPERM);
    assert_int_equal(qst_rec[1], HS_OK);
    assert_int_equal(info_rec[1].pa, info_rec[0].pa);
    assert_int_equal(w_rec[0], 5);
    assert_int_equal(qst_rec[2], HS_ENOMAP);
}

/* A queued sender is refused when the receiver comes: its mappings
 * changed meanwhile (HS_ENOMAP), or the window is too small (HS_EMSGCUT);
 * the receiver goes on waiting. */
static int queued_send(void *arg)
{
    (void)arg;
    map_fill(SRC, 2 * HS_PAGE_4K, HS_PAGE_4K, RW, 0x11);
    set_item(1, HS_XFER_MOVE, RW, HS_FPAGE(SRC, 13));
    st_rec[1] = hs_ipc_send(GATE, HS_NEVER);    /* queued: too small */
    query(1, 0, SRC);
    set_plain(2);
    EXPECT_ST(hs_ipc_send(GATE, HS_NEVER), HS_OK);
    return 0;
}

static int queued_recv(void *arg)
{
    hs_utcb_t *u = hs_utcb();
    EXPECT_ST(hs_thread_sleep(1000), HS_OK);    /* the sender queues */
    u->br[HS_BR_MEM] = HS_FPAGE(WIN, 12);
    st_rec[0] = hs_ipc_recv(arg_gate(arg), HS_NEVER, NULL);
    w_rec[0] = u->mr[0];
    query(2, 0, WIN);
    return 0;
}

static void test_xfer_queued_sender_refused_receiver_waits(void **state)
{
    (void)state;
    run_pair(queued_recv, queued_send);
    assert_int_equal(st_rec[1], HS_EMSGCUT);
    assert_int_equal(qst_rec[1], HS_OK);
    assert_int_equal(st_rec[0], HS_OK);
    assert_int_equal(w_rec[0], 2);
    assert_int_equal(qst_rec[2], HS_ENOMAP);
}

/* ---- hops --------------------------------------------------------------------- */

/* What the handler of the port "xfer" does with the items. */
enum hop_do { HOP_ACCEPT, HOP_DECLINE, HOP_IGNORE, HOP_RETRY, HOP_TWICE };

static enum hop_do hop_do;
static uint64_t hop_window;
static unsigned hop_mode;

static void xfer_handler(hs_hop_t *hop, void *cookie)
{
    (void)cookie;
    hs_utcb_t *u = hs_utcb();
    /* The handler writes its reply over the registers first: what was
     * offered is kept by the kernel. */
    uint64_t fp = u->mr[2];
    u->mr[1] = 0;
    u->mr[2] = 0x12345;
    switch (hop_do) {
    case HOP_ACCEPT:
        st_rec[10] = hs_hop_accept(hop, hop_window);
        break;
    case HOP_DECLINE:
        st_rec[10] = hs_hop_accept(hop, 0);
        break;
    case HOP_IGNORE:
        st_rec[10] = HS_OK;
        break;
    case HOP_RETRY:
        st_rec[11] = hs_hop_accept(hop, HS_FPAGE(WIN + 0x800, 12));
        st_rec[12] = hs_hop_accept(hop, HS_FPAGE(WIN, 12));
        st_rec[10] = hs_hop_accept(hop, hop_window);
        break;
    case HOP_TWICE:
        st_rec[10] = hs_hop_accept(hop, hop_window);
        st_rec[11] = hs_hop_accept(hop, hop_window);
        break;
    }
    w_rec[10] = u->mr[2];
    query(10, 0, WIN);
    w_rec[11] = fp;
    if (st_rec[10] == HS_OK && qst_rec[10] == HS_OK)
        w_rec[12] = holds(WIN, HS_PAGE_4K, 0x68);
    unsigned char b = 0x6a;
    if (hop_mode != HS_XFER_SHARE && qst_rec[10] == HS_OK &&
        (info_rec[10].max_prot & HS_PROT_WRITE))
        EXPECT_ST(hs_mem_write(WIN + 2, &b, 1), HS_OK);
    EXPECT_ST(hs_mem_check(), HS_OK);
}

static int hop_client(void *arg)
{
    (void)arg;
    hs_port_t port = 0;
    EXPECT_ST(hs_port_lookup("xfer", HS_NEVER, &port), HS_OK);
    map_fill(SRC, 2 * HS_PAGE_4K, HS_PAGE_4K, RW, 0x68);
    query(0, 0, SRC);
    set_item(5, hop_mode, RW, HS_FPAGE(SRC, 13));
    st_rec[1] = hs_hop(port, HS_HOP_CHECKPOINT | HS_HOP_ITEMS, HS_NEVER);
    query(1, 0, SRC);
    unsigned char b = 0;
    if (qst_rec[1] == HS_OK)
        EXPECT_ST(hs_mem_read(SRC + 2, &b, 1), HS_OK);
    w_rec[1] = b;
    EXPECT_ST(hs_mem_check(), HS_OK);
    return 0;
}

static int hop_root(void *arg)
{
    (void)arg;
    hs_port_t port = 0;
    EXPECT_ST(hs_port_create_named("xfer", &port), HS_OK);
    EXPECT_ST(hs_port_set_handler(port, xfer_handler, NULL), HS_OK);
    recv_pid = hs_proc_self();
    EXPECT_ST(hs_proc_spawn("client", hop_client, NULL, NULL, &send_pid),
              HS_OK);
    EXPECT_ST(hs_proc_wait(send_pid, HS_NEVER, NULL), HS_OK);
    query(20, 0, WIN);
    EXPECT_ST(hs_mem_check(), HS_OK);
    return 0;
}

static void run_hop(unsigned mode, enum hop_do what, uint64_t window)
{
    hop_mode = mode;
    hop_do = what;
    hop_window = window;
    hs_sim_config cfg = xfer_config();
    run_cfg(&cfg, hop_root, NULL);
}

static void test_xfer_hop_move_accepted(void **state)
{
    (void)state;
    run_hop(HS_XFER_MOVE, HOP_ACCEPT, WIN_FP);
    assert_int_equal(st_rec[1], HS_OK);
    assert_int_equal(st_rec[10], HS_OK);
    assert_int_equal(w_rec[11], HS_FPAGE(SRC, 13));     /* as offered */
    assert_int_equal(w_rec[10], HS_FPAGE(WIN, 13));     /* landed */
    assert_int_equal(info_rec[10].pa, info_rec[0].pa);
    assert_int_equal(w_rec[12], 1);
    assert_int_equal(qst_rec[1], HS_ENOMAP);            /* the client's: gone */
    assert_int_equal(qst_rec[20], HS_OK);               /* the root keeps it */
    assert_int_equal(ev.mem_move, 1);
    assert_int_equal(ev.hop_accept, 1);
}

static void test_xfer_hop_move_not_accepted_stays(void **state)
{
    (void)state;
    run_hop(HS_XFER_MOVE, HOP_IGNORE, WIN_FP);
    assert_int_equal(st_rec[1], HS_OK);
    assert_int_equal(qst_rec[10], HS_ENOMAP);
    assert_int_equal(qst_rec[1], HS_OK);
    assert_int_equal(info_rec[1].pa, info_rec[0].pa);
    assert_int_equal(w_rec[1], 0x68);
    assert_int_equal(ev.mem_move, 0);
    assert_int_equal(ev.mem_decline, 1);
    assert_int_equal(ev.hop_accept, 0);

    run_hop(HS_XFER_MOVE, HOP_DECLINE, WIN_FP);
    assert_int_equal(st_rec[10], HS_OK);
    assert_int_equal(w_rec[10], 0);                     /* declined */
    assert_int_equal(qst_rec[10], HS_ENOMAP);
    assert_int_equal(qst_rec[1], HS_OK);
    assert_int_equal(info_rec[1].pa, info_rec[0].pa);
    assert_int_equal(ev.mem_decline, 1);
}

static void test_xfer_hop_share_copy_cow(void **state)
{
    (void)state;
    run_hop(HS_XFER_SHARE, HOP_ACCEPT, WIN_FP);
    assert_int_equal(st_rec[10], HS_OK);
    assert_int_equal(info_rec[10].pa, info_rec[0].pa);
    assert_int_equal(info_rec[10].refs, 2);
    assert_int_equal(qst_rec[1], HS_OK);
    assert_int_equal(info_rec[1].refs, 2);
    assert_true(info_rec[1].flags & HS_MEM_SHARED);
    assert_int_equal(ev.mem_share, 1);

    run_hop(HS_XFER_COPY, HOP_ACCEPT, WIN_FP);
    assert_int_equal(st_rec[10], HS_OK);
    assert_int_not_equal(info_rec[10].pa, info_rec[0].pa);
    assert_int_equal(w_rec[12], 1);
    assert_int_equal(w_rec[1], 0x68);               /* handler's write: */
    assert_int_equal(info_rec[1].refs, 1);          /*   not here */
    assert_int_equal(ev.mem_copy, 1);

    run_hop(HS_XFER_COW, HOP_ACCEPT, WIN_FP);
    assert_int_equal(st_rec[10], HS_OK);
    assert_int_equal(info_rec[10].pa, info_rec[0].pa);
    assert_true(info_rec[10].flags & HS_MEM_COW);
    assert_int_equal(ev.pf_cow, 1);                 /* handler's write */
    assert_int_equal(w_rec[1], 0x68);               /* not seen here */
    assert_int_equal(info_rec[1].pa, info_rec[0].pa);
    assert_int_not_equal(info_rec[20].pa, info_rec[0].pa);
    assert_int_equal(ev.mem_cow, 1);
}

static void test_xfer_hop_accept_errors(void **state)
{
    (void)state;
    run_hop(HS_XFER_MOVE, HOP_RETRY, WIN_FP);
    assert_int_equal(st_rec[11], HS_EINVAL);        /* malformed window */
    assert_int_equal(st_rec[12], HS_EMSGCUT);       /* 4K for 8K */
    assert_int_equal(st_rec[10], HS_OK);            /* then accepted */
    assert_int_equal(qst_rec[1], HS_ENOMAP);
    assert_int_equal(ev.mem_move, 1);

    run_hop(HS_XFER_SHARE, HOP_TWICE, WIN_FP);
    assert_int_equal(st_rec[10], HS_OK);
    assert_int_equal(st_rec[11], HS_ESTATE);
    assert_int_equal(ev.mem_share, 1);
}

/* A hop offering items needs a well-formed tag of memory items; a hop
 * without HS_HOP_ITEMS offers nothing, whatever its tag says. */
static int hop_bad_client(void *arg)
{
    (void)arg;
    hs_port_t port = 0;
    EXPECT_ST(hs_port_lookup("xfer", HS_NEVER, &port), HS_OK);
    map_fill(SRC, 2 * HS_PAGE_4K, HS_PAGE_4K, RW, 0x68);
    hs_utcb_t *u = hs_utcb();
    set_item(5, HS_XFER_MOVE, RW, HS_FPAGE(SRC + 0x800, 12));
    st_rec[0] = hs_hop(port, HS_HOP_CHECKPOINT | HS_HOP_ITEMS, HS_NEVER);
    set_item(5, HS_XFER_MOVE, RW, HS_FPAGE(SRC, 13));
    u->mr[1] = HS_ITEM(HS_ITEM_CAP, 1);
    st_rec[1] = hs_hop(port, HS_HOP_CHECKPOINT | HS_HOP_ITEMS, HS_NEVER);
    u->tag = HS_TAG_ITEMS(0, 60, 3);
    st_rec[2] = hs_hop(port, HS_HOP_CHECKPOINT | HS_HOP_ITEMS, HS_NEVER);
    set_item(5, HS_XFER_MOVE, RW, HS_FPAGE(SRC, 13));
    st_rec[3] = hs_hop(port, HS_HOP_CHECKPOINT, HS_NEVER);
    query(1, 0, SRC);
    return 0;
}

static int hop_bad_root(void *arg)
{
    (void)arg;
    hs_port_t port = 0;
    EXPECT_ST(hs_port_create_named("xfer", &port), HS_OK);
    EXPECT_ST(hs_port_set_handler(port, xfer_handler, NULL), HS_OK);
    EXPECT_ST(hs_proc_spawn("client", hop_bad_client, NULL, NULL, &send_pid),
              HS_OK);
    EXPECT_ST(hs_proc_wait(send_pid, HS_NEVER, NULL), HS_OK);
    return 0;
}

static void test_xfer_hop_offer_needs_the_flag_and_memory_items(void **state)
{
    (void)state;
    hop_mode = HS_XFER_MOVE;
    hop_do = HOP_ACCEPT;
    hop_window = WIN_FP;
    hs_sim_config cfg = xfer_config();
    run_cfg(&cfg, hop_bad_root, NULL);
    assert_int_equal(st_rec[0], HS_EINVAL);
    assert_int_equal(st_rec[1], HS_EINVAL);
    assert_int_equal(st_rec[2], HS_EINVAL);
    assert_int_equal(st_rec[3], HS_OK);         /* no offer: */
    assert_int_equal(st_rec[10], HS_OK);        /*   accept takes nothing */
    assert_int_equal(qst_rec[10], HS_ENOMAP);
    assert_int_equal(qst_rec[1], HS_OK);
    assert_int_equal(ev.mem_move, 0);
}

/* ---- a 1G page shared with eight processes ------------------------------------- */

#define NSHARE 8
#define BIG ((uint64_t)1 << 30)             /* the owner's 1G page */

static uint64_t big_refs[2 * NSHARE + 2];
static uint64_t big_refs_1g[2 * NSHARE + 2];
static hs_status big_check[2 * NSHARE + 2];
static hs_mem_stats big_start, big_end;
static uint64_t big_pa[NSHARE + 1];
static int big_seen[NSHARE];

/* In receiver i: mr[0] = 1 accepts the 1G page at 1G, 2 unmaps it. */
static void big_handler(hs_hop_t *hop, void *cookie)
{
    int i = (int)(intptr_t)cookie;
    hs_utcb_t *u = hs_utcb();
    if (u->mr[0] == 1) {
        EXPECT_ST(hs_hop_accept(hop, HS_FPAGE(BIG, 30)), HS_OK);
        hs_mem_info in;
        EXPECT_ST(hs_mem_query(0, BIG, &in), HS_OK);
        big_pa[i + 1] = in.pa;
        unsigned char b = 0;
        EXPECT_ST(hs_mem_read(BIG + 12345, &b, 1), HS_OK);
        big_seen[i] = b;
    } else {
        EXPECT_ST(hs_mem_unmap(BIG, HS_PAGE_1G), HS_OK);
    }
}

static int big_receiver(void *arg)
{
    char name[16];
    snprintf(name, sizeof name, "r%d", (int)(intptr_t)arg);
    hs_port_t port = 0;
    EXPECT_ST(hs_port_create_named(name, &port), HS_OK);
    EXPECT_ST(hs_port_set_handler(port, big_handler, arg), HS_OK);
    EXPECT_ST(hs_proc_serve(), HS_ESTATE);
    return 0;
}

static void big_record(int step)
{
    hs_mem_info in;
    hs_mem_stats s;
    EXPECT_ST(hs_mem_query(0, BIG, &in), HS_OK);
    EXPECT_ST(hs_mem_stats_get(&s), HS_OK);
    big_refs[step] = in.refs;
    big_refs_1g[step] = s.refs_1g;
    big_check[step] = hs_mem_check();
}

static int big_root(void *arg)
{
    (void)arg;
    EXPECT_ST(hs_mem_stats_get(&big_start), HS_OK);
    hs_pid_t pid[NSHARE];
    for (int i = 0; i < NSHARE; i++) {
        char name[16];
        snprintf(name, sizeof name, "recv%d", i);
        EXPECT_ST(hs_proc_spawn(name, big_receiver, (void *)(intptr_t)i,
                                NULL, &pid[i]), HS_OK);
    }
    EXPECT_ST(hs_mem_map(BIG, HS_PAGE_1G, RW, HS_PAGE_1G), HS_OK);
    unsigned char b = 0x1b;
    EXPECT_ST(hs_mem_write(BIG + 12345, &b, 1), HS_OK);
    big_record(0);
    hs_mem_info in;
    EXPECT_ST(hs_mem_query(0, BIG, &in), HS_OK);
    big_pa[0] = in.pa;
    hs_port_t port[NSHARE];
    hs_utcb_t *u = hs_utcb();
    for (int i = 0; i < NSHARE; i++) {
        char name[16];
        snprintf(name, sizeof name, "r%d", i);
        EXPECT_ST(hs_port_lookup(name, HS_NEVER, &port[i]), HS_OK);
        set_item(1, HS_XFER_SHARE, RW, HS_FPAGE(BIG, 30));
        EXPECT_ST(hs_hop(port[i], HS_HOP_CHECKPOINT | HS_HOP_ITEMS,
                         HS_NEVER), HS_OK);
        big_record(1 + i);
    }
    for (int i = 0; i < NSHARE; i++) {
        u->tag = HS_TAG(0, 1);
        u->mr[0] = 2;
        EXPECT_ST(hs_hop(port[i], HS_HOP_CHECKPOINT, HS_NEVER), HS_OK);
        big_record(1 + NSHARE + i);
    }
    EXPECT_ST(hs_mem_unmap(BIG, HS_PAGE_1G), HS_OK);
    EXPECT_ST(hs_mem_stats_get(&big_end), HS_OK);
    EXPECT_ST(hs_mem_check(), HS_OK);
    return 0;
}

static void test_xfer_1g_page_shared_with_eight_processes(void **state)
{
    (void)state;
    hs_sim_config cfg = tu_config();
    cfg.mem_size = (uint64_t)2 << 30;
    cfg.event_fn = count_event;
    run_cfg(&cfg, big_root, NULL);
    for (int s = 0; s <= NSHARE; s++) {
        assert_int_equal(big_refs[s], 1 + (uint64_t)s);
        assert_int_equal(big_refs_1g[s], 1 + (uint64_t)s);
        assert_int_equal(big_check[s], HS_OK);
    }
    for (int s = 1; s <= NSHARE; s++) {
        assert_int_equal(big_refs[NSHARE + s], 1 + NSHARE - (uint64_t)s);
        assert_int_equal(big_refs_1g[NSHARE + s], 1 + NSHARE - (uint64_t)s);
        assert_int_equal(big_check[NSHARE + s], HS_OK);
    }
    for (int i = 0; i < NSHARE; i++) {
        assert_int_equal(big_pa[i + 1], big_pa[0]);
        assert_int_equal(big_seen[i], 0x1b);
    }
    assert_int_equal(ev.mem_share, NSHARE);
    /* The pool is whole again, before the run ends and after. */
    assert_int_equal(big_end.refs_1g, 0);
    assert_int_equal(big_end.refs_2m, 0);
    assert_int_equal(big_end.refs_4k, 0);
    assert_int_equal(big_end.free, big_end.pool);
    assert_int_equal(big_start.free, big_start.pool);
    hs_mem_stats after;
    assert_int_equal(hs_mem_stats_get(&after), HS_OK);
    assert_int_equal(after.free, after.pool);
}

/* ---- a move within one process at its quota ---------------------------- */

#define MOVE_SRC ((uint64_t)0x10000000)
#define MOVE_WIN ((uint64_t)0x30000000)

static hs_status accept_st;

static void accept_handler(hs_hop_t *hop, void *cookie)
{
    (void)cookie;
    accept_st = hs_hop_accept(hop, HS_FPAGE(MOVE_WIN, 13));
    query(11, 0, MOVE_WIN + K4);
}

/* The process may map 2 pages and maps them; it moves them to another
 * address of its own through a hop into its own port: its HS_RES_MAPPED
 * does not change, so the quota cannot refuse it. */
static int move_at_quota_main(void *arg)
{
    (void)arg;
    hs_port_t port = 0;
    EXPECT_ST(hs_port_create(&port), HS_OK);
    EXPECT_ST(hs_port_set_handler(port, accept_handler, NULL), HS_OK);
    EXPECT_ST(hs_mem_map(MOVE_SRC, 2 * K4, RW, K4), HS_OK);
    unsigned char b = 0x77, c = 0;
    EXPECT_ST(hs_mem_write(MOVE_SRC + K4, &b, 1), HS_OK);
    query(0, 0, MOVE_SRC + K4);
    hs_utcb_t *u = hs_utcb();
    u->tag = HS_TAG_ITEMS(1, 0, 1);
    u->mr[0] = HS_ITEM_MEM_WORD(HS_XFER_MOVE, RW);
    u->mr[1] = HS_FPAGE(MOVE_SRC, 13);
    st_rec[0] = hs_hop(port, HS_HOP_CHECKPOINT | HS_HOP_ITEMS, HS_NEVER);
    st_rec[1] = accept_st;
    query(1, 0, MOVE_SRC);
    query(2, 0, MOVE_WIN + K4);
    if (qst_rec[2] == HS_OK)
        EXPECT_ST(hs_mem_read(MOVE_WIN + K4, &c, 1), HS_OK);
    st_rec[2] = c == b ? HS_OK : HS_EFAULT;
    EXPECT_ST(hs_mem_check(), HS_OK);
    return 0;
}

static void test_review_move_within_process_at_quota(void **state)
{
    (void)state;
    hs_quota q = hs_quota_unlimited();
    q.limit[HS_RES_MAPPED] = 2 * K4;
    hs_proc_attr a;
    memset(&a, 0, sizeof a);
    a.quota = &q;
    run_with(2 * M2, move_at_quota_main, &a);
    assert_int_equal(st_rec[0], HS_OK);
    assert_int_equal(st_rec[1], HS_OK);
    assert_int_equal(qst_rec[1], HS_ENOMAP);
    assert_int_equal(qst_rec[2], HS_OK);
    assert_int_equal(info_rec[2].pa, info_rec[0].pa);
    assert_int_equal(st_rec[2], HS_OK);
}

/* ---- copy-on-write of a page another process writes -------------------- */

#define SH_PAGE  ((uint64_t)0x20000000)
#define SH_OWN   ((uint64_t)0x20100000)
#define SH_WIN   ((uint64_t)0x60000000)
#define SH_GATE  1                      /* the child's name of the gate */

static hs_status sh_rec[8];

/* Ask for a copy-on-write view of [src, src + 4K) at view. */
static hs_status cow_view_of(uint64_t src, uint64_t view)
{
    hs_portal_req r;
    memset(&r, 0, sizeof r);
    r.type = HS_PORTAL_COW;
    r.prot = RW;
    r.length = K4;
    r.morphology.addr = view;
    r.morphology.src = src;
    return hs_portal(&r, NULL);
}

/* One memory item of mode on [va, va + 4K) through the gate. */
static hs_status call_with_item(unsigned mode, uint64_t va)
{
    hs_utcb_t *u = hs_utcb();
    u->tag = HS_TAG_ITEMS(1, 0, 1);
    u->mr[0] = HS_ITEM_MEM_WORD(mode, RW);
    u->mr[1] = HS_FPAGE(va, 12);
    return hs_ipc_call(SH_GATE, HS_NEVER, HS_NEVER);
}

/* The child shares a page writable with the root; it may then neither
 * make it copy-on-write (portal view, transfer) nor lose the isolation
 * of an unshared page, which still works. */
static int sharing_child(void *arg)
{
    (void)arg;
    EXPECT_ST(hs_mem_map(SH_PAGE, K4, RW, 0), HS_OK);
    EXPECT_ST(hs_mem_map(SH_OWN, K4, RW, 0), HS_OK);
    EXPECT_ST(call_with_item(HS_XFER_SHARE, SH_PAGE), HS_OK);
    sh_rec[0] = cow_view_of(SH_PAGE, 0x70000000);
    sh_rec[1] = call_with_item(HS_XFER_COW, SH_PAGE);
    sh_rec[2] = hs_utcb()->phase;
    sh_rec[3] = cow_view_of(SH_OWN, 0x70000000);            /* unshared */
    hs_utcb()->tag = HS_TAG(2, 0);                          /* done */
    EXPECT_ST(hs_ipc_call(SH_GATE, HS_NEVER, HS_NEVER), HS_OK);
    return 0;
}

static int sharing_root(void *arg)
{
    (void)arg;
    hs_cap_t g = 0;
    EXPECT_ST(hs_gate_create(0, 0, &g), HS_OK);
    uint32_t caps[1] = {g};
    hs_proc_attr a;
    memset(&a, 0, sizeof a);
    a.caps = caps;
    a.ncaps = 1;
    hs_pid_t child;
    EXPECT_ST(hs_proc_spawn("child", sharing_child, NULL, &a, &child),
              HS_OK);
    hs_utcb_t *u = hs_utcb();
    uint64_t window = SH_WIN;
    for (;;) {
        u->br[HS_BR_MEM] = HS_FPAGE(window, 12);
        EXPECT_ST(hs_ipc_recv(g, HS_NEVER, NULL), HS_OK);
        if (hs_tag_label(u->tag) == 2)
            break;
        window += K4;
        u->tag = HS_TAG(0, 0);
        EXPECT_ST(hs_ipc_reply(), HS_OK);
    }
    u->tag = HS_TAG(0, 0);
    EXPECT_ST(hs_ipc_reply(), HS_OK);
    EXPECT_ST(hs_proc_wait(child, HS_NEVER, NULL), HS_OK);
    return 0;
}

static void test_review_a_page_shared_writable_is_never_made_cow(void **state)
{
    (void)state;
    for (int i = 0; i < 8; i++)
        sh_rec[i] = HS_STATUS_COUNT;
    run_with(64ull << 20, sharing_root, NULL);
    assert_int_equal(sh_rec[0], HS_EPERM);      /* a portal view */
    assert_int_equal(sh_rec[1], HS_EPERM);      /* a transfer */
    assert_int_equal(sh_rec[2], HS_PHASE_SEND);
    assert_int_equal(sh_rec[3], HS_OK);         /* an unshared page */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        TU_TEST(test_xfer_move_accepted_unmaps_the_sender),
        TU_TEST(test_xfer_move_declined_keeps_the_sender),
        TU_TEST(test_xfer_move_of_part_of_a_2m_page_splits_it),
        TU_TEST(test_xfer_share_counts_one_per_page),
        TU_TEST(test_xfer_share_of_part_of_a_large_page),
        TU_TEST(test_xfer_shared_2m_page_split_by_a_4k_unmap),
        TU_TEST(test_xfer_cow_page_moved_on_not_shared_writable),
        TU_TEST(test_xfer_copy_is_isolated),
        TU_TEST(test_xfer_copy_out_of_frames_changes_nothing),
        TU_TEST(test_xfer_cow_isolates_both_ways),
        TU_TEST(test_xfer_reply_lands_in_the_callers_window),
        TU_TEST(test_xfer_bad_input_changes_nothing),
        TU_TEST(test_xfer_direct_page_never_travels),
        TU_TEST(test_xfer_queued_sender_refused_receiver_waits),
        TU_TEST(test_xfer_hop_move_accepted),
        TU_TEST(test_xfer_hop_move_not_accepted_stays),
        TU_TEST(test_xfer_hop_share_copy_cow),
        TU_TEST(test_xfer_hop_accept_errors),
        TU_TEST(test_xfer_hop_offer_needs_the_flag_and_memory_items),
        TU_TEST(test_xfer_1g_page_shared_with_eight_processes),
        TU_TEST(test_review_move_within_process_at_quota),
        TU_TEST(test_review_a_page_shared_writable_is_never_made_cow),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
