/* Tasks: round-robin interleaving, spawn and join, handles, the per-task
 * user pointer, the max_tasks limit and tardy_spawn_on across runtimes. */
#include "common.h"

#include <pthread.h>

TestSuite(tasks, .timeout = 60);

/* ---- interleaving -------------------------------------------------------- */

#define IL_TASKS 500
#define IL_ROUNDS 100

struct interleave {
    int ids[IL_TASKS];
    int log[IL_TASKS * IL_ROUNDS];
    int len;
    int finished;
};

static struct interleave *il_state;

static void il_task(void *arg)
{
    int id = *(int *)arg;
    for (int r = 0; r < IL_ROUNDS; r++) {
        il_state->log[il_state->len++] = id;
        TT_CHECK_EQ(tardy_yield(), 0);
    }
    il_state->finished++;
}

static void il_entry(void *arg)
{
    struct interleave *st = arg;
    for (int i = 0; i < IL_TASKS; i++) {
        st->ids[i] = i;
        TT_CHECK_EQ(tardy_spawn(il_task, &st->ids[i], NULL), 0);
    }
}

Test(tasks, many_tasks_interleave_round_robin)
{
    struct interleave *st = calloc(1, sizeof *st);
    cr_assert_not_null(st);
    il_state = st;
    tardy_config cfg = {.threads = 1, .max_tasks = 1024};
    TT_RUN(&cfg, il_entry, st);
    cr_assert_eq(st->finished, IL_TASKS);
    cr_assert_eq(st->len, IL_TASKS * IL_ROUNDS);
    /* Each task appends once and yields to the back of the queue, so the log
     * is 0,1,...,499 repeated 100 times. */
    for (int k = 0; k < st->len; k++)
        cr_assert_eq(st->log[k], k % IL_TASKS, "log[%d] = %d, expected %d", k, st->log[k],
                     k % IL_TASKS);
    free(st);
}

/* ---- spawn, join, self, user pointer ------------------------------------ */

struct joinst {
    int child_ran;
    int child_steps;
    tardy_task child_handle_seen;
    void *child_data_initial;
    void *child_data_after;
    int joiners_done;
};

static void child_quick(void *arg)
{
    struct joinst *j = arg;
    j->child_ran = 1;
    j->child_handle_seen = tardy_self();
}

static void child_slow(void *arg)
{
    struct joinst *j = arg;
    j->child_data_initial = tardy_task_data();
    tardy_task_set_data(&j->child_steps);
    for (int i = 0; i < 10; i++) {
        TT_CHECK_EQ(tardy_yield(), 0);
        j->child_steps++;
    }
    TT_CHECK_EQ(tardy_sleep(5 * TT_MS), 0);
    j->child_steps++;
    j->child_data_after = tardy_task_data();
}

struct joiner_arg {
    struct joinst *j;
    tardy_task target;
};

static void joiner(void *arg)
{
    struct joiner_arg *ja = arg;
    TT_CHECK_EQ(tardy_join(ja->target), 0);
    TT_CHECK_EQ(ja->j->child_steps, 11);
    ja->j->joiners_done++;
}

