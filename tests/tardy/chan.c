/* Channels: a million messages between two runtimes in order, several
 * producers and consumers, unbuffered rendezvous, close waking every
 * waiter, and the non-parking variants. */
#include "common.h"

TestSuite(chan, .timeout = 120);

/* ---- 1,000,000 messages from runtime 0 to runtime 1 ---------------------- */

#define MILLION 1000000ull

struct million {
    tardy_chan *ch;
    uint64_t received;
    uint64_t out_of_order;
    uint64_t first_bad_got, first_bad_want;
    int send_errors;
    int end_rc;
    atomic_int roles[2];
};

static void million_entry(void *arg)
{
    struct million *m = arg;
    unsigned idx = tt_rt_index();
    TT_CHECK(idx < 2);
    if (idx >= 2)
        return;
    atomic_fetch_add(&m->roles[idx], 1);
    if (idx == 0) {
        for (uint64_t i = 0; i < MILLION; i++) {
            int rc = tardy_chan_send(m->ch, &i);
            if (rc != 0) {
                TT_CHECK_EQ(rc, 0);
                m->send_errors++;
                break;
            }
        }
        tardy_chan_close(m->ch);
    } else {
        uint64_t v, want = 0;
        int rc;
        while ((rc = tardy_chan_recv(m->ch, &v)) == 0) {
            if (v != want && m->out_of_order++ == 0) {
                m->first_bad_got = v;
                m->first_bad_want = want;
            }
            want = v + 1;
            m->received++;
        }
        m->end_rc = rc;
    }
}

Test(chan, million_messages_across_runtimes_in_order)
{
    struct million m = {0};
    cr_assert_eq(tardy_chan_create(&m.ch, sizeof(uint64_t), 1024), 0);
    tardy_config cfg = {.threads = 2};
    TT_RUN(&cfg, million_entry, &m);
    TT_EXPECT_EQ(atomic_load(&m.roles[0]), 1);
    TT_EXPECT_EQ(atomic_load(&m.roles[1]), 1);
    TT_EXPECT_EQ(m.send_errors, 0);
    cr_expect_eq(m.received, MILLION, "received %llu", (unsigned long long)m.received);
    cr_expect_eq(m.out_of_order, 0, "first gap: got %llu, expected %llu",
                 (unsigned long long)m.first_bad_got, (unsigned long long)m.first_bad_want);
    TT_EXPECT_EQ(m.end_rc, -EPIPE);
    tardy_chan_destroy(m.ch);
}

/* ---- several producers and consumers on two runtimes --------------------- */

#define PRODUCERS 4
#define CONSUMERS 4
#define PER_PRODUCER 20000

struct mpmc {
    tardy_chan *ch;
    atomic_int producers_left;
    int ids[PRODUCERS];
    unsigned char seen[PRODUCERS][PER_PRODUCER];
    atomic_long received;
    atomic_long duplicates;
    atomic_long reordered;
};

struct prod_arg {
    struct mpmc *s;
    int id;
};

static struct prod_arg prod_args[PRODUCERS];

static void producer(void *arg)
{
    struct prod_arg *p = arg;
    for (uint32_t i = 0; i < PER_PRODUCER; i++) {
        uint64_t msg = ((uint64_t)p->id << 32) | i;
        TT_CHECK_EQ(tardy_chan_send(p->s->ch, &msg), 0);
    }
    if (atomic_fetch_sub(&p->s->producers_left, 1) == 1)
        tardy_chan_close(p->s->ch);
}

