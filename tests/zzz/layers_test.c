/* Integration tests of the built-in layers: request ID, access log,
 * security headers, CORS, rate limit and basic auth, each switched on by
 * a flag of the layer server (layerserver.c), which runs as a child
 * process on 127.0.0.1 and is driven by raw sockets, exact bytes out,
 * answers parsed back. Meson runs this once per I/O driver; built with
 * ZZZ_TEST_TLS (the layers-tls suite) it runs only what TLS changes
 * (HSTS), its client speaking TLS. */
#include "harness.h"

#include <regex.h>

TestSuite(layers, .fini = harness_cleanup, .timeout = 60);

static void start_layers(server *s, const char *const *extra)
{
    const char *args[40];
    size_t n = 0;
#ifdef ZZZ_TEST_TLS
    args[n++] = "--tls-cert";
    args[n++] = harness_tls_file("ec-chain.pem");
    args[n++] = "--tls-key";
    args[n++] = harness_tls_file("ec-key.pem");
#endif
    for (size_t i = 0; extra && extra[i] && n < 39; i++)
        args[n++] = extra[i];
    args[n] = NULL;
    server_start(s, binary_path("ZZZ_LAYERSERVER"), args);
}

#define START(s, ...) start_layers((s), (const char *const[]){__VA_ARGS__, NULL})

/* method path, the fields given (each "Name: value\r\n", or ""), on a
 * fresh connection. */
static void ask(uint16_t port, const char *method, const char *path, const char *fields,
                response *r)
{
    char request[8192];
    int n = snprintf(request, sizeof request, "%s %s HTTP/1.1\r\nHost: t\r\n%s\r\n", method, path,
                     fields);
    cr_assert(n > 0 && (size_t)n < sizeof request);
    client c;
    client_open(&c, port);
    client_send_str(&c, request);
    if (strcmp(method, "HEAD") == 0)
        client_response_head(&c, r);
    else
        client_response(&c, r);
    client_close(&c);
}

static void expect_header(const response *r, const char *name, const char *value)
{
    const char *got = resp_header(r, name);
    cr_assert(got, "no %s in:\n%s", name, r->head);
    cr_assert_str_eq(got, value, "%s", name);
    cr_assert_eq(resp_header_count(r, name), 1, "%s more than once:\n%s", name, r->head);
}

static void expect_no_header(const response *r, const char *name)
{
    cr_assert_null(resp_header(r, name), "%s in:\n%s", name, r->head);
}

#ifndef ZZZ_TEST_TLS

static bool matches(const char *text, const char *pattern)
{
    regex_t re;
    cr_assert_eq(regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB), 0, "bad pattern %s", pattern);
    bool ok = regexec(&re, text, 0, NULL, 0) == 0;
    regfree(&re);
    return ok;
}

/* ---- request ID ------------------------------------------------------------- */

#define MADE_ID "^[0-9a-f]{16}-[0-9a-f]{8,16}$"

Test(layers, request_id_made_and_handed_on)
{
    server s;
    START(&s, "--request-id", "1");
    response a, b;
    ask(s.port, "GET", "/id", "", &a);
    ask(s.port, "GET", "/id", "", &b);
    expect_status(&a, 200);
    const char *id = resp_header(&a, "X-Request-Id");
    cr_assert(id && matches(id, MADE_ID), "made id: %s", id ? id : "(none)");
    /* The handler reads the same ID. */
    expect_body(&a, id);
    char first[1024];
    snprintf(first, sizeof first, "%s", id);
    id = resp_header(&b, "X-Request-Id");
    cr_assert(id && matches(id, MADE_ID));
    cr_assert_str_neq(first, id, "two requests, one ID");
    cr_assert_eq(memcmp(first, id, 17), 0, "one thread, one prefix");
    response_free(&a);
    response_free(&b);
    server_stop(&s);
}

Test(layers, request_id_from_the_client_when_sane)
{
    server s;
    START(&s, "--request-id", "1");
    response r;
    ask(s.port, "GET", "/id", "X-Request-Id: abc-123_.:+/=@~XYZ\r\n", &r);
    expect_header(&r, "X-Request-Id", "abc-123_.:+/=@~XYZ");
    expect_body(&r, "abc-123_.:+/=@~XYZ");
    response_free(&r);
    /* At the limit (200) taken; one past it, replaced. */
    char fields[512], id[256];
    memset(id, 'i', 200);
    id[200] = '\0';
    snprintf(fields, sizeof fields, "X-Request-Id: %s\r\n", id);
    ask(s.port, "GET", "/id", fields, &r);
    expect_header(&r, "X-Request-Id", id);
    response_free(&r);
    id[200] = 'i';
    id[201] = '\0';
    snprintf(fields, sizeof fields, "X-Request-Id: %s\r\n", id);
    ask(s.port, "GET", "/id", fields, &r);
    cr_assert(matches(resp_header(&r, "X-Request-Id"), MADE_ID));
    response_free(&r);
    /* What could smuggle something into a log or a field is never echoed. */
    const char *bad[] = {"X-Request-Id: a b\r\n",  "X-Request-Id: a\"b\r\n",
                         "X-Request-Id: a,b\r\n",  "X-Request-Id: caf\xc3\xa9\r\n",
                         "X-Request-Id: a\tb\r\n", "X-Request-Id:\r\n"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ask(s.port, "GET", "/id", bad[i], &r);
        const char *got = resp_header(&r, "X-Request-Id");
        cr_assert(got && matches(got, MADE_ID), "%s gave %s", bad[i], got ? got : "(none)");
        expect_body(&r, got);
        response_free(&r);
    }
    server_stop(&s);
}

