/* Cancellation: a parked operation returns -ECANCELED; a task that is not
 * parked gets -ECANCELED from its next call; finished tasks give -ESRCH;
 * cancel works from another runtime and from a plain thread. */
#include "common.h"

#include <pthread.h>

TestSuite(cancel, .timeout = 60);

struct cstate {
    int sv[2];
    tardy_chan *ch;
    tardy_chan *handles;
    tardy_task target;
    ssize_t rc;
    ssize_t next_rc;
    int cancel_rc;
    atomic_int parked;
    atomic_uint_least64_t target_id;
};

static void parked_in_recv(void *arg)
{
    struct cstate *c = arg;
    char buf[8];
    atomic_store(&c->parked, 1);
    c->rc = tardy_recv(c->sv[0], buf, sizeof buf, 0);
    /* The cancel is spent: the next call works. */
    TT_CHECK_EQ(send(c->sv[1], "ok", 2, 0), 2);
    c->next_rc = tardy_recv(c->sv[0], buf, sizeof buf, 0);
}

static void canceller(void *arg)
{
    struct cstate *c = arg;
    TT_CHECK_EQ(atomic_load(&c->parked), 1);
    c->cancel_rc = tardy_cancel(c->target);
}

static void recv_cancel_entry(void *arg)
{
    struct cstate *c = arg;
    tardy_task a, b;
    TT_CHECK_EQ(tardy_spawn(parked_in_recv, c, &a), 0);
    c->target = a;
    /* A runs first and parks in recv; then B cancels it. */
    TT_CHECK_EQ(tardy_spawn(canceller, c, &b), 0);
    TT_CHECK_EQ(tardy_join(a), 0);
    TT_CHECK_EQ(tardy_join(b), 0);
    /* A has finished now. */
    TT_CHECK_EQ(tardy_cancel(a), -ESRCH);
    TT_CHECK_EQ(tardy_cancel((tardy_task){0}), -EINVAL);
}

Test(cancel, parked_recv_returns_ecanceled)
{
    struct cstate c = {0};
    tt_socketpair(c.sv);
    tardy_config cfg = {.threads = 1};
    TT_RUN(&cfg, recv_cancel_entry, &c);
    TT_EXPECT_EQ(c.cancel_rc, 0);
    TT_EXPECT_EQ(c.rc, -ECANCELED);
    TT_EXPECT_EQ(c.next_rc, 2);
    close(c.sv[0]);
    close(c.sv[1]);
}

/* A parked sleep, chan_recv and join are cancelled the same way. */
struct multi_cancel {
    tardy_chan *ch;
    tardy_task sleeper, receiver, joiner, joined;
    int sleep_rc, chan_rc, join_rc;
};

static void mc_sleeper(void *arg)
{
    struct multi_cancel *m = arg;
    m->sleep_rc = tardy_sleep(20000 * TT_MS);
}

static void mc_receiver(void *arg)
{
    struct multi_cancel *m = arg;
    uint64_t v;
    m->chan_rc = tardy_chan_recv(m->ch, &v);
}

static void mc_joined(void *arg)
{
    (void)arg;
    TT_CHECK_EQ(tardy_sleep(50 * TT_MS), 0);
}

static void mc_joiner(void *arg)
{
    struct multi_cancel *m = arg;
    m->join_rc = tardy_join(m->joined);
}

static void multi_cancel_entry(void *arg)
{
    struct multi_cancel *m = arg;
    TT_CHECK_EQ(tardy_spawn(mc_sleeper, m, &m->sleeper), 0);
    TT_CHECK_EQ(tardy_spawn(mc_receiver, m, &m->receiver), 0);
    TT_CHECK_EQ(tardy_spawn(mc_joined, m, &m->joined), 0);
    TT_CHECK_EQ(tardy_spawn(mc_joiner, m, &m->joiner), 0);
    TT_CHECK_EQ(tardy_sleep(5 * TT_MS), 0); /* all of them are parked now */
    TT_CHECK_EQ(tardy_cancel(m->sleeper), 0);
    TT_CHECK_EQ(tardy_cancel(m->receiver), 0);
    TT_CHECK_EQ(tardy_cancel(m->joiner), 0);
    TT_CHECK_EQ(tardy_join(m->sleeper), 0);
    TT_CHECK_EQ(tardy_join(m->receiver), 0);
    TT_CHECK_EQ(tardy_join(m->joiner), 0);
    TT_CHECK_EQ(tardy_join(m->joined), 0);
}

