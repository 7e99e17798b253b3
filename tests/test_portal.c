/*
 * tests/test_portal.c - memory portals: every class (anon, cow, direct,
 * special, share); privileged classes refused to other processes; a
 * special mapping resolved by a two-server chain; a share-point used by
 * three processes through the locking wrappers (and the same without the
 * lock, to show the count can go wrong); the wrappers' bounds and
 * protection; share-point names and lifetime; device regions played from
 * the host.
 *
 * Simulated threads record what they saw in the statics below and check
 * statuses with EXPECT_ST; every scenario ends with hs_mem_check() inside
 * the run, and the test asserts after hs_sim_run() that the pool is whole
 * again (hs_mem_stats_get).
 */
#include "testutil.h"

#define VA_A    0x10000000ull
#define VA_B    0x20000000ull
#define VA_C    0x30000000ull
#define PAGE    HS_PAGE_4K
#define RW      (HS_PROT_READ | HS_PROT_WRITE)

#define NREC 64
static uint64_t rec[NREC];
static hs_status got[NREC];
static hs_mem_info minfo[8];
static hs_portal_info pinfo[4];
static char text[4][80];

static void reset(void)
{
    memset(rec, 0xa5, sizeof rec);
    for (int i = 0; i < NREC; i++)
        got[i] = HS_STATUS_COUNT;
    memset(minfo, 0, sizeof minfo);
    memset(pinfo, 0, sizeof pinfo);
    memset(text, 0, sizeof text);
}

static const hs_proc_attr privileged = { .privileged = 1 };

static void start(void)
{
    hs_sim_config cfg = tu_config();
    reset();
    tu_status_reset();
    assert_int_equal(hs_sim_start(&cfg), HS_OK);
}

/* After the run: statuses matched, and every frame is free again. */
static void assert_pool_whole(void)
{
    hs_mem_stats s;
    assert_int_equal(hs_mem_stats_get(&s), HS_OK);
    assert_int_equal(s.free, s.pool);
    assert_int_equal(s.refs_4k + s.refs_2m + s.refs_1g, 0);
    assert_int_equal(s.page_tables, 0);
}

static void run_and_check(hs_status want)
{
    assert_int_equal(hs_sim_run(), want);
    assert_no_bad_status();
    assert_pool_whole();
}

/* Reset the records, run entry as the root process name (attr may be
 * NULL): must end HS_OK, the pool whole after. */
static void run_root(const char *name, hs_entry_fn entry,
                     const hs_proc_attr *attr)
{
    reset();
    tu_run_one(NULL, name, entry, NULL, attr);
    assert_pool_whole();
}

static hs_portal_req req_of(unsigned type, unsigned prot, uint64_t addr,
                            uint64_t length)
{
    hs_portal_req r;
    memset(&r, 0, sizeof r);
    r.type = type;
    r.prot = prot;
    r.length = length;
    r.morphology.addr = addr;
    return r;
}

static hs_portal_req share_req(const char *id, int create, unsigned prot,
                               uint64_t addr, uint64_t length)
{
    hs_portal_req r = req_of(create ? HS_PORTAL_SHARE | HS_PORTAL_ANON
                                    : HS_PORTAL_SHARE, prot, addr, length);
    r.share.identifier = id;
    r.share.create = create;
    return r;
}

static uint64_t read64(uint64_t va)
{
    uint64_t v = 0;
    EXPECT_ST(hs_mem_read(va, &v, sizeof v), HS_OK);
    return v;
}

static void write64(uint64_t va, uint64_t v)
{
    EXPECT_ST(hs_mem_write(va, &v, sizeof v), HS_OK);
}

/* ---- anon ------------------------------------------------------------------ */

static int anon_main(void *arg)
{
    (void)arg;
    hs_portal_req r = req_of(HS_PORTAL_ANON, RW, VA_A, 3 * PAGE);
    hs_portal_t p = 0;
    EXPECT_ST(hs_portal(&r, &p), HS_OK);
    rec[0] = read64(VA_A + 2 * PAGE + 8);           /* zeroed */
    write64(VA_A + 2 * PAGE + 8, 77);
    rec[1] = read64(VA_A + 2 * PAGE + 8);
    EXPECT_ST(hs_mem_query(0, VA_A, &minfo[0]), HS_OK);
    /* The same range again is taken. */
    EXPECT_ST(hs_portal(&r, NULL), HS_EEXIST);
    EXPECT_ST(hs_portal_info_get(p, &pinfo[0]), HS_OK);
    EXPECT_ST(hs_mem_check(), HS_OK);
    EXPECT_ST(hs_portal_destroy(p), HS_OK);
    got[0] = hs_mem_query(0, VA_A, &minfo[1]);
    EXPECT_ST(hs_portal_destroy(p), HS_ESTALE);
    EXPECT_ST(hs_mem_check(), HS_OK);
    return 0;
}

static void test_portal_anon_maps_fresh_zeroed_memory(void **state)
{
    (void)state;
    run_root("anon", anon_main, NULL);
    assert_int_equal(rec[0], 0);
    assert_int_equal(rec[1], 77);
    assert_int_equal(minfo[0].prot, RW);
    assert_int_equal(minfo[0].flags & (HS_MEM_DIRECT | HS_MEM_SPECIAL), 0);
    assert_int_equal(minfo[0].refs, 1);
    assert_int_equal(pinfo[0].type, HS_PORTAL_ANON);
    assert_int_equal(pinfo[0].length, 3 * PAGE);
    assert_int_equal(got[0], HS_ENOMAP);
}

/* ---- cow ------------------------------------------------------------------- */