Test(layers, request_id_on_every_answer_once)
{
    server s;
    START(&s, "--request-id", "1", "--rid-max", "8");
    response r;
    /* zzz's own answers carry it too. */
    const char *paths[] = {"/nowhere", "/noanswer", "/upload"};
    int statuses[] = {404, 500, 405};
    for (int i = 0; i < 3; i++) {
        ask(s.port, "GET", paths[i], "X-Request-Id: req-1\r\n", &r);
        expect_status(&r, statuses[i]);
        expect_header(&r, "X-Request-Id", "req-1");
        response_free(&r);
    }
    /* The configured limit: 8 taken, 9 not. */
    ask(s.port, "GET", "/id", "X-Request-Id: 12345678\r\n", &r);
    expect_header(&r, "X-Request-Id", "12345678");
    response_free(&r);
    ask(s.port, "GET", "/id", "X-Request-Id: 123456789\r\n", &r);
    cr_assert(matches(resp_header(&r, "X-Request-Id"), MADE_ID));
    response_free(&r);
    /* A handler's own field is left alone, not doubled. */
    ask(s.port, "GET", "/own", "", &r);
    expect_header(&r, "X-Request-Id", "chosen-by-handler");
    response_free(&r);
    server_stop(&s);
}

Test(layers, request_id_header_name_and_ignoring_clients)
{
    server s;
    START(&s, "--request-id", "1", "--rid-header", "X-Trace", "--rid-ignore-client", "1");
    response r;
    ask(s.port, "GET", "/id", "X-Trace: mine\r\nX-Request-Id: other\r\n", &r);
    const char *id = resp_header(&r, "X-Trace");
    cr_assert(id && matches(id, MADE_ID), "X-Trace: %s", id ? id : "(none)");
    expect_body(&r, id);
    expect_no_header(&r, "X-Request-Id");
    response_free(&r);
    server_stop(&s);
}

/* ---- basic auth ---------------------------------------------------------------- */

static void expect_401(const response *r)
{
    expect_status(r, 401);
    expect_header(r, "WWW-Authenticate", "Basic realm=\"Test Realm\", charset=\"UTF-8\"");
    expect_body(r, "Unauthorized\n");
}

Test(layers, basic_auth_lets_the_right_user_in)
{
    server s;
    START(&s, "--auth", "1", "--request-id", "1");
    response r;
    /* alice:open:sesame (the password holds colons: the first one splits). */
    ask(s.port, "GET", "/private/user", "Authorization: Basic YWxpY2U6b3BlbjpzZXNhbWU=\r\n", &r);
    expect_status(&r, 200);
    expect_body(&r, "alice");
    response_free(&r);
    ask(s.port, "GET", "/private/user", "Authorization: basic   YWxpY2U6b3BlbjpzZXNhbWU=\r\n", &r);
    expect_status(&r, 200);
    response_free(&r);
    /* Whatever check accepts, an empty password included. */
    ask(s.port, "GET", "/private/user", "Authorization: Basic YW55OnBhc3M=\r\n", &r);
    expect_status(&r, 200);
    expect_body(&r, "any");
    response_free(&r);
    ask(s.port, "GET", "/private/user", "Authorization: Basic YW55Og==\r\n", &r);
    expect_status(&r, 200);
    response_free(&r);
    /* Outside the prefix, nothing is asked. */
    ask(s.port, "GET", "/", "", &r);
    expect_status(&r, 200);
    expect_no_header(&r, "WWW-Authenticate");
    response_free(&r);
    server_stop(&s);
}

Test(layers, basic_auth_refusals)
{
    server s;
    START(&s, "--auth", "1", "--request-id", "1");
    const char *cases[] = {
        "",                                                   /* none */
        "Authorization: Basic YWxpY2U6b3BlbjpzZXNhbWU\r\n",   /* no padding */
        "Authorization: Basic YWxpY2U6b3BlbjpzZXNhbWV=\r\n",  /* bits under the padding */
        "Authorization: Basic YWxpY2U6b3Blbg==\r\n",          /* alice:open */
        "Authorization: Basic YWxpY2VvcGVuOnNlc2FtZQ==\r\n",  /* aliceopen:sesame */
        "Authorization: Basic YWxpY2VvcGVuc2VzYW1l\r\n",      /* no colon */
        "Authorization: Basic YW55OnBhc3MB\r\n",              /* any:pass\x01 */
        "Authorization: Basic YW5/eTpwYXNz\r\n",              /* an\x7fy:pass */
        "Authorization: Basic YW55OnBhCXNz\r\n",              /* any:pa\tss */
        "Authorization: Bearer YWxpY2U6b3BlbjpzZXNhbWU=\r\n", /* another scheme */
        "Authorization: Basic\r\n",
        "Authorization: BasicYWxpY2U6b3BlbjpzZXNhbWU=\r\n",
        "Authorization: Basic YWxp Y2U6b3BlbjpzZXNhbWU=\r\n",
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        response r;
        ask(s.port, "GET", "/private/user", cases[i], &r);
        expect_401(&r);
        /* The answer passed the layers outside. */
        cr_assert(resp_header(&r, "X-Request-Id"), "case %zu", i);
        response_free(&r);
    }
    server_stop(&s);
}

/* The longest Authorization value read (4096 by default): "Basic", spaces,
 * then the base64 of alice:open:sesame, padded out with spaces to len. */
