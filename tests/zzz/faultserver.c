/* An HTTP server whose handlers misbehave, for crash_test.c: one that
 * overflows its stack, and ones that never return (sleeping or yielding
 * in a loop, ignoring every error). Prints the test server's "listening
 * on" line once it is up. */
#include <zzz.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void hello(zzz_req *req, zzz_res *res, void *user)
{
    (void)req;
    (void)user;
    zzz_res_text(res, 200, "Hello, World!");
}

static volatile long sink;

/* 1 KiB frames written from end to start, so the fault lands in the
 * guard page right below the stack and not in some mapping further
 * down. */
__attribute__((noinline)) static long recurse(long depth)
{
    volatile unsigned char frame[1024];
    for (int i = (int)sizeof frame - 1; i >= 0; i--)
        frame[i] = (unsigned char)(depth + i);
    if (depth > 100000000)
        return frame[0];
    return recurse(depth + 1) + frame[depth % 1024];
}

/* GET /overflow: unbounded recursion. */
static void overflow(zzz_req *req, zzz_res *res, void *user)
{
    (void)req;
    (void)user;
    sink = recurse(0);
    zzz_res_text(res, 200, "not reached\n");
}

/* GET /hang-sleep: sleeps forever, ignoring cancellation. */
static void hang_sleep(zzz_req *req, zzz_res *res, void *user)
{
    (void)req;
    (void)res;
    (void)user;
    for (;;)
        (void)tardy_sleep(50 * 1000000ull);
}

/* GET /hang-yield: yields forever, ignoring cancellation. */
static void hang_yield(zzz_req *req, zzz_res *res, void *user)
{
    (void)req;
    (void)res;
    (void)user;
    for (;;)
        (void)tardy_yield();
}

/* GET /hang-read: reads from the connection forever (the client sends
 * nothing more), ignoring every error. */
static void hang_read(zzz_req *req, zzz_res *res, void *user)
{
    (void)res;
    (void)user;
    char buf[64];
    for (;;) {
        ssize_t n = zzz_conn_read(zzz_req_conn(req), buf, sizeof buf);
        if (n <= 0)
            (void)tardy_sleep(10 * 1000000ull);
    }
}

static void on_start(zzz_server *server, const char *driver, void *arg)
{
    (void)arg;
    printf("listening on 127.0.0.1:%u (driver %s, %u threads)\n", zzz_server_port(server), driver,
           zzz_server_threads(server));
    fflush(stdout);
}

int main(int argc, char **argv)
{
    zzz_http_config cfg = {.server = {.host = "127.0.0.1", .threads = 1}};
    for (int i = 1; i + 1 < argc; i += 2) {
        unsigned long long v = strtoull(argv[i + 1], NULL, 10);
        if (strcmp(argv[i], "--port") == 0)
            cfg.server.port = (uint16_t)v;
        else if (strcmp(argv[i], "--threads") == 0)
            cfg.server.threads = (unsigned)v;
        else if (strcmp(argv[i], "--stack-size") == 0)
            cfg.server.stack_size = (size_t)v;
        else if (strcmp(argv[i], "--drain-timeout-ms") == 0)
            cfg.server.drain_timeout_ms = (uint32_t)v;
        else if (strcmp(argv[i], "--read-timeout-ms") == 0)
            cfg.server.read_timeout_ms = (uint32_t)v;
        else {
            fprintf(stderr,
                    "usage: %s [--port N] [--threads N] [--stack-size N] [--drain-timeout-ms N]\n"
                    "  [--read-timeout-ms N]\n",
                    argv[0]);
            return 2;
        }
    }
    zzz_router *router;
    if (zzz_router_create(&router) != 0)
        return 1;
    int err = zzz_route(router, "GET", "/", hello, NULL);
    if (err == 0)
        err = zzz_route(router, "GET", "/overflow", overflow, NULL);
    if (err == 0)
        err = zzz_route(router, "GET", "/hang-sleep", hang_sleep, NULL);
    if (err == 0)
        err = zzz_route(router, "GET", "/hang-yield", hang_yield, NULL);
    if (err == 0)
        err = zzz_route(router, "GET", "/hang-read", hang_read, NULL);
    if (err) {
        fprintf(stderr, "faultserver: router: %s\n", strerror(-err));
        return 1;
    }
    cfg.router = router;
    cfg.server.on_start = on_start;
    zzz_server *server;
    err = zzz_http_server_create(&server, &cfg);
    if (err == 0) {
        err = zzz_server_run(server);
        zzz_server_destroy(server);
    }
    zzz_router_destroy(router);
    if (err) {
        fprintf(stderr, "faultserver: %s (%s)\n", strerror(-err), zzz_last_error());
        return 1;
    }
    return 0;
}
