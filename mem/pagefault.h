/*
 * mem/pagefault.h - page faults waiting for a pager (mem/access.c).
 */
#ifndef HOPSIM_MEM_PAGEFAULT_H
#define HOPSIM_MEM_PAGEFAULT_H

#include <stdint.h>

#include "kern/list.h"
#include "kern/object.h"
#include "kern/pool.h"
#include "hopsim/port.h"

struct proc;
struct thread;

/* A fault delivered to a pager: its thread waits until some thread of
 * resolver answers with hs_mem_fault_resolve(), or passes it on. */
struct pagefault {
    struct kobj obj;            /* handle (hs_pagefault_t); must be first */
    struct list link;           /* in k.pagefaults_open */
    struct thread *thread;      /* the faulting thread, blocked */
    struct proc *proc;          /* the process it faulted in */
    uint64_t va;                /* the faulting address */
    unsigned access;            /* HS_PROT_READ or HS_PROT_WRITE */
    unsigned flags;             /* HS_PF_* */
    uint64_t portal;            /* HS_PF_SPECIAL: the special portal
                                   (mr[7]); else 0 */
    struct proc *resolver;      /* the process it was delivered to */
};

/* Process p is ending: faults delivered to it fail, and their threads
 * die as for a refused fault. */
void pf_proc_end(struct proc *p);

/* ---- upcalls: provided by ports/ --------------------------------------------- */

/* ports/hop.c: start an asynchronous hop of process source into port,
 * which process by chose (by must be able to hop through it), at prio,
 * with message registers mr[0..HS_MR_COUNT-1] and tag, delivering page
 * fault `fault` (hs_hop_fault() tells the handler); the thread started
 * and the port's owner come back.  Errors, nothing changed: HS_ENOPORT,
 * HS_EPERM, HS_ECLOSED, HS_ENOHANDLER, and those of hop_deliver(). */
hs_status hop_deliver_to(hs_port_t port, const struct proc *by,
                         struct proc *source, int prio, const uint64_t *mr,
                         uint64_t tag, uint64_t fault, struct thread **t,
                         struct proc **owner);

/* ports/port.c: whether process by may name port its pager: HS_OK, or
 * HS_ENOPORT, HS_EPERM (an anonymous port not given it), HS_ECLOSED (no
 * fault could hop in). */
hs_status port_pager_check(hs_port_t port, const struct proc *by);

extern const struct kobj_type pagefault_type;

#endif
