/*
 * ports/hop.c - process hopping: push a level, return through a
 * checkpoint, hop asynchronously, introspection.  See core/level.h for
 * the shape of a hop chain.
 *
 * The checkpointed hop and the return of its handler are the hot path:
 * what they do in the common case is inline below, and every rare case
 * (no stack left in the budget, memory items, a kept checkpoint, a
 * notification handler running at the level) is a call out of line.  A
 * hop's checkpoint lives in the level it pushes and costs nothing more
 * (core/checkpoint.h): only a handler that keeps it allocates.
 */
#include <string.h>

#include "core/checkpoint.h"
#include "core/fault.h"
#include "core/level.h"
#include "ports/ipc.h"
#include "core/kernel.h"
#include "core/sched.h"
#include "mem/xfer.h"
#include "notify/notify.h"
#include "mem/pagefault.h"
#include "ports/hop.h"
#include "ports/port.h"

/* ---- the hop ------------------------------------------------------------------ */

static void hop_level_end(struct hs_level *l);

/* A handler context's whole life, from its first run (lock held by the
 * switcher): run the handler of its level l, end the level.  If the
 * context was parked with l as its process's spare and a later hop took
 * them, l is that hop's level now: run it, and so on.  It never returns:
 * the context ends abandoned, or is destroyed while parked. */
static void level_start(void *arg)
{
    struct hs_level *l = arg;
    sched_after_switch();
    plat_kunlock();
    for (;;) {
        l->handler(l, l->cookie);
        hop_level_end(l);
    }
}

/* With HS_HOP_ITEMS, the tag must be valid and its items memory items,
 * well formed. */
static hs_status offer_check(const struct thread *self, unsigned flags)
{
    if (!(flags & HS_HOP_ITEMS))
        return HS_OK;
    if (!ipc_tag_valid(self->utcb.tag))
        return HS_EINVAL;
    return xfer_items_form(self->utcb.tag, self->utcb.mr);
}

HOT_INLINE hs_status hop_check(struct thread *self, hs_port_t ph,
                               unsigned flags, hs_time_t timeout,
                               struct port **out)
{
    if ((flags & ~(HS_HOP_CHECKPOINT | HS_HOP_ITEMS)) ||
        !timeout_valid(timeout) || offer_check(self, flags) != HS_OK)
        return HS_EINVAL;
    struct port *p = NULL;
    hs_status st = port_open_to(ph, self->top->proc, 1, &p);
    if (st != HS_OK)
        return st;
    if (self->top->depth >= k.cfg.max_hop_depth)
        return HS_EDEPTH;
    if (!(flags & HS_HOP_CHECKPOINT) && self->top->checkpointed)
        return HS_ESTATE;       /* return through that checkpoint first */
    if (!(flags & HS_HOP_CHECKPOINT) && notify_at_level(self, self->top))
        return HS_ESTATE;       /* a handler returns with hs_notify_return */
    *out = p;
    return HS_OK;
}

/* The checks of a hop, then its kill fault's opportunity.  A fault that
 * kills the target closes the port: the checks run again, once (a fault
 * fires only once, so the second opportunity is never taken). */
HOT_INLINE hs_status hop_decode(struct thread *self, hs_port_t ph,
                                unsigned flags, hs_time_t timeout,
                                struct port **out)
{
    hs_status st;
    while ((st = hop_check(self, ph, flags, timeout, out)) == HS_OK &&
           fault_kill(self, (*out)->owner))
        ;
    return st;
}

/* A new level for a hop of self into p, with a new context on a stack of
 * size bytes to run its handler, last of p's visitors, and as level_get()
 * promises.  NULL if the host refuses memory. */
static struct hs_level *level_new(struct proc *p, size_t size,
                                  struct thread *self)
{
    if (pool_reserve_one(&k.levels) != HS_OK)
        return NULL;
    struct hs_level *l = pool_take(&k.levels);
    l->ctx = plat_ctx_create(size, level_start, l, self);
    if (!l->ctx) {
        pool_cancel(&k.levels, l);
        return NULL;
    }
    l->proc = p;
    l->kept = NULL;
    l->offer = NULL;
    list_push_back(&p->visitors, &l->visit_link);
    return l;
}

/* Move l, p's spare level, last of p's visitors (spare_visits()). */
static void spare_move_last(struct proc *p, struct hs_level *l)
{
    list_unlink(&l->visit_link);
    list_push_back(&p->visitors, &l->visit_link);
}

