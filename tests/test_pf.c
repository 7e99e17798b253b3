/*
 * tests/test_pf.c - reaching simulated memory, page faults and running
 * out of memory: reads and writes across pages, pointers into the pool,
 * probes; unhandled faults killing the faulting thread with a recorded
 * reason; the page-fault notification; pagers resolving a fault by
 * sharing or copying a page, refusing it, passing it on, or ending before
 * they answer; a closed port refused as a pager; the memory-exhaustion
 * notification for the pool and the quota, with and without a handler;
 * the seeded frame-allocation fault; bad input to every call.  Then
 * corners where a call used to change state and then fail or count
 * wrong: a copy-on-write write on a pool without a 1G block, one that
 * finds no frame for its copy, a pager's answer with unknown protection
 * bits, and the amount HS_NOTIFY_EXHAUSTED names for a portal.
 *
 * Simulated threads record what they saw in the statics below (and check
 * statuses with EXPECT_ST); the test asserts after hs_sim_run().  Every
 * run ends with hs_mem_check() == HS_OK and the pool whole again; the
 * runs of run_with() also check the whole memory state at each kernel
 * exit (cfg.mem_check).
 */
#include "testutil.h"

#define NREC 16
#define BAD 0xbadull

#define VA      0x10000000ull   /* where clients map their memory */
#define PAGER_VA 0x20000000ull  /* where pagers keep pages to give */
#define HOLE    0x30000000ull   /* never mapped by the client itself */

#define K4 HS_PAGE_4K
#define M2 HS_PAGE_2M
#define RW (HS_PROT_READ | HS_PROT_WRITE)

static uint64_t word[NREC];
static hs_status status[NREC];
static int value[NREC];
static char text[NREC][32];
static uint64_t mr_seen[HS_MR_COUNT];
static hs_pagefault_t fault_seen;
static hs_pid_t client_pid;
static hs_tid_t client_tid;
static int resolve_mode;        /* what the pager does, per test */
static int try_closed_pager;    /* the client first offers a closed port */
static hs_status rec[NREC];     /* statuses seen in run_with()'s runs */
static hs_mem_info qinfo[NREC]; /* query(): the mapping seen, */
static hs_status qrec[NREC];    /* and the status of the query */

enum { PAGER_SHARE, PAGER_COPY, PAGER_REFUSE, PAGER_PASS, PAGER_BAD_INPUT,
       PAGER_EXIT, PAGER_HOLD };

static void reset(void)
{
    for (int i = 0; i < NREC; i++) {
        word[i] = BAD;
        status[i] = HS_STATUS_COUNT;
        value[i] = -1;
        memset(text[i], 0, sizeof text[i]);
        rec[i] = HS_STATUS_COUNT;
        qrec[i] = HS_STATUS_COUNT;
        memset(&qinfo[i], 0xee, sizeof qinfo[i]);
    }
    memset(mr_seen, 0, sizeof mr_seen);
    fault_seen = 0;
    client_pid = 0;
    client_tid = 0;
    try_closed_pager = 0;
}

static hs_sim_config mem_config(void)
{
    hs_sim_config cfg = tu_config();
    cfg.mem_size = 64ull << 20;
    return cfg;
}

static void start(void)
{
    hs_sim_config cfg = mem_config();
    reset();
    tu_status_reset();
    assert_int_equal(hs_sim_start(&cfg), HS_OK);
}

/* After every run: the memory state is consistent and every frame is
 * free again. */
static void assert_memory_whole(void)
{
    assert_int_equal(hs_mem_check(), HS_OK);
    hs_mem_stats s;
    assert_int_equal(hs_mem_stats_get(&s), HS_OK);
    assert_int_equal(s.free, s.pool);
}

/* Reset the records, run entry as the root process "main" with
 * mem_config(): must end HS_OK, the memory whole after. */
static void run_main(hs_entry_fn entry)
{
    hs_sim_config cfg = mem_config();
    reset();
    tu_run_one(&cfg, "main", entry, NULL, NULL);
    assert_memory_whole();
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
    qrec[i] = hs_mem_query(pid, va, &qinfo[i]);
}

static int joined(hs_tid_t t)
{
    int v = -1;
    EXPECT_ST(hs_thread_join(t, HS_NEVER, &v), HS_OK);
    return v;
}

/* ---- access without faults */

static int rw_main(void *arg)
{
    (void)arg;
    EXPECT_ST(hs_mem_map(VA, 2 * HS_PAGE_4K, HS_PROT_READ | HS_PROT_WRITE, 0),
              HS_OK);
    char in[100], out[100];
    for (int i = 0; i < 100; i++)
        in[i] = (char)(i * 7 + 1);
    /* 50 bytes on each side of the page boundary. */
    uint64_t at = VA + HS_PAGE_4K - 50;
    EXPECT_ST(hs_mem_write(at, in, sizeof in), HS_OK);
    EXPECT_ST(hs_mem_read(at, out, sizeof out), HS_OK);
    value[0] = memcmp(in, out, sizeof in);
    /* Fresh memory reads as zero. */
    uint64_t z = BAD;
    EXPECT_ST(hs_mem_read(VA, &z, sizeof z), HS_OK);
    word[0] = z;
    /* A pointer into the pool sees what the accessors wrote. */
    void *p = NULL;
    EXPECT_ST(hs_mem_ptr(at + 50, 8, HS_PROT_READ, &p), HS_OK);
    value[1] = p ? memcmp(p, in + 50, 8) : -1;
    /* and what is written through it, the accessors see. */
    EXPECT_ST(hs_mem_ptr(VA + 8, 8, HS_PROT_WRITE, &p), HS_OK);
    if (p)
        memcpy(p, "pointer", 8);
    EXPECT_ST(hs_mem_read(VA + 8, text[0], 8), HS_OK);
    /* Within one 2M page, a pointer may span 4K boundaries. */
    EXPECT_ST(hs_mem_map(VA + HS_PAGE_2M, HS_PAGE_2M, HS_PROT_READ,
                         HS_PAGE_2M), HS_OK);
    EXPECT_ST(hs_mem_ptr(VA + HS_PAGE_2M + 100, 3 * HS_PAGE_4K, HS_PROT_READ,
                         &p), HS_OK);
    /* Probes. */
    status[0] = hs_mem_probe(VA, 2 * HS_PAGE_4K, HS_PROT_WRITE);
    status[1] = hs_mem_probe(VA + HS_PAGE_2M, 16, HS_PROT_WRITE);
    status[2] = hs_mem_probe(VA + HS_PAGE_4K, 2 * HS_PAGE_4K, HS_PROT_READ);
    status[3] = hs_mem_probe(VA + HS_PAGE_2M, 16, HS_PROT_READ);
    return 0;
}

