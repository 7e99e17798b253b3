/*
 * ports/chan.c - asynchronous channels: create, destroy, map and unmap
 * ends, sleep and wake (see hopsim/chan.h and ports/chan.h).
 *
 * Sleeping is futex-like: the sleeper adds itself to its side's waiting
 * count in the shared indices, then asks the kernel to sleep; the kernel
 * looks at the ring under the kernel lock and blocks only if the sleeper
 * still cannot make progress.  The other side publishes first and reads
 * the count after a full fence, so one of the two always sees the other:
 * either the sleeper's check finds the message (or the room), or the
 * waker finds the count and calls hs_chan_end_wake().
 *
 * Policy: the kernel keeps it in struct chan, checks its attach-time
 * rules (rights, sources) itself, and copies the rules the runtime
 * enforces into the control page, the flags last.
 */
#include <stdatomic.h>

#include "core/cap.h"
#include "core/kernel.h"
#include "kern/kfmt.h"
#include "core/sched.h"
#include "ports/chan.h"

/* Where the kernel puts rings when the caller lets it choose. */
#define CHAN_VA_BASE  ((uint64_t)0x600000000000)
#define CHAN_VA_TRIES 4096u

/* The audit log: HS_CHAN_AUDIT_LEN records in a block of 2^AUDIT_ORDER
 * frames. */
#define AUDIT_ORDER 4u
_Static_assert(HS_CHAN_AUDIT_LEN * sizeof(hs_chan_audit_rec) <=
                   ((uint64_t)HS_PAGE_4K << AUDIT_ORDER),
               "the audit log fits its block");

/* "No block": every physical address is 4K-aligned, and 0 is a frame
 * like any other. */
#define PA_NONE UINT64_MAX

/* The policy rules the runtime enforces from the control page. */
#define POL_RUNTIME (HS_CHAN_POL_RATE | HS_CHAN_POL_SIZE | \
                     HS_CHAN_POL_TYPES | HS_CHAN_POL_AUDIT | \
                     HS_CHAN_POL_STATS)

struct chan *chan_lookup(uint64_t h)
{
    return pool_lookup(&k.chans, h);
}

static struct chan_end *end_lookup(uint64_t h)
{
    return pool_lookup(&k.chan_ends, h);
}

/* ---- the ring as the kernel sees it --------------------------------------- */

static hs_chan_slot *chan_slot(const struct chan *ch, uint64_t pos)
{
    return hs_chan_slot_at(ch->data, ch->slots, ch->stride, pos);
}

/* Whether an end of role may make progress: the channel is closed, or a
 * receiver has a message to take, or a sender room for one. */
static int ring_ready(const struct chan *ch, unsigned role)
{
    if (atomic_load(&ch->ctrl->closed))
        return 1;
    uint64_t head = atomic_load(&ch->idx->head);
    uint64_t tail = atomic_load(&ch->idx->tail);
    if (ch->kind == HS_CHAN_SPSC)
        return role == HS_CHAN_RECEIVER ? tail != head
                                        : tail - head < ch->slots;
    if (role == HS_CHAN_RECEIVER)
        return atomic_load(&chan_slot(ch, head)->seq) == head + 1;
    return (int64_t)(atomic_load(&chan_slot(ch, tail)->seq) - tail) >= 0;
}

/* The waiting count of role's side. */
static _Atomic uint32_t *waiting_count(struct chan *ch, unsigned role)
{
    return role == HS_CHAN_RECEIVER ? &ch->idx->recv_waiting
                                    : &ch->idx->send_waiting;
}

/* Take one sleeper off role's count (see hs_chan_end_sleep()). */
static void waiting_done(struct chan *ch, unsigned role)
{
    atomic_fetch_sub(waiting_count(ch, role), 1);
}

/* ---- waking ------------------------------------------------------------------ */

/* Wake every thread sleeping on e with why. */
static void end_wake_all(struct chan_end *e, hs_status why)
{
    struct chan *ch = chan_lookup(e->chan);
    while (!list_empty(&e->waiters)) {
        struct thread *w = container_of(e->waiters.next, struct thread,
                                        wait_link);
        list_unlink(&w->wait_link);
        if (ch)
            waiting_done(ch, e->role);
        sched_wake(w, why);
    }
}

