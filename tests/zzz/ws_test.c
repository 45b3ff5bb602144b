/* WebSocket over raw sockets against the WebSocket test server
 * (wsserver.c), once per driver, and over TLS when built with
 * ZZZ_TEST_TLS: the opening handshake and its refusals, every frame rule
 * a server enforces with the close code it sends, fragmentation with
 * control frames between fragments, UTF-8 across fragments, limits,
 * the close handshake, keep-alive pings, the callback mode, and
 * publish/subscribe with its overflow. */
#include "harness.h"

static server srv;

static void ws_start(void)
{
    const char *args[8] = {NULL};
#ifdef ZZZ_TEST_TLS
    args[0] = "--tls-cert";
    args[1] = harness_tls_file("ec-chain.pem");
    args[2] = "--tls-key";
    args[3] = harness_tls_file("ec-key.pem");
#endif
    server_start(&srv, binary_path("ZZZ_WSSERVER"), args);
}

static void ws_stop(void)
{
    server_stop(&srv);
    harness_cleanup();
}

TestSuite(ws, .init = ws_start, .fini = ws_stop, .timeout = 60);

/* ---- a small client ---------------------------------------------------- */

/* Waits (bounded) until the client holds at least n bytes. */
static bool wait_bytes(client *c, size_t n)
{
    uint64_t give_up = now_ms() + HANG_GUARD_MS;
    while (c->len < n && !c->eof) {
        uint64_t t = now_ms();
        if (t >= give_up)
            return false;
        client_recv_some(c, (int)(give_up - t));
    }
    return c->len >= n;
}

/* Sends the opening handshake for path with extra header lines; returns
 * the response head (status line and fields, ending "\r\n\r\n"), which
 * is consumed from the client. */
static char *upgrade(client *c, const char *path, const char *extra)
{
    char req[1024];
    snprintf(req, sizeof req,
             "GET %s HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
             "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n%s\r\n",
             path, extra ? extra : "");
    client_send_str(c, req);
    uint64_t give_up = now_ms() + HANG_GUARD_MS;
    for (;;) {
        char *end = c->len ? memmem(c->buf, c->len, "\r\n\r\n", 4) : NULL;
        if (end) {
            size_t n = (size_t)(end - c->buf) + 4;
            char *head = strndup(c->buf, n);
            client_consume(c, n);
            return head;
        }
        uint64_t t = now_ms();
        cr_assert(t < give_up && !c->eof, "no response head to the upgrade of %s", path);
        client_recv_some(c, (int)(give_up - t));
    }
}

static client open_ws(const char *path, const char *extra)
{
    client c;
    client_open(&c, srv.port);
    char *head = upgrade(&c, path, extra);
    cr_assert(strncmp(head, "HTTP/1.1 101 ", 13) == 0, "not a 101: %s", head);
    free(head);
    return c;
}

/* A client frame (masked unless told otherwise). */
static void send_frame(client *c, uint8_t b0, bool masked, const void *payload, size_t len)
{
    uint8_t *f = malloc(len + 14);
    size_t n = 0;
    f[n++] = b0;
    uint8_t m = masked ? 0x80 : 0;
    if (len < 126) {
        f[n++] = (uint8_t)(m | len);
    } else if (len < 65536) {
        f[n++] = m | 126;
        f[n++] = (uint8_t)(len >> 8);
        f[n++] = (uint8_t)len;
    } else {
        f[n++] = m | 127;
        for (int i = 7; i >= 0; i--)
            f[n++] = (uint8_t)((uint64_t)len >> (8 * i));
    }
    static const uint8_t key[4] = {0x37, 0xfa, 0x21, 0x3d};
    if (masked) {
        memcpy(f + n, key, 4);
        n += 4;
    }
    for (size_t i = 0; i < len; i++)
        f[n + i] = ((const uint8_t *)payload)[i] ^ (masked ? key[i & 3] : 0);
    cr_assert_eq(client_send(c, f, n + len), 0);
    free(f);
}

static void send_text(client *c, const char *text)
{
    send_frame(c, 0x81, true, text, strlen(text));
}

typedef struct frame {
    uint8_t b0; /* fin, rsv, opcode */
    uint8_t *data;
    size_t len;
} frame;

