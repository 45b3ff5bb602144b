/* Server-sent events (zzz_sse.h): an answer that stays open, one chunk
 * per event, flushed as soon as it is made, and a wait between events
 * that notices the client's leaving and the server's shutdown. */
#include "http.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SSE_HEARTBEAT_MS 15000u

/* The stream can no longer be written: say so to the response too, so
 * that the server closes the connection without trying to end it. */
static int sse_fail(zzz_sse *sse, int err)
{
    sse->gone = true;
    sse->res->failed = true;
    sse->res->close = true;
    return err;
}

/* Whether the stream can take an event: 1 yes, 0 for a HEAD request
 * (nothing is sent), -EPIPE once it is gone or its response ended. */
static int sse_ready(zzz_sse *sse)
{
    if (sse->gone)
        return -EPIPE;
    zzz_res *res = sse->res;
    if (res->failed || res->aborted || res->done) {
        sse->gone = true;
        return -EPIPE;
    }
    return sse->head_only ? 0 : 1;
}

int zzz_sse_start(zzz_req *req, zzz_res *res, zzz_sse *sse)
{
    if (!req || !res || !sse || res->req != req)
        return -EINVAL;
    /* Until it has started, the stream is gone: a handler that ignores a
     * failed start gets -EPIPE from every call. */
    *sse = (zzz_sse){.res = res, .conn = res->conn, .gone = true};
    if (res->aborted || res->failed)
        return -EPIPE;
    if (res->head_sent || res->done)
        return -EALREADY;
    if (!zzz_http_req_body_finished(req))
        return -EBUSY;
    zzz_res_status(res, 200);
    zzz_res_header_remove(res, "Content-Type");
    int err = zzz_res_header(res, "Content-Type", "text/event-stream");
    if (err == 0 && !zzz_res_field(res, "Cache-Control", NULL))
        err = zzz_res_header(res, "Cache-Control", "no-cache");
    if (err)
        return err;
    /* The body has no length, and no body filter sees it: a compressor
     * would hold events back, and a filter could not know where one
     * ends. */
    res->length_set = false;
    res->filter_decided = true;
    res->event_stream = true;
    if (!res->head_only)
        res->close = true;
    /* A write of nothing sends the head (the hooks run first): chunked to
     * HTTP/1.1, ended by the close to HTTP/1.0. It leaves at once. */
    err = zzz_res_write(res, NULL, 0);
    if (err)
        return err;
    err = zzz_conn_flush(res->conn);
    if (err) {
        res->failed = true;
        res->close = true;
        return err;
    }
    *sse = (zzz_sse){
        .res = res,
        .conn = res->conn,
        .chunked = res->chunked,
        .head_only = res->head_only,
        .last_write = tardy_now(),
    };
    return 0;
}

/* ---- composing ---------------------------------------------------------- */

/* Text of an event, counted (conn NULL) or queued on the connection: the
 * same code does both, so the chunk's size line says what follows. */
typedef struct sse_put {
    zzz_conn *conn;
    char *buf; /* or written here (room counted first) */
    size_t len;
    int err;
} sse_put;

static void put(sse_put *p, const void *s, size_t n)
{
    if (p->buf)
        memcpy(p->buf + p->len, s, n);
    p->len += n;
    if (p->conn && p->err == 0)
        p->err = zzz_conn_out(p->conn, s, n);
}

static void put_field(sse_put *p, const char *name, size_t name_len, const char *value,
                      size_t value_len)
{
    put(p, name, name_len);
    put(p, value, value_len);
    put(p, "\n", 1);
}

/* The lines of data as the HTML standard's parser reads a stream: each
 * ends at CRLF, CR or LF, and a line end at the very end leaves an empty
 * last line (which is what brings it back: the browser joins data lines
 * with LF). */
typedef struct sse_lines {
    const char *data;
    size_t len, at;
    bool done;
} sse_lines;

