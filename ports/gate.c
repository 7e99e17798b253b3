/*
 * ports/gate.c - gates (see gate.h).
 */
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

void gate_free_all(struct thread *t)
{
    struct list *l, *tmp;
    list_for_each_safe(l, tmp, &t->gates) {
        struct gate *g = container_of(l, struct gate, receiver_link);
        list_unlink(&g->receiver_link);
        factory_credit(t->proc, HS_RES_GATES, 1);
        pool_free(&k.gates, g);
    }
}
