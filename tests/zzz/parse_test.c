/* Tests of the request-head parser (zzz/src/http/parse.c, with fields.c and
 * target.c), the chunked decoder (chunked.c) and the helpers parse.h
 * declares. The parser does no I/O, so nothing here depends on a driver.
 * Every input is copied into a buffer of exactly its size, so a sanitizer
 * build catches any read past the bytes received. */
#include "chunked.h"
#include "parse.h"
#include "parse_cases.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_FIELDS 64

static const http_limits default_limits = {
    .max_target = 8192, .max_head_bytes = 16384, .max_headers = 64};

/* An exact-size heap copy (malloc(0) may be NULL: give one byte then). */
static char *copy_of(const char *s, size_t len)
{
    char *p = malloc(len ? len : 1);
    cr_assert(p);
    memcpy(p, s, len);
    return p;
}

static http_limits limits_of(const parse_case *c)
{
    if (c->lim.max_target == 0 && c->lim.max_head_bytes == 0 && c->lim.max_headers == 0)
        return default_limits;
    return c->lim;
}

static int parse(const char *buf, size_t len, const http_limits *lim, http_head *h,
                 zzz_header *fields)
{
    memset(h, 0, sizeof *h);
    h->headers = fields;
    return zzz_http_parse_head(buf, len, lim, h);
}

static bool str_in(zzz_str s, const char *buf, size_t len)
{
    return s.ptr >= buf && s.ptr <= buf + len && s.len <= (size_t)(buf + len - s.ptr);
}

static void expect_str(const parse_case *c, const char *what, zzz_str got, const char *want)
{
    size_t n = strlen(want);
    cr_expect(got.len == n && memcmp(got.ptr, want, n) == 0, "%s: %s is \"%.*s\", not \"%s\"",
              c->name, what, (int)got.len, got.ptr, want);
}

static void expect_field(const parse_case *c, const http_head *h, const char *name,
                         const char *value)
{
    for (unsigned i = 0; i < h->header_count; i++) {
        if (zzz_http_name_eq(h->headers[i].name, name)) {
            expect_str(c, name, h->headers[i].value, value);
            return;
        }
    }
    cr_expect(false, "%s: no field %s", c->name, name);
}

/* Checks a successful parse of c at buf against what the case expects. */
static void expect_head(const parse_case *c, const http_head *h, const char *buf, size_t len)
{
    size_t head_len = c->head_len ? c->head_len : c->req_len;
    cr_expect_eq(h->head_len, head_len, "%s: head_len %zu, not %zu", c->name, h->head_len,
                 head_len);
    zzz_str strs[] = {h->method, h->target, h->path, h->query, h->host};
    for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++)
        cr_expect(str_in(strs[i], buf, head_len), "%s: string %zu outside the head", c->name, i);
    for (unsigned i = 0; i < h->header_count; i++) {
        cr_expect(str_in(h->headers[i].name, buf, head_len), "%s: field name outside", c->name);
        cr_expect(str_in(h->headers[i].value, buf, head_len), "%s: field value outside", c->name);
    }
    (void)len;
    if (c->method)
        expect_str(c, "method", h->method, c->method);
    if (c->target)
        expect_str(c, "target", h->target, c->target);
    if (c->path)
        expect_str(c, "path", h->path, c->path);
    expect_str(c, "query", h->query, c->query ? c->query : "");
    if (c->host)
        expect_str(c, "host", h->host, c->host);
    cr_expect_eq(h->version_minor, c->v10 ? 0 : 1, "%s: version_minor %d", c->name,
                 h->version_minor);
    cr_expect_eq(h->header_count, c->nh, "%s: %u fields, not %u", c->name, h->header_count, c->nh);
    if (c->hn1)
        expect_field(c, h, c->hn1, c->hv1);
    if (c->hn2)
        expect_field(c, h, c->hn2, c->hv2);
    cr_expect_eq(h->body, c->body, "%s: body kind %d, not %d", c->name, (int)h->body, (int)c->body);
    cr_expect_eq(h->content_length, c->clen, "%s: content_length %llu", c->name,
                 (unsigned long long)h->content_length);
    bool ka = c->ka == KA_DEFAULT ? !c->v10 : c->ka == KA_YES;
    cr_expect_eq(h->keep_alive, ka, "%s: keep_alive %d", c->name, h->keep_alive);
    cr_expect_eq(h->expect_continue, c->expect, "%s: expect_continue %d", c->name,
                 h->expect_continue);
}

static size_t case_count(void)
{
    return sizeof parse_cases / sizeof parse_cases[0];
}

Test(parse, table_is_large_enough)
{
    size_t valid = 0, invalid = 0;
    for (size_t i = 0; i < case_count(); i++) {
        if (parse_cases[i].status)
            invalid++;
        else if (!parse_cases[i].incomplete)
            valid++;
    }
    cr_log_info("%zu cases: %zu valid, %zu invalid, %zu incomplete", case_count(), valid, invalid,
                case_count() - valid - invalid);
    cr_expect_geq(case_count(), 150);
}

/* The whole input at once gives the expected outcome. */
static void check_whole(const parse_case *c)
{
    http_limits lim = limits_of(c);
    http_head h;
    zzz_header fields[MAX_FIELDS];
    char *buf = copy_of(c->req, c->req_len);
    int rc = parse(buf, c->req_len, &lim, &h, fields);
    if (c->status) {
        cr_expect_eq(rc, c->status, "%s: returned %d, not %d", c->name, rc, c->status);
    } else if (c->incomplete) {
        cr_expect_eq(rc, 0, "%s: returned %d, not 0", c->name, rc);
    } else {
        cr_expect_gt(rc, 0, "%s: returned %d", c->name, rc);
        if (rc > 0)
            expect_head(c, &h, buf, c->req_len);
    }
    free(buf);
}

/* Fed one byte at a time (each prefix parsed from the start, as the server
 * does): a valid head gives 0 until it is whole and then the same result;
 * an invalid one never gives a length, and once it fails it keeps failing
 * with the same status. Where the case says which byte shows the error, it
 * fails at that byte, never later (no 0 once the byte is in) and never
 * sooner. */
