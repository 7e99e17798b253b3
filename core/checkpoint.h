/*
 * core/checkpoint.h - checkpoints: a caller's way back from a hop.
 *
 * Made by a hop with HS_HOP_CHECKPOINT and put on the receiving process's
 * list.  It refers to the level the hop pushed; the level below that is
 * the caller, parked in hs_hop().  A checkpoint is consumed exactly once:
 * by the handler returning, by hs_checkpoint_resume() after hs_hop_keep(),
 * by the caller's timeout, or by the receiver ending (HS_EPARTNER).  Its
 * handle is then stale.
 */
#ifndef HOPSIM_CORE_CHECKPOINT_H
#define HOPSIM_CORE_CHECKPOINT_H

#include "core/list.h"
#include "core/pool.h"
#include "hopsim/hop.h"

struct proc;
struct thread;
struct hs_hop;

struct checkpoint {
    struct kobj obj;
    struct proc *owner;           /* the receiving process */
    struct list owner_link;       /* in owner->checkpoints */
    struct thread *thread;        /* the caller */
    struct hs_hop *level;         /* the level the hop pushed, while it
                                     exists; NULL once it returned */
    int kept;                     /* hs_hop_keep() was called */
    hs_time_t deadline;           /* the caller's timeout, absolute */
};

/* Reserve room for one checkpoint (may fail); then checkpoint_new()
 * cannot fail. */
hs_status checkpoint_reserve(void);
struct checkpoint *checkpoint_new(struct proc *owner, struct thread *t,
                                  struct hs_hop *level);

/* Unlink from the owner's list and free: the handle becomes stale. */
void checkpoint_free(struct checkpoint *cp);

struct checkpoint *checkpoint_lookup(hs_checkpoint_t h);

/* What a caller blocked at a kept checkpoint waits on. */
extern const struct wait_ops checkpoint_wait;

#endif