/* Wake the sleepers of every end of role. */
static void chan_wake_role(struct chan *ch, unsigned role)
{
    for (unsigned i = 0; i < HS_CHAN_ENDS_MAX; i++)
        if (ch->ends[i] && ch->ends[i]->role == role)
            end_wake_all(ch->ends[i], HS_OK);
}

/* Close ch (once): the fast path sees the flag, sleepers wake to see it. */
static void chan_close(struct chan *ch, struct thread *self)
{
    if (ch->closed)
        return;
    ch->closed = 1;
    atomic_store(&ch->ctrl->closed, 1);
    event_record(EV_CHAN_CLOSE, self, ch->obj.handle, 0);
    chan_wake_role(ch, HS_CHAN_RECEIVER);
    chan_wake_role(ch, HS_CHAN_SENDER);
}

/* e leaves its channel: its entry is cleared (its operations fail with
 * HS_EBADCAP from now on), its sleepers wake with why, and the channel
 * closes if e was its receiver or its last sender. */
static void end_leave(struct chan_end *e, hs_status why, struct thread *self)
{
    end_wake_all(e, why);
    struct chan *ch = chan_lookup(e->chan);
    if (e->slot < 0 || !ch)
        return;
    atomic_store(&ch->ctrl->ends[e->slot], 0);
    ch->ends[e->slot] = NULL;
    e->slot = -1;
    if (e->role == HS_CHAN_RECEIVER)
        ch->nrecv--;
    else
        ch->nsend--;
    if (e->role == HS_CHAN_RECEIVER || ch->nsend == 0)
        chan_close(ch, self);
}

static void chan_destroy(struct chan *ch, struct thread *self)
{
    chan_close(ch, self);
    for (unsigned i = 0; i < HS_CHAN_ENDS_MAX; i++) {
        if (ch->ends[i]) {
            ch->ends[i]->slot = -1;     /* an orphan now */
            ch->ends[i] = NULL;
        }
    }
    event_record(EV_CHAN_DESTROY, self, ch->obj.handle, 0);
    mem_hold_remove(&ch->holds[0]);
    mem_hold_remove(&ch->holds[1]);
    if (ch->audit)
        mem_hold_remove(&ch->holds[2]);
    list_unlink(&ch->owner_link);
    pool_free(&k.chans, ch);
}

/* Unmap the pages of e's mapping that still map the ring's frames (the
 * process may have unmapped or replaced some). */
static void end_unmap_pages(struct chan_end *e)
{
    for (uint64_t off = 0; off < e->len; off += HS_PAGE_4K) {
        uint64_t pa = off < HS_CHAN_DATA_OFF
                          ? e->hdr_pa + off
                          : e->data_pa + (off - HS_CHAN_DATA_OFF);
        struct vm_page pg;
        if (vm_lookup(e->proc, e->va + off, &pg) && pg.ps == PS_4K &&
            pg.pa == pa && vm_unmap_check(e->proc, e->va + off,
                                          HS_PAGE_4K) == HS_OK)
            vm_unmap(e->proc, e->va + off, HS_PAGE_4K);
    }
}

static void end_free(struct chan_end *e)
{
    list_unlink(&e->proc_link);
    pool_free(&k.chan_ends, e);
}

void chan_proc_end(struct proc *p)
{
    while (!list_empty(&p->chan_ends)) {
        struct chan_end *e = container_of(p->chan_ends.next,
                                          struct chan_end, proc_link);
        end_leave(e, HS_EBADCAP, NULL);
        end_free(e);
    }
    while (!list_empty(&p->chans))
        chan_destroy(container_of(p->chans.next, struct chan, owner_link),
                     NULL);
}

/* Whether the capability e was attached with still resolves. */
static int end_cap_valid(struct chan_end *e)
{
    struct cap *c;
    return cap_resolve(e->proc, e->cap_local, &c) == HS_OK &&
           c->obj.handle == e->cap_handle;
}

void chan_caps_changed(struct thread *self)
{
    for (uint32_t i = 0; i < pool_slots(&k.chan_ends); i++) {
        struct chan_end *e = pool_at(&k.chan_ends, i);
        if (!e || e->slot < 0 || end_cap_valid(e))
            continue;
        e->revoked = 1;
        event_record(EV_CHAN_REVOKE, self, e->obj.handle, e->chan);
        end_leave(e, HS_EBADCAP, self);
    }
}

/* ---- waiting ------------------------------------------------------------------ */

