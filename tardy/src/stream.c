/* Receive streams: the bytes of one socket, received ahead by the driver
 * where it can.
 *
 * Two modes, chosen per wait:
 *  - receive: on a driver with TARDY_DRIVER_RECV_STREAM and buffers, one
 *    TARDY_OP_RECV_STREAM stays armed from the first wait or read until
 *    the stream closes (or the receive ends: end of stream, an error, the
 *    buffers ran out). Arrivals join the stream's queue, linked by buffer
 *    id in rt->ahead_links. A wait is then only a record: bytes (or the
 *    receive's end) launch its fn; a deadline or a cancel launches it
 *    without touching the receive.
 *  - poll: elsewhere (epoll, busy, a kernel that refused the multishot
 *    receive, or once after the buffers ran out) a wait submits a
 *    TARDY_OP_POLL for POLLIN, a deadline or cancel cancels it, and reads
 *    receive from the socket.
 * The op is shared: the receive and a poll are never in the driver at
 * once, since a poll is only used while the receive is not armed.
 *
 * A stream's send is stream_send.c's. */
#include "runtime.h"

#include <errno.h>
#include <poll.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>

#include "stream_impl.h"

/* Whether reads come from the queue the receive fills. */
static bool receives(const struct tardy_runtime *rt)
{
    return rt->ahead_links && !rt->no_streams;
}

/* ---- the queue ----------------------------------------------------------- */

/* Copies queued bytes into buf; returns how many (0: none queued). */
static size_t queue_copy(struct tardy_runtime *rt, stream_impl *s, void *buf, size_t len)
{
    size_t done = 0;
    while (done < len && s->q_head != AHEAD_NONE) {
        ahead_link *l = &rt->ahead_links[s->q_head];
        size_t n = l->len - s->q_off;
        if (n > len - done)
            n = len - done;
        memcpy((char *)buf + done, l->data + s->q_off, n);
        done += n;
        s->q_off += (uint32_t)n;
        if (s->q_off == l->len) {
            uint32_t id = s->q_head;
            s->q_head = l->next;
            if (s->q_head == AHEAD_NONE)
                s->q_tail = AHEAD_NONE;
            s->q_off = 0;
            rt->drv->give_back(rt->drv_state, id);
        }
    }
    return done;
}

static void queue_drop(struct tardy_runtime *rt, stream_impl *s)
{
    while (s->q_head != AHEAD_NONE) {
        uint32_t id = s->q_head;
        s->q_head = rt->ahead_links[id].next;
        rt->drv->give_back(rt->drv_state, id);
    }
    s->q_tail = AHEAD_NONE;
    s->q_off = 0;
}

static void queue_push(struct tardy_runtime *rt, stream_impl *s, tardy_op *op)
{
    uint32_t id = op->ahead_id;
    ahead_link *l = &rt->ahead_links[id];
    l->data = op->buf;
    l->len = (uint32_t)op->len;
    l->next = AHEAD_NONE;
    if (s->q_tail != AHEAD_NONE)
        rt->ahead_links[s->q_tail].next = id;
    else
        s->q_head = id;
    s->q_tail = id;
}

/* Something a take would return at once: bytes, the end, an error. */
static bool has_news(const stream_impl *s)
{
    return s->q_head != AHEAD_NONE || s->eof || s->sock_err;
}

/* ---- waits ---------------------------------------------------------------- */

/* The pending wait is over: its fn starts with `result`. */
void tardy_stream_wait_end(struct tardy_runtime *rt, stream_impl *s, int result)
{
    if (s->timer.idx >= 0)
        tardy_timer_remove(rt, &s->timer);
    s->waiting = false;
    s->send_woke = false;
    s->result = result;
    tardy_launch(rt, &s->launch);
}

/* Wakes the task parked in read or close, if any. */
static void reader_wake(struct tardy_runtime *rt, stream_impl *s)
{
    task_rec *t = s->reader;
    if (!t)
        return;
    s->reader = NULL;
    tardy_task_ready(rt, t, 0);
}

