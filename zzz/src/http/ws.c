/* The WebSocket frame engine (RFC 6455 5-7): reads frames from the
 * connection into whole messages, answers control frames, sends messages
 * and closes; serves a callback-mode connection call by call so that it
 * holds no task while quiet, and sends what other tasks queued for it. */
#include "http.h"
#include "ws_deflate.h"
#include "ws_impl.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

/* ---- the thread's compressor ----------------------------------------- */

static const char ws_zlib_key;

static void *ws_zlib_make(const void *key)
{
    (void)key;
    zzz_ws_zlib *z = NULL;
    return zzz_ws_zlib_create(&z) == 0 ? z : NULL;
}

static void ws_zlib_free(void *ptr)
{
    zzz_ws_zlib_destroy(ptr);
}

static zzz_ws_zlib *ws_zlib(zzz_ws *ws)
{
    return zzz_http_thread_local(ws->conn, &ws_zlib_key, ws_zlib_make, ws_zlib_free);
}

/* ---- sending ---------------------------------------------------------- */

/* What a queued message costs beyond its bytes (its record, the frame
 * head), counted against max_queue. */
#define WS_ITEM_COST 64u

/* Writes one frame: into the write buffer when it fits (it leaves with
 * the next flush, before the task waits), else straight out. A failed
 * write leaves the WebSocket good only for closing. */
int zzz_ws_write_frame(zzz_ws *ws, bool fin, uint8_t rsv, uint8_t op, const void *data,
                          size_t len)
{
    uint8_t head[10];
    size_t head_len = zzz_ws_frame_head(head, fin, rsv, op, len);
    zzz_conn *c = ws->conn;
    /* A write buffer while the task serves (the server takes it back
     * when the connection waits), so that frames made in one turn leave
     * together; a large payload goes out straight after them, uncopied. */
    zzz_conn_outbuf(c);
    int err = zzz_conn_out(c, head, head_len);
    if (err == 0 && len)
        err = zzz_conn_out(c, data, len);
    if (err) {
        ws->closed = true;
        ws->failed = true;
    }
    return err;
}

/* A pushed event stream's message: one chunk (bare with HTTP/1.0), sent
 * at once. */
int zzz_ws_write_chunk(zzz_ws *ws, const void *data, size_t len)
{
    char size_line[24];
    int n = ws->sse_chunked ? snprintf(size_line, sizeof size_line, "%zx\r\n", len) : 0;
    zzz_conn *c = ws->conn;
    zzz_conn_outbuf(c);
    int err = zzz_conn_out(c, size_line, (size_t)n);
    if (err == 0)
        err = zzz_conn_out(c, data, len);
    if (err == 0 && ws->sse_chunked)
        err = zzz_conn_out(c, "\r\n", 2);
    if (err) {
        ws->closed = true;
        ws->failed = true;
    }
    ws->quiet_since = tardy_now();
    return err;
}

static int ws_write_message(zzz_ws *ws, zzz_ws_type type, const void *data, size_t len)
{
    if (ws->sse)
        return zzz_ws_write_chunk(ws, data, len);
    uint8_t op = type == ZZZ_WS_TEXT ? ZZZ_WS_OP_TEXT : ZZZ_WS_OP_BINARY;
    /* zlib has no window of 8: a client that asked for one gets our
     * messages uncompressed, as the extension allows. */
    if (ws->deflate && ws->window_bits >= 9 && len >= ws->deflate_min) {
        zzz_ws_zlib *z = ws_zlib(ws);
        uint8_t *packed = NULL;
        size_t packed_len = 0;
        if (z && zzz_ws_deflate(z, ws->window_bits, data, len, &packed, &packed_len) == 0) {
            int err = zzz_ws_write_frame(ws, true, 0x4, op, packed, packed_len);
            free(packed);
            return err;
        }
        /* No compressor to be had: the message goes as it is, which the
         * agreement allows (RSV1 clear). */
    }
    return zzz_ws_write_frame(ws, true, 0, op, data, len);
}

