/*
 * examples/pager/main.c - the pager (pager.h) backing a region of eight
 * pages in each of two clients with four frames in all.
 *
 *   build/examples/pager                      one run, a line per round
 *   HOPSIM_MSC=pager.msc build/examples/pager its sequence chart
 *   HOPSIM_SEED=7 build/examples/pager        another interleaving
 *
 * Each client attaches, then three times over writes a word of its own
 * into every page of the region and reads every word back.  Sixteen
 * pages share four frames, so nearly every touch evicts a page: the
 * pager takes it back from its client and saves it, and gives it back
 * at the client's next touch.  The program checks that every read
 * returned what was written and that the pager never had more than four
 * frames out, and exits 1 otherwise.
 */
#include <stdio.h>

#include "pager.h"

#define CLIENTS 2
#define PAGES 8
#define FRAMES 4
#define ROUNDS 3
#define REGION ((uint64_t)0x10000000)
#define TIMEOUT (100 * HS_MSEC)

static const struct pager_cfg cfg = {
    .region = REGION, .pages = PAGES, .frames = FRAMES,
    .clients = CLIENTS, .io_time = 10 * HS_USEC,
};
static struct pager_stats stats;
static int reads, wrong;

/* What client id writes into page p in round r. */
static uint64_t word_of(int id, int r, int p)
{
    return (uint64_t)id << 32 | (uint64_t)r << 16 | (uint64_t)p;
}

/* One round: write every page, then read every page back. */
static int round_run(int id, int r)
{
    for (int p = 0; p < PAGES; p++) {
        uint64_t w = word_of(id, r, p);
        if (hs_mem_write(REGION + (uint64_t)p * HS_PAGE_4K + 8 * id, &w,
                         sizeof w) != HS_OK)
            return 1;
    }
    for (int p = 0; p < PAGES; p++) {
        uint64_t w = 0;
        if (hs_mem_read(REGION + (uint64_t)p * HS_PAGE_4K + 8 * id, &w,
                        sizeof w) != HS_OK)
            return 1;
        reads++;
        wrong += w != word_of(id, r, p);
    }
    return 0;
}

static int client(void *arg)
{
    int id = (int)(intptr_t)arg;
    hs_port_t port = 0;
    hs_status st = hs_port_lookup("pager", TIMEOUT, &port);
    if (st == HS_OK)
        st = pager_attach(port, TIMEOUT);
    if (st != HS_OK) {
        printf("client %d: attach: %s\n", id, hs_strerror(st));
        return 1;
    }
    for (int r = 0; r < ROUNDS; r++) {
        if (round_run(id, r))
            return 1;
        printf("[%9llu ns] client %d: round %d read back, %u evictions "
               "so far\n", (unsigned long long)hs_time_now(), id, r,
               stats.evictions);
    }
    return pager_detach(port, TIMEOUT) == HS_OK ? 0 : 1;
}

static int pager(void *arg)
{
    (void)arg;
    hs_proc_exit((int)pager_serve("pager", &cfg, &stats));
}

static int init(void *arg)
{
    (void)arg;
    if (hs_proc_spawn("pager", pager, NULL, NULL, NULL) != HS_OK)
        return 1;
    hs_pid_t pid[CLIENTS];
    for (int i = 0; i < CLIENTS; i++) {
        char name[HS_NAME_MAX + 1];
        snprintf(name, sizeof name, "client%d", i);
        if (hs_proc_spawn(name, client, (void *)(intptr_t)i, NULL,
                          &pid[i]) != HS_OK)
            return 1;
    }
    int bad = 0;
    for (int i = 0; i < CLIENTS; i++) {
        int code = 1;
        (void)hs_proc_wait(pid[i], HS_NEVER, &code);
        bad |= code != 0;
    }
    return bad;                 /* the pager serves on: the run ends */
}

int main(void)
{
    hs_sim_config cfg_sim = HS_SIM_DEFAULTS;
    if (hs_sim_start(&cfg_sim) != HS_OK)
        return 1;
    if (hs_proc_spawn("init", init, NULL, NULL, NULL) != HS_OK)
        return 1;
    hs_status st = hs_sim_run();
    printf("pager: %d reads, %d wrong, %u faults, %u evictions, "
           "%u frames out at most of %d: %s\n", reads, wrong, stats.faults,
           stats.evictions, stats.resident_max, FRAMES, hs_strerror(st));
    return st == HS_OK && !wrong && reads == CLIENTS * ROUNDS * PAGES &&
                   stats.resident_max <= FRAMES && stats.evictions > 0
               ? 0 : 1;
}
