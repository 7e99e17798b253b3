/*
 * mem/xfer.c - memory transfers between address spaces: move, share,
 * copy and copy-on-write (see mem/xfer.h for the steps, hopsim/ipc.h for
 * the rules a sender and a receiver see).
 *
 * A range is walked leaf by leaf with vm_lookup().  The piece of a leaf
 * inside the range keeps the leaf's page size when the range holds the
 * whole leaf; a leaf larger than the range (the range is naturally
 * aligned, so it then lies inside the leaf) gives pages of the largest
 * size the range allows:
 *
 *   sender   |<------------ one 2M leaf ------------>|
 *   range              |<- 64K ->|
 *   receiver           [4K][4K]..[4K]   each +1 reference at 4K
 *
 * and a 1G leaf shared whole is one 1G entry and one count.  Since the
 * window address of an item is aligned to the item's size, every piece
 * lands at an address aligned to its page size.
 *
 * Between two processes, every page a share or a copy-on-write transfer
 * maps is derived from the sender's leaf in the mapping database
 * (mem/mapdb.h); a move hands the sender's nodes to the receiver's pages,
 * splitting a derived leaf the move cuts first, so that each moved page
 * has its own node to hand.
 */
#include <string.h>

#include "kern/event.h"
#include "core/factory.h"
#include "core/kernel.h"
#include "hopsim/ipc.h"
#include "mem/mapdb.h"
#include "mem/pt.h"
#include "mem/vm.h"
#include "mem/xfer.h"

/* A memory item, decoded. */
struct item {
    uint64_t base, size;
    unsigned mode, prot;
};

/* The largest page size of at most size bytes (size >= 4K). */
static enum page_size ps_fit(uint64_t size)
{
    if (size >= HS_PAGE_1G)
        return PS_1G;
    if (size >= HS_PAGE_2M)
        return PS_2M;
    return PS_4K;
}

static enum page_size ps_min(enum page_size a, enum page_size b)
{
    return a < b ? a : b;
}

/* A flexpage: HS_EINVAL if malformed (size field, reserved bits, base
 * not aligned to the size), HS_ERANGE if it reaches past 48 bits. */
static hs_status fpage_decode(uint64_t f, uint64_t *base, uint64_t *size)
{
    uint64_t s = hs_fpage_size(f);
    uint64_t b = hs_fpage_base(f);
    if (!s || (f & 0xfc0u) || (b & (s - 1)))
        return HS_EINVAL;
    if (b >= HS_VA_LIMIT || s > HS_VA_LIMIT - b)
        return HS_ERANGE;
    *base = b;
    *size = s;
    return HS_OK;
}

int xfer_window_valid(uint64_t w)
{
    uint64_t base, size;
    return w == 0 || fpage_decode(w, &base, &size) == HS_OK;
}

/* Item registers reg[0..1] as a memory item (HS_EINVAL, HS_ERANGE). */
static hs_status item_decode(const uint64_t *reg, struct item *it)
{
    uint64_t w = reg[0];
    it->mode = hs_item_mode(w);
    it->prot = hs_item_prot(w);
    if (hs_item_type(w) != HS_ITEM_MEM || (w >> 16) != 0 ||
        it->mode < HS_XFER_MOVE || it->mode > HS_XFER_COW || !it->prot ||
        (it->prot & ~HS_PROT_ALL) ||
        (it->mode == HS_XFER_COW && !(it->prot & HS_PROT_READ)))
        return HS_EINVAL;
    return fpage_decode(reg[1], &it->base, &it->size);
}

/* The registers of item i of the message (tag, mr). */
static const uint64_t *item_regs(uint64_t tag, const uint64_t *mr,
                                 unsigned i)
{
    return mr + hs_tag_words(tag) + 2 * i;
}

static int is_mem(uint64_t tag, const uint64_t *mr, unsigned i)
{
    return hs_item_type(item_regs(tag, mr, i)[0]) == HS_ITEM_MEM;
}

