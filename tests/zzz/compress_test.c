/* Integration tests of the compression layer (zzz_use_compression) and
 * the body-filter seam beneath it: the app server (appserver.c) compresses
 * what it serves beneath /z; the bodies are decoded here with zlib and
 * brotli's decoder and compared with what the server meant to send. Once
 * per I/O driver. */
#include "harness.h"

#include <brotli/decode.h>
#include <zlib.h>

TestSuite(compress, .fini = harness_cleanup, .timeout = 120);

static void start_app(server *s)
{
    static const char *const args[] = {"--threads", "1", NULL};
    server_start(s, binary_path("ZZZ_APPSERVER"), args);
}

/* The text the app server sends for ?n=N (appserver.c, text_of). */
static char *expected_text(size_t n)
{
    char *text = malloc(n + 1);
    size_t at = 0;
    for (unsigned line = 0; at < n; line++) {
        char piece[48];
        int len = snprintf(piece, sizeof piece, "line %u of the compressible text\n", line);
        size_t take = (size_t)len < n - at ? (size_t)len : n - at;
        memcpy(text + at, piece, take);
        at += take;
    }
    text[n] = '\0';
    return text;
}

static void ask(uint16_t port, const char *method, const char *target, const char *accept,
                const char *version, response *r)
{
    char request[512];
    snprintf(request, sizeof request, "%s %s HTTP/%s\r\nHost: t\r\n%s%s%s\r\n", method, target,
             version, accept ? "Accept-Encoding: " : "", accept ? accept : "",
             accept ? "\r\n" : "");
    exchange(port, request, r);
}

/* Decodes body as coding ("gzip" or "br"); the bytes, malloc'ed. */
static char *decode(const response *r, const char *coding, size_t *out_len)
{
    size_t cap = 16 << 20;
    char *out = malloc(cap);
    if (strcmp(coding, "gzip") == 0) {
        z_stream z = {0};
        cr_assert_eq(inflateInit2(&z, 16 + 15), Z_OK);
        z.next_in = (Bytef *)r->body;
        z.avail_in = (uInt)r->body_len;
        z.next_out = (Bytef *)out;
        z.avail_out = (uInt)cap;
        int rc = inflate(&z, Z_FINISH);
        cr_assert_eq(rc, Z_STREAM_END, "gzip stream not whole (%d)", rc);
        cr_assert_eq(z.avail_in, 0, "bytes after the gzip stream");
        *out_len = cap - z.avail_out;
        inflateEnd(&z);
    } else {
        size_t len = cap;
        BrotliDecoderResult rc = BrotliDecoderDecompress(r->body_len, (const uint8_t *)r->body,
                                                         &len, (uint8_t *)out);
        cr_assert_eq(rc, BROTLI_DECODER_RESULT_SUCCESS, "brotli stream not whole");
        *out_len = len;
    }
    return out;
}

/* The answer is coded with `coding` (NULL: not at all) and its decoded
 * body is the n bytes of text. */
static void expect_coded(const response *r, const char *coding, size_t n)
{
    expect_status(r, 200);
    const char *ce = resp_header(r, "Content-Encoding");
    char *text = expected_text(n);
    if (!coding) {
        cr_assert_null(ce, "coded %s:\n%s", ce, r->head);
        cr_assert_eq(r->body_len, n);
        cr_assert(memcmp(r->body, text, n) == 0);
    } else {
        cr_assert(ce && strcmp(ce, coding) == 0, "wanted %s:\n%s", coding, r->head);
        cr_assert_null(resp_header(r, "Content-Length"), "%s", r->head);
        cr_assert_lt(r->body_len, n, "did not get smaller");
        size_t len;
        char *plain = decode(r, coding, &len);
        cr_assert_eq(len, n, "decoded %zu bytes, wanted %zu", len, n);
        cr_assert(memcmp(plain, text, n) == 0, "decoded bytes differ");
        free(plain);
    }
    free(text);
}

