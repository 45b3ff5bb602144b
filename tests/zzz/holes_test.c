/* Integration tests of the HTTP server's edges: framing errors answered
 * 400 wherever the body would have gone, heads and bodies that arrive too
 * slowly, clients that read too slowly, slow clients that must not hold
 * tasks or buffers, answers cut short that must never look complete, and
 * closes that must not destroy an answer. The test server runs as a child
 * process on 127.0.0.1 and is driven by raw sockets; meson runs this once
 * per I/O driver, and once more per driver built with ZZZ_TEST_TLS (the
 * raw client speaks TLS, see harness.h). The few checks that only make
 * sense on plain TCP (a reset seen by recv) say so where they are. */
#include "harness.h"

TestSuite(holes, .fini = harness_cleanup, .timeout = 90);

/* ---- helpers ------------------------------------------------------------- */

/* The test server on one thread; a short drain, so that a test that
 * leaves a handler blocked still stops within the hang guard. */
static void start_testserver(server *s, const char *const *extra)
{
    const char *args[40] = {"--threads", "1", "--drain-timeout-ms", "2000"};
    size_t n = 4;
    for (size_t i = 0; extra && extra[i] && n < 39; i++)
        args[n++] = extra[i];
    args[n] = NULL;
    server_start(s, binary_path("ZZZ_TESTSERVER"), args);
}

/* Up to 160 bytes of data, printable (escapes for the rest), in a ring of
 * static buffers: for failure messages. */
static const char *printable(const char *data, size_t len)
{
    static char ring[4][800];
    static unsigned next;
    char *out = ring[next++ % 4];
    size_t o = 0;
    for (size_t i = 0; i < len && i < 160 && o < sizeof ring[0] - 8; i++) {
        unsigned char ch = (unsigned char)data[i];
        if (ch == '\r')
            o += (size_t)snprintf(out + o, sizeof ring[0] - o, "\\r");
        else if (ch == '\n')
            o += (size_t)snprintf(out + o, sizeof ring[0] - o, "\\n");
        else if (ch < 0x20 || ch >= 0x7f)
            o += (size_t)snprintf(out + o, sizeof ring[0] - o, "\\x%02x", ch);
        else
            out[o++] = (char)ch;
    }
    if (len > 160)
        o += (size_t)snprintf(out + o, sizeof ring[0] - o, "... (%zu bytes)", len);
    out[o] = '\0';
    return out;
}

static const char *client_bytes(const client *c)
{
    return printable(c->buf ? c->buf : "", c->len);
}

/* Reads one whole response, waiting at most timeout_ms. Returns 0,
 * -ETIMEDOUT, -ECONNRESET when the connection ended first, -EPROTO when the
 * bytes are not a response. */
static int response_within(client *c, response *r, unsigned timeout_ms, bool head_only)
{
    uint64_t give_up = now_ms() + timeout_ms;
    for (;;) {
        long n = parse_response(c->buf ? c->buf : "", c->len, head_only, c->eof, r);
        if (n > 0) {
            client_consume(c, (size_t)n);
            return 0;
        }
        if (n < 0)
            return -EPROTO;
        if (c->eof)
            return -ECONNRESET;
        uint64_t t = now_ms();
        if (t >= give_up)
            return -ETIMEDOUT;
        client_recv_some(c, (int)(give_up - t));
    }
}

/* response_within, or the test fails saying what came instead. */
static void expect_response_within(client *c, response *r, unsigned timeout_ms, const char *what)
{
    int err = response_within(c, r, timeout_ms, false);
    cr_assert_eq(err, 0, "%s: no complete response within %u ms (%s); got %zu bytes: %s", what,
                 timeout_ms,
                 err == -ETIMEDOUT    ? "still waiting"
                 : err == -ECONNRESET ? "the connection ended"
                                      : "not a response",
                 c->len, client_bytes(c));
}

/* Reads until the server closes the connection or timeout_ms passes.
 * True when it closed. */
static bool read_until_closed(client *c, unsigned timeout_ms)
{
    return client_wait_closed(c, timeout_ms, NULL);
}

/* Sends what it can of data[0..len) without waiting; returns the count
 * (0 when the socket is full), or -errno once the peer is gone. */
static ssize_t client_send_some(client *c, const char *data, size_t len)
{
#ifdef ZZZ_TEST_TLS
    if (c->ssl) {
        if (c->tls_failed)
            return -EPIPE;
        ERR_clear_error();
        errno = 0;
        int n = SSL_write(c->ssl, data, len > 16384 ? 16384 : (int)len);
        if (n > 0)
            return n;
        int e = SSL_get_error(c->ssl, n);
        if (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ)
            return 0;
        int err = harness_tls_errno(c, e, "write");
        return err ? -err : -EPIPE;
    }
#endif
    ssize_t n = send(c->fd, data, len, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n >= 0)
        return n;
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
        return 0;
    return -errno;
}

/* A copy of tmpl with every "{T}" replaced by target (malloc'ed). */
static char *with_target(const char *tmpl, const char *target)
{
    size_t tlen = strlen(target), cap = strlen(tmpl) * 2 + tlen * 8 + 1;
    char *out = malloc(cap);
    size_t o = 0;
    for (const char *p = tmpl; *p;) {
        if (strncmp(p, "{T}", 3) == 0) {
            cr_assert(o + tlen < cap);
            memcpy(out + o, target, tlen);
            o += tlen;
            p += 3;
        } else {
            cr_assert(o + 1 < cap);
            out[o++] = *p++;
        }
    }
    out[o] = '\0';
    return out;
}


/* A fresh connection's GET / answered within timeout_ms, the TLS
 * handshake included. Returns the status, or fails the test. */
