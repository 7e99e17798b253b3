/*
 * sim/stack.c - the pool of simulated-thread stacks.
 *
 * Stacks are carved from arenas: one anonymous host mapping cut into
 * equal slots, each a guard page and a stack above it, so an overflow
 * faults instead of corrupting a neighbour; the fault handler in cpu.c
 * turns that fault into a kernel panic naming the thread.  Every stack
 * size has its class, with its own arenas; a class's first arena has
 * ARENA_MIN_SLOTS slots and each next one twice as many, up to
 * ARENA_MAX_SLOTS (or ARENA_MAX_BYTES).  So creating and ending a thread
 * costs no system call: a slot's guard is made once, when the slot is
 * first handed out, and a mapping once per arena.
 *
 * Pages are only made resident when touched, so an idle thread costs what
 * it has used.  A freed stack goes back to its arena, most recently freed
 * first (its pages are likely still resident and in cache).  Idle memory
 * goes back to the host in bulk, never on every exit:
 *   - an arena whose last stack is freed is unmapped, unless the empty
 *     arenas kept already hold KEEP_SLOTS slots;
 *   - when more than DIRTY_MAX free stacks may hold resident pages, the
 *     pages of the coldest ones are dropped (MADV_DONTNEED, which keeps
 *     their guards) until DIRTY_MAX * 3/4 remain.
 * DIRTY_MAX bounds the memory idle stacks hold (64 MiB at a page each,
 * more for stacks that went deeper) and is how many threads a program
 * can create, end and create again at once without a page fault for
 * each new stack.
 * plat_stacks_release() unmaps every arena at the end of a run.  Every
 * stack is registered with Valgrind while its arena is mapped.
 */
#include <pthread.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>
#include <valgrind/valgrind.h>

#include "sim/asan.h"
#include "sim/internal.h"

#define GUARD_SIZE      ((size_t)4096)
#define PAGE_SIZE_SIM   ((size_t)4096)
#define ARENA_MIN_SLOTS 16u
#define ARENA_MAX_SLOTS 256u
#define ARENA_MAX_BYTES ((size_t)32 << 20)   /* fewer slots of big stacks */
#define KEEP_SLOTS      65536u   /* slots of empty arenas kept mapped */
#define DIRTY_MAX       16384u   /* free stacks that may stay resident */

/* Linux 6.13's lightweight guard pages; older headers lack the name. */
#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL 102
#endif

/* A circular list with a head of the same type. */
struct link {
    struct link *next, *prev;
};

/* One host mapping of nslots slots of one class.  Slot i starts at
 * base + i * slot_size: a guard page, then the stack.  Slots below
 * `carved` have their guard and are registered with Valgrind; the others
 * have never been handed out. */
struct stack_arena {
    struct link link;           /* first: on its class's avail or full */
    struct stack_class *cls;
    char *base;
    size_t len;
    unsigned nslots;
    unsigned carved;
    unsigned used;              /* slots handed out */
    unsigned dirty;             /* free slots that may hold resident pages */
    int light;                  /* guards are guard regions */
    int kept;                   /* empty, counted in kept_slots */
    plat_context *free;         /* free carved slots, last freed first */
    plat_context slots[];       /* slot i's context */
};

/* The arenas of one stack size.  avail holds the arenas with a free or
 * never used slot, the most recently freed into first; full holds the
 * rest.  An arena left with only never used slots goes to the end of
 * avail when the next one has a free slot (see class_arena()). */
struct stack_class {
    struct stack_class *next;
    size_t stack_size;
    size_t slot_size;           /* guard + stack rounded to pages */
    unsigned next_slots;        /* slots of the class's next arena */
    struct link avail, full;
};

static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static struct stack_class *classes;
static struct stack_class *last_class;  /* the one asked for last */
static size_t slots_mapped;     /* in all arenas: decides light guards */
static size_t dirty_slots;      /* free, pages maybe resident */
static size_t kept_slots;       /* in kept empty arenas */
static uint64_t host_calls;     /* mappings and advice asked of the host */
static int light_refused;       /* the host refused a guard region */

/* The pool is shared by the CPUs of a run.  With one CPU (and outside a
 * run) only one host thread can reach it, so the mutex is skipped. */
static void pool_enter(void)
{
    if (plat_cpus_multi)
        pthread_mutex_lock(&pool_lock);
}

static void pool_leave(void)
{
    if (plat_cpus_multi)
        pthread_mutex_unlock(&pool_lock);
}

/* ---- lists ------------------------------------------------------------ */

static void link_init(struct link *head)
{
    head->next = head->prev = head;
}

static void link_remove(struct link *l)
{
    l->prev->next = l->next;
    l->next->prev = l->prev;
}

