/* Task-aware mutexes and condition variables: exclusion under contention
 * across runtimes, FIFO hand-off, deadlines and cancels while waiting,
 * signal and broadcast, the misuse errors, and a stop with waiters. */
#include "common.h"

#include <pthread.h>

TestSuite(mutex, .timeout = 120);

/* ---- mutual exclusion across runtimes ------------------------------------ */

#define EXCL_THREADS 3
#define EXCL_TASKS 6
#define EXCL_ROUNDS 300

struct excl {
    tardy_mutex lock;
    long counter; /* guarded by lock, read-modify-written across a yield */
    atomic_int inside;
    atomic_int overlaps;
    atomic_int done;
};

static void excl_worker(void *arg)
{
    struct excl *e = arg;
    for (int i = 0; i < EXCL_ROUNDS; i++) {
        int rc = tardy_mutex_lock(&e->lock);
        TT_CHECK_EQ(rc, 0);
        if (rc != 0)
            return;
        if (atomic_fetch_add(&e->inside, 1) != 0)
            atomic_fetch_add(&e->overlaps, 1);
        long seen = e->counter;
        /* Other tasks of this thread run now, and other threads go on:
         * only the lock keeps them off the counter. */
        tardy_yield();
        e->counter = seen + 1;
        atomic_fetch_sub(&e->inside, 1);
        TT_CHECK_EQ(tardy_mutex_unlock(&e->lock), 0);
        if (i % 7 == 0)
            tardy_yield();
    }
    atomic_fetch_add(&e->done, 1);
}

static void excl_entry(void *arg)
{
    for (int i = 0; i < EXCL_TASKS; i++)
        TT_CHECK_EQ(tardy_spawn(excl_worker, arg, NULL), 0);
}

Test(mutex, excludes_across_threads_with_yields_inside)
{
    static struct excl e = {.lock = TARDY_MUTEX_INIT};
    tardy_config cfg = {.threads = EXCL_THREADS};
    TT_RUN(&cfg, excl_entry, &e);
    TT_EXPECT_EQ(atomic_load(&e.done), EXCL_THREADS * EXCL_TASKS);
    TT_EXPECT_EQ(atomic_load(&e.overlaps), 0);
    TT_EXPECT_EQ(e.counter, (long)EXCL_THREADS * EXCL_TASKS * EXCL_ROUNDS);
}

/* ---- FIFO hand-off, across runtimes, and no barging ------------------------ */

#define FIFO_WAITERS 16

struct fifo {
    tardy_mutex lock;
    atomic_bool held;
    atomic_bool all_queued;
    int order[FIFO_WAITERS];
    int served; /* guarded by lock */
    int barge_rc;
    int relock_rc;
};

struct fifo_arg {
    struct fifo *f;
    int id;
};

static struct fifo_arg fifo_args[FIFO_WAITERS];

static void fifo_waiter(void *arg)
{
    struct fifo_arg *a = arg;
    int rc = tardy_mutex_lock(&a->f->lock);
    TT_CHECK_EQ(rc, 0);
    if (rc != 0)
        return;
    a->f->order[a->f->served++] = a->id;
    tardy_sleep(TT_MS / 2); /* hold it across a park */
    TT_CHECK_EQ(tardy_mutex_unlock(&a->f->lock), 0);
}

/* Runs after every waiter of this runtime: they ran in spawn order, and
 * each was queued before the next started. */
static void fifo_marker(void *arg)
{
    struct fifo *f = arg;
    atomic_store(&f->all_queued, true);
}

