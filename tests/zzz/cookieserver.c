/* The HTTP server the cookie integration tests (cookie_http_test.c) run as
 * a child process: it sets, reads, signs and clears cookies through the
 * public API only, over plain TCP or TLS. Prints "listening on
 * 127.0.0.1:PORT (driver D, N threads)" once it is up. */
#include <zzz.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The signing key (--secret, --old-secret); NULL when the library has no
 * signed cookies (built without TLS). */
static zzz_cookie_key *key;

static const char *err_name(int err)
{
    switch (err) {
    case 0:
        return "ok";
    case -EINVAL:
        return "EINVAL";
    case -ENOBUFS:
        return "ENOBUFS";
    case -EALREADY:
        return "EALREADY";
    case -ENOTSUP:
        return "ENOTSUP";
    default:
        return "other";
    }
}

/* Answers 500 naming the error when a cookie call failed. */
static bool failed(zzz_res *res, const char *what, int err)
{
    if (err == 0)
        return false;
    char text[128];
    snprintf(text, sizeof text, "%s: %s\n", what, err_name(err));
    zzz_res_text(res, 500, text);
    return true;
}

/* GET /set: three cookies in one answer, with attributes. */
static void set(zzz_req *req, zzz_res *res, void *user)
{
    (void)req;
    (void)user;
    zzz_cookie_opts scoped = {.path = "/", .http_only = true, .same_site = ZZZ_SAME_SITE_LAX};
    zzz_cookie_opts aged = {.max_age = 60, .path = "/"};
    if (failed(res, "a", zzz_res_cookie(res, "a", "1", NULL)) ||
        failed(res, "b", zzz_res_cookie(res, "b", "\"two\"", &scoped)) ||
        failed(res, "c", zzz_res_cookie(res, "c", "x.y-z", &aged)))
        return;
    zzz_res_text(res, 200, "set\n");
}

/* GET /echo: each cookie sent, "name=value\n", in order. */
static void echo(zzz_req *req, zzz_res *res, void *user)
{
    (void)user;
    char body[4096];
    size_t len = 0;
    zzz_cookie_iter it = {0};
    zzz_str n, v;
    while (zzz_req_cookie_next(req, &it, &n, &v)) {
        int k = snprintf(body + len, sizeof body - len, "%.*s=%.*s\n", (int)n.len, n.ptr,
                         (int)v.len, v.ptr);
        if (k < 0 || (size_t)k >= sizeof body - len)
            break;
        len += (size_t)k;
    }
    zzz_res_send(res, body, len);
}

/* GET /get/:name: the first cookie of that name, or 404. */
static void get(zzz_req *req, zzz_res *res, void *user)
{
    (void)user;
    zzz_str name, v;
    char cname[128];
    if (!zzz_req_param(req, "name", &name) || name.len >= sizeof cname) {
        zzz_res_text(res, 400, "name\n");
        return;
    }
    memcpy(cname, name.ptr, name.len);
    cname[name.len] = '\0';
    if (!zzz_req_cookie(req, cname, &v)) {
        zzz_res_text(res, 404, "none\n");
        return;
    }
    zzz_res_send(res, v.ptr, v.len);
}

/* The session cookie: "sid", or with ?host=1 "__Host-sid" (Secure, for
 * HTTPS only). */
static const char *session_name(zzz_req *req, zzz_cookie_opts *opts)
{
    zzz_str host;
    bool prefixed = zzz_req_query_param(req, "host", &host) && zzz_str_eq(host, "1");
    *opts = (zzz_cookie_opts){
        .path = "/", .http_only = true, .same_site = ZZZ_SAME_SITE_LAX, .secure = prefixed};
    return prefixed ? "__Host-sid" : "sid";
}

/* GET /login?user=U[&host=1]: a signed session and a plain theme cookie. */
static void login(zzz_req *req, zzz_res *res, void *user)
{
    (void)user;
    zzz_str u;
    char name[64];
    if (!zzz_req_query_param(req, "user", &u) || u.len == 0 || u.len >= sizeof name) {
        zzz_res_text(res, 400, "user\n");
        return;
    }
    memcpy(name, u.ptr, u.len);
    name[u.len] = '\0';
    zzz_cookie_opts opts;
    const char *cookie = session_name(req, &opts);
    int err = zzz_res_cookie_signed(res, key, cookie, name, &opts);
    if (err == -ENOTSUP) {
        zzz_res_text(res, 501, "no signed cookies\n");
        return;
    }
    zzz_cookie_opts theme = {.path = "/"};
    if (failed(res, "session", err) ||
        failed(res, "theme", zzz_res_cookie(res, "theme", "dark", &theme)))
        return;
    char text[96];
    snprintf(text, sizeof text, "welcome %s\n", name);
    zzz_res_text(res, 200, text);
}

/* GET /me[?host=1]: who the signed session says, or 401. */
static void me(zzz_req *req, zzz_res *res, void *user)
{
    (void)user;
    zzz_cookie_opts opts;
    const char *cookie = session_name(req, &opts);
    zzz_str v;
    if (!zzz_req_cookie_signed(req, key, cookie, &v)) {
        zzz_res_text(res, 401, "anonymous\n");
        return;
    }
    char text[160];
    snprintf(text, sizeof text, "user %.*s\n", (int)(v.len < 100 ? v.len : 100), v.ptr);
    zzz_res_text(res, 200, text);
}

/* GET /logout[?host=1]: clears the session of /login; the theme stays.
 * (One cookie cleared per answer: curl 7.88 keeps the first of two
 * cookies that one answer expires.) */
