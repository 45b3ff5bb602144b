/* A stream's send (tardy_stream_send): handed to the driver, finished
 * without the task that started it, collected with tardy_stream_sent,
 * cancelled by the stream's close; on every driver. */
#include "common.h"
#include "stream_common.h"

#include <fcntl.h>
#include <pthread.h>

TestSuite(stream_send, .timeout = 60);

/* More than a socket pair holds with the buffers made small below, so
 * that the send cannot go at once. */
#define BIG ((size_t)4 << 20)

static unsigned char big_buf[BIG];

static void big_fill(void)
{
    for (size_t i = 0; i < BIG; i++)
        big_buf[i] = (unsigned char)(i * 7 + i / 4099);
}

static void small_buffers(int fd)
{
    int size = 4096;
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
}

/* A pair whose two ends have small buffers, and big_buf filled. */
static void small_pair(struct sstate *s)
{
    big_fill();
    sstate_init(s);
    small_buffers(s->sv[0]);
    small_buffers(s->sv[1]);
}

/* A thread that reads one end of a pair, blocking, until the end of the
 * stream (or `want` bytes), checking them against big_buf. */
struct reader {
    pthread_t thread;
    int fd;
    size_t want;
    unsigned delay_us; /* between reads: a slow client */
    size_t got;
    bool mismatch;
};

static void *reader_main(void *arg)
{
    struct reader *r = arg;
    int flags = fcntl(r->fd, F_GETFL);
    fcntl(r->fd, F_SETFL, flags & ~O_NONBLOCK);
    char chunk[8192];
    while (r->got < r->want) {
        ssize_t n = recv(r->fd, chunk, sizeof chunk, 0);
        if (n <= 0)
            break;
        if (memcmp(chunk, big_buf + r->got, (size_t)n) != 0)
            r->mismatch = true;
        r->got += (size_t)n;
        if (r->delay_us)
            usleep(r->delay_us);
    }
    return NULL;
}

static void reader_start(struct reader *r, int fd, size_t want, unsigned delay_us)
{
    memset(r, 0, sizeof *r);
    r->fd = fd;
    r->want = want;
    r->delay_us = delay_us;
    cr_assert_eq(pthread_create(&r->thread, NULL, reader_main, r), 0);
}

/* ---- a small send ----------------------------------------------------------- */

static void small_entry(void *arg)
{
    struct sstate *s = arg;
    TT_CHECK_EQ(tardy_stream_open(&s->st, s->sv[0]), 0);
    s->ret[0] = tardy_stream_send(&s->st, "hello", 5);
    s->peeked[0] = peek(s->sv[1]); /* before the task gave the thread up */
    s->ret[1] = tardy_stream_sent(&s->st, true);
    s->ret[2] = recv(s->sv[1], s->got, sizeof s->got, MSG_DONTWAIT);
    s->ret[3] = tardy_stream_sent(&s->st, false); /* collected: nothing more */
    s->ret[4] = tardy_stream_send(&s->st, "", 0);
    s->close_ret = tardy_stream_close(&s->st);
}

/* On io_uring the send joins the turn's submissions: the task goes on
 * before a byte has left; epoll and busy send what the socket takes at
 * once. Either way the bytes arrive, once, and the end is collected. */
Test(stream_send, a_small_send_goes_and_is_collected)
{
    struct sstate s;
    sstate_init(&s);
    tardy_config cfg = {.threads = 1};
    TT_RUN(&cfg, small_entry, &s);
    bool uring = strcmp(getenv("TARDY_DRIVER") ? getenv("TARDY_DRIVER") : "", "io_uring") == 0;
    TT_EXPECT_EQ(s.ret[0], uring ? 1 : 0);
    TT_EXPECT_EQ(s.peeked[0], uring ? -EAGAIN : 1);
    TT_EXPECT_EQ(s.ret[1], 0);
    TT_EXPECT_EQ(s.ret[2], 5);
    cr_expect(memcmp(s.got, "hello", 5) == 0);
    TT_EXPECT_EQ(s.ret[3], 0);
    TT_EXPECT_EQ(s.ret[4], 0);
    TT_EXPECT_EQ(s.close_ret, 0);
    sstate_fini(&s);
}

