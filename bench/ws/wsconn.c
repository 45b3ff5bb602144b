/* A connection of wsload: a non-blocking connect, the opening handshake
 * (a 101 with Upgrade: websocket and the Sec-WebSocket-Accept its key
 * calls for, no extension), then masked text frames out and the echoes
 * in. Echoes are checked byte for byte as they stream in, so a message
 * need not fit in the input buffer; pings are answered with pongs. It
 * reads only what an echo server sends: it is not a WebSocket library. */
#include "ws_accept.h"
#include "wsload.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

static uint32_t rnd(void)
{
    g.rng ^= g.rng << 13;
    g.rng ^= g.rng >> 17;
    g.rng ^= g.rng << 5;
    return g.rng;
}

static void set_events(conn *c, bool out)
{
    struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP | (out ? EPOLLOUT : 0u),
                             .data.u32 = (uint32_t)(c - g.c)};
    if (epoll_ctl(g.ep, EPOLL_CTL_MOD, c->fd, &ev) < 0)
        fail("epoll_ctl: %s", strerror(errno));
    c->want_out = out;
}

/* Room for len more bytes of output, moving the unsent ones to the front
 * if need be. The buffer holds depth messages and a pong or two: more
 * means the server stopped reading. */
static uint8_t *reserve(conn *c, size_t len)
{
    if (c->out_len + len > g.out_cap && c->out_off > 0) {
        memmove(c->out, c->out + c->out_off, c->out_len - c->out_off);
        c->out_len -= c->out_off;
        c->out_off = 0;
    }
    if (c->out_len + len > g.out_cap)
        fail("connection %zu: the server does not read (output buffer full)", (size_t)(c - g.c));
    return c->out + c->out_len;
}

static void append(conn *c, const void *data, size_t len)
{
    memcpy(reserve(c, len), data, len);
    c->out_len += len;
}

static void flush(conn *c)
{
    while (c->out_off < c->out_len) {
        ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN) {
            if (!c->want_out)
                set_events(c, true);
            return;
        }
        if (n < 0)
            fail("connection %zu: send: %s", (size_t)(c - g.c), strerror(errno));
        c->out_off += (size_t)n;
    }
    c->out_off = c->out_len = 0;
    if (c->want_out)
        set_events(c, false);
}

/* Appends a masked frame with a fresh mask (RFC 6455 5.3). */
static void append_frame(conn *c, uint8_t op, const uint8_t *payload, size_t len)
{
    uint8_t head[14];
    size_t h = 0;
    head[h++] = (uint8_t)(0x80 | op);
    if (len < 126) {
        head[h++] = (uint8_t)(0x80 | len);
    } else if (len < 65536) {
        head[h++] = 0x80 | 126;
        head[h++] = (uint8_t)(len >> 8);
        head[h++] = (uint8_t)len;
    } else {
        head[h++] = 0x80 | 127;
        for (int i = 7; i >= 0; i--)
            head[h++] = (uint8_t)((uint64_t)len >> (8 * i));
    }
    uint32_t m = rnd();
    uint8_t mask[4] = {(uint8_t)(m >> 24), (uint8_t)(m >> 16), (uint8_t)(m >> 8), (uint8_t)m};
    memcpy(head + h, mask, 4);
    h += 4;
    uint8_t *dst = reserve(c, h + len);
    memcpy(dst, head, h);
    for (size_t i = 0; i < len; i++)
        dst[h + i] = payload[i] ^ mask[i & 3];
    c->out_len += h + len;
}

static void send_message(conn *c)
{
    c->sent_ns[(c->head + c->inflight) % cfg.depth] = now_ns();
    c->inflight++;
    append_frame(c, 0x1, g.pattern, cfg.size);
}

static void start_load(conn *c)
{
    for (unsigned i = 0; i < cfg.depth; i++)
        send_message(c);
    flush(c);
}

static void on_established(conn *c)
{
    c->state = ST_OPEN;
    g.pending--;
    g.established++;
    while (g.started < cfg.conns && g.pending < cfg.batch)
        conn_start();
    if (g.established < cfg.conns)
        return;
    if (cfg.idle) {
        g.t_start = now_ns();
        printf("established %u secs=%.3f\n", g.established, (double)(g.t_start - g.t_begin) / 1e9);
        fflush(stdout);
    } else {
        g.running = true;
        g.t_start = now_ns();
        for (unsigned i = 0; i < cfg.conns; i++)
            start_load(&g.c[i]);
    }
}

