/*
 * ports/ipc.c - synchronous IPC through gates: send, receive, call, reply.
 *
 * Each system call is decode (every check; may fail; changes nothing) then
 * invoke (cannot fail).  A thread blocked sending sits on its receiver's
 * `senders` queue, by priority; a receiver that finds it there takes the
 * message from the sender's UTCB.  A caller, once its message is taken,
 * stays blocked in the reply wait, identified by its call number, which is
 * what the receiver's implicit reply capability names: a reply that comes
 * after the caller gave up finds another number (or no caller) and fails
 * with HS_ESTALE instead of landing in a later call.
 */
#include <string.h>

#include "core/cap.h"
#include "core/fault.h"
#include "core/level.h"
#include "ports/hop.h"
#include "ports/ipc.h"
#include "ports/reply.h"
#include "core/kernel.h"
#include "core/sched.h"
#include "mem/xfer.h"
#include "ports/gate.h"
#include "ports/irq.h"

#define FAST_WORDS 8    /* 64 bytes: the register fast path */

void ipc_thread_init(struct thread *t)
{
    list_init(&t->gates);
    list_init(&t->senders);
    list_init(&t->reply_waiters);
    list_init(&t->irqs);
    t->base_prio = t->prio;
}

/* ---- waits --------------------------------------------------------------- */

static inline void prio_update(struct thread *r);

/* A queued sender leaves (timeout, cancel, kill): what it lent its
 * receiver goes with it.  It stops looking like a queued sender first:
 * the receiver's priority walk follows queued senders along their
 * chain, and t may be on it (a thread sending to its own gate is its own
 * receiver), which must not queue t again. */
static void send_detach(struct thread *t)
{
    list_unlink(&t->wait_link);
    t->wait_ops = NULL;
    prio_update(t->send_gate->receiver);
}

static struct thread *send_waits_for(const struct thread *t)
{
    return t->send_gate->receiver;
}

static void send_describe(const struct thread *t, struct kbuf *b)
{
    kbuf_printf(b, "gate %u of ", handle_index(t->send_gate->obj.handle));
    thread_describe(t->send_gate->receiver, b);
}

static const struct wait_ops send_wait = {
    .what = "ipc send",
    .detach = send_detach,
    .waits_for = send_waits_for,
    .describe = send_describe,
    .ipc = 1,
};

static void recv_describe(const struct thread *t, struct kbuf *b)
{
    if (t->recv_gate)
        kbuf_printf(b, "gate %u", handle_index(t->recv_gate->obj.handle));
    else
        kbuf_printf(b, "any of its gates");
}

/* A serving receive (hs_ipc_serve) counts its thread as serving while it
 * waits, as hs_proc_serve() does: a run in which only serving threads
 * are left ends normally.  A cancel or kill uncounts it here; a message
 * uncounts it as it resumes (recv_invoke()), or, if it ends before it
 * runs again, its end does (ipc_thread_end()). */
static void serve_detach(struct thread *t)
{
    if (t->ipc_serving) {
        t->ipc_serving = 0;
        k.nserving--;
    }
}

static const struct wait_ops recv_wait = {
    .what = "ipc receive",
    .detach = serve_detach,
    .waits_for = NULL,
    .describe = recv_describe,
    .ipc = 1,
};

static void sleep_describe(const struct thread *t, struct kbuf *b)
{
    (void)t;
    kbuf_printf(b, "nobody (a sleep)");
}

/* Receive from nobody: its object is NULL, so the timer ends it with
 * HS_OK, which the receive reports as HS_ETIMEOUT. */
static const struct wait_ops sleep_wait = {
    .what = "ipc receive",
    .detach = NULL,
    .waits_for = NULL,
    .describe = sleep_describe,
    .ipc = 1,
};

/* A caller waiting for its reply is on its server's reply_waiters, so
 * that the server's end can wake it and wait_obj never outlives the
 * server. */
static void reply_detach(struct thread *t)
{
    list_unlink(&t->wait_link);
}

/* The thread a caller waits on for its reply: wait_obj. */
static struct thread *reply_waits_for(const struct thread *t)
{
    return (struct thread *)t->wait_obj;
}

static void reply_describe(const struct thread *t, struct kbuf *b)
{
    kbuf_printf(b, "the reply of ");
    thread_describe(t->wait_obj, b);
}

static const struct wait_ops reply_wait = {
    .what = "ipc call (reply)",
    .detach = reply_detach,
    .waits_for = reply_waits_for,
    .describe = reply_describe,
    .ipc = 1,
};

/* ---- message transfer -------------------------------------------------------- */

/* The capability an item of a message in process p names, checked: a
 * well-formed capability item (HS_EINVAL), a valid capability
 * (HS_EBADCAP) with the grant right and every right it passes on
 * (HS_EPERM). */
static hs_status item_resolve(struct proc *p, const uint64_t *item,
                              struct cap **out)
{
    unsigned rights = hs_item_rights(item[0]);
    if (hs_item_type(item[0]) != HS_ITEM_CAP || !rights ||
        (item[0] >> 12) != 0)
        return HS_EINVAL;
    if (item[1] > UINT32_MAX)
        return HS_EBADCAP;
    hs_status st = cap_resolve(p, (hs_cap_t)item[1], out);
    if (st == HS_OK && (!((*out)->rights & HS_CAP_GRANT) ||
                        (rights & ~(*out)->rights)))
        st = HS_EPERM;
    return st;
}

/* The typed items of t's message: each capability item checked by
 * item_resolve(), the memory items by xfer_items_check(); *caps gets the
 * number of capability items. */
static hs_status items_decode(struct thread *t, unsigned *caps)
{
    unsigned n = hs_tag_items(t->utcb.tag);
    const uint64_t *item = t->utcb.mr + hs_tag_words(t->utcb.tag);
    struct proc *p = thread_current_proc(t);
    unsigned mem = 0;
    *caps = 0;
    for (unsigned i = 0; i < n; i++, item += 2) {
        if (hs_item_type(item[0]) == HS_ITEM_MEM) {
            mem++;
            continue;
        }
        struct cap *c;
        hs_status st = item_resolve(p, item, &c);
        if (st != HS_OK)
            return st;
        (*caps)++;
    }
    return mem ? xfer_items_check(p, t->utcb.tag, t->utcb.mr) : HS_OK;
}

