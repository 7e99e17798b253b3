/*
 * hopsim/ipc.h - synchronous IPC between threads through gates (L4 style).
 *
 * A gate is bound to one receiver thread.  Whoever holds a capability to
 * it with HS_CAP_SEND may send; only the bound thread receives, and it
 * learns the label of the capability used, never the sender.  Channels are
 * one-way: a receiver answers a call through the implicit reply capability
 * the kernel gives it, valid until it replies or starts its next wait.
 *
 * The message is the caller's UTCB: hs_utcb()->tag says how many message
 * registers (words, 0..64) it carries, and that many of mr[] are copied
 * directly into the receiver's mr[] (up to 8 words, 64 bytes, take the
 * fast path; nothing is allocated either way).  Thread control registers
 * are never copied.
 *
 * Every operation takes timeouts: HS_NOWAIT, a duration, or HS_NEVER.  A
 * call has two: the send timeout, and the receive timeout, which starts
 * when the send completes.  When an operation fails, hs_utcb()->phase
 * says whether the send (HS_PHASE_SEND) or the receive (HS_PHASE_RECV)
 * failed, and the status says why: HS_ETIMEOUT, HS_EPARTNER (the partner
 * thread ended), HS_EPERM (no right), HS_EBADCAP, ...
 *
 * Blocked senders are served by priority, FIFO within a priority.  A call
 * to a waiting receiver switches straight to it, and the receiver runs at
 * the caller's priority (if higher) until it replies or waits again.
 */
#ifndef HOPSIM_IPC_H
#define HOPSIM_IPC_H

#include <stdint.h>

#include "cap.h"
#include "status.h"
#include "thread.h"
#include "time.h"
#include "utcb.h"

/* The message tag:  bits 0..6 words (0..64), 8..13 typed items, 16..31
 * flags (set only by the kernel: a sender's must be 0), 32..63 label, the
 * protocol chosen by the sender and delivered as is.  Other bits are 0. */
#define HS_TAG(label, words) \
    (((uint64_t)(uint32_t)(label) << 32) | ((uint64_t)(words) & 0x7f))
#define HS_TAG_ITEMS(label, words, items) \
    (HS_TAG(label, words) | (((uint64_t)(items) & 0x3f) << 8))

/* Flag of a received message that no thread sent: the bits of an IRQ
 * object bound to the receiver (hopsim/irq.h), in mr[0]; the label is the
 * one given to hs_irq_bind(). */
#define HS_TAG_IRQ ((uint64_t)1 << 16)

/*
 * Typed items.  A message of w words and n items carries its items after
 * the words, two registers each: item i is mr[w + 2i] (type and rights)
 * and mr[w + 2i + 1] (the value); w + 2n must not exceed 64.  The one type
 * so far is a capability:
 *
 *   mr[w + 2i]     = HS_ITEM(HS_ITEM_CAP, rights)
 *   mr[w + 2i + 1] = a capability of the sender, with HS_CAP_GRANT and at
 *                    least the rights passed on
 *
 * The receiver states in br[HS_BR_CAPS] how many capabilities it takes
 * (see hopsim/utcb.h).  When the message lands, each item becomes a new
 * capability in the receiver's space, derived from the sender's (same
 * object and label, the rights passed; revoking or deleting the sender's
 * capability stops it), and the receiver's mr[w + 2i + 1] holds its local
 * name.  If the receiver takes fewer capabilities than the message
 * carries, the message does not land: the sender fails with HS_EMSGCUT
 * (phase SEND) and the receiver goes on waiting; the same holds for
 * HS_EQUOTA when the receiver's process may not hold more capabilities.
 */
#define HS_ITEM_CAP 1u
#define HS_ITEM(type, rights) \
    ((uint64_t)((type) & 0xffu) | ((uint64_t)((rights) & 0xfu) << 8))
static inline unsigned hs_item_type(uint64_t w)
{
    return (unsigned)(w & 0xff);
}
static inline unsigned hs_item_rights(uint64_t w)
{
    return (unsigned)((w >> 8) & 0xf);
}
static inline unsigned hs_tag_words(uint64_t tag)
{
    return (unsigned)(tag & 0x7f);
}
static inline unsigned hs_tag_items(uint64_t tag)
{
    return (unsigned)((tag >> 8) & 0x3f);
}
static inline uint32_t hs_tag_label(uint64_t tag)
{
    return (uint32_t)(tag >> 32);
}