static int get_within(uint16_t port, unsigned timeout_ms, response *r, const char *what)
{
    uint64_t start = now_ms();
    client c;
#ifdef ZZZ_TEST_TLS
    client_open_raw(&c, port);
    cr_assert(client_handshake_within(&c, timeout_ms), "%s: TLS handshake not done within %u ms: %s", what,
              timeout_ms, harness_tls_error);
#else
    client_open(&c, port);
#endif
    client_send_str(&c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    uint64_t spent = now_ms() - start;
    unsigned left = spent < timeout_ms ? timeout_ms - (unsigned)spent : 0;
    expect_response_within(&c, r, left, what);
    client_close(&c);
    return r->status;
}

/* The body of GET /big: a..z over and over. True when body is its first
 * len bytes. */
static bool big_pattern_ok(const char *body, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (body[i] != (char)('a' + i % 26))
            return false;
    return true;
}

/* ======================================================================
 * Bad framing: 400 wherever the body would have gone
 * ==================================================================== */

#define CHUNKED "POST {T} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
/* Sent with every case, in the same send: answered only after a valid one. */
#define AFTER "GET /users/after HTTP/1.1\r\nHost: x\r\n\r\n"

typedef struct framing_case {
    const char *what;
    const char *request; /* "{T}" stands for the target */
    int status;          /* 0: valid; else the refusal */
    int alt_status;      /* another acceptable refusal (0: none) */
    const char *echo;    /* valid ones: the body POST /echo sends back */
} framing_case;

static const framing_case framing_cases[] = {
    /* chunk sizes */
    {"size 0x5", CHUNKED "0x5\r\nhello\r\n0\r\n\r\n", 400, 0, NULL},
    {"size +5", CHUNKED "+5\r\nhello\r\n0\r\n\r\n", 400, 0, NULL},
    {"size -5", CHUNKED "-5\r\nhello\r\n0\r\n\r\n", 400, 0, NULL},
    {"size 5_0", CHUNKED "5_0\r\nhello\r\n0\r\n\r\n", 400, 0, NULL},
    {"size with a space before", CHUNKED " 5\r\nhello\r\n0\r\n\r\n", 400, 0, NULL},
    {"size with a space after", CHUNKED "5 \r\nhello\r\n0\r\n\r\n", 400, 0, NULL},
    {"size with a tab after", CHUNKED "5\t\r\nhello\r\n0\r\n\r\n", 400, 0, NULL},
    {"empty size line", CHUNKED "\r\nhello\r\n0\r\n\r\n", 400, 0, NULL},
    /* Past 64 bits; past max_body (1000) long before, so 413 will do. */
    {"size past 64 bits", CHUNKED "10000000000000000\r\nhello\r\n0\r\n\r\n", 400, 413, NULL},
    {"size past max_body", CHUNKED "3e9\r\nhello\r\n0\r\n\r\n", 413, 0, NULL},
    {"sizes adding up past max_body", CHUNKED "5\r\nhello\r\n3e5\r\nhello\r\n0\r\n\r\n", 413, 0,
     NULL},
    /* chunk extensions */
    {"bare ';'", CHUNKED "5;\r\nhello\r\n0\r\n\r\n", 400, 0, NULL},
    {"extension without a name", CHUNKED "5;=b\r\nhello\r\n0\r\n\r\n", 400, 0, NULL},
    {"CTL in an extension value", CHUNKED "5;a=\x01\r\nhello\r\n0\r\n\r\n", 400, 0, NULL},
    {"bare CR in an extension", CHUNKED "5;a\rb\r\nhello\r\n0\r\n\r\n", 400, 0, NULL},
    {"CR in a quoted extension value", CHUNKED "5;a=\"b\r\nhello\r\n0\r\n\r\n", 400, 0, NULL},
    {"space inside an extension name", CHUNKED "5;a b\r\nhello\r\n0\r\n\r\n", 400, 0, NULL},
    /* line ends */
    {"bare LF after a size", CHUNKED "5\nhello\r\n0\r\n\r\n", 400, 0, NULL},
    {"bare LF after an extension", CHUNKED "5;a=b\nhello\r\n0\r\n\r\n", 400, 0, NULL},
    {"data not followed by CRLF", CHUNKED "5\r\nhelloXY0\r\n\r\n", 400, 0, NULL},
    {"data longer than its size", CHUNKED "3\r\nhello\r\n0\r\n\r\n", 400, 0, NULL},
    {"data followed by a bare LF", CHUNKED "5\r\nhello\n0\r\n\r\n", 400, 0, NULL},
    {"last chunk ended by a bare LF", CHUNKED "5\r\nhello\r\n0\n\r\n", 400, 0, NULL},
    /* trailers */
    {"obs-fold in a trailer", CHUNKED "5\r\nhello\r\n0\r\nX-T: a\r\n b\r\n\r\n", 400, 0, NULL},
    {"trailer section starting with a space", CHUNKED "5\r\nhello\r\n0\r\n X-T: a\r\n\r\n", 400, 0,
     NULL},
    {"space before a trailer's colon", CHUNKED "5\r\nhello\r\n0\r\nX-T : a\r\n\r\n", 400, 0, NULL},
    {"trailer without a colon", CHUNKED "5\r\nhello\r\n0\r\nX-T\r\n\r\n", 400, 0, NULL},
    {"bare LF ending a trailer", CHUNKED "5\r\nhello\r\n0\r\nX-T: a\n\r\n", 400, 0, NULL},
    {"bare CR in a trailer", CHUNKED "5\r\nhello\r\n0\r\nX-T: a\rb\r\n\r\n", 400, 0, NULL},
    {"bare LF as the final line", CHUNKED "5\r\nhello\r\n0\r\n\n", 400, 0, NULL},
    /* heads */
    {"bare LF ending the request line", "POST {T} HTTP/1.1\nHost: x\r\nContent-Length: 0\r\n\r\n",
     400, 0, NULL},
    {"bare LF ending a field line", "POST {T} HTTP/1.1\r\nHost: x\nContent-Length: 0\r\n\r\n", 400,
     0, NULL},
    {"bare LF as the final empty line", "POST {T} HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\n",
     400, 0, NULL},
    {"bare LF everywhere", "POST {T} HTTP/1.1\nHost: x\nContent-Length: 0\n\n", 400, 0, NULL},
    {"GET / with bare LFs", "GET / HTTP/1.1\nHost: a\n\n", 400, 0, NULL},
    {"bare LF before the request line", "\nPOST {T} HTTP/1.1\r\nHost: x\r\n\r\n", 400, 0, NULL},
    {"bare LF ending Transfer-Encoding",
     "POST {T} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\n\r\n5\r\nhello\r\n0\r\n\r\n", 400,
     0, NULL},
    {"bare CR between field lines", "POST {T} HTTP/1.1\r\nHost: x\rContent-Length: 0\r\n\r\n", 400,
     0, NULL},
    {"bare CR in a field value",
     "POST {T} HTTP/1.1\r\nHost: x\r\nX-A: b\rc\r\nContent-Length: 0\r\n\r\n", 400, 0, NULL},
    {"CR CR LF ending the request line", "POST {T} HTTP/1.1\r\r\nHost: x\r\n\r\n", 400, 0, NULL},
    /* valid ones: answered, and the request behind them too */
    {"BWS before ';'", CHUNKED "5 ;a\r\nhello\r\n0\r\n\r\n", 0, 0, "hello"},
    {"tab before ';'", CHUNKED "5\t;a\r\nhello\r\n0\r\n\r\n", 0, 0, "hello"},
    {"BWS around ';' and '='", CHUNKED "5 ; a = b\r\nhello\r\n0\r\n\r\n", 0, 0, "hello"},
    {"several extensions", CHUNKED "5;a=b;c=\"q d\";e\r\nhello\r\n0\r\n\r\n", 0, 0, "hello"},
    {"quoted-pair in an extension", CHUNKED "5;a=\"x\\\"y\"\r\nhello\r\n0\r\n\r\n", 0, 0, "hello"},
    {"leading zeros", CHUNKED "0005\r\nhello\r\n000\r\n\r\n", 0, 0, "hello"},
    {"two chunks", CHUNKED "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", 0, 0, "hello world"},
    {"trailers", CHUNKED "A\r\n0123456789\r\n0;end=1\r\nX-T: yes\r\nX-U:\r\nX-V: a b\t\r\n\r\n", 0,
     0, "0123456789"},
    {"an empty chunked body", CHUNKED "0\r\n\r\n", 0, 0, ""},
    {"Content-Length: 0 with nothing after it",
     "POST {T} HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", 0, 0, ""},
    {"Content-Length: 5", "POST {T} HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello", 0, 0,
     "hello"},
};

/* Bounds of each case's waits: every answer here comes at once; today's
 * server may wait for a timeout (1 s, see framing_errors) instead. */
#define CASE_WAIT_MS 3000

/* One case against one target. Returns NULL when it went as it must, or
 * what went wrong (a static buffer). */
static const char *framing_case_run(uint16_t port, const framing_case *fc, const char *target)
{
    static char why[1024];
    char *req = with_target(fc->request, target);
    size_t len = strlen(req);
    char *wire = malloc(len + sizeof AFTER);
    memcpy(wire, req, len);
    memcpy(wire + len, AFTER, sizeof AFTER);
    client c;
    client_open(&c, port);
    int sent = client_send(&c, wire, len + sizeof AFTER - 1);
    (void)sent; /* the server may refuse before reading it all */
    free(wire);
    free(req);
    response r;
    const char *result = NULL;
    int err = response_within(&c, &r, CASE_WAIT_MS, false);
    if (err != 0) {
        snprintf(why, sizeof why, "no answer within %d ms (%s); got %zu bytes: %s", CASE_WAIT_MS,
                 err == -ETIMEDOUT ? "still waiting" : "closed", c.len, client_bytes(&c));
        result = why;
        goto done;
    }
    if (fc->status) {
        if (r.status != fc->status && r.status != fc->alt_status) {
            snprintf(why, sizeof why, "answered %d, not %d: %s", r.status, fc->status,
                     printable(r.head, strlen(r.head)));
            result = why;
        } else if (!header_is(&r, "Connection", "close")) {
            snprintf(why, sizeof why, "a %d without Connection: close", r.status);
            result = why;
        } else if (!read_until_closed(&c, CASE_WAIT_MS)) {
            snprintf(why, sizeof why, "the connection stayed open after the %d", r.status);
            result = why;
        } else if (c.len > 0) {
            snprintf(why, sizeof why, "bytes after the %d (the request behind it answered?): %s",
                     r.status, client_bytes(&c));
            result = why;
        }
        response_free(&r);
        goto done;
    }
    /* Valid: the target's own answer, the connection kept, and the request
     * behind it answered. */
    int want = strcmp(target, "/nothing-here") == 0 ? 404 : 200;
    const char *body = strcmp(target, "/echo") == 0     ? fc->echo
                       : strcmp(target, "/ignore") == 0 ? "ignored\n"
                                                        : NULL;
    if (r.status != want) {
        snprintf(why, sizeof why, "a valid request answered %d, not %d: %s%s", r.status, want,
                 printable(r.head, strlen(r.head)), r.body ? printable(r.body, r.body_len) : "");
        result = why;
    } else if (body && (r.body_len != strlen(body) || memcmp(r.body, body, r.body_len) != 0)) {
        snprintf(why, sizeof why, "body \"%s\", not \"%s\"", printable(r.body, r.body_len), body);
        result = why;
    } else if (header_is(&r, "Connection", "close")) {
        snprintf(why, sizeof why, "a valid request answered with Connection: close");
        result = why;
    }
    response_free(&r);
    if (result)
        goto done;
    err = response_within(&c, &r, CASE_WAIT_MS, false);
    if (err != 0) {
        snprintf(why, sizeof why, "the request behind a valid one was not answered (%s): %s",
                 err == -ETIMEDOUT ? "still waiting" : "closed", client_bytes(&c));
        result = why;
        goto done;
    }
    if (r.status != 200 || r.body_len != 11 || memcmp(r.body, "user after\n", 11) != 0) {
        snprintf(why, sizeof why, "the request behind a valid one answered %d \"%s\"", r.status,
                 printable(r.body, r.body_len));
        result = why;
    }
    response_free(&r);
done:
    client_close(&c);
    return result;
}

/* Every case against a handler that reads the body (/echo), one that
 * ignores it (/ignore) and the not-found path: bad framing is 400 (413
 * for a size past max_body) and a close, never the handler's answer, with
 * the request pipelined behind it never answered; valid framing is served
 * and so is what follows it. All failures are listed before the verdict. */
Test(holes, framing_errors)
{
    server s;
    start_testserver(&s, (const char *const[]){"--max-body", "1000", "--header-timeout-ms", "1000",
                                               "--body-timeout-ms", "1000", NULL});
    const char *targets[] = {"/echo", "/ignore", "/nothing-here"};
    size_t cases = sizeof framing_cases / sizeof framing_cases[0];
    unsigned failed = 0, ran = 0;
    for (size_t i = 0; i < cases; i++) {
        for (size_t t = 0; t < 3; t++) {
            const char *why = framing_case_run(s.port, &framing_cases[i], targets[t]);
            ran++;
            if (why) {
                failed++;
                cr_log_error("%s, POST %s: %s", framing_cases[i].what, targets[t], why);
            }
        }
    }
    cr_assert_eq(failed, 0, "%u of %u framing cases went wrong (listed above)", failed, ran);
    server_stop(&s);
}

/* A bare LF in a head is refused at the byte that shows it, not after the
 * header timeout (5 s here; the answer is awaited for 2 s at most). */
Test(holes, bare_lf_refused_at_once)
{
    server s;
    start_testserver(&s, (const char *const[]){"--header-timeout-ms", "5000", NULL});
    const char *heads[] = {
        "GET / HTTP/1.1\nHost: a\n\n",
        "GET / HTTP/1.1\r\nHost: a\n\r\n",
        "GET / HTTP/1.1\r\nHost: a\r\n\n",
        "GET / HTTP/1.1\nHost: a\r\n\r\n",
    };
    for (size_t i = 0; i < sizeof heads / sizeof heads[0]; i++) {
        client c;
        client_open(&c, s.port);
        client_send_str(&c, heads[i]);
        response r;
        int err = response_within(&c, &r, 2000, false);
        cr_assert_eq(err, 0, "\"%s\": no answer within 2 s (header timeout: 5 s); got: %s",
                     printable(heads[i], strlen(heads[i])), client_bytes(&c));
        cr_assert_eq(r.status, 400, "\"%s\": answered %d", printable(heads[i], strlen(heads[i])),
                     r.status);
        response_free(&r);
        cr_assert(read_until_closed(&c, 2000), "still open after the 400");
        client_close(&c);
    }
    server_stop(&s);
}

/* ======================================================================
 * Request-target forms
 * ==================================================================== */

Test(holes, connect_and_asterisk_forms)
{
    server s;
    start_testserver(&s, NULL);
    client c;
    response r;

    /* CONNECT is not served: 501, or 405 with Allow; never "not found". */
    client_open(&c, s.port);
    client_send_str(&c, "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n");
    expect_response_within(&c, &r, 3000, "CONNECT");
    cr_assert(r.status == 501 || (r.status == 405 && resp_header(&r, "Allow")),
              "CONNECT answered %d:\n%s", r.status, r.head);
    response_free(&r);
    client_close(&c);

    /* The asterisk form belongs to OPTIONS only. */
    client_open(&c, s.port);
    client_send_str(&c, "GET * HTTP/1.1\r\nHost: x\r\n\r\n" AFTER);
    expect_error_and_close(&c, 400);
    client_close(&c);

    client_open(&c, s.port);
    client_send_str(&c, "OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n");
    expect_response_within(&c, &r, 3000, "OPTIONS *");
    cr_assert(r.status >= 200 && r.status <= 299, "OPTIONS * answered %d:\n%s", r.status, r.head);
    response_free(&r);
    client_close(&c);
    server_stop(&s);
}

/* The absolute form is routed by its path (its authority replaces Host). */
Test(holes, absolute_form_target)
{
    server s;
    start_testserver(&s, NULL);
    client c;
    response r;
    client_open(&c, s.port);
    client_send_str(&c, "GET http://other.example/users/7 HTTP/1.1\r\nHost: h\r\n\r\n");
    expect_response_within(&c, &r, 3000, "absolute form");
    expect_status(&r, 200);
    expect_body(&r, "user 7\n");
    response_free(&r);
    client_close(&c);
    server_stop(&s);
}

/* ======================================================================
 * Bodies: unread, trickled, and the buffers they take
 * ==================================================================== */

/* An answer given without reading the body leaves at once; the server
 * then closes (lingering), without waiting for the rest of the body. */
Test(holes, unread_body_does_not_delay_answer)
{
    server s;
    start_testserver(&s, (const char *const[]){"--body-timeout-ms", "20000", "--linger-timeout-ms",
                                               "1000", NULL});
    client c;
    client_open(&c, s.port);
    client_send_str(&c, "GET /nothing HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n"
                        "0123456789");
    response r;
    int err = response_within(&c, &r, 2000, false);
    cr_assert_eq(err, 0,
                 "no answer within 2 s to a request whose body was left unread (got %zu bytes: "
                 "%s): the answer waits for a body no handler wants",
                 c.len, client_bytes(&c));
    expect_status(&r, 404);
    response_free(&r);
    /* Linger 1 s: closed well within 4 s, with nothing more sent. */
    size_t extra = 0;
    cr_assert(client_wait_closed(&c, 4000, &extra),
              "the connection stayed open with 999,990 body bytes never coming");
    cr_assert_eq(c.len, 0, "bytes after the 404: %s", client_bytes(&c));
    client_close(&c);
    server_stop(&s);
}

/* A body that keeps coming, a byte at a time, but far below the minimum
 * rate is cut once the grace time has passed (body_timeout alone, 30 s,
 * would never end it: each byte resets it). */
Test(holes, body_min_rate_cuts_trickle)
{
    server s;
    start_testserver(&s, (const char *const[]){"--body-grace-ms", "1000", "--body-min-rate", "200",
                                               "--body-timeout-ms", "30000", NULL});
    client c;
    client_open(&c, s.port);
    client_send_str(&c, "POST /count HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n");
    uint64_t give_up = now_ms() + 8000;
    unsigned sent = 0;
    bool send_failed = false;
    while (c.len == 0 && !c.eof && now_ms() < give_up) {
        if (!send_failed && client_send(&c, "x", 1) != 0)
            send_failed = true; /* reset: what arrived before it is read below */
        else
            sent++;
        client_recv_some(&c, 300);
    }
    if (send_failed)
        read_until_closed(&c, 2000);
    cr_assert(c.len > 0 || c.eof,
              "a body trickled at about 3 bytes/s (minimum 200 after 1 s) was still being read "
              "after 8 s (%u bytes sent)",
              sent);
    if (c.len > 0) {
        response r;
        cr_assert_eq(response_within(&c, &r, 2000, false), 0, "got: %s", client_bytes(&c));
        expect_status(&r, 408);
        response_free(&r);
        cr_assert(read_until_closed(&c, 3000), "still open after the 408");
    }
    client_close(&c);
    server_stop(&s);
}

/* An upload slow but well above the minimum rate (about 2,000 bytes/s
 * against 200) is read whole. */
Test(holes, body_slow_but_steady_completes)
{
    server s;
    start_testserver(&s, (const char *const[]){"--body-grace-ms", "1000", "--body-min-rate", "200",
                                               "--body-timeout-ms", "30000", NULL});
    enum { TOTAL = 10000, PIECE = 200, EVERY_MS = 100 };
    client c;
    client_open(&c, s.port);
    char head[128];
    snprintf(head, sizeof head, "POST /count HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n",
             TOTAL);
    client_send_str(&c, head);
    char piece[PIECE];
    memset(piece, 'y', sizeof piece);
    for (int sent = 0; sent < TOTAL; sent += PIECE) {
        int err = client_send(&c, piece, PIECE);
        cr_assert_eq(err, 0, "cut after %d of %d bytes at about 2,000 bytes/s: %s (got: %s)", sent,
                     TOTAL, strerror(-err), client_bytes(&c));
        if (sent + PIECE == TOTAL)
            break;
        /* The pace; an early answer (or close) shows here. */
        client_recv_some(&c, EVERY_MS);
        cr_assert(c.len == 0 && !c.eof, "answered after %d of %d bytes: %s", sent + PIECE, TOTAL,
                  client_bytes(&c));
    }
    response r;
    expect_response_within(&c, &r, 3000, "the slow upload");
    expect_status(&r, 200);
    expect_body(&r, "10000\n");
    response_free(&r);
    client_close(&c);
    server_stop(&s);
}

/* A body buffer is taken when the body's first bytes arrive, not when the
 * handler asks: uploads that sent only their head hold none, so another
 * upload is served (with 2 buffers and 3 such uploads). The heads carry
 * "Expect: 100-continue", so the 100 Continue shows that each handler is
 * reading before the fourth upload starts. */
Test(holes, body_buffers_taken_lazily)
{
    server s;
    start_testserver(&s, (const char *const[]){"--body-buffers", "2", "--max-body", "1000",
                                               "--body-timeout-ms", "20000", NULL});
    client stalled[3];
    int interim[3];
    for (int i = 0; i < 3; i++) {
        client_open(&stalled[i], s.port);
        client_send_str(&stalled[i], "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
                                     "Expect: 100-continue\r\n\r\n");
        response r;
        interim[i] = response_within(&stalled[i], &r, 2000, false) == 0 ? r.status : 0;
        if (interim[i])
            response_free(&r);
    }
    client c;
    client_open(&c, s.port);
    client_send_str(&c, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello");
    response r;
    expect_response_within(&c, &r, 3000, "the fourth upload");
    cr_assert_eq(r.status, 200,
                 "a whole upload answered %d while 3 uploads that sent only their heads wait "
                 "(2 body buffers): %s",
                 r.status, r.head);
    expect_body(&r, "hello");
    response_free(&r);
    client_close(&c);
    for (int i = 0; i < 3; i++)
        cr_assert_eq(interim[i], 100, "upload %d, head only, got %d instead of 100 Continue", i + 1,
                     interim[i]);
    /* One after another they send their bodies and are answered. */
    for (int i = 0; i < 3; i++) {
        client_send_str(&stalled[i], "hello");
        expect_response_within(&stalled[i], &r, 3000, "a stalled upload's end");
        expect_status(&r, 200);
        expect_body(&r, "hello");
        response_free(&r);
        client_close(&stalled[i]);
    }
    server_stop(&s);
}

/* body_buffers at its limit and past it: two uploads whose bodies have
 * begun hold the two buffers and both complete; a third whole upload
 * meanwhile is answered 503 at once (no buffer), and once a buffer is back
 * an upload is served again. */
Test(holes, body_buffers_at_and_past_the_limit)
{
    server s;
    start_testserver(&s, (const char *const[]){"--body-buffers", "2", "--max-body", "1000",
                                               "--body-timeout-ms", "20000", NULL});
    client holding[2];
    for (int i = 0; i < 2; i++) {
        client_open(&holding[i], s.port);
        client_send_str(&holding[i], "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n"
                                     "\r\nhello");
    }
    /* The third may come before a holder's handler has taken its buffer:
     * asked again until the two are seen held (bounded). */
    response r;
    int status = 0;
    for (int attempt = 0; attempt < 50 && status != 503; attempt++) {
        client c;
        client_open(&c, s.port);
        client_send_str(&c, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nthird");
        expect_response_within(&c, &r, 3000, "an upload past the body buffers");
        status = r.status;
        if (status != 503) {
            cr_assert_eq(status, 200, "an upload answered %d:\n%s", status, r.head);
            sleep_ms(20);
        }
        response_free(&r);
        client_close(&c);
    }
    cr_assert_eq(status, 503,
                 "a third upload while two bodies hold both buffers was never "
                 "refused with 503");
    for (int i = 0; i < 2; i++) {
        client_send_str(&holding[i], "world");
        expect_response_within(&holding[i], &r, 3000, "an upload that holds a buffer");
        expect_status(&r, 200);
        expect_body(&r, "helloworld");
        response_free(&r);
        client_close(&holding[i]);
    }
    client c;
    client_open(&c, s.port);
    client_send_str(&c, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nagain");
    expect_response_within(&c, &r, 3000, "an upload once the buffers are back");
    expect_status(&r, 200);
    expect_body(&r, "again");
    response_free(&r);
    client_close(&c);
    server_stop(&s);
}

/* ======================================================================
 * Tasks: busy handlers and slow heads
 * ==================================================================== */

/* Opens n uploads to /count that send their head (with Expect:
 * 100-continue) and then nothing; returns once each handler is reading
 * (its 100 Continue arrived). */
static void open_stalled_uploads(client *cs, int n, uint16_t port)
{
    for (int i = 0; i < n; i++) {
        client_open(&cs[i], port);
        client_send_str(&cs[i], "POST /count HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n"
                                "Expect: 100-continue\r\n\r\n");
        response r;
        expect_response_within(&cs[i], &r, 3000, "a stalled upload's 100 Continue");
        expect_status(&r, 100);
        response_free(&r);
    }
}

/* Every task busy with a handler (active_limit 2, two uploads stalled):
 * a new request is answered at once, 200 or 503 with Retry-After, not
 * after the body timeout (20 s) frees a task. */
Test(holes, busy_server_answers_at_once)
{
    server s;
    start_testserver(
        &s, (const char *const[]){"--active-limit", "2", "--body-timeout-ms", "20000", NULL});
    client stalled[2];
    open_stalled_uploads(stalled, 2, s.port);
    response r;
    int status = get_within(s.port, 3000, &r, "GET / while every task is busy");
    cr_assert(status == 503 && resp_header(&r, "Retry-After"), "answered %d:\n%s", status, r.head);
    response_free(&r);
    for (int i = 0; i < 2; i++)
        client_close(&stalled[i]);
    server_stop(&s);
}

/* busy_tasks at its limit and past it: with one reserve task and the one
 * handler task held by a stalled upload, a burst of requests arriving
 * together is answered 503 one after another by that reserve task, none
 * left waiting for the upload; once the upload ends, requests are served. */
Test(holes, busy_burst_shares_the_reserve)
{
    enum { BURST = 12 };
    server s;
    start_testserver(&s, (const char *const[]){"--active-limit", "1", "--busy-tasks", "1",
                                               "--body-timeout-ms", "20000", NULL});
    client stalled[1];
    open_stalled_uploads(stalled, 1, s.port);
    client burst[BURST];
    for (int i = 0; i < BURST; i++) {
#ifdef ZZZ_TEST_TLS
        client_open_raw(&burst[i], s.port);
        cr_assert(client_handshake_within(&burst[i], 3000), "burst %d: TLS handshake: %s", i,
                  harness_tls_error);
#else
        client_open(&burst[i], s.port);
#endif
    }
    for (int i = 0; i < BURST; i++)
        client_send_str(&burst[i], "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    for (int i = 0; i < BURST; i++) {
        response r;
        expect_response_within(&burst[i], &r, 3000, "a request of the burst");
        cr_assert(r.status == 503 && resp_header(&r, "Retry-After"), "burst %d answered %d:\n%s",
                  i, r.status, r.head);
        response_free(&r);
        client_close(&burst[i]);
    }
    client_close(&stalled[0]);
    response r;
    int status = get_within(s.port, 3000, &r, "GET / once the upload is gone");
    cr_assert_eq(status, 200, "answered %d:\n%s", status, r.head);
    response_free(&r);
    server_stop(&s);
}

/* A lingering close holds no task: with one handler task and one reserve
 * task, four clients that are answered 413 and then neither send nor
 * close (each lingers for 20 s) leave the next request served at once,
 * 200; the lingering ones stay open (the server still reads them) until a
 * shutdown, which closes them at once rather than after their linger. */
Test(holes, lingering_closes_hold_no_task)
{
    enum { LINGERING = 4 };
    server s;
    start_testserver(&s,
                     (const char *const[]){"--active-limit", "1", "--busy-tasks", "1", "--max-body",
                                           "1000", "--linger-timeout-ms", "20000", NULL});
    client lingering[LINGERING];
    for (int i = 0; i < LINGERING; i++) {
        client_open(&lingering[i], s.port);
        client_send_str(&lingering[i], "POST /echo HTTP/1.1\r\nHost: x\r\n"
                                       "Content-Length: 100000\r\n\r\n");
        response r;
        expect_response_within(&lingering[i], &r, 3000, "a refused upload's 413");
        expect_status(&r, 413);
        response_free(&r);
    }
    response r;
    int status = get_within(s.port, 3000, &r, "GET / while four closes linger");
    cr_assert_eq(status, 200, "answered %d while four closes linger:\n%s", status, r.head);
    response_free(&r);
    for (int i = 0; i < LINGERING; i++)
        cr_assert_eq(client_send(&lingering[i], "more body", 9), 0,
                     "lingering connection %d no longer takes bytes", i);
    cr_assert_eq(kill(s.pid, SIGTERM), 0);
    status = server_wait(&s, 5000);
    cr_assert_neq(status, -1,
                  "the server did not exit within 5 s of SIGTERM with four "
                  "connections lingering for 20 s");
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the server exited with %d", status);
    for (int i = 0; i < LINGERING; i++)
        client_close(&lingering[i]);
}

/* Under the active limit, stalled uploads leave the other tasks free. */
Test(holes, stalled_uploads_under_active_limit)
{
    server s;
    start_testserver(
        &s, (const char *const[]){"--active-limit", "8", "--body-timeout-ms", "20000", NULL});
    client stalled[4];
    open_stalled_uploads(stalled, 4, s.port);
    response r;
    int status = get_within(s.port, 3000, &r, "GET / beside 4 stalled uploads");
    cr_assert_eq(status, 200, "answered %d:\n%s", status, r.head);
    expect_body(&r, "Hello, World!");
    response_free(&r);
    for (int i = 0; i < 4; i++)
        client_close(&stalled[i]);
    server_stop(&s);
}

/* By default every open connection may hold a task (active_limit is
 * conn_limit): 300 stalled uploads, more than the 256 tasks the default
 * once was, leave a new request served, not refused 503. */
Test(holes, stalled_uploads_under_the_default_limits, .timeout = 60)
{
    enum { STALLED = 300 };
    server s;
    start_testserver(&s, (const char *const[]){"--threads", "1", "--conn-limit", "320",
                                               "--body-timeout-ms", "20000", NULL});
    client *stalled = calloc(STALLED, sizeof *stalled);
    cr_assert_not_null(stalled);
    open_stalled_uploads(stalled, STALLED, s.port);
    response r;
    int status = get_within(s.port, 3000, &r, "GET / beside 300 stalled uploads");
    cr_assert_eq(status, 200, "answered %d:\n%s", status, r.head);
    expect_body(&r, "Hello, World!");
    response_free(&r);
    for (int i = 0; i < STALLED; i++)
        client_close(&stalled[i]);
    free(stalled);
    server_stop(&s);
}

/* Heads that stall half-way wait holding no task: with 4 tasks and 50 of
 * them, a new request is served at once; at the header timeout each
 * stalled one gets 408 and is closed. */
Test(holes, slow_heads_hold_no_task)
{
    enum { STALLED = 50 };
    server s;
    start_testserver(
        &s, (const char *const[]){"--active-limit", "4", "--header-timeout-ms", "3000", NULL});
    client *cs = calloc(STALLED, sizeof *cs);
    /* All connected first (over TLS, handshakes done, which no stalled
     * head may hold up), then all stall. */
    for (int i = 0; i < STALLED; i++)
        client_open(&cs[i], s.port);
    for (int i = 0; i < STALLED; i++)
        client_send_str(&cs[i], "GET / HTTP/1.1\r\nHost: a\r\n");
    uint64_t stalled_at = now_ms();
    response r;
    int status = get_within(s.port, 2000, &r, "GET / beside 50 stalled heads (4 tasks)");
    cr_assert_eq(status, 200, "answered %d:\n%s", status, r.head);
    response_free(&r);
    /* Header timeout 3 s from their first byte; a generous margin. */
    uint64_t give_up = stalled_at + 3000 + 5000;
    for (int i = 0; i < STALLED; i++) {
        uint64_t t = now_ms();
        unsigned left = t < give_up ? (unsigned)(give_up - t) : 0;
        int err = response_within(&cs[i], &r, left, false);
        cr_assert_eq(err, 0, "stalled head %d: no 408 within 8 s of stalling (got: %s)", i,
                     client_bytes(&cs[i]));
        cr_assert_eq(r.status, 408, "stalled head %d answered %d", i, r.status);
        response_free(&r);
        t = now_ms();
        left = t < give_up ? (unsigned)(give_up - t) : 0;
        cr_assert(read_until_closed(&cs[i], left), "stalled head %d: open after its 408", i);
        client_close(&cs[i]);
    }
    free(cs);
    server_stop(&s);
}

/* ======================================================================
 * Slow readers
 * ==================================================================== */

#define BIG_SIZE 1000000
#define BIG_SIZE_ARG "1000000"
/* The server's send buffer kept small, so the body cannot all sit in the
 * kernel at once; over TLS, records that fit the client's small receive
 * buffer, so that it reads at the same pace as over TCP. */
#ifdef ZZZ_TEST_TLS
#define SLOW_READER_ARGS                                                                           \
    "--big-size", BIG_SIZE_ARG, "--send-buffer", "16384", "--record-size", "4096"
#else
#define SLOW_READER_ARGS "--big-size", BIG_SIZE_ARG, "--send-buffer", "16384"
#endif

/* A server that sends nothing for this long has stopped sending (the
 * write timeout is 1 s in these tests). */
#define STOPPED_MS 3000

/* GET /big read in pieces, one every every_ms; stops at the whole
 * response, the end of the connection, give_up_ms, or STOPPED_MS without
 * a byte. Returns the body bytes received (the response parsed into *r
 * when whole; r->status 0 when not). */
static size_t read_big_slowly(client *c, unsigned every_ms, unsigned give_up_ms, response *r)
{
    memset(r, 0, sizeof *r);
    uint64_t give_up = now_ms() + give_up_ms, last_byte = now_ms();
    while (!c->eof && now_ms() < give_up && now_ms() - last_byte < STOPPED_MS) {
        long n = parse_response(c->buf ? c->buf : "", c->len, false, false, r);
        if (n > 0)
            return r->body_len;
        sleep_ms(every_ms); /* the reader's pace, not a wait for the server */
        if (client_recv_some(c, 200) > 0)
            last_byte = now_ms();
    }
    long n = parse_response(c->buf ? c->buf : "", c->len, false, c->eof, r);
    if (n > 0)
        return r->body_len;
    memset(r, 0, sizeof *r);
    const char *end_head = c->buf ? memmem(c->buf, c->len, "\r\n\r\n", 4) : NULL;
    return end_head ? c->len - (size_t)(end_head + 4 - c->buf) : 0;
}

/* A reader slow but steady (a small receive window, drained every 25 ms:
 * a few seconds for the megabyte) is never cut by the write timeout (1 s),
 * which counts from the last byte the peer took, not from the start. */
Test(holes, slow_reader_gets_everything)
{
    server s;
    start_testserver(&s,
                     (const char *const[]){"--write-timeout-ms", "1000", SLOW_READER_ARGS, NULL});
    client c;
    client_open_small_rcvbuf(&c, s.port, 4096);
    client_send_str(&c, "GET /big HTTP/1.1\r\nHost: x\r\n\r\n");
    uint64_t start = now_ms();
    response r;
    size_t got = read_big_slowly(&c, 25, 30000, &r);
    cr_log_info("slow reader: %zu bytes in %llu ms", got, (unsigned long long)(now_ms() - start));
    cr_assert(r.status != 0,
              "a steady reader was cut after %zu of %d body bytes, %llu ms in (%s; write "
              "timeout: 1000 ms without progress)",
              got, BIG_SIZE, (unsigned long long)(now_ms() - start),
              c.eof ? "the connection ended" : "nothing more came for 3 s");
    expect_status(&r, 200);
    cr_assert_eq(r.body_len, (size_t)BIG_SIZE);
    cr_assert(big_pattern_ok(r.body, r.body_len), "the body differs from the pattern");
    response_free(&r);
    client_close(&c);
    server_stop(&s);
}

/* A reader that takes the head and then nothing is cut: when it finally
 * reads, the connection ends before the body does. */
Test(holes, stalled_reader_cut)
{
    server s;
    start_testserver(&s,
                     (const char *const[]){"--write-timeout-ms", "1000", SLOW_READER_ARGS, NULL});
    client c;
    client_open_small_rcvbuf(&c, s.port, 4096);
    client_send_str(&c, "GET /big HTTP/1.1\r\nHost: x\r\n\r\n");
    uint64_t give_up = now_ms() + 3000;
    while (!(c.buf && memmem(c.buf, c.len, "\r\n\r\n", 4)) && !c.eof && now_ms() < give_up)
        client_recv_some(&c, 100);
    cr_assert(c.buf && memmem(c.buf, c.len, "\r\n\r\n", 4), "no response head: %s",
              client_bytes(&c));
    /* Stalled for the write timeout and a margin. */
    sleep_ms(1000 + 2000);
    response r;
    size_t got = read_big_slowly(&c, 0, 10000, &r);
    cr_assert(r.status == 0 && c.eof,
              "a reader stalled for 3 s (write timeout 1 s) still got %zu of %d body bytes%s", got,
              BIG_SIZE, c.eof ? "" : " and the connection is open");
    client_close(&c);
    server_stop(&s);
}

/* A reader that takes a little now and then, too little to fall under the
 * write timeout but far under write_min_rate (100,000 bytes/s), is cut. */
Test(holes, reader_under_min_rate_cut)
{
    server s;
    start_testserver(&s, (const char *const[]){"--write-timeout-ms", "1000", "--write-min-rate",
                                               "100000", SLOW_READER_ARGS, NULL});
    client c;
    client_open_small_rcvbuf(&c, s.port, 4096);
    client_send_str(&c, "GET /big HTTP/1.1\r\nHost: x\r\n\r\n");
    response r;
    /* About 8 KB per 250 ms: some 30,000 bytes/s. */
    size_t got = read_big_slowly(&c, 250, 8000, &r);
    cr_assert(r.status == 0 && c.eof,
              "a reader at about 30,000 bytes/s (minimum 100,000) was not cut: %zu body bytes, "
              "%s",
              got, r.status ? "the whole body" : "and the connection still open");
    client_close(&c);
    server_stop(&s);
}

/* ----------------------------------------------------------------------
 * A response that ends in the write buffer: its last bytes are sent
 * while the connection waits, holding no task. The same bounds apply.
 * -------------------------------------------------------------------- */

/* 100,000 bytes, under half of a 256 KiB write buffer: GET /big is
 * copied into the buffer and leaves as the connection goes back to
 * waiting; the server's send buffer is small, so most of it is still to
 * go then. */
#define BUFFERED_ARGS                                                                              \
    "--write-buffer-size", "262144", "--big-size", "100000", "--send-buffer", "16384",             \
        "--write-timeout-ms", "1000", "--idle-timeout-ms", "30000"

/* A server started with BUFFERED_ARGS, and a client with a small
 * receive buffer that has asked it for GET /big. */
static void ask_buffered(server *s, client *c)
{
    start_testserver(s, (const char *const[]){BUFFERED_ARGS, NULL});
    client_open_small_rcvbuf(c, s->port, 4096);
    client_send_str(c, "GET /big HTTP/1.1\r\nHost: x\r\n\r\n");
}

/* A reader slow but steady (about 40 KB/s: some 2.5 s for the body, over
 * twice the write timeout) gets all of it: the timeout counts from the
 * last byte taken, as for any write. */
Test(holes, slow_reader_gets_a_buffered_response)
{
    server s;
    client c;
    ask_buffered(&s, &c);
    uint64_t start = now_ms();
    response r;
    size_t got = read_big_slowly(&c, 100, 30000, &r);
    cr_assert(r.status != 0, "a steady reader was cut after %zu of 100000 body bytes, %llu ms in",
              got, (unsigned long long)(now_ms() - start));
    cr_assert_eq(r.body_len, (size_t)100000);
    cr_assert(big_pattern_ok(r.body, r.body_len), "the body differs from the pattern");
    response_free(&r);
    /* The connection is still good for the next request. */
    client_consume(&c, c.len);
    client_send_str(&c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    expect_response_within(&c, &r, 3000, "a request after the buffered response");
    expect_status(&r, 200);
    response_free(&r);
    client_close(&c);
    server_stop(&s);
}

/* A reader that takes nothing of it is cut at the write timeout (1 s),
 * not kept until the idle timeout (30 s). */
Test(holes, stalled_reader_of_a_buffered_response_cut)
{
    server s;
    client c;
    ask_buffered(&s, &c);
    uint64_t start = now_ms();
    sleep_ms(1000 + 2000);
    response r;
    size_t got = read_big_slowly(&c, 0, 10000, &r);
    cr_assert(r.status == 0 && c.eof,
              "a reader stalled for 3 s (write timeout 1 s) still got %zu of 100000 body bytes%s",
              got, c.eof ? "" : " and the connection is open");
    cr_assert(now_ms() - start < 15000, "the cut took %llu ms",
              (unsigned long long)(now_ms() - start));
    client_close(&c);
    server_stop(&s);
}

/* The next request arrives while the last bytes of the answer before it
 * are still going: it is answered after them, in order, and both are
 * whole. */
Test(holes, a_request_behind_a_buffered_response_waits_its_turn)
{
    server s;
    client c;
    ask_buffered(&s, &c);
    sleep_ms(300);
    client_send_str(&c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    sleep_ms(300);
    response r;
    size_t got = read_big_slowly(&c, 10, 30000, &r);
    cr_assert(r.status == 200 && r.body_len == 100000, "the first answer: %zu body bytes", got);
    cr_assert(big_pattern_ok(r.body, r.body_len), "the body differs from the pattern");
    size_t first = r.raw_len;
    response_free(&r);
    client_consume(&c, first);
    expect_response_within(&c, &r, 3000, "the request behind it");
    expect_status(&r, 200);
    response_free(&r);
    client_close(&c);
    server_stop(&s);
}

/* A server told to stop while such an answer waits for a stalled reader
 * stops within its drain timeout (2 s here), and closes the connection. */
Test(holes, stop_with_a_buffered_response_stalled)
{
    server s;
    client c;
    ask_buffered(&s, &c);
    sleep_ms(200);
    uint64_t start = now_ms();
    kill(s.pid, SIGTERM);
    int status = server_wait(&s, 10000);
    cr_assert(status >= 0, "the server did not stop within 10 s");
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the server's exit: status %d",
              status);
    cr_assert(now_ms() - start < 8000, "the stop took %llu ms",
              (unsigned long long)(now_ms() - start));
    cr_assert(client_wait_closed(&c, 3000, NULL), "the connection stayed open");
    client_close(&c);
}

/* ======================================================================
 * Answers cut short never look complete
 * ==================================================================== */

/* After the connection ended: no complete response in what arrived, and
 * no last chunk anywhere in it. */
static void expect_cut(client *c, const char *what)
{
    cr_assert(!(c->buf && memmem(c->buf, c->len, "\r\n0\r\n\r\n", 7)),
              "%s: a last chunk was sent, so the cut answer looks complete: %s", what,
              client_bytes(c));
    response r;
    long n = parse_response(c->buf ? c->buf : "", c->len, false, true, &r);
    if (n > 0) {
        bool chunked = r.chunked;
        response_free(&r);
        cr_assert(!chunked, "%s: a complete chunked response arrived: %s", what, client_bytes(c));
    }
    cr_assert(c->eof, "%s: the connection stayed open: %s", what, client_bytes(c));
}

/* A streamed echo whose request body turns bad after the answer began:
 * the connection closes without the last chunk. */
Test(holes, stream_echo_bad_framing_cut)
{
    server s;
    start_testserver(&s, NULL);
    client c;
    client_open(&c, s.port);
    enum { FIRST = 20000 }; /* more than the write buffer: part of the echo leaves */
    char *first = malloc(FIRST);
    for (size_t i = 0; i < FIRST; i++)
        first[i] = (char)('a' + i % 26);
    client_send_str(&c, "POST /stream-echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                        "\r\n4e20\r\n");
    cr_assert_eq(client_send(&c, first, FIRST), 0);
    client_send_str(&c, "\r\n");
    free(first);
    /* The head and some of the echo arrive. */
    uint64_t give_up = now_ms() + 3000;
    for (;;) {
        const char *end_head = c.buf ? memmem(c.buf, c.len, "\r\n\r\n", 4) : NULL;
        if (end_head && c.len - (size_t)(end_head + 4 - c.buf) >= 1000)
            break;
        cr_assert(!c.eof && now_ms() < give_up, "the echo did not begin: %s", client_bytes(&c));
        client_recv_some(&c, 100);
    }
    cr_assert(strncmp(c.buf, "HTTP/1.1 200 ", 13) == 0, "%s", client_bytes(&c));
    client_send_str(&c, "zz\r\n");
    cr_assert(read_until_closed(&c, 3000), "still open after bad framing mid-echo");
    expect_cut(&c, "stream-echo with bad framing");
    client_close(&c);
    server_stop(&s);
}

/* A handler that returns without ending its streamed answer. */
Test(holes, unended_response_cut)
{
    server s;
    start_testserver(&s, NULL);
    client c;
    client_open(&c, s.port);
    client_send_str(&c, "GET /unended HTTP/1.1\r\nHost: x\r\n\r\n");
    read_until_closed(&c, 3000);
    expect_cut(&c, "GET /unended");
    cr_assert(memmem(c.buf, c.len, "part 1\n", 7), "the part sent is missing: %s",
              client_bytes(&c));
    client_close(&c);
    server_stop(&s);
}

/* zzz_res_abort mid-stream: no last chunk, the connection closed. */
Test(holes, aborted_response_cut)
{
    server s;
    start_testserver(&s, NULL);
    client c;
    client_open(&c, s.port);
    client_send_str(&c, "GET /abort HTTP/1.1\r\nHost: x\r\n\r\n");
    read_until_closed(&c, 3000);
    expect_cut(&c, "GET /abort");
    client_close(&c);
    server_stop(&s);
}

/* zzz_res_abort of a body delimited by the close (HTTP/1.0): the end is a
 * reset, so the client cannot take the cut body for the whole one. Over
 * TLS: no close_notify (which would be a clean end). */
Test(holes, aborted_close_delimited_resets)
{
    server s;
    start_testserver(&s, NULL);
    client c;
    client_open(&c, s.port);
    client_send_str(&c, "GET /abort HTTP/1.0\r\n\r\n");
    cr_assert(read_until_closed(&c, 3000), "still open after an abort: %s", client_bytes(&c));
    cr_assert(c.buf && strncmp(c.buf, "HTTP/1.1 200 ", 13) == 0, "got: %s", client_bytes(&c));
    cr_assert(!memmem(c.buf, c.len, "Content-Length", 14), "not close-delimited: %s",
              client_bytes(&c));
#ifdef ZZZ_TEST_TLS
    cr_assert(!(SSL_get_shutdown(c.ssl) & SSL_RECEIVED_SHUTDOWN),
              "an aborted close-delimited body ended with close_notify, a clean end: %s",
              client_bytes(&c));
#else
    cr_assert_eq(c.error, ECONNRESET,
                 "an aborted close-delimited body ended with %s, not a reset: %s",
                 c.error ? strerror(c.error) : "a clean end of stream", client_bytes(&c));
#endif
    client_close(&c);
    server_stop(&s);
}

/* ======================================================================
 * 100 Continue, 1xx statuses, closes, keep-alive
 * ==================================================================== */

/* The clean end of an answer the server closes after: every byte of it,
 * then the end of the stream as a clean one (TLS: close_notify, sent with
 * the last records, even when they are too big to go in one send; plain:
 * a FIN, no reset). A short answer, an error answer, a 100,000-byte one,
 * and a body delimited by the close (HTTP/1.0). */
Test(holes, closing_answers_end_cleanly)
{
    server s;
    start_testserver(&s, NULL);
    static const struct {
        const char *request, *status, *tail;
    } cases[] = {
        {"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", "HTTP/1.1 200 ",
         "Hello, World!"},
        {"GET /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", "HTTP/1.1 404 ", NULL},
        {"GET /big HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", "HTTP/1.1 200 ",
         "cdefghijklmnopqrstuvwxyzabcd"},
        {"GET /stream HTTP/1.0\r\n\r\n", "HTTP/1.1 200 ", "part 5\n"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        for (int round = 0; round < 2; round++) { /* a TLS state is reused the second time */
            client c;
            client_open(&c, s.port);
#ifdef ZZZ_TEST_TLS
            /* The harness takes a bare EOF for close_notify; here it must not. */
            SSL_clear_options(c.ssl, SSL_OP_IGNORE_UNEXPECTED_EOF);
#endif
            client_send_str(&c, cases[i].request);
            cr_assert(read_until_closed(&c, 3000), "case %zu: still open: %s", i, client_bytes(&c));
            cr_assert(c.buf && strncmp(c.buf, cases[i].status, strlen(cases[i].status)) == 0,
                      "case %zu: got %s", i, client_bytes(&c));
            if (cases[i].tail) {
                size_t tl = strlen(cases[i].tail);
                cr_assert(c.len >= tl && memcmp(c.buf + c.len - tl, cases[i].tail, tl) == 0,
                          "case %zu: the answer is cut (%zu bytes): %s", i, c.len,
                          client_bytes(&c));
            }
#ifdef ZZZ_TEST_TLS
            cr_assert(SSL_get_shutdown(c.ssl) & SSL_RECEIVED_SHUTDOWN,
                      "case %zu, round %d: the answer ended without close_notify (%s)", i, round,
                      c.error ? strerror(c.error) : "end of stream");
#else
            cr_assert_eq(c.error, 0, "case %zu: ended with %s, not a clean end", i,
                         strerror(c.error));
#endif
            client_close(&c);
        }
    }
    server_stop(&s);
}

/* A handler that answers before reading: no 100 Continue may follow the
 * final answer's head (it would land in the middle of its body). */
Test(holes, continue_not_after_final_answer)
{
    server s;
    start_testserver(&s, NULL);
    client c;
    client_open(&c, s.port);
    client_send_str(&c, "POST /write-then-read HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
                        "Expect: 100-continue\r\n\r\n");
    /* The final answer's head (and first chunk) come without the body. */
    uint64_t give_up = now_ms() + 3000;
    while (!(c.buf && memmem(c.buf, c.len, "\r\n\r\n", 4)) && !c.eof && now_ms() < give_up)
        client_recv_some(&c, 100);
    cr_assert(c.buf && strncmp(c.buf, "HTTP/1.1 200 ", 13) == 0, "no 200 head first: %s",
              client_bytes(&c));
    client_send_str(&c, "hello");
    /* Read until the whole answer is here (or 3 s, or the end), keeping
     * every byte for the check. */
    response r;
    give_up = now_ms() + 3000;
    while (!c.eof && now_ms() < give_up) {
        long n = parse_response(c.buf, c.len, false, false, &r);
        if (n > 0)
            response_free(&r);
        if (n != 0)
            break;
        client_recv_some(&c, 100);
    }
    cr_assert(!memmem(c.buf, c.len, "100 Continue", 12),
              "a 100 Continue was sent after the final answer began: %s", client_bytes(&c));
    cr_assert_eq(response_within(&c, &r, 1000, false), 0, "not a whole response: %s",
                 client_bytes(&c));
    expect_status(&r, 200);
    expect_body(&r, "started\ngot 5\n");
    response_free(&r);
    client_close(&c);
    server_stop(&s);
}

/* An answer with Connection: close while more pipelined requests are still
 * arriving: the close lingers, so the client reads the whole answer
 * instead of a reset destroying it. The client's receive window is small,
 * so the answer cannot all be in flight when the server closes. */
Test(holes, close_lingers_over_pipelined_bytes)
{
    server s;
    start_testserver(&s, NULL);
    static const char first[] = "GET /big HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n";
    static const char more[] = "GET /users/1 HTTP/1.1\r\nHost: a\r\n\r\n";
    size_t total = 270 * 1024;
    char *wire = malloc(total + sizeof first + sizeof more);
    size_t len = sizeof first - 1;
    memcpy(wire, first, len);
    while (len < total) {
        memcpy(wire + len, more, sizeof more - 1);
        len += sizeof more - 1;
    }
    client c;
    client_open_small_rcvbuf(&c, s.port, 4096);
    /* The request and the start of what follows it in one send: unread
     * bytes are there when the server closes. */
    size_t sent = 64 * 1024;
    cr_assert_eq(client_send(&c, wire, sent), 0);
    fcntl(c.fd, F_SETFL, fcntl(c.fd, F_GETFL) | O_NONBLOCK);
    bool sending = true;
    response r;
    memset(&r, 0, sizeof r);
    long parsed = 0;
    uint64_t give_up = now_ms() + HANG_GUARD_MS;
    while (!c.eof && now_ms() < give_up) {
        if (sending && sent < len) {
            ssize_t n = client_send_some(&c, wire + sent, len - sent);
            if (n < 0)
                sending = false; /* the server has closed: read what it sent */
            else
                sent += (size_t)n;
        }
        /* A reader that takes its time: the answer is still arriving
         * when the server is done with it. */
        sleep_ms(10);
        client_recv_some(&c, 0);
        parsed = parse_response(c.buf ? c.buf : "", c.len, false, c.eof, &r);
        if (parsed != 0)
            break;
    }
    free(wire);
    cr_assert(parsed > 0,
              "the answer was cut: %zu bytes arrived (%s) with %zu of %zu pipelined bytes sent",
              c.len,
              c.error ? strerror(c.error)
              : c.eof ? "end of stream"
                      : "still open",
              sent, len);
    expect_status(&r, 200);
    cr_assert_eq(r.body_len, 100000);
    cr_assert(big_pattern_ok(r.body, r.body_len), "the body differs from the pattern");
    response_free(&r);
    client_close(&c);
    server_stop(&s);
}

/* 1xx are interim statuses, never a final one: refused with -EINVAL. */
Test(holes, status_1xx_refused)
{
    server s;
    start_testserver(&s, NULL);
    response r;
    exchange(s.port, "GET /status1xx HTTP/1.1\r\nHost: x\r\n\r\n", &r);
    expect_status(&r, 200);
    expect_body(&r, "rc -22 -22\n");
    response_free(&r);
    server_stop(&s);
}

/* A 404 to a request whose body was sent whole keeps the connection, and
 * the request pipelined behind it is served. */
Test(holes, not_found_keeps_connection)
{
    server s;
    start_testserver(&s, NULL);
    client c;
    client_open(&c, s.port);
    client_send_str(&c, "POST /nothing-here HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"
                        "POST /nothing-here HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                        "\r\n5\r\nhello\r\n0\r\n\r\n"
                        "GET /users/1 HTTP/1.1\r\nHost: x\r\n\r\n");
    response r;
    for (int i = 0; i < 2; i++) {
        expect_response_within(&c, &r, 3000, "404");
        expect_status(&r, 404);
        cr_assert(!header_is(&r, "Connection", "close"), "a 404 closed the connection:\n%s",
                  r.head);
        response_free(&r);
    }
    expect_response_within(&c, &r, 3000, "the request after two 404s");
    expect_status(&r, 200);
    expect_body(&r, "user 1\n");
    response_free(&r);
    client_close(&c);
    server_stop(&s);
}

/* ======================================================================
 * TLS: half-sent handshakes
 * ==================================================================== */

#ifdef ZZZ_TEST_TLS
/* Connections that send the first bytes of a ClientHello (a record header
 * promising 512 bytes) and stall wait holding no task: with 8 tasks and
 * 64 of them, a full handshake and request are served at once; at the
 * handshake timeout the stalled ones are closed. */
Test(holes, half_hellos_hold_no_task)
{
    enum { STALLED = 64 };
    server s;
    start_testserver(
        &s, (const char *const[]){"--active-limit", "8", "--handshake-timeout-ms", "5000", NULL});
    static const unsigned char record_start[] = {0x16, 0x03, 0x01, 0x02, 0x00};
    client *cs = calloc(STALLED, sizeof *cs);
    for (int i = 0; i < STALLED; i++) {
        client_open_raw(&cs[i], s.port);
        cr_assert_eq(client_send(&cs[i], record_start, sizeof record_start), 0);
    }
    uint64_t stalled_at = now_ms();
    response r;
    int status = get_within(s.port, 3000, &r, "GET / beside 64 half-sent ClientHellos (8 tasks)");
    cr_assert_eq(status, 200, "answered %d:\n%s", status, r.head);
    response_free(&r);
    uint64_t give_up = stalled_at + 5000 + 5000;
    for (int i = 0; i < STALLED; i++) {
        uint64_t t = now_ms();
        unsigned left = t < give_up ? (unsigned)(give_up - t) : 0;
        cr_assert(client_wait_closed(&cs[i], left, NULL),
                  "half-sent ClientHello %d: open 10 s after it stalled (handshake timeout 5 s)",
                  i);
        client_close(&cs[i]);
    }
    free(cs);
    server_stop(&s);
}
#endif
