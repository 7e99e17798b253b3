/*
 * tests/test_blk.c - the block driver of the gallery (examples/blk/):
 * what was written is read back; requests beyond the disk's slots queue
 * and are answered in the order the disk finishes them; requests for one
 * block keep their order; bad requests are refused with nothing changed;
 * a client that gives up or dies loses no slot; a disk that dies or
 * hangs makes requests fail instead of hang; what the registers say is
 * not trusted.
 *
 * The test's root process is a core server: it makes the device region,
 * runs the driver in a thread below its own priority, and spawns the disk
 * (a core server too).  Clients are its threads, with capabilities
 * labelled 1, 2, ..., or processes of their own.  Simulated threads only
 * record; the test asserts after the run.
 */
#include <stdint.h>

#include "examples/blk/blk.h"
#include "testutil.h"

#define NBLOCKS 16
#define VA ((uint64_t)0x40000000)
#define NCLIENTS 20
#define RL (10 * HS_USEC)               /* read latency */
#define WL (100 * HS_USEC)              /* write latency */
#define TMO HS_MSEC                     /* the driver's timeout */

static const hs_proc_attr privileged = { .privileged = 1 };

static struct blk_stats stats;
static struct blk_cfg dcfg;
static struct blk_disk_cfg kcfg;
static hs_status serve_st, disk_st[3];
static hs_cap_t gate, cap[NCLIENTS];
static uint64_t paddr;

static struct tu_log order;             /* client id at each answer */
static hs_status st_of[NCLIENTS][4];
static hs_time_t when_of[NCLIENTS][4];
static uint64_t buf_of[NCLIENTS][BLK_BLOCK_WORDS];
static int same_of[NCLIENTS];           /* a read matched what it should */
static uint64_t phase_of_1;             /* client 1's phase after giving up */

static void reset(void)
{
    tu_log_reset(&order);
    phase_of_1 = 0xbad;
    memset(&stats, 0, sizeof stats);
    serve_st = HS_STATUS_COUNT;
    for (int i = 0; i < 3; i++)
        disk_st[i] = HS_STATUS_COUNT;
    for (int i = 0; i < NCLIENTS; i++) {
        cap[i] = 0;
        same_of[i] = -1;
        for (int j = 0; j < 4; j++) {
            st_of[i][j] = HS_STATUS_COUNT;
            when_of[i][j] = HS_NEVER;
        }
    }
    memset(buf_of, 0xee, sizeof buf_of);
    dcfg = (struct blk_cfg){ .va = VA, .nblocks = NBLOCKS, .timeout = TMO };
    kcfg = (struct blk_disk_cfg){ .nblocks = NBLOCKS, .read_latency = RL,
                                  .write_latency = WL };
}

/* The block word by word: tag in the high half, index in the low. */
static void pattern(uint64_t *b, uint64_t tag)
{
    for (unsigned i = 0; i < BLK_BLOCK_WORDS; i++)
        b[i] = tag << 32 | i;
}

static int is_pattern(const uint64_t *b, uint64_t tag)
{
    uint64_t want[BLK_BLOCK_WORDS];
    pattern(want, tag);
    return memcmp(b, want, sizeof want) == 0;
}

static int is_zero(const uint64_t *b)
{
    for (unsigned i = 0; i < BLK_BLOCK_WORDS; i++)
        if (b[i])
            return 0;
    return 1;
}

static int driver(void *arg)
{
    (void)arg;
    serve_st = blk_serve(0, &dcfg, &stats);
    return 0;
}

static int disk(void *arg)
{
    int n = tu_arg_id(arg);
    disk_st[n] = blk_disk_serve(1, &kcfg);
    return 0;
}

/* Spawn disk number n (its status in disk_st[n]) with a capability of
 * the device label. */
static hs_pid_t disk_spawn(int n)
{
    hs_cap_t mine = 0;
    EXPECT_ST(hs_cap_derive(gate, HS_CAP_SEND | HS_CAP_GRANT,
                            BLK_DEVICE_LABEL, &mine), HS_OK);
    hs_proc_attr at = { .caps = &mine, .ncaps = 1, .privileged = 1 };
    hs_pid_t pid = 0;
    EXPECT_ST(hs_proc_spawn("disk", disk, tu_id_arg(n), &at, &pid), HS_OK);
    return pid;
}

