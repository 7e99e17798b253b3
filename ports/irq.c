/*
 * ports/irq.c - IRQ objects: signal, wait, poll, bind (see hopsim/irq.h).
 */
#include "core/cap.h"
#include "ports/ipc.h"
#include "core/kernel.h"
#include "core/sched.h"
#include "ports/irq.h"

struct irq *irq_lookup(uint64_t h)
{
    return pool_lookup(&k.irqs, h);
}

/* Take every pending bit of q. */
static uint64_t irq_take(struct irq *q)
{
    uint64_t bits = q->bits;
    q->bits = 0;
    q->takes++;
    return bits;
}

int irq_take_bound(struct thread *t, uint64_t *bits, uint64_t *label)
{
    struct list *l;
    list_for_each(l, &t->irqs) {
        struct irq *q = container_of(l, struct irq, bound_link);
        if (q->bits) {
            *label = q->bound_label;
            *bits = irq_take(q);
            return 1;
        }
    }
    return 0;
}

int irq_bound_pending(const struct thread *t)
{
    const struct list *l;
    list_for_each(l, &t->irqs) {
        const struct irq *q = container_of(l, struct irq, bound_link);
        if (q->bits)
            return 1;
    }
    return 0;
}

static void irq_unbind(struct irq *q)
{
    if (!q->bound)
        return;
    list_unlink(&q->bound_link);
    q->bound = NULL;
    q->bound_label = 0;
}

void irq_thread_end(struct thread *t)
{
    while (!list_empty(&t->irqs))
        irq_unbind(container_of(t->irqs.next, struct irq, bound_link));
}

/* Free q: its waiters wake with HS_EPARTNER, its capabilities go stale. */
static void irq_destroy(struct irq *q)
{
    while (!list_empty(&q->waiters)) {
        struct thread *w = container_of(q->waiters.next, struct thread,
                                        wait_link);
        list_unlink(&w->wait_link);
        sched_wake(w, HS_EPARTNER);
    }
    irq_unbind(q);
    list_unlink(&q->owner_link);
    factory_credit(q->owner, HS_RES_IRQS, 1);
    pool_free(&k.irqs, q);
}

void irq_proc_free(struct proc *p)
{
    while (!list_empty(&p->irqs))
        irq_destroy(container_of(p->irqs.next, struct irq, owner_link));
}

/* ---- waiting ------------------------------------------------------------- */

static void wait_detach(struct thread *t)
{
    list_unlink(&t->wait_link);
}

static void wait_describe(const struct thread *t, struct kbuf *b)
{
    const struct irq *q = t->wait_obj;
    kbuf_printf(b, "IRQ %u of process %u '%s'", handle_index(q->obj.handle),
                handle_index(q->owner->obj.handle), q->owner->name);
}

static const struct wait_ops irq_wait = {
    .what = "irq wait",
    .detach = wait_detach,
    .waits_for = NULL,
    .describe = wait_describe,
    .ipc = 1,
};

/* ---- the public calls ------------------------------------------------------ */

/* The IRQ that the caller's capability cap names, with right. */
static hs_status irq_resolve(struct thread *self, hs_cap_t cap,
                             unsigned right, struct irq **out)
{
    struct cap *c;
    hs_status st = cap_resolve(thread_current_proc(self), cap, &c);
    if (st != HS_OK)
        return st;
    if (c->kind != HS_CAP_KIND_IRQ || !(c->rights & right))
        return HS_EPERM;
    *out = irq_lookup(c->object);
    return HS_OK;
}

hs_status hs_irq_create(hs_cap_t *cap)
{
    struct thread *self = kernel_enter();
    if (!self)
        return HS_ESTATE;
    struct proc *p = thread_current_proc(self);
    hs_status st = cap ? HS_OK : HS_EINVAL;
    if (st == HS_OK && !endpoints_fit(1))
        st = HS_ELIMIT;
    if (st == HS_OK)
        st = factory_check(p, HS_RES_IRQS, 1);
    if (st == HS_OK)
        st = pool_reserve(&k.irqs, 1);
    if (st == HS_OK)
        st = cap_reserve(p);
    if (st == HS_OK) {
        struct irq *q = pool_alloc(&k.irqs);
        q->owner = p;
        list_push_back(&p->irqs, &q->owner_link);
        list_init(&q->waiters);
        list_init(&q->bound_link);
        factory_charge(p, HS_RES_IRQS, 1);
        *cap = cap_new(p, HS_CAP_KIND_IRQ, q->obj.handle, HS_CAP_ALL, 0,
                       NULL)->local;
        event_record(EV_IRQ_CREATE, self, q->obj.handle, 0);
    }
    kernel_leave(self);
    return st;
}

hs_status hs_irq_signal(hs_cap_t cap, uint64_t bits)
{
    struct thread *self = kernel_enter();
    if (!self)
        return HS_ESTATE;
    struct irq *q = NULL;
    hs_status st = bits ? irq_resolve(self, cap, HS_CAP_SEND, &q)
                        : HS_EINVAL;
    if (st == HS_OK) {
        q->bits |= bits;
        q->signals++;
        event_record(EV_IRQ_SIGNAL, self, q->obj.handle, bits);
        if (!list_empty(&q->waiters)) {
            struct thread *w = container_of(q->waiters.next, struct thread,
                                            wait_link);
            list_unlink(&w->wait_link);
            w->irq_bits = irq_take(q);
            trace_message(TRACE_IRQ, self, w);
            sched_wake(w, HS_OK);
        } else if (q->bound && ipc_open_waiting(q->bound)) {
            trace_message(TRACE_IRQ, self, q->bound);
            ipc_irq_deliver(q->bound, irq_take(q), q->bound_label);
        }
    }
    kernel_leave(self);
    return st;
}

