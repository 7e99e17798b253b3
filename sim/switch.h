/*
 * sim/switch.h - where the fast switch keeps registers in a ucontext_t.
 *
 * Shared by switch_x86_64.S and context.c; context.c checks every offset
 * against glibc's ucontext_t with _Static_assert, so a different libc
 * layout stops the build instead of corrupting registers.
 */
#ifndef HOPSIM_SIM_SWITCH_H
#define HOPSIM_SIM_SWITCH_H

#define UC_GREGS    40                 /* uc_mcontext.gregs[0] */
#define UC_R12      (UC_GREGS + 8 * 4)
#define UC_R13      (UC_GREGS + 8 * 5)
#define UC_R14      (UC_GREGS + 8 * 6)
#define UC_R15      (UC_GREGS + 8 * 7)
#define UC_RBP      (UC_GREGS + 8 * 10)
#define UC_RBX      (UC_GREGS + 8 * 11)
#define UC_RSP      (UC_GREGS + 8 * 15)
#define UC_RIP      (UC_GREGS + 8 * 16)
#define UC_FPMEM    424                /* __fpregs_mem (fxsave layout) */
#define UC_FCW      (UC_FPMEM + 0)     /* x87 control word */
#define UC_MXCSR    (UC_FPMEM + 24)    /* SSE control/status */

#endif
