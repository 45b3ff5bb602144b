/* multipart/form-data bodies read part by part as they arrive: the
 * delimiter scanner over a buffer of fixed size, and the part API on it
 * (the header rules are in multipart_head.c, saving in multipart_save.c). */
#include "multipart.h"

#include <errno.h>
#include <string.h>

size_t zzz_http_mp_buffer_size(const zzz_multipart_opts *opts)
{
    size_t head =
        opts && opts->max_header_bytes ? opts->max_header_bytes : ZZZ_MULTIPART_HEADER_BYTES;
    /* Too large to allocate rather than wrapped round. */
    return head > SIZE_MAX - MP_WINDOW ? SIZE_MAX : head + MP_WINDOW;
}

int zzz_http_mp_init(zzz_multipart *mp, zzz_str type, const zzz_multipart_opts *opts, char *buf,
                     size_t cap)
{
    memset(mp, 0, sizeof *mp);
    zzz_str boundary;
    int err = zzz_http_mp_boundary(type, mp->delim + 4, &boundary);
    if (err)
        return err;
    memcpy(mp->delim, "\r\n--", 4);
    mp->delim_len = 4 + boundary.len;
    mp->buf = buf;
    mp->cap = cap;
    mp->state = MP_PREAMBLE;
    mp->max_part_bytes = opts && opts->max_part_bytes ? opts->max_part_bytes : UINT64_MAX;
    mp->max_header_bytes =
        opts && opts->max_header_bytes ? opts->max_header_bytes : ZZZ_MULTIPART_HEADER_BYTES;
    mp->max_parts = opts && opts->max_parts ? opts->max_parts : ZZZ_MULTIPART_PARTS;
    mp->part.mp = mp;
    return 0;
}

/* The status that answers a refusal, for a handler that does not. */
static int refusal_status(int err)
{
    switch (err) {
    case -EBADMSG:
        return 400;
    case -EFBIG:
    case -EMSGSIZE:
    case -E2BIG:
    case -ENOMEM:
        return 413;
    case -ENOTSUP:
        return 415;
    default:
        return 0; /* the body's own errors are answered as it failed */
    }
}

int zzz_http_mp_fail(zzz_multipart *mp, int err)
{
    if (mp->state == MP_FAILED)
        return mp->err;
    mp->state = MP_FAILED;
    mp->err = err;
    int status = refusal_status(err);
    if (mp->req && status)
        zzz_http_req_reject(mp->req, status);
    return err;
}

/* Pulls more of the body in after what is buffered, first moving that
 * down to base. Returns the count, 0 at the body's end, or the error. */
static ssize_t mp_fill(zzz_multipart *mp)
{
    if (mp->eof)
        return 0;
    if (mp->start > mp->base) {
        size_t n = mp->end - mp->start;
        memmove(mp->buf + mp->base, mp->buf + mp->start, n);
        mp->start = mp->base;
        mp->end = mp->base + n;
    }
    /* Never full here: the callers want fewer bytes than the room past
     * base (a delimiter, a header section of at most max_header_bytes). A
     * pull of 0 bytes would read as the body's end. */
    if (mp->end == mp->cap)
        return -ENOBUFS;
    ssize_t n = mp->pull(mp->pull_ctx, mp->buf + mp->end, mp->cap - mp->end);
    if (n == 0)
        mp->eof = true;
    if (n > 0)
        mp->end += (size_t)n;
    return n;
}

/* Fills until at least n bytes are buffered. 0, -EBADMSG when the body
 * ends first, or the pull's error. */
static int mp_want(zzz_multipart *mp, size_t n)
{
    while (mp->end - mp->start < n) {
        if (mp->eof)
            return -EBADMSG;
        ssize_t r = mp_fill(mp);
        if (r < 0)
            return (int)r;
    }
    return 0;
}

void zzz_http_mp_consume(zzz_multipart *mp, size_t n)
{
    mp->start += n;
    mp->known -= n;
}

