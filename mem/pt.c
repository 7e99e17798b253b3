/*
 * mem/pt.c - page-table nodes: host pages handed out from a spare list
 * that checks fill in advance, so that changes cannot fail.
 */
#include <string.h>

#include "core/kernel.h"
#include "mem/pt.h"
#include "sim/platform.h"

/* Spare nodes kept across kernel entries, beyond any reservation. */
#define PT_SPARE_KEEP 64u

static struct {
    struct ptnode *spare;       /* linked through e[0] */
    unsigned nspare;
    unsigned reserved;          /* of the spares, promised to changes
                                   since the kernel was entered */
    uint64_t in_use;
} pt;

hs_status pt_reserve(unsigned n)
{
    while (pt.nspare < pt.reserved + n) {
        struct ptnode *node = plat_alloc_aligned(sizeof *node, sizeof *node);
        if (!node)
            return HS_ENOMEM;
        KASSERT(((uintptr_t)node & ~PTE_ADDR) == 0,
                "a table's host address fits an entry");
        node->e[0] = (uint64_t)(uintptr_t)pt.spare;
        pt.spare = node;
        pt.nspare++;
    }
    pt.reserved += n;
    if (pt.reserved)
        kern.leave_work |= LEAVE_MEM_PT;
    return HS_OK;
}

struct ptnode *pt_node_take(void)
{
    KASSERT(pt.nspare > 0 && pt.reserved > 0,
            "a page-table node taken was reserved by a check");
    struct ptnode *n = pt.spare;
    pt.spare = (struct ptnode *)(uintptr_t)n->e[0];
    pt.nspare--;
    pt.reserved--;
    pt.in_use++;
    memset(n, 0, sizeof *n);
    return n;
}

void pt_node_give(struct ptnode *n)
{
    KASSERT(pt.in_use > 0, "a node given back was in use");
    pt.in_use--;
    n->e[0] = (uint64_t)(uintptr_t)pt.spare;
    pt.spare = n;
    if (++pt.nspare > PT_SPARE_KEEP)
        kern.leave_work |= LEAVE_MEM_PT;
}

void pt_leave(void)
{
    pt.reserved = 0;
    kern.leave_work &= ~LEAVE_MEM_PT;
    while (pt.nspare > PT_SPARE_KEEP) {
        struct ptnode *n = pt.spare;
        pt.spare = (struct ptnode *)(uintptr_t)n->e[0];
        pt.nspare--;
        plat_free(n);
    }
}

void pt_release(void)
{
    while (pt.spare) {
        struct ptnode *n = pt.spare;
        pt.spare = (struct ptnode *)(uintptr_t)n->e[0];
        plat_free(n);
    }
    memset(&pt, 0, sizeof pt);
}

uint64_t pt_nodes_in_use(void)
{
    return pt.in_use;
}
