/* Watches: a readiness wait that holds no task. fn starts as a fresh task
 * exactly once, with the ready events, -ETIMEDOUT or -ECANCELED; a pending
 * watch keeps the run alive; with every task slot busy, fn waits for one. */
#include "common.h"

TestSuite(watch, .timeout = 60);

struct wstate {
    int sv[2];
    tardy_watch w;
    tardy_task starter;
    int result;
    int runs;
    bool fresh_task;
    uint64_t started_at;
    uint64_t fired_at;
    int second_start;
};

static void on_fire(void *arg)
{
    struct wstate *s = arg;
    s->runs++;
    s->result = tardy_watch_result(&s->w);
    s->fired_at = tt_clock_ns();
    s->fresh_task = tardy_self().id != s->starter.id;
}

static void ready_entry(void *arg)
{
    struct wstate *s = arg;
    s->starter = tardy_self();
    TT_CHECK_EQ(tardy_watch_start(&s->w, s->sv[0], POLLIN, 0, on_fire, s), 0);
    /* Started twice while pending: refused. */
    s->second_start = tardy_watch_start(&s->w, s->sv[0], POLLIN, 0, on_fire, s);
    TT_CHECK_EQ(tardy_sleep(10 * TT_MS), 0);
    TT_CHECK_EQ(s->runs, 0); /* nothing to read yet */
    TT_CHECK_EQ(send(s->sv[1], "x", 1, 0), 1);
}

Test(watch, fires_in_a_fresh_task_when_readable)
{
    struct wstate s = {0};
    tt_socketpair(s.sv);
    tardy_config cfg = {.threads = 1};
    TT_RUN(&cfg, ready_entry, &s);
    cr_expect_eq(s.runs, 1);
    cr_expect(s.result > 0 && (s.result & POLLIN), "result %d", s.result);
    cr_expect(s.fresh_task);
    cr_expect_eq(s.second_start, -EBUSY);
    close(s.sv[0]);
    close(s.sv[1]);
}

static void deadline_entry(void *arg)
{
    struct wstate *s = arg;
    /* The deadline is on the tardy_now clock, which may lag the real clock
     * by a turn: start from it, so the lower bound below is exact. */
    s->started_at = tardy_now();
    TT_CHECK_EQ(tardy_watch_start(&s->w, s->sv[0], POLLIN, s->started_at + 40 * TT_MS, on_fire, s), 0);
    /* The entry task ends here: the pending watch keeps the run alive. */
}

Test(watch, deadline_gives_etimedout_and_keeps_the_run_alive)
{
    struct wstate s = {0};
    tt_socketpair(s.sv);
    tardy_config cfg = {.threads = 1};
    TT_RUN(&cfg, deadline_entry, &s);
    cr_expect_eq(s.runs, 1);
    cr_expect_eq(s.result, -ETIMEDOUT);
    cr_expect(s.fired_at - s.started_at >= 35 * TT_MS, "fired after %llu ns",
              (unsigned long long)(s.fired_at - s.started_at));
    close(s.sv[0]);
    close(s.sv[1]);
}

static void cancel_entry(void *arg)
{
    struct wstate *s = arg;
    TT_CHECK_EQ(tardy_watch_start(&s->w, s->sv[0], POLLIN, 0, on_fire, s), 0);
    TT_CHECK_EQ(tardy_sleep(5 * TT_MS), 0);
    TT_CHECK_EQ(tardy_watch_cancel(&s->w), 0);
    TT_CHECK_EQ(tardy_sleep(5 * TT_MS), 0);
    TT_CHECK_EQ(s->runs, 1);
    /* Not pending any more. */
    TT_CHECK_EQ(tardy_watch_cancel(&s->w), -EALREADY);
    /* And it can be started again. */
    TT_CHECK_EQ(send(s->sv[1], "y", 1, 0), 1);
    TT_CHECK_EQ(tardy_watch_start(&s->w, s->sv[0], POLLIN, 0, on_fire, s), 0);
}

Test(watch, cancel_gives_ecanceled_and_the_watch_is_reusable)
{
    struct wstate s = {0};
    tt_socketpair(s.sv);
    tardy_config cfg = {.threads = 1};
    TT_RUN(&cfg, cancel_entry, &s);
    cr_expect_eq(s.runs, 2);
    cr_expect(s.result & POLLIN, "second result %d", s.result);
    close(s.sv[0]);
    close(s.sv[1]);
}

/* max_tasks = 2: the entry and one busy task fill the pool, so the fired
 * watch's fn must wait until a slot frees, then run. */
struct backlog {
    struct wstate s;
    int blocker_done;
    int fn_saw_blocker_done;
};