static void fifo_entry(void *arg)
{
    struct fifo *f = arg;
    if (tt_rt_index() == 0) {
        TT_CHECK_EQ(tardy_mutex_lock(&f->lock), 0);
        atomic_store(&f->held, true);
        while (!atomic_load(&f->all_queued))
            tardy_sleep(TT_MS);
        TT_CHECK_EQ(tardy_mutex_unlock(&f->lock), 0);
        /* Handed to the first waiter already: nobody can take it. */
        f->barge_rc = tardy_mutex_trylock(&f->lock);
        /* A lock now queues behind all of them. */
        f->relock_rc = tardy_mutex_lock(&f->lock);
        if (f->relock_rc == 0) {
            TT_CHECK_EQ(f->served, FIFO_WAITERS);
            TT_CHECK_EQ(tardy_mutex_unlock(&f->lock), 0);
        }
        return;
    }
    while (!atomic_load(&f->held))
        tardy_sleep(TT_MS);
    for (int i = 0; i < FIFO_WAITERS; i++) {
        fifo_args[i] = (struct fifo_arg){.f = f, .id = i};
        TT_CHECK_EQ(tardy_spawn(fifo_waiter, &fifo_args[i], NULL), 0);
    }
    TT_CHECK_EQ(tardy_spawn(fifo_marker, f, NULL), 0);
}

Test(mutex, hands_over_in_fifo_order_across_runtimes)
{
    static struct fifo f;
    memset(&f, 0, sizeof f);
    tardy_config cfg = {.threads = 2};
    TT_RUN(&cfg, fifo_entry, &f);
    TT_EXPECT_EQ(f.barge_rc, -EBUSY);
    TT_EXPECT_EQ(f.relock_rc, 0);
    TT_EXPECT_EQ(f.served, FIFO_WAITERS);
    for (int i = 0; i < FIFO_WAITERS; i++)
        cr_expect_eq(f.order[i], i, "served %d-th: waiter %d", i, f.order[i]);
}

/* ---- deadline and cancel while waiting ------------------------------------ */

struct interrupted {
    tardy_mutex lock;
    tardy_task victim;
    atomic_bool victim_parked;
    int timed_out_rc;
    int cancelled_rc;
    int after_rc;
    int next_rc;
    uint64_t waited_ns;
};

static void deadline_waiter(void *arg)
{
    struct interrupted *s = arg;
    uint64_t t0 = tt_clock_ns();
    tardy_deadline_after(20 * TT_MS);
    s->timed_out_rc = tardy_mutex_lock(&s->lock);
    tardy_deadline_clear();
    s->waited_ns = tt_clock_ns() - t0;
    if (s->timed_out_rc == 0)
        tardy_mutex_unlock(&s->lock);
    /* Not the owner: the timed-out wait left nothing behind. */
    TT_CHECK_EQ(tardy_mutex_unlock(&s->lock), -EPERM);
}

static void cancel_victim(void *arg)
{
    struct interrupted *s = arg;
    s->victim = tardy_self();
    atomic_store(&s->victim_parked, true);
    s->cancelled_rc = tardy_mutex_lock(&s->lock);
    if (s->cancelled_rc == 0)
        tardy_mutex_unlock(&s->lock);
    s->after_rc = tardy_sleep(1); /* the cancel was used up */
}

static void next_in_line(void *arg)
{
    struct interrupted *s = arg;
    s->next_rc = tardy_mutex_lock(&s->lock);
    if (s->next_rc == 0)
        TT_CHECK_EQ(tardy_mutex_unlock(&s->lock), 0);
}

static void interrupted_entry(void *arg)
{
    struct interrupted *s = arg;
    if (tt_rt_index() == 1) {
        while (!atomic_load(&s->victim_parked))
            tardy_sleep(TT_MS);
        return;
    }
    TT_CHECK_EQ(tardy_mutex_lock(&s->lock), 0);
    tardy_task dw, nx;
    TT_CHECK_EQ(tardy_spawn(deadline_waiter, s, &dw), 0);
    TT_CHECK_EQ(tardy_spawn_on(tardy_runtime_at(1), cancel_victim, s), 0);
    while (!atomic_load(&s->victim_parked))
        tardy_sleep(TT_MS);
    tardy_sleep(5 * TT_MS); /* let the victim park in the lock */
    TT_CHECK_EQ(tardy_spawn(next_in_line, s, &nx), 0);
    TT_CHECK_EQ(tardy_join(dw), 0);
    TT_CHECK_EQ(tardy_cancel(s->victim), 0);
    tardy_sleep(10 * TT_MS);
    TT_CHECK_EQ(tardy_mutex_unlock(&s->lock), 0);
    TT_CHECK_EQ(tardy_join(nx), 0);
}