Test(cancel, parked_sleep_chan_recv_and_join_return_ecanceled)
{
    struct multi_cancel m = {0};
    cr_assert_eq(tardy_chan_create(&m.ch, sizeof(uint64_t), 2), 0);
    tardy_config cfg = {.threads = 1};
    TT_RUN(&cfg, multi_cancel_entry, &m);
    TT_EXPECT_EQ(m.sleep_rc, -ECANCELED);
    TT_EXPECT_EQ(m.chan_rc, -ECANCELED);
    TT_EXPECT_EQ(m.join_rc, -ECANCELED);
    tardy_chan_destroy(m.ch);
}

/* A task that is not parked: its next task-only call fails, once. */
struct not_parked {
    int first_rc, second_rc, self_first, self_second;
};

static void not_yet_started(void *arg)
{
    struct not_parked *n = arg;
    n->first_rc = tardy_sleep(TT_MS);
    n->second_rc = tardy_sleep(TT_MS);
}

static void not_parked_entry(void *arg)
{
    struct not_parked *n = arg;
    tardy_task t;
    TT_CHECK_EQ(tardy_spawn(not_yet_started, n, &t), 0);
    /* It has not run yet, so it is not parked in an operation. */
    TT_CHECK_EQ(tardy_cancel(t), 0);
    TT_CHECK_EQ(tardy_join(t), 0);

    /* Cancelling oneself works the same way. */
    TT_CHECK_EQ(tardy_cancel(tardy_self()), 0);
    n->self_first = tardy_sleep(TT_MS);
    n->self_second = tardy_sleep(TT_MS);
}

Test(cancel, task_not_parked_gets_ecanceled_from_its_next_call)
{
    struct not_parked n = {0};
    tardy_config cfg = {.threads = 1};
    TT_RUN(&cfg, not_parked_entry, &n);
    TT_EXPECT_EQ(n.first_rc, -ECANCELED);
    TT_EXPECT_EQ(n.second_rc, 0);
    TT_EXPECT_EQ(n.self_first, -ECANCELED);
    TT_EXPECT_EQ(n.self_second, 0);
}

/* Runtime 1 parks in recv and publishes its handle; runtime 0 cancels it. */
static void cross_entry(void *arg)
{
    struct cstate *c = arg;
    if (tt_rt_index() == 1) {
        tardy_task me = tardy_self();
        TT_CHECK_EQ(tardy_chan_send(c->handles, &me), 0);
        char buf[8];
        c->rc = tardy_recv(c->sv[0], buf, sizeof buf, 0);
        return;
    }
    tardy_task t;
    TT_CHECK_EQ(tardy_chan_recv(c->handles, &t), 0);
    TT_CHECK_EQ(tardy_sleep(10 * TT_MS), 0);
    c->cancel_rc = tardy_cancel(t);
}

Test(cancel, cancel_from_another_runtime)
{
    struct cstate c = {.rc = 1};
    tt_socketpair(c.sv);
    cr_assert_eq(tardy_chan_create(&c.handles, sizeof(tardy_task), 1), 0);
    tardy_config cfg = {.threads = 2};
    TT_RUN(&cfg, cross_entry, &c);
    TT_EXPECT_EQ(c.cancel_rc, 0);
    TT_EXPECT_EQ(c.rc, -ECANCELED);
    tardy_chan_destroy(c.handles);
    close(c.sv[0]);
    close(c.sv[1]);
}

static void published_recv(void *arg)
{
    struct cstate *c = arg;
    char buf[8];
    atomic_store(&c->target_id, tardy_self().id);
    c->rc = tardy_recv(c->sv[0], buf, sizeof buf, 0);
}

static void *cancel_from_thread(void *arg)
{
    struct cstate *c = arg;
    uint64_t id = 0;
    for (int i = 0; i < 10000 && (id = atomic_load(&c->target_id)) == 0; i++)
        usleep(1000);
    usleep(20 * 1000);
    c->cancel_rc = tardy_cancel((tardy_task){.id = id});
    return NULL;
}

Test(cancel, cancel_from_outside_any_runtime)
{
    struct cstate c = {.rc = 1, .cancel_rc = 1};
    tt_socketpair(c.sv);
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, cancel_from_thread, &c), 0);
    tardy_config cfg = {.threads = 1};
    TT_RUN(&cfg, published_recv, &c);
    pthread_join(th, NULL);
    TT_EXPECT_EQ(c.cancel_rc, 0);
    TT_EXPECT_EQ(c.rc, -ECANCELED);
    close(c.sv[0]);
    close(c.sv[1]);
}

