/*
 * core/factory.h - the factory of a process: its quota and its account.
 *
 * Every path that creates or receives an object for a process asks
 * factory_check() first (with the other checks, before anything changes)
 * and calls factory_charge() once the object exists; the path that frees
 * the object calls factory_credit().  A process's factory lives in its
 * struct proc and goes with it.
 */
#ifndef HOPSIM_CORE_FACTORY_H
#define HOPSIM_CORE_FACTORY_H

#include <stdint.h>

#include "hopsim/factory.h"
#include "hopsim/status.h"

struct proc;

struct factory {
    hs_account acct;
};

/* Set up p's factory with the limits q (NULL: unlimited). */
void factory_init(struct proc *p, const hs_quota *q);

/* HS_OK if p may take n more of r, else HS_EQUOTA (and the refusal is
 * counted in the account). */
hs_status factory_check(struct proc *p, hs_res r, uint64_t n);

/* Whether p may take n more of r (nothing counted). */
int factory_fits(const struct proc *p, hs_res r, uint64_t n);

void factory_charge(struct proc *p, hs_res r, uint64_t n);
void factory_credit(struct proc *p, hs_res r, uint64_t n);

/* Whether every limit of q is within the limits of p. */
int factory_within(const struct proc *p, const hs_quota *q);

#endif
