/* Receive streams and the runtime's receive-ahead buffers: few of them,
 * shared, given back, and what happens when they run out. */
#include "common.h"
#include "stream_common.h"

TestSuite(stream, .timeout = 60);

/* ---- buffers: few of them, given back ------------------------------------- */

/* With the only buffer held by stream A's unread byte, stream B on a quiet
 * socket must wait for readiness, not wake for want of a buffer; its bytes
 * then wake it and are read from the socket; A's byte is still there. */
struct quiet {
    int a[2], b[2];
    tardy_stream sa, sb;
    volatile int a_fires, b_fires;
    int b_fires_early;
    int a_result, b_result;
    ssize_t a_peek, b_peek;
    ssize_t a_read, b_read, b_more;
    char a_got[8], b_got[8];
    int close_ret[2];
};

static void quiet_a(void *arg)
{
    struct quiet *q = arg;
    q->a_result = tardy_stream_result(&q->sa);
    q->a_fires++; /* leaves its byte unread: the stream keeps the buffer */
}

static void quiet_b(void *arg)
{
    struct quiet *q = arg;
    q->b_result = tardy_stream_result(&q->sb);
    q->b_fires++;
    receives_ahead();
    q->a_peek = peek(q->a[0]);
    q->b_peek = peek(q->b[0]);
    q->b_read = tardy_stream_read(&q->sb, q->b_got, sizeof q->b_got);
    q->a_read = tardy_stream_read(&q->sa, q->a_got, sizeof q->a_got);
    q->close_ret[0] = tardy_stream_close(&q->sa);
    /* With A closed, B goes on reading. */
    TT_CHECK_EQ(send(q->b[1], "more", 4, 0), 4);
    q->b_more = tardy_stream_read(&q->sb, q->b_got + 3, sizeof q->b_got - 3);
    q->close_ret[1] = tardy_stream_close(&q->sb);
}

static void quiet_entry(void *arg)
{
    struct quiet *q = arg;
    TT_CHECK_EQ(tardy_stream_open(&q->sa, q->a[0]), 0);
    TT_CHECK_EQ(tardy_stream_open(&q->sb, q->b[0]), 0);
    TT_CHECK_EQ(send(q->a[1], "A", 1, 0), 1);
    TT_CHECK_EQ(tardy_stream_wait(&q->sa, 0, quiet_a, q), 0);
    until_at_least(&q->a_fires, 1);
    TT_CHECK_EQ(tardy_stream_wait(&q->sb, tardy_now() + 3000 * TT_MS, quiet_b, q), 0);
    TT_CHECK_EQ(tardy_sleep(20 * TT_MS), 0);
    q->b_fires_early = q->b_fires;
    TT_CHECK_EQ(send(q->b[1], "bee", 3, 0), 3);
}

Test(stream, a_stream_without_a_buffer_waits_for_readiness)
{
    struct quiet q = {0};
    tt_socketpair(q.a);
    tt_socketpair(q.b);
    tardy_config cfg = {.threads = 1, .recv_buffers = 1};
    TT_RUN(&cfg, quiet_entry, &q);
    TT_EXPECT_EQ(q.b_fires_early, 0); /* no spurious wake-up */
    TT_EXPECT_EQ(q.a_fires, 1);
    TT_EXPECT_EQ(q.b_fires, 1);
    cr_expect(q.a_result > 0 && q.b_result > 0, "results %d %d", q.a_result, q.b_result);
    /* io_uring: A's byte is in the one buffer, B's wait fell back to
     * readiness and its bytes are still in the socket. */
    TT_EXPECT_EQ(q.a_peek, ahead ? -EAGAIN : 1);
    TT_EXPECT_EQ(q.b_peek, 1);
    TT_EXPECT_EQ(q.b_read, 3);
    TT_EXPECT_EQ(q.a_read, 1);
    TT_EXPECT_EQ(q.b_more, 4);
    cr_expect(q.a_got[0] == 'A', "A got %c", q.a_got[0]);
    cr_expect(memcmp(q.b_got, "beemore", 7) == 0, "B got %.7s", q.b_got);
    TT_EXPECT_EQ(q.close_ret[0], 0);
    TT_EXPECT_EQ(q.close_ret[1], 0);
    close(q.a[0]);
    close(q.a[1]);
    close(q.b[0]);
    close(q.b[1]);
}