int zzz_ws_write_close(zzz_ws *ws, uint16_t code, const void *reason, size_t reason_len)
{
    uint8_t body[125];
    size_t len = 0;
    if (code != ZZZ_WS_NO_STATUS) {
        body[0] = (uint8_t)(code >> 8);
        body[1] = (uint8_t)code;
        if (reason_len)
            memcpy(body + 2, reason, reason_len);
        len = 2 + reason_len;
    }
    ws->close_sent = true;
    ws->close_sent_at = tardy_now();
    return zzz_ws_write_frame(ws, true, 0, ZZZ_WS_OP_CLOSE, body, len);
}

static void ws_item_free(ws_item *item)
{
    zzz_ws_shared_put(item->msg);
    free(item);
}

void zzz_ws_queue_clear(zzz_ws *ws)
{
    while (ws->q_head) {
        ws_item *item = ws->q_head;
        ws->q_head = item->next;
        ws_item_free(item);
    }
    ws->q_tail = NULL;
    ws->q_bytes = 0;
}

/* Sends, from ws's own task, what other tasks queued: their messages, an
 * overflow's close, a close they asked for. Not inside a streamed
 * message, whose fragments nothing may come between. */
int zzz_ws_drain(zzz_ws *ws)
{
    if (ws->streaming || ws->closed)
        return 0;
    if (ws->overflowed && ws->sse) {
        /* An event stream has no close of its own: it is cut. */
        zzz_ws_queue_clear(ws);
        ws->closed = true;
        ws->failed = true;
        return -EPIPE;
    }
    if (ws->overflowed && !ws->close_sent) {
        zzz_ws_queue_clear(ws);
        static const char why[] = "too slow";
        ws->close_code = ZZZ_WS_POLICY;
        zzz_ws_write_close(ws, ZZZ_WS_POLICY, why, sizeof why - 1);
        ws->closed = true;
        ws->failed = true;
        return -EPIPE;
    }
    while (ws->q_head && !ws->close_sent) {
        ws_item *item = ws->q_head;
        ws->q_head = item->next;
        if (!ws->q_head)
            ws->q_tail = NULL;
        ws->q_bytes -= item->msg->len + WS_ITEM_COST;
        int err = ws_write_message(ws, item->msg->type, item->msg->data, item->msg->len);
        ws_item_free(item);
        if (err)
            return err;
    }
    if (ws->close_asked && !ws->close_sent) {
        uint16_t code = (uint16_t)(ws->close_req[0] << 8 | ws->close_req[1]);
        ws->close_code = code;
        return zzz_ws_write_close(ws, code, ws->close_req + 2, ws->close_req_len - 2u);
    }
    return 0;
}

static void ws_wake(zzz_ws *ws)
{
    if (ws->callback) {
        zzz_conn_wake(ws->conn);
    } else if (ws->read_wait && !ws->wake) {
        /* Its task waits for bytes: the cancel ends that wait, and
         * zzz_ws_read sends the queue and waits again. */
        ws->wake = true;
        tardy_cancel(ws->task);
    }
}

ws_shared *zzz_ws_shared_new(zzz_ws_type type, const void *data, size_t len, unsigned refs)
{
    ws_shared *m = malloc(sizeof *m + len);
    if (!m)
        return NULL;
    atomic_init(&m->refs, refs);
    m->type = type;
    m->len = len;
    if (len)
        memcpy(m->data, data, len);
    return m;
}

void zzz_ws_shared_put(ws_shared *m)
{
    if (m && atomic_fetch_sub(&m->refs, 1) == 1)
        free(m);
}

int zzz_ws_enqueue(zzz_ws *ws, ws_shared *msg)
{
    if (ws->closed || ws->close_sent || ws->overflowed || ws->close_asked)
        return -EPIPE;
    /* Each waiting message costs its bytes and its record; a queue with
     * nothing waiting takes any one message, however large. */
    size_t cost = msg->len + WS_ITEM_COST;
    if (ws->q_head && ws->q_bytes + cost > ws->max_queue) {
        if (ws->overflow == ZZZ_WS_OVERFLOW_DROP) {
            zzz_ws_count(ws, true);
            return -ENOBUFS;
        }
        ws->overflowed = true;
        zzz_ws_count(ws, false);
        ws_wake(ws);
        return -EPIPE;
    }
    ws_item *item = malloc(sizeof *item);
    if (!item)
        return -ENOMEM;
    atomic_fetch_add(&msg->refs, 1);
    item->msg = msg;
    item->next = NULL;
    if (ws->q_tail)
        ws->q_tail->next = item;
    else
        ws->q_head = item;
    ws->q_tail = item;
    ws->q_bytes += cost;
    ws_wake(ws);
    return 0;
}

