/*
 * hopsim/portal.h - memory portals, share-points and simulated devices.
 *
 * A memory portal is a mapping asked for with one request structure,
 * hs_portal_req, whose type combines the classes below.  Every portal
 * that hs_portal() makes is a kernel object (hs_portal_t) owned by the
 * caller's process; it goes with hs_portal_destroy() or when the process
 * ends.
 *
 *   HS_PORTAL_ANON     fresh zeroed memory at morphology.addr, as
 *                      hs_mem_map() with 4K pages.
 *   HS_PORTAL_COW      a copy-on-write view at morphology.addr of the
 *                      caller's own range at morphology.src: both sides
 *                      become HS_MEM_COW and lose write access until their
 *                      first write, which gets a private copy of the page.
 *   HS_PORTAL_DIRECT   the physical range [morphology.paddr, + length),
 *                      which must lie inside one simulated device region
 *                      (hs_mem_device_create), mapped uncounted
 *                      (HS_MEM_DIRECT).  Privileged.
 *   HS_PORTAL_SPECIAL  [addr, addr + length) reserved as not-present
 *                      HS_MEM_SPECIAL pages.  The first access to each page
 *                      faults, and the fault goes to the named port
 *                      chain.name, the first server of a chain (below).
 *                      Privileged.
 *   HS_PORTAL_SHARE    a named share-point (below): with ANON or DIRECT and
 *                      share.create = 1 it is created; alone, with
 *                      share.create = 0, the caller attaches to it; with
 *                      COW and share.create = 0, the caller attaches to a
 *                      private copy-on-write view of it.
 *
 * Any other combination is HS_EINVAL.  "Privileged" means a core server
 * (hs_proc_attr.privileged); any other process gets HS_EPERM.
 *
 * The chain of a special portal: a fault on one of its pages arrives at
 * the port named chain.name as a page fault (hopsim/mem.h: an asynchronous
 * hop with mr[0] = HS_PF_LABEL ... mr[6] = HS_PF_SPECIAL) with mr[7] = the
 * portal.  The server may read the portal's chain.message with
 * hs_portal_info(), then either resolve the fault with
 * hs_mem_fault_resolve() (which replaces the not-present page; the filled
 * page stays HS_MEM_SPECIAL, at most the portal's protection) or pass it on
 * to the next server with hs_mem_fault_pass().  The faulting thread is
 * blocked until then, and its message registers are untouched.  No server
 * under the name at the time of the fault, or a refusal (prot 0), kills
 * the faulting thread with HS_EFAULT.
 *
 * Share-points.  The kernel keeps a table of named share-points.  Each has
 * an identifier (1 to HS_SP_NAME_MAX bytes, unique: HS_EEXIST), its frames
 * (held by the kernel, so they outlive any one mapping) and the list of
 * its attachments (the portals mapping it, with the thread that made
 * each).  Its first bytes are the meta-structure hs_sp_meta, written by
 * the kernel at creation; the data starts at the next 16-byte boundary
 * after it (HS_SP_DATA_OFFSET).  Every attacher chooses its own address
 * and maps the whole share-point, meta-structure included.
 *
 * Data is meant to be reached only through the wrappers hs_sp_lock(),
 * hs_sp_unlock(), hs_sp_read() and hs_sp_write(), which take the lock byte
 * of the meta-structure, check bounds and protection, and go through the
 * caller's page table.
 *
 * Lifetime: the creator's portal holds the share-point's name.  When the
 * creator closes it (or the creator's process ends) the name leaves the
 * table (new attaches get HS_ENOENT; the name may be created again), and
 * the frames go when the last attachment goes too.
 */
#ifndef HOPSIM_PORTAL_H
#define HOPSIM_PORTAL_H

#include <stddef.h>
#include <stdint.h>

#include "api.h"
#include "mem.h"
#include "proc.h"
#include "status.h"
#include "thread.h"

HS_BEGIN_DECLS

typedef uint64_t hs_portal_t;

/* Classes (hs_portal_req.type). */
#define HS_PORTAL_SHARE   0x01u
#define HS_PORTAL_DIRECT  0x02u
#define HS_PORTAL_ANON    0x04u
#define HS_PORTAL_COW     0x08u
#define HS_PORTAL_SPECIAL 0x10u

