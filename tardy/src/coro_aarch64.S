/* AArch64 AAPCS64 context switch: saves x19-x30, sp and d8-d15, the
 * registers a callee must preserve. */
    .text
    .globl tardy_coro_switch
    .hidden tardy_coro_switch
    .type tardy_coro_switch, %function
    .p2align 4
tardy_coro_switch:
    /* x0 = from, x1 = to */
    sub sp, sp, #160
    stp x19, x20, [sp, #0]
    stp x21, x22, [sp, #16]
    stp x23, x24, [sp, #32]
    stp x25, x26, [sp, #48]
    stp x27, x28, [sp, #64]
    stp x29, x30, [sp, #80]
    stp d8, d9, [sp, #96]
    stp d10, d11, [sp, #112]
    stp d12, d13, [sp, #128]
    stp d14, d15, [sp, #144]
    mov x2, sp
    str x2, [x0]
    ldr x2, [x1]
    mov sp, x2
    ldp x19, x20, [sp, #0]
    ldp x21, x22, [sp, #16]
    ldp x23, x24, [sp, #32]
    ldp x25, x26, [sp, #48]
    ldp x27, x28, [sp, #64]
    ldp x29, x30, [sp, #80]
    ldp d8, d9, [sp, #96]
    ldp d10, d11, [sp, #112]
    ldp d12, d13, [sp, #128]
    ldp d14, d15, [sp, #144]
    add sp, sp, #160
    ret
    .size tardy_coro_switch, .-tardy_coro_switch

    .globl tardy_coro_trampoline
    .hidden tardy_coro_trampoline
    .type tardy_coro_trampoline, %function
    .p2align 4
tardy_coro_trampoline:
    /* First entry: x19 = fn, x20 = arg. */
    mov x0, x20
    blr x19
    brk #0
    .size tardy_coro_trampoline, .-tardy_coro_trampoline

    .section .note.GNU-stack,"",%progbits
