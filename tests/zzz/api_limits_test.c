/* The api example's limits (title length, todo count, body size,
 * nesting depth, decoded JSON memory), each at the limit and past it;
 * listings long enough to stream; threads sharing the store; flags out
 * of range. The example runs as a child process, as in api_test.c. */
#include "api_client.h"

TestSuite(api_limits, .fini = api_fini, .timeout = 120);

Test(api_limits, title_length_limit)
{
    server s;
    start_api(&s, (const char *const[]){"--max-title", "8", NULL});
    response r;
    create(s.port, "12345678", 1);
    create(s.port, "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", 2); /* 4 letters, 8 bytes */
    const char *past[] = {"{\"title\":\"123456789\"}",
                          "{\"title\":\"\\u00e9\\u00e9\\u00e9\\u00e9x\"}", "{\"title\":\"\"}"};
    for (size_t i = 0; i < 3; i++) {
        call(s.port, "POST", "/todos", past[i], &r);
        expect_error(&r, 422);
        response_free(&r);
        call(s.port, "PUT", "/todos/1", past[i], &r);
        expect_error(&r, 422);
        response_free(&r);
    }
    call(s.port, "POST", "/todos", past[0], &r);
    expect_body(&r, "{\"error\":\"\\\"title\\\" is longer than 8 bytes\"}\n");
    response_free(&r);
    call(s.port, "PUT", "/todos/1", "{\"title\":\"abcdefgh\",\"done\":true}", &r);
    expect_todo(&r, 200, 1, "abcdefgh", true);
    response_free(&r);
    server_stop(&s);
}

Test(api_limits, todo_count_limit)
{
    server s;
    start_api(&s, (const char *const[]){"--max-todos", "3", NULL});
    create(s.port, "a", 1);
    create(s.port, "b", 2);
    create(s.port, "c", 3);
    response r;
    call(s.port, "POST", "/todos", "{\"title\":\"d\"}", &r);
    expect_error(&r, 507);
    expect_body(&r, "{\"error\":\"the todo list is full\"}\n");
    response_free(&r);
    call(s.port, "DELETE", "/todos/2", NULL, &r);
    expect_status(&r, 204);
    response_free(&r);
    create(s.port, "d", 4); /* the refused one took no id */
    call(s.port, "POST", "/todos", "{\"title\":\"e\"}", &r);
    expect_error(&r, 507);
    response_free(&r);
    call(s.port, "GET", "/todos", NULL, &r);
    expect_body(&r, "[{\"id\":1,\"title\":\"a\",\"done\":false},{\"id\":3,\"title\":\"c\",\"done\":"
                    "false},{\"id\":4,\"title\":\"d\",\"done\":false}]\n");
    response_free(&r);
    server_stop(&s);
}

/* {"title":"x"} padded with spaces to exactly len bytes. */
static char *padded_body(size_t len)
{
    const char *json = "{\"title\":\"x\"}";
    char *body = harness_own(malloc(len + 1));
    memset(body, ' ', len);
    memcpy(body, json, strlen(json));
    body[len] = '\0';
    return body;
}

Test(api_limits, body_size_limit)
{
    server s;
    start_api(&s, (const char *const[]){"--max-body", "64", NULL});
    response r;
    call(s.port, "POST", "/todos", padded_body(64), &r);
    expect_todo(&r, 201, 1, "x", false);
    response_free(&r);
    /* One byte more: zzz refuses it before the handler runs, as JSON
     * (the example's error handler). */
    client c;
    client_open(&c, s.port);
    char *big = padded_body(65);
    send_request(&c, "POST", "/todos", "application/json", big, 65);
    client_response(&c, &r);
    expect_error(&r, 413);
    expect_body(&r, "{\"error\":\"request body too large\"}\n");
    cr_assert(header_is(&r, "Connection", "close"));
    response_free(&r);
    client_close(&c);
    client_open(&c, s.port);
    client_send_str(&c, "PUT /todos/1 HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
                        "Transfer-Encoding: chunked\r\n\r\n41\r\n");
    client_send_str(&c, big);
    client_send_str(&c, "\r\n0\r\n\r\n");
    expect_error_and_close(&c, 413);
    client_close(&c);
    call(s.port, "GET", "/todos", NULL, &r);
    expect_body(&r, "[{\"id\":1,\"title\":\"x\",\"done\":false}]\n");
    response_free(&r);
    server_stop(&s);
}

