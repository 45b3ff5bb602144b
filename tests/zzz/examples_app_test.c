/* Integration tests of the framework's examples, run as they ship: the
 * cookies example (a session in a signed cookie, driven by curl and its
 * cookie jar, and by raw sockets for a changed cookie) and the middleware
 * example (every built-in layer on). Once per I/O driver. */
#include "harness.h"

TestSuite(examples_app, .fini = harness_cleanup, .timeout = 120);

static void start_example(server *s, const char *env, const char *const *extra)
{
    const char *args[16] = {"--port", "0", "--threads", "1"};
    size_t n = 4;
    for (size_t i = 0; extra && extra[i] && n < 15; i++)
        args[n++] = extra[i];
    args[n] = NULL;
    server_start(s, example_path(env), args);
}

/* curl with a cookie jar: GET path; the body, and the status in *status. */
static char *curl_jar(uint16_t port, const char *jar, const char *path, int *status)
{
    char url[256];
    snprintf(url, sizeof url, "http://127.0.0.1:%u%s", port, path);
    const char *argv[] = {"curl", "-sS",    "--max-time", "10", "-b", jar, "-c", jar,
                          "-w",   "\n%{http_code}", url, NULL};
    char *out;
    int rc = run_capture(argv, &out, 15000);
    cr_assert_eq(rc, 0, "curl %s: %d: %s", path, rc, out);
    char *last = strrchr(out, '\n');
    cr_assert(last, "no status from curl: %s", out);
    *status = atoi(last + 1);
    *last = '\0';
    return out;
}

Test(examples_app, cookies_session_round_trip)
{
    server s;
    start_example(&s, "ZZZ_COOKIES", NULL);
    char dir[256], jar[300];
    harness_temp_dir(dir, sizeof dir, "cookies");
    snprintf(jar, sizeof jar, "%s/jar", dir);
    int status;
    char *body = curl_jar(s.port, jar, "/whoami", &status);
    cr_assert_eq(status, 401, "without a session: %d %s", status, body);
    free(body);
    body = curl_jar(s.port, jar, "/login?user=alice", &status);
    cr_assert_eq(status, 200);
    cr_assert_str_eq(body, "logged in as alice\n");
    free(body);
    body = curl_jar(s.port, jar, "/whoami", &status);
    cr_assert_eq(status, 200);
    cr_assert_str_eq(body, "you are alice\n");
    free(body);
    body = curl_jar(s.port, jar, "/logout", &status);
    cr_assert_eq(status, 200);
    free(body);
    body = curl_jar(s.port, jar, "/whoami", &status);
    cr_assert_eq(status, 401, "after logout: %d %s", status, body);
    free(body);
    body = curl_jar(s.port, jar, "/login?user=no%20spaces", &status);
    cr_assert_eq(status, 400);
    free(body);
    harness_remove_tree(dir);
    server_stop(&s);
}

