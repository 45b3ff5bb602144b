/* form: HTML forms and file uploads. GET / shows two forms: one sent as
 * multipart/form-data (text fields and files), one as urlencoded. POST
 * /form answers, as plain text, each field and, for each file, its name,
 * size and SHA-256 (BearSSL's). Uploads stream to DIR part by part,
 * never whole in memory, each stored under a name of the server's own
 * ("upload-TIME-N"), never the client's.
 *
 *   form [--upload-dir DIR] [--max-body BYTES] [--host ADDR] [--port N]
 *        [--threads N]
 *
 * Try: form --upload-dir /tmp/up, then open http://127.0.0.1:8080/, or
 * curl -F title=hello -F file=@picture.png http://127.0.0.1:8080/form */
#include <zzz.h>

#include <bearssl.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int upload_dir = -1;

/* The page: both forms. */
static const char page[] =
    "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>zzz forms</title></head>\n"
    "<body>\n<h1>Upload</h1>\n"
    "<form method=\"post\" action=\"/form\" enctype=\"multipart/form-data\">\n"
    "<p><label>Title <input name=\"title\"></label></p>\n"
    "<p><label>Comment <textarea name=\"comment\"></textarea></label></p>\n"
    "<p><label>Files <input type=\"file\" name=\"files\" multiple></label></p>\n"
    "<p><button>Send</button></p>\n</form>\n"
    "<h1>A small form</h1>\n"
    "<form method=\"post\" action=\"/form\">\n"
    "<p><label>Name <input name=\"name\"></label></p>\n"
    "<p><label>Colour <select name=\"colour\"><option>red</option><option>green</option>"
    "</select></label></p>\n"
    "<p><button>Send</button></p>\n</form>\n</body></html>\n";

static void home(zzz_req *req, zzz_res *res, void *user)
{
    (void)req;
    (void)user;
    zzz_res_header(res, "Content-Type", "text/html; charset=utf-8");
    zzz_res_send(res, page, sizeof page - 1);
}

/* The answer, composed in the request's memory and sent whole at the
 * end: an upload that fails half-way still gets its proper status. */
typedef struct answer {
    char *data;
    size_t len, cap;
} answer;

#define ANSWER_BYTES ((size_t)32 * 1024)
#define FORM_MAX (64 * 1024)

