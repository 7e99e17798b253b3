/*
 * core/level.c - levels (see level.h): a thread's level 0, the stack
 * budget of the levels arriving in a process, freeing levels, and
 * unwinding the visitors of a process that ends.  The hop that pushes a
 * level is in ports/hop.c.
 */
#include <string.h>

#include "core/checkpoint.h"
#include "core/kernel.h"
#include "core/level.h"
#include "core/sched.h"

int level_resume(void)
{
    sched_after_switch();
    struct thread *self = kernel_current();
    hs_status st = self->wait_result;
    kernel_leave(self);
    return st;
}

void hop_home_init(struct thread *t, struct proc *p, plat_context *ctx)
{
    struct hs_level *h = &t->home;
    memset(h, 0, sizeof *h);
    h->thread = t;
    h->proc = p;
    h->ctx = ctx;
    list_init(&h->visit_link);
    t->top = h;
}

/* ---- stacks for arriving threads ------------------------------------------- */

/* p's lent stacks are all in use: ask its allocator for one more.  Its
 * size (page-rounded) into *size, or HS_ENOSTACK. */
hs_status hop_stack_alloc_more(struct proc *p, size_t *size)
{
    size_t s = p->hop_stack_size;
    if (p->stack_alloc && p->stack_alloc(p->stack_alloc_cookie, &s) == HS_OK
        && s >= HS_STACK_MIN && s <= HS_STACK_MAX) {
        *size = page_round(s);
        return HS_OK;
    }
    return HS_ENOSTACK;
}



void hop_stack_release(struct proc *p)
{
    p->hop_stacks_used--;
}

void level_offer_decline(struct hs_level *l)
{
    struct hop_offer *o = l->offer;
    unsigned n = hs_tag_items(o->tag);
    const uint64_t *item = o->mr + hs_tag_words(o->tag);
    for (unsigned i = 0; i < n; i++, item += 2)
        event_record(EV_MEM_DECLINE, l->thread, item[1],
                     hs_item_mode(item[0]));
    pool_free(&k.hop_offers, o);
    l->offer = NULL;
}


void level_free(struct hs_level *l, const plat_context *running)
{
    if (l->kept)
        checkpoint_free(l->kept);
    if (l->ctx && l->ctx != running)
        plat_ctx_destroy(l->ctx);
    level_unlink(l);
    pool_free(&k.levels, l);
}

/* Free t's levels from the top down to (not including) below. */
static void levels_drop_to(struct thread *t, const struct hs_level *below,
                           const plat_context *running)
{
    while (t->top != below) {
        struct hs_level *l = t->top;
        t->top = l->below;
        level_free(l, running);
    }
}

plat_context *hop_drop_all(struct thread *t)
{
    plat_context *running = (t->state == THREAD_RUNNING) ? t->ctx : NULL;
    levels_drop_to(t, &t->home, running);
    if (t->home.ctx && t->home.ctx != running)
        plat_ctx_destroy(t->home.ctx);
    t->home.ctx = NULL;
    t->ctx = running;
    return running;
}

void hop_proc_free(struct proc *p)
{
    plat_context *c = p->hop_spare;
    if (!c)
        return;
    struct hs_level *l = plat_ctx_arg(c);
    list_unlink(&l->visit_link);    /* parked on p's visitors (level.h) */
    pool_free(&k.levels, l);
    plat_ctx_destroy(c);
    p->hop_spare = NULL;
}

/* ---- keep and resume ------------------------------------------------------------- */

/* ---- a process ends --------------------------------------------------------------- */

/* Levels of t in the ending process p, from `from` up, are cut loose from
 * p (its lists and stack budget), to be unwound when t next enters the
 * kernel. */
static void levels_orphan(struct thread *t, const struct proc *p)
{
    for (struct hs_level *l = t->top; l; l = l->below) {
        if (l->proc != p || l == &t->home)
            continue;
        l->dead = 1;
        l->stack_counted = 0;
        list_unlink(&l->visit_link);
        if (l->kept)
            list_unlink(&l->kept->owner_link);
    }
    kattn_set(&t->attn, KATTN_UNWIND);
}

