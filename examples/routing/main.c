/* routing: route parameters, query strings, a wildcard, request bodies
 * (whole and streamed) and a custom not-found page.
 *
 *   GET  /users/:id        -> "user <id>"
 *   GET  /search?q=...     -> "searching for <q>"
 *   POST /echo             -> the request body, as sent
 *   POST /count            -> the body's length, read as a stream
 *   GET  /files/{*path}    -> "file <path>" (a wildcard route)
 *   GET  /stream           -> a chunked response of 5 parts
 *   anything else          -> 404 "no route for <path>" */
#include <zzz.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int send_fmt(zzz_res *res, int status, const char *fmt, zzz_str a)
{
    char body[512];
    int n = snprintf(body, sizeof body, fmt, (int)a.len, a.ptr);
    if (n < 0)
        n = 0;
    if ((size_t)n >= sizeof body)
        n = (int)sizeof body - 1;
    zzz_res_status(res, status);
    zzz_res_header(res, "Content-Type", "text/plain; charset=utf-8");
    return zzz_res_send(res, body, (size_t)n);
}

static void user_show(zzz_req *req, zzz_res *res, void *user)
{
    (void)user;
    zzz_str id = {"", 0};
    zzz_req_param(req, "id", &id);
    send_fmt(res, 200, "user %.*s\n", id);
}

static void search(zzz_req *req, zzz_res *res, void *user)
{
    (void)user;
    zzz_str q;
    if (!zzz_req_query_param(req, "q", &q)) {
        zzz_res_text(res, 400, "missing q\n");
        return;
    }
    send_fmt(res, 200, "searching for %.*s\n", q);
}

static void echo(zzz_req *req, zzz_res *res, void *user)
{
    (void)user;
    zzz_str body;
    int err = zzz_req_body(req, &body);
    if (err)
        return; /* zzz answers 413 / 400 / 408 for us */
    zzz_str type;
    if (zzz_req_header(req, "Content-Type", &type)) {
        char value[256];
        snprintf(value, sizeof value, "%.*s", (int)type.len, type.ptr);
        zzz_res_header(res, "Content-Type", value);
    }
    zzz_res_send(res, body.ptr, body.len);
}

static void count(zzz_req *req, zzz_res *res, void *user)
{
    (void)user;
    char buf[4096];
    unsigned long long total = 0;
    ssize_t n;
    while ((n = zzz_req_read(req, buf, sizeof buf)) > 0)
        total += (unsigned long long)n;
    if (n < 0)
        return;
    char body[64];
    int len = snprintf(body, sizeof body, "%llu\n", total);
    zzz_res_send(res, body, (size_t)len);
}

static void files(zzz_req *req, zzz_res *res, void *user)
{
    (void)user;
    zzz_str path = {"", 0};
    zzz_req_param(req, "path", &path);
    send_fmt(res, 200, "file %.*s\n", path);
}

static void stream(zzz_req *req, zzz_res *res, void *user)
{
    (void)req;
    (void)user;
    zzz_res_header(res, "Content-Type", "text/plain");
    for (int i = 1; i <= 5; i++) {
        char part[32];
        int n = snprintf(part, sizeof part, "part %d\n", i);
        if (zzz_res_write(res, part, (size_t)n) != 0)
            return;
    }
    zzz_res_end(res);
}

static void not_found(zzz_req *req, zzz_res *res, void *user)
{
    (void)user;
    send_fmt(res, 404, "no route for %.*s\n", zzz_req_path(req));
}

static void on_start(zzz_server *server, const char *driver, void *arg)
{
    printf("listening on %s:%u (driver %s, %u threads)\n", (const char *)arg,
           zzz_server_port(server), driver, zzz_server_threads(server));
    fflush(stdout);
}

int main(int argc, char **argv)
{
    zzz_http_config cfg = {.server = {.host = "127.0.0.1", .port = 8081, .threads = 1}};
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--port") == 0 && i + 1 < argc)
            cfg.server.port = (uint16_t)atoi(argv[++i]);
        else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc)
            cfg.server.threads = (unsigned)atoi(argv[++i]);
        else if (strcmp(argv[i], "--host") == 0 && i + 1 < argc)
            cfg.server.host = argv[++i];
        else if (strcmp(argv[i], "--max-body") == 0 && i + 1 < argc)
            cfg.max_body = (size_t)atol(argv[++i]);
        else {
            fprintf(stderr, "usage: %s [--host ADDR] [--port N] [--threads N] [--max-body N]\n",
                    argv[0]);
            return 2;
        }
    }
    zzz_router *router;
    int err = zzz_router_create(&router);
    if (err == 0)
        err = zzz_route(router, "GET", "/users/:id", user_show, NULL);
    if (err == 0)
        err = zzz_route(router, "GET", "/search", search, NULL);
    if (err == 0)
        err = zzz_route(router, "POST", "/echo", echo, NULL);
    if (err == 0)
        err = zzz_route(router, "POST", "/count", count, NULL);
    if (err == 0)
        err = zzz_route(router, "GET", "/files/*path", files, NULL);
    if (err == 0)
        err = zzz_route(router, "GET", "/stream", stream, NULL);
    if (err) {
        fprintf(stderr, "routing: router: %s\n", strerror(-err));
        return 1;
    }
    zzz_router_not_found(router, not_found, NULL);
    cfg.router = router;
    cfg.server.on_start = on_start;
    cfg.server.start_arg = (void *)cfg.server.host;
    zzz_server *server;
    err = zzz_http_server_create(&server, &cfg);
    if (err) {
        fprintf(stderr, "routing: cannot listen on %s:%u: %s\n", cfg.server.host, cfg.server.port,
                strerror(-err));
        return 1;
    }
    err = zzz_server_run(server);
    zzz_server_destroy(server);
    zzz_router_destroy(router);
    if (err) {
        fprintf(stderr, "routing: %s\n", strerror(-err));
        return 1;
    }
    return 0;
}
