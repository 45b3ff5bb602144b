/* minram: an HTTP server sized for a small device. GET / answers "Hello,
 * World!", like hello, but every pool is cut to the bone: a few
 * connections, 2 KiB buffers, 16 KiB stacks, one thread, the epoll driver
 * (no io_uring rings to map). Built statically against musl (see
 * scripts/minram), the whole process peaks under 256 KiB of RSS while it
 * serves. */
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
    (void)arg;
    printf("listening on 127.0.0.1:%u (driver %s, %u threads)\n", zzz_server_port(server), driver,
           zzz_server_threads(server));
    fflush(stdout);
}

int main(int argc, char **argv)
{
    zzz_http_config cfg = {
        .server =
            {
                .host = "127.0.0.1",
                .port = 8080,
                .threads = 1,
                .conn_limit = 16,
                .active_limit = 2,
                .read_buffer_size = 2048,
                .write_buffer_size = 2048,
                .stack_size = 16 * 1024,
                .driver = TARDY_DRIVER_EPOLL,
            },
        .max_headers = 16,
        .max_header_bytes = 1536,
        .max_target = 512,
        .max_body = 1024,
        .body_buffers = 1,
    };
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--port") == 0 && i + 1 < argc)
            cfg.server.port = (uint16_t)atoi(argv[++i]);
        else if (strcmp(argv[i], "--conn-limit") == 0 && i + 1 < argc)
            cfg.server.conn_limit = (unsigned)atoi(argv[++i]);
        else {
            fprintf(stderr, "usage: %s [--port N] [--conn-limit N]\n", argv[0]);
            return 2;
        }
    }
    zzz_router *router;
    int err = zzz_router_create(&router);
    if (err == 0)
        err = zzz_route(router, "GET", "/", hello, NULL);
    if (err) {
        fprintf(stderr, "minram: router: %s\n", strerror(-err));
        return 1;
    }
    cfg.router = router;
    cfg.server.on_start = on_start;
    zzz_server *server;
    err = zzz_http_server_create(&server, &cfg);
    if (err) {
        fprintf(stderr, "minram: %s\n", zzz_last_error());
        zzz_router_destroy(router);
        return 1;
    }
    err = zzz_server_run(server);
    zzz_server_destroy(server);
    zzz_router_destroy(router);
    return err ? 1 : 0;
}
