/*
 * mem/mapdb.c - the mapping database (mem/mapdb.h): one node per derived
 * leaf, found by (process, address) through a hash table, linked into
 * derivation trees (parent, first child, siblings).
 *
 * Nothing here recurses: subtrees are walked through the parent links, and
 * the nodes a split reaches are queued through their work links, so a long
 * chain of derivations needs no stack.
 */
#include "core/kernel.h"
#include "kern/kfmt.h"
#include "kern/pool.h"
#include "mem/mapdb.h"
#include "mem/pt.h"

#define MAPDB_BUCKETS 4096u

struct mapnode {
    struct kobj obj;
    struct proc *p;             /* the leaf: its process, start, frames, */
    uint64_t va, pa;            /*   size */
    enum page_size ps;
    struct mapnode *parent;     /* derived from (NULL: a root) */
    struct mapnode *child;      /* first derived from it */
    struct mapnode *next, *prev;/* siblings under parent */
    struct mapnode *hnext;      /* hash chain */
    struct mapnode *work;       /* a split's queue */
};

static struct {
    struct pool pool;
    struct mapnode *bucket[MAPDB_BUCKETS];
    uint64_t reserved;          /* set aside in this kernel entry */
} db;

/* ---- nodes and the table ------------------------------------------------ */

static unsigned bucket_of(const struct proc *p, uint64_t va)
{
    uint64_t h = (uint64_t)(uintptr_t)p * 0x9e3779b97f4a7c15ull ^
                 (va >> 12) * 0xc2b2ae3d27d4eb4full;
    return (unsigned)(h >> 52) & (MAPDB_BUCKETS - 1);
}

static struct mapnode *node_find(const struct proc *p, uint64_t va)
{
    struct mapnode *n = db.bucket[bucket_of(p, va)];
    while (n && (n->p != p || n->va != va))
        n = n->hnext;
    return n;
}

static void hash_add(struct mapnode *n)
{
    struct mapnode **b = &db.bucket[bucket_of(n->p, n->va)];
    n->hnext = *b;
    *b = n;
}

static void hash_del(struct mapnode *n)
{
    struct mapnode **pp = &db.bucket[bucket_of(n->p, n->va)];
    while (*pp != n)
        pp = &(*pp)->hnext;
    *pp = n->hnext;
}

/* A node for the leaf (p, va, pa, ps), from the reservation, in no tree;
 * the leaf's derived bit is the caller's. */
static struct mapnode *node_make(struct proc *p, uint64_t va, uint64_t pa,
                                 enum page_size ps)
{
    KASSERT(db.reserved > 0, "a mapping node taken was reserved");
    db.reserved--;
    struct mapnode *n = pool_take(&db.pool);
    n->p = p;
    n->va = va;
    n->pa = pa;
    n->ps = ps;
    n->parent = n->child = n->next = n->prev = n->work = NULL;
    hash_add(n);
    return n;
}

static void node_free(struct mapnode *n)
{
    hash_del(n);
    pool_free(&db.pool, n);
}

static void tree_link(struct mapnode *parent, struct mapnode *c)
{
    c->parent = parent;
    c->prev = NULL;
    c->next = parent->child;
    if (parent->child)
        parent->child->prev = c;
    parent->child = c;
}

static void tree_unlink(struct mapnode *n)
{
    if (n->prev)
        n->prev->next = n->next;
    else if (n->parent)
        n->parent->child = n->next;
    if (n->next)
        n->next->prev = n->prev;
    n->parent = n->prev = n->next = NULL;
}

/* A node with neither parent nor children records nothing: free it and
 * clear its leaf's bit. */
static void node_drop_if_alone(struct mapnode *n)
{
    if (n->parent || n->child)
        return;
    vm_leaf_mark(n->p, n->va, 0);
    node_free(n);
}

static uint64_t node_end(const struct mapnode *n)
{
    return n->pa + ps_bytes(n->ps);
}

/* Whether n's frames meet [lo, hi) (any when hi is 0). */
static int node_meets(const struct mapnode *n, uint64_t lo, uint64_t hi)
{
    return hi == 0 || (n->pa < hi && lo < node_end(n));
}

/* n or the first sibling after it that meets [lo, hi), or NULL. */
static struct mapnode *first_meeting(struct mapnode *n, uint64_t lo,
                                     uint64_t hi)
{
    for (; n && !node_meets(n, lo, hi); n = n->next)
        ;
    return n;
}

