/*
 * examples/lib/largemsg.c - large messages mapped lazily on first access.
 *
 * The three hops of a first touch, all through library ports:
 *
 *   receiver R                         sender S
 *   fault at page p of an opened range
 *     -> R's port (pager, new thread T)
 *   T: LM_FETCH (offer, offset, p, R's port)  --hop-->  S's port
 *                                      S: LM_DELIVER (p) + the page as a
 *      R's port  <--hop, item offered--   memory item with the offer's mode
 *   T in R again: accept at p, return
 *                                      S: return the status
 *   T: resolve the fault (HS_PF_NOPAGE: the accept mapped it)
 */
#include <string.h>

#include "largemsg.h"

#define PAGE HS_PAGE_4K

enum lm_op {
    LM_FETCH = 1,           /* receiver -> sender: give page at offset */
    LM_DELIVER = 2,         /* sender -> receiver: take the offered page */
    LM_RELEASE = 3,         /* receiver -> sender: the offer is over */
};

struct lm_offer_rec {
    uint64_t id;            /* 0: free */
    uint64_t va, len;       /* the buffer */
    uint64_t hold;          /* cow: where the view of it is (else 0) */
    hs_portal_t portal;     /* cow: the view */
    uint32_t mode, prot;
    hs_pid_t to;            /* the one process that may fetch it */
};

struct lm_region {
    uint64_t va, len;       /* len 0: free; len rounded up to pages */
    lm_header h;
};

/* The page at LM_STATE_VA of every process using the library. */
struct lm_state {
    uint64_t magic;
    hs_port_t port;
    int pager_set;
    uint64_t next_id;
    struct lm_offer_rec offers[LM_OFFERS_MAX];
    struct lm_region regions[LM_REGIONS_MAX];
};

_Static_assert(sizeof(struct lm_state) <= PAGE, "the state fits a page");

static void lm_handler(hs_hop_t *hop, void *cookie);

static uint64_t pages_of(uint64_t len)
{
    return (len + PAGE - 1) & ~(PAGE - 1);
}

/* The caller's process's state, made on first use when create is 1 (a
 * page of memory and the port); NULL with *st set otherwise. */
static struct lm_state *state_get(int create, hs_status *st)
{
    void *p = NULL;
    *st = hs_mem_probe(LM_STATE_VA, sizeof(struct lm_state),
                       HS_PROT_READ | HS_PROT_WRITE);
    if (*st == HS_OK) {
        *st = hs_mem_ptr(LM_STATE_VA, sizeof(struct lm_state),
                         HS_PROT_READ | HS_PROT_WRITE, &p);
        return *st == HS_OK ? p : NULL;
    }
    if (*st != HS_EFAULT)
        return NULL;
    if (!create) {
        *st = HS_ENOENT;
        return NULL;
    }
    hs_port_t port = 0;
    *st = hs_port_create(&port);
    if (*st == HS_OK)
        *st = hs_port_set_handler(port, lm_handler, NULL);
    if (*st == HS_OK)
        *st = hs_mem_map(LM_STATE_VA, PAGE, HS_PROT_READ | HS_PROT_WRITE,
                         PAGE);
    if (*st == HS_OK)
        *st = hs_mem_ptr(LM_STATE_VA, sizeof(struct lm_state),
                         HS_PROT_READ | HS_PROT_WRITE, &p);
    if (*st != HS_OK) {
        if (port)
            (void)hs_port_destroy(port);
        return NULL;
    }
    struct lm_state *s = p;
    memset(s, 0, sizeof *s);
    s->magic = LM_MAGIC;
    s->port = port;
    s->next_id = 1;
    return s;
}

static struct lm_offer_rec *offer_find(struct lm_state *s, uint64_t id)
{
    for (unsigned i = 0; id && i < LM_OFFERS_MAX; i++)
        if (s->offers[i].id == id)
            return &s->offers[i];
    return NULL;
}

/* The opened range holding address va, or NULL. */
static struct lm_region *region_find(struct lm_state *s, uint64_t va)
{
    for (unsigned i = 0; i < LM_REGIONS_MAX; i++) {
        struct lm_region *r = &s->regions[i];
        if (r->len && va >= r->va && va - r->va < r->len)
            return r;
    }
    return NULL;
}

