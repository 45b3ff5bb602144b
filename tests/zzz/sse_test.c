/* Integration tests of server-sent events (zzz_sse.h): the sse server
 * (sseserver.c) and the sse example as child processes, read by a raw
 * client that takes the stream apart chunk by chunk, and by curl. The
 * head, each event's bytes, the line ends of data, the refusals, HEAD,
 * Last-Event-ID, heartbeats, a client that leaves, the compression layer
 * standing aside, and a shutdown that ends the streams. Once per I/O
 * driver, and again over TLS (ZZZ_TEST_TLS). */
#include "harness.h"

TestSuite(sse, .fini = harness_cleanup, .timeout = 120);

static void start_sse_server(server *s)
{
    const char *args[8] = {"--threads", "1"};
#ifdef ZZZ_TEST_TLS
    args[2] = "--tls-cert";
    args[3] = harness_tls_file("ec-chain.pem");
    args[4] = "--tls-key";
    args[5] = harness_tls_file("ec-key.pem");
#endif
    server_start(s, binary_path("ZZZ_SSESERVER"), args);
}

static void start_sse_example(server *s)
{
    const char *args[8] = {"--threads", "1"};
#ifdef ZZZ_TEST_TLS
    args[2] = "--tls-cert";
    args[3] = harness_tls_file("ec-chain.pem");
    args[4] = "--tls-key";
    args[5] = harness_tls_file("ec-key.pem");
#endif
    server_start(s, example_path("ZZZ_SSE"), args);
}

/* ---- a stream, read as it comes ------------------------------------------ */

#define MAX_CHUNKS 64

typedef struct stream {
    client c;
    response head;
    bool chunked;
    bool ended; /* the final chunk (chunked), or the close (HTTP/1.0) */
    char *body; /* the body so far, de-chunked, NUL-terminated */
    size_t body_len;
    size_t chunks;                /* chunks seen (not the final one) */
    size_t chunk_end[MAX_CHUNKS]; /* where each ends in body */
} stream;

/* Opens a connection, sends request and reads the head. */
static void stream_open(stream *st, uint16_t port, const char *request)
{
    memset(st, 0, sizeof *st);
    client_open(&st->c, port);
    client_send_str(&st->c, request);
    /* Read as the answer to a HEAD: the head alone is taken. */
    int err = client_read_response_ex(&st->c, &st->head, true);
    cr_assert_eq(err, 0, "no head (got %zu bytes: %.*s)", st->c.len,
                 (int)(st->c.len < 300 ? st->c.len : 300), st->c.buf ? st->c.buf : "");
    st->chunked = st->head.chunked;
    st->body = calloc(1, 1);
}

static void stream_close(stream *st)
{
    client_close(&st->c);
    response_free(&st->head);
    free(st->body);
    st->body = NULL;
}

static void body_add(stream *st, const char *p, size_t n)
{
    st->body = realloc(st->body, st->body_len + n + 1);
    cr_assert(st->body);
    memcpy(st->body + st->body_len, p, n);
    st->body_len += n;
    st->body[st->body_len] = '\0';
}

/* Takes apart what has arrived: whole chunks (each kept as a piece of the
 * body), or with HTTP/1.0 every byte. */
static void stream_take(stream *st)
{
    client *c = &st->c;
    if (!st->chunked) {
        body_add(st, c->buf ? c->buf : "", c->len);
        client_consume(c, c->len);
        if (c->eof)
            st->ended = true;
        return;
    }
    while (!st->ended) {
        const char *eol = c->len ? memmem(c->buf, c->len, "\r\n", 2) : NULL;
        if (!eol)
            return;
        char *after;
        unsigned long long size = strtoull(c->buf, &after, 16);
        cr_assert(after != c->buf && after == eol, "bad chunk size line: %.*s", (int)(eol - c->buf),
                  c->buf);
        size_t line = (size_t)(eol - c->buf) + 2;
        if (size == 0) {
            if (c->len < line + 2)
                return;
            cr_assert(memcmp(c->buf + line, "\r\n", 2) == 0, "no empty line after the last chunk");
            client_consume(c, line + 2);
            st->ended = true;
            return;
        }
        if (c->len < line + size + 2)
            return;
        cr_assert(memcmp(c->buf + line + size, "\r\n", 2) == 0, "a chunk not ended by CRLF");
        body_add(st, c->buf + line, (size_t)size);
        cr_assert_lt(st->chunks, MAX_CHUNKS);
        st->chunk_end[st->chunks++] = st->body_len;
        client_consume(c, line + (size_t)size + 2);
    }
}

