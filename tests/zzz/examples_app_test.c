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
    /* session=bob.<43 characters of base64url>; and the attributes. */
    cr_assert(strncmp(set, "session=bob.", 12) == 0, "%s", set);
    const char *semi = strchr(set, ';');
    cr_assert(semi && semi - (set + 12) == 43, "%s", set);
    cr_assert(strstr(set, "; Path=/") && strstr(set, "; HttpOnly") &&
                  strstr(set, "; SameSite=Lax"),
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
    snprintf(forged[0], sizeof forged[0], "session=eve.%s", cookie + 12);
    snprintf(forged[1], sizeof forged[1], "%s", cookie);
    forged[1][strlen(forged[1]) - 1] ^= 1;
    snprintf(forged[2], sizeof forged[2], "%.*s", (int)strlen(cookie) - 1, cookie);
    snprintf(forged[3], sizeof forged[3], "session=bob");
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
}
