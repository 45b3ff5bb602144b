/* Receive streams' life cycle: open, close, reopen, misuse, other
 * runtimes, the end of the run, descriptors that are no sockets. */
#include "common.h"
#include "stream_common.h"

TestSuite(stream, .timeout = 60);

/* ---- life cycle and misuse ------------------------------------------------ */

/* Close, then open the same handle on another socket: it reads the new
 * socket only, and the old one keeps what comes to it after the close. */
static void reopen_entry(void *arg)
{
    struct sstate *s = arg;
    int other[2];
    TT_CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, other), 0);
    TT_CHECK_EQ(send(s->sv[1], "one", 3, 0), 3);
    TT_CHECK_EQ(tardy_stream_open(&s->st, s->sv[0]), 0);
    s->ret[0] = tardy_stream_read(&s->st, s->got, 3);
    TT_CHECK_EQ(tardy_stream_close(&s->st), 0);
    TT_CHECK_EQ(tardy_stream_close(&s->st), 0); /* not open: nothing to do */
    s->ret[1] = tardy_stream_take(&s->st, s->got, 3); /* closed */
    TT_CHECK_EQ(send(s->sv[1], "old", 3, 0), 3);
    TT_CHECK_EQ(tardy_stream_open(&s->st, other[0]), 0);
    TT_CHECK_EQ(send(other[1], "two", 3, 0), 3);
    TT_CHECK_EQ(tardy_stream_wait(&s->st, tardy_now() + 2000 * TT_MS, never, NULL), 0);
    TT_CHECK_EQ(tardy_sleep(5 * TT_MS), 0);
    s->result[0] = tardy_stream_result(&s->st);
    s->ret[2] = tardy_stream_read(&s->st, s->got + 3, 3);
    s->ret[3] = tardy_stream_take(&s->st, s->got + 6, 3);
    s->close_ret = tardy_stream_close(&s->st);
    s->peeked[0] = peek(s->sv[0]);
    s->ret[4] = recv(s->sv[0], s->got + 6, 3, 0);
    close(other[0]);
    close(other[1]);
}

Test(stream, close_then_reopen_on_another_socket)
{
    struct sstate s;
    sstate_init(&s);
    tardy_config cfg = {.threads = 1};
    TT_RUN(&cfg, reopen_entry, &s);
    TT_EXPECT_EQ(s.ret[0], 3);
    TT_EXPECT_EQ(s.ret[1], -EBADF);
    cr_expect(s.result[0] > 0, "result %d", s.result[0]);
    TT_EXPECT_EQ(s.ret[2], 3);
    TT_EXPECT_EQ(s.ret[3], -EAGAIN);
    TT_EXPECT_EQ(s.close_ret, 0);
    TT_EXPECT_EQ(s.peeked[0], 1); /* the closed stream took nothing more */
    TT_EXPECT_EQ(s.ret[4], 3);
    cr_expect(memcmp(s.got, "onetwoold", 9) == 0, "got %.9s", s.got);
    sstate_fini(&s);
}

/* take on a stream where nothing has arrived: -EAGAIN, before and after
 * the receive is armed; once the peer is gone, 0. */
static void eagain_entry(void *arg)
{
    struct sstate *s = arg;
    TT_CHECK_EQ(tardy_stream_open(&s->st, s->sv[0]), 0);
    s->ret[0] = tardy_stream_take(&s->st, s->got, sizeof s->got); /* fresh */
    TT_CHECK_EQ(send(s->sv[1], "q", 1, 0), 1);
    s->ret[1] = tardy_stream_read(&s->st, s->got, sizeof s->got); /* arms it on io_uring */
    s->ret[2] = tardy_stream_take(&s->st, s->got, sizeof s->got);
    TT_CHECK_EQ(tardy_sleep(2 * TT_MS), 0);
    s->ret[3] = tardy_stream_take(&s->st, s->got, sizeof s->got);
    TT_CHECK_EQ(shutdown(s->sv[1], SHUT_WR), 0);
    TT_CHECK_EQ(tardy_sleep(2 * TT_MS), 0);
    s->ret[4] = tardy_stream_take(&s->st, s->got, sizeof s->got);
    s->close_ret = tardy_stream_close(&s->st);
}