/* Reads until the body holds needle (NULL: until the stream ends);
 * bounded by the hang guard. */
static void stream_until(stream *st, const char *needle)
{
    uint64_t give_up = now_ms() + HANG_GUARD_MS;
    for (;;) {
        stream_take(st);
        if (needle ? strstr(st->body, needle) != NULL : st->ended)
            return;
        cr_assert(!st->ended && !st->c.eof, "the stream ended without \"%s\": %s",
                  needle ? needle : "its end", st->body);
        uint64_t t = now_ms();
        cr_assert_lt(t, give_up, "waited in vain for \"%s\"; got: %s", needle ? needle : "the end",
                     st->body);
        client_recv_some(&st->c, (int)(give_up - t));
    }
}

/* Chunk i of the body (a NUL inside is kept: compare with memcmp). */
static const char *chunk_at(const stream *st, size_t i, size_t *len)
{
    size_t start = i ? st->chunk_end[i - 1] : 0;
    *len = st->chunk_end[i] - start;
    return st->body + start;
}

static void expect_event_stream_head(const response *r)
{
    expect_status(r, 200);
    cr_assert(header_is(r, "Content-Type", "text/event-stream"), "%s", r->head);
    cr_assert(header_is(r, "Cache-Control", "no-cache"), "%s", r->head);
    cr_assert_null(resp_header(r, "Content-Length"), "%s", r->head);
    cr_assert_null(resp_header(r, "Content-Encoding"), "%s", r->head);
}

/* The body of /events?n=N from id first on. */
static void expect_events(const stream *st, unsigned n, unsigned first)
{
    char want[4096] = "";
    for (unsigned i = 1; i <= n; i++) {
        size_t len = strlen(want);
        snprintf(want + len, sizeof want - len, "id: %u\ndata: event %u\n\n", first + i - 1, i);
    }
    cr_assert_str_eq(st->body, want);
}

/* /stats says `want` (a prefix of its line) within the hang guard. */
static void expect_stats(uint16_t port, const char *want)
{
    uint64_t give_up = now_ms() + HANG_GUARD_MS;
    for (;;) {
        response r;
        exchange(port, "GET /stats HTTP/1.1\r\nHost: t\r\n\r\n", &r);
        expect_status(&r, 200);
        bool ok = strncmp(r.body, want, strlen(want)) == 0;
        if (ok || now_ms() >= give_up) {
            cr_assert(ok, "stats: %s, wanted %s", r.body, want);
            response_free(&r);
            return;
        }
        response_free(&r);
        sleep_ms(10);
    }
}

/* ---- the head and the events --------------------------------------------- */

Test(sse, head_chunked_and_whole_events)
{
    server s;
    start_sse_server(&s);
    stream st;
    /* Under a compression layer, with a client that takes gzip and br. */
    stream_open(&st, s.port,
                "GET /events?n=3&gap=5 HTTP/1.1\r\nHost: t\r\nAccept-Encoding: gzip, br\r\n\r\n");
    expect_event_stream_head(&st.head);
    cr_assert(st.chunked, "%s", st.head.head);
    cr_assert(header_is(&st.head, "Connection", "close"), "%s", st.head.head);
    cr_assert_null(resp_header(&st.head, "Vary"), "%s", st.head.head);
    stream_until(&st, NULL);
    expect_events(&st, 3, 1);
    /* One chunk per event, each whole. */
    cr_assert_eq(st.chunks, 3, "%zu chunks for 3 events", st.chunks);
    size_t len;
    const char *first = chunk_at(&st, 0, &len);
    cr_assert(len == strlen("id: 1\ndata: event 1\n\n") && memcmp(first, "id: 1\n", 6) == 0);
    /* Then the connection closes. */
    size_t extra = 0;
    cr_assert(client_wait_closed(&st.c, HANG_GUARD_MS, &extra), "still open after the stream");
    cr_assert_eq(extra, 0);
    stream_close(&st);
    expect_stats(s.port, "started 1 finished 1 left 0");
    server_stop(&s);
}