static void poll_submit(struct tardy_runtime *rt, stream_impl *s);

/* One arrival of the receive. */
static void recv_done(tardy_op *op, int64_t result)
{
    stream_impl *s = op->owner;
    struct tardy_runtime *rt = s->rt;
    if (op->buf) {
        if (s->open)
            queue_push(rt, s, op);
        else
            rt->drv->give_back(rt->drv_state, op->ahead_id); /* being closed */
        op->buf = NULL;
    }
    if (!op->more) {
        s->armed = false;
        if (result == 0)
            s->eof = true;
        else if (result == -ENOBUFS)
            s->starved = true;
        else if (result == -EINVAL)
            rt->no_streams = true; /* a kernel without multishot receive */
        else if (result < 0 && result != -ECANCELED)
            s->sock_err = (short)result;
    }
    reader_wake(rt, s);
    if (!s->waiting)
        return;
    if (has_news(s)) {
        int r = POLLIN;
        if (s->q_head == AHEAD_NONE && (s->sock_err == -EBADF || s->sock_err == -ENOTSOCK))
            r = s->sock_err;
        tardy_stream_wait_end(rt, s, r);
    } else if (!s->armed) {
        /* Ended without news (no buffer, no multishot, a cancel of ours):
         * wait for readiness instead; fn will read the socket itself. */
        poll_submit(rt, s);
    }
}

static void poll_done(tardy_op *op, int64_t result)
{
    stream_impl *s = op->owner;
    struct tardy_runtime *rt = s->rt;
    s->polling = false;
    s->starved = false; /* the next wait tries the receive again */
    if (result == -ECANCELED && s->interrupt_err)
        result = s->interrupt_err;
    else if (result > 0 && (result & POLLNVAL))
        result = -EBADF; /* fd is not open: as the receive reports it */
    tardy_stream_wait_end(rt, s, (int)result);
}

static void poll_submit(struct tardy_runtime *rt, stream_impl *s)
{
    s->op.kind = TARDY_OP_POLL;
    s->op.events = POLLIN;
    s->op.on_complete = poll_done;
    s->op.buf = NULL;
    s->interrupt_err = 0;
    s->cancel_sent = false;
    s->polling = true;
    int64_t r = rt->drv->submit(rt->drv_state, &s->op);
    if (r != TARDY_OP_PENDING)
        poll_done(&s->op, r);
}

/* Arms the receive; false when the driver refused it at once (and then
 * the stream reads the plain way). */
static bool recv_arm(struct tardy_runtime *rt, stream_impl *s)
{
    s->op.kind = TARDY_OP_RECV_STREAM;
    s->op.on_complete = recv_done;
    s->op.buf = NULL;
    s->op.more = false;
    s->cancel_sent = false;
    s->armed = true;
    int64_t r = rt->drv->submit(rt->drv_state, &s->op);
    if (r != TARDY_OP_PENDING) {
        tardy_epoch_note(rt, &s->op, r);
        s->op.more = false;
        recv_done(&s->op, r);
    }
    return s->armed || has_news(s);
}

static void stream_timer_fire(struct tardy_runtime *rt, timer_node *n)
{
    stream_impl *s = (stream_impl *)((char *)n - offsetof(stream_impl, timer));
    if (!s->waiting)
        return;
    /* The deadline, or the send's end (send_over) brought here. */
    int why = s->send_woke ? POLLOUT : -ETIMEDOUT;
    if (!s->polling) {
        tardy_stream_wait_end(rt, s, why); /* the receive stays armed */
        return;
    }
    if (!s->cancel_sent) {
        s->interrupt_err = (short)why;
        s->cancel_sent = true;
        rt->drv->cancel(rt->drv_state, &s->op);
    }
}

/* ---- the calls ------------------------------------------------------------ */