/* One buffer, three sockets ready at once: one stream gets it, the others
 * fall back to readiness, and each reads its own bytes. */
struct dry {
    int sv[3][2];
    tardy_stream st[3];
    char got[3][8];
    ssize_t took[3];
    int close_ret[3];
};

static struct dry *dry_state;

static void dry_fire(void *arg)
{
    size_t i = (size_t)(uintptr_t)arg;
    struct dry *d = dry_state;
    d->took[i] = tardy_stream_read(&d->st[i], d->got[i], sizeof d->got[i]);
    d->close_ret[i] = tardy_stream_close(&d->st[i]);
}

static void dry_entry(void *arg)
{
    struct dry *d = arg;
    for (size_t i = 0; i < 3; i++) {
        char msg[4] = {'s', 'o', 'c', (char)('0' + i)};
        TT_CHECK_EQ(send(d->sv[i][1], msg, 4, 0), 4);
    }
    for (size_t i = 0; i < 3; i++) {
        TT_CHECK_EQ(tardy_stream_open(&d->st[i], d->sv[i][0]), 0);
        TT_CHECK_EQ(tardy_stream_wait(&d->st[i], 0, dry_fire, (void *)(uintptr_t)i), 0);
    }
}

Test(stream, three_streams_one_buffer_each_gets_its_bytes)
{
    struct dry d = {0};
    dry_state = &d;
    for (size_t i = 0; i < 3; i++)
        tt_socketpair(d.sv[i]);
    tardy_config cfg = {.threads = 1, .recv_buffers = 1};
    TT_RUN(&cfg, dry_entry, &d);
    for (size_t i = 0; i < 3; i++) {
        TT_EXPECT_EQ(d.took[i], 4);
        char want[4] = {'s', 'o', 'c', (char)('0' + i)};
        cr_expect(memcmp(d.got[i], want, 4) == 0, "socket %zu got %.4s", i, d.got[i]);
        TT_EXPECT_EQ(d.close_ret[i], 0);
        close(d.sv[i][0]);
        close(d.sv[i][1]);
    }
}

/* Two buffers and 64 streams, one after another on one socket, each
 * closed with a byte unread: if close kept a buffer, the ring would run
 * dry and bytes would stop arriving ahead. */
#define CYCLE_ROUNDS 64
struct cycle {
    int sv[2];
    tardy_stream st;
    int round;
    int not_ahead;
    int bad_bytes;
    int left_in_socket;
    int close_fail;
};

static void cycle_fire(void *arg)
{
    struct cycle *c = arg;
    if (receives_ahead() && peek(c->sv[0]) != -EAGAIN)
        c->not_ahead++;
    char b[2];
    ssize_t n = tardy_stream_take(&c->st, b, 1); /* one of two bytes */
    if (n != 1 || b[0] != (char)('a' + c->round % 26))
        c->bad_bytes++;
    if (tardy_stream_close(&c->st) != 0)
        c->close_fail++;
    /* The unread byte: dropped with the stream on io_uring, still in the
     * socket elsewhere. */
    if (peek(c->sv[0]) == 1) {
        c->left_in_socket++;
        TT_CHECK_EQ(recv(c->sv[0], b, 1, 0), 1);
        TT_CHECK_EQ(b[0], 'x');
    }
    if (++c->round < CYCLE_ROUNDS) {
        char m[2] = {(char)('a' + c->round % 26), 'x'};
        TT_CHECK_EQ(send(c->sv[1], m, 2, 0), 2);
        TT_CHECK_EQ(tardy_stream_open(&c->st, c->sv[0]), 0);
        TT_CHECK_EQ(tardy_stream_wait(&c->st, 0, cycle_fire, c), 0);
    }
}

static void cycle_entry(void *arg)
{
    struct cycle *c = arg;
    TT_CHECK_EQ(send(c->sv[1], "ax", 2, 0), 2);
    TT_CHECK_EQ(tardy_stream_open(&c->st, c->sv[0]), 0);
    TT_CHECK_EQ(tardy_stream_wait(&c->st, 0, cycle_fire, c), 0);
}

