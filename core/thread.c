/*
 * core/thread.c - threads: create, exit, join, yield, sleep, priorities.
 */
#include "core/kernel.h"
#include "core/level.h"
#include "core/sched.h"

struct thread *thread_lookup(hs_tid_t h)
{
    return pool_lookup(&k.threads, h);
}

void thread_describe(const struct thread *t, struct kbuf *b)
{
    kbuf_printf(b, "thread %u '%s' (process %u '%s')",
                handle_index(t->obj.handle), t->name,
                handle_index(t->proc->obj.handle), t->proc->name);
}

hs_status thread_check_attr(size_t stack_size, int prio_set, int prio,
                            size_t *stack, int *prio_out)
{
    if (stack_size == 0)
        stack_size = k.cfg.stack_size;
    if (stack_size < HS_STACK_MIN || stack_size > HS_STACK_MAX)
        return HS_EINVAL;
    if (!prio_set && prio == 0)
        prio = HS_PRIO_DEFAULT;
    if (prio < HS_PRIO_MIN || prio > HS_PRIO_MAX)
        return HS_EINVAL;
    *stack = page_round(stack_size);
    *prio_out = prio;
    return HS_OK;
}

/* First code of every simulated thread, on its own stack, with the kernel
 * lock held by whoever switched to it.  Notifications queued before it
 * first ran run before its entry. */
static void thread_start(void *arg)
{
    struct thread *t = arg;
    sched_after_switch();
    kobj_thread_start(t);
    plat_kunlock();
    int v = 0;
    if (t->entry)
        v = t->entry(t->arg);
    else                        /* began in a handler: an async hop */
        t->home.handler(&t->home, t->home.cookie);
    hs_thread_exit(v);
}

hs_status thread_new(struct proc *p, const char *name, int prio,
                     size_t stack_size, hs_entry_fn entry, void *arg,
                     struct thread **out)
{
    if (k.threads.live >= k.cfg.max_threads || p->nthreads >= p->max_threads)
        return HS_ELIMIT;
    hs_status st = factory_check(p, HS_RES_THREADS, 1);
    if (st == HS_OK)
        st = factory_check(p, HS_RES_MEMORY, stack_size);
    if (st == HS_OK)
        st = pool_reserve(&k.threads, 1);
    if (st == HS_OK)
        st = plat_timer_reserve(k.threads.live + 1);
    if (st != HS_OK)
        return st;
    struct thread *t = pool_alloc(&k.threads);
    t->ctx = plat_ctx_create(stack_size, thread_start, t, t);
    if (!t->ctx) {
        pool_cancel(&k.threads, t);
        return HS_ENOMEM;
    }
    kstrlcpy(t->name, name, sizeof t->name);
    t->proc = p;
    t->prio = prio;
    list_init(&t->wait_link);
    kobj_thread_init(t);    /* its level 0, notifications, IPC */
    sched_thread_init(t);
    t->stack_size = stack_size;
    t->entry = entry;
    t->arg = arg;
    list_init(&t->runq_link);
    list_push_back(&p->threads, &t->proc_link);
    p->nthreads++;
    factory_charge(p, HS_RES_THREADS, 1);
    factory_charge(p, HS_RES_MEMORY, stack_size);
    p->nlive++;
    k.nlive++;
    k.threads_created++;
    event_record(EV_THREAD_CREATE, t, p->obj.handle, (uint64_t)prio);
    sched_enqueue(t, 0);
    *out = t;
    return HS_OK;
}

/* t has ended (it is not running): wake its joiner, tell its process. */
static void thread_ended(struct thread *t, int value)
{
    kobj_thread_end(t);         /* its levels, its queued notifications */
    kattn_clear(&t->attn, KATTN_KILLED | KATTN_UNWIND | KATTN_NOTIFY);
    t->state = THREAD_ZOMBIE;
    t->exit_value = value;
    k.nlive--;
    factory_credit(t->proc, HS_RES_MEMORY, t->stack_size);  /* its stack */
    if (t->home.stack_counted) {    /* an async hop's thread */
        t->home.stack_counted = 0;
        hop_stack_release(t->proc);
    }
    event_record(EV_THREAD_EXIT, t, (uint64_t)(int64_t)value, 0);
    kobj_thread_free(t);        /* its senders and callers, its gates */
    /* The joiner stays named until it has run and freed t: another join
     * of the zombie meanwhile is HS_EJOINED, not a second free. */
    if (t->joiner)
        sched_wake(t->joiner, HS_OK);
    struct proc *p = t->proc;
    int is_main = t->is_main;
    if (t->detached)
        thread_release(t);          /* t may be gone from here on */
    proc_thread_end(p, is_main, value);
}

