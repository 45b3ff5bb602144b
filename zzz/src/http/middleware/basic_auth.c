/* The basic-auth layer (RFC 7617): strict base64, credentials checked by
 * the caller's function, 401 with the challenge otherwise; and the
 * constant-time comparison that function should use. */
#include "layer.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BA_REALM_MAX 200
#define BA_DEFAULT_MAX_BYTES 4096

typedef struct ba_state {
    bool (*check)(zzz_str user, zzz_str password, void *user_data);
    void *user_data;
    size_t max_bytes;
    char challenge[BA_REALM_MAX + 64]; /* the WWW-Authenticate value */
} ba_state;

/* The user let in, among the request's values. */
typedef struct ba_value {
    zzz_str user;
    char text[];
} ba_value;

static const char ba_key;

/* The value of a base64 digit (RFC 4648 section 4), or 64 for any other
 * byte. */
static unsigned ba_digit(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return 64;
}

/* Decodes base64 strictly: the standard alphabet, a length that is a
 * multiple of four, '=' only as the padding of the last group, and the
 * bits the padding leaves over all zero (so one text has one encoding).
 * out needs in.len / 4 * 3 bytes. Returns the decoded length, or -1. */
static ssize_t ba_base64_decode(zzz_str in, unsigned char *out)
{
    if (in.len % 4 != 0)
        return -1;
    size_t n = 0;
    for (size_t i = 0; i < in.len; i += 4) {
        const unsigned char *q = (const unsigned char *)in.ptr + i;
        bool last = i + 4 == in.len;
        int pad = last && q[3] == '=' ? (q[2] == '=' ? 2 : 1) : 0;
        unsigned d[4];
        for (int k = 0; k < 4 - pad; k++) {
            d[k] = ba_digit(q[k]);
            if (d[k] == 64)
                return -1;
        }
        if (pad == 2 && (d[1] & 15) != 0)
            return -1;
        if (pad == 1 && (d[2] & 3) != 0)
            return -1;
        out[n++] = (unsigned char)(d[0] << 2 | d[1] >> 4);
        if (pad < 2)
            out[n++] = (unsigned char)((d[1] & 15) << 4 | d[2] >> 2);
        if (pad < 1)
            out[n++] = (unsigned char)((d[2] & 3) << 6 | d[3]);
    }
    return (ssize_t)n;
}

/* The token68 of an Authorization value whose scheme is Basic (any
 * case), after one or more spaces; false for another scheme or none. */
static bool ba_credentials(zzz_str value, zzz_str *token)
{
    static const char scheme[] = "basic";
    size_t n = sizeof scheme - 1;
    if (value.len <= n || !zzz_http_name_eq((zzz_str){value.ptr, n}, scheme) || value.ptr[n] != ' ')
        return false;
    while (n < value.len && value.ptr[n] == ' ')
        n++;
    *token = (zzz_str){value.ptr + n, value.len - n};
    return token->len > 0;
}

static bool ba_has_control(const unsigned char *p, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (p[i] < 0x20 || p[i] == 0x7f)
            return true;
    return false;
}

/* Decodes and checks the credentials; on success the user is the
 * request's (zzz_basic_auth_user). */
static bool ba_accept(const ba_state *st, zzz_req *req, zzz_str value)
{
    zzz_str token;
    if (value.len > st->max_bytes || !ba_credentials(value, &token))
        return false;
    ba_value *v = zzz_alloc(req, sizeof *v + token.len / 4 * 3 + 1);
    if (!v)
        return false;
    unsigned char *text = (unsigned char *)v->text;
    ssize_t len = ba_base64_decode(token, text);
    if (len < 0) {
        explicit_bzero(text, token.len / 4 * 3); /* what it decoded before failing */
        return false;
    }
    unsigned char *colon = memchr(text, ':', (size_t)len);
    /* RFC 7617 section 2: no control character in either part. */
    if (!colon || ba_has_control(text, (size_t)len)) {
        explicit_bzero(text, (size_t)len);
        return false;
    }
    zzz_str user = {v->text, (size_t)(colon - text)};
    zzz_str password = {(const char *)colon + 1, (size_t)(text + len - colon - 1)};
    bool ok = st->check(user, password, st->user_data);
    /* The password is not kept in the request's memory, which the thread
     * hands to the next request. */
    explicit_bzero(colon + 1, password.len);
    if (!ok)
        return false;
    v->user = user;
    return zzz_req_set(req, &ba_key, v) == 0;
}

static void ba_layer(zzz_req *req, zzz_res *res, zzz_next *next, void *user)
{
    const ba_state *st = user;
    zzz_str value;
    if (zzz_req_header(req, "Authorization", &value) && ba_accept(st, req, value)) {
        zzz_next_run(next);
        return;
    }
    zzz_res_header(res, "WWW-Authenticate", st->challenge);
    zzz_res_error(res, 401, "no valid credentials");
}

zzz_str zzz_basic_auth_user(const zzz_req *req)
{
    const ba_value *v = req ? zzz_req_get(req, &ba_key) : NULL;
    return v ? v->user : (zzz_str){"", 0};
}

bool zzz_secure_eq(zzz_str a, zzz_str b)
{
    /* Every byte of a is compared, whatever came before: the loop's
     * length is a's, and the accumulator is volatile so the compiler
     * cannot end it at the first difference. Past b's end, a is compared
     * with b's first byte (or a zero), the lengths' difference deciding;
     * the index is masked, not branched on, so where b ends does not show
     * either. */
    static const char zero = 0;
    const char *bp = b.len ? b.ptr : &zero;
    size_t last = b.len ? b.len - 1 : 0;
    volatile unsigned char diff = a.len != b.len;
    for (size_t i = 0; i < a.len; i++) {
        size_t inside = (size_t)0 - (size_t)(i <= last); /* all ones or zero */
        diff |= (unsigned char)(a.ptr[i] ^ bp[i & inside]);
    }
    return diff == 0;
}

int zzz_basic_auth_layer(zzz_router *router, const zzz_basic_auth_config *cfg, zzz_layer *layer,
                         void **user)
{
    if (!router || !cfg || !cfg->check || !layer || !user)
        return -EINVAL;
    const char *realm = cfg->realm ? cfg->realm : "Restricted";
    if (!zzz_http_is_field_value(realm, BA_REALM_MAX) || strpbrk(realm, "\"\\\t"))
        return -EINVAL;
    ba_state *st = calloc(1, sizeof *st);
    if (!st)
        return -ENOMEM;
    st->check = cfg->check;
    st->user_data = cfg->user_data;
    st->max_bytes = cfg->max_bytes ? cfg->max_bytes : BA_DEFAULT_MAX_BYTES;
    snprintf(st->challenge, sizeof st->challenge, "Basic realm=\"%s\", charset=\"UTF-8\"", realm);
    return zzz_http_layer_make(router, ba_layer, st, free, layer, user);
}

int zzz_use_basic_auth(zzz_router *router, const char *prefix, const zzz_basic_auth_config *cfg)
{
    if (!prefix)
        return -EINVAL;
    zzz_layer layer;
    void *user;
    int err = zzz_basic_auth_layer(router, cfg, &layer, &user);
    return err ? err : zzz_use(router, prefix, layer, user);
}