Test(stream, close_gives_the_buffers_back)
{
    struct cycle c = {0};
    tt_socketpair(c.sv);
    tardy_config cfg = {.threads = 1, .recv_buffers = 2};
    TT_RUN(&cfg, cycle_entry, &c);
    TT_EXPECT_EQ(c.round, CYCLE_ROUNDS);
    TT_EXPECT_EQ(c.not_ahead, 0);
    TT_EXPECT_EQ(c.bad_bytes, 0);
    TT_EXPECT_EQ(c.close_fail, 0);
    TT_EXPECT_EQ(c.left_in_socket, ahead ? 0 : CYCLE_ROUNDS);
    close(c.sv[0]);
    close(c.sv[1]);
}

/* The same when the receive has ended before the close (the peer sent two
 * bytes and shut down): the byte left unread still goes back. Each round
 * on a new socket pair; a peek that finds the byte still in the socket
 * means it was not received ahead: the ring had run dry. */
struct ecycle {
    int sv[2];
    tardy_stream st;
    int round;
    int not_ahead;
    int bad_bytes;
    int close_fail;
};

static void ecycle_start(struct ecycle *c)
{
    TT_CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, c->sv), 0);
    char m[2] = {(char)('a' + c->round % 26), 'x'};
    TT_CHECK_EQ(send(c->sv[1], m, 2, 0), 2);
    TT_CHECK_EQ(shutdown(c->sv[1], SHUT_WR), 0);
    TT_CHECK_EQ(tardy_stream_open(&c->st, c->sv[0]), 0);
}

static void ecycle_fire(void *arg)
{
    struct ecycle *c = arg;
    /* Let the end of the stream arrive too: the receive is over. */
    TT_CHECK_EQ(tardy_sleep(TT_MS), 0);
    if (receives_ahead() && peek(c->sv[0]) != 0)
        c->not_ahead++;
    char b[2];
    ssize_t n = tardy_stream_take(&c->st, b, 1);
    if (n != 1 || b[0] != (char)('a' + c->round % 26))
        c->bad_bytes++;
    if (tardy_stream_close(&c->st) != 0)
        c->close_fail++;
    /* Through the runtime: epoll must forget the descriptors. */
    TT_CHECK_EQ(tardy_close(c->sv[0]), 0);
    TT_CHECK_EQ(tardy_close(c->sv[1]), 0);
    if (++c->round < CYCLE_ROUNDS) {
        ecycle_start(c);
        TT_CHECK_EQ(tardy_stream_wait(&c->st, 0, ecycle_fire, c), 0);
    }
}

static void ecycle_entry(void *arg)
{
    struct ecycle *c = arg;
    ecycle_start(c);
    TT_CHECK_EQ(tardy_stream_wait(&c->st, 0, ecycle_fire, c), 0);
}

Test(stream, close_after_the_end_gives_the_buffers_back)
{
    struct ecycle c = {0};
    tardy_config cfg = {.threads = 1, .recv_buffers = 2};
    TT_RUN(&cfg, ecycle_entry, &c);
    TT_EXPECT_EQ(c.round, CYCLE_ROUNDS);
    TT_EXPECT_EQ(c.not_ahead, 0);
    TT_EXPECT_EQ(c.bad_bytes, 0);
    TT_EXPECT_EQ(c.close_fail, 0);
}

/* A long stream through two small buffers, read by a fn that takes a
 * little at a time and waits again (a server's way), while a writer
 * sends in uneven pieces: every byte arrives, once, in order, whether it
 * came ahead, after the buffers ran out, or from the socket. */
#define FLOW_BYTES (96 * 1024)
struct flow {
    int sv[2];
    tardy_stream st;
    unsigned char *got;
    size_t got_len;
    int fires;
    int bad_results;
    bool ended;
    int close_ret;
};

static unsigned char flow_byte(size_t i)
{
    return (unsigned char)((i * 7 + i / 251) % 253);
}

