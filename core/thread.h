/*
 * core/thread.h - the kernel's thread object.
 */
#ifndef HOPSIM_CORE_THREAD_H
#define HOPSIM_CORE_THREAD_H

#include "kern/kfmt.h"
#include "kern/list.h"
#include "kern/pool.h"
#include "hopsim/hop.h"
#include "hopsim/thread.h"
#include "sim/platform.h"

struct checkpoint;
struct proc;
struct thread;

enum thread_state {
    THREAD_RUNNABLE,    /* on the run queue */
    THREAD_RUNNING,     /* on a CPU */
    THREAD_BLOCKED,     /* waiting; wait.ops says on what */
    THREAD_ZOMBIE,      /* ended; holds its exit value until joined */
};

/*
 * What a blocked thread waits on.  Each blocking operation defines one
 * wait_ops; the scheduler and the deadlock report use it without knowing
 * the operation.
 */
struct wait_ops {
    const char *what;                       /* e.g. "join" */
    /* Undo the thread's registration on the object it waits on (timeout,
     * kill).  Must not fail. */
    void (*detach)(struct thread *t);
    /* The thread this one waits for, for the wait-for graph; NULL if it
     * waits for no particular thread. */
    struct thread *(*waits_for)(const struct thread *t);
    /* Append the object waited on ("thread 3 'worker'") to b. */
    void (*describe)(const struct thread *t, struct kbuf *b);
    /* An IPC wait (send, receive, reply, IRQ): hs_ipc_cancel() ends it
     * with HS_ECANCELED. */
    int ipc;
};

/* The memory items a hop offered (HS_HOP_ITEMS), kept as they were at
 * the hop: the tag, and the item registers at their own indexes of mr[]
 * (the other registers are not copied). */
struct hop_offer {
    struct kobj obj;              /* handle; must be first */
    uint64_t tag;
    uint64_t mr[HS_MR_COUNT];
};

/* One level of a thread's hop chain (core/level.h says how a chain is
 * made); the public hs_hop_t is a pointer to it.
 * Every hop sets each field (level_get() and level_push() in hop.c; a
 * parked level keeps its proc, and no kept checkpoint or offer, from its
 * last hop); those it sets to constants sit together, so that the stores
 * merge. */
struct hs_level {
    struct kobj obj;              /* unused (0) for level 0 */
    struct hs_level *below;       /* NULL at level 0 */
    struct thread *thread;
    struct proc *proc;            /* the process this level runs in */
    plat_context *ctx;            /* NULL once discarded */
    hs_hop_handler handler;       /* what this level runs */
    void *cookie;
    hs_pid_t source;              /* the process hopped from (0: none) */
    hs_port_t port;               /* port hopped through (0 at level 0) */
    unsigned depth;               /* 0 for level 0 */
    int stack_counted;            /* holds one of proc's hop stacks */
    int dead;                     /* its process ended while the thread ran
                                     on another CPU: unwind at next entry */
    int accepted;                 /* hs_hop_accept() done */
    int checkpointed;             /* the hop into this level made a
                                     checkpoint: the level below waits to
                                     resume when this one ends */
    int left_direct;              /* this level's context was left by
                                     hs_hop()'s direct switch, to be
                                     resumed with the hop's status
                                     (level_resume_plain()) */
    struct checkpoint *kept;      /* that checkpoint as a kernel object
                                     with a handle, once hs_hop_keep()
                                     kept it; NULL until then */
    struct hop_offer *offer;      /* memory items offered, until accepted
                                     or declined (NULL: none) */
    hs_time_t deadline;           /* checkpointed: when the caller stops
                                     waiting (absolute; HS_NEVER: never),
                                     read only if the checkpoint is kept */
    uint64_t fault;               /* level 0 of an asynchronous hop's
                                     thread: the page fault the kernel's
                                     hop delivers, or 0; unset above */
    struct list visit_link;       /* in proc->visitors (levels above 0,
                                     also while parked as the spare) */
};

/* A thread's notification state: owned by notify/, defined here to be
 * part of the thread. */
struct notify_table;
struct notify_frame;

struct notify_thread {
    struct list queue;              /* items, oldest first */
    unsigned nsent;                 /* of those, counted ones */
    struct notify_table *table;     /* handlers on this thread, or NULL */
    struct notify_frame *frame;     /* innermost running handler, or NULL */
    unsigned depth;                 /* frames */
    plat_context *spare;            /* the preallocated stack, when no
                                       handler uses it */
};

