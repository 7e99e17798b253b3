/*
 * hopsim/topic.h - multicast topics: publish once, every subscriber
 * receives (seed 004, "Multicast/Broadcast").
 *
 * A topic is built on asynchronous channels (hopsim/chan.h).  Each
 * subscription is an MPSC channel of the subscriber's own, with the
 * topic's slots, msg_max and overflow policy: hs_topic_subscribe()
 * creates it, attaches its receiving end, and registers it with the
 * topic.  A publisher (hs_topic_pub) holds a sending end on the ring of
 * every subscriber, attached lazily: each hs_topic_publish() makes one
 * kernel call, which checks the publisher's capability and compares the
 * topic's generation (bumped whenever a subscriber joins or leaves) with
 * the one the publisher last saw; only when it changed does the
 * publisher attach ends for new subscribers and detach those of
 * subscribers that left.  The message then goes into each ring from the
 * publisher's own thread, through hs_chan_send(): no kernel call per
 * subscriber unless that subscriber sleeps and must be woken.
 *
 * Overflow.  A publish never blocks on a subscriber.  The policy is
 * applied to each subscriber's ring on its own, so a stalled subscriber
 * costs only itself:
 *   HS_CHAN_DROP_NEWEST  a full ring keeps what it has; the subscriber
 *                        misses the new message (its ring counts it:
 *                        hs_topic_sub_info.dropped);
 *   HS_CHAN_DROP_OLDEST  a full ring drops its oldest message to take
 *                        the new one (counted the same way);
 *   HS_CHAN_FAIL         a full ring refuses the message: the subscriber
 *                        misses it, counted by the publisher
 *                        (hs_topic_sent.missed, hs_topic_pub_missed()).
 * HS_CHAN_BLOCK is refused (HS_EINVAL): a publisher sleeping on one full
 * ring would hold back every other subscriber.
 *
 * Ordering.  Each subscriber receives one publisher's messages in the
 * order they were published, each at most once; a subscriber receives
 * every message published after its hs_topic_subscribe() returned and
 * before its hs_topic_unsubscribe() began, but for what its overflow
 * policy dropped.
 *
 * The unit of subscription is the process: a process subscribes to a
 * topic at most once at a time (a second hs_topic_subscribe() fails with
 * HS_EEXIST, whichever thread or capability makes it); threads of the
 * process share the subscription's hs_topic_sub.
 *
 * Capabilities.  hs_topic_create() returns a capability of kind
 * HS_CAP_KIND_TOPIC with every right: HS_CAP_SEND to publish,
 * HS_CAP_RECV to subscribe; pass them on with hs_cap_derive(),
 * hs_cap_give(), hs_proc_attr.caps.  hs_topic_publish() checks the
 * publisher's capability on every call (HS_EBADCAP once it is revoked or
 * deleted).  A subscription follows the capability it was made with:
 * when that stops being valid (revoked, deleted, the topic destroyed,
 * its creator ended) the subscription ends (below).
 *
 * Ending.  A subscription ends with hs_topic_unsubscribe(), when its
 * process ends (its channel goes with it; publishers drop it), or when
 * its capability stops being valid.  In the last case the subscriber's
 * ring closes: hs_topic_recv() still returns what was delivered, then
 * HS_ECLOSED.  A topic ends with hs_topic_destroy() or when the process
 * that created it ends: every subscription ends that way, and every
 * capability to the topic goes stale (HS_EBADCAP).
 *
 * Costs of a subscription: one channel (its frames), the receiving end
 * and a second, sending end that the subscription holds so that the
 * ring closes when the topic ends (never used to send), both mapped in
 * the subscriber; two capabilities in the subscriber; one capability
 * and one end per publisher that has published since it joined.
 */
#ifndef HOPSIM_TOPIC_H
#define HOPSIM_TOPIC_H

#include <stddef.h>
#include <stdint.h>

#include "api.h"
#include "cap.h"
#include "chan.h"
#include "status.h"
#include "time.h"

HS_BEGIN_DECLS

#define HS_TOPIC_SUBS_MAX 32u       /* subscriptions of one topic at once */

typedef struct hs_topic_attr {
    uint32_t slots;         /* each subscriber's ring: a power of two,
                               2..HS_CHAN_SLOTS_MAX */
    uint32_t msg_max;       /* 1..HS_CHAN_MSG_MAX bytes */
    unsigned overflow;      /* HS_CHAN_DROP_NEWEST, HS_CHAN_DROP_OLDEST or
                               HS_CHAN_FAIL */
} hs_topic_attr;

typedef struct hs_topic_info {
    hs_topic_attr attr;
    uint32_t subs;          /* live subscriptions */
    uint64_t gen;           /* bumped at every join and leave */
} hs_topic_info;

