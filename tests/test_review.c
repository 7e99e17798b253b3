/*
 * tests/test_review.c - corners of memory and notifications where a call
 * used to change state and then fail, count wrong, or keep something
 * after its process ended: each test names the behaviour it pins down.
 *
 * Simulated threads record into the statics below; the test asserts after
 * hs_sim_run().  Every run checks the whole memory state at each kernel
 * exit (cfg.mem_check), ends with hs_mem_check() == HS_OK and, after the
 * run, the pool whole again.
 */
#include "testutil.h"

#define K4 HS_PAGE_4K
#define M2 HS_PAGE_2M
#define RW (HS_PROT_READ | HS_PROT_WRITE)

#define NREC 32

static hs_status rec[NREC];
static hs_mem_info info[NREC];
static hs_status qrec[NREC];

static void reset(void)
{
    for (int i = 0; i < NREC; i++) {
        rec[i] = HS_STATUS_COUNT;
        qrec[i] = HS_STATUS_COUNT;
        memset(&info[i], 0xee, sizeof info[i]);
    }
}

static void query(int i, hs_pid_t pid, uint64_t va)
{
    qrec[i] = hs_mem_query(pid, va, &info[i]);
}

static hs_sim_config config(uint64_t pool)
{
    hs_sim_config cfg = tu_config();
    cfg.mem_size = pool;
    cfg.mem_check = 1;
    return cfg;
}

/* Run entry as the root process (attr a, may be NULL) on a pool of size
 * bytes: the run ends HS_OK, every status matched, the check at its end
 * found nothing, and the pool is whole again. */
static void run_with(uint64_t pool, hs_entry_fn entry,
                     const hs_proc_attr *a)
{
    hs_sim_config cfg = config(pool);
    reset();
    hs_status st = tu_run(&cfg, "root", entry, NULL, a);
    if (st != HS_OK)
        fprintf(stderr, "%s\n", hs_sim_report());
    assert_int_equal(st, HS_OK);
    assert_no_bad_status();
    assert_int_equal(hs_mem_check(), HS_OK);
    hs_mem_stats s;
    assert_int_equal(hs_mem_stats_get(&s), HS_OK);
    assert_int_equal(s.free, pool);
    assert_int_equal(s.refs_4k + s.refs_2m + s.refs_1g, 0);
    assert_int_equal(s.page_tables, 0);
}

/* ---- copy-on-write on a pool smaller than 1G ------------------------------------- */

#define COW_SRC  ((uint64_t)0x20000000)
#define COW_VIEW ((uint64_t)0x40000000)

/* A copy-on-write view of len bytes of COW_SRC (mapped with page) at
 * COW_VIEW. */
static void cow_view(uint64_t len, uint64_t page)
{
    EXPECT_ST(hs_mem_map(COW_SRC, len, RW, page), HS_OK);
    hs_portal_req r;
    memset(&r, 0, sizeof r);
    r.type = HS_PORTAL_COW;
    r.prot = RW;
    r.length = len;
    r.morphology.addr = COW_VIEW;
    r.morphology.src = COW_SRC;
    EXPECT_ST(hs_portal(&r, NULL), HS_OK);
}

/* The counts of a frame are read at every size its blocks have in the
 * pool: a 4M pool has no 1G block. */
static int cow_small_pool_main(void *arg)
{
    (void)arg;
    cow_view(2 * K4, K4);
    unsigned char b = 0x5a, c = 0;
    rec[0] = hs_mem_write(COW_VIEW, &b, 1);         /* a copy */
    query(0, 0, COW_VIEW);
    rec[1] = hs_mem_write(COW_SRC, &b, 1);          /* the last one: kept */
    query(1, 0, COW_SRC);
    EXPECT_ST(hs_mem_read(COW_VIEW + K4, &c, 1), HS_OK);
    EXPECT_ST(hs_mem_check(), HS_OK);
    return 0;
}

static void test_review_cow_write_on_pool_below_1g(void **state)
{
    (void)state;
    run_with(2 * M2, cow_small_pool_main, NULL);
    assert_int_equal(rec[0], HS_OK);
    assert_int_equal(qrec[0], HS_OK);
    assert_int_equal(info[0].flags & HS_MEM_COW, 0);
    assert_int_equal(info[0].refs, 1);
    assert_int_equal(rec[1], HS_OK);
    assert_int_equal(qrec[1], HS_OK);
    assert_int_equal(info[1].flags & HS_MEM_COW, 0);
    assert_int_equal(info[1].prot, RW);
}

