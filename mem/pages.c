/*
 * mem/pages.c - page-unit sends (seed 003, hopsim/pages.h).
 *
 * A send is three kinds of kernel object:
 *
 *   pages_send   one per hs_pages_send(): the sender, the range, the
 *                runs of frames it holds, the offers still undecided.
 *                The sender blocks on it until the last offer is decided.
 *   pages_run    a physically contiguous piece of the range, held with a
 *                kernel reference (struct mem_hold) at one page size, so
 *                the frames outlive whatever the sender's process does
 *                meanwhile and hs_mem_check() counts them.
 *   pages_offer  one per receiving process: the attachment riding on the
 *                typed message (notify/notify.h) and the handle the
 *                receiver's handler passes to hs_pages_accept().
 *
 * Life: hs_pages_send() checks everything, posts one typed message per
 * receiver, takes the holds, sets the sender's access, and blocks.  Each
 * offer ends exactly once: accepted (hs_pages_accept), abandoned or
 * dropped (its attachment's done()), or withdrawn (the sender's timeout
 * or end: the wait's detach).  When the last one ends the send ends: the
 * holds go (which frees frames nobody maps any more) and the sender wakes.
 * At the end of a run the pools simply go: mem_end() has already dropped
 * the holds.
 */
#include "core/factory.h"
#include "core/level.h"
#include "core/kernel.h"
#include "hopsim/pages.h"
#include "mem/mapdb.h"
#include "mem/pages.h"
#include "mem/vm.h"
#include "notify/notify.h"

#define PAGES_FLAGS (HS_PAGES_SENDER_RW | HS_PAGES_RECEIVER_RW | \
                     HS_PAGES_DUP | HS_PAGES_TO_MASK)

_Static_assert(HS_PAGES_WORDS <= HS_NOTIFY_WORDS,
               "a page message fits a notification");

/* A piece of the range: va maps [hold.pa, hold.pa + hold.len) at size
 * hold.ps in the sender when the send starts. */
struct pages_run {
    struct kobj obj;
    struct mem_hold hold;
    uint64_t va;
    struct pages_run *next;     /* in address order */
};

/* What the sender reads when it wakes: the send is freed by then. */
struct pages_result {
    unsigned taken;             /* offers accepted */
    hs_status outcome;          /* the last offer's decision */
};

struct pages_send {
    struct kobj obj;
    struct thread *sender;      /* blocked until the send ends */
    hs_pid_t from;              /* the process the range is in */
    uint64_t va, npages;
    unsigned flags;
    struct pages_run *runs;
    struct list offers;         /* undecided offers */
    unsigned pending;           /* of those, how many */
    unsigned taken;
    hs_status outcome;
    struct pages_result *res;   /* on the sender's stack */
};

struct pages_offer {
    struct kobj obj;            /* handle: HS_PAGES_W_OFFER */
    struct notify_attach a;
    struct pages_send *s;
    struct proc *to;            /* the receiving process */
    struct list link;           /* in s->offers */
    int accepted;               /* hs_pages_accept() mapped the pages */
};

void pages_start(void)
{
    pool_init(&k.pages_sends, sizeof(struct pages_send));
    pool_init(&k.pages_offers, sizeof(struct pages_offer));
    pool_init(&k.pages_runs, sizeof(struct pages_run));
}

void pages_stop(void)
{
    pool_destroy(&k.pages_sends);
    pool_destroy(&k.pages_offers);
    pool_destroy(&k.pages_runs);
}

static inline uint64_t min_u64(uint64_t a, uint64_t b)
{
    return a < b ? a : b;
}

/* ---- the sender's range --------------------------------------------------- */

/* Walk of the range at send: checks each leaf and cuts the range into
 * runs (one per leaf, or per 4K-held piece of a leaf the range cuts,
 * merged while contiguous at one size).  With out NULL it only counts. */
struct scan {
    unsigned flags;
    unsigned nruns;
    struct pages_run last;      /* the run being built (hold.len 0: none) */
    struct pages_run **out;     /* where the next finished run goes */
};

