/*
 * notify/dispatch.c - running a handler and returning from it: frames,
 * notification stacks, the delivery at kernel exit, the synchronous
 * dispatch of kernel notifications.  See notify/notify.h for the shape of
 * a thread's frames.
 */
#include "core/kernel.h"
#include "core/sched.h"
#include "notify/internal.h"
#include "notify/notify.h"

static _Noreturn void frame_return(struct thread *self,
                                   struct notify_frame *f, int noreturn);

/* First code on a handler's context (lock held by the switcher). */
static void frame_start(void *arg)
{
    struct notify_frame *f = arg;
    sched_after_switch();
    plat_kunlock();
    f->fn(f->cookie, &f->note);
    /* The handler returned instead of calling hs_notify_return(). */
    struct thread *self = kernel_enter();
    KASSERT(self && self->notify.frame == f && f->level == self->top,
            "a handler returns on its own frame");
    frame_return(self, f, 1);
}

/* A stack for the next frame of t: the preallocated one for the first
 * level, else one from the allocator action.  NULL: none (HS_ENOSTACK in
 * *st) or the host refused (HS_ENOMEM). */
static plat_context *frame_ctx_get(struct thread *t, struct notify_frame *f,
                                   hs_status *st)
{
    struct notify_proc *np = &t->proc->notify;
    plat_context *c = t->notify.spare;
    size_t size = k.cfg.stack_size;
    *st = HS_ENOMEM;
    if (t->notify.depth == 0) {
        if (c && plat_ctx_restart(c, frame_start, f, t) == 0) {
            t->notify.spare = NULL;
            return c;
        }
        return plat_ctx_create(size, frame_start, f, t);
    }
    if (!np->stack_alloc ||
        np->stack_alloc(np->stack_alloc_cookie, t->notify.depth + 1,
                        &size) != HS_OK ||
        size < HS_STACK_MIN || size > HS_STACK_MAX) {
        *st = HS_ENOSTACK;
        return NULL;
    }
    f->from_alloc = 1;
    return plat_ctx_create(page_round(size), frame_start, f, t);
}

/* A frame for t with its stack; all that can fail is here. */
static hs_status frame_prepare(struct thread *t, struct notify_frame **out)
{
    hs_status st = pool_reserve(&npools.frames, 1);
    if (st != HS_OK)
        return st;
    struct notify_frame *f = pool_alloc(&npools.frames);
    f->ctx = frame_ctx_get(t, f, &st);
    if (!f->ctx) {
        pool_cancel(&npools.frames, f);
        return st;
    }
    *out = f;
    return HS_OK;
}

/* Push prepared frame f (item, handler set) on self and run its handler:
 * the interrupted state goes into the frame, the level's context into
 * f->saved.  Returns when the handler has returned. */
static void frame_run(struct thread *self, struct notify_frame *f)
{
    struct hs_level *l = self->top;
    f->outer = self->notify.frame;
    f->level = l;
    f->saved = l->ctx;
    f->note = f->item->note;
    f->note.depth = self->notify.depth + 1;
    f->utcb = self->utcb;
    f->wait_result = self->wait_result;
    f->recv_label = self->recv_label;
    f->reply = self->reply;
    self->notify.frame = f;
    self->notify.depth++;
    l->ctx = f->ctx;
    self->ctx = f->ctx;
    event_record(EV_NOTIFY_DISPATCH, self, f->note.slot, f->note.depth);
    sched_switch(f->saved, f->ctx);
}

/* The thread HS_NOTIFY_RETURN goes back to, or NULL. */
static struct thread *return_target(const struct thread *self,
                                    const struct notify_frame *f)
{
    if (!(f->note.flags & HS_NOTIFY_RETURN))
        return NULL;
    struct thread *s = thread_lookup(f->note.sender);
    return s && s != self && s->state == THREAD_RUNNABLE ? s : NULL;
}

/* Pop self's innermost frame f: restore the interrupted state, give the
 * handler's stack back (the spare, or freed after the switch) and switch
 * to the interrupted context, or first to the sender for
 * HS_NOTIFY_RETURN. */
