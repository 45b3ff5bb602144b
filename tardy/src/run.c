/* Runs: starting a run's runtimes (a thread each, its driver, its task
 * pool), stopping them, the queries about them, and the process-wide
 * registry of live runtimes. The loop each one runs is runtime.c. */
#include "blocking.h"
#include "guard.h"
#include "runtime.h"

#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Every live runtime of the process, so that tardy_stop (from a signal
 * handler too) and cross-runtime requests can reach it. Slots are claimed
 * and released under the lock; tardy_stop reads them lock-free and the
 * `stoppers` count keeps a runtime alive while a stop is walking them. */
static _Atomic(struct tardy_runtime *) registry[TARDY_MAX_RUNTIMES];
static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static atomic_int stoppers;

static int registry_claim(struct tardy_runtime *rt)
{
    int err = -EAGAIN;
    pthread_mutex_lock(&registry_lock);
    for (unsigned i = 0; i < TARDY_MAX_RUNTIMES; i++) {
        if (atomic_load(&registry[i]) == NULL) {
            rt->reg_slot = i;
            atomic_store(&registry[i], rt);
            err = 0;
            break;
        }
    }
    pthread_mutex_unlock(&registry_lock);
    return err;
}

static void registry_release(struct tardy_runtime *rt)
{
    pthread_mutex_lock(&registry_lock);
    atomic_store(&registry[rt->reg_slot], NULL);
    rt->closed = true;
    pthread_mutex_unlock(&registry_lock);
    /* A tardy_stop that read the slot before we cleared it may still be
     * calling our driver's wake. */
    while (atomic_load(&stoppers) > 0)
        sched_yield();
}

struct tardy_runtime *tardy_registry_lock_get(unsigned slot)
{
    pthread_mutex_lock(&registry_lock);
    if (slot >= TARDY_MAX_RUNTIMES)
        return NULL;
    struct tardy_runtime *rt = atomic_load(&registry[slot]);
    return rt && !rt->closed ? rt : NULL;
}

void tardy_registry_unlock(void)
{
    pthread_mutex_unlock(&registry_lock);
}

/* ---- driver choice ----------------------------------------------------- */

static const struct tardy_driver_ops *driver_by_kind(tardy_driver_kind kind)
{
    switch (kind) {
    case TARDY_DRIVER_IO_URING:
#ifdef TARDY_HAVE_IO_URING
        return &tardy_driver_io_uring;
#else
        return NULL;
#endif
    case TARDY_DRIVER_EPOLL:
        return &tardy_driver_epoll;
    case TARDY_DRIVER_BUSY:
        return &tardy_driver_busy;
    case TARDY_DRIVER_AUTO:
        break;
    }
    return NULL;
}

static int driver_kind_from_env(tardy_driver_kind *kind)
{
    const char *env = getenv("TARDY_DRIVER");
    if (!env || !*env)
        return 0;
    if (strcmp(env, "io_uring") == 0 || strcmp(env, "uring") == 0)
        *kind = TARDY_DRIVER_IO_URING;
    else if (strcmp(env, "epoll") == 0)
        *kind = TARDY_DRIVER_EPOLL;
    else if (strcmp(env, "busy") == 0)
        *kind = TARDY_DRIVER_BUSY;
    else if (strcmp(env, "auto") == 0)
        *kind = TARDY_DRIVER_AUTO;
    else
        return -EINVAL;
    return 0;
}

/* A custom driver is checked once, before any thread starts: one built
 * against another tardy_driver.h would read and write tardy_op by another
 * layout, so it is refused instead of trusted. */
static int driver_check(const struct tardy_driver_ops *drv)
{
    if (drv->api_version != TARDY_DRIVER_API_VERSION)
        return -EPROTO;
    if (!drv->name || !drv->init || !drv->fini || !drv->submit || !drv->cancel || !drv->poll ||
        !drv->wake)
        return -EINVAL;
    if ((drv->flags & ~TARDY_DRIVER_RECV_STREAM) ||
        ((drv->flags & TARDY_DRIVER_RECV_STREAM) && !drv->give_back))
        return -EINVAL;
    return 0;
}