static void backlog_fire(void *arg)
{
    struct backlog *b = arg;
    b->s.runs++;
    b->s.result = tardy_watch_result(&b->s.w);
    b->fn_saw_blocker_done = b->blocker_done;
}

static void blocker(void *arg)
{
    struct backlog *b = arg;
    TT_CHECK_EQ(tardy_sleep(30 * TT_MS), 0);
    b->blocker_done = 1;
}

static void backlog_entry(void *arg)
{
    struct backlog *b = arg;
    tardy_task t;
    TT_CHECK_EQ(tardy_spawn(blocker, b, &t), 0);
    TT_CHECK_EQ(send(b->s.sv[1], "z", 1, 0), 1);
    TT_CHECK_EQ(tardy_watch_start(&b->s.w, b->s.sv[0], POLLIN, 0, backlog_fire, b), 0);
    TT_CHECK_EQ(tardy_join(t), 0);
}

Test(watch, fn_waits_for_a_free_task_slot)
{
    struct backlog b = {0};
    tt_socketpair(b.s.sv);
    tardy_config cfg = {.threads = 1, .max_tasks = 2};
    TT_RUN(&cfg, backlog_entry, &b);
    cr_expect_eq(b.s.runs, 1);
    cr_expect(b.s.result & POLLIN);
    cr_expect_eq(b.fn_saw_blocker_done, 1);
    close(b.s.sv[0]);
    close(b.s.sv[1]);
}

Test(watch, outside_a_task_is_eperm)
{
    static tardy_watch w;
    cr_expect_eq(tardy_watch_start(&w, 0, POLLIN, 0, on_fire, NULL), -EPERM);
    cr_expect_eq(tardy_watch_cancel(&w), -EALREADY);
}

/* Many watches at once, all firing: every fn runs exactly once. */
#define MANY 200
struct many {
    int sv[MANY][2];
    tardy_watch w[MANY];
    int runs[MANY];
};

static struct many *many_state;

static void many_fire(void *arg)
{
    size_t i = (size_t)(uintptr_t)arg;
    many_state->runs[i]++;
    TT_CHECK(tardy_watch_result(&many_state->w[i]) & POLLIN);
}

static void many_entry(void *arg)
{
    struct many *m = arg;
    for (size_t i = 0; i < MANY; i++)
        TT_CHECK_EQ(tardy_watch_start(&m->w[i], m->sv[i][0], POLLIN, 0, many_fire, (void *)(uintptr_t)i), 0);
    TT_CHECK_EQ(tardy_sleep(2 * TT_MS), 0);
    for (size_t i = 0; i < MANY; i++)
        TT_CHECK_EQ(send(m->sv[i][1], "m", 1, 0), 1);
}

Test(watch, many_watches_fire_once_each)
{
    struct many *m = calloc(1, sizeof *m);
    cr_assert(m);
    many_state = m;
    for (size_t i = 0; i < MANY; i++)
        tt_socketpair(m->sv[i]);
    tardy_config cfg = {.threads = 1, .max_tasks = 16};
    TT_RUN(&cfg, many_entry, m);
    for (size_t i = 0; i < MANY; i++) {
        cr_expect_eq(m->runs[i], 1, "watch %zu ran %d times", i, m->runs[i]);
        close(m->sv[i][0]);
        close(m->sv[i][1]);
    }
    free(m);
}

/* ---- receive watches (tardy_watch_recv / tardy_watch_take) ---------------
 * On io_uring the bytes are received ahead, out of the socket, before fn
 * runs: a peek then finds the socket empty. Other drivers leave them in the
 * socket for take() to read. Either way take() hands over the same bytes. */

/* Set by the fns, inside the run: does this run's driver receive ahead? */
static bool ahead;

static bool receives_ahead(void)
{
    ahead = strcmp(tardy_driver_name(), "io_uring") == 0;
    return ahead;
}

/* What a peek on fd finds now: bytes waiting (> 0) or -EAGAIN. */
static ssize_t peek(int fd)
{
    char c;
    ssize_t n = recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
    return n < 0 ? -errno : n;
}

struct rstate {
    int sv[2];
    tardy_watch w;
    int result;
    int runs;
    ssize_t peeked;
    ssize_t took[4];
    char got[64];
    ssize_t after_yield;
};

static void take_all_fire(void *arg)
{
    struct rstate *s = arg;
    s->runs++;
    s->result = tardy_watch_result(&s->w);
    receives_ahead();
    s->peeked = peek(s->sv[0]);
    s->took[0] = tardy_watch_take(&s->w, s->got, sizeof s->got);
    s->took[1] = tardy_watch_take(&s->w, s->got, sizeof s->got);
}

