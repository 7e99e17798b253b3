/*
 * sim/switch_x86_64.S - the fast context switch.
 *
 * void sim_switch_fast(ucontext_t *from, const ucontext_t *to);
 *
 * Saves what the System V x86-64 ABI says a callee must preserve (rbx, rbp,
 * r12-r15, rsp, the x87 control word and MXCSR) plus the resume address
 * into from's uc_mcontext, in the same slots getcontext() uses, so that
 * libunwind and gdb can unwind a parked thread.  Then loads to's registers
 * and jumps to its rip.  No signal mask is saved: no system call.
 *
 * A context saved here resumes as a return from sim_switch_fast.  A new
 * context (made by context.c) starts at sim_ctx_entry, below, with itself
 * in rbx: a callee-saved register is loaded on every switch anyway, so no
 * argument register needs to be.
 */
#include "switch.h"

    .text
    .globl  sim_switch_fast
    .type   sim_switch_fast, @function
    .p2align 4
sim_switch_fast:
    .cfi_startproc
    movq    (%rsp), %rax            /* our return address: the resume pc */
    leaq    8(%rsp), %rcx           /* rsp as it will be after returning */
    movq    %rbx, UC_RBX(%rdi)
    movq    %rbp, UC_RBP(%rdi)
    movq    %r12, UC_R12(%rdi)
    movq    %r13, UC_R13(%rdi)
    movq    %r14, UC_R14(%rdi)
    movq    %r15, UC_R15(%rdi)
    movq    %rcx, UC_RSP(%rdi)
    movq    %rax, UC_RIP(%rdi)
    fnstcw  UC_FCW(%rdi)
    stmxcsr UC_MXCSR(%rdi)

    movq    UC_RBX(%rsi), %rbx
    movq    UC_RBP(%rsi), %rbp
    movq    UC_R12(%rsi), %r12
    movq    UC_R13(%rsi), %r13
    movq    UC_R14(%rsi), %r14
    movq    UC_R15(%rsi), %r15
    fldcw   UC_FCW(%rsi)
    ldmxcsr UC_MXCSR(%rsi)
    movq    UC_RSP(%rsi), %rsp
    jmpq    *UC_RIP(%rsi)
    .cfi_endproc
    .size   sim_switch_fast, .-sim_switch_fast

/*
 * void sim_ctx_entry(void);  -- never called, only switched to
 *
 * The first code of a new fast context: rbx holds the context, rsp is as
 * after a call (the return address slot holds 0, which ends unwinding).
 * Jumps to sim_ctx_start_fast(ctx), which never returns.
 */
    .globl  sim_ctx_entry
    .type   sim_ctx_entry, @function
    .p2align 4
sim_ctx_entry:
    .cfi_startproc
    movq    %rbx, %rdi
    jmp     sim_ctx_start_fast@PLT
    .cfi_endproc
    .size   sim_ctx_entry, .-sim_ctx_entry

    .section .note.GNU-stack,"",@progbits
