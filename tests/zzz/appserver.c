/* The HTTP server the framework's integration tests (app_test.c) run as a
 * child process: middleware layers around routes, per-request memory and
 * values, and head hooks, through the public API only. Prints "listening
 * on 127.0.0.1:PORT (driver D, N threads)" once it is up. */
#include <zzz.h>

#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- the trace: each layer names itself in it ------------------------- */

/* The key of the request's trace (its address, not its value, counts). */
static const char trace_key;

typedef struct trace {
    char text[256];
    size_t len;
} trace;

static trace *trace_of(zzz_req *req)
{
    trace *t = zzz_req_get(req, &trace_key);
    if (!t) {
        t = zzz_alloc(req, sizeof *t);
        if (!t || zzz_req_set(req, &trace_key, t) != 0)
            return NULL;
        t->len = 0;
        t->text[0] = '\0';
    }
    return t;
}

static void trace_add(zzz_req *req, const char *name)
{
    trace *t = trace_of(req);
    if (!t)
        return;
    int n = snprintf(t->text + t->len, sizeof t->text - t->len, "%s%s", t->len ? "," : "", name);
    if (n > 0 && (size_t)n < sizeof t->text - t->len)
        t->len += (size_t)n;
}

/* Just before the head: X-Trace says which layers ran, in order, so the
 * answers zzz makes (404, 405, 500) show it too. */
static void trace_hook(zzz_res *res, void *user)
{
    zzz_req *req = user;
    trace *t = zzz_req_get(req, &trace_key);
    zzz_res_header(res, "X-Trace", t ? t->text : "");
}

/* A layer that names itself (user is its name) and runs the rest. */
static void named(zzz_req *req, zzz_res *res, zzz_next *next, void *user)
{
    (void)res;
    trace_add(req, user);
    zzz_next_run(next);
}

/* The outermost layer: starts the trace and sets the hook. */
static void outer(zzz_req *req, zzz_res *res, zzz_next *next, void *user)
{
    trace_add(req, user);
    zzz_res_on_head(res, trace_hook, req);
    zzz_next_run(next);
}

/* What the last request came to, as seen by a layer after the rest ran. */
static _Atomic int last_status;
static _Atomic uint64_t last_bytes;

static void observe(zzz_req *req, zzz_res *res, zzz_next *next, void *user)
{
    (void)user;
    zzz_next_run(next);
    /* Not for /last itself, which reports the one before. */
    zzz_str path = zzz_req_path(req);
    if (!zzz_str_eq(path, "/last")) {
        last_status = zzz_res_status_code(res);
        last_bytes = zzz_res_body_bytes(res);
    }
}

/* /private and beneath: answered here, the handler never runs. */
static void gate(zzz_req *req, zzz_res *res, zzz_next *next, void *user)
{
    (void)next;
    (void)user;
    trace_add(req, "gate");
    zzz_res_text(res, 403, "Forbidden\n");
}

/* /api: a preflight OPTIONS is answered here, whatever the routes say. */
static void preflight(zzz_req *req, zzz_res *res, zzz_next *next, void *user)
{
    trace_add(req, user);
    if (zzz_str_eq(zzz_req_method(req), "OPTIONS")) {
        zzz_res_status(res, 204);
        zzz_res_header(res, "Access-Control-Allow-Methods", "GET, POST");
        zzz_res_send(res, NULL, 0);
        return;
    }
    zzz_next_run(next);
}

/* Calls the rest twice, then ends what the handler streamed: the body
 * shows how often it ran. */
static void twice(zzz_req *req, zzz_res *res, zzz_next *next, void *user)
{
    (void)req;
    (void)user;
    zzz_next_run(next);
    zzz_next_run(next);
    zzz_res_end(res);
}

/* Neither answers nor runs the rest. */
static void silent(zzz_req *req, zzz_res *res, zzz_next *next, void *user)
{
    (void)req;
    (void)res;
    (void)next;
    (void)user;
}

