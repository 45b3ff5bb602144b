/* Requests as a handler sees them: the parsed head (strings point into
 * the connection's receive buffer), decoded path and query parameters,
 * route parameters, and the body, read whole into a pooled buffer or
 * streamed (Content-Length or chunked, with 100-continue). */
#include "http.h"

#include <errno.h>
#include <string.h>

void zzz_http_req_init(zzz_req *req, zzz_conn *conn, const http_config *config)
{
    memset(req, 0, sizeof *req);
    req->conn = conn;
    req->config = config;
    req->body_start = req->body_last = tardy_now();
    /* A chunked body is refused as soon as a chunk size says it is too
     * large, and its trailers have the head's limits. */
    req->max_body = config->max_body;
    req->chunked.max_body = config->max_body;
    req->chunked.max_trailers = config->limits.max_headers;
    req->chunked.max_trailer_bytes = config->limits.max_head_bytes;
}

zzz_str zzz_req_method(const zzz_req *req)
{
    return req->head.method;
}

zzz_str zzz_req_target(const zzz_req *req)
{
    return req->head.target;
}

zzz_str zzz_req_path_raw(const zzz_req *req)
{
    return req->head.path;
}

zzz_str zzz_req_path(const zzz_req *req)
{
    return req->path;
}

zzz_str zzz_req_query(const zzz_req *req)
{
    return req->head.query;
}

int zzz_req_version(const zzz_req *req)
{
    return req->head.version_minor;
}

zzz_conn *zzz_req_conn(zzz_req *req)
{
    return req->conn;
}

const struct sockaddr *zzz_req_peer(const zzz_req *req, socklen_t *len)
{
    return zzz_conn_peer(req->conn, len);
}

bool zzz_req_header(const zzz_req *req, const char *name, zzz_str *value)
{
    for (unsigned i = 0; i < req->head.header_count; i++) {
        if (zzz_http_name_eq(req->head.headers[i].name, name)) {
            if (value)
                *value = req->head.headers[i].value;
            return true;
        }
    }
    return false;
}

size_t zzz_req_header_count(const zzz_req *req)
{
    return req->head.header_count;
}

const zzz_header *zzz_req_header_at(const zzz_req *req, size_t index)
{
    return index < req->head.header_count ? &req->head.headers[index] : NULL;
}

bool zzz_req_param(const zzz_req *req, const char *name, zzz_str *value)
{
    size_t nlen = strlen(name);
    for (unsigned i = 0; i < req->match.param_count; i++) {
        zzz_str n = req->match.param_names[i];
        if (n.len == nlen && memcmp(n.ptr, name, nlen) == 0) {
            if (value)
                *value = req->match.param_values[i];
            return true;
        }
    }
    return false;
}

bool zzz_req_query_param(zzz_req *req, const char *name, zzz_str *value)
{
    zzz_str q = req->head.query;
    size_t nlen = strlen(name);
    const char *p = q.ptr, *end = q.ptr + q.len;
    while (p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *pair_end = amp ? amp : end;
        const char *eq = memchr(p, '=', (size_t)(pair_end - p));
        zzz_str key = {p, (size_t)((eq ? eq : pair_end) - p)};
        zzz_str val = {eq ? eq + 1 : pair_end, eq ? (size_t)(pair_end - eq - 1) : 0};
        /* Compare the decoded key without decoding it anywhere. */
        char small[256];
        bool match = false;
        if (key.len <= sizeof small) {
            ssize_t klen = zzz_http_percent_decode(key, small, true);
            match = klen == (ssize_t)nlen && memcmp(small, name, nlen) == 0;
        }
        if (match) {
            if (!value)
                return true;
            if (!memchr(val.ptr, '%', val.len) && !memchr(val.ptr, '+', val.len)) {
                *value = val;
                return true;
            }
            void *dst;
            if (zzz_conn_arena(req->conn, val.len + 1, &dst) != 0)
                return false;
            ssize_t vlen = zzz_http_percent_decode(val, dst, true);
            if (vlen < 0)
                return false;
            *value = (zzz_str){dst, (size_t)vlen};
            return true;
        }
        p = pair_end + 1;
    }
    return false;
}

