/*
 * tests/sweep/pager.c - the pager of the gallery (examples/pager/) as a
 * seeded scenario: three client processes page seven pages each through
 * four frames, writing every page and reading every page back, round
 * after round, while a second thread of each keeps writing one word,
 * whatever the seed kills, times out or refuses.  In every run, every
 * read returns what its client last wrote there, and no frame of the
 * pager is ever mapped by more than one client page (so no more than
 * four pages of the region are mapped in all clients together: the pager
 * has four frames); a run with no fault reads everything back, every
 * client attached and detached, with pages evicted and nothing left in
 * the frames.
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
#define PG_SCRIBBLES 20
#define PG_SCRIBBLE_OFF 512
#define PG_SCRIBBLE_GAP (HS_USEC / 3)
#define PG_REGION ((uint64_t)0x10000000)
#define PG_WAIT (20 * HS_MSEC)

static const struct pager_cfg pg_cfg = {
    .region = PG_REGION, .pages = PG_PAGES, .frames = PG_FRAMES,
    .clients = PG_CLIENTS, .io_time = HS_USEC,
};

static struct {
    struct pager_stats stats;
    hs_pid_t pager;
    int reads, wrong;
    uint64_t refs_max;              /* most references to a pager frame */
    hs_status first_error;          /* a client's first failed call */
    int detached;                   /* clients that detached */
    int ended;                      /* init reached its end */
} pg;

static void pg_error(hs_status st)
{
    if (pg.first_error == HS_OK)
        pg.first_error = st;
}

/* Note the references to each of the pager's frames now: the pager's
 * own and one client page's at most.  (One query per frame, so exact
 * whatever runs between them; counting the clients' mapped pages would
 * take a query per page, with evictions in between.) */
static void pg_frames_note(void)
{
    for (unsigned i = 0; pg.pager && i < PG_FRAMES; i++) {
        hs_mem_info info;
        if (hs_mem_query(pg.pager, PAGER_FRAMES_VA + i * HS_PAGE_4K,
                         &info) == HS_OK && info.refs > pg.refs_max)
            pg.refs_max = info.refs;
    }
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
    pg_frames_note();
    return st;
}

/* Read back what pg_write(id, r, i) wrote. */
static hs_status pg_check(int id, int r, unsigned i)
{
    uint64_t w = 0;
    hs_status st = hs_mem_read(pg_va(id, i), &w, sizeof w);
    pg_frames_note();
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

/* A second thread of client id: writes 1, 2, ... into a word of its own
 * on the first page of the client's order while the client's main thread
 * pages through the rest, so that its writes meet the page's evictions.
 * Before each write it reads back the one before: a write lost in an
 * eviction is seen. */
static int pg_scribbler(void *arg)
{
    int id = (int)(intptr_t)arg;
    uint64_t va = pg_va(id, 0) + PG_SCRIBBLE_OFF;
    for (uint64_t i = 1; i <= PG_SCRIBBLES; i++) {
        uint64_t w = ~(uint64_t)0;
        if (hs_mem_read(va, &w, sizeof w) != HS_OK)
            return 1;
        pg.reads++;
        pg.wrong += w != i - 1;
        if (hs_mem_write(va, &i, sizeof i) != HS_OK)
            return 1;
        pg_frames_note();
        (void)hs_thread_sleep(PG_SCRIBBLE_GAP);    /* across page-outs */
    }
    return 0;
}

static int pg_client(void *arg)
{
    int id = (int)(intptr_t)arg;
    hs_port_t port = 0;
    hs_tid_t t = 0;
    hs_status st = hs_port_lookup("pager", PG_WAIT, &port);
    if (st == HS_OK)
        st = pager_attach(port, PG_WAIT);
    if (st == HS_OK)
        st = hs_thread_create(pg_scribbler, arg, NULL, &t);
    for (int r = 0; st == HS_OK && r < PG_ROUNDS; r++)
        st = pg_round(id, r);
    if (t)
        (void)hs_thread_join(t, HS_NEVER, NULL);
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
    (void)hs_proc_spawn("pager", pg_pager, NULL, NULL, &pg.pager);
    hs_pid_t pid[PG_CLIENTS] = { 0 };
    for (int i = 0; i < PG_CLIENTS; i++)
        if (hs_proc_spawn("client", pg_client, (void *)(intptr_t)i, NULL,
                          &pid[i]) != HS_OK)
            pid[i] = 0;
    for (int i = 0; i < PG_CLIENTS; i++)
        if (pid[i])
            (void)hs_proc_wait(pid[i], HS_NEVER, NULL);
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
    if (pg.refs_max > 2 || s->resident_max > PG_FRAMES)
        return sweep_why("a frame with %llu references, %u frames out of "
                         "%d", (unsigned long long)pg.refs_max,
                         s->resident_max, PG_FRAMES);
    if (sweep_fault_fired())
        return HS_OK;
    if (!pg.ended || pg.detached != PG_CLIENTS || pg.first_error != HS_OK ||
        pg.reads != PG_CLIENTS * (PG_ROUNDS * (2 * PG_PAGES - PG_LAG) +
                                  PG_SCRIBBLES) || !s->evictions ||
        s->resident || s->attached || s->refused)
        return sweep_why("fault-free run: %d reads, %d detached, first "
                         "error %s, %u evictions, %u resident, %u "
                         "attached, %u refused", pg.reads, pg.detached,
                         hs_strerror(pg.first_error), s->evictions,
                         s->resident, s->attached, s->refused);
    return HS_OK;
}