static void hello_entry(void *arg)
{
    struct rstate *s = arg;
    TT_CHECK_EQ(tardy_watch_recv(&s->w, s->sv[0], 0, take_all_fire, s), 0);
    TT_CHECK_EQ(tardy_watch_recv(&s->w, s->sv[0], 0, take_all_fire, s), -EBUSY);
    TT_CHECK_EQ(tardy_sleep(5 * TT_MS), 0);
    TT_CHECK_EQ(s->runs, 0);
    TT_CHECK_EQ(send(s->sv[1], "hello", 5, 0), 5);
}

Test(watch, recv_watch_hands_over_the_bytes)
{
    struct rstate s = {0};
    tt_socketpair(s.sv);
    tardy_config cfg = {.threads = 1};
    TT_RUN(&cfg, hello_entry, &s);
    cr_expect_eq(s.runs, 1);
    cr_expect(s.result > 0, "result %d", s.result);
    if (ahead)
        TT_EXPECT_EQ(s.peeked, -EAGAIN);
    else
        TT_EXPECT_EQ(s.peeked, 1);
    TT_EXPECT_EQ(s.took[0], 5);
    cr_expect(memcmp(s.got, "hello", 5) == 0);
    TT_EXPECT_EQ(s.took[1], -EAGAIN); /* nothing more */
    close(s.sv[0]);
    close(s.sv[1]);
}

static void pieces_fire(void *arg)
{
    struct rstate *s = arg;
    s->runs++;
    s->took[0] = tardy_watch_take(&s->w, s->got, 3);
    s->took[1] = tardy_watch_take(&s->w, s->got + 3, 4);
    s->took[2] = tardy_watch_take(&s->w, s->got + 7, sizeof s->got - 7);
    s->took[3] = tardy_watch_take(&s->w, s->got, 0);
}

static void pieces_entry(void *arg)
{
    struct rstate *s = arg;
    TT_CHECK_EQ(send(s->sv[1], "0123456789", 10, 0), 10);
    TT_CHECK_EQ(tardy_watch_recv(&s->w, s->sv[0], 0, pieces_fire, s), 0);
}

Test(watch, recv_watch_take_in_pieces)
{
    struct rstate s = {0};
    tt_socketpair(s.sv);
    tardy_config cfg = {.threads = 1};
    TT_RUN(&cfg, pieces_entry, &s);
    cr_expect_eq(s.runs, 1);
    TT_EXPECT_EQ(s.took[0], 3);
    TT_EXPECT_EQ(s.took[1], 4);
    TT_EXPECT_EQ(s.took[2], 3);
    TT_EXPECT_EQ(s.took[3], 0); /* len 0 */
    cr_expect(memcmp(s.got, "0123456789", 10) == 0, "got %.10s", s.got);
    close(s.sv[0]);
    close(s.sv[1]);
}

static void eof_entry(void *arg)
{
    struct rstate *s = arg;
    TT_CHECK_EQ(tardy_watch_recv(&s->w, s->sv[0], 0, take_all_fire, s), 0);
    TT_CHECK_EQ(tardy_sleep(2 * TT_MS), 0);
    TT_CHECK_EQ(shutdown(s->sv[1], SHUT_WR), 0);
}

Test(watch, recv_watch_reports_end_of_stream)
{
    struct rstate s = {0};
    tt_socketpair(s.sv);
    tardy_config cfg = {.threads = 1};
    TT_RUN(&cfg, eof_entry, &s);
    cr_expect_eq(s.runs, 1);
    cr_expect(s.result > 0, "result %d", s.result);
    TT_EXPECT_EQ(s.took[0], 0);
    close(s.sv[0]);
    close(s.sv[1]);
}

/* Bytes received ahead and not taken are dropped at fn's first wait: the
 * buffer goes back, and what take() finds then is the socket's. */
static void yield_fire(void *arg)
{
    struct rstate *s = arg;
    s->runs++;
    receives_ahead();
    s->took[0] = tardy_watch_take(&s->w, s->got, 2);
    TT_CHECK_EQ(tardy_yield(), 0);
    s->after_yield = tardy_watch_take(&s->w, s->got + 2, sizeof s->got - 2);
}

static void yield_entry(void *arg)
{
    struct rstate *s = arg;
    TT_CHECK_EQ(send(s->sv[1], "abcdef", 6, 0), 6);
    TT_CHECK_EQ(tardy_watch_recv(&s->w, s->sv[0], 0, yield_fire, s), 0);
}

