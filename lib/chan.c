/*
 * lib/chan.c - the channel runtime: send and receive on a ring mapped by
 * hs_chan_attach(), in the calling simulated thread, without entering
 * the kernel unless one side must sleep (see hopsim/chan.h for the
 * contract, hopsim/chan_ring.h for the layout).
 *
 * Orderings.  SPSC: the sender writes a slot, then stores tail with
 * release; the receiver loads tail with acquire, reads, then stores head
 * with release, which the sender loads with acquire before reusing the
 * slot.  MPSC (Vyukov): a sender claims positions by compare-and-swap on
 * tail after seeing each slot's seq equal to its position (acquire), and
 * publishes each with seq = position + 1 (release); the receiver claims
 * by compare-and-swap on head and frees with seq = position + slots
 * (release).  HS_CHAN_DROP_OLDEST lets a sender advance head by
 * compare-and-swap, so the receiver then claims by compare-and-swap too
 * and discards what it read when it loses.
 *
 * Sleeping and waking: see ports/chan.c.  A waker reads the other side's
 * waiting count after a seq_cst fence that follows its publication; a
 * sleeper increments its count (seq_cst) before the kernel looks at the
 * ring.
 *
 * Trust.  The ring is shared with other processes, which may write any
 * of it by hand, and *c is the caller's, which its code may change: the
 * ring's geometry (slots, stride, msg_max) is read from the control
 * page, which only the kernel writes, never from *c, and c->end_slot is
 * checked before it indexes that page.  Positions are used only masked
 * to the ring; a receiver checks every length it reads from a slot
 * against msg_max before copying a byte, and an SPSC receiver checks
 * that head and tail are no more than a ring apart (HS_ERANGE
 * otherwise).  Another thread of the process may detach the end while
 * this one is in the kernel (asleep, waking the other side, recording an
 * audit); hs_chan_detach() clears c->end before it enters the kernel,
 * and after every kernel call an operation looks whether c->end is still
 * the end it started on (end_kept()) before it reads *c again, ending
 * with HS_ECLOSED when it is not.
 *
 * Policy: a send loads the control page's policy flags once; 0 (no
 * policy) skips every rule in one branch.  The rate limit is GCRA on the
 * index page's tat: a sender takes tokens by compare-and-swap before
 * putting, and gives back by compare-and-swap what did not fit, so the
 * tokens spent are exactly the messages enqueued.
 */
#include <stdatomic.h>
#include <string.h>

#include "hopsim.h"

#define RELAXED memory_order_relaxed
#define ACQUIRE memory_order_acquire
#define RELEASE memory_order_release
#define ACQ_REL memory_order_acq_rel

/* Messages taken per claim: their lengths are kept until the claim
 * succeeds. */
#define CHUNK 64u

/* What a send writes in the header of each of its slots. */
struct stamp {
    uint64_t src;
    hs_time_t ns;
    uint64_t host_ns;
};

/* The ring's slots and longest message, as the kernel wrote them. */
static uint32_t ring_slots(const hs_chan *c)
{
    return c->ctrl->slots;
}

static uint32_t ring_msg_max(const hs_chan *c)
{
    return c->ctrl->msg_max;
}

static hs_chan_slot *slot_of(const hs_chan *c, uint64_t pos)
{
    return hs_chan_slot_at(c->data, c->ctrl->slots, c->ctrl->stride, pos);
}

/* Whether c looks like an attached end (end is 0 from the start of
 * hs_chan_detach() on: handles never are), and may index the control
 * page. */
static int end_attached(const hs_chan *c)
{
    return c && c->ctrl && c->end && c->end_slot < HS_CHAN_ENDS_MAX;
}

/* Whether *c still names end, the end an operation started on: another
 * thread of the process that detaches it clears c->end first. */
static int end_kept(const hs_chan *c, uint64_t end)
{
    return c->end == end;
}

/* HS_OK while the kernel has not revoked c's end. */
static hs_status end_valid(const hs_chan *c)
{
    uint32_t v = atomic_load_explicit(&c->ctrl->ends[c->end_slot], ACQUIRE);
    return v == c->serial ? HS_OK : HS_EBADCAP;
}

static int chan_closed(const hs_chan *c)
{
    return atomic_load_explicit(&c->ctrl->closed, ACQUIRE) != 0;
}

