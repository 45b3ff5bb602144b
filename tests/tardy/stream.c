/* Receive streams (tardy_stream): the bytes of a socket, in order, across
 * takes, reads and waits that hold no task; on io_uring received ahead
 * into the runtime's buffers, elsewhere read from the socket. This file:
 * order, the end of the stream, deadlines and cancels. */
#include "common.h"
#include "stream_common.h"

TestSuite(stream, .timeout = 60);

/* ---- bytes, in order ------------------------------------------------------ */

static void order_fire(void *arg)
{
    struct sstate *s = arg;
    int k = s->fires++;
    s->result[k] = tardy_stream_result(&s->st);
    if (k == 0) {
        s->fresh_task = tardy_self().id != s->starter.id;
        collect(s, tardy_stream_take(&s->st, s->got, sizeof s->got));
        /* More bytes while this task runs, then a read that has to find
         * them: on io_uring they are already out of the socket. */
        TT_CHECK_EQ(send(s->sv[1], " world", 6, 0), 6);
        TT_CHECK_EQ(tardy_sleep(2 * TT_MS), 0);
        receives_ahead();
        s->peeked[0] = peek(s->sv[0]);
        s->ret[0] = tardy_stream_read(&s->st, s->got + s->got_len, sizeof s->got - s->got_len);
        collect(s, s->ret[0]);
        /* Nothing more yet: take says so, and the stream waits again. */
        s->ret[1] = tardy_stream_take(&s->st, s->got + s->got_len, 1);
        TT_CHECK_EQ(tardy_stream_wait(&s->st, 0, order_fire, s), 0);
        s->phase = 1;
        return;
    }
    collect(s, tardy_stream_take(&s->st, s->got + s->got_len, sizeof s->got - s->got_len));
    s->close_ret = tardy_stream_close(&s->st);
}

static void order_entry(void *arg)
{
    struct sstate *s = arg;
    s->starter = tardy_self();
    TT_CHECK_EQ(tardy_stream_open(&s->st, s->sv[0]), 0);
    TT_CHECK_EQ(tardy_stream_wait(&s->st, 0, order_fire, s), 0);
    s->busy_ret[0] = tardy_stream_wait(&s->st, 0, order_fire, s);
    TT_CHECK_EQ(tardy_sleep(5 * TT_MS), 0);
    TT_CHECK_EQ(s->fires, 0); /* nothing has arrived: no wake-up */
    TT_CHECK_EQ(send(s->sv[1], "hello", 5, 0), 5);
    until_at_least(&s->phase, 1);
    TT_CHECK_EQ(s->fires, 1);
    TT_CHECK_EQ(send(s->sv[1], "!", 1, 0), 1);
}

Test(stream, bytes_arrive_in_order_across_takes_reads_and_waits)
{
    struct sstate s;
    sstate_init(&s);
    tardy_config cfg = {.threads = 1};
    TT_RUN(&cfg, order_entry, &s);
    TT_EXPECT_EQ(s.fires, 2);
    TT_EXPECT_EQ(s.busy_ret[0], -EBUSY); /* a second wait while one is pending */
    cr_expect(s.result[0] > 0 && s.result[1] > 0, "results %d %d", s.result[0], s.result[1]);
    cr_expect(s.fresh_task, "fn ran in the task that started the wait");
    /* io_uring: the stream had taken " world" out of the socket already. */
    TT_EXPECT_EQ(s.peeked[0], ahead ? -EAGAIN : 1);
    TT_EXPECT_EQ(s.ret[0], 6);
    TT_EXPECT_EQ(s.ret[1], -EAGAIN);
    TT_EXPECT_EQ(s.got_len, 12);
    cr_expect(memcmp(s.got, "hello world!", 12) == 0, "got %.12s", s.got);
    TT_EXPECT_EQ(s.close_ret, 0);
    sstate_fini(&s);
}

/* Four-byte buffers: ten bytes take three of them on io_uring, and takes
 * of any size cross from one to the next. */
static void pieces_fire(void *arg)
{
    struct sstate *s = arg;
    s->fires++;
    /* Let every piece arrive before taking. */
    TT_CHECK_EQ(tardy_sleep(5 * TT_MS), 0);
    receives_ahead();
    s->peeked[0] = peek(s->sv[0]);
    s->ret[0] = tardy_stream_take(&s->st, s->got, 3);
    s->ret[1] = tardy_stream_take(&s->st, s->got + 3, 4);
    s->ret[2] = tardy_stream_take(&s->st, s->got, 0);
    s->ret[3] = tardy_stream_read(&s->st, s->got, 0);
    s->ret[4] = tardy_stream_take(&s->st, s->got + 7, sizeof s->got - 7);
    s->ret[5] = tardy_stream_take(&s->st, s->got, sizeof s->got);
    /* Ten more, read at once by one read. */
    TT_CHECK_EQ(send(s->sv[1], "abcdefghij", 10, 0), 10);
    TT_CHECK_EQ(tardy_sleep(5 * TT_MS), 0);
    s->ret[6] = tardy_stream_read(&s->st, s->got + 10, sizeof s->got - 10);
    s->close_ret = tardy_stream_close(&s->st);
}