_Noreturn void thread_exit(struct thread *self, int value)
{
    kattn_clear(&self->attn, KATTN_KILLED | KATTN_UNWIND);
    thread_ended(self, value);
    sched_exit(self);
}

void thread_kill(struct thread *t, int value)
{
    switch (t->state) {
    case THREAD_RUNNING:        /* on another CPU: it ends on its own */
        kattn_set(&t->attn, KATTN_KILLED);
        return;
    case THREAD_RUNNABLE:
        sched_dequeue(t);
        break;
    case THREAD_BLOCKED:
        sched_unblock_silently(t);
        break;
    case THREAD_ZOMBIE:
        return;
    }
    thread_ended(t, value);
}

void thread_release(struct thread *t)
{
    list_unlink(&t->proc_link);
    t->proc->nthreads--;
    factory_credit(t->proc, HS_RES_THREADS, 1);
    if (t->ctx) {               /* still switching away from its stack */
        t->free_pending = 1;
        return;
    }
    pool_free(&k.threads, t);
}

/* ---- the public calls ------------------------------------------------------- */

/* A new thread's stack of size bytes is over p's memory quota (and
 * nothing else refused it): HS_NOTIFY_EXHAUSTED runs on self, which asks.
 * HS_OK once a handler ran (the caller tries again); else the refusal
 * stands. */
static hs_status stack_exhausted(struct thread *self, struct proc *p,
                                 size_t size)
{
    const hs_account *a = &p->factory.acct;
    if (!factory_fits(p, HS_RES_THREADS, 1) ||
        factory_fits(p, HS_RES_MEMORY, size))
        return HS_EQUOTA;
    uint64_t w[4] = { HS_RES_MEMORY, size, a->used[HS_RES_MEMORY],
                      a->limit[HS_RES_MEMORY] };
    return notify_kernel_sync(self, HS_NOTIFY_EXHAUSTED, w, 4);
}

hs_status hs_thread_create(hs_entry_fn entry, void *arg,
                           const hs_thread_attr *attr, hs_tid_t *tid)
{
    static const hs_thread_attr none;
    const hs_thread_attr *a = attr ? attr : &none;
    size_t stack = 0;
    int prio = 0;
    const char *name = a->name ? a->name : "thread";
    hs_status st = thread_check_attr(a->stack_size, a->priority_set,
                                     a->priority, &stack, &prio);
    if (st == HS_OK && (!entry || !*name ||
                        kstrnlen(name, HS_NAME_MAX) > HS_NAME_MAX))
        st = HS_EINVAL;
    struct thread *self = kernel_enter();
    if (!self)
        return HS_ESTATE;
    struct thread *t = NULL;
    if (st == HS_OK)
        st = thread_new(thread_current_proc(self), name, prio, stack, entry, arg, &t);
    if (st == HS_EQUOTA &&
        stack_exhausted(self, thread_current_proc(self), stack) == HS_OK)
        st = thread_new(thread_current_proc(self), name, prio, stack, entry,
                        arg, &t);               /* once more */
    if (st == HS_OK && tid)
        *tid = t->obj.handle;
    kernel_leave(self);
    return st;
}

_Noreturn void hs_thread_exit(int value)
{
    struct thread *self = kernel_enter();
    if (!self) {
        plat_print("hopsim: hs_thread_exit() outside a simulated thread\n");
        __builtin_trap();
    }
    thread_exit(self, value);
}

static void join_detach(struct thread *t)
{
    struct thread *target = t->wait_obj;
    if (target->joiner == t)
        target->joiner = NULL;
}

static struct thread *join_waits_for(const struct thread *t)
{
    return t->wait_obj;
}

static void join_describe(const struct thread *t, struct kbuf *b)
{
    thread_describe(t->wait_obj, b);
}

static const struct wait_ops join_wait = {
    .what = "join",
    .detach = join_detach,
    .waits_for = join_waits_for,
    .describe = join_describe,
};

