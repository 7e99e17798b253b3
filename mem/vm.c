/*
 * mem/vm.c - address spaces: mapping, unmapping, protecting and splitting
 * ranges of a process's page table, lookup and translation.
 *
 * Every change has a check that finds every error and reserves the
 * page-table nodes the change will take (mem/pt.h), so the change cannot
 * fail.  Unmapping leaves the tables it empties: a later map of the range
 * reuses them (a large page mapped where an empty table is frees it), and
 * they go with the address space.  So a page moved out and back again
 * takes no table and scans none.
 *
 * Splitting a leaf replaces it by a table of 512 leaves of the next size
 * with the same protection and flags; each new leaf takes one reference at
 * its size before the old leaf's reference goes, so the frames stay
 * referenced throughout and the counts move down one size.
 *
 * A leaf with the derived bit has a node in the mapping database
 * (mem/mapdb.h), which hears of its split and of its end here, and whose
 * needs the checks reserve with their own.
 */
#include "core/factory.h"
#include "core/kernel.h"
#include "mem/mapdb.h"
#include "mem/pt.h"
#include "mem/vm.h"

/* The page size of a leaf at level (1..3). */
static inline enum page_size level_ps(unsigned level)
{
    return (enum page_size)(level - 1);
}

static inline uint64_t min_u64(uint64_t a, uint64_t b)
{
    return a < b ? a : b;
}

static inline uint64_t max_u64(uint64_t a, uint64_t b)
{
    return a > b ? a : b;
}

void vm_init(struct aspace *as)
{
    as->root = NULL;
    as->mapped = 0;
    as->nodes = 0;
}

hs_status vm_range_check(uint64_t va, uint64_t len, uint64_t align)
{
    if (align < HS_PAGE_4K)
        align = HS_PAGE_4K;
    if (len == 0 || va % align || len % align)
        return HS_EINVAL;
    if (va >= HS_VA_LIMIT || len > HS_VA_LIMIT - va)
        return HS_ERANGE;
    return HS_OK;
}

enum page_size vm_page_for(uint64_t va, uint64_t end, uint64_t page)
{
    if (page)
        return page == HS_PAGE_1G ? PS_1G : page == HS_PAGE_2M ? PS_2M
                                                               : PS_4K;
    for (int ps = PS_1G; ps > PS_4K; ps--) {
        uint64_t s = ps_bytes((enum page_size)ps);
        if (va % s == 0 && end - va >= s)
            return (enum page_size)ps;
    }
    return PS_4K;
}

/* ---- walking ---------------------------------------------------------- */

/* The slot of va where the walk stops: a leaf, an empty entry, or NULL
 * when there is no root; *level its level. */
static uint64_t *walk(const struct aspace *as, uint64_t va, unsigned *level)
{
    struct ptnode *n = as->root;
    if (!n)
        return NULL;
    for (unsigned l = PT_LEVELS;; l--) {
        uint64_t *e = &n->e[pt_index(va, l)];
        if (l == 1 || *e == 0 || pte_leaf(*e, l)) {
            *level = l;
            return e;
        }
        n = pte_table(*e);
    }
}

/* The slot of va at level, making the tables on the way from reserved
 * nodes. */
static uint64_t *walk_create(struct aspace *as, uint64_t va, unsigned level)
{
    if (!as->root) {
        as->root = pt_node_take();
        as->nodes++;
    }
    struct ptnode *n = as->root;
    for (unsigned l = PT_LEVELS; l > level; l--) {
        uint64_t *e = &n->e[pt_index(va, l)];
        if (*e == 0) {
            *e = pte_make_table(pt_node_take());
            as->nodes++;
        }
        KASSERT(!pte_leaf(*e, l), "a checked map range overlaps no page");
        n = pte_table(*e);
    }
    return &n->e[pt_index(va, level)];
}

/* Whether table n of level has no leaf below it (tables emptied by
 * unmaps only).  Asked only where a large page would replace it. */
