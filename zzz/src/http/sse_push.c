/* Pushed event streams (zzz_sse_push, zzz_sse_publish): a started stream
 * handed to publications, which waits holding no task. It rides on the
 * WebSocket engine's callback mode, queue and publish/subscribe (a
 * zzz_ws marked sse): its messages are composed events, each sent as one
 * chunk, its keep-alive a comment, and anything the client sends ends it. */
#include "http.h"
#include "ws_impl.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define SSE_PUSH_HEARTBEAT_MS 15000u

int zzz_sse_push(zzz_sse *sse, const char *topic, const zzz_sse_push_opts *opts)
{
    if (!sse || !sse->res || !topic || strlen(topic) > 255)
        return -EINVAL;
    zzz_res *res = sse->res;
    if (sse->gone || res->failed || res->aborted || res->done)
        return -EPIPE;
    if (sse->head_only)
        return 0;
    zzz_ws *ws = calloc(1, sizeof *ws);
    if (!ws)
        return -ENOMEM;
    ws->conn = sse->conn;
    ws->rt = tardy_runtime_self();
    ws->callback = true;
    ws->sse = true;
    ws->sse_chunked = sse->chunked;
    ws->ping_ms = opts && opts->heartbeat_ms ? opts->heartbeat_ms : SSE_PUSH_HEARTBEAT_MS;
    ws->max_queue = opts && opts->max_queue ? opts->max_queue : ZZZ_WS_DEFAULT_MAX_QUEUE;
    ws->overflow = ZZZ_WS_OVERFLOW_CLOSE;
    ws->close_code = ZZZ_WS_ABNORMAL;
    ws->quiet_since = tardy_now();
    zzz_http_unacked_limit(ws->conn, 2 * ws->ping_ms);
    int err = zzz_ws_subscribe(ws, topic);
    if (err) {
        free(ws);
        return err;
    }
    /* HTTP is done with the connection: no final chunk when the handler
     * returns; the stream ends when the engine closes it. */
    res->taken_over = true;
    sse->gone = true;
    zzz_conn_on_close(ws->conn, zzz_ws_conn_closed, ws);
    zzz_conn_hand_over(ws->conn, zzz_ws_on_conn, ws);
    zzz_conn_wake(ws->conn);
    return 0;
}

int zzz_sse_publish(zzz_server *server, const char *topic, const zzz_sse_event *ev)
{
    if (!server || !topic || strlen(topic) > 255)
        return -EINVAL;
    char *text;
    size_t len;
    int err = zzz_sse_compose(ev, &text, &len);
    if (err)
        return err;
    int handed = zzz_ws_publish_kind(server, topic, true, ZZZ_WS_BINARY, text, len);
    free(text);
    return handed;
}

/* Whether the client has sent anything (or closed): an event-stream
 * client never speaks, so either means it has left. */
static bool sse_client_left(zzz_conn *c)
{
    if (zzz_conn_buf(c)->len > 0)
        return true;
    ssize_t n = zzz_conn_fill_now(c);
    return n != -EAGAIN;
}

zzz_conn_next zzz_sse_push_serve(zzz_conn *c, zzz_ws *ws)
{
    ws->task = tardy_self();
    if (zzz_conn_closing(c)) {
        /* The stream ends whole: the final chunk (HTTP/1.0: the close). */
        if (ws->sse_chunked)
            zzz_conn_write(c, "0\r\n\r\n", 5);
        ws->closed = true;
    }
    if (!ws->closed && !zzz_conn_expired(c) && !zzz_conn_woken(c) && sse_client_left(c))
        ws->closed = true;
    uint64_t interval = (uint64_t)ws->ping_ms * 1000000u;
    if (!ws->closed && zzz_conn_expired(c) && tardy_now() >= ws->quiet_since + interval) {
        /* A heartbeat; one that cannot be written ends the stream. */
        zzz_ws_write_chunk(ws, ":\n", 2);
    }
    if (!ws->closed)
        zzz_ws_drain(ws);
    ws->task = (tardy_task){0};
    if (ws->closed) {
        zzz_conn_close_mode(c, ZZZ_CLOSE_NOW);
        return ZZZ_CLOSE;
    }
    uint64_t due = ws->quiet_since + interval;
    uint64_t now = tardy_now();
    zzz_conn_wait_until(c, due > now ? due : now + 1);
    return ZZZ_WAIT;
}