/* A sleeper's timeout (or kill): off the end's list and the count. */
static void wait_detach(struct thread *t)
{
    struct chan_end *e = t->wait_obj;
    struct chan *ch = chan_lookup(e->chan);
    list_unlink(&t->wait_link);
    if (ch)
        waiting_done(ch, e->role);
}

static void wait_describe(const struct thread *t, struct kbuf *b)
{
    const struct chan_end *e = t->wait_obj;
    kbuf_printf(b, "channel %u (%s end %u)", handle_index(e->chan),
                e->role == HS_CHAN_RECEIVER ? "receiving" : "sending",
                handle_index(e->obj.handle));
}

static const struct wait_ops chan_wait = {
    .what = "channel wait",
    .detach = wait_detach,
    .waits_for = NULL,
    .describe = wait_describe,
    .ipc = 0,
};

/* ---- checks -------------------------------------------------------------------- */

static int is_pow2(uint64_t x)
{
    return x && !(x & (x - 1));
}

/* Whether pol is a policy for a channel of messages up to msg_max. */
static hs_status policy_check(const hs_chan_policy *pol, uint32_t msg_max)
{
    unsigned f = pol->flags;
    if (f & ~HS_CHAN_POL_ALL)
        return HS_EINVAL;
    if ((f & HS_CHAN_POL_RATE) &&
        (!pol->rate || pol->rate > HS_CHAN_RATE_MAX || !pol->burst))
        return HS_EINVAL;
    if ((f & HS_CHAN_POL_SIZE) && (!pol->size_max || pol->size_max > msg_max))
        return HS_EINVAL;
    if ((f & HS_CHAN_POL_RIGHTS) && (pol->rights & ~HS_CAP_ALL))
        return HS_EINVAL;
    if ((f & HS_CHAN_POL_SOURCES) &&
        (!pol->nsources || pol->nsources > HS_CHAN_SOURCES_MAX))
        return HS_EINVAL;
    return HS_OK;
}

static hs_status attr_check(const hs_chan_attr *a)
{
    if (a->slots < 2 || a->slots > HS_CHAN_SLOTS_MAX || !is_pow2(a->slots))
        return HS_EINVAL;
    if (!a->msg_max || a->msg_max > HS_CHAN_MSG_MAX)
        return HS_EINVAL;
    if (a->kind != HS_CHAN_SPSC && a->kind != HS_CHAN_MPSC)
        return HS_EINVAL;
    if (a->overflow < HS_CHAN_BLOCK || a->overflow > HS_CHAN_FAIL)
        return HS_EINVAL;
    if (a->overflow == HS_CHAN_BLOCK && !timeout_valid(a->timeout))
        return HS_EINVAL;
    if ((uint64_t)a->slots * hs_chan_stride(a->msg_max) > HS_CHAN_RING_MAX)
        return HS_EINVAL;
    return a->policy ? policy_check(a->policy, a->msg_max) : HS_OK;
}

/* Order of the block that holds len bytes (at least one frame). */
static unsigned order_for(uint64_t len)
{
    unsigned o = 0;
    while (((uint64_t)HS_PAGE_4K << o) < len)
        o++;
    return o;
}

/* Whether the policy lets process p attach a sending end with a
 * capability holding rights. */
static int policy_admits(const hs_chan_policy *pol, const struct proc *p,
                         unsigned rights)
{
    if ((pol->flags & HS_CHAN_POL_RIGHTS) &&
        (rights & pol->rights) != pol->rights)
        return 0;
    if (!(pol->flags & HS_CHAN_POL_SOURCES))
        return 1;
    for (uint32_t i = 0; i < pol->nsources; i++)
        if (pol->sources[i] == p->obj.handle)
            return 1;
    return 0;
}

/* Put pol (checked; NULL: none) in force: in ch, and the runtime's part
 * in the control page, the flags last.  The rate bucket starts full. */
static void policy_write(struct chan *ch, const hs_chan_policy *pol)
{
    hs_chan_ctrl *ctrl = ch->ctrl;
    ch->policy = pol ? *pol : (hs_chan_policy){ .flags = 0 };
    atomic_store(&ctrl->policy, 0);
    atomic_store(&ctrl->size_max, ch->policy.size_max);
    atomic_store(&ctrl->burst, ch->policy.burst);
    atomic_store(&ctrl->interval,
                 ch->policy.rate ? (1000000000u + ch->policy.rate - 1) /
                                       ch->policy.rate
                                 : 0);
    atomic_store(&ctrl->types, ch->policy.types);
    atomic_store(&ch->idx->tat, 0);
    atomic_store(&ctrl->policy, ch->policy.flags & POL_RUNTIME);
}