Test(watch, recv_watch_untaken_bytes_go_at_the_first_wait)
{
    struct rstate s = {0};
    tt_socketpair(s.sv);
    tardy_config cfg = {.threads = 1};
    TT_RUN(&cfg, yield_entry, &s);
    TT_EXPECT_EQ(s.took[0], 2);
    if (ahead) {
        TT_EXPECT_EQ(s.after_yield, -EAGAIN);
    } else {
        TT_EXPECT_EQ(s.after_yield, 4);
        cr_expect(memcmp(s.got, "abcdef", 6) == 0);
    }
    close(s.sv[0]);
    close(s.sv[1]);
}

/* Two buffers, 40 rounds, one in five never taken: if a buffer were not
 * given back, the ring would run dry and bytes would stop coming ahead.
 * (Received ahead, untaken bytes are dropped; otherwise they stay in the
 * socket and come with the next round's.) */
#define ROUNDS 40
struct cycle {
    int sv[2];
    tardy_watch w;
    int round;
    int not_ahead;
    char got[ROUNDS + 1];
    size_t got_len;
};

static void cycle_fire(void *arg)
{
    struct cycle *c = arg;
    if (receives_ahead() && peek(c->sv[0]) != -EAGAIN)
        c->not_ahead++;
    if (c->round % 5 != 2) {
        ssize_t n = tardy_watch_take(&c->w, c->got + c->got_len, sizeof c->got - 1 - c->got_len);
        TT_CHECK(n >= 1);
        if (n >= 1)
            c->got_len += (size_t)n;
    }
    if (++c->round < ROUNDS) {
        char b = (char)('A' + c->round % 26);
        TT_CHECK_EQ(send(c->sv[1], &b, 1, 0), 1);
        TT_CHECK_EQ(tardy_watch_recv(&c->w, c->sv[0], 0, cycle_fire, c), 0);
    }
}

static void cycle_entry(void *arg)
{
    struct cycle *c = arg;
    TT_CHECK_EQ(send(c->sv[1], "A", 1, 0), 1);
    TT_CHECK_EQ(tardy_watch_recv(&c->w, c->sv[0], 0, cycle_fire, c), 0);
}

Test(watch, recv_watch_buffers_come_back)
{
    struct cycle c = {0};
    tt_socketpair(c.sv);
    tardy_config cfg = {.threads = 1, .recv_buffers = 2};
    TT_RUN(&cfg, cycle_entry, &c);
    TT_EXPECT_EQ(c.round, ROUNDS);
    TT_EXPECT_EQ(c.not_ahead, 0);
    TT_EXPECT_EQ(c.got_len, ahead ? ROUNDS - ROUNDS / 5 : ROUNDS);
    for (size_t i = 0, r = 0; r < ROUNDS && i < c.got_len; r++) {
        if (ahead && r % 5 == 2)
            continue;
        cr_expect_eq(c.got[i], 'A' + (int)(r % 26), "byte %zu of round %zu", i, r);
        i++;
    }
    close(c.sv[0]);
    close(c.sv[1]);
}

/* One buffer, three sockets ready at once: one watch gets it, the others
 * fall back to readiness, and every fn still takes its own bytes. */
struct dry {
    int sv[3][2];
    tardy_watch w[3];
    char got[3][8];
    ssize_t took[3];
};

static struct dry *dry_state;

static void dry_fire(void *arg)
{
    size_t i = (size_t)(uintptr_t)arg;
    dry_state->took[i] = tardy_watch_take(&dry_state->w[i], dry_state->got[i], sizeof dry_state->got[i]);
}

static void dry_entry(void *arg)
{
    struct dry *d = arg;
    for (size_t i = 0; i < 3; i++) {
        char msg[4] = {'s', 'o', 'c', (char)('0' + i)};
        TT_CHECK_EQ(send(d->sv[i][1], msg, 4, 0), 4);
    }
    for (size_t i = 0; i < 3; i++)
        TT_CHECK_EQ(tardy_watch_recv(&d->w[i], d->sv[i][0], 0, dry_fire, (void *)(uintptr_t)i), 0);
}

/* Runs entry with one receive-ahead buffer for three sockets that all
 * have 4 bytes waiting, and checks that each fn got its own. */
static void dry_run(void (*entry)(void *))
{
    struct dry d = {0};
    dry_state = &d;
    for (size_t i = 0; i < 3; i++)
        tt_socketpair(d.sv[i]);
    tardy_config cfg = {.threads = 1, .recv_buffers = 1};
    TT_RUN(&cfg, entry, &d);
    for (size_t i = 0; i < 3; i++) {
        TT_EXPECT_EQ(d.took[i], 4);
        char want[4] = {'s', 'o', 'c', (char)('0' + i)};
        cr_expect(memcmp(d.got[i], want, 4) == 0, "socket %zu got %.4s", i, d.got[i]);
        close(d.sv[i][0]);
        close(d.sv[i][1]);
    }
}

