/* Unit tests of the HTTP router (zzz/src/http/router.c, which builds it,
 * and router_match.c): what each pattern matches, precedence and
 * backtracking, 404 / 405 and Allow, zzz_route's errors, scale, and that
 * matching never allocates. */
#include "router.h"

#include <criterion/criterion.h>

#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Handlers are never called: they are told apart by their addresses. */
static void h_a(zzz_req *req, zzz_res *res, void *user)
{
    (void)req, (void)res, (void)user;
}
static void h_b(zzz_req *req, zzz_res *res, void *user)
{
    (void)req, (void)res, (void)user;
}
static void h_c(zzz_req *req, zzz_res *res, void *user)
{
    (void)req, (void)res, (void)user;
}
static void h_d(zzz_req *req, zzz_res *res, void *user)
{
    (void)req, (void)res, (void)user;
}

static zzz_router *router_new(void)
{
    zzz_router *router = NULL;
    cr_assert_eq(zzz_router_create(&router), 0);
    cr_assert_not_null(router);
    return router;
}

static void add(zzz_router *router, const char *method, const char *pattern, zzz_handler handler)
{
    int err = zzz_route(router, method, pattern, handler, NULL);
    cr_assert_eq(err, 0, "zzz_route(%s, %s) = %d", method, pattern, err);
}

static int match(const zzz_router *router, const char *method, const char *path, router_match *m)
{
    int status = zzz_router_match_path(router, (zzz_str){method, strlen(method)},
                                       (zzz_str){path, strlen(path)}, m);
    cr_assert_eq(status, m->status);
    return status;
}

/* Asserts a 200 with this handler. */
static void expect(const zzz_router *router, const char *method, const char *path,
                   zzz_handler handler, router_match *m)
{
    int status = match(router, method, path, m);
    cr_assert_eq(status, 200, "%s %s: %d", method, path, status);
    cr_assert(m->handler == handler, "%s %s: another handler", method, path);
}

static void expect_status(const zzz_router *router, const char *method, const char *path, int want)
{
    router_match m;
    int status = match(router, method, path, &m);
    cr_assert_eq(status, want, "%s %s: %d, want %d", method, path, status, want);
}

static bool str_is(zzz_str s, const char *text)
{
    return s.len == strlen(text) && memcmp(s.ptr, text, s.len) == 0;
}

static void expect_param(const router_match *m, unsigned index, const char *name, const char *value)
{
    cr_assert_lt(index, m->param_count);
    cr_assert(str_is(m->param_names[index], name), "param %u: name %.*s, want %s", index,
              (int)m->param_names[index].len, m->param_names[index].ptr, name);
    cr_assert(str_is(m->param_values[index], value), "param %u: value %.*s, want %s", index,
              (int)m->param_values[index].len, m->param_values[index].ptr, value);
}

Test(router, statics)
{
    zzz_router *r = router_new();
    add(r, "GET", "/", h_a);
    add(r, "GET", "/a", h_b);
    add(r, "GET", "/a/", h_c);
    add(r, "GET", "/a/b", h_d);
    router_match m;
    expect(r, "GET", "/", h_a, &m);
    cr_assert_eq(m.param_count, 0);
    expect(r, "GET", "/a", h_b, &m);
    /* "/a" and "/a/" are distinct routes. */
    expect(r, "GET", "/a/", h_c, &m);
    expect(r, "GET", "/a/b", h_d, &m);
    expect_status(r, "GET", "/b", 404);
    expect_status(r, "GET", "/a/b/", 404);
    expect_status(r, "GET", "/a/b/c", 404);
    expect_status(r, "GET", "/ab", 404);
    expect_status(r, "GET", "/A", 404);
    zzz_router_destroy(r);
}

/* Siblings that share long prefixes, differ only past the 8th byte or only
 * in length, and a NUL the path may carry. */
Test(router, similar_siblings)
{
    zzz_router *r = router_new();
    static const char *const labels[] = {"a",         "ab",          "abcdefg",   "abcdefgh",
                                         "abcdefgha", "abcdefghi",   "abcdefgh0", "abcdefghij",
                                         "b",         "abcdefgh%00x"};
    char pattern[64];
    for (size_t i = 0; i + 1 < sizeof labels / sizeof labels[0]; i++) {
        snprintf(pattern, sizeof pattern, "/%s", labels[i]);
        cr_assert_eq(zzz_route(r, "GET", pattern, h_a, (void *)labels[i]), 0, "%s", pattern);
    }
    router_match m;
    for (size_t i = 0; i + 1 < sizeof labels / sizeof labels[0]; i++) {
        snprintf(pattern, sizeof pattern, "/%s", labels[i]);
        expect(r, "GET", pattern, h_a, &m);
        cr_assert_eq(m.user, labels[i], "%s", pattern);
    }
    expect_status(r, "GET", "/abcdefghh", 404);
    expect_status(r, "GET", "/abcdef", 404);
    expect_status(r, "GET", "/abcdefghijk", 404);
    /* "a" followed by NUL pads to the same key as "a". */
    cr_assert_eq(zzz_router_match_path(r, (zzz_str){"GET", 3}, (zzz_str){"/a\0", 3}, &m), 404);
    cr_assert_eq(zzz_router_match_path(r, (zzz_str){"GET", 3}, (zzz_str){"/abcdefgh\0", 10}, &m),
                 404);
    /* The last label holds an escaped NUL: refused. */
    snprintf(pattern, sizeof pattern, "/%s", labels[sizeof labels / sizeof labels[0] - 1]);
    cr_assert_eq(zzz_route(r, "GET", pattern, h_a, NULL), -EINVAL);
    zzz_router_destroy(r);
}

