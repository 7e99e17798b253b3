/*
 * mem/pt.h - page-table entries and nodes.
 *
 * The tables have the x86-64 shape: four levels of 512 entries, 9 bits of
 * the 48-bit virtual address each.
 *
 *    47        39 38        30 29        21 20        12 11           0
 *   +------------+------------+------------+------------+--------------+
 *   | PML4 index | PDPT index |  PD index  |  PT index  |    offset    |
 *   +------------+------------+------------+------------+--------------+
 *     level 4      level 3      level 2      level 1
 *                  (1G leaf)    (2M leaf)    (4K leaf)
 *
 * An entry is 64 bits:
 *
 *    63  62..57 56 55 54 53 52 51                 12 11 10 9 8 7 6..3 2 1 0
 *   +--+------+--+--+--+--+--+---------------------+--+--+-+-+--+----+-+-+-+
 *   |NX|  0   |MX|MW|MR|R |SH|  address or aux     |DI|SP|C|D|PS| 0  |U|W|P|
 *   +--+------+--+--+--+--+--+---------------------+--+--+-+-+--+----+-+-+-+
 *
 *   P   present              W  writable           U  user
 *   PS  page size: a leaf at level 2 (2M) or 3 (1G); every nonzero entry
 *       at level 1 is a leaf
 *   C   copy-on-write        SP special portal     DI direct (not counted)
 *   D   derived: the leaf has a node in the mapping database (mem/mapdb.h)
 *   SH  shared               R  readable (x86 has no read bit; ours does)
 *   MR MW MX  the most the protection may be raised to (HS_PROT_* << 54)
 *   NX  not executable
 *   address  bits 12..51 of the frame's physical address, or of the next
 *       table's host address (tables are 4 KiB aligned host memory).  A
 *       special leaf not yet filled has P clear and keeps its portal's
 *       aux value (below 2^40) in this field instead.
 *
 * An empty entry is 0.  A table entry is P | W | U and the table's
 * address; the protection of a leaf is in the leaf alone.
 */
#ifndef HOPSIM_MEM_PT_H
#define HOPSIM_MEM_PT_H

#include <stdint.h>

#include "hopsim/mem.h"
#include "hopsim/status.h"

#define PT_ENTRIES  512u
#define PT_LEVELS   4u

#define PTE_P       ((uint64_t)1 << 0)
#define PTE_W       ((uint64_t)1 << 1)
#define PTE_U       ((uint64_t)1 << 2)
#define PTE_PS      ((uint64_t)1 << 7)
#define PTE_DERIVED ((uint64_t)1 << 8)
#define PTE_COW     ((uint64_t)1 << 9)
#define PTE_SPECIAL ((uint64_t)1 << 10)
#define PTE_DIRECT  ((uint64_t)1 << 11)
#define PTE_ADDR    (((uint64_t)1 << 52) - ((uint64_t)1 << 12))
#define PTE_SHARED  ((uint64_t)1 << 52)
#define PTE_R       ((uint64_t)1 << 53)
#define PTE_MAX_SHIFT 54
#define PTE_MAX     ((uint64_t)HS_PROT_ALL << PTE_MAX_SHIFT)
#define PTE_NX      ((uint64_t)1 << 63)
#define PTE_AUX_LIMIT ((uint64_t)1 << 40)

struct ptnode {
    uint64_t e[PT_ENTRIES];
};

_Static_assert(sizeof(struct ptnode) == 4096, "a table is one 4K page");

/* Bytes one entry of a level covers: 4K at level 1 .. 512G at level 4. */
static inline uint64_t pt_span(unsigned level)
{
    return (uint64_t)1 << (12 + 9 * (level - 1));
}

/* The index of va in a table of the level. */
static inline unsigned pt_index(uint64_t va, unsigned level)
{
    return (unsigned)(va >> (12 + 9 * (level - 1))) & (PT_ENTRIES - 1);
}

static inline int pte_present(uint64_t e) { return (e & PTE_P) != 0; }
static inline int pte_write(uint64_t e) { return (e & PTE_W) != 0; }
static inline int pte_user(uint64_t e) { return (e & PTE_U) != 0; }
static inline int pte_read(uint64_t e) { return (e & PTE_R) != 0; }
static inline int pte_exec(uint64_t e) { return (e & PTE_NX) == 0; }
static inline int pte_page_size(uint64_t e) { return (e & PTE_PS) != 0; }
static inline int pte_cow(uint64_t e) { return (e & PTE_COW) != 0; }
static inline int pte_special(uint64_t e) { return (e & PTE_SPECIAL) != 0; }
static inline int pte_direct(uint64_t e) { return (e & PTE_DIRECT) != 0; }
static inline int pte_shared(uint64_t e) { return (e & PTE_SHARED) != 0; }
static inline int pte_derived(uint64_t e) { return (e & PTE_DERIVED) != 0; }