/* The next node of the subtree of root after n in preorder, descending
 * only into nodes whose frames meet [lo, hi) (all when hi is 0), or
 * NULL. */
static struct mapnode *subtree_next(const struct mapnode *root,
                                    struct mapnode *n, uint64_t lo,
                                    uint64_t hi)
{
    struct mapnode *c = first_meeting(n->child, lo, hi);
    if (c)
        return c;
    while (n != root) {
        c = first_meeting(n->next, lo, hi);
        if (c)
            return c;
        n = n->parent;
    }
    return NULL;
}

/* ---- the run and reservations ------------------------------------------- */

void mapdb_start(void)
{
    pool_init(&db.pool, sizeof(struct mapnode));
    for (unsigned i = 0; i < MAPDB_BUCKETS; i++)
        db.bucket[i] = NULL;
    db.reserved = 0;
}

void mapdb_end(void)
{
    pool_destroy(&db.pool);
    for (unsigned i = 0; i < MAPDB_BUCKETS; i++)
        db.bucket[i] = NULL;
    db.reserved = 0;
}

hs_status mapdb_reserve(uint64_t n)
{
    if (n == 0)
        return HS_OK;
    if (n > MAPDB_NODES_MAX ||
        db.pool.live + db.reserved + n > MAPDB_NODES_MAX)
        return HS_ENOMEM;
    hs_status st = pool_reserve(&db.pool, (uint32_t)(db.reserved + n));
    if (st != HS_OK)
        return st;
    db.reserved += n;
    kern.leave_work |= LEAVE_MEM_PT;
    return HS_OK;
}

void mapdb_leave(void)
{
    db.reserved = 0;
}

uint64_t mapdb_nodes(void)
{
    return db.pool.live;
}

/* ---- making, handing over, removing ------------------------------------- */

unsigned mapdb_derive_need(struct proc *pp, uint64_t pva)
{
    struct vm_page pg;
    KASSERT(vm_lookup(pp, pva, &pg), "a derived page's parent is mapped");
    return (pg.flags & HS_MEM_DERIVED) ? 1 : 2;
}

void mapdb_derive(struct proc *pp, uint64_t pva, struct proc *cp,
                  uint64_t cva)
{
    struct vm_page pg, cg;
    KASSERT(pp != cp, "derivations cross processes");
    KASSERT(vm_lookup(pp, pva, &pg) && vm_lookup(cp, cva, &cg) &&
            cg.va == cva && !(cg.flags & HS_MEM_DERIVED),
            "a derived page and its parent are mapped");
    struct mapnode *parent = node_find(pp, pg.va);
    if (!parent) {
        parent = node_make(pp, pg.va, pg.pa, pg.ps);
        vm_leaf_mark(pp, pg.va, 1);
    }
    struct mapnode *c = node_make(cp, cva, cg.pa, cg.ps);
    vm_leaf_mark(cp, cva, 1);
    tree_link(parent, c);
}

void mapdb_hand(struct proc *fp, uint64_t fva, struct proc *tp,
                uint64_t tva)
{
    struct mapnode *n = node_find(fp, fva);
    if (!n)
        return;
    hash_del(n);
    vm_leaf_mark(fp, fva, 0);
    n->p = tp;
    n->va = tva;
    hash_add(n);
    vm_leaf_mark(tp, tva, 1);
}

void mapdb_leaf_gone(struct proc *p, uint64_t va)
{
    struct mapnode *n = node_find(p, va);
    KASSERT(n, "a derived leaf has a node");
    struct mapnode *parent = n->parent;
    tree_unlink(n);
    while (n->child) {
        struct mapnode *c = n->child;
        tree_unlink(c);
        if (parent)
            tree_link(parent, c);
        else
            node_drop_if_alone(c);
    }
    node_free(n);
    if (parent)
        node_drop_if_alone(parent);
}

/* ---- splitting ---------------------------------------------------------- */

/* Queue n and, breadth first through the work links, every descendant
 * reached through nodes of n's size: the leaves that split with n's (the
 * same frames).  Parents come before their children. */
static void split_queue(struct mapnode *n)
{
    struct mapnode *tail = n;
    n->work = NULL;
    for (struct mapnode *x = n; x; x = x->work)
        for (struct mapnode *c = x->child; c; c = c->next)
            if (c->ps == n->ps) {
                c->work = NULL;
                tail->work = c;
                tail = c;
            }
}

