/* Unit tests of permessage-deflate (ws_deflate.c, included so that its
 * allocations can be counted and its zlib streams looked at): reading
 * offers (each parameter, bad values, quoting, several offers, other
 * extensions, case and white space), and the codec: round trips of many
 * sizes and every window, data from zlib itself and the RFC's examples,
 * max respected to the byte, a compression bomb stopped early with
 * little memory, garbage and cut messages refused. Built without zlib,
 * it checks that every offer is declined and the codec says -ENOTSUP. */
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef ZZZ_HAVE_ZLIB
#include <zlib.h>
#endif

/* ---- the code's own allocations, counted --------------------------------- */

/* Bytes the code under test holds, and the most it held at once; a
 * realloc counts its old and new blocks together, as a copy would. */
static size_t live_bytes, peak_bytes;

typedef union block_head {
    size_t size;
    max_align_t align;
} block_head;

static void counted_add(size_t n)
{
    live_bytes += n;
    if (live_bytes > peak_bytes)
        peak_bytes = live_bytes;
}

static void *counted_malloc(size_t n)
{
    block_head *h = malloc(sizeof *h + n);
    if (!h)
        return NULL;
    h->size = n;
    counted_add(n);
    return h + 1;
}

static void *counted_calloc(size_t count, size_t n)
{
    void *p = count && n > SIZE_MAX / count ? NULL : counted_malloc(count * n);
    if (p)
        memset(p, 0, count * n);
    return p;
}

static void counted_free(void *p)
{
    if (!p)
        return;
    block_head *h = (block_head *)p - 1;
    live_bytes -= h->size;
    free(h);
}

#ifdef ZZZ_HAVE_ZLIB /* only buffers that grow need it */
static void *counted_realloc(void *p, size_t n)
{
    void *q = counted_malloc(n);
    if (q && p) {
        size_t old = ((block_head *)p - 1)->size;
        memcpy(q, p, old < n ? old : n);
        counted_free(p);
    }
    return q;
}
#endif

#define malloc counted_malloc
#define calloc counted_calloc
#define realloc counted_realloc
#define free counted_free
#include "../../zzz/src/http/ws_deflate.c"
#undef malloc
#undef calloc
#undef realloc
#undef free

#include <criterion/criterion.h>

/* ---- helpers ---------------------------------------------------------------- */

static const char base_answer[] =
    "permessage-deflate; server_no_context_takeover; client_no_context_takeover";

/* The answer to value, or NULL when it is declined; *bits the window. */
static const char *answer(const char *value, int *bits)
{
    static char out[128];
    memset(out, '#', sizeof out);
    *bits = -1;
    if (!zzz_ws_deflate_accept(value, strlen(value), out, sizeof out, bits)) {
        for (size_t i = 0; i < sizeof out; i++)
            cr_assert(out[i] == '#', "out written on a decline of \"%s\"", value);
        cr_assert(*bits == -1);
        return NULL;
    }
    cr_assert(strlen(out) < sizeof out);
    return out;
}

static void expect_declined(const char *value)
{
    int bits;
    cr_assert_null(answer(value, &bits), "taken: \"%s\"", value);
}

/* ---- negotiation ------------------------------------------------------------ */

#ifdef ZZZ_HAVE_ZLIB

/* Taken with the plain answer and a window of 15. */
static void expect_taken(const char *value)
{
    int bits;
    const char *got = answer(value, &bits);
    cr_assert(got, "declined: \"%s\"", value);
    cr_assert_str_eq(got, base_answer, "for \"%s\"", value);
    cr_assert_eq(bits, 15, "for \"%s\"", value);
}

/* Taken with server_max_window_bits=want answered. */
static void expect_window(const char *value, int want)
{
    int bits;
    const char *got = answer(value, &bits);
    cr_assert(got, "declined: \"%s\"", value);
    char full[128];
    snprintf(full, sizeof full, "%s; server_max_window_bits=%d", base_answer, want);
    cr_assert_str_eq(got, full, "for \"%s\"", value);
    cr_assert_eq(bits, want, "for \"%s\"", value);
}