/* Where an operation that started on end stands (after a kernel call):
 * HS_ECLOSED when another thread detached it meanwhile, else as
 * end_valid(). */
static hs_status end_check(const hs_chan *c, uint64_t end)
{
    return end_kept(c, end) ? end_valid(c) : HS_ECLOSED;
}

/* Whether a message of len bytes, as its slot says, can be taken into a
 * buffer of size bytes: HS_ERANGE when len is over msg_max (a sender
 * wrote the slot by hand; copying it would leave the slot),
 * HS_EMSGSIZE when it does not fit the buffer. */
static hs_status len_check(const hs_chan *c, uint32_t len, size_t size)
{
    uint32_t max = ring_msg_max(c);
    if (len <= size && len <= max)
        return HS_OK;
    return len > max ? HS_ERANGE : HS_EMSGSIZE;
}

/* ---- slots -------------------------------------------------------------- */

static void slot_put(hs_chan_slot *s, const void *src, size_t len)
{
    const unsigned char *p = src;
    _Atomic uint64_t *w = s->words;
    for (; len >= 8; len -= 8, p += 8, w++) {
        uint64_t x;
        memcpy(&x, p, 8);
        atomic_store_explicit(w, x, RELAXED);
    }
    if (len) {
        uint64_t x = 0;
        memcpy(&x, p, len);
        atomic_store_explicit(w, x, RELAXED);
    }
}

static void slot_get(hs_chan_slot *s, void *dst, size_t len)
{
    unsigned char *p = dst;
    _Atomic uint64_t *w = s->words;
    for (; len >= 8; len -= 8, p += 8, w++) {
        uint64_t x = atomic_load_explicit(w, RELAXED);
        memcpy(p, &x, 8);
    }
    if (len) {
        uint64_t x = atomic_load_explicit(w, RELAXED);
        memcpy(p, &x, len);
    }
}

static void slot_write(hs_chan_slot *s, const hs_chan_msg *m,
                       const struct stamp *st)
{
    slot_put(s, m->data, m->len);
    atomic_store_explicit(&s->len, (uint32_t)m->len, RELAXED);
    atomic_store_explicit(&s->type, m->type, RELAXED);
    atomic_store_explicit(&s->src, st->src, RELAXED);
    atomic_store_explicit(&s->sent_ns, st->ns, RELAXED);
    atomic_store_explicit(&s->sent_host_ns, st->host_ns, RELAXED);
}

/* The header of a slot being taken: m's type, and *meta when asked. */
static void slot_meta(hs_chan_slot *s, hs_chan_msg *m, hs_chan_meta *meta)
{
    m->type = atomic_load_explicit(&s->type, RELAXED);
    if (!meta)
        return;
    meta->type = m->type;
    meta->src = atomic_load_explicit(&s->src, RELAXED);
    meta->sent_ns = atomic_load_explicit(&s->sent_ns, RELAXED);
    meta->sent_host_ns = atomic_load_explicit(&s->sent_host_ns, RELAXED);
}

/* ---- SPSC ------------------------------------------------------------------- */

/* Put as many of m[0..n-1] as fit; how many (*pos: the first's
 * position). */
static size_t spsc_put(hs_chan *c, const hs_chan_msg *m, size_t n,
                       const struct stamp *st, uint64_t *pos)
{
    hs_chan_idx *x = c->idx;
    uint64_t t = atomic_load_explicit(&x->tail, RELAXED);
    uint64_t h = atomic_load_explicit(&x->head, ACQUIRE);
    uint64_t room = ring_slots(c) - (t - h);
    size_t k = n < room ? n : (size_t)room;
    for (size_t i = 0; i < k; i++)
        slot_write(slot_of(c, t + i), &m[i], st);
    *pos = t;
    if (k)
        atomic_store_explicit(&x->tail, t + k, RELEASE);
    return k;
}

/* The ring is full: drop the oldest message.  1 if this call dropped
 * one, 0 if there is room again (the receiver took some). */
static int spsc_drop_oldest(hs_chan *c)
{
    hs_chan_idx *x = c->idx;
    uint64_t h = atomic_load_explicit(&x->head, ACQUIRE);
    uint64_t t = atomic_load_explicit(&x->tail, RELAXED);
    if (t - h < ring_slots(c))
        return 0;
    return atomic_compare_exchange_strong_explicit(&x->head, &h, h + 1,
                                                   ACQ_REL, ACQUIRE);
}

