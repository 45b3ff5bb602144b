/* Unit tests of WebSocket frames and the UTF-8 check (zzz/src/http/ws_frame.c,
 * included to reach its tables): heads in every length form, cut at every
 * byte, and the lengths refused; every rule of the frame check against a
 * reference written here; unmasking in pieces against a byte loop; the
 * heads a server writes read back; close codes; UTF-8 samples (the cases
 * the Autobahn suite sends) and random texts fed in random pieces against
 * a plain decoder written here. Buffers are exact-size heap copies where
 * it matters, so a sanitizer build sees a byte read too many. No I/O. */
#include "../../zzz/src/http/ws_frame.c"

#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>

/* A fixed-seed generator (xorshift64*): the same cases every run. */
static uint64_t rng_state = 0x9e3779b97f4a7c15u;

static uint64_t rng(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545f4914f6cdd1du;
}

static size_t rng_below(size_t n)
{
    return n ? (size_t)(rng() % n) : 0;
}

static uint8_t *copy_of(const void *p, size_t n)
{
    uint8_t *c = malloc(n ? n : 1);
    cr_assert_not_null(c);
    if (n)
        memcpy(c, p, n);
    return c;
}

/* ---- frame heads ----------------------------------------------------------- */

/* A head written byte by byte with the length form chosen by the caller
 * (0: 7 bits, 2: 16 bits, 8: 64 bits), so non-minimal forms can be made. */
static size_t make_head(uint8_t *out, uint8_t b0, bool masked, int form, uint64_t len,
                        const uint8_t mask[4])
{
    size_t n = 2;
    out[0] = b0;
    out[1] = masked ? 0x80 : 0;
    if (form == 0) {
        out[1] |= (uint8_t)len;
    } else {
        out[1] |= form == 2 ? 126 : 127;
        for (int i = form - 1; i >= 0; i--)
            out[n++] = (uint8_t)(len >> (8 * i));
    }
    if (masked) {
        memcpy(out + n, mask, 4);
        n += 4;
    }
    return n;
}

static int form_of(uint64_t len)
{
    return len < 126 ? 0 : len < 65536 ? 2 : 8;
}

static const uint8_t mask_a[4] = {0x37, 0xfa, 0x21, 0x3d};

/* Parses the head in exactly n bytes of heap. */
static int parse_exact(const uint8_t *head, size_t n, zzz_ws_frame *f)
{
    uint8_t *copy = copy_of(head, n);
    int rc = zzz_ws_frame_parse(copy, n, f);
    free(copy);
    return rc;
}

static const uint64_t lengths[] = {
    0,    1,     125,   126,   127,         255,          256,
    1000, 65535, 65536, 65537, 0xffffffffu, 0x100000000u, UINT64_C(0x7fffffffffffffff),
};

Test(ws_frame, every_length_form_masked_and_not)
{
    for (size_t i = 0; i < sizeof lengths / sizeof lengths[0]; i++) {
        for (int masked = 0; masked < 2; masked++) {
            uint64_t len = lengths[i];
            uint8_t head[ZZZ_WS_HEAD_MAX];
            size_t n = make_head(head, 0x82, masked, form_of(len), len, mask_a);
            size_t want = 2 + (size_t)form_of(len) + (masked ? 4 : 0);
            cr_assert_eq(n, want);
            zzz_ws_frame f;
            cr_assert_eq(parse_exact(head, n, &f), 1, "length %llu", (unsigned long long)len);
            cr_assert_eq(f.len, len);
            cr_assert_eq(f.head_len, want);
            cr_assert_eq(f.masked, (bool)masked);
            cr_assert(f.fin && f.rsv == 0 && f.opcode == ZZZ_WS_OP_BINARY);
            if (masked)
                cr_assert_arr_eq(f.mask, mask_a, 4);
        }
    }
}

Test(ws_frame, boundaries_as_sent)
{
    static const struct {
        uint8_t bytes[10];
        size_t n;
        uint64_t len;
    } cases[] = {
        {{0x82, 0x7d}, 2, 125},
        {{0x82, 0x7e, 0x00, 0x7e}, 4, 126},
        {{0x82, 0x7e, 0xff, 0xff}, 4, 65535},
        {{0x82, 0x7f, 0, 0, 0, 0, 0, 1, 0, 0}, 10, 65536},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        zzz_ws_frame f;
        cr_assert_eq(parse_exact(cases[i].bytes, cases[i].n, &f), 1);
        cr_assert_eq(f.len, cases[i].len);
        cr_assert_eq(f.head_len, cases[i].n);
        uint8_t out[10];
        cr_assert_eq(zzz_ws_frame_head(out, true, 0, ZZZ_WS_OP_BINARY, cases[i].len), cases[i].n);
        cr_assert_arr_eq(out, cases[i].bytes, cases[i].n);
    }
}