int64_t zzz_req_content_length(const zzz_req *req)
{
    switch (req->head.body) {
    case HTTP_BODY_LENGTH:
        return (int64_t)req->head.content_length;
    case HTTP_BODY_CHUNKED:
        return -1;
    case HTTP_BODY_NONE:
        break;
    }
    return 0;
}

/* ---- body ------------------------------------------------------------------ */

/* Body bytes already received sit right after the head in the receive
 * buffer; the head stays in place (the handler's strings point into it). */
static size_t body_buffered(const zzz_req *req)
{
    const zzz_buf *in = zzz_conn_buf(req->conn);
    return in->len - req->head.head_len;
}

static char *body_start(zzz_req *req)
{
    return zzz_conn_buf(req->conn)->data + req->head.head_len;
}

static void body_drop_buffered(zzz_req *req, size_t n)
{
    zzz_buf *in = zzz_conn_buf(req->conn);
    char *start = in->data + req->head.head_len;
    size_t avail = in->len - req->head.head_len;
    memmove(start, start + n, avail - n);
    in->len -= n;
}

static int body_continue(zzz_req *req)
{
    if (req->continue_sent || !req->head.expect_continue || req->head.version_minor < 1)
        return 0;
    /* An interim answer may only come before the final one: once that has
     * begun, a 100 would land inside it. The client sends the body anyway
     * when its wait for the 100 ends. */
    if (req->res && req->res->head_sent)
        return 0;
    req->continue_sent = true;
    static const char line[] = "HTTP/1.1 100 Continue\r\n\r\n";
    int err = zzz_conn_out(req->conn, line, sizeof line - 1);
    if (err == 0)
        err = zzz_conn_flush(req->conn);
    return err;
}

static ssize_t body_fail(zzz_req *req, int err)
{
    req->body_state = BODY_ERROR;
    req->body_err = err;
    return err;
}

/* Body bytes received so far, whether handed out yet or not. */
static uint64_t body_received(const zzz_req *req)
{
    return req->body_read + body_buffered(req);
}

/* When the next body read gives up: body_timeout_ms after the last bytes
 * arrived (progress, not calls: a read that starts late does not get a
 * fresh timeout), and, after the grace period, when the body falls under
 * the minimum rate counted from the end of the head. A byte now and then
 * cannot hold a task for ever; an honest slow upload goes through. */
static uint64_t body_deadline(const zzz_req *req)
{
    const http_config *cfg = req->config;
    uint64_t when = req->body_last + (uint64_t)cfg->body_timeout_ms * 1000000u;
    if (cfg->body_grace_ms != UINT32_MAX) {
        uint64_t by_rate = req->body_start + (uint64_t)cfg->body_grace_ms * 1000000u +
                           body_received(req) * 1000000000u / cfg->body_min_rate;
        if (by_rate < when)
            when = by_rate;
    }
    return when;
}

/* Receives more of the body into the connection's buffer, after what is
 * there, under the body's deadline. Returns as zzz_conn_fill. */
static ssize_t body_fill(zzz_req *req)
{
    zzz_conn *conn = req->conn;
    uint64_t saved = zzz_conn_deadline(conn);
    zzz_conn_set_deadline(conn, body_deadline(req));
    ssize_t n = zzz_conn_fill(conn);
    zzz_conn_set_deadline(conn, saved);
    if (n > 0)
        req->body_last = tardy_now();
    return n;
}

