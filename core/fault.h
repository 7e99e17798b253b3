/*
 * core/fault.h - faults injected from the seed (see hopsim/fault.h).
 *
 * Each fault kind has its opportunities: the points in the kernel where it
 * could happen.  A kernel path at such a point calls fault_point() with the
 * kind; it returns the fault when this opportunity is the one the seed
 * chose, and the path then makes the fault happen: fault_kill(),
 * fault_reply_timeout() and fault_frame() are the kinds there are.  A new
 * kind is one more bit, one fault_point() call where its opportunities
 * are, and what it does there.
 */
#ifndef HOPSIM_CORE_FAULT_H
#define HOPSIM_CORE_FAULT_H

#include "core/kernel.h"

/* Draw the run's faults from the seed (hs_sim_start, after the config is
 * resolved). */
void fault_init(void);

/* Count an opportunity of kind; slow path of fault_point(). */
hs_fault *fault_count(unsigned kind);

/* An opportunity of kind: the fault if it fires here (marked fired),
 * else NULL.  Costs one test when the kind is off. */
static inline hs_fault *fault_point(unsigned kind)
{
    return (k.fault_kinds & kind) ? fault_count(kind) : NULL;
}

/* HS_FAULT_KILL: self is about to hop or send to process target (the
 * receiver of the port or gate).  If the fault fires on the caller's
 * side, the process self is in is killed: this does not return if self
 * belongs to it, and unwinds self to its caller if self only visits it.
 * On the target's side target is killed and 1 returned: the caller
 * checks its arguments again (the port or gate is gone).  0: no fault.
 * Inline, like fault_point(): one test when the kind is off; the _fire
 * half counts the opportunity. */
int fault_kill_fire(struct thread *self, struct proc *target);
static inline int fault_kill(struct thread *self, struct proc *target)
{
    return (k.fault_kinds & HS_FAULT_KILL) ? fault_kill_fire(self, target)
                                            : 0;
}

/* HS_FAULT_REPLY_TIMEOUT: self is about to reply to caller c, which
 * waits for it.  If the fault fires, c's timeout fires now (c is woken
 * with HS_ETIMEOUT) and 1 is returned: the reply must fail as stale. */
int fault_reply_timeout_fire(struct thread *self, struct thread *c);
static inline int fault_reply_timeout(struct thread *self, struct thread *c)
{
    return (k.fault_kinds & HS_FAULT_REPLY_TIMEOUT)
           ? fault_reply_timeout_fire(self, c) : 0;
}

/* HS_FAULT_FRAME: the frame allocator is about to allocate.  1 if the
 * fault fires (the allocation must fail with HS_ENOFRAME), else 0.  The
 * victim recorded is the calling thread's process. */
int fault_frame(void);

/* Write the run's faults as the summary line shows them into b. */
void fault_describe(const hs_fault *faults, unsigned n, struct kbuf *b);

#endif
