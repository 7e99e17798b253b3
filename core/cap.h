/*
 * core/cap.h - capabilities and per-process capability spaces.
 *
 * A capability is a kernel object owned by one process, found there by its
 * local name (slot index + 1 in the process's table).  It names another
 * kernel object by handle, so it goes stale by itself when that object is
 * freed.  Derivation links a copy to its parent by the parent's handle and
 * the parent's revocation generation at the time; a capability is valid
 * only while every link up its chain still matches.
 *
 * Beside its object's handle a capability keeps where that object was
 * found: a pool never gives its memory back before the run ends and
 * clears a freed object's handle, so the pointer still names that object
 * exactly while the object's handle is the one kept.  Following the
 * pointer and comparing the handle is the whole lookup on the IPC fast
 * path.  The chain is checked by handle (pool_lookup()), and rarely: a
 * chain found valid stays so until some capability is revoked or freed
 * (cap_chain_valid()).
 */
#ifndef HOPSIM_CORE_CAP_H
#define HOPSIM_CORE_CAP_H

#include "core/kernel.h"
#include "kern/pool.h"
#include "hopsim/cap.h"

struct cap {
    struct kobj obj;
    struct proc *owner;
    hs_cap_t local;             /* its name in owner's space */
    hs_cap_kind kind;
    uint64_t object;            /* handle of what it names */
    unsigned rights;
    uint64_t label;
    void *found;                /* where object was last found, or NULL
                                   (cap_object_cached()) */
    uint64_t parent;            /* handle of the cap it came from, or 0 */
    uint32_t parent_gen;        /* parent's revoke_gen when derived */
    uint32_t revoke_gen;        /* bumped by cap_revoke_bump() */
    uint64_t chain_epoch;       /* k.cap_epoch when the chain was last
                                   found valid (0: never) */
};

/* Make room for one capability in p (may fail); then cap_new() cannot. */
hs_status cap_reserve(struct proc *p);
/* Make room for n capabilities in p; then n cap_new() calls cannot fail. */
hs_status cap_reserve_n(struct proc *p, unsigned n);
struct cap *cap_new(struct proc *p, hs_cap_kind kind, uint64_t object,
                    unsigned rights, uint64_t label, const struct cap *parent);

/* The valid capability named local in p: HS_OK, or HS_EBADCAP for a name
 * that is free, revoked through its chain, or whose object is gone (the
 * kind's lookup decides the last). */
hs_status cap_resolve(struct proc *p, hs_cap_t local, struct cap **out);

/* The first two checks of cap_resolve(), for a caller that looks the
 * object up itself (an IPC send, which needs the gate anyway): the
 * capability in local's slot of p, or NULL for a name out of range or
 * free. */
static inline struct cap *cap_slot(const struct proc *p, hs_cap_t local)
{
    return (local == 0 || local > p->cap_slots) ? NULL : p->caps[local - 1];
}

/* Walk c's derivation chain (cap_chain_valid()), noting a valid one
 * with the current epoch. */
int cap_chain_check(struct cap *c);

/* Whether c's derivation chain still holds: every capability up the
 * chain is live and has not been revoked since the copy below it was
 * derived.  A chain can only break when some capability is revoked or
 * freed, which moves k.cap_epoch on; a chain found valid in the current
 * epoch still is, so the common lookup is one comparison, not a walk. */
static inline int cap_chain_known_valid(const struct cap *c)
{
    return c->chain_epoch == k.cap_epoch;
}

static inline int cap_chain_valid(struct cap *c)
{
    return cap_chain_known_valid(c) || cap_chain_check(c);
}

/* Revoke everything derived from c: its generation moves on, and with it
 * the epoch of every chain. */
static inline void cap_revoke_bump(struct cap *c)
{
    c->revoke_gen++;
    k.cap_epoch++;
}

/* c's object as found last time, if that is still it: the live object
 * of handle c->object in the pool it was found in, or NULL (never
 * found, or gone).  The caller looks it up and notes it with
 * cap_object_found(). */
static inline void *cap_object_cached(const struct cap *c)
{
    const struct kobj *o = c->found;
    return o && o->handle == c->object ? c->found : NULL;
}

static inline void cap_object_found(struct cap *c, void *object)
{
    c->found = object;
}

/* The initial capabilities of a child: each a valid capability of parent
 * with HS_CAP_GRANT (HS_EBADCAP, HS_EPERM). */
hs_status cap_check_initial(struct proc *parent, const hs_cap_t *caps,
                            unsigned n);
/* Copy them into the new process p (room reserved, space empty) as local
 * names 1..n, derived from the parent's. */
void cap_copy_initial(struct proc *parent, struct proc *p,
                      const hs_cap_t *caps, unsigned n);

/* Free every capability of an ending process. */
void cap_proc_free(struct proc *p);

extern const struct kobj_type cap_type;

#endif
