/* The TCP server: listening sockets (one SO_REUSEPORT socket per thread),
 * a worker per runtime that accepts and enforces the connection limit,
 * the life of a connection between serving tasks and idle watches, and
 * graceful shutdown on SIGINT/SIGTERM. */
#include "deadline.h"
#include "stream.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- errors ------------------------------------------------------------------ */

static _Thread_local char last_error[512];

void zzz_set_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_error, sizeof last_error, fmt, ap);
    va_end(ap);
}

const char *zzz_last_error(void)
{
    return last_error;
}

/* ---- listening ------------------------------------------------------------ */

static int listen_tcp(const zzz_server_config *cfg, uint16_t port, uint16_t *bound)
{
    zzz_sockaddr addr;
    socklen_t len;
    memset(&addr, 0, sizeof addr);
    const char *host = cfg->host ? cfg->host : "127.0.0.1";
    if (inet_pton(AF_INET, host, &addr.in.sin_addr) == 1) {
        addr.in.sin_family = AF_INET;
        addr.in.sin_port = htons(port);
        len = sizeof addr.in;
    } else if (inet_pton(AF_INET6, host, &addr.in6.sin6_addr) == 1) {
        addr.in6.sin6_family = AF_INET6;
        addr.in6.sin6_port = htons(port);
        len = sizeof addr.in6;
    } else {
        return -EINVAL;
    }
    int fd = tardy_socket(addr.sa.sa_family, SOCK_STREAM, 0);
    if (fd < 0)
        return fd;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0 ||
        bind(fd, &addr.sa, len) != 0 || listen(fd, (int)cfg->backlog) != 0) {
        int err = -errno;
        close(fd);
        return err;
    }
    if (getsockname(fd, &addr.sa, &len) == 0)
        *bound = ntohs(addr.sa.sa_family == AF_INET ? addr.in.sin_port : addr.in6.sin6_port);
    return fd;
}

static int listen_unix(const zzz_server_config *cfg)
{
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    if (strlen(cfg->unix_path) >= sizeof addr.sun_path)
        return -ENAMETOOLONG;
    strcpy(addr.sun_path, cfg->unix_path);
    int fd = tardy_socket(AF_UNIX, SOCK_STREAM, 0);
    if (fd < 0)
        return fd;
    unlink(cfg->unix_path); /* a stale socket from an earlier run */
    if (bind(fd, (struct sockaddr *)&addr, sizeof addr) != 0 || listen(fd, (int)cfg->backlog) != 0) {
        int err = -errno;
        close(fd);
        return err;
    }
    return fd;
}

static unsigned online_cpus(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (unsigned)n : 1;
}

static void config_defaults(zzz_server_config *c)
{
    if (c->threads == 0)
        c->threads = online_cpus();
    if (c->conn_limit == 0)
        c->conn_limit = ZZZ_DEFAULT_CONN_LIMIT;
    if (c->active_limit == 0)
        c->active_limit = c->conn_limit < ZZZ_DEFAULT_ACTIVE_LIMIT ? c->conn_limit : ZZZ_DEFAULT_ACTIVE_LIMIT;
    if (c->active_limit > c->conn_limit)
        c->active_limit = c->conn_limit;
    /* A small server keeps a small reserve: in a burst every reserve task
     * may be started at once, each touching a stack and buffers. */
    if (!c->on_busy)
        c->busy_tasks = 0;
    else if (c->busy_tasks == 0)
        c->busy_tasks = c->active_limit < ZZZ_DEFAULT_BUSY_TASKS ? c->active_limit
                                                                 : ZZZ_DEFAULT_BUSY_TASKS;
    if (c->backlog == 0)
        c->backlog = ZZZ_DEFAULT_BACKLOG;
    if (c->read_buffer_size == 0)
        c->read_buffer_size = ZZZ_DEFAULT_BUFFER;
    if (c->write_buffer_size == 0)
        c->write_buffer_size = ZZZ_DEFAULT_BUFFER;
    if (c->stack_size == 0)
        c->stack_size = ZZZ_DEFAULT_STACK;
    if (c->idle_timeout_ms == 0)
        c->idle_timeout_ms = ZZZ_DEFAULT_IDLE_MS;
    if (c->first_byte_timeout_ms == 0)
        c->first_byte_timeout_ms = c->idle_timeout_ms;
    if (c->read_timeout_ms == 0)
        c->read_timeout_ms = ZZZ_DEFAULT_IO_MS;
    if (c->write_timeout_ms == 0)
        c->write_timeout_ms = ZZZ_DEFAULT_IO_MS;
    if (c->drain_timeout_ms == 0)
        c->drain_timeout_ms = ZZZ_DEFAULT_DRAIN_MS;
    if (c->linger_timeout_ms == 0)
        c->linger_timeout_ms = ZZZ_DEFAULT_LINGER_MS;
}