Test(router, trailing_slash_is_distinct)
{
    zzz_router *r = router_new();
    add(r, "GET", "/only-bare", h_a);
    add(r, "GET", "/only-slash/", h_b);
    expect_status(r, "GET", "/only-bare/", 404);
    expect_status(r, "GET", "/only-slash", 404);
    zzz_router_destroy(r);
}

Test(router, params)
{
    zzz_router *r = router_new();
    add(r, "GET", "/users/:id", h_a);
    add(r, "GET", "/users/:id/posts/:post", h_b);
    router_match m;
    const char *path = "/users/42";
    expect(r, "GET", path, h_a, &m);
    cr_assert_eq(m.param_count, 1);
    expect_param(&m, 0, "id", "42");
    /* A slice of the given path, not a copy. */
    cr_assert_eq(m.param_values[0].ptr, path + 7);

    expect(r, "GET", "/users/7/posts/hello-world", h_b, &m);
    cr_assert_eq(m.param_count, 2);
    expect_param(&m, 0, "id", "7");
    expect_param(&m, 1, "post", "hello-world");

    /* A parameter is never empty. */
    expect_status(r, "GET", "/users/", 404);
    expect_status(r, "GET", "/users//posts/1", 404);
    expect_status(r, "GET", "/users", 404);
    expect_status(r, "GET", "/users/42/", 404);
    zzz_router_destroy(r);
}

Test(router, param_values_any_bytes)
{
    zzz_router *r = router_new();
    add(r, "GET", "/q/:v", h_a);
    router_match m;
    /* The path is decoded, so a segment may hold anything but '/'. */
    expect(r, "GET", "/q/a b?c#d%:*", h_a, &m);
    expect_param(&m, 0, "v", "a b?c#d%:*");
    zzz_router_destroy(r);
}

Test(router, wildcards)
{
    zzz_router *r = router_new();
    add(r, "GET", "/files/*path", h_a);
    add(r, "GET", "/u/:id/*rest", h_b);
    router_match m;
    expect(r, "GET", "/files/a/b/c.txt", h_a, &m);
    cr_assert_eq(m.param_count, 1);
    expect_param(&m, 0, "path", "a/b/c.txt");
    /* The wildcard may be empty, but needs the slash it hangs from. */
    expect(r, "GET", "/files/", h_a, &m);
    expect_param(&m, 0, "path", "");
    expect_status(r, "GET", "/files", 404);
    expect(r, "GET", "/files//x/", h_a, &m);
    expect_param(&m, 0, "path", "/x/");

    expect(r, "GET", "/u/9/a//b", h_b, &m);
    cr_assert_eq(m.param_count, 2);
    expect_param(&m, 0, "id", "9");
    expect_param(&m, 1, "rest", "a//b");
    zzz_router_destroy(r);
}

Test(router, root_wildcard)
{
    zzz_router *r = router_new();
    add(r, "GET", "/*all", h_a);
    add(r, "GET", "/api/v1", h_b);
    router_match m;
    expect(r, "GET", "/", h_a, &m);
    expect_param(&m, 0, "all", "");
    expect(r, "GET", "//", h_a, &m);
    expect_param(&m, 0, "all", "/");
    expect(r, "GET", "/api/v1", h_b, &m);
    cr_assert_eq(m.param_count, 0);
    /* "/api" dead-ends in the static branch: the wildcard takes it. */
    expect(r, "GET", "/api/v1/x", h_a, &m);
    expect_param(&m, 0, "all", "api/v1/x");
    expect(r, "GET", "/api", h_a, &m);
    expect_param(&m, 0, "all", "api");
    expect_status(r, "GET", "", 404);
    zzz_router_destroy(r);
}

Test(router, precedence)
{
    zzz_router *r = router_new();
    add(r, "GET", "/users/me", h_a);
    add(r, "GET", "/users/:id", h_b);
    add(r, "GET", "/users/*rest", h_c);
    router_match m;
    expect(r, "GET", "/users/me", h_a, &m);
    cr_assert_eq(m.param_count, 0);
    expect(r, "GET", "/users/you", h_b, &m);
    expect_param(&m, 0, "id", "you");
    expect(r, "GET", "/users/me/x", h_c, &m);
    expect_param(&m, 0, "rest", "me/x");
    /* An empty segment is no parameter, so the wildcard takes it. */
    expect(r, "GET", "/users/", h_c, &m);
    expect_param(&m, 0, "rest", "");
    zzz_router_destroy(r);
}

