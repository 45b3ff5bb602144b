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
    /* A stream (tardy_watch_stream). */
    bool stream;        /* open: reads go through the watch */
    bool armed;         /* its multishot receive is in the driver */
    bool eof;           /* it ended with the end of stream */
    bool starved;       /* it ended for want of a buffer: wait by polling */
    uint32_t q_head;    /* buffer ids of bytes not yet read, in order */
    uint32_t q_tail;
    uint32_t q_off;     /* bytes of the head buffer already read */
    task_rec *waiter;   /* parked in tardy_watch_read or tardy_watch_stop */
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

/* A fresh watch on fd whose op calls on_complete. */
static void watch_init(watch_impl *w, struct tardy_runtime *rt, int fd, short events, int flags,
                       void (*on_complete)(tardy_op *, int64_t))
{
    memset(w, 0, sizeof *w);
    w->op.kind = TARDY_OP_POLL;
    w->op.fd = fd;
    w->op.events = events;
    w->op.flags = flags;
    w->op.offset = -1;
    w->op.owner = w;
    w->op.on_complete = on_complete;
    w->timer.idx = -1;
    w->timer.kind = TIMER_WATCH;
    w->rt = rt;
}

/* Makes w pending until its op completes or deadline_ns passes. */
static int watch_pend(struct tardy_runtime *rt, watch_impl *w, uint64_t deadline_ns)
{
    w->state = WATCH_PENDING;
    w->interrupt_err = 0;
    w->cancel_sent = false;
    atomic_fetch_add(&rt->run->live, 1);
    if (deadline_ns) {
        if (tardy_timer_add(rt, &w->timer, deadline_ns) != 0) {
            w->state = WATCH_IDLE;
            atomic_fetch_sub(&rt->run->live, 1);
            return -ENOMEM;
        }
    }
    return 0;
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
    watch_init(w, rt, fd, events, flags, watch_done);
    w->fn = fn;
    w->arg = arg;
    int err = watch_pend(rt, w, deadline_ns);
    if (err)
        return err;
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

/* Copies queued stream bytes into buf; returns how many (0: none queued). */
static ssize_t stream_copy(struct tardy_runtime *rt, watch_impl *w, void *buf, size_t len)
{
    size_t done = 0;
    while (done < len && w->q_head != AHEAD_NONE) {
        ahead_link *l = &rt->ahead_links[w->q_head];
        size_t n = l->len - w->q_off;
        if (n > len - done)
            n = len - done;
        memcpy((char *)buf + done, l->data + w->q_off, n);
        done += n;
        w->q_off += (uint32_t)n;
        if (w->q_off == l->len) {
            uint32_t id = w->q_head;
            w->q_head = l->next;
            if (w->q_head == AHEAD_NONE)
                w->q_tail = AHEAD_NONE;
            w->q_off = 0;
            rt->drv->give_back(rt->drv_state, id);
        }
    }
    return (ssize_t)done;
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
    if (w->stream) {
        ssize_t n = stream_copy(rt, w, buf, len);
        if (n != 0 || w->armed)
            return n ? n : -EAGAIN;
        if (w->eof)
            return 0;
        return tardy_recv(w->op.fd, buf, len, MSG_DONTWAIT);
    }
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

/* ---- streams ------------------------------------------------------------- */

static void stream_wake_waiter(struct tardy_runtime *rt, watch_impl *w, int64_t result)
{
    task_rec *t = w->waiter;
    if (!t)
        return;
    w->waiter = NULL;
    t->stream_wait = NULL;
    tardy_task_ready(rt, t, result);
}

static void stream_drop_queue(struct tardy_runtime *rt, watch_impl *w)
{
    while (w->q_head != AHEAD_NONE) {
        uint32_t id = w->q_head;
        w->q_head = rt->ahead_links[id].next;
        rt->drv->give_back(rt->drv_state, id);
    }
    w->q_tail = AHEAD_NONE;
    w->q_off = 0;
}

static void stream_done(tardy_op *op, int64_t result);

/* A starved stream's readiness poll ended: fn starts (and reads the
 * socket itself); the next wait tries a multishot receive again. */
static void stream_poll_done(tardy_op *op, int64_t result)
{
    watch_impl *w = op->owner;
    struct tardy_runtime *rt = w->rt;
    w->op.flags = TARDY_POLL_RECV_AHEAD | TARDY_POLL_RECV_STREAM;
    w->op.on_complete = stream_done;
    w->starved = false;
    if (w->timer.idx >= 0)
        tardy_timer_remove(rt, &w->timer);
    if (result == -ECANCELED && w->interrupt_err)
        result = w->interrupt_err;
    w->result = (int)result;
    watch_launch(rt, w);
}

static void stream_poll(struct tardy_runtime *rt, watch_impl *w)
{
    w->op.flags = 0;
    w->op.on_complete = stream_poll_done;
    int64_t r = rt->drv->submit(rt->drv_state, &w->op);
    if (r != TARDY_OP_PENDING)
        stream_poll_done(&w->op, r);
}

/* One arrival of the stream's multishot receive (TARDY_POLL_RECV_STREAM):
 * bytes join the queue; the last call (op->more false) ends the receive. */
static void stream_done(tardy_op *op, int64_t result)
{
    watch_impl *w = op->owner;
    struct tardy_runtime *rt = w->rt;
    if (op->buf) {
        uint32_t id = op->ahead_id;
        if (!w->stream) {
            rt->drv->give_back(rt->drv_state, id); /* being stopped */
        } else {
            ahead_link *l = &rt->ahead_links[id];
            l->data = op->buf;
            l->len = (uint32_t)op->len;
            l->next = AHEAD_NONE;
            if (w->q_tail != AHEAD_NONE)
                rt->ahead_links[w->q_tail].next = id;
            else
                w->q_head = id;
            w->q_tail = id;
        }
        op->buf = NULL;
    }
    if (!op->more) {
        w->armed = false;
        if (result == 0)
            w->eof = true;
        else if (result == -EINVAL)
            rt->no_streams = true; /* a kernel without multishot receive */
        else if (result == -ENOBUFS)
            w->starved = true;
    }
    stream_wake_waiter(rt, w, 0);
    if (w->state != WATCH_PENDING)
        return;
    if (op->more && w->q_head == AHEAD_NONE)
        return; /* nothing for fn yet */
    if (w->starved && w->q_head == AHEAD_NONE && !w->cancel_sent) {
        /* The ring was empty, maybe with nothing to read yet: wait for
         * readiness instead; fn will read the socket itself. */
        stream_poll(rt, w);
        return;
    }
    /* Bytes, or the end of the receive: fn starts. An ended receive with
     * nothing queued (end of stream, no buffer left, a socket error) reads
     * as readiness: fn finds out by reading. */
    if (w->timer.idx >= 0)
        tardy_timer_remove(rt, &w->timer);
    int r = POLLIN;
    if (w->q_head == AHEAD_NONE && result < 0) {
        if (result == -ECANCELED)
            r = w->interrupt_err ? w->interrupt_err : -ECANCELED;
        else if (result == -EBADF || result == -ENOTSOCK)
            r = (int)result;
    }
    w->result = r;
    watch_launch(rt, w);
}

int tardy_watch_stream(tardy_watch *handle, int fd, uint64_t deadline_ns, tardy_fn fn, void *arg)
{
    struct tardy_runtime *rt = tardy_tls_rt;
    if (!rt || !rt->current)
        return -EPERM;
    if (!handle || !fn)
        return -EINVAL;
    watch_impl *w = (watch_impl *)handle;
    if (!rt->ahead_links || rt->no_streams) {
        if (w->stream && w->state == WATCH_IDLE && !w->armed && w->q_head == AHEAD_NONE)
            memset(w, 0, sizeof *w); /* streams failed: wait the plain way */
        if (!w->stream)
            return tardy_watch_recv(handle, fd, deadline_ns, fn, arg);
    }
    if (w->state != WATCH_IDLE)
        return -EBUSY;
    if (!w->stream || w->rt != rt || w->op.fd != fd) {
        if (w->stream)
            return -EBUSY; /* another socket's stream: stop it first */
        watch_init(w, rt, fd, POLLIN, TARDY_POLL_RECV_AHEAD | TARDY_POLL_RECV_STREAM, stream_done);
        w->stream = true;
        w->q_head = w->q_tail = AHEAD_NONE;
    }
    w->fn = fn;
    w->arg = arg;
    int err = watch_pend(rt, w, deadline_ns);
    if (err)
        return err;
    if (w->q_head != AHEAD_NONE || w->eof) {
        /* Bytes already here (or the end of stream): fn starts at once. */
        if (w->timer.idx >= 0)
            tardy_timer_remove(rt, &w->timer);
        w->result = POLLIN;
        watch_launch(rt, w);
        return 0;
    }
    if (w->starved) {
        stream_poll(rt, w);
        return 0;
    }
    if (!w->armed) {
        w->armed = true;
        int64_t r = rt->drv->submit(rt->drv_state, &w->op);
        if (r != TARDY_OP_PENDING) {
            w->op.more = false;
            stream_done(&w->op, r);
        }
    }
    return 0;
}

ssize_t tardy_watch_read(tardy_watch *handle, void *buf, size_t len)
{
    struct tardy_runtime *rt;
    task_rec *t;
    int err = tardy_call_begin(&rt, &t);
    if (err)
        return err;
    watch_impl *w = (watch_impl *)handle;
    if (!w || w->rt != rt)
        return -EPERM;
    if (!w->stream)
        return tardy_recv(w->op.fd, buf, len, 0);
    if (len == 0)
        return 0;
    for (;;) {
        ssize_t n = stream_copy(rt, w, buf, len);
        if (n > 0)
            return n;
        if (!w->armed)
            return w->eof ? 0 : tardy_recv(w->op.fd, buf, len, 0);
        if (w->waiter)
            return -EBUSY; /* another task is reading this stream */
        w->waiter = t;
        t->stream_wait = w;
        int64_t r = tardy_wait(rt, t, PARK_STREAM);
        if (r < 0)
            return r;
    }
}

void tardy_watch_stream_interrupt(struct tardy_runtime *rt, task_rec *t, int err)
{
    watch_impl *w = t->stream_wait;
    if (w && w->waiter == t)
        w->waiter = NULL;
    t->stream_wait = NULL;
    tardy_task_ready(rt, t, err);
}

int tardy_watch_stop(tardy_watch *handle)
{
    watch_impl *w = (watch_impl *)handle;
    if (!w)
        return 0;
    if (w->state != WATCH_IDLE)
        return -EBUSY;
    if (!w->stream)
        return 0;
    struct tardy_runtime *rt = tardy_tls_rt;
    if (!rt || rt != w->rt) {
        /* The runtime is gone (its driver let go of everything) or this is
         * not its thread: nothing can be waited for here. */
        if (!rt)
            memset(w, 0, sizeof *w);
        return rt ? -EPERM : 0;
    }
    w->stream = false; /* arrivals from now on go straight back */
    stream_drop_queue(rt, w);
    if (w->armed) {
        task_rec *t = rt->current;
        if (!t)
            return -EPERM;
        if (!w->cancel_sent) {
            w->cancel_sent = true;
            rt->drv->cancel(rt->drv_state, &w->op);
        }
        /* The kernel lets go within a turn or two; a deadline or cancel of
         * the task must not cut the wait short, or the op's memory could
         * be reused while the kernel still holds it. */
        uint64_t saved = t->deadline;
        t->deadline = 0;
        while (w->armed) {
            w->waiter = t;
            t->stream_wait = w;
            tardy_wait(rt, t, PARK_STREAM);
        }
        t->deadline = saved;
    }
    memset(w, 0, sizeof *w);
    return 0;
}
