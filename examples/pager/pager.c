/*
 * examples/pager/pager.c - the pager and its client calls (see pager.h).
 *
 * The port's handler runs for every hop into the pager: on a new thread
 * of the pager for a page fault, on the client's own thread for attach
 * and detach.  It passes each on by IPC to the gate of the thread that
 * called pager_serve(), which alone reads and changes the tables below.
 */
#include <string.h>

#include "pager.h"

#define RW (HS_PROT_READ | HS_PROT_WRITE)
#define PAGE HS_PAGE_4K

/* The gate's operations besides attach and detach: a fault, sent (not
 * called) by the port's handler with FAULT_WORDS words. */
#define PAGER_OP_FAULT 0x100u
enum fault_word { FW_PF, FW_ADDR, FW_ACCESS, FW_FLAGS, FW_SOURCE,
                  FAULT_WORDS };

/* Where a client's page is. */
enum page_where {
    PAGE_UNTOUCHED,             /* never given: zero */
    PAGE_RESIDENT,              /* in frame client.frame[page] */
    PAGE_SAVED,                 /* in the backing store */
};

struct client {
    hs_pid_t pid;               /* 0: the slot is free */
    uint8_t where[PAGER_PAGES_MAX];     /* enum page_where */
    uint8_t frame[PAGER_PAGES_MAX];     /* with PAGE_RESIDENT */
};

_Static_assert(PAGER_FRAMES_MAX <= 256, "a frame number fits client.frame");

struct frame {
    int slot;                   /* client slot of its page, -1: free */
    unsigned page;
};

struct pager {
    struct pager_cfg cfg;
    struct pager_stats *stats;
    struct client client[PAGER_CLIENTS_MAX];
    struct frame frame[PAGER_FRAMES_MAX];
    unsigned hand;              /* the clock: next frame to evict */
};

/* A fault as the port's handler passed it on. */
struct fault_msg {
    hs_pagefault_t pf;
    uint64_t addr;
    uint64_t access;
    uint64_t flags;
    hs_pid_t source;            /* the process the hop came from */
};

static uint64_t frame_va(unsigned fr)
{
    return PAGER_FRAMES_VA + (uint64_t)fr * PAGE;
}

static uint64_t swap_va(const struct pager *pg, unsigned slot, unsigned page)
{
    return PAGER_SWAP_VA + ((uint64_t)slot * pg->cfg.pages + page) * PAGE;
}

static uint64_t swap_len(const struct pager_cfg *cfg)
{
    return (uint64_t)cfg->clients * cfg->pages * PAGE;
}

/* ---- pages of the pager's own memory ------------------------------------ */

/* Copy the page at src to the page at dst, both the pager's. */
static hs_status page_copy(uint64_t dst, uint64_t src)
{
    void *to = NULL, *from = NULL;
    hs_status st = hs_mem_ptr(dst, PAGE, HS_PROT_WRITE, &to);
    if (st == HS_OK)
        st = hs_mem_ptr(src, PAGE, HS_PROT_READ, &from);
    if (st == HS_OK)
        memcpy(to, from, PAGE);
    return st;
}

static hs_status page_zero(uint64_t va)
{
    void *p = NULL;
    hs_status st = hs_mem_ptr(va, PAGE, HS_PROT_WRITE, &p);
    if (st == HS_OK)
        memset(p, 0, PAGE);
    return st;
}

/* The disk: a page read in or written out takes cfg.io_time. */
static void io_wait(const struct pager *pg)
{
    if (pg->cfg.io_time)
        (void)hs_thread_sleep(pg->cfg.io_time);
}

/* ---- frames ------------------------------------------------------------- */

/* Give frame fr to page of client slot: the client maps it now. */
static void frame_bind(struct pager *pg, unsigned fr, unsigned slot,
                       unsigned page)
{
    struct client *c = &pg->client[slot];
    pg->frame[fr].slot = (int)slot;
    pg->frame[fr].page = page;
    c->where[page] = PAGE_RESIDENT;
    c->frame[page] = (uint8_t)fr;
    if (++pg->stats->resident > pg->stats->resident_max)
        pg->stats->resident_max = pg->stats->resident;
}

