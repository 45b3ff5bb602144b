/* The blocking-work pool: results, a loop that keeps running while jobs
 * block, cancel and deadline before and after a job starts, the thread
 * bound shared by the runtimes, lazy start and reaping, tardy_stop. */
#include "common.h"

#include <dirent.h>

TestSuite(blocking, .timeout = 60);

static int64_t job_double(void *arg)
{
    return 2 * (int64_t)(intptr_t)arg;
}

/* Threads of this process (the pool's included). */
static int thread_count(void)
{
    DIR *d = opendir("/proc/self/task");
    if (!d)
        return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n;
}

static void basic_entry(void *arg)
{
    (void)arg;
    int64_t r = -1;
    TT_CHECK_EQ(tardy_blocking(job_double, (void *)(intptr_t)21, &r), 0);
    TT_CHECK_EQ(r, 42);
    TT_CHECK_EQ(tardy_blocking(job_double, (void *)(intptr_t)5, NULL), 0);
    TT_CHECK_EQ(tardy_blocking(NULL, NULL, &r), -EINVAL);
    /* A pending cancel ends the call before anything is queued. */
    tardy_cancel(tardy_self());
    r = -1;
    TT_CHECK_EQ(tardy_blocking(job_double, (void *)(intptr_t)1, &r), -ECANCELED);
    TT_CHECK_EQ(r, -1);
}

Test(blocking, result_and_errors)
{
    int64_t r = 0;
    cr_expect_eq(tardy_blocking(job_double, NULL, &r), -EPERM);
    tardy_config cfg = {.threads = 1};
    TT_RUN(&cfg, basic_entry, NULL);
}

/* ---- the loop keeps running while 64 jobs sleep ------------------------ */

static atomic_int submitted, completed, ticks_in_window;
static atomic_bool jobs_over;
static uint64_t max_gap_ns;

static int64_t job_sleep_100ms(void *arg)
{
    (void)arg;
    struct timespec ts = {0, 100 * 1000000L};
    nanosleep(&ts, NULL);
    return 7;
}

static void sleeper_task(void *arg)
{
    (void)arg;
    atomic_fetch_add(&submitted, 1);
    int64_t r = 0;
    TT_CHECK_EQ(tardy_blocking(job_sleep_100ms, NULL, &r), 0);
    TT_CHECK_EQ(r, 7);
    if (atomic_fetch_add(&completed, 1) == 63)
        atomic_store(&jobs_over, true);
}

static void ticker_task(void *arg)
{
    (void)arg;
    uint64_t last = tt_clock_ns();
    while (!atomic_load(&jobs_over)) {
        TT_CHECK_EQ(tardy_sleep(2 * TT_MS), 0);
        uint64_t now = tt_clock_ns();
        if (now - last > max_gap_ns)
            max_gap_ns = now - last;
        last = now;
        /* Every job is parked in the pool and none has finished. */
        if (atomic_load(&submitted) == 64 && atomic_load(&completed) == 0)
            atomic_fetch_add(&ticks_in_window, 1);
    }
}

static void responsive_entry(void *arg)
{
    (void)arg;
    TT_CHECK_EQ(tardy_spawn(ticker_task, NULL, NULL), 0);
    for (int i = 0; i < 64; i++)
        TT_CHECK_EQ(tardy_spawn(sleeper_task, NULL, NULL), 0);
}

Test(blocking, loop_ticks_while_64_jobs_sleep)
{
    tardy_config cfg = {.threads = 1, .blocking_threads = 64};
    uint64_t start = tt_clock_ns();
    TT_RUN(&cfg, responsive_entry, NULL);
    fprintf(stderr, "blocking: 64 jobs of 100 ms took %llu ms; %d ticks while all were "
            "parked; largest gap between ticks %llu us\n",
            (unsigned long long)((tt_clock_ns() - start) / TT_MS), atomic_load(&ticks_in_window),
            (unsigned long long)(max_gap_ns / 1000));
    cr_expect_eq(atomic_load(&completed), 64);
    /* Had the jobs run on the loop's thread, the first would have ended
     * before the second was submitted: no tick could fall in between. */
    cr_expect_geq(atomic_load(&ticks_in_window), 2);
}

/* ---- cancel before and after start, deadlines -------------------------- */

/* A job that blocks until the test lets it go. */
static atomic_int gate_open, gate_started, gate_finished;

static int64_t job_gate(void *arg)
{
    atomic_fetch_add(&gate_started, 1);
    while (!atomic_load(&gate_open)) {
        struct timespec ts = {0, 1000000L};
        nanosleep(&ts, NULL);
    }
    atomic_fetch_add(&gate_finished, 1);
    return (int64_t)(intptr_t)arg;
}

static atomic_int never_ran;

static int64_t job_mark(void *arg)
{
    (void)arg;
    atomic_fetch_add(&never_ran, 1);
    return 0;
}

static atomic_int drops;
static int64_t drop_result;

static void drop_count(void *arg, int64_t result)
{
    drop_result = result;
    free(arg);
    atomic_fetch_add(&drops, 1);
}

