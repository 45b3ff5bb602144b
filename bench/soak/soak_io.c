/* The soak client's connections: plain or TLS, a buffered HTTP/1.1
 * response reader and a small WebSocket client (see soak_io.h). */
#include "soak_io.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

char soak_err[512];

int soak_fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(soak_err, sizeof soak_err, fmt, ap);
    va_end(ap);
    return -1;
}

int link_open(soak_link *l, uint16_t port, SSL_CTX *ctx, SSL_SESSION *session, bool *reused)
{
    l->beg = l->end = 0;
    l->ssl = NULL;
    l->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (l->fd < 0)
        return soak_fail("socket: %s", strerror(errno));
    struct timeval tv = {.tv_sec = SOAK_IO_TIMEOUT_MS / 1000};
    setsockopt(l->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(l->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    if (l->rcvbuf > 0)
        setsockopt(l->fd, SOL_SOCKET, SO_RCVBUF, &l->rcvbuf, sizeof l->rcvbuf);
    l->rcvbuf = 0;
    int one = 1;
    setsockopt(l->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(l->fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        int e = errno;
        close(l->fd);
        l->fd = -1;
        return soak_fail("connect to port %u: %s", port, strerror(e));
    }
    if (!ctx)
        return 0;
    l->ssl = SSL_new(ctx);
    if (!l->ssl || SSL_set_fd(l->ssl, l->fd) != 1) {
        link_reset(l);
        return soak_fail("SSL_new failed");
    }
    if (session)
        SSL_set_session(l->ssl, session);
    int r = SSL_connect(l->ssl);
    if (r != 1) {
        int e = SSL_get_error(l->ssl, r);
        unsigned long q = ERR_get_error();
        char why[160];
        ERR_error_string_n(q, why, sizeof why);
        ERR_clear_error();
        link_reset(l);
        return soak_fail("TLS handshake failed: SSL error %d, %s, errno %s", e, why,
                         strerror(errno));
    }
    if (reused)
        *reused = SSL_session_reused(l->ssl) == 1;
    return 0;
}

static void link_free(soak_link *l)
{
    if (l->ssl)
        SSL_free(l->ssl);
    l->ssl = NULL;
    if (l->fd >= 0)
        close(l->fd);
    l->fd = -1;
    ERR_clear_error();
}

void link_close(soak_link *l)
{
    if (l->ssl)
        SSL_shutdown(l->ssl);
    link_free(l);
}

void link_reset(soak_link *l)
{
    if (l->fd >= 0) {
        struct linger lg = {.l_onoff = 1, .l_linger = 0};
        setsockopt(l->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    }
    /* Marked as shut down, or OpenSSL would make the session it came
     * with unresumable for every later connection. */
    if (l->ssl)
        SSL_set_shutdown(l->ssl, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
    link_free(l);
}

int link_send(soak_link *l, const void *data, size_t len)
{
    const char *p = data;
    while (len > 0) {
        ssize_t n;
        if (l->ssl) {
            int chunk = len > (1u << 30) ? 1 << 30 : (int)len;
            n = SSL_write(l->ssl, p, chunk);
            if (n <= 0)
                return soak_fail("SSL_write: error %d (%s)", SSL_get_error(l->ssl, (int)n),
                                 strerror(errno));
        } else {
            n = send(l->fd, p, len, MSG_NOSIGNAL);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0)
                return soak_fail("send: %s", strerror(errno));
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int link_fill(soak_link *l)
{
    if (l->beg == l->end)
        l->beg = l->end = 0;
    if (l->end == sizeof l->buf) {
        memmove(l->buf, l->buf + l->beg, l->end - l->beg);
        l->end -= l->beg;
        l->beg = 0;
    }
    if (l->end == sizeof l->buf)
        return soak_fail("read buffer full");
    size_t room = sizeof l->buf - l->end;
    for (;;) {
        if (l->ssl) {
            int n = SSL_read(l->ssl, l->buf + l->end, (int)room);
            if (n > 0) {
                l->end += (size_t)n;
                return n;
            }
            int e = SSL_get_error(l->ssl, n);
            if (e == SSL_ERROR_ZERO_RETURN)
                return 0;
            if (e == SSL_ERROR_SYSCALL && (errno == 0 || errno == ECONNRESET))
                return 0; /* a close without close_notify */
            if (e == SSL_ERROR_SSL) {
                /* OpenSSL 3 reports an EOF without close_notify this way. */
                unsigned long q = ERR_peek_error();
                if (ERR_GET_REASON(q) == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
                    ERR_clear_error();
                    return 0;
                }
            }
            return soak_fail("SSL_read: error %d (%s)", e,
                             errno == EAGAIN ? "timed out" : strerror(errno));
        }
        ssize_t n = recv(l->fd, l->buf + l->end, room, 0);
        if (n > 0) {
            l->end += (size_t)n;
            return (int)n;
        }
        if (n == 0 || errno == ECONNRESET)
            return 0;
        if (errno == EINTR)
            continue;
        return soak_fail("recv: %s", errno == EAGAIN ? "timed out" : strerror(errno));
    }
}

int link_expect_eof(soak_link *l)
{
    if (l->end > l->beg)
        return soak_fail("%zu unexpected bytes before the close", l->end - l->beg);
    int n = link_fill(l);
    if (n < 0)
        return soak_fail("waiting for the close: %s", soak_err);
    if (n > 0)
        return soak_fail("%d unexpected bytes instead of the close", n);
    return 0;
}

/* Makes at least n unread bytes available. */
static int need(soak_link *l, size_t n)
{
    while (l->end - l->beg < n) {
        int r = link_fill(l);
        if (r < 0)
            return -1;
        if (r == 0)
            return soak_fail("connection closed with %zu of %zu bytes", l->end - l->beg, n);
    }
    return 0;
}

/* The header field name's value in head (NUL-terminated), or NULL. */
static const char *field(const char *head, const char *name)
{
    size_t nl = strlen(name);
    for (const char *p = strstr(head, "\r\n"); p; p = strstr(p + 2, "\r\n")) {
        const char *f = p + 2;
        if (strncasecmp(f, name, nl) == 0 && f[nl] == ':') {
            f += nl + 1;
            while (*f == ' ' || *f == '\t')
                f++;
            return f;
        }
    }
    return NULL;
}

/* Takes n body bytes, keeping the first ones in r->body. */
static int take_body(soak_link *l, soak_resp *r, uint64_t n)
{
    while (n > 0) {
        if (l->end == l->beg && need(l, 1) != 0)
            return -1;
        size_t have = l->end - l->beg;
        size_t take = have < n ? have : (size_t)n;
        if (r->body_len < sizeof r->body - 1) {
            size_t keep = sizeof r->body - 1 - (size_t)r->body_len;
            memcpy(r->body + r->body_len, l->buf + l->beg, keep < take ? keep : take);
        }
        l->beg += take;
        r->body_len += take;
        n -= take;
    }
    return 0;
}

/* A line (up to CRLF) of at most cap - 1 bytes into out. */
static int take_line(soak_link *l, char *out, size_t cap)
{
    for (;;) {
        uint8_t *start = l->buf + l->beg;
        uint8_t *lf = memchr(start, '\n', l->end - l->beg);
        if (lf) {
            size_t len = (size_t)(lf - start) + 1;
            if (len < 2 || lf[-1] != '\r' || len - 2 >= cap)
                return soak_fail("bad chunk line");
            memcpy(out, start, len - 2);
            out[len - 2] = '\0';
            l->beg += len;
            return 0;
        }
        if (l->end - l->beg > 256)
            return soak_fail("chunk line too long");
        if (need(l, l->end - l->beg + 1) != 0)
            return -1;
    }
}

static int chunked_body(soak_link *l, soak_resp *r)
{
    char line[128];
    for (;;) {
        if (take_line(l, line, sizeof line) != 0)
            return -1;
        char *end;
        unsigned long long size = strtoull(line, &end, 16);
        if (end == line)
            return soak_fail("bad chunk size '%s'", line);
        if (size == 0)
            break;
        if (take_body(l, r, size) != 0 || take_line(l, line, sizeof line) != 0)
            return -1;
        if (line[0])
            return soak_fail("chunk not followed by CRLF");
    }
    do { /* trailers, up to the empty line */
        if (take_line(l, line, sizeof line) != 0)
            return -1;
    } while (line[0]);
    return 0;
}

int link_response(soak_link *l, soak_resp *r)
{
    r->status = 0;
    r->body_len = 0;
    r->close = false;
    r->head[0] = r->body[0] = '\0';
    size_t head_len;
    for (;;) {
        uint8_t *start = l->buf + l->beg;
        size_t have = l->end - l->beg;
        uint8_t *end = have >= 4 ? memmem(start, have, "\r\n\r\n", 4) : NULL;
        if (end) {
            head_len = (size_t)(end - start) + 4;
            break;
        }
        if (have > 16384)
            return soak_fail("response head over 16 KiB");
        int n = link_fill(l);
        if (n < 0)
            return -1;
        if (n == 0)
            return soak_fail(have ? "connection closed mid-head" : "connection closed, no answer");
    }
    size_t keep = head_len < sizeof r->head - 1 ? head_len : sizeof r->head - 1;
    memcpy(r->head, l->buf + l->beg, keep);
    r->head[keep] = '\0';
    l->beg += head_len;
    if (sscanf(r->head, "HTTP/1.1 %3d ", &r->status) != 1)
        return soak_fail("bad status line: %.40s", r->head);
    const char *conn = field(r->head, "Connection");
    r->close = conn && strncasecmp(conn, "close", 5) == 0;
    const char *te = field(r->head, "Transfer-Encoding");
    const char *cl = field(r->head, "Content-Length");
    int err = 0;
    if (te && strncasecmp(te, "chunked", 7) == 0)
        err = chunked_body(l, r);
    else if (cl)
        err = take_body(l, r, strtoull(cl, NULL, 10));
    else if (r->status != 100 && r->status != 101 && r->status != 204 && r->status != 304)
        return soak_fail("status %d without a length", r->status);
    r->body[r->body_len < sizeof r->body - 1 ? r->body_len : sizeof r->body - 1] = '\0';
    return err;
}

/* ---- WebSocket ------------------------------------------------------------- */

int ws_open(soak_link *l, const char *path)
{
    char req[512];
    int n = snprintf(req, sizeof req,
                     "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                     "Sec-WebSocket-Version: 13\r\n\r\n",
                     path);
    if (link_send(l, req, (size_t)n) != 0)
        return -1;
    soak_resp r;
    if (link_response(l, &r) != 0)
        return -1;
    if (r.status != 101)
        return soak_fail("WebSocket upgrade answered %d", r.status);
    /* The accept value RFC 6455 gives for that key. */
    const char *accept = field(r.head, "Sec-WebSocket-Accept");
    if (!accept || strncmp(accept, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n", 30) != 0)
        return soak_fail("bad Sec-WebSocket-Accept");
    return 0;
}

int ws_send(soak_link *l, unsigned opcode, const void *data, size_t len)
{
    uint8_t head[14];
    size_t h = 0;
    head[h++] = (uint8_t)(0x80u | opcode);
    if (len < 126) {
        head[h++] = (uint8_t)(0x80u | len);
    } else if (len <= 0xffff) {
        head[h++] = 0x80u | 126;
        head[h++] = (uint8_t)(len >> 8);
        head[h++] = (uint8_t)len;
    } else {
        head[h++] = 0x80u | 127;
        for (int i = 7; i >= 0; i--)
            head[h++] = (uint8_t)((uint64_t)len >> (8 * i));
    }
    uint8_t mask[4] = {(uint8_t)rand(), (uint8_t)rand(), (uint8_t)rand(), (uint8_t)rand()};
    memcpy(head + h, mask, 4);
    h += 4;
    uint8_t frame[16384];
    memcpy(frame, head, h);
    const uint8_t *src = data;
    size_t used = h;
    for (size_t i = 0; i < len; i++) {
        frame[used++] = src[i] ^ mask[i & 3];
        if (used == sizeof frame || i + 1 == len) {
            if (link_send(l, frame, used) != 0)
                return -1;
            used = 0;
        }
    }
    if (len == 0)
        return link_send(l, frame, used);
    return 0;
}

int ws_recv(soak_link *l, unsigned *opcode, uint8_t *buf, size_t cap, size_t *len)
{
    for (;;) {
        if (need(l, 2) != 0)
            return -1;
        const uint8_t *p = l->buf + l->beg;
        if ((p[0] & 0x80u) == 0 || (p[0] & 0x70u) != 0 || (p[1] & 0x80u) != 0)
            return soak_fail("unexpected frame flags %02x %02x", p[0], p[1]);
        unsigned op = p[0] & 0x0fu;
        uint64_t n = p[1] & 0x7fu;
        size_t h = 2;
        if (n == 126) {
            if (need(l, 4) != 0)
                return -1;
            p = l->buf + l->beg;
            n = (uint64_t)p[2] << 8 | p[3];
            h = 4;
        } else if (n == 127) {
            if (need(l, 10) != 0)
                return -1;
            p = l->buf + l->beg;
            n = 0;
            for (int i = 0; i < 8; i++)
                n = n << 8 | p[2 + i];
            h = 10;
        }
        if (n > cap)
            return soak_fail("frame of %llu bytes, more than %zu", (unsigned long long)n, cap);
        l->beg += h;
        size_t got = 0;
        while (got < n) {
            if (l->end == l->beg && need(l, 1) != 0)
                return -1;
            size_t take = l->end - l->beg < n - got ? l->end - l->beg : (size_t)(n - got);
            memcpy(buf + got, l->buf + l->beg, take);
            l->beg += take;
            got += take;
        }
        if (op == 0x9) { /* ping: pong and go on */
            if (ws_send(l, 0xa, buf, got) != 0)
                return -1;
            continue;
        }
        *opcode = op;
        *len = got;
        return 0;
    }
}
