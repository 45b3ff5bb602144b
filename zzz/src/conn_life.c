/* A connection's life in the server: it starts when accepted, waits
 * holding no task until it has something to do, is served by the
 * protocol in a task from the pool, goes back to waiting or ends in a
 * close (lingering, immediate or a reset). Only this file releases a
 * connection's buffers and re-arms its wait. */
#include "conn_life.h"
#include "deadline.h"
#include "stream.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static void conn_release_buffers(zzz_conn *c, bool keep_unread)
{
    zzz_worker *w = c->worker;
    if (keep_unread) {
        zzz_conn_park_input(c);
    } else if (c->in.data) {
        zzz_pool_put(c->in_small ? &w->small_pool : &w->in_pool, c->in.data);
        c->in = (zzz_buf){0};
        c->in_small = false;
    }
    if (c->out.data) {
        zzz_pool_put(&w->out_pool, c->out.data);
        c->out = (zzz_buf){0};
    }
    c->arena_used = 0;
}

/* Hands the response's pending bytes to the receive stream, which sends
 * them while the connection waits: the task ends without waiting for
 * the kernel (on io_uring it would otherwise keep its stack, and the
 * connection its buffers, until the next turn's completion). The bytes
 * (copied into a small buffer when they fit one, else in the write
 * buffer) stay the kernel's until the send is collected
 * (conn_collect_send), which the wait's end brings. The send is bounded
 * as a write is: it must move every write_timeout_ms (and keep
 * write_min_rate). Elsewhere (TLS, no stream, every allowance taken) the
 * bytes are flushed by the task. Returns 0 or the send's -errno. */
static int conn_flush_ahead(zzz_conn *c)
{
    zzz_worker *w = c->worker;
    if (c->ops != &zzz_plain_ops || !c->stream || w->flying >= w->server->cfg.active_limit)
        return zzz_conn_flush(c);
    size_t len = c->out.len;
    /* A small end travels in a small buffer; a larger one in the write
     * buffer itself, which the connection then lends to the send. */
    zzz_pool *pool = &w->fly_pool;
    char *fly = len <= pool->size ? zzz_pool_get(pool) : NULL;
    if (fly) {
        memcpy(fly, c->out.data, len);
    } else {
        pool = &w->out_pool;
        fly = c->out.data;
    }
    int r = tardy_stream_send(&c->rx.stream, fly, len);
    if (r != 1 && pool == &w->fly_pool)
        zzz_pool_put(pool, fly);
    if (r == -ENOBUFS)
        return zzz_conn_flush(c);
    c->out.len = 0;
    if (r < 0)
        return r;
    c->sent += len;
    if (r == 1) {
        if (pool == &w->out_pool)
            c->out = (zzz_buf){0};
        c->fly = fly;
        c->fly_pool = pool;
        c->flying_len = len;
        c->write_start = c->write_last = tardy_now();
        c->write_done = 0;
        w->flying++;
    }
    return 0;
}

/* The flying send's progress, brought into write_last and write_done:
 * returns when it is due to have moved again. */
static uint64_t conn_flying_due(zzz_conn *c)
{
    uint64_t moved;
    size_t unsent = tardy_stream_unsent(&c->rx.stream, &moved);
    if (moved > c->write_last)
        c->write_last = moved;
    c->write_done = c->flying_len - unsent;
    return zzz_conn_write_due(c);
}

/* The flying send is over and collected: its buffer goes back. */
static void conn_flying_landed(zzz_conn *c)
{
    c->worker->flying--;
    zzz_pool_put(c->fly_pool, c->fly);
    c->fly = NULL;
}

/* Collects the end of the send conn_flush_ahead began. Returns 0 when it
 * is over and every byte went; -EINPROGRESS when it is still moving and
 * `hold` is false (the connection waits again, holding no task); else
 * the error that ends the connection: the send's, -ETIMEDOUT when it
 * stopped moving, -ECANCELED. With `hold` (the connection has more to
 * do: bytes came, a wake, a shutdown) a send still moving is waited for
 * here. The connection's close cancels a send still in the kernel. */