static void join_entry(void *arg)
{
    struct joinst *j = arg;
    int marker;

    /* Self and the user pointer. */
    tardy_task me = tardy_self();
    TT_CHECK(me.id != 0);
    TT_CHECK(tardy_task_data() == NULL);
    tardy_task_set_data(&marker);
    TT_CHECK(tardy_task_data() == &marker);

    /* A spawned task runs only once the spawner yields. */
    tardy_task quick = {0};
    TT_CHECK_EQ(tardy_spawn(child_quick, j, &quick), 0);
    TT_CHECK(quick.id != 0);
    TT_CHECK(quick.id != me.id);
    TT_CHECK_EQ(j->child_ran, 0);
    TT_CHECK_EQ(tardy_yield(), 0);
    TT_CHECK_EQ(j->child_ran, 1);
    TT_CHECK_EQ(j->child_handle_seen.id, quick.id);
    /* Join of a task that has already finished, twice. */
    TT_CHECK_EQ(tardy_join(quick), 0);
    TT_CHECK_EQ(tardy_join(quick), 0);

    /* Join of a running task waits for it; several joiners all wake. */
    tardy_task slow = {0};
    TT_CHECK_EQ(tardy_spawn(child_slow, j, &slow), 0);
    struct joiner_arg ja = {.j = j, .target = slow};
    for (int i = 0; i < 3; i++)
        TT_CHECK_EQ(tardy_spawn(joiner, &ja, NULL), 0);
    TT_CHECK_EQ(tardy_join(slow), 0);
    TT_CHECK_EQ(j->child_steps, 11);
    TT_CHECK(j->child_data_initial == NULL);
    TT_CHECK(j->child_data_after == &j->child_steps);

    /* Errors. */
    TT_CHECK_EQ(tardy_join(me), -EDEADLK);
    TT_CHECK_EQ(tardy_join((tardy_task){0}), -EINVAL);

    /* The entry task's own pointer was untouched by the others. */
    TT_CHECK(tardy_task_data() == &marker);
    TT_CHECK_EQ(tardy_self().id, me.id);
    /* Let the joiners finish before the stack frame (ja) goes away. */
    for (int i = 0; i < 100 && j->joiners_done < 3; i++)
        TT_CHECK_EQ(tardy_yield(), 0);
    TT_CHECK_EQ(j->joiners_done, 3);
}

Test(tasks, spawn_join_self_and_user_pointer)
{
    struct joinst j = {0};
    tardy_config cfg = {.threads = 1};
    TT_RUN(&cfg, join_entry, &j);
    TT_EXPECT_EQ(j.joiners_done, 3);
}

/* Handles stay safe once their task has ended, also when the slot it used
 * is taken by a new task. */
struct reuse {
    int second_cancelled;
    int second_done;
};

static void noop(void *arg) { (void)arg; }

static void second_task(void *arg)
{
    struct reuse *r = arg;
    for (int i = 0; i < 3; i++) {
        int rc = tardy_yield();
        if (rc == -ECANCELED)
            r->second_cancelled = 1;
    }
    r->second_done = 1;
}

static void reuse_entry(void *arg)
{
    struct reuse *r = arg;
    tardy_task first = {0}, second = {0};
    TT_CHECK_EQ(tardy_spawn(noop, NULL, &first), 0);
    TT_CHECK_EQ(tardy_join(first), 0);
    TT_CHECK_EQ(tardy_spawn(second_task, r, &second), 0);
    TT_CHECK(second.id != first.id);
    /* The stale handle names a finished task, not the new one. */
    TT_CHECK_EQ(tardy_cancel(first), -ESRCH);
    TT_CHECK_EQ(tardy_join(first), 0);
    TT_CHECK_EQ(r->second_done, 0);
    TT_CHECK_EQ(tardy_join(second), 0);
    TT_CHECK_EQ(r->second_cancelled, 0);
}

Test(tasks, stale_handles_name_finished_tasks)
{
    struct reuse r = {0};
    tardy_config cfg = {.threads = 1, .max_tasks = 2};
    TT_RUN(&cfg, reuse_entry, &r);
    TT_EXPECT_EQ(r.second_done, 1);
}

/* ---- max_tasks ----------------------------------------------------------- */

#define LIMIT 8

struct limit {
    int release;
    int alive;
    int ran_after;
    int again_rc;
};

static void limited(void *arg)
{
    struct limit *l = arg;
    l->alive++;
    while (!l->release)
        TT_CHECK_EQ(tardy_sleep(TT_MS), 0);
    l->alive--;
}

static void ran_after(void *arg)
{
    struct limit *l = arg;
    l->ran_after++;
}