Test(layers, basic_auth_value_at_and_past_its_limit)
{
    server s;
    START(&s, "--auth", "1");
    const char *b64 = "YWxpY2U6b3BlbjpzZXNhbWU=";
    for (size_t len = 4095; len <= 4097; len++) {
        char fields[4200] = "Authorization: Basic";
        size_t at = strlen(fields), spaces = len - 5 - strlen(b64);
        memset(fields + at, ' ', spaces);
        strcpy(fields + at + spaces, b64);
        strcat(fields, "\r\n");
        response r;
        ask(s.port, "GET", "/private/user", fields, &r);
        if (len <= 4096) {
            expect_status(&r, 200);
            expect_body(&r, "alice");
        } else {
            expect_401(&r);
        }
        response_free(&r);
    }
    server_stop(&s);
}

/* ---- CORS ------------------------------------------------------------------------- */

#define APP "Origin: https://app.example\r\n"

Test(layers, cors_listed_origins)
{
    server s;
    START(&s, "--cors", "list");
    response r;
    /* Not a CORS request: untouched but for Vary (the answer would differ
     * with an Origin, so caches must know). */
    ask(s.port, "GET", "/", "", &r);
    expect_status(&r, 200);
    expect_no_header(&r, "Access-Control-Allow-Origin");
    expect_header(&r, "Vary", "Origin");
    response_free(&r);
    /* An allowed origin gets its fields, on zzz's own answers too. */
    const char *paths[] = {"/", "/nowhere", "/noanswer"};
    for (int i = 0; i < 3; i++) {
        ask(s.port, "GET", paths[i], APP, &r);
        expect_header(&r, "Access-Control-Allow-Origin", "https://app.example");
        expect_header(&r, "Access-Control-Expose-Headers", "X-Total, X-Page");
        expect_header(&r, "Vary", "Origin");
        expect_no_header(&r, "Access-Control-Allow-Credentials");
        expect_no_header(&r, "Access-Control-Allow-Methods");
        response_free(&r);
    }
    /* Another origin: nothing allowed, and still Vary. */
    const char *others[] = {"Origin: https://evil.example\r\n",
                            "Origin: https://app.example.evil\r\n",
                            "Origin: https://APP.example\r\n", "Origin: null\r\n"};
    for (int i = 0; i < 4; i++) {
        ask(s.port, "GET", "/", others[i], &r);
        expect_status(&r, 200);
        expect_no_header(&r, "Access-Control-Allow-Origin");
        expect_header(&r, "Vary", "Origin");
        response_free(&r);
    }
    /* The handler's own Access-Control-Allow-Origin stays alone. */
    ask(s.port, "GET", "/own", APP, &r);
    expect_header(&r, "Access-Control-Allow-Origin", "https://own.example");
    response_free(&r);
    server_stop(&s);
}

Test(layers, cors_preflight_answered_here)
{
    server s;
    START(&s, "--cors", "list");
    response r;
    /* No OPTIONS route: the chain would give 405; the layer answers. */
    ask(s.port, "OPTIONS", "/api/items",
        APP "Access-Control-Request-Method: PUT\r\n"
            "Access-Control-Request-Headers: x-token,content-type\r\n",
        &r);
    expect_status(&r, 204);
    expect_header(&r, "Access-Control-Allow-Origin", "https://app.example");
    expect_header(&r, "Access-Control-Allow-Methods", "GET, PUT, DELETE");
    expect_header(&r, "Access-Control-Allow-Headers", "X-Token, Content-Type");
    expect_header(&r, "Access-Control-Max-Age", "300");
    expect_header(&r, "Vary", "Origin");
    expect_no_header(&r, "Access-Control-Allow-Credentials");
    expect_no_header(&r, "Allow");
    cr_assert_eq(r.body_len, 0);
    response_free(&r);
    /* A safelisted method passes whatever the list; no fields asked, none
     * answered. */
    ask(s.port, "OPTIONS", "/api/items", APP "Access-Control-Request-Method: POST\r\n", &r);
    expect_status(&r, 204);
    expect_no_header(&r, "Access-Control-Allow-Headers");
    response_free(&r);
    /* Refusals: a method, a field or an origin not allowed. */
    const char *refused[] = {
        APP "Access-Control-Request-Method: PATCH\r\n",
        APP "Access-Control-Request-Method: put\r\n",
        APP "Access-Control-Request-Method: PUT\r\nAccess-Control-Request-Headers: x-token, "
            "x-other\r\n",
        "Origin: https://evil.example\r\nAccess-Control-Request-Method: GET\r\n",
    };
    for (int i = 0; i < 4; i++) {
        ask(s.port, "OPTIONS", "/api/items", refused[i], &r);
        expect_status(&r, 403);
        expect_no_header(&r, "Access-Control-Allow-Origin");
        expect_no_header(&r, "Access-Control-Allow-Methods");
        expect_header(&r, "Vary", "Origin");
        response_free(&r);
    }
    /* OPTIONS without Access-Control-Request-Method is no preflight: it
     * goes on (405 here), with the origin's fields. */
    ask(s.port, "OPTIONS", "/api/items", APP, &r);
    expect_status(&r, 405);
    expect_header(&r, "Access-Control-Allow-Origin", "https://app.example");
    response_free(&r);
    server_stop(&s);
}

