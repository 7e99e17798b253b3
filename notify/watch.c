/*
 * notify/watch.c - HS_NOTIFY_EXIT: the parent and the watchers of a
 * process that ends.
 */
#include "core/kernel.h"
#include "notify/internal.h"
#include "notify/notify.h"

/* The first live thread of q with a handler for slot, or NULL. */
static struct thread *proc_target(struct proc *q, unsigned slot)
{
    struct list *l;
    list_for_each(l, &q->threads) {
        struct thread *t = container_of(l, struct thread, proc_link);
        void *cookie;
        if (t->state != THREAD_ZOMBIE && notify_handler(t, slot, &cookie))
            return t;
    }
    return NULL;
}

void notify_exit_to(struct proc *q, const struct proc *p)
{
    struct thread *t = proc_target(q, HS_NOTIFY_EXIT);
    if (!t || notify_reserve() != HS_OK)
        return;
    hs_notification note = {
        .slot = HS_NOTIFY_EXIT, .n = 2,
        .words = { p->obj.handle, (uint64_t)(int64_t)p->exit_status },
    };
    notify_queue(t, &note, 0);
}

static void watch_free(struct notify_watch *w)
{
    list_unlink(&w->watcher_link);
    list_unlink(&w->watched_link);
    pool_free(&npools.watches, w);
}

void notify_watches_fire(struct proc *p)
{
    if (p->parent && p->parent->state == PROC_ALIVE)
        notify_exit_to(p->parent, p);
    while (!list_empty(&p->notify.watchers)) {
        struct notify_watch *w = container_of(p->notify.watchers.next,
                                              struct notify_watch,
                                              watched_link);
        if (w->watcher != p->parent)    /* told once, as the parent */
            notify_exit_to(w->watcher, p);
        watch_free(w);
    }
    while (!list_empty(&p->notify.watching))
        watch_free(container_of(p->notify.watching.next,
                                struct notify_watch, watcher_link));
}

/* Whether me watches p already. */
static int watching(const struct proc *me, const struct proc *p)
{
    const struct list *l;
    list_for_each(l, &me->notify.watching) {
        const struct notify_watch *w =
            container_of(l, struct notify_watch, watcher_link);
        if (w->watched == p)
            return 1;
    }
    return 0;
}

static hs_status watch_check(struct proc *me, hs_pid_t pid, struct proc **out)
{
    struct proc *p = proc_lookup(pid);
    if (!p)
        return HS_ESRCH;
    if (!proc_target(me, HS_NOTIFY_EXIT))
        return HS_ENOHANDLER;
    if (watching(me, p))
        return HS_EEXIST;
    *out = p;
    return p->state == PROC_ZOMBIE ? notify_reserve()
                                   : pool_reserve(&npools.watches, 1);
}

hs_status hs_notify_watch(hs_pid_t pid)
{
    struct thread *self = kernel_enter();
    if (!self)
        return HS_ESTATE;
    struct proc *me = thread_current_proc(self);
    struct proc *p = NULL;
    hs_status st = watch_check(me, pid, &p);
    if (st == HS_OK && p->state == PROC_ZOMBIE) {
        notify_exit_to(me, p);          /* ended already: fire now */
    } else if (st == HS_OK) {
        struct notify_watch *w = pool_alloc(&npools.watches);
        w->watcher = me;
        w->watched = p;
        list_push_back(&me->notify.watching, &w->watcher_link);
        list_push_back(&p->notify.watchers, &w->watched_link);
    }
    kernel_leave(self);
    return st;
}
