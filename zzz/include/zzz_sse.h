/* Server-sent events (the HTML standard's text/event-stream): a handler
 * keeps its response open and pushes events down it, straight-line.
 * Included by <zzz.h>. */
#ifndef ZZZ_SSE_API_H
#define ZZZ_SSE_API_H

#include <zzz.h>

#pragma GCC visibility push(default)

#ifdef __cplusplus
extern "C" {
#endif

/* An event stream. Lives in the handler's frame; its fields are zzz's. */
typedef struct zzz_sse {
    zzz_res *res;
    zzz_conn *conn;
    bool chunked;        /* HTTP/1.1: chunks; HTTP/1.0: ended by the close */
    bool head_only;      /* a HEAD request: no body is sent */
    bool gone;           /* the client went away, or a write failed */
    uint64_t last_write; /* tardy_now() of the last bytes sent */
    uint32_t unacked_ms; /* the limit set on unacknowledged bytes */
} zzz_sse;

/* One event. Every field may be NULL or 0 (left out); an event with none
 * of them is refused. */
typedef struct zzz_sse_event {
    const char *event; /* the event type (the "event:" field); no CR or LF */
    const char *id;    /* the "id:" field, which the browser sends back in
                          Last-Event-ID when it reconnects; no CR or LF */
    const char *data;  /* the payload: split at each CRLF, CR or LF into
                          "data:" lines, so the browser's event.data is
                          this text with its line ends as "\n" */
    size_t data_len;   /* bytes of data (NUL allowed); 0: strlen(data) */
    uint32_t retry_ms; /* "retry:" (the reconnection time asked of the
                          browser); 0: left out */
} zzz_sse_event;

/* Starts an event stream as the answer to req: sends the head now, status
 * 200 (whatever was set), Content-Type text/event-stream (in place of any
 * the handler set), Cache-Control no-cache (unless the handler set a
 * Cache-Control), Connection: close (not to HEAD), whatever other fields the
 * handler added with zzz_res_header (the zzz_res_on_head hooks run
 * first). The body is chunked to an HTTP/1.1 client and ended by the
 * close to an HTTP/1.0 one; it has no length (a promised one is dropped);
 * it is never compressed, nor seen by any body filter (zzz_res_filter):
 * a compression layer leaves it alone, and each event leaves at once.
 * Until the stream ends the handler holds its task. When the handler
 * returns, the stream ends cleanly (the final chunk, or the close) and
 * the connection closes; zzz_res_end ends it earlier. A HEAD request gets
 * the head only (then zzz_sse_send sends nothing and returns 0,
 * zzz_sse_wait returns -EPIPE at once, and the connection may serve the
 * client's next request). Returns 0 and fills *sse; -EINVAL for a NULL
 * argument or a res that is not req's; -EALREADY when the head was
 * already sent; -EBUSY when the request's body has not been read to its
 * end; -EPIPE after zzz_res_abort; zzz_res_header's errors (-ENOBUFS); or
 * zzz_res_write's and zzz_conn_flush's errors. After a failure *sse is a
 * stream that is gone: every call on it returns -EPIPE. */
int zzz_sse_start(zzz_req *req, zzz_res *res, zzz_sse *sse);

/* Sends one event, its text as one chunk, and flushes it. In order:
 * "event: ", "id: ", "retry: " when given, a "data: " line for each line
 * of data, and the empty line that dispatches it. Returns 0; -EINVAL for
 * an event with no field, CR or LF in event or id, NULL data with a
 * data_len; -EPIPE once the client has gone (seen by zzz_sse_wait, or by
 * a failed write) or the response was ended (zzz_res_end); or
 * zzz_conn_write's errors (-ETIMEDOUT when the client stopped reading
 * for the server's write_timeout_ms), after which the stream is gone. */
int zzz_sse_send(zzz_sse *sse, const zzz_sse_event *ev);

/* Sends a comment line (": text", or ":" alone for NULL; no empty line
 * after it), which browsers ignore: a heartbeat that keeps proxies from
 * closing a quiet stream. text: no CR or LF (-EINVAL). Returns as
 * zzz_sse_send. */
int zzz_sse_comment(zzz_sse *sse, const char *text);

/* Waits up to timeout_ms for nothing but the client's leaving, sending a
 * comment heartbeat each heartbeat_ms of quiet (since the last bytes
 * sent; 0: 15 s) so that a client which vanished without a FIN is
 * noticed by a failed write within a heartbeat or two rather than never.
 * The task holds no buffer of its own meanwhile, and a graceful shutdown
 * ends the wait at once (zzz_conn_cancel_on_drain). Returns 0 when the
 * time is up with the client still there (a timeout of 0 looks without
 * waiting); -EPIPE as soon as the client closes or resets the connection
 * (or sends bytes: an event-stream client never does, so they count as
 * leaving), and at once for a HEAD request; -ECANCELED when the server
 * is shutting down (end the stream: return); -ETIMEDOUT when a deadline
 * of the handler's own passes first (zzz_conn_set_deadline,
 * tardy_deadline_set); or a heartbeat's write error. */
int zzz_sse_wait(zzz_sse *sse, uint32_t timeout_ms, uint32_t heartbeat_ms);

/* ---- pushed streams: no task while quiet -------------------------------- */

typedef struct zzz_sse_push_opts {
    uint32_t heartbeat_ms; /* a comment after this much quiet; 0: 15 s */
    size_t max_queue;      /* bytes of events waiting for a client that does
                              not read before it is cut; 0: 1 MiB */
} zzz_sse_push_opts;

/* Hands a started stream over to publications: the handler returns after
 * this call, and the connection then waits holding no task, stack or
 * buffer (only a record of a few hundred bytes) until an event published
 * to topic (zzz_sse_publish, a C string of at most 255 bytes) is to be
 * sent, a heartbeat is due, or the client leaves (a byte, FIN or reset,
 * or a heartbeat that cannot be written), which ends it. A client that
 * stops reading while max_queue bytes of events pile up is cut. A
 * graceful shutdown closes it. Returns 0; -EINVAL for a NULL or long
 * topic or a stream that was not started (or is gone); -EPIPE after a
 * failed write; -ENOMEM. For a HEAD request (nothing to push) it returns
 * 0 and does nothing: the answer is complete. Only one call per stream;
 * the stream and its zzz_sse are the library's afterwards. */
int zzz_sse_push(zzz_sse *sse, const char *topic, const zzz_sse_push_opts *opts);

/* Sends an event to every stream pushed with this topic, on every thread
 * of server, without waiting for any of them: the event is composed once
 * and copied once, and each stream gets it through its queue. Callable
 * from any thread, in a task or not. Returns the number of threads it was
 * handed to; -EINVAL for a NULL server or topic, a topic over 255 bytes,
 * or an event zzz_sse_send refuses; -ENOMEM. */
int zzz_sse_publish(zzz_server *server, const char *topic, const zzz_sse_event *ev);

/* The Last-Event-ID field a reconnecting browser sends: true and *id set
 * (when id is not NULL; pointing into the request, valid while its
 * strings are, the whole stream long) when there is one, not empty, with
 * no NUL, CR or LF; false otherwise. */
bool zzz_sse_last_event_id(const zzz_req *req, zzz_str *id);

#ifdef __cplusplus
}
#endif

#pragma GCC visibility pop
#endif /* ZZZ_SSE_API_H */
