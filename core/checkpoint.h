/*
 * core/checkpoint.h - checkpoints: a caller's way back from a hop.
 *
 * Made by a hop with HS_HOP_CHECKPOINT and put on the receiving process's
 * list.  It refers to the level the hop pushed; the level below that is
 * the caller, parked in hs_hop().  A checkpoint is consumed exactly once:
 * by the handler returning, by hs_checkpoint_resume() after hs_hop_keep(),
 * by the caller's timeout, or by the receiver ending (HS_EPARTNER).  Its
 * handle is then stale.
 *
 * Making and freeing one are inline: every checkpointed hop does both.
 */
#ifndef HOPSIM_CORE_CHECKPOINT_H
#define HOPSIM_CORE_CHECKPOINT_H

#include "core/kernel.h"
#include "kern/list.h"
#include "kern/pool.h"
#include "hopsim/hop.h"

struct proc;
struct thread;
struct hs_level;

struct checkpoint {
    struct kobj obj;
    struct proc *owner;           /* the receiving process */
    struct list owner_link;       /* in owner->checkpoints */
    struct thread *thread;        /* the caller */
    struct hs_level *level;       /* the level the hop pushed, while it
                                     exists; NULL once it returned */
    int kept;                     /* hs_hop_keep() was called */
    hs_time_t deadline;           /* the caller's timeout, absolute */
};

/* Reserve room for one checkpoint (may fail); then checkpoint_new()
 * cannot fail. */
static inline hs_status checkpoint_reserve(void)
{
    return k.checkpoints.nfree ? HS_OK : pool_reserve(&k.checkpoints, 1);
}

/* A checkpoint of t's hop into owner, which pushed level, on owner's
 * list; the caller waits at most until deadline (absolute). */
static inline struct checkpoint *checkpoint_new(struct proc *owner,
                                                struct thread *t,
                                                struct hs_level *level,
                                                hs_time_t deadline)
{
    struct checkpoint *cp = pool_take(&k.checkpoints);
    cp->owner = owner;
    cp->thread = t;
    cp->level = level;
    cp->kept = 0;
    cp->deadline = deadline;
    list_push_back(&owner->checkpoints, &cp->owner_link);
    return cp;
}

/* Unlink from the owner's list and free: the handle becomes stale. */
static inline void checkpoint_free(struct checkpoint *cp)
{
    list_unlink(&cp->owner_link);
    pool_free(&k.checkpoints, cp);
}

struct checkpoint *checkpoint_lookup(hs_checkpoint_t h);

/* What a caller blocked at a kept checkpoint waits on. */
extern const struct wait_ops checkpoint_wait;

/* Resume the caller blocked at kept checkpoint cp with result (its
 * handler has returned); cp is freed. */
void checkpoint_resume(struct checkpoint *cp, hs_status result);

extern const struct kobj_type checkpoint_type;

#endif