Test(api_limits, nesting_depth_limit)
{
    server s;
    start_api(&s, (const char *const[]){"--max-depth", "4", NULL});
    response r;
    /* The object is the first level. */
    call(s.port, "POST", "/todos", "{\"title\":\"x\",\"a\":[[{\"b\":1}]]}", &r);
    expect_todo(&r, 201, 1, "x", false);
    response_free(&r);
    call(s.port, "POST", "/todos", "{\"title\":\"x\",\"a\":[[{\"b\":[]}]]}", &r);
    expect_error(&r, 413);
    expect_body(&r, "{\"error\":\"the JSON is nested deeper than 4 levels\"}\n");
    response_free(&r);
    /* Brackets inside strings are text. */
    call(s.port, "POST", "/todos", "{\"title\":\"[[[[{{{{\\\"[[\"}", &r);
    expect_todo(&r, 201, 2, "[[[[{{{{\"[[", false);
    response_free(&r);
    server_stop(&s);

    /* A hostile nest, far deeper than jansson's own limit, at the default. */
    start_api(&s, NULL);
    char *deep = harness_own(malloc(16001));
    memset(deep, '[', 16000);
    deep[16000] = '\0';
    call(s.port, "POST", "/todos", deep, &r);
    expect_error(&r, 413);
    response_free(&r);
    create(s.port, "still here", 1);
    server_stop(&s);
}

Test(api_limits, decoded_json_memory_limit)
{
    server s;
    /* The smallest region --max-title 256 allows. */
    start_api(&s, (const char *const[]){"--json-memory", "17408", NULL});
    /* 16 KiB of empty arrays: small as text, many objects once decoded. */
    size_t len = 16000;
    char *body = harness_own(malloc(len + 1));
    size_t n = (size_t)snprintf(body, len + 1, "{\"title\":\"x\",\"a\":[");
    while (n + 4 < len - 2) {
        memcpy(body + n, "[],", 3);
        n += 3;
    }
    memcpy(body + n, "[]]}", 5);
    response r;
    call(s.port, "POST", "/todos", body, &r);
    expect_error(&r, 413);
    expect_body(&r, "{\"error\":\"the JSON is too large to decode\"}\n");
    response_free(&r);
    /* The region is empty again for the next request. */
    create(s.port, "fits", 1);
    server_stop(&s);

    /* Too small a region for the title limit: refused at start. */
    char *out = NULL;
    const char *argv[] = {binary_path("ZZZ_API"), "--port", "0", "--json-memory", "17407", NULL};
    cr_assert_eq(run_capture(argv, &out, HANG_GUARD_MS), 2, "%s", out);
    cr_assert(strstr(out, "--json-memory must be at least"), "%s", out);
    free(out);
}

/* The title of the i-th todo a client creates: "<prefix>-<i>" padded
 * with dots to len bytes. */
static void nth_title(char *title, size_t size, const char *prefix, size_t i, size_t len)
{
    int n = snprintf(title, size, "%s-%zu", prefix, i);
    cr_assert(n > 0 && (size_t)n <= len && len < size);
    memset(title + n, '.', len - (size_t)n);
    title[len] = '\0';
}

/* Sends count POSTs on c at once (pipelined), with nth_title titles. */
static void send_creates(client *c, const char *prefix, size_t count, size_t title_len)
{
    size_t cap = count * (title_len + 160) + 1;
    char *all = harness_own(malloc(cap));
    size_t len = 0;
    for (size_t i = 0; i < count; i++) {
        char title[1024];
        nth_title(title, sizeof title, prefix, i, title_len);
        len += (size_t)snprintf(all + len, cap - len,
                                "POST /todos HTTP/1.1\r\nHost: t\r\nContent-Type: application/json"
                                "\r\nContent-Length: %zu\r\n\r\n{\"title\":\"%s\"}",
                                title_len + 12, title);
    }
    cr_assert_eq(client_send(c, all, len), 0);
}

/* Reads the answers to send_creates, in order: each a 201 with its
 * title; ids[i] gets the i-th todo's id. */
static void read_creates(client *c, const char *prefix, size_t count, size_t title_len,
                         uint64_t *ids)
{
    for (size_t i = 0; i < count; i++) {
        response r;
        client_response(c, &r);
        char want[1024];
        nth_title(want, sizeof want, prefix, i, title_len);
        expect_status(&r, 201);
        json_t *doc = body_json(&r);
        ids[i] = (uint64_t)json_integer_value(json_object_get(doc, "id"));
        json_decref(doc);
        expect_todo(&r, 201, ids[i], want, false);
        response_free(&r);
    }
}

