/* permessage-deflate (RFC 7692): the reading of Sec-WebSocket-Extensions
 * offers, and one message at a time through zlib's raw deflate, with no
 * context kept from one message to the next. */
#include "ws_deflate.h"

#include "chars.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef ZZZ_HAVE_ZLIB
#include <zlib.h>
#endif

/* ---- the offer ---------------------------------------------------------- */

/* The grammar (RFC 6455 9.1, with RFC 7230's tokens, quoted strings and
 * the optional white space that RFC 2616's implied LWS allowed around
 * every separator):
 *   extension-list = 1#extension
 *   extension      = token *( ";" param )
 *   param          = token [ "=" ( token | quoted-string ) ]
 * A quoted value is read unescaped (it must then be a token; a window
 * size, digits). */

/* A parameter value as read, unescaped; a window value has at most two
 * digits, so a longer one need not be kept, only known as too long. */
#define VALUE_KEEP 8

typedef struct param_value {
    bool present;
    bool too_long;
    size_t len;
    char text[VALUE_KEEP];
} param_value;

typedef struct offer {
    bool server_no_context, client_no_context;
    bool server_bits_seen, client_bits_seen;
    int server_bits; /* 8..15 when seen */
    bool usable;     /* no unknown, repeated or bad parameter so far */
} offer;

static bool is_ows(char c)
{
    return c == ' ' || c == '\t';
}

static const char *skip_ows(const char *p, const char *end)
{
    while (p < end && is_ows(*p))
        p++;
    return p;
}

/* A token at p: its end, or p itself when there is none. */
static const char *token_end(const char *p, const char *end)
{
    while (p < end && (cls[(unsigned char)*p] & C_TCHAR))
        p++;
    return p;
}

static bool same_name(const char *p, size_t len, const char *name)
{
    size_t name_len = strlen(name);
    if (len != name_len)
        return false;
    for (size_t i = 0; i < len; i++)
        if (LOWER(p[i]) != (unsigned char)name[i])
            return false;
    return true;
}

static void value_add(param_value *v, char c)
{
    if (v->len < VALUE_KEEP)
        v->text[v->len] = c;
    else
        v->too_long = true;
    v->len++;
}

/* A quoted-string at p (on its opening quote), unescaped into v: the
 * position after the closing quote, or NULL when it is malformed. */
static const char *quoted_read(const char *p, const char *end, param_value *v)
{
    for (p++; p < end; p++) {
        unsigned char c = (unsigned char)*p;
        if (c == '"')
            return p + 1;
        if (c == '\\') {
            if (++p == end)
                return NULL;
            c = (unsigned char)*p;
            if (!(c == '\t' || c == ' ' || IS_VCHAR(c) || IS_OBS_TEXT(c)))
                return NULL;
        } else if (!(cls[c] & C_QDTEXT)) {
            return NULL;
        }
        value_add(v, (char)c);
    }
    return NULL;
}

/* A window size as RFC 7692 7.1.2 writes it: 1*DIGIT without leading
 * zeroes, 8..15. Returns it, or -1. */
static int window_value(const param_value *v)
{
    if (v->too_long || v->len == 0 || v->len > 2 || v->text[0] == '0')
        return -1;
    int bits = 0;
    for (size_t i = 0; i < v->len; i++) {
        if (!IS_DIGIT(v->text[i]))
            return -1;
        bits = bits * 10 + (v->text[i] - '0');
    }
    return bits >= 8 && bits <= 15 ? bits : -1;
}

/* Records one parameter of a permessage-deflate offer. RFC 7692 5: an
 * offer with a parameter it does not define, a bad value or a repeated
 * parameter is declined. Parameter names, like HTTP's, are matched
 * without regard to case. */
static void offer_param(offer *o, const char *name, size_t name_len, const param_value *v)
{
    if (same_name(name, name_len, "server_no_context_takeover")) {
        if (o->server_no_context || v->present)
            o->usable = false;
        o->server_no_context = true;
    } else if (same_name(name, name_len, "client_no_context_takeover")) {
        if (o->client_no_context || v->present)
            o->usable = false;
        o->client_no_context = true;
    } else if (same_name(name, name_len, "server_max_window_bits")) {
        /* It must have a value (7.1.2.1). */
        int bits = v->present ? window_value(v) : -1;
        if (o->server_bits_seen || bits < 0)
            o->usable = false;
        o->server_bits_seen = true;
        o->server_bits = bits;
    } else if (same_name(name, name_len, "client_max_window_bits")) {
        /* With or without a value (7.1.2.2). */
        if (o->client_bits_seen || (v->present && window_value(v) < 0))
            o->usable = false;
        o->client_bits_seen = true;
    } else {
        o->usable = false;
    }
}