static int ws_send(zzz_ws *ws, zzz_ws_type type, const void *data, size_t len)
{
    if (!ws || (!data && len))
        return -EINVAL;
    if (type == ZZZ_WS_TEXT && !zzz_utf8_valid(data, len))
        return -EINVAL;
    if (ws->closed || ws->close_sent)
        return -EPIPE;
    if (tardy_runtime_self() != ws->rt)
        return -EXDEV;
    if (zzz_ws_own(ws)) {
        if (ws->streaming)
            return -EBUSY;
        int err = zzz_ws_drain(ws);
        if (err)
            return err;
        /* The drain may have sent a close another task asked for. */
        if (ws->close_sent || ws->closed)
            return -EPIPE;
        return ws_write_message(ws, type, data, len);
    }
    ws_shared *m = zzz_ws_shared_new(type, data, len, 1);
    if (!m)
        return -ENOMEM;
    int err = zzz_ws_enqueue(ws, m);
    zzz_ws_shared_put(m);
    return err;
}

int zzz_ws_send_text(zzz_ws *ws, const char *text, size_t len)
{
    return ws_send(ws, ZZZ_WS_TEXT, text, len);
}

int zzz_ws_send_binary(zzz_ws *ws, const void *data, size_t len)
{
    return ws_send(ws, ZZZ_WS_BINARY, data, len);
}

int zzz_ws_ping(zzz_ws *ws, const void *data, size_t len)
{
    if (!ws || (!data && len))
        return -EINVAL;
    if (len > 125)
        return -EMSGSIZE;
    if (ws->closed || ws->close_sent)
        return -EPIPE;
    if (!zzz_ws_own(ws))
        return -EXDEV;
    return zzz_ws_write_frame(ws, true, 0, ZZZ_WS_OP_PING, data, len);
}

int zzz_ws_close(zzz_ws *ws, uint16_t code, const char *reason)
{
    size_t reason_len = reason ? strlen(reason) : 0;
    if (!ws || !zzz_ws_close_code_ok(code) || reason_len > 123 ||
        !zzz_utf8_valid((const uint8_t *)reason, reason_len))
        return -EINVAL;
    if (ws->close_sent || ws->close_asked)
        return -EALREADY;
    if (ws->closed)
        return -EPIPE;
    if (tardy_runtime_self() != ws->rt)
        return -EXDEV;
    if (zzz_ws_own(ws) && !ws->streaming) {
        int err = zzz_ws_drain(ws);
        if (err)
            return err;
        ws->close_code = code;
        return zzz_ws_write_close(ws, code, reason, reason_len);
    }
    ws->close_req[0] = (uint8_t)(code >> 8);
    ws->close_req[1] = (uint8_t)code;
    if (reason_len)
        memcpy(ws->close_req + 2, reason, reason_len);
    ws->close_req_len = (uint8_t)(2 + reason_len);
    ws->close_asked = true;
    ws_wake(ws);
    return 0;
}

uint16_t zzz_ws_close_code(const zzz_ws *ws)
{
    return ws->close_code;
}

/* ---- reading -------------------------------------------------------------- */

/* Fails the WebSocket (RFC 6455 7.1.7): a close with code, then the TCP
 * close, without waiting for the client's answer. */
static int ws_fail(zzz_ws *ws, uint16_t code)
{
    if (!ws->close_sent && !ws->closed)
        zzz_ws_write_close(ws, code, NULL, 0);
    ws->close_code = code;
    ws->closed = true;
    ws->failed = true;
    return -EPIPE;
}

/* The most a message's compressed payload may take: a little past
 * max_message, for data deflate could not shrink. */
