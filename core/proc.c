/*
 * core/proc.c - processes: spawn, exit, wait, reap.
 */
#include "core/cap.h"
#include "core/level.h"
#include "core/kernel.h"
#include "core/sched.h"

struct proc *proc_lookup(hs_pid_t h)
{
    return pool_lookup(&k.procs, h);
}

/* Free an ended process and the thread objects nobody joined. */
static void proc_reap(struct proc *p)
{
    struct list *l, *tmp;
    list_for_each_safe(l, tmp, &p->threads)
        thread_release(container_of(l, struct thread, proc_link));
    list_unlink(&p->sibling_link);
    if (p->parent)
        factory_credit(p->parent, HS_RES_PROCS, 1);
    event_record(EV_REAP, NULL, p->obj.handle, 0);
    pool_free(&k.procs, p);
}

/* Every thread of p has ended.  Ending p can end its parent too (the
 * parent's last thread may be visiting p, and unwinding it ends it); the
 * parent then orphans p without reaping it, and p is reaped here, once,
 * at the end. */
static void proc_end(struct proc *p)
{
    p->state = PROC_ZOMBIE;
    p->ending = 1;
    event_record(EV_PROC_EXIT, NULL, p->obj.handle,
                 (uint64_t)(int64_t)p->exit_status);
    /* Nothing may wait on p or stay inside it: visitors unwind, kept
     * checkpoints resume with HS_EPARTNER, ports vanish, and so does the
     * parent's port for this child. */
    kobj_proc_end(p);
    /* Children outlive their parent as orphans; ended ones go now. */
    struct list *l, *tmp;
    list_for_each_safe(l, tmp, &p->children) {
        struct proc *c = container_of(l, struct proc, sibling_link);
        list_unlink(&c->sibling_link);
        c->parent = NULL;
        if (c->state == PROC_ZOMBIE && !c->ending)
            proc_reap(c);
    }
    p->ending = 0;
    /* The waiter stays named until it has run and reaped p: another wait
     * for p meanwhile is HS_EJOINED, not a second reap. */
    if (p->waiter)
        sched_wake(p->waiter, HS_OK);
    if (!p->parent)
        proc_reap(p);
}

void proc_thread_end(struct proc *p, int is_main, int value)
{
    p->nlive--;
    if (is_main && !p->exit_set)
        p->exit_status = value;
    if (p->nlive == 0)
        proc_end(p);
}

static void proc_init(struct proc *p, const char *name, unsigned max_threads,
                      const hs_quota *quota)
{
    factory_init(p, quota);
    kstrlcpy(p->name, name, sizeof p->name);
    p->max_threads = max_threads;
    list_init(&p->children);
    list_init(&p->threads);
    list_init(&p->sibling_link);
    list_init(&p->ports);
    list_init(&p->checkpoints);
    list_init(&p->visitors);
    list_init(&p->irqs);
    list_init(&p->chans);
    list_init(&p->chan_ends);
    kobj_proc_init(p);          /* its address space, notifications */
    p->hop_stacks_max = k.cfg.hop_stacks;
    p->hop_stack_size = k.cfg.stack_size;
}

static hs_status spawn_check(struct proc *parent, const char *name,
                             hs_entry_fn entry, const hs_proc_attr *a,
                             size_t *stack, int *prio, unsigned *max_threads)
{
    if (!entry || !name || !*name ||
        kstrnlen(name, HS_NAME_MAX) > HS_NAME_MAX)
        return HS_EINVAL;
    *max_threads = a->max_threads ? a->max_threads
                                  : k.cfg.max_threads_per_proc;
    if (a->quota && parent && !factory_within(parent, a->quota))
        return HS_EPERM;
    if (a->privileged && parent && !parent->privileged)
        return HS_EPERM;
    if (a->ncaps && (!a->caps || !parent || a->ncaps > HS_SPAWN_CAPS_MAX))
        return HS_EINVAL;
    if (a->ncaps) {
        hs_status st = cap_check_initial(parent, a->caps, a->ncaps);
        if (st != HS_OK)
            return st;
    }
    return thread_check_attr(a->stack_size, a->priority_set, a->priority,
                             stack, prio);
}

/* Create a process (child of parent, or a root if parent is NULL) and its
 * first thread.  Everything that can fail is checked before anything
 * changes. */