static void server_closed(conn *c, const char *why)
{
    if (!cfg.idle || c->state != ST_OPEN)
        fail("connection %zu: %s", (size_t)(c - g.c), why);
    g.closed_by_server++;
    close(c->fd);
    c->state = ST_CLOSED;
}

static void message_done(conn *c)
{
    if (c->msg_off != cfg.size)
        fail("an echo of %llu bytes for a message of %u", (unsigned long long)c->msg_off, cfg.size);
    if (c->inflight == 0)
        fail("a message nobody sent (idle mode, or an echo too many)");
    uint64_t t = now_ns();
    latency_add(t - c->sent_ns[c->head]);
    c->head = (c->head + 1) % cfg.depth;
    c->inflight--;
    c->msg_off = 0;
    g.messages++;
    if (g.running)
        send_message(c);
}

/* Reads the frames in c->in; returns false when the connection closed. */
static bool read_frames(conn *c)
{
    size_t pos = 0;
    while (pos < c->in_len) {
        uint8_t *p = c->in + pos;
        size_t avail = c->in_len - pos;
        if (c->frame_left > 0) { /* the rest of a data frame's payload */
            size_t n = avail < c->frame_left ? avail : (size_t)c->frame_left;
            if (c->msg_off + n > cfg.size || memcmp(p, g.pattern + c->msg_off, n) != 0)
                fail("connection %zu: the echo differs from the message", (size_t)(c - g.c));
            c->msg_off += n;
            c->frame_left -= n;
            pos += n;
            if (c->frame_left == 0 && c->frame_fin)
                message_done(c);
            continue;
        }
        if (avail < 2)
            break;
        if (p[1] & 0x80)
            fail("the server masked a frame");
        if (p[0] & 0x70)
            fail("a frame with reserved bits set (no extension was agreed)");
        size_t h = 2;
        uint64_t len = p[1] & 0x7f;
        if (len == 126)
            h += 2;
        else if (len == 127)
            h += 8;
        if (avail < h)
            break;
        if (len >= 126) {
            len = 0;
            for (size_t i = 2; i < h; i++)
                len = len << 8 | p[i];
        }
        uint8_t op = p[0] & 0x0f;
        bool fin = p[0] & 0x80;
        if (op & 0x8) { /* control frames are short: wait for the whole one */
            if (len > 125 || !fin)
                fail("a bad control frame from the server");
            if (avail < h + len)
                break;
            if (op == 0x9) { /* ping: pong with its payload */
                append_frame(c, 0xa, p + h, (size_t)len);
                flush(c);
            } else if (op == 0x8) {
                server_closed(c, "the server closed the WebSocket");
                return false;
            }
            pos += h + (size_t)len;
            continue;
        }
        if (op == 0x0 ? c->frame_op == 0 : c->msg_off != 0 || c->frame_op != 0)
            fail("a continuation frame out of place");
        if (op != 0x0 && op != 0x1)
            fail("an echo of opcode %u, not text", op);
        c->frame_op = fin ? 0 : 0x1;
        c->frame_fin = fin;
        c->frame_left = len;
        pos += h;
        if (len == 0 && fin)
            message_done(c);
    }
    memmove(c->in, c->in + pos, c->in_len - pos);
    c->in_len -= pos;
    if (c->in_len == g.in_cap)
        fail("a frame header that does not fit in %zu bytes", g.in_cap);
    return true;
}

