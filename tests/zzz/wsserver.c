/* The WebSocket server the WebSocket integration tests (ws_test.c,
 * ws_client.py) run as a child process, through the public API only,
 * over plain TCP or TLS. Prints "listening on 127.0.0.1:PORT (driver D,
 * N threads)" once it is up.
 *
 *   /echo      straight-line: every message back as it came
 *   /cb        the same in callback mode
 *   /small     straight-line, max_message 1024
 *   /strict    subprotocol "v1" required
 *   /sleepy    callback, pings after 300 ms of quiet
 *   /sleepyline  straight-line, pings after 300 ms of quiet
 *   /room      callback: subscribed to "room", each message published there
 *   /slowroom  /room with a 4 KiB queue that closes on overflow
 *   /droproom  /room with a 4 KiB queue that drops
 *   /stats     counters, as text
 * A text message "close-me" makes /echo and /cb close with 4000 "bye";
 * "stream" makes them answer with a message streamed in three parts;
 * "ping" makes them ping with payload "p". */
#include <zzz.h>

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static zzz_server *server;
static atomic_uint opened, closed, last_code;

static const char *const protocols[] = {"chat", "superchat", NULL};
static const char *const strict_protocols[] = {"v1", NULL};

static bool origin_ok(const zzz_req *req, zzz_str origin, void *user)
{
    (void)req;
    (void)user;
    return !zzz_str_eq(origin, "http://evil.example");
}

/* What both modes do with a message; true when it was a command. */
static bool command(zzz_ws *ws, const zzz_ws_msg *msg)
{
    if (msg->type != ZZZ_WS_TEXT)
        return false;
    zzz_str text = {(const char *)msg->data, msg->len};
    if (zzz_str_eq(text, "close-me")) {
        zzz_ws_close(ws, 4000, "bye");
        return true;
    }
    if (zzz_str_eq(text, "stream")) {
        zzz_ws_stream_begin(ws, ZZZ_WS_TEXT);
        zzz_ws_stream_part(ws, "one ", 4);
        zzz_ws_stream_part(ws, "two \xc3", 5); /* a sequence split across parts */
        zzz_ws_stream_part(ws, "\xa9 three", 7);
        zzz_ws_stream_end(ws);
        return true;
    }
    if (zzz_str_eq(text, "ping")) {
        zzz_ws_ping(ws, "p", 1);
        return true;
    }
    return false;
}

static void echo_back(zzz_ws *ws, const zzz_ws_msg *msg)
{
    if (command(ws, msg))
        return;
    if (msg->type == ZZZ_WS_TEXT)
        zzz_ws_send_text(ws, (const char *)msg->data, msg->len);
    else
        zzz_ws_send_binary(ws, msg->data, msg->len);
}

static void straight(zzz_req *req, zzz_res *res, size_t max_message)
{
    zzz_ws_opts opts = {
        .protocols = protocols,
        .protocol_optional = true,
        .check_origin = origin_ok,
        .max_message = max_message,
        .deflate = true,
        .ping_interval_ms = 5000,
    };
    zzz_ws *ws;
    if (zzz_ws_accept(req, res, &opts, &ws) != 0)
        return;
    atomic_fetch_add(&opened, 1);
    zzz_ws_msg msg;
    while (zzz_ws_read(ws, &msg) == 0)
        echo_back(ws, &msg);
    atomic_store(&last_code, zzz_ws_close_code(ws));
    atomic_fetch_add(&closed, 1);
}

static void echo(zzz_req *req, zzz_res *res, void *user)
{
    (void)user;
    straight(req, res, 0);
}

static void small(zzz_req *req, zzz_res *res, void *user)
{
    (void)user;
    straight(req, res, 1024);
}

static void cb_message(zzz_ws *ws, const zzz_ws_msg *msg, void *user)
{
    (void)user;
    echo_back(ws, msg);
}

static void cb_close(zzz_ws *ws, uint16_t code, void *user)
{
    (void)ws;
    (void)user;
    atomic_store(&last_code, code);
    atomic_fetch_add(&closed, 1);
}

static void callback_mode(zzz_req *req, zzz_res *res, zzz_ws_opts *opts)
{
    zzz_ws *ws;
    if (zzz_ws_accept(req, res, opts, &ws) == 0)
        atomic_fetch_add(&opened, 1);
}

static void cb(zzz_req *req, zzz_res *res, void *user)
{
    (void)user;
    zzz_ws_opts opts = {
        .protocols = protocols,
        .protocol_optional = true,
        .check_origin = origin_ok,
        .deflate = true,
        .ping_interval_ms = 5000,
        .on_message = cb_message,
        .on_close = cb_close,
    };
    callback_mode(req, res, &opts);
}

