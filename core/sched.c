/*
 * core/sched.c - run queues, blocking and waking, context switches.
 *
 * Switches go straight from thread to thread; a CPU falls back to its own
 * context (the CPU loop in kernel.c) only when it has nothing to run.  A
 * context that is abandoned (a thread that ends, a handler that returns)
 * cannot free the stack it is running on: it leaves itself in its CPU's
 * `dead_ctx` slot (and an ending thread in `dying`), and whichever context
 * runs next on that CPU frees them in sched_after_switch().
 */
#include "core/kernel.h"
#include "core/sched.h"

void sched_init(void)
{
    for (int p = 0; p < NPRIO; p++)
        list_init(&k.rq[p]);
    k.rq_bits = 0;
}

void sched_enqueue(struct thread *t, int front)
{
    t->state = THREAD_RUNNABLE;
    if (front)
        list_push_front(&k.rq[t->prio], &t->runq_link);
    else
        list_push_back(&k.rq[t->prio], &t->runq_link);
    k.rq_bits |= 1u << t->prio;
    plat_cpu_kick();
}

void sched_dequeue(struct thread *t)
{
    if (list_empty(&t->runq_link))
        return;
    list_unlink(&t->runq_link);
    if (list_empty(&k.rq[t->prio]))
        k.rq_bits &= ~(1u << t->prio);
}

/* Highest priority with a runnable thread, or -1. */
static int top_prio(void)
{
    return k.rq_bits ? 31 - __builtin_clz(k.rq_bits) : -1;
}

/* splitmix64: small, fast, and good enough to spread interleavings. */
static uint64_t rng_next(void)
{
    uint64_t z = (k.rng += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
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

/* Take the next thread off the queue per the policy, or NULL. */
static struct thread *rq_take(void)
{
    int p = top_prio();
    if (p < 0)
        return NULL;
    struct thread *t;
    if (k.seed != HS_SEED_NONE)
        t = rq_nth(p, rng_next() % rq_len(p));
    else
        t = container_of(k.rq[p].next, struct thread, runq_link);
    sched_dequeue(t);
    return t;
}

/* Timer of a thread fired: a sleep ends normally, any other wait with a
 * timeout. */
static void timer_fired(struct thread *t)
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
        timer_fired(container_of(tm, struct thread, timer));
}

struct thread *sched_pick(void)
{
    for (;;) {
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

/* Switch the CPU from the running thread self to next (both threads). */
static void switch_to(struct thread *self, struct thread *next)
{
    struct kcpu *c = kernel_cpu();
    c->current = next;
    next->state = THREAD_RUNNING;
    k.switches++;
    event_record(EV_SWITCH, next, self ? self->obj.handle : 0, 0);
    plat_ctx_switch(self->ctx, next->ctx);
    sched_after_switch();
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
    plat_ctx_switch(self->ctx, plat_cpu_context());
    sched_after_switch();
}

void sched_run_from_cpu(struct thread *t)
{
    struct kcpu *c = kernel_cpu();
    c->current = t;
    t->state = THREAD_RUNNING;
    k.switches++;
    event_record(EV_SWITCH, t, 0, 0);
    plat_ctx_switch(plat_cpu_context(), t->ctx);
    sched_after_switch();
}

void sched_after_switch_free(struct kcpu *c)
{
    if (c->dead_ctx) {
        plat_ctx_destroy(c->dead_ctx);
        c->dead_ctx = NULL;
    }
    struct thread *d = c->dying;
    if (!d)
        return;
    c->dying = NULL;
    d->ctx = NULL;
    if (d->free_pending)
        pool_free(&k.threads, d);
}

/* Mark self blocked on obj, with its timer armed for a finite timeout. */
static void block_prepare(struct thread *self, const struct wait_ops *ops,
                          void *obj, hs_time_t timeout)
{
    self->state = THREAD_BLOCKED;
    self->wait_ops = ops;
    self->wait_obj = obj;
    self->wait_result = HS_OK;
    if (timeout != HS_NEVER)
        plat_timer_arm(&self->timer, plat_clock_now() + timeout);
    event_record(EV_BLOCK, self, timeout, 0);
}

hs_status sched_block(struct thread *self, const struct wait_ops *ops,
                      void *obj, hs_time_t timeout)
{
    block_prepare(self, ops, obj, timeout);
    switch_away(self);
    return self->wait_result;
}

void sched_wake(struct thread *t, hs_status result)
{
    KASSERT(t->state == THREAD_BLOCKED, "woken thread is blocked");
    plat_timer_cancel(&t->timer);
    t->wait_ops = NULL;
    t->wait_obj = NULL;
    t->wait_result = result;
    event_record(EV_WAKE, t, (uint64_t)result, 0);
    sched_enqueue(t, 0);
}

void sched_unblock_silently(struct thread *t)
{
    if (t->wait_ops && t->wait_ops->detach)
        t->wait_ops->detach(t);
    plat_timer_cancel(&t->timer);
    t->wait_ops = NULL;
    t->wait_obj = NULL;
}

void sched_yield_cpu(struct thread *self)
{
    event_record(EV_YIELD, self, 0, 0);
    sched_enqueue(self, 0);
    switch_away(self);
}

void sched_point(struct thread *self)
{
    if (self->killed)
        thread_exit(self, self->proc->exit_status);
    int p = top_prio();
    if (p < 0 || p < self->prio)
        return;
    if (p == self->prio) {
        if (k.seed == HS_SEED_NONE)
            return;                 /* FIFO: the running thread goes on */
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
    struct kcpu *c = kernel_cpu();
    KASSERT(c->dead_ctx == NULL, "one abandoned context per CPU");
    c->dead_ctx = running;
    struct thread *next = sched_pick();
    if (next) {
        c->current = next;
        next->state = THREAD_RUNNING;
        k.switches++;
        event_record(EV_SWITCH, next, self->obj.handle, 0);
        plat_ctx_switch_final(running, next->ctx);
    }
    c->current = NULL;
    plat_ctx_switch_final(running, plat_cpu_context());
}

hs_status sched_block_direct(struct thread *self, struct thread *next,
                             const struct wait_ops *ops, void *obj,
                             hs_time_t timeout)
{
    block_prepare(self, ops, obj, timeout);
    sched_dequeue(next);
    switch_to(self, next);
    return self->wait_result;
}

_Noreturn void sched_exit(struct thread *self)
{
    KASSERT(kernel_cpu()->dying == NULL, "one dying thread per CPU");
    kernel_cpu()->dying = self;
    abandon_ctx(self, self->ctx);
}

_Noreturn void sched_block_abandon(struct thread *self, plat_context *running,
                                   const struct wait_ops *ops, void *obj,
                                   hs_time_t timeout)
{
    block_prepare(self, ops, obj, timeout);
    abandon_ctx(self, running);
}