/* Take up to n (<= CHUNK) messages that fit their buffers (their
 * headers into meta[0..], if not NULL); *got how many.  When the first
 * cannot be taken: HS_EMSGSIZE or HS_ERANGE (len_check()), or HS_ERANGE
 * when tail is more than a ring ahead of head (or behind it). */
static hs_status spsc_get(hs_chan *c, hs_chan_msg *m, hs_chan_meta *meta,
                          size_t n, size_t *got)
{
    hs_chan_idx *x = c->idx;
    int stealable = c->overflow == HS_CHAN_DROP_OLDEST;
    uint32_t lens[CHUNK];
    for (;;) {
        uint64_t h = atomic_load_explicit(&x->head, ACQUIRE);
        uint64_t t = atomic_load_explicit(&x->tail, ACQUIRE);
        *got = 0;
        if (t - h > ring_slots(c)) {
            /* A dropping sender may have moved both since head was read. */
            if (atomic_load_explicit(&x->head, ACQUIRE) != h)
                continue;
            return HS_ERANGE;
        }
        size_t k = 0;
        hs_status why = HS_OK;
        while (k < n && h + k != t) {
            hs_chan_slot *s = slot_of(c, h + k);
            lens[k] = atomic_load_explicit(&s->len, RELAXED);
            if ((why = len_check(c, lens[k], m[k].len)) != HS_OK)
                break;
            slot_get(s, m[k].data, lens[k]);
            slot_meta(s, &m[k], meta ? &meta[k] : NULL);
            k++;
        }
        if (k == 0)
            return why;
        if (!stealable)
            atomic_store_explicit(&x->head, h + k, RELEASE);
        else if (!atomic_compare_exchange_strong_explicit(
                     &x->head, &h, h + k, ACQ_REL, ACQUIRE))
            continue;           /* a sender dropped some: read again */
        for (size_t i = 0; i < k; i++)
            m[i].len = lens[i];
        *got = k;
        return HS_OK;
    }
}

/* ---- MPSC (Vyukov) ---------------------------------------------------------- */

static size_t mpsc_put(hs_chan *c, const hs_chan_msg *m, size_t n,
                       const struct stamp *st, uint64_t *at)
{
    hs_chan_idx *x = c->idx;
    uint32_t slots = ring_slots(c);
    uint64_t pos = atomic_load_explicit(&x->tail, RELAXED);
    for (;;) {
        size_t k = 0;
        while (k < n && k < slots &&
               atomic_load_explicit(&slot_of(c, pos + k)->seq, ACQUIRE) ==
                   pos + k)
            k++;
        if (k == 0) {
            uint64_t seq = atomic_load_explicit(&slot_of(c, pos)->seq,
                                                ACQUIRE);
            if ((int64_t)(seq - pos) < 0)
                return 0;       /* full */
            pos = atomic_load_explicit(&x->tail, RELAXED);
            continue;
        }
        if (atomic_compare_exchange_weak_explicit(&x->tail, &pos, pos + k,
                                                  RELAXED, RELAXED)) {
            for (size_t i = 0; i < k; i++) {
                hs_chan_slot *s = slot_of(c, pos + i);
                slot_write(s, &m[i], st);
                atomic_store_explicit(&s->seq, pos + i + 1, RELEASE);
            }
            *at = pos;
            return k;
        }
    }
}

/* Claim positions [pos, pos + k) as the receiver and free their slots
 * once read into m (lengths in lens; headers into meta if not NULL). */
static void mpsc_take(hs_chan *c, uint64_t pos, size_t k, hs_chan_msg *m,
                      hs_chan_meta *meta, const uint32_t *lens)
{
    for (size_t i = 0; i < k; i++) {
        hs_chan_slot *s = slot_of(c, pos + i);
        if (m) {
            slot_get(s, m[i].data, lens[i]);
            m[i].len = lens[i];
            slot_meta(s, &m[i], meta ? &meta[i] : NULL);
        }
        atomic_store_explicit(&s->seq, pos + i + ring_slots(c), RELEASE);
    }
}

