/*
 * hopsim/mem.h - simulated physical memory, address spaces, page faults.
 *
 * Physical memory is a pool of cfg.mem_size bytes (hopsim/sim.h), one host
 * mapping reserved lazily: a large pool costs no resident memory until its
 * frames are touched.  Physical addresses run from 0 to cfg.mem_size.  The
 * frame allocator hands out naturally aligned blocks of 4 KiB, 2 MiB and
 * 1 GiB; free frames read as zero.
 *
 * Each process has an address space: a 4-level page table of the x86-64
 * shape (48-bit virtual addresses, 9 bits a level) whose leaves map 4K,
 * 2M or 1G pages.  Every page size has its own reference counter, so a 1G
 * page shared with another process costs one increment, not 262,144.
 * Unmapping or protecting part of a large page splits it: the count moves
 * down to the smaller size, and a frame is freed exactly when its last
 * reference goes.
 *
 * Simulated code reaches its memory only through the accessors below
 * (hs_mem_read, hs_mem_write, hs_mem_ptr), which walk the caller's page
 * table and check protection.  A miss or a protection violation is a page
 * fault: the thread blocks and the fault goes to the process's pager (a
 * port, hs_mem_pager_set) or, for a special portal, to its chain of
 * servers.  When the fault is resolved the access completes as if nothing
 * happened; the thread's message registers are untouched.  A fault nobody
 * handles kills the faulting thread with HS_EFAULT as its exit value and
 * the reason in the run's report (event "pf_kill").
 *
 * Every call checks all of its arguments before it changes anything: a
 * refused call leaves every page table, count and frame as it was.
 *
 * Memory mapped into a process is charged to its factory as HS_RES_MAPPED
 * (bytes of address space mapped, shared pages counting in each process
 * that maps them).
 */
#ifndef HOPSIM_MEM_H
#define HOPSIM_MEM_H

#include <stddef.h>
#include <stdint.h>

#include "api.h"
#include "port.h"
#include "proc.h"
#include "status.h"

HS_BEGIN_DECLS

/* Page sizes. */
#define HS_PAGE_4K ((uint64_t)1 << 12)
#define HS_PAGE_2M ((uint64_t)1 << 21)
#define HS_PAGE_1G ((uint64_t)1 << 30)

/* Virtual addresses are 48 bits: [0, HS_VA_LIMIT). */
#define HS_VA_BITS 48
#define HS_VA_LIMIT ((uint64_t)1 << HS_VA_BITS)

/* HS_NOTIFY_EXHAUSTED's words[0] (hopsim/notify.h) when the frame pool
 * ran out: words[1] = bytes asked, [2] = bytes in use, [3] = the pool.
 * Over the HS_RES_MAPPED quota, words[0] is HS_RES_MAPPED and [2], [3]
 * are the process's use and limit.  Either way the request is tried once
 * more when a handler ran, and otherwise fails with HS_ENOFRAME or
 * HS_EQUOTA. */
#define HS_MEM_POOL 0x100u

/* Protection, and the access an accessor makes. */
#define HS_PROT_READ  0x1u
#define HS_PROT_WRITE 0x2u
#define HS_PROT_EXEC  0x4u
#define HS_PROT_ALL   0x7u

/* ---- address space ------------------------------------------------------ */

/*
 * Map len bytes of fresh zeroed memory at va in the caller's process, with
 * protection prot, which is also the most it may later be raised to.  page
 * chooses the page size: HS_PAGE_4K, HS_PAGE_2M or HS_PAGE_1G (va and len
 * aligned to it), or 0 for the largest pages that the alignment of each
 * part of the range allows (a 1G page wherever a 1G-aligned gigabyte of
 * the range begins, and so on).  Blocks come from the pool largest first.
 * Errors, nothing changed: HS_ESTATE, HS_EINVAL (va or len not aligned to
 * 4K or to page, len 0, page not a page size, prot 0 or unknown bits),
 * HS_ERANGE (the range wraps or leaves the 48-bit space), HS_EEXIST (some
 * page of the range is mapped), HS_EQUOTA (HS_RES_MAPPED), HS_ENOFRAME (not
 * enough free blocks of the sizes needed), HS_ENOMEM.  Before HS_EQUOTA or
 * HS_ENOFRAME, HS_NOTIFY_EXHAUSTED runs if the caller has a handler for
 * it (see HS_MEM_POOL), and the map is tried once more.
 */
hs_status hs_mem_map(uint64_t va, uint64_t len, unsigned prot, uint64_t page);

