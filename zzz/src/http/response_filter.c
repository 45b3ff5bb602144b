/* Body filters (zzz_res_filter): the seam through which a layer
 * transforms a response's body on its way out, and the response fields
 * a layer reads or removes before the head is composed. */
#include "http.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* Finds the line of the field called name at or after *pos in the
 * response's fields; sets *start and *end (past its CRLF). */
static bool field_find(const zzz_res *res, const char *name, size_t *pos, size_t *start,
                       size_t *end)
{
    size_t len = strlen(name);
    const char *h = res->headers;
    while (h && *pos < res->headers_len) {
        size_t at = *pos;
        const char *eol = memchr(h + at, '\n', res->headers_len - at);
        size_t next = eol ? (size_t)(eol - h) + 1 : res->headers_len;
        *pos = next;
        if (next - at > len && h[at + len] == ':' && strncasecmp(h + at, name, len) == 0) {
            *start = at;
            *end = next;
            return true;
        }
    }
    return false;
}

bool zzz_res_field(const zzz_res *res, const char *name, zzz_str *value)
{
    if (!name)
        return false;
    size_t pos = 0, start, end;
    if (!field_find(res, name, &pos, &start, &end))
        return false;
    if (value) {
        /* The lines are zzz's own: "Name: value\r\n", one space. */
        const char *v = res->headers + start + strlen(name) + 1;
        const char *stop = res->headers + end;
        while (v < stop && (*v == ' ' || *v == '\t'))
            v++;
        while (stop > v && (stop[-1] == '\n' || stop[-1] == '\r'))
            stop--;
        *value = (zzz_str){v, (size_t)(stop - v)};
    }
    return true;
}

bool zzz_http_res_field_has(const zzz_res *res, const char *name, const char *text)
{
    size_t text_len = strlen(text);
    size_t pos = 0, start, end;
    while (field_find(res, name, &pos, &start, &end)) {
        for (size_t i = start; i + text_len <= end; i++)
            if (strncasecmp(res->headers + i, text, text_len) == 0)
                return true;
    }
    return false;
}

int zzz_res_header_remove(zzz_res *res, const char *name)
{
    if (res->head_sent)
        return -EALREADY;
    if (!name)
        return 0;
    int removed = 0;
    size_t pos = 0, start, end;
    while (field_find(res, name, &pos, &start, &end)) {
        memmove(res->headers + start, res->headers + end, res->headers_len - end);
        res->headers_len -= end - start;
        pos = start;
        removed++;
    }
    return removed;
}

int zzz_res_filter(zzz_res *res, const zzz_body_filter *filter, void *state)
{
    if (!filter || !filter->begin || !filter->data)
        return -EINVAL;
    if (res->head_sent)
        return -EALREADY;
    zzz_req *req = res->req;
    if (req->filter)
        return -EBUSY;
    req->filter = filter;
    req->filter_state = state;
    return 0;
}

void zzz_http_res_filter_decide(zzz_res *res, int64_t length)
{
    zzz_req *req = res->req;
    if (res->filter_decided || !req->filter)
        return;
    res->filter_decided = true;
    if (!zzz_http_status_has_body(res->status)) {
        /* A 304 carries the fields its 200 would have (RFC 9110
         * 15.4.5): the filter sees it, though there is no body. */
        if (res->status == 304)
            req->filter->begin(res, req->filter_state, 0);
        return;
    }
    res->filtering = req->filter->begin(res, req->filter_state, length);
    if (res->filtering) {
        /* A promised length is about the bytes before the filter: it is
         * kept to, but what leaves has none. */
        res->filter_promise = res->length_set;
        res->filter_promised = res->content_length;
        res->length_set = false;
    }
}

int zzz_http_res_filter_feed(zzz_res *res, const void *data, size_t len, bool last)
{
    if (res->head_only)
        return 0;
    if (res->filter_promise && (len > res->filter_promised - res->filter_in ||
                                (last && res->filter_in + len != res->filter_promised)))
        return len > res->filter_promised - res->filter_in ? -EMSGSIZE : -EPIPE;
    res->filter_in += len;
    zzz_req *req = res->req;
    return req->filter->data(res, req->filter_state, data, len, last);
}

int zzz_res_filter_out(zzz_res *res, const void *data, size_t len)
{
    if (!res->filtering || !res->head_sent)
        return -EINVAL; /* only from a filter's data */
    if (len == 0 || res->head_only || !zzz_http_status_has_body(res->status))
        return 0;
    if (res->failed || res->aborted)
        return -EPIPE;
    int err = 0;
    if (res->chunked) {
        char size_line[24];
        int n = snprintf(size_line, sizeof size_line, "%zx\r\n", len);
        err = zzz_conn_out(res->conn, size_line, (size_t)n);
    }
    if (err == 0)
        err = zzz_conn_out(res->conn, data, len);
    if (err == 0 && res->chunked)
        err = zzz_conn_out(res->conn, "\r\n", 2);
    if (err) {
        res->close = true;
        res->failed = true;
        return err;
    }
    res->body_sent += len;
    return 0;
}

void zzz_http_req_filter_release(zzz_req *req)
{
    const zzz_body_filter *f = req->filter;
    req->filter = NULL;
    if (f && f->release)
        f->release(req->filter_state);
}
