/*
 * ports/port.c - ports: create, look up, set a handler, close.
 */
#include <string.h>

#include "core/level.h"
#include "ports/hop.h"
#include "core/kernel.h"
#include "core/sched.h"
#include "mem/pagefault.h"
#include "mem/portal.h"
#include "ports/port.h"
#include "ports/registry.h"

hs_status port_reserve(struct proc *owner)
{
    if (!endpoints_fit(1))
        return HS_ELIMIT;
    hs_status st = owner ? factory_check(owner, HS_RES_PORTS, 1) : HS_OK;
    return st == HS_OK ? pool_reserve(&k.ports, 1) : st;
}

struct port *port_new(struct proc *owner, enum port_kind kind,
                      const char *name, int charge)
{
    struct port *p = pool_alloc(&k.ports);
    p->kind = kind;
    p->owner = owner;
    p->charged = charge;
    if (charge)
        factory_charge(owner, HS_RES_PORTS, 1);
    list_push_back(&owner->ports, &p->owner_link);
    if (name) {
        kstrlcpy(p->name, name, sizeof p->name);
        registry_add(p);
    }
    event_record(EV_PORT_CREATE, NULL, p->obj.handle, owner->obj.handle);
    return p;
}

void port_close(struct port *p)
{
    if (p->closed)
        return;
    p->closed = 1;
    if (p->charged) {               /* a closed port is not counted */
        factory_credit(p->owner, HS_RES_PORTS, 1);
        p->charged = 0;
    }
    if (p->kind == PORT_NAMED)
        registry_remove(p);
    event_record(EV_PORT_CLOSE, NULL, p->obj.handle, 0);
}

void port_destroy(struct port *p)
{
    port_close(p);
    list_unlink(&p->owner_link);
    pool_free(&k.ports, p);
}

void port_proc_free(struct proc *owner)
{
    struct list *l, *tmp;
    list_for_each_safe(l, tmp, &owner->ports)
        port_destroy(container_of(l, struct port, owner_link));
}

void port_describe(hs_port_t h, struct kbuf *b)
{
    struct port *p = port_lookup(h);
    if (!p)
        kbuf_printf(b, "port %u (gone)", handle_index(h));
    else if (p->kind == PORT_NAMED)
        kbuf_printf(b, "port '%s'", p->name);
    else
        kbuf_printf(b, "anonymous port %u", handle_index(h));
}

/* ---- waiting for a name ------------------------------------------------------ */

static void lookup_detach(struct thread *t)
{
    list_unlink(&t->wait_link);
}

static void lookup_describe(const struct thread *t, struct kbuf *b)
{
    kbuf_printf(b, "name '%s'", (const char *)t->wait_obj);
}

static const struct wait_ops lookup_wait = {
    .what = "port lookup",
    .detach = lookup_detach,
    .waits_for = NULL,
    .describe = lookup_describe,
};

/* Wake every thread waiting for name. */
static void name_waiters_wake(const char *name)
{
    struct list *l, *tmp;
    list_for_each_safe(l, tmp, &k.name_waiters) {
        struct thread *t = container_of(l, struct thread, wait_link);
        if (strcmp(t->wait_obj, name) == 0) {
            list_unlink(&t->wait_link);
            sched_wake(t, HS_OK);
        }
    }
}

/* A valid name (not NULL, 1 to HS_PORT_NAME_MAX bytes), measured and
 * hashed into *key. */
static int name_valid(const char *name, struct registry_key *key)
{
    return name && registry_key(name, key);
}

/* ---- the public calls ----------------------------------------------------------- */

hs_status hs_port_create(hs_port_t *port)
{
    struct thread *self = kernel_enter();
    if (!self)
        return HS_ESTATE;
    struct proc *me = thread_current_proc(self);
    hs_status st = port ? port_reserve(me) : HS_EINVAL;
    if (st == HS_OK)
        *port = port_new(me, PORT_ANON, NULL, 1)->obj.handle;
    kernel_leave(self);
    return st;
}

/* A named port of the caller's current process, with handler and cookie
 * from the start (a lookup never finds it without); a NULL handler is
 * refused if need_handler, else the port has none yet. */