/* Capability items of a message (of a valid tag). */
static unsigned caps_count(const struct thread *t)
{
    unsigned n = hs_tag_items(t->utcb.tag), caps = 0;
    const uint64_t *item = t->utcb.mr + hs_tag_words(t->utcb.tag);
    for (unsigned i = 0; i < n; i++, item += 2)
        caps += hs_item_type(item[0]) != HS_ITEM_MEM;
    return caps;
}

/* Whether from's message, which has items, can land in to now: its items
 * still hold (they
 * may have changed while from was queued), to's buffer registers take
 * that many capabilities (HS_EMSGCUT) and to's process has room for them
 * (HS_EQUOTA, HS_ELIMIT, HS_ENOMEM), and its memory items land in to's
 * window (xfer_prepare(): HS_EMSGCUT, HS_EEXIST, HS_EQUOTA, HS_ENOFRAME,
 * HS_ENOMEM).  Reserves that room; the frames of copies are held by
 * *plan, which msg_copy() spends or xfer_cancel() gives back. */
static hs_status msg_check_items(struct thread *from, struct thread *to,
                                 struct xfer_plan *plan)
{
    unsigned caps;
    if (to->utcb.br[HS_BR_CAPS] < caps_count(from))
        return HS_EMSGCUT;
    hs_status st = items_decode(from, &caps);
    if (st == HS_OK && caps)
        st = cap_reserve_n(thread_current_proc(to), caps);
    if (st == HS_OK)
        st = xfer_prepare(thread_current_proc(from), thread_current_proc(to),
                          from->utcb.tag, from->utcb.mr,
                          to->utcb.br[HS_BR_MEM], plan);
    return st;
}

/* Whether from's message can land in to now (msg_check_items()).
 * Inline: most messages carry no items, and then there is nothing to
 * check. */
static inline hs_status msg_check(struct thread *from, struct thread *to,
                                  struct xfer_plan *plan)
{
    xfer_plan_init(plan);
    if (hs_tag_items(from->utcb.tag) == 0)
        return HS_OK;
    return msg_check_items(from, to, plan);
}

/* The items of a message just copied from from's UTCB into to's: each
 * capability item becomes a copy derived from the sender's capability in
 * to's space, and to's item names it; memory items go as plan says
 * (xfer_apply()). */
static void msg_copy_items(struct thread *from, struct thread *to,
                           struct xfer_plan *plan)
{
    unsigned words = hs_tag_words(from->utcb.tag);
    unsigned n = hs_tag_items(from->utcb.tag);
    struct proc *fp = thread_current_proc(from);
    struct proc *tp = thread_current_proc(to);
    for (unsigned i = 0; i < n; i++) {
        uint64_t *item = to->utcb.mr + words + 2 * i;
        if (hs_item_type(item[0]) == HS_ITEM_MEM)
            continue;
        unsigned rights = hs_item_rights(item[0]);
        struct cap *c = NULL;
        hs_status st = item_resolve(fp, item, &c);
        KASSERT(st == HS_OK, "typed item changed after its check");
        item[1] = cap_new(tp, c->kind, c->object, rights, c->label, c)->local;
    }
    if (plan->n)
        xfer_apply(from, fp, tp, from->utcb.tag, from->utcb.mr, to->utcb.mr,
                   plan);
}

/* Copy registers [0, n) of src to dst, and nothing at or past n: the
 * receiver's registers beyond the message keep their values
 * (hopsim/ipc.h).  Up to FAST_WORDS every copy has a fixed size, so each
 * is a few register moves with no call and no loop (the fast path): 8
 * words as two copies of four (a single copy of 64 bytes may become a
 * string move, which is slower); from 4 to 7 words, the first four and
 * the last four, which overlap; from 2 to 3, the first two and the last
 * two; then one word, or none.  Longer messages take one copy of their
 * length. */
static inline void mr_copy(uint64_t *dst, const uint64_t *src, unsigned n)
{
    if (n == FAST_WORDS) {
        memcpy(dst, src, 4 * sizeof *dst);
        memcpy(dst + 4, src + 4, 4 * sizeof *dst);
    } else if (n > FAST_WORDS) {
        memcpy(dst, src, n * sizeof *dst);
    } else if (n >= 4) {
        memcpy(dst, src, 4 * sizeof *dst);
        memcpy(dst + n - 4, src + n - 4, 4 * sizeof *dst);
    } else if (n >= 2) {
        memcpy(dst, src, 2 * sizeof *dst);
        memcpy(dst + n - 2, src + n - 2, 2 * sizeof *dst);
    } else if (n) {
        dst[0] = src[0];
    }
}

/* Copy the message of from's UTCB into to's (msg_check() passed with
 * plan): the tag, and exactly the registers it covers, words then items
 * (mr_copy()).  Inline: the words are the whole of most messages. */
static inline void msg_copy(struct thread *from, struct thread *to,
                            struct xfer_plan *plan)
{
    to->utcb.tag = from->utcb.tag;
    mr_copy(to->utcb.mr, from->utcb.mr,
            hs_tag_words(from->utcb.tag) + 2 * hs_tag_items(from->utcb.tag));
    if (hs_tag_items(from->utcb.tag))
        msg_copy_items(from, to, plan);
}

/* Whether a message of tag takes the register fast path: valid, no
 * items, at most FAST_WORDS words.  Those are the low 32 bits of the tag
 * being at most FAST_WORDS (above the word count there are only items,
 * reserved bits and flags), one test. */
static inline int msg_fast(uint64_t tag)
{
    return (uint32_t)tag <= FAST_WORDS;
}

/* msg_copy() of a message that takes the fast path (msg_fast()): the
 * tag and its words. */
static inline void msg_copy_fast(struct thread *from, struct thread *to)
{
    to->utcb.tag = from->utcb.tag;
    mr_copy(to->utcb.mr, from->utcb.mr, hs_tag_words(from->utcb.tag));
}

/* ---- priority inheritance ------------------------------------------------- */

/* A receiver runs at the highest of its own priority, that of the caller
 * whose reply capability it holds, and that of the first thread queued
 * to send to it (senders queue by priority), so a high-priority caller
 * waiting on a busy low-priority server lends it its priority at once,
 * not only once the server receives (seed 004). */
