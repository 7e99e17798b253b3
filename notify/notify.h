/*
 * notify/notify.h - the kernel's side of notifications (hopsim/notify.h).
 *
 * Each thread has a FIFO queue of items and a stack of frames, one per
 * handler running on it.  A frame runs at the hop level that was on top
 * when it was dispatched: the level's context is swapped for the
 * handler's, so the hop code, which always runs and saves `level->ctx`,
 * needs to know nothing of notifications.
 *
 *   thread->top --> [level L] ctx = frame 2's handler context
 *   frame 2 (depth 2): saved = frame 1's handler context, outer = frame 1
 *   frame 1 (depth 1): saved = L's own context (the interrupted code)
 *
 * A frame owns its saved context (and its saved UTCB and reply state);
 * the running handler's context is owned by the level, as any running
 * context is.  hs_notify_return() pops the innermost frame: the level
 * gets the saved context back and the thread switches to it.
 *
 * All of it runs with the kernel lock held.
 */
#ifndef HOPSIM_NOTIFY_NOTIFY_H
#define HOPSIM_NOTIFY_NOTIFY_H

#include <stdint.h>

#include "kern/list.h"
#include "kern/object.h"
#include "kern/pool.h"
#include "hopsim/notify.h"
#include "hopsim/utcb.h"
#include "sim/platform.h"

struct thread;
struct proc;
struct hs_level;
struct notify_item;

/*
 * An attachment: kernel state riding on a typed message (the page-unit
 * send of hopsim/mem.h rides on one).  done() is called exactly once,
 * with the kernel lock held, when the message is taken (HS_OK), abandoned
 * (HS_EABANDONED, also when its handler returns without deciding), or
 * dropped because its receiving thread ended or its registration went
 * (HS_EPARTNER) -- unless the owner gave up first with
 * notify_attach_cancel().  done() must not block or switch.
 */
struct notify_attach {
    void (*done)(struct notify_attach *a, hs_status outcome);
    struct notify_item *item;       /* the message, while it exists
                                       (the kernel's field) */
};

/* A queued notification, and then the one a frame handles. */
struct notify_item {
    struct kobj obj;
    struct list link;               /* in its thread's queue, while queued */
    struct thread *target;
    hs_notification note;           /* what the handler sees */
    struct notify_attach *attach;   /* typed messages: told the outcome */
    int counted;                    /* counts against HS_NOTIFY_QUEUE_MAX */
};

/* A handler running on a thread. */
struct notify_frame {
    struct kobj obj;
    struct notify_frame *outer;     /* the frame it nests on, or NULL */
    struct hs_level *level;         /* the level it runs at */
    plat_context *saved;            /* the interrupted context (owned) */
    plat_context *ctx;              /* the handler's context (owned by
                                       the level while it runs) */
    int from_alloc;                 /* ctx came from the allocator action;
                                       else the preallocated stack */
    int sync;                       /* dispatched by notify_kernel_sync() */
    int decided;                    /* typed: taken or abandoned */
    struct notify_item *item;       /* what it handles */
    hs_notify_fn fn;
    void *cookie;
    hs_notification note;           /* the handler's copy, with depth */
    /* The thread's state at dispatch, restored at return. */
    hs_utcb_t utcb;
    hs_status wait_result;
    uint64_t recv_label;
    struct reply_cap reply;
};

/* One slot table: a handler and its cookie per slot. */
struct notify_table {
    struct kobj obj;
    hs_notify_fn fn[HS_NOTIFY_SLOTS];
    void *cookie[HS_NOTIFY_SLOTS];
    unsigned used;                  /* slots with a handler */
};

/* ---- life cycle (notify.c) ---------------------------------------------- */

/* Reset the pools for a new run; free everything at its end (contexts of
 * frames and spare stacks included). */
void notify_start(void);
void notify_stop(void);

void notify_thread_init(struct thread *t);
void notify_proc_init(struct proc *p);

/* Thread t has ended (it may be the running one): its queue is dropped
 * (typed senders learn HS_EPARTNER), every remaining frame freed with its
 * saved context, its spare stack, table and typed registrations too. */
void notify_thread_end(struct thread *t);

