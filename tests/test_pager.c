/*
 * tests/test_pager.c - the pager of the gallery (examples/pager/): zero
 * pages at the first touch; a page written, evicted and read back; more
 * pages than frames, round after round, never more than the frames
 * mapped; two clients with backing stores of their own; a page written
 * while it is evicted, over seeds; two threads
 * faulting on one page; a client killed while its fault is pending; an
 * attach whose answer was lost; faults the pager must refuse; detach,
 * and the protocol's errors.
 *
 * Every run has a root process "main" that spawns the pager and the
 * clients in processes of their own, on a pool checked at every kernel
 * exit and whole again at the end (tu_run_pool).  Simulated threads
 * record what they saw in the statics below; the tests assert after the
 * run.
 */
#include <stdint.h>

#include "examples/pager/pager.h"
#include "testutil.h"

#define POOL (16ull << 20)
#define REGION ((uint64_t)0x10000000)
#define PAGE HS_PAGE_4K
#define WAIT (10 * HS_MSEC)
#define NCLIENTS 3
#define NREC 16

static struct pager_cfg cfg;            /* the pager of the next run */
static struct pager_stats stats;
static hs_status serve_status;          /* pager_serve()'s, if it ends */

static hs_pid_t pid_of[NCLIENTS];       /* the clients, once spawned */
static hs_status st_of[NCLIENTS][NREC]; /* statuses each client saw */
static uint64_t word_of[NCLIENTS][NREC];/* words each client read */
static int wrong;                       /* reads that were not the last
                                           write */
static unsigned mapped_max;             /* most region pages mapped in all
                                           clients at once, as counted
                                           after each access (exact in
                                           unseeded runs, where nothing
                                           runs between the counts) */
static hs_pid_t pager_pid;
static uint64_t refs_max;               /* most references to one of the
                                           pager's frames: 2 when one
                                           client page maps it */
static int exit_of[NCLIENTS];           /* the clients' exit statuses */

static void reset(unsigned pages, unsigned frames, unsigned clients)
{
    memset(&cfg, 0, sizeof cfg);
    cfg.region = REGION;
    cfg.pages = pages;
    cfg.frames = frames;
    cfg.clients = clients;
    memset(&stats, 0xee, sizeof stats);
    serve_status = HS_STATUS_COUNT;
    for (int i = 0; i < NCLIENTS; i++) {
        pid_of[i] = 0;
        exit_of[i] = -1000;
        for (int j = 0; j < NREC; j++) {
            st_of[i][j] = HS_STATUS_COUNT;
            word_of[i][j] = 0xbad;
        }
    }
    wrong = 0;
    mapped_max = 0;
    pager_pid = 0;
    refs_max = 0;
}

static uint64_t page_va(unsigned p)
{
    return REGION + (uint64_t)p * PAGE;
}

/* Region pages mapped now in every client spawned so far. */
static unsigned mapped_count(void)
{
    unsigned n = 0;
    for (int i = 0; i < NCLIENTS; i++)
        for (unsigned p = 0; pid_of[i] && p < cfg.pages; p++) {
            hs_mem_info info;
            n += hs_mem_query(pid_of[i], page_va(p), &info) == HS_OK;
        }
    return n;
}

/* Note the region pages mapped now, and the references to each of the
 * pager's frames (each one query, so exact whatever runs between). */
static void mapped_note(void)
{
    unsigned n = mapped_count();
    if (n > mapped_max)
        mapped_max = n;
    for (unsigned i = 0; pager_pid && i < cfg.frames; i++) {
        hs_mem_info info;
        if (hs_mem_query(pager_pid, PAGER_FRAMES_VA + i * PAGE, &info) ==
                HS_OK && info.refs > refs_max)
            refs_max = info.refs;
    }
}

static hs_status put(unsigned p, unsigned off, uint64_t w)
{
    hs_status st = hs_mem_write(page_va(p) + off, &w, sizeof w);
    mapped_note();
    return st;
}

/* Read the word at page p + off, which must be want. */
static hs_status check(unsigned p, unsigned off, uint64_t want)
{
    uint64_t w = ~want;
    hs_status st = hs_mem_read(page_va(p) + off, &w, sizeof w);
    mapped_note();
    wrong += w != want;
    return st;
}

static int pager_main(void *arg)
{
    (void)arg;
    serve_status = pager_serve("pager", &cfg, &stats);
    hs_proc_exit(1);
}