/* Take frame fr's page back from its client: after hs_mem_revoke, the
 * client's next touch of the page faults again, and nothing it writes
 * can reach the frame.  The frame stays bound; the caller decides what
 * becomes of the page. */
static hs_status frame_take_back(unsigned fr)
{
    return hs_mem_revoke(frame_va(fr), PAGE);
}

/* Forget frame fr's page (taken back already), which becomes where. */
static void frame_unbind(struct pager *pg, unsigned fr, enum page_where where)
{
    struct frame *f = &pg->frame[fr];
    pg->client[f->slot].where[f->page] = (uint8_t)where;
    f->slot = -1;
    pg->stats->resident--;
}

/* Evict the page in frame fr: take it back first, so that no write of
 * its client falls between the save and the unmap (a save, with the
 * disk's time, is not instant), then save it. */
static hs_status frame_evict(struct pager *pg, unsigned fr)
{
    const struct frame *f = &pg->frame[fr];
    hs_status st = frame_take_back(fr);
    if (st == HS_OK)
        st = page_copy(swap_va(pg, (unsigned)f->slot, f->page), frame_va(fr));
    if (st != HS_OK)
        return st;
    io_wait(pg);
    frame_unbind(pg, fr, PAGE_SAVED);
    pg->stats->evictions++;
    return HS_OK;
}

/* A free frame in *fr: one never used or let go, else the one the clock
 * hand is at, evicted (the hand moves on past a frame whose eviction
 * failed).  HS_ELIMIT when no frame could be evicted. */
static hs_status frame_get(struct pager *pg, unsigned *fr)
{
    unsigned n = pg->cfg.frames;
    for (unsigned i = 0; i < n; i++)
        if (pg->frame[i].slot < 0) {
            *fr = i;
            return HS_OK;
        }
    for (unsigned i = 0; i < n; i++) {
        unsigned at = pg->hand;
        pg->hand = (pg->hand + 1) % n;
        if (frame_evict(pg, at) == HS_OK) {
            *fr = at;
            return HS_OK;
        }
    }
    return HS_ELIMIT;
}

/* ---- clients ------------------------------------------------------------ */

static struct client *client_find(struct pager *pg, hs_pid_t pid)
{
    for (unsigned i = 0; i < pg->cfg.clients; i++)
        if (pid && pg->client[i].pid == pid)
            return &pg->client[i];
    return NULL;
}

/* Let client c go: every page of it in a frame is taken back and the
 * frame freed, and the slot with it.  On an error of hs_mem_revoke, the
 * pages taken so far are let go and the slot stays. */
static hs_status client_forget(struct pager *pg, struct client *c)
{
    for (unsigned p = 0; p < pg->cfg.pages; p++) {
        if (c->where[p] != PAGE_RESIDENT)
            continue;
        hs_status st = frame_take_back(c->frame[p]);
        if (st != HS_OK)
            return st;
        frame_unbind(pg, c->frame[p], PAGE_UNTOUCHED);
    }
    c->pid = 0;
    pg->stats->attached--;
    return HS_OK;
}

/* A free slot, letting go of clients that ended and were reaped (whose
 * process no longer exists) if none is free. */
static struct client *client_slot(struct pager *pg)
{
    for (unsigned i = 0; i < pg->cfg.clients; i++)
        if (!pg->client[i].pid)
            return &pg->client[i];
    char name[HS_NAME_MAX + 1];
    for (unsigned i = 0; i < pg->cfg.clients; i++) {
        struct client *c = &pg->client[i];
        if (hs_proc_name(c->pid, name, sizeof name) == HS_ESRCH &&
            client_forget(pg, c) == HS_OK)
            return c;
    }
    return NULL;
}

static hs_status client_attach(struct pager *pg, hs_pid_t pid)
{
    if (!pid)
        return HS_EINVAL;
    if (client_find(pg, pid))
        return HS_EEXIST;
    struct client *c = client_slot(pg);
    if (!c)
        return HS_ELIMIT;
    memset(c->where, PAGE_UNTOUCHED, sizeof c->where);
    c->pid = pid;
    pg->stats->attached++;
    return HS_OK;
}

