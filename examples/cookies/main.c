/* cookies: a session kept in a signed cookie.
 *
 *   GET /login?user=NAME  sets the cookie "session" to NAME, signed
 *                         (HttpOnly, SameSite=Lax, Path=/), and says so
 *   GET /whoami           "you are NAME", or 401 without a valid session
 *   GET /logout           removes the cookie
 *
 * The signature is an HMAC-SHA256 under a secret of the server's: a
 * client can read its session but not change it, and a changed one reads
 * as no session at all. The value carries its own end ("NAME~EXPIRY",
 * a day after the login), checked here too: a browser drops the cookie
 * at Max-Age, but a copy of it would otherwise stay good for as long as
 * the secret does. The secret comes from --secret-file (at least 32
 * bytes), else from the kernel's random at start (sessions then end when
 * the server does). With --secure the cookie is "__Host-session", marked
 * Secure, for a server behind HTTPS (the prefix stops a sibling
 * subdomain from planting one). NAME is 1 to 64 letters, digits, '.',
 * '_' or '-'. Logging in and out with GET keeps the example to a browser's
 * address bar; a real site does both with POST (and a CSRF check), since
 * any page can make a browser GET a URL. */
#include <zzz.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#define SESSION_SECONDS (24 * 3600)

typedef struct app {
    zzz_cookie_key *key;
    const char *cookie;      /* "session", or "__Host-session" (--secure) */
    zzz_cookie_opts session; /* how the session cookie is set and cleared */
} app;

