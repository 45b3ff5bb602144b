/* What the receive-stream tests share: a socket pair and the state the
 * fns of a run record for the test to check afterwards. */
#ifndef TARDY_TEST_STREAM_COMMON_H
#define TARDY_TEST_STREAM_COMMON_H

#include "common.h"

/* Set inside a run: does this run's driver receive ahead (io_uring and
 * epoll, with their buffers)? Then bytes leave the socket before anyone
 * reads them, and a peek finds it empty; on busy they stay in the socket. */
static bool ahead __attribute__((unused));

static inline bool receives_ahead(void)
{
    ahead =
        strcmp(tardy_driver_name(), "io_uring") == 0 || strcmp(tardy_driver_name(), "epoll") == 0;
    return ahead;
}

/* What a peek on fd finds now: bytes waiting (> 0), 0 at the end, or
 * -EAGAIN. */
static inline ssize_t peek(int fd)
{
    char c;
    ssize_t n = recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
    return n < 0 ? -errno : n;
}

/* Sleeps a millisecond at a time until *flag reaches want (at most 5 s,
 * so that a test that goes wrong still ends). */
static inline void until_at_least(const volatile int *flag, int want)
{
    for (int i = 0; i < 5000 && *flag < want; i++)
        TT_CHECK_EQ(tardy_sleep(TT_MS), 0);
    TT_CHECK(*flag >= want);
}

struct sstate {
    int sv[2];
    tardy_stream st;
    tardy_task starter;
    volatile int fires;
    volatile int phase;
    int result[4];
    bool fresh_task;
    char got[128];
    size_t got_len;
    ssize_t ret[8];
    ssize_t peeked[4];
    int close_ret;
    int busy_ret[4];
    uint64_t t0;
    uint64_t elapsed;
};

static inline void sstate_init(struct sstate *s)
{
    memset(s, 0, sizeof *s);
    tt_socketpair(s->sv);
}

static inline void sstate_fini(struct sstate *s)
{
    close(s->sv[0]);
    close(s->sv[1]);
}

static inline void collect(struct sstate *s, ssize_t n)
{
    TT_CHECK(n > 0);
    if (n > 0)
        s->got_len += (size_t)n;
}

/* A fn for runs that must not start. */
static inline void never(void *arg)
{
    (void)arg;
}

#endif
