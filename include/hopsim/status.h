/*
 * hopsim/status.h - the one status enum.
 *
 * Every hopsim call returns an hs_status (or a value plus one through an out
 * parameter).  HS_OK is zero; every error is a distinct positive value with a
 * name that hs_strerror() returns.  errno is never used: simulated threads
 * move between contexts on one host thread.
 */
#ifndef HOPSIM_STATUS_H
#define HOPSIM_STATUS_H

#include "api.h"

HS_BEGIN_DECLS

typedef enum hs_status {
    HS_OK = 0,
    HS_EINVAL,      /* an argument is malformed or out of range */
    HS_ESTATE,      /* the call is not allowed in the current state
                       (no simulation started, not inside a simulated thread,
                       simulation already running, ...).  The first call
                       of a process made outside a simulated thread also
                       says so on stderr, naming the call and the state:
                         hopsim: hs_hop() called outside a simulated
                         thread (no simulation is running): ... */
    HS_ENOMEM,      /* the host or kernel allocator is out of memory */
    HS_ELIMIT,      /* a configured limit would be exceeded */
    HS_ESRCH,       /* no such process or thread (never existed or reaped) */
    HS_ENOTCHILD,   /* the process is not a child of the caller */
    HS_EPERM,       /* the caller may not act on that object */
    HS_EJOINED,     /* the thread is already joined, or being joined */
    HS_ETIMEOUT,    /* the timeout expired before the operation completed */
    HS_EDEADLK,     /* the operation would wait on itself, or the run ended
                       in deadlock */
    HS_EPANIC,      /* the run ended with a kernel panic */
    HS_EEXIST,      /* the name, or the address range, is already taken */
    HS_ENOPORT,     /* no such port (never existed, or its owner ended) */
    HS_ECLOSED,     /* the port or channel is closed */
    HS_ENOHANDLER,  /* no handler: the port has none to arrive in, or
                       nothing is installed for the notification slot or
                       registered for the message type */
    HS_ENOSTACK,    /* the receiver has no stack for an arriving thread */
    HS_EDEPTH,      /* the hop would exceed the maximum hop depth */
    HS_EPARTNER,    /* the partner process ended first */
    HS_ESTALE,      /* the checkpoint or reply capability was already
                       used, or the partner stopped waiting */
    HS_EBADCAP,     /* no such capability, revoked, or its object is gone */
    HS_ENOREPLY,    /* no call to reply to */
    HS_EQUOTA,      /* the process's factory quota would be exceeded */
    HS_ECANCELED,   /* the operation was cancelled (hs_ipc_cancel) */
    HS_EMSGCUT,     /* the receiver's buffer registers do not take the
                       message's typed items */
    HS_ECHECK,      /* a scenario's own check found a wrong result
                       (hopsim/explore.h) */
    HS_ERANGE,      /* an address range wraps or leaves the 48-bit
                       address space, or the physical pool */
    HS_ENOMAP,      /* no mapping at that address */
    HS_EFAULT,      /* a memory access the mappings do not allow, and
                       nobody resolved the page fault */
    HS_ENOFRAME,    /* no free frame block of the size needed */
    HS_ENOENT,      /* no share-point of that name */
    HS_EABANDONED,  /* the receiver abandoned the typed message */
    HS_EFULL,       /* the channel is full (hopsim/chan.h) */
    HS_EMSGSIZE,    /* the message is larger than the channel takes, or
                       than the buffer given for it */
    HS_ERATE,       /* the channel's rate limit refuses the message now
                       (hopsim/chan.h) */
    HS_EFILTER,     /* the channel's filter refuses the message's type */
    HS_STATUS_COUNT /* number of status values; not a status */
} hs_status;

/* The name and a short description of a status, e.g.
 * "HS_ETIMEOUT (timeout expired)".  Never NULL; an unknown value gives
 * "HS_E? (unknown status)". */
const char *hs_strerror(hs_status status);

HS_END_DECLS

#endif