Test(watch, recv_watch_without_buffers_left_still_delivers)
{
    dry_run(dry_entry);
}

/* recv_buffers = UINT_MAX: no receive-ahead, the bytes stay in the socket. */
static void none_entry(void *arg)
{
    struct rstate *s = arg;
    TT_CHECK_EQ(send(s->sv[1], "hello", 5, 0), 5);
    TT_CHECK_EQ(tardy_watch_recv(&s->w, s->sv[0], 0, take_all_fire, s), 0);
}

Test(watch, recv_watch_can_be_turned_off)
{
    struct rstate s = {0};
    tt_socketpair(s.sv);
    tardy_config cfg = {.threads = 1, .recv_buffers = UINT_MAX};
    TT_RUN(&cfg, none_entry, &s);
    TT_EXPECT_EQ(s.peeked, 1);
    TT_EXPECT_EQ(s.took[0], 5);
    close(s.sv[0]);
    close(s.sv[1]);
}

static void never(void *arg)
{
    (void)arg;
}

Test(watch, recv_buffer_limits)
{
    tardy_config cfg = {.threads = 1, .recv_buffer_size = 65536, .recv_buffers = 32768};
    struct rstate s = {0};
    tt_socketpair(s.sv);
    TT_RUN(&cfg, none_entry, &s); /* at the limits: runs */
    TT_EXPECT_EQ(s.took[0], 5);
    close(s.sv[0]);
    close(s.sv[1]);
    cfg.recv_buffer_size = 65537;
    cr_expect_eq(tardy_run(&cfg, never, NULL), -EINVAL);
    cfg.recv_buffer_size = 0;
    cfg.recv_buffers = 32769;
    cr_expect_eq(tardy_run(&cfg, never, NULL), -EINVAL);
}

static void other_task(void *arg)
{
    struct rstate *s = arg;
    char b[4];
    /* Not a fn of this watch's, but on its runtime: a plain read. */
    s->took[2] = tardy_watch_take(&s->w, b, sizeof b);
}

static void eperm_entry(void *arg)
{
    struct rstate *s = arg;
    tardy_watch fresh;
    memset(&fresh, 0, sizeof fresh);
    char b[4];
    /* Never started: it belongs to no runtime. */
    s->took[0] = tardy_watch_take(&fresh, b, sizeof b);
    tardy_task t;
    TT_CHECK_EQ(tardy_spawn(other_task, s, &t), 0);
    TT_CHECK_EQ(tardy_join(t), 0);
}

Test(watch, recv_watch_take_misuse)
{
    struct rstate s = {0};
    tt_socketpair(s.sv);
    char b[4];
    cr_expect_eq(tardy_watch_take(&s.w, b, sizeof b), -EPERM); /* outside a task */
    tardy_config cfg = {.threads = 1};
    TT_RUN(&cfg, eperm_entry, &s);
    TT_EXPECT_EQ(s.took[0], -EPERM);
    TT_EXPECT_EQ(s.took[2], -EPERM);
    close(s.sv[0]);
    close(s.sv[1]);
}

/* ---- receive streams (tardy_watch_stream / tardy_watch_read / stop) ------
 * On io_uring one multishot receive stays armed for the stream's life, so
 * bytes that arrive while fn runs are already out of the socket: every read
 * must go through the watch, and must find them there, in order. */

struct sstate {
    int sv[2];
    tardy_watch w;
    int fires;
    int result[4];
    char got[128];
    size_t got_len;
    ssize_t read_ret[4];
    ssize_t peeked;
    int stop_ret;
    int busy_ret[2];
};

static void stream_fire(void *arg);

static void stream_collect(struct sstate *s, ssize_t n)
{
    TT_CHECK(n > 0);
    if (n > 0)
        s->got_len += (size_t)n;
}

static void stream_fire(void *arg)
{
    struct sstate *s = arg;
    int k = s->fires++;
    s->result[k] = tardy_watch_result(&s->w);
    if (k == 0) {
        stream_collect(s, tardy_watch_take(&s->w, s->got, sizeof s->got));
        /* More bytes while this task runs, then a read that has to wait
         * for them: the stream hands them over, in order. */
        TT_CHECK_EQ(send(s->sv[1], " world", 6, 0), 6);
        TT_CHECK_EQ(tardy_sleep(2 * TT_MS), 0);
        receives_ahead();
        s->peeked = peek(s->sv[0]);
        s->read_ret[0] = tardy_watch_read(&s->w, s->got + s->got_len, sizeof s->got - s->got_len);
        stream_collect(s, s->read_ret[0]);
        /* Nothing more yet: take() says so, and the stream waits again. */
        s->read_ret[1] = tardy_watch_take(&s->w, s->got, 1);
        TT_CHECK_EQ(tardy_watch_stream(&s->w, s->sv[0], 0, stream_fire, s), 0);
        return;
    }
    stream_collect(s, tardy_watch_take(&s->w, s->got + s->got_len, sizeof s->got - s->got_len));
    s->stop_ret = tardy_watch_stop(&s->w);
}