static int prio_inherited(const struct thread *r)
{
    int p = r->base_prio;
    if (r->reply.tid && r->reply.prio > p)
        p = r->reply.prio;
    if (!list_empty(&r->senders)) {
        const struct thread *s = container_of(r->senders.next,
                                              struct thread, wait_link);
        if (s->prio > p)
            p = s->prio;
    }
    return p;
}

static void sender_enqueue(struct thread *r, struct thread *s);

/* The longest chain of queued senders a priority change follows. */
#define PRIO_CHAIN_MAX 64

/* r's priority is prio_inherited(r) again; if r is itself queued to send
 * to another receiver, its place there and that receiver's priority
 * follow, along the chain. */
static void prio_follow(struct thread *r)
{
    for (int hops = 0; hops < PRIO_CHAIN_MAX; hops++) {
        int p = prio_inherited(r);
        if (p == r->prio)
            return;
        if (r->state == THREAD_RUNNABLE) {
            sched_dequeue(r);
            r->prio = p;
            sched_enqueue(r, 0);
        } else {
            r->prio = p;
        }
        if (r->state != THREAD_BLOCKED || r->wait_ops != &send_wait)
            return;
        struct thread *next = r->send_gate->receiver;
        list_unlink(&r->wait_link);
        sender_enqueue(next, r);
        r = next;
    }
}

/* prio_follow(r) unless nothing is lent to r nor could be: the common
 * case of every receive and reply, kept to one test. */
static inline void prio_update(struct thread *r)
{
    if (r->prio != r->base_prio || r->reply.tid || !list_empty(&r->senders))
        prio_follow(r);
}

/* Receiver r takes on caller c: the reply capability, and c's priority
 * if higher.  Calls nothing (the quick call). */
static inline void reply_cap_set(struct thread *r, struct thread *c)
{
    /* r is blocked or running, never queued: no queue to move it in. */
    r->reply.tid = c->obj.handle;
    r->reply.seq = c->call_seq;
    r->reply.prio = c->prio;
    r->reply.caller = c;
    if (c->prio > r->prio)
        r->prio = c->prio;
}

/* The reply capability is spent. */
static inline void reply_cap_clear(struct thread *r)
{
    r->reply.tid = 0;
    r->reply.seq = 0;
}

/* The reply capability is spent: back to the thread's own priority, or
 * what its queued senders lend it. */
static void reply_cap_end(struct thread *r)
{
    reply_cap_clear(r);
    prio_update(r);
}

/* Move caller c, whose message was just taken, into its reply wait: the
 * receive timeout starts now. */
static void caller_await_reply(struct thread *c, struct thread *server)
{
    plat_timer_cancel(&c->timer);
    c->wait_ops = &reply_wait;
    c->wait_obj = server;
    c->wake_phase = HS_PHASE_RECV;
    if (c->call_recv_timeout == HS_NOWAIT) {
        sched_wake(c, HS_ETIMEOUT);
        return;
    }
    list_push_back(&server->reply_waiters, &c->wait_link);
    if (c->call_recv_timeout != HS_NEVER)
        plat_timer_arm(&c->timer, plat_clock_now() + c->call_recv_timeout);
}

/* Receiver r takes sender s's queued message (msg_check() passed with
 * plan). */
static void take_from_queue(struct thread *r, struct thread *s,
                            struct xfer_plan *plan)
{
    list_unlink(&s->wait_link);
    prio_update(r);                 /* s lends it nothing from the queue */
    msg_copy(s, r, plan);
    r->recv_label = s->send_label;
    trace_message(s->send_call ? TRACE_CALL : TRACE_SEND, s, r);
    if (s->send_call) {
        reply_cap_set(r, s);
        caller_await_reply(s, r);
    } else {
        s->wait_ops = NULL;
        sched_wake(s, HS_OK);
    }
}

/* Sender s's message cannot land in its receiver: s fails with st. */
static void refuse_sender(struct thread *s, hs_status st)
{
    list_unlink(&s->wait_link);
    s->wait_ops = NULL;             /* not queued: as send_detach() */
    prio_update(s->send_gate->receiver);
    sched_wake(s, st);
}

/* The first sender queued on r through gate g (any gate if g is NULL). */
static struct thread *sender_find(struct thread *r, const struct gate *g)
{
    struct list *l;
    list_for_each(l, &r->senders) {
        struct thread *s = container_of(l, struct thread, wait_link);
        if (!g || s->send_gate == g)
            return s;
    }
    return NULL;
}

/* Queue s on r's senders: after every thread of its priority or higher. */
static void sender_enqueue(struct thread *r, struct thread *s)
{
    struct list *l;
    list_for_each(l, &r->senders) {
        struct thread *o = container_of(l, struct thread, wait_link);
        if (o->prio < s->prio)
            break;
    }
    list_insert_after(l->prev, &s->wait_link);
}

static int receiving_from(const struct thread *r, const struct gate *g)
{
    return r->state == THREAD_BLOCKED && r->wait_ops == &recv_wait &&
           (!r->recv_gate || r->recv_gate == g);
}

/* ---- send and call ------------------------------------------------------------- */

/* Decode of send and call: the gate to send through and the label. */
HOT_INLINE hs_status send_decode(struct thread *self, hs_cap_t cap,
                                 hs_time_t t1, hs_time_t t2, struct gate **g,
                                 uint64_t *label)
{
    if (!timeout_valid(t1) || !timeout_valid(t2) ||
        !ipc_tag_valid(self->utcb.tag))
        return HS_EINVAL;
    struct cap *c;
    hs_status st = gate_resolve(thread_current_proc(self), cap, HS_CAP_SEND,
                                &c, g);
    if (st != HS_OK)
        return st;
    unsigned caps;
    st = hs_tag_items(self->utcb.tag) ? items_decode(self, &caps) : HS_OK;
    if (st != HS_OK)
        return st;
    *label = c->label;
    return HS_OK;
}

/* Whether a send by self through g with timeout would wait for ever on
 * self: g is bound to self, which never receives while it sends, and the
 * timeout is HS_NEVER (a finite one just expires).  Asked only when g's
 * receiver is not waiting, which a sender to itself never finds. */
static inline int send_waits_on_self(const struct thread *self,
                                     const struct gate *g, hs_time_t timeout)
{
    return g->receiver == self && timeout == HS_NEVER;
}