/* Make l, p's spare level, the last of p's visitors, as a new level would
 * be.  It stayed on the list while parked, and is most often the last
 * already: then nothing moves. */
static inline void spare_visits(struct proc *p, struct hs_level *l)
{
    if (p->visitors.prev != &l->visit_link)
        spare_move_last(p, l);
}

/* l, p's spare level, adopted: it takes its context back from p. */
HOT_INLINE void spare_take(struct proc *p, struct hs_level *l)
{
    l->ctx = p->hop_spare;
    p->hop_spare = NULL;
}

/* A level for a hop of self into p, with the context that runs its
 * handler on a stack of size bytes: p's spare when it fits (a handler
 * context parked with its level in hop_level_end(); once switched to, it
 * runs that level again: no stack to find, nothing to set up), else a new
 * pair.  The level comes back last of p's visitors, with its context set,
 * its proc p, and no checkpoint kept or offer (a parked level has
 * neither: it parks only without a kept checkpoint, and its offer went
 * at its return).  NULL if the host refuses memory. */
static inline struct hs_level *level_get(struct proc *p, size_t size,
                                       struct thread *self)
{
    plat_context *c = p->hop_spare;
    struct hs_level *l = c ? plat_ctx_adopt(c, size, self) : NULL;
    if (!l)
        return level_new(p, size, self);
    spare_take(p, l);
    spare_visits(p, l);
    return l;
}

/* Whether self's hop with flags offers memory items (checked). */
static int hop_offers(const struct thread *self, unsigned flags)
{
    return (flags & HS_HOP_ITEMS) && hs_tag_items(self->utcb.tag);
}

/* Keep the item registers of self's message for l's handler. */
static void offer_take(struct thread *self, struct hs_level *l)
{
    struct hop_offer *o = pool_take(&k.hop_offers);
    unsigned w = hs_tag_words(self->utcb.tag);
    o->tag = self->utcb.tag;
    memcpy(o->mr + w, self->utcb.mr + w,
           2 * hs_tag_items(o->tag) * sizeof(uint64_t));
    l->offer = o;
}

/* hop_prepare() of a hop that offers memory items: room for the offer,
 * the level, then the offer taken into it (nothing can fail after the
 * level). */
static hs_status hop_prepare_offer(struct thread *self, struct port *p,
                                   size_t size, struct hs_level **out)
{
    hs_status st = pool_reserve_one(&k.hop_offers);
    if (st != HS_OK)
        return st;
    struct hs_level *l = level_get(p->owner, size, self);
    if (!l)
        return HS_ENOMEM;
    offer_take(self, l);
    *out = l;
    return HS_OK;
}

/* Allocate what a hop into p->owner needs; all that can fail is here.
 * The level comes back as level_get() gives it, holding the hop's offer
 * if it makes one. */
static inline hs_status hop_prepare(struct thread *self, struct port *p,
                                    unsigned flags, struct hs_level **out)
{
    size_t size;
    hs_status st = hop_stack_take(p->owner, &size);
    if (st != HS_OK)
        return st;
    if (hop_offers(self, flags))
        return hop_prepare_offer(self, p, size, out);
    struct hs_level *l = level_get(p->owner, size, self);
    if (!l)
        return HS_ENOMEM;
    *out = l;
    return HS_OK;
}

/* The absolute deadline of a timeout that starts now.  The sum saturates,
 * so HS_NEVER stays HS_NEVER; a finite timeout (at most HS_TIMEOUT_MAX)
 * never reaches it. */
static inline hs_time_t deadline_from_now(hs_time_t timeout)
{
    hs_time_t d;
    return __builtin_add_overflow(plat_clock_now(), timeout, &d) ? HS_NEVER
                                                                 : d;
}

/* Fill in prepared level l, a hop of self from process source through p
 * with flags, and put it on top of self's chain (its top is the level
 * below l).  Every field that level_get() did not set is set here; with
 * HS_HOP_CHECKPOINT, the checkpoint is the level's own, with the caller's
 * deadline.  The hop's event is the caller's to record. */
HOT_INLINE void level_fill(struct thread *self, struct hs_level *l,
                           struct port *p, hs_pid_t source, unsigned flags,
                           hs_time_t timeout)
{
    struct proc *to = p->owner;
    int cp = (flags & HS_HOP_CHECKPOINT) != 0;
    l->below = self->top;
    l->thread = self;
    l->handler = p->handler;
    l->cookie = p->cookie;
    l->source = source;
    l->port = p->obj.handle;
    l->depth = self->top->depth + 1;
    l->stack_counted = 1;
    l->dead = 0;
    l->accepted = 0;
    l->checkpointed = cp;
    l->left_direct = 0;
    l->deadline = deadline_from_now(timeout);     /* read only if kept */
    to->hop_stacks_used++;
    self->top = l;
    self->ctx = l->ctx;
}