/* How many of the messages from pos on are published and fit m (up to
 * n; m NULL: not to be copied, any length goes); *why says why the first
 * that stops the count cannot be taken (len_check()), HS_OK when it is
 * not there. */
static size_t mpsc_ready(hs_chan *c, uint64_t pos, hs_chan_msg *m, size_t n,
                         uint32_t *lens, hs_status *why)
{
    size_t k = 0;
    *why = HS_OK;
    while (k < n) {
        hs_chan_slot *s = slot_of(c, pos + k);
        if (atomic_load_explicit(&s->seq, ACQUIRE) != pos + k + 1)
            break;
        lens[k] = atomic_load_explicit(&s->len, RELAXED);
        if (m && (*why = len_check(c, lens[k], m[k].len)) != HS_OK)
            break;
        k++;
    }
    return k;
}

static hs_status mpsc_get(hs_chan *c, hs_chan_msg *m, hs_chan_meta *meta,
                          size_t n, size_t *got)
{
    hs_chan_idx *x = c->idx;
    uint32_t lens[CHUNK];
    uint64_t pos = atomic_load_explicit(&x->head, ACQUIRE);
    *got = 0;
    for (;;) {
        hs_status why;
        size_t k = mpsc_ready(c, pos, m, n, lens, &why);
        if (k == 0) {
            uint64_t now = atomic_load_explicit(&x->head, ACQUIRE);
            if (now != pos) {   /* a sender dropped the oldest */
                pos = now;
                continue;
            }
            return why;
        }
        if (atomic_compare_exchange_strong_explicit(&x->head, &pos, pos + k,
                                                    ACQ_REL, ACQUIRE)) {
            mpsc_take(c, pos, k, m, meta, lens);
            *got = k;
            return HS_OK;
        }
    }
}

/* The ring is full: drop the oldest message, as a receiver would take
 * it.  1 if this call dropped one. */
static int mpsc_drop_oldest(hs_chan *c)
{
    uint32_t len;
    hs_status why;
    uint64_t pos = atomic_load_explicit(&c->idx->head, ACQUIRE);
    if (mpsc_ready(c, pos, NULL, 1, &len, &why) != 1 ||
        !atomic_compare_exchange_strong_explicit(&c->idx->head, &pos,
                                                 pos + 1, ACQ_REL, ACQUIRE))
        return 0;
    mpsc_take(c, pos, 1, NULL, NULL, NULL);
    return 1;
}

/* ---- statistics and policy ------------------------------------------------------ */

static void count(_Atomic uint64_t *ctr, uint64_t n)
{
    atomic_fetch_add_explicit(ctr, n, RELAXED);
}

/* Histogram bucket of a latency of ns: 0 for 0, else 1 + floor(log2),
 * the last bucket taking everything longer. */
static unsigned lat_bucket(uint64_t ns)
{
    unsigned b = ns ? 64u - (unsigned)__builtin_clzll(ns) : 0u;
    return b < HS_CHAN_HIST_BUCKETS ? b : HS_CHAN_HIST_BUCKETS - 1;
}

static uint64_t since(uint64_t now, uint64_t then)
{
    return now > then ? now - then : 0;
}

/* k messages m[0..k-1] (headers in meta) were just received. */
static void stats_received(hs_chan *c, const hs_chan_msg *m,
                           const hs_chan_meta *meta, size_t k)
{
    hs_chan_counters *x = &c->idx->stats;
    hs_time_t now = hs_time_now();
    uint64_t host = hs_time_host_ns();
    uint64_t bytes = 0;
    for (size_t i = 0; i < k; i++) {
        bytes += m[i].len;
        count(&x->lat_virt[lat_bucket(since(now, meta[i].sent_ns))], 1);
        count(&x->lat_host[lat_bucket(since(host, meta[i].sent_host_ns))],
              1);
    }
    count(&x->received, k);
    count(&x->received_bytes, bytes);
}

/* The size and type rules of pol for m[0..n-1]: the first refusal, each
 * message of the batch counted as refused. */