Test(ws_frame, lengths_not_in_shortest_form_refused)
{
    static const uint64_t short16[] = {0, 1, 125};
    static const uint64_t short64[] = {0, 1, 125, 126, 65535};
    zzz_ws_frame f;
    uint8_t head[ZZZ_WS_HEAD_MAX];
    for (int masked = 0; masked < 2; masked++) {
        for (size_t i = 0; i < 3; i++) {
            size_t n = make_head(head, 0x81, masked, 2, short16[i], mask_a);
            cr_assert_eq(parse_exact(head, n, &f), -1);
            cr_assert_eq(parse_exact(head, 4, &f), -1, "refused before the mask");
            cr_assert_eq(parse_exact(head, 3, &f), 0);
        }
        for (size_t i = 0; i < 5; i++) {
            size_t n = make_head(head, 0x81, masked, 8, short64[i], mask_a);
            cr_assert_eq(parse_exact(head, n, &f), -1);
            cr_assert_eq(parse_exact(head, 10, &f), -1, "refused before the mask");
            cr_assert_eq(parse_exact(head, 9, &f), 0);
        }
        /* The shortest lengths of each form are taken. */
        size_t n = make_head(head, 0x81, masked, 2, 126, mask_a);
        cr_assert_eq(parse_exact(head, n, &f), 1);
        n = make_head(head, 0x81, masked, 8, 65536, mask_a);
        cr_assert_eq(parse_exact(head, n, &f), 1);
    }
}

Test(ws_frame, top_bit_of_64_bit_length_refused)
{
    static const uint64_t bad[] = {UINT64_C(1) << 63, UINT64_MAX, (UINT64_C(1) << 63) + 65536};
    zzz_ws_frame f;
    uint8_t head[ZZZ_WS_HEAD_MAX];
    for (int masked = 0; masked < 2; masked++) {
        for (size_t i = 0; i < 3; i++) {
            size_t n = make_head(head, 0x82, masked, 8, bad[i], mask_a);
            cr_assert_eq(parse_exact(head, n, &f), -1);
        }
        size_t n = make_head(head, 0x82, masked, 8, UINT64_MAX >> 1, mask_a);
        cr_assert_eq(parse_exact(head, n, &f), 1);
        cr_assert_eq(f.len, UINT64_MAX >> 1);
    }
}

Test(ws_frame, partial_heads_need_more_at_every_cut)
{
    static const uint64_t some[] = {0, 125, 126, 65535, 65536, UINT64_C(1) << 40};
    for (size_t i = 0; i < sizeof some / sizeof some[0]; i++) {
        for (int masked = 0; masked < 2; masked++) {
            /* The head, then payload bytes that must not change anything. */
            uint8_t buf[ZZZ_WS_HEAD_MAX + 3] = {0};
            size_t n = make_head(buf, 0x01, masked, form_of(some[i]), some[i], mask_a);
            memset(buf + n, 0xee, 3);
            zzz_ws_frame f;
            for (size_t cut = 0; cut < n; cut++)
                cr_assert_eq(parse_exact(buf, cut, &f), 0, "cut at %zu of %zu", cut, n);
            for (size_t extra = 0; extra <= 3; extra++) {
                cr_assert_eq(parse_exact(buf, n + extra, &f), 1);
                cr_assert_eq(f.head_len, n);
                cr_assert_eq(f.len, some[i]);
                cr_assert(!f.fin && f.opcode == ZZZ_WS_OP_TEXT);
            }
        }
    }
}

Test(ws_frame, first_byte_read_as_sent)
{
    /* Every first byte goes through unjudged: fin, rsv, opcode. */
    for (unsigned b0 = 0; b0 < 256; b0++) {
        uint8_t head[2] = {(uint8_t)b0, 0x05};
        zzz_ws_frame f;
        cr_assert_eq(parse_exact(head, 2, &f), 1);
        cr_assert_eq(f.fin, (b0 & 0x80) != 0);
        cr_assert_eq(f.rsv, (b0 >> 4) & 7);
        cr_assert_eq(f.opcode, b0 & 0x0f);
        cr_assert_eq(f.len, 5);
        cr_assert(!f.masked);
    }
}

/* ---- the frame check ------------------------------------------------------- */

static zzz_ws_frame frame(uint8_t opcode, bool fin, uint8_t rsv, uint64_t len)
{
    zzz_ws_frame f = {.fin = fin, .rsv = rsv, .opcode = opcode, .masked = true, .len = len};
    memcpy(f.mask, mask_a, 4);
    f.head_len = 6;
    return f;
}

static uint16_t check(zzz_ws_frame f, bool in_message, bool deflate)
{
    return zzz_ws_frame_check(&f, in_message, deflate);
}

