/*
 * sim/platform.h - everything host-specific that the kernel uses.
 *
 * The kernel (core/, ports/, mem/, notify/) includes this header and no host
 * header.  Porting hopsim's kernel to hardware means reimplementing these
 * functions: contexts and stacks, the CPU loop and the kernel lock, the
 * virtual clock and its timers, host memory for kernel allocators, the trace
 * sink, console output and backtraces.  This implementation runs on Linux:
 * CPUs are pthreads, contexts are ucontext_t, stacks are mmap'd with a guard
 * page and registered with Valgrind.
 *
 * Locking contract: with more than one CPU, every kernel path runs under the
 * kernel lock (plat_klock/plat_kunlock).  A context switch happens with the
 * lock held, and the resumed context continues holding it.
 */
#ifndef HOPSIM_SIM_PLATFORM_H
#define HOPSIM_SIM_PLATFORM_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "hopsim/sim.h"
#include "hopsim/status.h"
#include "hopsim/time.h"

/* ---- Contexts and stacks ------------------------------------------------ */

/* A saved execution state (registers in a ucontext_t) plus the stack it runs
 * on.  The CPU's own context (the host thread's stack) has no stack of ours. */
typedef struct plat_context plat_context;

/* Choose the switch implementation for the coming run. */
void plat_ctx_configure(hs_switch_kind kind);

/*
 * Make a context that, when first switched to, calls entry(arg) on a fresh
 * stack of stack_size bytes (a multiple of the page size) taken from the
 * stack pool.  entry must never return.  owner is a kernel cookie handed
 * back to the stack-overflow hook.  Returns NULL when the host is out of
 * memory.
 */
plat_context *plat_ctx_create(size_t stack_size, void (*entry)(void *),
                              void *arg, void *owner);

/* Return a context's stack to the pool.  ctx must not be running. */
void plat_ctx_destroy(plat_context *ctx);

/*
 * Reuse a context that will never be resumed (abandoned by
 * plat_ctx_switch_final(), or never run): when next switched to, it calls
 * entry(arg) from the top of its own stack, as if just made by
 * plat_ctx_create().  Cheaper than destroying it and creating another.
 * Returns 0, or -1 if the host refused (ctx is then still reusable).
 */
int plat_ctx_restart(plat_context *ctx, void (*entry)(void *), void *arg,
                     void *owner);

/* The arg a context was made with (plat_ctx_create(), or its last
 * plat_ctx_restart()): the kernel's name for it. */
void *plat_ctx_arg(const plat_context *ctx);

/*
 * Take over a parked context for a new owner (the cookie handed to the
 * stack-overflow hook) if its stack is stack_size bytes: returns its arg,
 * as plat_ctx_arg(); NULL, changing nothing, if the size differs.  For a
 * context the kernel parks and later resumes on behalf of another thread:
 * one call on that hot path instead of three.
 */
void *plat_ctx_adopt(plat_context *ctx, size_t stack_size, void *owner);

/* The size of a context's stack, as given to plat_ctx_create(). */
size_t plat_ctx_stack_size(const plat_context *ctx);

/* Save the running state into from and resume to.  Returns when some other
 * context switches back to from, possibly on another CPU. */
void plat_ctx_switch(plat_context *from, plat_context *to);

/* Resume to; the running context from is abandoned and will never be
 * resumed (it is about to be destroyed by whoever runs next). */
_Noreturn void plat_ctx_switch_final(plat_context *from, plat_context *to);

/*
 * Direct switches, for the kernel's IPC hand-offs: a public call that ends
 * in a switch can end with the switch itself, so that the thread resumed
 * returns straight to the program that called it, instead of returning
 * through the kernel across the switch (a mispredicted return each way).
 *
 * plat_ctx_direct(): whether this run's switch can (the fast switch, no
 * sanitizer); the others may only be called when it says so.
 *
 * plat_ctx_switch_direct(from, to, value): plat_ctx_switch(), and to
 * resumes with value as the return value of the switch that saved it.
 * Returns the value of the direct switch that resumes from.  Called in
 * tail position (return plat_ctx_switch_direct(...)), the compiler makes
 * it a jump, and from is saved as the public call's caller left it: the
 * value goes straight back there.
 *
 * plat_ctx_reenter(ctx, fn): ctx was saved by plat_ctx_switch_direct() and
 * is about to be resumed by plat_ctx_switch(), which hands no value: fn is
 * entered first, as if called where the switch was to return, and its
 * value is the switch's.  Once, for the next resume only.
 */
