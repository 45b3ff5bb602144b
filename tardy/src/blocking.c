/* The blocking-work pool: threads shared by the runtimes of one run that
 * run calls which would block a runtime thread, while the calling task
 * parks. A finished job wakes its task through the runtime's inbox. */
#include "blocking.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <time.h>

typedef enum job_state {
    JOB_QUEUED,    /* in the pool's queue */
    JOB_RUNNING,   /* a pool thread runs fn */
    JOB_DONE,      /* result set, the task's wake-up is on its way */
    JOB_ABANDONED, /* running, and its task stopped waiting: the pool frees it */
} job_state;

typedef struct blocking_job {
    struct blocking_job *next;
    tardy_blocking_fn fn;
    void *arg;
    void (*drop)(void *arg, int64_t result);
    task_rec *task;
    int64_t result;
    job_state state;
    /* Once started, the task waits for the result whatever happens: fn
     * works on memory the task owns (a file op's buffer). */
    bool hold;
} blocking_job;

struct tardy_blocking_pool {
    pthread_mutex_t lock;
    pthread_cond_t work;   /* a job was queued, or the pool shuts down */
    pthread_cond_t change; /* a job finished, or a thread left */
    blocking_job *head;
    blocking_job *tail;
    unsigned queued;
    unsigned threads; /* alive */
    unsigned waiting; /* alive and waiting for a job */
    unsigned starting; /* created, not yet running */
    unsigned max_threads;
    unsigned idle_ms;
    bool shutdown;
};

int tardy_blocking_pool_create(struct tardy_blocking_pool **out, unsigned max_threads,
                               unsigned idle_ms)
{
    struct tardy_blocking_pool *p = calloc(1, sizeof *p);
    if (!p)
        return -ENOMEM;
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    /* Idle time is measured on the monotonic clock, as the runtimes do. */
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->work, &attr);
    pthread_cond_init(&p->change, NULL);
    pthread_condattr_destroy(&attr);
    p->max_threads = max_threads;
    p->idle_ms = idle_ms;
    *out = p;
    return 0;
}

void tardy_blocking_pool_destroy(struct tardy_blocking_pool *p)
{
    if (!p)
        return;
    /* Every runtime has ended, and took its queued jobs back as it did:
     * what is left are abandoned jobs still running. Wait for them. */
    pthread_mutex_lock(&p->lock);
    p->shutdown = true;
    pthread_cond_broadcast(&p->work);
    while (p->threads > 0)
        pthread_cond_wait(&p->change, &p->lock);
    pthread_mutex_unlock(&p->lock);
    pthread_mutex_destroy(&p->lock);
    pthread_cond_destroy(&p->work);
    pthread_cond_destroy(&p->change);
    free(p);
}

static void queue_unlink(struct tardy_blocking_pool *p, blocking_job *job)
{
    blocking_job **link = &p->head;
    blocking_job *prev = NULL;
    while (*link && *link != job) {
        prev = *link;
        link = &(*link)->next;
    }
    if (!*link)
        return;
    *link = job->next;
    if (p->tail == job)
        p->tail = prev;
    p->queued--;
}

/* Waits for a job; false when the thread should leave (idle too long, or
 * the pool shuts down). Called with the lock held. */