static hs_status policy_filter(hs_chan *c, uint32_t pol,
                               const hs_chan_msg *m, size_t n)
{
    const hs_chan_ctrl *ctrl = c->ctrl;
    uint32_t size_max = atomic_load_explicit(&ctrl->size_max, RELAXED);
    uint64_t types = atomic_load_explicit(&ctrl->types, RELAXED);
    for (size_t i = 0; i < n; i++) {
        if ((pol & HS_CHAN_POL_SIZE) && m[i].len > size_max) {
            count(&c->idx->stats.refused_size, n);
            return HS_EMSGSIZE;
        }
        if ((pol & HS_CHAN_POL_TYPES) &&
            (m[i].type >= 64 || !(types >> m[i].type & 1))) {
            count(&c->idx->stats.refused_type, n);
            return HS_EFILTER;
        }
    }
    return HS_OK;
}

/* Take up to want tokens from the channel's bucket (GCRA: the bucket is
 * full when tat <= now, and holds burst tokens of interval ns each); how
 * many were taken. */
static size_t rate_take(hs_chan *c, size_t want)
{
    uint64_t t = atomic_load_explicit(&c->ctrl->interval, RELAXED);
    uint64_t full = (uint64_t)atomic_load_explicit(&c->ctrl->burst,
                                                   RELAXED) * t;
    hs_time_t now = hs_time_now();
    uint64_t tat = atomic_load_explicit(&c->idx->tat, RELAXED);
    for (;;) {
        uint64_t base = tat > now ? tat : now;
        uint64_t ahead = base - now;            /* spent, not refilled */
        uint64_t can = (t && ahead < full) ? (full - ahead) / t : 0;
        if (can == 0)
            return 0;
        if (can > want)
            can = want;
        if (atomic_compare_exchange_weak_explicit(&c->idx->tat, &tat,
                                                  base + can * t, RELAXED,
                                                  RELAXED))
            return (size_t)can;
    }
}

/* Give back n tokens taken by rate_take() for messages not enqueued. */
static void rate_refund(hs_chan *c, size_t n)
{
    uint64_t back = n * atomic_load_explicit(&c->ctrl->interval, RELAXED);
    uint64_t tat = atomic_load_explicit(&c->idx->tat, RELAXED);
    while (!atomic_compare_exchange_weak_explicit(
        &c->idx->tat, &tat, tat > back ? tat - back : 0, RELAXED, RELAXED))
        ;
}

/* k messages m[0..k-1] went into the ring at positions pos.. */
static void policy_sent(hs_chan *c, uint32_t pol, const hs_chan_msg *m,
                        size_t k, uint64_t pos)
{
    if (pol & HS_CHAN_POL_STATS) {
        uint64_t bytes = 0;
        for (size_t i = 0; i < k; i++)
            bytes += m[i].len;
        count(&c->idx->stats.sent, k);
        count(&c->idx->stats.sent_bytes, bytes);
    }
    if (pol & HS_CHAN_POL_AUDIT)
        (void)hs_chan_end_audit(c->end, m, k, pos);
}

/* ---- either kind --------------------------------------------------------------- */

static size_t ring_put(hs_chan *c, const hs_chan_msg *m, size_t n,
                       const struct stamp *st, uint64_t *pos)
{
    return c->kind == HS_CHAN_SPSC ? spsc_put(c, m, n, st, pos)
                                   : mpsc_put(c, m, n, st, pos);
}

static int ring_drop_oldest(hs_chan *c)
{
    return c->kind == HS_CHAN_SPSC ? spsc_drop_oldest(c)
                                   : mpsc_drop_oldest(c);
}

/* Take up to n messages, CHUNK at a time, stopping at the first that is
 * not there or does not fit; their headers into meta[0..] if not NULL.
 * Under HS_CHAN_POL_STATS each chunk is counted as it is taken. */
static hs_status ring_get(hs_chan *c, hs_chan_msg *m, hs_chan_meta *meta,
                          size_t n, size_t *got)
{
    int stats = (atomic_load_explicit(&c->ctrl->policy, RELAXED) &
                 HS_CHAN_POL_STATS) != 0;
    hs_chan_meta local[CHUNK];
    size_t total = 0;
    hs_status st = HS_OK;
    while (total < n) {
        size_t want = n - total < CHUNK ? n - total : CHUNK, k = 0;
        hs_chan_meta *mm = meta ? meta + total : stats ? local : NULL;
        st = c->kind == HS_CHAN_SPSC ? spsc_get(c, m + total, mm, want, &k)
                                     : mpsc_get(c, m + total, mm, want, &k);
        if (stats && k)
            stats_received(c, m + total, mm, k);
        total += k;
        if (st != HS_OK || k < want)
            break;
    }
    *got = total;
    return total ? HS_OK : st;
}

