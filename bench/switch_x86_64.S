/* Variants of tardy's x86-64 switch (tardy/src/coro_x86_64.S) for
 * bench-coro, to measure what saving MXCSR and the x87 control word costs.
 * tardy's switch saved both (`full` below) until these figures showed they
 * cost about a quarter of a switch; it now saves the general-purpose
 * registers only, which is `nofp` minus the frame's unused 8-byte slot.
 * All of them use the same frame, [mxcsr|x87 cw] r15 r14 r13 r12 rbx rbp
 * ret, so that bench_coro_make serves every variant; they differ only in
 * which floating-point control instructions they run. */

/* full: both control words saved and restored, as tardy's switch did
 * before (GPRs + MXCSR + x87 CW). */
    .text
    .globl bench_switch_full
    .hidden bench_switch_full
    .type bench_switch_full, @function
    .p2align 4
bench_switch_full:
    pushq %rbp
    pushq %rbx
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    subq $8, %rsp
    stmxcsr (%rsp)
    fnstcw 4(%rsp)
    movq %rsp, (%rdi)
    movq (%rsi), %rsp
    ldmxcsr (%rsp)
    fldcw 4(%rsp)
    addq $8, %rsp
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbx
    popq %rbp
    ret
    .size bench_switch_full, .-bench_switch_full

/* nofp: general-purpose registers only, as tardy's switch does now (it has
 * no 8-byte slot; the subq/addq here only keep the shared frame). */
    .globl bench_switch_nofp
    .hidden bench_switch_nofp
    .type bench_switch_nofp, @function
    .p2align 4
bench_switch_nofp:
    pushq %rbp
    pushq %rbx
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    subq $8, %rsp
    movq %rsp, (%rdi)
    movq (%rsi), %rsp
    addq $8, %rsp
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbx
    popq %rbp
    ret
    .size bench_switch_nofp, .-bench_switch_nofp

/* mxcsr: MXCSR only (stmxcsr/ldmxcsr), no x87 control word. */
    .globl bench_switch_mxcsr
    .hidden bench_switch_mxcsr
    .type bench_switch_mxcsr, @function
    .p2align 4
bench_switch_mxcsr:
    pushq %rbp
    pushq %rbx
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    subq $8, %rsp
    stmxcsr (%rsp)
    movq %rsp, (%rdi)
    movq (%rsi), %rsp
    ldmxcsr (%rsp)
    addq $8, %rsp
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbx
    popq %rbp
    ret
    .size bench_switch_mxcsr, .-bench_switch_mxcsr

/* x87: the x87 control word only (fnstcw/fldcw), no MXCSR. */
    .globl bench_switch_x87
    .hidden bench_switch_x87
    .type bench_switch_x87, @function
    .p2align 4
bench_switch_x87:
    pushq %rbp
    pushq %rbx
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    subq $8, %rsp
    fnstcw 4(%rsp)
    movq %rsp, (%rdi)
    movq (%rsi), %rsp
    fldcw 4(%rsp)
    addq $8, %rsp
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbx
    popq %rbp
    ret
    .size bench_switch_x87, .-bench_switch_x87

/* lazy: saves both words (the stores are cheap) but reloads each only when
 * it differs from the value just saved by the outgoing context, which is
 * the current one. Keeps the ABI guarantee and skips the costly loads in
 * the common case where no task ever changes rounding or exception masks. */
    .globl bench_switch_lazy
    .hidden bench_switch_lazy
    .type bench_switch_lazy, @function
    .p2align 4
bench_switch_lazy:
    pushq %rbp
    pushq %rbx
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    subq $8, %rsp
    stmxcsr (%rsp)
    fnstcw 4(%rsp)
    movq %rsp, (%rdi)
    movq %rsp, %rax
    movq (%rsi), %rsp
    movl (%rax), %ecx
    cmpl (%rsp), %ecx
    je 1f
    ldmxcsr (%rsp)
1:
    movzwl 4(%rax), %ecx
    cmpw 4(%rsp), %cx
    je 2f
    fldcw 4(%rsp)
2:
    addq $8, %rsp
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbx
    popq %rbp
    ret
    .size bench_switch_lazy, .-bench_switch_lazy

/* nofp_jmp: as nofp, but returns with pop + indirect jmp instead of ret.
 * A ret after the stack pointer moved to another context returns to an
 * address the return-stack predictor did not push, so it mispredicts;
 * the jmp avoids that mispredict here, but leaves the predictor one entry
 * deep, so later returns of the resumed context can mispredict instead. */
    .globl bench_switch_nofp_jmp
    .hidden bench_switch_nofp_jmp
    .type bench_switch_nofp_jmp, @function
    .p2align 4
bench_switch_nofp_jmp:
    pushq %rbp
    pushq %rbx
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    subq $8, %rsp
    movq %rsp, (%rdi)
    movq (%rsi), %rsp
    addq $8, %rsp
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbx
    popq %rbp
    popq %rcx
    jmp *%rcx
    .size bench_switch_nofp_jmp, .-bench_switch_nofp_jmp

/* First entry of a context made by bench_coro_make: r12 = fn, r13 = arg. */
    .globl bench_coro_trampoline
    .hidden bench_coro_trampoline
    .type bench_coro_trampoline, @function
    .p2align 4
bench_coro_trampoline:
    movq %r13, %rdi
    callq *%r12
    ud2
    .size bench_coro_trampoline, .-bench_coro_trampoline

    .section .note.GNU-stack,"",@progbits