Test(stream, take_is_eagain_when_nothing_has_arrived)
{
    struct sstate s;
    sstate_init(&s);
    tardy_config cfg = {.threads = 1};
    TT_RUN(&cfg, eagain_entry, &s);
    TT_EXPECT_EQ(s.ret[0], -EAGAIN);
    TT_EXPECT_EQ(s.ret[1], 1);
    TT_EXPECT_EQ(s.ret[2], -EAGAIN);
    TT_EXPECT_EQ(s.ret[3], -EAGAIN);
    TT_EXPECT_EQ(s.ret[4], 0);
    TT_EXPECT_EQ(s.close_ret, 0);
    sstate_fini(&s);
}

/* The documented refusals, on one runtime. */
struct misuse {
    int sv[2];
    tardy_stream st;
    tardy_stream never_opened;
    int ret[16];
    ssize_t sret[8];
};

static void misuse_entry(void *arg)
{
    struct misuse *m = arg;
    char b[4];
    m->ret[0] = tardy_stream_open(NULL, m->sv[0]);
    m->ret[1] = tardy_stream_open(&m->st, -1);
    m->sret[0] = tardy_stream_take(&m->never_opened, b, sizeof b);
    m->sret[1] = tardy_stream_read(&m->never_opened, b, sizeof b);
    m->ret[2] = tardy_stream_wait(&m->never_opened, 0, never, NULL);
    m->ret[3] = tardy_stream_cancel(&m->never_opened);
    m->ret[4] = tardy_stream_close(&m->never_opened);
    TT_CHECK_EQ(tardy_stream_open(&m->st, m->sv[0]), 0);
    m->ret[5] = tardy_stream_open(&m->st, m->sv[0]);
    m->ret[6] = tardy_stream_open(&m->st, m->sv[1]);
    m->ret[7] = tardy_stream_wait(&m->st, 0, NULL, NULL);
    m->ret[8] = tardy_stream_cancel(&m->st);
    TT_CHECK_EQ(tardy_stream_wait(&m->st, tardy_now() + 2000 * TT_MS, never, NULL), 0);
    m->ret[9] = tardy_stream_wait(&m->st, 0, never, NULL);
    m->ret[10] = tardy_stream_close(&m->st);
    TT_CHECK_EQ(tardy_stream_cancel(&m->st), 0);
    TT_CHECK_EQ(tardy_sleep(2 * TT_MS), 0);
    m->ret[11] = tardy_stream_result(&m->st);
    m->ret[12] = tardy_stream_close(&m->st);
}

Test(stream, misuse_is_refused_as_documented)
{
    struct misuse m = {0};
    tt_socketpair(m.sv);
    char b[4];
    /* Outside a runtime. */
    cr_expect_eq(tardy_stream_open(&m.st, m.sv[0]), -EPERM);
    cr_expect_eq(tardy_stream_wait(&m.st, 0, never, NULL), -EPERM);
    cr_expect_eq(tardy_stream_take(&m.never_opened, b, sizeof b), -EBADF);
    cr_expect_eq(tardy_stream_read(&m.never_opened, b, sizeof b), -EBADF);
    cr_expect_eq(tardy_stream_cancel(&m.st), -EALREADY);
    cr_expect_eq(tardy_stream_close(&m.st), 0);
    tardy_config cfg = {.threads = 1};
    TT_RUN(&cfg, misuse_entry, &m);
    TT_EXPECT_EQ(m.ret[0], -EINVAL);
    TT_EXPECT_EQ(m.ret[1], -EINVAL);
    TT_EXPECT_EQ(m.sret[0], -EBADF);
    TT_EXPECT_EQ(m.sret[1], -EBADF);
    TT_EXPECT_EQ(m.ret[2], -EBADF);
    TT_EXPECT_EQ(m.ret[3], -EALREADY);
    TT_EXPECT_EQ(m.ret[4], 0);
    TT_EXPECT_EQ(m.ret[5], -EBUSY);
    TT_EXPECT_EQ(m.ret[6], -EBUSY);
    TT_EXPECT_EQ(m.ret[7], -EINVAL);
    TT_EXPECT_EQ(m.ret[8], -EALREADY);
    TT_EXPECT_EQ(m.ret[9], -EBUSY);
    TT_EXPECT_EQ(m.ret[10], -EBUSY);
    TT_EXPECT_EQ(m.ret[11], -ECANCELED);
    TT_EXPECT_EQ(m.ret[12], 0);
    close(m.sv[0]);
    close(m.sv[1]);
}

/* A stream belongs to the runtime that opened it: another runtime's calls
 * are refused (on io_uring, with the receive armed, its close too), and
 * the stream is unharmed. */
