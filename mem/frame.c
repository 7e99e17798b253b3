/*
 * mem/frame.c - the frame pool: a buddy allocator over simulated physical
 * memory, with a reference count per page size.
 *
 * The pool is one lazily reserved host mapping of cfg.mem_size bytes;
 * physical address pa is byte pa of it.  Blocks of order o are 4 KiB << o,
 * naturally aligned, o = 0 (4K) .. ORDER_MAX (1G).  Free blocks sit on one
 * doubly linked list per order; freeing coalesces with the buddy as far as
 * it goes, so the free blocks are always the maximal buddy-aligned pieces
 * of the free frames.  Allocation takes the head of the smallest
 * non-empty list and splits it, keeping the lower half: the same
 * operations give the same addresses.
 *
 * References: every 4K frame has its own count (ref4k), every 2M block
 * one (ref2m), every 1G block one (ref1g).  A frame is referenced iff
 * ref4k of it, ref2m of its 2M block or ref1g of its 1G block is nonzero,
 * and is freed the moment that stops being true.  Two summary counts make
 * dropping a large reference O(1) unless the block was split:
 *   held2m[b]  frames of 2M block b with ref4k > 0;
 *   held1g[g]  2M blocks of 1G block g with ref2m > 0 or held2m > 0.
 * Dropping the last ref2m of a block with held2m 0 (and no ref1g) frees
 * the whole block at once; otherwise only the frames nothing else holds
 * are freed, one by one.  Likewise for 1G.
 *
 * Free frames read as zero: a block is cleared as it is freed (small
 * blocks with memset, large ones by discarding their host pages).
 *
 * All metadata lives in one more lazy reservation, so a large pool costs
 * resident memory only for the frames and metadata that are touched.
 */
#include <string.h>

#include "core/fault.h"
#include "core/kernel.h"
#include "mem/frame.h"
#include "sim/platform.h"

#define ORDER_MAX   18u                 /* 1G */
#define ORDER_2M    9u
#define NONE        UINT32_MAX
#define DISCARD_MIN ((uint64_t)64 * 1024) /* clear blocks this big by
                                             discarding their pages */

_Static_assert(ORDER_MAX == 9 * PS_1G, "the largest order is 1G");

static struct {
    char *base;                 /* the pool's host mapping */
    uint64_t size;              /* bytes */
    uint32_t nframes, n2m, n1g; /* blocks of each size, partial included */
    uint32_t top;               /* frames at and above it were never
                                   allocated nor referenced this run: all
                                   their counts are zero by construction,
                                   so the check reads below it only */

    void *meta;                 /* reservation holding the arrays below */
    size_t meta_size;
    uint32_t *ref4k, *ref2m, *ref1g;
    uint32_t *held2m, *held1g;
    uint8_t *head;              /* order + 1 where a free block starts,
                                   else 0 */
    uint32_t *next, *prev;      /* free-list links, valid at heads */

    uint32_t list[ORDER_MAX + 1];   /* first free block of each order */
    uint64_t nfree[ORDER_MAX + 1];  /* free blocks of each order */
    uint64_t nrefs[PS_COUNT];       /* references at each size */
} fp;

static inline unsigned ps_order(enum page_size ps)
{
    return 9u * (unsigned)ps;
}

/* ---- free lists ------------------------------------------------------- */

static void list_push(uint32_t f, unsigned o)
{
    fp.head[f] = (uint8_t)(o + 1);
    fp.prev[f] = NONE;
    fp.next[f] = fp.list[o];
    if (fp.list[o] != NONE)
        fp.prev[fp.list[o]] = f;
    fp.list[o] = f;
    fp.nfree[o]++;
}

static void list_remove(uint32_t f, unsigned o)
{
    if (fp.prev[f] != NONE)
        fp.next[fp.prev[f]] = fp.next[f];
    else
        fp.list[o] = fp.next[f];
    if (fp.next[f] != NONE)
        fp.prev[fp.next[f]] = fp.prev[f];
    fp.head[f] = 0;
    fp.nfree[o]--;
}

/* Split the pool into its maximal aligned blocks, all free.  Done from
 * the top down so that the lowest block of each order heads its list. */
static void pool_carve(void)
{
    for (unsigned o = 0; o <= ORDER_MAX; o++) {
        fp.list[o] = NONE;
        fp.nfree[o] = 0;
    }
    for (uint32_t end = fp.nframes; end > 0;) {
        unsigned o = (unsigned)__builtin_ctz(end);
        if (o > ORDER_MAX)
            o = ORDER_MAX;
        end -= 1u << o;
        list_push(end, o);
    }
    memset(fp.nrefs, 0, sizeof fp.nrefs);
    fp.top = 0;
}

