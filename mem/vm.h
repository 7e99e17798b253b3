/*
 * mem/vm.h - the kernel's view of memory: the frame pool, address spaces,
 * and the operations the rest of the kernel builds on (access and page
 * faults in mem/access.c, transfers in ports/ipc.c and core/hop.c, portals
 * in mem/portal.c).
 *
 * All of it runs with the kernel lock held.  Every operation that can fail
 * has a *_check (or returns before changing anything): callers check all
 * their parts first, then change, so that a refused call leaves the memory
 * state exactly as it was.
 */
#ifndef HOPSIM_MEM_VM_H
#define HOPSIM_MEM_VM_H

#include <stddef.h>
#include <stdint.h>

#include "hopsim/mem.h"
#include "kern/object.h"

struct proc;
struct ptnode;
struct kbuf;

/* Page sizes by index: the three leaf levels. */
enum page_size { PS_4K = 0, PS_2M = 1, PS_1G = 2, PS_COUNT = 3 };

static inline uint64_t ps_bytes(enum page_size ps)
{
    return (uint64_t)1 << (12 + 9 * (unsigned)ps);
}

/* One leaf mapping, as vm_lookup() finds it. */
struct vm_page {
    uint64_t va;                /* start of the page */
    enum page_size ps;
    uint64_t pa;                /* physical address (0 for a special page
                                   not yet filled) */
    unsigned prot, max_prot;    /* HS_PROT_* */
    unsigned flags;             /* HS_MEM_* */
    uint64_t aux;               /* special page: its portal's handle */
};

/* ---- the pool (mem/frame.c) --------------------------------------------- */

/* Reserve the pool of size bytes (a multiple of 4K, at least 4K) at
 * hs_sim_start(); release it after the run.  HS_ENOMEM. */
hs_status frame_pool_init(uint64_t size);
void frame_pool_fini(void);

/* The host address of physical address pa (inside the pool). */
void *frame_host(uint64_t pa);

/* Whether [pa, pa + len) lies in the pool. */
int frame_in_pool(uint64_t pa, uint64_t len);

/* Allocate n blocks of size ps, unreferenced (the caller references each
 * with frame_ref() before it leaves the kernel); pa[0..n-1] get their
 * addresses.  All or nothing: HS_ENOFRAME and nothing taken. */
hs_status frame_alloc(enum page_size ps, unsigned n, uint64_t *pa);

/* Give back blocks from frame_alloc() never referenced. */
void frame_free(enum page_size ps, unsigned n, const uint64_t *pa);

/* One physically contiguous block of 2^order 4K frames (order 0..18),
 * unreferenced: the caller references its frames at any size that
 * divides it (each 4K frame, say), and each goes back to the pool on its
 * own when its last reference does.  HS_ENOFRAME: nothing taken.
 * frame_free_block() gives back a block never referenced. */
hs_status frame_alloc_block(unsigned order, uint64_t *pa);
void frame_free_block(unsigned order, uint64_t pa);

/* One more, or one less, reference at size ps to the block at pa (aligned
 * to ps).  The last reference to a frame (at any size) frees it. */
void frame_ref(uint64_t pa, enum page_size ps);
void frame_unref(uint64_t pa, enum page_size ps);

/* References at size ps to the block at pa. */
uint32_t frame_refs(uint64_t pa, enum page_size ps);

/* Every reference to the 4K frame at pa: its own, its 2M block's and its
 * 1G block's (blocks the pool holds only in part count too). */
uint64_t frame_refs_all(uint64_t pa);

/* Whether page pg's frames may be written through another mapping than
 * pg's own: it is flagged shared and is not copy-on-write, or (a 4K page,
 * whose count says it exactly) its frame has other references.  Making
 * such a page copy-on-write could not isolate it: the other mapping would
 * still write the frames both copy-on-write sides read. */
static inline int vm_page_shared_writable(const struct vm_page *pg)
{
    if (pg->flags & HS_MEM_COW)
        return 0;
    return (pg->flags & HS_MEM_SHARED) ||
           (pg->ps == PS_4K && frame_refs_all(pg->pa) > 1);
}

/* Free blocks, references and the like for hs_mem_stats_get(). */
void frame_stats(hs_mem_stats *out);

