/* tardy_run itself: configuration checks, calls made outside a task, the
 * TARDY_DRIVER override, several runtimes, and tardy_stop from a task and
 * from another thread. */
#include "common.h"

#include <pthread.h>
#include <signal.h>
#include <sys/time.h>
#include <sys/stat.h>

TestSuite(runtime, .timeout = 60);

/* ---- calls outside any runtime ------------------------------------------ */

static void never_runs(void *arg)
{
    atomic_int *ran = arg;
    atomic_fetch_add(ran, 1);
}

Test(runtime, task_only_calls_outside_a_task_return_eperm)
{
    int sv[2];
    tt_socketpair(sv);
    char buf[8] = "abc";
    struct iovec iov = {.iov_base = buf, .iov_len = sizeof buf};
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
    struct stat st;
    struct sockaddr_storage ss;
    socklen_t sslen = sizeof ss;
    tardy_chan *ch = NULL;
    cr_assert_eq(tardy_chan_create(&ch, sizeof(int), 4), 0);
    int v = 1;

    TT_EXPECT_EQ(tardy_yield(), -EPERM);
    TT_EXPECT_EQ(tardy_sleep(TT_MS), -EPERM);
    TT_EXPECT_EQ(tardy_join((tardy_task){.id = 1}), -EPERM);
    TT_EXPECT_EQ(tardy_spawn(never_runs, NULL, NULL), -EPERM);
    TT_EXPECT_EQ(tardy_recv(sv[0], buf, sizeof buf, 0), -EPERM);
    TT_EXPECT_EQ(tardy_send(sv[0], buf, sizeof buf, 0), -EPERM);
    TT_EXPECT_EQ(tardy_recvmsg(sv[0], &msg, 0), -EPERM);
    TT_EXPECT_EQ(tardy_sendmsg(sv[0], &msg, 0), -EPERM);
    TT_EXPECT_EQ(tardy_accept(sv[0], (struct sockaddr *)&ss, &sslen), -EPERM);
    TT_EXPECT_EQ(tardy_connect(sv[0], (struct sockaddr *)&ss, sslen), -EPERM);
    TT_EXPECT_EQ(tardy_read(sv[0], buf, sizeof buf, -1), -EPERM);
    TT_EXPECT_EQ(tardy_write(sv[0], buf, sizeof buf, -1), -EPERM);
    TT_EXPECT_EQ(tardy_readv(sv[0], &iov, 1, -1), -EPERM);
    TT_EXPECT_EQ(tardy_writev(sv[0], &iov, 1, -1), -EPERM);
    TT_EXPECT_EQ(tardy_open("/nonexistent-tardy-test/f", O_RDONLY, 0), -EPERM);
    TT_EXPECT_EQ(tardy_stat("/nonexistent-tardy-test/f", &st), -EPERM);
    TT_EXPECT_EQ(tardy_unlink("/nonexistent-tardy-test/f"), -EPERM);
    TT_EXPECT_EQ(tardy_mkdir("/nonexistent-tardy-test/d", 0755), -EPERM);
    TT_EXPECT_EQ(tardy_poll(sv[0], POLLIN), -EPERM);
    TT_EXPECT_EQ(tardy_close(sv[0]), -EPERM);
    TT_EXPECT_EQ(tardy_chan_send(ch, &v), -EPERM);
    TT_EXPECT_EQ(tardy_chan_recv(ch, &v), -EPERM);

    /* tardy_close refused, so the descriptor is still open. */
    TT_EXPECT_EQ(fcntl(sv[0], F_GETFD) >= 0, 1);

    tardy_chan_destroy(ch);
    close(sv[0]);
    close(sv[1]);
}

Test(runtime, queries_outside_a_runtime)
{
    TT_EXPECT_EQ(tardy_self().id, 0);
    cr_expect_null(tardy_task_data());
    tardy_task_set_data((void *)0x1); /* no effect, no crash */
    cr_expect_null(tardy_task_data());
    tardy_deadline_after(TT_MS); /* no effect, no crash */
    tardy_deadline_clear();
    cr_expect_null(tardy_runtime_self());
    cr_expect_null(tardy_runtime_at(0));
    TT_EXPECT_EQ(tardy_runtime_count(), 0);
    cr_expect_null(tardy_driver_name());
    TT_EXPECT_EQ(tardy_stopping(), 0);
    TT_EXPECT_EQ(tardy_cancel((tardy_task){0}), -EINVAL);

    uint64_t a = tardy_now();
    usleep(2000);
    uint64_t b = tardy_now();
    cr_expect_gt(a, 0);
    cr_expect_geq(b, a + TT_MS, "tardy_now outside a runtime reads the clock");

    int fd = tardy_socket(AF_INET, SOCK_STREAM, 0);
    cr_assert_geq(fd, 0, "tardy_socket outside a runtime: %d", fd);
    cr_expect(fcntl(fd, F_GETFL) & O_NONBLOCK);
    cr_expect(fcntl(fd, F_GETFD) & FD_CLOEXEC);
    close(fd);
}

