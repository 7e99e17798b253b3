/*
 * ports/registry.h - the global table of named ports.
 *
 * A hash table with chaining, keyed by name; lookups are O(1).  Threads
 * may wait for a name to appear.
 */
#ifndef HOPSIM_PORTS_REGISTRY_H
#define HOPSIM_PORTS_REGISTRY_H

#include "hopsim/status.h"

struct port;

void registry_init(void);
void registry_release(void);

/* Make room for one more name (may fail); then registry_add() cannot. */
hs_status registry_reserve(void);
void registry_add(struct port *p);
void registry_remove(struct port *p);
struct port *registry_find(const char *name);

#endif