static void link_push(struct link *head, struct link *l)
{
    l->next = head->next;
    l->prev = head;
    head->next->prev = l;
    head->next = l;
}

static void link_push_tail(struct link *head, struct link *l)
{
    link_push(head->prev, l);
}

static int link_empty(const struct link *head)
{
    return head->next == head;
}

static struct stack_arena *arena_of(struct link *l)
{
    return (struct stack_arena *)l;   /* link is the first member */
}

/* ---- guards ----------------------------------------------------------- */

/* Stacks mapped (in all arenas) before new arenas get guard regions. */
#define LIGHT_GUARDS_FROM 16384

/* Whether a new arena's guards should be guard regions.  A PROT_NONE
 * page costs a VMA of its own and splits the arena's, so the host's
 * vm.max_map_count (65530) caps the stacks near 32,000.  A guard region
 * installed by madvise (Linux 6.13) leaves the arena one VMA, but a core
 * dump cannot read past one (gdb's gcore stops at the first unreadable
 * page of a mapping), and gdb on a core file would then see no simulated
 * thread: so the arenas of the first LIGHT_GUARDS_FROM stacks get
 * PROT_NONE pages, and only the arenas beyond, which only very large runs
 * have, get guard regions: where the kernel offers them, and not under
 * Valgrind, which does not know the advice and takes the page for
 * ordinary memory. */
static int arena_wants_light(void)
{
    return slots_mapped >= LIGHT_GUARDS_FROM && !light_refused &&
           !RUNNING_ON_VALGRIND;
}

/* Make the page at p a guard; 0 or -1. */
static int guard_install(struct stack_arena *a, char *p)
{
    host_calls++;
    if (a->light) {
        if (madvise(p, GUARD_SIZE, MADV_GUARD_INSTALL) == 0)
            return 0;
        light_refused = 1;      /* an older kernel: do not ask again */
        a->light = 0;
        host_calls++;
    }
    return mprotect(p, GUARD_SIZE, PROT_NONE);
}

/* ---- arenas ----------------------------------------------------------- */

static size_t round_page(size_t n)
{
    return (n + PAGE_SIZE_SIM - 1) & ~(PAGE_SIZE_SIM - 1);
}

/* Slots for an arena of slot_size-byte slots that would like `want`:
 * at most ARENA_MAX_SLOTS and ARENA_MAX_BYTES, at least one. */
static unsigned arena_slots(size_t slot_size, size_t want)
{
    size_t cap = ARENA_MAX_BYTES / slot_size;
    if (want > ARENA_MAX_SLOTS)
        want = ARENA_MAX_SLOTS;
    if (want > cap)
        want = cap;
    return want ? (unsigned)want : 1;
}

/* A new empty arena of cls on its avail list, or NULL. */
static struct stack_arena *arena_new(struct stack_class *cls)
{
    unsigned n = cls->next_slots;
    struct stack_arena *a = calloc(1, sizeof *a + n * sizeof a->slots[0]);
    if (!a)
        return NULL;
    a->len = n * cls->slot_size;
    host_calls++;
    a->base = plat_mem_reserve(a->len);
    if (!a->base) {
        free(a);
        return NULL;
    }
    a->cls = cls;
    a->nslots = n;
    a->light = arena_wants_light();
    slots_mapped += n;
    cls->next_slots = arena_slots(cls->slot_size, (size_t)n * 2);
    link_push(&cls->avail, &a->link);
    return a;
}

/* Take an empty arena off its class and the counts (under the lock);
 * arena_free() then gives it back to the host. */
static void arena_detach(struct stack_arena *a)
{
    link_remove(&a->link);
    if (a->kept)
        kept_slots -= a->nslots;
    slots_mapped -= a->nslots;
    host_calls++;               /* the unmap of arena_free() */
    dirty_slots -= a->dirty;
}

/* Unmap a detached arena.  Frames that never returned may have left
 * sanitizer poison, which munmap() does not clear: a later mapping at the
 * same addresses (a stack, a heap block) would inherit it and report
 * false errors.  So the whole mapping is unpoisoned first. */
static void arena_free(struct stack_arena *a)
{
    for (unsigned i = 0; i < a->carved; i++)
        VALGRIND_STACK_DEREGISTER(a->slots[i].vg_id);
    sim_asan_unpoison(a->base, a->len);
    plat_mem_release(a->base, a->len);
    free(a);
}

/* Hand out slot a->carved for the first time: its guard, its context's
 * stack fields, its Valgrind registration.  NULL if the host refuses the
 * guard (e.g. too many mappings). */