static hs_port_t pager_port(void)
{
    hs_port_t port = 0;
    EXPECT_ST(hs_port_lookup("pager", WAIT, &port), HS_OK);
    return port;
}

/* Spawn client id running entry; pid_of[id] is known before it runs. */
static void client_spawn(int id, hs_entry_fn entry)
{
    char name[HS_NAME_MAX + 1];
    snprintf(name, sizeof name, "client%d", id);
    EXPECT_ST(hs_proc_spawn(name, entry, tu_id_arg(id), NULL, &pid_of[id]),
              HS_OK);
}

static void client_wait(int id)
{
    EXPECT_ST(hs_proc_wait(pid_of[id], HS_NEVER, &exit_of[id]), HS_OK);
}

/* Spawn the pager and n clients running entry, then wait for the
 * clients. */
static int main_clients(hs_entry_fn entry, int n)
{
    EXPECT_ST(hs_proc_spawn("pager", pager_main, NULL, NULL, &pager_pid),
              HS_OK);
    for (int i = 0; i < n; i++)
        client_spawn(i, entry);
    for (int i = 0; i < n; i++)
        client_wait(i);
    return 0;
}

static hs_entry_fn run_entry;
static int run_n;

static int main_entry(void *arg)
{
    (void)arg;
    return main_clients(run_entry, run_n);
}

/* Run the pager and n clients running entry. */
static void run(hs_entry_fn entry, int n)
{
    run_entry = entry;
    run_n = n;
    tu_run_pool(POOL, "main", main_entry, NULL, NULL);
}

/* ---- the first touch */

/* One frame: page 0 written all over, then page 3 touched for the first
 * time, in the same frame. */
static int first_touch(void *arg)
{
    int id = tu_arg_id(arg);
    hs_port_t port = pager_port();
    st_of[id][0] = pager_attach(port, WAIT);
    for (unsigned off = 0; off < PAGE; off += 8)
        EXPECT_ST(put(0, off, ~(uint64_t)0), HS_OK);
    st_of[id][1] = hs_mem_read(page_va(3) + 100, &word_of[id][0],
                               sizeof word_of[id][0]);
    hs_mem_info info;
    st_of[id][2] = hs_mem_query(0, page_va(3), &info);
    word_of[id][1] = info.flags;
    st_of[id][3] = hs_mem_query(0, page_va(0), &info);
    st_of[id][4] = pager_detach(port, WAIT);
    st_of[id][5] = hs_mem_query(0, page_va(3), &info);
    return 0;
}

static void test_pager_first_touch_reads_zero(void **state)
{
    (void)state;
    reset(4, 1, 1);
    run(first_touch, 1);
    assert_int_equal(st_of[0][0], HS_OK);
    assert_int_equal(st_of[0][1], HS_OK);
    assert_int_equal(word_of[0][0], 0);
    assert_int_equal(st_of[0][2], HS_OK);           /* the page came in */
    assert_true(word_of[0][1] & HS_MEM_SHARED);     /* the pager's frame */
    assert_int_equal(st_of[0][3], HS_ENOMAP);       /* page 0 went out */
    assert_int_equal(st_of[0][4], HS_OK);
    assert_int_equal(st_of[0][5], HS_ENOMAP);       /* taken back */
    assert_int_equal(mapped_max, 1);
    assert_int_equal(refs_max, 2);
    assert_int_equal(stats.faults, 2);
    assert_int_equal(stats.zero_fills, 2);
    assert_int_equal(stats.evictions, 1);
    assert_int_equal(stats.resident, 0);
    assert_int_equal(stats.resident_max, 1);
    assert_int_equal(stats.attached, 0);
    assert_int_equal(serve_status, HS_STATUS_COUNT);    /* served on */
}

/* ---- a look-alike fault */

/* Attached, the client hops in with a message made to look like a
 * fault's (naming a fault handle and its own page 0), then detaches
 * without touching anything. */
static int forged_fault(void *arg)
{
    int id = tu_arg_id(arg);
    hs_port_t port = pager_port();
    st_of[id][0] = pager_attach(port, WAIT);
    hs_utcb_t *u = hs_utcb();
    u->mr[0] = HS_PF_LABEL;
    u->mr[1] = 0x100000001ull;
    u->mr[2] = page_va(0);
    u->mr[3] = HS_PROT_READ;
    u->tag = HS_TAG(HS_PF_LABEL, 8);
    st_of[id][1] = hs_hop_async(port, NULL);
    EXPECT_ST(hs_thread_sleep(WAIT), HS_OK);
    st_of[id][2] = pager_detach(port, WAIT);
    return 0;
}

