/*
 * ports/gate.h - the gate: an IPC endpoint bound to one receiver thread.
 *
 * Gates are the third kind of port: reached through a capability, never by
 * a global name.  A gate lives as long as its receiver thread; then every
 * capability to it is stale.
 */
#ifndef HOPSIM_PORTS_GATE_H
#define HOPSIM_PORTS_GATE_H

#include "core/cap.h"
#include "core/kernel.h"
#include "kern/base.h"
#include "kern/list.h"
#include "kern/pool.h"

struct proc;
struct thread;

struct gate {
    struct kobj obj;
    struct thread *receiver;
    struct list receiver_link;  /* in receiver->gates */
};

/* Make room for a gate of a thread of p (limits, p's quota; may fail);
 * then gate_new() cannot fail.  The gate is charged to its receiver's
 * process. */
hs_status gate_reserve(struct proc *p);
struct gate *gate_new(struct thread *receiver);

/* Free every gate bound to t (t is ending). */
void gate_thread_end(struct thread *t);

/* The gate of handle h, or NULL.  Inline: every send names its gate. */
static inline struct gate *gate_lookup(uint64_t h)
{
    return pool_lookup(&k.gates, h);
}

/* The gate that capability local of p names, for a use that needs right:
 * HS_EBADCAP as cap_resolve() has it (a free name, a broken chain, an
 * object gone), then HS_EPERM for another kind of object or a missing
 * right.  The gate is looked up once, for both its checks and *g. */
HOT_INLINE hs_status gate_resolve(struct proc *p, hs_cap_t local,
                                  unsigned right, struct cap **cp,
                                  struct gate **g)
{
    struct cap *c = cap_slot(p, local);
    if (!c || !cap_chain_valid(c))
        return HS_EBADCAP;
    if (c->kind != HS_CAP_KIND_GATE)    /* its object may be gone */
        return cap_resolve(p, local, &c) == HS_OK ? HS_EPERM : HS_EBADCAP;
    *g = cap_object_cached(c);
    if (!*g) {
        *g = gate_lookup(c->object);
        if (!*g)
            return HS_EBADCAP;
        cap_object_found(c, *g);
    }
    if (!(c->rights & right))
        return HS_EPERM;
    *cp = c;
    return HS_OK;
}

/* gate_resolve()'s common case, which calls nothing (for the quick paths
 * of IPC): local names a gate capability with right whose chain is known
 * valid in this epoch (cap_chain_known_valid()) and whose gate is where
 * it was found last (cap_object_cached()).  Then the gate, with the
 * capability in *cp; else NULL, and gate_resolve() says why, or finds
 * the gate after all. */
HOT_INLINE struct gate *gate_resolve_quick(const struct proc *p,
                                           hs_cap_t local, unsigned right,
                                           struct cap **cp)
{
    struct cap *c = cap_slot(p, local);
    if (!c || !cap_chain_known_valid(c) || c->kind != HS_CAP_KIND_GATE ||
        !(c->rights & right))
        return NULL;
    *cp = c;
    return cap_object_cached(c);
}

extern const struct kobj_type gate_type;

#endif