static int driver_open(struct tardy_runtime *rt, const tardy_config *cfg)
{
    tardy_driver_params params = {.queue_depth = cfg->queue_depth,
                                  .max_tasks = cfg->max_tasks,
                                  .recv_buffers = cfg->recv_buffers,
                                  .recv_buffer_size = cfg->recv_buffer_size};
    if (cfg->custom_driver) {
        rt->drv = cfg->custom_driver;
        return rt->drv->init(&rt->drv_state, &params);
    }
    if (cfg->driver != TARDY_DRIVER_AUTO) {
        rt->drv = driver_by_kind(cfg->driver);
        if (!rt->drv)
            return -ENOSYS;
        return rt->drv->init(&rt->drv_state, &params);
    }
    static const tardy_driver_kind order[] = {TARDY_DRIVER_IO_URING, TARDY_DRIVER_EPOLL,
                                              TARDY_DRIVER_BUSY};
    int err = -ENOSYS;
    for (size_t i = 0; i < sizeof order / sizeof order[0]; i++) {
        rt->drv = driver_by_kind(order[i]);
        if (!rt->drv)
            continue;
        err = rt->drv->init(&rt->drv_state, &params);
        if (err == 0)
            return 0;
    }
    rt->drv = NULL;
    return err;
}

/* ---- a runtime's life -------------------------------------------------- */

static int runtime_init(struct tardy_runtime *rt)
{
    struct tardy_run *run = rt->run;
    rt->max_tasks = run->config.max_tasks;
    rt->stack_size = run->config.stack_size;
    rt->now = tardy_clock_ns();
    atomic_init(&rt->inbox, NULL);
    atomic_init(&rt->used, 0);
    int err = tardy_task_pool_init(rt);
    if (err == 0)
        err = tardy_timer_init(rt);
    if (err == 0)
        err = driver_open(rt, &run->config);
    if (err == 0 && (rt->drv->flags & TARDY_DRIVER_RECV_STREAM) && run->config.recv_buffers) {
        rt->ahead_links = calloc(run->config.recv_buffers, sizeof *rt->ahead_links);
        if (!rt->ahead_links) {
            rt->drv->fini(rt->drv_state);
            err = -ENOMEM;
        }
    }
    if (err == 0 && (err = tardy_stream_sends_init(rt)) != 0) {
        rt->drv->fini(rt->drv_state);
        free(rt->ahead_links);
        rt->ahead_links = NULL;
    }
    if (err == 0) {
        err = registry_claim(rt);
    } else {
        rt->drv = NULL;
        rt->drv_state = NULL;
    }
    return err;
}

static void runtime_fini(struct tardy_runtime *rt)
{
    /* Tasks parked in waits recorded outside them (channels) must leave
     * before their memory goes; other waits die with the driver. */
    if (rt->tasks) {
        for (unsigned i = 0; i < rt->tasks_set_up; i++) {
            task_rec *t = &rt->tasks[i];
            if (t->state == TASK_PARKED && t->park && t->park->leave_at_exit && !t->interrupt_err) {
                t->interrupt_err = -ECANCELED;
                t->park->interrupt(rt, t, -ECANCELED);
            }
        }
    }
    if (rt->drv_state)
        registry_release(rt);
    /* Nothing can be pushed any more; drop what is queued. */
    remote_node *list = atomic_exchange(&rt->inbox, NULL);
    while (list) {
        remote_node *next = list->next;
        if (list->kind != REMOTE_WAKE)
            free(list);
        list = next;
    }
    if (rt->drv_state)
        rt->drv->fini(rt->drv_state);
    rt->drv_state = NULL;
    free(rt->ahead_links);
    rt->ahead_links = NULL;
    tardy_stream_sends_fini(rt);
    tardy_timer_fini(rt);
    tardy_task_pool_fini(rt);
}

/* A barrier whose count can be lowered while threads wait at it. */
static void gate_init(struct tardy_gate *g, unsigned expected)
{
    pthread_mutex_init(&g->lock, NULL);
    pthread_cond_init(&g->cond, NULL);
    g->expected = expected;
    g->arrived = 0;
}