static int page_mapped(uint64_t va)
{
    hs_mem_info info;
    return hs_mem_query(0, va, &info) == HS_OK;
}

/* ---- sender ------------------------------------------------------------------ */

/* Check that every page of [va, va + len) is mapped with at least need. */
static hs_status range_check(uint64_t va, uint64_t len, unsigned need)
{
    for (uint64_t a = va; a < va + len; a += PAGE) {
        hs_mem_info info;
        hs_status st = hs_mem_query(0, a, &info);
        if (st != HS_OK)
            return st;
        if ((need & ~info.max_prot) || (info.flags & HS_MEM_DIRECT))
            return HS_EPERM;
    }
    return HS_OK;
}

static hs_status offer_args_check(uint64_t va, uint64_t len, unsigned mode,
                                  unsigned prot, const lm_header *h)
{
    if (!h || (va & (PAGE - 1)) || len == 0 || len > LM_LEN_MAX ||
        mode < HS_XFER_MOVE || mode > HS_XFER_COW || prot == 0 ||
        (prot & ~HS_PROT_ALL) ||
        (mode == HS_XFER_COW && !(prot & HS_PROT_READ)))
        return HS_EINVAL;
    if (va >= HS_VA_LIMIT || pages_of(len) > HS_VA_LIMIT - va)
        return HS_ERANGE;
    return range_check(va, pages_of(len), prot);
}

/* Make the copy-on-write view of offer o (slot i): both o's buffer and
 * the view become copy-on-write, so later writes of the sender do not
 * reach the receiver.  The view keeps the buffer's offset within 1 GiB,
 * so large pages line up. */
static hs_status hold_make(struct lm_offer_rec *o, unsigned i)
{
    /* The view carries the offer's protection: a copy-on-write item may
     * pass on no more than its page holds. */
    hs_portal_req req;
    memset(&req, 0, sizeof req);
    req.type = HS_PORTAL_COW;
    req.prot = o->prot;
    req.length = pages_of(o->len);
    req.morphology.src = o->va;
    req.morphology.addr = LM_HOLD_VA + (uint64_t)i * 2 * LM_LEN_MAX +
                          (o->va & (LM_LEN_MAX - 1));
    hs_status st = hs_portal(&req, &o->portal);
    if (st == HS_OK)
        o->hold = req.morphology.addr;
    return st;
}

hs_status lm_offer(hs_pid_t to, uint64_t va, uint64_t len, unsigned mode,
                   unsigned prot, lm_header *h)
{
    hs_status st = to ? offer_args_check(va, len, mode, prot, h) : HS_EINVAL;
    if (st != HS_OK)
        return st;
    struct lm_state *s = state_get(1, &st);
    if (!s)
        return st;
    unsigned i = 0;
    while (i < LM_OFFERS_MAX && s->offers[i].id)
        i++;
    if (i == LM_OFFERS_MAX)
        return HS_ELIMIT;
    /* The receiver hops into our port to fetch: it must be given it. */
    if ((st = hs_port_grant(s->port, to)) != HS_OK)
        return st;
    struct lm_offer_rec *o = &s->offers[i];
    *o = (struct lm_offer_rec){ .va = va, .len = len, .mode = mode,
                                .prot = prot, .to = to };
    if (mode == HS_XFER_COW && (st = hold_make(o, i)) != HS_OK) {
        memset(o, 0, sizeof *o);
        return st;
    }
    o->id = s->next_id++;
    *h = (lm_header){ .magic = LM_MAGIC, .port = s->port,
                      .pid = hs_proc_self(), .offer = o->id, .len = len,
                      .mode = mode, .prot = prot };
    return HS_OK;
}

/* End offer o: close its view. */
static void offer_end(struct lm_offer_rec *o)
{
    if (o->portal)
        (void)hs_portal_destroy(o->portal);
    memset(o, 0, sizeof *o);
}

hs_status lm_send(hs_chan *c, hs_pid_t to, uint64_t va, uint64_t len,
                  unsigned mode, unsigned prot)
{
    lm_header h;
    hs_status st = lm_offer(to, va, len, mode, prot, &h);
    if (st != HS_OK)
        return st;
    st = hs_chan_send(c, &h, sizeof h);
    if (st != HS_OK) {
        hs_status ignored;
        struct lm_state *s = state_get(0, &ignored);
        struct lm_offer_rec *o = s ? offer_find(s, h.offer) : NULL;
        if (o)
            offer_end(o);
    }
    return st;
}