/* The device region, the driver below the caller's priority, its gate,
 * a capability per client (label id + 1), and (if with_disk) the disk. */
static void start(int with_disk)
{
    EXPECT_ST(blk_region_create(NBLOCKS, &paddr), HS_OK);
    dcfg.paddr = kcfg.paddr = paddr;
    hs_thread_attr a = { .name = "blk", .priority = HS_PRIO_DEFAULT - 1,
                         .priority_set = 1 };
    hs_tid_t t = 0;
    EXPECT_ST(hs_thread_create(driver, NULL, &a, &t), HS_OK);
    EXPECT_ST(hs_gate_create(t, 0, &gate), HS_OK);
    for (int i = 0; i < NCLIENTS; i++)
        EXPECT_ST(hs_cap_derive(gate, HS_CAP_SEND | HS_CAP_GRANT,
                                (uint64_t)i + 1, &cap[i]), HS_OK);
    if (with_disk)
        (void)disk_spawn(0);
}

/* Run main in a privileged root process; it must end well. */
static void run(hs_entry_fn main_fn)
{
    tu_run_one(NULL, "main", main_fn, NULL, &privileged);
}

/* Client id writes (j = 0) or reads (j = 1) block, recording its status,
 * when it was answered, and its place in the order of answers. */
static void do_write(int id, int j, uint64_t block, uint64_t tag,
                     hs_time_t timeout)
{
    uint64_t b[BLK_BLOCK_WORDS];
    pattern(b, tag);
    st_of[id][j] = blk_write(cap[id], block, b, timeout);
    when_of[id][j] = hs_time_now();
    tu_log_add(&order, id);
}

static void do_read(int id, int j, uint64_t block, hs_time_t timeout)
{
    st_of[id][j] = blk_read(cap[id], block, buf_of[id], timeout);
    when_of[id][j] = hs_time_now();
    tu_log_add(&order, id);
}

/* ---- read what was written ---------------------------------------------- */

static int rw_main(void *arg)
{
    (void)arg;
    start(1);
    do_write(0, 0, 3, 33, HS_NEVER);
    do_read(0, 1, 3, HS_NEVER);
    same_of[0] = is_pattern(buf_of[0], 33);
    do_read(1, 0, NBLOCKS - 1, HS_NEVER);       /* never written */
    same_of[1] = is_zero(buf_of[1]);
    do_write(2, 0, 3, 34, HS_NEVER);            /* overwritten */
    do_read(2, 1, 3, HS_NEVER);
    same_of[2] = is_pattern(buf_of[2], 34);
    return 0;
}

static void test_blk_reads_what_was_written(void **state)
{
    (void)state;
    reset();
    run(rw_main);
    assert_int_equal(st_of[0][0], HS_OK);
    assert_int_equal(when_of[0][0], WL);        /* the disk's latency */
    assert_int_equal(st_of[0][1], HS_OK);
    assert_int_equal(when_of[0][1], WL + RL);
    assert_int_equal(same_of[0], 1);
    assert_int_equal(st_of[1][0], HS_OK);
    assert_int_equal(same_of[1], 1);
    assert_int_equal(st_of[2][0], HS_OK);
    assert_int_equal(st_of[2][1], HS_OK);
    assert_int_equal(same_of[2], 1);
    assert_int_equal(stats.attached, 1);
    assert_int_equal(stats.accepted, 5);
    assert_int_equal(stats.answered, 5);
    assert_int_equal(stats.completed, 5);
    assert_int_equal(stats.held, 0);
    assert_int_equal(stats.spurious, 0);
    assert_int_equal(serve_st, HS_STATUS_COUNT);    /* serving still */
}

/* ---- more requests than slots: answered as the disk finishes them ------- */

/* Client id asks at time id: even ones write block id (100 us), odd ones
 * read it (10 us). */
static int busy_client(void *arg)
{
    int id = tu_arg_id(arg);
    tu_sleep_until((hs_time_t)id);
    if (id % 2 == 0)
        do_write(id, 0, (uint64_t)id, (uint64_t)id, HS_NEVER);
    else
        do_read(id, 0, (uint64_t)id, HS_NEVER);
    return 0;
}