/* Deterministic bytes: random (xorshift) or text-like and repetitive. */
static uint8_t *make_data(size_t len, bool random, uint64_t seed)
{
    uint8_t *p = malloc(len ? len : 1);
    cr_assert(p);
    static const char words[] = "the quick brown fox jumps over the lazy dog; ";
    uint64_t x = seed * 2654435761u + 1;
    for (size_t i = 0; i < len; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        p[i] = random ? (uint8_t)x : (uint8_t)words[(i + (i / 997)) % (sizeof words - 1)];
    }
    return p;
}

Test(ws_deflate_accept, a_plain_offer)
{
    expect_taken("permessage-deflate");
}

Test(ws_deflate_accept, each_parameter)
{
    expect_taken("permessage-deflate; server_no_context_takeover");
    expect_taken("permessage-deflate; client_no_context_takeover");
    expect_taken("permessage-deflate; client_max_window_bits");
    expect_taken("permessage-deflate; client_max_window_bits=10");
    expect_taken("permessage-deflate; client_max_window_bits=8");
    expect_window("permessage-deflate; server_max_window_bits=10", 10);
    expect_window("permessage-deflate; server_max_window_bits=9", 9);
    expect_window("permessage-deflate; server_max_window_bits=15", 15);
    expect_window("permessage-deflate; server_no_context_takeover; client_no_context_takeover; "
                  "server_max_window_bits=12; client_max_window_bits=11",
                  12);
}

/* zlib cannot compress in a window of 8: taken, and answered, but our
 * side then sends uncompressed (ws.c). */
Test(ws_deflate_accept, a_window_of_8_is_taken)
{
    expect_window("permessage-deflate; server_max_window_bits=8", 8);
}

Test(ws_deflate_accept, bad_values_are_skipped)
{
    static const char *const bad[] = {
        "7", "16", "015", "08", "0", "abc", "1a", "+9", "9.0", "100", "", "\"\"", "\"abc\"",
    };
    char value[128];
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        snprintf(value, sizeof value, "permessage-deflate; server_max_window_bits=%s", bad[i]);
        expect_declined(value);
        snprintf(value, sizeof value, "permessage-deflate; client_max_window_bits=%s", bad[i]);
        expect_declined(value);
        snprintf(value, sizeof value,
                 "permessage-deflate; server_max_window_bits=%s, permessage-deflate", bad[i]);
        expect_taken(value);
    }
    /* server_max_window_bits needs a value; the takeovers take none. */
    expect_declined("permessage-deflate; server_max_window_bits");
    expect_declined("permessage-deflate; server_no_context_takeover=1");
    expect_declined("permessage-deflate; client_no_context_takeover=\"\"");
}

Test(ws_deflate_accept, quoted_values)
{
    expect_window("permessage-deflate; server_max_window_bits=\"10\"", 10);
    expect_taken("permessage-deflate; client_max_window_bits=\"10\"");
    expect_window("permessage-deflate; server_max_window_bits=\"1\\1\"", 11);
    expect_declined("permessage-deflate; server_max_window_bits=\"10");
    expect_declined("permessage-deflate; server_max_window_bits=\"1 0\"");
    expect_declined("permessage-deflate; server_max_window_bits=\"10\"x");
}

Test(ws_deflate_accept, unknown_parameters_skip_their_offer)
{
    expect_declined("permessage-deflate; foo");
    expect_declined("permessage-deflate; mux=1");
    expect_window("permessage-deflate; foo, permessage-deflate; server_max_window_bits=12", 12);
    /* A quoted value hides its commas and semicolons. */
    expect_window("permessage-deflate; foo=\"a, permessage-deflate; b\", "
                  "permessage-deflate; server_max_window_bits=11",
                  11);
}

