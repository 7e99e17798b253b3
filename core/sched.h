/*
 * core/sched.h - the scheduler: run queues, blocking, waking, switching.
 *
 * Policy: the highest-priority runnable thread runs; FIFO within a
 * priority.  With a seed, each scheduling point picks at random (from the
 * seeded generator) among the runnable threads of the highest runnable
 * priority, the running thread included.  All functions run under the
 * kernel lock.
 */
#ifndef HOPSIM_CORE_SCHED_H
#define HOPSIM_CORE_SCHED_H

#include "core/kernel.h"
#include "core/thread.h"
#include "kern/base.h"
#include "kern/entry.h"
#include "kern/panic.h"

/* Reset the run queues; in a seeded PCT run, draw the change points. */
void sched_init(void);

/* A new thread's scheduling state (its PCT rank). */
void sched_thread_init(struct thread *t);

/* Put t (not queued) on the run queue: at the tail, or at the front of its
 * priority for a preempted thread. */
void sched_enqueue(struct thread *t, int front);

/* Take t off the run queue if it is on it. */
void sched_dequeue(struct thread *t);

/* The next thread to run, taken off the queue, or NULL.  When nothing is
 * runnable and every other CPU is idle, advances the virtual clock to the
 * next timer and fires it first. */
struct thread *sched_pick(void);

/* Block the calling thread on an object until sched_wake() or the timeout
 * (HS_NEVER: none; a duration otherwise).  The caller has registered
 * itself on the object; ops says how to undo that.  Returns the wake
 * result: HS_OK, HS_ETIMEOUT, or what the waker passed.  With obj NULL
 * (a plain sleep) the timer's expiry is success, HS_OK. */
hs_status sched_block(struct thread *self, const struct wait_ops *ops,
                      void *obj, hs_time_t timeout);

/* Wake blocked thread next with result and block self as sched_block()
 * does, handing the CPU straight to next without consulting the run
 * queue: the direct switch of a call to a waiting receiver.  A hand-off
 * records no event of its own (no wake, block or switch): the call
 * records the one event of its direction. */
hs_status sched_wake_block(struct thread *self, struct thread *next,
                           hs_status result, const struct wait_ops *ops,
                           void *obj, hs_time_t timeout);

/* Make blocked thread t runnable with the given result; cancels its
 * timer.  t must already be detached from the object it waited on. */
void sched_wake(struct thread *t, hs_status result);

/* The wait of blocked thread t, whose timer is not armed, is over, with
 * result (no event). */
HOT_INLINE void sched_wake_untimed(struct thread *t, hs_status result)
{
    KASSERT(t->state == THREAD_BLOCKED, "woken thread is blocked");
    t->wait_ops = NULL;
    t->wait_obj = NULL;
    t->wait_result = result;
}

/* The wait of blocked thread t is over, with result: what every wake
 * does before t is queued or handed the CPU (no event). */
HOT_INLINE void sched_wake_state(struct thread *t, hs_status result)
{
    plat_timer_cancel(&t->timer);
    sched_wake_untimed(t, result);
}

/* Whether the scheduler, asked now, would run thread t, made runnable,
 * next: an unseeded run with nothing runnable at t's priority or above,
 * so that FIFO takes t. */
HOT_INLINE int sched_runs_next(const struct thread *t)
{
    return k.seed == HS_SEED_NONE && !(kern.rq_bits >> t->prio);
}

/* Wake blocked thread t with result, for a caller about to block: if the
 * scheduler would then run t (an unseeded run with nothing runnable at
 * t's priority or above, so FIFO takes t), t goes on no run queue (no
 * idle CPU is woken for it), no event is recorded, and 1 is returned,
 * and the caller must block next with sched_block_next(t); else as
 * sched_wake(), and 0.  Inline: every reply-and-wait asks it. */
HOT_INLINE int sched_wake_next(struct thread *t, hs_status result)
{
    if (!sched_runs_next(t)) {
        sched_wake(t, result);
        return 0;
    }
    sched_wake_state(t, result);
    t->state = THREAD_RUNNABLE;
    return 1;
}

/*
 * Direct hand-offs (plat_ctx_switch_direct()), taken only when
 * sched_direct_ok(): kern.leave_work is clear (one CPU, nothing runnable,
 * no memory checks or attention due, a switch that can).  As
 * sched_wake_block() with HS_OK and sched_block_next(), but the switch
 * ends self's public call, which must return what these return, at once
 * (return sched_..._direct(...)): when self is next resumed by a direct switch,
 * its call returns that switch's value straight to its caller; when
 * resumed any other way, it first enters fn, which ends the call as the
 * code after a plain hand-off would and returns its value (fn finds
 * self with kernel_current(), and calls sched_after_switch() first).
 * next resumes with HS_OK, or with what sched_wake_next() gave it: a
 * next that itself blocked here has had its call's end done for it.
 */
HOT_INLINE int sched_direct_ok(void)
{
    return !kern.leave_work;
}