/* The address field: a frame's physical address, a table's host address,
 * or (special, not present) the aux value << 12. */
static inline uint64_t pte_addr(uint64_t e) { return e & PTE_ADDR; }

static inline uint64_t pte_aux(uint64_t e) { return pte_addr(e) >> 12; }

static inline struct ptnode *pte_table(uint64_t e)
{
    return (struct ptnode *)(uintptr_t)pte_addr(e);
}

/* Whether e, at level, is a leaf (a page, present or a special one not
 * yet filled) rather than empty or a table. */
static inline int pte_leaf(uint64_t e, unsigned level)
{
    return level == 1 ? e != 0 : pte_page_size(e);
}

/* Whether the leaf's frames are counted: present, not direct. */
static inline int pte_counted(uint64_t e)
{
    return pte_present(e) && !pte_direct(e);
}

/* HS_PROT_* of a leaf, now and at most. */
static inline unsigned pte_prot(uint64_t e)
{
    return (pte_read(e) ? HS_PROT_READ : 0) |
           (pte_write(e) ? HS_PROT_WRITE : 0) |
           (pte_exec(e) ? HS_PROT_EXEC : 0);
}

static inline unsigned pte_max_prot(uint64_t e)
{
    return (unsigned)((e & PTE_MAX) >> PTE_MAX_SHIFT);
}

/* HS_MEM_* flags kept in a leaf. */
static inline unsigned pte_flags(uint64_t e)
{
    return (pte_shared(e) ? HS_MEM_SHARED : 0) |
           (pte_cow(e) ? HS_MEM_COW : 0) |
           (pte_special(e) ? HS_MEM_SPECIAL : 0) |
           (pte_direct(e) ? HS_MEM_DIRECT : 0) |
           (pte_derived(e) ? HS_MEM_DERIVED : 0);
}

/* e with its protection replaced by prot. */
static inline uint64_t pte_with_prot(uint64_t e, unsigned prot)
{
    e &= ~(PTE_R | PTE_W | PTE_NX);
    if (prot & HS_PROT_READ)
        e |= PTE_R;
    if (prot & HS_PROT_WRITE)
        e |= PTE_W;
    if (!(prot & HS_PROT_EXEC))
        e |= PTE_NX;
    return e;
}

/* e with the HS_MEM_* flags set added, then clear removed. */
static inline uint64_t pte_with_flags(uint64_t e, unsigned set,
                                      unsigned clear)
{
    static const uint64_t bit[5] = {PTE_SHARED, PTE_COW, PTE_SPECIAL,
                                    PTE_DIRECT, PTE_DERIVED};
    for (unsigned i = 0; i < 5; i++) {
        if (set & (1u << i))
            e |= bit[i];
        if (clear & (1u << i))
            e &= ~bit[i];
    }
    return e;
}

/* A leaf at level: present at addr, or (present 0: a special page not
 * yet filled) with addr holding aux << 12. */
static inline uint64_t pte_make_leaf(unsigned level, uint64_t addr,
                                     int present, unsigned prot,
                                     unsigned max_prot, unsigned flags)
{
    uint64_t e = (addr & PTE_ADDR) | PTE_U |
                 ((uint64_t)max_prot << PTE_MAX_SHIFT);
    if (present)
        e |= PTE_P;
    if (level > 1)
        e |= PTE_PS;
    return pte_with_flags(pte_with_prot(e, prot), flags, 0);
}

static inline uint64_t pte_make_table(struct ptnode *n)
{
    return ((uint64_t)(uintptr_t)n & PTE_ADDR) | PTE_P | PTE_W | PTE_U;
}

/*
 * Nodes come from host memory through a spare list.  pt_reserve(n) makes
 * sure n nodes beyond those already reserved are on the list (HS_ENOMEM,
 * nothing reserved, if the host refuses); pt_node_take() then cannot
 * fail.  A reservation lasts until the kernel is left (pt_leave()), so a
 * check and its change must run in one kernel entry.
 */
hs_status pt_reserve(unsigned n);
struct ptnode *pt_node_take(void);      /* zeroed; counted in use */
void pt_node_give(struct ptnode *n);    /* back to the spare list */
void pt_leave(void);                    /* drop reservations, trim spares */
void pt_release(void);                  /* free every spare (end of run) */
uint64_t pt_nodes_in_use(void);

#endif
