/*
 * examples/blk/blk.c - the block driver, the disk it drives, and the
 * client calls (see blk.h).
 */
#include <string.h>

#include "blk.h"

_Static_assert(BLK_BLOCK_WORDS == HS_MR_COUNT,
               "a block is the message registers of one IPC");
_Static_assert(BLK_DEPTH * sizeof(struct blk_slot_regs) <= HS_PAGE_4K,
               "the slots' registers fit their page");
_Static_assert(BLK_DEPTH * BLK_BLOCK_SIZE <= HS_PAGE_4K,
               "the DMA buffers fit their page");

/* How long the disk waits for the driver to take and answer its attach. */
#define ATTACH_TIMEOUT HS_SEC

/* The largest device region (hs_mem_device_create). */
#define REGION_MAX ((uint64_t)1 << 30)

#define SLOT_BITS (((uint64_t)1 << BLK_DEPTH) - 1)

uint64_t blk_region_size(uint32_t nblocks)
{
    uint64_t medium = (uint64_t)nblocks * BLK_BLOCK_SIZE;
    return BLK_WINDOW + ((medium + HS_PAGE_4K - 1) & ~(HS_PAGE_4K - 1));
}

static int nblocks_ok(uint32_t nblocks)
{
    return nblocks && nblocks <= BLK_BLOCKS_MAX &&
           blk_region_size(nblocks) <= REGION_MAX;
}

hs_status blk_region_create(uint32_t nblocks, uint64_t *paddr)
{
    if (!nblocks_ok(nblocks) || !paddr)
        return HS_EINVAL;
    uint64_t size = blk_region_size(nblocks), pa = 0;
    hs_status st = hs_mem_device_create(size, &pa);
    void *p = NULL;
    if (st == HS_OK)
        st = hs_mem_phys_ptr(pa, size, &p);
    if (st != HS_OK)
        return st;              /* a region made stays the kernel's */
    memset(p, 0, size);
    *paddr = pa;
    return HS_OK;
}

/* ---- the driver ---------------------------------------------------------- */

enum req_state { REQ_FREE, REQ_QUEUED, REQ_INFLIGHT };

/* A read or write the driver holds: kept, queued or in flight. */
struct req {
    enum req_state state;
    uint32_t op;
    uint32_t block;
    hs_reply_t reply;           /* its kept call */
    hs_time_t deadline;         /* answered HS_ETIMEOUT then */
    uint64_t arrival;           /* the order requests came in */
    uint64_t data[BLK_BLOCK_WORDS];     /* a write's block */
};

/* A command slot as the driver knows it: never read back from the
 * registers. */
struct slot {
    int busy;                   /* the disk has it */
    int req;                    /* its request; -1: none (timed out) */
    uint32_t block;
    uint64_t seq;               /* the number written to its registers */
};

struct drv {
    const struct blk_cfg *cfg;
    struct blk_stats *stats;
    hs_cap_t irq;               /* ours, bound to the serving thread */
    hs_cap_t doorbell;          /* the disk's; 0: none attached */
    uint64_t next_seq, next_arrival;
    struct slot slot[BLK_DEPTH];
    struct req req[BLK_QUEUE_MAX];
};

static hs_status cfg_check(const struct blk_cfg *c)
{
    if (!c || !nblocks_ok(c->nblocks) || !c->va ||
        (c->va & (HS_PAGE_4K - 1)) || (c->paddr & (HS_PAGE_4K - 1)) ||
        !c->timeout || c->timeout > HS_TIMEOUT_MAX)
        return HS_EINVAL;
    return HS_OK;
}

/* Answer the call just received with status st and no words. */
static void answer_now(hs_status st)
{
    hs_utcb_t *u = hs_utcb();
    u->tag = HS_TAG(st, 0);
    (void)hs_ipc_reply();       /* a caller that gave up is no matter */
}

/* Answer request r with st and, for a read that succeeded, the block in
 * mr[] (put there by the caller); r is free afterwards.  A caller that
 * gave up makes the answer HS_ESTALE: counted, the request freed all the
 * same. */
static void finish(struct drv *d, struct req *r, hs_status st)
{
    hs_utcb_t *u = hs_utcb();
    int words = st == HS_OK && r->op == BLK_READ ? BLK_BLOCK_WORDS : 0;
    u->tag = HS_TAG(st, words);
    if (hs_ipc_reply_to(r->reply) == HS_ESTALE)
        d->stats->stale++;
    d->stats->answered++;
    d->stats->held--;
    if (st == HS_ETIMEOUT)
        d->stats->timeouts++;
    else if (st == HS_EPARTNER)
        d->stats->lost++;
    r->state = REQ_FREE;
}