Test(layers, cors_any_origin)
{
    server s;
    START(&s, "--cors", "any");
    response r;
    ask(s.port, "GET", "/", "Origin: https://whoever.example\r\n", &r);
    expect_header(&r, "Access-Control-Allow-Origin", "*");
    expect_no_header(&r, "Vary");
    expect_no_header(&r, "Access-Control-Expose-Headers");
    response_free(&r);
    ask(s.port, "GET", "/", "", &r);
    expect_no_header(&r, "Access-Control-Allow-Origin");
    expect_no_header(&r, "Vary");
    response_free(&r);
    /* Defaults: GET, HEAD, POST; no fields; ten minutes. */
    ask(s.port, "OPTIONS", "/",
        "Origin: https://whoever.example\r\n"
        "Access-Control-Request-Method: GET\r\n",
        &r);
    expect_status(&r, 204);
    expect_header(&r, "Access-Control-Allow-Origin", "*");
    expect_header(&r, "Access-Control-Allow-Methods", "GET, HEAD, POST");
    expect_header(&r, "Access-Control-Max-Age", "600");
    response_free(&r);
    ask(s.port, "OPTIONS", "/",
        "Origin: https://whoever.example\r\n"
        "Access-Control-Request-Method: GET\r\n"
        "Access-Control-Request-Headers: x-token\r\n",
        &r);
    expect_status(&r, 403);
    response_free(&r);
    server_stop(&s);
}

/* With credentials, "*" is never the answer: the origin, one of the
 * list, is named. */
Test(layers, cors_credentials_name_the_origin)
{
    server s;
    START(&s, "--cors", "list-cred-noage");
    response r;
    ask(s.port, "GET", "/", "Origin: http://localhost:8080\r\n", &r);
    expect_header(&r, "Access-Control-Allow-Origin", "http://localhost:8080");
    expect_header(&r, "Access-Control-Allow-Credentials", "true");
    expect_header(&r, "Vary", "Origin");
    response_free(&r);
    ask(s.port, "OPTIONS", "/",
        "Origin: http://localhost:8080\r\n"
        "Access-Control-Request-Method: GET\r\n",
        &r);
    expect_status(&r, 204);
    expect_header(&r, "Access-Control-Allow-Origin", "http://localhost:8080");
    expect_header(&r, "Access-Control-Allow-Credentials", "true");
    expect_no_header(&r, "Access-Control-Max-Age"); /* max_age < 0 */
    response_free(&r);
    /* Another origin gets none of it. */
    ask(s.port, "GET", "/", "Origin: https://whoever.example\r\n", &r);
    expect_no_header(&r, "Access-Control-Allow-Origin");
    expect_no_header(&r, "Access-Control-Allow-Credentials");
    response_free(&r);
    server_stop(&s);

    START(&s, "--cors", "list-cred");
    ask(s.port, "GET", "/", "Origin: http://localhost:8080\r\n", &r);
    expect_header(&r, "Access-Control-Allow-Origin", "http://localhost:8080");
    expect_header(&r, "Access-Control-Allow-Credentials", "true");
    response_free(&r);
    server_stop(&s);
}

/* Any method or field: the ones asked for are echoed, and Vary says so. */
Test(layers, cors_any_method_and_field)
{
    server s;
    START(&s, "--cors", "wild");
    response r;
    ask(s.port, "OPTIONS", "/x",
        APP "Access-Control-Request-Method: PATCH\r\n"
            "Access-Control-Request-Headers: authorization,x-anything\r\n",
        &r);
    expect_status(&r, 204);
    expect_header(&r, "Access-Control-Allow-Methods", "PATCH");
    expect_header(&r, "Access-Control-Allow-Headers", "authorization,x-anything");
    cr_assert_eq(resp_header_count(&r, "Vary"), 3, "Vary:\n%s", r.head);
    cr_assert(strstr(r.head, "Vary: Access-Control-Request-Method\r\n"));
    cr_assert(strstr(r.head, "Vary: Access-Control-Request-Headers\r\n"));
    response_free(&r);
    ask(s.port, "OPTIONS", "/x", APP "Access-Control-Request-Method: P<T\r\n", &r);
    expect_status(&r, 403);
    response_free(&r);
    server_stop(&s);
}

/* CORS outside basic auth: a preflight carries no credentials, and is
 * answered before they are asked for. */
Test(layers, cors_preflight_before_basic_auth)
{
    server s;
    START(&s, "--cors", "list", "--auth", "1");
    response r;
    ask(s.port, "OPTIONS", "/private/user", APP "Access-Control-Request-Method: GET\r\n", &r);
    expect_status(&r, 204);
    response_free(&r);
    ask(s.port, "GET", "/private/user", APP, &r);
    expect_status(&r, 401);
    expect_header(&r, "Access-Control-Allow-Origin", "https://app.example");
    response_free(&r);
    server_stop(&s);
}

/* ---- rate limit ------------------------------------------------------------------ */

/* One request on the connection c; returns the status and, for a 429,
 * Retry-After in *retry. */
static int limited(client *c, const char *method, const char *path, const char *fields, long *retry)
{
    char request[512];
    snprintf(request, sizeof request, "%s %s HTTP/1.1\r\nHost: t\r\n%s\r\n", method, path, fields);
    client_send_str(c, request);
    response r;
    client_response(c, &r);
    int status = r.status;
    if (status == 429) {
        const char *ra = resp_header(&r, "Retry-After");
        cr_assert(ra, "429 without Retry-After:\n%s", r.head);
        *retry = strtol(ra, NULL, 10);
        expect_body(&r, "Too Many Requests\n");
    }
    response_free(&r);
    return status;
}

