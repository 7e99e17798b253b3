/*
 * lib/topic.c - the topic runtime: subscriptions as channels of the
 * subscriber's own, publishers holding a sending end on each ring (see
 * hopsim/topic.h for the contract, ports/topic.c for the kernel side).
 *
 * A publish is one kernel call (hs_topic_peers: the capability check,
 * the message's length against the topic's msg_max, and the generation)
 * and then one hs_chan_send() per subscriber in the calling thread; ends
 * are attached and detached only when the generation says the
 * subscribers changed.  Nothing in hs_topic_pub is trusted for a bound
 * but the array it indexes: the caller's code may change any of it.
 */
#include <string.h>

#include "hopsim.h"

/* ---- subscribing ---------------------------------------------------------- */

/* Undo a subscription as far as it got (fields left 0 were not made). */
static void sub_undo(hs_topic_sub *s)
{
    if (s->sub)
        (void)hs_topic_leave(s->sub);
    if (s->rx.ctrl)
        (void)hs_chan_detach(&s->rx);
    if (s->hold.ctrl)
        (void)hs_chan_detach(&s->hold);
    if (s->anchor)
        (void)hs_cap_delete(s->anchor);
    if (s->chan) {
        (void)hs_chan_destroy(s->chan);
        (void)hs_cap_delete(s->chan);
    }
    memset(s, 0, sizeof *s);
}

hs_status hs_topic_subscribe(hs_cap_t cap, uint64_t va, hs_topic_sub *s)
{
    if (!s || va % HS_PAGE_4K)
        return HS_EINVAL;
    hs_topic_sub got;
    memset(&got, 0, sizeof got);
    hs_topic_info info;
    hs_status st = hs_topic_info_get(cap, &info);
    if (st == HS_OK) {
        hs_chan_attr a = { .slots = info.attr.slots,
                           .msg_max = info.attr.msg_max,
                           .kind = HS_CHAN_MPSC,
                           .overflow = info.attr.overflow };
        st = hs_chan_create(&a, &got.chan);
    }
    if (st == HS_OK)
        st = hs_topic_join(cap, got.chan, &got.sub, &got.anchor);
    if (st == HS_OK)
        st = hs_chan_attach(got.chan, HS_CHAN_RECEIVER, va, &got.rx);
    if (st == HS_OK)
        st = hs_chan_attach(got.anchor, HS_CHAN_SENDER, 0, &got.hold);
    if (st != HS_OK) {
        sub_undo(&got);
        return st;
    }
    *s = got;
    return HS_OK;
}

hs_status hs_topic_unsubscribe(hs_topic_sub *s)
{
    if (!s || !s->rx.ctrl)
        return HS_EINVAL;
    if (hs_topic_leave(s->sub) == HS_ESTATE)
        return HS_ESTATE;
    s->sub = 0;         /* left, or ended already */
    sub_undo(s);
    return HS_OK;
}

hs_status hs_topic_recv(hs_topic_sub *s, void *buf, size_t size,
                        size_t *len, hs_time_t timeout)
{
    if (!s)
        return HS_EINVAL;
    return hs_chan_recv(&s->rx, buf, size, len, timeout);
}

hs_status hs_topic_sub_info_get(const hs_topic_sub *s,
                                hs_topic_sub_info *info)
{
    if (!s || !info)
        return HS_EINVAL;
    hs_chan_info ci;
    hs_status st = hs_chan_info_get(&s->rx, &ci);
    if (st == HS_OK)
        *info = (hs_topic_sub_info){ .queued = ci.queued,
                                     .dropped = ci.dropped,
                                     .closed = ci.closed };
    return st;
}

/* ---- publishing ------------------------------------------------------------- */

/* Whether p is fit to be used as a publisher: its peers within its
 * array. */
static int pub_valid(const hs_topic_pub *p)
{
    return p && p->npeers <= HS_TOPIC_SUBS_MAX;
}

hs_status hs_topic_pub_init(hs_topic_pub *p, hs_cap_t cap)
{
    if (!p || cap == HS_CAP_NIL)
        return HS_EINVAL;
    memset(p, 0, sizeof *p);
    p->topic = cap;
    return HS_OK;
}

static int has_sub(const uint64_t *subs, uint32_t n, uint64_t sub)
{
    for (uint32_t i = 0; i < n; i++)
        if (subs[i] == sub)
            return 1;
    return 0;
}

/* Drop peer i (its end and capability); the last peer takes its place
 * until pub_order() puts them back in join order. */
static void peer_drop(hs_topic_pub *p, uint32_t i)
{
    hs_topic_peer *q = &p->peers[i];
    (void)hs_chan_detach(&q->end);
    (void)hs_cap_delete(q->cap);
    p->peers[i] = p->peers[--p->npeers];
}

