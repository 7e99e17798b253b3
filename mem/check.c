/*
 * mem/check.c - verifying the whole memory state, and the memory work at
 * kernel exit.
 *
 * The check recounts every reference from scratch: it walks the page
 * table of every process and the kernel's holds, counts the references at
 * each size per block, then has the pool compare them with its own
 * counts (mem/frame.c).  It only reads, so it can describe a broken state
 * without tripping over it.
 */
#include <string.h>

#include "core/kernel.h"
#include "mem/frame.h"
#include "mem/mapdb.h"
#include "mem/pt.h"
#include "mem/vm.h"

static inline enum page_size level_of(unsigned level)
{
    return (enum page_size)(level - 1);
}

/* What a walk of the page tables counts. */
struct tally {
    uint32_t *cnt[PS_COUNT];    /* references per block of each size */
    uint64_t nodes;             /* tables of one process */
    uint64_t mapped;            /* bytes it maps */
    uint64_t all_nodes;         /* tables of every process */
    uint64_t derived;           /* leaves with the derived bit, all */
};

static hs_status bad_entry(struct kbuf *b, const struct proc *p, uint64_t va,
                           unsigned level, uint64_t e, const char *why)
{
    kbuf_printf(b, "memory check: process '%s': entry 0x%016llx at va "
                "0x%llx, level %u: %s\n", p->name, (unsigned long long)e,
                (unsigned long long)va, level, why);
    return HS_ECHECK;
}

static hs_status tally_leaf(const struct proc *p, uint64_t e, unsigned level,
                            uint64_t va, struct tally *t, struct kbuf *b)
{
    uint64_t span = pt_span(level);
    t->mapped += span;
    t->derived += pte_derived(e);
    if (!pte_present(e))
        return pte_special(e) ? HS_OK
                              : bad_entry(b, p, va, level, e,
                                          "not present and not special");
    if (!pte_user(e))
        return bad_entry(b, p, va, level, e, "a page without the user bit");
    if (!pte_counted(e))
        return HS_OK;
    uint64_t pa = pte_addr(e);
    if (pa % span || !frame_in_pool(pa, span))
        return bad_entry(b, p, va, level, e,
                         "a counted page misaligned or outside the pool");
    if (pa / span >= frame_used_blocks(level_of(level)))
        return bad_entry(b, p, va, level, e,
                         "a page on frames never allocated");
    t->cnt[level - 1][pa / span]++;
    return HS_OK;
}

static hs_status tally_node(const struct proc *p, const struct ptnode *n,
                            unsigned level, uint64_t base, struct tally *t,
                            struct kbuf *b)
{
    t->nodes++;
    for (unsigned i = 0; i < PT_ENTRIES; i++) {
        uint64_t e = n->e[i];
        uint64_t va = base + i * pt_span(level);
        hs_status st = HS_OK;
        if (!e)
            continue;
        if (level == PT_LEVELS && pte_page_size(e))
            st = bad_entry(b, p, va, level, e, "a leaf at level 4");
        else if (pte_leaf(e, level))
            st = tally_leaf(p, e, level, va, t, b);
        else if ((e & ~PTE_ADDR) != (PTE_P | PTE_W | PTE_U))
            st = bad_entry(b, p, va, level, e, "a table entry with flags");
        else
            st = tally_node(p, pte_table(e), level - 1, va, t, b);
        if (st != HS_OK)
            return st;
    }
    return HS_OK;               /* empty tables stay (mem/vm.c) */
}