int plat_ctx_direct(void);
int plat_ctx_switch_direct(plat_context *from, plat_context *to, int value);
void plat_ctx_reenter(plat_context *ctx, int (*fn)(void));

/* The context of the calling CPU's own host thread: where the CPU loop
 * runs.  NULL outside plat_cpus_run(). */
plat_context *plat_cpu_context(void);

/* The stack pool as it stands, for accounting and tests. */
typedef struct plat_stack_stats {
    size_t arenas;              /* host mappings stacks are carved from */
    size_t slots;               /* stacks they hold, used or not */
    size_t light_slots;         /* of those, with guard regions for guards */
    size_t in_use;              /* stacks handed out */
    size_t idle;                /* stacks given back, still mapped */
    size_t dirty;               /* of those, pages maybe still resident */
    size_t dirty_max;           /* the pool's bound on dirty */
    size_t keep_slots;          /* slots of empty arenas kept mapped */
    uint64_t host_calls;        /* mmap, munmap, mprotect and madvise
                                   calls made so far, ever */
} plat_stack_stats;

void plat_stack_stats_get(plat_stack_stats *out);

/* Return every cached stack to the host (end of a run; no context may be
 * alive). */
void plat_stacks_release(void);

/* ---- CPUs and the kernel lock ------------------------------------------- */

/* Where a fatal signal struck: the registers it interrupted. */
typedef struct plat_crash plat_crash;

/* Hooks from the platform into the kernel, registered once per run. */
struct plat_hooks {
    /* The running context overflowed its stack into the guard page.  Called
     * on the CPU's signal stack with the owner given to plat_ctx_create();
     * must not return (the kernel panics). */
    void (*stack_overflow)(void *owner);
    /* A fatal host signal (a bad memory access, a bad instruction, an
     * arithmetic fault, an abort) in the running context, which is not a
     * stack overflow.  what describes it in one line, e.g.
     * "SIGSEGV (invalid memory reference) at address 0x0, pc 0x4011d6".
     * Called on the CPU's signal stack with the owner given to
     * plat_ctx_create(), to say where it happened (crash: for
     * plat_backtrace_crash()); when it returns, the platform ends the
     * process with the signal. */
    void (*fatal_signal)(void *owner, const char *what,
                         const plat_crash *crash);
};

/*
 * Run cpu_main(0) on the calling thread, renamed "cpu0" for the duration,
 * and cpu_main(i) on ncpus - 1 new host threads named "cpu1", ...; return
 * when all have returned.  Installs the handler of fatal signals (SIGSEGV,
 * SIGBUS, SIGFPE, SIGILL, SIGABRT) for the duration: the guard-page hit
 * and the hooks above.  Returns HS_ENOMEM if a CPU thread could not be started (then
 * no cpu_main ran).
 */
hs_status plat_cpus_run(unsigned ncpus, const struct plat_hooks *hooks,
                        void (*cpu_main)(unsigned cpu));

/* Whether the run has several CPUs; sim/cpu.c keeps it, the kernel reads
 * it through the inline calls below only. */
extern int plat_cpus_multi;

/* Per-host-thread state behind the inline calls below (sim/cpu.c). */
extern _Thread_local int plat_tls_cpu_id;    /* -1: not a simulated CPU */
extern _Thread_local int plat_tls_klocked;   /* holds the kernel lock
                                               (several CPUs only) */
extern _Thread_local void *plat_tls_cpu_data; /* plat_cpu_data() */
void plat_klock_shared(void);
void plat_kunlock_shared(void);

/*
 * The calling CPU's number, or -1 when the caller is not a simulated CPU.
 *
 * This and the lock calls read per-host-thread variables.  A simulated
 * thread that switches away may resume on another CPU's host thread, and
 * a compiler may keep a thread-local variable's address in a register
 * across the switch call; so each access is an asm statement of its own
 * (volatile, with a memory clobber: never merged, hoisted or moved across
 * a call) that finds the variable through %fs every time.  Initial-exec
 * model: the offset comes from the GOT, so the shared library links too.
 */
