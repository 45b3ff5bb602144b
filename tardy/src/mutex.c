/* Task-aware mutexes and condition variables: a waiting task parks with a
 * record in its own frame on a FIFO list; an unlock hands the mutex to the
 * first record's task and wakes it on its own runtime (its inbox when it
 * is another's), so nothing polls and nobody can barge ahead of a waiter. */
#include "runtime.h"

#include <errno.h>
#include <sched.h>
#include <string.h>

typedef enum waiter_place { IN_NONE, IN_MUTEX, IN_COND } waiter_place;

typedef struct lock_waiter {
    struct lock_waiter *next;
    struct lock_waiter *prev;
    task_rec *task;
    struct mutex_impl *mutex;
    struct cond_impl *cond;
    waiter_place place;
    /* An interruption of a condition wait, returned once the mutex is
     * held again (the wait for it does not end early). */
    int err;
} lock_waiter;

typedef struct waiter_list {
    lock_waiter *head;
    lock_waiter *tail;
} waiter_list;

/* The guard is a spin lock held for a few pointer moves only, so that an
 * all-zero record is a valid one and nothing needs destroying. */
typedef struct mutex_impl {
    atomic_uint guard;
    task_rec *owner;
    waiter_list waiters;
} mutex_impl;

typedef struct cond_impl {
    atomic_uint guard;
    waiter_list waiters;
} cond_impl;

_Static_assert(sizeof(mutex_impl) <= sizeof(tardy_mutex), "tardy_mutex too small");
_Static_assert(_Alignof(mutex_impl) <= _Alignof(tardy_mutex), "tardy_mutex misaligned");
_Static_assert(sizeof(cond_impl) <= sizeof(tardy_cond), "tardy_cond too small");
_Static_assert(_Alignof(cond_impl) <= _Alignof(tardy_cond), "tardy_cond misaligned");

static void guard_lock(atomic_uint *g)
{
    unsigned spins = 0;
    while (atomic_exchange_explicit(g, 1, memory_order_acquire)) {
        while (atomic_load_explicit(g, memory_order_relaxed)) {
            /* The holder may have been preempted: let it run. */
            if (++spins >= 64) {
                spins = 0;
                sched_yield();
            }
        }
    }
}

static void guard_unlock(atomic_uint *g)
{
    atomic_store_explicit(g, 0, memory_order_release);
}

static void list_push(waiter_list *l, lock_waiter *w)
{
    w->next = NULL;
    w->prev = l->tail;
    if (l->tail)
        l->tail->next = w;
    else
        l->head = w;
    l->tail = w;
}

static void list_unlink(waiter_list *l, lock_waiter *w)
{
    if (w->prev)
        w->prev->next = w->next;
    else
        l->head = w->next;
    if (w->next)
        w->next->prev = w->prev;
    else
        l->tail = w->prev;
    w->next = w->prev = NULL;
}

/* The task of the running call, or NULL outside a task. */
static task_rec *current_task(void)
{
    struct tardy_runtime *rt = tardy_tls_rt;
    return rt ? rt->current : NULL;
}

/* ---- mutex ------------------------------------------------------------- */

void tardy_mutex_init(tardy_mutex *m)
{
    memset(m, 0, sizeof *m);
}

/* Gives a free mutex to waiter w or queues w on it. Returns the task to
 * wake (w's own, now the owner), or NULL when w waits. Guard held. */
static task_rec *mutex_take_or_queue(mutex_impl *m, lock_waiter *w)
{
    if (!m->owner) {
        m->owner = w->task;
        w->place = IN_NONE;
        return w->task;
    }
    w->place = IN_MUTEX;
    list_push(&m->waiters, w);
    return NULL;
}

/* The mutex leaves its owner: to the first waiter, whose task is returned
 * for waking, or to nobody. Guard held. */
static task_rec *mutex_pass_on(mutex_impl *m)
{
    lock_waiter *w = m->waiters.head;
    if (!w) {
        m->owner = NULL;
        return NULL;
    }
    list_unlink(&m->waiters, w);
    w->place = IN_NONE;
    m->owner = w->task;
    return w->task;
}

