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

/* A watch is readiness only, on every driver: when its fn starts the
 * bytes are still in the socket (none received ahead), and a second fn
 * of a watch started on the same bytes starts at once. */
struct peekstate {
    int sv[2];
    tardy_watch w;
    int runs;
    int result[2];
    ssize_t peeked[2];
    char got[8];
    ssize_t got_len;
};

static void peek_fire(void *arg)
{
    struct peekstate *p = arg;
    int k = p->runs++;
    char c;
    p->result[k] = tardy_watch_result(&p->w);
    ssize_t n = recv(p->sv[0], &c, 1, MSG_PEEK | MSG_DONTWAIT);
    p->peeked[k] = n < 0 ? -errno : n;
    if (k == 0) {
        TT_CHECK_EQ(tardy_watch_start(&p->w, p->sv[0], POLLIN, tardy_now() + 2000 * TT_MS, peek_fire, p), 0);
        return;
    }
    p->got_len = recv(p->sv[0], p->got, sizeof p->got, MSG_DONTWAIT);
}

static void peek_entry(void *arg)
{
    struct peekstate *p = arg;
    TT_CHECK_EQ(tardy_watch_start(&p->w, p->sv[0], POLLIN, 0, peek_fire, p), 0);
    TT_CHECK_EQ(tardy_sleep(2 * TT_MS), 0);
    TT_CHECK_EQ(send(p->sv[1], "bytes", 5, 0), 5);
}

Test(watch, leaves_the_bytes_in_the_socket)
{
    struct peekstate p = {0};
    tt_socketpair(p.sv);
    tardy_config cfg = {.threads = 1};
    TT_RUN(&cfg, peek_entry, &p);
    cr_expect_eq(p.runs, 2);
    cr_expect(p.result[0] & POLLIN, "result %d", p.result[0]);
    cr_expect(p.result[1] & POLLIN, "second result %d", p.result[1]);
    TT_EXPECT_EQ(p.peeked[0], 1);
    TT_EXPECT_EQ(p.peeked[1], 1);
    TT_EXPECT_EQ(p.got_len, 5);
    cr_expect(memcmp(p.got, "bytes", 5) == 0, "got %.5s", p.got);
    close(p.sv[0]);
    close(p.sv[1]);
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
