/* Integration tests of the framework seams: middleware layers (prefix and
 * route scopes, their order, early answers, the rest run once, what a
 * layer sees after it), per-request memory and values, and head hooks.
 * The app server (appserver.c) runs as a child process on 127.0.0.1,
 * driven by raw sockets; meson runs this once per I/O driver. */
#include "harness.h"

TestSuite(app, .fini = harness_cleanup, .timeout = 120);

static void start_app(server *s, const char *const *extra)
{
    const char *args[16] = {"--threads", "1"};
    size_t n = 2;
    for (size_t i = 0; extra && extra[i] && n < 15; i++)
        args[n++] = extra[i];
    args[n] = NULL;
    server_start(s, binary_path("ZZZ_APPSERVER"), args);
}

/* GET path on a fresh connection: the status, X-Trace and the body. */
static void get(uint16_t port, const char *method, const char *path, response *r)
{
    char request[512];
    snprintf(request, sizeof request, "%s %s HTTP/1.1\r\nHost: t\r\n\r\n", method, path);
    exchange(port, request, r);
}

static void expect_trace(const response *r, const char *trace)
{
    const char *got = resp_header(r, "X-Trace");
    cr_assert(got, "no X-Trace in:\n%s", r->head);
    cr_assert_str_eq(got, trace, "X-Trace");
}

Test(app, layers_run_outside_in_by_scope_then_route)
{
    server s;
    start_app(&s, NULL);
    response r;
    /* "/" layers in the order added (g1, g2, observe), then "/api", whose
     * two were added "/api/" then "/api" (api, cors), then "/api/v1" (v1,
     * added first of all), then the route's own (r1, r2). */
    get(s.port, "GET", "/api/v1/items", &r);
    expect_status(&r, 200);
    expect_body(&r, "g1,g2,api,cors,v1,r1,r2,handler");
    expect_trace(&r, "g1,g2,api,cors,v1,r1,r2,handler");
    response_free(&r);
    /* The route's layers are its own: POST on the same path has none. */
    get(s.port, "POST", "/api/v1/items", &r);
    expect_body(&r, "g1,g2,api,cors,v1,handler");
    response_free(&r);
    /* A prefix covers itself and what lies beneath, not a longer name. */
    get(s.port, "GET", "/api/other", &r);
    expect_body(&r, "g1,g2,api,cors,handler");
    response_free(&r);
    get(s.port, "GET", "/apis", &r);
    expect_body(&r, "g1,g2,handler");
    response_free(&r);
    get(s.port, "GET", "/", &r);
    expect_body(&r, "g1,g2,handler");
    response_free(&r);
    server_stop(&s);
}

Test(app, prefixes_compare_decoded_paths)
{
    server s;
    start_app(&s, NULL);
    response r;
    /* The router sees /api/v1/items: so do the layers. */
    get(s.port, "GET", "/%61pi/v1/items", &r);
    expect_status(&r, 200);
    expect_body(&r, "g1,g2,api,cors,v1,r1,r2,handler");
    response_free(&r);
    get(s.port, "GET", "/private%2Fdata", &r);
    expect_status(&r, 403); /* the gate holds for the decoded path too */
    response_free(&r);
    server_stop(&s);
}

Test(app, answers_zzz_makes_pass_the_layers)
{
    server s;
    start_app(&s, NULL);
    response r;
    get(s.port, "GET", "/nowhere", &r);
    expect_status(&r, 404);
    expect_trace(&r, "g1,g2");
    response_free(&r);
    /* A path with routes, not for this method: 405, through /api's. */
    get(s.port, "DELETE", "/api/v1/items", &r);
    expect_status(&r, 405);
    expect_trace(&r, "g1,g2,api,cors,v1");
    cr_assert(resp_header(&r, "Allow"), "405 without Allow");
    response_free(&r);
    /* A 404 beneath a prefix passes its layers. */
    get(s.port, "GET", "/api/missing", &r);
    expect_status(&r, 404);
    expect_trace(&r, "g1,g2,api,cors");
    response_free(&r);
    get(s.port, "OPTIONS", "*", &r);
    expect_status(&r, 200);
    expect_trace(&r, "g1,g2");
    response_free(&r);
    get(s.port, "CONNECT", "example.com:443", &r);
    expect_status(&r, 501);
    expect_trace(&r, "g1,g2");
    response_free(&r);
    /* HEAD goes to the GET route, through the same layers, no body. */
    client c;
    client_open(&c, s.port);
    client_send_str(&c, "HEAD /api/v1/items HTTP/1.1\r\nHost: t\r\n\r\n");
    client_response_head(&c, &r);
    expect_status(&r, 200);
    expect_trace(&r, "g1,g2,api,cors,v1,r1,r2,handler");
    cr_assert_eq(r.body_len, 0);
    response_free(&r);
    client_close(&c);
    server_stop(&s);
}