static void scan_flush(struct scan *sc)
{
    if (!sc->last.hold.len)
        return;
    sc->nruns++;
    if (sc->out) {
        struct pages_run *r = pool_alloc(&k.pages_runs);
        r->hold = sc->last.hold;
        r->va = sc->last.va;
        *sc->out = r;
        sc->out = &r->next;
    }
    sc->last.hold.len = 0;
}

/* One leaf pg, of which the range covers [lo, hi). */
static hs_status scan_leaf(struct scan *sc, const struct vm_page *pg,
                           uint64_t lo, uint64_t hi)
{
    uint64_t size = ps_bytes(pg->ps);
    if (pg->flags & (HS_MEM_DIRECT | HS_MEM_SPECIAL | HS_MEM_COW) ||
        !(pg->prot & HS_PROT_READ) ||
        ((sc->flags & HS_PAGES_RECEIVER_RW) && !(pg->prot & HS_PROT_WRITE)))
        return HS_EPERM;
    enum page_size ps = lo == pg->va && hi == pg->va + size ? pg->ps : PS_4K;
    uint64_t pa = pg->pa + (lo - pg->va);
    struct pages_run *l = &sc->last;
    if (l->hold.len && l->hold.ps == ps && l->va + l->hold.len == lo &&
        l->hold.pa + l->hold.len == pa) {
        l->hold.len += hi - lo;
        return HS_OK;
    }
    scan_flush(sc);
    l->va = lo;
    l->hold = (struct mem_hold){ .pa = pa, .len = hi - lo, .ps = ps };
    return HS_OK;
}

/* Check every leaf of [va, va + len) in p (HS_ENOMAP, HS_EPERM) and count
 * its runs, or (out) make them. */
static hs_status scan_range(struct proc *p, uint64_t va, uint64_t len,
                            struct scan *sc)
{
    uint64_t end = va + len;
    for (uint64_t a = va; a < end;) {
        struct vm_page pg;
        if (!vm_lookup(p, a, &pg))
            return HS_ENOMAP;
        uint64_t hi = min_u64(pg.va + ps_bytes(pg.ps), end);
        hs_status st = scan_leaf(sc, &pg, a, hi);
        if (st != HS_OK)
            return st;
        a = hi;
    }
    scan_flush(sc);
    return HS_OK;
}

/* ---- the targets -------------------------------------------------------- */

/* Whether a typed message of type can go from self to p now. */
static hs_status target_check(struct thread *self, struct proc *p,
                              uint32_t type)
{
    hs_notify_fn fn;
    void *cookie;
    if (!p || p->state != PROC_ALIVE)
        return HS_ESRCH;
    struct thread *r = notify_type_receiver(p, type, &fn, &cookie);
    if (!r)
        return HS_ENOHANDLER;
    if (r == self)
        return HS_EDEADLK;
    if (r->notify.nsent >= HS_NOTIFY_QUEUE_MAX)
        return HS_ELIMIT;
    return HS_OK;
}

/* Call fn for each receiving process of a send by self; the first error
 * of fn ends the walk.  For ALL and OTHERS, processes without a
 * registration (fn says HS_ENOHANDLER) are skipped, and those ended. */
typedef hs_status (*target_fn)(void *cookie, struct proc *p);

static hs_status targets_each(struct thread *self, hs_pid_t pid,
                              unsigned flags, target_fn fn, void *cookie)
{
    struct proc *me = thread_current_proc(self);
    unsigned to = flags & HS_PAGES_TO_MASK;
    if (to == HS_PAGES_TO_ONE || to == HS_PAGES_TO_SELF)
        return fn(cookie, to == HS_PAGES_TO_ONE ? proc_lookup(pid) : me);
    for (uint32_t i = 0; i < pool_slots(&k.procs); i++) {
        struct proc *p = pool_at(&k.procs, i);
        if (!p || p->state != PROC_ALIVE ||
            (to == HS_PAGES_TO_OTHERS && p == me))
            continue;
        hs_status st = fn(cookie, p);
        if (st != HS_OK && st != HS_ENOHANDLER)
            return st;
    }
    return HS_OK;
}

struct target_count {
    struct thread *self;
    uint32_t type;
    unsigned n;
};

static hs_status target_count_one(void *cookie, struct proc *p)
{
    struct target_count *c = cookie;
    hs_status st = target_check(c->self, p, c->type);
    c->n += st == HS_OK;
    return st;
}

