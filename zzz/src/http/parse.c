/* The HTTP/1.1 request-head parser (RFC 9112): the request-line, the
 * field lines and the empty line that ends them.
 *
 * The head parser makes one pass over the bytes received so far and keeps
 * no state between calls: the caller re-parses from the start when more
 * arrive. Because every decision depends only on the bytes before the
 * point where it is made, a prefix of a request either needs more bytes
 * or fails exactly as the whole request would.
 *
 * Choices where the RFCs leave room, all on the side of one reading of the
 * framing (request smuggling lives in the gaps between two parsers):
 *  - Every line of the head ends in CRLF; a bare LF or a bare CR
 *    anywhere is 400, at the byte that shows it (a CR
 *    that is the last byte received waits for its LF). RFC 9112 2.2 lets a
 *    recipient take a bare LF as a line end, but a proxy in front of us
 *    that does not would see one request where we see two: a server that
 *    accepts what its proxy refuses or reads differently is a smuggling
 *    target. The grammar itself says CRLF, so nothing valid is refused.
 *  - HTTP/1.2 to 1.9 are served as 1.1 (RFC 9110 2.5); another major
 *    version is 505.
 *  - A '#' in the request-target is refused: no form of it allows a
 *    fragment, and a router must never see one as part of a path.
 *
 * Elsewhere, each with its own choices: what the field lines mean (Host,
 * Connection, Expect, Content-Length, Transfer-Encoding) in fields.c; the
 * request-target's forms and percent-decoding in target.c; the
 * chunked-body decoder, which follows the same rules, in chunked.c.
 */
#include "parse.h"
#include "fields.h"
#include "scan.h"
#include "target.h"

#include <limits.h>
#include <string.h>

/* ---- scanning -----------------------------------------------------------
 * Field values and targets, most of a head's bytes, go 16 bytes at a time
 * with SSE2; the helpers shared with fields.c and target.c are scan.h's. */

#if defined(__SSE2__)
#include <emmintrin.h>

/* Sixteen bytes at a time where the CPU has SSE2 (every x86-64): a mask of
 * the bytes of v that are >= lo and <= hi, as unsigned numbers. */
static inline unsigned in_range_mask(__m128i v, unsigned char lo, unsigned char hi)
{
    __m128i ge = _mm_cmpeq_epi8(_mm_max_epu8(v, _mm_set1_epi8((char)lo)), v);
    __m128i le = _mm_cmpeq_epi8(_mm_min_epu8(v, _mm_set1_epi8((char)hi)), v);
    return (unsigned)_mm_movemask_epi8(_mm_and_si128(ge, le));
}

/* A field value runs to its CR or LF: the first byte that is a CTL or DEL
 * (HTAB excepted), or end. */
static inline const unsigned char *skip_value(const unsigned char *p, const unsigned char *end)
{
    for (;;) {
        while (end - p >= 16) {
            __m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
            unsigned ok = in_range_mask(v, 0x20, 0x7E) |
                          (unsigned)_mm_movemask_epi8(v); /* obs-text: the top bit */
            if (ok != 0xFFFF) {
                p += __builtin_ctz(~ok);
                break;
            }
            p += 16;
        }
        if (end - p < 16)
            return skip_class(p, end, C_VALUE);
        if (*p != '\t')
            return p;
        p++;
    }
}

/* A request-target runs to its SP: the first byte that is not VCHAR or is
 * '?' or '#' (handled by the caller), or end. */
static inline const unsigned char *skip_target(const unsigned char *p, const unsigned char *end)
{
    while (end - p >= 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
        unsigned ok = in_range_mask(v, 0x21, 0x7E) &
                      ~(unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8('?'))) &
                      ~(unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8('#')));
        if ((ok & 0xFFFF) != 0xFFFF)
            return p + __builtin_ctz(~ok);
        p += 16;
    }
    return skip_class(p, end, C_TARGET);
}
#else
static inline const unsigned char *skip_value(const unsigned char *p, const unsigned char *end)
{
    return skip_class(p, end, C_VALUE);
}

static inline const unsigned char *skip_target(const unsigned char *p, const unsigned char *end)
{
    return skip_class(p, end, C_TARGET);
}
#endif

/* ---- the head ----------------------------------------------------------- */