static void add(answer *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void add(answer *a, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(a->data + a->len, a->cap - a->len, fmt, ap);
    va_end(ap);
    if (n > 0)
        a->len += (size_t)n < a->cap - a->len ? (size_t)n : a->cap - a->len - 1;
}

/* SHA-256 of the stored file, read back through tardy: the digest of
 * what is on disk. 0, or -errno. */
static int file_sha256(zzz_req *req, const char *name, char hex[65])
{
    enum { CHUNK = 16 * 1024 };
    char *buf = zzz_alloc(req, CHUNK);
    if (!buf)
        return -ENOMEM;
    int fd = openat(upload_dir, name, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    br_sha256_context ctx;
    br_sha256_init(&ctx);
    int64_t offset = 0;
    ssize_t n;
    while ((n = tardy_read(fd, buf, CHUNK, offset)) > 0) {
        br_sha256_update(&ctx, buf, (size_t)n);
        offset += n;
    }
    tardy_close(fd);
    if (n < 0)
        return (int)n;
    unsigned char digest[br_sha256_SIZE];
    br_sha256_out(&ctx, digest);
    for (size_t i = 0; i < sizeof digest; i++)
        snprintf(hex + 2 * i, 3, "%02x", digest[i]);
    return 0;
}

/* One file part: stored under a fresh name, then hashed. */
static int store_file(zzz_req *req, zzz_part *part, zzz_str filename, answer *a)
{
    /* The time, the process and a count: unique across restarts too. */
    static _Atomic unsigned counter;
    char name[80];
    snprintf(name, sizeof name, "upload-%lld-%ld-%u", (long long)time(NULL), (long)getpid(),
             atomic_fetch_add(&counter, 1));
    int64_t size = zzz_part_save(part, upload_dir, name);
    if (size < 0)
        return (int)size;
    char hex[65];
    int err = file_sha256(req, name, hex);
    if (err)
        return err;
    zzz_str field = zzz_part_name(part);
    add(a, "file %.*s: %.*s, %lld bytes, sha256 %s, stored as %s\n", (int)field.len, field.ptr,
        (int)filename.len, filename.ptr, (long long)size, hex, name);
    return 0;
}

static int multipart(zzz_req *req, answer *a)
{
    zzz_multipart_opts opts = {.max_parts = 64};
    zzz_multipart *mp;
    int err = zzz_req_multipart(req, &opts, &mp);
    zzz_part *part;
    while (err == 0 && (err = zzz_multipart_next(mp, &part)) == 1) {
        zzz_str file, value, name = zzz_part_name(part);
        if (zzz_part_filename(part, &file)) {
            /* A file input left empty still sends a part, named "". */
            err = file.len ? store_file(req, part, file, a) : 0;
        } else if ((err = zzz_part_text(part, 4096, &value)) == 0) {
            add(a, "field %.*s: %.*s\n", (int)name.len, name.ptr, (int)value.len, value.ptr);
        }
    }
    return err;
}

static int urlencoded(zzz_req *req, answer *a)
{
    zzz_form form;
    int err = zzz_req_body_form(req, &form);
    zzz_str name, value;
    while (err == 0 && zzz_form_next(&form, &name, &value))
        add(a, "field %.*s: %.*s\n", (int)name.len, name.ptr, (int)value.len, value.ptr);
    return err;
}

/* POST /form. On an error it just returns: zzz answers 400 (malformed),
 * 413 (too large) or 415 (neither kind of form) by itself, or 500 when
 * the server failed (a full disk, say). */
static void post_form(zzz_req *req, zzz_res *res, void *user)
{
    (void)user;
    answer a = {.data = zzz_alloc(req, ANSWER_BYTES), .cap = ANSWER_BYTES};
    if (!a.data)
        return;
    a.data[0] = '\0';
    zzz_str type = {"", 0};
    zzz_req_header(req, "Content-Type", &type);
    bool is_multipart =
        type.len >= 19 && zzz_str_eq_nocase((zzz_str){type.ptr, 19}, "multipart/form-data");
    /* An urlencoded form is read whole, into a body buffer of the
     * server's max_body (FORM_MAX): it has no business being as large as
     * an upload. A chunked one past it gets 413 from zzz_req_body. */
    int64_t length = zzz_req_content_length(req);
    if (!is_multipart && length > FORM_MAX) {
        zzz_res_error(res, 413, "form too large");
        return;
    }
    int err = is_multipart ? multipart(req, &a) : urlencoded(req, &a);
    if (err < 0) {
        fprintf(stderr, "form: POST /form: %s\n", strerror(-err));
        return;
    }
    zzz_res_header(res, "Content-Type", "text/plain; charset=utf-8");
    zzz_res_header(res, "X-Content-Type-Options", "nosniff");
    zzz_res_send(res, a.data, a.len);
}

static void on_start(zzz_server *server, const char *driver, void *arg)
{
    const char *host = arg;
    printf("listening on %s:%u (driver %s, %u threads)\n", host, zzz_server_port(server), driver,
           zzz_server_threads(server));
    fflush(stdout);
}

static int usage(const char *prog)
{
    fprintf(stderr,
            "usage: %s [--upload-dir DIR] [--max-body BYTES] [--host ADDR] [--port N] "
            "[--threads N]\n",
            prog);
    return 2;
}

int main(int argc, char **argv)
{
    /* POST /form's uploads are bounded by its own limit (256 MiB unless
     * --max-body says), streamed; the server's max_body, which sizes the
     * whole-body buffers, stays that of an urlencoded form. Text fields
     * and the answer live in the request's memory. */
    zzz_http_config cfg = {
        .server = {.host = "127.0.0.1", .port = 8080, .threads = 1},
        .max_body = FORM_MAX,
        .request_memory = 256 * 1024,
    };
    uint64_t upload_max = (uint64_t)256 * 1024 * 1024;
    const char *dir = "uploads";
    for (int i = 1; i < argc; i++) {
        if (i + 1 >= argc)
            return usage(argv[0]);
        const char *flag = argv[i], *arg = argv[++i];
        if (strcmp(flag, "--upload-dir") == 0)
            dir = arg;
        else if (strcmp(flag, "--max-body") == 0)
            upload_max = strtoull(arg, NULL, 10);
        else if (strcmp(flag, "--port") == 0)
            cfg.server.port = (uint16_t)atoi(arg);
        else if (strcmp(flag, "--threads") == 0)
            cfg.server.threads = (unsigned)atoi(arg);
        else if (strcmp(flag, "--host") == 0)
            cfg.server.host = arg;
        else
            return usage(argv[0]);
    }
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        fprintf(stderr, "form: %s: %s\n", dir, strerror(errno));
        return 1;
    }
    upload_dir = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (upload_dir < 0) {
        fprintf(stderr, "form: %s: %s\n", dir, strerror(errno));
        return 1;
    }
    zzz_router *router;
    int err = zzz_router_create(&router);
    if (err == 0)
        err = zzz_route(router, "GET", "/", home, NULL);
    if (err == 0)
        err = zzz_route(router, "POST", "/form", post_form, NULL);
    if (err == 0)
        err = zzz_route_max_body(router, "POST", "/form", upload_max);
    if (err) {
        fprintf(stderr, "form: router: %s\n", strerror(-err));
        return 1;
    }
    cfg.router = router;
    cfg.server.on_start = on_start;
    cfg.server.start_arg = (void *)cfg.server.host;
    zzz_server *server;
    err = zzz_http_server_create(&server, &cfg);
    if (err) {
        fprintf(stderr, "form: cannot listen on %s:%u: %s\n", cfg.server.host, cfg.server.port,
                strerror(-err));
        return 1;
    }
    err = zzz_server_run(server);
    zzz_server_destroy(server);
    zzz_router_destroy(router);
    close(upload_dir);
    if (err) {
        fprintf(stderr, "form: %s\n", strerror(-err));
        return 1;
    }
    return 0;
}