ssize_t zzz_http_mp_content(zzz_multipart *mp, const char **at)
{
    if (mp->state == MP_FAILED)
        return mp->err;
    if (mp->state != MP_CONTENT && mp->state != MP_PREAMBLE)
        return 0;
    size_t dl = mp->delim_len;
    if (mp->fresh) {
        int err = mp_want(mp, dl - 2);
        if (err)
            return zzz_http_mp_fail(mp, err);
        mp->fresh = false;
        if (memcmp(mp->buf + mp->start, mp->delim + 2, dl - 2) == 0) {
            mp->start += dl - 2;
            mp->state = MP_DELIM;
            mp->part.ended = true;
            return 0;
        }
    }
    for (;;) {
        if (mp->known == 0 && !mp->hit) {
            /* What can be told from the buffer: content up to the
             * delimiter, or up to the last dl - 1 bytes, which may be
             * its beginning. */
            size_t avail = mp->end - mp->start;
            const char *p = mp->buf + mp->start;
            const char *d = avail >= dl ? memmem(p, avail, mp->delim, dl) : NULL;
            if (d) {
                mp->known = (size_t)(d - p);
                mp->hit = true;
            } else if (mp->eof) {
                mp->known = avail; /* too late for a delimiter to come */
            } else {
                mp->known = avail >= dl ? avail - (dl - 1) : 0;
            }
            /* Content up to the limit is given, then the error: the
             * same bytes however the body arrives. */
            if (mp->state == MP_CONTENT && mp->known > mp->max_part_bytes - mp->part.bytes) {
                if (mp->part.bytes == mp->max_part_bytes)
                    return zzz_http_mp_fail(mp, -EFBIG);
                mp->known = (size_t)(mp->max_part_bytes - mp->part.bytes);
                mp->hit = false;
            }
        }
        if (mp->known > 0) {
            *at = mp->buf + mp->start;
            return (ssize_t)mp->known;
        }
        if (mp->hit) {
            mp->start += dl;
            mp->hit = false;
            mp->state = MP_DELIM;
            mp->part.ended = true;
            return 0;
        }
        if (mp->eof)
            return zzz_http_mp_fail(mp, -EBADMSG); /* no delimiter came */
        ssize_t r = mp_fill(mp);
        if (r < 0)
            return zzz_http_mp_fail(mp, (int)r);
    }
}

/* Drops the preamble: up to a first delimiter at the body's very start
 * (without the CRLF before it) or anywhere after a CRLF. */
static int mp_preamble(zzz_multipart *mp)
{
    size_t dash = mp->delim_len - 2; /* "--boundary" */
    while (mp->end - mp->start < dash && !mp->eof) {
        ssize_t r = mp_fill(mp);
        if (r < 0)
            return zzz_http_mp_fail(mp, (int)r);
    }
    if (mp->end - mp->start >= dash && memcmp(mp->buf + mp->start, mp->delim + 2, dash) == 0) {
        mp->start += dash;
        mp->state = MP_DELIM;
        return 0;
    }
    const char *at;
    ssize_t n;
    while ((n = zzz_http_mp_content(mp, &at)) > 0)
        zzz_http_mp_consume(mp, (size_t)n);
    return (int)n;
}

/* After a delimiter: its line's end. Returns 1 when a part follows, 0
 * after the close delimiter (the epilogue read and dropped), or the
 * error. */
static int mp_delimiter_end(zzz_multipart *mp)
{
    int err = mp_want(mp, 2);
    if (err)
        return zzz_http_mp_fail(mp, err);
    const char *p = mp->buf + mp->start;
    if (p[0] == '-' && p[1] == '-') {
        mp->state = MP_DONE;
        /* What follows is the epilogue: read to the body's end, so the
         * connection can go on to its next request. */
        while (!mp->eof) {
            mp->start = mp->end = mp->base = 0;
            ssize_t r = mp_fill(mp);
            if (r < 0)
                return zzz_http_mp_fail(mp, (int)r);
        }
        mp->start = mp->end = mp->base = 0;
        return 0;
    }
    /* Transport padding (RFC 2046: spaces and tabs) before the CRLF. */
    for (;;) {
        while (mp->start < mp->end && (mp->buf[mp->start] == ' ' || mp->buf[mp->start] == '\t'))
            mp->start++;
        if (mp->start < mp->end)
            break;
        err = mp_want(mp, 1);
        if (err)
            return zzz_http_mp_fail(mp, err);
    }
    err = mp_want(mp, 2);
    if (err)
        return zzz_http_mp_fail(mp, err);
    if (memcmp(mp->buf + mp->start, "\r\n", 2) != 0)
        return zzz_http_mp_fail(mp, -EBADMSG);
    mp->start += 2;
    return 1;
}

