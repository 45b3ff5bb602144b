/* Integration tests of cookies: the cookie server (cookieserver.c) as a
 * child process on 127.0.0.1, driven by raw sockets (the exact
 * Set-Cookie lines, several Cookie fields) and by curl with a cookie jar
 * (logging in and out, a changed cookie, key rotation across restarts,
 * and a Secure cookie that goes over HTTPS and never over plain HTTP).
 * Meson runs this once per I/O driver. */
#include "harness.h"

TestSuite(cookie_http, .fini = harness_cleanup, .timeout = 120);

static void start_cookies(server *s, const char *const *extra)
{
    const char *args[16] = {"--threads", "1"};
    size_t n = 2;
    for (size_t i = 0; extra && extra[i] && n < 15; i++)
        args[n++] = extra[i];
    args[n] = NULL;
    server_start(s, binary_path("ZZZ_COOKIESERVER"), args);
}

#define START(s, ...) start_cookies((s), (const char *const[]){__VA_ARGS__, NULL})

static void get(uint16_t port, const char *path, const char *extra_fields, response *r)
{
    char request[2048];
    snprintf(request, sizeof request, "GET %s HTTP/1.1\r\nHost: t\r\n%s\r\n", path,
             extra_fields ? extra_fields : "");
    exchange(port, request, r);
}

static void expect_line(const response *r, const char *line)
{
    char want[512];
    snprintf(want, sizeof want, "\r\n%s\r\n", line);
    cr_assert(strstr(r->head, want), "no line \"%s\" in:\n%s", line, r->head);
}

/* The value the first Set-Cookie of r gives name (up to ';'), into out. */
static void set_cookie_value(const response *r, const char *name, char *out, size_t cap)
{
    char key[128];
    snprintf(key, sizeof key, "\r\nSet-Cookie: %s=", name);
    const char *p = strstr(r->head, key);
    cr_assert(p, "no Set-Cookie for %s in:\n%s", name, r->head);
    p += strlen(key);
    size_t len = strcspn(p, ";\r");
    cr_assert(len < cap);
    memcpy(out, p, len);
    out[len] = '\0';
}

/* ---- raw sockets ------------------------------------------------------- */

Test(cookie_http, several_set_cookie_fields_in_one_answer)
{
    server s;
    START(&s, NULL);
    client c;
    client_open(&c, s.port);
    for (int round = 0; round < 2; round++) { /* and again on the same connection */
        client_send_str(&c, "GET /set HTTP/1.1\r\nHost: t\r\n\r\n");
        response r;
        client_response(&c, &r);
        expect_status(&r, 200);
        cr_assert_eq(resp_header_count(&r, "Set-Cookie"), 3, "%s", r.head);
        expect_line(&r, "Set-Cookie: a=1");
        expect_line(&r, "Set-Cookie: b=\"two\"; Path=/; HttpOnly; SameSite=Lax");
        expect_line(&r, "Set-Cookie: c=x.y-z; Max-Age=60; Path=/");
        expect_body(&r, "set\n");
        response_free(&r);
    }
    client_close(&c);
    server_stop(&s);
}

Test(cookie_http, cookie_fields_read_as_sent)
{
    server s;
    START(&s, NULL);
    response r;
    /* Two Cookie fields, odd spacing, empty pairs, a quoted value and a
     * nameless cookie. */
    get(s.port, "/echo", "Cookie: a=1;b=\"q\" ;;  c\r\ncookie: d=4; a=dup\r\n", &r);
    expect_status(&r, 200);
    expect_body(&r, "a=1\nb=q\n=c\nd=4\na=dup\n");
    response_free(&r);
    get(s.port, "/get/a", "Cookie: x=0\r\nCookie: a=first; a=second\r\n", &r);
    expect_body(&r, "first");
    response_free(&r);
    get(s.port, "/get/A", "Cookie: a=1\r\n", &r);
    expect_status(&r, 404);
    response_free(&r);
    get(s.port, "/echo", NULL, &r);
    expect_status(&r, 200);
    expect_body(&r, "");
    response_free(&r);
    /* A field of a thousand separators and bytes outside ASCII. */
    char fields[1400] = "Cookie: ";
    size_t len = strlen(fields);
    memset(fields + len, ';', 1000);
    len += 1000;
    len += (size_t)snprintf(fields + len, sizeof fields - len, "\xc3\xa9=\xff\r\n");
    get(s.port, "/echo", fields, &r);
    expect_status(&r, 200);
    expect_body(&r, "\xc3\xa9=\xff\n");
    response_free(&r);
    server_stop(&s);
}