static void test_read_write_ptr_and_probe(void **state)
{
    (void)state;
    run_main(rw_main);
    assert_int_equal(value[0], 0);
    assert_int_equal(word[0], 0);
    assert_int_equal(value[1], 0);
    assert_string_equal(text[0], "pointer");
    assert_int_equal(status[0], HS_OK);
    assert_int_equal(status[1], HS_EFAULT);    /* read-only */
    assert_int_equal(status[2], HS_EFAULT);    /* runs into a hole */
    assert_int_equal(status[3], HS_OK);
}

static int bad_input_main(void *arg)
{
    (void)arg;
    char b[8];
    void *p;
    EXPECT_ST(hs_mem_map(VA, HS_PAGE_4K, HS_PROT_READ | HS_PROT_WRITE, 0),
              HS_OK);
    EXPECT_ST(hs_mem_read(VA, NULL, 8), HS_EINVAL);
    EXPECT_ST(hs_mem_read(VA, b, 0), HS_EINVAL);
    EXPECT_ST(hs_mem_write(VA, NULL, 8), HS_EINVAL);
    EXPECT_ST(hs_mem_read(HS_VA_LIMIT, b, 1), HS_ERANGE);
    EXPECT_ST(hs_mem_write(HS_VA_LIMIT - 4, b, 8), HS_ERANGE);
    EXPECT_ST(hs_mem_read(~0ull - 2, b, 8), HS_ERANGE);
    EXPECT_ST(hs_mem_ptr(VA, 8, HS_PROT_READ, NULL), HS_EINVAL);
    EXPECT_ST(hs_mem_ptr(VA, 0, HS_PROT_READ, &p), HS_EINVAL);
    EXPECT_ST(hs_mem_ptr(VA, 8, 0, &p), HS_EINVAL);
    EXPECT_ST(hs_mem_ptr(VA, 8, HS_PROT_EXEC, &p), HS_EINVAL);
    EXPECT_ST(hs_mem_ptr(VA, 8, 0x10, &p), HS_EINVAL);
    EXPECT_ST(hs_mem_ptr(HS_VA_LIMIT - 4, 8, HS_PROT_READ, &p), HS_ERANGE);
    EXPECT_ST(hs_mem_probe(VA, 0, HS_PROT_READ), HS_EINVAL);
    EXPECT_ST(hs_mem_probe(VA, 8, 0), HS_EINVAL);
    EXPECT_ST(hs_mem_probe(HS_VA_LIMIT, 8, HS_PROT_READ), HS_ERANGE);
    EXPECT_ST(hs_mem_pager_set(0xdead0000beefull), HS_ENOPORT);
    EXPECT_ST(hs_mem_fault_resolve(0, HS_PF_NOPAGE, HS_XFER_SHARE,
                                   HS_PROT_READ), HS_ESTALE);
    EXPECT_ST(hs_mem_fault_resolve(0x12345678ull, HS_PF_NOPAGE, HS_XFER_SHARE,
                                   HS_PROT_READ), HS_ESTALE);
    EXPECT_ST(hs_mem_fault_pass(0x12345678ull, 1), HS_ESTALE);
    /* The page is as it was: mapped, zero. */
    uint64_t z = BAD;
    EXPECT_ST(hs_mem_read(VA, &z, sizeof z), HS_OK);
    word[0] = z;
    return 0;
}

static void test_accessor_bad_input_is_refused(void **state)
{
    (void)state;
    run_main(bad_input_main);
    assert_int_equal(word[0], 0);
}

static void test_calls_outside_a_simulated_thread_are_estate(void **state)
{
    (void)state;
    char b[8];
    void *p;
    start();
    assert_int_equal(hs_mem_read(VA, b, 8), HS_ESTATE);
    assert_int_equal(hs_mem_write(VA, b, 8), HS_ESTATE);
    assert_int_equal(hs_mem_ptr(VA, 8, HS_PROT_READ, &p), HS_ESTATE);
    assert_int_equal(hs_mem_probe(VA, 8, HS_PROT_READ), HS_ESTATE);
    assert_int_equal(hs_mem_pager_set(0), HS_ESTATE);
    assert_int_equal(hs_mem_fault_resolve(1, HS_PF_NOPAGE, HS_XFER_SHARE,
                                          HS_PROT_READ), HS_ESTATE);
    assert_int_equal(hs_mem_fault_pass(1, 1), HS_ESTATE);
    assert_int_equal(hs_sim_run(), HS_OK);
}

/* ---- unhandled faults */

static int read_hole(void *arg)
{
    (void)arg;
    uint64_t w = BAD;
    hs_mem_read(HOLE + 8, &w, sizeof w);
    word[1] = w;                /* never reached */
    return 1;
}