Test(sse, http10_is_ended_by_the_close)
{
    server s;
    start_sse_server(&s);
    stream st;
    stream_open(&st, s.port, "GET /events?n=2 HTTP/1.0\r\nAccept-Encoding: gzip\r\n\r\n");
    expect_event_stream_head(&st.head);
    cr_assert_eq(st.head.minor, 1);
    cr_assert_null(resp_header(&st.head, "Transfer-Encoding"), "%s", st.head.head);
    cr_assert(header_is(&st.head, "Connection", "close"), "%s", st.head.head);
    stream_until(&st, NULL);
    expect_events(&st, 2, 1);
    /* A clean close (FIN), not a reset: the stream is whole. */
    cr_assert_eq(st.c.error, 0, "the stream ended with %s", strerror(st.c.error));
    stream_close(&st);
    server_stop(&s);
}

Test(sse, fields_and_every_line_end)
{
    server s;
    start_sse_server(&s);
    stream st;
    stream_open(&st, s.port, "GET /fields HTTP/1.1\r\nHost: t\r\n\r\n");
    expect_event_stream_head(&st.head);
    stream_until(&st, NULL);
    /* Each event or comment is one chunk, exactly. */
    static const struct {
        const char *text;
        size_t len;
    } want[] = {
#define W(s) {s, sizeof s - 1}
        W("event: tick\nid: 7\nretry: 2500\ndata: one\ndata: two\ndata: three\ndata: four\n\n"),
        W("data: trailing\ndata: \n\n"),
        W("data: crlf at the end\ndata: \n\n"),
        W("data: \ndata: \ndata: \ndata: \n\n"),
        W("data: \n\n"),
        W("data:  leading space\n\n"),
        W("data: nul\0inside\n\n"),
        W("data: just\n\n"),
        W("id: \n\n"),
        W("retry: 1\n\n"),
        W("event: only-type\n\n"),
        W(": a comment\n"),
        W(":\n"),
        W("data: end\n\n"),
#undef W
    };
    size_t count = sizeof want / sizeof want[0];
    cr_assert_eq(st.chunks, count, "%zu chunks, wanted %zu: %s", st.chunks, count, st.body);
    for (size_t i = 0; i < count; i++) {
        size_t len;
        const char *got = chunk_at(&st, i, &len);
        cr_assert(len == want[i].len && memcmp(got, want[i].text, len) == 0,
                  "chunk %zu: \"%.*s\", wanted \"%s\"", i, (int)len, got, want[i].text);
    }
    stream_close(&st);
    server_stop(&s);
}

Test(sse, a_large_event_is_one_chunk)
{
    server s;
    start_sse_server(&s);
    size_t size = 200000;
    stream st;
    char request[128];
    snprintf(request, sizeof request, "GET /big?size=%zu HTTP/1.1\r\nHost: t\r\n\r\n", size);
    stream_open(&st, s.port, request);
    expect_event_stream_head(&st.head);
    stream_until(&st, NULL);
    cr_assert_eq(st.chunks, 1, "%zu chunks", st.chunks);
    /* "event: big\n", then a data line for each line of 99 letters (the
     * last line end leaves an empty line), then the empty line. */
    char *want = malloc(size * 2);
    size_t len = (size_t)sprintf(want, "event: big\n");
    for (size_t at = 0; at <= size; at += 100) {
        len += (size_t)sprintf(want + len, "data: ");
        for (size_t i = at; i < at + 99 && i < size; i++)
            want[len++] = (char)('a' + i / 100 % 26);
        want[len++] = '\n';
    }
    want[len++] = '\n';
    cr_assert_eq(st.body_len, len, "%zu bytes, wanted %zu", st.body_len, len);
    cr_assert(memcmp(st.body, want, len) == 0, "the event's text differs");
    free(want);
    stream_close(&st);
    server_stop(&s);
}

