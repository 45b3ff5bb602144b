/* Tests of the request-head parser, the chunked decoder and the helpers in
 * zzz/src/http/parse.c. The parser does no I/O, so nothing here depends on
 * a driver. Every input is copied into a buffer of exactly its size, so a
 * sanitizer build catches any read past the bytes received. */
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
    return http_parse_head(buf, len, lim, h);
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
        if (http_name_eq(h->headers[i].name, name)) {
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
 * with the same status. */
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
                /* a bare CR is refused; after a bare LF, "aaa" is no field */
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
    const char *body; /* NULL: a framing error */
    size_t body_len;
    size_t enc_len; /* the chunked encoding's length (the rest is the next request) */
    size_t max_line;
} chunk_case;

#define IN(s) .in = s, .in_len = sizeof(s) - 1
#define BODY(s) .body = s, .body_len = sizeof(s) - 1
#define NEXT "GET / HTTP/1.1\r\n"
#define CHUNK_OK(nm, enc, b)                                                                       \
    {                                                                                              \
        .name = nm, IN(enc NEXT), BODY(b), .enc_len = sizeof(enc) - 1                              \
    }
#define CHUNK_OKL(nm, enc, b, ml)                                                                  \
    {                                                                                              \
        .name = nm, IN(enc NEXT), BODY(b), .enc_len = sizeof(enc) - 1, .max_line = (ml)            \
    }
#define CHUNK_BAD(nm, enc)                                                                         \
    {                                                                                              \
        .name = nm, IN(enc)                                                                        \
    }
#define CHUNK_BADL(nm, enc, ml)                                                                    \
    {                                                                                              \
        .name = nm, IN(enc), .max_line = (ml)                                                      \
    }

static const chunk_case chunk_cases[] = {
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
    CHUNK_OK("quoted extension", "5;a=\"b c\\\"d;e\";f\r\nhello\r\n0\r\n\r\n", "hello"),
    CHUNK_OK("quoted extension with obs-text", "5;a=\"\xc3\xa9\"\r\nhello\r\n0\r\n\r\n", "hello"),
    CHUNK_OK("BWS in extensions", "5 ; a = b ;\tc\r\nhello\r\n0\r\n\r\n", "hello"),
    CHUNK_OK("empty quoted extension", "5;a=\"\"\r\nhello\r\n0\r\n\r\n", "hello"),
    CHUNK_OK("trailer", "5\r\nhello\r\n0\r\nX-Sum: abc\r\n\r\n", "hello"),
    CHUNK_OK("trailers", "1\r\na\r\n0\r\nA: 1\r\nb:\r\nC: x y\t\xff\r\n\r\n", "a"),
    CHUNK_OK("big chunk size", "1F\r\n0123456789012345678901234567890\r\n0\r\n\r\n",
             "0123456789012345678901234567890"),
    CHUNK_OKL("size line exactly max_line", "5;abcdef\r\nhello\r\n0\r\n\r\n", "hello", 8),
    CHUNK_OKL("trailer line exactly max_line", "0\r\nX: 12345\r\n\r\n", "", 8),

    CHUNK_BAD("not hex", "g\r\nhello\r\n0\r\n\r\n"),
    CHUNK_BAD("empty size", "\r\nhello\r\n0\r\n\r\n"),
    CHUNK_BAD("minus", "-5\r\nhello\r\n0\r\n\r\n"),
    CHUNK_BAD("0x prefix", "0x5\r\nhello\r\n0\r\n\r\n"),
    CHUNK_BAD("space before size", " 5\r\nhello\r\n0\r\n\r\n"),
    CHUNK_BAD("space after size", "5 \r\nhello\r\n0\r\n\r\n"),
    CHUNK_BAD("bare LF after size", "5\nhello\r\n0\r\n\r\n"),
    CHUNK_BAD("bare CR after size", "5\rhello\r\n0\r\n\r\n"),
    CHUNK_BAD("data longer than size", "5\r\nhelloX\r\n0\r\n\r\n"),
    CHUNK_BAD("data shorter than size", "5\r\nhell\r\n0\r\n\r\n"),
    CHUNK_BAD("bare LF after data", "5\r\nhello\n0\r\n\r\n"),
    CHUNK_BAD("no CRLF after data", "5\r\nhello0\r\n\r\n"),
    CHUNK_BAD("size overflow", "10000000000000000\r\n"),
    CHUNK_BAD("size overflow with zeros", "0000fffffffffffffffff\r\n"),
    CHUNK_BAD("empty extension", "5;\r\nhello\r\n0\r\n\r\n"),
    CHUNK_BAD("extension with empty value", "5;a=\r\nhello\r\n0\r\n\r\n"),
    CHUNK_BAD("extension without semicolon", "5 a\r\nhello\r\n0\r\n\r\n"),
    CHUNK_BAD("extension name then junk", "5;a b\r\nhello\r\n0\r\n\r\n"),
    CHUNK_BAD("unterminated quoted extension", "5;a=\"b\r\nhello\r\n0\r\n\r\n"),
    CHUNK_BAD("CTL in quoted extension", "5;a=\"\x01\"\r\nhello\r\n0\r\n\r\n"),
    CHUNK_BAD("extension value then junk", "5;a=\"b\"c\r\nhello\r\n0\r\n\r\n"),
    CHUNK_BAD("trailing whitespace after extension", "5;a=b \r\nhello\r\n0\r\n\r\n"),
    CHUNK_BAD("bare LF in last chunk", "0\n\r\n"),
    CHUNK_BAD("bare LF as final line", "0\r\n\n"),
    CHUNK_BAD("bare CR as final line", "0\r\n\rX"),
    CHUNK_BAD("trailer obs-fold", "0\r\nX: a\r\n b\r\n\r\n"),
    CHUNK_BAD("trailer without colon", "0\r\nX\r\n\r\n"),
    CHUNK_BAD("trailer space before colon", "0\r\nX : a\r\n\r\n"),
    CHUNK_BAD("trailer empty name", "0\r\n: a\r\n\r\n"),
    CHUNK_BAD("trailer NUL in value", "0\r\nX: a\0b\r\n\r\n"),
    CHUNK_BAD("trailer bare LF", "0\r\nX: a\n\r\n"),
    CHUNK_BAD("trailer bare CR", "0\r\nX: a\rb\r\n\r\n"),
    CHUNK_BADL("size line over max_line", "5;abcdefg\r\nhello\r\n0\r\n\r\n", 8),
    CHUNK_BADL("leading zeros over max_line", "000000005\r\nhello\r\n0\r\n\r\n", 8),
    CHUNK_BADL("trailer line over max_line", "0\r\nX: 123456\r\n\r\n", 8),
    CHUNK_BADL("trailer section over 4 max_line",
               "0\r\nA: 1234\r\nB: 1234\r\nC: 1234\r\nD: 1234\r\nE: 1234\r\n\r\n", 8),
};