/* A hook that turns zzz's 500 into a 503. */
static void unavailable_hook(zzz_res *res, void *user)
{
    (void)user;
    if (zzz_res_status_code(res) == 500)
        zzz_res_status(res, 503);
}

static void unavailable(zzz_req *req, zzz_res *res, zzz_next *next, void *user)
{
    (void)req;
    (void)user;
    zzz_res_on_head(res, unavailable_hook, NULL);
    zzz_next_run(next);
}

/* ---- handlers ---------------------------------------------------------- */

/* Answers with the trace: the layers that ran before it. */
static void show_trace(zzz_req *req, zzz_res *res, void *user)
{
    (void)user;
    trace_add(req, "handler");
    trace *t = trace_of(req);
    zzz_res_text(res, 200, t ? t->text : "no memory");
}

/* Leaves the answer to zzz (500). */
static void no_answer(zzz_req *req, zzz_res *res, void *user)
{
    (void)res;
    (void)user;
    trace_add(req, "handler");
}

/* Streams "run" and leaves the end to its layer. */
static void stream_run(zzz_req *req, zzz_res *res, void *user)
{
    (void)req;
    (void)user;
    zzz_res_write(res, "run", 3);
}

/* GET /last: "STATUS BYTES" of the request before. */
static void last(zzz_req *req, zzz_res *res, void *user)
{
    (void)req;
    (void)user;
    char text[64];
    snprintf(text, sizeof text, "%d %llu", (int)last_status, (unsigned long long)last_bytes);
    zzz_res_text(res, 200, text);
}

/* GET /alloc?n=N&count=K: K allocations of N bytes, each filled and then
 * checked (no two overlap, each aligned). "ok"; nothing (500) when one
 * is refused. */
static void alloc(zzz_req *req, zzz_res *res, void *user)
{
    (void)user;
    zzz_str v;
    uint64_t n = 0, count = 0;
    if (!zzz_req_query_param(req, "n", &v) || zzz_str_to_u64(v, &n) != 0 ||
        !zzz_req_query_param(req, "count", &v) || zzz_str_to_u64(v, &count) != 0 ||
        count > 4096) {
        zzz_res_text(res, 400, "n and count\n");
        return;
    }
    unsigned char *blocks[4096];
    for (uint64_t i = 0; i < count; i++) {
        blocks[i] = zzz_alloc(req, (size_t)n);
        if (!blocks[i])
            return;
        if ((uintptr_t)blocks[i] % _Alignof(max_align_t) != 0) {
            zzz_res_text(res, 200, "misaligned\n");
            return;
        }
        memset(blocks[i], (int)(i & 0xff), (size_t)n);
    }
    for (uint64_t i = 0; i < count; i++)
        for (uint64_t j = 0; j < n; j++)
            if (blocks[i][j] != (unsigned char)(i & 0xff)) {
                zzz_res_text(res, 200, "overlap\n");
                return;
            }
    zzz_res_text(res, 200, "ok");
}

/* ---- errors and body limits ------------------------------------------- */

/* The server's error handler (--errors 1): says what it was given. */
static void server_error(zzz_req *req, zzz_res *res, int status, const char *why, void *user)
{
    (void)user;
    char text[256];
    snprintf(text, sizeof text, "server error %d (%s) for %.*s\n", status, why,
             req ? (int)zzz_req_path(req).len : 4, req ? zzz_req_path(req).ptr : "null");
    zzz_res_header(res, "X-Error-By", "server");
    zzz_res_text(res, status, text);
}

/* The /api group's: JSON. */
static void api_error(zzz_req *req, zzz_res *res, int status, const char *why, void *user)
{
    (void)req;
    (void)user;
    char text[256];
    snprintf(text, sizeof text, "{\"status\":%d,\"why\":\"%s\"}", status, why);
    zzz_res_header(res, "Content-Type", "application/json");
    zzz_res_send(res, text, strlen(text));
}

/* Raises an error from the error handler: the default answers. */
static void loop_error(zzz_req *req, zzz_res *res, int status, const char *why, void *user)
{
    (void)req;
    (void)why;
    (void)user;
    zzz_res_error(res, status, "again");
}