Test(cookie_http, cookies_up_to_the_header_room)
{
    server s;
    START(&s, NULL);
    client c;
    client_open(&c, s.port);
    client_send_str(&c, "GET /many?n=10 HTTP/1.1\r\nHost: t\r\n\r\n");
    response r;
    client_response(&c, &r);
    expect_body(&r, "10 ok\n");
    cr_assert_eq(resp_header_count(&r, "Set-Cookie"), 10);
    response_free(&r);
    /* Past the response's 4 KiB of header lines: refused, not cut, and
     * the cookies that fit are all there. */
    client_send_str(&c, "GET /many?n=1000 HTTP/1.1\r\nHost: t\r\n\r\n");
    client_response(&c, &r);
    expect_status(&r, 200);
    unsigned fit = 0;
    char why[32] = "";
    cr_assert_eq(sscanf(r.body, "%u %31s", &fit, why), 2, "%s", r.body);
    cr_assert_str_eq(why, "ENOBUFS");
    cr_assert(fit > 10 && fit < 1000, "%u", fit);
    cr_assert_eq(resp_header_count(&r, "Set-Cookie"), (int)fit);
    response_free(&r);
    /* The connection goes on. */
    client_send_str(&c, "GET /many?n=1 HTTP/1.1\r\nHost: t\r\n\r\n");
    client_response(&c, &r);
    expect_body(&r, "1 ok\n");
    response_free(&r);
    client_close(&c);
    server_stop(&s);
}

Test(cookie_http, no_cookie_once_the_head_has_left)
{
    server s;
    START(&s, NULL);
    response r;
    get(s.port, "/late", NULL, &r);
    expect_status(&r, 200);
    expect_body(&r, "head sent; EALREADY");
    cr_assert_eq(resp_header_count(&r, "Set-Cookie"), 0);
    response_free(&r);
    server_stop(&s);
}

/* Logs in as ann on a fresh connection; the signed cookie's value into
 * out. Skips the test when the server has no signed cookies. */
static void login_raw(uint16_t port, char *out, size_t cap)
{
    response r;
    get(port, "/login?user=ann", NULL, &r);
    if (r.status == 501) {
        response_free(&r);
        harness_cleanup();
        cr_skip_test("signed cookies need TLS (BearSSL), which this build lacks");
    }
    expect_status(&r, 200);
    set_cookie_value(&r, "sid", out, cap);
    response_free(&r);
}

static int me_raw(uint16_t port, const char *sid, response *r)
{
    char field[512];
    snprintf(field, sizeof field, "Cookie: theme=dark; sid=%s\r\n", sid);
    get(port, "/me", field, r);
    return r->status;
}