static void consumer(void *arg)
{
    struct mpmc *s = arg;
    int64_t last[PRODUCERS];
    for (int i = 0; i < PRODUCERS; i++)
        last[i] = -1;
    uint64_t msg;
    int rc;
    while ((rc = tardy_chan_recv(s->ch, &msg)) == 0) {
        unsigned id = (unsigned)(msg >> 32);
        uint32_t seq = (uint32_t)msg;
        if (id >= PRODUCERS || seq >= PER_PRODUCER) {
            tt_fail(__FILE__, __LINE__, "bad message %llx", (unsigned long long)msg);
            continue;
        }
        /* Only this runtime's thread writes seen[] (all consumers live on
         * runtime 1). */
        if (s->seen[id][seq]++)
            atomic_fetch_add(&s->duplicates, 1);
        /* FIFO: one producer's messages reach any one consumer in order. */
        if ((int64_t)seq <= last[id])
            atomic_fetch_add(&s->reordered, 1);
        last[id] = seq;
        atomic_fetch_add(&s->received, 1);
    }
    TT_CHECK_EQ(rc, -EPIPE);
}

static void mpmc_entry(void *arg)
{
    struct mpmc *s = arg;
    if (tt_rt_index() == 0) {
        for (int i = 0; i < PRODUCERS; i++) {
            prod_args[i] = (struct prod_arg){.s = s, .id = i};
            TT_CHECK_EQ(tardy_spawn(producer, &prod_args[i], NULL), 0);
        }
    } else {
        for (int i = 0; i < CONSUMERS; i++)
            TT_CHECK_EQ(tardy_spawn(consumer, s, NULL), 0);
    }
}

Test(chan, several_producers_and_consumers)
{
    struct mpmc *s = calloc(1, sizeof *s);
    cr_assert_not_null(s);
    atomic_store(&s->producers_left, PRODUCERS);
    cr_assert_eq(tardy_chan_create(&s->ch, sizeof(uint64_t), 16), 0);
    tardy_config cfg = {.threads = 2};
    TT_RUN(&cfg, mpmc_entry, s);
    TT_EXPECT_EQ(atomic_load(&s->received), (long)PRODUCERS * PER_PRODUCER);
    TT_EXPECT_EQ(atomic_load(&s->duplicates), 0);
    TT_EXPECT_EQ(atomic_load(&s->reordered), 0);
    long missing = 0;
    for (int p = 0; p < PRODUCERS; p++)
        for (int i = 0; i < PER_PRODUCER; i++)
            missing += s->seen[p][i] == 0;
    TT_EXPECT_EQ(missing, 0);
    tardy_chan_destroy(s->ch);
    free(s);
}

/* ---- one runtime, tiny capacity ------------------------------------------ */

struct local {
    tardy_chan *ch;
    int n;
    int bad;
    int sent_returned;
    int seen_before_recv;
};

static void local_producer(void *arg)
{
    struct local *l = arg;
    for (int i = 0; i < l->n; i++)
        TT_CHECK_EQ(tardy_chan_send(l->ch, &i), 0);
    tardy_chan_close(l->ch);
}

static void local_consumer(void *arg)
{
    struct local *l = arg;
    int v, want = 0, rc;
    while ((rc = tardy_chan_recv(l->ch, &v)) == 0) {
        if (v != want)
            l->bad++;
        want = v + 1;
    }
    TT_CHECK_EQ(rc, -EPIPE);
    TT_CHECK_EQ(want, l->n);
}

static void local_entry(void *arg)
{
    struct local *l = arg;
    TT_CHECK_EQ(tardy_spawn(local_producer, l, NULL), 0);
    TT_CHECK_EQ(tardy_spawn(local_consumer, l, NULL), 0);
}

Test(chan, same_runtime_small_capacity_in_order)
{
    struct local l = {.n = 20000};
    cr_assert_eq(tardy_chan_create(&l.ch, sizeof(int), 3), 0);
    tardy_config cfg = {.threads = 1};
    TT_RUN(&cfg, local_entry, &l);
    TT_EXPECT_EQ(l.bad, 0);
    tardy_chan_destroy(l.ch);
}

Test(chan, unbuffered_channel_in_order)
{
    struct local l = {.n = 5000};
    cr_assert_eq(tardy_chan_create(&l.ch, sizeof(int), 0), 0);
    tardy_config cfg = {.threads = 1};
    TT_RUN(&cfg, local_entry, &l);
    TT_EXPECT_EQ(l.bad, 0);
    tardy_chan_destroy(l.ch);
}