/* ---- the sender's side ---------------------------------------------------- */

/* A special page whose portal has not filled it yet. */
static int page_absent(const struct vm_page *pg)
{
    return (pg->flags & HS_MEM_SPECIAL) && pg->pa == 0;
}

/* What the sender holds of page pg for an item: its protection, and for
 * a move or a copy-on-write transfer of a copy-on-write page, the write
 * its first write would get (only with read, which a copy-on-write page
 * needs). */
static unsigned held(const struct vm_page *pg, const struct item *it)
{
    unsigned p = pg->prot;
    if ((pg->flags & HS_MEM_COW) && (it->prot & HS_PROT_READ) &&
        (it->mode == HS_XFER_MOVE || it->mode == HS_XFER_COW))
        p |= pg->max_prot & HS_PROT_WRITE;
    return p;
}

/* Every page of it's range mapped in from (HS_ENOMAP) and held with
 * it->prot, neither direct nor, for a move or copy-on-write, special,
 * nor for copy-on-write shared writable with another mapping (HS_EPERM);
 * the first offence in address order. */
static hs_status source_check(struct proc *from, const struct item *it)
{
    uint64_t end = it->base + it->size;
    int remaps = it->mode == HS_XFER_MOVE || it->mode == HS_XFER_COW;
    for (uint64_t va = it->base; va < end;) {
        struct vm_page pg;
        if (!vm_lookup(from, va, &pg) || page_absent(&pg))
            return HS_ENOMAP;
        if ((pg.flags & HS_MEM_DIRECT) || (it->prot & ~held(&pg, it)) ||
            (remaps && (pg.flags & HS_MEM_SPECIAL)) ||
            (it->mode == HS_XFER_COW && vm_page_shared_writable(&pg)))
            return HS_EPERM;
        va = pg.va + ps_bytes(pg.ps);
    }
    return HS_OK;
}

/* Memory items i and j (both decoded) overlap. */
static int items_overlap(const struct item *a, const struct item *b)
{
    return a->base < b->base + b->size && b->base < a->base + a->size;
}

/* Every memory item of (tag, mr) well formed, and no two overlapping;
 * with all_mem, every item must be a memory item. */
static hs_status items_form(uint64_t tag, const uint64_t *mr, int all_mem)
{
    unsigned n = hs_tag_items(tag);
    for (unsigned i = 0; i < n; i++) {
        if (!is_mem(tag, mr, i)) {
            if (all_mem)
                return HS_EINVAL;
            continue;
        }
        struct item a;
        hs_status st = item_decode(item_regs(tag, mr, i), &a);
        if (st != HS_OK)
            return st;
        for (unsigned j = 0; j < i; j++) {
            struct item b;
            if (is_mem(tag, mr, j) &&
                item_decode(item_regs(tag, mr, j), &b) == HS_OK &&
                items_overlap(&a, &b))
                return HS_EINVAL;
        }
    }
    return HS_OK;
}

hs_status xfer_items_form(uint64_t tag, const uint64_t *mr)
{
    return items_form(tag, mr, 1);
}

hs_status xfer_items_check(struct proc *from, uint64_t tag,
                           const uint64_t *mr)
{
    hs_status st = items_form(tag, mr, 0);
    unsigned n = hs_tag_items(tag);
    for (unsigned i = 0; st == HS_OK && i < n; i++) {
        struct item it;
        if (!is_mem(tag, mr, i))
            continue;
        item_decode(item_regs(tag, mr, i), &it);
        st = source_check(from, &it);
    }
    return st;
}

/* ---- frames for copies ------------------------------------------------------ */

/* Give back a chain of unreferenced blocks of size ps (mem/xfer.h: each
 * block's first word links the next), clearing the links: free frames
 * read as zero. */
static void chain_free(enum page_size ps, uint64_t head)
{
    while (head != XFER_NO_FRAME) {
        uint64_t *link = frame_host(head);
        uint64_t next = *link;
        *link = 0;
        frame_free(ps, 1, &head);
        head = next;
    }
}

