/* libFuzzer target for zzz/src/http/parse.c: every input is parsed as a
 * request head (with small limits, so they are hit, and with roomy ones)
 * and decoded as a chunked body in several ways, and the results are
 * checked against each other and against the contract in parse.h. */
#include "parse.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Not assert(): release builds define NDEBUG, and a fuzzer must never stop
 * checking. */
#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "parse_fuzz: %s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);   \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

#define MAX_FIELDS 64

static bool inside(zzz_str s, const char *buf, size_t len)
{
    return s.ptr >= buf && s.ptr <= buf + len && s.len <= (size_t)(buf + len - s.ptr);
}

static int parse(const char *buf, size_t len, const http_limits *lim, http_head *h,
                 zzz_header *fields)
{
    memset(h, 0, sizeof *h);
    h->headers = fields;
    return http_parse_head(buf, len, lim, h);
}

/* The parse of buf[0..len) with lim, and of a prefix of `cut` bytes,
 * checked for agreement. */
static void check_head(const char *buf, size_t len, const http_limits *lim, size_t cut)
{
    http_head h;
    zzz_header fields[MAX_FIELDS];
    int rc = parse(buf, len, lim, &h, fields);
    CHECK(rc == 0 || rc == -400 || rc == -414 || rc == -431 || rc == -501 || rc == -505 || rc > 0);
    if (rc > 0) {
        size_t n = (size_t)rc;
        CHECK(n <= len && n <= lim->max_head_bytes && n == h.head_len);
        CHECK(inside(h.method, buf, n) && h.method.len > 0);
        CHECK(inside(h.target, buf, n) && h.target.len > 0 && h.target.len <= lim->max_target);
        CHECK(inside(h.path, buf, n) && inside(h.query, buf, n) && inside(h.host, buf, n));
        CHECK(h.header_count <= lim->max_headers);
        for (unsigned i = 0; i < h.header_count; i++) {
            CHECK(inside(h.headers[i].name, buf, n) && h.headers[i].name.len > 0);
            CHECK(inside(h.headers[i].value, buf, n));
            for (size_t j = 0; j < h.headers[i].value.len; j++) {
                unsigned char c = (unsigned char)h.headers[i].value.ptr[j];
                CHECK(c == '\t' || (c >= 0x20 && c != 0x7F));
            }
        }
        CHECK(h.version_minor == 0 || h.version_minor == 1);
        CHECK(h.body == HTTP_BODY_NONE || h.body == HTTP_BODY_LENGTH ||
              h.body == HTTP_BODY_CHUNKED);
        CHECK(h.body == HTTP_BODY_LENGTH || h.content_length == 0);
        CHECK(h.body != HTTP_BODY_CHUNKED || h.version_minor == 1);
        CHECK(h.content_length <= (uint64_t)INT64_MAX);
        /* The head alone parses the same; one byte less needs more. */
        http_head again;
        CHECK(parse(buf, n, lim, &again, fields) == rc);
        CHECK(again.header_count == h.header_count && again.body == h.body &&
              again.content_length == h.content_length && again.keep_alive == h.keep_alive);
        CHECK(parse(buf, n - 1, lim, &again, fields) == 0);
    }
    if (cut < len) {
        http_head p;
        int prc = parse(buf, cut, lim, &p, fields);
        if (rc > 0)
            CHECK(cut < (size_t)rc ? prc == 0 : prc == rc);
        else /* a prefix needs more or fails as the whole does */
            CHECK(prc == 0 || prc == rc);
    }
}

/* One decoding run: `piece` input bytes become available per call (0: all
 * at once), with `room` bytes of output per call. */
typedef struct decoded {
    ssize_t rc; /* bytes written, or -400 */
    size_t consumed;
    bool done;
} decoded;