Test(cookie_http, signed_cookies_survive_a_key_rotation)
{
    static const char old_secret[] = "the first secret, 32 bytes or more!";
    static const char new_secret[] = "the second secret, rotated in later";
    server s;
    START(&s, "--secret", old_secret);
    char sid[256];
    login_raw(s.port, sid, sizeof sid);
    response r;
    cr_assert_eq(me_raw(s.port, sid, &r), 200);
    expect_body(&r, "user ann\n");
    response_free(&r);
    server_stop(&s);
    /* The new secret signs, the old one still reads. */
    START(&s, "--secret", new_secret, "--old-secret", old_secret);
    cr_assert_eq(me_raw(s.port, sid, &r), 200);
    expect_body(&r, "user ann\n");
    response_free(&r);
    char fresh[256];
    login_raw(s.port, fresh, sizeof fresh);
    cr_assert_str_neq(fresh, sid);
    server_stop(&s);
    /* Once the old secret is dropped, its cookies are gone; the new ones
     * stay. */
    START(&s, "--secret", new_secret);
    cr_assert_eq(me_raw(s.port, sid, &r), 401);
    response_free(&r);
    cr_assert_eq(me_raw(s.port, fresh, &r), 200);
    response_free(&r);
    server_stop(&s);
}

Test(cookie_http, a_changed_signed_cookie_is_anonymous)
{
    server s;
    START(&s, NULL);
    char sid[256];
    login_raw(s.port, sid, sizeof sid);
    response r;
    char bad[256];
    /* The name changed in the value, the signature kept. */
    snprintf(bad, sizeof bad, "bob%s", sid + 3);
    cr_assert_eq(me_raw(s.port, bad, &r), 401);
    response_free(&r);
    /* Cut. */
    snprintf(bad, sizeof bad, "%.*s", (int)strlen(sid) - 1, sid);
    cr_assert_eq(me_raw(s.port, bad, &r), 401);
    response_free(&r);
    /* Unsigned. */
    cr_assert_eq(me_raw(s.port, "ann", &r), 401);
    response_free(&r);
    /* Moved to another name: sid's value under "theme" signs nothing. */
    char field[512];
    snprintf(field, sizeof field, "Cookie: theme=%s\r\n", sid);
    get(s.port, "/me", field, &r);
    expect_status(&r, 401);
    response_free(&r);
    /* A planted cookie before the real one does not hide it. */
    snprintf(field, sizeof field, "Cookie: sid=planted\r\nCookie: sid=%s\r\n", sid);
    get(s.port, "/me", field, &r);
    expect_status(&r, 200);
    expect_body(&r, "user ann\n");
    response_free(&r);
    server_stop(&s);
}

/* ---- curl with a cookie jar ---------------------------------------------- */

/* curl -sS with the jar (read and written), opts and the URL last: the
 * body, then "\n" and the status, into *out. Returns curl's exit status. */
static int curl_jar(const char *jar, const char *const *opts, char **out)
{
    const char *argv[40] = {"curl", "-sS", "--max-time", "20", "-c",
                            jar,    "-b",  jar,          "-w", "\n%{http_code}"};
    size_t n = 10;
    for (size_t i = 0; opts[i] && n < 39; i++)
        argv[n++] = opts[i];
    argv[n] = NULL;
    return run_capture(argv, out, 30000);
}

#define CURL_JAR(jar, out, ...) curl_jar((jar), (const char *const[]){__VA_ARGS__, NULL}, (out))

/* rc and *out of a curl_jar call (by address: read after the call). */
static void expect_curl(int rc, char **out, const char *want)
{
    cr_assert_eq(rc, 0, "curl failed (%d):\n%s", rc, *out);
    cr_assert_str_eq(*out, want);
    free(*out);
}

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "r");
    cr_assert(f, "%s: %s", path, strerror(errno));
    char *text = calloc(1, 65536);
    size_t n = fread(text, 1, 65535, f);
    text[n] = '\0';
    fclose(f);
    return text;
}

/* The jar's line for cookie name (Netscape format: domain, subdomains,
 * path, secure, expiry, name, value, tab-separated), NULL when absent. */
static const char *jar_line(const char *jar_text, const char *name, char *line, size_t cap)
{
    char key[128];
    snprintf(key, sizeof key, "\t%s\t", name);
    const char *p = strstr(jar_text, key);
    if (!p)
        return NULL;
    while (p > jar_text && p[-1] != '\n')
        p--;
    size_t len = strcspn(p, "\n");
    cr_assert(len < cap);
    memcpy(line, p, len);
    line[len] = '\0';
    return line;
}