/* Only the kernel's fault hops are faults (hs_hop_fault()): the
 * look-alike is not taken, no frame is filled, nothing is answered. */
static void test_pager_ignores_a_look_alike_fault(void **state)
{
    (void)state;
    reset(4, 1, 1);
    run(forged_fault, 1);
    assert_int_equal(st_of[0][0], HS_OK);
    assert_int_equal(st_of[0][1], HS_OK);
    assert_int_equal(st_of[0][2], HS_OK);
    assert_int_equal(stats.faults, 0);
    assert_int_equal(stats.stale, 0);
    assert_int_equal(stats.resident_max, 0);
}

/* ---- write, evict, read back */

static int evict_and_back(void *arg)
{
    int id = tu_arg_id(arg);
    hs_port_t port = pager_port();
    st_of[id][0] = pager_attach(port, WAIT);
    st_of[id][1] = put(0, 16, 0x1111);
    st_of[id][2] = put(1, 16, 0x2222);          /* evicts page 0 */
    hs_mem_info info;
    st_of[id][3] = hs_mem_query(0, page_va(0), &info);
    st_of[id][4] = check(0, 16, 0x1111);        /* evicts page 1 */
    st_of[id][5] = check(1, 16, 0x2222);
    st_of[id][6] = check(1, 24, 0);             /* untouched bytes */
    st_of[id][7] = pager_detach(port, WAIT);
    return 0;
}

static void test_pager_write_evict_read_back(void **state)
{
    (void)state;
    reset(2, 1, 1);
    run(evict_and_back, 1);
    for (int i = 0; i < 8; i++)
        if (i != 3)
            assert_int_equal(st_of[0][i], HS_OK);
    assert_int_equal(st_of[0][3], HS_ENOMAP);   /* evicted: unmapped */
    assert_int_equal(wrong, 0);
    assert_int_equal(mapped_max, 1);
    assert_int_equal(stats.faults, 4);
    assert_int_equal(stats.zero_fills, 2);
    assert_int_equal(stats.swap_ins, 2);
    assert_int_equal(stats.evictions, 3);
    assert_int_equal(stats.resident_max, 1);
}

/* ---- more pages than frames, in a loop */

#define LOOP_PAGES 16
#define LOOP_FRAMES 3
#define LOOP_ROUNDS 5

static uint64_t loop_word(int id, int r, unsigned p)
{
    return (uint64_t)(id + 1) << 40 | (uint64_t)r << 20 | p;
}

static int loop_client(void *arg)
{
    int id = tu_arg_id(arg);
    hs_port_t port = pager_port();
    st_of[id][0] = pager_attach(port, WAIT);
    hs_status st = HS_OK;
    for (int r = 0; r < LOOP_ROUNDS; r++) {
        for (unsigned p = 0; p < cfg.pages && st == HS_OK; p++)
            st = put(p, 8 * (unsigned)id, loop_word(id, r, p));
        /* Backwards too, so that some pages are still in. */
        for (unsigned p = cfg.pages; p-- > 0 && st == HS_OK;)
            st = check(p, 8 * (unsigned)id, loop_word(id, r, p));
    }
    st_of[id][1] = st;
    st_of[id][2] = pager_detach(port, WAIT);
    return 0;
}

static void test_pager_more_pages_than_frames_in_a_loop(void **state)
{
    (void)state;
    reset(LOOP_PAGES, LOOP_FRAMES, 1);
    run(loop_client, 1);
    assert_int_equal(st_of[0][0], HS_OK);
    assert_int_equal(st_of[0][1], HS_OK);
    assert_int_equal(st_of[0][2], HS_OK);
    assert_int_equal(wrong, 0);
    assert_int_equal(mapped_max, LOOP_FRAMES);
    assert_int_equal(refs_max, 2);
    assert_int_equal(stats.resident_max, LOOP_FRAMES);
    /* Every pass faults on every page but the three it finds still in
     * from the pass before, which went the other way; the first finds
     * none. */
    assert_int_equal(stats.faults,
                     LOOP_PAGES + (2 * LOOP_ROUNDS - 1) *
                                      (LOOP_PAGES - LOOP_FRAMES));
    assert_int_equal(stats.zero_fills, LOOP_PAGES);
    assert_int_equal(stats.swap_ins, stats.faults - LOOP_PAGES);
    assert_int_equal(stats.evictions, stats.faults - LOOP_FRAMES);
    assert_int_equal(stats.resident, 0);
    assert_int_equal(stats.refused + stats.stale + stats.remaps, 0);
}

