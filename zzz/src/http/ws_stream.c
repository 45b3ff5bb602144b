/* A WebSocket message too large to hold at once, sent from the
 * connection's own task as fragments (zzz_ws_stream_begin, _part, _end),
 * text checked as UTF-8 across the parts. */
#include "ws_impl.h"

#include <errno.h>

int zzz_ws_stream_begin(zzz_ws *ws, zzz_ws_type type)
{
    if (!ws || (type != ZZZ_WS_TEXT && type != ZZZ_WS_BINARY))
        return -EINVAL;
    if (!zzz_ws_own(ws))
        return -EXDEV;
    if (ws->streaming)
        return -EBUSY;
    if (ws->closed || ws->close_sent)
        return -EPIPE;
    int err = zzz_ws_drain(ws);
    if (err)
        return err;
    ws->streaming = true;
    ws->stream_text = type == ZZZ_WS_TEXT;
    ws->stream_utf8 = (zzz_utf8){0};
    ws->stream_sent = false;
    return 0;
}

static int ws_stream_frame(zzz_ws *ws, bool fin, const void *data, size_t len)
{
    uint8_t op = ZZZ_WS_OP_CONT;
    if (!ws->stream_sent)
        op = ws->stream_text ? ZZZ_WS_OP_TEXT : ZZZ_WS_OP_BINARY;
    ws->stream_sent = true;
    return zzz_ws_write_frame(ws, fin, 0, op, data, len);
}

int zzz_ws_stream_part(zzz_ws *ws, const void *data, size_t len)
{
    if (!ws || (!data && len) || !ws->streaming)
        return -EINVAL;
    if (!zzz_ws_own(ws))
        return -EXDEV;
    if (ws->closed)
        return -EPIPE;
    if (ws->stream_text && !zzz_utf8_feed(&ws->stream_utf8, data, len))
        return -EINVAL;
    if (len == 0)
        return 0;
    return ws_stream_frame(ws, false, data, len);
}

int zzz_ws_stream_end(zzz_ws *ws)
{
    if (!ws || !ws->streaming)
        return -EINVAL;
    if (!zzz_ws_own(ws))
        return -EXDEV;
    if (ws->closed)
        return -EPIPE;
    if (ws->stream_text && !zzz_utf8_complete(&ws->stream_utf8))
        return -EINVAL;
    int err = ws_stream_frame(ws, true, NULL, 0);
    ws->streaming = false;
    return err ? err : zzz_ws_drain(ws);
}