#define HS_SP_NAME_MAX     31   /* longest share-point identifier */
#define HS_PORTAL_MSG_MAX  63   /* longest chain message */

/* One request for every class. */
typedef struct hs_portal_req {
    unsigned type;          /* HS_PORTAL_* */
    unsigned prot;          /* HS_PROT_*: of the mapping (of a share-point:
                               the most any attacher gets) */
    uint64_t length;        /* bytes mapped (4K aligned); for a share-point
                               being created, bytes of data (any size; the
                               mapping is the meta-structure plus the data,
                               rounded up to 4K); ignored when attaching */
    struct {
        const char *identifier; /* the share-point's name */
        int create;         /* 1: create it; 0: attach to it */
    } share;
    struct {
        const char *name;   /* special: the named port of the first server */
        const char *message; /* special: for the servers (NULL: none) */
    } chain;
    struct {
        uint64_t addr;      /* where the caller maps it (4K aligned) */
        uint64_t paddr;     /* direct: the physical range's start */
        uint64_t src;       /* cow: the caller's range to view */
    } morphology;
} hs_portal_req;

/*
 * Make the portal req asks for in the caller's process; *out (may be NULL)
 * gets its handle.  Errors, nothing changed: HS_ESTATE, HS_EINVAL (req
 * NULL, a type that is no valid combination, prot 0 or unknown bits, COW
 * without HS_PROT_READ, addr, src, paddr or length not 4K aligned, length
 * 0, a share-point's data above 1 GiB, a bad identifier, chain name or
 * message, a COW source whose large pages the range cuts or whose offset
 * to addr they do not share), HS_EPERM
 * (direct or special from an unprivileged process; a direct range outside
 * every device region; prot above the share-point's or, for COW, the
 * source's; a COW source page another mapping may write, see
 * hopsim/mem.h), HS_ERANGE (a range wraps or leaves the 48-bit space; a
 * direct range outside the pool), HS_EEXIST (the identifier is taken; a
 * page of the range is mapped), HS_ENOENT (no share-point of that name to
 * attach to), HS_ENOMAP (a hole in the COW source), HS_EQUOTA
 * (HS_RES_MAPPED), HS_ENOFRAME, HS_ENOMEM.  Before HS_EQUOTA or
 * HS_ENOFRAME, HS_NOTIFY_EXHAUSTED runs if the caller has a handler, and
 * the request is tried once more (as for hs_mem_map).
 */
hs_status hs_portal(const hs_portal_req *req, hs_portal_t *out);

/*
 * Unmap the portal's range (which must still be mapped, without holes) and
 * end it: an attachment leaves its share-point; the creator's portal also
 * withdraws the share-point's name (see above).  Only the owner process.
 * Errors, nothing changed: HS_ESTATE, HS_ESTALE (no such portal),
 * HS_EPERM (not the owner), HS_ENOMAP (part of the range was unmapped),
 * HS_ENOMEM.
 */
hs_status hs_portal_destroy(hs_portal_t portal);

typedef struct hs_portal_info {
    unsigned type;          /* HS_PORTAL_* */
    unsigned prot;
    uint64_t addr;          /* where it is mapped in its owner */
    uint64_t length;        /* bytes mapped */
    uint64_t paddr;         /* direct: the physical start */
    hs_pid_t owner;         /* the process that made it */
    hs_tid_t thread;        /* the thread that made it */
    uint64_t data_offset;   /* share-point: where the data starts */
    uint64_t data_length;   /* share-point: bytes of data */
    unsigned attached;      /* share-point: attachments now */
    char identifier[HS_SP_NAME_MAX + 1];    /* share-point */
    char chain[HS_PORT_NAME_MAX + 1];       /* special */
    char message[HS_PORTAL_MSG_MAX + 1];    /* special */
} hs_portal_info;

/* What portal is.  Readable by its owner, and by a process that an open
 * fault on one of the portal's pages was delivered (or passed) to.
 * Errors: HS_ESTATE, HS_EINVAL (info NULL), HS_ESTALE, HS_EPERM. */