static int busy_main(void *arg)
{
    (void)arg;
    start(1);
    hs_tid_t t[6];
    for (int i = 0; i < 6; i++)
        t[i] = tu_mk(busy_client, tu_id_arg(i), 0);
    for (int i = 0; i < 6; i++)
        tu_join(t[i]);
    return 0;
}

/* Four slots: w0, r1, w2, r3 start at once, w4 and r5 wait in the queue
 * until r1 and r3 free their slots; the reads finish first. */
static void test_blk_queues_and_answers_in_completion_order(void **state)
{
    (void)state;
    reset();
    run(busy_main);
    static const int want[] = { 1, 3, 5, 0, 2, 4 };
    assert_log(&order, want, 6);
    static const hs_time_t at[] = {
        WL, 1 + RL, 2 + WL, 3 + RL, 1 + RL + WL, 3 + 2 * RL,
    };
    for (int i = 0; i < 6; i++) {
        assert_int_equal(st_of[i][0], HS_OK);
        assert_int_equal(when_of[i][0], at[i]);
    }
    assert_int_equal(stats.max_held, 6);
    assert_int_equal(stats.started, 6);
    assert_int_equal(stats.completed, 6);
}

/* ---- one block's requests keep their order ------------------------------ */

static int same_block_client(void *arg)
{
    int id = tu_arg_id(arg);
    tu_sleep_until((hs_time_t)id);
    if (id == 0)
        do_write(0, 0, 7, 70, HS_NEVER);
    else
        do_read(id, 0, id == 1 ? 7 : 8, HS_NEVER);
    return 0;
}

static int same_block_main(void *arg)
{
    (void)arg;
    start(1);
    hs_tid_t t[3];
    for (int i = 0; i < 3; i++)
        t[i] = tu_mk(same_block_client, tu_id_arg(i), 0);
    for (int i = 0; i < 3; i++)
        tu_join(t[i]);
    same_of[1] = is_pattern(buf_of[1], 70);
    return 0;
}

/* The read of block 7, asked after its write, waits for it (though a
 * read is faster) and sees what it wrote; block 8's read does not wait. */
static void test_blk_keeps_the_order_of_one_blocks_requests(void **state)
{
    (void)state;
    reset();
    run(same_block_main);
    static const int want[] = { 2, 0, 1 };
    assert_log(&order, want, 3);
    assert_int_equal(when_of[2][0], 2 + RL);
    assert_int_equal(when_of[0][0], WL);
    assert_int_equal(when_of[1][0], WL + RL);
    assert_int_equal(st_of[1][0], HS_OK);
    assert_int_equal(same_of[1], 1);
}

/* ---- bad requests -------------------------------------------------------- */

/* A raw call with tag; the driver's answer, or the IPC error. */
static hs_status raw_call(hs_cap_t c, uint64_t tag)
{
    hs_utcb_t *u = hs_utcb();
    u->tag = tag;
    hs_status st = hs_ipc_call(c, HS_NEVER, HS_NEVER);
    return st == HS_OK ? (hs_status)hs_tag_label(u->tag) : st;
}

static uint64_t caps_kept;

