/* Integration tests of the HTTP/1.1 server and the TCP server under it:
 * the real server binaries (tests/zzz/testserver.c and the hello, routing
 * and kv examples) run as child processes on 127.0.0.1 and are driven by
 * raw sockets (exact bytes) and curl. Meson runs this once per I/O driver
 * (TARDY_DRIVER, inherited by the servers), and once more per driver built
 * with ZZZ_TEST_TLS: the same tests over TLS (see harness.h), curl on
 * https://, and the few tests a TLS server cannot pass as they stand
 * skipped or adapted, each saying why. */
#include "harness.h"

#include <sys/resource.h>

TestSuite(http, .fini = harness_cleanup, .timeout = 120);

#ifdef ZZZ_TEST_TLS
#define OVER_TLS true
/* The examples serve plain HTTP only: over TLS there is nothing to test. */
#define SKIP_EXAMPLE_OVER_TLS(name)                                                                \
    cr_skip_test("the %s example serves plain HTTP only; these tests run over TLS", name)
#else
#define OVER_TLS false
#define SKIP_EXAMPLE_OVER_TLS(name) ((void)0)
#endif

/* The base URL curl fetches: http://127.0.0.1:PORT, or over TLS
 * https://localhost:PORT (verified as localhost, see curl_capture). */
static void test_url(char *buf, size_t size, uint16_t port, const char *path)
{
#ifdef ZZZ_TEST_TLS
    snprintf(buf, size, "https://localhost:%u%s", port, path);
#else
    snprintf(buf, size, "http://127.0.0.1:%u%s", port, path);
#endif
}

/* Runs curl with args (NULL-terminated); over TLS it also trusts ca.pem
 * and resolves localhost to 127.0.0.1 (the server listens on IPv4 only),
 * so curl sends SNI and checks the name. As run_capture. */
