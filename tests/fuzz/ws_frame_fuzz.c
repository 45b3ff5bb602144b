/* libFuzzer target for WebSocket frames and the UTF-8 check
 * (zzz/src/http/ws_frame.c): the input is read as a stream of frames, as
 * a server reads a client's. Each head parsed must say what its bytes
 * say, need more at every shorter cut, and write back the same through
 * zzz_ws_frame_head; each refusal must have its reason in the bytes; the
 * frame check must agree with the rules written here; each payload is
 * unmasked in pieces and must equal a byte-by-byte unmasking. Then the
 * whole input goes through the UTF-8 check at once, in two pieces split
 * where its first bytes say, and a byte at a time: the same answer each
 * way, the same as a plain decoder's, refused at the first byte no text
 * can follow. */
#include "ws_frame.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Not assert(): release builds define NDEBUG, and a fuzzer must never stop
 * checking. */
#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "ws_frame_fuzz: %s:%d: check failed: %s\n", __FILE__, __LINE__,        \
                    #cond);                                                                        \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/* An exact-size heap copy, so ASan sees a byte read past the end. */
static uint8_t *copy_of(const uint8_t *p, size_t n)
{
    uint8_t *c = malloc(n ? n : 1);
    CHECK(c);
    if (n)
        memcpy(c, p, n);
    return c;
}

static int parse_exact(const uint8_t *p, size_t n, zzz_ws_frame *f)
{
    uint8_t *c = copy_of(p, n);
    int rc = zzz_ws_frame_parse(c, n, f);
    free(c);
    return rc;
}

/* ---- frames ------------------------------------------------------------- */

static uint64_t be(const uint8_t *p, size_t n)
{
    uint64_t v = 0;
    while (n--)
        v = v << 8 | *p++;
    return v;
}

/* The frame rules said positively (RFC 6455 5.2-5.5, RFC 7692 6). */
static bool acceptable(const zzz_ws_frame *f, bool in_message, bool deflate)
{
    bool control = f->opcode == 8 || f->opcode == 9 || f->opcode == 10;
    bool first = f->opcode == 1 || f->opcode == 2;
    if (!f->masked || !(control || first || f->opcode == 0))
        return false;
    if (f->rsv != 0 && !(f->rsv == 4 && deflate && first))
        return false;
    if (control)
        return f->fin && f->len <= 125;
    return f->opcode == 0 ? in_message : !in_message;
}

/* Unmasks n bytes of payload in pieces cut where `cuts` says, each piece
 * an exact-size copy, and compares with a byte loop. */
static void check_unmask(const uint8_t *payload, size_t n, const uint8_t mask[4], uint64_t base,
                         const uint8_t *cuts, size_t cuts_len)
{
    uint8_t *want = copy_of(payload, n);
    for (size_t i = 0; i < n; i++)
        want[i] ^= mask[(base + i) % 4];
    size_t pos = 0, c = 0;
    while (pos < n) {
        size_t piece = cuts_len ? cuts[c++ % cuts_len] % 41 : n;
        if (piece > n - pos)
            piece = n - pos;
        uint8_t *p = copy_of(payload + pos, piece);
        zzz_ws_unmask(p, piece, mask, base + pos);
        CHECK(memcmp(p, want + pos, piece) == 0);
        free(p);
        pos += piece;
        if (piece == 0 && c > cuts_len)
            break; /* cuts of nothing but zeros: the rest at once below */
    }
    if (pos < n) {
        uint8_t *p = copy_of(payload + pos, n - pos);
        zzz_ws_unmask(p, n - pos, mask, base + pos);
        CHECK(memcmp(p, want + pos, n - pos) == 0);
        free(p);
    }
    free(want);
}

static void check_frames(const uint8_t *data, size_t size, bool deflate)
{
    bool in_message = false;
    size_t pos = 0;
    while (pos < size) {
        const uint8_t *h = data + pos;
        size_t left = size - pos;
        zzz_ws_frame f;
        int rc = parse_exact(h, left, &f);
        CHECK(rc == -1 || rc == 0 || rc == 1);
        /* What the bytes say, worked out here. */
        size_t ext = 0, need = 2;
        if (left >= 2) {
            ext = (h[1] & 0x7f) == 126 ? 2 : (h[1] & 0x7f) == 127 ? 8 : 0;
            need = 2 + ext + (h[1] & 0x80 ? 4 : 0);
        }
        bool length_in = left >= 2 + ext;
        uint64_t len = length_in ? (ext ? be(h + 2, ext) : (uint64_t)(h[1] & 0x7f)) : 0;
        bool bad_length =
            length_in && ((ext == 2 && len < 126) || (ext == 8 && (len < 65536 || len >> 63)));
        if (rc == 0) {
            CHECK(!bad_length && left < need);
            break;
        }
        if (rc == -1) {
            CHECK(bad_length);
            pos++;
            continue;
        }
        CHECK(!bad_length && left >= need);
        CHECK(f.head_len == need && f.len == len);
        CHECK(f.fin == ((h[0] & 0x80) != 0) && f.rsv == ((h[0] >> 4) & 7));
        CHECK(f.opcode == (h[0] & 0x0f) && f.masked == ((h[1] & 0x80) != 0));
        CHECK(!f.masked || memcmp(f.mask, h + 2 + ext, 4) == 0);
        for (size_t cut = 0; cut < need; cut++) {
            zzz_ws_frame g;
            CHECK(parse_exact(h, cut, &g) == 0);
        }
        /* The server's head for the same frame is these bytes unmasked. */
        uint8_t out[10];
        size_t out_len = zzz_ws_frame_head(out, f.fin, f.rsv, f.opcode, f.len);
        CHECK(out_len == 2 + ext);
        CHECK(out[0] == h[0] && out[1] == (h[1] & 0x7f));
        CHECK(memcmp(out + 2, h + 2, ext) == 0);

        uint16_t code = zzz_ws_frame_check(&f, in_message, deflate);
        CHECK(code == 0 || code == 1002);
        CHECK((code == 0) == acceptable(&f, in_message, deflate));
        if (code == 0 && f.opcode < 8)
            in_message = !f.fin;

        size_t avail = left - need;
        if (f.len < avail)
            avail = (size_t)f.len;
        /* The payload's own last bytes choose the pieces. */
        const uint8_t *payload = h + need;
        size_t ncuts = avail < 8 ? avail : 8;
        static const uint8_t other_mask[4] = {0xa5, 0x01, 0x7e, 0xc3};
        const uint8_t *mask = f.masked ? f.mask : other_mask;
        check_unmask(payload, avail, mask, f.len - avail, payload + avail - ncuts, ncuts);
        check_unmask(payload, avail, mask, 0, payload, ncuts);
        pos += need + avail;
    }
}