static void check_byte_at_a_time(const parse_case *c)
{
    http_limits lim = limits_of(c);
    size_t head_len = c->head_len ? c->head_len : c->req_len;
    int first_error = 0;
    for (size_t k = 0; k <= c->req_len; k++) {
        http_head h;
        zzz_header fields[MAX_FIELDS];
        char *buf = copy_of(c->req, k);
        int rc = parse(buf, k, &lim, &h, fields);
        if (c->status || c->incomplete) {
            cr_expect_leq(rc, 0, "%s: prefix %zu returned %d", c->name, k, rc);
            if (first_error)
                cr_expect_eq(rc, first_error, "%s: prefix %zu returned %d after %d", c->name, k, rc,
                             first_error);
            else if (rc < 0)
                first_error = rc;
            if (c->status && rc < 0)
                cr_expect_eq(rc, c->status, "%s: prefix %zu returned %d, not %d", c->name, k, rc,
                             c->status);
            if (c->fail_at && k < c->fail_at)
                cr_expect_eq(rc, 0, "%s: prefix %zu (before the bad byte at %zu) returned %d",
                             c->name, k, c->fail_at - 1, rc);
            else if (c->fail_at)
                cr_expect_eq(rc, c->status, "%s: prefix %zu (the bad byte at %zu in) returned %d",
                             c->name, k, c->fail_at - 1, rc);
        } else if (k < head_len) {
            cr_expect_eq(rc, 0, "%s: prefix %zu of %zu returned %d", c->name, k, head_len, rc);
        } else {
            cr_expect_eq(rc, (int)head_len, "%s: prefix %zu returned %d", c->name, k, rc);
            if (rc > 0)
                expect_head(c, &h, buf, k);
        }
        free(buf);
    }
}

/* One Criterion test per table rather than per case: each test is a
 * process, and the failures name their case anyway. */
Test(parse, whole)
{
    for (size_t i = 0; i < case_count(); i++)
        check_whole(&parse_cases[i]);
}

Test(parse, byte_at_a_time)
{
    for (size_t i = 0; i < case_count(); i++)
        check_byte_at_a_time(&parse_cases[i]);
}

/* A limit is hit as soon as the bytes so far exceed it, however little of
 * the head is there. */
Test(parse, limits_detected_early)
{
    zzz_header fields[MAX_FIELDS];
    http_head h;
    http_limits lim = {.max_target = 4, .max_head_bytes = 64, .max_headers = 1};
    cr_expect_eq(parse("GET /abcd", 9, &lim, &h, fields), -414);
    cr_expect_eq(parse("GET /abc", 8, &lim, &h, fields), 0);
    cr_expect_eq(parse("GET / HTTP/1.1\r\nHost: a\r\nX", 26, &lim, &h, fields), -431);
    char big[65];
    memset(big, 'a', sizeof big);
    memcpy(big, "GET / HTTP/1.1\r\nX: ", 19);
    cr_expect_eq(parse(big, 64, &lim, &h, fields), 0);
    cr_expect_eq(parse(big, 65, &lim, &h, fields), -431);
}

/* Every byte of a long value or target goes through the same checks
 * wherever it falls (the scans take 16 bytes at a time where they can). */
Test(parse, byte_classes_at_every_position)
{
    zzz_header fields[MAX_FIELDS];
    http_head h;
    char req[256];
    for (size_t pos = 0; pos < 48; pos++) {
        for (int b = 0; b < 256; b++) {
            /* a field value: HTAB, SP, VCHAR and obs-text are allowed */
            int n = snprintf(req, sizeof req, "GET / HTTP/1.1\r\nHost: h\r\nX: ");
            size_t v = (size_t)n;
            memset(req + v, 'a', 64);
            req[v + pos] = (char)b;
            memcpy(req + v + 64, "\r\n\r\n", 4);
            size_t len = v + 68;
            char *buf = copy_of(req, len);
            int rc = parse(buf, len, &default_limits, &h, fields);
            bool ok = b == '\t' || (b >= 0x20 && b != 0x7F);
            if (b == '\n' || b == '\r') {
                /* a bare LF or CR in a value: refused, not a line end */
                cr_expect_eq(rc, -400, "value, %#x at %zu", b, pos);
            } else if (ok) {
                cr_expect_eq(rc, (int)len, "value, %#x at %zu: %d", b, pos, rc);
                if (rc > 0)
                    cr_expect(h.headers[1].value.len == 64 || b == ' ' || b == '\t',
                              "value, %#x at %zu", b, pos);
            } else {
                cr_expect_eq(rc, -400, "value, %#x at %zu: %d", b, pos, rc);
            }
            free(buf);

            /* a request-target: VCHAR but '#' */
            memcpy(req, "GET /", 5);
            memset(req + 5, 'a', 64);
            req[5 + pos] = (char)b;
            static const char rest[] = " HTTP/1.1\r\nHost: h\r\n\r\n";
            memcpy(req + 69, rest, sizeof rest - 1);
            len = 69 + sizeof rest - 1;
            buf = copy_of(req, len);
            rc = parse(buf, len, &default_limits, &h, fields);
            if (b == ' ') {
                cr_expect_eq(rc, -400, "target, SP at %zu: %d", pos, rc);
            } else if (b >= 0x21 && b <= 0x7E && b != '#') {
                cr_expect_eq(rc, (int)len, "target, %#x at %zu: %d", b, pos, rc);
                if (rc > 0 && b == '?') {
                    cr_expect_eq(h.path.len, pos + 1, "target, '?' at %zu", pos);
                    cr_expect_eq(h.query.len, 63 - pos, "target, '?' at %zu", pos);
                } else if (rc > 0) {
                    cr_expect_eq(h.path.len, 65, "target, %#x at %zu", b, pos);
                }
            } else {
                cr_expect_eq(rc, -400, "target, %#x at %zu: %d", b, pos, rc);
            }
            free(buf);
        }
    }
}

/* Every line end of every valid head in the table, made bare in turn (its
 * CR dropped, or its LF dropped), is refused at the byte that shows it: a
 * bare LF when it arrives; a bare CR when the byte after it does, and while
 * the CR is the last byte the head only needs more. Before that byte, the
 * prefix is a valid head's and needs more. */