/* Reads one server frame (which must be unmasked); false at the end of
 * the stream or after the hang guard. */
static bool read_frame(client *c, frame *f)
{
    if (!wait_bytes(c, 2))
        return false;
    uint8_t *p = (uint8_t *)c->buf;
    cr_assert_eq(p[1] & 0x80, 0, "a server frame was masked");
    size_t head = 2;
    uint64_t len = p[1] & 0x7f;
    if (len == 126) {
        if (!wait_bytes(c, 4))
            return false;
        p = (uint8_t *)c->buf;
        len = (uint64_t)p[2] << 8 | p[3];
        head = 4;
    } else if (len == 127) {
        if (!wait_bytes(c, 10))
            return false;
        p = (uint8_t *)c->buf;
        len = 0;
        for (int i = 0; i < 8; i++)
            len = len << 8 | p[2 + i];
        head = 10;
    }
    if (!wait_bytes(c, head + len))
        return false;
    p = (uint8_t *)c->buf;
    f->b0 = p[0];
    f->len = (size_t)len;
    f->data = malloc(len + 1);
    memcpy(f->data, p + head, len);
    f->data[len] = 0;
    client_consume(c, head + (size_t)len);
    return true;
}

/* Expects a data frame of this opcode and payload. */
static void expect_message(client *c, uint8_t b0, const void *data, size_t len)
{
    frame f;
    cr_assert(read_frame(c, &f), "no frame came back");
    cr_assert_eq(f.b0, b0, "frame byte 0x%02x, expected 0x%02x", f.b0, b0);
    cr_assert_eq(f.len, len, "payload of %zu bytes, expected %zu", f.len, len);
    cr_assert(memcmp(f.data, data, len) == 0, "payload differs");
    free(f.data);
}

static void expect_text(client *c, const char *text)
{
    expect_message(c, 0x81, text, strlen(text));
}

/* Expects a close frame with this code (0: no code), then the TCP close. */
static void expect_close(client *c, unsigned code)
{
    frame f;
    for (;;) {
        cr_assert(read_frame(c, &f), "no close frame came (expected %u)", code);
        if ((f.b0 & 0x0f) == 0x8)
            break;
        free(f.data);
    }
    cr_assert_eq(f.b0, 0x88);
    if (code == 0) {
        cr_assert_eq(f.len, 0);
    } else {
        cr_assert_geq(f.len, 2);
        unsigned got = (unsigned)f.data[0] << 8 | f.data[1];
        cr_assert_eq(got, code, "close code %u, expected %u", got, code);
    }
    free(f.data);
}

static void expect_tcp_close(client *c)
{
    size_t extra = 0;
    cr_assert(client_wait_closed(c, HANG_GUARD_MS, &extra), "the connection stayed open");
}

static void expect_refused(const char *path, const char *extra, int status)
{
    client c;
    client_open(&c, srv.port);
    char *head = upgrade(&c, path, extra);
    char want[32];
    snprintf(want, sizeof want, "HTTP/1.1 %d ", status);
    cr_assert(strncmp(head, want, strlen(want)) == 0, "expected %d: %s", status, head);
    free(head);
    client_close(&c);
}

/* ---- the handshake --------------------------------------------------- */

Test(ws, handshake_answers_rfc_sample_key)
{
    client c;
    client_open(&c, srv.port);
    char *head = upgrade(&c, "/echo", "Sec-WebSocket-Protocol: x, superchat, chat\r\n");
    cr_assert(strncmp(head, "HTTP/1.1 101 Switching Protocols\r\n", 34) == 0, "%s", head);
    /* RFC 6455 1.3's example key and its answer. */
    cr_assert(strcasestr(head, "\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"), "%s",
              head);
    cr_assert(strcasestr(head, "\r\nUpgrade: websocket\r\n"), "%s", head);
    cr_assert(strcasestr(head, "\r\nConnection: Upgrade\r\n"), "%s", head);
    /* Our preference wins: chat comes first in the server's list. */
    cr_assert(strcasestr(head, "\r\nSec-WebSocket-Protocol: chat\r\n"), "%s", head);
    cr_assert_null(strcasestr(head, "Sec-WebSocket-Extensions"), "%s", head);
    free(head);
    send_text(&c, "hi");
    expect_text(&c, "hi");
    client_close(&c);
}