Test(router, backtracking)
{
    zzz_router *r = router_new();
    add(r, "GET", "/a/b/c", h_a);
    add(r, "GET", "/a/:x/d", h_b);
    router_match m;
    expect(r, "GET", "/a/b/c", h_a, &m);
    cr_assert_eq(m.param_count, 0);
    expect(r, "GET", "/a/b/d", h_b, &m);
    expect_param(&m, 0, "x", "b");
    expect(r, "GET", "/a/z/d", h_b, &m);
    expect_param(&m, 0, "x", "z");
    expect_status(r, "GET", "/a/b/e", 404);
    zzz_router_destroy(r);
}

Test(router, deep_backtracking_resets_params)
{
    zzz_router *r = router_new();
    add(r, "GET", "/:a/x/y/z", h_a);
    add(r, "GET", "/:a/:b/y/w", h_b);
    add(r, "GET", "/k/x/*rest", h_c);
    add(r, "GET", "/*all", h_d);
    router_match m;
    /* "k" (static) then "x" then wildcard. */
    expect(r, "GET", "/k/x/y/q", h_c, &m);
    cr_assert_eq(m.param_count, 1);
    expect_param(&m, 0, "rest", "y/q");
    /* Static "k" has no "/x/y/z": back up to ":a", its static "x". */
    expect(r, "GET", "/k/x/y/z", h_c, &m);
    expect(r, "GET", "/j/x/y/z", h_a, &m);
    cr_assert_eq(m.param_count, 1);
    expect_param(&m, 0, "a", "j");
    /* ":a" then static "x" dead-ends at "w": back up to ":b". */
    expect(r, "GET", "/j/x/y/w", h_b, &m);
    cr_assert_eq(m.param_count, 2);
    expect_param(&m, 0, "a", "j");
    expect_param(&m, 1, "b", "x");
    /* Every branch below the root fails: the root wildcard, one param. */
    expect(r, "GET", "/j/x/y/v", h_d, &m);
    cr_assert_eq(m.param_count, 1);
    expect_param(&m, 0, "all", "j/x/y/v");
    zzz_router_destroy(r);
}

Test(router, method_aware_backtracking)
{
    zzz_router *r = router_new();
    add(r, "POST", "/a/b", h_a);
    add(r, "GET", "/a/:x", h_b);
    router_match m;
    expect(r, "POST", "/a/b", h_a, &m);
    /* The static branch matches the path but not the method. */
    expect(r, "GET", "/a/b", h_b, &m);
    expect_param(&m, 0, "x", "b");
    expect_status(r, "POST", "/a/c", 405);
    zzz_router_destroy(r);
}

Test(router, not_found_vs_method_not_allowed)
{
    zzz_router *r = router_new();
    add(r, "POST", "/r", h_a);
    add(r, "GET", "/r", h_b);
    add(r, "DELETE", "/r", h_c);
    router_match m;
    cr_assert_eq(match(r, "PUT", "/r", &m), 405);
    cr_assert_null(m.handler);
    cr_assert_eq(m.param_count, 0);
    cr_assert_str_eq(m.allow, "DELETE, GET, HEAD, POST");
    /* Case matters: "get" is another method. */
    cr_assert_eq(match(r, "get", "/r", &m), 405);
    cr_assert_str_eq(m.allow, "DELETE, GET, HEAD, POST");

    cr_assert_eq(match(r, "GET", "/nope", &m), 404);
    cr_assert_null(m.handler);
    cr_assert_str_eq(m.allow, "");
    cr_assert_eq(match(r, "GET", "/r", &m), 200);
    cr_assert_str_eq(m.allow, "");
    zzz_router_destroy(r);
}

Test(router, allow_is_union_of_matching_branches)
{
    zzz_router *r = router_new();
    add(r, "POST", "/u/me", h_a);
    add(r, "PUT", "/u/:id", h_b);
    add(r, "PURGE", "/u/*rest", h_c);
    add(r, "POST", "/u/*rest", h_c);
    router_match m;
    cr_assert_eq(match(r, "GET", "/u/me", &m), 405);
    cr_assert_str_eq(m.allow, "POST, PURGE, PUT");
    cr_assert_eq(match(r, "GET", "/u/x/y", &m), 405);
    cr_assert_str_eq(m.allow, "POST, PURGE");
    zzz_router_destroy(r);
}

Test(router, allow_never_overflows)
{
    zzz_router *r = router_new();
    char method[40];
    for (int i = 0; i < 20; i++) {
        snprintf(method, sizeof method, "METHOD-NUMBER-%02d", i);
        add(r, method, "/x", h_a);
    }
    router_match m;
    memset(m.allow, 'z', sizeof m.allow);
    cr_assert_eq(match(r, "GET", "/x", &m), 405);
    size_t len = strnlen(m.allow, sizeof m.allow);
    cr_assert_lt(len, sizeof m.allow);
    /* Whole entries only, in order, from the first. */
    cr_assert_eq(strncmp(m.allow, "METHOD-NUMBER-00, METHOD-NUMBER-01", 34), 0);
    cr_assert_neq(m.allow[len - 1], ' ');
    cr_assert_neq(m.allow[len - 1], ',');
    zzz_router_destroy(r);
}

