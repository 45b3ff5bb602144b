/* libFuzzer target for the request-head parser (zzz/src/http/parse.c, with
 * fields.c and target.c) and the chunked decoder (chunked.c): every input
 * is parsed as a request head (with small limits, so they are hit, and
 * with roomy ones) and decoded as a chunked body (the whole input, and
 * what follows a head announcing one) in several ways, copying and
 * discarding, under limits the data picks; the results are checked
 * against each other and against the contract in parse.h. */
#include "chunked.h"
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
    return zzz_http_parse_head(buf, len, lim, h);
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

/* Line ends in a head: a bare LF, or a CR followed by anything but LF, is
 * refused as soon as it is in the bytes parsed, unless a whole head ended
 * before it (then it is the body's). A CR at the very end waits. */
static void check_line_ends(const char *buf, size_t len, const http_limits *lim)
{
    http_head h;
    zzz_header fields[MAX_FIELDS];
    const char *lf = NULL, *cr = NULL;
    for (size_t i = 0; i < len && !(lf && cr); i++) {
        if (!lf && buf[i] == '\n' && (i == 0 || buf[i - 1] != '\r'))
            lf = buf + i;
        if (!cr && buf[i] == '\r' && i + 1 < len && buf[i + 1] != '\n')
            cr = buf + i;
    }
    if (lf) {
        size_t at = (size_t)(lf - buf);
        if (parse(buf, at, lim, &h, fields) <= 0)
            CHECK(parse(buf, at + 1, lim, &h, fields) < 0);
    }
    if (cr) {
        size_t at = (size_t)(cr - buf);
        if (parse(buf, at, lim, &h, fields) <= 0) {
            CHECK(parse(buf, at + 1, lim, &h, fields) <= 0);
            CHECK(parse(buf, at + 2, lim, &h, fields) < 0);
        }
    }
}

/* A small generator for split points, so one input tries many. */
static uint32_t next_rand(uint32_t *state)
{
    uint32_t x = *state ? *state : 0x9e3779b9u;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return *state = x;
}

/* How input is fed to the decoder: all at once (piece 0), `piece` bytes
 * per call, or random pieces of 1 to 16 bytes (rand set). */
typedef struct feed {
    size_t first; /* bytes available to the first call (0: as piece says) */
    size_t piece;
    uint32_t rand;
} feed;

/* One decoding run, with `room` bytes of output per call, or discarding
 * (out NULL). */
typedef struct decoded {
    ssize_t rc; /* body bytes written (or counted), or the error */
    size_t consumed;
    bool done;
} decoded;

static decoded decode(const char *in, size_t len, char *out, const http_chunked *init, feed f,
                      size_t room)
{
    http_chunked st = *init;
    decoded d = {0, 0, false};
    size_t avail = 0;
    for (bool start = true;; start = false) {
        size_t step = f.rand ? 1 + next_rand(&f.rand) % 16 : f.piece;
        if (start && f.first)
            step = f.first;
        avail = step == 0 || len - avail <= step ? len : avail + step;
        size_t consumed = 0;
        bool done = false;
        ssize_t n = zzz_http_chunked_decode(&st, in + d.consumed, avail - d.consumed, &consumed,
                                            out ? out + d.rc : NULL, out ? room : 0, &done);
        CHECK(consumed <= avail - d.consumed);
        d.consumed += consumed;
        if (n < 0) {
            CHECK(n == -400 || (n == -413 && init->max_body) || n == -431);
            CHECK(!done);
            d.rc = n;
            /* Sticky: the same status again, nothing consumed, not done. */
            size_t again = 1;
            bool done_again = true;
            char spare[1];
            CHECK(zzz_http_chunked_decode(&st, in + d.consumed, len - d.consumed, &again,
                                          out ? spare : NULL, sizeof spare, &done_again) == n);
            CHECK(again == 0 && !done_again);
            return d;
        }
        if (out)
            CHECK((size_t)n <= room);
        d.rc += n;
        /* Never more written than consumed: what keeps in place safe. */
        CHECK((size_t)d.rc <= d.consumed);
        if (init->max_body)
            CHECK((uint64_t)d.rc <= init->max_body);
        d.done = done;
        if (done) {
            /* Done sticks too, and touches nothing after the body. */
            size_t again = 1;
            bool done_again = false;
            CHECK(zzz_http_chunked_decode(&st, in + d.consumed, len - d.consumed, &again, NULL, 0,
                                          &done_again) == 0);
            CHECK(again == 0 && done_again);
            return d;
        }
        if (avail == len && consumed == 0 && n == 0)
            return d; /* out of input */
    }
}

