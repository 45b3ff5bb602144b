/* The security-headers layer: HSTS over TLS, nosniff, X-Frame-Options,
 * Referrer-Policy and a Content-Security-Policy, added to every answer
 * that does not carry the field already. */
#include "layer.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SH_DEFAULT_HSTS_AGE 31536000u
#define SH_CSP_MAX 4096

enum { SH_HSTS, SH_NOSNIFF, SH_FRAME, SH_REFERRER, SH_CSP, SH_FIELDS };

typedef struct sh_state {
    layer_line fields[SH_FIELDS]; /* composed once; a NULL text: not sent */
    bool hsts_without_tls;
} sh_state;

static void sh_free(void *p)
{
    sh_state *st = p;
    for (int i = 0; i < SH_FIELDS; i++)
        zzz_http_line_free(&st->fields[i]);
    free(st);
}

/* Referrer-Policy's tokens (W3C Referrer Policy, section 3). */
static bool sh_referrer_token(const char *s, size_t len)
{
    static const char *const tokens[] = {
        "no-referrer",
        "no-referrer-when-downgrade",
        "same-origin",
        "origin",
        "strict-origin",
        "origin-when-cross-origin",
        "strict-origin-when-cross-origin",
        "unsafe-url",
    };
    for (size_t i = 0; i < sizeof tokens / sizeof tokens[0]; i++)
        if (strlen(tokens[i]) == len && memcmp(tokens[i], s, len) == 0)
            return true;
    return false;
}

/* A comma-separated list of those tokens (a browser takes the last it
 * knows), spaces around the commas allowed. */
static bool sh_referrer_ok(const char *s)
{
    const char *p = s;
    for (;;) {
        while (*p == ' ')
            p++;
        size_t len = strcspn(p, ", ");
        if (!sh_referrer_token(p, len))
            return false;
        p += len;
        while (*p == ' ')
            p++;
        if (*p == '\0')
            return true;
        if (*p++ != ',')
            return false;
    }
}

static bool sh_frame_ok(const char *s)
{
    zzz_str v = {s, strlen(s)};
    return zzz_http_name_eq(v, "DENY") || zzz_http_name_eq(v, "SAMEORIGIN");
}

static void sh_hook(zzz_res *res, void *user)
{
    const sh_state *st = user;
    /* RFC 6797 section 7.2: a UA ignores HSTS received over plain HTTP. */
    bool tls = st->hsts_without_tls || zzz_conn_tls(res->conn, NULL);
    /* The handler's own fields win; one pass over them finds which. */
    uint32_t present =
        res->headers_len ? zzz_http_res_fields_present(res, st->fields, SH_FIELDS) : 0;
    for (int i = 0; i < SH_FIELDS; i++) {
        if ((present >> i & 1) || (i == SH_HSTS && !tls))
            continue;
        zzz_http_res_add_line(res, &st->fields[i]);
    }
}

static void sh_layer(zzz_req *req, zzz_res *res, zzz_next *next, void *user)
{
    (void)req;
    zzz_res_on_head(res, sh_hook, user);
    zzz_next_run(next);
}

/* The field i, unless value is NULL or "". */
static int sh_set(sh_state *st, int i, const char *name, const char *value)
{
    return zzz_http_line_make(&st->fields[i], name, value);
}

int zzz_security_headers_layer(zzz_router *router, const zzz_security_headers_config *cfg,
                               zzz_layer *layer, void **user)
{
    static const zzz_security_headers_config defaults;
    if (!router || !layer || !user)
        return -EINVAL;
    if (!cfg)
        cfg = &defaults;
    uint32_t age = cfg->hsts_max_age ? cfg->hsts_max_age : SH_DEFAULT_HSTS_AGE;
    const char *frame = cfg->frame_options ? cfg->frame_options : "DENY";
    const char *referrer =
        cfg->referrer_policy ? cfg->referrer_policy : "strict-origin-when-cross-origin";
    const char *csp = cfg->content_security_policy;
    /* The preload list takes a site only with both (hstspreload.org). */
    if (cfg->hsts_preload && (!cfg->hsts_subdomains || age < SH_DEFAULT_HSTS_AGE))
        return -EINVAL;
    if ((*frame && !sh_frame_ok(frame)) || (*referrer && !sh_referrer_ok(referrer)) ||
        (csp && !zzz_http_is_field_value(csp, SH_CSP_MAX)))
        return -EINVAL;
    sh_state *st = calloc(1, sizeof *st);
    if (!st)
        return -ENOMEM;
    st->hsts_without_tls = cfg->hsts_without_tls;
    char hsts[96];
    snprintf(hsts, sizeof hsts, "max-age=%u%s%s", (unsigned)age,
             cfg->hsts_subdomains ? "; includeSubDomains" : "",
             cfg->hsts_preload ? "; preload" : "");
    int err = sh_set(st, SH_HSTS, "Strict-Transport-Security", cfg->no_hsts ? NULL : hsts);
    if (err == 0)
        err = sh_set(st, SH_NOSNIFF, "X-Content-Type-Options", cfg->no_nosniff ? NULL : "nosniff");
    if (err == 0)
        err = sh_set(st, SH_FRAME, "X-Frame-Options", frame);
    if (err == 0)
        err = sh_set(st, SH_REFERRER, "Referrer-Policy", referrer);
    if (err == 0)
        err = sh_set(st, SH_CSP, "Content-Security-Policy", csp);
    if (err) {
        sh_free(st);
        return err;
    }
    return zzz_http_layer_make(router, sh_layer, st, sh_free, layer, user);
}

int zzz_use_security_headers(zzz_router *router, const char *prefix,
                             const zzz_security_headers_config *cfg)
{
    if (!prefix)
        return -EINVAL;
    zzz_layer layer;
    void *user;
    int err = zzz_security_headers_layer(router, cfg, &layer, &user);
    return err ? err : zzz_use(router, prefix, layer, user);
}