static int write_readonly(void *arg)
{
    (void)arg;
    uint64_t w = 42;
    EXPECT_ST(hs_mem_read(VA, &w, sizeof w), HS_OK);
    value[2] = (int)w;          /* 0: the read went through */
    w = 42;
    hs_mem_write(VA + 16, &w, sizeof w);
    value[3] = 1;               /* never reached */
    return 1;
}

static int unhandled_main(void *arg)
{
    (void)arg;
    EXPECT_ST(hs_mem_map(VA, HS_PAGE_4K, HS_PROT_READ, 0), HS_OK);
    value[0] = joined(tu_mk(read_hole, NULL, 0));
    value[1] = joined(tu_mk(write_readonly, NULL, 0));
    /* The process goes on. */
    value[4] = 7;
    return 0;
}

static void test_unhandled_faults_kill_the_thread_with_a_reason(void **state)
{
    (void)state;
    run_main(unhandled_main);
    assert_int_equal(value[0], HS_EFAULT);
    assert_int_equal(value[1], HS_EFAULT);
    assert_int_equal(word[1], BAD);
    assert_int_equal(value[2], 0);
    assert_int_equal(value[3], -1);
    assert_int_equal(value[4], 7);
    const char *r = hs_sim_report();
    assert_non_null(strstr(r, "at 0x30000008 (read): nothing mapped, and no handler"));
    assert_non_null(strstr(r, "at 0x10000010 (write): protection, and no handler"));
}

/* ---- pagers */

static const char pager_data[] = "from the pager";

/* The pager's port handler: one fault per hop. */
static void pager_handler(hs_hop_t *hop, void *cookie)
{
    (void)cookie;
    for (unsigned i = 0; i < 8; i++)
        word[8 + i] = hs_mr(hop, i);
    hs_pagefault_t pf = hs_mr(hop, 1);
    fault_seen = pf;
    uint64_t page = PAGER_VA;
    EXPECT_ST(hs_mem_map(page, HS_PAGE_4K, HS_PROT_READ | HS_PROT_WRITE, 0),
              HS_OK);
    EXPECT_ST(hs_mem_write(page, pager_data, sizeof pager_data), HS_OK);
    switch (resolve_mode) {
    case PAGER_SHARE:
        status[4] = hs_mem_fault_resolve(pf, page, HS_XFER_SHARE,
                                         HS_PROT_READ | HS_PROT_WRITE);
        break;
    case PAGER_COPY:
        status[4] = hs_mem_fault_resolve(pf, page, HS_XFER_COPY,
                                         HS_PROT_READ | HS_PROT_WRITE);
        break;
    case PAGER_REFUSE:
        status[4] = hs_mem_fault_resolve(pf, HS_PF_NOPAGE, HS_XFER_SHARE, 0);
        break;
    case PAGER_BAD_INPUT:
        EXPECT_ST(hs_mem_protect(page, HS_PAGE_4K, HS_PROT_READ), HS_OK);
        EXPECT_ST(hs_mem_fault_resolve(pf, page, 0, HS_PROT_READ), HS_EINVAL);
        EXPECT_ST(hs_mem_fault_resolve(pf, page, HS_XFER_MOVE, HS_PROT_READ),
                  HS_EINVAL);
        EXPECT_ST(hs_mem_fault_resolve(pf, page + 1, HS_XFER_SHARE,
                                       HS_PROT_READ), HS_EINVAL);
        EXPECT_ST(hs_mem_fault_resolve(pf, page, HS_XFER_SHARE, 0x10),
                  HS_EINVAL);
        EXPECT_ST(hs_mem_fault_resolve(pf, page + HS_PAGE_4K, HS_XFER_SHARE,
                                       HS_PROT_READ), HS_ENOMAP);
        EXPECT_ST(hs_mem_fault_resolve(pf, page, HS_XFER_SHARE,
                                       HS_PROT_READ | HS_PROT_WRITE),
                  HS_EPERM);
        EXPECT_ST(hs_mem_fault_resolve(pf + 1, page, HS_XFER_SHARE,
                                       HS_PROT_READ), HS_ESTALE);
        /* Still open after all that: the right answer works once. */
        status[4] = hs_mem_fault_resolve(pf, page, HS_XFER_SHARE,
                                         HS_PROT_READ);
        status[5] = hs_mem_fault_resolve(pf, page, HS_XFER_SHARE,
                                         HS_PROT_READ);
        break;
    case PAGER_EXIT:
        hs_proc_exit(3);
    case PAGER_HOLD:
        break;                  /* another process answers */
    default:
        break;
    }
    /* The pager's own page is still its own. */
    EXPECT_ST(hs_mem_read(page, text[2], sizeof pager_data), HS_OK);
}

static hs_port_t foreign_port;      /* the pager's, given to nobody */

static int pager_main(void *arg)
{
    (void)arg;
    hs_port_t port;
    EXPECT_ST(hs_port_create(&foreign_port), HS_OK);
    EXPECT_ST(hs_port_set_handler(foreign_port, pager_handler, NULL), HS_OK);
    EXPECT_ST(hs_port_create_named("pager", &port), HS_OK);
    EXPECT_ST(hs_port_set_handler(port, pager_handler, NULL), HS_OK);
    hs_proc_serve();
    return 0;
}

/* The client: fills its message registers, then touches an unmapped page
 * that its pager provides. */
