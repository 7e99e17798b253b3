/*
 * notify/notify.c - notification slots and queues: installing handlers,
 * sending, waiting, and what goes when a thread or a process ends.
 * Dispatch and return are in dispatch.c; exit watches in watch.c; typed
 * messages in typed.c.
 */
#include "core/kernel.h"
#include "core/sched.h"
#include "notify/notify.h"
#include "notify/internal.h"

struct notify_pools npools;

void notify_start(void)
{
    pool_init(&npools.items, sizeof(struct notify_item));
    pool_init(&npools.frames, sizeof(struct notify_frame));
    pool_init(&npools.tables, sizeof(struct notify_table));
    pool_init(&npools.watches, sizeof(struct notify_watch));
    pool_init(&npools.types, sizeof(struct notify_type));
}

void notify_stop(void)
{
    for (uint32_t i = 0; i < pool_slots(&npools.frames); i++) {
        struct notify_frame *f = pool_at(&npools.frames, i);
        if (f && f->saved)
            plat_ctx_destroy(f->saved);
    }
    for (uint32_t i = 0; i < pool_slots(&k.threads); i++) {
        struct thread *t = pool_at(&k.threads, i);
        if (t && t->notify.spare)
            plat_ctx_destroy(t->notify.spare);
    }
    pool_destroy(&npools.items);
    pool_destroy(&npools.frames);
    pool_destroy(&npools.tables);
    pool_destroy(&npools.watches);
    pool_destroy(&npools.types);
}

void notify_thread_init(struct thread *t)
{
    t->notify = (struct notify_thread){ 0 };
    list_init(&t->notify.queue);
}

void notify_proc_init(struct proc *p)
{
    p->notify = (struct notify_proc){ 0 };
    list_init(&p->notify.watching);
    list_init(&p->notify.watchers);
    list_init(&p->notify.types);
}

/* ---- slot tables ---------------------------------------------------------- */

hs_notify_fn notify_handler(const struct thread *t, unsigned slot,
                            void **cookie)
{
    const struct notify_table *tab = t->notify.table;
    if (!tab || !tab->fn[slot])
        tab = t->proc->notify.table;
    if (!tab || !tab->fn[slot])
        return NULL;
    *cookie = tab->cookie[slot];
    return tab->fn[slot];
}

hs_notify_fn notify_handler_here(const struct thread *t, unsigned slot,
                                 void **cookie)
{
    const struct proc *in = t->top->proc;
    if (in == t->proc)
        return notify_handler(t, slot, cookie);
    const struct notify_table *tab = in->notify.table;
    if (!tab || !tab->fn[slot])
        return NULL;
    *cookie = tab->cookie[slot];
    return tab->fn[slot];
}

static void table_free(struct notify_table **tab)
{
    if (*tab)
        pool_free(&npools.tables, *tab);
    *tab = NULL;
}

/* Set slot of *tab (allocated first if needed: reserved by the caller);
 * an emptied table goes. */
static void table_set(struct notify_table **tab, unsigned slot,
                      hs_notify_fn fn, void *cookie)
{
    if (!*tab && !fn)
        return;
    if (!*tab)
        *tab = pool_alloc(&npools.tables);
    struct notify_table *t = *tab;
    t->used += (fn != NULL) - (t->fn[slot] != NULL);
    t->fn[slot] = fn;
    t->cookie[slot] = fn ? cookie : NULL;
    if (!t->used)
        table_free(tab);
}

/* Which table hs_notify_install(tid, slot) changes, after its checks. */
static hs_status install_check(struct thread *self, hs_tid_t tid,
                               unsigned slot, struct notify_table ***out)
{
    struct proc *me = thread_current_proc(self);
    if (slot >= HS_NOTIFY_SLOTS)
        return HS_EINVAL;
    if (slot < HS_NOTIFY_KERNEL_FIRST && !me->privileged)
        return HS_EPERM;
    if (!tid) {
        *out = &me->notify.table;
        return HS_OK;
    }
    struct thread *t = thread_lookup(tid);
    if (!t || t->state == THREAD_ZOMBIE)
        return HS_ESRCH;
    if (t->proc != me && !me->privileged)
        return HS_EPERM;
    *out = &t->notify.table;
    return HS_OK;
}

