/*
 * hopsim/notify.h - kernel notifications: 64 handler slots per thread,
 * dispatch and return, nested notification stacks, exit watches, typed
 * messages that interrupt their receiver.
 *
 * A notification is a small message (a slot number and up to
 * HS_NOTIFY_WORDS words) that makes a thread (a "context") run a handler.
 * Dispatching it saves the thread's state -- its registers in its saved
 * context, its UTCB, its wait result and its implicit reply capability --
 * and starts the handler on a notification stack with a fresh context.
 * The handler ends with hs_notify_return(), which restores the saved state
 * exactly: the interrupted code goes on as if nothing had happened.
 *
 * Slots.  Every thread has HS_NOTIFY_SLOTS slots.  The meaning of a slot
 * belongs to the parties that use it; the kernel fixes only the three it
 * uses itself (HS_NOTIFY_EXIT, HS_NOTIFY_PAGE_FAULT, HS_NOTIFY_EXHAUSTED,
 * at the top of the range so that protocols numbering their slots from 0
 * never meet them).  A handler is installed on one thread, or with tid 0
 * on the caller's process: such a process-wide handler covers every thread
 * of the process, now and later, wherever it runs; a handler installed on
 * the thread itself takes precedence.  Any process may install handlers
 * in the kernel slots for itself or its own threads; only a core server
 * (a privileged process, hopsim/proc.h) may install in other slots, or on
 * threads of other processes.
 *
 * When a handler runs.  A queued notification runs when its thread next
 * returns from a kernel call (every hopsim call is one), before the call
 * returns to its caller: the call's results are already in place and are
 * kept.  A thread that waits (IPC, join, sleep, ...) is not interrupted:
 * its wait keeps its exact meaning, and its notifications run when the
 * wait ends, before the blocking call returns.  A thread that should react
 * to notifications while idle waits in hs_notify_wait(), which they end.
 * A handler runs in the process that installed it, never in one its
 * thread visits: a queued notification runs only while its thread is at
 * its home level (hopsim/hop.h), so one that arrives while the thread is
 * in a hop handler of another process waits in the queue until the hop
 * returns (if the thread ends first, it is dropped; HS_NOTIFY_NOW does
 * not start it early).  The synchronous kernel notifications
 * (HS_NOTIFY_PAGE_FAULT, HS_NOTIFY_EXHAUSTED) of a thread visiting
 * another process run that process's process-wide handler (tid 0), and
 * never the thread's own or its home process's.  Its words are in the
 * hs_notification it receives, which stays valid until it returns.
 *
 * Nesting.  A notification dispatched while a handler runs nests on top
 * of it.  The first level runs on the thread's preallocated notification
 * stack (cfg.stack_size bytes, made at the first dispatch and kept); each
 * further level needs a stack from the allocator action its process set
 * with hs_notify_stack_alloc_set().  Without one, a notification that
 * would nest waits in the queue until the running handler returns.
 *
 * Order.  Each thread's queue is FIFO, bounded by HS_NOTIFY_QUEUE_MAX
 * notifications sent with hs_notify_send (kernel notifications are not
 * bounded); every queued notification runs exactly once, unless its
 * thread ends first or its handler has been removed by then (then it is
 * dropped, with event "notify_drop").
 *
 * Events (cfg.event_fn, HOPSIM_LOG): notify_send (sender; a = target
 * thread, b = slot), notify_dispatch (target; a = slot, b = depth),
 * notify_return (target; a = slot, b = depth), notify_noreturn (a handler
 * returned without hs_notify_return; a = slot), notify_drop (a = slot,
 * b = why: 1 no handler, 2 thread ended), notify_decide (typed message;
 * a = type, b = 1 taken, 0 abandoned).  The JSON trace shows them as
 * instants on the thread's track.
 */
#ifndef HOPSIM_NOTIFY_H
#define HOPSIM_NOTIFY_H

#include <stddef.h>
#include <stdint.h>

#include "api.h"
#include "proc.h"
#include "status.h"
#include "thread.h"
#include "time.h"

HS_BEGIN_DECLS

#define HS_NOTIFY_SLOTS     64      /* slots 0..63 per thread */
#define HS_NOTIFY_WORDS     8       /* words a notification carries */
#define HS_NOTIFY_QUEUE_MAX 4096    /* hs_notify_send items queued on one
                                       thread at once */
#define HS_NOTIFY_TYPES_MAX 64      /* typed registrations per process */

