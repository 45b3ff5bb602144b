/* Races between completion and interruption: deadlines and cancels that
 * land while data is arriving from another runtime. Whatever the timing, an
 * interrupted call either returns its real result or delivers nothing, so
 * the byte stream and the message sequence arrive whole and in order. */
#include "common.h"

TestSuite(races, .timeout = 120);

#define STREAM_BYTES (1u << 20)
#define CHAN_MESSAGES 100000u

/* A tiny xorshift for interruption delays: the tests only need variety. */
static uint32_t next_rand(uint32_t *s)
{
    uint32_t x = *s;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return *s = x;
}

struct stream {
    int sv[2];
    tardy_chan *handle;   /* consumer's handle, for the canceller */
    atomic_int consumer_done;
    size_t received;
    unsigned long bad;
    unsigned long interrupted;
    int use_cancel;
};

static void stream_producer(struct stream *s)
{
    static unsigned char out[STREAM_BYTES];
    for (size_t i = 0; i < STREAM_BYTES; i++)
        out[i] = (unsigned char)(i * 7 + (i >> 8));
    size_t off = 0;
    uint32_t seed = 12345;
    while (off < STREAM_BYTES) {
        size_t len = 1 + next_rand(&seed) % 3000;
        if (len > STREAM_BYTES - off)
            len = STREAM_BYTES - off;
        ssize_t n = tardy_send(s->sv[1], out + off, len, 0);
        if (n == -ECANCELED || n == -ETIMEDOUT)
            continue;
        if (n <= 0) {
            TT_CHECK(n > 0);
            return;
        }
        off += (size_t)n;
        if (next_rand(&seed) % 4 == 0)
            TT_CHECK_EQ(tardy_yield(), 0);
    }
}

static void stream_producer_task(void *arg)
{
    stream_producer(arg);
}

static void stream_consumer(struct stream *s)
{
    static unsigned char buf[4096];
    uint32_t seed = 777;
    tardy_task me = tardy_self();
    TT_CHECK_EQ(tardy_chan_send(s->handle, &me), 0);
    while (s->received < STREAM_BYTES) {
        if (!s->use_cancel)
            tardy_deadline_after(1000 + next_rand(&seed) % 100000);
        ssize_t n = tardy_recv(s->sv[0], buf, sizeof buf, 0);
        tardy_deadline_clear();
        if (n == -ETIMEDOUT || n == -ECANCELED) {
            s->interrupted++;
            continue;
        }
        if (n <= 0) {
            TT_CHECK(n > 0);
            break;
        }
        for (ssize_t i = 0; i < n; i++) {
            size_t at = s->received + (size_t)i;
            s->bad += buf[i] != (unsigned char)(at * 7 + (at >> 8));
        }
        s->received += (size_t)n;
    }
    atomic_store(&s->consumer_done, 1);
}

static void stream_canceller(struct stream *s)
{
    tardy_task t;
    TT_CHECK_EQ(tardy_chan_recv(s->handle, &t), 0);
    uint32_t seed = 99;
    while (!atomic_load(&s->consumer_done)) {
        int rc = tardy_cancel(t);
        if (rc == -ESRCH)
            break;
        TT_CHECK_EQ(rc, 0);
        /* Between 0 and ~100 us: sometimes parked, sometimes not. */
        uint32_t r = next_rand(&seed) % 8;
        if (r == 0)
            TT_CHECK_EQ(tardy_yield(), 0);
        else
            TT_CHECK_EQ(tardy_sleep(r * 15000), 0);
    }
}

static void stream_entry(void *arg)
{
    struct stream *s = arg;
    if (tt_rt_index() == 0) {
        stream_consumer(s);
    } else {
        if (s->use_cancel) {
            tardy_task p;
            /* The producer runs beside the canceller on runtime 1. */
            TT_CHECK_EQ(tardy_spawn(stream_producer_task, s, &p), 0);
            stream_canceller(s);
            TT_CHECK_EQ(tardy_join(p), 0);
        } else {
            stream_producer(s);
        }
    }
}

