/* The HTTP server the forms and uploads integration tests (upload_test.c)
 * run as a child process: queries, urlencoded bodies and multipart
 * bodies echoed back in a form the tests can check exactly, through the
 * public API only. Handlers return on any error without answering, so
 * the answer is the one zzz makes of it. Prints "listening on
 * 127.0.0.1:PORT (driver D, N threads)" once it is up. */
#include <zzz.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int upload_dir_fd = -1;

/* An answer composed in the request's memory. */
typedef struct text {
    char *data;
    size_t len, cap;
} text;

static bool text_init(zzz_req *req, text *t, size_t cap)
{
    t->data = zzz_alloc(req, cap);
    t->len = 0;
    t->cap = cap;
    return t->data != NULL;
}

static void text_add(text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void text_add(text *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(t->data + t->len, t->cap - t->len, fmt, ap);
    va_end(ap);
    if (n > 0)
        t->len += (size_t)n < t->cap - t->len ? (size_t)n : t->cap - t->len - 1;
}

/* Just before the head: the status a layer sees, for every answer,
 * zzz's own included. */
static void status_hook(zzz_res *res, void *user)
{
    (void)user;
    char v[16];
    snprintf(v, sizeof v, "%d", zzz_res_status_code(res));
    zzz_res_header(res, "X-Hook-Status", v);
}

static void hook_layer(zzz_req *req, zzz_res *res, zzz_next *next, void *user)
{
    (void)req;
    (void)user;
    zzz_res_on_head(res, status_hook, NULL);
    zzz_next_run(next);
}

static void echo_form(zzz_req *req, zzz_res *res, zzz_form *form)
{
    text t;
    if (!text_init(req, &t, 8192))
        return;
    zzz_str name, value;
    while (zzz_form_next(form, &name, &value))
        text_add(&t, "%.*s=%.*s\n", (int)name.len, name.ptr, (int)value.len, value.ptr);
    zzz_res_header(res, "Content-Type", "text/plain");
    zzz_res_send(res, t.data, t.len);
}

/* GET /query: every query field, "name=value" a line. */
static void query(zzz_req *req, zzz_res *res, void *user)
{
    (void)user;
    zzz_form form;
    if (zzz_req_query_form(req, &form) < 0)
        return;
    echo_form(req, res, &form);
}

/* POST /form: every field of an urlencoded body. */
static void form(zzz_req *req, zzz_res *res, void *user)
{
    (void)user;
    zzz_form form;
    if (zzz_req_body_form(req, &form) < 0)
        return;
    echo_form(req, res, &form);
}

/* GET /count/query and POST /count/form: "N fields, M bytes" (of
 * decoded names and values), with nothing else taken from the request's
 * memory (no hook on these paths): the form's copies meet
 * request_memory alone. */
static void count(zzz_req *req, zzz_res *res, void *user)
{
    zzz_form form;
    if ((user ? zzz_req_body_form(req, &form) : zzz_req_query_form(req, &form)) < 0)
        return;
    size_t bytes = 0;
    zzz_str name, value;
    while (zzz_form_next(&form, &name, &value))
        bytes += name.len + value.len;
    char msg[64];
    snprintf(msg, sizeof msg, "%zu fields, %zu bytes\n", zzz_form_count(&form), bytes);
    zzz_res_text(res, 200, msg);
}

/* The limits from the query: max_part, max_header, max_parts. */
static zzz_multipart_opts opts_of(zzz_req *req)
{
    zzz_multipart_opts opts = {0};
    zzz_str v;
    uint64_t n;
    if (zzz_req_query_param(req, "max_part", &v) && zzz_str_to_u64(v, &n) == 0)
        opts.max_part_bytes = n;
    if (zzz_req_query_param(req, "max_header", &v) && zzz_str_to_u64(v, &n) == 0)
        opts.max_header_bytes = (size_t)n;
    if (zzz_req_query_param(req, "max_parts", &v) && zzz_str_to_u64(v, &n) == 0)
        opts.max_parts = (unsigned)n;
    return opts;
}

/* FNV-1a: a check that the bytes arrived as sent, not a digest. */
static uint64_t fnv(uint64_t h, const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)p[i]) * 0x100000001b3ull;
    return h;
}