Test(compress, accept_encoding_chooses_the_coding)
{
    server s;
    start_app(&s);
    struct {
        const char *accept;
        const char *coding;
    } cases[] = {
        {"gzip", "gzip"},
        {"br", "br"},
        {"gzip, deflate, br", "br"}, /* a browser's */
        {"br;q=0.5, gzip", "gzip"},
        {"gzip;q=0.8, br;q=0.9", "br"},
        {"BR ; Q=1", "br"},
        {"*", "br"},
        {"*;q=0.5, br;q=0", "gzip"},
        {"x-gzip", "gzip"},
        {"gzip;q=0, br;q=0", NULL},
        {"identity", NULL},
        {"deflate", NULL},
        {"gzip;q=2", NULL},    /* a malformed q refuses that coding */
        {"gzip;q=0.0001", NULL},
        {"", NULL},
        {NULL, NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        response r;
        ask(s.port, "GET", "/z/text", cases[i].accept, "1.1", &r);
        expect_coded(&r, cases[i].coding, 4096);
        /* Compressed or not, the answer depends on Accept-Encoding. */
        cr_assert(header_is(&r, "Vary", "Accept-Encoding"), "[%s]:\n%s",
                  cases[i].accept ? cases[i].accept : "none", r.head);
        response_free(&r);
    }
    server_stop(&s);
}

Test(compress, what_is_left_alone)
{
    server s;
    start_app(&s);
    response r;
    /* Under the threshold (1024 by default) and at it. */
    ask(s.port, "GET", "/z/text?n=1023", "gzip", "1.1", &r);
    expect_coded(&r, NULL, 1023);
    cr_assert_null(resp_header(&r, "Vary"));
    response_free(&r);
    ask(s.port, "GET", "/z/text?n=1024", "gzip", "1.1", &r);
    expect_coded(&r, "gzip", 1024);
    response_free(&r);
    /* A type that does not compress, a body already coded, a part, a
     * response that says no-transform. */
    ask(s.port, "GET", "/z/png", "gzip, br", "1.1", &r);
    expect_coded(&r, NULL, 4096);
    cr_assert_null(resp_header(&r, "Vary"));
    response_free(&r);
    ask(s.port, "GET", "/z/encoded", "gzip, br", "1.1", &r);
    cr_assert(header_is(&r, "Content-Encoding", "gzip"));
    cr_assert_eq(resp_header_count(&r, "Content-Encoding"), 1);
    cr_assert_eq(r.content_length, 4096);
    response_free(&r);
    ask(s.port, "GET", "/z/partial", "gzip, br", "1.1", &r);
    expect_status(&r, 206);
    cr_assert_null(resp_header(&r, "Content-Encoding"));
    cr_assert_eq(r.content_length, 4096);
    response_free(&r);
    ask(s.port, "GET", "/z/notransform", "gzip, br", "1.1", &r);
    expect_coded(&r, NULL, 4096);
    response_free(&r);
    /* An event stream, though its type is text/ (which the default list
     * compresses): its events must leave as they are sent. */
    ask(s.port, "GET", "/z/events", "gzip, br", "1.1", &r);
    expect_coded(&r, NULL, 4096);
    cr_assert(header_is(&r, "Content-Type", "text/event-stream"), "%s", r.head);
    cr_assert_null(resp_header(&r, "Vary"));
    response_free(&r);
    /* Outside /z, nothing is compressed. */
    ask(s.port, "GET", "/", "gzip, br", "1.1", &r);
    cr_assert_null(resp_header(&r, "Content-Encoding"));
    cr_assert_null(resp_header(&r, "Vary"));
    response_free(&r);
    server_stop(&s);
}

Test(compress, fields_of_a_compressed_answer)
{
    server s;
    start_app(&s);
    response r;
    ask(s.port, "GET", "/z/etag", "br", "1.1", &r);
    expect_coded(&r, "br", 4096);
    cr_assert(header_is(&r, "ETag", "W/\"v1\""), "%s", r.head);
    cr_assert_null(resp_header(&r, "Accept-Ranges"), "%s", r.head);
    /* The handler's Vary stays; Accept-Encoding comes in a field of its
     * own (several Vary fields are one list). */
    cr_assert_eq(resp_header_count(&r, "Vary"), 2, "%s", r.head);
    cr_assert(strstr(r.head, "Vary: Origin\r\n") && strstr(r.head, "Vary: Accept-Encoding\r\n"),
              "%s", r.head);
    response_free(&r);
    /* Not compressed: the identity's fields stay. */
    ask(s.port, "GET", "/z/etag", NULL, "1.1", &r);
    expect_coded(&r, NULL, 4096);
    cr_assert(header_is(&r, "ETag", "\"v1\""), "%s", r.head);
    cr_assert(header_is(&r, "Accept-Ranges", "bytes"));
    response_free(&r);
    /* HEAD: GET's fields, no body. */
    client c;
    client_open(&c, s.port);
    client_send_str(&c, "HEAD /z/text HTTP/1.1\r\nHost: t\r\nAccept-Encoding: gzip\r\n\r\n");
    client_response_head(&c, &r);
    client_close(&c);
    expect_status(&r, 200);
    cr_assert(header_is(&r, "Content-Encoding", "gzip"), "%s", r.head);
    cr_assert_eq(r.body_len, 0);
    response_free(&r);
    server_stop(&s);
}

Test(compress, every_way_of_sending_a_body)
{
    server s;
    start_app(&s);
    const char *kinds[] = {"text", "stream", "length", "file"};
    const char *codings[] = {"gzip", "br"};
    size_t sizes[] = {1500, 100000, 3 << 20};
    for (size_t k = 0; k < 4; k++)
        for (size_t c = 0; c < 2; c++)
            for (size_t n = 0; n < 3; n++) {
                char target[64];
                snprintf(target, sizeof target, "/z/%s?n=%zu", kinds[k], sizes[n]);
                response r;
                ask(s.port, "GET", target, codings[c], "1.1", &r);
                cr_assert(r.chunked, "%s: not chunked:\n%s", target, r.head);
                expect_coded(&r, codings[c], sizes[n]);
                response_free(&r);
            }
    /* HTTP/1.0 has no chunks: the body ends with the connection. */
    response r;
    ask(s.port, "GET", "/z/stream?n=50000", "gzip", "1.0", &r);
    cr_assert(!r.chunked);
    expect_coded(&r, "gzip", 50000);
    response_free(&r);
    server_stop(&s);
}

/* Compressors are kept per thread between requests: many answers in a
 * row on one connection, each whole. */
Test(compress, one_connection_many_answers)
{
    server s;
    start_app(&s);
    client c;
    client_open(&c, s.port);
    for (int i = 0; i < 60; i++) {
        const char *coding = i % 3 == 0 ? "br" : "gzip";
        size_t n = 1024 + (size_t)i * 997;
        char request[256];
        snprintf(request, sizeof request,
                 "GET /z/%s?n=%zu HTTP/1.1\r\nHost: t\r\nAccept-Encoding: %s\r\n\r\n",
                 i % 2 ? "stream" : "text", n, coding);
        client_send_str(&c, request);
        response r;
        client_response(&c, &r);
        expect_coded(&r, coding, n);
        response_free(&r);
    }
    client_close(&c);
    server_stop(&s);
}

/* A promised length holds for the bytes given to the filter: short of it
 * the answer is cut (no final chunk); exactly it, the end comes even
 * when the handler leaves it to zzz. */
Test(compress, a_promised_length_is_kept)
{
    server s;
    start_app(&s);
    response r;
    ask(s.port, "GET", "/z/length?n=5000", "gzip", "1.1", &r);
    expect_coded(&r, "gzip", 5000);
    response_free(&r);
    ask(s.port, "GET", "/z/noend?n=5000", "br", "1.1", &r);
    expect_coded(&r, "br", 5000);
    response_free(&r);
    client c;
    client_open(&c, s.port);
    client_send_str(&c, "GET /z/short?n=5000 HTTP/1.1\r\nHost: t\r\nAccept-Encoding: gzip\r\n\r\n");
    cr_assert(client_wait_closed(&c, HANG_GUARD_MS, NULL), "a cut answer left the connection open");
    cr_assert(c.len > 0 && memmem(c.buf, c.len, "\r\n0\r\n\r\n", 7) == NULL,
              "a cut answer ended with the final chunk");
    client_close(&c);
    server_stop(&s);
}

/* A 304 carries the fields of its 200: the weak ETag and Vary. */
Test(compress, not_modified_matches_the_compressed_answer)
{
    server s;
    start_app(&s);
    response r;
    ask(s.port, "GET", "/z/static.txt", "gzip", "1.1", &r);
    expect_status(&r, 200);
    cr_assert(header_is(&r, "Content-Encoding", "gzip"), "%s", r.head);
    const char *etag = resp_header(&r, "ETag");
    cr_assert(etag && strncmp(etag, "W/\"", 3) == 0, "%s", r.head);
    char request[2048];
    snprintf(request, sizeof request,
             "GET /z/static.txt HTTP/1.1\r\nHost: t\r\nAccept-Encoding: gzip\r\n"
             "If-None-Match: %s\r\n\r\n", etag);
    response nm;
    exchange(s.port, request, &nm);
    expect_status(&nm, 304);
    cr_assert(header_is(&nm, "ETag", etag), "%s", nm.head);
    cr_assert(header_is(&nm, "Vary", "Accept-Encoding"), "%s", nm.head);
    response_free(&nm);
    response_free(&r);
    server_stop(&s);
}

/* A handler that answered without reading its body, whose framing then
 * breaks: the answer is taken back and a fresh 400 made, uncompressed;
 * the compressor of the first goes back (the sanitizer build's leak
 * check would see it otherwise). */
Test(compress, an_answer_taken_back)
{
    server s;
    start_app(&s);
    for (int i = 0; i < 5; i++) {
        client c;
        client_open(&c, s.port);
        client_send_str(&c, "POST /z/text?n=3000 HTTP/1.1\r\nHost: t\r\nAccept-Encoding: gzip\r\n"
                            "Transfer-Encoding: chunked\r\n\r\nzz\r\n");
        response r;
        client_response(&c, &r);
        expect_status(&r, 400);
        cr_assert_null(resp_header(&r, "Content-Encoding"), "%s", r.head);
        expect_body(&r, "Bad Request\n");
        response_free(&r);
        client_close(&c);
    }
    server_stop(&s);
}