/* ---- two clients, one pager, a backing store each */

static void test_pager_two_clients_have_separate_backing(void **state)
{
    (void)state;
    reset(6, 4, 2);
    cfg.io_time = 100;          /* the clients' faults interleave */
    run(loop_client, 2);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(st_of[i][0], HS_OK);
        assert_int_equal(st_of[i][1], HS_OK);
        assert_int_equal(st_of[i][2], HS_OK);
    }
    assert_int_equal(wrong, 0);
    assert_true(mapped_max <= 4);
    assert_int_equal(refs_max, 2);
    assert_int_equal(stats.resident_max, 4);
    assert_true(stats.evictions > 0);
    assert_int_equal(stats.zero_fills, 12);     /* each its own pages */
    assert_int_equal(stats.resident, 0);
    assert_int_equal(stats.attached, 0);
}

/* Both clients write the same address: each reads back its own. */
static int same_address(void *arg)
{
    int id = tu_arg_id(arg);
    hs_port_t port = pager_port();
    st_of[id][0] = pager_attach(port, WAIT);
    for (unsigned r = 0; r < 4; r++) {
        st_of[id][1] = put(r % 3, 0, 100 * (uint64_t)id + r);
        EXPECT_ST(hs_thread_yield(), HS_OK);
        st_of[id][2] = check(r % 3, 0, 100 * (uint64_t)id + r);
    }
    st_of[id][3] = pager_detach(port, WAIT);
    return 0;
}

static void test_pager_clients_writing_one_address_see_their_own(
    void **state)
{
    (void)state;
    reset(3, 2, 2);
    run(same_address, 2);
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 4; j++)
            assert_int_equal(st_of[i][j], HS_OK);
    assert_int_equal(wrong, 0);
    assert_true(mapped_max <= 2);
    assert_int_equal(refs_max, 2);
    assert_true(stats.evictions > 0);
}

/* ---- a page written while it is evicted */

#define SCRIBBLES 40

static uint64_t scribbled;              /* the scribbler's last write */
static int scribble_seeds_wrong;        /* seeds whose last read was not it */

/* Writes 1, 2, ... into page 0, one every 37 ns, while the client's
 * main thread pages through the others, which evicts page 0 again and
 * again (a page-out takes 100 ns); before each
 * write it reads back the one before, so that a write lost in an
 * eviction is seen (a write read back at once could be read before it
 * was lost). */
static int scribbler(void *arg)
{
    (void)arg;
    for (uint64_t i = 1; i <= SCRIBBLES; i++) {
        if (check(0, 0, i - 1) != HS_OK || put(0, 0, i) != HS_OK)
            return 1;
        scribbled = i;
        EXPECT_ST(hs_thread_sleep(37), HS_OK);  /* across page-outs */
    }
    return 0;
}

static int scribbled_client(void *arg)
{
    int id = tu_arg_id(arg);
    hs_port_t port = pager_port();
    st_of[id][0] = pager_attach(port, WAIT);
    hs_tid_t t = tu_mk(scribbler, NULL, 0);
    hs_status st = HS_OK;
    for (unsigned r = 0; st == HS_OK && r < 8; r++)
        for (unsigned p = 1; st == HS_OK && p < cfg.pages; p++)
            st = put(p, 8, r);
    st_of[id][1] = st;
    tu_join(t);
    st_of[id][2] = check(0, 0, scribbled);
    st_of[id][3] = pager_detach(port, WAIT);
    return 0;
}

/* Over seeds, the scribbler runs between any two kernel calls of the
 * pager's, and during its page-outs: an eviction that saved the page
 * before it took it back would lose a write made in between. */
