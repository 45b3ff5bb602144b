/* Time: sleeps wake in order, tardy_now advances, and deadlines turn pending
 * or later calls into -ETIMEDOUT (recv, chan_recv, sleep). Only lower
 * bounds are asserted on durations: the machine may be slow. */
#include "common.h"

TestSuite(time, .timeout = 60);

/* ---- sleeps -------------------------------------------------------------- */

#define SLEEPERS 6

struct sleep_order {
    int ids[SLEEPERS];
    uint64_t dur_ms[SLEEPERS];
    int order[SLEEPERS];
    int n;
};

static struct sleep_order *so;

static void sleeper(void *arg)
{
    int id = *(int *)arg;
    TT_CHECK_EQ(tardy_sleep(so->dur_ms[id] * TT_MS), 0);
    so->order[so->n++] = id;
}

static void sleep_entry(void *arg)
{
    struct sleep_order *s = arg;
    for (int i = 0; i < SLEEPERS; i++) {
        s->ids[i] = i;
        TT_CHECK_EQ(tardy_spawn(sleeper, &s->ids[i], NULL), 0);
    }
}

Test(time, different_sleeps_wake_shortest_first)
{
    static const uint64_t dur[SLEEPERS] = {60, 20, 100, 0, 40, 80};
    static const int want[SLEEPERS] = {3, 1, 4, 0, 5, 2};
    struct sleep_order s = {0};
    memcpy(s.dur_ms, dur, sizeof dur);
    so = &s;
    tardy_config cfg = {.threads = 1};
    TT_RUN(&cfg, sleep_entry, &s);
    cr_assert_eq(s.n, SLEEPERS);
    for (int i = 0; i < SLEEPERS; i++)
        cr_expect_eq(s.order[i], want[i], "wake %d: task %d, expected %d", i, s.order[i], want[i]);
}

Test(time, equal_sleeps_wake_in_start_order)
{
    struct sleep_order s = {0};
    for (int i = 0; i < SLEEPERS; i++)
        s.dur_ms[i] = 20;
    so = &s;
    tardy_config cfg = {.threads = 1};
    TT_RUN(&cfg, sleep_entry, &s);
    cr_assert_eq(s.n, SLEEPERS);
    for (int i = 0; i < SLEEPERS; i++)
        cr_expect_eq(s.order[i], i, "wake %d: task %d", i, s.order[i]);
}

struct now_state {
    uint64_t t0, t1, real0, real1;
    int zero_sleep_rc;
};

static void now_entry(void *arg)
{
    struct now_state *n = arg;
    n->real0 = tt_clock_ns();
    n->t0 = tardy_now();
    n->zero_sleep_rc = tardy_sleep(0);
    TT_CHECK_EQ(tardy_sleep(30 * TT_MS), 0);
    n->t1 = tardy_now();
    n->real1 = tt_clock_ns();
}

Test(time, tardy_now_advances_across_a_sleep)
{
    struct now_state n = {0};
    tardy_config cfg = {.threads = 1};
    TT_RUN(&cfg, now_entry, &n);
    cr_expect_gt(n.t0, 0);
    TT_EXPECT_EQ(n.zero_sleep_rc, 0);
    cr_expect_geq(n.t1 - n.t0, 30 * TT_MS, "tardy_now advanced %llu ns over a 30 ms sleep",
                  (unsigned long long)(n.t1 - n.t0));
    /* Real time, too: allow a couple of ms for the cached clock's lag. */
    cr_expect_geq(n.real1 - n.real0, 28 * TT_MS);
}

/* ---- deadlines ----------------------------------------------------------- */

struct dl_state {
    int sv[2];
    tardy_chan *ch;
    ssize_t rc;
    uint64_t elapsed;
};