static void check_bare_line_ends(const parse_case *c)
{
    http_limits lim = limits_of(c);
    size_t head_len = c->head_len ? c->head_len : c->req_len;
    char *req = malloc(c->req_len);
    cr_assert(req);
    for (size_t i = 0; i + 1 < head_len; i++) {
        if (c->req[i] != '\r' || c->req[i + 1] != '\n')
            continue;
        for (int drop = 0; drop < 2; drop++) {
            /* drop 0: the CR (a bare LF at i); 1: the LF (a bare CR at i) */
            size_t at = i + (size_t)drop;
            memcpy(req, c->req, at);
            memcpy(req + at, c->req + at + 1, c->req_len - at - 1);
            size_t len = c->req_len - 1;
            /* The bytes that show it: the LF itself, or the one after the CR. */
            size_t fail_at = drop == 0 ? i + 1 : i + 2;
            for (size_t k = 0; k <= len; k++) {
                http_head h;
                zzz_header fields[MAX_FIELDS];
                char *buf = copy_of(req, k);
                int rc = parse(buf, k, &lim, &h, fields);
                int want = k < fail_at ? 0 : -400;
                cr_expect_eq(rc, want, "%s, %s at %zu: prefix %zu returned %d, not %d", c->name,
                             drop ? "bare CR" : "bare LF", i, k, rc, want);
                free(buf);
            }
        }
    }
    free(req);
}

Test(parse, bare_line_ends)
{
    for (size_t i = 0; i < case_count(); i++)
        if (!parse_cases[i].status && !parse_cases[i].incomplete)
            check_bare_line_ends(&parse_cases[i]);
}

/* The head is found in a larger buffer without reading past len, and a
 * limit larger than INT_MAX does not overflow the returned length. */
Test(parse, huge_limits)
{
    zzz_header fields[MAX_FIELDS];
    http_head h;
    http_limits lim = {.max_target = SIZE_MAX, .max_head_bytes = SIZE_MAX, .max_headers = 64};
    const char req[] = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
    cr_expect_eq(parse(req, sizeof req - 1, &lim, &h, fields), (int)sizeof req - 1);
}

/* ---- chunked bodies ------------------------------------------------------ */

typedef struct chunk_case {
    const char *name;
    const char *in;
    size_t in_len;
    const char *body; /* NULL: an error */
    size_t body_len;
    size_t enc_len;    /* the chunked encoding's length (the rest is the next request) */
    int status;        /* errors: -400, -413 or -431 */
    size_t fail_at;    /* errors: the input consumed when it fails, the bad byte last */
    http_chunked init; /* the limits the decoder starts with */
} chunk_case;

#define IN(s) .in = s, .in_len = sizeof(s) - 1
#define BODY(s) .body = s, .body_len = sizeof(s) - 1
#define NEXT "GET / HTTP/1.1\r\n"
#define CHUNK_OK(nm, enc, b)                                                                       \
    {                                                                                              \
        .name = nm, IN(enc NEXT), BODY(b), .enc_len = sizeof(enc) - 1                              \
    }
/* ... with the decoder's limits: designated initialisers of http_chunked */
#define CHUNK_OKW(nm, enc, b, ...)                                                                 \
    {                                                                                              \
        .name = nm, IN(enc NEXT), BODY(b), .enc_len = sizeof(enc) - 1, .init = { __VA_ARGS__ }     \
    }
/* Refused (-400) at the last byte of `shown`; `rest` would have followed. */
#define CHUNK_BAD(nm, shown, rest)                                                                 \
    {                                                                                              \
        .name = nm, IN(shown rest), .status = -400, .fail_at = sizeof(shown) - 1                   \
    }
#define CHUNK_BADW(nm, shown, rest, st, ...)                                                       \
    {                                                                                              \
        .name = nm, IN(shown rest), .status = (st), .fail_at = sizeof(shown) - 1, .init = {        \
            __VA_ARGS__                                                                            \
        }                                                                                          \
    }

/* Trailer field lines of 6 bytes each, for the count limits. */
#define T8 "A: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\nE: 5\r\nF: 6\r\nG: 7\r\nH: 8\r\n"
#define T64 T8 T8 T8 T8 T8 T8 T8 T8

