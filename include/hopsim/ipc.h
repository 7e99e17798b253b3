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

/* The message tag:  bits 0..6 words (0..64), 8..13 typed items (none are
 * defined yet: must be 0), 16..31 flags (none yet: 0), 32..63 label, the
 * protocol chosen by the sender and delivered as is. */
#define HS_TAG(label, words) \
    (((uint64_t)(uint32_t)(label) << 32) | ((uint64_t)(words) & 0x7f))
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
 * HS_EPERM (thread of another process), HS_ELIMIT, HS_ENOMEM. */
hs_status hs_gate_create(hs_tid_t receiver, uint64_t label, hs_cap_t *cap);

/* Send the UTCB message through gate; blocks until the receiver takes it.
 * Errors (phase SEND): HS_ESTATE, HS_EINVAL (bad timeout, words > 64,
 * items or flags set), HS_EBADCAP, HS_EPERM (no HS_CAP_SEND),
 * HS_ETIMEOUT, HS_EPARTNER. */
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
 * never blocks.  Errors (phase SEND): HS_ESTATE, HS_EINVAL (bad tag),
 * HS_ENOREPLY (no call to answer: never received one, already replied,
 * or a wait started since), HS_ESTALE (the caller stopped waiting: it
 * timed out or ended).  The reply capability is spent either way. */
hs_status hs_ipc_reply(void);

/* Reply, then open wait.  If the reply fails, returns its error (phase
 * SEND) without waiting. */
hs_status hs_ipc_reply_wait(hs_time_t timeout, uint64_t *label);

#endif