Test(ws_check, acceptable_frames)
{
    for (int deflate = 0; deflate < 2; deflate++) {
        cr_assert_eq(check(frame(ZZZ_WS_OP_TEXT, true, 0, 10), false, deflate), 0);
        cr_assert_eq(check(frame(ZZZ_WS_OP_BINARY, false, 0, 1 << 20), false, deflate), 0);
        cr_assert_eq(check(frame(ZZZ_WS_OP_CONT, false, 0, 10), true, deflate), 0);
        cr_assert_eq(check(frame(ZZZ_WS_OP_CONT, true, 0, 0), true, deflate), 0);
        for (int in = 0; in < 2; in++) {
            cr_assert_eq(check(frame(ZZZ_WS_OP_PING, true, 0, 125), in, deflate), 0);
            cr_assert_eq(check(frame(ZZZ_WS_OP_PONG, true, 0, 0), in, deflate), 0);
            cr_assert_eq(check(frame(ZZZ_WS_OP_CLOSE, true, 0, 2), in, deflate), 0);
        }
    }
}

Test(ws_check, unmasked_refused)
{
    static const uint8_t ops[] = {ZZZ_WS_OP_TEXT, ZZZ_WS_OP_BINARY, ZZZ_WS_OP_PING,
                                  ZZZ_WS_OP_CLOSE};
    for (size_t i = 0; i < sizeof ops; i++) {
        zzz_ws_frame f = frame(ops[i], true, 0, 1);
        f.masked = false;
        cr_assert_eq(zzz_ws_frame_check(&f, false, false), 1002);
    }
    zzz_ws_frame f = frame(ZZZ_WS_OP_CONT, true, 0, 1);
    f.masked = false;
    cr_assert_eq(zzz_ws_frame_check(&f, true, false), 1002);
}

Test(ws_check, reserved_opcodes_refused)
{
    static const uint8_t reserved[] = {3, 4, 5, 6, 7, 0xb, 0xc, 0xd, 0xe, 0xf};
    for (size_t i = 0; i < sizeof reserved; i++)
        for (int in = 0; in < 2; in++)
            for (int deflate = 0; deflate < 2; deflate++)
                cr_assert_eq(check(frame(reserved[i], true, 0, 0), in, deflate), 1002, "opcode %x",
                             reserved[i]);
}

Test(ws_check, reserved_bits)
{
    for (int deflate = 0; deflate < 2; deflate++) {
        /* RSV2 and RSV3: always refused. */
        for (uint8_t rsv = 1; rsv <= 3; rsv++) {
            cr_assert_eq(check(frame(ZZZ_WS_OP_TEXT, true, rsv, 1), false, deflate), 1002);
            cr_assert_eq(check(frame(ZZZ_WS_OP_CONT, true, rsv, 1), true, deflate), 1002);
            cr_assert_eq(check(frame(ZZZ_WS_OP_PING, true, rsv, 1), false, deflate), 1002);
            cr_assert_eq(check(frame(ZZZ_WS_OP_TEXT, true, rsv | 4, 1), false, deflate), 1002);
        }
        /* RSV1: on a message's first frame, with deflate only. */
        uint16_t want = deflate ? 0 : 1002;
        cr_assert_eq(check(frame(ZZZ_WS_OP_TEXT, true, 4, 1), false, deflate), want);
        cr_assert_eq(check(frame(ZZZ_WS_OP_BINARY, false, 4, 1), false, deflate), want);
        cr_assert_eq(check(frame(ZZZ_WS_OP_CONT, true, 4, 1), true, deflate), 1002);
        for (int in = 0; in < 2; in++) {
            cr_assert_eq(check(frame(ZZZ_WS_OP_PING, true, 4, 1), in, deflate), 1002);
            cr_assert_eq(check(frame(ZZZ_WS_OP_PONG, true, 4, 1), in, deflate), 1002);
            cr_assert_eq(check(frame(ZZZ_WS_OP_CLOSE, true, 4, 2), in, deflate), 1002);
        }
    }
}

Test(ws_check, control_frames_whole_and_short)
{
    static const uint8_t ops[] = {ZZZ_WS_OP_CLOSE, ZZZ_WS_OP_PING, ZZZ_WS_OP_PONG};
    for (size_t i = 0; i < sizeof ops; i++) {
        for (int in = 0; in < 2; in++) {
            cr_assert_eq(check(frame(ops[i], true, 0, 125), in, false), 0);
            cr_assert_eq(check(frame(ops[i], true, 0, 126), in, false), 1002);
            cr_assert_eq(check(frame(ops[i], true, 0, 65536), in, false), 1002);
            cr_assert_eq(check(frame(ops[i], false, 0, 0), in, false), 1002);
            cr_assert_eq(check(frame(ops[i], false, 0, 125), in, false), 1002);
        }
    }
}

Test(ws_check, messages_in_order)
{
    for (int deflate = 0; deflate < 2; deflate++) {
        cr_assert_eq(check(frame(ZZZ_WS_OP_CONT, true, 0, 1), false, deflate), 1002);
        cr_assert_eq(check(frame(ZZZ_WS_OP_CONT, false, 0, 1), false, deflate), 1002);
        cr_assert_eq(check(frame(ZZZ_WS_OP_TEXT, true, 0, 1), true, deflate), 1002);
        cr_assert_eq(check(frame(ZZZ_WS_OP_BINARY, false, 0, 1), true, deflate), 1002);
        cr_assert_eq(check(frame(ZZZ_WS_OP_TEXT, true, deflate ? 4 : 0, 1), true, deflate), 1002);
    }
}

