/* Responses: status, headers, a whole body with its Content-Length, or a
 * streamed body (chunked when the length is unknown), composed straight
 * into the connection's write buffer so that pipelined responses leave
 * together in one send. */
#include "http.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* A file body up to this size is copied into the write buffer when it
 * fits there (zzz_res_sendfile). */
#define RES_FILE_COPY ((size_t)16 * 1024)

void zzz_http_res_init(zzz_res *res, zzz_conn *conn, zzz_req *req)
{
    memset(res, 0, sizeof *res);
    res->conn = conn;
    res->req = req;
    req->res = res;
    res->status = 200;
    res->mark_sent = zzz_conn_sent(conn);
    res->mark_len = zzz_conn_outbuf(conn)->len;
}

int zzz_res_status(zzz_res *res, int status)
{
    if (res->head_sent)
        return -EALREADY;
    /* 1xx are interim answers: a final status of 1xx would leave the
     * client waiting for the real one. */
    if (status < 200 || status > 999)
        return -EINVAL;
    res->status = status;
    return 0;
}

bool zzz_http_status_has_body(int status)
{
    return !(status < 200 || status == 204 || status == 304);
}

#define status_has_body zzz_http_status_has_body

static char *put(char *p, const char *s, size_t n)
{
    memcpy(p, s, n);
    return p + n;
}

