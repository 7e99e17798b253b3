/*
 * sim/stack.c - the pool of simulated-thread stacks.
 *
 * Each stack is its own anonymous mapping with a guard page below it, so an
 * overflow faults instead of corrupting a neighbour; the fault
 * handler in cpu.c turns that fault into a kernel panic naming the thread.
 * Pages are only made resident when touched, so an idle thread costs what
 * it has used.  Freed stacks are kept on a free list per size and reused;
 * plat_stacks_release() returns every cached stack to the host at the end
 * of a run.  Every stack is registered with Valgrind while it is mapped.
 */
#include <pthread.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>
#include <valgrind/valgrind.h>

#include "sim/asan.h"
#include "sim/internal.h"

#define GUARD_SIZE   ((size_t)4096)
#define CACHE_MAX    4096      /* cached stacks kept for reuse */

/* Linux 6.13's lightweight guard pages; older headers lack the name. */
#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL 102
#endif

static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static plat_context *free_list;   /* cached stacks, any size */
static size_t free_count;

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

/* Stacks mapped now (in use or cached); past LIGHT_GUARDS_FROM of them,
 * new guards are guard regions. */
static size_t stacks_mapped;
#define LIGHT_GUARDS_FROM 16384

/* Make the page at map a guard.  A PROT_NONE page costs a VMA of its own
 * and splits the stack's, so the host's vm.max_map_count (65530) caps
 * the stacks near 32,000.  A guard region installed by madvise (Linux
 * 6.13) leaves the mapping one VMA, but a core dump cannot read a stack
 * that has one, and gdb on a core file then sees no simulated thread: so
 * the first LIGHT_GUARDS_FROM stacks get PROT_NONE pages, and only the
 * stacks beyond, which only very large runs have, get guard regions
 * (where the kernel offers them; not under Valgrind, which does not know
 * the advice). */
static int guard_install(char *map, int light)
{
    if (light && madvise(map, GUARD_SIZE, MADV_GUARD_INSTALL) == 0)
        return 0;
    return mprotect(map, GUARD_SIZE, PROT_NONE);
}

/* Give a stack's mapping back to the host. */
static void stack_unmap_raw(char *map, size_t len)
{
    munmap(map, len);
    pool_enter();
    stacks_mapped--;
    pool_leave();
}

static plat_context *stack_map(size_t stack_size)
{
    plat_context *ctx = calloc(1, sizeof *ctx);
    if (!ctx)
        return NULL;
    size_t len = stack_size + GUARD_SIZE;
    char *map = mmap(NULL, len, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (map == MAP_FAILED) {
        free(ctx);
        return NULL;
    }
    pool_enter();
    int light = stacks_mapped++ >= LIGHT_GUARDS_FROM;
    pool_leave();
    if (guard_install(map, light) != 0) {
        stack_unmap_raw(map, len);
        free(ctx);
        return NULL;
    }
    ctx->map = map;
    ctx->map_len = len;
    ctx->stack_lo = map + GUARD_SIZE;
    ctx->stack_size = stack_size;
    ctx->vg_id = VALGRIND_STACK_REGISTER(ctx->stack_lo,
                                         ctx->stack_lo + stack_size);
    return ctx;
}

/* Give a stack back to the host.  Its frames that never returned may
 * have left sanitizer poison, which munmap() does not clear: a later
 * mapping at the same addresses (a stack, a heap block) would inherit it
 * and report false errors.  So the whole mapping is unpoisoned first. */
static void stack_unmap(plat_context *ctx)
{
    VALGRIND_STACK_DEREGISTER(ctx->vg_id);
    sim_asan_unpoison(ctx->map, ctx->map_len);
    stack_unmap_raw(ctx->map, ctx->map_len);
    free(ctx);
}

/* A context with a stack of exactly stack_size bytes, reused if possible;
 * NULL if the host refuses memory.  Only the stack's own fields are set:
 * the creator initialises the rest (a reused context keeps stale register
 * slots until then). */
plat_context *stack_get(size_t stack_size)
{
    plat_context *ctx = NULL;
    pool_enter();
    for (plat_context **pp = &free_list; *pp; pp = &(*pp)->next_free) {
        if ((*pp)->stack_size == stack_size) {
            ctx = *pp;
            *pp = ctx->next_free;
            free_count--;
            break;
        }
    }
    pool_leave();
    if (!ctx)
        return stack_map(stack_size);
    /* A reused stack may hold stale sanitizer poison from frames that never
     * returned: the thread that used it was switched away for good. */
    sim_asan_unpoison(ctx->stack_lo, ctx->stack_size);
    ctx->next_free = NULL;
    return ctx;
}

/* Give a stack back to the pool (or to the host when the pool is full). */
void stack_put(plat_context *ctx)
{
    pool_enter();
    if (free_count < CACHE_MAX) {
        ctx->next_free = free_list;
        free_list = ctx;
        free_count++;
        ctx = NULL;
    }
    pool_leave();
    if (ctx)
        stack_unmap(ctx);
}

/* Whether a fault at addr is an overflow of ctx's stack: in the guard page,
 * or just below the mapping (a large frame can jump over the guard). */
int stack_guard_hit(const plat_context *ctx, const void *addr)
{
    if (!ctx || !ctx->map)
        return 0;
    const char *a = addr;
    return a < ctx->stack_lo && a + 64 * 1024 >= ctx->map;
}

size_t plat_stack_cached(void)
{
    pthread_mutex_lock(&pool_lock);
    size_t n = free_count;
    pthread_mutex_unlock(&pool_lock);
    return n;
}

void plat_stacks_release(void)
{
    pthread_mutex_lock(&pool_lock);
    plat_context *list = free_list;
    free_list = NULL;
    free_count = 0;
    pthread_mutex_unlock(&pool_lock);
    while (list) {
        plat_context *next = list->next_free;
        stack_unmap(list);
        list = next;
    }
}
