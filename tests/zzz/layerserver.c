/* The HTTP server the built-in layers' integration tests (layers_test.c)
 * run as a child process: flags switch each layer on (request ID, access
 * log, security headers, CORS, rate limit, basic auth), in the order the
 * docs advise, around a few routes that show what the layers hand on.
 * Prints "listening on 127.0.0.1:PORT (driver D, N threads)" once up. */
#include <zzz.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- handlers ----------------------------------------------------------- */

/* "hello", and which thread answered (X-Thread). */
static void hello(zzz_req *req, zzz_res *res, void *user)
{
    (void)req;
    (void)user;
    char thread[16];
    snprintf(thread, sizeof thread, "%u", tardy_runtime_index(tardy_runtime_self()));
    zzz_res_header(res, "X-Thread", thread);
    zzz_res_text(res, 200, "hello\n");
}

/* The request's ID as the handler reads it. */
static void show_id(zzz_req *req, zzz_res *res, void *user)
{
    (void)user;
    zzz_str id = zzz_request_id(req);
    zzz_res_header(res, "Content-Type", "text/plain");
    zzz_res_send(res, id.ptr, id.len);
}

/* The user basic auth let in. */
static void show_user(zzz_req *req, zzz_res *res, void *user)
{
    (void)user;
    zzz_str name = zzz_basic_auth_user(req);
    zzz_res_header(res, "Content-Type", "text/plain");
    zzz_res_send(res, name.ptr, name.len);
}

/* Fields a layer must not add twice. */
static void own_fields(zzz_req *req, zzz_res *res, void *user)
{
    (void)req;
    (void)user;
    zzz_res_header(res, "X-Frame-Options", "SAMEORIGIN");
    zzz_res_header(res, "X-Request-Id", "chosen-by-handler");
    zzz_res_header(res, "Access-Control-Allow-Origin", "https://own.example");
    zzz_res_header(res, "Referrer-Policy", "no-referrer");
    zzz_res_text(res, 200, "own\n");
}

/* Reads the body, then answers with its length. */
static void upload(zzz_req *req, zzz_res *res, void *user)
{
    (void)user;
    zzz_str body;
    if (zzz_req_body(req, &body) != 0)
        return; /* zzz answers the failure */
    char text[32];
    snprintf(text, sizeof text, "got %zu\n", body.len);
    zzz_res_text(res, 200, text);
}

/* 1000 bytes, streamed in pieces. */
static void stream(zzz_req *req, zzz_res *res, void *user)
{
    (void)req;
    (void)user;
    char piece[100];
    memset(piece, 'x', sizeof piece);
    for (int i = 0; i < 10; i++)
        zzz_res_write(res, piece, sizeof piece);
    zzz_res_end(res);
}

static void no_answer(zzz_req *req, zzz_res *res, void *user)
{
    (void)req;
    (void)res;
    (void)user;
}

/* Takes the connection over with 101, says "bye" and closes. */
static void upgrade(zzz_req *req, zzz_res *res, void *user)
{
    (void)req;
    (void)user;
    zzz_res_header(res, "Upgrade", "test");
    zzz_conn *conn;
    if (zzz_res_take_over(res, 101, &conn) == 0)
        zzz_conn_write(conn, "bye", 3);
}

/* ---- layer callbacks ------------------------------------------------------ */

/* alice's password is open:sesame; the user "any" gets in with any
 * password (so that what the layer refuses before asking shows). */
static bool check_password(zzz_str user, zzz_str password, void *user_data)
{
    (void)user_data;
    if (zzz_str_eq(user, "any"))
        return true;
    /* Both compared, whatever the first gives, so the time says nothing
     * about which was wrong. */
    bool user_ok = zzz_secure_eq(user, (zzz_str){"alice", 5});
    bool pass_ok = zzz_secure_eq(password, (zzz_str){"open:sesame", 11});
    return user_ok & pass_ok;
}

/* The rate limit's key: X-Api-Key, when the request has one. */
static zzz_str api_key(zzz_req *req, void *user)
{
    (void)user;
    zzz_str key = {"", 0};
    zzz_req_header(req, "X-Api-Key", &key);
    return key;
}

/* ---- main --------------------------------------------------------------------- */