static int conn_collect_send(zzz_conn *c, bool hold)
{
    for (;;) {
        int err = tardy_stream_sent(&c->rx.stream, false);
        if (err != -EINPROGRESS) {
            conn_flying_landed(c);
            return err;
        }
        uint64_t due = conn_flying_due(c);
        if (tardy_now() >= due)
            return -ETIMEDOUT;
        if (!hold)
            return -EINPROGRESS;
        /* Held here, the connection is being served: it counts as
         * active, and a shutdown's cut cancels this task as any other. */
        zzz_worker *w = c->worker;
        conn_state was = c->state;
        c->state = CONN_ACTIVE;
        c->task = tardy_self();
        w->active++;
        uint64_t saved = zzz_deadline_push_exact(due);
        err = tardy_stream_sent(&c->rx.stream, true);
        zzz_deadline_pop(saved);
        w->active--;
        c->task = (tardy_task){0};
        c->state = was;
        if (tardy_stream_unsent(&c->rx.stream, NULL) == 0) {
            conn_flying_landed(c); /* over, and collected by that wait */
            return err;
        }
        if (err == -ECANCELED)
            return err;
        /* At `due`: moved since, or not (the loop's check). */
    }
}

/* Closes the socket; with `reset`, as a reset (RST) the peer cannot take
 * for the clean end of a stream. */
static void conn_close_as(zzz_conn *c, bool reset)
{
    zzz_worker *w = c->worker;
    if (c->on_close) {
        void (*fn)(zzz_conn *, void *) = c->on_close;
        c->on_close = NULL;
        fn(c, c->on_close_user);
    }
    if (c->fly) {
        /* The kernel may still be reading the flying buffer: closing the
         * stream cancels its send and waits until the kernel lets go. */
        if (tardy_stream_close(&c->rx.stream) == 0) {
            c->stream = false;
            conn_flying_landed(c);
        } else {
            /* Cannot happen: the buffer is then never reused. */
            c->fly = NULL;
            w->flying--;
        }
    }
    conn_release_buffers(c, false);
    zzz_stream_close(c, !reset);
    if (c->stream) {
        /* Before the socket closes: the kernel lets go of the stream. */
        tardy_stream_close(&c->rx.stream);
        c->stream = false;
    }
    if (c->fd >= 0) {
        if (reset) {
            struct linger now = {.l_onoff = 1, .l_linger = 0};
            setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &now, sizeof now);
        }
        /* Without waiting for it: connections closing together (a
         * client's pool going away) would each hold a task's stack. */
        if (tardy_runtime_self())
            tardy_close_nowait(c->fd);
        else
            close(c->fd);
    }
    c->fd = -1;
    c->state = CONN_FREE;
    c->data = NULL;
    c->next_free = w->free_conns;
    w->free_conns = c;
    w->open--;
    atomic_fetch_sub(&w->server->open_total, 1);
    if (w->open == 0 && w->drain_sleeper.id)
        tardy_cancel(w->drain_sleeper);
}

static void conn_close(zzz_conn *c)
{
    conn_close_as(c, false);
}

static void conn_serve(void *arg);

static void conn_linger_woken(void *arg);

/* A lingering close (RFC 9112, 9.6): closing a socket with client bytes
 * unread makes the kernel reset the connection, and the reset can destroy
 * the end of our answer before the client reads it. So: send what is
 * pending, end our side (close_notify with TLS, then FIN), and read and
 * drop what the client still sends until it closes or linger_timeout_ms
 * passes. `always`: linger even when nothing is seen unread now (the
 * client may still be sending a body); otherwise only when bytes are left
 * in the buffer or have already arrived. Returns true when the connection
 * now lingers: it waits like an idle one, holding no task and no buffer
 * (a client that never closes must not keep a task for the whole
 * linger_timeout_ms: enough of them would starve every other request). */
static bool conn_linger(zzz_conn *c, bool always)
{
    zzz_server *s = c->worker->server;
    if (zzz_conn_finish(c) != 0)
        return false;
    /* The flush may have parked while a drain began and swept: such a
     * connection just closes. */
    if (c->worker->draining)
        return false;
    bool unread = c->in.len > 0;
    zzz_stream_close(c, true);
    if (shutdown(c->fd, SHUT_WR) != 0)
        return false;
    if (!always && !unread) {
        char scratch[4096];
        char *sink = c->in.data ? c->in.data : scratch;
        size_t sink_len = c->in.data ? c->in.cap : sizeof scratch;
        ssize_t n = zzz_plain_recv(c, sink, sink_len, true);
        /* A stream whose receive is armed answers -EAGAIN for bytes the
         * driver has not received yet: ask the socket too. */
        char peek;
        if (n == -EAGAIN && c->stream && recv(c->fd, &peek, 1, MSG_PEEK | MSG_DONTWAIT) > 0)
            n = 1;
        if (n <= 0)
            return false; /* nothing more came: the client is done (or gone) */
    }
    conn_release_buffers(c, false);
    if (!c->stream) {
        if (tardy_stream_open(&c->rx.stream, c->fd) != 0)
            return false;
        c->stream = true;
    }
    c->state = CONN_LINGERING;
    c->ahead = true;
    c->wait_deadline = tardy_now() + (uint64_t)s->cfg.linger_timeout_ms * 1000000u;
    if (tardy_stream_wait(&c->rx.stream, c->wait_deadline, conn_linger_woken, c) != 0) {
        c->state = CONN_ACTIVE;
        return false;
    }
    return true;
}