/* A subscription, filled by hs_topic_subscribe().  Opaque. */
typedef struct hs_topic_sub {
    uint64_t sub;           /* the kernel's subscription handle */
    hs_cap_t chan;          /* the subscriber's channel (every right) */
    hs_cap_t anchor;        /* the subscription's sending capability */
    hs_chan rx;             /* the receiving end */
    hs_chan hold;           /* the sending end held for closing */
} hs_topic_sub;

/* One subscriber as a publisher sees it. */
typedef struct hs_topic_peer {
    uint64_t sub;           /* subscription handle */
    hs_cap_t cap;           /* send capability to its ring */
    uint64_t missed;        /* messages it missed (HS_CHAN_FAIL, or
                               dropped as the newest) */
    hs_chan end;            /* sending end on its ring */
} hs_topic_peer;

/* A publisher, set up by hs_topic_pub_init().  Opaque; large (holds an
 * end per subscriber): keep it off small stacks.  The runtime takes no
 * bound from it but its own array's: the message size limit is the
 * kernel's (hs_topic_peers()). */
typedef struct hs_topic_pub {
    hs_cap_t topic;
    uint64_t gen;           /* the topic's generation last seen */
    uint32_t npeers;        /* peers in use, at most HS_TOPIC_SUBS_MAX */
    hs_topic_peer peers[HS_TOPIC_SUBS_MAX];
} hs_topic_pub;

/* What one hs_topic_publish() did. */
typedef struct hs_topic_sent {
    uint32_t delivered;     /* subscribers whose ring took the message */
    uint32_t missed;        /* subscribers whose full ring did not */
} hs_topic_sent;

typedef struct hs_topic_sub_info {
    uint64_t queued;        /* messages waiting in the ring */
    uint64_t dropped;       /* dropped by the ring's overflow policy */
    int closed;             /* the subscription ended */
} hs_topic_sub_info;

/* ---- kernel calls -------------------------------------------------------- */

/* Create a topic owned by the caller's process; *cap has every right.
 * Errors, nothing changed: HS_ESTATE, HS_EINVAL (attr or cap NULL, slots
 * or msg_max out of range or a ring over HS_CHAN_RING_MAX, an overflow
 * policy other than the three above), HS_ELIMIT, HS_EQUOTA (caps),
 * HS_ENOMEM. */
hs_status hs_topic_create(const hs_topic_attr *attr, hs_cap_t *cap);

/* Destroy the topic (the caller's process must have created it): every
 * subscription ends (see Ending), every capability to it goes stale.
 * Errors: HS_ESTATE, HS_EBADCAP, HS_EPERM (not a topic, or another
 * process's). */
hs_status hs_topic_destroy(hs_cap_t cap);

/* The topic's attributes, subscriber count and generation; any right.
 * Errors: HS_ESTATE, HS_EINVAL (info NULL), HS_EBADCAP, HS_EPERM (not a
 * topic). */
hs_status hs_topic_info_get(hs_cap_t cap, hs_topic_info *info);

/* The kernel half of hs_topic_subscribe(): register the caller's channel
 * chan (made with the topic's attributes, kind HS_CHAN_MPSC, no end
 * attached yet, owned by the caller's process) as the caller's process's
 * subscription; *sub gets its handle and *anchor a send capability to
 * the channel derived from cap.  Errors, nothing changed: HS_ESTATE,
 * HS_EINVAL (NULL out parameter; chan not such a channel), HS_EBADCAP
 * (cap or chan), HS_EPERM (cap not a topic or without HS_CAP_RECV; chan
 * not a channel), HS_EEXIST (the process is subscribed already),
 * HS_ELIMIT (HS_TOPIC_SUBS_MAX), HS_EQUOTA, HS_ENOMEM. */
hs_status hs_topic_join(hs_cap_t cap, hs_cap_t chan, uint64_t *sub,
                        hs_cap_t *anchor);

/* The kernel half of hs_topic_unsubscribe(): the subscription leaves its
 * topic (publishers drop it at their next publish).  Errors: HS_ESTATE,
 * HS_EBADCAP (no such subscription of the caller's process: it ended
 * already). */
hs_status hs_topic_leave(uint64_t sub);

/* The publisher's check before a message of len bytes goes out: cap
 * must be a valid topic capability with HS_CAP_SEND, and len 1..the
 * topic's msg_max.  *gen gets the topic's generation; when it differs
 * from known, subs[0..*n-1] get the handles of the live subscriptions
 * (max must be at least their number: HS_TOPIC_SUBS_MAX is), in the
 * order they joined, else *n = 0.  Errors, checked before the topic's
 * dead subscriptions are swept: HS_ESTATE, HS_EINVAL (NULL out
 * parameter, len 0), HS_EBADCAP, HS_EPERM, HS_EMSGSIZE (len over
 * msg_max); then HS_EINVAL (max too small). */