/* Delete the capabilities the message just received brought in. */
static void drop_caps(void)
{
    hs_utcb_t *u = hs_utcb();
    unsigned w = hs_tag_words(u->tag), n = hs_tag_items(u->tag);
    for (unsigned i = 0; i < n && w + 2 * i + 1 < HS_MR_COUNT; i++)
        if (hs_item_type(u->mr[w + 2 * i]) == HS_ITEM_CAP)
            (void)hs_cap_delete((hs_cap_t)u->mr[w + 2 * i + 1]);
}

/* Write len bytes at off of the driver's window (a register or a DMA
 * buffer). */
static void window_write(const struct drv *d, uint64_t off, const void *p,
                         size_t len)
{
    (void)hs_mem_write(d->cfg->va + off, p, len);
}

static hs_status window_read(const struct drv *d, uint64_t off, void *p,
                             size_t len)
{
    return hs_mem_read(d->cfg->va + off, p, len);
}

static void slot_state_set(const struct drv *d, unsigned i, uint32_t state)
{
    window_write(d, BLK_REG_SLOT(i) + offsetof(struct blk_slot_regs, state),
                 &state, sizeof state);
}

/* The disk ended (its doorbell is stale): the requests in flight are
 * answered HS_EPARTNER and every slot is free for the next disk. */
static void disk_gone(struct drv *d)
{
    (void)hs_cap_delete(d->doorbell);
    d->doorbell = 0;
    for (unsigned i = 0; i < BLK_DEPTH; i++) {
        struct slot *s = &d->slot[i];
        if (!s->busy)
            continue;
        if (s->req >= 0)
            finish(d, &d->req[s->req], HS_EPARTNER);
        s->busy = 0;
        slot_state_set(d, i, BLK_SLOT_FREE);
    }
}

/* Whether a disk is attached and alive; a dead one is let go. */
static int disk_alive(struct drv *d)
{
    hs_cap_info info;
    if (d->doorbell && hs_cap_info_get(d->doorbell, &info) != HS_OK)
        disk_gone(d);
    return d->doorbell != 0;
}

/* Answer every request whose deadline has passed with HS_ETIMEOUT.  A
 * slot in flight stays the disk's until it finishes. */
static void expire(struct drv *d)
{
    hs_time_t now = hs_time_now();
    for (unsigned i = 0; i < BLK_QUEUE_MAX; i++) {
        struct req *r = &d->req[i];
        if (r->state == REQ_FREE || r->deadline > now)
            continue;
        for (unsigned j = 0; r->state == REQ_INFLIGHT && j < BLK_DEPTH; j++)
            if (d->slot[j].busy && d->slot[j].req == (int)i)
                d->slot[j].req = -1;
        finish(d, r, HS_ETIMEOUT);
    }
}

/* ---- starting transfers -------------------------------------------------- */

/* Whether block is in flight (or held by a slot whose request timed out,
 * whose transfer may still happen). */
static int block_in_flight(const struct drv *d, uint32_t block)
{
    for (unsigned i = 0; i < BLK_DEPTH; i++)
        if (d->slot[i].busy && d->slot[i].block == block)
            return 1;
    return 0;
}

static int slot_free(const struct drv *d)
{
    for (unsigned i = 0; i < BLK_DEPTH; i++)
        if (!d->slot[i].busy)
            return (int)i;
    return -1;
}

/* The queued requests' indexes in the order they came; returns how many. */
static unsigned queue_order(const struct drv *d, unsigned *idx)
{
    unsigned n = 0;
    for (unsigned i = 0; i < BLK_QUEUE_MAX; i++) {
        if (d->req[i].state != REQ_QUEUED)
            continue;
        unsigned j = n++;
        while (j && d->req[idx[j - 1]].arrival > d->req[i].arrival) {
            idx[j] = idx[j - 1];
            j--;
        }
        idx[j] = i;
    }
    return n;
}

/* Write request ri into free slot i: its command, then its state (last,
 * for the disk reads the state first); returns the doorbell bit. */
