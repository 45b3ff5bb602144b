/* Watches: a one-shot readiness wait owned by a record instead of a task.
 * When the driver completes it (or its deadline passes, or it is
 * cancelled), a fresh task is launched for the owner, so idle connections
 * hold no task or stack. */
#include "runtime.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>

typedef struct watch_impl {
    tardy_op op; /* a TARDY_OP_POLL */
    timer_node timer;
    launch_rec launch;
    struct tardy_runtime *rt;
    int result;
    int interrupt_err; /* why the op was cancelled */
    bool pending;      /* the op is in the driver */
    bool cancel_sent;
} watch_impl;

_Static_assert(sizeof(watch_impl) <= sizeof(tardy_watch), "tardy_watch too small");
_Static_assert(_Alignof(watch_impl) <= _Alignof(tardy_watch), "tardy_watch misaligned");

static void watch_done(tardy_op *op, int64_t result)
{
    watch_impl *w = op->owner;
    struct tardy_runtime *rt = w->rt;
    if (result == -ECANCELED && w->interrupt_err)
        result = w->interrupt_err;
    if (w->timer.idx >= 0)
        tardy_timer_remove(rt, &w->timer);
    w->result = (int)result;
    w->pending = false;
    tardy_launch(rt, &w->launch);
}

static void watch_timer_fire(struct tardy_runtime *rt, timer_node *n)
{
    watch_impl *w = (watch_impl *)((char *)n - offsetof(watch_impl, timer));
    if (!w->pending || w->cancel_sent)
        return;
    w->interrupt_err = -ETIMEDOUT;
    w->cancel_sent = true;
    rt->drv->cancel(rt->drv_state, &w->op);
}

int tardy_watch_start(tardy_watch *handle, int fd, short events, uint64_t deadline_ns, tardy_fn fn,
                      void *arg)
{
    struct tardy_runtime *rt = tardy_tls_rt;
    if (!rt || !rt->current)
        return -EPERM;
    if (!handle || !fn)
        return -EINVAL;
    watch_impl *w = (watch_impl *)handle;
    if (w->pending || w->launch.queued)
        return -EBUSY;
    memset(w, 0, sizeof *w);
    w->op.kind = TARDY_OP_POLL;
    w->op.fd = fd;
    w->op.events = events;
    w->op.offset = -1;
    w->op.owner = w;
    w->op.on_complete = watch_done;
    w->timer.idx = -1;
    w->timer.fire = watch_timer_fire;
    w->launch.fn = fn;
    w->launch.arg = arg;
    w->rt = rt;
    if (deadline_ns && tardy_timer_add(rt, &w->timer, deadline_ns) != 0)
        return -ENOMEM;
    /* The task launched for fn inherits this count. */
    atomic_fetch_add(&rt->run->live, 1);
    w->pending = true;
    int64_t r = rt->drv->submit(rt->drv_state, &w->op);
    if (r != TARDY_OP_PENDING)
        watch_done(&w->op, r); /* ready (or failed) at once: fn starts all the same */
    return 0;
}

int tardy_watch_cancel(tardy_watch *handle)
{
    watch_impl *w = (watch_impl *)handle;
    struct tardy_runtime *rt = tardy_tls_rt;
    if (!w || !w->pending || w->rt != rt)
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
