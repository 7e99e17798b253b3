/*
 * ports/topic.c - multicast topics: create, destroy, join, leave, and
 * the publisher's view of the subscriptions (see hopsim/topic.h and
 * ports/topic.h).
 *
 * A subscription whose anchor no longer resolves, or whose channel is
 * gone or closed, is dead: nothing can reach its subscriber any more.
 * Dead subscriptions are swept (and the generation bumped) by the next
 * call on their topic, so that publishers drop them; a process's own
 * subscriptions are removed at once when it ends.
 */
#include "core/cap.h"
#include "core/kernel.h"
#include "ports/chan.h"
#include "ports/topic.h"

struct topic {
    struct kobj obj;
    struct proc *owner;         /* the process that created it */
    hs_topic_attr attr;
    uint64_t gen;               /* bumped at every join and leave */
    uint32_t nsubs;
    struct list subs;           /* struct topic_sub, in join order */
};

struct topic_sub {
    struct kobj obj;
    struct list link;           /* in topic->subs */
    struct topic *topic;
    struct proc *proc;          /* the subscriber */
    uint64_t chan;              /* its channel's handle */
    uint64_t cap;               /* handle of the topic capability it
                                   joined with */
    uint64_t anchor;            /* handle of the anchor capability */
    hs_cap_t anchor_local;      /*   and its name in proc's space */
};

void topic_start(void)
{
    pool_init(&k.topics, sizeof(struct topic));
    pool_init(&k.topic_subs, sizeof(struct topic_sub));
}

void topic_stop(void)
{
    pool_destroy(&k.topics);
    pool_destroy(&k.topic_subs);
}

struct topic *topic_lookup(uint64_t h)
{
    return pool_lookup(&k.topics, h);
}

/* ---- subscriptions --------------------------------------------------------- */

static int sub_alive(const struct topic_sub *s)
{
    struct cap *c;
    const struct chan *ch = chan_lookup(s->chan);
    return ch && !ch->closed &&
           cap_resolve(s->proc, s->anchor_local, &c) == HS_OK &&
           c->obj.handle == s->anchor;
}

static void sub_remove(struct topic_sub *s, struct thread *self)
{
    struct topic *t = s->topic;
    event_record(EV_TOPIC_UNSUBSCRIBE, self, t->obj.handle, s->obj.handle);
    list_unlink(&s->link);
    t->nsubs--;
    t->gen++;
    pool_free(&k.topic_subs, s);
}

/* Remove t's dead subscriptions. */
static void topic_sweep(struct topic *t, struct thread *self)
{
    struct list *l, *tmp;
    list_for_each_safe(l, tmp, &t->subs) {
        struct topic_sub *s = container_of(l, struct topic_sub, link);
        if (!sub_alive(s))
            sub_remove(s, self);
    }
}

/* End t: every subscription ends (its anchor goes stale through the
 * topic capability it was derived from), every capability to t goes
 * stale with t.  The caller runs chan_caps_changed() afterwards. */
static void topic_end(struct topic *t, struct thread *self)
{
    event_record(EV_TOPIC_DESTROY, self, t->obj.handle, t->nsubs);
    while (!list_empty(&t->subs)) {
        struct topic_sub *s = container_of(t->subs.next, struct topic_sub,
                                           link);
        struct cap *c = pool_lookup(&k.caps, s->cap);
        if (c)
            cap_revoke_bump(c);
        sub_remove(s, self);
    }
    pool_free(&k.topics, t);
}

void topic_proc_end(struct proc *p)
{
    for (uint32_t i = 0; i < pool_slots(&k.topic_subs); i++) {
        struct topic_sub *s = pool_at(&k.topic_subs, i);
        if (s && s->proc == p)
            sub_remove(s, NULL);
    }
    for (uint32_t i = 0; i < pool_slots(&k.topics); i++) {
        struct topic *t = pool_at(&k.topics, i);
        if (t && t->owner == p)
            topic_end(t, NULL);
    }
}

/* ---- checks ----------------------------------------------------------------- */

static int is_pow2(uint64_t x)
{
    return x && !(x & (x - 1));
}

/* The bytes of a ring of slots messages of msg_max bytes (the channel's
 * own stride rule). */
static uint64_t ring_bytes(uint32_t slots, uint32_t msg_max)
{
    return (uint64_t)slots * hs_chan_stride(msg_max);
}

static hs_status attr_check(const hs_topic_attr *a)
{
    if (a->slots < 2 || a->slots > HS_CHAN_SLOTS_MAX || !is_pow2(a->slots))
        return HS_EINVAL;
    if (!a->msg_max || a->msg_max > HS_CHAN_MSG_MAX)
        return HS_EINVAL;
    if (a->overflow != HS_CHAN_DROP_NEWEST &&
        a->overflow != HS_CHAN_DROP_OLDEST && a->overflow != HS_CHAN_FAIL)
        return HS_EINVAL;
    if (ring_bytes(a->slots, a->msg_max) > HS_CHAN_RING_MAX)
        return HS_EINVAL;
    return HS_OK;
}