static uint64_t submit(struct drv *d, unsigned i, unsigned ri)
{
    struct req *r = &d->req[ri];
    struct slot *s = &d->slot[i];
    struct blk_slot_regs regs = {
        .state = BLK_SLOT_FREE, .op = r->op, .block = r->block,
        .seq = ++d->next_seq,
    };
    if (r->op == BLK_WRITE)
        window_write(d, BLK_DMA(i), r->data, BLK_BLOCK_SIZE);
    window_write(d, BLK_REG_SLOT(i), &regs, sizeof regs);
    slot_state_set(d, i, BLK_SLOT_SUBMITTED);
    *s = (struct slot){ .busy = 1, .req = (int)ri, .block = r->block,
                        .seq = regs.seq };
    r->state = REQ_INFLIGHT;
    d->stats->started++;
    return (uint64_t)1 << i;
}

/* Start queued requests, oldest first, while slots are free: one whose
 * block is in flight, or asked for by an older queued request, waits. */
static void start_queued(struct drv *d)
{
    unsigned idx[BLK_QUEUE_MAX];
    unsigned n = queue_order(d, idx);
    if (!n || slot_free(d) < 0 || !disk_alive(d))
        return;
    uint64_t bits = 0;
    for (unsigned k = 0; k < n; k++) {
        const struct req *r = &d->req[idx[k]];
        int older = 0;
        for (unsigned j = 0; j < k && !older; j++)
            older = d->req[idx[j]].block == r->block;
        if (older || block_in_flight(d, r->block))
            continue;
        int i = slot_free(d);
        if (i < 0)
            break;
        bits |= submit(d, (unsigned)i, idx[k]);
    }
    if (bits && hs_irq_signal(d->doorbell, bits) != HS_OK)
        disk_gone(d);
}

/* ---- what arrives ---------------------------------------------------------- */

/* The IRQ: slots the disk says it finished.  A bit counts only for a slot
 * in flight whose registers say DONE with the number the driver wrote. */
static void complete(struct drv *d, uint64_t bits)
{
    hs_utcb_t *u = hs_utcb();
    if (bits & ~SLOT_BITS)
        d->stats->spurious++;
    for (unsigned i = 0; i < BLK_DEPTH; i++) {
        struct slot *s = &d->slot[i];
        struct blk_slot_regs regs;
        if (!(bits & ((uint64_t)1 << i)))
            continue;
        if (!s->busy ||
            window_read(d, BLK_REG_SLOT(i), &regs, sizeof regs) != HS_OK ||
            regs.state != BLK_SLOT_DONE || regs.done_seq != s->seq) {
            d->stats->spurious++;
            continue;
        }
        d->stats->completed++;
        if (s->req >= 0) {
            struct req *r = &d->req[s->req];
            hs_status st = regs.status == BLK_DEV_OK ? HS_OK : HS_EFAULT;
            if (st == HS_OK && r->op == BLK_READ &&
                window_read(d, BLK_DMA(i), u->mr, BLK_BLOCK_SIZE) != HS_OK)
                st = HS_EFAULT;
            finish(d, r, st);
        }
        s->busy = 0;
        slot_state_set(d, i, BLK_SLOT_FREE);
    }
}

/* Whether a read or write is well formed; the status to refuse it with. */
static hs_status request_check(const struct drv *d, uint64_t tag)
{
    uint32_t op = hs_tag_label(tag) & 0xff, block = hs_tag_label(tag) >> 8;
    unsigned words = op == BLK_WRITE ? BLK_BLOCK_WORDS : 0;
    if ((op != BLK_READ && op != BLK_WRITE) || hs_tag_items(tag) ||
        hs_tag_words(tag) != words)
        return HS_EINVAL;
    if (block >= d->cfg->nblocks)
        return HS_ERANGE;
    if (d->stats->held == BLK_QUEUE_MAX)
        return HS_ELIMIT;
    return HS_OK;
}

/* A read or write: refused at once, or kept and queued. */
static void do_request(struct drv *d)
{
    hs_utcb_t *u = hs_utcb();
    hs_status st = request_check(d, u->tag);
    if (st != HS_OK) {
        drop_caps();
        d->stats->refused++;
        answer_now(st);
        return;
    }
    struct req *r = d->req;
    while (r->state != REQ_FREE)        /* one is: held < BLK_QUEUE_MAX */
        r++;
    st = hs_ipc_reply_keep(&r->reply);
    if (st != HS_OK) {                  /* HS_ESTALE: its caller is gone */
        if (st != HS_ESTALE)
            answer_now(st);
        return;
    }
    r->op = hs_tag_label(u->tag) & 0xff;
    r->block = hs_tag_label(u->tag) >> 8;
    if (r->op == BLK_WRITE)
        memcpy(r->data, u->mr, BLK_BLOCK_SIZE);
    hs_time_t now = hs_time_now();
    r->deadline = now + d->cfg->timeout;
    r->arrival = d->next_arrival++;
    r->state = REQ_QUEUED;
    d->stats->accepted++;
    if (++d->stats->held > d->stats->max_held)
        d->stats->max_held = d->stats->held;
}