static void test_pager_page_written_while_it_is_evicted(void **state)
{
    (void)state;
    scribble_seeds_wrong = 0;
    for (uint64_t seed = 1; seed <= 60; seed++) {
        reset(4, 2, 1);
        cfg.io_time = 100;      /* the scribbler runs during page-outs */
        scribbled = 0;
        run_entry = scribbled_client;
        run_n = 1;
        hs_sim_config c = tu_config();
        c.mem_size = POOL;
        c.seed = seed;
        tu_run_one(&c, "main", main_entry, NULL, NULL);
        assert_int_equal(hs_mem_check(), HS_OK);
        for (int j = 0; j < 4; j++)
            assert_int_equal(st_of[0][j], HS_OK);
        assert_int_equal(scribbled, SCRIBBLES);
        assert_true(stats.evictions > 0);
        assert_int_equal(refs_max, 2);
        scribble_seeds_wrong += wrong != 0;
    }
    assert_int_equal(scribble_seeds_wrong, 0);
}

/* ---- two threads of one client fault on one page */

static int toucher(void *arg)
{
    int slot = tu_arg_id(arg);
    st_of[0][slot] = hs_mem_read(page_va(1) + 8 * (unsigned)slot,
                                 &word_of[0][slot], 8);
    return 0;
}

static int two_threads(void *arg)
{
    int id = tu_arg_id(arg);
    hs_port_t port = pager_port();
    st_of[id][0] = pager_attach(port, WAIT);
    hs_tid_t a = tu_mk(toucher, tu_id_arg(1), 0);
    hs_tid_t b = tu_mk(toucher, tu_id_arg(2), 0);
    tu_join(a);
    tu_join(b);
    st_of[id][3] = pager_detach(port, WAIT);
    return 0;
}

static void test_pager_two_threads_faulting_on_one_page(void **state)
{
    (void)state;
    reset(4, 2, 1);
    cfg.io_time = 1000;     /* the second fault comes during the page-in */
    run(two_threads, 1);
    for (int j = 0; j < 4; j++)
        assert_int_equal(st_of[0][j], HS_OK);
    assert_int_equal(word_of[0][1], 0);
    assert_int_equal(word_of[0][2], 0);
    assert_int_equal(stats.faults, 2);
    assert_int_equal(stats.zero_fills, 1);      /* one frame for both */
    assert_int_equal(stats.resident_max, 1);
    assert_int_equal(stats.refused, 0);
}

/* ---- a client killed while its fault is pending */

static hs_time_t died_at;
static unsigned resident_after_death;

static int fault_forever(void *arg)
{
    (void)arg;
    uint64_t w = 0;
    st_of[0][2] = hs_mem_read(page_va(0), &w, sizeof w);   /* never */
    return 0;
}

static int dies_mid_fault(void *arg)
{
    int id = tu_arg_id(arg);
    hs_port_t port = pager_port();
    st_of[id][0] = pager_attach(port, WAIT);
    (void)tu_mk(fault_forever, NULL, 0);
    EXPECT_ST(hs_thread_sleep(100), HS_OK);   /* the fault is in the pager */
    died_at = hs_time_now();
    hs_proc_exit(7);
}

/* A second client afterwards: the pager took the slot back. */
static int after_the_death(void *arg)
{
    int id = tu_arg_id(arg);
    hs_port_t port = pager_port();
    st_of[id][0] = pager_attach(port, WAIT);
    st_of[id][1] = check(0, 0, 0);
    st_of[id][2] = put(1, 0, 5);
    st_of[id][3] = check(0, 0, 0);
    st_of[id][4] = pager_detach(port, WAIT);
    return 0;
}

static int death_main(void *arg)
{
    (void)arg;
    EXPECT_ST(hs_proc_spawn("pager", pager_main, NULL, NULL, &pager_pid),
              HS_OK);
    client_spawn(0, dies_mid_fault);
    client_wait(0);
    tu_sleep_until(2 * cfg.io_time);    /* the pager has answered */
    resident_after_death = stats.resident;
    client_spawn(1, after_the_death);
    client_wait(1);
    return 0;
}

static void test_pager_client_killed_while_its_fault_is_pending(
    void **state)
{
    (void)state;
    reset(2, 1, 1);
    cfg.io_time = 1000;
    died_at = 0;
    resident_after_death = 99;
    tu_run_pool(POOL, "main", death_main, NULL, NULL);
    assert_int_equal(st_of[0][0], HS_OK);
    assert_int_equal(st_of[0][2], HS_STATUS_COUNT);
    assert_int_equal(exit_of[0], 7);
    assert_int_equal(died_at, 100);
    assert_int_equal(resident_after_death, 0);  /* its frame is free */
    for (int j = 0; j < 5; j++)
        assert_int_equal(st_of[1][j], HS_OK);
    assert_int_equal(wrong, 0);
    assert_int_equal(stats.stale, 1);           /* the dead one's */
    assert_int_equal(stats.faults, 1 + 3);
    assert_int_equal(stats.resident_max, 1);
    assert_int_equal(stats.resident, 0);
    assert_int_equal(stats.attached, 0);
}

