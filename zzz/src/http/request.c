/* Requests as a handler sees them: the parsed head (strings point into
 * the connection's receive buffer), decoded path and query parameters,
 * route parameters, and the body, read whole into a pooled buffer or
 * streamed (Content-Length or chunked, with 100-continue). */
#include "http.h"

#include <errno.h>
#include <string.h>

void http_req_init(zzz_req *req, zzz_conn *conn, const http_config *config)
{
    memset(req, 0, sizeof *req);
    req->conn = conn;
    req->config = config;
}

http_thread *http_thread_of(zzz_conn *conn)
{
    return conn->worker->proto;
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
        if (http_name_eq(req->head.headers[i].name, name)) {
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
            ssize_t klen = http_percent_decode(key, small, true);
            match = klen == (ssize_t)nlen && memcmp(small, name, nlen) == 0;
        }
        if (match) {
            if (!value)
                return true;
            if (!memchr(val.ptr, '%', val.len) && !memchr(val.ptr, '+', val.len)) {
                *value = val;
                return true;
            }
            char *dst = zzz_conn_arena(req->conn, val.len + 1);
            if (!dst)
                return false;
            ssize_t vlen = http_percent_decode(val, dst, true);
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
    const zzz_buf *in = &req->conn->in;
    return in->len - req->head.head_len;
}

static char *body_start(zzz_req *req)
{
    return req->conn->in.data + req->head.head_len;
}

static void body_drop_buffered(zzz_req *req, size_t n)
{
    zzz_buf *in = &req->conn->in;
    char *start = body_start(req);
    size_t avail = body_buffered(req);
    memmove(start, start + n, avail - n);
    in->len -= n;
}

static int body_continue(zzz_req *req)
{
    if (req->continue_sent || !req->head.expect_continue || req->head.version_minor < 1)
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
        uint64_t saved = tardy_deadline();
        tardy_deadline_after((uint64_t)req->config->body_timeout_ms * 1000000u);
        n = zzz_stream_recv(req->conn, buf, want);
        tardy_deadline_set(saved);
        if (n == 0)
            return body_fail(req, -ECONNRESET); /* the body was cut short */
        if (n < 0)
            return body_fail(req, (int)n);
    }
    req->body_left -= (uint64_t)n;
    req->body_read += (uint64_t)n;
    if (req->body_left == 0)
        req->body_state = BODY_DONE;
    return n;
}

static ssize_t body_read_chunked(zzz_req *req, char *buf, size_t len)
{
    for (;;) {
        size_t avail = body_buffered(req);
        if (avail > 0) {
            size_t consumed = 0;
            bool done = false;
            ssize_t out = http_chunked_decode(&req->chunked, body_start(req), avail, &consumed,
                                              buf, len, &done);
            if (out < 0)
                return body_fail(req, -EPROTO);
            body_drop_buffered(req, consumed);
            req->body_read += (uint64_t)out;
            if (req->body_read > req->config->max_body)
                return body_fail(req, -E2BIG);
            if (done)
                req->body_state = BODY_DONE;
            if (out > 0 || done)
                return out;
        }
        zzz_conn *conn = req->conn;
        if (conn->in.len >= conn->in.cap)
            return body_fail(req, -EPROTO); /* a chunk line longer than the buffer */
        zzz_conn_set_deadline(conn, tardy_now() + (uint64_t)req->config->body_timeout_ms * 1000000u);
        ssize_t n = zzz_conn_fill(conn);
        zzz_conn_set_deadline(conn, 0);
        if (n == 0)
            return body_fail(req, -ECONNRESET);
        if (n < 0)
            return body_fail(req, (int)n);
    }
}

ssize_t zzz_req_read(zzz_req *req, void *buf, size_t len)
{
    if (req->body_state == BODY_NONE) {
        if (req->head.body == HTTP_BODY_NONE)
            req->body_state = BODY_DONE;
        else
            req->body_state = BODY_READING;
        req->body_left = req->head.body == HTTP_BODY_LENGTH ? req->head.content_length : 0;
        if (req->head.body == HTTP_BODY_LENGTH && req->body_left == 0)
            req->body_state = BODY_DONE;
    }
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
    if (req->head.body == HTTP_BODY_NONE) {
        *body = (zzz_str){"", 0};
        return 0;
    }
    if (req->body_read > 0)
        return -EALREADY; /* part of it was streamed already */
    if (req->head.body == HTTP_BODY_LENGTH && req->head.content_length > req->config->max_body)
        return body_fail(req, -E2BIG);
    http_thread *t = http_thread_of(req->conn);
    req->body_buf = zzz_pool_get(&t->body_pool);
    if (!req->body_buf)
        return body_fail(req, -ENOBUFS); /* answered 503 unless handled */
    size_t total = 0, cap = req->config->max_body;
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
                return body_fail(req, -E2BIG);
            break;
        }
    }
    *body = (zzz_str){req->body_buf, total};
    return 0;
}

int http_req_discard_body(zzz_req *req)
{
    if (req->head.body == HTTP_BODY_NONE || req->body_state == BODY_DONE)
        return 0;
    if (req->body_state == BODY_ERROR)
        return -1;
    if (req->head.expect_continue && !req->continue_sent)
        return -1; /* the client is still waiting to send it: just close */
    char sink[2048];
    while (req->body_state != BODY_DONE) {
        if (req->body_read > req->config->max_body)
            return -1;
        ssize_t n = zzz_req_read(req, sink, sizeof sink);
        if (n < 0)
            return -1;
    }
    return 0;
}

void http_req_release(zzz_req *req)
{
    if (req->body_buf) {
        zzz_pool_put(&http_thread_of(req->conn)->body_pool, req->body_buf);
        req->body_buf = NULL;
    }
}
