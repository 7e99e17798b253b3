/*
 * core/proc.h - the kernel's process object.
 */
#ifndef HOPSIM_CORE_PROC_H
#define HOPSIM_CORE_PROC_H

#include "core/factory.h"
#include "kern/list.h"
#include "kern/pool.h"
#include "hopsim/hop.h"
#include "hopsim/proc.h"
#include "hopsim/notify.h"
#include "sim/platform.h"

struct cap;
struct thread;
struct ptnode;
struct notify_table;

/* A process's address space: owned by mem/ (vm.c), defined here to be
 * part of the process. */
struct aspace {
    struct ptnode *root;        /* level-4 table, NULL while empty */
    uint64_t mapped;            /* bytes mapped (charged HS_RES_MAPPED) */
    unsigned nodes;             /* page-table nodes, root included */
};

/* A process's notification state: owned by notify/. */
struct notify_proc {
    struct notify_table *table;     /* process-wide handlers, or NULL */
    hs_notify_stack_fn stack_alloc; /* allocator action, or NULL */
    void *stack_alloc_cookie;
    struct list watching;           /* its watches on other processes */
    struct list watchers;           /* watches on it */
    struct list types;              /* typed registrations */
    unsigned ntypes;
};


enum proc_state {
    PROC_ALIVE,
    PROC_ZOMBIE,        /* every thread ended; waits to be reaped */
};

struct proc {
    struct kobj obj;                /* handle; must be first */
    char name[HS_NAME_MAX + 1];
    enum proc_state state;
    struct proc *parent;            /* NULL: spawned from outside */
    struct list children;           /* its child processes */
    struct list sibling_link;       /* in parent->children */

    struct list threads;            /* every thread object, zombies too */
    unsigned nthreads;              /* thread objects in threads */
    unsigned nlive;                 /* threads not yet ended */
    unsigned max_threads;           /* limit on nthreads */

    /* Hopping. */
    struct list ports;              /* ports it owns */
    struct list checkpoints;        /* kept checkpoints (hs_hop_keep)
                                       of hops into it */
    struct list replies;            /* kept replies (ports/reply.c) */
    struct list visitors;           /* levels of threads inside it, and
                                       its parked spare level if any
                                       (core/level.h) */
    unsigned hop_stacks_max;        /* stacks lent to arriving threads */
    unsigned hop_stacks_used;
    size_t hop_stack_size;
    plat_context *hop_spare;        /* a returned handler's context, kept
                                       to run the next hop's handler */
    hs_stack_alloc_fn stack_alloc;  /* asked when the lent stacks run out */
    void *stack_alloc_cookie;
    hs_port_t port_in;              /* spawn ports: the parent hops in */
    hs_port_t port_out;             /* and the process hops out */
    hs_port_t pager;                /* where its page faults go, or 0 */

    struct list irqs;               /* IRQ objects it made */
    struct list chans;              /* channels it made */
    struct list chan_ends;          /* channel ends it attached */

    /* Capability space: caps[i] is local name i + 1. */
    struct cap **caps;
    uint32_t cap_slots;
    uint32_t cap_hint;              /* lowest slot that may be free */

    struct factory factory;         /* its quota and account */

    struct aspace as;               /* its address space (mem/vm.h) */

    int privileged;                 /* a core server (hs_proc_attr) */

    struct notify_proc notify;      /* handlers, watches, typed messages */

    int exit_status;
    int exit_set;                   /* hs_proc_exit() chose the status */
    int ending;                     /* proc_end() runs: its end reaps it,
                                       not a parent ending meanwhile */
    struct thread *waiter;          /* thread in hs_proc_wait() on it;
                                       once p has ended, named until it
                                       has run and reaped p */
};

/* A thread of p has ended (is_main: its first one, with exit value
 * value); the process ends with its last one. */
void proc_thread_end(struct proc *p, int is_main, int value);

/* End process p (alive) with status, as hs_proc_exit() does, on behalf
 * of the running thread self: every thread of p ends.  Does not return if
 * self belongs to p; if self visits p it unwinds to its caller (and does
 * not return either); otherwise it returns. */
void proc_kill(struct proc *p, int status, struct thread *self);

/* The process of handle h, or NULL. */
struct proc *proc_lookup(hs_pid_t h);

extern const struct kobj_type proc_type;

#endif