Test(ws_deflate_accept, repeated_parameters_skip_their_offer)
{
    expect_declined("permessage-deflate; server_no_context_takeover; server_no_context_takeover");
    expect_declined("permessage-deflate; client_no_context_takeover; client_no_context_takeover");
    expect_declined("permessage-deflate; client_max_window_bits; client_max_window_bits=10");
    expect_declined("permessage-deflate; server_max_window_bits=10; server_max_window_bits=10");
    expect_window("permessage-deflate; server_max_window_bits=10; SERVER_max_window_bits=10, "
                  "permessage-deflate; server_max_window_bits=13",
                  13);
}

Test(ws_deflate_accept, other_extensions_come_first)
{
    expect_taken("x-foo, permessage-deflate");
    expect_taken("x-foo; a=1; b=\"q,;\\\"\", permessage-deflate; client_max_window_bits");
    expect_declined("x-webkit-deflate-frame");
    expect_declined("deflate-frame, x-foo; permessage-deflate");
    expect_declined("permessage-deflatex");
    expect_declined("permessage");
}

Test(ws_deflate_accept, names_in_any_case)
{
    expect_taken("PerMessage-Deflate");
    expect_window("PERMESSAGE-DEFLATE; Server_Max_Window_Bits=11; CLIENT_NO_CONTEXT_TAKEOVER", 11);
}

Test(ws_deflate_accept, white_space_and_empty_elements)
{
    expect_window("permessage-deflate ;server_max_window_bits = 11 ; client_max_window_bits\t", 11);
    expect_window("  ,, permessage-deflate\t;\tserver_max_window_bits=\t\"9\" ,", 9);
    expect_taken("x-foo ,permessage-deflate");
}

Test(ws_deflate_accept, malformed_offers_are_skipped)
{
    static const char *const bad[] = {
        "permessage-deflate;",
        "permessage-deflate; ;",
        "permessage-deflate x",
        "permessage-deflate; =3",
        "permessage-deflate; a b",
        "permessage-deflate; server_max_window_bits=",
        "permessage-deflate; server_max_window_bits==10",
        "permessage-deflate; server_max_window_bits=1 0",
        "permessage-deflate; \"server_max_window_bits\"=10",
        "permessage-deflate; server_max_window_bits=\"1\x01\"",
        "\"permessage-deflate\"",
        ";permessage-deflate",
        "permessage-deflate\r\n",
        "",
        "   ",
        ",",
    };
    char value[128];
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        expect_declined(bad[i]);
        snprintf(value, sizeof value, "%s, permessage-deflate; server_max_window_bits=14", bad[i]);
        if (!strchr(bad[i], '"') || strchr(strchr(bad[i], '"') + 1, '"'))
            expect_window(value, 14);
    }
    /* An unclosed quote runs to the end, taking the rest with it. */
    expect_declined("x-foo; a=\"b, permessage-deflate");
}

Test(ws_deflate_accept, bytes_past_the_length_and_nul)
{
    int bits = 0;
    char out[128];
    static const char v[] = "permessage-deflate\0, x";
    cr_assert_not(zzz_ws_deflate_accept(v, sizeof v - 1, out, sizeof out, &bits));
    /* Only value_len bytes are read. */
    cr_assert(zzz_ws_deflate_accept("permessage-deflate; foo", 18, out, sizeof out, &bits));
    cr_assert_not(zzz_ws_deflate_accept("permessage-deflate", 0, out, sizeof out, &bits));
}

Test(ws_deflate_accept, too_small_an_out_declines)
{
    char out[128];
    memset(out, '#', sizeof out);
    int bits = -1;
    size_t need = sizeof base_answer; /* with its NUL */
    cr_assert_not(zzz_ws_deflate_accept("permessage-deflate", 18, out, need - 1, &bits));
    cr_assert(out[0] == '#' && bits == -1);
    cr_assert(zzz_ws_deflate_accept("permessage-deflate", 18, out, need, &bits));
    cr_assert_str_eq(out, base_answer);
    /* The longest answer fits in 128. */
    const char *v = "permessage-deflate; server_max_window_bits=15";
    cr_assert(zzz_ws_deflate_accept(v, strlen(v), out, 128, &bits));
    cr_assert(strlen(out) < 128);
}