/* An unbuffered send completes only when a receiver takes the message. */
static void rendezvous_sender(void *arg)
{
    struct local *l = arg;
    int v = 42;
    TT_CHECK_EQ(tardy_chan_try_send(l->ch, &v), -EAGAIN); /* nobody waiting */
    TT_CHECK_EQ(tardy_chan_send(l->ch, &v), 0);
    l->sent_returned = 1;
}

static void rendezvous_entry(void *arg)
{
    struct local *l = arg;
    tardy_task s;
    TT_CHECK_EQ(tardy_spawn(rendezvous_sender, l, &s), 0);
    TT_CHECK_EQ(tardy_sleep(20 * TT_MS), 0);
    l->seen_before_recv = l->sent_returned;
    int v = 0;
    TT_CHECK_EQ(tardy_chan_recv(l->ch, &v), 0);
    TT_CHECK_EQ(v, 42);
    TT_CHECK_EQ(tardy_join(s), 0);
    TT_CHECK_EQ(l->sent_returned, 1);
    /* With nobody sending, an unbuffered try_recv has nothing. */
    TT_CHECK_EQ(tardy_chan_try_recv(l->ch, &v), -EAGAIN);
}

Test(chan, unbuffered_send_waits_for_a_receiver)
{
    struct local l = {0};
    cr_assert_eq(tardy_chan_create(&l.ch, sizeof(int), 0), 0);
    tardy_config cfg = {.threads = 1};
    TT_RUN(&cfg, rendezvous_entry, &l);
    cr_expect_eq(l.seen_before_recv, 0, "unbuffered send returned before any receiver");
    TT_EXPECT_EQ(l.sent_returned, 1);
    tardy_chan_destroy(l.ch);
}

/* A receiver parked in an unbuffered recv takes a try_send. */
static void parked_receiver(void *arg)
{
    struct local *l = arg;
    int v = 0;
    TT_CHECK_EQ(tardy_chan_recv(l->ch, &v), 0);
    l->sent_returned = v;
}

static void try_to_parked_entry(void *arg)
{
    struct local *l = arg;
    tardy_task r;
    TT_CHECK_EQ(tardy_spawn(parked_receiver, l, &r), 0);
    TT_CHECK_EQ(tardy_sleep(5 * TT_MS), 0);
    int v = 77;
    TT_CHECK_EQ(tardy_chan_try_send(l->ch, &v), 0);
    TT_CHECK_EQ(tardy_join(r), 0);
}

Test(chan, unbuffered_try_send_to_a_parked_receiver)
{
    struct local l = {0};
    cr_assert_eq(tardy_chan_create(&l.ch, sizeof(int), 0), 0);
    tardy_config cfg = {.threads = 1};
    TT_RUN(&cfg, try_to_parked_entry, &l);
    TT_EXPECT_EQ(l.sent_returned, 77);
    tardy_chan_destroy(l.ch);
}

/* ---- close --------------------------------------------------------------- */

#define WAITERS 5

struct closing {
    tardy_chan *ch;
    tardy_chan *full;
    int recv_rc[WAITERS];
    int woken;
    int send_rc;
    int drained[3];
    int drain_rc;
    int after_close_send, after_close_try_send, after_close_try_recv;
};

struct waiter_arg {
    struct closing *c;
    int i;
};

static void close_waiter(void *arg)
{
    struct waiter_arg *w = arg;
    int v;
    w->c->recv_rc[w->i] = tardy_chan_recv(w->c->ch, &v);
    w->c->woken++;
}

static void full_sender(void *arg)
{
    struct closing *c = arg;
    int v = 1;
    c->send_rc = tardy_chan_send(c->full, &v); /* full: parks until close */
}