/* Thread t (not running here) visits p at level l, its lowest level in p:
 * drop l and everything above; resume the caller of l with HS_EPARTNER,
 * or end t if l was reached one-way. */
static void unwind_other(struct thread *t, struct hs_level *l)
{
    if (t->state == THREAD_RUNNING) {       /* on another CPU */
        levels_orphan(t, l->proc);
        return;
    }
    if (t->state == THREAD_BLOCKED)
        sched_unblock_silently(t);
    struct hs_level *below = l->below;
    int resumable = l->checkpointed;
    levels_drop_to(t, below, NULL);
    t->ctx = below->ctx;
    level_resume_plain(below);
    event_record(EV_HOP_UNWIND, t, l->proc->obj.handle, resumable);
    if (!resumable) {
        thread_kill(t, 0);
        return;
    }
    t->wait_result = HS_EPARTNER;
    if (t->state == THREAD_BLOCKED)
        sched_enqueue(t, 0);
}

/* The lowest level of t that runs in p, or NULL. */
static struct hs_level *lowest_level_in(struct thread *t, const struct proc *p)
{
    struct hs_level *found = NULL;
    for (struct hs_level *l = t->top; l; l = l->below)
        if (l->proc == p && l != &t->home)
            found = l;
    return found;
}

void hop_proc_end(struct proc *p)
{
    struct thread *self = kernel_current();
    hop_proc_free(p);       /* the spare visits nothing; no hop comes in */
    /* Callers blocked at kept checkpoints of p. */
    struct list *l, *tmp;
    list_for_each_safe(l, tmp, &p->checkpoints) {
        struct checkpoint *cp = container_of(l, struct checkpoint,
                                             owner_link);
        if (!cp->level && cp->thread->state == THREAD_BLOCKED)
            checkpoint_resume(cp, HS_EPARTNER);
    }
    /* The caller, if it visits p, unwinds itself on its way out. */
    if (self && lowest_level_in(self, p))
        levels_orphan(self, p);
    /* Every other visitor.  An unwind may free several levels of p, so
     * start over from the head each time. */
    while (!list_empty(&p->visitors)) {
        struct hs_level *v = container_of(p->visitors.next, struct hs_level,
                                        visit_link);
        unwind_other(v->thread, lowest_level_in(v->thread, p));
    }
}

void hop_unwind_self(struct thread *self)
{
    struct hs_level *low = NULL;
    for (struct hs_level *l = self->top; l; l = l->below)
        if (l->dead)
            low = l;
    kattn_clear(&self->attn, KATTN_UNWIND);
    if (!low)
        return;
    plat_context *running = self->ctx;
    struct hs_level *below = low->below;
    int resumable = low->checkpointed;
    levels_drop_to(self, below, running);
    event_record(EV_HOP_UNWIND, self, 0, resumable);
    if (!resumable) {
        self->ctx = running;
        thread_exit(self, 0);
    }
    self->ctx = below->ctx;
    self->wait_result = HS_EPARTNER;
    level_resume_plain(below);
    sched_abandon(running, below->ctx, 1);
}

/* ---- the object table ------------------------------------------------------ */

/* The run is over: the context of every level still there. */
static void levels_stop(void)
{
    for (uint32_t i = 0; i < pool_slots(&k.levels); i++) {
        struct hs_level *l = pool_at(&k.levels, i);
        if (l && l->ctx)
            plat_ctx_destroy(l->ctx);
    }
}

/* A new thread's level 0, in its own process on its own context. */
static void levels_thread_init(struct thread *t)
{
    hop_home_init(t, t->proc, t->ctx);
}

/* An ending thread's levels go, their contexts with them (but the
 * running one). */
static void levels_thread_end(struct thread *t)
{
    hop_drop_all(t);
}

const struct kobj_type level_type = {
    .name = "level",
    .pool = &k.levels,
    .size = sizeof(struct hs_level),
    .stop = levels_stop,
    .proc_end = hop_proc_end,
    .proc_free = hop_proc_free,
    .thread_init = levels_thread_init,
    .thread_end = levels_thread_end,
};

const struct kobj_type hop_offer_type = {
    .name = "hop offer",
    .pool = &k.hop_offers,
    .size = sizeof(struct hop_offer),
};