static int bad_main(void *arg)
{
    (void)arg;
    start(1);
    uint64_t b[BLK_BLOCK_WORDS];
    pattern(b, 5);
    EXPECT_ST(blk_write(cap[0], 0, b, HS_NEVER), HS_OK);
    hs_time_t t0 = hs_time_now();
    int i = 0;
    pattern(b, 6);
    st_of[0][i++] = blk_write(cap[0], NBLOCKS, b, HS_NEVER);
    st_of[0][i++] = blk_read(cap[0], (uint64_t)-1, b, HS_NEVER);
    st_of[0][i++] = blk_read(cap[0], 0, NULL, HS_NEVER);
    st_of[1][0] = raw_call(cap[1], HS_TAG(BLK_LABEL(9, 0), 0));
    st_of[1][1] = raw_call(cap[1], HS_TAG(BLK_LABEL(BLK_READ, 0), 3));
    st_of[1][2] = raw_call(cap[1], HS_TAG(BLK_LABEL(BLK_WRITE, 0), 10));
    /* A read carrying a capability, an attach from a client: the
     * capabilities they brought are not kept. */
    hs_account acc0, acc1;
    EXPECT_ST(hs_factory_account(hs_proc_self(), &acc0), HS_OK);
    hs_utcb_t *u = hs_utcb();
    u->mr[0] = HS_ITEM(HS_ITEM_CAP, HS_CAP_SEND);
    u->mr[1] = cap[2];
    st_of[1][3] = raw_call(cap[1], HS_TAG_ITEMS(BLK_LABEL(BLK_READ, 0), 0,
                                                1));
    u->mr[0] = HS_ITEM(HS_ITEM_CAP, HS_CAP_SEND);
    u->mr[1] = cap[2];
    st_of[2][0] = raw_call(cap[2], HS_TAG_ITEMS(BLK_ATTACH, 0, 1));
    EXPECT_ST(hs_factory_account(hs_proc_self(), &acc1), HS_OK);
    caps_kept = acc1.used[HS_RES_CAPS] - acc0.used[HS_RES_CAPS];
    when_of[0][0] = hs_time_now() - t0;         /* none waited */
    /* Nothing changed: block 0 holds the first write, the last block
     * nothing. */
    uint64_t r[BLK_BLOCK_WORDS];
    EXPECT_ST(blk_read(cap[0], 0, r, HS_NEVER), HS_OK);
    same_of[0] = is_pattern(r, 5);
    EXPECT_ST(blk_read(cap[0], NBLOCKS - 1, r, HS_NEVER), HS_OK);
    same_of[1] = is_zero(r);
    return 0;
}

static void test_blk_refuses_bad_requests_changing_nothing(void **state)
{
    (void)state;
    reset();
    run(bad_main);
    assert_int_equal(st_of[0][0], HS_ERANGE);   /* past the disk */
    assert_int_equal(st_of[0][1], HS_ERANGE);   /* past what a label holds */
    assert_int_equal(st_of[0][2], HS_EINVAL);   /* no buffer */
    assert_int_equal(st_of[1][0], HS_EINVAL);   /* no such operation */
    assert_int_equal(st_of[1][1], HS_EINVAL);   /* a read with words */
    assert_int_equal(st_of[1][2], HS_EINVAL);   /* a write of 10 words */
    assert_int_equal(st_of[1][3], HS_EINVAL);   /* an item */
    assert_int_equal(st_of[2][0], HS_EPERM);    /* not the disk */
    assert_int_equal(when_of[0][0], 0);
    assert_int_equal(caps_kept, 0);
    assert_int_equal(same_of[0], 1);
    assert_int_equal(same_of[1], 1);
    assert_int_equal(stats.refused, 6);
    assert_int_equal(stats.accepted, 3);        /* the good ones */
    assert_int_equal(stats.started, 3);
    assert_int_equal(stats.attached, 1);
}

/* ---- a full queue ---------------------------------------------------------- */

static int full_client(void *arg)
{
    int id = tu_arg_id(arg);
    tu_sleep_until((hs_time_t)id);
    do_read(id, 0, (uint64_t)id % NBLOCKS, HS_NEVER);
    return 0;
}

static int full_main(void *arg)
{
    (void)arg;
    start(1);
    hs_tid_t t[BLK_QUEUE_MAX + 1];
    for (int i = 0; i <= (int)BLK_QUEUE_MAX; i++)
        t[i] = tu_mk(full_client, tu_id_arg(i), 0);
    for (int i = 0; i <= (int)BLK_QUEUE_MAX; i++)
        tu_join(t[i]);
    return 0;
}

/* Seventeen reads at once: sixteen held, the last refused at once. */
static void test_blk_refuses_past_its_queue(void **state)
{
    (void)state;
    reset();
    run(full_main);
    for (int i = 0; i < (int)BLK_QUEUE_MAX; i++)
        assert_int_equal(st_of[i][0], HS_OK);
    assert_int_equal(st_of[BLK_QUEUE_MAX][0], HS_ELIMIT);
    assert_int_equal(when_of[BLK_QUEUE_MAX][0], BLK_QUEUE_MAX);
    assert_int_equal(order.v[0], BLK_QUEUE_MAX);
    assert_int_equal(stats.max_held, BLK_QUEUE_MAX);
    assert_int_equal(stats.refused, 1);
}

/* ---- clients that give up ---------------------------------------------------- */

