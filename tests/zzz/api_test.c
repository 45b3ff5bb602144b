/* Integration tests of the api example (examples/api): the real program
 * as a child process on 127.0.0.1, driven by raw sockets (exact status
 * lines and bodies, JSON read back with jansson) and by curl: every route,
 * the whole life of a todo, and every refusal of malformed JSON, wrong
 * types, ids and media types. Its limits are in api_limits_test.c. Meson
 * runs both once per I/O driver, when the example is built (jansson
 * found). */
#include "api_client.h"

TestSuite(api, .fini = api_fini, .timeout = 120);

Test(api, life_cycle_on_one_connection)
{
    server s;
    start_api(&s, NULL);
    client c;
    client_open(&c, s.port);
    response r;
    send_request(&c, "GET", "/todos", NULL, NULL, 0);
    client_response(&c, &r);
    expect_head(&r,
                "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Type: application/json\r\n\r\n");
    expect_body(&r, "[]\n");
    response_free(&r);

    const char *milk = "{\"title\":\"milk\"}";
    send_request(&c, "POST", "/todos", "application/json", milk, strlen(milk));
    client_response(&c, &r);
    expect_head(&r, "HTTP/1.1 201 Created\r\nContent-Length: 37\r\nLocation: /todos/1\r\n"
                    "Content-Type: application/json\r\n\r\n");
    expect_body(&r, "{\"id\":1,\"title\":\"milk\",\"done\":false}\n");
    response_free(&r);

    const char *eggs = "{\"done\":true,\"title\":\"eggs\",\"note\":[1,{\"x\":null}]}";
    send_request(&c, "POST", "/todos", "application/json", eggs, strlen(eggs));
    client_response(&c, &r);
    expect_status(&r, 201);
    expect_body(&r, "{\"id\":2,\"title\":\"eggs\",\"done\":true}\n");
    response_free(&r);

    send_request(&c, "GET", "/todos", NULL, NULL, 0);
    client_response(&c, &r);
    expect_status(&r, 200);
    expect_body(&r, "[{\"id\":1,\"title\":\"milk\",\"done\":false},"
                    "{\"id\":2,\"title\":\"eggs\",\"done\":true}]\n");
    response_free(&r);

    send_request(&c, "GET", "/todos/2", NULL, NULL, 0);
    client_response(&c, &r);
    expect_head(&r,
                "HTTP/1.1 200 OK\r\nContent-Length: 36\r\nContent-Type: application/json\r\n\r\n");
    expect_body(&r, "{\"id\":2,\"title\":\"eggs\",\"done\":true}\n");
    response_free(&r);

    /* PUT replaces both: a "done" left out is false again. */
    const char *oat = "{\"title\":\"oat milk\"}";
    send_request(&c, "PUT", "/todos/2", "application/json", oat, strlen(oat));
    client_response(&c, &r);
    expect_status(&r, 200);
    expect_body(&r, "{\"id\":2,\"title\":\"oat milk\",\"done\":false}\n");
    response_free(&r);
    const char *done = "{\"title\":\"milk\",\"done\":true}";
    send_request(&c, "PUT", "/todos/1", "application/json", done, strlen(done));
    client_response(&c, &r);
    expect_todo(&r, 200, 1, "milk", true);
    response_free(&r);
    send_request(&c, "GET", "/todos/1", NULL, NULL, 0);
    client_response(&c, &r);
    expect_todo(&r, 200, 1, "milk", true);
    response_free(&r);

    send_request(&c, "DELETE", "/todos/1", NULL, NULL, 0);
    client_response(&c, &r);
    expect_head(&r, "HTTP/1.1 204 No Content\r\n\r\n");
    cr_assert_eq(r.body_len, 0);
    response_free(&r);
    send_request(&c, "GET", "/todos/1", NULL, NULL, 0);
    client_response(&c, &r);
    expect_error(&r, 404);
    response_free(&r);
    send_request(&c, "DELETE", "/todos/1", NULL, NULL, 0);
    client_response(&c, &r);
    expect_error(&r, 404);
    response_free(&r);
    send_request(&c, "PUT", "/todos/1", "application/json", done, strlen(done));
    client_response(&c, &r);
    expect_error(&r, 404);
    response_free(&r);

    send_request(&c, "GET", "/todos", NULL, NULL, 0);
    client_response(&c, &r);
    expect_body(&r, "[{\"id\":2,\"title\":\"oat milk\",\"done\":false}]\n");
    response_free(&r);
    /* HEAD: GET's head, no body. */
    send_request(&c, "HEAD", "/todos", NULL, NULL, 0);
    client_response_head(&c, &r);
    expect_head(&r,
                "HTTP/1.1 200 OK\r\nContent-Length: 43\r\nContent-Type: application/json\r\n\r\n");
    response_free(&r);
    cr_assert_eq(c.len, 0, "bytes after HEAD's answer");
    client_close(&c);
    server_stop(&s);
}

