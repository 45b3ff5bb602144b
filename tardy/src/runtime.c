/* The scheduler: each runtime's loop (run the ready tasks, drain the
 * cross-thread inbox, poll the driver, fire timers), switching, and
 * parking and waking tasks. Starting and stopping runs is run.c. */
#include "runtime.h"

#include "sanitize.h"

#include <errno.h>
#include <stdlib.h>
#include <time.h>

_Thread_local struct tardy_runtime *tardy_tls_rt;

uint64_t tardy_clock_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---- switching --------------------------------------------------------- */

static void switch_to_task(struct tardy_runtime *rt, task_rec *t)
{
    void *fake = NULL;
    if (!t->stack.map)
        tardy_task_bind(rt, t); /* its first switch */
    rt->current = t;
    t->state = TASK_RUNNING;
    TARDY_ASAN_START(&fake, t->stack.lo, t->stack.size);
    tardy_coro_switch(&rt->sched_coro, &t->coro);
    TARDY_ASAN_FINISH(fake, NULL, NULL);
    rt->current = NULL;
    if (t->state == TASK_DONE)
        tardy_task_release(rt, t);
}

/* Back to the scheduler; returns when the task is resumed. A finishing
 * task passes dying = true and never returns. */
void tardy_sched_switch(struct tardy_runtime *rt, task_rec *t, bool dying)
{
    TARDY_ASAN_START(dying ? NULL : &t->asan_fake, rt->sched_stack_bottom, rt->sched_stack_size);
    tardy_coro_switch(&t->coro, &rt->sched_coro);
    TARDY_ASAN_FINISH(t->asan_fake, NULL, NULL);
}

void tardy_task_entry(void *arg)
{
    task_rec *t = arg;
    struct tardy_runtime *rt = t->rt;
    /* First entry: learn the scheduler's stack for later switches back. */
    TARDY_ASAN_FINISH(NULL, &rt->sched_stack_bottom, &rt->sched_stack_size);
    t->fn(t->arg);
    rt = t->rt;
    t->state = TASK_DONE;
    for (task_rec *j = t->joiners; j;) {
        task_rec *next = j->join_next;
        j->join_next = j->join_prev = NULL;
        j->join_target = NULL;
        tardy_task_ready(rt, j, 0);
        j = next;
    }
    t->joiners = NULL;
    tardy_sched_switch(rt, t, true);
    __builtin_unreachable();
}

/* ---- parking and waking ------------------------------------------------ */

int64_t tardy_park(struct tardy_runtime *rt, task_rec *t)
{
    t->state = TASK_PARKED;
    tardy_sched_switch(rt, t, false);
    if (t->timer.idx >= 0)
        tardy_timer_remove(rt, &t->timer);
    t->park = NULL;
    t->park_obj = NULL;
    t->interrupt_err = 0;
    return t->wake_result;
}

void tardy_task_ready(struct tardy_runtime *rt, task_rec *t, int64_t result)
{
    t->wake_result = result;
    t->state = TASK_READY;
    t->next = NULL;
    if (rt->ready_tail)
        rt->ready_tail->next = t;
    else
        rt->ready_head = t;
    rt->ready_tail = t;
}

void tardy_inbox_push(struct tardy_runtime *rt, remote_node *node)
{
    remote_node *old = atomic_load_explicit(&rt->inbox, memory_order_relaxed);
    do {
        node->next = old;
    } while (!atomic_compare_exchange_weak_explicit(&rt->inbox, &old, node, memory_order_release,
                                                    memory_order_relaxed));
    /* Only the push that finds the inbox empty needs to wake the loop: the
     * owner takes the whole list at once. */
    if (old == NULL)
        rt->drv->wake(rt->drv_state);
}

void tardy_task_wake(task_rec *t, int64_t result)
{
    struct tardy_runtime *rt = t->rt;
    if (rt == tardy_tls_rt) {
        tardy_task_ready(rt, t, result);
        return;
    }
    t->wake_result = result;
    t->rnode.kind = REMOTE_WAKE;
    tardy_inbox_push(rt, &t->rnode);
}

void tardy_task_interrupt(struct tardy_runtime *rt, task_rec *t, int err)
{
    if (t->state != TASK_PARKED || !t->park) {
        if (err == -ECANCELED)
            t->cancel_pending = true;
        return;
    }
    if (t->interrupt_err)
        return; /* already on its way out */
    t->interrupt_err = err;
    t->park->interrupt(rt, t, err);
}

void tardy_task_timer_fire(struct tardy_runtime *rt, timer_node *n)
{
    task_rec *t = (task_rec *)((char *)n - offsetof(task_rec, timer));
    if (t->state == TASK_PARKED)
        tardy_task_interrupt(rt, t, -ETIMEDOUT);
}

void tardy_op_complete(tardy_op *op, int64_t result)
{
    /* A driver may complete an op outside its poll (from submit or
     * cancel, tardy_driver.h): its bytes count all the same. */
    if (tardy_tls_rt)
        tardy_epoch_note(tardy_tls_rt, op, result);
    if (op->on_complete) {
        op->on_complete(op, result);
        return;
    }
    task_rec *t = op->owner;
    if (result == -ECANCELED && t->interrupt_err)
        result = t->interrupt_err;
    tardy_task_ready(t->rt, t, result);
}

