/*
 * tests/test_largemsg.c - large messages (examples/lib/largemsg.h): a
 * header on a channel names a buffer of the sender, and the receiver maps
 * it page by page on first access.  For each transfer mode: no page is
 * mapped in the receiver before its first access and exactly the touched
 * page is after; move and share map the sender's very frame (move takes
 * it from the sender), cow maps it until a write and keeps the offer's
 * snapshot, copy maps a fresh frame; writes of the receiver reach the
 * sender for share only.  Release unmaps and ends the offer.
 */
#include "testutil.h"

#include "examples/lib/largemsg.h"

#define SRC ((uint64_t)0x10000000)
#define DST ((uint64_t)0x20000000)
#define NPAGES 4u
#define LEN ((uint64_t)NPAGES * HS_PAGE_4K - 100)   /* not a whole page */

/* What the receiver saw. */
static struct {
    int mapped_before;          /* pages of DST mapped before any access */
    int mapped_after;           /* pages mapped after touching page 1 */
    int page1_mapped;
    char first[16];             /* page 1's first bytes as read */
    uint64_t pa_sender_before;  /* sender's page 1 before the touch */
    uint64_t pa_recv;           /* receiver's page 1 after reading */
    uint64_t pa_recv_written;   /* ... after writing it */
    hs_status sender_after;     /* hs_mem_query of the sender's page 1 */
    uint64_t pa_sender_after;
    unsigned flags_recv;
    int mapped_released;        /* pages of DST mapped after release */
    lm_header h;
} r;

/* What the sender saw at the end. */
static struct {
    char page1[16];             /* its page 1's first bytes */
    hs_status page1_st;
    unsigned pending_before, pending_after;
    int child_status;           /* the receiver's exit status */
} s;

static unsigned mode;

static int count_mapped(uint64_t va, unsigned n)
{
    int k = 0;
    for (unsigned i = 0; i < n; i++) {
        hs_mem_info info;
        k += hs_mem_query(0, va + i * HS_PAGE_4K, &info) == HS_OK;
    }
    return k;
}

static int receiver(void *arg)
{
    (void)arg;
    hs_chan c;
    lm_msg m;
    hs_mem_info info;
    EXPECT_ST(hs_chan_attach(1, HS_CHAN_RECEIVER, 0, &c), HS_OK);
    if (EXPECT_ST(lm_recv(&c, DST, &m, HS_NEVER), HS_OK) != HS_OK)
        return 1;
    r.h = m.h;
    r.mapped_before = count_mapped(DST, NPAGES);
    EXPECT_ST(hs_mem_query(m.h.pid, SRC + HS_PAGE_4K, &info), HS_OK);
    r.pa_sender_before = info.pa;
    EXPECT_ST(hs_mem_read(DST + HS_PAGE_4K, r.first, sizeof r.first), HS_OK);
    r.mapped_after = count_mapped(DST, NPAGES);
    r.page1_mapped = count_mapped(DST + HS_PAGE_4K, 1);
    EXPECT_ST(hs_mem_query(0, DST + HS_PAGE_4K, &info), HS_OK);
    r.pa_recv = info.pa;
    r.flags_recv = info.flags;
    r.sender_after = hs_mem_query(m.h.pid, SRC + HS_PAGE_4K, &info);
    r.pa_sender_after = r.sender_after == HS_OK ? info.pa : 0;
    static const char w[] = "receiver";
    EXPECT_ST(hs_mem_write(DST + HS_PAGE_4K, w, sizeof w), HS_OK);
    EXPECT_ST(hs_mem_query(0, DST + HS_PAGE_4K, &info), HS_OK);
    r.pa_recv_written = info.pa;
    EXPECT_ST(lm_release(&m), HS_OK);
    r.mapped_released = count_mapped(DST, NPAGES);
    EXPECT_ST(lm_release(&m), HS_ENOENT);
    EXPECT_ST(hs_chan_detach(&c), HS_OK);
    return 0;
}