/*
 * The kernel's slots.  Only the kernel sends them (hs_notify_send refuses
 * them with HS_EPERM), so a handler can trust their words.
 *
 * HS_NOTIFY_EXIT: a process ended.  words[0] = its pid, words[1] = its
 *   exit status.  Sent to its parent, and to every process watching it
 *   (hs_notify_watch), on the first of the process's threads that has a
 *   handler for the slot.  Default without a handler: nothing.
 * HS_NOTIFY_PAGE_FAULT: an access through the memory accessors
 *   (hopsim/mem.h) faulted.  words[0] = the address, words[1] = the access
 *   (HS_PROT_*), words[2] = the faulting thread.  Runs synchronously on
 *   the faulting thread; when the handler returns, the access is tried
 *   again.  Default without a handler: the faulting thread is killed with
 *   the reason recorded (hopsim/mem.h).
 * HS_NOTIFY_EXHAUSTED: a request for memory failed.  words[0] = what ran
 *   out (an hs_res of hopsim/factory.h: HS_RES_MEMORY for a thread's stack
 *   over its process's quota, HS_RES_MAPPED for memory mapped over it; or
 *   HS_MEM_POOL of hopsim/mem.h: the frame pool is empty), words[1] = the
 *   amount requested, words[2] = the amount in use, words[3] = the limit.
 *   Runs synchronously on the requesting thread; when the handler
 *   returns, the request is tried once more.  Default without a handler,
 *   or when the retry fails too: the request fails with its named error
 *   (HS_EQUOTA, HS_ENOFRAME).
 */
#define HS_NOTIFY_EXHAUSTED  61
#define HS_NOTIFY_PAGE_FAULT 62
#define HS_NOTIFY_EXIT       63
#define HS_NOTIFY_KERNEL_FIRST HS_NOTIFY_EXHAUSTED

/* hs_notification.slot of a typed message (hs_notify_type_send). */
#define HS_NOTIFY_TYPED HS_NOTIFY_SLOTS

/*
 * Flags of hs_notify_send.
 * HS_NOTIFY_NOW: immediate rescheduling: if the target can run (it is
 *   runnable, or waits in hs_notify_wait), it runs next, on the sender's
 *   CPU, and its handler starts at once; the sender stays runnable.  A
 *   target blocked in any other wait gets the notification when its wait
 *   ends, as without the flag.
 * HS_NOTIFY_RETURN (only with HS_NOTIFY_NOW): when the handler returns,
 *   the CPU goes straight back to the sender if it is still runnable; the
 *   target resumes its interrupted code later.
 */
#define HS_NOTIFY_NOW    0x1u
#define HS_NOTIFY_RETURN 0x2u

/* What a handler receives. */
typedef struct hs_notification {
    unsigned slot;            /* 0..63, or HS_NOTIFY_TYPED */
    uint32_t type;            /* a typed message's type; 0 otherwise */
    unsigned flags;           /* HS_NOTIFY_* as sent */
    unsigned depth;           /* nesting level: 1 for the outermost */
    hs_tid_t sender;          /* sending thread; 0: the kernel */
    hs_pid_t sender_pid;      /* its process; 0: the kernel */
    unsigned n;               /* words used */
    uint64_t words[HS_NOTIFY_WORDS];
} hs_notification;

/* A handler.  It runs on the interrupted thread, on a notification
 * stack, and must end with hs_notify_return().  One that returns instead
 * is treated as if it had called hs_notify_return() (event
 * "notify_noreturn"); the interrupted code is restored all the same. */
typedef void (*hs_notify_fn)(void *cookie, const hs_notification *n);

/*
 * Install fn (with cookie) in slot of thread tid, or with tid 0 in slot of
 * the caller's process (every thread of it, now and later, unless the
 * thread has its own).  fn NULL removes the handler.
 * Errors, nothing changed: HS_ESTATE (not in a simulated thread),
 * HS_EINVAL (slot >= HS_NOTIFY_SLOTS), HS_ESRCH (no such live thread),
 * HS_EPERM (an unprivileged caller and a slot below
 * HS_NOTIFY_KERNEL_FIRST, or a thread of another process), HS_ENOMEM.
 */
hs_status hs_notify_install(hs_tid_t tid, unsigned slot, hs_notify_fn fn,
                            void *cookie);

/*
 * Queue a notification of slot with words[0..n-1] for thread tid (which
 * may be the caller: it then runs as this call returns), with flags
 * HS_NOTIFY_NOW and HS_NOTIFY_RETURN (above).
 * Returns HS_OK once queued, or HS_ENOSTACK: queued too, but the target is
 * running a handler and its process has no allocator action, so this one
 * cannot nest: it runs after that handler returns.
 * Errors, nothing queued: HS_ESTATE, HS_EINVAL (slot >= HS_NOTIFY_SLOTS,
 * n > HS_NOTIFY_WORDS, words NULL with n > 0, unknown flags, RETURN
 * without NOW), HS_EPERM (a kernel slot), HS_ESRCH (no such thread, or it
 * has ended), HS_ENOHANDLER (nothing installed for the slot on it),
 * HS_ELIMIT (HS_NOTIFY_QUEUE_MAX queued on it), HS_ENOMEM.
 */