/* ---- a copy-on-write write that finds no frame ----------------------------- */

#define FILLER   ((uint64_t)0x60000000)

/* A 2M page and a copy-on-write view of it, then the rest of a 4M pool
 * taken: a write to either side needs a 4K frame for its copy and finds
 * none.  The refused write must leave the 2M pages whole. */
static int cow_no_frame_main(void *arg)
{
    (void)arg;
    cow_view(M2, M2);
    EXPECT_ST(hs_mem_map(FILLER, M2, RW, K4), HS_OK);   /* the pool is empty */
    query(0, 0, COW_SRC + K4);
    unsigned char b = 0x5a;
    rec[0] = hs_mem_write(COW_SRC + K4, &b, 1);
    query(1, 0, COW_SRC + K4);
    rec[1] = hs_mem_write(COW_VIEW + K4, &b, 1);
    query(2, 0, COW_VIEW + K4);
    EXPECT_ST(hs_mem_check(), HS_OK);
    /* With a frame back, the write goes through: then it splits. */
    EXPECT_ST(hs_mem_unmap(FILLER, K4), HS_OK);
    rec[2] = hs_mem_write(COW_VIEW + K4, &b, 1);
    query(3, 0, COW_VIEW + K4);
    EXPECT_ST(hs_mem_check(), HS_OK);
    return 0;
}

static void test_review_cow_write_without_frame_leaves_large_page_whole(
    void **state)
{
    (void)state;
    run_with(2 * M2, cow_no_frame_main, NULL);
    assert_int_equal(qrec[0], HS_OK);
    assert_int_equal(info[0].page, M2);
    assert_int_equal(info[0].flags & HS_MEM_COW, HS_MEM_COW);
    assert_int_equal(rec[0], HS_ENOFRAME);
    assert_int_equal(qrec[1], HS_OK);
    assert_int_equal(info[1].page, M2);                 /* not split */
    assert_int_equal(info[1].refs, 2);
    assert_int_equal(rec[1], HS_ENOFRAME);
    assert_int_equal(qrec[2], HS_OK);
    assert_int_equal(info[2].page, M2);
    assert_int_equal(rec[2], HS_OK);
    assert_int_equal(qrec[3], HS_OK);
    assert_int_equal(info[3].page, K4);
    assert_int_equal(info[3].flags & HS_MEM_COW, 0);
    assert_int_equal(info[3].prot, RW);
}

/* ---- a move within one process at its quota --------------------------------- */

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
    rec[0] = hs_hop(port, HS_HOP_CHECKPOINT | HS_HOP_ITEMS, HS_NEVER);
    rec[1] = accept_st;
    query(1, 0, MOVE_SRC);
    query(2, 0, MOVE_WIN + K4);
    if (qrec[2] == HS_OK)
        EXPECT_ST(hs_mem_read(MOVE_WIN + K4, &c, 1), HS_OK);
    rec[2] = c == b ? HS_OK : HS_EFAULT;
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
    assert_int_equal(rec[0], HS_OK);
    assert_int_equal(rec[1], HS_OK);
    assert_int_equal(qrec[1], HS_ENOMAP);
    assert_int_equal(qrec[2], HS_OK);
    assert_int_equal(info[2].pa, info[0].pa);
    assert_int_equal(rec[2], HS_OK);
}

/* ---- a pager's answer with bad protection bits ------------------------------ */

#define HOLE ((uint64_t)0x50000000)

static unsigned pager_calls;

/* Every fault: first an answer with unknown protection bits, which must
 * be refused whole (the fault stays open), then a refusal. */
static void bad_prot_pager(hs_hop_t *hop, void *cookie)
{
    (void)cookie;
    hs_pagefault_t pf = hs_mr(hop, 1);
    unsigned n = pager_calls++;
    if (n < 2) {
        rec[10 + 2 * n] = hs_mem_fault_resolve(pf, HS_PF_NOPAGE,
                                               HS_XFER_SHARE, 0x100);
        rec[11 + 2 * n] = hs_mem_fault_resolve(pf, HS_PF_NOPAGE,
                                               HS_XFER_SHARE, 0);
    }
}