static inline int plat_cpu_id(void)
{
    int id;
    __asm__ volatile("movq plat_tls_cpu_id@gottpoff(%%rip), %%rax\n\t"
                     "movl %%fs:(%%rax), %0"
                     : "=r"(id) : : "rax", "memory");
    return id;
}

/* What the kernel keeps for the calling CPU (plat_cpu_data_set()), or
 * NULL when the caller is not a simulated CPU: one thread-local read, for
 * the kernel's entry and every switch. */
static inline void *plat_cpu_data(void)
{
    void *d;
    __asm__ volatile("movq plat_tls_cpu_data@gottpoff(%%rip), %%rax\n\t"
                     "movq %%fs:(%%rax), %0"
                     : "=r"(d) : : "rax", "memory");
    return d;
}

/* Set by the kernel on each CPU's host thread as its loop starts, and
 * cleared as it ends. */
void plat_cpu_data_set(void *d);

/* The kernel lock.  With one CPU nothing can contend for it, and taking
 * it costs one test; with several, it is a mutex, and the CPU notes that
 * it holds it (plat_tls_klocked) for the fatal-signal handlers, which
 * take it unless it is held. */
static inline void plat_klock(void)
{
    if (plat_cpus_multi)
        plat_klock_shared();
}

static inline void plat_kunlock(void)
{
    if (plat_cpus_multi)
        plat_kunlock_shared();
}

/* Called by an idle CPU with the kernel lock held: release it, sleep until
 * plat_cpu_kick(), take it again. */
void plat_cpu_idle(void);

/* Wake every idle CPU (something became runnable, or the run ended). */
void plat_cpu_kick_shared(void);
static inline void plat_cpu_kick(void)
{
    if (plat_cpus_multi)
        plat_cpu_kick_shared();
}

/* ---- Virtual clock and timers ------------------------------------------- */

/* A one-shot timer, embedded in a kernel object.  Ties on the deadline are
 * broken by arming order, so expiry order is deterministic. */
typedef struct plat_timer {
    hs_time_t deadline;
    uint64_t seq;        /* arming order */
    uint32_t slot;       /* position in the timer heap + 1; 0: not armed */
} plat_timer;

/* Reset the clock to 0 with no timer armed (start of a run). */
void plat_clock_reset(void);

/* Release the timer heap (end of a run); armed timers are forgotten:
 * each is marked disarmed, so the objects that hold them must not have
 * been freed yet. */
void plat_clock_release(void);

/* The virtual time now; sim/clock.c keeps it, the kernel reads it through
 * plat_clock_now() only. */
extern hs_time_t plat_clock_ns;

static inline hs_time_t plat_clock_now(void)
{
    return plat_clock_ns;
}

/* Move the clock forward to t (never backwards). */
void plat_clock_advance(hs_time_t t);

/* Make room for n armed timers, so that arming never fails.  The kernel
 * reserves one per thread when it creates the thread.  HS_ENOMEM if the
 * host refuses. */
hs_status plat_timer_reserve(size_t n);

/* Arm t (not armed) to expire at deadline.  Room must have been reserved. */
void plat_timer_arm(plat_timer *t, hs_time_t deadline);

/* Disarm t, which is armed. */
void plat_timer_cancel_armed(plat_timer *t);

static inline int plat_timer_armed(const plat_timer *t)
{
    return t->slot != 0;
}

/* Disarm t if armed.  Inline: most waits are not timed, and then there
 * is nothing to do. */
static inline void plat_timer_cancel(plat_timer *t)
{
    if (plat_timer_armed(t))
        plat_timer_cancel_armed(t);
}

/* The earliest deadline into *deadline; 0 if no timer is armed. */
int plat_timer_next(hs_time_t *deadline);

/* Disarm and return one timer whose deadline is <= now, earliest first;
 * NULL when there is none. */
plat_timer *plat_timer_expired(void);

/* ---- Host memory, environment, console, trace --------------------------- */