/*
 * Unmap [va, va + len) in the caller's process.  A large page the range
 * cuts is split first.  Every page of the range must be mapped.
 * Errors, nothing changed: HS_ESTATE, HS_EINVAL (not 4K aligned, len 0),
 * HS_ERANGE, HS_ENOMAP (a hole in the range), HS_ENOMEM (no memory for the
 * page tables a split needs, or for the mapping-database nodes a split of
 * a derived page needs: cfg.max_map_nodes).  What was derived from the
 * pages unmapped stays mapped (see hs_mem_revoke).
 */
hs_status hs_mem_unmap(uint64_t va, uint64_t len);

/*
 * Take back what was mapped onward from [va, va + len) of the caller's
 * process: every mapping derived from its pages there, recursively --
 * shared or made copy-on-write by a transfer (still sharing the frame),
 * given to a faulting process by hs_mem_fault_resolve(HS_XFER_SHARE), or
 * accepted with hs_pages_accept, and then passed on again from there --
 * is unmapped, in whichever process holds it, as if that process had
 * unmapped it: its counts, HS_RES_MAPPED and frames as after
 * hs_mem_unmap, and its next access faults (to its pager, or the thread
 * is killed).  The caller's own mappings stay, and so does what it was
 * itself derived from.  A derived page holding frames both inside and
 * outside the range is split and loses the part inside only.  A page the
 * caller moved away (HS_XFER_MOVE) is no longer its: the receiver took
 * its place.  Holes in the range are allowed; a range where nothing was
 * derived changes nothing and returns HS_OK.
 *
 * Derivations are recorded only between processes (a transfer within one
 * process makes none), and a derived page of the caller's own process
 * goes like any other, even inside the range.  A page whose mapping goes
 * by hs_mem_unmap, by its process ending or by a copy-on-write break
 * leaves what was derived from it mapped: those mappings move up to the
 * page it came from, so that whoever first mapped the frames onward can
 * still take everything back.  To take back and unmap, call this, then
 * hs_mem_unmap.
 *
 * Errors, nothing changed: HS_ESTATE, HS_EINVAL (va or len not 4K
 * aligned, len 0), HS_ERANGE (the range wraps or leaves the 48-bit
 * space), HS_ENOMAP (nothing at all is mapped in the range), HS_ENOMEM
 * (no kernel memory for the nodes or page tables the splits of derived
 * pages need, or past cfg.max_map_nodes).
 */
hs_status hs_mem_revoke(uint64_t va, uint64_t len);

/*
 * Change the protection of [va, va + len) to prot, splitting large pages
 * the range cuts.  prot may not exceed what each page was mapped or
 * received with (HS_EPERM).  Errors, nothing changed: as hs_mem_unmap,
 * plus HS_EINVAL for prot 0 or unknown bits, HS_EPERM.
 */
hs_status hs_mem_protect(uint64_t va, uint64_t len, unsigned prot);

/* Flags of a mapping (hs_mem_info.flags). */
#define HS_MEM_SHARED  0x1u   /* its frames are referenced elsewhere too
                                 (marked so, or more than one reference at
                                 its size) */
#define HS_MEM_COW     0x2u   /* copy-on-write: a write gets a copy */
#define HS_MEM_SPECIAL 0x4u   /* special portal: filled on first access */
#define HS_MEM_DIRECT  0x8u   /* direct portal: a fixed physical range, not
                                 counted */
#define HS_MEM_DERIVED 0x10u  /* in the mapping database: derived from
                                 another process's mapping, or mappings
                                 were derived from it (hs_mem_revoke) */

typedef struct hs_mem_info {
    uint64_t va;        /* start of the page holding the address */
    uint64_t page;      /* its size: HS_PAGE_4K, _2M or _1G */
    unsigned prot;      /* HS_PROT_* now */
    unsigned max_prot;  /* most it may be raised to */
    unsigned flags;     /* HS_MEM_* */
    uint64_t pa;        /* physical address of the page */
    uint64_t refs;      /* references to it at its size */
} hs_mem_info;

/* The mapping of va in process pid (0: the caller's; any process may be
 * read), from a simulated thread.  A special page not yet filled reports
 * its flags with pa 0 and refs 0; a direct one refs 0.  Errors: HS_ESTATE,
 * HS_EINVAL (info NULL), HS_ERANGE, HS_ESRCH, HS_ENOMAP (nothing mapped
 * there). */
hs_status hs_mem_query(hs_pid_t pid, uint64_t va, hs_mem_info *info);

/* ---- access ------------------------------------------------------------- */

/* Copy len bytes from the caller's memory at va into buf, or from buf
 * into it.  Page faults on the way are delivered and waited for (see
 * above); what was copied before a fault stays copied.  Errors:
 * HS_ESTATE, HS_EINVAL (buf NULL, len 0), HS_ERANGE, and for a write to a
 * copy-on-write page when no frame is left for the copy (after
 * HS_NOTIFY_EXHAUSTED), HS_ENOFRAME or HS_ENOMEM. */