static hs_status spawn(struct proc *parent, const char *name,
                       hs_entry_fn entry, void *arg, const hs_proc_attr *a,
                       hs_pid_t *pid)
{
    size_t stack;
    int prio;
    unsigned max_threads;
    hs_status st = spawn_check(parent, name, entry, a, &stack, &prio,
                               &max_threads);
    if (st != HS_OK)
        return st;
    if (k.procs.live >= k.cfg.max_procs)
        return HS_ELIMIT;
    if (parent && (st = factory_check(parent, HS_RES_PROCS, 1)) != HS_OK)
        return st;
    st = pool_reserve(&k.procs, 1);
    if (st != HS_OK)
        return st;
    /* A child gets a port pair with its parent (ports/port.c). */
    if (parent && !endpoints_fit(2))
        return HS_ELIMIT;
    if (parent && (st = pool_reserve(&k.ports, 2)) != HS_OK)
        return st;
    /* The child's limits: its own, or its parent's. */
    hs_quota inherited;
    const hs_quota *quota = a->quota;
    if (!quota && parent) {
        for (int r = 0; r < HS_RES_COUNT; r++)
            inherited.limit[r] = parent->factory.acct.limit[r];
        quota = &inherited;
    }
    struct proc *p = pool_alloc(&k.procs);
    proc_init(p, name, max_threads, quota);
    struct thread *t = NULL;
    if (a->ncaps)
        st = cap_reserve_n(p, a->ncaps);
    if (st == HS_OK)
        st = thread_new(p, "main", prio, stack, entry, arg, &t);
    if (st != HS_OK) {
        cap_proc_free(p);            /* no capability yet: frees the table */
        pool_cancel(&k.procs, p);
        return st;
    }
    if (a->ncaps)
        cap_copy_initial(parent, p, a->caps, a->ncaps);
    t->is_main = 1;
    p->parent = parent;
    p->privileged = a->privileged != 0;
    if (parent) {
        factory_charge(parent, HS_RES_PROCS, 1);
        list_push_back(&parent->children, &p->sibling_link);
        kobj_proc_spawn(parent, p);     /* its port pair with parent */
    }
    k.procs_created++;
    event_record(EV_SPAWN, t, p->obj.handle, parent ? parent->obj.handle : 0);
    if (pid)
        *pid = p->obj.handle;
    return HS_OK;
}

hs_status hs_proc_spawn(const char *name, hs_entry_fn entry, void *arg,
                        const hs_proc_attr *attr, hs_pid_t *pid)
{
    static const hs_proc_attr none;
    const hs_proc_attr *a = attr ? attr : &none;
    if (!k.started)
        return HS_ESTATE;
    if (!kern.running)                 /* set-up, before hs_sim_run() */
        return spawn(NULL, name, entry, arg, a, pid);
    struct thread *self = kernel_enter();
    if (!self)
        return HS_ESTATE;
    hs_status st = spawn(thread_current_proc(self), name, entry, arg, a, pid);
    kernel_leave(self);
    return st;
}

void proc_kill(struct proc *p, int status, struct thread *self)
{
    p->exit_status = status;
    p->exit_set = 1;
    /* Hold p while its threads die, so that it is not reaped under the
     * loop when the caller is a visitor. */
    p->nlive++;
    struct list *l, *tmp;
    list_for_each_safe(l, tmp, &p->threads) {
        struct thread *t = container_of(l, struct thread, proc_link);
        if (t != self)
            thread_kill(t, status);
    }
    p->nlive--;
    if (self->proc == p)
        thread_exit(self, status);
    if (p->nlive == 0)
        proc_end(p);
    hop_unwind_self(self);
    /* Threads of p still running on other CPUs end it when they stop. */
}

_Noreturn void hs_proc_exit(int status)
{
    struct thread *self = kernel_enter();
    if (!self) {
        plat_print("hopsim: hs_proc_exit() outside a simulated thread\n");
        __builtin_trap();
    }
    /* The process the caller is in ends, which need not be its own: a
     * visitor ending the process it visits unwinds to its caller. */
    proc_kill(thread_current_proc(self), status, self);
    kernel_leave(self);
    for (;;)
        hs_thread_yield();
}

static void wait_detach(struct thread *t)
{
    struct proc *p = t->wait_obj;
    if (p->waiter == t)
        p->waiter = NULL;
}

/* A waiting parent waits for the child's threads: the first live one
 * stands for them in the wait-for graph. */
static struct thread *wait_waits_for(const struct thread *t)
{
    struct proc *p = t->wait_obj;
    struct list *l;
    list_for_each(l, &p->threads) {
        struct thread *c = container_of(l, struct thread, proc_link);
        if (c->state != THREAD_ZOMBIE)
            return c;
    }
    return NULL;
}

static void wait_describe(const struct thread *t, struct kbuf *b)
{
    struct proc *p = t->wait_obj;
    kbuf_printf(b, "process %u '%s'", handle_index(p->obj.handle), p->name);
}

static const struct wait_ops proc_wait_ops = {
    .what = "wait for child",
    .detach = wait_detach,
    .waits_for = wait_waits_for,
    .describe = wait_describe,
};