Test(sse, refusals)
{
    server s;
    start_sse_server(&s);
    /* The handler checks the calls and says what it found, then ends the
     * stream itself (zzz_res_end): "ok", or the calls that went wrong. */
    stream st;
    stream_open(&st, s.port, "GET /unit HTTP/1.1\r\nHost: t\r\n\r\n");
    expect_event_stream_head(&st.head);
    stream_until(&st, NULL);
    cr_assert_str_eq(st.body, "event: unit\ndata: ok\n\n");
    stream_close(&st);
    /* A request body left unread: no stream (and no send on it). */
    response r;
    exchange(s.port, "POST /busy HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello", &r);
    expect_status(&r, 200);
    char want[64];
    snprintf(want, sizeof want, "start %d, send %d\n", -EBUSY, -EPIPE);
    expect_body(&r, want);
    response_free(&r);
    server_stop(&s);
}

Test(sse, head_gets_the_head_only)
{
    server s;
    start_sse_server(&s);
    client c;
    client_open(&c, s.port);
    client_send_str(&c, "HEAD /events?n=3&then=60000 HTTP/1.1\r\nHost: t\r\n\r\n");
    response r;
    client_response_head(&c, &r);
    expect_event_stream_head(&r);
    response_free(&r);
    /* Nothing follows it, and the connection serves the next request
     * (whose answer would be garbled by any stray body byte). */
    client_send_str(&c, "GET /stats HTTP/1.1\r\nHost: t\r\n\r\n");
    client_response(&c, &r);
    expect_status(&r, 200);
    cr_assert(strncmp(r.body, "started 1 finished 1", 20) == 0, "%s", r.body);
    response_free(&r);
    client_close(&c);
    server_stop(&s);
}

Test(sse, last_event_id)
{
    server s;
    start_sse_server(&s);
    stream st;
    stream_open(&st, s.port, "GET /events?n=2 HTTP/1.1\r\nHost: t\r\nLast-Event-ID: 41\r\n\r\n");
    cr_assert(header_is(&st.head, "X-Last-Event-ID", "41"), "%s", st.head.head);
    stream_until(&st, NULL);
    expect_events(&st, 2, 42);
    stream_close(&st);
    /* An empty one is none. */
    stream_open(&st, s.port, "GET /events?n=1 HTTP/1.1\r\nHost: t\r\nLast-Event-ID:\r\n\r\n");
    cr_assert_null(resp_header(&st.head, "X-Last-Event-ID"), "%s", st.head.head);
    stream_until(&st, NULL);
    expect_events(&st, 1, 1);
    stream_close(&st);
    server_stop(&s);
}

/* ---- waiting: heartbeats, leaving, shutdown ------------------------------ */

Test(sse, heartbeats_while_quiet)
{
    server s;
    start_sse_server(&s);
    stream st;
    stream_open(&st, s.port, "GET /forever?hb=20 HTTP/1.1\r\nHost: t\r\n\r\n");
    expect_event_stream_head(&st.head);
    stream_until(&st, ":\n:\n:\n");
    for (size_t i = 0; i < st.chunks; i++) {
        size_t len;
        const char *got = chunk_at(&st, i, &len);
        cr_assert(len == 2 && memcmp(got, ":\n", 2) == 0, "chunk %zu: %.*s", i, (int)len, got);
    }
    stream_close(&st);
    expect_stats(s.port, "started 1 finished 1 left 1");
    server_stop(&s);
}

/* A client that leaves is noticed while the handler waits: long before
 * the next heartbeat (15 s, past the hang guard), by the wait itself. */