static int table_unused(const struct ptnode *n, unsigned level)
{
    for (unsigned i = 0; i < PT_ENTRIES; i++) {
        uint64_t e = n->e[i];
        if (e && (pte_leaf(e, level) || !table_unused(pte_table(e),
                                                      level - 1)))
            return 0;
    }
    return 1;
}

/* The leaf e at level, found for an address in [base, base + span). */
static void page_of(uint64_t e, unsigned level, uint64_t base,
                    struct vm_page *out)
{
    out->va = base;
    out->ps = level_ps(level);
    out->pa = pte_present(e) ? pte_addr(e) : 0;
    out->aux = pte_present(e) ? 0 : pte_aux(e);
    out->prot = pte_prot(e);
    out->max_prot = pte_max_prot(e);
    out->flags = pte_flags(e);
}

int vm_lookup(struct proc *p, uint64_t va, struct vm_page *out)
{
    unsigned level;
    if (va >= HS_VA_LIMIT)
        return 0;
    uint64_t *e = walk(&p->as, va, &level);
    if (!e || !pte_leaf(*e, level))
        return 0;
    page_of(*e, level, va & ~(pt_span(level) - 1), out);
    return 1;
}

/* ---- mapping ------------------------------------------------------------- */

static void destroy_node(struct proc *p, struct ptnode *n, unsigned level,
                         uint64_t base, int unref);

/* What a map of [va, end) with pages chosen by page would need. */
struct map_plan {
    uint64_t va, end, page;
    unsigned nodes;             /* tables to make */
};

/* Whether the slot at s of level takes one leaf of the map. */
static int plan_leaf_here(const struct map_plan *pl, uint64_t s,
                          unsigned level)
{
    uint64_t span = pt_span(level);
    if (level > 3 || s < pl->va || s + span > pl->end)
        return 0;
    return pl->page ? pl->page == span : 1;
}

/* Walk table n (NULL: still to make) of level covering base: HS_EEXIST if
 * anything of the range is mapped, else count the tables needed. */
static hs_status plan_node(const struct ptnode *n, unsigned level,
                           uint64_t base, struct map_plan *pl)
{
    uint64_t span = pt_span(level);
    uint64_t lo = max_u64(pl->va, base);
    uint64_t hi = min_u64(pl->end, base + PT_ENTRIES * span);
    if (!n && level == 1)
        return HS_OK;
    for (uint64_t s = lo & ~(span - 1); s < hi; s += span) {
        uint64_t e = n ? n->e[pt_index(s, level)] : 0;
        int leaf_here = plan_leaf_here(pl, s, level);
        if (e && (pte_leaf(e, level) ||
                  (leaf_here && !table_unused(pte_table(e), level - 1))))
            return HS_EEXIST;
        if (leaf_here)
            continue;
        if (!e)
            pl->nodes++;
        hs_status st = plan_node(e ? pte_table(e) : NULL, level - 1, s, pl);
        if (st != HS_OK)
            return st;
    }
    return HS_OK;
}

hs_status vm_map_plan(struct proc *p, uint64_t va, uint64_t len,
                      uint64_t page, unsigned *nodes)
{
    struct map_plan pl = {.va = va, .end = va + len, .page = page};
    if (!p->as.root)
        pl.nodes++;
    hs_status st = plan_node(p->as.root, PT_LEVELS, 0, &pl);
    *nodes = pl.nodes;
    return st;
}

hs_status vm_map_check_pages(struct proc *p, uint64_t va, uint64_t len,
                             uint64_t page)
{
    unsigned nodes;
    hs_status st = vm_map_plan(p, va, len, page, &nodes);
    if (st == HS_OK)
        st = factory_check(p, HS_RES_MAPPED, len);
    if (st == HS_OK)
        st = pt_reserve(nodes);
    return st;
}

hs_status vm_map_check(struct proc *p, uint64_t va, uint64_t len)
{
    return vm_map_check_pages(p, va, len, HS_PAGE_4K);
}