static const chunk_case chunk_cases[] = {
    /* ---- valid ---- */
    CHUNK_OK("one chunk", "5\r\nhello\r\n0\r\n\r\n", "hello"),
    CHUNK_OK("empty body", "0\r\n\r\n", ""),
    CHUNK_OK("several chunks", "3\r\nabc\r\n4\r\ndefg\r\n1\r\nh\r\n0\r\n\r\n", "abcdefgh"),
    CHUNK_OK("hex digits in both cases", "A\r\n0123456789\r\na\r\nabcdefghij\r\n0\r\n\r\n",
             "0123456789abcdefghij"),
    CHUNK_OK("leading zeros", "0005\r\nhello\r\n000\r\n\r\n", "hello"),
    CHUNK_OK("CRLF inside data", "4\r\n\r\n\r\n\r\n0\r\n\r\n", "\r\n\r\n"),
    CHUNK_OK("binary data", "3\r\n\0\xff\n\r\n0\r\n\r\n", "\0\xff\n"),
    CHUNK_OK("extension", "5;name=value\r\nhello\r\n0\r\n\r\n", "hello"),
    CHUNK_OK("extension without value", "5;flag\r\nhello\r\n0;last\r\n\r\n", "hello"),
    CHUNK_OK("several extensions", "5;a=1;b;c=x\r\nhello\r\n0\r\n\r\n", "hello"),
    CHUNK_OK("every tchar in an extension",
             "5;!#$%&'*+-.^_`|~0aZ=!#$%&'*+-.^_`|~0aZ\r\nhello\r\n0\r\n\r\n", "hello"),
    CHUNK_OK("quoted extension", "5;a=\"b c\\\"d;e\";f\r\nhello\r\n0\r\n\r\n", "hello"),
    CHUNK_OK("quoted extension with obs-text", "5;a=\"\xc3\xa9\"\r\nhello\r\n0\r\n\r\n", "hello"),
    CHUNK_OK("quoted-pairs: backslash, quote, HTAB, SP, obs-text",
             "5;a=\"\\\\\\\"\\\t\\ \\\xff\"\r\nhello\r\n0\r\n\r\n", "hello"),
    CHUNK_OK("quoted extension with HTAB and ';' '='", "5;a=\"x\ty;z=1\"\r\nhello\r\n0\r\n\r\n",
             "hello"),
    CHUNK_OK("BWS in extensions", "5 ; a = b ;\tc\r\nhello\r\n0\r\n\r\n", "hello"),
    CHUNK_OK("BWS around every ';' and '='",
             "5 \t;\t a \t=\t \"q\" \t; b\t=\tc ;d\r\nhello\r\n0\r\n\r\n", "hello"),
    CHUNK_OK("BWS before a ';' after a quoted value", "5;a=\"b\" ;c\r\nhello\r\n0\r\n\r\n",
             "hello"),
    CHUNK_OK("empty quoted extension", "5;a=\"\"\r\nhello\r\n0\r\n\r\n", "hello"),
    CHUNK_OK("extensions on the last chunk", "0;a=b ; c=\"d\"\r\n\r\n", ""),
    CHUNK_OK("last chunk of several zeros", "00000\r\n\r\n", ""),
    CHUNK_OK("trailer", "5\r\nhello\r\n0\r\nX-Sum: abc\r\n\r\n", "hello"),
    CHUNK_OK("trailers", "1\r\na\r\n0\r\nA: 1\r\nb:\r\nC: x y\t\xff\r\n\r\n", "a"),
    CHUNK_OK("trailer with OWS around its value", "0\r\nX: \t a b \t\r\n\r\n", ""),
    CHUNK_OK("trailer of every tchar and VCHAR",
             "0\r\n!#$%&'*+-.^_`|~0aZ: !\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~\r\n\r\n", ""),
    CHUNK_OK("repeated trailer names", "0\r\nX: 1\r\nX: 2\r\n\r\n", ""),
    CHUNK_OK("big chunk size", "1F\r\n0123456789012345678901234567890\r\n0\r\n\r\n",
             "0123456789012345678901234567890"),
    CHUNK_OK("64 trailers, the default limit", "0\r\n" T64 "\r\n", ""),
    CHUNK_OKW("size line exactly max_line", "5;abcdef\r\nhello\r\n0\r\n\r\n", "hello",
              .max_line = 8),
    CHUNK_OKW("max_line is not the trailers' limit", "0\r\nX: 123456789\r\n\r\n", "",
              .max_line = 8),
    CHUNK_OKW("body exactly max_body", "5\r\nhello\r\n0\r\n\r\n", "hello", .max_body = 5),
    CHUNK_OKW("chunks exactly max_body", "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n", "abcde",
              .max_body = 5),
    CHUNK_OKW("leading zeros within max_body", "00000005\r\nhello\r\n0\r\n\r\n", "hello",
              .max_body = 5),
    CHUNK_OKW("empty body, max_body 1", "0\r\n\r\n", "", .max_body = 1),
    CHUNK_OKW("size of 16 digits with max_body", "000000000000000f\r\n0123456789abcde\r\n0\r\n\r\n",
              "0123456789abcde", .max_body = 15),
    CHUNK_OKW("trailers exactly max_trailers", "0\r\nA: 1\r\nB: 2\r\n\r\n", "", .max_trailers = 2),
    CHUNK_OKW("trailers exactly max_trailer_bytes", "0\r\nX: 1\r\nY: 2\r\n\r\n", "",
              .max_trailer_bytes = 12),
    CHUNK_OKW("no trailers, max_trailer_bytes 1", "0\r\n\r\n", "", .max_trailer_bytes = 1),

    /* ---- chunk-size: 1*HEXDIG, nothing else ---- */
    CHUNK_BAD("not hex", "g", "\r\nhello\r\n0\r\n\r\n"),
    CHUNK_BAD("empty size", "\r", "\nhello\r\n0\r\n\r\n"),
    CHUNK_BAD("minus", "-", "5\r\nhello\r\n0\r\n\r\n"),
    CHUNK_BAD("plus", "+", "5\r\nhello\r\n0\r\n\r\n"),
    CHUNK_BAD("0x prefix", "0x", "5\r\nhello\r\n0\r\n\r\n"),
    CHUNK_BAD("0X prefix", "0X", "5\r\nhello\r\n0\r\n\r\n"),
    CHUNK_BAD("underscore between digits", "1_", "0\r\n0123456789abcdef\r\n0\r\n\r\n"),
    CHUNK_BAD("space before size", " ", "5\r\nhello\r\n0\r\n\r\n"),
    CHUNK_BAD("tab before size", "\t", "5\r\nhello\r\n0\r\n\r\n"),
    CHUNK_BAD("space after size", "5 \r", "\nhello\r\n0\r\n\r\n"),
    CHUNK_BAD("tab after size", "5\t\r", "\nhello\r\n0\r\n\r\n"),
    CHUNK_BAD("space inside size", "1 0", "\r\n0123456789abcdef\r\n0\r\n\r\n"),
    CHUNK_BAD("size overflow", "10000000000000000", "\r\n"),
    CHUNK_BAD("size overflow with zeros", "0000fffffffffffffffff", "\r\n"),
    CHUNK_BAD("size overflow in a later chunk", "1\r\na\r\n10000000000000000", "\r\n"),
    CHUNK_BAD("no last chunk before the next request", "5\r\nhello\r\nG", "ET / HTTP/1.1\r\n"),

    /* ---- line ends of the framing ---- */
    CHUNK_BAD("bare LF after size", "5\n", "hello\r\n0\r\n\r\n"),
    CHUNK_BAD("bare CR after size", "5\rh", "ello\r\n0\r\n\r\n"),
    CHUNK_BAD("bare LF after an extension", "5;a\n", "hello\r\n0\r\n\r\n"),
    CHUNK_BAD("bare LF after an extension value", "5;a=b\n", "hello\r\n0\r\n\r\n"),
    CHUNK_BAD("bare CR after an extension value", "5;a=b\rh", "ello\r\n0\r\n\r\n"),
    CHUNK_BAD("data longer than size", "5\r\nhelloX", "\r\n0\r\n\r\n"),
    CHUNK_BAD("data shorter than size", "5\r\nhell\r\n", "0\r\n\r\n"),
    CHUNK_BAD("bare LF after data", "5\r\nhello\n", "0\r\n\r\n"),
    CHUNK_BAD("bare CR after data", "5\r\nhello\r0", "\r\n\r\n"),
    CHUNK_BAD("LF CR after data", "5\r\nhello\n", "\r0\r\n\r\n"),
    CHUNK_BAD("no CRLF after data", "5\r\nhello0", "\r\n\r\n"),
    CHUNK_BAD("bare LF in last chunk", "0\n", "\r\n"),
    CHUNK_BAD("bare LF as final line", "0\r\n\n", ""),
    CHUNK_BAD("bare CR as final line", "0\r\n\rX", ""),
    CHUNK_BAD("CR CR LF as final line", "0\r\n\r\r", "\n"),

    /* ---- chunk extensions: RFC 9112 7.1.1 ---- */
    CHUNK_BAD("bare ';'", "5;\r", "\nhello\r\n0\r\n\r\n"),
    CHUNK_BAD("bare ';' with BWS", "5 ; \r", "\nhello\r\n0\r\n\r\n"),
    CHUNK_BAD("';;'", "5;;", "a\r\nhello\r\n0\r\n\r\n"),
    CHUNK_BAD("';' after an extension", "5;a;\r", "\nhello\r\n0\r\n\r\n"),
    CHUNK_BAD("extension with empty value", "5;a=\r", "\nhello\r\n0\r\n\r\n"),
    CHUNK_BAD("extension with BWS and no value", "5;a = \r", "\nhello\r\n0\r\n\r\n"),
    CHUNK_BAD("'=' without a name", "5;=", "b\r\nhello\r\n0\r\n\r\n"),
    CHUNK_BAD("two '='", "5;a=b=", "c\r\nhello\r\n0\r\n\r\n"),
    CHUNK_BAD("extension without semicolon", "5 a", "\r\nhello\r\n0\r\n\r\n"),
    CHUNK_BAD("extension name then junk", "5;a b", "\r\nhello\r\n0\r\n\r\n"),
    CHUNK_BAD("quoted extension name", "5;\"", "a\"\r\nhello\r\n0\r\n\r\n"),
    CHUNK_BAD("non-token in a token value", "5;a=b/", "c\r\nhello\r\n0\r\n\r\n"),
    CHUNK_BAD("non-token in a name", "5;a@", "\r\nhello\r\n0\r\n\r\n"),
    CHUNK_BAD("unterminated quoted extension", "5;a=\"b\r", "\nhello\r\n0\r\n\r\n"),
    CHUNK_BAD("CTL in quoted extension", "5;a=\"\x01", "\"\r\nhello\r\n0\r\n\r\n"),
    CHUNK_BAD("NUL in quoted extension", "5;a=\"\0", "\"\r\nhello\r\n0\r\n\r\n"),
    CHUNK_BAD("DEL in quoted extension", "5;a=\"\x7f", "\"\r\nhello\r\n0\r\n\r\n"),
    CHUNK_BAD("bare LF in quoted extension", "5;a=\"\n", "\"\r\nhello\r\n0\r\n\r\n"),
    CHUNK_BAD("escaped CR in quoted extension", "5;a=\"\\\r", "\"\r\nhello\r\n0\r\n\r\n"),
    CHUNK_BAD("escaped LF in quoted extension", "5;a=\"\\\n", "\"\r\nhello\r\n0\r\n\r\n"),
    CHUNK_BAD("escaped NUL in quoted extension", "5;a=\"\\\0", "\"\r\nhello\r\n0\r\n\r\n"),
    CHUNK_BAD("NUL in an extension name", "5;a\0", "\r\nhello\r\n0\r\n\r\n"),
    CHUNK_BAD("NUL in a token value", "5;a=b\0", "\r\nhello\r\n0\r\n\r\n"),
    CHUNK_BAD("CTL after ';'", "5;\x01", "a\r\nhello\r\n0\r\n\r\n"),
    CHUNK_BAD("extension value then junk", "5;a=\"b\"c", "\r\nhello\r\n0\r\n\r\n"),
    CHUNK_BAD("whitespace before CRLF after an extension value", "5;a=b \r",
              "\nhello\r\n0\r\n\r\n"),
    CHUNK_BAD("whitespace before CRLF after an extension name", "5;a \r", "\nhello\r\n0\r\n\r\n"),
    CHUNK_BAD("whitespace before CRLF after a quoted value", "5;a=\"b\" \r",
              "\nhello\r\n0\r\n\r\n"),
    CHUNK_BAD("whitespace before CRLF on the last chunk", "0;a \r", "\n\r\n"),

    /* ---- trailer section: field lines, like the head's ---- */
    CHUNK_BAD("trailer obs-fold", "0\r\nX: a\r\n ", "b\r\n\r\n"),
    CHUNK_BAD("trailer obs-fold with tab", "0\r\nX: a\r\n\t", "b\r\n\r\n"),
    CHUNK_BAD("whitespace before a trailer", "0\r\n ", "X: a\r\n\r\n"),
    CHUNK_BAD("trailer without colon", "0\r\nX\r", "\n\r\n"),
    CHUNK_BAD("trailer space before colon", "0\r\nX ", ": a\r\n\r\n"),
    CHUNK_BAD("trailer tab before colon", "0\r\nX\t", ": a\r\n\r\n"),
    CHUNK_BAD("trailer empty name", "0\r\n:", " a\r\n\r\n"),
    CHUNK_BAD("trailer non-token name", "0\r\nX(", "y): a\r\n\r\n"),
    CHUNK_BAD("trailer obs-text name", "0\r\nX\xc3", "\xa9: a\r\n\r\n"),
    CHUNK_BAD("trailer NUL in value", "0\r\nX: a\0", "b\r\n\r\n"),
    CHUNK_BAD("trailer CTL in value", "0\r\nX: a\x01", "b\r\n\r\n"),
    CHUNK_BAD("trailer ESC in value", "0\r\nX: \x1b", "[31m\r\n\r\n"),
    CHUNK_BAD("trailer DEL in value", "0\r\nX: a\x7f", "\r\n\r\n"),
    CHUNK_BAD("trailer bare LF", "0\r\nX: a\n", "\r\n"),
    CHUNK_BAD("trailer bare LF after the name", "0\r\nX\n", "\r\n"),
    CHUNK_BAD("trailer bare CR", "0\r\nX: a\rb", "\r\n\r\n"),
    CHUNK_BAD("trailer CR CR LF", "0\r\nX: a\r\r", "\n\r\n"),
    CHUNK_BAD("bare LF after a trailer", "0\r\nX: a\r\n\n", ""),

    /* ---- limits ---- */
    CHUNK_BADW("size line over max_line", "5;abcdefg", "\r\nhello\r\n0\r\n\r\n", -400,
               .max_line = 8),
    CHUNK_BADW("leading zeros over max_line", "000000000", "5\r\nhello\r\n0\r\n\r\n", -400,
               .max_line = 8),
    CHUNK_BADW("one past max_body", "6", "\r\nhello!\r\n0\r\n\r\n", -413, .max_body = 5),
    CHUNK_BADW("chunks one past max_body", "3\r\nabc\r\n3", "\r\ndef\r\n0\r\n\r\n", -413,
               .max_body = 5),
    CHUNK_BADW("past max_body at the second digit", "10", "\r\n0123456789abcdef\r\n0\r\n\r\n", -413,
               .max_body = 15),
    CHUNK_BADW("past max_body after leading zeros", "00006", "\r\nhello!\r\n0\r\n\r\n", -413,
               .max_body = 5),
    CHUNK_BADW("past max_body with extensions after", "6", ";a=b\r\nhello!\r\n0\r\n\r\n", -413,
               .max_body = 5),
    CHUNK_BADW("huge size past max_body", "f", "fffffffffffffff\r\n", -413, .max_body = 5),
    CHUNK_BADW("past max_body 1", "1\r\na\r\n1", "\r\nb\r\n0\r\n\r\n", -413, .max_body = 1),
    CHUNK_BADW("a framing error before max_body", "5\r\nhello\n", "6\r\n", -400, .max_body = 5),
    CHUNK_BADW("one trailer past max_trailers", "0\r\nA: 1\r\nB: 2\r\nC", ": 3\r\n\r\n", -431,
               .max_trailers = 2),
    CHUNK_BADW("past max_trailers 1", "0\r\nA: 1\r\nB", ": 2\r\n\r\n", -431, .max_trailers = 1),
    CHUNK_BADW("65 trailers", "0\r\n" T64 "I", ": 9\r\n\r\n", -431, .max_trailers = 0),
    CHUNK_BADW("one byte past max_trailer_bytes", "0\r\nX: 1\r\nY: 2\r\n", "\r\n", -431,
               .max_trailer_bytes = 11),
    CHUNK_BADW("past max_trailer_bytes in a name", "0\r\nXYZ", ": 1\r\n\r\n", -431,
               .max_trailer_bytes = 2),
    CHUNK_BADW("past max_trailer_bytes in a value", "0\r\nX: 1", "23\r\n\r\n", -431,
               .max_trailer_bytes = 3),
    CHUNK_BADW("a malformed trailer byte past max_trailer_bytes", "0\r\nX:\x01", "\r\n\r\n", -400,
               .max_trailer_bytes = 2),
    CHUNK_BADW("a malformed trailer past max_trailers", "0\r\nA: 1\r\n ", "B: 2\r\n\r\n", -400,
               .max_trailers = 1),
};