Test(router, head_falls_back_to_get)
{
    zzz_router *r = router_new();
    add(r, "GET", "/g", h_a);
    add(r, "GET", "/both", h_a);
    add(r, "HEAD", "/both", h_b);
    add(r, "POST", "/p", h_c);
    router_match m;
    expect(r, "HEAD", "/g", h_a, &m);
    expect(r, "HEAD", "/both", h_b, &m);
    expect(r, "GET", "/both", h_a, &m);
    cr_assert_eq(match(r, "HEAD", "/p", &m), 405);
    cr_assert_str_eq(m.allow, "POST");
    /* GET never falls back to HEAD. */
    zzz_router *h = router_new();
    add(h, "HEAD", "/h", h_a);
    cr_assert_eq(match(h, "GET", "/h", &m), 405);
    cr_assert_str_eq(m.allow, "HEAD");
    zzz_router_destroy(h);
    zzz_router_destroy(r);
}

Test(router, head_fallback_with_params)
{
    zzz_router *r = router_new();
    add(r, "GET", "/v/:id", h_a);
    router_match m;
    expect(r, "HEAD", "/v/3", h_a, &m);
    expect_param(&m, 0, "id", "3");
    zzz_router_destroy(r);
}

Test(router, custom_not_found)
{
    zzz_router *r = router_new();
    add(r, "GET", "/here", h_a);
    router_match m;
    cr_assert_eq(match(r, "GET", "/there", &m), 404);
    cr_assert_null(m.handler);
    int marker = 0;
    zzz_router_not_found(r, h_d, &marker);
    cr_assert_eq(match(r, "GET", "/there", &m), 404);
    cr_assert(m.handler == h_d);
    cr_assert_eq(m.user, &marker);
    /* A 405 is not a 404: the not-found handler stays out of it. */
    cr_assert_eq(match(r, "POST", "/here", &m), 405);
    cr_assert_null(m.handler);
    zzz_router_destroy(r);
}

Test(router, user_pointer)
{
    zzz_router *r = router_new();
    int a = 0, b = 0;
    cr_assert_eq(zzz_route(r, "GET", "/a", h_a, &a), 0);
    cr_assert_eq(zzz_route(r, "POST", "/a", h_a, &b), 0);
    router_match m;
    match(r, "GET", "/a", &m);
    cr_assert_eq(m.user, &a);
    match(r, "POST", "/a", &m);
    cr_assert_eq(m.user, &b);
    zzz_router_destroy(r);
}

Test(router, any_token_method)
{
    zzz_router *r = router_new();
    add(r, "PURGE", "/m", h_a);
    add(r, "M-SEARCH", "/m", h_b);
    add(r, "get", "/m", h_c);
    add(r, "!#$%&'*+-.^_`|~09azAZ", "/m", h_d);
    router_match m;
    expect(r, "PURGE", "/m", h_a, &m);
    expect(r, "M-SEARCH", "/m", h_b, &m);
    expect(r, "get", "/m", h_c, &m);
    expect(r, "!#$%&'*+-.^_`|~09azAZ", "/m", h_d, &m);
    /* No route is "GET", so HEAD has nothing to fall back to. */
    cr_assert_eq(match(r, "HEAD", "/m", &m), 405);
    cr_assert_str_eq(m.allow, "!#$%&'*+-.^_`|~09azAZ, M-SEARCH, PURGE, get");
    zzz_router_destroy(r);
}

Test(router, empty_segments)
{
    zzz_router *r = router_new();
    add(r, "GET", "/", h_a);
    add(r, "GET", "//", h_b);
    add(r, "GET", "/a//b", h_c);
    add(r, "GET", "/p/:x", h_d);
    router_match m;
    expect(r, "GET", "/", h_a, &m);
    expect(r, "GET", "//", h_b, &m);
    expect(r, "GET", "/a//b", h_c, &m);
    /* Not collapsed: "/a//b" is not "/a/b", "///" is nothing. */
    expect_status(r, "GET", "/a/b", 404);
    expect_status(r, "GET", "///", 404);
    expect_status(r, "GET", "/p//", 404);
    expect_status(r, "GET", "/p/", 404);
    zzz_router_destroy(r);
}

Test(router, dot_segments_are_plain_text)
{
    zzz_router *r = router_new();
    add(r, "GET", "/a/:x", h_a);
    router_match m;
    expect(r, "GET", "/a/..", h_a, &m);
    expect_param(&m, 0, "x", "..");
    expect_status(r, "GET", "/a/b/..", 404);
    zzz_router_destroy(r);
}