static inline void top_raise(uint32_t end)
{
    if (end > fp.top)
        fp.top = end;
}

/* Clear a block about to be freed, so that free frames read as zero. */
static void block_zero(uint32_t f, unsigned o)
{
    char *p = fp.base + ((uint64_t)f << 12);
    uint64_t len = (uint64_t)4096 << o;
    if (len >= DISCARD_MIN)
        plat_mem_discard(p, len);
    else
        memset(p, 0, len);
}

/* Free block f of order o, clearing it and coalescing with free buddies. */
static void block_free(uint32_t f, unsigned o)
{
    block_zero(f, o);
    while (o < ORDER_MAX) {
        uint32_t b = f ^ (1u << o);
        if ((uint64_t)b + (1u << o) > fp.nframes || fp.head[b] != o + 1)
            break;
        list_remove(b, o);
        f &= ~(1u << o);
        o++;
    }
    list_push(f, o);
}

/* A block of order o (one must be free at order o or above). */
static uint32_t block_alloc(unsigned o)
{
    unsigned j = o;
    while (fp.list[j] == NONE)
        j++;
    uint32_t f = fp.list[j];
    list_remove(f, j);
    top_raise(f + (1u << o));
    while (j > o) {
        j--;
        list_push(f + (1u << j), j);
    }
    return f;
}

/* ---- the pool --------------------------------------------------------- */

/* Carve n elements of size sz from the metadata reservation at *off. */
static void *meta_take(size_t *off, uint64_t n, size_t sz)
{
    void *p = (char *)fp.meta + *off;
    *off += ((size_t)n * sz + 63) & ~(size_t)63;
    return p;
}

static size_t meta_bytes(void)
{
    size_t n = 0;
    n += ((size_t)fp.nframes * 4 + 63) & ~(size_t)63;      /* ref4k */
    n += 2 * (((size_t)fp.nframes * 4 + 63) & ~(size_t)63); /* next, prev */
    n += ((size_t)fp.nframes + 63) & ~(size_t)63;          /* head */
    n += 2 * (((size_t)fp.n2m * 4 + 63) & ~(size_t)63);    /* 2M */
    n += 2 * (((size_t)fp.n1g * 4 + 63) & ~(size_t)63);    /* 1G */
    return page_round(n);
}

hs_status frame_pool_init(uint64_t size)
{
    KASSERT(size && size % 4096 == 0 && size <= HS_MEM_SIZE_MAX,
            "the pool size was validated");
    memset(&fp, 0, sizeof fp);
    fp.size = size;
    fp.nframes = (uint32_t)(size >> 12);
    fp.n2m = (uint32_t)((size + HS_PAGE_2M - 1) >> 21);
    fp.n1g = (uint32_t)((size + HS_PAGE_1G - 1) >> 30);
    fp.meta_size = meta_bytes();
    fp.base = plat_mem_reserve(size);
    fp.meta = plat_mem_reserve(fp.meta_size);
    if (!fp.base || !fp.meta) {
        plat_mem_release(fp.base, size);
        plat_mem_release(fp.meta, fp.meta_size);
        memset(&fp, 0, sizeof fp);
        return HS_ENOMEM;
    }
    size_t off = 0;
    fp.ref4k = meta_take(&off, fp.nframes, 4);
    fp.next = meta_take(&off, fp.nframes, 4);
    fp.prev = meta_take(&off, fp.nframes, 4);
    fp.head = meta_take(&off, fp.nframes, 1);
    fp.ref2m = meta_take(&off, fp.n2m, 4);
    fp.held2m = meta_take(&off, fp.n2m, 4);
    fp.ref1g = meta_take(&off, fp.n1g, 4);
    fp.held1g = meta_take(&off, fp.n1g, 4);
    pool_carve();
    return HS_OK;
}

void frame_pool_fini(void)
{
    plat_mem_release(fp.base, fp.size);
    plat_mem_release(fp.meta, fp.meta_size);
    memset(&fp, 0, sizeof fp);
}

void frame_pool_reset(void)
{
    plat_mem_discard(fp.meta, fp.meta_size);
    pool_carve();
}

void *frame_host(uint64_t pa)
{
    return fp.base + pa;
}

int frame_in_pool(uint64_t pa, uint64_t len)
{
    return len <= fp.size && pa <= fp.size - len;
}

