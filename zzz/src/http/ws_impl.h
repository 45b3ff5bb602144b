/* A WebSocket connection's state, shared by the upgrade (ws_handshake.c),
 * the frame engine (ws.c) and publish/subscribe (ws_pubsub.c). Not
 * installed. */
#ifndef ZZZ_WS_IMPL_H
#define ZZZ_WS_IMPL_H

#include "ws_frame.h"
#include "zzz.h"

#include <stdatomic.h>

#define ZZZ_WS_DEFAULT_MAX_MESSAGE ((size_t)1024 * 1024)
#define ZZZ_WS_DEFAULT_MAX_QUEUE ((size_t)1024 * 1024)
#define ZZZ_WS_DEFAULT_PING_MS 30000u
#define ZZZ_WS_DEFAULT_DEFLATE_MIN ((size_t)256)

/* A message on its way to one or more connections from other tasks: one
 * copy, counted, freed by the last connection done with it. */
typedef struct ws_shared {
    atomic_uint refs;
    zzz_ws_type type;
    size_t len;
    uint8_t data[];
} ws_shared;

typedef struct ws_item {
    struct ws_item *next;
    ws_shared *msg;
} ws_item;

typedef struct ws_sub ws_sub; /* a subscription (ws_pubsub.c) */

struct zzz_ws {
    zzz_conn *conn;
    tardy_runtime *rt;  /* the thread that serves it */
    tardy_task task;    /* the task serving it now; zero between calls */
    bool callback;      /* opts.on_message: callback mode */
    bool sse;           /* not a WebSocket: a pushed event stream
                           (zzz_sse_push), whose messages are composed
                           events, sent as chunks (or bare, HTTP/1.0) */
    bool sse_chunked;
    bool read_wait;     /* its straight-line task waits for bytes (a wake
                           cancels that wait) */
    bool wake;          /* a wake came during read_wait */
    bool close_sent;
    bool close_received;
    bool closed;        /* no more frames either way */
    bool failed;        /* closed by an error: the TCP close follows at once */
    bool overflowed;    /* its queue overflowed with ZZZ_WS_OVERFLOW_CLOSE */
    bool ping_out;      /* a keep-alive ping awaits any sign of life */
    bool close_asked;   /* zzz_ws_close from another task: close_req waits */
    bool deflate;
    bool streaming;     /* inside zzz_ws_stream_begin .. end */
    bool stream_text;
    bool stream_sent;   /* its first frame has left */
    bool in_frame;      /* a frame's head is read, its payload not all */
    bool in_message;    /* a fragmented data message is in progress */
    bool msg_text;
    bool msg_compressed;
    int window_bits;
    uint16_t close_code;
    const char *protocol;
    size_t max_message;
    size_t deflate_min;
    size_t max_queue;
    uint32_t ping_ms;
    zzz_ws_overflow overflow;
    void (*on_message)(zzz_ws *ws, const zzz_ws_msg *msg, void *user);
    void (*on_close)(zzz_ws *ws, uint16_t code, void *user);
    void *user;
    void *data;
    zzz_ws_frame frame;
    uint64_t frame_done;  /* payload bytes of `frame` taken so far */
    size_t consume_later; /* a message delivered in place in the receive
                             buffer: consumed by the next read */
    zzz_utf8 utf8;        /* the text message's check so far */
    zzz_utf8 stream_utf8; /* zzz_ws_stream_part's */
    uint8_t *msg;         /* the message being joined (malloc) */
    size_t msg_len;
    size_t msg_cap;
    uint8_t *given;       /* a joined message handed out, freed next read */
    uint8_t ctrl[125];    /* a control frame's payload */
    uint8_t ctrl_len;
    uint8_t close_req_len;
    uint8_t close_req[125]; /* the close another task asked for */
    uint64_t quiet_since;   /* when bytes last arrived */
    uint64_t close_sent_at; /* when our close left */
    unsigned turns;         /* messages served, for WS_TURN */
    ws_item *q_head;
    ws_item *q_tail;
    size_t q_bytes;
    ws_sub *subs;
    struct zzz_ws_hub *hub; /* its thread's publish/subscribe state */
};

/* True when the calling task is the one serving ws now. */
static inline bool zzz_ws_own(const zzz_ws *ws)
{
    return ws->task.id != 0 && ws->task.id == tardy_self().id;
}

/* The frame engine (ws.c), for ws_serve.c and ws_stream.c: a frame out (into the write
 * buffer when it fits); a close out (close_sent set); what other tasks
 * queued, sent from ws's own task; the queue dropped; and the receive
 * buffer read: 1 with a whole message in *msg, 0 when more bytes are
 * needed, -EPIPE once the WebSocket has closed. */
int zzz_ws_write_frame(zzz_ws *ws, bool fin, uint8_t rsv, uint8_t op, const void *data,
                       size_t len);
int zzz_ws_write_close(zzz_ws *ws, uint16_t code, const void *reason, size_t reason_len);
int zzz_ws_drain(zzz_ws *ws);
int zzz_ws_write_chunk(zzz_ws *ws, const void *data, size_t len);
void zzz_ws_queue_clear(zzz_ws *ws);
int zzz_ws_pump(zzz_ws *ws, zzz_ws_msg *msg);

/* The serving side the upgrade needs (ws_serve.c). */
zzz_conn_next zzz_ws_on_conn(zzz_conn *conn, void *user);
void zzz_ws_conn_closed(zzz_conn *conn, void *user);

/* Queues a shared message for ws (from a task that is not ws's) and wakes
 * ws's task; takes a reference on success. Returns 0, -ENOBUFS (dropped),
 * -EPIPE (ws closed or overflowing), -ENOMEM. */
int zzz_ws_enqueue(zzz_ws *ws, ws_shared *msg);
ws_shared *zzz_ws_shared_new(zzz_ws_type type, const void *data, size_t len, unsigned refs);
void zzz_ws_shared_put(ws_shared *msg);

/* Publishes to the subscribers of topic of one kind: WebSockets, or
 * pushed event streams (sse: the message is a composed event). */
int zzz_ws_publish_kind(zzz_server *server, const char *topic, bool sse, zzz_ws_type type,
                        const void *data, size_t len);

/* An event's text as a stream carries it (sse.c): *out is malloc'd.
 * Returns 0; -EINVAL for an event zzz_sse_send refuses; -ENOMEM. */
int zzz_sse_compose(const zzz_sse_event *ev, char **out, size_t *len);

/* A pushed event stream's turn (sse_push.c), from zzz_ws_on_conn. */
zzz_conn_next zzz_sse_push_serve(zzz_conn *conn, zzz_ws *ws);

/* Publish/subscribe's part of a connection's end (ws_pubsub.c). */
void zzz_ws_unsubscribe_all(zzz_ws *ws);
/* Counts a dropped message or an overflow close for ws's server. */
void zzz_ws_count(zzz_ws *ws, bool dropped);

#endif
