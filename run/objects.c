/*
 * run/objects.c - the object table (kern/object.h): every kind of kernel
 * object, in the order start, teardown and the end of a process visit
 * them.
 *
 * The order is the contract of a process's end: the levels of visitors
 * unwind first, then notifications, page faults, portals and topics let
 * go of the process; then its address space, ports, IRQ objects and
 * capabilities are freed, and channel ends attached through those
 * capabilities leave last.
 */
#include "core/cap.h"
#include "core/checkpoint.h"
#include "core/level.h"
#include "ports/hop.h"
#include "ports/ipc.h"
#include "core/kernel.h"
#include "mem/pagefault.h"
#include "mem/pages.h"
#include "mem/portal.h"
#include "mem/vm.h"
#include "notify/notify.h"
#include "ports/chan.h"
#include "ports/gate.h"
#include "ports/irq.h"
#include "ports/port.h"
#include "ports/registry.h"
#include "ports/reply.h"
#include "ports/topic.h"

const struct kobj_type *const kobj_types[] = {
    &level_type,
    &thread_type,
    &notify_type,
    &proc_type,
    &pagefault_type,
    &portal_type,
    &topic_type,
    &vm_type,
    &port_type,
    &irq_type,
    &cap_type,
    &chan_type,
    &chan_end_type,
    &gate_type,
    &ipc_type,
    &reply_type,
    &checkpoint_type,
    &hop_offer_type,
    &pages_type,
    &registry_type,
    &spawn_port_type,
};

const unsigned kobj_ntypes = sizeof kobj_types / sizeof kobj_types[0];

/* The row of each capability kind, filled by kobj_start(). */
#define CAP_KINDS_MAX 16
static const struct kobj_type *by_cap_kind[CAP_KINDS_MAX];

/* The hooks of processes, threads and capabilities, only the rows that
 * have them, in table order: every thread's life walks these, not the
 * whole table. */
#define ROWS_MAX 32
struct hooks {
    void (*proc_end[ROWS_MAX])(struct proc *);
    void (*proc_free[ROWS_MAX])(struct proc *);
    void (*caps_changed[ROWS_MAX])(struct thread *);
    void (*proc_init[ROWS_MAX])(struct proc *);
    void (*proc_spawn[ROWS_MAX])(struct proc *, struct proc *);
    void (*thread_init[ROWS_MAX])(struct thread *);
    void (*thread_start[ROWS_MAX])(struct thread *);
    void (*thread_end[ROWS_MAX])(struct thread *);
    void (*thread_free[ROWS_MAX])(struct thread *);
    void (*level_drop[ROWS_MAX])(struct thread *, const struct hs_level *);
    unsigned nproc_end, nproc_free, ncaps_changed, nproc_init, nproc_spawn,
        nthread_init, nthread_start, nthread_end, nthread_free, nlevel_drop;
};
static struct hooks hooks;

#define HOOK_ADD(name, t) \
    do { if ((t)->name) hooks.name[hooks.n##name++] = (t)->name; } while (0)

/* Run every collected hook called name with the arguments after it. */
#define HOOKS_RUN(name, ...)                                            \
    do {                                                                \
        for (unsigned i_ = 0; i_ < hooks.n##name; i_++)                 \
            hooks.name[i_](__VA_ARGS__);                                \
    } while (0)

static void hooks_collect(void)
{
    hooks = (struct hooks){ 0 };
    for (unsigned i = 0; i < kobj_ntypes; i++) {
        const struct kobj_type *t = kobj_types[i];
        HOOK_ADD(proc_end, t);
        HOOK_ADD(proc_free, t);
        HOOK_ADD(caps_changed, t);
        HOOK_ADD(proc_init, t);
        HOOK_ADD(proc_spawn, t);
        HOOK_ADD(thread_init, t);
        HOOK_ADD(thread_start, t);
        HOOK_ADD(thread_end, t);
        HOOK_ADD(thread_free, t);
        HOOK_ADD(level_drop, t);
    }
}

void kobj_start(void)
{
    KASSERT(kobj_ntypes <= ROWS_MAX, "object table fits ROWS_MAX");
    hooks_collect();
    for (unsigned i = 0; i < kobj_ntypes; i++) {
        const struct kobj_type *t = kobj_types[i];
        if (t->pool)
            pool_init(t->pool, t->size);
    }
    for (unsigned i = 0; i < kobj_ntypes; i++) {
        const struct kobj_type *t = kobj_types[i];
        KASSERT((unsigned)t->cap_kind < CAP_KINDS_MAX &&
                !(t->cap_kind && by_cap_kind[t->cap_kind] &&
                  by_cap_kind[t->cap_kind] != t),
                "one row per capability kind");
        if (t->cap_kind)
            by_cap_kind[t->cap_kind] = t;
        if (t->start)
            t->start();
    }
}

void kobj_stop(void)
{
    for (unsigned i = 0; i < kobj_ntypes; i++)
        if (kobj_types[i]->stop)
            kobj_types[i]->stop();
    for (unsigned i = 0; i < kobj_ntypes; i++)
        if (kobj_types[i]->pool)
            pool_destroy(kobj_types[i]->pool);
}

void kobj_proc_end(struct proc *p)
{
    HOOKS_RUN(proc_end, p);
    HOOKS_RUN(proc_free, p);
}

void kobj_caps_changed(struct thread *self)
{
    HOOKS_RUN(caps_changed, self);
}

int kobj_cap_alive(hs_cap_kind kind, uint64_t handle)
{
    const struct kobj_type *t =
        (unsigned)kind < CAP_KINDS_MAX ? by_cap_kind[kind] : NULL;
    return t && t->cap_alive(handle);
}

void kobj_proc_init(struct proc *p) { HOOKS_RUN(proc_init, p); }

void kobj_proc_spawn(struct proc *parent, struct proc *child)
{
    HOOKS_RUN(proc_spawn, parent, child);
}

void kobj_thread_init(struct thread *t) { HOOKS_RUN(thread_init, t); }
void kobj_thread_start(struct thread *t) { HOOKS_RUN(thread_start, t); }
void kobj_thread_end(struct thread *t) { HOOKS_RUN(thread_end, t); }
void kobj_thread_free(struct thread *t) { HOOKS_RUN(thread_free, t); }

void kobj_level_drop(struct thread *t, const struct hs_level *l)
{
    HOOKS_RUN(level_drop, t, l);
}