/* The runtime is ending with the task parked on a lock: its record must
 * leave the lists. A mutex handed to it (it will never run) passes on: to
 * a waiter of another run, woken; to one of this run, whose runtime is
 * ending too and passes it on in turn (a waiter whose runtime has ended
 * already has left the list). */
static void waiter_leave_at_exit(struct tardy_runtime *rt, lock_waiter *w)
{
    if (w->cond) {
        guard_lock(&w->cond->guard);
        if (w->place == IN_COND) {
            list_unlink(&w->cond->waiters, w);
            w->place = IN_NONE;
        }
        guard_unlock(&w->cond->guard);
    }
    mutex_impl *m = w->mutex;
    task_rec *next = NULL;
    guard_lock(&m->guard);
    if (w->place == IN_MUTEX)
        list_unlink(&m->waiters, w);
    else if (m->owner == w->task)
        next = mutex_pass_on(m);
    w->place = IN_NONE;
    guard_unlock(&m->guard);
    if (next && next->rt->run != rt->run)
        tardy_task_wake(next, 0);
}

/* A lock waiter's deadline passed or it was cancelled (on its own thread).
 * If an unlock took it off the list first, the mutex is its: the wake-up
 * is on the way and wins. */
static void mutex_interrupt(struct tardy_runtime *rt, task_rec *t, int err)
{
    lock_waiter *w = t->park_obj;
    if (!tardy_tls_rt) {
        waiter_leave_at_exit(rt, w);
        return;
    }
    mutex_impl *m = w->mutex;
    guard_lock(&m->guard);
    bool was_queued = w->place == IN_MUTEX;
    if (was_queued) {
        list_unlink(&m->waiters, w);
        w->place = IN_NONE;
    }
    guard_unlock(&m->guard);
    if (was_queued) {
        tardy_task_ready(rt, t, err);
        return;
    }
    /* Still parked until the hand-over's wake-up: let a later interrupt
     * (the runtime ending) reach this wait again. */
    t->interrupt_err = 0;
    if (err == -ECANCELED)
        t->cancel_pending = true;
}

static const park_kind park_mutex = {.interrupt = mutex_interrupt, .leave_at_exit = true};

int tardy_mutex_lock(tardy_mutex *handle)
{
    struct tardy_runtime *rt;
    task_rec *t;
    int err = tardy_call_begin(&rt, &t);
    if (err)
        return err;
    if (!handle)
        return -EINVAL;
    mutex_impl *m = (mutex_impl *)handle;
    lock_waiter w = {.task = t, .mutex = m};
    guard_lock(&m->guard);
    if (m->owner == t) {
        guard_unlock(&m->guard);
        return -EDEADLK;
    }
    task_rec *got = mutex_take_or_queue(m, &w);
    guard_unlock(&m->guard);
    if (got)
        return 0;
    return (int)tardy_wait(rt, t, &park_mutex, &w);
}

int tardy_mutex_trylock(tardy_mutex *handle)
{
    task_rec *t = current_task();
    if (!t)
        return -EPERM;
    if (!handle)
        return -EINVAL;
    mutex_impl *m = (mutex_impl *)handle;
    int r = 0;
    guard_lock(&m->guard);
    if (m->owner == t)
        r = -EDEADLK;
    else if (m->owner || m->waiters.head)
        r = -EBUSY;
    else
        m->owner = t;
    guard_unlock(&m->guard);
    return r;
}

int tardy_mutex_unlock(tardy_mutex *handle)
{
    task_rec *t = current_task();
    if (!t)
        return -EPERM;
    if (!handle)
        return -EINVAL;
    mutex_impl *m = (mutex_impl *)handle;
    guard_lock(&m->guard);
    if (m->owner != t) {
        guard_unlock(&m->guard);
        return -EPERM;
    }
    task_rec *next = mutex_pass_on(m);
    guard_unlock(&m->guard);
    if (next)
        tardy_task_wake(next, 0);
    return 0;
}

/* ---- condition variable -------------------------------------------------- */

void tardy_cond_init(tardy_cond *c)
{
    memset(c, 0, sizeof *c);
}

