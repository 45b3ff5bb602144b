/* The TCP server: its configuration and defaults, creating and
 * destroying it, the error message of a failed create, one worker per
 * runtime (set up, torn down), and graceful shutdown on SIGINT/SIGTERM
 * (the sentinel that drains a worker). Listening and accepting are in
 * listen.c, a connection's life in conn_life.c. */
#include "conn_life.h"
#include "deadline.h"
#include "listen.h"
#include "stream.h"

#include <errno.h>
#include <fcntl.h>
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

/* ---- creating ------------------------------------------------------------- */

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
    /* Every open connection may be served at once unless the program says
     * otherwise: a task's stack and a connection's buffers are address
     * space, committed only as they are touched, so a lower default would
     * only let slow uploads or slow readers starve the other clients of
     * tasks while connections are still to spare. */
    if (c->active_limit == 0 || c->active_limit > c->conn_limit)
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
    s->stream_ops = &zzz_plain_ops;
#ifdef ZZZ_HAVE_TLS
    if (config->tls) {
        int terr = zzz_tls_ctx_create(&s->tls, config->tls);
        if (terr) {
            free(s);
            return terr;
        }
        s->stream_ops = &zzz_tls_ops;
    }
#endif
    atomic_init(&s->stopping, false);
    atomic_init(&s->open_total, 0);
    atomic_init(&s->start_error, 0);
    int err = zzz_listen_open(s);
    if (err == 0 && pipe2(s->stop_pipe, O_CLOEXEC | O_NONBLOCK) != 0)
        err = -errno;
    if (err) {
        if (!last_error[0])
            zzz_set_error("%s: %s", s->cfg.unix_path ? s->cfg.unix_path : "listen", strerror(-err));
        s->listen_count = s->listen_fds ? s->listen_count : 0;
        s->cfg.on_destroy = NULL; /* the caller keeps its user pointer */
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
#ifdef ZZZ_HAVE_TLS
    if (s->tls)
        zzz_tls_ctx_destroy(s->tls);
#endif
    free(s->listen_fds);
    void (*on_destroy)(void *) = s->cfg.on_destroy;
    void *user = s->cfg.user;
    free(s);
    if (on_destroy)
        on_destroy(user);
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

int zzz_server_stop_fd(const zzz_server *s)
{
    return s->stop_pipe[0];
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

#ifdef ZZZ_HAVE_TLS
/* Gives back the TLS buffer pages of connections idle since idle_before. */
static void worker_trim_idle(zzz_worker *w, uint64_t idle_before)
{
    for (unsigned i = 0; i < w->conns_used; i++) {
        zzz_conn *c = &w->conns[i];
        if (c->state == CONN_WAITING)
            zzz_stream_trim(c, idle_before);
    }
}
#endif

/* Before the drain timeout, the time between cancelling the tasks still
 * serving and stopping the runtimes under those that ignore it (at most
 * a quarter of the drain timeout). */
#define DRAIN_CUT_GRACE_NS (100 * 1000000ull)

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
    /* Idle connections close now: their watches fire with -ECANCELED.
     * Tasks that only wait for their client on a stream without end (an
     * event stream) are cancelled too, so that they finish now rather
     * than at the drain timeout. */
    for (unsigned i = 0; i < w->conns_used; i++) {
        zzz_conn *c = &w->conns[i];
        if (c->state == CONN_WAITING || c->state == CONN_LINGERING)
            zzz_conn_wait_cancel(c);
        else if (c->state == CONN_ACTIVE && c->cancel_on_drain && c->task.id)
            tardy_cancel(c->task);
    }
    /* Connections being served finish their request (HTTP answers with
     * Connection: close) until shortly before the drain timeout; then
     * their tasks are cancelled (their waits fail with -ECANCELED). The
     * last connection to close wakes this task (drain_sleeper), so an
     * idle server stops at once. */
    uint64_t drain_ns = (uint64_t)s->cfg.drain_timeout_ms * 1000000u;
    uint64_t grace_ns = drain_ns / 4 < DRAIN_CUT_GRACE_NS ? drain_ns / 4 : DRAIN_CUT_GRACE_NS;
    uint64_t start = tardy_now();
    uint64_t cut_at = start + drain_ns - grace_ns, stop_at = start + drain_ns;
    w->drain_sleeper = tardy_self();
    while (w->open > 0 && tardy_now() < cut_at)
        tardy_sleep(cut_at - tardy_now());
    for (unsigned i = 0; i < w->conns_used && w->open > 0; i++) {
        zzz_conn *c = &w->conns[i];
        if (c->state == CONN_ACTIVE && c->task.id)
            tardy_cancel(c->task);
        else if (c->state == CONN_WAITING || c->state == CONN_LINGERING)
            zzz_conn_wait_cancel(c);
    }
    /* A handler that ignores the cancel (it loops on, sleeping or
     * yielding) must not keep the process alive past the drain timeout:
     * the runtimes stop, its task is never resumed, and the connections
     * it held are closed as the server tears down (worker_fini). */
    while (w->open > 0 && tardy_now() < stop_at)
        tardy_sleep(stop_at - tardy_now());
    w->drain_sleeper = (tardy_task){0};
    if (w->open > 0)
        tardy_stop();
}

static int worker_init(zzz_worker *w)
{
    zzz_server *s = w->server;
    /* calloc of this size maps zero pages; records are set up on first use
     * (zzz_conn_accepted), so an unused capacity costs no resident memory. */
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
    /* Write buffers: one per task serving, and one per waiting
     * connection whose response's end is still being sent (at most
     * active_limit of them, conn_flush_ahead), or a small one for an end
     * that fits. */
    if (err == 0)
        err = zzz_pool_init(&w->out_pool, s->cfg.write_buffer_size,
                            2 * s->cfg.active_limit + 1 + s->cfg.busy_tasks);
    if (err == 0)
        err = zzz_pool_init(&w->fly_pool, ZZZ_FLY_BUFFER, s->cfg.active_limit);
#ifdef ZZZ_HAVE_TLS
    /* TLS state lives as long as its connection, idle or not. */
    if (err == 0 && s->tls)
        err = zzz_pool_init(&w->tls_pool, zzz_tls_state_size(s->tls), s->cfg.conn_limit);
#endif
    if (err == 0 && s->cfg.on_thread_start) {
        err = s->cfg.on_thread_start(s->cfg.user, &w->thread_data);
        w->thread_started = err == 0;
    }
    return err;
}

static void worker_fini(zzz_worker *w)
{
    zzz_server *s = w->server;
    if (w->conns) {
        for (unsigned i = 0; i < w->conns_used; i++)
            if (w->conns[i].state != CONN_FREE && w->conns[i].fd >= 0) {
                zzz_conn *c = &w->conns[i];
                if (c->on_close) {
                    void (*fn)(zzz_conn *, void *) = c->on_close;
                    c->on_close = NULL;
                    fn(c, c->on_close_user);
                }
                zzz_stream_close(&w->conns[i], false);
                close(w->conns[i].fd);
            }
    }
    if (w->thread_started && s->cfg.on_thread_stop)
        s->cfg.on_thread_stop(s->cfg.user, w->thread_data);
    w->thread_started = false;
    w->thread_data = NULL;
    zzz_pool_fini(&w->in_pool);
    zzz_pool_fini(&w->small_pool);
    zzz_pool_fini(&w->out_pool);
    zzz_pool_fini(&w->fly_pool);
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
    zzz_stream_sigpipe_held(s->sigpipe_held);
    int err = worker_init(w);
    if (err) {
        /* zzz_server_run returns the first such error. */
        int none = 0;
        atomic_compare_exchange_strong(&s->start_error, &none, err);
        fprintf(stderr, "zzz: thread %u cannot start: %s\n", index, strerror(-err));
        zzz_server_stop(s);
        return;
    }
    tardy_task sentinel;
    if (tardy_spawn(worker_sentinel, w, &sentinel) != 0 ||
        tardy_spawn(zzz_listen_acceptor, w, &w->acceptor) != 0) {
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
        /* Receive-ahead buffers no larger than a read buffer, so one
         * take empties one (a larger one would stay half read). */
        .recv_buffer_size = s->cfg.read_buffer_size < 2048 ? (unsigned)s->cfg.read_buffer_size : 2048,
        /* No more of them than connections served at once (0: tardy's
         * default, 64): a small server does not touch buffers it cannot
         * use at once (past them, a connection reads its socket itself
         * when it is served). */
        .recv_buffers = s->cfg.active_limit < 64 ? s->cfg.active_limit : 0,
    };
    /* Blocked before the runtimes start, so that their threads and every
     * task's context inherit it. */
    s->sigpipe_held = zzz_stream_hold_sigpipe();
    int err = tardy_run(&tc, worker_entry, s);
    zzz_stream_release_sigpipe(s->sigpipe_held);
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
    if (err == 0)
        err = atomic_load(&s->start_error);
    return err;
}