/* ---- a send that outlives its task ---------------------------------------- */

struct flight {
    struct sstate s;
    struct reader rd;
    int send_ret;
    int busy_ret;
    int woke_result;
    int sent_ret;
    int sent_again;
    int close_ret;
    volatile int fires;
};

/* A pair with small buffers, its far end read by a thread. */
static void flight_setup(struct flight *f)
{
    memset(f, 0, sizeof *f);
    small_pair(&f->s);
    reader_start(&f->rd, f->s.sv[1], BIG, 0);
}

static void flight_woken(void *arg)
{
    struct flight *f = arg;
    f->woke_result = tardy_stream_result(&f->s.st);
    f->sent_ret = tardy_stream_sent(&f->s.st, false);
    f->sent_again = tardy_stream_sent(&f->s.st, false);
    f->close_ret = tardy_stream_close(&f->s.st);
    f->fires++;
}

static void flight_entry(void *arg)
{
    struct flight *f = arg;
    TT_CHECK_EQ(tardy_stream_open(&f->s.st, f->s.sv[0]), 0);
    f->send_ret = tardy_stream_send(&f->s.st, big_buf, BIG);
    f->busy_ret = tardy_stream_send(&f->s.st, "x", 1);
    TT_CHECK_EQ(tardy_stream_wait(&f->s.st, tardy_now() + 20000 * TT_MS, flight_woken, f), 0);
    /* The task ends here, with the send in flight. */
}

/* A task hands over 4 MiB and ends; the driver sends the rest as a slow
 * reader makes room, in order; the wait ends with POLLOUT when the last
 * byte went, and the end is collected once. */
Test(stream_send, a_send_outlives_its_task_and_ends_the_wait)
{
    static struct flight f;
    flight_setup(&f);
    tardy_config cfg = {.threads = 1};
    TT_RUN(&cfg, flight_entry, &f);
    pthread_join(f.rd.thread, NULL);
    TT_EXPECT_EQ(f.send_ret, 1);
    TT_EXPECT_EQ(f.busy_ret, -EBUSY);
    TT_EXPECT_EQ(f.fires, 1);
    cr_expect(f.woke_result > 0 && (f.woke_result & POLLOUT), "result %d", f.woke_result);
    TT_EXPECT_EQ(f.sent_ret, 0);
    TT_EXPECT_EQ(f.sent_again, 0);
    TT_EXPECT_EQ(f.close_ret, 0);
    TT_EXPECT_EQ(f.rd.got, BIG);
    cr_expect(!f.rd.mismatch, "the bytes arrived out of order or changed");
    sstate_fini(&f.s);
}

/* No wait and no collection: the send alone keeps the run going until
 * its last byte has gone. */
static void alone_entry(void *arg)
{
    struct flight *f = arg;
    TT_CHECK_EQ(tardy_stream_open(&f->s.st, f->s.sv[0]), 0);
    f->send_ret = tardy_stream_send(&f->s.st, big_buf, BIG);
}

Test(stream_send, a_send_in_flight_keeps_the_run_going)
{
    static struct flight f;
    flight_setup(&f);
    tardy_config cfg = {.threads = 1};
    TT_RUN(&cfg, alone_entry, &f);
    size_t at_end = f.rd.got;
    /* When the run ends every byte has left the sender, but the reader
     * may not have counted them yet: a piece it holds (up to its 8 KiB
     * chunk) and what the socket still holds (its send buffer, and one
     * more message past the limit). */
    int sndbuf = 0;
    socklen_t sl = sizeof sndbuf;
    cr_assert_eq(getsockopt(f.s.sv[0], SOL_SOCKET, SO_SNDBUF, &sndbuf, &sl), 0);
    size_t unread = 8192 + 2 * (size_t)sndbuf;
    pthread_join(f.rd.thread, NULL);
    TT_EXPECT_EQ(f.send_ret, 1);
    cr_expect(at_end + unread >= BIG, "the run ended with %zu of %zu bytes read (%zu may wait)",
              at_end, BIG, unread);
    TT_EXPECT_EQ(f.rd.got, BIG);
    cr_expect(!f.rd.mismatch);
    sstate_fini(&f.s);
}

/* ---- deadlines, the peer's end, the close ---------------------------------- */