/* Reads the next part's header section, and keeps its lines at the
 * buffer's start (base) while its content streams after them. */
static int mp_read_head(zzz_multipart *mp)
{
    /* The last part's lines are done with: the whole buffer is free. */
    mp->base = 0;
    size_t max = mp->max_header_bytes, scanned = 0;
    const char *end_at;
    for (;;) {
        size_t avail = mp->end - mp->start;
        const char *p = mp->buf + mp->start;
        if (avail >= 2 && p[0] == '\r' && p[1] == '\n')
            return zzz_http_mp_fail(mp, -EBADMSG); /* no fields: no Content-Disposition */
        /* Only what is new is searched, with the 3 bytes before it. */
        size_t from = scanned > 3 ? scanned - 3 : 0;
        end_at = avail >= 4 ? memmem(p + from, avail - from, "\r\n\r\n", 4) : NULL;
        if (end_at)
            break;
        scanned = avail;
        /* Without its end in avail bytes, the section has more than avail. */
        if (avail >= max)
            return zzz_http_mp_fail(mp, -EMSGSIZE);
        int err = mp_want(mp, avail + 1);
        if (err)
            return zzz_http_mp_fail(mp, err);
    }
    const char *p = mp->buf + mp->start;
    size_t lines = (size_t)(end_at - p) + 2;
    if (lines + 2 > max)
        return zzz_http_mp_fail(mp, -EMSGSIZE);
    size_t rest = mp->end - mp->start - lines - 2;
    memmove(mp->buf, p, lines);
    memmove(mp->buf + lines, p + lines + 2, rest);
    mp->base = mp->start = lines;
    mp->end = lines + rest;
    zzz_part *part = &mp->part;
    *part = (zzz_part){.mp = mp, .head = mp->buf, .head_len = lines};
    int err = zzz_http_mp_head(mp, part);
    if (err)
        return zzz_http_mp_fail(mp, err);
    return 0;
}

/* The part API: every call of a failed reader returns its error. */

int zzz_multipart_next(zzz_multipart *mp, zzz_part **part)
{
    if (!mp || !part)
        return -EINVAL;
    if (mp->state == MP_PREAMBLE) {
        int err = mp_preamble(mp);
        if (err)
            return err;
    }
    if (mp->state == MP_CONTENT) {
        const char *at;
        ssize_t n;
        while ((n = zzz_http_mp_content(mp, &at)) > 0) {
            mp->part.bytes += (uint64_t)n;
            zzz_http_mp_consume(mp, (size_t)n);
        }
        if (n < 0)
            return (int)n;
    }
    if (mp->state == MP_FAILED)
        return mp->err;
    if (mp->state == MP_DONE)
        return 0;
    int r = mp_delimiter_end(mp);
    if (r <= 0)
        return r;
    if (mp->parts == mp->max_parts)
        return zzz_http_mp_fail(mp, -E2BIG);
    mp->parts++;
    int err = mp_read_head(mp);
    if (err)
        return err;
    mp->state = MP_CONTENT;
    mp->fresh = true;
    *part = &mp->part;
    return 1;
}

zzz_str zzz_part_name(const zzz_part *part)
{
    return part->name;
}

bool zzz_part_filename(const zzz_part *part, zzz_str *filename)
{
    if (part->has_filename && filename)
        *filename = part->filename;
    return part->has_filename;
}

zzz_str zzz_part_content_type(const zzz_part *part)
{
    return part->content_type;
}

bool zzz_part_header(const zzz_part *part, const char *name, zzz_str *value)
{
    size_t nlen = strlen(name);
    const char *p = part->head, *end = part->head + part->head_len;
    while (p < end) {
        /* The lines were checked: each has a ':' and ends in CRLF. */
        const char *eol = memchr(p, '\r', (size_t)(end - p));
        const char *colon = memchr(p, ':', (size_t)(eol - p));
        if ((size_t)(colon - p) == nlen && zzz_http_name_eq((zzz_str){p, nlen}, name)) {
            const char *v = colon + 1, *ve = eol;
            while (v < ve && (*v == ' ' || *v == '\t'))
                v++;
            while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
                ve--;
            if (value)
                *value = (zzz_str){v, (size_t)(ve - v)};
            return true;
        }
        p = eol + 2;
    }
    return false;
}