static hs_status client_detach(struct pager *pg, hs_pid_t pid)
{
    struct client *c = client_find(pg, pid);
    return c ? client_forget(pg, c) : HS_ENOENT;
}

/* ---- faults ------------------------------------------------------------- */

/* Refuse fault pf: the kernel kills its thread. */
static void fault_refuse(struct pager *pg, hs_pagefault_t pf)
{
    if (hs_mem_fault_resolve(pf, HS_PF_NOPAGE, HS_XFER_SHARE, 0) == HS_OK)
        pg->stats->refused++;
    else
        pg->stats->stale++;
}

/* Whether process pid maps va now for access. */
static int mapped_for(hs_pid_t pid, uint64_t va, unsigned access)
{
    hs_mem_info info;
    return hs_mem_query(pid, va, &info) == HS_OK &&
           (info.prot & access) == access;
}

/* Answer fault f of client c with the pager's page at src.  HS_OK: src
 * is the client's now.  Otherwise the fault has been dealt with some
 * other way and src is not mapped: HS_ESTALE (its thread is gone),
 * HS_EEXIST with the page mapped already (another thread's fault got it
 * first: this one retries its access), or refused. */
static hs_status fault_answer(struct pager *pg, const struct client *c,
                              const struct fault_msg *f, uint64_t src)
{
    hs_status st = hs_mem_fault_resolve(f->pf, src, HS_XFER_SHARE, RW);
    if (st == HS_OK)
        return HS_OK;
    if (st == HS_ESTALE) {
        pg->stats->stale++;
        return st;
    }
    if (st == HS_EEXIST && mapped_for(c->pid, f->addr, (unsigned)f->access) &&
        hs_mem_fault_resolve(f->pf, HS_PF_NOPAGE, HS_XFER_SHARE, RW) == HS_OK)
        return st;
    fault_refuse(pg, f->pf);
    return st;
}

/* The client of fault f and its page, or NULL for a fault the pager
 * does not take. */
static struct client *fault_client(struct pager *pg,
                                   const struct fault_msg *f, unsigned *page)
{
    uint64_t region = pg->cfg.region;
    uint64_t end = region + (uint64_t)pg->cfg.pages * PAGE;
    if (f->flags || !f->access ||
        (f->access & ~(uint64_t)RW) || f->addr < region || f->addr >= end)
        return NULL;
    *page = (unsigned)((f->addr - region) / PAGE);
    return client_find(pg, f->source);
}

/* Page in a page of client slot: a free frame (evicting if need be),
 * filled with zeroes or the saved page, then shared into the client. */
static void fault_page_in(struct pager *pg, unsigned slot, unsigned page,
                          const struct fault_msg *f)
{
    struct client *c = &pg->client[slot];
    unsigned fr = 0;
    if (frame_get(pg, &fr) != HS_OK) {
        fault_refuse(pg, f->pf);
        return;
    }
    int saved = c->where[page] == PAGE_SAVED;
    hs_status st = saved ? page_copy(frame_va(fr), swap_va(pg, slot, page))
                         : page_zero(frame_va(fr));
    if (st != HS_OK) {
        fault_refuse(pg, f->pf);
        return;
    }
    io_wait(pg);
    if (fault_answer(pg, c, f, frame_va(fr)) != HS_OK)
        return;                 /* the frame stays free, the page as it was */
    frame_bind(pg, fr, slot, page);
    if (saved)
        pg->stats->swap_ins++;
    else
        pg->stats->zero_fills++;
}

static void fault_take(struct pager *pg, const struct fault_msg *f)
{
    pg->stats->faults++;
    unsigned page = 0;
    struct client *c = fault_client(pg, f, &page);
    if (!c) {
        fault_refuse(pg, f->pf);
        return;
    }
    if (c->where[page] != PAGE_RESIDENT) {
        fault_page_in(pg, (unsigned)(c - pg->client), page, f);
        return;
    }
    /* In its frame still: the client unmapped it, or another of its
     * threads faulted on it first. */
    if (fault_answer(pg, c, f, frame_va(c->frame[page])) == HS_OK)
        pg->stats->remaps++;
}

