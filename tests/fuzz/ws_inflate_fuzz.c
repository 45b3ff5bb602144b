/* libFuzzer target for permessage-deflate (zzz/src/http/ws_deflate.c).
 * The whole input is read as a Sec-WebSocket-Extensions value: an offer
 * taken gives an answer that is a string within its buffer and a window
 * of 9..15, and the answer, read as an offer, is taken with the same
 * window; a decline leaves out and the window untouched. Then the input
 * less its first byte is inflated as a message, with a max the first
 * byte picks (0..65280): the result is refused with -EBADMSG or
 * -EMSGSIZE, or is at most max bytes, and compressed again it inflates
 * back to itself. */
#include "ws_deflate.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Not assert(): release builds define NDEBUG, and a fuzzer must never stop
 * checking. */
#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "ws_inflate_fuzz: %s:%d: check failed: %s\n", __FILE__, __LINE__,      \
                    #cond);                                                                        \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

static const char base_answer[] =
    "permessage-deflate; server_no_context_takeover; client_no_context_takeover";

static void check_offer(const char *value, size_t len)
{
    char out[128];
    memset(out, 0x5a, sizeof out);
    int bits = -1;
    if (!zzz_ws_deflate_accept(value, len, out, sizeof out, &bits)) {
        for (size_t i = 0; i < sizeof out; i++)
            CHECK(out[i] == 0x5a);
        CHECK(bits == -1);
        return;
    }
    CHECK(memchr(out, '\0', sizeof out) != NULL);
    CHECK(strncmp(out, base_answer, sizeof base_answer - 1) == 0);
    CHECK(bits >= 8 && bits <= 15); /* 8: taken, our side uncompressed */
    char again[128];
    int bits_again = -1;
    CHECK(zzz_ws_deflate_accept(out, strlen(out), again, sizeof again, &bits_again));
    CHECK(bits_again == bits && strcmp(again, out) == 0);
}

static void check_inflate(zzz_ws_zlib *z, size_t max, const uint8_t *in, size_t len, int bits)
{
    uint8_t *out = NULL;
    size_t out_len = 0;
    int rc = zzz_ws_inflate(z, in, len, max, &out, &out_len);
    if (rc == -ENOTSUP)
        return; /* built without zlib */
    CHECK(rc == 0 || rc == -EBADMSG || rc == -EMSGSIZE || rc == -ENOMEM);
    if (rc != 0) {
        CHECK(out == NULL);
        return;
    }
    CHECK(out && out_len <= max);
    uint8_t *packed = NULL, *back = NULL;
    size_t packed_len = 0, back_len = 0;
    rc = zzz_ws_deflate(z, bits, out, out_len, &packed, &packed_len);
    CHECK(rc == 0 || rc == -ENOMEM);
    if (rc == 0) {
        rc = zzz_ws_inflate(z, packed, packed_len, out_len, &back, &back_len);
        CHECK(rc == 0 || rc == -ENOMEM);
        if (rc == 0) {
            CHECK(back_len == out_len && memcmp(back, out, out_len) == 0);
            free(back);
        }
        free(packed);
    }
    free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static zzz_ws_zlib *z;
    if (!z)
        CHECK(zzz_ws_zlib_create(&z) == 0);
    check_offer((const char *)data, size);
    if (size == 0)
        return 0;
    check_inflate(z, (size_t)data[0] * 256, data + 1, size - 1, 9 + data[0] % 7);
    return 0;
}