/* Take the blocks of size ps that a copy of size bytes needs, as a chain
 * in *head.  HS_ENOFRAME with nothing taken. */
static hs_status chain_take(enum page_size ps, uint64_t size, uint64_t *head)
{
    uint64_t n = size / ps_bytes(ps);
    *head = XFER_NO_FRAME;
    for (uint64_t i = 0; i < n; i++) {
        uint64_t pa;
        if (frame_alloc(ps, 1, &pa) != HS_OK) {
            chain_free(ps, *head);
            *head = XFER_NO_FRAME;
            return HS_ENOFRAME;
        }
        *(uint64_t *)frame_host(pa) = *head;
        *head = pa;
    }
    return HS_OK;
}

void xfer_cancel(struct xfer_plan *plan)
{
    for (unsigned m = 0; m < plan->n; m++)
        chain_free((enum page_size)plan->copy_ps[m], plan->copies[m]);
    plan->n = 0;
}

/* ---- the receiver's side ----------------------------------------------------- */

/* Lay the memory items out in window (malformed, or too small:
 * HS_EMSGCUT): plan->dst[] in item order; *bytes gets what they add to
 * to's HS_RES_MAPPED (a move within one process adds nothing). */
static hs_status layout(struct proc *from, struct proc *to, uint64_t tag,
                        const uint64_t *mr, uint64_t window,
                        struct xfer_plan *plan, uint64_t *bytes)
{
    uint64_t wbase, wsize;
    hs_status st = fpage_decode(window, &wbase, &wsize);
    if (st != HS_OK)
        return HS_EMSGCUT;
    uint64_t at = wbase, wend = wbase + wsize;
    unsigned n = hs_tag_items(tag), m = 0;
    *bytes = 0;
    for (unsigned i = 0; i < n; i++) {
        struct item it;
        if (!is_mem(tag, mr, i))
            continue;
        item_decode(item_regs(tag, mr, i), &it);
        uint64_t dst = (at + it.size - 1) & ~(it.size - 1);
        if (dst < at || dst > wend || it.size > wend - dst)
            return HS_EMSGCUT;
        plan->dst[m++] = dst;
        at = dst + it.size;
        if (!(from == to && it.mode == HS_XFER_MOVE))
            *bytes += it.size;
    }
    return HS_OK;
}

/* Pages of size ps that the piece of leaf pg from va to end (at most)
 * gives. */
static uint64_t pieces_of(const struct vm_page *pg, uint64_t va, uint64_t end,
                          enum page_size ps)
{
    uint64_t leaf_end = pg->va + ps_bytes(pg->ps);
    uint64_t piece_end = leaf_end < end ? leaf_end : end;
    return (piece_end - va) >> (12 + 9 * (unsigned)ps);
}

/* Whether [va, va + len) of to is free, reserving the page-table nodes
 * a map with page needs.  The quota is not looked at: xfer_prepare()
 * checks it once for all the items (a move within one process adds
 * nothing to it). */
static hs_status land_room(struct proc *to, uint64_t va, uint64_t len,
                           uint64_t page)
{
    unsigned nodes;
    hs_status st = vm_map_plan(to, va, len, page, &nodes);
    return st == HS_OK ? pt_reserve(nodes) : st;
}

/* Whether the item makes derived pages: a share or copy-on-write
 * transfer to another process. */
static int item_derives(struct proc *from, struct proc *to,
                        const struct item *it)
{
    return from != to &&
           (it->mode == HS_XFER_SHARE || it->mode == HS_XFER_COW);
}

/* Whether the frames of it's range can be mapped at dst in to, with the
 * page sizes map_frames() will use: one check (and one reservation of
 * page-table nodes) per run of pieces of one size, so that a 1G page
 * reserves for one entry, not for 262,144.  *nodes gets the mapping
 * nodes map_frames() takes. */
