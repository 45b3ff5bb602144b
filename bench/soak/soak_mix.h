/* The soak client's kinds of exchange (soak_mix.c). Each returns how
 * many requests it made (WebSocket messages count as requests), or -1
 * with soak_err set. */
#ifndef SOAK_MIX_H
#define SOAK_MIX_H

#include "soak_io.h"

typedef struct soak_worker {
    uint16_t port_plain, port_tls;
    SSL_CTX *ctx;
    SSL_SESSION *session; /* the last full handshake's, offered again */
    uint64_t rng;
    uint64_t tls_full, tls_resumed, tls_missed; /* missed: offered, not taken */
} soak_worker;

void soak_mix_init(soak_worker *w);

/* 5 to 30 GET on one connection (1 in 8 of 256 KiB), the last one
 * asking half the time for the close. */
int soak_keepalive(soak_worker *w, bool tls);
/* 2 to 32 GET sent in one write, then their answers. */
int soak_pipeline(soak_worker *w, bool tls);
/* A malformed head (after 0 to 2 good requests): the expected error
 * status, then the close. */
int soak_bad(soak_worker *w, bool tls);
/* 1 to 3 uploads of 0 to 64 KiB (Content-Length or chunked, some with
 * Expect: 100-continue), each answered with its length and hash. */
int soak_upload(soak_worker *w, bool tls);
/* The upgrade, 5 to 30 echoed messages of 0 B to 192 KiB, then the close
 * handshake (1 in 10: a reset mid-frame instead). */
int soak_ws(soak_worker *w, bool tls);
/* A reset in the middle of a request head or body. */
int soak_rst_request(soak_worker *w, bool tls);
/* A reset once a 256 KiB answer has begun to arrive. */
int soak_rst_response(soak_worker *w, bool tls);
/* A reset mid-handshake: before the ClientHello, in the middle of it, or
 * after the server's first flight has begun. */
int soak_rst_handshake(soak_worker *w);

#endif
