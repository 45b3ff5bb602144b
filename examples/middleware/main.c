/* middleware: every built-in layer around a few routes.
 *
 *   GET /            text
 *   GET /big         about 1 MiB of text (compressed when the client asks)
 *   GET /api/items   JSON; /api and beneath answer CORS, preflights included
 *   GET /whoami      the request's ID, as a handler reads it
 *
 * Every answer (zzz's own 404s and 429s too) carries X-Request-Id and the
 * security fields; each request is logged in the combined format plus
 * its duration and ID, to stdout, in batches; more than --rate requests
 * a second from one client get 429 with Retry-After. */
#include <zzz.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BIG_BYTES ((size_t)1 << 20)

static char *big_text; /* made once at start: BIG_BYTES of numbered lines */

static void home(zzz_req *req, zzz_res *res, void *user)
{
    (void)req;
    (void)user;
    zzz_res_text(res, 200, "Hello from the middleware example.\n");
}

static void big(zzz_req *req, zzz_res *res, void *user)
{
    (void)req;
    (void)user;
    zzz_res_header(res, "Content-Type", "text/plain; charset=utf-8");
    zzz_res_send(res, big_text, BIG_BYTES);
}

static void items(zzz_req *req, zzz_res *res, void *user)
{
    (void)req;
    (void)user;
    static const char json[] = "{\"items\":[{\"id\":1,\"name\":\"tea\"},{\"id\":2,\"name\":\"milk\"}]}\n";
    zzz_res_header(res, "Content-Type", "application/json");
    zzz_res_send(res, json, sizeof json - 1);
}

static void whoami(zzz_req *req, zzz_res *res, void *user)
{
    (void)user;
    zzz_str id = zzz_request_id(req);
    char text[300];
    snprintf(text, sizeof text, "your request is %.*s\n", (int)id.len, id.ptr);
    zzz_res_text(res, 200, text);
}

static void on_start(zzz_server *server, const char *driver, void *arg)
{
    const char *host = arg;
    printf("listening on %s:%u (driver %s, %u threads)\n", host, zzz_server_port(server), driver,
           zzz_server_threads(server));
    fflush(stdout);
}

static char *make_big(void)
{
    char *text = malloc(BIG_BYTES);
    if (!text)
        return NULL;
    size_t at = 0;
    for (unsigned line = 1; at < BIG_BYTES; line++) {
        char piece[80];
        int n = snprintf(piece, sizeof piece, "%07u the quick brown fox jumps over the lazy dog\n", line);
        size_t take = (size_t)n < BIG_BYTES - at ? (size_t)n : BIG_BYTES - at;
        memcpy(text + at, piece, take);
        at += take;
    }
    return text;
}

static int add_layers(zzz_router *router, double rate, int gzip_level)
{
    /* Outermost first: the ID exists before anything logs or refuses. */
    int err = zzz_use_request_id(router, "/", NULL);
    zzz_access_log_config log = {.fd = 1};
    if (err == 0)
        err = zzz_use_access_log(router, "/", &log);
    if (err == 0)
        err = zzz_use_security_headers(router, "/", NULL);
    zzz_rate_limit_config limit = {.rate = rate};
    if (err == 0)
        err = zzz_use_rate_limit(router, "/", &limit);
    zzz_compress_config compress = {.gzip_level = gzip_level};
    if (err == 0) {
        err = zzz_use_compression(router, "/", &compress);
        if (err == -ENOTSUP) {
            fprintf(stderr, "middleware: libzzz has neither zlib nor brotli: no compression\n");
            err = 0;
        }
    }
    static const char *const methods[] = {"GET", "HEAD", "POST", "PUT", "DELETE", NULL};
    static const char *const headers[] = {"Content-Type", "Authorization", NULL};
    zzz_cors_config cors = {.methods = methods, .headers = headers};
    if (err == 0)
        err = zzz_use_cors(router, "/api", &cors);
    return err;
}

int main(int argc, char **argv)
{
    zzz_http_config cfg = {.server = {.host = "127.0.0.1", .port = 8080, .threads = 1}};
    double rate = 100;
    int gzip_level = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--port") == 0 && i + 1 < argc)
            cfg.server.port = (uint16_t)atoi(argv[++i]);
        else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc)
            cfg.server.threads = (unsigned)atoi(argv[++i]);
        else if (strcmp(argv[i], "--host") == 0 && i + 1 < argc)
            cfg.server.host = argv[++i];
        else if (strcmp(argv[i], "--conn-limit") == 0 && i + 1 < argc)
            cfg.server.conn_limit = (unsigned)atoi(argv[++i]);
        else if (strcmp(argv[i], "--rate") == 0 && i + 1 < argc)
            rate = atof(argv[++i]);
        else if (strcmp(argv[i], "--gzip-level") == 0 && i + 1 < argc)
            gzip_level = atoi(argv[++i]);
        else {
            fprintf(stderr,
                    "usage: %s [--host ADDR] [--port N] [--threads N] [--conn-limit N]\n"
                    "       [--rate REQUESTS_PER_S] [--gzip-level 1..9]\n",
                    argv[0]);
            return 2;
        }
    }
    if (!(rate > 0 && rate <= 1e6) || gzip_level < 0 || gzip_level > 9) {
        fprintf(stderr, "middleware: --rate is 0..1e6 (not 0), --gzip-level 1..9\n");
        return 2;
    }
    big_text = make_big();
    zzz_router *router;
    int err = big_text ? zzz_router_create(&router) : -ENOMEM;
    if (err) {
        fprintf(stderr, "middleware: %s\n", strerror(-err));
        free(big_text);
        return 1;
    }
    err = zzz_route(router, "GET", "/", home, NULL);
    if (err == 0)
        err = zzz_route(router, "GET", "/big", big, NULL);
    if (err == 0)
        err = zzz_route(router, "GET", "/api/items", items, NULL);
    if (err == 0)
        err = zzz_route(router, "GET", "/whoami", whoami, NULL);
    if (err == 0)
        err = add_layers(router, rate, gzip_level);
    if (err) {
        fprintf(stderr, "middleware: router: %s\n", strerror(-err));
        zzz_router_destroy(router);
        free(big_text);
        return 1;
    }
    cfg.router = router;
    cfg.server.on_start = on_start;
    cfg.server.start_arg = (void *)cfg.server.host;
    zzz_server *server;
    err = zzz_http_server_create(&server, &cfg);
    if (err) {
        fprintf(stderr, "middleware: cannot listen on %s:%u: %s\n", cfg.server.host,
                cfg.server.port, strerror(-err));
        zzz_router_destroy(router);
        free(big_text);
        return 1;
    }
    err = zzz_server_run(server);
    zzz_server_destroy(server);
    zzz_router_destroy(router);
    free(big_text);
    if (err) {
        fprintf(stderr, "middleware: %s\n", strerror(-err));
        return 1;
    }
    return 0;
}
