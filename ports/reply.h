/*
 * ports/reply.h - kept replies: a call its server holds to answer later.
 *
 * hs_ipc_reply_keep() turns the implicit reply capability of the call
 * just received into one of these, owned by the server's process: the
 * caller stays blocked in hs_ipc_call() until hs_ipc_reply_to() answers
 * it, from any thread of that process, exactly once.  A caller that
 * times out, is cancelled or ends leaves its kept reply stale (the answer
 * is HS_ESTALE); if the owning process ends first, the caller wakes with
 * HS_EPARTNER.
 */
#ifndef HOPSIM_PORTS_REPLY_H
#define HOPSIM_PORTS_REPLY_H

#include "core/kernel.h"
#include "kern/list.h"
#include "kern/object.h"
#include "kern/pool.h"

struct kept_reply {
    struct kobj obj;                /* handle; must be first */
    struct proc *owner;             /* the server's process */
    struct list owner_link;         /* in owner->replies */
    struct thread *caller;          /* blocked for the answer; NULL once
                                       it timed out, was cancelled or
                                       ended */
};

/* Make room for one kept reply (HS_ENOMEM); then reply_keep() cannot
 * fail. */
hs_status reply_reserve(void);

/* Keep caller c, blocked for the reply of a call owner's thread received,
 * as a new kept reply of owner: c waits on it from now on. */
struct kept_reply *reply_keep(struct proc *owner, struct thread *c);

/* The live kept reply of handle h, or NULL. */
struct kept_reply *reply_lookup(uint64_t h);

/* Answered (or found stale): the kept reply goes; its caller, if any,
 * has been woken by the answerer. */
void reply_free(struct kept_reply *r);

extern const struct kobj_type reply_type;

#endif