static int sender(void *arg)
{
    (void)arg;
    hs_cap_t cap = 0, d = 0;
    hs_chan_attr a = { .slots = 4, .msg_max = 64, .kind = HS_CHAN_SPSC,
                       .overflow = HS_CHAN_BLOCK, .timeout = HS_NEVER };
    EXPECT_ST(hs_chan_create(&a, &cap), HS_OK);
    EXPECT_ST(hs_mem_map(SRC, NPAGES * HS_PAGE_4K,
                         HS_PROT_READ | HS_PROT_WRITE, HS_PAGE_4K), HS_OK);
    for (unsigned i = 0; i < NPAGES; i++) {
        char b[16];
        snprintf(b, sizeof b, "page %u", i);
        EXPECT_ST(hs_mem_write(SRC + i * HS_PAGE_4K, b, sizeof b), HS_OK);
    }
    EXPECT_ST(hs_cap_derive(cap, HS_CAP_RECV | HS_CAP_GRANT, 0, &d), HS_OK);
    hs_proc_attr pa;
    memset(&pa, 0, sizeof pa);
    pa.caps = &d;
    pa.ncaps = 1;
    hs_pid_t child = 0;
    EXPECT_ST(hs_proc_spawn("receiver", receiver, NULL, &pa, &child), HS_OK);
    hs_chan c;
    EXPECT_ST(hs_chan_attach(cap, HS_CHAN_SENDER, 0, &c), HS_OK);
    EXPECT_ST(lm_send(&c, child, SRC, LEN, mode, HS_PROT_READ | HS_PROT_WRITE),
              HS_OK);
    EXPECT_ST(lm_offers_pending(&s.pending_before), HS_OK);
    if (mode == HS_XFER_COW) {
        /* After the offer: the receiver must not see this. */
        static const char late[] = "sender late";
        EXPECT_ST(hs_mem_write(SRC + HS_PAGE_4K, late, sizeof late), HS_OK);
    }
    s.child_status = -1;
    EXPECT_ST(hs_proc_wait(child, HS_NEVER, &s.child_status), HS_OK);
    s.page1_st = hs_mem_read(SRC + HS_PAGE_4K, s.page1, sizeof s.page1);
    EXPECT_ST(lm_offers_pending(&s.pending_after), HS_OK);
    EXPECT_ST(hs_chan_detach(&c), HS_OK);
    return 0;
}

static void run_mode(unsigned m)
{
    memset(&r, 0, sizeof r);
    memset(&s, 0, sizeof s);
    mode = m;
    hs_status st = tu_run_default("sender", sender, NULL);
    if (st != HS_OK)
        fprintf(stderr, "%s\n", hs_sim_report());
    assert_int_equal(st, HS_OK);
    assert_no_bad_status();
    assert_int_equal(s.child_status, 0);    /* no fault was refused */
    /* Lazy: nothing before the first access, exactly that page after. */
    assert_int_equal(r.mapped_before, 0);
    assert_int_equal(r.mapped_after, 1);
    assert_int_equal(r.page1_mapped, 1);
    assert_int_equal(r.mapped_released, 0);
    assert_int_equal(r.h.len, LEN);
    assert_int_equal(r.h.mode, m);
    assert_int_equal(s.pending_before, 1);
    assert_int_equal(s.pending_after, 0);
}

static void test_largemsg_move_takes_the_senders_frame_on_first_touch(void **state)
{
    (void)state;
    run_mode(HS_XFER_MOVE);
    assert_string_equal(r.first, "page 1");
    assert_int_equal(r.pa_recv, r.pa_sender_before);
    assert_int_equal(r.sender_after, HS_ENOMAP);    /* moved away */
    assert_int_equal(r.pa_recv_written, r.pa_recv);
}

static void test_largemsg_share_maps_the_same_frame_both_ways(void **state)
{
    (void)state;
    run_mode(HS_XFER_SHARE);
    assert_string_equal(r.first, "page 1");
    assert_int_equal(r.pa_recv, r.pa_sender_before);
    assert_int_equal(r.sender_after, HS_OK);
    assert_int_equal(r.pa_sender_after, r.pa_recv);
    assert_true(r.flags_recv & HS_MEM_SHARED);
    assert_int_equal(s.page1_st, HS_OK);
    assert_string_equal(s.page1, "receiver");       /* a write is seen */
}

