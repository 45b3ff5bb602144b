/* The answer about a file (static_impl.h): its header lines, the
 * preconditions of RFC 9110 13.2.2, one range, and the body from memory
 * or from a descriptor. */
#include "http.h"
#include "static_impl.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* Appends "Name: value\r\n" to out at *n (out NULL: only counts). */
static void line(char *out, size_t *n, const char *name, size_t name_len, const char *value)
{
    size_t vlen = strlen(value);
    if (out) {
        memcpy(out + *n, name, name_len);
        memcpy(out + *n + name_len, value, vlen);
        memcpy(out + *n + name_len + vlen, "\r\n", 2);
    }
    *n += name_len + vlen + 2;
}

#define LINE(out, n, name, value) line(out, n, name, sizeof name - 1, value)

/* The entity's header lines into out (NULL: their length only): with
 * `full`, those of a 200 or 206 (type, encoding, ranges), then those every
 * answer about it carries (validators, Cache-Control, Vary). Every value
 * is ours or was checked when mounted. Returns the length. */
static size_t entity_lines(const static_entity *e, bool full, char *out)
{
    size_t n = 0;
    if (full) {
        LINE(out, &n, "Content-Type: ", e->type);
        LINE(out, &n, "X-Content-Type-Options: ", "nosniff");
        LINE(out, &n, "Accept-Ranges: ", "bytes");
        if (e->encoding)
            LINE(out, &n, "Content-Encoding: ", e->encoding);
    }
    LINE(out, &n, "ETag: ", e->etag);
    LINE(out, &n, "Last-Modified: ", e->last_modified);
    if (e->cache_control)
        LINE(out, &n, "Cache-Control: ", e->cache_control);
    if (e->vary)
        LINE(out, &n, "Vary: ", "Accept-Encoding");
    return n;
}

/* Writes the lines straight into the response's room for them. */
static int entity_headers(zzz_res *res, const static_entity *e, bool full)
{
    size_t len = entity_lines(e, full, NULL);
    char *room = zzz_http_res_lines_room(res, len);
    if (!room)
        return -ENOBUFS;
    entity_lines(e, full, room);
    return 0;
}

static bool header(const zzz_req *req, const char *name, zzz_str *value)
{
    return zzz_req_header(req, name, value);
}

/* The preconditions, in RFC 9110 13.2.2's order: If-Match (else
 * If-Unmodified-Since) may fail the request (412); If-None-Match (else
 * If-Modified-Since) may find the client's copy current (304). Returns
 * 412, 304, or 0 to answer with the file. */
static int preconditions(const zzz_req *req, const static_entity *e)
{
    zzz_str v;
    time_t when;
    if (header(req, "If-Match", &v)) {
        if (!zzz_http_if_match(v.ptr, v.len, e->etag))
            return 412;
    } else if (header(req, "If-Unmodified-Since", &v) &&
               zzz_http_date_parse(v.ptr, v.len, &when) && e->mtime > when) {
        return 412;
    }
    if (header(req, "If-None-Match", &v))
        return zzz_http_none_match(v.ptr, v.len, e->etag) ? 304 : 0;
    if (header(req, "If-Modified-Since", &v) && zzz_http_date_parse(v.ptr, v.len, &when) &&
        e->mtime <= when)
        return 304;
    return 0;
}

/* Chooses the part to send: sets *first and *count, and answers 416
 * itself (returns false) when no range can be satisfied. */
static bool choose_range(const zzz_req *req, zzz_res *res, const static_entity *e,
                         uint64_t *first, uint64_t *count)
{
    *first = 0;
    *count = e->size;
    zzz_str range, if_range;
    if (!header(req, "Range", &range))
        return true;
    /* A date that is not a strong validator never matches: the earliest
     * time_t, which no HTTP-date reads as. */
    time_t if_date = e->date_strong ? e->mtime : (time_t)INT64_MIN;
    if (header(req, "If-Range", &if_range) &&
        !zzz_http_if_range(if_range.ptr, if_range.len, e->etag, if_date))
        return true; /* the client's part is of another version: all of it */
    uint64_t f, c;
    switch (zzz_http_range(range.ptr, range.len, e->size, &f, &c)) {
    case ZZZ_RANGE_ONE: {
        char content_range[80];
        snprintf(content_range, sizeof content_range, "bytes %llu-%llu/%llu",
                 (unsigned long long)f, (unsigned long long)(f + c - 1),
                 (unsigned long long)e->size);
        zzz_res_status(res, 206);
        zzz_res_header(res, "Content-Range", content_range);
        *first = f;
        *count = c;
        return true;
    }
    case ZZZ_RANGE_UNSATISFIABLE: {
        char content_range[48];
        snprintf(content_range, sizeof content_range, "bytes */%llu",
                 (unsigned long long)e->size);
        zzz_res_status(res, 416);
        zzz_res_header(res, "Content-Range", content_range);
        zzz_res_send(res, NULL, 0);
        return false;
    }
    case ZZZ_RANGE_MANY: /* answered whole, as RFC 9110 14.2 allows */
    case ZZZ_RANGE_NONE:
        break;
    }
    return true;
}

/* Answers the head of a file's response: 304, 412, 416, or the fields of
 * a 200 or 206 with its length. Returns false when that was the whole
 * answer. */
static bool answer_head(const zzz_req *req, zzz_res *res, const static_entity *e,
                        uint64_t *first, uint64_t *count)
{
    int pre = preconditions(req, e);
    if (pre == 304) {
        zzz_res_status(res, 304);
        entity_headers(res, e, false);
        zzz_res_send(res, NULL, 0);
        return false;
    }
    if (pre == 412) {
        zzz_res_text(res, 412, "Precondition Failed\n");
        return false;
    }
    if (!choose_range(req, res, e, first, count))
        return false;
    entity_headers(res, e, true);
    zzz_res_content_length(res, *count);
    return true;
}

void zzz_http_static_answer_bytes(zzz_req *req, zzz_res *res, const static_entity *e, const char *data)
{
    uint64_t first, count;
    if (answer_head(req, res, e, &first, &count) &&
        zzz_res_write(res, data + first, (size_t)count) == 0)
        zzz_res_end(res);
}

void zzz_http_static_entity_dates(static_entity *e, time_t mtime)
{
    time_t now = time(NULL);
    e->mtime = mtime < now ? mtime : now;
    e->date_strong = e->mtime < now;
    zzz_http_date_format(e->last_modified, e->mtime);
}

void zzz_http_static_answer_fd(zzz_req *req, zzz_res *res, const static_entity *e, int fd)
{
    uint64_t first, count;
    if (answer_head(req, res, e, &first, &count) &&
        zzz_res_sendfile(res, fd, (off_t)first, (size_t)count) == 0)
        zzz_res_end(res);
}