/* One every 100 s, bursts of 3: the burst passes, the next waits 100 s
 * (99 when the burst took over a second). */
Test(layers, rate_limit_at_and_past_the_burst)
{
    server s;
    START(&s, "--rate", "0.01", "--burst", "3");
    client c;
    client_open(&c, s.port);
    long retry = 0;
    for (int i = 0; i < 3; i++)
        cr_assert_eq(limited(&c, "GET", "/limited/x", "", &retry), 200, "request %d", i);
    for (int i = 0; i < 2; i++) {
        retry = 0;
        cr_assert_eq(limited(&c, "GET", "/limited/x", "", &retry), 429);
        cr_assert(retry == 100 || retry == 99, "Retry-After: %ld", retry);
    }
    /* Outside the prefix, no limit. */
    cr_assert_eq(limited(&c, "GET", "/", "", &retry), 200);
    client_close(&c);
    /* The same client on a new connection is the same bucket. */
    client_open(&c, s.port);
    cr_assert_eq(limited(&c, "GET", "/limited/x", "", &retry), 429);
    client_close(&c);
    server_stop(&s);
}

/* A key of the caller's own: each key its bucket; no key, no limit. */
Test(layers, rate_limit_by_key)
{
    server s;
    START(&s, "--rate", "0.01", "--burst", "2", "--rate-key", "1");
    client c;
    client_open(&c, s.port);
    long retry;
    for (int i = 0; i < 2; i++)
        cr_assert_eq(limited(&c, "GET", "/limited/x", "X-Api-Key: a\r\n", &retry), 200);
    cr_assert_eq(limited(&c, "GET", "/limited/x", "X-Api-Key: a\r\n", &retry), 429);
    cr_assert_eq(limited(&c, "GET", "/limited/x", "X-Api-Key: b\r\n", &retry), 200);
    for (int i = 0; i < 5; i++)
        cr_assert_eq(limited(&c, "GET", "/limited/x", "", &retry), 200);
    client_close(&c);
    server_stop(&s);
}

/* The layer's second form on one route (zzz_route_use). */
Test(layers, rate_limit_on_one_route)
{
    server s;
    START(&s, "--rate", "0.01", "--burst", "1", "--rate-route", "1");
    client c;
    client_open(&c, s.port);
    long retry;
    cr_assert_eq(limited(&c, "POST", "/login", "Content-Length: 0\r\n", &retry), 200);
    cr_assert_eq(limited(&c, "POST", "/login", "Content-Length: 0\r\n", &retry), 429);
    for (int i = 0; i < 3; i++)
        cr_assert_eq(limited(&c, "GET", "/limited/x", "", &retry), 200);
    client_close(&c);
    server_stop(&s);
}

/* Two threads, one bucket per client: of 40 connections, spread over
 * both threads by the kernel (each says which served it), exactly the
 * burst passes. */
Test(layers, rate_limit_shared_by_threads)
{
    server s;
    START(&s, "--threads", "2", "--rate", "0.01", "--burst", "5");
    cr_assert_eq(s.threads, 2);
    enum { N = 40 };
    client c[N];
    bool seen[2] = {false, false};
    for (int i = 0; i < N; i++) {
        client_open(&c[i], s.port);
        client_send_str(&c[i], "GET / HTTP/1.1\r\nHost: t\r\n\r\n");
        response r;
        client_response(&c[i], &r);
        const char *thread = resp_header(&r, "X-Thread");
        cr_assert(thread && (thread[0] == '0' || thread[0] == '1'));
        seen[thread[0] - '0'] = true;
        response_free(&r);
    }
    cr_assert(seen[0] && seen[1], "40 connections, one thread");
    for (int i = 0; i < N; i++)
        client_send_str(&c[i], "GET /limited/x HTTP/1.1\r\nHost: t\r\n\r\n");
    int passed = 0, refused = 0;
    for (int i = 0; i < N; i++) {
        response r;
        client_response(&c[i], &r);
        passed += r.status == 200;
        refused += r.status == 429;
        response_free(&r);
        client_close(&c[i]);
    }
    cr_assert_eq(passed, 5);
    cr_assert_eq(refused, N - 5);
    server_stop(&s);
}

/* ---- access log ------------------------------------------------------------------- */

/* A fresh log path in a temporary directory (removed by the suite's
 * fini). */
static char log_dir[256];

static void log_cleanup(void)
{
    harness_cleanup();
    if (log_dir[0])
        harness_remove_tree(log_dir);
    log_dir[0] = '\0';
    harness_free_owned();
}

static const char *log_path(void)
{
    static char path[300];
    harness_temp_dir(log_dir, sizeof log_dir, "layers");
    snprintf(path, sizeof path, "%s/access.log", log_dir);
    return path;
}

/* The log's contents (malloc'ed, owned by the harness; "" when absent). */
static char *log_read(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *text = harness_own(calloc(1, 1 << 20));
    cr_assert(text);
    if (f) {
        size_t n = fread(text, 1, (1 << 20) - 1, f);
        text[n] = '\0';
        fclose(f);
    }
    return text;
}

static size_t log_lines(const char *path)
{
    char *text = log_read(path);
    size_t len = strlen(text);
    cr_assert(len == 0 || text[len - 1] == '\n', "a cut line at the end:\n%s", text);
    return count_substr(text, "\n");
}