static ssize_t body_read_length(zzz_req *req, char *buf, size_t len)
{
    size_t want = len < req->body_left ? len : (size_t)req->body_left;
    size_t avail = body_buffered(req);
    ssize_t n;
    if (avail > 0) {
        n = (ssize_t)(want < avail ? want : avail);
        memcpy(buf, body_start(req), (size_t)n);
        body_drop_buffered(req, (size_t)n);
    } else {
        /* Straight into the handler's buffer: the head stays where it is. */
        zzz_conn *conn = req->conn;
        uint64_t saved = zzz_conn_deadline(conn);
        zzz_conn_set_deadline(conn, body_deadline(req));
        n = zzz_conn_recv(conn, buf, want);
        zzz_conn_set_deadline(conn, saved);
        if (n == 0)
            return body_fail(req, -ECONNRESET); /* the body was cut short */
        if (n < 0)
            return body_fail(req, (int)n);
        req->body_last = tardy_now();
    }
    req->body_left -= (uint64_t)n;
    req->body_read += (uint64_t)n;
    if (req->body_left == 0)
        req->body_state = BODY_DONE;
    return n;
}

/* The decoder's refusals as body errors: a chunk past max_body is -E2BIG
 * (413), anything else broken framing (400). */
static int chunked_error(ssize_t rc)
{
    return rc == -413 ? -E2BIG : -EPROTO;
}

static ssize_t body_read_chunked(zzz_req *req, char *buf, size_t len)
{
    for (;;) {
        size_t avail = body_buffered(req);
        if (avail > 0) {
            size_t consumed = 0;
            bool done = false;
            ssize_t out = zzz_http_chunked_decode(&req->chunked, body_start(req), avail, &consumed,
                                                  buf, len, &done);
            if (out < 0)
                return body_fail(req, chunked_error(out));
            body_drop_buffered(req, consumed);
            req->body_read += (uint64_t)out;
            if (req->body_read > req->max_body)
                return body_fail(req, -E2BIG);
            if (done)
                req->body_state = BODY_DONE;
            if (out > 0 || done)
                return out;
        }
        const zzz_buf *in = zzz_conn_buf(req->conn);
        if (in->len >= in->cap)
            return body_fail(req, -EPROTO); /* a chunk line longer than the buffer */
        ssize_t n = body_fill(req);
        if (n == 0)
            return body_fail(req, -ECONNRESET);
        if (n < 0)
            return body_fail(req, (int)n);
    }
}

/* Sets up the body's reading state at the first read. */
static void body_begin(zzz_req *req)
{
    if (req->body_state != BODY_NONE)
        return;
    if (req->head.body == HTTP_BODY_NONE)
        req->body_state = BODY_DONE;
    else
        req->body_state = BODY_READING;
    req->body_left = req->head.body == HTTP_BODY_LENGTH ? req->head.content_length : 0;
    if (req->head.body == HTTP_BODY_LENGTH && req->body_left == 0)
        req->body_state = BODY_DONE;
}

ssize_t zzz_req_read(zzz_req *req, void *buf, size_t len)
{
    body_begin(req);
    if (req->body_state == BODY_ERROR)
        return req->body_err;
    if (req->body_state == BODY_DONE || len == 0)
        return 0;
    int err = body_continue(req);
    if (err)
        return body_fail(req, err);
    if (req->head.body == HTTP_BODY_LENGTH)
        return body_read_length(req, buf, len);
    return body_read_chunked(req, buf, len);
}

