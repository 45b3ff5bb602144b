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
    /* Frame popped by the switch: r15 r14 r13 r12 rbx rbp, then `ret` pops
     * the trampoline's address and leaves rsp == top, 16-byte aligned as
     * the trampoline's call needs. */
    uint64_t *sp = (uint64_t *)(top - 56);
    sp[0] = 0;                                      /* r15 */
    sp[1] = 0;                                      /* r14 */
    sp[2] = (uint64_t)(uintptr_t)arg;               /* r13 */
    sp[3] = (uint64_t)(uintptr_t)fn;                /* r12 */
    sp[4] = 0;                                      /* rbx */
    sp[5] = 0;                                      /* rbp: ends backtraces */
    sp[6] = (uint64_t)(uintptr_t)&tardy_coro_trampoline;
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