static void stream_entry(void *arg)
{
    struct sstate *s = arg;
    TT_CHECK_EQ(tardy_watch_stream(&s->w, s->sv[0], 0, stream_fire, s), 0);
    TT_CHECK_EQ(tardy_watch_stream(&s->w, s->sv[0], 0, stream_fire, s), -EBUSY);
    TT_CHECK_EQ(tardy_sleep(2 * TT_MS), 0);
    TT_CHECK_EQ(s->fires, 0);
    TT_CHECK_EQ(send(s->sv[1], "hello", 5, 0), 5);
    TT_CHECK_EQ(tardy_sleep(10 * TT_MS), 0);
    TT_CHECK_EQ(s->fires, 1);
    TT_CHECK_EQ(send(s->sv[1], "!", 1, 0), 1);
}

Test(watch, stream_hands_over_every_byte_in_order)
{
    struct sstate s = {0};
    tt_socketpair(s.sv);
    tardy_config cfg = {.threads = 1};
    TT_RUN(&cfg, stream_entry, &s);
    cr_expect_eq(s.fires, 2);
    cr_expect(s.result[0] > 0 && s.result[1] > 0, "results %d %d", s.result[0], s.result[1]);
    if (ahead)
        TT_EXPECT_EQ(s.peeked, -EAGAIN); /* the stream had taken " world" */
    TT_EXPECT_EQ(s.read_ret[0], 6);
    TT_EXPECT_EQ(s.read_ret[1], -EAGAIN);
    TT_EXPECT_EQ(s.got_len, 12);
    cr_expect(memcmp(s.got, "hello world!", 12) == 0, "got %.12s", s.got);
    TT_EXPECT_EQ(s.stop_ret, 0);
    close(s.sv[0]);
    close(s.sv[1]);
}

/* Bytes left unread stay with the stream across waits (unlike a receive
 * watch's), so the next wait fires at once; then the end of stream. */
static void keep_fire(void *arg)
{
    struct sstate *s = arg;
    int k = s->fires++;
    s->result[k] = tardy_watch_result(&s->w);
    if (k == 0) {
        stream_collect(s, tardy_watch_take(&s->w, s->got, 2));
        TT_CHECK_EQ(tardy_yield(), 0);
        TT_CHECK_EQ(tardy_watch_stream(&s->w, s->sv[0], 0, keep_fire, s), 0);
        return;
    }
    s->read_ret[0] = tardy_watch_read(&s->w, s->got + s->got_len, sizeof s->got - s->got_len);
    stream_collect(s, s->read_ret[0]);
    s->read_ret[1] = tardy_watch_read(&s->w, s->got, sizeof s->got);
    s->read_ret[2] = tardy_watch_take(&s->w, s->got, sizeof s->got);
    s->stop_ret = tardy_watch_stop(&s->w);
}

static void keep_entry(void *arg)
{
    struct sstate *s = arg;
    TT_CHECK_EQ(send(s->sv[1], "abcdef", 6, 0), 6);
    TT_CHECK_EQ(shutdown(s->sv[1], SHUT_WR), 0);
    TT_CHECK_EQ(tardy_watch_stream(&s->w, s->sv[0], 0, keep_fire, s), 0);
}

Test(watch, stream_keeps_unread_bytes_and_reports_end_of_stream)
{
    struct sstate s = {0};
    tt_socketpair(s.sv);
    tardy_config cfg = {.threads = 1};
    TT_RUN(&cfg, keep_entry, &s);
    cr_expect_eq(s.fires, 2);
    TT_EXPECT_EQ(s.read_ret[0], 4);
    TT_EXPECT_EQ(s.read_ret[1], 0);
    TT_EXPECT_EQ(s.read_ret[2], 0);
    TT_EXPECT_EQ(s.got_len, 6);
    cr_expect(memcmp(s.got, "abcdef", 6) == 0, "got %.6s", s.got);
    TT_EXPECT_EQ(s.stop_ret, 0);
    close(s.sv[0]);
    close(s.sv[1]);
}

/* A read waits under the task's deadline; a pending stream's deadline and
 * cancel start fn with -ETIMEDOUT and -ECANCELED; stop() refuses a pending
 * stream, and a stream open on one socket refuses another. */