static int cow_main(void *arg)
{
    (void)arg;
    EXPECT_ST(hs_mem_map(VA_A, 2 * PAGE, RW, HS_PAGE_4K), HS_OK);
    write64(VA_A, 11);
    write64(VA_A + PAGE, 12);
    hs_portal_req r = req_of(HS_PORTAL_COW, RW, VA_B, 2 * PAGE);
    r.morphology.src = VA_A;
    hs_portal_t p = 0;
    EXPECT_ST(hs_portal(&r, &p), HS_OK);
    EXPECT_ST(hs_mem_query(0, VA_A, &minfo[0]), HS_OK);
    EXPECT_ST(hs_mem_query(0, VA_B, &minfo[1]), HS_OK);
    rec[0] = read64(VA_B);                      /* the source's data */
    write64(VA_B, 21);                          /* the view's own copy */
    write64(VA_A + PAGE, 32);                   /* the source's own copy */
    rec[1] = read64(VA_A);
    rec[2] = read64(VA_B);
    rec[3] = read64(VA_A + PAGE);
    rec[4] = read64(VA_B + PAGE);
    EXPECT_ST(hs_mem_query(0, VA_B, &minfo[2]), HS_OK);
    EXPECT_ST(hs_mem_check(), HS_OK);
    /* A view of a hole, or without read, is refused. */
    r.morphology.addr = VA_C;
    r.morphology.src = VA_A + 4 * PAGE;
    EXPECT_ST(hs_portal(&r, NULL), HS_ENOMAP);
    r.morphology.src = VA_A;
    r.prot = HS_PROT_WRITE;
    EXPECT_ST(hs_portal(&r, NULL), HS_EINVAL);
    EXPECT_ST(hs_portal_destroy(p), HS_OK);
    EXPECT_ST(hs_mem_unmap(VA_A, 2 * PAGE), HS_OK);
    EXPECT_ST(hs_mem_check(), HS_OK);
    return 0;
}

static void test_portal_cow_view_copies_on_first_write(void **state)
{
    (void)state;
    run_root("cow", cow_main, NULL);
    assert_true(minfo[0].flags & HS_MEM_COW);
    assert_true(minfo[1].flags & HS_MEM_COW);
    assert_int_equal(minfo[0].pa, minfo[1].pa);
    assert_int_equal(minfo[1].prot, HS_PROT_READ);
    assert_int_equal(minfo[1].max_prot, RW);
    assert_int_equal(rec[0], 11);
    assert_int_equal(rec[1], 11);
    assert_int_equal(rec[2], 21);
    assert_int_equal(rec[3], 32);
    assert_int_equal(rec[4], 12);
    assert_false(minfo[2].flags & HS_MEM_COW);
    assert_int_not_equal(minfo[2].pa, minfo[0].pa);
}

/* ---- direct and devices ---------------------------------------------------- */

static uint64_t dev_pa;
static volatile uint64_t *dev_regs;

static int driver_main(void *arg)
{
    (void)arg;
    hs_portal_req r = req_of(HS_PORTAL_DIRECT, RW, VA_A, PAGE);
    r.morphology.paddr = dev_pa;
    hs_portal_t p = 0;
    EXPECT_ST(hs_portal(&r, &p), HS_OK);
    rec[0] = read64(VA_A);                      /* the device's status */
    write64(VA_A + 8, 0xc0de);                  /* a command */
    EXPECT_ST(hs_mem_query(0, VA_A, &minfo[0]), HS_OK);
    /* Outside the device region, or outside the pool. */
    hs_portal_req bad = r;
    bad.morphology.addr = VA_B;
    bad.length = 2 * PAGE;
    EXPECT_ST(hs_portal(&bad, NULL), HS_EPERM);
    bad.length = PAGE;
    bad.morphology.paddr = (uint64_t)1 << 46;
    EXPECT_ST(hs_portal(&bad, NULL), HS_ERANGE);
    EXPECT_ST(hs_mem_check(), HS_OK);
    EXPECT_ST(hs_thread_sleep(HS_MSEC), HS_OK);  /* the device answers */
    rec[2] = read64(VA_A + 16);
    EXPECT_ST(hs_portal_destroy(p), HS_OK);
    EXPECT_ST(hs_mem_check(), HS_OK);
    return 0;
}

/* The device, played by a core server through a host pointer. */
static int device_main(void *arg)
{
    (void)arg;
    void *ptr = NULL;
    EXPECT_ST(hs_thread_sleep(HS_MSEC / 2), HS_OK);
    EXPECT_ST(hs_mem_phys_ptr(dev_pa, 24, &ptr), HS_OK);
    volatile uint64_t *regs = ptr;
    rec[1] = regs[1];                           /* the driver's command */
    regs[2] = regs[1] + 1;                      /* its answer */
    return 0;
}

static void test_portal_direct_maps_a_device_the_host_plays(void **state)
{
    (void)state;
    void *ptr = NULL;
    start();
    assert_int_equal(hs_mem_device_create(PAGE, &dev_pa), HS_OK);
    assert_int_equal(dev_pa & (PAGE - 1), 0);
    assert_int_equal(hs_mem_phys_ptr(dev_pa, PAGE, &ptr), HS_OK);
    dev_regs = ptr;
    dev_regs[0] = 0x5a7a;                       /* status: ready */
    assert_int_equal(hs_mem_phys_ptr(dev_pa, PAGE + 1, &ptr), HS_EPERM);
    assert_int_equal(hs_mem_device_create(100, &dev_pa), HS_EINVAL);
    assert_int_equal(hs_proc_spawn("driver", driver_main, NULL, &privileged,
                                   NULL), HS_OK);
    assert_int_equal(hs_proc_spawn("device", device_main, NULL, &privileged,
                                   NULL), HS_OK);
    run_and_check(HS_OK);
    assert_int_equal(rec[0], 0x5a7a);
    assert_int_equal(rec[1], 0xc0de);
    assert_int_equal(rec[2], 0xc0df);
    assert_true(minfo[0].flags & HS_MEM_DIRECT);
    assert_int_equal(minfo[0].pa, dev_pa);
    assert_int_equal(minfo[0].refs, 0);         /* uncounted */
}