static void strict(zzz_req *req, zzz_res *res, void *user)
{
    (void)user;
    zzz_ws_opts opts = {.protocols = strict_protocols, .on_message = cb_message,
                        .on_close = cb_close};
    callback_mode(req, res, &opts);
}

static void sleepyline(zzz_req *req, zzz_res *res, void *user)
{
    (void)user;
    zzz_ws_opts opts = {.ping_interval_ms = 300};
    zzz_ws *ws;
    if (zzz_ws_accept(req, res, &opts, &ws) != 0)
        return;
    zzz_ws_msg msg;
    while (zzz_ws_read(ws, &msg) == 0)
        echo_back(ws, &msg);
}

static void sleepy(zzz_req *req, zzz_res *res, void *user)
{
    (void)user;
    zzz_ws_opts opts = {.ping_interval_ms = 300, .on_message = cb_message, .on_close = cb_close};
    callback_mode(req, res, &opts);
}

static void room_message(zzz_ws *ws, const zzz_ws_msg *msg, void *user)
{
    (void)user;
    zzz_ws_publish(zzz_conn_server(zzz_ws_conn(ws)), "room", msg->type, msg->data, msg->len);
}

static void room_with(zzz_req *req, zzz_res *res, size_t max_queue, zzz_ws_overflow overflow)
{
    zzz_ws_opts opts = {
        .on_message = room_message,
        .on_close = cb_close,
        .max_queue = max_queue,
        .overflow = overflow,
        .ping_interval_ms = 5000,
    };
    zzz_ws *ws;
    if (zzz_ws_accept(req, res, &opts, &ws) != 0)
        return;
    atomic_fetch_add(&opened, 1);
    zzz_ws_subscribe(ws, "room");
    /* Sent before the handler returns: it leaves once the connection is
     * served, first of all. */
    zzz_ws_send_text(ws, "joined", 6);
}

static void room(zzz_req *req, zzz_res *res, void *user)
{
    (void)user;
    room_with(req, res, 0, ZZZ_WS_OVERFLOW_CLOSE);
}

static void slowroom(zzz_req *req, zzz_res *res, void *user)
{
    (void)user;
    room_with(req, res, 4096, ZZZ_WS_OVERFLOW_CLOSE);
}

static void droproom(zzz_req *req, zzz_res *res, void *user)
{
    (void)user;
    room_with(req, res, 4096, ZZZ_WS_OVERFLOW_DROP);
}

static void stats(zzz_req *req, zzz_res *res, void *user)
{
    (void)req;
    (void)user;
    zzz_ws_stats st;
    zzz_ws_stats_get(server, &st);
    char text[256];
    snprintf(text, sizeof text, "opened %u\nclosed %u\nlast_code %u\ndropped %llu\noverflow %llu\n",
             atomic_load(&opened), atomic_load(&closed), atomic_load(&last_code),
             (unsigned long long)st.dropped, (unsigned long long)st.overflow_closed);
    zzz_res_text(res, 200, text);
}

static void on_start(zzz_server *s, const char *driver, void *arg)
{
    (void)arg;
    printf("listening on 127.0.0.1:%u (driver %s, %u threads)\n", zzz_server_port(s), driver,
           zzz_server_threads(s));
    fflush(stdout);
}

int main(int argc, char **argv)
{
    zzz_http_config cfg = {.server = {.host = "127.0.0.1", .threads = 1}};
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
    zzz_router *router;
    int err = zzz_router_create(&router);
    struct {
        const char *pattern;
        zzz_handler handler;
    } routes[] = {
        {"/echo", echo},         {"/cb", cb},         {"/small", small},
        {"/strict", strict},     {"/sleepy", sleepy}, {"/room", room},
        {"/slowroom", slowroom}, {"/droproom", droproom}, {"/stats", stats},
        {"/sleepyline", sleepyline},
    };
    for (size_t i = 0; err == 0 && i < sizeof routes / sizeof routes[0]; i++)
        err = zzz_route(router, "GET", routes[i].pattern, routes[i].handler, NULL);
    if (err == 0)
        err = zzz_route(router, "POST", "/echo", echo, NULL);
    if (err) {
        fprintf(stderr, "wsserver: routes: %s\n", strerror(-err));
        return 1;
    }
    cfg.router = router;
    cfg.server.on_start = on_start;
    if (cert.cert_file)
        cfg.server.tls = &tls;
    err = zzz_http_server_create(&server, &cfg);
    if (err) {
        fprintf(stderr, "wsserver: cannot start: %s: %s\n", strerror(-err), zzz_last_error());
        zzz_router_destroy(router);
        return 1;
    }
    err = zzz_server_run(server);
    zzz_server_destroy(server);
    zzz_router_destroy(router);
    return err ? 1 : 0;
}