/* One decoding run's outcome. */
typedef struct chunk_run {
    ssize_t rc; /* body bytes written (or counted), or the error */
    size_t used;
    bool done;
} chunk_run;

/* Runs the decoder over in: first `first` bytes available (0: all), then
 * `piece` more per call (0: the rest), into out with at most out_step
 * bytes of room per call; out NULL: discarding. An error is checked to
 * stick: the next call returns it again and consumes nothing. */
static chunk_run decode(const chunk_case *c, const char *in, size_t in_len, char *out,
                        size_t out_step, size_t first, size_t piece)
{
    http_chunked st = c->init;
    chunk_run r = {0, 0, false};
    size_t avail = 0;
    for (bool start = true;; start = false) {
        size_t step = start ? first : piece;
        if (avail < in_len)
            avail = step && avail + step < in_len ? avail + step : in_len;
        size_t consumed = 0;
        bool done = false;
        /* A discarding caller may pass any out_cap: give it a useless one. */
        ssize_t n = zzz_http_chunked_decode(&st, in + r.used, avail - r.used, &consumed,
                                            out ? out + r.rc : NULL, out ? out_step : 0, &done);
        cr_assert_leq(consumed, avail - r.used, "%s: consumed more than given", c->name);
        r.used += consumed;
        if (n < 0) {
            r.rc = n;
            r.done = done;
            size_t again = 1;
            bool done_again = true;
            char spare[4];
            ssize_t m = zzz_http_chunked_decode(&st, in + r.used, in_len - r.used, &again,
                                                out ? spare : NULL, sizeof spare, &done_again);
            cr_expect(m == n && again == 0 && !done_again,
                      "%s: after %zd, returned %zd, consumed %zu", c->name, n, m, again);
            return r;
        }
        if (out)
            cr_assert_leq((size_t)n, out_step, "%s: wrote past out_cap", c->name);
        r.rc += n;
        r.done = done;
        if (done || (consumed == 0 && n == 0 && avail == in_len))
            return r; /* finished, or stuck: out of input */
    }
}