/* Whether self may take from q: anyone with the right, unless q is bound
 * to another thread. */
static hs_status may_take(struct thread *self, struct irq *q)
{
    return (q->bound && q->bound != self) ? HS_EPERM : HS_OK;
}

hs_status hs_irq_wait(hs_cap_t cap, hs_time_t timeout, uint64_t *bits)
{
    struct thread *self = kernel_enter();
    if (!self)
        return HS_ESTATE;
    struct irq *q = NULL;
    hs_status st = timeout_valid(timeout)
                       ? irq_resolve(self, cap, HS_CAP_RECV, &q) : HS_EINVAL;
    if (st == HS_OK)
        st = may_take(self, q);
    uint64_t got = 0;
    if (st == HS_OK && q->bits) {
        got = irq_take(q);
    } else if (st == HS_OK && timeout == HS_NOWAIT) {
        st = HS_ETIMEOUT;
    } else if (st == HS_OK) {
        list_push_back(&q->waiters, &self->wait_link);
        self->irq_bits = 0;
        st = sched_block(self, &irq_wait, q, timeout);
        got = self->irq_bits;
    }
    if (st == HS_OK && bits)
        *bits = got;
    self->utcb.phase = st == HS_OK ? HS_PHASE_NONE : HS_PHASE_RECV;
    kernel_leave(self);
    return st;
}

hs_status hs_irq_poll(hs_cap_t cap, uint64_t *bits)
{
    struct thread *self = kernel_enter();
    if (!self)
        return HS_ESTATE;
    struct irq *q = NULL;
    hs_status st = bits ? irq_resolve(self, cap, HS_CAP_RECV, &q)
                        : HS_EINVAL;
    if (st == HS_OK)
        st = may_take(self, q);
    if (st == HS_OK)
        *bits = q->bits ? irq_take(q) : 0;
    kernel_leave(self);
    return st;
}

hs_status hs_irq_bind(hs_cap_t cap, hs_tid_t thread, uint64_t label)
{
    struct thread *self = kernel_enter();
    if (!self)
        return HS_ESTATE;
    struct proc *p = thread_current_proc(self);
    struct irq *q = NULL;
    hs_status st = irq_resolve(self, cap, HS_CAP_RECV, &q);
    struct thread *t = NULL;
    if (st == HS_OK && thread != HS_IRQ_UNBIND) {
        t = thread ? thread_lookup(thread) : self;
        if (!t || t->state == THREAD_ZOMBIE)
            st = HS_ESRCH;
        else if (t->proc != p)
            st = HS_EPERM;
        else if (!list_empty(&q->waiters))
            st = HS_ESTATE;
    }
    if (st == HS_OK) {
        irq_unbind(q);
        if (t) {
            q->bound = t;
            q->bound_label = label;
            list_push_back(&t->irqs, &q->bound_link);
            /* Bits already pending reach an open wait now. */
            if (q->bits && ipc_open_waiting(t))
                ipc_irq_deliver(t, irq_take(q), label);
        }
        event_record(EV_IRQ_BIND, self, q->obj.handle, t ? t->obj.handle : 0);
    }
    kernel_leave(self);
    return st;
}

hs_status hs_irq_destroy(hs_cap_t cap)
{
    struct thread *self = kernel_enter();
    if (!self)
        return HS_ESTATE;
    struct irq *q = NULL;
    hs_status st = irq_resolve(self, cap, HS_CAP_RECV, &q);
    if (st == HS_OK && q->owner != thread_current_proc(self))
        st = HS_EPERM;
    if (st == HS_OK) {
        event_record(EV_IRQ_DESTROY, self, q->obj.handle, 0);
        irq_destroy(q);
    }
    kernel_leave(self);
    return st;
}

hs_status hs_irq_info_get(hs_cap_t cap, hs_irq_info *info)
{
    struct thread *self = kernel_enter();
    if (!self)
        return HS_ESTATE;
    struct irq *q = NULL;
    hs_status st = info ? irq_resolve(self, cap, HS_CAP_RECV, &q)
                        : HS_EINVAL;
    if (st == HS_OK) {
        info->pending = q->bits;
        info->signals = q->signals;
        info->takes = q->takes;
        info->bound = q->bound ? q->bound->obj.handle : 0;
    }
    kernel_leave(self);
    return st;
}

/* ---- the object table ------------------------------------------------------ */

static int irq_alive(uint64_t h)
{
    return irq_lookup(h) != NULL;
}

const struct kobj_type irq_type = {
    .name = "irq",
    .pool = &k.irqs,
    .size = sizeof(struct irq),
    .proc_free = irq_proc_free,
    .cap_kind = HS_CAP_KIND_IRQ,
    .cap_alive = irq_alive,
};
