/*
 * ports/gate.c - gates (see gate.h).
 */
#include "core/cap.h"
#include "core/kernel.h"
#include "ports/gate.h"

hs_status gate_reserve(struct proc *p)
{
    if (!endpoints_fit(1))
        return HS_ELIMIT;
    hs_status st = factory_check(p, HS_RES_GATES, 1);
    return st == HS_OK ? pool_reserve(&k.gates, 1) : st;
}

struct gate *gate_new(struct thread *receiver)
{
    struct gate *g = pool_alloc(&k.gates);
    g->receiver = receiver;
    factory_charge(receiver->proc, HS_RES_GATES, 1);
    list_push_back(&receiver->gates, &g->receiver_link);
    event_record(EV_GATE_CREATE, receiver, g->obj.handle, 0);
    return g;
}

void gate_thread_end(struct thread *t)
{
    struct list *l, *tmp;
    list_for_each_safe(l, tmp, &t->gates) {
        struct gate *g = container_of(l, struct gate, receiver_link);
        list_unlink(&g->receiver_link);
        factory_credit(t->proc, HS_RES_GATES, 1);
        pool_free(&k.gates, g);
    }
}

hs_status hs_gate_create(hs_tid_t receiver, uint64_t label, hs_cap_t *cap)
{
    struct thread *self = kernel_enter();
    if (!self)
        return HS_ESTATE;
    struct proc *p = thread_current_proc(self);
    struct thread *r = receiver ? thread_lookup(receiver) : self;
    hs_status st = cap ? HS_OK : HS_EINVAL;
    if (st == HS_OK && (!r || r->state == THREAD_ZOMBIE))
        st = HS_ESRCH;
    if (st == HS_OK && r->proc != p)
        st = HS_EPERM;
    if (st == HS_OK)
        st = gate_reserve(p);
    if (st == HS_OK)
        st = cap_reserve(p);
    if (st == HS_OK) {
        struct gate *g = gate_new(r);
        *cap = cap_new(p, HS_CAP_KIND_GATE, g->obj.handle, HS_CAP_ALL, label,
                       NULL)->local;
    }
    kernel_leave(self);
    return st;
}

/* ---- the object table ------------------------------------------------------ */

static int gate_alive(uint64_t h)
{
    return gate_lookup(h) != NULL;
}

const struct kobj_type gate_type = {
    .name = "gate",
    .pool = &k.gates,
    .size = sizeof(struct gate),
    .cap_kind = HS_CAP_KIND_GATE,
    .cap_alive = gate_alive,
};
