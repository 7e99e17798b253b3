/*
 * tests/sweep/ramfs.c - the RAM file server of the gallery
 * (examples/ramfs/) as a seeded scenario: three client processes each
 * write records to a file of their own and to their slot of one shared
 * file, reading each back, whatever the seed kills, times out or refuses;
 * then a checker attaches, which ends the sessions of clients that died,
 * and reads the shared file.
 *
 * What must hold in every run: every read returns exactly what its
 * client last wrote there (each client keeps a model of its own file and
 * stops at its first failed call, after which it knows no more); a slot
 * of the shared file read by anyone holds zeros or a whole record of the
 * slot's owner, never a torn or foreign one; and once the checker is in,
 * the server holds its session and its handle only: every client that
 * ended, however, took its handles and buffer with it.  A run with no
 * fault completes every round and the checker sees every client's last
 * record.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "examples/ramfs/ramfs.h"

#include "sweep.h"

#define RF_CLIENTS 3
#define RF_ROUNDS 4
#define RF_REC 48                       /* bytes of a record */
#define RF_STRIDE 1500                  /* own file: round r at r * this */
#define RF_OWN_MAX (RF_ROUNDS * RF_STRIDE + RF_REC + RF_CLIENTS * 8)
#define RF_CHECKER (RF_CLIENTS + 1)     /* the checker's label */
#define RF_WAIT (20 * HS_MSEC)
#define RF_BUF ((uint64_t)0x10000000)

static struct {
    struct ramfs_stats stats;
    unsigned wrong;                     /* broken invariants */
    char why[160];                      /* the first */
    int done[RF_CLIENTS];               /* clients through every round */
    hs_status first_error;              /* a client's first failed call */
    int checked;                        /* the checker got through */
    unsigned last_seen[RF_CLIENTS];     /* round of each slot it read,
                                           RF_ROUNDS: zeros */
    unsigned clients, handles;          /* the server's, seen by it */
    int ended;                          /* init reached its end */
    uint8_t own[RF_CLIENTS][RF_OWN_MAX];    /* each client's model */
} rf;

static void rf_wrong(const char *what, int id, unsigned round)
{
    if (!rf.wrong++)
        snprintf(rf.why, sizeof rf.why, "%s (client %d, round %u)", what,
                 id, round);
}

static void rf_error(hs_status st)
{
    if (rf.first_error == HS_OK)
        rf.first_error = st;
}

/* Record (id, round): a header naming both, then bytes drawn from them. */
static void rf_record(int id, unsigned round, uint8_t *b)
{
    b[0] = 'R';
    b[1] = (uint8_t)id;
    b[2] = (uint8_t)round;
    for (unsigned i = 3; i < RF_REC; i++)
        b[i] = (uint8_t)(id * 53 + round * 17 + i * 3 + 1);
}

/* What slot owner's bytes b hold: the round of a whole record of owner,
 * RF_ROUNDS for zeros, or -1 for anything else. */
static int rf_slot_round(int owner, const uint8_t *b)
{
    uint8_t want[RF_REC], zero[RF_REC] = { 0 };
    if (memcmp(b, zero, RF_REC) == 0)
        return RF_ROUNDS;
    if (b[0] != 'R' || b[1] != owner || b[2] >= RF_ROUNDS)
        return -1;
    rf_record(owner, b[2], want);
    return memcmp(b, want, RF_REC) == 0 ? b[2] : -1;
}

/* Read len bytes of fd at off into b through the buffer; HS_OK only if
 * all of them came. */
static hs_status rf_read(const struct ramfs_client *c, uint64_t fd,
                         uint64_t off, uint8_t *b, uint64_t len)
{
    uint64_t got = 0;
    hs_status st = ramfs_read(c, fd, off, len, &got);
    if (st == HS_OK && got != len)
        return HS_ECHECK;
    return st == HS_OK ? hs_mem_read(c->buf, b, (size_t)len) : st;
}

/* Read up to len bytes of fd at off into b, the part past the end of
 * the file as zeros. */
static hs_status rf_peek(const struct ramfs_client *c, uint64_t fd,
                         uint64_t off, uint8_t *b, uint64_t len)
{
    uint64_t got = 0;
    memset(b, 0, (size_t)len);
    hs_status st = ramfs_read(c, fd, off, len, &got);
    if (st == HS_OK && got > len)
        return HS_ECHECK;
    return st == HS_OK && got ? hs_mem_read(c->buf, b, (size_t)got) : st;
}