static bool sse_line_next(sse_lines *it, zzz_str *line)
{
    if (it->done)
        return false;
    size_t end = it->at;
    while (end < it->len && it->data[end] != '\r' && it->data[end] != '\n')
        end++;
    *line = (zzz_str){it->data + it->at, end - it->at};
    if (end == it->len) {
        it->done = true;
        return true;
    }
    bool crlf = it->data[end] == '\r' && end + 1 < it->len && it->data[end + 1] == '\n';
    it->at = end + (crlf ? 2 : 1);
    return true;
}

typedef struct sse_what {
    const zzz_sse_event *ev; /* an event, or */
    const char *comment;     /* a comment line (ev NULL) */
    size_t data_len;
} sse_what;

static void compose(sse_put *p, const sse_what *w)
{
    const zzz_sse_event *ev = w->ev;
    if (!ev) {
        put(p, ":", 1);
        if (w->comment) {
            put(p, " ", 1);
            put(p, w->comment, strlen(w->comment));
        }
        /* No empty line after it: a comment is no event, and a parser
         * that splits the stream at empty lines sees it with the next. */
        put(p, "\n", 1);
        return;
    }
    if (ev->event)
        put_field(p, "event: ", 7, ev->event, strlen(ev->event));
    if (ev->id)
        put_field(p, "id: ", 4, ev->id, strlen(ev->id));
    if (ev->retry_ms) {
        char digits[16];
        int n = snprintf(digits, sizeof digits, "%lu", (unsigned long)ev->retry_ms);
        put_field(p, "retry: ", 7, digits, (size_t)n);
    }
    if (ev->data) {
        sse_lines it = {.data = ev->data, .len = w->data_len};
        zzz_str line;
        while (sse_line_next(&it, &line))
            put_field(p, "data: ", 6, line.ptr, line.len);
    }
    put(p, "\n", 1); /* the empty line that dispatches the event */
}

/* Sends one event or comment as one chunk and flushes it. */
static int sse_emit(zzz_sse *sse, const sse_what *w)
{
    int ready = sse_ready(sse);
    if (ready <= 0)
        return ready;
    sse_put count = {0};
    compose(&count, w);
    sse_put out = {.conn = sse->conn};
    if (sse->chunked) {
        char size_line[24];
        int n = snprintf(size_line, sizeof size_line, "%zx\r\n", count.len);
        put(&out, size_line, (size_t)n);
    }
    compose(&out, w);
    if (sse->chunked)
        put(&out, "\r\n", 2);
    int err = out.err ? out.err : zzz_conn_flush(sse->conn);
    if (err)
        return sse_fail(sse, err);
    sse->res->body_sent += count.len;
    sse->last_write = tardy_now();
    return 0;
}

static bool has_line_end(const char *text)
{
    return text && strpbrk(text, "\r\n") != NULL;
}

/* What zzz_sse_send refuses; fills *w for a good event. */
static int sse_event_check(const zzz_sse_event *ev, sse_what *w)
{
    if (!ev || (!ev->event && !ev->id && !ev->data && !ev->retry_ms))
        return -EINVAL;
    if (has_line_end(ev->event) || has_line_end(ev->id) || (!ev->data && ev->data_len))
        return -EINVAL;
    *w = (sse_what){.ev = ev};
    if (ev->data)
        w->data_len = ev->data_len ? ev->data_len : strlen(ev->data);
    return 0;
}

int zzz_sse_send(zzz_sse *sse, const zzz_sse_event *ev)
{
    if (!sse || !sse->res)
        return -EINVAL;
    sse_what w;
    int err = sse_event_check(ev, &w);
    return err ? err : sse_emit(sse, &w);
}

int zzz_sse_compose(const zzz_sse_event *ev, char **out, size_t *len)
{
    sse_what w;
    int err = sse_event_check(ev, &w);
    if (err)
        return err;
    sse_put count = {0};
    compose(&count, &w);
    sse_put text = {.buf = malloc(count.len)};
    if (!text.buf)
        return -ENOMEM;
    compose(&text, &w);
    *out = text.buf;
    *len = text.len;
    return 0;
}

