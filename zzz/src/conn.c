/* A connection as the protocol sees it: the borrowed receive and write
 * buffers, reads and writes under the connection's timeouts, and the
 * per-request scratch arena at the end of the write buffer. */
#include "conn_life.h"
#include "deadline.h"
#include "stream.h"

#include <errno.h>
#include <string.h>

zzz_buf *zzz_conn_buf(zzz_conn *c)
{
    if (!c->in.data || c->in_small) {
        char *data = zzz_pool_get(&c->worker->in_pool);
        if (data) {
            if (c->in_small) {
                /* An unfinished message comes back to a whole buffer. */
                memcpy(data, c->in.data, c->in.len);
                zzz_pool_put(&c->worker->small_pool, c->in.data);
                c->in_small = false;
            }
            c->in = (zzz_buf){.data = data, .len = c->in.len, .cap = c->worker->in_pool.size};
        }
    }
    return &c->in;
}

void zzz_conn_park_input(zzz_conn *c)
{
    zzz_worker *w = c->worker;
    if (!c->in.data)
        return;
    if (c->in.len == 0) {
        zzz_pool_put(c->in_small ? &w->small_pool : &w->in_pool, c->in.data);
        c->in = (zzz_buf){0};
        c->in_small = false;
        c->in_since = 0;
        return;
    }
    if (c->in_small || c->in.len > w->small_pool.size)
        return;
    char *small = zzz_pool_get(&w->small_pool);
    if (!small)
        return; /* it keeps the whole buffer */
    memcpy(small, c->in.data, c->in.len);
    zzz_pool_put(&w->in_pool, c->in.data);
    c->in = (zzz_buf){.data = small, .len = c->in.len, .cap = w->small_pool.size};
    c->in_small = true;
}

void zzz_conn_in_arrived(zzz_conn *c)
{
    if (c->in.len == 0)
        c->in_since = tardy_now();
}

uint64_t zzz_conn_buf_since(const zzz_conn *c)
{
    return c->in.len ? c->in_since : 0;
}

zzz_buf *zzz_conn_outbuf(zzz_conn *c)
{
    if (!c->out.data) {
        char *data = zzz_pool_get(&c->worker->out_pool);
        if (data)
            c->out = (zzz_buf){.data = data, .len = 0, .cap = c->worker->out_pool.size};
    }
    return &c->out;
}

uint64_t zzz_conn_io_deadline(const zzz_conn *c, uint32_t timeout_ms)
{
    if (c->deadline)
        return c->deadline;
    return tardy_now() + (uint64_t)timeout_ms * 1000000u;
}

ssize_t zzz_conn_fill(zzz_conn *c)
{
    zzz_buf *b = zzz_conn_buf(c);
    if (!b->data || b->len >= b->cap)
        return -ENOBUFS;
    /* Under the connection's deadline, or the task's when it comes first. */
    uint64_t saved =
        zzz_deadline_push(zzz_conn_io_deadline(c, c->worker->server->cfg.read_timeout_ms));
    ssize_t n = zzz_stream_recv(c, b->data + b->len, b->cap - b->len);
    zzz_deadline_pop(saved);
    if (n > 0) {
        zzz_conn_in_arrived(c);
        b->len += (size_t)n;
    }
    return n;
}

ssize_t zzz_conn_fill_now(zzz_conn *c)
{
    zzz_buf *b = zzz_conn_buf(c);
    if (!b->data || b->len >= b->cap)
        return -ENOBUFS;
    ssize_t n = zzz_stream_recv_now(c, b->data + b->len, b->cap - b->len);
    if (n > 0) {
        zzz_conn_in_arrived(c);
        b->len += (size_t)n;
    }
    return n;
}

void zzz_conn_consume(zzz_conn *c, size_t n)
{
    zzz_buf *b = &c->in;
    if (n >= b->len) {
        b->len = 0;
        return;
    }
    memmove(b->data, b->data + n, b->len - n);
    b->len -= n;
    /* What is left is the start of the next message: its clock starts now. */
    c->in_since = tardy_now();
}

ssize_t zzz_conn_read(zzz_conn *c, void *buf, size_t len)
{
    if (len == 0)
        return 0;
    if (c->in.len > 0) {
        size_t n = c->in.len < len ? c->in.len : len;
        memcpy(buf, c->in.data, n);
        zzz_conn_consume(c, n);
        return (ssize_t)n;
    }
    return zzz_conn_recv(c, buf, len);
}