/* Past the element at p, to the next ',' outside a quoted string (or
 * the end): where a malformed element is left behind. */
static const char *element_skip(const char *p, const char *end)
{
    bool quoted = false;
    for (; p < end; p++) {
        if (quoted && *p == '\\' && p + 1 < end)
            p++;
        else if (*p == '"')
            quoted = !quoted;
        else if (!quoted && *p == ',')
            return p;
    }
    return end;
}

/* One extension at p (past its leading white space): fills *o when it is
 * permessage-deflate and returns true when it was read whole; p ends on
 * the ',' after it or at the end either way. */
static bool element_read(const char **pp, const char *end, bool *is_deflate, offer *o)
{
    const char *p = *pp;
    const char *name_end = token_end(p, end);
    bool ok = name_end > p;
    *is_deflate = ok && same_name(p, (size_t)(name_end - p), "permessage-deflate");
    *o = (offer){.usable = true};
    p = name_end;
    while (ok) {
        p = skip_ows(p, end);
        if (p == end || *p == ',')
            break;
        if (*p != ';') {
            ok = false;
            break;
        }
        const char *name = skip_ows(p + 1, end);
        const char *param_end = token_end(name, end);
        if (param_end == name) {
            ok = false;
            break;
        }
        param_value v = {0};
        p = skip_ows(param_end, end);
        if (p < end && *p == '=') {
            v.present = true;
            p = skip_ows(p + 1, end);
            if (p < end && *p == '"') {
                p = quoted_read(p, end, &v);
                ok = p != NULL;
            } else {
                const char *value_end = token_end(p, end);
                ok = value_end > p;
                for (; p < value_end; p++)
                    value_add(&v, *p);
            }
        }
        if (ok && *is_deflate)
            offer_param(o, name, (size_t)(param_end - name), &v);
    }
    *pp = ok ? p : element_skip(*pp, end);
    return ok;
}

#ifdef ZZZ_HAVE_ZLIB
static const bool have_zlib = true;
#else
static const bool have_zlib = false;
#endif

bool zzz_ws_deflate_accept(const char *value, size_t value_len, char *out, size_t outcap,
                           int *window_bits)
{
    if (value_len == 0)
        return false;
    const char *p = value, *end = value + value_len;
    while (p < end) {
        p = skip_ows(p, end);
        if (p == end)
            break;
        if (*p == ',') { /* 1#rule: empty elements are allowed */
            p++;
            continue;
        }
        bool is_deflate;
        offer o;
        bool whole = element_read(&p, end, &is_deflate, &o);
        if (p < end)
            p++; /* the ',' */
        if (!have_zlib || !whole || !is_deflate || !o.usable)
            continue;
        int bits = o.server_bits_seen ? o.server_bits : 15;
        char answer[128];
        int len = snprintf(answer, sizeof answer,
                           "permessage-deflate; server_no_context_takeover; "
                           "client_no_context_takeover");
        /* A client that limits our window must hear the limit back
         * (7.1.2.1), even at 15. */
        if (o.server_bits_seen)
            len += snprintf(answer + len, sizeof answer - (size_t)len,
                            "; server_max_window_bits=%d", bits);
        if ((size_t)len >= outcap)
            return false;
        memcpy(out, answer, (size_t)len + 1);
        *window_bits = bits;
        return true;
    }
    return false;
}

/* ---- the codec ---------------------------------------------------------- */

#ifdef ZZZ_HAVE_ZLIB

struct zzz_ws_zlib {
    z_stream deflater, inflater;
    int deflater_bits; /* its window; 0: not set up yet */
    bool inflater_ready;
};

/* The empty stored block a sync flush ends with (RFC 7692 7.2.1). */
static const uint8_t sync_tail[4] = {0x00, 0x00, 0xff, 0xff};

/* zlib counts in uInt: a larger buffer goes through in pieces. */
static uInt chunk(size_t len)
{
    return len > UINT_MAX ? UINT_MAX : (uInt)len;
}

int zzz_ws_zlib_create(zzz_ws_zlib **out)
{
    zzz_ws_zlib *z = calloc(1, sizeof *z);
    if (!z)
        return -ENOMEM;
    *out = z;
    return 0;
}

void zzz_ws_zlib_destroy(zzz_ws_zlib *z)
{
    if (!z)
        return;
    if (z->deflater_bits)
        deflateEnd(&z->deflater);
    if (z->inflater_ready)
        inflateEnd(&z->inflater);
    free(z);
}