/* The disk attaches: take its doorbell, give it our IRQ's send right. */
static void do_attach(struct drv *d, uint64_t label)
{
    hs_utcb_t *u = hs_utcb();
    hs_status st = HS_OK;
    if (hs_tag_words(u->tag) || hs_tag_items(u->tag) != 1 ||
        hs_item_type(u->mr[0]) != HS_ITEM_CAP)
        st = HS_EINVAL;
    else if (label != BLK_DEVICE_LABEL)
        st = HS_EPERM;
    else if (disk_alive(d))
        st = HS_EEXIST;
    if (st != HS_OK) {
        drop_caps();
        d->stats->refused++;
        answer_now(st);
        return;
    }
    hs_cap_t bell = (hs_cap_t)u->mr[1];
    u->tag = HS_TAG_ITEMS(HS_OK, 0, 1);
    u->mr[0] = HS_ITEM(HS_ITEM_CAP, HS_CAP_SEND);
    u->mr[1] = d->irq;
    st = hs_ipc_reply();
    if (st != HS_OK) {                  /* it gave up, or cannot take it */
        (void)hs_cap_delete(bell);
        if (st != HS_ESTALE && st != HS_ENOREPLY)
            answer_now(st);
        return;
    }
    d->doorbell = bell;
    d->stats->attached++;
}

static void dispatch(struct drv *d, uint64_t label)
{
    hs_utcb_t *u = hs_utcb();
    if (u->tag & HS_TAG_IRQ)
        complete(d, u->mr[0]);
    else if ((hs_tag_label(u->tag) & 0xff) == BLK_ATTACH)
        do_attach(d, label);
    else
        do_request(d);
}

/* Wait for the next call or IRQ, until the earliest deadline of a held
 * request; with none held, serve (a run left with servers only ends). */
static hs_status wait_next(const struct drv *d, uint64_t *label)
{
    hs_utcb_t *u = hs_utcb();
    u->br[HS_BR_CAPS] = 1;              /* the disk's doorbell */
    u->br[HS_BR_MEM] = 0;               /* no memory, ever */
    hs_time_t first = HS_NEVER;
    for (unsigned i = 0; i < BLK_QUEUE_MAX; i++)
        if (d->req[i].state != REQ_FREE && d->req[i].deadline < first)
            first = d->req[i].deadline;
    if (first == HS_NEVER)
        return hs_ipc_serve(label);
    return hs_ipc_wait(hs_deadline(first), label);
}

/* Answer what is held with st and let go of the window, the IRQ object
 * and the doorbell. */
static hs_status drv_stop(struct drv *d, hs_portal_t window, hs_status st)
{
    for (unsigned i = 0; i < BLK_QUEUE_MAX; i++)
        if (d->req[i].state != REQ_FREE)
            finish(d, &d->req[i], st);
    if (d->doorbell)
        (void)hs_cap_delete(d->doorbell);
    (void)hs_irq_destroy(d->irq);
    (void)hs_portal_destroy(window);
    return st;
}

/* Map the window and make the IRQ object, bound to the calling thread. */
static hs_status drv_start(struct drv *d, hs_portal_t *window)
{
    hs_portal_req r = {
        .type = HS_PORTAL_DIRECT, .prot = HS_PROT_READ | HS_PROT_WRITE,
        .length = BLK_WINDOW,
        .morphology = { .addr = d->cfg->va, .paddr = d->cfg->paddr },
    };
    hs_status st = hs_portal(&r, window);
    if (st != HS_OK)
        return st;
    st = hs_irq_create(&d->irq);
    if (st == HS_OK && (st = hs_irq_bind(d->irq, 0, 0)) != HS_OK)
        (void)hs_irq_destroy(d->irq);
    if (st != HS_OK)
        (void)hs_portal_destroy(*window);
    return st;
}

