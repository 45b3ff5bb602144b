/* A connection as the protocol sees it: the borrowed receive and write
 * buffers, reads and writes under the connection's timeouts, and the
 * per-request scratch arena at the end of the write buffer. */
#include "stream.h"

#include <errno.h>
#include <string.h>

zzz_buf *zzz_conn_buf(zzz_conn *c)
{
    if (!c->in.data) {
        char *data = zzz_pool_get(&c->worker->in_pool);
        if (data)
            c->in = (zzz_buf){.data = data, .len = 0, .cap = c->worker->in_pool.size};
    }
    return &c->in;
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

/* Runs under min(task deadline, connection deadline); puts the task's own
 * deadline back afterwards. */
#define CONN_IO(conn, timeout_ms, expr)                                                            \
    do {                                                                                           \
        uint64_t saved_ = tardy_deadline();                                                        \
        uint64_t when_ = zzz_conn_io_deadline((conn), (timeout_ms));                               \
        tardy_deadline_set(saved_ && saved_ < when_ ? saved_ : when_);                             \
        expr;                                                                                      \
        tardy_deadline_set(saved_);                                                                \
    } while (0)

ssize_t zzz_conn_fill(zzz_conn *c)
{
    zzz_buf *b = zzz_conn_buf(c);
    if (!b->data || b->len >= b->cap)
        return -ENOBUFS;
    ssize_t n;
    CONN_IO(c, c->worker->server->cfg.read_timeout_ms,
            n = zzz_stream_recv(c, b->data + b->len, b->cap - b->len));
    if (n > 0)
        b->len += (size_t)n;
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
    ssize_t n;
    CONN_IO(c, c->worker->server->cfg.read_timeout_ms, n = zzz_stream_recv(c, buf, len));
    return n;
}

int zzz_conn_writev(zzz_conn *c, const struct iovec *iov, int iovcnt)
{
    int err;
    CONN_IO(c, c->worker->server->cfg.write_timeout_ms, err = zzz_stream_writev(c, iov, iovcnt));
    return err;
}

int zzz_conn_write(zzz_conn *c, const void *data, size_t len)
{
    struct iovec iov = {.iov_base = (void *)data, .iov_len = len};
    return zzz_conn_writev(c, &iov, 1);
}

size_t zzz_conn_out_room(zzz_conn *c)
{
    zzz_buf *o = zzz_conn_outbuf(c);
    return o->cap - c->arena_used;
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

char *zzz_conn_arena(zzz_conn *c, size_t n)
{
    zzz_buf *o = zzz_conn_outbuf(c);
    if (!o->data)
        return NULL;
    n = (n + 7) & ~(size_t)7;
    if (o->len + c->arena_used + n > o->cap) {
        /* Pending output is in the way: send it to make room. */
        if (zzz_conn_flush(c) != 0 || c->arena_used + n > o->cap)
            return NULL;
    }
    c->arena_used += n;
    return o->data + o->cap - c->arena_used;
}

void zzz_conn_arena_reset(zzz_conn *c)
{
    c->arena_used = 0;
}

void zzz_conn_release_input(zzz_conn *c)
{
    if (c->in.data && c->in.len == 0) {
        zzz_pool_put(&c->worker->in_pool, c->in.data);
        c->in = (zzz_buf){0};
    }
}

void zzz_conn_linger(zzz_conn *c)
{
    c->linger = true;
}

void zzz_conn_set_deadline(zzz_conn *c, uint64_t when_ns)
{
    c->deadline = when_ns;
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

void *zzz_conn_data(const zzz_conn *c)
{
    return c->data;
}

void zzz_conn_set_data(zzz_conn *c, void *data)
{
    c->data = data;
}

zzz_server *zzz_conn_server(const zzz_conn *c)
{
    return c->worker->server;
}