int tardy_stream_open(tardy_stream *handle, int fd)
{
    struct tardy_runtime *rt = tardy_tls_rt;
    if (!rt)
        return -EPERM;
    if (!handle || fd < 0)
        return -EINVAL;
    stream_impl *s = stream_of(handle);
    if (s->open)
        return -EBUSY;
    memset(s, 0, sizeof *s);
    s->op.fd = fd;
    s->op.offset = -1;
    s->op.owner = s;
    s->timer.idx = -1;
    s->timer.fire = stream_timer_fire;
    s->rt = rt;
    s->q_head = s->q_tail = AHEAD_NONE;
    s->open = true;
    return 0;
}

/* The checks of take and read: the stream is open on this runtime. */
int tardy_stream_check(const stream_impl *s, const struct tardy_runtime *rt)
{
    if (!s || !s->open)
        return -EBADF;
    if (!rt || s->rt != rt)
        return -EPERM;
    return 0;
}

/* A take's or read's answer when nothing is queued: the end of the stream
 * or the error that ended the receive (once), else 1: nothing to say. */
static ssize_t stream_news(stream_impl *s)
{
    if (s->sock_err) {
        int err = s->sock_err;
        s->sock_err = 0;
        return err;
    }
    return s->eof ? 0 : 1;
}

ssize_t tardy_stream_take(tardy_stream *handle, void *buf, size_t len)
{
    struct tardy_runtime *rt = tardy_tls_rt;
    stream_impl *s = stream_of(handle);
    int err = tardy_stream_check(s, rt);
    if (err)
        return err;
    if (len == 0)
        return 0;
    size_t n = queue_copy(rt, s, buf, len);
    if (n > 0)
        return (ssize_t)n;
    ssize_t news = stream_news(s);
    if (news <= 0)
        return news;
    if (s->armed)
        return -EAGAIN; /* the kernel receives the next bytes */
    /* Not tardy_recv: take never waits, so the task's deadline and a
     * pending cancel are not its business (they stay for the next call). */
    tardy_op op = {.kind = TARDY_OP_RECV, .fd = s->op.fd, .offset = -1, .buf = buf, .len = len,
                   .flags = MSG_DONTWAIT};
    return (ssize_t)tardy_op_now(rt, &op);
}

/* A task parked in read leaves the stream's reader slot. */
static void read_interrupt(struct tardy_runtime *rt, task_rec *t, int err)
{
    stream_impl *s = t->park_obj;
    if (s->reader == t)
        s->reader = NULL;
    tardy_task_ready(rt, t, err);
}

static const park_kind park_read = {.interrupt = read_interrupt};

static ssize_t stream_read(struct tardy_runtime *rt, task_rec *t, stream_impl *s, void *buf,
                           size_t len)
{
    for (;;) {
        size_t n = queue_copy(rt, s, buf, len);
        if (n > 0)
            return (ssize_t)n;
        ssize_t news = stream_news(s);
        if (news <= 0)
            return news;
        if (!s->armed && (!receives(rt) || s->starved || s->polling || !recv_arm(rt, s)))
            return tardy_recv(s->op.fd, buf, len, 0);
        if (!s->armed)
            continue; /* the refused receive left news */
        if (s->reader)
            return -EBUSY;
        s->reader = t;
        int64_t r = tardy_wait(rt, t, &park_read, s);
        if (r < 0)
            return r;
    }
}

ssize_t tardy_stream_read(tardy_stream *handle, void *buf, size_t len)
{
    stream_impl *s = stream_of(handle);
    struct tardy_runtime *rt = tardy_tls_rt;
    int err = tardy_stream_check(s, rt);
    if (err)
        return err;
    task_rec *t;
    err = tardy_call_begin(&rt, &t);
    if (err)
        return err;
    if (len == 0)
        return 0;
    /* One reader at a time, in either mode: a plain receive parks in the
     * driver, not in the reader slot. */
    if (s->reading)
        return -EBUSY;
    s->reading = true;
    ssize_t n = stream_read(rt, t, s, buf, len);
    s->reading = false;
    return n;
}