hs_status hs_notify_send(hs_tid_t tid, unsigned slot, const uint64_t *words,
                         unsigned n, unsigned flags);

/*
 * End the running handler: restore the state saved when it was dispatched
 * (registers, UTCB, wait result, reply capability) and go on where the
 * thread was interrupted, or, for HS_NOTIFY_RETURN, switch to the sender
 * first.  Does not return on success.  Must be called from the handler
 * itself (not from a hop it made, nor from a nested handler's caller).
 * Errors: HS_ESTATE (not in a simulated thread, or no handler of this
 * thread runs at its current hop level).
 */
hs_status hs_notify_return(void);

/*
 * Wait until a notification is queued for the calling thread, then run it
 * (and any others queued) before returning.  Returns at once if one is
 * queued already.
 * Errors: HS_ESTATE (also: the caller is in a hop handler, away from its
 * home level, where nothing would run), HS_EINVAL (bad timeout),
 * HS_ETIMEOUT.
 */
hs_status hs_notify_wait(hs_time_t timeout);

/*
 * The allocator action of the caller's process: called by the kernel,
 * with the kernel lock held (it must not call hopsim), when a
 * notification would nest at depth (2 or more) on one of the process's
 * threads.  It returns HS_OK with *stack_size set to the stack wanted
 * (HS_STACK_MIN..HS_STACK_MAX; in: the configured default), or an error
 * to refuse: the notification then stays queued.  The stack is freed when
 * that handler returns.  fn NULL removes the action.
 * Errors: HS_ESTATE.
 */
typedef hs_status (*hs_notify_stack_fn)(void *cookie, unsigned depth,
                                        size_t *stack_size);
hs_status hs_notify_stack_alloc_set(hs_notify_stack_fn fn, void *cookie);

/*
 * Watch process pid: when it ends, the caller's process gets
 * HS_NOTIFY_EXIT (as its parent does).  A process that has ended but is
 * not yet reaped fires the watch once, immediately (the handler runs as
 * this call returns, if the caller has one).  A watch fires once and is
 * gone; watches of a process that ends go with it.
 * Errors: HS_ESTATE, HS_ESRCH (no such process, or reaped),
 * HS_ENOHANDLER (no HS_NOTIFY_EXIT handler on the caller's process or
 * threads), HS_EEXIST (already watched by the caller's process),
 * HS_ENOMEM.
 */
hs_status hs_notify_watch(hs_pid_t pid);

/*
 * Typed messages (seed 003).  Register fn for messages of type sent to
 * the caller's process; the calling thread is the one they interrupt,
 * like a signal (a later registration of the same type replaces it).
 * fn NULL removes the registration.  The handler decides with
 * hs_notify_take() or hs_notify_abandon(); one that returns without
 * deciding abandons.
 * Errors: HS_ESTATE, HS_ELIMIT (HS_NOTIFY_TYPES_MAX types), HS_ENOMEM.
 */
hs_status hs_notify_type_register(uint32_t type, hs_notify_fn fn,
                                  void *cookie);

/*
 * Send a typed message to process pid and wait up to timeout for its
 * fate.  Returns HS_OK when the receiver took it.
 * Errors: HS_EABANDONED (the receiver abandoned it), HS_EPARTNER (the
 * receiving thread ended before deciding), HS_ETIMEOUT (no decision in
 * time: a message not yet delivered is withdrawn; one being handled is
 * decided unheard), and, nothing sent: HS_ESTATE, HS_EINVAL (n >
 * HS_NOTIFY_WORDS, words NULL with n > 0, bad timeout), HS_ESRCH (no
 * such live process), HS_ENOHANDLER (no registration of type),
 * HS_EDEADLK (the registered thread is the caller), HS_ELIMIT,
 * HS_ENOMEM.
 */
hs_status hs_notify_type_send(hs_pid_t pid, uint32_t type,
                              const uint64_t *words, unsigned n,
                              hs_time_t timeout);

/* From a typed message's handler: take the message, or abandon it.  The
 * sender learns the decision at once.
 * Errors: HS_ESTATE (no typed message is being handled at this level, or
 * it is decided already). */
hs_status hs_notify_take(void);
hs_status hs_notify_abandon(void);

/* The nesting depth of the calling thread's handlers (0: none runs).
 * Errors: HS_ESTATE, HS_EINVAL (depth NULL). */
hs_status hs_notify_depth(unsigned *depth);

HS_END_DECLS

#endif