Test(sse, a_client_that_leaves_is_noticed)
{
    server s;
    start_sse_server(&s);
    /* One closes. */
    stream st;
    stream_open(&st, s.port, "GET /forever HTTP/1.1\r\nHost: t\r\n\r\n");
    expect_stats(s.port, "started 1 finished 0");
    stream_close(&st);
    expect_stats(s.port, "started 1 finished 1 left 1");
    /* One resets. */
    stream_open(&st, s.port, "GET /forever HTTP/1.1\r\nHost: t\r\n\r\n");
    expect_stats(s.port, "started 2 finished 1");
    struct linger now = {.l_onoff = 1, .l_linger = 0};
    setsockopt(st.c.fd, SOL_SOCKET, SO_LINGER, &now, sizeof now);
#ifdef ZZZ_TEST_TLS
    /* No close_notify: the reset alone. */
    st.c.tls_failed = true;
#endif
    stream_close(&st);
    expect_stats(s.port, "started 2 finished 2 left 2");
    /* One speaks (an event-stream client never does). */
    stream_open(&st, s.port, "GET /forever HTTP/1.1\r\nHost: t\r\n\r\n");
    expect_stats(s.port, "started 3 finished 2");
    client_send_str(&st.c, "x");
    expect_stats(s.port, "started 3 finished 3 left 3");
    /* and the server closes that one. */
    cr_assert(client_wait_closed(&st.c, HANG_GUARD_MS, NULL));
    stream_close(&st);
    server_stop(&s);
}

Test(sse, shutdown_ends_the_streams)
{
    server s;
    start_sse_server(&s);
    stream a, b;
    stream_open(&a, s.port, "GET /forever HTTP/1.1\r\nHost: t\r\n\r\n");
    stream_open(&b, s.port, "GET /forever HTTP/1.0\r\n\r\n");
    expect_stats(s.port, "started 2 finished 0");
    /* The server drains for up to 60 s (sseserver.c): only streams that
     * end at once let it exit within the stop's guard. */
    server_stop(&s);
    /* Each got a last event, sent after the cancelled wait, then a
     * clean end. */
    stream_until(&a, NULL);
    cr_assert_str_eq(a.body, "event: end\ndata: ECANCELED\n\n");
    stream_until(&b, NULL);
    cr_assert_str_eq(b.body, "event: end\ndata: ECANCELED\n\n");
    cr_assert_eq(b.c.error, 0, "the 1.0 stream ended with %s", strerror(b.c.error));
    stream_close(&a);
    stream_close(&b);
}

/* ---- pushed streams --------------------------------------------------------- */

/* /publish?data=D, over the keep-alive connection pub, until it reports
 * `pushed` streams handed over (ever). */
static void publish_when(client *pub, unsigned pushed, const char *data)
{
    char want[64], req[8192];
    snprintf(want, sizeof want, "pushed %u\n", pushed);
    snprintf(req, sizeof req, "GET /publish?data=%s HTTP/1.1\r\nHost: t\r\n\r\n", data);
    uint64_t give_up = now_ms() + HANG_GUARD_MS;
    for (;;) {
        client_send_str(pub, req);
        response r;
        client_response(pub, &r);
        expect_status(&r, 200);
        bool ok = strstr(r.body, want) != NULL;
        response_free(&r);
        if (ok)
            return;
        cr_assert_lt(now_ms(), give_up, "never %u pushed streams", pushed);
        sleep_ms(10);
    }
}

/* Streams handed to publications get every event published (chunked and
 * HTTP/1.0), a heartbeat when quiet, and end when their client speaks. */