struct foreign {
    int sv[2];
    tardy_stream st;
    atomic_int phase;
    ssize_t take_ret, read_ret;
    int wait_ret, close_ret;
    ssize_t owner_read[2];
    int owner_close;
    bool uring;
};

static void foreign_entry(void *arg)
{
    struct foreign *f = arg;
    char b[8];
    if (tt_rt_index() == 0) {
        f->uring = receives_ahead();
        TT_CHECK_EQ(tardy_stream_open(&f->st, f->sv[0]), 0);
        TT_CHECK_EQ(send(f->sv[1], "ab", 2, 0), 2);
        /* One of two bytes: on io_uring the receive stays armed. */
        f->owner_read[0] = tardy_stream_read(&f->st, b, 1);
        atomic_store(&f->phase, 1);
        for (int i = 0; i < 5000 && atomic_load(&f->phase) != 2; i++)
            TT_CHECK_EQ(tardy_sleep(TT_MS), 0);
        TT_CHECK_EQ(atomic_load(&f->phase), 2);
        f->owner_read[1] = tardy_stream_read(&f->st, b, sizeof b);
        if (f->owner_read[1] == 1)
            TT_CHECK_EQ(b[0], 'b');
        f->owner_close = tardy_stream_close(&f->st);
        return;
    }
    for (int i = 0; i < 5000 && atomic_load(&f->phase) != 1; i++)
        TT_CHECK_EQ(tardy_sleep(TT_MS), 0);
    TT_CHECK_EQ(atomic_load(&f->phase), 1);
    f->take_ret = tardy_stream_take(&f->st, b, sizeof b);
    f->read_ret = tardy_stream_read(&f->st, b, sizeof b);
    f->wait_ret = tardy_stream_wait(&f->st, 0, never, NULL);
    if (f->uring)
        f->close_ret = tardy_stream_close(&f->st);
    atomic_store(&f->phase, 2);
}

Test(stream, another_runtime_is_eperm)
{
    struct foreign f = {0};
    tt_socketpair(f.sv);
    tardy_config cfg = {.threads = 2};
    TT_RUN(&cfg, foreign_entry, &f);
    TT_EXPECT_EQ(f.owner_read[0], 1);
    TT_EXPECT_EQ(f.take_ret, -EPERM);
    TT_EXPECT_EQ(f.read_ret, -EPERM);
    TT_EXPECT_EQ(f.wait_ret, -EPERM);
    if (f.uring)
        TT_EXPECT_EQ(f.close_ret, -EPERM);
    TT_EXPECT_EQ(f.owner_read[1], 1);
    TT_EXPECT_EQ(f.owner_close, 0);
    close(f.sv[0]);
    close(f.sv[1]);
}

/* A stream still open when its run ends can be closed afterwards, and is
 * then as if zeroed; until then its calls outside the run are -EPERM. */
static void left_open_entry(void *arg)
{
    struct sstate *s = arg;
    TT_CHECK_EQ(send(s->sv[1], "abc", 3, 0), 3);
    TT_CHECK_EQ(tardy_stream_open(&s->st, s->sv[0]), 0);
    s->ret[0] = tardy_stream_read(&s->st, s->got, 1);
}

static void reopen_after_run_entry(void *arg)
{
    struct sstate *s = arg;
    s->busy_ret[0] = tardy_stream_open(&s->st, s->sv[0]);
    s->close_ret = tardy_stream_close(&s->st);
}

Test(stream, a_stream_left_open_closes_after_the_run)
{
    struct sstate s;
    sstate_init(&s);
    tardy_config cfg = {.threads = 1};
    TT_RUN(&cfg, left_open_entry, &s);
    TT_EXPECT_EQ(s.ret[0], 1);
    char b[4];
    cr_expect_eq(tardy_stream_take(&s.st, b, sizeof b), -EPERM);
    cr_expect_eq(tardy_stream_read(&s.st, b, sizeof b), -EPERM);
    cr_expect_eq(tardy_stream_close(&s.st), 0);
    cr_expect_eq(tardy_stream_take(&s.st, b, sizeof b), -EBADF);
    TT_RUN(&cfg, reopen_after_run_entry, &s);
    TT_EXPECT_EQ(s.busy_ret[0], 0); /* not -EBUSY: the close forgot it */
    TT_EXPECT_EQ(s.close_ret, 0);
    sstate_fini(&s);
}

/* A wait on a descriptor that is no socket (one just closed): fn starts
 * with -EBADF. */
