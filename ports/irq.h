/*
 * ports/irq.h - the IRQ object: a word of pending bits (hopsim/irq.h).
 *
 * An IRQ belongs to the process that made it and goes with it.  Threads
 * waiting in hs_irq_wait() queue on it in arrival order; a bound IRQ is
 * on its thread's `irqs` list, where the open IPC wait (ports/ipc.c)
 * looks for pending bits.
 */
#ifndef HOPSIM_PORTS_IRQ_H
#define HOPSIM_PORTS_IRQ_H

#include <stdint.h>

#include "kern/list.h"
#include "kern/pool.h"

struct proc;
struct thread;

struct irq {
    struct kobj obj;
    struct proc *owner;
    struct list owner_link;     /* in owner->irqs */
    uint64_t bits;              /* pending */
    uint64_t signals, takes;    /* statistics (hs_irq_info) */
    struct list waiters;        /* threads in hs_irq_wait(), FIFO */
    struct thread *bound;       /* or NULL */
    uint64_t bound_label;
    struct list bound_link;     /* in bound->irqs */
};

struct irq *irq_lookup(uint64_t h);

/* Pending bits of an IRQ bound to t, taken (cleared): 1 and *bits,
 * *label set; 0 if none is pending. */
int irq_take_bound(struct thread *t, uint64_t *bits, uint64_t *label);

/* Whether an IRQ bound to t has bits pending (irq_take_bound() would
 * take them). */
int irq_bound_pending(const struct thread *t);

/* t ends: the IRQs bound to it are unbound. */
void irq_thread_end(struct thread *t);

/* p ends: its IRQs go, and their waiters wake with HS_EPARTNER. */
void irq_proc_free(struct proc *p);

extern const struct kobj_type irq_type;

#endif