Test(app, a_layer_answers_early_for_what_no_route_has)
{
    server s;
    start_app(&s, NULL);
    response r;
    /* No OPTIONS route: the /api layer answers the preflight itself. */
    get(s.port, "OPTIONS", "/api/v1/items", &r);
    expect_status(&r, 204);
    expect_trace(&r, "g1,g2,api,cors");
    cr_assert(header_is(&r, "Access-Control-Allow-Methods", "GET, POST"));
    response_free(&r);
    /* The gate answers; the handler behind it never runs. */
    get(s.port, "GET", "/private/data", &r);
    expect_status(&r, 403);
    expect_trace(&r, "g1,g2,gate");
    expect_body(&r, "Forbidden\n");
    response_free(&r);
    server_stop(&s);
}

Test(app, the_rest_of_the_chain_runs_once)
{
    server s;
    start_app(&s, NULL);
    response r;
    get(s.port, "GET", "/twice", &r);
    expect_status(&r, 200);
    expect_body(&r, "run");
    response_free(&r);
    server_stop(&s);
}

Test(app, a_layer_sees_status_and_bytes_after_the_rest)
{
    server s;
    start_app(&s, NULL);
    client c;
    client_open(&c, s.port);
    /* "/" answers its trace, "g1,g2,handler": 13 bytes. */
    struct {
        const char *path;
        const char *last;
    } cases[] = {
        {"/", "200 13"},
        {"/nowhere", "404 10"},    /* "Not Found\n" */
        {"/private/data", "403 10"},
        {"/noanswer", "500 22"},   /* "Internal Server Error\n" */
        {"/silent", "500 22"},     /* a layer that did nothing: the same */
        {"/unavailable", "503 20"}, /* a hook changed zzz's 500 */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char request[256];
        snprintf(request, sizeof request, "GET %s HTTP/1.1\r\nHost: t\r\n\r\n", cases[i].path);
        client_send_str(&c, request);
        response r;
        client_response(&c, &r);
        response_free(&r);
        client_send_str(&c, "GET /last HTTP/1.1\r\nHost: t\r\n\r\n");
        client_response(&c, &r);
        expect_status(&r, 200);
        expect_body(&r, cases[i].last);
        response_free(&r);
    }
    client_close(&c);
    server_stop(&s);
}

Test(app, hooks_run_for_the_500_zzz_makes)
{
    server s;
    start_app(&s, NULL);
    response r;
    get(s.port, "GET", "/noanswer", &r);
    expect_status(&r, 500);
    expect_trace(&r, "g1,g2,handler");
    expect_body(&r, "Internal Server Error\n");
    cr_assert_eq(resp_header_count(&r, "Content-Type"), 1);
    response_free(&r);
    /* A hook may change the status of the answer zzz makes; the body
     * names the status that leaves. */
    get(s.port, "GET", "/unavailable", &r);
    expect_status(&r, 503);
    expect_body(&r, "Service Unavailable\n");
    response_free(&r);
    server_stop(&s);
}

/* zzz_alloc under --request-memory 8192, with no layers taking any of it:
 * the sum of what one request takes, at the limit and past it; every
 * request starts afresh. */