Test(runtime, bad_config_is_einval)
{
    atomic_int ran = 0;
    tardy_config too_many_threads = {.threads = 4097};
    TT_EXPECT_EQ(tardy_run(&too_many_threads, never_runs, &ran), -EINVAL);
    tardy_config too_many_tasks = {.threads = 1, .max_tasks = 16777216};
    TT_EXPECT_EQ(tardy_run(&too_many_tasks, never_runs, &ran), -EINVAL);
    cr_expect_eq(atomic_load(&ran), 0, "entry must not run for a bad config");
}

/* ---- inside a runtime ---------------------------------------------------- */

struct inside {
    atomic_int entries;
    char driver[64];
    int nested_run;
    unsigned count;
    int stopping;
    int runtime_at_matches;
};

static void inside_entry(void *arg)
{
    struct inside *in = arg;
    atomic_fetch_add(&in->entries, 1);
    const char *name = tardy_driver_name();
    TT_CHECK(name != NULL);
    if (name)
        snprintf(in->driver, sizeof in->driver, "%s", name);
    TT_CHECK(tardy_self().id != 0);
    TT_CHECK(tardy_runtime_self() != NULL);
    in->count = tardy_runtime_count();
    in->stopping = tardy_stopping();
    in->runtime_at_matches = tardy_runtime_at(0) == tardy_runtime_self();
    TT_CHECK(tardy_runtime_at(tardy_runtime_count()) == NULL);
    atomic_int ran = 0;
    in->nested_run = tardy_run(NULL, never_runs, &ran);
    TT_CHECK_EQ(atomic_load(&ran), 0);
}

Test(runtime, one_runtime_basics_and_nested_run_is_ebusy)
{
    struct inside in = {0};
    tardy_config cfg = {.threads = 1};
    TT_RUN(&cfg, inside_entry, &in);
    TT_EXPECT_EQ(atomic_load(&in.entries), 1);
    TT_EXPECT_EQ(in.count, 1);
    TT_EXPECT_EQ(in.stopping, 0);
    cr_expect(in.runtime_at_matches);
    TT_EXPECT_EQ(in.nested_run, -EBUSY);
    /* Everything is back to "outside" once the run is over. */
    cr_expect_null(tardy_runtime_self());
    TT_EXPECT_EQ(tardy_runtime_count(), 0);
}

Test(runtime, tardy_driver_env_is_honoured)
{
    struct inside in = {0};
    tardy_config cfg = {.threads = 1};
    TT_RUN(&cfg, inside_entry, &in);
    const char *want = getenv("TARDY_DRIVER");
    if (want && *want) {
        cr_expect_str_eq(in.driver, want);
    } else {
        cr_expect(strcmp(in.driver, "io_uring") == 0 || strcmp(in.driver, "epoll") == 0 ||
                      strcmp(in.driver, "busy") == 0,
                  "unexpected driver %s", in.driver);
    }
}

Test(runtime, driver_field_is_used_when_env_unset)
{
    /* Criterion runs each test in its own process, so this does not leak. */
    unsetenv("TARDY_DRIVER");
    struct inside in = {0};
    tardy_config cfg = {.threads = 1, .driver = TARDY_DRIVER_EPOLL};
    TT_RUN(&cfg, inside_entry, &in);
    cr_expect_str_eq(in.driver, "epoll");
    memset(&in, 0, sizeof in);
    cfg.driver = TARDY_DRIVER_BUSY;
    TT_RUN(&cfg, inside_entry, &in);
    cr_expect_str_eq(in.driver, "busy");
}

Test(runtime, null_config_means_defaults)
{
    struct inside in = {0};
    TT_RUN(NULL, inside_entry, &in);
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    /* One entry per runtime; the default is one runtime per online CPU. */
    TT_EXPECT_EQ((long)atomic_load(&in.entries), cpus);
}