static int client_main(void *arg)
{
    (void)arg;
    hs_port_t pager;
    EXPECT_ST(hs_port_lookup("pager", HS_NEVER, &pager), HS_OK);
    EXPECT_ST(hs_mem_pager_set(pager), HS_OK);
    if (try_closed_pager) {
        hs_port_t closed = 0;
        EXPECT_ST(hs_port_create(&closed), HS_OK);
        EXPECT_ST(hs_port_destroy(closed), HS_OK);
        status[6] = hs_mem_pager_set(closed);   /* refused, pager kept */
        /* Another process's anonymous port, never given: refused. */
        status[7] = hs_mem_pager_set(foreign_port);
    }
    client_pid = hs_proc_self();
    client_tid = hs_thread_self();
    hs_utcb_t *u = hs_utcb();
    for (unsigned i = 0; i < HS_MR_COUNT; i++)
        u->mr[i] = 0x1000 + i;
    u->tag = 0x5a5a;
    status[0] = hs_mem_read(HOLE + 4, text[0], 12);
    for (unsigned i = 0; i < HS_MR_COUNT; i++)
        mr_seen[i] = u->mr[i];
    word[0] = u->tag;
    hs_mem_info info;
    EXPECT_ST(hs_mem_query(0, HOLE, &info), HS_OK);
    word[1] = info.flags;
    word[2] = info.refs;
    return 0;
}

/* Run the pager (doing mode) and the client, which with closed_first
 * offers a closed port as its pager before it faults. */
static void run_pager_client(int mode, int closed_first, hs_status want_run)
{
    resolve_mode = mode;
    start();
    try_closed_pager = closed_first;
    assert_int_equal(hs_proc_spawn("pager", pager_main, NULL, NULL, NULL),
                     HS_OK);
    assert_int_equal(hs_proc_spawn("client", client_main, NULL, NULL, NULL),
                     HS_OK);
    hs_status st = hs_sim_run();
    if (st != want_run)
        print_message("%s", hs_sim_report());
    assert_int_equal(st, want_run);
    assert_no_bad_status();
    assert_memory_whole();
}

static void run_pager(int mode, hs_status want_run)
{
    run_pager_client(mode, 0, want_run);
}

static void assert_mr_untouched(void)
{
    for (unsigned i = 0; i < HS_MR_COUNT; i++)
        assert_int_equal(mr_seen[i], 0x1000 + i);
    assert_int_equal(word[0], 0x5a5a);
}

static void test_pager_shares_a_page_and_the_access_completes(void **state)
{
    (void)state;
    run_pager(PAGER_SHARE, HS_OK);
    assert_int_equal(status[0], HS_OK);
    assert_int_equal(status[4], HS_OK);
    assert_string_equal(text[0], pager_data + 4);
    /* What the pager was told. */
    assert_int_equal(word[8], HS_PF_LABEL);
    assert_int_equal(word[9], fault_seen);
    assert_int_equal(word[10], HOLE + 4);
    assert_int_equal(word[11], HS_PROT_READ);
    assert_int_equal(word[12], client_pid);
    assert_int_equal(word[13], client_tid);
    assert_int_equal(word[14], 0);
    assert_mr_untouched();
    /* One frame, two references at 4K. */
    assert_true(word[1] & HS_MEM_SHARED);
    assert_int_equal(word[2], 2);
}

/* ---- which hops are faults */

static hs_pagefault_t fault_of_hop[4];  /* hs_hop_fault() of each hop */
static uint64_t fault_in_message[4];    /* and what its mr[1] said */
static int hops_seen;

/* A pager that answers only the faults the kernel delivered. */
static void marking_pager(hs_hop_t *hop, void *cookie)
{
    (void)cookie;
    int i = hops_seen++;
    if (i >= 4)
        return;
    fault_of_hop[i] = hs_hop_fault(hop);
    fault_in_message[i] = hs_mr(hop, 1);
    if (!fault_of_hop[i])
        return;
    EXPECT_ST(hs_mem_map(PAGER_VA, HS_PAGE_4K, RW, 0), HS_OK);
    status[4] = hs_mem_fault_resolve(fault_of_hop[i], PAGER_VA,
                                     HS_XFER_COPY, RW);
    EXPECT_ST(hs_mem_unmap(PAGER_VA, HS_PAGE_4K), HS_OK);
}

static int marking_pager_main(void *arg)
{
    (void)arg;
    hs_port_t port;
    EXPECT_ST(hs_port_create_named_handler("mpager", marking_pager, NULL,
                                           &port), HS_OK);
    hs_proc_serve();
    return 0;
}

/* Hops into its pager with a message made to look like a fault's, then
 * faults for real. */
static int forging_client(void *arg)
{
    (void)arg;
    hs_port_t pager;
    EXPECT_ST(hs_port_lookup("mpager", HS_NEVER, &pager), HS_OK);
    EXPECT_ST(hs_mem_pager_set(pager), HS_OK);
    hs_utcb_t *u = hs_utcb();
    u->mr[0] = HS_PF_LABEL;
    u->mr[1] = 0x100000001ull;      /* the first fault's handle, guessed */
    u->tag = HS_TAG(HS_PF_LABEL, 8);
    EXPECT_ST(hs_hop_async(pager, NULL), HS_OK);
    EXPECT_ST(hs_thread_sleep(HS_MSEC), HS_OK);
    status[0] = hs_mem_read(HOLE, text[0], 4);
    return 0;
}

/* Only the kernel's hop names a fault: a client's look-alike message
 * gives 0, so a pager taking the fault from hs_hop_fault() cannot be
 * made to answer another process's fault. */