static plat_context *slot_carve(struct stack_arena *a)
{
    size_t slot = a->cls->slot_size;
    char *map = a->base + (size_t)a->carved * slot;
    if (guard_install(a, map) != 0)
        return NULL;
    plat_context *ctx = &a->slots[a->carved++];
    ctx->arena = a;
    ctx->map = map;
    ctx->map_len = slot;
    ctx->stack_lo = map + GUARD_SIZE;
    ctx->stack_size = a->cls->stack_size;
    ctx->vg_id = VALGRIND_STACK_REGISTER(ctx->stack_lo,
                                         ctx->stack_lo + ctx->stack_size);
    return ctx;
}

/* A free or new slot of a (which has one), or NULL. */
static plat_context *slot_take(struct stack_arena *a)
{
    plat_context *ctx = a->free;
    if (ctx) {
        a->free = ctx->next_free;
        if (ctx->slot_dirty) {
            a->dirty--;
            dirty_slots--;
        }
    } else {
        ctx = slot_carve(a);
        if (!ctx)
            return NULL;
    }
    ctx->next_free = NULL;
    ctx->slot_dirty = 1;
    if (a->kept) {
        a->kept = 0;
        kept_slots -= a->nslots;
    }
    if (++a->used == a->nslots) {
        link_remove(&a->link);
        link_push(&a->cls->full, &a->link);
    }
    return ctx;
}

/* ---- purging idle pages ----------------------------------------------- */

/* Drop the pages of a's free slots first..last-1, all free and dirty: one
 * madvise over them, guards between included (MADV_DONTNEED keeps both
 * kinds of guard). */
static void slots_purge(struct stack_arena *a, unsigned first, unsigned last)
{
    size_t slot = a->cls->slot_size;
    char *lo = a->base + (size_t)first * slot + GUARD_SIZE;
    char *hi = a->base + (size_t)last * slot;
    host_calls++;
    madvise(lo, (size_t)(hi - lo), MADV_DONTNEED);
    for (unsigned i = first; i < last; i++)
        a->slots[i].slot_dirty = 0;
    a->dirty -= last - first;
    dirty_slots -= last - first;
}

/* Drop the pages of every free slot of a, in runs of neighbours. */
static void arena_purge(struct stack_arena *a)
{
    unsigned i = 0;
    while (i < a->carved && a->dirty) {
        const plat_context *c = &a->slots[i];
        if (!c->slot_free || !c->slot_dirty) {
            i++;
            continue;
        }
        unsigned j = i + 1;
        while (j < a->carved && a->slots[j].slot_free &&
               a->slots[j].slot_dirty)
            j++;
        slots_purge(a, i, j);
        i = j;
    }
}

/* Too many free stacks may hold resident pages: drop those of the arenas
 * freed into longest ago (the ends of the avail lists) until three
 * quarters of the limit remain.  Amortised: it runs once per DIRTY_MAX / 4
 * frees at most, and the common churn, which reuses the stacks it frees,
 * never gets here. */
static void pool_purge(void)
{
    for (struct stack_class *c = classes; c; c = c->next) {
        for (struct link *l = c->avail.prev; l != &c->avail; l = l->prev) {
            if (dirty_slots <= DIRTY_MAX - DIRTY_MAX / 4)
                return;
            arena_purge(arena_of(l));
        }
    }
}

/* ---- classes ---------------------------------------------------------- */

static struct stack_class *class_find(size_t stack_size)
{
    if (last_class && last_class->stack_size == stack_size)
        return last_class;
    struct stack_class *c = classes;
    while (c && c->stack_size != stack_size)
        c = c->next;
    if (!c) {
        c = calloc(1, sizeof *c);
        if (!c)
            return NULL;
        c->stack_size = stack_size;
        c->slot_size = GUARD_SIZE + round_page(stack_size);
        c->next_slots = arena_slots(c->slot_size, ARENA_MIN_SLOTS);
        link_init(&c->avail);
        link_init(&c->full);
        c->next = classes;
        classes = c;
    }
    last_class = c;
    return c;
}

/* The arena of cls to take a slot from, or NULL.  A free stack is
 * preferred to a never used slot, which costs a system call for its guard
 * and page faults for its pages: an arena with none free moves behind
 * the others when the next one has a free stack.  It is done here, not
 * when the arena's last free stack is taken, so that a thread ending and
 * another starting (its stack the one freed) move no arena at all. */
static struct stack_arena *class_arena(struct stack_class *cls)
{
    struct link *head = &cls->avail;
    if (link_empty(head))
        return arena_new(cls);
    struct stack_arena *a = arena_of(head->next);
    if (a->free || a->link.next == head || !arena_of(a->link.next)->free)
        return a;
    link_remove(&a->link);
    link_push_tail(head, &a->link);
    return arena_of(head->next);
}

