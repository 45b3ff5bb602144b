/* WebSocket frame heads (RFC 6455 5.2): reading a client's, judging it,
 * unmasking its payload, writing a server's; and the incremental UTF-8
 * check that text messages and close reasons need. Pure functions. */
#include "ws_frame.h"

#include <string.h>

/* ---- frame heads ----------------------------------------------------------- */

static uint64_t frame_be(const uint8_t *p, size_t n)
{
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++)
        v = v << 8 | p[i];
    return v;
}

int zzz_ws_frame_parse(const uint8_t *buf, size_t len, zzz_ws_frame *f)
{
    if (len < 2)
        return 0;
    uint8_t len7 = buf[1] & 0x7f;
    size_t ext = len7 == 126 ? 2 : len7 == 127 ? 8 : 0;
    if (len < 2 + ext)
        return 0;
    uint64_t payload = ext ? frame_be(buf + 2, ext) : len7;
    /* Judged as soon as the length is in, before the mask: a head that
     * can never be valid need not be waited for. */
    if (ext == 2 && payload < 126)
        return -1;
    if (ext == 8 && (payload < 65536 || payload >> 63))
        return -1;
    bool masked = buf[1] & 0x80;
    size_t head_len = 2 + ext + (masked ? 4 : 0);
    if (len < head_len)
        return 0;
    f->fin = buf[0] & 0x80;
    f->rsv = (buf[0] >> 4) & 0x7;
    f->opcode = buf[0] & 0x0f;
    f->masked = masked;
    if (masked)
        memcpy(f->mask, buf + 2 + ext, 4);
    else
        memset(f->mask, 0, 4);
    f->len = payload;
    f->head_len = head_len;
    return 1;
}

uint16_t zzz_ws_frame_check(const zzz_ws_frame *f, bool in_message, bool deflate)
{
    enum { PROTOCOL = 1002 };
    uint8_t op = f->opcode;
    bool control = op & 0x8;
    bool data_start = op == ZZZ_WS_OP_TEXT || op == ZZZ_WS_OP_BINARY;
    if (!f->masked)
        return PROTOCOL; /* 5.1: a client masks every frame */
    if (!control && op > ZZZ_WS_OP_BINARY)
        return PROTOCOL;
    if (control && op > ZZZ_WS_OP_PONG)
        return PROTOCOL;
    if (f->rsv & 0x3)
        return PROTOCOL; /* RSV2 and RSV3: no extension of ours uses them */
    /* RFC 7692 6: RSV1 marks a compressed message, on its first frame. */
    if ((f->rsv & 0x4) && !(deflate && data_start))
        return PROTOCOL;
    if (control && (!f->fin || f->len > 125))
        return PROTOCOL; /* 5.5: control frames are whole and short */
    if (op == ZZZ_WS_OP_CONT && !in_message)
        return PROTOCOL;
    if (data_start && in_message)
        return PROTOCOL; /* 5.4: messages do not interleave */
    return 0;
}

void zzz_ws_unmask(uint8_t *data, size_t len, const uint8_t mask[4], uint64_t offset)
{
    /* Eight mask bytes in payload order from this offset; a word XORs
     * eight bytes at once whatever the byte order, since the same bytes
     * meet in memory. Every word starts at the same phase (8 % 4 == 0). */
    uint8_t turned[8];
    for (size_t i = 0; i < 8; i++)
        turned[i] = mask[(offset + i) & 3];
    uint64_t word;
    memcpy(&word, turned, 8);
    size_t i = 0;
    for (; len - i >= 32; i += 32) {
        uint64_t w[4];
        memcpy(w, data + i, 32);
        w[0] ^= word;
        w[1] ^= word;
        w[2] ^= word;
        w[3] ^= word;
        memcpy(data + i, w, 32);
    }
    for (; len - i >= 8; i += 8) {
        uint64_t w;
        memcpy(&w, data + i, 8);
        w ^= word;
        memcpy(data + i, &w, 8);
    }
    for (; i < len; i++)
        data[i] ^= turned[i & 7];
}

