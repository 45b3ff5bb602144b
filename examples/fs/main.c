/* fs: serves a directory over HTTP with zzz_static: types, validators
 * (304), ranges (206), directory indexes, pre-compressed siblings, and
 * nothing from outside the directory. /favicon.ico is built in, served
 * from memory with zzz_static_bytes.
 *
 *   fs --root DIR [--prefix P] [--list] [--host ADDR] [--port N]
 *      [--threads N] [--conn-limit N] [--tls-cert FILE --tls-key FILE]
 *
 * Try it on examples/fs/public: fs --root examples/fs/public */
#include <zzz.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct fs_start {
    const char *host, *root, *prefix;
    bool tls;
} fs_start;

/* A 1x1 icon (ICO holding one 32-bit BMP): the browser's request for
 * /favicon.ico is answered from memory, whatever the directory holds. */
static const unsigned char favicon[] = {
    /* ICONDIR (1 image), then its entry: 1x1, 32 bpp, 48 bytes at 22 */
    0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x01, 0x01, 0x00, 0x00, 0x01, 0x00, 0x20, 0x00, 0x30, 0x00,
    0x00, 0x00, 0x16, 0x00, 0x00, 0x00,
    /* BITMAPINFOHEADER: 1 wide, 2 high (colour and mask), 32 bpp */
    0x28, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x01, 0x00, 0x20, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    /* one orange pixel (BGRA), then the mask's row */
    0x3c, 0x7a, 0xe8, 0xff, 0x00, 0x00, 0x00, 0x00};

static void on_start(zzz_server *server, const char *driver, void *arg)
{
    const fs_start *st = arg;
    printf("listening on %s%s:%u (driver %s, %u threads), serving %s at %s\n",
           st->tls ? "https://" : "", st->host, zzz_server_port(server), driver,
           zzz_server_threads(server), st->root, st->prefix);
    fflush(stdout);
}

static int usage(const char *prog)
{
    fprintf(stderr,
            "usage: %s --root DIR [--prefix P] [--list] [--host ADDR] [--port N] [--threads N]\n"
            "  [--conn-limit N] [--tls-cert FILE --tls-key FILE]\n",
            prog);
    return 2;
}

int main(int argc, char **argv)
{
    zzz_http_config cfg = {.server = {.host = "127.0.0.1", .port = 8080, .threads = 1}};
    fs_start st = {.prefix = "/"};
    zzz_static_opts opts = {.cache_control = "no-cache"};
    zzz_tls_cert cert = {0};
    zzz_tls_config tls = {.certs = &cert, .cert_count = 1};
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--list") == 0) {
            opts.list_dirs = true;
            continue;
        }
        if (i + 1 >= argc)
            return usage(argv[0]);
        const char *flag = argv[i], *arg = argv[++i];
        if (strcmp(flag, "--root") == 0)
            st.root = arg;
        else if (strcmp(flag, "--prefix") == 0)
            st.prefix = arg;
        else if (strcmp(flag, "--port") == 0)
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
    if (!st.root || !cert.cert_file != !cert.key_file)
        return usage(argv[0]);
    if (cert.cert_file) {
        if (!zzz_tls_available()) {
            fprintf(stderr, "fs: this libzzz was built without TLS (BearSSL)\n");
            return 1;
        }
        cfg.server.tls = &tls;
        st.tls = true;
    }
    st.host = cfg.server.host;
    zzz_router *router;
    int err = zzz_router_create(&router);
    if (err == 0)
        err = zzz_static(router, st.prefix, st.root, &opts);
    if (err == 0)
        err = zzz_static_bytes(router, "/favicon.ico", favicon, sizeof favicon, "image/x-icon");
    if (err) {
        fprintf(stderr, "fs: cannot serve %s at %s: %s\n", st.root, st.prefix, strerror(-err));
        zzz_router_destroy(router);
        return 1;
    }
    cfg.router = router;
    cfg.server.on_start = on_start;
    cfg.server.start_arg = &st;
    zzz_server *server;
    err = zzz_http_server_create(&server, &cfg);
    if (err) {
        fprintf(stderr, "fs: cannot listen on %s:%u: %s (%s)\n", cfg.server.host, cfg.server.port,
                strerror(-err), zzz_last_error());
        zzz_router_destroy(router);
        return 1;
    }
    err = zzz_server_run(server);
    zzz_server_destroy(server);
    zzz_router_destroy(router);
    if (err) {
        fprintf(stderr, "fs: %s\n", strerror(-err));
        return 1;
    }
    return 0;
}