Test(races, recv_with_deadlines_loses_no_bytes)
{
    struct stream s = {0};
    tt_socketpair(s.sv);
    cr_assert_eq(tardy_chan_create(&s.handle, sizeof(tardy_task), 1), 0);
    tardy_config cfg = {.threads = 2};
    TT_RUN(&cfg, stream_entry, &s);
    TT_EXPECT_EQ(s.received, STREAM_BYTES);
    TT_EXPECT_EQ(s.bad, 0);
    cr_log_info("%lu recvs timed out", s.interrupted);
    tardy_chan_destroy(s.handle);
    close(s.sv[0]);
    close(s.sv[1]);
}

Test(races, recv_under_repeated_cancels_loses_no_bytes)
{
    struct stream s = {.use_cancel = 1};
    tt_socketpair(s.sv);
    cr_assert_eq(tardy_chan_create(&s.handle, sizeof(tardy_task), 1), 0);
    tardy_config cfg = {.threads = 2};
    TT_RUN(&cfg, stream_entry, &s);
    TT_EXPECT_EQ(s.received, STREAM_BYTES);
    TT_EXPECT_EQ(s.bad, 0);
    cr_log_info("%lu recvs cancelled", s.interrupted);
    tardy_chan_destroy(s.handle);
    close(s.sv[0]);
    close(s.sv[1]);
}

/* Channels: timed-out receives and sends across runtimes lose or repeat
 * nothing, buffered and unbuffered. */
struct chrace {
    tardy_chan *ch;
    uint64_t received;
    uint64_t out_of_order;
    unsigned long recv_timeouts, send_timeouts;
    int end_rc;
};

static void chrace_entry(void *arg)
{
    struct chrace *c = arg;
    if (tt_rt_index() == 1) {
        uint32_t seed = 4242;
        for (uint64_t i = 0; i < CHAN_MESSAGES;) {
            tardy_deadline_after(1000 + next_rand(&seed) % 50000);
            int rc = tardy_chan_send(c->ch, &i);
            tardy_deadline_clear();
            if (rc == -ETIMEDOUT) {
                c->send_timeouts++;
                continue; /* not delivered: send the same number again */
            }
            if (rc != 0) {
                TT_CHECK_EQ(rc, 0);
                break;
            }
            i++;
        }
        tardy_chan_close(c->ch);
        return;
    }
    uint32_t seed = 2424;
    uint64_t want = 0;
    for (;;) {
        uint64_t v;
        tardy_deadline_after(1000 + next_rand(&seed) % 50000);
        int rc = tardy_chan_recv(c->ch, &v);
        tardy_deadline_clear();
        if (rc == -ETIMEDOUT) {
            c->recv_timeouts++;
            continue;
        }
        if (rc != 0) {
            c->end_rc = rc;
            break;
        }
        if (v != want)
            c->out_of_order++;
        want = v + 1;
        c->received++;
    }
}

static void run_chrace(size_t capacity)
{
    struct chrace c = {0};
    cr_assert_eq(tardy_chan_create(&c.ch, sizeof(uint64_t), capacity), 0);
    tardy_config cfg = {.threads = 2};
    TT_RUN(&cfg, chrace_entry, &c);
    TT_EXPECT_EQ(c.received, CHAN_MESSAGES);
    TT_EXPECT_EQ(c.out_of_order, 0);
    TT_EXPECT_EQ(c.end_rc, -EPIPE);
    cr_log_info("capacity %zu: %lu recv and %lu send timeouts", capacity, c.recv_timeouts,
                c.send_timeouts);
    tardy_chan_destroy(c.ch);
}

Test(races, buffered_channel_with_deadlines_on_both_sides)
{
    run_chrace(8);
}

Test(races, unbuffered_channel_with_deadlines_on_both_sides)
{
    run_chrace(0);
}