static void expect_decoded(const chunk_case *c, chunk_run r, const char *out, const char *how)
{
    if (!c->body) {
        cr_expect_eq(r.rc, (ssize_t)c->status, "%s (%s): returned %zd, not %d", c->name, how, r.rc,
                     c->status);
        cr_expect_eq(r.used, c->fail_at, "%s (%s): failed after %zu bytes, not %zu", c->name, how,
                     r.used, c->fail_at);
        cr_expect(!r.done, "%s (%s): done", c->name, how);
        return;
    }
    cr_expect_eq(r.rc, (ssize_t)c->body_len, "%s (%s): %zd bytes", c->name, how, r.rc);
    cr_expect(r.done, "%s (%s): not done", c->name, how);
    cr_expect_eq(r.used, c->enc_len, "%s (%s): consumed %zu of %zu", c->name, how, r.used,
                 c->enc_len);
    if (out && r.rc == (ssize_t)c->body_len)
        cr_expect(memcmp(out, c->body, c->body_len) == 0, "%s (%s): wrong bytes", c->name, how);
}

/* Whole, split in two at every byte, one byte at a time, one output byte
 * at a time, in place, and discarding (whole, split and byte at a time):
 * always the same body, the same consumption, the same error at the same
 * byte, and the next request left untouched. */