static void test_hop_fault_names_only_the_kernels_fault_hops(void **state)
{
    (void)state;
    hops_seen = 0;
    memset(fault_of_hop, 0, sizeof fault_of_hop);
    start();
    assert_int_equal(hs_proc_spawn("pager", marking_pager_main, NULL, NULL,
                                   NULL), HS_OK);
    assert_int_equal(hs_proc_spawn("client", forging_client, NULL, NULL,
                                   NULL), HS_OK);
    assert_int_equal(hs_sim_run(), HS_OK);
    assert_no_bad_status();
    assert_memory_whole();
    assert_int_equal(hops_seen, 2);
    assert_int_equal(fault_in_message[0], 0x100000001ull);
    assert_int_equal(fault_of_hop[0], 0);           /* the look-alike */
    assert_true(fault_of_hop[1] != 0);              /* the real fault */
    assert_int_equal(fault_of_hop[1], fault_in_message[1]);
    assert_int_equal(status[4], HS_OK);
    assert_int_equal(status[0], HS_OK);
}

static void test_pager_copy_gives_a_private_page(void **state)
{
    (void)state;
    run_pager(PAGER_COPY, HS_OK);
    assert_int_equal(status[0], HS_OK);
    assert_string_equal(text[0], pager_data + 4);
    assert_mr_untouched();
    assert_false(word[1] & HS_MEM_SHARED);
    assert_int_equal(word[2], 1);
    assert_string_equal(text[2], pager_data);
}

static void test_pager_refusal_kills_the_faulting_thread(void **state)
{
    (void)state;
    run_pager(PAGER_REFUSE, HS_OK);
    assert_int_equal(status[4], HS_OK);
    assert_int_equal(status[0], HS_STATUS_COUNT);   /* never returned */
    assert_non_null(strstr(hs_sim_report(), "refused"));
}

static void test_a_closed_port_is_refused_as_pager(void **state)
{
    (void)state;
    run_pager_client(PAGER_SHARE, 1, HS_OK);
    assert_int_equal(status[6], HS_ECLOSED);
    assert_int_equal(status[7], HS_EPERM);
    /* The pager set before still gets the fault. */
    assert_int_equal(status[0], HS_OK);
    assert_int_equal(status[4], HS_OK);
    assert_string_equal(text[0], pager_data + 4);
    assert_mr_untouched();
}

static void test_resolve_bad_input_changes_nothing(void **state)
{
    (void)state;
    run_pager(PAGER_BAD_INPUT, HS_OK);
    assert_int_equal(status[4], HS_OK);
    assert_int_equal(status[5], HS_ESTALE);     /* resolved already */
    assert_int_equal(status[0], HS_OK);
    assert_string_equal(text[0], pager_data + 4);
    assert_mr_untouched();
}

static void test_a_pager_that_ends_kills_the_faulting_thread(void **state)
{
    (void)state;
    run_pager(PAGER_EXIT, HS_OK);
    assert_int_equal(status[0], HS_STATUS_COUNT);
    assert_non_null(strstr(hs_sim_report(), "the pager ended"));
}

/* ---- a chain: the first server passes the fault on */

static hs_status pass_status, foreign_status, late_status;

static void second_handler(hs_hop_t *hop, void *cookie)
{
    (void)cookie;
    hs_pagefault_t pf = hs_mr(hop, 1);
    word[3] = hs_mr(hop, 2);
    EXPECT_ST(hs_mem_map(PAGER_VA, HS_PAGE_4K, HS_PROT_READ | HS_PROT_WRITE,
                         0), HS_OK);
    EXPECT_ST(hs_mem_write(PAGER_VA, "second", 7), HS_OK);
    EXPECT_ST(hs_mem_fault_resolve(pf, PAGER_VA, HS_XFER_COPY, HS_PROT_READ),
              HS_OK);
}

static void first_handler(hs_hop_t *hop, void *cookie)
{
    (void)cookie;
    hs_pagefault_t pf = hs_mr(hop, 1);
    fault_seen = pf;
    hs_port_t next;
    EXPECT_ST(hs_port_lookup("second", HS_NEVER, &next), HS_OK);
    while (foreign_status == HS_STATUS_COUNT)   /* the bystander tried */
        hs_thread_yield();
    EXPECT_ST(hs_mem_fault_pass(pf, 0xdead0000beefull), HS_ENOPORT);
    pass_status = hs_mem_fault_pass(pf, next);
    /* Passed on: no longer ours. */
    late_status = hs_mem_fault_resolve(pf, HS_PF_NOPAGE, HS_XFER_SHARE,
                                       HS_PROT_READ);
}

static int chain_server(void *arg)
{
    const char *name = arg;
    hs_port_t port;
    EXPECT_ST(hs_port_create_named(name, &port), HS_OK);
    EXPECT_ST(hs_port_set_handler(port, strcmp(name, "pager") == 0
                                            ? first_handler : second_handler,
                                  NULL), HS_OK);
    hs_proc_serve();
    return 0;
}

/* A bystander tries to resolve the fault it learned of. */
static int bystander(void *arg)
{
    (void)arg;
    while (!fault_seen)
        hs_thread_yield();
    foreign_status = hs_mem_fault_resolve(fault_seen, HS_PF_NOPAGE,
                                          HS_XFER_SHARE, HS_PROT_READ);
    return 0;
}

static void test_a_fault_passed_along_a_chain(void **state)
{
    (void)state;
    start();
    pass_status = foreign_status = late_status = HS_STATUS_COUNT;
    assert_int_equal(hs_proc_spawn("pager", chain_server, "pager", NULL,
                                   NULL), HS_OK);
    assert_int_equal(hs_proc_spawn("second", chain_server, "second", NULL,
                                   NULL), HS_OK);
    assert_int_equal(hs_proc_spawn("client", client_main, NULL, NULL, NULL),
                     HS_OK);
    assert_int_equal(hs_proc_spawn("bystander", bystander, NULL, NULL, NULL),
                     HS_OK);
    hs_status st = hs_sim_run();
    if (st != HS_OK)
        print_message("%s", hs_sim_report());
    assert_int_equal(st, HS_OK);
    assert_no_bad_status();
    assert_memory_whole();
    assert_int_equal(pass_status, HS_OK);
    assert_int_equal(late_status, HS_EPERM);
    assert_int_equal(foreign_status, HS_EPERM);
    assert_int_equal(word[3], HOLE + 4);
    assert_int_equal(status[0], HS_OK);
    assert_string_equal(text[0], "nd");   /* "second" from offset 4 */
    assert_mr_untouched();
}

