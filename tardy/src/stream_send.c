/* A receive stream's send (tardy_stream_send): an op of its own, in a
 * record taken from the runtime's pool for as long as the send is in
 * flight or its end uncollected, so a stream that never sends carries
 * only a pointer. The driver finishes it without the task that started
 * it; a short send goes on with the rest from its completion. */
#include "stream_impl.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/mman.h>

int tardy_stream_sends_init(struct tardy_runtime *rt)
{
    rt->send_recs = NULL;
    rt->send_free = NULL;
    rt->send_count = rt->send_fresh = 0;
    if (rt->max_tasks == 0)
        return 0;
    /* Address space: only the records used are touched. */
    void *map = mmap(NULL, (size_t)rt->max_tasks * sizeof(stream_send), PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (map == MAP_FAILED)
        return -ENOMEM;
    rt->send_recs = map;
    rt->send_count = rt->max_tasks;
    return 0;
}

void tardy_stream_sends_fini(struct tardy_runtime *rt)
{
    if (rt->send_recs)
        munmap(rt->send_recs, (size_t)rt->send_count * sizeof(stream_send));
    rt->send_recs = NULL;
    rt->send_free = NULL;
    rt->send_count = rt->send_fresh = 0;
}

static stream_send *send_take(struct tardy_runtime *rt)
{
    stream_send *r = rt->send_free;
    if (r) {
        rt->send_free = r->next_free;
        return r;
    }
    if (rt->send_fresh < rt->send_count)
        return &rt->send_recs[rt->send_fresh++];
    return NULL;
}

static void send_put(struct tardy_runtime *rt, stream_send *r)
{
    r->stream = NULL;
    r->next_free = rt->send_free;
    rt->send_free = r;
}

/* The send's flight is over with `result` (0 or -errno): whoever waits
 * for it hears, and the run no longer counts it. */
static void send_over(struct tardy_runtime *rt, stream_send *r, int result)
{
    stream_impl *s = r->stream;
    r->flying = false;
    r->result = result;
    if (r->waiter) {
        task_rec *t = r->waiter;
        r->waiter = NULL;
        tardy_task_ready(rt, t, 0);
    }
    if (s->waiting) {
        if (!s->polling) {
            tardy_stream_wait_end(rt, s, POLLOUT);
        } else if (!s->cancel_sent) {
            /* The poll is cancelled from the stream's timer, due at once,
             * not from here: this runs inside the driver's completion of
             * another op, and a readiness driver walking its list may
             * have the poll next on it (cancelling it now would complete
             * it twice). The timer stands in for the wait's deadline. */
            s->send_woke = true;
            if (tardy_timer_add(rt, &s->timer, rt->now) != 0)
                s->send_woke = false; /* no room: the poll ends it later */
        }
    }
    if (atomic_fetch_sub(&rt->run->live, 1) == 1)
        tardy_run_wake_all(rt->run);
}

/* Hands the rest of the send to the driver after a result of `n` bytes,
 * as long as the driver finishes it at once. Returns TARDY_OP_PENDING,
 * or the send's end: 0 when all is sent, else -errno. */
static int64_t send_go_on(struct tardy_runtime *rt, stream_send *r, int64_t n)
{
    for (;;) {
        if (n < 0)
            return n;
        if (n == 0)
            return -EIO; /* a socket that takes nothing and says no error */
        if ((size_t)n >= r->op.len)
            return 0;
        r->moved = rt->now;
        if (r->cancelled)
            return -ECANCELED;
        r->op.buf = (char *)r->op.buf + n;
        r->op.len -= (size_t)n;
        n = rt->drv->submit(rt->drv_state, &r->op);
        if (n == TARDY_OP_PENDING)
            return n;
    }
}

static void send_done(tardy_op *op, int64_t result)
{
    stream_send *r = op->owner;
    struct tardy_runtime *rt = r->stream->rt;
    int64_t end = send_go_on(rt, r, result);
    if (end != TARDY_OP_PENDING)
        send_over(rt, r, (int)end);
}

int tardy_stream_send(tardy_stream *handle, const void *buf, size_t len)
{
    struct tardy_runtime *rt = tardy_tls_rt;
    stream_impl *s = stream_of(handle);
    int err = tardy_stream_check(s, rt);
    if (err)
        return err;
    if (s->send)
        return -EBUSY;
    if (len == 0)
        return 0;
    stream_send *r = send_take(rt);
    if (!r)
        return -ENOBUFS;
    memset(r, 0, sizeof *r);
    r->op.kind = TARDY_OP_SEND;
    r->op.fd = s->op.fd;
    r->op.offset = -1;
    r->op.buf = (void *)buf;
    r->op.len = len;
    r->op.owner = r;
    r->op.on_complete = send_done;
    r->stream = s;
    r->moved = rt->now;
    int64_t n = rt->drv->submit(rt->drv_state, &r->op);
    if (n != TARDY_OP_PENDING)
        n = send_go_on(rt, r, n);
    if (n != TARDY_OP_PENDING) {
        send_put(rt, r);
        return (int)n;
    }
    r->flying = true;
    s->send = r;
    atomic_fetch_add(&rt->run->live, 1);
    return 1;
}

/* A task parked in tardy_stream_sent leaves the send's waiter slot. */
static void send_interrupt(struct tardy_runtime *rt, task_rec *t, int err)
{
    stream_send *r = t->park_obj;
    if (r->waiter == t)
        r->waiter = NULL;
    tardy_task_ready(rt, t, err);
}

static const park_kind park_send = {.interrupt = send_interrupt};

int tardy_stream_sent(tardy_stream *handle, bool wait)
{
    struct tardy_runtime *rt = tardy_tls_rt;
    stream_impl *s = stream_of(handle);
    int err = tardy_stream_check(s, rt);
    if (err)
        return err;
    stream_send *r = s->send;
    if (!r)
        return 0;
    if (r->flying) {
        if (!wait)
            return -EINPROGRESS;
        task_rec *t;
        err = tardy_call_begin(&rt, &t);
        if (err)
            return err;
        if (r->waiter)
            return -EBUSY;
        r->waiter = t;
        int64_t woke = tardy_wait(rt, t, &park_send, r);
        if (r->flying)
            return woke < 0 ? (int)woke : -EINPROGRESS;
    }
    int result = r->result;
    s->send = NULL;
    send_put(rt, r);
    return result;
}

size_t tardy_stream_unsent(const tardy_stream *handle, uint64_t *last_ns)
{
    const stream_impl *s = (const stream_impl *)handle;
    const stream_send *r = s && s->open ? s->send : NULL;
    if (!r || !r->flying) {
        if (last_ns)
            *last_ns = 0;
        return 0;
    }
    if (last_ns)
        *last_ns = r->moved;
    return r->op.len;
}

bool tardy_stream_send_flying(const stream_impl *s)
{
    return s->send && s->send->flying;
}

bool tardy_stream_send_waited(const stream_impl *s)
{
    return s->send && s->send->waiter;
}

void tardy_stream_send_cancel(struct tardy_runtime *rt, stream_impl *s)
{
    stream_send *r = s->send;
    if (!r || !r->flying || r->cancelled)
        return;
    r->cancelled = true;
    rt->drv->cancel(rt->drv_state, &r->op);
}

void tardy_stream_send_await(struct tardy_runtime *rt, stream_impl *s, task_rec *t)
{
    stream_send *r = s->send;
    while (r && r->flying) {
        r->waiter = t;
        tardy_park(rt, t);
    }
}

void tardy_stream_send_drop(struct tardy_runtime *rt, stream_impl *s)
{
    if (s->send)
        send_put(rt, s->send);
    s->send = NULL;
}