static void flow_fire(void *arg)
{
    struct flow *f = arg;
    f->fires++;
    if (tardy_stream_result(&f->st) <= 0) {
        f->bad_results++; /* stalled: stop here */
        f->close_ret = tardy_stream_close(&f->st);
        return;
    }
    /* Take what is there, in small pieces, but at most 1000 bytes, so
     * that bytes are left over for the next wait. */
    for (size_t taken = 0; taken < 1000;) {
        size_t want = 37 + (size_t)f->fires % 300;
        if (want > FLOW_BYTES + 1 - f->got_len)
            want = FLOW_BYTES + 1 - f->got_len;
        ssize_t n = tardy_stream_take(&f->st, f->got + f->got_len, want);
        if (n == -EAGAIN)
            break;
        if (n == 0) {
            f->ended = true;
            f->close_ret = tardy_stream_close(&f->st);
            return;
        }
        TT_CHECK(n > 0);
        if (n <= 0)
            return;
        f->got_len += (size_t)n;
        taken += (size_t)n;
    }
    if (f->fires % 3 == 0)
        TT_CHECK_EQ(tardy_yield(), 0);
    TT_CHECK_EQ(tardy_stream_wait(&f->st, tardy_now() + 5000 * TT_MS, flow_fire, f), 0);
}

static void flow_writer(void *arg)
{
    struct flow *f = arg;
    unsigned char buf[3000];
    size_t sent = 0;
    for (size_t k = 0; sent < FLOW_BYTES; k++) {
        size_t len = 1 + (k * 389) % sizeof buf;
        if (len > FLOW_BYTES - sent)
            len = FLOW_BYTES - sent;
        for (size_t i = 0; i < len; i++)
            buf[i] = flow_byte(sent + i);
        ssize_t n = tardy_send(f->sv[1], buf, len, 0);
        TT_CHECK(n > 0);
        if (n <= 0)
            return;
        sent += (size_t)n;
        if (k % 4 == 0)
            TT_CHECK_EQ(tardy_sleep(TT_MS / 4), 0);
    }
    TT_CHECK_EQ(shutdown(f->sv[1], SHUT_WR), 0);
}

static void flow_entry(void *arg)
{
    struct flow *f = arg;
    TT_CHECK_EQ(tardy_stream_open(&f->st, f->sv[0]), 0);
    TT_CHECK_EQ(tardy_stream_wait(&f->st, tardy_now() + 5000 * TT_MS, flow_fire, f), 0);
    TT_CHECK_EQ(tardy_spawn(flow_writer, f, NULL), 0);
}

static void flow_run(const tardy_config *cfg)
{
    struct flow f = {0};
    f.got = malloc(FLOW_BYTES + 1);
    cr_assert(f.got);
    tt_socketpair(f.sv);
    TT_RUN(cfg, flow_entry, &f);
    cr_expect(f.ended, "no end of stream after %zu bytes", f.got_len);
    TT_EXPECT_EQ(f.bad_results, 0);
    TT_EXPECT_EQ(f.got_len, FLOW_BYTES);
    size_t first_bad = SIZE_MAX;
    for (size_t i = 0; i < f.got_len && i < FLOW_BYTES; i++) {
        if (f.got[i] != flow_byte(i)) {
            first_bad = i;
            break;
        }
    }
    cr_expect(first_bad == SIZE_MAX, "byte %zu differs", first_bad);
    TT_EXPECT_EQ(f.close_ret, 0);
    free(f.got);
    close(f.sv[0]);
    close(f.sv[1]);
}

Test(stream, a_long_stream_through_two_small_buffers_arrives_whole)
{
    tardy_config cfg = {.threads = 1, .recv_buffers = 2, .recv_buffer_size = 256};
    flow_run(&cfg);
}

Test(stream, a_long_stream_with_the_default_buffers_arrives_whole)
{
    tardy_config cfg = {.threads = 1};
    flow_run(&cfg);
}

/* recv_buffers = UINT_MAX: no receive-ahead anywhere, the bytes stay in
 * the socket until read, and the stream works all the same. */
static void none_fire(void *arg)
{
    struct sstate *s = arg;
    s->fires++;
    s->result[0] = tardy_stream_result(&s->st);
    s->peeked[0] = peek(s->sv[0]);
    s->ret[0] = tardy_stream_take(&s->st, s->got, 2);
    s->ret[1] = tardy_stream_read(&s->st, s->got + 2, sizeof s->got - 2);
    s->ret[2] = tardy_stream_take(&s->st, s->got, sizeof s->got);
    TT_CHECK_EQ(shutdown(s->sv[1], SHUT_WR), 0);
    s->ret[3] = tardy_stream_read(&s->st, s->got + 5, sizeof s->got - 5);
    s->close_ret = tardy_stream_close(&s->st);
}

