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
 * registers (words, 0..64) it carries, and exactly that many of mr[] --
 * the words, then two per typed item -- are copied directly into the
 * receiver's mr[] (up to 8 registers, 64 bytes, take the fast path;
 * nothing is allocated either way).  The receiver's registers past the
 * message keep the values they had: a 0-word message changes none of
 * them.  The same holds for a reply, and for an IRQ's message (one
 * word).  Thread control registers are never copied.
 *
 * Every operation takes timeouts: HS_NOWAIT, a duration, or HS_NEVER.  A
 * call has two: the send timeout, and the receive timeout, which starts
 * when the send completes.  When an operation fails, hs_utcb()->phase
 * says whether the send (HS_PHASE_SEND) or the receive (HS_PHASE_RECV)
 * failed, and the status says why: HS_ETIMEOUT, HS_EPARTNER (the partner
 * thread ended), HS_EPERM (no right), HS_EBADCAP, ...
 *
 * Blocked senders are served by priority, FIFO within a priority.  A call
 * to a waiting receiver switches straight to it.  Priority inheritance:
 * a receiver runs at the highest of its own priority, that of the caller
 * whose reply capability it holds (until it replies or waits again), and
 * that of the first thread queued to send to it -- so a high-priority
 * caller queued on a busy low-priority server lends it its priority at
 * once.  A receiver that is itself queued to send passes what it was lent
 * on to its own receiver, along the chain.  hs_thread_set_priority() sets
 * the thread's own priority; what it was lent comes back at its next
 * receive, reply or queue change.
 */
#ifndef HOPSIM_IPC_H
#define HOPSIM_IPC_H

#include <stdint.h>

#include "api.h"
#include "cap.h"
#include "mem.h"
#include "status.h"
#include "thread.h"
#include "time.h"
#include "utcb.h"

