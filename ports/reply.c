/*
 * ports/reply.c - kept replies (see reply.h).
 */
#include "core/kernel.h"
#include "core/sched.h"
#include "ports/reply.h"

static struct pool replies;

/* The caller timed out, was cancelled or ends: the kept reply stays,
 * stale, until its owner answers it or ends. */
static void kept_detach(struct thread *t)
{
    struct kept_reply *r = t->wait_obj;
    r->caller = NULL;
}

static void kept_describe(const struct thread *t, struct kbuf *b)
{
    const struct kept_reply *r = t->wait_obj;
    kbuf_printf(b, "kept reply %u of process %u '%s'",
                handle_index(r->obj.handle),
                handle_index(r->owner->obj.handle), r->owner->name);
}

/* No particular thread answers a kept reply: any thread of its owner may. */
static const struct wait_ops kept_wait = {
    .what = "ipc call (kept reply)",
    .detach = kept_detach,
    .waits_for = NULL,
    .describe = kept_describe,
    .ipc = 1,
};

hs_status reply_reserve(void)
{
    return pool_reserve_one(&replies);
}

struct kept_reply *reply_keep(struct proc *owner, struct thread *c)
{
    struct kept_reply *r = pool_alloc(&replies);
    r->owner = owner;
    r->caller = c;
    list_push_back(&owner->replies, &r->owner_link);
    list_unlink(&c->wait_link);     /* off the server thread's waiters */
    c->wait_ops = &kept_wait;
    c->wait_obj = r;
    return r;
}

struct kept_reply *reply_lookup(uint64_t h)
{
    return pool_lookup(&replies, h);
}

void reply_free(struct kept_reply *r)
{
    list_unlink(&r->owner_link);
    pool_free(&replies, r);
}

/* ---- the object table ------------------------------------------------------ */

static void replies_proc_init(struct proc *p)
{
    list_init(&p->replies);
}

/* p ends: callers still waiting on its kept replies learn that nobody
 * will answer. */
static void replies_proc_end(struct proc *p)
{
    struct list *l;
    list_for_each(l, &p->replies) {
        struct kept_reply *r = container_of(l, struct kept_reply,
                                            owner_link);
        struct thread *c = r->caller;
        if (c) {
            r->caller = NULL;
            c->wait_ops = NULL;
            sched_wake(c, HS_EPARTNER);
        }
    }
}

static void replies_proc_free(struct proc *p)
{
    while (!list_empty(&p->replies))
        reply_free(container_of(p->replies.next, struct kept_reply,
                                owner_link));
}

const struct kobj_type reply_type = {
    .name = "kept reply",
    .pool = &replies,
    .size = sizeof(struct kept_reply),
    .proc_init = replies_proc_init,
    .proc_end = replies_proc_end,
    .proc_free = replies_proc_free,
};