Test(app, request_memory_at_and_past_its_limit)
{
    server s;
    start_app(&s, (const char *const[]){"--request-memory", "8192", "--bare", "1", NULL});
    client c;
    client_open(&c, s.port);
    struct {
        const char *query;
        int status;
    } cases[] = {
        {"n=4096&count=2", 200},  /* exactly the limit, in two blocks */
        {"n=8192&count=1", 200},  /* one allocation of all of it */
        {"n=8193&count=1", 500},  /* one byte past */
        {"n=4096&count=3", 500},  /* past it on the third */
        {"n=16&count=512", 200},  /* many small ones, to the byte */
        {"n=16&count=513", 500},
        {"n=1&count=512", 200},   /* each rounded up to the alignment */
        {"n=1&count=513", 500},
        {"n=0&count=1", 500},     /* zero bytes is NULL */
        {"n=5000&count=1", 200},  /* larger than a block: its own */
    };
    _Static_assert(_Alignof(max_align_t) == 16, "the cases assume 16-byte alignment");
    for (int round = 0; round < 3; round++) {
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
            char request[256];
            snprintf(request, sizeof request, "GET /alloc?%s HTTP/1.1\r\nHost: t\r\n\r\n",
                     cases[i].query);
            client_send_str(&c, request);
            response r;
            client_response(&c, &r);
            cr_assert_eq(r.status, cases[i].status, "%s: %d", cases[i].query, r.status);
            if (r.status == 200)
                expect_body(&r, "ok");
            response_free(&r); /* a 500 closes nothing: the connection goes on */
        }
    }
    client_close(&c);
    server_stop(&s);
}

/* Many requests, each taking 60 KB in blocks: they go back between
 * requests, so the server's memory stays flat. (Allocations larger than a
 * block are freed at the request's end; a sanitizer's quarantine would
 * hold those back, so they are not what this counts. The leak check of
 * the sanitizer build covers them.) */
Test(app, request_memory_goes_back_between_requests)
{
    server s;
    start_app(&s, NULL);
    client c;
    client_open(&c, s.port);
    long long rss_after_warmup = 0;
    for (int i = 0; i < 3000; i++) {
        client_send_str(&c, "GET /alloc?n=2000&count=30 HTTP/1.1\r\nHost: t\r\n\r\n");
        response r;
        client_response(&c, &r);
        expect_status(&r, 200);
        response_free(&r);
        if (i == 500)
            rss_after_warmup = process_rss(s.pid);
    }
    long long rss = process_rss(s.pid);
    cr_assert(rss_after_warmup > 0 && rss > 0);
    /* 2,500 more requests of 60 KB each would be 150 MB if kept. */
    cr_assert_lt(rss - rss_after_warmup, 4 << 20, "RSS grew from %lld to %lld bytes",
                 rss_after_warmup, rss);
    client_close(&c);
    server_stop(&s);
}

/* ---- errors and body limits --------------------------------------------- */

/* The reason phrases of RFC 9110 for the statuses zzz makes. */
static const char *status_reason_text(int status)
{
    switch (status) {
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    default: return "?";
    }
}

/* Sends request on a fresh connection and expects an error answer that
 * closes it: its status, and (when not NULL) its body. */
static void expect_closing_error(uint16_t port, const char *request, size_t len, int status,
                                 const char *body)
{
    client c;
    client_open(&c, port);
    client_send(&c, request, len);
    response r;
    client_response(&c, &r);
    cr_assert_eq(r.status, status, "expected %d, got %d:\n%s", status, r.status, r.head);
    const char *conn = resp_header(&r, "Connection");
    cr_assert(conn && strcasecmp(conn, "close") == 0, "a %d without Connection: close:\n%s",
              status, r.head);
    if (body)
        expect_body(&r, body);
    response_free(&r);
    cr_assert(client_wait_closed(&c, HANG_GUARD_MS, NULL), "still open after the %d", status);
    client_close(&c);
}

/* Requests that zzz refuses before or instead of a handler, each with the
 * status the docs give it. */
typedef struct refusal {
    const char *what;
    char *request; /* malloc'ed */
    int status;
    const char *path; /* what an error handler sees ("null": no request) */
    const char *why;
} refusal;

static size_t refusals_make(refusal *out)
{
    size_t n = 0;
    out[n++] = (refusal){"malformed head", strdup("GET / HTTP/1.1\r\nHost t\r\n\r\n"), 400,
                         "null", "malformed request head"};
    char *long_target = malloc(9000);
    strcpy(long_target, "GET /");
    memset(long_target + 5, 'a', 8500);
    strcpy(long_target + 8505, " HTTP/1.1\r\nHost: t\r\n\r\n");
    out[n++] = (refusal){"long target", long_target, 414, "null", "request target too long"};
    char *big_head = malloc(20000);
    strcpy(big_head, "GET / HTTP/1.1\r\nHost: t\r\nX-Big: ");
    size_t at = strlen(big_head);
    memset(big_head + at, 'b', 17000);
    strcpy(big_head + at + 17000, "\r\n\r\n");
    out[n++] = (refusal){"large head", big_head, 431, "null", "request head too large"};
    out[n++] = (refusal){"declared body past a route's limit",
                         strdup("POST /body/small HTTP/1.1\r\nHost: t\r\nContent-Length: 11\r\n\r\n"),
                         413, "/body/small", "request body too large"};
    return n;
}