/* Memory for the kernel's own allocators (not for hot paths). */
void *plat_alloc(size_t size);
void *plat_realloc(void *p, size_t size);
void plat_free(void *p);

/* Host memory aligned to align (a power of two, at least the size of a
 * pointer), freed with plat_free(); NULL when the host refuses. */
void *plat_alloc_aligned(size_t align, size_t size);

/*
 * Simulated physical memory and other large, sparse tables: size bytes
 * (a multiple of 4 KiB) of address space reserved without committing
 * memory, reading as zero, page aligned.  A page costs resident memory
 * only once it is written.  NULL when the host refuses the address space.
 */
void *plat_mem_reserve(size_t size);

/* Give back a reservation, whole (p and size as reserved). */
void plat_mem_release(void *p, size_t size);

/* Drop the contents of [p, p + len) (page aligned, inside a reservation):
 * it reads as zero again and holds no resident memory. */
void plat_mem_discard(void *p, size_t len);

/* An environment variable, or NULL. */
const char *plat_getenv(const char *name);

/* Write a string to the console (stderr), as one write. */
void plat_print(const char *s);

/* Create (or truncate) the file at path and write len bytes of data to it.
 * Returns HS_EINVAL if the file cannot be created or written. */
hs_status plat_file_write(const char *path, const char *data, size_t len);

/* Whether a file could be created or truncated at path, without creating
 * it: HS_OK, or HS_EINVAL (the reason: plat_file_error()). */
hs_status plat_file_writable(const char *path);

/* Why the last file call here that failed (plat_file_write(),
 * plat_file_writable(), plat_out_open(), plat_trace_open()) did, in the
 * host's words ("No such file or directory"); "" if none has failed. */
const char *plat_file_error(void);

/* The path that call was given (the caller's pointer), or NULL. */
const char *plat_file_error_path(void);

/* A file written piece by piece: the event trace and the sequence chart
 * (observe/trace.c formats them; the platform only stores the bytes). */
typedef struct plat_out plat_out;

/* Create (or truncate) the file at path into *out.
 * Returns HS_EINVAL if the file cannot be created. */
hs_status plat_out_open(const char *path, plat_out **out);

/* Append len bytes of data; a failure is reported by plat_out_close(). */
void plat_out_write(plat_out *out, const char *data, size_t len);

/* Flush and close.  Returns HS_EINVAL if a write or the close failed. */
hs_status plat_out_close(plat_out *out);

/* One kernel event, handed to the trace sink. */
struct plat_event {
    uint64_t seq;        /* event number, from 0 */
    hs_time_t time;      /* virtual time */
    const char *kind;    /* event name, e.g. "switch" */
    uint64_t thread;     /* the thread the event concerns (0: none) */
    uint64_t a, b;       /* event-specific values */
    const char *text;    /* optional description, or NULL */
};

/* Open the text event log at path (one line per event).
 * Returns HS_EINVAL if the file cannot be created. */
hs_status plat_trace_open(const char *path);
int plat_trace_enabled(void);
void plat_trace_event(const struct plat_event *ev);
void plat_trace_close(void);

/* ---- Backtraces --------------------------------------------------------- */

/* Receives one formatted line of a backtrace ("#3 0x... fn+0x12"). */
typedef void (*plat_line_fn)(void *cookie, const char *line);

/* Unwind the calling stack, innermost frame first. Returns frames seen. */
int plat_backtrace_here(plat_line_fn line, void *cookie);

/* The name of the function that return address ra (on the calling
 * thread's stack) returns into, into buf; 0, or -1 when it is not on
 * the stack or has no symbol.  One short local unwind: no formatting, no
 * source lines. */
int plat_symbol_of_return(const void *ra, char *buf, size_t len);

/* Unwind a parked context from its saved registers. Returns frames seen. */
int plat_backtrace_context(const plat_context *ctx, plat_line_fn line,
                           void *cookie);

/* Unwind the stack a fatal signal interrupted, from the frame it struck
 * (not the signal handler's). Returns frames seen. */
int plat_backtrace_crash(const plat_crash *crash, plat_line_fn line,
                         void *cookie);

/* Nonzero when running under Valgrind. */
int plat_under_valgrind(void);

#endif