/* level_fill(), and the hop's event. */
HOT_INLINE void level_push(struct thread *self, struct hs_level *l,
                           struct port *p, hs_pid_t source, unsigned flags,
                           hs_time_t timeout)
{
    level_fill(self, l, p, source, flags, timeout);
    event_record(EV_HOP, self, l->port, (flags & HS_HOP_CHECKPOINT) != 0);
}

/* A hop without a checkpoint: the level self leaves is dropped (level 0
 * is discarded), and its context with it. */
static _Noreturn void hop_one_way(struct thread *self, struct hs_level *l,
                                  struct port *p, unsigned flags,
                                  hs_time_t timeout)
{
    struct hs_level *from = self->top;
    plat_context *running = from->ctx;
    hs_pid_t source = from->proc->obj.handle;
    if (from != &self->home) {
        self->top = from->below;
        level_free(from, running);
    } else {
        self->home.ctx = NULL;
    }
    level_push(self, l, p, source, flags, timeout);
    sched_abandon(running, l->ctx, 1);
}

/* The switch of a checkpointed hop from level `from` (its context
 * running) into l when nothing is due: direct, so that l's return, with
 * nothing due either, goes straight back to the caller's program
 * (core/level.h); it ends hs_hop(). */
HOT_INLINE hs_status hop_switch_direct(struct hs_level *from,
                                       plat_context *running,
                                       struct hs_level *l)
{
    from->left_direct = 1;
    return plat_ctx_switch_direct(running, l->ctx, HS_OK);
}

static hs_status hop_general(hs_port_t port, unsigned flags,
                             hs_time_t timeout) GENERAL_PATH(hs_hop);

/* hs_hop() when its quick path (below) is not taken. */
static hs_status hop_general(hs_port_t port, unsigned flags,
                             hs_time_t timeout)
{
    struct thread *self = kernel_enter();
    if (!self)
        return HS_ESTATE;
    k.general_hops++;
    struct port *p = NULL;
    struct hs_level *l = NULL;
    hs_status st = hop_decode(self, port, flags, timeout, &p);
    if (st == HS_OK)
        st = hop_prepare(self, p, flags, &l);
    if (st != HS_OK) {
        kernel_leave(self);
        return st;
    }
    if (!(flags & HS_HOP_CHECKPOINT))
        hop_one_way(self, l, p, flags, timeout);
    struct hs_level *from = self->top;
    plat_context *running = self->ctx;
    level_push(self, l, p, from->proc->obj.handle, flags, timeout);
    if (sched_direct_ok())
        return hop_switch_direct(from, running, l);
    sched_switch(running, l->ctx);
    /* Back: the checkpoint was consumed, wait_result says how. */
    st = self->wait_result;
    kernel_leave(self);
    return st;
}

/* The level a hop of self through port ph takes if the hop takes its
 * quick path, else NULL (with *out its port): as the quick paths of IPC
 * (ports/ipc.c), nothing due at kernel entry or exit, tracing off, and
 * the common case of hop_decode() and hop_prepare(): a checkpointed hop
 * without items, through a port it may use, no kill fault to draw, and
 * the receiver's spare context (level_get()) fitting its stacks, within
 * its budget, last of its visitors already.  Adopting the spare comes
 * before that last check, and if the check fails the general path
 * adopts the same spare for the same thread, so nothing differs.  Then
 * hs_hop() calls nothing but the switch (and, without link-time
 * optimisation, plat_ctx_adopt()). */
HOT_INLINE struct hs_level *hop_quick_level(struct thread *self,
                                            hs_port_t ph, unsigned flags,
                                            hs_time_t timeout,
                                            struct port **out)
{
    struct port *p;
    if (kevents.tracing || flags != HS_HOP_CHECKPOINT ||
        !timeout_valid(timeout) || (k.fault_kinds & HS_FAULT_KILL) ||
        port_open_to(ph, self->top->proc, 1, &p) != HS_OK ||
        self->top->depth >= k.cfg.max_hop_depth)
        return NULL;
    struct proc *to = p->owner;
    if (!to->hop_spare || to->hop_stacks_used >= to->hop_stacks_max)
        return NULL;
    struct hs_level *l = plat_ctx_adopt(to->hop_spare, to->hop_stack_size,
                                        self);
    if (!l || to->visitors.prev != &l->visit_link)
        return NULL;
    *out = p;
    return l;
}

