/*
 * notify/typed.c - typed messages (seed 003): a process registers a
 * handler per type; a message of that type interrupts the registered
 * thread like a signal, and its handler takes or abandons it.  The
 * outcome reaches whoever posted the message through its attachment:
 * hs_notify_type_send() waits on one of its own.
 */
#include "core/kernel.h"
#include "core/sched.h"
#include "notify/internal.h"
#include "notify/notify.h"

static struct notify_type *type_find(struct proc *p, uint32_t type)
{
    struct list *l;
    list_for_each(l, &p->notify.types) {
        struct notify_type *r = container_of(l, struct notify_type, link);
        if (r->type == type)
            return r;
    }
    return NULL;
}

struct thread *notify_type_receiver(struct proc *p, uint32_t type,
                                    hs_notify_fn *fn, void **cookie)
{
    struct notify_type *r = type_find(p, type);
    if (!r)
        return NULL;
    *fn = r->fn;
    *cookie = r->cookie;
    return r->thread;
}

static void type_free(struct proc *p, struct notify_type *r)
{
    list_unlink(&r->link);
    p->notify.ntypes--;
    pool_free(&npools.types, r);
}

void notify_types_drop(struct proc *p, const struct thread *t)
{
    struct list *l, *tmp;
    list_for_each_safe(l, tmp, &p->notify.types) {
        struct notify_type *r = container_of(l, struct notify_type, link);
        if (!t || r->thread == t)
            type_free(p, r);
    }
}

hs_status hs_notify_type_register(uint32_t type, hs_notify_fn fn,
                                  void *cookie)
{
    struct thread *self = kernel_enter();
    if (!self)
        return HS_ESTATE;
    struct proc *p = thread_current_proc(self);
    struct notify_type *r = type_find(p, type);
    hs_status st = HS_OK;
    if (!r && fn && p->notify.ntypes >= HS_NOTIFY_TYPES_MAX)
        st = HS_ELIMIT;
    else if (!r && fn)
        st = pool_reserve(&npools.types, 1);
    if (st == HS_OK && r && !fn) {
        type_free(p, r);
    } else if (st == HS_OK && fn) {
        if (!r) {
            r = pool_alloc(&npools.types);
            r->type = type;
            list_push_back(&p->notify.types, &r->link);
            p->notify.ntypes++;
        }
        r->thread = self;
        r->fn = fn;
        r->cookie = cookie;
    }
    kernel_leave(self);
    return st;
}

/* ---- posting ------------------------------------------------------------- */

hs_status notify_type_post(struct thread *sender, struct proc *p,
                           uint32_t type, const uint64_t *words, unsigned n,
                           struct notify_attach *a)
{
    hs_notify_fn fn;
    void *cookie;
    struct thread *r = p && p->state == PROC_ALIVE
                           ? notify_type_receiver(p, type, &fn, &cookie)
                           : NULL;
    if (!p || p->state != PROC_ALIVE)
        return HS_ESRCH;
    if (!r)
        return HS_ENOHANDLER;
    if (r == sender)
        return HS_EDEADLK;
    if (r->notify.nsent >= HS_NOTIFY_QUEUE_MAX)
        return HS_ELIMIT;
    hs_status st = notify_reserve();
    if (st != HS_OK)
        return st;
    hs_notification note = {
        .slot = HS_NOTIFY_TYPED, .type = type, .n = n,
        .sender = sender ? sender->obj.handle : 0,
        .sender_pid = sender ? thread_current_proc(sender)->obj.handle : 0,
    };
    for (unsigned i = 0; i < n; i++)
        note.words[i] = words[i];
    event_record(EV_NOTIFY_SEND, sender, r->obj.handle, HS_NOTIFY_TYPED);
    struct notify_item *it = notify_queue(r, &note, 1);
    it->attach = a;
    if (a)
        a->item = it;
    return HS_OK;
}

hs_status notify_type_reserve(unsigned n)
{
    return pool_reserve(&npools.items, n);
}