static void gate_arrive(struct tardy_gate *g)
{
    pthread_mutex_lock(&g->lock);
    g->arrived++;
    if (g->arrived >= g->expected)
        pthread_cond_broadcast(&g->cond);
    while (g->arrived < g->expected)
        pthread_cond_wait(&g->cond, &g->lock);
    pthread_mutex_unlock(&g->lock);
}

static void gate_shrink(struct tardy_gate *g, unsigned expected)
{
    pthread_mutex_lock(&g->lock);
    g->expected = expected;
    pthread_cond_broadcast(&g->cond);
    pthread_mutex_unlock(&g->lock);
}

static void gate_destroy(struct tardy_gate *g)
{
    pthread_mutex_destroy(&g->lock);
    pthread_cond_destroy(&g->cond);
}

static void *runtime_thread(void *arg)
{
    struct tardy_runtime *rt = arg;
    struct tardy_run *run = rt->run;
    tardy_tls_rt = NULL;
    tardy_guard_thread guard;
    tardy_guard_thread_enter(&guard);
    rt->init_err = runtime_init(rt);
    gate_arrive(&run->start_gate);
    bool all_ok = true;
    for (unsigned i = 0; i < run->count; i++)
        if (run->rts[i].init_err)
            all_ok = false;
    if (all_ok) {
        tardy_tls_rt = rt;
        atomic_fetch_add(&rt->used, 1);
        if (tardy_task_start(rt, run->entry, run->entry_arg, NULL) != 0) {
            atomic_fetch_sub(&rt->used, 1);
            if (atomic_fetch_sub(&run->live, 1) == 1)
                tardy_run_wake_all(run);
        }
        tardy_runtime_loop(rt);
        /* Make sure every sibling leaves its loop too. */
        tardy_run_wake_all(run);
    }
    gate_arrive(&run->end_gate);
    tardy_tls_rt = NULL;
    runtime_fini(rt);
    tardy_guard_thread_leave(&guard);
    return NULL;
}

static unsigned online_cpus(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (unsigned)n : 1;
}

