/* The WebSocket opening handshake (RFC 6455 4.2): checks the request,
 * chooses a subprotocol and permessage-deflate, answers 101 and hands the
 * connection to the frame engine (ws.c). */
#include "http.h"
#include "ws_deflate.h"
#include "ws_impl.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#ifdef ZZZ_HAVE_TLS
#include <bearssl.h>
#endif

static const char ws_guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/* ---- Sec-WebSocket-Accept: base64(SHA-1(key + GUID)) ------------------ */

#ifdef ZZZ_HAVE_TLS
static void ws_sha1(const void *data, size_t len, uint8_t out[20])
{
    br_sha1_context ctx;
    br_sha1_init(&ctx);
    br_sha1_update(&ctx, data, len);
    br_sha1_out(&ctx, out);
}
#else
/* Without BearSSL: SHA-1 (RFC 3174) for this one use, which RFC 6455
 * makes a proof that the server read the handshake, not a secret. */
static uint32_t ws_rol(uint32_t x, unsigned n)
{
    return (x << n) | (x >> (32 - n));
}

static void ws_sha1_block(uint32_t h[5], const uint8_t *p)
{
    uint32_t w[80];
    for (int i = 0; i < 16; i++)
        w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
               (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
    for (int i = 16; i < 80; i++)
        w[i] = ws_rol(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];
    for (int i = 0; i < 80; i++) {
        uint32_t f, k;
        if (i < 20) {
            f = (b & c) | (~b & d);
            k = 0x5A827999u;
        } else if (i < 40) {
            f = b ^ c ^ d;
            k = 0x6ED9EBA1u;
        } else if (i < 60) {
            f = (b & c) | (b & d) | (c & d);
            k = 0x8F1BBCDCu;
        } else {
            f = b ^ c ^ d;
            k = 0xCA62C1D6u;
        }
        uint32_t t = ws_rol(a, 5) + f + e + k + w[i];
        e = d;
        d = c;
        c = ws_rol(b, 30);
        b = a;
        a = t;
    }
    h[0] += a;
    h[1] += b;
    h[2] += c;
    h[3] += d;
    h[4] += e;
}

static void ws_sha1(const void *data, size_t len, uint8_t out[20])
{
    uint32_t h[5] = {0x67452301u, 0xEFCDAB89u, 0x98BADCFEu, 0x10325476u, 0xC3D2E1F0u};
    const uint8_t *p = data;
    size_t left = len;
    while (left >= 64) {
        ws_sha1_block(h, p);
        p += 64;
        left -= 64;
    }
    uint8_t tail[128] = {0};
    memcpy(tail, p, left);
    tail[left] = 0x80;
    size_t tail_len = left + 9 <= 64 ? 64 : 128;
    uint64_t bits = (uint64_t)len * 8;
    for (int i = 0; i < 8; i++)
        tail[tail_len - 1 - i] = (uint8_t)(bits >> (8 * i));
    ws_sha1_block(h, tail);
    if (tail_len == 128)
        ws_sha1_block(h, tail + 64);
    for (int i = 0; i < 5; i++) {
        out[4 * i] = (uint8_t)(h[i] >> 24);
        out[4 * i + 1] = (uint8_t)(h[i] >> 16);
        out[4 * i + 2] = (uint8_t)(h[i] >> 8);
        out[4 * i + 3] = (uint8_t)h[i];
    }
}
#endif

static const char ws_b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* out gets 4 * ceil(len / 3) characters and a NUL. */
static void ws_base64(const uint8_t *in, size_t len, char *out)
{
    size_t i = 0;
    for (; i + 3 <= len; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        *out++ = ws_b64[v >> 18];
        *out++ = ws_b64[(v >> 12) & 63];
        *out++ = ws_b64[(v >> 6) & 63];
        *out++ = ws_b64[v & 63];
    }
    if (len - i == 1) {
        uint32_t v = (uint32_t)in[i] << 16;
        *out++ = ws_b64[v >> 18];
        *out++ = ws_b64[(v >> 12) & 63];
        *out++ = '=';
        *out++ = '=';
    } else if (len - i == 2) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
        *out++ = ws_b64[v >> 18];
        *out++ = ws_b64[(v >> 12) & 63];
        *out++ = ws_b64[(v >> 6) & 63];
        *out++ = '=';
    }
    *out = '\0';
}

/* A key is the base64 of 16 bytes: 22 digits, then "==", the last digit
 * carrying no bits past the 128th (RFC 4648 3.5 canonical form). */