int tardy_stream_wait(tardy_stream *handle, uint64_t deadline_ns, tardy_fn fn, void *arg)
{
    struct tardy_runtime *rt = tardy_tls_rt;
    if (!rt || !rt->current)
        return -EPERM;
    if (!fn)
        return -EINVAL;
    stream_impl *s = stream_of(handle);
    if (!s || !s->open)
        return -EBADF;
    if (s->rt != rt)
        return -EPERM;
    if (s->waiting || s->launch.queued)
        return -EBUSY;
    if (deadline_ns && tardy_timer_add(rt, &s->timer, deadline_ns) != 0)
        return -ENOMEM;
    s->launch.fn = fn;
    s->launch.arg = arg;
    /* The task launched for fn inherits this count. */
    atomic_fetch_add(&rt->run->live, 1);
    s->waiting = true;
    if (has_news(s))
        tardy_stream_wait_end(rt, s, POLLIN);
    else if (s->send && !tardy_stream_send_flying(s))
        tardy_stream_wait_end(rt, s, POLLOUT); /* an end not yet collected */
    else if (receives(rt) && !s->starved && !s->armed)
        recv_arm(rt, s); /* a refusal falls back to a poll (recv_done) */
    else if (!s->armed)
        poll_submit(rt, s);
    /* else the next arrival ends the wait */
    return 0;
}

int tardy_stream_cancel(tardy_stream *handle)
{
    stream_impl *s = stream_of(handle);
    struct tardy_runtime *rt = tardy_tls_rt;
    if (!s || !s->open || !s->waiting || s->rt != rt)
        return -EALREADY;
    if (!s->polling) {
        tardy_stream_wait_end(rt, s, -ECANCELED);
    } else if (!s->cancel_sent) {
        s->interrupt_err = -ECANCELED;
        s->cancel_sent = true;
        rt->drv->cancel(rt->drv_state, &s->op);
    }
    return 0;
}

int tardy_stream_result(const tardy_stream *handle)
{
    return ((const stream_impl *)handle)->result;
}

int tardy_stream_close(tardy_stream *handle)
{
    stream_impl *s = stream_of(handle);
    if (!s || !s->open)
        return 0;
    if (s->waiting || s->launch.queued)
        return -EBUSY;
    struct tardy_runtime *rt = tardy_tls_rt;
    if (!rt) {
        /* The run has ended: its driver let go of everything. */
        memset(s, 0, sizeof *s);
        return 0;
    }
    if (rt != s->rt)
        return -EPERM;
    if (s->reading)
        return -EBUSY; /* another task is in tardy_stream_read */
    if (tardy_stream_send_waited(s))
        return -EBUSY; /* another task is in tardy_stream_sent */
    if (s->armed || tardy_stream_send_flying(s)) {
        task_rec *t = rt->current;
        if (!t)
            return -EPERM;
        s->open = false; /* arrivals from now on go straight back */
        queue_drop(rt, s);
        if (s->armed && !s->cancel_sent) {
            s->cancel_sent = true;
            rt->drv->cancel(rt->drv_state, &s->op);
        }
        tardy_stream_send_cancel(rt, s);
        /* The kernel lets go within a turn or two. Neither the task's
         * deadline nor a cancel may cut this short, or the ops' memory
         * (and the send's buffer) could be reused while the kernel still
         * uses it: the parks are not interruptible (a cancel stays
         * pending for the next call). One waker at a time: the receive's,
         * then the send's. */
        uint64_t deadline = t->deadline;
        t->deadline = 0;
        while (s->armed) {
            s->reader = t;
            tardy_park(rt, t);
        }
        tardy_stream_send_await(rt, s, t);
        t->deadline = deadline;
    }
    tardy_stream_send_drop(rt, s);
    queue_drop(rt, s);
    memset(s, 0, sizeof *s);
    return 0;
}