/* The rules said positively, as a reference for every combination. */
static bool acceptable(const zzz_ws_frame *f, bool in_message, bool deflate)
{
    bool control = f->opcode >= 8 && f->opcode <= 10;
    bool first = f->opcode == 1 || f->opcode == 2;
    bool cont = f->opcode == 0;
    if (!f->masked || !(control || first || cont))
        return false;
    if (f->rsv != 0 && !(f->rsv == 4 && deflate && first))
        return false;
    if (control)
        return f->fin && f->len <= 125;
    return cont ? in_message : !in_message;
}

Test(ws_check, every_combination_against_reference)
{
    static const uint64_t lens[] = {0, 125, 126};
    size_t accepted = 0;
    for (unsigned bits = 0; bits < 16 * 8 * 2 * 2 * 3 * 2 * 2; bits++) {
        unsigned b = bits;
        zzz_ws_frame f = frame(b % 16, false, 0, 0);
        b /= 16;
        f.rsv = (uint8_t)(b % 8);
        b /= 8;
        f.fin = b % 2;
        b /= 2;
        f.masked = b % 2;
        b /= 2;
        f.len = lens[b % 3];
        b /= 3;
        bool in = b % 2, deflate = b / 2;
        uint16_t got = zzz_ws_frame_check(&f, in, deflate);
        cr_assert(got == 0 || got == 1002);
        cr_assert_eq(got == 0, acceptable(&f, in, deflate),
                     "op %x rsv %u fin %d masked %d len %llu", f.opcode, f.rsv, f.fin, f.masked,
                     (unsigned long long)f.len);
        accepted += got == 0;
    }
    cr_assert_gt(accepted, 0);
}

/* ---- unmasking ------------------------------------------------------------- */

static void naive_unmask(uint8_t *p, size_t n, const uint8_t mask[4], uint64_t offset)
{
    for (size_t i = 0; i < n; i++)
        p[i] ^= mask[(offset + i) % 4];
}

static void fill_random(uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)rng();
}

Test(ws_unmask, every_offset_and_short_length)
{
    uint8_t data[80], want[80], mask[4];
    for (uint64_t offset = 0; offset < 12; offset++) {
        for (size_t len = 0; len <= 72; len++) {
            for (size_t shift = 0; shift < 8; shift++) { /* unaligned starts */
                fill_random(mask, 4);
                fill_random(data, sizeof data);
                memcpy(want, data, sizeof data);
                naive_unmask(want + shift, len, mask, offset);
                zzz_ws_unmask(data + shift, len, mask, offset);
                cr_assert_arr_eq(data, want, sizeof data, "offset %llu len %zu shift %zu",
                                 (unsigned long long)offset, len, shift);
            }
        }
    }
}

Test(ws_unmask, offsets_far_into_a_payload)
{
    static const uint64_t offsets[] = {0xffffffffu, 0x100000001u, UINT64_MAX - 2, UINT64_MAX};
    uint8_t data[40], want[40];
    for (size_t i = 0; i < 4; i++) {
        fill_random(data, sizeof data);
        memcpy(want, data, sizeof data);
        naive_unmask(want, sizeof want, mask_a, offsets[i]);
        zzz_ws_unmask(data, sizeof data, mask_a, offsets[i]);
        cr_assert_arr_eq(data, want, sizeof data);
    }
}

Test(ws_unmask, in_pieces_equals_at_once)
{
    for (int round = 0; round < 400; round++) {
        size_t len = rng_below(1500);
        uint8_t mask[4];
        fill_random(mask, 4);
        uint8_t *orig = malloc(len + 1), *want = malloc(len + 1);
        cr_assert(orig && want);
        fill_random(orig, len);
        memcpy(want, orig, len);
        naive_unmask(want, len, mask, 0);
        /* Each piece in an exact-size buffer of its own; some empty. */
        size_t pos = 0;
        do {
            size_t piece = rng_below(4) == 0 ? rng_below(8) : rng_below(len - pos + 1);
            if (piece > len - pos)
                piece = len - pos;
            uint8_t *p = copy_of(orig + pos, piece);
            zzz_ws_unmask(p, piece, mask, pos);
            cr_assert(piece == 0 || memcmp(p, want + pos, piece) == 0, "round %d at %zu+%zu", round,
                      pos, piece);
            free(p);
            pos += piece;
        } while (pos < len);
        /* Twice is nothing. */
        uint8_t *twice = copy_of(orig, len);
        zzz_ws_unmask(twice, len, mask, 3);
        zzz_ws_unmask(twice, len, mask, 3);
        cr_assert(len == 0 || memcmp(twice, orig, len) == 0);
        free(twice);
        free(orig);
        free(want);
    }
}

/* ---- the heads a server writes -------------------------------------------- */

