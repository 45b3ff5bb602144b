/* Serving a WebSocket: the straight-line reader (zzz_ws_read, which holds
 * the handler's task while it waits), the callback mode (a call per
 * batch of bytes, no task between them), the keep-alive pings, and the
 * end of a connection's state. */
#include "http.h"
#include "ws_impl.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Messages served in one go before the task lets the thread's others
 * run: a client that never stops sending must not starve them. */
#define WS_TURN 32u

static uint64_t ws_ping_due(const zzz_ws *ws)
{
    uint64_t interval = (uint64_t)ws->ping_ms * 1000000u;
    /* A close we sent waits that long for its answer, whatever else the
     * client sends; a ping unanswered has as long again. */
    if (ws->close_sent)
        return ws->close_sent_at + interval;
    return ws->quiet_since + (ws->ping_out ? 2 * interval : interval);
}

/* Time passed with the client quiet: the first time a ping, the second
 * the end. Returns 0 to go on waiting; -ETIMEDOUT when it is over;
 * -EPIPE when our close went unanswered (the handshake ends there). */
static int ws_quiet(zzz_ws *ws)
{
    if (tardy_now() < ws_ping_due(ws))
        return 0;
    if (ws->close_sent) {
        ws->closed = true;
        return -EPIPE;
    }
    if (ws->ping_out) {
        ws->closed = true;
        ws->close_code = ZZZ_WS_ABNORMAL;
        return -ETIMEDOUT;
    }
    ws->ping_out = true;
    static const char hello[] = "zzz";
    return zzz_ws_write_frame(ws, true, 0, ZZZ_WS_OP_PING, hello, sizeof hello - 1) ? -ETIMEDOUT
                                                                                      : 0;
}

/* The server is shutting down: a 1001 close, and no waiting for its
 * answer. */
static void ws_going_away(zzz_ws *ws)
{
    if (!ws->close_sent && !ws->closed) {
        static const char why[] = "server shutting down";
        ws->close_code = ZZZ_WS_GOING_AWAY;
        zzz_ws_write_close(ws, ZZZ_WS_GOING_AWAY, why, sizeof why - 1);
    }
    ws->closed = true;
}

int zzz_ws_read(zzz_ws *ws, zzz_ws_msg *msg)
{
    if (!ws || !msg || ws->callback)
        return -EINVAL;
    zzz_conn *c = ws->conn;
    if (!ws->quiet_since)
        ws->quiet_since = tardy_now();
    for (;;) {
        int r = zzz_ws_pump(ws, msg);
        if (r == 1) {
            if (++ws->turns % WS_TURN == 0)
                tardy_yield();
            return 0;
        }
        if (r == 0 && zzz_ws_drain(ws) != 0)
            r = -EPIPE;
        if (zzz_conn_flush(c) != 0) {
            ws->closed = true;
            return -EPIPE;
        }
        if (r < 0)
            return r;
        if (zzz_conn_closing(c)) {
            ws_going_away(ws);
            zzz_conn_flush(c);
            return -ECANCELED;
        }
        /* Queued while the flush parked (no wait to cancel then). */
        if ((ws->q_head || ws->close_asked || ws->overflowed) && !ws->close_sent)
            continue;
        /* Until the next ping is due; a shutdown cancels the wait at once
         * (and so does a wake: see ws->wake). */
        zzz_conn_set_deadline(c, ws_ping_due(ws));
        zzz_conn_cancel_on_drain(c, true);
        ws->read_wait = true;
        ssize_t n = zzz_conn_fill(c);
        ws->read_wait = false;
        zzz_conn_cancel_on_drain(c, false);
        zzz_conn_set_deadline(c, 0);
        if (ws->wake) {
            /* Another task queued something and cancelled this wait; if
             * the bytes won the race the cancel is still pending: the
             * yield takes it, so no later call sees it. */
            ws->wake = false;
            if (n == -ECANCELED)
                continue;
            tardy_yield();
        }
        if (n > 0) {
            ws->quiet_since = tardy_now();
            ws->ping_out = false;
            continue;
        }
        if (n == -ETIMEDOUT) {
            int err = ws_quiet(ws);
            if (err) {
                zzz_conn_flush(c);
                return err;
            }
            continue;
        }
        if (n == -ECANCELED) {
            ws_going_away(ws);
            zzz_conn_flush(c);
            return -ECANCELED;
        }
        ws->closed = true;
        return n == 0 ? -ECONNRESET : (int)n;
    }
}

zzz_conn_next zzz_ws_on_conn(zzz_conn *c, void *user)
{
    zzz_ws *ws = user;
    if (ws->sse)
        return zzz_sse_push_serve(c, ws);
    ws->task = tardy_self();
    if (!ws->quiet_since)
        ws->quiet_since = tardy_now();
    if (zzz_conn_closing(c))
        ws_going_away(ws);
    bool expired = zzz_conn_expired(c);
    if (!expired && !zzz_conn_woken(c)) {
        ws->quiet_since = tardy_now();
        ws->ping_out = false;
    }
    if (expired && !ws->closed && ws_quiet(ws) != 0)
        ws->closed = true;
    if (!ws->closed)
        zzz_ws_drain(ws);
    zzz_ws_msg msg;
    while (!ws->closed) {
        int r = zzz_ws_pump(ws, &msg);
        if (r == 1) {
            ws->on_message(ws, &msg, ws->user);
            if (!ws->closed)
                zzz_ws_drain(ws);
            if (++ws->turns % WS_TURN == 0)
                tardy_yield();
            continue;
        }
        if (r < 0)
            break;
        /* What has arrived but is not in the buffer yet (TLS records
         * still to decrypt, the rest of a long frame) is read now; for
         * what has not arrived the connection waits without a task. */
        ssize_t n = zzz_conn_fill_now(c);
        if (n > 0) {
            ws->quiet_since = tardy_now();
            ws->ping_out = false;
            continue;
        }
        if (n != -EAGAIN) {
            /* The client went away (or broke the stream) without a close. */
            ws->closed = true;
            break;
        }
        break;
    }
    free(ws->given);
    ws->given = NULL;
    ws->task = (tardy_task){0};
    if (ws->closed) {
        /* The TCP close follows the close handshake (or the failure);
         * the connection's close hook frees the state. */
        if (ws->failed)
            zzz_conn_close_mode(c, ZZZ_CLOSE_LINGER);
        return ZZZ_CLOSE;
    }
    uint64_t due = ws_ping_due(ws);
    uint64_t now = tardy_now();
    zzz_conn_wait_until(c, due > now ? due : now + 1);
    return ZZZ_WAIT;
}

void zzz_ws_conn_closed(zzz_conn *c, void *user)
{
    (void)c;
    zzz_ws *ws = user;
    ws->closed = true;
    if (ws->callback && ws->on_close)
        ws->on_close(ws, ws->close_code, ws->user);
    zzz_ws_unsubscribe_all(ws);
    zzz_ws_queue_clear(ws);
    free(ws->msg);
    free(ws->given);
    free(ws);
}

const char *zzz_ws_protocol(const zzz_ws *ws)
{
    return ws->protocol;
}

bool zzz_ws_deflated(const zzz_ws *ws)
{
    return ws->deflate;
}

zzz_conn *zzz_ws_conn(const zzz_ws *ws)
{
    return ws->conn;
}

void *zzz_ws_data(const zzz_ws *ws)
{
    return ws->data;
}

void zzz_ws_set_data(zzz_ws *ws, void *data)
{
    ws->data = data;
}