Test(mutex, deadline_and_cross_runtime_cancel_while_waiting)
{
    static struct interrupted s;
    memset(&s, 0, sizeof s);
    tardy_config cfg = {.threads = 2};
    TT_RUN(&cfg, interrupted_entry, &s);
    TT_EXPECT_EQ(s.timed_out_rc, -ETIMEDOUT);
    TT_EXPECT_EQ(s.cancelled_rc, -ECANCELED);
    TT_EXPECT_EQ(s.after_rc, 0);
    TT_EXPECT_EQ(s.next_rc, 0);
    printf("mutex: a 20 ms deadline ended the wait after %.1f ms\n", s.waited_ns / 1e6);
}

/* ---- misuse ---------------------------------------------------------------- */

struct misuse {
    tardy_mutex lock;
    tardy_cond cond;
    int rc[10];
};

static void misuse_other(void *arg)
{
    struct misuse *m = arg;
    m->rc[4] = tardy_mutex_unlock(&m->lock); /* held by the entry */
    m->rc[5] = tardy_mutex_trylock(&m->lock);
}

static void misuse_entry(void *arg)
{
    struct misuse *m = arg;
    m->rc[0] = tardy_mutex_unlock(&m->lock); /* nobody holds it */
    m->rc[1] = tardy_cond_wait(&m->cond, &m->lock);
    m->rc[2] = tardy_mutex_trylock(&m->lock);
    m->rc[3] = tardy_mutex_lock(&m->lock);
    tardy_task t;
    TT_CHECK_EQ(tardy_spawn(misuse_other, m, &t), 0);
    TT_CHECK_EQ(tardy_join(t), 0);
    m->rc[6] = tardy_mutex_lock(NULL);
    /* A pending cancel: the wait does not start and the mutex stays. */
    TT_CHECK_EQ(tardy_cancel(tardy_self()), 0);
    m->rc[7] = tardy_cond_wait(&m->cond, &m->lock);
    m->rc[8] = tardy_cond_signal(&m->cond);
    m->rc[9] = tardy_mutex_unlock(&m->lock);
}

Test(mutex, misuse_errors)
{
    struct misuse m;
    memset(&m, 0, sizeof m);
    cr_expect_eq(tardy_mutex_lock(&m.lock), -EPERM);
    cr_expect_eq(tardy_mutex_trylock(&m.lock), -EPERM);
    cr_expect_eq(tardy_mutex_unlock(&m.lock), -EPERM);
    cr_expect_eq(tardy_cond_wait(&m.cond, &m.lock), -EPERM);
    cr_expect_eq(tardy_cond_signal(NULL), -EINVAL);
    cr_expect_eq(tardy_cond_broadcast(&m.cond), 0);
    tardy_config cfg = {.threads = 1};
    TT_RUN(&cfg, misuse_entry, &m);
    TT_EXPECT_EQ(m.rc[0], -EPERM);
    TT_EXPECT_EQ(m.rc[1], -EPERM);
    TT_EXPECT_EQ(m.rc[2], 0);
    TT_EXPECT_EQ(m.rc[3], -EDEADLK);
    TT_EXPECT_EQ(m.rc[4], -EPERM);
    TT_EXPECT_EQ(m.rc[5], -EBUSY);
    TT_EXPECT_EQ(m.rc[6], -EINVAL);
    TT_EXPECT_EQ(m.rc[7], -ECANCELED);
    TT_EXPECT_EQ(m.rc[8], 0);
    TT_EXPECT_EQ(m.rc[9], 0);
}

/* ---- condition: signal, broadcast, deadline, cancel ------------------------ */

#define COND_WAITERS 6

