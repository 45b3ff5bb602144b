/* Stack overflow reports: when a task runs off the end of its stack it
 * faults in the PROT_NONE guard below it; this handler says so, with the
 * stack size, then lets SIGSEGV kill the process as it would have. */
#include "guard.h"

#include "runtime.h"

#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* Enough for the handler (a few hundred bytes of frame) and for glibc's
 * signal frame with the largest register state (AVX-512). */
#define GUARD_ALTSTACK ((size_t)64 * 1024)

static void write_all(const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(2, p, n);
        if (w <= 0)
            return;
        p += w;
        n -= (size_t)w;
    }
}

/* Decimal digits of v into buf (at least 21 bytes); returns the length.
 * snprintf is not async-signal-safe. */
static size_t format_size(char *buf, size_t v)
{
    char rev[24];
    size_t n = 0;
    do {
        rev[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v > 0);
    for (size_t i = 0; i < n; i++)
        buf[i] = rev[n - 1 - i];
    return n;
}

static void guard_on_segv(int sig, siginfo_t *si, void *ctx)
{
    (void)ctx;
    struct tardy_runtime *rt = tardy_tls_rt;
    task_rec *t = rt ? rt->current : NULL;
    uintptr_t addr = (uintptr_t)si->si_addr;
    if (t && t->stack.map && addr >= (uintptr_t)t->stack.map && addr < (uintptr_t)t->stack.lo) {
        static const char head[] = "tardy: task stack overflow (stack size ";
        static const char tail[] = " bytes); raise tardy_config.stack_size\n";
        char msg[sizeof head + sizeof tail + 24];
        size_t n = sizeof head - 1;
        memcpy(msg, head, n);
        n += format_size(msg + n, t->stack.size);
        memcpy(msg + n, tail, sizeof tail - 1);
        n += sizeof tail - 1;
        write_all(msg, n);
    }
    /* Every fault, ours or not, ends as it would have without this
     * handler: with the default action restored, returning re-executes
     * the faulting instruction, and the kernel kills the process with
     * SIGSEGV (and a core dump where enabled). */
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    sigaction(sig, &dfl, NULL);
    /* A SIGSEGV sent by kill() repeats nothing on return: send it again,
     * to be delivered (with the default action) as the handler returns. */
    if (si->si_code <= 0)
        raise(sig);
}

void tardy_guard_install(void)
{
    static atomic_flag busy = ATOMIC_FLAG_INIT;
    /* Two tardy_run calls starting at once must not both read SIG_DFL and
     * race; once installed, the check below sees our own handler. */
    while (atomic_flag_test_and_set(&busy))
        ;
    struct sigaction old;
    if (sigaction(SIGSEGV, NULL, &old) == 0 && !(old.sa_flags & SA_SIGINFO) &&
        old.sa_handler == SIG_DFL) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_sigaction = guard_on_segv;
        sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGSEGV, &sa, NULL);
    }
    atomic_flag_clear(&busy);
}

void tardy_guard_thread_enter(tardy_guard_thread *g)
{
    g->altstack = NULL;
    g->altstack_size = 0;
    stack_t old;
    if (sigaltstack(NULL, &old) != 0 || !(old.ss_flags & SS_DISABLE))
        return; /* the thread has one (the application's): keep it */
    size_t size = GUARD_ALTSTACK;
#ifdef _SC_SIGSTKSZ
    long min = sysconf(_SC_SIGSTKSZ);
    if (min > 0 && (size_t)min * 4 > size)
        size = (size_t)min * 4;
#endif
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                   -1, 0);
    if (p == MAP_FAILED)
        return;
    stack_t ss = {.ss_sp = p, .ss_size = size, .ss_flags = 0};
    if (sigaltstack(&ss, NULL) != 0) {
        munmap(p, size);
        return;
    }
    g->altstack = p;
    g->altstack_size = size;
}

void tardy_guard_thread_leave(tardy_guard_thread *g)
{
    if (!g->altstack)
        return;
    stack_t off = {.ss_sp = NULL, .ss_size = 0, .ss_flags = SS_DISABLE};
    sigaltstack(&off, NULL);
    munmap(g->altstack, g->altstack_size);
    g->altstack = NULL;
}