/* Receiver r, waiting, has self's message in its registers: the label
 * of the capability it came through and, for a call, the reply
 * capability.  The caller wakes r. */
static inline void delivered_untraced(struct thread *self, struct thread *r,
                                      uint64_t label, int call)
{
    r->recv_label = label;
    if (call)
        reply_cap_set(r, self);
}

/* delivered_untraced(), and the trace. */
static inline void delivered(struct thread *self, struct thread *r,
                             uint64_t label, int call)
{
    trace_message(call ? TRACE_CALL : TRACE_SEND, self, r);
    delivered_untraced(self, r, label, call);
}

/* Hand the message straight to r, waiting on g (msg_check() passed with
 * plan); the caller wakes r. */
static inline void deliver(struct thread *self, struct thread *r,
                           uint64_t label, int call, struct xfer_plan *plan)
{
    msg_copy(self, r, plan);
    delivered(self, r, label, call);
}

/* A call handed to receiver r, which has its message: self waits on r
 * for the reply. */
HOT_INLINE void call_waits_on(struct thread *self, struct thread *r)
{
    self->wake_phase = HS_PHASE_RECV;
    list_push_back(&r->reply_waiters, &self->wait_link);
}

/* call_waits_on(), and the hand-off's one event (the reply records the
 * other). */
HOT_INLINE void call_handing(struct thread *self, struct thread *r)
{
    call_waits_on(self, r);
    event_record(EV_IPC_CALL, self, HS_OK, r->obj.handle);
}

/* The rest of a call handed to r: self waits for the reply with recv_to
 * (not HS_NOWAIT) and the CPU goes straight to r.  Returns when self is
 * woken: HS_OK with the reply, or why not. */
HOT_INLINE hs_status call_hand_off(struct thread *self, struct thread *r,
                                   hs_time_t recv_to)
{
    call_handing(self, r);
    return sched_wake_block(self, r, HS_OK, &reply_wait, r, recv_to);
}

/* The end of a send or call by self with st: its phase and, unless the
 * CPU was handed over with the message and came back with HS_OK, its
 * event.  Then self leaves the kernel. */
HOT_INLINE hs_status send_end(struct thread *self, int call, int handed,
                              hs_status st)
{
    if (st != HS_OK)
        self->utcb.phase = self->wake_phase;
    if (!handed || st != HS_OK)
        event_record(call ? EV_IPC_CALL : EV_IPC_SEND, self, (uint64_t)st,
                     self->utcb.phase);
    kernel_leave(self);
    return st;
}

/* ---- direct hand-offs ------------------------------------------------------ */

/* A call or a reply-and-wait that hands the CPU over when
 * sched_direct_ok() ends with a direct switch
 * (sched_wake_block_direct(), sched_block_next_direct()): the thread
 * resumed returns straight to its caller.  What its call would still do
 * after the switch is done by whoever resumes it: by the direct hand-off
 * that resumes it with HS_OK (resumed_ok()), or by itself through its
 * resume_fn (call_resume(), recv_resume()) when anything else does. */

/* The end of hs_ipc_reply_wait()'s open wait (recv_hand_off()) for
 * self, resumed with st: the serving count, the label, the phase. */
HOT_INLINE hs_status recv_hand_off_end(struct thread *self, hs_status st,
                                       uint64_t *label)
{
    serve_detach(self);             /* still counted: a message came */
    if (st == HS_OK && label)
        *label = self->recv_label;
    self->utcb.phase = st == HS_OK ? HS_PHASE_NONE : HS_PHASE_RECV;
    return st;
}

/* resume_fn of a caller blocked by a direct hand-off: the end of its
 * hs_ipc_call(). */
static int call_resume(void)
{
    sched_after_switch();
    struct thread *self = kernel_current();
    return send_end(self, 1, 1, self->wait_result);
}

/* resume_fn of a server blocked by a direct hand-off in
 * hs_ipc_reply_wait(): the end of its wait and of the call. */
static int recv_resume(void)
{
    sched_after_switch();
    struct thread *self = kernel_current();
    hs_status st = recv_hand_off_end(self, self->wait_result,
                                     self->resume_label);
    kernel_leave(self);
    return st;
}

/* next, about to be resumed with HS_OK by a direct hand-off: if it
 * blocked by one itself, the end of its call for HS_OK, which its
 * resume_fn will not do (for a caller, nothing: its reply is there).
 * Calls nothing (the quick paths). */
HOT_INLINE void resumed_ok(struct thread *next)
{
    if (next->resume_fn == recv_resume)
        recv_hand_off_end(next, HS_OK, next->resume_label);
    next->resume_fn = NULL;
}

/* Send or call by self, in the kernel, through capability cap; the
 * whole of it, kernel exit included, except a call delivered to a
 * waiting receiver: then *hand_off is set to the receiver, which has the
 * message, and the caller does the rest (call_hand_off(), send_end()),
 * the one place a call hands the CPU over. */
static hs_status send_common(struct thread *self, hs_cap_t cap, int call,
                             hs_time_t send_to, hs_time_t recv_to,
                             struct thread **hand_off)
{
    struct gate *g = NULL;
    uint64_t label = 0;
    hs_status st = send_decode(self, cap, send_to, recv_to, &g, &label);
    if (st == HS_OK && fault_kill(self, g->receiver->proc))
        st = send_decode(self, cap, send_to, recv_to, &g, &label);
    int direct = st == HS_OK && receiving_from(g->receiver, g);
    if (st == HS_OK && !direct && send_waits_on_self(self, g, send_to))
        st = HS_EDEADLK;
    self->utcb.phase = HS_PHASE_NONE;
    if (st != HS_OK) {
        self->utcb.phase = HS_PHASE_SEND;
        kernel_leave(self);
        return st;
    }
    struct thread *r = g->receiver;
    struct xfer_plan plan;
    if (call)
        self->call_seq++;
    self->wake_phase = HS_PHASE_SEND;
    if (direct) {
        st = msg_check(self, r, &plan);
        if (st != HS_OK) {
            /* r cannot take it: r goes on waiting, the send fails. */
        } else if (call && recv_to != HS_NOWAIT) {
            deliver(self, r, label, call, &plan);
            *hand_off = r;
            return HS_OK;
        } else {
            deliver(self, r, label, call, &plan);
            sched_wake(r, HS_OK);
            if (call) {
                self->wake_phase = HS_PHASE_RECV;
                st = HS_ETIMEOUT;
            }
        }
    } else if (send_to == HS_NOWAIT) {
        st = HS_ETIMEOUT;
    } else {
        self->send_gate = g;
        self->send_label = label;
        self->send_call = call;
        self->call_recv_timeout = recv_to;
        sender_enqueue(r, self);
        prio_update(r);             /* r runs at least at self's */
        st = sched_block(self, &send_wait, g, send_to);
    }
    return send_end(self, call, 0, st);
}

