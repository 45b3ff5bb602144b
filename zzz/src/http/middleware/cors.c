/* The CORS layer (the Fetch standard's CORS protocol): preflights
 * answered here, allowed origins' answers given their
 * Access-Control-* fields, and Vary: Origin wherever the answer depends
 * on the origin. */
#include "layer.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CORS_DEFAULT_MAX_AGE 600
#define CORS_NAME_MAX 256
#define CORS_ORIGIN_MAX 2048

/* The fields the layer sends as they are. */
enum {
    CL_VARY_ORIGIN,
    CL_VARY_METHOD,
    CL_VARY_HEADERS,
    CL_ORIGIN_ANY,
    CL_CREDENTIALS,
    CL_EXPOSE,
    CL_METHODS,
    CL_HEADERS,
    CL_MAX_AGE,
    CL_LINES
};

static const zzz_str cors_allow_origin_name = {"Access-Control-Allow-Origin", 27};

typedef struct cors_state {
    char **origins; /* lower case */
    size_t origin_count;
    bool any_origin;
    char **methods;
    size_t method_count;
    bool any_method;
    char *methods_joined; /* "" with any_method */
    char **headers;
    size_t header_count;
    bool any_header;
    char *headers_joined;
    char *expose_joined; /* NULL: none */
    bool credentials;
    bool vary;                  /* answers depend on the origin */
    char max_age[16];           /* "": not sent */
    layer_line lines[CL_LINES]; /* composed once (a NULL text: not sent) */
} cors_state;

/* What a request's hook needs. */
typedef struct cors_value {
    const cors_state *state;
    zzz_str origin;
    bool allowed;
} cors_value;

static void cors_free(void *p)
{
    cors_state *st = p;
    free(st->origins);
    free(st->methods);
    free(st->methods_joined);
    free(st->headers);
    free(st->headers_joined);
    free(st->expose_joined);
    for (int i = 0; i < CL_LINES; i++)
        zzz_http_line_free(&st->lines[i]);
    free(st);
}

/* "null", or scheme "://" host [":" port], as a browser serializes an
 * origin (RFC 6454 section 6.2): no path, query, user or trailing '/'. */
static bool cors_origin_ok(const char *s)
{
    if (strcmp(s, "null") == 0)
        return true;
    size_t len = strlen(s);
    if (len > CORS_ORIGIN_MAX)
        return false;
    const char *p = s;
    if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')))
        return false;
    while ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
           *p == '+' || *p == '-' || *p == '.')
        p++;
    if (strncmp(p, "://", 3) != 0 || p[3] == '\0')
        return false;
    for (p += 3; *p; p++) {
        unsigned char c = (unsigned char)*p;
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '-' || c == '.' || c == '_' || c == '~' || c == ':' || c == '[' ||
                  c == ']' || c == '%';
        if (!ok)
            return false;
    }
    return true;
}

static bool cors_origin_allowed(const cors_state *st, zzz_str origin)
{
    if (st->any_origin)
        return true;
    for (size_t i = 0; i < st->origin_count; i++)
        if (zzz_str_eq(origin, st->origins[i]))
            return true;
    return false;
}

/* Fetch's CORS-safelisted methods pass a preflight whatever the list. */
static bool cors_method_allowed(const cors_state *st, zzz_str method)
{
    if (method.len == 0)
        return false;
    for (size_t i = 0; i < method.len; i++)
        if (!zzz_http_is_tchar((unsigned char)method.ptr[i]))
            return false;
    if (st->any_method)
        return true;
    if (zzz_str_eq(method, "GET") || zzz_str_eq(method, "HEAD") || zzz_str_eq(method, "POST"))
        return true;
    for (size_t i = 0; i < st->method_count; i++)
        if (zzz_str_eq(method, st->methods[i]))
            return true;
    return false;
}

static bool cors_header_allowed(const cors_state *st, zzz_str name)
{
    for (size_t i = 0; i < st->header_count; i++)
        if (zzz_str_eq_nocase(name, st->headers[i]))
            return true;
    return false;
}

/* Checks every name of an Access-Control-Request-Headers list (field
 * names separated by commas and optional spaces; empty elements are
 * skipped, as in any list-based field). */
static bool cors_headers_allowed(const cors_state *st, zzz_str list)
{
    size_t i = 0;
    while (i < list.len) {
        while (i < list.len && (list.ptr[i] == ' ' || list.ptr[i] == '\t' || list.ptr[i] == ','))
            i++;
        size_t start = i;
        while (i < list.len && list.ptr[i] != ',' && list.ptr[i] != ' ' && list.ptr[i] != '\t')
            i++;
        zzz_str name = {list.ptr + start, i - start};
        if (name.len == 0)
            continue;
        for (size_t k = 0; k < name.len; k++)
            if (!zzz_http_is_tchar((unsigned char)name.ptr[k]))
                return false;
        if (!st->any_header && !cors_header_allowed(st, name))
            return false;
        while (i < list.len && (list.ptr[i] == ' ' || list.ptr[i] == '\t'))
            i++;
        if (i < list.len && list.ptr[i] != ',')
            return false;
    }
    return true;
}

