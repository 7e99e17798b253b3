/*
 * hopsim/chan.h - asynchronous channels: lock-free rings in memory shared
 * between processes (seed 004).
 *
 * A channel is a ring of `slots` messages of at most `msg_max` bytes each.
 * Its frames belong to the kernel for the channel's life; a process
 * reaches them by attaching an end: hs_chan_attach() maps the ring into
 * the caller's address space (at an address it gives, or one the kernel
 * chooses) and fills an hs_chan handle.  From then on hs_chan_send() and
 * hs_chan_recv() (and their batch forms) run entirely in the calling
 * simulated thread, on the shared memory, with C11 atomics: no kernel call
 * while neither side has to sleep.  A receiver that finds the ring empty,
 * or a blocking sender that finds it full, sleeps in the kernel; the other
 * side wakes it, and enters the kernel for that only when someone sleeps.
 *
 * Kinds: HS_CHAN_SPSC, one sender and one receiver (head and tail with
 * acquire / release); HS_CHAN_MPSC, any number of senders and one
 * receiver (per-slot sequence numbers, Vyukov's bounded queue).  Each
 * sender's messages arrive in the order it sent them, none lost or
 * duplicated (but for what the overflow policy drops).
 *
 * Overflow policy, chosen at creation, for a send that finds the ring full:
 *   HS_CHAN_BLOCK        sleep until there is room, at most attr.timeout
 *                        (HS_ETIMEOUT then);
 *   HS_CHAN_DROP_NEWEST  drop the messages that do not fit (HS_OK);
 *   HS_CHAN_DROP_OLDEST  drop the oldest queued messages to make room
 *                        (HS_OK);
 *   HS_CHAN_FAIL         send nothing more, HS_EFULL.
 * Dropped messages are counted (hs_chan_info.dropped).
 *
 * Capabilities.  hs_chan_create() returns a capability with every right.
 * Attaching as sender needs HS_CAP_SEND, as receiver HS_CAP_RECV; pass
 * ends on with hs_cap_derive() / hs_cap_give() / hs_proc_attr.caps
 * (HS_CAP_GRANT).  The capability is checked at attach, and the end then
 * follows it: when it stops being valid (hs_cap_revoke() of a capability
 * it was derived from, hs_cap_delete(), the process that held the parent
 * ending), the kernel revokes the end before that call returns.  The
 * guarantee: an operation on an end that starts after the revoking call
 * has returned fails with HS_EBADCAP, on any CPU; a sleeper on it wakes
 * with HS_EBADCAP.  An operation already under way when the revocation
 * happens completes (at most the messages of that one call go through).
 *
 * Closing.  A channel closes when its receiving end goes, when its last
 * sending end goes (after at least one was attached), or when the
 * channel is destroyed; an end goes with hs_chan_detach(), when it is
 * revoked, or when its process ends, and the channel is destroyed by
 * hs_chan_destroy() or when the process that created it ends.  Once
 * closed: sends fail with HS_ECLOSED; a receiver still gets what is
 * queued, then HS_ECLOSED; sleepers of both sides wake.
 *
 * Registry: channels and ends are kernel objects named by handles (index
 * and generation, hs_chan.id and hs_chan.end), found in O(1); a stale
 * handle never names a new object.
 *
 * The errors of seed 004 and the statuses that carry them:
 *   ChannelFull        HS_EFULL     (HS_CHAN_FAIL policy)
 *   ChannelClosed      HS_ECLOSED
 *   InvalidCapability  HS_EBADCAP   (also: the end was revoked)
 *   PermissionDenied   HS_EPERM     (not a channel, or the right is missing)
 *   MessageTooLarge    HS_EMSGSIZE  (over msg_max, or a receive buffer
 *                                    shorter than the message)
 *   Timeout            HS_ETIMEOUT
 *   ProcessNotFound    HS_ESRCH     (hs_cap_give to a process that is gone)
 *   OutOfMemory        HS_ENOFRAME (ring frames), HS_EQUOTA (mapped
 *                      bytes over the factory quota), HS_ENOMEM (host)
 *
 * One CPU: deterministic like every other call (a simulated thread is
 * switched only inside the kernel; nothing here spins).
 */