Test(ws, handshake_token_lists_any_case)
{
    client c;
    client_open(&c, srv.port);
    client_send_str(&c, "GET /cb HTTP/1.1\r\nHost: x\r\nupgrade: h2c, WebSocket\r\n"
                        "connection: keep-alive, UPGRADE\r\nsec-websocket-key: "
                        "AAAAAAAAAAAAAAAAAAAAAA==\r\nsec-websocket-version: 13\r\n\r\n");
    response r;
    client_response_head(&c, &r);
    expect_status(&r, 101);
    response_free(&r);
    client_close(&c);
}

Test(ws, handshake_refusals)
{
    expect_refused("/echo", "Sec-WebSocket-Version: 8\r\n", 400); /* two version fields */
    client c;
    client_open(&c, srv.port);
    client_send_str(&c, "GET /echo HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: "
                        "Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                        "Sec-WebSocket-Version: 8\r\n\r\n");
    response r;
    client_response(&c, &r);
    expect_status(&r, 426);
    cr_assert(header_is(&r, "Sec-WebSocket-Version", "13"));
    response_free(&r);
    client_close(&c);

    const char *no_upgrade = "GET /echo HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\n"
                             "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                             "Sec-WebSocket-Version: 13\r\n\r\n";
    exchange(srv.port, no_upgrade, &r);
    expect_status(&r, 400);
    response_free(&r);
    const char *bad_keys[] = {"dGhlIHNhbXBsZSBub25jZQ", "dGhlIHNhbXBsZSBub25jZR==",
                              "dGhlIHNhbXBsZSBub25jZQ=", "!GhlIHNhbXBsZSBub25jZQ=="};
    for (size_t i = 0; i < sizeof bad_keys / sizeof bad_keys[0]; i++) {
        char req[512];
        snprintf(req, sizeof req,
                 "GET /echo HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                 "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n",
                 bad_keys[i]);
        exchange(srv.port, req, &r);
        cr_assert_eq(r.status, 400, "key %s: %d", bad_keys[i], r.status);
        response_free(&r);
    }
    const char *http10 = "GET /echo HTTP/1.0\r\nHost: x\r\nUpgrade: websocket\r\nConnection: "
                         "Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                         "Sec-WebSocket-Version: 13\r\n\r\n";
    exchange(srv.port, http10, &r);
    expect_status(&r, 400);
    response_free(&r);
    const char *post = "POST /echo HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: "
                       "Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                       "Sec-WebSocket-Version: 13\r\nContent-Length: 0\r\n\r\n";
    exchange(srv.port, post, &r);
    expect_status(&r, 405);
    cr_assert(header_is(&r, "Allow", "GET"));
    response_free(&r);
}

Test(ws, origin_and_subprotocol)
{
    expect_refused("/echo", "Origin: http://evil.example\r\n", 403);
    client c = open_ws("/echo", "Origin: http://good.example\r\n");
    client_close(&c);
    /* "v1" is required by /strict. */
    expect_refused("/strict", "Sec-WebSocket-Protocol: v2\r\n", 400);
    client_open(&c, srv.port);
    char *head = upgrade(&c, "/strict", "Sec-WebSocket-Protocol: v2, v1\r\n");
    cr_assert(strcasestr(head, "\r\nSec-WebSocket-Protocol: v1\r\n"), "%s", head);
    free(head);
    client_close(&c);
}

/* ---- messages -------------------------------------------------------- */

static void echo_checks(const char *path)
{
    client c = open_ws(path, NULL);
    send_text(&c, "hello");
    expect_text(&c, "hello");
    uint8_t bin[70000];
    for (size_t i = 0; i < sizeof bin; i++)
        bin[i] = (uint8_t)(i * 7);
    send_frame(&c, 0x82, true, bin, sizeof bin); /* 64-bit length */
    expect_message(&c, 0x82, bin, sizeof bin);
    send_frame(&c, 0x82, true, bin, 300); /* 16-bit length */
    expect_message(&c, 0x82, bin, 300);
    send_frame(&c, 0x81, true, "", 0);
    expect_message(&c, 0x81, "", 0);
    /* Fragments with a ping between them; the pong comes first. */
    send_frame(&c, 0x01, true, "frag", 4);
    send_frame(&c, 0x89, true, "pp", 2);
    send_frame(&c, 0x00, true, "men", 3);
    send_frame(&c, 0x8A, true, "unasked", 7); /* an unasked pong is ignored */
    send_frame(&c, 0x80, true, "ted", 3);
    expect_message(&c, 0x8A, "pp", 2);
    expect_text(&c, "fragmented");
    client_close(&c);
}

Test(ws, echo_straight_line)
{
    echo_checks("/echo");
}

Test(ws, echo_callback)
{
    echo_checks("/cb");
}

Test(ws, fragments_join)
{
    const char *paths[] = {"/echo", "/cb"};
    for (size_t i = 0; i < 2; i++) {
        client c = open_ws(paths[i], NULL);
        send_frame(&c, 0x01, true, "a \xe2\x82", 4);
        send_frame(&c, 0x89, true, "x", 1);
        send_frame(&c, 0x00, true, "\xac b", 3);
        send_frame(&c, 0x80, true, " c", 2);
        expect_message(&c, 0x8A, "x", 1);
        expect_text(&c, "a \xe2\x82\xac b c");
        /* Messages pipelined in one send come back in order. */
        char burst[64];
        size_t n = 0;
        const char *words[] = {"one", "two", "three"};
        for (size_t w = 0; w < 3; w++) {
            size_t len = strlen(words[w]);
            burst[n++] = (char)0x81;
            burst[n++] = (char)(0x80 | len);
            memset(burst + n, 0, 4);
            n += 4;
            memcpy(burst + n, words[w], len);
            n += len;
        }
        cr_assert_eq(client_send(&c, burst, n), 0);
        for (size_t w = 0; w < 3; w++)
            expect_text(&c, words[w]);
        client_close(&c);
    }
}

Test(ws, server_commands)
{
    const char *paths[] = {"/echo", "/cb"};
    for (size_t i = 0; i < 2; i++) {
        client c = open_ws(paths[i], NULL);
        send_text(&c, "stream");
        frame f;
        cr_assert(read_frame(&c, &f));
        cr_assert_eq(f.b0, 0x01);
        cr_assert_str_eq((char *)f.data, "one ");
        free(f.data);
        cr_assert(read_frame(&c, &f));
        cr_assert_eq(f.b0, 0x00);
        free(f.data);
        cr_assert(read_frame(&c, &f));
        cr_assert_eq(f.b0, 0x00);
        free(f.data);
        cr_assert(read_frame(&c, &f));
        cr_assert_eq(f.b0, 0x80);
        cr_assert_eq(f.len, 0);
        free(f.data);
        send_text(&c, "ping");
        expect_message(&c, 0x89, "p", 1);
        send_text(&c, "close-me");
        expect_close(&c, 4000);
        /* Until our answer the server reads on, dropping messages. */
        send_text(&c, "dropped");
        send_frame(&c, 0x88, true, "\x0f\xa0", 2);
        expect_tcp_close(&c);
        cr_assert_eq(c.len, 0, "bytes after the close frame");
        client_close(&c);
    }
}

/* ---- the rules, each with its close code ------------------------------- */

static void expect_failure(const char *path, uint8_t b0, bool masked, const void *payload,
                           size_t len, unsigned code)
{
    client c = open_ws(path, NULL);
    send_frame(&c, b0, masked, payload, len);
    expect_close(&c, code);
    expect_tcp_close(&c);
    client_close(&c);
}

static void rules(const char *path)
{
    expect_failure(path, 0x81, false, "unmasked", 8, 1002);
    expect_failure(path, 0xC1, true, "rsv1", 4, 1002); /* no deflate agreed */
    expect_failure(path, 0xA1, true, "rsv2", 4, 1002);
    expect_failure(path, 0x91, true, "rsv3", 4, 1002);
    expect_failure(path, 0x83, true, "op3", 3, 1002);
    expect_failure(path, 0x8B, true, "opB", 3, 1002);
    char big[126];
    memset(big, 'p', sizeof big);
    expect_failure(path, 0x89, true, big, sizeof big, 1002); /* control over 125 */
    expect_failure(path, 0x09, true, "p", 1, 1002);          /* fragmented control */
    expect_failure(path, 0x80, true, "cont", 4, 1002);       /* nothing to continue */
    expect_failure(path, 0x81, true, "\xc0\xaf", 2, 1007);   /* overlong */
    expect_failure(path, 0x81, true, "\xed\xa0\x80", 3, 1007); /* surrogate */
    expect_failure(path, 0x88, true, "\x03", 1, 1002);       /* close with one byte */
    expect_failure(path, 0x88, true, "\x03\xed", 2, 1002);   /* 1005 may not be sent */
    expect_failure(path, 0x88, true, "\x03\xe7", 2, 1002);   /* 999 */
    expect_failure(path, 0x88, true, "\x13\x88", 2, 1002);   /* 5000 */
    expect_failure(path, 0x88, true, "\x03\xe8\xff", 3, 1007); /* reason not UTF-8 */
    /* A data frame inside a fragmented message. */
    client c = open_ws(path, NULL);
    send_frame(&c, 0x01, true, "a", 1);
    send_frame(&c, 0x81, true, "b", 1);
    expect_close(&c, 1002);
    expect_tcp_close(&c);
    client_close(&c);
    /* Invalid UTF-8 found in a later fragment, before the message ends. */
    c = open_ws(path, NULL);
    send_frame(&c, 0x01, true, "ok", 2);
    send_frame(&c, 0x00, true, "\xff", 1);
    expect_close(&c, 1007);
    expect_tcp_close(&c);
    client_close(&c);
    /* A text ending in the middle of a sequence. */
    c = open_ws(path, NULL);
    send_frame(&c, 0x81, true, "ab\xe2\x82", 4);
    expect_close(&c, 1007);
    client_close(&c);
}

Test(ws, rules_straight_line)
{
    rules("/echo");
}

Test(ws, rules_callback)
{
    rules("/cb");
}

Test(ws, close_handshake_echoes_code)
{
    const unsigned codes[] = {1000, 1001, 1003, 1007, 1011, 1014, 3000, 4999};
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        client c = open_ws(i % 2 ? "/cb" : "/echo", NULL);
        uint8_t body[] = {(uint8_t)(codes[i] >> 8), (uint8_t)codes[i], 'o', 'k'};
        send_frame(&c, 0x88, true, body, sizeof body);
        expect_close(&c, codes[i]);
        expect_tcp_close(&c);
        client_close(&c);
    }
    client c = open_ws("/echo", NULL);
    send_frame(&c, 0x88, true, "", 0);
    expect_close(&c, 0); /* no code received, none echoed */
    expect_tcp_close(&c);
    client_close(&c);
}