/* Attach an end to subscription sub.  HS_ECLOSED: it ended meanwhile. */
static hs_status peer_add(hs_topic_pub *p, uint64_t sub)
{
    if (p->npeers == HS_TOPIC_SUBS_MAX)
        return HS_ELIMIT;
    hs_topic_peer *q = &p->peers[p->npeers];
    memset(q, 0, sizeof *q);
    hs_status st = hs_topic_peer_cap(p->topic, sub, &q->cap);
    if (st != HS_OK)
        return st;
    st = hs_chan_attach(q->cap, HS_CHAN_SENDER, 0, &q->end);
    if (st != HS_OK) {
        (void)hs_cap_delete(q->cap);
        /* Its anchor went stale between the two calls. */
        return st == HS_EBADCAP ? HS_ECLOSED : st;
    }
    q->sub = sub;
    p->npeers++;
    return HS_OK;
}

/* Put the peers in the order of subs (the order they joined). */
static void pub_order(hs_topic_pub *p, const uint64_t *subs, uint32_t n)
{
    uint32_t k = 0;
    for (uint32_t i = 0; i < n; i++) {
        for (uint32_t j = k; j < p->npeers; j++) {
            if (p->peers[j].sub == subs[i]) {
                hs_topic_peer tmp = p->peers[k];
                p->peers[k++] = p->peers[j];
                p->peers[j] = tmp;
                break;
            }
        }
    }
}

/* Check the capability and len (the kernel refuses before anything
 * changes); follow the subscribers when they changed.  The ends of
 * subscribers that left are dropped first; when an end for a new one
 * cannot be attached, those attached by this call are dropped again and
 * the generation is not taken, so the next publish tries again. */
static hs_status pub_sync(hs_topic_pub *p, size_t len)
{
    uint64_t subs[HS_TOPIC_SUBS_MAX], gen = 0;
    uint32_t n = 0;
    hs_status st = hs_topic_peers(p->topic, len, p->gen, &gen, subs,
                                  HS_TOPIC_SUBS_MAX, &n);
    if (st != HS_OK || gen == p->gen)
        return st;
    for (uint32_t i = p->npeers; i-- > 0;)
        if (!has_sub(subs, n, p->peers[i].sub))
            peer_drop(p, i);
    uint32_t kept = p->npeers;
    for (uint32_t i = 0; i < n; i++) {
        int known = 0;
        for (uint32_t j = 0; j < p->npeers && !known; j++)
            known = p->peers[j].sub == subs[i];
        if (!known && (st = peer_add(p, subs[i])) != HS_OK &&
            st != HS_ECLOSED)
            break;
        st = HS_OK;
    }
    if (st != HS_OK) {
        while (p->npeers > kept)
            peer_drop(p, p->npeers - 1);
        return st;
    }
    pub_order(p, subs, n);
    p->gen = gen;
    return HS_OK;
}

hs_status hs_topic_publish(hs_topic_pub *p, const void *msg, size_t len,
                           hs_topic_sent *sent)
{
    if (!pub_valid(p) || !p->topic || !msg || !len)
        return HS_EINVAL;
    hs_status st = pub_sync(p, len);
    if (st != HS_OK)
        return st;
    hs_topic_sent r = { 0, 0 };
    hs_chan_msg m = { .data = (void *)msg, .len = len };
    for (uint32_t i = 0; i < p->npeers; i++) {
        size_t k = 0;
        st = hs_chan_send_batch(&p->peers[i].end, &m, 1, &k);
        if (st == HS_OK && k == 1) {
            r.delivered++;
        } else if (st == HS_OK || st == HS_EFULL) {
            r.missed++;
            p->peers[i].missed++;
        }
        /* HS_ECLOSED, HS_EBADCAP: it ended; the next publish drops it. */
    }
    if (sent)
        *sent = r;
    return HS_OK;
}

uint64_t hs_topic_pub_missed(const hs_topic_pub *p, uint64_t sub)
{
    for (uint32_t i = 0; pub_valid(p) && i < p->npeers; i++)
        if (p->peers[i].sub == sub)
            return p->peers[i].missed;
    return 0;
}

hs_status hs_topic_pub_destroy(hs_topic_pub *p)
{
    hs_cap_info ci;
    if (!pub_valid(p))
        return HS_EINVAL;
    if (hs_cap_info_get(p->topic, &ci) == HS_ESTATE)
        return HS_ESTATE;
    while (p->npeers)
        peer_drop(p, p->npeers - 1);
    memset(p, 0, sizeof *p);
    return HS_OK;
}