static size_t ws_wire_limit(const zzz_ws *ws)
{
    size_t max = ws->max_message;
    return ws->msg_compressed ? max + max / 512 + 64 : max;
}

static int ws_control(zzz_ws *ws)
{
    switch (ws->frame.opcode) {
    case ZZZ_WS_OP_PING:
        if (ws->close_sent)
            return 0;
        return zzz_ws_write_frame(ws, true, 0, ZZZ_WS_OP_PONG, ws->ctrl, ws->ctrl_len) ? -EPIPE : 0;
    case ZZZ_WS_OP_PONG:
        return 0;
    default: /* close */
        break;
    }
    ws->close_received = true;
    uint16_t code = ZZZ_WS_NO_STATUS;
    if (ws->ctrl_len == 1)
        return ws_fail(ws, ZZZ_WS_PROTOCOL);
    if (ws->ctrl_len >= 2) {
        code = (uint16_t)(ws->ctrl[0] << 8 | ws->ctrl[1]);
        if (!zzz_ws_close_code_ok(code))
            return ws_fail(ws, ZZZ_WS_PROTOCOL);
        if (!zzz_utf8_valid(ws->ctrl + 2, ws->ctrl_len - 2u))
            return ws_fail(ws, ZZZ_WS_INVALID_DATA);
    }
    if (!ws->close_sent) {
        /* The client closed first: answer with its code. */
        ws->close_code = code;
        zzz_ws_write_close(ws, code, NULL, 0);
    }
    ws->closed = true;
    return -EPIPE;
}

static int ws_append(zzz_ws *ws, const uint8_t *p, size_t n)
{
    if (ws->msg_len + n > ws->msg_cap) {
        size_t limit = ws_wire_limit(ws);
        size_t cap = ws->msg_cap ? ws->msg_cap * 2 : 4096;
        while (cap < ws->msg_len + n)
            cap *= 2;
        if (cap > limit)
            cap = limit;
        uint8_t *grown = realloc(ws->msg, cap);
        if (!grown)
            return ws_fail(ws, ZZZ_WS_INTERNAL);
        ws->msg = grown;
        ws->msg_cap = cap;
    }
    memcpy(ws->msg + ws->msg_len, p, n);
    ws->msg_len += n;
    return 0;
}

/* A data message whose last frame has come: inflated and checked, and
 * handed out in *msg (the buffer is ws->given until the next read). */
static int ws_message_done(zzz_ws *ws, zzz_ws_msg *msg)
{
    ws->in_message = false;
    uint8_t *data = ws->msg;
    size_t len = ws->msg_len;
    ws->msg = NULL;
    ws->msg_len = ws->msg_cap = 0;
    if (ws->msg_compressed) {
        zzz_ws_zlib *z = ws_zlib(ws);
        uint8_t *plain = NULL;
        size_t plain_len = 0;
        int err = z ? zzz_ws_inflate(z, data, len, ws->max_message, &plain, &plain_len) : -ENOMEM;
        free(data);
        if (err == -EMSGSIZE)
            return ws_fail(ws, ZZZ_WS_TOO_BIG);
        if (err == -ENOMEM)
            return ws_fail(ws, ZZZ_WS_INTERNAL);
        if (err)
            return ws_fail(ws, ZZZ_WS_INVALID_DATA);
        if (ws->msg_text && !zzz_utf8_valid(plain, plain_len)) {
            free(plain);
            return ws_fail(ws, ZZZ_WS_INVALID_DATA);
        }
        data = plain;
        len = plain_len;
    } else if (ws->msg_text && !zzz_utf8_complete(&ws->utf8)) {
        free(data);
        return ws_fail(ws, ZZZ_WS_INVALID_DATA);
    }
    ws->given = data;
    msg->type = ws->msg_text ? ZZZ_WS_TEXT : ZZZ_WS_BINARY;
    msg->data = data ? data : (const uint8_t *)"";
    msg->len = len;
    return 1;
}

/* A new frame's head, checked. A whole single-frame message already in
 * the buffer is handed out where it lies (no copy); returns 1 then. */