hs_status hs_hop(hs_port_t port, unsigned flags, hs_time_t timeout)
{
    struct thread *self = kernel_enter_quick();
    struct port *p;
    struct hs_level *l;
    if (!self || !(l = hop_quick_level(self, port, flags, timeout, &p)))
        return hop_general(port, flags, timeout);
    /* What the checks loaded is loaded again below rather than kept in
     * registers across them: kept, it would need more registers than
     * the caller lets a function use without saving them. */
    __asm__ volatile("" ::: "memory");
    spare_take(p->owner, l);
    struct hs_level *from = self->top;
    plat_context *running = self->ctx;
    level_fill(self, l, p, from->proc->obj.handle, flags, timeout);
    event_record_untraced(EV_HOP, self, l->port, 1);
    return hop_switch_direct(from, running, l);
}

hs_status hs_hop_call(hs_port_t port, uint64_t word, uint64_t *reply)
{
    hs_utcb_t *u = hs_utcb();
    if (!u)
        return HS_ESTATE;
    u->mr[0] = word;
    hs_status st = hs_hop(port, HS_HOP_CHECKPOINT, HS_NEVER);
    if (st == HS_OK && reply)
        *reply = u->mr[0];
    return st;
}

/* ---- the end of a handler ------------------------------------------------------ */

/* Block self at its kept checkpoint cp (its handler has returned:
 * level_end_other() cleared cp->level), abandoning the running context;
 * if the caller's deadline has passed, time out at once. */
static _Noreturn void wait_at_checkpoint(struct thread *self,
                                         struct checkpoint *cp,
                                         plat_context *running)
{
    hs_time_t now = plat_clock_now();
    if (cp->deadline != HS_NEVER && cp->deadline <= now) {
        checkpoint_free(cp);
        self->wait_result = HS_ETIMEOUT;
        sched_abandon(running, self->ctx, 1);
    }
    sched_block_abandon(self, running, &checkpoint_wait, cp,
                        cp->deadline == HS_NEVER ? HS_NEVER
                                                 : cp->deadline - now);
}

/* The handler of a level reached one-way returned: level 0 is gone, the
 * thread ends. */
static _Noreturn void one_way_end(struct thread *self, plat_context *running)
{
    self->ctx = running;
    thread_exit(self, 0);
}

/* The rarer ends of the handler of level l, self's top until now (off
 * the chain and unlinked): the return's event, then l is freed and
 * self's caller (now its top) resumes, unless the hop was one-way or its
 * checkpoint was kept (then the caller waits at it); the running context
 * is abandoned. */
static _Noreturn void level_end_other(struct thread *self, struct hs_level *l)
{
    struct checkpoint *kept = l->kept;
    int checkpointed = l->checkpointed;
    plat_context *running = l->ctx;
    event_record(EV_HOP_RETURN, self, kept ? kept->obj.handle : 0, 0);
    if (kept)
        kept->level = NULL;         /* its handler has returned */
    pool_free(&k.levels, l);
    if (!checkpointed)
        one_way_end(self, running);
    level_resume_plain(self->top);
    if (kept)
        wait_at_checkpoint(self, kept, running);
    self->wait_result = HS_OK;
    sched_abandon(running, self->ctx, 1);
}

/* Park the running handler context with its level l, whose handler
 * returned, as its process's spare, and resume the caller, self, at its
 * level below with HS_OK (directly if hs_hop() left it so and nothing is
 * due); l stays on its process's visitors list (core/level.h).  Returns,
 * lock released, when a later hop into that process takes the spare
 * (level_get()): l is that hop's level then. */
static void level_park(struct thread *self, struct hs_level *l,
                       plat_context *running, struct hs_level *below)
{
    l->ctx = NULL;      /* the context is the process's now, not a live
                           level's */
    l->proc->hop_spare = running;
    if (below->left_direct && sched_direct_ok()) {
        below->left_direct = 0;
        k.direct_hops++;
        plat_ctx_switch_direct(running, below->ctx, HS_OK);
    } else {
        self->wait_result = HS_OK;
        level_resume_plain(below);
        plat_ctx_switch(running, below->ctx);
    }
    sched_after_switch();
    plat_kunlock();
}

