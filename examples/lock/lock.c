/*
 * examples/lock/lock.c - the lock server and its client calls (see
 * lock.h).
 */
#include "lock.h"

struct waiter {
    hs_reply_t reply;           /* its kept call */
    uint64_t label;             /* who asked */
};

struct lock {
    uint64_t holder;            /* label of the holder, 0: free */
    struct waiter q[LOCK_WAITERS_MAX];  /* a ring, oldest at head */
    unsigned head, n;
};

/* Answer the call just received with status st; whether it landed. */
static int answer(hs_status st)
{
    hs_utcb_t *u = hs_utcb();
    u->tag = HS_TAG(0, 1);
    u->mr[0] = (uint64_t)st;
    return hs_ipc_reply() == HS_OK;
}

/* Hand the lock to the first queued caller still waiting, or free it. */
static void hand_over(struct lock *l)
{
    l->holder = 0;
    while (l->n) {
        struct waiter w = l->q[l->head];
        l->head = (l->head + 1) % LOCK_WAITERS_MAX;
        l->n--;
        hs_utcb_t *u = hs_utcb();
        u->tag = HS_TAG(0, 1);
        u->mr[0] = HS_OK;
        if (hs_ipc_reply_to(w.reply) == HS_OK) {    /* else it gave up */
            l->holder = w.label;
            return;
        }
    }
}

static void do_acquire(struct lock *l, uint64_t label)
{
    if (!l->holder) {
        if (answer(HS_OK))      /* a grant its caller did not see is none */
            l->holder = label;
        return;
    }
    if (l->holder == label) {
        (void)answer(HS_EDEADLK);
        return;
    }
    if (l->n == LOCK_WAITERS_MAX) {
        (void)answer(HS_ELIMIT);
        return;
    }
    struct waiter *w = &l->q[(l->head + l->n) % LOCK_WAITERS_MAX];
    if (hs_ipc_reply_keep(&w->reply) != HS_OK)
        return;                 /* its caller is gone already */
    w->label = label;
    l->n++;
}

static void do_release(struct lock *l, uint64_t label)
{
    if (l->holder != label) {
        (void)answer(HS_EPERM);
        return;
    }
    hand_over(l);
    (void)answer(HS_OK);
}

hs_status lock_serve(hs_cap_t gate)
{
    (void)gate;                 /* served by the open wait of its thread */
    struct lock l = { 0 };
    hs_utcb_t *u = hs_utcb();
    for (;;) {
        uint64_t label = 0;
        hs_status st = hs_ipc_serve(&label);
        if (st != HS_OK)
            return st;
        switch (hs_tag_label(u->tag)) {
        case LOCK_ACQUIRE:
            do_acquire(&l, label);
            break;
        case LOCK_RELEASE:
            do_release(&l, label);
            break;
        default:
            (void)answer(HS_EINVAL);
        }
    }
}

/* ---- the client calls ------------------------------------------------------ */

static hs_status lock_call(hs_cap_t lock, enum lock_op op,
                           hs_time_t timeout)
{
    hs_utcb_t *u = hs_utcb();
    u->tag = HS_TAG(op, 0);
    hs_status st = hs_ipc_call(lock, HS_NEVER, timeout);
    return st == HS_OK ? (hs_status)u->mr[0] : st;
}

hs_status lock_acquire(hs_cap_t lock, hs_time_t timeout)
{
    return lock_call(lock, LOCK_ACQUIRE, timeout);
}

hs_status lock_release(hs_cap_t lock)
{
    return lock_call(lock, LOCK_RELEASE, HS_NEVER);
}