static decoded decode(const char *in, size_t len, char *out, size_t max_line, size_t piece,
                      size_t room)
{
    http_chunked st = {.max_line = max_line};
    decoded d = {0, 0, false};
    size_t avail = 0;
    for (;;) {
        avail = piece == 0 || len - avail <= piece ? len : avail + piece;
        size_t consumed = 0;
        bool done = false;
        ssize_t n = http_chunked_decode(&st, in + d.consumed, avail - d.consumed, &consumed,
                                        out + d.rc, room, &done);
        if (n < 0) {
            d.rc = n;
            CHECK(n == -400);
            return d;
        }
        CHECK((size_t)n <= room && consumed <= avail - d.consumed);
        /* Never more written than consumed: what keeps in place safe. */
        d.consumed += consumed;
        d.rc += n;
        CHECK((size_t)d.rc <= d.consumed);
        d.done = done;
        if (done || (avail == len && consumed == 0 && n == 0))
            return d;
    }
}

static void check_chunked(const char *data, size_t len, size_t max_line, size_t cut, size_t room)
{
    char *out = malloc(len + 1);
    char *copy = malloc(len + 1);
    CHECK(out && copy);
    decoded whole = decode(data, len, out, max_line, 0, len);

    /* In place, in a buffer of exactly the input's size, so a write past
     * it is caught by AddressSanitizer. */
    char *exact = malloc(len ? len : 1);
    CHECK(exact);
    memcpy(exact, data, len);
    decoded inplace = decode(exact, len, exact, max_line, 0, len);
    CHECK(inplace.rc == whole.rc && inplace.done == whole.done);
    if (whole.rc >= 0) {
        CHECK(inplace.consumed == whole.consumed);
        CHECK(memcmp(exact, out, (size_t)whole.rc) == 0);
        CHECK(memcmp(exact + whole.consumed, data + whole.consumed, len - whole.consumed) == 0);
    }
    free(exact);

    /* Split in two at a point the data chose, then dribbled, then with
     * little room for output: the same outcome every time. */
    decoded runs[] = {
        decode(data, len, copy, max_line, cut ? cut : 1, len),
        decode(data, len, copy, max_line, 1, len),
        decode(data, len, copy, max_line, 0, room),
    };
    for (size_t i = 0; i < sizeof runs / sizeof runs[0]; i++) {
        CHECK((runs[i].rc < 0) == (whole.rc < 0));
        if (whole.rc >= 0) {
            CHECK(runs[i].rc == whole.rc && runs[i].done == whole.done);
            CHECK(runs[i].consumed == whole.consumed);
        }
    }
    /* The last run wrote the whole output too: compare it. */
    if (whole.rc >= 0)
        CHECK(memcmp(copy, out, (size_t)whole.rc) == 0);
    free(copy);
    free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *buf = (const char *)data;
    /* Choices derived from the data, so the fuzzer can steer them. */
    uint32_t seed = 2166136261u;
    for (size_t i = 0; i < size && i < 64; i++)
        seed = (seed ^ data[i]) * 16777619u;
    size_t cut = size ? seed % (size + 1) : 0;

    static const http_limits small = {.max_target = 32, .max_head_bytes = 192, .max_headers = 6};
    static const http_limits roomy = {
        .max_target = 4096, .max_head_bytes = 8192, .max_headers = MAX_FIELDS};
    check_head(buf, size, &small, cut);
    check_head(buf, size, &roomy, cut);

    size_t max_line = (seed >> 8) % 3 == 0 ? 0 : 8 + (seed >> 12) % 32;
    check_chunked(buf, size, max_line, cut, 1 + (seed >> 20) % 7);

    /* Percent-decoding never grows, in place or not. */
    char *dst = malloc(size + 1);
    CHECK(dst);
    ssize_t n = http_percent_decode((zzz_str){buf, size}, dst, seed & 1);
    CHECK(n == -1 || (n >= 0 && (size_t)n <= size));
    if (n >= 0)
        CHECK(memchr(dst, 0, (size_t)n) == NULL);
    memcpy(dst, buf, size);
    ssize_t m = http_percent_decode((zzz_str){dst, size}, dst, seed & 1);
    CHECK(m == n);
    free(dst);

    CHECK(http_name_eq((zzz_str){buf, size}, "content-length") ==
          (size == 14 && strncasecmp(buf, "content-length", 14) == 0));
    return 0;
}