/* Decimal digits of v (at most 20). */
static char *put_uint(char *p, uint64_t v)
{
    char digits[20];
    int n = 0;
    do {
        digits[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n)
        *p++ = digits[--n];
    return p;
}

/* A status phrase longer than this is cut (every known one is shorter),
 * so a head's first lines fit their buffer. */
#define REASON_MAX 64

static size_t reason_len(const char *reason)
{
    size_t len = strlen(reason);
    return len > REASON_MAX ? REASON_MAX : len;
}

/* Every head this server composes starts here: the status line, then the
 * thread's cached Date line. Writes at most 9 + 3 + 1 + REASON_MAX + 2
 * bytes and the Date line (under 40). */
static inline char *put_head_start(char *p, http_thread *t, int status)
{
    p = put(p, "HTTP/1.1 ", 9);
    p = put_uint(p, (uint64_t)status);
    *p++ = ' ';
    const char *reason = zzz_status_reason(status);
    p = put(p, reason, reason_len(reason));
    p = put(p, "\r\n", 2);
    size_t date_len;
    const char *date = zzz_http_date_line(t, &date_len);
    return put(p, date, date_len);
}

int zzz_res_on_head(zzz_res *res, void (*fn)(zzz_res *res, void *user), void *user)
{
    if (!fn)
        return -EINVAL;
    if (res->head_sent)
        return -EALREADY;
    http_hook *h = zzz_alloc(res->req, sizeof *h);
    if (!h)
        return -ENOMEM;
    *h = (http_hook){.next = res->hooks, .fn = fn, .user = user};
    res->hooks = h;
    return 0;
}

void zzz_http_res_run_hooks(zzz_res *res)
{
    while (res->hooks) {
        http_hook *h = res->hooks;
        res->hooks = h->next;
        h->fn(res, h->user);
        if (res->head_sent)
            return;
    }
}

int zzz_res_status_code(const zzz_res *res)
{
    return res->status;
}

uint64_t zzz_res_body_bytes(const zzz_res *res)
{
    return res->body_sent;
}

bool zzz_res_head_sent(const zzz_res *res)
{
    return res->head_sent;
}

static int res_write_head(zzz_res *res, bool length_known, uint64_t length)
{
    zzz_req *req = res->req;
    http_thread *t = http_thread_of(res->conn);
    if (zzz_conn_closing(res->conn))
        res->close = true;
    /* A client still waiting for 100 Continue has not sent its body, so
     * the connection cannot be reused after this answer: say so. */
    if (req->head.expect_continue && !req->continue_sent && req->head.body != HTTP_BODY_NONE &&
        req->body_state != BODY_DONE)
        res->close = true;
    if (req->filter) {
        zzz_http_res_filter_decide(res, length_known ? (int64_t)length : -1);
        if (res->filtering)
            length_known = false;
    }
    /* The head is composed with copies only (this runs per response). */
    char head[256];
    char *p = put_head_start(head, t, res->status);
    if (status_has_body(res->status)) {
        if (length_known) {
            p = put(p, "Content-Length: ", 16);
            p = put_uint(p, length);
            p = put(p, "\r\n", 2);
        } else if (req->head.version_minor >= 1) {
            res->chunked = true;
            p = put(p, "Transfer-Encoding: chunked\r\n", 28);
        } else {
            /* HTTP/1.0 has no chunking: the body ends when we close. */
            res->close = true;
            res->close_delimited = !res->head_only;
        }
    }
    if (res->close)
        p = put(p, "Connection: close\r\n", 19);
    else if (req->head.version_minor == 0)
        p = put(p, "Connection: keep-alive\r\n", 24);
    int err = zzz_conn_out(res->conn, head, (size_t)(p - head));
    if (err == 0 && res->headers_len)
        err = zzz_conn_out(res->conn, res->headers, res->headers_len);
    if (err == 0)
        err = zzz_conn_out(res->conn, "\r\n", 2);
    res->head_sent = true;
    if (err) {
        res->close = true;
        res->failed = true;
    }
    return err;
}

int zzz_res_send(zzz_res *res, const void *body, size_t len)
{
    if (res->aborted)
        return -EPIPE;
    if (res->head_sent)
        return -EALREADY;
    if (res->hooks) {
        zzz_http_res_run_hooks(res);
        if (res->aborted || res->failed)
            return -EPIPE;
        if (res->head_sent)
            return -EALREADY;
    }
    if (!status_has_body(res->status))
        len = 0;
    int err = res_write_head(res, true, len);
    if (res->filtering) {
        res->filter_promise = false; /* send gives its own length */
        if (err == 0)
            err = zzz_http_res_filter_feed(res, body, len, true);
        if (err == 0 && res->chunked && !res->head_only)
            err = zzz_conn_out(res->conn, "0\r\n\r\n", 5);
        res->done = true;
        if (err) {
            res->close = true;
            res->failed = true;
        }
        return err;
    }
    if (err == 0 && len && !res->head_only)
        err = zzz_conn_out(res->conn, body, len);
    if (err)
        res->failed = true;
    res->body_sent = len;
    res->done = true;
    return err;
}

int zzz_res_text(zzz_res *res, int status, const char *text)
{
    zzz_res_status(res, status);
    int err = zzz_res_header(res, "Content-Type", "text/plain; charset=utf-8");
    if (err && err != -ENOBUFS)
        return err;
    return zzz_res_send(res, text, text ? strlen(text) : 0);
}

int zzz_res_content_length(zzz_res *res, uint64_t len)
{
    if (res->head_sent)
        return -EALREADY;
    res->length_set = true;
    res->content_length = len;
    return 0;
}

/* Whether the response can still take body or end: -EPIPE once aborted
 * or failed, -EALREADY once done, else 0; before the head, the hooks run
 * first (and may have answered). */
static int res_ready(zzz_res *res)
{
    for (int pass = 0;; pass++) {
        if (res->aborted || res->failed)
            return -EPIPE;
        if (res->done)
            return -EALREADY;
        if (pass > 0 || res->head_sent || !res->hooks)
            return 0;
        zzz_http_res_run_hooks(res);
    }
}

/* A piece of body that goes to the body filter rather than out. */
#define RES_FILTERED 2

/* What a piece of body must pass before it is sent: the head goes
 * first, and the piece must fit the promised length. Returns 1 when its
 * bytes are to be sent, RES_FILTERED when they go through the filter, 0
 * when none are (len 0, HEAD, a status without a body), or -errno
 * (zzz_res_write's). */
static int res_body_begin(zzz_res *res, size_t len)
{
    int ready = res_ready(res);
    if (ready)
        return ready;
    if (!res->head_sent) {
        int err = res_write_head(res, res->length_set, res->content_length);
        if (err)
            return err;
    }
    if (len == 0)
        return 0;
    if (res->filtering)
        return res->head_only ? 0 : RES_FILTERED;
    if (res->length_set && res->body_sent + len > res->content_length)
        return -EMSGSIZE;
    res->body_sent += len;
    return !res->head_only && status_has_body(res->status);
}

/* Queues a chunk's size line (chunked responses only). */
static int res_chunk_open(zzz_res *res, size_t len)
{
    if (!res->chunked)
        return 0;
    char size_line[24];
    int n = snprintf(size_line, sizeof size_line, "%zx\r\n", len);
    return zzz_conn_out(res->conn, size_line, (size_t)n);
}

static int res_chunk_close(zzz_res *res)
{
    return res->chunked ? zzz_conn_out(res->conn, "\r\n", 2) : 0;
}

/* A failed send leaves the response cut: it can only be closed. */
static int res_body_failed(zzz_res *res, int err)
{
    if (err) {
        res->close = true;
        res->failed = true;
    }
    return err;
}

int zzz_res_write(zzz_res *res, const void *data, size_t len)
{
    int go = res_body_begin(res, len);
    if (go <= 0)
        return go;
    if (go == RES_FILTERED) {
        int err = zzz_http_res_filter_feed(res, data, len, false);
        /* Past the promised length nothing was sent: as unfiltered. */
        return err == -EMSGSIZE ? err : res_body_failed(res, err);
    }
    int err = res_chunk_open(res, len);
    if (err == 0)
        err = zzz_conn_out(res->conn, data, len);
    if (err == 0)
        err = res_chunk_close(res);
    return res_body_failed(res, err);
}

ssize_t zzz_http_file_read(int fd, void *buf, size_t len, int64_t offset)
{
    ssize_t n = tardy_read_cached(fd, buf, len, offset);
    return n == -EAGAIN ? tardy_read(fd, buf, len, offset) : n;
}

/* A filtered file is read in pieces (in the request's memory: a task's
 * stack may be small) and fed to the filter. */
#define RES_FILTER_PIECE 8192
static int res_sendfile_filtered(zzz_res *res, int fd, off_t offset, size_t len)
{
    if (res->filter_promise && len > res->filter_promised - res->filter_in)
        return -EMSGSIZE;
    if (!res->filter_piece)
        res->filter_piece = zzz_alloc(res->req, RES_FILTER_PIECE);
    char *piece = res->filter_piece;
    if (!piece)
        return -ENOMEM;
    while (len > 0) {
        size_t want = len < RES_FILTER_PIECE ? len : RES_FILTER_PIECE;
        ssize_t n = zzz_http_file_read(fd, piece, want, (int64_t)offset);
        if (n <= 0)
            return n == 0 ? -ENODATA : (int)n;
        int err = zzz_http_res_filter_feed(res, piece, (size_t)n, false);
        if (err)
            return err;
        offset += n;
        len -= (size_t)n;
    }
    return 0;
}

/* A file that fits the write buffer's free room is read into it, after
 * the head: the whole answer then leaves in one send, which costs less
 * than a send and a sendfile for small files (one copy from the page
 * cache either way it is sealed with TLS). A larger one goes to the
 * stream's file send. */
int zzz_res_sendfile(zzz_res *res, int fd, off_t offset, size_t len)
{
    if (offset < 0)
        return -EINVAL;
    if (fd < 0)
        return -EBADF;
    int go = res_body_begin(res, len);
    if (go <= 0)
        return go;
    if (go == RES_FILTERED) {
        int err = res_sendfile_filtered(res, fd, offset, len);
        return err == -EMSGSIZE ? err : res_body_failed(res, err);
    }
    int err = res_chunk_open(res, len);
    if (err)
        return res_body_failed(res, err);
    zzz_buf *out = zzz_conn_outbuf(res->conn);
    size_t room = out->data ? zzz_conn_out_room(res->conn) : 0;
    if (len <= room && len <= RES_FILE_COPY) {
        size_t got = 0;
        while (got < len) {
            ssize_t n = zzz_http_file_read(fd, out->data + out->len + got, len - got,
                                           (int64_t)offset + (int64_t)got);
            if (n <= 0) {
                err = n == 0 ? -ENODATA : (int)n;
                break;
            }
            got += (size_t)n;
        }
        if (err == 0)
            out->len += len;
    } else {
        err = zzz_conn_sendfile(res->conn, fd, offset, len);
    }
    if (err == 0)
        err = res_chunk_close(res);
    return res_body_failed(res, err);
}

/* The filter's end, then the body's. */
static int res_end_filtered(zzz_res *res)
{
    res->done = true;
    int err = zzz_http_res_filter_feed(res, NULL, 0, true);
    if (err == 0 && res->chunked && !res->head_only)
        err = zzz_conn_out(res->conn, "0\r\n\r\n", 5);
    return res_body_failed(res, err);
}

int zzz_res_end(zzz_res *res)
{
    int ready = res_ready(res);
    if (ready)
        return ready;
    if (!res->head_sent) {
        /* Nothing was written: an empty body of known length. */
        int err = res_write_head(res, true, res->length_set ? res->content_length : 0);
        if (err) {
            res->done = true;
            return err;
        }
        if (res->filtering)
            return res_end_filtered(res);
        res->done = true;
        if (res->length_set && res->content_length > 0 && !res->head_only &&
            status_has_body(res->status)) {
            res->close = true;
            res->failed = true;
            return -EPIPE;
        }
        return 0;
    }
    if (res->filtering)
        return res_end_filtered(res);
    if (res->length_set && res->body_sent != res->content_length && !res->head_only &&
        status_has_body(res->status)) {
        /* The client was promised more: only closing tells it. */
        res->close = true;
        res->failed = true;
        return -EPIPE;
    }
    res->done = true;
    if (res->chunked && !res->head_only && status_has_body(res->status)) {
        int err = zzz_conn_out(res->conn, "0\r\n\r\n", 5);
        if (err)
            res->failed = true;
        return err;
    }
    return 0;
}

void zzz_res_abort(zzz_res *res)
{
    res->aborted = true;
    res->close = true;
}

bool zzz_res_done(const zzz_res *res)
{
    return res->done;
}

int zzz_res_take_over(zzz_res *res, int status, zzz_conn **conn)
{
    zzz_req *req = res->req;
    if (res->aborted)
        return -EPIPE;
    if (res->head_sent || res->done)
        return -EALREADY;
    bool upgrade = status == 101;
    if (!upgrade && (status < 200 || status > 999))
        return -EINVAL;
    /* RFC 9110 7.8: no switch for HTTP/1.0, and a 101 names the protocol. */
    if (upgrade && (req->head.version_minor < 1 || !res->upgrade))
        return -EINVAL;
    if (!zzz_http_req_body_finished(req))
        return -EBUSY;
    /* The hooks see the status that leaves; it stays as given. */
    res->status = status;
    if (res->hooks) {
        zzz_http_res_run_hooks(res);
        if (res->aborted)
            return -EPIPE;
        if (res->head_sent || res->done)
            return -EALREADY;
        res->status = status;
    }
    char head[256];
    char *p = put_head_start(head, http_thread_of(res->conn), status);
    if (upgrade)
        p = put(p, "Connection: Upgrade\r\n", 21);
    else
        p = put(p, "Connection: close\r\n", 19);
    int err = zzz_conn_out(res->conn, head, (size_t)(p - head));
    if (err == 0 && res->headers_len)
        err = zzz_conn_out(res->conn, res->headers, res->headers_len);
    if (err == 0)
        err = zzz_conn_out(res->conn, "\r\n", 2);
    if (err == 0)
        err = zzz_conn_flush(res->conn);
    res->head_sent = true;
    res->done = true;
    res->close = true;
    if (err) {
        res->failed = true;
        return err;
    }
    res->taken_over = true;
    /* What follows the request is the handler's now: the head leaves the
     * buffer, and so does the scratch, with what pointed into them. */
    zzz_http_req_forget_head(req);
    zzz_conn_arena_reset(res->conn);
    res->headers = NULL;
    res->headers_len = res->headers_cap = 0;
    *conn = res->conn;
    return 0;
}

bool zzz_http_res_take_back(zzz_res *res)
{
    if (zzz_conn_sent(res->conn) != res->mark_sent)
        return false;
    zzz_buf *out = zzz_conn_outbuf(res->conn);
    if (out->len > res->mark_len)
        out->len = res->mark_len;
    return true;
}

size_t zzz_http_short_answer(char *buf, http_thread *t, int status, const char *extra)
{
    static const char fields[] = "Content-Type: text/plain; charset=utf-8\r\nContent-Length: ";
    static const char close[] = "\r\nConnection: close\r\n\r\n";
    const char *reason = zzz_status_reason(status);
    size_t len = reason_len(reason);
    char *p = put_head_start(buf, t, status);
    if (extra)
        p = put(p, extra, strlen(extra));
    p = put(p, fields, sizeof fields - 1);
    p = put_uint(p, len + 1);
    p = put(p, close, sizeof close - 1);
    p = put(p, reason, len);
    *p++ = '\n';
    return (size_t)(p - buf);
}