hs_status hs_ipc_send(hs_cap_t gate, hs_time_t timeout)
{
    struct thread *self = kernel_enter();
    if (!self)
        return HS_ESTATE;
    struct thread *none = NULL;     /* a send never hands the CPU over */
    return send_common(self, gate, 0, timeout, HS_NOWAIT, &none);
}

/* The receiver of self's call through cap if the call takes the fast
 * path, else NULL: a message of registers only (msg_fast()), valid
 * timeouts and one to wait for the reply with, a gate capability that
 * resolves with the send right, its receiver waiting for it, and no kill
 * fault drawn here.  Then the call is what send_common() would do, with
 * the checks it would skip known to pass. */
HOT_INLINE struct thread *call_fast_receiver(struct thread *self,
                                             hs_cap_t cap, hs_time_t send_to,
                                             hs_time_t recv_to,
                                             uint64_t *label)
{
    struct cap *c;
    struct gate *g;
    if (!msg_fast(self->utcb.tag) || !timeout_valid(send_to) ||
        !timeout_valid(recv_to) || recv_to == HS_NOWAIT ||
        (k.fault_kinds & HS_FAULT_KILL) ||
        gate_resolve(thread_current_proc(self), cap, HS_CAP_SEND, &c, &g) !=
            HS_OK ||
        !receiving_from(g->receiver, g))
        return NULL;
    *label = c->label;
    return g->receiver;
}

/* Self's message of registers only goes to r, waiting for it: the
 * start of both fast paths' hand-off. */
HOT_INLINE void call_take_fast(struct thread *self, struct thread *r)
{
    self->utcb.phase = HS_PHASE_NONE;
    self->call_seq++;
    msg_copy_fast(self, r);
}

static hs_status call_general(hs_cap_t gate, hs_time_t send_timeout,
                              hs_time_t recv_timeout)
    GENERAL_PATH(hs_ipc_call);

/* hs_ipc_call() when its quick path (below) is not taken: kernel entry,
 * then the fast path or the general one. */
static hs_status call_general(hs_cap_t gate, hs_time_t send_timeout,
                              hs_time_t recv_timeout)
{
    struct thread *self = kernel_enter();
    if (!self)
        return HS_ESTATE;
    k.general_calls++;
    uint64_t label;
    struct thread *r = call_fast_receiver(self, gate, send_timeout,
                                          recv_timeout, &label);
    if (r) {
        call_take_fast(self, r);
        delivered(self, r, label, 1);
    } else {
        hs_status st = send_common(self, gate, 1, send_timeout, recv_timeout,
                                   &r);
        if (!r)
            return st;
    }
    if (sched_direct_ok()) {
        call_handing(self, r);
        resumed_ok(r);
        return sched_wake_block_direct(self, r, &reply_wait, r, recv_timeout,
                                       call_resume);
    }
    return send_end(self, 1, 1, call_hand_off(self, r, recv_timeout));
}

/* ---- the quick paths ------------------------------------------------------- */

/*
 * hs_ipc_call() and hs_ipc_reply_wait() try a quick path first: a fast
 * path's hand-off by a direct switch when nothing is due at kernel entry
 * or exit (kernel_enter_quick()), tracing is off, there is no timer to
 * arm or cancel and no priority to follow.  Every check comes before
 * anything changes, and nothing is called but the switch, so that the
 * compiler saves no registers of its own for it: the switch saves the
 * program's.  Anything else takes the general path, which starts again at
 * kernel_enter() (the checks changed nothing) and gives the same result,
 * state, events and hash (tests/test_quick.c holds the two to each
 * other).
 */

/* The receiver of self's call through cap if the call takes the quick
 * path, else NULL: call_fast_receiver()'s checks, the capability found
 * without a chain walk or a lookup (gate_resolve_quick()), a reply
 * awaited for ever and a receiver waiting with no timer armed. */
HOT_INLINE struct thread *call_quick_receiver(struct thread *self,
                                              hs_cap_t cap,
                                              hs_time_t send_to,
                                              hs_time_t recv_to,
                                              uint64_t *label)
{
    struct cap *c;
    struct gate *g;
    if (kevents.tracing || !msg_fast(self->utcb.tag) ||
        !timeout_valid(send_to) || recv_to != HS_NEVER ||
        (k.fault_kinds & HS_FAULT_KILL) ||
        !(g = gate_resolve_quick(thread_current_proc(self), cap,
                                 HS_CAP_SEND, &c)) ||
        !receiving_from(g->receiver, g) ||
        plat_timer_armed(&g->receiver->timer))
        return NULL;
    *label = c->label;
    return g->receiver;
}

hs_status hs_ipc_call(hs_cap_t gate, hs_time_t send_timeout,
                      hs_time_t recv_timeout)
{
    struct thread *self = kernel_enter_quick();
    uint64_t label;
    struct thread *r;
    if (!self || !(r = call_quick_receiver(self, gate, send_timeout,
                                           recv_timeout, &label)))
        return call_general(gate, send_timeout, recv_timeout);
    call_take_fast(self, r);
    delivered_untraced(self, r, label, 1);
    call_waits_on(self, r);
    event_record_untraced(EV_IPC_CALL, self, HS_OK, r->obj.handle);
    resumed_ok(r);
    return sched_wake_block_quick(self, r, &reply_wait, r, call_resume);
}

/* ---- receive ----------------------------------------------------------------------- */

/* Decode of a receive: the gate for a closed wait (NULL: open), or
 * nobody (a sleep) with *nobody set. */