/* The handler of level l (self's top) has returned: end the level and
 * resume the caller.  The event names the checkpoint by its handle if it
 * was kept, else 0 (it had none).  In the common case (a checkpoint, not
 * kept, and p has no spare yet) the running context and l become p's
 * spare, and this returns when a later hop takes them; else it does not
 * return.  l's fields are read after level_release(), which changes none
 * of those read (below, proc, kept, checkpointed, ctx), so that nothing
 * waits across its calls. */
static void hop_level_end(struct hs_level *l)
{
    struct thread *self = kernel_enter_as(l->thread);
    KASSERT(self->top == l, "a returning handler is its top level");
    struct hs_level *below = l->below;
    self->top = below;
    self->ctx = below->ctx;
    level_release(l);
    struct proc *p = l->proc;
    if (l->kept || !l->checkpointed || p->hop_spare) {
        list_unlink(&l->visit_link);
        level_end_other(self, l);
    }
    event_record(EV_HOP_RETURN, self, 0, 0);
    level_park(self, l, l->ctx, below);
}

/* ---- accepting memory items ------------------------------------------------------ */

/* Decode of hs_hop_accept(): the process the items come from (NULL when
 * the hop offered none) and the plan of the transfer. */
static hs_status accept_check(struct thread *self, hs_hop_t *hop,
                              uint64_t window, struct proc **from,
                              struct xfer_plan *plan)
{
    *from = NULL;
    if (!hop || self->top != hop || hop->accepted)
        return HS_ESTATE;
    if (!xfer_window_valid(window))
        return HS_EINVAL;
    if (!hop->offer)
        return HS_OK;
    struct proc *p = proc_lookup(hop->source);
    if (!p || p->state != PROC_ALIVE)
        return HS_EPARTNER;
    const struct hop_offer *o = hop->offer;
    hs_status st = window ? xfer_items_check(p, o->tag, o->mr) : HS_OK;
    if (st == HS_OK)
        st = xfer_prepare(p, hop->proc, o->tag, o->mr, window, plan);
    if (st == HS_OK)
        *from = p;
    return st;
}

hs_status hs_hop_accept(hs_hop_t *hop, uint64_t window)
{
    struct thread *self = kernel_enter();
    if (!self)
        return HS_ESTATE;
    struct proc *from;
    struct xfer_plan plan;
    xfer_plan_init(&plan);
    hs_status st = accept_check(self, hop, window, &from, &plan);
    if (st == HS_OK) {
        hop->accepted = 1;
        event_record(EV_HOP_ACCEPT, self, hop->port, window);
        if (from) {
            struct hop_offer *o = hop->offer;
            xfer_apply(self, from, hop->proc, o->tag, o->mr, self->utcb.mr,
                       &plan);
            pool_free(&k.hop_offers, o);
            hop->offer = NULL;
        }
    }
    kernel_leave(self);
    return st;
}

/* ---- async hop ---------------------------------------------------------------------- */

hs_status hop_deliver(struct proc *source, struct port *p, int prio,
                      const uint64_t *mr, uint64_t tag, struct thread **out)
{
    size_t size = 0;
    hs_status st = hop_stack_take(p->owner, &size);
    struct thread *t = NULL;
    if (st == HS_OK)
        st = thread_new(p->owner, "async", prio, size, NULL, NULL, &t);
    if (st != HS_OK)
        return st;
    struct hs_level *h = &t->home;
    h->source = source->obj.handle;
    h->port = p->obj.handle;
    h->handler = p->handler;
    h->cookie = p->cookie;
    h->stack_counted = 1;
    t->detached = 1;
    p->owner->hop_stacks_used++;
    memcpy(t->utcb.mr, mr, sizeof t->utcb.mr);
    t->utcb.tag = tag;
    *out = t;
    return HS_OK;
}

hs_status hop_deliver_to(hs_port_t port, const struct proc *by,
                         struct proc *source, int prio, const uint64_t *mr,
                         uint64_t tag, uint64_t fault, struct thread **t,
                         struct proc **owner)
{
    struct port *pt = NULL;
    hs_status st = port_open_to(port, by, 1, &pt);
    if (st == HS_OK)
        st = hop_deliver(source, pt, prio, mr, tag, t);
    if (st == HS_OK) {
        (*t)->home.fault = fault;
        *owner = pt->owner;
    }
    return st;
}