static bool ws_key_ok(zzz_str key)
{
    if (key.len != 24 || key.ptr[22] != '=' || key.ptr[23] != '=')
        return false;
    for (size_t i = 0; i < 22; i++) {
        const char *d = memchr(ws_b64, key.ptr[i], 64);
        if (!d || !key.ptr[i])
            return false;
        if (i == 21 && ((d - ws_b64) & 15) != 0)
            return false;
    }
    return true;
}

/* ---- reading the fields --------------------------------------------------- */

static bool ws_is_ows(char c)
{
    return c == ' ' || c == '\t';
}

static zzz_str ws_trim(const char *p, const char *end)
{
    while (p < end && ws_is_ows(*p))
        p++;
    while (end > p && ws_is_ows(end[-1]))
        end--;
    return (zzz_str){p, (size_t)(end - p)};
}

/* Calls each element of every `name` field's comma-separated list (empty
 * ones skipped) until fn returns true; returns whether one did. */
static bool ws_each_element(const zzz_req *req, const char *name,
                            bool (*fn)(zzz_str elem, void *arg), void *arg)
{
    size_t count = zzz_req_header_count(req);
    for (size_t i = 0; i < count; i++) {
        const zzz_header *h = zzz_req_header_at(req, i);
        if (!zzz_str_eq_nocase(h->name, name))
            continue;
        const char *p = h->value.ptr, *end = p + h->value.len;
        while (p <= end) {
            const char *comma = memchr(p, ',', (size_t)(end - p));
            const char *stop = comma ? comma : end;
            zzz_str elem = ws_trim(p, stop);
            if (elem.len && fn(elem, arg))
                return true;
            if (!comma)
                break;
            p = comma + 1;
        }
    }
    return false;
}

static bool ws_elem_is(zzz_str elem, void *word)
{
    return zzz_str_eq_nocase(elem, word);
}

/* How many fields are called name; *value gets the first. */
static size_t ws_fields(const zzz_req *req, const char *name, zzz_str *value)
{
    size_t n = 0, count = zzz_req_header_count(req);
    for (size_t i = 0; i < count; i++) {
        const zzz_header *h = zzz_req_header_at(req, i);
        if (zzz_str_eq_nocase(h->name, name) && n++ == 0)
            *value = ws_trim(h->value.ptr, h->value.ptr + h->value.len);
    }
    return n;
}

typedef struct ws_pick {
    const char *const *ours;
    size_t best; /* index into ours of the best offered so far */
    bool offered;
} ws_pick;

static bool ws_offer(zzz_str elem, void *arg)
{
    ws_pick *pick = arg;
    pick->offered = true;
    for (size_t i = 0; i < pick->best; i++)
        if (elem.len == strlen(pick->ours[i]) && memcmp(elem.ptr, pick->ours[i], elem.len) == 0)
            pick->best = i;
    return false;
}

/* ---- the handshake -------------------------------------------------------- */

static int ws_refuse(zzz_res *res, int status, const char *why, int err)
{
    if (status == 405)
        zzz_res_header(res, "Allow", "GET");
    else if (status == 426)
        zzz_res_header(res, "Sec-WebSocket-Version", "13");
    zzz_res_error(res, status, why);
    return err;
}

static void ws_fill_opts(zzz_ws *ws, const zzz_ws_opts *o)
{
    ws->callback = o->on_message != NULL;
    ws->on_message = o->on_message;
    ws->on_close = o->on_close;
    ws->user = o->user;
    ws->max_message = o->max_message ? o->max_message : ZZZ_WS_DEFAULT_MAX_MESSAGE;
    ws->deflate_min = o->deflate_min ? o->deflate_min : ZZZ_WS_DEFAULT_DEFLATE_MIN;
    ws->max_queue = o->max_queue ? o->max_queue : ZZZ_WS_DEFAULT_MAX_QUEUE;
    ws->ping_ms = o->ping_interval_ms ? o->ping_interval_ms : ZZZ_WS_DEFAULT_PING_MS;
    ws->overflow = o->overflow;
    ws->close_code = ZZZ_WS_ABNORMAL;
}

