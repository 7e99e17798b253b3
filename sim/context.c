/*
 * sim/context.c - simulated thread contexts and switching between them.
 *
 * Two switch implementations give the same behaviour:
 *   fast      switch_x86_64.S: saves the ABI's callee-saved registers into
 *             the ucontext_t and jumps; no system call (a few ns);
 *   ucontext  glibc makecontext/swapcontext: portable, but swapcontext makes
 *             a sigprocmask system call on every switch.
 * The choice is made once per run (plat_ctx_configure) and never mixed
 * within one run, since a context made for one cannot be resumed by the
 * other.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <ucontext.h>

#include "sim/asan.h"
#include "sim/internal.h"
#include "sim/switch.h"

_Static_assert(offsetof(ucontext_t, uc_mcontext.gregs) == UC_GREGS,
               "ucontext_t gregs offset");
_Static_assert(REG_R12 == 4 && REG_R13 == 5 && REG_R14 == 6 && REG_R15 == 7,
               "ucontext_t r12-r15 slots");
_Static_assert(REG_RBP == 10 && REG_RBX == 11, "ucontext_t rbp/rbx slots");
_Static_assert(REG_RSP == 15 && REG_RIP == 16, "ucontext_t rsp/rip slots");
_Static_assert(offsetof(ucontext_t, __fpregs_mem) == UC_FPMEM,
               "ucontext_t fpregs_mem offset");
_Static_assert(offsetof(struct _libc_fpstate, mxcsr) == 24,
               "fxsave mxcsr offset");

static int use_fast = 1;

/* swapcontext() as a raw switch (its result is of no use: it fails only
 * for a bad pointer). */
static void switch_portable(ucontext_t *from, const ucontext_t *to)
{
    swapcontext(from, to);
}

/* The raw switch of the run: an indirect jump, not a test, on every
 * switch. */
static void (*raw_switch)(ucontext_t *from, const ucontext_t *to) =
    sim_switch_fast;

void plat_ctx_configure(hs_switch_kind kind)
{
    use_fast = (kind != HS_SWITCH_UCONTEXT);
    raw_switch = use_fast ? sim_switch_fast : switch_portable;
}

/* After every switch, in the context that now runs (self; NULL on a
 * context's first run).  The switcher already made it the CPU's current
 * context, on this very host thread; what is left is the sanitizer's:
 * finish its fiber switch and remember the bounds of a CPU stack we came
 * from, which only the sanitizer knows.  Without it there is nothing to
 * do, not even to find the CPU. */
#ifdef SIM_ASAN
/* Before a switch from `from` on cpu: which context the next one learns
 * the stack bounds of (after_switch()). */
static void before_switch(struct sim_cpu *cpu, plat_context *from)
{
    cpu->prev = from;
}

static void after_switch(plat_context *self)
{
    struct sim_cpu *cpu = sim_cpu_self();
    const void *bottom;
    size_t size;
    sim_asan_finish(self ? self->asan_fake : NULL, &bottom, &size);
    if (cpu && cpu->prev && !cpu->prev->map && bottom) {
        cpu->prev->asan_bottom = bottom;
        cpu->prev->asan_size = size;
    }
}
#else
static void before_switch(struct sim_cpu *cpu, plat_context *from)
{
    (void)cpu;
    (void)from;
}

static void after_switch(plat_context *self)
{
    (void)self;
}
#endif

static _Noreturn void ctx_first_run(plat_context *ctx)
{
    after_switch(NULL);
    ctx->entry(ctx->arg);
    abort();                    /* entry must never return */
}

/* Entry of a new fast context, from sim_ctx_entry (switch_x86_64.S),
 * with rsp as after a call, so the ABI's stack alignment holds. */
void sim_ctx_start_fast(plat_context *ctx)
{
    ctx_first_run(ctx);
}

/* makecontext passes int arguments only: the pointer comes in two halves. */
static void ctx_start_portable(unsigned lo, unsigned hi)
{
    ctx_first_run((plat_context *)(((uintptr_t)hi << 32) | lo));
}

static void ctx_init_fast(plat_context *ctx)
{
    uintptr_t top = (uintptr_t)(ctx->stack_lo + ctx->stack_size);
    top &= ~(uintptr_t)15;
    uintptr_t sp = top - 8;         /* as if a call pushed a return address */
    *(uintptr_t *)sp = 0;           /* ends unwinding here */
    greg_t *g = ctx->uc.uc_mcontext.gregs;
    g[REG_RIP] = (greg_t)(uintptr_t)sim_ctx_entry;
    g[REG_RSP] = (greg_t)sp;
    g[REG_RBX] = (greg_t)(uintptr_t)ctx;    /* sim_ctx_entry's argument */
    g[REG_RBP] = 0;
    /* Start with the creator's floating-point control state. */
    __asm__ volatile("fnstcw %0" : "=m"(ctx->uc.__fpregs_mem.cwd));
    __asm__ volatile("stmxcsr %0" : "=m"(ctx->uc.__fpregs_mem.mxcsr));
    ctx->uc.uc_mcontext.fpregs = &ctx->uc.__fpregs_mem;
}