static void check_chunk_case(const chunk_case *c)
{
    char *in = copy_of(c->in, c->in_len);
    char *out = malloc(c->in_len + 1);
    cr_assert(out);
    char how[48];
    size_t len = c->in_len;
    expect_decoded(c, decode(c, in, len, out, len, 0, 0), out, "whole");
    expect_decoded(c, decode(c, in, len, NULL, 0, 0, 0), NULL, "whole, discarding");
    for (size_t split = 1; split < len; split++) {
        snprintf(how, sizeof how, "split at %zu", split);
        memset(out, 0, len + 1);
        expect_decoded(c, decode(c, in, len, out, len, split, 0), out, how);
        snprintf(how, sizeof how, "split at %zu, discarding", split);
        expect_decoded(c, decode(c, in, len, NULL, 0, split, 0), NULL, how);
    }
    expect_decoded(c, decode(c, in, len, out, len, 1, 1), out, "byte at a time");
    expect_decoded(c, decode(c, in, len, NULL, 0, 1, 1), NULL, "byte at a time, discarding");
    expect_decoded(c, decode(c, in, len, out, 1, 0, 0), out, "one output byte per call");
    expect_decoded(c, decode(c, in, len, out, 1, 1, 1), out, "one byte in, one byte out");

    /* In place: the body lands at the start of the input buffer and what
     * follows the encoding is not touched. */
    expect_decoded(c, decode(c, in, len, in, len, 0, 0), in, "in place");
    if (c->body)
        cr_expect(memcmp(in + c->enc_len, NEXT, len - c->enc_len) == 0,
                  "%s: the next request was touched", c->name);
    free(out);
    free(in);
}

Test(chunked, cases)
{
    size_t n = sizeof chunk_cases / sizeof chunk_cases[0], bad = 0;
    for (size_t i = 0; i < n; i++) {
        bad += !chunk_cases[i].body;
        check_chunk_case(&chunk_cases[i]);
    }
    cr_log_info("%zu chunked cases: %zu valid, %zu invalid", n, n - bad, bad);
}

Test(chunked, errors_are_sticky)
{
    http_chunked st = {0};
    size_t consumed;
    bool done;
    char out[16];
    cr_expect_eq(zzz_http_chunked_decode(&st, "z\r\n", 3, &consumed, out, sizeof out, &done), -400);
    cr_expect_eq(zzz_http_chunked_decode(&st, "0\r\n\r\n", 5, &consumed, out, sizeof out, &done),
                 -400);
    cr_expect(!done);

    st = (http_chunked){.max_body = 2};
    cr_expect_eq(zzz_http_chunked_decode(&st, "3", 1, &consumed, out, sizeof out, &done), -413);
    cr_expect_eq(zzz_http_chunked_decode(&st, "\r\nabc\r\n", 7, &consumed, NULL, 0, &done), -413);
    cr_expect_eq(consumed, 0);
    cr_expect(!done);

    st = (http_chunked){.max_trailers = 1};
    const char tr[] = "0\r\nA: 1\r\nB: 2\r\n\r\n";
    cr_expect_eq(zzz_http_chunked_decode(&st, tr, sizeof tr - 1, &consumed, out, sizeof out, &done),
                 -431);
    cr_expect_eq(consumed, 10);
    cr_expect_eq(zzz_http_chunked_decode(&st, "\r\n", 2, &consumed, out, sizeof out, &done), -431);
    cr_expect_eq(consumed, 0);
    cr_expect(!done);
}

Test(chunked, done_is_sticky)
{
    http_chunked st = {0};
    size_t consumed;
    bool done;
    char out[16];
    cr_expect_eq(zzz_http_chunked_decode(&st, "0\r\n\r\n", 5, &consumed, out, sizeof out, &done),
                 0);
    cr_expect(done);
    cr_expect_eq(consumed, 5);
    cr_expect_eq(zzz_http_chunked_decode(&st, "5\r\nhello", 8, &consumed, out, sizeof out, &done),
                 0);
    cr_expect(done);
    cr_expect_eq(consumed, 0);
    cr_expect_eq(zzz_http_chunked_decode(&st, "5\r\nhello", 8, &consumed, NULL, 0, &done), 0);
    cr_expect(done);
    cr_expect_eq(consumed, 0);
}

Test(chunked, largest_size_is_not_an_overflow)
{
    http_chunked st = {0};
    size_t consumed;
    bool done;
    char out[16];
    const char in[] = "ffffffffffffffff\r\nabc";
    cr_expect_eq(zzz_http_chunked_decode(&st, in, sizeof in - 1, &consumed, out, sizeof out, &done),
                 3);
    cr_expect_eq(consumed, sizeof in - 1);
    cr_expect_eq(st.chunk_left, UINT64_MAX - 3);
    cr_expect(!done);
}

/* Past 64 bits is a framing error even when max_body would allow anything
 * that fits; up to it, max_body decides. */
Test(chunked, overflow_and_max_body)
{
    size_t consumed;
    bool done;
    char out[16];
    http_chunked st = {.max_body = UINT64_MAX};
    cr_expect_eq(zzz_http_chunked_decode(&st, "10000000000000000\r\n", 19, &consumed, out,
                                         sizeof out, &done),
                 -400);
    cr_expect_eq(consumed, 17);
    st = (http_chunked){.max_body = UINT64_MAX};
    cr_expect_eq(
        zzz_http_chunked_decode(&st, "ffffffffffffffff\r\n", 18, &consumed, out, sizeof out, &done),
        0);
    cr_expect_eq(consumed, 18);
    st = (http_chunked){.max_body = UINT64_MAX - 1};
    cr_expect_eq(
        zzz_http_chunked_decode(&st, "ffffffffffffffff\r\n", 18, &consumed, out, sizeof out, &done),
        -413);
    cr_expect_eq(consumed, 16);
}

/* With no room for data, the decoder still consumes framing and stops at
 * the data; once given room it goes on. */
Test(chunked, no_room)
{
    http_chunked st = {0};
    size_t consumed;
    bool done;
    char out[16];
    const char in[] = "3\r\nabc\r\n0\r\n\r\n";
    cr_expect_eq(zzz_http_chunked_decode(&st, in, sizeof in - 1, &consumed, out, 0, &done), 0);
    cr_expect_eq(consumed, 3);
    cr_expect(!done);
    size_t more;
    cr_expect_eq(zzz_http_chunked_decode(&st, in + 3, sizeof in - 4, &more, out, 16, &done), 3);
    cr_expect_eq(consumed + more, sizeof in - 1);
    cr_expect(done);
    cr_expect(memcmp(out, "abc", 3) == 0);
}

/* Discarding takes every data byte there is, whatever out_cap says, and
 * counts them: a chunk larger than any buffer goes through in pieces. */