static void cors_allow_origin(zzz_res *res, const cors_state *st, zzz_str origin)
{
    /* "*" cannot go with credentials (Fetch: the browser refuses it):
     * the origin itself is the answer then. */
    if (st->any_origin && !st->credentials)
        zzz_http_res_add_line(res, &st->lines[CL_ORIGIN_ANY]);
    else /* a request's field value: the parser let no control byte in */
        zzz_http_res_add_field(res, cors_allow_origin_name, origin);
    zzz_http_res_add_line(res, &st->lines[CL_CREDENTIALS]);
}

static void cors_preflight(const cors_state *st, zzz_req *req, zzz_res *res, zzz_str origin,
                           bool allowed, zzz_str method)
{
    zzz_str asked = {"", 0};
    bool has_asked = zzz_req_header(req, "Access-Control-Request-Headers", &asked);
    if (st->vary)
        zzz_http_res_add_line(res, &st->lines[CL_VARY_ORIGIN]);
    if (!allowed || !cors_method_allowed(st, method) || !cors_headers_allowed(st, asked)) {
        zzz_res_error(res, 403, "CORS preflight refused");
        return;
    }
    cors_allow_origin(res, st, origin);
    /* Any method or field allowed: the ones asked for are the answer ("*"
     * means nothing with credentials, and leaves out Authorization), so
     * the answer depends on them. */
    if (st->any_method) {
        zzz_http_res_add_line(res, &st->lines[CL_VARY_METHOD]);
        zzz_http_res_add_field(res, (zzz_str){"Access-Control-Allow-Methods", 28}, method);
    } else {
        zzz_http_res_add_line(res, &st->lines[CL_METHODS]);
    }
    if (has_asked && asked.len > 0) {
        if (st->any_header) {
            zzz_http_res_add_line(res, &st->lines[CL_VARY_HEADERS]);
            zzz_http_res_add_field(res, (zzz_str){"Access-Control-Allow-Headers", 28}, asked);
        } else {
            zzz_http_res_add_line(res, &st->lines[CL_HEADERS]);
        }
    }
    zzz_http_res_add_line(res, &st->lines[CL_MAX_AGE]);
    zzz_res_status(res, 204);
    zzz_res_send(res, NULL, 0);
}

static void cors_hook(zzz_res *res, void *user)
{
    const cors_value *v = user;
    const cors_state *st = v->state;
    if (st->vary)
        zzz_http_res_add_line(res, &st->lines[CL_VARY_ORIGIN]);
    if (!v->allowed || zzz_http_res_has_field(res, "Access-Control-Allow-Origin"))
        return;
    cors_allow_origin(res, st, v->origin);
    zzz_http_res_add_line(res, &st->lines[CL_EXPOSE]);
}

static void cors_layer(zzz_req *req, zzz_res *res, zzz_next *next, void *user)
{
    const cors_state *st = user;
    zzz_str origin = {"", 0}, method;
    bool has_origin = zzz_req_header(req, "Origin", &origin);
    bool allowed = has_origin && cors_origin_allowed(st, origin);
    if (has_origin && zzz_str_eq(zzz_req_method(req), "OPTIONS") &&
        zzz_req_header(req, "Access-Control-Request-Method", &method)) {
        cors_preflight(st, req, res, origin, allowed, method);
        return;
    }
    if (allowed || st->vary) {
        cors_value *v = zzz_alloc(req, sizeof *v);
        if (v) {
            *v = (cors_value){st, origin, allowed};
            zzz_res_on_head(res, cors_hook, v);
        }
    }
    zzz_next_run(next);
}

/* A list of tokens, any of which may be "*" (then *any is set and the
 * rest does not matter). An empty list is refused. */
static int cors_tokens(const char *const *list, char ***out, size_t *count, bool *any)
{
    *any = false;
    if (list) {
        if (!list[0])
            return -EINVAL;
        for (size_t i = 0; list[i]; i++) {
            if (strcmp(list[i], "*") == 0)
                *any = true;
            else if (!zzz_http_is_token(list[i], CORS_NAME_MAX))
                return -EINVAL;
        }
    }
    return zzz_http_strv_copy(*any ? NULL : list, out, count);
}