#ifndef HOPSIM_CHAN_H
#define HOPSIM_CHAN_H

#include <stddef.h>
#include <stdint.h>

#include "cap.h"
#include "chan_ring.h"
#include "status.h"
#include "time.h"

/* Kinds. */
#define HS_CHAN_SPSC 1u
#define HS_CHAN_MPSC 2u

/* Overflow policies. */
#define HS_CHAN_BLOCK       1u
#define HS_CHAN_DROP_NEWEST 2u
#define HS_CHAN_DROP_OLDEST 3u
#define HS_CHAN_FAIL        4u

/* Roles of an end. */
#define HS_CHAN_SENDER   1u
#define HS_CHAN_RECEIVER 2u

#define HS_CHAN_SLOTS_MAX ((uint32_t)1 << 20)
#define HS_CHAN_MSG_MAX   65520u                 /* 64 KiB slot, less its
                                                    header */
#define HS_CHAN_RING_MAX  ((uint64_t)16 << 20)   /* slots * stride */

typedef struct hs_chan_attr {
    uint32_t slots;         /* a power of two, 2..HS_CHAN_SLOTS_MAX */
    uint32_t msg_max;       /* 1..HS_CHAN_MSG_MAX bytes */
    unsigned kind;          /* HS_CHAN_SPSC or HS_CHAN_MPSC */
    unsigned overflow;      /* HS_CHAN_BLOCK ... HS_CHAN_FAIL */
    hs_time_t timeout;      /* HS_CHAN_BLOCK: how long a send may wait
                               (HS_NOWAIT, a duration or HS_NEVER) */
} hs_chan_attr;

/* An attached end, filled by hs_chan_attach().  Treat it as opaque: the
 * fields are the runtime's. */
typedef struct hs_chan {
    uint64_t id;            /* the channel's handle */
    uint64_t end;           /* this end's handle */
    uint64_t va, len;       /* where the ring is mapped in the caller */
    unsigned role, kind, overflow;
    uint32_t slots, stride, msg_max;
    hs_time_t timeout;
    uint32_t end_slot;      /* entry of ctrl->ends */
    uint32_t serial;        /* what that entry holds while this end is
                               valid */
    const hs_chan_ctrl *ctrl;
    hs_chan_idx *idx;
    unsigned char *data;
} hs_chan;

/* One message of a batch: data and its length.  For a receive, len is
 * the buffer's size on entry and the message's length on return. */
typedef struct hs_chan_msg {
    void *data;
    size_t len;
} hs_chan_msg;

/* ---- kernel calls -------------------------------------------------------- */

/* Create a channel owned by the caller's process; *cap has every right.
 * Errors, nothing changed: HS_ESTATE, HS_EINVAL (attr or cap NULL, slots
 * 0, 1, above the limit or not a power of two, msg_max 0 or above the
 * limit, slots * slot size above HS_CHAN_RING_MAX, unknown kind or
 * policy, a bad timeout), HS_ENOFRAME (the ring's frames), HS_ELIMIT,
 * HS_EQUOTA (caps), HS_ENOMEM. */
hs_status hs_chan_create(const hs_chan_attr *attr, hs_cap_t *cap);

/* Destroy the channel (the caller's process must have created it): it
 * closes, its frames go once no process maps them any more, and every
 * capability to it goes stale.  Errors: HS_ESTATE, HS_EBADCAP, HS_EPERM
 * (not a channel, or another process's). */
hs_status hs_chan_destroy(hs_cap_t cap);

/* The kernel half of hs_chan_attach(): map the ring and fill every field
 * of *out but the three pointers.  Errors as hs_chan_attach(). */
hs_status hs_chan_end_map(hs_cap_t cap, unsigned role, uint64_t va,
                          hs_chan *out);

/* The kernel half of hs_chan_detach(): the end goes (see Closing) and its
 * pages are unmapped where they still map the ring.  Errors: HS_ESTATE,
 * HS_EBADCAP (no such end of the caller's process). */
hs_status hs_chan_end_unmap(uint64_t end);