/* Write b (len bytes) to fd at off through the buffer. */
static hs_status rf_write(const struct ramfs_client *c, uint64_t fd,
                          uint64_t off, const uint8_t *b, uint64_t len)
{
    hs_status st = hs_mem_write(c->buf, b, (size_t)len);
    return st == HS_OK ? ramfs_write(c, fd, off, len) : st;
}

/* One round: the record to the own file (model first: a write that
 * failed stops the client, so the model is never read again) and to
 * the slot, each read back; the neighbour's slot is looked at. */
static hs_status rf_round(const struct ramfs_client *c, int id,
                          unsigned r, uint64_t own, uint64_t shared)
{
    uint8_t rec[RF_REC], back[RF_REC];
    uint64_t off = (uint64_t)r * RF_STRIDE + (uint64_t)id * 8;
    rf_record(id, r, rec);
    memcpy(&rf.own[id][off], rec, RF_REC);
    hs_status st = rf_write(c, own, off, rec, RF_REC);
    if (st == HS_OK && (st = rf_read(c, own, off, back, RF_REC)) == HS_OK &&
        memcmp(back, rec, RF_REC) != 0)
        rf_wrong("own record read back wrong", id, r);
    if (st == HS_OK)
        st = rf_write(c, shared, (uint64_t)id * RF_REC, rec, RF_REC);
    if (st == HS_OK &&
        (st = rf_read(c, shared, (uint64_t)id * RF_REC, back,
                      RF_REC)) == HS_OK && memcmp(back, rec, RF_REC) != 0)
        rf_wrong("own slot read back wrong", id, r);
    int next = (id + 1) % RF_CLIENTS;
    if (st == HS_OK &&
        (st = rf_peek(c, shared, (uint64_t)next * RF_REC, back,
                      RF_REC)) == HS_OK && rf_slot_round(next, back) < 0)
        rf_wrong("neighbour's slot torn or foreign", id, r);
    return st;
}

/* The whole own file against the model, a buffer at a time. */
static hs_status rf_own_check(const struct ramfs_client *c, int id,
                              uint64_t own)
{
    uint64_t size = (uint64_t)(RF_ROUNDS - 1) * RF_STRIDE +
                    (uint64_t)id * 8 + RF_REC;
    uint8_t back[RF_OWN_MAX];
    for (uint64_t off = 0; off < size; off += c->size) {
        uint64_t n = size - off < c->size ? size - off : c->size;
        hs_status st = rf_read(c, own, off, back + off, n);
        if (st != HS_OK)
            return st;
    }
    if (memcmp(back, rf.own[id], (size_t)size) != 0)
        rf_wrong("own file differs from what was written", id, RF_ROUNDS);
    return HS_OK;
}

static int rf_client(void *arg)
{
    int id = (int)(intptr_t)arg;
    struct ramfs_client c;
    char name[RAMFS_NAME_MAX + 1];
    uint64_t own = 0, shared = 0;
    snprintf(name, sizeof name, "own%d", id);
    hs_status st = ramfs_attach(&c, 1, RF_BUF, 12, RF_WAIT);
    if (st != HS_OK) {
        rf_error(st);
        return 1;
    }
    if ((st = ramfs_open(&c, name, RAMFS_RDWR | RAMFS_CREATE, &own)) ==
        HS_OK)
        st = ramfs_open(&c, "shared", RAMFS_RDWR | RAMFS_CREATE, &shared);
    for (unsigned r = 0; st == HS_OK && r < RF_ROUNDS; r++)
        st = rf_round(&c, id, r, own, shared);
    if (st == HS_OK)
        st = rf_own_check(&c, id, own);
    if (st == HS_OK)
        st = ramfs_detach(&c);
    if (st != HS_OK) {
        rf_error(st);
        return 1;               /* the buffer goes with the process */
    }
    rf.done[id] = 1;
    return 0;
}

