/* api: a JSON REST API over a todo list, with jansson for the JSON.
 *
 *   GET    /todos      -> 200 [{"id":1,"title":"milk","done":false},...]
 *   POST   /todos      -> 201 the new todo, Location: /todos/<id>
 *   GET    /todos/:id  -> 200 the todo
 *   PUT    /todos/:id  -> 200 the todo, its title and done replaced
 *   DELETE /todos/:id  -> 204, no body
 *
 * POST and PUT take {"title": "...", "done": false} ("done" optional,
 * false when absent; other members ignored) as application/json. Errors
 * answer {"error": "..."}:
 *   400  malformed JSON, a body that is not an object, a title that is
 *        missing or not a string, a "done" that is not a boolean, an id
 *        that is not a decimal integer
 *   404  no todo with that id (an id too large for any todo included),
 *        or no such path
 *   413  JSON nested deeper than --max-depth, or too big for
 *        --json-memory once decoded, or a body past --max-body (refused
 *        by zzz before the handler runs)
 *   415  a Content-Type other than application/json, or a
 *        Content-Encoding
 *   422  an empty title, or one longer than --max-title bytes
 *   507  the store holds --max-todos todos already
 * A method a path does not take gets zzz's 405 with Allow. The answers
 * zzz makes itself (405, 413, 400 for a malformed request...) are JSON
 * too: the server's error handler (json_error) makes them.
 *
 * The store is shared by every thread (store.c). Answering a request
 * never calls malloc: jansson allocates from a region of its thread
 * (jsonmem.c), the rest comes from zzz_alloc. */
#include "jsonmem.h"
#include "store.h"

#include <zzz.h>

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* jansson's parser recurses once per level, about 80 bytes of stack each:
 * the limit keeps a hostile body well inside a task's 64 KiB stack. */
#define API_DEPTH_CEILING 256

typedef struct api {
    store *todos;
    size_t max_depth;
} api;

/* ---- answers ----------------------------------------------------------- */

static void reply(zzz_res *res, int status, const char *body, size_t len)
{
    zzz_res_status(res, status);
    zzz_res_header(res, "Content-Type", "application/json");
    zzz_res_send(res, body, len);
}

/* Encodes value compactly, with a newline, into request memory. Called
 * inside a jsonmem scope. Returns false when it does not fit. */
static bool encode(zzz_req *req, const json_t *value, zzz_str *out)
{
    if (!value)
        return false;
    size_t len = json_dumpb(value, NULL, 0, JSON_COMPACT);
    char *buf = len ? zzz_alloc(req, len + 1) : NULL;
    if (!buf || json_dumpb(value, buf, len, JSON_COMPACT) != len)
        return false;
    buf[len] = '\n';
    *out = (zzz_str){buf, len + 1};
    return true;
}

/* {"error": message}; a message jansson cannot take (bytes of the
 * client's that are not UTF-8, in a parse error) gives way to the
 * status's reason. */
static void reply_error(zzz_req *req, zzz_res *res, int status, const char *message)
{
    zzz_str out;
    bool ok = false;
    if (jsonmem_begin()) {
        json_t *doc = json_pack("{s:s}", "error", message);
        if (!doc)
            doc = json_pack("{s:s}", "error", zzz_status_reason(status));
        ok = encode(req, doc, &out);
        jsonmem_end();
    }
    if (!ok)
        return; /* out of memory: the handler's return gives zzz's 500 */
    reply(res, status, out.ptr, out.len);
}

/* A todo as {"id":..,"title":..,"done":..}. Inside a jsonmem scope. */
static json_t *pack_todo(const todo *t)
{
    return json_pack("{s:I,s:s%,s:b}", "id", (json_int_t)t->id, "title", t->title, t->title_len,
                     "done", t->done);
}

static void reply_todo(zzz_req *req, zzz_res *res, int status, const todo *t)
{
    zzz_str out;
    bool ok = false;
    if (jsonmem_begin()) {
        ok = encode(req, pack_todo(t), &out);
        jsonmem_end();
    }
    if (ok)
        reply(res, status, out.ptr, out.len);
}