int zzz_server_create(zzz_server **out, const zzz_server_config *config)
{
    last_error[0] = '\0';
    if (!out || !config || !config->on_conn) {
        zzz_set_error("on_conn is required");
        return -EINVAL;
    }
    if (config->threads > 4096) {
        zzz_set_error("threads: %u is more than 4096", config->threads);
        return -EINVAL;
    }
#ifndef ZZZ_HAVE_TLS
    if (config->tls) {
        zzz_set_error("tls: this libzzz was built without TLS (BearSSL)");
        return -ENOTSUP;
    }
#endif
    zzz_server *s = calloc(1, sizeof *s);
    if (!s)
        return -ENOMEM;
    s->cfg = *config;
    s->cfg.tls = NULL; /* the caller's block is not kept: s->tls holds what it said */
    config_defaults(&s->cfg);
    s->stop_pipe[0] = s->stop_pipe[1] = -1;
#ifdef ZZZ_HAVE_TLS
    if (config->tls) {
        int terr = zzz_tls_ctx_create(&s->tls, config->tls);
        if (terr) {
            free(s);
            return terr;
        }
    }
#endif
    atomic_init(&s->stopping, false);
    atomic_init(&s->open_total, 0);
    /* Unix sockets cannot share a port: all threads accept on one. */
    s->listen_count = s->cfg.unix_path ? 1 : s->cfg.threads;
    s->listen_fds = calloc(s->listen_count, sizeof *s->listen_fds);
    int err = s->listen_fds ? 0 : -ENOMEM;
    for (unsigned i = 0; s->listen_fds && i < s->listen_count; i++)
        s->listen_fds[i] = -1; /* destroy closes only what was opened */
    for (unsigned i = 0; i < s->listen_count && err == 0; i++) {
        int fd = s->cfg.unix_path ? listen_unix(&s->cfg) : listen_tcp(&s->cfg, i ? s->port : s->cfg.port, &s->port);
        if (fd < 0)
            err = fd;
        else
            s->listen_fds[i] = fd;
    }
    if (err == 0 && pipe2(s->stop_pipe, O_CLOEXEC | O_NONBLOCK) != 0)
        err = -errno;
    if (err) {
        if (!last_error[0])
            zzz_set_error("%s: %s", s->cfg.unix_path ? s->cfg.unix_path : "listen", strerror(-err));
        s->listen_count = s->listen_fds ? s->listen_count : 0;
        zzz_server_destroy(s);
        return err;
    }
    *out = s;
    return 0;
}

uint16_t zzz_server_port(const zzz_server *server)
{
    return server->port;
}

unsigned zzz_server_threads(const zzz_server *server)
{
    return server->cfg.threads;
}

unsigned zzz_server_open_conns(const zzz_server *server)
{
    return atomic_load(&server->open_total);
}

void zzz_server_memory_info(const zzz_server *s, zzz_server_memory *out)
{
    memset(out, 0, sizeof *out);
    out->conn_record = sizeof(zzz_conn);
    out->read_buffer = s->cfg.read_buffer_size;
    out->small_buffer = s->cfg.read_buffer_size < ZZZ_SMALL_BUFFER ? s->cfg.read_buffer_size
                                                                   : ZZZ_SMALL_BUFFER;
    out->write_buffer = s->cfg.write_buffer_size;
    out->stack = s->cfg.stack_size;
#ifdef ZZZ_HAVE_TLS
    if (s->tls) {
        out->tls_state = zzz_tls_state_size(s->tls);
        out->tls_session_cache = zzz_tls_cache_size(s->tls);
    }
#endif
}

void zzz_server_destroy(zzz_server *s)
{
    if (!s)
        return;
    for (unsigned i = 0; s->listen_fds && i < s->listen_count; i++)
        if (s->listen_fds[i] >= 0)
            close(s->listen_fds[i]);
    if (s->cfg.unix_path && s->listen_fds && s->listen_fds[0] >= 0)
        unlink(s->cfg.unix_path);
    if (s->stop_pipe[0] >= 0)
        close(s->stop_pipe[0]);
    if (s->stop_pipe[1] >= 0)
        close(s->stop_pipe[1]);
    if (s->proto_free)
        s->proto_free(s->proto_owned);
#ifdef ZZZ_HAVE_TLS
    if (s->tls)
        zzz_tls_ctx_destroy(s->tls);
#endif
    free(s->listen_fds);
    free(s);
}

