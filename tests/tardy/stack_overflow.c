/* A task that overflows its stack dies of SIGSEGV in the guard page instead
 * of corrupting memory. Its own executable: under AddressSanitizer it needs
 * ASAN_OPTIONS=handle_segv=0 (set by meson), which the other tests do not. */
#include "common.h"

#include <signal.h>
#include <stdint.h>
#include <sys/wait.h>

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

/* The message: tardy's own handler (installed because SIGSEGV had its
 * default action) writes one line naming the stack size to stderr, then
 * the process still dies of SIGSEGV. Run in a child whose stderr is a
 * pipe, so the test reads what it wrote. */
static void run_child_overflow(size_t stack_size, bool spawned, char *out, size_t cap, int *status)
{
    int p[2];
    cr_assert_eq(pipe(p), 0);
    pid_t pid = fork();
    cr_assert_neq(pid, -1);
    if (pid == 0) {
        signal(SIGSEGV, SIG_DFL);
        dup2(p[1], 2);
        close(p[0]);
        close(p[1]);
        tardy_config cfg = {.threads = spawned ? 2 : 1, .stack_size = stack_size};
        tardy_run(&cfg, spawned ? spawn_then_overflow : overflow_task, NULL);
        _exit(0); /* not reached: the overflow kills the process */
    }
    close(p[1]);
    size_t len = 0;
    for (;;) {
        ssize_t n = read(p[0], out + len, cap - 1 - len);
        if (n <= 0)
            break;
        len += (size_t)n;
        if (len == cap - 1)
            break;
    }
    out[len] = '\0';
    close(p[0]);
    cr_assert_eq(waitpid(pid, status, 0), pid);
}

Test(stack_overflow, message_names_the_stack_size)
{
    char out[1024];
    int status;
    run_child_overflow(64 * 1024, false, out, sizeof out, &status);
    cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV, "status %#x, stderr: %s",
              status, out);
    cr_assert(strstr(out, "tardy: task stack overflow (stack size 65536 bytes); "
                          "raise tardy_config.stack_size\n"),
              "stderr: %s", out);

    /* a size that is not a whole number of pages is reported rounded up,
     * as it was mapped; and a spawned task on a second runtime thread */
    run_child_overflow(100000, true, out, sizeof out, &status);
    cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV, "status %#x, stderr: %s",
              status, out);
    char want[128];
    long page = sysconf(_SC_PAGESIZE);
    snprintf(want, sizeof want, "(stack size %ld bytes)", (100000 + page - 1) / page * page);
    cr_assert(strstr(out, want), "want %s in stderr: %s", want, out);
}

/* A SIGSEGV that is not a task's overflow (a wild pointer) gets no
 * message, and still kills with SIGSEGV. */
static void wild_write_task(void *arg)
{
    (void)arg;
    /* An address from a volatile, so the compiler sees no constant. */
    static volatile uintptr_t where = 16;
    volatile int *wild = (volatile int *)where;
    *wild = 1;
}

Test(stack_overflow, other_faults_get_no_message)
{
    int p[2];
    cr_assert_eq(pipe(p), 0);
    pid_t pid = fork();
    cr_assert_neq(pid, -1);
    if (pid == 0) {
        signal(SIGSEGV, SIG_DFL);
        dup2(p[1], 2);
        close(p[0]);
        close(p[1]);
        tardy_config cfg = {.threads = 1};
        tardy_run(&cfg, wild_write_task, NULL);
        _exit(0);
    }
    close(p[1]);
    char out[512];
    ssize_t n = read(p[0], out, sizeof out - 1);
    out[n > 0 ? n : 0] = '\0';
    close(p[0]);
    int status;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV, "status %#x", status);
    cr_assert(!strstr(out, "stack overflow"), "stderr: %s", out);
}

/* The application's own SIGSEGV handler, installed before tardy_run, is
 * kept: it runs (here it exits 7), and tardy adds no message. */
static void app_on_segv(int sig)
{
    (void)sig;
    _exit(7);
}

Test(stack_overflow, application_handler_is_kept)
{
    int p[2];
    cr_assert_eq(pipe(p), 0);
    pid_t pid = fork();
    cr_assert_neq(pid, -1);
    if (pid == 0) {
        dup2(p[1], 2);
        close(p[0]);
        close(p[1]);
        static char stack[64 * 1024];
        stack_t ss = {.ss_sp = stack, .ss_size = sizeof stack};
        sigaltstack(&ss, NULL);
        struct sigaction sa = {.sa_handler = app_on_segv, .sa_flags = SA_ONSTACK};
        sigemptyset(&sa.sa_mask);
        sigaction(SIGSEGV, &sa, NULL);
        tardy_config cfg = {.threads = 1, .stack_size = 64 * 1024};
        tardy_run(&cfg, overflow_task, NULL);
        _exit(0);
    }
    close(p[1]);
    char out[512];
    ssize_t n = read(p[0], out, sizeof out - 1);
    out[n > 0 ? n : 0] = '\0';
    close(p[0]);
    int status;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 7, "status %#x, stderr: %s", status,
              out);
    cr_assert(!strstr(out, "stack overflow"), "stderr: %s", out);
}

/* A SIGSEGV sent with kill() (no fault) still kills with SIGSEGV, and
 * gets no message. */
static void self_kill_task(void *arg)
{
    (void)arg;
    kill(getpid(), SIGSEGV);
    for (int i = 0; i < 100; i++)
        tardy_sleep(10 * TT_MS);
}

Test(stack_overflow, sent_sigsegv_still_kills)
{
    pid_t pid = fork();
    cr_assert_neq(pid, -1);
    if (pid == 0) {
        signal(SIGSEGV, SIG_DFL);
        tardy_config cfg = {.threads = 1};
        tardy_run(&cfg, self_kill_task, NULL);
        _exit(3);
    }
    int status;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV, "status %#x", status);
}