/* ---- ending ---------------------------------------------------------------- */

/* The send is over: its holds go, its result goes to the sender's stack,
 * and it is freed.  Its offers are all gone already. */
static void send_end(struct pages_send *s)
{
    KASSERT(!s->pending && list_empty(&s->offers),
            "a page send ends with no offer left");
    for (struct pages_run *r = s->runs, *next; r; r = next) {
        next = r->next;
        mem_hold_remove(&r->hold);
        pool_free(&k.pages_runs, r);
    }
    s->res->taken = s->taken;
    s->res->outcome = s->outcome;
    pool_free(&k.pages_sends, s);
}

/* Offer o has ended with outcome; the last one ends the send and wakes
 * the sender when wake is set.  An offer not accepted is recorded once
 * the frames it held are let go, so the trace's memory counters see it. */
static void offer_end(struct pages_offer *o, hs_status outcome, int wake)
{
    struct pages_send *s = o->s;
    uint64_t npages = s->npages;
    int accepted = o->accepted;
    if (accepted)
        outcome = HS_OK;
    else if (outcome == HS_OK)          /* hs_notify_take() alone */
        outcome = HS_EABANDONED;
    s->taken += accepted != 0;
    s->outcome = outcome;
    list_unlink(&o->link);
    s->pending--;
    pool_free(&k.pages_offers, o);
    struct thread *sender = s->sender;
    int last = s->pending == 0;
    if (last)
        send_end(s);
    if (!accepted)
        event_record(EV_PAGES_ABANDON, kernel_current(), npages,
                     (uint64_t)outcome);
    if (last && wake)
        sched_wake(sender, HS_OK);
}

/* The offer's typed message was taken, abandoned or dropped. */
static void offer_done(struct notify_attach *a, hs_status outcome)
{
    offer_end(container_of(a, struct pages_offer, a), outcome, 1);
}

/* The sender gives up (timeout, its end, HS_NOWAIT): every offer still
 * undecided is withdrawn, and the send ends without waking anybody. */
static void send_withdraw(struct pages_send *s)
{
    while (!list_empty(&s->offers)) {
        struct pages_offer *o = container_of(s->offers.next,
                                             struct pages_offer, link);
        notify_attach_cancel(&o->a);
        offer_end(o, HS_ETIMEOUT, 0);
    }
}

/* ---- the sender's wait ------------------------------------------------------- */

static void send_detach(struct thread *t)
{
    send_withdraw(t->wait_obj);
}

static struct thread *send_waits_for(const struct thread *t)
{
    const struct pages_send *s = t->wait_obj;
    struct list *l;
    list_for_each(l, &s->offers) {
        const struct pages_offer *o = container_of(l, struct pages_offer,
                                                   link);
        if (o->a.item)
            return o->a.item->target;
    }
    return NULL;
}

static void send_describe(const struct thread *t, struct kbuf *b)
{
    const struct pages_send *s = t->wait_obj;
    struct thread *r = send_waits_for(t);
    kbuf_printf(b, "a page send's decisions (%u to come", s->pending);
    if (r) {
        kbuf_printf(b, ", from ");
        thread_describe(r, b);
    }
    kbuf_printf(b, ")");
}

static const struct wait_ops send_wait_ops = {
    .what = "hs_pages_send",
    .detach = send_detach,
    .waits_for = send_waits_for,
    .describe = send_describe,
};

/* ---- sending ----------------------------------------------------------------- */

/* Everything hs_pages_send() checks, in order; on success *nruns and
 * *ntargets say what to allocate, and every reservation is made. */