/* Node x's leaf is now 512 leaves of size sub: x becomes the first, 511
 * new nodes the others.  The new ones go under the matching piece of x's
 * parent (already split, unless x is the first of the split, whose parent
 * is larger and takes them all); x's smaller children move to the piece
 * that holds their frames. */
static void node_spread(struct mapnode *x, int first, enum page_size sub)
{
    uint64_t s = ps_bytes(sub);
    struct mapnode *par = x->parent;
    x->ps = sub;
    for (unsigned i = 1; i < PT_ENTRIES; i++) {
        struct mapnode *n = node_make(x->p, x->va + i * s, x->pa + i * s,
                                      sub);
        struct mapnode *to = first ? par
                                   : node_find(par->p, par->va + i * s);
        if (to)
            tree_link(to, n);
    }
    for (struct mapnode *c = x->child, *next; c; c = next) {
        next = c->next;
        uint64_t i = (c->pa - x->pa) / s;
        if (c->ps > sub || i == 0)
            continue;               /* queued itself, or stays on x */
        tree_unlink(c);
        tree_link(node_find(x->p, x->va + i * s), c);
    }
}

void mapdb_leaf_split(struct proc *p, uint64_t va, enum page_size from)
{
    struct mapnode *n = node_find(p, va);
    KASSERT(n && n->ps == from && from > PS_4K,
            "a derived leaf split has a node of its size");
    enum page_size sub = (enum page_size)(from - 1);
    split_queue(n);
    for (struct mapnode *x = n; x; x = x->work) {
        if (x != n)
            vm_leaf_split_one(x->p, x->va, from);
        node_spread(x, x == n, sub);
    }
    if (n->parent)
        return;
    uint64_t s = ps_bytes(sub);             /* roots left without a child */
    for (unsigned i = 0; i < PT_ENTRIES; i++)
        node_drop_if_alone(node_find(p, va + i * s));
}

/* Descendants of n, n not counted (a walk; nothing recurses). */
static uint64_t subtree_size(const struct mapnode *n)
{
    uint64_t count = 0;
    for (struct mapnode *d = subtree_next(n, (struct mapnode *)n, 0, 0); d;
         d = subtree_next(n, d, 0, 0))
        count++;
    return count;
}

hs_status mapdb_split_reserve(struct proc *p, uint64_t va, unsigned tables,
                              unsigned *pt_extra)
{
    const struct mapnode *n = node_find(p, va);
    KASSERT(n, "a derived leaf has a node");
    uint64_t d = subtree_size(n);
    *pt_extra = (unsigned)(tables * d);
    return mapdb_reserve((PT_ENTRIES - 1) * (uint64_t)tables * (d + 1));
}

/* ---- revoking ---------------------------------------------------------- */

/* Splits the unmap of [lo, hi) of node d's frames makes: none when it
 * takes the whole leaf, else one per large leaf it cuts (at most 3 for a
 * 1G page: the page, and the 2M pieces at each end). */
static unsigned cut_tables(const struct mapnode *d, uint64_t lo, uint64_t hi)
{
    if (lo <= d->pa && hi >= node_end(d))
        return 0;
    return d->ps == PS_1G ? 3 : d->ps == PS_2M ? 1 : 0;
}

/* The frames [*lo, *hi) of p's leaf pg inside [va, end). */
static void leaf_frames(const struct vm_page *pg, uint64_t va, uint64_t end,
                        uint64_t *lo, uint64_t *hi)
{
    uint64_t size = ps_bytes(pg->ps);
    uint64_t a = va > pg->va ? va : pg->va;
    uint64_t b = end < pg->va + size ? end : pg->va + size;
    *lo = pg->pa + (a - pg->va);
    *hi = pg->pa + (b - pg->va);
}