#endif /* ZZZ_HAVE_ZLIB */

/* ---- the codec ---------------------------------------------------------------- */

#ifdef ZZZ_HAVE_ZLIB

static zzz_ws_zlib *zlib_new(void)
{
    zzz_ws_zlib *z = NULL;
    cr_assert_eq(zzz_ws_zlib_create(&z), 0);
    cr_assert(z);
    return z;
}

/* Inflates in (len bytes) with max; returns the error, and on success
 * checks the result against want (want_len bytes). */
static int inflate_expect(zzz_ws_zlib *z, const void *in, size_t len, size_t max, const void *want,
                          size_t want_len)
{
    uint8_t *out = (uint8_t *)"untouched";
    size_t out_len = 12345;
    int err = zzz_ws_inflate(z, in, len, max, &out, &out_len);
    if (err) {
        cr_assert(out_len == 12345 && strcmp((char *)out, "untouched") == 0);
        return err;
    }
    cr_assert_eq(out_len, want_len);
    cr_assert(out_len <= max);
    cr_assert(want_len == 0 || memcmp(out, want, want_len) == 0);
    counted_free(out);
    return 0;
}

/* Compresses data with zzz_ws_deflate, inflates it back with max = its
 * length (so the result must fit exactly) and checks the bytes. */
static void round_trip(zzz_ws_zlib *z, int bits, const uint8_t *data, size_t len)
{
    uint8_t *packed;
    size_t packed_len;
    cr_assert_eq(zzz_ws_deflate(z, bits, data, len, &packed, &packed_len), 0);
    /* The sync flush's tail is gone: a payload never ends in it. */
    cr_assert(packed_len < 4 || memcmp(packed + packed_len - 4, sync_tail, 4) != 0);
    cr_assert_eq(inflate_expect(z, packed, packed_len, len, data, len), 0, "len %zu bits %d", len,
                 bits);
    if (len > 0)
        cr_assert_eq(inflate_expect(z, packed, packed_len, len - 1, NULL, 0), -EMSGSIZE);
    counted_free(packed);
}

/* Raw deflate by zlib itself with window bits, ended by flush
 * (Z_SYNC_FLUSH: its tail stripped; Z_FINISH: a final block). */
static uint8_t *zlib_pack(const uint8_t *in, size_t len, int bits, int flush, size_t *out_len)
{
    z_stream s;
    memset(&s, 0, sizeof s);
    cr_assert_eq(deflateInit2(&s, 6, Z_DEFLATED, -bits, 8, Z_DEFAULT_STRATEGY), Z_OK);
    size_t cap = deflateBound(&s, len) + 64;
    uint8_t *out = malloc(cap);
    s.next_in = (Bytef *)(uintptr_t)in;
    s.avail_in = (uInt)len;
    s.next_out = out;
    s.avail_out = (uInt)cap;
    int rc = deflate(&s, flush);
    cr_assert(rc == (flush == Z_FINISH ? Z_STREAM_END : Z_OK));
    *out_len = cap - s.avail_out;
    deflateEnd(&s);
    if (flush == Z_SYNC_FLUSH) {
        cr_assert(*out_len >= 4 && memcmp(out + *out_len - 4, sync_tail, 4) == 0);
        *out_len -= 4;
    }
    return out;
}

Test(ws_deflate_codec, round_trips_of_many_sizes)
{
    zzz_ws_zlib *z = zlib_new();
    static const size_t sizes[] = {0, 1, 2, 100, 4095, 65536, 1 << 20};
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
        for (int random = 0; random < 2; random++) {
            uint8_t *data = make_data(sizes[i], random, i);
            round_trip(z, 15, data, sizes[i]);
            free(data);
        }
    }
    zzz_ws_zlib_destroy(z);
    cr_assert_eq(live_bytes, 0, "%zu bytes left", live_bytes);
}