static void pieces_entry(void *arg)
{
    struct sstate *s = arg;
    TT_CHECK_EQ(send(s->sv[1], "0123456789", 10, 0), 10);
    TT_CHECK_EQ(tardy_stream_open(&s->st, s->sv[0]), 0);
    TT_CHECK_EQ(tardy_stream_wait(&s->st, 0, pieces_fire, s), 0);
}

Test(stream, takes_in_pieces_cross_buffers)
{
    struct sstate s;
    sstate_init(&s);
    tardy_config cfg = {.threads = 1, .recv_buffer_size = 4};
    TT_RUN(&cfg, pieces_entry, &s);
    TT_EXPECT_EQ(s.fires, 1);
    TT_EXPECT_EQ(s.peeked[0], ahead ? -EAGAIN : 1);
    TT_EXPECT_EQ(s.ret[0], 3);
    TT_EXPECT_EQ(s.ret[1], 4);
    TT_EXPECT_EQ(s.ret[2], 0); /* len 0 */
    TT_EXPECT_EQ(s.ret[3], 0); /* len 0 */
    TT_EXPECT_EQ(s.ret[4], 3);
    TT_EXPECT_EQ(s.ret[5], -EAGAIN);
    TT_EXPECT_EQ(s.ret[6], 10);
    cr_expect(memcmp(s.got, "0123456789abcdefghij", 20) == 0, "got %.20s", s.got);
    TT_EXPECT_EQ(s.close_ret, 0);
    sstate_fini(&s);
}

/* Bytes left unread stay with the stream: a new wait's fn starts at once
 * (on io_uring the socket is empty by then: only the stream knows). Then
 * the end of the stream, which stays the end. */
static void again_fire(void *arg)
{
    struct sstate *s = arg;
    int k = s->fires++;
    s->result[k] = tardy_stream_result(&s->st);
    if (k == 0) {
        collect(s, tardy_stream_take(&s->st, s->got, 2));
        TT_CHECK_EQ(tardy_yield(), 0);
        s->t0 = tt_clock_ns();
        TT_CHECK_EQ(tardy_stream_wait(&s->st, tardy_now() + 2000 * TT_MS, again_fire, s), 0);
        return;
    }
    s->elapsed = tt_clock_ns() - s->t0;
    receives_ahead();
    s->peeked[0] = peek(s->sv[0]);
    s->ret[0] = tardy_stream_read(&s->st, s->got + s->got_len, sizeof s->got - s->got_len);
    collect(s, s->ret[0]);
    TT_CHECK_EQ(shutdown(s->sv[1], SHUT_WR), 0);
    s->ret[1] = tardy_stream_read(&s->st, s->got, sizeof s->got);
    s->ret[2] = tardy_stream_take(&s->st, s->got, sizeof s->got);
    s->ret[3] = tardy_stream_read(&s->st, s->got, sizeof s->got);
    s->close_ret = tardy_stream_close(&s->st);
}

static void again_entry(void *arg)
{
    struct sstate *s = arg;
    TT_CHECK_EQ(send(s->sv[1], "abcdef", 6, 0), 6);
    TT_CHECK_EQ(tardy_stream_open(&s->st, s->sv[0]), 0);
    TT_CHECK_EQ(tardy_stream_wait(&s->st, 0, again_fire, s), 0);
}

Test(stream, unread_bytes_make_the_next_wait_start_at_once)
{
    struct sstate s;
    sstate_init(&s);
    tardy_config cfg = {.threads = 1};
    TT_RUN(&cfg, again_entry, &s);
    TT_EXPECT_EQ(s.fires, 2);
    cr_expect(s.result[1] > 0, "second result %d", s.result[1]);
    cr_expect(s.elapsed < 1000 * TT_MS, "the second fn started after %llu ns",
              (unsigned long long)s.elapsed);
    TT_EXPECT_EQ(s.peeked[0], ahead ? -EAGAIN : 1);
    TT_EXPECT_EQ(s.ret[0], 4);
    TT_EXPECT_EQ(s.ret[1], 0);
    TT_EXPECT_EQ(s.ret[2], 0);
    TT_EXPECT_EQ(s.ret[3], 0);
    TT_EXPECT_EQ(s.got_len, 6);
    cr_expect(memcmp(s.got, "abcdef", 6) == 0, "got %.6s", s.got);
    TT_EXPECT_EQ(s.close_ret, 0);
    sstate_fini(&s);
}