hs_status mapdb_revoke_check(struct proc *p, uint64_t va, uint64_t end)
{
    struct vm_page pg;
    uint64_t at = va, nodes = 0, tables = 0;
    int mapped = 0;
    for (; at < end && vm_next(p, at, end, &pg); at = pg.va + ps_bytes(pg.ps)) {
        mapped = 1;
        if (!(pg.flags & HS_MEM_DERIVED))
            continue;
        uint64_t lo, hi;
        leaf_frames(&pg, va, end, &lo, &hi);
        const struct mapnode *n = node_find(p, pg.va);
        for (struct mapnode *d = subtree_next(n, (struct mapnode *)n, lo, hi);
             d; d = subtree_next(n, d, lo, hi))
            tables += cut_tables(d, lo, hi);
    }
    nodes = tables * (PT_ENTRIES - 1);
    if (!mapped)
        return HS_ENOMAP;
    if (tables > 0xffffffffu)
        return HS_ENOMEM;
    hs_status st = pt_reserve((unsigned)tables);
    return st == HS_OK ? mapdb_reserve(nodes) : st;
}

/* Unmap, in d's process, the part of d's leaf on frames [lo, hi). */
static uint64_t victim_unmap(const struct mapnode *d, uint64_t lo,
                             uint64_t hi)
{
    uint64_t a = lo > d->pa ? lo : d->pa;
    uint64_t b = hi < node_end(d) ? hi : node_end(d);
    vm_unmap(d->p, d->va + (a - d->pa), b - a);
    return b - a;
}

/* Revoke what was derived from frames [lo, hi) of p's leaf at leaf_va:
 * take a deepest derived node on them, unmap its part, again until none
 * is left.  The leaf's own node may go on the way (once alone). */
static uint64_t revoke_leaf(struct proc *p, uint64_t leaf_va, uint64_t lo,
                            uint64_t hi)
{
    uint64_t bytes = 0;
    for (;;) {
        struct mapnode *n = node_find(p, leaf_va);
        struct mapnode *d = n ? first_meeting(n->child, lo, hi) : NULL;
        if (!d)
            return bytes;
        for (struct mapnode *c; (c = first_meeting(d->child, lo, hi));)
            d = c;
        bytes += victim_unmap(d, lo, hi);
    }
}

uint64_t mapdb_revoke(struct proc *p, uint64_t va, uint64_t end)
{
    struct vm_page pg;
    uint64_t bytes = 0;
    for (uint64_t at = va; at < end && vm_next(p, at, end, &pg);
         at = pg.va + ps_bytes(pg.ps)) {
        if (!(pg.flags & HS_MEM_DERIVED))
            continue;
        uint64_t lo, hi;
        leaf_frames(&pg, va, end, &lo, &hi);
        bytes += revoke_leaf(p, pg.va, lo, hi);
    }
    return bytes;
}

/* ---- the check ---------------------------------------------------------- */

static hs_status bad_node(struct kbuf *b, const struct mapnode *n,
                          const char *why)
{
    kbuf_printf(b, "memory check: mapping node of va 0x%llx (pa 0x%llx): "
                "%s\n", (unsigned long long)n->va,
                (unsigned long long)n->pa, why);
    return HS_ECHECK;
}

static hs_status node_check(const struct mapnode *n, struct kbuf *b)
{
    struct vm_page pg;
    if (!vm_lookup(n->p, n->va, &pg) || pg.va != n->va || pg.ps != n->ps ||
        pg.pa != n->pa)
        return bad_node(b, n, "no leaf of its size and frames");
    if (!(pg.flags & HS_MEM_DERIVED))
        return bad_node(b, n, "its leaf lacks the derived bit");
    if (node_find(n->p, n->va) != n)
        return bad_node(b, n, "not found by its address");
    if (!n->parent && !n->child)
        return bad_node(b, n, "neither parent nor children");
    if (n->parent && (n->parent->p == NULL || n->pa < n->parent->pa ||
                      node_end(n) > node_end(n->parent)))
        return bad_node(b, n, "frames outside its parent's");
    for (const struct mapnode *c = n->child; c; c = c->next)
        if (c->parent != n || (c->next && c->next->prev != c))
            return bad_node(b, n, "a child list out of order");
    return HS_OK;
}

hs_status mapdb_check(uint64_t derived_leaves, struct kbuf *b)
{
    for (uint32_t i = 0; i < pool_slots(&db.pool); i++) {
        const struct mapnode *n = pool_at(&db.pool, i);
        hs_status st = n ? node_check(n, b) : HS_OK;
        if (st != HS_OK)
            return st;
    }
    if (derived_leaves == db.pool.live)
        return HS_OK;
    kbuf_printf(b, "memory check: %llu mapping nodes, the page tables have "
                "%llu derived leaves\n", (unsigned long long)db.pool.live,
                (unsigned long long)derived_leaves);
    return HS_ECHECK;
}