/* ---- privilege --------------------------------------------------------------- */

static int unprivileged_main(void *arg)
{
    (void)arg;
    uint64_t pa = 0;
    void *ptr = NULL;
    hs_portal_req r = req_of(HS_PORTAL_DIRECT, RW, VA_A, PAGE);
    r.morphology.paddr = dev_pa;
    EXPECT_ST(hs_portal(&r, NULL), HS_EPERM);
    r = req_of(HS_PORTAL_SPECIAL, RW, VA_A, PAGE);
    r.chain.name = "pager";
    EXPECT_ST(hs_portal(&r, NULL), HS_EPERM);
    r = req_of(HS_PORTAL_SHARE | HS_PORTAL_DIRECT, RW, VA_A, 64);
    r.share.identifier = "regs";
    r.share.create = 1;
    r.morphology.paddr = dev_pa;
    EXPECT_ST(hs_portal(&r, NULL), HS_EPERM);
    EXPECT_ST(hs_mem_device_create(PAGE, &pa), HS_EPERM);
    EXPECT_ST(hs_mem_phys_ptr(dev_pa, 8, &ptr), HS_EPERM);
    got[0] = hs_mem_query(0, VA_A, &minfo[0]);
    /* The others are for everyone. */
    r = req_of(HS_PORTAL_ANON, RW, VA_A, PAGE);
    EXPECT_ST(hs_portal(&r, NULL), HS_OK);
    EXPECT_ST(hs_mem_check(), HS_OK);
    return 0;
}

static void test_portal_direct_and_special_need_a_core_server(void **state)
{
    (void)state;
    start();
    assert_int_equal(hs_mem_device_create(PAGE, &dev_pa), HS_OK);
    assert_int_equal(hs_proc_spawn("user", unprivileged_main, NULL, NULL,
                                   NULL), HS_OK);
    run_and_check(HS_OK);
    assert_int_equal(got[0], HS_ENOMAP);        /* nothing was mapped */
}

/* ---- invalid requests ---------------------------------------------------------- */

static int invalid_main(void *arg)
{
    (void)arg;
    static const unsigned bad_types[] = {
        0, HS_PORTAL_ANON | HS_PORTAL_COW, HS_PORTAL_SHARE | HS_PORTAL_SPECIAL,
        HS_PORTAL_DIRECT | HS_PORTAL_SPECIAL, 0x40,
    };
    for (unsigned i = 0; i < sizeof bad_types / sizeof bad_types[0]; i++) {
        hs_portal_req r = req_of(bad_types[i], RW, VA_A, PAGE);
        EXPECT_ST(hs_portal(&r, NULL), HS_EINVAL);
    }
    hs_portal_req r = req_of(HS_PORTAL_ANON, 0, VA_A, PAGE);
    EXPECT_ST(hs_portal(&r, NULL), HS_EINVAL);          /* prot 0 */
    r = req_of(HS_PORTAL_ANON, RW, VA_A + 1, PAGE);
    EXPECT_ST(hs_portal(&r, NULL), HS_EINVAL);          /* unaligned */
    r = req_of(HS_PORTAL_ANON, RW, VA_A, 100);
    EXPECT_ST(hs_portal(&r, NULL), HS_EINVAL);
    r = req_of(HS_PORTAL_ANON, RW, HS_VA_LIMIT - PAGE, 2 * PAGE);
    EXPECT_ST(hs_portal(&r, NULL), HS_ERANGE);
    r = share_req("x", 1, RW, VA_A, 64);
    r.type = HS_PORTAL_SHARE;                           /* create alone */
    EXPECT_ST(hs_portal(&r, NULL), HS_EINVAL);
    r = share_req("x", 0, RW, VA_A, 0);
    r.type = HS_PORTAL_SHARE | HS_PORTAL_ANON;          /* attach + anon */
    EXPECT_ST(hs_portal(&r, NULL), HS_EINVAL);
    r = share_req("0123456789abcdef0123456789abcdef", 1, RW, VA_A, 64);
    EXPECT_ST(hs_portal(&r, NULL), HS_EINVAL);          /* 32 bytes */
    r = share_req("", 1, RW, VA_A, 64);
    EXPECT_ST(hs_portal(&r, NULL), HS_EINVAL);
    EXPECT_ST(hs_portal(NULL, NULL), HS_EINVAL);
    r = req_of(HS_PORTAL_SPECIAL, RW, VA_A, PAGE);
    EXPECT_ST(hs_portal(&r, NULL), HS_EINVAL);          /* no chain name */
    EXPECT_ST(hs_mem_check(), HS_OK);
    return 0;
}

static void test_portal_invalid_requests_change_nothing(void **state)
{
    (void)state;
    run_root("invalid", invalid_main, &privileged);
}

/* ---- special: a chain of two servers -------------------------------------------- */

#define SRV_VA 0x40000000ull
static unsigned a_calls, b_calls;
static hs_portal_t special_portal;