/* The n-th line of text (0-based), NUL-terminated, owned by the harness. */
static char *log_line(const char *text, size_t n)
{
    for (size_t i = 0; i < n && text; i++) {
        text = strchr(text, '\n');
        text = text ? text + 1 : NULL;
    }
    cr_assert(text && *text, "no line %zu", n);
    size_t len = strcspn(text, "\n");
    char *line = harness_own(strndup(text, len));
    return line;
}

/* Checks a line: its text before the date, and after it up to the
 * duration; the duration's form; what follows it. */
static void expect_line(const char *line, const char *before_date, const char *after_date,
                        const char *after_duration)
{
    size_t n = strlen(before_date);
    cr_assert(strncmp(line, before_date, n) == 0, "line: %s\nwanted: %s...", line, before_date);
    const char *date = line + n;
    cr_assert(matches(date, "^\\[[0-3][0-9]/[A-Z][a-z]{2}/[0-9]{4}:[0-9]{2}:[0-9]{2}:[0-9]{2} "
                            "\\+0000\\] "),
              "date in: %s", line);
    const char *rest = strstr(date, "] ") + 2;
    n = strlen(after_date);
    cr_assert(strncmp(rest, after_date, n) == 0, "line: %s\nwanted: ...%s...", line, after_date);
    rest += n;
    cr_assert(matches(rest, "^[0-9]+\\.[0-9]{6} "), "duration in: %s", line);
    rest = strchr(rest, ' ') + 1;
    cr_assert_str_eq(rest, after_duration, "line: %s", line);
}

Test(layers, access_log_line_format, .fini = log_cleanup)
{
    const char *path = log_path();
    server s;
    START(&s, "--request-id", "1", "--access-log", path, "--auth", "1");
    response r;
    ask(s.port, "GET", "/id?q=1",
        "Referer: http://ref.example/page\r\n"
        "User-Agent: agent \"quoted\" \\ caf\xc3\xa9\tend\r\n"
        "X-Request-Id: my-id-1\r\n",
        &r);
    expect_body(&r, "my-id-1");
    response_free(&r);
    ask(s.port, "GET", "/private/user", "Authorization: Basic YWxpY2U6b3BlbjpzZXNhbWU=\r\n", &r);
    expect_status(&r, 200);
    response_free(&r);
    /* Quotes and backslashes in the target, escaped. */
    ask(s.port, "GET", "/a\"b\\c", "X-Request-Id: r3\r\n", &r);
    expect_status(&r, 404);
    response_free(&r);
    server_stop(&s);
    char *text = log_read(path);
    cr_assert_eq(count_substr(text, "\n"), 3, "log:\n%s", text);
    expect_line(log_line(text, 0), "127.0.0.1 - - ",
                "\"GET /id?q=1 HTTP/1.1\" 200 7 \"http://ref.example/page\" "
                "\"agent \\\"quoted\\\" \\\\ caf\\xc3\\xa9\\x09end\" ",
                "my-id-1");
    const char *line = log_line(text, 1);
    cr_assert(strncmp(line, "127.0.0.1 - alice [", 19) == 0, "line: %s", line);
    cr_assert(strstr(line, "] \"GET /private/user HTTP/1.1\" 200 5 \"-\" \"-\" "), "line: %s",
              line);
    cr_assert(matches(line, " [0-9a-f]{16}-[0-9a-f]{8,16}$"), "made ID in: %s", line);
    expect_line(log_line(text, 2), "127.0.0.1 - - ",
                "\"GET /a\\\"b\\\\c HTTP/1.1\" 404 10 \"-\" \"-\" ", "r3");
}

/* Lines wait in the thread's buffer: none is written while the server
 * runs (a minute to wait, room for all), every one at the shutdown. */
Test(layers, access_log_batches_and_flushes_at_shutdown, .fini = log_cleanup)
{
    const char *path = log_path();
    server s;
    START(&s, "--access-log", path, "--log-flush-ms", "60000");
    client c;
    client_open(&c, s.port);
    for (int i = 0; i < 50; i++) {
        client_send_str(&c, "GET / HTTP/1.1\r\nHost: t\r\n\r\n");
        response r;
        client_response(&c, &r);
        expect_status(&r, 200);
        response_free(&r);
    }
    cr_assert_eq(log_lines(path), 0, "lines written one by one");
    client_close(&c);
    server_stop(&s);
    cr_assert_eq(log_lines(path), 50);
}

/* A full buffer is written at once: whole lines only. */
Test(layers, access_log_writes_a_full_buffer, .fini = log_cleanup)
{
    const char *path = log_path();
    server s;
    /* 4096 bytes, lines of at most 5 * 256 + 256: about 30 lines a batch. */
    START(&s, "--access-log", path, "--log-flush-ms", "60000", "--log-buffer", "4096",
          "--log-field", "256");
    client c;
    client_open(&c, s.port);
    for (int i = 0; i < 100; i++) {
        client_send_str(&c, "GET / HTTP/1.1\r\nHost: t\r\n\r\n");
        response r;
        client_response(&c, &r);
        response_free(&r);
    }
    size_t lines = log_lines(path);
    cr_assert(lines > 0 && lines < 100, "%zu lines written before the stop", lines);
    client_close(&c);
    server_stop(&s);
    cr_assert_eq(log_lines(path), 100);
}

/* An idle server writes a batch once its first line has waited
 * flush_ms (here 50 ms), without another request to prompt it. */