Test(ws_deflate_codec, an_empty_message_is_one_byte)
{
    zzz_ws_zlib *z = zlib_new();
    uint8_t *packed;
    size_t packed_len;
    cr_assert_eq(zzz_ws_deflate(z, 15, NULL, 0, &packed, &packed_len), 0);
    cr_assert(packed_len == 1 && packed[0] == 0x00);
    counted_free(packed);
    static const uint8_t zero = 0;
    cr_assert_eq(inflate_expect(z, &zero, 1, 0, NULL, 0), 0);
    /* No bytes at all read as the tail alone: an empty message too. */
    cr_assert_eq(inflate_expect(z, NULL, 0, 0, NULL, 0), 0);
    zzz_ws_zlib_destroy(z);
}

Test(ws_deflate_codec, every_window_and_changes_of_window)
{
    zzz_ws_zlib *z = zlib_new();
    size_t len = 200000;
    uint8_t *data = make_data(len, false, 7);
    /* Bytes that repeat from far back, where small windows differ. */
    for (size_t i = 40000; i < len; i++)
        data[i] = data[i - 40000 + (i % 3)];
    for (int bits = 9; bits <= 15; bits++) {
        round_trip(z, bits, data, len);
        round_trip(z, 24 - bits, data, 1000); /* a change of window each time */
        size_t packed_len;
        uint8_t *packed = zlib_pack(data, len, bits, Z_SYNC_FLUSH, &packed_len);
        cr_assert_eq(inflate_expect(z, packed, packed_len, len, data, len), 0, "bits %d", bits);
        free(packed);
    }
    uint8_t *packed;
    size_t packed_len;
    cr_assert_eq(zzz_ws_deflate(z, 8, data, 10, &packed, &packed_len), -EINVAL);
    cr_assert_eq(zzz_ws_deflate(z, 16, data, 10, &packed, &packed_len), -EINVAL);
    free(data);
    zzz_ws_zlib_destroy(z);
    cr_assert_eq(live_bytes, 0);
}

Test(ws_deflate_codec, zlib_streams_with_and_without_bfinal)
{
    zzz_ws_zlib *z = zlib_new();
    size_t len = 30000, packed_len;
    uint8_t *data = make_data(len, false, 3);
    uint8_t *packed = zlib_pack(data, len, 15, Z_FINISH, &packed_len);
    cr_assert_eq(inflate_expect(z, packed, packed_len, len, data, len), 0);
    /* A final block and the byte that makes the tail an empty block. */
    packed[packed_len] = 0x00;
    cr_assert_eq(inflate_expect(z, packed, packed_len + 1, len, data, len), 0);
    /* Something else after the final block is not deflate data. */
    packed[packed_len] = 0xff;
    cr_assert_eq(inflate_expect(z, packed, packed_len + 1, len, data, len), -EBADMSG);
    free(packed);
    zzz_ws_zlib_destroy(z);
}

/* The examples of RFC 7692 7.2.3, each "Hello". */
Test(ws_deflate_codec, the_rfc_examples)
{
    static const struct {
        const char *bytes;
        size_t len;
    } ex[] = {
        {"\xf2\x48\xcd\xc9\xc9\x07\x00", 7},                          /* one block */
        {"\x00\x05\x00\xfa\xff\x48\x65\x6c\x6c\x6f\x00", 11},         /* stored */
        {"\xf3\x48\xcd\xc9\xc9\x07\x00\x00", 8},                      /* BFINAL */
        {"\xf2\x48\x05\x00\x00\x00\xff\xff\xca\xc9\xc9\x07\x00", 13}, /* two blocks */
    };
    zzz_ws_zlib *z = zlib_new();
    for (size_t i = 0; i < sizeof ex / sizeof *ex; i++)
        cr_assert_eq(inflate_expect(z, ex[i].bytes, ex[i].len, 5, "Hello", 5), 0, "example %zu", i);
    zzz_ws_zlib_destroy(z);
}

