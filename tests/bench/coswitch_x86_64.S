/*
 * tests/bench/coswitch_x86_64.S - the cheapest context switch there is,
 * the yardstick of base_switch.
 *
 * void bench_coswitch(void **save_sp, void *load_sp);
 *
 * Pushes the registers the System V x86-64 ABI says a callee must keep
 * (rbp, rbx, r12-r15) on the running stack, stores the stack pointer in
 * *save_sp, loads load_sp and pops the same registers from there, then
 * returns on the other stack.  Nothing else: no floating-point control
 * words, no signal mask, no bookkeeping.  Written for the benchmark on
 * purpose, so that base_switch does not measure hopsim's own switch.
 *
 * A fresh stack for it holds, from load_sp up: six zero words for the six
 * registers, the address of the function to start, and one zero word
 * where that function's return address would be (it must never return).
 */
    .text
    .globl  bench_coswitch
    .type   bench_coswitch, @function
    .p2align 4
bench_coswitch:
    pushq   %rbp
    pushq   %rbx
    pushq   %r12
    pushq   %r13
    pushq   %r14
    pushq   %r15
    movq    %rsp, (%rdi)
    movq    %rsi, %rsp
    popq    %r15
    popq    %r14
    popq    %r13
    popq    %r12
    popq    %rbx
    popq    %rbp
    ret
    .size   bench_coswitch, .-bench_coswitch

    .section .note.GNU-stack,"",@progbits