/* Wake the other side if some of it sleeps (or is about to). */
static void wake_if_waiting(hs_chan *c, _Atomic uint32_t *count)
{
    atomic_thread_fence(memory_order_seq_cst);
    if (atomic_load_explicit(count, RELAXED))
        (void)hs_chan_end_wake(c->end);
}

/* Virtual time left before deadline: HS_NEVER, or 0 once it has passed. */
static hs_time_t time_left(hs_time_t deadline)
{
    if (deadline == HS_NEVER)
        return HS_NEVER;
    hs_time_t now = hs_time_now();
    return now >= deadline ? 0 : deadline - now;
}

static hs_time_t deadline_of(hs_time_t timeout)
{
    return timeout == HS_NEVER ? HS_NEVER : hs_time_now() + timeout;
}

/* Sleep on c's end until it may make progress or deadline passes;
 * HS_ECLOSED when another thread detached it meanwhile. */
static hs_status end_sleep(const hs_chan *c, _Atomic uint32_t *count,
                           hs_time_t deadline)
{
    uint64_t end = c->end;
    hs_time_t left = time_left(deadline);
    if (left == 0)
        return HS_ETIMEOUT;
    atomic_fetch_add(count, 1);     /* seq_cst: see the top */
    hs_status st = hs_chan_end_sleep(end, left);
    return end_kept(c, end) ? st : HS_ECLOSED;
}

/* ---- sending ---------------------------------------------------------------------- */

static hs_status send_check(const hs_chan *c, const hs_chan_msg *m, size_t n)
{
    if (!end_attached(c) || !m || !n || c->role != HS_CHAN_SENDER)
        return HS_EINVAL;
    uint32_t max = ring_msg_max(c);
    for (size_t i = 0; i < n; i++) {
        if (!m[i].data || !m[i].len)
            return HS_EINVAL;
        if (m[i].len > max)
            return HS_EMSGSIZE;
    }
    return HS_OK;
}

/* The ring was full with left messages still to send: what the policy
 * says.  HS_OK to try again (DROP_OLDEST made room, BLOCK slept);
 * anything else ends the send (DROP_NEWEST ends it with HS_OK, *over
 * set). */
static hs_status send_full(hs_chan *c, size_t left, hs_time_t *deadline,
                           int *over)
{
    switch (c->overflow) {
    case HS_CHAN_FAIL:
        return HS_EFULL;
    case HS_CHAN_DROP_NEWEST:
        atomic_fetch_add_explicit(&c->idx->dropped, left, RELAXED);
        *over = 1;
        return HS_OK;
    case HS_CHAN_DROP_OLDEST:
        if (ring_drop_oldest(c))
            atomic_fetch_add_explicit(&c->idx->dropped, 1, RELAXED);
        else        /* another CPU is mid-operation: let it finish */
            (void)hs_thread_yield();
        return HS_OK;
    default:
        if (c->timeout == HS_NOWAIT)
            return HS_ETIMEOUT;
        if (*deadline == 0)
            *deadline = deadline_of(c->timeout);
        count(&c->idx->stats.full_waits, 1);
        return end_sleep(c, &c->idx->send_waiting, *deadline);
    }
}

/* One round of a send: put what the rate limit and the ring take of
 * m[0..n-1] under policy pol (0: none); how many.  0 with *st = HS_ERATE
 * when the bucket has no token (the n messages counted as refused). */
static size_t send_round(hs_chan *c, uint32_t pol, const hs_chan_msg *m,
                         size_t n, hs_status *st)
{
    struct stamp sp = {
        .src = atomic_load_explicit(&c->ctrl->pids[c->end_slot], RELAXED),
        .ns = hs_time_now(),
    };
    uint64_t pos = 0;
    if (!pol)
        return ring_put(c, m, n, &sp, &pos);
    size_t want = n;
    if (pol & HS_CHAN_POL_RATE) {
        want = rate_take(c, n);
        if (!want) {
            count(&c->idx->stats.refused_rate, n);
            *st = HS_ERATE;
            return 0;
        }
    }
    if (pol & HS_CHAN_POL_STATS)
        sp.host_ns = hs_time_host_ns();
    size_t k = ring_put(c, m, want, &sp, &pos);
    if ((pol & HS_CHAN_POL_RATE) && k < want)
        rate_refund(c, want - k);
    if (k)
        policy_sent(c, pol, m, k, pos);
    return k;
}