static int victim_writer(void *arg)
{
    (void)arg;
    uint64_t b[BLK_BLOCK_WORDS];
    pattern(b, 22);
    st_of[0][0] = blk_write(1, 2, b, HS_NEVER);     /* never returns */
    return 0;
}

/* A client process whose write is in flight when it ends, at 50 us. */
static int victim(void *arg)
{
    (void)arg;
    hs_tid_t t = tu_mk(victim_writer, NULL, 0);
    (void)t;
    tu_sleep_until(50 * HS_USEC);
    hs_proc_exit(1);
    return 1;
}

static int slot_client(void *arg)
{
    int id = tu_arg_id(arg);
    do_read(id, 1, (uint64_t)id, HS_NEVER);
    return 0;
}

static int gave_up_main(void *arg)
{
    (void)arg;
    start(1);
    hs_cap_t mine = 0;
    EXPECT_ST(hs_cap_derive(gate, HS_CAP_SEND | HS_CAP_GRANT, 99, &mine),
              HS_OK);
    hs_proc_attr at = { .caps = &mine, .ncaps = 1 };
    hs_pid_t pid = 0;
    EXPECT_ST(hs_proc_spawn("victim", victim, NULL, &at, &pid), HS_OK);
    do_write(1, 0, 3, 33, 30 * HS_USEC);       /* gives up at 30 us */
    phase_of_1 = hs_utcb()->phase;
    EXPECT_ST(hs_proc_wait(pid, HS_NEVER, NULL), HS_OK);
    tu_sleep_until(200 * HS_USEC);              /* both writes are done */
    /* Both writes reached the disk, and every slot is free again. */
    do_read(2, 0, 2, HS_NEVER);
    same_of[2] = is_pattern(buf_of[2], 22);
    do_read(3, 0, 3, HS_NEVER);
    same_of[3] = is_pattern(buf_of[3], 33);
    hs_tid_t t[BLK_DEPTH];
    for (unsigned i = 0; i < BLK_DEPTH; i++)
        t[i] = tu_mk(slot_client, tu_id_arg(4 + (int)i), 0);
    for (unsigned i = 0; i < BLK_DEPTH; i++)
        tu_join(t[i]);
    when_of[0][3] = hs_time_now();
    return 0;
}

/* Client 1 times out at 30 us, the victim's process ends at 50 us, both
 * with a write in flight: the answers come back HS_ESTALE when the disk
 * finishes (at 100 us), the writes landed, and four reads at once find
 * all four slots free. */
static void test_blk_loses_no_slot_to_clients_that_gave_up(void **state)
{
    (void)state;
    reset();
    run(gave_up_main);
    assert_int_equal(st_of[1][0], HS_ETIMEOUT);
    assert_int_equal(phase_of_1, HS_PHASE_RECV);
    assert_int_equal(when_of[1][0], 30 * HS_USEC);
    assert_int_equal(st_of[0][0], HS_STATUS_COUNT);  /* died waiting */
    assert_int_equal(same_of[2], 1);
    assert_int_equal(same_of[3], 1);
    for (int i = 4; i < 4 + (int)BLK_DEPTH; i++)
        assert_int_equal(st_of[i][1], HS_OK);
    assert_int_equal(when_of[0][3], 200 * HS_USEC + 2 * RL + RL);
    assert_int_equal(stats.stale, 2);
    assert_int_equal(stats.answered, stats.accepted);
    assert_int_equal(stats.held, 0);
}

/* ---- a disk that dies ---------------------------------------------------------- */

static hs_pid_t disk_pid;
static int died_status;

static int dies_main(void *arg)
{
    (void)arg;
    kcfg.die_after = 1;
    start(0);
    disk_pid = disk_spawn(0);
    do_write(0, 0, 1, 11, HS_NEVER);            /* done at 100 us */
    tu_sleep_until(200 * HS_USEC);
    do_write(0, 1, 2, 12, HS_NEVER);            /* the disk dies at 300 */
    EXPECT_ST(hs_proc_wait(disk_pid, HS_NEVER, &died_status), HS_OK);
    do_read(1, 0, 1, HS_NEVER);                 /* no disk: waits, fails */
    kcfg.die_after = 0;
    (void)disk_spawn(1);                        /* a new disk */
    do_read(1, 1, 1, HS_NEVER);
    same_of[1] = is_pattern(buf_of[1], 11);     /* the medium stayed */
    hs_pid_t third = disk_spawn(2);             /* one is attached */
    EXPECT_ST(hs_proc_wait(third, HS_NEVER, NULL), HS_OK);
    return 0;
}