/* ---- address spaces (mem/vm.c, mem/pt.c) -------------------------------- */

void vm_init(struct aspace *as);

/* Unmap everything of p (its process is ending) and free its page table. */
void vm_proc_free(struct proc *p);

/* Free p's page table without touching the frame counts: the end of a
 * run whose memory state is not trusted (after a panic), when the pool
 * goes as a whole. */
void vm_discard(struct proc *p);

/* The leaf mapping va in p: 1 and *out, or 0 if none. */
int vm_lookup(struct proc *p, uint64_t va, struct vm_page *out);

/* Validate a range: 4K aligned (or aligned to align), len > 0, no wrap,
 * inside 48 bits.  HS_EINVAL or HS_ERANGE. */
hs_status vm_range_check(uint64_t va, uint64_t len, uint64_t align);

/*
 * Page-table nodes come from host memory.  A check reserves the nodes its
 * change needs until the kernel is left (vm_leave()): a check and its
 * change must run in one kernel entry, without blocking in between.
 *
 * Map the frames starting at pa (physically contiguous, len bytes) at va
 * in p, pages of size ps (va, pa, len aligned to it), prot, max_prot and
 * flags HS_MEM_*.  Each page takes one reference at size ps, unless the
 * mapping is HS_MEM_DIRECT (not counted) or HS_MEM_SPECIAL with pa 0
 * (not present; aux names its portal and must be below 2^40: it is kept
 * in the entry's address field, mem/pt.h).  A special page filled with
 * the frame at pa 0 is therefore mapped without HS_MEM_SPECIAL.  vm_map_check() says whether it
 * can be done (HS_EEXIST, HS_EQUOTA, HS_ENOMEM) and reserves the
 * page-table nodes it needs, so that vm_map() then cannot fail.
 */
hs_status vm_map_check(struct proc *p, uint64_t va, uint64_t len);

/* vm_map_check() reserves for the worst case, 4K pages throughout.  When
 * the page sizes are known, this reserves exactly what they need: page is
 * HS_PAGE_4K, _2M or _1G, or 0 for the choice of vm_page_for(). */
hs_status vm_map_check_pages(struct proc *p, uint64_t va, uint64_t len,
                             uint64_t page);

/* The first part of vm_map_check_pages(): HS_EEXIST if some page of the
 * range is mapped, else HS_OK and *nodes the page-table nodes the map
 * would make.  Reserves nothing, checks no quota. */
hs_status vm_map_plan(struct proc *p, uint64_t va, uint64_t len,
                      uint64_t page, unsigned *nodes);

/* The page size a map with page (a page size in bytes, or 0) puts at va
 * when the range ends at end: page itself, or for 0 the largest size va
 * is aligned to that ends by end. */
enum page_size vm_page_for(uint64_t va, uint64_t end, uint64_t page);
void vm_map(struct proc *p, uint64_t va, uint64_t pa, uint64_t len,
            enum page_size ps, unsigned prot, unsigned max_prot,
            unsigned flags, uint64_t aux);

/*
 * Unmap [va, va + len) of p, splitting large pages the range cuts.
 * vm_unmap_check(): HS_ENOMAP for a hole, HS_ENOMEM for the nodes the
 * splits need (reserved on success).  vm_unmap() drops one reference per
 * page and cannot fail after a successful check.
 */
hs_status vm_unmap_check(struct proc *p, uint64_t va, uint64_t len);
void vm_unmap(struct proc *p, uint64_t va, uint64_t len);

/* Change protection (and flags: set, then clear) of [va, va + len),
 * splitting as needed; the check as vm_unmap_check() plus HS_EPERM for
 * prot above a page's max_prot. */
hs_status vm_protect_check(struct proc *p, uint64_t va, uint64_t len,
                           unsigned prot);
void vm_protect(struct proc *p, uint64_t va, uint64_t len, unsigned prot,
                unsigned set_flags, unsigned clear_flags);

/* Split the leaf holding va down to pages of size ps (smaller than it),
 * moving its reference down (check: HS_ENOMEM, reserving nodes). */
hs_status vm_split_check(struct proc *p, uint64_t va, enum page_size ps);
void vm_split(struct proc *p, uint64_t va, enum page_size ps);