Test(ws, message_limit)
{
    client c = open_ws("/small", NULL);
    char msg[1025];
    memset(msg, 'm', sizeof msg);
    send_frame(&c, 0x82, true, msg, 1024); /* at the limit */
    expect_message(&c, 0x82, msg, 1024);
    send_frame(&c, 0x02, true, msg, 1000); /* fragments past it */
    send_frame(&c, 0x80, true, msg, 25);
    expect_close(&c, 1009);
    expect_tcp_close(&c);
    client_close(&c);
    c = open_ws("/small", NULL);
    send_frame(&c, 0x82, true, msg, 1025); /* one frame past it */
    expect_close(&c, 1009);
    client_close(&c);
}

Test(ws, quiet_client_is_pinged_then_closed)
{
    client c = open_ws("/sleepy", NULL);
    frame f;
    cr_assert(read_frame(&c, &f), "no ping came");
    cr_assert_eq(f.b0, 0x89);
    free(f.data);
    /* An answer keeps it open through the next ping. */
    send_frame(&c, 0x8A, true, "zzz", 3);
    cr_assert(read_frame(&c, &f), "no second ping came");
    cr_assert_eq(f.b0, 0x89);
    free(f.data);
    /* No answer this time: the connection ends. */
    expect_tcp_close(&c);
    client_close(&c);
}