Test(api_limits, long_listings_stream_in_pieces)
{
    server s;
    start_api(&s, (const char *const[]){"--max-title", "200", NULL});
    client c;
    client_open(&c, s.port);
    /* 150 todos, about 34 KB of listing, created 50 at a time (so that
     * neither side's socket buffers fill while the other is sending). */
    for (size_t batch = 0; batch < 3; batch++) {
        char prefix[8];
        uint64_t ids[50];
        snprintf(prefix, sizeof prefix, "t%zu", batch);
        send_creates(&c, prefix, 50, 200);
        read_creates(&c, prefix, 50, 200, ids);
        for (size_t i = 0; i < 50; i++)
            cr_assert_eq(ids[i], batch * 50 + i + 1);
    }
    response r;
    send_request(&c, "GET", "/todos", NULL, NULL, 0);
    client_response(&c, &r);
    expect_status(&r, 200);
    expect_json_type(&r);
    cr_assert(r.chunked, "a long listing without chunks:\n%s", r.head);
    json_t *list = body_json(&r);
    cr_assert_eq(json_array_size(list), 150);
    for (size_t i = 0; i < 150; i++) {
        json_t *t = json_array_get(list, i);
        char want[24];
        snprintf(want, sizeof want, "t%zu-%zu.", i / 50, i % 50);
        cr_assert_eq((uint64_t)json_integer_value(json_object_get(t, "id")), i + 1);
        cr_assert(strncmp(json_string_value(json_object_get(t, "title")), want, strlen(want)) == 0);
        cr_assert(json_is_false(json_object_get(t, "done")));
    }
    json_decref(list);
    response_free(&r);
    /* HEAD walks it too, and sends none of it. */
    send_request(&c, "HEAD", "/todos", NULL, NULL, 0);
    client_response_head(&c, &r);
    expect_status(&r, 200);
    response_free(&r);
    /* The connection goes on. */
    send_request(&c, "GET", "/todos/150", NULL, NULL, 0);
    client_response(&c, &r);
    expect_status(&r, 200);
    response_free(&r);
    client_close(&c);
    server_stop(&s);
}

Test(api_limits, threads_share_one_store)
{
    server s;
    start_api(&s, (const char *const[]){"--threads", "2", NULL});
    cr_assert_eq(s.threads, 2);
    enum { CLIENTS = 8, EACH = 25 };
    client c[CLIENTS];
    for (int i = 0; i < CLIENTS; i++)
        client_open(&c[i], s.port);
    /* All the requests first, so the threads serve them at once. */
    static uint64_t ids[CLIENTS][EACH];
    char prefix[CLIENTS][8];
    for (int i = 0; i < CLIENTS; i++)
        snprintf(prefix[i], sizeof prefix[i], "c%d", i);
    for (int i = 0; i < CLIENTS; i++)
        send_creates(&c[i], prefix[i], EACH, 10);
    for (int i = 0; i < CLIENTS; i++)
        read_creates(&c[i], prefix[i], EACH, 10, ids[i]);
    bool seen[CLIENTS * EACH + 1] = {false};
    for (int i = 0; i < CLIENTS; i++) {
        for (int j = 0; j < EACH; j++) {
            cr_assert(ids[i][j] >= 1 && ids[i][j] <= CLIENTS * EACH && !seen[ids[i][j]],
                      "id %llu given twice or out of range", (unsigned long long)ids[i][j]);
            seen[ids[i][j]] = true;
            if (j > 0)
                cr_assert_gt(ids[i][j], ids[i][j - 1], "one client's todos out of order");
        }
        client_close(&c[i]);
    }
    response r;
    call(s.port, "GET", "/todos", NULL, &r);
    json_t *list = body_json(&r);
    cr_assert_eq(json_array_size(list), CLIENTS * EACH);
    json_decref(list);
    response_free(&r);
    server_stop(&s);
}

Test(api_limits, flags_out_of_range_are_refused)
{
    const char *bad[][3] = {
        {"--max-depth", "0"},   {"--max-depth", "257"}, {"--max-title", "0"},
        {"--max-todos", "0"},   {"--max-body", "0"},    {"--json-memory", "4095"},
        {"--port", "65536"},    {"--threads", "x"},     {"--max-todos", "-1"},
        {"--max-title", "1e3"}, {"--nothing", "1"},     {"--port", NULL},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *argv[] = {binary_path("ZZZ_API"), bad[i][0], bad[i][1], NULL};
        char *out = NULL;
        int rc = run_capture(argv, &out, HANG_GUARD_MS);
        cr_assert_eq(rc, 2, "%s %s: exit %d:\n%s", bad[i][0], bad[i][1] ? bad[i][1] : "", rc, out);
        cr_assert(strstr(out, "usage:"), "%s", out);
        free(out);
    }
}