hs_status hs_notify_install(hs_tid_t tid, unsigned slot, hs_notify_fn fn,
                            void *cookie)
{
    struct thread *self = kernel_enter();
    if (!self)
        return HS_ESTATE;
    struct notify_table **tab = NULL;
    hs_status st = install_check(self, tid, slot, &tab);
    if (st == HS_OK && !*tab && fn)
        st = pool_reserve(&npools.tables, 1);
    if (st == HS_OK)
        table_set(tab, slot, fn, cookie);
    kernel_leave(self);
    return st;
}

/* ---- queues ----------------------------------------------------------------- */

hs_status notify_reserve(void)
{
    return pool_reserve(&npools.items, 1);
}

struct notify_item *notify_queue(struct thread *t, const hs_notification *n,
                                 int counted)
{
    struct notify_item *it = pool_alloc(&npools.items);
    it->target = t;
    it->note = *n;
    it->counted = counted;
    list_push_back(&t->notify.queue, &it->link);
    t->notify.nsent += counted != 0;
    kattn_set(&t->attn, KATTN_NOTIFY);
    if (t->state == THREAD_BLOCKED && t->wait_ops == &notify_wait_ops)
        sched_wake(t, HS_OK);
    return it;
}

void notify_item_free(struct notify_item *it, hs_status outcome)
{
    struct notify_attach *a = it->attach;
    if (!list_empty(&it->link)) {
        list_unlink(&it->link);
        it->target->notify.nsent -= it->counted != 0;
    }
    if (a) {
        it->attach = NULL;
        a->item = NULL;
        a->done(a, outcome);
    }
    pool_free(&npools.items, it);
}

/* ---- sending ---------------------------------------------------------------- */

static hs_status send_check(hs_tid_t tid, unsigned slot,
                            const uint64_t *words, unsigned n, unsigned flags,
                            struct thread **out)
{
    if (slot >= HS_NOTIFY_SLOTS || n > HS_NOTIFY_WORDS || (n && !words) ||
        (flags & ~(HS_NOTIFY_NOW | HS_NOTIFY_RETURN)) ||
        ((flags & HS_NOTIFY_RETURN) && !(flags & HS_NOTIFY_NOW)))
        return HS_EINVAL;
    if (slot >= HS_NOTIFY_KERNEL_FIRST)
        return HS_EPERM;
    struct thread *t = thread_lookup(tid);
    void *cookie;
    if (!t || t->state == THREAD_ZOMBIE)
        return HS_ESRCH;
    if (!notify_handler(t, slot, &cookie))
        return HS_ENOHANDLER;
    if (t->notify.nsent >= HS_NOTIFY_QUEUE_MAX)
        return HS_ELIMIT;
    *out = t;
    return notify_reserve();
}

/* A handler runs on t and its process has no allocator action: a new
 * notification cannot nest. */
static int cannot_nest(const struct thread *t)
{
    return t->notify.depth > 0 && !t->proc->notify.stack_alloc;
}

/* HS_NOTIFY_NOW: give the CPU to t (not the sender) if it can run. */
static void send_now(struct thread *self, struct thread *t)
{
    if (t == self || t->state != THREAD_RUNNABLE)
        return;
    sched_hand_over(self, t);
}

hs_status hs_notify_send(hs_tid_t tid, unsigned slot, const uint64_t *words,
                         unsigned n, unsigned flags)
{
    struct thread *self = kernel_enter();
    if (!self)
        return HS_ESTATE;
    struct thread *t = NULL;
    hs_status st = send_check(tid, slot, words, n, flags, &t);
    if (st != HS_OK) {
        kernel_leave(self);
        return st;
    }
    hs_notification note = {
        .slot = slot, .flags = flags, .sender = self->obj.handle,
        .sender_pid = thread_current_proc(self)->obj.handle, .n = n,
    };
    for (unsigned i = 0; i < n; i++)
        note.words[i] = words[i];
    if (cannot_nest(t))
        st = HS_ENOSTACK;
    event_record(EV_NOTIFY_SEND, self, t->obj.handle, slot);
    notify_queue(t, &note, 1);
    if ((flags & HS_NOTIFY_NOW) && st == HS_OK)
        send_now(self, t);
    kernel_leave(self);
    return st;
}