/* The topic that the caller's capability cap names, with right. */
static hs_status topic_resolve(struct thread *self, hs_cap_t cap,
                               unsigned right, struct topic **out,
                               struct cap **cout)
{
    struct cap *c;
    hs_status st = cap_resolve(thread_current_proc(self), cap, &c);
    if (st != HS_OK)
        return st;
    if (c->kind != HS_CAP_KIND_TOPIC || (c->rights & right) != right)
        return HS_EPERM;
    *out = topic_lookup(c->object);
    if (cout)
        *cout = c;
    return HS_OK;
}

/* Whether some subscription uses channel h. */
static int chan_subscribed(uint64_t h)
{
    for (uint32_t i = 0; i < pool_slots(&k.topic_subs); i++) {
        struct topic_sub *s = pool_at(&k.topic_subs, i);
        if (s && s->chan == h)
            return 1;
    }
    return 0;
}

/* The caller's channel capability chan, fit to be t's ring in p: every
 * send and receive right (else HS_EPERM), p's own fresh MPSC channel
 * with t's attributes, in no subscription yet (else HS_EINVAL). */
static hs_status ring_check(struct proc *p, const struct topic *t,
                            hs_cap_t chan, struct chan **out)
{
    struct cap *c;
    hs_status st = cap_resolve(p, chan, &c);
    if (st != HS_OK)
        return st;
    unsigned need = HS_CAP_SEND | HS_CAP_RECV;
    if (c->kind != HS_CAP_KIND_CHAN || (c->rights & need) != need)
        return HS_EPERM;
    struct chan *ch = chan_lookup(c->object);
    if (ch->owner != p || ch->kind != HS_CHAN_MPSC ||
        ch->slots != t->attr.slots || ch->msg_max != t->attr.msg_max ||
        ch->overflow != t->attr.overflow || ch->closed || ch->nsend ||
        ch->nrecv || chan_subscribed(ch->obj.handle))
        return HS_EINVAL;
    *out = ch;
    return HS_OK;
}

/* Whether p has a live subscription to t (t swept). */
static int proc_subscribed(const struct topic *t, const struct proc *p)
{
    const struct list *l;
    list_for_each(l, &t->subs)
        if (container_of(l, struct topic_sub, link)->proc == p)
            return 1;
    return 0;
}

/* ---- the calls ---------------------------------------------------------------- */

hs_status hs_topic_create(const hs_topic_attr *attr, hs_cap_t *cap)
{
    struct thread *self = kernel_enter();
    if (!self)
        return HS_ESTATE;
    struct proc *p = thread_current_proc(self);
    hs_status st = (attr && cap) ? attr_check(attr) : HS_EINVAL;
    if (st == HS_OK)
        st = pool_reserve(&k.topics, 1);
    if (st == HS_OK)
        st = cap_reserve(p);
    if (st == HS_OK) {
        struct topic *t = pool_alloc(&k.topics);
        t->owner = p;
        t->attr = *attr;
        t->gen = 1;
        list_init(&t->subs);
        *cap = cap_new(p, HS_CAP_KIND_TOPIC, t->obj.handle, HS_CAP_ALL, 0,
                       NULL)->local;
        event_record(EV_TOPIC_CREATE, self, t->obj.handle, attr->slots);
    }
    kernel_leave(self);
    return st;
}

hs_status hs_topic_destroy(hs_cap_t cap)
{
    struct thread *self = kernel_enter();
    if (!self)
        return HS_ESTATE;
    struct topic *t = NULL;
    hs_status st = topic_resolve(self, cap, 0, &t, NULL);
    if (st == HS_OK && t->owner != thread_current_proc(self))
        st = HS_EPERM;
    if (st == HS_OK) {
        topic_end(t, self);
        chan_caps_changed(self);
    }
    kernel_leave(self);
    return st;
}

hs_status hs_topic_info_get(hs_cap_t cap, hs_topic_info *info)
{
    struct thread *self = kernel_enter();
    if (!self)
        return HS_ESTATE;
    struct topic *t = NULL;
    hs_status st = info ? topic_resolve(self, cap, 0, &t, NULL) : HS_EINVAL;
    if (st == HS_OK) {
        topic_sweep(t, self);
        *info = (hs_topic_info){ .attr = t->attr, .subs = t->nsubs,
                                 .gen = t->gen };
    }
    kernel_leave(self);
    return st;
}