uint32_t frame_blocks(enum page_size ps)
{
    return ps == PS_4K ? fp.nframes : ps == PS_2M ? fp.n2m : fp.n1g;
}

uint32_t frame_used_blocks(enum page_size ps)
{
    uint32_t shift = 9u * (unsigned)ps;
    return (uint32_t)(((uint64_t)fp.top + (1u << shift) - 1) >> shift);
}

/* ---- allocation ------------------------------------------------------- */

/* How many blocks of order o the free lists could give, at most limit. */
static uint64_t blocks_available(unsigned o, uint64_t limit)
{
    uint64_t n = 0;
    for (unsigned j = ORDER_MAX + 1; j-- > o;) {
        n += fp.nfree[j] << (j - o);
        if (n >= limit)
            return limit;
    }
    return n;
}

hs_status frame_alloc(enum page_size ps, unsigned n, uint64_t *pa)
{
    unsigned o = ps_order(ps);
    if (blocks_available(o, n) < n || fault_frame())
        return HS_ENOFRAME;
    for (unsigned i = 0; i < n; i++)
        pa[i] = (uint64_t)block_alloc(o) << 12;
    return HS_OK;
}

void frame_free(enum page_size ps, unsigned n, const uint64_t *pa)
{
    for (unsigned i = 0; i < n; i++)
        block_free((uint32_t)(pa[i] >> 12), ps_order(ps));
}

hs_status frame_alloc_block(unsigned order, uint64_t *pa)
{
    if (order > ORDER_MAX || blocks_available(order, 1) < 1 || fault_frame())
        return HS_ENOFRAME;
    *pa = (uint64_t)block_alloc(order) << 12;
    return HS_OK;
}

void frame_free_block(unsigned order, uint64_t pa)
{
    block_free((uint32_t)(pa >> 12), order);
}

/* ---- references ------------------------------------------------------- */

static void held2m_inc(uint32_t b)
{
    if (fp.held2m[b]++ == 0 && fp.ref2m[b] == 0)
        fp.held1g[b >> 9]++;
}

static void held2m_dec(uint32_t b)
{
    if (--fp.held2m[b] == 0 && fp.ref2m[b] == 0)
        fp.held1g[b >> 9]--;
}

/* Free the frames of 2M block b that no 4K reference holds (its own 2M
 * and 1G counts are zero). */
static void free_unheld_frames(uint32_t b)
{
    for (uint32_t f = b << 9; f < (b + 1) << 9; f++)
        if (!fp.ref4k[f])
            block_free(f, 0);
}

/* The 2M block b has lost its last reference at 2M or 1G: free what
 * nothing below holds. */
static void release_2m(uint32_t b)
{
    if (fp.held2m[b] == 0)
        block_free(b << 9, ORDER_2M);
    else
        free_unheld_frames(b);
}

static void check_block(uint64_t pa, enum page_size ps)
{
    KASSERT(pa % ps_bytes(ps) == 0 && frame_in_pool(pa, ps_bytes(ps)),
            "a referenced block is aligned and inside the pool");
}

void frame_ref(uint64_t pa, enum page_size ps)
{
    check_block(pa, ps);
    uint32_t f = (uint32_t)(pa >> 12);
    uint32_t b = f >> 9;
    top_raise(f + (uint32_t)(ps_bytes(ps) >> 12));
    if (ps == PS_4K) {
        if (fp.ref4k[f]++ == 0)
            held2m_inc(b);
    } else if (ps == PS_2M) {
        if (fp.ref2m[b]++ == 0 && fp.held2m[b] == 0)
            fp.held1g[b >> 9]++;
    } else {
        fp.ref1g[f >> 18]++;
    }
    fp.nrefs[ps]++;
}

static void unref_4k(uint32_t f)
{
    KASSERT(fp.ref4k[f] > 0, "a 4K reference dropped was held");
    if (--fp.ref4k[f])
        return;
    uint32_t b = f >> 9;
    held2m_dec(b);
    if (!fp.ref2m[b] && !fp.ref1g[b >> 9])
        block_free(f, 0);
}

static void unref_2m(uint32_t b)
{
    KASSERT(fp.ref2m[b] > 0, "a 2M reference dropped was held");
    if (--fp.ref2m[b])
        return;
    uint32_t g = b >> 9;
    if (fp.held2m[b] == 0)
        fp.held1g[g]--;
    if (!fp.ref1g[g])
        release_2m(b);
}