/* Create a gate bound to thread receiver (0: the caller), which must be
 * in the caller's process; *cap has every right and the given label.
 * Errors: HS_ESTATE, HS_EINVAL (cap NULL), HS_ESRCH (no such thread),
 * HS_EPERM (thread of another process), HS_ELIMIT, HS_EQUOTA (gates or caps), HS_ENOMEM. */
hs_status hs_gate_create(hs_tid_t receiver, uint64_t label, hs_cap_t *cap);

/* Send the UTCB message through gate; blocks until the receiver takes it.
 * Errors (phase SEND): HS_ESTATE, HS_EINVAL (bad timeout, words + 2 *
 * items > 64, flags or reserved bits set, a malformed item), HS_EBADCAP
 * (the gate, or a capability item), HS_EPERM (no HS_CAP_SEND; an item
 * without HS_CAP_GRANT or passing rights its capability lacks),
 * HS_ETIMEOUT, HS_EPARTNER, HS_ECANCELED, and for messages with items
 * HS_EMSGCUT, HS_EQUOTA, HS_ELIMIT, HS_ENOMEM (see "Typed items"). */
hs_status hs_ipc_send(hs_cap_t gate, hs_time_t timeout);

/* Send, then wait for the reply (which lands in the UTCB).  Errors as
 * hs_ipc_send (phase SEND), then HS_ETIMEOUT or HS_EPARTNER with phase
 * RECV. */
hs_status hs_ipc_call(hs_cap_t gate, hs_time_t send_timeout,
                      hs_time_t recv_timeout);

/* Closed wait: receive a message sent through gate only (which must be
 * bound to the caller and carry HS_CAP_RECV); *label (if not NULL) gets
 * the label of the sender's capability.  With gate HS_CAP_NIL, receive
 * from nobody: sleep for the timeout and return HS_ETIMEOUT.
 * Starting a wait ends any reply capability the caller held.  Errors
 * (phase RECV): HS_ESTATE, HS_EINVAL, HS_EBADCAP, HS_EPERM (not bound to
 * the caller, or no receive right), HS_ETIMEOUT. */
hs_status hs_ipc_receive(hs_cap_t gate, hs_time_t timeout, uint64_t *label);

/* Open wait: receive from any gate bound to the caller. */
hs_status hs_ipc_wait(hs_time_t timeout, uint64_t *label);

/* Answer the call last received, through the implicit reply capability;
 * never blocks.  The reply may carry typed items, which land in the
 * caller's space as for a send.  Errors (phase SEND): HS_ESTATE,
 * HS_ENOREPLY (no call to answer: never received one, already replied,
 * or a wait started since), HS_ESTALE (the caller stopped waiting: it
 * timed out, was cancelled or ended) -- these spend the reply capability;
 * and errors of the message itself, which keep it so that a corrected
 * reply may follow: HS_EINVAL (bad tag or item), HS_EBADCAP, HS_EPERM,
 * HS_EMSGCUT, HS_EQUOTA, HS_ELIMIT, HS_ENOMEM. */
hs_status hs_ipc_reply(void);

/* Reply, then open wait.  If the reply fails, returns its error (phase
 * SEND) without waiting. */
hs_status hs_ipc_reply_wait(hs_time_t timeout, uint64_t *label);

/* Cancel the IPC operation thread (of the caller's process) is blocked
 * in: a send, a receive or sleep, the reply wait of a call, or an IRQ
 * wait.  It returns HS_ECANCELED, its UTCB phase saying which half was
 * cancelled; a reply to a cancelled call then fails with HS_ESTALE.
 * Errors: HS_ESTATE (not in a simulated thread, or thread not blocked in
 * IPC), HS_ESRCH (no such thread), HS_EPERM (a thread of another
 * process). */
hs_status hs_ipc_cancel(hs_tid_t thread);

#endif