/* Grows buf (capacity *cap, len bytes used) towards limit, doubling:
 * 0, or -ENOMEM. */
static int buf_grow(uint8_t **buf, size_t *cap, size_t limit)
{
    /* Straight to the limit when one more doubling would leave less
     * than the current size to go: no last step of a few bytes that
     * would hold two buffers of about the limit at once. */
    size_t want = *cap > limit / 3 ? limit : *cap * 2;
    uint8_t *bigger = realloc(*buf, want);
    if (!bigger)
        return -ENOMEM;
    *buf = bigger;
    *cap = want;
    return 0;
}

/* The inflater, made on first use with the largest window, which reads
 * a stream made with any window; reset for each message. */
static int inflater_ready(zzz_ws_zlib *z)
{
    if (z->inflater_ready)
        return inflateReset(&z->inflater) == Z_OK ? 0 : -EINVAL;
    memset(&z->inflater, 0, sizeof z->inflater);
    int rc = inflateInit2(&z->inflater, -15);
    if (rc != Z_OK)
        return rc == Z_MEM_ERROR ? -ENOMEM : -EINVAL;
    z->inflater_ready = true;
    return 0;
}

/* The message with the tail added is read as DEFLATE data (RFC 7692
 * 7.2.2) and must end on a block boundary, as a sender's data always
 * does: after the tail's empty stored block, or after a final block.
 * Data that stops inside a block is cut short: -EBADMSG. A sender may
 * end with a block that has BFINAL set instead of a sync flush (7.2.3):
 * the message may end there, or, as the RFC's example does, go on with
 * a byte that makes an empty stored block of the tail. So what follows
 * a final block is read on as new DEFLATE data, under the same rule.
 * zlib reports the boundary in data_type: 128 when it stopped waiting
 * for a block's header. */
static int inflate_run(z_stream *s, const uint8_t *in, size_t in_len, size_t max, uint8_t **buf,
                       size_t *cap, size_t *len)
{
    size_t limit = max < SIZE_MAX ? max + 1 : SIZE_MAX;
    /* Phase 0 reads the message, phase 1 the tail. */
    for (int phase = 0; phase < 2; phase++) {
        const uint8_t *src = phase == 0 ? in : sync_tail;
        size_t total = phase == 0 ? in_len : sizeof sync_tail, left = total;
        s->avail_in = 0;
        for (;;) {
            if (s->avail_in == 0 && left > 0) {
                s->next_in = (Bytef *)(uintptr_t)(src + (total - left));
                s->avail_in = chunk(left);
                left -= s->avail_in;
            }
            if (*len == *cap) {
                if (*cap == limit)
                    return -EMSGSIZE;
                int err = buf_grow(buf, cap, limit);
                if (err)
                    return err;
            }
            s->next_out = *buf + *len;
            s->avail_out = chunk(*cap - *len);
            uInt room = s->avail_out;
            uInt had = s->avail_in;
            int rc = inflate(s, Z_SYNC_FLUSH);
            *len += room - s->avail_out;
            if (*len > max)
                return -EMSGSIZE;
            if (rc == Z_STREAM_END) {
                /* Nothing after the final block: the tail is not needed
                 * (or was the end of that block). */
                if (s->avail_in == 0 && left == 0)
                    return 0;
                if (inflateReset(s) != Z_OK)
                    return -EINVAL;
                continue;
            }
            if (rc == Z_MEM_ERROR)
                return -ENOMEM;
            if (rc != Z_OK && rc != Z_BUF_ERROR)
                return -EBADMSG;
            /* All input read and room to spare: zlib has given all it
             * can from it. */
            if (s->avail_in == 0 && left == 0 && s->avail_out > 0)
                break;
            /* No progress with input and room both there: cannot be. */
            if (rc == Z_BUF_ERROR && s->avail_out > 0 && s->avail_in == had)
                return -EBADMSG;
        }
    }
    return s->data_type & 128 ? 0 : -EBADMSG;
}