/* The first leaf of p that holds an address in [va, end): 1 and *out,
 * or 0 if there is none (holes are skipped). */
int vm_next(struct proc *p, uint64_t va, uint64_t end, struct vm_page *out);

/* Set (on) or clear the derived bit of p's leaf at va, which must be
 * mapped (for mem/mapdb.c, which keeps the bit and its nodes in step). */
void vm_leaf_mark(struct proc *p, uint64_t va, int on);

/* Split p's leaf at va, of size from, once (512 leaves of the next size)
 * without telling the mapping database: its own split of the leaves
 * derived alongside (page-table node reserved by the caller's check). */
void vm_leaf_split_one(struct proc *p, uint64_t va, enum page_size from);

/* Call fn for every leaf of [va, va + len) in p, in address order; the
 * range must be mapped without holes (vm_unmap_check).  Pages may reach
 * past the range's ends: fn sees whole leaves.  fn must not change p's
 * page table. */
void vm_each(struct proc *p, uint64_t va, uint64_t len,
             void (*fn)(void *cookie, const struct vm_page *pg),
             void *cookie);

/* Translate an access: HS_OK with *host the pool address of va when
 * [va, va + len) is mapped, physically contiguous, present and allows
 * access; else the fault: HS_ENOMAP (a hole or a special page not yet
 * filled: *fault_va its first address), HS_EFAULT (protection, or a write
 * to a copy-on-write page: *fault_va likewise), HS_ERANGE (mapped but not
 * physically contiguous, or the range leaves the 48-bit space).  The
 * first address that faults is va itself, or the start of a later page;
 * a fault anywhere in the range is reported before HS_ERANGE.  len 0 is
 * taken as 1. */
hs_status vm_translate(struct proc *p, uint64_t va, size_t len,
                       unsigned access, void **host, uint64_t *fault_va);

/* A request of self for amount bytes failed with why: HS_ENOFRAME (the
 * pool) or HS_EQUOTA (HS_RES_MAPPED).  Raise HS_NOTIFY_EXHAUSTED on self
 * (words: HS_MEM_POOL or HS_RES_MAPPED, amount, in use, limit): HS_OK
 * once a handler ran, and the caller tries its request once more, from
 * its checks on (the handler ran outside the kernel: reservations are
 * gone); else the refusal stands.  Other statuses are returned as they
 * are. */
struct thread;
hs_status mem_exhausted(struct thread *self, hs_status why, uint64_t amount);

/* References the kernel itself keeps: the frames of a share-point, a
 * device's range.  mem_hold_add() takes one reference at size ps on each
 * block of [pa, pa + len) and links h where vm_check_all() counts it;
 * mem_hold_remove() drops them (which may free the frames). */
struct mem_hold {
    struct mem_hold *next;      /* kernel list, owned by mem/ */
    uint64_t pa, len;
    enum page_size ps;
};
void mem_hold_add(struct mem_hold *h);
void mem_hold_remove(struct mem_hold *h);

/* The holds, linked through next (for vm_check_all()). */
const struct mem_hold *mem_hold_list(void);

/* Verify the whole state (see hs_mem_check()): HS_OK, or HS_ECHECK with
 * the first difference appended to b (HS_ENOMEM: no host memory for the
 * counts).  Reads only: safe on a broken state. */
hs_status vm_check_all(struct kbuf *b);

/* ---- the kernel's exit and the run (mem/check.c, mem/mem.c) ------------- */

/* At kernel exit when kern.leave_work is set: end the page-table reservations
 * of the checks made in this entry, and with cfg.mem_check verify the
 * whole state (a difference panics the kernel). */
void vm_leave(void);

/* Reserve the pool for a run (hs_sim_start()): HS_ENOMEM, nothing kept. */
hs_status mem_start(uint64_t size);

/* The end of a run, once no thread runs: verify the whole state (unless
 * the run panicked), keep the result for hs_mem_check(), free every
 * address space and hold, keep the pool's figures for hs_mem_stats_get()
 * and release the pool.  Returns the run's status: status, or HS_EPANIC
 * when it was HS_OK and the check found a difference (written to the
 * report). */
hs_status mem_end(hs_status status);

extern const struct kobj_type vm_type;

#endif
