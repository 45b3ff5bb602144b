/* The soak client's traffic: one function per kind of exchange, each
 * checking every answer it waits for (status, body length and content)
 * and returning how many requests it made, or -1 with soak_err set. */
#include "soak_mix.h"

#include <openssl/err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BIG_BYTES (256u * 1024u)
#define MAX_BODY (64u * 1024u)

static const char get_hello[] = "GET /hello HTTP/1.1\r\nHost: soak\r\n\r\n";
static const char get_hello_close[] = "GET /hello HTTP/1.1\r\nHost: soak\r\nConnection: close\r\n\r\n";
static const char get_big[] = "GET /big HTTP/1.1\r\nHost: soak\r\n\r\n";

static uint8_t random_bytes[256 * 1024];
static soak_link link_a; /* one connection at a time: its buffer is large */

static uint32_t rnd(soak_worker *w)
{
    uint64_t x = w->rng;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    w->rng = x;
    return (uint32_t)((x * 0x2545F4914F6CDD1DULL) >> 32);
}

void soak_mix_init(soak_worker *w)
{
    for (size_t i = 0; i < sizeof random_bytes; i++)
        random_bytes[i] = (uint8_t)rnd(w);
    srand((unsigned)w->rng);
}

/* Opens a connection: plain, or TLS with a full or a resumed handshake
 * (w->tls_full, w->tls_resumed and w->tls_missed count them). */
static int open_link(soak_worker *w, soak_link *l, bool tls)
{
    if (!tls)
        return link_open(l, w->port_plain, NULL, NULL, NULL);
    bool resume = w->session && rnd(w) % 10 < 7;
    bool reused = false;
    if (link_open(l, w->port_tls, w->ctx, resume ? w->session : NULL, &reused) != 0)
        return -1;
    if (resume && reused) {
        w->tls_resumed++;
    } else {
        if (resume)
            w->tls_missed++;
        w->tls_full++;
        if (w->session)
            SSL_SESSION_free(w->session);
        w->session = SSL_get1_session(l->ssl);
    }
    return 0;
}

static int fail_close(soak_link *l)
{
    link_reset(l);
    return -1;
}

static int check_hello(const soak_resp *r)
{
    if (r->status != 200 || r->body_len != 12 || strcmp(r->body, "hello, soak\n") != 0)
        return soak_fail("GET /hello: status %d, %llu bytes", r->status,
                         (unsigned long long)r->body_len);
    return 0;
}

static int check_big(const soak_resp *r)
{
    if (r->status != 200 || r->body_len != BIG_BYTES || memcmp(r->body, "abcdefghij", 10) != 0)
        return soak_fail("GET /big: status %d, %llu bytes", r->status,
                         (unsigned long long)r->body_len);
    return 0;
}

/* The end of a connection whose last request asked for the close: the
 * server closes first (so the TIME_WAIT is on its side). */
static int end_link(soak_link *l, bool asked_close)
{
    if (asked_close && link_expect_eof(l) != 0)
        return fail_close(l);
    link_close(l);
    return 0;
}

int soak_keepalive(soak_worker *w, bool tls)
{
    soak_link *l = &link_a;
    if (open_link(w, l, tls) != 0)
        return -1;
    int n = 5 + (int)(rnd(w) % 26);
    bool close_last = rnd(w) % 2;
    for (int i = 0; i < n; i++) {
        bool last = i == n - 1, big = rnd(w) % 8 == 0;
        const char *req = last && close_last ? get_hello_close : big ? get_big : get_hello;
        soak_resp r;
        if (link_send(l, req, strlen(req)) != 0 || link_response(l, &r) != 0)
            return fail_close(l);
        if ((req == get_big ? check_big(&r) : check_hello(&r)) != 0)
            return fail_close(l);
    }
    return end_link(l, close_last) == 0 ? n : -1;
}

int soak_pipeline(soak_worker *w, bool tls)
{
    soak_link *l = &link_a;
    if (open_link(w, l, tls) != 0)
        return -1;
    int n = 2 + (int)(rnd(w) % 31);
    bool close_last = rnd(w) % 2;
    char out[64 * sizeof get_hello_close];
    size_t len = 0;
    for (int i = 0; i < n; i++) {
        const char *req = i == n - 1 && close_last ? get_hello_close : get_hello;
        memcpy(out + len, req, strlen(req));
        len += strlen(req);
    }
    if (link_send(l, out, len) != 0)
        return fail_close(l);
    for (int i = 0; i < n; i++) {
        soak_resp r;
        if (link_response(l, &r) != 0 || check_hello(&r) != 0)
            return fail_close(l);
    }
    return end_link(l, close_last) == 0 ? n : -1;
}

