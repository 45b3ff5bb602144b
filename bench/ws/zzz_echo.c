/* zzz's side of the WebSocket echo benchmark (bench/ws/echo.sh): every
 * message on GET / comes back as it came, in callback mode (a quiet
 * connection holds no task), permessage-deflate off like the peers'.
 *
 *   zzz-ws-echo [--port N] [--threads N] [--conn-limit N] */
#include <zzz.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void echo(zzz_ws *ws, const zzz_ws_msg *msg, void *user)
{
    (void)user;
    if (msg->type == ZZZ_WS_TEXT)
        zzz_ws_send_text(ws, (const char *)msg->data, msg->len);
    else
        zzz_ws_send_binary(ws, msg->data, msg->len);
}

static void open_ws(zzz_req *req, zzz_res *res, void *user)
{
    (void)user;
    zzz_ws_opts opts = {.on_message = echo};
    zzz_ws *ws;
    zzz_ws_accept(req, res, &opts, &ws);
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
    zzz_http_config cfg = {.server = {.host = "127.0.0.1", .port = 8080, .threads = 1}};
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--port") == 0 && i + 1 < argc)
            cfg.server.port = (uint16_t)atoi(argv[++i]);
        else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc)
            cfg.server.threads = (unsigned)atoi(argv[++i]);
        else if (strcmp(argv[i], "--conn-limit") == 0 && i + 1 < argc)
            cfg.server.conn_limit = (unsigned)atoi(argv[++i]);
        else {
            fprintf(stderr, "usage: %s [--port N] [--threads N] [--conn-limit N]\n", argv[0]);
            return 2;
        }
    }
    zzz_router *router;
    int err = zzz_router_create(&router);
    if (err == 0)
        err = zzz_route(router, "GET", "/", open_ws, NULL);
    if (err) {
        fprintf(stderr, "zzz-ws-echo: router: %s\n", strerror(-err));
        return 1;
    }
    cfg.router = router;
    cfg.server.on_start = on_start;
    zzz_server *server;
    err = zzz_http_server_create(&server, &cfg);
    if (err) {
        fprintf(stderr, "zzz-ws-echo: cannot listen: %s\n", strerror(-err));
        zzz_router_destroy(router);
        return 1;
    }
    err = zzz_server_run(server);
    zzz_server_destroy(server);
    zzz_router_destroy(router);
    return err ? 1 : 0;
}