void vm_map(struct proc *p, uint64_t va, uint64_t pa, uint64_t len,
            enum page_size ps, unsigned prot, unsigned max_prot,
            unsigned flags, uint64_t aux)
{
    uint64_t size = ps_bytes(ps);
    int present = !(flags & HS_MEM_SPECIAL) || pa != 0;
    int counted = present && !(flags & HS_MEM_DIRECT);
    KASSERT(va % size == 0 && pa % size == 0 && len % size == 0 && len,
            "vm_map's range is aligned to its page size");
    KASSERT(present || aux < PTE_AUX_LIMIT, "a special page's aux fits");
    uint64_t addr = present ? pa : aux << 12;
    unsigned level = (unsigned)ps + 1;
    flags &= ~HS_MEM_DERIVED;           /* the mapping database's to set */
    for (uint64_t off = 0; off < len; off += size) {
        uint64_t *e = walk_create(&p->as, va + off, level);
        if (*e && !pte_leaf(*e, level)) {   /* an unused table: its place */
            destroy_node(p, pte_table(*e), level - 1, va + off, 0);
            *e = 0;
        }
        KASSERT(*e == 0, "a checked map range overlaps no page");
        *e = pte_make_leaf(level, present ? addr + off : addr, present, prot,
                           max_prot, flags);
        if (counted)
            frame_ref(pa + off, ps);
    }
    p->as.mapped += len;
    factory_charge(p, HS_RES_MAPPED, len);
}

/* ---- splitting ---------------------------------------------------------- */

/* Replace the leaf *e at level (> 1) of p, mapping base, by a table of
 * 512 leaves of the next size; its reference moves down.  With tell, a
 * derived leaf's node splits too. */
static void leaf_split(struct proc *p, uint64_t *e, unsigned level,
                       uint64_t base, int tell)
{
    struct aspace *as = &p->as;
    uint64_t old = *e;
    unsigned sub = level - 1;
    uint64_t span = pt_span(sub);
    struct ptnode *n = pt_node_take();
    as->nodes++;
    uint64_t keep = old & ~(PTE_ADDR | PTE_PS);
    if (sub > 1)
        keep |= PTE_PS;
    for (unsigned i = 0; i < PT_ENTRIES; i++) {
        uint64_t addr = pte_present(old) ? pte_addr(old) + i * span
                                         : pte_addr(old);
        n->e[i] = keep | addr;
        if (pte_counted(old))
            frame_ref(addr, level_ps(sub));
    }
    if (pte_counted(old))
        frame_unref(pte_addr(old), level_ps(level));
    *e = pte_make_table(n);
    event_record(EV_MEM_SPLIT, kernel_current(), base, pt_span(level));
    if (tell && pte_derived(old))
        mapdb_leaf_split(p, base, level_ps(level));
}

/* Tables a change of [va, end) needs to split the leaf at s of level:
 * one per leaf the range cuts, down to the cut. */
static unsigned split_need(unsigned level, uint64_t s, uint64_t va,
                           uint64_t end)
{
    uint64_t span = pt_span(level);
    if (s >= va && s + span <= end)
        return 0;
    uint64_t sub = pt_span(level - 1);
    uint64_t lo = max_u64(va, s) & ~(sub - 1);
    uint64_t hi = (min_u64(end, s + span) - 1) & ~(sub - 1);
    unsigned n = 1 + split_need(level - 1, lo, va, end);
    if (hi != lo)
        n += split_need(level - 1, hi, va, end);
    return n;
}

hs_status vm_split_check(struct proc *p, uint64_t va, enum page_size ps)
{
    unsigned level, extra = 0;
    uint64_t *e = va < HS_VA_LIMIT ? walk(&p->as, va, &level) : NULL;
    if (!e || !pte_leaf(*e, level))
        return HS_ENOMAP;
    unsigned from = (unsigned)level_ps(level);
    unsigned tables = from > (unsigned)ps ? from - (unsigned)ps : 0;
    hs_status st = HS_OK;
    if (tables && pte_derived(*e))
        st = mapdb_split_reserve(p, va & ~(pt_span(level) - 1), tables,
                                 &extra);
    return st == HS_OK ? pt_reserve(tables + extra) : st;
}