hs_status lm_offers_pending(unsigned *n)
{
    if (!n)
        return HS_EINVAL;
    hs_status st;
    struct lm_state *s = state_get(0, &st);
    *n = 0;
    if (!s)
        return st == HS_ENOENT ? HS_OK : st;
    for (unsigned i = 0; i < LM_OFFERS_MAX; i++)
        *n += s->offers[i].id != 0;
    return HS_OK;
}

/* LM_FETCH in the sender: offer the page at offset mr[2] of offer mr[1]
 * to the receiver's port mr[4], for its page mr[3]. */
static hs_status lend(hs_hop_t *hop, struct lm_state *s)
{
    struct lm_offer_rec *o = offer_find(s, hs_mr(hop, 1));
    uint64_t off = hs_mr(hop, 2), dst = hs_mr(hop, 3);
    hs_port_t back = hs_mr(hop, 4);
    if (!o || off >= o->len || (off & (PAGE - 1)))
        return HS_ENOENT;
    if (hs_hop_source(hop) != o->to)
        return HS_EPERM;        /* offered to another process */
    uint64_t src = (o->hold ? o->hold : o->va) + off;
    hs_utcb_t *u = hs_utcb();
    u->tag = HS_TAG_ITEMS(LM_LABEL, 2, 1);
    u->mr[0] = LM_DELIVER;
    u->mr[1] = dst;
    u->mr[2] = HS_ITEM_MEM_WORD(o->mode, o->prot);
    u->mr[3] = HS_FPAGE(src, 12);
    hs_status st = hs_hop(back, HS_HOP_CHECKPOINT | HS_HOP_ITEMS, HS_NEVER);
    return st == HS_OK ? (hs_status)u->mr[0] : st;
}

/* ---- receiver ------------------------------------------------------------- */

static hs_status header_check(const lm_header *h)
{
    if (h->magic != LM_MAGIC || h->len == 0 || h->len > LM_LEN_MAX ||
        h->mode < HS_XFER_MOVE || h->mode > HS_XFER_COW || h->prot == 0 ||
        (h->prot & ~HS_PROT_ALL))
        return HS_EINVAL;
    return HS_OK;
}

/* The receiving side of a state: its port is the process's pager. */
static hs_status pager_ensure(struct lm_state *s)
{
    if (s->pager_set)
        return HS_OK;
    hs_status st = hs_mem_pager_set(s->port);
    if (st == HS_OK)
        s->pager_set = 1;
    return st;
}

hs_status lm_open(const lm_header *h, uint64_t dst, lm_msg *m)
{
    if (!h || !m || (dst & (PAGE - 1)) || header_check(h) != HS_OK)
        return HS_EINVAL;
    uint64_t len = pages_of(h->len);
    if (dst >= HS_VA_LIMIT || len > HS_VA_LIMIT - dst)
        return HS_ERANGE;
    hs_status st;
    struct lm_state *s = state_get(1, &st);
    if (!s)
        return st;
    for (uint64_t a = dst; a < dst + len; a += PAGE)
        if (page_mapped(a) || region_find(s, a))
            return HS_EEXIST;
    unsigned i = 0;
    while (i < LM_REGIONS_MAX && s->regions[i].len)
        i++;
    if (i == LM_REGIONS_MAX)
        return HS_ELIMIT;
    if ((st = pager_ensure(s)) != HS_OK)
        return st;
    /* The sender hops back into our port to deliver each page. */
    if ((st = hs_port_grant(s->port, h->pid)) != HS_OK)
        return st;
    s->regions[i] = (struct lm_region){ .va = dst, .len = len, .h = *h };
    *m = (lm_msg){ .h = *h, .va = dst };
    return HS_OK;
}

/* Tell the sender of h that its offer is over. */
static hs_status offer_release(const lm_header *h)
{
    hs_utcb_t *u = hs_utcb();
    u->mr[0] = LM_RELEASE;
    u->mr[1] = h->offer;
    hs_status st = hs_hop(h->port, HS_HOP_CHECKPOINT, HS_NEVER);
    return st == HS_OK ? (hs_status)u->mr[0] : st;
}