/* The end of the stream alone wakes a wait. */
static void eof_fire(void *arg)
{
    struct sstate *s = arg;
    s->fires++;
    s->result[0] = tardy_stream_result(&s->st);
    s->ret[0] = tardy_stream_take(&s->st, s->got, sizeof s->got);
    s->ret[1] = tardy_stream_read(&s->st, s->got, sizeof s->got);
    s->close_ret = tardy_stream_close(&s->st);
}

static void eof_entry(void *arg)
{
    struct sstate *s = arg;
    TT_CHECK_EQ(tardy_stream_open(&s->st, s->sv[0]), 0);
    TT_CHECK_EQ(tardy_stream_wait(&s->st, tardy_now() + 2000 * TT_MS, eof_fire, s), 0);
    TT_CHECK_EQ(tardy_sleep(2 * TT_MS), 0);
    TT_CHECK_EQ(s->fires, 0);
    TT_CHECK_EQ(shutdown(s->sv[1], SHUT_WR), 0);
}

Test(stream, end_of_stream_wakes_a_wait)
{
    struct sstate s;
    sstate_init(&s);
    tardy_config cfg = {.threads = 1};
    TT_RUN(&cfg, eof_entry, &s);
    TT_EXPECT_EQ(s.fires, 1);
    cr_expect(s.result[0] > 0, "result %d", s.result[0]);
    TT_EXPECT_EQ(s.ret[0], 0);
    TT_EXPECT_EQ(s.ret[1], 0);
    TT_EXPECT_EQ(s.close_ret, 0);
    sstate_fini(&s);
}

/* The last bytes and the end of the stream arrive together while the
 * stream waits (a client that sends its request and half-closes): both
 * come, the bytes first. */
static void halfclose_fire(void *arg)
{
    struct sstate *s = arg;
    s->fires++;
    s->result[0] = tardy_stream_result(&s->st);
    s->ret[0] = tardy_stream_read(&s->st, s->got, sizeof s->got);
    s->ret[1] = tardy_stream_read(&s->st, s->got + 3, sizeof s->got - 3);
    s->close_ret = tardy_stream_close(&s->st);
}

static void halfclose_entry(void *arg)
{
    struct sstate *s = arg;
    TT_CHECK_EQ(tardy_stream_open(&s->st, s->sv[0]), 0);
    TT_CHECK_EQ(tardy_stream_wait(&s->st, tardy_now() + 2000 * TT_MS, halfclose_fire, s), 0);
    TT_CHECK_EQ(tardy_sleep(2 * TT_MS), 0);
    TT_CHECK_EQ(send(s->sv[1], "xyz", 3, 0), 3);
    TT_CHECK_EQ(shutdown(s->sv[1], SHUT_WR), 0);
}

Test(stream, end_of_stream_with_the_last_bytes)
{
    struct sstate s;
    sstate_init(&s);
    tardy_config cfg = {.threads = 1};
    TT_RUN(&cfg, halfclose_entry, &s);
    TT_EXPECT_EQ(s.fires, 1);
    cr_expect(s.result[0] > 0, "result %d", s.result[0]);
    TT_EXPECT_EQ(s.ret[0], 3);
    TT_EXPECT_EQ(s.ret[1], 0);
    cr_expect(memcmp(s.got, "xyz", 3) == 0, "got %.3s", s.got);
    TT_EXPECT_EQ(s.close_ret, 0);
    sstate_fini(&s);
}

/* ---- a wait's deadline and cancel, a read's deadline and cancel ------------ */

static void deadline_fire(void *arg)
{
    struct sstate *s = arg;
    s->fires++;
    s->elapsed = tt_clock_ns() - s->t0;
    s->result[0] = tardy_stream_result(&s->st);
    /* The stream is still good: bytes sent now are read. */
    TT_CHECK_EQ(send(s->sv[1], "late", 4, 0), 4);
    s->ret[0] = tardy_stream_read(&s->st, s->got, sizeof s->got);
    s->close_ret = tardy_stream_close(&s->st);
}