Test(router, path_without_leading_slash)
{
    zzz_router *r = router_new();
    add(r, "GET", "/*all", h_a);
    add(r, "GET", "/a", h_b);
    expect_status(r, "GET", "a", 404);
    expect_status(r, "GET", "", 404);
    expect_status(r, "GET", "*", 404);
    expect_status(r, "GET", "example.com:80", 404);
    router_match m;
    cr_assert_eq(zzz_router_match_path(r, (zzz_str){"GET", 3}, (zzz_str){NULL, 0}, &m), 404);
    zzz_router_destroy(r);
}

Test(router, percent_escapes_in_patterns)
{
    zzz_router *r = router_new();
    add(r, "GET", "/caf%C3%A9", h_a);
    add(r, "GET", "/a%20b/100%25", h_b);
    router_match m;
    expect(r, "GET", "/caf\xc3\xa9", h_a, &m);
    expect(r, "GET", "/a b/100%", h_b, &m);
    expect_status(r, "GET", "/caf%C3%A9", 404);
    /* The same decoded route twice. */
    cr_assert_eq(zzz_route(r, "GET", "/caf%c3%a9", h_c, NULL), -EEXIST);
    zzz_router_destroy(r);
}

Test(router, static_segments_may_hold_colon_and_star)
{
    zzz_router *r = router_new();
    add(r, "GET", "/a:b/c*d/@x;y=z", h_a);
    router_match m;
    expect(r, "GET", "/a:b/c*d/@x;y=z", h_a, &m);
    cr_assert_eq(m.param_count, 0);
    zzz_router_destroy(r);
}

Test(router, route_errors_einval)
{
    zzz_router *r = router_new();
    static const char *const bad_patterns[] = {
        "",           "a",       "a/b",          "*",      "/:",     "/a/:",  "/:/b",  "/*",
        "/a/*",       "/*a/b",   "/*a/",         "/*a/*b", "/a b",   "/a\tb", "/a?b",  "/a#b",
        "/a%",        "/a%2",    "/a%zz",        "/a%2F",  "/a%2fb", "/a%00", "/a\\b", "/a\"b",
        "/a<b",       "/a[b]",   "/caf\xc3\xa9", "/:a.b",  "/:a:b",  "/:a*b", "/*a:b", "/:a b",
        "/:\xc3\xa9", "/a/\x7f", "/{a}",         "/a|b",   "/a^b",   "/a`b",
    };
    for (size_t i = 0; i < sizeof bad_patterns / sizeof bad_patterns[0]; i++) {
        int err = zzz_route(r, "GET", bad_patterns[i], h_a, NULL);
        cr_assert_eq(err, -EINVAL, "pattern \"%s\": %d", bad_patterns[i], err);
    }
    static const char *const bad_methods[] = {"",    "GE T",       "GET\n", "G(ET", "G/T",
                                              "G,T", "G\xc3\xa9T", "G:T",   "G\"T"};
    for (size_t i = 0; i < sizeof bad_methods / sizeof bad_methods[0]; i++) {
        int err = zzz_route(r, bad_methods[i], "/x", h_a, NULL);
        cr_assert_eq(err, -EINVAL, "method \"%s\": %d", bad_methods[i], err);
    }
    cr_assert_eq(zzz_route(r, "GET", "/x", NULL, NULL), -EINVAL);
    cr_assert_eq(zzz_route(r, NULL, "/x", h_a, NULL), -EINVAL);
    cr_assert_eq(zzz_route(r, "GET", NULL, h_a, NULL), -EINVAL);
    cr_assert_eq(zzz_route(NULL, "GET", "/x", h_a, NULL), -EINVAL);

    /* None of them left a route behind. */
    expect_status(r, "GET", "/x", 404);
    expect_status(r, "GET", "/a", 404);
    expect_status(r, "GET", "/", 404);
    zzz_router_destroy(r);
}

Test(router, route_errors_param_limit)
{
    zzz_router *r = router_new();
    char pattern[512] = "";
    char path[512] = "";
    for (int i = 0; i < ZZZ_MAX_PARAMS; i++) {
        size_t pl = strlen(pattern), ql = strlen(path);
        snprintf(pattern + pl, sizeof pattern - pl, "/:p%d", i);
        snprintf(path + ql, sizeof path - ql, "/v%d", i);
    }
    add(r, "GET", pattern, h_a);
    router_match m;
    expect(r, "GET", path, h_a, &m);
    cr_assert_eq(m.param_count, ZZZ_MAX_PARAMS);
    expect_param(&m, ZZZ_MAX_PARAMS - 1, "p15", "v15");

    char over[600];
    snprintf(over, sizeof over, "%s/:one_more", pattern);
    cr_assert_eq(zzz_route(r, "GET", over, h_a, NULL), -EINVAL);
    snprintf(over, sizeof over, "%s/*rest", pattern);
    cr_assert_eq(zzz_route(r, "GET", over, h_a, NULL), -EINVAL);
    /* Static segments do not count. */
    snprintf(over, sizeof over, "%s/static/more", pattern);
    cr_assert_eq(zzz_route(r, "GET", over, h_a, NULL), 0);
    zzz_router_destroy(r);
}

