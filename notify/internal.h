/*
 * notify/internal.h - what the files of notify/ share and nothing else
 * needs: their pools, watches, typed registrations, drop reasons.
 */
#ifndef HOPSIM_NOTIFY_INTERNAL_H
#define HOPSIM_NOTIFY_INTERNAL_H

#include "kern/list.h"
#include "kern/pool.h"
#include "notify/notify.h"

struct thread;
struct proc;
struct wait_ops;

/* The notification objects of the run (reset by notify_start()). */
struct notify_pools {
    struct pool items, frames, tables, watches, types;
};

extern struct notify_pools npools;

/* A process watching another one end (hs_notify_watch). */
struct notify_watch {
    struct kobj obj;
    struct proc *watcher;
    struct proc *watched;
    struct list watcher_link;       /* in watcher->notify.watching */
    struct list watched_link;       /* in watched->notify.watchers */
};

/* A typed registration (hs_notify_type_register). */
struct notify_type {
    struct kobj obj;
    struct list link;               /* in its process's notify.types */
    uint32_t type;
    struct thread *thread;          /* the thread it interrupts */
    hs_notify_fn fn;
    void *cookie;
};

/* Why a notification was dropped (event notify_drop, b). */
enum notify_drop {
    NOTIFY_DROP_NO_HANDLER = 1,     /* its handler was removed */
    NOTIFY_DROP_ENDED = 2,          /* its thread ended */
};

/* What a thread in hs_notify_wait() waits on. */
extern const struct wait_ops notify_wait_ops;

/* Process p has ended: HS_NOTIFY_EXIT to its parent and its watchers,
 * and every watch it is part of goes (watch.c). */
void notify_watches_fire(struct proc *p);

/* Queue HS_NOTIFY_EXIT about p for process q, on the first of q's live
 * threads with a handler for it; nothing if none has one, or if the
 * host refuses the memory (watch.c). */
void notify_exit_to(struct proc *q, const struct proc *p);

#endif