static void test_largemsg_cow_shares_until_a_write_and_keeps_the_snapshot(void **state)
{
    (void)state;
    run_mode(HS_XFER_COW);
    /* The sender wrote "sender late" after the offer: not seen. */
    assert_string_equal(r.first, "page 1");
    assert_true(r.flags_recv & HS_MEM_COW);
    assert_int_not_equal(r.pa_recv, 0);
    /* The receiver's write got a private copy... */
    assert_int_not_equal(r.pa_recv_written, r.pa_recv);
    /* ...and the sender keeps its own version. */
    assert_int_equal(s.page1_st, HS_OK);
    assert_string_equal(s.page1, "sender late");
}

static void test_largemsg_copy_maps_a_fresh_frame(void **state)
{
    (void)state;
    run_mode(HS_XFER_COPY);
    assert_string_equal(r.first, "page 1");
    assert_int_not_equal(r.pa_recv, r.pa_sender_before);
    assert_int_equal(r.sender_after, HS_OK);
    assert_int_equal(r.pa_sender_after, r.pa_sender_before);
    assert_int_equal(r.pa_recv_written, r.pa_recv);
    assert_int_equal(s.page1_st, HS_OK);
    assert_string_equal(s.page1, "page 1");         /* isolated */
}

/* ---- bad input ----------------------------------------------------------------- */

static hs_status bad[8];

static int bad_input(void *arg)
{
    (void)arg;
    lm_header h;
    lm_msg m;
    EXPECT_ST(hs_mem_map(SRC, HS_PAGE_4K, HS_PROT_READ, HS_PAGE_4K), HS_OK);
    bad[0] = lm_offer(hs_proc_self(), SRC + 1, 10, HS_XFER_SHARE, HS_PROT_READ, &h);
    bad[1] = lm_offer(hs_proc_self(), SRC, 10, 9, HS_PROT_READ, &h);
    bad[2] = lm_offer(hs_proc_self(), SRC, 2 * HS_PAGE_4K, HS_XFER_SHARE, HS_PROT_READ, &h);
    bad[3] = lm_offer(hs_proc_self(), SRC, 10, HS_XFER_SHARE, HS_PROT_WRITE, &h);
    EXPECT_ST(lm_offer(hs_proc_self(), SRC, 10, HS_XFER_SHARE, HS_PROT_READ, &h), HS_OK);
    bad[4] = lm_open(&h, SRC, &m);                  /* mapped there */
    lm_header forged = h;
    forged.magic = 0;
    bad[5] = lm_open(&forged, DST, &m);
    bad[6] = lm_release(&m);
    bad[7] = lm_offer(0, SRC, 10, HS_XFER_SHARE, HS_PROT_READ, &h);
    return 0;
}

static void test_largemsg_refuses_bad_input(void **state)
{
    (void)state;
    assert_int_equal(tu_run_default("bad", bad_input, NULL), HS_OK);
    assert_no_bad_status();
    assert_int_equal(bad[0], HS_EINVAL);
    assert_int_equal(bad[1], HS_EINVAL);
    assert_int_equal(bad[2], HS_ENOMAP);
    assert_int_equal(bad[3], HS_EPERM);
    assert_int_equal(bad[4], HS_EEXIST);
    assert_int_equal(bad[5], HS_EINVAL);
    assert_int_equal(bad[6], HS_ENOENT);
    assert_int_equal(bad[7], HS_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        TU_TEST(test_largemsg_move_takes_the_senders_frame_on_first_touch),
        TU_TEST(test_largemsg_share_maps_the_same_frame_both_ways),
        TU_TEST(test_largemsg_cow_shares_until_a_write_and_keeps_the_snapshot),
        TU_TEST(test_largemsg_copy_maps_a_fresh_frame),
        TU_TEST(test_largemsg_refuses_bad_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