/* ---- several runtimes ---------------------------------------------------- */

#define MULTI_THREADS 3

struct multi {
    atomic_int seen[MULTI_THREADS];
    atomic_int sleepers_done;
    atomic_int bad_index;
};

static void multi_sleeper(void *arg)
{
    struct multi *m = arg;
    TT_CHECK_EQ(tardy_sleep((uint64_t)(5 + tt_rt_index() * 5) * TT_MS), 0);
    atomic_fetch_add(&m->sleepers_done, 1);
}

static void multi_entry(void *arg)
{
    struct multi *m = arg;
    unsigned idx = tt_rt_index();
    TT_CHECK_EQ(tardy_runtime_count(), MULTI_THREADS);
    if (idx >= MULTI_THREADS) {
        atomic_fetch_add(&m->bad_index, 1);
        return;
    }
    atomic_fetch_add(&m->seen[idx], 1);
    for (unsigned i = 0; i < MULTI_THREADS; i++) {
        tardy_runtime *rt = tardy_runtime_at(i);
        TT_CHECK(rt != NULL);
        if (rt)
            TT_CHECK_EQ(tardy_runtime_index(rt), i);
    }
    TT_CHECK(tardy_runtime_at(MULTI_THREADS) == NULL);
    TT_CHECK(tardy_runtime_at(idx) == tardy_runtime_self());
    for (int i = 0; i < 4; i++)
        TT_CHECK_EQ(tardy_spawn(multi_sleeper, m, NULL), 0);
}

Test(runtime, several_runtimes_return_when_all_tasks_finish)
{
    struct multi m = {0};
    tardy_config cfg = {.threads = MULTI_THREADS};
    TT_RUN(&cfg, multi_entry, &m);
    TT_EXPECT_EQ(atomic_load(&m.bad_index), 0);
    for (int i = 0; i < MULTI_THREADS; i++)
        cr_expect_eq(atomic_load(&m.seen[i]), 1, "runtime %d ran the entry %d times", i,
                     atomic_load(&m.seen[i]));
    TT_EXPECT_EQ(atomic_load(&m.sleepers_done), 4 * MULTI_THREADS);
}

/* ---- tardy_stop ---------------------------------------------------------- */

struct stopper {
    atomic_int started;    /* the entry task has run */
    atomic_long spins;     /* turns of the endless yield loop */
    atomic_int parked;     /* the endless recv was entered */
    atomic_int after_stop; /* a task was resumed after it should not have been */
    int sv[2];
    int stopping_seen;
    int yield_rc_bad;
};

static void spin_forever(void *arg)
{
    struct stopper *s = arg;
    for (;;) {
        int rc = tardy_yield();
        if (rc != 0) {
            s->yield_rc_bad = rc;
            return;
        }
        atomic_fetch_add(&s->spins, 1);
    }
}

static void recv_forever(void *arg)
{
    struct stopper *s = arg;
    char c;
    atomic_store(&s->parked, 1);
    ssize_t n = tardy_recv(s->sv[0], &c, 1, 0);
    /* Never resumed after tardy_stop: reaching this is a failure. */
    (void)n;
    atomic_store(&s->after_stop, 1);
}

static void *stop_later(void *arg)
{
    struct stopper *s = arg;
    /* Wait for the run to be under way, then give it 100 ms. */
    for (int i = 0; i < 10000 && !atomic_load(&s->started); i++)
        usleep(1000);
    usleep(100 * 1000);
    tardy_stop();
    return NULL;
}

static void stop_entry_busy(void *arg)
{
    struct stopper *s = arg;
    TT_CHECK_EQ(tardy_spawn(spin_forever, s, NULL), 0);
    TT_CHECK_EQ(tardy_spawn(recv_forever, s, NULL), 0);
    atomic_store(&s->started, 1);
}

Test(runtime, stop_from_another_thread_ends_a_busy_runtime)
{
    struct stopper s = {0};
    tt_socketpair(s.sv);
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, stop_later, &s), 0);
    tardy_config cfg = {.threads = 1};
    TT_RUN(&cfg, stop_entry_busy, &s);
    pthread_join(th, NULL);
    cr_expect_gt(atomic_load(&s.spins), 0);
    TT_EXPECT_EQ(atomic_load(&s.parked), 1);
    cr_expect_eq(atomic_load(&s.after_stop), 0, "a task was resumed after tardy_stop");
    TT_EXPECT_EQ(s.yield_rc_bad, 0);
    close(s.sv[0]);
    close(s.sv[1]);
}

