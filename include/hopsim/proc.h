/*
 * hopsim/proc.h - simulated processes.
 *
 * A process is a protection domain with a name, a parent, and one or more
 * threads.  Its first thread runs entry(arg).  The process ends when its
 * last thread ends, or at once when one of its threads calls
 * hs_proc_exit(); its exit status is the value given to hs_proc_exit(), or
 * else the return value of entry().  An ended process stays a zombie until
 * its parent waits for it with hs_proc_wait() or the parent ends; processes
 * spawned outside the simulation (before hs_sim_run) have no parent.
 *
 * Processes and threads are named by handles: an index plus a generation,
 * so a stale handle is refused with HS_ESRCH instead of reaching a new
 * object.  0 is never a valid handle.
 */
#ifndef HOPSIM_PROC_H
#define HOPSIM_PROC_H

#include <stddef.h>
#include <stdint.h>

#include "api.h"
#include "status.h"
#include "time.h"

HS_BEGIN_DECLS

typedef uint64_t hs_pid_t;

struct hs_quota;

/* The entry function of a process or a thread; its return value is the
 * thread's exit value. */
typedef int (*hs_entry_fn)(void *arg);

#define HS_NAME_MAX 31   /* longest process or thread name, in bytes */

/* Optional attributes of a new process; a zero field means "the default". */
typedef struct hs_proc_attr {
    int priority;           /* of the first thread; HS_PRIO_DEFAULT if 0
                               unless priority_set is nonzero */
    int priority_set;       /* nonzero: use priority even if it is 0 */
    size_t stack_size;      /* of the first thread; config default if 0 */
    unsigned max_threads;   /* thread limit of the process; config default
                               if 0 (HS_ELIMIT when reached) */
    const struct hs_quota *quota; /* factory limits (hopsim/factory.h);
                               NULL: the parent's limits */
    /* Initial capabilities: copies of caps[0..ncaps-1], capabilities of
     * the caller with HS_CAP_GRANT, become local names 1..ncaps of the
     * child, with the same rights and labels, derived from the caller's
     * (revoking those stops them).  Only for a child spawned from a
     * simulated thread. */
    const uint32_t *caps;
    unsigned ncaps;         /* 0..HS_SPAWN_CAPS_MAX */
    /* Nonzero: a core server.  Only a core server may create direct and
     * special memory portals (hopsim/mem.h) and install notification
     * handlers on other contexts.  A process spawned from outside the
     * run is one if it asks; a child only if its parent is one too
     * (HS_EPERM otherwise). */
    int privileged;
} hs_proc_attr;

#define HS_SPAWN_CAPS_MAX 16

/*
 * Create a process named name whose first thread runs entry(arg).  Called
 * from a simulated thread, the new process is a child of the caller's
 * process; called after hs_sim_start() and before hs_sim_run(), it has no
 * parent.  attr may be NULL; pid may be NULL.
 * Errors: HS_EINVAL (entry NULL, name NULL, empty or longer than
 * HS_NAME_MAX, bad priority or stack size in attr), HS_ESTATE (no
 * simulation started), HS_ELIMIT (max_procs or max_threads reached),
 * HS_EQUOTA (the caller's quota of processes, or the new process's own
 * quota of threads, memory or capabilities, see hopsim/factory.h),
 * HS_EPERM (attr->quota above the caller's limits, an initial capability
 * without HS_CAP_GRANT, privileged asked by an unprivileged caller), HS_EBADCAP (an initial capability), HS_EINVAL
 * also for ncaps beyond HS_SPAWN_CAPS_MAX, caps NULL, or initial
 * capabilities outside the run; HS_ENOMEM.  On error nothing is created.
 */
hs_status hs_proc_spawn(const char *name, hs_entry_fn entry, void *arg,
                        const hs_proc_attr *attr, hs_pid_t *pid);

/* End the calling process with the given status: every thread of it ends.
 * Must be called from a simulated thread; does not return. */
HS_NORETURN void hs_proc_exit(int status);

/*
 * Wait until the child process pid has ended, then reap it and store its
 * exit status in *status (if status is not NULL).  timeout is HS_NOWAIT,
 * a duration, or HS_NEVER (see time.h).
 * Errors: HS_ESTATE (not in a simulated thread), HS_EINVAL (bad timeout),
 * HS_ESRCH (no such process), HS_ENOTCHILD (not a child of the caller),
 * HS_EJOINED (another thread is already waiting for it, or was woken by
 * its end and has not yet reaped it), HS_ETIMEOUT.
 */
hs_status hs_proc_wait(hs_pid_t pid, hs_time_t timeout, int *status);

/* The process the calling thread is in: its own, or the one it visits
 * inside a hop handler.  0 outside a simulated thread.  The calls that act
 * on "the caller's process" (spawn, wait, exit, thread create and join,
 * ports) all mean this one. */
hs_pid_t hs_proc_self(void);

/* Whether process pid (0: the caller's) is a core server: *out 1 or 0.
 * Errors: HS_EINVAL (out NULL), HS_ESTATE, HS_ESRCH. */
hs_status hs_proc_privileged(hs_pid_t pid, int *out);

/* Copy the name of process pid into buf (at most len bytes, always NUL
 * terminated).  Errors: HS_EINVAL (buf NULL or len 0), HS_ESTATE,
 * HS_ESRCH. */
hs_status hs_proc_name(hs_pid_t pid, char *buf, size_t len);

HS_END_DECLS

#endif