/* ---- requests ---------------------------------------------------------- */

/* The id of /todos/:id. Text that is not a decimal integer is refused
 * (400); a number too large for 64 bits is an id no todo has (0). */
static bool todo_id(zzz_req *req, zzz_res *res, uint64_t *id)
{
    zzz_str text = {"", 0};
    zzz_req_param(req, "id", &text);
    int err = zzz_str_to_u64(text, id);
    if (err == -ERANGE) {
        *id = 0;
        return true;
    }
    if (err) {
        reply_error(req, res, 400, "the id must be a decimal integer");
        return false;
    }
    return true;
}

/* application/json, with any parameters; no Content-Encoding. */
static bool body_is_json(const zzz_req *req)
{
    zzz_str type, coding;
    if (zzz_req_header(req, "Content-Encoding", &coding) && !zzz_str_eq_nocase(coding, "identity"))
        return false;
    if (!zzz_req_header(req, "Content-Type", &type))
        return false;
    size_t len = 0;
    while (len < type.len && type.ptr[len] != ';')
        len++;
    while (len > 0 && (type.ptr[len - 1] == ' ' || type.ptr[len - 1] == '\t'))
        len--;
    return zzz_str_eq_nocase((zzz_str){type.ptr, len}, "application/json");
}

/* True when no point of the text is nested deeper than max: brackets
 * outside strings counted as jansson's parser would recurse on them, so
 * a body that passes cannot take it deeper. */
static bool depth_within(zzz_str text, size_t max)
{
    size_t depth = 0;
    bool in_string = false;
    for (size_t i = 0; i < text.len; i++) {
        char c = text.ptr[i];
        if (in_string) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_string = false;
        } else if (c == '"') {
            in_string = true;
        } else if (c == '[' || c == '{') {
            if (++depth > max)
                return false;
        } else if ((c == ']' || c == '}') && depth > 0) {
            depth--;
        }
    }
    return true;
}

typedef struct todo_in {
    const char *title; /* in request memory */
    size_t title_len;
    bool done;
} todo_in;

/* Decodes and checks the body of a POST or PUT into *in. Inside a
 * jsonmem scope. Returns 0, or the status to answer with *why set. */
static int decode_todo(zzz_req *req, zzz_str body, size_t max_title, todo_in *in, char *why,
                       size_t why_size)
{
    json_error_t error;
    json_t *doc = json_loadb(body.ptr, body.len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &error);
    if (!doc) {
        enum json_error_code code = json_error_code(&error);
        if (jsonmem_exhausted() || code == json_error_out_of_memory ||
            code == json_error_stack_overflow) {
            snprintf(why, why_size, "the JSON is too large to decode");
            return 413;
        }
        snprintf(why, why_size, "malformed JSON at line %d, column %d: %s", error.line,
                 error.column, error.text);
        return 400;
    }
    if (!json_is_object(doc)) {
        snprintf(why, why_size, "the body must be a JSON object");
        return 400;
    }
    json_t *title = json_object_get(doc, "title");
    json_t *done = json_object_get(doc, "done");
    if (!title) {
        snprintf(why, why_size, "\"title\" is missing");
        return 400;
    }
    if (!json_is_string(title)) {
        snprintf(why, why_size, "\"title\" must be a string");
        return 400;
    }
    if (done && !json_is_boolean(done)) {
        snprintf(why, why_size, "\"done\" must be true or false");
        return 400;
    }
    size_t len = json_string_length(title);
    if (len == 0) {
        snprintf(why, why_size, "\"title\" is empty");
        return 422;
    }
    if (len > max_title) {
        snprintf(why, why_size, "\"title\" is longer than %zu bytes", max_title);
        return 422;
    }
    char *copy = zzz_alloc(req, len);
    if (!copy) {
        snprintf(why, why_size, "out of request memory");
        return 500;
    }
    memcpy(copy, json_string_value(title), len);
    *in = (todo_in){.title = copy, .title_len = len, .done = done && json_is_true(done)};
    return 0;
}

/* Reads the body of a POST or PUT into *in. Returns true, or false when
 * it has answered (or zzz will: a body that failed). */
