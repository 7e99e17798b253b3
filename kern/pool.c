/*
 * kern/pool.c - fixed-size kernel object pools (see pool.h).
 */
#include <string.h>

#include "kern/pool.h"
#include "sim/platform.h"

void pool_init(struct pool *p, size_t objsize)
{
    memset(p, 0, sizeof *p);
    p->objsize = objsize;
}

/* Add one chunk of POOL_CHUNK free slots. */
static hs_status pool_grow(struct pool *p)
{
    uint32_t n = p->nchunks + 1;
    uint32_t slots = n * POOL_CHUNK;
    char *chunk = plat_alloc_aligned(POOL_ALIGN, POOL_CHUNK * p->objsize);
    char **chunks = plat_realloc(p->chunks, n * sizeof *chunks);
    if (chunks)
        p->chunks = chunks;
    uint32_t *gens = chunks ? plat_realloc(p->gens, slots * sizeof *gens)
                            : NULL;
    if (gens)
        p->gens = gens;
    uint32_t *fs = gens ? plat_realloc(p->free_slots, slots * sizeof *fs)
                        : NULL;
    if (fs)
        p->free_slots = fs;
    struct kobj **objs = fs ? plat_realloc(p->objs, slots * sizeof *objs)
                            : NULL;
    if (objs)
        p->objs = objs;
    if (!chunk || !objs) {
        plat_free(chunk);   /* the arrays only grew: still consistent */
        return HS_ENOMEM;
    }
    p->chunks[p->nchunks] = chunk;
    uint32_t first = p->nchunks * POOL_CHUNK;
    p->nchunks = n;
    p->nslots = slots;
    /* Push in reverse so that the lowest index is allocated first. */
    for (uint32_t i = slots; i-- > first;) {
        struct kobj *o = (struct kobj *)(void *)
                         (chunk + (size_t)(i - first) * p->objsize);
        o->handle = 0;              /* free: no handle resolves to it */
        p->objs[i] = o;
        p->gens[i] = 0;
        p->free_slots[p->nfree++] = i;
    }
    return HS_OK;
}

hs_status pool_reserve(struct pool *p, uint32_t n)
{
    while (p->nfree < n) {
        hs_status st = pool_grow(p);
        if (st != HS_OK)
            return st;
    }
    return HS_OK;
}

void *pool_alloc(struct pool *p)
{
    struct kobj *o = pool_take(p);
    uint64_t h = o->handle;
    memset(o, 0, p->objsize);
    o->handle = h;
    return o;
}

void pool_cancel(struct pool *p, void *obj)
{
    struct kobj *o = obj;
    uint32_t slot = handle_index(o->handle) - 1;
    p->gens[slot]--;                    /* back to its old even value */
    o->handle = 0;
    p->free_slots[p->nfree++] = slot;
    p->live--;
}

uint32_t pool_slots(const struct pool *p)
{
    return p->nslots;
}

void *pool_at(const struct pool *p, uint32_t slot)
{
    if (slot >= p->nslots || !(p->gens[slot] & 1))
        return NULL;
    return p->objs[slot];
}

void pool_destroy(struct pool *p)
{
    for (uint32_t i = 0; i < p->nchunks; i++)
        plat_free(p->chunks[i]);
    plat_free(p->chunks);
    plat_free(p->objs);
    plat_free(p->gens);
    plat_free(p->free_slots);
    pool_init(p, p->objsize);
}
