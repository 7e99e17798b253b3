/*
 * core/sched.c - run queues, blocking and waking, context switches.
 *
 * Switches go straight from thread to thread; a CPU falls back to its own
 * context (the CPU loop in kernel.c) only when it has nothing to run.  A
 * context that is abandoned (a thread that ends, a handler that returns)
 * cannot free the stack it is running on: it leaves itself in its CPU's
 * `dead_ctx` slot (and an ending thread in `dying`), and whichever context
 * runs next on that CPU frees them in sched_after_switch().
 *
 * A seeded run chooses among the runnable threads of the top priority by
 * its strategy: at random, or by PCT rank (see hopsim/sim.h).  Every
 * scheduling decision is one step; PCT's change points are steps.
 */
#include "core/kernel.h"
#include "core/sched.h"

/* splitmix64 on the run's generator. */
static uint64_t rng_next(void)
{
    return splitmix64(&k.rng);
}

/* PCT: draw depth - 1 change points from steps 1..pct_steps, ascending. */
static void pct_init(void)
{
    k.pct_nchange = k.pct_depth - 1;
    k.pct_next = 0;
    for (unsigned i = 0; i < k.pct_nchange; i++) {
        uint64_t v = 1 + rng_next() % k.pct_steps;
        unsigned j = i;
        for (; j > 0 && k.pct_change[j - 1] > v; j--)
            k.pct_change[j] = k.pct_change[j - 1];
        k.pct_change[j] = v;
    }
}

void sched_init(void)
{
    for (int p = 0; p < NPRIO; p++)
        list_init(&k.rq[p]);
    kern.rq_bits = 0;
    kern.leave_work &= ~LEAVE_RUNQ;
    k.sched_points = 0;
    if (k.seed != HS_SEED_NONE && k.strategy == HS_STRATEGY_PCT)
        pct_init();
}

void sched_thread_init(struct thread *t)
{
    /* Initial ranks lie above every rank a change point gives. */
    if (k.seed != HS_SEED_NONE && k.strategy == HS_STRATEGY_PCT)
        t->pct_rank = HS_PCT_DEPTH_MAX + (rng_next() >> 1);
}

/* One scheduling decision; running is the thread that made the step (or
 * NULL).  At PCT's i-th change point it drops to rank depth - i. */
static void sched_step(struct thread *running)
{
    k.sched_points++;
    while (k.pct_next < k.pct_nchange &&
           k.pct_change[k.pct_next] <= k.sched_points) {
        k.pct_next++;
        if (!running)
            continue;
        running->pct_rank = k.pct_depth - k.pct_next;
        event_record(EV_PCT_CHANGE, running, running->pct_rank,
                     k.sched_points);
    }
}

void sched_enqueue(struct thread *t, int front)
{
    /* Queued threads run by a plain switch: one a direct hand-off saved
     * must have been made to re-enter first (sched_resume_plain()). */
    KASSERT(!t->resume_fn, "a queued thread returns through the kernel");
    t->state = THREAD_RUNNABLE;
    if (front)
        list_push_front(&k.rq[t->prio], &t->runq_link);
    else
        list_push_back(&k.rq[t->prio], &t->runq_link);
    kern.rq_bits |= 1u << t->prio;
    kern.leave_work |= LEAVE_RUNQ;
    plat_cpu_kick();
}

void sched_dequeue(struct thread *t)
{
    if (list_empty(&t->runq_link))
        return;
    list_unlink(&t->runq_link);
    if (list_empty(&k.rq[t->prio])) {
        kern.rq_bits &= ~(1u << t->prio);
        if (!kern.rq_bits)
            kern.leave_work &= ~LEAVE_RUNQ;
    }
}

/* Highest priority with a runnable thread, or -1. */
static int top_prio(void)
{
    return kern.rq_bits ? 31 - __builtin_clz(kern.rq_bits) : -1;
}

/* The n-th thread (from 0) of run queue prio. */
static struct thread *rq_nth(int prio, uint64_t n)
{
    struct list *l = k.rq[prio].next;
    while (n--)
        l = l->next;
    return container_of(l, struct thread, runq_link);
}

static uint64_t rq_len(int prio)
{
    uint64_t n = 0;
    struct list *l;
    list_for_each(l, &k.rq[prio])
        n++;
    return n;
}

/* The thread of highest PCT rank on run queue prio, the first of equals. */
static struct thread *rq_best(int prio)
{
    struct thread *best = NULL;
    struct list *l;
    list_for_each(l, &k.rq[prio]) {
        struct thread *t = container_of(l, struct thread, runq_link);
        if (!best || t->pct_rank > best->pct_rank)
            best = t;
    }
    return best;
}