static void round_trip(uint64_t len, bool fin, uint8_t rsv, uint8_t op)
{
    uint8_t out[10];
    size_t n = zzz_ws_frame_head(out, fin, rsv, op, len);
    cr_assert_eq(n, 2 + (size_t)form_of(len), "length %llu", (unsigned long long)len);
    zzz_ws_frame f;
    cr_assert_eq(parse_exact(out, n, &f), 1);
    cr_assert_eq(f.len, len);
    cr_assert_eq(f.head_len, n);
    cr_assert(!f.masked);
    cr_assert(f.fin == fin && f.rsv == rsv && f.opcode == op);
    cr_assert_eq(parse_exact(out, n - 1, &f), 0);
}

Test(ws_head, round_trips_through_parse)
{
    for (size_t i = 0; i < sizeof lengths / sizeof lengths[0]; i++)
        round_trip(lengths[i], true, 0, ZZZ_WS_OP_BINARY);
    for (uint64_t len = 0; len < 300; len++)
        round_trip(len, len & 1, (uint8_t)(len % 8), (uint8_t)(len % 16));
    for (int i = 0; i < 3000; i++) {
        /* Lengths spread over every size of number. */
        uint64_t len = rng() >> (1 + rng_below(63));
        round_trip(len, rng() & 1, (uint8_t)rng_below(8), (uint8_t)rng_below(16));
    }
}

Test(ws_head, exact_bytes)
{
    uint8_t out[10];
    cr_assert_eq(zzz_ws_frame_head(out, true, 0, ZZZ_WS_OP_TEXT, 5), 2);
    cr_assert(out[0] == 0x81 && out[1] == 0x05);
    cr_assert_eq(zzz_ws_frame_head(out, true, 4, ZZZ_WS_OP_TEXT, 5), 2);
    cr_assert_eq(out[0], 0xc1, "RSV1 is 0x40");
    cr_assert_eq(zzz_ws_frame_head(out, false, 0, ZZZ_WS_OP_CONT, 256), 4);
    cr_assert_arr_eq(out, ((uint8_t[]){0x00, 0x7e, 0x01, 0x00}), 4);
    cr_assert_eq(zzz_ws_frame_head(out, true, 0, ZZZ_WS_OP_CLOSE, 0), 2);
    cr_assert(out[0] == 0x88 && out[1] == 0x00);
    cr_assert_eq(zzz_ws_frame_head(out, true, 0, ZZZ_WS_OP_BINARY, 0x0102030405060708u), 10);
    cr_assert_arr_eq(out, ((uint8_t[]){0x82, 0x7f, 1, 2, 3, 4, 5, 6, 7, 8}), 10);
}

/* ---- close codes ------------------------------------------------------------ */

Test(ws_close, codes_a_peer_may_send)
{
    static const uint16_t ok[] = {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010,
                                  1011, 1012, 1013, 1014, 3000, 3999, 4000, 4999};
    static const uint16_t not_ok[] = {0,    1,    999,  1004, 1005, 1006, 1015,
                                      1016, 1100, 2000, 2999, 5000, 5001, 65535};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        cr_assert(zzz_ws_close_code_ok(ok[i]), "%u", ok[i]);
    for (size_t i = 0; i < sizeof not_ok / sizeof not_ok[0]; i++)
        cr_assert(!zzz_ws_close_code_ok(not_ok[i]), "%u", not_ok[i]);
    unsigned count = 0;
    for (unsigned code = 0; code <= UINT16_MAX; code++)
        count += zzz_ws_close_code_ok((uint16_t)code);
    cr_assert_eq(count, 4 + 8 + 2000, "no other code is taken");
}

/* ---- UTF-8 ------------------------------------------------------------------ */

/* A plain decoder as the reference: VALID, INCOMPLETE (every sequence
 * good but the last cut short, and some ending would make it good), or
 * INVALID. */
enum { INVALID, INCOMPLETE, VALID };

static int ref_utf8(const uint8_t *p, size_t n);

/* Whether the cut-short sequence p[0..n) has an ending that makes it one
 * good sequence: the first missing byte tried with every continuation
 * value, the later ones with the smallest and the largest. */
static bool ref_can_end(const uint8_t *p, size_t n, size_t full)
{
    uint8_t seq[4];
    memcpy(seq, p, n);
    for (unsigned first = 0x80; first <= 0xbf; first++) {
        for (unsigned rest = 0; rest < 4; rest++) {
            seq[n] = (uint8_t)first;
            for (size_t k = n + 1; k < full; k++)
                seq[k] = (rest >> (k - n - 1)) & 1 ? 0xbf : 0x80;
            if (ref_utf8(seq, full) == VALID)
                return true;
        }
    }
    return false;
}

static int ref_utf8(const uint8_t *p, size_t n)
{
    size_t i = 0;
    while (i < n) {
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
            return INVALID;
        }
        size_t have = n - i < full ? n - i : full;
        for (size_t k = 1; k < have; k++) {
            if ((p[i + k] & 0xc0) != 0x80)
                return INVALID;
        }
        if (have < full)
            return ref_can_end(p + i, have, full) ? INCOMPLETE : INVALID;
        for (size_t k = 1; k < full; k++)
            cp = cp << 6 | (p[i + k] & 0x3f);
        if (cp < least || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return INVALID;
        i += full;
    }
    return VALID;
}

