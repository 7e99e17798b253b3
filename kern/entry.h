/*
 * kern/entry.h - kernel entry and exit, and the state they read.
 *
 * Every public call made from a simulated thread brackets its work with
 * kernel_enter() and kernel_leave(): enter takes the kernel lock and finds
 * the calling thread; leave is the scheduling point and drops the lock.
 * Each is one flags test on the fast path (kern.enter_work,
 * kern.leave_work): the rare cases (no thread here, the run ending, a
 * thread killed, unwinding a hop or with notifications queued, work for
 * the scheduler or the memory checks) go to the slow paths, which the
 * kernel above the base provides (run/kernel.c).  A run on several CPUs
 * always takes them: they take and drop the lock, which one CPU does
 * not need.
 */
#ifndef HOPSIM_KERN_ENTRY_H
#define HOPSIM_KERN_ENTRY_H

#include <stdint.h>

#include "hopsim/sim.h"
#include "sim/platform.h"

struct thread;

/* A thread's attention bits (struct thread's attn): work for its next
 * kernel entry or exit.  Set and cleared only with kattn_set() and
 * kattn_clear(), which count the threads that have any. */
#define KATTN_KILLED  0x1u  /* its process ended while it ran elsewhere:
                               it ends at its next kernel entry */
#define KATTN_UNWIND  0x2u  /* a process it visits ended: it unwinds */
#define KATTN_NOTIFY  0x4u  /* notifications queued: delivered at exit */

/* Enter work of the whole kernel (kern.enter_work): why a kernel entry
 * cannot go straight on. */
#define ENTER_ENDING    0x1u  /* the run is over (kern_end()) */
#define ENTER_ATTN      0x2u  /* some thread has attention bits */
#define ENTER_SHARED    0x4u  /* several CPUs: take the lock */

/* Leave work of the whole kernel (kern.leave_work): why a kernel exit
 * cannot just unlock. */
#define LEAVE_MEM_CHECK 0x1u  /* cfg.mem_check: verify everything */
#define LEAVE_MEM_PT    0x2u  /* page-table nodes reserved by checks, or
                                 spares to trim */
#define LEAVE_RUNQ      0x4u  /* a thread is runnable: a scheduling point
                                 (set and cleared with kern.rq_bits) */
#define LEAVE_ATTN      0x8u  /* some thread has attention bits */
#define LEAVE_SHARED    0x10u /* several CPUs: drop the lock */
#define LEAVE_NO_DIRECT 0x20u /* the run's switch cannot end a public
                                 call (plat_ctx_direct()): set for the
                                 whole run, so that a clear leave_work
                                 also says that an IPC hand-off or a
                                 hop may switch directly (core/sched.h,
                                 core/level.h) */
#define LEAVE_MEM       (LEAVE_MEM_CHECK | LEAVE_MEM_PT)

struct kcpu {
    struct thread *current;     /* NULL while the CPU loop runs */
    plat_context *dead_ctx;     /* abandoned context to free after the
                                   switch away from it */
    struct thread *dying;       /* ended thread, freed with dead_ctx if
                                   nobody holds it any more */
};

struct kern_state {
    int running;                /* inside hs_sim_run() */
    int ending;                 /* the run is over; CPUs leave their loop */
    uint32_t rq_bits;           /* bit p set: a thread of priority p is
                                   runnable (core/sched.c) */
    unsigned enter_work;        /* ENTER_*: read before the lock is
                                   taken, so accessed atomically
                                   (kenter_work_set()) */
    unsigned leave_work;        /* LEAVE_* */
    unsigned attn_threads;      /* threads with attention bits */
    unsigned to_free;           /* dead_ctx and dying slots set, on
                                   every CPU (sched_after_switch()) */
    struct kcpu cpu[HS_CPUS_MAX];
};

extern struct kern_state kern;

/* Set or clear bits of kern.enter_work (lock held).  Every access is
 * atomic: kernel_enter() reads it before it takes the lock.  Relaxed is
 * enough: with several CPUs ENTER_SHARED is set for the whole run, so the
 * read only decides to take the slow path, which reads again locked. */
