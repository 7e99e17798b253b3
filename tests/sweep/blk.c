/*
 * tests/sweep/blk.c - the block driver of the gallery (examples/blk/) as
 * a seeded scenario: three client processes of two threads each write
 * their own block six times and read it back after each write, through
 * a driver whose disk has fewer slots than there are threads, whatever
 * the seed kills, times out or refuses.  The disk is drawn from the
 * seed: mostly a working one whose write latency varies, so reads
 * overtake writes by different margins; one seed in eight a disk that
 * stalls on one transfer (drawn from the seed) past the driver's timeout,
 * so that it times out in flight and lands later, after the same
 * block's next requests were asked for; one that hangs after four
 * transfers; one that dies after four.
 *
 * What must hold in every run: each read that succeeds returns what was
 * last written to its block, where a write that failed may or may not
 * have landed (a client that gave up does not know); and no request is
 * answered twice: the driver's accepted requests are exactly those it
 * answered plus those it still holds.  A run with no fault and a
 * working disk completes every write and read with nothing timed out or
 * ignored; with a stalled or hung disk some requests time out, with a
 * dead one some are lost, and none is left held.
 */
#include <stdint.h>
#include <string.h>

#include "examples/blk/blk.h"

#include "sweep.h"

#define BK_CLIENTS 3
#define BK_THREADS 2
#define BK_ROUNDS 6
#define BK_NBLOCKS 8
#define BK_WAIT (20 * HS_MSEC)
#define BK_VA ((uint64_t)0x40000000)
#define BK_TIMEOUT HS_MSEC

enum bk_disk { BK_WORKS, BK_STALLS, BK_HANGS, BK_DIES };

static struct {
    enum bk_disk kind;              /* drawn from the seed */
    struct blk_stats stats;
    struct blk_cfg cfg;
    struct blk_disk_cfg disk;
    int writes, reads, wrong;
    hs_status first_error;          /* a client's first failed call */
    int ended;                      /* init reached its end */
} bk;

static void bk_error(hs_status st)
{
    if (bk.first_error == HS_OK)
        bk.first_error = st;
}

/* What round r writes to block: every word names both. */
static void bk_pattern(uint64_t *b, uint64_t block, unsigned r)
{
    for (unsigned i = 0; i < BLK_BLOCK_WORDS; i++)
        b[i] = block << 48 | (uint64_t)r << 32 | i;
}

/* Whether what a read returned is what some round in allowed (bit r:
 * round r; bit 0: never written, all zero) wrote. */
static int bk_allowed(const uint64_t *got, uint64_t block, unsigned allowed)
{
    uint64_t want[BLK_BLOCK_WORDS];
    for (unsigned r = 0; r <= BK_ROUNDS; r++) {
        if (!(allowed & (1u << r)))
            continue;
        if (r)
            bk_pattern(want, block, r);
        else
            memset(want, 0, sizeof want);
        if (memcmp(got, want, sizeof want) == 0)
            return 1;
    }
    return 0;
}

/* One thread, one block.  allowed holds the rounds the block may hold:
 * the last acknowledged write, and every failed one since. */
static int bk_thread(void *arg)
{
    uint64_t block = (uint64_t)(uintptr_t)arg;
    uint64_t b[BLK_BLOCK_WORDS];
    unsigned allowed = 1;
    _Static_assert(BK_ROUNDS < 32, "a round is a bit of allowed");
    for (unsigned r = 1; r <= BK_ROUNDS; r++) {
        bk_pattern(b, block, r);
        hs_status st = blk_write(1, block, b, BK_WAIT);
        if (st == HS_OK) {
            allowed = 1u << r;
            bk.writes++;
        } else {
            allowed |= 1u << r;     /* it may have landed */
            bk_error(st);
        }
        st = blk_read(1, block, b, BK_WAIT);
        if (st == HS_OK) {
            bk.reads++;
            bk.wrong += !bk_allowed(b, block, allowed);
        } else {
            bk_error(st);
        }
    }
    return 0;
}

static int bk_client(void *arg)
{
    int id = (int)(intptr_t)arg;
    hs_tid_t t[BK_THREADS] = { 0 };
    for (int i = 0; i < BK_THREADS; i++)
        if (hs_thread_create(bk_thread,
                             (void *)(uintptr_t)(id * BK_THREADS + i), NULL,
                             &t[i]) != HS_OK)
            bk_error(HS_ELIMIT);
    for (int i = 0; i < BK_THREADS; i++)
        if (t[i])
            (void)hs_thread_join(t[i], HS_NEVER, NULL);
    return 0;
}

static int bk_driver(void *arg)
{
    (void)arg;
    (void)blk_serve(0, &bk.cfg, &bk.stats);
    return 0;
}

static int bk_disk(void *arg)
{
    (void)arg;
    (void)blk_disk_serve(1, &bk.disk);
    return 0;
}