/* Refuses through the error seam, after a field of its own. */
static void deny(zzz_req *req, zzz_res *res, zzz_next *next, void *user)
{
    (void)req;
    (void)next;
    (void)user;
    zzz_res_header(res, "WWW-Authenticate", "Basic realm=\"t\"");
    zzz_res_error(res, 401, "no credentials");
}

/* POST: the whole body (zzz_req_body): "got N"; on an error, no answer
 * (zzz answers for the body). */
static void body_whole(zzz_req *req, zzz_res *res, void *user)
{
    (void)user;
    zzz_str body;
    if (zzz_req_body(req, &body) != 0)
        return;
    char text[64];
    snprintf(text, sizeof text, "got %zu", body.len);
    zzz_res_text(res, 200, text);
}

/* POST: the body streamed (zzz_req_read): "read N". */
static void body_stream(zzz_req *req, zzz_res *res, void *user)
{
    (void)user;
    char buf[16384];
    uint64_t total = 0;
    ssize_t n;
    while ((n = zzz_req_read(req, buf, sizeof buf)) > 0)
        total += (uint64_t)n;
    if (n < 0)
        return;
    char text[64];
    snprintf(text, sizeof text, "read %llu", (unsigned long long)total);
    zzz_res_text(res, 200, text);
}

/* POST: answers without reading the body. */
static void body_ignored(zzz_req *req, zzz_res *res, void *user)
{
    (void)req;
    (void)user;
    zzz_res_text(res, 200, "ignored");
}

/* ---- compression (beneath /z) ------------------------------------------ */

/* n bytes of text that compress well but not to nothing: line i names i
 * (malloc'ed: larger than a request's memory). */
static char *text_of(size_t n)
{
    char *text = malloc(n + 1);
    if (!text)
        return NULL;
    size_t at = 0;
    for (unsigned line = 0; at < n; line++) {
        char piece[48];
        int len = snprintf(piece, sizeof piece, "line %u of the compressible text\n", line);
        size_t take = (size_t)len < n - at ? (size_t)len : n - at;
        memcpy(text + at, piece, take);
        at += take;
    }
    return text;
}

static uint64_t query_u64(zzz_req *req, const char *name, uint64_t fallback)
{
    zzz_str v;
    uint64_t n;
    if (zzz_req_query_param(req, name, &v) && zzz_str_to_u64(v, &n) == 0)
        return n;
    return fallback;
}

static void z_send(zzz_res *res, const char *kind, const char *text, size_t n);

/* /z/KIND?n=N: N bytes of text (4096 by default), sent as KIND says. */
static void z_answer(zzz_req *req, zzz_res *res, void *user)
{
    const char *kind = user;
    size_t n = (size_t)query_u64(req, "n", 4096);
    if (n > 4 << 20) {
        zzz_res_text(res, 400, "n\n");
        return;
    }
    char *text = text_of(n);
    if (!text)
        return;
    z_send(res, kind, text, n);
    free(text);
}