static bool read_todo(zzz_req *req, zzz_res *res, const api *a, todo_in *in)
{
    if (!body_is_json(req)) {
        reply_error(req, res, 415, "the body must be application/json");
        return false;
    }
    zzz_str body;
    if (zzz_req_body(req, &body) != 0)
        return false; /* zzz answers 413, 408, 400 or 503 */
    char why[256];
    if (!depth_within(body, a->max_depth)) {
        snprintf(why, sizeof why, "the JSON is nested deeper than %zu levels", a->max_depth);
        reply_error(req, res, 413, why);
        return false;
    }
    int status = 500;
    snprintf(why, sizeof why, "no memory for the JSON");
    if (jsonmem_begin()) {
        status = decode_todo(req, body, store_max_title(a->todos), in, why, sizeof why);
        jsonmem_end();
    }
    if (status != 0) {
        reply_error(req, res, status, why);
        return false;
    }
    return true;
}

/* ---- handlers ---------------------------------------------------------- */

/* The listing goes out in pieces: each is encoded with the store locked
 * (no waiting then), and sent once the lock is let go. */
typedef struct list_piece {
    char *buf;
    size_t len, cap;
    bool first; /* no todo written yet */
    bool full;  /* a todo did not fit: send, then go on */
} list_piece;

static bool list_one(const todo *t, void *arg)
{
    list_piece *p = arg;
    /* Room kept for the comma before, and for "]\n" should this be the
     * last. */
    size_t comma = p->first ? 0 : 1;
    size_t room = p->cap - p->len > comma + 2 ? p->cap - p->len - comma - 2 : 0;
    size_t len = 0;
    if (room && jsonmem_begin()) {
        json_t *doc = pack_todo(t);
        len = doc ? json_dumpb(doc, p->buf + p->len + comma, room, JSON_COMPACT) : 0;
        jsonmem_end();
    }
    if (len == 0 || len > room) {
        p->full = true;
        return false;
    }
    if (comma)
        p->buf[p->len] = ',';
    p->len += comma + len;
    p->first = false;
    return true;
}

static void list_todos(zzz_req *req, zzz_res *res, void *user)
{
    const api *a = user;
    /* A piece holds at least the longest todo (every title byte escaped
     * as \u00XX). */
    size_t cap = 6 * store_max_title(a->todos) + 128;
    if (cap < 16384)
        cap = 16384;
    list_piece p = {.buf = zzz_alloc(req, cap), .cap = cap, .first = true};
    if (!p.buf)
        return;
    p.buf[p.len++] = '[';
    uint64_t after = 0;
    bool streaming = false;
    for (;;) {
        p.full = false;
        uint64_t last = store_list(a->todos, after, list_one, &p);
        if (p.full && last == after && p.len <= 1)
            return; /* jansson had no room for a todo: zzz answers 500 */
        after = last;
        if (!p.full)
            break;
        if (!streaming) {
            zzz_res_header(res, "Content-Type", "application/json");
            streaming = true;
        }
        if (zzz_res_write(res, p.buf, p.len) != 0)
            return; /* the client has gone: zzz closes */
        p.len = 0;
    }
    p.buf[p.len++] = ']';
    p.buf[p.len++] = '\n';
    if (!streaming) {
        reply(res, 200, p.buf, p.len); /* all in one piece: a Content-Length */
        return;
    }
    if (zzz_res_write(res, p.buf, p.len) == 0)
        zzz_res_end(res);
}

static void create_todo(zzz_req *req, zzz_res *res, void *user)
{
    api *a = user;
    todo_in in;
    if (!read_todo(req, res, a, &in))
        return;
    int64_t id = store_add(a->todos, in.title, in.title_len, in.done);
    if (id == -ENOSPC) {
        reply_error(req, res, 507, "the todo list is full");
        return;
    }
    if (id < 0)
        return;
    char location[48];
    snprintf(location, sizeof location, "/todos/%lld", (long long)id);
    zzz_res_header(res, "Location", location);
    todo t = {.id = (uint64_t)id, .done = in.done, .title = in.title, .title_len = in.title_len};
    reply_todo(req, res, 201, &t);
}