/* A straight-line reader's wait ends at each ping time (300 ms here):
 * the connection, TLS included, stays good across those ends. */
Test(ws, straight_line_pings_and_reads_on)
{
    client c = open_ws("/sleepyline", NULL);
    send_text(&c, "before");
    expect_text(&c, "before");
    for (int i = 0; i < 2; i++) {
        frame f;
        cr_assert(read_frame(&c, &f), "no ping came");
        cr_assert_eq(f.b0, 0x89);
        free(f.data);
        send_frame(&c, 0x8A, true, "zzz", 3);
    }
    send_text(&c, "after");
    expect_text(&c, "after");
    client_close(&c);
}

/* A client that ignores our close and goes on sending is cut after the
 * ping interval all the same (300 ms). */
Test(ws, an_unanswered_close_ends)
{
    client c = open_ws("/sleepy", NULL);
    send_text(&c, "close-me");
    expect_close(&c, 4000);
    uint64_t give_up = now_ms() + HANG_GUARD_MS;
    while (!c.eof && now_ms() < give_up) {
        if (client_send(&c, "\x81\x82\0\0\0\0hi", 8) != 0)
            break;
        client_recv_some(&c, 50);
        client_consume(&c, c.len);
    }
    expect_tcp_close(&c);
    client_close(&c);
}