/* ---- the page-fault notification */

static hs_notification pf_note;
static int pf_notes;

/* Maps the faulting page and fills it; with cookie non-NULL, does
 * nothing (a handler that does not fix the fault). */
static void pf_handler(void *cookie, const hs_notification *n)
{
    pf_note = *n;
    pf_notes++;
    if (!cookie) {
        uint64_t page = n->words[0] & ~(HS_PAGE_4K - 1);
        EXPECT_ST(hs_mem_map(page, HS_PAGE_4K, HS_PROT_READ | HS_PROT_WRITE,
                             0), HS_OK);
        EXPECT_ST(hs_mem_write(page, "by the handler", 15), HS_OK);
    }
    hs_notify_return();
}

static int notified_main(void *arg)
{
    EXPECT_ST(hs_notify_install(0, HS_NOTIFY_PAGE_FAULT, pf_handler, arg),
              HS_OK);
    client_tid = hs_thread_self();
    hs_utcb_t *u = hs_utcb();
    for (unsigned i = 0; i < HS_MR_COUNT; i++)
        u->mr[i] = 0x1000 + i;
    u->tag = 0x5a5a;
    status[0] = hs_mem_read(HOLE + 3, text[0], 11);
    for (unsigned i = 0; i < HS_MR_COUNT; i++)
        mr_seen[i] = u->mr[i];
    word[0] = u->tag;
    return 0;
}

static void test_page_fault_handler_maps_and_the_access_completes(
    void **state)
{
    (void)state;
    pf_notes = 0;
    run_main(notified_main);
    assert_int_equal(status[0], HS_OK);
    assert_string_equal(text[0], "the handler");
    assert_int_equal(pf_notes, 1);
    assert_int_equal(pf_note.slot, HS_NOTIFY_PAGE_FAULT);
    assert_int_equal(pf_note.sender, 0);        /* the kernel */
    assert_int_equal(pf_note.n, 3);
    assert_int_equal(pf_note.words[0], HOLE + 3);
    assert_int_equal(pf_note.words[1], HS_PROT_READ);
    assert_int_equal(pf_note.words[2], client_tid);
    assert_mr_untouched();
}

static void test_a_handler_that_does_not_fix_the_fault_ends_in_a_kill(
    void **state)
{
    (void)state;
    pf_notes = 0;
    start();
    assert_int_equal(hs_proc_spawn("main", notified_main, (void *)1, NULL,
                                   NULL), HS_OK);
    assert_int_equal(hs_sim_run(), HS_OK);
    assert_no_bad_status();
    assert_memory_whole();
    assert_int_equal(pf_notes, 1);              /* once, not in a loop */
    assert_int_equal(status[0], HS_STATUS_COUNT);
    assert_non_null(strstr(hs_sim_report(),
                           "(read): the page-fault handler did not fix it"));
}

/* ---- memory exhaustion */

static hs_notification ex_note;
static int ex_notes;
static int ex_frees;            /* the handler unmaps this many 64K pieces */

#define EX_VA 0x40000000ull

static void ex_handler(void *cookie, const hs_notification *n)
{
    (void)cookie;
    ex_note = *n;
    ex_notes++;
    for (int i = 0; i < ex_frees; i++)
        EXPECT_ST(hs_mem_unmap(EX_VA + (uint64_t)i * 0x10000, 0x10000),
                  HS_OK);
    ex_frees = 0;
    hs_notify_return();
}

static hs_mem_stats ex_before, ex_after;

/* Fills the 4M pool, then asks for 64K more. */
static int pool_main(void *arg)
{
    if (arg)
        EXPECT_ST(hs_notify_install(0, HS_NOTIFY_EXHAUSTED, ex_handler, NULL),
                  HS_OK);
    EXPECT_ST(hs_mem_map(EX_VA, 4ull << 20, HS_PROT_READ, 0), HS_OK);
    EXPECT_ST(hs_mem_stats_get(&ex_before), HS_OK);
    status[0] = hs_mem_map(EX_VA + (8ull << 20), 0x10000, HS_PROT_READ, 0);
    EXPECT_ST(hs_mem_stats_get(&ex_after), HS_OK);
    return 0;
}

static void run_pool(int frees, int handler)
{
    hs_sim_config cfg = tu_config();
    cfg.mem_size = 4ull << 20;
    reset();
    ex_notes = 0;
    ex_frees = frees;
    memset(&ex_note, 0, sizeof ex_note);
    assert_int_equal(hs_sim_start(&cfg), HS_OK);
    assert_int_equal(hs_proc_spawn("main", pool_main,
                                   handler ? (void *)1 : NULL, NULL, NULL),
                     HS_OK);
    assert_int_equal(hs_sim_run(), HS_OK);
    assert_no_bad_status();
    assert_memory_whole();
}

static void test_out_of_frames_without_a_handler_is_enoframe(void **state)
{
    (void)state;
    run_pool(0, 0);
    assert_int_equal(status[0], HS_ENOFRAME);
    assert_int_equal(ex_notes, 0);
    assert_int_equal(ex_after.free, ex_before.free);
    assert_int_equal(ex_after.free, 0);
}