ssize_t zzz_conn_recv(zzz_conn *c, void *buf, size_t len)
{
    if (len == 0)
        return 0;
    uint64_t saved =
        zzz_deadline_push(zzz_conn_io_deadline(c, c->worker->server->cfg.read_timeout_ms));
    ssize_t n = zzz_stream_recv(c, buf, len);
    zzz_deadline_pop(saved);
    return n;
}

/* A write in its deadline scope; `finish`: the stream's last (one iovec).
 * A write is bounded by progress, not by call: each send may wait
 * write_timeout_ms from the last byte the peer took, so a slow but steady
 * reader is never cut while one that stalls is. With write_min_rate, once
 * the call has run write_timeout_ms it must also average that rate. */
static int conn_send(zzz_conn *c, const struct iovec *iov, int iovcnt, bool finish)
{
    for (int i = 0; i < iovcnt; i++)
        c->sent += iov[i].iov_len;
    uint64_t now = tardy_now();
    c->writing = true;
    /* The scope of the write: zzz_conn_send_arm tightens the deadline
     * before each send, from this outer one. */
    c->write_outer = zzz_deadline_push(0);
    c->write_start = c->write_last = now;
    c->write_done = 0;
    int err = finish ? zzz_stream_finish(c, iov->iov_base, iov->iov_len)
                     : zzz_stream_writev(c, iov, iovcnt);
    c->writing = false;
    zzz_deadline_pop(c->write_outer);
    return err;
}

int zzz_conn_writev(zzz_conn *c, const struct iovec *iov, int iovcnt)
{
    return conn_send(c, iov, iovcnt, false);
}

int zzz_conn_finish(zzz_conn *c)
{
    if (!zzz_stream_has_finish(c))
        return zzz_conn_flush(c);
    struct iovec iov = {c->out.data, c->out.data ? c->out.len : 0};
    c->out.len = 0;
    return conn_send(c, &iov, 1, true);
}

int zzz_conn_sendfile(zzz_conn *c, int fd, off_t offset, size_t len)
{
    if (offset < 0 || fd < 0)
        return offset < 0 ? -EINVAL : -EBADF;
    if (len == 0)
        return zzz_conn_flush(c);
    /* What was queued before the file goes first, and may leave with it. */
    size_t head_len = c->out.data ? c->out.len : 0;
    c->sent += head_len + len;
    c->out.len = 0;
    /* One write, as zzz_conn_writev's: bounded by the peer's progress. */
    c->writing = true;
    c->write_outer = zzz_deadline_push(0);
    c->write_start = c->write_last = tardy_now();
    c->write_done = 0;
    int err = c->ops->sendfile(c, c->out.data, head_len, fd, offset, len);
    c->writing = false;
    zzz_deadline_pop(c->write_outer);
    return err;
}

uint64_t zzz_conn_write_due(const zzz_conn *c)
{
    const zzz_server_config *cfg = &c->worker->server->cfg;
    uint64_t timeout_ns = (uint64_t)cfg->write_timeout_ms * 1000000u;
    uint64_t when = c->write_last + timeout_ns;
    if (cfg->write_min_rate) {
        /* The time by which write_done bytes meet the rate, after grace. */
        uint64_t by_rate = c->write_start + timeout_ns +
                           c->write_done * 1000000000u / cfg->write_min_rate;
        if (by_rate < when)
            when = by_rate;
    }
    return when;
}

void zzz_conn_send_arm(zzz_conn *c)
{
    if (!c->writing)
        return;
    uint64_t when = zzz_conn_write_due(c);
    when = zzz_deadline_min(when, c->deadline);
    when = zzz_deadline_min(when, c->write_outer);
    tardy_deadline_set(when);
}

void zzz_conn_send_progress(zzz_conn *c, size_t n)
{
    if (!c->writing || n == 0)
        return;
    c->write_last = tardy_now();
    c->write_done += n;
}

uint64_t zzz_conn_sent(const zzz_conn *c)
{
    return c->sent;
}

int zzz_conn_write(zzz_conn *c, const void *data, size_t len)
{
    struct iovec iov = {.iov_base = (void *)data, .iov_len = len};
    return zzz_conn_writev(c, &iov, 1);
}

int zzz_conn_flush(zzz_conn *c)
{
    if (!c->out.data || c->out.len == 0)
        return 0;
    int err = zzz_conn_write(c, c->out.data, c->out.len);
    c->out.len = 0;
    return err;
}