static bool worker_wait(struct tardy_blocking_pool *p)
{
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += p->idle_ms / 1000;
    until.tv_nsec += (long)(p->idle_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    while (!p->head && !p->shutdown) {
        p->waiting++;
        int rc = pthread_cond_timedwait(&p->work, &p->lock, &until);
        p->waiting--;
        if (rc == ETIMEDOUT && !p->head)
            return false;
    }
    return p->head != NULL;
}

static int worker_start(struct tardy_blocking_pool *p);

/* Whether the queue needs one more thread than there is or will be. */
static bool pool_short(const struct tardy_blocking_pool *p)
{
    return p->queued > p->waiting + p->starting && p->threads < p->max_threads;
}

static void *worker_main(void *arg)
{
    struct tardy_blocking_pool *p = arg;
    pthread_mutex_lock(&p->lock);
    p->starting--;
    while (worker_wait(p)) {
        blocking_job *job = p->head;
        p->head = job->next;
        if (!p->head)
            p->tail = NULL;
        p->queued--;
        job->state = JOB_RUNNING;
        /* The pool grows from its own threads, one start at a time, so a
         * burst of jobs costs the runtime's thread one thread start. */
        if (pool_short(p))
            worker_start(p);
        pthread_mutex_unlock(&p->lock);
        int64_t result = job->fn(job->arg);
        pthread_mutex_lock(&p->lock);
        if (job->state == JOB_ABANDONED) {
            pthread_mutex_unlock(&p->lock);
            if (job->drop)
                job->drop(job->arg, result);
            free(job);
            pthread_mutex_lock(&p->lock);
            continue;
        }
        job->result = result;
        job->state = JOB_DONE;
        /* Woken under the lock: a runtime that is ending takes the lock
         * before it lets go of the task and its driver (job_interrupt), so
         * the wake-up never reaches a runtime that is gone. */
        tardy_task_wake(job->task, 0);
        pthread_cond_broadcast(&p->change);
    }
    p->threads--;
    pthread_cond_broadcast(&p->change);
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

/* Starts one more thread. Signals go to the runtime threads, never to
 * the pool's (a server's SIGTERM must reach its loop). Called with the
 * lock held; returns 0 or -errno. */
static int worker_start(struct tardy_blocking_pool *p)
{
    pthread_attr_t attr;
    int rc = pthread_attr_init(&attr);
    if (rc)
        return -rc;
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pthread_t thread;
    rc = pthread_create(&thread, &attr, worker_main, p);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    pthread_attr_destroy(&attr);
    if (rc)
        return -rc;
    p->threads++;
    p->starting++;
    return 0;
}

/* A waiting task's deadline passed, it was cancelled, or its runtime is
 * ending (then tardy_tls_rt is not its runtime and the task never runs
 * again, so whatever it would free is freed here). */
static void job_interrupt(struct tardy_runtime *rt, task_rec *t, int err)
{
    blocking_job *job = t->park_obj;
    struct tardy_blocking_pool *p = rt->run->pool;
    bool exiting = t->rt != tardy_tls_rt;
    pthread_mutex_lock(&p->lock);
    switch (job->state) {
    case JOB_QUEUED:
        queue_unlink(p, job);
        pthread_mutex_unlock(&p->lock);
        if (job->drop)
            job->drop(job->arg, err);
        free(job);
        if (!exiting)
            tardy_task_ready(rt, t, err);
        return;
    case JOB_RUNNING:
        if (exiting) {
            /* The task's stack is about to be unmapped, and fn may be
             * using memory on it: wait for fn to return. */
            while (job->state == JOB_RUNNING)
                pthread_cond_wait(&p->change, &p->lock);
            break;
        }
        if (job->hold) {
            /* The result will come; let a later interrupt (the runtime
             * ending) reach this wait again. A cancel is not lost: the
             * task's next wait fails with it. */
            t->interrupt_err = 0;
            if (err == -ECANCELED)
                t->cancel_pending = true;
            pthread_mutex_unlock(&p->lock);
            return;
        }
        job->state = JOB_ABANDONED;
        pthread_mutex_unlock(&p->lock);
        tardy_task_ready(rt, t, err);
        return;
    case JOB_DONE:
    case JOB_ABANDONED:
        break;
    }
    pthread_mutex_unlock(&p->lock);
    /* Done: the wake-up is in the inbox and wins, unless the runtime is
     * ending, when nobody will read the result. */
    if (exiting) {
        if (job->drop)
            job->drop(job->arg, job->result);
        free(job);
    }
}

/* Kept on the pool's queue, outside the task: a task still waiting when
 * its runtime ends must take its job back first. */
static const park_kind park_blocking = {.interrupt = job_interrupt, .leave_at_exit = true};

int tardy_blocking_call(tardy_blocking_fn fn, void *arg, void (*drop)(void *arg, int64_t result),
                        bool hold, int64_t *result)
{
    struct tardy_runtime *rt;
    task_rec *t;
    int err = tardy_call_begin(&rt, &t);
    if (!err && !fn)
        err = -EINVAL;
    blocking_job *job = err ? NULL : calloc(1, sizeof *job);
    if (!err && !job)
        err = -ENOMEM;
    if (err) {
        if (drop)
            drop(arg, err);
        return err;
    }
    struct tardy_blocking_pool *p = rt->run->pool;
    job->fn = fn;
    job->arg = arg;
    job->drop = drop;
    job->task = t;
    job->hold = hold;
    job->state = JOB_QUEUED;

    pthread_mutex_lock(&p->lock);
    if (p->shutdown || atomic_load(&rt->run->stop)) {
        pthread_mutex_unlock(&p->lock);
        free(job);
        if (drop)
            drop(arg, -ESRCH);
        return -ESRCH;
    }
    if (p->tail)
        p->tail->next = job;
    else
        p->head = job;
    p->tail = job;
    p->queued++;
    /* Lazily: a thread starts only when the queue holds more jobs than
     * there are threads waiting for one or starting; and only one start
     * at a time from here (the new thread starts the next, see
     * worker_main). */
    if (pool_short(p) && p->starting == 0) {
        err = worker_start(p);
        if (err && p->threads == 0) {
            queue_unlink(p, job);
            pthread_mutex_unlock(&p->lock);
            free(job);
            err = err == -ENOMEM ? -ENOMEM : -EAGAIN;
            if (drop)
                drop(arg, err);
            return err;
        }
    }
    if (p->waiting)
        pthread_cond_signal(&p->work);
    pthread_mutex_unlock(&p->lock);

    int64_t r = tardy_wait(rt, t, &park_blocking, job);
    if (r != 0)
        return (int)r; /* the interrupt has dealt with the job (and drop) */
    if (result)
        *result = job->result;
    free(job);
    return 0;
}

int tardy_blocking(tardy_blocking_fn fn, void *arg, int64_t *result)
{
    return tardy_blocking_call(fn, arg, NULL, false, result);
}

int tardy_blocking_drop(tardy_blocking_fn fn, void *arg, void (*drop)(void *arg, int64_t result),
                        int64_t *result)
{
    return tardy_blocking_call(fn, arg, drop, false, result);
}
