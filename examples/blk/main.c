/*
 * examples/blk/main.c - the block driver (blk.h) with its disk and three
 * clients in processes of their own, each writing two blocks of its own
 * and reading them back.
 *
 *   build/examples/blk                     one run, a line per answer
 *   HOPSIM_MSC=blk.msc build/examples/blk  its sequence chart
 *   HOPSIM_SEED=7 build/examples/blk       another interleaving
 *
 * init, a core server, makes the disk's device region and runs the
 * driver in a thread of its own; the disk, also a core server, attaches
 * to it.  Each client has two threads, one per block, so that more
 * requests are asked for than the disk has slots: some wait in the
 * driver's queue, and reads (20 us) overtake writes (50 us).  The program
 * checks that every read returned what its thread wrote, and exits 1 if
 * one did not or a run went wrong.
 */
#include <stdio.h>
#include <string.h>

#include "blk.h"

#define CLIENTS 3
#define THREADS 2
#define ROUNDS 2
#define NBLOCKS 16
#define WINDOW_VA ((uint64_t)0x40000000)

static uint64_t paddr;
static struct blk_stats stats;
static int reads_ok, writes_ok, wrong;

/* The block client id's thread t writes in round r. */
static void pattern(uint64_t *b, int id, int t, int r)
{
    for (unsigned i = 0; i < BLK_BLOCK_WORDS; i++)
        b[i] = (uint64_t)id << 48 | (uint64_t)t << 40 | (uint64_t)r << 32 | i;
}

static int client_thread(void *arg)
{
    int id = (int)(intptr_t)arg / THREADS, t = (int)(intptr_t)arg % THREADS;
    uint64_t block = (uint64_t)(id * THREADS + t);
    uint64_t want[BLK_BLOCK_WORDS], got[BLK_BLOCK_WORDS];
    for (int r = 1; r <= ROUNDS; r++) {
        pattern(want, id, t, r);
        hs_status st = blk_write(1, block, want, 10 * HS_MSEC);
        printf("[%7llu ns] client %d wrote block %llu: %s\n",
               (unsigned long long)hs_time_now(), id,
               (unsigned long long)block, hs_strerror(st));
        writes_ok += st == HS_OK;
        st = blk_read(1, block, got, 10 * HS_MSEC);
        printf("[%7llu ns] client %d read block %llu: %s\n",
               (unsigned long long)hs_time_now(), id,
               (unsigned long long)block, hs_strerror(st));
        reads_ok += st == HS_OK;
        wrong += st == HS_OK && memcmp(got, want, sizeof got) != 0;
    }
    return 0;
}

static int client(void *arg)
{
    int id = (int)(intptr_t)arg;
    hs_tid_t t[THREADS];
    for (int i = 0; i < THREADS; i++)
        if (hs_thread_create(client_thread,
                             (void *)(intptr_t)(id * THREADS + i), NULL,
                             &t[i]) != HS_OK)
            return 1;
    for (int i = 0; i < THREADS; i++)
        (void)hs_thread_join(t[i], HS_NEVER, NULL);
    return 0;
}

static const struct blk_cfg drv_cfg = {
    .va = WINDOW_VA, .nblocks = NBLOCKS, .timeout = 5 * HS_MSEC,
};

static struct blk_cfg cfg;

static int driver(void *arg)
{
    (void)arg;
    return (int)blk_serve(1, &cfg, &stats);
}

static const struct blk_disk_cfg disk_base = {
    .nblocks = NBLOCKS, .read_latency = 20 * HS_USEC,
    .write_latency = 50 * HS_USEC,
};

static struct blk_disk_cfg disk_cfg;

static int disk(void *arg)
{
    (void)arg;
    return (int)blk_disk_serve(1, &disk_cfg);
}

/* Spawn name running entry with a copy of the driver's gate labelled
 * label. */
static hs_status spawn(const char *name, hs_entry_fn entry, void *arg,
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

/* The driver's thread and gate (capability 1 of this process), the disk,
 * then the clients, each with a copy of the gate labelled id + 1. */
static int init(void *arg)
{
    (void)arg;
    if (blk_region_create(NBLOCKS, &paddr) != HS_OK)
        return 1;
    cfg = drv_cfg;
    cfg.paddr = paddr;
    disk_cfg = disk_base;
    disk_cfg.paddr = paddr;
    hs_thread_attr a = { .name = "blk", .priority = HS_PRIO_DEFAULT - 1,
                         .priority_set = 1 };
    hs_tid_t t = 0;
    hs_cap_t gate = 0;
    if (hs_thread_create(driver, NULL, &a, &t) != HS_OK ||
        hs_gate_create(t, 0, &gate) != HS_OK ||
        spawn("disk", disk, NULL, gate, BLK_DEVICE_LABEL, 1, NULL) != HS_OK)
        return 1;
    hs_pid_t pid[CLIENTS];
    for (int i = 0; i < CLIENTS; i++) {
        char name[HS_NAME_MAX + 1];
        snprintf(name, sizeof name, "client%d", i);
        if (spawn(name, client, (void *)(intptr_t)i, gate, (uint64_t)i + 1,
                  0, &pid[i]) != HS_OK)
            return 1;
    }
    for (int i = 0; i < CLIENTS; i++)
        (void)hs_proc_wait(pid[i], HS_NEVER, NULL);
    return 0;                   /* the driver and the disk serve on */
}

int main(void)
{
    hs_sim_config cfg0 = HS_SIM_DEFAULTS;
    if (hs_sim_start(&cfg0) != HS_OK)
        return 1;
    hs_proc_attr at = { .privileged = 1 };
    if (hs_proc_spawn("init", init, NULL, &at, NULL) != HS_OK)
        return 1;
    hs_status st = hs_sim_run();
    int want = CLIENTS * THREADS * ROUNDS;
    printf("blk: %d writes, %d reads, %d wrong; %u requests, at most %u "
           "held: %s\n", writes_ok, reads_ok, wrong, stats.accepted,
           stats.max_held, hs_strerror(st));
    return st == HS_OK && !wrong && writes_ok == want && reads_ok == want
           ? 0 : 1;
}