static bool name_ok(zzz_str name)
{
    if (name.len == 0 || name.len > 64)
        return false;
    for (size_t i = 0; i < name.len; i++) {
        char c = name.ptr[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '.' || c == '_' || c == '-';
        if (!ok)
            return false;
    }
    return true;
}

static void login(zzz_req *req, zzz_res *res, void *user)
{
    const app *a = user;
    zzz_str name;
    if (!zzz_req_query_param(req, "user", &name) || !name_ok(name)) {
        zzz_res_text(res, 400, "user: 1 to 64 letters, digits, '.', '_' or '-'\n");
        return;
    }
    char value[100];
    snprintf(value, sizeof value, "%.*s~%lld", (int)name.len, name.ptr,
             (long long)time(NULL) + SESSION_SECONDS);
    int err = zzz_res_cookie_signed(res, a->key, a->cookie, value, &a->session);
    if (err) {
        zzz_res_error(res, 500, "cannot set the session cookie");
        return;
    }
    char text[100];
    snprintf(text, sizeof text, "logged in as %.*s\n", (int)name.len, name.ptr);
    zzz_res_text(res, 200, text);
}

static void whoami(zzz_req *req, zzz_res *res, void *user)
{
    const app *a = user;
    zzz_str value;
    if (!zzz_req_cookie_signed(req, a->key, a->cookie, &value)) {
        zzz_res_text(res, 401, "no session\n");
        return;
    }
    /* NAME~EXPIRY, as login signed it. */
    const char *tilde = memchr(value.ptr, '~', value.len);
    zzz_str name = {value.ptr, tilde ? (size_t)(tilde - value.ptr) : 0};
    int64_t expiry;
    if (!tilde || zzz_str_to_i64((zzz_str){tilde + 1, value.len - name.len - 1}, &expiry) != 0 ||
        expiry < (int64_t)time(NULL)) {
        zzz_res_text(res, 401, "session expired\n");
        return;
    }
    char text[100];
    snprintf(text, sizeof text, "you are %.*s\n", (int)name.len, name.ptr);
    zzz_res_header(res, "Cache-Control", "no-store");
    zzz_res_text(res, 200, text);
}

static void logout(zzz_req *req, zzz_res *res, void *user)
{
    (void)req;
    const app *a = user;
    zzz_res_cookie_clear(res, a->cookie, &a->session);
    zzz_res_text(res, 200, "logged out\n");
}

static void on_start(zzz_server *server, const char *driver, void *arg)
{
    const char *host = arg;
    printf("listening on %s:%u (driver %s, %u threads)\n", host, zzz_server_port(server), driver,
           zzz_server_threads(server));
    fflush(stdout);
}

/* The secret: the file's bytes (32 to 4096), or 32 random ones. */
static int secret_get(const char *path, unsigned char *secret, size_t cap, size_t *len)
{
    if (!path) {
        *len = 32;
        return getrandom(secret, 32, 0) == 32 ? 0 : -EIO;
    }
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    ssize_t n = read(fd, secret, cap);
    close(fd);
    if (n < 32)
        return -EINVAL;
    *len = (size_t)n;
    return 0;
}

int main(int argc, char **argv)
{
    zzz_http_config cfg = {.server = {.host = "127.0.0.1", .port = 8080, .threads = 1}};
    const char *secret_file = NULL;
    bool secure = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--port") == 0 && i + 1 < argc)
            cfg.server.port = (uint16_t)atoi(argv[++i]);
        else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc)
            cfg.server.threads = (unsigned)atoi(argv[++i]);
        else if (strcmp(argv[i], "--host") == 0 && i + 1 < argc)
            cfg.server.host = argv[++i];
        else if (strcmp(argv[i], "--conn-limit") == 0 && i + 1 < argc)
            cfg.server.conn_limit = (unsigned)atoi(argv[++i]);
        else if (strcmp(argv[i], "--secret-file") == 0 && i + 1 < argc)
            secret_file = argv[++i];
        else if (strcmp(argv[i], "--secure") == 0)
            secure = true;
        else {
            fprintf(stderr,
                    "usage: %s [--host ADDR] [--port N] [--threads N] [--conn-limit N]\n"
                    "       [--secret-file PATH] [--secure]\n",
                    argv[0]);
            return 2;
        }
    }
    unsigned char secret[4096];
    size_t secret_len = 0;
    int err = secret_get(secret_file, secret, sizeof secret, &secret_len);
    if (err) {
        fprintf(stderr, "cookies: the secret: %s (a file of 32 bytes or more)\n", strerror(-err));
        return 1;
    }
    app a = {
        .cookie = secure ? "__Host-session" : "session",
        .session = {.path = "/",
                    .http_only = true,
                    .same_site = ZZZ_SAME_SITE_LAX,
                    .secure = secure,
                    .max_age = SESSION_SECONDS},
    };
    err = zzz_cookie_key_create(&a.key, secret, secret_len);
    explicit_bzero(secret, sizeof secret);
    if (err) {
        fprintf(stderr, "cookies: key: %s\n", strerror(-err));
        return 1;
    }
    zzz_router *router;
    err = zzz_router_create(&router);
    if (err == 0)
        err = zzz_route(router, "GET", "/login", login, &a);
    if (err == 0)
        err = zzz_route(router, "GET", "/whoami", whoami, &a);
    if (err == 0)
        err = zzz_route(router, "GET", "/logout", logout, &a);
    if (err) {
        fprintf(stderr, "cookies: router: %s\n", strerror(-err));
        zzz_cookie_key_destroy(a.key);
        return 1;
    }
    cfg.router = router;
    cfg.server.on_start = on_start;
    cfg.server.start_arg = (void *)cfg.server.host;
    zzz_server *server;
    err = zzz_http_server_create(&server, &cfg);
    if (err) {
        fprintf(stderr, "cookies: cannot listen on %s:%u: %s\n", cfg.server.host, cfg.server.port,
                strerror(-err));
        zzz_router_destroy(router);
        zzz_cookie_key_destroy(a.key);
        return 1;
    }
    err = zzz_server_run(server);
    zzz_server_destroy(server);
    zzz_router_destroy(router);
    zzz_cookie_key_destroy(a.key);
    if (err) {
        fprintf(stderr, "cookies: %s\n", strerror(-err));
        return 1;
    }
    return 0;
}