struct condt {
    tardy_mutex lock;
    tardy_cond cond;
    int tickets;     /* guarded by lock: how many waiters may go */
    int waiting;     /* guarded by lock */
    int woken;       /* guarded by lock */
    int held_after;  /* waiters that returned holding the lock */
    int signal_rc;
    int broadcast_rc;
    int timeout_rc;
    int timeout_held;
    int cancel_rc;
    int cancel_held;
    tardy_task cancel_target;
};

static void cond_waiter(void *arg)
{
    struct condt *c = arg;
    TT_CHECK_EQ(tardy_mutex_lock(&c->lock), 0);
    c->waiting++;
    while (c->tickets == 0) {
        int rc = tardy_cond_wait(&c->cond, &c->lock);
        TT_CHECK_EQ(rc, 0);
        if (rc != 0)
            break;
    }
    c->tickets--;
    c->woken++;
    c->waiting--;
    /* Unlock succeeds only for the holder. */
    if (tardy_mutex_unlock(&c->lock) == 0)
        c->held_after++;
}

static void cond_timed(void *arg)
{
    struct condt *c = arg;
    TT_CHECK_EQ(tardy_mutex_lock(&c->lock), 0);
    tardy_deadline_after(15 * TT_MS);
    c->timeout_rc = tardy_cond_wait(&c->cond, &c->lock);
    tardy_deadline_clear();
    c->timeout_held = tardy_mutex_unlock(&c->lock) == 0;
}

static void cond_cancelled(void *arg)
{
    struct condt *c = arg;
    TT_CHECK_EQ(tardy_mutex_lock(&c->lock), 0);
    c->cancel_target = tardy_self();
    c->cancel_rc = tardy_cond_wait(&c->cond, &c->lock);
    c->cancel_held = tardy_mutex_unlock(&c->lock) == 0;
}

/* Waits (polling, from the test's side) until n waiters wait. */
static void cond_wait_for_waiting(struct condt *c, int n)
{
    for (int i = 0; i < 5000; i++) {
        TT_CHECK_EQ(tardy_mutex_lock(&c->lock), 0);
        int w = c->waiting;
        tardy_mutex_unlock(&c->lock);
        if (w >= n)
            return;
        tardy_sleep(TT_MS);
    }
    TT_CHECK(!"waiters never arrived");
}

static void cond_entry(void *arg)
{
    struct condt *c = arg;
    unsigned idx = tt_rt_index();
    if (idx == 1) {
        /* The waiters live on runtime 1, the signaller on runtime 0. */
        for (int i = 0; i < COND_WAITERS; i++)
            TT_CHECK_EQ(tardy_spawn(cond_waiter, c, NULL), 0);
        return;
    }
    cond_wait_for_waiting(c, COND_WAITERS);
    TT_CHECK_EQ(tardy_mutex_lock(&c->lock), 0);
    c->tickets = 1;
    c->signal_rc = tardy_cond_signal(&c->cond);
    TT_CHECK_EQ(tardy_mutex_unlock(&c->lock), 0);
    cond_wait_for_waiting(c, 0); /* settle */
    for (int i = 0; i < 2000; i++) {
        TT_CHECK_EQ(tardy_mutex_lock(&c->lock), 0);
        int woken = c->woken;
        tardy_mutex_unlock(&c->lock);
        if (woken == 1)
            break;
        tardy_sleep(TT_MS);
    }
    TT_CHECK_EQ(tardy_mutex_lock(&c->lock), 0);
    TT_CHECK_EQ(c->woken, 1);
    c->tickets = COND_WAITERS - 1;
    /* Signalled holding the lock: they queue for it behind us. */
    c->broadcast_rc = tardy_cond_broadcast(&c->cond);
    TT_CHECK_EQ(tardy_mutex_unlock(&c->lock), 0);

    tardy_task a, b;
    TT_CHECK_EQ(tardy_spawn(cond_timed, c, &a), 0);
    TT_CHECK_EQ(tardy_spawn(cond_cancelled, c, &b), 0);
    tardy_sleep(5 * TT_MS);
    /* Hold the lock across the deadline: the timed-out waiter returns
     * only once it has the lock again. */
    TT_CHECK_EQ(tardy_mutex_lock(&c->lock), 0);
    tardy_sleep(30 * TT_MS);
    TT_CHECK_EQ(tardy_cancel(c->cancel_target), 0);
    tardy_sleep(5 * TT_MS);
    TT_CHECK_EQ(tardy_mutex_unlock(&c->lock), 0);
    TT_CHECK_EQ(tardy_join(a), 0);
    TT_CHECK_EQ(tardy_join(b), 0);
}

