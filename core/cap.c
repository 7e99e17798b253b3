/*
 * core/cap.c - capabilities and capability spaces (see cap.h).
 */
#include <string.h>

#include "core/cap.h"
#include "core/level.h"
#include "core/kernel.h"

/* Double p's table (16 slots to start); -1 if the host refuses. */
static int table_grow(struct proc *p)
{
    uint32_t n = p->cap_slots ? p->cap_slots * 2 : 16;
    struct cap **t = plat_realloc(p->caps, n * sizeof *t);
    if (!t)
        return -1;
    memset(t + p->cap_slots, 0, (n - p->cap_slots) * sizeof *t);
    p->caps = t;
    p->cap_slots = n;
    return 0;
}

/* A free slot of p's table, growing it if needed; -1 if the host refuses. */
static int64_t slot_find(struct proc *p)
{
    for (uint32_t i = p->cap_hint; i < p->cap_slots; i++)
        if (!p->caps[i])
            return i;
    for (uint32_t i = 0; i < p->cap_hint && i < p->cap_slots; i++)
        if (!p->caps[i])
            return i;
    int64_t i = p->cap_slots;
    return table_grow(p) == 0 ? i : -1;
}

/* Grow p's table until it has n free slots; 0, or -1 if the host
 * refuses. */
static int slots_ensure(struct proc *p, unsigned n)
{
    for (;;) {
        unsigned free_slots = 0;
        for (uint32_t i = 0; i < p->cap_slots && free_slots < n; i++)
            free_slots += !p->caps[i];
        if (free_slots >= n)
            return 0;
        if (table_grow(p) != 0)
            return -1;
    }
}

hs_status cap_reserve_n(struct proc *p, unsigned n)
{
    if (k.caps.live + n > k.cfg.max_caps)
        return HS_ELIMIT;
    hs_status st = factory_check(p, HS_RES_CAPS, n);
    if (st != HS_OK)
        return st;
    if (n == 1 ? slot_find(p) < 0 : slots_ensure(p, n) < 0)
        return HS_ENOMEM;
    return pool_reserve(&k.caps, n);
}

hs_status cap_reserve(struct proc *p)
{
    return cap_reserve_n(p, 1);
}

struct cap *cap_new(struct proc *p, hs_cap_kind kind, uint64_t object,
                    unsigned rights, uint64_t label, const struct cap *parent)
{
    uint32_t slot = (uint32_t)slot_find(p);     /* reserved: cannot fail */
    struct cap *c = pool_alloc(&k.caps);
    c->owner = p;
    c->local = slot + 1;
    c->kind = kind;
    c->object = object;
    c->rights = rights;
    c->label = label;
    if (parent) {
        c->parent = parent->obj.handle;
        c->parent_gen = parent->revoke_gen;
    }
    c->chain_epoch = 0;             /* walked at its first use */
    p->caps[slot] = c;
    p->cap_hint = slot + 1;
    factory_charge(p, HS_RES_CAPS, 1);
    return c;
}

hs_status cap_resolve(struct proc *p, hs_cap_t local, struct cap **out)
{
    struct cap *c = cap_slot(p, local);
    if (!c || !cap_chain_valid(c) || !kobj_cap_alive(c->kind, c->object))
        return HS_EBADCAP;
    *out = c;
    return HS_OK;
}

int cap_chain_check(struct cap *c)
{
    for (const struct cap *d = c; d->parent;) {
        const struct cap *up = pool_lookup(&k.caps, d->parent);
        if (!up || up->revoke_gen != d->parent_gen)
            return 0;
        d = up;
    }
    c->chain_epoch = k.cap_epoch;
    return 1;
}

static void cap_free(struct cap *c)
{
    k.cap_epoch++;                  /* chains through c break */
    factory_credit(c->owner, HS_RES_CAPS, 1);
    c->owner->caps[c->local - 1] = NULL;
    if (c->local - 1 < c->owner->cap_hint)
        c->owner->cap_hint = c->local - 1;
    pool_free(&k.caps, c);
}

void cap_proc_free(struct proc *p)
{
    for (uint32_t i = 0; i < p->cap_slots; i++)
        if (p->caps[i])
            cap_free(p->caps[i]);
    plat_free(p->caps);
    p->caps = NULL;
    p->cap_slots = p->cap_hint = 0;
}

hs_status cap_check_initial(struct proc *parent, const hs_cap_t *caps,
                            unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        struct cap *c;
        hs_status st = cap_resolve(parent, caps[i], &c);
        if (st != HS_OK)
            return st;
        if (!(c->rights & HS_CAP_GRANT))
            return HS_EPERM;
    }
    return HS_OK;
}