/* Runs the decoder over in, pieces[i] bytes at a time (then the rest),
 * into out with at most out_step bytes of room per call. Returns the
 * total written, or the first error; *used is the input consumed. */
static ssize_t decode(const chunk_case *c, const char *in, size_t in_len, char *out,
                      size_t out_step, size_t piece, size_t *used, bool *done)
{
    http_chunked st = {.max_line = c->max_line};
    size_t in_off = 0, written = 0, avail = 0;
    *done = false;
    /* Feeds the input a piece at a time: bytes become available as they
     * would from a socket, and what the decoder leaves stays for later. */
    while (!*done) {
        if (avail < in_len)
            avail = piece && avail + piece < in_len ? avail + piece : in_len;
        size_t consumed = 0;
        ssize_t n = http_chunked_decode(&st, in + in_off, avail - in_off, &consumed, out + written,
                                        out_step, done);
        if (n < 0) {
            *used = in_off + consumed;
            return n;
        }
        cr_assert_leq(consumed, avail - in_off);
        cr_assert_leq((size_t)n, out_step);
        in_off += consumed;
        written += (size_t)n;
        if (!*done && consumed == 0 && n == 0 && avail == in_len)
            break; /* stuck: out of input */
    }
    *used = in_off;
    return (ssize_t)written;
}

static void expect_decoded(const chunk_case *c, ssize_t n, size_t used, bool done, const char *out,
                           const char *how)
{
    if (!c->body) {
        cr_expect_eq(n, -400, "%s (%s): returned %zd", c->name, how, n);
        return;
    }
    cr_expect_eq(n, (ssize_t)c->body_len, "%s (%s): %zd bytes", c->name, how, n);
    cr_expect(done, "%s (%s): not done", c->name, how);
    cr_expect_eq(used, c->enc_len, "%s (%s): consumed %zu of %zu", c->name, how, used, c->enc_len);
    if (n == (ssize_t)c->body_len)
        cr_expect(memcmp(out, c->body, c->body_len) == 0, "%s (%s): wrong bytes", c->name, how);
}

/* Whole, split in two at every byte, one byte at a time, one output byte
 * at a time, and in place: always the same body, the same consumption,
 * and the next request left untouched. */