static void a_handler(hs_hop_t *hop, void *cookie)
{
    (void)cookie;
    a_calls++;
    rec[10] = hs_mr(hop, 0);
    rec[11] = hs_mr(hop, 6);
    rec[12] = hs_mr(hop, 7);
    rec[13] = hs_mr(hop, 2);
    EXPECT_ST(hs_portal_info_get(hs_mr(hop, 7), &pinfo[0]), HS_OK);
    hs_port_t b = 0;
    EXPECT_ST(hs_port_lookup("chain-b", HS_NOWAIT, &b), HS_OK);
    EXPECT_ST(hs_mem_fault_pass(hs_mr(hop, 1), b), HS_OK);
    /* Passed on: only B may resolve it, and read the portal, now. */
    got[1] = hs_mem_fault_resolve(hs_mr(hop, 1), HS_PF_NOPAGE, HS_XFER_COPY,
                                  HS_PROT_READ);
    got[2] = hs_portal_info_get(hs_mr(hop, 7), &pinfo[2]);
}

static void b_handler(hs_hop_t *hop, void *cookie)
{
    (void)cookie;
    b_calls++;
    rec[14] = hs_mr(hop, 0);
    rec[15] = hs_mr(hop, 7);
    EXPECT_ST(hs_portal_info_get(hs_mr(hop, 7), &pinfo[1]), HS_OK);
    /* B fills a page of its own with what the message asks for. */
    unsigned char fill[PAGE];
    for (unsigned i = 0; i < PAGE; i++)
        fill[i] = (unsigned char)(0x50 + i % 7);
    EXPECT_ST(hs_mem_map(SRV_VA, PAGE, RW, HS_PAGE_4K), HS_OK);
    EXPECT_ST(hs_mem_write(SRV_VA, fill, PAGE), HS_OK);
    EXPECT_ST(hs_mem_fault_resolve(hs_mr(hop, 1), SRV_VA, HS_XFER_COPY, RW),
              HS_OK);
    EXPECT_ST(hs_mem_unmap(SRV_VA, PAGE), HS_OK);
}

static int chain_server(void *arg)
{
    const char *name = arg;
    hs_port_t port;
    EXPECT_ST(hs_port_create_named(name, &port), HS_OK);
    EXPECT_ST(hs_port_set_handler(port, name[6] == 'a' ? a_handler
                                                       : b_handler, NULL),
              HS_OK);
    return hs_proc_serve();
}

static int special_client(void *arg)
{
    (void)arg;
    hs_port_t p;
    EXPECT_ST(hs_port_lookup("chain-a", HS_NEVER, &p), HS_OK);
    EXPECT_ST(hs_port_lookup("chain-b", HS_NEVER, &p), HS_OK);
    hs_portal_req r = req_of(HS_PORTAL_SPECIAL, RW, VA_A, 2 * PAGE);
    r.chain.name = "chain-a";
    r.chain.message = "fill from B";
    EXPECT_ST(hs_portal(&r, &special_portal), HS_OK);
    got[0] = hs_mem_query(0, VA_A + PAGE, &minfo[0]);
    hs_utcb_t *u = hs_utcb();
    u->tag = HS_TAG(9, 8);
    for (unsigned i = 0; i < 8; i++)
        u->mr[i] = 1000 + i;
    unsigned char buf[32];
    EXPECT_ST(hs_mem_read(VA_A + PAGE + 10, buf, sizeof buf), HS_OK);
    memcpy(text[0], buf, sizeof buf);
    rec[0] = u->tag;
    for (unsigned i = 0; i < 8; i++)
        rec[1 + i] = u->mr[i];
    /* Filled: the same page does not fault again. */
    EXPECT_ST(hs_mem_read(VA_A + PAGE, buf, 8), HS_OK);
    EXPECT_ST(hs_mem_query(0, VA_A + PAGE, &minfo[1]), HS_OK);
    got[3] = hs_mem_query(0, VA_A, &minfo[2]);
    EXPECT_ST(hs_mem_check(), HS_OK);
    EXPECT_ST(hs_portal_destroy(special_portal), HS_OK);
    EXPECT_ST(hs_mem_check(), HS_OK);
    return 0;
}

static void test_portal_special_resolved_by_a_two_server_chain(void **state)
{
    (void)state;
    start();
    a_calls = b_calls = 0;
    assert_int_equal(hs_proc_spawn("srv-a", chain_server, "chain-a", NULL,
                                   NULL), HS_OK);
    assert_int_equal(hs_proc_spawn("srv-b", chain_server, "chain-b", NULL,
                                   NULL), HS_OK);
    assert_int_equal(hs_proc_spawn("client", special_client, NULL,
                                   &privileged, NULL), HS_OK);
    run_and_check(HS_OK);
    assert_int_equal(a_calls, 1);
    assert_int_equal(b_calls, 1);
    /* A saw a special fault with the portal; so did B after the pass. */
    assert_int_equal(rec[10], HS_PF_LABEL);
    assert_int_equal(rec[11], HS_PF_SPECIAL);
    assert_int_equal(rec[12], special_portal);
    assert_int_equal(rec[13], VA_A + PAGE + 10);
    assert_int_equal(rec[14], HS_PF_LABEL);
    assert_int_equal(rec[15], special_portal);
    assert_string_equal(pinfo[0].message, "fill from B");
    assert_string_equal(pinfo[1].message, "fill from B");
    assert_string_equal(pinfo[0].chain, "chain-a");
    assert_int_equal(got[1], HS_EPERM);
    assert_int_equal(got[2], HS_EPERM);
    /* The read returned B's data; the registers are untouched. */
    for (unsigned i = 0; i < 32; i++)
        assert_int_equal((unsigned char)text[0][i], 0x50 + (10 + i) % 7);
    assert_int_equal(rec[0], HS_TAG(9, 8));
    for (unsigned i = 0; i < 8; i++)
        assert_int_equal(rec[1 + i], 1000 + i);
    /* Before: not present (no frame, no reference); after: a present
     * special page. */
    assert_int_equal(got[0], HS_OK);
    assert_true(minfo[0].flags & HS_MEM_SPECIAL);
    assert_int_equal(minfo[0].pa, 0);
    assert_int_equal(minfo[0].refs, 0);
    assert_true(minfo[1].flags & HS_MEM_SPECIAL);
    assert_int_not_equal(minfo[1].pa, 0);
    assert_int_equal(minfo[1].refs, 1);
    assert_int_equal(got[3], HS_OK);     /* the other page */
    assert_true(minfo[2].flags & HS_MEM_SPECIAL);
    assert_int_equal(minfo[2].pa, 0);
}