size_t zzz_ws_frame_head(uint8_t out[10], bool fin, uint8_t rsv, uint8_t opcode, uint64_t len)
{
    out[0] = (uint8_t)((fin ? 0x80 : 0) | (rsv & 0x7) << 4 | (opcode & 0x0f));
    size_t ext;
    if (len < 126) {
        out[1] = (uint8_t)len;
        return 2;
    } else if (len <= 0xffff) {
        out[1] = 126;
        ext = 2;
    } else {
        out[1] = 127;
        ext = 8;
    }
    for (size_t i = 0; i < ext; i++)
        out[2 + i] = (uint8_t)(len >> (8 * (ext - 1 - i)));
    return 2 + ext;
}

bool zzz_ws_close_code_ok(uint16_t code)
{
    /* 1004 is reserved; 1005, 1006 and 1015 stand for what happened
     * locally and never travel (7.4.1); 1012-1014 are registered with
     * IANA since; 3000-4999 belong to libraries and applications. */
    return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
           (code >= 3000 && code <= 4999);
}

/* ---- UTF-8 ------------------------------------------------------------------ */

/* A DFA. Its rules are in where the second byte of a sequence is
 * restricted (RFC 3629 4): after E0 only A0..BF (no overlongs), after ED
 * only 80..9F (no surrogates), after F0 only 90..BF (no overlongs), after
 * F4 only 80..8F (nothing past U+10FFFF); the rest is which bytes lead.
 * A state is a bit offset, and each byte has one 64-bit row holding the
 * next state for every state, six bits apiece: the step is
 * `s = row[byte] >> s & 63`, one load that does not wait for the state
 * and a shift: about two cycles a byte. */
enum {
    U8_OK = 0,   /* between sequences */
    U8_1 = 6,    /* one continuation byte, any */
    U8_2 = 12,   /* two, any */
    U8_3 = 18,   /* three, any */
    U8_E0 = 24,  /* after E0: A0..BF, then one more */
    U8_ED = 30,  /* after ED: 80..9F, then one more */
    U8_F0 = 36,  /* after F0: 90..BF, then two more */
    U8_F4 = 42,  /* after F4: 80..8F, then two more */
    U8_BAD = 48, /* stuck: the bytes cannot be UTF-8 */
};

/* A byte's row from its next state in each state (stuck stays stuck). */
#define U8_ROW(ok, n1, n2, n3, e0, ed, f0, f4)                                                     \
    ((uint64_t)(ok) << U8_OK | (uint64_t)(n1) << U8_1 | (uint64_t)(n2) << U8_2 |                   \
     (uint64_t)(n3) << U8_3 | (uint64_t)(e0) << U8_E0 | (uint64_t)(ed) << U8_ED |                  \
     (uint64_t)(f0) << U8_F0 | (uint64_t)(f4) << U8_F4 | (uint64_t)U8_BAD << U8_BAD)
#define B U8_BAD
// clang-format off
/*                          in state: OK     1      2      3      E0     ED     F0     F4 */
#define U8_ASCII  /* 00..7F */    U8_ROW(U8_OK, B,     B,     B,     B,     B,     B,     B)
#define U8_80     /* 80..8F */    U8_ROW(B,     U8_OK, U8_1,  U8_2,  B,     U8_1,  B,     U8_2)
#define U8_90     /* 90..9F */    U8_ROW(B,     U8_OK, U8_1,  U8_2,  B,     U8_1,  U8_2,  B)
#define U8_A0     /* A0..BF */    U8_ROW(B,     U8_OK, U8_1,  U8_2,  U8_1,  B,     U8_2,  B)
#define U8_NEVER  /* C0 C1 F5+ */ U8_ROW(B,     B,     B,     B,     B,     B,     B,     B)
#define U8_LEAD2  /* C2..DF */    U8_ROW(U8_1,  B,     B,     B,     B,     B,     B,     B)
#define U8_LEADE0 /* E0 */        U8_ROW(U8_E0, B,     B,     B,     B,     B,     B,     B)
#define U8_LEAD3  /* E1..EF */    U8_ROW(U8_2,  B,     B,     B,     B,     B,     B,     B)
#define U8_LEADED /* but ED */    U8_ROW(U8_ED, B,     B,     B,     B,     B,     B,     B)
#define U8_LEADF0 /* F0 */        U8_ROW(U8_F0, B,     B,     B,     B,     B,     B,     B)
#define U8_LEAD4  /* F1..F3 */    U8_ROW(U8_3,  B,     B,     B,     B,     B,     B,     B)
#define U8_LEADF4 /* F4 */        U8_ROW(U8_F4, B,     B,     B,     B,     B,     B,     B)

