/*
 * hopsim/thread.h - simulated threads.
 *
 * A simulated thread is a context with its own stack, switched onto a
 * simulated CPU by the kernel's scheduler.  Every call in this header (and
 * every other kernel call) is a scheduling point.  Threads are scheduled by
 * priority (HS_PRIO_MIN..HS_PRIO_MAX, larger first), FIFO within a
 * priority; a seed (see sim.h) makes the choice among equals random and
 * reproducible.
 *
 * A thread that has ended stays a zombie holding its exit value until it is
 * joined, or until its process ends.  Its stack is freed as soon as it
 * ends.
 */
#ifndef HOPSIM_THREAD_H
#define HOPSIM_THREAD_H

#include <stddef.h>
#include <stdint.h>

#include "api.h"
#include "proc.h"
#include "status.h"
#include "time.h"

HS_BEGIN_DECLS

typedef uint64_t hs_tid_t;

/* Optional attributes of a new thread; a zero field means "the default". */
typedef struct hs_thread_attr {
    int priority;        /* HS_PRIO_DEFAULT if 0 unless priority_set */
    int priority_set;    /* nonzero: use priority even if it is 0 */
    size_t stack_size;   /* config default if 0 */
    const char *name;    /* "thread" if NULL; 1..HS_NAME_MAX bytes */
} hs_thread_attr;

/*
 * Create a thread in the caller's process that runs entry(arg).  attr and
 * tid may be NULL.  The new thread is runnable at once; it runs before the
 * caller only if its priority is higher (or the seed chooses it).
 * Errors: HS_ESTATE (not in a simulated thread), HS_EINVAL (entry NULL, bad
 * priority, stack size or name), HS_ELIMIT (process or system thread
 * limit), HS_EQUOTA (the factory's threads or memory quota,
 * hopsim/factory.h), HS_ENOMEM.  On error nothing is created.
 */
hs_status hs_thread_create(hs_entry_fn entry, void *arg,
                           const hs_thread_attr *attr, hs_tid_t *tid);

/* End the calling thread with the given exit value.  If it is the last
 * thread of its process, the process ends too.  Does not return. */
HS_NORETURN void hs_thread_exit(int value);

/*
 * Wait until thread tid (of the caller's process) has ended, store its exit
 * value in *value (if not NULL) and free it.
 * Errors: HS_ESTATE, HS_EINVAL (bad timeout, or tid is detached: the
 * thread of an asynchronous hop, freed as it ends), HS_ESRCH (no such
 * thread, or already joined and freed), HS_EPERM (thread of another
 * process),
 * HS_EDEADLK (tid is the caller), HS_EJOINED (another thread is joining
 * it), HS_ETIMEOUT.
 */
hs_status hs_thread_join(hs_tid_t tid, hs_time_t timeout, int *value);

/* Give the CPU to the next runnable thread of the same priority, if any.
 * Errors: HS_ESTATE (not in a simulated thread). */
hs_status hs_thread_yield(void);

/* Block for ns virtual nanoseconds (0 behaves as hs_thread_yield()).
 * Errors: HS_ESTATE, HS_EINVAL (ns above HS_TIMEOUT_MAX; HS_NEVER too: a
 * thread that should wait for ever waits on something). */
hs_status hs_thread_sleep(hs_time_t ns);

/* The calling thread; 0 outside a simulated thread. */
hs_tid_t hs_thread_self(void);

/* Set the priority of thread tid (of the caller's process).  Lowering the
 * caller's own priority below a runnable thread's yields to it.
 * Errors: HS_ESTATE, HS_EINVAL (priority out of range), HS_ESRCH, HS_EPERM. */
hs_status hs_thread_set_priority(hs_tid_t tid, int priority);

/* Read the priority of thread tid into *priority.
 * Errors: HS_ESTATE, HS_EINVAL (priority NULL), HS_ESRCH. */
hs_status hs_thread_get_priority(hs_tid_t tid, int *priority);

HS_END_DECLS

#endif
