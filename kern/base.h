/*
 * kern/base.h - what every kernel file may use: hot-path inlining and
 * rounding to pages.
 */
#ifndef HOPSIM_KERN_BASE_H
#define HOPSIM_KERN_BASE_H

#include <stddef.h>
#include <stdint.h>

/* For functions of the IPC and hop fast paths that have other callers
 * too: inlined even where the compiler would rather call them. */
#define HOT_INLINE static inline __attribute__((always_inline))

/* On the declaration of the general path of public call pub, behind a
 * quick path that calls nothing else (ports/ipc.c, ports/hop.c): kept
 * out of line, so that the quick path saves no registers for it, and
 * named "pub.general", as the compiler names the parts of a function it
 * splits off, so that a return address into it names pub (a call from
 * outside a thread, a backtrace). */
#define GENERAL_PATH(pub) __asm__(#pub ".general") __attribute__((noinline))

/* The smallest page, the unit of stacks and of the frame pool. */
#define PAGE_4K ((size_t)4096)

/* n rounded up to a multiple of 4 KiB (n + 4095 must not wrap). */
static inline size_t page_round(size_t n)
{
    return (n + PAGE_4K - 1) & ~(PAGE_4K - 1);
}

#endif