static void close_entry(void *arg)
{
    struct closing *c = arg;
    struct waiter_arg w[WAITERS];
    tardy_task t[WAITERS + 1];
    for (int i = 0; i < WAITERS; i++) {
        w[i] = (struct waiter_arg){.c = c, .i = i};
        TT_CHECK_EQ(tardy_spawn(close_waiter, &w[i], &t[i]), 0);
    }
    TT_CHECK_EQ(tardy_spawn(full_sender, c, &t[WAITERS]), 0);
    TT_CHECK_EQ(tardy_sleep(10 * TT_MS), 0);
    TT_CHECK_EQ(c->woken, 0);
    tardy_chan_close(c->ch);
    tardy_chan_close(c->full);
    tardy_chan_close(c->ch); /* idempotent */
    for (int i = 0; i <= WAITERS; i++)
        TT_CHECK_EQ(tardy_join(t[i]), 0);
    int v = 3;
    c->after_close_send = tardy_chan_send(c->ch, &v);
    c->after_close_try_send = tardy_chan_try_send(c->ch, &v);
    c->after_close_try_recv = tardy_chan_try_recv(c->ch, &v);
}

Test(chan, close_wakes_every_waiter)
{
    struct closing c = {0};
    cr_assert_eq(tardy_chan_create(&c.ch, sizeof(int), 4), 0);
    cr_assert_eq(tardy_chan_create(&c.full, sizeof(int), 1), 0);
    int v = 9;
    cr_assert_eq(tardy_chan_try_send(c.full, &v), 0);
    tardy_config cfg = {.threads = 1};
    TT_RUN(&cfg, close_entry, &c);
    TT_EXPECT_EQ(c.woken, WAITERS);
    for (int i = 0; i < WAITERS; i++)
        cr_expect_eq(c.recv_rc[i], -EPIPE, "waiter %d got %d", i, c.recv_rc[i]);
    TT_EXPECT_EQ(c.send_rc, -EPIPE);
    TT_EXPECT_EQ(c.after_close_send, -EPIPE);
    TT_EXPECT_EQ(c.after_close_try_send, -EPIPE);
    TT_EXPECT_EQ(c.after_close_try_recv, -EPIPE);
    /* The full channel keeps the message sent before close. */
    v = 0;
    TT_EXPECT_EQ(tardy_chan_try_recv(c.full, &v), 0);
    TT_EXPECT_EQ(v, 9);
    TT_EXPECT_EQ(tardy_chan_try_recv(c.full, &v), -EPIPE);
    tardy_chan_destroy(c.ch);
    tardy_chan_destroy(c.full);
}

static void drain_entry(void *arg)
{
    struct closing *c = arg;
    for (int i = 0; i < 3; i++)
        TT_CHECK_EQ(tardy_chan_recv(c->ch, &c->drained[i]), 0);
    int v;
    c->drain_rc = tardy_chan_recv(c->ch, &v);
}

Test(chan, messages_sent_before_close_are_delivered_first)
{
    struct closing c = {0};
    cr_assert_eq(tardy_chan_create(&c.ch, sizeof(int), 8), 0);
    for (int i = 0; i < 3; i++) {
        int v = 100 + i;
        cr_assert_eq(tardy_chan_try_send(c.ch, &v), 0);
    }
    tardy_chan_close(c.ch);
    tardy_config cfg = {.threads = 1};
    TT_RUN(&cfg, drain_entry, &c);
    for (int i = 0; i < 3; i++)
        TT_EXPECT_EQ(c.drained[i], 100 + i);
    TT_EXPECT_EQ(c.drain_rc, -EPIPE);
    tardy_chan_destroy(c.ch);
}

/* Receivers on another runtime are woken by a close, too. */
struct xclose {
    tardy_chan *ch;
    tardy_chan *ready;
    atomic_int rc[3];
};