void vm_split(struct proc *p, uint64_t va, enum page_size ps)
{
    unsigned level;
    uint64_t *e = walk(&p->as, va, &level);
    KASSERT(e && pte_leaf(*e, level), "a checked split has its page");
    while ((unsigned)level_ps(level) > (unsigned)ps) {
        leaf_split(p, e, level, va & ~(pt_span(level) - 1), 1);
        level--;
        e = &pte_table(*e)->e[pt_index(va, level)];
    }
}

/* ---- unmapping and protecting -------------------------------------------- */

/* A change to every leaf of [va, end) of p. */
struct range_op {
    struct proc *p;
    uint64_t va, end;
    int unmap;                  /* else protect */
    unsigned prot, set, clear;  /* protect: the new protection, flags */
    uint64_t unmapped;          /* unmap: bytes so far */
};

/* Check the range below table n of level covering base: no hole, no
 * protection above a maximum; count the tables the splits need. */
static hs_status check_node(const struct ptnode *n, unsigned level,
                            uint64_t base, const struct range_op *op,
                            unsigned *nodes)
{
    uint64_t span = pt_span(level);
    uint64_t lo = max_u64(op->va, base);
    uint64_t hi = min_u64(op->end, base + PT_ENTRIES * span);
    for (uint64_t s = lo & ~(span - 1); s < hi; s += span) {
        uint64_t e = n->e[pt_index(s, level)];
        if (!e)
            return HS_ENOMAP;
        if (!pte_leaf(e, level)) {
            hs_status st = check_node(pte_table(e), level - 1, s, op, nodes);
            if (st != HS_OK)
                return st;
            continue;
        }
        if (!op->unmap && (op->prot & ~pte_max_prot(e)))
            return HS_EPERM;
        unsigned need = split_need(level, s, op->va, op->end), extra = 0;
        if (need && pte_derived(e)) {
            hs_status st = mapdb_split_reserve(op->p, s, need, &extra);
            if (st != HS_OK)
                return st;
        }
        *nodes += need + extra;
    }
    return HS_OK;
}

static hs_status range_check(struct proc *p, const struct range_op *op)
{
    unsigned nodes = 0;
    if (!p->as.root)
        return HS_ENOMAP;
    hs_status st = check_node(p->as.root, PT_LEVELS, 0, op, &nodes);
    return st == HS_OK ? pt_reserve(nodes) : st;
}

/* Apply op to the whole leaf *e at level, mapping s. */
static void leaf_apply(uint64_t *e, unsigned level, uint64_t s,
                       struct range_op *op)
{
    if (!op->unmap) {
        *e = pte_with_flags(pte_with_prot(*e, op->prot), op->set, op->clear);
        return;
    }
    if (pte_derived(*e))
        mapdb_leaf_gone(op->p, s);
    if (pte_counted(*e))
        frame_unref(pte_addr(*e), level_ps(level));
    *e = 0;
    op->unmapped += pt_span(level);
}

/* Apply op below table n of level covering base, splitting the leaves it
 * cuts and freeing the tables it empties. */
static void apply_node(struct aspace *as, struct ptnode *n, unsigned level,
                       uint64_t base, struct range_op *op)
{
    uint64_t span = pt_span(level);
    uint64_t lo = max_u64(op->va, base);
    uint64_t hi = min_u64(op->end, base + PT_ENTRIES * span);
    for (uint64_t s = lo & ~(span - 1); s < hi; s += span) {
        uint64_t *e = &n->e[pt_index(s, level)];
        KASSERT(*e != 0, "a checked range has no hole");
        if (pte_leaf(*e, level)) {
            if (s >= op->va && s + span <= op->end) {
                leaf_apply(e, level, s, op);
                continue;
            }
            leaf_split(op->p, e, level, s, 1);
        }
        apply_node(as, pte_table(*e), level - 1, s, op);
    }
}