static void none_entry(void *arg)
{
    struct sstate *s = arg;
    TT_CHECK_EQ(send(s->sv[1], "hello", 5, 0), 5);
    TT_CHECK_EQ(tardy_stream_open(&s->st, s->sv[0]), 0);
    TT_CHECK_EQ(tardy_stream_wait(&s->st, 0, none_fire, s), 0);
}

Test(stream, recv_buffers_uint_max_turns_receive_ahead_off)
{
    struct sstate s;
    sstate_init(&s);
    tardy_config cfg = {.threads = 1, .recv_buffers = UINT_MAX};
    TT_RUN(&cfg, none_entry, &s);
    TT_EXPECT_EQ(s.fires, 1);
    cr_expect(s.result[0] > 0, "result %d", s.result[0]);
    TT_EXPECT_EQ(s.peeked[0], 1); /* every driver: still in the socket */
    TT_EXPECT_EQ(s.ret[0], 2);
    TT_EXPECT_EQ(s.ret[1], 3);
    TT_EXPECT_EQ(s.ret[2], -EAGAIN);
    TT_EXPECT_EQ(s.ret[3], 0);
    cr_expect(memcmp(s.got, "hello", 5) == 0, "got %.5s", s.got);
    TT_EXPECT_EQ(s.close_ret, 0);
    sstate_fini(&s);
}

static void limit_entry(void *arg)
{
    struct sstate *s = arg;
    TT_CHECK_EQ(send(s->sv[1], "hello", 5, 0), 5);
    TT_CHECK_EQ(tardy_stream_open(&s->st, s->sv[0]), 0);
    s->ret[0] = tardy_stream_read(&s->st, s->got, sizeof s->got);
    s->close_ret = tardy_stream_close(&s->st);
}

Test(stream, recv_buffer_limits)
{
    struct sstate s;
    sstate_init(&s);
    tardy_config cfg = {.threads = 1, .recv_buffer_size = 65536, .recv_buffers = 32768};
    TT_RUN(&cfg, limit_entry, &s); /* at the limits: runs */
    TT_EXPECT_EQ(s.ret[0], 5);
    TT_EXPECT_EQ(s.close_ret, 0);
    sstate_fini(&s);
    cfg.recv_buffer_size = 65537;
    cr_expect_eq(tardy_run(&cfg, never, NULL), -EINVAL);
    cfg.recv_buffer_size = 0;
    cfg.recv_buffers = 32769;
    cr_expect_eq(tardy_run(&cfg, never, NULL), -EINVAL);
}

/* A buffer count that is not a power of two (io_uring's ring is rounded
 * up, but holds only the buffers asked for): all of them hold unread
 * bytes at once, the receive then runs out, and the rest is read from
 * the socket, in order. */
static void odd_fire(void *arg)
{
    struct sstate *s = arg;
    receives_ahead();
    s->fires++;
    TT_CHECK_EQ(tardy_sleep(5 * TT_MS), 0); /* let every piece arrive */
    s->ret[0] = tardy_stream_read(&s->st, s->got, sizeof s->got);
    s->ret[1] = s->ret[0] > 0 ? tardy_stream_take(&s->st, s->got + s->ret[0], sizeof s->got - (size_t)s->ret[0]) : 0;
    s->ret[2] = tardy_stream_take(&s->st, s->got, sizeof s->got);
    s->close_ret = tardy_stream_close(&s->st);
}

static void odd_entry(void *arg)
{
    struct sstate *s = arg;
    TT_CHECK_EQ(send(s->sv[1], "0123456789abcdefghijklmnopqrstuv", 32, 0), 32);
    TT_CHECK_EQ(tardy_stream_open(&s->st, s->sv[0]), 0);
    TT_CHECK_EQ(tardy_stream_wait(&s->st, 0, odd_fire, s), 0);
}