Test(ws_deflate_codec, max_to_the_byte)
{
    zzz_ws_zlib *z = zlib_new();
    size_t len = 100000;
    uint8_t *data = make_data(len, true, 11);
    uint8_t *packed;
    size_t packed_len;
    cr_assert_eq(zzz_ws_deflate(z, 15, data, len, &packed, &packed_len), 0);
    cr_assert_eq(inflate_expect(z, packed, packed_len, len, data, len), 0);
    cr_assert_eq(inflate_expect(z, packed, packed_len, len + 1, data, len), 0);
    cr_assert_eq(inflate_expect(z, packed, packed_len, SIZE_MAX, data, len), 0);
    cr_assert_eq(inflate_expect(z, packed, packed_len, len - 1, NULL, 0), -EMSGSIZE);
    cr_assert_eq(inflate_expect(z, packed, packed_len, 0, NULL, 0), -EMSGSIZE);
    counted_free(packed);
    /* One byte against max 0 and 1. */
    cr_assert_eq(zzz_ws_deflate(z, 15, data, 1, &packed, &packed_len), 0);
    cr_assert_eq(inflate_expect(z, packed, packed_len, 0, NULL, 0), -EMSGSIZE);
    cr_assert_eq(inflate_expect(z, packed, packed_len, 1, data, 1), 0);
    counted_free(packed);
    free(data);
    zzz_ws_zlib_destroy(z);
    cr_assert_eq(live_bytes, 0);
}

/* 100 MiB of zeros in about 100 KB: with max 1 MiB inflating stops
 * after a sliver of the input, holding about max bytes at most. */
Test(ws_deflate_codec, a_compression_bomb_stops_at_max)
{
    z_stream s;
    memset(&s, 0, sizeof s);
    cr_assert_eq(deflateInit2(&s, 9, Z_DEFLATED, -15, 8, Z_RLE), Z_OK);
    size_t cap = 1 << 20, len = 0;
    uint8_t *bomb = malloc(cap);
    uint8_t *zeros = calloc(1, 1 << 20);
    for (int mib = 0; mib < 100; mib++) {
        s.next_in = zeros;
        s.avail_in = 1 << 20;
        do {
            s.next_out = bomb + len;
            s.avail_out = (uInt)(cap - len);
            cr_assert(deflate(&s, mib == 99 ? Z_SYNC_FLUSH : Z_NO_FLUSH) != Z_STREAM_ERROR);
            len = cap - s.avail_out;
        } while (s.avail_in > 0 || s.avail_out == 0);
    }
    deflateEnd(&s);
    len -= 4; /* the tail */
    cr_assert(len < 200000, "the bomb is %zu bytes", len);

    zzz_ws_zlib *z = zlib_new();
    size_t max = 1 << 20;
    size_t before = live_bytes;
    peak_bytes = live_bytes;
    cr_assert_eq(inflate_expect(z, bomb, len, max, NULL, 0), -EMSGSIZE);
    size_t peak = peak_bytes - before;
    cr_assert(peak <= max + max / 2 + 4096, "held %zu bytes at once", peak);
    cr_assert_eq(live_bytes, before);
    /* It stopped early: a few KB of input make a MiB of zeros. */
    cr_assert(z->inflater.total_in < len / 10, "read %lu of %zu bytes",
              (unsigned long)z->inflater.total_in, len);
    zzz_ws_zlib_destroy(z);
    free(zeros);
    free(bomb);
}

