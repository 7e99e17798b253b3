/*
 * hopsim/cap.h - capabilities: local names for kernel objects.
 *
 * Each process has a capability space: small integers (hs_cap_t, never 0)
 * naming kernel objects, so that no global name leaks an object (named
 * ports are the one global namespace).  A capability carries rights, a
 * label (for a gate: the label its receiver sees), and a place in a
 * derivation tree: hs_cap_derive() makes a copy with fewer rights and a new
 * label; hs_cap_revoke() bumps the generation of a capability so that every
 * copy derived from it, directly or not, stops working while the
 * capability itself goes on.  A capability of an object that is gone (its
 * receiver ended, say) is refused with HS_EBADCAP.
 */
#ifndef HOPSIM_CAP_H
#define HOPSIM_CAP_H

#include <stdint.h>

#include "api.h"
#include "proc.h"
#include "status.h"

HS_BEGIN_DECLS

typedef uint32_t hs_cap_t;

#define HS_CAP_NIL    ((hs_cap_t)0)   /* names nothing; "receive from
                                         nobody" in hs_ipc_recv */

/* Rights. */
#define HS_CAP_SEND   0x1u   /* send to the object */
#define HS_CAP_RECV   0x2u   /* receive from it */
#define HS_CAP_GRANT  0x4u   /* pass the capability on (to a child, or as
                                a typed item in a message) */
#define HS_CAP_SHARE  0x8u   /* share what it names (memory, later) */
#define HS_CAP_ALL    0xfu

typedef enum hs_cap_kind {
    HS_CAP_KIND_GATE = 1,   /* hopsim/ipc.h */
    HS_CAP_KIND_IRQ = 2,    /* hopsim/irq.h */
    HS_CAP_KIND_CHAN = 3,   /* hopsim/chan.h */
    HS_CAP_KIND_TOPIC = 4,  /* hopsim/topic.h */
} hs_cap_kind;

typedef struct hs_cap_info {
    hs_cap_kind kind;
    unsigned rights;
    uint64_t label;
} hs_cap_info;

/* A copy of cap in the caller's space with rights & cap's rights and the
 * given label.  Errors: HS_ESTATE, HS_EINVAL (out NULL, rights 0 or
 * unknown bits), HS_EBADCAP, HS_EPERM (rights the source lacks),
 * HS_ELIMIT, HS_EQUOTA, HS_ENOMEM. */
hs_status hs_cap_derive(hs_cap_t cap, unsigned rights, uint64_t label,
                        hs_cap_t *out);

/* Every capability derived from cap (not cap itself) stops working.
 * Errors: HS_ESTATE, HS_EBADCAP. */
hs_status hs_cap_revoke(hs_cap_t cap);

/* Remove cap from the caller's space; copies derived from it stop
 * working.  Errors: HS_ESTATE, HS_EBADCAP. */
hs_status hs_cap_delete(hs_cap_t cap);

/* What cap names.  Errors: HS_ESTATE, HS_EINVAL (info NULL), HS_EBADCAP. */
hs_status hs_cap_info_get(hs_cap_t cap, hs_cap_info *info);

/* Give a child process a copy of cap (which needs HS_CAP_GRANT) with
 * rights & cap's rights; *theirs is its name in the child's space, to be
 * passed to the child (e.g. as the spawn argument).  The child must be
 * alive: one that has ended, even if not yet reaped, has no capability
 * space any more.  Errors, nothing changed: HS_ESTATE, HS_EINVAL,
 * HS_EBADCAP, HS_EPERM (no grant right, or rights it lacks), HS_ESRCH (no
 * such process, or it has ended), HS_ENOTCHILD, HS_ELIMIT, HS_EQUOTA (the
 * child's caps), HS_ENOMEM. */
hs_status hs_cap_give(hs_pid_t child, hs_cap_t cap, unsigned rights,
                      hs_cap_t *theirs);

HS_END_DECLS

#endif
