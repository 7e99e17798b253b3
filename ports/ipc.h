/*
 * ports/ipc.h - synchronous IPC: what the rest of the kernel calls.
 */
#ifndef HOPSIM_PORTS_IPC_H
#define HOPSIM_PORTS_IPC_H

#include <stdint.h>

#include "hopsim/ipc.h"

struct thread;

/* Whether a message tag is valid: words and items fit the message
 * registers; reserved bits and flags (which only the kernel sets) are 0.
 * Inline: every send and reply asks. */
static inline int ipc_tag_valid(uint64_t tag)
{
    return hs_tag_words(tag) + 2 * hs_tag_items(tag) <= HS_MR_COUNT &&
           (tag & 0xffffc080u) == 0;
}

/* Set up the IPC state of a new thread. */
void ipc_thread_init(struct thread *t);

/* Whether t is blocked in an open wait (hs_ipc_wait, the wait of
 * hs_ipc_reply_wait), where a bound IRQ may wake it. */
int ipc_open_waiting(const struct thread *t);

/* Wake t from its open wait with the bits of the IRQ bound with label. */
void ipc_irq_deliver(struct thread *t, uint64_t bits, uint64_t label);

/* Thread t is ending: its senders and its caller (if it holds a reply
 * capability) wake with HS_EPARTNER, and its gates go. */
void ipc_thread_free(struct thread *t);

extern const struct kobj_type ipc_type;

#endif