hs_status hs_topic_join(hs_cap_t cap, hs_cap_t chan, uint64_t *sub,
                        hs_cap_t *anchor)
{
    struct thread *self = kernel_enter();
    if (!self)
        return HS_ESTATE;
    struct proc *p = thread_current_proc(self);
    struct topic *t = NULL;
    struct cap *c = NULL;
    struct chan *ch = NULL;
    hs_status st = (sub && anchor) ? topic_resolve(self, cap, HS_CAP_RECV,
                                                   &t, &c)
                                   : HS_EINVAL;
    if (st == HS_OK)
        topic_sweep(t, self);
    if (st == HS_OK)
        st = ring_check(p, t, chan, &ch);
    if (st == HS_OK && proc_subscribed(t, p))
        st = HS_EEXIST;
    if (st == HS_OK && t->nsubs >= HS_TOPIC_SUBS_MAX)
        st = HS_ELIMIT;
    if (st == HS_OK)
        st = pool_reserve(&k.topic_subs, 1);
    if (st == HS_OK)
        st = cap_reserve(p);
    if (st == HS_OK) {
        struct cap *a = cap_new(p, HS_CAP_KIND_CHAN, ch->obj.handle,
                                HS_CAP_SEND, 0, c);
        struct topic_sub *s = pool_alloc(&k.topic_subs);
        s->topic = t;
        s->proc = p;
        s->chan = ch->obj.handle;
        s->cap = c->obj.handle;
        s->anchor = a->obj.handle;
        s->anchor_local = a->local;
        list_push_back(&t->subs, &s->link);
        t->nsubs++;
        t->gen++;
        *sub = s->obj.handle;
        *anchor = a->local;
        event_record(EV_TOPIC_SUBSCRIBE, self, t->obj.handle, s->obj.handle);
    }
    kernel_leave(self);
    return st;
}

hs_status hs_topic_leave(uint64_t sub)
{
    struct thread *self = kernel_enter();
    if (!self)
        return HS_ESTATE;
    struct topic_sub *s = pool_lookup(&k.topic_subs, sub);
    hs_status st = (s && s->proc == thread_current_proc(self)) ? HS_OK
                                                               : HS_EBADCAP;
    if (st == HS_OK)
        sub_remove(s, self);
    kernel_leave(self);
    return st;
}

hs_status hs_topic_peers(hs_cap_t cap, size_t len, uint64_t known,
                         uint64_t *gen, uint64_t *subs, uint32_t max,
                         uint32_t *n)
{
    struct thread *self = kernel_enter();
    if (!self)
        return HS_ESTATE;
    struct topic *t = NULL;
    hs_status st = (gen && subs && n && len)
                       ? topic_resolve(self, cap, HS_CAP_SEND, &t, NULL)
                       : HS_EINVAL;
    if (st == HS_OK && len > t->attr.msg_max)
        st = HS_EMSGSIZE;
    if (st == HS_OK)
        topic_sweep(t, self);
    if (st == HS_OK && t->gen != known && max < t->nsubs)
        st = HS_EINVAL;
    if (st == HS_OK) {
        uint32_t i = 0;
        const struct list *l;
        if (t->gen != known)
            list_for_each(l, &t->subs)
                subs[i++] = container_of(l, struct topic_sub,
                                         link)->obj.handle;
        *n = i;
        *gen = t->gen;
    }
    kernel_leave(self);
    return st;
}

hs_status hs_topic_peer_cap(hs_cap_t cap, uint64_t sub, hs_cap_t *out)
{
    struct thread *self = kernel_enter();
    if (!self)
        return HS_ESTATE;
    struct proc *p = thread_current_proc(self);
    struct topic *t = NULL;
    hs_status st = out ? topic_resolve(self, cap, HS_CAP_SEND, &t, NULL)
                       : HS_EINVAL;
    struct topic_sub *s = st == HS_OK ? pool_lookup(&k.topic_subs, sub)
                                      : NULL;
    if (st == HS_OK && (!s || s->topic != t || !sub_alive(s)))
        st = HS_ECLOSED;
    if (st == HS_OK)
        st = cap_reserve(p);
    if (st == HS_OK) {
        const struct cap *a = pool_lookup(&k.caps, s->anchor);
        *out = cap_new(p, HS_CAP_KIND_CHAN, s->chan, HS_CAP_SEND, 0,
                       a)->local;
    }
    kernel_leave(self);
    return st;
}

/* ---- the object table ------------------------------------------------------ */

static int topic_alive(uint64_t h)
{
    return topic_lookup(h) != NULL;
}

const struct kobj_type topic_type = {
    .name = "topic",
    .start = topic_start,
    .stop = topic_stop,
    .proc_end = topic_proc_end,
    .cap_kind = HS_CAP_KIND_TOPIC,
    .cap_alive = topic_alive,
};