static void deadline_entry(void *arg)
{
    struct sstate *s = arg;
    TT_CHECK_EQ(tardy_stream_open(&s->st, s->sv[0]), 0);
    /* tardy_now may lag the real clock by a turn: start from it, so that
     * the lower bound below holds. */
    s->t0 = tt_clock_ns();
    uint64_t now = tardy_now();
    TT_CHECK_EQ(tardy_stream_wait(&s->st, now + 40 * TT_MS, deadline_fire, s), 0);
    /* The entry ends here: the pending wait keeps the run alive. */
}

Test(stream, wait_deadline_gives_etimedout_and_the_stream_stays_usable)
{
    struct sstate s;
    sstate_init(&s);
    tardy_config cfg = {.threads = 1};
    TT_RUN(&cfg, deadline_entry, &s);
    TT_EXPECT_EQ(s.fires, 1);
    TT_EXPECT_EQ(s.result[0], -ETIMEDOUT);
    cr_expect(s.elapsed >= 35 * TT_MS, "fired after %llu ns", (unsigned long long)s.elapsed);
    TT_EXPECT_EQ(s.ret[0], 4);
    cr_expect(memcmp(s.got, "late", 4) == 0, "got %.4s", s.got);
    TT_EXPECT_EQ(s.close_ret, 0);
    sstate_fini(&s);
}

static void cancel_fire(void *arg)
{
    struct sstate *s = arg;
    s->result[s->fires] = tardy_stream_result(&s->st);
    s->fires++;
    /* Waits for the bytes the entry sends once this fn has started. */
    s->ret[0] = tardy_stream_read(&s->st, s->got, sizeof s->got);
    s->close_ret = tardy_stream_close(&s->st);
}

static void cancel_entry(void *arg)
{
    struct sstate *s = arg;
    s->busy_ret[0] = tardy_stream_cancel(&s->st); /* not open */
    TT_CHECK_EQ(tardy_stream_open(&s->st, s->sv[0]), 0);
    s->busy_ret[1] = tardy_stream_cancel(&s->st); /* open, no wait */
    TT_CHECK_EQ(tardy_stream_wait(&s->st, 0, cancel_fire, s), 0);
    TT_CHECK_EQ(tardy_sleep(5 * TT_MS), 0);
    TT_CHECK_EQ(s->fires, 0);
    s->busy_ret[2] = tardy_stream_close(&s->st); /* a wait is pending */
    TT_CHECK_EQ(tardy_stream_cancel(&s->st), 0);
    until_at_least(&s->fires, 1);
    s->busy_ret[3] = tardy_stream_cancel(&s->st); /* its fn has started */
    TT_CHECK_EQ(send(s->sv[1], "ok", 2, 0), 2);
}

Test(stream, wait_cancel_gives_ecanceled_and_close_refuses_a_pending_wait)
{
    struct sstate s;
    sstate_init(&s);
    tardy_config cfg = {.threads = 1};
    TT_RUN(&cfg, cancel_entry, &s);
    TT_EXPECT_EQ(s.fires, 1);
    TT_EXPECT_EQ(s.result[0], -ECANCELED);
    TT_EXPECT_EQ(s.busy_ret[0], -EALREADY);
    TT_EXPECT_EQ(s.busy_ret[1], -EALREADY);
    TT_EXPECT_EQ(s.busy_ret[2], -EBUSY);
    TT_EXPECT_EQ(s.busy_ret[3], -EALREADY);
    TT_EXPECT_EQ(s.ret[0], 2);
    cr_expect(memcmp(s.got, "ok", 2) == 0, "got %.2s", s.got);
    TT_EXPECT_EQ(s.close_ret, 0);
    sstate_fini(&s);
}

/* A read waits under the task's deadline and can be cancelled; either way
 * nothing is lost: bytes that come afterwards are read. */
static void read_canceller(void *arg)
{
    struct sstate *s = arg;
    TT_CHECK_EQ(tardy_sleep(5 * TT_MS), 0);
    TT_CHECK_EQ(tardy_cancel(s->starter), 0);
}

static void read_limits_entry(void *arg)
{
    struct sstate *s = arg;
    s->starter = tardy_self();
    TT_CHECK_EQ(tardy_stream_open(&s->st, s->sv[0]), 0);
    s->t0 = tt_clock_ns();
    tardy_deadline_set(tardy_now() + 20 * TT_MS);
    s->ret[0] = tardy_stream_read(&s->st, s->got, sizeof s->got);
    s->elapsed = tt_clock_ns() - s->t0;
    tardy_deadline_clear();
    tardy_task t;
    TT_CHECK_EQ(tardy_spawn(read_canceller, s, &t), 0);
    s->ret[1] = tardy_stream_read(&s->st, s->got, sizeof s->got);
    TT_CHECK_EQ(tardy_join(t), 0);
    TT_CHECK_EQ(send(s->sv[1], "after", 5, 0), 5);
    s->ret[2] = tardy_stream_read(&s->st, s->got, sizeof s->got);
    s->close_ret = tardy_stream_close(&s->st);
}

