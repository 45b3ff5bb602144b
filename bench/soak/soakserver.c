/* The server of the soak run (bench/soak/soak.sh): plain HTTP/1.1, or TLS
 * with --tls-cert/--tls-key, with one route per kind of traffic the soak
 * client sends. Prints "listening on 127.0.0.1:PORT (driver D, N threads)".
 *
 *   GET  /hello    the 12 bytes "hello, soak\n"
 *   GET  /big      SOAK_BIG_BYTES of a known pattern, streamed in pieces
 *   POST /upload   the body read whole (max_body 64 KiB), answered with
 *                  "LEN HASH\n" (FNV-1a 32 of the bytes, hex)
 *   GET  /ws       WebSocket echo in callback mode (a quiet connection
 *                  holds no task) */
#include <zzz.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SOAK_BIG_BYTES (256u * 1024u)
#define SOAK_MAX_BODY (64u * 1024u)

static uint8_t big_piece[16 * 1024];

static void hello(zzz_req *req, zzz_res *res, void *user)
{
    (void)req;
    (void)user;
    zzz_res_send(res, "hello, soak\n", 12);
}

static void big(zzz_req *req, zzz_res *res, void *user)
{
    (void)req;
    (void)user;
    zzz_res_content_length(res, SOAK_BIG_BYTES);
    for (size_t sent = 0; sent < SOAK_BIG_BYTES; sent += sizeof big_piece) {
        /* A client that resets mid-answer fails the write: stop there. */
        if (zzz_res_write(res, big_piece, sizeof big_piece) != 0)
            return;
    }
    zzz_res_end(res);
}

static void upload(zzz_req *req, zzz_res *res, void *user)
{
    (void)user;
    zzz_str body;
    if (zzz_req_body(req, &body) != 0)
        return; /* answered by the server: 413, 400, 408 ... */
    uint32_t hash = 2166136261u;
    for (size_t i = 0; i < body.len; i++)
        hash = (hash ^ (uint8_t)body.ptr[i]) * 16777619u;
    char text[64];
    snprintf(text, sizeof text, "%zu %08x\n", body.len, (unsigned)hash);
    zzz_res_send(res, text, strlen(text));
}

static void ws_message(zzz_ws *ws, const zzz_ws_msg *msg, void *user)
{
    (void)user;
    if (msg->type == ZZZ_WS_TEXT)
        zzz_ws_send_text(ws, (const char *)msg->data, msg->len);
    else
        zzz_ws_send_binary(ws, msg->data, msg->len);
}

static void ws(zzz_req *req, zzz_res *res, void *user)
{
    (void)user;
    zzz_ws_opts opts = {.on_message = ws_message};
    zzz_ws *conn;
    zzz_ws_accept(req, res, &opts, &conn);
}

static void on_start(zzz_server *server, const char *driver, void *arg)
{
    (void)arg;
    printf("listening on 127.0.0.1:%u (driver %s, %u threads)\n", zzz_server_port(server),
           driver, zzz_server_threads(server));
    fflush(stdout);
}

int main(int argc, char **argv)
{
    zzz_http_config cfg = {
        .server = {.host = "127.0.0.1", .threads = 1, .on_start = on_start},
        .max_body = SOAK_MAX_BODY,
    };
    zzz_tls_cert cert = {0};
    zzz_tls_config tls = {.certs = &cert, .cert_count = 1};
    for (int i = 1; i + 1 < argc; i += 2) {
        const char *arg = argv[i + 1];
        if (strcmp(argv[i], "--port") == 0)
            cfg.server.port = (uint16_t)strtoul(arg, NULL, 10);
        else if (strcmp(argv[i], "--threads") == 0)
            cfg.server.threads = (unsigned)strtoul(arg, NULL, 10);
        else if (strcmp(argv[i], "--tls-cert") == 0)
            cert.cert_file = arg;
        else if (strcmp(argv[i], "--tls-key") == 0)
            cert.key_file = arg;
        else {
            fprintf(stderr, "usage: %s [--port N] [--threads N] [--tls-cert F --tls-key F]\n",
                    argv[0]);
            return 2;
        }
    }
    for (size_t i = 0; i < sizeof big_piece; i++)
        big_piece[i] = (uint8_t)('a' + i % 26);

    zzz_router *router;
    int err = zzz_router_create(&router);
    if (err == 0)
        err = zzz_route(router, "GET", "/hello", hello, NULL);
    if (err == 0)
        err = zzz_route(router, "GET", "/big", big, NULL);
    if (err == 0)
        err = zzz_route(router, "POST", "/upload", upload, NULL);
    if (err == 0)
        err = zzz_route(router, "GET", "/ws", ws, NULL);
    if (err) {
        fprintf(stderr, "soakserver: routes: %s\n", strerror(-err));
        return 1;
    }
    cfg.router = router;
    if (cert.cert_file)
        cfg.server.tls = &tls;
    zzz_server *server;
    err = zzz_http_server_create(&server, &cfg);
    if (err) {
        fprintf(stderr, "soakserver: cannot start: %s: %s\n", strerror(-err), zzz_last_error());
        zzz_router_destroy(router);
        return 1;
    }
    err = zzz_server_run(server);
    zzz_server_destroy(server);
    zzz_router_destroy(router);
    return err ? 1 : 0;
}
