/* The HTTP/1.1 connection loop: read and parse request heads, route, run
 * the handler, finish what it left, and either go on with pipelined
 * requests, hand the connection back to wait idle, or close it. */
#include "http.h"
#include "last_error.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

static int http_thread_start(void *user, void **thread_data)
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
    *thread_data = t;
    return 0;
}

static void http_thread_stop(void *user, void *thread_data)
{
    (void)user;
    http_thread *t = thread_data;
    for (http_local *l = t->locals, *next; l; l = next) {
        next = l->next;
        l->free_fn(l->ptr);
        free(l);
    }
    zzz_http_blocks_free(t);
    zzz_pool_fini(&t->body_pool);
    free(t);
}

void *zzz_http_thread_local(zzz_conn *conn, const void *key, void *(*make)(const void *key),
                            void (*free_fn)(void *ptr))
{
    http_thread *t = http_thread_of(conn);
    for (http_local *l = t->locals; l; l = l->next)
        if (l->key == key)
            return l->ptr;
    void *ptr = make(key);
    if (!ptr)
        return NULL;
    http_local *l = malloc(sizeof *l);
    if (!l) {
        free_fn(ptr);
        return NULL;
    }
    *l = (http_local){.next = t->locals, .key = key, .ptr = ptr, .free_fn = free_fn};
    t->locals = l;
    return ptr;
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

/* Every task is serving a handler (slow uploads, say): a request that
 * arrives now is answered at once with 503 and a hint to come back, from
 * one of the server's reserve tasks, rather than left waiting for a task. */
static zzz_conn_next http_on_busy(zzz_conn *conn, void *user)
{
    const http_config *cfg = user;
    zzz_conn_set_deadline(conn, tardy_now() + 1000000000u);
    zzz_http_error_early(conn, cfg, 503, "server too busy", "Retry-After: 1\r\n", ZZZ_CLOSE_NOW);
    /* What the client sent is dropped, as much as has arrived, so the
     * close does not turn into a reset over unread bytes; but the reserve
     * task does not linger for more: under overload it must be free for
     * the next refusal. */
    zzz_buf *in = zzz_conn_buf(conn);
    for (int reads = 0; reads < 8; reads++) {
        zzz_conn_consume(conn, in->len);
        if (zzz_conn_fill_now(conn) <= 0)
            break;
    }
    zzz_conn_consume(conn, in->len);
    zzz_conn_close_mode(conn, ZZZ_CLOSE_NOW);
    return ZZZ_CLOSE;
}

static bool method_is(zzz_str m, const char *name)
{
    size_t n = strlen(name);
    return m.len == n && memcmp(m.ptr, name, n) == 0;
}

/* What reading a head came to. */
enum { HEAD_WAIT = 0, HEAD_CLOSE = -1 };

/* Looks for a whole head in what has arrived (plus what more has arrived
 * without waiting). Returns its length (> 0); a negative status to answer
 * (-400, -408, -431 ...); HEAD_WAIT when the connection should wait,
 * holding no task, for the rest of the head (zzz_conn_wait_until set) or
 * for its next request (nothing unanswered); HEAD_CLOSE when the client
 * has gone. */
static int http_read_head(zzz_conn *conn, const http_config *cfg, http_head *head, bool served)
{
    zzz_buf *in = zzz_conn_buf(conn);
    bool read_now = false;
    for (;;) {
        if (in->len > 0) {
            int r = zzz_http_parse_head(in->data, in->len, &cfg->limits, head);
            if (r != 0)
                return r;
            if (in->len >= cfg->limits.max_head_bytes || in->len >= in->cap)
                return -431;
        }
        if (in->len == 0 && served)
            return HEAD_WAIT; /* everything that arrived has been answered */
        if (!read_now) {
            /* The rest may be here already (a long head, the end of a
             * pipelined batch, a TLS record not yet decrypted): take it
             * now rather than after a wait. */
            read_now = true;
            ssize_t n = zzz_conn_fill_now(conn);
            if (n > 0)
                continue;
            if (n == 0 || (n < 0 && n != -EAGAIN && n != -ENOBUFS))
                return HEAD_CLOSE;
        }
        if (in->len == 0)
            return HEAD_WAIT; /* woken with nothing to read after all */
        /* Part of a head: wait for the rest without a task. The header
         * timeout counts from its first byte, across the waits. */
        uint64_t deadline = zzz_conn_buf_since(conn) + (uint64_t)cfg->header_timeout_ms * 1000000u;
        if (tardy_now() >= deadline)
            return -408;
        zzz_conn_wait_until(conn, deadline);
        return HEAD_WAIT;
    }
}

/* Scratch for the loop's own use, between requests or before the
 * handler runs: unlike a handler's calls, the loop may wait, so when the
 * answers to earlier requests are in the way they leave first. NULL when
 * there is no room even then. */
static void *http_scratch(zzz_conn *conn, size_t size)
{
    void *mem;
    if (zzz_conn_arena(conn, size, &mem) == 0)
        return mem;
    if (zzz_conn_outbuf(conn)->len == 0 || zzz_conn_flush(conn) != 0 ||
        zzz_conn_arena(conn, size, &mem) != 0)
        return NULL;
    return mem;
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
    char *dst = http_scratch(req->conn, raw.len + 1);
    if (!dst)
        return false;
    ssize_t n = zzz_http_percent_decode(raw, dst, false);
    if (n < 0)
        return false;
    req->path = (zzz_str){dst, (size_t)n};
    return true;
}

/* The answers zzz makes where no handler does: the ends of a chain. */
static void answer_connect(zzz_req *req, zzz_res *res, void *user)
{
    (void)req;
    (void)user;
    /* A tunnel is a proxy's work: an origin server does not do it. */
    zzz_http_error(res, 501, "CONNECT is not served");
}

static void answer_options_star(zzz_req *req, zzz_res *res, void *user)
{
    (void)req;
    (void)user;
    /* "OPTIONS *" asks about the server, not a resource: it is here. */
    zzz_res_send(res, "", 0);
}

static void answer_405(zzz_req *req, zzz_res *res, void *user)
{
    (void)user;
    zzz_res_header(res, "Allow", req->match.allow);
    zzz_http_error(res, 405, "no route for the method");
}

static void answer_404(zzz_req *req, zzz_res *res, void *user)
{
    (void)req;
    (void)user;
    zzz_http_error(res, 404, "no route for the path");
}

/* A body declared past the limit: zzz_http_res_finish answers it (413)
 * as the chain unwinds, once the layers have had their turn. */
static void answer_body_refused(zzz_req *req, zzz_res *res, void *user)
{
    (void)req;
    (void)res;
    (void)user;
}

/* The body limit of a request: its route's, its group's, or the
 * server's (UINT64_MAX: none). */
static uint64_t request_max_body(const zzz_req *req, const http_config *cfg)
{
    uint64_t max = req->match.status == 200 ? req->match.max_body : 0;
    if (max == 0)
        max = zzz_http_router_max_body(cfg->router, req->path);
    return max ? max : cfg->max_body;
}

/* The router's not-found handler, with the status it starts from. */
static void answer_not_found(zzz_req *req, zzz_res *res, void *user)
{
    zzz_res_status(res, 404);
    req->match.handler(req, res, user);
}

static void http_dispatch(zzz_req *req, zzz_res *res, const http_config *cfg)
{
    zzz_str method = req->head.method;
    router_match *m = &req->match;
    zzz_handler final;
    void *final_user = NULL;
    if (method_is(method, "CONNECT")) {
        final = answer_connect;
    } else if (method_is(method, "OPTIONS") && req->path.len == 1 && req->path.ptr[0] == '*') {
        final = answer_options_star;
    } else {
        zzz_router_match_path(cfg->router, method, req->path, m);
        final_user = m->user;
        if (m->status == 200 && m->handler)
            final = m->handler;
        else if (m->status == 405)
            final = answer_405;
        else
            final = m->handler ? answer_not_found : answer_404;
    }
    if (req->head.body != HTTP_BODY_NONE) {
        req->max_body = request_max_body(req, cfg);
        req->chunked.max_body = req->max_body == UINT64_MAX ? 0 : req->max_body;
        if (req->head.body == HTTP_BODY_LENGTH && req->head.content_length > req->max_body) {
            zzz_http_req_fail_body(req, -E2BIG);
            final = answer_body_refused;
        }
    }
    unsigned outer_count;
    const router_layer *outer = zzz_http_router_layers(cfg->router, &outer_count);
    /* Without layers, the handler is all there is. */
    if (outer_count == 0 && m->layer_count == 0)
        final(req, res, final_user);
    else
        zzz_http_chain_run(req, res, outer, outer_count, final, final_user);
}

/* How the connection closes after the answer to a failed body: a 408's
 * client stalled and is not waited for; otherwise the rest of the body
 * is drained for a while, so the answer is read rather than reset. */
static zzz_close body_error_close(const zzz_res *res)
{
    return res->status == 408 ? ZZZ_CLOSE_NOW : ZZZ_CLOSE_LINGER;
}

/* After the handler: settles the request body and the response. Returns
 * true when the connection goes on to the next request; false when it
 * must close (its close mode set). */
static bool http_finish(zzz_conn *conn, zzz_req *req, zzz_res *res)
{
    /* Whatever the chain left unanswered is answered now: the body's
     * error, or 500. */
    int fin = zzz_http_res_finish(res);
    if (res->body_error) {
        zzz_conn_close_mode(conn, fin == 0 ? body_error_close(res) : zzz_http_res_cut_close(res));
        return false;
    }
    /* A body the handler did not read to its end is read and checked now,
     * as far as it has arrived, before the answer leaves: a request with
     * broken framing gets 400, never the handler's answer. */
    int body = zzz_http_req_settle_body(req);
    if (body < 0 && body != -EAGAIN) {
        if (body == -ECONNRESET || body == -EPIPE) {
            zzz_conn_close_mode(conn, ZZZ_CLOSE_NOW); /* the client has gone */
            return false;
        }
        if (zzz_http_res_take_back(res)) {
            /* A fresh answer, unfiltered: the handler's filter had its
             * turn with the answer taken back. */
            zzz_res fresh;
            zzz_http_res_init(&fresh, conn, req);
            fresh.close = true;
            fresh.body_error = true;
            fresh.head_only = res->head_only;
            fresh.filter_decided = true;
            int err = zzz_http_error(&fresh, zzz_http_body_error_status(body),
                                     zzz_http_body_error_why(body));
            if (err == 0 && !zzz_http_res_whole(&fresh))
                err = -EPIPE;
            zzz_conn_close_mode(conn, err == 0 ? body_error_close(&fresh)
                                               : zzz_http_res_cut_close(&fresh));
            return false;
        }
        /* Part of the answer has left: it must end cut. */
        zzz_conn_close_mode(conn, zzz_http_res_cut_close(res));
        return false;
    }
    if (fin != 0) {
        /* Cut: closing without the end tells the client. */
        zzz_conn_close_mode(conn, zzz_http_res_cut_close(res));
        return false;
    }
    if (body == -EAGAIN) {
        /* The body goes on past what has arrived: answer now, then drain
         * it under the linger deadline rather than delay the answer. */
        zzz_conn_linger(conn);
        return false;
    }
    return !res->close;
}

/* What the head parser's refusals are, for error handlers. */
static const char *head_error_why(int status)
{
    switch (status) {
    case 408:
        return "request head too slow";
    case 414:
        return "request target too long";
    case 431:
        return "request head too large";
    case 501:
        return "transfer coding not implemented";
    case 505:
        return "HTTP version not supported";
    default:
        return "malformed request head";
    }
}

static zzz_conn_next http_on_conn(zzz_conn *conn, void *user)
{
    const http_config *cfg = user;
    if (zzz_conn_expired(conn)) {
        /* The rest of a head did not come within header_timeout_ms. */
        zzz_http_error_early(conn, cfg, 408, head_error_why(408), NULL, ZZZ_CLOSE_NOW);
        return ZZZ_CLOSE;
    }
    zzz_buf *in = zzz_conn_buf(conn);
    if (!in->data || !zzz_conn_outbuf(conn)->data) {
        /* Pools exhausted: cannot happen with the pools' sizes, kept as a
         * clear answer should that change. With no write buffer, the
         * short answer goes straight out. */
        char reply[HTTP_SHORT_ANSWER_MAX];
        size_t n = zzz_http_short_answer(reply, http_thread_of(conn), 503, NULL);
        zzz_conn_write(conn, reply, n);
        return ZZZ_CLOSE;
    }
    zzz_buf *out = zzz_conn_outbuf(conn);
    bool served = false;
    for (;;) {
        zzz_conn_arena_reset(conn);
        /* Answers to pipelined requests collect in the write buffer and
         * leave together; past half of it they leave now, so that the
         * next request's scratch (the header array, the fields its handler
         * adds, which cannot wait) finds room at the end. */
        if (out->len > out->cap / 2 && zzz_conn_flush(conn) != 0)
            return ZZZ_CLOSE;
        http_head head;
        memset(&head, 0, sizeof head);
        head.headers = http_scratch(conn, cfg->limits.max_headers * sizeof(zzz_header));
        if (!head.headers) {
            zzz_http_error_early(conn, cfg, 500, "no room for the header fields", NULL,
                                 ZZZ_CLOSE_AUTO);
            return ZZZ_CLOSE;
        }
        int r = http_read_head(conn, cfg, &head, served);
        if (r == HEAD_WAIT)
            return ZZZ_WAIT; /* the server sends what is pending, then waits */
        if (r == HEAD_CLOSE)
            return ZZZ_CLOSE;
        if (r < 0) {
            zzz_http_error_early(conn, cfg, -r, head_error_why(-r), NULL, ZZZ_CLOSE_AUTO);
            return ZZZ_CLOSE;
        }

        zzz_req req;
        zzz_res res;
        zzz_http_req_init(&req, conn, cfg);
        req.head = head;
        if (!http_decode_path(&req)) {
            zzz_http_error_early(conn, cfg, 400, "malformed path", NULL, ZZZ_CLOSE_AUTO);
            return ZZZ_CLOSE;
        }
        zzz_http_res_init(&res, conn, &req);
        res.close = !head.keep_alive || zzz_conn_closing(conn);
        res.head_only = method_is(head.method, "HEAD");

        http_dispatch(&req, &res, cfg);
        if (res.taken_over) {
            /* The handler had the connection (zzz_res_take_over): it
             * closes now, unless the handler handed it on. */
            zzz_http_req_release(&req);
            return ZZZ_CLOSE;
        }

        bool next = http_finish(conn, &req, &res);
        zzz_http_req_release(&req);
        if (!next)
            return ZZZ_CLOSE;
        zzz_conn_consume(conn, head.head_len);
        served = true;
    }
}

static void http_config_free(void *user)
{
    free(user);
}

/* What an HTTP server offers through ALPN unless told otherwise. */
static const char *const http_alpn[] = {"http/1.1", NULL};

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
    cfg->router = config->router;
    cfg->limits.max_target = config->max_target ? config->max_target : ZZZ_HTTP_DEFAULT_MAX_TARGET;
    cfg->limits.max_head_bytes =
        config->max_header_bytes ? config->max_header_bytes : ZZZ_HTTP_DEFAULT_MAX_HEADER_BYTES;
    cfg->limits.max_headers = config->max_headers ? config->max_headers : ZZZ_HTTP_DEFAULT_MAX_HEADERS;
    cfg->max_body = config->max_body ? config->max_body : ZZZ_HTTP_DEFAULT_MAX_BODY;
    cfg->header_timeout_ms = config->header_timeout_ms ? config->header_timeout_ms : ZZZ_HTTP_DEFAULT_HEADER_MS;
    cfg->body_timeout_ms = config->body_timeout_ms ? config->body_timeout_ms : ZZZ_HTTP_DEFAULT_BODY_MS;
    cfg->body_buffers = config->body_buffers ? config->body_buffers : ZZZ_HTTP_DEFAULT_BODY_BUFFERS;
    cfg->body_min_rate = config->body_min_rate ? config->body_min_rate : ZZZ_HTTP_DEFAULT_BODY_MIN_RATE;
    cfg->body_grace_ms = config->body_grace_ms ? config->body_grace_ms : ZZZ_HTTP_DEFAULT_BODY_GRACE_MS;
    cfg->request_memory = config->request_memory ? config->request_memory : ZZZ_HTTP_DEFAULT_REQUEST_MEMORY;
    cfg->on_error = config->on_error;
    cfg->on_error_user = config->on_error_user;
    if (cfg->request_memory > ZZZ_HTTP_REQUEST_MEMORY_MAX)
        cfg->request_memory = ZZZ_HTTP_REQUEST_MEMORY_MAX;
    /* A client that connects and says nothing gets the header timeout. */
    if (sc.first_byte_timeout_ms == 0)
        sc.first_byte_timeout_ms = cfg->header_timeout_ms;
    zzz_tls_config tls;
    if (sc.tls && !sc.tls->alpn) {
        tls = *sc.tls;
        tls.alpn = http_alpn;
        sc.tls = &tls;
    }
    sc.serve_on_open = false;
    sc.on_conn = http_on_conn;
    sc.on_refuse = http_on_refuse;
    sc.on_busy = http_on_busy;
    sc.on_thread_start = http_thread_start;
    sc.on_thread_stop = http_thread_stop;
    sc.on_destroy = http_config_free;
    sc.user = cfg;
    zzz_server *s;
    int err = zzz_server_create(&s, &sc);
    if (err) {
        free(cfg);
        return err;
    }
    /* The limits that depend on the buffers, as the server sized them. */
    zzz_server_memory mem;
    zzz_server_memory_info(s, &mem);
    /* The head must fit the receive buffer with room left for the start of
     * a chunked body. */
    size_t head_room = mem.read_buffer > 1024 ? mem.read_buffer - 512 : mem.read_buffer;
    if (cfg->limits.max_head_bytes > head_room)
        cfg->limits.max_head_bytes = head_room;
    /* The header array lives in the write buffer's scratch. */
    if (cfg->limits.max_headers * sizeof(zzz_header) > mem.write_buffer / 2) {
        unsigned max_headers = cfg->limits.max_headers;
        zzz_server_destroy(s); /* frees cfg */
        zzz_set_error("http: max_headers %u needs more than half the write buffer (%zu bytes)",
                      max_headers, mem.write_buffer);
        return -EINVAL;
    }
    *out = s;
    return 0;
}