static void z_send(zzz_res *res, const char *kind, const char *text, size_t n)
{
    const char *type = strcmp(kind, "png") == 0      ? "image/png"
                       : strcmp(kind, "events") == 0 ? "text/event-stream"
                                                     : "text/plain; charset=utf-8";
    zzz_res_header(res, "Content-Type", type);
    if (strcmp(kind, "encoded") == 0)
        zzz_res_header(res, "Content-Encoding", "gzip");
    if (strcmp(kind, "partial") == 0)
        zzz_res_status(res, 206);
    if (strcmp(kind, "etag") == 0) {
        zzz_res_header(res, "ETag", "\"v1\"");
        zzz_res_header(res, "Accept-Ranges", "bytes");
        zzz_res_header(res, "Vary", "Origin");
    }
    if (strcmp(kind, "notransform") == 0)
        zzz_res_header(res, "Cache-Control", "no-transform");
    if (strcmp(kind, "stream") == 0 || strcmp(kind, "length") == 0 ||
        strcmp(kind, "short") == 0 || strcmp(kind, "noend") == 0) {
        /* In pieces of 1000 bytes; "length" promises the length first,
         * "short" promises it and writes half, "noend" promises it,
         * writes it all and leaves the end to zzz. */
        bool promise = strcmp(kind, "stream") != 0;
        if (promise)
            zzz_res_content_length(res, n);
        size_t upto = strcmp(kind, "short") == 0 ? n / 2 : n;
        for (size_t at = 0; at < upto; at += 1000)
            if (zzz_res_write(res, text + at, upto - at < 1000 ? upto - at : 1000) != 0)
                return;
        /* One byte past the promise is refused and sends nothing. */
        if (promise && upto == n && zzz_res_write(res, "x", 1) != -EMSGSIZE)
            return;
        if (strcmp(kind, "noend") != 0)
            zzz_res_end(res);
        return;
    }
    if (strcmp(kind, "file") == 0) {
        char path[] = "/tmp/zzz-appserver-XXXXXX";
        int fd = mkstemp(path);
        if (fd < 0)
            return;
        unlink(path);
        bool written = write(fd, text, n) == (ssize_t)n;
        if (written && zzz_res_content_length(res, n) == 0 &&
            zzz_res_sendfile(res, fd, 0, n) == 0)
            zzz_res_end(res);
        close(fd);
        return;
    }
    zzz_res_send(res, text, n);
}

/* ---- main -------------------------------------------------------------- */

static void on_start(zzz_server *server, const char *driver, void *arg)
{
    (void)arg;
    printf("listening on 127.0.0.1:%u (driver %s, %u threads)\n", zzz_server_port(server), driver,
           zzz_server_threads(server));
    fflush(stdout);
}

static int fail(const char *what, int err)
{
    fprintf(stderr, "appserver: %s: %s\n", what, strerror(-err));
    return 1;
}