/* ---- bad requests ---------------------------------------------------------- */

typedef struct bad_case {
    const char *name;
    const char *req; /* NULL: built by bad_request */
    int status;
} bad_case;

static const bad_case bad_cases[] = {
    {"garbage", "BLAH\r\n\r\n", 400},
    {"no colon", "GET /hello HTTP/1.1\r\nHost: soak\r\nNoColonHere\r\n\r\n", 400},
    {"no Host", "GET /hello HTTP/1.1\r\n\r\n", 400},
    {"two Hosts", "GET /hello HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400},
    {"obs-fold", "GET /hello HTTP/1.1\r\nHost: soak\r\nX: a\r\n b\r\n\r\n", 400},
    {"NUL in value", "GET /hello HTTP/1.1\r\nHost: soak\r\nX: a\0b\r\n\r\n", 400},
    {"bare LF", "GET /hello HTTP/1.1\nHost: soak\n\n", 400},
    {"HTTP/2.0", "GET /hello HTTP/2.0\r\nHost: soak\r\n\r\n", 505},
    {"two lengths",
     "POST /upload HTTP/1.1\r\nHost: soak\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
     400},
    {"bad chunk size",
     "POST /upload HTTP/1.1\r\nHost: soak\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n\r\n", 400},
    {"body too large", "POST /upload HTTP/1.1\r\nHost: soak\r\nContent-Length: 100000\r\n\r\n",
     413},
    {"target too long", NULL, 414},
    {"head too large", NULL, 431},
    {"too many fields", NULL, 431},
};

/* The bytes of bad_cases[i], built when they are long. */
static size_t bad_request(size_t i, char *out, size_t cap)
{
    const bad_case *c = &bad_cases[i];
    if (c->req) {
        /* The NUL case has a NUL inside: its length is that of the literal. */
        size_t len = strlen(c->req);
        if (strcmp(c->name, "NUL in value") == 0)
            len = sizeof "GET /hello HTTP/1.1\r\nHost: soak\r\nX: a\0b\r\n\r\n" - 1;
        memcpy(out, c->req, len);
        return len;
    }
    size_t len = 0;
    if (c->status == 414) {
        len = (size_t)snprintf(out, cap, "GET /");
        memset(out + len, 'a', 9000);
        len += 9000;
        len += (size_t)snprintf(out + len, cap - len, " HTTP/1.1\r\nHost: soak\r\n\r\n");
    } else if (strcmp(c->name, "head too large") == 0) {
        len = (size_t)snprintf(out, cap, "GET /hello HTTP/1.1\r\nHost: soak\r\nX: ");
        memset(out + len, 'b', 20000);
        len += 20000;
        len += (size_t)snprintf(out + len, cap - len, "\r\n\r\n");
    } else {
        len = (size_t)snprintf(out, cap, "GET /hello HTTP/1.1\r\nHost: soak\r\n");
        for (int f = 0; f < 70; f++)
            len += (size_t)snprintf(out + len, cap - len, "X-%d: v\r\n", f);
        len += (size_t)snprintf(out + len, cap - len, "\r\n");
    }
    return len;
}

int soak_bad(soak_worker *w, bool tls)
{
    soak_link *l = &link_a;
    if (open_link(w, l, tls) != 0)
        return -1;
    int n = 0;
    for (int before = (int)(rnd(w) % 3); before > 0; before--, n++) {
        soak_resp r;
        if (link_send(l, get_hello, strlen(get_hello)) != 0 || link_response(l, &r) != 0 ||
            check_hello(&r) != 0)
            return fail_close(l);
    }
    size_t i = rnd(w) % (sizeof bad_cases / sizeof bad_cases[0]);
    static char out[32 * 1024];
    size_t len = bad_request(i, out, sizeof out);
    soak_resp r;
    if (link_send(l, out, len) != 0 || link_response(l, &r) != 0) {
        soak_fail("%s: %s", bad_cases[i].name, soak_err);
        return fail_close(l);
    }
    n++;
    if (r.status != bad_cases[i].status) {
        soak_fail("%s: status %d, expected %d", bad_cases[i].name, r.status,
                  bad_cases[i].status);
        return fail_close(l);
    }
    /* Past a refused head the server cannot know where the next request
     * starts: it must close. */
    if (!r.close || link_expect_eof(l) != 0) {
        soak_fail("%s: not closed after %d (%s)", bad_cases[i].name, r.status,
                  r.close ? soak_err : "no Connection: close");
        return fail_close(l);
    }
    link_close(l);
    return n;
}

/* ---- uploads --------------------------------------------------------------- */

static uint32_t fnv1a(const uint8_t *p, size_t len)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < len; i++)
        h = (h ^ p[i]) * 16777619u;
    return h;
}