static void limits_fire(void *arg)
{
    struct sstate *s = arg;
    int k = s->fires++;
    s->result[k] = tardy_watch_result(&s->w);
    if (k == 0) {
        tardy_deadline_set(tardy_now() + 5 * TT_MS);
        s->read_ret[0] = tardy_watch_read(&s->w, s->got, sizeof s->got);
        tardy_deadline_set(0);
        TT_CHECK_EQ(tardy_watch_stream(&s->w, s->sv[0], 0, limits_fire, s), 0);
        s->busy_ret[0] = tardy_watch_stop(&s->w);
        TT_CHECK_EQ(tardy_watch_cancel(&s->w), 0);
        return;
    }
    if (receives_ahead())
        s->busy_ret[1] = tardy_watch_stream(&s->w, s->sv[1], 0, limits_fire, s);
    s->stop_ret = tardy_watch_stop(&s->w);
}

static void limits_entry(void *arg)
{
    struct sstate *s = arg;
    TT_CHECK_EQ(tardy_watch_stream(&s->w, s->sv[0], tardy_now() + 5 * TT_MS, limits_fire, s), 0);
}

Test(watch, stream_deadlines_cancel_and_misuse)
{
    struct sstate s = {0};
    tt_socketpair(s.sv);
    tardy_config cfg = {.threads = 1};
    TT_RUN(&cfg, limits_entry, &s);
    cr_expect_eq(s.fires, 2);
    TT_EXPECT_EQ(s.result[0], -ETIMEDOUT);
    TT_EXPECT_EQ(s.read_ret[0], -ETIMEDOUT);
    TT_EXPECT_EQ(s.busy_ret[0], -EBUSY);
    TT_EXPECT_EQ(s.result[1], -ECANCELED);
    /* Off io_uring a stream is a plain watch and never "open". */
    if (ahead)
        TT_EXPECT_EQ(s.busy_ret[1], -EBUSY);
    TT_EXPECT_EQ(s.stop_ret, 0);
    close(s.sv[0]);
    close(s.sv[1]);
}

/* Two buffers and 30 streams opened, left with bytes unread and stopped,
 * one after another on one socket: if stop() kept a buffer, the ring would
 * run dry and bytes would stop arriving ahead. Then three streams at once
 * with one buffer: the ones without a buffer still deliver. */
struct scycle {
    int sv[2];
    tardy_watch w;
    int round;
    int not_ahead;
    int bad_bytes;
};

static void scycle_fire(void *arg)
{
    struct scycle *c = arg;
    if (receives_ahead() && peek(c->sv[0]) != -EAGAIN)
        c->not_ahead++;
    char b[2];
    ssize_t n = tardy_watch_take(&c->w, b, 1); /* one of two bytes */
    if (n != 1 || b[0] != (char)('a' + c->round % 26))
        c->bad_bytes++;
    TT_CHECK_EQ(tardy_watch_stop(&c->w), 0);
    if (!ahead) {
        /* The unread byte is still in the socket: drain it. */
        TT_CHECK_EQ(recv(c->sv[0], b, 1, 0), 1);
    }
    if (++c->round < 30) {
        char m[2] = {(char)('a' + c->round % 26), 'x'};
        TT_CHECK_EQ(send(c->sv[1], m, 2, 0), 2);
        TT_CHECK_EQ(tardy_watch_stream(&c->w, c->sv[0], 0, scycle_fire, c), 0);
    }
}

static void scycle_entry(void *arg)
{
    struct scycle *c = arg;
    TT_CHECK_EQ(send(c->sv[1], "ax", 2, 0), 2);
    TT_CHECK_EQ(tardy_watch_stream(&c->w, c->sv[0], 0, scycle_fire, c), 0);
}

Test(watch, stream_stop_gives_its_buffers_back)
{
    struct scycle c = {0};
    tt_socketpair(c.sv);
    tardy_config cfg = {.threads = 1, .recv_buffers = 2};
    TT_RUN(&cfg, scycle_entry, &c);
    TT_EXPECT_EQ(c.round, 30);
    TT_EXPECT_EQ(c.not_ahead, 0);
    TT_EXPECT_EQ(c.bad_bytes, 0);
    close(c.sv[0]);
    close(c.sv[1]);
}

static void sdry_fire(void *arg)
{
    size_t i = (size_t)(uintptr_t)arg;
    dry_state->took[i] = tardy_watch_read(&dry_state->w[i], dry_state->got[i], sizeof dry_state->got[i]);
    TT_CHECK_EQ(tardy_watch_stop(&dry_state->w[i]), 0);
}