Test(layers, access_log_flushes_an_idle_server, .fini = log_cleanup)
{
    const char *path = log_path();
    server s;
    START(&s, "--access-log", path, "--log-flush-ms", "50");
    for (int round = 1; round <= 2; round++) {
        for (int i = 0; i < 3; i++) {
            response r;
            ask(s.port, "GET", "/", "", &r);
            response_free(&r);
        }
        uint64_t give_up = now_ms() + HANG_GUARD_MS;
        while (log_lines(path) < (size_t)(3 * round) && now_ms() < give_up)
            sleep_ms(10);
        cr_assert_eq(log_lines(path), (size_t)(3 * round), "round %d", round);
    }
    server_stop(&s);
    cr_assert_eq(log_lines(path), 6);
}

/* "STATUS BYTES" of a line. */
static void expect_outcome(const char *line, const char *request, const char *outcome)
{
    char want[256];
    snprintf(want, sizeof want, "] \"%s\" %s \"", request, outcome);
    cr_assert(strstr(line, want), "line: %s\nwanted: %s", line, want);
}

/* What the line says is what left: zzz's own answers, streamed bodies,
 * HEAD, a take-over, and the answers zzz makes after the chain when a
 * body fails. */
Test(layers, access_log_logs_what_was_sent, .fini = log_cleanup)
{
    const char *path = log_path();
    server s;
    START(&s, "--access-log", path, "--max-body", "100", "--log-flush-ms", "20");
    struct {
        const char *request;
        const char *line;
        int status;
    } cases[] = {
        {"GET /nowhere HTTP/1.1\r\nHost: t\r\n\r\n", "GET /nowhere HTTP/1.1", 404},
        {"GET /noanswer HTTP/1.1\r\nHost: t\r\n\r\n", "GET /noanswer HTTP/1.1", 500},
        {"GET /stream HTTP/1.0\r\n\r\n", "GET /stream HTTP/1.0", 200},
        {"HEAD / HTTP/1.1\r\nHost: t\r\n\r\n", "HEAD / HTTP/1.1", 200},
        /* The handler reads too much: zzz answers 413 after the chain. */
        {"POST /upload HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
         "c8\r\n"
         "0123456789012345678901234567890123456789012345678901234567890123456789"
         "0123456789012345678901234567890123456789012345678901234567890123456789"
         "012345678901234567890123456789012345678901234567890123456789\r\n0\r\n\r\n",
         "POST /upload HTTP/1.1", 413},
        /* The handler answered without reading a broken body: the answer
         * is taken back, and zzz's 400 leaves instead. */
        {"POST /ignore HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n\r\n",
         "POST /ignore HTTP/1.1", 400},
    };
    size_t n = sizeof cases / sizeof cases[0];
    uint64_t sent[8];
    for (size_t i = 0; i < n; i++) {
        client c;
        client_open(&c, s.port);
        client_send_str(&c, cases[i].request);
        response r;
        bool head = strncmp(cases[i].request, "HEAD", 4) == 0;
        if (head)
            client_response_head(&c, &r);
        else
            client_response(&c, &r);
        expect_status(&r, cases[i].status);
        sent[i] = head ? 0 : r.body_len;
        response_free(&r);
        client_close(&c);
    }
    /* A connection taken over (101): its line once the handler is done. */
    client c;
    client_open(&c, s.port);
    client_send_str(&c, "GET /upgrade HTTP/1.1\r\nHost: t\r\nConnection: upgrade\r\n"
                        "Upgrade: test\r\n\r\n");
    size_t extra = 0;
    cr_assert(client_wait_closed(&c, HANG_GUARD_MS, &extra));
    cr_assert(strstr(c.buf, "HTTP/1.1 101 ") && strstr(c.buf, "\r\n\r\nbye"), "%s", c.buf);
    client_close(&c);
    /* A client that leaves mid-body: no answer, 499 as nginx logs it. */
    client_open(&c, s.port);
    client_send_str(&c, "POST /upload HTTP/1.1\r\nHost: t\r\nContent-Length: 50\r\n\r\n0123");
    client_close(&c);
    uint64_t give_up = now_ms() + HANG_GUARD_MS;
    while (log_lines(path) < n + 2 && now_ms() < give_up)
        sleep_ms(10);
    server_stop(&s);
    char *text = log_read(path);
    cr_assert_eq(count_substr(text, "\n"), n + 2, "log:\n%s", text);
    expect_outcome(log_line(text, n + 1), "POST /upload HTTP/1.1", "499 0");
    for (size_t i = 0; i < n; i++) {
        char outcome[64];
        snprintf(outcome, sizeof outcome, "%d %llu", cases[i].status, (unsigned long long)sent[i]);
        expect_outcome(log_line(text, i), cases[i].line, outcome);
    }
    cr_assert_eq(sent[2], 1000);
    expect_outcome(log_line(text, n), "GET /upgrade HTTP/1.1", "101 0");
}

/* Fields cut to --log-field bytes, escaped, ending in "...". */
Test(layers, access_log_cuts_long_fields, .fini = log_cleanup)
{
    const char *path = log_path();
    server s;
    START(&s, "--access-log", path, "--log-field", "32");
    char agent[200];
    memset(agent, 'a', 100);
    strcpy(agent + 100, "\r\n");
    char fields[256];
    snprintf(fields, sizeof fields, "User-Agent: %s", agent);
    response r;
    ask(s.port, "GET", "/0123456789012345678901234567890123456789", fields, &r);
    response_free(&r);
    server_stop(&s);
    char *line = log_line(log_read(path), 0);
    cr_assert(strstr(line, "\"GET /012345678901234567890123...\" 404 10 \"-\" "
                           "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaa...\" "),
              "line: %s", line);
}

