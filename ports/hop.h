/*
 * ports/hop.h - the hop: a thread moves into another process through a
 * port, runs its handler on a stack the receiver gave, and comes back
 * through a checkpoint (core/level.h has the levels it pushes).
 */
#ifndef HOPSIM_PORTS_HOP_H
#define HOPSIM_PORTS_HOP_H

#include "core/level.h"

struct port;

/* Write t's backtrace across its hops (t is the running thread). */
void hop_backtrace(struct thread *t, void (*line)(void *, const char *),
                   void *cookie);

/* The part below t's running stack: for each level, its "--- hop from
 * ... ---" line and the frames of the parked caller.  The crash report
 * writes its own first stack (from the faulting frame), then this. */
void hop_backtrace_levels(const struct thread *t,
                          void (*line)(void *, const char *), void *cookie);

/* Start a detached thread of port p's owner in p's handler (open, with a
 * handler: the caller checked) at priority prio, as an asynchronous hop
 * from process source, with message registers mr[0..HS_MR_COUNT-1] and
 * tag.  Errors, nothing changed: HS_ENOSTACK, HS_ELIMIT, HS_EQUOTA,
 * HS_ENOMEM. */
hs_status hop_deliver(struct proc *source, struct port *p, int prio,
                      const uint64_t *mr, uint64_t tag, struct thread **out);

#endif
