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

static hs_chan_slot *slot_of(const hs_chan *c, uint64_t pos)
{
    return hs_chan_slot_at(c->data, c->slots, c->stride, pos);
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

static void slot_write(hs_chan_slot *s, const hs_chan_msg *m)
{
    slot_put(s, m->data, m->len);
    atomic_store_explicit(&s->len, (uint32_t)m->len, RELAXED);
}

/* ---- SPSC ------------------------------------------------------------------- */

/* Put as many of m[0..n-1] as fit; how many. */
static size_t spsc_put(hs_chan *c, const hs_chan_msg *m, size_t n)
{
    hs_chan_idx *x = c->idx;
    uint64_t t = atomic_load_explicit(&x->tail, RELAXED);
    uint64_t h = atomic_load_explicit(&x->head, ACQUIRE);
    uint64_t room = c->slots - (t - h);
    size_t k = n < room ? n : (size_t)room;
    for (size_t i = 0; i < k; i++)
        slot_write(slot_of(c, t + i), &m[i]);
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
    if (t - h < c->slots)
        return 0;
    return atomic_compare_exchange_strong_explicit(&x->head, &h, h + 1,
                                                   ACQ_REL, ACQUIRE);
}

/* Take up to n (<= CHUNK) messages that fit their buffers; *got how many.
 * HS_EMSGSIZE when the first does not fit. */
static hs_status spsc_get(hs_chan *c, hs_chan_msg *m, size_t n, size_t *got)
{
    hs_chan_idx *x = c->idx;
    int stealable = c->overflow == HS_CHAN_DROP_OLDEST;
    uint32_t lens[CHUNK];
    for (;;) {
        uint64_t h = atomic_load_explicit(&x->head, ACQUIRE);
        uint64_t t = atomic_load_explicit(&x->tail, ACQUIRE);
        size_t k = 0;
        while (k < n && h + k != t) {
            hs_chan_slot *s = slot_of(c, h + k);
            lens[k] = atomic_load_explicit(&s->len, RELAXED);
            if (lens[k] > m[k].len)
                break;
            slot_get(s, m[k].data, lens[k]);
            k++;
        }
        *got = 0;
        if (k == 0)
            return (h != t) ? HS_EMSGSIZE : HS_OK;
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

static size_t mpsc_put(hs_chan *c, const hs_chan_msg *m, size_t n)
{
    hs_chan_idx *x = c->idx;
    uint64_t pos = atomic_load_explicit(&x->tail, RELAXED);
    for (;;) {
        size_t k = 0;
        while (k < n && k < c->slots &&
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
                slot_write(s, &m[i]);
                atomic_store_explicit(&s->seq, pos + i + 1, RELEASE);
            }
            return k;
        }
    }
}

/* Claim positions [pos, pos + k) as the receiver and free their slots
 * once read into m (lengths in lens). */
static void mpsc_take(hs_chan *c, uint64_t pos, size_t k, hs_chan_msg *m,
                      const uint32_t *lens)
{
    for (size_t i = 0; i < k; i++) {
        hs_chan_slot *s = slot_of(c, pos + i);
        if (m) {
            slot_get(s, m[i].data, lens[i]);
            m[i].len = lens[i];
        }
        atomic_store_explicit(&s->seq, pos + i + c->slots, RELEASE);
    }
}

/* How many of the messages from pos on are published and fit m (up to
 * n); *too_big when the first that stops the count does not fit. */
static size_t mpsc_ready(hs_chan *c, uint64_t pos, hs_chan_msg *m, size_t n,
                         uint32_t *lens, int *too_big)
{
    size_t k = 0;
    *too_big = 0;
    while (k < n) {
        hs_chan_slot *s = slot_of(c, pos + k);
        if (atomic_load_explicit(&s->seq, ACQUIRE) != pos + k + 1)
            break;
        lens[k] = atomic_load_explicit(&s->len, RELAXED);
        if (m && lens[k] > m[k].len) {
            *too_big = 1;
            break;
        }
        k++;
    }
    return k;
}

static hs_status mpsc_get(hs_chan *c, hs_chan_msg *m, size_t n, size_t *got)
{
    hs_chan_idx *x = c->idx;
    uint32_t lens[CHUNK];
    uint64_t pos = atomic_load_explicit(&x->head, ACQUIRE);
    *got = 0;
    for (;;) {
        int too_big;
        size_t k = mpsc_ready(c, pos, m, n, lens, &too_big);
        if (k == 0) {
            uint64_t now = atomic_load_explicit(&x->head, ACQUIRE);
            if (now != pos) {   /* a sender dropped the oldest */
                pos = now;
                continue;
            }
            return too_big ? HS_EMSGSIZE : HS_OK;
        }
        if (atomic_compare_exchange_strong_explicit(&x->head, &pos, pos + k,
                                                    ACQ_REL, ACQUIRE)) {
            mpsc_take(c, pos, k, m, lens);
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
    int too_big;
    uint64_t pos = atomic_load_explicit(&c->idx->head, ACQUIRE);
    if (mpsc_ready(c, pos, NULL, 1, &len, &too_big) != 1 ||
        !atomic_compare_exchange_strong_explicit(&c->idx->head, &pos,
                                                 pos + 1, ACQ_REL, ACQUIRE))
        return 0;
    mpsc_take(c, pos, 1, NULL, NULL);
    return 1;
}

/* ---- either kind --------------------------------------------------------------- */

static size_t ring_put(hs_chan *c, const hs_chan_msg *m, size_t n)
{
    return c->kind == HS_CHAN_SPSC ? spsc_put(c, m, n) : mpsc_put(c, m, n);
}

static int ring_drop_oldest(hs_chan *c)
{
    return c->kind == HS_CHAN_SPSC ? spsc_drop_oldest(c)
                                   : mpsc_drop_oldest(c);
}

/* Take up to n messages, CHUNK at a time, stopping at the first that is
 * not there or does not fit. */
static hs_status ring_get(hs_chan *c, hs_chan_msg *m, size_t n, size_t *got)
{
    size_t total = 0;
    hs_status st = HS_OK;
    while (total < n) {
        size_t want = n - total < CHUNK ? n - total : CHUNK, k = 0;
        st = c->kind == HS_CHAN_SPSC ? spsc_get(c, m + total, want, &k)
                                     : mpsc_get(c, m + total, want, &k);
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

/* Sleep on c's end until it may make progress or deadline passes. */
static hs_status end_sleep(hs_chan *c, _Atomic uint32_t *count,
                           hs_time_t deadline)
{
    hs_time_t left = time_left(deadline);
    if (left == 0)
        return HS_ETIMEOUT;
    atomic_fetch_add(count, 1);     /* seq_cst: see the top */
    return hs_chan_end_sleep(c->end, left);
}

/* ---- sending ---------------------------------------------------------------------- */

static hs_status send_check(const hs_chan *c, const hs_chan_msg *m, size_t n)
{
    if (!c || !c->ctrl || !m || !n || c->role != HS_CHAN_SENDER)
        return HS_EINVAL;
    for (size_t i = 0; i < n; i++) {
        if (!m[i].data || !m[i].len)
            return HS_EINVAL;
        if (m[i].len > c->msg_max)
            return HS_EMSGSIZE;
    }
    return HS_OK;
}

/* The ring was full with n - done messages still to send: what the
 * policy says.  HS_OK to try again (DROP_OLDEST made room, BLOCK slept);
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
        return end_sleep(c, &c->idx->send_waiting, *deadline);
    }
}

hs_status hs_chan_send_batch(hs_chan *c, const hs_chan_msg *msgs, size_t n,
                             size_t *sent)
{
    size_t done = 0;
    hs_time_t deadline = 0;
    int over = 0;
    hs_status st = send_check(c, msgs, n);
    while (st == HS_OK && done < n && !over) {
        if ((st = end_valid(c)) != HS_OK)
            break;
        if (chan_closed(c)) {
            st = HS_ECLOSED;
            break;
        }
        size_t k = ring_put(c, msgs + done, n - done);
        done += k;
        if (k)
            wake_if_waiting(c, &c->idx->recv_waiting);
        if (done < n && !k)
            st = send_full(c, n - done, &deadline, &over);
    }
    if (sent)
        *sent = done;
    return st;
}

hs_status hs_chan_send(hs_chan *c, const void *msg, size_t len)
{
    hs_chan_msg m = { .data = (void *)msg, .len = len };
    return hs_chan_send_batch(c, &m, 1, NULL);
}

/* ---- receiving ---------------------------------------------------------------------- */

hs_status hs_chan_recv_batch(hs_chan *c, hs_chan_msg *msgs, size_t n,
                             size_t *got, hs_time_t timeout)
{
    if (!c || !c->ctrl || !msgs || !n || !got ||
        c->role != HS_CHAN_RECEIVER ||
        (timeout != HS_NEVER && timeout > HS_TIMEOUT_MAX))
        return HS_EINVAL;
    hs_time_t deadline = 0;
    *got = 0;
    for (;;) {
        hs_status st = end_valid(c);
        if (st != HS_OK)
            return st;
        /* Read before looking: what was sent before the close is seen. */
        int closed = chan_closed(c);
        size_t k = 0;
        st = ring_get(c, msgs, n, &k);
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
        st = end_sleep(c, &c->idx->recv_waiting, deadline);
        if (st != HS_OK)
            return st;
    }
}

hs_status hs_chan_recv(hs_chan *c, void *buf, size_t size, size_t *len,
                       hs_time_t timeout)
{
    if (!buf || !len)
        return HS_EINVAL;
    hs_chan_msg m = { .data = buf, .len = size };
    size_t got = 0;
    hs_status st = hs_chan_recv_batch(c, &m, 1, &got, timeout);
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

hs_status hs_chan_detach(hs_chan *c)
{
    if (!c || !c->ctrl)
        return HS_EINVAL;
    hs_status st = hs_chan_end_unmap(c->end);
    if (st == HS_OK)
        memset(c, 0, sizeof *c);
    return st;
}

hs_status hs_chan_info_get(const hs_chan *c, hs_chan_info *info)
{
    if (!c || !c->ctrl || !info)
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