/* Give ch the audit log in the (unreferenced) block at pa. */
static void audit_attach(struct chan *ch, uint64_t pa)
{
    ch->holds[2] = (struct mem_hold){
        .pa = pa, .len = (uint64_t)HS_PAGE_4K << AUDIT_ORDER, .ps = PS_4K };
    mem_hold_add(&ch->holds[2]);
    ch->audit = frame_host(pa);
    ch->audit_first = ch->audit_next = 0;
}

/* Frames for an audit log if pol asks for one and ch (NULL: a channel
 * to be made) has none: *pa, or PA_NONE when none is needed. */
static hs_status audit_alloc(const struct chan *ch, const hs_chan_policy *pol,
                             uint64_t *pa)
{
    *pa = PA_NONE;
    if (!pol || !(pol->flags & HS_CHAN_POL_AUDIT) || (ch && ch->audit))
        return HS_OK;
    return frame_alloc_block(AUDIT_ORDER, pa);
}

/* Append one record for message m of e, at ring position pos. */
static void audit_record(struct chan *ch, const struct chan_end *e,
                         const hs_chan_msg *m, uint64_t pos)
{
    if (ch->audit_next - ch->audit_first == HS_CHAN_AUDIT_LEN)
        ch->audit_first++;                  /* overwrite the oldest */
    uint64_t seq = ch->audit_next++;
    ch->audit[seq % HS_CHAN_AUDIT_LEN] = (hs_chan_audit_rec){
        .seq = seq, .time = plat_clock_now(), .chan = ch->obj.handle,
        .pos = pos, .src = e->proc->obj.handle, .type = m->type,
        .len = (uint32_t)m->len, .rights = e->rights,
    };
}

/* Sending ends that pol no longer admits are revoked. */
static void policy_revoke_ends(struct chan *ch, struct thread *self)
{
    for (unsigned i = 0; i < HS_CHAN_ENDS_MAX; i++) {
        struct chan_end *e = ch->ends[i];
        if (!e || e->role != HS_CHAN_SENDER ||
            policy_admits(&ch->policy, e->proc, e->rights))
            continue;
        e->revoked = 1;
        event_record(EV_CHAN_REVOKE, self, e->obj.handle, e->chan);
        end_leave(e, HS_EBADCAP, self);
    }
}

/* The channel that the caller's capability cap names, with right. */
static hs_status chan_resolve(struct thread *self, hs_cap_t cap,
                              unsigned right, struct chan **out,
                              struct cap **cout)
{
    struct cap *c;
    hs_status st = cap_resolve(thread_current_proc(self), cap, &c);
    if (st != HS_OK)
        return st;
    if (c->kind != HS_CAP_KIND_CHAN || (c->rights & right) != right)
        return HS_EPERM;
    *out = chan_lookup(c->object);
    if (cout)
        *cout = c;
    return HS_OK;
}

/* The end h of the caller's process, not revoked. */
static hs_status own_end(struct thread *self, uint64_t h,
                         struct chan_end **out)
{
    struct chan_end *e = end_lookup(h);
    if (!e || e->proc != thread_current_proc(self) || e->revoked)
        return HS_EBADCAP;
    *out = e;
    return HS_OK;
}

/* ---- create and destroy -------------------------------------------------------- */

/* Fill a new channel from attr, with its frames at hdr and data (and
 * audit, unless PA_NONE). */