static bool curl_found(void)
{
    char *out;
    int rc = run_capture((const char *const[]){"curl", "--version", NULL}, &out, 10000);
    free(out);
    return rc == 0;
}

Test(cookie_http, curl_logs_in_and_out_with_a_jar)
{
    cr_assert(curl_found(), "curl is not installed (scripts/install-deps)");
    char dir[256], jar[300], base[64], url[128];
    harness_temp_dir(dir, sizeof dir, "cookie-jar");
    snprintf(jar, sizeof jar, "%s/jar", dir);
    server s;
    START(&s, NULL);
    snprintf(base, sizeof base, "http://127.0.0.1:%u", s.port);
    char *out;
    snprintf(url, sizeof url, "%s/me", base);
    expect_curl(CURL_JAR(jar, &out, url), &out, "anonymous\n\n401");
    snprintf(url, sizeof url, "%s/login?user=ann", base);
    int rc = CURL_JAR(jar, &out, url);
    if (rc == 0 && strstr(out, "501")) {
        free(out);
        harness_remove_tree(dir);
        server_stop(&s);
        cr_skip_test("signed cookies need TLS (BearSSL), which this build lacks");
    }
    expect_curl(rc, &out, "welcome ann\n\n200");
    /* curl kept both, the session as HttpOnly. */
    char *text = read_file(jar), line[512];
    cr_assert(jar_line(text, "sid", line, sizeof line), "no sid in the jar:\n%s", text);
    cr_assert(strncmp(line, "#HttpOnly_127.0.0.1\tFALSE\t/\tFALSE\t0\tsid\tann.", 42) == 0, "%s",
              line);
    cr_assert(jar_line(text, "theme", line, sizeof line), "no theme in the jar:\n%s", text);
    snprintf(url, sizeof url, "%s/me", base);
    expect_curl(CURL_JAR(jar, &out, url), &out, "user ann\n\n200");
    /* The jar changed by hand: ann becomes bob, the signature kept. */
    char *sid = strstr(text, "\tsid\tann.");
    cr_assert(sid);
    memcpy(sid + 5, "bob", 3);
    harness_write_path(jar, text, strlen(text), 0600);
    expect_curl(CURL_JAR(jar, &out, url), &out, "anonymous\n\n401");
    free(text);
    /* In again, then out: the server's clearing removes the session from
     * the jar, then the theme. */
    snprintf(url, sizeof url, "%s/login?user=ann", base);
    expect_curl(CURL_JAR(jar, &out, url), &out, "welcome ann\n\n200");
    snprintf(url, sizeof url, "%s/logout", base);
    expect_curl(CURL_JAR(jar, &out, url), &out, "bye\n\n200");
    text = read_file(jar);
    cr_assert_not(jar_line(text, "sid", line, sizeof line), "sid stayed in the jar:\n%s", text);
    cr_assert(jar_line(text, "theme", line, sizeof line), "theme went too:\n%s", text);
    free(text);
    snprintf(url, sizeof url, "%s/me", base);
    expect_curl(CURL_JAR(jar, &out, url), &out, "anonymous\n\n401");
    snprintf(url, sizeof url, "%s/echo", base);
    expect_curl(CURL_JAR(jar, &out, url), &out, "theme=dark\n\n200");
    snprintf(url, sizeof url, "%s/forget", base);
    expect_curl(CURL_JAR(jar, &out, url), &out, "forgotten\n\n200");
    snprintf(url, sizeof url, "%s/echo", base);
    expect_curl(CURL_JAR(jar, &out, url), &out, "\n200");
    server_stop(&s);
    harness_remove_tree(dir);
}

/* ---- over TLS ------------------------------------------------------------ */