Test(sse, pushed_streams_get_publications)
{
    server s;
    start_sse_server(&s);
    stream a, b;
    stream_open(&a, s.port, "GET /push HTTP/1.1\r\nHost: t\r\n\r\n");
    expect_event_stream_head(&a.head);
    cr_assert(a.chunked);
    stream_open(&b, s.port, "GET /push HTTP/1.0\r\n\r\n");
    cr_assert(!b.chunked);
    client pub;
    client_open(&pub, s.port);
    publish_when(&pub, 2, "first");
    stream_until(&a, "data: first\n\n");
    stream_until(&b, "data: first\n\n");
    publish_when(&pub, 2, "second");
    stream_until(&a, "event: news\ndata: second\n\n");
    stream_until(&b, "event: news\ndata: second\n\n");
    /* Each event is one chunk; heartbeats (200 ms) are comments. */
    for (size_t i = 0; i < a.chunks; i++) {
        size_t len;
        const char *got = chunk_at(&a, i, &len);
        cr_assert(memcmp(got, "event: news\n", 12) == 0 || (len == 2 && memcmp(got, ":\n", 2) == 0),
                  "chunk %zu: %.*s", i, (int)len, got);
    }
    size_t before = a.chunks;
    uint64_t give_up = now_ms() + HANG_GUARD_MS;
    while (a.chunks == before) {
        cr_assert_lt(now_ms(), give_up, "no heartbeat");
        client_recv_some(&a.c, 100);
        stream_take(&a);
    }
    size_t len;
    const char *beat = chunk_at(&a, a.chunks - 1, &len);
    cr_assert(len == 2 && memcmp(beat, ":\n", 2) == 0, "not a heartbeat: %.*s", (int)len, beat);
    /* A client that speaks has left: the server closes it. */
    client_send_str(&a.c, "x");
    cr_assert(client_wait_closed(&a.c, HANG_GUARD_MS, NULL));
    stream_close(&a);
    stream_close(&b);
    client_close(&pub);
    server_stop(&s);
}

/* A pushed stream that does not read is cut once its queue (64 KiB) is
 * full; the others keep getting events. */
Test(sse, a_pushed_stream_that_does_not_read_is_cut)
{
    server s;
    start_sse_server(&s);
    client slow;
    client_open_small_rcvbuf(&slow, s.port, 4096);
    client_send_str(&slow, "GET /push HTTP/1.1\r\nHost: t\r\n\r\n");
    stream fast;
    stream_open(&fast, s.port, "GET /push HTTP/1.1\r\nHost: t\r\n\r\n");
    char data[3100];
    memset(data, 'z', 3000);
    data[3000] = '\0';
    client pub;
    client_open(&pub, s.port);
    publish_when(&pub, 2, "go");
    stream_until(&fast, "data: go\n\n");
    /* 3 KB events until the slow one's socket buffers and then its
     * queue are full: it is cut (its reads end), checked as it goes. */
    for (int i = 0; i < 4000 && !slow.eof; i++) {
        publish_when(&pub, 2, data);
        /* The fast reader keeps up: what came is read and dropped. */
        client_recv_some(&fast.c, 0);
        stream_take(&fast);
        free(fast.body);
        fast.body = calloc(1, 1);
        fast.body_len = 0;
        fast.chunks = 0;
        if (i % 64 == 63 && client_recv_some(&slow, 0) > 0)
            client_consume(&slow, slow.len);
    }
    /* The slow one's socket is closed by the server: its reads end. */
    uint64_t give_up = now_ms() + HANG_GUARD_MS;
    while (!slow.eof && now_ms() < give_up) {
        client_recv_some(&slow, 100);
        client_consume(&slow, slow.len);
    }
    cr_assert(slow.eof, "the stream that did not read was not cut");
    publish_when(&pub, 2, "still"); /* (streams ever pushed) */
    stream_until(&fast, "data: still\n\n");
    client_close(&pub);
    client_close(&slow);
    stream_close(&fast);
    server_stop(&s);
}

/* ---- real clients and the example ---------------------------------------- */