Test(api, ids_are_never_reused)
{
    server s;
    start_api(&s, NULL);
    create(s.port, "a", 1);
    create(s.port, "b", 2);
    response r;
    call(s.port, "DELETE", "/todos/2", NULL, &r);
    expect_status(&r, 204);
    response_free(&r);
    create(s.port, "c", 3);
    /* Leading zeros name the same id. */
    call(s.port, "GET", "/todos/003", NULL, &r);
    expect_todo(&r, 200, 3, "c", false);
    response_free(&r);
    call(s.port, "GET", "/todos/%33", NULL, &r); /* "3", percent-encoded */
    expect_todo(&r, 200, 3, "c", false);
    response_free(&r);
    server_stop(&s);
}

Test(api, titles_keep_every_character)
{
    server s;
    start_api(&s, NULL);
    /* Escapes, a control character, a non-ASCII letter and an emoji
     * (a surrogate pair) come back as the same string. */
    const char *body = "{\"title\":\"\\\"q\\\" \\\\ / \\u0001\\n\\t caf\\u00e9 \xc3\xa9 "
                       "\\ud83d\\ude00\"}";
    const char *want = "\"q\" \\ / \x01\n\t caf\xc3\xa9 \xc3\xa9 \xf0\x9f\x98\x80";
    response r;
    call(s.port, "POST", "/todos", body, &r);
    expect_todo(&r, 201, 1, want, false);
    /* Sent as UTF-8, control characters escaped, nothing else. */
    cr_assert(
        strstr(r.body, "\\\"q\\\" \\\\ / \\u0001\\n\\t caf\xc3\xa9 \xc3\xa9 \xf0\x9f\x98\x80"),
        "%s", r.body);
    response_free(&r);
    call(s.port, "GET", "/todos/1", NULL, &r);
    expect_todo(&r, 200, 1, want, false);
    response_free(&r);
    server_stop(&s);
}

/* Each body, POSTed and PUT to todo 1, gets 400 and changes nothing. */
static void expect_400s(uint16_t port, const char *const *bodies, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        const char *paths[] = {"/todos", "/todos/1"};
        for (int p = 0; p < 2; p++) {
            client c;
            client_open(&c, port);
            send_request(&c, p ? "PUT" : "POST", paths[p], "application/json", bodies[i],
                         strlen(bodies[i]));
            response r;
            client_response(&c, &r);
            cr_assert_eq(r.status, 400, "%s %s: %d for %s", p ? "PUT" : "POST", paths[p], r.status,
                         bodies[i]);
            expect_error(&r, 400);
            response_free(&r);
            client_close(&c);
        }
    }
    response r;
    call(port, "GET", "/todos", NULL, &r);
    expect_body(&r, "[{\"id\":1,\"title\":\"keep\",\"done\":false}]\n");
    response_free(&r);
}

Test(api, malformed_json_is_400)
{
    server s;
    start_api(&s, NULL);
    create(s.port, "keep", 1);
    const char *bodies[] = {
        "",
        " ",
        "{",
        "}",
        "{\"title\":}",
        "{\"title\":\"a\"",
        "{\"title\":\"a\",}",
        "{\"title\":\"a\"} x",
        "{\"title\":\"a\"}{}",
        "{'title':'a'}",
        "{title:\"a\"}",
        "{\"title\":\"a\\x\"}",
        "{\"title\":\"a\nb\"}",
        "{\"title\":\"\xff\"}",
        "{\"title\":\"\xc3\"}",
        "{\"title\":\"\\ud800\"}",
        "{\"title\":\"a\\u0000b\"}",
        "{\"title\":\"a\",\"title\":\"b\"}",
        "{\"title\":tru}",
        "{\"title\":\"a\",\"n\":1e999}",
        "\xef\xbb\xbf{\"title\":\"a\"}",
    };
    expect_400s(s.port, bodies, sizeof bodies / sizeof bodies[0]);
    /* The error says where. */
    response r;
    call(s.port, "POST", "/todos", "{\"title\":}", &r);
    json_t *doc = body_json(&r);
    const char *why = json_string_value(json_object_get(doc, "error"));
    cr_assert(why && strstr(why, "malformed JSON at line 1, column 10"), "%s", r.body);
    json_decref(doc);
    response_free(&r);
    server_stop(&s);
}