static hs_status wait_check(struct thread *self, hs_pid_t pid,
                            struct proc **out)
{
    struct proc *p = proc_lookup(pid);
    if (!p)
        return HS_ESRCH;
    if (p->parent != thread_current_proc(self))
        return HS_ENOTCHILD;
    if (p->waiter)
        return HS_EJOINED;
    *out = p;
    return HS_OK;
}

hs_status hs_proc_wait(hs_pid_t pid, hs_time_t timeout, int *status)
{
    struct thread *self = kernel_enter();
    if (!self)
        return HS_ESTATE;
    struct proc *p = NULL;
    hs_status st = timeout_valid(timeout) ? wait_check(self, pid, &p)
                                          : HS_EINVAL;
    if (st == HS_OK && p->state != PROC_ZOMBIE) {
        if (timeout == HS_NOWAIT) {
            st = HS_ETIMEOUT;
        } else {
            p->waiter = self;
            st = sched_block(self, &proc_wait_ops, p, timeout);
        }
    }
    if (st == HS_OK) {
        if (status)
            *status = p->exit_status;
        proc_reap(p);
    }
    kernel_leave(self);
    return st;
}

hs_pid_t hs_proc_self(void)
{
    struct thread *t = kern.running ? kernel_current() : NULL;
    return t ? thread_current_proc(t)->obj.handle : 0;
}

hs_status hs_proc_name(hs_pid_t pid, char *buf, size_t len)
{
    if (!buf || !len)
        return HS_EINVAL;
    struct thread *self = kernel_enter();
    if (!self)
        return HS_ESTATE;
    struct proc *p = proc_lookup(pid);
    if (p)
        kstrlcpy(buf, p->name, len);
    kernel_leave(self);
    return p ? HS_OK : HS_ESRCH;
}

hs_status hs_proc_privileged(hs_pid_t pid, int *out)
{
    if (!out)
        return HS_EINVAL;
    struct thread *self = kernel_enter();
    if (!self)
        return HS_ESTATE;
    struct proc *p = pid ? proc_lookup(pid) : thread_current_proc(self);
    if (p)
        *out = p->privileged;
    kernel_leave(self);
    return p ? HS_OK : HS_ESRCH;
}

/* ---- serving hops -------------------------------------------------------------- */

static void serve_detach(struct thread *t)
{
    (void)t;
    k.nserving--;
}

static void serve_describe(const struct thread *t, struct kbuf *b)
{
    kbuf_printf(b, "its process %u '%s' serving hops",
                handle_index(t->proc->obj.handle), t->proc->name);
}

static const struct wait_ops serve_wait = {
    .what = "hs_proc_serve",
    .detach = serve_detach,
    .waits_for = NULL,
    .describe = serve_describe,
};

hs_status hs_proc_serve(void)
{
    struct thread *self = kernel_enter();
    if (!self)
        return HS_ESTATE;
    if (self->top != &self->home) {     /* a visitor cannot serve */
        kernel_leave(self);
        return HS_ESTATE;
    }
    k.nserving++;
    sched_block(self, &serve_wait, self->proc, HS_NEVER);
    /* Only a kill ends this wait, and a killed thread never returns. */
    kernel_panic("hs_proc_serve() woke up");
}

hs_status hs_proc_set_hop_stacks(unsigned count, size_t stack_size)
{
    struct thread *self = kernel_enter();
    if (!self)
        return HS_ESTATE;
    hs_status st = HS_OK;
    if (count > HS_HOP_STACKS_MAX || stack_size < HS_STACK_MIN ||
        stack_size > HS_STACK_MAX)
        st = HS_EINVAL;
    if (st == HS_OK) {
        struct proc *p = thread_current_proc(self);
        p->hop_stacks_max = count;
        p->hop_stack_size = page_round(stack_size);
    }
    kernel_leave(self);
    return st;
}

hs_status hs_proc_set_stack_alloc(hs_stack_alloc_fn fn, void *cookie)
{
    struct thread *self = kernel_enter();
    if (!self)
        return HS_ESTATE;
    struct proc *p = thread_current_proc(self);
    p->stack_alloc = fn;
    p->stack_alloc_cookie = cookie;
    kernel_leave(self);
    return HS_OK;
}

/* ---- the object table ------------------------------------------------------ */

/* The run is over: every process's capability table and spare handler
 * context. */
static void procs_stop(void)
{
    for (uint32_t i = 0; i < pool_slots(&k.procs); i++) {
        struct proc *p = pool_at(&k.procs, i);
        if (p) {
            plat_free(p->caps);
            hop_proc_free(p);
        }
    }
}

const struct kobj_type proc_type = {
    .name = "process",
    .pool = &k.procs,
    .size = sizeof(struct proc),
    .stop = procs_stop,
};
