/*
 * core/level.h - levels: where a thread is, and how it got there.
 *
 * A thread's hop chain is a stack of levels.  Level 0 is where the thread
 * was created (embedded in the thread); each hop pushes a level in the
 * receiving process, running the port's handler on a context whose stack
 * the receiver gave.  The level below a pushed one is parked in hs_hop():
 * its context is saved (the pushed level holds the checkpoint back to it,
 * if the hop made one), or discarded for a one-way hop.
 *
 *   thread->top --> [level 2: proc C, handler ctx, checkpoint]
 *                        below
 *                   [level 1: proc B, handler ctx (parked), checkpoint]
 *                        below
 *                   [level 0: proc A, home ctx (parked)]
 *
 * A checkpoint becomes a kernel object on its process's list only when
 * its handler keeps it (core/checkpoint.h).
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
 * parked level's ctx is NULL (the context is the process's), and it
 * stays on its process's visitors list, where the hop that takes it
 * puts it anyway, but visits nothing.  hop_proc_free() frees both, and
 * hop_proc_end() calls it first: no hop comes into an ending process.
 */
#ifndef HOPSIM_CORE_LEVEL_H
#define HOPSIM_CORE_LEVEL_H

#include "core/proc.h"
#include "core/thread.h"
#include "kern/list.h"
#include "kern/object.h"
#include "kern/pool.h"
#include "hopsim/hop.h"
#include "sim/platform.h"

struct thread;
struct proc;
struct checkpoint;

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

/* A stack for a thread arriving in p: the size of one of p's lent stacks
 * while some are free, else what p's allocator grants (HS_ENOSTACK). */
hs_status hop_stack_alloc_more(struct proc *p, size_t *size);

static inline hs_status hop_stack_take(struct proc *p, size_t *size)
{
    if (p->hop_stacks_used < p->hop_stacks_max) {
        *size = p->hop_stack_size;
        return HS_OK;
    }
    return hop_stack_alloc_more(p, size);
}

/* The items l's hop offered and nobody accepted are declined: a move
 * stays with the sender. */
void level_offer_decline(struct hs_level *l);

/* Give back what level l (off its thread's chain) holds but for its
 * checkpoint, its context and its place among its process's visitors:
 * its offer is declined, notification frames running at it dropped (the
 * object table's level_drop), its stack returned to the budget.  Inline:
 * every returning handler does this. */
static inline void level_release(struct hs_level *l)
{
    if (l->offer)
        level_offer_decline(l);
    if (l->thread->notify.frame)
        kobj_level_drop(l->thread, l);
    if (l->stack_counted)
        l->proc->hop_stacks_used--;
}

/* level_release(), and l leaves its process's visitors. */
static inline void level_unlink(struct hs_level *l)
{
    level_release(l);
    list_unlink(&l->visit_link);
}

/*
 * A hop that hands the CPU over while nothing else is due
 * (sched_direct_ok()) leaves its caller's context by a direct switch, so
 * that when its handler returns, also with nothing due, the switch back
 * returns the status straight to the program, past hs_hop() (ports/hop.c,
 * level_park()).  The caller's level is marked left_direct until then.
 * Anything else that resumes that context (an unwind, a kept checkpoint,
 * a return with work due) makes it enter level_resume() first, which ends
 * hs_hop() as the code after a plain switch would: level_resume_plain(),
 * called where the context becomes its thread's to run again.
 */
int level_resume(void);

static inline void level_resume_plain(struct hs_level *l)
{
    if (l->left_direct) {
        plat_ctx_reenter(l->ctx, level_resume);
        l->left_direct = 0;
    }
}

/* Free a level that is off its thread's chain, its checkpoint with it; its
 * context is destroyed unless it is the running one (then the caller
 * disposes of it). */
void level_free(struct hs_level *l, const plat_context *running);

extern const struct kobj_type level_type, hop_offer_type;

#endif