static int orphan_special(void *arg)
{
    (void)arg;
    hs_portal_req r = req_of(HS_PORTAL_SPECIAL, HS_PROT_READ, VA_A, PAGE);
    r.chain.name = "nobody";
    EXPECT_ST(hs_portal(&r, NULL), HS_OK);
    uint64_t v;
    hs_mem_read(VA_A, &v, sizeof v);            /* killed here */
    rec[0] = 1;
    return 0;
}

static void test_portal_special_without_a_server_kills_the_thread(void **st)
{
    (void)st;
    rec[0] = 0;
    start();
    rec[0] = 0;
    hs_pid_t pid;
    assert_int_equal(hs_proc_spawn("orphan", orphan_special, NULL,
                                   &privileged, &pid), HS_OK);
    run_and_check(HS_OK);
    assert_int_equal(rec[0], 0);
    assert_report_has("no server of its chain");
}

/* ---- share: three processes, one counter ------------------------------------------ */

#define ROUNDS 100
#define WORKERS 3
static int use_lock;
static unsigned torn;

/* One increment: counter at 0 and its complement at 8, written apart
 * with a yield between, so that an unlocked reader sees them torn. */
static void bump(uint64_t at)
{
    uint64_t v[2];
    if (use_lock)
        EXPECT_ST(hs_sp_lock(at), HS_OK);
    EXPECT_ST(hs_sp_read(at, 0, v, sizeof v), HS_OK);
    if (v[1] != ~v[0])
        torn++;
    hs_thread_yield();
    uint64_t n = v[0] + 1, c = ~n;
    EXPECT_ST(hs_sp_write(at, 0, &n, sizeof n), HS_OK);
    hs_thread_yield();
    EXPECT_ST(hs_sp_write(at, 8, &c, sizeof c), HS_OK);
    if (use_lock)
        EXPECT_ST(hs_sp_unlock(at), HS_OK);
}

static int worker(void *arg)
{
    uint64_t at = VA_B + (uint64_t)(uintptr_t)arg * 0x100000;
    hs_portal_req r = share_req("counter", 0, RW, at, 0);
    hs_portal_t p = 0;
    EXPECT_ST(hs_portal(&r, &p), HS_OK);
    for (int i = 0; i < ROUNDS; i++)
        bump(at);
    EXPECT_ST(hs_mem_check(), HS_OK);
    EXPECT_ST(hs_portal_destroy(p), HS_OK);
    return 0;
}

static int maker(void *arg)
{
    (void)arg;
    hs_portal_req r = share_req("counter", 1, RW, VA_A, 64);
    hs_portal_t p = 0;
    EXPECT_ST(hs_portal(&r, &p), HS_OK);
    uint64_t init[2] = { 0, ~(uint64_t)0 };
    EXPECT_ST(hs_sp_write(VA_A, 0, init, sizeof init), HS_OK);
    hs_pid_t w[WORKERS];
    for (unsigned i = 0; i < WORKERS; i++)
        EXPECT_ST(hs_proc_spawn("worker", worker, (void *)(uintptr_t)i, NULL,
                                &w[i]), HS_OK);
    for (unsigned i = 0; i < WORKERS; i++)
        EXPECT_ST(hs_proc_wait(w[i], HS_NEVER, NULL), HS_OK);
    uint64_t v[2];
    EXPECT_ST(hs_sp_read(VA_A, 0, v, sizeof v), HS_OK);
    rec[0] = v[0];
    rec[1] = v[1];
    /* The meta-structure, as the kernel wrote it. */
    struct hs_sp_meta meta;
    uint64_t paddr;
    EXPECT_ST(hs_mem_read(VA_A, &meta, sizeof meta), HS_OK);
    EXPECT_ST(hs_mem_read(VA_A + HS_SP_META_SIZE(0), &paddr, sizeof paddr),
              HS_OK);
    rec[2] = (uint64_t)meta.lock;
    rec[3] = (uint64_t)meta.prot;
    rec[4] = meta.length;
    rec[5] = meta.morphology.length;
    rec[6] = paddr;
    EXPECT_ST(hs_mem_query(0, VA_A, &minfo[0]), HS_OK);
    EXPECT_ST(hs_portal_info_get(p, &pinfo[0]), HS_OK);
    EXPECT_ST(hs_mem_check(), HS_OK);
    EXPECT_ST(hs_portal_destroy(p), HS_OK);
    EXPECT_ST(hs_mem_check(), HS_OK);
    return 0;
}

static void run_counter(uint64_t seed)
{
    hs_sim_config cfg = tu_config();
    cfg.seed = seed;
    reset();
    torn = 0;
    tu_status_reset();
    assert_int_equal(hs_sim_start(&cfg), HS_OK);
    assert_int_equal(hs_proc_spawn("maker", maker, NULL, NULL, NULL), HS_OK);
    run_and_check(HS_OK);
}