hs_status hs_portal_info_get(hs_portal_t portal, hs_portal_info *info);

/* ---- share-points --------------------------------------------------------- */

/* The meta-structure at the start of every share-point (seed 002).  lock
 * is 0 when free; prot and length are the share-point's protection and
 * bytes of data; morphology lists the physical address of each of its 4K
 * pages.  A flexible array inside a member struct is a GNU extension
 * (C++ has no flexible arrays at all): -Wpedantic is silenced for this
 * struct only. */
#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wpedantic"
#endif
struct __attribute__((packed)) hs_sp_meta {
    char lock;
    int prot;
    size_t length;
    struct {
        size_t length;      /* entries in paddr */
        uint64_t paddr[];
    } morphology;
};
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif

/* Where the data of a share-point of npages pages starts. */
#define HS_SP_META_SIZE(npages) \
    (offsetof(struct hs_sp_meta, morphology.paddr) + 8 * (uint64_t)(npages))
#define HS_SP_DATA_OFFSET(npages) ((HS_SP_META_SIZE(npages) + 15) & ~(uint64_t)15)

/*
 * Take the lock of the share-point the caller attached at addr: an atomic
 * test-and-set of its lock byte; while another thread holds it, yield the
 * CPU (hs_thread_yield) and try again.  A lock whose holder has ended is
 * taken over.  A yield lets threads of the same priority run, not lower
 * ones: a holder of lower priority than its waiter never gets the CPU
 * back (give threads that share a lock one priority).  Errors: HS_ESTATE, HS_ENOENT (no share-point attached at
 * addr in the caller's process), HS_EDEADLK (the caller holds it already).
 */
hs_status hs_sp_lock(uint64_t addr);

/* Release it.  Errors: HS_ESTATE, HS_ENOENT, HS_EPERM (the caller does
 * not hold it). */
hs_status hs_sp_unlock(uint64_t addr);

/*
 * Copy len bytes at offset off of the share-point's data (attached at
 * addr) into buf, or from buf into it, through the caller's page table.
 * Inside hs_sp_lock() / hs_sp_unlock() they use the caller's lock;
 * otherwise they take the lock for the copy.  Errors: HS_ESTATE,
 * HS_EINVAL (buf NULL, len 0), HS_ENOENT, HS_ERANGE (off + len beyond the
 * data), HS_EPERM (a write to a share-point, or an attachment, without
 * HS_PROT_WRITE; a read without HS_PROT_READ).
 */
hs_status hs_sp_read(uint64_t addr, uint64_t off, void *buf, size_t len);
hs_status hs_sp_write(uint64_t addr, uint64_t off, const void *buf,
                      size_t len);

/* ---- simulated devices ------------------------------------------------------ */

#define HS_DEVICES_MAX 16   /* device regions in one run */

/*
 * Make a simulated device region: size bytes (4K aligned, at most 1 GiB)
 * of physically contiguous memory, carved out of a free block of the
 * smallest page size that holds it and held by the kernel for the rest of
 * the run; *paddr gets its start.  Only there may direct portals map, so a
 * direct mapping never aliases frames that others own.  Called from a
 * privileged simulated thread, or from the host between hs_sim_start() and
 * hs_sim_run().  Errors: HS_ESTATE, HS_EINVAL (size, paddr NULL), HS_EPERM
 * (unprivileged), HS_ELIMIT (HS_DEVICES_MAX), HS_ENOFRAME.
 */
hs_status hs_mem_device_create(uint64_t size, uint64_t *paddr);

/*
 * A host pointer to [paddr, paddr + len) of a device region, to play the
 * device: from a privileged simulated thread, or from the host between
 * hs_sim_start() and hs_sim_run().  Valid until the run ends.  Errors:
 * HS_ESTATE, HS_EINVAL (out NULL, len 0), HS_ERANGE (outside the pool),
 * HS_EPERM (unprivileged, or not inside one device region).
 */
hs_status hs_mem_phys_ptr(uint64_t paddr, size_t len, void **out);

HS_END_DECLS

#endif