/* Feeds p[0..n) to a fresh state one byte at a time: the index of the
 * byte refused, or n. */
static size_t refused_at(const uint8_t *p, size_t n, bool *complete)
{
    zzz_utf8 u = {0};
    for (size_t i = 0; i < n; i++) {
        if (!zzz_utf8_feed(&u, p + i, 1)) {
            cr_assert(!zzz_utf8_complete(&u));
            *complete = false;
            return i;
        }
    }
    *complete = zzz_utf8_complete(&u);
    return n;
}

/* The whole check over an exact-size heap copy. */
static bool valid(const void *p, size_t n)
{
    uint8_t *c = copy_of(p, n);
    bool ok = zzz_utf8_valid(c, n);
    free(c);
    return ok;
}

#define S(s) s, sizeof s - 1

Test(ws_utf8, valid_samples)
{
    static const struct {
        const char *s;
        size_t n;
    } cases[] = {
        {S("")},
        {S("Hello, world: plain ASCII, more than sixteen bytes of it.")},
        {S("\x00\x7f")},
        {S("\xc2\x80")},                                     /* U+0080 */
        {S("\xc2\xb5")},                                     /* U+00B5 */
        {S("\xdf\xbf")},                                     /* U+07FF */
        {S("\xe0\xa0\x80")},                                 /* U+0800 */
        {S("\xed\x9f\xbf")},                                 /* U+D7FF */
        {S("\xee\x80\x80")},                                 /* U+E000 */
        {S("\xef\xbf\xbd")},                                 /* U+FFFD */
        {S("\xef\xbf\xbf")},                                 /* U+FFFF */
        {S("\xf0\x90\x80\x80")},                             /* U+10000 */
        {S("\xf3\xbf\xbf\xbf")},                             /* U+FFFFF */
        {S("\xf4\x8f\xbf\xbf")},                             /* U+10FFFF */
        {S("\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5")}, /* kosme */
        {S("Hello-\xc2\xb5@\xc3\x9f\xc3\xb6\xc3\xa4\xc3\xbc\xc3\xa0\xc3\xa1-UTF-8!!")},
        {S("1234567\xe2\x82\xac"
           "89abcdef\xf0\x9f\x98\x80"
           "0123456789abcde\xc3\xa9")},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const uint8_t *p = (const uint8_t *)cases[i].s;
        cr_assert(valid(p, cases[i].n), "case %zu", i);
        cr_assert_eq(ref_utf8(p, cases[i].n), VALID, "the reference, case %zu", i);
        bool complete;
        cr_assert_eq(refused_at(p, cases[i].n, &complete), cases[i].n);
        cr_assert(complete);
    }
}

Test(ws_utf8, invalid_samples_refused_at_the_first_bad_byte)
{
    static const struct {
        const char *s;
        size_t n;
        size_t at; /* the byte refused */
    } cases[] = {
        {S("\xc0\x80"), 0},                 /* overlong NUL */
        {S("\xc1\xbf"), 0},                 /* overlong U+007F */
        {S("\xe0\x80\x80"), 1},             /* overlong */
        {S("\xe0\x9f\xbf"), 1},             /* overlong U+07FF */
        {S("\xf0\x80\x80\x80"), 1},         /* overlong */
        {S("\xf0\x8f\xbf\xbf"), 1},         /* overlong U+FFFF */
        {S("\xed\xa0\x80"), 1},             /* U+D800 */
        {S("\xed\xad\xbf"), 1},             /* U+DB7F */
        {S("\xed\xbf\xbf"), 1},             /* U+DFFF */
        {S("\xed\xa0\x80\xed\xb0\x80"), 1}, /* a surrogate pair */
        {S("\xf4\x90\x80\x80"), 1},         /* U+110000 */
        {S("\xf7\xbf\xbf\xbf"), 0},         /* U+1FFFFF */
        {S("\xf5\x80\x80\x80"), 0},
        {S("\xf8\x88\x80\x80\x80"), 0}, /* five bytes */
        {S("\xfc\x84\x80\x80\x80\x80"), 0},
        {S("\xfe"), 0},
        {S("\xff"), 0},
        {S("\xfe\xfe\xff\xff"), 0},
        {S("\x80"), 0}, /* a lone continuation */
        {S("\xbf"), 0},
        {S("a\x80"), 1},
        {S("\xc2\x80\x80"), 2}, /* one continuation too many */
        {S("\xc2\x41"), 1},     /* cut short by ASCII */
        {S("\xe1\x80\x41"), 2},
        {S("\xf1\x80\x80\xc2\x80"), 3},
        {S("\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80\x65\x64\x69\x74\x65\x64"), 12},
        {S("0123456789abcdef0123456789abcde\xff"), 31},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const uint8_t *p = (const uint8_t *)cases[i].s;
        size_t n = cases[i].n;
        cr_assert(!valid(p, n), "case %zu", i);
        cr_assert_eq(ref_utf8(p, n), INVALID, "the reference, case %zu", i);
        bool complete;
        cr_assert_eq(refused_at(p, n, &complete), cases[i].at, "case %zu", i);
        /* One feed of the bytes up to the bad one fails too. */
        zzz_utf8 u = {0};
        uint8_t *c = copy_of(p, cases[i].at + 1);
        cr_assert(!zzz_utf8_feed(&u, c, cases[i].at + 1));
        free(c);
        /* Stuck: nothing good after it helps. */
        cr_assert(!zzz_utf8_feed(&u, (const uint8_t *)"abc", 3));
        cr_assert(!zzz_utf8_feed(&u, NULL, 0));
        cr_assert(!zzz_utf8_complete(&u));
    }
}