/* The 101's head; false while it is incomplete. */
static bool read_handshake(conn *c)
{
    uint8_t *end = memmem(c->in, c->in_len, "\r\n\r\n", 4);
    if (!end) {
        if (c->in_len == g.in_cap)
            fail("an answer to the handshake longer than %zu bytes", g.in_cap);
        return false;
    }
    size_t head_len = (size_t)(end - c->in) + 4;
    *end = '\0';
    char *line = (char *)c->in, *next;
    if (strncmp(line, "HTTP/1.1 101", 12) != 0) {
        char *eol = strstr(line, "\r\n");
        if (eol)
            *eol = '\0';
        fail("the handshake was answered \"%.80s\", not 101", line);
    }
    bool upgrade = false, accepted = false;
    for (; (next = strstr(line, "\r\n")) != NULL || *line; line = next) {
        if (next) {
            *next = '\0';
            next += 2;
        } else {
            next = line + strlen(line);
        }
        char *colon = strchr(line, ':');
        if (!colon)
            continue;
        *colon = '\0';
        char *v = colon + 1;
        v += strspn(v, " \t");
        v[strcspn(v, " \t")] = '\0';
        if (strcasecmp(line, "upgrade") == 0)
            upgrade = strcasecmp(v, "websocket") == 0;
        else if (strcasecmp(line, "sec-websocket-accept") == 0 && strcmp(v, c->accept) != 0)
            fail("Sec-WebSocket-Accept is %s, %s expected", v, c->accept);
        else if (strcasecmp(line, "sec-websocket-accept") == 0)
            accepted = true;
        else if (strcasecmp(line, "sec-websocket-extensions") == 0)
            fail("the server agreed to an extension (%s) none was offered", v);
    }
    if (!upgrade || !accepted)
        fail("a 101 without %s", upgrade ? "Sec-WebSocket-Accept" : "Upgrade: websocket");
    memmove(c->in, c->in + head_len, c->in_len - head_len);
    c->in_len -= head_len;
    on_established(c);
    return true;
}

static void on_readable(conn *c)
{
    ssize_t n = recv(c->fd, c->in + c->in_len, g.in_cap - c->in_len, 0);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (n <= 0) {
        server_closed(c, n == 0 ? "the server closed the connection" : strerror(errno));
        return;
    }
    c->in_len += (size_t)n;
    if (c->state == ST_HANDSHAKE && !read_handshake(c))
        return;
    if (read_frames(c) && c->out_len > c->out_off && !c->want_out)
        flush(c); /* the next messages, sent as the echoes came */
}

static void send_request(conn *c)
{
    uint8_t raw[16];
    char key[25], req[512];
    for (unsigned i = 0; i < 16; i += 4) {
        uint32_t r = rnd();
        memcpy(raw + i, &r, 4);
    }
    ws_base64(raw, sizeof raw, key);
    ws_accept_for(key, c->accept);
    int n = snprintf(req, sizeof req,
                     "GET %s HTTP/1.1\r\nHost: %s:%u\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
                     "Sec-WebSocket-Version: 13\r\n\r\n",
                     cfg.path, inet_ntoa(cfg.dst.sin_addr), ntohs(cfg.dst.sin_port), key);
    c->state = ST_HANDSHAKE;
    append(c, req, (size_t)n);
    flush(c);
}

void conn_start(void)
{
    conn *c = &g.c[g.started];
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0)
        fail("socket (connection %u): %s", g.started, strerror(errno));
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (cfg.sources > 1) { /* 127.0.0.1, .2, ...: each has its own ports */
        struct sockaddr_in src = {.sin_family = AF_INET,
                                  .sin_addr.s_addr = htonl(0x7f000001u + g.started % cfg.sources)};
        setsockopt(c->fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
        if (bind(c->fd, (struct sockaddr *)&src, sizeof src) < 0)
            fail("bind to %s: %s", inet_ntoa(src.sin_addr), strerror(errno));
    }
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP, .data.u32 = g.started};
    if (epoll_ctl(g.ep, EPOLL_CTL_ADD, c->fd, &ev) < 0)
        fail("epoll_ctl: %s", strerror(errno));
    c->want_out = true;
    g.started++;
    g.pending++;
    if (connect(c->fd, (struct sockaddr *)&cfg.dst, sizeof cfg.dst) == 0) {
        send_request(c);
        return;
    }
    if (errno != EINPROGRESS)
        fail("connect (connection %u): %s%s", g.started, strerror(errno),
             errno == EADDRNOTAVAIL ? " (out of source ports: try --sources)" : "");
    c->state = ST_CONNECTING;
}

void conn_event(conn *c, uint32_t events)
{
    if (c->state == ST_CONNECTING) {
        int err = 0;
        socklen_t len = sizeof err;
        getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err)
            fail("connect (connection %zu): %s", (size_t)(c - g.c), strerror(err));
        if (!(events & EPOLLOUT))
            return;
        send_request(c);
        return;
    }
    if (events & EPOLLOUT)
        flush(c);
    if (c->state != ST_CLOSED && (events & (EPOLLIN | EPOLLERR | EPOLLHUP | EPOLLRDHUP)))
        on_readable(c);
}