/* Every part: a text field as "name=text", a file as
 * "name|filename|type|size|fnv"; -errno in *err when one failed. */
static bool echo_parts(zzz_req *req, text *t, int *err)
{
    zzz_multipart_opts opts = opts_of(req);
    zzz_multipart *mp;
    *err = zzz_req_multipart(req, &opts, &mp);
    if (*err)
        return false;
    zzz_part *part;
    int r;
    char *buf = zzz_alloc(req, 4096);
    if (!buf)
        return false;
    while ((r = zzz_multipart_next(mp, &part)) == 1) {
        zzz_str name = zzz_part_name(part), file;
        if (!zzz_part_filename(part, &file)) {
            zzz_str value;
            if ((*err = zzz_part_text(part, 1024, &value)) < 0)
                return false;
            text_add(t, "%.*s=%.*s\n", (int)name.len, name.ptr, (int)value.len, value.ptr);
            continue;
        }
        uint64_t h = 0xcbf29ce484222325ull, size = 0;
        ssize_t n;
        while ((n = zzz_part_read(part, buf, 4096)) > 0) {
            h = fnv(h, buf, (size_t)n);
            size += (uint64_t)n;
        }
        if (n < 0) {
            *err = (int)n;
            return false;
        }
        zzz_str type = zzz_part_content_type(part);
        text_add(t, "%.*s|%.*s|%.*s|%llu|%016llx\n", (int)name.len, name.ptr, (int)file.len,
                 file.ptr, (int)type.len, type.ptr, (unsigned long long)size,
                 (unsigned long long)h);
    }
    *err = r;
    return r == 0;
}

/* POST /mp/upload: the parts echoed; nothing on an error. */
static void upload(zzz_req *req, zzz_res *res, void *user)
{
    (void)user;
    text t;
    int err;
    if (!text_init(req, &t, 8192) || !echo_parts(req, &t, &err))
        return;
    zzz_res_header(res, "Content-Type", "text/plain");
    zzz_res_send(res, t.data, t.len);
}

/* POST /mp/own: the same, but an error gets this handler's own 422. */
static void upload_own(zzz_req *req, zzz_res *res, void *user)
{
    (void)user;
    text t;
    int err = 0;
    if (!text_init(req, &t, 8192))
        return;
    if (!echo_parts(req, &t, &err)) {
        char msg[64];
        snprintf(msg, sizeof msg, "mine: %s\n", strerror(-err));
        zzz_res_text(res, 422, msg);
        return;
    }
    zzz_res_send(res, t.data, t.len);
}

/* Reads the body whole before the handler (as a layer that checks a
 * signature would): the reader then reads from its buffer. */
static void read_first(zzz_req *req, zzz_res *res, zzz_next *next, void *user)
{
    (void)res;
    (void)user;
    zzz_str body;
    if (zzz_req_body(req, &body) == 0)
        zzz_next_run(next);
}

/* POST /mp/skip: counts the parts without reading any. */
static void skip(zzz_req *req, zzz_res *res, void *user)
{
    (void)user;
    zzz_multipart_opts opts = opts_of(req);
    zzz_multipart *mp;
    if (zzz_req_multipart(req, &opts, &mp) < 0)
        return;
    zzz_part *part;
    int r, count = 0;
    while ((r = zzz_multipart_next(mp, &part)) == 1)
        count++;
    if (r < 0)
        return;
    char msg[32];
    snprintf(msg, sizeof msg, "%d parts\n", count);
    zzz_res_text(res, 200, msg);
}

/* POST /mp/save: each file part saved in the upload directory under a name
 * of the server's own, "NNNNNN-FIELD" (the field name, if it is a safe
 * one); "field|saved name|bytes" a line. */