/* ---- the serving thread ------------------------------------------------- */

/* Answer the call just received with st; whether the answer landed. */
static int answer(hs_status st)
{
    hs_utcb_t *u = hs_utcb();
    u->tag = HS_TAG(0, 1);
    u->mr[0] = (uint64_t)st;
    return hs_ipc_reply() == HS_OK;
}

static void request_take(struct pager *pg, uint32_t op, hs_pid_t pid)
{
    hs_status st = op == PAGER_ATTACH ? client_attach(pg, pid)
                   : op == PAGER_DETACH ? client_detach(pg, pid)
                                        : HS_EINVAL;
    /* An attach its client did not see is none. */
    if (!answer(st) && op == PAGER_ATTACH && st == HS_OK)
        (void)client_forget(pg, client_find(pg, pid));
}

/* The message just received, from the port's handler. */
static void message_take(struct pager *pg)
{
    const hs_utcb_t *u = hs_utcb();
    uint32_t op = hs_tag_label(u->tag);
    unsigned words = hs_tag_words(u->tag);
    if (op != PAGER_OP_FAULT) {
        request_take(pg, op, words == 1 ? u->mr[0] : 0);
        return;
    }
    if (words != FAULT_WORDS)
        return;
    struct fault_msg f = {
        .pf = u->mr[FW_PF], .addr = u->mr[FW_ADDR],
        .access = u->mr[FW_ACCESS], .flags = u->mr[FW_FLAGS],
        .source = u->mr[FW_SOURCE],
    };
    fault_take(pg, &f);
}

static int cfg_valid(const struct pager_cfg *cfg)
{
    uint64_t len = cfg ? (uint64_t)cfg->pages * PAGE : 0;
    return cfg && !(cfg->region & (PAGE - 1)) &&
           cfg->pages >= 1 && cfg->pages <= PAGER_PAGES_MAX &&
           cfg->frames >= 1 && cfg->frames <= PAGER_FRAMES_MAX &&
           cfg->clients >= 1 && cfg->clients <= PAGER_CLIENTS_MAX &&
           cfg->region < HS_VA_LIMIT && len <= HS_VA_LIMIT - cfg->region;
}

/* The pager's frames, backing store and gate, then its port, published
 * under name with its handler, which passes hops on to the gate (its
 * cookie).  On error, what was made is given back. */
static hs_status pager_start(const struct pager_cfg *cfg, const char *name,
                             hs_cap_t *gate);

static void pager_hop(hs_hop_t *hop, void *cookie);

hs_status pager_serve(const char *name, const struct pager_cfg *cfg,
                      struct pager_stats *stats)
{
    if (!cfg_valid(cfg))
        return HS_EINVAL;
    struct pager pg;
    struct pager_stats own;
    memset(&pg, 0, sizeof pg);
    pg.cfg = *cfg;
    pg.stats = stats ? stats : &own;
    memset(pg.stats, 0, sizeof *pg.stats);
    for (unsigned i = 0; i < PAGER_FRAMES_MAX; i++)
        pg.frame[i].slot = -1;
    hs_cap_t gate = 0;
    hs_status st = pager_start(cfg, name, &gate);
    while (st == HS_OK) {
        st = hs_ipc_serve(NULL);
        if (st == HS_OK)
            message_take(&pg);
    }
    return st;
}