static void check_chunk_case(const chunk_case *c)
{
    char *in = copy_of(c->in, c->in_len);
    char *out = malloc(c->in_len + 1);
    size_t used;
    bool done;
    ssize_t n = decode(c, in, c->in_len, out, c->in_len, 0, &used, &done);
    expect_decoded(c, n, used, done, out, "whole");

    for (size_t split = 1; split < c->in_len; split++) {
        http_chunked st = {.max_line = c->max_line};
        size_t consumed1 = 0, consumed2 = 0;
        bool done1 = false, done2 = false;
        ssize_t n1 = http_chunked_decode(&st, in, split, &consumed1, out, c->in_len, &done1);
        if (n1 < 0) {
            cr_expect(!c->body, "%s: split %zu: error in the first part", c->name, split);
            continue;
        }
        ssize_t n2 = done1 ? 0
                           : http_chunked_decode(&st, in + consumed1, c->in_len - consumed1,
                                                 &consumed2, out + n1, c->in_len, &done2);
        if (n2 < 0) {
            cr_expect(!c->body, "%s: split %zu: error in the second part", c->name, split);
            continue;
        }
        char how[32];
        snprintf(how, sizeof how, "split at %zu", split);
        expect_decoded(c, n1 + n2, consumed1 + consumed2, done1 || done2, out, how);
    }

    n = decode(c, in, c->in_len, out, c->in_len, 1, &used, &done);
    expect_decoded(c, n, used, done, out, "byte at a time");
    n = decode(c, in, c->in_len, out, 1, 0, &used, &done);
    expect_decoded(c, n, used, done, out, "one output byte per call");
    n = decode(c, in, c->in_len, out, 1, 1, &used, &done);
    expect_decoded(c, n, used, done, out, "one byte in, one byte out");

    /* In place: the body lands at the start of the input buffer and what
     * follows the encoding is not touched. */
    n = decode(c, in, c->in_len, in, c->in_len, 0, &used, &done);
    expect_decoded(c, n, used, done, in, "in place");
    if (c->body)
        cr_expect(memcmp(in + c->enc_len, NEXT, c->in_len - c->enc_len) == 0,
                  "%s: the next request was touched", c->name);
    free(out);
    free(in);
}

Test(chunked, cases)
{
    for (size_t i = 0; i < sizeof chunk_cases / sizeof chunk_cases[0]; i++)
        check_chunk_case(&chunk_cases[i]);
}

Test(chunked, errors_are_sticky)
{
    http_chunked st = {0};
    size_t consumed;
    bool done;
    char out[16];
    cr_expect_eq(http_chunked_decode(&st, "z\r\n", 3, &consumed, out, sizeof out, &done), -400);
    cr_expect_eq(http_chunked_decode(&st, "0\r\n\r\n", 5, &consumed, out, sizeof out, &done), -400);
    cr_expect(!done);
}

Test(chunked, done_is_sticky)
{
    http_chunked st = {0};
    size_t consumed;
    bool done;
    char out[16];
    cr_expect_eq(http_chunked_decode(&st, "0\r\n\r\n", 5, &consumed, out, sizeof out, &done), 0);
    cr_expect(done);
    cr_expect_eq(consumed, 5);
    cr_expect_eq(http_chunked_decode(&st, "5\r\nhello", 8, &consumed, out, sizeof out, &done), 0);
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
    cr_expect_eq(http_chunked_decode(&st, in, sizeof in - 1, &consumed, out, sizeof out, &done), 3);
    cr_expect_eq(consumed, sizeof in - 1);
    cr_expect_eq(st.chunk_left, UINT64_MAX - 3);
    cr_expect(!done);
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
    cr_expect_eq(http_chunked_decode(&st, in, sizeof in - 1, &consumed, out, 0, &done), 0);
    cr_expect_eq(consumed, 3);
    cr_expect(!done);
    size_t more;
    cr_expect_eq(http_chunked_decode(&st, in + 3, sizeof in - 4, &more, out, 16, &done), 3);
    cr_expect_eq(consumed + more, sizeof in - 1);
    cr_expect(done);
    cr_expect(memcmp(out, "abc", 3) == 0);
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
        ssize_t n = http_percent_decode((zzz_str){in, c->in_len}, out, c->plus);
        if (!c->out) {
            cr_expect_eq(n, -1, "case %zu: %zd", i, n);
        } else {
            cr_expect_eq(n, (ssize_t)c->out_len, "case %zu: %zd", i, n);
            if (n == (ssize_t)c->out_len)
                cr_expect(memcmp(out, c->out, c->out_len) == 0, "case %zu", i);
            /* and in place */
            n = http_percent_decode((zzz_str){in, c->in_len}, in, c->plus);
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
        cr_expect_eq(http_percent_decode((zzz_str){in, 3}, out, false), 1);
        cr_expect_eq((unsigned char)out[0], b);
    }
}

Test(name_eq, cases)
{
    cr_expect(http_name_eq((zzz_str){"Host", 4}, "host"));
    cr_expect(http_name_eq((zzz_str){"HOST", 4}, "Host"));
    cr_expect(http_name_eq((zzz_str){"content-LENGTH", 14}, "Content-Length"));
    cr_expect(http_name_eq((zzz_str){"", 0}, ""));
    cr_expect(!http_name_eq((zzz_str){"Hos", 3}, "host"));
    cr_expect(!http_name_eq((zzz_str){"Hostx", 5}, "host"));
    cr_expect(!http_name_eq((zzz_str){"Host", 4}, ""));
    cr_expect(!http_name_eq((zzz_str){"a\0", 2}, "a"));
    cr_expect(!http_name_eq((zzz_str){"Hosu", 4}, "host"));
    /* Only ASCII letters fold: '@' is not '`', '[' is not '{'. */
    cr_expect(!http_name_eq((zzz_str){"@", 1}, "`"));
    cr_expect(!http_name_eq((zzz_str){"[", 1}, "{"));
    cr_expect(!http_name_eq((zzz_str){"\xc0", 1}, "\xe0"));
    /* the name is not read past its length */
    char *p = copy_of("Host", 4);
    cr_expect(http_name_eq((zzz_str){p, 4}, "HOST"));
    free(p);
}