ssize_t zzz_part_read(zzz_part *part, void *buf, size_t len)
{
    if (!part)
        return -EINVAL;
    zzz_multipart *mp = part->mp;
    if (mp->state == MP_FAILED)
        return mp->err;
    if (part->ended || mp->state != MP_CONTENT || len == 0)
        return 0;
    const char *at;
    ssize_t n = zzz_http_mp_content(mp, &at);
    if (n <= 0)
        return n;
    size_t take = (size_t)n < len ? (size_t)n : len;
    memcpy(buf, at, take);
    zzz_http_mp_consume(mp, take);
    part->bytes += take;
    return (ssize_t)take;
}

int zzz_part_text(zzz_part *part, size_t max, zzz_str *text)
{
    if (!part || !text)
        return -EINVAL;
    zzz_multipart *mp = part->mp;
    char *data = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        const char *at;
        ssize_t n = part->ended || mp->state != MP_CONTENT ? 0 : zzz_http_mp_content(mp, &at);
        if (mp->state == MP_FAILED)
            return mp->err;
        if (n == 0)
            break;
        if ((size_t)n > max - len) {
            if (mp->req)
                zzz_http_req_reject(mp->req, 413);
            return -EFBIG;
        }
        if ((size_t)n > cap - len) {
            /* Doubles, so a long text costs at most twice its length. */
            size_t grow = cap ? cap * 2 : 256;
            if (grow < len + (size_t)n)
                grow = len + (size_t)n;
            if (grow > max)
                grow = max;
            char *more = mp->alloc(mp->alloc_ctx, grow);
            if (!more) {
                if (mp->req)
                    zzz_http_req_reject(mp->req, 413);
                return -ENOMEM;
            }
            if (len)
                memcpy(more, data, len);
            data = more;
            cap = grow;
        }
        memcpy(data + len, at, (size_t)n);
        len += (size_t)n;
        zzz_http_mp_consume(mp, (size_t)n);
        part->bytes += (uint64_t)n;
    }
    *text = (zzz_str){len ? data : "", len};
    return 0;
}

/* ---- from a request ------------------------------------------------------ */

static ssize_t pull_request(void *ctx, void *buf, size_t len)
{
    return zzz_req_read(ctx, buf, len);
}

/* A body read whole before (zzz_req_body): its buffer, from where the
 * reader has got to. */
typedef struct stored_body {
    zzz_str body;
    size_t pos;
} stored_body;

static ssize_t pull_stored(void *ctx, void *buf, size_t len)
{
    stored_body *s = ctx;
    size_t n = s->body.len - s->pos < len ? s->body.len - s->pos : len;
    memcpy(buf, s->body.ptr + s->pos, n);
    s->pos += n;
    return (ssize_t)n;
}

static void *alloc_request(void *ctx, size_t n)
{
    return zzz_alloc(ctx, n);
}

int zzz_req_multipart(zzz_req *req, const zzz_multipart_opts *opts, zzz_multipart **out)
{
    if (!req || !out)
        return -EINVAL;
    *out = NULL;
    zzz_str type;
    int err;
    if (!zzz_req_header(req, "Content-Type", &type)) {
        zzz_http_req_reject(req, 415);
        return -ENOTSUP;
    }
    if (req->body_state == BODY_ERROR)
        return req->body_err;
    bool stored = req->body_buf && req->body_state == BODY_DONE;
    if (!stored && req->body_read > 0)
        return -EALREADY;
    size_t cap = zzz_http_mp_buffer_size(opts);
    zzz_multipart *mp = zzz_alloc(req, sizeof *mp);
    char *buf = mp ? zzz_alloc(req, cap) : NULL;
    if (!buf)
        return -ENOMEM;
    err = zzz_http_mp_init(mp, type, opts, buf, cap);
    if (err) {
        zzz_http_req_reject(req, refusal_status(err));
        return err;
    }
    mp->req = req;
    mp->alloc = alloc_request;
    mp->alloc_ctx = req;
    mp->pull = pull_request;
    mp->pull_ctx = req;
    if (stored) {
        stored_body *s = zzz_alloc(req, sizeof *s);
        if (!s)
            return -ENOMEM;
        *s = (stored_body){.body = {req->body_buf, (size_t)req->body_read}};
        mp->pull = pull_stored;
        mp->pull_ctx = s;
    }
    *out = mp;
    return 0;
}
