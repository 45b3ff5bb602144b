/* The HTTP/1.1 connection loop: read and parse request heads, route, run
 * the handler, finish what it left, and either go on with pipelined
 * requests, hand the connection back to wait idle, or close it. */
#include "http.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

static int http_thread_init(zzz_worker *w, void *user)
{
    const http_config *cfg = user;
    http_thread *t = calloc(1, sizeof *t);
    if (!t)
        return -ENOMEM;
    int err = zzz_pool_init(&t->body_pool, cfg->max_body, cfg->body_buffers);
    if (err) {
        free(t);
        return err;
    }
    w->proto = t;
    return 0;
}

static void http_thread_fini(zzz_worker *w, void *user)
{
    (void)user;
    http_thread *t = w->proto;
    if (!t)
        return;
    zzz_pool_fini(&t->body_pool);
    free(t);
    w->proto = NULL;
}

/* Over the connection limit: a short 503 in one non-blocking send. */
static void http_on_refuse(int fd, void *user)
{
    (void)user;
    static const char reply[] = "HTTP/1.1 503 Service Unavailable\r\n"
                                "Content-Type: text/plain; charset=utf-8\r\n"
                                "Content-Length: 20\r\nConnection: close\r\n\r\n"
                                "Service Unavailable\n";
    ssize_t n = send(fd, reply, sizeof reply - 1, MSG_DONTWAIT | MSG_NOSIGNAL);
    (void)n;
}

static bool method_is(zzz_str m, const char *name)
{
    size_t n = strlen(name);
    return m.len == n && memcmp(m.ptr, name, n) == 0;
}

/* Reads until a whole head is in the buffer. Returns its length, a
 * negative status to answer, 0 when the connection should just close
 * (end of stream, or idle after pipelined requests: *idle set). */
static int http_read_head(zzz_conn *conn, const http_config *cfg, http_head *head, bool served,
                          bool *idle)
{
    zzz_buf *in = &conn->in;
    bool deadline_set = false;
    *idle = false;
    for (;;) {
        if (in->len > 0) {
            int r = http_parse_head(in->data, in->len, &cfg->limits, head);
            if (r != 0) {
                zzz_conn_set_deadline(conn, 0);
                return r;
            }
        } else if (served) {
            *idle = true; /* everything that arrived has been answered */
            return 0;
        }
        if (in->len >= cfg->limits.max_head_bytes || in->len >= in->cap)
            return -431;
        /* Pipelined responses go out before we wait for more input. */
        if (conn->out.len > 0 && zzz_conn_flush(conn) != 0)
            return 0;
        if (!deadline_set) {
            zzz_conn_set_deadline(conn, tardy_now() + (uint64_t)cfg->header_timeout_ms * 1000000u);
            deadline_set = true;
        }
        ssize_t n = zzz_conn_fill(conn);
        if (n > 0)
            continue;
        zzz_conn_set_deadline(conn, 0);
        if (n == -ETIMEDOUT)
            return in->len > 0 || !served ? -408 : 0;
        return 0;
    }
}

/* Fills req->path with the percent-decoded path (the raw one when it has
 * no escapes). Returns false for a malformed escape or a decoded NUL. */
static bool http_decode_path(zzz_req *req)
{
    zzz_str raw = req->head.path;
    if (!memchr(raw.ptr, '%', raw.len)) {
        req->path = raw;
        return true;
    }
    char *dst = zzz_conn_arena(req->conn, raw.len + 1);
    if (!dst)
        return false;
    ssize_t n = http_percent_decode(raw, dst, false);
    if (n < 0)
        return false;
    req->path = (zzz_str){dst, (size_t)n};
    return true;
}

static void http_dispatch(zzz_req *req, zzz_res *res, const http_config *cfg)
{
    router_match *m = &req->match;
    router_match_path(cfg->router, req->head.method, req->path, m);
    if (m->status == 200 && m->handler) {
        m->handler(req, res, m->user);
        return;
    }
    if (m->status == 405) {
        zzz_res_header(res, "Allow", m->allow);
        zzz_res_text(res, 405, "Method Not Allowed\n");
        return;
    }
    if (m->handler) {
        zzz_res_status(res, 404);
        m->handler(req, res, m->user);
        return;
    }
    zzz_res_text(res, 404, "Not Found\n");
}

