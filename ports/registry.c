/*
 * ports/registry.c - the global table of named ports (see registry.h).
 */
#include <string.h>

#include "core/kernel.h"
#include "ports/port.h"
#include "ports/registry.h"

static struct port **buckets;
static uint32_t nbuckets;         /* a power of two, or 0 */
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
    buckets = NULL;
    nbuckets = nnames = 0;
}

void registry_release(void)
{
    plat_free(buckets);
    registry_init();
}

/* Rehash into a table of n buckets. */
static hs_status registry_grow(uint32_t n)
{
    struct port **nb = plat_alloc(n * sizeof *nb);
    if (!nb)
        return HS_ENOMEM;
    memset(nb, 0, n * sizeof *nb);
    for (uint32_t i = 0; i < nbuckets; i++) {
        struct port *p = buckets[i];
        while (p) {
            struct port *next = p->hash_next;
            uint32_t b = p->name_hash & (n - 1);
            p->hash_next = nb[b];
            nb[b] = p;
            p = next;
        }
    }
    plat_free(buckets);
    buckets = nb;
    nbuckets = n;
    return HS_OK;
}

hs_status registry_reserve(void)
{
    /* Keep the load at most one name a bucket. */
    if (nnames + 1 <= nbuckets)
        return HS_OK;
    return registry_grow(nbuckets ? nbuckets * 2 : 64);
}

void registry_add(struct port *p)
{
    struct registry_key key;
    registry_key(p->name, &key);
    p->name_hash = key.hash;
    uint32_t b = key.hash & (nbuckets - 1);
    p->hash_next = buckets[b];
    buckets[b] = p;
    nnames++;
}

void registry_remove(struct port *p)
{
    uint32_t b = p->name_hash & (nbuckets - 1);
    for (struct port **pp = &buckets[b]; *pp; pp = &(*pp)->hash_next) {
        if (*pp == p) {
            *pp = p->hash_next;
            p->hash_next = NULL;
            nnames--;
            return;
        }
    }
}

/* The stored hash rules out most other names before their bytes are
 * compared. */
struct port *registry_find(const struct registry_key *key)
{
    if (!nbuckets)
        return NULL;
    struct port *p = buckets[key->hash & (nbuckets - 1)];
    while (p && (p->name_hash != key->hash ||
                 memcmp(p->name, key->name, key->len + 1) != 0))
        p = p->hash_next;
    return p;
}