static hs_status pager_start(const struct pager_cfg *cfg, const char *name,
                             hs_cap_t *gate)
{
    uint64_t frames = (uint64_t)cfg->frames * PAGE;
    hs_status st = hs_mem_map(PAGER_FRAMES_VA, frames, RW, PAGE);
    if (st != HS_OK)
        return st;
    st = hs_mem_map(PAGER_SWAP_VA, swap_len(cfg), RW, 0);
    if (st == HS_OK) {
        st = hs_gate_create(0, 0, gate);
        hs_port_t port = 0;
        if (st == HS_OK) {
            st = hs_port_create_named_handler(name, pager_hop,
                                              (void *)(uintptr_t)*gate,
                                              &port);
            if (st != HS_OK)
                (void)hs_cap_delete(*gate);
        }
        if (st != HS_OK)
            (void)hs_mem_unmap(PAGER_SWAP_VA, swap_len(cfg));
    }
    if (st != HS_OK)
        (void)hs_mem_unmap(PAGER_FRAMES_VA, frames);
    return st;
}

/* ---- the port's handler ------------------------------------------------- */

/* A page fault the kernel delivered (pf, from hs_hop_fault(): the
 * message's mr[1] says so too, but anyone may write that): pass it on to
 * the gate, with the process the hop came from, which is the faulting one
 * (not the message's mr[4], for the same reason); if it cannot be passed
 * on, refuse it, since nobody else would answer it. */
static void fault_pass_on(hs_hop_t *hop, hs_pagefault_t pf, hs_cap_t gate)
{
    uint64_t w[FAULT_WORDS] = {
        [FW_PF] = pf, [FW_ADDR] = hs_mr(hop, 2),
        [FW_ACCESS] = hs_mr(hop, 3), [FW_FLAGS] = hs_mr(hop, 6),
        [FW_SOURCE] = hs_hop_source(hop),
    };
    hs_utcb_t *u = hs_utcb();
    u->tag = HS_TAG(PAGER_OP_FAULT, FAULT_WORDS);
    memcpy(u->mr, w, sizeof w);
    if (hs_ipc_send(gate, HS_NEVER) != HS_OK)
        (void)hs_mem_fault_resolve(w[FW_PF], HS_PF_NOPAGE, HS_XFER_SHARE, 0);
}

/* Attach or detach: pass it on and wait for the answer, within the
 * timeout the client gave. */
static hs_status request_pass_on(hs_hop_t *hop, hs_cap_t gate, uint64_t op)
{
    if (op != PAGER_ATTACH && op != PAGER_DETACH)
        return HS_EINVAL;
    hs_time_t timeout = (hs_time_t)hs_mr(hop, 1);
    hs_utcb_t *u = hs_utcb();
    u->tag = HS_TAG(op, 1);
    u->mr[0] = hs_hop_source(hop);
    hs_status st = hs_ipc_call(gate, timeout, timeout);
    return st == HS_OK ? (hs_status)u->mr[0] : st;
}

static void pager_hop(hs_hop_t *hop, void *cookie)
{
    hs_cap_t gate = (hs_cap_t)(uintptr_t)cookie;
    uint64_t op = hs_mr(hop, 0);
    hs_pagefault_t pf = hs_hop_fault(hop);
    if (pf) {
        fault_pass_on(hop, pf, gate);
        return;
    }
    if (op == HS_PF_LABEL)          /* a client's look-alike: not a fault */
        return;
    hs_status st = request_pass_on(hop, gate, op);
    hs_utcb()->mr[0] = (uint64_t)st;
}

/* ---- the client calls --------------------------------------------------- */

static hs_status request(hs_port_t port, enum pager_op op, hs_time_t timeout)
{
    hs_utcb_t *u = hs_utcb();
    u->mr[0] = op;
    u->mr[1] = (uint64_t)timeout;
    hs_status st = hs_hop(port, HS_HOP_CHECKPOINT, HS_NEVER);
    return st == HS_OK ? (hs_status)u->mr[0] : st;
}

hs_status pager_attach(hs_port_t port, hs_time_t timeout)
{
    hs_status st = request(port, PAGER_ATTACH, timeout);
    if (st != HS_OK)
        return st;
    st = hs_mem_pager_set(port);
    if (st != HS_OK)
        (void)request(port, PAGER_DETACH, timeout);
    return st;
}

hs_status pager_detach(hs_port_t port, hs_time_t timeout)
{
    hs_status st = request(port, PAGER_DETACH, timeout);
    if (st == HS_OK)
        st = hs_mem_pager_set(0);
    return st;
}
