/*
 * sim/backtrace.c - backtraces with libunwind.
 *
 * A running stack is unwound from here; a parked context from the registers
 * saved in its ucontext_t, and a crashed one from those its signal handler
 * got (libunwind's unw_context_t on x86-64 is a
 * ucontext_t, and both switch implementations fill the slots it reads).
 */
#define UNW_LOCAL_ONLY
#include <libunwind.h>
#include <stdio.h>
#include <string.h>

#include "sim/internal.h"

#define MAX_FRAMES 64

static int walk(unw_cursor_t *cur, plat_line_fn line, void *cookie)
{
    int n = 0;
    do {
        unw_word_t ip = 0, off = 0;
        char name[128], buf[200];
        unw_get_reg(cur, UNW_REG_IP, &ip);
        if (ip == 0)
            break;
        if (unw_get_proc_name(cur, name, sizeof name, &off) != 0)
            strcpy(name, "??");
        snprintf(buf, sizeof buf, "#%d 0x%016lx %s+0x%lx", n,
                 (unsigned long)ip, name, (unsigned long)off);
        if (line)
            line(cookie, buf);
        n++;
    } while (n < MAX_FRAMES && unw_step(cur) > 0);
    return n;
}

int plat_backtrace_here(plat_line_fn line, void *cookie)
{
    unw_context_t uc;
    unw_cursor_t cur;
    if (unw_getcontext(&uc) != 0 || unw_init_local(&cur, &uc) != 0)
        return 0;
    return walk(&cur, line, cookie);
}

int plat_backtrace_context(const plat_context *ctx, plat_line_fn line,
                           void *cookie)
{
    /* libunwind may write into the context it starts from: use a copy. */
    unw_context_t uc;
    unw_cursor_t cur;
    memcpy(&uc, &ctx->uc, sizeof uc);
    if (unw_init_local(&cur, &uc) != 0)
        return 0;
    return walk(&cur, line, cookie);
}

int plat_backtrace_crash(const plat_crash *crash, plat_line_fn line,
                         void *cookie)
{
    /* The interrupted pc is the faulting instruction, not a return
     * address: a signal frame, which libunwind must not step back from. */
    unw_context_t uc;
    unw_cursor_t cur;
    memcpy(&uc, crash->uc, sizeof uc);
    if (unw_init_local2(&cur, &uc, UNW_INIT_SIGNAL_FRAME) != 0)
        return 0;
    return walk(&cur, line, cookie);
}