static void test_out_of_frames_handler_frees_and_the_map_succeeds(
    void **state)
{
    (void)state;
    run_pool(1, 1);
    assert_int_equal(status[0], HS_OK);
    assert_int_equal(ex_notes, 1);
    assert_int_equal(ex_note.slot, HS_NOTIFY_EXHAUSTED);
    assert_int_equal(ex_note.n, 4);
    assert_int_equal(ex_note.words[0], HS_MEM_POOL);
    assert_int_equal(ex_note.words[1], 0x10000);
    assert_int_equal(ex_note.words[2], 4ull << 20);     /* in use */
    assert_int_equal(ex_note.words[3], 4ull << 20);     /* the pool */
    assert_int_equal(ex_after.free, 0);     /* freed 64K, took 64K */
}

static void test_out_of_frames_handler_that_frees_nothing(void **state)
{
    (void)state;
    run_pool(0, 1);
    assert_int_equal(status[0], HS_ENOFRAME);
    assert_int_equal(ex_notes, 1);          /* once, then it stands */
    assert_int_equal(ex_after.free, 0);
}

static int quota_main(void *arg)
{
    (void)arg;
    EXPECT_ST(hs_notify_install(0, HS_NOTIFY_EXHAUSTED, ex_handler, NULL),
              HS_OK);
    EXPECT_ST(hs_mem_map(EX_VA, 0x20000, HS_PROT_READ, 0), HS_OK);
    status[0] = hs_mem_map(EX_VA + 0x100000, HS_PAGE_4K, HS_PROT_READ, 0);
    status[1] = hs_mem_map(EX_VA + 0x200000, 0x10000, HS_PROT_READ, 0);
    return 0;
}

static void test_over_the_mapped_quota_raises_exhaustion(void **state)
{
    (void)state;
    start();
    ex_notes = 0;
    ex_frees = 1;
    hs_quota q = hs_quota_unlimited();
    q.limit[HS_RES_MAPPED] = 0x20000;
    hs_proc_attr a = {.quota = &q};
    assert_int_equal(hs_proc_spawn("main", quota_main, NULL, &a, NULL),
                     HS_OK);
    assert_int_equal(hs_sim_run(), HS_OK);
    assert_no_bad_status();
    assert_memory_whole();
    assert_int_equal(status[0], HS_OK);     /* after the handler freed */
    assert_int_equal(status[1], HS_EQUOTA); /* frees nothing the 2nd time */
    assert_int_equal(ex_notes, 2);
    /* The second: 64K asked with 64K + 4K in use, of 128K. */
    assert_int_equal(ex_note.words[0], HS_RES_MAPPED);
    assert_int_equal(ex_note.words[1], 0x10000);
    assert_int_equal(ex_note.words[2], 0x10000 + HS_PAGE_4K);
    assert_int_equal(ex_note.words[3], 0x20000);
}

/* A portal asks for frames the same way. */
static int portal_pool_main(void *arg)
{
    (void)arg;
    EXPECT_ST(hs_notify_install(0, HS_NOTIFY_EXHAUSTED, ex_handler, NULL),
              HS_OK);
    EXPECT_ST(hs_mem_map(EX_VA, 4ull << 20, HS_PROT_READ, 0), HS_OK);
    hs_portal_req r;
    memset(&r, 0, sizeof r);
    r.type = HS_PORTAL_ANON;
    r.prot = HS_PROT_READ | HS_PROT_WRITE;
    r.length = 0x10000;
    r.morphology.addr = EX_VA + (8ull << 20);
    hs_portal_t po = 0;
    status[0] = hs_portal(&r, &po);
    r.morphology.addr += 0x10000;
    status[1] = hs_portal(&r, &po);     /* the handler frees nothing now */
    return 0;
}

static void test_a_portal_out_of_frames_raises_exhaustion(void **state)
{
    (void)state;
    hs_sim_config cfg = tu_config();
    cfg.mem_size = 4ull << 20;
    reset();
    ex_notes = 0;
    ex_frees = 1;
    assert_int_equal(hs_sim_start(&cfg), HS_OK);
    assert_int_equal(hs_proc_spawn("main", portal_pool_main, NULL, NULL,
                                   NULL), HS_OK);
    assert_int_equal(hs_sim_run(), HS_OK);
    assert_no_bad_status();
    assert_memory_whole();
    assert_int_equal(status[0], HS_OK);
    assert_int_equal(status[1], HS_ENOFRAME);
    assert_int_equal(ex_notes, 2);
    assert_int_equal(ex_note.words[0], HS_MEM_POOL);
    assert_int_equal(ex_note.words[1], 0x10000);
}

/* ---- the seeded frame-allocation fault */

static int frame_fault_main(void *arg)
{
    (void)arg;
    status[0] = hs_mem_map(VA, HS_PAGE_4K, HS_PROT_READ, 0);
    status[1] = hs_mem_map(VA, HS_PAGE_4K, HS_PROT_READ, 0);
    status[2] = hs_mem_map(VA + HS_PAGE_4K, HS_PAGE_4K, HS_PROT_READ, 0);
    return 0;
}

