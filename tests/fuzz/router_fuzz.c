/* libFuzzer target for the router (zzz/src/http/router.c, router_match.c,
 * router_groups.c): the input is lines, each one an operation on one
 * router:
 *   "R METHOD PATTERN"  zzz_route
 *   "U PREFIX"          zzz_use
 *   "L PREFIX"          zzz_router_max_body (a limit from the prefix)
 *   "E PREFIX"          zzz_router_on_error
 *   "M METHOD PATTERN"  zzz_route_max_body and zzz_route_use
 *   anything else "x METHOD PATH": a request matched (the path as the
 *   server gives it, decoded: any bytes).
 * Every route taken is also matched at once with a path made from its
 * pattern (each ":name" as "v", a final "*name" as "w/x"). Each match is
 * checked against a reference written here that tries every route taken
 * in turn: 200 exactly when some route of the method (or GET for HEAD)
 * matches the path, 405 when only routes of other methods do, with Allow
 * listing their methods; the route chosen is one that matches, and its
 * parameters are its own, by name, with values that are slices of the
 * path. */
#include "router.h"

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
            fprintf(stderr, "router_fuzz: %s:%d: check failed: %s\n", __FILE__, __LINE__,          \
                    #cond);                                                                        \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

#define MAX_LINES 64
#define MAX_ROUTES 64

static void handler(zzz_req *req, zzz_res *res, void *user)
{
    (void)req, (void)res, (void)user;
}

static void layer(zzz_req *req, zzz_res *res, zzz_next *next, void *user)
{
    (void)req, (void)res, (void)next, (void)user;
}

static void on_error(zzz_req *req, zzz_res *res, int status, const char *why, void *user)
{
    (void)req, (void)res, (void)status, (void)why, (void)user;
}

typedef struct route {
    char *method;
    char *pattern;
} route;

static route routes[MAX_ROUTES];
static size_t route_count;

/* ---- the reference -------------------------------------------------------- */

static int hexv(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Whether pattern (taken by zzz_route, so well formed) matches path; its
 * parameters' names and values are put in names / values in order. */
static bool ref_match(const char *pattern, zzz_str path, zzz_str *names, zzz_str *values,
                      unsigned *count)
{
    if (path.len == 0 || path.ptr[0] != '/')
        return false;
    *count = 0;
    const char *pp = pattern; /* at a '/' */
    size_t at = 0;            /* path.ptr[at] is the '/' before the next segment */
    bool have_seg = true;     /* a path always has a first segment */
    while (*pp == '/') {
        const char *seg = pp + 1;
        size_t seg_len = strcspn(seg, "/");
        pp = seg + seg_len;
        if (!have_seg)
            return false;
        const char *ps = path.ptr + at + 1;
        const char *slash = memchr(ps, '/', path.len - at - 1);
        size_t ps_len = slash ? (size_t)(slash - ps) : path.len - at - 1;
        if (seg_len > 0 && seg[0] == '*') {
            names[*count] = (zzz_str){seg + 1, seg_len - 1};
            values[(*count)++] = (zzz_str){ps, path.len - at - 1};
            return true; /* the wildcard is last */
        }
        if (seg_len > 0 && seg[0] == ':') {
            if (ps_len == 0)
                return false;
            names[*count] = (zzz_str){seg + 1, seg_len - 1};
            values[(*count)++] = (zzz_str){ps, ps_len};
        } else {
            /* static: decoded, then compared */
            char dec[8192];
            size_t n = 0;
            for (size_t i = 0; i < seg_len; i++) {
                if (seg[i] == '%') {
                    dec[n++] = (char)(hexv((unsigned char)seg[i + 1]) * 16 +
                                      hexv((unsigned char)seg[i + 2]));
                    i += 2;
                } else {
                    dec[n++] = seg[i];
                }
            }
            if (n != ps_len || memcmp(dec, ps, n) != 0)
                return false;
        }
        at += 1 + ps_len;
        have_seg = at < path.len;
    }
    return !have_seg;
}

static bool str_is(zzz_str s, const char *c)
{
    return s.len == strlen(c) && memcmp(s.ptr, c, s.len) == 0;
}

/* Whether the Allow list names the method. */
static bool allow_has(const char *allow, const char *method)
{
    size_t n = strlen(method);
    for (const char *p = allow; *p;) {
        const char *comma = strstr(p, ", ");
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        if (len == n && memcmp(p, method, n) == 0)
            return true;
        if (!comma)
            break;
        p = comma + 2;
    }
    return false;
}

static void check_match(const zzz_router *router, zzz_str method, zzz_str path)
{
    router_match m;
    memset(&m, 0xa5, sizeof m);
    int status = zzz_router_match_path(router, method, path, &m);
    CHECK(status == m.status);
    bool head = str_is(method, "HEAD");
    bool want_200 = false, want_405 = false;
    zzz_str names[ZZZ_MAX_PARAMS + 1], values[ZZZ_MAX_PARAMS + 1];
    unsigned count;
    for (size_t i = 0; i < route_count; i++) {
        if (!ref_match(routes[i].pattern, path, names, values, &count))
            continue;
        if (str_is(method, routes[i].method) || (head && !strcmp(routes[i].method, "GET")))
            want_200 = true;
        else
            want_405 = true;
    }
    if (want_200) {
        CHECK(status == 200);
        size_t id = (size_t)(uintptr_t)m.user;
        CHECK(m.handler == handler && id >= 1 && id <= route_count);
        const route *r = &routes[id - 1];
        CHECK(str_is(method, r->method) || (head && !strcmp(r->method, "GET")));
        CHECK(ref_match(r->pattern, path, names, values, &count));
        CHECK(m.param_count == count);
        for (unsigned k = 0; k < count; k++) {
            CHECK(m.param_names[k].len == names[k].len &&
                  memcmp(m.param_names[k].ptr, names[k].ptr, names[k].len) == 0);
            CHECK(m.param_values[k].ptr == values[k].ptr &&
                  m.param_values[k].len == values[k].len);
            CHECK(m.param_values[k].ptr >= path.ptr &&
                  m.param_values[k].ptr + m.param_values[k].len <= path.ptr + path.len);
        }
        return;
    }
    if (want_405) {
        CHECK(status == 405);
        /* Allow may be empty: a method too long for it is left out. */
        CHECK(memchr(m.allow, '\0', sizeof m.allow));
        /* Every method in Allow has a route that matches the path; the
         * list may leave a method out only when it would not fit. */
        for (size_t i = 0; i < route_count; i++) {
            if (ref_match(routes[i].pattern, path, names, values, &count) &&
                strlen(m.allow) + strlen(routes[i].method) + 2 < sizeof m.allow)
                CHECK(allow_has(m.allow, routes[i].method));
        }
        /* ...and names nothing else: each entry is the method of a
         * route that matches, or HEAD where a GET route matches. */
        for (const char *p = m.allow; *p;) {
            const char *comma = strstr(p, ", ");
            size_t len = comma ? (size_t)(comma - p) : strlen(p);
            bool found = false;
            for (size_t i = 0; i < route_count && !found; i++) {
                const char *rm = routes[i].method;
                bool named = strlen(rm) == len && memcmp(p, rm, len) == 0;
                bool head_of_get = len == 4 && memcmp(p, "HEAD", 4) == 0 && !strcmp(rm, "GET");
                found = (named || head_of_get) &&
                        ref_match(routes[i].pattern, path, names, values, &count);
            }
            CHECK(found);
            if (!comma)
                break;
            p = comma + 2;
        }
        return;
    }
    CHECK(status == 404 && m.allow[0] == '\0' && m.handler == NULL);
}

/* ---- the operations --------------------------------------------------------- */

/* A path that the route's own pattern matches. */
static void path_for(const char *pattern, char *out, size_t cap, size_t *len)
{
    size_t n = 0;
    for (const char *p = pattern; *p && n + 8 < cap;) {
        if (*p == '/' && (p[1] == ':' || p[1] == '*')) {
            bool wild = p[1] == '*';
            memcpy(out + n, wild ? "/w/x" : "/v", wild ? 4 : 2);
            n += wild ? 4 : 2;
            p += 2;
            while (*p && *p != '/')
                p++;
            continue;
        }
        if (*p == '%' && hexv((unsigned char)p[1]) >= 0 && hexv((unsigned char)p[2]) >= 0) {
            out[n++] = (char)(hexv((unsigned char)p[1]) * 16 + hexv((unsigned char)p[2]));
            p += 3;
            continue;
        }
        out[n++] = *p++;
    }
    *len = n;
}

/* Splits "METHOD REST" (a copy, NUL-terminated). */
static bool split(char *line, char **method, char **rest)
{
    char *sp = strchr(line, ' ');
    if (!sp)
        return false;
    *sp = '\0';
    *method = line;
    *rest = sp + 1;
    return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 8192)
        return 0;
    zzz_router *router;
    CHECK(zzz_router_create(&router) == 0);
    route_count = 0;
    size_t pos = 0;
    for (int line_no = 0; line_no < MAX_LINES && pos < size; line_no++) {
        const uint8_t *nl = memchr(data + pos, '\n', size - pos);
        size_t len = nl ? (size_t)(nl - (data + pos)) : size - pos;
        const uint8_t *line = data + pos;
        pos += len + 1;
        if (len < 2)
            continue;
        char op = (char)line[0];
        /* The operand, as an exact-size heap copy: a C string for the
         * building calls (cut at a NUL), bytes for a request. */
        size_t n = len - 2;
        char *arg = malloc(n + 1);
        CHECK(arg);
        memcpy(arg, line + 2, n);
        arg[n] = '\0';
        char *method, *rest;
        int rc;
        switch (op) {
        case 'R':
            if (!split(arg, &method, &rest))
                break;
            rc = zzz_route(router, method, rest, handler, (void *)(uintptr_t)(route_count + 1));
            CHECK(rc == 0 || rc == -EINVAL || rc == -EEXIST);
            if (rc == 0 && route_count < MAX_ROUTES) {
                routes[route_count].method = strdup(method);
                routes[route_count].pattern = strdup(rest);
                CHECK(routes[route_count].method && routes[route_count].pattern);
                route_count++;
                char path[4096];
                size_t path_len;
                path_for(rest, path, sizeof path, &path_len);
                check_match(router, (zzz_str){method, strlen(method)}, (zzz_str){path, path_len});
            } else if (rc == 0) {
                free(arg);
                goto done; /* the reference could not follow */
            }
            break;
        case 'U':
            rc = zzz_use(router, arg, layer, NULL);
            CHECK(rc == 0 || rc == -EINVAL);
            break;
        case 'L':
            rc = zzz_router_max_body(router, arg, n);
            CHECK(rc == 0 || rc == -EINVAL);
            break;
        case 'E':
            rc = zzz_router_on_error(router, arg, on_error, NULL);
            CHECK(rc == 0 || rc == -EINVAL);
            break;
        case 'M':
            if (!split(arg, &method, &rest))
                break;
            rc = zzz_route_max_body(router, method, rest, 1 + n);
            CHECK(rc == 0 || rc == -EINVAL || rc == -ENOENT);
            rc = zzz_route_use(router, method, rest, layer, NULL);
            CHECK(rc == 0 || rc == -EINVAL || rc == -ENOENT);
            break;
        default: {
            /* A request: METHOD, a space, the path (any bytes). */
            const char *sp = memchr(line + 2, ' ', n);
            if (!sp)
                break;
            size_t mlen = (size_t)(sp - (const char *)(line + 2));
            char *copy = malloc(n ? n : 1);
            CHECK(copy);
            memcpy(copy, line + 2, n);
            zzz_str m = {copy, mlen};
            zzz_str path = {copy + mlen + 1, n - mlen - 1};
            check_match(router, m, path);
            (void)zzz_http_router_max_body(router, path);
            zzz_error_handler fn;
            void *user;
            if (zzz_http_router_on_error(router, path, &fn, &user))
                CHECK(fn == on_error);
            unsigned count;
            const router_layer *layers = zzz_http_router_layers(router, &count);
            for (unsigned i = 1; i < count; i++)
                CHECK(layers[i - 1].prefix_len <= layers[i].prefix_len);
            free(copy);
            break;
        }
        }
        free(arg);
    }
done:
    for (size_t i = 0; i < route_count; i++) {
        free(routes[i].method);
        free(routes[i].pattern);
    }
    zzz_router_destroy(router);
    return 0;
}