int tardy_run(const tardy_config *config, tardy_fn entry, void *arg)
{
    if (tardy_tls_rt)
        return -EBUSY;
    if (!entry)
        return -EINVAL;
    tardy_config cfg = config ? *config : (tardy_config){0};
    int err =
        cfg.custom_driver ? driver_check(cfg.custom_driver) : driver_kind_from_env(&cfg.driver);
    if (err)
        return err;
    if (cfg.threads == 0)
        cfg.threads = online_cpus();
    if (cfg.threads > TARDY_MAX_RUNTIMES)
        return -EINVAL;
    if (cfg.max_tasks == 0)
        cfg.max_tasks = TARDY_DEFAULT_TASKS;
    if (cfg.max_tasks > TARDY_MAX_TASKS || cfg.max_watches > TARDY_MAX_WATCHES)
        return -EINVAL;
    if (cfg.stack_size == 0)
        cfg.stack_size = TARDY_DEFAULT_STACK;
    if (cfg.stack_size > ((size_t)1 << 32))
        return -EINVAL;
    cfg.stack_size = tardy_stack_round(cfg.stack_size);
    if (cfg.queue_depth == 0)
        cfg.queue_depth = TARDY_DEFAULT_QUEUE;
    if ((unsigned)cfg.driver > TARDY_DRIVER_BUSY)
        return -EINVAL;
    if (cfg.recv_buffers == 0)
        cfg.recv_buffers = TARDY_DEFAULT_RECV_BUFFERS;
    else if (cfg.recv_buffers == UINT_MAX)
        cfg.recv_buffers = 0;
    if (cfg.recv_buffers > TARDY_MAX_RECV_BUFFERS)
        return -EINVAL;
    if (cfg.recv_buffer_size == 0)
        cfg.recv_buffer_size = TARDY_DEFAULT_RECV_BUFFER_SIZE;
    if (cfg.recv_buffer_size > TARDY_MAX_RECV_BUFFER_SIZE)
        return -EINVAL;
    if (cfg.blocking_threads == 0)
        cfg.blocking_threads = TARDY_DEFAULT_BLOCKING_THREADS;
    if (cfg.blocking_threads > TARDY_MAX_BLOCKING_THREADS)
        return -EINVAL;
    if (cfg.blocking_idle_ms == 0)
        cfg.blocking_idle_ms = TARDY_DEFAULT_BLOCKING_IDLE_MS;

    struct tardy_run *run = calloc(1, sizeof *run);
    if (!run)
        return -ENOMEM;
    run->rts = calloc(cfg.threads, sizeof *run->rts);
    if (!run->rts) {
        free(run);
        return -ENOMEM;
    }
    err = tardy_blocking_pool_create(&run->pool, cfg.blocking_threads, cfg.blocking_idle_ms);
    if (err) {
        free(run->rts);
        free(run);
        return err;
    }
    run->config = cfg;
    run->count = cfg.threads;
    run->entry = entry;
    run->entry_arg = arg;
    atomic_init(&run->stop, false);
    atomic_init(&run->live, (long)cfg.threads);
    gate_init(&run->start_gate, cfg.threads);
    gate_init(&run->end_gate, cfg.threads);
    for (unsigned i = 0; i < cfg.threads; i++) {
        run->rts[i].run = run;
        run->rts[i].index = i;
    }

    tardy_guard_install();
    unsigned started = 1;
    for (unsigned i = 1; i < cfg.threads; i++) {
        int rc = pthread_create(&run->rts[i].thread, NULL, runtime_thread, &run->rts[i]);
        if (rc != 0) {
            err = -rc;
            break;
        }
        started++;
    }
    if (err) {
        /* Runtimes that never got a thread count as failed to start, and the
         * gates stop waiting for them: the started ones see the failure and
         * leave without running anything. */
        for (unsigned i = started; i < cfg.threads; i++)
            run->rts[i].init_err = err;
        gate_shrink(&run->start_gate, started);
        gate_shrink(&run->end_gate, started);
    }
    runtime_thread(&run->rts[0]);
    for (unsigned i = 1; i < started; i++)
        pthread_join(run->rts[i].thread, NULL);
    for (unsigned i = 0; i < cfg.threads && err == 0; i++)
        err = run->rts[i].init_err;
    gate_destroy(&run->start_gate);
    gate_destroy(&run->end_gate);
    tardy_blocking_pool_destroy(run->pool);
    free(run->rts);
    free(run);
    return err;
}
/* ---- stopping and queries ---------------------------------------------- */

void tardy_stop(void)
{
    struct tardy_runtime *self = tardy_tls_rt;
    if (self) {
        atomic_store(&self->run->stop, true);
        tardy_run_wake_all(self->run);
        return;
    }
    atomic_fetch_add(&stoppers, 1);
    for (unsigned i = 0; i < TARDY_MAX_RUNTIMES; i++) {
        struct tardy_runtime *rt = atomic_load(&registry[i]);
        if (!rt)
            continue;
        atomic_store(&rt->run->stop, true);
        rt->drv->wake(rt->drv_state);
    }
    atomic_fetch_sub(&stoppers, 1);
}

int tardy_stopping(void)
{
    struct tardy_runtime *rt = tardy_tls_rt;
    return rt ? atomic_load(&rt->run->stop) : 0;
}

tardy_runtime *tardy_runtime_self(void)
{
    return tardy_tls_rt;
}

tardy_runtime *tardy_runtime_at(unsigned index)
{
    struct tardy_runtime *rt = tardy_tls_rt;
    if (!rt || index >= rt->run->count)
        return NULL;
    return &rt->run->rts[index];
}

unsigned tardy_runtime_index(const tardy_runtime *rt)
{
    return rt ? rt->index : 0;
}

unsigned tardy_runtime_count(void)
{
    struct tardy_runtime *rt = tardy_tls_rt;
    return rt ? rt->run->count : 0;
}

const char *tardy_driver_name(void)
{
    struct tardy_runtime *rt = tardy_tls_rt;
    return rt ? rt->drv->name : NULL;
}

uint64_t tardy_now(void)
{
    struct tardy_runtime *rt = tardy_tls_rt;
    return rt ? rt->now : tardy_clock_ns();
}

uint64_t tardy_io_epoch(void)
{
    struct tardy_runtime *rt = tardy_tls_rt;
    return rt ? rt->io_epoch : 0;
}