int zzz_sse_comment(zzz_sse *sse, const char *text)
{
    if (!sse || !sse->res || has_line_end(text))
        return -EINVAL;
    sse_what w = {.comment = text};
    return sse_emit(sse, &w);
}

/* ---- waiting ------------------------------------------------------------ */

/* The client closed, reset or spoke: the stream is over. */
static int sse_gone(zzz_sse *sse)
{
    return sse_fail(sse, -EPIPE);
}

int zzz_sse_wait(zzz_sse *sse, uint32_t timeout_ms, uint32_t heartbeat_ms)
{
    if (!sse || !sse->res)
        return -EINVAL;
    int ready = sse_ready(sse);
    if (ready <= 0)
        return ready < 0 ? ready : -EPIPE; /* HEAD: the answer is whole */
    zzz_conn *conn = sse->conn;
    /* Whatever the client sends after its request lands here, past the
     * head (its body, if it had one, has been read and dropped). */
    size_t head_len = sse->res->req->head.head_len;
    uint64_t end = tardy_now() + (uint64_t)timeout_ms * 1000000u;
    uint64_t beat = (uint64_t)(heartbeat_ms ? heartbeat_ms : SSE_HEARTBEAT_MS) * 1000000u;
    if (timeout_ms == 0) {
        /* A look without waiting. */
        if (zzz_conn_closing(conn))
            return -ECANCELED;
        ssize_t n = zzz_conn_fill_now(conn);
        return n == -EAGAIN && zzz_conn_buf(conn)->len <= head_len ? 0 : sse_gone(sse);
    }
    for (;;) {
        if (zzz_conn_closing(conn))
            return -ECANCELED;
        if (zzz_conn_buf(conn)->len > head_len)
            return sse_gone(sse);
        uint64_t now = tardy_now();
        if (now >= end)
            return 0;
        /* A client gone without a word leaves the heartbeats unanswered:
         * the kernel ends the connection after two of them. */
        uint32_t unacked = (uint32_t)(2 * (beat / 1000000u));
        if (sse->unacked_ms != unacked) {
            zzz_http_unacked_limit(conn, unacked);
            sse->unacked_ms = unacked;
        }
        uint64_t beat_at = sse->last_write + beat;
        if (now >= beat_at) {
            int err = zzz_sse_comment(sse, NULL);
            if (err)
                return err;
            continue;
        }
        /* Readable means leaving: bytes, the end of the stream, a reset.
         * The connection's deadline ends the wait at the next heartbeat or
         * the end, and a shutdown cancels it. */
        uint64_t wake = end < beat_at ? end : beat_at;
        uint64_t outer = zzz_conn_deadline(conn);
        if (outer && outer < wake)
            wake = outer;
        zzz_conn_set_deadline(conn, wake);
        zzz_conn_cancel_on_drain(conn, true);
        ssize_t n = zzz_conn_fill(conn);
        zzz_conn_cancel_on_drain(conn, false);
        zzz_conn_set_deadline(conn, outer);
        if (n == -ETIMEDOUT) {
            /* Ours (the loop sees the time), or a deadline of the
             * handler's own: the connection's or the task's. */
            now = tardy_now();
            uint64_t task = tardy_deadline();
            if ((outer && now >= outer) || (task && now >= task))
                return -ETIMEDOUT;
            continue;
        }
        if (n == -ECANCELED)
            return -ECANCELED;
        return sse_gone(sse);
    }
}

bool zzz_sse_last_event_id(const zzz_req *req, zzz_str *id)
{
    zzz_str v;
    if (!req || !zzz_req_header(req, "Last-Event-ID", &v) || v.len == 0)
        return false;
    if (memchr(v.ptr, '\0', v.len) || memchr(v.ptr, '\r', v.len) || memchr(v.ptr, '\n', v.len))
        return false;
    if (id)
        *id = v;
    return true;
}