Test(ws_utf8, cut_short_is_not_yet_an_error)
{
    static const struct {
        const char *s;
        size_t n;
    } cases[] = {
        {S("\xc2")},        {S("\xdf")},
        {S("\xe0\xa0")},    {S("\xe1")},
        {S("\xe1\x80")},    {S("\xed\x9f")},
        {S("\xef\xbf")},    {S("\xf0\x90\x80")},
        {S("\xf0")},        {S("\xf4\x8f\xbf")},
        {S("\xf4")},        {S("\xf3\xbf")},
        {S("abc\xe2\x82")}, {S("0123456789abcdef\xf0\x9f\x98")},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const uint8_t *p = (const uint8_t *)cases[i].s;
        size_t n = cases[i].n;
        cr_assert_eq(ref_utf8(p, n), INCOMPLETE, "the reference, case %zu", i);
        zzz_utf8 u = {0};
        uint8_t *c = copy_of(p, n);
        cr_assert(zzz_utf8_feed(&u, c, n), "case %zu", i);
        free(c);
        cr_assert(!zzz_utf8_complete(&u), "case %zu", i);
        cr_assert(!valid(p, n), "case %zu", i);
    }
    /* Completed in a later feed, it is good. */
    zzz_utf8 u = {0};
    cr_assert(zzz_utf8_feed(&u, (const uint8_t *)"\xf0\x9f", 2));
    cr_assert(zzz_utf8_feed(&u, (const uint8_t *)"\x98", 1));
    cr_assert(!zzz_utf8_complete(&u));
    cr_assert(zzz_utf8_feed(&u, (const uint8_t *)"\x80", 1));
    cr_assert(zzz_utf8_complete(&u));
}

Test(ws_utf8, every_two_byte_start_against_reference)
{
    /* Every pair of bytes, then each completed with every continuation:
     * the whole table of the DFA's first two steps. */
    for (unsigned a = 0; a < 256; a++) {
        for (unsigned b = 0; b < 256; b++) {
            uint8_t p[4] = {(uint8_t)a, (uint8_t)b, 0x80, 0xbf};
            for (size_t n = 2; n <= 4; n++) {
                bool complete;
                size_t at = refused_at(p, n, &complete);
                int ref = ref_utf8(p, n);
                cr_assert_eq(at < n, ref == INVALID, "%02x %02x, %zu bytes", a, b, n);
                cr_assert_eq(complete, ref == VALID, "%02x %02x, %zu bytes", a, b, n);
            }
        }
    }
}

Test(ws_utf8, one_odd_byte_anywhere_in_ascii)
{
    /* The word-at-a-time path must see a high bit wherever it is. */
    for (size_t len = 1; len <= 40; len++) {
        for (size_t at = 0; at < len; at++) {
            uint8_t *p = malloc(len);
            cr_assert_not_null(p);
            memset(p, 'a', len);
            p[at] = 0x80;
            cr_assert(!zzz_utf8_valid(p, len), "0x80 at %zu of %zu", at, len);
            p[at] = 0x7f;
            cr_assert(zzz_utf8_valid(p, len));
            p[at] = 0xc3; /* cut short unless something follows */
            if (at + 1 < len)
                p[at + 1] = 0xa9;
            cr_assert_eq(zzz_utf8_valid(p, len), at + 1 < len, "c3 at %zu of %zu", at, len);
            free(p);
        }
    }
}

/* A random text likely to come close to the rules: good characters near
 * the edges of each range, runs of ASCII, and bytes that break them. */
