/*
 * ports/port.h - the kernel's port object.
 */
#ifndef HOPSIM_PORTS_PORT_H
#define HOPSIM_PORTS_PORT_H

#include "core/kernel.h"
#include "kern/kfmt.h"
#include "kern/list.h"
#include "kern/pool.h"
#include "hopsim/port.h"

struct proc;

enum port_kind {
    PORT_ANON,
    PORT_NAMED,
    PORT_GATE,          /* reached through a capability (sync IPC) */
};

/* What a registry lookup reads comes first, so that a short name shares
 * the handle's cache line: the struct is two lines and the pool's chunks
 * are line aligned, so a lookup of a name of up to 40 bytes reads one
 * line of the port.  kind, closed and charged share 4 bytes to keep it
 * at two. */
struct port {
    struct kobj obj;                /* handle; must be first */
    struct port *hash_next;         /* registry chain (named ports) */
    uint32_t name_hash;             /* registry hash of name */
    enum port_kind kind : 8;
    unsigned char closed;
    unsigned char charged;          /* counted in owner's factory */
    union {
        char name[HS_PORT_NAME_MAX + 1];    /* PORT_NAMED */
        /* PORT_ANON: the processes besides the owner that may hop
         * through it (0: a free entry).  A handle names one process
         * for ever, so an entry of an ended one matches nobody. */
        hs_pid_t grants[HS_PORT_GRANTS_MAX];
    };
    struct proc *owner;
    struct list owner_link;         /* in owner->ports */
    hs_hop_handler handler;         /* NULL: hops fail with HS_ENOHANDLER */
    void *cookie;
};

_Static_assert(sizeof(struct port) == 2 * POOL_ALIGN,
               "struct port is two cache lines (see above)");

/* Check that a port can be made (limits, memory, and owner's quota if
 * owner is not NULL); then port_new() cannot fail.  A port made for an
 * owner that was checked is charged to its factory (charge set); the
 * kernel's own spawn ports are not. */
hs_status port_reserve(struct proc *owner);
struct port *port_new(struct proc *owner, enum port_kind kind,
                      const char *name, int charge);

/* Close: no more hops; a named port leaves the registry. */
void port_close(struct port *p);

/* Close and free one port. */
void port_destroy(struct port *p);

/* Close and free every port of an ending process. */
void port_proc_free(struct proc *owner);

/* The open or closed port of handle h, or NULL.  Inline: every hop
 * names its port. */
static inline struct port *port_lookup(hs_port_t h)
{
    return pool_lookup(&k.ports, h);
}

_Static_assert(sizeof(hs_pid_t) * HS_PORT_GRANTS_MAX ==
               HS_PORT_NAME_MAX + 1, "an anonymous port's grants fill the "
               "bytes a named port keeps its name in");

/* Whether process q (the process a thread is in) may hop through p:
 * anyone, through a named port; through an anonymous one, its owner
 * and the processes it was given to (hs_port_grant, and the spawn
 * pair).  Gates are reached through capabilities, never by a hop. */
static inline int port_reaches(const struct port *p, const struct proc *q)
{
    if (p->kind == PORT_NAMED || p->owner == q)
        return 1;
    if (p->kind != PORT_ANON)
        return 0;
    for (unsigned i = 0; i < HS_PORT_GRANTS_MAX; i++)
        if (p->grants[i] == q->obj.handle)
            return 1;
    return 0;
}

/* The port of handle h that process by may hop through, open, and with a
 * handler if need_handler: HS_OK and *out, or HS_ENOPORT, HS_EPERM (an
 * anonymous port by was not given), HS_ECLOSED, HS_ENOHANDLER.  Every
 * hop, an asynchronous one and the choice of a pager start here.
 * Inline: the hop's fast path. */
static inline hs_status port_open_to(hs_port_t h, const struct proc *by,
                                     int need_handler, struct port **out)
{
    struct port *p = port_lookup(h);
    if (!p)
        return HS_ENOPORT;
    if (!port_reaches(p, by))
        return HS_EPERM;
    if (p->closed)
        return HS_ECLOSED;
    if (need_handler && !p->handler)
        return HS_ENOHANDLER;
    *out = p;
    return HS_OK;
}

/* Give anonymous port p to process q, in a free entry (or one of an
 * ended process).  HS_ELIMIT when every entry names a live process;
 * HS_OK, changing nothing, when q has it already. */
hs_status port_grant(struct port *p, const struct proc *q);

/* "'name'" or "anonymous port 3" into b. */
void port_describe(hs_port_t h, struct kbuf *b);

extern const struct kobj_type port_type, spawn_port_type;

#endif