hs_status hs_mem_read(uint64_t va, void *buf, size_t len);
hs_status hs_mem_write(uint64_t va, const void *buf, size_t len);

/*
 * A host pointer to [va, va + len) of the caller's memory for the given
 * access (HS_PROT_READ and/or HS_PROT_WRITE): the range must lie in
 * physically contiguous frames (one page always does).  The pointer is
 * into the frame pool itself: what another process maps of the same
 * frames, it sees.  It stays valid while the mapping does.
 * Errors: HS_ESTATE, HS_EINVAL (out NULL, len 0, access 0 or unknown),
 * HS_ERANGE (also: the range is not physically contiguous).
 */
hs_status hs_mem_ptr(uint64_t va, size_t len, unsigned access, void **out);

/* Whether the caller may make the access at [va, va + len) right now,
 * without faulting: HS_OK, or HS_EFAULT.  Never delivers a fault.
 * Errors: HS_ESTATE, HS_EINVAL, HS_ERANGE. */
hs_status hs_mem_probe(uint64_t va, size_t len, unsigned access);

/* ---- page faults -------------------------------------------------------- */

typedef uint64_t hs_pagefault_t;

/*
 * Send the page faults of the caller's process to port (0: none).  A fault
 * arrives as an asynchronous hop (a new thread of the port's owner, see
 * hs_hop_async) with
 *   mr[0] = HS_PF_LABEL, mr[1] = the fault, mr[2] = the address,
 *   mr[3] = the access (HS_PROT_*), mr[4] = the faulting process,
 *   mr[5] = the faulting thread, mr[6] = HS_PF_* flags,
 *   mr[7] = with HS_PF_SPECIAL, the special portal (hopsim/portal.h)
 * and the faulting thread waits until the fault is resolved.  A special
 * portal's page goes to the portal's chain instead of the pager.
 * Errors, the pager unchanged: HS_ESTATE, HS_ENOPORT, HS_EPERM (an
 * anonymous port the caller's process was not given, hopsim/port.h),
 * HS_ECLOSED (the port is closed: no fault could arrive).  A grant taken
 * back later (hs_port_revoke) ends the delivery too: a fault then finds
 * no pager and its thread is killed.
 */
#define HS_PF_LABEL   0x70666c74u  /* "pflt" */
#define HS_PF_SPECIAL 0x1u         /* the page belongs to a special portal */
hs_status hs_mem_pager_set(hs_port_t port);

/*
 * Resolve a fault delivered to the caller's process: map the page of the
 * caller's own memory at src (4K aligned) into the faulting process at
 * the faulting page (4K), shared (mode HS_XFER_SHARE) or copied
 * (HS_XFER_COPY), with protection prot, then let the faulting thread retry
 * its access.  A special portal's page not yet filled is replaced; it
 * stays HS_MEM_SPECIAL, with prot cut to the portal's (HS_EPERM if nothing
 * is left).  With src HS_PF_NOPAGE nothing is mapped (the handler mapped
 * it some other way); with prot 0 the fault is refused and the faulting
 * thread is killed as for an unhandled fault.  A page shared with another
 * process is derived from the caller's (HS_MEM_DERIVED): the pager takes
 * it back with hs_mem_revoke, and the next access faults to it again.
 * HS_ENOMEM also when no mapping-database node is left
 * (cfg.max_map_nodes).
 * Errors, nothing changed: HS_ESTATE, HS_EINVAL, HS_ESTALE (no such fault,
 * or already resolved, or its thread ended), HS_EPERM (the fault was not
 * delivered to the caller's process), HS_ENOMAP (src), HS_EPERM (prot
 * above src's), and the errors of the mapping (HS_EEXIST, HS_EQUOTA,
 * HS_ENOFRAME, HS_ENOMEM).
 */
#define HS_PF_NOPAGE (~(uint64_t)0)
hs_status hs_mem_fault_resolve(hs_pagefault_t pf, uint64_t src, unsigned mode,
                               unsigned prot);

/* Pass a fault delivered to the caller's process on to port, the next
 * server of a chain: it arrives there as above, and only that process may
 * resolve it from then on.  Errors: HS_ESTATE, HS_ESTALE, HS_EPERM (also:
 * an anonymous port the caller's process was not given), HS_ENOPORT,
 * HS_ECLOSED, HS_ENOHANDLER, HS_ENOSTACK. */
hs_status hs_mem_fault_pass(hs_pagefault_t pf, hs_port_t port);

/* In a handler: the page fault this hop delivers, if the kernel made the
 * hop for one (hs_mem_pager_set, hs_mem_fault_pass), else 0.  Anyone who
 * may hop through a pager's port can send a message that looks like a
 * fault's, with another process's fault in mr[1]; a pager that takes the
 * fault from here, not from the message, answers only real faults, each
 * for the process it came from (hs_hop_source).  0 too when hop is not
 * the caller's running hop (hopsim/hop.h). */