static void test_portal_share_three_processes_count_exactly(void **state)
{
    (void)state;
    use_lock = 1;
    uint64_t seeds[] = { HS_SEED_NONE, 1, 2, 3 };
    for (unsigned s = 0; s < 4; s++) {
        run_counter(seeds[s]);
        assert_int_equal(rec[0], WORKERS * ROUNDS);
        assert_int_equal(rec[1], ~(uint64_t)(WORKERS * ROUNDS));
        assert_int_equal(torn, 0);
    }
    assert_int_equal(rec[2], 0);                /* unlocked at the end */
    assert_int_equal(rec[3], RW);
    assert_int_equal(rec[4], 64);
    assert_int_equal(rec[5], 1);
    assert_int_equal(rec[6], minfo[0].pa);
    assert_int_equal(pinfo[0].data_offset, HS_SP_DATA_OFFSET(1));
    assert_int_equal(pinfo[0].data_offset, 32);
    assert_int_equal(pinfo[0].data_length, 64);
    assert_string_equal(pinfo[0].identifier, "counter");
    assert_int_equal(pinfo[0].attached, 1);     /* workers are gone */
}

/* The same without hs_sp_lock: each copy alone is locked, the update is
 * not, and the yields lose updates and (under a seeded schedule, which
 * breaks the workers' lockstep) show torn pairs. */
static void test_portal_share_without_the_lock_loses_updates(void **state)
{
    (void)state;
    use_lock = 0;
    run_counter(1);
    assert_true(rec[0] < WORKERS * ROUNDS);
    assert_true(torn > 0);
}

/* ---- share: the wrappers' checks --------------------------------------------------- */

static int wrappers_main(void *arg)
{
    (void)arg;
    hs_portal_req r = share_req("box", 1, RW, VA_A, 100);
    hs_portal_t p = 0, ro = 0, q = 0;
    char buf[128] = "hello";
    EXPECT_ST(hs_portal(&r, &p), HS_OK);
    EXPECT_ST(hs_portal(&r, NULL), HS_EEXIST);          /* the name */
    r.morphology.addr = VA_C;
    EXPECT_ST(hs_portal(&r, NULL), HS_EEXIST);
    EXPECT_ST(hs_sp_write(VA_A, 95, buf, 5), HS_OK);
    EXPECT_ST(hs_sp_write(VA_A, 96, buf, 5), HS_ERANGE);
    EXPECT_ST(hs_sp_read(VA_A, 0, buf, 101), HS_ERANGE);
    EXPECT_ST(hs_sp_read(VA_A, ~(uint64_t)0, buf, 2), HS_ERANGE);
    EXPECT_ST(hs_sp_read(VA_A, 0, NULL, 2), HS_EINVAL);
    EXPECT_ST(hs_sp_read(VA_A + PAGE, 0, buf, 2), HS_ENOENT);
    EXPECT_ST(hs_sp_unlock(VA_A), HS_EPERM);            /* not held */
    EXPECT_ST(hs_sp_lock(VA_A), HS_OK);
    uint8_t lock = 0;
    EXPECT_ST(hs_mem_read(VA_A, &lock, 1), HS_OK);
    rec[0] = lock;                                      /* the shared byte */
    EXPECT_ST(hs_sp_lock(VA_A), HS_EDEADLK);
    EXPECT_ST(hs_sp_unlock(VA_A), HS_OK);
    EXPECT_ST(hs_mem_read(VA_A, &lock, 1), HS_OK);
    rec[1] = lock;
    /* Attaching: missing name, prot above the share-point's. */
    hs_portal_req a = share_req("nope", 0, RW, VA_B, 0);
    EXPECT_ST(hs_portal(&a, NULL), HS_ENOENT);
    a = share_req("box", 0, RW | HS_PROT_EXEC, VA_B, 0);
    EXPECT_ST(hs_portal(&a, NULL), HS_EPERM);
    /* A read-only attachment reads but may not write. */
    a = share_req("box", 0, HS_PROT_READ, VA_B, 0);
    EXPECT_ST(hs_portal(&a, &ro), HS_OK);
    memset(buf, 0, sizeof buf);
    EXPECT_ST(hs_sp_read(VA_B, 95, buf, 5), HS_OK);
    memcpy(text[0], buf, 6);
    EXPECT_ST(hs_sp_write(VA_B, 0, buf, 1), HS_EPERM);
    /* A read-only share-point refuses writes to everyone. */
    hs_portal_req c = share_req("sealed", 1, HS_PROT_READ, VA_C, 10);
    EXPECT_ST(hs_portal(&c, &q), HS_OK);
    EXPECT_ST(hs_sp_write(VA_C, 0, buf, 1), HS_EPERM);
    EXPECT_ST(hs_sp_read(VA_C, 0, buf, 10), HS_OK);
    EXPECT_ST(hs_mem_check(), HS_OK);
    EXPECT_ST(hs_portal_destroy(ro), HS_OK);
    EXPECT_ST(hs_portal_destroy(q), HS_OK);
    EXPECT_ST(hs_portal_destroy(p), HS_OK);
    EXPECT_ST(hs_sp_read(VA_A, 0, buf, 1), HS_ENOENT);
    EXPECT_ST(hs_mem_check(), HS_OK);
    return 0;
}

static void test_portal_share_wrappers_check_bounds_and_protection(void **s)
{
    (void)s;
    run_root("wrappers", wrappers_main, NULL);
    assert_int_equal(rec[0], 1);
    assert_int_equal(rec[1], 0);
    assert_string_equal(text[0], "hello");
}