#define U8_X4(r) r, r, r, r
#define U8_X16(r) U8_X4(r), U8_X4(r), U8_X4(r), U8_X4(r)
static const uint64_t utf8_rows[] = {
    U8_X16(U8_ASCII), U8_X16(U8_ASCII), U8_X16(U8_ASCII), U8_X16(U8_ASCII), /* 00..3F */
    U8_X16(U8_ASCII), U8_X16(U8_ASCII), U8_X16(U8_ASCII), U8_X16(U8_ASCII), /* 40..7F */
    U8_X16(U8_80), U8_X16(U8_90), U8_X16(U8_A0), U8_X16(U8_A0),             /* 80..BF */
    U8_NEVER, U8_NEVER, U8_LEAD2, U8_LEAD2, U8_X4(U8_LEAD2),                /* C0..C7 */
    U8_X4(U8_LEAD2), U8_X4(U8_LEAD2), U8_X16(U8_LEAD2),                     /* C8..DF */
    U8_LEADE0, U8_LEAD3, U8_LEAD3, U8_LEAD3, U8_X4(U8_LEAD3),               /* E0..E7 */
    U8_X4(U8_LEAD3), U8_LEAD3, U8_LEADED, U8_LEAD3, U8_LEAD3,               /* E8..EF */
    U8_LEADF0, U8_LEAD4, U8_LEAD4, U8_LEAD4, U8_LEADF4, U8_NEVER, U8_NEVER, /* F0..F6 */
    U8_NEVER, U8_X4(U8_NEVER), U8_X4(U8_NEVER),                             /* F7..FF */
};
// clang-format on
#undef B
_Static_assert(sizeof utf8_rows == 256 * sizeof(uint64_t), "a row for every byte");

#define U8_HIGH_BITS UINT64_C(0x8080808080808080)

bool zzz_utf8_feed(zzz_utf8 *u, const uint8_t *p, size_t n)
{
    uint64_t s = u->state;
    if (s >= U8_BAD || s % 6 != 0)
        goto bad; /* stuck, or a state never made here */
    size_t i = 0;
    while (n - i >= 16) {
        if (s == U8_OK) {
            /* Most text is ASCII: skipped sixteen bytes at a time. */
            uint64_t w[2];
            memcpy(w, p + i, 16);
            if (!((w[0] | w[1]) & U8_HIGH_BITS)) {
                i += 16;
                continue;
            }
        }
        /* Sixteen bytes through the DFA, then one test: stuck stays
         * stuck, so the bad byte is never missed. */
        for (size_t k = 0; k < 16; k++)
            s = utf8_rows[p[i + k]] >> s & 63;
        i += 16;
        if (s == U8_BAD)
            goto bad;
    }
    for (; i < n; i++)
        s = utf8_rows[p[i]] >> s & 63;
    if (s == U8_BAD)
        goto bad;
    u->state = (uint32_t)s;
    return true;
bad:
    u->state = U8_BAD;
    return false;
}

bool zzz_utf8_complete(const zzz_utf8 *u)
{
    return u->state == U8_OK;
}

bool zzz_utf8_valid(const uint8_t *p, size_t n)
{
    zzz_utf8 u = {0};
    return zzz_utf8_feed(&u, p, n) && zzz_utf8_complete(&u);
}