/* ---- stopping ---------------------------------------------------------------- */

#define ZZZ_SIGNAL_SLOTS 16
static _Atomic(zzz_server *) signal_servers[ZZZ_SIGNAL_SLOTS];

void zzz_server_stop(zzz_server *s)
{
    if (atomic_exchange(&s->stopping, true))
        return;
    /* The pipe is never drained: every runtime's watcher sees it readable. */
    char byte = 1;
    ssize_t w = write(s->stop_pipe[1], &byte, 1);
    (void)w;
}

static void on_stop_signal(int sig)
{
    (void)sig;
    int saved = errno;
    for (unsigned i = 0; i < ZZZ_SIGNAL_SLOTS; i++) {
        zzz_server *s = atomic_load(&signal_servers[i]);
        if (s)
            zzz_server_stop(s);
    }
    errno = saved;
}

/* ---- connections ------------------------------------------------------------- */

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

/* Closes the socket; with `reset`, as a reset (RST) the peer cannot take
 * for the clean end of a stream. */
static void conn_close_as(zzz_conn *c, bool reset)
{
    zzz_worker *w = c->worker;
    conn_release_buffers(c, false);
    zzz_stream_close(c, !reset);
    if (c->stream) {
        /* Before the socket closes: the kernel lets go of the stream. */
        tardy_watch_stop(&c->watch);
        c->stream = false;
    }
    if (c->fd >= 0) {
        if (reset) {
            struct linger now = {.l_onoff = 1, .l_linger = 0};
            setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &now, sizeof now);
        }
        if (tardy_runtime_self())
            tardy_close(c->fd);
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
}

static void conn_close(zzz_conn *c)
{
    conn_close_as(c, false);
}

static void conn_serve(void *arg);

/* A lingering close (RFC 9112, 9.6): closing a socket with client bytes
 * unread makes the kernel reset the connection, and the reset can destroy
 * the end of our answer before the client reads it. So: send what is
 * pending, end our side (close_notify with TLS, then FIN), and read and
 * drop what the client still sends until it closes or linger_timeout_ms
 * passes. `always`: linger even when nothing is seen unread now (the
 * client may still be sending a body); otherwise only when bytes are left
 * in the buffer or have already arrived. */
static void conn_linger(zzz_conn *c, bool always)
{
    zzz_server *s = c->worker->server;
    if (zzz_conn_flush(c) != 0)
        return;
    bool unread = c->in.len > 0;
    zzz_stream_close(c, true);
    if (shutdown(c->fd, SHUT_WR) != 0)
        return;
    char scratch[4096];
    char *sink = c->in.data ? c->in.data : scratch;
    size_t sink_len = c->in.data ? c->in.cap : sizeof scratch;
    if (!always && !unread && zzz_plain_recv_now(c, sink, sink_len) <= 0)
        return; /* nothing more came: the client is done (or gone) */
    /* Its own time, whatever deadline the protocol left on the task. */
    uint64_t saved = zzz_deadline_push_exact(tardy_now() + (uint64_t)s->cfg.linger_timeout_ms * 1000000u);
    while (zzz_plain_recv(c, sink, sink_len) > 0) {
    }
    zzz_deadline_pop(saved);
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
        zzz_conn_flush(c);
        break;
    case ZZZ_CLOSE_LINGER:
    case ZZZ_CLOSE_AUTO:
        if (draining)
            zzz_conn_flush(c);
        else
            conn_linger(c, c->close_how == ZZZ_CLOSE_LINGER);
        break;
    }
    conn_close(c);
}

static void conn_woken(void *arg);

/* Waits, holding no task, until the connection has something to do: its
 * next bytes (events POLLIN), or other events (POLLOUT fires at once).
 * A plain connection's bytes are received as they arrive where the driver
 * can (io_uring), so serving it starts without a receive call. */