static void unref_1g(uint32_t g)
{
    KASSERT(fp.ref1g[g] > 0, "a 1G reference dropped was held");
    if (--fp.ref1g[g])
        return;
    if (fp.held1g[g] == 0) {
        block_free(g << 18, ORDER_MAX);
        return;
    }
    for (uint32_t b = g << 9; b < (g + 1) << 9; b++)
        if (!fp.ref2m[b])
            release_2m(b);
}

void frame_unref(uint64_t pa, enum page_size ps)
{
    check_block(pa, ps);
    uint32_t f = (uint32_t)(pa >> 12);
    if (ps == PS_4K)
        unref_4k(f);
    else if (ps == PS_2M)
        unref_2m(f >> 9);
    else
        unref_1g(f >> 18);
    fp.nrefs[ps]--;
}

uint32_t frame_refs(uint64_t pa, enum page_size ps)
{
    check_block(pa, ps);
    uint32_t f = (uint32_t)(pa >> 12);
    return ps == PS_4K ? fp.ref4k[f] : ps == PS_2M ? fp.ref2m[f >> 9]
                                                   : fp.ref1g[f >> 18];
}

uint64_t frame_refs_all(uint64_t pa)
{
    check_block(pa, PS_4K);
    uint32_t f = (uint32_t)(pa >> 12);
    return (uint64_t)fp.ref4k[f] + fp.ref2m[f >> 9] + fp.ref1g[f >> 18];
}

void frame_stats(hs_mem_stats *out)
{
    uint64_t frames = 0;
    for (unsigned o = 0; o <= ORDER_MAX; o++)
        frames += fp.nfree[o] << o;
    memset(out, 0, sizeof *out);        /* page_tables: mem/pt.c's */
    out->pool = fp.size;
    out->free = frames << 12;
    out->free_4k = frames;
    out->free_2m = blocks_available(ORDER_2M, UINT64_MAX);
    out->free_1g = fp.nfree[ORDER_MAX];
    out->refs_4k = fp.nrefs[PS_4K];
    out->refs_2m = fp.nrefs[PS_2M];
    out->refs_1g = fp.nrefs[PS_1G];
}

/* ---- the check -------------------------------------------------------- */

/* The check reads the counts below fp.top only (frame_used_blocks()):
 * every count beyond it is zero by construction, since every allocation
 * and every reference raises it.  The free lists are walked whole. */

static hs_status differ(struct kbuf *b, const char *what, uint64_t pa,
                        uint64_t have, uint64_t want)
{
    kbuf_printf(b, "memory check: %s at pa 0x%llx: %llu, expected %llu\n",
                what, (unsigned long long)pa, (unsigned long long)have,
                (unsigned long long)want);
    return HS_ECHECK;
}

/* Each size's counts against cnt, and the totals. */
static hs_status check_refs(uint32_t *const cnt[PS_COUNT], struct kbuf *b)
{
    static const char *const what[PS_COUNT] = {
        "4K references", "2M references", "1G references"};
    uint32_t *const refs[PS_COUNT] = {fp.ref4k, fp.ref2m, fp.ref1g};
    for (int ps = 0; ps < PS_COUNT; ps++) {
        uint64_t total = 0;
        uint32_t n = frame_used_blocks((enum page_size)ps);
        for (uint32_t i = 0; i < n; i++) {
            if (refs[ps][i] != cnt[ps][i])
                return differ(b, what[ps], (uint64_t)i << (12 + 9 * ps),
                              refs[ps][i], cnt[ps][i]);
            total += refs[ps][i];
        }
        if (total != fp.nrefs[ps])
            return differ(b, "total of the counts, size index", (uint64_t)ps,
                          fp.nrefs[ps], total);
    }
    return HS_OK;
}

/* held2m and held1g recomputed from the counts they summarize. */
static hs_status check_held(struct kbuf *b)
{
    uint32_t n2m = frame_used_blocks(PS_2M);
    for (uint32_t g = 0; g < frame_used_blocks(PS_1G); g++) {
        uint32_t used = 0;
        for (uint32_t m = g << 9; m < n2m && m < (g + 1) << 9; m++) {
            uint32_t held = 0;
            for (uint32_t f = m << 9; f < fp.top && f < (m + 1) << 9; f++)
                held += fp.ref4k[f] != 0;
            if (held != fp.held2m[m])
                return differ(b, "held2m of the 2M block", (uint64_t)m << 21,
                              fp.held2m[m], held);
            used += fp.ref2m[m] || held;
        }
        if (used != fp.held1g[g])
            return differ(b, "held1g of the 1G block", (uint64_t)g << 30,
                          fp.held1g[g], used);
    }
    return HS_OK;
}