int zzz_ws_inflate(zzz_ws_zlib *z, const uint8_t *in, size_t in_len, size_t max, uint8_t **out,
                   size_t *out_len)
{
    if (in_len == 0) {
        /* No data at all: an empty message, as some senders write it
         * (the RFC's is the one byte 00). */
        uint8_t *empty = malloc(1);
        if (!empty)
            return -ENOMEM;
        *out = empty;
        *out_len = 0;
        return 0;
    }
    int err = inflater_ready(z);
    if (err)
        return err;
    /* A first guess from the input (text inflates some three to ten
     * times), doubled as needed up to max + 1: the byte past max is how
     * a message too long shows itself, and no buffer grows further. */
    size_t limit = max < SIZE_MAX ? max + 1 : SIZE_MAX;
    size_t cap = in_len < (SIZE_MAX >> 3) ? in_len * 4 : SIZE_MAX;
    if (cap < 256)
        cap = 256;
    if (cap > 256 * 1024)
        cap = 256 * 1024;
    if (cap > limit)
        cap = limit;
    uint8_t *buf = malloc(cap);
    if (!buf)
        return -ENOMEM;
    size_t len = 0;
    err = inflate_run(&z->inflater, in, in_len, max, &buf, &cap, &len);
    if (err) {
        free(buf);
        return err;
    }
    *out = buf;
    *out_len = len;
    return 0;
}

/* The deflater for a window: made on first use, made again when the
 * window changes (zlib cannot change it on a live stream), else reset. */
static int deflater_ready(zzz_ws_zlib *z, int window_bits)
{
    if (z->deflater_bits == window_bits)
        return deflateReset(&z->deflater) == Z_OK ? 0 : -EINVAL;
    if (z->deflater_bits) {
        deflateEnd(&z->deflater);
        z->deflater_bits = 0;
    }
    memset(&z->deflater, 0, sizeof z->deflater);
    int rc = deflateInit2(&z->deflater, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -window_bits, 8,
                          Z_DEFAULT_STRATEGY);
    if (rc != Z_OK)
        return rc == Z_MEM_ERROR ? -ENOMEM : -EINVAL;
    z->deflater_bits = window_bits;
    return 0;
}

int zzz_ws_deflate(zzz_ws_zlib *z, int window_bits, const uint8_t *in, size_t in_len, uint8_t **out,
                   size_t *out_len)
{
    if (window_bits < 9 || window_bits > 15)
        return -EINVAL;
    int err = deflater_ready(z, window_bits);
    if (err)
        return err;
    z_stream *s = &z->deflater;
    /* deflateBound covers the input whole; the sync flush adds its empty
     * block, a few bytes. More room is found if ever needed. */
    size_t cap = (size_t)deflateBound(s, (uLong)in_len) + 16;
    uint8_t *buf = malloc(cap);
    if (!buf)
        return -ENOMEM;
    size_t len = 0, left = in_len;
    s->next_in = (Bytef *)(uintptr_t)in;
    s->avail_in = 0;
    for (;;) {
        if (s->avail_in == 0 && left > 0) {
            s->avail_in = chunk(left);
            left -= s->avail_in;
        }
        /* More than six bytes of room for the flush marker (zlib.h). */
        if (cap - len < 8) {
            err = buf_grow(&buf, &cap, SIZE_MAX);
            if (err) {
                free(buf);
                return err;
            }
        }
        s->next_out = buf + len;
        s->avail_out = chunk(cap - len);
        uInt room = s->avail_out;
        int flush = left == 0 ? Z_SYNC_FLUSH : Z_NO_FLUSH;
        int rc = deflate(s, flush);
        len += room - s->avail_out;
        if (rc != Z_OK && rc != Z_BUF_ERROR) {
            free(buf);
            return -EINVAL;
        }
        if (flush == Z_SYNC_FLUSH && s->avail_in == 0 && s->avail_out > 0)
            break;
    }
    /* A sync flush always ends with the empty stored block. */
    if (len < 4 || memcmp(buf + len - 4, sync_tail, 4) != 0) {
        free(buf);
        return -EIO;
    }
    *out = buf;
    *out_len = len - 4;
    return 0;
}

#else /* no zlib */

/* Without zlib the object exists, so a thread's set-up is the same;
 * nothing is ever compressed with it. */
struct zzz_ws_zlib {
    char unused;
};

int zzz_ws_zlib_create(zzz_ws_zlib **out)
{
    zzz_ws_zlib *z = calloc(1, sizeof *z);
    if (!z)
        return -ENOMEM;
    *out = z;
    return 0;
}

void zzz_ws_zlib_destroy(zzz_ws_zlib *z)
{
    free(z);
}

int zzz_ws_inflate(zzz_ws_zlib *z, const uint8_t *in, size_t in_len, size_t max, uint8_t **out,
                   size_t *out_len)
{
    (void)z, (void)in, (void)in_len, (void)max, (void)out, (void)out_len;
    return -ENOTSUP;
}

int zzz_ws_deflate(zzz_ws_zlib *z, int window_bits, const uint8_t *in, size_t in_len, uint8_t **out,
                   size_t *out_len)
{
    (void)z, (void)window_bits, (void)in, (void)in_len, (void)out, (void)out_len;
    return -ENOTSUP;
}

#endif