static struct chan *chan_make(struct proc *p, const hs_chan_attr *a,
                              uint64_t hdr, uint64_t data, unsigned order,
                              uint64_t audit)
{
    struct chan *ch = pool_alloc(&k.chans);
    ch->owner = p;
    list_push_back(&p->chans, &ch->owner_link);
    ch->slots = a->slots;
    ch->stride = hs_chan_stride(a->msg_max);
    ch->msg_max = a->msg_max;
    ch->kind = a->kind;
    ch->overflow = a->overflow;
    ch->timeout = a->overflow == HS_CHAN_BLOCK ? a->timeout : HS_NOWAIT;
    ch->hdr_pa = hdr;
    ch->data_pa = data;
    ch->data_order = order;
    ch->data_len = (uint64_t)HS_PAGE_4K << order;
    ch->holds[0] = (struct mem_hold){ .pa = hdr, .len = 2 * HS_PAGE_4K,
                                      .ps = PS_4K };
    ch->holds[1] = (struct mem_hold){ .pa = data, .len = ch->data_len,
                                      .ps = PS_4K };
    mem_hold_add(&ch->holds[0]);
    mem_hold_add(&ch->holds[1]);
    ch->ctrl = frame_host(hdr + HS_CHAN_CTRL_OFF);
    ch->idx = frame_host(hdr + HS_CHAN_IDX_OFF);
    ch->data = frame_host(data);
    /* Free frames read as zero: only the non-zero fields are written. */
    ch->ctrl->slots = ch->slots;
    ch->ctrl->stride = ch->stride;
    ch->ctrl->msg_max = ch->msg_max;
    ch->ctrl->kind = ch->kind;
    ch->ctrl->overflow = ch->overflow;
    if (ch->kind == HS_CHAN_MPSC)
        for (uint32_t i = 0; i < ch->slots; i++)
            atomic_store_explicit(&chan_slot(ch, i)->seq, i,
                                  memory_order_relaxed);
    ch->audit = NULL;
    if (audit != PA_NONE)
        audit_attach(ch, audit);
    policy_write(ch, a->policy);
    return ch;
}

hs_status hs_chan_create(const hs_chan_attr *attr, hs_cap_t *cap)
{
    struct thread *self = kernel_enter();
    if (!self)
        return HS_ESTATE;
    struct proc *p = thread_current_proc(self);
    hs_status st = (attr && cap) ? attr_check(attr) : HS_EINVAL;
    unsigned order = 0;
    uint64_t hdr = 0, data = 0, audit = PA_NONE;
    if (st == HS_OK)
        st = pool_reserve(&k.chans, 1);
    if (st == HS_OK)
        st = cap_reserve(p);
    if (st == HS_OK) {
        order = order_for((uint64_t)attr->slots * hs_chan_stride(attr->msg_max));
        st = frame_alloc_block(1, &hdr);
    }
    if (st == HS_OK && (st = frame_alloc_block(order, &data)) != HS_OK)
        frame_free_block(1, hdr);
    if (st == HS_OK && (st = audit_alloc(NULL, attr->policy, &audit)) !=
                           HS_OK) {
        frame_free_block(order, data);
        frame_free_block(1, hdr);
    }
    if (st == HS_OK) {
        struct chan *ch = chan_make(p, attr, hdr, data, order, audit);
        *cap = cap_new(p, HS_CAP_KIND_CHAN, ch->obj.handle, HS_CAP_ALL, 0,
                       NULL)->local;
        event_record(EV_CHAN_CREATE, self, ch->obj.handle, ch->slots);
    }
    kernel_leave(self);
    return st;
}

hs_status hs_chan_destroy(hs_cap_t cap)
{
    struct thread *self = kernel_enter();
    if (!self)
        return HS_ESTATE;
    struct chan *ch = NULL;
    hs_status st = chan_resolve(self, cap, 0, &ch, NULL);
    if (st == HS_OK && ch->owner != thread_current_proc(self))
        st = HS_EPERM;
    if (st == HS_OK)
        chan_destroy(ch, self);
    kernel_leave(self);
    return st;
}

/* ---- attaching ------------------------------------------------------------------ */

/* Whether ch takes one more end of role: HS_ECLOSED, HS_ESTATE (the role
 * is taken), HS_ELIMIT; *slot the free entry. */
static hs_status role_check(const struct chan *ch, unsigned role,
                            unsigned *slot)
{
    if (ch->closed)
        return HS_ECLOSED;
    if (role == HS_CHAN_RECEIVER && ch->nrecv)
        return HS_ESTATE;
    if (role == HS_CHAN_SENDER && ch->kind == HS_CHAN_SPSC && ch->nsend)
        return HS_ESTATE;
    for (unsigned i = 0; i < HS_CHAN_ENDS_MAX; i++) {
        if (!ch->ends[i]) {
            *slot = i;
            return HS_OK;
        }
    }
    return HS_ELIMIT;
}

