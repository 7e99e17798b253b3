/*
 * kern/pool.h - fixed-size kernel object pools with checked handles.
 *
 * Kernel objects (threads, processes, and later ports, gates, ...) come
 * from pools, never from malloc on a hot path: a pool grows in chunks, and
 * a freed object goes on a free list for the next allocation.  Each object
 * starts with a struct kobj holding its handle: slot index + 1 in the low
 * 32 bits, the slot's generation in the high 32.  Freeing bumps the
 * generation and clears the object's handle, so a stale handle no longer
 * resolves: a lookup compares it with the handle in the slot's object.
 *
 * Allocation is split so kernel calls can check before they change:
 * pool_reserve() may fail (host out of memory) and changes nothing visible;
 * pool_alloc() after a successful reserve cannot fail.
 */
#ifndef HOPSIM_KERN_POOL_H
#define HOPSIM_KERN_POOL_H

#include <stddef.h>
#include <stdint.h>

#include "hopsim/status.h"

struct kobj {
    uint64_t handle;
};

struct pool {
    size_t objsize;
    char **chunks;          /* POOL_CHUNK objects each */
    struct kobj **objs;     /* slot -> its object, live or not: a lookup
                               is one load, not a chunk and a multiply */
    uint32_t nchunks;
    uint32_t nslots;        /* nchunks * POOL_CHUNK */
    uint32_t *gens;         /* per slot; odd while the slot is live */
    uint32_t *free_slots;   /* stack of free slot indices */
    uint32_t nfree;
    uint32_t live;
};

#define POOL_CHUNK 256u

/* Chunks start on a cache line, so an object whose size is a multiple of
 * it starts on one too, and its first line holds its first 64 bytes. */
#define POOL_ALIGN 64u

void pool_init(struct pool *p, size_t objsize);

/* Ensure n objects can be allocated without growing.  HS_ENOMEM if the
 * host refuses memory; the pool is unchanged apart from capacity. */
hs_status pool_reserve(struct pool *p, uint32_t n);

/* pool_reserve(p, 1), inline while a slot is free: for hot paths. */
static inline hs_status pool_reserve_one(struct pool *p)
{
    return p->nfree ? HS_OK : pool_reserve(p, 1);
}

/* An object with its handle set and every other byte as its last user
 * left it: for hot paths that fill in every field themselves.  Must
 * follow a successful pool_reserve(); the lowest free slot index is not
 * guaranteed. */
static inline void *pool_take(struct pool *p)
{
    uint32_t slot = p->free_slots[--p->nfree];
    struct kobj *o = p->objs[slot];
    uint32_t gen = ++p->gens[slot];     /* now odd: live */
    o->handle = ((uint64_t)gen << 32) | (slot + 1);
    p->live++;
    return o;
}

/* As pool_take(), with the object zeroed (but for its handle). */
void *pool_alloc(struct pool *p);

static inline void pool_free(struct pool *p, void *obj)
{
    struct kobj *o = obj;
    uint32_t slot = (uint32_t)o->handle - 1;
    p->gens[slot]++;                    /* now even: free */
    o->handle = 0;
    p->free_slots[p->nfree++] = slot;
    p->live--;
}

/* Undo the pool_alloc() that returned obj, restoring the pool exactly (the
 * slot's generation included): for a call that fails after allocating. */
void pool_cancel(struct pool *p, void *obj);

/* The live object of handle h, or NULL.  Inline: every kernel call that
 * names an object starts here.  A free slot's object has handle 0, and a
 * live one the handle of its generation, so one comparison checks both
 * that the slot is live and that h is not stale. */
static inline void *pool_lookup(const struct pool *p, uint64_t h)
{
    uint32_t slot = (uint32_t)h - 1;    /* index 0 wraps: out of range */
    if (slot >= p->nslots)
        return NULL;
    struct kobj *o = p->objs[slot];
    return o->handle == h ? o : NULL;
}

/* Slots 0..pool_slots()-1, for iteration: the live object or NULL. */
uint32_t pool_slots(const struct pool *p);
void *pool_at(const struct pool *p, uint32_t slot);

/* Small number naming an object in reports (its slot + 1). */
static inline uint32_t handle_index(uint64_t h)
{
    return (uint32_t)h;
}

/* Free all memory of the pool; live objects are forgotten. */
void pool_destroy(struct pool *p);

#endif