Test(ws_deflate_codec, garbage_is_refused)
{
    zzz_ws_zlib *z = zlib_new();
    /* BTYPE 11 is reserved; a stored block's length must match its
     * complement. */
    cr_assert_eq(inflate_expect(z, "\xff\xff\xff\xff", 4, 1000, NULL, 0), -EBADMSG);
    cr_assert_eq(inflate_expect(z, "\x07", 1, 1000, NULL, 0), -EBADMSG);
    cr_assert_eq(inflate_expect(z, "\x00\x05\x00\xfb\xff", 5, 1000, NULL, 0), -EBADMSG);
    int refused = 0;
    for (uint64_t seed = 1; seed <= 50; seed++) {
        uint8_t *junk = make_data(1000, true, seed);
        int err = inflate_expect(z, junk, 1000, 1 << 20, NULL, 0);
        cr_assert(err == -EBADMSG, "seed %llu: %d", (unsigned long long)seed, err);
        refused++;
        free(junk);
    }
    cr_assert_eq(refused, 50);
    /* The stream is reset for the next message: a good one reads. */
    cr_assert_eq(inflate_expect(z, "\xf2\x48\xcd\xc9\xc9\x07\x00", 7, 5, "Hello", 5), 0);
    zzz_ws_zlib_destroy(z);
}

/* A message cut inside a block is not what any sender makes: refused,
 * wherever the cut is. */
Test(ws_deflate_codec, a_cut_message_is_refused)
{
    zzz_ws_zlib *z = zlib_new();
    size_t len = 20000;
    uint8_t *data = make_data(len, false, 5);
    uint8_t *packed;
    size_t packed_len;
    cr_assert_eq(zzz_ws_deflate(z, 15, data, len, &packed, &packed_len), 0);
    for (size_t cut = 1; cut < packed_len; cut += 1 + cut / 8) {
        int err = inflate_expect(z, packed, cut, len, NULL, 0);
        cr_assert_eq(err, -EBADMSG, "cut at %zu of %zu", cut, packed_len);
    }
    counted_free(packed);
    /* A stored block of five bytes with two of them. */
    cr_assert_eq(inflate_expect(z, "\x00\x05\x00\xfa\xff\x48\x65", 7, 100, NULL, 0), -EBADMSG);
    /* A final block cut short. */
    cr_assert_eq(inflate_expect(z, "\xf3\x48\xcd\xc9", 4, 100, NULL, 0), -EBADMSG);
    free(data);
    zzz_ws_zlib_destroy(z);
}

Test(ws_deflate_codec, messages_share_no_context)
{
    zzz_ws_zlib *z = zlib_new();
    uint8_t *a, *b;
    size_t a_len, b_len;
    static const char text[] = "a message that repeats, a message that repeats";
    cr_assert_eq(zzz_ws_deflate(z, 15, (const uint8_t *)text, sizeof text, &a, &a_len), 0);
    cr_assert_eq(zzz_ws_deflate(z, 15, (const uint8_t *)text, sizeof text, &b, &b_len), 0);
    /* The second message refers to nothing of the first. */
    cr_assert(a_len == b_len && memcmp(a, b, a_len) == 0);
    cr_assert_eq(inflate_expect(z, b, b_len, sizeof text, text, sizeof text), 0);
    cr_assert_eq(inflate_expect(z, a, a_len, sizeof text, text, sizeof text), 0);
    counted_free(a);
    counted_free(b);
    zzz_ws_zlib_destroy(z);
}

#else /* no zlib */

Test(ws_deflate, without_zlib_every_offer_is_declined)
{
    expect_declined("permessage-deflate");
    expect_declined("permessage-deflate; server_max_window_bits=10");
    expect_declined("x-foo, permessage-deflate; client_max_window_bits");
    expect_declined(base_answer);
}

Test(ws_deflate, without_zlib_the_codec_is_not_supported)
{
    zzz_ws_zlib *z = NULL;
    cr_assert_eq(zzz_ws_zlib_create(&z), 0);
    cr_assert(z);
    uint8_t *out = NULL;
    size_t out_len = 0;
    cr_assert_eq(zzz_ws_inflate(z, (const uint8_t *)"\x00", 1, 100, &out, &out_len), -ENOTSUP);
    cr_assert_eq(zzz_ws_deflate(z, 15, (const uint8_t *)"x", 1, &out, &out_len), -ENOTSUP);
    cr_assert_null(out);
    zzz_ws_zlib_destroy(z);
    zzz_ws_zlib_destroy(NULL);
    cr_assert_eq(live_bytes, 0);
}

#endif