static void badfd_fire(void *arg)
{
    struct sstate *s = arg;
    s->fires++;
    s->result[0] = tardy_stream_result(&s->st);
    s->close_ret = tardy_stream_close(&s->st);
}

static void badfd_entry(void *arg)
{
    struct sstate *s = arg;
    int fd = dup(s->sv[0]);
    TT_CHECK(fd >= 0);
    TT_CHECK_EQ(close(fd), 0);
    TT_CHECK_EQ(tardy_stream_open(&s->st, fd), 0);
    TT_CHECK_EQ(tardy_stream_wait(&s->st, tardy_now() + 2000 * TT_MS, badfd_fire, s), 0);
}

Test(stream, a_wait_on_a_closed_descriptor_gives_ebadf)
{
    struct sstate s;
    sstate_init(&s);
    tardy_config cfg = {.threads = 1};
    TT_RUN(&cfg, badfd_entry, &s);
    TT_EXPECT_EQ(s.fires, 1);
    TT_EXPECT_EQ(s.result[0], -EBADF);
    TT_EXPECT_EQ(s.close_ret, 0);
    sstate_fini(&s);
}

/* Closing waits for the kernel to let go of the receive; neither a cancel
 * of the closing task nor its passed deadline cuts that short, and both
 * are still there for its next call. */
struct closing {
    int sv[2];
    tardy_stream st;
    tardy_task closer;
    volatile int in_close;
    int cancelled_in_close;
    bool kernel_cancel; /* the driver cancels a receive in the kernel (io_uring) */
    int close_ret[2];
    ssize_t after[2];
    ssize_t peeked[2];
    ssize_t read_ret[2];
};

static void close_canceller(void *arg)
{
    struct closing *c = arg;
    if (c->in_close)
        c->cancelled_in_close = 1;
    TT_CHECK_EQ(tardy_cancel(c->closer), 0);
}

static void closing_entry(void *arg)
{
    struct closing *c = arg;
    char b[4];
    c->closer = tardy_self();
    c->kernel_cancel = strcmp(tardy_driver_name(), "io_uring") == 0;
    TT_CHECK_EQ(tardy_stream_open(&c->st, c->sv[0]), 0);
    TT_CHECK_EQ(send(c->sv[1], "k", 1, 0), 1);
    c->read_ret[0] = tardy_stream_read(&c->st, b, sizeof b); /* arms the receive */
    TT_CHECK_EQ(tardy_spawn(close_canceller, c, NULL), 0);
    c->in_close = 1;
    c->close_ret[0] = tardy_stream_close(&c->st);
    c->in_close = 0;
    c->after[0] = tardy_sleep(TT_MS); /* the cancel, kept for this call */
    TT_CHECK_EQ(send(c->sv[1], "m", 1, 0), 1);
    TT_CHECK_EQ(tardy_sleep(2 * TT_MS), 0);
    c->peeked[0] = peek(c->sv[0]); /* the receive is gone: "m" stays */

    TT_CHECK_EQ(tardy_stream_open(&c->st, c->sv[0]), 0);
    c->read_ret[1] = tardy_stream_read(&c->st, b, sizeof b); /* "m"; armed again */
    tardy_deadline_set(tardy_now() + 1);
    TT_CHECK_EQ(tardy_sleep(2 * TT_MS), -ETIMEDOUT);
    c->close_ret[1] = tardy_stream_close(&c->st);
    c->after[1] = tardy_sleep(TT_MS);
    tardy_deadline_clear();
    TT_CHECK_EQ(send(c->sv[1], "n", 1, 0), 1);
    TT_CHECK_EQ(tardy_sleep(2 * TT_MS), 0);
    c->peeked[1] = peek(c->sv[0]);
}

Test(stream, close_is_not_cut_short_by_a_cancel_or_deadline)
{
    struct closing c = {0};
    tt_socketpair(c.sv);
    tardy_config cfg = {.threads = 1};
    TT_RUN(&cfg, closing_entry, &c);
    TT_EXPECT_EQ(c.read_ret[0], 1);
    TT_EXPECT_EQ(c.close_ret[0], 0);
    /* On io_uring close waits for the kernel, and the canceller runs then;
     * elsewhere (epoll cancels its receive at once) close returns at once
     * and the cancel comes after. */
    TT_EXPECT_EQ(c.cancelled_in_close, c.kernel_cancel ? 1 : 0);
    TT_EXPECT_EQ(c.after[0], -ECANCELED);
    TT_EXPECT_EQ(c.peeked[0], 1);
    TT_EXPECT_EQ(c.read_ret[1], 1);
    TT_EXPECT_EQ(c.close_ret[1], 0);
    TT_EXPECT_EQ(c.after[1], -ETIMEDOUT);
    TT_EXPECT_EQ(c.peeked[1], 1);
    close(c.sv[0]);
    close(c.sv[1]);
}