static void on_start(zzz_server *server, const char *driver, void *arg)
{
    (void)arg;
    printf("listening on 127.0.0.1:%u (driver %s, %u threads)\n", zzz_server_port(server), driver,
           zzz_server_threads(server));
    fflush(stdout);
}

static int fail(const char *what, int err)
{
    fprintf(stderr, "layerserver: %s: %s\n", what, strerror(-err));
    return 1;
}

static int usage(const char *prog)
{
    fprintf(stderr,
            "usage: %s [--port N] [--threads N] [--max-body N] [--tls-cert F --tls-key F]\n"
            "  [--request-id 1] [--rid-ignore-client 1] [--rid-header NAME] [--rid-max N]\n"
            "  [--access-log PATH] [--log-fd-path PATH] [--log-buffer N] [--log-flush-ms N]\n"
            "  [--log-field N] [--security default|custom|none-hsts] [--hsts-without-tls 1]\n"
            "  [--cors list|any|list-cred|list-cred-noage|wild] [--rate R] [--burst N]\n"
            "  [--rate-clients N] [--rate-key 1] [--rate-route 1] [--auth 1]\n",
            prog);
    return 2;
}

int main(int argc, char **argv)
{
    zzz_http_config cfg = {.server = {.host = "127.0.0.1", .threads = 1}};
    zzz_tls_cert cert = {0};
    zzz_tls_config tls = {.certs = &cert, .cert_count = 1};
    zzz_request_id_config rid = {0};
    zzz_access_log_config log = {0};
    zzz_security_headers_config sec = {0};
    zzz_rate_limit_config rate = {0};
    bool use_rid = false, use_log = false, use_sec = false, use_rate = false, use_auth = false;
    bool rate_route = false;
    const char *cors = NULL, *log_fd_path = NULL;
    for (int i = 1; i < argc; i++) {
        const char *flag = argv[i];
        if (i + 1 >= argc)
            return usage(argv[0]);
        const char *arg = argv[++i];
        unsigned long long v = strtoull(arg, NULL, 10);
        if (strcmp(flag, "--port") == 0)
            cfg.server.port = (uint16_t)v;
        else if (strcmp(flag, "--threads") == 0)
            cfg.server.threads = (unsigned)v;
        else if (strcmp(flag, "--max-body") == 0)
            cfg.max_body = (size_t)v;
        else if (strcmp(flag, "--tls-cert") == 0)
            cert.cert_file = arg;
        else if (strcmp(flag, "--tls-key") == 0)
            cert.key_file = arg;
        else if (strcmp(flag, "--request-id") == 0)
            use_rid = v != 0;
        else if (strcmp(flag, "--rid-ignore-client") == 0)
            rid.ignore_client = v != 0;
        else if (strcmp(flag, "--rid-header") == 0)
            rid.header = arg;
        else if (strcmp(flag, "--rid-max") == 0)
            rid.max_len = (size_t)v;
        else if (strcmp(flag, "--access-log") == 0) {
            log.path = arg;
            use_log = true;
        } else if (strcmp(flag, "--log-fd-path") == 0) {
            log_fd_path = arg;
            use_log = true;
        } else if (strcmp(flag, "--log-buffer") == 0)
            log.buffer_bytes = (size_t)v;
        else if (strcmp(flag, "--log-flush-ms") == 0)
            log.flush_ms = (uint32_t)v;
        else if (strcmp(flag, "--log-field") == 0)
            log.field_max = (size_t)v;
        else if (strcmp(flag, "--security") == 0) {
            use_sec = true;
            if (strcmp(arg, "custom") == 0) {
                sec.hsts_max_age = 63072000;
                sec.hsts_subdomains = true;
                sec.hsts_preload = true;
                sec.frame_options = "SAMEORIGIN";
                sec.referrer_policy = "no-referrer, strict-origin";
                sec.content_security_policy = "default-src 'self'";
            } else if (strcmp(arg, "none-hsts") == 0) {
                sec.no_hsts = true;
                sec.no_nosniff = true;
                sec.frame_options = "";
                sec.referrer_policy = "";
            }
        } else if (strcmp(flag, "--hsts-without-tls") == 0)
            sec.hsts_without_tls = v != 0;
        else if (strcmp(flag, "--cors") == 0)
            cors = arg;
        else if (strcmp(flag, "--rate") == 0) {
            rate.rate = strtod(arg, NULL);
            use_rate = true;
        } else if (strcmp(flag, "--burst") == 0)
            rate.burst = (unsigned)v;
        else if (strcmp(flag, "--rate-clients") == 0)
            rate.clients = (unsigned)v;
        else if (strcmp(flag, "--rate-key") == 0)
            rate.key = v ? api_key : NULL;
        else if (strcmp(flag, "--rate-route") == 0)
            rate_route = v != 0;
        else if (strcmp(flag, "--auth") == 0)
            use_auth = v != 0;
        else
            return usage(argv[0]);
    }
    zzz_router *router;
    int err = zzz_router_create(&router);
    if (err)
        return fail("router", err);
    struct {
        const char *method, *pattern;
        zzz_handler handler;
    } routes[] = {
        {"GET", "/", hello},
        {"GET", "/id", show_id},
        {"GET", "/own", own_fields},
        {"POST", "/upload", upload},
        {"POST", "/ignore", hello},
        {"GET", "/stream", stream},
        {"GET", "/noanswer", no_answer},
        {"GET", "/upgrade", upgrade},
        {"GET", "/private/user", show_user},
        {"GET", "/limited/x", hello},
        {"POST", "/login", hello},
        {"PUT", "/api/items", hello},
    };
    for (size_t i = 0; err == 0 && i < sizeof routes / sizeof routes[0]; i++)
        err = zzz_route(router, routes[i].method, routes[i].pattern, routes[i].handler, NULL);
    if (err)
        return fail("routes", err);
    /* Outermost first, as the docs advise. */
    if (use_rid && (err = zzz_use_request_id(router, "/", &rid)) != 0)
        return fail("request id", err);
    if (use_log) {
        if (log_fd_path) {
            log.fd = open(log_fd_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
            if (log.fd < 0)
                return fail(log_fd_path, -errno);
        }
        if ((err = zzz_use_access_log(router, "/", &log)) != 0)
            return fail("access log", err);
    }
    if (use_sec && (err = zzz_use_security_headers(router, "/", &sec)) != 0)
        return fail("security headers", err);
    if (cors) {
        static const char *const origins[] = {"https://app.example", "http://localhost:8080", NULL};
        static const char *const any[] = {"*", NULL};
        static const char *const methods[] = {"GET", "PUT", "DELETE", NULL};
        static const char *const headers[] = {"X-Token", "Content-Type", NULL};
        static const char *const expose[] = {"X-Total", "X-Page", NULL};
        zzz_cors_config c = {.origins = origins,
                             .methods = methods,
                             .headers = headers,
                             .expose = expose,
                             .max_age = 300};
        if (strcmp(cors, "any") == 0)
            c = (zzz_cors_config){0};
        else if (strcmp(cors, "list-cred") == 0)
            c.credentials = true;
        else if (strcmp(cors, "list-cred-noage") == 0)
            c = (zzz_cors_config){.origins = origins, .credentials = true, .max_age = -1};
        else if (strcmp(cors, "wild") == 0)
            c = (zzz_cors_config){.origins = origins, .methods = any, .headers = any};
        if ((err = zzz_use_cors(router, "/", &c)) != 0)
            return fail("cors", err);
    }
    if (use_rate) {
        if (rate_route) {
            /* One route only, through the layer's second form. */
            zzz_layer layer;
            void *user;
            err = zzz_rate_limit_layer(router, &rate, &layer, &user);
            if (err == 0)
                err = zzz_route_use(router, "POST", "/login", layer, user);
        } else {
            err = zzz_use_rate_limit(router, "/limited", &rate);
        }
        if (err)
            return fail("rate limit", err);
    }
    if (use_auth) {
        zzz_basic_auth_config auth = {.check = check_password, .realm = "Test Realm"};
        if ((err = zzz_use_basic_auth(router, "/private", &auth)) != 0)
            return fail("basic auth", err);
    }
    cfg.router = router;
    if (cert.cert_file)
        cfg.server.tls = &tls;
    cfg.server.on_start = on_start;
    zzz_server *server;
    err = zzz_http_server_create(&server, &cfg);
    if (err) {
        zzz_router_destroy(router);
        fprintf(stderr, "%s\n", zzz_last_error());
        return fail("server", err);
    }
    err = zzz_server_run(server);
    zzz_server_destroy(server);
    zzz_router_destroy(router);
    if (log_fd_path)
        close(log.fd);
    return err ? fail("run", err) : 0;
}