static hs_status map_check_runs(struct proc *from, struct proc *to,
                                const struct item *it, uint64_t dst,
                                uint64_t *nodes)
{
    enum page_size fit = ps_fit(it->size), run_ps = fit;
    uint64_t end = it->base + it->size, run = it->base;
    int derives = item_derives(from, to, it);
    *nodes = 0;
    for (uint64_t va = it->base; va < end;) {
        struct vm_page pg;
        vm_lookup(from, va, &pg);
        enum page_size ps = ps_min(pg.ps, fit);
        if (derives)
            *nodes += pieces_of(&pg, va, end, ps) +
                      !(pg.flags & HS_MEM_DERIVED);
        if (va > run && ps != run_ps) {
            hs_status st = land_room(to, dst + (run - it->base), va - run,
                                     ps_bytes(run_ps));
            if (st != HS_OK)
                return st;
            run = va;
        }
        run_ps = ps;
        uint64_t leaf_end = pg.va + ps_bytes(pg.ps);
        va = leaf_end < end ? leaf_end : end;
    }
    return land_room(to, dst + (run - it->base), end - run,
                     ps_bytes(run_ps));
}

/* Mapping nodes the split of a sender's leaf larger than a move or
 * copy-on-write item takes, should the leaf be derived by another item
 * of the message first (a leaf derived already was counted by the
 * checks of its unmap or protect). */
static uint64_t cut_nodes(struct proc *from, const struct item *it)
{
    struct vm_page pg;
    if (it->mode != HS_XFER_MOVE && it->mode != HS_XFER_COW)
        return 0;
    vm_lookup(from, it->base, &pg);
    if ((pg.flags & HS_MEM_DERIVED) || ps_bytes(pg.ps) <= it->size)
        return 0;
    return (PT_ENTRIES - 1) * (uint64_t)(pg.ps - ps_fit(it->size));
}

/* Whether memory item it can land at dst in to, and the sender's page
 * tables split where it must (reserving what both need). */
static hs_status land_check(struct proc *from, struct proc *to,
                            const struct item *it, uint64_t dst)
{
    uint64_t nodes = 0;
    hs_status st = it->mode == HS_XFER_COPY
                   ? land_room(to, dst, it->size, ps_bytes(ps_fit(it->size)))
                   : map_check_runs(from, to, it, dst, &nodes);
    if (st == HS_OK && from != to)
        st = mapdb_reserve(nodes + cut_nodes(from, it));
    if (st == HS_OK && it->mode == HS_XFER_MOVE)
        st = vm_unmap_check(from, it->base, it->size);
    if (st == HS_OK && it->mode == HS_XFER_COW)
        st = vm_protect_check(from, it->base, it->size, HS_PROT_READ);
    return st;
}

hs_status xfer_prepare(struct proc *from, struct proc *to, uint64_t tag,
                       const uint64_t *mr, uint64_t window,
                       struct xfer_plan *plan)
{
    unsigned n = hs_tag_items(tag), count = 0;
    plan->n = 0;
    plan->declined = window == 0;
    for (unsigned i = 0; i < n; i++)
        count += is_mem(tag, mr, i);
    if (count == 0 || window == 0) {
        plan->n = plan->declined ? count : 0;
        for (unsigned m = 0; m < plan->n; m++) {
            plan->copies[m] = XFER_NO_FRAME;
            plan->copy_ps[m] = PS_4K;
        }
        return HS_OK;
    }
    uint64_t bytes;
    hs_status st = layout(from, to, tag, mr, window, plan, &bytes);
    if (st == HS_OK)
        st = factory_check(to, HS_RES_MAPPED, bytes);
    for (unsigned i = 0, m = 0; st == HS_OK && i < n; i++) {
        struct item it;
        if (!is_mem(tag, mr, i))
            continue;
        item_decode(item_regs(tag, mr, i), &it);
        st = land_check(from, to, &it, plan->dst[m]);
        plan->copies[m] = XFER_NO_FRAME;
        plan->copy_ps[m] = (unsigned char)ps_fit(it.size);
        if (st == HS_OK && it.mode == HS_XFER_COPY)
            st = chain_take(ps_fit(it.size), it.size, &plan->copies[m]);
        plan->n = ++m;
    }
    if (st != HS_OK)
        xfer_cancel(plan);
    return st;
}

