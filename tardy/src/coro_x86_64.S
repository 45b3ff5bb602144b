/* x86-64 SysV context switch: saves the callee-saved integer registers
 * (rbx rbp r12-r15) and rsp. MXCSR and the x87 control word are shared by
 * the tasks of a thread and not switched: saving and reloading them costs
 * a quarter of the switch (see docs/performance.md), and a task that
 * changes the rounding mode or exception masks restores them before it
 * parks (tardy.h says so). */
    .text
    .globl tardy_coro_switch
    .hidden tardy_coro_switch
    .type tardy_coro_switch, @function
    .p2align 4
tardy_coro_switch:
    /* rdi = from, rsi = to */
    pushq %rbp
    pushq %rbx
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    movq %rsp, (%rdi)
    movq (%rsi), %rsp
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbx
    popq %rbp
    ret
    .size tardy_coro_switch, .-tardy_coro_switch

    .globl tardy_coro_trampoline
    .hidden tardy_coro_trampoline
    .type tardy_coro_trampoline, @function
    .p2align 4
tardy_coro_trampoline:
    /* First entry of a coroutine: r12 = fn, r13 = arg, rsp 16-aligned. */
    movq %r13, %rdi
    callq *%r12
    ud2
    .size tardy_coro_trampoline, .-tardy_coro_trampoline

    .section .note.GNU-stack,"",@progbits
