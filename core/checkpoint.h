/*
 * core/checkpoint.h - checkpoints: a caller's way back from a hop.
 *
 * A hop with HS_HOP_CHECKPOINT makes one, and it lives inside the level
 * the hop pushed (hs_level.checkpointed, with the caller's deadline): the
 * level below is the caller, parked in hs_hop(), and the handler
 * returning resumes it.  Nothing is allocated for that, and the
 * checkpoint has no handle.
 *
 * Only hs_hop_keep() makes a checkpoint a kernel object: a struct
 * checkpoint from the pool, with a handle, on the receiving process's
 * list, and in its level's `kept` until the level ends.  A kept
 * checkpoint is consumed exactly once: by hs_checkpoint_resume(), by the
 * caller's timeout, or by the receiver ending (HS_EPARTNER); its handle is
 * then stale.
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

/* A kept checkpoint. */
struct checkpoint {
    struct kobj obj;
    struct proc *owner;           /* the receiving process */
    struct list owner_link;       /* in owner->checkpoints */
    struct thread *thread;        /* the caller */
    struct hs_level *level;       /* the level the hop pushed, while it
                                     exists; NULL once it returned */
    hs_time_t deadline;           /* the caller's timeout, absolute */
};

/* Unlink from the owner's list and free: the handle becomes stale. */
void checkpoint_free(struct checkpoint *cp);

struct checkpoint *checkpoint_lookup(hs_checkpoint_t h);

/* What a caller blocked at a kept checkpoint waits on. */
extern const struct wait_ops checkpoint_wait;

/* Resume the caller blocked at kept checkpoint cp with result (its
 * handler has returned); cp is freed. */
void checkpoint_resume(struct checkpoint *cp, hs_status result);

extern const struct kobj_type checkpoint_type;

#endif