/* ---- UTF-8 ---------------------------------------------------------------- */

/* A plain decoder: whether p[0..n) is UTF-8 (RFC 3629). */
static bool ref_valid(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n;) {
        uint8_t c = p[i];
        size_t full;
        uint32_t cp, least;
        if (c < 0x80) {
            i++;
            continue;
        } else if ((c & 0xe0) == 0xc0) {
            full = 2, cp = c & 0x1f, least = 0x80;
        } else if ((c & 0xf0) == 0xe0) {
            full = 3, cp = c & 0x0f, least = 0x800;
        } else if ((c & 0xf8) == 0xf0) {
            full = 4, cp = c & 0x07, least = 0x10000;
        } else {
            return false;
        }
        if (n - i < full)
            return false;
        for (size_t k = 1; k < full; k++) {
            if ((p[i + k] & 0xc0) != 0x80)
                return false;
            cp = cp << 6 | (p[i + k] & 0x3f);
        }
        if (cp < least || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        i += full;
    }
    return true;
}

/* Whether some ending makes p[0..n) UTF-8: the bytes before the last
 * sequence must be, and the last (at most four bytes from the last that
 * is not a continuation) completed by 0 to 3 bytes: the first of every
 * continuation value, the others the smallest or largest. */
static bool ref_viable(const uint8_t *p, size_t n)
{
    size_t j = n;
    while (j > 0 && n - j < 3 && (p[j - 1] & 0xc0) == 0x80)
        j--;
    if (j > 0)
        j--;
    if (!ref_valid(p, j))
        return false;
    uint8_t tail[8];
    size_t t = n - j;
    memcpy(tail, p + j, t);
    if (ref_valid(tail, t))
        return true;
    for (size_t extra = 1; extra <= 3; extra++) {
        for (unsigned first = 0x80; first <= 0xbf; first++) {
            for (unsigned rest = 0; rest < 4; rest++) {
                tail[t] = (uint8_t)first;
                for (size_t k = 1; k < extra; k++)
                    tail[t + k] = (rest >> (k - 1)) & 1 ? 0xbf : 0x80;
                if (ref_valid(tail, t + extra))
                    return true;
            }
        }
    }
    return false;
}

static bool feed_exact(zzz_utf8 *u, const uint8_t *p, size_t n)
{
    uint8_t *c = copy_of(p, n);
    bool ok = zzz_utf8_feed(u, c, n);
    free(c);
    return ok;
}

static void check_utf8(const uint8_t *data, size_t size)
{
    bool whole = zzz_utf8_valid(data, size);
    CHECK(whole == ref_valid(data, size));
    zzz_utf8 one = {0};
    bool fed = zzz_utf8_feed(&one, data, size);
    CHECK(whole == (fed && zzz_utf8_complete(&one)));

    size_t split = size >= 2 ? (size_t)(data[0] | data[1] << 8) % (size + 1) : 0;
    zzz_utf8 two = {0};
    bool a = feed_exact(&two, data, split);
    bool b = feed_exact(&two, data + split, size - split);
    CHECK(a || !b); /* a refusal sticks */
    CHECK(b == fed);
    CHECK(zzz_utf8_complete(&two) == zzz_utf8_complete(&one));

    /* A byte at a time: refused at the first byte after which no
     * ending makes UTF-8, or never. */
    zzz_utf8 bytes = {0};
    size_t at = size;
    for (size_t i = 0; i < size; i++) {
        if (!zzz_utf8_feed(&bytes, data + i, 1)) {
            at = i;
            break;
        }
    }
    CHECK((at == size) == fed);
    CHECK(ref_viable(data, at));
    if (at < size) {
        CHECK(!ref_viable(data, at + 1));
        CHECK(!zzz_utf8_complete(&bytes) && !zzz_utf8_feed(&bytes, data, 0));
    } else {
        CHECK(zzz_utf8_complete(&bytes) == whole);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* The first byte's low bit: whether permessage-deflate was agreed;
     * the frames start after it. */
    if (size >= 1)
        check_frames(data + 1, size - 1, data[0] & 1);
    check_utf8(data, size);
    return 0;
}