/* A thread's implicit reply capability: the caller it answers, by
 * handle and call number, that caller's priority when it called (lent to
 * the thread), and where the caller was: still the caller while its
 * handle is tid (pool memory stays until the run ends).  tid 0: none.
 * Saved and restored whole around a notification handler. */
struct reply_cap {
    hs_tid_t tid;
    uint64_t seq;
    int prio;
    struct thread *caller;
};

struct thread {
    struct kobj obj;                 /* handle; must be first */
    unsigned attn;                   /* KATTN_*: work at its next kernel
                                        entry or exit (kern/entry.h) */
    char name[HS_NAME_MAX + 1];
    struct proc *proc;               /* the process it belongs to */
    struct list proc_link;           /* in proc->threads */
    enum thread_state state;
    int prio;
    int is_main;                     /* the process's first thread */

    /* Scheduling. */
    struct list runq_link;           /* on a run queue while RUNNABLE */
    uint64_t pct_rank;               /* PCT: larger runs first among
                                        equal priorities */
    plat_context *ctx;               /* the context that runs: top->ctx */
    size_t stack_size;
    hs_entry_fn entry;
    void *arg;

    /* Hopping: the chain of levels, level 0 embedded. */
    struct hs_level home;
    struct hs_level *top;
    hs_utcb_t utcb;

    /* Synchronous IPC (ports/ipc.c). */
    struct list gates;               /* gates bound to it */
    struct list senders;             /* threads blocked sending to it,
                                        by priority, FIFO within one */
    struct gate *send_gate;          /* while queued: the gate used, */
    uint64_t send_label;             /*   its capability's label, */
    int send_call;                   /*   a call: wait for the reply */
    hs_time_t call_recv_timeout;
    uint64_t call_seq;               /* number of its current call */
    struct gate *recv_gate;          /* closed wait on it; NULL: open */
    uint64_t recv_label;             /* label of the message received */
    int ipc_serving;                 /* blocked in hs_ipc_serve(), counted
                                        in k.nserving */
    struct reply_cap reply;          /* implicit reply capability */
    struct list reply_waiters;       /* callers blocked for its reply, by
                                        wait_link; woken with HS_EPARTNER
                                        when it ends */
    int base_prio;                   /* priority without inheritance */
    uint64_t wake_phase;             /* HS_PHASE_* a wake-up belongs to */
    struct list irqs;                /* IRQ objects bound to it */
    uint64_t irq_bits;               /* bits taken for it by a signal */

    /* Notifications (notify/notify.h). */
    struct notify_thread notify;

    /* Blocking. */
    struct list wait_link;           /* on the queue of what it waits on */
    const struct wait_ops *wait_ops; /* while BLOCKED */
    void *wait_obj;                  /* what it waits on */
    hs_status wait_result;           /* set by the waker */
    plat_timer timer;                /* timeout or sleep */
    int (*resume_fn)(void);          /* blocked by a direct switch at the
                                        end of a public call: how that
                                        call ends if anything but a
                                        direct switch resumes it
                                        (core/sched.h), or NULL */
    uint64_t *resume_label;          /* hs_ipc_reply_wait()'s label, for
                                        its resume_fn */

    /* Ending. */
    int exit_value;
    struct thread *joiner;           /* thread blocked joining this one */
    int free_pending;                /* freed once its stack is released */
    int detached;                    /* nobody joins it: freed as it ends */
};

/* The process t is in now: its top level's.  Inline: every kernel call
 * asks. */
static inline struct proc *thread_current_proc(const struct thread *t)
{
    return t->top->proc;
}

/* Allocate a thread of p running entry(arg).  All checks (limits, memory)
 * come first; on error nothing changed.  The new thread is RUNNABLE. */
hs_status thread_new(struct proc *p, const char *name, int prio,
                     size_t stack_size, hs_entry_fn entry, void *arg,
                     struct thread **out);

/* The calling thread ends with value; never returns. */
_Noreturn void thread_exit(struct thread *self, int value);

/* End thread t (not the caller) because its process ended. */
void thread_kill(struct thread *t, int value);

/* Free a zombie thread's object (now, or once its stack is released). */
void thread_release(struct thread *t);

/* The thread of handle h, or NULL. */
struct thread *thread_lookup(hs_tid_t h);

/* Validate a stack size and a priority from an attribute struct. */
hs_status thread_check_attr(size_t stack_size, int prio_set, int prio,
                            size_t *stack, int *prio_out);

/* "t3 'name' (p2 'proc')" into b. */
void thread_describe(const struct thread *t, struct kbuf *b);

extern const struct kobj_type thread_type;

#endif
