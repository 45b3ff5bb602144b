/* Body filters (zzz_res_filter): the seam through which a layer
 * transforms a response's body on its way out. */
#include "http.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

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