hs_status sched_wake_block_direct(struct thread *self, struct thread *next,
                                  const struct wait_ops *ops, void *obj,
                                  hs_time_t timeout, int (*fn)(void));
hs_status sched_block_next_direct(struct thread *self, struct thread *next,
                                  const struct wait_ops *ops, void *obj,
                                  hs_time_t timeout, int (*fn)(void));

/* The quick hand-offs: sched_wake_block_direct() and
 * sched_block_next_direct() for a path that entered with
 * kernel_enter_quick() and calls nothing but these, so that it saves no
 * registers of its own.  Self waits for ever, and next's timer is not
 * armed (for sched_block_next_quick(), next was woken with
 * sched_wake_untimed() and sched_runs_next(next) held): there is no
 * timer to arm or cancel, and these call nothing but the switch. */
hs_status sched_wake_block_quick(struct thread *self, struct thread *next,
                                 const struct wait_ops *ops, void *obj,
                                 int (*fn)(void));
hs_status sched_block_next_quick(struct thread *self, struct thread *next,
                                 const struct wait_ops *ops, void *obj,
                                 int (*fn)(void));

/* Thread t, blocked, is to be resumed by a switch that gives it no value
 * (anything but the direct hand-offs): if a direct switch saved it, it
 * enters its resume_fn first. */
HOT_INLINE void sched_resume_plain(struct thread *t)
{
    if (t->resume_fn) {
        plat_ctx_reenter(t->ctx, t->resume_fn);
        t->resume_fn = NULL;
    }
}

/* sched_block() after sched_wake_next(next) returned 1: the scheduler's
 * decision, made without the run queue, with the same outcome; a
 * hand-off, with no event of its own (the reply records the one event of
 * its direction). */
hs_status sched_block_next(struct thread *self, struct thread *next,
                           const struct wait_ops *ops, void *obj,
                           hs_time_t timeout);

/* Hand the CPU from the running thread self to next (runnable, queued):
 * self goes to the front of its priority's queue.  Returns when self runs
 * again. */
void sched_hand_over(struct thread *self, struct thread *next);

/* As sched_hand_over(), but the running context is left for good, and
 * freed after the switch if dead (sched_abandon()); self resumes later
 * at self->ctx. */
_Noreturn void sched_hand_over_final(struct thread *self,
                                     plat_context *running,
                                     struct thread *next, int dead);

/* Stop t waiting (it is BLOCKED): detach it and cancel its timer, without
 * making it runnable.  Used when t is killed. */
void sched_unblock_silently(struct thread *t);

/* Yield to the next thread of the same priority. */
void sched_yield_cpu(struct thread *self);

/* The scheduling point at the end of every kernel call: preempt for a
 * higher priority, or let the seed choose; die if killed. */
void sched_point(struct thread *self);

/* As sched_block(), but the running context is abandoned (freed after the
 * switch): when woken, self resumes at self->ctx, which the caller has set
 * to the context to resume. */
_Noreturn void sched_block_abandon(struct thread *self, plat_context *running,
                                   const struct wait_ops *ops, void *obj,
                                   hs_time_t timeout);

/* Switch away from the ending thread self for good. */
_Noreturn void sched_exit(struct thread *self);

/* Run thread t (taken from the queue) from the CPU's own context. */
void sched_run_from_cpu(struct thread *t);

/* The work of sched_after_switch() (inline in core/kernel.h, after the
 * per-CPU state it reads), when there is some. */
struct kcpu;
void sched_after_switch_free(struct kcpu *c);

/* Blocked thread t's timeout fires: a sleep ends normally, any other
 * wait with HS_ETIMEOUT (after detaching from what it waited on). */
void sched_time_out(struct thread *t);

/* Fire expired timers (the clock has moved). */
void sched_fire_timers(void);

/* After every switch into a context: free what the previous one left (an
 * abandoned context, an ended thread).  One test of one word for both,
 * kern.to_free, which counts the slots set on every CPU: every switch
 * passes here. */
static inline void sched_after_switch(void)
{
    if (kern.to_free)
        sched_after_switch_free(kernel_cpu());
}

/*
 * The switch point.  Every change of the running context on a CPU is one
 * of two calls: sched_switch() from a context that will run again, or
 * sched_abandon() from one that never will.  The callers (the scheduler,
 * hops, notification frames) decide what runs next; these only switch.
 * The kernel lock is held across the switch: the context switched to
 * releases it on its way out of the kernel, as in xv6's sched().
 */

/* Save the running context from and run to.  Returns when something
 * switches back to from, after freeing what the context before left. */
static inline void sched_switch(plat_context *from, plat_context *to)
{
    plat_ctx_switch(from, to);
    sched_after_switch();
}

/* Leave the running context for good and run to.  With dead set, running
 * is freed once the CPU runs elsewhere (one such context per CPU at a
 * time); without, its owner keeps it (a spare stack) or it goes with the
 * run. */
_Noreturn void sched_abandon(plat_context *running, plat_context *to,
                             int dead);

#endif