/* A free range of len bytes in p for a ring: HS_ERANGE if none. */
static hs_status va_choose(struct proc *p, uint64_t len, uint64_t *va)
{
    uint64_t step = (len + HS_PAGE_2M - 1) & ~(HS_PAGE_2M - 1);
    for (unsigned i = 0; i < CHAN_VA_TRIES; i++) {
        unsigned nodes;
        uint64_t cand = CHAN_VA_BASE + (uint64_t)i * step;
        if (vm_map_plan(p, cand, len, HS_PAGE_4K, &nodes) == HS_OK) {
            *va = cand;
            return HS_OK;
        }
    }
    return HS_ERANGE;
}

/* Map ch's frames at va in p: the control page read-only, the rest
 * read-write. */
static void ring_map(struct chan *ch, struct proc *p, uint64_t va)
{
    unsigned rw = HS_PROT_READ | HS_PROT_WRITE;
    vm_map(p, va + HS_CHAN_CTRL_OFF, ch->hdr_pa + HS_CHAN_CTRL_OFF,
           HS_PAGE_4K, PS_4K, HS_PROT_READ, HS_PROT_READ, HS_MEM_SHARED, 0);
    vm_map(p, va + HS_CHAN_IDX_OFF, ch->hdr_pa + HS_CHAN_IDX_OFF,
           HS_PAGE_4K, PS_4K, rw, rw, HS_MEM_SHARED, 0);
    vm_map(p, va + HS_CHAN_DATA_OFF, ch->data_pa, ch->data_len, PS_4K, rw,
           rw, HS_MEM_SHARED, 0);
}

/* Make the end (every check done) and describe it in *out. */
static struct chan_end *end_make(struct chan *ch, struct proc *p,
                                 const struct cap *c, unsigned role,
                                 unsigned slot, uint64_t va)
{
    struct chan_end *e = pool_alloc(&k.chan_ends);
    e->proc = p;
    list_push_back(&p->chan_ends, &e->proc_link);
    e->chan = ch->obj.handle;
    e->role = role;
    e->slot = (int)slot;
    if (++ch->serial == 0)          /* 0 means "no end" */
        ch->serial = 1;
    e->serial = ch->serial;
    e->cap_local = c->local;
    e->cap_handle = c->obj.handle;
    e->rights = c->rights;
    e->va = va;
    e->len = HS_CHAN_DATA_OFF + ch->data_len;
    e->hdr_pa = ch->hdr_pa;
    e->data_pa = ch->data_pa;
    list_init(&e->waiters);
    ring_map(ch, p, va);
    ch->ends[slot] = e;
    if (role == HS_CHAN_RECEIVER)
        ch->nrecv++;
    else
        ch->nsend++;
    atomic_store(&ch->ctrl->pids[slot], p->obj.handle);
    atomic_store(&ch->ctrl->ends[slot], e->serial);
    return e;
}

static void end_describe(const struct chan *ch, const struct chan_end *e,
                         hs_chan *out)
{
    *out = (hs_chan){
        .id = ch->obj.handle, .end = e->obj.handle, .va = e->va,
        .len = e->len, .role = e->role, .kind = ch->kind,
        .overflow = ch->overflow, .slots = ch->slots, .stride = ch->stride,
        .msg_max = ch->msg_max, .timeout = ch->timeout,
        .end_slot = (uint32_t)e->slot, .serial = e->serial,
    };
}

hs_status hs_chan_end_map(hs_cap_t cap, unsigned role, uint64_t va,
                          hs_chan *out)
{
    struct thread *self = kernel_enter();
    if (!self)
        return HS_ESTATE;
    struct proc *p = thread_current_proc(self);
    struct chan *ch = NULL;
    struct cap *c = NULL;
    unsigned slot = 0;
    hs_status st = (!out || (role != HS_CHAN_SENDER &&
                             role != HS_CHAN_RECEIVER) ||
                    va % HS_PAGE_4K) ? HS_EINVAL : HS_OK;
    if (st == HS_OK)
        st = chan_resolve(self, cap, role == HS_CHAN_SENDER ? HS_CAP_SEND
                                                           : HS_CAP_RECV,
                          &ch, &c);
    if (st == HS_OK && role == HS_CHAN_SENDER &&
        !policy_admits(&ch->policy, p, c->rights))
        st = HS_EPERM;
    if (st == HS_OK)
        st = role_check(ch, role, &slot);
    uint64_t len = st == HS_OK ? HS_CHAN_DATA_OFF + ch->data_len : 0;
    if (st == HS_OK)
        st = va ? vm_range_check(va, len, HS_PAGE_4K) : va_choose(p, len, &va);
    if (st == HS_OK)
        st = pool_reserve(&k.chan_ends, 1);
    if (st == HS_OK)
        st = vm_map_check(p, va, len);
    if (st == HS_OK) {
        struct chan_end *e = end_make(ch, p, c, role, slot, va);
        end_describe(ch, e, out);
        event_record(EV_CHAN_ATTACH, self, ch->obj.handle, e->obj.handle);
    }
    kernel_leave(self);
    return st;
}