static void xclose_waiter(void *arg)
{
    struct xclose *x = arg;
    static atomic_int next;
    int i = atomic_fetch_add(&next, 1);
    int one = 1, v;
    TT_CHECK_EQ(tardy_chan_send(x->ready, &one), 0);
    if (i < 3)
        atomic_store(&x->rc[i], tardy_chan_recv(x->ch, &v));
}

static void xclose_entry(void *arg)
{
    struct xclose *x = arg;
    if (tt_rt_index() == 1) {
        for (int i = 0; i < 3; i++)
            TT_CHECK_EQ(tardy_spawn(xclose_waiter, x, NULL), 0);
        return;
    }
    int v;
    for (int i = 0; i < 3; i++)
        TT_CHECK_EQ(tardy_chan_recv(x->ready, &v), 0);
    TT_CHECK_EQ(tardy_sleep(10 * TT_MS), 0);
    tardy_chan_close(x->ch);
}

Test(chan, close_wakes_waiters_on_another_runtime)
{
    struct xclose x = {0};
    for (int i = 0; i < 3; i++)
        atomic_store(&x.rc[i], 1);
    cr_assert_eq(tardy_chan_create(&x.ch, sizeof(int), 2), 0);
    cr_assert_eq(tardy_chan_create(&x.ready, sizeof(int), 4), 0);
    tardy_config cfg = {.threads = 2};
    TT_RUN(&cfg, xclose_entry, &x);
    for (int i = 0; i < 3; i++)
        TT_EXPECT_EQ(atomic_load(&x.rc[i]), -EPIPE);
    tardy_chan_destroy(x.ch);
    tardy_chan_destroy(x.ready);
}

/* ---- non-parking variants and creation ----------------------------------- */

Test(chan, try_send_and_try_recv_outside_a_runtime)
{
    tardy_chan *ch;
    cr_assert_eq(tardy_chan_create(&ch, sizeof(uint64_t), 2), 0);
    uint64_t v = 0;
    TT_EXPECT_EQ(tardy_chan_try_recv(ch, &v), -EAGAIN);
    v = 1;
    TT_EXPECT_EQ(tardy_chan_try_send(ch, &v), 0);
    v = 2;
    TT_EXPECT_EQ(tardy_chan_try_send(ch, &v), 0);
    v = 3;
    TT_EXPECT_EQ(tardy_chan_try_send(ch, &v), -EAGAIN);
    TT_EXPECT_EQ(tardy_chan_try_recv(ch, &v), 0);
    TT_EXPECT_EQ(v, 1);
    TT_EXPECT_EQ(tardy_chan_try_recv(ch, &v), 0);
    TT_EXPECT_EQ(v, 2);
    TT_EXPECT_EQ(tardy_chan_try_recv(ch, &v), -EAGAIN);
    tardy_chan_destroy(ch);

    /* Messages are copied whole, whatever their size. */
    struct big {
        char bytes[100];
    } in, out;
    cr_assert_eq(tardy_chan_create(&ch, sizeof in, 1), 0);
    for (int i = 0; i < 100; i++)
        in.bytes[i] = (char)i;
    TT_EXPECT_EQ(tardy_chan_try_send(ch, &in), 0);
    memset(&out, 0, sizeof out);
    TT_EXPECT_EQ(tardy_chan_try_recv(ch, &out), 0);
    cr_expect(memcmp(&in, &out, sizeof in) == 0);
    tardy_chan_destroy(ch);
}

Test(chan, create_with_zero_elem_size_is_einval)
{
    tardy_chan *ch = (tardy_chan *)0x1;
    TT_EXPECT_EQ(tardy_chan_create(&ch, 0, 4), -EINVAL);
}

struct trystate {
    tardy_chan *ch;
    int full_rc, empty_rc;
};

static void try_entry(void *arg)
{
    struct trystate *t = arg;
    int v = 5;
    t->empty_rc = tardy_chan_try_recv(t->ch, &v);
    TT_CHECK_EQ(tardy_chan_try_send(t->ch, &v), 0);
    t->full_rc = tardy_chan_try_send(t->ch, &v);
    TT_CHECK_EQ(tardy_chan_recv(t->ch, &v), 0);
    TT_CHECK_EQ(v, 5);
}