int zzz_http_parse_head(const char *buf, size_t len, const http_limits *lim, http_head *out)
{
    const unsigned char *start = (const unsigned char *)buf;
    /* The head's length is returned as an int. */
    size_t cap = lim->max_head_bytes < (size_t)INT_MAX ? lim->max_head_bytes : (size_t)INT_MAX;
    /* Scanning stops at the head limit: running out of bytes there while
     * more were received means the head is too large. */
    const unsigned char *end = start + (len < cap ? len : cap);
    const unsigned char *p = start;
    int rc;

/* Out of bytes at p: more are needed, unless the limit is what stopped us. */
#define NEED(n)                                                                                    \
    do {                                                                                           \
        if (end - p < (ptrdiff_t)(n))                                                              \
            goto more;                                                                             \
    } while (0)

    /* RFC 9112 2.2: empty lines before the request-line are ignored. A
     * bare LF here is no empty line: it fails as the method's first byte. */
    for (;;) {
        NEED(1);
        if (*p != '\r')
            break;
        NEED(2);
        if (p[1] != '\n')
            return -400;
        p += 2;
    }

    /* request-line = method SP request-target SP HTTP-version CRLF */
    const unsigned char *method = p;
    p = skip_class(p, end, C_TCHAR);
    NEED(1);
    if (*p != ' ' || p == method)
        return -400;
    size_t method_len = (size_t)(p - method);
    p++;

    const unsigned char *target = p;
    const unsigned char *question = NULL;
    for (;;) {
        p = skip_target(p, end);
        if (p < end && *p == '?') {
            if (!question)
                question = p;
            p++;
            continue;
        }
        break;
    }
    if ((size_t)(p - target) > lim->max_target)
        return -414;
    NEED(1);
    if (*p != ' ' || p == target)
        return -400;
    const unsigned char *target_end = p;
    p++;

    int major, minor;
    if (end - p >= 10 && memcmp(p, "HTTP/1.1\r\n", 10) == 0) {
        major = 1;
        minor = 1;
        p += 10;
    } else {
        static const char name[] = "HTTP/";
        for (int i = 0; i < 5; i++, p++) {
            NEED(1);
            if (*p != (unsigned char)name[i])
                return -400;
        }
        NEED(1);
        if (!(cls[*p] & C_DIGIT))
            return -400;
        major = *p++ - '0';
        NEED(1);
        if (*p++ != '.')
            return -400;
        NEED(1);
        if (!(cls[*p] & C_DIGIT))
            return -400;
        minor = *p++ - '0';
        NEED(1);
        if (*p != '\r')
            return -400;
        NEED(2);
        if (p[1] != '\n')
            return -400;
        p += 2;
        if (major != 1)
            return -505;
        if (minor > 1)
            minor = 1; /* RFC 9110 2.5: the highest minor version we implement */
    }

    bool is_connect = method_len == 7 && memcmp(method, "CONNECT", 7) == 0;
    bool is_options = method_len == 7 && memcmp(method, "OPTIONS", 7) == 0;
    zzz_str authority;
    if ((rc = zzz_http_parse_target(target, target_end, question, is_connect, is_options,
                                    &authority, out)) < 0)
        return rc;

    out->method = mkstr(method, method_len);
    out->target = mkstr(target, (size_t)(target_end - target));
    out->version_minor = minor;
    out->host = mkstr(target, 0);

    /* field-line = field-name ":" OWS field-value OWS, then CRLF */
    head_facts facts = {0};
    unsigned count = 0;
    for (;;) {
        NEED(1);
        if (*p == '\r') {
            NEED(2);
            if (p[1] != '\n')
                return -400;
            p += 2;
            break;
        }
        /* Only what starts a field can be one too many; anything else, a
         * bare LF as the final line included, is malformed whatever the
         * count. */
        if (count == lim->max_headers && (cls[*p] & C_TCHAR))
            return -431;
        /* A line starting with SP or HTAB (obs-fold, or whitespace after the
         * request-line) has an empty name and fails here, as does any
         * whitespace between the name and the colon, and a bare LF. */
        const unsigned char *name = p;
        p = skip_class(p, end, C_TCHAR);
        NEED(1);
        if (*p != ':' || p == name)
            return -400;
        size_t name_len = (size_t)(p - name);
        p = skip_ows(p + 1, end);
        const unsigned char *value = p;
        p = skip_value(p, end);
        NEED(1);
        const unsigned char *value_end = p;
        if (*p != '\r')
            return -400; /* a CTL, DEL, NUL or bare LF */
        NEED(2);
        if (p[1] != '\n')
            return -400;
        p += 2;
        while (value_end > value && (value_end[-1] == ' ' || value_end[-1] == '\t'))
            value_end--;
        out->headers[count].name = mkstr(name, name_len);
        out->headers[count].value = mkstr(value, (size_t)(value_end - value));
        count++;
        if ((rc = zzz_http_on_field(name, name_len, value, value_end, minor, &facts, out)) < 0)
            return rc;
    }
#undef NEED

    /* RFC 9112 3.2: an HTTP/1.1 request without Host is refused. */
    if (minor == 1 && !facts.host_seen)
        return -400;
    if (facts.te_unknown)
        return -501;
    if (authority.ptr)
        out->host = authority;
    out->header_count = count;
    if (facts.te_seen) {
        out->body = HTTP_BODY_CHUNKED;
        out->content_length = 0;
    } else if (facts.length_seen) {
        out->body = HTTP_BODY_LENGTH;
        out->content_length = facts.length;
    } else {
        out->body = HTTP_BODY_NONE;
        out->content_length = 0;
    }
    out->keep_alive = minor == 1 ? !facts.conn_close : facts.conn_keep_alive && !facts.conn_close;
    out->expect_continue = facts.expect_continue;
    out->head_len = (size_t)(p - start);
    return (int)out->head_len;

more:
    return len > cap ? -431 : 0;
}