int tardy_call_begin(struct tardy_runtime **rt_out, task_rec **t_out)
{
    struct tardy_runtime *rt = tardy_tls_rt;
    task_rec *t = rt ? rt->current : NULL;
    if (!t)
        return -EPERM;
    *rt_out = rt;
    *t_out = t;
    if (t->cancel_pending) {
        t->cancel_pending = false;
        return -ECANCELED;
    }
    if (t->deadline && t->deadline <= rt->now)
        return -ETIMEDOUT;
    return 0;
}

int64_t tardy_wait(struct tardy_runtime *rt, task_rec *t, const park_kind *kind, void *obj)
{
    t->park = kind;
    t->park_obj = obj;
    if (t->deadline)
        tardy_timer_add(rt, &t->timer, t->deadline);
    return tardy_park(rt, t);
}

/* ---- the loop ----------------------------------------------------------- */

static void inbox_drain(struct tardy_runtime *rt)
{
    remote_node *list = atomic_exchange_explicit(&rt->inbox, NULL, memory_order_acquire);
    /* Reverse into arrival order. */
    remote_node *fifo = NULL;
    while (list) {
        remote_node *next = list->next;
        list->next = fifo;
        fifo = list;
        list = next;
    }
    while (fifo) {
        remote_node *node = fifo;
        fifo = fifo->next;
        if (node->kind == REMOTE_WAKE) {
            task_rec *t = (task_rec *)((char *)node - offsetof(task_rec, rnode));
            tardy_task_ready(rt, t, t->wake_result);
            continue;
        }
        remote_msg *msg = (remote_msg *)node;
        if (node->kind == REMOTE_SPAWN) {
            if (tardy_task_start(rt, msg->fn, msg->arg, NULL) != 0) {
                /* The slot was reserved but no stack could be had. */
                atomic_fetch_sub(&rt->used, 1);
                if (atomic_fetch_sub(&rt->run->live, 1) == 1)
                    tardy_run_wake_all(rt->run);
            }
        } else {
            task_rec *t = tardy_task_lookup(rt, msg->target);
            if (t)
                tardy_task_interrupt(rt, t, -ECANCELED);
        }
        free(msg);
    }
}

static bool run_over(struct tardy_run *run)
{
    return atomic_load_explicit(&run->stop, memory_order_relaxed) ||
           atomic_load_explicit(&run->live, memory_order_acquire) == 0;
}

static void run_ready(struct tardy_runtime *rt)
{
    /* Run what is ready now; tasks readied meanwhile wait for the next
     * turn, so I/O is polled between rounds and yield cannot starve it. */
    task_rec *batch = rt->ready_head;
    task_rec *stop_after = rt->ready_tail;
    rt->ready_head = rt->ready_tail = NULL;
    while (batch) {
        task_rec *t = batch;
        batch = (t == stop_after) ? NULL : t->next;
        switch_to_task(rt, t);
        if (run_over(rt->run)) {
            /* Put back what was not run so teardown sees consistent lists. */
            while (batch) {
                task_rec *n = (batch == stop_after) ? NULL : batch->next;
                tardy_task_ready(rt, batch, batch->wake_result);
                batch = n;
            }
            return;
        }
    }
}

static void fire_timers(struct tardy_runtime *rt)
{
    timer_node *n;
    while ((n = tardy_timer_pop_due(rt, rt->now)) != NULL)
        n->fire(rt, n);
}

void tardy_runtime_loop(struct tardy_runtime *rt)
{
    struct tardy_run *run = rt->run;
    /* Start-up (rings, pools, sibling threads) took a while: the first
     * turn's tasks should not see a clock that lags by milliseconds. */
    rt->now = tardy_clock_ns();
    /* Each run's epochs are its own: a check recorded in an earlier run
     * on this thread never matches one of this run. */
    static _Atomic uint64_t epoch_seed;
    rt->io_epoch = atomic_fetch_add(&epoch_seed, (uint64_t)1 << 32);
    for (;;) {
        if (atomic_load_explicit(&rt->inbox, memory_order_relaxed))
            inbox_drain(rt);
        if (run_over(run))
            break;
        /* What this turn's tasks find was collected before now (the last
         * poll, the inbox just drained): tardy_io_epoch. */
        rt->io_epoch++;
        run_ready(rt);
        if (run_over(run))
            break;
        if (rt->backlog_head)
            tardy_launch_backlog_run(rt);
        int64_t timeout = -1;
        if (rt->ready_head || atomic_load_explicit(&rt->inbox, memory_order_relaxed))
            timeout = 0;
        else
            timeout = tardy_timer_next(rt, rt->now);
        rt->drv->poll(rt->drv_state, timeout);
        rt->now = tardy_clock_ns();
        fire_timers(rt);
    }
}

void tardy_run_wake_all(struct tardy_run *run)
{
    for (unsigned i = 0; i < run->count; i++) {
        struct tardy_runtime *rt = &run->rts[i];
        if (rt->drv_state)
            rt->drv->wake(rt->drv_state);
    }
}