static void gate_holder(void *arg)
{
    (void)arg;
    int64_t r = 0;
    TT_CHECK_EQ(tardy_blocking(job_gate, (void *)(intptr_t)3, &r), 0);
    TT_CHECK_EQ(r, 3);
}

static void queued_waiter(void *arg)
{
    int *status = arg;
    int64_t r = -1;
    int *owned = malloc(sizeof *owned);
    *status = tardy_blocking_drop(job_mark, owned, drop_count, &r);
    TT_CHECK_EQ(r, -1);
}

static void cancel_before_entry(void *arg)
{
    (void)arg;
    int status = 1;
    tardy_task holder, waiter;
    TT_CHECK_EQ(tardy_spawn(gate_holder, NULL, &holder), 0);
    while (atomic_load(&gate_started) == 0)
        tardy_sleep(TT_MS);
    /* The only pool thread is taken: this job stays queued. */
    TT_CHECK_EQ(tardy_spawn(queued_waiter, &status, &waiter), 0);
    TT_CHECK_EQ(tardy_yield(), 0);
    TT_CHECK_EQ(tardy_cancel(waiter), 0);
    TT_CHECK_EQ(tardy_join(waiter), 0);
    TT_CHECK_EQ(status, -ECANCELED);
    /* Taken off the queue: dropped at once, with the error. */
    TT_CHECK_EQ(atomic_load(&drops), 1);
    TT_CHECK_EQ(drop_result, -ECANCELED);
    atomic_store(&gate_open, 1);
    TT_CHECK_EQ(tardy_join(holder), 0);
    /* FIFO: a job queued now runs after anything still in the queue. */
    int64_t r = 0;
    TT_CHECK_EQ(tardy_blocking(job_double, (void *)(intptr_t)4, &r), 0);
    TT_CHECK_EQ(r, 8);
    TT_CHECK_EQ(atomic_load(&never_ran), 0);
}

Test(blocking, cancel_before_start_never_runs)
{
    tardy_config cfg = {.threads = 1, .blocking_threads = 1};
    TT_RUN(&cfg, cancel_before_entry, NULL);
    cr_expect_eq(atomic_load(&never_ran), 0);
}

static void running_waiter(void *arg)
{
    int *status = arg;
    int64_t r = -1;
    int *owned = malloc(sizeof *owned);
    *status = tardy_blocking_drop(job_gate, owned, drop_count, &r);
    TT_CHECK_EQ(r, -1);
}

static void cancel_after_entry(void *arg)
{
    (void)arg;
    int status = 1;
    tardy_task waiter;
    TT_CHECK_EQ(tardy_spawn(running_waiter, &status, &waiter), 0);
    while (atomic_load(&gate_started) == 0)
        tardy_sleep(TT_MS);
    TT_CHECK_EQ(tardy_cancel(waiter), 0);
    TT_CHECK_EQ(tardy_join(waiter), 0);
    TT_CHECK_EQ(status, -ECANCELED);
    /* The job still runs; its result is not ours. */
    TT_CHECK_EQ(atomic_load(&gate_finished), 0);
    TT_CHECK_EQ(atomic_load(&drops), 0);
    atomic_store(&gate_open, 1);
    while (atomic_load(&drops) == 0)
        tardy_sleep(TT_MS);
    TT_CHECK_EQ(atomic_load(&gate_finished), 1);
}

Test(blocking, cancel_after_start_drops_result)
{
    tardy_config cfg = {.threads = 1, .blocking_threads = 1};
    TT_RUN(&cfg, cancel_after_entry, NULL);
    cr_expect_eq(atomic_load(&drops), 1);
}

static void deadline_entry(void *arg)
{
    (void)arg;
    int64_t r = -1;
    /* Running when the deadline passes. */
    tardy_deadline_after(200 * TT_MS);
    TT_CHECK_EQ(tardy_blocking(job_gate, NULL, &r), -ETIMEDOUT);
    TT_CHECK_EQ(r, -1);
    TT_CHECK_EQ(atomic_load(&gate_started), 1);
    /* Queued behind it (one thread) when the deadline passes. */
    tardy_deadline_after(20 * TT_MS);
    TT_CHECK_EQ(tardy_blocking(job_mark, NULL, &r), -ETIMEDOUT);
    /* Already past: nothing is queued. */
    TT_CHECK_EQ(tardy_blocking(job_mark, NULL, &r), -ETIMEDOUT);
    tardy_deadline_clear();
    atomic_store(&gate_open, 1);
    TT_CHECK_EQ(tardy_blocking(job_double, (void *)(intptr_t)1, &r), 0);
    TT_CHECK_EQ(r, 2);
    TT_CHECK_EQ(atomic_load(&never_ran), 0);
}

Test(blocking, deadline_applies_to_the_wait)
{
    tardy_config cfg = {.threads = 1, .blocking_threads = 1};
    TT_RUN(&cfg, deadline_entry, NULL);
}

/* ---- the bound, shared by the runtimes; lazy start; reaping ------------ */

static atomic_int in_job, max_in_job;