hs_status hs_topic_peers(hs_cap_t cap, size_t len, uint64_t known,
                         uint64_t *gen, uint64_t *subs, uint32_t max,
                         uint32_t *n);

/* A capability in the caller's space to send to subscription sub's ring
 * (HS_CAP_SEND only; it goes stale when the subscription ends).  cap
 * needs HS_CAP_SEND.  Errors: HS_ESTATE, HS_EINVAL (out NULL), HS_EBADCAP,
 * HS_EPERM, HS_ECLOSED (sub is not a live subscription of that topic),
 * HS_ELIMIT, HS_EQUOTA, HS_ENOMEM. */
hs_status hs_topic_peer_cap(hs_cap_t cap, uint64_t sub, hs_cap_t *out);

/* ---- the runtime (lib/topic.c) ------------------------------------------- */

/* Subscribe the caller's process through cap (HS_CAP_RECV), the ring's
 * receiving end mapped at va (4K-aligned; 0: the kernel chooses).
 * Errors, nothing left behind: HS_ESTATE, HS_EINVAL (s NULL, va not
 * aligned), HS_EBADCAP, HS_EPERM, HS_EEXIST (already subscribed, or
 * something mapped at va), HS_ELIMIT, HS_ERANGE, HS_ENOFRAME, HS_EQUOTA,
 * HS_ENOMEM. */
hs_status hs_topic_subscribe(hs_cap_t cap, uint64_t va, hs_topic_sub *s);

/* End the subscription and free what it holds (its channel, ends and
 * capabilities), whether or not it had ended already; *s must not be
 * used again.  Messages still queued are lost.  An hs_topic_recv() on s
 * that another thread of the process has under way (asleep, say) returns
 * HS_ECLOSED.  Errors: HS_ESTATE, HS_EINVAL (s NULL or not
 * subscribed). */
hs_status hs_topic_unsubscribe(hs_topic_sub *s);

/* Receive the next message into buf (size bytes); *len gets its length.
 * As hs_chan_recv(): HS_EINVAL, HS_EMSGSIZE (it stays queued), HS_ERANGE
 * (the ring was written by hand), HS_ECLOSED (the subscription ended and
 * its ring is drained, or another thread unsubscribed s meanwhile),
 * HS_ETIMEOUT, HS_EBADCAP. */
hs_status hs_topic_recv(hs_topic_sub *s, void *buf, size_t size,
                        size_t *len, hs_time_t timeout);

/* The subscriber's ring now.  Errors: HS_EINVAL, HS_EBADCAP. */
hs_status hs_topic_sub_info_get(const hs_topic_sub *s,
                                hs_topic_sub_info *info);

/* Set up a publisher on cap.  No kernel call: the first publish attaches.
 * Errors: HS_EINVAL (p NULL, cap 0). */
hs_status hs_topic_pub_init(hs_topic_pub *p, hs_cap_t cap);

/* Publish msg (1..msg_max bytes) to every current subscriber, each ring
 * under the topic's overflow policy; never waits for a subscriber.
 * *sent (may be NULL) gets how many rings took it and how many missed
 * it; a subscriber that ended meanwhile counts in neither.  Errors,
 * nothing sent and nothing changed: HS_ESTATE, HS_EINVAL (p or msg NULL,
 * len 0, *p not a publisher: npeers over HS_TOPIC_SUBS_MAX), HS_EMSGSIZE
 * (over the topic's msg_max), HS_EBADCAP (the topic is gone, or cap
 * revoked), HS_EPERM (not a topic, or no HS_CAP_SEND).  Errors, nothing
 * sent: HS_ELIMIT, HS_EQUOTA, HS_ENOMEM, HS_ERANGE when an end for a new
 * subscriber cannot be attached (the ends of subscribers that left are
 * dropped; none is attached). */
hs_status hs_topic_publish(hs_topic_pub *p, const void *msg, size_t len,
                           hs_topic_sent *sent);

/* Messages subscription sub missed at this publisher (0 when it is not
 * one of its peers). */
uint64_t hs_topic_pub_missed(const hs_topic_pub *p, uint64_t sub);

/* Detach every end and delete every capability the publisher holds.
 * Errors: HS_ESTATE, HS_EINVAL (p NULL, or not a publisher). */
hs_status hs_topic_pub_destroy(hs_topic_pub *p);

HS_END_DECLS

#endif