Test(router, route_errors_eexist)
{
    zzz_router *r = router_new();
    add(r, "GET", "/u/:id", h_a);
    add(r, "GET", "/f/*path", h_a);
    add(r, "GET", "/s", h_a);
    cr_assert_eq(zzz_route(r, "GET", "/s", h_b, NULL), -EEXIST);
    cr_assert_eq(zzz_route(r, "GET", "/u/:id", h_b, NULL), -EEXIST);
    cr_assert_eq(zzz_route(r, "POST", "/u/:name", h_b, NULL), -EEXIST);
    cr_assert_eq(zzz_route(r, "GET", "/u/:name/x", h_b, NULL), -EEXIST);
    cr_assert_eq(zzz_route(r, "GET", "/f/*rest", h_b, NULL), -EEXIST);
    /* A malformed pattern is -EINVAL even where it also conflicts. */
    cr_assert_eq(zzz_route(r, "GET", "/u/:name/ x", h_b, NULL), -EINVAL);

    /* The same pattern under another method, a param beside a static or a
     * wildcard, and the same name deeper down are all fine. */
    add(r, "POST", "/s", h_b);
    add(r, "POST", "/u/:id", h_b);
    add(r, "GET", "/u/:id/posts/:post", h_b);
    add(r, "GET", "/u/me", h_c);
    add(r, "GET", "/u/*rest", h_c);
    add(r, "GET", "/f/:name", h_c);

    /* Failures changed nothing. */
    router_match m;
    expect(r, "GET", "/s", h_a, &m);
    expect(r, "GET", "/u/7", h_a, &m);
    expect_param(&m, 0, "id", "7");
    /* ":id" has no "x" below it: back up to the wildcard. */
    expect(r, "GET", "/u/7/x", h_c, &m);
    expect_param(&m, 0, "rest", "7/x");
    zzz_router_destroy(r);
}

Test(router, long_paths)
{
    zzz_router *r = router_new();
    /* A deep pattern: 2,000 static segments. */
    size_t depth = 2000;
    char *deep = malloc(depth * 2 + 1);
    cr_assert_not_null(deep);
    for (size_t i = 0; i < depth; i++) {
        memcpy(deep + i * 2, "/a", 2);
    }
    deep[depth * 2] = '\0';
    add(r, "GET", deep, h_a);
    add(r, "GET", "/:x", h_b);
    router_match m;
    expect(r, "GET", deep, h_a, &m);
    /* Dead-ends at the very bottom and backtracks all the way up. */
    deep[depth * 2 - 1] = 'b';
    expect_status(r, "GET", deep, 404);
    free(deep);

    /* A megabyte of path, of slashes or of one segment. */
    size_t len = 1 << 20;
    char *path = malloc(len + 1);
    cr_assert_not_null(path);
    memset(path, '/', len);
    path[len] = '\0';
    expect_status(r, "GET", path, 404);
    memset(path + 1, 'x', len - 1);
    expect(r, "GET", path, h_b, &m);
    cr_assert_eq(m.param_values[0].len, len - 1);

    add(r, "GET", "/w/*rest", h_c);
    memcpy(path, "/w/", 3);
    for (size_t i = 3; i < len; i += 2) {
        path[i] = '/';
    }
    expect(r, "GET", path, h_c, &m);
    cr_assert_eq(m.param_values[0].len, len - 3);
    free(path);
    zzz_router_destroy(r);
}

/* Route i's user pointer is i + 1: many routes, one handler. */
static void *route_user(size_t i)
{
    return (void *)(uintptr_t)(i + 1);
}

enum { MANY_ROUTES = 10000 };

static void many_pattern(size_t i, char *pattern, size_t size, char *path, size_t path_size)
{
    switch (i % 4) {
    case 0: /* a wide level: thousands of siblings under the root */
        snprintf(pattern, size, "/r%zu", i);
        snprintf(path, path_size, "/r%zu", i);
        break;
    case 1: /* two static levels */
        snprintf(pattern, size, "/g%zu/item%zu", i % 97, i);
        snprintf(path, path_size, "/g%zu/item%zu", i % 97, i);
        break;
    case 2: /* a param in the middle, statics around it */
        snprintf(pattern, size, "/p%zu/:id/x%zu", i % 31, i);
        snprintf(path, path_size, "/p%zu/val%zu/x%zu", i % 31, i, i);
        break;
    default: /* a trailing wildcard */
        snprintf(pattern, size, "/w%zu/deep/*rest", i);
        snprintf(path, path_size, "/w%zu/deep/some/file%zu", i, i);
        break;
    }
}