/* After the clients: the server's figures, and every slot. */
static int rf_checker(void *arg)
{
    (void)arg;
    struct ramfs_client c;
    uint64_t fd = 0;
    uint8_t all[RF_CLIENTS * RF_REC];
    hs_status st = ramfs_attach(&c, 1, RF_BUF, 12, RF_WAIT);
    if (st == HS_OK)
        st = ramfs_open(&c, "shared", RAMFS_RDONLY | RAMFS_CREATE, &fd);
    if (st != HS_OK)
        return 1;
    rf.clients = rf.stats.clients;
    rf.handles = rf.stats.handles;
    if (rf_peek(&c, fd, 0, all, sizeof all) != HS_OK)
        return 1;
    for (int i = 0; i < RF_CLIENTS; i++) {
        int r = rf_slot_round(i, all + i * RF_REC);
        if (r < 0)
            rf_wrong("checker: slot torn or foreign", i, 0);
        rf.last_seen[i] = r < 0 ? 0 : (unsigned)r;
    }
    rf.checked = 1;
    (void)ramfs_detach(&c);
    return 0;
}

static int rf_server(void *arg)
{
    (void)arg;
    (void)ramfs_serve(0, &rf.stats);
    return 0;
}

static hs_status rf_spawn(hs_cap_t gate, hs_entry_fn entry, int id,
                          hs_pid_t *pid)
{
    hs_cap_t theirs = 0;
    hs_status st = hs_cap_derive(gate, HS_CAP_SEND | HS_CAP_GRANT,
                                 (uint64_t)id + 1, &theirs);
    hs_proc_attr at = { .caps = &theirs, .ncaps = 1 };
    if (st == HS_OK)
        st = hs_proc_spawn("client", entry, (void *)(intptr_t)id, &at, pid);
    return st;
}

static int rf_init(void *arg)
{
    (void)arg;
    hs_thread_attr a = { .name = "ramfs", .priority = HS_PRIO_DEFAULT - 1,
                         .priority_set = 1 };
    hs_tid_t t = 0;
    hs_cap_t gate = 0;
    if (hs_thread_create(rf_server, NULL, &a, &t) != HS_OK ||
        hs_gate_create(t, 0, &gate) != HS_OK)
        return 1;
    hs_pid_t pid[RF_CLIENTS + 1] = { 0 };
    for (int i = 0; i < RF_CLIENTS; i++)
        if (rf_spawn(gate, rf_client, i, &pid[i]) != HS_OK)
            pid[i] = 0;
    for (int i = 0; i < RF_CLIENTS; i++)
        if (pid[i])
            (void)hs_proc_wait(pid[i], HS_NEVER, NULL);
    if (rf_spawn(gate, rf_checker, RF_CHECKER - 1, &pid[RF_CLIENTS]) ==
        HS_OK)
        (void)hs_proc_wait(pid[RF_CLIENTS], HS_NEVER, NULL);
    rf.ended = 1;
    return 0;                       /* the server serves on: the run ends */
}

hs_status sweep_ramfs_setup(void *arg)
{
    (void)arg;
    memset(&rf, 0, sizeof rf);
    return hs_proc_spawn("files", rf_init, NULL, NULL, NULL);
}

hs_status sweep_ramfs_check(void *arg, hs_status run)
{
    (void)arg;
    if (run != HS_OK)
        return sweep_why("run ended with %s", hs_strerror(run));
    if (rf.wrong)
        return sweep_why("%u wrong reads, first: %s", rf.wrong, rf.why);
    if (rf.checked && (rf.clients != 1 || rf.handles != 1))
        return sweep_why("after the clients the server holds %u sessions "
                         "and %u handles, not the checker's 1 and 1",
                         rf.clients, rf.handles);
    for (int i = 0; i < RF_CLIENTS; i++)
        if (rf.checked && rf.done[i] && rf.last_seen[i] != RF_ROUNDS - 1)
            return sweep_why("client %d finished, but its slot holds "
                             "round %u", i, rf.last_seen[i]);
    if (sweep_fault_fired())
        return HS_OK;
    int done = 0;
    for (int i = 0; i < RF_CLIENTS; i++)
        done += rf.done[i];
    if (!rf.ended || !rf.checked || done != RF_CLIENTS ||
        rf.first_error != HS_OK)
        return sweep_why("fault-free run: %d clients done, checker %d, "
                         "first error %s", done, rf.checked,
                         hs_strerror(rf.first_error));
    return HS_OK;
}
