/*
 * sim/asan.h - AddressSanitizer hooks, chosen once here.
 *
 * Switching stacks behind ASan's back makes it report false errors; these
 * wrappers tell it about each switch (the fiber API) and clear stale poison
 * on reused and unmapped stacks.  Without ASan they compile to nothing;
 * sim_asan_on() and sim_asan_poisoned() let a test see which it got.
 */
#ifndef HOPSIM_SIM_ASAN_H
#define HOPSIM_SIM_ASAN_H

#include <stddef.h>

#if defined(__SANITIZE_ADDRESS__)
#define SIM_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SIM_ASAN 1
#endif
#endif

#ifdef SIM_ASAN
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>

static inline void sim_asan_unpoison(void *p, size_t n)
{
    ASAN_UNPOISON_MEMORY_REGION(p, n);
}

/* Whether this build runs under ASan. */
static inline int sim_asan_on(void)
{
    return 1;
}

/* Whether ASan holds the byte at p poisoned (reads only the shadow, so p
 * need not be mapped). */
static inline int sim_asan_poisoned(const void *p)
{
    return __asan_address_is_poisoned(p);
}

/* Before a switch: save is where the leaving fiber's fake stack goes, NULL
 * when the leaving fiber will never run again. */
static inline void sim_asan_start(void **save, const void *bottom, size_t size)
{
    __sanitizer_start_switch_fiber(save, bottom, size);
}

/* After a switch, in the fiber that now runs; returns the bounds of the
 * stack it came from. */
static inline void sim_asan_finish(void *fake, const void **bottom,
                                   size_t *size)
{
    __sanitizer_finish_switch_fiber(fake, bottom, size);
}
#else
static inline void sim_asan_unpoison(void *p, size_t n)
{
    (void)p;
    (void)n;
}

static inline int sim_asan_on(void)
{
    return 0;
}

static inline int sim_asan_poisoned(const void *p)
{
    (void)p;
    return 0;
}

static inline void sim_asan_start(void **save, const void *bottom, size_t size)
{
    (void)save;
    (void)bottom;
    (void)size;
}

static inline void sim_asan_finish(void *fake, const void **bottom,
                                   size_t *size)
{
    (void)fake;
    *bottom = NULL;
    *size = 0;
}
#endif

#endif