static hs_status send_check(struct thread *self, hs_pid_t pid, uint32_t type,
                            uint64_t va, uint64_t npages, unsigned flags,
                            hs_time_t timeout, unsigned *nruns,
                            unsigned *ntargets)
{
    unsigned to = flags & HS_PAGES_TO_MASK;
    if ((flags & ~PAGES_FLAGS) || !timeout_valid(timeout) || npages == 0 ||
        ((to == HS_PAGES_TO_ALL || to == HS_PAGES_TO_OTHERS) &&
         !(flags & HS_PAGES_DUP)) ||
        (to != HS_PAGES_TO_ONE && pid != 0))
        return HS_EINVAL;
    if (npages > HS_VA_LIMIT / HS_PAGE_4K)
        return va % HS_PAGE_4K ? HS_EINVAL : HS_ERANGE;
    uint64_t len = npages * HS_PAGE_4K;
    hs_status st = vm_range_check(va, len, HS_PAGE_4K);
    if (st != HS_OK)
        return st;
    struct proc *me = thread_current_proc(self);
    struct scan sc = { .flags = flags };
    st = scan_range(me, va, len, &sc);
    if (st != HS_OK)
        return st;
    struct target_count c = { .self = self, .type = type };
    st = targets_each(self, pid, flags, target_count_one, &c);
    if (st == HS_OK && c.n == 0)
        st = HS_ENOHANDLER;
    if (st == HS_OK)
        st = pool_reserve(&k.pages_sends, 1);
    if (st == HS_OK)
        st = pool_reserve(&k.pages_offers, c.n);
    if (st == HS_OK)
        st = pool_reserve(&k.pages_runs, sc.nruns);
    if (st == HS_OK)
        st = notify_type_reserve(c.n);
    if (st == HS_OK && !(flags & HS_PAGES_SENDER_RW))
        st = vm_protect_check(me, va, len, HS_PROT_READ);
    *nruns = sc.nruns;
    *ntargets = c.n;
    return st;
}

struct post {
    struct thread *self;
    struct pages_send *s;
    uint32_t type;
};

/* Post the offer of send s to p (checked). */
static hs_status post_one(void *cookie, struct proc *p)
{
    struct post *c = cookie;
    if (target_check(c->self, p, c->type) == HS_ENOHANDLER)
        return HS_ENOHANDLER;
    struct pages_send *s = c->s;
    struct pages_offer *o = pool_alloc(&k.pages_offers);
    o->a.done = offer_done;
    o->s = s;
    o->to = p;
    uint64_t w[HS_PAGES_WORDS] = {
        [HS_PAGES_W_PID] = s->from, [HS_PAGES_W_TYPE] = c->type,
        [HS_PAGES_W_VA] = s->va, [HS_PAGES_W_NPAGES] = s->npages,
        [HS_PAGES_W_FLAGS] = s->flags, [HS_PAGES_W_OFFER] = o->obj.handle,
    };
    hs_status st = notify_type_post(c->self, p, c->type, w, HS_PAGES_WORDS,
                                    &o->a);
    if (st != HS_OK) {
        pool_cancel(&k.pages_offers, o);
        return st;
    }
    list_push_back(&s->offers, &o->link);
    s->pending++;
    return HS_OK;
}

/* Make the send of checked arguments: post every offer, then hold the
 * frames and set the sender's access.  Posting can fail only in a corner
 * the checks cannot see (one thread registered in two receiving
 * processes, its queue one short of full): then the offers posted are
 * withdrawn and nothing else has changed. */
static hs_status send_start(struct thread *self, hs_pid_t pid, uint32_t type,
                            uint64_t va, uint64_t npages, unsigned flags,
                            struct pages_send **out)
{
    struct proc *me = thread_current_proc(self);
    uint64_t len = npages * HS_PAGE_4K;
    struct pages_send *s = pool_alloc(&k.pages_sends);
    s->sender = self;
    s->from = me->obj.handle;
    s->va = va;
    s->npages = npages;
    s->flags = flags;
    list_init(&s->offers);
    struct post c = { .self = self, .s = s, .type = type };
    hs_status st = targets_each(self, pid, flags, post_one, &c);
    if (st != HS_OK && !s->pending) {
        pool_cancel(&k.pages_sends, s);
    } else if (st != HS_OK) {
        struct pages_result res;
        s->res = &res;
        send_withdraw(s);           /* which ends s */
    }
    if (st != HS_OK)
        return st;
    struct scan sc = { .flags = flags, .out = &s->runs };
    KASSERT(scan_range(me, va, len, &sc) == HS_OK,
            "a checked range scans again");
    for (struct pages_run *r = s->runs; r; r = r->next)
        mem_hold_add(&r->hold);
    if (!(flags & HS_PAGES_SENDER_RW))
        vm_protect(me, va, len, HS_PROT_READ, 0, 0);
    event_record(EV_PAGES_SEND, self, va, s->pending);
    *out = s;
    return HS_OK;
}

