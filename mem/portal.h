/*
 * mem/portal.h - memory portals and share-points: the kernel's side
 * (mem/portal.c, mem/sharepoint.c).  See hopsim/portal.h.
 */
#ifndef HOPSIM_MEM_PORTAL_H
#define HOPSIM_MEM_PORTAL_H

#include <stdint.h>

#include "kern/list.h"
#include "kern/object.h"
#include "kern/pool.h"
#include "hopsim/port.h"
#include "hopsim/portal.h"
#include "mem/vm.h"

struct proc;
struct thread;

/* Whether a leaf maps a frame: all do but a special page not yet filled
 * (the frame at pa 0 is a frame like any other). */
static inline int vm_page_present(const struct vm_page *pg)
{
    return !(pg->flags & HS_MEM_SPECIAL) || pg->pa != 0;
}

/* A named share-point. */
struct sharepoint {
    struct kobj obj;                /* must be first */
    struct list link;               /* in k.sharepoints_live */
    char name[HS_SP_NAME_MAX + 1];
    int named;                      /* in the table: the creator has not
                                       closed it */
    int direct;                     /* over a device region: no holds */
    unsigned prot;                  /* the most an attacher gets */
    uint64_t length;                /* bytes of data; the kernel's copy,
                                       which the wrappers trust */
    uint64_t data_off;              /* HS_SP_DATA_OFFSET(npages) */
    unsigned npages;                /* 4K pages, meta-structure included */
    uint64_t *pa;                   /* npages frames */
    struct mem_hold *holds;         /* npages kernel holds (not direct) */
    struct list attached;           /* portals attached (portal.sp_link) */
    struct portal *holder;          /* attachment whose thread holds the
                                       lock, or NULL */
    hs_tid_t holder_tid;            /* that thread */
};

/* A portal: one successful hs_portal(). */
struct portal {
    struct kobj obj;                /* handle (hs_portal_t); must be first */
    struct list link;               /* in k.portals_live */
    struct proc *owner;
    hs_tid_t thread;                /* the thread that made it */
    unsigned type;                  /* HS_PORTAL_* */
    unsigned prot;
    uint64_t addr, length;          /* the range mapped in owner */
    uint64_t paddr;                 /* direct */
    struct sharepoint *sp;          /* share: the share-point, or NULL */
    struct list sp_link;            /* in sp->attached */
    int creator;                    /* made sp (and holds its name) */
    char chain[HS_PORT_NAME_MAX + 1];
    char message[HS_PORTAL_MSG_MAX + 1];
};

/* A new run has no portal; the end of a run frees them all. */
void portal_start(void);
void portal_stop(void);

/* Process p is ending: its portals go (its page table goes with it), and
 * share-points nobody needs any more with them. */
void portal_proc_end(struct proc *p);

/* The aux of a special portal's page not yet filled: the portal's slot
 * (a full handle may not fit in a page-table entry, mem/vm.h). */
uint64_t portal_aux(uint64_t h);

/* Where the fault at va of p on a special page with aux goes: HS_OK with
 * *port, the first server of its chain, and *portal, its handle;
 * HS_ESTALE (no live special portal of p covers va) or HS_ENOPORT (no
 * port of its chain's name now). */
hs_status portal_chain_port(uint64_t aux, const struct proc *p, uint64_t va,
                            hs_port_t *port, uint64_t *portal);

/* ---- share-points (mem/sharepoint.c) ------------------------------------ */

/* The share-point named name (named ones only), or NULL. */
struct sharepoint *sharepoint_find(const char *name);

/* Check that a share-point of length bytes of data can be made, and
 * reserve what it needs: HS_OK and *out (not yet in the table, no frame
 * mapped); or HS_ENOMEM / HS_ENOFRAME with nothing taken.  With direct,
 * its frames are [paddr, ...) of a device region (checked by the caller
 * with sharepoint_pages()). */
hs_status sharepoint_prepare(const char *name, unsigned prot,
                             uint64_t length, int direct, uint64_t paddr,
                             struct sharepoint **out);

/* Give back a prepared share-point that will not be made after all. */
void sharepoint_cancel(struct sharepoint *sp);

/* Pages of a share-point with length bytes of data. */
unsigned sharepoint_pages(uint64_t length);

/* Enter a prepared share-point in the table: hold its frames and write
 * its meta-structure. */
void sharepoint_publish(struct sharepoint *sp);

/* Map sp at va in p (checked by the caller with vm_map_check), prot, max
 * prot max_prot, and flags (HS_MEM_COW for a private view). */
void sharepoint_map(struct sharepoint *sp, struct proc *p, uint64_t va,
                    unsigned prot, unsigned max_prot, unsigned flags);

/* Portal a (of sp) is going: drop its attachment and the lock if its
 * thread held it through a; the creator's also withdraws the name; the
 * share-point goes with its last attachment once withdrawn. */
void sharepoint_detach(struct portal *a);

/* Free every share-point of an ended run (whose holds mem_end() has
 * dropped). */
void sharepoint_release_all(void);

/* For the wrappers (kernel calls).  The attachment at addr of the
 * caller's process: try the lock (*taken 1 if the caller now holds it, 0
 * if another thread does); release it; check an access of [off, off +
 * len) of the data and give its address (*va) and whether the caller holds
 * the lock (*held). */
hs_status sharepoint_lock_try(uint64_t addr, int *taken);
hs_status sharepoint_unlock(uint64_t addr);
hs_status sharepoint_access(uint64_t addr, uint64_t off, size_t len,
                            unsigned access, uint64_t *va, int *held);

/* Provided by ports/port.c (upcall): the named port called name, or 0. */
hs_port_t port_named(const char *name);

extern const struct kobj_type portal_type;

#endif
