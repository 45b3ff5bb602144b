/* A task that overflows its stack dies of SIGSEGV in the guard page instead
 * of corrupting memory. Its own executable: under AddressSanitizer it needs
 * ASAN_OPTIONS=handle_segv=0 (set by meson), which the other tests do not. */
#include "common.h"

#include <signal.h>
#include <stdint.h>

TestSuite(stack_overflow, .timeout = 60);

#define FRAME 4096

static volatile long sink;

/* 4 KiB frames, each written from its high end to its low end, so the first
 * page touched below the stack is the guard page right under it. */
__attribute__((noinline)) static long overflow(long depth)
{
    volatile unsigned char frame[FRAME];
    for (int i = FRAME - 1; i >= 0; i--)
        frame[i] = (unsigned char)(depth + i);
    if (depth > 1000000)
        return frame[0];
    return overflow(depth + 1) + frame[depth % FRAME];
}

static void overflow_task(void *arg)
{
    (void)arg;
    sink = overflow(0);
}

Test(stack_overflow, entry_task_dies_of_sigsegv, .signal = SIGSEGV)
{
    tardy_config cfg = {.threads = 1, .stack_size = 64 * 1024};
    tardy_run(&cfg, overflow_task, NULL);
}

static void yielder(void *arg)
{
    (void)arg;
    for (int i = 0; i < 10; i++)
        tardy_yield();
}

static void spawn_then_overflow(void *arg)
{
    (void)arg;
    /* Neighbouring stacks exist and are in use when the overflow happens. */
    for (int i = 0; i < 4; i++)
        tardy_spawn(yielder, NULL, NULL);
    tardy_spawn(overflow_task, NULL, NULL);
    tardy_yield();
}

Test(stack_overflow, spawned_task_dies_of_sigsegv, .signal = SIGSEGV)
{
    tardy_config cfg = {.threads = 1};
    tardy_run(&cfg, spawn_then_overflow, NULL);
}

/* Where the fault lands: just below the task's usable stack, so the guard
 * page (not some other mapping further down) stopped it. A handler on an
 * alternate stack checks the fault address against the address of a local
 * near the top of the task's stack, then lets the default action kill the
 * process with SIGSEGV; a fault anywhere else exits with 42 instead. */
#define CHECKED_STACK (64 * 1024)

static volatile uintptr_t task_top;
static char altstack[64 * 1024];

static void on_segv(int sig, siginfo_t *si, void *ctx)
{
    (void)sig;
    (void)ctx;
    uintptr_t addr = (uintptr_t)si->si_addr;
    uintptr_t top = task_top;
    /* The local sits a little below the stack's top (the task's start-up
     * frames); allow for that and for one guard page. */
    if (top == 0 || addr >= top || top - addr < CHECKED_STACK - 16 * 1024 ||
        top - addr > CHECKED_STACK + 8 * 1024) {
        static const char msg[] = "SIGSEGV outside the guard page below the task stack\n";
        ssize_t w = write(2, msg, sizeof msg - 1);
        (void)w;
        _exit(42);
    }
    /* SA_RESETHAND restored the default: the faulting write repeats and
     * kills the process. */
}

static void measured_overflow_task(void *arg)
{
    (void)arg;
    volatile char top_marker = 0;
    task_top = (uintptr_t)&top_marker;
    sink = overflow(0) + top_marker;
}

Test(stack_overflow, fault_lands_in_the_guard_page_below_the_stack, .signal = SIGSEGV)
{
    stack_t ss = {.ss_sp = altstack, .ss_size = sizeof altstack};
    cr_assert_eq(sigaltstack(&ss, NULL), 0);
    struct sigaction sa = {.sa_sigaction = on_segv, .sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESETHAND};
    sigemptyset(&sa.sa_mask);
    cr_assert_eq(sigaction(SIGSEGV, &sa, NULL), 0);
    tardy_config cfg = {.threads = 1, .stack_size = CHECKED_STACK};
    tardy_run(&cfg, measured_overflow_task, NULL);
}