struct stuck {
    struct sstate s;
    int send_ret;
    int timed;
    int still;
    int close_ret;
    int after_close;
    int resend;
    int resent;
};

static void stuck_entry(void *arg)
{
    struct stuck *k = arg;
    TT_CHECK_EQ(tardy_stream_open(&k->s.st, k->s.sv[0]), 0);
    k->send_ret = tardy_stream_send(&k->s.st, big_buf, BIG);
    tardy_deadline_set(tardy_now() + 30 * TT_MS);
    k->timed = tardy_stream_sent(&k->s.st, true);
    tardy_deadline_set(0);
    k->still = tardy_stream_sent(&k->s.st, false);
    k->close_ret = tardy_stream_close(&k->s.st);
    k->after_close = tardy_stream_sent(&k->s.st, false);
    /* The stream opens again, its send record reused. */
    TT_CHECK_EQ(tardy_stream_open(&k->s.st, k->s.sv[0]), 0);
    k->resend = tardy_stream_send(&k->s.st, big_buf, BIG);
    TT_CHECK_EQ(close(k->s.sv[1]), 0);
    k->s.sv[1] = -1;
    k->resent = tardy_stream_sent(&k->s.st, true);
    TT_CHECK_EQ(tardy_stream_close(&k->s.st), 0);
}

/* A peer that never reads: waiting for the send ends at the deadline
 * and leaves it in flight; the close cancels it (the run would not end
 * otherwise) and the buffer is free again. A peer that goes away makes
 * the send end with the socket's error. */
Test(stream_send, a_stuck_send_times_out_and_the_close_cancels_it)
{
    static struct stuck k;
    memset(&k, 0, sizeof k);
    small_pair(&k.s);
    tardy_config cfg = {.threads = 1};
    TT_RUN(&cfg, stuck_entry, &k);
    TT_EXPECT_EQ(k.send_ret, 1);
    TT_EXPECT_EQ(k.timed, -ETIMEDOUT);
    TT_EXPECT_EQ(k.still, -EINPROGRESS);
    TT_EXPECT_EQ(k.close_ret, 0);
    TT_EXPECT_EQ(k.after_close, -EBADF);
    cr_expect(k.resend == 1 || k.resend < 0, "resend %d", k.resend);
    cr_expect(k.resent == -EPIPE || k.resent == -ECONNRESET || k.resend < 0, "resent %d", k.resent);
    sstate_fini(&k.s);
}

/* The peer goes while a send is in flight and a wait is pending (on busy
 * the wait is a poll beside the send, both ending in one sweep): the wait
 * ends once, the send with the socket's error, and the driver's other
 * ops go on (a task parked on another socket still gets its byte). */
struct gone {
    struct sstate s;
    int other[2];
    int send_ret;
    volatile int fires;
    int result;
    int sent;
    ssize_t other_ret;
    volatile bool other_done;
};

static void gone_woken(void *arg)
{
    struct gone *g = arg;
    g->fires++;
    g->result = tardy_stream_result(&g->s.st);
    tardy_deadline_set(tardy_now() + 2000 * TT_MS);
    g->sent = tardy_stream_sent(&g->s.st, true);
    tardy_deadline_set(0);
    TT_CHECK_EQ(tardy_stream_close(&g->s.st), 0);
}

static void gone_other(void *arg)
{
    struct gone *g = arg;
    char c;
    g->other_ret = tardy_recv(g->other[0], &c, 1, 0);
    g->other_done = true;
}

static void gone_entry(void *arg)
{
    struct gone *g = arg;
    TT_CHECK_EQ(tardy_stream_open(&g->s.st, g->s.sv[0]), 0);
    TT_CHECK_EQ(tardy_spawn(gone_other, g, NULL), 0);
    g->send_ret = tardy_stream_send(&g->s.st, big_buf, BIG);
    TT_CHECK_EQ(tardy_stream_wait(&g->s.st, tardy_now() + 5000 * TT_MS, gone_woken, g), 0);
    TT_CHECK_EQ(tardy_sleep(5 * TT_MS), 0);
    TT_CHECK_EQ(close(g->s.sv[1]), 0);
    g->s.sv[1] = -1;
    TT_CHECK_EQ(tardy_sleep(20 * TT_MS), 0);
    TT_CHECK_EQ(send(g->other[1], "x", 1, 0), 1);
    for (int i = 0; i < 2000 && !g->other_done; i++)
        TT_CHECK_EQ(tardy_sleep(TT_MS), 0);
    TT_CHECK_EQ(tardy_sleep(20 * TT_MS), 0); /* room for a second start */
}