/* ---- share: lifetime ------------------------------------------------------------------- */

static hs_status attach_st;

static int lifetime_child(void *arg)
{
    (void)arg;
    hs_portal_req r = share_req("life", 0, RW, VA_B, 0);
    hs_portal_t p = 0;
    EXPECT_ST(hs_portal(&r, &p), HS_OK);
    /* The creator closes meanwhile: the data stays reachable here. */
    EXPECT_ST(hs_thread_sleep(2 * HS_MSEC), HS_OK);
    EXPECT_ST(hs_sp_read(VA_B, 0, text[1], 5), HS_OK);
    hs_mem_stats s;
    EXPECT_ST(hs_mem_stats_get(&s), HS_OK);
    rec[1] = s.free;
    EXPECT_ST(hs_portal_destroy(p), HS_OK);
    EXPECT_ST(hs_mem_stats_get(&s), HS_OK);
    rec[2] = s.free;
    EXPECT_ST(hs_mem_check(), HS_OK);
    return 0;
}

static int lifetime_main(void *arg)
{
    (void)arg;
    hs_portal_req r = share_req("life", 1, RW, VA_A, 16);
    hs_portal_t p = 0, again = 0;
    EXPECT_ST(hs_portal(&r, &p), HS_OK);
    EXPECT_ST(hs_sp_write(VA_A, 0, "first", 5), HS_OK);
    hs_pid_t c;
    EXPECT_ST(hs_proc_spawn("child", lifetime_child, NULL, NULL, &c), HS_OK);
    EXPECT_ST(hs_thread_sleep(HS_MSEC), HS_OK);
    EXPECT_ST(hs_portal_info_get(p, &pinfo[0]), HS_OK);
    EXPECT_ST(hs_portal_destroy(p), HS_OK);
    /* The name is withdrawn: no attach; a new one may take it. */
    hs_portal_req a = share_req("life", 0, RW, VA_C, 0);
    attach_st = hs_portal(&a, NULL);
    EXPECT_ST(hs_portal(&r, &again), HS_OK);
    EXPECT_ST(hs_sp_read(VA_A, 0, text[0], 5), HS_OK);   /* fresh: zero */
    EXPECT_ST(hs_proc_wait(c, HS_NEVER, NULL), HS_OK);
    EXPECT_ST(hs_portal_destroy(again), HS_OK);
    EXPECT_ST(hs_mem_check(), HS_OK);
    return 0;
}

static void test_portal_share_lives_until_its_last_attachment(void **state)
{
    (void)state;
    run_root("creator", lifetime_main, NULL);
    assert_int_equal(pinfo[0].attached, 2);
    assert_int_equal(attach_st, HS_ENOENT);
    assert_string_equal(text[1], "first");
    assert_int_equal(text[0][0], 0);
    assert_int_equal(rec[2] - rec[1], PAGE);    /* freed with the last */
}

/* ---- share: a private copy-on-write attachment --------------------------------------- */

static int cow_attach_main(void *arg)
{
    (void)arg;
    hs_portal_req r = share_req("orig", 1, RW, VA_A, 32);
    hs_portal_t p = 0, v = 0;
    EXPECT_ST(hs_portal(&r, &p), HS_OK);
    EXPECT_ST(hs_sp_write(VA_A, 0, "shared", 6), HS_OK);
    hs_portal_req a = share_req("orig", 0, RW, VA_B, 0);
    a.type |= HS_PORTAL_COW;
    EXPECT_ST(hs_portal(&a, &v), HS_OK);
    EXPECT_ST(hs_mem_query(0, VA_B, &minfo[0]), HS_OK);
    uint64_t off = HS_SP_DATA_OFFSET(1);
    EXPECT_ST(hs_mem_read(VA_B + off, text[0], 6), HS_OK);
    EXPECT_ST(hs_mem_write(VA_B + off, "privat", 6), HS_OK);
    EXPECT_ST(hs_mem_read(VA_B + off, text[1], 6), HS_OK);
    EXPECT_ST(hs_sp_read(VA_A, 0, text[2], 6), HS_OK);
    EXPECT_ST(hs_mem_check(), HS_OK);
    EXPECT_ST(hs_portal_destroy(v), HS_OK);
    EXPECT_ST(hs_portal_destroy(p), HS_OK);
    EXPECT_ST(hs_mem_check(), HS_OK);
    return 0;
}

static void test_portal_share_cow_attachment_is_private(void **state)
{
    (void)state;
    run_root("cow-attach", cow_attach_main, NULL);
    assert_true(minfo[0].flags & HS_MEM_COW);
    assert_string_equal(text[0], "shared");
    assert_string_equal(text[1], "privat");
    assert_string_equal(text[2], "shared");
}

/* ---- share over a device ------------------------------------------------------------------ */

static int direct_share_main(void *arg)
{
    (void)arg;
    hs_portal_req r = share_req("regs", 1, RW, VA_A, 64);
    r.type = HS_PORTAL_SHARE | HS_PORTAL_DIRECT;
    r.morphology.paddr = dev_pa;
    hs_portal_t p = 0;
    EXPECT_ST(hs_portal(&r, &p), HS_OK);
    EXPECT_ST(hs_sp_write(VA_A, 0, "dev", 4), HS_OK);
    EXPECT_ST(hs_mem_query(0, VA_A, &minfo[0]), HS_OK);
    void *ptr = NULL;
    EXPECT_ST(hs_mem_phys_ptr(dev_pa + HS_SP_DATA_OFFSET(1), 4, &ptr), HS_OK);
    memcpy(text[0], ptr, 4);
    hs_portal_req a = share_req("regs", 0, RW, VA_B, 0);
    a.type |= HS_PORTAL_COW;
    EXPECT_ST(hs_portal(&a, NULL), HS_EPERM);   /* no private device */
    EXPECT_ST(hs_mem_check(), HS_OK);
    EXPECT_ST(hs_portal_destroy(p), HS_OK);
    return 0;
}