static int curl_get(uint16_t port, const char *path, const char *extra_header, char **out)
{
    char url[256];
#ifdef ZZZ_TEST_TLS
    snprintf(url, sizeof url, "https://127.0.0.1:%u%s", port, path);
    const char *ca = harness_tls_file("ca.pem");
#else
    snprintf(url, sizeof url, "http://127.0.0.1:%u%s", port, path);
    const char *ca = NULL;
#endif
    const char *argv[16] = {"curl", "-sS", "-N", "--max-time", "10"};
    size_t n = 5;
    if (ca) {
        argv[n++] = "--cacert";
        argv[n++] = ca;
    }
    if (extra_header) {
        argv[n++] = "-H";
        argv[n++] = extra_header;
    }
    argv[n++] = url;
    argv[n] = NULL;
    return run_capture(argv, out, 15000);
}

Test(sse, curl_reads_a_whole_stream)
{
    server s;
    start_sse_server(&s);
    char *out;
    /* curl fails (18) on a chunked body without its end. */
    int rc = curl_get(s.port, "/events?n=3&gap=10", "Accept-Encoding: gzip", &out);
    cr_assert_eq(rc, 0, "curl: %d: %s", rc, out);
    cr_assert_str_eq(out,
                     "id: 1\ndata: event 1\n\nid: 2\ndata: event 2\n\nid: 3\ndata: event 3\n\n");
    free(out);
    server_stop(&s);
}

/* "2024-05-01T12:34:56.789Z" */
static bool iso_utc_ms(const char *p, size_t len)
{
    static const char form[] = "dddd-dd-ddTdd:dd:dd.dddZ";
    if (len != sizeof form - 1)
        return false;
    for (size_t i = 0; i < len; i++)
        if (form[i] == 'd' ? p[i] < '0' || p[i] > '9' : p[i] != form[i])
            return false;
    return true;
}

/* The example's events: ids from `first`, ISO times that do not go
 * back; the first asks for a reconnection time. */
static void expect_clock_events(const char *body, unsigned first, unsigned count)
{
    const char *p = body;
    char last_time[32] = "";
    for (unsigned i = 0; i < count; i++) {
        char id_line[40];
        snprintf(id_line, sizeof id_line, "id: %u\n", first + i);
        cr_assert(strncmp(p, id_line, strlen(id_line)) == 0, "event %u: %s", i, p);
        p += strlen(id_line);
        if (i == 0) {
            cr_assert(strncmp(p, "retry: 1000\n", 12) == 0, "%s", p);
            p += 12;
        }
        cr_assert(strncmp(p, "data: ", 6) == 0, "%s", p);
        p += 6;
        const char *eol = strstr(p, "\n\n");
        cr_assert(eol && iso_utc_ms(p, (size_t)(eol - p)), "not a time: %s", p);
        cr_assert(strncmp(last_time, p, 24) <= 0, "time went back: %s after %s", p, last_time);
        memcpy(last_time, p, 24);
        p = eol + 2;
    }
}

Test(sse, example_clock)
{
    server s;
    start_sse_example(&s);
    response r;
    exchange(s.port, "GET / HTTP/1.1\r\nHost: t\r\n\r\n", &r);
    expect_status(&r, 200);
    cr_assert(header_is(&r, "Content-Type", "text/html; charset=utf-8"));
    cr_assert(strstr(r.body, "new EventSource('/events')"), "%s", r.body);
    response_free(&r);
    stream st;
    stream_open(&st, s.port, "GET /events HTTP/1.1\r\nHost: t\r\n\r\n");
    expect_event_stream_head(&st.head);
    stream_until(&st, "\n\nid: 4\n"); /* event 3 whole */
    expect_clock_events(st.body, 1, 3);
    stream_close(&st);
    /* A browser coming back: the count goes on. */
    stream_open(&st, s.port, "GET /events HTTP/1.1\r\nHost: t\r\nLast-Event-ID: 41\r\n\r\n");
    stream_until(&st, "\n\nid: 43\n");
    expect_clock_events(st.body, 42, 1);
    stream_close(&st);
    /* The icon a browser asks for: nothing, without an error. */
    exchange(s.port, "GET /favicon.ico HTTP/1.1\r\nHost: t\r\n\r\n", &r);
    expect_status(&r, 204);
    response_free(&r);
    server_stop(&s);
}