static int cors_lines(cors_state *st)
{
    static const char *const names[CL_LINES] = {
        [CL_VARY_ORIGIN] = "Vary",
        [CL_VARY_METHOD] = "Vary",
        [CL_VARY_HEADERS] = "Vary",
        [CL_ORIGIN_ANY] = "Access-Control-Allow-Origin",
        [CL_CREDENTIALS] = "Access-Control-Allow-Credentials",
        [CL_EXPOSE] = "Access-Control-Expose-Headers",
        [CL_METHODS] = "Access-Control-Allow-Methods",
        [CL_HEADERS] = "Access-Control-Allow-Headers",
        [CL_MAX_AGE] = "Access-Control-Max-Age",
    };
    const char *values[CL_LINES] = {
        [CL_VARY_ORIGIN] = "Origin",
        [CL_VARY_METHOD] = "Access-Control-Request-Method",
        [CL_VARY_HEADERS] = "Access-Control-Request-Headers",
        [CL_ORIGIN_ANY] = "*",
        [CL_CREDENTIALS] = st->credentials ? "true" : NULL,
        [CL_EXPOSE] = st->expose_joined,
        [CL_METHODS] = st->methods_joined,
        [CL_HEADERS] = st->headers_joined,
        [CL_MAX_AGE] = st->max_age,
    };
    for (int i = 0; i < CL_LINES; i++) {
        int err = zzz_http_line_make(&st->lines[i], names[i], values[i]);
        if (err)
            return err;
    }
    return 0;
}

static int cors_build(cors_state *st, const zzz_cors_config *cfg)
{
    static const char *const default_methods[] = {"GET", "HEAD", "POST", NULL};
    bool any;
    int err = cors_tokens(cfg->methods ? cfg->methods : default_methods, &st->methods,
                          &st->method_count, &st->any_method);
    if (err == 0)
        err = cors_tokens(cfg->headers, &st->headers, &st->header_count, &st->any_header);
    char **expose = NULL;
    size_t expose_count = 0;
    if (err == 0)
        err = cors_tokens(cfg->expose, &expose, &expose_count, &any);
    if (err)
        return err;
    st->methods_joined = zzz_http_strv_join(st->methods, st->method_count);
    st->headers_joined = zzz_http_strv_join(st->headers, st->header_count);
    if (any)
        st->expose_joined = strdup("*");
    else if (expose)
        st->expose_joined = zzz_http_strv_join(expose, expose_count);
    bool lost = (any || expose) && !st->expose_joined;
    free(expose);
    if (!st->methods_joined || !st->headers_joined || lost)
        return -ENOMEM;
    st->credentials = cfg->credentials;
    if (cfg->max_age >= 0)
        snprintf(st->max_age, sizeof st->max_age, "%d",
                 cfg->max_age ? cfg->max_age : CORS_DEFAULT_MAX_AGE);
    if (!cfg->origins ||
        (cfg->origins[0] && strcmp(cfg->origins[0], "*") == 0 && !cfg->origins[1])) {
        st->any_origin = true;
    } else {
        if (!cfg->origins[0])
            return -EINVAL;
        for (size_t i = 0; cfg->origins[i]; i++)
            if (!cors_origin_ok(cfg->origins[i]))
                return -EINVAL;
        err = zzz_http_strv_copy(cfg->origins, &st->origins, &st->origin_count);
        if (err)
            return err;
        /* Browsers send scheme and host in lower case. */
        for (size_t i = 0; i < st->origin_count; i++)
            for (char *c = st->origins[i]; *c; c++)
                if (*c >= 'A' && *c <= 'Z')
                    *c = (char)(*c | 0x20);
    }
    /* Credentials for any origin would let every site act as the user,
     * and "*" exposes nothing when credentials are sent: both refused. */
    if (st->credentials && (st->any_origin || any))
        return -EINVAL;
    st->vary = !st->any_origin || st->credentials;
    return cors_lines(st);
}

int zzz_cors_layer(zzz_router *router, const zzz_cors_config *cfg, zzz_layer *layer, void **user)
{
    static const zzz_cors_config defaults;
    if (!router || !layer || !user)
        return -EINVAL;
    cors_state *st = calloc(1, sizeof *st);
    if (!st)
        return -ENOMEM;
    int err = cors_build(st, cfg ? cfg : &defaults);
    if (err) {
        cors_free(st);
        return err;
    }
    return zzz_http_layer_make(router, cors_layer, st, cors_free, layer, user);
}

int zzz_use_cors(zzz_router *router, const char *prefix, const zzz_cors_config *cfg)
{
    if (!prefix)
        return -EINVAL;
    zzz_layer layer;
    void *user;
    int err = zzz_cors_layer(router, cfg, &layer, &user);
    return err ? err : zzz_use(router, prefix, layer, user);
}