Test(stream, a_buffer_count_that_is_not_a_power_of_two)
{
    struct sstate s;
    sstate_init(&s);
    /* Three buffers of 8: 24 bytes come ahead on io_uring, 8 stay. */
    tardy_config cfg = {.threads = 1, .recv_buffers = 3, .recv_buffer_size = 8};
    TT_RUN(&cfg, odd_entry, &s);
    TT_EXPECT_EQ(s.fires, 1);
    if (ahead) {
        TT_EXPECT_EQ(s.ret[0], 24);
        TT_EXPECT_EQ(s.ret[1], 8);
    } else {
        TT_EXPECT_EQ(s.ret[0], 32); /* one read from the socket */
        TT_EXPECT_EQ(s.ret[1], -EAGAIN);
    }
    TT_EXPECT_EQ(s.ret[2], -EAGAIN);
    cr_expect(memcmp(s.got, "0123456789abcdefghijklmnopqrstuv", 32) == 0, "got %.32s", s.got);
    TT_EXPECT_EQ(s.close_ret, 0);
    sstate_fini(&s);
}

/* ---- epoll: received in the poll, a few buffers per socket ---------------- */

/* Bytes received ahead came in before the turn that serves them: taking
 * them moves no tardy_io_epoch, and the fns of two streams whose bytes
 * arrived together run under one epoch (so a check one of them makes,
 * such as zzz's stat of a cached file, holds for the other). Where bytes
 * are not received ahead (busy), the take receives them and the epoch
 * moves. */
struct epochs {
    int a[2], b[2];
    tardy_stream sa, sb;
    volatile int fires;
    uint64_t before[2], after[2];
    ssize_t took[2];
    char got[2][8];
};

static void epochs_fire(struct epochs *e, int i, tardy_stream *st)
{
    e->before[i] = tardy_io_epoch();
    e->took[i] = tardy_stream_take(st, e->got[i], sizeof e->got[i]);
    e->after[i] = tardy_io_epoch();
    TT_CHECK_EQ(tardy_stream_close(st), 0);
    e->fires++;
}

static void epochs_a(void *arg)
{
    struct epochs *e = arg;
    epochs_fire(e, 0, &e->sa);
}

static void epochs_b(void *arg)
{
    struct epochs *e = arg;
    epochs_fire(e, 1, &e->sb);
}

static void epochs_entry(void *arg)
{
    struct epochs *e = arg;
    receives_ahead();
    TT_CHECK_EQ(tardy_stream_open(&e->sa, e->a[0]), 0);
    TT_CHECK_EQ(tardy_stream_open(&e->sb, e->b[0]), 0);
    TT_CHECK_EQ(send(e->a[1], "first", 5, 0), 5);
    TT_CHECK_EQ(send(e->b[1], "second", 6, 0), 6);
    TT_CHECK_EQ(tardy_stream_wait(&e->sa, 0, epochs_a, e), 0);
    TT_CHECK_EQ(tardy_stream_wait(&e->sb, 0, epochs_b, e), 0);
}

Test(stream, bytes_received_ahead_leave_the_io_epoch_alone)
{
    struct epochs e = {0};
    tt_socketpair(e.a);
    tt_socketpair(e.b);
    tardy_config cfg = {.threads = 1};
    TT_RUN(&cfg, epochs_entry, &e);
    TT_EXPECT_EQ(e.fires, 2);
    TT_EXPECT_EQ(e.took[0], 5);
    TT_EXPECT_EQ(e.took[1], 6);
    cr_expect(memcmp(e.got[0], "first", 5) == 0 && memcmp(e.got[1], "second", 6) == 0);
    if (ahead) {
        TT_EXPECT_EQ(e.after[0], e.before[0]);
        TT_EXPECT_EQ(e.after[1], e.before[1]);
        TT_EXPECT_EQ(e.before[1], e.before[0]);
    } else {
        cr_expect_gt(e.after[0], e.before[0]);
        cr_expect_gt(e.after[1], e.before[1]);
    }
    for (int i = 0; i < 2; i++) {
        close(e.a[i]);
        close(e.b[i]);
    }
}

/* epoll receives at most four buffers ahead for one socket (a slow reader
 * of a large upload does not take every buffer): at the limit the socket
 * is left empty, past it the rest stays there until the stream reads it
 * itself; either way every byte arrives, in order. io_uring's kernel
 * receive has no such share. */