/* Take the next thread off the queue per the policy, or NULL. */
static struct thread *rq_take(void)
{
    int p = top_prio();
    if (p < 0)
        return NULL;
    struct thread *t;
    if (k.seed == HS_SEED_NONE)
        t = container_of(k.rq[p].next, struct thread, runq_link);
    else if (k.strategy == HS_STRATEGY_PCT)
        t = rq_best(p);
    else
        t = rq_nth(p, rng_next() % rq_len(p));
    sched_dequeue(t);
    return t;
}

void sched_time_out(struct thread *t)
{
    event_record(EV_TIMEOUT, t, t->timer.deadline, 0);
    if (t->wait_ops && t->wait_ops->detach)
        t->wait_ops->detach(t);
    sched_wake(t, t->wait_obj ? HS_ETIMEOUT : HS_OK);
}

void sched_fire_timers(void)
{
    plat_timer *tm;
    while ((tm = plat_timer_expired()) != NULL)
        sched_time_out(container_of(tm, struct thread, timer));
}

/* Unseeded, with a thread runnable: the front of the top queue (FIFO),
 * as rq_take() would take it, without the policy's branches.  One step
 * (sched_step() does nothing more when unseeded). */
static inline struct thread *rq_take_fifo(void)
{
    k.sched_points++;
    struct thread *t = container_of(k.rq[top_prio()].next, struct thread,
                                    runq_link);
    sched_dequeue(t);
    return t;
}

struct thread *sched_pick(void)
{
    if (kern.rq_bits && k.seed == HS_SEED_NONE)
        return rq_take_fifo();
    for (;;) {
        if (kern.rq_bits)
            sched_step(kernel_current());
        struct thread *t = rq_take();
        if (t)
            return t;
        hs_time_t next;
        /* Time may only jump when no CPU could still make progress. */
        if (k.idle_cpus + 1 < k.cfg.ncpus || !plat_timer_next(&next))
            return NULL;
        plat_clock_advance(next);
        event_record(EV_CLOCK, NULL, next, 0);
        sched_fire_timers();
    }
}

/* Next becomes the calling CPU's running thread (the caller counts the
 * switch). */
HOT_INLINE void cpu_take_uncounted(struct thread *next)
{
    kernel_cpu()->current = next;
    next->state = THREAD_RUNNING;
}

/* Next becomes the calling CPU's running thread, counted as a plain
 * switch. */
HOT_INLINE void cpu_take(struct thread *next)
{
    cpu_take_uncounted(next);
    k.plain_switches++;
}

/* Next becomes the CPU's running thread, in place of prev (NULL: the CPU
 * loop): the bookkeeping of every thread switch but an IPC hand-off's
 * (handoff_to()), and its event. */
HOT_INLINE void thread_takes_cpu(struct thread *next,
                                 const struct thread *prev)
{
    cpu_take(next);
    event_record(EV_SWITCH, next, prev ? prev->obj.handle : 0, 0);
}

/* Switch the CPU from the running thread self to next (both threads).
 * Inline: the direct switches of IPC are a few stores around it. */
HOT_INLINE void switch_to(struct thread *self, struct thread *next)
{
    thread_takes_cpu(next, self);
    sched_switch(self->ctx, next->ctx);
}

/* Give up the CPU (self is no longer RUNNING): to the next thread, or to
 * the CPU's own loop if there is none.  Returns when self runs again. */
static void switch_away(struct thread *self)
{
    struct thread *next = sched_pick();
    if (next == self) {             /* woken by a timer while picking */
        self->state = THREAD_RUNNING;
        return;
    }
    if (next) {
        switch_to(self, next);
        return;
    }
    kernel_cpu()->current = NULL;
    sched_switch(self->ctx, plat_cpu_context());
}

void sched_run_from_cpu(struct thread *t)
{
    thread_takes_cpu(t, NULL);
    sched_switch(plat_cpu_context(), t->ctx);
}

void sched_after_switch_free(struct kcpu *c)
{
    if (c->dead_ctx) {
        plat_ctx_destroy(c->dead_ctx);
        c->dead_ctx = NULL;
        kern.to_free--;
    }
    struct thread *d = c->dying;
    if (!d)
        return;
    c->dying = NULL;
    kern.to_free--;
    d->ctx = NULL;
    if (d->free_pending)
        pool_free(&k.threads, d);
}