Test(mutex, cond_signal_broadcast_deadline_cancel)
{
    static struct condt c;
    memset(&c, 0, sizeof c);
    tardy_config cfg = {.threads = 2};
    TT_RUN(&cfg, cond_entry, &c);
    TT_EXPECT_EQ(c.signal_rc, 1);
    TT_EXPECT_EQ(c.broadcast_rc, COND_WAITERS - 1);
    TT_EXPECT_EQ(c.woken, COND_WAITERS);
    TT_EXPECT_EQ(c.held_after, COND_WAITERS);
    TT_EXPECT_EQ(c.timeout_rc, -ETIMEDOUT);
    TT_EXPECT_EQ(c.timeout_held, 1);
    TT_EXPECT_EQ(c.cancel_rc, -ECANCELED);
    TT_EXPECT_EQ(c.cancel_held, 1);
}

/* ---- a signal from a thread outside the run --------------------------------- */

struct outside {
    tardy_mutex lock;
    tardy_cond cond;
    atomic_bool waiting;
    atomic_bool go;
    int rc;
    int signals;
};

static void outside_entry(void *arg)
{
    struct outside *o = arg;
    TT_CHECK_EQ(tardy_mutex_lock(&o->lock), 0);
    atomic_store(&o->waiting, true);
    while (!atomic_load(&o->go) && o->rc == 0)
        o->rc = tardy_cond_wait(&o->cond, &o->lock);
    TT_CHECK_EQ(tardy_mutex_unlock(&o->lock), 0);
}

static void *outside_thread(void *arg)
{
    struct outside *o = arg;
    while (!atomic_load(&o->waiting))
        usleep(1000);
    atomic_store(&o->go, true);
    /* The waiter may be between its check and its wait: signal until one
     * is taken (bounded, should the waiter have seen go first). */
    for (int i = 0; i < 2000 && o->signals == 0; i++) {
        o->signals = tardy_cond_signal(&o->cond);
        if (o->signals == 0)
            usleep(1000);
    }
    return NULL;
}

Test(mutex, cond_signal_from_a_thread_outside_the_run)
{
    static struct outside o;
    memset(&o, 0, sizeof o);
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, outside_thread, &o), 0);
    tardy_config cfg = {.threads = 1};
    int rc = tardy_run(&cfg, outside_entry, &o);
    pthread_join(th, NULL);
    cr_assert_eq(rc, 0);
    TT_ASSERT_CLEAN();
    TT_EXPECT_EQ(o.rc, 0);
}

/* ---- a stop while tasks of several runtimes wait ------------------------------ */

struct stopping {
    tardy_mutex lock;
    tardy_cond cond;
    atomic_int parked;
};

static void stop_lock_waiter(void *arg)
{
    struct stopping *s = arg;
    atomic_fetch_add(&s->parked, 1);
    tardy_mutex_lock(&s->lock);
    TT_CHECK(!"resumed after the stop");
}

static void stop_cond_waiter(void *arg)
{
    struct stopping *s = arg;
    if (tardy_mutex_lock(&s->lock) != 0)
        return;
    atomic_fetch_add(&s->parked, 1);
    tardy_cond_wait(&s->cond, &s->lock);
    TT_CHECK(!"resumed after the stop");
}