/* Every run of the same input, however fed, and copying or discarding,
 * ends the same way: same status, same bytes consumed (an error at the
 * same byte), same body. */
static void check_same(decoded a, decoded b)
{
    CHECK(a.rc == b.rc && a.consumed == b.consumed && a.done == b.done);
}

static void check_chunked(const char *data, size_t len, const http_chunked *init, uint32_t seed,
                          size_t room)
{
    char *out = malloc(len + 1);
    char *copy = malloc(len + 1);
    CHECK(out && copy);
    feed all = {0, 0, 0};
    decoded whole = decode(data, len, out, init, all, len);
    check_same(decode(data, len, NULL, init, all, 0), whole);

    /* In place, in a buffer of exactly the input's size, so a write past
     * it is caught by AddressSanitizer. */
    char *exact = malloc(len ? len : 1);
    CHECK(exact);
    memcpy(exact, data, len);
    check_same(decode(exact, len, exact, init, all, len), whole);
    if (whole.rc >= 0) {
        CHECK(memcmp(exact, out, (size_t)whole.rc) == 0);
        CHECK(memcmp(exact + whole.consumed, data + whole.consumed, len - whole.consumed) == 0);
    }
    free(exact);

    /* Split in two at a point the data chose, in random pieces, dribbled,
     * with little room for output; each copying and discarding. */
    size_t cut = len ? 1 + seed % len : 0;
    feed feeds[] = {{cut, 0, 0}, {0, 0, seed | 1}, {0, 1, 0}};
    for (size_t i = 0; i < sizeof feeds / sizeof feeds[0]; i++) {
        decoded d = decode(data, len, copy, init, feeds[i], len);
        check_same(d, whole);
        if (whole.rc > 0)
            CHECK(memcmp(copy, out, (size_t)whole.rc) == 0);
        check_same(decode(data, len, NULL, init, feeds[i], 0), whole);
    }
    memset(copy, 0, len + 1);
    check_same(decode(data, len, copy, init, feeds[1], room), whole);
    if (whole.rc > 0)
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
    check_line_ends(buf, size, &small);
    check_line_ends(buf, size, &roomy);

    /* The decoder's limits: the defaults, or small ones the fuzzer can
     * reach, each chosen by the data. */
    http_chunked init = {0};
    if ((seed >> 8) % 3)
        init.max_line = 8 + (seed >> 10) % 32;
    if ((seed >> 15) % 2)
        init.max_body = 1 + (seed >> 16) % 64;
    if ((seed >> 22) % 2)
        init.max_trailers = 1 + (seed >> 23) % 4;
    if ((seed >> 25) % 2)
        init.max_trailer_bytes = 1 + (seed >> 26) % 48;
    size_t room = 1 + (seed >> 20) % 7;

    /* The input as a chunked body, and, after a head that announces one,
     * what follows the head: where a real body comes from. */
    check_chunked(buf, size, &init, seed, room);
    http_head h;
    zzz_header fields[MAX_FIELDS];
    if (parse(buf, size, &roomy, &h, fields) > 0 && h.body == HTTP_BODY_CHUNKED)
        check_chunked(buf + h.head_len, size - h.head_len, &init, seed >> 3, room);

    /* Percent-decoding never grows, in place or not. */
    char *dst = malloc(size + 1);
    CHECK(dst);
    ssize_t n = zzz_http_percent_decode((zzz_str){buf, size}, dst, seed & 1);
    CHECK(n == -1 || (n >= 0 && (size_t)n <= size));
    if (n >= 0)
        CHECK(memchr(dst, 0, (size_t)n) == NULL);
    memcpy(dst, buf, size);
    ssize_t m = zzz_http_percent_decode((zzz_str){dst, size}, dst, seed & 1);
    CHECK(m == n);
    free(dst);

    CHECK(zzz_http_name_eq((zzz_str){buf, size}, "content-length") ==
          (size == 14 && strncasecmp(buf, "content-length", 14) == 0));
    return 0;
}
