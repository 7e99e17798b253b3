/*
 * tests/sweep/pager.c - the pager of the gallery (examples/pager/) as a
 * seeded scenario: three client processes page seven pages each through
 * four frames, writing every page and reading every page back, round
 * after round, whatever the seed kills, times out or refuses.  In every
 * run, every read returns what its client last wrote there, and no more
 * than four pages of the region are ever mapped in all clients together;
 * a run with no fault reads everything back, every client attached and
 * detached, with pages evicted and nothing left in the frames.
 */
#include <stdint.h>
#include <string.h>

#include "examples/pager/pager.h"

#include "sweep.h"

#define PG_CLIENTS 3
#define PG_PAGES 7
#define PG_FRAMES 4
#define PG_ROUNDS 3
#define PG_LAG 2
#define PG_REGION ((uint64_t)0x10000000)
#define PG_WAIT (20 * HS_MSEC)

static const struct pager_cfg pg_cfg = {
    .region = PG_REGION, .pages = PG_PAGES, .frames = PG_FRAMES,
    .clients = PG_CLIENTS, .fill_time = HS_USEC,
};

static struct {
    struct pager_stats stats;
    hs_pid_t pid[PG_CLIENTS];
    int reads, wrong;
    unsigned mapped_max;            /* region pages mapped in all clients */
    hs_status first_error;          /* a client's first failed call */
    int detached;                   /* clients that detached */
    int ended;                      /* init reached its end */
} pg;

static void pg_error(hs_status st)
{
    if (pg.first_error == HS_OK)
        pg.first_error = st;
}

/* Count the region pages mapped in every client now. */
static void pg_mapped_note(void)
{
    unsigned n = 0;
    for (int i = 0; i < PG_CLIENTS; i++)
        for (unsigned p = 0; pg.pid[i] && p < PG_PAGES; p++) {
            hs_mem_info info;
            n += hs_mem_query(pg.pid[i], PG_REGION + p * HS_PAGE_4K,
                              &info) == HS_OK;
        }
    if (n > pg.mapped_max)
        pg.mapped_max = n;
}

static uint64_t pg_word(int id, int r, unsigned p)
{
    return (uint64_t)(id + 1) << 40 | (uint64_t)r << 20 | p;
}

/* Page i of client id's order: each starts elsewhere, by the seed. */
static uint64_t pg_va(int id, unsigned i)
{
    unsigned p = (unsigned)((i + sweep_seed + (uint64_t)id * 3) % PG_PAGES);
    return PG_REGION + p * HS_PAGE_4K + 8 * (unsigned)id;
}

static hs_status pg_write(int id, int r, unsigned i)
{
    uint64_t w = pg_word(id, r, i);
    hs_status st = hs_mem_write(pg_va(id, i), &w, sizeof w);
    pg_mapped_note();
    return st;
}

/* Read back what pg_write(id, r, i) wrote. */
static hs_status pg_check(int id, int r, unsigned i)
{
    uint64_t w = 0;
    hs_status st = hs_mem_read(pg_va(id, i), &w, sizeof w);
    pg_mapped_note();
    if (st == HS_OK) {
        pg.reads++;
        pg.wrong += w != pg_word(id, r, i);
    }
    return st;
}

/* One round: write every page, reading back the page written PG_LAG
 * writes before, which the other clients' pages have likely evicted by
 * then; then read every page back, from the last. */
static hs_status pg_round(int id, int r)
{
    hs_status st = HS_OK;
    for (unsigned i = 0; st == HS_OK && i < PG_PAGES; i++) {
        st = pg_write(id, r, i);
        if (st == HS_OK && i >= PG_LAG)
            st = pg_check(id, r, i - PG_LAG);
    }
    for (unsigned i = PG_PAGES; st == HS_OK && i-- > 0;)
        st = pg_check(id, r, i);
    return st;
}

static int pg_client(void *arg)
{
    int id = (int)(intptr_t)arg;
    hs_port_t port = 0;
    hs_status st = hs_port_lookup("pager", PG_WAIT, &port);
    if (st == HS_OK)
        st = pager_attach(port, PG_WAIT);
    for (int r = 0; st == HS_OK && r < PG_ROUNDS; r++)
        st = pg_round(id, r);
    if (st == HS_OK)
        st = pager_detach(port, PG_WAIT);
    if (st != HS_OK) {
        pg_error(st);
        return 1;
    }
    pg.detached++;
    return 0;
}

static int pg_pager(void *arg)
{
    (void)arg;
    hs_proc_exit((int)pager_serve("pager", &pg_cfg, &pg.stats));
}

static int pg_init(void *arg)
{
    (void)arg;
    (void)hs_proc_spawn("pager", pg_pager, NULL, NULL, NULL);
    for (int i = 0; i < PG_CLIENTS; i++)
        if (hs_proc_spawn("client", pg_client, (void *)(intptr_t)i, NULL,
                          &pg.pid[i]) != HS_OK)
            pg.pid[i] = 0;
    for (int i = 0; i < PG_CLIENTS; i++)
        if (pg.pid[i])
            (void)hs_proc_wait(pg.pid[i], HS_NEVER, NULL);
    pg.ended = 1;
    return 0;                       /* the pager serves on: the run ends */
}

hs_status sweep_pager_setup(void *arg)
{
    (void)arg;
    memset(&pg, 0, sizeof pg);
    return hs_proc_spawn("init", pg_init, NULL, NULL, NULL);
}

hs_status sweep_pager_check(void *arg, hs_status run)
{
    (void)arg;
    const struct pager_stats *s = &pg.stats;
    if (run != HS_OK)
        return sweep_why("run ended with %s", hs_strerror(run));
    if (pg.wrong)
        return sweep_why("%d of %d reads not what was written", pg.wrong,
                         pg.reads);
    if (pg.mapped_max > PG_FRAMES || s->resident_max > PG_FRAMES)
        return sweep_why("%u pages mapped, %u frames out: more than %d",
                         pg.mapped_max, s->resident_max, PG_FRAMES);
    if (sweep_fault_fired())
        return HS_OK;
    if (!pg.ended || pg.detached != PG_CLIENTS || pg.first_error != HS_OK ||
        pg.reads != PG_CLIENTS * PG_ROUNDS * (2 * PG_PAGES - PG_LAG) || !s->evictions ||
        s->resident || s->attached || s->refused)
        return sweep_why("fault-free run: %d reads, %d detached, first "
                         "error %s, %u evictions, %u resident, %u "
                         "attached, %u refused", pg.reads, pg.detached,
                         hs_strerror(pg.first_error), s->evictions,
                         s->resident, s->attached, s->refused);
    return HS_OK;
}