static const char *tls_path(const char *name)
{
    static char paths[4][512];
    static unsigned next;
    const char *dir = getenv("ZZZ_TLS_DIR");
    char *p = paths[next++ % 4];
    snprintf(p, sizeof paths[0], "%s/%s", dir, name);
    cr_assert(access(p, R_OK) == 0, "%s: %s", p, strerror(errno));
    return p;
}

/* A __Host- session set over HTTPS comes back over HTTPS, and a client
 * never sends it to the same host over plain HTTP (another server on
 * another port: cookies do not look at ports), where the plain cookie set
 * with it does go. The certificate is alpha.test's, so curl verifies the
 * name it uses for both. */
Test(cookie_http, a_secure_cookie_goes_over_https_only)
{
    const char *dir_env = getenv("ZZZ_TLS_DIR");
    if (!dir_env || !*dir_env)
        cr_skip_test("no TLS in this build (ZZZ_TLS_DIR is not set)");
    cr_assert(curl_found(), "curl is not installed (scripts/install-deps)");
    char dir[256], jar[300];
    harness_temp_dir(dir, sizeof dir, "cookie-tls");
    snprintf(jar, sizeof jar, "%s/jar", dir);
    server tls, plain;
    START(&tls, "--tls-cert", tls_path("alpha-chain.pem"), "--tls-key", tls_path("alpha-key.pem"));
    START(&plain, NULL);
    char resolve_tls[64], resolve_plain[64], url[128];
    snprintf(resolve_tls, sizeof resolve_tls, "alpha.test:%u:127.0.0.1", tls.port);
    snprintf(resolve_plain, sizeof resolve_plain, "alpha.test:%u:127.0.0.1", plain.port);
    const char *ca = tls_path("ca.pem");
    char *out;
#define HTTPS(path)                                                                                \
    (snprintf(url, sizeof url, "https://alpha.test:%u%s", tls.port, path),                         \
     CURL_JAR(jar, &out, "--cacert", ca, "--resolve", resolve_tls, url))
#define HTTP(path)                                                                                 \
    (snprintf(url, sizeof url, "http://alpha.test:%u%s", plain.port, path),                        \
     CURL_JAR(jar, &out, "--resolve", resolve_plain, url))
    expect_curl(HTTPS("/login?user=ann&host=1"), &out, "welcome ann\n\n200");
    char *text = read_file(jar), line[512];
    cr_assert(jar_line(text, "__Host-sid", line, sizeof line), "no __Host-sid:\n%s", text);
    cr_assert(strncmp(line, "#HttpOnly_alpha.test\tFALSE\t/\tTRUE\t0\t__Host-sid\tann.", 50) == 0,
              "%s", line);
    free(text);
    expect_curl(HTTPS("/me?host=1"), &out, "user ann\n\n200");
    /* Over plain HTTP the Secure cookie stays home; the other one goes. */
    expect_curl(HTTP("/echo"), &out, "theme=dark\n\n200");
    expect_curl(HTTP("/me?host=1"), &out, "anonymous\n\n401");
    /* Back over HTTPS, both go. */
    cr_assert_eq(HTTPS("/echo"), 0, "%s", out);
    cr_assert(strstr(out, "__Host-sid=ann.") && strstr(out, "theme=dark"), "%s", out);
    free(out);
    /* Logging out over HTTPS removes it. */
    expect_curl(HTTPS("/logout?host=1"), &out, "bye\n\n200");
    expect_curl(HTTPS("/me?host=1"), &out, "anonymous\n\n401");
    text = read_file(jar);
    cr_assert_not(jar_line(text, "__Host-sid", line, sizeof line), "%s", text);
    free(text);
    /* A Secure cookie offered over plain HTTP is not even kept. */
    expect_curl(HTTP("/login?user=eve&host=1"), &out, "welcome eve\n\n200");
    text = read_file(jar);
    cr_assert_not(jar_line(text, "__Host-sid", line, sizeof line), "%s", text);
    free(text);
#undef HTTPS
#undef HTTP
    server_stop(&tls);
    server_stop(&plain);
    harness_remove_tree(dir);
}