static int upload_one(soak_worker *w, soak_link *l)
{
    uint32_t pick = rnd(w);
    size_t size = pick % 16 == 0 ? MAX_BODY : rnd(w) % (MAX_BODY + 1);
    const uint8_t *body = random_bytes + rnd(w) % (sizeof random_bytes - MAX_BODY);
    bool chunked = pick % 3 == 0, expect = pick % 7 == 0;
    char head[256];
    int hl = snprintf(head, sizeof head, "POST /upload HTTP/1.1\r\nHost: soak\r\n%s",
                      expect ? "Expect: 100-continue\r\n" : "");
    if (chunked)
        hl += snprintf(head + hl, sizeof head - (size_t)hl, "Transfer-Encoding: chunked\r\n\r\n");
    else
        hl += snprintf(head + hl, sizeof head - (size_t)hl, "Content-Length: %zu\r\n\r\n", size);
    if (link_send(l, head, (size_t)hl) != 0)
        return -1;
    soak_resp r;
    if (expect && size > 0) {
        if (link_response(l, &r) != 0)
            return -1;
        if (r.status != 100)
            return soak_fail("Expect: 100-continue answered %d", r.status);
    }
    if (chunked) {
        for (size_t sent = 0; sent < size;) {
            size_t piece = 1 + rnd(w) % 9000;
            if (piece > size - sent)
                piece = size - sent;
            char line[32];
            int ll = snprintf(line, sizeof line, "%zx\r\n", piece);
            if (link_send(l, line, (size_t)ll) != 0 || link_send(l, body + sent, piece) != 0 ||
                link_send(l, "\r\n", 2) != 0)
                return -1;
            sent += piece;
        }
        if (link_send(l, "0\r\n\r\n", 5) != 0)
            return -1;
    } else if (size > 0 && link_send(l, body, size) != 0) {
        return -1;
    }
    /* A server may send 100 Continue even for a body it did not wait for
     * (an empty chunked one): interim answers come before the final one. */
    do {
        if (link_response(l, &r) != 0)
            return -1;
    } while (expect && r.status == 100);
    char want[64];
    snprintf(want, sizeof want, "%zu %08x\n", size, (unsigned)fnv1a(body, size));
    if (r.status != 200 || strcmp(r.body, want) != 0)
        return soak_fail("upload of %zu bytes (%s): status %d, body '%.40s'", size,
                         chunked ? "chunked" : "length", r.status, r.body);
    return 0;
}

int soak_upload(soak_worker *w, bool tls)
{
    soak_link *l = &link_a;
    if (open_link(w, l, tls) != 0)
        return -1;
    int n = 1 + (int)(rnd(w) % 3);
    for (int i = 0; i < n; i++)
        if (upload_one(w, l) != 0)
            return fail_close(l);
    link_close(l);
    return n;
}

/* ---- WebSocket ------------------------------------------------------------- */

int soak_ws(soak_worker *w, bool tls)
{
    static uint8_t in[256 * 1024], text[256 * 1024];
    if (text[0] == 0)
        for (size_t i = 0; i < sizeof text; i++)
            text[i] = (uint8_t)('A' + i % 58);
    soak_link *l = &link_a;
    if (open_link(w, l, tls) != 0)
        return -1;
    if (ws_open(l, "/ws") != 0)
        return fail_close(l);
    int n = 5 + (int)(rnd(w) % 26);
    for (int i = 0; i < n; i++) {
        uint32_t pick = rnd(w) % 100;
        size_t len = pick < 90 ? rnd(w) % 126 : pick < 99 ? 126 + rnd(w) % 65410
                                                           : 65536 + rnd(w) % 131072;
        bool binary = rnd(w) % 2;
        const uint8_t *data = binary ? random_bytes + rnd(w) % (sizeof random_bytes - len)
                                     : text + rnd(w) % 58;
        if (ws_send(l, binary ? 2 : 1, data, len) != 0)
            return fail_close(l);
        unsigned op;
        size_t got;
        if (ws_recv(l, &op, in, sizeof in, &got) != 0)
            return fail_close(l);
        if (op != (binary ? 2u : 1u) || got != len || memcmp(in, data, len) != 0) {
            soak_fail("WebSocket echo of %zu bytes: opcode %u, %zu bytes", len, op, got);
            return fail_close(l);
        }
    }
    if (rnd(w) % 10 == 0) { /* gone mid-frame, without a close */
        uint8_t half[] = {0x82, 0x80 | 100, 1, 2, 3, 4, 9, 9};
        link_send(l, half, sizeof half);
        link_reset(l);
        return n + 1;
    }
    uint8_t code[2] = {0x03, 0xe8}; /* 1000 */
    unsigned op;
    size_t got;
    if (ws_send(l, 8, code, 2) != 0 || ws_recv(l, &op, in, sizeof in, &got) != 0)
        return fail_close(l);
    if (op != 8 || got < 2 || in[0] != 0x03 || in[1] != 0xe8) {
        soak_fail("WebSocket close answered with opcode %u, %zu bytes", op, got);
        return fail_close(l);
    }
    if (link_expect_eof(l) != 0)
        return fail_close(l);
    link_close(l);
    return n + 1;
}