/* One process: its tables against its own counts and its account. */
static hs_status tally_proc(const struct proc *p, struct tally *t,
                            struct kbuf *b)
{
    t->nodes = 0;
    t->mapped = 0;
    if (p->as.root) {
        hs_status st = tally_node(p, p->as.root, PT_LEVELS, 0, t, b);
        if (st != HS_OK)
            return st;
    }
    t->all_nodes += t->nodes;
    const char *what = NULL;
    uint64_t have = 0, want = 0;
    if (t->nodes != p->as.nodes) {
        what = "page-table nodes";
        have = p->as.nodes;
        want = t->nodes;
    } else if (t->mapped != p->as.mapped) {
        what = "bytes mapped";
        have = p->as.mapped;
        want = t->mapped;
    } else if (p->factory.acct.used[HS_RES_MAPPED] != t->mapped) {
        what = "HS_RES_MAPPED charged";
        have = p->factory.acct.used[HS_RES_MAPPED];
        want = t->mapped;
    }
    if (!what)
        return HS_OK;
    kbuf_printf(b, "memory check: process '%s': %s %llu, its tables have "
                "%llu\n", p->name, what, (unsigned long long)have,
                (unsigned long long)want);
    return HS_ECHECK;
}

static hs_status tally_holds(struct tally *t, struct kbuf *b)
{
    for (const struct mem_hold *h = mem_hold_list(); h; h = h->next) {
        uint64_t span = ps_bytes(h->ps);
        if (h->pa % span || h->len % span || !frame_in_pool(h->pa, h->len)) {
            kbuf_printf(b, "memory check: a kernel hold at pa 0x%llx, "
                        "0x%llx bytes, is misaligned or outside the pool\n",
                        (unsigned long long)h->pa,
                        (unsigned long long)h->len);
            return HS_ECHECK;
        }
        if ((h->pa + h->len) / span > frame_used_blocks(h->ps)) {
            kbuf_printf(b, "memory check: a kernel hold at pa 0x%llx is on "
                        "frames never allocated\n",
                        (unsigned long long)h->pa);
            return HS_ECHECK;
        }
        for (uint64_t pa = h->pa; pa < h->pa + h->len; pa += span)
            t->cnt[h->ps][pa / span]++;
    }
    return HS_OK;
}

static hs_status tally_all(struct tally *t, struct kbuf *b)
{
    for (uint32_t i = 0; i < pool_slots(&k.procs); i++) {
        const struct proc *p = pool_at(&k.procs, i);
        hs_status st = p ? tally_proc(p, t, b) : HS_OK;
        if (st != HS_OK)
            return st;
    }
    if (t->all_nodes != pt_nodes_in_use()) {
        kbuf_printf(b, "memory check: %llu page-table nodes in use, the "
                    "processes have %llu\n",
                    (unsigned long long)pt_nodes_in_use(),
                    (unsigned long long)t->all_nodes);
        return HS_ECHECK;
    }
    hs_status st = tally_holds(t, b);
    if (st == HS_OK)
        st = mapdb_check(t->derived, b);
    return st == HS_OK ? frame_check(t->cnt, b) : st;
}

hs_status vm_check_all(struct kbuf *b)
{
    struct tally t;
    memset(&t, 0, sizeof t);
    hs_status st = HS_OK;
    for (int ps = 0; ps < PS_COUNT && st == HS_OK; ps++) {
        size_t bytes = (size_t)frame_used_blocks((enum page_size)ps) * 4 + 4;
        t.cnt[ps] = plat_alloc(bytes);
        if (t.cnt[ps])
            memset(t.cnt[ps], 0, bytes);
        else
            st = HS_ENOMEM;
    }
    if (st == HS_OK)
        st = tally_all(&t, b);
    else
        kbuf_printf(b, "memory check: no host memory for the counts\n");
    for (int ps = 0; ps < PS_COUNT; ps++)
        plat_free(t.cnt[ps]);
    return st;
}

void vm_leave(void)
{
    if (kern.leave_work & LEAVE_MEM_PT) {
        pt_leave();
        mapdb_leave();
    }
    if (!(kern.leave_work & LEAVE_MEM_CHECK))
        return;
    char buf[KFMT_LINE];
    struct kbuf b;
    kbuf_init(&b, buf, sizeof buf);
    if (vm_check_all(&b) != HS_OK)
        kernel_panic("at kernel exit: %s", buf);
}