hs_status blk_serve(hs_cap_t gate, const struct blk_cfg *cfg,
                    struct blk_stats *stats)
{
    (void)gate;                 /* served by the open wait of its thread */
    hs_status st = cfg_check(cfg);
    if (st != HS_OK)
        return st;
    struct blk_stats mine;
    struct drv d = { .cfg = cfg, .stats = stats ? stats : &mine };
    memset(d.stats, 0, sizeof *d.stats);
    hs_portal_t window = 0;
    st = drv_start(&d, &window);
    if (st != HS_OK)
        return st;
    for (;;) {
        uint64_t label = 0;
        st = wait_next(&d, &label);
        if (st == HS_ETIMEOUT)
            (void)disk_alive(&d);       /* a dead disk answers nothing */
        else if (st == HS_OK)
            dispatch(&d, label);
        else
            return drv_stop(&d, window, st);
        expire(&d);
        start_queued(&d);
    }
}

/* ---- the disk ---------------------------------------------------------------- */

struct disk {
    const struct blk_disk_cfg *cfg;
    uint8_t *region;            /* the device region, as the device sees it */
    hs_cap_t doorbell;          /* ours, bound to the serving thread */
    hs_cap_t irq;               /* the driver's (send right) */
    unsigned done;              /* transfers finished */
    unsigned taken;             /* transfers taken */
    int hung;
    struct {
        int busy;
        hs_time_t due;
        struct blk_slot_regs cmd;   /* as it was taken */
    } slot[BLK_DEPTH];
};

static struct blk_slot_regs *disk_regs(const struct disk *k, unsigned i)
{
    return (struct blk_slot_regs *)(k->region + BLK_REG_SLOT(i));
}

/* Take the slots the doorbell rang for that are submitted. */
static void disk_take(struct disk *k, uint64_t bits)
{
    for (unsigned i = 0; i < BLK_DEPTH; i++) {
        struct blk_slot_regs *r = disk_regs(k, i);
        if (!(bits & ((uint64_t)1 << i)) || k->slot[i].busy ||
            r->state != BLK_SLOT_SUBMITTED)
            continue;
        hs_time_t t = r->op == BLK_WRITE ? k->cfg->write_latency
                                         : k->cfg->read_latency;
        if (++k->taken == k->cfg->stall_at)
            t += k->cfg->stall;
        k->slot[i].cmd = *r;
        k->slot[i].busy = 1;
        k->slot[i].due = hs_time_now() + t;
        r->state = BLK_SLOT_BUSY;
    }
}

/* Carry out slot i's transfer, post its status, then interrupt. */
static void disk_transfer(struct disk *k, unsigned i)
{
    const struct blk_slot_regs *c = &k->slot[i].cmd;
    struct blk_slot_regs *r = disk_regs(k, i);
    uint8_t *dma = k->region + BLK_DMA(i);
    uint32_t status = BLK_DEV_OK;
    if (c->block >= k->cfg->nblocks)
        status = BLK_DEV_ERROR;         /* the driver's word is not law */
    else if (c->op == BLK_READ)
        memcpy(dma, k->region + BLK_MEDIUM(c->block), BLK_BLOCK_SIZE);
    else if (c->op == BLK_WRITE)
        memcpy(k->region + BLK_MEDIUM(c->block), dma, BLK_BLOCK_SIZE);
    else
        status = BLK_DEV_ERROR;
    r->status = status;
    r->done_seq = c->seq;
    r->state = BLK_SLOT_DONE;
    k->slot[i].busy = 0;
    k->done++;
    (void)hs_irq_signal(k->irq, (uint64_t)1 << i);  /* driver gone: none */
}

/* Finish the slots whose time has come, unless the disk dies or hangs. */
static void disk_finish_due(struct disk *k)
{
    hs_time_t now = hs_time_now();
    for (unsigned i = 0; i < BLK_DEPTH && !k->hung; i++) {
        if (!k->slot[i].busy || k->slot[i].due > now)
            continue;
        if (k->cfg->die_after && k->done == k->cfg->die_after)
            hs_proc_exit(BLK_DISK_DIED);
        if (k->cfg->hang_after && k->done == k->cfg->hang_after) {
            k->hung = 1;
            return;
        }
        disk_transfer(k, i);
    }
}

/* Wait for the doorbell, or for the first transfer due. */
static hs_status disk_wait(const struct disk *k)
{
    hs_time_t first = HS_NEVER;
    for (unsigned i = 0; i < BLK_DEPTH && !k->hung; i++)
        if (k->slot[i].busy && k->slot[i].due < first)
            first = k->slot[i].due;
    if (first == HS_NEVER)
        return hs_ipc_serve(NULL);
    return hs_ipc_wait(hs_deadline(first), NULL);
}

