/* WebSocket (RFC 6455, with permessage-deflate of RFC 7692): a handler
 * accepts the upgrade, then reads whole messages straight-line, or has
 * them delivered to a callback while the quiet connection holds no task.
 * Included by <zzz.h>. */
#ifndef ZZZ_WS_API_H
#define ZZZ_WS_API_H

#include <zzz.h>

#pragma GCC visibility push(default)

#ifdef __cplusplus
extern "C" {
#endif

typedef struct zzz_ws zzz_ws;

/* Close codes zzz sends (RFC 6455 7.4.1). */
enum {
    ZZZ_WS_NORMAL = 1000,
    ZZZ_WS_GOING_AWAY = 1001,    /* the server is shutting down */
    ZZZ_WS_PROTOCOL = 1002,      /* a frame broke the protocol */
    ZZZ_WS_UNSUPPORTED = 1003,   /* a message type the application refuses */
    ZZZ_WS_NO_STATUS = 1005,     /* (never sent) a close without a code */
    ZZZ_WS_ABNORMAL = 1006,      /* (never sent) the connection ended without a close */
    ZZZ_WS_INVALID_DATA = 1007,  /* text that is not UTF-8, or bad compressed data */
    ZZZ_WS_POLICY = 1008,        /* a subscriber that fell behind, or the application's refusal */
    ZZZ_WS_TOO_BIG = 1009,       /* a message past max_message */
    ZZZ_WS_INTERNAL = 1011,      /* the server could not go on (memory) */
};

typedef enum zzz_ws_type {
    ZZZ_WS_TEXT = 1,   /* UTF-8, checked */
    ZZZ_WS_BINARY = 2,
} zzz_ws_type;

/* A whole message, its fragments joined and, with permessage-deflate,
 * inflated. data is valid until the next zzz_ws_read, or until the
 * on_message call returns; text is not NUL-terminated. */
typedef struct zzz_ws_msg {
    zzz_ws_type type;
    const uint8_t *data;
    size_t len;
} zzz_ws_msg;

/* What a subscriber's connection does when its queue of messages from
 * other connections (see zzz_ws_publish) is full: it cannot keep up. */
typedef enum zzz_ws_overflow {
    ZZZ_WS_OVERFLOW_CLOSE = 0, /* close it with 1008 */
    ZZZ_WS_OVERFLOW_DROP,      /* drop the messages that do not fit (counted) */
} zzz_ws_overflow;

typedef struct zzz_ws_opts {
    /* Subprotocols spoken, most preferred first, NULL-terminated: the
     * first of these the client lists in Sec-WebSocket-Protocol is
     * chosen (zzz_ws_protocol). A client that lists only others is
     * refused with 400 unless protocol_optional. NULL: none chosen. */
    const char *const *protocols;
    bool protocol_optional;
    /* Called with the Origin field (empty when there is none; browsers
     * always send it); false refuses the upgrade with 403. NULL: any
     * origin. */
    bool (*check_origin)(const zzz_req *req, zzz_str origin, void *user);
    /* The longest message accepted, after inflating; a longer one closes
     * the connection with 1009. 0: 1 MiB. */
    size_t max_message;
    /* Accept permessage-deflate when the client offers it (needs zlib;
     * without it the offer is declined). Each message is compressed on
     * its own (no context takeover either way), so a quiet connection
     * keeps no compressor. */
    bool deflate;
    /* Messages of at least this many bytes are sent compressed when
     * deflate was agreed; 0: 256. */
    size_t deflate_min;
    /* A connection quiet this long is sent a ping; one still quiet as
     * long again (no pong, no frame) is closed. 0: 30 s. */
    uint32_t ping_interval_ms;
    /* Callback mode: when set, zzz_ws_accept returns at once and the
     * handler returns; each message is then handed to on_message in a
     * task that exists only for that call, and the connection holds no
     * task, stack or buffer while quiet. zzz_ws_read may not be used.
     * on_message may send (to this connection or others), publish,
     * subscribe, and close. */
    void (*on_message)(zzz_ws *ws, const zzz_ws_msg *msg, void *user);
    /* Called once when a callback-mode connection ends (close handshake,
     * error, shutdown, the client gone), with zzz_ws_close_code's code;
     * the zzz_ws is freed when it returns. It may run outside any task:
     * it must not send, but may publish, unsubscribe and free what
     * zzz_ws_data holds. */
    void (*on_close)(zzz_ws *ws, uint16_t code, void *user);
    void *user; /* given to the three callbacks */
    /* Bytes of messages from other connections queued for this one
     * (each counted with 64 bytes of its own) before overflow applies;
     * an empty queue takes any one message. 0: 1 MiB. */
    size_t max_queue;
    zzz_ws_overflow overflow;
} zzz_ws_opts;

/* Validates req as a WebSocket opening handshake and, if it is one,
 * answers 101 and takes the connection over (zzz_res_take_over). It
 * checks: method GET on HTTP/1.1; Upgrade holding the token "websocket"
 * and Connection holding "upgrade" (token lists, any case); a
 * Sec-WebSocket-Key of 16 bytes in base64; Sec-WebSocket-Version 13 (else
 * 426 with Sec-WebSocket-Version: 13); check_origin; a subprotocol. A
 * refusal is answered here through the error seam (400, 403, 426; 405
 * with Allow: GET for another method), and zzz_ws_accept returns its
 * negative code: -EPROTO for a request that is not a valid handshake,
 * -EPERM for an origin refused, -ENOPROTOOPT for no common subprotocol.
 * Other errors: -EINVAL for NULL arguments, -ENOMEM (500 answered), or
 * zzz_res_take_over's. On success returns 0 and sets *ws; in callback
 * mode the handler should return soon after (it may send first). */
int zzz_ws_accept(zzz_req *req, zzz_res *res, const zzz_ws_opts *opts, zzz_ws **ws);

/* The subprotocol chosen; NULL when none was. */
const char *zzz_ws_protocol(const zzz_ws *ws);
/* True when permessage-deflate was agreed. */
bool zzz_ws_deflated(const zzz_ws *ws);
/* The connection under the WebSocket (for its peer address, TLS info). */
zzz_conn *zzz_ws_conn(const zzz_ws *ws);
/* A pointer the application keeps with the connection. */
void *zzz_ws_data(const zzz_ws *ws);
void zzz_ws_set_data(zzz_ws *ws, void *data);

/* Reads the next whole message (straight-line mode), answering pings
 * and checking every frame on the way: unmasked client frames, reserved
 * bits or opcodes, fragmented or oversized (over 125 bytes) control
 * frames, a continuation out of place, a bad close code close with 1002;
 * text that is not UTF-8 (checked across fragments as they come), or
 * bad compressed data, with 1007; a message past max_message with 1009.
 * Returns 0 and fills *msg; -EPIPE once the WebSocket has closed (the
 * client's close was answered, or ours was sent and answered, or a
 * protocol error closed it; zzz_ws_close_code says with what); -ETIMEDOUT
 * when the client stayed quiet through a ping and the time after it;
 * -ECANCELED when the server is shutting down (a 1001 close is sent);
 * -ECONNRESET and the connection's read errors; -EINVAL in callback mode.
 * The handler returns after -EPIPE; the connection then closes. */
int zzz_ws_read(zzz_ws *ws, zzz_ws_msg *msg);

/* Sends one whole message. From the connection's own task (the
 * straight-line handler, or this connection's on_message) it goes into
 * the write buffer, which leaves when it fills, when the task next waits
 * for the client, or when on_message returns; a large message is written
 * at once and may wait for the client to read (the server's
 * write_timeout_ms). From another task of the same thread (another
 * connection's on_message) it is copied into the connection's queue and
 * sent from its own task, so a slow client never stalls the sender; a
 * full queue is overflow's case. Other threads reach a connection
 * through zzz_ws_publish. Returns 0; -EINVAL for text that is not UTF-8;
 * -EPIPE once the WebSocket has closed or a close was sent (or the queue
 * overflowed, CLOSE); -ENOBUFS when the queue was full (DROP); -EXDEV
 * from another thread; -EBUSY inside a streamed message; -ENOMEM; or
 * zzz_conn_write's errors. */
int zzz_ws_send_text(zzz_ws *ws, const char *text, size_t len);
int zzz_ws_send_binary(zzz_ws *ws, const void *data, size_t len);
/* A ping with up to 125 bytes of payload (its pong is swallowed), from
 * the connection's own task (else -EXDEV). Returns as zzz_ws_send_text,
 * and -EMSGSIZE past 125 bytes. */
int zzz_ws_ping(zzz_ws *ws, const void *data, size_t len);

/* Starts the close handshake: sends a close with code (1000..4999, not
 * 1004-1006, 1015 or an unassigned 1xxx) and a reason of at most 123
 * bytes of UTF-8 (may be NULL). zzz_ws_read then returns -EPIPE once
 * the client answers (or after ping_interval_ms without an answer,
 * whatever else it sends meanwhile), and
 * the connection closes after it. From another task of the thread the
 * close is sent after what is queued. Returns 0; -EINVAL for a bad code
 * or reason; -EALREADY when a close was already sent or asked for; as
 * zzz_ws_send_text. */
int zzz_ws_close(zzz_ws *ws, uint16_t code, const char *reason);
/* The code of the close received (1005 when it had none), or sent when
 * we closed first; 1006 when none was. */
uint16_t zzz_ws_close_code(const zzz_ws *ws);

/* A message too large to hold at once, sent in fragments (own task
 * only): begin with its type, then append parts, then end. Nothing else
 * may be sent on the connection in between (pings are answered still).
 * Not compressed. Each returns as zzz_ws_send_text; -EBUSY for a begin
 * inside a streamed message, -EINVAL for a part or end outside one; text
 * is checked as UTF-8 across parts (a sequence may span two). */
int zzz_ws_stream_begin(zzz_ws *ws, zzz_ws_type type);
int zzz_ws_stream_part(zzz_ws *ws, const void *data, size_t len);
int zzz_ws_stream_end(zzz_ws *ws);

/* ---- publish / subscribe, across the server's threads ----------------- */

/* Subscribes the connection to a topic (a C string of at most 255
 * bytes; copied): messages published to it arrive as if sent with
 * zzz_ws_send from another task, through the connection's queue. From a
 * task of the connection's thread. Returns 0 (also when already
 * subscribed); -EINVAL; -EXDEV from another thread; -EPIPE once closed;
 * -ENOSPC past 64 subscriptions of one connection; -ECANCELED while the
 * server stops; -ENOMEM. A connection's subscriptions end with it.
 * zzz_ws_unsubscribe returns 0, -ENOENT when it was not subscribed, or
 * -EXDEV from another thread. */
int zzz_ws_subscribe(zzz_ws *ws, const char *topic);
int zzz_ws_unsubscribe(zzz_ws *ws, const char *topic);

/* Sends a message to every connection subscribed to topic on every
 * thread of server (zzz_conn_server(zzz_ws_conn(ws)) from a handler), the
 * publisher too if subscribed. Callable from any thread, in a task or
 * not. It copies the message once and returns without waiting for any
 * subscriber; each gets it through its queue. A thread whose backlog of
 * publications (4096) is full misses it (counted as dropped). Returns
 * the number of threads it was handed to (>= 0); -EINVAL for a NULL
 * server or topic, a topic over 255 bytes, or text that is not UTF-8;
 * -ENOMEM. */
int zzz_ws_publish(zzz_server *server, const char *topic, zzz_ws_type type, const void *data,
                   size_t len);

/* Messages dropped and connections closed for overflow, summed over the
 * server's threads. */
typedef struct zzz_ws_stats {
    uint64_t dropped;
    uint64_t overflow_closed;
} zzz_ws_stats;
void zzz_ws_stats_get(zzz_server *server, zzz_ws_stats *out);

#ifdef __cplusplus
}
#endif

#pragma GCC visibility pop
#endif /* ZZZ_WS_API_H */