void cap_copy_initial(struct proc *parent, struct proc *p,
                      const hs_cap_t *caps, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        struct cap *c = parent->caps[caps[i] - 1];
        struct cap *copy = cap_new(p, c->kind, c->object, c->rights,
                                   c->label, c);
        KASSERT(copy->local == i + 1, "initial capability out of place");
    }
}

/* ---- the public calls ------------------------------------------------------ */

/* The caller's valid capability local, and the process it is in. */
static hs_status own_cap(struct thread *self, hs_cap_t local,
                         struct cap **out)
{
    return cap_resolve(thread_current_proc(self), local, out);
}

hs_status hs_cap_derive(hs_cap_t cap, unsigned rights, uint64_t label,
                        hs_cap_t *out)
{
    struct thread *self = kernel_enter();
    if (!self)
        return HS_ESTATE;
    struct proc *p = thread_current_proc(self);
    struct cap *c = NULL;
    hs_status st = (!out || !rights || (rights & ~HS_CAP_ALL)) ? HS_EINVAL
                                                               : HS_OK;
    if (st == HS_OK)
        st = own_cap(self, cap, &c);
    if (st == HS_OK && (rights & ~c->rights))
        st = HS_EPERM;
    if (st == HS_OK)
        st = cap_reserve(p);
    if (st == HS_OK)
        *out = cap_new(p, c->kind, c->object, rights, label, c)->local;
    kernel_leave(self);
    return st;
}

hs_status hs_cap_revoke(hs_cap_t cap)
{
    struct thread *self = kernel_enter();
    if (!self)
        return HS_ESTATE;
    struct cap *c = NULL;
    hs_status st = own_cap(self, cap, &c);
    if (st == HS_OK) {
        cap_revoke_bump(c);
        event_record(EV_CAP_REVOKE, self, c->obj.handle, c->revoke_gen);
        kobj_caps_changed(self);
    }
    kernel_leave(self);
    return st;
}

hs_status hs_cap_delete(hs_cap_t cap)
{
    struct thread *self = kernel_enter();
    if (!self)
        return HS_ESTATE;
    struct proc *p = thread_current_proc(self);
    /* A revoked or orphaned name may still be deleted: only the slot
     * must be in use. */
    hs_status st = (cap && cap <= p->cap_slots && p->caps[cap - 1])
                       ? HS_OK : HS_EBADCAP;
    if (st == HS_OK) {
        cap_free(p->caps[cap - 1]);
        kobj_caps_changed(self);
    }
    kernel_leave(self);
    return st;
}

hs_status hs_cap_info_get(hs_cap_t cap, hs_cap_info *info)
{
    struct thread *self = kernel_enter();
    if (!self)
        return HS_ESTATE;
    struct cap *c = NULL;
    hs_status st = info ? own_cap(self, cap, &c) : HS_EINVAL;
    if (st == HS_OK) {
        info->kind = c->kind;
        info->rights = c->rights;
        info->label = c->label;
    }
    kernel_leave(self);
    return st;
}

hs_status hs_cap_give(hs_pid_t child, hs_cap_t cap, unsigned rights,
                      hs_cap_t *theirs)
{
    struct thread *self = kernel_enter();
    if (!self)
        return HS_ESTATE;
    struct proc *me = thread_current_proc(self);
    struct proc *to = proc_lookup(child);
    struct cap *c = NULL;
    hs_status st = (!theirs || !rights || (rights & ~HS_CAP_ALL))
                       ? HS_EINVAL : HS_OK;
    if (st == HS_OK)
        st = own_cap(self, cap, &c);
    if (st == HS_OK && (!(c->rights & HS_CAP_GRANT) || (rights & ~c->rights)))
        st = HS_EPERM;
    if (st == HS_OK && !to)
        st = HS_ESRCH;
    if (st == HS_OK && to->parent != me)
        st = HS_ENOTCHILD;
    /* An ended child freed its capability space for good (proc_end()),
     * and its reaping frees none: a copy put there would never be freed,
     * and would count against max_caps for every process. */
    if (st == HS_OK && to->state == PROC_ZOMBIE)
        st = HS_ESRCH;
    if (st == HS_OK)
        st = cap_reserve(to);
    if (st == HS_OK)
        *theirs = cap_new(to, c->kind, c->object, rights, c->label, c)->local;
    kernel_leave(self);
    return st;
}

/* ---- the object table ------------------------------------------------------ */

const struct kobj_type cap_type = {
    .name = "capability",
    .pool = &k.caps,
    .size = sizeof(struct cap),
    .proc_free = cap_proc_free,
};