hs_status lm_recv(hs_chan *c, uint64_t dst, lm_msg *m, hs_time_t timeout)
{
    lm_header h;
    size_t len = 0;
    if (!m)
        return HS_EINVAL;
    hs_status st = hs_chan_recv(c, &h, sizeof h, &len, timeout);
    if (st != HS_OK)
        return st;
    if (len != sizeof h || header_check(&h) != HS_OK)
        return HS_EINVAL;
    st = lm_open(&h, dst, m);
    if (st != HS_OK)
        (void)offer_release(&h);
    return st;
}

hs_status lm_release(lm_msg *m)
{
    if (!m)
        return HS_EINVAL;
    hs_status st;
    struct lm_state *s = state_get(0, &st);
    if (!s)
        return st;
    struct lm_region *r = region_find(s, m->va);
    if (!r || r->va != m->va || r->h.offer != m->h.offer)
        return HS_ENOENT;
    for (uint64_t a = r->va; a < r->va + r->len; a += PAGE)
        if (page_mapped(a))
            (void)hs_mem_unmap(a, PAGE);
    lm_header h = r->h;
    memset(r, 0, sizeof *r);
    (void)offer_release(&h);    /* a sender gone has nothing to end */
    return HS_OK;
}

/* A page fault of this process: fetch the page if it belongs to an opened
 * range and is not mapped yet, else refuse it. */
static void fault(hs_hop_t *hop, struct lm_state *s)
{
    hs_pagefault_t pf = hs_mr(hop, 1);
    uint64_t page = hs_mr(hop, 2) & ~(PAGE - 1);
    struct lm_region *r = region_find(s, page);
    hs_status st = HS_EFAULT;
    if (r && !page_mapped(page)) {
        lm_header h = r->h;
        hs_utcb_t *u = hs_utcb();
        u->mr[0] = LM_FETCH;
        u->mr[1] = h.offer;
        u->mr[2] = page - r->va;
        u->mr[3] = page;
        u->mr[4] = s->port;
        st = hs_hop(h.port, HS_HOP_CHECKPOINT, HS_NEVER);
        if (st == HS_OK)
            st = (hs_status)u->mr[0];
        if (st == HS_OK && !page_mapped(page))
            st = HS_EFAULT;
    }
    (void)hs_mem_fault_resolve(pf, HS_PF_NOPAGE, HS_XFER_SHARE,
                               st == HS_OK ? HS_PROT_READ : 0);
}

/* LM_DELIVER: take the offered page at mr[1], which must be a page of an
 * opened range of the offering process, not mapped yet. */
static hs_status deliver(hs_hop_t *hop, struct lm_state *s)
{
    uint64_t page = hs_mr(hop, 1);
    struct lm_region *r = region_find(s, page);
    if (!r || (page & (PAGE - 1)) || r->h.pid != hs_hop_source(hop))
        return HS_EPERM;
    if (page_mapped(page))
        return HS_EEXIST;
    return hs_hop_accept(hop, HS_FPAGE(page, 12));
}

/* Every hop into a library port, and every page fault of its process. */
static void lm_handler(hs_hop_t *hop, void *cookie)
{
    (void)cookie;
    hs_status st;
    struct lm_state *s = state_get(0, &st);
    uint64_t op = hs_mr(hop, 0);
    if (op == HS_PF_LABEL) {
        if (s)
            fault(hop, s);
        else
            (void)hs_mem_fault_resolve(hs_mr(hop, 1), HS_PF_NOPAGE,
                                       HS_XFER_SHARE, 0);
        return;
    }
    if (s && op == LM_FETCH) {
        st = lend(hop, s);
    } else if (s && op == LM_DELIVER) {
        st = deliver(hop, s);
    } else if (s && op == LM_RELEASE) {
        struct lm_offer_rec *o = offer_find(s, hs_mr(hop, 1));
        st = !o ? HS_ENOENT : hs_hop_source(hop) != o->to ? HS_EPERM : HS_OK;
        if (st == HS_OK)
            offer_end(o);
    } else if (s) {
        st = HS_EINVAL;
    }
    hs_utcb()->mr[0] = (uint64_t)st;
}