/* ---- publish / subscribe ------------------------------------------------- */

Test(ws, room_broadcasts_to_everyone)
{
    client a = open_ws("/room", NULL);
    client b = open_ws("/room", NULL);
    expect_text(&a, "joined");
    expect_text(&b, "joined");
    send_text(&a, "from a");
    expect_text(&a, "from a");
    expect_text(&b, "from a");
    send_frame(&b, 0x82, true, "\x01\x02", 2);
    expect_message(&a, 0x82, "\x01\x02", 2);
    expect_message(&b, 0x82, "\x01\x02", 2);
    client_close(&a);
    /* The one left still hears itself. */
    send_text(&b, "alone");
    expect_text(&b, "alone");
    client_close(&b);
}

/* A member that never reads: the server's sends to it fill its socket,
 * then its queue; with CLOSE it is dropped from the room with 1008,
 * with DROP its messages are counted as dropped. The others never wait. */
static void slow_member(const char *path, bool closes)
{
    client slow;
    client_open_small_rcvbuf(&slow, srv.port, 4096);
    char *head = upgrade(&slow, path, NULL);
    cr_assert(strncmp(head, "HTTP/1.1 101 ", 13) == 0, "%s", head);
    free(head);
    client fast = open_ws(path, NULL);
    expect_text(&fast, "joined");
    /* Each message fits the 4 KiB queue; together they pass what the
     * socket buffers hold (up to 8 MiB), which the stats show. */
    char chunk[2048];
    memset(chunk, 'z', sizeof chunk);
    bool seen = false;
    for (int i = 1; i <= 4096 && !seen; i++) {
        send_frame(&fast, 0x82, true, chunk, sizeof chunk);
        expect_message(&fast, 0x82, chunk, sizeof chunk);
        if (i % 256)
            continue;
        response r;
        exchange(srv.port, "GET /stats HTTP/1.1\r\nHost: x\r\n\r\n", &r);
        seen = strstr(r.body, closes ? "overflow 0\n" : "dropped 0\n") == NULL;
        response_free(&r);
    }
    cr_assert(seen, "%s", closes ? "the slow member was not closed" : "nothing was dropped");
    client_close(&slow);
    client_close(&fast);
}

Test(ws, slow_subscriber_closed)
{
    slow_member("/slowroom", true);
}

Test(ws, slow_subscriber_dropped)
{
    slow_member("/droproom", false);
}

Test(ws, shutdown_says_going_away)
{
    client a = open_ws("/echo", NULL);
    client b = open_ws("/cb", NULL);
    send_text(&a, "x");
    expect_text(&a, "x");
    send_text(&b, "y");
    expect_text(&b, "y");
    cr_assert_eq(kill(srv.pid, SIGTERM), 0);
    expect_close(&a, 1001);
    expect_tcp_close(&a);
    /* A quiet callback-mode connection is served once more to say so. */
    expect_close(&b, 1001);
    expect_tcp_close(&b);
    int status = server_wait(&srv, HANG_GUARD_MS);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "exit status %d", status);
    client_close(&a);
    client_close(&b);
    ws_start(); /* for the suite's fini */
}