static void logout(zzz_req *req, zzz_res *res, void *user)
{
    (void)user;
    zzz_cookie_opts opts;
    const char *cookie = session_name(req, &opts);
    if (failed(res, "session", zzz_res_cookie_clear(res, cookie, &opts)))
        return;
    zzz_res_text(res, 200, "bye\n");
}

/* GET /forget: clears the theme of /login. */
static void forget(zzz_req *req, zzz_res *res, void *user)
{
    (void)req;
    (void)user;
    zzz_cookie_opts theme = {.path = "/"};
    if (failed(res, "theme", zzz_res_cookie_clear(res, "theme", &theme)))
        return;
    zzz_res_text(res, 200, "forgotten\n");
}

/* GET /many?n=N: N cookies of 60 bytes, up to the first refusal; the
 * body says how many went in and why the next did not. */
static void many(zzz_req *req, zzz_res *res, void *user)
{
    (void)user;
    zzz_str v;
    uint64_t n = 0;
    if (!zzz_req_query_param(req, "n", &v) || zzz_str_to_u64(v, &n) != 0) {
        zzz_res_text(res, 400, "n\n");
        return;
    }
    uint64_t i = 0;
    int err = 0;
    for (; i < n; i++) {
        char name[32];
        snprintf(name, sizeof name, "c%llu", (unsigned long long)i);
        err = zzz_res_cookie(res, name, "vvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvv", NULL);
        if (err)
            break;
    }
    char text[64];
    snprintf(text, sizeof text, "%llu %s\n", (unsigned long long)i, err_name(err));
    zzz_res_text(res, 200, text);
}

/* GET /late: a cookie after the head has left is refused. */
static void late(zzz_req *req, zzz_res *res, void *user)
{
    (void)req;
    (void)user;
    zzz_res_write(res, "head sent; ", 11);
    const char *e = err_name(zzz_res_cookie(res, "late", "1", NULL));
    zzz_res_write(res, e, strlen(e));
    zzz_res_end(res);
}

/* ---- main -------------------------------------------------------------- */

static void on_start(zzz_server *server, const char *driver, void *arg)
{
    (void)arg;
    printf("listening on 127.0.0.1:%u (driver %s, %u threads)\n", zzz_server_port(server), driver,
           zzz_server_threads(server));
    fflush(stdout);
}

static int fail(const char *what, int err)
{
    fprintf(stderr, "cookieserver: %s: %s\n", what, strerror(-err));
    return 1;
}

int main(int argc, char **argv)
{
    zzz_http_config cfg = {.server = {.host = "127.0.0.1", .threads = 1}};
    zzz_tls_cert cert = {0};
    zzz_tls_config tls = {.certs = &cert, .cert_count = 1};
    const char *secret = "cookieserver's secret: 32 bytes or more";
    const char *old[8];
    size_t old_count = 0;
    for (int i = 1; i + 1 < argc; i += 2) {
        const char *arg = argv[i + 1];
        if (strcmp(argv[i], "--port") == 0)
            cfg.server.port = (uint16_t)strtoul(arg, NULL, 10);
        else if (strcmp(argv[i], "--threads") == 0)
            cfg.server.threads = (unsigned)strtoul(arg, NULL, 10);
        else if (strcmp(argv[i], "--secret") == 0)
            secret = arg;
        else if (strcmp(argv[i], "--old-secret") == 0 && old_count < 8)
            old[old_count++] = arg;
        else if (strcmp(argv[i], "--tls-cert") == 0)
            cert.cert_file = arg;
        else if (strcmp(argv[i], "--tls-key") == 0)
            cert.key_file = arg;
        else {
            fprintf(stderr,
                    "usage: %s [--port N] [--threads N] [--secret S] [--old-secret S]...\n"
                    "  [--tls-cert FILE --tls-key FILE]\n",
                    argv[0]);
            return 2;
        }
    }
    int err = zzz_cookie_key_create(&key, secret, strlen(secret));
    if (err && err != -ENOTSUP)
        return fail("key", err);
    for (size_t i = 0; key && i < old_count; i++)
        if ((err = zzz_cookie_key_accept(key, old[i], strlen(old[i]))) != 0)
            return fail("old key", err);
    zzz_router *router;
    err = zzz_router_create(&router);
    if (err)
        return fail("router", err);
    struct {
        const char *pattern;
        zzz_handler handler;
    } routes[] = {
        {"/set", set},       {"/echo", echo}, {"/get/:name", get}, {"/login", login},   {"/me", me},
        {"/logout", logout}, {"/many", many}, {"/late", late},     {"/forget", forget},
    };
    for (size_t i = 0; err == 0 && i < sizeof routes / sizeof routes[0]; i++)
        err = zzz_route(router, "GET", routes[i].pattern, routes[i].handler, NULL);
    if (err)
        return fail("routes", err);
    cfg.router = router;
    cfg.server.on_start = on_start;
    if (cert.cert_file)
        cfg.server.tls = &tls;
    zzz_server *server;
    err = zzz_http_server_create(&server, &cfg);
    if (err) {
        fprintf(stderr, "cookieserver: cannot start: %s: %s\n", strerror(-err), zzz_last_error());
        zzz_router_destroy(router);
        zzz_cookie_key_destroy(key);
        return 1;
    }
    err = zzz_server_run(server);
    zzz_server_destroy(server);
    zzz_router_destroy(router);
    zzz_cookie_key_destroy(key);
    return err ? fail("run", err) : 0;
}