static void test_portal_share_over_a_device_region(void **state)
{
    (void)state;
    start();
    assert_int_equal(hs_mem_device_create(PAGE, &dev_pa), HS_OK);
    assert_int_equal(hs_proc_spawn("drv", direct_share_main, NULL,
                                   &privileged, NULL), HS_OK);
    run_and_check(HS_OK);
    assert_true(minfo[0].flags & HS_MEM_DIRECT);
    assert_int_equal(minfo[0].pa, dev_pa);
    assert_string_equal(text[0], "dev");
}

/* ---- a process ending ------------------------------------------------------------------------ */

static int leaver(void *arg)
{
    (void)arg;
    hs_portal_req r = share_req("left", 1, RW, VA_A, 5000);
    EXPECT_ST(hs_portal(&r, NULL), HS_OK);
    r = req_of(HS_PORTAL_ANON, RW, VA_B, 2 * PAGE);
    EXPECT_ST(hs_portal(&r, NULL), HS_OK);
    r = req_of(HS_PORTAL_SPECIAL, HS_PROT_READ, VA_C, PAGE);
    r.chain.name = "somebody";
    EXPECT_ST(hs_portal(&r, NULL), HS_OK);
    EXPECT_ST(hs_sp_lock(VA_A), HS_OK);         /* and never unlocks */
    return 0;
}

static int leaver_parent(void *arg)
{
    (void)arg;
    hs_pid_t c;
    EXPECT_ST(hs_proc_spawn("leaver", leaver, NULL, &privileged, &c), HS_OK);
    EXPECT_ST(hs_proc_wait(c, HS_NEVER, NULL), HS_OK);
    hs_portal_req a = share_req("left", 0, RW, VA_A, 0);
    EXPECT_ST(hs_portal(&a, NULL), HS_ENOENT);
    EXPECT_ST(hs_mem_check(), HS_OK);
    return 0;
}

static void test_portal_process_end_frees_its_portals(void **state)
{
    (void)state;
    run_root("parent", leaver_parent, &privileged);
}

/* A lock whose holder ended is taken over by the next thread. */
static int holder(void *arg)
{
    (void)arg;
    EXPECT_ST(hs_sp_lock(VA_A), HS_OK);
    return 0;
}

static int takeover_main(void *arg)
{
    (void)arg;
    hs_portal_req r = share_req("held", 1, RW, VA_A, 8);
    hs_portal_t p = 0;
    EXPECT_ST(hs_portal(&r, &p), HS_OK);
    hs_tid_t t;
    EXPECT_ST(hs_thread_create(holder, NULL, NULL, &t), HS_OK);
    EXPECT_ST(hs_thread_join(t, HS_NEVER, NULL), HS_OK);
    EXPECT_ST(hs_sp_lock(VA_A), HS_OK);
    EXPECT_ST(hs_sp_unlock(VA_A), HS_OK);
    EXPECT_ST(hs_portal_destroy(p), HS_OK);
    return 0;
}

static void test_portal_share_lock_of_an_ended_thread_is_taken_over(void **s)
{
    (void)s;
    run_root("takeover", takeover_main, NULL);
}

/* A server still alive when the run ends: its share-point, its portals and
 * a device region all go with the run. */
static int lingering_server(void *arg)
{
    (void)arg;
    uint64_t pa;
    hs_portal_req r = share_req("kept", 1, RW, VA_A, 3 * PAGE);
    EXPECT_ST(hs_portal(&r, NULL), HS_OK);
    EXPECT_ST(hs_mem_device_create(2 * PAGE, &pa), HS_OK);
    r = req_of(HS_PORTAL_DIRECT, RW, VA_B, 2 * PAGE);
    r.morphology.paddr = pa;
    EXPECT_ST(hs_portal(&r, NULL), HS_OK);
    EXPECT_ST(hs_mem_check(), HS_OK);
    return hs_proc_serve();
}

static void test_portal_run_end_frees_what_live_processes_hold(void **state)
{
    (void)state;
    run_root("server", lingering_server, &privileged);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        TU_TEST(test_portal_anon_maps_fresh_zeroed_memory),
        TU_TEST(test_portal_cow_view_copies_on_first_write),
        TU_TEST(test_portal_direct_maps_a_device_the_host_plays),
        TU_TEST(test_portal_direct_and_special_need_a_core_server),
        TU_TEST(test_portal_invalid_requests_change_nothing),
        TU_TEST(test_portal_special_resolved_by_a_two_server_chain),
        TU_TEST(test_portal_special_without_a_server_kills_the_thread),
        TU_TEST(test_portal_share_three_processes_count_exactly),
        TU_TEST(test_portal_share_without_the_lock_loses_updates),
        TU_TEST(test_portal_share_wrappers_check_bounds_and_protection),
        TU_TEST(test_portal_share_lives_until_its_last_attachment),
        TU_TEST(test_portal_share_cow_attachment_is_private),
        TU_TEST(test_portal_share_over_a_device_region),
        TU_TEST(test_portal_process_end_frees_its_portals),
        TU_TEST(test_portal_share_lock_of_an_ended_thread_is_taken_over),
        TU_TEST(test_portal_run_end_frees_what_live_processes_hold),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
