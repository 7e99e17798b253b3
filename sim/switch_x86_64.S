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
 * A context saved here resumes as a return from sim_switch_fast (its eax
 * is not restored: a value comes only with sim_switch_direct).  A new
 * context (made by context.c) starts at sim_ctx_entry, below, with itself
 * in rbx: a callee-saved register is loaded on every switch anyway, so no
 * argument register needs to be.
 */
#include "switch.h"

/* Save the callee-saved state into from (rdi), load to's (rsi) and jump
 * to its rip; rax is left as the caller set it. */
.macro SWITCH
    movq    (%rsp), %rcx            /* our return address: the resume pc */
    movq    %rcx, UC_RIP(%rdi)
    leaq    8(%rsp), %rcx           /* rsp as it will be after returning */
    movq    %rbx, UC_RBX(%rdi)
    movq    %rbp, UC_RBP(%rdi)
    movq    %r12, UC_R12(%rdi)
    movq    %r13, UC_R13(%rdi)
    movq    %r14, UC_R14(%rdi)
    movq    %r15, UC_R15(%rdi)
    movq    %rcx, UC_RSP(%rdi)
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
.endm

    .text
    .globl  sim_switch_fast
    .type   sim_switch_fast, @function
    .p2align 4
sim_switch_fast:
    .cfi_startproc
    SWITCH
    .cfi_endproc
    .size   sim_switch_fast, .-sim_switch_fast

/*
 * int sim_switch_direct(ucontext_t *from, const ucontext_t *to, int value);
 *
 * sim_switch_fast, and to resumes with value in eax: as the return value
 * of the switch that saved it.  Called in tail position, it saves from
 * as its caller's caller left it, so a later direct switch back returns
 * its value straight there.
 */
    .globl  sim_switch_direct
    .type   sim_switch_direct, @function
    .p2align 4
sim_switch_direct:
    .cfi_startproc
    movl    %edx, %eax
    SWITCH
    .cfi_endproc
    .size   sim_switch_direct, .-sim_switch_direct

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

/*
 * void sim_ctx_reenter(void);  -- never called, only switched to
 *
 * A context saved by sim_switch_direct that is resumed by a switch that
 * gives no value (context.c, plat_ctx_reenter()): rsp points at a
 * function, then at the resume pc.  The function is entered as if called
 * from where the context was saved, and returns there with its value.
 */
    .globl  sim_ctx_reenter
    .type   sim_ctx_reenter, @function
    .p2align 4
sim_ctx_reenter:
    .cfi_startproc
    .cfi_def_cfa_offset 16
    popq    %rax
    .cfi_def_cfa_offset 8
    jmpq    *%rax
    .cfi_endproc
    .size   sim_ctx_reenter, .-sim_ctx_reenter

    .section .note.GNU-stack,"",@progbits