/* Attach to the driver: our doorbell for its IRQ. */
static hs_status disk_attach(struct disk *k, hs_cap_t driver)
{
    hs_utcb_t *u = hs_utcb();
    u->tag = HS_TAG_ITEMS(BLK_ATTACH, 0, 1);
    u->mr[0] = HS_ITEM(HS_ITEM_CAP, HS_CAP_SEND);
    u->mr[1] = k->doorbell;
    u->br[HS_BR_CAPS] = 1;
    hs_status st = hs_ipc_call(driver, ATTACH_TIMEOUT, ATTACH_TIMEOUT);
    u->br[HS_BR_CAPS] = 0;
    if (st != HS_OK)
        return st;
    st = (hs_status)hs_tag_label(u->tag);
    if (st == HS_OK && hs_tag_items(u->tag) == 1 &&
        hs_item_type(u->mr[0]) == HS_ITEM_CAP) {
        k->irq = (hs_cap_t)u->mr[1];
        return HS_OK;
    }
    drop_caps();
    return st == HS_OK ? HS_EINVAL : st;
}

static hs_status disk_cfg_check(const struct blk_disk_cfg *c)
{
    if (!c || !nblocks_ok(c->nblocks) || (c->paddr & (HS_PAGE_4K - 1)) ||
        c->read_latency > HS_TIMEOUT_MAX ||
        c->write_latency > HS_TIMEOUT_MAX || c->stall > HS_TIMEOUT_MAX)
        return HS_EINVAL;
    return HS_OK;
}

hs_status blk_disk_serve(hs_cap_t driver, const struct blk_disk_cfg *cfg)
{
    hs_status st = disk_cfg_check(cfg);
    if (st != HS_OK)
        return st;
    struct disk k = { .cfg = cfg };
    void *p = NULL;
    st = hs_mem_phys_ptr(cfg->paddr, blk_region_size(cfg->nblocks), &p);
    if (st != HS_OK)
        return st;
    k.region = p;
    st = hs_irq_create(&k.doorbell);
    if (st != HS_OK)
        return st;
    st = hs_irq_bind(k.doorbell, 0, 0);
    if (st == HS_OK)
        st = disk_attach(&k, driver);
    while (st == HS_OK) {
        st = disk_wait(&k);
        if (st == HS_OK && (hs_utcb()->tag & HS_TAG_IRQ) && !k.hung)
            disk_take(&k, hs_utcb()->mr[0]);
        if (st == HS_OK || st == HS_ETIMEOUT)
            st = HS_OK;
        disk_finish_due(&k);
    }
    if (k.irq)
        (void)hs_cap_delete(k.irq);
    (void)hs_irq_destroy(k.doorbell);
    return st;
}

/* ---- the client calls -------------------------------------------------------- */

/* Call blk with op on block and the words already in mr[]; the driver's
 * status, or the IPC error. */
static hs_status blk_call(hs_cap_t blk, enum blk_op op, uint64_t block,
                          unsigned words, hs_time_t timeout)
{
    hs_utcb_t *u = hs_utcb();
    u->tag = HS_TAG(BLK_LABEL(op, block), words);
    hs_status st = hs_ipc_call(blk, timeout, timeout);
    if (st != HS_OK)
        return st;
    uint32_t answer = hs_tag_label(u->tag);
    return answer < HS_STATUS_COUNT ? (hs_status)answer : HS_EINVAL;
}

hs_status blk_read(hs_cap_t blk, uint64_t block, void *buf,
                   hs_time_t timeout)
{
    if (!buf)
        return HS_EINVAL;
    if (block >= BLK_BLOCKS_MAX)
        return HS_ERANGE;
    hs_status st = blk_call(blk, BLK_READ, block, 0, timeout);
    if (st != HS_OK)
        return st;
    if (hs_tag_words(hs_utcb()->tag) != BLK_BLOCK_WORDS)
        return HS_EINVAL;
    memcpy(buf, hs_utcb()->mr, BLK_BLOCK_SIZE);
    return HS_OK;
}

hs_status blk_write(hs_cap_t blk, uint64_t block, const void *buf,
                    hs_time_t timeout)
{
    if (!buf)
        return HS_EINVAL;
    if (block >= BLK_BLOCKS_MAX)
        return HS_ERANGE;
    memcpy(hs_utcb()->mr, buf, BLK_BLOCK_SIZE);
    return blk_call(blk, BLK_WRITE, block, BLK_BLOCK_WORDS, timeout);
}