static void test_seeded_frame_fault_fails_one_allocation(void **state)
{
    (void)state;
    reset();
    tu_status_reset();
    hs_sim_config cfg = mem_config();
    cfg.seed = 5;
    cfg.faults = HS_FAULT_FRAME;
    cfg.fault_window = 1;           /* the first allocation */
    assert_int_equal(tu_run(&cfg, "main", frame_fault_main, NULL, NULL),
                     HS_OK);
    assert_memory_whole();
    assert_int_equal(status[0], HS_ENOFRAME);
    assert_int_equal(status[1], HS_OK);     /* nothing was left behind */
    assert_int_equal(status[2], HS_OK);
    hs_sim_summary s = tu_summary();
    assert_int_equal(s.nfaults, 1);
    assert_int_equal(s.faults[0].kind, HS_FAULT_FRAME);
    assert_int_equal(s.faults[0].at, 1);
    assert_true(s.faults[0].fired);
    assert_string_equal(s.faults[0].victim_name, "main");
    assert_string_equal(hs_fault_name(HS_FAULT_FRAME), "frame");
}

/* ---- copy-on-write on a pool smaller than 1G */

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
    assert_int_equal(qinfo[0].flags & HS_MEM_COW, 0);
    assert_int_equal(qinfo[0].refs, 1);
    assert_int_equal(rec[1], HS_OK);
    assert_int_equal(qrec[1], HS_OK);
    assert_int_equal(qinfo[1].flags & HS_MEM_COW, 0);
    assert_int_equal(qinfo[1].prot, RW);
}

/* ---- a copy-on-write write that finds no frame */

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
    assert_int_equal(qinfo[0].page, M2);
    assert_int_equal(qinfo[0].flags & HS_MEM_COW, HS_MEM_COW);
    assert_int_equal(rec[0], HS_ENOFRAME);
    assert_int_equal(qrec[1], HS_OK);
    assert_int_equal(qinfo[1].page, M2);                /* not split */
    assert_int_equal(qinfo[1].refs, 2);
    assert_int_equal(rec[1], HS_ENOFRAME);
    assert_int_equal(qrec[2], HS_OK);
    assert_int_equal(qinfo[2].page, M2);
    assert_int_equal(rec[2], HS_OK);
    assert_int_equal(qrec[3], HS_OK);
    assert_int_equal(qinfo[3].page, K4);
    assert_int_equal(qinfo[3].flags & HS_MEM_COW, 0);
    assert_int_equal(qinfo[3].prot, RW);
}

/* ---- a pager's answer with bad protection bits */

#define NOPAGE_HOLE ((uint64_t)0x50000000)

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
    hs_mem_read(NOPAGE_HOLE, &b, 1);
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
    int code = 0;
    EXPECT_ST(hs_proc_spawn("child", faulting_child, NULL, NULL, &child),
              HS_OK);
    EXPECT_ST(hs_proc_wait(child, HS_NEVER, &code), HS_OK);
    rec[0] = (hs_status)code;
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

/* ---- the amount HS_NOTIFY_EXHAUSTED names for a portal */

#define SP_AT   ((uint64_t)0x70000000)
#define SP_AT2  ((uint64_t)0x70100000)

static hs_notification sp_note;
static unsigned sp_notes;

static void sp_handler(void *cookie, const hs_notification *n)
{
    (void)cookie;
    sp_note = *n;
    sp_notes++;
    hs_notify_return();
}

/* The process may map one page, and a share-point of 100 bytes of data
 * takes one: attaching it again (length 0: ignored when attaching) is
 * over the quota by the page the attachment maps, which is what the
 * notification must name. */
static int sp_quota_main(void *arg)
{
    (void)arg;
    EXPECT_ST(hs_notify_install(0, HS_NOTIFY_EXHAUSTED, sp_handler, NULL),
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
    sp_notes = 0;
    memset(&sp_note, 0, sizeof sp_note);
    run_with(2 * M2, sp_quota_main, &a);
    assert_int_equal(rec[0], HS_EQUOTA);
    assert_int_equal(sp_notes, 1);
    assert_int_equal(sp_note.words[0], HS_RES_MAPPED);
    assert_int_equal(sp_note.words[1], K4);
    assert_int_equal(sp_note.words[2], K4);
    assert_int_equal(sp_note.words[3], K4);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        TU_TEST(test_read_write_ptr_and_probe),
        TU_TEST(test_accessor_bad_input_is_refused),
        TU_TEST(test_calls_outside_a_simulated_thread_are_estate),
        TU_TEST(test_unhandled_faults_kill_the_thread_with_a_reason),
        TU_TEST(test_pager_shares_a_page_and_the_access_completes),
        TU_TEST(test_pager_copy_gives_a_private_page),
        TU_TEST(test_hop_fault_names_only_the_kernels_fault_hops),
        TU_TEST(test_pager_refusal_kills_the_faulting_thread),
        TU_TEST(test_a_closed_port_is_refused_as_pager),
        TU_TEST(test_resolve_bad_input_changes_nothing),
        TU_TEST(test_a_pager_that_ends_kills_the_faulting_thread),
        TU_TEST(test_a_fault_passed_along_a_chain),
        TU_TEST(test_page_fault_handler_maps_and_the_access_completes),
        TU_TEST(test_a_handler_that_does_not_fix_the_fault_ends_in_a_kill),
        TU_TEST(test_out_of_frames_without_a_handler_is_enoframe),
        TU_TEST(test_out_of_frames_handler_frees_and_the_map_succeeds),
        TU_TEST(test_out_of_frames_handler_that_frees_nothing),
        TU_TEST(test_over_the_mapped_quota_raises_exhaustion),
        TU_TEST(test_a_portal_out_of_frames_raises_exhaustion),
        TU_TEST(test_seeded_frame_fault_fails_one_allocation),
        TU_TEST(test_review_cow_write_on_pool_below_1g),
        TU_TEST(test_review_cow_write_without_frame_leaves_large_page_whole),
        TU_TEST(test_review_fault_resolve_nopage_checks_prot),
        TU_TEST(test_review_portal_exhausted_names_the_bytes_mapped),
    };
    return cmocka_run_group_tests_name("pf", tests, NULL, NULL);
}