int zzz_conn_out(zzz_conn *c, const void *data, size_t len)
{
    zzz_buf *o = zzz_conn_outbuf(c);
    if (!o->data)
        return zzz_conn_write(c, data, len);
    size_t room = o->cap - c->arena_used;
    if (o->len + len <= room) {
        memcpy(o->data + o->len, data, len);
        o->len += len;
        return 0;
    }
    if (len >= room / 2) {
        /* Large data: send it straight after what is pending, uncopied. */
        struct iovec iov[2] = {{o->data, o->len}, {(void *)data, len}};
        int err = o->len ? zzz_conn_writev(c, iov, 2) : zzz_conn_writev(c, iov + 1, 1);
        o->len = 0;
        return err;
    }
    int err = zzz_conn_flush(c);
    if (err)
        return err;
    memcpy(o->data, data, len);
    o->len = len;
    return 0;
}

size_t zzz_conn_out_room(const zzz_conn *c)
{
    if (!c->out.data)
        return 0;
    return c->out.cap - c->out.len - c->arena_used;
}

/* The scratch grows down from the end of the write buffer, output up
 * from its start. Making room would mean sending, and sending may wait:
 * a call that composes must not park in the middle (its caller holds
 * pointers and a half-built message), so the arena only ever says no. */
int zzz_conn_arena(zzz_conn *c, size_t size, void **mem)
{
    zzz_buf *o = zzz_conn_outbuf(c);
    if (!o->data || size > o->cap)
        return -ENOBUFS;
    size_t n = (size + 7) & ~(size_t)7;
    if (n > o->cap - o->len - c->arena_used)
        return -ENOBUFS;
    c->arena_used += n;
    *mem = o->data + o->cap - c->arena_used;
    return 0;
}

void zzz_conn_arena_reset(zzz_conn *c)
{
    c->arena_used = 0;
}

void zzz_conn_close_mode(zzz_conn *c, zzz_close how)
{
    c->close_how = how;
}

void zzz_conn_linger(zzz_conn *c)
{
    c->close_how = ZZZ_CLOSE_LINGER;
}

void zzz_conn_wait_until(zzz_conn *c, uint64_t when_ns)
{
    c->wait_until = when_ns;
}

bool zzz_conn_expired(const zzz_conn *c)
{
    return c->expired;
}

void zzz_conn_set_deadline(zzz_conn *c, uint64_t when_ns)
{
    c->deadline = when_ns;
}

uint64_t zzz_conn_deadline(const zzz_conn *c)
{
    return c->deadline;
}

int zzz_conn_fd(const zzz_conn *c)
{
    return c->fd;
}

const struct sockaddr *zzz_conn_peer(const zzz_conn *c, socklen_t *len)
{
    if (len)
        *len = c->peer_len;
    return &c->peer.sa;
}

bool zzz_conn_closing(const zzz_conn *c)
{
    return c->worker->draining;
}

void zzz_conn_cancel_on_drain(zzz_conn *c, bool on)
{
    bool was = c->cancel_on_drain;
    c->cancel_on_drain = on;
    if (!c->worker->draining || !c->task.id)
        return;
    if (on) {
        /* The shutdown's cancels went out before the mark: this one is
         * the task's own, for its next call. */
        tardy_cancel(c->task);
    } else if (was) {
        /* The shutdown may have cancelled the task after its wait ended
         * (it was ready to run, not parked): that cancel waits for the
         * next call, which is not the one it meant. A yield takes it. */
        tardy_yield();
    }
}

void *zzz_conn_data(const zzz_conn *c)
{
    return c->data;
}

void zzz_conn_set_data(zzz_conn *c, void *data)
{
    c->data = data;
}

void *zzz_conn_thread_data(const zzz_conn *c)
{
    return c->worker->thread_data;
}

int zzz_conn_hand_over(zzz_conn *c, zzz_on_conn_fn on_conn, void *user)
{
    if (!on_conn)
        return -EINVAL;
    c->on_conn = on_conn;
    c->on_conn_user = user;
    c->handed = true;
    return 0;
}

int zzz_conn_wake(zzz_conn *c)
{
    /* A lingering connection's protocol is done with it: it only closes. */
    if (c->state == CONN_FREE || c->state == CONN_LINGERING || c->fd < 0)
        return -ENOTCONN;
    c->wake = true;
    /* A waiting connection's wait ends now (its woken function sees
     * -ECANCELED and the flag); an active one is served again when its
     * call returns, or, when the wake comes while it is being put back
     * to waiting, as soon as its wait is armed (conn_serve). */
    zzz_conn_wait_cancel(c);
    return 0;
}

bool zzz_conn_woken(const zzz_conn *c)
{
    return c->woken;
}

void zzz_conn_on_close(zzz_conn *c, void (*fn)(zzz_conn *conn, void *user), void *user)
{
    c->on_close = fn;
    c->on_close_user = fn ? user : NULL;
}

zzz_server *zzz_conn_server(const zzz_conn *c)
{
    return c->worker->server;
}