Test(api, wrong_shapes_and_types_are_400)
{
    server s;
    start_api(&s, NULL);
    create(s.port, "keep", 1);
    const char *bodies[] = {
        "[]",
        "[{\"title\":\"a\"}]",
        "\"a\"",
        "42",
        "null",
        "true",
        "{}",
        "{\"Title\":\"a\"}",
        "{\"title\":1}",
        "{\"title\":null}",
        "{\"title\":true}",
        "{\"title\":[\"a\"]}",
        "{\"title\":{\"a\":1}}",
        "{\"title\":\"a\",\"done\":\"yes\"}",
        "{\"title\":\"a\",\"done\":1}",
        "{\"title\":\"a\",\"done\":0}",
        "{\"title\":\"a\",\"done\":null}",
        "{\"title\":\"a\",\"done\":[]}",
    };
    expect_400s(s.port, bodies, sizeof bodies / sizeof bodies[0]);
    response r;
    call(s.port, "POST", "/todos", "{\"done\":true}", &r);
    expect_body(&r, "{\"error\":\"\\\"title\\\" is missing\"}\n");
    response_free(&r);
    call(s.port, "POST", "/todos", "{\"title\":\"a\",\"done\":\"no\"}", &r);
    expect_body(&r, "{\"error\":\"\\\"done\\\" must be true or false\"}\n");
    response_free(&r);
    server_stop(&s);
}

Test(api, ids_that_are_not_decimal_integers_are_400)
{
    server s;
    start_api(&s, NULL);
    create(s.port, "keep", 1);
    const char *ids[] = {"abc", "-1",   "+1",   "1.0",  "0x1",   "1e0",
                         "1a",  "%201", "1%20", "%2B1", "%C2%B9"};
    const char *methods[] = {"GET", "PUT", "DELETE"};
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
        for (size_t m = 0; m < 3; m++) {
            char path[64];
            snprintf(path, sizeof path, "/todos/%s", ids[i]);
            response r;
            call(s.port, methods[m], path, m == 1 ? "{\"title\":\"x\"}" : NULL, &r);
            cr_assert_eq(r.status, 400, "%s %s: %d", methods[m], path, r.status);
            expect_body(&r, "{\"error\":\"the id must be a decimal integer\"}\n");
            response_free(&r);
        }
    }
    response r;
    call(s.port, "GET", "/todos/1", NULL, &r);
    expect_todo(&r, 200, 1, "keep", false);
    response_free(&r);
    server_stop(&s);
}

Test(api, unknown_and_huge_ids_are_404)
{
    server s;
    start_api(&s, NULL);
    create(s.port, "keep", 1);
    /* Past INT64_MAX, past UINT64_MAX (overflow), far past it. */
    const char *ids[] = {"0",
                         "2",
                         "00",
                         "9223372036854775807",
                         "9223372036854775808",
                         "18446744073709551615",
                         "18446744073709551616",
                         "18446744073709551617",
                         "99999999999999999999999999999999999999"};
    const char *methods[] = {"GET", "PUT", "DELETE"};
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
        for (size_t m = 0; m < 3; m++) {
            char path[96];
            snprintf(path, sizeof path, "/todos/%s", ids[i]);
            response r;
            call(s.port, methods[m], path, m == 1 ? "{\"title\":\"x\"}" : NULL, &r);
            cr_assert_eq(r.status, 404, "%s %s: %d", methods[m], path, r.status);
            expect_body(&r, "{\"error\":\"no todo with that id\"}\n");
            response_free(&r);
        }
    }
    response r;
    call(s.port, "GET", "/todos", NULL, &r);
    expect_body(&r, "[{\"id\":1,\"title\":\"keep\",\"done\":false}]\n");
    response_free(&r);
    server_stop(&s);
}

Test(api, bodies_must_be_json)
{
    server s;
    start_api(&s, NULL);
    create(s.port, "keep", 1);
    const char *body = "{\"title\":\"x\"}";
    const char *refused[] = {NULL,
                             "text/plain",
                             "application/jsonx",
                             "application/json-seq",
                             "application/x-www-form-urlencoded",
                             "json",
                             "",
                             "application/ld+json"};
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        for (int put = 0; put < 2; put++) {
            client c;
            client_open(&c, s.port);
            send_request(&c, put ? "PUT" : "POST", put ? "/todos/1" : "/todos", refused[i], body,
                         strlen(body));
            response r;
            client_response(&c, &r);
            cr_assert_eq(r.status, 415, "Content-Type %s: %d", refused[i] ? refused[i] : "(none)",
                         r.status);
            expect_body(&r, "{\"error\":\"the body must be application/json\"}\n");
            response_free(&r);
            client_close(&c);
        }
    }
    /* A coding the server does not decode. */
    response r;
    exchange(s.port,
             "POST /todos HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
             "Content-Encoding: gzip\r\nContent-Length: 13\r\n\r\n{\"title\":\"x\"}",
             &r);
    expect_error(&r, 415);
    response_free(&r);
    /* Media types compare without case, with any parameters. */
    const char *taken[] = {"application/json; charset=utf-8", "Application/JSON",
                           "application/json ; charset=\"UTF-8\"", "application/json;x=y"};
    for (size_t i = 0; i < sizeof taken / sizeof taken[0]; i++) {
        client c;
        client_open(&c, s.port);
        send_request(&c, "POST", "/todos", taken[i], body, strlen(body));
        client_response(&c, &r);
        expect_todo(&r, 201, 2 + i, "x", false);
        response_free(&r);
        client_close(&c);
    }
    server_stop(&s);
}