hs_status hs_hop_async(hs_port_t port, hs_tid_t *tid)
{
    struct thread *self = kernel_enter();
    if (!self)
        return HS_ESTATE;
    struct port *p = NULL;
    hs_status st = hop_decode(self, port, HS_HOP_CHECKPOINT, HS_NEVER, &p);
    struct thread *t = NULL;
    if (st == HS_OK)
        st = hop_deliver(thread_current_proc(self), p, self->prio,
                         self->utcb.mr, self->utcb.tag, &t);
    if (st == HS_OK) {
        event_record(EV_HOP_ASYNC, self, p->obj.handle, t->obj.handle);
        if (tid)
            *tid = t->obj.handle;
    }
    kernel_leave(self);
    return st;
}

/* ---- what a handler can ask ---------------------------------------------------------- */

/* Whether hop is the calling thread's running level.  A handler that
 * kept its hop pointer past its return holds a level that a later hop,
 * perhaps from another process, may be running in now: such a pointer
 * reads nothing.  The pointer is compared, never followed, first. */
static inline int hop_is_running(const hs_hop_t *hop)
{
    struct thread *t = kernel_current();
    return hop && t && t->top == hop;
}

hs_port_t hs_hop_port(const hs_hop_t *hop)
{
    return hop_is_running(hop) ? hop->port : 0;
}

hs_pid_t hs_hop_source(const hs_hop_t *hop)
{
    return hop_is_running(hop) ? hop->source : 0;
}

/* Only the kernel's asynchronous hops carry a fault, in their thread's
 * level 0: a pushed level's field is never set, and never read. */
hs_pagefault_t hs_hop_fault(const hs_hop_t *hop)
{
    return hop_is_running(hop) && hop == &hop->thread->home ? hop->fault : 0;
}

uint64_t hs_mr(const hs_hop_t *hop, unsigned i)
{
    if (i >= HS_MR_COUNT || !hop_is_running(hop))
        return 0;
    return hop->thread->utcb.mr[i];
}

hs_status hs_hop_chain(hs_hop_level *levels, unsigned max, unsigned *count)
{
    if (!count || (!levels && max))
        return HS_EINVAL;
    struct thread *self = kernel_enter();
    if (!self)
        return HS_ESTATE;
    unsigned depth = self->top->depth + 1;
    /* Levels are linked top down; the array is outermost first. */
    for (struct hs_level *l = self->top; l; l = l->below) {
        if (l->depth >= max)
            continue;
        hs_hop_level *o = &levels[l->depth];
        o->proc = l->proc->obj.handle;
        kstrlcpy(o->proc_name, l->proc->name, sizeof o->proc_name);
        o->port = l->port;
        o->checkpointed = l->checkpointed;
        o->checkpoint = l->kept ? l->kept->obj.handle : 0;
    }
    *count = depth;
    kernel_leave(self);
    return HS_OK;
}

/* ---- backtrace across hops ------------------------------------------------------------ */

struct bt_sink {
    void (*line)(void *cookie, const char *text);
    void *cookie;
};

static void bt_line(void *cookie, const char *text)
{
    struct bt_sink *s = cookie;
    s->line(s->cookie, text);
}

void hop_backtrace_levels(const struct thread *t,
                         void (*line)(void *, const char *), void *cookie)
{
    struct bt_sink sink = {line, cookie};
    for (const struct hs_level *l = t->top; l->below; l = l->below) {
        char buf[KFMT_LINE];
        struct kbuf b;
        kbuf_init(&b, buf, sizeof buf);
        kbuf_printf(&b, "--- hop from %s via ", l->below->proc->name);
        port_describe(l->port, &b);
        kbuf_printf(&b, l->below->ctx ? " ---" : " (one-way: no frames) ---");
        line(cookie, buf);
        if (l->below->ctx)
            plat_backtrace_context(l->below->ctx, bt_line, &sink);
    }
}

/* Write the frames of the running stack, then the levels below.  The
 * platform formats the frames and leaves out hopsim's own
 * (sim/backtrace.c): each level shows the program's code and the hs_
 * call it is in. */
void hop_backtrace(struct thread *t, void (*line)(void *, const char *),
                   void *cookie)
{
    struct bt_sink sink = {line, cookie};
    plat_backtrace_here(bt_line, &sink);
    hop_backtrace_levels(t, line, cookie);
}

hs_status hs_hop_backtrace(void (*line)(void *cookie, const char *text),
                           void *cookie)
{
    if (!line)
        return HS_EINVAL;
    struct thread *self = kernel_enter();
    if (!self)
        return HS_ESTATE;
    hop_backtrace(self, line, cookie);
    kernel_leave(self);
    return HS_OK;
}