/* ---- abrupt disconnects ---------------------------------------------------- */

int soak_rst_request(soak_worker *w, bool tls)
{
    soak_link *l = &link_a;
    if (open_link(w, l, tls) != 0)
        return -1;
    int n = 1;
    if (rnd(w) % 2) { /* a whole exchange first, so the server is past the accept */
        soak_resp r;
        if (link_send(l, get_hello, strlen(get_hello)) != 0 || link_response(l, &r) != 0 ||
            check_hello(&r) != 0)
            return fail_close(l);
        n++;
    }
    static const char *const partial[] = {
        "GET /hello HTTP/1.1\r\nHo",
        "POST /upload HTTP/1.1\r\nHost: soak\r\nContent-Length: 50000\r\n\r\nsome of the body",
        "POST /upload HTTP/1.1\r\nHost: soak\r\nTransfer-Encoding: chunked\r\n\r\n10\r\n0123",
        "GET /ws HTTP/1.1\r\nHost: soak\r\nUpgrade: websocket\r\n",
    };
    const char *p = partial[rnd(w) % 4];
    if (link_send(l, p, strlen(p)) != 0)
        return fail_close(l);
    if (rnd(w) % 2)
        usleep(500); /* let the server take the bytes in before the reset */
    link_reset(l);
    return n;
}

int soak_rst_response(soak_worker *w, bool tls)
{
    soak_link *l = &link_a;
    l->rcvbuf = 4096; /* the answer cannot all fit in flight */
    if (open_link(w, l, tls) != 0)
        return -1;
    if (link_send(l, get_big, strlen(get_big)) != 0 || link_fill(l) <= 0) {
        soak_fail("GET /big before the reset: %s", soak_err);
        return fail_close(l);
    }
    if (memcmp(l->buf, "HTTP/1.1 200", l->end < 12 ? l->end : 12) != 0)
        return soak_fail("GET /big: unexpected answer"), fail_close(l);
    link_reset(l);
    return 1;
}

/* A ClientHello from OpenSSL through memory BIOs, sent raw (in whole or
 * in part) over a plain socket to the TLS port, then a reset. */
int soak_rst_handshake(soak_worker *w)
{
    SSL *ssl = SSL_new(w->ctx);
    BIO *rb = BIO_new(BIO_s_mem()), *wb = BIO_new(BIO_s_mem());
    if (!ssl || !rb || !wb) {
        SSL_free(ssl);
        BIO_free(rb);
        BIO_free(wb);
        return soak_fail("SSL_new failed");
    }
    SSL_set_bio(ssl, rb, wb);
    SSL_set_connect_state(ssl);
    SSL_do_handshake(ssl); /* wants to read: the ClientHello is in wb */
    ERR_clear_error();
    uint8_t hello[2048];
    int hl = BIO_read(wb, hello, sizeof hello);
    SSL_free(ssl);
    if (hl <= 0)
        return soak_fail("no ClientHello");
    soak_link *l = &link_a;
    if (link_open(l, w->port_tls, NULL, NULL, NULL) != 0)
        return -1;
    uint32_t how = rnd(w) % 3;
    if (how == 0) { /* nothing at all */
    } else if (how == 1) { /* a part of the ClientHello */
        if (link_send(l, hello, 1 + rnd(w) % (uint32_t)(hl - 1)) != 0)
            return fail_close(l);
    } else { /* all of it, and the server's first flight begun */
        if (link_send(l, hello, (size_t)hl) != 0 || link_fill(l) <= 0) {
            soak_fail("ClientHello unanswered: %s", soak_err);
            return fail_close(l);
        }
        if (l->buf[0] != 22) /* a handshake record */
            return soak_fail("ClientHello answered with record type %u", l->buf[0]),
                   fail_close(l);
    }
    link_reset(l);
    return 1;
}