hs_status hs_chan_end_unmap(uint64_t end)
{
    struct thread *self = kernel_enter();
    if (!self)
        return HS_ESTATE;
    struct chan_end *e = end_lookup(end);
    hs_status st = (e && e->proc == thread_current_proc(self)) ? HS_OK
                                                               : HS_EBADCAP;
    if (st == HS_OK) {
        event_record(EV_CHAN_DETACH, self, e->chan, e->obj.handle);
        end_leave(e, HS_EBADCAP, self);
        end_unmap_pages(e);
        end_free(e);
    }
    kernel_leave(self);
    return st;
}

/* ---- sleeping and waking ---------------------------------------------------------- */

/*
 * The caller has added one to its side's waiting count before the call;
 * the kernel takes it off when the call returns without sleeping, or
 * when the sleeper is woken or times out, whichever comes first (so the
 * other side stops calling hs_chan_end_wake() as early as it can).
 *
 * The ring is looked at once, and that one look decides both whether to
 * sleep and what to return: with several CPUs the runtime changes the
 * indices without the kernel lock (another sender may take the room just
 * seen), so a second look may disagree with the first.
 */
hs_status hs_chan_end_sleep(uint64_t end, hs_time_t timeout)
{
    struct thread *self = kernel_enter();
    if (!self)
        return HS_ESTATE;
    struct chan_end *e = end_lookup(end);
    if (e && e->proc != thread_current_proc(self))
        e = NULL;
    struct chan *ch = e ? chan_lookup(e->chan) : NULL;
    hs_status st = (!e || e->revoked) ? HS_EBADCAP
                   : timeout_valid(timeout) ? HS_OK : HS_EINVAL;
    int ready = st == HS_OK && ch && ring_ready(ch, e->role);
    if (st == HS_OK && ch && !ready && timeout != HS_NOWAIT) {
        list_push_back(&e->waiters, &self->wait_link);
        event_record(EV_CHAN_SLEEP, self, e->chan, e->obj.handle);
        st = sched_block(self, &chan_wait, e, timeout);
    } else if (ch) {
        waiting_done(ch, e->role);
        if (st == HS_OK && !ready)
            st = HS_ETIMEOUT;
    }
    kernel_leave(self);
    return st;
}

hs_status hs_chan_end_wake(uint64_t end)
{
    struct thread *self = kernel_enter();
    if (!self)
        return HS_ESTATE;
    struct chan_end *e = NULL;
    hs_status st = own_end(self, end, &e);
    struct chan *ch = st == HS_OK ? chan_lookup(e->chan) : NULL;
    if (ch && e->slot >= 0) {
        event_record(EV_CHAN_WAKE, self, e->chan, e->obj.handle);
        chan_wake_role(ch, e->role == HS_CHAN_SENDER ? HS_CHAN_RECEIVER
                                                     : HS_CHAN_SENDER);
    }
    kernel_leave(self);
    return st;
}

/* ---- policy, audit, statistics ----------------------------------------------------- */

hs_status hs_chan_policy_set(hs_cap_t cap, const hs_chan_policy *policy)
{
    struct thread *self = kernel_enter();
    if (!self)
        return HS_ESTATE;
    struct chan *ch = NULL;
    uint64_t audit = PA_NONE;
    hs_status st = chan_resolve(self, cap, 0, &ch, NULL);
    if (st == HS_OK && ch->owner != thread_current_proc(self))
        st = HS_EPERM;
    if (st == HS_OK && policy)
        st = policy_check(policy, ch->msg_max);
    if (st == HS_OK)
        st = audit_alloc(ch, policy, &audit);
    if (st == HS_OK) {
        if (audit != PA_NONE)
            audit_attach(ch, audit);
        policy_write(ch, policy);
        policy_revoke_ends(ch, self);
    }
    kernel_leave(self);
    return st;
}