int zzz_req_body(zzz_req *req, zzz_str *body)
{
    if (req->body_buf && req->body_state == BODY_DONE) {
        *body = (zzz_str){req->body_buf, (size_t)req->body_read};
        return 0;
    }
    if (req->body_state == BODY_ERROR)
        return req->body_err;
    body_begin(req);
    if (req->body_state == BODY_DONE && !req->body_buf) {
        *body = (zzz_str){"", 0};
        return 0;
    }
    if (req->body_read > 0)
        return -EALREADY; /* part of it was streamed already */
    /* The buffer holds the server's max_body, even where a route allows
     * more (that is read with zzz_req_read). */
    size_t cap = req->config->max_body;
    if (req->head.body == HTTP_BODY_LENGTH &&
        (req->head.content_length > req->max_body || req->head.content_length > cap))
        return body_fail(req, -E2BIG);
    /* The pooled buffer is taken once the body has begun to arrive, so
     * clients that send a head and stall hold none of them. */
    if (body_buffered(req) == 0) {
        int err = body_continue(req);
        if (err)
            return (int)body_fail(req, err);
        ssize_t n = body_fill(req);
        if (n == 0)
            return (int)body_fail(req, -ECONNRESET);
        if (n < 0)
            return (int)body_fail(req, (int)n);
    }
    http_thread *t = http_thread_of(req->conn);
    req->body_buf = zzz_pool_get(&t->body_pool);
    if (!req->body_buf)
        return (int)body_fail(req, -ENOBUFS); /* answered 503 unless handled */
    size_t total = 0;
    for (;;) {
        ssize_t n = zzz_req_read(req, req->body_buf + total, cap - total);
        if (n < 0)
            return (int)n;
        total += (size_t)n;
        if (req->body_state == BODY_DONE)
            break;
        if (total == cap) {
            /* Full: one more byte of body means it is too large. */
            char probe;
            n = zzz_req_read(req, &probe, 1);
            if (n < 0)
                return (int)n;
            if (n > 0 || req->body_state != BODY_DONE)
                return (int)body_fail(req, -E2BIG);
            break;
        }
    }
    *body = (zzz_str){req->body_buf, total};
    return 0;
}

int zzz_http_req_settle_body(zzz_req *req)
{
    body_begin(req);
    if (req->body_state == BODY_DONE)
        return 0;
    if (req->body_state == BODY_ERROR)
        return req->body_err;
    /* A client waiting for 100 Continue has not sent the body. */
    if (req->head.expect_continue && !req->continue_sent)
        return -EAGAIN;
    bool read_once = false;
    for (;;) {
        size_t avail = body_buffered(req);
        if (req->head.body == HTTP_BODY_LENGTH) {
            size_t n = avail < req->body_left ? avail : (size_t)req->body_left;
            body_drop_buffered(req, n);
            req->body_left -= n;
            req->body_read += n;
            if (req->body_left == 0) {
                req->body_state = BODY_DONE;
                return 0;
            }
        } else if (avail > 0) {
            size_t consumed = 0;
            bool done = false;
            ssize_t out = zzz_http_chunked_decode(&req->chunked, body_start(req), avail, &consumed,
                                                  NULL, 0, &done);
            if (out < 0)
                return (int)body_fail(req, chunked_error(out));
            body_drop_buffered(req, consumed);
            req->body_read += (uint64_t)out;
            if (done) {
                req->body_state = BODY_DONE;
                return 0;
            }
        }
        if (read_once)
            return -EAGAIN;
        read_once = true;
        ssize_t n = zzz_conn_fill_now(req->conn);
        if (n == -EAGAIN || n == -ENOBUFS)
            return -EAGAIN;
        if (n == 0)
            return (int)body_fail(req, -ECONNRESET);
        if (n < 0)
            return (int)body_fail(req, (int)n);
    }
}

void zzz_http_req_fail_body(zzz_req *req, int err)
{
    body_fail(req, err);
}

void zzz_http_req_reject(zzz_req *req, int status)
{
    if (req->reject_status == 0)
        req->reject_status = status;
}

bool zzz_http_req_body_finished(zzz_req *req)
{
    body_begin(req);
    return req->body_state == BODY_DONE;
}

void zzz_http_req_forget_head(zzz_req *req)
{
    zzz_conn_consume(req->conn, req->head.head_len);
    zzz_str none = {"", 0};
    http_head *h = &req->head;
    h->method = h->target = h->path = h->query = h->host = none;
    h->header_count = 0;
    h->head_len = 0;
    req->path = none;
    req->match.param_count = 0;
}

void zzz_http_req_release(zzz_req *req)
{
    if (req->filter)
        zzz_http_req_filter_release(req);
    if (req->body_buf) {
        zzz_pool_put(&http_thread_of(req->conn)->body_pool, req->body_buf);
        req->body_buf = NULL;
    }
    if (req->blocks)
        zzz_http_req_memory_release(req);
}