/* take never waits, so neither the task's passed deadline nor a pending
 * cancel concerns it: it hands over the bytes (or -EAGAIN), and the
 * deadline and the cancel are still there for the next call that parks. */
static void take_free_entry(void *arg)
{
    struct sstate *s = arg;
    TT_CHECK_EQ(tardy_stream_open(&s->st, s->sv[0]), 0);
    TT_CHECK_EQ(send(s->sv[1], "hi", 2, 0), 2);
    tardy_deadline_set(tardy_now() + 1);
    TT_CHECK_EQ(tardy_sleep(2 * TT_MS), -ETIMEDOUT);
    s->ret[0] = tardy_stream_take(&s->st, s->got, sizeof s->got);
    s->ret[1] = tardy_stream_take(&s->st, s->got + 2, sizeof s->got - 2);
    s->ret[2] = tardy_sleep(TT_MS);
    tardy_deadline_clear();
    TT_CHECK_EQ(send(s->sv[1], "yo", 2, 0), 2);
    TT_CHECK_EQ(tardy_cancel(tardy_self()), 0);
    s->ret[3] = tardy_stream_take(&s->st, s->got + 2, sizeof s->got - 2);
    s->ret[4] = tardy_stream_take(&s->st, s->got + 4, sizeof s->got - 4);
    s->ret[5] = tardy_sleep(TT_MS);
    s->close_ret = tardy_stream_close(&s->st);
}

Test(stream, take_ignores_the_task_deadline_and_cancel)
{
    struct sstate s;
    sstate_init(&s);
    tardy_config cfg = {.threads = 1};
    TT_RUN(&cfg, take_free_entry, &s);
    TT_EXPECT_EQ(s.ret[0], 2);
    TT_EXPECT_EQ(s.ret[1], -EAGAIN);
    TT_EXPECT_EQ(s.ret[2], -ETIMEDOUT);
    TT_EXPECT_EQ(s.ret[3], 2);
    TT_EXPECT_EQ(s.ret[4], -EAGAIN);
    TT_EXPECT_EQ(s.ret[5], -ECANCELED);
    cr_expect(memcmp(s.got, "hiyo", 4) == 0, "got %.4s", s.got);
    TT_EXPECT_EQ(s.close_ret, 0);
    sstate_fini(&s);
}

/* A stream on a descriptor that is open but no socket (/dev/null): on
 * io_uring the receive fails and fn starts with -ENOTSOCK; a readiness
 * wait finds it readable instead. Either way the take says -ENOTSOCK. */
static void notsock_fire(void *arg)
{
    struct sstate *s = arg;
    char b[4];
    s->fires++;
    s->result[0] = tardy_stream_result(&s->st);
    s->ret[0] = tardy_stream_take(&s->st, b, sizeof b);
    s->close_ret = tardy_stream_close(&s->st);
}

static void notsock_entry(void *arg)
{
    struct sstate *s = arg;
    receives_ahead();
    TT_CHECK_EQ(tardy_stream_open(&s->st, s->sv[0]), 0);
    TT_CHECK_EQ(tardy_stream_wait(&s->st, tardy_now() + 2000 * TT_MS, notsock_fire, s), 0);
}

Test(stream, a_stream_on_a_descriptor_that_is_no_socket)
{
    struct sstate s;
    memset(&s, 0, sizeof s);
    s.sv[0] = open("/dev/null", O_RDONLY | O_CLOEXEC);
    cr_assert(s.sv[0] >= 0);
    tardy_config cfg = {.threads = 1};
    TT_RUN(&cfg, notsock_entry, &s);
    TT_EXPECT_EQ(s.fires, 1);
    if (ahead)
        TT_EXPECT_EQ(s.result[0], -ENOTSOCK);
    else
        cr_expect(s.result[0] > 0, "result %d", s.result[0]);
    TT_EXPECT_EQ(s.ret[0], -ENOTSOCK);
    TT_EXPECT_EQ(s.close_ret, 0);
    close(s.sv[0]);
}