Test(app, answers_zzz_makes_share_one_form)
{
    server s;
    start_app(&s, NULL);
    struct {
        const char *method, *path;
        int status;
    } routed[] = {
        {"GET", "/nowhere", 404},
        {"DELETE", "/", 405},
        {"CONNECT", "t:443", 501},
        {"GET", "/noanswer", 500},
    };
    for (size_t i = 0; i < sizeof routed / sizeof routed[0]; i++) {
        response r;
        get(s.port, routed[i].method, routed[i].path, &r);
        expect_status(&r, routed[i].status);
        char body[80];
        snprintf(body, sizeof body, "%s\n", status_reason_text(routed[i].status));
        expect_body(&r, body);
        cr_assert(header_is(&r, "Content-Type", "text/plain; charset=utf-8"), "%s", r.head);
        cr_assert_eq(resp_header_count(&r, "Content-Type"), 1);
        response_free(&r);
    }
    refusal cases[8];
    size_t n = refusals_make(cases);
    for (size_t i = 0; i < n; i++) {
        char body[80];
        snprintf(body, sizeof body, "%s\n", status_reason_text(cases[i].status));
        expect_closing_error(s.port, cases[i].request, strlen(cases[i].request), cases[i].status,
                             body);
        free(cases[i].request);
    }
    server_stop(&s);
}

Test(app, error_handlers_make_the_answers_per_server_and_group)
{
    server s;
    start_app(&s, (const char *const[]){"--errors", "1", NULL});
    response r;
    get(s.port, "GET", "/nowhere", &r);
    expect_status(&r, 404);
    expect_body(&r, "server error 404 (no route for the path) for /nowhere\n");
    cr_assert(header_is(&r, "X-Error-By", "server"));
    expect_trace(&r, "g1,g2"); /* the layers ran around it */
    response_free(&r);
    /* Beneath /api, the group's handler; the layers still run. */
    get(s.port, "GET", "/api/nowhere", &r);
    expect_status(&r, 404);
    expect_body(&r, "{\"status\":404,\"why\":\"no route for the path\"}");
    cr_assert(header_is(&r, "Content-Type", "application/json"), "%s", r.head);
    expect_trace(&r, "g1,g2,api,cors");
    response_free(&r);
    get(s.port, "DELETE", "/api/v1/items", &r);
    expect_status(&r, 405);
    expect_body(&r, "{\"status\":405,\"why\":\"no route for the method\"}");
    cr_assert(header_is(&r, "Allow", "GET, HEAD, POST"), "%s", r.head);
    response_free(&r);
    get(s.port, "GET", "/noanswer", &r);
    expect_status(&r, 500);
    expect_body(&r, "server error 500 (the handler did not answer) for /noanswer\n");
    response_free(&r);
    /* Before a request could be read, the server's handler, without one. */
    refusal cases[8];
    size_t n = refusals_make(cases);
    for (size_t i = 0; i < n; i++) {
        char body[256];
        snprintf(body, sizeof body, "server error %d (%s) for %s\n", cases[i].status, cases[i].why,
                 cases[i].path);
        expect_closing_error(s.port, cases[i].request, strlen(cases[i].request), cases[i].status,
                             body);
        free(cases[i].request);
    }
    server_stop(&s);
}

Test(app, a_layer_refuses_through_the_error_seam)
{
    server s;
    start_app(&s, NULL);
    response r;
    get(s.port, "GET", "/denied", &r);
    expect_status(&r, 401);
    expect_body(&r, "Unauthorized\n");
    cr_assert(header_is(&r, "WWW-Authenticate", "Basic realm=\"t\""), "%s", r.head);
    response_free(&r);
    server_stop(&s);
    start_app(&s, (const char *const[]){"--errors", "1", NULL});
    get(s.port, "GET", "/api/denied", &r);
    expect_status(&r, 401);
    expect_body(&r, "{\"status\":401,\"why\":\"no credentials\"}");
    cr_assert(header_is(&r, "WWW-Authenticate", "Basic realm=\"t\""), "%s", r.head);
    response_free(&r);
    server_stop(&s);
}

/* POST path with len bytes of body, whole (Content-Length) or in chunks
 * of 4 KiB; the answer. */