/* ---- applying ------------------------------------------------------------------ */

/* Protection, max_prot and flags of what the receiver maps of sender
 * page pg for item it (not a copy). */
static void target_prot(const struct vm_page *pg, const struct item *it,
                        unsigned *prot, unsigned *max, unsigned *flags)
{
    *prot = it->prot;
    *max = it->prot;
    switch (it->mode) {
    case HS_XFER_MOVE:
        *flags = pg->flags & (HS_MEM_SHARED | HS_MEM_COW);
        break;
    case HS_XFER_SHARE:
        *flags = HS_MEM_SHARED;
        break;
    default:                            /* HS_XFER_COW */
        *flags = HS_MEM_SHARED | HS_MEM_COW;
        break;
    }
    if (*flags & HS_MEM_COW)
        *prot &= ~HS_PROT_WRITE;
}

/* The mapping database's part of a piece [va, piece_end) of from's leaf
 * just mapped at to_va in to with pages of size ps: each page derived
 * from the leaf, or (a move) given the node of the sender's page. */
static void map_record(struct proc *from, struct proc *to,
                       const struct item *it, uint64_t va,
                       uint64_t piece_end, uint64_t to_va, enum page_size ps)
{
    uint64_t s = ps_bytes(ps);
    for (uint64_t off = 0; off < piece_end - va; off += s) {
        if (it->mode == HS_XFER_MOVE)
            mapdb_hand(from, va + off, to, to_va + off);
        else
            mapdb_derive(from, va + off, to, to_va + off);
    }
}

/* Map into to at dst the frames of from's range of it, piece by piece
 * (see the top of the file).  A derived leaf a move cuts is split first
 * (the split the move's unmap would make), so that its node splits with
 * it. */
static void map_frames(struct proc *from, struct proc *to,
                       const struct item *it, uint64_t dst)
{
    enum page_size fit = ps_fit(it->size);
    uint64_t end = it->base + it->size;
    int derives = item_derives(from, to, it);
    for (uint64_t va = it->base; va < end;) {
        struct vm_page pg;
        KASSERT(vm_lookup(from, va, &pg), "a checked range stays mapped");
        int hands = it->mode == HS_XFER_MOVE && (pg.flags & HS_MEM_DERIVED);
        if (hands && pg.ps > fit) {
            vm_split(from, va, fit);
            vm_lookup(from, va, &pg);
        }
        uint64_t leaf_end = pg.va + ps_bytes(pg.ps);
        uint64_t piece_end = leaf_end < end ? leaf_end : end;
        enum page_size ps = ps_min(pg.ps, fit);
        unsigned prot, max, flags;
        target_prot(&pg, it, &prot, &max, &flags);
        vm_map(to, dst + (va - it->base), pg.pa + (va - pg.va),
               piece_end - va, ps, prot, max, flags, 0);
        if (derives || hands)
            map_record(from, to, it, va, piece_end, dst + (va - it->base), ps);
        va = piece_end;
    }
}

/* The sender's pages holding the range of a shared item are flagged
 * shared, whole (no page is split for a flag). */
static void source_mark_shared(struct proc *from, const struct item *it)
{
    uint64_t end = it->base + it->size;
    for (uint64_t va = it->base; va < end;) {
        struct vm_page pg;
        vm_lookup(from, va, &pg);
        if (!(pg.flags & HS_MEM_SHARED))
            vm_protect(from, pg.va, ps_bytes(pg.ps), pg.prot, HS_MEM_SHARED,
                       0);
        va = pg.va + ps_bytes(pg.ps);
    }
}

/* The sender's range of a copy-on-write item becomes copy-on-write:
 * read-only, max_prot unchanged, large pages the range cuts split. */