static int faulting_child(void *arg)
{
    (void)arg;
    hs_port_t port = 0;
    EXPECT_ST(hs_port_lookup("pager", HS_NEVER, &port), HS_OK);
    EXPECT_ST(hs_mem_pager_set(port), HS_OK);
    unsigned char b;
    hs_mem_read(HOLE, &b, 1);
    rec[1] = HS_OK;                 /* never reached: the thread is killed */
    return 0;
}

static int bad_prot_main(void *arg)
{
    (void)arg;
    hs_port_t port = 0;
    EXPECT_ST(hs_port_create_named("pager", &port), HS_OK);
    EXPECT_ST(hs_port_set_handler(port, bad_prot_pager, NULL), HS_OK);
    hs_pid_t child = 0;
    int status = 0;
    EXPECT_ST(hs_proc_spawn("child", faulting_child, NULL, NULL, &child),
              HS_OK);
    EXPECT_ST(hs_proc_wait(child, HS_NEVER, &status), HS_OK);
    rec[0] = (hs_status)status;
    return 0;
}

static void test_review_fault_resolve_nopage_checks_prot(void **state)
{
    (void)state;
    pager_calls = 0;
    run_with(2 * M2, bad_prot_main, NULL);
    assert_int_equal(pager_calls, 1);
    assert_int_equal(rec[10], HS_EINVAL);
    assert_int_equal(rec[11], HS_OK);
    assert_int_equal(rec[1], HS_STATUS_COUNT);
    assert_int_equal(rec[0], HS_EFAULT);
}

/* ---- the amount HS_NOTIFY_EXHAUSTED names for a portal ----------------------- */

#define SP_AT   ((uint64_t)0x70000000)
#define SP_AT2  ((uint64_t)0x70100000)

static hs_notification ex_note;
static unsigned ex_notes;

static void ex_handler(void *cookie, const hs_notification *n)
{
    (void)cookie;
    ex_note = *n;
    ex_notes++;
    hs_notify_return();
}

/* The process may map one page, and a share-point of 100 bytes of data
 * takes one: attaching it again (length 0: ignored when attaching) is
 * over the quota by the page the attachment maps, which is what the
 * notification must name. */
static int sp_quota_main(void *arg)
{
    (void)arg;
    EXPECT_ST(hs_notify_install(0, HS_NOTIFY_EXHAUSTED, ex_handler, NULL),
              HS_OK);
    hs_portal_req r;
    memset(&r, 0, sizeof r);
    r.type = HS_PORTAL_SHARE | HS_PORTAL_ANON;
    r.prot = RW;
    r.length = 100;
    r.share.identifier = "review";
    r.share.create = 1;
    r.morphology.addr = SP_AT;
    EXPECT_ST(hs_portal(&r, NULL), HS_OK);
    r.type = HS_PORTAL_SHARE;
    r.length = 0;
    r.share.create = 0;
    r.morphology.addr = SP_AT2;
    rec[0] = hs_portal(&r, NULL);
    EXPECT_ST(hs_mem_check(), HS_OK);
    return 0;
}

static void test_review_portal_exhausted_names_the_bytes_mapped(void **state)
{
    (void)state;
    hs_quota q = hs_quota_unlimited();
    q.limit[HS_RES_MAPPED] = K4;
    hs_proc_attr a;
    memset(&a, 0, sizeof a);
    a.quota = &q;
    ex_notes = 0;
    memset(&ex_note, 0, sizeof ex_note);
    run_with(2 * M2, sp_quota_main, &a);
    assert_int_equal(rec[0], HS_EQUOTA);
    assert_int_equal(ex_notes, 1);
    assert_int_equal(ex_note.words[0], HS_RES_MAPPED);
    assert_int_equal(ex_note.words[1], K4);
    assert_int_equal(ex_note.words[2], K4);
    assert_int_equal(ex_note.words[3], K4);
}

/* ---- copy-on-write of a page another process writes -------------------------- */

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
        EXPECT_ST(hs_ipc_receive(g, HS_NEVER, NULL), HS_OK);
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
        TU_TEST(test_review_cow_write_on_pool_below_1g),
        TU_TEST(test_review_cow_write_without_frame_leaves_large_page_whole),
        TU_TEST(test_review_move_within_process_at_quota),
        TU_TEST(test_review_fault_resolve_nopage_checks_prot),
        TU_TEST(test_review_portal_exhausted_names_the_bytes_mapped),
        TU_TEST(test_review_a_page_shared_writable_is_never_made_cow),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