/* ---- an attach whose answer is lost */

/* The seed's reply-timeout fault takes the first reply of the run, the
 * pager's answer to the first attach: the client sees HS_ETIMEOUT and is
 * not attached, so the pager must not count it. */
static int lost_answer(void *arg)
{
    int id = tu_arg_id(arg);
    hs_port_t port = pager_port();
    st_of[id][0] = pager_attach(port, WAIT);
    st_of[id][1] = pager_detach(port, WAIT);    /* not a client */
    st_of[id][2] = pager_attach(port, WAIT);    /* its slot is free */
    st_of[id][3] = check(2, 0, 0);
    st_of[id][4] = pager_detach(port, WAIT);
    return 0;
}

static void test_pager_attach_whose_answer_is_lost_is_undone(void **state)
{
    (void)state;
    reset(4, 2, 1);
    run_entry = lost_answer;
    run_n = 1;
    hs_sim_config c = tu_config();
    c.mem_size = POOL;
    c.mem_check = 1;
    c.seed = 1;
    c.faults = HS_FAULT_REPLY_TIMEOUT;
    c.fault_window = 1;
    tu_run_one(&c, "main", main_entry, NULL, NULL);
    assert_int_equal(hs_mem_check(), HS_OK);
    hs_sim_summary sum = tu_summary();
    assert_int_equal(sum.nfaults, 1);
    assert_true(sum.faults[0].fired);
    assert_int_equal(st_of[0][0], HS_ETIMEOUT);
    assert_int_equal(st_of[0][1], HS_ENOENT);
    assert_int_equal(st_of[0][2], HS_OK);
    assert_int_equal(st_of[0][3], HS_OK);
    assert_int_equal(st_of[0][4], HS_OK);
    assert_int_equal(wrong, 0);
    assert_int_equal(stats.attached, 0);
}

/* ---- faults the pager refuses */

static hs_status forged_status;

/* Touch va; the thread is expected to be killed. */
static int touch_dies(void *arg)
{
    uint64_t va = (uint64_t)(uintptr_t)arg, w = 1;
    (void)hs_mem_write(va, &w, sizeof w);
    return 99;                  /* never: a refused fault kills */
}

static int joined_value(hs_entry_fn entry, uint64_t va)
{
    int v = -1;
    EXPECT_ST(hs_thread_join(tu_mk(entry, (void *)(uintptr_t)va, 0),
                             HS_NEVER, &v), HS_OK);
    return v;
}

/* Not attached, but the pager's port set by hand. */
static int stranger(void *arg)
{
    int id = tu_arg_id(arg);
    hs_port_t port = pager_port();
    EXPECT_ST(hs_mem_pager_set(port), HS_OK);
    word_of[id][0] = (uint64_t)joined_value(touch_dies, page_va(0));
    /* A fault message forged by hand: another process named, a handle
     * that names no fault. */
    hs_utcb_t *u = hs_utcb();
    u->mr[0] = HS_PF_LABEL;
    u->mr[1] = 0x12345678;
    u->mr[2] = page_va(0);
    u->mr[3] = HS_PROT_READ;
    u->mr[4] = pid_of[0];
    u->mr[6] = 0;
    forged_status = hs_hop_async(port, NULL);
    /* The protocol's errors. */
    st_of[id][0] = pager_detach(port, WAIT);            /* not a client */
    u->mr[0] = 99;
    EXPECT_ST(hs_hop(port, HS_HOP_CHECKPOINT, HS_NEVER), HS_OK);
    st_of[id][1] = (hs_status)u->mr[0];                 /* unknown op */
    st_of[id][2] = pager_attach(port, WAIT);            /* one too many */
    return 0;
}

