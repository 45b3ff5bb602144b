/* Watches: a readiness wait owned by a record instead of a task. When the
 * driver completes it, a fresh task is started for the owner (or queued
 * until a task slot frees), so idle connections hold no task or stack. */
#include "runtime.h"

#include <errno.h>
#include <poll.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>

enum { WATCH_IDLE, WATCH_PENDING, WATCH_FIRED };

typedef struct watch_impl {
    tardy_op op;
    timer_node timer;
    tardy_fn fn;
    void *arg;
    struct tardy_runtime *rt;
    struct watch_impl *next;
    /* Bytes received ahead, until the task started for them takes them. */
    char *held;
    uint32_t held_len;
    uint32_t held_id;
    int result;
    int interrupt_err;
    int state;
    bool cancel_sent;
} watch_impl;

_Static_assert(sizeof(watch_impl) <= sizeof(tardy_watch), "tardy_watch too small");
_Static_assert(_Alignof(watch_impl) <= _Alignof(tardy_watch), "tardy_watch misaligned");

/* Starts fn's task; bytes received ahead pass to it. */
static int watch_task_start(struct tardy_runtime *rt, watch_impl *w)
{
    tardy_task h;
    int err = tardy_task_start(rt, w->fn, w->arg, &h);
    if (err == 0 && w->held) {
        task_rec *t = tardy_task_lookup(rt, h);
        t->held = w->held;
        t->held_len = w->held_len;
        t->held_id = w->held_id;
        w->held = NULL;
    }
    return err;
}

static void watch_launch(struct tardy_runtime *rt, watch_impl *w)
{
    w->state = WATCH_FIRED;
    if (!rt->backlog_head && tardy_task_reserve(rt)) {
        w->state = WATCH_IDLE;
        /* The run's live count taken at start passes to the task. */
        if (watch_task_start(rt, w) == 0)
            return;
        atomic_fetch_sub(&rt->used, 1);
        w->state = WATCH_FIRED;
    }
    w->next = NULL;
    if (rt->backlog_tail)
        rt->backlog_tail->next = w;
    else
        rt->backlog_head = w;
    rt->backlog_tail = w;
}

void tardy_watch_backlog_run(struct tardy_runtime *rt)
{
    while (rt->backlog_head && tardy_task_reserve(rt)) {
        watch_impl *w = rt->backlog_head;
        w->state = WATCH_IDLE;
        if (watch_task_start(rt, w) != 0) {
            w->state = WATCH_FIRED;
            atomic_fetch_sub(&rt->used, 1);
            return; /* no stack to be had now; try again next turn */
        }
        rt->backlog_head = w->next;
        if (!rt->backlog_head)
            rt->backlog_tail = NULL;
    }
}

static void watch_done(tardy_op *op, int64_t result)
{
    watch_impl *w = op->owner;
    struct tardy_runtime *rt = w->rt;
    if (result == -ECANCELED && w->interrupt_err)
        result = w->interrupt_err;
    if (w->timer.idx >= 0)
        tardy_timer_remove(rt, &w->timer);
    if (op->buf) {
        w->held = op->buf;
        w->held_len = (uint32_t)op->len;
        w->held_id = op->ahead_id;
    }
    w->result = (int)result;
    watch_launch(rt, w);
}

static int watch_arm(tardy_watch *handle, int fd, short events, int flags, uint64_t deadline_ns,
                     tardy_fn fn, void *arg)
{
    struct tardy_runtime *rt = tardy_tls_rt;
    if (!rt || !rt->current)
        return -EPERM;
    if (!handle || !fn)
        return -EINVAL;
    watch_impl *w = (watch_impl *)handle;
    if (w->state != WATCH_IDLE)
        return -EBUSY;
    memset(w, 0, sizeof *w);
    w->op.kind = TARDY_OP_POLL;
    w->op.fd = fd;
    w->op.events = events;
    w->op.flags = flags;
    w->op.offset = -1;
    w->op.owner = w;
    w->op.on_complete = watch_done;
    w->timer.idx = -1;
    w->timer.kind = TIMER_WATCH;
    w->fn = fn;
    w->arg = arg;
    w->rt = rt;
    w->state = WATCH_PENDING;
    atomic_fetch_add(&rt->run->live, 1);
    if (deadline_ns) {
        if (tardy_timer_add(rt, &w->timer, deadline_ns) != 0) {
            w->state = WATCH_IDLE;
            atomic_fetch_sub(&rt->run->live, 1);
            return -ENOMEM;
        }
    }
    int64_t r = rt->drv->submit(rt->drv_state, &w->op);
    if (r != TARDY_OP_PENDING) {
        /* Ready at once (or failed at once): start fn now all the same. */
        watch_done(&w->op, r);
    }
    return 0;
}

int tardy_watch_start(tardy_watch *handle, int fd, short events, uint64_t deadline_ns, tardy_fn fn,
                      void *arg)
{
    return watch_arm(handle, fd, events, 0, deadline_ns, fn, arg);
}

int tardy_watch_recv(tardy_watch *handle, int fd, uint64_t deadline_ns, tardy_fn fn, void *arg)
{
    struct tardy_runtime *rt = tardy_tls_rt;
    int flags = rt && rt->drv->give_back && rt->run->config.recv_buffers ? TARDY_POLL_RECV_AHEAD : 0;
    return watch_arm(handle, fd, POLLIN, flags, deadline_ns, fn, arg);
}

ssize_t tardy_watch_take(tardy_watch *handle, void *buf, size_t len)
{
    watch_impl *w = (watch_impl *)handle;
    struct tardy_runtime *rt = tardy_tls_rt;
    task_rec *t = rt ? rt->current : NULL;
    if (!t || !w || w->rt != rt)
        return -EPERM;
    if (len == 0)
        return 0;
    if (t->held) {
        size_t n = t->held_len < len ? t->held_len : len;
        memcpy(buf, t->held, n);
        t->held += n;
        t->held_len -= (uint32_t)n;
        if (t->held_len == 0)
            tardy_task_drop_held(rt, t);
        return (ssize_t)n;
    }
    return tardy_recv(w->op.fd, buf, len, MSG_DONTWAIT);
}

int tardy_watch_cancel(tardy_watch *handle)
{
    watch_impl *w = (watch_impl *)handle;
    struct tardy_runtime *rt = tardy_tls_rt;
    if (!w || w->state != WATCH_PENDING || w->rt != rt)
        return -EALREADY;
    if (!w->cancel_sent) {
        w->interrupt_err = -ECANCELED;
        w->cancel_sent = true;
        rt->drv->cancel(rt->drv_state, &w->op);
    }
    return 0;
}

int tardy_watch_result(const tardy_watch *handle)
{
    return ((const watch_impl *)handle)->result;
}

void tardy_watch_timer_fired(struct tardy_runtime *rt, timer_node *n)
{
    watch_impl *w = (watch_impl *)((char *)n - offsetof(watch_impl, timer));
    if (w->state != WATCH_PENDING || w->cancel_sent)
        return;
    w->interrupt_err = -ETIMEDOUT;
    w->cancel_sent = true;
    rt->drv->cancel(rt->drv_state, &w->op);
}