static hs_status named_create(const char *name, hs_hop_handler handler,
                              void *cookie, int need_handler,
                              hs_port_t *port)
{
    struct thread *self = kernel_enter();
    if (!self)
        return HS_ESTATE;
    struct registry_key key;
    hs_status st = (port && name_valid(name, &key) &&
                    (handler || !need_handler)) ? HS_OK : HS_EINVAL;
    if (st == HS_OK && registry_find(&key))
        st = HS_EEXIST;
    if (st == HS_OK)
        st = port_reserve(thread_current_proc(self));
    if (st == HS_OK)
        st = registry_reserve();
    if (st == HS_OK) {
        struct port *p = port_new(thread_current_proc(self), PORT_NAMED,
                                  name, 1);
        p->handler = handler;
        p->cookie = cookie;
        *port = p->obj.handle;
        name_waiters_wake(name);
    }
    kernel_leave(self);
    return st;
}

hs_status hs_port_create_named(const char *name, hs_port_t *port)
{
    return named_create(name, NULL, NULL, 0, port);
}

hs_status hs_port_create_named_handler(const char *name,
                                       hs_hop_handler handler, void *cookie,
                                       hs_port_t *port)
{
    return named_create(name, handler, cookie, 1, port);
}

hs_status hs_port_lookup(const char *name, hs_time_t timeout,
                         hs_port_t *port)
{
    struct thread *self = kernel_enter();
    if (!self)
        return HS_ESTATE;
    struct registry_key key;
    hs_status st = (port && name_valid(name, &key) && timeout_valid(timeout))
                       ? HS_OK : HS_EINVAL;
    struct port *p = st == HS_OK ? registry_find(&key) : NULL;
    if (st == HS_OK && !p) {
        if (timeout == HS_NOWAIT) {
            st = HS_ETIMEOUT;
        } else {
            /* Woken when the name appears; it may be closed again before
             * we run, so look once more. */
            list_push_back(&k.name_waiters, &self->wait_link);
            st = sched_block(self, &lookup_wait, (void *)name, timeout);
            p = st == HS_OK ? registry_find(&key) : NULL;
            if (st == HS_OK && !p)
                st = HS_ETIMEOUT;
        }
    }
    if (st == HS_OK)
        *port = p->obj.handle;
    kernel_leave(self);
    return st;
}

/* A port the caller's current process owns, for changing it. */
static hs_status owned_port(struct thread *self, hs_port_t h,
                            struct port **out)
{
    struct port *p = port_lookup(h);
    if (!p)
        return HS_ENOPORT;
    if (p->owner != thread_current_proc(self))
        return HS_EPERM;
    if (p->closed)
        return HS_ECLOSED;
    *out = p;
    return HS_OK;
}

hs_status hs_port_set_handler(hs_port_t port, hs_hop_handler handler,
                              void *cookie)
{
    struct thread *self = kernel_enter();
    if (!self)
        return HS_ESTATE;
    struct port *p;
    hs_status st = owned_port(self, port, &p);
    if (st == HS_OK) {
        p->handler = handler;
        p->cookie = cookie;
    }
    kernel_leave(self);
    return st;
}

hs_status hs_port_destroy(hs_port_t port)
{
    struct thread *self = kernel_enter();
    if (!self)
        return HS_ESTATE;
    struct port *p;
    hs_status st = owned_port(self, port, &p);
    if (st == HS_OK)
        port_close(p);
    kernel_leave(self);
    return st;
}

/* ---- who may hop through an anonymous port ------------------------------------ */

/* Whether entry h of a grant list is free: empty, or naming a process
 * that is no longer alive. */
static int grant_free(hs_pid_t h)
{
    struct proc *q = h ? proc_lookup(h) : NULL;
    return !q || q->state != PROC_ALIVE;
}

hs_status port_grant(struct port *p, const struct proc *q)
{
    int free_at = -1;
    for (int i = 0; i < HS_PORT_GRANTS_MAX; i++) {
        if (p->grants[i] == q->obj.handle)
            return HS_OK;
        if (free_at < 0 && grant_free(p->grants[i]))
            free_at = i;
    }
    if (free_at < 0)
        return HS_ELIMIT;
    p->grants[free_at] = q->obj.handle;
    return HS_OK;
}

/* The checks shared by grant and revoke: an anonymous port the caller's
 * current process owns. */
static hs_status grant_check(struct thread *self, hs_port_t port,
                             struct port **p)
{
    hs_status st = owned_port(self, port, p);
    if (st == HS_OK && (*p)->kind != PORT_ANON)
        st = HS_EINVAL;
    return st;
}