/* The write in flight when the disk died fails with HS_EPARTNER at its
 * deadline; a read with no disk times out; a new disk attaches and
 * finds the medium as it was; a third is refused. */
static void test_blk_fails_requests_of_a_disk_that_died(void **state)
{
    (void)state;
    reset();
    run(dies_main);
    assert_int_equal(st_of[0][0], HS_OK);
    assert_int_equal(st_of[0][1], HS_EPARTNER);
    assert_int_equal(when_of[0][1], 200 * HS_USEC + TMO);
    assert_int_equal(died_status, BLK_DISK_DIED);
    assert_int_equal(st_of[1][0], HS_ETIMEOUT);
    assert_int_equal(when_of[1][0], 200 * HS_USEC + 2 * TMO);
    assert_int_equal(st_of[1][1], HS_OK);
    assert_int_equal(same_of[1], 1);
    assert_int_equal(disk_st[2], HS_EEXIST);
    assert_int_equal(stats.attached, 2);
    assert_int_equal(stats.lost, 1);
    assert_int_equal(stats.timeouts, 1);
    assert_int_equal(stats.held, 0);
}

/* ---- a disk that hangs ----------------------------------------------------------- */

static int hangs_main(void *arg)
{
    (void)arg;
    kcfg.hang_after = 1;
    start(1);
    do_write(0, 0, 0, 1, HS_NEVER);             /* done at 100 us */
    do_write(0, 1, 0, 2, HS_NEVER);             /* never finished */
    do_read(0, 2, 0, HS_NEVER);                 /* behind it: never started */
    do_read(0, 3, 5, HS_NEVER);                 /* started, never finished */
    return 0;
}

/* Each request fails with HS_ETIMEOUT at its deadline instead of
 * hanging; a read of the block whose write may still land is not started
 * while that slot is the disk's. */
static void test_blk_times_out_requests_of_a_hung_disk(void **state)
{
    (void)state;
    reset();
    run(hangs_main);
    assert_int_equal(st_of[0][0], HS_OK);
    for (int j = 1; j < 4; j++) {
        assert_int_equal(st_of[0][j], HS_ETIMEOUT);
        assert_int_equal(when_of[0][j], WL + j * TMO);
    }
    assert_int_equal(stats.started, 3);
    assert_int_equal(stats.completed, 1);
    assert_int_equal(stats.timeouts, 3);
}

/* ---- what the registers say is not trusted --------------------------------------- */

static uint64_t fake_bits[8];
static unsigned nfake;

/* A disk that lies: on each doorbell it signals slots that are not in
 * flight, bits past the slots, a finished state with the wrong number,
 * then the right number with a status it has no name for. */
static int liar(void *arg)
{
    (void)arg;
    hs_cap_t bell = 0, irq = 0;
    void *p = NULL;
    EXPECT_ST(hs_mem_phys_ptr(paddr, BLK_WINDOW, &p), HS_OK);
    struct blk_slot_regs *regs = p;
    EXPECT_ST(hs_irq_create(&bell), HS_OK);
    hs_utcb_t *u = hs_utcb();
    u->tag = HS_TAG_ITEMS(BLK_ATTACH, 0, 1);
    u->mr[0] = HS_ITEM(HS_ITEM_CAP, HS_CAP_SEND);
    u->mr[1] = bell;
    u->br[HS_BR_CAPS] = 1;
    EXPECT_ST(hs_ipc_call(1, HS_NEVER, HS_NEVER), HS_OK);
    irq = (hs_cap_t)u->mr[1];
    uint64_t bits = 0;
    EXPECT_ST(hs_irq_wait(bell, HS_NEVER, &bits), HS_OK);
    fake_bits[nfake++] = bits;                  /* slot 0 */
    EXPECT_ST(hs_irq_signal(irq, 0x2 | 0x100), HS_OK);
    regs[0].state = BLK_SLOT_DONE;
    regs[0].done_seq = regs[0].seq + 1;
    EXPECT_ST(hs_irq_signal(irq, 0x1), HS_OK);
    EXPECT_ST(hs_irq_wait(bell, HS_NEVER, &bits), HS_OK);
    fake_bits[nfake++] = bits;                  /* the next request */
    unsigned s = bits & 1 ? 0 : 1;
    regs[s].state = BLK_SLOT_DONE;
    regs[s].done_seq = regs[s].seq;
    regs[s].status = 77;
    EXPECT_ST(hs_irq_signal(irq, (uint64_t)1 << s), HS_OK);
    (void)hs_thread_sleep(10 * HS_MSEC);
    EXPECT_ST(hs_irq_destroy(bell), HS_OK);
    return 0;
}