int zzz_ws_accept(zzz_req *req, zzz_res *res, const zzz_ws_opts *opts, zzz_ws **out)
{
    static const zzz_ws_opts defaults;
    if (!req || !res || !out)
        return -EINVAL;
    if (!opts)
        opts = &defaults;
    zzz_str method = zzz_req_method(req);
    if (!zzz_str_eq(method, "GET"))
        return ws_refuse(res, 405, "a WebSocket opens with GET", -EPROTO);
    if (zzz_req_version(req) < 1)
        return ws_refuse(res, 400, "a WebSocket needs HTTP/1.1", -EPROTO);
    if (!ws_each_element(req, "Upgrade", ws_elem_is, "websocket") ||
        !ws_each_element(req, "Connection", ws_elem_is, "upgrade"))
        return ws_refuse(res, 400, "not a WebSocket upgrade", -EPROTO);
    zzz_str version = {0}, key = {0};
    size_t versions = ws_fields(req, "Sec-WebSocket-Version", &version);
    if (versions == 0)
        return ws_refuse(res, 400, "no Sec-WebSocket-Version", -EPROTO);
    if (versions != 1)
        return ws_refuse(res, 400, "more than one Sec-WebSocket-Version", -EPROTO);
    if (!zzz_str_eq(version, "13"))
        return ws_refuse(res, 426, "WebSocket version 13 only", -EPROTO);
    if (ws_fields(req, "Sec-WebSocket-Key", &key) != 1 || !ws_key_ok(key))
        return ws_refuse(res, 400, "bad Sec-WebSocket-Key", -EPROTO);
    if (opts->check_origin) {
        zzz_str origin = {"", 0};
        zzz_req_header(req, "Origin", &origin);
        if (!opts->check_origin(req, origin, opts->user))
            return ws_refuse(res, 403, "origin refused", -EPERM);
    }
    const char *protocol = NULL;
    if (opts->protocols) {
        ws_pick pick = {opts->protocols, 0, false};
        while (opts->protocols[pick.best])
            pick.best++;
        size_t none = pick.best;
        ws_each_element(req, "Sec-WebSocket-Protocol", ws_offer, &pick);
        if (pick.best < none)
            protocol = opts->protocols[pick.best];
        else if (pick.offered && !opts->protocol_optional)
            return ws_refuse(res, 400, "no common subprotocol", -ENOPROTOOPT);
    }
    char ext[128];
    int window_bits = 15;
    bool deflate = false;
    if (opts->deflate) {
        size_t count = zzz_req_header_count(req);
        for (size_t i = 0; i < count && !deflate; i++) {
            const zzz_header *h = zzz_req_header_at(req, i);
            if (zzz_str_eq_nocase(h->name, "Sec-WebSocket-Extensions"))
                deflate = zzz_ws_deflate_accept(h->value.ptr, h->value.len, ext, sizeof ext,
                                                &window_bits);
        }
    }
    char joined[24 + sizeof ws_guid];
    memcpy(joined, key.ptr, 24);
    memcpy(joined + 24, ws_guid, sizeof ws_guid - 1);
    uint8_t digest[20];
    ws_sha1(joined, 24 + sizeof ws_guid - 1, digest);
    char accept[29];
    ws_base64(digest, sizeof digest, accept);

    zzz_ws *ws = calloc(1, sizeof *ws);
    if (!ws)
        return ws_refuse(res, 500, "no memory for a WebSocket", -ENOMEM);
    ws_fill_opts(ws, opts);
    ws->protocol = protocol;
    ws->deflate = deflate;
    ws->window_bits = window_bits;
    int err = zzz_res_header(res, "Upgrade", "websocket");
    if (err == 0)
        err = zzz_res_header(res, "Sec-WebSocket-Accept", accept);
    if (err == 0 && protocol)
        err = zzz_res_header(res, "Sec-WebSocket-Protocol", protocol);
    if (err == 0 && deflate)
        err = zzz_res_header(res, "Sec-WebSocket-Extensions", ext);
    zzz_conn *conn = NULL;
    if (err == 0)
        err = zzz_res_take_over(res, 101, &conn);
    if (err) {
        free(ws);
        if (!zzz_res_head_sent(res))
            zzz_res_error(res, 500, "the WebSocket could not be opened");
        return err;
    }
    ws->conn = conn;
    ws->rt = tardy_runtime_self();
    /* A client gone without a close leaves our pings unacknowledged: the
     * kernel ends the connection after two ping intervals. */
    zzz_http_unacked_limit(conn, 2 * ws->ping_ms);
    zzz_conn_on_close(conn, zzz_ws_conn_closed, ws);
    if (ws->callback) {
        /* From the next call on, the engine serves the connection; the
         * wake makes that call come at once, to set the keep-alive clock
         * and send what the handler queued, even with no bytes waiting. */
        zzz_conn_hand_over(conn, zzz_ws_on_conn, ws);
        zzz_conn_wake(conn);
    } else {
        ws->task = tardy_self();
    }
    *out = ws;
    return 0;
}