static void limit_entry(void *arg)
{
    struct limit *l = arg;
    tardy_task t[LIMIT];
    /* The entry task counts: LIMIT - 1 more fit. */
    for (int i = 0; i < LIMIT - 1; i++)
        TT_CHECK_EQ(tardy_spawn(limited, l, &t[i]), 0);
    tardy_task none = {.id = 12345};
    l->again_rc = tardy_spawn(limited, l, &none);
    TT_CHECK_EQ(l->again_rc, -EAGAIN);
    TT_CHECK_EQ(tardy_spawn(limited, l, NULL), -EAGAIN);
    /* The runtime carries on: the tasks run. */
    TT_CHECK_EQ(tardy_sleep(5 * TT_MS), 0);
    TT_CHECK_EQ(l->alive, LIMIT - 1);
    TT_CHECK_EQ(tardy_spawn(limited, l, NULL), -EAGAIN);
    l->release = 1;
    for (int i = 0; i < LIMIT - 1; i++)
        TT_CHECK_EQ(tardy_join(t[i]), 0);
    TT_CHECK_EQ(l->alive, 0);
    /* Finished tasks are no longer alive, so there is room again. */
    for (int i = 0; i < LIMIT - 1; i++)
        TT_CHECK_EQ(tardy_spawn(ran_after, l, &t[i]), 0);
    TT_CHECK_EQ(tardy_spawn(ran_after, l, NULL), -EAGAIN);
    for (int i = 0; i < LIMIT - 1; i++)
        TT_CHECK_EQ(tardy_join(t[i]), 0);
}

Test(tasks, spawn_past_max_tasks_is_eagain_and_recovers)
{
    struct limit l = {0};
    tardy_config cfg = {.threads = 1, .max_tasks = LIMIT};
    TT_RUN(&cfg, limit_entry, &l);
    TT_EXPECT_EQ(l.again_rc, -EAGAIN);
    TT_EXPECT_EQ(l.ran_after, LIMIT - 1);
}

/* Many short-lived tasks in turn, far more than max_tasks in total. */
static int churn_count;

static void churn_task(void *arg)
{
    (void)arg;
    TT_CHECK_EQ(tardy_yield(), 0);
    churn_count++;
}

static void churn_entry(void *arg)
{
    (void)arg;
    tardy_task t[15];
    for (int round = 0; round < 200; round++) {
        for (int i = 0; i < 15; i++)
            TT_CHECK_EQ(tardy_spawn(churn_task, NULL, &t[i]), 0);
        for (int i = 0; i < 15; i++)
            TT_CHECK_EQ(tardy_join(t[i]), 0);
    }
}

Test(tasks, slots_are_reused_across_many_spawns)
{
    tardy_config cfg = {.threads = 1, .max_tasks = 16};
    TT_RUN(&cfg, churn_entry, NULL);
    TT_EXPECT_EQ(churn_count, 200 * 15);
}

/* ---- spawn_on and cross-runtime joins ------------------------------------ */

#define ON_LIMIT 4

struct spawn_on_state {
    tardy_chan *ready;   /* runtime 1 -> 0: its entry is running */
    tardy_chan *done;    /* 0 -> 1: closed when runtime 1's entry may end */
    tardy_chan *release; /* closed to let the spawned tasks finish */
    atomic_int ran_on_1;
    atomic_int wrong_runtime;
    atomic_int eagain_rc;
    atomic_int later_rc;
    atomic_int later_ran;
    int exdev_rc;
};

static void on_task(void *arg)
{
    struct spawn_on_state *s = arg;
    if (tt_rt_index() != 1)
        atomic_fetch_add(&s->wrong_runtime, 1);
    atomic_fetch_add(&s->ran_on_1, 1);
    int v;
    TT_CHECK_EQ(tardy_chan_recv(s->release, &v), -EPIPE);
}

static void on_later(void *arg)
{
    struct spawn_on_state *s = arg;
    if (tt_rt_index() != 1)
        atomic_fetch_add(&s->wrong_runtime, 1);
    atomic_fetch_add(&s->later_ran, 1);
}