static hs_status recv_decode(struct thread *self, int closed, hs_cap_t cap,
                             hs_time_t timeout, struct gate **g, int *nobody)
{
    *g = NULL;
    *nobody = 0;
    if (!timeout_valid(timeout))
        return HS_EINVAL;
    if (!closed)
        return HS_OK;
    if (cap == HS_CAP_NIL) {
        *nobody = 1;
        return HS_OK;
    }
    struct cap *c;
    hs_status st = gate_resolve(thread_current_proc(self), cap, HS_CAP_RECV,
                                &c, g);
    if (st != HS_OK)
        return st;
    if ((*g)->receiver != self)
        return HS_EPERM;
    return HS_OK;
}

/* The message of an IRQ bound to t with label: HS_TAG_IRQ, one word. */
static void irq_message(struct thread *t, uint64_t bits, uint64_t label)
{
    t->utcb.tag = HS_TAG_IRQ | HS_TAG(0, 1);
    t->utcb.mr[0] = bits;
    t->recv_label = label;
}

int ipc_open_waiting(const struct thread *t)
{
    return t->state == THREAD_BLOCKED && t->wait_ops == &recv_wait &&
           !t->recv_gate;
}

void ipc_irq_deliver(struct thread *t, uint64_t bits, uint64_t label)
{
    irq_message(t, bits, label);
    sched_wake(t, HS_OK);
}

/* Invoke of a receive (the reply capability is already spent).  An open
 * wait takes pending IRQ bits first. */
HOT_INLINE hs_status recv_invoke(struct thread *self, struct gate *g,
                                 int nobody, int serving, hs_time_t timeout,
                                 uint64_t *label)
{
    uint64_t bits, irq_label;
    if (!nobody && !g && !list_empty(&self->irqs) &&
        irq_take_bound(self, &bits, &irq_label)) {
        irq_message(self, bits, irq_label);
        if (label)
            *label = irq_label;
        return HS_OK;
    }
    struct thread *s = nobody ? NULL : sender_find(self, g);
    struct xfer_plan plan;
    for (hs_status st; s && (st = msg_check(s, self, &plan)) != HS_OK;
         s = sender_find(self, g))
        refuse_sender(s, st);
    if (s) {
        take_from_queue(self, s, &plan);
    } else if (timeout == HS_NOWAIT) {
        return HS_ETIMEOUT;
    } else {
        self->recv_gate = g;
        const struct wait_ops *ops = nobody ? &sleep_wait : &recv_wait;
        void *obj = nobody ? NULL : (void *)self;
        if (serving) {
            self->ipc_serving = 1;
            k.nserving++;
        }
        hs_status st = sched_block(self, ops, obj, timeout);
        serve_detach(self);         /* still counted: a message came */
        if (nobody)                 /* its timer, or a cancel */
            return st == HS_OK ? HS_ETIMEOUT : st;
        if (st != HS_OK)
            return st;
    }
    if (label)
        *label = self->recv_label;
    return HS_OK;
}

static hs_status recv_common(int closed, hs_cap_t cap, hs_time_t timeout,
                             int serving, uint64_t *label)
{
    struct thread *self = kernel_enter();
    if (!self)
        return HS_ESTATE;
    struct gate *g;
    int nobody;
    hs_status st = recv_decode(self, closed, cap, timeout, &g, &nobody);
    if (st == HS_OK && nobody && timeout == HS_NEVER)
        st = HS_EINVAL;             /* would sleep for ever */
    if (st == HS_OK) {
        reply_cap_end(self);        /* a new wait ends the reply cap */
        st = recv_invoke(self, g, nobody, serving, timeout, label);
    }
    self->utcb.phase = st == HS_OK ? HS_PHASE_NONE : HS_PHASE_RECV;
    event_record(EV_IPC_RECV, self, (uint64_t)st, 0);
    kernel_leave(self);
    return st;
}

hs_status hs_ipc_recv(hs_cap_t gate, hs_time_t timeout, uint64_t *label)
{
    return recv_common(1, gate, timeout, 0, label);
}

hs_status hs_ipc_wait(hs_time_t timeout, uint64_t *label)
{
    return recv_common(0, HS_CAP_NIL, timeout, 0, label);
}

hs_status hs_ipc_serve(uint64_t *label)
{
    return recv_common(0, HS_CAP_NIL, HS_NEVER, 1, label);
}

/* ---- reply -------------------------------------------------------------------------- */

/* The caller self's implicit reply capability names, still blocked for
 * its reply, or why not: HS_ENOREPLY (none held), HS_ESTALE (its caller
 * timed out, was cancelled or ended). */
HOT_INLINE hs_status reply_caller(const struct thread *self,
                                  struct thread **c)
{
    if (!self->reply.tid)
        return HS_ENOREPLY;
    struct thread *t = self->reply.caller;
    if (t->obj.handle != self->reply.tid || t->state != THREAD_BLOCKED ||
        t->wait_ops != &reply_wait || t->call_seq != self->reply.seq)
        return HS_ESTALE;
    *c = t;
    return HS_OK;
}

/* Whether self's message (its items decoded) can land in caller c as an
 * answer; plan as msg_check() leaves it.  For replies and kept replies
 * alike. */
HOT_INLINE hs_status answer_check(struct thread *self, struct thread *c,
                                  struct xfer_plan *plan)
{
    unsigned caps;
    hs_status st = hs_tag_items(self->utcb.tag) ? items_decode(self, &caps)
                                                : HS_OK;
    return st == HS_OK ? msg_check(self, c, plan) : st;
}

/* Decode of a reply: the caller still waiting for it, or why not; plan
 * as msg_check() leaves it. */
HOT_INLINE hs_status reply_decode(struct thread *self, struct thread **caller,
                                  struct xfer_plan *plan)
{
    xfer_plan_init(plan);
    if (!ipc_tag_valid(self->utcb.tag))
        return HS_EINVAL;
    struct thread *c = NULL;
    hs_status st = reply_caller(self, &c);
    if (st == HS_OK)
        st = answer_check(self, c, plan);
    if (st == HS_OK)
        *caller = c;
    return st;
}

/* Whether a failed reply spends the reply capability: only when there is
 * no caller to answer any more; a reply refused for its message (bad tag
 * or items, the caller does not take them) may be tried again. */
static int reply_spent(hs_status st)
{
    return st == HS_OK || st == HS_ESTALE || st == HS_ENOREPLY;
}

