/* hello: the smallest HTTP server: GET / answers "Hello, World!". */
#include <zzz.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void hello(zzz_req *req, zzz_res *res, void *user)
{
    (void)req;
    (void)user;
    zzz_res_header(res, "Content-Type", "text/plain");
    zzz_res_send(res, "Hello, World!", 13);
}

static void on_start(zzz_server *server, const char *driver, void *arg)
{
    const char *host = arg;
    printf("listening on %s:%u (driver %s, %u threads)\n", host, zzz_server_port(server), driver,
           zzz_server_threads(server));
    fflush(stdout);
}

int main(int argc, char **argv)
{
    zzz_http_config cfg = {.server = {.host = "127.0.0.1", .port = 8080, .threads = 1}};
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--port") == 0 && i + 1 < argc)
            cfg.server.port = (uint16_t)atoi(argv[++i]);
        else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc)
            cfg.server.threads = (unsigned)atoi(argv[++i]);
        else if (strcmp(argv[i], "--host") == 0 && i + 1 < argc)
            cfg.server.host = argv[++i];
        else if (strcmp(argv[i], "--conn-limit") == 0 && i + 1 < argc)
            cfg.server.conn_limit = (unsigned)atoi(argv[++i]);
        else {
            fprintf(stderr, "usage: %s [--host ADDR] [--port N] [--threads N] [--conn-limit N]\n",
                    argv[0]);
            return 2;
        }
    }
    zzz_router *router;
    int err = zzz_router_create(&router);
    if (err == 0)
        err = zzz_route(router, "GET", "/", hello, NULL);
    if (err) {
        fprintf(stderr, "hello: router: %s\n", strerror(-err));
        return 1;
    }
    cfg.router = router;
    cfg.server.on_start = on_start;
    cfg.server.start_arg = (void *)cfg.server.host;
    zzz_server *server;
    err = zzz_http_server_create(&server, &cfg);
    if (err) {
        fprintf(stderr, "hello: cannot listen on %s:%u: %s\n", cfg.server.host, cfg.server.port,
                strerror(-err));
        return 1;
    }
    err = zzz_server_run(server);
    zzz_server_destroy(server);
    zzz_router_destroy(router);
    if (err) {
        fprintf(stderr, "hello: %s\n", strerror(-err));
        return 1;
    }
    return 0;
}