static void spawn_on_entry(void *arg)
{
    struct spawn_on_state *s = arg;
    if (tt_rt_index() == 1) {
        tardy_task me = tardy_self();
        TT_CHECK_EQ(tardy_chan_send(s->ready, &me), 0);
        int v;
        TT_CHECK_EQ(tardy_chan_recv(s->done, &v), -EPIPE);
        return;
    }
    tardy_task other;
    TT_CHECK_EQ(tardy_chan_recv(s->ready, &other), 0);
    s->exdev_rc = tardy_join(other);
    TT_CHECK_EQ(s->exdev_rc, -EXDEV);

    tardy_runtime *rt1 = tardy_runtime_at(1);
    TT_CHECK(rt1 != NULL);
    TT_CHECK_EQ(tardy_spawn_on(NULL, on_task, s), -EINVAL);
    /* Runtime 1's entry is alive, so ON_LIMIT - 1 more fit there. */
    for (int i = 0; i < ON_LIMIT - 1; i++)
        TT_CHECK_EQ(tardy_spawn_on(rt1, on_task, s), 0);
    atomic_store(&s->eagain_rc, tardy_spawn_on(rt1, on_task, s));
    TT_CHECK_EQ(atomic_load(&s->eagain_rc), -EAGAIN);
    /* They run, on runtime 1. */
    for (int i = 0; i < 2000 && atomic_load(&s->ran_on_1) < ON_LIMIT - 1; i++)
        TT_CHECK_EQ(tardy_sleep(TT_MS), 0);
    TT_CHECK_EQ(atomic_load(&s->ran_on_1), ON_LIMIT - 1);
    /* Once they finish there is room again. */
    tardy_chan_close(s->release);
    int rc = -EAGAIN;
    for (int i = 0; i < 2000 && rc == -EAGAIN; i++) {
        rc = tardy_spawn_on(rt1, on_later, s);
        if (rc == -EAGAIN)
            TT_CHECK_EQ(tardy_sleep(TT_MS), 0);
    }
    atomic_store(&s->later_rc, rc);
    TT_CHECK_EQ(rc, 0);
    for (int i = 0; i < 2000 && atomic_load(&s->later_ran) < 1; i++)
        TT_CHECK_EQ(tardy_sleep(TT_MS), 0);
    tardy_chan_close(s->done);
}

Test(tasks, spawn_on_another_runtime_and_its_limit)
{
    struct spawn_on_state s = {0};
    cr_assert_eq(tardy_chan_create(&s.ready, sizeof(tardy_task), 1), 0);
    cr_assert_eq(tardy_chan_create(&s.done, sizeof(int), 1), 0);
    cr_assert_eq(tardy_chan_create(&s.release, sizeof(int), 1), 0);
    tardy_config cfg = {.threads = 2, .max_tasks = ON_LIMIT};
    TT_RUN(&cfg, spawn_on_entry, &s);
    TT_EXPECT_EQ(atomic_load(&s.wrong_runtime), 0);
    TT_EXPECT_EQ(atomic_load(&s.ran_on_1), ON_LIMIT - 1);
    TT_EXPECT_EQ(atomic_load(&s.eagain_rc), -EAGAIN);
    TT_EXPECT_EQ(atomic_load(&s.later_rc), 0);
    TT_EXPECT_EQ(atomic_load(&s.later_ran), 1);
    TT_EXPECT_EQ(s.exdev_rc, -EXDEV);
    tardy_chan_destroy(s.ready);
    tardy_chan_destroy(s.done);
    tardy_chan_destroy(s.release);
}

/* spawn_on to the caller's own runtime also works. */
static atomic_int self_on_ran;

static void self_on_task(void *arg)
{
    (void)arg;
    atomic_fetch_add(&self_on_ran, 1);
}