Test(chan, try_variants_inside_a_task)
{
    struct trystate t = {0};
    cr_assert_eq(tardy_chan_create(&t.ch, sizeof(int), 1), 0);
    tardy_config cfg = {.threads = 1};
    TT_RUN(&cfg, try_entry, &t);
    TT_EXPECT_EQ(t.empty_rc, -EAGAIN);
    TT_EXPECT_EQ(t.full_rc, -EAGAIN);
    tardy_chan_destroy(t.ch);
}

/* A send that is cancelled or times out while parked delivers nothing. */
struct aborted {
    tardy_chan *ch;
    tardy_task sender;
    int cancel_rc, timeout_rc;
    int got[4];
    int n;
};

static void aborted_sender(void *arg)
{
    struct aborted *a = arg;
    int v = 2;
    a->cancel_rc = tardy_chan_send(a->ch, &v); /* full: parks, then cancelled */
    tardy_deadline_after(10 * TT_MS);
    v = 3;
    a->timeout_rc = tardy_chan_send(a->ch, &v); /* still full: times out */
    tardy_deadline_clear();
}

static void aborted_entry(void *arg)
{
    struct aborted *a = arg;
    int v = 1;
    TT_CHECK_EQ(tardy_chan_send(a->ch, &v), 0); /* fills capacity 1 */
    TT_CHECK_EQ(tardy_spawn(aborted_sender, a, &a->sender), 0);
    TT_CHECK_EQ(tardy_sleep(5 * TT_MS), 0);
    TT_CHECK_EQ(tardy_cancel(a->sender), 0);
    TT_CHECK_EQ(tardy_join(a->sender), 0);
    while (a->n < 4 && tardy_chan_try_recv(a->ch, &a->got[a->n]) == 0)
        a->n++;
}

Test(chan, cancelled_or_timed_out_send_delivers_nothing)
{
    struct aborted a = {0};
    cr_assert_eq(tardy_chan_create(&a.ch, sizeof(int), 1), 0);
    tardy_config cfg = {.threads = 1};
    TT_RUN(&cfg, aborted_entry, &a);
    TT_EXPECT_EQ(a.cancel_rc, -ECANCELED);
    TT_EXPECT_EQ(a.timeout_rc, -ETIMEDOUT);
    TT_EXPECT_EQ(a.n, 1);
    TT_EXPECT_EQ(a.got[0], 1);
    tardy_chan_destroy(a.ch);
}

/* The same on an unbuffered channel: a receiver arriving after the parked
 * sender gave up finds nothing. */
static void unbuffered_abort_sender(void *arg)
{
    struct aborted *a = arg;
    int v = 5;
    tardy_deadline_after(10 * TT_MS);
    a->timeout_rc = tardy_chan_send(a->ch, &v);
    tardy_deadline_clear();
}

static void unbuffered_abort_entry(void *arg)
{
    struct aborted *a = arg;
    TT_CHECK_EQ(tardy_spawn(unbuffered_abort_sender, a, &a->sender), 0);
    TT_CHECK_EQ(tardy_join(a->sender), 0);
    int v;
    a->cancel_rc = tardy_chan_try_recv(a->ch, &v);
}

Test(chan, unbuffered_send_that_timed_out_delivers_nothing)
{
    struct aborted a = {0};
    cr_assert_eq(tardy_chan_create(&a.ch, sizeof(int), 0), 0);
    tardy_config cfg = {.threads = 1};
    TT_RUN(&cfg, unbuffered_abort_entry, &a);
    TT_EXPECT_EQ(a.timeout_rc, -ETIMEDOUT);
    TT_EXPECT_EQ(a.cancel_rc, -EAGAIN);
    tardy_chan_destroy(a.ch);
}
