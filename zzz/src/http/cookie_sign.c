/* Signed cookies: an HMAC-SHA256 of name=value (BearSSL), sent after the
 * value in base64url, and checked in constant time under each of a key's
 * secrets. Without BearSSL the calls refuse with -ENOTSUP. */
#include "cookie.h"
#include "http.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* The secret's minimum: a key of HMAC-SHA256's full strength. */
#define COOKIE_SECRET_MIN 32
/* '.', then the 32-byte MAC in base64url without padding. */
#define COOKIE_MAC_CHARS 43
#define COOKIE_SIG_LEN (1 + COOKIE_MAC_CHARS)

#ifdef ZZZ_HAVE_TLS
#include <bearssl.h>

struct zzz_cookie_key {
    size_t count, cap;
    br_hmac_key_context *keys; /* the first signs; all verify */
};

/* base64url (RFC 4648 5) of the 32 bytes, 43 characters, no padding:
 * the alphabet is all cookie-octets. */
static void cookie_b64url(const unsigned char mac[32], char out[COOKIE_MAC_CHARS])
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    size_t o = 0;
    for (size_t i = 0; i < 30; i += 3) {
        uint32_t v = (uint32_t)mac[i] << 16 | (uint32_t)mac[i + 1] << 8 | mac[i + 2];
        out[o++] = alphabet[v >> 18];
        out[o++] = alphabet[(v >> 12) & 63];
        out[o++] = alphabet[(v >> 6) & 63];
        out[o++] = alphabet[v & 63];
    }
    uint32_t v = (uint32_t)mac[30] << 16 | (uint32_t)mac[31] << 8;
    out[o++] = alphabet[v >> 18];
    out[o++] = alphabet[(v >> 12) & 63];
    out[o] = alphabet[(v >> 6) & 63];
}

/* The signature of name=value under one secret, in base64url. name is a
 * token, which has no '=': the first '=' ends it, so no other name and
 * value give the same bytes. */
static void cookie_mac(const br_hmac_key_context *kc, zzz_str name, zzz_str value,
                       char out[COOKIE_MAC_CHARS])
{
    br_hmac_context ctx;
    unsigned char mac[32];
    br_hmac_init(&ctx, kc, 0);
    br_hmac_update(&ctx, name.ptr, name.len);
    br_hmac_update(&ctx, "=", 1);
    br_hmac_update(&ctx, value.ptr, value.len);
    br_hmac_out(&ctx, mac);
    cookie_b64url(mac, out);
}

/* The HMAC key of a secret: HMAC-SHA256(secret, a label of this use), so
 * a secret shared with another use gives an unrelated key here. */
static int cookie_key_derive(br_hmac_key_context *out, const void *secret, size_t len)
{
    static const char label[] = "zzz signed cookie key 1";
    if (!secret || len < COOKIE_SECRET_MIN)
        return -EINVAL;
    br_hmac_key_context outer;
    br_hmac_context ctx;
    unsigned char derived[32];
    br_hmac_key_init(&outer, &br_sha256_vtable, secret, len);
    br_hmac_init(&ctx, &outer, 0);
    br_hmac_update(&ctx, label, sizeof label - 1);
    br_hmac_out(&ctx, derived);
    br_hmac_key_init(out, &br_sha256_vtable, derived, sizeof derived);
    explicit_bzero(&outer, sizeof outer);
    explicit_bzero(&ctx, sizeof ctx);
    explicit_bzero(derived, sizeof derived);
    return 0;
}

int zzz_cookie_key_accept(zzz_cookie_key *key, const void *secret, size_t len)
{
    if (!key)
        return -EINVAL;
    br_hmac_key_context kc;
    int err = cookie_key_derive(&kc, secret, len);
    if (err)
        return err;
    if (key->count == key->cap) {
        /* Not realloc: the old copy must be wiped before it is freed. */
        size_t cap = key->cap ? key->cap * 2 : 2;
        br_hmac_key_context *keys = calloc(cap, sizeof *keys);
        if (!keys) {
            explicit_bzero(&kc, sizeof kc);
            return -ENOMEM;
        }
        if (key->count) {
            memcpy(keys, key->keys, key->count * sizeof *keys);
            explicit_bzero(key->keys, key->count * sizeof *keys);
        }
        free(key->keys);
        key->keys = keys;
        key->cap = cap;
    }
    key->keys[key->count++] = kc;
    explicit_bzero(&kc, sizeof kc);
    return 0;
}

