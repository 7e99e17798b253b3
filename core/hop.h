/*
 * core/hop.h - hop levels: where a thread is, and how it got there.
 *
 * A thread's hop chain is a stack of levels.  Level 0 is where the thread
 * was created (embedded in the thread); each hop pushes a level in the
 * receiving process, running the port's handler on a context whose stack
 * the receiver gave.  The level below a pushed one is parked in hs_hop():
 * its context is saved (referenced by the checkpoint, if the hop made
 * one), or discarded for a one-way hop.
 *
 *   thread->top --> [level 2: proc C, handler ctx, cp2 on C's list]
 *                        below
 *                   [level 1: proc B, handler ctx (parked), cp1 on B's]
 *                        below
 *                   [level 0: proc A, home ctx (parked)]
 *
 * Invariant: thread->ctx == thread->top->ctx, the context that runs when
 * the thread runs.
 *
 * A one-way hop (no checkpoint) is allowed only from a level that has no
 * checkpoint itself (level 0, or a level reached one-way): the level it
 * leaves is dropped, and level 0's context is discarded.  So every level
 * with a checkpoint sits on a live parked level, and a one-way level sits
 * on a discarded level 0: when its handler returns, the thread ends.
 *
 * A handler context and its level stay together for the context's life.
 * When a handler returns through its checkpoint (not kept) and its
 * process has no spare yet, the two are not freed: the context parks, and
 * the pair becomes the process's spare (proc->hop_spare, the level known
 * by plat_ctx_arg()).  The next hop into that process with a stack of the
 * same size takes the pair, fills in the level and switches straight into
 * the context, which runs the new hop's handler (level_start() loops).  A
 * parked level is on no list and its ctx is NULL (the context is the
 * process's); hop_proc_free() frees both.
 */
#ifndef HOPSIM_CORE_HOP_H
#define HOPSIM_CORE_HOP_H

#include "kern/list.h"
#include "kern/pool.h"
#include "hopsim/hop.h"
#include "sim/platform.h"

struct thread;
struct proc;
struct checkpoint;

/* The memory items a hop offered (HS_HOP_ITEMS), kept as they were at
 * the hop: the tag, and the item registers at their own indexes of mr[]
 * (the other registers are not copied). */
struct hop_offer {
    struct kobj obj;              /* handle; must be first */
    uint64_t tag;
    uint64_t mr[HS_MR_COUNT];
};

/* One level of a hop chain; the public hs_hop_t is a pointer to it.
 * Every hop sets each field (level_push() in hop.c); those it sets to
 * constants sit together, so that the stores merge. */
struct hs_level {
    struct kobj obj;              /* unused (0) for level 0 */
    struct hs_level *below;       /* NULL at level 0 */
    struct thread *thread;
    struct proc *proc;            /* the process this level runs in */
    plat_context *ctx;            /* NULL once discarded */
    hs_hop_handler handler;       /* what this level runs */
    void *cookie;
    hs_pid_t source;              /* the process hopped from (0: none) */
    hs_port_t port;               /* port hopped through (0 at level 0) */
    unsigned depth;               /* 0 for level 0 */
    int stack_counted;            /* holds one of proc's hop stacks */
    int dead;                     /* its process ended while the thread ran
                                     on another CPU: unwind at next entry */
    int accepted;                 /* hs_hop_accept() done */
    struct checkpoint *cp;        /* checkpoint of the hop into this level */
    struct hop_offer *offer;      /* memory items offered, until accepted
                                     or declined (NULL: none) */
    struct list visit_link;       /* in proc->visitors (levels above 0) */
};

/* Set up level 0 of a new thread. */
void hop_home_init(struct thread *t, struct proc *p, plat_context *ctx);

/* Drop every level above 0 of thread t (it is ending).  Contexts are
 * destroyed unless running; the running one, if any, is returned. */
plat_context *hop_drop_all(struct thread *t);

/* Process p is ending: unwind every thread visiting it and resume every
 * checkpoint on its list with HS_EPARTNER.  The calling thread, if it is
 * itself a visitor, is unwound last, by the caller, through
 * hop_unwind_self(). */
void hop_proc_end(struct proc *p);

/* After hop_proc_end(): if the calling thread was visiting a process
 * that ended, unwind it now (does not return in that case). */
void hop_unwind_self(struct thread *self);

/* Give back a stack counted against p's hop-stack budget. */
void hop_stack_release(struct proc *p);

/* Free p's spare handler context and its level, if any (p is ending). */
void hop_proc_free(struct proc *p);

/* Write t's backtrace across its hops (t is the running thread). */
void hop_backtrace(struct thread *t, void (*line)(void *, const char *),
                   void *cookie);

/* The part below t's running stack: for each level, its "--- hop from
 * ... ---" line and the frames of the parked caller.  The crash report
 * writes its own first stack (from the faulting frame), then this. */
void hop_backtrace_levels(const struct thread *t,
                          void (*line)(void *, const char *), void *cookie);

/* Async-hop threads start here (level 0 runs a handler). */
void hop_async_start(struct thread *t);

/* Start a detached thread of port p's owner in p's handler (open, with a
 * handler: the caller checked) at priority prio, as an asynchronous hop
 * from process source, with message registers mr[0..HS_MR_COUNT-1] and
 * tag.  Errors, nothing changed: HS_ENOSTACK, HS_ELIMIT, HS_EQUOTA,
 * HS_ENOMEM. */
struct port;
hs_status hop_deliver(struct proc *source, struct port *p, int prio,
                      const uint64_t *mr, uint64_t tag, struct thread **out);

extern const struct kobj_type level_type, hop_offer_type;

#endif