int main(int argc, char **argv)
{
    zzz_http_config cfg = {.server = {.host = "127.0.0.1", .threads = 1}};
    bool bare = false;   /* the routes without any layer */
    bool errors = false; /* error handlers: the server's and /api's */
    for (int i = 1; i + 1 < argc; i += 2) {
        unsigned long long v = strtoull(argv[i + 1], NULL, 10);
        if (strcmp(argv[i], "--port") == 0)
            cfg.server.port = (uint16_t)v;
        else if (strcmp(argv[i], "--threads") == 0)
            cfg.server.threads = (unsigned)v;
        else if (strcmp(argv[i], "--request-memory") == 0)
            cfg.request_memory = (size_t)v;
        else if (strcmp(argv[i], "--bare") == 0)
            bare = v != 0;
        else if (strcmp(argv[i], "--errors") == 0)
            errors = v != 0;
        else if (strcmp(argv[i], "--max-body") == 0)
            cfg.max_body = (size_t)v;
        else {
            fprintf(stderr, "usage: %s [--port N] [--threads N] [--request-memory N] [--bare 1]\n"
                    "       [--errors 1] [--max-body N]\n",
                    argv[0]);
            return 2;
        }
    }
    zzz_router *router;
    int err = zzz_router_create(&router);
    if (err)
        return fail("router", err);
    struct {
        const char *method, *pattern;
        zzz_handler handler;
    } routes[] = {
        {"GET", "/", show_trace},
        {"GET", "/api/v1/items", show_trace},
        {"POST", "/api/v1/items", show_trace},
        {"GET", "/api/other", show_trace},
        {"GET", "/apis", show_trace},
        {"GET", "/private/data", show_trace},
        {"GET", "/noanswer", no_answer},
        {"GET", "/twice", stream_run},
        {"GET", "/last", last},
        {"GET", "/alloc", alloc},
        {"GET", "/silent", show_trace},
        {"GET", "/unavailable", no_answer},
        {"GET", "/denied", show_trace},
        {"GET", "/api/denied", show_trace},
        {"POST", "/body/small", body_whole},
        {"POST", "/body/whole", body_whole},
        {"POST", "/body/stream", body_stream},
        {"POST", "/body/ignored", body_ignored},
        {"POST", "/big/whole", body_whole},
        {"POST", "/big/stream", body_stream},
        {"POST", "/big/inner/stream", body_stream},
    };
    static const char *const z_kinds[] = {"text",  "png",         "encoded", "partial",
                                          "etag",  "notransform", "stream",  "length",
                                          "short", "noend",       "file",    "events"};
    for (size_t i = 0; err == 0 && i < sizeof z_kinds / sizeof z_kinds[0]; i++) {
        char pattern[64];
        snprintf(pattern, sizeof pattern, "/z/%s", z_kinds[i]);
        err = zzz_route(router, "GET", pattern, z_answer, (void *)z_kinds[i]);
    }
    /* Answers without reading its body: a broken one takes the answer
     * back. */
    if (err == 0)
        err = zzz_route(router, "POST", "/z/text", z_answer, "text");
    static char static_text[2048];
    memset(static_text, 'a', sizeof static_text);
    if (err == 0)
        err = zzz_static_bytes(router, "/z/static.txt", static_text, sizeof static_text, NULL);
    /* An error handler that raises an error itself. */
    if (err == 0)
        err = zzz_router_on_error(router, "/loop", loop_error, NULL);
    if (err == 0) {
        err = zzz_use_compression(router, "/z", NULL);
        if (err == -ENOTSUP)
            err = 0; /* built without zlib and brotli: the tests know */
    }
    for (size_t i = 0; err == 0 && i < sizeof routes / sizeof routes[0]; i++)
        err = zzz_route(router, routes[i].method, routes[i].pattern, routes[i].handler, NULL);
    /* Added out of order on purpose: the chain runs by scope (shorter
     * prefixes outside), then in the order added. */
    if (err == 0 && !bare)
        err = zzz_use(router, "/api/v1", named, "v1");
    if (err == 0 && !bare)
        err = zzz_route_use(router, "GET", "/silent", silent, NULL);
    if (err == 0 && !bare)
        err = zzz_route_use(router, "GET", "/unavailable", unavailable, NULL);
    for (int i = 0; err == 0 && !bare && i < 9; i++) {
        static const struct {
            const char *prefix;
            zzz_layer fn;
            void *user;
        } prefix_layers[] = {
            {"/api/", named, "api"}, {"/", outer, "g1"},          {"", named, "g2"},
            {"/", observe, NULL},    {"/api", preflight, "cors"}, {"/private", gate, NULL},
        };
        if (i < 6)
            err = zzz_use(router, prefix_layers[i].prefix, prefix_layers[i].fn,
                          prefix_layers[i].user);
        else if (i < 8)
            err = zzz_route_use(router, "GET", "/api/v1/items", named, i == 6 ? "r1" : "r2");
        else
            err = zzz_route_use(router, "GET", "/twice", twice, NULL);
    }
    /* Body limits: one route's, a group's, a narrower group's; and the
     * error seam: a layer that refuses, the groups' handlers. */
    if (err == 0)
        err = zzz_route_max_body(router, "POST", "/body/small", 10);
    if (err == 0)
        err = zzz_router_max_body(router, "/big", 3 << 20);
    if (err == 0)
        err = zzz_router_max_body(router, "/big/inner", 100);
    if (err == 0)
        err = zzz_route_use(router, "GET", "/denied", deny, NULL);
    if (err == 0)
        err = zzz_route_use(router, "GET", "/api/denied", deny, NULL);
    if (err == 0 && errors)
        err = zzz_router_on_error(router, "/api", api_error, NULL);
    if (errors) {
        cfg.on_error = server_error;
    }
    if (err)
        return fail("routes", err);
    cfg.router = router;
    cfg.server.on_start = on_start;
    zzz_server *server;
    err = zzz_http_server_create(&server, &cfg);
    if (err) {
        zzz_router_destroy(router);
        return fail("server", err);
    }
    err = zzz_server_run(server);
    zzz_server_destroy(server);
    zzz_router_destroy(router);
    return err ? fail("run", err) : 0;
}