static void recv_timeout_entry(void *arg)
{
    struct dl_state *d = arg;
    char buf[16];
    uint64_t start = tardy_now();
    tardy_deadline_after(50 * TT_MS);
    d->rc = tardy_recv(d->sv[0], buf, sizeof buf, 0);
    d->elapsed = tardy_now() - start;
    /* The deadline stays until cleared: the next call times out at once,
     * even though data is now waiting. */
    TT_CHECK_EQ(send(d->sv[1], "x", 1, 0), 1);
    TT_CHECK_EQ(tardy_recv(d->sv[0], buf, sizeof buf, 0), -ETIMEDOUT);
    tardy_deadline_clear();
    TT_CHECK_EQ(tardy_recv(d->sv[0], buf, sizeof buf, 0), 1);
}

Test(time, deadline_on_recv_gives_etimedout)
{
    struct dl_state d = {0};
    tt_socketpair(d.sv);
    tardy_config cfg = {.threads = 1};
    TT_RUN(&cfg, recv_timeout_entry, &d);
    TT_EXPECT_EQ(d.rc, -ETIMEDOUT);
    /* The deadline is on the tardy_now clock, so this bound is exact. */
    cr_expect_geq(d.elapsed, 50 * TT_MS, "timed out after only %llu ns",
                  (unsigned long long)d.elapsed);
    close(d.sv[0]);
    close(d.sv[1]);
}