/* A lingering connection's bytes arrived (or its time ran out, or the
 * server drains): drops what came and waits again, or closes. */
static void conn_linger_woken(void *arg)
{
    zzz_conn *c = arg;
    if (tardy_stream_result(&c->rx.stream) <= 0 || c->worker->draining) {
        conn_close(c);
        return;
    }
    char scratch[4096];
    ssize_t n = 0;
    /* A bounded helping: a client that sends fast waits its turn again. */
    for (int i = 0; i < 16; i++) {
        n = tardy_stream_take(&c->rx.stream, scratch, sizeof scratch);
        if (n <= 0)
            break;
    }
    if ((n <= 0 && n != -EAGAIN) || tardy_now() >= c->wait_deadline ||
        tardy_stream_wait(&c->rx.stream, c->wait_deadline, conn_linger_woken, c) != 0)
        conn_close(c);
}

/* Closes a connection whose protocol is done with it, as it asked. */
static void conn_end(zzz_conn *c)
{
    bool draining = c->worker->draining;
    if (c->fd < 0) {
        conn_close(c);
        return;
    }
    switch (c->close_how) {
    case ZZZ_CLOSE_RESET:
        conn_close_as(c, true);
        return;
    case ZZZ_CLOSE_NOW:
        zzz_conn_finish(c);
        break;
    case ZZZ_CLOSE_LINGER:
    case ZZZ_CLOSE_AUTO:
        if (draining)
            zzz_conn_finish(c);
        else if (conn_linger(c, c->close_how == ZZZ_CLOSE_LINGER))
            return; /* closed by conn_linger_woken */
        break;
    }
    conn_close(c);
}

static void conn_woken(void *arg);

/* Waits, holding no task, until the connection has something to do: its
 * next bytes (events POLLIN), or other events (POLLOUT fires at once).
 * Its bytes (TLS records too) are received as they arrive where the
 * driver can (io_uring), so serving it starts without a receive call. */
static int conn_wait(zzz_conn *c, short events, uint64_t deadline)
{
    c->state = CONN_WAITING;
    c->wait_deadline = deadline;
    c->ahead = c->stream || events == POLLIN;
    if (c->ahead) {
        /* The stream stays open between requests: on io_uring one
         * multishot receive serves the connection's whole life. */
        if (!c->stream) {
            int err = tardy_stream_open(&c->rx.stream, c->fd);
            if (err)
                return err;
            c->stream = true;
        }
        /* A response's end in flight ends the wait too, by its deadline. */
        uint64_t until = c->fly ? zzz_deadline_min(deadline, conn_flying_due(c)) : deadline;
        return tardy_stream_wait(&c->rx.stream, until, conn_woken, c);
    }
    return tardy_watch_start(&c->rx.watch, c->fd, events, deadline, conn_woken, c);
}

void zzz_conn_wait_cancel(zzz_conn *c)
{
    if (c->state != CONN_WAITING && c->state != CONN_LINGERING)
        return;
    if (c->ahead)
        tardy_stream_cancel(&c->rx.stream);
    else
        tardy_watch_cancel(&c->rx.watch);
}