static void stopping_entry(void *arg)
{
    struct stopping *s = arg;
    if (tt_rt_index() == 0) {
        for (int i = 0; i < 3; i++)
            TT_CHECK_EQ(tardy_spawn(stop_cond_waiter, s, NULL), 0);
        while (atomic_load(&s->parked) < 3)
            tardy_sleep(TT_MS);
        TT_CHECK_EQ(tardy_mutex_lock(&s->lock), 0);
        TT_CHECK_EQ(tardy_cond_broadcast(&s->cond), 3); /* they queue for the lock */
        atomic_fetch_add(&s->parked, 1);
        while (atomic_load(&s->parked) < 4 + 8)
            tardy_sleep(TT_MS);
        tardy_sleep(5 * TT_MS);
        tardy_stop();
        return;
    }
    while (atomic_load(&s->parked) < 4)
        tardy_sleep(TT_MS);
    for (int i = 0; i < 8; i++)
        TT_CHECK_EQ(tardy_spawn(stop_lock_waiter, s, NULL), 0);
}

Test(mutex, stop_with_waiters_on_two_runtimes)
{
    static struct stopping s;
    memset(&s, 0, sizeof s);
    tardy_config cfg = {.threads = 2};
    TT_RUN(&cfg, stopping_entry, &s);
    /* The lock was left to tasks that are gone; it is usable once zeroed. */
    tardy_mutex_init(&s.lock);
    tardy_cond_init(&s.cond);
}

/* A condition waiter whose deadline passes after it was signalled waits
 * on for the mutex (the holder sleeps on), with another waiter queued
 * behind it on the other runtime; then the run stops. The waiter must
 * leave the mutex's list before its stack goes, or the other runtime's
 * teardown writes into freed memory (the sanitizer build sees it). */
struct late {
    tardy_mutex lock;
    tardy_cond cond;
    atomic_int stage;
};

static void late_cond_waiter(void *arg)
{
    struct late *l = arg;
    if (tardy_mutex_lock(&l->lock) != 0)
        return;
    tardy_deadline_after(50 * TT_MS);
    atomic_store(&l->stage, 1);
    tardy_cond_wait(&l->cond, &l->lock);
    TT_CHECK(!"resumed while the holder sleeps");
}

static void late_holder(void *arg)
{
    struct late *l = arg;
    while (atomic_load(&l->stage) < 1)
        tardy_sleep(TT_MS);
    if (tardy_mutex_lock(&l->lock) != 0)
        return;
    tardy_cond_signal(&l->cond); /* the waiter now waits for the lock */
    atomic_store(&l->stage, 2);
    tardy_sleep(10000 * TT_MS);
}

static void late_queued(void *arg)
{
    struct late *l = arg;
    while (atomic_load(&l->stage) < 2)
        tardy_sleep(TT_MS);
    tardy_sleep(5 * TT_MS);
    tardy_mutex_lock(&l->lock); /* behind the condition waiter */
}

static int64_t late_slow_job(void *arg)
{
    (void)arg;
    struct timespec ts = {0, 300 * 1000000L};
    nanosleep(&ts, NULL);
    return 0;
}

/* Holds runtime 0's teardown (it waits for the running job) until
 * runtime 1's is over. */
static void late_blocker(void *arg)
{
    (void)arg;
    int64_t r;
    tardy_blocking(late_slow_job, NULL, &r);
}

static void late_entry(void *arg)
{
    struct late *l = arg;
    if (tt_rt_index() == 1) {
        late_cond_waiter(l);
        return;
    }
    TT_CHECK_EQ(tardy_spawn(late_blocker, NULL, NULL), 0);
    TT_CHECK_EQ(tardy_spawn(late_holder, l, NULL), 0);
    TT_CHECK_EQ(tardy_spawn(late_queued, l, NULL), 0);
    while (atomic_load(&l->stage) < 2)
        tardy_sleep(TT_MS);
    tardy_sleep(150 * TT_MS); /* past the waiter's deadline */
    tardy_stop();
}

Test(mutex, stop_after_a_signalled_waiter_missed_its_deadline)
{
    static struct late l;
    memset(&l, 0, sizeof l);
    tardy_config cfg = {.threads = 2};
    TT_RUN(&cfg, late_entry, &l);
}