hs_pagefault_t hs_hop_fault(const hs_hop_t *hop);

/* ---- transfers (typed items, hopsim/ipc.h) ------------------------------ */

/*
 * A message (hopsim/ipc.h, "Typed items") or a hop (hs_hop_accept in
 * hopsim/hop.h) carries memory as items HS_ITEM_MEM_WORD(mode, prot) +
 * HS_FPAGE(base, log2size): a naturally aligned range of the sender's
 * address space, every page of it mapped.  The receiver takes the items
 * into a window of its own space (br[HS_BR_MEM], or the window given to
 * hs_hop_accept).  Move and share change page-table entries only: no page
 * is copied, and a large page shared whole costs one count at its size.
 * A page flagged HS_MEM_DIRECT never travels; a special page may be
 * shared or copied once filled, not moved or made copy-on-write.  A page
 * another mapping may write (flagged HS_MEM_SHARED and not copy-on-write,
 * or a 4K frame with other references) is not made copy-on-write either
 * (HS_EPERM): the other mapping would still write what both sides read.  A
 * transfer the receiver's quota (HS_EQUOTA) or the pool (HS_ENOFRAME, for
 * a copy) cannot take is refused whole, phase SEND, with nothing changed;
 * unlike hs_mem_map it raises no HS_NOTIFY_EXHAUSTED, because the thread
 * that asked is not always the one whose memory ran out.
 *
 * Between two processes, every page a share or a copy-on-write transfer
 * maps is derived from the sender's (HS_MEM_DERIVED; the sender takes it
 * back with hs_mem_revoke), and a move hands the sender's place over: the
 * receiver may take back what the sender had passed on, and whoever the
 * sender had it from may take back the receiver's.  A copy derives
 * nothing, and neither does a transfer within one process.  A transfer
 * that would need more mapping-database nodes than cfg.max_map_nodes
 * allows is refused whole with HS_ENOMEM.
 */

/* Transfer modes. */
#define HS_XFER_MOVE  1u   /* remap; the sender loses it once accepted */
#define HS_XFER_SHARE 2u   /* both map the same frames (counted) */
#define HS_XFER_COPY  3u   /* the receiver gets fresh frames with a copy */
#define HS_XFER_COW   4u   /* shared until the first write of either side,
                              which gets a private copy */

/* ---- the physical pool ---------------------------------------------------- */

typedef struct hs_mem_stats {
    uint64_t pool;         /* bytes of simulated physical memory */
    uint64_t free;         /* bytes free */
    uint64_t free_4k;      /* naturally aligned blocks of each size that */
    uint64_t free_2m;      /*   are wholly free: how many of that size */
    uint64_t free_1g;      /*   could be allocated at most */
    uint64_t refs_4k;      /* references held at each size, all */
    uint64_t refs_2m;      /*   processes and the kernel together */
    uint64_t refs_1g;
    uint64_t page_tables;  /* page-table nodes in use, with the tables
                              unmaps emptied: they stay until a map
                              reuses or replaces them, or the process
                              ends */
    uint64_t derived;      /* mapping-database nodes in use: leaves
                              flagged HS_MEM_DERIVED (hs_mem_revoke) */
} hs_mem_stats;

/* The pool now, from a simulated thread or from the host before the run.
 * After a run: the pool at its end, with every process's memory freed
 * (everything free again).  Errors: HS_EINVAL (out NULL), HS_ESTATE (no
 * simulation started, or called from a host thread during the run). */
hs_status hs_mem_stats_get(hs_mem_stats *out);

/*
 * Verify the whole memory state: every frame's counts at every size equal
 * the page-table entries (and kernel holds) that reference it, no frame is
 * both free and mapped, no frame is allocated with nothing referencing it,
 * the allocator's free lists agree with its counts, and every node of the
 * mapping database (hs_mem_revoke) matches a page flagged HS_MEM_DERIVED
 * and lies inside its parent's frames.  HS_OK, or
 * HS_ECHECK with the first difference written to the run's report (and
 * the kernel panics if it was the check at a kernel exit).  cfg.mem_check
 * (or HOPSIM_MEM_CHECK=1) runs it at every kernel exit.  Callable from a
 * simulated thread, or from the host after hs_sim_start().  Every run ends
 * with it, once no thread runs (unless the run panicked): a difference is
 * written to the report and the run returns HS_EPANIC; called from the
 * host after a run, it returns the result of that last check.
 * Errors: HS_ESTATE, HS_ENOMEM (no host memory for the counts).
 */
hs_status hs_mem_check(void);

HS_END_DECLS

#endif