void notify_attach_cancel(struct notify_attach *a)
{
    struct notify_item *it = a->item;
    if (!it)
        return;
    it->attach = NULL;
    a->item = NULL;
    if (!list_empty(&it->link))         /* not dispatched yet: withdrawn */
        notify_item_free(it, HS_OK);
}

/* ---- the sender's wait ---------------------------------------------------- */

/* A sender in hs_notify_type_send(), waiting for the outcome. */
struct type_wait {
    struct notify_attach a;
    struct thread *sender;
};

static void type_done(struct notify_attach *a, hs_status outcome)
{
    struct type_wait *w = container_of(a, struct type_wait, a);
    sched_wake(w->sender, outcome);
}

static void type_detach(struct thread *t)
{
    struct type_wait *w = t->wait_obj;
    notify_attach_cancel(&w->a);
}

static struct thread *type_waits_for(const struct thread *t)
{
    const struct type_wait *w = t->wait_obj;
    return w->a.item ? w->a.item->target : NULL;
}

static void type_describe(const struct thread *t, struct kbuf *b)
{
    const struct type_wait *w = t->wait_obj;
    kbuf_printf(b, "a typed message's outcome from ");
    if (w->a.item)
        thread_describe(w->a.item->target, b);
    else
        kbuf_printf(b, "nobody");
}

static const struct wait_ops type_wait_ops = {
    .what = "hs_notify_type_send",
    .detach = type_detach,
    .waits_for = type_waits_for,
    .describe = type_describe,
};

hs_status hs_notify_type_send(hs_pid_t pid, uint32_t type,
                              const uint64_t *words, unsigned n,
                              hs_time_t timeout)
{
    struct thread *self = kernel_enter();
    if (!self)
        return HS_ESTATE;
    struct type_wait w = { .a = { .done = type_done }, .sender = self };
    hs_status st = HS_OK;
    if (n > HS_NOTIFY_WORDS || (n && !words) || !timeout_valid(timeout))
        st = HS_EINVAL;
    else
        st = notify_type_post(self, proc_lookup(pid), type, words, n, &w.a);
    if (st == HS_OK && timeout == HS_NOWAIT) {
        notify_attach_cancel(&w.a);
        st = HS_ETIMEOUT;
    } else if (st == HS_OK) {
        st = sched_block(self, &type_wait_ops, &w, timeout);
    }
    kernel_leave(self);
    return st;
}

/* ---- deciding -------------------------------------------------------------- */

/* The frame of self's innermost handler if it handles a typed message
 * not yet decided at self's current level, else NULL. */
static struct notify_frame *type_frame(struct thread *self)
{
    struct notify_frame *f = self->notify.frame;
    if (!f || f->level != self->top || f->note.slot != HS_NOTIFY_TYPED ||
        f->decided)
        return NULL;
    return f;
}

hs_status notify_type_current(struct thread *self, struct notify_attach **a)
{
    struct notify_frame *f = type_frame(self);
    if (!f)
        return HS_ESTATE;
    *a = f->item->attach;
    return HS_OK;
}

hs_status notify_type_decide(struct thread *self, hs_status outcome)
{
    struct notify_frame *f = type_frame(self);
    if (!f)
        return HS_ESTATE;
    f->decided = 1;
    event_record(EV_NOTIFY_DECIDE, self, f->note.type, outcome == HS_OK);
    struct notify_attach *a = f->item->attach;
    if (a) {
        f->item->attach = NULL;
        a->item = NULL;
        a->done(a, outcome);
    }
    return HS_OK;
}

/* Decide the typed message self's innermost handler handles. */
static hs_status type_decide(hs_status outcome)
{
    struct thread *self = kernel_enter();
    if (!self)
        return HS_ESTATE;
    hs_status st = notify_type_decide(self, outcome);
    kernel_leave(self);
    return st;
}

hs_status hs_notify_take(void)
{
    return type_decide(HS_OK);
}

hs_status hs_notify_abandon(void)
{
    return type_decide(HS_EABANDONED);
}