static void conn_woken(void *arg)
{
    zzz_conn *c = arg;
    int result = c->ahead ? tardy_stream_result(&c->rx.stream) : tardy_watch_result(&c->rx.watch);
    if (c->fly) {
        /* Did the wait end for the send alone (its end, or the time it
         * was due to move), before the connection's own end? */
        bool for_send =
            (result == POLLOUT ||
             (result == -ETIMEDOUT && (!c->wait_deadline || tardy_now() < c->wait_deadline))) &&
            !c->wake && !c->worker->draining;
        int err = conn_collect_send(c, !for_send);
        if (err != 0 && err != -EINPROGRESS) {
            conn_close(c);
            return;
        }
        if (for_send) {
            /* Landed, or still moving: the wait goes on, to its end. */
            if (conn_wait(c, POLLIN, c->wait_deadline) != 0)
                conn_close(c);
            return;
        }
    }
    if (c->wake && !c->worker->draining) {
        /* zzz_conn_wake (whatever else ended the wait): served now; what
         * arrived, if anything, is the protocol's to read. */
        conn_serve(c);
        return;
    }
    if (c->worker->draining && c->on_conn && c->expire_call) {
        /* A protocol handed the connection that answers its own deadlines
         * answers the shutdown too (a WebSocket's 1001): served once
         * more, with zzz_conn_closing() true, then closed. */
        conn_serve(c);
        return;
    }
    if (result == -ETIMEDOUT && c->expire_call && !c->worker->draining) {
        /* The protocol asked to answer this deadline itself. */
        c->expired = true;
        conn_serve(c);
        return;
    }
    if (result < 0 || c->worker->draining) {
        /* Idle timeout, shutdown, or the socket failed while idle. */
        conn_close(c);
        return;
    }
    ssize_t n = c->ahead ? zzz_stream_arrived(c) : 1;
    if (n == -EAGAIN) {
        /* Woken with nothing to read: wait again, to the same end. */
        conn_release_buffers(c, true);
        if (conn_wait(c, POLLIN, c->wait_deadline) != 0)
            conn_close(c);
        return;
    }
    if (n <= 0) {
        /* The client closed (or reset) a connection it left waiting. */
        conn_close(c);
        return;
    }
    conn_serve(c);
}

/* Runs the connection's protocol: the server's on_busy when every task
 * is taken, else the on_conn that serves it. A call that hands the
 * connection to another protocol (zzz_conn_hand_over) ends the old one's
 * part, whatever it returns; the new one serves at once, in a call of its
 * own, the bytes that came with the switch, or waits for its first. */
static zzz_conn_next conn_run_protocol(zzz_conn *c, bool expired)
{
    zzz_worker *w = c->worker;
    zzz_server *s = w->server;
    for (;;) {
        c->handed = false;
        c->expired = expired;
        c->woken = c->wake;
        c->wake = false;
        zzz_conn_next next;
        if (w->active > s->cfg.active_limit && s->cfg.on_busy && !expired && !c->on_conn)
            next = s->cfg.on_busy(c, s->cfg.user); /* answers for the server's protocol */
        else if (c->on_conn)
            next = c->on_conn(c, c->on_conn_user);
        else
            next = s->cfg.on_conn(c, s->cfg.user);
        c->expired = false;
        c->woken = false;
        if (!c->handed)
            return next;
        /* The old protocol's settings for its next wait do not carry over. */
        c->wait_until = 0;
        if (w->draining)
            return ZZZ_CLOSE;
        if (c->in.len == 0)
            return ZZZ_WAIT;
        expired = false;
        c->deadline = 0;
        c->cancel_on_drain = false;
        c->close_how = ZZZ_CLOSE_AUTO;
        c->arena_used = 0;
    }
}

/* One turn of serving: opens the stream (a TLS handshake's next step)
 * and runs the protocol. Returns what comes next; for a wait the stream
 * asked for (a handshake's next flight), sets *wait_deadline. */
static zzz_conn_next conn_serve_once(zzz_conn *c, bool expired, uint64_t *wait_deadline)
{
    zzz_server *s = c->worker->server;
    c->deadline = 0;
    c->wait_until = 0;
    c->expire_call = false;
    c->cancel_on_drain = false;
    c->close_how = ZZZ_CLOSE_AUTO;
    /* A new TLS connection shakes hands before the protocol sees it, one
     * step each time the client's bytes arrive, waiting between them like
     * an idle connection. A client usually sends its first request with
     * its last handshake flight; if it has not, the connection waits for
     * it like a new one (unless the server speaks first). */
    int opened = expired ? 0 : zzz_stream_open(c);
    if (opened == -EAGAIN) {
        *wait_deadline = zzz_stream_open_deadline(c);
        return ZZZ_WAIT;
    }
    if (opened < 0) {
        c->close_how = ZZZ_CLOSE_NOW;
        return ZZZ_CLOSE;
    }
    if (opened == 1 && !s->cfg.serve_on_open && !zzz_stream_pending(c)) {
        *wait_deadline = tardy_now() + (uint64_t)s->cfg.first_byte_timeout_ms * 1000000u;
        return ZZZ_WAIT;
    }
    /* With every task serving a handler, on_busy answers quickly from a
     * reserve task instead of leaving the client to hang. */
    return conn_run_protocol(c, expired);
}