/* The same over a TCP connection on 127.0.0.1. */
static void tcp_timeout_entry(void *arg)
{
    struct dl_state *d = arg;
    int lfd = tardy_socket(AF_INET, SOCK_STREAM, 0);
    TT_CHECK(lfd >= 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof sa;
    TT_CHECK_EQ(bind(lfd, (struct sockaddr *)&sa, sizeof sa), 0);
    TT_CHECK_EQ(listen(lfd, 4), 0);
    TT_CHECK_EQ(getsockname(lfd, (struct sockaddr *)&sa, &len), 0);
    int cfd = tardy_socket(AF_INET, SOCK_STREAM, 0);
    TT_CHECK(cfd >= 0);
    TT_CHECK_EQ(tardy_connect(cfd, (struct sockaddr *)&sa, sizeof sa), 0);
    int afd = tardy_accept(lfd, NULL, NULL);
    TT_CHECK(afd >= 0);
    char buf[16];
    uint64_t start = tardy_now();
    tardy_deadline_after(50 * TT_MS);
    d->rc = tardy_recv(afd, buf, sizeof buf, 0);
    d->elapsed = tardy_now() - start;
    tardy_deadline_clear();
    TT_CHECK_EQ(tardy_close(afd), 0);
    TT_CHECK_EQ(tardy_close(cfd), 0);
    TT_CHECK_EQ(tardy_close(lfd), 0);
}

Test(time, deadline_on_tcp_recv_gives_etimedout)
{
    struct dl_state d = {0};
    tardy_config cfg = {.threads = 1};
    TT_RUN(&cfg, tcp_timeout_entry, &d);
    TT_EXPECT_EQ(d.rc, -ETIMEDOUT);
    cr_expect_geq(d.elapsed, 50 * TT_MS);
}

static void past_deadline_entry(void *arg)
{
    struct dl_state *d = arg;
    char buf[16];
    /* Data is ready, but the deadline has passed before the call starts. */
    TT_CHECK_EQ(send(d->sv[1], "abc", 3, 0), 3);
    TT_CHECK_EQ(tardy_sleep(2 * TT_MS), 0);
    tardy_deadline_set(tardy_now() - TT_MS);
    d->rc = tardy_recv(d->sv[0], buf, sizeof buf, 0);
    TT_CHECK_EQ(tardy_sleep(TT_MS), -ETIMEDOUT);
    /* 0 clears it. */
    tardy_deadline_set(0);
    TT_CHECK_EQ(tardy_recv(d->sv[0], buf, sizeof buf, 0), 3);
}

Test(time, deadline_already_past_times_out_at_once)
{
    struct dl_state d = {0};
    tt_socketpair(d.sv);
    tardy_config cfg = {.threads = 1};
    TT_RUN(&cfg, past_deadline_entry, &d);
    TT_EXPECT_EQ(d.rc, -ETIMEDOUT);
    close(d.sv[0]);
    close(d.sv[1]);
}

static void late_writer(void *arg)
{
    struct dl_state *d = arg;
    TT_CHECK_EQ(tardy_sleep(20 * TT_MS), 0);
    TT_CHECK_EQ(tardy_send(d->sv[1], "hello", 5, 0), 5);
}

static void completes_first_entry(void *arg)
{
    struct dl_state *d = arg;
    char buf[16];
    /* Ready at once. */
    TT_CHECK_EQ(send(d->sv[1], "hi", 2, 0), 2);
    tardy_deadline_after(10000 * TT_MS);
    TT_CHECK_EQ(tardy_recv(d->sv[0], buf, sizeof buf, 0), 2);
    /* Completes while parked, well before the deadline. */
    TT_CHECK_EQ(tardy_spawn(late_writer, d, NULL), 0);
    d->rc = tardy_recv(d->sv[0], buf, sizeof buf, 0);
    TT_CHECK(d->rc == 5 && memcmp(buf, "hello", 5) == 0);
    TT_CHECK_EQ(tardy_sleep(TT_MS), 0);
    tardy_deadline_clear();
}

Test(time, op_completing_before_deadline_keeps_its_result)
{
    struct dl_state d = {0};
    tt_socketpair(d.sv);
    tardy_config cfg = {.threads = 1};
    TT_RUN(&cfg, completes_first_entry, &d);
    TT_EXPECT_EQ(d.rc, 5);
    close(d.sv[0]);
    close(d.sv[1]);
}

static void slow_writer(void *arg)
{
    struct dl_state *d = arg;
    TT_CHECK_EQ(tardy_sleep(100 * TT_MS), 0);
    TT_CHECK_EQ(tardy_send(d->sv[1], "late", 4, 0), 4);
}

static void cleared_entry(void *arg)
{
    struct dl_state *d = arg;
    char buf[16];
    tardy_deadline_after(20 * TT_MS);
    tardy_deadline_clear();
    TT_CHECK_EQ(tardy_spawn(slow_writer, d, NULL), 0);
    d->rc = tardy_recv(d->sv[0], buf, sizeof buf, 0);
    /* Replacing a deadline: the later one wins. */
    tardy_deadline_after(10 * TT_MS);
    tardy_deadline_after(10000 * TT_MS);
    TT_CHECK_EQ(tardy_sleep(40 * TT_MS), 0);
    tardy_deadline_clear();
}

Test(time, deadline_clear_and_replace)
{
    struct dl_state d = {0};
    tt_socketpair(d.sv);
    tardy_config cfg = {.threads = 1};
    TT_RUN(&cfg, cleared_entry, &d);
    TT_EXPECT_EQ(d.rc, 4);
    close(d.sv[0]);
    close(d.sv[1]);
}

static void chan_timeout_entry(void *arg)
{
    struct dl_state *d = arg;
    uint64_t v;
    uint64_t start = tardy_now();
    tardy_deadline_after(50 * TT_MS);
    d->rc = tardy_chan_recv(d->ch, &v);
    d->elapsed = tardy_now() - start;
    tardy_deadline_clear();
    /* The channel still works afterwards. */
    v = 7;
    TT_CHECK_EQ(tardy_chan_send(d->ch, &v), 0);
    v = 0;
    TT_CHECK_EQ(tardy_chan_recv(d->ch, &v), 0);
    TT_CHECK_EQ(v, 7);
}

Test(time, deadline_on_chan_recv)
{
    struct dl_state d = {0};
    cr_assert_eq(tardy_chan_create(&d.ch, sizeof(uint64_t), 4), 0);
    tardy_config cfg = {.threads = 1};
    TT_RUN(&cfg, chan_timeout_entry, &d);
    TT_EXPECT_EQ(d.rc, -ETIMEDOUT);
    cr_expect_geq(d.elapsed, 50 * TT_MS);
    tardy_chan_destroy(d.ch);
}

static void chan_send_timeout_entry(void *arg)
{
    struct dl_state *d = arg;
    uint64_t v = 1;
    TT_CHECK_EQ(tardy_chan_send(d->ch, &v), 0); /* fills capacity 1 */
    tardy_deadline_after(30 * TT_MS);
    d->rc = tardy_chan_send(d->ch, &v);
    tardy_deadline_clear();
}

Test(time, deadline_on_chan_send_to_a_full_channel)
{
    struct dl_state d = {0};
    cr_assert_eq(tardy_chan_create(&d.ch, sizeof(uint64_t), 1), 0);
    tardy_config cfg = {.threads = 1};
    TT_RUN(&cfg, chan_send_timeout_entry, &d);
    TT_EXPECT_EQ(d.rc, -ETIMEDOUT);
    tardy_chan_destroy(d.ch);
}

static void sleep_timeout_entry(void *arg)
{
    struct dl_state *d = arg;
    uint64_t start = tardy_now();
    tardy_deadline_after(50 * TT_MS);
    d->rc = tardy_sleep(20000 * TT_MS);
    d->elapsed = tardy_now() - start;
    tardy_deadline_clear();
}

Test(time, deadline_cuts_a_sleep_short)
{
    struct dl_state d = {0};
    tardy_config cfg = {.threads = 1};
    TT_RUN(&cfg, sleep_timeout_entry, &d);
    TT_EXPECT_EQ(d.rc, -ETIMEDOUT);
    cr_expect_geq(d.elapsed, 50 * TT_MS);
}

/* Deadlines belong to one task: another task's calls are unaffected. */
static void other_task(void *arg)
{
    struct dl_state *d = arg;
    TT_CHECK_EQ(tardy_sleep(80 * TT_MS), 0);
    d->elapsed = 1;
}

static void per_task_entry(void *arg)
{
    struct dl_state *d = arg;
    tardy_task t;
    TT_CHECK_EQ(tardy_spawn(other_task, d, &t), 0);
    tardy_deadline_after(20 * TT_MS);
    TT_CHECK_EQ(tardy_sleep(1000 * TT_MS), -ETIMEDOUT);
    tardy_deadline_clear();
    TT_CHECK_EQ(tardy_join(t), 0);
    d->rc = 0;
}

Test(time, deadline_is_per_task)
{
    struct dl_state d = {.rc = -1};
    tardy_config cfg = {.threads = 1};
    TT_RUN(&cfg, per_task_entry, &d);
    TT_EXPECT_EQ(d.rc, 0);
    TT_EXPECT_EQ(d.elapsed, 1);
}

/* Many sleepers with pseudo-random durations stress the timer heap: they
 * wake in the order of their end times (start plus duration). The start is
 * read here, a moment before tardy_sleep reads its own clock, so sleepers
 * ending within SLACK of each other may wake either way round. */
#define MANY 2000
#define SLACK (5 * TT_MS)

struct many_sleep {
    uint64_t end[MANY];
    int order[MANY];
    int woke;
    int ids[MANY];
};

static struct many_sleep *ms;

static void many_sleeper(void *arg)
{
    int id = *(int *)arg;
    uint32_t x = (uint32_t)id * 2654435761u;
    uint64_t dur = (uint64_t)((x >> 8) % 30) * 10 * TT_MS;
    ms->end[id] = tt_clock_ns() + dur;
    TT_CHECK_EQ(tardy_sleep(dur), 0);
    ms->order[ms->woke++] = id;
}

static void many_entry(void *arg)
{
    struct many_sleep *m = arg;
    for (int i = 0; i < MANY; i++) {
        m->ids[i] = i;
        TT_CHECK_EQ(tardy_spawn(many_sleeper, &m->ids[i], NULL), 0);
    }
}

Test(time, many_sleepers_wake_in_end_time_order)
{
    struct many_sleep *m = calloc(1, sizeof *m);
    cr_assert_not_null(m);
    ms = m;
    tardy_config cfg = {.threads = 1, .max_tasks = MANY + 1};
    TT_RUN(&cfg, many_entry, m);
    cr_assert_eq(m->woke, MANY);
    uint64_t latest = 0;
    for (int k = 0; k < MANY; k++) {
        int b = m->order[k];
        cr_assert(m->end[b] + SLACK >= latest,
                  "wake %d: task %d ends %llu us before one that woke earlier", k, b,
                  (unsigned long long)((latest - m->end[b]) / 1000));
        if (m->end[b] > latest)
            latest = m->end[b];
    }
    free(m);
}