static hs_status bk_spawn(const char *name, hs_entry_fn entry, void *arg,
                          hs_cap_t gate, uint64_t label, int privileged,
                          hs_pid_t *pid)
{
    hs_cap_t mine = 0;
    hs_status st = hs_cap_derive(gate, HS_CAP_SEND | HS_CAP_GRANT, label,
                                 &mine);
    hs_proc_attr at = { .caps = &mine, .ncaps = 1,
                        .privileged = privileged };
    return st == HS_OK ? hs_proc_spawn(name, entry, arg, &at, pid) : st;
}

static int bk_init(void *arg)
{
    (void)arg;
    uint64_t paddr = 0;
    if (blk_region_create(BK_NBLOCKS, &paddr) != HS_OK)
        return 1;
    bk.cfg.paddr = bk.disk.paddr = paddr;
    hs_thread_attr a = { .name = "blk", .priority = HS_PRIO_DEFAULT - 1,
                         .priority_set = 1 };
    hs_tid_t t = 0;
    hs_cap_t gate = 0;
    if (hs_thread_create(bk_driver, NULL, &a, &t) != HS_OK ||
        hs_gate_create(t, 0, &gate) != HS_OK)
        return 1;
    hs_pid_t disk = 0;
    (void)bk_spawn("disk", bk_disk, NULL, gate, BLK_DEVICE_LABEL, 1, &disk);
    hs_pid_t pid[BK_CLIENTS] = { 0 };
    for (int i = 0; i < BK_CLIENTS; i++)
        (void)bk_spawn("client", bk_client, (void *)(intptr_t)i, gate,
                       (uint64_t)i + 1, 0, &pid[i]);
    for (int i = 0; i < BK_CLIENTS; i++)
        if (pid[i])
            (void)hs_proc_wait(pid[i], HS_NEVER, NULL);
    /* A disk that could not attach (killed at its call, or its answer
     * lost) has ended by now: reap it, or it stays a zombie.  One that
     * attached serves on. */
    if (disk)
        (void)hs_proc_wait(disk, HS_NOWAIT, NULL);
    bk.ended = 1;
    return 0;               /* the driver and the disk serve on */
}

hs_status sweep_blk_setup(void *arg)
{
    (void)arg;
    memset(&bk, 0, sizeof bk);
    static const enum bk_disk kinds[8] = {
        BK_WORKS, BK_WORKS, BK_WORKS, BK_WORKS, BK_WORKS,
        BK_STALLS, BK_HANGS, BK_DIES,
    };
    bk.kind = kinds[sweep_seed % 8];
    bk.cfg = (struct blk_cfg){ .va = BK_VA, .nblocks = BK_NBLOCKS,
                               .timeout = BK_TIMEOUT };
    bk.disk = (struct blk_disk_cfg){
        .nblocks = BK_NBLOCKS, .read_latency = 20 * HS_USEC,
        .write_latency = (20 + 20 * (hs_time_t)(sweep_seed % 4)) * HS_USEC,
    };
    if (bk.kind == BK_STALLS) {
        bk.disk.stall_at = 1 + (unsigned)(sweep_seed / 8 % 12);
        bk.disk.stall = BK_TIMEOUT + 150 * HS_USEC;
    }
    else if (bk.kind == BK_HANGS)
        bk.disk.hang_after = 4;
    else if (bk.kind == BK_DIES)
        bk.disk.die_after = 4;
    hs_proc_attr at = { .privileged = 1 };
    return hs_proc_spawn("blkinit", bk_init, NULL, &at, NULL);
}

hs_status sweep_blk_check(void *arg, hs_status run)
{
    (void)arg;
    const struct blk_stats *s = &bk.stats;
    if (run != HS_OK)
        return sweep_why("run ended with %s", hs_strerror(run));
    if (bk.wrong)
        return sweep_why("%d reads returned what was not last written",
                         bk.wrong);
    if (s->accepted != s->answered + s->held || s->held > BLK_QUEUE_MAX)
        return sweep_why("driver: %u accepted, %u answered, %u held",
                         s->accepted, s->answered, s->held);
    if (sweep_fault_fired())
        return HS_OK;
    if (bk.kind != BK_WORKS) {
        unsigned failed = bk.kind == BK_DIES ? s->lost : s->timeouts;
        if (!bk.ended || s->held || s->attached != 1 || !failed)
            return sweep_why("fault-free run, disk %d: %u held, %u "
                             "attached, %u timeouts, %u lost", bk.kind,
                             s->held, s->attached, s->timeouts, s->lost);
        return HS_OK;
    }
    int want = BK_CLIENTS * BK_THREADS * BK_ROUNDS;
    if (!bk.ended || bk.writes != want || bk.reads != want ||
        bk.first_error != HS_OK || s->timeouts || s->spurious ||
        s->lost || s->stale || s->attached != 1 || s->held)
        return sweep_why("fault-free run: %d writes, %d reads, first error "
                         "%s; %u timeouts, %u spurious, %u lost, %u stale, "
                         "%u attached, %u held", bk.writes, bk.reads,
                         hs_strerror(bk.first_error), s->timeouts,
                         s->spurious, s->lost, s->stale, s->attached,
                         s->held);
    return HS_OK;
}