static void show_todo(zzz_req *req, zzz_res *res, void *user)
{
    api *a = user;
    uint64_t id;
    if (!todo_id(req, res, &id))
        return;
    char *title = zzz_alloc(req, store_max_title(a->todos));
    todo t;
    if (!title)
        return;
    if (store_get(a->todos, id, &t, title) != 0) {
        reply_error(req, res, 404, "no todo with that id");
        return;
    }
    reply_todo(req, res, 200, &t);
}

static void replace_todo(zzz_req *req, zzz_res *res, void *user)
{
    api *a = user;
    uint64_t id;
    todo_in in;
    if (!todo_id(req, res, &id) || !read_todo(req, res, a, &in))
        return;
    if (store_replace(a->todos, id, in.title, in.title_len, in.done) != 0) {
        reply_error(req, res, 404, "no todo with that id");
        return;
    }
    todo t = {.id = id, .done = in.done, .title = in.title, .title_len = in.title_len};
    reply_todo(req, res, 200, &t);
}

static void delete_todo(zzz_req *req, zzz_res *res, void *user)
{
    api *a = user;
    uint64_t id;
    if (!todo_id(req, res, &id))
        return;
    if (store_remove(a->todos, id) != 0) {
        reply_error(req, res, 404, "no todo with that id");
        return;
    }
    zzz_res_status(res, 204);
    zzz_res_send(res, NULL, 0);
}

static void not_found(zzz_req *req, zzz_res *res, void *user)
{
    (void)user;
    reply_error(req, res, 404, "no such resource");
}

/* The server's error handler: zzz's own answers as {"error": why}. why
 * is one of zzz's fixed phrases (plain ASCII without quotes); req is NULL
 * when no request could be read, so no request memory is used. */
static void json_error(zzz_req *req, zzz_res *res, int status, const char *why, void *user)
{
    (void)req;
    (void)user;
    char body[160];
    int n = snprintf(body, sizeof body, "{\"error\":\"%s\"}\n", why);
    for (int i = 10; i < n - 3; i++)
        if (body[i] == '"' || body[i] == '\\' || (unsigned char)body[i] < 0x20)
            body[i] = ' ';
    if (n > 0 && (size_t)n < sizeof body)
        reply(res, status, body, (size_t)n);
}

/* ---- the program ------------------------------------------------------- */

static void on_start(zzz_server *server, const char *driver, void *arg)
{
    const char *host = arg;
    printf("listening on %s:%u (driver %s, %u threads)\n", host, zzz_server_port(server), driver,
           zzz_server_threads(server));
    fflush(stdout);
}

/* A flag's number: decimal, within [min, max]. */
static bool flag_number(const char *text, uint64_t min, uint64_t max, uint64_t *out)
{
    zzz_str s = {text, strlen(text)};
    return zzz_str_to_u64(s, out) == 0 && *out >= min && *out <= max;
}

static int usage(const char *prog)
{
    fprintf(stderr,
            "usage: %s [--host ADDR] [--port N] [--threads N] [--conn-limit N]\n"
            "          [--max-todos N] [--max-title BYTES] [--max-body BYTES]\n"
            "          [--max-depth N] [--json-memory BYTES]\n",
            prog);
    return 2;
}