static void range_apply(struct proc *p, struct range_op *op)
{
    struct aspace *as = &p->as;
    KASSERT(as->root, "a checked range is mapped");
    apply_node(as, as->root, PT_LEVELS, 0, op);
    if (op->unmapped) {
        as->mapped -= op->unmapped;
        factory_credit(p, HS_RES_MAPPED, op->unmapped);
    }
}

hs_status vm_unmap_check(struct proc *p, uint64_t va, uint64_t len)
{
    struct range_op op = {.p = p, .va = va, .end = va + len, .unmap = 1};
    return range_check(p, &op);
}

void vm_unmap(struct proc *p, uint64_t va, uint64_t len)
{
    struct range_op op = {.p = p, .va = va, .end = va + len, .unmap = 1};
    range_apply(p, &op);
}

hs_status vm_protect_check(struct proc *p, uint64_t va, uint64_t len,
                           unsigned prot)
{
    struct range_op op = {.p = p, .va = va, .end = va + len, .prot = prot};
    return range_check(p, &op);
}

void vm_protect(struct proc *p, uint64_t va, uint64_t len, unsigned prot,
                unsigned set_flags, unsigned clear_flags)
{
    struct range_op op = {.p = p, .va = va, .end = va + len, .prot = prot,
                          .set = set_flags, .clear = clear_flags};
    range_apply(p, &op);
}

/* ---- the mapping database's hooks -------------------------------------- */

void vm_leaf_mark(struct proc *p, uint64_t va, int on)
{
    unsigned level;
    uint64_t *e = walk(&p->as, va, &level);
    KASSERT(e && pte_leaf(*e, level), "a marked page is mapped");
    *e = on ? *e | PTE_DERIVED : *e & ~PTE_DERIVED;
}

void vm_leaf_split_one(struct proc *p, uint64_t va, enum page_size from)
{
    unsigned level;
    uint64_t *e = walk(&p->as, va, &level);
    KASSERT(e && pte_leaf(*e, level) && level_ps(level) == from,
            "a leaf split with its parent has the parent's size");
    leaf_split(p, e, level, va, 0);
}

/* The first leaf below table n of level (covering base) holding an address
 * in [va, end). */
static int next_node(const struct ptnode *n, unsigned level, uint64_t base,
                     uint64_t va, uint64_t end, struct vm_page *out)
{
    uint64_t span = pt_span(level);
    uint64_t lo = max_u64(va, base);
    uint64_t hi = min_u64(end, base + PT_ENTRIES * span);
    for (uint64_t s = lo & ~(span - 1); s < hi; s += span) {
        uint64_t e = n->e[pt_index(s, level)];
        if (!e)
            continue;
        if (pte_leaf(e, level)) {
            page_of(e, level, s, out);
            return 1;
        }
        if (next_node(pte_table(e), level - 1, s, va, end, out))
            return 1;
    }
    return 0;
}

int vm_next(struct proc *p, uint64_t va, uint64_t end, struct vm_page *out)
{
    return p->as.root && va < end &&
           next_node(p->as.root, PT_LEVELS, 0, va, end, out);
}

/* ---- visiting --------------------------------------------------------- */

struct each {
    uint64_t va, end;
    void (*fn)(void *cookie, const struct vm_page *pg);
    void *cookie;
};

static void each_node(const struct ptnode *n, unsigned level, uint64_t base,
                      const struct each *x)
{
    uint64_t span = pt_span(level);
    uint64_t lo = max_u64(x->va, base);
    uint64_t hi = min_u64(x->end, base + PT_ENTRIES * span);
    for (uint64_t s = lo & ~(span - 1); s < hi; s += span) {
        uint64_t e = n->e[pt_index(s, level)];
        if (!e)
            continue;
        if (pte_leaf(e, level)) {
            struct vm_page pg;
            page_of(e, level, s, &pg);
            x->fn(x->cookie, &pg);
        } else {
            each_node(pte_table(e), level - 1, s, x);
        }
    }
}

void vm_each(struct proc *p, uint64_t va, uint64_t len,
             void (*fn)(void *cookie, const struct vm_page *pg),
             void *cookie)
{
    struct each x = {.va = va, .end = va + len, .fn = fn, .cookie = cookie};
    if (p->as.root)
        each_node(p->as.root, PT_LEVELS, 0, &x);
}