/* Whether self's open wait with timeout blocks: no IRQ bits, no sender
 * queued, a timeout to wait.  Then a caller it has just replied to may
 * be handed the CPU straight away (sched_wake_next()). */
static inline int open_wait_blocks(const struct thread *self,
                                   hs_time_t timeout)
{
    return timeout != HS_NOWAIT && list_empty(&self->senders) &&
           (list_empty(&self->irqs) || !irq_bound_pending(self));
}

/* Caller c has self's reply in its registers: it stops waiting for it
 * and is woken, with the CPU when self's wait is to block next
 * (open_wait_blocks(): then c is returned, to be handed the CPU by
 * recv_hand_off()), else by the scheduler (NULL). */
HOT_INLINE struct thread *reply_wake(struct thread *self, struct thread *c,
                                     int wait, hs_time_t timeout)
{
    list_unlink(&c->wait_link);
    trace_message(TRACE_REPLY, self, c);
    if (wait && open_wait_blocks(self, timeout)) {
        if (sched_wake_next(c, HS_OK))
            return c;
    } else {
        sched_wake(c, HS_OK);
    }
    return NULL;
}

/* The end of a reply by self to c (NULL: none found) with st: the reply
 * capability if spent, the phase, the event. */
HOT_INLINE hs_status reply_end(struct thread *self, hs_status st,
                               const struct thread *c)
{
    if (reply_spent(st))
        reply_cap_end(self);
    self->utcb.phase = st == HS_OK ? HS_PHASE_NONE : HS_PHASE_SEND;
    event_record(EV_IPC_REPLY, self, (uint64_t)st, event_handle(c));
    return st;
}

/* The reply of hs_ipc_reply() and, with wait, of hs_ipc_reply_wait()
 * waiting with timeout.  *next is set as reply_wake() returns. */
static hs_status reply_common(struct thread *self, int wait,
                              hs_time_t timeout, struct thread **next)
{
    struct thread *c = NULL;
    struct xfer_plan plan;
    *next = NULL;
    hs_status st = reply_decode(self, &c, &plan);
    if (st == HS_OK && fault_reply_timeout(self, c)) {
        xfer_cancel(&plan);
        st = reply_decode(self, &c, &plan);    /* now stale */
    }
    if (st == HS_OK) {
        msg_copy(self, c, &plan);
        *next = reply_wake(self, c, wait, timeout);
    }
    return reply_end(self, st, c);
}

hs_status hs_ipc_reply(void)
{
    struct thread *self = kernel_enter();
    if (!self)
        return HS_ESTATE;
    struct thread *next;
    hs_status st = reply_common(self, 0, HS_NOWAIT, &next);
    kernel_leave(self);
    return st;
}

/* The caller self's reply goes to if hs_ipc_reply_wait() takes the fast
 * path, else NULL: a valid timeout, a message of registers only
 * (msg_fast()), a caller still waiting for it, and no reply-timeout
 * fault drawn here.  Then the reply is what reply_common() would do,
 * with the checks it would skip known to pass. */
HOT_INLINE struct thread *reply_fast_caller(struct thread *self,
                                            hs_time_t timeout)
{
    struct thread *c;
    if (!msg_fast(self->utcb.tag) || !timeout_valid(timeout) ||
        reply_caller(self, &c) != HS_OK ||
        (k.fault_kinds & HS_FAULT_REPLY_TIMEOUT))
        return NULL;
    return c;
}

/* The open wait of hs_ipc_reply_wait() when it blocks at once
 * (open_wait_blocks()), handing the CPU to the caller it replied to,
 * next. */
HOT_INLINE hs_status recv_hand_off(struct thread *self, struct thread *next,
                                   hs_time_t timeout, uint64_t *label)
{
    self->recv_gate = NULL;
    hs_status st = sched_block_next(self, next, &recv_wait, self, timeout);
    return recv_hand_off_end(self, st, label);
}

/* What recv_hand_off() by a direct switch does before the switch, which
 * ends hs_ipc_reply_wait(). */
HOT_INLINE void recv_hand_off_direct_start(struct thread *self,
                                           struct thread *next,
                                           uint64_t *label)
{
    self->recv_gate = NULL;
    self->resume_label = label;
    resumed_ok(next);
}

/* recv_hand_off() by a direct switch. */
HOT_INLINE hs_status recv_hand_off_direct(struct thread *self,
                                          struct thread *next,
                                          hs_time_t timeout, uint64_t *label)
{
    recv_hand_off_direct_start(self, next, label);
    return sched_block_next_direct(self, next, &recv_wait, self, timeout,
                                   recv_resume);
}

static hs_status reply_wait_general(hs_time_t timeout, uint64_t *label)
    GENERAL_PATH(hs_ipc_reply_wait);

/* hs_ipc_reply_wait() when its quick path (below) is not taken: kernel
 * entry, then the fast path or the general one. */
static hs_status reply_wait_general(hs_time_t timeout, uint64_t *label)
{
    struct thread *self = kernel_enter();
    if (!self)
        return HS_ESTATE;
    k.general_replies++;
    struct thread *next = NULL;
    struct thread *c = reply_fast_caller(self, timeout);
    hs_status st = HS_OK;
    if (c) {
        msg_copy_fast(self, c);
        next = reply_wake(self, c, 1, timeout);
        reply_end(self, HS_OK, c);
    } else {
        st = timeout_valid(timeout) ? reply_common(self, 1, timeout, &next)
                                    : HS_EINVAL;
    }
    if (st == HS_OK && next && sched_direct_ok())
        return recv_hand_off_direct(self, next, timeout, label);
    if (st == HS_OK && next) {
        st = recv_hand_off(self, next, timeout, label);
    } else if (st == HS_OK) {
        st = recv_invoke(self, NULL, 0, 0, timeout, label);
        self->utcb.phase = st == HS_OK ? HS_PHASE_NONE : HS_PHASE_RECV;
    }
    kernel_leave(self);
    return st;
}