static inline void kenter_work_set(unsigned bits, int on)
{
    unsigned w = __atomic_load_n(&kern.enter_work, __ATOMIC_RELAXED);
    __atomic_store_n(&kern.enter_work, on ? w | bits : w & ~bits,
                     __ATOMIC_RELAXED);
}

static inline void kattn_set(unsigned *attn, unsigned bits)
{
    if (!*attn && !kern.attn_threads++) {
        kenter_work_set(ENTER_ATTN, 1);
        kern.leave_work |= LEAVE_ATTN;
    }
    *attn |= bits;
}

static inline void kattn_clear(unsigned *attn, unsigned bits)
{
    if (!(*attn & bits))
        return;
    *attn &= ~bits;
    if (!*attn && !--kern.attn_threads) {
        kenter_work_set(ENTER_ATTN, 0);
        kern.leave_work &= ~LEAVE_ATTN;
    }
}

/* The run is over: CPUs leave their loop, threads entering the kernel
 * leave their context. */
static inline void kern_end(void)
{
    kern.ending = 1;
    kenter_work_set(ENTER_ENDING, 1);
}

/* kernel_enter() outside a simulated thread: returns NULL (the caller
 * returns HS_ESTATE); the first such call says which on the console. */
struct thread *kernel_enter_outside(void);

/* The rare cases of kernel_enter() on CPU c, and every entry on several
 * CPUs: takes the lock, then handles no thread here, the run ending, some
 * thread with attention bits (the caller's are handled here). */
struct thread *kernel_enter_slow(struct kcpu *c);

/* kernel_leave() when kern.leave_work is set: memory work, the
 * scheduling point, the caller's queued notifications; then the lock is
 * dropped. */
void kernel_leave_work(struct thread *self);

/* Enter the kernel from a simulated thread: returns the caller, or NULL
 * (lock not held) when not called from a simulated thread. */
static inline struct thread *kernel_enter(void)
{
    struct kcpu *c = plat_cpu_data();
    if (!c)                         /* set only while the CPUs run */
        return kernel_enter_outside();
    struct thread *self = c->current;   /* only this CPU changes it */
    if (!self || __atomic_load_n(&kern.enter_work, __ATOMIC_RELAXED))
        return kernel_enter_slow(c);
    return self;
}

/* kernel_enter() for a path that then needs nothing at its exit either
 * (the quick paths of IPC): the caller when neither kern.enter_work nor
 * kern.leave_work is set; else NULL, and the caller takes kernel_enter()
 * instead (this one changed nothing).  Calls nothing. */
static inline struct thread *kernel_enter_quick(void)
{
    struct kcpu *c = plat_cpu_data();
    struct thread *self = c ? c->current : NULL;
    /* || and not |: with several CPUs (ENTER_SHARED) kern.leave_work
     * is another CPU's to write under the lock, and is not read. */
    if (!self || __atomic_load_n(&kern.enter_work, __ATOMIC_RELAXED) ||
        kern.leave_work)
        return NULL;
    return self;
}

/* kernel_enter() from a context that runs thread t and no other (a hop
 * handler's, whose level names its thread): t when nothing is due at
 * entry, without looking for the CPU's running thread. */
static inline struct thread *kernel_enter_as(struct thread *t)
{
    if (__atomic_load_n(&kern.enter_work, __ATOMIC_RELAXED))
        return kernel_enter_slow(plat_cpu_data());
    return t;
}

/* Leave the kernel: its work if any, and the lock.  With one CPU, nothing
 * on the run queue, no memory work and no thread needing attention, there
 * is nothing to do. */
static inline void kernel_leave(struct thread *self)
{
    if (kern.leave_work)
        kernel_leave_work(self);
}

/* The calling CPU's kernel state (called on a simulated CPU only). */
static inline struct kcpu *kernel_cpu(void)
{
    return plat_cpu_data();
}

/* The thread running on the calling CPU (lock held), or NULL. */
static inline struct thread *kernel_current(void)
{
    struct kcpu *c = plat_cpu_data();
    return c ? c->current : NULL;
}

#endif