static void self_on_entry(void *arg)
{
    (void)arg;
    TT_CHECK_EQ(tardy_spawn_on(tardy_runtime_self(), self_on_task, NULL), 0);
    for (int i = 0; i < 1000 && atomic_load(&self_on_ran) == 0; i++)
        TT_CHECK_EQ(tardy_sleep(TT_MS), 0);
}

Test(tasks, spawn_on_own_runtime)
{
    tardy_config cfg = {.threads = 1};
    TT_RUN(&cfg, self_on_entry, NULL);
    TT_EXPECT_EQ(atomic_load(&self_on_ran), 1);
}

/* spawn_on from a thread that is not a runtime. */
struct plain_spawn {
    _Atomic(tardy_runtime *) rt;
    atomic_int ran_on;
    atomic_int rc;
    atomic_int done;
};

static void plain_spawned(void *arg)
{
    struct plain_spawn *p = arg;
    atomic_store(&p->ran_on, (int)tt_rt_index() + 1);
    atomic_store(&p->done, 1);
}

static void plain_entry(void *arg)
{
    struct plain_spawn *p = arg;
    if (tt_rt_index() != 1)
        return;
    atomic_store(&p->rt, tardy_runtime_self());
    /* Stay alive (so the run does not end) until the spawned task ran. */
    for (int i = 0; i < 5000 && !atomic_load(&p->done); i++)
        TT_CHECK_EQ(tardy_sleep(TT_MS), 0);
}

static void *plain_thread(void *arg)
{
    struct plain_spawn *p = arg;
    tardy_runtime *rt = NULL;
    for (int i = 0; i < 5000 && !(rt = atomic_load(&p->rt)); i++)
        usleep(1000);
    atomic_store(&p->rc, rt ? tardy_spawn_on(rt, plain_spawned, p) : -999);
    return NULL;
}

Test(tasks, spawn_on_from_a_plain_thread)
{
    struct plain_spawn p = {.rc = 1};
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, plain_thread, &p), 0);
    tardy_config cfg = {.threads = 2};
    TT_RUN(&cfg, plain_entry, &p);
    pthread_join(th, NULL);
    TT_EXPECT_EQ(atomic_load(&p.rc), 0);
    cr_expect_eq(atomic_load(&p.ran_on), 2, "ran on runtime %d", atomic_load(&p.ran_on) - 1);
}

/* Once the run is stopping, spawn_on refuses with -ESRCH. */
static atomic_int stopping_rc = 1;

static void stopping_entry(void *arg)
{
    (void)arg;
    if (tt_rt_index() != 0)
        return;
    tardy_runtime *rt1 = tardy_runtime_at(1);
    tardy_stop();
    atomic_store(&stopping_rc, tardy_spawn_on(rt1, noop, NULL));
}

Test(tasks, spawn_on_a_stopping_run_is_esrch)
{
    tardy_config cfg = {.threads = 2};
    TT_RUN(&cfg, stopping_entry, NULL);
    TT_EXPECT_EQ(atomic_load(&stopping_rc), -ESRCH);
}

/* A deadline also bounds a join. */
static void long_sleeper(void *arg)
{
    (void)arg;
    TT_CHECK_EQ(tardy_sleep(100 * TT_MS), 0);
}

static int join_deadline_rc = 1;

static void join_deadline_entry(void *arg)
{
    (void)arg;
    tardy_task t;
    TT_CHECK_EQ(tardy_spawn(long_sleeper, NULL, &t), 0);
    tardy_deadline_after(10 * TT_MS);
    join_deadline_rc = tardy_join(t);
    tardy_deadline_clear();
    TT_CHECK_EQ(tardy_join(t), 0);
}

Test(tasks, deadline_bounds_a_join)
{
    tardy_config cfg = {.threads = 1};
    TT_RUN(&cfg, join_deadline_entry, NULL);
    TT_EXPECT_EQ(join_deadline_rc, -ETIMEDOUT);
}