Test(chunked, discard_counts_what_it_drops)
{
    http_chunked st = {0};
    size_t consumed;
    bool done;
    const char in[] = "100000\r\n";
    cr_expect_eq(zzz_http_chunked_decode(&st, in, sizeof in - 1, &consumed, NULL, 0, &done), 0);
    cr_expect_eq(consumed, sizeof in - 1);
    size_t size = 0x100000;
    char *data = malloc(size);
    cr_assert(data);
    memset(data, 'x', size);
    size_t total = 0;
    for (size_t off = 0; off < size; off += 4096) {
        ssize_t n = zzz_http_chunked_decode(&st, data + off, 4096, &consumed, NULL, 1, &done);
        cr_expect_eq(n, 4096);
        cr_expect_eq(consumed, 4096);
        total += (size_t)n;
    }
    free(data);
    cr_expect_eq(total, size);
    const char tail[] = "\r\n0\r\nX: y\r\n\r\nGET";
    cr_expect_eq(zzz_http_chunked_decode(&st, tail, sizeof tail - 1, &consumed, NULL, 0, &done), 0);
    cr_expect_eq(consumed, sizeof tail - 4);
    cr_expect(done);
}

/* The default trailer limits are the head's: 64 fields and 16 KiB. */
Test(chunked, default_trailer_bytes)
{
    /* "0\r\n", one trailer line of `line` bytes with its CRLF, "\r\n" */
    for (size_t line = 16383; line <= 16385; line++) {
        size_t len = 3 + line + 2;
        char *in = malloc(len);
        cr_assert(in);
        memcpy(in, "0\r\nX: ", 6);
        memset(in + 6, 'v', line - 5);
        memcpy(in + 3 + line - 2, "\r\n\r\n", 4);
        http_chunked st = {0};
        size_t consumed;
        bool done;
        ssize_t n = zzz_http_chunked_decode(&st, in, len, &consumed, NULL, 0, &done);
        if (line <= 16384) {
            cr_expect_eq(n, 0, "a trailer line of %zu bytes: %zd", line, n);
            cr_expect(done && consumed == len);
        } else {
            cr_expect_eq(n, -431, "a trailer line of %zu bytes: %zd", line, n);
            cr_expect_eq(consumed, 3 + 16385);
        }
        free(in);
    }
}

/* ---- percent-decoding and names ------------------------------------------ */

typedef struct pct_case {
    const char *in;
    size_t in_len;
    bool plus;
    const char *out; /* NULL: -1 */
    size_t out_len;
} pct_case;

#define PIN(s) .in = s, .in_len = sizeof(s) - 1
#define POUT(s) .out = s, .out_len = sizeof(s) - 1

static const pct_case pct_cases[] = {
    {PIN(""), POUT("")},
    {PIN("/plain/path"), POUT("/plain/path")},
    {PIN("a%20b"), POUT("a b")},
    {PIN("%41%42%43"), POUT("ABC")},
    {PIN("%6a%6A"), POUT("jj")},
    {PIN("%C3%A9"), POUT("\xc3\xa9")},
    {PIN("%ff"), POUT("\xff")},
    {PIN("%2F"), POUT("/")},
    {PIN("%25"), POUT("%")},
    {PIN("a+b"), POUT("a+b")},
    {PIN("a+b"), .plus = true, POUT("a b")},
    {PIN("%2B+"), .plus = true, POUT("+ ")},
    {PIN("%"), .out = NULL},
    {PIN("%2"), .out = NULL},
    {PIN("abc%"), .out = NULL},
    {PIN("%zz"), .out = NULL},
    {PIN("%g0"), .out = NULL},
    {PIN("%0g"), .out = NULL},
    {PIN("%00"), .out = NULL},
    {PIN("a%00b"), .out = NULL},
    {PIN("a\0b"), .out = NULL},
    {PIN("%%41"), .out = NULL},
};

Test(percent, cases)
{
    for (size_t i = 0; i < sizeof pct_cases / sizeof pct_cases[0]; i++) {
        const pct_case *c = &pct_cases[i];
        char *in = copy_of(c->in, c->in_len);
        char out[64];
        ssize_t n = zzz_http_percent_decode((zzz_str){in, c->in_len}, out, c->plus);
        if (!c->out) {
            cr_expect_eq(n, -1, "case %zu: %zd", i, n);
        } else {
            cr_expect_eq(n, (ssize_t)c->out_len, "case %zu: %zd", i, n);
            if (n == (ssize_t)c->out_len)
                cr_expect(memcmp(out, c->out, c->out_len) == 0, "case %zu", i);
            /* and in place */
            n = zzz_http_percent_decode((zzz_str){in, c->in_len}, in, c->plus);
            cr_expect_eq(n, (ssize_t)c->out_len, "case %zu in place: %zd", i, n);
            if (n == (ssize_t)c->out_len)
                cr_expect(memcmp(in, c->out, c->out_len) == 0, "case %zu in place", i);
        }
        free(in);
    }
}

Test(percent, every_byte_value)
{
    static const char hex[] = "0123456789abcdef";
    for (int b = 1; b < 256; b++) {
        char in[3] = {'%', hex[b >> 4], hex[b & 15]};
        char out[1];
        cr_expect_eq(zzz_http_percent_decode((zzz_str){in, 3}, out, false), 1);
        cr_expect_eq((unsigned char)out[0], b);
    }
}

Test(name_eq, cases)
{
    cr_expect(zzz_http_name_eq((zzz_str){"Host", 4}, "host"));
    cr_expect(zzz_http_name_eq((zzz_str){"HOST", 4}, "Host"));
    cr_expect(zzz_http_name_eq((zzz_str){"content-LENGTH", 14}, "Content-Length"));
    cr_expect(zzz_http_name_eq((zzz_str){"", 0}, ""));
    cr_expect(!zzz_http_name_eq((zzz_str){"Hos", 3}, "host"));
    cr_expect(!zzz_http_name_eq((zzz_str){"Hostx", 5}, "host"));
    cr_expect(!zzz_http_name_eq((zzz_str){"Host", 4}, ""));
    cr_expect(!zzz_http_name_eq((zzz_str){"a\0", 2}, "a"));
    cr_expect(!zzz_http_name_eq((zzz_str){"Hosu", 4}, "host"));
    /* Only ASCII letters fold: '@' is not '`', '[' is not '{'. */
    cr_expect(!zzz_http_name_eq((zzz_str){"@", 1}, "`"));
    cr_expect(!zzz_http_name_eq((zzz_str){"[", 1}, "{"));
    cr_expect(!zzz_http_name_eq((zzz_str){"\xc0", 1}, "\xe0"));
    /* the name is not read past its length */
    char *p = copy_of("Host", 4);
    cr_expect(zzz_http_name_eq((zzz_str){p, 4}, "HOST"));
    free(p);
}