/* Mark self blocked on obj, waiting for ever. */
HOT_INLINE void block_untimed(struct thread *self, const struct wait_ops *ops,
                              void *obj)
{
    self->state = THREAD_BLOCKED;
    self->wait_ops = ops;
    self->wait_obj = obj;
    self->wait_result = HS_OK;
}

/* Self's timer, armed for a finite timeout. */
HOT_INLINE void block_timer(struct thread *self, hs_time_t timeout)
{
    if (timeout != HS_NEVER)
        plat_timer_arm(&self->timer, plat_clock_now() + timeout);
}

/* Mark self blocked on obj, with its timer armed for a finite timeout. */
HOT_INLINE void block_state(struct thread *self, const struct wait_ops *ops,
                            void *obj, hs_time_t timeout)
{
    block_untimed(self, ops, obj);
    block_timer(self, timeout);
}

/* block_state(), and its event. */
HOT_INLINE void block_prepare(struct thread *self, const struct wait_ops *ops,
                              void *obj, hs_time_t timeout)
{
    block_state(self, ops, obj, timeout);
    event_record(EV_BLOCK, self, timeout, 0);
}

hs_status sched_block(struct thread *self, const struct wait_ops *ops,
                      void *obj, hs_time_t timeout)
{
    block_prepare(self, ops, obj, timeout);
    switch_away(self);
    return self->wait_result;
}

/* sched_wake_state(), and its event. */
HOT_INLINE void wake_prepare(struct thread *t, hs_status result)
{
    sched_wake_state(t, result);
    event_record(EV_WAKE, t, (uint64_t)result, 0);
}

void sched_wake(struct thread *t, hs_status result)
{
    wake_prepare(t, result);
    sched_resume_plain(t);
    sched_enqueue(t, 0);
}

void sched_unblock_silently(struct thread *t)
{
    t->resume_fn = NULL;            /* its context is dropped */
    if (t->wait_ops && t->wait_ops->detach)
        t->wait_ops->detach(t);
    plat_timer_cancel(&t->timer);
    t->wait_ops = NULL;
    t->wait_obj = NULL;
}

/* PCT: a thread that yields lets every other thread of its priority go
 * first, so that a thread waiting in a yield loop cannot keep the CPU by
 * its rank. */
static void pct_yield(struct thread *self)
{
    struct list *l;
    list_for_each(l, &k.rq[self->prio]) {
        struct thread *t = container_of(l, struct thread, runq_link);
        if (t->pct_rank <= self->pct_rank)
            self->pct_rank = t->pct_rank ? t->pct_rank - 1 : 0;
    }
}

void sched_yield_cpu(struct thread *self)
{
    if (k.seed != HS_SEED_NONE && k.strategy == HS_STRATEGY_PCT)
        pct_yield(self);
    event_record(EV_YIELD, self, 0, 0);
    sched_enqueue(self, 0);
    switch_away(self);
}

/* Seeded PCT, a queued thread of self's priority: switch to the best
 * ranked if it outranks self. */
static void pct_point(struct thread *self, int p)
{
    struct thread *next = rq_best(p);
    if (next->pct_rank <= self->pct_rank)
        return;
    sched_dequeue(next);
    event_record(EV_PREEMPT, self, next->obj.handle, 0);
    sched_enqueue(self, 0);
    switch_to(self, next);
}

void sched_point(struct thread *self)
{
    if (self->attn & KATTN_KILLED)
        thread_exit(self, self->proc->exit_status);
    sched_step(self);
    int p = top_prio();
    if (p < 0 || p < self->prio)
        return;
    if (p == self->prio) {
        if (k.seed == HS_SEED_NONE)
            return;                 /* FIFO: the running thread goes on */
        if (k.strategy == HS_STRATEGY_PCT) {
            pct_point(self, p);
            return;
        }
        /* Seeded: the running thread is one more candidate. */
        uint64_t n = rq_len(p) + 1;
        uint64_t r = rng_next() % n;
        if (r == n - 1)
            return;
        struct thread *next = rq_nth(p, r);
        sched_dequeue(next);
        event_record(EV_PREEMPT, self, next->obj.handle, 0);
        sched_enqueue(self, 0);
        switch_to(self, next);
        return;
    }
    /* A higher priority is runnable: preempt, keeping our FIFO place. */
    struct thread *next = rq_take();
    event_record(EV_PREEMPT, self, next->obj.handle, 0);
    sched_enqueue(self, 1);
    switch_to(self, next);
}

/* Leave the running context for good (it is freed after the switch): to
 * the next thread, which may be self again, or to the CPU loop. */