/* Runs the protocol on a connection that has something to do, then
 * closes the connection or gives back what a waiting one does not need
 * and re-arms its wait: the protocol only says which. */
static void conn_serve(void *arg)
{
    zzz_conn *c = arg;
    zzz_worker *w = c->worker;
    zzz_server *s = w->server;
    bool expired = c->expired;
    c->state = CONN_ACTIVE;
    c->task = tardy_self();
    w->active++;
    uint64_t wait_deadline;
    zzz_conn_next next;
    for (;;) {
        wait_deadline = 0;
        next = conn_serve_once(c, expired, &wait_deadline);
        expired = false;
        if (next != ZZZ_WAIT || wait_deadline || w->draining || c->fd < 0 ||
            (!zzz_stream_pending(c) && !c->wake))
            break;
        /* The stream holds what its receive stream no longer shows (a TLS
         * record read ahead): a wait would not end for it, so it is served
         * now, once the thread's other tasks have had their turn. */
        if (tardy_yield() != 0)
            break;
    }
    w->active--;
    c->task = (tardy_task){0};
    if (next != ZZZ_WAIT || w->draining || c->fd < 0) {
        conn_end(c);
        return;
    }
    /* Give back what a waiting connection does not need. The receive
     * buffer goes first, so that while the flush parks (on io_uring, until
     * the ring has sent it) another connection can have it; bytes of an
     * unfinished message stay, in a small buffer when they fit one. */
    zzz_conn_park_input(c);
    if (c->out.data && c->out.len > 0 && conn_flush_ahead(c) != 0) {
        conn_close(c);
        return;
    }
    conn_release_buffers(c, true);
    zzz_stream_idle(c);
    if (!wait_deadline && c->wait_until) {
        wait_deadline = c->wait_until;
        c->expire_call = true;
    }
    if (!wait_deadline)
        wait_deadline = tardy_now() + (uint64_t)s->cfg.idle_timeout_ms * 1000000u;
    /* A message of the stream's own begun and unfinished (a TLS record)
     * ends in time whatever the protocol waits for: past it, the
     * connection closes. */
    uint64_t stream_deadline = zzz_stream_open_deadline(c);
    if (stream_deadline && stream_deadline < wait_deadline) {
        wait_deadline = stream_deadline;
        c->expire_call = false;
    }
    if (conn_wait(c, POLLIN, wait_deadline) != 0) {
        conn_close(c);
        return;
    }
    /* A wake that came while the flush above parked found the
     * connection neither served nor waiting: it is honoured now. */
    if (c->wake)
        zzz_conn_wait_cancel(c);
}

/* The start of a connection's life: a record for a socket the listener
 * has just accepted, below the connection limit. */
void zzz_conn_accepted(zzz_worker *w, int fd, const zzz_sockaddr *peer, socklen_t peer_len)
{
    zzz_server *s = w->server;
    zzz_conn *c = w->free_conns;
    if (c) {
        w->free_conns = c->next_free;
    } else {
        /* Below the limit, so a never-used record is left. */
        c = &w->conns[w->conns_used++];
        c->worker = w;
    }
    memset(&c->in, 0, sizeof c->in);
    memset(&c->out, 0, sizeof c->out);
    c->fd = fd;
    c->ops = s->stream_ops;
    c->data = NULL;
    c->on_conn = NULL;
    c->on_conn_user = NULL;
    c->tls = NULL;
    c->close_how = ZZZ_CLOSE_AUTO;
    c->in_small = false;
    c->expire_call = false;
    c->expired = false;
    c->cancel_on_drain = false;
    c->in_since = 0;
    c->sent = 0;
    c->writing = false;
    c->wait_until = 0;
    c->wake = false;
    c->woken = false;
    c->on_close = NULL;
    c->on_close_user = NULL;
    c->arena_used = 0;
    c->fly = NULL;
    c->peer = *peer;
    c->peer_len = peer_len;
    w->open++;
    atomic_fetch_add(&s->open_total, 1);
    /* Until its first bytes arrive a new connection waits like an idle
     * one: no task, no buffer. (A client that connects and stays silent
     * must not hold what active requests need.) With serve_on_open the
     * watch is on writability, which fires at once, and the task starts
     * as soon as a slot is free. */
    short events = s->cfg.serve_on_open ? POLLOUT : POLLIN;
    uint64_t deadline = tardy_now() + (uint64_t)s->cfg.first_byte_timeout_ms * 1000000u;
    if (conn_wait(c, events, deadline) != 0)
        conn_close(c);
}
