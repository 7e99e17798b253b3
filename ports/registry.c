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

/* The name's bytes as words.  memcpy is how C reads unaligned memory; it
 * compiles to one load. */
static inline uint64_t load64(const char *p)
{
    uint64_t w;
    memcpy(&w, p, sizeof w);
    return w;
}

static inline uint32_t load32(const char *p)
{
    uint32_t w;
    memcpy(&w, p, sizeof w);
    return w;
}

#define MIX_A 0x9e3779b97f4a7c15ull
#define MIX_B 0xc2b2ae3d27d4eb4full

/* Fold a 16-byte block into h: both words are multiplied at once (no
 * chain between them), and the high half of the sum is folded down so the
 * next block's multiplies spread it. */
static inline uint64_t hash_block(uint64_t h, uint64_t a, uint64_t b)
{
    h ^= a * MIX_A ^ b * MIX_B;
    h ^= h >> 32;
    return h * 0xd6e8feb86659fd93ull;
}

/* The murmur3 64-bit finaliser: every input bit flips about half of the
 * output bits, so the low bits that pick a bucket depend on every byte. */
static inline uint64_t hash_final(uint64_t h)
{
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 33;
    return h;
}

/* The last 1 to 16 bytes of a name as two words, a and b, that hold each
 * byte once: for n over 8, the word that ends at the last byte is shifted
 * down past the bytes a already holds (the host is little-endian: a
 * word's first bytes are its low ones).  (Bytes in both words would let
 * their products cancel: for exactly 8 bytes, a * MIX_A ^ a * MIX_B is far
 * from one-to-one.)  Under 8 bytes, two 4-byte loads that may overlap (or
 * three single bytes that may repeat) make one word; with n known, it
 * still determines every byte. */
static inline void hash_tail(const char *p, uint32_t n, uint64_t *a,
                             uint64_t *b)
{
    if (n > 8) {
        *a = load64(p);
        *b = load64(p + n - 8) >> (8 * (16 - n));
    } else if (n == 8) {
        *a = load64(p);
        *b = 0;
    } else if (n >= 4) {
        *a = (uint64_t)load32(p + n - 4) << 32 | load32(p);
        *b = 0;
    } else {
        *a = (uint64_t)(unsigned char)p[0] << 16 |
             (uint64_t)(unsigned char)p[n / 2] << 8 | (unsigned char)p[n - 1];
        *b = 0;
    }
}

/* Hash n bytes of p (1 <= n <= HS_PORT_NAME_MAX), reading no byte outside
 * them: 16-byte blocks, then the tail, then the finaliser.  n is mixed in
 * first: the tail's words give its bytes only with n known. */
static uint32_t name_hash(const char *p, uint32_t n)
{
    uint64_t h = n, a, b;
    for (; n > 16; p += 16, n -= 16)
        h = hash_block(h, load64(p), load64(p + 8));
    hash_tail(p, n, &a, &b);
    return (uint32_t)hash_final(h ^ a * MIX_A ^ b * MIX_B);
}

int registry_key(const char *name, struct registry_key *key)
{
    /* strnlen finds the NUL a vector at a time; the bound stops it one
     * byte past the longest valid name, so an overlong name is read no
     * further than before. */
    uint32_t n = (uint32_t)strnlen(name, HS_PORT_NAME_MAX + 1);
    key->name = name;
    key->len = n;
    if (n < 1 || n > HS_PORT_NAME_MAX)
        return 0;
    key->hash = name_hash(name, n);
    return 1;
}

void registry_start(void)
{
    buckets = NULL;
    nbuckets = nnames = 0;
}

void registry_stop(void)
{
    plat_free(buckets);
    registry_start();
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

/* Whether the n bytes at a and b are equal (2 <= n <= HS_PORT_NAME_MAX + 1):
 * words compared from the front, then the last word, which may overlap the
 * ones before.  Reads none of the bytes after the n. */
static int name_equal(const char *a, const char *b, uint32_t n)
{
    if (n >= 8) {
        for (uint32_t i = 0; i + 8 < n; i += 8)
            if (load64(a + i) != load64(b + i))
                return 0;
        return load64(a + n - 8) == load64(b + n - 8);
    }
    if (n >= 4)
        return load32(a) == load32(b) && load32(a + n - 4) == load32(b + n - 4);
    return a[0] == b[0] && a[1] == b[1] && a[n - 1] == b[n - 1];
}

/* The stored hash rules out most other names before their bytes are
 * compared; the bytes compared include key's NUL, so a stored name that
 * only starts with key's does not match. */
struct port *registry_find(const struct registry_key *key)
{
    if (!nbuckets)
        return NULL;
    struct port *p = buckets[key->hash & (nbuckets - 1)];
    while (p && (p->name_hash != key->hash ||
                 !name_equal(p->name, key->name, key->len + 1)))
        p = p->hash_next;
    return p;
}

/* ---- the object table ------------------------------------------------------ */

const struct kobj_type registry_type = {
    .name = "name registry",
    .start = registry_start,
    .stop = registry_stop,
};