static _Noreturn void abandon_ctx(struct thread *self, plat_context *running)
{
    struct thread *next = sched_pick();
    if (next) {
        thread_takes_cpu(next, self);
        sched_abandon(running, next->ctx, 1);
    }
    kernel_cpu()->current = NULL;
    sched_abandon(running, plat_cpu_context(), 1);
}

_Noreturn void sched_abandon(plat_context *running, plat_context *to,
                             int dead)
{
    if (dead) {
        struct kcpu *c = kernel_cpu();
        KASSERT(c->dead_ctx == NULL, "one abandoned context per CPU");
        c->dead_ctx = running;
        kern.to_free++;
    }
    plat_ctx_switch_final(running, to);
}

/* The CPU goes from self straight to next, an IPC hand-off: counted as
 * a switch; the IPC records the one event of the hand-off. */
HOT_INLINE void handoff_to(struct thread *self, struct thread *next)
{
    sched_resume_plain(next);
    cpu_take(next);
    sched_switch(self->ctx, next->ctx);
}

/* The CPU goes from self straight to next by a direct switch: next
 * resumes with value, and self's public call ends when self is resumed,
 * with the value of a direct switch to it, or through fn when anything
 * else resumes it.  Nothing is left to free after the switch: a CPU frees
 * what it is left as it resumes a context (sched_after_switch(), or fn),
 * and with several CPUs there are no direct switches. */
HOT_INLINE hs_status handoff_direct(struct thread *self, struct thread *next,
                                    int (*fn)(void), hs_status value)
{
    self->resume_fn = fn;
    cpu_take_uncounted(next);
    k.direct_switches++;
    return plat_ctx_switch_direct(self->ctx, next->ctx, value);
}

hs_status sched_wake_block(struct thread *self, struct thread *next,
                           hs_status result, const struct wait_ops *ops,
                           void *obj, hs_time_t timeout)
{
    sched_wake_state(next, result);
    block_state(self, ops, obj, timeout);
    handoff_to(self, next);
    return self->wait_result;
}

hs_status sched_block_next(struct thread *self, struct thread *next,
                           const struct wait_ops *ops, void *obj,
                           hs_time_t timeout)
{
    k.sched_points++;               /* as sched_pick() counts its choice */
    block_state(self, ops, obj, timeout);
    handoff_to(self, next);
    return self->wait_result;
}

hs_status sched_wake_block_quick(struct thread *self, struct thread *next,
                                 const struct wait_ops *ops, void *obj,
                                 int (*fn)(void))
{
    sched_wake_untimed(next, HS_OK);
    block_untimed(self, ops, obj);
    return handoff_direct(self, next, fn, HS_OK);
}

hs_status sched_block_next_quick(struct thread *self, struct thread *next,
                                 const struct wait_ops *ops, void *obj,
                                 int (*fn)(void))
{
    k.sched_points++;               /* as sched_pick() counts its choice */
    block_untimed(self, ops, obj);
    return handoff_direct(self, next, fn, next->wait_result);
}

hs_status sched_wake_block_direct(struct thread *self, struct thread *next,
                                  const struct wait_ops *ops, void *obj,
                                  hs_time_t timeout, int (*fn)(void))
{
    plat_timer_cancel(&next->timer);
    block_timer(self, timeout);
    return sched_wake_block_quick(self, next, ops, obj, fn);
}

hs_status sched_block_next_direct(struct thread *self, struct thread *next,
                                  const struct wait_ops *ops, void *obj,
                                  hs_time_t timeout, int (*fn)(void))
{
    block_timer(self, timeout);
    return sched_block_next_quick(self, next, ops, obj, fn);
}

void sched_hand_over(struct thread *self, struct thread *next)
{
    sched_dequeue(next);
    sched_enqueue(self, 1);
    switch_to(self, next);
}

_Noreturn void sched_hand_over_final(struct thread *self,
                                     plat_context *running,
                                     struct thread *next, int dead)
{
    sched_dequeue(next);
    sched_enqueue(self, 1);
    thread_takes_cpu(next, self);
    sched_abandon(running, next->ctx, dead);
}

_Noreturn void sched_exit(struct thread *self)
{
    KASSERT(kernel_cpu()->dying == NULL, "one dying thread per CPU");
    kernel_cpu()->dying = self;
    kern.to_free++;
    abandon_ctx(self, self->ctx);
}

_Noreturn void sched_block_abandon(struct thread *self, plat_context *running,
                                   const struct wait_ops *ops, void *obj,
                                   hs_time_t timeout)
{
    block_prepare(self, ops, obj, timeout);
    abandon_ctx(self, running);
}