int main(int argc, char **argv)
{
    zzz_http_config cfg = {.server = {.host = "127.0.0.1", .port = 8080, .threads = 1},
                           .max_body = 16384};
    uint64_t max_todos = 1000, max_title = 256, max_depth = 32, json_memory = 0;
    for (int i = 1; i < argc; i++) {
        const char *flag = argv[i];
        const char *arg = i + 1 < argc ? argv[i + 1] : NULL;
        uint64_t n;
        if (!arg)
            return usage(argv[0]);
        i++;
        if (strcmp(flag, "--host") == 0)
            cfg.server.host = arg;
        else if (strcmp(flag, "--port") == 0 && flag_number(arg, 0, 65535, &n))
            cfg.server.port = (uint16_t)n;
        else if (strcmp(flag, "--threads") == 0 && flag_number(arg, 0, 4096, &n))
            cfg.server.threads = (unsigned)n;
        else if (strcmp(flag, "--conn-limit") == 0 && flag_number(arg, 0, UINT32_MAX, &n))
            cfg.server.conn_limit = (unsigned)n;
        else if (strcmp(flag, "--max-todos") == 0 && flag_number(arg, 1, 10000000, &n))
            max_todos = n;
        else if (strcmp(flag, "--max-title") == 0 && flag_number(arg, 1, 1 << 20, &n))
            max_title = n;
        else if (strcmp(flag, "--max-body") == 0 && flag_number(arg, 1, 1 << 30, &n))
            cfg.max_body = (size_t)n;
        else if (strcmp(flag, "--max-depth") == 0 && flag_number(arg, 1, API_DEPTH_CEILING, &n))
            max_depth = n;
        else if (strcmp(flag, "--json-memory") == 0 && flag_number(arg, 4096, 1 << 30, &n))
            json_memory = n;
        else
            return usage(argv[0]);
    }
    /* jansson holds a title up to four times over as it decodes one (the
     * token, its growing buffer, the string); beyond that, the region
     * bounds how much structure a body may decode to. */
    if (json_memory == 0) {
        json_memory = 4 * max_title + 16384;
        if (json_memory < 256 * 1024)
            json_memory = 256 * 1024;
    }
    if (json_memory < 4 * max_title + 16384) {
        fprintf(stderr, "api: --json-memory must be at least 4 * --max-title + 16384 (%llu)\n",
                (unsigned long long)(4 * max_title + 16384));
        return 2;
    }
    /* What a request takes from zzz_alloc: a title's copy, a todo's
     * encoding (each title byte may become six), a piece of the listing. */
    cfg.request_memory = 16 * (size_t)max_title + 64 * 1024;

    static api app;
    app.max_depth = (size_t)max_depth;
    int err = store_create(&app.todos, (size_t)max_todos, (size_t)max_title);
    if (err) {
        fprintf(stderr, "api: store of %llu todos: %s\n", (unsigned long long)max_todos,
                strerror(-err));
        return 1;
    }
    zzz_router *router = NULL;
    err = zzz_router_create(&router);
    if (err == 0)
        err = zzz_route(router, "GET", "/todos", list_todos, &app);
    if (err == 0)
        err = zzz_route(router, "POST", "/todos", create_todo, &app);
    if (err == 0)
        err = zzz_route(router, "GET", "/todos/:id", show_todo, &app);
    if (err == 0)
        err = zzz_route(router, "PUT", "/todos/:id", replace_todo, &app);
    if (err == 0)
        err = zzz_route(router, "DELETE", "/todos/:id", delete_todo, &app);
    if (err) {
        fprintf(stderr, "api: router: %s\n", strerror(-err));
        zzz_router_destroy(router);
        store_destroy(app.todos);
        return 1;
    }
    zzz_router_not_found(router, not_found, NULL);
    cfg.router = router;
    cfg.on_error = json_error;
    cfg.server.on_start = on_start;
    cfg.server.start_arg = (void *)cfg.server.host;
    zzz_server *server;
    err = zzz_http_server_create(&server, &cfg);
    if (err) {
        fprintf(stderr, "api: cannot listen on %s:%u: %s (%s)\n", cfg.server.host, cfg.server.port,
                strerror(-err), zzz_last_error());
        zzz_router_destroy(router);
        store_destroy(app.todos);
        return 1;
    }
    /* A region for each thread the server runs; seeding jansson's hash
     * now spares the first request the read of /dev/urandom. */
    err = jsonmem_setup(zzz_server_threads(server), (size_t)json_memory);
    if (err == 0) {
        json_object_seed(0);
        err = zzz_server_run(server);
    }
    zzz_server_destroy(server);
    zzz_router_destroy(router);
    jsonmem_teardown();
    store_destroy(app.todos);
    if (err) {
        fprintf(stderr, "api: %s\n", strerror(-err));
        return 1;
    }
    return 0;
}
