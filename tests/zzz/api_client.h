/* Helpers of the api example's tests (api_test.c, api_limits_test.c):
 * start the example, send it requests, and check its JSON answers, read
 * back with jansson. */
#ifndef ZZZ_TEST_API_CLIENT_H
#define ZZZ_TEST_API_CLIENT_H

#include "harness.h"

#include <jansson.h>

/* A suite's fini: the servers a failed test left, the buffers it owned. */
static inline void api_fini(void)
{
    harness_cleanup();
    harness_free_owned();
}

static inline void start_api(server *s, const char *const *extra)
{
    const char *args[24] = {"--threads", "1"};
    size_t n = 2;
    for (size_t i = 0; extra && extra[i] && n < 23; i++)
        args[n++] = extra[i];
    args[n] = NULL;
    server_start(s, binary_path("ZZZ_API"), args);
}

/* Sends one request on c: a body (len bytes; none when NULL) with its
 * Content-Length, and a Content-Type when ctype is not NULL. */
static inline void send_request(client *c, const char *method, const char *path, const char *ctype,
                                const char *body, size_t len)
{
    char head[1024];
    int n = snprintf(head, sizeof head, "%s %s HTTP/1.1\r\nHost: t\r\n", method, path);
    if (ctype)
        n += snprintf(head + n, sizeof head - (size_t)n, "Content-Type: %s\r\n", ctype);
    if (body)
        n += snprintf(head + n, sizeof head - (size_t)n, "Content-Length: %zu\r\n", len);
    n += snprintf(head + n, sizeof head - (size_t)n, "\r\n");
    cr_assert(n > 0 && (size_t)n < sizeof head);
    cr_assert_eq(client_send(c, head, (size_t)n), 0);
    if (body && len)
        cr_assert_eq(client_send(c, body, len), 0);
}

/* One request, as application/json when it has a body, on a fresh
 * connection. */
static inline void call(uint16_t port, const char *method, const char *path, const char *body,
                        response *r)
{
    client c;
    client_open(&c, port);
    send_request(&c, method, path, body ? "application/json" : NULL, body, body ? strlen(body) : 0);
    client_response(&c, r);
    client_close(&c);
}

/* The body as JSON (jansson's own allocator in this process). */
static inline json_t *body_json(const response *r)
{
    json_error_t error;
    json_t *doc = json_loadb(r->body, r->body_len, 0, &error);
    cr_assert(doc, "not JSON (%s): %.*s", error.text, (int)r->body_len, r->body);
    return doc;
}

static inline void expect_json_type(const response *r)
{
    cr_assert(header_is(r, "Content-Type", "application/json"), "Content-Type: %s",
              resp_header(r, "Content-Type") ? resp_header(r, "Content-Type") : "(none)");
    cr_assert(r->body_len > 0 && r->body[r->body_len - 1] == '\n', "no newline at the end");
}

/* status and a body {"error": "<non-empty>"}, nothing else. */
static inline void expect_error(const response *r, int status)
{
    expect_status(r, status);
    expect_json_type(r);
    json_t *doc = body_json(r);
    json_t *why = json_object_get(doc, "error");
    cr_assert(json_is_object(doc) && json_object_size(doc) == 1 && json_is_string(why) &&
                  json_string_length(why) > 0,
              "not an error object: %s", r->body);
    json_decref(doc);
}

/* status, and a todo with these fields (title: title_len bytes). */
static inline void expect_todo_n(const response *r, int status, uint64_t id, const char *title,
                                 size_t title_len, bool done)
{
    expect_status(r, status);
    expect_json_type(r);
    json_t *doc = body_json(r);
    json_t *jid = json_object_get(doc, "id"), *jtitle = json_object_get(doc, "title"),
           *jdone = json_object_get(doc, "done");
    cr_assert(json_object_size(doc) == 3 && json_is_integer(jid) && json_is_string(jtitle) &&
                  json_is_boolean(jdone),
              "not a todo: %s", r->body);
    cr_assert_eq((uint64_t)json_integer_value(jid), id, "id in %s", r->body);
    cr_assert(json_string_length(jtitle) == title_len &&
                  memcmp(json_string_value(jtitle), title, title_len) == 0,
              "title in %s", r->body);
    cr_assert_eq(json_is_true(jdone), done, "done in %s", r->body);
    json_decref(doc);
}

static inline void expect_todo(const response *r, int status, uint64_t id, const char *title,
                               bool done)
{
    expect_todo_n(r, status, id, title, strlen(title), done);
}

/* The head without its Date line, which is the one part that varies. */
static inline void expect_head(const response *r, const char *want)
{
    char got[1024];
    const char *date = strstr(r->head, "\r\nDate: ");
    cr_assert(date, "no Date in:\n%s", r->head);
    const char *after = strstr(date + 2, "\r\n");
    snprintf(got, sizeof got, "%.*s%s", (int)(date - r->head), r->head, after);
    cr_assert_str_eq(got, want);
}

/* POSTs {"title": title} and expects it created with this id. */
static inline void create(uint16_t port, const char *title, uint64_t id)
{
    char body[512], location[64];
    snprintf(body, sizeof body, "{\"title\":\"%s\"}", title);
    snprintf(location, sizeof location, "/todos/%llu", (unsigned long long)id);
    response r;
    call(port, "POST", "/todos", body, &r);
    expect_todo(&r, 201, id, title, false);
    cr_assert(header_is(&r, "Location", location), "Location: %s", resp_header(&r, "Location"));
    response_free(&r);
}

#endif
