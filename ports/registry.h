/*
 * ports/registry.h - the global table of named ports.
 *
 * A hash table with chaining, keyed by name; lookups are O(1).  Threads
 * may wait for a name to appear.
 */
#ifndef HOPSIM_PORTS_REGISTRY_H
#define HOPSIM_PORTS_REGISTRY_H

#include <stdint.h>

#include "hopsim/status.h"
#include "kern/object.h"

struct port;

/* A name as the registry looks it up: its length, then its hash. */
struct registry_key {
    const char *name;
    uint32_t len;           /* bytes before the NUL */
    uint32_t hash;
};

void registry_start(void);
void registry_stop(void);

/* Measure and hash name into *key, reading at most HS_PORT_NAME_MAX + 1
 * bytes of it: 1 if it is a valid port name (1 to HS_PORT_NAME_MAX bytes),
 * 0 if not (then *key is meaningless). */
int registry_key(const char *name, struct registry_key *key);

/* Make room for one more name (may fail); then registry_add() cannot. */
hs_status registry_reserve(void);
void registry_add(struct port *p);
void registry_remove(struct port *p);
struct port *registry_find(const struct registry_key *key);

extern const struct kobj_type registry_type;

#endif