static int curl_capture(uint16_t port, const char *const *args, char **out, unsigned timeout_ms)
{
    const char *argv[48] = {"curl"};
    size_t n = 1;
#ifdef ZZZ_TEST_TLS
    static char resolve[64];
    snprintf(resolve, sizeof resolve, "localhost:%u:127.0.0.1", port);
    argv[n++] = "--cacert";
    argv[n++] = harness_tls_file("ca.pem");
    argv[n++] = "--resolve";
    argv[n++] = resolve;
#else
    (void)port;
#endif
    for (size_t i = 0; args[i] && n < 47; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    return run_capture(argv, out, timeout_ms);
}

/* The limits the limit tests are written against. */
#define MAX_TARGET 100
#define MAX_HEADER_BYTES 1024
#define MAX_HEADERS 10
#define MAX_BODY 1000

static void start_testserver(server *s, const char *const *extra)
{
    const char *args[40] = {"--threads", "1"};
    size_t n = 2;
    for (size_t i = 0; extra && extra[i] && n < 39; i++)
        args[n++] = extra[i];
    args[n] = NULL;
    server_start(s, binary_path("ZZZ_TESTSERVER"), args);
}

static void start_limited(server *s)
{
    start_testserver(s, (const char *const[]){"--max-target", "100", "--max-header-bytes", "1024",
                                              "--max-headers", "10", "--max-body", "1000", NULL});
}

/* A request that is accepted and a connection that stays open after it. */
static void expect_ok_keepalive(client *c, const char *body)
{
    response r;
    client_response(c, &r);
    expect_status(&r, 200);
    if (body)
        expect_body(&r, body);
    cr_assert(!header_is(&r, "Connection", "close"), "unexpected Connection: close:\n%s", r.head);
    response_free(&r);
}

/* A buffer of n bytes of a repeating pattern (NUL, CR and LF included). */
static char *pattern(size_t n, unsigned seed)
{
    char *p = malloc(n + 1);
    uint32_t x = seed * 2654435761u + 1;
    for (size_t i = 0; i < n; i++) {
        x = x * 1103515245u + 12345u;
        p[i] = (char)(x >> 16);
    }
    p[n] = '\0';
    return p;
}

/* ======================================================================
 * The examples
 * ==================================================================== */

Test(http, hello_example)
{
    SKIP_EXAMPLE_OVER_TLS("hello");
    server s;
    server_start(&s, example_path("ZZZ_HELLO"), NULL);
    response r;
    exchange(s.port, "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n", &r);
    expect_status(&r, 200);
    expect_body(&r, "Hello, World!");
    cr_assert_eq(r.content_length, 13);
    cr_assert(resp_header(&r, "Date") != NULL, "no Date header:\n%s", r.head);
    cr_assert(header_is(&r, "Content-Type", "text/plain"));
    cr_assert_eq(resp_header_count(&r, "Content-Length"), 1);
    response_free(&r);
    server_stop(&s);
}

Test(http, routing_example)
{
    SKIP_EXAMPLE_OVER_TLS("routing");
    server s;
    server_start(&s, example_path("ZZZ_ROUTING"), NULL);
    client c;
    client_open(&c, s.port);
    response r;

    client_send_str(&c, "GET /users/42 HTTP/1.1\r\nHost: x\r\n\r\n");
    client_response(&c, &r);
    expect_status(&r, 200);
    expect_body(&r, "user 42\n");
    response_free(&r);

    client_send_str(&c, "GET /users/a%20b HTTP/1.1\r\nHost: x\r\n\r\n");
    client_response(&c, &r);
    expect_status(&r, 200);
    expect_body(&r, "user a b\n");
    response_free(&r);

    client_send_str(&c, "GET /search?q=tardy+zzz%21 HTTP/1.1\r\nHost: x\r\n\r\n");
    client_response(&c, &r);
    expect_status(&r, 200);
    expect_body(&r, "searching for tardy zzz!\n");
    response_free(&r);

    client_send_str(&c, "GET /files/a/b/c.txt HTTP/1.1\r\nHost: x\r\n\r\n");
    client_response(&c, &r);
    expect_status(&r, 200);
    expect_body(&r, "file a/b/c.txt\n");
    response_free(&r);

    /* A chunked response. */
    client_send_str(&c, "GET /stream HTTP/1.1\r\nHost: x\r\n\r\n");
    client_response(&c, &r);
    expect_status(&r, 200);
    cr_assert(r.chunked, "GET /stream is not chunked:\n%s", r.head);
    cr_assert_eq(r.content_length, -1);
    expect_body(&r, "part 1\npart 2\npart 3\npart 4\npart 5\n");
    response_free(&r);

    /* The custom not-found handler. */
    client_send_str(&c, "GET /nope/deeper HTTP/1.1\r\nHost: x\r\n\r\n");
    client_response(&c, &r);
    expect_status(&r, 404);
    expect_body(&r, "no route for /nope/deeper\n");
    response_free(&r);

    /* A known path, another method: 405 with Allow. */
    client_send_str(&c, "DELETE /users/1 HTTP/1.1\r\nHost: x\r\n\r\n");
    client_response(&c, &r);
    expect_status(&r, 405);
    cr_assert(header_is(&r, "Allow", "GET, HEAD"), "Allow: %s", resp_header(&r, "Allow"));
    response_free(&r);

    /* HEAD falls back to the GET route. */
    client_send_str(&c, "HEAD /users/7 HTTP/1.1\r\nHost: x\r\n\r\n");
    client_response_head(&c, &r);
    expect_status(&r, 200);
    cr_assert_eq(r.content_length, 7) /* "user 7\n" */;
    response_free(&r);

    client_send_str(&c, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: text/x-test\r\n"
                        "Content-Length: 11\r\n\r\nhello world");
    client_response(&c, &r);
    expect_status(&r, 200);
    expect_body(&r, "hello world");
    cr_assert(header_is(&r, "Content-Type", "text/x-test"));
    response_free(&r);

    client_send_str(&c, "POST /count HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                        "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n");
    client_response(&c, &r);
    expect_status(&r, 200);
    expect_body(&r, "11\n");
    response_free(&r);

    /* Nothing is left over: the HEAD answer carried no body. */
    cr_assert_eq(c.len, 0);
    client_close(&c);
    server_stop(&s);
}

/* ======================================================================
 * Limits: at the limit accepted, one past it refused with Connection: close
 * ==================================================================== */

/* "GET /headers?aaa... HTTP/1.1" with a target of exactly target_len bytes. */
static char *request_with_target(size_t target_len)
{
    char *target = malloc(target_len + 1);
    memcpy(target, "/headers?", 9);
    memset(target + 9, 'a', target_len - 9);
    target[target_len] = '\0';
    char *req;
    cr_assert(asprintf(&req, "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", target) > 0);
    free(target);
    return req;
}

Test(http, target_limit)
{
    server s;
    start_limited(&s);
    client c;
    client_open(&c, s.port);
    char *req = request_with_target(MAX_TARGET);
    client_send_str(&c, req);
    free(req);
    /* 1 header (Host), a target of MAX_TARGET bytes */
    expect_ok_keepalive(&c, "1 100\n");
    client_close(&c);

    client_open(&c, s.port);
    req = request_with_target(MAX_TARGET + 1);
    client_send_str(&c, req);
    free(req);
    expect_error_and_close(&c, 414);
    client_close(&c);
    server_stop(&s);
}

/* A request whose whole head (request line to the final CRLF) is
 * head_len bytes: max_header_bytes counts all of it. */
static char *request_with_head_len(size_t head_len)
{
    const char *start = "GET /headers HTTP/1.1\r\nHost: x\r\nX-Pad: ";
    const char *end = "\r\n\r\n";
    size_t fixed = strlen(start) + strlen(end);
    cr_assert(head_len > fixed);
    size_t start_len = strlen(start), pad = head_len - fixed;
    char *req = calloc(1, head_len + 1);
    cr_assert(req);
    memcpy(req, start, start_len);
    memset(req + start_len, 'p', pad);
    memcpy(req + start_len + pad, end, strlen(end));
    cr_assert_eq(strlen(req), head_len);
    return req;
}

Test(http, header_bytes_limit)
{
    server s;
    start_limited(&s);
    client c;
    client_open(&c, s.port);
    char *req = request_with_head_len(MAX_HEADER_BYTES);
    client_send_str(&c, req);
    free(req);
    expect_ok_keepalive(&c, "2 8\n");
    client_close(&c);

    client_open(&c, s.port);
    req = request_with_head_len(MAX_HEADER_BYTES + 1);
    client_send_str(&c, req);
    free(req);
    expect_error_and_close(&c, 431);
    client_close(&c);

    /* Far past it, with no end of head in sight: refused as soon as the
     * limit is crossed, without waiting for the rest. */
    client_open(&c, s.port);
    char *big = malloc(4 * MAX_HEADER_BYTES);
    memset(big, 'h', 4 * MAX_HEADER_BYTES);
    memcpy(big, "GET / HTTP/1.1\r\nHost: x\r\nX-Long: ", 33);
    client_send(&c, big, 4 * MAX_HEADER_BYTES);
    free(big);
    expect_error_and_close(&c, 431);
    client_close(&c);
    server_stop(&s);
}

/* A request with `count` header fields (Host and count - 1 others). */
static char *request_with_headers(unsigned count)
{
    size_t cap = 64 + count * 32;
    char *req = malloc(cap);
    size_t len = (size_t)snprintf(req, cap, "GET /headers HTTP/1.1\r\nHost: x\r\n");
    for (unsigned i = 1; i < count; i++)
        len += (size_t)snprintf(req + len, cap - len, "X-H%u: %u\r\n", i, i);
    snprintf(req + len, cap - len, "\r\n");
    return req;
}

Test(http, header_count_limit)
{
    server s;
    start_limited(&s);
    client c;
    client_open(&c, s.port);
    char *req = request_with_headers(MAX_HEADERS);
    client_send_str(&c, req);
    free(req);
    expect_ok_keepalive(&c, "10 8\n");
    client_close(&c);

    client_open(&c, s.port);
    req = request_with_headers(MAX_HEADERS + 1);
    client_send_str(&c, req);
    free(req);
    expect_error_and_close(&c, 431);
    client_close(&c);
    server_stop(&s);
}

static void send_length_body(client *c, const char *path, const char *body, size_t len)
{
    char head[256];
    snprintf(head, sizeof head, "POST %s HTTP/1.1\r\nHost: x\r\nContent-Length: %zu\r\n\r\n", path,
             len);
    client_send_str(c, head);
    int err = client_send(c, body, len);
    (void)err; /* the server may refuse before reading it all */
}

/* The body in chunks of `piece` bytes. */
static void send_chunked_body(client *c, const char *path, const char *body, size_t len,
                              size_t piece)
{
    char line[256];
    snprintf(line, sizeof line, "POST %s HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n",
             path);
    size_t cap = len * 2 + 64 * (len / piece + 2);
    char *wire = malloc(cap);
    size_t w = (size_t)snprintf(wire, cap, "%s", line);
    for (size_t off = 0; off < len; off += piece) {
        size_t n = len - off < piece ? len - off : piece;
        w += (size_t)snprintf(wire + w, cap - w, "%zx\r\n", n);
        memcpy(wire + w, body + off, n);
        w += n;
        memcpy(wire + w, "\r\n", 2);
        w += 2;
    }
    w += (size_t)snprintf(wire + w, cap - w, "0\r\n\r\n");
    int err = client_send(c, wire, w);
    (void)err;
    free(wire);
}

Test(http, body_length_limit)
{
    server s;
    start_limited(&s);
    char *body = pattern(MAX_BODY + 1, 1);
    client c;
    client_open(&c, s.port);
    send_length_body(&c, "/echo", body, MAX_BODY);
    response r;
    client_response(&c, &r);
    expect_status(&r, 200);
    cr_assert_eq(r.body_len, MAX_BODY);
    cr_assert_eq(memcmp(r.body, body, MAX_BODY), 0, "the echo differs");
    response_free(&r);
    client_close(&c);

    /* Refused from the Content-Length alone, before the body is read. */
    client_open(&c, s.port);
    send_length_body(&c, "/echo", body, MAX_BODY + 1);
    expect_error_and_close(&c, 413);
    client_close(&c);

    /* Even with a handler that streams the body. */
    client_open(&c, s.port);
    send_length_body(&c, "/count", body, MAX_BODY + 1);
    expect_error_and_close(&c, 413);
    client_close(&c);
    free(body);
    server_stop(&s);
}

/* An error answer while the client is still sending its body: the server
 * ends its side but goes on reading and dropping for linger_timeout_ms, so
 * the client's sends keep working and it reads the whole answer, not a
 * reset; a client still sending after that is cut off. */
static void lingering_close_case(unsigned linger_ms)
{
    char linger[16];
    snprintf(linger, sizeof linger, "%u", linger_ms);
    server s;
    start_testserver(&s, (const char *const[]){"--max-body", "1000", "--linger-timeout-ms", linger,
                                               NULL});
    client c;
    client_open(&c, s.port);
    static char chunk[16384];
    memset(chunk, 'x', sizeof chunk);
    uint64_t started = now_ms();
    client_send_str(&c, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100000000\r\n\r\n");
    /* More than the socket buffers hold: without lingering these would
     * meet a closed socket. */
    for (int i = 0; i < 64; i++)
        cr_assert_eq(client_send(&c, chunk, sizeof chunk), 0, "send %d failed while lingering", i);
    response r;
    client_response(&c, &r);
    expect_status(&r, 413);
    response_free(&r);
    /* Our side still sends until the server gives up on us. */
    int err = 0;
    while (now_ms() - started < HANG_GUARD_MS && (err = client_send(&c, chunk, 1024)) == 0)
        sleep_ms(20);
    uint64_t elapsed = now_ms() - started;
    cr_assert_neq(err, 0, "still accepting bytes after %llu ms", (unsigned long long)elapsed);
    cr_assert_geq(elapsed, linger_ms, "cut off after %llu ms, before the %u ms linger",
                  (unsigned long long)elapsed, linger_ms);
    cr_assert_lt(elapsed, linger_ms + 5000u, "cut off only after %llu ms",
                 (unsigned long long)elapsed);
    client_close(&c);

    /* A client that stops sending and reads gets the answer and the end. */
    client_open(&c, s.port);
    client_send_str(&c, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n");
    cr_assert_eq(client_send(&c, chunk, 3000), 0);
    expect_error_and_close(&c, 413);
    client_close(&c);
    server_stop(&s);
}

Test(http, lingering_close)
{
    lingering_close_case(300);
    lingering_close_case(1500);
}

Test(http, body_chunked_limit)
{
    server s;
    start_limited(&s);
    char *body = pattern(MAX_BODY + 1, 2);
    client c;
    response r;
    client_open(&c, s.port);
    send_chunked_body(&c, "/echo", body, MAX_BODY, 300);
    client_response(&c, &r);
    expect_status(&r, 200);
    cr_assert_eq(r.body_len, MAX_BODY);
    cr_assert_eq(memcmp(r.body, body, MAX_BODY), 0, "the echo differs");
    cr_assert(!header_is(&r, "Connection", "close"));
    response_free(&r);
    /* The same connection still serves: the chunked framing was consumed. */
    client_send_str(&c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    expect_ok_keepalive(&c, "Hello, World!");
    client_close(&c);

    client_open(&c, s.port);
    send_chunked_body(&c, "/echo", body, MAX_BODY + 1, 300);
    expect_error_and_close(&c, 413);
    client_close(&c);

    /* The last byte alone in a chunk of its own. */
    client_open(&c, s.port);
    send_chunked_body(&c, "/echo", body, MAX_BODY + 1, MAX_BODY);
    expect_error_and_close(&c, 413);
    client_close(&c);

    /* A streaming handler at the limit and past it. */
    client_open(&c, s.port);
    send_chunked_body(&c, "/count", body, MAX_BODY, 100);
    client_response(&c, &r);
    expect_status(&r, 200);
    expect_body(&r, "1000\n");
    response_free(&r);
    client_close(&c);

    client_open(&c, s.port);
    send_chunked_body(&c, "/count", body, MAX_BODY + 1, 100);
    expect_error_and_close(&c, 413);
    client_close(&c);
    free(body);
    server_stop(&s);
}

/* ======================================================================
 * Parser outcomes over the wire
 * ==================================================================== */

static void expect_refused(uint16_t port, const char *request, int status)
{
    client c;
    client_open(&c, port);
    client_send_str(&c, request);
    expect_error_and_close(&c, status);
    client_close(&c);
}

Test(http, parser_errors)
{
    server s;
    start_testserver(&s, NULL);
    expect_refused(s.port, "GET / HTTP/1.1\r\n\r\n", 400); /* no Host */
    expect_refused(s.port, "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400);
    expect_refused(s.port, "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n",
                   501);
    expect_refused(s.port, "GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505);
    expect_refused(s.port,
                   "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
                   400);
    expect_refused(s.port, "GET / HTTP/1.1\r\nHost: x\r\n Folded: yes\r\n\r\n", 400);
    expect_refused(s.port, "GET /a\rb HTTP/1.1\r\nHost: x\r\n\r\n", 400);
    expect_refused(s.port, "\x16\x03\x01\x02\x01\x01\x01\xfc\x03\x03\r\n\r\n", 400);
    /* A percent-encoded NUL in the path never reaches a handler. */
    expect_refused(s.port, "GET /users/a%00b HTTP/1.1\r\nHost: x\r\n\r\n", 400);
    /* Still serving. */
    response r;
    exchange(s.port, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", &r);
    expect_status(&r, 200);
    response_free(&r);
    server_stop(&s);
}

/* Transfer-Encoding with Content-Length: refused, and what follows the
 * request is not answered as a second request. */
Test(http, smuggling_te_and_cl)
{
    server s;
    start_testserver(&s, NULL);
    const char *attacks[] = {
        "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 46\r\nTransfer-Encoding: chunked\r\n\r\n"
        "0\r\n\r\nGET /users/smuggled HTTP/1.1\r\nHost: x\r\n\r\n",
        "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n"
        "0\r\n\r\nGET /users/smuggled HTTP/1.1\r\nHost: x\r\n\r\n",
        "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: identity, "
        "chunked\r\n\r\n"
        "0\r\n\r\nGET /users/smuggled HTTP/1.1\r\nHost: x\r\n\r\n",
    };
    for (size_t i = 0; i < sizeof attacks / sizeof attacks[0]; i++) {
        client c;
        client_open(&c, s.port);
        client_send_str(&c, attacks[i]);
        response r;
        client_response(&c, &r);
        cr_assert(r.status == 400 || r.status == 501, "attack %zu: status %d", i, r.status);
        cr_assert(header_is(&r, "Connection", "close"));
        response_free(&r);
        size_t extra = 0;
        cr_assert(client_wait_closed(&c, HANG_GUARD_MS, &extra), "attack %zu: still open", i);
        cr_assert_eq(c.len, 0, "attack %zu: a second answer: %.*s", i, (int)c.len, c.buf);
        client_close(&c);
    }
    server_stop(&s);
}

/* ======================================================================
 * Pipelining and keep-alive
 * ==================================================================== */

Test(http, pipelining_in_order)
{
    server s;
    start_testserver(&s, NULL);
    client c;
    client_open(&c, s.port);
    const char *burst =
        "GET /users/1 HTTP/1.1\r\nHost: x\r\n\r\n"
        "GET /users/2 HTTP/1.1\r\nHost: x\r\n\r\n"
        "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nthree"
        "HEAD /users/4 HTTP/1.1\r\nHost: x\r\n\r\n"
        "POST /stream-echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        "4\r\nfive\r\n0\r\n\r\n"
        "GET /nothing-here HTTP/1.1\r\nHost: x\r\n\r\n"
        "GET /noanswer HTTP/1.1\r\nHost: x\r\n\r\n"
        "GET /users/8 HTTP/1.1\r\nHost: x\r\n\r\n";
    client_send_str(&c, burst); /* one write */
    struct {
        int status;
        const char *body;
        bool head;
    } want[] = {
        {200, "user 1\n", false}, {200, "user 2\n", false}, {200, "three", false},
        {200, "", true},          {200, "five", false},     {404, NULL, false},
        {500, NULL, false},       {200, "user 8\n", false},
    };
    /* One recv loop: read until all eight have arrived. */
    size_t want_count = sizeof want / sizeof want[0];
    unsigned recvs = 0;
    uint64_t give_up = now_ms() + HANG_GUARD_MS;
    size_t parsed = 0;
    size_t off = 0;
    while (parsed < want_count) {
        response r;
        long n =
            parse_response(c.buf ? c.buf + off : "", c.len - off, want[parsed].head, false, &r);
        cr_assert(n >= 0, "malformed response %zu", parsed);
        if (n == 0) {
            cr_assert(now_ms() < give_up, "only %zu of %zu responses arrived", parsed, want_count);
            ssize_t got = client_recv_some(&c, HANG_GUARD_MS);
            cr_assert(got > 0, "the connection ended after %zu responses", parsed);
            recvs++;
            continue;
        }
        off += (size_t)n;
        expect_status(&r, want[parsed].status);
        if (want[parsed].body)
            expect_body(&r, want[parsed].body);
        if (want[parsed].head)
            cr_assert_eq(r.content_length, 7);
        cr_assert(!header_is(&r, "Connection", "close"));
        response_free(&r);
        parsed++;
    }
    cr_assert_eq(off, c.len, "bytes after the last response");
    cr_log_info("8 pipelined responses arrived in %u recv calls", recvs);
    /* Still open and serving. */
    client_consume(&c, off);
    client_send_str(&c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    expect_ok_keepalive(&c, "Hello, World!");
    client_close(&c);
    server_stop(&s);
}

/* Many small pipelined requests in one write (about 35 KB: more than the
 * 16 KiB receive buffer), the last with Connection: close. */
Test(http, pipelining_many_then_close)
{
    server s;
    start_testserver(&s, NULL);
    enum { N = 1000 };
    size_t cap = N * 64;
    char *burst = malloc(cap);
    size_t len = 0;
    for (int i = 0; i < N; i++)
        len +=
            (size_t)snprintf(burst + len, cap - len, "GET /users/%d HTTP/1.1\r\nHost: x\r\n%s\r\n",
                             i, i == N - 1 ? "Connection: close\r\n" : "");
    client c;
    client_open(&c, s.port);
    cr_assert_eq(client_send(&c, burst, len), 0);
    free(burst);
    for (int i = 0; i < N; i++) {
        response r;
        client_response(&c, &r);
        expect_status(&r, 200);
        char body[32];
        snprintf(body, sizeof body, "user %d\n", i);
        expect_body(&r, body);
        cr_assert_eq(header_is(&r, "Connection", "close"), i == N - 1, "response %d:\n%s", i,
                     r.head);
        response_free(&r);
    }
    size_t extra;
    cr_assert(client_wait_closed(&c, HANG_GUARD_MS, &extra));
    cr_assert_eq(c.len, 0);
    client_close(&c);
    server_stop(&s);
}

Test(http, keepalive_rules)
{
    server s;
    start_testserver(&s, NULL);
    client c;
    response r;

    /* HTTP/1.1: persistent by default, several requests one after another. */
    client_open(&c, s.port);
    for (int i = 0; i < 5; i++) {
        client_send_str(&c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
        expect_ok_keepalive(&c, "Hello, World!");
    }
    /* ... until Connection: close. */
    client_send_str(&c, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    client_response(&c, &r);
    expect_status(&r, 200);
    cr_assert(header_is(&r, "Connection", "close"));
    response_free(&r);
    cr_assert(client_wait_closed(&c, HANG_GUARD_MS, NULL), "still open after Connection: close");
    cr_assert_eq(c.len, 0);
    client_close(&c);

    /* Requests pipelined behind Connection: close are not answered. */
    client_open(&c, s.port);
    client_send_str(&c, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
                        "GET /users/2 HTTP/1.1\r\nHost: x\r\n\r\n");
    expect_error_and_close(&c, 200);
    client_close(&c);

    /* HTTP/1.0: closes by default. */
    client_open(&c, s.port);
    client_send_str(&c, "GET / HTTP/1.0\r\n\r\n");
    client_response(&c, &r);
    expect_status(&r, 200);
    expect_body(&r, "Hello, World!");
    cr_assert(!header_is(&r, "Connection", "keep-alive"));
    response_free(&r);
    cr_assert(client_wait_closed(&c, HANG_GUARD_MS, NULL), "HTTP/1.0 connection left open");
    client_close(&c);

    /* HTTP/1.0 with Connection: keep-alive: persistent, and said so. */
    client_open(&c, s.port);
    for (int i = 0; i < 3; i++) {
        client_send_str(&c, "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
        client_response(&c, &r);
        expect_status(&r, 200);
        expect_body(&r, "Hello, World!");
        cr_assert(header_is(&r, "Connection", "keep-alive"), "no keep-alive in:\n%s", r.head);
        response_free(&r);
    }
    /* A chunked answer is impossible in 1.0: the body ends with the close. */
    client_send_str(&c, "GET /stream HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    cr_assert(client_wait_closed(&c, HANG_GUARD_MS, NULL));
    cr_assert_eq(client_read_response_ex(&c, &r, false), 0);
    expect_status(&r, 200);
    cr_assert(!r.chunked);
    expect_body(&r, "part 1\npart 2\npart 3\npart 4\npart 5\n");
    cr_assert(header_is(&r, "Connection", "close"));
    response_free(&r);
    client_close(&c);

    /* Connection: close among other options. */
    client_open(&c, s.port);
    client_send_str(&c, "GET / HTTP/1.1\r\nHost: x\r\nConnection: foo, Close\r\n\r\n");
    client_response(&c, &r);
    expect_status(&r, 200);
    cr_assert(header_is(&r, "Connection", "close"));
    response_free(&r);
    cr_assert(client_wait_closed(&c, HANG_GUARD_MS, NULL));
    client_close(&c);
    server_stop(&s);
}

/* ======================================================================
 * Timeouts
 * ==================================================================== */

#define SHORT_TIMEOUT_MS 300

/* A head sent in part and then stalled gets 408 and a close. */
Test(http, slowloris_stalled_head)
{
    server s;
    start_testserver(&s, (const char *const[]){"--header-timeout-ms", "300", "--idle-timeout-ms",
                                               "10000", NULL});
    client c;
    client_open(&c, s.port);
    uint64_t start = now_ms();
    client_send_str(&c, "GET / HTTP/1.1\r\n");
    sleep_ms(50);
    client_send_str(&c, "Host: x\r\n");
    sleep_ms(50);
    client_send_str(&c, "X-Slow: 1"); /* and nothing more */
    expect_error_and_close(&c, 408);
    uint64_t elapsed = now_ms() - start;
    cr_assert_geq(elapsed, SHORT_TIMEOUT_MS / 2, "408 after %llu ms, before the timeout",
                  (unsigned long long)elapsed);
    client_close(&c);

    /* A keep-alive connection: the first request answered, the second
     * pipelined behind it and cut short. */
    client_open(&c, s.port);
    client_send_str(&c, "GET / HTTP/1.1\r\nHost: x\r\n\r\nGET /users/2 HTTP/1.1\r\nHo");
    expect_ok_keepalive(&c, "Hello, World!");
    expect_error_and_close(&c, 408);
    client_close(&c);

    /* The same, with the second head started after the connection went idle. */
    client_open(&c, s.port);
    client_send_str(&c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    expect_ok_keepalive(&c, "Hello, World!");
    sleep_ms(100);
    client_send_str(&c, "GET /users/2 HTTP/1.1\r\nHo");
    expect_error_and_close(&c, 408);
    client_close(&c);
    server_stop(&s);
}

/* A head trickled a byte at a time never completes: the timeout covers
 * the whole head, not each read. */
Test(http, slowloris_trickle)
{
    server s;
    start_testserver(&s, (const char *const[]){"--header-timeout-ms", "300", "--idle-timeout-ms",
                                               "10000", NULL});
    client c;
    client_open(&c, s.port);
    const char *head = "GET / HTTP/1.1\r\nHost: x\r\nX-Padding: "
                       "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                       "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                       "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                       "\r\n\r\n";
    size_t len = strlen(head), sent = 0;
    /* A byte every 20 ms: the head would take several seconds. */
    while (sent < len - 4 && !c.eof) {
        if (client_send(&c, head + sent, 1) != 0)
            break;
        sent++;
        ssize_t n = client_recv_some(&c, 20);
        if (n > 0 || c.eof)
            break;
    }
    cr_assert_lt(sent, len - 4, "the whole head went out without a timeout");
    expect_error_and_close(&c, 408);
    client_close(&c);
    server_stop(&s);
}

/* A connection opened and left silent is closed after the header timeout
 * (silently: it holds no task meanwhile; a 408 would be accepted too). */
Test(http, silent_connection)
{
    server s;
    start_testserver(&s, (const char *const[]){"--header-timeout-ms", "300", NULL});
    client c;
    client_open(&c, s.port);
    size_t extra = 0;
    cr_assert(client_wait_closed(&c, HANG_GUARD_MS, &extra), "a silent connection stayed open");
    if (extra > 0)
        cr_assert(strncmp(c.buf, "HTTP/1.1 408 ", 13) == 0, "got: %.*s", (int)c.len, c.buf);
    client_close(&c);
    server_stop(&s);
}

/* A client that sends its request and half-closes gets its answer, then
 * the server sees the end of stream and closes at once, well before the
 * idle timeout (on io_uring the end of stream comes through the
 * connection's multishot receive, with the request's bytes or after). */
Test(http, request_then_half_close)
{
    server s;
    start_testserver(&s, (const char *const[]){"--idle-timeout-ms", "20000", NULL});
    for (int together = 0; together < 2; together++) {
        client c;
        client_open(&c, s.port);
        client_send_str(&c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
        if (!together)
            usleep(20 * 1000);
        cr_assert_eq(shutdown(c.fd, SHUT_WR), 0);
        expect_ok_keepalive(&c, "Hello, World!");
        uint64_t start = now_ms();
        size_t extra = 0;
        cr_assert(client_wait_closed(&c, HANG_GUARD_MS, &extra), "the half-closed connection stayed open");
        cr_assert_eq(extra, 0, "bytes after the answer: %.*s", (int)c.len, c.buf);
        cr_assert_lt(now_ms() - start, 10000, "closed only by the idle timeout");
        client_close(&c);
    }
    server_stop(&s);
}

/* An idle keep-alive connection is closed after idle_timeout, silently. */
Test(http, idle_keepalive_timeout)
{
    server s;
    start_testserver(&s, (const char *const[]){"--idle-timeout-ms", "300", "--header-timeout-ms",
                                               "10000", NULL});
    client c;
    client_open(&c, s.port);
    client_send_str(&c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    expect_ok_keepalive(&c, "Hello, World!");
    uint64_t start = now_ms();
    size_t extra = 0;
    cr_assert(client_wait_closed(&c, HANG_GUARD_MS, &extra), "the idle connection stayed open");
    uint64_t elapsed = now_ms() - start;
    cr_assert_eq(extra, 0, "bytes on an idle close: %.*s", (int)c.len, c.buf);
    cr_assert_geq(elapsed, SHORT_TIMEOUT_MS / 2, "closed after %llu ms, before the idle timeout",
                  (unsigned long long)elapsed);
    client_close(&c);

    /* A connection in use before the timeout is not closed. */
    client_open(&c, s.port);
    for (int i = 0; i < 4; i++) {
        client_send_str(&c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
        expect_ok_keepalive(&c, "Hello, World!");
        sleep_ms(100);
    }
    client_close(&c);
    server_stop(&s);
}

/* A body that stops arriving ends the request (408, close). */
Test(http, body_timeout)
{
    server s;
    start_testserver(&s, (const char *const[]){"--body-timeout-ms", "300", "--header-timeout-ms",
                                               "10000", NULL});
    client c;
    /* Content-Length, whole-body handler */
    client_open(&c, s.port);
    client_send_str(&c, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n0123456789");
    uint64_t start = now_ms();
    expect_error_and_close(&c, 408);
    cr_assert_geq(now_ms() - start, SHORT_TIMEOUT_MS / 2);
    client_close(&c);

    /* chunked, streaming handler */
    client_open(&c, s.port);
    client_send_str(&c, "POST /count HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                        "a\r\n0123456789\r\n5\r\n01");
    expect_error_and_close(&c, 408);
    client_close(&c);

    /* A body trickled in pieces, each inside the timeout, completes. */
    client_open(&c, s.port);
    client_send_str(&c, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 12\r\n\r\n");
    for (int i = 0; i < 3; i++) {
        sleep_ms(100);
        client_send_str(&c, "abcd");
    }
    expect_ok_keepalive(&c, "abcdabcdabcd");
    client_close(&c);
    server_stop(&s);
}

/* ======================================================================
 * Expect: 100-continue, HEAD, chunked bodies, 500
 * ==================================================================== */

Test(http, expect_continue)
{
    server s;
    start_limited(&s);
    client c;
    response r;
    client_open(&c, s.port);
    client_send_str(&c, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
                        "Expect: 100-continue\r\n\r\n");
    /* The interim answer comes before any body byte is sent. */
    client_response(&c, &r);
    expect_status(&r, 100);
    cr_assert(strncmp(r.head, "HTTP/1.1 100 Continue\r\n", 23) == 0, "%s", r.head);
    response_free(&r);
    client_send_str(&c, "hello");
    client_response(&c, &r);
    expect_status(&r, 200);
    expect_body(&r, "hello");
    response_free(&r);
    /* On the same connection, a streamed body with chunked framing. */
    client_send_str(&c, "POST /stream-echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                        "Expect: 100-continue\r\n\r\n");
    client_response(&c, &r);
    expect_status(&r, 100);
    response_free(&r);
    client_send_str(&c, "3\r\nabc\r\n0\r\n\r\n");
    client_response(&c, &r);
    expect_status(&r, 200);
    expect_body(&r, "abc");
    response_free(&r);
    client_close(&c);

    /* Too large a body: a final 413 and no 100 Continue. */
    client_open(&c, s.port);
    client_send_str(&c, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n"
                        "Expect: 100-continue\r\n\r\n");
    expect_error_and_close(&c, 413);
    client_close(&c);

    /* A handler that never reads the body: no 100 Continue, a final answer. */
    client_open(&c, s.port);
    client_send_str(&c, "POST /users/1 HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
                        "Expect: 100-continue\r\n\r\n");
    client_response(&c, &r);
    expect_status(&r, 405);
    response_free(&r);
    client_close(&c);
    server_stop(&s);
}

Test(http, head_requests)
{
    server s;
    start_testserver(&s, NULL);
    client c;
    response get, head;
    client_open(&c, s.port);
    const char *paths[] = {"/", "/big", "/users/12345", "/stream"};
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        char req[128];
        snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", paths[i]);
        client_send_str(&c, req);
        client_response(&c, &get);
        /* HEAD, then a GET right behind it: any body byte sent for the
         * HEAD would show up as garbage before the second response. */
        snprintf(req, sizeof req,
                 "HEAD %s HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n", paths[i]);
        client_send_str(&c, req);
        client_response_head(&c, &head);
        expect_status(&get, 200);
        expect_status(&head, 200);
        cr_assert_eq(head.content_length, get.content_length, "%s: HEAD says %lld, GET %lld",
                     paths[i], head.content_length, get.content_length);
        cr_assert_eq(head.chunked, get.chunked, "%s", paths[i]);
        const char *type = resp_header(&get, "Content-Type");
        char get_type[1024];
        snprintf(get_type, sizeof get_type, "%s", type ? type : "");
        type = resp_header(&head, "Content-Type");
        cr_assert_str_eq(type ? type : "", get_type);
        response_free(&get);
        response_free(&head);
        expect_ok_keepalive(&c, "Hello, World!");
    }
    cr_assert_eq(c.len, 0);
    client_close(&c);
    server_stop(&s);
}

Test(http, chunked_bodies)
{
    server s;
    start_testserver(&s, NULL);
    client c;
    response r;
    client_open(&c, s.port);
    /* Extensions, upper-case hex, a trailer field. */
    client_send_str(&c, "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                        "5;name=value\r\nhello\r\n"
                        "1\r\n \r\n"
                        "A\r\n0123456789\r\n"
                        "0\r\nX-Trailer: yes\r\n\r\n");
    client_response(&c, &r);
    expect_status(&r, 200);
    expect_body(&r, "hello 0123456789");
    response_free(&r);

    /* A big body in chunks of assorted sizes, whole and streamed back. */
    size_t len = 300000;
    char *body = pattern(len, 3);
    const char *paths[] = {"/echo", "/stream-echo"};
    for (size_t i = 0; i < 2; i++) {
        send_chunked_body(&c, paths[i], body, len, 7777);
        client_response(&c, &r);
        expect_status(&r, 200);
        cr_assert_eq(r.chunked, i == 1, "%s chunked: %d", paths[i], r.chunked);
        cr_assert_eq(r.body_len, len, "%s echoed %zu bytes", paths[i], r.body_len);
        cr_assert_eq(memcmp(r.body, body, len), 0, "%s: the echo differs", paths[i]);
        response_free(&r);
    }
    /* And with Content-Length. */
    send_length_body(&c, "/stream-echo", body, len);
    client_response(&c, &r);
    expect_status(&r, 200);
    cr_assert_eq(r.body_len, len);
    cr_assert_eq(memcmp(r.body, body, len), 0);
    response_free(&r);
    send_length_body(&c, "/echo", body, len);
    client_response(&c, &r);
    expect_status(&r, 200);
    cr_assert_eq(r.body_len, len);
    cr_assert_eq(memcmp(r.body, body, len), 0);
    response_free(&r);
    free(body);

    /* Bad chunked framing: 400 and close. */
    client_send_str(&c, "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                        "zz\r\nhello\r\n0\r\n\r\n");
    expect_error_and_close(&c, 400);
    client_close(&c);

    /* A chunked response. */
    client_open(&c, s.port);
    client_send_str(&c, "GET /stream HTTP/1.1\r\nHost: x\r\n\r\n");
    client_response(&c, &r);
    expect_status(&r, 200);
    cr_assert(r.chunked);
    expect_body(&r, "part 1\npart 2\npart 3\npart 4\npart 5\n");
    response_free(&r);
    client_close(&c);
    server_stop(&s);
}

Test(http, handler_without_answer)
{
    server s;
    start_testserver(&s, NULL);
    client c;
    response r;
    client_open(&c, s.port);
    client_send_str(&c, "GET /noanswer HTTP/1.1\r\nHost: x\r\n\r\n");
    client_response(&c, &r);
    expect_status(&r, 500);
    response_free(&r);
    /* The connection is still good. */
    client_send_str(&c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    expect_ok_keepalive(&c, "Hello, World!");
    client_close(&c);
    server_stop(&s);
}

/* A body the handler never reads is skipped, and the next request on the
 * connection is answered. */
Test(http, unread_body_skipped)
{
    server s;
    start_testserver(&s, NULL);
    client c;
    client_open(&c, s.port);
    client_send_str(&c, "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"
                        "GET /users/1 HTTP/1.1\r\nHost: x\r\n\r\n");
    expect_ok_keepalive(&c, "Hello, World!");
    expect_ok_keepalive(&c, "user 1\n");
    client_send_str(&c, "GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                        "5\r\nhello\r\n0\r\n\r\nGET /users/2 HTTP/1.1\r\nHost: x\r\n\r\n");
    expect_ok_keepalive(&c, "Hello, World!");
    expect_ok_keepalive(&c, "user 2\n");
    /* Larger than what has arrived when the answer is ready: the answer
     * goes first, then the server drains the rest as it closes, so the
     * client finishes sending and reads the whole answer. */
    size_t len = 100000;
    char *body = pattern(len, 6);
    send_length_body(&c, "/users/3", body, len); /* POST: 405 */
    response r;
    client_response(&c, &r);
    expect_status(&r, 405);
    response_free(&r);
    cr_expect(client_wait_closed(&c, HANG_GUARD_MS, NULL), "the connection stays open");
    client_close(&c);
    client_open(&c, s.port);
    send_chunked_body(&c, "/users/4", body, len, 4000);
    client_response(&c, &r);
    expect_status(&r, 405);
    response_free(&r);
    cr_expect(client_wait_closed(&c, HANG_GUARD_MS, NULL), "the connection stays open");
    client_close(&c);
    free(body);
    client_open(&c, s.port);
    client_send_str(&c, "GET /users/5 HTTP/1.1\r\nHost: x\r\n\r\n");
    expect_ok_keepalive(&c, "user 5\n");
    client_close(&c);
    server_stop(&s);
}

/* A head and a chunked body sent one byte per write. */
Test(http, byte_at_a_time)
{
    server s;
    start_testserver(&s, NULL);
    client c;
    client_open(&c, s.port);
    const char *req = "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                      "5;ext=\"q\"\r\nhello\r\n3\r\nabc\r\n0\r\nTrailer: v\r\n\r\n"
                      "GET /users/bytewise HTTP/1.1\r\nHost: x\r\n\r\n";
    for (const char *p = req; *p; p++) {
        cr_assert_eq(client_send(&c, p, 1), 0);
        if ((p - req) % 8 == 0)
            sleep_ms(1);
    }
    expect_ok_keepalive(&c, "helloabc");
    expect_ok_keepalive(&c, "user bytewise\n");
    client_close(&c);
    server_stop(&s);
}

Test(http, routing_statuses)
{
    server s;
    start_testserver(&s, NULL);
    response r;
    exchange(s.port, "GET /no/such/path HTTP/1.1\r\nHost: x\r\n\r\n", &r);
    expect_status(&r, 404);
    response_free(&r);

    exchange(s.port, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", &r);
    expect_status(&r, 405);
    cr_assert(header_is(&r, "Allow", "GET, HEAD"), "Allow: %s", resp_header(&r, "Allow"));
    response_free(&r);

    exchange(s.port, "GET /echo HTTP/1.1\r\nHost: x\r\n\r\n", &r);
    expect_status(&r, 405);
    cr_assert(header_is(&r, "Allow", "POST"), "Allow: %s", resp_header(&r, "Allow"));
    response_free(&r);

    client c;
    client_open(&c, s.port);
    client_send_str(&c, "HEAD /users/99 HTTP/1.1\r\nHost: x\r\n\r\n");
    client_response_head(&c, &r);
    expect_status(&r, 200);
    cr_assert_eq(r.content_length, 8);
    response_free(&r);
    client_send_str(&c, "GET /users/99 HTTP/1.1\r\nHost: x\r\n\r\n");
    expect_ok_keepalive(&c, "user 99\n");
    client_close(&c);
    server_stop(&s);
}

/* ======================================================================
 * Connection limit and graceful shutdown
 * ==================================================================== */

Test(http, connection_limit)
{
    server s;
    start_testserver(&s, (const char *const[]){"--conn-limit", "2", NULL});
    client a, b, extra;
    client_open(&a, s.port);
    client_send_str(&a, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    expect_ok_keepalive(&a, "Hello, World!");
    client_open(&b, s.port);
    client_send_str(&b, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    expect_ok_keepalive(&b, "Hello, World!");

    /* The third: 503 and closed, whether or not it sent anything. */
    for (int i = 0; i < 2; i++) {
#ifdef ZZZ_TEST_TLS
        /* A TLS server has no way to say 503 before a handshake: it closes
         * the connection, whether the client stays silent (i == 0) or
         * starts a handshake (i == 1), without a byte in answer. */
        client_open_raw(&extra, s.port);
        if (i == 1) {
            cr_assert(!client_handshake(&extra), "a handshake over the connection limit succeeded");
            cr_assert(extra.error != EPROTO && extra.error != ETIMEDOUT,
                      "a connection over the limit was not simply closed: %s", harness_tls_error);
        }
        size_t bytes = 0;
        cr_assert(client_wait_closed(&extra, HANG_GUARD_MS, &bytes),
                  "a connection over the limit stayed open");
        cr_assert_eq(extra.len, 0, "%zu bytes in answer to a connection over the limit: %.*s",
                     extra.len, (int)(extra.len < 200 ? extra.len : 200), extra.buf);
#else
        client_open(&extra, s.port);
        if (i == 1)
            client_send(&extra, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", 28);
        expect_error_and_close(&extra, 503);
#endif
        client_close(&extra);
    }

    /* The first two still work. */
    for (int i = 0; i < 3; i++) {
        client_send_str(&a, "GET /users/a HTTP/1.1\r\nHost: x\r\n\r\n");
        expect_ok_keepalive(&a, "user a\n");
        client_send_str(&b, "GET /users/b HTTP/1.1\r\nHost: x\r\n\r\n");
        expect_ok_keepalive(&b, "user b\n");
    }

    /* A slot freed by a close goes to the next client (once the server
     * has seen the close: retry, bounded). */
    client_close(&a);
    bool served = false;
    uint64_t give_up = now_ms() + HANG_GUARD_MS;
    while (!served && now_ms() < give_up) {
#ifdef ZZZ_TEST_TLS
        /* Refused: closed during the handshake. */
        client_open_raw(&extra, s.port);
        if (!client_handshake(&extra)) {
            client_close(&extra);
            sleep_ms(20);
            continue;
        }
#else
        client_open(&extra, s.port);
#endif
        client_send_str(&extra, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
        response r;
        client_response(&extra, &r);
        served = r.status == 200;
        cr_assert(r.status == 200 || r.status == 503, "status %d", r.status);
        response_free(&r);
        client_close(&extra);
        if (!served)
            sleep_ms(20);
    }
    cr_assert(served, "the freed slot was never reused");
    client_close(&b);
    server_stop(&s);
}

/* A connection limit above the number of connections served at once
 * (active_limit below conn_limit): connections that are
 * open but have sent nothing yet must not crowd the others out. */
Test(http, connection_limit_above_active)
{
    enum { LIMIT = 300 };
    server s;
    start_testserver(&s, (const char *const[]){"--conn-limit", "300", "--active-limit", "256", NULL});
    client *cs = calloc(LIMIT + 1, sizeof *cs);
    /* All open first (and given time to be accepted), then all send. Over
     * TLS, all open without a byte sent, then each does its handshake:
     * the open connections do not crowd out the handshakes either. */
    for (int i = 0; i < LIMIT; i++)
        client_open_raw(&cs[i], s.port);
    sleep_ms(200);
    int refused = 0, first_refused = -1;
#ifdef ZZZ_TEST_TLS
    for (int i = 0; i < LIMIT; i++) {
        if (!client_handshake(&cs[i]) && refused++ == 0)
            first_refused = i;
    }
    cr_assert_eq(refused, 0,
                 "%d of %d connections under the limit of %d failed their handshake (the first: "
                 "connection %d: %s)",
                 refused, LIMIT, LIMIT, first_refused, harness_tls_error);
#endif
    for (int i = 0; i < LIMIT; i++)
        client_send_str(&cs[i], "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    for (int i = 0; i < LIMIT; i++) {
        response r;
        client_response(&cs[i], &r);
        cr_assert(r.status == 200 || r.status == 503, "status %d", r.status);
        if (r.status != 200 && refused++ == 0)
            first_refused = i;
        response_free(&r);
    }
    cr_assert_eq(refused, 0,
                 "%d of %d connections under the limit of %d were refused with 503 (the first: "
                 "connection %d)",
                 refused, LIMIT, LIMIT, first_refused);
#ifdef ZZZ_TEST_TLS
    /* Over the limit: closed during the handshake (no 503 without one). */
    client_open_raw(&cs[LIMIT], s.port);
    cr_assert(!client_handshake(&cs[LIMIT]), "a handshake over the connection limit succeeded");
    cr_assert(cs[LIMIT].error != EPROTO && cs[LIMIT].error != ETIMEDOUT,
              "a connection over the limit was not simply closed: %s", harness_tls_error);
    cr_assert_eq(cs[LIMIT].len, 0);
#else
    client_open(&cs[LIMIT], s.port);
    expect_error_and_close(&cs[LIMIT], 503);
#endif
    for (int i = 0; i <= LIMIT; i++)
        client_close(&cs[i]);
    free(cs);
    server_stop(&s);
}

Test(http, graceful_shutdown)
{
    server s;
    start_testserver(&s, NULL);
    client busy, idle, late;
    /* An idle keep-alive connection. */
    client_open(&idle, s.port);
    client_send_str(&idle, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    expect_ok_keepalive(&idle, "Hello, World!");
    /* A request in flight (its handler sleeps 300 ms). */
    client_open(&busy, s.port);
    client_send_str(&busy, "GET /slow HTTP/1.1\r\nHost: x\r\n\r\n");
    sleep_ms(100);
    cr_assert_eq(kill(s.pid, SIGTERM), 0);
    sleep_ms(50);

    /* The in-flight request completes, with Connection: close. */
    response r;
    client_response(&busy, &r);
    expect_status(&r, 200);
    expect_body(&r, "slow done\n");
    cr_assert(header_is(&r, "Connection", "close"), "no Connection: close while draining:\n%s",
              r.head);
    response_free(&r);
    cr_assert(client_wait_closed(&busy, HANG_GUARD_MS, NULL));
    cr_assert_eq(busy.len, 0);

    /* New connections are refused (or cut without an answer). */
    int fd = tcp_connect_fd(s.port);
    if (fd >= 0) {
        client_attach(&late, fd); /* over TLS: a handshake, which may be refused */
        client_send(&late, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", 28);
        size_t extra = 0;
        cr_assert(client_wait_closed(&late, HANG_GUARD_MS, &extra));
        cr_assert_eq(extra, 0, "a connection made while draining was served: %.*s", (int)late.len,
                     late.buf);
        client_close(&late);
    }

    /* The idle connection was closed, silently. */
    size_t extra = 0;
    cr_assert(client_wait_closed(&idle, HANG_GUARD_MS, &extra));
    cr_assert_eq(extra, 0);
    client_close(&idle);
    client_close(&busy);

    int status = server_wait(&s, HANG_GUARD_MS);
    cr_assert_neq(status, -1, "the server did not exit after SIGTERM");
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "exit status %d", status);
}

/* With several requests in flight on several threads. */
Test(http, graceful_shutdown_threads)
{
    server s;
    server_start(&s, binary_path("ZZZ_TESTSERVER"), (const char *const[]){"--threads", "2", NULL});
    enum { N = 6 };
    client busy[N];
    for (int i = 0; i < N; i++) {
        client_open(&busy[i], s.port);
        client_send_str(&busy[i], "GET /slow HTTP/1.1\r\nHost: x\r\n\r\n");
    }
    sleep_ms(100);
    cr_assert_eq(kill(s.pid, SIGTERM), 0);
    for (int i = 0; i < N; i++) {
        response r;
        client_response(&busy[i], &r);
        expect_status(&r, 200);
        expect_body(&r, "slow done\n");
        cr_assert(header_is(&r, "Connection", "close"));
        response_free(&r);
        cr_assert(client_wait_closed(&busy[i], HANG_GUARD_MS, NULL));
        client_close(&busy[i]);
    }
    int status = server_wait(&s, HANG_GUARD_MS);
    cr_assert(status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %d", status);
}

/* A connection that has sent nothing yet is as idle as a keep-alive one:
 * it must not hold up the shutdown until header_timeout or drain_timeout.
 * Disabled: the server keeps it until then (see the report to the lead);
 * enable it once fixed. The 10 s hang guard against 60 s timeouts is not a
 * performance bound but tells "closed at once" from "waited the timeout". */
Test(http, shutdown_closes_silent_connection)
{
    server s;
    start_testserver(&s, (const char *const[]){"--header-timeout-ms", "60000", "--drain-timeout-ms",
                                               "60000", NULL});
    client c;
    client_open(&c, s.port);
    sleep_ms(100);
    cr_assert_eq(kill(s.pid, SIGTERM), 0);
    cr_assert(client_wait_closed(&c, HANG_GUARD_MS, NULL), "a silent connection held up shutdown");
    client_close(&c);
    int status = server_wait(&s, HANG_GUARD_MS);
    cr_assert(status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %d", status);
}

/* RFC 9110 10.1.1: a final answer sent before the body of an
 * "Expect: 100-continue" request is read SHOULD say whether the
 * connection will close; zzz closes it but does not say so. Disabled
 * until fixed (see the report to the lead). */
Test(http, expect_continue_unread_says_close)
{
    server s;
    start_testserver(&s, NULL);
    client c;
    client_open(&c, s.port);
    client_send_str(&c, "POST /users/1 HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
                        "Expect: 100-continue\r\n\r\n");
    expect_error_and_close(&c, 405);
    client_close(&c);
    server_stop(&s);
}

/* ======================================================================
 * curl as the client
 * ==================================================================== */

Test(http, curl_reuses_connection)
{
    server s;
    /* Over TLS, the test server: it answers GET / as hello does. */
    if (OVER_TLS)
        start_testserver(&s, NULL);
    else
        server_start(&s, example_path("ZZZ_HELLO"), NULL);
    char url[64];
    test_url(url, sizeof url, s.port, "/");
    char *out;
    int rc = curl_capture(
        s.port, (const char *const[]){"-sv", "--max-time", "20", url, url, url, NULL}, &out, 30000);
    cr_assert_eq(rc, 0, "curl failed (%d):\n%s", rc, out);
    cr_assert_eq(count_substr(out, "Hello, World!"), 3, "%s", out);
    cr_assert(strstr(out, "Re-using existing connection"), "curl opened new connections:\n%s", out);
    cr_assert_eq(count_substr(out, "left intact"), 3, "%s", out);
    cr_assert(!strstr(out, "Connection #1"), "a second connection:\n%s", out);
    free(out);
    server_stop(&s);
}

/* Writes n bytes of a pattern to a temporary file; returns its path. */
static char *temp_file(size_t n, unsigned seed, char **data)
{
    char *path = strdup("/tmp/zzz-http-test-XXXXXX");
    int fd = mkstemp(path);
    cr_assert(fd >= 0);
    *data = pattern(n, seed);
    cr_assert_eq(write(fd, *data, n), (ssize_t)n);
    close(fd);
    return path;
}

static void curl_post_echo(uint16_t port, bool expect_continue)
{
    size_t len = 200 * 1024;
    char *data;
    char *in = temp_file(len, expect_continue ? 5 : 4, &data);
    char *outpath = strdup("/tmp/zzz-http-out-XXXXXX");
    int fd = mkstemp(outpath);
    cr_assert(fd >= 0);
    close(fd);
    char url[64], arg[128];
    test_url(url, sizeof url, port, "/echo");
    snprintf(arg, sizeof arg, "@%s", in);
    char *out;
    int rc = curl_capture(
        port,
        (const char *const[]){"-sv", "--max-time", "20", "--expect100-timeout", "10", "-H",
                              expect_continue ? "Expect: 100-continue" : "Expect:", "-H",
                              "Content-Type: application/octet-stream", "--data-binary", arg, "-o",
                              outpath, url, NULL},
        &out, 30000);
    cr_assert_eq(rc, 0, "curl failed (%d):\n%s", rc, out);
    cr_assert(strstr(out, "< HTTP/1.1 200 OK"), "%s", out);
    if (expect_continue)
        cr_assert(strstr(out, "< HTTP/1.1 100 Continue"), "no 100 Continue:\n%s", out);
    else
        cr_assert(!strstr(out, "100 Continue"), "%s", out);
    free(out);
    FILE *f = fopen(outpath, "rb");
    cr_assert(f);
    char *got = malloc(len + 1);
    size_t n = fread(got, 1, len + 1, f);
    fclose(f);
    cr_assert_eq(n, len, "echoed %zu bytes of %zu", n, len);
    cr_assert_eq(memcmp(got, data, len), 0, "the echo differs");
    unlink(in);
    unlink(outpath);
    free(got);
    free(data);
    free(in);
    free(outpath);
}

Test(http, curl_post_echo)
{
    server s;
    start_testserver(&s, NULL);
    curl_post_echo(s.port, false);
    server_stop(&s);
    if (OVER_TLS)
        return; /* the routing example serves plain HTTP only */
    server_start(&s, example_path("ZZZ_ROUTING"), NULL);
    curl_post_echo(s.port, false);
    server_stop(&s);
}

Test(http, curl_body_too_large)
{
    server s;
    start_limited(&s);
    char *data;
    char *in = temp_file(200 * 1024, 7, &data);
    char url[64], arg[128];
    test_url(url, sizeof url, s.port, "/echo");
    snprintf(arg, sizeof arg, "@%s", in);
    char *out;
    int rc =
        curl_capture(s.port,
                     (const char *const[]){"-s", "--max-time", "20", "-o", "/dev/null", "-w",
                                           "status=%{http_code}", "--data-binary", arg, url, NULL},
                     &out, 30000);
    cr_assert_eq(rc, 0, "curl failed (%d):\n%s", rc, out);
    cr_assert(strstr(out, "status=413"), "%s", out);
    free(out);
    unlink(in);
    free(in);
    free(data);
    server_stop(&s);
}

Test(http, curl_expect_continue)
{
    server s;
    start_testserver(&s, NULL);
    curl_post_echo(s.port, true);
    server_stop(&s);
}

/* ======================================================================
 * kv: the TCP server with another protocol
 * ==================================================================== */

/* Reads exactly one line (bounded); returns it without its newline. */
static char *kv_line(client *c)
{
    uint64_t give_up = now_ms() + HANG_GUARD_MS;
    for (;;) {
        char *nl = c->len ? memchr(c->buf, '\n', c->len) : NULL;
        if (nl) {
            size_t n = (size_t)(nl - c->buf);
            char *line = strndup(c->buf, n);
            client_consume(c, n + 1);
            return line;
        }
        cr_assert(!c->eof, "kv closed the connection (have: %.*s)", (int)c->len, c->buf);
        cr_assert(now_ms() < give_up, "no line from kv");
        client_recv_some(c, HANG_GUARD_MS);
    }
}

static void kv_expect(client *c, const char *want)
{
    char *line = kv_line(c);
    cr_assert_str_eq(line, want);
    free(line);
}

Test(http, kv_commands)
{
    SKIP_EXAMPLE_OVER_TLS("kv");
    server s;
    server_start(&s, example_path("ZZZ_KV"), NULL);
    client c;
    client_open(&c, s.port);
    client_send_str(&c, "GET missing\n");
    kv_expect(&c, "NOT_FOUND");
    client_send_str(&c, "SET color blue\n");
    kv_expect(&c, "OK");
    client_send_str(&c, "GET color\n");
    kv_expect(&c, "VALUE blue");
    client_send_str(&c, "SET color dark red\r\n"); /* values may hold spaces; CRLF is fine */
    kv_expect(&c, "OK");
    client_send_str(&c, "GET color\n");
    kv_expect(&c, "VALUE dark red");
    client_send_str(&c, "DEL color\n");
    kv_expect(&c, "DELETED");
    client_send_str(&c, "DEL color\n");
    kv_expect(&c, "NOT_FOUND");
    client_send_str(&c, "FROB x\n");
    kv_expect(&c, "ERROR unknown command");
    client_send_str(&c, "SET onlykey\n");
    kv_expect(&c, "ERROR SET needs a value");
    /* A command split over several writes. */
    client_send_str(&c, "SE");
    sleep_ms(20);
    client_send_str(&c, "T split va");
    sleep_ms(20);
    client_send_str(&c, "lue\nGET split\n");
    kv_expect(&c, "OK");
    kv_expect(&c, "VALUE value");
    /* Values set here are seen on another connection. */
    client c2;
    client_open(&c2, s.port);
    client_send_str(&c2, "GET split\n");
    kv_expect(&c2, "VALUE value");
    client_close(&c2);
    /* The thread's own count (its state from on_thread_start): twelve
     * commands on the one thread, and this one. */
    client_send_str(&c, "STATS\n");
    kv_expect(&c, "STATS 13");
    client_close(&c);
    server_stop(&s);
}

Test(http, kv_pipelined)
{
    SKIP_EXAMPLE_OVER_TLS("kv");
    server s;
    server_start(&s, example_path("ZZZ_KV"), NULL);
    client c;
    client_open(&c, s.port);
    enum { N = 500 };
    size_t cap = N * 3 * 48, len = 0;
    char *burst = malloc(cap);
    for (int i = 0; i < N; i++)
        len += (size_t)snprintf(burst + len, cap - len, "SET k%d v%d\nGET k%d\nDEL k%d\n", i, i * 7,
                                i, i);
    cr_assert_eq(client_send(&c, burst, len), 0); /* one write, 1500 commands */
    free(burst);
    for (int i = 0; i < N; i++) {
        char want[64];
        kv_expect(&c, "OK");
        snprintf(want, sizeof want, "VALUE v%d", i * 7);
        kv_expect(&c, want);
        kv_expect(&c, "DELETED");
    }
    client_close(&c);
    server_stop(&s);
}

Test(http, kv_many_clients)
{
    SKIP_EXAMPLE_OVER_TLS("kv");
    server s;
    server_start(&s, example_path("ZZZ_KV"), (const char *const[]){"--threads", "2", NULL});
    enum { CLIENTS = 200, ROUNDS = 5 };
    client *cs = calloc(CLIENTS, sizeof *cs);
    for (int i = 0; i < CLIENTS; i++)
        client_open(&cs[i], s.port);
    for (int round = 0; round < ROUNDS; round++) {
        /* Every client sends, then every client reads: all are open and in
         * flight together. */
        for (int i = 0; i < CLIENTS; i++) {
            char cmd[64];
            snprintf(cmd, sizeof cmd, "SET c%d r%d\nGET c%d\n", i, round, i);
            client_send_str(&cs[i], cmd);
        }
        for (int i = 0; i < CLIENTS; i++) {
            char want[64];
            kv_expect(&cs[i], "OK");
            snprintf(want, sizeof want, "VALUE r%d", round);
            kv_expect(&cs[i], want);
        }
    }
    /* Each sees the others' keys. */
    for (int i = 0; i < CLIENTS; i++) {
        char cmd[64], want[64];
        snprintf(cmd, sizeof cmd, "GET c%d\n", (i + 1) % CLIENTS);
        client_send_str(&cs[i], cmd);
        snprintf(want, sizeof want, "VALUE r%d", ROUNDS - 1);
        kv_expect(&cs[i], want);
    }
    for (int i = 0; i < CLIENTS; i++)
        client_close(&cs[i]);
    free(cs);
    server_stop(&s);
}

Test(http, kv_idle_reuse)
{
    SKIP_EXAMPLE_OVER_TLS("kv");
    server s;
    server_start(&s, example_path("ZZZ_KV"), NULL);
    client c;
    client_open(&c, s.port);
    client_send_str(&c, "SET idle yes\n");
    kv_expect(&c, "OK");
    /* Idle (no task, no buffer on the server) and then used again. */
    for (int i = 0; i < 3; i++) {
        sleep_ms(200);
        client_send_str(&c, "GET idle\n");
        kv_expect(&c, "VALUE yes");
    }
    /* A line longer than the read buffer is refused and closes. */
    size_t len = 64 * 1024;
    char *big = malloc(len);
    memset(big, 'x', len);
    memcpy(big, "SET big ", 8);
    client_send(&c, big, len);
    free(big);
    char *line = kv_line(&c);
    cr_assert_str_eq(line, "ERROR line too long");
    free(line);
    cr_assert(client_wait_closed(&c, HANG_GUARD_MS, NULL));
    client_close(&c);
    server_stop(&s);
}

/* Over TLS, a connection idle past --idle-trim-ms gives its record
 * buffers' pages back to the kernel; it must carry on as before: bodies
 * both ways, large responses, pipelined requests. */
Test(http, tls_idle_trim_reuse)
{
    if (!OVER_TLS)
        cr_skip_test("TLS only: plain connections hold no buffers while idle");
    server s;
    start_testserver(&s, (const char *const[]){"--idle-trim-ms", "100", NULL});
    client c;
    client_open(&c, s.port);
    char *body = pattern(200000, 7);
    for (int round = 0; round < 3; round++) {
        sleep_ms(400); /* idle: trimmed */
        send_length_body(&c, "/echo", body, 200000);
        response r;
        client_response(&c, &r);
        expect_status(&r, 200);
        cr_assert_eq(r.body_len, 200000);
        cr_assert_eq(memcmp(r.body, body, 200000), 0, "the echo differs after an idle trim");
        response_free(&r);
        sleep_ms(400);
        client_send_str(&c, "GET /big HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n");
        client_response(&c, &r);
        expect_status(&r, 200);
        cr_assert_eq(r.body_len, 100000);
        for (size_t i = 0; i < r.body_len; i++)
            cr_assert_eq(r.body[i], (char)('a' + i % 26), "byte %zu of /big differs", i);
        response_free(&r);
        expect_ok_keepalive(&c, "Hello, World!");
    }
    free(body);
    client_close(&c);
    server_stop(&s);
}

/* ======================================================================
 * Memory of idle connections
 * ==================================================================== */

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif

/* The server of the memory test, with a connection limit: hello, or over
 * TLS the test server (which answers GET / as hello does). */
static void start_memory_server(server *s, const char *conn_limit)
{
    if (OVER_TLS)
        start_testserver(s, (const char *const[]){"--conn-limit", conn_limit, "--idle-trim-ms", "200",
                                                  NULL});
    else
        server_start(s, example_path("ZZZ_HELLO"), (const char *const[]){"--conn-limit", conn_limit, NULL});
}

Test(http, idle_connection_memory, .timeout = 240)
{
    enum { IDLE = 2000 };
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    if (rl.rlim_cur < IDLE + 200) {
        rl.rlim_cur = rl.rlim_max < IDLE + 1000 ? rl.rlim_max : IDLE + 1000;
        setrlimit(RLIMIT_NOFILE, &rl);
        getrlimit(RLIMIT_NOFILE, &rl);
    }
    if (rl.rlim_cur < IDLE + 200)
        cr_skip_test("RLIMIT_NOFILE is %llu: too few descriptors", (unsigned long long)rl.rlim_cur);
    /* The connection table is reserved for conn_limit slots but a record is
     * touched only on first use: measure what an unused slot costs too,
     * against a server of 64 slots (it should be about nothing). */
    long long small_rss, big_rss;
    server s;
    for (int pass = 0; pass < 2; pass++) {
        start_memory_server(&s, pass ? "4096" : "64");
        for (int i = 0; i < 20; i++) {
            response r;
            exchange(s.port, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", &r);
            response_free(&r);
        }
        sleep_ms(50);
        *(pass ? &big_rss : &small_rss) = process_rss(s.pid);
        server_stop(&s);
    }
    long long per_slot = (big_rss - small_rss) / (4096 - 64);
    /* The server inherits the raised limit. */
    start_memory_server(&s, "4096");
    /* Warm up the pools and stacks, then measure. */
    for (int i = 0; i < 50; i++) {
        response r;
        exchange(s.port, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", &r);
        expect_status(&r, 200);
        response_free(&r);
    }
    sleep_ms(100);
    long long before = process_rss(s.pid);
    cr_assert(before > 0);
    client *cs = calloc(IDLE, sizeof *cs);
    for (int i = 0; i < IDLE; i++) {
        client_open(&cs[i], s.port);
        client_send_str(&cs[i], "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
        response r;
        client_response(&cs[i], &r);
        expect_status(&r, 200);
        response_free(&r);
    }
    /* Over TLS, idle connections give their record buffers' pages back
     * after --idle-trim-ms (200): wait for all of them. */
    sleep_ms(OVER_TLS ? 800 : 200);
    long long after = process_rss(s.pid);
    long long per_conn = (after - before) / IDLE;
    fprintf(stderr,
            "idle memory (driver %s%s): RSS %lld KiB before, %lld KiB with %d idle keep-alive "
            "connections: %lld bytes per idle connection (plus about %lld bytes per slot of "
            "conn_limit allocated at start)\n",
            s.driver, OVER_TLS ? ", TLS" : "", before / 1024, after / 1024, IDLE, per_conn,
            per_slot);
    cr_log_info("%lld bytes per idle connection (driver %s%s)", per_conn, s.driver,
                OVER_TLS ? ", TLS" : "");
    /* They are all still usable. */
    for (int i = 0; i < IDLE; i += IDLE / 10) {
        client_send_str(&cs[i], "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
        expect_ok_keepalive(&cs[i], "Hello, World!");
    }
    for (int i = 0; i < IDLE; i++)
        client_close(&cs[i]);
    free(cs);
    server_stop(&s);
#ifndef UNDER_ASAN
    /* A task stack (64 KiB) or a read buffer kept per idle connection would
     * show here; a few hundred bytes of record is expected. Over TLS each
     * connection also keeps its TLS state for its whole life (41 KiB
     * reserved as zzz_server_memory_info's .tls_state reports it: the
     * BearSSL engine, 4 KiB of read-ahead, the record buffers), but once
     * idle past --idle-trim-ms only the pages of the engine stay: about
     * 8 KiB (measured: about 17 KB per idle connection before trimming,
     * about 8.5 KB after). The bound allows 16 KiB on top of the plain one:
     * untrimmed buffers would exceed it. */
    long long bound = 64 * 1024 + (OVER_TLS ? 16 * 1024 : 0);
    cr_assert_lt(per_conn, bound, "%lld bytes per idle connection", per_conn);
#endif
}

/* ======================================================================
 * The write arena
 * ==================================================================== */

/* Every accepted connection has Nagle's algorithm off, so a small answer
 * written in pieces is not held back waiting for the client's ACK. */
Test(http, connections_have_nagle_off)
{
    server s;
    start_testserver(&s, NULL);
    for (int i = 0; i < 3; i++) {
        response r;
        exchange(s.port, "GET /nodelay HTTP/1.1\r\nHost: x\r\n\r\n", &r);
        expect_status(&r, 200);
        expect_body(&r, "nodelay 1\n");
        response_free(&r);
    }
    server_stop(&s);
}

/* zzz_res_header_str: a request's value echoed by pointer and length,
 * an empty value from a NULL pointer, only the given bytes of a longer
 * string; a NUL or CR inside, or an empty name, refused with -EINVAL. */
Test(http, header_from_lengths)
{
    server s;
    start_testserver(&s, NULL);
    response r;
    exchange(s.port, "GET /echo-header HTTP/1.1\r\nHost: x\r\nX-Echo: some value; q=1\r\n\r\n", &r);
    expect_status(&r, 200);
    int rc[7];
    cr_assert_eq(sscanf(r.body, "rc %d %d %d %d %d %d %d", &rc[0], &rc[1], &rc[2], &rc[3], &rc[4],
                        &rc[5], &rc[6]),
                 7, "%.*s", (int)r.body_len, r.body);
    cr_assert_eq(rc[0], 0);
    cr_assert_eq(rc[1], 0);
    cr_assert_eq(rc[2], -EINVAL, "a NUL inside the name");
    cr_assert_eq(rc[3], -EINVAL, "a NUL inside the value");
    cr_assert_eq(rc[4], -EINVAL, "a CR inside the value");
    cr_assert_eq(rc[5], -EINVAL, "an empty name");
    cr_assert_eq(rc[6], 0);
    cr_assert(header_is(&r, "X-Echoed", "some value; q=1"), "%s", r.head);
    cr_assert(header_is(&r, "X-Empty", ""), "%s", r.head);
    cr_assert(header_is(&r, "X-Cut", "yes"), "%s", r.head);
    cr_assert_null(resp_header(&r, "X-B"), "%s", r.head);
    cr_assert_null(resp_header(&r, "X-C"), "%s", r.head);
    response_free(&r);
    server_stop(&s);
}

/* A handler's own fields fill 4 KiB of lines (a small room first, then
 * the whole one, the lines moved over): 64-byte lines go in up to that,
 * the next is refused with -ENOBUFS, and the answer carries every one
 * that went in, intact and in order. */
Test(http, handler_fields_fill_their_room)
{
    server s;
    start_testserver(&s, NULL);
    response r;
    exchange(s.port, "GET /many-headers HTTP/1.1\r\nHost: x\r\n\r\n", &r);
    expect_status(&r, 200);
    unsigned added = 0;
    int rc = 0;
    cr_assert_eq(sscanf(r.body, "added %u rc %d", &added, &rc), 2, "%.*s", (int)r.body_len, r.body);
    cr_assert_eq(rc, -ENOBUFS);
    /* 4096 bytes of room: 64 lines of 64 bytes, and not one more. */
    cr_assert_eq(added, 4096 / 64, "%u fields went in", added);
    for (unsigned i = 0; i < added; i++) {
        char name[24], value[64];
        snprintf(name, sizeof name, "X-Field-%03u", i);
        snprintf(value, sizeof value, "%03u-%045u", i, i);
        cr_assert(header_is(&r, name, value), "%s: %s in:\n%s", name, value, r.head);
    }
    char past[24];
    snprintf(past, sizeof past, "X-Field-%03u", added);
    cr_assert_null(resp_header(&r, past), "a refused field was sent:\n%s", r.head);
    response_free(&r);
    server_stop(&s);
}

/* Scratch from the write buffer fails with -ENOBUFS when pending output
 * and earlier scratch leave no room, and sends nothing to make room; a
 * field the handler adds then is refused the same way. */
Test(http, write_arena_never_flushes)
{
    server s;
    start_testserver(&s, NULL);
    client c;
    client_open(&c, s.port);
    client_send_str(&c, "GET /arena HTTP/1.1\r\nHost: x\r\n\r\n");
    response r;
    client_response(&c, &r);
    expect_status(&r, 200);
    unsigned pieces = 0;
    int too_big = 0, full = 0, header = 0, kept = 0;
    cr_assert_eq(sscanf(r.body, "rc %d %d header %d kept %d pieces %u", &too_big, &full, &header,
                        &kept, &pieces),
                 5, "%.*s", (int)r.body_len, r.body);
    cr_assert_eq(too_big, -ENOBUFS);
    cr_assert_eq(full, -ENOBUFS);
    cr_assert_eq(header, -ENOBUFS);
    cr_assert_eq(kept, 1, "the arena sent pending output to make room");
    /* 16 KiB less the header array and the filler, in 512-byte pieces. */
    cr_assert(pieces > 10 && pieces < 32, "%u pieces", pieces);
    cr_assert(!resp_header(&r, "X-Late"), "%s", r.head);
    response_free(&r);
    /* The connection goes on, with its whole write buffer again. */
    client_send_str(&c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    expect_ok_keepalive(&c, "Hello, World!");
    client_close(&c);
    server_stop(&s);
}

/* A header array that would take more than half the write buffer is
 * refused at start-up, with the reason. */
Test(http, max_headers_past_the_write_buffer)
{
    char *out;
    int rc = run_capture((const char *const[]){binary_path("ZZZ_TESTSERVER"), "--port", "0",
                                               "--max-headers", "1000", NULL},
                         &out, HANG_GUARD_MS);
    cr_assert_eq(rc, 1, "%s", out);
    cr_assert(strstr(out, "http: max_headers 1000 needs more than half the write buffer (16384 "
                          "bytes)"),
              "%s", out);
    free(out);
}

/* ======================================================================
 * Taking the connection over (zzz_res_take_over)
 * ==================================================================== */

/* Reads a response head as raw text (bounded), through its empty line. */
static char *raw_head(client *c)
{
    uint64_t give_up = now_ms() + HANG_GUARD_MS;
    for (;;) {
        char *end = c->len ? memmem(c->buf, c->len, "\r\n\r\n", 4) : NULL;
        if (end) {
            size_t n = (size_t)(end - c->buf) + 4;
            char *head = strndup(c->buf, n);
            client_consume(c, n);
            return head;
        }
        cr_assert(!c->eof, "closed before a whole head (have: %.*s)", (int)c->len, c->buf);
        cr_assert(now_ms() < give_up, "no whole head (have: %.*s)", (int)c->len, c->buf);
        client_recv_some(c, HANG_GUARD_MS);
    }
}

/* Exactly the bytes of want, next (bounded). */
static void expect_raw(client *c, const char *want)
{
    size_t n = strlen(want);
    uint64_t give_up = now_ms() + HANG_GUARD_MS;
    while (c->len < n) {
        cr_assert(!c->eof && now_ms() < give_up, "expected \"%s\", have \"%.*s\"", want,
                  (int)c->len, c->buf ? c->buf : "");
        client_recv_some(c, HANG_GUARD_MS);
    }
    cr_assert(memcmp(c->buf, want, n) == 0, "expected \"%s\", got \"%.*s\"", want, (int)n, c->buf);
    client_consume(c, n);
}

/* A 101, then the connection is another protocol's: the bytes the client
 * sent right after the request, in the same packet, are the new
 * protocol's first; after a quiet spell (no task held) it serves more. */
Test(http, upgrade_hands_over)
{
    server s;
    start_testserver(&s, NULL);
    client c;
    client_open(&c, s.port);
    client_send_str(&c, "GET /upgrade HTTP/1.1\r\nHost: x\r\nUpgrade: upper\r\n"
                        "Connection: Upgrade\r\n\r\nearly bytes ");
    char *head = raw_head(&c);
    cr_assert(strncmp(head, "HTTP/1.1 101 Switching Protocols\r\n", 34) == 0, "%s", head);
    cr_assert(strstr(head, "\r\nConnection: Upgrade\r\n"), "%s", head);
    cr_assert(strstr(head, "\r\nUpgrade: upper\r\n"), "%s", head);
    cr_assert(strstr(head, "\r\nDate: "), "%s", head);
    cr_assert(!strcasestr(head, "Content-Length") && !strcasestr(head, "Transfer-Encoding"), "%s",
              head);
    free(head);
    expect_raw(&c, "EARLY BYTES ");
    sleep_ms(50);
    client_send_str(&c, "and more\r\n");
    expect_raw(&c, "AND MORE\r\n");
    /* A pipelined-looking request is just bytes to the new protocol. */
    client_send_str(&c, "get / http/1.1\r\n\r\n");
    expect_raw(&c, "GET / HTTP/1.1\r\n\r\n");
    client_close(&c);

    /* Without the Upgrade it asks for, the handler answers 426 as HTTP. */
    client_open(&c, s.port);
    client_send_str(&c, "GET /upgrade HTTP/1.1\r\nHost: x\r\n\r\n");
    response r;
    client_response(&c, &r);
    expect_status(&r, 426);
    response_free(&r);
    /* and HTTP/1.0 cannot switch: the take-over is refused. */
    client_send_str(&c, "GET /upgrade HTTP/1.0\r\nUpgrade: upper\r\n\r\n");
    client_response(&c, &r);
    expect_status(&r, 400);
    expect_body(&r, "take over: -22\n");
    response_free(&r);
    client_close(&c);
    server_stop(&s);
}

/* The handler keeps the connection it took over and serves it in line. */
Test(http, take_over_in_the_handler)
{
    server s;
    start_testserver(&s, NULL);
    client c;
    client_open(&c, s.port);
    client_send_str(&c, "GET /takeover-echo HTTP/1.1\r\nHost: x\r\n\r\nfirst\n");
    char *head = raw_head(&c);
    cr_assert(strncmp(head, "HTTP/1.1 101 ", 13) == 0, "%s", head);
    free(head);
    expect_raw(&c, "echo first\n");
    client_send_str(&c, "second\nbye\n");
    expect_raw(&c, "echo second\necho bye\n");
    /* The handler returned: HTTP closes the connection. */
    size_t extra = 0;
    cr_assert(client_wait_closed(&c, HANG_GUARD_MS, &extra), "still open after the handler");
    cr_assert_eq(extra, 0);
    client_close(&c);
    server_stop(&s);
}

/* A response that ends with the connection: no length, no chunks. */
Test(http, endless_response)
{
    server s;
    start_testserver(&s, NULL);
    client c;
    client_open(&c, s.port);
    client_send_str(&c, "GET /feed HTTP/1.1\r\nHost: x\r\n\r\n");
    char *head = raw_head(&c);
    cr_assert(strncmp(head, "HTTP/1.1 200 OK\r\n", 17) == 0, "%s", head);
    cr_assert(strstr(head, "\r\nConnection: close\r\n"), "%s", head);
    cr_assert(strstr(head, "\r\nContent-Type: text/plain\r\n"), "%s", head);
    cr_assert(!strcasestr(head, "Content-Length") && !strcasestr(head, "Transfer-Encoding"), "%s",
              head);
    free(head);
    expect_raw(&c, "tick 1\ntick 2\ntick 3\n");
    cr_assert(client_wait_closed(&c, HANG_GUARD_MS, NULL), "the feed did not end with a close");
    client_close(&c);
    server_stop(&s);
}

/* What zzz_res_take_over refuses, and a body that must be read first. */
Test(http, take_over_refusals)
{
    server s;
    start_testserver(&s, NULL);
    client c;
    client_open(&c, s.port);
    /* 100 is no status to take over with; 101 needs an Upgrade field. */
    client_send_str(&c, "GET /takeover-refused HTTP/1.1\r\nHost: x\r\n\r\n");
    expect_ok_keepalive(&c, "rc -22 -22 0\n");
    /* and an HTTP/1.0 request, even with one. */
    client_send_str(&c, "GET /takeover-refused HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    response r;
    client_response(&c, &r);
    expect_status(&r, 200);
    expect_body(&r, "rc -22 -22 -22\n");
    response_free(&r);
    /* -EBUSY until the body is read; then the answer runs to the close. */
    client_send_str(&c, "POST /takeover-body HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello");
    char *head = raw_head(&c);
    cr_assert(strncmp(head, "HTTP/1.1 200 OK\r\n", 17) == 0, "%s", head);
    free(head);
    expect_raw(&c, "rc -16 0 body 5\n");
    cr_assert(client_wait_closed(&c, HANG_GUARD_MS, NULL));
    client_close(&c);
    server_stop(&s);
}

/* ======================================================================
 * Files in responses (zzz_res_sendfile)
 * ==================================================================== */

/* The directory /file/:name serves: a small file (read into the write
 * buffer with the head) and a large one (sent from the file), removed at
 * the end of the test. */
static char files_dir[256];
static char *files_small, *files_large;
#define FILES_SMALL 1000u
#define FILES_LARGE (3u * 1024 * 1024)

static void files_write(const char *name, const char *data, size_t len)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", files_dir, name);
    harness_write_path(path, data, len, 0644);
}

static void files_remove(void)
{
    harness_remove_tree(files_dir);
    free(files_small);
    free(files_large);
    harness_cleanup();
}

static void files_start(server *s)
{
    harness_temp_dir(files_dir, sizeof files_dir, "files");
    files_small = pattern(FILES_SMALL, 3);
    files_large = pattern(FILES_LARGE, 4);
    files_write("small", files_small, FILES_SMALL);
    files_write("large", files_large, FILES_LARGE);
    start_testserver(s, (const char *const[]){"--file-dir", files_dir, NULL});
}

/* GET / is answered, and the connection stays open. */
static void expect_ok_keepalive_get(client *c)
{
    client_send_str(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    expect_ok_keepalive(c, "Hello, World!");
}

/* GETs path and checks the body is want[0..len), with a Content-Length
 * unless `chunked`; the connection stays open. */
static void files_expect(client *c, const char *path, const char *want, size_t len, bool chunked)
{
    char request[256];
    snprintf(request, sizeof request, "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", path);
    client_send_str(c, request);
    response r;
    client_response(c, &r);
    expect_status(&r, 200);
    cr_assert_eq(r.chunked, chunked, "%s: chunked %d:\n%s", path, r.chunked, r.head);
    if (!chunked)
        cr_assert_eq(r.content_length, (long long)len, "%s:\n%s", path, r.head);
    cr_assert_eq(r.body_len, len, "%s: %zu bytes", path, r.body_len);
    cr_assert(memcmp(r.body, want, len) == 0, "%s: the bytes differ", path);
    cr_assert(!header_is(&r, "Connection", "close"), "%s closed the connection", path);
    response_free(&r);
}

Test(http, sendfile_whole_files_and_parts, .fini = files_remove)
{
    server s;
    files_start(&s);
    client c;
    client_open(&c, s.port);
    for (int round = 0; round < 2; round++) {
        files_expect(&c, "/file/small", files_small, FILES_SMALL, false);
        files_expect(&c, "/file/large", files_large, FILES_LARGE, false);
    }
    files_expect(&c, "/file/large?off=12345&len=700000", files_large + 12345, 700000, false);
    files_expect(&c, "/file/large?off=5&len=2000000&parts=3", files_large + 5, 2000000, false);
    files_expect(&c, "/file/small?off=10&len=900&parts=4&chunked=1", files_small + 10, 900, true);
    files_expect(&c, "/file/large?parts=5&chunked=1", files_large, FILES_LARGE, true);
    files_expect(&c, "/file/small?off=1000", files_small, 0, false);
    /* Pipelined: a small file, a large one, a small one, in one send. */
    client_send_str(&c, "GET /file/small HTTP/1.1\r\nHost: x\r\n\r\n"
                        "GET /file/large HTTP/1.1\r\nHost: x\r\n\r\n"
                        "GET /file/small?off=1 HTTP/1.1\r\nHost: x\r\n\r\n");
    const char *wants[] = {files_small, files_large, files_small + 1};
    size_t lens[] = {FILES_SMALL, FILES_LARGE, FILES_SMALL - 1};
    for (size_t i = 0; i < 3; i++) {
        response r;
        client_response(&c, &r);
        expect_status(&r, 200);
        cr_assert_eq(r.body_len, lens[i], "pipelined %zu: %zu bytes", i, r.body_len);
        cr_assert(memcmp(r.body, wants[i], lens[i]) == 0, "pipelined %zu differs", i);
        response_free(&r);
    }
    expect_ok_keepalive_get(&c);
    client_close(&c);
    server_stop(&s);
}

Test(http, sendfile_head_sends_no_body, .fini = files_remove)
{
    server s;
    files_start(&s);
    client c;
    client_open(&c, s.port);
    const char *paths[] = {"/file/small", "/file/large"};
    size_t lens[] = {FILES_SMALL, FILES_LARGE};
    for (size_t i = 0; i < 2; i++) {
        char request[128];
        snprintf(request, sizeof request, "HEAD %s HTTP/1.1\r\nHost: x\r\n\r\n", paths[i]);
        client_send_str(&c, request);
        response r;
        cr_assert_eq(client_read_response_ex(&c, &r, true), 0, "no answer to HEAD %s", paths[i]);
        expect_status(&r, 200);
        cr_assert_eq(r.content_length, (long long)lens[i], "HEAD %s:\n%s", paths[i], r.head);
        response_free(&r);
    }
    /* Nothing of the files followed the heads: the next answer parses. */
    expect_ok_keepalive_get(&c);
    client_close(&c);
    server_stop(&s);
}

/* A file that ends before the promised length (here: a length past its
 * end) cannot be answered whole: the client gets the head and the bytes
 * there were, then the close, never a response that looks complete. */
Test(http, sendfile_short_file_cuts_the_response, .fini = files_remove)
{
    server s;
    files_start(&s);
    const char *paths[] = {"/file/small?len=5000", "/file/large?off=3000000&len=1000000"};
    size_t have[] = {FILES_SMALL, FILES_LARGE - 3000000};
    for (size_t i = 0; i < 2; i++) {
        client c;
        client_open(&c, s.port);
        char request[128];
        snprintf(request, sizeof request, "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", paths[i]);
        client_send_str(&c, request);
        size_t extra = 0;
        cr_assert(client_wait_closed(&c, HANG_GUARD_MS, &extra), "%s: still open", paths[i]);
        response r;
        cr_assert_neq(client_read_response_ex(&c, &r, false), 0,
                      "%s: a cut response parsed as whole", paths[i]);
        const char *end = c.buf ? memmem(c.buf, c.len, "\r\n\r\n", 4) : NULL;
        if (end) {
            /* If the head left, at most the file's bytes followed it. */
            size_t body = c.len - (size_t)(end + 4 - c.buf);
            cr_assert_leq(body, have[i], "%s: %zu body bytes", paths[i], body);
        }
        client_close(&c);
    }
    /* The server serves on. */
    client c;
    client_open(&c, s.port);
    expect_ok_keepalive_get(&c);
    client_close(&c);
    server_stop(&s);
}