/* The result of a send for its caller. */
static hs_status send_result(unsigned flags, const struct pages_result *res)
{
    unsigned to = flags & HS_PAGES_TO_MASK;
    if (to == HS_PAGES_TO_ALL || to == HS_PAGES_TO_OTHERS)
        return HS_OK;
    return res->outcome;
}

hs_status hs_pages_send(hs_pid_t pid, uint32_t type, uint64_t va,
                        uint64_t npages, unsigned flags, hs_time_t timeout,
                        unsigned *taken)
{
    struct thread *self = kernel_enter();
    if (!self)
        return HS_ESTATE;
    unsigned nruns = 0, ntargets = 0;
    struct pages_result res = { 0, HS_OK };
    struct pages_send *s = NULL;
    hs_status st = send_check(self, pid, type, va, npages, flags, timeout,
                              &nruns, &ntargets);
    if (st == HS_OK)
        st = send_start(self, pid, type, va, npages, flags, &s);
    if (st == HS_OK) {
        s->res = &res;
        if (timeout == HS_NOWAIT) {
            send_withdraw(s);
            st = HS_ETIMEOUT;
        } else {
            st = sched_block(self, &send_wait_ops, s, timeout);
            st = st == HS_OK ? send_result(flags, &res) : st;
        }
    }
    if (taken)
        *taken = res.taken;
    kernel_leave(self);
    return st;
}

/* ---- accepting ----------------------------------------------------------------- */

/* Where run r of send s lands at dst, and at which size. */
static uint64_t run_dst(const struct pages_send *s, const struct pages_run *r,
                        uint64_t dst, enum page_size *ps)
{
    uint64_t at = dst + (r->va - s->va);
    *ps = at % ps_bytes(r->hold.ps) ? PS_4K : r->hold.ps;
    return at;
}

/* A move takes the pages from the sender: the parts of its range that
 * still map the frames sent, in maximal stretches.  With apply 0, check
 * that they can be unmapped (HS_ENOMEM, reserving the nodes); with apply
 * 1, unmap them. */
struct stretch {
    struct proc *p;
    int apply;
    uint64_t va, len;           /* the stretch being built */
};

static hs_status stretch_flush(struct stretch *t)
{
    hs_status st = HS_OK;
    if (t->len && t->apply)
        vm_unmap(t->p, t->va, t->len);
    else if (t->len)
        st = vm_unmap_check(t->p, t->va, t->len);
    t->len = 0;
    return st;
}

static hs_status stretch_add(struct stretch *t, uint64_t va, uint64_t len)
{
    if (t->len && t->va + t->len == va) {
        t->len += len;
        return HS_OK;
    }
    hs_status st = stretch_flush(t);
    t->va = va;
    t->len = len;
    return st;
}

static hs_status sender_release(const struct pages_send *s, int apply)
{
    struct proc *p = proc_lookup(s->from);
    if (!p || p->state != PROC_ALIVE)
        return HS_OK;
    struct stretch t = { .p = p, .apply = apply };
    for (const struct pages_run *r = s->runs; r; r = r->next) {
        uint64_t end = r->va + r->hold.len;
        for (uint64_t a = r->va; a < end;) {
            struct vm_page pg;
            uint64_t hi = a + HS_PAGE_4K;
            if (vm_lookup(p, a, &pg)) {
                hi = min_u64(pg.va + ps_bytes(pg.ps), end);
                int same = !(pg.flags & (HS_MEM_DIRECT | HS_MEM_SPECIAL)) &&
                           pg.pa + (a - pg.va) == r->hold.pa + (a - r->va);
                hs_status st = same ? stretch_add(&t, a, hi - a) : HS_OK;
                if (st != HS_OK)
                    return st;
            }
            a = hi;
        }
    }
    return stretch_flush(&t);
}

/* Whether offer o of send s can be accepted at dst in its receiver:
 * every check of hs_pages_accept() after the offer's own, reserving the
 * page-table nodes. */