static int conn_wait(zzz_conn *c, short events, uint64_t deadline)
{
    c->state = CONN_WAITING;
    c->wait_deadline = deadline;
    c->ahead = events == POLLIN && !c->worker->server->tls;
    if (c->ahead) {
        /* The stream stays open between requests: on io_uring one
         * multishot receive serves the connection's whole life. */
        int err = tardy_watch_stream(&c->watch, c->fd, deadline, conn_woken, c);
        if (err == 0)
            c->stream = true;
        return err;
    }
    return tardy_watch_start(&c->watch, c->fd, events, deadline, conn_woken, c);
}

static void conn_woken(void *arg)
{
    zzz_conn *c = arg;
    int result = tardy_watch_result(&c->watch);
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
    zzz_buf *b = c->ahead ? zzz_conn_buf(c) : NULL;
    if (b && b->data && b->len < b->cap) {
        ssize_t n = tardy_watch_take(&c->watch, b->data + b->len, b->cap - b->len);
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
        zzz_conn_in_arrived(c);
        b->len += (size_t)n;
    }
    conn_serve(c);
}

/* Runs the protocol on a connection that has something to do. */
static void conn_serve(void *arg)
{
    zzz_conn *c = arg;
    zzz_worker *w = c->worker;
    zzz_server *s = w->server;
    bool expired = c->expired;
    c->state = CONN_ACTIVE;
    c->task = tardy_self();
    c->deadline = 0;
    c->wait_until = 0;
    c->expire_call = false;
    c->close_how = ZZZ_CLOSE_AUTO;
    w->active++;
    /* A new TLS connection shakes hands before the protocol sees it, one
     * step each time the client's bytes arrive, waiting between them like
     * an idle connection. A client usually sends its first request with
     * its last handshake flight; if it has not, the connection waits for
     * it like a new one (unless the server speaks first). */
    int opened = expired ? 0 : zzz_stream_open(c);
    uint64_t wait_deadline = 0;
    zzz_next next;
    if (opened == -EAGAIN) {
        next = ZZZ_WAIT;
        wait_deadline = zzz_stream_open_deadline(c);
    } else if (opened < 0) {
        next = ZZZ_CLOSE;
        c->close_how = ZZZ_CLOSE_NOW;
    } else if (opened == 1 && !s->cfg.serve_on_open && !zzz_stream_pending(c)) {
        next = ZZZ_WAIT;
        wait_deadline = tardy_now() + (uint64_t)s->cfg.first_byte_timeout_ms * 1000000u;
    } else if (w->active > s->cfg.active_limit && s->cfg.on_busy && !expired) {
        /* Every task is serving a handler: the protocol answers quickly
         * from a reserve task instead of leaving the client to hang. */
        next = s->cfg.on_busy(c, s->cfg.user);
    } else {
        c->expired = expired;
        next = s->cfg.on_conn(c, s->cfg.user);
    }
    c->expired = false;
    w->active--;
    c->task = (tardy_task){0};
    if (next != ZZZ_WAIT || w->draining || c->fd < 0) {
        conn_end(c);
        return;
    }
    /* Give back what a waiting connection does not need. Bytes of an
     * unfinished message stay, in a small buffer when they fit one. */
    if (c->out.data && c->out.len > 0 && zzz_conn_flush(c) != 0) {
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
    /* A decrypted TLS record the socket no longer shows: watch for
     * writability, which fires at once. (TLS never uses a receive stream.) */
    short events = zzz_stream_pending(c) ? (POLLIN | POLLOUT) : POLLIN;
    if (conn_wait(c, events, wait_deadline) != 0)
        conn_close(c);
}

static void worker_accept_one(zzz_worker *w, int fd, const zzz_sockaddr *peer, socklen_t peer_len)
{
    zzz_server *s = w->server;
    if (w->open >= s->cfg.conn_limit || w->draining) {
        /* A TLS client cannot read anything before a handshake. */
        if (s->cfg.on_refuse && !s->tls)
            s->cfg.on_refuse(fd, s->cfg.user);
        tardy_close(fd);
        return;
    }
    if (!s->cfg.unix_path) {
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
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
    c->data = NULL;
    c->tls = NULL;
    c->close_how = ZZZ_CLOSE_AUTO;
    c->in_small = false;
    c->expire_call = false;
    c->expired = false;
    c->in_since = 0;
    c->sent = 0;
    c->writing = false;
    c->wait_until = 0;
    c->arena_used = 0;
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

static void worker_acceptor(void *arg)
{
    zzz_worker *w = arg;
    while (!w->draining) {
        zzz_sockaddr peer;
        socklen_t peer_len = sizeof peer;
        int fd = tardy_accept(w->listen_fd, &peer.sa, &peer_len);
        if (fd >= 0) {
            worker_accept_one(w, fd, &peer, peer_len);
            continue;
        }
        if (fd == -ECANCELED || w->draining)
            break;
        if (fd == -EMFILE || fd == -ENFILE || fd == -ENOBUFS || fd == -ENOMEM) {
            /* Out of descriptors or memory: pause rather than spin. */
            tardy_sleep(10 * 1000000u);
        }
        /* ECONNABORTED and friends: the next connection may be fine. */
    }
}

#ifdef ZZZ_HAVE_TLS
/* Gives back the TLS buffer pages of connections idle since idle_before. */
static void worker_trim_idle(zzz_worker *w, uint64_t idle_before)
{
    for (unsigned i = 0; i < w->conns_used; i++) {
        zzz_conn *c = &w->conns[i];
        if (c->state == CONN_WAITING && c->tls)
            zzz_tls_trim(c, idle_before);
    }
}
#endif

/* Waits for the stop signal, then drains this worker. */
static void worker_sentinel(void *arg)
{
    zzz_worker *w = arg;
    zzz_server *s = w->server;
    for (;;) {
        uint64_t wake = 0;
#ifdef ZZZ_HAVE_TLS
        /* With TLS, it also wakes now and then to trim idle connections. */
        uint64_t trim_ns = s->tls ? zzz_tls_trim_ns(s->tls) : 0;
        if (trim_ns)
            wake = tardy_now() + trim_ns / 2;
#endif
        uint64_t saved = zzz_deadline_push(wake);
        int r = tardy_poll(s->stop_pipe[0], POLLIN);
        zzz_deadline_pop(saved);
        if (r > 0 || r == -EBADF)
            break;
#ifdef ZZZ_HAVE_TLS
        if (r == -ETIMEDOUT && trim_ns)
            worker_trim_idle(w, tardy_now() - trim_ns);
#endif
    }
    w->draining = true;
    tardy_cancel(w->acceptor);
    tardy_join(w->acceptor);
    /* Stop the kernel from completing new handshakes for us: clients that
     * connect now are refused at once instead of waiting for a reset. A
     * Unix socket shared by all threads is closed by the first one. */
    if (s->listen_count > 1 || w->index == 0) {
        unsigned slot = s->listen_count > 1 ? w->index : 0;
        int fd = s->listen_fds[slot];
        s->listen_fds[slot] = -1;
        if (fd >= 0)
            tardy_close(fd);
    }
    /* Idle connections close now: their watches fire with -ECANCELED. */
    for (unsigned i = 0; i < w->conns_used; i++) {
        zzz_conn *c = &w->conns[i];
        if (c->state == CONN_WAITING)
            tardy_watch_cancel(&c->watch);
    }
    /* Connections being served finish their request (HTTP answers with
     * Connection: close) until the drain timeout; then they are cut. */
    uint64_t give_up = tardy_now() + (uint64_t)s->cfg.drain_timeout_ms * 1000000u;
    while (w->open > 0 && tardy_now() < give_up)
        tardy_sleep(5 * 1000000u);
    for (unsigned i = 0; i < w->conns_used && w->open > 0; i++) {
        zzz_conn *c = &w->conns[i];
        if (c->state == CONN_ACTIVE && c->task.id)
            tardy_cancel(c->task);
        else if (c->state == CONN_WAITING)
            tardy_watch_cancel(&c->watch);
    }
}

static int worker_init(zzz_worker *w)
{
    zzz_server *s = w->server;
    /* calloc of this size maps zero pages; records are set up on first use
     * (conn_take), so an unused capacity costs no resident memory. */
    w->conns = calloc(s->cfg.conn_limit, sizeof *w->conns);
    if (!w->conns)
        return -ENOMEM;
    w->conns_used = 0;
    /* Every open connection may hold a receive buffer (a waiting one, for
     * an unfinished message too big for a small one), so the pool never
     * runs dry; it is address space, and only touched pages cost memory.
     * Small buffers hold the unfinished messages of waiting connections
     * (slow clients), so a thousand of them cost a few pages. */
    int err = zzz_pool_init(&w->in_pool, s->cfg.read_buffer_size, s->cfg.conn_limit + 1);
    size_t small = s->cfg.read_buffer_size < ZZZ_SMALL_BUFFER ? s->cfg.read_buffer_size
                                                              : ZZZ_SMALL_BUFFER;
    if (err == 0)
        err = zzz_pool_init(&w->small_pool, small, s->cfg.conn_limit);
    if (err == 0)
        err = zzz_pool_init(&w->out_pool, s->cfg.write_buffer_size,
                            s->cfg.active_limit + 1 + s->cfg.busy_tasks);
#ifdef ZZZ_HAVE_TLS
    /* TLS state lives as long as its connection, idle or not. */
    if (err == 0 && s->tls)
        err = zzz_pool_init(&w->tls_pool, zzz_tls_state_size(s->tls), s->cfg.conn_limit);
#endif
    if (err == 0 && s->hooks.thread_init)
        err = s->hooks.thread_init(w, s->cfg.user);
    return err;
}

static void worker_fini(zzz_worker *w)
{
    zzz_server *s = w->server;
    if (w->conns) {
        for (unsigned i = 0; i < w->conns_used; i++)
            if (w->conns[i].state != CONN_FREE && w->conns[i].fd >= 0) {
                zzz_stream_close(&w->conns[i], false);
                close(w->conns[i].fd);
            }
    }
    if (s->hooks.thread_fini)
        s->hooks.thread_fini(w, s->cfg.user);
    zzz_pool_fini(&w->in_pool);
    zzz_pool_fini(&w->small_pool);
    zzz_pool_fini(&w->out_pool);
    zzz_pool_fini(&w->tls_pool);
    free(w->conns);
    w->conns = NULL;
}

/* The first task of every runtime: set up this thread's worker and start
 * its acceptor and its shutdown sentinel. */
static void worker_entry(void *arg)
{
    zzz_server *s = arg;
    unsigned index = tardy_runtime_index(tardy_runtime_self());
    zzz_worker *w = &s->workers[index];
    w->server = s;
    w->index = index;
    w->listen_fd = s->listen_fds[s->listen_count == 1 ? 0 : index];
    int err = worker_init(w);
    if (err) {
        fprintf(stderr, "zzz: thread %u cannot start: %s\n", index, strerror(-err));
        zzz_server_stop(s);
        return;
    }
    tardy_task sentinel;
    if (tardy_spawn(worker_sentinel, w, &sentinel) != 0 ||
        tardy_spawn(worker_acceptor, w, &w->acceptor) != 0) {
        zzz_server_stop(s);
        return;
    }
    if (index == 0 && s->cfg.on_start)
        s->cfg.on_start(s, tardy_driver_name(), s->cfg.start_arg);
}

int zzz_server_run(zzz_server *s)
{
    s->workers = calloc(s->cfg.threads, sizeof *s->workers);
    if (!s->workers)
        return -ENOMEM;
    struct sigaction old_int, old_term;
    int slot = -1;
    if (!s->cfg.no_signal_handlers) {
        for (unsigned i = 0; i < ZZZ_SIGNAL_SLOTS && slot < 0; i++) {
            zzz_server *expected = NULL;
            if (atomic_compare_exchange_strong(&signal_servers[i], &expected, s))
                slot = (int)i;
        }
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_stop_signal;
        sigemptyset(&sa.sa_mask);
        sa.sa_flags = SA_RESTART;
        sigaction(SIGINT, &sa, &old_int);
        sigaction(SIGTERM, &sa, &old_term);
    }
    /* Tasks: one per active connection, plus the acceptor and sentinel;
     * the buffer pools have at least as many buffers as there are
     * connection tasks, so a served connection always gets its buffers. */
    tardy_config tc = {
        .threads = s->cfg.threads,
        .max_tasks = s->cfg.active_limit + 2 + s->cfg.busy_tasks,
        /* Every open connection may wait with an idle deadline. */
        .max_watches = s->cfg.conn_limit,
        .stack_size = s->cfg.stack_size,
        .driver = s->cfg.driver,
        /* A watch's bytes must fit the receive buffer they are taken into. */
        .recv_buffer_size = s->cfg.read_buffer_size < 2048 ? (unsigned)s->cfg.read_buffer_size : 2048,
    };
    int err = tardy_run(&tc, worker_entry, s);
    for (unsigned i = 0; i < s->cfg.threads; i++)
        if (s->workers[i].server)
            worker_fini(&s->workers[i]);
    if (!s->cfg.no_signal_handlers) {
        sigaction(SIGINT, &old_int, NULL);
        sigaction(SIGTERM, &old_term, NULL);
        if (slot >= 0)
            atomic_store(&signal_servers[slot], NULL);
    }
    free(s->workers);
    s->workers = NULL;
    return err;
}