static size_t random_text(uint8_t *out, size_t cap, bool clean)
{
    static const uint32_t edges[] = {0,       0x7f,    0x80,    0x7ff,    0x800,   0xfff,
                                     0x1000,  0xd7ff,  0xe000,  0xfffd,   0xffff,  0x10000,
                                     0x3ffff, 0x40000, 0xfffff, 0x100000, 0x10ffff};
    static const uint8_t odd[] = {0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xc1, 0xc2,
                                  0xdf, 0xe0, 0xe1, 0xec, 0xed, 0xee, 0xef, 0xf0, 0xf1,
                                  0xf3, 0xf4, 0xf5, 0xf7, 0xf8, 0xfe, 0xff};
    size_t n = 0, want = rng_below(cap - 3);
    while (n < want) {
        size_t kind = rng_below(10);
        if (kind < 2) {
            size_t run = rng_below(20);
            for (size_t k = 0; k < run && n < want; k++)
                out[n++] = (uint8_t)(0x20 + rng_below(0x5f));
        } else if (kind < 8 || clean) {
            uint32_t cp = rng_below(2) ? edges[rng_below(sizeof edges / sizeof edges[0])]
                                       : (uint32_t)rng_below(0x110000);
            if (cp >= 0xd800 && cp <= 0xdfff)
                cp = 0xfffd;
            if (cp < 0x80) {
                out[n++] = (uint8_t)cp;
            } else if (cp < 0x800) {
                out[n++] = (uint8_t)(0xc0 | cp >> 6);
                out[n++] = (uint8_t)(0x80 | (cp & 0x3f));
            } else if (cp < 0x10000) {
                out[n++] = (uint8_t)(0xe0 | cp >> 12);
                out[n++] = (uint8_t)(0x80 | (cp >> 6 & 0x3f));
                out[n++] = (uint8_t)(0x80 | (cp & 0x3f));
            } else {
                out[n++] = (uint8_t)(0xf0 | cp >> 18);
                out[n++] = (uint8_t)(0x80 | (cp >> 12 & 0x3f));
                out[n++] = (uint8_t)(0x80 | (cp >> 6 & 0x3f));
                out[n++] = (uint8_t)(0x80 | (cp & 0x3f));
            }
        } else if (kind < 9) {
            out[n++] = odd[rng_below(sizeof odd)];
        } else {
            out[n++] = (uint8_t)rng();
        }
    }
    /* Now and then one byte changed, or the end cut. */
    if (!clean && n && rng_below(4) == 0)
        out[rng_below(n)] = odd[rng_below(sizeof odd)];
    if (!clean && n && rng_below(4) == 0)
        n -= rng_below(4) % (n + 1);
    return n;
}

Test(ws_utf8, random_texts_in_random_pieces)
{
    uint8_t text[96];
    size_t seen[3] = {0};
    for (int round = 0; round < 4000; round++) {
        size_t n = random_text(text, sizeof text, rng_below(3) == 0);
        int ref = ref_utf8(text, n);
        seen[ref]++;

        zzz_utf8 one = {0};
        uint8_t *c = copy_of(text, n);
        bool fed = zzz_utf8_feed(&one, c, n);
        free(c);
        cr_assert_eq(fed, ref != INVALID, "round %d", round);
        cr_assert_eq(zzz_utf8_complete(&one), ref == VALID, "round %d", round);
        cr_assert_eq(zzz_utf8_valid(text, n), ref == VALID);

        /* The byte refused is the first whose prefix the reference finds
         * beyond repair. */
        bool complete;
        size_t at = refused_at(text, n, &complete);
        size_t want = n;
        for (size_t k = 1; k <= n; k++) {
            if (ref_utf8(text, k) == INVALID) {
                want = k - 1;
                break;
            }
        }
        cr_assert_eq(at, want, "round %d", round);

        /* In pieces, each an exact-size heap copy: the same answers. */
        for (int split = 0; split < 4; split++) {
            zzz_utf8 u = {0};
            bool ok = true;
            for (size_t pos = 0; pos < n;) {
                size_t piece = 1 + rng_below(rng_below(2) ? 4 : n - pos);
                if (piece > n - pos)
                    piece = n - pos;
                c = copy_of(text + pos, piece);
                bool r = zzz_utf8_feed(&u, c, piece);
                free(c);
                cr_assert(ok || !r, "a refusal sticks");
                ok = ok && r;
                pos += piece;
            }
            cr_assert_eq(ok, fed, "round %d split %d", round, split);
            cr_assert_eq(zzz_utf8_complete(&u), ref == VALID, "round %d split %d", round, split);
        }
    }
    /* The texts reached every answer, often. */
    cr_assert(seen[VALID] > 400 && seen[INVALID] > 400 && seen[INCOMPLETE] > 40,
              "valid %zu invalid %zu incomplete %zu", seen[VALID], seen[INVALID], seen[INCOMPLETE]);
}

Test(ws_utf8, long_texts_across_words)
{
    /* Long good texts mixing ASCII runs and characters at every
     * alignment, half of them then broken in one byte, checked whole
     * against the reference. */
    size_t good = 0;
    for (int round = 0; round < 200; round++) {
        uint8_t text[600];
        size_t n = 0;
        while (n < sizeof text - 24)
            n += random_text(text + n, 24, true);
        if (round % 2)
            text[rng_below(n)] = (uint8_t)(0x80 + rng_below(0x80));
        bool ok = zzz_utf8_valid(text, n);
        cr_assert_eq(ok, ref_utf8(text, n) == VALID, "round %d", round);
        good += ok;
    }
    cr_assert_geq(good, 100);
}
