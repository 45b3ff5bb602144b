/* Assembly coroutine backend: lays out a fresh stack so that the first
 * tardy_coro_switch into it "returns" into a trampoline calling fn(arg). */
#include "coro.h"

#include <stdint.h>
#include <string.h>

void tardy_coro_trampoline(void);

const char tardy_coro_backend[] = "asm";

void tardy_coro_make(tardy_coro *c, void *stack_lo, size_t size, void (*fn)(void *), void *arg)
{
    uintptr_t top = ((uintptr_t)stack_lo + size) & ~(uintptr_t)15;
#if defined(__x86_64__)
    /* Frame popped by the switch: [mxcsr|x87 cw] r15 r14 r13 r12 rbx rbp ret.
     * After `ret` rsp == top, 16-byte aligned for the trampoline's call. */
    uint64_t *sp = (uint64_t *)(top - 64);
    uint32_t csr[2];
    __asm__ volatile("stmxcsr %0" : "=m"(csr[0]));
    __asm__ volatile("fnstcw %0" : "=m"(csr[1]));
    memcpy(&sp[0], csr, sizeof csr);
    sp[1] = 0;                                      /* r15 */
    sp[2] = 0;                                      /* r14 */
    sp[3] = (uint64_t)(uintptr_t)arg;               /* r13 */
    sp[4] = (uint64_t)(uintptr_t)fn;                /* r12 */
    sp[5] = 0;                                      /* rbx */
    sp[6] = 0;                                      /* rbp: ends backtraces */
    sp[7] = (uint64_t)(uintptr_t)&tardy_coro_trampoline;
    c->sp = sp;
#elif defined(__aarch64__)
    /* Frame popped by the switch: x19..x30 then d8..d15, 160 bytes. */
    uint64_t *sp = (uint64_t *)(top - 160);
    memset(sp, 0, 160);
    sp[0] = (uint64_t)(uintptr_t)fn;                /* x19 */
    sp[1] = (uint64_t)(uintptr_t)arg;               /* x20 */
    sp[11] = (uint64_t)(uintptr_t)&tardy_coro_trampoline; /* x30 (lr) */
    c->sp = sp;
#else
#error "the asm coroutine backend supports x86-64 and aarch64; build with -Dcoro=ucontext"
#endif
}