hs_status hs_chan_send_batch(hs_chan *c, const hs_chan_msg *msgs, size_t n,
                             size_t *sent)
{
    size_t done = 0;
    hs_time_t deadline = 0;
    int over = 0;
    uint32_t pol = 0;
    hs_status st = send_check(c, msgs, n);
    uint64_t end = st == HS_OK ? c->end : 0;
    if (st == HS_OK &&
        (pol = atomic_load_explicit(&c->ctrl->policy, RELAXED)) != 0)
        st = policy_filter(c, pol, msgs, n);
    while (st == HS_OK && done < n && !over) {
        if ((st = end_check(c, end)) != HS_OK)
            break;
        if (chan_closed(c)) {
            st = HS_ECLOSED;
            break;
        }
        size_t k = send_round(c, pol, msgs + done, n - done, &st);
        done += k;
        /* Under HS_CHAN_POL_AUDIT, send_round() entered the kernel. */
        if (k && end_kept(c, end))
            wake_if_waiting(c, &c->idx->recv_waiting);
        if (st == HS_OK && done < n && !k)
            st = send_full(c, n - done, &deadline, &over);
    }
    if (sent)
        *sent = done;
    return st;
}

hs_status hs_chan_send(hs_chan *c, const void *msg, size_t len)
{
    return hs_chan_send_typed(c, 0, msg, len);
}

hs_status hs_chan_send_typed(hs_chan *c, uint32_t type, const void *msg,
                             size_t len)
{
    hs_chan_msg m = { .data = (void *)msg, .len = len, .type = type };
    return hs_chan_send_batch(c, &m, 1, NULL);
}

/* ---- receiving ---------------------------------------------------------------------- */

/* hs_chan_recv_batch(), the headers into meta[0..] if not NULL. */
static hs_status recv_batch(hs_chan *c, hs_chan_msg *msgs, hs_chan_meta *meta,
                            size_t n, size_t *got, hs_time_t timeout)
{
    if (!end_attached(c) || !msgs || !n || !got ||
        c->role != HS_CHAN_RECEIVER ||
        (timeout != HS_NEVER && timeout > HS_TIMEOUT_MAX))
        return HS_EINVAL;
    uint64_t end = c->end;
    hs_time_t deadline = 0;
    *got = 0;
    for (;;) {
        hs_status st = end_check(c, end);
        if (st != HS_OK)
            return st;
        /* Read before looking: what was sent before the close is seen. */
        int closed = chan_closed(c);
        size_t k = 0;
        st = ring_get(c, msgs, meta, n, &k);
        if (k) {
            *got = k;
            wake_if_waiting(c, &c->idx->send_waiting);
            return HS_OK;
        }
        if (st != HS_OK)
            return st;
        if (closed)
            return HS_ECLOSED;
        if (timeout == HS_NOWAIT)
            return HS_ETIMEOUT;
        if (deadline == 0)
            deadline = deadline_of(timeout);
        count(&c->idx->stats.empty_waits, 1);
        st = end_sleep(c, &c->idx->recv_waiting, deadline);
        if (st != HS_OK)
            return st;
    }
}

hs_status hs_chan_recv_batch(hs_chan *c, hs_chan_msg *msgs, size_t n,
                             size_t *got, hs_time_t timeout)
{
    return recv_batch(c, msgs, NULL, n, got, timeout);
}

hs_status hs_chan_recv(hs_chan *c, void *buf, size_t size, size_t *len,
                       hs_time_t timeout)
{
    if (!buf || !len)
        return HS_EINVAL;
    hs_chan_msg m = { .data = buf, .len = size };
    size_t got = 0;
    hs_status st = recv_batch(c, &m, NULL, 1, &got, timeout);
    if (st == HS_OK)
        *len = m.len;
    return st;
}

hs_status hs_chan_recv_ex(hs_chan *c, void *buf, size_t size, size_t *len,
                          hs_chan_meta *meta, hs_time_t timeout)
{
    if (!buf || !len || !meta)
        return HS_EINVAL;
    hs_chan_msg m = { .data = buf, .len = size };
    size_t got = 0;
    hs_status st = recv_batch(c, &m, meta, 1, &got, timeout);
    if (st == HS_OK)
        *len = m.len;
    return st;
}