/* A slot of stack_size bytes from the pool, or NULL (under the lock). */
static plat_context *pool_take(size_t stack_size)
{
    struct stack_class *cls = class_find(stack_size);
    if (!cls)
        return NULL;
    struct stack_arena *a = class_arena(cls);
    return a ? slot_take(a) : NULL;
}

/* A context with a stack of exactly stack_size bytes, reused if possible;
 * NULL if the host refuses memory.  Only the stack's own fields are set:
 * the creator initialises the rest (a reused context keeps stale register
 * slots until then). */
plat_context *stack_get(size_t stack_size)
{
    pool_enter();
    plat_context *ctx = pool_take(stack_size);
    if (ctx)
        ctx->slot_free = 0;
    pool_leave();
    /* A reused stack may hold stale sanitizer poison from frames that never
     * returned: the thread that used it was switched away for good. */
    if (ctx)
        sim_asan_unpoison(ctx->stack_lo, ctx->stack_size);
    return ctx;
}

/* a's last slot was freed: keep it mapped for the next ones, or detach it
 * for the caller to free when enough empty ones are kept. */
static struct stack_arena *arena_emptied(struct stack_arena *a)
{
    if (kept_slots + a->nslots > KEEP_SLOTS) {
        arena_detach(a);
        return a;
    }
    a->kept = 1;
    kept_slots += a->nslots;
    return NULL;
}

/* Give a stack back to its arena, which becomes the first its class takes
 * from. */
void stack_put(plat_context *ctx)
{
    struct stack_arena *a = ctx->arena, *gone = NULL;
    pool_enter();
    ctx->slot_free = 1;
    ctx->next_free = a->free;
    a->free = ctx;
    a->dirty++;
    dirty_slots++;
    a->used--;
    struct link *head = &a->cls->avail;
    if (head->next != &a->link) {
        link_remove(&a->link);
        link_push(head, &a->link);
    }
    if (a->used == 0)
        gone = arena_emptied(a);
    if (dirty_slots > DIRTY_MAX)
        pool_purge();
    pool_leave();
    if (gone)
        arena_free(gone);
}

/* Whether a fault at addr is an overflow of ctx's stack: in the guard page,
 * or just below it (a large frame can jump over the guard). */
int stack_guard_hit(const plat_context *ctx, const void *addr)
{
    if (!ctx || !ctx->map)
        return 0;
    const char *a = addr;
    return a < ctx->stack_lo && a + 64 * 1024 >= ctx->map;
}

/* Add the arenas of the list head to *out. */
static void arenas_count(const struct link *head, plat_stack_stats *out)
{
    for (const struct link *l = head->next; l != head; l = l->next) {
        const struct stack_arena *a = (const struct stack_arena *)l;
        out->arenas++;
        out->light_slots += a->light ? a->nslots : 0;
        out->in_use += a->used;
        out->idle += a->carved - a->used;
    }
}

void plat_stack_stats_get(plat_stack_stats *out)
{
    pthread_mutex_lock(&pool_lock);
    *out = (plat_stack_stats){
        .slots = slots_mapped,
        .dirty = dirty_slots,
        .dirty_max = DIRTY_MAX,
        .keep_slots = KEEP_SLOTS,
        .host_calls = host_calls,
    };
    for (const struct stack_class *c = classes; c; c = c->next) {
        arenas_count(&c->avail, out);
        arenas_count(&c->full, out);
    }
    pthread_mutex_unlock(&pool_lock);
}

/* Detach every empty arena of the list head onto *out.  An arena still
 * in use (a context alive past the end of a run, which the kernel does
 * not leave) stays mapped rather than pulled from under it. */
static void arenas_take_empty(struct link *head, struct stack_arena **out)
{
    struct link *l = head->next;
    while (l != head) {
        struct stack_arena *a = arena_of(l);
        l = l->next;
        if (a->used)
            continue;
        arena_detach(a);
        a->link.next = (struct link *)*out;
        *out = a;
    }
}

/* Detach the empty arenas of every class onto *out, and free the classes
 * left with none. */
static void classes_take_empty(struct stack_arena **out)
{
    struct stack_class **pc = &classes;
    while (*pc) {
        struct stack_class *c = *pc;
        arenas_take_empty(&c->avail, out);
        arenas_take_empty(&c->full, out);
        if (link_empty(&c->avail) && link_empty(&c->full)) {
            *pc = c->next;
            free(c);
        } else {
            pc = &c->next;
        }
    }
}

void plat_stacks_release(void)
{
    struct stack_arena *list = NULL;
    pthread_mutex_lock(&pool_lock);
    classes_take_empty(&list);
    last_class = NULL;
    pthread_mutex_unlock(&pool_lock);
    while (list) {
        struct stack_arena *next = arena_of(list->link.next);
        arena_free(list);
        list = next;
    }
}