/* What the walk of the free lists found. */
struct free_seen {
    uint64_t *bits;             /* free frames below fp.top */
    uint64_t heads_below;       /* free blocks starting below fp.top */
    uint64_t above;             /* free frames at or above fp.top */
};

/* One free block: well formed, not overlapping another below fp.top, not
 * coalescable with its buddy; marked in the bitmap. */
static hs_status check_free_block(uint32_t f, unsigned o,
                                  struct free_seen *fs, struct kbuf *b)
{
    uint64_t pa = (uint64_t)f << 12;
    uint32_t end = f + (1u << o);
    if (f % (1u << o) || (uint64_t)f + (1u << o) > fp.nframes)
        return differ(b, "misplaced free block of order", pa, o, o);
    if (fp.head[f] != o + 1)
        return differ(b, "free list order mark", pa, fp.head[f], o + 1);
    uint32_t buddy = f ^ (1u << o);
    if (o < ORDER_MAX && (uint64_t)buddy + (1u << o) <= fp.nframes &&
        fp.head[buddy] == o + 1)
        return differ(b, "uncoalesced free buddies of order", pa, o, o);
    fs->heads_below += f < fp.top;
    for (uint32_t i = f; i < end && i < fp.top; i++) {
        if (fs->bits[i / 64] & ((uint64_t)1 << (i % 64)))
            return differ(b, "frame in two free blocks", (uint64_t)i << 12,
                          2, 1);
        fs->bits[i / 64] |= (uint64_t)1 << (i % 64);
    }
    fs->above += end > fp.top ? end - (f > fp.top ? f : fp.top) : 0;
    return HS_OK;
}

/* The free lists: links, counts, blocks, marks. */
static hs_status check_lists(struct free_seen *fs, struct kbuf *b)
{
    for (unsigned o = 0; o <= ORDER_MAX; o++) {
        uint64_t n = 0;
        uint32_t prev = NONE;
        for (uint32_t f = fp.list[o]; f != NONE; prev = f, f = fp.next[f]) {
            if (f >= fp.nframes || n >= fp.nframes)
                return differ(b, "free list link of order", (uint64_t)f << 12,
                              o, o);
            if (fp.prev[f] != prev)
                return differ(b, "free list back link", (uint64_t)f << 12,
                              fp.prev[f], prev);
            hs_status st = check_free_block(f, o, fs, b);
            if (st != HS_OK)
                return st;
            n++;
        }
        if (n != fp.nfree[o])
            return differ(b, "free blocks of order (count)", o, fp.nfree[o],
                          n);
    }
    if (fs->above != fp.nframes - fp.top)
        return differ(b, "free frames above the highest ever used",
                      (uint64_t)fp.top << 12, fs->above,
                      fp.nframes - fp.top);
    uint64_t marked = 0;
    for (uint32_t f = 0; f < fp.top; f++)
        marked += fp.head[f] != 0;
    if (marked != fs->heads_below)
        return differ(b, "free block marks below the highest ever used", 0,
                      marked, fs->heads_below);
    return HS_OK;
}

/* Every frame below fp.top free xor referenced. */
static hs_status check_frames(const uint64_t *bits, struct kbuf *b)
{
    for (uint32_t f = 0; f < fp.top; f++) {
        int is_free = (bits[f / 64] >> (f % 64)) & 1;
        int refd = fp.ref4k[f] || fp.ref2m[f >> 9] || fp.ref1g[f >> 18];
        if (is_free && refd)
            return differ(b, "free frame with references", (uint64_t)f << 12,
                          1, 0);
        if (!is_free && !refd)
            return differ(b, "allocated frame with no reference",
                          (uint64_t)f << 12, 0, 1);
    }
    return HS_OK;
}

hs_status frame_check(uint32_t *const cnt[PS_COUNT], struct kbuf *b)
{
    hs_status st = check_refs(cnt, b);
    if (st == HS_OK)
        st = check_held(b);
    if (st != HS_OK)
        return st;
    size_t words = ((size_t)fp.top + 63) / 64 + 1;
    struct free_seen fs = {.bits = plat_alloc(words * sizeof *fs.bits)};
    if (!fs.bits) {
        kbuf_printf(b, "memory check: no host memory for the check\n");
        return HS_ENOMEM;
    }
    memset(fs.bits, 0, words * sizeof *fs.bits);
    st = check_lists(&fs, b);
    if (st == HS_OK)
        st = check_frames(fs.bits, b);
    plat_free(fs.bits);
    return st;
}
