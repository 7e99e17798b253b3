/*
 * kern/object.h - the object table: one row per kind of kernel object.
 *
 * A row says what the kernel as a whole must do for that kind: the pool
 * its objects come from, what to set up when a run starts and release
 * when it is over, what to do when a process ends, and, for kinds that
 * capabilities name, how to tell that an object is still there.  Start,
 * teardown, the end of a process and capability resolution loop over
 * the table (run/objects.c), in its order; no other code names every
 * kind.  Adding a kind of object is its own .c/.h, with its row, plus
 * one line in the table.
 *
 * A process ends in two passes over the table: first every row's
 * proc_end (nothing may wait on the process or stay inside it: visitors
 * unwind, waiters wake), then every row's proc_free (what it owned is
 * freed).  Rows run in table order within each pass, which fixes the
 * order of the events they record.
 */
#ifndef HOPSIM_KERN_OBJECT_H
#define HOPSIM_KERN_OBJECT_H

#include <stddef.h>
#include <stdint.h>

#include "hopsim/cap.h"

struct hs_level;
struct pool;
struct proc;
struct thread;

struct kobj_type {
    const char *name;               /* "gate", as reports say it */
    struct pool *pool;              /* its objects, or NULL */
    size_t size;                    /*   and the size of one */
    void (*start)(void);            /* a run starts (pools are ready) */
    void (*stop)(void);             /* the run is over (pools still are) */
    void (*proc_end)(struct proc *p);
    void (*proc_free)(struct proc *p);
    hs_cap_kind cap_kind;           /* 0: no capability names it */
    int (*cap_alive)(uint64_t handle);  /* the object of handle exists */
    /* Capabilities were revoked or deleted (by self, a thread, or NULL
     * as a process ends): objects held through them let go. */
    void (*caps_changed)(struct thread *self);

    /* The parts of threads and processes a kind keeps in them. */
    void (*proc_init)(struct proc *p);      /* a new process */
    void (*proc_spawn)(struct proc *parent, struct proc *child);
                                            /* parent's new child, about
                                               to run; room was reserved */
    void (*thread_init)(struct thread *t);  /* a new thread (proc, prio
                                               and context set) */
    void (*thread_start)(struct thread *t); /* it first runs, lock held */
    void (*thread_end)(struct thread *t);   /* it ends: what it holds for
                                               itself goes */
    void (*thread_free)(struct thread *t);  /* it has ended: what others
                                               wait on it for goes */
    /* Level l of t is freed while something of this kind runs at it
     * (core/level.h, level_unlink()). */
    void (*level_drop)(struct thread *t, const struct hs_level *l);
};

/* The table, in order (run/objects.c). */
extern const struct kobj_type *const kobj_types[];
extern const unsigned kobj_ntypes;

/* Every row, for a run's start and end and a process's end. */
void kobj_start(void);
void kobj_stop(void);
void kobj_proc_end(struct proc *p);

/* Every row's caps_changed. */
void kobj_caps_changed(struct thread *self);

/* Every row's hook of that name, in table order. */
void kobj_proc_init(struct proc *p);
void kobj_proc_spawn(struct proc *parent, struct proc *child);
void kobj_thread_init(struct thread *t);
void kobj_thread_start(struct thread *t);
void kobj_thread_end(struct thread *t);
void kobj_thread_free(struct thread *t);
void kobj_level_drop(struct thread *t, const struct hs_level *l);

/* Whether the object of a capability of kind with handle still exists:
 * the row of that kind decides; 0 for a kind no row claims. */
int kobj_cap_alive(hs_cap_kind kind, uint64_t handle);

#endif
