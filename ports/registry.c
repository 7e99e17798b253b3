/*
 * ports/registry.c - the global table of named ports (see registry.h).
 */
#include <string.h>

#include "core/kernel.h"
#include "ports/port.h"
#include "ports/registry.h"

/*
 * Open addressing with linear probing.  Each slot holds a name's hash next
 * to its port, so a lookup reads one slot line and, for the name it
 * finds, one port: a different name in the way costs a comparison of
 * hashes, not a cache miss.  The table is kept at most half full, and a
 * removal shifts the probe run back instead of leaving a tombstone.
 */
struct slot {
    uint32_t hash;
    struct port *port;          /* NULL: free */
};

static struct slot *slots;
static uint32_t nslots;           /* a power of two, or 0 */
static uint32_t nnames;

int registry_key(const char *name, struct registry_key *key)
{
    /* FNV-1a, computed while looking for the NUL. */
    uint32_t h = 2166136261u;
    uint32_t n = 0;
    for (unsigned char c; n <= HS_PORT_NAME_MAX && (c = (unsigned char)name[n]);
         n++) {
        h ^= c;
        h *= 16777619u;
    }
    key->name = name;
    key->len = n;
    key->hash = h;
    return n >= 1 && n <= HS_PORT_NAME_MAX;
}

void registry_init(void)
{
    slots = NULL;
    nslots = nnames = 0;
}

void registry_release(void)
{
    plat_free(slots);
    registry_init();
}

/* Put p (hash h) in the first free slot of its probe run. */
static void slot_put(struct slot *t, uint32_t n, uint32_t h, struct port *p)
{
    uint32_t i = h & (n - 1);
    while (t[i].port)
        i = (i + 1) & (n - 1);
    t[i].hash = h;
    t[i].port = p;
}

/* Rehash into a table of n slots. */
static hs_status registry_grow(uint32_t n)
{
    struct slot *t = plat_alloc(n * sizeof *t);
    if (!t)
        return HS_ENOMEM;
    memset(t, 0, n * sizeof *t);
    for (uint32_t i = 0; i < nslots; i++)
        if (slots[i].port)
            slot_put(t, n, slots[i].hash, slots[i].port);
    plat_free(slots);
    slots = t;
    nslots = n;
    return HS_OK;
}

hs_status registry_reserve(void)
{
    /* Keep the table at most half full. */
    if (2 * (nnames + 1) <= nslots)
        return HS_OK;
    return registry_grow(nslots ? nslots * 2 : 128);
}

void registry_add(struct port *p)
{
    struct registry_key key;
    registry_key(p->name, &key);
    p->name_hash = key.hash;
    slot_put(slots, nslots, key.hash, p);
    nnames++;
}

/* Empty slot i, then move back every later entry of the probe run that
 * may no longer be reachable from its home slot. */
static void slot_clear(uint32_t i)
{
    uint32_t mask = nslots - 1;
    slots[i].port = NULL;
    for (uint32_t j = (i + 1) & mask; slots[j].port; j = (j + 1) & mask) {
        uint32_t home = slots[j].hash & mask;
        /* j's entry stays if its home lies cyclically in (i, j]. */
        if (((j - home) & mask) < ((j - i) & mask))
            continue;
        slots[i] = slots[j];
        slots[j].port = NULL;
        i = j;
    }
}

void registry_remove(struct port *p)
{
    uint32_t mask = nslots - 1;
    for (uint32_t i = p->name_hash & mask; slots[i].port;
         i = (i + 1) & mask) {
        if (slots[i].port == p) {
            slot_clear(i);
            nnames--;
            return;
        }
    }
}

struct port *registry_find(const struct registry_key *key)
{
    if (!nslots)
        return NULL;
    uint32_t mask = nslots - 1;
    for (uint32_t i = key->hash & mask; slots[i].port; i = (i + 1) & mask) {
        struct port *p = slots[i].port;
        if (slots[i].hash == key->hash &&
            memcmp(p->name, key->name, key->len + 1) == 0)
            return p;
    }
    return NULL;
}