Test(stream_send, the_peer_going_ends_the_wait_once_and_the_rest_goes_on)
{
    static struct gone g;
    memset(&g, 0, sizeof g);
    small_pair(&g.s);
    tt_socketpair(g.other);
    tardy_config cfg = {.threads = 1};
    TT_RUN(&cfg, gone_entry, &g);
    TT_EXPECT_EQ(g.send_ret, 1);
    TT_EXPECT_EQ(g.fires, 1);
    cr_expect(g.result > 0, "result %d", g.result);
    cr_expect(g.sent == -EPIPE || g.sent == -ECONNRESET, "sent %d", g.sent);
    TT_EXPECT_EQ(g.other_ret, 1);
    close(g.other[0]);
    close(g.other[1]);
    sstate_fini(&g.s);
}

/* Misuse: a closed stream, another runtime's stream, waiting outside a
 * task. */
static void misuse_entry(void *arg)
{
    struct sstate *s = arg;
    s->ret[0] = tardy_stream_send(&s->st, "a", 1); /* not open */
    s->ret[1] = tardy_stream_sent(&s->st, false);
    TT_CHECK_EQ(tardy_stream_open(&s->st, s->sv[0]), 0);
    s->ret[2] = tardy_stream_sent(&s->st, true); /* nothing sent: nothing to wait for */
    TT_CHECK_EQ(tardy_stream_close(&s->st), 0);
}

Test(stream_send, misuse_gets_its_errors)
{
    struct sstate s;
    sstate_init(&s);
    tardy_config cfg = {.threads = 1};
    TT_RUN(&cfg, misuse_entry, &s);
    TT_EXPECT_EQ(s.ret[0], -EBADF);
    TT_EXPECT_EQ(s.ret[1], -EBADF);
    TT_EXPECT_EQ(s.ret[2], 0);
    TT_EXPECT_EQ(tardy_stream_send(&s.st, "a", 1), -EBADF); /* closed, outside */
    sstate_fini(&s);
}

/* ---- the records' limit ------------------------------------------------------ */

struct many {
    int sv[4][2];
    tardy_stream st[4];
    int ret[4];
    int closed[4];
};

static void many_entry(void *arg)
{
    struct many *m = arg;
    for (int i = 0; i < 4; i++) {
        TT_CHECK_EQ(tardy_stream_open(&m->st[i], m->sv[i][0]), 0);
        m->ret[i] = tardy_stream_send(&m->st[i], big_buf, BIG);
    }
    for (int i = 0; i < 4; i++)
        m->closed[i] = tardy_stream_close(&m->st[i]);
}

/* max_tasks records per runtime: with 3, the fourth send in flight at
 * once is refused (-ENOBUFS) and nothing of it is sent; a closed
 * stream's record is free again. */
Test(stream_send, sends_in_flight_at_the_limit_and_past_it)
{
    static struct many m;
    memset(&m, 0, sizeof m);
    big_fill();
    for (int i = 0; i < 4; i++) {
        tt_socketpair(m.sv[i]);
        small_buffers(m.sv[i][0]);
        small_buffers(m.sv[i][1]);
    }
    tardy_config cfg = {.threads = 1, .max_tasks = 3};
    TT_RUN(&cfg, many_entry, &m);
    TT_EXPECT_EQ(m.ret[0], 1);
    TT_EXPECT_EQ(m.ret[1], 1);
    TT_EXPECT_EQ(m.ret[2], 1);
    TT_EXPECT_EQ(m.ret[3], -ENOBUFS);
    TT_EXPECT_EQ(peek(m.sv[3][1]), -EAGAIN);
    for (int i = 0; i < 4; i++) {
        TT_EXPECT_EQ(m.closed[i], 0);
        close(m.sv[i][0]);
        close(m.sv[i][1]);
    }
}
