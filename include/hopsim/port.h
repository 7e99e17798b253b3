/*
 * hopsim/port.h - ports: how processes reach each other.
 *
 * Processes are never addressed directly: a thread hops into a process
 * through a port the process owns, and arrives in the handler set on that
 * port.  Three kinds:
 *   named      global, found by string with hs_port_lookup() (O(1));
 *   anonymous  made by hs_port_create() (e.g. a session port a server
 *              hands to a client in a reply), and made by the kernel at
 *              spawn: the parent gets a port into the child and the child
 *              a port into the parent;
 *   gate       reached through a capability (see the synchronous IPC
 *              calls); not created here.
 * The owner of a port is the process the creating thread is in at the
 * time.  When the owner ends, its ports close and named ones disappear;
 * a port handle of an ended owner is refused with HS_ENOPORT.
 *
 * Who may hop through a port.  A named port: anyone who looks it up.  An
 * anonymous port: its owner, and the processes it was given to --
 * the other side of a spawn pair, and any process its owner names with
 * hs_port_grant() (a server hands a session port to the process that
 * hopped in: hs_port_grant(session, hs_hop_source(hop))).  A handle is
 * only a number: a process that guesses or is told another's port
 * handle, without being given the port, is refused with HS_EPERM.  "The
 * process" is always the one the thread is in when it hops, so a
 * visitor hops as the process it visits.
 */
#ifndef HOPSIM_PORT_H
#define HOPSIM_PORT_H

#include <stdint.h>

#include "api.h"
#include "proc.h"
#include "status.h"
#include "time.h"

HS_BEGIN_DECLS

typedef uint64_t hs_port_t;
typedef struct hs_level hs_hop_t;

#define HS_PORT_NAME_MAX 63   /* longest port name, in bytes */
#define HS_PORT_GRANTS_MAX 8  /* processes an anonymous port is given to
                                 at once, besides its owner */

/* A hop handler: runs in the port's owner, on a stack the owner provides,
 * as the thread that hopped.  See hopsim/hop.h for what it may do. */
typedef void (*hs_hop_handler)(hs_hop_t *hop, void *cookie);

/* Create an anonymous port owned by the caller's current process.
 * Errors: HS_ESTATE, HS_EINVAL (port NULL), HS_ELIMIT, HS_EQUOTA, HS_ENOMEM. */
hs_status hs_port_create(hs_port_t *port);

/* Create a port with a global name.  Threads waiting in hs_port_lookup()
 * for the name wake up.  Errors: HS_ESTATE, HS_EINVAL (name NULL, empty or
 * longer than HS_PORT_NAME_MAX, port NULL), HS_EEXIST (name taken),
 * HS_ELIMIT, HS_EQUOTA, HS_ENOMEM. */
hs_status hs_port_create_named(const char *name, hs_port_t *port);

/* Create a named port with its handler in one step, so that no thread
 * that finds the name (hs_port_lookup) can hop in before the handler is
 * set: the way to publish a server.  (With hs_port_create_named() then
 * hs_port_set_handler(), a client scheduled in between gets
 * HS_ENOHANDLER.)  Errors as hs_port_create_named(), and HS_EINVAL for a
 * NULL handler. */
hs_status hs_port_create_named_handler(const char *name,
                                       hs_hop_handler handler, void *cookie,
                                       hs_port_t *port);

/* Find a named port, waiting up to timeout for the name to appear.
 * Errors: HS_ESTATE, HS_EINVAL (bad name, timeout or port NULL),
 * HS_ETIMEOUT (no such name within the timeout; at once for HS_NOWAIT). */
hs_status hs_port_lookup(const char *name, hs_time_t timeout,
                         hs_port_t *port);

/* Set (or, with NULL, clear) the handler of a port the caller's current
 * process owns.  Errors: HS_ESTATE, HS_ENOPORT, HS_ECLOSED, HS_EPERM (not
 * the owner). */
hs_status hs_port_set_handler(hs_port_t port, hs_hop_handler handler,
                              void *cookie);

/* Close a port the caller's current process owns: later hops fail with
 * HS_ECLOSED and a named port's name is free again.  Hops already in
 * progress are not affected.  Errors: HS_ESTATE, HS_ENOPORT, HS_ECLOSED,
 * HS_EPERM. */
hs_status hs_port_destroy(hs_port_t port);

/* Give an anonymous port the caller's current process owns to process
 * pid, which may then hop through it; giving it twice is one grant.
 * Grants end with the port, with hs_port_revoke(), or when pid ends (its
 * entry is then free for another).
 * Errors, nothing changed: HS_ESTATE, HS_ENOPORT, HS_ECLOSED, HS_EPERM
 * (not the owner), HS_EINVAL (a named port, which needs no grant),
 * HS_ESRCH (pid names no live process), HS_ELIMIT (given to
 * HS_PORT_GRANTS_MAX live processes already). */
hs_status hs_port_grant(hs_port_t port, hs_pid_t pid);

/* Take back a grant of hs_port_grant() (or of a spawn pair): later hops
 * by pid are refused with HS_EPERM; hops in progress are not affected.
 * Errors, nothing changed: HS_ESTATE, HS_ENOPORT, HS_ECLOSED, HS_EPERM
 * (not the owner), HS_EINVAL (a named port), HS_ESRCH (pid does not hold
 * a grant of it). */
hs_status hs_port_revoke(hs_port_t port, hs_pid_t pid);

/* The spawn-time anonymous ports.  "to" ports are hopped through to reach
 * the other process; "from" ports are owned by the caller and receive the
 * other's hops (set a handler on them).
 *   hs_port_to_parent / hs_port_from_parent   in a child;
 *   hs_port_to_child / hs_port_from_child     in a parent, for child pid.
 * Errors: HS_ESTATE, HS_EINVAL (port NULL), HS_ENOPORT (no parent, or the
 * port is gone), HS_ENOTCHILD, HS_ESRCH. */
hs_status hs_port_to_parent(hs_port_t *port);
hs_status hs_port_from_parent(hs_port_t *port);
hs_status hs_port_to_child(hs_pid_t child, hs_port_t *port);
hs_status hs_port_from_child(hs_pid_t child, hs_port_t *port);

HS_END_DECLS

#endif
