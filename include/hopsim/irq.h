/*
 * hopsim/irq.h - IRQ objects: asynchronous notification words (L4 style).
 *
 * An IRQ object holds a 64-bit word of pending bits.  hs_irq_signal() ORs
 * bits into it and never blocks; hs_irq_wait() blocks until some bit is
 * set, then returns every pending bit and clears them; hs_irq_poll() does
 * the same without blocking.  Signals accumulate: bits signalled while
 * nobody waits stay pending, so none is lost under a burst (the same bit
 * signalled twice before a wait is seen once: the word is a set, not a
 * counter; hs_irq_info() counts the signals).
 *
 * An IRQ object can be bound to one thread with a label.  Then only that
 * thread receives from it, either with hs_irq_wait() or in an open IPC
 * wait (hs_ipc_wait, hs_ipc_reply_wait): pending bits wake that wait with
 * a message no thread sent, whose tag has HS_TAG_IRQ set and one word,
 * mr[0] = the bits (now cleared), and whose label is the bound label, so
 * the receiver tells it from a gate message.  When an open wait finds both
 * pending bits and queued senders, the bits come first.  A closed wait
 * (hs_ipc_recv on one gate) is not woken by an IRQ.
 *
 * Capabilities: HS_CAP_SEND to signal, HS_CAP_RECV to wait, poll and
 * bind.  An IRQ object belongs to the process that created it (counted in
 * its factory as HS_RES_IRQS) and goes with hs_irq_destroy() or when that
 * process ends: its
 * capabilities become stale and threads waiting on it wake with
 * HS_EPARTNER.
 */
#ifndef HOPSIM_IRQ_H
#define HOPSIM_IRQ_H

#include <stdint.h>

#include "api.h"
#include "cap.h"
#include "status.h"
#include "thread.h"
#include "time.h"

HS_BEGIN_DECLS

/* Create an IRQ object with no bits pending; *cap has every right and
 * label 0.  Errors: HS_ESTATE, HS_EINVAL (cap NULL), HS_EQUOTA (irqs or
 * caps), HS_ELIMIT, HS_ENOMEM. */
hs_status hs_irq_create(hs_cap_t *cap);

/* OR bits (not 0) into the object's word, waking its waiter if any.
 * Errors: HS_ESTATE, HS_EINVAL (bits 0), HS_EBADCAP, HS_EPERM (not an
 * IRQ, or no HS_CAP_SEND). */
hs_status hs_irq_signal(hs_cap_t irq, uint64_t bits);

/* Wait until some bit is pending, then take them all: *bits (if not NULL)
 * gets them and the word is cleared.  timeout: HS_NOWAIT, a duration or
 * HS_NEVER.  Threads waiting on one unbound object are served in the
 * order they came.  Errors: HS_ESTATE, HS_EINVAL (bad timeout),
 * HS_EBADCAP, HS_EPERM (not an IRQ, no HS_CAP_RECV, or bound to another
 * thread), HS_ETIMEOUT, HS_ECANCELED, HS_EPARTNER (the object went).  On an
 * error hs_utcb()->phase is HS_PHASE_RECV. */
hs_status hs_irq_wait(hs_cap_t irq, hs_time_t timeout, uint64_t *bits);

/* Take the pending bits without blocking: *bits gets them (0 if none) and
 * the word is cleared.  Errors: HS_ESTATE, HS_EINVAL (bits NULL),
 * HS_EBADCAP, HS_EPERM (as hs_irq_wait). */
hs_status hs_irq_poll(hs_cap_t irq, uint64_t *bits);

/* Bind the object to thread (0: the caller), which must be of the
 * caller's process, with a label for its open waits; a new binding
 * replaces the old one.  With thread HS_IRQ_UNBIND, unbind it.  Errors:
 * HS_EBADCAP, HS_EPERM (not an IRQ, no HS_CAP_RECV, or a thread of
 * another process), HS_ESRCH (no such thread), HS_ESTATE (not in a
 * simulated thread, or threads wait in hs_irq_wait on the object: binding
 * would strand them). */
#define HS_IRQ_UNBIND ((hs_tid_t)-1)
hs_status hs_irq_bind(hs_cap_t irq, hs_tid_t thread, uint64_t label);

/* Destroy the object (the caller's process must be the one that made it;
 * needs HS_CAP_RECV): threads waiting on it wake with HS_EPARTNER, every
 * capability to it goes stale, and its process's HS_RES_IRQS count drops.
 * Errors: HS_ESTATE, HS_EBADCAP, HS_EPERM. */
hs_status hs_irq_destroy(hs_cap_t irq);

typedef struct hs_irq_info {
    uint64_t pending;      /* bits set now */
    uint64_t signals;      /* hs_irq_signal() calls that succeeded */
    uint64_t takes;        /* waits, polls and open waits that took bits */
    hs_tid_t bound;        /* thread it is bound to, 0 if none */
} hs_irq_info;

/* State of the object (needs HS_CAP_RECV).  Errors: HS_ESTATE, HS_EINVAL
 * (info NULL), HS_EBADCAP, HS_EPERM. */
hs_status hs_irq_info_get(hs_cap_t irq, hs_irq_info *info);

HS_END_DECLS

#endif