HS_BEGIN_DECLS

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
 * and mr[w + 2i + 1] (the value); w + 2n must not exceed 64.  Items of
 * both types may be mixed in one message.
 *
 * A capability:
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
 *
 * A memory transfer (hopsim/mem.h):
 *
 *   mr[w + 2i]     = HS_ITEM_MEM_WORD(mode, prot)
 *   mr[w + 2i + 1] = HS_FPAGE(base, log2size): a range of the address
 *                    space the sender is in, every page of it mapped
 *
 * mode is HS_XFER_MOVE, _SHARE, _COPY or _COW; prot (HS_PROT_*, not 0) is
 * what the receiver gets, and may not exceed what the sender holds on
 * any page of the range (a copy-on-write page counts as writable for a
 * move or a copy-on-write transfer).  HS_XFER_COW needs HS_PROT_READ.
 *
 * The receiver names a window of its own address space in
 * br[HS_BR_MEM], a flexpage, or 0 to decline memory.  The memory items
 * land in order, each at the next address of the window aligned to its
 * own size, and the receiver's mr[w + 2i + 1] then holds the flexpage
 * where the item landed:
 *
 *   move   the receiver maps the sender's frames, with the sender's page
 *          sizes where the range holds whole pages, then the sender's
 *          range is unmapped (a large page the range cuts is split);
 *   share  the receiver maps the sender's frames: one more reference per
 *          page at its size (a 1G page is one count); both sides carry
 *          HS_MEM_SHARED (on the sender, the whole page holding it);
 *   copy   the receiver gets fresh frames holding a copy, of the largest
 *          page size that the range's size allows;
 *   cow    both sides map the same frames read-only with HS_MEM_COW,
 *          their max_prot keeping write: the first write of either side
 *          to a page faults and gets a private 4K copy.
 *
 * Moving and sharing change page-table entries only: no page is copied.
 * With br[HS_BR_MEM] == 0 the message still lands: each memory item is
 * declined (the receiver's mr[w + 2i + 1] reads 0), a move leaves the
 * sender's mapping where it was, the other modes do nothing.  If the
 * window is malformed or too small for the items, or a page where an item
 * would land is mapped, the message does not land: the sender fails with
 * HS_EMSGCUT or HS_EEXIST (phase SEND) and the receiver goes on waiting,
 * as for capabilities; likewise HS_EQUOTA (the receiver's HS_RES_MAPPED),
 * HS_ENOFRAME (frames for copies) and HS_ENOMEM (page tables of either
 * side).  The sender's own mistakes fail the send before it waits, and
 * again when the message is taken if its mappings changed meanwhile:
 * HS_EINVAL (a malformed item or flexpage, the ranges of two memory items
 * overlap), HS_ERANGE (the range leaves the 48-bit space), HS_ENOMAP (a
 * page of the range is not mapped), HS_EPERM (prot above what the sender
 * holds, a direct page, or a special page moved or made copy-on-write).
 * Whatever fails, no mapping, count or frame of either side changed.
 *
 * A hop (hopsim/hop.h) offers memory items with HS_HOP_ITEMS, and the
 * handler takes them with hs_hop_accept().
 */
#define HS_ITEM_CAP 1u
#define HS_ITEM_MEM 2u
#define HS_ITEM(type, rights) \
    ((uint64_t)((type) & 0xffu) | ((uint64_t)((rights) & 0xfu) << 8))
#define HS_ITEM_MEM_WORD(mode, prot) \
    (HS_ITEM(HS_ITEM_MEM, prot) | ((uint64_t)((mode) & 0xfu) << 12))
static inline unsigned hs_item_type(uint64_t w)
{
    return (unsigned)(w & 0xff);
}
static inline unsigned hs_item_rights(uint64_t w)
{
    return (unsigned)((w >> 8) & 0xf);
}
/* The protection of a memory item (its rights field). */
static inline unsigned hs_item_prot(uint64_t w)
{
    return hs_item_rights(w);
}
/* The HS_XFER_* mode of a memory item. */
static inline unsigned hs_item_mode(uint64_t w)
{
    return (unsigned)((w >> 12) & 0xf);
}

/*
 * Flexpages: a naturally aligned range of 2^log2size bytes (12 <= log2size
 * <= 47) at base, in one word:
 *
 *    63                                12 11      6 5        0
 *   +------------------------------------+---------+----------+
 *   |  base (aligned to 2^log2size)      |    0    | log2size |
 *   +------------------------------------+---------+----------+
 *
 * 0 is no flexpage.  HS_FPAGE does not mask base: a base that is not
 * aligned leaves bits in the low twelve, and the flexpage is refused as
 * malformed (HS_EINVAL) rather than silently moved.  A well-formed
 * flexpage that reaches past 2^48 is refused with HS_ERANGE.
 */
#define HS_FPAGE(base, log2size) \
    ((uint64_t)(base) | ((uint64_t)(log2size) & 0x3fu))
#define HS_FPAGE_MIN_LOG2 12
#define HS_FPAGE_MAX_LOG2 47
static inline uint64_t hs_fpage_base(uint64_t f)
{
    return f & ~(uint64_t)0xfff;
}
static inline unsigned hs_fpage_log2(uint64_t f)
{
    return (unsigned)(f & 0x3f);
}
/* Its size in bytes, or 0 if its size field is out of range. */
static inline uint64_t hs_fpage_size(uint64_t f)
{
    unsigned l = hs_fpage_log2(f);
    return l >= HS_FPAGE_MIN_LOG2 && l <= HS_FPAGE_MAX_LOG2
           ? (uint64_t)1 << l : 0;
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
 * HS_EDEADLK (the gate is bound to the caller itself, which cannot
 * receive while it sends, and the timeout is HS_NEVER: returned at once,
 * nothing changed; a finite timeout expires with HS_ETIMEOUT),
 * HS_ETIMEOUT, HS_EPARTNER, HS_ECANCELED, and for messages with items
 * HS_EMSGCUT, HS_EQUOTA, HS_ELIMIT, HS_ENOMEM, and for memory items
 * HS_ERANGE, HS_ENOMAP, HS_EEXIST, HS_ENOFRAME (see "Typed items"). */
hs_status hs_ipc_send(hs_cap_t gate, hs_time_t timeout);

/* Send, then wait for the reply (which lands in the UTCB).  Errors as
 * hs_ipc_send (phase SEND; HS_EDEADLK for a send timeout of HS_NEVER on
 * a gate bound to the caller), then HS_ETIMEOUT or HS_EPARTNER with phase
 * RECV.  HS_EPARTNER: the thread that took the message ended without
 * replying, also when it had received another call since (which ends
 * this call's reply capability, so only that end or the timeout can
 * finish the wait).
 *
 * Fast path: a call of registers only (at most 8 words, no items, so a
 * tag whose low 32 bits are at most 8) to a receiver already waiting for
 * it, with a receive timeout other than HS_NOWAIT, is checked in one
 * pass and hands the CPU straight over; so is hs_ipc_reply_wait() of
 * such a message to a caller still waiting.  With tracing off, no timer
 * to arm or cancel (the reply awaited and the next wait for ever, the
 * thread handed the CPU not waiting with a timeout) and no priority lent
 * to the server, it is quicker still.  It changes nothing but the
 * speed: the results and the events are those of the general path.
 *
 * Direct hand-offs: when a call or a reply-and-wait hands the CPU over
 * (by either path) on one CPU with nothing else runnable, no memory
 * checks (mem_check) and the fast switch, the switch ends the call: the
 * thread it resumes returns straight to the code that called it, as a
 * kernel's fast path returns to user space, instead of through the
 * kernel (which costs a mispredicted return each way).  Nothing else
 * changes; a debugger shows a thread waiting after such a hand-off
 * stopped in the function that made the call, just after it, where
 * otherwise it shows hs_ipc_call() or hs_ipc_reply_wait() on top.  The
 * run's summary counts them (hs_sim_summary.direct_switches). */
hs_status hs_ipc_call(hs_cap_t gate, hs_time_t send_timeout,
                      hs_time_t recv_timeout);

/* Closed wait: receive a message sent through gate only (which must be
 * bound to the caller and carry HS_CAP_RECV); *label (if not NULL) gets
 * the label of the sender's capability.  With gate HS_CAP_NIL, receive
 * from nobody: sleep for the timeout and return HS_ETIMEOUT.
 * Starting a wait ends any reply capability the caller held.  Errors
 * (phase RECV): HS_ESTATE, HS_EINVAL, HS_EBADCAP, HS_EPERM (not bound to
 * the caller, or no receive right), HS_ETIMEOUT. */
hs_status hs_ipc_recv(hs_cap_t gate, hs_time_t timeout, uint64_t *label);

/* Serve: an open wait with no timeout (HS_NEVER) during which the caller
 * counts as a server, as in hs_proc_serve(): when every thread left is
 * serving, the run ends with HS_OK instead of HS_EDEADLK.  A server loop
 * is  for (;;) { hs_ipc_serve(&label); ...; hs_ipc_reply(); }.  Errors
 * as hs_ipc_wait(). */
hs_status hs_ipc_serve(uint64_t *label);

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
 * HS_EMSGCUT, HS_EQUOTA, HS_ELIMIT, HS_ENOMEM, HS_ERANGE, HS_ENOMAP,
 * HS_EEXIST, HS_ENOFRAME.  Memory items of a reply land in the window of
 * the caller's br[HS_BR_MEM]. */
hs_status hs_ipc_reply(void);

/* Reply, then open wait.  If the reply fails, returns its error (phase
 * SEND) without waiting. */
hs_status hs_ipc_reply_wait(hs_time_t timeout, uint64_t *label);

/*
 * Deferred replies.  A server that cannot answer a call at once (a lock
 * held elsewhere, a device that has not interrupted yet, a name not yet
 * registered) keeps it: hs_ipc_reply_keep() turns the implicit reply
 * capability of the call just received into a kept reply, a handle of
 * the server's process.  The caller stays blocked in hs_ipc_call(), its
 * receive timeout running, and the server goes on receiving.  Later any
 * thread of that process answers with hs_ipc_reply_to(), exactly once;
 * the message goes as a reply's would (typed items included).
 *
 * A kept reply whose caller timed out, was cancelled (hs_ipc_cancel) or
 * ended is stale: answering it is HS_ESTALE, and frees it.  If the
 * server's process ends while it holds kept replies, their callers wake
 * with HS_EPARTNER (phase RECV).  A server thread may end while its
 * process keeps its calls: another thread answers them.  The one-shot
 * implicit reply (hs_ipc_reply) is unchanged.
 */
typedef uint64_t hs_reply_t;

/* Keep the call last received for a later answer; *reply gets its handle.
 * Ends the caller's implicit reply capability (and the priority it lent).
 * Errors: HS_ESTATE, HS_EINVAL (reply NULL), HS_ENOREPLY (no call to
 * keep: none received, or already answered or kept), HS_ESTALE (its
 * caller timed out, was cancelled or ended: the capability is spent),
 * HS_ENOMEM. */
hs_status hs_ipc_reply_keep(hs_reply_t *reply);

/* Answer kept reply with the UTCB message; never blocks.  Errors (phase
 * SEND): HS_ESTATE, HS_EPERM (kept by another process), HS_ESTALE (no
 * such kept reply, already answered, or its caller is gone -- the last
 * frees it), and those of hs_ipc_reply() for the message itself, after
 * which the reply is still kept and may be answered again. */
hs_status hs_ipc_reply_to(hs_reply_t reply);

/* Cancel the IPC operation thread (of the caller's process) is blocked
 * in: a send, a receive or sleep, the reply wait of a call, or an IRQ
 * wait.  It returns HS_ECANCELED, its UTCB phase saying which half was
 * cancelled; a reply to a cancelled call then fails with HS_ESTALE.
 * Errors: HS_ESTATE (not in a simulated thread, or thread not blocked in
 * IPC), HS_ESRCH (no such thread), HS_EPERM (a thread of another
 * process). */
hs_status hs_ipc_cancel(hs_tid_t thread);

HS_END_DECLS

#endif