/* ---- waiting ------------------------------------------------------------------ */

static void wait_describe(const struct thread *t, struct kbuf *b)
{
    (void)t;
    kbuf_printf(b, "a notification");
}

const struct wait_ops notify_wait_ops = {
    .what = "hs_notify_wait",
    .detach = NULL,
    .waits_for = NULL,
    .describe = wait_describe,
};

hs_status hs_notify_wait(hs_time_t timeout)
{
    struct thread *self = kernel_enter();
    if (!self)
        return HS_ESTATE;
    hs_status st = timeout_valid(timeout) ? HS_OK : HS_EINVAL;
    if (st == HS_OK && self->top != &self->home)
        st = HS_ESTATE;             /* notifications run at home only */
    if (st == HS_OK && list_empty(&self->notify.queue))
        st = timeout == HS_NOWAIT
                 ? HS_ETIMEOUT
                 : sched_block(self, &notify_wait_ops, self, timeout);
    kernel_leave(self);
    return st;
}

hs_status hs_notify_stack_alloc_set(hs_notify_stack_fn fn, void *cookie)
{
    struct thread *self = kernel_enter();
    if (!self)
        return HS_ESTATE;
    struct proc *p = thread_current_proc(self);
    p->notify.stack_alloc = fn;
    p->notify.stack_alloc_cookie = fn ? cookie : NULL;
    kernel_leave(self);
    return HS_OK;
}

hs_status hs_notify_depth(unsigned *depth)
{
    if (!depth)
        return HS_EINVAL;
    struct thread *self = kernel_enter();
    if (!self)
        return HS_ESTATE;
    *depth = self->notify.depth;
    kernel_leave(self);
    return HS_OK;
}

/* ---- endings ---------------------------------------------------------------- */

/* Free frame f (t's innermost) with its saved context and its item; the
 * running handler's context is left to its owner. */
static void frame_drop(struct thread *t, struct notify_frame *f)
{
    t->notify.frame = f->outer;
    t->notify.depth--;
    if (f->saved)
        plat_ctx_destroy(f->saved);
    f->saved = NULL;
    event_record(EV_NOTIFY_DROP, t, f->note.slot, NOTIFY_DROP_ENDED);
    notify_item_free(f->item, HS_EPARTNER);
    pool_free(&npools.frames, f);
}

void notify_level_dropped(struct thread *t, const struct hs_level *l)
{
    while (t->notify.frame && t->notify.frame->level == l)
        frame_drop(t, t->notify.frame);
}

int notify_at_level(const struct thread *t, const struct hs_level *l)
{
    return t->notify.frame && t->notify.frame->level == l;
}

void notify_thread_end(struct thread *t)
{
    while (t->notify.frame)
        frame_drop(t, t->notify.frame);
    while (!list_empty(&t->notify.queue)) {
        struct notify_item *it = container_of(t->notify.queue.next,
                                              struct notify_item, link);
        event_record(EV_NOTIFY_DROP, t, it->note.slot, NOTIFY_DROP_ENDED);
        notify_item_free(it, HS_EPARTNER);
    }
    kattn_clear(&t->attn, KATTN_NOTIFY);
    if (t->notify.spare)
        plat_ctx_destroy(t->notify.spare);
    t->notify.spare = NULL;
    table_free(&t->notify.table);
    notify_types_drop(t->proc, t);
}

void notify_proc_end(struct proc *p)
{
    notify_watches_fire(p);
    notify_types_drop(p, NULL);
    table_free(&p->notify.table);
    p->notify.stack_alloc = NULL;
}

/* ---- the object table ------------------------------------------------------ */

/* A thread's first run: notifications queued before it ran run before
 * its entry. */
static void notify_thread_start(struct thread *t)
{
    if (t->attn & KATTN_NOTIFY)
        notify_deliver(t);
}

const struct kobj_type notify_type = {
    .name = "notification",
    .start = notify_start,
    .stop = notify_stop,
    .proc_end = notify_proc_end,
    .proc_init = notify_proc_init,
    .thread_init = notify_thread_init,
    .thread_start = notify_thread_start,
    .thread_end = notify_thread_end,
    .level_drop = notify_level_dropped,
};