static void post(uint16_t port, const char *path, size_t len, bool chunked, response *r)
{
    client c;
    client_open(&c, port);
    char head[256];
    if (chunked)
        snprintf(head, sizeof head,
                 "POST %s HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n", path);
    else
        snprintf(head, sizeof head, "POST %s HTTP/1.1\r\nHost: t\r\nContent-Length: %zu\r\n\r\n",
                 path, len);
    client_send_str(&c, head);
    char *body = harness_random_bytes(len ? len : 1, len);
    size_t sent = 0;
    while (sent < len) {
        size_t piece = len - sent < 4096 ? len - sent : 4096;
        if (chunked) {
            char line[32];
            snprintf(line, sizeof line, "%zx\r\n", piece);
            if (client_send(&c, line, strlen(line)) != 0)
                break;
        }
        if (client_send(&c, body + sent, piece) != 0 || (chunked && client_send(&c, "\r\n", 2) != 0))
            break; /* refused mid-body: the answer is waiting */
        sent += piece;
    }
    if (chunked && sent == len)
        client_send(&c, "0\r\n\r\n", 5);
    client_response(&c, r);
    client_close(&c);
}

Test(app, body_limits_per_route_and_group)
{
    server s;
    start_app(&s, NULL);
    struct {
        const char *path;
        size_t len;
        bool chunked;
        int status;
        const char *body;
    } cases[] = {
        /* the route's own limit: 10 */
        {"/body/small", 10, false, 200, "got 10"},
        {"/body/small", 10, true, 200, "got 10"},
        {"/body/small", 11, true, 413, NULL},
        /* the server's: 1 MiB */
        {"/body/stream", 1 << 20, false, 200, "read 1048576"},
        {"/body/stream", (1 << 20) + 1, true, 413, NULL},
        /* a group's, larger than the server's, for streamed reads... */
        {"/big/stream", 3 << 20, false, 200, "read 3145728"},
        {"/big/stream", 3 << 20, true, 200, "read 3145728"},
        {"/big/stream", (3 << 20) + 1, true, 413, NULL},
        /* ...while the whole-body buffers hold the server's */
        {"/big/whole", 1 << 20, false, 200, "got 1048576"},
        {"/big/whole", (1 << 20) + 1, true, 413, NULL},
        /* a narrower group's, inside it */
        {"/big/inner/stream", 100, true, 200, "read 100"},
        {"/big/inner/stream", 101, true, 413, NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        response r;
        post(s.port, cases[i].path, cases[i].len, cases[i].chunked, &r);
        cr_assert_eq(r.status, cases[i].status, "%s %zu%s: %d\n%s", cases[i].path, cases[i].len,
                     cases[i].chunked ? " chunked" : "", r.status, r.head);
        if (cases[i].body)
            expect_body(&r, cases[i].body);
        else
            expect_body(&r, "Content Too Large\n");
        response_free(&r);
        /* The layers saw the answer that left, refusals included. */
        get(s.port, "GET", "/last", &r);
        char last[64];
        snprintf(last, sizeof last, "%d ", cases[i].status);
        cr_assert(strncmp(r.body, last, strlen(last)) == 0, "%s %zu: the layer saw %s",
                  cases[i].path, cases[i].len, r.body);
        response_free(&r);
    }
    /* Declared past the limit: refused before a byte of it is read. */
    const char *declared[] = {
        "POST /body/small HTTP/1.1\r\nHost: t\r\nContent-Length: 11\r\n\r\n",
        "POST /big/stream HTTP/1.1\r\nHost: t\r\nContent-Length: 3145729\r\n\r\n",
        "POST /big/whole HTTP/1.1\r\nHost: t\r\nContent-Length: 1048577\r\n\r\n",
        "POST /body/ignored HTTP/1.1\r\nHost: t\r\nContent-Length: 1048577\r\n\r\n",
    };
    for (size_t i = 0; i < sizeof declared / sizeof declared[0]; i++)
        expect_closing_error(s.port, declared[i], strlen(declared[i]), 413, "Content Too Large\n");
    server_stop(&s);
}

/* An error handler that raises an error itself gets zzz's default, not
 * itself again. */
Test(app, an_error_handler_that_errs)
{
    server s;
    start_app(&s, NULL);
    response r;
    get(s.port, "GET", "/loop/nowhere", &r);
    expect_status(&r, 404);
    expect_body(&r, "Not Found\n");
    response_free(&r);
    server_stop(&s);
}
