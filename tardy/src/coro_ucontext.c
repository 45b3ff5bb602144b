/* Portable coroutine backend over ucontext(3). Slower than the assembly one
 * (swapcontext also saves the signal mask with a syscall), but it runs on
 * any architecture glibc supports. */
#include "coro.h"

#include <stdint.h>

const char tardy_coro_backend[] = "ucontext";

/* makecontext passes int arguments only, so the pointers travel in halves. */
static void coro_ucontext_entry(unsigned fn_hi, unsigned fn_lo, unsigned arg_hi, unsigned arg_lo)
{
    uintptr_t fn_bits = ((uintptr_t)fn_hi << 16 << 16) | (uintptr_t)fn_lo;
    uintptr_t arg_bits = ((uintptr_t)arg_hi << 16 << 16) | (uintptr_t)arg_lo;
    void (*fn)(void *);
    void *arg = (void *)arg_bits;
    /* A function pointer cannot be cast from an integer directly in ISO C;
     * go through a union of the same size. */
    union {
        uintptr_t bits;
        void (*fn)(void *);
    } u = {.bits = fn_bits};
    fn = u.fn;
    fn(arg);
    __builtin_unreachable();
}

void tardy_coro_make(tardy_coro *c, void *stack_lo, size_t size, void (*fn)(void *), void *arg)
{
    union {
        uintptr_t bits;
        void (*fn)(void *);
    } u = {.fn = fn};
    uintptr_t a = (uintptr_t)arg;
    getcontext(&c->uc);
    c->uc.uc_stack.ss_sp = stack_lo;
    c->uc.uc_stack.ss_size = size;
    c->uc.uc_link = NULL;
    makecontext(&c->uc, (void (*)(void))coro_ucontext_entry, 4, (unsigned)(u.bits >> 16 >> 16),
                (unsigned)(u.bits & 0xffffffffu), (unsigned)(a >> 16 >> 16), (unsigned)(a & 0xffffffffu));
}

void tardy_coro_switch(tardy_coro *from, tardy_coro *to)
{
    swapcontext(&from->uc, &to->uc);
}
