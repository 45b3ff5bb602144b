/* chat: a chat room. GET / is the page; GET /ws is a WebSocket that
 * broadcasts every message, text or binary, to everyone connected, the
 * sender too. Messages may be up to 1 MiB; a larger one closes its
 * connection with 1009. The callback mode serves each member: one who
 * is quiet holds no task, stack or buffer, only its connection record. */
#include <zzz.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char page[] =
    "<!doctype html>\n"
    "<html lang=\"en\">\n"
    "<head><meta charset=\"utf-8\"><title>zzz chat</title><link rel=\"icon\" href=\"data:,\">\n"
    "<style>body{font:16px system-ui,sans-serif;max-width:40em;margin:2em auto}"
    "#log{border:1px solid #ccc;height:20em;overflow-y:auto;padding:.5em}"
    "#log p{margin:.2em 0}</style></head>\n"
    "<body>\n"
    "<h1>zzz chat</h1>\n"
    "<div id=\"log\" data-received=\"0\"></div>\n"
    "<form id=\"say\"><input id=\"text\" autocomplete=\"off\" size=\"50\" autofocus>"
    "<button>Send</button></form>\n"
    "<p id=\"state\">connecting</p>\n"
    "<script>\n"
    "const log = document.getElementById('log');\n"
    "const state = document.getElementById('state');\n"
    "const ws = new WebSocket((location.protocol === 'https:' ? 'wss://' : 'ws://') +\n"
    "                         location.host + '/ws');\n"
    "ws.binaryType = 'arraybuffer';\n"
    "ws.onopen = () => { state.textContent = 'connected'; document.body.dataset.open = '1'; };\n"
    "ws.onclose = (e) => { state.textContent = 'closed (' + e.code + ')'; };\n"
    "ws.onmessage = (e) => {\n"
    "  const p = document.createElement('p');\n"
    "  p.textContent = typeof e.data === 'string' ? e.data\n"
    "                  : '[' + e.data.byteLength + ' bytes]';\n"
    "  log.appendChild(p);\n"
    "  log.dataset.received = String(Number(log.dataset.received) + 1);\n"
    "  log.scrollTop = log.scrollHeight;\n"
    "};\n"
    "document.getElementById('say').onsubmit = (e) => {\n"
    "  e.preventDefault();\n"
    "  const text = document.getElementById('text');\n"
    "  if (text.value && ws.readyState === WebSocket.OPEN) ws.send(text.value);\n"
    "  text.value = '';\n"
    "};\n"
    "</script>\n"
    "</body>\n"
    "</html>\n";

static void index_page(zzz_req *req, zzz_res *res, void *user)
{
    (void)req;
    (void)user;
    zzz_res_header(res, "Content-Type", "text/html; charset=utf-8");
    zzz_res_send(res, page, sizeof page - 1);
}

/* Everyone hears every message, on whichever thread they are served. */
static void on_message(zzz_ws *ws, const zzz_ws_msg *msg, void *user)
{
    (void)user;
    zzz_ws_publish(zzz_conn_server(zzz_ws_conn(ws)), "chat", msg->type, msg->data, msg->len);
}

static void join(zzz_req *req, zzz_res *res, void *user)
{
    (void)user;
    zzz_ws_opts opts = {
        .max_message = 1024 * 1024,
        .deflate = true,
        .on_message = on_message,
        /* A member who cannot keep up with 4 MiB of the room's traffic
         * is dropped (1008) rather than slowing anyone down. */
        .max_queue = 4 * 1024 * 1024,
    };
    zzz_ws *ws;
    if (zzz_ws_accept(req, res, &opts, &ws) == 0)
        zzz_ws_subscribe(ws, "chat");
}

static void on_start(zzz_server *server, const char *driver, void *arg)
{
    const zzz_server_config *cfg = arg;
    printf("listening on %s%s:%u (driver %s, %u threads)\n", cfg->tls ? "https://" : "",
           cfg->host, zzz_server_port(server), driver, zzz_server_threads(server));
    fflush(stdout);
}

static int usage(const char *prog)
{
    fprintf(stderr,
            "usage: %s [--host ADDR] [--port N] [--threads N] [--conn-limit N]\n"
            "  [--tls-cert FILE --tls-key FILE]\n",
            prog);
    return 2;
}

int main(int argc, char **argv)
{
    zzz_http_config cfg = {.server = {.host = "127.0.0.1", .port = 8080, .threads = 1}};
    zzz_tls_cert cert = {0};
    zzz_tls_config tls = {.certs = &cert, .cert_count = 1};
    for (int i = 1; i < argc; i++) {
        if (i + 1 >= argc)
            return usage(argv[0]);
        const char *flag = argv[i], *arg = argv[++i];
        if (strcmp(flag, "--port") == 0)
            cfg.server.port = (uint16_t)atoi(arg);
        else if (strcmp(flag, "--threads") == 0)
            cfg.server.threads = (unsigned)atoi(arg);
        else if (strcmp(flag, "--host") == 0)
            cfg.server.host = arg;
        else if (strcmp(flag, "--conn-limit") == 0)
            cfg.server.conn_limit = (unsigned)atoi(arg);
        else if (strcmp(flag, "--tls-cert") == 0)
            cert.cert_file = arg;
        else if (strcmp(flag, "--tls-key") == 0)
            cert.key_file = arg;
        else
            return usage(argv[0]);
    }
    if (!cert.cert_file != !cert.key_file)
        return usage(argv[0]);
    if (cert.cert_file) {
        if (!zzz_tls_available()) {
            fprintf(stderr, "chat: this libzzz was built without TLS (BearSSL)\n");
            return 1;
        }
        cfg.server.tls = &tls; /* wss:// for the page's WebSocket */
    }
    zzz_router *router;
    int err = zzz_router_create(&router);
    if (err == 0)
        err = zzz_route(router, "GET", "/", index_page, NULL);
    if (err == 0)
        err = zzz_route(router, "GET", "/ws", join, NULL);
    if (err) {
        fprintf(stderr, "chat: router: %s\n", strerror(-err));
        return 1;
    }
    cfg.router = router;
    cfg.server.on_start = on_start;
    cfg.server.start_arg = &cfg.server;
    zzz_server *server;
    err = zzz_http_server_create(&server, &cfg);
    if (err) {
        fprintf(stderr, "chat: cannot listen on %s:%u: %s (%s)\n", cfg.server.host,
                cfg.server.port, strerror(-err), zzz_last_error());
        return 1;
    }
    err = zzz_server_run(server);
    zzz_server_destroy(server);
    zzz_router_destroy(router);
    if (err) {
        fprintf(stderr, "chat: %s\n", strerror(-err));
        return 1;
    }
    return 0;
}