/* ---- translation -------------------------------------------------------- */

/* The leaf entry mapping va (0 if none) and its level. */
static inline uint64_t leaf_at(const struct aspace *as, uint64_t va,
                               unsigned *level)
{
    const struct ptnode *n = as->root;
    if (!n) {
        *level = PT_LEVELS;
        return 0;
    }
    for (unsigned l = PT_LEVELS;; l--) {
        uint64_t e = n->e[pt_index(va, l)];
        if (l == 1 || e == 0 || pte_leaf(e, l)) {
            *level = l;
            return pte_leaf(e, l) ? e : 0;
        }
        n = pte_table(e);
    }
}

/* Whether leaf e allows access: every bit of it, and no write to a
 * copy-on-write page. */
static inline int leaf_allows(uint64_t e, unsigned access)
{
    return (access & ~pte_prot(e)) == 0 &&
           !((access & HS_PROT_WRITE) && pte_cow(e));
}

hs_status vm_translate(struct proc *p, uint64_t va, size_t len,
                       unsigned access, void **host, uint64_t *fault_va)
{
    uint64_t end = va + (len ? len : 1);
    if (va >= HS_VA_LIMIT || end < va || end > HS_VA_LIMIT)
        return HS_ERANGE;
    uint64_t at = va, pa0 = 0, next_pa = 0;
    int scattered = 0;
    while (at < end) {
        unsigned level;
        uint64_t e = leaf_at(&p->as, at, &level);
        uint64_t span = pt_span(level);
        uint64_t page = at & ~(span - 1);
        if (!pte_present(e) || !leaf_allows(e, access)) {
            *fault_va = at;
            return pte_present(e) ? HS_EFAULT : HS_ENOMAP;
        }
        uint64_t pa = pte_addr(e) + (at - page);
        if (at == va)
            pa0 = pa;
        else if (pa != next_pa)
            scattered = 1;
        next_pa = pte_addr(e) + span;
        at = page + span;
    }
    if (scattered)
        return HS_ERANGE;
    *host = frame_host(pa0);
    return HS_OK;
}

/* ---- the end of an address space -------------------------------------- */

/* Free table n of level, covering base, and everything below; when unref
 * is set, drop the references of its leaves and the nodes of the derived
 * ones (whose children stay, mem/mapdb.h). */
static void destroy_node(struct proc *p, struct ptnode *n, unsigned level,
                         uint64_t base, int unref)
{
    for (unsigned i = 0; i < PT_ENTRIES; i++) {
        uint64_t e = n->e[i];
        uint64_t va = base + i * pt_span(level);
        if (!e)
            continue;
        if (!pte_leaf(e, level)) {
            destroy_node(p, pte_table(e), level - 1, va, unref);
            continue;
        }
        if (unref && pte_derived(e))
            mapdb_leaf_gone(p, va);
        if (unref && pte_counted(e))
            frame_unref(pte_addr(e), level_ps(level));
    }
    pt_node_give(n);
    p->as.nodes--;
}

static void aspace_free(struct proc *p, int unref)
{
    struct aspace *as = &p->as;
    if (as->root)
        destroy_node(p, as->root, PT_LEVELS, 0, unref);
    if (as->mapped)
        factory_credit(p, HS_RES_MAPPED, as->mapped);
    vm_init(as);
}

void vm_proc_free(struct proc *p)
{
    uint64_t mapped = p->as.mapped;
    aspace_free(p, 1);
    if (mapped)
        event_record(EV_MEM_DESTROY, NULL, p->obj.handle, mapped);
}

void vm_discard(struct proc *p)
{
    aspace_free(p, 0);
}

/* ---- the object table ------------------------------------------------------ */

static void vm_proc_init(struct proc *p)
{
    vm_init(&p->as);
}

const struct kobj_type vm_type = {
    .name = "address space",
    .proc_free = vm_proc_free,
    .proc_init = vm_proc_init,
};