Test(router, ten_thousand_routes)
{
    zzz_router *r = router_new();
    char pattern[128], path[128];
    for (size_t i = 0; i < MANY_ROUTES; i++) {
        many_pattern(i, pattern, sizeof pattern, path, sizeof path);
        const char *method = i % 5 == 0 ? "POST" : "GET";
        int err = zzz_route(r, method, pattern, h_a, route_user(i));
        cr_assert_eq(err, 0, "%s: %d", pattern, err);
    }
    router_match m;
    for (size_t i = 0; i < MANY_ROUTES; i++) {
        many_pattern(i, pattern, sizeof pattern, path, sizeof path);
        const char *method = i % 5 == 0 ? "POST" : "GET";
        expect(r, method, path, h_a, &m);
        cr_assert_eq(m.user, route_user(i), "%s: route %zu, want %zu", path,
                     (size_t)(uintptr_t)m.user - 1, i);
        if (i % 4 == 2) {
            char want[32];
            snprintf(want, sizeof want, "val%zu", i);
            expect_param(&m, 0, "id", want);
        }
        cr_assert_eq(match(r, i % 5 == 0 ? "GET" : "DELETE", path, &m), 405);
    }
    expect_status(r, "GET", "/r10000", 404);
    expect_status(r, "GET", "/g1/item2", 404);
    expect_status(r, "GET", "/p1/v/x2", 404);
    expect_status(r, "GET", "/w3/deep", 404);
    zzz_router_destroy(r);
}

/* ---- matching never allocates ------------------------------------------ */

/* A malloc interposer counts the calls while a flag is up. Under
 * AddressSanitizer the sanitizer owns malloc, so the count is skipped
 * there (the plain build runs it). */
#if defined(__SANITIZE_ADDRESS__)
#define ROUTER_TEST_COUNT_ALLOCS 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(memory_sanitizer)
#define ROUTER_TEST_COUNT_ALLOCS 0
#endif
#endif
#if !defined(ROUTER_TEST_COUNT_ALLOCS) && defined(__GLIBC__)
#define ROUTER_TEST_COUNT_ALLOCS 1
#endif

#if ROUTER_TEST_COUNT_ALLOCS
extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t count, size_t size);
extern void *__libc_realloc(void *ptr, size_t size);
extern void __libc_free(void *ptr);

static atomic_bool counting;
static atomic_long alloc_calls;

static void count_call(void)
{
    if (atomic_load_explicit(&counting, memory_order_relaxed)) {
        atomic_fetch_add_explicit(&alloc_calls, 1, memory_order_relaxed);
    }
}

void *malloc(size_t size)
{
    count_call();
    return __libc_malloc(size);
}

void *calloc(size_t count, size_t size)
{
    count_call();
    return __libc_calloc(count, size);
}

void *realloc(void *ptr, size_t size)
{
    count_call();
    return __libc_realloc(ptr, size);
}

void free(void *ptr)
{
    count_call();
    __libc_free(ptr);
}
#endif

Test(router, matching_does_not_allocate)
{
#if ROUTER_TEST_COUNT_ALLOCS
    zzz_router *r = router_new();
    add(r, "GET", "/a/b/c", h_a);
    add(r, "GET", "/a/:x/d", h_b);
    add(r, "POST", "/a/:x/e", h_b);
    add(r, "GET", "/files/*path", h_c);
    zzz_router_not_found(r, h_d, NULL);

    /* The interposer is live: creating a router counts. */
    atomic_store(&alloc_calls, 0);
    atomic_store(&counting, true);
    zzz_router *probe = NULL;
    int err = zzz_router_create(&probe);
    zzz_router_destroy(probe);
    atomic_store(&counting, false);
    cr_assert_eq(err, 0);
    cr_assert_gt(atomic_load(&alloc_calls), 0);

    static const char *const methods[] = {"GET", "HEAD", "POST", "PUT", "PURGE"};
    static const char *const paths[] = {"/a/b/c",   "/a/b/d", "/a/q/e", "/files/x/y/z", "/files/",
                                        "/nowhere", "//",     "x",      "/a/b/e"};
    router_match m;
    long statuses[600] = {0};
    atomic_store(&alloc_calls, 0);
    atomic_store(&counting, true);
    for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++) {
        for (size_t j = 0; j < sizeof paths / sizeof paths[0]; j++) {
            int status = zzz_router_match_path(r, (zzz_str){methods[i], strlen(methods[i])},
                                               (zzz_str){paths[j], strlen(paths[j])}, &m);
            statuses[status]++;
        }
    }
    atomic_store(&counting, false);
    cr_assert_eq(atomic_load(&alloc_calls), 0, "matching called the allocator %ld times",
                 atomic_load(&alloc_calls));
    /* All three outcomes were exercised. */
    cr_assert_gt(statuses[200], 0);
    cr_assert_gt(statuses[404], 0);
    cr_assert_gt(statuses[405], 0);
    zzz_router_destroy(r);
#else
    cr_skip_test("malloc belongs to the sanitizer in this build");
#endif
}

/* ---- layers (zzz_use, zzz_route_use) ------------------------------------ */

static void layer_a(zzz_req *req, zzz_res *res, zzz_next *next, void *user)
{
    (void)req;
    (void)res;
    (void)next;
    (void)user;
}

static void layer_b(zzz_req *req, zzz_res *res, zzz_next *next, void *user)
{
    (void)req;
    (void)res;
    (void)next;
    (void)user;
}