hs_status hs_chan_audit_read(hs_cap_t cap, hs_chan_audit_rec *out,
                             size_t max, size_t *n)
{
    struct thread *self = kernel_enter();
    if (!self)
        return HS_ESTATE;
    struct chan *ch = NULL;
    hs_status st = (out && n) ? chan_resolve(self, cap, 0, &ch, NULL)
                              : HS_EINVAL;
    if (st == HS_OK && ch->owner != thread_current_proc(self))
        st = HS_EPERM;
    if (st == HS_OK && !ch->audit)
        st = HS_ENOENT;
    if (st == HS_OK) {
        size_t got = 0;
        for (; got < max && ch->audit_first < ch->audit_next; got++)
            out[got] = ch->audit[ch->audit_first++ % HS_CHAN_AUDIT_LEN];
        *n = got;
    }
    kernel_leave(self);
    return st;
}

hs_status hs_chan_end_audit(uint64_t end, const hs_chan_msg *msgs, size_t n,
                            uint64_t pos)
{
    struct thread *self = kernel_enter();
    if (!self)
        return HS_ESTATE;
    /* A revoked end may still record: its messages are in the ring. */
    struct chan_end *e = end_lookup(end);
    if (e && e->proc != thread_current_proc(self))
        e = NULL;
    hs_status st = !msgs ? HS_EINVAL : e ? HS_OK : HS_EBADCAP;
    struct chan *ch = st == HS_OK ? chan_lookup(e->chan) : NULL;
    if (ch && ch->audit && (ch->policy.flags & HS_CHAN_POL_AUDIT) &&
        e->role == HS_CHAN_SENDER)
        for (size_t i = 0; i < n; i++)
            audit_record(ch, e, &msgs[i], pos + i);
    kernel_leave(self);
    return st;
}

/*
 * The table hs_chan_stats_print() writes:
 *
 *   title
 *     sent               10      sent bytes        160
 *     received           10      received bytes    160
 *     dropped             0      refused rate        3
 *     refused size        1      refused type        1
 *     full waits          2      empty waits         1
 *     latency >= ns     virtual         host
 *                0          10            0
 *             1024           0           10
 *
 * A latency row for each bucket that counted something.
 */
void hs_chan_stats_print(const char *title, const hs_chan_stats *s)
{
    if (!s)
        return;
    static const char *const names[] = {
        "sent", "sent bytes", "received", "received bytes", "dropped",
        "refused rate", "refused size", "refused type", "full waits",
        "empty waits",
    };
    const uint64_t v[] = {
        s->sent, s->sent_bytes, s->received, s->received_bytes, s->dropped,
        s->refused_rate, s->refused_size, s->refused_type, s->full_waits,
        s->empty_waits,
    };
    struct kbuf b;
    char buf[KFMT_TABLE];
    kbuf_init(&b, buf, sizeof buf);
    kbuf_printf(&b, "%s\n", title ? title : "");
    for (unsigned i = 0; i < sizeof v / sizeof v[0]; i++)
        kbuf_printf(&b, "%s%-14s %8llu%s", i % 2 ? "    " : "  ", names[i],
                    (unsigned long long)v[i], i % 2 ? "\n" : "");
    kbuf_printf(&b, "  %-14s %8s %12s\n", "latency >= ns", "virtual", "host");
    for (unsigned i = 0; i < HS_CHAN_HIST_BUCKETS; i++) {
        if (!s->lat_virt[i] && !s->lat_host[i])
            continue;
        kbuf_printf(&b, "  %14llu %8llu %12llu\n",
                    i ? 1ull << (i - 1) : 0ull,
                    (unsigned long long)s->lat_virt[i],
                    (unsigned long long)s->lat_host[i]);
    }
    plat_print(buf);
}

/* ---- the object table ------------------------------------------------------ */

static int chan_alive(uint64_t h)
{
    return chan_lookup(h) != NULL;
}

/* After the capabilities of an ending process went: ends attached
 * through them leave. */
static void chan_proc_free(struct proc *p)
{
    (void)p;
    chan_caps_changed(NULL);
}

const struct kobj_type chan_type = {
    .name = "channel",
    .pool = &k.chans,
    .size = sizeof(struct chan),
    .proc_end = chan_proc_end,
    .proc_free = chan_proc_free,
    .cap_kind = HS_CAP_KIND_CHAN,
    .cap_alive = chan_alive,
    .caps_changed = chan_caps_changed,
};

const struct kobj_type chan_end_type = {
    .name = "channel end",
    .pool = &k.chan_ends,
    .size = sizeof(struct chan_end),
};