static void save(zzz_req *req, zzz_res *res, void *user)
{
    (void)user;
    static _Atomic unsigned counter;
    text t;
    zzz_multipart *mp;
    if (!text_init(req, &t, 8192) || zzz_req_multipart(req, NULL, &mp) < 0)
        return;
    zzz_part *part;
    int r;
    while ((r = zzz_multipart_next(mp, &part)) == 1) {
        if (!zzz_part_filename(part, NULL))
            continue;
        zzz_str field = zzz_part_name(part);
        char name[64];
        snprintf(name, sizeof name, "%06u-%.*s", atomic_fetch_add(&counter, 1),
                 (int)(field.len < 32 ? field.len : 32), field.ptr);
        int64_t n = zzz_part_save(part, upload_dir_fd, name);
        if (n < 0) {
            char msg[96];
            snprintf(msg, sizeof msg, "save %s: %s\n", name, strerror((int)-n));
            zzz_res_text(res, n == -EINVAL || n == -EEXIST ? 409 : 500, msg);
            return;
        }
        text_add(&t, "%.*s|%s|%lld\n", (int)field.len, field.ptr, name, (long long)n);
    }
    if (r < 0)
        return;
    zzz_res_send(res, t.data, t.len);
}

static void on_start(zzz_server *server, const char *driver, void *arg)
{
    (void)arg;
    printf("listening on 127.0.0.1:%u (driver %s, %u threads)\n", zzz_server_port(server), driver,
           zzz_server_threads(server));
    fflush(stdout);
}

static int fail(const char *what, int err)
{
    fprintf(stderr, "formserver: %s: %s\n", what, strerror(-err));
    return 1;
}

int main(int argc, char **argv)
{
    zzz_http_config cfg = {.server = {.host = "127.0.0.1", .threads = 1}};
    for (int i = 1; i + 1 < argc; i += 2) {
        unsigned long long v = strtoull(argv[i + 1], NULL, 10);
        if (strcmp(argv[i], "--port") == 0)
            cfg.server.port = (uint16_t)v;
        else if (strcmp(argv[i], "--threads") == 0)
            cfg.server.threads = (unsigned)v;
        else if (strcmp(argv[i], "--max-body") == 0)
            cfg.max_body = (size_t)v;
        else if (strcmp(argv[i], "--request-memory") == 0)
            cfg.request_memory = (size_t)v;
        else if (strcmp(argv[i], "--upload-dir") == 0)
            upload_dir_fd = open(argv[i + 1], O_PATH | O_DIRECTORY | O_CLOEXEC);
        else {
            fprintf(stderr,
                    "usage: %s [--port N] [--threads N] [--max-body N] [--request-memory N] "
                    "[--upload-dir DIR]\n",
                    argv[0]);
            return 2;
        }
    }
    zzz_router *router;
    int err = zzz_router_create(&router);
    if (err)
        return fail("router", err);
    struct {
        const char *method, *pattern;
        zzz_handler handler;
        void *user;
    } routes[] = {
        {"GET", "/query", query, NULL},       {"POST", "/form", form, NULL},
        {"POST", "/mp/upload", upload, NULL}, {"POST", "/mp/own", upload_own, NULL},
        {"POST", "/mp/skip", skip, NULL},     {"POST", "/mp/save", save, NULL},
        {"GET", "/count/query", count, NULL}, {"POST", "/count/form", count, "body"},
        {"POST", "/mp/stored", upload, NULL},
    };
    for (size_t i = 0; err == 0 && i < sizeof routes / sizeof routes[0]; i++)
        err = zzz_route(router, routes[i].method, routes[i].pattern, routes[i].handler,
                        routes[i].user);
    static const char *const hooked[] = {"/query", "/form", "/mp"};
    for (size_t i = 0; err == 0 && i < 3; i++)
        err = zzz_use(router, hooked[i], hook_layer, NULL);
    if (err == 0)
        err = zzz_route_use(router, "POST", "/mp/stored", read_first, NULL);
    if (err)
        return fail("routes", err);
    cfg.router = router;
    cfg.server.on_start = on_start;
    zzz_server *server;
    err = zzz_http_server_create(&server, &cfg);
    if (err) {
        zzz_router_destroy(router);
        return fail("server", err);
    }
    err = zzz_server_run(server);
    zzz_server_destroy(server);
    zzz_router_destroy(router);
    if (upload_dir_fd >= 0)
        close(upload_dir_fd);
    return err ? fail("run", err) : 0;
}