static int64_t job_count(void *arg)
{
    (void)arg;
    int now = atomic_fetch_add(&in_job, 1) + 1;
    int seen = atomic_load(&max_in_job);
    while (now > seen && !atomic_compare_exchange_weak(&max_in_job, &seen, now))
        ;
    struct timespec ts = {0, 20 * 1000000L};
    nanosleep(&ts, NULL);
    atomic_fetch_sub(&in_job, 1);
    return 0;
}

static void count_task(void *arg)
{
    (void)arg;
    TT_CHECK_EQ(tardy_blocking(job_count, NULL, NULL), 0);
}

static void bound_entry(void *arg)
{
    (void)arg;
    for (int i = 0; i < 6; i++)
        TT_CHECK_EQ(tardy_spawn(count_task, NULL, NULL), 0);
}

Test(blocking, bound_shared_by_runtimes)
{
    tardy_config cfg = {.threads = 2, .blocking_threads = 2};
    TT_RUN(&cfg, bound_entry, NULL);
    /* 12 jobs from two runtimes, never more than two at once. */
    cr_expect_eq(atomic_load(&max_in_job), 2);
}

Test(blocking, thread_limit)
{
    tardy_config cfg = {.threads = 1, .blocking_threads = 1025};
    cr_expect_eq(tardy_run(&cfg, basic_entry, NULL), -EINVAL);
    cfg.blocking_threads = 1024;
    TT_RUN(&cfg, basic_entry, NULL);
}

static int lazy_before, lazy_busy, lazy_after;

static void reap_entry(void *arg)
{
    (void)arg;
    lazy_before = thread_count();
    for (int i = 0; i < 6; i++)
        TT_CHECK_EQ(tardy_spawn(gate_holder, NULL, NULL), 0);
    while (atomic_load(&gate_started) < 6)
        tardy_sleep(TT_MS);
    lazy_busy = thread_count();
    atomic_store(&gate_open, 1);
    /* Idle threads leave after blocking_idle_ms; wait up to 10 s. */
    for (int i = 0; i < 1000; i++) {
        lazy_after = thread_count();
        if (lazy_after == lazy_before)
            break;
        tardy_sleep(10 * TT_MS);
    }
}

Test(blocking, lazy_start_and_idle_reaping)
{
    tardy_config cfg = {.threads = 1, .blocking_threads = 6, .blocking_idle_ms = 20};
    TT_RUN(&cfg, reap_entry, NULL);
    cr_expect_eq(lazy_busy, lazy_before + 6, "no pool thread started: %d -> %d", lazy_before,
                 lazy_busy);
    cr_expect_eq(lazy_after, lazy_before, "idle pool threads not reaped: %d left of %d",
                 lazy_after, lazy_before);
}

/* ---- tardy_stop with jobs running and queued --------------------------- */

static atomic_int stop_entered, stop_started, stop_finished, stop_delivered;

static int64_t job_stop(void *arg)
{
    (void)arg;
    atomic_fetch_add(&stop_started, 1);
    struct timespec ts = {0, 50 * 1000000L};
    nanosleep(&ts, NULL);
    atomic_fetch_add(&stop_finished, 1);
    return 0;
}

static void stop_job_task(void *arg)
{
    (void)arg;
    int *owned = malloc(sizeof *owned);
    int64_t r;
    atomic_fetch_add(&stop_entered, 1);
    /* On 0 the result was delivered and owned is still ours. */
    if (tardy_blocking_drop(job_stop, owned, drop_count, &r) == 0) {
        free(owned);
        atomic_fetch_add(&stop_delivered, 1);
    }
}

static void stop_entry(void *arg)
{
    (void)arg;
    if (tt_rt_index() != 0)
        return;
    for (int i = 0; i < 2; i++)
        TT_CHECK_EQ(tardy_spawn_on(tardy_runtime_at(1), stop_job_task, NULL), 0);
    for (int i = 0; i < 8; i++)
        TT_CHECK_EQ(tardy_spawn(stop_job_task, NULL, NULL), 0);
    /* Every task has run up to its call (a task spawned on the other
     * runtime may start late; one that never ran would count neither as
     * dropped nor delivered), and the pool is busy. */
    while (atomic_load(&stop_entered) < 10 || atomic_load(&stop_started) < 2)
        tardy_sleep(TT_MS);
    tardy_stop();
}

Test(blocking, stop_with_jobs_running_and_queued)
{
    tardy_config cfg = {.threads = 2, .blocking_threads = 2};
    TT_RUN(&cfg, stop_entry, NULL);
    /* tardy_run has waited for the jobs that had started, and none of the
     * queued ones starts afterwards. */
    int started = atomic_load(&stop_started);
    cr_expect_eq(atomic_load(&stop_finished), started);
    struct timespec ts = {0, 200 * 1000000L};
    nanosleep(&ts, NULL);
    cr_expect_eq(atomic_load(&stop_started), started);
    /* Every job whose result nobody took was dropped exactly once. */
    cr_expect_eq(atomic_load(&drops) + atomic_load(&stop_delivered), 10);
    cr_expect_gt(atomic_load(&drops), 0);
}