static void sdry_entry(void *arg)
{
    struct dry *d = arg;
    for (size_t i = 0; i < 3; i++) {
        char msg[4] = {'s', 'o', 'c', (char)('0' + i)};
        TT_CHECK_EQ(send(d->sv[i][1], msg, 4, 0), 4);
    }
    for (size_t i = 0; i < 3; i++)
        TT_CHECK_EQ(tardy_watch_stream(&d->w[i], d->sv[i][0], 0, sdry_fire, (void *)(uintptr_t)i), 0);
}

Test(watch, stream_without_buffers_left_still_delivers)
{
    dry_run(sdry_entry);
}

/* With the only buffer held by one stream's unread bytes, another stream
 * on a quiet socket must wait, not wake for want of a buffer; when its
 * bytes come it wakes and reads them from the socket. */
struct squiet {
    int a[2], b[2];
    tardy_watch wa, wb;
    int a_fires, b_fires;
    int b_fires_early;
    ssize_t b_read;
    char got[8];
};

static void quiet_a(void *arg)
{
    struct squiet *q = arg;
    q->a_fires++; /* leaves its byte unread: the stream keeps the buffer */
}

static void quiet_b(void *arg)
{
    struct squiet *q = arg;
    q->b_fires++;
    q->b_read = tardy_watch_read(&q->wb, q->got, sizeof q->got);
    TT_CHECK_EQ(tardy_watch_stop(&q->wb), 0);
    TT_CHECK_EQ(tardy_watch_stop(&q->wa), 0);
}

static void quiet_entry(void *arg)
{
    struct squiet *q = arg;
    TT_CHECK_EQ(send(q->a[1], "A", 1, 0), 1);
    TT_CHECK_EQ(tardy_watch_stream(&q->wa, q->a[0], 0, quiet_a, q), 0);
    TT_CHECK_EQ(tardy_sleep(5 * TT_MS), 0);
    TT_CHECK_EQ(q->a_fires, 1);
    TT_CHECK_EQ(tardy_watch_stream(&q->wb, q->b[0], 0, quiet_b, q), 0);
    TT_CHECK_EQ(tardy_sleep(20 * TT_MS), 0);
    q->b_fires_early = q->b_fires;
    TT_CHECK_EQ(send(q->b[1], "bee", 3, 0), 3);
}

Test(watch, stream_on_a_quiet_socket_waits_when_buffers_run_out)
{
    struct squiet q = {0};
    tt_socketpair(q.a);
    tt_socketpair(q.b);
    tardy_config cfg = {.threads = 1, .recv_buffers = 1};
    TT_RUN(&cfg, quiet_entry, &q);
    TT_EXPECT_EQ(q.b_fires_early, 0);
    TT_EXPECT_EQ(q.b_fires, 1);
    TT_EXPECT_EQ(q.b_read, 3);
    cr_expect(memcmp(q.got, "bee", 3) == 0);
    close(q.a[0]);
    close(q.a[1]);
    close(q.b[0]);
    close(q.b[1]);
}

/* The last bytes and the end of stream arrive together while the stream
 * waits (a client that sends its request and half-closes): both come. */
static void halfclose_fire(void *arg)
{
    struct sstate *s = arg;
    s->fires++;
    s->read_ret[0] = tardy_watch_read(&s->w, s->got, sizeof s->got);
    s->read_ret[1] = tardy_watch_read(&s->w, s->got + 3, sizeof s->got - 3);
    s->stop_ret = tardy_watch_stop(&s->w);
}

static void halfclose_entry(void *arg)
{
    struct sstate *s = arg;
    TT_CHECK_EQ(tardy_watch_stream(&s->w, s->sv[0], tardy_now() + 2000 * TT_MS, halfclose_fire, s), 0);
    TT_CHECK_EQ(tardy_sleep(2 * TT_MS), 0);
    TT_CHECK_EQ(send(s->sv[1], "xyz", 3, 0), 3);
    TT_CHECK_EQ(shutdown(s->sv[1], SHUT_WR), 0);
}

Test(watch, stream_end_of_stream_with_the_last_bytes)
{
    struct sstate s = {0};
    tt_socketpair(s.sv);
    tardy_config cfg = {.threads = 1};
    TT_RUN(&cfg, halfclose_entry, &s);
    cr_expect_eq(s.fires, 1);
    TT_EXPECT_EQ(s.read_ret[0], 3);
    TT_EXPECT_EQ(s.read_ret[1], 0);
    cr_expect(memcmp(s.got, "xyz", 3) == 0);
    TT_EXPECT_EQ(s.stop_ret, 0);
    close(s.sv[0]);
    close(s.sv[1]);
}
