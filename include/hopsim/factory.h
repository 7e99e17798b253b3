/*
 * hopsim/factory.h - factories: quotas and the account of what a process
 * holds.
 *
 * Every process has a factory.  Each kernel object a process creates or
 * receives is made through it: threads (hs_thread_create, the first thread
 * of a spawn), child processes, ports, gates, capabilities (made, derived,
 * given to it, or received in a message) and IRQ objects, and the memory
 * behind them (the stacks of its threads); so is the address space it
 * maps (hopsim/mem.h).  The factory charges each one to
 * the process's account when it is made and credits it back when it goes,
 * and refuses with HS_EQUOTA a request that would take the count of a
 * resource beyond its limit: the refused call changes nothing.
 *
 * Limits come from the parent.  A process spawned from outside the
 * simulation has no limits (HS_UNLIMITED everywhere); a child gets its
 * parent's limits unless hs_proc_attr.quota gives its own, which may not
 * exceed the parent's; a parent may change a child's limits later with
 * hs_factory_set_limit().  So a limited process cannot escape its limits
 * by spawning: its children are limited at least as tightly, and their
 * number is itself a resource (HS_RES_PROCS).  A limit below what is
 * already in use is allowed: new requests are refused until use drops.
 *
 * Quotas are per process; the configuration's system-wide limits
 * (hs_sim_config.max_*) still apply on top and are refused with HS_ELIMIT.
 */
#ifndef HOPSIM_FACTORY_H
#define HOPSIM_FACTORY_H

#include <stdint.h>

#include "api.h"
#include "proc.h"
#include "status.h"

HS_BEGIN_DECLS

/* The resources a factory counts. */
typedef enum hs_res {
    HS_RES_THREADS,   /* thread objects of the process (until reaped) */
    HS_RES_PROCS,     /* child processes (until reaped) */
    HS_RES_PORTS,     /* open ports it made (a closed port no longer
                         counts; the spawn pair is the kernel's and is
                         not counted) */
    HS_RES_GATES,     /* gates bound to its threads */
    HS_RES_CAPS,      /* capabilities in its capability space */
    HS_RES_IRQS,      /* IRQ objects it created (until destroyed) */
    HS_RES_MEMORY,    /* bytes: the stacks of its threads, until they
                         end (stacks lent to threads hopping in are bounded
                         by hs_proc_set_hop_stacks instead) */
    HS_RES_MAPPED,    /* bytes of address space mapped (hopsim/mem.h); a
                         shared page counts in every process mapping it */
    HS_RES_COUNT      /* number of resources; not a resource */
} hs_res;

#define HS_UNLIMITED UINT64_MAX

/* Limits, one per resource, indexed by hs_res. */
typedef struct hs_quota {
    uint64_t limit[HS_RES_COUNT];
} hs_quota;

/* What a factory has charged, indexed by hs_res. */
typedef struct hs_account {
    uint64_t limit[HS_RES_COUNT];    /* current limits */
    uint64_t used[HS_RES_COUNT];     /* held now */
    uint64_t peak[HS_RES_COUNT];     /* most held at once */
    uint64_t refused[HS_RES_COUNT];  /* requests refused with HS_EQUOTA */
} hs_account;

/* A quota with every limit HS_UNLIMITED, to start from. */
static inline hs_quota hs_quota_unlimited(void)
{
    hs_quota q;
    for (int i = 0; i < HS_RES_COUNT; i++)
        q.limit[i] = HS_UNLIMITED;
    return q;
}

/* The account of process pid (0: the calling thread's process), which
 * must be the caller's process or one of its children; outside
 * hs_sim_run() any live process may be read.  Errors: HS_EINVAL (out
 * NULL), HS_ESRCH, HS_ENOTCHILD, HS_ESTATE (no simulation). */
hs_status hs_factory_account(hs_pid_t pid, hs_account *out);

/* Set the limit of one resource of child process pid; its own descendants
 * with a higher limit are lowered to it.  The limit may not exceed the
 * caller's own limit of that resource.  Errors: HS_ESTATE
 * (not in a simulated thread), HS_EINVAL (res out of range), HS_ESRCH,
 * HS_ENOTCHILD, HS_EPERM (above the caller's own limit). */
hs_status hs_factory_set_limit(hs_pid_t pid, hs_res res, uint64_t limit);

/* The name of a resource ("threads", "memory", ...); "?" if unknown. */
const char *hs_res_name(hs_res res);

/* Print an account as a small table through the simulator's output. */
void hs_account_print(const char *title, const hs_account *a);

HS_END_DECLS

#endif