/* The caller self's reply goes to if hs_ipc_reply_wait() takes the quick
 * path (see hs_ipc_call()), else NULL: reply_fast_caller()'s checks, a
 * wait for ever that blocks at once (no sender queued, no IRQ bound:
 * open_wait_blocks()) with the caller to run next (sched_runs_next()),
 * the caller's timer not armed, and no priority lent to self, which
 * then has none to follow when its reply capability is spent.  No
 * reply-timeout fault is looked for: faults are drawn in seeded runs
 * only, which sched_runs_next() leaves to the general path. */
HOT_INLINE struct thread *reply_quick_caller(struct thread *self,
                                             hs_time_t timeout)
{
    struct thread *c;
    if (kevents.tracing || !msg_fast(self->utcb.tag) ||
        timeout != HS_NEVER || reply_caller(self, &c) != HS_OK ||
        !list_empty(&self->senders) || !list_empty(&self->irqs) ||
        self->prio != self->base_prio || plat_timer_armed(&c->timer) ||
        !sched_runs_next(c))
        return NULL;
    return c;
}

hs_status hs_ipc_reply_wait(hs_time_t timeout, uint64_t *label)
{
    struct thread *self = kernel_enter_quick();
    struct thread *c;
    if (!self || !(c = reply_quick_caller(self, timeout)))
        return reply_wait_general(timeout, label);
    msg_copy_fast(self, c);
    list_unlink(&c->wait_link);
    sched_wake_untimed(c, HS_OK);
    reply_cap_clear(self);
    self->utcb.phase = HS_PHASE_NONE;
    event_record_untraced(EV_IPC_REPLY, self, HS_OK, c->obj.handle);
    recv_hand_off_direct_start(self, c, label);
    return sched_block_next_quick(self, c, &recv_wait, self, recv_resume);
}

/* ---- cancel ------------------------------------------------------------------------------ */

hs_status hs_ipc_cancel(hs_tid_t thread)
{
    struct thread *self = kernel_enter();
    if (!self)
        return HS_ESTATE;
    struct thread *t = thread_lookup(thread);
    hs_status st = HS_OK;
    if (!t || t->state == THREAD_ZOMBIE)
        st = HS_ESRCH;
    else if (t->proc != thread_current_proc(self))
        st = HS_EPERM;
    else if (t->state != THREAD_BLOCKED || !t->wait_ops || !t->wait_ops->ipc)
        st = HS_ESTATE;
    if (st == HS_OK) {
        if (t->wait_ops->detach)
            t->wait_ops->detach(t);
        event_record(EV_IPC_CANCEL, self, t->obj.handle, t->wake_phase);
        sched_wake(t, HS_ECANCELED);
    }
    kernel_leave(self);
    return st;
}

/* ---- kept replies -------------------------------------------------------- */

hs_status hs_ipc_reply_keep(hs_reply_t *out)
{
    struct thread *self = kernel_enter();
    if (!self)
        return HS_ESTATE;
    struct thread *c = NULL;
    hs_status st = out ? reply_caller(self, &c) : HS_EINVAL;
    if (st == HS_OK)
        st = reply_reserve();
    if (st == HS_OK) {
        struct kept_reply *r = reply_keep(thread_current_proc(self), c);
        *out = r->obj.handle;
        event_record(EV_IPC_REPLY_KEEP, self, r->obj.handle, c->obj.handle);
    }
    if (st == HS_OK || st == HS_ESTALE)
        reply_cap_end(self);
    kernel_leave(self);
    return st;
}

/* Decode of an answer to kept reply h: its caller, or why not; plan as
 * msg_check() leaves it. */
static hs_status reply_to_decode(struct thread *self, hs_reply_t h,
                                 struct kept_reply **r,
                                 struct xfer_plan *plan)
{
    xfer_plan_init(plan);
    if (!ipc_tag_valid(self->utcb.tag))
        return HS_EINVAL;
    *r = reply_lookup(h);
    if (!*r)
        return HS_ESTALE;
    if ((*r)->owner != thread_current_proc(self))
        return HS_EPERM;
    if (!(*r)->caller)
        return HS_ESTALE;
    return answer_check(self, (*r)->caller, plan);
}

hs_status hs_ipc_reply_to(hs_reply_t reply)
{
    struct thread *self = kernel_enter();
    if (!self)
        return HS_ESTATE;
    struct kept_reply *r = NULL;
    struct xfer_plan plan;
    hs_status st = reply_to_decode(self, reply, &r, &plan);
    if (st == HS_OK) {
        struct thread *c = r->caller;
        msg_copy(self, c, &plan);
        trace_message(TRACE_REPLY, self, c);
        c->wait_ops = NULL;
        sched_wake(c, HS_OK);
    }
    if ((st == HS_OK || st == HS_ESTALE) && r)
        reply_free(r);              /* answered, or nobody to answer */
    self->utcb.phase = st == HS_OK ? HS_PHASE_NONE : HS_PHASE_SEND;
    event_record(EV_IPC_REPLY_TO, self, reply, (uint64_t)st);
    kernel_leave(self);
    return st;
}

/* ---- endings ------------------------------------------------------------------ */

void ipc_thread_free(struct thread *t)
{
    /* Senders to t: their partner is gone. */
    while (!list_empty(&t->senders)) {
        struct thread *s = container_of(t->senders.next, struct thread,
                                        wait_link);
        list_unlink(&s->wait_link);
        s->wait_ops = NULL;
        sched_wake(s, HS_EPARTNER);
    }
    /* Callers waiting for t's reply, the one its reply capability names
     * and any whose capability a later receive superseded: none of them
     * can be answered now. */
    while (!list_empty(&t->reply_waiters)) {
        struct thread *c = container_of(t->reply_waiters.next,
                                        struct thread, wait_link);
        list_unlink(&c->wait_link);
        c->wait_ops = NULL;
        sched_wake(c, HS_EPARTNER);
    }
    reply_cap_end(t);
    gate_thread_end(t);
    irq_thread_end(t);
}

/* A thread ends: a serving receiver woken by a message that ends before
 * it runs again is no longer serving. */
static void ipc_thread_end(struct thread *t)
{
    serve_detach(t);
}

/* ---- the object table ------------------------------------------------------ */

/* Synchronous IPC keeps its part of every thread: the gates bound to it,
 * its senders and callers. */
const struct kobj_type ipc_type = {
    .name = "ipc",
    .thread_init = ipc_thread_init,
    .thread_end = ipc_thread_end,
    .thread_free = ipc_thread_free,
};