static zzz_next http_on_conn(zzz_conn *conn, void *user)
{
    const http_config *cfg = user;
    http_thread *t = http_thread_of(conn);
    zzz_buf *in = zzz_conn_buf(conn);
    if (!in->data || !zzz_conn_outbuf(conn)->data) {
        /* Pools exhausted (many connections kept pipelined bytes). */
        static const char reply[] = "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n"
                                    "Connection: close\r\n\r\n";
        zzz_conn_write(conn, reply, sizeof reply - 1);
        return ZZZ_CLOSE;
    }
    bool served = false;
    for (;;) {
        zzz_conn_arena_reset(conn);
        http_head head;
        memset(&head, 0, sizeof head);
        head.headers = (zzz_header *)zzz_conn_arena(conn, cfg->limits.max_headers * sizeof(zzz_header));
        if (!head.headers) {
            http_send_error(conn, t, 500);
            return ZZZ_CLOSE;
        }
        bool idle;
        int r = http_read_head(conn, cfg, &head, served, &idle);
        if (r == 0) {
            if (idle && !zzz_conn_closing(conn)) {
                zzz_conn_arena_reset(conn);
                /* With io_uring the flush parks until the ring sends it:
                 * the next connection can use the receive buffer meanwhile. */
                zzz_conn_release_input(conn);
                return zzz_conn_flush(conn) == 0 ? ZZZ_WAIT : ZZZ_CLOSE;
            }
            zzz_conn_flush(conn);
            return ZZZ_CLOSE;
        }
        if (r < 0) {
            http_send_error(conn, t, -r);
            return ZZZ_CLOSE;
        }
        if (head.body == HTTP_BODY_LENGTH && head.content_length > cfg->max_body) {
            http_send_error(conn, t, 413);
            return ZZZ_CLOSE;
        }

        zzz_req req;
        zzz_res res;
        http_req_init(&req, conn, cfg);
        req.head = head;
        if (!http_decode_path(&req)) {
            http_send_error(conn, t, 400);
            return ZZZ_CLOSE;
        }
        http_res_init(&res, conn, &req);
        res.close = !head.keep_alive || zzz_conn_closing(conn);
        res.head_only = method_is(head.method, "HEAD");

        http_dispatch(&req, &res, cfg);

        if (!res.head_sent && req.body_state == BODY_ERROR) {
            /* The handler gave up on a bad or oversized body. */
            int status = req.body_err == -E2BIG       ? 413
                         : req.body_err == -ETIMEDOUT ? 408
                         : req.body_err == -ENOBUFS   ? 503
                                                      : 400;
            res.headers_len = 0;
            res.close = true;
            zzz_res_text(&res, status, zzz_status_reason(status));
            zzz_conn_linger(conn);
        }
        int finished = http_res_finish(&res);
        int drained = http_req_discard_body(&req);
        http_req_release(&req);
        zzz_conn_consume(conn, head.head_len);
        served = true;
        if (finished < 0 || drained < 0 || res.close) {
            if (drained < 0)
                zzz_conn_linger(conn); /* the rest of the body is still coming */
            zzz_conn_flush(conn);
            return ZZZ_CLOSE;
        }
    }
}

static void http_config_free(void *p)
{
    free(p);
}

int zzz_http_server_create(zzz_server **out, const zzz_http_config *config)
{
    if (!out || !config || !config->router) {
        zzz_set_error("http: a router is required");
        return -EINVAL;
    }
    http_config *cfg = calloc(1, sizeof *cfg);
    if (!cfg)
        return -ENOMEM;
    zzz_server_config sc = config->server;
    if (sc.read_buffer_size == 0)
        sc.read_buffer_size = ZZZ_DEFAULT_BUFFER;
    cfg->router = config->router;
    cfg->limits.max_target = config->max_target ? config->max_target : ZZZ_HTTP_DEFAULT_MAX_TARGET;
    cfg->limits.max_head_bytes =
        config->max_header_bytes ? config->max_header_bytes : ZZZ_HTTP_DEFAULT_MAX_HEADER_BYTES;
    /* The head must fit the receive buffer with room left for the start of
     * a chunked body. */
    size_t head_room = sc.read_buffer_size > 1024 ? sc.read_buffer_size - 512 : sc.read_buffer_size;
    if (cfg->limits.max_head_bytes > head_room)
        cfg->limits.max_head_bytes = head_room;
    cfg->limits.max_headers = config->max_headers ? config->max_headers : ZZZ_HTTP_DEFAULT_MAX_HEADERS;
    cfg->max_body = config->max_body ? config->max_body : ZZZ_HTTP_DEFAULT_MAX_BODY;
    cfg->header_timeout_ms = config->header_timeout_ms ? config->header_timeout_ms : ZZZ_HTTP_DEFAULT_HEADER_MS;
    cfg->body_timeout_ms = config->body_timeout_ms ? config->body_timeout_ms : ZZZ_HTTP_DEFAULT_BODY_MS;
    cfg->body_buffers = config->body_buffers ? config->body_buffers : ZZZ_HTTP_DEFAULT_BODY_BUFFERS;
    /* The header array lives in the write buffer's arena. */
    size_t wbuf = sc.write_buffer_size ? sc.write_buffer_size : ZZZ_DEFAULT_BUFFER;
    if (cfg->limits.max_headers * sizeof(zzz_header) > wbuf / 2) {
        zzz_set_error("http: max_headers %u needs more than half the write buffer (%zu bytes)",
                      cfg->limits.max_headers, wbuf);
        free(cfg);
        return -EINVAL;
    }
    /* A client that connects and says nothing gets the header timeout. */
    if (sc.first_byte_timeout_ms == 0)
        sc.first_byte_timeout_ms = cfg->header_timeout_ms;
    sc.serve_on_open = false;
    sc.on_conn = http_on_conn;
    sc.on_refuse = http_on_refuse;
    sc.user = cfg;
    zzz_server *s;
    int err = zzz_server_create(&s, &sc);
    if (err) {
        free(cfg);
        return err;
    }
    s->hooks.thread_init = http_thread_init;
    s->hooks.thread_fini = http_thread_fini;
    s->proto_owned = cfg;
    s->proto_free = http_config_free;
    *out = s;
    return 0;
}