/* ---- attaching ------------------------------------------------------------------------ */

/* The three host pointers of the mapping the kernel made. */
static hs_status ring_pointers(hs_chan *c)
{
    void *ctrl, *idx, *data;
    unsigned rw = HS_PROT_READ | HS_PROT_WRITE;
    hs_status st = hs_mem_ptr(c->va + HS_CHAN_CTRL_OFF, HS_PAGE_4K,
                              HS_PROT_READ, &ctrl);
    if (st == HS_OK)
        st = hs_mem_ptr(c->va + HS_CHAN_IDX_OFF, HS_PAGE_4K, rw, &idx);
    if (st == HS_OK)
        st = hs_mem_ptr(c->va + HS_CHAN_DATA_OFF,
                        c->len - HS_CHAN_DATA_OFF, rw, &data);
    if (st == HS_OK) {
        c->ctrl = ctrl;
        c->idx = idx;
        c->data = data;
    }
    return st;
}

hs_status hs_chan_attach(hs_cap_t cap, unsigned role, uint64_t va,
                         hs_chan *c)
{
    if (!c)
        return HS_EINVAL;
    hs_chan got;
    hs_status st = hs_chan_end_map(cap, role, va, &got);
    if (st != HS_OK)
        return st;
    st = ring_pointers(&got);
    if (st != HS_OK) {
        (void)hs_chan_end_unmap(got.end);
        return st;
    }
    *c = got;
    return HS_OK;
}

/* c->end is cleared before the kernel is entered, so that a call on c
 * under way in another thread sees the end gone (end_kept()) whenever it
 * runs again, whichever runs first once the kernel call is over. */
hs_status hs_chan_detach(hs_chan *c)
{
    if (!c || !c->ctrl || !c->end)
        return HS_EINVAL;
    uint64_t end = c->end;
    c->end = 0;
    hs_status st = hs_chan_end_unmap(end);
    if (st == HS_OK)
        memset(c, 0, sizeof *c);
    else
        c->end = end;
    return st;
}

hs_status hs_chan_info_get(const hs_chan *c, hs_chan_info *info)
{
    if (!end_attached(c) || !info)
        return HS_EINVAL;
    hs_status st = end_valid(c);
    if (st != HS_OK)
        return st;
    uint64_t head = atomic_load_explicit(&c->idx->head, ACQUIRE);
    uint64_t tail = atomic_load_explicit(&c->idx->tail, ACQUIRE);
    info->queued = tail - head;
    info->dropped = atomic_load_explicit(&c->idx->dropped, RELAXED);
    info->closed = chan_closed(c);
    return HS_OK;
}

hs_status hs_chan_stats_get(const hs_chan *c, hs_chan_stats *out)
{
    if (!end_attached(c) || !out)
        return HS_EINVAL;
    hs_status st = end_valid(c);
    if (st != HS_OK)
        return st;
    hs_chan_counters *x = &c->idx->stats;
    *out = (hs_chan_stats){
        .sent = atomic_load_explicit(&x->sent, RELAXED),
        .sent_bytes = atomic_load_explicit(&x->sent_bytes, RELAXED),
        .received = atomic_load_explicit(&x->received, RELAXED),
        .received_bytes = atomic_load_explicit(&x->received_bytes, RELAXED),
        .dropped = atomic_load_explicit(&c->idx->dropped, RELAXED),
        .refused_rate = atomic_load_explicit(&x->refused_rate, RELAXED),
        .refused_size = atomic_load_explicit(&x->refused_size, RELAXED),
        .refused_type = atomic_load_explicit(&x->refused_type, RELAXED),
        .full_waits = atomic_load_explicit(&x->full_waits, RELAXED),
        .empty_waits = atomic_load_explicit(&x->empty_waits, RELAXED),
    };
    for (unsigned i = 0; i < HS_CHAN_HIST_BUCKETS; i++) {
        out->lat_virt[i] = atomic_load_explicit(&x->lat_virt[i], RELAXED);
        out->lat_host[i] = atomic_load_explicit(&x->lat_host[i], RELAXED);
    }
    return HS_OK;
}