/* A descriptor of the caller's (here a file the server opened itself). */
Test(layers, access_log_to_a_descriptor, .fini = log_cleanup)
{
    const char *path = log_path();
    server s;
    START(&s, "--log-fd-path", path);
    for (int i = 0; i < 2; i++) {
        response r;
        ask(s.port, "GET", "/", "", &r);
        response_free(&r);
    }
    server_stop(&s);
    char *text = log_read(path);
    cr_assert_eq(count_substr(text, "\n"), 2, "log:\n%s", text);
    expect_line(log_line(text, 1), "127.0.0.1 - - ", "\"GET / HTTP/1.1\" 200 6 \"-\" \"-\" ", "-");
}

/* Two threads, each with its buffer, appending to one file: every line
 * whole, every request once. */
Test(layers, access_log_threads_never_mix_lines, .fini = log_cleanup)
{
    const char *path = log_path();
    server s;
    START(&s, "--threads", "2", "--access-log", path, "--log-buffer", "4096", "--log-field", "256");
    enum { CONNS = 20, EACH = 20 };
    client c[CONNS];
    for (int i = 0; i < CONNS; i++)
        client_open(&c[i], s.port);
    for (int k = 0; k < EACH; k++) {
        for (int i = 0; i < CONNS; i++) {
            char request[128];
            snprintf(request, sizeof request, "GET /?n=%d HTTP/1.1\r\nHost: t\r\n\r\n",
                     k * CONNS + i);
            client_send_str(&c[i], request);
        }
        for (int i = 0; i < CONNS; i++) {
            response r;
            client_response(&c[i], &r);
            response_free(&r);
        }
    }
    for (int i = 0; i < CONNS; i++)
        client_close(&c[i]);
    server_stop(&s);
    char *text = log_read(path);
    cr_assert_eq(count_substr(text, "\n"), CONNS * EACH);
    static bool seen[CONNS * EACH];
    memset(seen, 0, sizeof seen);
    for (const char *p = text; *p; p = strchr(p, '\n') + 1) {
        char *line = strndup(p, strcspn(p, "\n"));
        cr_assert(matches(line, "^127\\.0\\.0\\.1 - - \\[[^]]+\\] \"GET /\\?n=[0-9]+ HTTP/1\\.1\" "
                                "200 6 \"-\" \"-\" [0-9]+\\.[0-9]{6} -$"),
                  "line: %s", line);
        int n = atoi(strstr(line, "?n=") + 3);
        cr_assert(n >= 0 && n < CONNS * EACH && !seen[n], "line: %s", line);
        seen[n] = true;
        free(line);
    }
}

#endif /* !ZZZ_TEST_TLS */

/* ---- security headers ---------------------------------------------------------- */

Test(layers, security_headers_defaults)
{
    server s;
    START(&s, "--security", "default");
    response r;
    const char *paths[] = {"/", "/nowhere", "/noanswer"};
    for (int i = 0; i < 3; i++) {
        ask(s.port, "GET", paths[i], "", &r);
        expect_header(&r, "X-Content-Type-Options", "nosniff");
        expect_header(&r, "X-Frame-Options", "DENY");
        expect_header(&r, "Referrer-Policy", "strict-origin-when-cross-origin");
        expect_no_header(&r, "Content-Security-Policy");
#ifdef ZZZ_TEST_TLS
        /* Over TLS, and only there (RFC 6797 section 7.2). */
        expect_header(&r, "Strict-Transport-Security", "max-age=31536000");
#else
        expect_no_header(&r, "Strict-Transport-Security");
#endif
        response_free(&r);
    }
    /* What the handler set stays, once. */
    ask(s.port, "GET", "/own", "", &r);
    expect_header(&r, "X-Frame-Options", "SAMEORIGIN");
    expect_header(&r, "Referrer-Policy", "no-referrer");
    expect_header(&r, "X-Content-Type-Options", "nosniff");
    response_free(&r);
    server_stop(&s);
}

Test(layers, security_headers_configured)
{
    server s;
    START(&s, "--security", "custom");
    response r;
    ask(s.port, "GET", "/", "", &r);
#ifdef ZZZ_TEST_TLS
    expect_header(&r, "Strict-Transport-Security", "max-age=63072000; includeSubDomains; preload");
#else
    expect_no_header(&r, "Strict-Transport-Security");
#endif
    expect_header(&r, "X-Frame-Options", "SAMEORIGIN");
    expect_header(&r, "Referrer-Policy", "no-referrer, strict-origin");
    expect_header(&r, "Content-Security-Policy", "default-src 'self'");
    response_free(&r);
    server_stop(&s);

    START(&s, "--security", "none-hsts");
    ask(s.port, "GET", "/", "", &r);
    expect_status(&r, 200);
    const char *none[] = {"Strict-Transport-Security", "X-Content-Type-Options", "X-Frame-Options",
                          "Referrer-Policy", "Content-Security-Policy"};
    for (int i = 0; i < 5; i++)
        expect_no_header(&r, none[i]);
    response_free(&r);
    server_stop(&s);
}

/* Behind a proxy that does the TLS, HSTS goes over plain TCP too. */
Test(layers, hsts_without_tls_when_asked)
{
    server s;
    START(&s, "--security", "default", "--hsts-without-tls", "1");
    response r;
    ask(s.port, "GET", "/", "", &r);
    expect_header(&r, "Strict-Transport-Security", "max-age=31536000");
    response_free(&r);
    server_stop(&s);
}
