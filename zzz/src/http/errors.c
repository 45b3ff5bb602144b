/* The error seam: every answer zzz makes itself (and those handlers raise
 * with zzz_res_error) goes through one path, so an app's error handler,
 * per server or per route group, makes all of them, and the default
 * makes them all in one form. */
#include "http.h"
#include "last_error.h"

#include <errno.h>
#include <string.h>

int zzz_http_body_error_status(int err)
{
    switch (err) {
    case -E2BIG:
        return 413;
    case -ETIMEDOUT:
        return 408;
    case -ENOBUFS:
        return 503;
    default:
        return 400;
    }
}

const char *zzz_http_body_error_why(int err)
{
    switch (err) {
    case -E2BIG:
        return "request body too large";
    case -ETIMEDOUT:
        return "request body too slow";
    case -ENOBUFS:
        return "no body buffer free";
    default:
        return "malformed request body";
    }
}

/* zzz's own answer: the reason phrase of the status that leaves (the
 * hooks run first and may change it), as plain text. */
static int error_default(zzz_res *res)
{
    zzz_res_header_remove(res, "Content-Type");
    zzz_res_header(res, "Content-Type", "text/plain; charset=utf-8");
    zzz_http_res_run_hooks(res);
    if (res->aborted || res->failed)
        return -EPIPE;
    if (res->head_sent)
        return res->done ? 0 : -EALREADY;
    char text[80];
    const char *reason = zzz_status_reason(res->status);
    size_t len = strlen(reason);
    if (len > sizeof text - 1)
        len = sizeof text - 1;
    memcpy(text, reason, len);
    text[len++] = '\n';
    return zzz_res_send(res, text, len);
}

/* Fields that describe a representation the handler meant to send, not
 * the error answer that replaces it. */
static const char *const representation_fields[] = {
    "Content-Encoding", "Content-Range", "ETag", "Last-Modified", "Accept-Ranges", NULL,
};

static const char *reject_why(int status)
{
    switch (status) {
    case 411:
        return "length required";
    case 413:
        return "request content too large";
    case 414:
        return "query too large";
    case 415:
        return "unsupported content type";
    default:
        return "malformed request content";
    }
}

int zzz_http_error(zzz_res *res, int status, const char *why)
{
    zzz_req *req = res->req;
    const http_config *cfg = req->config;
    res->status = status;
    res->length_set = false;
    for (const char *const *f = representation_fields; *f; f++)
        zzz_res_header_remove(res, *f);
    zzz_error_handler fn = cfg->on_error;
    void *user = cfg->on_error_user;
    if (!req->early)
        zzz_http_router_on_error(cfg->router, req->path, &fn, &user);
    /* An error handler that raises an error itself gets the default. */
    if (fn && !res->in_error) {
        res->in_error = true;
        fn(req->early ? NULL : req, res, status, why ? why : "", user);
        res->in_error = false;
        if (res->head_sent || res->aborted || res->failed)
            return res->aborted || res->failed ? -EPIPE : 0;
    }
    return error_default(res);
}

int zzz_res_error(zzz_res *res, int status, const char *why)
{
    if (status < 400 || status > 599)
        return -EINVAL;
    if (res->aborted)
        return -EPIPE;
    if (res->head_sent)
        return -EALREADY;
    return zzz_http_error(res, status, why);
}

int zzz_http_res_finish(zzz_res *res)
{
    if (res->aborted || res->failed)
        return -EPIPE;
    if (!res->head_sent) {
        zzz_req *req = res->req;
        int body = zzz_http_req_settle_body(req);
        if (body == -ECONNRESET || body == -EPIPE)
            return -EPIPE; /* the client has gone: nobody to answer */
        /* The handler's half-made fields go; the layers' hooks still run
         * (an answer zzz makes is theirs too). */
        res->headers_len = 0;
        int err;
        if (body < 0 && body != -EAGAIN) {
            /* The body failed: that is the answer, and it ends the
             * connection (what is left of the body is not read). */
            res->close = true;
            res->body_error = true;
            err = zzz_http_error(res, zzz_http_body_error_status(body), zzz_http_body_error_why(body));
        } else if (req->reject_status) {
            /* Content the handler was refused (a malformed form, a part
             * too large): the client's fault, not the server's. */
            err = zzz_http_error(res, req->reject_status, reject_why(req->reject_status));
        } else {
            err = zzz_http_error(res, 500, "the handler did not answer");
        }
        if (err || res->aborted || res->failed)
            return -EPIPE;
        if (!res->head_sent)
            return -EPIPE;
    }
    if (!res->done) {
        if (!zzz_http_res_whole(res))
            return -EPIPE;
        res->done = true;
    }
    return 0;
}

bool zzz_http_res_whole(zzz_res *res)
{
    if (res->done)
        return true;
    /* A streamed body the handler left without zzz_res_end is whole only
     * when it has no body to send, or delivered every promised byte
     * (through the filter: then the filter's end goes out now);
     * otherwise it is cut, and must look cut. */
    if (res->head_only || !zzz_http_status_has_body(res->status))
        return true;
    /* An event stream has no length to fall short of: it ends where its
     * handler stops, with the final chunk (or, HTTP/1.0, the close). */
    if (res->event_stream)
        return zzz_res_end(res) == 0;
    if (res->filtering)
        return res->filter_promise && res->filter_in == res->filter_promised &&
               zzz_res_end(res) == 0;
    return res->length_set && res->body_sent == res->content_length;
}

zzz_close zzz_http_res_cut_close(const zzz_res *res)
{
    /* A body delimited by the close would look whole after a FIN. */
    return res->close_delimited ? ZZZ_CLOSE_RESET : ZZZ_CLOSE_AUTO;
}

int zzz_http_error_early(zzz_conn *conn, const http_config *cfg, int status, const char *why,
                         const char *extra, zzz_close how)
{
    http_thread *t = http_thread_of(conn);
    if (status == 408)
        how = ZZZ_CLOSE_NOW; /* a client that stalled is not waited for */
    if (!cfg->on_error) {
        char answer[HTTP_SHORT_ANSWER_MAX];
        size_t n = zzz_http_short_answer(answer, t, status, extra);
        int err = zzz_conn_out(conn, answer, n);
        if (err == 0)
            err = zzz_conn_flush(conn);
        zzz_conn_close_mode(conn, how);
        return err;
    }
    /* A request with nothing in it, so the handler has a whole response
     * to work with. */
    zzz_req req;
    zzz_res res;
    zzz_http_req_init(&req, conn, cfg);
    req.early = true;
    req.head.version_minor = 1;
    req.head.body = HTTP_BODY_NONE;
    zzz_http_res_init(&res, conn, &req);
    res.close = true;
    /* extra is one line of zzz's own ("Retry-After: 1\r\n"). */
    if (extra) {
        const char *colon = strchr(extra, ':');
        const char *eol = strstr(extra, "\r\n");
        if (colon && eol && colon < eol) {
            const char *v = colon + 1;
            while (*v == ' ')
                v++;
            zzz_res_header_str(&res, (zzz_str){extra, (size_t)(colon - extra)},
                               (zzz_str){v, (size_t)(eol - v)});
        }
    }
    int err = zzz_http_error(&res, status, why);
    if (err == 0 && !zzz_http_res_whole(&res))
        err = -EPIPE; /* a streamed error page left unended */
    zzz_http_req_release(&req);
    if (err == 0)
        err = zzz_conn_flush(conn);
    zzz_conn_close_mode(conn, err ? zzz_http_res_cut_close(&res) : how);
    return err;
}