hs_status hs_port_grant(hs_port_t port, hs_pid_t pid)
{
    struct thread *self = kernel_enter();
    if (!self)
        return HS_ESTATE;
    struct port *p;
    hs_status st = grant_check(self, port, &p);
    struct proc *q = st == HS_OK ? proc_lookup(pid) : NULL;
    if (st == HS_OK && (!q || q->state != PROC_ALIVE))
        st = HS_ESRCH;
    if (st == HS_OK && q != p->owner)
        st = port_grant(p, q);
    kernel_leave(self);
    return st;
}

hs_status hs_port_revoke(hs_port_t port, hs_pid_t pid)
{
    struct thread *self = kernel_enter();
    if (!self)
        return HS_ESTATE;
    struct port *p;
    hs_status st = grant_check(self, port, &p);
    int at = -1;
    for (int i = 0; st == HS_OK && pid && i < HS_PORT_GRANTS_MAX; i++)
        if (p->grants[i] == pid)
            at = i;
    if (st == HS_OK && at < 0)
        st = HS_ESRCH;
    if (st == HS_OK)
        p->grants[at] = 0;
    kernel_leave(self);
    return st;
}

/* The spawn-time port pair lives in the child: port_in is the child's
 * (the parent hops in), port_out the parent's (the child hops out). */
static hs_status spawn_port(int of_parent, hs_pid_t child, int in,
                            hs_port_t *port)
{
    struct thread *self = kernel_enter();
    if (!self)
        return HS_ESTATE;
    struct proc *me = thread_current_proc(self);
    struct proc *c = of_parent ? me : proc_lookup(child);
    hs_status st = port ? HS_OK : HS_EINVAL;
    if (st == HS_OK && !c)
        st = HS_ESRCH;
    else if (st == HS_OK && !of_parent && c->parent != me)
        st = HS_ENOTCHILD;
    hs_port_t h = 0;
    if (st == HS_OK) {
        h = in ? c->port_in : c->port_out;
        if (!port_lookup(h))
            st = HS_ENOPORT;
    }
    if (st == HS_OK)
        *port = h;
    kernel_leave(self);
    return st;
}

hs_status hs_port_to_parent(hs_port_t *port)
{
    return spawn_port(1, 0, 0, port);
}

hs_status hs_port_from_parent(hs_port_t *port)
{
    return spawn_port(1, 0, 1, port);
}

hs_status hs_port_to_child(hs_pid_t child, hs_port_t *port)
{
    return spawn_port(0, child, 1, port);
}

hs_status hs_port_from_child(hs_pid_t child, hs_port_t *port)
{
    return spawn_port(0, child, 0, port);
}

/* ---- for the memory code ---------------------------------------------------- */

hs_status port_pager_check(hs_port_t port, const struct proc *by)
{
    struct port *pt;
    return port_open_to(port, by, 0, &pt);     /* no fault could hop in */
}

hs_port_t port_named(const char *name)
{
    struct registry_key key;
    if (!registry_key(name, &key))
        return 0;
    struct port *pt = registry_find(&key);
    return pt ? pt->obj.handle : 0;
}

/* ---- the object table ------------------------------------------------------ */

static void ports_start(void)
{
    list_init(&k.name_waiters);
}

const struct kobj_type port_type = {
    .name = "port",
    .pool = &k.ports,
    .size = sizeof(struct port),
    .start = ports_start,
    .proc_free = port_proc_free,
};

/* A child and its parent get a port pair, each given to the other side
 * only (spawn() in core/proc.c reserved the room); the parent's port for
 * a child goes when the child ends, after everything else of it. */
static void spawn_ports_make(struct proc *parent, struct proc *child)
{
    struct port *in = port_new(child, PORT_ANON, NULL, 0);
    struct port *out = port_new(parent, PORT_ANON, NULL, 0);
    (void)port_grant(in, parent);
    (void)port_grant(out, child);
    child->port_in = in->obj.handle;
    child->port_out = out->obj.handle;
}

static void spawn_ports_free(struct proc *p)
{
    struct port *out = port_lookup(p->port_out);
    if (out && out->owner == p->parent)
        port_destroy(out);
}

const struct kobj_type spawn_port_type = {
    .name = "spawn ports",
    .proc_spawn = spawn_ports_make,
    .proc_free = spawn_ports_free,
};