/* Handles outlive the run: cancelling a task of a finished run is -ESRCH. */
static void record_self(void *arg)
{
    struct cstate *c = arg;
    c->target = tardy_self();
}

Test(cancel, cancel_of_task_from_finished_run_is_esrch)
{
    struct cstate c = {0};
    tardy_config cfg = {.threads = 1};
    TT_RUN(&cfg, record_self, &c);
    cr_assert_neq(c.target.id, 0);
    TT_EXPECT_EQ(tardy_cancel(c.target), -ESRCH);
}

/* A task on another runtime that has finished: -ESRCH there too. */
struct xfinished {
    tardy_chan *handles;
    tardy_chan *done;
    int rc_runtime;
};

static void xf_child(void *arg) { (void)arg; }

static void xf_entry(void *arg)
{
    struct xfinished *x = arg;
    if (tt_rt_index() == 1) {
        tardy_task t;
        TT_CHECK_EQ(tardy_spawn(xf_child, NULL, &t), 0);
        TT_CHECK_EQ(tardy_join(t), 0);
        /* t has finished before runtime 0 learns its handle. */
        TT_CHECK_EQ(tardy_chan_send(x->handles, &t), 0);
        /* Stay alive until runtime 0 is done with the handle. */
        int v;
        TT_CHECK_EQ(tardy_chan_recv(x->done, &v), -EPIPE);
        return;
    }
    tardy_task t;
    TT_CHECK_EQ(tardy_chan_recv(x->handles, &t), 0);
    x->rc_runtime = tardy_cancel(t);
    tardy_chan_close(x->done);
}

Test(cancel, cancel_from_another_runtime_of_a_finished_task_is_esrch)
{
    struct xfinished x = {.rc_runtime = 1};
    cr_assert_eq(tardy_chan_create(&x.handles, sizeof(tardy_task), 1), 0);
    cr_assert_eq(tardy_chan_create(&x.done, sizeof(int), 1), 0);
    tardy_config cfg = {.threads = 2};
    TT_RUN(&cfg, xf_entry, &x);
    TT_EXPECT_EQ(x.rc_runtime, -ESRCH);
    tardy_chan_destroy(x.handles);
    tardy_chan_destroy(x.done);
}

/* Parked accept, connect-free poll and a deadline on accept. */
struct acc {
    int lfd;
    int sv[2];
    tardy_task acceptor, poller;
    int accept_rc, poll_rc, deadline_rc;
};

static void acc_acceptor(void *arg)
{
    struct acc *a = arg;
    a->accept_rc = tardy_accept(a->lfd, NULL, NULL);
}

static void acc_poller(void *arg)
{
    struct acc *a = arg;
    a->poll_rc = tardy_poll(a->sv[0], POLLIN);
}

static void acc_entry(void *arg)
{
    struct acc *a = arg;
    a->lfd = tardy_socket(AF_INET, SOCK_STREAM, 0);
    TT_CHECK(a->lfd >= 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    TT_CHECK_EQ(bind(a->lfd, (struct sockaddr *)&sa, sizeof sa), 0);
    TT_CHECK_EQ(listen(a->lfd, 4), 0);
    TT_CHECK_EQ(tardy_spawn(acc_acceptor, a, &a->acceptor), 0);
    TT_CHECK_EQ(tardy_spawn(acc_poller, a, &a->poller), 0);
    TT_CHECK_EQ(tardy_sleep(5 * TT_MS), 0);
    TT_CHECK_EQ(tardy_cancel(a->acceptor), 0);
    TT_CHECK_EQ(tardy_cancel(a->poller), 0);
    TT_CHECK_EQ(tardy_join(a->acceptor), 0);
    TT_CHECK_EQ(tardy_join(a->poller), 0);
    tardy_deadline_after(20 * TT_MS);
    a->deadline_rc = tardy_accept(a->lfd, NULL, NULL);
    tardy_deadline_clear();
    TT_CHECK_EQ(tardy_close(a->lfd), 0);
}

Test(cancel, parked_accept_and_poll_return_ecanceled)
{
    struct acc a = {.accept_rc = 1, .poll_rc = 1, .deadline_rc = 1};
    tt_socketpair(a.sv);
    tardy_config cfg = {.threads = 1};
    TT_RUN(&cfg, acc_entry, &a);
    TT_EXPECT_EQ(a.accept_rc, -ECANCELED);
    TT_EXPECT_EQ(a.poll_rc, -ECANCELED);
    TT_EXPECT_EQ(a.deadline_rc, -ETIMEDOUT);
    close(a.sv[0]);
    close(a.sv[1]);
}