static _Noreturn void frame_return(struct thread *self,
                                   struct notify_frame *f, int noreturn)
{
    plat_context *running = f->ctx;
    plat_context *to = f->saved;
    struct thread *back = return_target(self, f);
    self->utcb = f->utcb;
    self->wait_result = f->wait_result;
    self->recv_label = f->recv_label;
    self->reply = f->reply;
    f->level->ctx = to;
    self->ctx = to;
    self->notify.frame = f->outer;
    self->notify.depth--;
    if (noreturn)
        event_record(EV_NOTIFY_NORETURN, self, f->note.slot, 0);
    if (f->note.slot == HS_NOTIFY_TYPED && !f->decided)
        event_record(EV_NOTIFY_DECIDE, self, f->note.type, 0);
    event_record(EV_NOTIFY_RETURN, self, f->note.slot, f->note.depth);
    notify_item_free(f->item, HS_EABANDONED);
    int dead = f->from_alloc || self->notify.spare;
    if (!dead)
        self->notify.spare = running;
    pool_free(&npools.frames, f);
    if (back)
        sched_hand_over_final(self, running, back, dead);
    sched_abandon(running, to, dead);
}

hs_status hs_notify_return(void)
{
    struct thread *self = kernel_enter();
    if (!self)
        return HS_ESTATE;
    struct notify_frame *f = self->notify.frame;
    if (f && f->level == self->top)
        frame_return(self, f, 0);
    kernel_leave(self);
    return HS_ESTATE;
}

/* ---- delivery ---------------------------------------------------------------- */

/* The handler for item it on self now, or NULL if it has none any more. */
static hs_notify_fn item_handler(struct thread *self,
                                 const struct notify_item *it, void **cookie)
{
    if (it->note.slot != HS_NOTIFY_TYPED)
        return notify_handler(self, it->note.slot, cookie);
    hs_notify_fn fn = NULL;
    struct thread *r = notify_type_receiver(self->proc, it->note.type, &fn,
                                            cookie);
    return r == self ? fn : NULL;
}

/* Queued notifications run at the thread's home level only: a handler
 * installed by its process must not run as a process the thread visits
 * (with that process's memory, capabilities and ports).  A visiting
 * thread keeps them queued, and ready set, until it is back home. */
void notify_deliver(struct thread *self)
{
    if (self->top != &self->home)
        return;
    while (!list_empty(&self->notify.queue)) {
        struct notify_item *it = container_of(self->notify.queue.next,
                                              struct notify_item, link);
        void *cookie = NULL;
        hs_notify_fn fn = item_handler(self, it, &cookie);
        if (!fn) {
            event_record(EV_NOTIFY_DROP, self, it->note.slot,
                         NOTIFY_DROP_NO_HANDLER);
            notify_item_free(it, HS_EPARTNER);
            continue;
        }
        struct notify_frame *f = NULL;
        if (frame_prepare(self, &f) != HS_OK)
            break;                  /* stays queued for a later exit */
        list_unlink(&it->link);
        self->notify.nsent -= it->counted != 0;
        f->item = it;
        f->fn = fn;
        f->cookie = cookie;
        frame_run(self, f);
    }
    if (list_empty(&self->notify.queue))
        kattn_clear(&self->attn, KATTN_NOTIFY);
    else
        kattn_set(&self->attn, KATTN_NOTIFY);
}

hs_status notify_kernel_sync(struct thread *t, unsigned slot,
                             const uint64_t *words, unsigned n)
{
    void *cookie = NULL;
    hs_notify_fn fn = notify_handler_here(t, slot, &cookie);
    if (!fn)
        return HS_ENOHANDLER;
    KASSERT(t == kernel_current() && n <= HS_NOTIFY_WORDS,
            "a synchronous notification runs on the caller");
    struct notify_frame *f = NULL;
    hs_status st = notify_reserve();
    if (st == HS_OK)
        st = frame_prepare(t, &f);
    if (st != HS_OK)
        return st;
    hs_notification note = { .slot = slot, .n = n };
    for (unsigned i = 0; i < n; i++)
        note.words[i] = words[i];
    struct notify_item *it = pool_alloc(&npools.items);
    list_init(&it->link);
    it->target = t;
    it->note = note;
    f->item = it;
    f->fn = fn;
    f->cookie = cookie;
    f->sync = 1;
    frame_run(t, f);
    return HS_OK;
}
