/* Helpers shared by the tardy test executables: checks that tasks record
 * (Criterion's asserts longjmp, which must never cross a coroutine stack)
 * and small wrappers around tardy_run, clocks and socket pairs. */
#ifndef TARDY_TEST_COMMON_H
#define TARDY_TEST_COMMON_H

#include <criterion/criterion.h>
#include <tardy.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define TT_MS 1000000ull

/* Failures seen inside tasks (any runtime thread). The test asserts on them
 * from its own stack once tardy_run has returned. */
static atomic_int tt_failures;
static atomic_flag tt_first_taken = ATOMIC_FLAG_INIT;
static char tt_first_failure[512];

__attribute__((unused, format(printf, 3, 4))) static void
tt_fail(const char *file, int line, const char *fmt, ...)
{
    if (atomic_fetch_add(&tt_failures, 1) == 0 && !atomic_flag_test_and_set(&tt_first_taken)) {
        int n = snprintf(tt_first_failure, sizeof tt_first_failure, "%s:%d: ", file, line);
        va_list ap;
        va_start(ap, fmt);
        if (n > 0 && (size_t)n < sizeof tt_first_failure)
            vsnprintf(tt_first_failure + n, sizeof tt_first_failure - (size_t)n, fmt, ap);
        va_end(ap);
    }
}

#define TT_CHECK(cond)                                                        \
    do {                                                                      \
        if (!(cond))                                                          \
            tt_fail(__FILE__, __LINE__, "check failed: %s", #cond);           \
    } while (0)

#define TT_CHECK_EQ(actual, expected)                                         \
    do {                                                                      \
        long long tt_a_ = (long long)(actual);                                \
        long long tt_e_ = (long long)(expected);                              \
        if (tt_a_ != tt_e_)                                                   \
            tt_fail(__FILE__, __LINE__, "%s: got %lld, expected %s = %lld",   \
                    #actual, tt_a_, #expected, tt_e_);                        \
    } while (0)

/* cr_expect_eq that also prints both values (integers and pointers). */
#define TT_EXPECT_EQ(actual, expected)                                        \
    do {                                                                      \
        long long tt_xa_ = (long long)(actual);                               \
        long long tt_xe_ = (long long)(expected);                             \
        cr_expect(tt_xa_ == tt_xe_, "%s: got %lld, expected %s = %lld",       \
                  #actual, tt_xa_, #expected, tt_xe_);                        \
    } while (0)

/* Asserts (from the test's own stack) that no task check failed. */
#define TT_ASSERT_CLEAN()                                                     \
    cr_assert_eq(atomic_load(&tt_failures), 0,                                \
                 "%d check(s) failed inside tasks; first: %s",                 \
                 atomic_load(&tt_failures), tt_first_failure)

/* Runs entry under cfg and asserts that tardy_run returned 0 and that no
 * task check failed. */
#define TT_RUN(cfg, entry, arg)                                               \
    do {                                                                      \
        int tt_rc_ = tardy_run((cfg), (entry), (arg));                        \
        cr_assert_eq(tt_rc_, 0, "tardy_run returned %d (%s)", tt_rc_,          \
                     strerror(tt_rc_ < 0 ? -tt_rc_ : tt_rc_));                 \
        TT_ASSERT_CLEAN();                                                    \
    } while (0)

/* Real monotonic time, independent of tardy's cached clock. */
__attribute__((unused)) static uint64_t tt_clock_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* A connected non-blocking AF_UNIX stream pair. */
__attribute__((unused)) static void tt_socketpair(int sv[2])
{
    int rc = socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv);
    cr_assert_eq(rc, 0, "socketpair: %s", strerror(errno));
}

/* Which runtime of the run the calling task is on. */
__attribute__((unused)) static unsigned tt_rt_index(void)
{
    return tardy_runtime_index(tardy_runtime_self());
}

#endif /* TARDY_TEST_COMMON_H */
