/* The soak client's connections: blocking sockets (every wait bounded by
 * SO_RCVTIMEO/SO_SNDTIMEO), plain or TLS through OpenSSL, a read buffer,
 * an HTTP/1.1 response reader and a minimal WebSocket client. Each
 * failing call returns -1 and leaves its reason in soak_err. */
#ifndef SOAK_IO_H
#define SOAK_IO_H

#include <openssl/ssl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Every blocking call gives up after this long: a guard against a hung
 * server, which the soak reports as an error. */
#define SOAK_IO_TIMEOUT_MS 10000

extern char soak_err[512];
int soak_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

typedef struct soak_link {
    int fd;
    SSL *ssl;
    int rcvbuf;      /* > 0: the SO_RCVBUF of the next link_open */
    size_t beg, end; /* unread bytes of buf */
    uint8_t buf[64 * 1024];
} soak_link;

/* A TCP connection to 127.0.0.1:port; with ctx, a TLS handshake on it,
 * offering session when not NULL (*reused says whether it was taken).
 * Returns 0 or -1. */
int link_open(soak_link *l, uint16_t port, SSL_CTX *ctx, SSL_SESSION *session, bool *reused);
/* An orderly close (close_notify over TLS, then FIN). */
void link_close(soak_link *l);
/* An abortive close: SO_LINGER 0, so the peer gets a RST. */
void link_reset(soak_link *l);
/* Sends all len bytes. Returns 0 or -1. */
int link_send(soak_link *l, const void *data, size_t len);
/* Reads more into the buffer. Returns the count, 0 at EOF (or a reset
 * after the peer closed), -1 on an error or timeout. */
int link_fill(soak_link *l);
/* Waits for the peer to close. Returns 0 once it has, -1 when more bytes
 * or nothing at all arrived. */
int link_expect_eof(soak_link *l);

typedef struct soak_resp {
    int status;
    uint64_t body_len;
    bool close;           /* Connection: close */
    char head[2048];      /* the head (cut), NUL-terminated */
    char body[128];       /* the first bytes of the body, NUL-terminated */
} soak_resp;

/* Reads one whole response (Content-Length, chunked, or none for 101,
 * 204 and 304). Returns 0 or -1. */
int link_response(soak_link *l, soak_resp *r);

/* The opening handshake on path; checks the 101 and its
 * Sec-WebSocket-Accept. Returns 0 or -1. */
int ws_open(soak_link *l, const char *path);
/* Sends one masked frame (fin set). Returns 0 or -1. */
int ws_send(soak_link *l, unsigned opcode, const void *data, size_t len);
/* Reads one frame into buf (cap bytes at most), answering pings.
 * Returns 0 (opcode and length in *opcode, *len) or -1. */
int ws_recv(soak_link *l, unsigned *opcode, uint8_t *buf, size_t cap, size_t *len);

#endif