static int ctx_init_portable(plat_context *ctx)
{
    if (getcontext(&ctx->uc) != 0)
        return -1;
    ctx->uc.uc_stack.ss_sp = ctx->stack_lo;
    ctx->uc.uc_stack.ss_size = ctx->stack_size;
    ctx->uc.uc_link = NULL;
    uintptr_t p = (uintptr_t)ctx;
    makecontext(&ctx->uc, (void (*)(void))ctx_start_portable, 2,
                (unsigned)(p & 0xffffffffu), (unsigned)(p >> 32));
    return 0;
}

/* Make ctx (its stack set, not running) start entry(arg) when next
 * switched to; 0, or -1 if the portable path fails. */
static int ctx_start_init(plat_context *ctx, void (*entry)(void *), void *arg,
                          void *owner)
{
    ctx->asan_fake = NULL;
    ctx->entry = entry;
    ctx->arg = arg;
    ctx->owner = owner;
    ctx->asan_bottom = ctx->stack_lo;
    ctx->asan_size = ctx->stack_size;
    if (use_fast) {
        ctx_init_fast(ctx);
        return 0;
    }
    return ctx_init_portable(ctx);
}

plat_context *plat_ctx_create(size_t stack_size, void (*entry)(void *),
                              void *arg, void *owner)
{
    plat_context *ctx = stack_get(stack_size);
    if (!ctx)
        return NULL;
    if (ctx_start_init(ctx, entry, arg, owner) != 0) {
        stack_put(ctx);
        return NULL;
    }
    return ctx;
}

int plat_ctx_restart(plat_context *ctx, void (*entry)(void *), void *arg,
                     void *owner)
{
    /* Frames abandoned on the stack may have left sanitizer poison. */
    sim_asan_unpoison(ctx->stack_lo, ctx->stack_size);
    return ctx_start_init(ctx, entry, arg, owner);
}

void *plat_ctx_arg(const plat_context *ctx)
{
    return ctx->arg;
}

void *plat_ctx_adopt(plat_context *ctx, size_t stack_size, void *owner)
{
    if (ctx->stack_size != stack_size)
        return NULL;
    ctx->owner = owner;
    return ctx->arg;
}

size_t plat_ctx_stack_size(const plat_context *ctx)
{
    return ctx->stack_size;
}

void plat_ctx_destroy(plat_context *ctx)
{
    if (ctx)
        stack_put(ctx);
}

/* to becomes the running context of the CPU from runs on: no
 * thread-local read (a switch is on every hop's path), and to learns the
 * CPU for its own next switch. */
static inline void ctx_take_cpu(plat_context *from, plat_context *to)
{
    struct sim_cpu *cpu = from->cpu;
    to->cpu = cpu;
    before_switch(cpu, from);
    cpu->current = to;
}

void plat_ctx_switch(plat_context *from, plat_context *to)
{
    ctx_take_cpu(from, to);
    sim_asan_start(&from->asan_fake, to->asan_bottom, to->asan_size);
    raw_switch(&from->uc, &to->uc);
    after_switch(from);
}

#ifdef SIM_ASAN
enum { DIRECT_BUILD = 0 };  /* the sanitizer finishes every switch after it */
#else
enum { DIRECT_BUILD = 1 };
#endif

int plat_ctx_direct(void)
{
    return DIRECT_BUILD && use_fast;
}

int plat_ctx_switch_direct(plat_context *from, plat_context *to, int value)
{
    ctx_take_cpu(from, to);
    return sim_switch_direct(&from->uc, &to->uc, value);
}

void plat_ctx_reenter(plat_context *ctx, int (*fn)(void))
{
    greg_t *g = ctx->uc.uc_mcontext.gregs;
    uintptr_t *sp = (uintptr_t *)(uintptr_t)g[REG_RSP];
    sp[-1] = (uintptr_t)g[REG_RIP];     /* where fn returns */
    sp[-2] = (uintptr_t)fn;             /* sim_ctx_reenter pops it */
    g[REG_RSP] = (greg_t)(uintptr_t)(sp - 2);
    g[REG_RIP] = (greg_t)(uintptr_t)sim_ctx_reenter;
}

_Noreturn void plat_ctx_switch_final(plat_context *from, plat_context *to)
{
    ctx_take_cpu(from, to);
    sim_asan_start(NULL, to->asan_bottom, to->asan_size);
    raw_switch(&from->uc, &to->uc);
    abort();                    /* nobody resumes an abandoned context */
}

/* Every switch from the CPU's own context names it through here, so
 * this is where it learns its CPU. */
plat_context *plat_cpu_context(void)
{
    struct sim_cpu *cpu = sim_cpu_self();
    if (!cpu)
        return NULL;
    cpu->self.cpu = cpu;
    return &cpu->self;
}