static hs_status accept_check(const struct pages_offer *o, uint64_t dst)
{
    const struct pages_send *s = o->s;
    uint64_t len = s->npages * HS_PAGE_4K;
    hs_status st = vm_range_check(dst, len, HS_PAGE_4K);
    if (st != HS_OK)
        return st;
    int move = !(s->flags & HS_PAGES_DUP);
    if (move && o->to->obj.handle == s->from && dst < s->va + len &&
        s->va < dst + len)
        return HS_EEXIST;           /* onto the very range it moves */
    uint64_t nodes = 0;
    for (const struct pages_run *r = s->runs; r && st == HS_OK; r = r->next) {
        enum page_size ps;
        uint64_t at = run_dst(s, r, dst, &ps);
        st = vm_map_check_pages(o->to, at, r->hold.len, ps_bytes(ps));
        nodes += 2 * (r->hold.len / ps_bytes(ps));
    }
    if (st == HS_OK)
        st = mapdb_reserve(nodes);
    if (st == HS_OK)
        st = factory_check(o->to, HS_RES_MAPPED, len);
    if (st == HS_OK && move)
        st = sender_release(s, 0);
    return st;
}

/* Page at of o's receiver (size ps) was just mapped with run r's frames
 * from the sender's va: derived from the sender's leaf there
 * (mem/mapdb.h) if the sender, another process, still maps those frames
 * with a page that holds the whole of it. */
static void accept_derive(const struct pages_offer *o, struct proc *from,
                          uint64_t va, uint64_t at, uint64_t pa,
                          enum page_size ps)
{
    struct vm_page pg;
    if (!from || from == o->to || !vm_lookup(from, va, &pg) ||
        (pg.flags & (HS_MEM_DIRECT | HS_MEM_SPECIAL)) ||
        pg.pa + (va - pg.va) != pa || pg.ps < ps)
        return;
    mapdb_derive(from, va, o->to, at);
}

/* Map the pages of offer o at dst in its receiver (checked). */
static void accept_map(const struct pages_offer *o, uint64_t dst)
{
    const struct pages_send *s = o->s;
    unsigned prot = HS_PROT_READ;
    if (s->flags & HS_PAGES_RECEIVER_RW)
        prot |= HS_PROT_WRITE;
    unsigned flags = (s->flags & HS_PAGES_DUP) ? HS_MEM_SHARED : 0;
    struct proc *from = proc_lookup(s->from);
    for (const struct pages_run *r = s->runs; r; r = r->next) {
        enum page_size ps;
        uint64_t at = run_dst(s, r, dst, &ps);
        vm_map(o->to, at, r->hold.pa, r->hold.len, ps, prot, prot, flags, 0);
        for (uint64_t off = 0; off < r->hold.len; off += ps_bytes(ps))
            accept_derive(o, from, r->va + off, at + off, r->hold.pa + off,
                          ps);
    }
}

/* The offer of handle h as self's handler may accept it. */
static hs_status accept_offer(struct thread *self, hs_pages_offer_t h,
                              struct pages_offer **out)
{
    struct notify_attach *a = NULL;
    hs_status st = notify_type_current(self, &a);
    if (st != HS_OK)
        return st;
    struct pages_offer *o = pool_lookup(&k.pages_offers, h);
    if (!o || !a)
        return HS_ESTALE;
    if (a != &o->a)
        return HS_EPERM;
    *out = o;
    return HS_OK;
}

hs_status hs_pages_accept(hs_pages_offer_t offer, uint64_t dst_va)
{
    struct thread *self = kernel_enter();
    if (!self)
        return HS_ESTATE;
    struct pages_offer *o = NULL;
    hs_status st = accept_offer(self, offer, &o);
    if (st == HS_OK)
        st = accept_check(o, dst_va);
    if (st == HS_OK) {
        accept_map(o, dst_va);
        if (!(o->s->flags & HS_PAGES_DUP))
            sender_release(o->s, 1);
        uint64_t npages = o->s->npages;
        o->accepted = 1;
        KASSERT(notify_type_decide(self, HS_OK) == HS_OK,
                "a page message being handled can be taken");
        event_record(EV_PAGES_ACCEPT, self, dst_va, npages);
    }
    kernel_leave(self);
    return st;
}

/* ---- the object table ------------------------------------------------------ */

const struct kobj_type pages_type = {
    .name = "page send",
    .start = pages_start,
    .stop = pages_stop,
};