static void stop_entry_multi(void *arg)
{
    struct stopper *s = arg;
    if (tt_rt_index() == 0) {
        TT_CHECK_EQ(tardy_spawn(recv_forever, s, NULL), 0);
        atomic_store(&s->started, 1);
    } else {
        spin_forever(s);
    }
}

Test(runtime, stop_from_another_thread_ends_every_runtime)
{
    struct stopper s = {0};
    tt_socketpair(s.sv);
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, stop_later, &s), 0);
    tardy_config cfg = {.threads = 2};
    TT_RUN(&cfg, stop_entry_multi, &s);
    pthread_join(th, NULL);
    cr_expect_gt(atomic_load(&s.spins), 0);
    TT_EXPECT_EQ(atomic_load(&s.after_stop), 0);
    close(s.sv[0]);
    close(s.sv[1]);
}

static void stop_from_inside_entry(void *arg)
{
    struct stopper *s = arg;
    if (tt_rt_index() != 0) {
        spin_forever(s);
        return;
    }
    TT_CHECK_EQ(tardy_spawn(spin_forever, s, NULL), 0);
    TT_CHECK_EQ(tardy_spawn(recv_forever, s, NULL), 0);
    TT_CHECK_EQ(tardy_sleep(20 * TT_MS), 0);
    TT_CHECK_EQ(tardy_stopping(), 0);
    tardy_stop();
    s->stopping_seen = tardy_stopping();
}

Test(runtime, stop_from_inside_a_task)
{
    struct stopper s = {0};
    tt_socketpair(s.sv);
    tardy_config cfg = {.threads = 1};
    TT_RUN(&cfg, stop_from_inside_entry, &s);
    TT_EXPECT_EQ(s.stopping_seen, 1);
    cr_expect_gt(atomic_load(&s.spins), 0);
    TT_EXPECT_EQ(atomic_load(&s.parked), 1);
    TT_EXPECT_EQ(atomic_load(&s.after_stop), 0);

    /* A later run starts afresh: not stopping, and it runs to completion. */
    struct inside in = {0};
    TT_RUN(&cfg, inside_entry, &in);
    TT_EXPECT_EQ(atomic_load(&in.entries), 1);
    TT_EXPECT_EQ(in.stopping, 0);
    close(s.sv[0]);
    close(s.sv[1]);
}

Test(runtime, stop_from_inside_stops_every_runtime_of_the_run)
{
    struct stopper s = {0};
    tt_socketpair(s.sv);
    tardy_config cfg = {.threads = 2};
    TT_RUN(&cfg, stop_from_inside_entry, &s);
    TT_EXPECT_EQ(s.stopping_seen, 1);
    cr_expect_gt(atomic_load(&s.spins), 0);
    close(s.sv[0]);
    close(s.sv[1]);
}

/* tardy_stop is async-signal-safe: a SIGALRM handler ends the run, both
 * while tasks are running and while every task is parked (the runtime
 * then sleeps in its driver and must wake up for the stop). */

static void on_alarm(int sig)
{
    (void)sig;
    tardy_stop();
}

static void arm_alarm_100ms(void)
{
    struct sigaction sa = {.sa_handler = on_alarm};
    sigemptyset(&sa.sa_mask);
    cr_assert_eq(sigaction(SIGALRM, &sa, NULL), 0);
    struct itimerval it = {.it_value = {.tv_sec = 0, .tv_usec = 100 * 1000}};
    cr_assert_eq(setitimer(ITIMER_REAL, &it, NULL), 0);
}

Test(runtime, stop_from_a_signal_handler_while_busy)
{
    struct stopper s = {0};
    tt_socketpair(s.sv);
    arm_alarm_100ms();
    tardy_config cfg = {.threads = 1};
    TT_RUN(&cfg, stop_entry_busy, &s);
    cr_expect_gt(atomic_load(&s.spins), 0);
    TT_EXPECT_EQ(atomic_load(&s.after_stop), 0);
    close(s.sv[0]);
    close(s.sv[1]);
}

static void stop_entry_all_parked(void *arg)
{
    struct stopper *s = arg;
    TT_CHECK_EQ(tardy_spawn(recv_forever, s, NULL), 0);
    atomic_store(&s->started, 1);
    char c;
    /* The entry parks too, so the runtime has nothing to run. */
    ssize_t n = tardy_recv(s->sv[0], &c, 1, 0);
    (void)n;
    atomic_store(&s->after_stop, 1);
}