Test(examples_app, cookies_attributes_and_tampering)
{
    server s;
    start_example(&s, "ZZZ_COOKIES", NULL);
    response r;
    exchange(s.port, "GET /login?user=bob HTTP/1.1\r\nHost: t\r\n\r\n", &r);
    expect_status(&r, 200);
    const char *set = resp_header(&r, "Set-Cookie");
    cr_assert(set, "%s", r.head);
    /* session=bob~EXPIRY.<43 characters of base64url>; and the
     * attributes. */
    cr_assert(strncmp(set, "session=bob~", 12) == 0, "%s", set);
    const char *semi = strchr(set, ';');
    const char *dot = memchr(set, '.', (size_t)(semi - set));
    cr_assert(semi && dot && semi - (dot + 1) == 43, "%s", set);
    long long expiry = atoll(set + 12);
    long long now = (long long)time(NULL);
    cr_assert(expiry > now + 23 * 3600 && expiry <= now + 24 * 3600 + 5, "%s", set);
    cr_assert(strstr(set, "; Path=/") && strstr(set, "; HttpOnly") &&
                  strstr(set, "; SameSite=Lax") && strstr(set, "; Max-Age=86400"),
              "%s", set);
    cr_assert_null(strstr(set, "Secure"), "%s", set);
    char cookie[128];
    snprintf(cookie, sizeof cookie, "%.*s", (int)(semi - set), set);
    response_free(&r);
    char request[1024];
    snprintf(request, sizeof request, "GET /whoami HTTP/1.1\r\nHost: t\r\nCookie: %s\r\n\r\n",
             cookie);
    exchange(s.port, request, &r);
    expect_status(&r, 200);
    expect_body(&r, "you are bob\n");
    response_free(&r);
    /* Another name with bob's signature, a changed byte of the
     * signature, the signature cut, no signature: no session. */
    char forged[4][160];
    snprintf(forged[0], sizeof forged[0], "session=eve~%s", cookie + 12);
    snprintf(forged[1], sizeof forged[1], "%s", cookie);
    forged[1][strlen(forged[1]) - 1] ^= 1;
    snprintf(forged[2], sizeof forged[2], "%.*s", (int)strlen(cookie) - 1, cookie);
    snprintf(forged[3], sizeof forged[3], "session=bob~%lld", expiry);
    for (int i = 0; i < 4; i++) {
        snprintf(request, sizeof request, "GET /whoami HTTP/1.1\r\nHost: t\r\nCookie: %s\r\n\r\n",
                 forged[i]);
        exchange(s.port, request, &r);
        cr_assert_eq(r.status, 401, "forged cookie %d (%s) read as valid", i, forged[i]);
        response_free(&r);
    }
    /* The logout clears it: an empty value that expires now. */
    exchange(s.port, "GET /logout HTTP/1.1\r\nHost: t\r\n\r\n", &r);
    set = resp_header(&r, "Set-Cookie");
    cr_assert(set && strncmp(set, "session=;", 9) == 0 && strstr(set, "Max-Age=0"), "%s",
              r.head);
    response_free(&r);
    server_stop(&s);
    /* Behind HTTPS (--secure): a __Host- cookie, Secure. */
    start_example(&s, "ZZZ_COOKIES", (const char *const[]){"--secure", NULL});
    exchange(s.port, "GET /login?user=bob HTTP/1.1\r\nHost: t\r\n\r\n", &r);
    set = resp_header(&r, "Set-Cookie");
    cr_assert(set && strncmp(set, "__Host-session=bob~", 19) == 0 && strstr(set, "; Secure"),
              "%s", r.head);
    response_free(&r);
    server_stop(&s);
}

/* ---- middleware --------------------------------------------------------- */

static void ask(uint16_t port, const char *request, response *r)
{
    exchange(port, request, r);
    const char *id = resp_header(r, "X-Request-Id");
    cr_assert(id && *id, "no X-Request-Id:\n%s", r->head);
    cr_assert(header_is(r, "X-Content-Type-Options", "nosniff"), "%s", r->head);
}

Test(examples_app, middleware_routes_ids_cors_compression)
{
    server s;
    start_example(&s, "ZZZ_MIDDLEWARE", (const char *const[]){"--rate", "1000", NULL});
    response r;
    ask(s.port, "GET / HTTP/1.1\r\nHost: t\r\n\r\n", &r);
    expect_status(&r, 200);
    expect_body(&r, "Hello from the middleware example.\n");
    /* Each request its own ID; a sane one from the client is kept. */
    char first[1100];
    snprintf(first, sizeof first, "%s", resp_header(&r, "X-Request-Id"));
    response_free(&r);
    ask(s.port, "GET / HTTP/1.1\r\nHost: t\r\n\r\n", &r);
    cr_assert_str_neq(resp_header(&r, "X-Request-Id"), first);
    response_free(&r);
    ask(s.port, "GET /whoami HTTP/1.1\r\nHost: t\r\nX-Request-Id: trace-42\r\n\r\n", &r);
    cr_assert(header_is(&r, "X-Request-Id", "trace-42"));
    expect_body(&r, "your request is trace-42\n");
    response_free(&r);
    /* zzz's own answers carry it too. */
    ask(s.port, "GET /nowhere HTTP/1.1\r\nHost: t\r\n\r\n", &r);
    expect_status(&r, 404);
    response_free(&r);
    /* /big: about 1 MiB as it is, much less compressed, the same bytes
     * once curl decodes them. */
    ask(s.port, "GET /big HTTP/1.1\r\nHost: t\r\n\r\n", &r);
    expect_status(&r, 200);
    cr_assert_eq(r.body_len, 1 << 20);
    response identity = r;
    ask(s.port, "GET /big HTTP/1.1\r\nHost: t\r\nAccept-Encoding: gzip\r\n\r\n", &r);
    cr_assert(header_is(&r, "Content-Encoding", "gzip"), "%s", r.head);
    cr_assert_lt(r.body_len, (1 << 20) / 4);
    response_free(&r);
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%u/big", s.port);
    const char *argv[] = {"curl", "-sS", "--max-time", "10", "--compressed", url, NULL};
    char *out;
    cr_assert_eq(run_capture(argv, &out, 15000), 0);
    cr_assert(strlen(out) == identity.body_len && memcmp(out, identity.body, identity.body_len) == 0,
              "curl's decoded /big differs");
    free(out);
    response_free(&identity);
    /* /api: CORS, the preflight answered by the layer. */
    ask(s.port,
        "OPTIONS /api/items HTTP/1.1\r\nHost: t\r\nOrigin: http://a.test\r\n"
        "Access-Control-Request-Method: PUT\r\n\r\n",
        &r);
    expect_status(&r, 204);
    cr_assert(resp_header(&r, "Access-Control-Allow-Origin"), "%s", r.head);
    const char *methods = resp_header(&r, "Access-Control-Allow-Methods");
    cr_assert(methods && strstr(methods, "PUT"), "%s", r.head);
    response_free(&r);
    ask(s.port, "GET /api/items HTTP/1.1\r\nHost: t\r\nOrigin: http://a.test\r\n\r\n", &r);
    expect_status(&r, 200);
    cr_assert(resp_header(&r, "Access-Control-Allow-Origin"), "%s", r.head);
    cr_assert(header_is(&r, "Content-Type", "application/json"));
    response_free(&r);
    ask(s.port, "GET / HTTP/1.1\r\nHost: t\r\nOrigin: http://a.test\r\n\r\n", &r);
    cr_assert_null(resp_header(&r, "Access-Control-Allow-Origin"), "CORS outside /api");
    response_free(&r);
    server_stop(&s);
}