/* Process p has ended (every thread of it has): HS_NOTIFY_EXIT goes to
 * its parent and its watchers; its watches, handlers and registrations
 * go. */
void notify_proc_end(struct proc *p);

/* Whether a notification handler runs on the thread of n (it has a
 * frame).  Inline and cheap: when none does, the level hooks below have
 * nothing to do, and a hop need not call them. */
static inline int notify_running(const struct notify_thread *n)
{
    return n->frame != NULL;
}

/* Level l of thread t is being freed (a hop unwinds): frames running at
 * it are freed with their saved contexts (l's own context is not
 * touched). */
void notify_level_dropped(struct thread *t, const struct hs_level *l);

/* Whether a handler runs at level l of t (a one-way hop would lose it). */
int notify_at_level(const struct thread *t, const struct hs_level *l);

/* ---- delivery (dispatch.c) ---------------------------------------------- */

/* Run self's queued notifications that can run now, oldest first (called
 * by kernel_leave() when self->notify.ready; self is running, lock held,
 * and held again on return).  Nothing runs while self visits another
 * process: they wait for its return to its home level. */
void notify_deliver(struct thread *self);

/* notify_kernel_sync(): declared in core/kernel.h, for core's use. */

/* ---- queueing (notify.c) ------------------------------------------------ */

/* The handler of slot for thread t at home: its own, else its
 * process's. */
hs_notify_fn notify_handler(const struct thread *t, unsigned slot,
                            void **cookie);

/* The handler of slot for t where it runs now: at a level in its own
 * process, notify_handler(); visiting another process, only that
 * process's process-wide handler.  A handler runs in the process that
 * installed it, never in one its thread happens to visit. */
hs_notify_fn notify_handler_here(const struct thread *t, unsigned slot,
                                 void **cookie);

/* Make room for one item (may fail); then notify_queue() cannot fail. */
hs_status notify_reserve(void);

/* Queue a prepared note for t (reserved first); wakes t if it waits in
 * hs_notify_wait().  counted: an hs_notify_send item.  Returns the item. */
struct notify_item *notify_queue(struct thread *t, const hs_notification *n,
                                 int counted);

/* An item leaves its queue or frame for good (outcome for an attachment:
 * see struct notify_attach; HS_OK means "no outcome to report"). */
void notify_item_free(struct notify_item *it, hs_status outcome);

/* ---- typed messages (typed.c) ------------------------------------------- */

/* The thread registered for type in p, with its handler, or NULL. */
struct thread *notify_type_receiver(struct proc *p, uint32_t type,
                                    hs_notify_fn *fn, void **cookie);

/* Post a typed message from sender (a thread, or NULL for the kernel) to
 * process p carrying attachment a (may be NULL).  Checks first: HS_ESRCH,
 * HS_ENOHANDLER, HS_EDEADLK (the receiver is the sender), HS_ELIMIT,
 * HS_ENOMEM; nothing changed then. */
hs_status notify_type_post(struct thread *sender, struct proc *p,
                           uint32_t type, const uint64_t *words, unsigned n,
                           struct notify_attach *a);

/* Make room for n typed messages at once (may fail: HS_ENOMEM); each
 * notify_type_post() that passes its other checks then finds its room. */
hs_status notify_type_reserve(unsigned n);

/* The typed message that self's innermost handler handles at self's
 * current hop level: HS_OK and *a its attachment (NULL if its owner gave
 * up on it), or HS_ESTATE if there is none or it is decided already. */
hs_status notify_type_current(struct thread *self, struct notify_attach **a);

/* Decide that message (hs_notify_take, hs_notify_abandon), with the
 * kernel lock held: its attachment learns outcome at once.  HS_ESTATE if
 * no undecided typed message is handled at self's current level. */
hs_status notify_type_decide(struct thread *self, hs_status outcome);

/* The owner of a attachment gives up on it: done() will not be called; a
 * message not yet dispatched is withdrawn. */
void notify_attach_cancel(struct notify_attach *a);

/* Drop p's typed registrations held by thread t (NULL: all of them). */
void notify_types_drop(struct proc *p, const struct thread *t);

extern const struct kobj_type notify_type;

#endif