Test(api, methods_and_paths_it_does_not_serve)
{
    server s;
    start_api(&s, NULL);
    create(s.port, "keep", 1);
    struct {
        const char *method, *path, *allow;
    } cases[] = {
        {"PATCH", "/todos/1", "DELETE, GET, HEAD, PUT"},
        {"POST", "/todos/1", "DELETE, GET, HEAD, PUT"},
        {"DELETE", "/todos", "GET, HEAD, POST"},
        {"PUT", "/todos", "GET, HEAD, POST"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        response r;
        call(s.port, cases[i].method, cases[i].path, NULL, &r);
        expect_error(&r, 405);
        cr_assert(header_is(&r, "Allow", cases[i].allow), "%s %s: Allow: %s", cases[i].method,
                  cases[i].path, resp_header(&r, "Allow"));
        response_free(&r);
    }
    const char *paths[] = {"/", "/todo", "/todos/1/x", "/todos/", "/Todos"};
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        response r;
        call(s.port, "GET", paths[i], NULL, &r);
        cr_assert_eq(r.status, 404, "GET %s: %d", paths[i], r.status);
        expect_body(&r, "{\"error\":\"no such resource\"}\n");
        response_free(&r);
    }
    server_stop(&s);
}

/* curl with args, its output; expects exit status 0. */
static char *curl(const char *const *args)
{
    const char *argv[32] = {"curl", "-sS"};
    size_t n = 2;
    for (size_t i = 0; args[i] && n < 31; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    char *out = NULL;
    int rc = run_capture(argv, &out, HANG_GUARD_MS);
    cr_assert_eq(rc, 0, "curl failed (%d):\n%s", rc, out);
    return harness_own(out);
}

Test(api, curl_life_cycle)
{
    server s;
    start_api(&s, NULL);
    char todos[64], one[80];
    snprintf(todos, sizeof todos, "http://127.0.0.1:%u/todos", s.port);
    snprintf(one, sizeof one, "%s/1", todos);
    const char *json = "Content-Type: application/json";
    char *out = curl(
        (const char *const[]){"-i", "-H", json, "--data", "{\"title\":\"curl\"}", todos, NULL});
    cr_assert(strncmp(out, "HTTP/1.1 201 Created\r\n", 22) == 0, "%s", out);
    cr_assert(strstr(out, "\r\nLocation: /todos/1\r\n"), "%s", out);
    cr_assert(strstr(out, "\r\n\r\n{\"id\":1,\"title\":\"curl\",\"done\":false}\n"), "%s", out);
    out = curl((const char *const[]){"-X", "PUT", "-H", json, "--data",
                                     "{\"title\":\"curl\",\"done\":true}", one, NULL});
    cr_assert_str_eq(out, "{\"id\":1,\"title\":\"curl\",\"done\":true}\n");
    out = curl((const char *const[]){todos, NULL});
    cr_assert_str_eq(out, "[{\"id\":1,\"title\":\"curl\",\"done\":true}]\n");
    out = curl((const char *const[]){one, NULL});
    cr_assert_str_eq(out, "{\"id\":1,\"title\":\"curl\",\"done\":true}\n");
    /* curl's form default is refused; a broken body too. */
    out = curl((const char *const[]){"-w", " %{http_code}", "--data", "title=x", todos, NULL});
    cr_assert_str_eq(out, "{\"error\":\"the body must be application/json\"}\n 415");
    out = curl((const char *const[]){"-w", "%{http_code}", "-H", json, "--data", "{", todos, NULL});
    cr_assert(strstr(out, "malformed JSON") && strstr(out, "\n400"), "%s", out);
    out = curl(
        (const char *const[]){"-w", "%{http_code} %{size_download}", "-X", "DELETE", one, NULL});
    cr_assert_str_eq(out, "204 0");
    out = curl((const char *const[]){"-w", " %{http_code}", one, NULL});
    cr_assert_str_eq(out, "{\"error\":\"no todo with that id\"}\n 404");
    out = curl((const char *const[]){todos, NULL});
    cr_assert_str_eq(out, "[]\n");
    server_stop(&s);
}
