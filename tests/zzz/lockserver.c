/* An HTTP server whose handlers share state across threads under a
 * tardy_mutex (lock_test.c): one holds the lock while it streams a large
 * answer, so a client that stops reading keeps it; the others must still
 * be served. Prints "listening on 127.0.0.1:PORT (driver D, N threads)". */
#include <zzz.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct shared_state {
    tardy_mutex lock;
    unsigned long counter; /* guarded by lock */
} shared_state;

static shared_state state = {.lock = TARDY_MUTEX_INIT};

/* GET /locked-stream: 64 MiB written while holding the lock, as a
 * handler that copies shared state out to its client would. */
static void locked_stream(zzz_req *req, zzz_res *res, void *user)
{
    (void)req;
    shared_state *st = user;
    if (tardy_mutex_lock(&st->lock) != 0) {
        zzz_res_text(res, 503, "lock busy\n");
        return;
    }
    static const char chunk[16384];
    zzz_res_header(res, "Content-Type", "application/octet-stream");
    int err = 0;
    for (int i = 0; i < 4096 && err == 0; i++)
        err = zzz_res_write(res, chunk, sizeof chunk);
    if (err == 0)
        zzz_res_end(res);
    tardy_mutex_unlock(&st->lock);
}

/* GET /count: takes the lock for at most 200 ms, then counts. */
static void count(zzz_req *req, zzz_res *res, void *user)
{
    (void)req;
    shared_state *st = user;
    uint64_t saved = tardy_deadline();
    tardy_deadline_after(200 * 1000000ull);
    int rc = tardy_mutex_lock(&st->lock);
    tardy_deadline_set(saved);
    if (rc != 0) {
        zzz_res_text(res, 503, rc == -ETIMEDOUT ? "lock busy\n" : "lock failed\n");
        return;
    }
    unsigned long n = ++st->counter;
    tardy_mutex_unlock(&st->lock);
    char body[32];
    snprintf(body, sizeof body, "count %lu\n", n);
    zzz_res_text(res, 200, body);
}

/* GET /hello: needs no lock. */
static void hello(zzz_req *req, zzz_res *res, void *user)
{
    (void)req;
    (void)user;
    zzz_res_text(res, 200, "hello\n");
}

static void on_start(zzz_server *server, const char *driver, void *arg)
{
    printf("listening on %s:%u (driver %s, %u threads)\n", (const char *)arg,
           zzz_server_port(server), driver, zzz_server_threads(server));
    fflush(stdout);
}

int main(int argc, char **argv)
{
    zzz_http_config cfg = {.server = {.host = "127.0.0.1", .port = 0, .threads = 1}};
    for (int i = 1; i + 1 < argc; i += 2) {
        unsigned long v = strtoul(argv[i + 1], NULL, 10);
        if (strcmp(argv[i], "--port") == 0)
            cfg.server.port = (uint16_t)v;
        else if (strcmp(argv[i], "--threads") == 0)
            cfg.server.threads = (unsigned)v;
        else if (strcmp(argv[i], "--drain-timeout-ms") == 0)
            cfg.server.drain_timeout_ms = (unsigned)v;
        else {
            fprintf(stderr, "usage: %s [--port N] [--threads N] [--drain-timeout-ms N]\n", argv[0]);
            return 2;
        }
    }
    zzz_router *router;
    int err = zzz_router_create(&router);
    if (err == 0)
        err = zzz_route(router, "GET", "/locked-stream", locked_stream, &state);
    if (err == 0)
        err = zzz_route(router, "GET", "/count", count, &state);
    if (err == 0)
        err = zzz_route(router, "GET", "/hello", hello, NULL);
    if (err) {
        fprintf(stderr, "lockserver: router: %s\n", strerror(-err));
        return 1;
    }
    cfg.router = router;
    cfg.server.on_start = on_start;
    cfg.server.start_arg = (void *)cfg.server.host;
    zzz_server *server;
    err = zzz_http_server_create(&server, &cfg);
    if (err == 0) {
        err = zzz_server_run(server);
        zzz_server_destroy(server);
    }
    zzz_router_destroy(router);
    if (err) {
        fprintf(stderr, "lockserver: %s\n", strerror(-err));
        return 1;
    }
    return 0;
}