struct share {
    int sv[2];
    tardy_stream st;
    size_t sent;
    volatile int fires;
    ssize_t peeked;
    size_t got_len;
    char got[32];
    int close_ret;
};

static void share_fire(void *arg)
{
    struct share *s = arg;
    TT_CHECK_EQ(tardy_sleep(5 * TT_MS), 0); /* a poll or two more */
    s->peeked = peek(s->sv[0]);
    while (s->got_len < s->sent) {
        ssize_t n = tardy_stream_read(&s->st, s->got + s->got_len, sizeof s->got - s->got_len);
        TT_CHECK(n > 0);
        if (n <= 0)
            break;
        s->got_len += (size_t)n;
    }
    s->close_ret = tardy_stream_close(&s->st);
    s->fires++;
}

static void share_entry(void *arg)
{
    struct share *s = arg;
    TT_CHECK_EQ(tardy_stream_open(&s->st, s->sv[0]), 0);
    TT_CHECK_EQ(send(s->sv[1], "0123456789abcdefghijklmnopqrstuv", s->sent, 0), (ssize_t)s->sent);
    TT_CHECK_EQ(tardy_stream_wait(&s->st, 0, share_fire, s), 0);
}

static void share_run(size_t sent)
{
    struct share s = {.sent = sent};
    tt_socketpair(s.sv);
    tardy_config cfg = {.threads = 1, .recv_buffer_size = 4};
    TT_RUN(&cfg, share_entry, &s);
    TT_EXPECT_EQ(s.fires, 1);
    if (strcmp(getenv("TARDY_DRIVER") ? getenv("TARDY_DRIVER") : "", "epoll") == 0)
        TT_EXPECT_EQ(s.peeked, sent > 16 ? 1 : -EAGAIN);
    TT_EXPECT_EQ(s.got_len, sent);
    cr_expect(memcmp(s.got, "0123456789abcdefghijklmnopqrstuv", sent) == 0, "got %.*s", (int)sent,
              s.got);
    TT_EXPECT_EQ(s.close_ret, 0);
    close(s.sv[0]);
    close(s.sv[1]);
}

Test(stream, epoll_holds_four_buffers_ahead_per_socket_at_the_limit)
{
    share_run(16);
}

Test(stream, epoll_holds_four_buffers_ahead_per_socket_past_the_limit)
{
    share_run(20);
}

/* A message socket (SEQPACKET): a read gives one message, so a short one
 * does not mean the socket is empty. Both messages reach the stream, in
 * order, though no third arrives to announce the second. */
struct messages {
    int sv[2];
    tardy_stream st;
    volatile int fires;
    size_t got_len;
    char got[16];
    ssize_t last;
};

static void messages_fire(void *arg)
{
    struct messages *m = arg;
    tardy_deadline_after(2000 * TT_MS);
    while (m->got_len < 6) {
        m->last = tardy_stream_read(&m->st, m->got + m->got_len, sizeof m->got - m->got_len);
        if (m->last <= 0)
            break;
        m->got_len += (size_t)m->last;
    }
    tardy_deadline_clear();
    TT_CHECK_EQ(tardy_stream_close(&m->st), 0);
    m->fires++;
}

static void messages_entry(void *arg)
{
    struct messages *m = arg;
    TT_CHECK_EQ(tardy_stream_open(&m->st, m->sv[0]), 0);
    TT_CHECK_EQ(send(m->sv[1], "one", 3, 0), 3);
    TT_CHECK_EQ(send(m->sv[1], "two", 3, 0), 3);
    TT_CHECK_EQ(tardy_stream_wait(&m->st, 0, messages_fire, m), 0);
}

Test(stream, every_message_of_a_seqpacket_socket_arrives)
{
    struct messages m = {0};
    TT_CHECK_EQ(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, m.sv), 0);
    tardy_config cfg = {.threads = 1};
    TT_RUN(&cfg, messages_entry, &m);
    TT_EXPECT_EQ(m.fires, 1);
    TT_EXPECT_EQ(m.got_len, 6);
    cr_expect(memcmp(m.got, "onetwo", 6) == 0, "got %.6s (last %zd)", m.got, m.last);
    close(m.sv[0]);
    close(m.sv[1]);
}
