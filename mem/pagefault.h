/*
 * mem/pagefault.h - page faults waiting for a pager (mem/access.c).
 */
#ifndef HOPSIM_MEM_PAGEFAULT_H
#define HOPSIM_MEM_PAGEFAULT_H

#include <stdint.h>

#include "kern/list.h"
#include "kern/object.h"
#include "kern/pool.h"

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

extern const struct kobj_type pagefault_type;

#endif