static int misbehaving(void *arg)
{
    int id = tu_arg_id(arg);
    hs_port_t port = pager_port();
    st_of[id][0] = pager_attach(port, WAIT);
    st_of[id][1] = pager_attach(port, WAIT);            /* twice */
    /* Outside the region. */
    word_of[id][0] = (uint64_t)joined_value(touch_dies, page_va(cfg.pages));
    /* A page made read-only by the client, then written. */
    st_of[id][2] = put(1, 0, 3);
    st_of[id][3] = hs_mem_protect(page_va(1), PAGE, HS_PROT_READ);
    word_of[id][1] = (uint64_t)joined_value(touch_dies, page_va(1));
    st_of[id][4] = check(1, 0, 3);                      /* still there */
    /* Let the stranger try while this one is attached. */
    client_spawn(1, stranger);
    client_wait(1);
    st_of[id][5] = pager_detach(port, WAIT);
    st_of[id][6] = pager_detach(port, WAIT);            /* not anymore */
    return 0;
}

static void test_pager_refuses_bad_faults(void **state)
{
    (void)state;
    reset(4, 2, 1);
    forged_status = HS_STATUS_COUNT;
    run(misbehaving, 1);
    assert_int_equal(st_of[0][0], HS_OK);
    assert_int_equal(st_of[0][1], HS_EEXIST);
    assert_int_equal(word_of[0][0], HS_EFAULT);
    assert_int_equal(st_of[0][2], HS_OK);
    assert_int_equal(st_of[0][3], HS_OK);
    assert_int_equal(word_of[0][1], HS_EFAULT);
    assert_int_equal(st_of[0][4], HS_OK);
    assert_int_equal(st_of[0][5], HS_OK);
    assert_int_equal(st_of[0][6], HS_ENOENT);
    assert_int_equal(word_of[1][0], HS_EFAULT);         /* the stranger */
    assert_int_equal(forged_status, HS_OK);             /* delivered */
    assert_int_equal(st_of[1][0], HS_ENOENT);
    assert_int_equal(st_of[1][1], HS_EINVAL);
    assert_int_equal(st_of[1][2], HS_ELIMIT);
    assert_int_equal(wrong, 0);
    /* Refused: outside, read-only, the stranger's; the forged message
     * is no fault's hop (hs_hop_fault()), so it is not taken at all. */
    assert_int_equal(stats.refused, 3);
    assert_int_equal(stats.stale, 0);
    assert_int_equal(stats.zero_fills, 1);
    const char *r = hs_sim_report();
    assert_non_null(strstr(r, "the pager refused the fault"));
}

/* ---- a configuration out of range */

static hs_status bad_cfg_status[6];

static int bad_cfg_main(void *arg)
{
    (void)arg;
    struct pager_cfg good = { .region = REGION, .pages = 4, .frames = 2,
                              .clients = 1 };
    struct pager_cfg c[6];
    for (int i = 0; i < 6; i++)
        c[i] = good;
    c[0].pages = 0;
    c[1].frames = PAGER_FRAMES_MAX + 1;
    c[2].clients = 0;
    c[3].region = REGION + 1;
    c[4].region = HS_VA_LIMIT - PAGE;
    for (int i = 0; i < 5; i++)
        bad_cfg_status[i] = pager_serve("pager", &c[i], NULL);
    bad_cfg_status[5] = pager_serve("pager", NULL, NULL);
    hs_port_t port = 0;
    EXPECT_ST(hs_port_lookup("pager", HS_NOWAIT, &port), HS_ETIMEOUT);
    return 0;
}

static void test_pager_refuses_a_bad_configuration(void **state)
{
    (void)state;
    reset(1, 1, 1);
    tu_run_pool(POOL, "main", bad_cfg_main, NULL, NULL);
    for (int i = 0; i < 6; i++)
        assert_int_equal(bad_cfg_status[i], HS_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        TU_TEST(test_pager_first_touch_reads_zero),
        TU_TEST(test_pager_write_evict_read_back),
        TU_TEST(test_pager_more_pages_than_frames_in_a_loop),
        TU_TEST(test_pager_two_clients_have_separate_backing),
        TU_TEST(test_pager_clients_writing_one_address_see_their_own),
        TU_TEST(test_pager_page_written_while_it_is_evicted),
        TU_TEST(test_pager_two_threads_faulting_on_one_page),
        TU_TEST(test_pager_client_killed_while_its_fault_is_pending),
        TU_TEST(test_pager_attach_whose_answer_is_lost_is_undone),
        TU_TEST(test_pager_refuses_bad_faults),
        TU_TEST(test_pager_ignores_a_look_alike_fault),
        TU_TEST(test_pager_refuses_a_bad_configuration),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
