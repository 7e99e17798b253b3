/*
 * sim/internal.h - what the files of sim/ share and the kernel never sees.
 */
#ifndef HOPSIM_SIM_INTERNAL_H
#define HOPSIM_SIM_INTERNAL_H

#include <stddef.h>
#include <ucontext.h>

#include "sim/platform.h"

/*
 * A context and, for simulated threads, the stack it runs on.  The two are
 * one object so that the stack pool recycles both together: the context
 * lives in its stack's arena (stack.c), one per slot.  Slot layout, low to
 * high: one guard page, then stack_size usable bytes (rounded up to
 * pages).
 */
struct stack_arena;

struct plat_context {
    ucontext_t uc;              /* registers while parked */
    void (*entry)(void *);      /* first-run function and its argument */
    void *arg;
    void *owner;                /* kernel cookie for the overflow hook */
    struct sim_cpu *cpu;        /* while it runs: the CPU it runs on (set
                                   by whoever switches to it) */

    char *map;                  /* whole slot: guard + stack; NULL for a
                                   CPU's own context */
    size_t map_len;
    char *stack_lo;             /* lowest usable byte */
    size_t stack_size;
    unsigned vg_id;             /* Valgrind stack id */
    struct stack_arena *arena;  /* the arena of the slot */
    plat_context *next_free;    /* the arena's free slots */
    unsigned char slot_free;    /* in the arena's free slots */
    unsigned char slot_dirty;   /* its pages may be resident */

    void *asan_fake;            /* AddressSanitizer fiber bookkeeping */
    const void *asan_bottom;
    size_t asan_size;
};

/* The registers a fatal signal interrupted, as the signal handler got
 * them. */
struct plat_crash {
    const ucontext_t *uc;
};

/* One simulated CPU as the platform sees it. */
struct sim_cpu {
    plat_context self;          /* the host thread's own context */
    plat_context *current;      /* the context running on this CPU */
    plat_context *prev;         /* the context that switched to current
                                   (kept with ASan only) */
};

/* The calling host thread's CPU, or NULL.  Not inline: see plat_cpu_id()
 * in platform.h. */
struct sim_cpu *sim_cpu_self(void);

/* Stack pool (stack.c). */
plat_context *stack_get(size_t stack_size);
void stack_put(plat_context *ctx);
int stack_guard_hit(const plat_context *ctx, const void *addr);

/* Switch primitives (switch_x86_64.S): the second also hands `to` a
 * value, and a context it saved that is resumed without one enters a
 * function first through sim_ctx_reenter (plat_ctx_reenter()). */
void sim_switch_fast(ucontext_t *from, const ucontext_t *to);
int sim_switch_direct(ucontext_t *from, const ucontext_t *to, int value);
void sim_ctx_reenter(void);

/* Where a new fast context starts (switch_x86_64.S): it calls
 * sim_ctx_start_fast() (context.c) with the context, which context.c
 * leaves in the saved rbx. */
void sim_ctx_entry(void);
void sim_ctx_start_fast(plat_context *ctx);

#endif
