/* What wsload's two halves share: wsload.c (options, set-up, the event
 * loop, the figures) and wsconn.c (a connection: connect, handshake,
 * frames out and echoes in). One thread: plain globals. */
#ifndef WSLOAD_H
#define WSLOAD_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct wsload_cfg {
    struct sockaddr_in dst;
    const char *path;
    unsigned conns, size, depth, secs, timeout, hold, sources, batch;
    int cpu;
    bool idle;
} wsload_cfg;
extern wsload_cfg cfg;

enum { ST_IDLE, ST_CONNECTING, ST_HANDSHAKE, ST_OPEN, ST_CLOSED };

typedef struct conn {
    int fd;
    uint8_t state;
    bool want_out;    /* EPOLLOUT is in the interest set */
    uint8_t frame_op; /* the data frame being read */
    bool frame_fin;
    uint64_t frame_left; /* its payload bytes still to come */
    uint64_t msg_off;    /* bytes of the echoed message checked so far */
    char accept[29];     /* the Sec-WebSocket-Accept expected */
    uint8_t *in, *out;
    size_t in_len, out_off, out_len;
    uint64_t *sent_ns; /* send times of the messages in flight, a ring */
    unsigned head, inflight;
} conn;

typedef struct wsload_state {
    int ep;
    conn *c;
    size_t in_cap, out_cap;
    uint8_t *pattern; /* the message every connection sends */
    unsigned started, pending, established, closed_by_server;
    bool running;     /* load mode: between the start and the deadline */
    uint64_t t_begin; /* when the first connection was started */
    uint64_t t_start; /* when the last handshake completed */
    uint64_t messages;
    uint32_t rng;
} wsload_state;
extern wsload_state g;

/* Prints "wsload: ..." on stderr and exits with status 1. */
_Noreturn void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
uint64_t now_ns(void);
/* Counts one round trip in the histogram. */
void latency_add(uint64_t ns);

/* Starts connection number g.started (connect, then the handshake). */
void conn_start(void);
/* Handles what epoll reported for c. */
void conn_event(conn *c, uint32_t events);

#endif