Test(runtime, stop_from_a_signal_handler_while_all_parked)
{
    struct stopper s = {0};
    tt_socketpair(s.sv);
    arm_alarm_100ms();
    tardy_config cfg = {.threads = 1};
    TT_RUN(&cfg, stop_entry_all_parked, &s);
    TT_EXPECT_EQ(atomic_load(&s.parked), 1);
    TT_EXPECT_EQ(atomic_load(&s.after_stop), 0);
    close(s.sv[0]);
    close(s.sv[1]);
}

Test(runtime, stop_from_another_thread_while_all_parked)
{
    struct stopper s = {0};
    tt_socketpair(s.sv);
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, stop_later, &s), 0);
    tardy_config cfg = {.threads = 2};
    TT_RUN(&cfg, stop_entry_all_parked, &s);
    pthread_join(th, NULL);
    TT_EXPECT_EQ(atomic_load(&s.after_stop), 0);
    close(s.sv[0]);
    close(s.sv[1]);
}

/* Stop from inside runtime 0 while runtime 1 sleeps in its driver with
 * every task parked: runtime 1 must wake up and end too. */
static void stop_while_other_parked_entry(void *arg)
{
    struct stopper *s = arg;
    if (tt_rt_index() != 0) {
        char c;
        atomic_store(&s->parked, 1);
        ssize_t n = tardy_recv(s->sv[0], &c, 1, 0);
        (void)n;
        atomic_store(&s->after_stop, 1);
        return;
    }
    for (int i = 0; i < 5000 && !atomic_load(&s->parked); i++)
        TT_CHECK_EQ(tardy_sleep(TT_MS), 0);
    TT_CHECK_EQ(tardy_sleep(20 * TT_MS), 0);
    tardy_stop();
}

Test(runtime, stop_from_inside_wakes_a_parked_runtime)
{
    struct stopper s = {0};
    tt_socketpair(s.sv);
    tardy_config cfg = {.threads = 2};
    TT_RUN(&cfg, stop_while_other_parked_entry, &s);
    TT_EXPECT_EQ(atomic_load(&s.parked), 1);
    TT_EXPECT_EQ(atomic_load(&s.after_stop), 0);
    close(s.sv[0]);
    close(s.sv[1]);
}

/* tardy_stop from a thread outside the run, every task parked (a 60 s
 * sleep, a receive that never completes): the runtimes wake for it at
 * once, not at their next timer. The figure is printed; the bound is
 * loose (a stop that waited for the sleep would take a minute). */

struct idle_stop {
    int sv[2];
    atomic_int parked;
};

static void idle_sleeper(void *arg)
{
    struct idle_stop *s = arg;
    atomic_fetch_add(&s->parked, 1);
    tardy_sleep(60000 * TT_MS);
}

static void idle_receiver(void *arg)
{
    struct idle_stop *s = arg;
    char b;
    atomic_fetch_add(&s->parked, 1);
    tardy_recv(s->sv[0], &b, 1, 0);
}

static void idle_stop_entry(void *arg)
{
    if (tt_rt_index() == 0)
        TT_CHECK_EQ(tardy_spawn(idle_receiver, arg, NULL), 0);
    idle_sleeper(arg);
}

static void *idle_stopper(void *arg)
{
    struct idle_stop *s = arg;
    while (atomic_load(&s->parked) < 3)
        usleep(1000);
    usleep(20000);
    uint64_t *t0 = malloc(sizeof *t0);
    *t0 = tt_clock_ns();
    tardy_stop();
    return t0;
}

Test(runtime, stop_from_another_thread_wakes_idle_runtimes_at_once)
{
    static struct idle_stop s;
    memset(&s, 0, sizeof s);
    tt_socketpair(s.sv);
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, idle_stopper, &s), 0);
    tardy_config cfg = {.threads = 2};
    TT_RUN(&cfg, idle_stop_entry, &s);
    uint64_t returned = tt_clock_ns();
    void *t0;
    pthread_join(th, &t0);
    uint64_t took = returned - *(uint64_t *)t0;
    free(t0);
    printf("runtime: tardy_stop to tardy_run's return took %.2f ms (2 idle runtimes)\n",
           took / 1e6);
    cr_expect_lt(took, 1000 * TT_MS, "an idle run took %.1f ms to stop", took / 1e6);
    close(s.sv[0]);
    close(s.sv[1]);
}