/* Checks of hs_thread_join that need the kernel state. */
static hs_status join_check(struct thread *self, hs_tid_t tid,
                            struct thread **out)
{
    struct thread *t = thread_lookup(tid);
    if (!t)
        return HS_ESRCH;
    if (t == self)
        return HS_EDEADLK;
    if (t->proc != thread_current_proc(self))
        return HS_EPERM;
    if (t->detached)
        return HS_EINVAL;       /* freed as it ends: nothing to join */
    if (t->joiner)
        return HS_EJOINED;
    *out = t;
    return HS_OK;
}

hs_status hs_thread_join(hs_tid_t tid, hs_time_t timeout, int *value)
{
    struct thread *self = kernel_enter();
    if (!self)
        return HS_ESTATE;
    struct thread *t = NULL;
    hs_status st = timeout_valid(timeout) ? join_check(self, tid, &t)
                                          : HS_EINVAL;
    if (st == HS_OK && t->state != THREAD_ZOMBIE) {
        if (timeout == HS_NOWAIT) {
            st = HS_ETIMEOUT;
        } else {
            t->joiner = self;
            st = sched_block(self, &join_wait, t, timeout);
        }
    }
    if (st == HS_OK) {
        if (value)
            *value = t->exit_value;
        event_record(EV_JOIN, self, t->obj.handle, 0);
        thread_release(t);
    }
    kernel_leave(self);
    return st;
}

hs_status hs_thread_yield(void)
{
    struct thread *self = kernel_enter();
    if (!self)
        return HS_ESTATE;
    sched_yield_cpu(self);
    kernel_leave(self);
    return HS_OK;
}

hs_status hs_thread_sleep(hs_time_t ns)
{
    struct thread *self = kernel_enter();
    if (!self)
        return HS_ESTATE;
    hs_status st = ns <= HS_TIMEOUT_MAX ? HS_OK : HS_EINVAL;
    if (st == HS_OK && ns == 0)
        sched_yield_cpu(self);
    else if (st == HS_OK)
        sched_block(self, NULL, NULL, ns);   /* no object: a plain sleep */
    kernel_leave(self);
    return st;
}

/* Every handler asks for its registers: no test of kern.running, which
 * kernel_current() implies (the CPU number is -1 outside a run). */
hs_utcb_t *hs_utcb(void)
{
    struct thread *t = kernel_current();
    return t ? &t->utcb : NULL;
}

hs_tid_t hs_thread_self(void)
{
    struct thread *t = kern.running ? kernel_current() : NULL;
    return t ? t->obj.handle : 0;
}

hs_status hs_thread_set_priority(hs_tid_t tid, int priority)
{
    struct thread *self = kernel_enter();
    if (!self)
        return HS_ESTATE;
    struct thread *t = thread_lookup(tid);
    hs_status st = HS_OK;
    if (priority < HS_PRIO_MIN || priority > HS_PRIO_MAX)
        st = HS_EINVAL;
    else if (!t)
        st = HS_ESRCH;
    else if (t->proc != thread_current_proc(self))
        st = HS_EPERM;
    if (st == HS_OK && t->state == THREAD_RUNNABLE) {
        sched_dequeue(t);
        t->prio = t->base_prio = priority;
        sched_enqueue(t, 0);
    } else if (st == HS_OK) {
        t->prio = t->base_prio = priority;
    }
    if (st == HS_OK)
        event_record(EV_PRIORITY, t, (uint64_t)priority, 0);
    kernel_leave(self);
    return st;
}

hs_status hs_thread_get_priority(hs_tid_t tid, int *priority)
{
    if (!priority)
        return HS_EINVAL;
    struct thread *self = kernel_enter();
    if (!self)
        return HS_ESTATE;
    struct thread *t = thread_lookup(tid);
    hs_status st = t ? HS_OK : HS_ESRCH;
    if (t)
        *priority = t->prio;
    kernel_leave(self);
    return st;
}

/* ---- the object table ------------------------------------------------------ */

/* The run is over: every thread's own context. */
static void threads_stop(void)
{
    for (uint32_t i = 0; i < pool_slots(&k.threads); i++) {
        struct thread *t = pool_at(&k.threads, i);
        if (t && t->home.ctx)
            plat_ctx_destroy(t->home.ctx);
    }
}

const struct kobj_type thread_type = {
    .name = "thread",
    .pool = &k.threads,
    .size = sizeof(struct thread),
    .stop = threads_stop,
};