static void source_mark_cow(struct proc *from, const struct item *it)
{
    uint64_t end = it->base + it->size;
    for (uint64_t va = it->base; va < end;) {
        struct vm_page pg;
        vm_lookup(from, va, &pg);
        uint64_t leaf_end = pg.va + ps_bytes(pg.ps);
        uint64_t piece_end = leaf_end < end ? leaf_end : end;
        vm_protect(from, va, piece_end - va, pg.prot & ~HS_PROT_WRITE,
                   HS_MEM_COW | HS_MEM_SHARED, 0);
        va = piece_end;
    }
}

/* Copy len bytes of from's memory at va to host memory out. */
static void copy_out(struct proc *from, uint64_t va, unsigned char *out,
                     uint64_t len)
{
    while (len) {
        struct vm_page pg;
        vm_lookup(from, va, &pg);
        uint64_t n = pg.va + ps_bytes(pg.ps) - va;
        if (n > len)
            n = len;
        memcpy(out, frame_host(pg.pa + (va - pg.va)), n);
        va += n;
        out += n;
        len -= n;
    }
}

/* Fill the chain of blocks head with a copy of it's range and map them
 * at dst in to. */
static void copy_apply(struct proc *from, struct proc *to,
                       const struct item *it, uint64_t dst, uint64_t head)
{
    enum page_size ps = ps_fit(it->size);
    uint64_t bs = ps_bytes(ps);
    for (uint64_t off = 0; off < it->size; off += bs) {
        uint64_t blk = head;
        KASSERT(blk != XFER_NO_FRAME, "a copy has a block per page");
        head = *(uint64_t *)frame_host(blk);
        copy_out(from, it->base + off, frame_host(blk), bs);
        vm_map(to, dst + off, blk, bs, ps, it->prot, it->prot, 0, 0);
    }
}

static void item_apply(struct proc *from, struct proc *to,
                       const struct item *it, uint64_t dst, uint64_t copies)
{
    switch (it->mode) {
    case HS_XFER_MOVE:          /* map first: no count reaches zero */
        map_frames(from, to, it, dst);
        vm_unmap(from, it->base, it->size);
        break;
    case HS_XFER_SHARE:
        map_frames(from, to, it, dst);
        source_mark_shared(from, it);
        break;
    case HS_XFER_COPY:
        copy_apply(from, to, it, dst, copies);
        break;
    default:                    /* HS_XFER_COW */
        map_frames(from, to, it, dst);
        source_mark_cow(from, it);
        break;
    }
}

static const enum event_kind mode_event[] = {
    [HS_XFER_MOVE] = EV_MEM_MOVE,
    [HS_XFER_SHARE] = EV_MEM_SHARE,
    [HS_XFER_COPY] = EV_MEM_COPY,
    [HS_XFER_COW] = EV_MEM_COW,
};

void xfer_apply(struct thread *t, struct proc *from, struct proc *to,
                uint64_t tag, const uint64_t *mr, uint64_t *out,
                struct xfer_plan *plan)
{
    unsigned n = hs_tag_items(tag), w = hs_tag_words(tag), m = 0;
    for (unsigned i = 0; i < n && m < plan->n; i++) {
        if (!is_mem(tag, mr, i))
            continue;
        const uint64_t *reg = item_regs(tag, mr, i);
        uint64_t src = reg[1];
        struct item it;
        KASSERT(item_decode(reg, &it) == HS_OK, "a checked item decodes");
        if (plan->declined) {
            out[w + 2 * i + 1] = 0;
            event_record(EV_MEM_DECLINE, t, src, it.mode);
        } else {
            item_apply(from, to, &it, plan->dst[m], plan->copies[m]);
            out[w + 2 * i + 1] = HS_FPAGE(plan->dst[m], hs_fpage_log2(src));
            event_record(mode_event[it.mode], t, src, out[w + 2 * i + 1]);
        }
        m++;
    }
    plan->n = 0;
}