/* Sleep until the end may make progress: a receiver until the ring is
 * not empty, a sender until it has room; or the channel closes.  Returns
 * at once when that holds already.  HS_OK: try again.  Errors:
 * HS_ESTATE, HS_EINVAL (bad timeout), HS_EBADCAP (no such end, or
 * revoked, also while asleep), HS_ETIMEOUT. */
hs_status hs_chan_end_sleep(uint64_t end, hs_time_t timeout);

/* Wake the sleepers of the other side of end's channel.  Errors:
 * HS_ESTATE, HS_EBADCAP. */
hs_status hs_chan_end_wake(uint64_t end);

/* ---- the runtime (lib/chan.c): no kernel call unless someone sleeps ----- */

/* Attach to the channel cap names as role, mapping it at va (aligned to
 * 4K; 0: the kernel chooses), and fill *c.  An SPSC channel takes one
 * sender and one receiver at a time, an MPSC one any number of senders
 * (up to HS_CHAN_ENDS_MAX ends in all).  Errors, nothing changed:
 * HS_ESTATE (not in a simulated thread; or the role is taken: a second
 * receiver, or a second SPSC sender), HS_EINVAL (c NULL, unknown role, va
 * not aligned), HS_EBADCAP, HS_EPERM (not a channel, or no HS_CAP_SEND /
 * HS_CAP_RECV for the role), HS_ECLOSED, HS_ELIMIT (HS_CHAN_ENDS_MAX),
 * HS_ERANGE, HS_EEXIST (something is mapped there), HS_EQUOTA
 * (HS_RES_MAPPED), HS_ENOMEM. */
hs_status hs_chan_attach(hs_cap_t cap, unsigned role, uint64_t va,
                         hs_chan *c);

/* Detach: the end goes, which may close the channel (see Closing); *c
 * must not be used again.  Errors: HS_ESTATE, HS_EINVAL, HS_EBADCAP. */
hs_status hs_chan_detach(hs_chan *c);

/* Send one message of len bytes (1..msg_max).  The overflow policy
 * decides what a full ring does.  Errors, nothing sent: HS_EINVAL (c or
 * msg NULL, len 0, not a sender), HS_EMSGSIZE, HS_EBADCAP, HS_ECLOSED,
 * HS_EFULL (HS_CHAN_FAIL), HS_ETIMEOUT (HS_CHAN_BLOCK). */
hs_status hs_chan_send(hs_chan *c, const void *msg, size_t len);

/* Send n messages in order, publishing as many at once as fit.  *sent
 * (may be NULL) gets how many are in the ring; the rest were dropped
 * (HS_CHAN_DROP_NEWEST, HS_OK) or refused with the error.  Every length
 * is checked first: HS_EMSGSIZE (or HS_EINVAL) sends none. */
hs_status hs_chan_send_batch(hs_chan *c, const hs_chan_msg *msgs, size_t n,
                             size_t *sent);

/* Receive one message into buf (size bytes); *len gets its length.
 * timeout: HS_NOWAIT, a duration or HS_NEVER.  Errors, nothing taken:
 * HS_EINVAL (c, buf or len NULL, not the receiver, bad timeout),
 * HS_EMSGSIZE (the next message is longer than size: it stays queued),
 * HS_EBADCAP, HS_ECLOSED (closed and drained), HS_ETIMEOUT. */
hs_status hs_chan_recv(hs_chan *c, void *buf, size_t size, size_t *len,
                       hs_time_t timeout);

/* Receive up to n messages into msgs (each len a buffer size on entry):
 * waits (up to timeout) for the first, then takes whatever else is queued
 * without waiting.  *got (not NULL) gets how many.  Errors as
 * hs_chan_recv() when none was taken; HS_EMSGSIZE when the first does not
 * fit its buffer. */
hs_status hs_chan_recv_batch(hs_chan *c, hs_chan_msg *msgs, size_t n,
                             size_t *got, hs_time_t timeout);

typedef struct hs_chan_info {
    uint64_t queued;        /* messages in the ring now */
    uint64_t dropped;       /* dropped by the overflow policy so far */
    int closed;
} hs_chan_info;

/* The ring as the end sees it now.  Errors: HS_EINVAL, HS_EBADCAP. */
hs_status hs_chan_info_get(const hs_chan *c, hs_chan_info *info);

#endif
