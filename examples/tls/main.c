/* tls: the hello server over HTTPS. GET / answers "Hello, World!".
 *
 *   openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
 *       -days 30 -subj /CN=localhost -addext subjectAltName=DNS:localhost \
 *       -keyout key.pem -out cert.pem
 *   ./build/examples/tls --cert cert.pem --key key.pem --port 8443
 *   curl --cacert cert.pem https://localhost:8443/
 */
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
    zzz_server_memory mem;
    zzz_server_memory_info(server, &mem);
    printf("listening on https://%s:%u (driver %s, %u threads, %zu bytes of TLS state per "
           "connection)\n",
           host, zzz_server_port(server), driver, zzz_server_threads(server), mem.tls_state);
    fflush(stdout);
}

static int usage(const char *prog)
{
    fprintf(stderr,
            "usage: %s --cert FILE --key FILE [--host ADDR] [--port N] [--threads N]\n"
            "          [--conn-limit N]\n",
            prog);
    return 2;
}

int main(int argc, char **argv)
{
    zzz_tls_cert cert = {0};
    zzz_http_config cfg = {.server = {.host = "127.0.0.1", .port = 8443, .threads = 1}};
    for (int i = 1; i < argc; i++) {
        if (i + 1 >= argc)
            return usage(argv[0]);
        if (strcmp(argv[i], "--cert") == 0)
            cert.cert_file = argv[++i];
        else if (strcmp(argv[i], "--key") == 0)
            cert.key_file = argv[++i];
        else if (strcmp(argv[i], "--port") == 0)
            cfg.server.port = (uint16_t)atoi(argv[++i]);
        else if (strcmp(argv[i], "--threads") == 0)
            cfg.server.threads = (unsigned)atoi(argv[++i]);
        else if (strcmp(argv[i], "--host") == 0)
            cfg.server.host = argv[++i];
        else if (strcmp(argv[i], "--conn-limit") == 0)
            cfg.server.conn_limit = (unsigned)atoi(argv[++i]);
        else
            return usage(argv[0]);
    }
    if (!cert.cert_file || !cert.key_file)
        return usage(argv[0]);
    if (!zzz_tls_available()) {
        fprintf(stderr, "tls: this libzzz was built without TLS (BearSSL)\n");
        return 1;
    }
    zzz_tls_config tls = {.certs = &cert, .cert_count = 1};
    cfg.server.tls = &tls;

    zzz_router *router;
    int err = zzz_router_create(&router);
    if (err == 0)
        err = zzz_route(router, "GET", "/", hello, NULL);
    if (err) {
        fprintf(stderr, "tls: router: %s\n", strerror(-err));
        return 1;
    }
    cfg.router = router;
    cfg.server.on_start = on_start;
    cfg.server.start_arg = (void *)cfg.server.host;
    zzz_server *server;
    err = zzz_http_server_create(&server, &cfg);
    if (err) {
        fprintf(stderr, "%s\n", zzz_last_error());
        zzz_router_destroy(router);
        return 1;
    }
    err = zzz_server_run(server);
    zzz_server_destroy(server);
    zzz_router_destroy(router);
    if (err) {
        fprintf(stderr, "tls: %s\n", strerror(-err));
        return 1;
    }
    return 0;
}