Test(examples_app, middleware_rate_limit)
{
    server s;
    start_example(&s, "ZZZ_MIDDLEWARE", (const char *const[]){"--rate", "5", NULL});
    client c;
    client_open(&c, s.port);
    int ok = 0, limited = 0;
    /* Faster than 5 a second: the burst (5) passes, the rest are 429. */
    for (int i = 0; i < 12; i++) {
        client_send_str(&c, "GET / HTTP/1.1\r\nHost: t\r\n\r\n");
        response r;
        client_response(&c, &r);
        cr_assert(resp_header(&r, "X-Request-Id"), "%s", r.head);
        if (r.status == 200) {
            ok++;
        } else {
            expect_status(&r, 429);
            const char *retry = resp_header(&r, "Retry-After");
            cr_assert(retry && atoi(retry) >= 1, "%s", r.head);
            limited++;
        }
        response_free(&r);
    }
    client_close(&c);
    cr_assert(ok >= 5 && ok <= 6, "%d passed", ok);
    cr_assert_eq(ok + limited, 12);
    server_stop(&s);
}

/* The access log goes to stdout, in batches: every request's line is
 * there once the server has stopped. */
Test(examples_app, middleware_access_log)
{
    server s;
    start_example(&s, "ZZZ_MIDDLEWARE", (const char *const[]){"--rate", "1000", NULL});
    for (int i = 0; i < 20; i++) {
        response r;
        exchange(s.port, i % 2 ? "GET / HTTP/1.1\r\nHost: t\r\nUser-Agent: t/1\r\n\r\n"
                               : "GET /nowhere HTTP/1.1\r\nHost: t\r\n\r\n",
                 &r);
        response_free(&r);
    }
    cr_assert_eq(kill(s.pid, SIGTERM), 0);
    char log[16384];
    size_t len = 0;
    uint64_t give_up = now_ms() + HANG_GUARD_MS;
    while (len < sizeof log - 1 && now_ms() < give_up) {
        struct pollfd p = {.fd = s.out_fd, .events = POLLIN};
        if (poll(&p, 1, 200) <= 0)
            continue;
        ssize_t n = read(s.out_fd, log + len, sizeof log - 1 - len);
        if (n <= 0)
            break;
        len += (size_t)n;
    }
    log[len] = '\0';
    int status = server_wait(&s, HANG_GUARD_MS);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    cr_assert_eq(count_substr(log, "\"GET / HTTP/1.1\" 200 35 \"-\" \"t/1\" "), 10, "%s", log);
    cr_assert_eq(count_substr(log, "\"GET /nowhere HTTP/1.1\" 404 10 \"-\" \"-\" "), 10, "%s", log);
    cr_assert(strncmp(log, "127.0.0.1 - - [", 15) == 0, "%s", log);
}