static int ws_frame_start(zzz_ws *ws, uint8_t *p, size_t avail, zzz_ws_msg *msg)
{
    zzz_ws_frame *f = &ws->frame;
    int r = zzz_ws_frame_parse(p, avail, f);
    if (r <= 0)
        return r < 0 ? ws_fail(ws, ZZZ_WS_PROTOCOL) : 0;
    uint16_t bad = zzz_ws_frame_check(f, ws->in_message, ws->deflate);
    if (bad)
        return ws_fail(ws, bad);
    bool data = f->opcode == ZZZ_WS_OP_TEXT || f->opcode == ZZZ_WS_OP_BINARY;
    if (data) {
        ws->msg_text = f->opcode == ZZZ_WS_OP_TEXT;
        ws->msg_compressed = (f->rsv & 0x4) != 0;
        ws->utf8 = (zzz_utf8){0};
        ws->msg_len = 0;
    }
    if (data || f->opcode == ZZZ_WS_OP_CONT) {
        if (f->len > ws_wire_limit(ws) - ws->msg_len)
            return ws_fail(ws, ZZZ_WS_TOO_BIG);
    }
    if (data && f->fin && !ws->msg_compressed && f->len <= avail - f->head_len) {
        uint8_t *payload = p + f->head_len;
        size_t len = (size_t)f->len;
        zzz_ws_unmask(payload, len, f->mask, 0);
        if (ws->msg_text && !zzz_utf8_valid(payload, len))
            return ws_fail(ws, ZZZ_WS_INVALID_DATA);
        ws->consume_later = f->head_len + len;
        if (ws->close_sent)
            return 2; /* after our close, messages are read and dropped */
        msg->type = ws->msg_text ? ZZZ_WS_TEXT : ZZZ_WS_BINARY;
        msg->data = payload;
        msg->len = len;
        return 1;
    }
    if (data)
        ws->in_message = true;
    ws->ctrl_len = 0;
    ws->in_frame = true;
    ws->frame_done = 0;
    zzz_conn_consume(ws->conn, f->head_len);
    return 2;
}

/* Reads what the receive buffer holds. Returns 1 with a message in *msg;
 * 0 when more bytes are needed; -EPIPE once the WebSocket has closed. */
int zzz_ws_pump(zzz_ws *ws, zzz_ws_msg *msg)
{
    zzz_conn *c = ws->conn;
    free(ws->given);
    ws->given = NULL;
    for (;;) {
        if (ws->consume_later) {
            zzz_conn_consume(c, ws->consume_later);
            ws->consume_later = 0;
        }
        if (ws->closed)
            return -EPIPE;
        zzz_buf *b = zzz_conn_buf(c);
        uint8_t *p = (uint8_t *)b->data;
        size_t avail = p ? b->len : 0;
        if (!ws->in_frame) {
            int r = ws_frame_start(ws, p, avail, msg);
            if (r == 2)
                continue;
            return r;
        }
        zzz_ws_frame *f = &ws->frame;
        bool control = f->opcode >= ZZZ_WS_OP_CLOSE;
        uint64_t left = f->len - ws->frame_done;
        size_t take = avail < left ? avail : (size_t)left;
        if (take) {
            zzz_ws_unmask(p, take, f->mask, ws->frame_done);
            if (control) {
                memcpy(ws->ctrl + ws->ctrl_len, p, take);
                ws->ctrl_len = (uint8_t)(ws->ctrl_len + take);
            } else if (!ws->close_sent) {
                if (ws->msg_text && !ws->msg_compressed && !zzz_utf8_feed(&ws->utf8, p, take))
                    return ws_fail(ws, ZZZ_WS_INVALID_DATA);
                if (ws_append(ws, p, take) < 0)
                    return -EPIPE;
            }
            zzz_conn_consume(c, take);
            ws->frame_done += take;
        }
        if (ws->frame_done < f->len)
            return 0;
        ws->in_frame = false;
        if (control) {
            if (ws_control(ws) < 0)
                return -EPIPE;
            continue;
        }
        if (!f->fin)
            continue;
        if (ws->close_sent) {
            ws->in_message = false;
            free(ws->msg);
            ws->msg = NULL;
            ws->msg_len = ws->msg_cap = 0;
            continue;
        }
        return ws_message_done(ws, msg);
    }
}