Test(router, use_checks_its_prefix)
{
    zzz_router *r = router_new();
    cr_assert_eq(zzz_use(NULL, "/", layer_a, NULL), -EINVAL);
    cr_assert_eq(zzz_use(r, NULL, layer_a, NULL), -EINVAL);
    cr_assert_eq(zzz_use(r, "/", NULL, NULL), -EINVAL);
    cr_assert_eq(zzz_use(r, "api", layer_a, NULL), -EINVAL);
    cr_assert_eq(zzz_use(r, "/a//b", layer_a, NULL), -EINVAL);
    cr_assert_eq(zzz_use(r, "//", layer_a, NULL), -EINVAL);
    cr_assert_eq(zzz_use(r, "/a/:id", layer_a, NULL), -EINVAL);
    cr_assert_eq(zzz_use(r, "/a/*rest", layer_a, NULL), -EINVAL);
    cr_assert_eq(zzz_use(r, "/bad%zz", layer_a, NULL), -EINVAL);
    cr_assert_eq(zzz_use(r, "/x%2Fy", layer_a, NULL), -EINVAL);
    cr_assert_eq(zzz_use(r, "/x%00", layer_a, NULL), -EINVAL);
    cr_assert_eq(zzz_use(r, "/a b", layer_a, NULL), -EINVAL);
    cr_assert_eq(zzz_use(r, "/api/", layer_b, "api"), 0);
    cr_assert_eq(zzz_use(r, "/", layer_a, "all"), 0);
    cr_assert_eq(zzz_use(r, "", layer_a, "all too"), 0);
    cr_assert_eq(zzz_use(r, "/api/v1", layer_b, "v1"), 0);
    cr_assert_eq(zzz_use(r, "/api", layer_a, "api again"), 0);
    /* Decoded as the router decodes a pattern: it compares with paths. */
    cr_assert_eq(zzz_use(r, "/caf%C3%A9/", layer_a, "cafe"), 0);
    /* Kept outermost first: "" and "/" (in the order added), then "/api"
     * (its trailing '/' dropped) twice in order, then "/api/v1". */
    unsigned n;
    const router_layer *l = zzz_http_router_layers(r, &n);
    cr_assert_eq(n, 6);
    const char *users[] = {"all", "all too", "api", "api again", "cafe", "v1"};
    const char *prefixes[] = {"", "", "/api", "/api", "/caf\xc3\xa9", "/api/v1"};
    for (unsigned i = 0; i < n; i++) {
        cr_assert_str_eq(l[i].user, users[i]);
        cr_assert_str_eq(l[i].prefix, prefixes[i]);
        cr_assert_eq(l[i].prefix_len, strlen(prefixes[i]));
    }
    zzz_router_destroy(r);
}

Test(router, route_use_finds_the_route)
{
    zzz_router *r = router_new();
    add(r, "GET", "/users/:id", h_a);
    add(r, "GET", "/files/*path", h_b);
    add(r, "GET", "/caf%C3%A9", h_c);
    cr_assert_eq(zzz_route_use(r, "GET", "/users/:id", layer_a, "1"), 0);
    cr_assert_eq(zzz_route_use(r, "GET", "/users/:id", layer_b, "2"), 0);
    cr_assert_eq(zzz_route_use(r, "GET", "/files/*path", layer_a, NULL), 0);
    /* The same segment decoded the same way. */
    cr_assert_eq(zzz_route_use(r, "GET", "/caf%c3%a9", layer_a, NULL), 0);
    cr_assert_eq(zzz_route_use(r, "POST", "/users/:id", layer_a, NULL), -ENOENT);
    cr_assert_eq(zzz_route_use(r, "GET", "/users/:name", layer_a, NULL), -ENOENT);
    cr_assert_eq(zzz_route_use(r, "GET", "/users", layer_a, NULL), -ENOENT);
    cr_assert_eq(zzz_route_use(r, "GET", "/users/:id/x", layer_a, NULL), -ENOENT);
    cr_assert_eq(zzz_route_use(r, "GET", "/files/*rest", layer_a, NULL), -ENOENT);
    cr_assert_eq(zzz_route_use(r, "GET", "users/:id", layer_a, NULL), -EINVAL);
    cr_assert_eq(zzz_route_use(r, "GET", "/bad%zz", layer_a, NULL), -EINVAL);
    cr_assert_eq(zzz_route_use(r, "GET", "/users/:id", NULL, NULL), -EINVAL);
    cr_assert_eq(zzz_route_use(NULL, "GET", "/users/:id", layer_a, NULL), -EINVAL);
    /* The match carries the route's layers, in the order added. */
    router_match m;
    cr_assert_eq(match(r, "GET", "/users/7", &m), 200);
    cr_assert_eq(m.layer_count, 2);
    cr_assert_str_eq(m.layers[0].user, "1");
    cr_assert_str_eq(m.layers[1].user, "2");
    cr_assert_eq(match(r, "HEAD", "/users/7", &m), 200); /* HEAD takes GET's */
    cr_assert_eq(m.layer_count, 2);
    cr_assert_eq(match(r, "GET", "/nope", &m), 404);
    cr_assert_eq(m.layer_count, 0);
    zzz_router_destroy(r);
}
