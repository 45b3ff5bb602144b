/* The coroutine switch: one machine context per task and one per scheduler,
 * with two backends behind this header (hand-written assembly, ucontext). */
#ifndef TARDY_CORO_H
#define TARDY_CORO_H

#include <stddef.h>

#ifdef TARDY_CORO_UCONTEXT
#include <ucontext.h>
typedef struct tardy_coro {
    ucontext_t uc;
} tardy_coro;
#else
typedef struct tardy_coro {
    void *sp; /* saved stack pointer; registers live on the stack below it */
} tardy_coro;
#endif

/* Prepares `c` to run fn(arg) on the stack [stack_lo, stack_lo + size) at
 * its first switch-in. fn must never return: it switches away for good. */
void tardy_coro_make(tardy_coro *c, void *stack_lo, size_t size, void (*fn)(void *), void *arg);

/* Saves the current context into `from` and resumes `to`. Returns when
 * something switches back to `from`. */
void tardy_coro_switch(tardy_coro *from, tardy_coro *to);

/* The backend's name, for benchmarks and diagnostics. */
extern const char tardy_coro_backend[];

#endif /* TARDY_CORO_H */