/* A condition waiter's deadline passed or it was cancelled. Still on the
 * condition's list: it leaves it and queues for the mutex (or takes it),
 * keeping err to return. Already signalled: the signal wins, and a cancel
 * stays pending. Either way it wakes only with the mutex. */
static void cond_interrupt(struct tardy_runtime *rt, task_rec *t, int err)
{
    lock_waiter *w = t->park_obj;
    if (!tardy_tls_rt) {
        waiter_leave_at_exit(rt, w);
        return;
    }
    cond_impl *c = w->cond;
    mutex_impl *m = w->mutex;
    task_rec *wake = NULL;
    bool signalled;
    guard_lock(&c->guard);
    signalled = w->place != IN_COND;
    if (!signalled) {
        list_unlink(&c->waiters, w);
        w->err = err;
        guard_lock(&m->guard);
        wake = mutex_take_or_queue(m, w);
        guard_unlock(&m->guard);
    }
    guard_unlock(&c->guard);
    if (signalled && err == -ECANCELED)
        t->cancel_pending = true;
    if (wake) {
        tardy_task_ready(rt, t, 0);
        return;
    }
    /* Still parked, now for the mutex (err is kept in w->err or as a
     * pending cancel): a later interrupt, the runtime ending above all,
     * must reach this wait again so that the waiter leaves the mutex's
     * list before its stack goes. */
    t->interrupt_err = 0;
}

static const park_kind park_cond = {.interrupt = cond_interrupt, .leave_at_exit = true};

int tardy_cond_wait(tardy_cond *handle, tardy_mutex *mhandle)
{
    task_rec *t = current_task();
    if (!t)
        return -EPERM;
    if (!handle || !mhandle)
        return -EINVAL;
    cond_impl *c = (cond_impl *)handle;
    mutex_impl *m = (mutex_impl *)mhandle;
    guard_lock(&m->guard);
    bool owner = m->owner == t;
    guard_unlock(&m->guard);
    if (!owner)
        return -EPERM;
    struct tardy_runtime *rt;
    int err = tardy_call_begin(&rt, &t);
    if (err)
        return err; /* m is still held */
    lock_waiter w = {.task = t, .mutex = m, .cond = c, .place = IN_COND};
    /* On the condition's list before the mutex goes: a signal sent by its
     * next owner finds this waiter. */
    guard_lock(&c->guard);
    list_push(&c->waiters, &w);
    guard_unlock(&c->guard);
    guard_lock(&m->guard);
    task_rec *next = mutex_pass_on(m);
    guard_unlock(&m->guard);
    if (next)
        tardy_task_wake(next, 0);
    int64_t r = tardy_wait(rt, t, &park_cond, &w);
    return w.err ? w.err : (int)r;
}

/* Moves up to `max` waiters from c to their mutexes, in order, and wakes
 * those that got theirs. */
static int cond_wake(tardy_cond *handle, unsigned max)
{
    if (!handle)
        return -EINVAL;
    cond_impl *c = (cond_impl *)handle;
    task_rec *wake_head = NULL;
    task_rec **wake_tail = &wake_head;
    int moved = 0;
    guard_lock(&c->guard);
    while (c->waiters.head && (unsigned)moved < max) {
        lock_waiter *w = c->waiters.head;
        list_unlink(&c->waiters, w);
        mutex_impl *m = w->mutex;
        guard_lock(&m->guard);
        task_rec *got = mutex_take_or_queue(m, w);
        guard_unlock(&m->guard);
        if (got) {
            /* A parked task's queue link is free. */
            got->next = NULL;
            *wake_tail = got;
            wake_tail = &got->next;
        }
        moved++;
    }
    guard_unlock(&c->guard);
    while (wake_head) {
        task_rec *t = wake_head;
        wake_head = t->next;
        tardy_task_wake(t, 0);
    }
    return moved;
}

int tardy_cond_signal(tardy_cond *c)
{
    return cond_wake(c, 1);
}

int tardy_cond_broadcast(tardy_cond *c)
{
    return cond_wake(c, ~0u);
}