int zzz_cookie_key_create(zzz_cookie_key **out, const void *secret, size_t len)
{
    if (!out)
        return -EINVAL;
    *out = NULL;
    if (!secret || len < COOKIE_SECRET_MIN)
        return -EINVAL;
    zzz_cookie_key *key = calloc(1, sizeof *key);
    if (!key)
        return -ENOMEM;
    int err = zzz_cookie_key_accept(key, secret, len);
    if (err) {
        free(key);
        return err;
    }
    *out = key;
    return 0;
}

void zzz_cookie_key_destroy(zzz_cookie_key *key)
{
    if (!key)
        return;
    if (key->keys) {
        explicit_bzero(key->keys, key->cap * sizeof *key->keys);
        free(key->keys);
    }
    explicit_bzero(key, sizeof *key);
    free(key);
}

int zzz_res_cookie_signed(zzz_res *res, const zzz_cookie_key *key, const char *name,
                          const char *value, const zzz_cookie_opts *opts)
{
    if (res->head_sent)
        return -EALREADY;
    if (!key || !key->count || !name || !value)
        return -EINVAL;
    zzz_str n = {name, strlen(name)}, v = {value, strlen(value)};
    /* Quotes would have to wrap the signature too, and the value read
     * back would lose them: refused rather than changed. */
    for (size_t i = 0; i < v.len; i++)
        if (!zzz_http_cookie_octet((unsigned char)value[i]))
            return -EINVAL;
    char sig[COOKIE_SIG_LEN];
    sig[0] = '.';
    cookie_mac(&key->keys[0], n, v, sig + 1);
    return zzz_http_cookie_put(res, n, v, (zzz_str){sig, sizeof sig}, opts, false);
}

/* Whether value ends in a signature of name and the rest under one of
 * key's secrets. Each candidate is compared whole, whichever byte
 * differs, so the time taken tells nothing of the right signature. */
static bool cookie_verify(const zzz_cookie_key *key, zzz_str name, zzz_str value)
{
    if (value.len < COOKIE_SIG_LEN || value.ptr[value.len - COOKIE_SIG_LEN] != '.')
        return false;
    zzz_str signed_part = {value.ptr, value.len - COOKIE_SIG_LEN};
    const unsigned char *got = (const unsigned char *)value.ptr + value.len - COOKIE_MAC_CHARS;
    bool ok = false;
    for (size_t k = 0; k < key->count; k++) {
        char want[COOKIE_MAC_CHARS];
        cookie_mac(&key->keys[k], name, signed_part, want);
        unsigned diff = 0;
        for (size_t i = 0; i < COOKIE_MAC_CHARS; i++)
            diff |= got[i] ^ (unsigned char)want[i];
        ok |= diff == 0;
    }
    return ok;
}

bool zzz_req_cookie_signed(const zzz_req *req, const zzz_cookie_key *key, const char *name,
                           zzz_str *value)
{
    if (!key || !name)
        return false;
    zzz_str want = {name, strlen(name)};
    zzz_cookie_iter iter = {0};
    zzz_str n, v;
    while (zzz_req_cookie_next(req, &iter, &n, &v)) {
        if (n.len == want.len && memcmp(n.ptr, name, want.len) == 0 &&
            cookie_verify(key, want, v)) {
            if (value)
                *value = (zzz_str){v.ptr, v.len - COOKIE_SIG_LEN};
            return true;
        }
    }
    return false;
}

#else /* without BearSSL: the calls are there, and refuse */

int zzz_cookie_key_create(zzz_cookie_key **out, const void *secret, size_t len)
{
    (void)secret;
    (void)len;
    if (out)
        *out = NULL;
    return -ENOTSUP;
}

int zzz_cookie_key_accept(zzz_cookie_key *key, const void *secret, size_t len)
{
    (void)key;
    (void)secret;
    (void)len;
    return -ENOTSUP;
}

void zzz_cookie_key_destroy(zzz_cookie_key *key)
{
    (void)key;
}

int zzz_res_cookie_signed(zzz_res *res, const zzz_cookie_key *key, const char *name,
                          const char *value, const zzz_cookie_opts *opts)
{
    (void)res;
    (void)key;
    (void)name;
    (void)value;
    (void)opts;
    return -ENOTSUP;
}

bool zzz_req_cookie_signed(const zzz_req *req, const zzz_cookie_key *key, const char *name,
                           zzz_str *value)
{
    (void)req;
    (void)key;
    (void)name;
    (void)value;
    return false;
}

#endif