static int lies_main(void *arg)
{
    (void)arg;
    start(0);
    hs_cap_t mine = 0;
    EXPECT_ST(hs_cap_derive(gate, HS_CAP_SEND | HS_CAP_GRANT,
                            BLK_DEVICE_LABEL, &mine), HS_OK);
    hs_proc_attr at = { .caps = &mine, .ncaps = 1, .privileged = 1 };
    EXPECT_ST(hs_proc_spawn("liar", liar, NULL, &at, NULL), HS_OK);
    do_read(0, 0, 4, HS_NEVER);
    do_read(0, 1, 5, HS_NEVER);
    return 0;
}

/* The lies are counted and ignored: the first read times out (its buffer
 * untouched), the second fails with HS_EFAULT. */
static void test_blk_trusts_no_register(void **state)
{
    (void)state;
    reset();
    run(lies_main);
    assert_int_equal(st_of[0][0], HS_ETIMEOUT);
    assert_int_equal(when_of[0][0], TMO);
    assert_int_equal(buf_of[0][0], 0xeeeeeeeeeeeeeeeeull);
    assert_int_equal(st_of[0][1], HS_EFAULT);
    assert_int_equal(fake_bits[0], 1);
    assert_int_equal(stats.spurious, 3);        /* slot 1, bit 8, seq */
    assert_int_equal(stats.completed, 1);
}

/* ---- starting wrong ---------------------------------------------------------------- */

static hs_status cfg_st[8];

static int cfg_main(void *arg)
{
    (void)arg;
    struct blk_cfg c = { .paddr = 0, .va = VA, .nblocks = 1, .timeout = 1 };
    struct blk_cfg bad[4] = { c, c, c, c };
    bad[0].nblocks = 0;
    bad[1].va = VA + 1;
    bad[2].timeout = HS_NEVER;
    bad[3].nblocks = BLK_BLOCKS_MAX + 1;
    cfg_st[0] = blk_serve(0, NULL, NULL);
    for (int i = 0; i < 4; i++)
        cfg_st[1 + i] = blk_serve(0, &bad[i], NULL);
    struct blk_disk_cfg k = { .nblocks = 0 };
    cfg_st[5] = blk_disk_serve(1, &k);
    cfg_st[6] = blk_region_create(0, &paddr);
    cfg_st[7] = blk_region_create(1, NULL);
    return 0;
}

static int unprivileged_main(void *arg)
{
    (void)arg;
    struct blk_cfg c = { .paddr = 0, .va = VA, .nblocks = 1, .timeout = 1 };
    serve_st = blk_serve(0, &c, NULL);
    return 0;
}

static void test_blk_refuses_a_bad_start(void **state)
{
    (void)state;
    reset();
    run(cfg_main);
    for (int i = 0; i < 8; i++)
        assert_int_equal(cfg_st[i], HS_EINVAL);
    tu_run_one(NULL, "user", unprivileged_main, NULL, NULL);
    assert_int_equal(serve_st, HS_EPERM);       /* no direct portal */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        TU_TEST(test_blk_reads_what_was_written),
        TU_TEST(test_blk_queues_and_answers_in_completion_order),
        TU_TEST(test_blk_keeps_the_order_of_one_blocks_requests),
        TU_TEST(test_blk_refuses_bad_requests_changing_nothing),
        TU_TEST(test_blk_refuses_past_its_queue),
        TU_TEST(test_blk_loses_no_slot_to_clients_that_gave_up),
        TU_TEST(test_blk_fails_requests_of_a_disk_that_died),
        TU_TEST(test_blk_times_out_requests_of_a_hung_disk),
        TU_TEST(test_blk_trusts_no_register),
        TU_TEST(test_blk_refuses_a_bad_start),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
