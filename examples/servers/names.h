/*
 * examples/servers/names.h - a name server: human-readable names to
 * capabilities, the way an L4Re program finds its services.
 *
 * Named ports are the kernel's one global namespace, and they name hop
 * targets.  Gates have no global names: a program reaches a gate only
 * through a capability someone passed it.  The name server closes that
 * gap.  It is an ordinary thread with a gate; whoever holds a capability
 * to that gate may
 *
 *   register   a name and a capability (which must carry HS_CAP_GRANT,
 *              so that the server may pass it on);
 *   look up    a name: the reply carries a copy of the registered
 *              capability with the rights asked for (a subset of those
 *              registered, without HS_CAP_GRANT unless asked);
 *   unregister a name it registered itself.
 *
 * The registrant is told apart by the label of its capability to the name
 * server, so each client should get its own label (hs_cap_derive).  A
 * registered capability whose object went away (its server thread ended)
 * is dropped the first time a lookup meets it.
 *
 * The protocol, for porting the server or writing a client by hand: the
 * tag's label is the operation, the name is NAMES_WORDS words (NUL padded),
 * a registration carries one capability item after them, a lookup puts
 * the rights wanted in mr[NAMES_WORDS] and, if it may wait, the absolute
 * virtual time until which it waits in mr[NAMES_WORDS + 1] (HS_NEVER: for
 * ever; a lookup of NAMES_WORDS + 1 words does not wait); the reply's
 * mr[0] is an hs_status and a successful lookup's reply carries one
 * capability item.
 *
 * Lookups that wait.  A lookup of a name not yet registered that may wait
 * is not answered: the server keeps the call (hs_ipc_reply_keep) and
 * answers it when the name is registered (hs_ipc_reply_to), at the
 * registration's own virtual time.  The client just stays blocked in its
 * call, its receive timeout running out at its deadline; nobody polls.
 * At most NAMES_HELD_MAX lookups are held at once: one more is answered
 * HS_ELIMIT.  A held lookup whose caller gave up (timed out, was
 * cancelled, ended) answers HS_ESTALE, and the server just drops it; one
 * whose deadline has passed is answered HS_ETIMEOUT after the next
 * request, which frees its kept reply; when the server stops, every
 * held lookup is answered HS_EPARTNER.  What it does not do: a held
 * lookup of a client that ended while waiting for ever keeps its slot
 * until the name is registered or the server stops.
 *
 * Lost answers.  A client's call may end with HS_ETIMEOUT in its receive
 * phase before its deadline (or although it waits for ever): the kernel
 * gave up for it just before the answer landed (a fault, hopsim/fault.h), after the server had acted
 * on the request.  The client calls send such a request again, at most
 * NAMES_RETRIES times, with NAMES_RETRY set in the operation, and the
 * protocol makes a request sent twice act once: a retried registration of
 * a name the same client (label) holds is answered HS_OK and keeps the
 * capability registered the first time; an unregistration answered HS_ENOPORT,
 * or a stop that finds the server gone, on the retry, succeeded the first
 * time; a lookup sent again is just a lookup, held again if it must
 * wait.  So a client that loses an answer neither gives up on a lookup
 * it asked to wait for, nor leaves a name it believes unregistered.  The
 * server itself answers every request it receives, at once or when it
 * holds it no longer (a reply refused for its message is followed by an
 * answer saying why), so no caller waits on it for ever, whatever happens
 * to other clients.
 */
#ifndef EXAMPLES_SERVERS_NAMES_H
#define EXAMPLES_SERVERS_NAMES_H

#include "hopsim.h"

#define NAMES_MAX_LEN 47    /* longest name, in bytes */
#define NAMES_WORDS 6       /* words a name takes in a message */
#define NAMES_CAPACITY 64   /* names one server holds */
#define NAMES_HELD_MAX 32   /* lookups one server holds until their name
                               is registered */

enum names_op {
    NAMES_REGISTER = 1,
    NAMES_LOOKUP = 2,
    NAMES_UNREGISTER = 3,
    NAMES_STOP = 4,         /* ends names_serve() */
};

#define NAMES_RETRY 0x100u  /* or-ed into the operation: sent again after
                               the answer to the first was lost */
#define NAMES_RETRIES 3     /* times a request is sent again */

/* Serve on gate (bound to the calling thread, with HS_CAP_RECV) until a
 * NAMES_STOP arrives through a capability labelled stop_label; returns
 * HS_OK then, or the IPC error that stopped it.  Sets br[HS_BR_CAPS]. */
hs_status names_serve(hs_cap_t gate, uint64_t stop_label);

/* Register name -> cap (which needs HS_CAP_GRANT).  Errors: HS_EINVAL
 * (name NULL, empty or too long), HS_EEXIST (taken), HS_ELIMIT (server
 * full), and the IPC errors of hs_ipc_call (HS_EPERM if cap lacks the
 * grant right, ...). */
hs_status names_register(hs_cap_t ns, const char *name, hs_cap_t cap);

/* Look name up: *out gets a new capability with rights (HS_CAP_SEND, say).
 * If name is not registered, waits for it until timeout (HS_NOWAIT: not at
 * all; HS_NEVER: until it appears), blocked in one call that the server
 * answers when the name is registered.  Errors: HS_EINVAL (also a timeout
 * above HS_TIMEOUT_MAX other than HS_NEVER), HS_ENOPORT (not registered;
 * HS_NOWAIT only), HS_ETIMEOUT, HS_ELIMIT (NAMES_HELD_MAX lookups held
 * already), HS_EPARTNER (the server stopped while it held the lookup),
 * HS_EPERM (rights beyond those registered), IPC errors. */
hs_status names_lookup(hs_cap_t ns, const char *name, unsigned rights,
                       hs_time_t timeout, hs_cap_t *out);

/* Remove a name the caller's label registered.  Errors: HS_EINVAL,
 * HS_ENOPORT, HS_EPERM (registered by another client), IPC errors. */
hs_status names_unregister(hs_cap_t ns, const char *name);

/* Stop the server; ns must carry the stop label.  Errors: HS_EPERM
 * (another label), IPC errors. */
hs_status names_stop(hs_cap_t ns);

#endif