Test(stream, read_waits_under_the_task_deadline_and_cancel)
{
    struct sstate s;
    sstate_init(&s);
    tardy_config cfg = {.threads = 1};
    TT_RUN(&cfg, read_limits_entry, &s);
    TT_EXPECT_EQ(s.ret[0], -ETIMEDOUT);
    cr_expect(s.elapsed >= 15 * TT_MS, "read gave up after %llu ns", (unsigned long long)s.elapsed);
    TT_EXPECT_EQ(s.ret[1], -ECANCELED);
    TT_EXPECT_EQ(s.ret[2], 5);
    cr_expect(memcmp(s.got, "after", 5) == 0, "got %.5s", s.got);
    TT_EXPECT_EQ(s.close_ret, 0);
    sstate_fini(&s);
}

/* One reader at a time: a second task's read is refused while the first
 * waits, and its take finds nothing; the first gets the bytes. */
static void second_reader(void *arg)
{
    struct sstate *s = arg;
    /* Bounded, so that a read that waits instead of refusing ends. */
    tardy_deadline_set(tardy_now() + 200 * TT_MS);
    s->ret[1] = tardy_stream_read(&s->st, s->got + 64, 8);
    s->ret[2] = tardy_stream_take(&s->st, s->got + 64, 8);
    tardy_deadline_clear();
    TT_CHECK_EQ(send(s->sv[1], "zz", 2, 0), 2);
}

static void two_readers_entry(void *arg)
{
    struct sstate *s = arg;
    TT_CHECK_EQ(tardy_stream_open(&s->st, s->sv[0]), 0);
    tardy_task t;
    TT_CHECK_EQ(tardy_spawn(second_reader, s, &t), 0);
    tardy_deadline_set(tardy_now() + 2000 * TT_MS);
    s->ret[0] = tardy_stream_read(&s->st, s->got, 8);
    tardy_deadline_clear();
    TT_CHECK_EQ(tardy_join(t), 0);
    s->close_ret = tardy_stream_close(&s->st);
}

Test(stream, a_second_reader_is_ebusy)
{
    struct sstate s;
    sstate_init(&s);
    tardy_config cfg = {.threads = 1};
    TT_RUN(&cfg, two_readers_entry, &s);
    TT_EXPECT_EQ(s.ret[1], -EBUSY);
    TT_EXPECT_EQ(s.ret[2], -EAGAIN);
    TT_EXPECT_EQ(s.ret[0], 2);
    cr_expect(memcmp(s.got, "zz", 2) == 0, "got %.2s", s.got);
    TT_EXPECT_EQ(s.close_ret, 0);
    sstate_fini(&s);
}

/* A close while another task is parked in a read is refused: the reader
 * would be left waiting on a stream that no longer exists. Once the
 * reader has been cancelled, the close goes through. */
static void parked_reader(void *arg)
{
    struct sstate *s = arg;
    tardy_deadline_set(tardy_now() + 2000 * TT_MS); /* bounded if never woken */
    s->ret[0] = tardy_stream_read(&s->st, s->got, 8);
    tardy_deadline_clear();
}

static void close_under_reader_entry(void *arg)
{
    struct sstate *s = arg;
    TT_CHECK_EQ(tardy_stream_open(&s->st, s->sv[0]), 0);
    tardy_task t;
    TT_CHECK_EQ(tardy_spawn(parked_reader, s, &t), 0);
    TT_CHECK_EQ(tardy_sleep(5 * TT_MS), 0);
    s->ret[1] = tardy_stream_close(&s->st);
    TT_CHECK_EQ(tardy_cancel(t), 0);
    TT_CHECK_EQ(tardy_join(t), 0);
    s->close_ret = tardy_stream_close(&s->st);
    s->ret[2] = tardy_stream_take(&s->st, s->got, 8);
}

Test(stream, close_under_a_parked_reader_is_ebusy)
{
    struct sstate s;
    sstate_init(&s);
    tardy_config cfg = {.threads = 1};
    TT_RUN(&cfg, close_under_reader_entry, &s);
    TT_EXPECT_EQ(s.ret[1], -EBUSY);
    TT_EXPECT_EQ(s.ret[0], -ECANCELED);
    TT_EXPECT_EQ(s.close_ret, 0);
    TT_EXPECT_EQ(s.ret[2], -EBADF);
    sstate_fini(&s);
}
