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
 * Detaching an end that another thread of the process is using (asleep
 * in hs_chan_recv(), say): that call returns HS_ECLOSED when it comes
 * back from the kernel, touching neither the ring nor the hs_chan again;
 * what a send put in the ring before stays there.  (With several CPUs, a
 * call that is running outside the kernel at that moment races with the
 * detach, as any use of a detached end does.)
 *
 * Messages carry a type (hs_chan_send_typed(); hs_chan_send() sends type
 * 0) and their source: the runtime copies the sending end's process id
 * from the control page, where the kernel wrote it at attach, so a
 * receiver (hs_chan_recv_ex()) learns who sent a message without
 * trusting the sender's word.
 *
 * Policy (hs_chan_policy, set at creation through attr.policy or later by
 * the creator with hs_chan_policy_set()):
 *   HS_CHAN_POL_RATE     a token bucket in virtual time shared by every
 *                        sender: burst tokens, one more every
 *                        ceil(10^9 / rate) virtual ns; a message takes a
 *                        token; without one it is refused with HS_ERATE
 *                        and nothing is enqueued (a batch sends as many as
 *                        there are tokens for, then HS_ERATE);
 *   HS_CHAN_POL_SIZE     messages over size_max bytes: HS_EMSGSIZE;
 *   HS_CHAN_POL_TYPES    a message whose type t is not in the mask (bit t;
 *                        types from 64 up never are): HS_EFILTER;
 *   HS_CHAN_POL_RIGHTS   attaching as sender needs a capability that holds
 *                        rights besides HS_CAP_SEND: HS_EPERM;
 *   HS_CHAN_POL_SOURCES  only the listed processes may attach as sender:
 *                        HS_EPERM;
 *   HS_CHAN_POL_AUDIT    the kernel records every message sent (virtual
 *                        time, source, channel, ring position, type,
 *                        length, rights of the sender's capability) in a
 *                        log of HS_CHAN_AUDIT_LEN records that the creator
 *                        reads back with hs_chan_audit_read();
 *   HS_CHAN_POL_STATS    count messages and bytes, and the latency of
 *                        every message received (virtual and host ns, log2
 *                        histograms): hs_chan_stats_get().
 * A refused message is refused whole, before anything is enqueued, and
 * counted (hs_chan_stats.refused_*): nothing is lost or duplicated, and
 * the sender may send it again.
 *
 * Who enforces what.  RIGHTS and SOURCES are checked by the kernel when
 * an end attaches (and hs_chan_policy_set() revokes sending ends that no
 * longer pass): a process cannot get around them.  RATE, SIZE and TYPES
 * are enforced by the runtime (lib/chan.c, trusted code of hopsim like a
 * libc) from the policy the kernel wrote in the read-only control page; a
 * process that writes the shared ring directly bypasses them, as it can
 * bypass the ring's own protocol.  It cannot make another process's
 * runtime read or write outside the ring: the runtime takes the ring's
 * shape (slots, slot size, msg_max) from the control page, never from
 * the writable indices nor from hs_chan, and a receiver that finds a
 * length over msg_max in a slot, or (SPSC) a tail more than a ring away
 * from head, returns HS_ERANGE without copying a byte.  The audit
 * record's source, channel, time and rights come from the kernel; its
 * type and length from the runtime.  With no policy flag set a send pays
 * one predictable branch; with HS_CHAN_POL_AUDIT every send that enqueues
 * something enters the kernel once, after the messages are in the ring
 * (so a record never names a message that was not sent).
 *
 * Registry: channels and ends are kernel objects named by handles (index
 * and generation, hs_chan.id and hs_chan.end), found in O(1); a stale
 * handle never names a new object.
 *
 * The errors of seed 004 and the statuses that carry them:
 *   ChannelFull        HS_EFULL     (HS_CHAN_FAIL policy)
 *   (rate limit)       HS_ERATE     (HS_CHAN_POL_RATE)
 *   (type filtered)    HS_EFILTER   (HS_CHAN_POL_TYPES)
 *   ChannelClosed      HS_ECLOSED
 *   InvalidCapability  HS_EBADCAP   (also: the end was revoked)
 *   PermissionDenied   HS_EPERM     (not a channel, or the right is missing)
 *   MessageTooLarge    HS_EMSGSIZE  (over msg_max or size_max, or a receive buffer
 *                                    shorter than the message)
 *   (ring written by   HS_ERANGE    (a receiver found a length or indices
 *    hand)                           no sender could have written)
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

#include "api.h"
#include "cap.h"
#include "chan_ring.h"
#include "status.h"
#include "time.h"

HS_BEGIN_DECLS

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
#define HS_CHAN_MSG_MAX   65496u                 /* 64 KiB less a slot's
                                                    header */
#define HS_CHAN_RING_MAX  ((uint64_t)16 << 20)   /* slots * stride */

/* Policy flags (see "Policy" above). */
#define HS_CHAN_POL_RATE    0x01u
#define HS_CHAN_POL_SIZE    0x02u
#define HS_CHAN_POL_TYPES   0x04u
#define HS_CHAN_POL_RIGHTS  0x08u
#define HS_CHAN_POL_SOURCES 0x10u
#define HS_CHAN_POL_AUDIT   0x20u
#define HS_CHAN_POL_STATS   0x40u
#define HS_CHAN_POL_ALL     0x7fu

#define HS_CHAN_SOURCES_MAX 8u          /* processes in a sources list */
#define HS_CHAN_RATE_MAX    1000000000u /* one token a virtual ns */
#define HS_CHAN_AUDIT_LEN   1024u       /* records an audit log keeps */

typedef struct hs_chan_policy {
    unsigned flags;         /* HS_CHAN_POL_*: the rules that apply; each
                               field below counts only under its flag */
    uint32_t rate;          /* RATE: tokens a virtual second,
                               1..HS_CHAN_RATE_MAX */
    uint32_t burst;         /* RATE: bucket size, >= 1 (full at first) */
    uint32_t size_max;      /* SIZE: 1..msg_max bytes */
    uint64_t types;         /* TYPES: bit t allows type t */
    unsigned rights;        /* RIGHTS: what a sender's capability must
                               hold besides HS_CAP_SEND (HS_CAP_* bits) */
    uint32_t nsources;      /* SOURCES: 1..HS_CHAN_SOURCES_MAX */
    hs_pid_t sources[HS_CHAN_SOURCES_MAX];
} hs_chan_policy;

typedef struct hs_chan_attr {
    uint32_t slots;         /* a power of two, 2..HS_CHAN_SLOTS_MAX */
    uint32_t msg_max;       /* 1..HS_CHAN_MSG_MAX bytes */
    unsigned kind;          /* HS_CHAN_SPSC or HS_CHAN_MPSC */
    unsigned overflow;      /* HS_CHAN_BLOCK ... HS_CHAN_FAIL */
    hs_time_t timeout;      /* HS_CHAN_BLOCK: how long a send may wait
                               (HS_NOWAIT, a duration or HS_NEVER) */
    const hs_chan_policy *policy;   /* NULL: no policy */
} hs_chan_attr;

/* An attached end, filled by hs_chan_attach().  Treat it as opaque: the
 * fields are the runtime's.  The runtime takes no bound from them: the
 * ring's slots, stride and msg_max come from the control page, which
 * only the kernel writes, and end_slot is checked before use; a change
 * made here cannot move a copy outside the ring. */
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

/* One message of a batch: data, its length and its type.  For a
 * receive, len is the buffer's size on entry and the message's length on
 * return, and type is filled in. */
typedef struct hs_chan_msg {
    void *data;
    size_t len;
    uint32_t type;
} hs_chan_msg;

/* What hs_chan_recv_ex() says about a message besides its bytes. */
typedef struct hs_chan_meta {
    uint32_t type;
    hs_pid_t src;           /* the process of the end that sent it */
    hs_time_t sent_ns;      /* virtual time of the send */
    uint64_t sent_host_ns;  /* host time of the send (hs_time_host_ns()),
                               0 unless HS_CHAN_POL_STATS */
} hs_chan_meta;

/* ---- kernel calls -------------------------------------------------------- */

/* Create a channel owned by the caller's process; *cap has every right.
 * Errors, nothing changed: HS_ESTATE, HS_EINVAL (attr or cap NULL, slots
 * 0, 1, above the limit or not a power of two, msg_max 0 or above the
 * limit, slots * slot size above HS_CHAN_RING_MAX, unknown kind or
 * policy, a bad timeout), HS_ENOFRAME (the ring's frames), HS_ELIMIT,
 * HS_EQUOTA (caps), HS_ENOMEM. */
hs_status hs_chan_create(const hs_chan_attr *attr, hs_cap_t *cap);

/* Replace the channel's policy (the caller's process must have created
 * it; policy NULL: none).  Sends that start after the call returns follow
 * the new policy; the rate bucket starts full; sending ends whose
 * process or capability the new RIGHTS / SOURCES rules refuse are
 * revoked (see Capabilities).  Errors, nothing changed: HS_ESTATE,
 * HS_EINVAL (a bad policy, as for hs_chan_create()), HS_EBADCAP,
 * HS_EPERM (not a channel, or another process's), HS_ENOFRAME (the
 * audit log's frames). */
hs_status hs_chan_policy_set(hs_cap_t cap, const hs_chan_policy *policy);

typedef struct hs_chan_audit_rec {
    uint64_t seq;           /* number of the record on its channel, from
                               0: a gap means records were overwritten */
    hs_time_t time;         /* virtual time the kernel recorded it */
    uint64_t chan;          /* the destination: the channel's handle */
    uint64_t pos;           /* the message's position in the ring */
    hs_pid_t src;           /* the sending process */
    uint32_t type;
    uint32_t len;
    unsigned rights;        /* of the capability the end attached with */
} hs_chan_audit_rec;

/* Take up to max of the oldest audit records into out, oldest first; *n
 * gets how many.  The log keeps the last HS_CHAN_AUDIT_LEN records (the
 * oldest are overwritten: see seq).  Only the creator's process reads it.
 * Errors: HS_ESTATE, HS_EINVAL (out or n NULL), HS_EBADCAP, HS_EPERM (not
 * a channel, or another process's), HS_ENOENT (no audit log: the channel
 * never had HS_CHAN_POL_AUDIT). */
hs_status hs_chan_audit_read(hs_cap_t cap, hs_chan_audit_rec *out,
                             size_t max, size_t *n);

/* The kernel half of an audited send: record msgs[0..n-1], just put in
 * the ring at positions pos, pos + 1, ...  A no-op when the channel does
 * not audit.  Errors: HS_ESTATE, HS_EINVAL (msgs NULL), HS_EBADCAP. */
hs_status hs_chan_end_audit(uint64_t end, const hs_chan_msg *msgs, size_t n,
                            uint64_t pos);

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
 * must not be used again.  A call on *c under way in another thread of
 * the process returns HS_ECLOSED (see Detaching above).  Errors:
 * HS_ESTATE, HS_EINVAL, HS_EBADCAP. */
hs_status hs_chan_detach(hs_chan *c);

/* Send one message of len bytes (1..msg_max) and type 0.  The overflow
 * policy decides what a full ring does.  Errors, nothing sent: HS_EINVAL
 * (c or msg NULL, len 0, not a sender), HS_EMSGSIZE (msg_max, or the
 * policy's size_max), HS_EFILTER (the policy's types), HS_ERATE (the
 * policy's rate), HS_EBADCAP, HS_ECLOSED (also: another thread detached
 * c meanwhile), HS_EFULL (HS_CHAN_FAIL), HS_ETIMEOUT (HS_CHAN_BLOCK). */
hs_status hs_chan_send(hs_chan *c, const void *msg, size_t len);

/* hs_chan_send() of a message of the given type. */
hs_status hs_chan_send_typed(hs_chan *c, uint32_t type, const void *msg,
                             size_t len);

/* Send n messages (with their types) in order, publishing as many at
 * once as fit.  *sent
 * (may be NULL) gets how many are in the ring; the rest were dropped
 * (HS_CHAN_DROP_NEWEST, HS_OK) or refused with the error.  Every length
 * and type is checked first: HS_EMSGSIZE, HS_EFILTER (or HS_EINVAL) send
 * none.  HS_ERATE: the first *sent went, the rest were refused. */
hs_status hs_chan_send_batch(hs_chan *c, const hs_chan_msg *msgs, size_t n,
                             size_t *sent);

/* Receive one message into buf (size bytes); *len gets its length.
 * timeout: HS_NOWAIT, a duration or HS_NEVER.  Errors, nothing taken:
 * HS_EINVAL (c, buf or len NULL, not the receiver, bad timeout),
 * HS_EMSGSIZE (the next message is longer than size: it stays queued),
 * HS_ERANGE (the ring was written by hand: the next message's length is
 * over msg_max, or the SPSC indices are more than a ring apart; nothing
 * is copied and it stays as it is), HS_EBADCAP, HS_ECLOSED (closed and
 * drained; or another thread detached c meanwhile), HS_ETIMEOUT. */
hs_status hs_chan_recv(hs_chan *c, void *buf, size_t size, size_t *len,
                       hs_time_t timeout);

/* hs_chan_recv() that also fills *meta (not NULL): type, source, send
 * times. */
hs_status hs_chan_recv_ex(hs_chan *c, void *buf, size_t size, size_t *len,
                          hs_chan_meta *meta, hs_time_t timeout);

/* Receive up to n messages into msgs (each len a buffer size on entry):
 * waits (up to timeout) for the first, then takes whatever else is queued
 * without waiting.  *got (not NULL) gets how many.  Errors as
 * hs_chan_recv() when none was taken; HS_EMSGSIZE when the first does not
 * fit its buffer, HS_ERANGE when its length is over msg_max. */
hs_status hs_chan_recv_batch(hs_chan *c, hs_chan_msg *msgs, size_t n,
                             size_t *got, hs_time_t timeout);

typedef struct hs_chan_info {
    uint64_t queued;        /* messages in the ring now */
    uint64_t dropped;       /* dropped by the overflow policy so far */
    int closed;
} hs_chan_info;

/* The ring as the end sees it now.  Errors: HS_EINVAL, HS_EBADCAP. */
hs_status hs_chan_info_get(const hs_chan *c, hs_chan_info *info);

/* ---- statistics ------------------------------------------------------------ */

/* Per-channel counters, shared by its ends.  sent, sent_bytes, received,
 * received_bytes and the histograms count only while HS_CHAN_POL_STATS
 * is in force; the others always.  Histogram bucket 0 counts latencies
 * of 0 ns, bucket b (1..63) latencies in [2^(b-1), 2^b) ns (the last
 * also everything longer); a message's latency is its receive time less
 * its send time, in virtual ns (lat_virt) and host ns (lat_host). */
typedef struct hs_chan_stats {
    uint64_t sent, sent_bytes;          /* put in the ring */
    uint64_t received, received_bytes;  /* taken out of it */
    uint64_t dropped;                   /* by the overflow policy */
    uint64_t refused_rate;              /* HS_ERATE */
    uint64_t refused_size;              /* HS_EMSGSIZE (size_max) */
    uint64_t refused_type;              /* HS_EFILTER */
    uint64_t full_waits;                /* a sender slept on a full ring */
    uint64_t empty_waits;               /* the receiver slept on an empty
                                           one */
    uint64_t lat_virt[HS_CHAN_HIST_BUCKETS];
    uint64_t lat_host[HS_CHAN_HIST_BUCKETS];
} hs_chan_stats;

/* The channel's counters now, read through an attached end.  Errors:
 * HS_EINVAL (c or out NULL, c not attached), HS_EBADCAP. */
hs_status hs_chan_stats_get(const hs_chan *c, hs_chan_stats *out);

/* Print s as a small table through the simulator's output: the counters,
 * then one row per non-empty histogram bucket. */
void hs_chan_stats_print(const char *title, const hs_chan_stats *s);

HS_END_DECLS

#endif
