/* libFuzzer target for PEM and key loading (zzz/src/tls_pem.c, and
 * tls_cert.c and tls_config.c, included here so that what is static
 * there, the key's size and the SNI choice, is checked too): certificate chains and private keys as PEM text or as DER
 * that the target wraps in PEM, through zzz_tls_ctx_create as a server
 * loads them. The input:
 *   byte 0    how the parts are given: bit 0 the chain is DER (one
 *             CERTIFICATE object), bit 1 the key is DER, bits 2-3 the
 *             key's label (PRIVATE KEY, RSA PRIVATE KEY, EC PRIVATE KEY,
 *             ENCRYPTED PRIVATE KEY), bit 4 SNI names are given
 *   bytes 1-2 the chain part's length (big-endian), the chain part, the
 *             key part, and after a last NUL (if any) a host name.
 * Checked, beyond no crash or leak:
 *  - zzz_pem_each over each part gives objects whose labels are C
 *    strings and whose DER is no longer than the text could encode, and
 *    answers 0 or -EINVAL;
 *  - zzz_tls_ctx_create answers 0 or a documented error, with a message
 *    set for every refusal; a context it makes has one certificate with
 *    a chain of DER certificates each within its part, an RSA or EC key,
 *    and picks a certificate for any host name. */
#include "tls_cert.c"
#include "tls_config.c"

#include <stdarg.h>
#include <stdio.h>
#include <stdint.h>

/* Not assert(): release builds define NDEBUG, and a fuzzer must never stop
 * checking. */
#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "tls_pem_fuzz: %s:%d: check failed: %s\n", __FILE__, __LINE__,         \
                    #cond);                                                                        \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/* ---- a stand-in for server.c's message ----------------------------------- */

static char last_message[512];

void zzz_set_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_message, sizeof last_message, fmt, ap);
    va_end(ap);
}

/* ---- PEM wrapping ------------------------------------------------------------ */

/* der as a PEM object with this label, in a malloc'd block. */
static char *pem_wrap(const char *label, const uint8_t *der, size_t len, size_t *out_len)
{
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t cap = 64 + 2 * strlen(label) + (len + 2) / 3 * 4 + len / 48 + 2;
    char *out = malloc(cap);
    CHECK(out);
    size_t n = (size_t)snprintf(out, cap, "-----BEGIN %s-----\n", label);
    for (size_t i = 0; i < len; i += 3) {
        uint32_t v = (uint32_t)der[i] << 16;
        if (i + 1 < len)
            v |= (uint32_t)der[i + 1] << 8;
        if (i + 2 < len)
            v |= der[i + 2];
        out[n++] = b64[v >> 18 & 63];
        out[n++] = b64[v >> 12 & 63];
        out[n++] = i + 1 < len ? b64[v >> 6 & 63] : '=';
        out[n++] = i + 2 < len ? b64[v & 63] : '=';
        if ((i / 3 + 1) % 16 == 0)
            out[n++] = '\n';
    }
    n += (size_t)snprintf(out + n, cap - n, "\n-----END %s-----\n", label);
    CHECK(n < cap);
    *out_len = n;
    return out;
}

/* ---- zzz_pem_each ---------------------------------------------------------------- */

typedef struct each_state {
    size_t text_len;
    unsigned objects;
} each_state;

static int each_object(const char *label, const zzz_bytes *der, void *arg)
{
    each_state *st = arg;
    CHECK(strlen(label) < 128);
    CHECK(der->len <= st->text_len); /* base64 never grows the bytes */
    CHECK(der->len == 0 || der->data);
    st->objects++;
    return 0;
}

static void check_each(const char *text, size_t len)
{
    zzz_bytes pem;
    int err = zzz_pem_read(NULL, text, len, "fuzz input", &pem);
    if (len == 0) {
        CHECK(err == -EINVAL);
        return;
    }
    CHECK(err == 0 && pem.len == len && memcmp(pem.data, text, len) == 0);
    each_state st = {len, 0};
    err = zzz_pem_each(&pem, each_object, &st);
    CHECK(err == 0 || err == -EINVAL);
    zzz_bytes_free(&pem);
}

/* ---- the context -------------------------------------------------------------------- */

static void check_ctx(const char *cert, size_t cert_len, const char *key, size_t key_len,
                      bool names, const char *host)
{
    static const char *const sni[] = {"example.com", "*.example.org", NULL};
    zzz_tls_cert pair = {
        .cert_pem = cert,
        .cert_pem_len = cert_len,
        .key_pem = key,
        .key_pem_len = key_len,
        .names = names ? sni : NULL,
    };
    zzz_tls_config cfg = {.certs = &pair, .cert_count = 1, .session_cache_size = 1};
    zzz_tls_ctx *ctx = NULL;
    last_message[0] = '\0';
    int err = zzz_tls_ctx_create(&ctx, &cfg);
    CHECK(err == 0 || err == -EINVAL || err == -ENOTSUP);
    if (err) {
        CHECK(last_message[0] != '\0'); /* every refusal says why */
        return;
    }
    CHECK(ctx && ctx->cert_count == 1);
    const tls_cert *tc = &ctx->certs[0];
    CHECK(tc->chain_len >= 1);
    for (size_t i = 0; i < tc->chain_len; i++)
        CHECK(tc->chain[i].data && tc->chain[i].data_len <= cert_len);
    CHECK(tc->key_type == BR_KEYTYPE_RSA || tc->key_type == BR_KEYTYPE_EC);
    CHECK(tc->key_mem && key_mem_len(tc) <= key_len);
    CHECK(tc->name_count == (names ? 2u : 0u));
    CHECK(cert_for(ctx, host) == tc && cert_for(ctx, NULL) == tc);
    CHECK(zzz_tls_state_size(ctx) % 64 == 0);
    zzz_tls_ctx_destroy(ctx);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 3 || size > 16384)
        return 0;
    uint8_t mode = data[0];
    size_t cert_part = (size_t)data[1] << 8 | data[2];
    const uint8_t *rest = data + 3;
    size_t rest_len = size - 3;
    if (cert_part > rest_len)
        cert_part = rest_len;
    /* the host name: after the last NUL */
    char host[256] = "";
    const uint8_t *nul = NULL;
    for (size_t i = rest_len; i-- > cert_part;)
        if (rest[i] == 0) {
            nul = rest + i;
            break;
        }
    size_t key_part = (nul ? (size_t)(nul - rest) : rest_len) - cert_part;
    if (nul) {
        size_t hl = rest_len - (size_t)(nul + 1 - rest);
        if (hl >= sizeof host)
            hl = sizeof host - 1;
        memcpy(host, nul + 1, hl);
        host[hl] = '\0';
    }

    static const char *const key_labels[] = {"PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY",
                                             "ENCRYPTED PRIVATE KEY"};
    size_t cert_len, key_len;
    char *cert, *key;
    if (mode & 1) {
        cert = pem_wrap("CERTIFICATE", rest, cert_part, &cert_len);
    } else {
        cert_len = cert_part;
        cert = malloc(cert_len ? cert_len : 1); /* exact size, for ASan */
        CHECK(cert);
        memcpy(cert, rest, cert_len);
    }
    if (mode & 2) {
        key = pem_wrap(key_labels[mode >> 2 & 3], rest + cert_part, key_part, &key_len);
    } else {
        key_len = key_part;
        key = malloc(key_len ? key_len : 1);
        CHECK(key);
        memcpy(key, rest + cert_part, key_len);
    }

    check_each(cert, cert_len);
    check_each(key, key_len);
    check_ctx(cert, cert_len, key, key_len, mode & 16, host);
    free(cert);
    free(key);
    return 0;
}
