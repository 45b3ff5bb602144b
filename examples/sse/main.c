/* sse: server-sent events. GET / is a page with a live clock fed by
 * EventSource('/events'); GET /events sends the server's time (ISO 8601,
 * UTC, milliseconds) every 100 ms as an event whose id counts up, and a
 * browser that reconnects with Last-Event-ID goes on counting from there.
 * Each stream runs until its client leaves or the server stops.
 *
 *   sse [--host ADDR] [--port N] [--threads N] [--conn-limit N]
 *       [--tls-cert FILE --tls-key FILE]
 *
 * Then open http://127.0.0.1:8080/, or: curl -N http://127.0.0.1:8080/events */
#include <zzz.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define TICK_MS 100u

/* The page, whole: no file, no outside resource. Its script shows each
 * event and keeps the count and the last id on the clock's element
 * (data-events, data-last-id), for people and for the browser test. */
static const char page[] =
    "<!doctype html>\n"
    "<html lang=\"en\">\n"
    "<head>\n"
    "<meta charset=\"utf-8\">\n"
    "<title>zzz: server-sent events</title>\n"
    "<style>\n"
    "body { font: 16px system-ui, sans-serif; margin: 3em; }\n"
    "#clock { font: 2.5em ui-monospace, monospace; }\n"
    "#state { color: #666; }\n"
    "</style>\n"
    "</head>\n"
    "<body>\n"
    "<h1>The server's clock</h1>\n"
    "<p id=\"clock\" data-events=\"0\" data-last-id=\"\">waiting for the server...</p>\n"
    "<p id=\"state\">connecting</p>\n"
    "<script>\n"
    "const clock = document.getElementById('clock');\n"
    "const state = document.getElementById('state');\n"
    "let received = 0;\n"
    "const source = new EventSource('/events');\n"
    "source.onopen = () => { state.textContent = 'connected'; };\n"
    "source.onerror = () => { state.textContent = 'reconnecting'; };\n"
    "source.onmessage = (e) => {\n"
    "  received++;\n"
    "  clock.textContent = e.data;\n"
    "  clock.dataset.events = String(received);\n"
    "  clock.dataset.lastId = e.lastEventId;\n"
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

/* The browser asks for an icon: none, and no error either. */
static void no_icon(zzz_req *req, zzz_res *res, void *user)
{
    (void)req;
    (void)user;
    zzz_res_status(res, 204);
    zzz_res_send(res, NULL, 0);
}

/* "2024-05-01T12:34:56.789Z" into buf (at least 25 bytes). */
static void iso_now(char *buf, size_t size)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    size_t n = strftime(buf, size, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf + n, size - n, ".%03ldZ", ts.tv_nsec / 1000000L);
}

static void events(zzz_req *req, zzz_res *res, void *user)
{
    (void)user;
    /* A browser that reconnects says which event it saw last. */
    uint64_t id = 0;
    zzz_str last;
    if (zzz_sse_last_event_id(req, &last) && zzz_str_to_u64(last, &id) != 0)
        id = 0;
    zzz_sse sse;
    if (zzz_sse_start(req, res, &sse) != 0)
        return;
    /* Ticks against a fixed start, so they do not drift. */
    uint64_t tick = tardy_now();
    for (bool first = true;; first = false) {
        char now[32], id_text[24];
        iso_now(now, sizeof now);
        snprintf(id_text, sizeof id_text, "%llu", (unsigned long long)++id);
        /* A quick reconnection is asked for once per stream. */
        zzz_sse_event ev = {.id = id_text, .data = now, .retry_ms = first ? 1000 : 0};
        if (zzz_sse_send(&sse, &ev) != 0)
            return;
        tick += (uint64_t)TICK_MS * 1000000u;
        uint64_t at = tardy_now();
        uint32_t wait_ms = tick > at ? (uint32_t)((tick - at + 999999u) / 1000000u) : 0;
        /* Returns early, negative, when the client leaves (or on HEAD)
         * and when the server stops: the stream then ends. */
        if (zzz_sse_wait(&sse, wait_ms, 0) != 0)
            return;
    }
}

typedef struct sse_start_info {
    const char *host;
    bool tls;
} sse_start_info;

static void on_start(zzz_server *server, const char *driver, void *arg)
{
    const sse_start_info *st = arg;
    printf("listening on %s%s:%u (driver %s, %u threads)\n", st->tls ? "https://" : "", st->host,
           zzz_server_port(server), driver, zzz_server_threads(server));
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
    sse_start_info st = {.host = cfg.server.host, .tls = cert.cert_file != NULL};
    if (st.tls) {
        if (!zzz_tls_available()) {
            fprintf(stderr, "sse: this libzzz was built without TLS (BearSSL)\n");
            return 1;
        }
        cfg.server.tls = &tls;
    }
    zzz_router *router;
    int err = zzz_router_create(&router);
    if (err == 0)
        err = zzz_route(router, "GET", "/", index_page, NULL);
    if (err == 0)
        err = zzz_route(router, "GET", "/events", events, NULL);
    if (err == 0)
        err = zzz_route(router, "GET", "/favicon.ico", no_icon, NULL);
    if (err) {
        fprintf(stderr, "sse: router: %s\n", strerror(-err));
        zzz_router_destroy(router);
        return 1;
    }
    cfg.router = router;
    cfg.server.on_start = on_start;
    cfg.server.start_arg = &st;
    zzz_server *server;
    err = zzz_http_server_create(&server, &cfg);
    if (err) {
        fprintf(stderr, "sse: cannot listen on %s:%u: %s (%s)\n", cfg.server.host, cfg.server.port,
                strerror(-err), zzz_last_error());
        zzz_router_destroy(router);
        return 1;
    }
    err = zzz_server_run(server);
    zzz_server_destroy(server);
    zzz_router_destroy(router);
    if (err) {
        fprintf(stderr, "sse: %s\n", strerror(-err));
        return 1;
    }
    return 0;
}
