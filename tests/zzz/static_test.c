/* Integration tests of static files (zzz_static and zzz_static_bytes)
 * through the fs example (examples/fs) as a child process on 127.0.0.1,
 * driven by raw sockets: exact bytes and fields for types, validators
 * (ETag, Last-Modified, 304), ranges (206, 416, If-Range), directories
 * (301, index, listing), pre-compressed siblings, a sparse 1 GiB file,
 * clients that vanish mid-file, the built-in /favicon.ico, and a table of
 * requests that try to reach a secret file outside the served root (or a
 * dotfile inside it) and must never see a byte of it. Each test serves a
 * directory of its own under $TMPDIR (removed afterwards). Meson runs this
 * once per I/O driver (TARDY_DRIVER, inherited by the server), and once
 * more per driver built with ZZZ_TEST_TLS: the fs example then gets the
 * "localhost" certificate and the client speaks TLS (see harness.h). */
#include "harness.h"

#include <dirent.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>

#ifdef ZZZ_TEST_TLS
#define OVER_TLS true
#else
#define OVER_TLS false
#endif

/* ---- the served directory ------------------------------------------------------ */

/* st_base holds the secret (outside the root) and st_root, the directory
 * the server serves. Each test runs in a process of its own. */
static char st_base[512];
static char st_root[600];

/* What must never reach a client: the file outside the root, and the
 * dotfiles inside it. */
#define OUTSIDE_MARKER "OUTSIDE-SECRET-4f9d2c71"
#define DOTFILE_MARKER "DOTFILE-SECRET-8e1a77b3"

/* The modification time most files get: Tue, 14 Nov 2023 22:13:20 GMT. */
#define T0 ((time_t)1700000000)

static void st_init(void)
{
    harness_temp_dir(st_base, sizeof st_base, "static");
    snprintf(st_root, sizeof st_root, "%s/www", st_base);
    cr_assert_eq(mkdir(st_root, 0755), 0, "mkdir %s: %s", st_root, strerror(errno));
    char secret[600];
    snprintf(secret, sizeof secret, "%s/secret.txt", st_base);
    static const char text[] = "secret: " OUTSIDE_MARKER "\n";
    harness_write_path(secret, text, sizeof text - 1, 0644);
}

static void st_fini(void)
{
    harness_cleanup(); /* the server first: it holds the root open */
    harness_remove_tree(st_base);
    st_base[0] = '\0';
    harness_free_owned();
}

TestSuite(static_files, .init = st_init, .fini = st_fini, .timeout = 120);

/* st_root/rel, from a ring of buffers. */
static const char *www(const char *rel)
{
    static char paths[8][1200];
    static unsigned next;
    char *p = paths[next++ % 8];
    snprintf(p, sizeof paths[0], "%s/%s", st_root, rel);
    return p;
}

static void put(const char *rel, const void *data, size_t len)
{
    harness_write_path(www(rel), data, len, 0644);
}

static void put_str(const char *rel, const char *text)
{
    put(rel, text, strlen(text));
}

static void make_dir(const char *rel)
{
    cr_assert_eq(mkdir(www(rel), 0755), 0, "mkdir %s: %s", rel, strerror(errno));
}

static void make_link(const char *target, const char *rel)
{
    cr_assert_eq(symlink(target, www(rel)), 0, "symlink %s: %s", rel, strerror(errno));
}

/* Sets a file's modification (and access) time. */
static void set_mtime(const char *rel, time_t sec, long nsec)
{
    struct timespec ts[2] = {{.tv_sec = sec, .tv_nsec = nsec}, {.tv_sec = sec, .tv_nsec = nsec}};
    cr_assert_eq(utimensat(AT_FDCWD, www(rel), ts, AT_SYMLINK_NOFOLLOW), 0, "utimensat %s: %s", rel,
                 strerror(errno));
}

/* len pseudo-random bytes, owned by the test. */
static char *random_bytes(size_t len, uint64_t seed)
{
    return harness_own(harness_random_bytes(len, seed));
}

static char *put_random(const char *rel, size_t len, uint64_t seed)
{
    char *data = random_bytes(len, seed);
    put(rel, data, len);
    return data;
}

/* An IMF-fixdate for t ("Tue, 14 Nov 2023 22:13:20 GMT"), from a ring. */
static const char *http_date(time_t t)
{
    static char dates[4][40];
    static unsigned next;
    char *d = dates[next++ % 4];
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(d, sizeof dates[0], "%a, %d %b %Y %H:%M:%S GMT", &tm);
    return d;
}

/* ---- the server ----------------------------------------------------------------- */

/* Starts `fs --root st_root [--tls-cert --tls-key] extra...` through the
 * harness, which waits for its "listening on" line. */
static void fs_start(server *s, const char *const *extra)
{
    const char *path = getenv("ZZZ_FS");
    if (!path || !*path)
        cr_skip_test("ZZZ_FS is not set: the examples are not built");
    cr_assert(access(path, X_OK) == 0, "ZZZ_FS=%s is not executable", path);
    const char *args[32];
    size_t n = 0;
    args[n++] = "--root";
    args[n++] = st_root;
#ifdef ZZZ_TEST_TLS
    args[n++] = "--tls-cert";
    args[n++] = harness_tls_file("ec-chain.pem");
    args[n++] = "--tls-key";
    args[n++] = harness_tls_file("ec-key.pem");
#endif
    for (size_t i = 0; extra && extra[i] && n < 31; i++)
        args[n++] = extra[i];
    args[n] = NULL;
    server_start(s, path, args);
}

/* ---- requests and what the answers must say ----------------------------------------- */

/* "METHOD target HTTP/1.1" with Host and the extra header lines (each
 * ending in CRLF; NULL: none). */
static const char *request_text(const char *method, const char *target, const char *extra)
{
    static char text[16384];
    int n = snprintf(text, sizeof text, "%s %s HTTP/1.1\r\nHost: localhost\r\n%s\r\n", method,
                     target, extra ? extra : "");
    cr_assert(n > 0 && (size_t)n < sizeof text, "request too long");
    return text;
}

/* One request on a fresh connection; the response into r. */
static void ask(uint16_t port, const char *method, const char *target, const char *extra,
                response *r)
{
    client c;
    client_open(&c, port);
    client_send_str(&c, request_text(method, target, extra));
    if (strcmp(method, "HEAD") == 0)
        client_response_head(&c, r);
    else
        client_response(&c, r);
    client_close(&c);
}

static void get(uint16_t port, const char *target, const char *extra, response *r)
{
    ask(port, "GET", target, extra, r);
}

static void expect_header(const response *r, const char *name, const char *value)
{
    const char *v = resp_header(r, name);
    cr_assert(v && strcmp(v, value) == 0, "%s: expected \"%s\", got %s%s%s in:\n%s", name, value,
              v ? "\"" : "", v ? v : "none", v ? "\"" : "", r->head);
}

static void expect_no_header(const response *r, const char *name)
{
    cr_assert(resp_header(r, name) == NULL, "unexpected %s in:\n%s", name, r->head);
}

/* The value of a header copied into out (size 256); fails when absent. */
static char *header_copy(const response *r, const char *name, char *out)
{
    const char *v = resp_header(r, name);
    cr_assert(v, "no %s in:\n%s", name, r->head);
    size_t n = strlen(v);
    cr_assert(n < 256, "%s too long: %s", name, v);
    memcpy(out, v, n + 1);
    return out;
}

static void expect_bytes(const response *r, const void *data, size_t len)
{
    cr_assert_eq(r->body_len, len, "expected %zu body bytes, got %zu:\n%s", len, r->body_len,
                 r->head);
    for (size_t i = 0; i < len; i++)
        cr_assert_eq(r->body[i], ((const char *)data)[i], "body differs at byte %zu", i);
}

/* An entity tag that is strong: DQUOTE *etagc DQUOTE, no W/. */
static bool strong_etag(const char *v)
{
    size_t n = strlen(v);
    if (n < 2 || v[0] != '"' || v[n - 1] != '"')
        return false;
    for (size_t i = 1; i + 1 < n; i++) {
        unsigned char c = (unsigned char)v[i];
        if (!(c == 0x21 || (c >= 0x23 && c != 0x7f)))
            return false;
    }
    return true;
}

/* What every full (200) or partial (206) answer about a file carries. */
static void expect_file_fields(const response *r, const char *type, time_t mtime)
{
    expect_header(r, "Content-Type", type);
    expect_header(r, "X-Content-Type-Options", "nosniff");
    expect_header(r, "Accept-Ranges", "bytes");
    expect_header(r, "Last-Modified", http_date(mtime));
    const char *etag = resp_header(r, "ETag");
    cr_assert(etag && strong_etag(etag), "no strong ETag in:\n%s", r->head);
    cr_assert_eq(resp_header_count(r, "ETag"), 1);
    cr_assert_eq(resp_header_count(r, "Content-Length"), 1, "one Content-Length:\n%s", r->head);
    expect_no_header(r, "Transfer-Encoding");
}

/* GET target (with extra) answered 200 with exactly data. */
static void expect_file(uint16_t port, const char *target, const char *extra, const void *data,
                        size_t len)
{
    response r;
    get(port, target, extra, &r);
    expect_status(&r, 200);
    expect_bytes(&r, data, len);
    cr_assert_eq(r.content_length, (long long)len);
    expect_no_header(&r, "Content-Range");
    expect_no_header(&r, "Content-Encoding");
    response_free(&r);
}

/* The request is answered 304, with etag and without a body; proved by a
 * second request pipelined behind it, whose answer must parse and carry
 * exactly data. */
static void expect_304(uint16_t port, const char *target, const char *extra, const char *etag,
                       const void *data, size_t len)
{
    client c;
    client_open(&c, port);
    char both[20000];
    snprintf(both, sizeof both, "%s", request_text("GET", target, extra));
    size_t n = strlen(both);
    snprintf(both + n, sizeof both - n, "%s", request_text("GET", target, NULL));
    client_send_str(&c, both);
    response r;
    client_response(&c, &r);
    cr_assert_eq(r.status, 304, "expected 304 for %s with\n%s\ngot:\n%s", target,
                 extra ? extra : "", r.head);
    expect_header(&r, "ETag", etag);
    cr_assert(resp_header(&r, "Last-Modified") != NULL, "a 304 without Last-Modified:\n%s", r.head);
    /* RFC 9110 8.6: a 304 may carry Content-Length only as the 200's. */
    if (r.content_length >= 0)
        cr_assert_eq(r.content_length, (long long)len, "a 304's Content-Length:\n%s", r.head);
    expect_no_header(&r, "Transfer-Encoding");
    expect_no_header(&r, "Content-Range");
    response_free(&r);
    client_response(&c, &r);
    expect_status(&r, 200);
    expect_bytes(&r, data, len);
    response_free(&r);
    client_close(&c);
}

/* A Range request answered 206 with bytes [first, last] of data (size
 * bytes long) and exactly them. */
static void expect_range(uint16_t port, const char *target, const char *extra, const char *data,
                         uint64_t size, uint64_t first, uint64_t last)
{
    response r;
    get(port, target, extra, &r);
    cr_assert_eq(r.status, 206, "expected 206 for\n%s\ngot:\n%s", extra, r.head);
    char want[96];
    snprintf(want, sizeof want, "bytes %llu-%llu/%llu", (unsigned long long)first,
             (unsigned long long)last, (unsigned long long)size);
    expect_header(&r, "Content-Range", want);
    cr_assert_eq(r.content_length, (long long)(last - first + 1), "%s", r.head);
    expect_header(&r, "Accept-Ranges", "bytes");
    cr_assert(resp_header(&r, "ETag") != NULL);
    expect_bytes(&r, data + first, (size_t)(last - first + 1));
    response_free(&r);
}

/* ======================================================================
 * Basics: types, fields, HEAD, keep-alive, pipelining
 * ==================================================================== */

typedef struct typed_file {
    const char *name;
    const char *content;
    size_t len;
    const char *type;
} typed_file;

Test(static_files, types_and_fields)
{
    static const char png[] = "\x89PNG\r\n\x1a\n\0\0\0\rIHDR";
    static const char wasm[] = "\0asm\x01\0\0\0";
    static const typed_file files[] = {
        {"index.html", "<!doctype html><p>home</p>\n", 27, "text/html; charset=utf-8"},
        {"page.htm", "<p>old</p>", 10, "text/html; charset=utf-8"},
        {"style.css", "body{color:red}\n", 16, "text/css; charset=utf-8"},
        {"UPPER.CSS", "p{}", 3, "text/css; charset=utf-8"},
        {"app.js", "console.log(1);\n", 16, "text/javascript; charset=utf-8"},
        {"mod.mjs", "export{};", 9, "text/javascript; charset=utf-8"},
        {"logo.svg", "<svg xmlns=\"http://www.w3.org/2000/svg\"/>", 41,
         "image/svg+xml; charset=utf-8"},
        {"notes.txt", "plain\r\ntext", 11, "text/plain; charset=utf-8"},
        {"pic.png", png, sizeof png - 1, "image/png"},
        {"mod.wasm", wasm, sizeof wasm - 1, "application/wasm"},
        {"blob.qqq", "\x01\x02\x03", 3, "application/octet-stream"},
        {"README", "no extension", 12, "application/octet-stream"},
        {"trailing.", "dot", 3, "application/octet-stream"},
        {"empty.txt", "", 0, "text/plain; charset=utf-8"},
    };
    size_t count = sizeof files / sizeof files[0];
    for (size_t i = 0; i < count; i++) {
        put(files[i].name, files[i].content, files[i].len);
        set_mtime(files[i].name, T0 + (time_t)i, 0);
    }
    /* JSON: RFC 8259 defines no charset, so either form is right. */
    put_str("data.json", "{\"a\":[1,2]}");
    set_mtime("data.json", T0, 0);

    server s;
    fs_start(&s, NULL);
    char etags[16][256];
    for (size_t i = 0; i < count; i++) {
        char target[64];
        snprintf(target, sizeof target, "/%s", files[i].name);
        response r;
        get(s.port, target, NULL, &r);
        expect_status(&r, 200);
        expect_bytes(&r, files[i].content, files[i].len);
        cr_assert_eq(r.content_length, (long long)files[i].len, "%s:\n%s", target, r.head);
        expect_file_fields(&r, files[i].type, T0 + (time_t)i);
        expect_header(&r, "Cache-Control", "no-cache"); /* the fs example's choice */
        cr_assert(resp_header(&r, "Date") != NULL);
        expect_no_header(&r, "Content-Encoding");
        expect_no_header(&r, "Content-Range");
        /* Siblings may exist for any file: the answer always says it
         * depends on Accept-Encoding (not probing for them costs less). */
        expect_header(&r, "Vary", "Accept-Encoding");
        header_copy(&r, "ETag", etags[i]);
        for (size_t k = 0; k < i; k++)
            cr_assert_str_neq(etags[i], etags[k], "%s and %s share an ETag", files[i].name,
                              files[k].name);
        response_free(&r);
    }
    response r;
    get(s.port, "/data.json", NULL, &r);
    expect_status(&r, 200);
    expect_body(&r, "{\"a\":[1,2]}");
    const char *type = resp_header(&r, "Content-Type");
    cr_assert(type && (strcmp(type, "application/json") == 0 ||
                       strcmp(type, "application/json; charset=utf-8") == 0),
              "data.json: %s", r.head);
    response_free(&r);

    /* A name that does not exist, and other methods. */
    get(s.port, "/nothing-here.css", NULL, &r);
    expect_status(&r, 404);
    cr_assert(r.body_len == 0 || memmem(r.body, r.body_len, "body{", 5) == NULL);
    response_free(&r);
    static const char *const methods[] = {"POST", "PUT", "DELETE", "PATCH"};
    for (size_t i = 0; i < 4; i++) {
        client c;
        client_open(&c, s.port);
        client_send_str(&c, request_text(methods[i], "/style.css", "Content-Length: 0\r\n"));
        client_response(&c, &r);
        expect_status(&r, 405);
        expect_header(&r, "Allow", "GET, HEAD");
        response_free(&r);
        client_close(&c);
    }
    server_stop(&s);
}

Test(static_files, head_matches_get)
{
    put_str("small.css", "a{b:c}\n");
    char *big = put_random("big.bin", 100 * 1024, 7);
    set_mtime("small.css", T0, 0);
    set_mtime("big.bin", T0, 0);
    server s;
    fs_start(&s, NULL);
    static const char *const names[] = {"/small.css", "/big.bin"};
    const size_t sizes[] = {7, 100 * 1024};
    for (size_t i = 0; i < 2; i++) {
        client c;
        client_open(&c, s.port);
        client_send_str(&c, request_text("HEAD", names[i], NULL));
        response h;
        client_response_head(&c, &h);
        expect_status(&h, 200);
        cr_assert_eq(h.content_length, (long long)sizes[i], "HEAD %s:\n%s", names[i], h.head);
        expect_file_fields(&h, i == 0 ? "text/css; charset=utf-8" : "application/octet-stream", T0);
        /* No body follows the head: nothing more arrives. */
        ssize_t got = client_recv_some(&c, 300);
        cr_assert(got == -ETIMEDOUT && c.len == 0, "%zu bytes after the HEAD response", c.len);
        /* The same connection then serves a GET with the same fields. */
        client_send_str(&c, request_text("GET", names[i], NULL));
        response g;
        client_response(&c, &g);
        expect_status(&g, 200);
        expect_bytes(&g, i == 0 ? "a{b:c}\n" : big, sizes[i]);
        static const char *const same[] = {
            "Content-Length", "Content-Type",           "ETag",         "Last-Modified",
            "Accept-Ranges",  "X-Content-Type-Options", "Cache-Control"};
        for (size_t k = 0; k < sizeof same / sizeof same[0]; k++) {
            char hv[256];
            header_copy(&h, same[k], hv);
            expect_header(&g, same[k], hv);
        }
        response_free(&h);
        response_free(&g);
        client_close(&c);
    }
    /* HEAD of a range: the 206's fields, no body. */
    client c;
    client_open(&c, s.port);
    client_send_str(&c, request_text("HEAD", "/big.bin", "Range: bytes=10-19\r\n"));
    response h;
    client_response_head(&c, &h);
    expect_status(&h, 206);
    expect_header(&h, "Content-Range", "bytes 10-19/102400");
    cr_assert_eq(h.content_length, 10);
    response_free(&h);
    cr_assert_eq(client_recv_some(&c, 300), -ETIMEDOUT);
    cr_assert_eq(c.len, 0);
    client_close(&c);
    server_stop(&s);
}

Test(static_files, keepalive_and_pipelining)
{
    put_str("a.txt", "alpha\n");
    char *big = put_random("big.bin", 300 * 1024 + 17, 11);
    put_str("c.css", "0123456789");
    server s;
    fs_start(&s, NULL);
    response r;
    get(s.port, "/a.txt", NULL, &r);
    char etag_a[256];
    header_copy(&r, "ETag", etag_a);
    response_free(&r);

    client c;
    client_open(&c, s.port);
    /* Seven requests in one send: answered in order, each exactly. */
    char pipeline[8192] = "";
    char inm[300];
    snprintf(inm, sizeof inm, "If-None-Match: %s\r\n", etag_a);
    strcat(pipeline, request_text("GET", "/a.txt", NULL));
    strcat(pipeline, request_text("GET", "/big.bin", NULL));
    strcat(pipeline, request_text("HEAD", "/c.css", NULL));
    strcat(pipeline, request_text("GET", "/c.css", "Range: bytes=2-5\r\n"));
    strcat(pipeline, request_text("GET", "/a.txt", inm));
    strcat(pipeline, request_text("GET", "/missing.txt", NULL));
    strcat(pipeline, request_text("GET", "/c.css", NULL));
    client_send_str(&c, pipeline);

    client_response(&c, &r);
    expect_status(&r, 200);
    expect_body(&r, "alpha\n");
    response_free(&r);
    client_response(&c, &r);
    expect_status(&r, 200);
    expect_bytes(&r, big, 300 * 1024 + 17);
    response_free(&r);
    client_response_head(&c, &r);
    expect_status(&r, 200);
    cr_assert_eq(r.content_length, 10);
    response_free(&r);
    client_response(&c, &r);
    expect_status(&r, 206);
    expect_header(&r, "Content-Range", "bytes 2-5/10");
    expect_body(&r, "2345");
    response_free(&r);
    client_response(&c, &r);
    expect_status(&r, 304);
    response_free(&r);
    client_response(&c, &r);
    expect_status(&r, 404);
    response_free(&r);
    client_response(&c, &r);
    expect_status(&r, 200);
    expect_body(&r, "0123456789");
    cr_assert(!header_is(&r, "Connection", "close"), "%s", r.head);
    response_free(&r);
    cr_assert_eq(c.len, 0, "%zu stray bytes after the pipeline", c.len);

    /* Still open: one request more, then a second big one. */
    client_send_str(&c, request_text("GET", "/a.txt", NULL));
    client_response(&c, &r);
    expect_body(&r, "alpha\n");
    response_free(&r);
    client_send_str(&c, request_text("GET", "/big.bin", NULL));
    client_response(&c, &r);
    expect_bytes(&r, big, 300 * 1024 + 17);
    response_free(&r);
    client_close(&c);

    /* HTTP/1.0: the file, then the connection closes. */
    client_open(&c, s.port);
    client_send_str(&c, "GET /c.css HTTP/1.0\r\n\r\n");
    client_response(&c, &r);
    expect_status(&r, 200);
    expect_body(&r, "0123456789");
    response_free(&r);
    cr_assert(client_wait_closed(&c, HANG_GUARD_MS, NULL), "HTTP/1.0 connection stayed open");
    client_close(&c);
    server_stop(&s);
}

/* ======================================================================
 * Caching: If-None-Match, If-Modified-Since, new versions
 * ==================================================================== */

Test(static_files, if_none_match)
{
    static const char text[] = "cache me\n";
    put_str("f.txt", text);
    set_mtime("f.txt", T0, 0);
    server s;
    fs_start(&s, NULL);
    response r;
    get(s.port, "/f.txt", NULL, &r);
    char etag[256], hdr[700];
    header_copy(&r, "ETag", etag);
    response_free(&r);
    cr_assert(strong_etag(etag));
    size_t len = sizeof text - 1;

    snprintf(hdr, sizeof hdr, "If-None-Match: %s\r\n", etag);
    expect_304(s.port, "/f.txt", hdr, etag, text, len);
    snprintf(hdr, sizeof hdr, "If-None-Match: \"zz\", %s, \"yy\"\r\n", etag);
    expect_304(s.port, "/f.txt", hdr, etag, text, len);
    snprintf(hdr, sizeof hdr, "If-None-Match: \"zz\",%s\r\n", etag);
    expect_304(s.port, "/f.txt", hdr, etag, text, len);
    /* Weak comparison: W/ on the client's tag still matches. */
    snprintf(hdr, sizeof hdr, "If-None-Match: W/%s\r\n", etag);
    expect_304(s.port, "/f.txt", hdr, etag, text, len);
    expect_304(s.port, "/f.txt", "If-None-Match: *\r\n", etag, text, len);
    /* A match wins over an If-Modified-Since that alone would say 200. */
    snprintf(hdr, sizeof hdr, "If-None-Match: %s\r\nIf-Modified-Since: %s\r\n", etag,
             http_date(T0 - 3600));
    expect_304(s.port, "/f.txt", hdr, etag, text, len);

    /* A match wins over a Range too (RFC 9110 13.2.2). */
    snprintf(hdr, sizeof hdr, "If-None-Match: %s\r\nRange: bytes=0-1\r\n", etag);
    expect_304(s.port, "/f.txt", hdr, etag, text, len);

    /* No match: the whole file. */
    expect_file(s.port, "/f.txt", "If-None-Match: \"nope\"\r\n", text, len);
    expect_file(s.port, "/f.txt", "If-None-Match: W/\"nope\"\r\n", text, len);
    /* The tag without its quotes is not the tag. */
    char bare[256];
    snprintf(bare, sizeof bare, "%.*s", (int)strlen(etag) - 2, etag + 1);
    snprintf(hdr, sizeof hdr, "If-None-Match: %s\r\n", bare);
    expect_file(s.port, "/f.txt", hdr, text, len);
    /* A prefix of the tag is not the tag. */
    snprintf(hdr, sizeof hdr, "If-None-Match: %.*s\"\r\n", (int)strlen(etag) - 2, etag);
    expect_file(s.port, "/f.txt", hdr, text, len);
    /* RFC 9110 13.2.2: If-None-Match present, If-Modified-Since is not
     * looked at, even when it alone would give 304. */
    snprintf(hdr, sizeof hdr, "If-None-Match: \"nope\"\r\nIf-Modified-Since: %s\r\n",
             http_date(T0 + 3600));
    expect_file(s.port, "/f.txt", hdr, text, len);
    server_stop(&s);
}

Test(static_files, if_modified_since)
{
    static const char text[] = "dated\n";
    put_str("d.txt", text);
    set_mtime("d.txt", T0, 0);
    server s;
    fs_start(&s, NULL);
    response r;
    get(s.port, "/d.txt", NULL, &r);
    char etag[256], hdr[300];
    header_copy(&r, "ETag", etag);
    expect_header(&r, "Last-Modified", "Tue, 14 Nov 2023 22:13:20 GMT");
    response_free(&r);
    size_t len = sizeof text - 1;

    snprintf(hdr, sizeof hdr, "If-Modified-Since: %s\r\n", http_date(T0));
    expect_304(s.port, "/d.txt", hdr, etag, text, len);
    snprintf(hdr, sizeof hdr, "If-Modified-Since: %s\r\n", http_date(T0 + 1));
    expect_304(s.port, "/d.txt", hdr, etag, text, len);
    snprintf(hdr, sizeof hdr, "If-Modified-Since: %s\r\n", http_date(T0 + 86400));
    expect_304(s.port, "/d.txt", hdr, etag, text, len);
    /* The obsolete forms a recipient must read (RFC 9110 5.6.7). */
    expect_304(s.port, "/d.txt", "If-Modified-Since: Tuesday, 14-Nov-23 22:13:20 GMT\r\n", etag,
               text, len);
    expect_304(s.port, "/d.txt", "If-Modified-Since: Tue Nov 14 22:13:20 2023\r\n", etag, text,
               len);

    snprintf(hdr, sizeof hdr, "If-Modified-Since: %s\r\n", http_date(T0 - 1));
    expect_file(s.port, "/d.txt", hdr, text, len);
    expect_file(s.port, "/d.txt", "If-Modified-Since: yesterday\r\n", text, len);
    expect_file(s.port, "/d.txt", "If-Modified-Since: Tue, 14 Nov 2023 22:13:20 UTC\r\n", text,
                len);
    expect_file(s.port, "/d.txt", "If-Modified-Since: Tue, 31 Feb 2023 22:13:20 GMT\r\n", text,
                len);
    server_stop(&s);
}

Test(static_files, new_version_new_etag)
{
    put_str("v.txt", "version one\n");
    set_mtime("v.txt", T0, 0);
    server s;
    fs_start(&s, NULL);
    response r;
    get(s.port, "/v.txt", NULL, &r);
    char e1[256], e2[256], e3[256], hdr[300];
    header_copy(&r, "ETag", e1);
    response_free(&r);

    /* Same size, other bytes, a later mtime: a new tag and date. */
    put_str("v.txt", "version two\n");
    set_mtime("v.txt", T0 + 100, 0);
    get(s.port, "/v.txt", NULL, &r);
    expect_status(&r, 200);
    expect_body(&r, "version two\n");
    expect_header(&r, "Last-Modified", http_date(T0 + 100));
    header_copy(&r, "ETag", e2);
    response_free(&r);
    cr_assert_str_neq(e1, e2, "the ETag did not change with the file");
    snprintf(hdr, sizeof hdr, "If-None-Match: %s\r\n", e1);
    expect_file(s.port, "/v.txt", hdr, "version two\n", 12);
    snprintf(hdr, sizeof hdr, "If-None-Match: %s\r\n", e2);
    expect_304(s.port, "/v.txt", hdr, e2, "version two\n", 12);

    /* Touched within the same second (only the nanoseconds differ): a
     * strong tag must still change, though Last-Modified cannot. */
    put_str("v.txt", "version 3!!\n");
    set_mtime("v.txt", T0 + 100, 500000000);
    get(s.port, "/v.txt", NULL, &r);
    expect_body(&r, "version 3!!\n");
    expect_header(&r, "Last-Modified", http_date(T0 + 100));
    header_copy(&r, "ETag", e3);
    response_free(&r);
    cr_assert_str_neq(e2, e3, "the ETag did not change with a sub-second touch");
    snprintf(hdr, sizeof hdr, "If-None-Match: %s\r\n", e2);
    expect_file(s.port, "/v.txt", hdr, "version 3!!\n", 12);
    server_stop(&s);
}

/* ======================================================================
 * Ranges
 * ==================================================================== */

Test(static_files, ranges)
{
    char *data = put_random("r.bin", 1000, 3);
    set_mtime("r.bin", T0, 0);
    put("empty.bin", "", 0);
    server s;
    fs_start(&s, NULL);
    uint16_t port = s.port;
    expect_range(port, "/r.bin", "Range: bytes=0-99\r\n", data, 1000, 0, 99);
    expect_range(port, "/r.bin", "Range: bytes=100-\r\n", data, 1000, 100, 999);
    expect_range(port, "/r.bin", "Range: bytes=-100\r\n", data, 1000, 900, 999);
    expect_range(port, "/r.bin", "Range: bytes=990-2000\r\n", data, 1000, 990, 999);
    expect_range(port, "/r.bin", "Range: bytes=0-0\r\n", data, 1000, 0, 0);
    expect_range(port, "/r.bin", "Range: bytes=999-999\r\n", data, 1000, 999, 999);
    expect_range(port, "/r.bin", "Range: bytes=999-\r\n", data, 1000, 999, 999);
    expect_range(port, "/r.bin", "Range: bytes=-2000\r\n", data, 1000, 0, 999);
    expect_range(port, "/r.bin", "Range: bytes=0-999\r\n", data, 1000, 0, 999);
    expect_range(port, "/r.bin", "Range: BYTES=5-9\r\n", data, 1000, 5, 9);
    expect_range(port, "/r.bin", "Range: bytes=500-18446744073709551\r\n", data, 1000, 500, 999);
    /* The partial answer carries the same validators as the whole. */
    response whole, part;
    get(port, "/r.bin", NULL, &whole);
    get(port, "/r.bin", "Range: bytes=1-2\r\n", &part);
    char etag[256];
    expect_header(&part, "ETag", header_copy(&whole, "ETag", etag));
    expect_file_fields(&part, "application/octet-stream", T0);
    response_free(&whole);
    response_free(&part);

    /* Nothing of the file is asked for: 416 with the size. */
    static const char *const unsatisfiable[] = {"bytes=5000-", "bytes=1000-", "bytes=1000-1000",
                                                "bytes=-0", "bytes=5000-6000,7000-"};
    for (size_t i = 0; i < sizeof unsatisfiable / sizeof unsatisfiable[0]; i++) {
        char hdr[100];
        snprintf(hdr, sizeof hdr, "Range: %s\r\n", unsatisfiable[i]);
        response r;
        get(port, "/r.bin", hdr, &r);
        cr_assert_eq(r.status, 416, "Range: %s: expected 416, got:\n%s", unsatisfiable[i], r.head);
        expect_header(&r, "Content-Range", "bytes */1000");
        cr_assert(r.body_len < 1000 && (r.body_len == 0 || !memmem(r.body, r.body_len, data, 8)),
                  "a 416 with the file's bytes");
        response_free(&r);
    }
    response r;
    get(port, "/empty.bin", "Range: bytes=0-\r\n", &r);
    expect_status(&r, 416);
    expect_header(&r, "Content-Range", "bytes */0");
    response_free(&r);

    /* Not a valid bytes range (ignored, RFC 9110 14.2): the whole file. */
    static const char *const invalid[] = {
        "bytes=abc",   "bytes=100-50", "bytes=",      "items=0-9",   "bytes 0-9",
        "bytes=0-9;x", "bytes=--5",    "bytes=5",     "bytes=1-2-3", "bytes=0x10-",
        "bytes = 0-9", "bytes=-",      "bytes=0-9,x", "bytes=+5-9",
    };
    for (size_t i = 0; i < sizeof invalid / sizeof invalid[0]; i++) {
        char hdr[100];
        snprintf(hdr, sizeof hdr, "Range: %s\r\n", invalid[i]);
        get(port, "/r.bin", hdr, &r);
        cr_assert_eq(r.status, 200, "Range: %s: expected 200, got:\n%s", invalid[i], r.head);
        expect_bytes(&r, data, 1000);
        expect_no_header(&r, "Content-Range");
        response_free(&r);
    }

    /* A first-pos past what 64 bits hold: unsatisfiable (416), or
     * ignored (200, RFC 9110 14.2 lets a server ignore Range). */
    get(port, "/r.bin", "Range: bytes=99999999999999999999-\r\n", &r);
    if (r.status == 416) {
        expect_header(&r, "Content-Range", "bytes */1000");
    } else {
        expect_status(&r, 200);
        expect_bytes(&r, data, 1000);
    }
    response_free(&r);

    /* Several ranges: the whole file (200) or a correct multipart 206. */
    static const char *const several[] = {
        "bytes=0-9,20-29",
        "bytes=0-0,2-2,4-4,6-6,8-8,10-10,12-12,14-14,16-16,18-18,20-20,22-22,24-24,26-26,28-28,"
        "30-30,32-32,34-34,36-36",
    };
    for (size_t i = 0; i < 2; i++) {
        char hdr[300];
        snprintf(hdr, sizeof hdr, "Range: %s\r\n", several[i]);
        get(port, "/r.bin", hdr, &r);
        if (r.status == 206) {
            const char *type = resp_header(&r, "Content-Type");
            cr_assert(type && strncmp(type, "multipart/byteranges", 20) == 0, "%s", r.head);
            cr_assert(memmem(r.body, r.body_len, "Content-Range: bytes 0-9/1000", 29) != NULL);
            cr_assert(memmem(r.body, r.body_len, data, 10) != NULL);
            cr_assert(memmem(r.body, r.body_len, data + 20, 10) != NULL);
        } else {
            cr_assert_eq(r.status, 200, "Range: %s:\n%s", several[i], r.head);
            expect_bytes(&r, data, 1000);
            expect_no_header(&r, "Content-Range");
        }
        response_free(&r);
    }
    /* Ranges that touch or overlap form one part: 206 for it, or 200. */
    get(port, "/r.bin", "Range: bytes=0-9,10-19\r\n", &r);
    if (r.status == 206) {
        expect_header(&r, "Content-Range", "bytes 0-19/1000");
        expect_bytes(&r, data, 20);
    } else {
        expect_status(&r, 200);
        expect_bytes(&r, data, 1000);
    }
    response_free(&r);
    server_stop(&s);
}

Test(static_files, if_range)
{
    char *data = put_random("ir.bin", 1000, 5);
    set_mtime("ir.bin", T0, 0);
    server s;
    fs_start(&s, NULL);
    response r;
    get(s.port, "/ir.bin", NULL, &r);
    char etag[256], hdr[400];
    header_copy(&r, "ETag", etag);
    response_free(&r);

    snprintf(hdr, sizeof hdr, "Range: bytes=10-19\r\nIf-Range: %s\r\n", etag);
    expect_range(s.port, "/ir.bin", hdr, data, 1000, 10, 19);
    snprintf(hdr, sizeof hdr, "Range: bytes=10-19\r\nIf-Range: %s\r\n", http_date(T0));
    expect_range(s.port, "/ir.bin", hdr, data, 1000, 10, 19);

    /* Another version, a weak tag, another date: the whole file. */
    expect_file(s.port, "/ir.bin", "Range: bytes=10-19\r\nIf-Range: \"old-version\"\r\n", data,
                1000);
    snprintf(hdr, sizeof hdr, "Range: bytes=10-19\r\nIf-Range: W/%s\r\n", etag);
    expect_file(s.port, "/ir.bin", hdr, data, 1000);
    snprintf(hdr, sizeof hdr, "Range: bytes=10-19\r\nIf-Range: %s\r\n", http_date(T0 - 1));
    expect_file(s.port, "/ir.bin", hdr, data, 1000);
    snprintf(hdr, sizeof hdr, "Range: bytes=10-19\r\nIf-Range: %s\r\n", http_date(T0 + 1));
    expect_file(s.port, "/ir.bin", hdr, data, 1000);
    expect_file(s.port, "/ir.bin", "Range: bytes=10-19\r\nIf-Range: soon\r\n", data, 1000);
    /* If-Range without Range: ignored. */
    snprintf(hdr, sizeof hdr, "If-Range: %s\r\n", etag);
    expect_file(s.port, "/ir.bin", hdr, data, 1000);
    /* An unsatisfiable range of another version: the whole file, no 416. */
    expect_file(s.port, "/ir.bin", "Range: bytes=5000-\r\nIf-Range: \"old\"\r\n", data, 1000);
    server_stop(&s);
}

/* ======================================================================
 * Directories
 * ==================================================================== */

Test(static_files, directories)
{
    put_str("index.html", "root index\n");
    make_dir("dir");
    put_str("dir/index.html", "<p>dir index</p>\n");
    make_dir("dir/sub");
    put_str("dir/sub/leaf.txt", "leaf\n");
    make_dir("noidx");
    put_str("noidx/a.txt", "a\n");
    put_str("caf\xc3\xa9 a+b.txt", "utf-8 name\n");
    make_dir("a b");
    put_str("a b/index.html", "spaced\n");
    server s;
    fs_start(&s, NULL);
    response r;
    /* Names are percent-decoded once, either case of hex; '+' is itself. */
    expect_file(s.port, "/caf%C3%A9%20a+b.txt", NULL, "utf-8 name\n", 11);
    expect_file(s.port, "/caf%c3%a9%20a%2Bb.txt", NULL, "utf-8 name\n", 11);
    get(s.port, "/caf%C3%A9%20a%20b.txt", NULL, &r);
    expect_status(&r, 404);
    response_free(&r);
    get(s.port, "/a%20b", NULL, &r);
    expect_status(&r, 301);
    expect_header(&r, "Location", "/a%20b/");
    response_free(&r);
    expect_file(s.port, "/a%20b/", NULL, "spaced\n", 7);
    get(s.port, "/dir", NULL, &r);
    expect_status(&r, 301);
    expect_header(&r, "Location", "/dir/");
    response_free(&r);
    get(s.port, "/dir?x=1&y=%20z", NULL, &r);
    expect_status(&r, 301);
    expect_header(&r, "Location", "/dir/?x=1&y=%20z");
    response_free(&r);
    ask(s.port, "HEAD", "/dir", NULL, &r);
    expect_status(&r, 301);
    expect_header(&r, "Location", "/dir/");
    response_free(&r);
    get(s.port, "/dir/sub", NULL, &r);
    expect_status(&r, 301);
    expect_header(&r, "Location", "/dir/sub/");
    response_free(&r);

    get(s.port, "/dir/", NULL, &r);
    expect_status(&r, 200);
    expect_body(&r, "<p>dir index</p>\n");
    expect_header(&r, "Content-Type", "text/html; charset=utf-8");
    response_free(&r);
    get(s.port, "/dir/?q=1", NULL, &r);
    expect_status(&r, 200);
    expect_body(&r, "<p>dir index</p>\n");
    response_free(&r);
    get(s.port, "/", NULL, &r);
    expect_status(&r, 200);
    expect_body(&r, "root index\n");
    response_free(&r);
    expect_file(s.port, "/dir/sub/leaf.txt", NULL, "leaf\n", 5);

    /* No index and no listing: 404 (after the redirect). */
    get(s.port, "/dir/sub/", NULL, &r);
    expect_status(&r, 404);
    cr_assert(!memmem(r.body, r.body_len, "leaf.txt", 8), "a listing without --list");
    response_free(&r);
    get(s.port, "/noidx", NULL, &r);
    expect_status(&r, 301);
    expect_header(&r, "Location", "/noidx/");
    response_free(&r);
    get(s.port, "/noidx/", NULL, &r);
    expect_status(&r, 404);
    response_free(&r);
    /* A file is not a directory. */
    get(s.port, "/dir/index.html/", NULL, &r);
    expect_status(&r, 404);
    response_free(&r);
    get(s.port, "/noidx/a.txt/", NULL, &r);
    expect_status(&r, 404);
    response_free(&r);
    server_stop(&s);
}

/* The entity and numeric references a listing may use, decoded. */
static size_t html_unescape(const char *in, size_t len, char *out)
{
    static const struct {
        const char *name;
        char c;
    } named[] = {{"lt;", '<'}, {"gt;", '>'}, {"amp;", '&'}, {"quot;", '"'}, {"apos;", '\''}};
    size_t n = 0;
    for (size_t i = 0; i < len;) {
        if (in[i] != '&') {
            out[n++] = in[i++];
            continue;
        }
        bool done = false;
        for (size_t k = 0; k < 5 && !done; k++) {
            size_t l = strlen(named[k].name);
            if (i + 1 + l <= len && memcmp(in + i + 1, named[k].name, l) == 0) {
                out[n++] = named[k].c;
                i += 1 + l;
                done = true;
            }
        }
        if (!done && i + 2 < len && in[i + 1] == '#') {
            char *end;
            bool hex = in[i + 2] == 'x' || in[i + 2] == 'X';
            long v = strtol(in + i + (hex ? 3 : 2), &end, hex ? 16 : 10);
            if (end < in + len && *end == ';' && v > 0 && v < 128) {
                out[n++] = (char)v;
                i = (size_t)(end - in) + 1;
                done = true;
            }
        }
        if (!done)
            out[n++] = in[i++];
    }
    out[n] = '\0';
    return n;
}

Test(static_files, directory_listing)
{
    static const char weird[] = "<b>&\"x\".txt";
    make_dir("list");
    put_str("list/<b>&\"x\".txt", "weird name\n");
    put_str("list/plain.txt", "plain\n");
    put_str("list/.hidden", DOTFILE_MARKER);
    make_dir("list/inner");
    make_dir("dir");
    put_str("dir/index.html", "index wins\n");
    server s;
    fs_start(&s, (const char *const[]){"--list", NULL});
    response r;
    get(s.port, "/list/", NULL, &r);
    expect_status(&r, 200);
    expect_header(&r, "Content-Type", "text/html; charset=utf-8");
    expect_header(&r, "X-Content-Type-Options", "nosniff");
    const char *body = r.body;
    /* The name never appears raw: no markup of its own, no quote that ends
     * an attribute. */
    cr_assert(!strstr(body, "<b>"), "the listing holds raw markup:\n%s", body);
    cr_assert(!strstr(body, weird), "the listing holds the raw name:\n%s", body);
    cr_assert(!strstr(body, "\"x\""), "the listing holds a raw quote of the name:\n%s", body);
    cr_assert(!strstr(body, ".hidden") && !strstr(body, DOTFILE_MARKER), "a dotfile is listed:\n%s",
              body);
    cr_assert(strstr(body, "plain.txt"), "plain.txt is not listed:\n%s", body);
    cr_assert(strstr(body, "href=\"inner/\""), "inner/ is not listed as a directory:\n%s", body);
    /* The link percent-encodes the name; its text decodes to the name. */
    const char *href = strcasestr(body, "href=\"%3Cb%3E%26%22x%22.txt\"");
    cr_assert(href, "no percent-encoded link to the weird name:\n%s", body);
    const char *text = strchr(href + 6, '"');
    cr_assert(text && text[1] == '>', "%s", body);
    text += 2;
    const char *end = strstr(text, "</a>");
    cr_assert(end, "%s", body);
    char decoded[256];
    cr_assert(end - text < 100);
    cr_assert(!memchr(text, '<', (size_t)(end - text)) && !memchr(text, '"', (size_t)(end - text)),
              "the link text is not escaped: %.*s", (int)(end - text), text);
    html_unescape(text, (size_t)(end - text), decoded);
    cr_assert_str_eq(decoded, weird, "the link text decodes to \"%s\"", decoded);
    response_free(&r);
    /* The link leads to the file. */
    expect_file(s.port, "/list/%3Cb%3E%26%22x%22.txt", NULL, "weird name\n", 11);
    /* An index still wins over a listing. */
    get(s.port, "/dir/", NULL, &r);
    expect_body(&r, "index wins\n");
    response_free(&r);
    /* HEAD of a listing: no body. */
    client c;
    client_open(&c, s.port);
    client_send_str(&c, request_text("HEAD", "/list/", NULL));
    client_response_head(&c, &r);
    expect_status(&r, 200);
    response_free(&r);
    cr_assert_eq(client_recv_some(&c, 300), -ETIMEDOUT);
    cr_assert_eq(c.len, 0, "a body after HEAD of a listing");
    client_close(&c);
    server_stop(&s);
}

Test(static_files, prefix_mount)
{
    put_str("index.html", "prefixed index\n");
    put_str("style.css", "p{}\n");
    make_dir("dir");
    put_str("dir/index.html", "inner\n");
    server s;
    fs_start(&s, (const char *const[]){"--prefix", "/p", NULL});
    response r;
    get(s.port, "/p", NULL, &r);
    expect_status(&r, 301);
    expect_header(&r, "Location", "/p/");
    response_free(&r);
    get(s.port, "/p?a=b", NULL, &r);
    expect_status(&r, 301);
    expect_header(&r, "Location", "/p/?a=b");
    response_free(&r);
    get(s.port, "/p/", NULL, &r);
    expect_status(&r, 200);
    expect_body(&r, "prefixed index\n");
    response_free(&r);
    expect_file(s.port, "/p/style.css", NULL, "p{}\n", 4);
    get(s.port, "/p/dir", NULL, &r);
    expect_status(&r, 301);
    expect_header(&r, "Location", "/p/dir/");
    response_free(&r);
    expect_file(s.port, "/p/dir/", NULL, "inner\n", 6);
    static const char *const outside[] = {"/style.css", "/pstyle.css", "/px/style.css", "/",
                                          "/P/style.css"};
    for (size_t i = 0; i < sizeof outside / sizeof outside[0]; i++) {
        get(s.port, outside[i], NULL, &r);
        cr_assert_eq(r.status, 404, "%s outside the mount: %d\n%s", outside[i], r.status, r.head);
        response_free(&r);
    }
    server_stop(&s);
}

/* zzz_http.h: "a path with ... an encoded '/' ... gets 404". Under a
 * prefix, the router matches the decoded path while the mount skips raw
 * segments, so an encoded slash in the first segment must not be skipped
 * over as if it were part of the prefix. */
Test(static_files, prefix_encoded_slash)
{
    put_str("style.css", "p{}\n");
    make_dir("x");
    put_str("x/style.css", "x{}\n");
    server s;
    fs_start(&s, (const char *const[]){"--prefix", "/p", NULL});
    static const char *const targets[] = {"/p%2Fx/style.css", "/p%2fstyle.css",
                                          "/p%2F..%2Fp/style.css", "/p%2F%2E%2E/style.css"};
    for (size_t i = 0; i < sizeof targets / sizeof targets[0]; i++) {
        response r;
        get(s.port, targets[i], NULL, &r);
        cr_assert(r.status == 404 || r.status == 400,
                  "GET %s (an encoded '/'): expected 404, got %d with %zu bytes \"%.*s\"",
                  targets[i], r.status, r.body_len, (int)r.body_len, r.body);
        response_free(&r);
    }
    server_stop(&s);
}

/* ======================================================================
 * Traversal: nothing outside the root, no dotfiles, no special files
 * ==================================================================== */

/* One attempt: the raw request-target and the statuses it may get. */
typedef struct attempt {
    const char *target;
    int status, alt; /* alt: 0 when only status is right */
} attempt;

/* Sends "GET target" as raw bytes and checks the answer: one of the
 * allowed statuses, and no byte of either marker anywhere in what came
 * back (the head, the body, anything after). */
static void try_target(uint16_t port, const char *target, int status, int alt)
{
    client c;
    client_open(&c, port);
    client_send_str(&c, request_text("GET", target, NULL));
    response r;
    int err = client_read_response_ex(&c, &r, false);
    /* Whatever else arrives within a moment is checked too. */
    client_recv_some(&c, 20);
    size_t shown = strlen(target) < 120 ? strlen(target) : 120;
    if (c.len) {
        cr_assert(!memmem(c.buf, c.len, OUTSIDE_MARKER, strlen(OUTSIDE_MARKER)),
                  "GET %.*s leaked the outside secret", (int)shown, target);
        cr_assert(!memmem(c.buf, c.len, DOTFILE_MARKER, strlen(DOTFILE_MARKER)),
                  "GET %.*s leaked a dotfile", (int)shown, target);
    }
    cr_assert_eq(err, 0, "GET %.*s: no response", (int)shown, target);
    cr_assert(!memmem(r.body, r.body_len, OUTSIDE_MARKER, strlen(OUTSIDE_MARKER)) &&
                  !strstr(r.head, OUTSIDE_MARKER),
              "GET %.*s leaked the outside secret:\n%s%s", (int)shown, target, r.head, r.body);
    cr_assert(!memmem(r.body, r.body_len, DOTFILE_MARKER, strlen(DOTFILE_MARKER)),
              "GET %.*s leaked a dotfile:\n%s%s", (int)shown, target, r.head, r.body);
    cr_assert(r.status == status || (alt && r.status == alt),
              "GET %.*s: expected %d%s%.0d, got %d:\n%s", (int)shown, target, status,
              alt ? " or " : "", alt, r.status, r.head);
    response_free(&r);
    client_close(&c);
}

static const attempt traversal_table[] = {
    /* dot segments, raw and encoded once, twice, in overlong UTF-8 */
    {"/../secret.txt", 404, 403},
    {"/..", 404, 403},
    {"/../", 404, 403},
    {"/./../secret.txt", 404, 403},
    {"/%2e%2e/secret.txt", 404, 403},
    {"/%2E%2E/secret.txt", 404, 403},
    {"/%2e%2e%2fsecret.txt", 404, 403},
    {"/%2E%2E%2Fsecret.txt", 404, 403},
    {"/%2e%2e%2f%2e%2e%2fsecret.txt", 404, 403},
    {"/..%2fsecret.txt", 404, 403},
    {"/..%2Fsecret.txt", 404, 403},
    {"/..%5csecret.txt", 404, 403},
    {"/..%5Csecret.txt", 404, 403},
    {"/%5c..%5csecret.txt", 404, 403},
    {"/.%2e/secret.txt", 404, 403},
    {"/%2e./secret.txt", 404, 403},
    {"/%2e%2e", 404, 403},
    {"/%2e", 404, 403},
    {"/%252e%252e/secret.txt", 404, 403},
    {"/%252e%252e%252fsecret.txt", 404, 403},
    {"/..%255csecret.txt", 404, 403},
    {"/%c0%ae%c0%ae/secret.txt", 404, 403},
    {"/%C0%AE%C0%AE%C0%AFsecret.txt", 404, 403},
    {"/%e0%80%ae%e0%80%ae/secret.txt", 404, 403},
    {"/..%c0%afsecret.txt", 404, 403},
    {"/..%c1%9csecret.txt", 404, 403},
    {"/%ef%bc%8e%ef%bc%8e/secret.txt", 404, 403},
    {"/%u002e%u002e/secret.txt", 400, 404},
    /* through a directory of the root */
    {"/sub/../../secret.txt", 404, 403},
    {"/sub/./../../secret.txt", 404, 403},
    {"/sub/%2e%2e/%2e%2e/secret.txt", 404, 403},
    {"/sub/..%2f..%2fsecret.txt", 404, 403},
    {"/sub%2f..%2f..%2fsecret.txt", 404, 403},
    {"/sub/..", 404, 403},
    {"/sub/../", 404, 403},
    {"/sub/../ok.txt", 404, 403},
    {"/.../secret.txt", 404, 403},
    {"/..../secret.txt", 404, 403},
    {"/..;/secret.txt", 404, 403},
    {"/%2e%2e;/secret.txt", 404, 403},
    /* empty segments */
    {"//secret.txt", 404, 403},
    {"//secret.txt?", 404, 403},
    {"//../secret.txt", 404, 403},
    {"/sub//../../secret.txt", 404, 403},
    /* NUL: refused by the server before any handler (400) */
    {"/%00../secret.txt", 400, 404},
    {"/..%00/secret.txt", 400, 404},
    {"/secret.txt%00.css", 400, 404},
    {"/sub/ok.txt%00", 400, 404},
    /* control bytes */
    {"/%0a../secret.txt", 404, 400},
    {"/..%0d%0a/secret.txt", 404, 400},
    /* raw backslashes (a request-target may not hold them: 400 or 404) */
    {"/..\\secret.txt", 404, 400},
    {"/\\..\\secret.txt", 404, 400},
    {"/sub\\..\\..\\secret.txt", 404, 400},
    {"/..\\..\\secret.txt", 404, 400},
    /* absolute-form */
    {"http://x/../secret.txt", 404, 403},
    {"http://x/%2e%2e/secret.txt", 404, 403},
    {"http://x/sub/../../secret.txt", 404, 403},
    {"http://localhost/..%2fsecret.txt", 404, 403},
    /* dotfiles inside the root */
    {"/.env", 404, 403},
    {"/%2eenv", 404, 403},
    {"/%2Eenv", 404, 403},
    {"/.git/config", 404, 403},
    {"/%2egit/config", 404, 403},
    {"/.git/", 404, 403},
    {"/.git", 404, 403},
    {"/sub/.hidden", 404, 403},
    {"/sub/%2ehidden", 404, 403},
    {"/sub/.hidden/", 404, 403},
    /* names that are fine, however written */
    {"/sub/%6fk.txt", 200, 0},
    {"/sub/%6Fk.txt", 200, 0},
    {"http://x/sub/ok.txt", 200, 0},
    /* the query is not part of the name */
    {"/sub/ok.txt?/../../secret.txt", 200, 0},
    {"/sub/ok.txt?file=../../secret.txt", 200, 0},
};

Test(static_files, traversal)
{
    make_dir("sub");
    put_str("sub/ok.txt", "ok\n");
    put_str("sub/.hidden", "hidden: " DOTFILE_MARKER "\n");
    put_str(".env", "TOKEN=" DOTFILE_MARKER "\n");
    make_dir(".git");
    put_str(".git/config", "[core] " DOTFILE_MARKER "\n");
    put_str("index.html", "index\n");
    server s;
    fs_start(&s, NULL);
    for (size_t i = 0; i < sizeof traversal_table / sizeof traversal_table[0]; i++)
        try_target(s.port, traversal_table[i].target, traversal_table[i].status,
                   traversal_table[i].alt);

    /* Very long paths: up and out after many levels, past the longest
     * name served (404), and past the longest target (414). */
    size_t cap = 20000;
    char *target = harness_own(malloc(cap));
    size_t n = 0;
    target[n++] = '/';
    for (int i = 0; i < 1300; i++)
        n += (size_t)snprintf(target + n, cap - n, "a/");
    for (int i = 0; i < 1301; i++)
        n += (size_t)snprintf(target + n, cap - n, "../");
    snprintf(target + n, cap - n, "secret.txt");
    try_target(s.port, target, 404, 403);
    n = 1;
    for (int i = 0; i < 750; i++)
        n += (size_t)snprintf(target + n, cap - n, "%%2e%%2e/");
    snprintf(target + n, cap - n, "secret.txt");
    try_target(s.port, target, 404, 403);
    memset(target + 1, 'x', 5000);
    target[5001] = '\0';
    try_target(s.port, target, 404, 403);
    n = 1;
    for (int i = 0; i < 3000; i++)
        n += (size_t)snprintf(target + n, cap - n, "../");
    snprintf(target + n, cap - n, "secret.txt");
    try_target(s.port, target, 414, 404);

    /* After all that, the server still serves. */
    expect_file(s.port, "/sub/ok.txt", NULL, "ok\n", 3);
    server_stop(&s);
}

Test(static_files, symlinks)
{
    make_dir("sub");
    put_str("sub/ok.txt", "ok inside\n");
    put_str("style.css", "s{}\n");
    char secret[700];
    snprintf(secret, sizeof secret, "%s/secret.txt", st_base);
    make_link("../secret.txt", "link_out");              /* relative, out */
    make_link(secret, "link_abs");                       /* absolute, out */
    make_link("sub/ok.txt", "link_in");                  /* relative, in */
    make_link("../style.css", "sub/link_up_in");         /* leaves sub, stays in */
    make_link("..", "dir_out");                          /* a directory out */
    make_link(st_base, "dir_out_abs");                   /* the same, absolute */
    make_link("link_loop", "link_loop");                 /* a loop */
    make_link("/etc/passwd", "link_etc");                /* a system file */
    make_link("/proc/self/cwd/secret.txt", "link_proc"); /* through /proc */
    make_dir("idx");
    make_link("../../secret.txt", "idx/index.html"); /* an index out */
    put_str("p.css", "p{}\n");
    make_link("../secret.txt", "p.css.gz"); /* a pre-compressed sibling out */
    set_mtime("p.css", T0, 0);

    server s;
    fs_start(&s, NULL);
    static const char *const refused[] = {
        "/link_out",       "/link_abs",
        "/link_loop",      "/link_etc",
        "/link_proc",      "/dir_out",
        "/dir_out/",       "/dir_out/secret.txt",
        "/dir_out/www/",   "/dir_out_abs/secret.txt",
        "/dir_out_abs",    "/idx/",
        "/idx/index.html",
    };
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        try_target(s.port, refused[i], 404, 403);
        response r;
        get(s.port, refused[i], NULL, &r);
        cr_assert(!memmem(r.body, r.body_len, "root:", 5), "GET %s: /etc/passwd", refused[i]);
        response_free(&r);
    }
    /* Links that stay inside are followed. */
    expect_file(s.port, "/link_in", NULL, "ok inside\n", 10);
    expect_file(s.port, "/sub/link_up_in", NULL, "s{}\n", 4);
    /* A sibling leading out is passed over for the file itself. */
    response r;
    get(s.port, "/p.css", "Accept-Encoding: gzip\r\n", &r);
    expect_status(&r, 200);
    expect_body(&r, "p{}\n");
    expect_no_header(&r, "Content-Encoding");
    response_free(&r);
    server_stop(&s);
}

/* A UNIX socket bound at path (relative to the cwd, so sun_path fits). */
static int bind_unix(const char *dir, const char *name)
{
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    cr_assert(fd >= 0);
    int cwd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
    cr_assert(cwd >= 0);
    cr_assert_eq(chdir(dir), 0);
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    snprintf(addr.sun_path, sizeof addr.sun_path, "%s", name);
    int err = bind(fd, (struct sockaddr *)&addr, sizeof addr);
    cr_assert_eq(fchdir(cwd), 0);
    close(cwd);
    cr_assert_eq(err, 0, "bind %s: %s", name, strerror(errno));
    return fd;
}

Test(static_files, special_files)
{
    put_str("ok.txt", "fine\n");
    cr_assert_eq(mkfifo(www("fifo"), 0644), 0, "mkfifo: %s", strerror(errno));
    make_dir("fdir");
    cr_assert_eq(mkfifo(www("fdir/index.html"), 0644), 0);
    put_str("q.css", "q{}\n");
    set_mtime("q.css", T0, 0);
    cr_assert_eq(mkfifo(www("q.css.gz"), 0644), 0);
    set_mtime("q.css.gz", T0 + 10, 0);
    int sock = bind_unix(st_root, "sock");
    /* Devices: only where the test may make them (CAP_MKNOD). */
    bool devices = mknod(www("zero"), S_IFCHR | 0644, makedev(1, 5)) == 0;
    if (devices)
        cr_assert_eq(mknod(www("null"), S_IFCHR | 0644, makedev(1, 3)), 0);
    else
        cr_log_warn("mknod: %s: the device checks are skipped", strerror(errno));

    server s;
    fs_start(&s, NULL);
    static const char *const targets[] = {"/fifo", "/fdir/", "/fdir/index.html",
                                          "/sock", "/zero",  "/null"};
    for (size_t i = 0; i < sizeof targets / sizeof targets[0]; i++) {
        if (!devices && (strcmp(targets[i], "/zero") == 0 || strcmp(targets[i], "/null") == 0))
            continue;
        uint64_t start = now_ms();
        response r;
        get(s.port, targets[i], NULL, &r);
        uint64_t took = now_ms() - start;
        cr_assert_eq(r.status, 404, "GET %s: expected 404, got:\n%s", targets[i], r.head);
        cr_assert(took < 2000, "GET %s took %llu ms", targets[i], (unsigned long long)took);
        response_free(&r);
    }
    /* A FIFO as a pre-compressed sibling is passed over, without a hang. */
    uint64_t start = now_ms();
    response r;
    get(s.port, "/q.css", "Accept-Encoding: gzip\r\n", &r);
    expect_status(&r, 200);
    expect_body(&r, "q{}\n");
    expect_no_header(&r, "Content-Encoding");
    response_free(&r);
    cr_assert(now_ms() - start < 2000);
    expect_file(s.port, "/ok.txt", NULL, "fine\n", 5);
    server_stop(&s);
    close(sock);
}

/* ======================================================================
 * Pre-compressed siblings
 * ==================================================================== */

/* The answer to GET /style.css with the Accept-Encoding `ae` (NULL: none)
 * must be the bytes of `coding` ("br", "gzip", or NULL: the file). */
static void expect_coding(uint16_t port, const char *ae, const char *coding, const char *data,
                          size_t len)
{
    char hdr[200] = "";
    if (ae)
        snprintf(hdr, sizeof hdr, "Accept-Encoding: %s\r\n", ae);
    response r;
    get(port, "/style.css", hdr, &r);
    cr_assert_eq(r.status, 200, "Accept-Encoding: %s:\n%s", ae ? ae : "(none)", r.head);
    cr_assert(r.body_len == len && memcmp(r.body, data, len) == 0,
              "Accept-Encoding: %s: expected %s bytes, got %zu \"%.*s\"", ae ? ae : "(none)",
              coding ? coding : "the file's", r.body_len, (int)r.body_len, r.body);
    cr_assert_eq(r.content_length, (long long)len);
    expect_header(&r, "Content-Type", "text/css; charset=utf-8");
    if (coding) {
        expect_header(&r, "Content-Encoding", coding);
        expect_header(&r, "Vary", "Accept-Encoding");
    } else {
        expect_no_header(&r, "Content-Encoding");
    }
    response_free(&r);
}

Test(static_files, precompressed)
{
    static const char css[] = "body{color:red}\n";
    put_str("style.css", css);
    char gz[64] = "GZ:", br[64] = "BR:";
    memcpy(gz + 3, random_bytes(40, 21), 40);
    memcpy(br + 3, random_bytes(30, 22), 30);
    put("style.css.gz", gz, 43);
    put("style.css.br", br, 33);
    set_mtime("style.css", T0, 0);
    set_mtime("style.css.gz", T0 + 10, 0);
    set_mtime("style.css.br", T0 + 10, 0);
    server s;
    fs_start(&s, NULL);
    uint16_t port = s.port;
    size_t css_len = sizeof css - 1;

    expect_coding(port, "gzip", "gzip", gz, 43);
    expect_coding(port, "GZIP", "gzip", gz, 43);
    expect_coding(port, "x-gzip", "gzip", gz, 43);
    expect_coding(port, "gzip, deflate", "gzip", gz, 43);
    expect_coding(port, "br", "br", br, 33);
    expect_coding(port, "gzip, br", "br", br, 33);
    expect_coding(port, "br, gzip", "br", br, 33);
    expect_coding(port, "*", "br", br, 33);
    /* q=0 refuses a coding. */
    expect_coding(port, "br;q=0, gzip", "gzip", gz, 43);
    expect_coding(port, "br;q=0.000, gzip;q=0.001", "gzip", gz, 43);
    expect_coding(port, "gzip;q=0", NULL, css, css_len);
    expect_coding(port, "gzip;Q=0", NULL, css, css_len);
    expect_coding(port, "br;q=0, gzip;q=0", NULL, css, css_len);
    expect_coding(port, "*;q=0", NULL, css, css_len);
    expect_coding(port, "*, br;q=0, gzip;q=0", NULL, css, css_len);
    expect_coding(port, "identity", NULL, css, css_len);
    expect_coding(port, "deflate, zstd", NULL, css, css_len);
    expect_coding(port, "", NULL, css, css_len);
    expect_coding(port, NULL, NULL, css, css_len);

    /* Each representation has a tag of its own, and 304 goes by it. */
    response r;
    char e_gz[256], e_id[256], hdr[400];
    get(port, "/style.css", "Accept-Encoding: gzip\r\n", &r);
    header_copy(&r, "ETag", e_gz);
    cr_assert(strong_etag(e_gz));
    response_free(&r);
    get(port, "/style.css", NULL, &r);
    header_copy(&r, "ETag", e_id);
    response_free(&r);
    cr_assert_str_neq(e_gz, e_id, "the gzip and identity answers share an ETag");
    snprintf(hdr, sizeof hdr, "Accept-Encoding: gzip\r\nIf-None-Match: %s\r\n", e_gz);
    get(port, "/style.css", hdr, &r);
    expect_status(&r, 304);
    expect_header(&r, "ETag", e_gz);
    expect_header(&r, "Vary", "Accept-Encoding");
    response_free(&r);
    snprintf(hdr, sizeof hdr, "If-None-Match: %s\r\n", e_gz);
    expect_file(port, "/style.css", hdr, css, css_len);

    /* Ranges and HEAD of a pre-compressed answer are of its own bytes. */
    get(port, "/style.css", "Accept-Encoding: gzip\r\nRange: bytes=0-2\r\n", &r);
    expect_status(&r, 206);
    expect_header(&r, "Content-Range", "bytes 0-2/43");
    expect_header(&r, "Content-Encoding", "gzip");
    expect_body(&r, "GZ:");
    response_free(&r);
    ask(port, "HEAD", "/style.css", "Accept-Encoding: br\r\n", &r);
    expect_status(&r, 200);
    cr_assert_eq(r.content_length, 33);
    expect_header(&r, "Content-Encoding", "br");
    expect_header(&r, "Content-Type", "text/css; charset=utf-8");
    response_free(&r);
    /* The siblings themselves are files like any other. */
    get(port, "/style.css.gz", NULL, &r);
    expect_status(&r, 200);
    expect_bytes(&r, gz, 43);
    expect_no_header(&r, "Content-Encoding");
    response_free(&r);
    server_stop(&s);
}

Test(static_files, precompressed_older_sibling)
{
    put_str("style.css", "fresh{}\n");
    put_str("style.css.gz", "STALE-GZ");
    put_str("style.css.br", "STALE-BR");
    set_mtime("style.css", T0 + 10, 500);
    set_mtime("style.css.gz", T0, 0);        /* older by seconds */
    set_mtime("style.css.br", T0 + 10, 499); /* older by a nanosecond */
    server s;
    fs_start(&s, NULL);
    expect_coding(s.port, "gzip", NULL, "fresh{}\n", 8);
    expect_coding(s.port, "br", NULL, "fresh{}\n", 8);
    expect_coding(s.port, "br, gzip", NULL, "fresh{}\n", 8);
    /* Brought up to date, the sibling is used again. */
    set_mtime("style.css.br", T0 + 20, 0);
    expect_coding(s.port, "br, gzip", "br", "STALE-BR", 8);
    server_stop(&s);
}

/* RFC 9110 12.5.5: the choice between a sibling and the file depends on
 * Accept-Encoding, so the file's own answer must say so too (Vary), or a
 * shared cache may hand a client that never sent Accept-Encoding an
 * answer that depends on it, or keep serving identity to every client. */
Test(static_files, precompressed_identity_varies)
{
    put_str("style.css", "v{}\n");
    put_str("style.css.gz", "GZ");
    set_mtime("style.css", T0, 0);
    set_mtime("style.css.gz", T0 + 1, 0);
    server s;
    fs_start(&s, NULL);
    response r;
    get(s.port, "/style.css", NULL, &r);
    expect_status(&r, 200);
    expect_body(&r, "v{}\n");
    expect_header(&r, "Vary", "Accept-Encoding");
    response_free(&r);
    get(s.port, "/style.css", "Accept-Encoding: gzip;q=0\r\n", &r);
    expect_body(&r, "v{}\n");
    expect_header(&r, "Vary", "Accept-Encoding");
    response_free(&r);
    server_stop(&s);
}

/* ======================================================================
 * Large files
 * ==================================================================== */

#define GIB ((uint64_t)1 << 30)

typedef struct mark {
    uint64_t at;
    const char *bytes;
} mark;

static const mark big_marks[] = {
    {0, "BEGIN-MARK"},
    {123456789, "MID-MARK-1"},
    {((uint64_t)1 << 29) - 5, "HALF-CROSS"}, /* across 512 MiB */
    {GIB - 8, "ENDMARK!"},
};
#define BIG_MARKS (sizeof big_marks / sizeof big_marks[0])

/* A sparse file of size bytes with the marks written into it. */
static void make_sparse(const char *rel, uint64_t size)
{
    int fd = open(www(rel), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    cr_assert(fd >= 0);
    cr_assert_eq(ftruncate(fd, (off_t)size), 0, "ftruncate: %s", strerror(errno));
    for (size_t i = 0; i < BIG_MARKS; i++) {
        size_t len = strlen(big_marks[i].bytes);
        if (big_marks[i].at + len <= size)
            cr_assert_eq(pwrite(fd, big_marks[i].bytes, len, (off_t)big_marks[i].at), (ssize_t)len);
    }
    cr_assert_eq(close(fd), 0);
}

Test(static_files, large_sparse_ranges)
{
    make_sparse("big.bin", GIB);
    server s;
    fs_start(&s, NULL);
    response r;
    ask(s.port, "HEAD", "/big.bin", NULL, &r);
    expect_status(&r, 200);
    cr_assert_eq(r.content_length, (long long)GIB);
    response_free(&r);
    for (size_t i = 0; i < BIG_MARKS; i++) {
        /* The mark with up to 4 zero bytes on either side. */
        size_t len = strlen(big_marks[i].bytes);
        uint64_t first = big_marks[i].at >= 4 ? big_marks[i].at - 4 : 0;
        uint64_t last = big_marks[i].at + len + 3 < GIB ? big_marks[i].at + len + 3 : GIB - 1;
        char want[64] = {0};
        memcpy(want + (big_marks[i].at - first), big_marks[i].bytes, len);
        char hdr[100], range[100];
        snprintf(hdr, sizeof hdr, "Range: bytes=%llu-%llu\r\n", (unsigned long long)first,
                 (unsigned long long)last);
        get(s.port, "/big.bin", hdr, &r);
        expect_status(&r, 206);
        snprintf(range, sizeof range, "bytes %llu-%llu/%llu", (unsigned long long)first,
                 (unsigned long long)last, (unsigned long long)GIB);
        expect_header(&r, "Content-Range", range);
        expect_bytes(&r, want, (size_t)(last - first + 1));
        response_free(&r);
    }
    get(s.port, "/big.bin", "Range: bytes=-8\r\n", &r);
    expect_status(&r, 206);
    expect_header(&r, "Content-Range", "bytes 1073741816-1073741823/1073741824");
    expect_body(&r, "ENDMARK!");
    response_free(&r);
    /* 1 MiB from the middle, all zeros but for the mark. */
    get(s.port, "/big.bin", "Range: bytes=123000000-124048575\r\n", &r);
    expect_status(&r, 206);
    cr_assert_eq(r.body_len, 1048576);
    for (size_t i = 0; i < r.body_len; i++) {
        uint64_t at = 123000000 + i;
        char want = at >= 123456789 && at < 123456799 ? "MID-MARK-1"[at - 123456789] : 0;
        cr_assert_eq(r.body[i], want, "byte %llu", (unsigned long long)at);
    }
    response_free(&r);
    get(s.port, "/big.bin", "Range: bytes=1073741824-\r\n", &r);
    expect_status(&r, 416);
    expect_header(&r, "Content-Range", "bytes */1073741824");
    response_free(&r);
    server_stop(&s);
}

/* Reads the head of a response to GET on c, then `expect` body bytes,
 * discarding them as they come and checking the marks and that every
 * other byte is zero. Samples the server's RSS as it goes into *rss_peak.
 * Returns the body bytes read. */
static uint64_t stream_body(client *c, pid_t pid, uint64_t expect, unsigned timeout_ms,
                            long long *rss_peak)
{
    uint64_t give_up = now_ms() + timeout_ms;
    response r;
    for (;;) {
        long n = parse_response(c->buf ? c->buf : "", c->len, true, c->eof, &r);
        cr_assert(n >= 0, "not a response");
        if (n > 0) {
            client_consume(c, (size_t)n);
            break;
        }
        cr_assert(!c->eof && now_ms() < give_up, "no response head");
        client_recv_some(c, 1000);
    }
    expect_status(&r, 200);
    cr_assert_eq(r.content_length, (long long)expect, "%s", r.head);
    response_free(&r);
    size_t mark_len[BIG_MARKS];
    char seen[BIG_MARKS][16];
    uint64_t nonzero_want = 0;
    for (size_t i = 0; i < BIG_MARKS; i++) {
        mark_len[i] = strlen(big_marks[i].bytes);
        memset(seen[i], 0, sizeof seen[i]);
        for (size_t k = 0; k < mark_len[i]; k++)
            nonzero_want += big_marks[i].bytes[k] != 0;
    }
    uint64_t got = 0, nonzero = 0, next_sample = 0;
    while (got < expect) {
        if (c->len == 0) {
            cr_assert(now_ms() < give_up, "only %llu of %llu bytes in %u ms",
                      (unsigned long long)got, (unsigned long long)expect, timeout_ms);
            ssize_t n = client_recv_some(c, 1000);
            cr_assert(n > 0 || n == -ETIMEDOUT, "the body ended at %llu of %llu bytes",
                      (unsigned long long)got, (unsigned long long)expect);
            continue;
        }
        size_t take = c->len;
        if (take > expect - got)
            take = (size_t)(expect - got);
        const unsigned char *p = (const unsigned char *)c->buf;
        for (size_t i = 0; i < take; i++)
            nonzero += p[i] != 0;
        for (size_t m = 0; m < BIG_MARKS; m++) {
            uint64_t a = big_marks[m].at, b = a + mark_len[m];
            uint64_t lo = a > got ? a : got, hi = b < got + take ? b : got + take;
            if (lo < hi)
                memcpy(seen[m] + (lo - a), p + (lo - got), (size_t)(hi - lo));
        }
        got += take;
        client_consume(c, take);
        if (rss_peak && got >= next_sample) {
            long long rss = process_rss(pid);
            if (rss > *rss_peak)
                *rss_peak = rss;
            next_sample = got + 64 * 1024 * 1024;
        }
    }
    for (size_t m = 0; m < BIG_MARKS; m++)
        cr_assert(memcmp(seen[m], big_marks[m].bytes, mark_len[m]) == 0,
                  "mark %zu at %llu: got \"%.*s\"", m, (unsigned long long)big_marks[m].at,
                  (int)mark_len[m], seen[m]);
    cr_assert_eq(nonzero, nonzero_want, "%llu non-zero bytes where %llu were written",
                 (unsigned long long)nonzero, (unsigned long long)nonzero_want);
    return got;
}

Test(static_files, large_whole_file, .timeout = 240)
{
    make_sparse("big.bin", GIB);
    put_str("small.txt", "small\n");
    server s;
    fs_start(&s, NULL);
    expect_file(s.port, "/small.txt", NULL, "small\n", 6);
    long long rss_before = process_rss(s.pid);
    cr_assert(rss_before > 0);
    long long rss_peak = rss_before;
    client c;
    client_open(&c, s.port);
    client_send_str(&c, request_text("GET", "/big.bin", NULL));
    uint64_t start = now_ms();
    uint64_t got = stream_body(&c, s.pid, GIB, 180000, &rss_peak);
    uint64_t took = now_ms() - start;
    cr_assert_eq(got, GIB);
    cr_log_info("1 GiB in %llu ms (%s)", (unsigned long long)took, s.driver);
    /* Nothing after the body, and the connection goes on. */
    client_send_str(&c, request_text("GET", "/small.txt", NULL));
    response r;
    client_response(&c, &r);
    expect_status(&r, 200);
    expect_body(&r, "small\n");
    response_free(&r);
    client_close(&c);
    long long rss_after = process_rss(s.pid);
    if (rss_after > rss_peak)
        rss_peak = rss_after;
    cr_log_info("the server's RSS: %lld KiB before, %lld KiB more at most while serving",
                rss_before / 1024, (rss_peak - rss_before) / 1024);
    /* Sent from the page cache (or through the record buffer with TLS):
     * the server's memory does not grow with the file. */
    cr_assert(rss_peak - rss_before < 64LL * 1024 * 1024,
              "the server's RSS grew by %lld KiB serving 1 GiB", (rss_peak - rss_before) / 1024);
    server_stop(&s);
}

Test(static_files, slow_reader_does_not_block)
{
    make_sparse("big.bin", GIB);
    put_str("small.txt", "small\n");
    server s;
    fs_start(&s, NULL);
    client stalled;
    client_open_small_rcvbuf(&stalled, s.port, 4096);
    client_send_str(&stalled, request_text("GET", "/big.bin", NULL));
    sleep_ms(200); /* its send is now stuck on a full window */
    for (int i = 0; i < 5; i++) {
        uint64_t start = now_ms();
        expect_file(s.port, "/small.txt", NULL, "small\n", 6);
        cr_assert(now_ms() - start < 2000, "a stalled reader held up another client");
    }
    client_close(&stalled);
    server_stop(&s);
}

/* Ends a connection with a reset (SO_LINGER 0), without a TLS close. */
static void client_reset(client *c)
{
    struct linger lg = {.l_onoff = 1, .l_linger = 0};
    setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
#ifdef ZZZ_TEST_TLS
    if (c->ssl)
        SSL_free(c->ssl); /* no close_notify: SSL_shutdown is not called */
    c->ssl = NULL;
#endif
    close(c->fd);
    free(c->buf);
    memset(c, 0, sizeof *c);
    c->fd = -1;
}

static int count_fds(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/fd", (int)pid);
    DIR *d = opendir(path);
    cr_assert(d, "%s: %s", path, strerror(errno));
    int n = 0;
    for (struct dirent *e; (e = readdir(d));)
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n;
}

Test(static_files, abort_mid_file, .timeout = 180)
{
    make_sparse("big.bin", GIB);
    put_str("small.txt", "small\n");
    server s;
    fs_start(&s, NULL);
    expect_file(s.port, "/small.txt", NULL, "small\n", 6);
    int fds_before = count_fds(s.pid);
    for (int i = 0; i < 50; i++) {
        client c;
        client_open(&c, s.port);
        client_send_str(&c, request_text("GET", "/big.bin", NULL));
        if (i % 5 != 4) {
            /* Part of the body, then a reset. */
            uint64_t give_up = now_ms() + HANG_GUARD_MS;
            while (c.len < 256 * 1024 && !c.eof && now_ms() < give_up)
                client_recv_some(&c, 1000);
            cr_assert(c.len >= 256 * 1024, "abort %d: only %zu bytes arrived", i, c.len);
            cr_assert(strncmp(c.buf, "HTTP/1.1 200 ", 13) == 0);
        }
        /* Every fifth: a reset before a byte is read. */
        client_reset(&c);
    }
    /* The server goes on serving... */
    expect_file(s.port, "/small.txt", NULL, "small\n", 6);
    response r;
    get(s.port, "/big.bin", "Range: bytes=-8\r\n", &r);
    expect_body(&r, "ENDMARK!");
    response_free(&r);
    /* ...and has closed every file and socket of the aborted answers. */
    int fds_after = count_fds(s.pid);
    uint64_t give_up = now_ms() + 5000;
    while (fds_after > fds_before + 2 && now_ms() < give_up) {
        sleep_ms(50);
        fds_after = count_fds(s.pid);
    }
    cr_assert(fds_after <= fds_before + 2, "%d descriptors before 50 aborts, %d after", fds_before,
              fds_after);
    server_stop(&s);
}

/* ======================================================================
 * zzz_static_bytes: the fs example's built-in /favicon.ico
 * ==================================================================== */

/* The bytes examples/fs/main.c serves (a 1x1 ICO). */
static const unsigned char favicon[] = {
    0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x01, 0x01, 0x00, 0x00, 0x01, 0x00, 0x20, 0x00,
    0x30, 0x00, 0x00, 0x00, 0x16, 0x00, 0x00, 0x00, 0x28, 0x00, 0x00, 0x00, 0x01, 0x00,
    0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x01, 0x00, 0x20, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x3c, 0x7a, 0xe8, 0xff, 0x00, 0x00, 0x00, 0x00,
};

Test(static_files, favicon_bytes)
{
    time_t before = time(NULL);
    server s;
    fs_start(&s, NULL);
    time_t after = time(NULL);
    size_t len = sizeof favicon;
    response r;
    get(s.port, "/favicon.ico", NULL, &r);
    expect_status(&r, 200);
    expect_bytes(&r, favicon, len);
    cr_assert_eq(r.content_length, 70);
    expect_header(&r, "Content-Type", "image/x-icon");
    expect_header(&r, "X-Content-Type-Options", "nosniff");
    expect_header(&r, "Accept-Ranges", "bytes");
    char etag[256], lm[256], hdr[400];
    header_copy(&r, "ETag", etag);
    cr_assert(strong_etag(etag), "ETag %s", etag);
    header_copy(&r, "Last-Modified", lm);
    bool dated = false;
    for (time_t t = before; t <= after && !dated; t++)
        dated = strcmp(lm, http_date(t)) == 0;
    cr_assert(dated, "Last-Modified %s is not the start-up time", lm);
    response_free(&r);

    snprintf(hdr, sizeof hdr, "If-None-Match: %s\r\n", etag);
    expect_304(s.port, "/favicon.ico", hdr, etag, favicon, len);
    snprintf(hdr, sizeof hdr, "If-None-Match: W/%s\r\n", etag);
    expect_304(s.port, "/favicon.ico", hdr, etag, favicon, len);
    snprintf(hdr, sizeof hdr, "If-Modified-Since: %s\r\n", lm);
    expect_304(s.port, "/favicon.ico", hdr, etag, favicon, len);
    expect_file(s.port, "/favicon.ico", "If-None-Match: \"other\"\r\n", favicon, len);

    expect_range(s.port, "/favicon.ico", "Range: bytes=0-5\r\n", (const char *)favicon, 70, 0, 5);
    expect_range(s.port, "/favicon.ico", "Range: bytes=-4\r\n", (const char *)favicon, 70, 66, 69);
    snprintf(hdr, sizeof hdr, "Range: bytes=10-19\r\nIf-Range: %s\r\n", etag);
    expect_range(s.port, "/favicon.ico", hdr, (const char *)favicon, 70, 10, 19);
    expect_file(s.port, "/favicon.ico", "Range: bytes=10-19\r\nIf-Range: \"old\"\r\n", favicon,
                len);
    get(s.port, "/favicon.ico", "Range: bytes=70-\r\n", &r);
    expect_status(&r, 416);
    expect_header(&r, "Content-Range", "bytes */70");
    response_free(&r);

    client c;
    client_open(&c, s.port);
    client_send_str(&c, request_text("HEAD", "/favicon.ico", NULL));
    client_response_head(&c, &r);
    expect_status(&r, 200);
    cr_assert_eq(r.content_length, 70);
    expect_header(&r, "ETag", etag);
    response_free(&r);
    cr_assert_eq(client_recv_some(&c, 300), -ETIMEDOUT);
    cr_assert_eq(c.len, 0, "a body after HEAD /favicon.ico");
    client_close(&c);
    server_stop(&s);
}

/* ======================================================================
 * Preconditions the header does not mention (RFC 9110 13.1.1, 13.1.4)
 * ==================================================================== */

/* An origin server MUST evaluate If-Match and If-Unmodified-Since: a
 * download that resumes against a changed file must fail with 412, not
 * splice two versions. */
Test(static_files, if_match_and_if_unmodified_since)
{
    put_str("m.txt", "match me\n");
    set_mtime("m.txt", T0, 0);
    server s;
    fs_start(&s, NULL);
    response r;
    get(s.port, "/m.txt", NULL, &r);
    char etag[256], hdr[400];
    header_copy(&r, "ETag", etag);
    response_free(&r);
    snprintf(hdr, sizeof hdr, "If-Match: %s\r\n", etag);
    expect_file(s.port, "/m.txt", hdr, "match me\n", 9);
    expect_file(s.port, "/m.txt", "If-Match: *\r\n", "match me\n", 9);
    get(s.port, "/m.txt", "If-Match: \"changed\"\r\n", &r);
    cr_assert_eq(r.status, 412, "If-Match: \"changed\": expected 412, got:\n%s", r.head);
    response_free(&r);
    snprintf(hdr, sizeof hdr, "If-Unmodified-Since: %s\r\n", http_date(T0 - 60));
    get(s.port, "/m.txt", hdr, &r);
    cr_assert_eq(r.status, 412, "If-Unmodified-Since before the mtime: expected 412, got:\n%s",
                 r.head);
    response_free(&r);
    snprintf(hdr, sizeof hdr, "If-Unmodified-Since: %s\r\n", http_date(T0));
    expect_file(s.port, "/m.txt", hdr, "match me\n", 9);
    server_stop(&s);
}

/* ======================================================================
 * More of RFC 9110
 * ==================================================================== */

/* RFC 9110 8.8.2.1: an origin server MUST NOT send a Last-Modified later
 * than its Date; a file whose mtime is in the future gets the Date. */
Test(static_files, future_mtime_last_modified)
{
    put_str("future.txt", "from the future\n");
    set_mtime("future.txt", time(NULL) + 10 * 86400, 0);
    server s;
    fs_start(&s, NULL);
    response r;
    get(s.port, "/future.txt", NULL, &r);
    expect_status(&r, 200);
    char date[256], lm[256];
    header_copy(&r, "Date", date);
    header_copy(&r, "Last-Modified", lm);
    struct tm tm_date = {0}, tm_lm = {0};
    cr_assert(strptime(date, "%a, %d %b %Y %H:%M:%S GMT", &tm_date), "Date: %s", date);
    cr_assert(strptime(lm, "%a, %d %b %Y %H:%M:%S GMT", &tm_lm), "Last-Modified: %s", lm);
    cr_assert(timegm(&tm_lm) <= timegm(&tm_date), "Last-Modified %s is later than Date %s", lm,
              date);
    response_free(&r);
    server_stop(&s);
}

/* Several server threads (one listening socket each) serve the same
 * mount: every answer exact whichever thread takes it. */
Test(static_files, several_threads)
{
    char *files[4];
    char name[32];
    for (int i = 0; i < 4; i++) {
        snprintf(name, sizeof name, "f%d.bin", i);
        files[i] = put_random(name, 20000 + (size_t)i * 7919, 100 + (uint64_t)i);
    }
    server s;
    fs_start(&s, (const char *const[]){"--threads", "4", NULL});
    cr_assert_eq(s.threads, 4);
    client c[8];
    for (int i = 0; i < 8; i++)
        client_open(&c[i], s.port);
    for (int round = 0; round < 5; round++) {
        for (int i = 0; i < 8; i++) {
            snprintf(name, sizeof name, "/f%d.bin", (i + round) % 4);
            client_send_str(&c[i], request_text("GET", name, NULL));
        }
        for (int i = 0; i < 8; i++) {
            int k = (i + round) % 4;
            response r;
            client_response(&c[i], &r);
            expect_status(&r, 200);
            expect_bytes(&r, files[k], 20000 + (size_t)k * 7919);
            response_free(&r);
        }
    }
    for (int i = 0; i < 8; i++)
        client_close(&c[i]);
    server_stop(&s);
}

/* ======================================================================
 * The cache: files left alone two seconds are kept in memory by each
 * server thread, and every request checks the file first. These tests
 * let their files settle, so the answers come from the cache, then
 * change the files under the running server: each change must show in
 * the very next answer.
 * ==================================================================== */

/* Waits until every file written so far has been left alone long enough
 * for the cache to keep it (two seconds, and a margin). */
static void settle(void)
{
    usleep(2300 * 1000);
}

/* Moves the file system's coarse clock on, so a change made now carries
 * times other than the ones just written. */
static void next_tick(void)
{
    usleep(30 * 1000);
}

/* GET target twice (the first fills the cache, the second is served
 * from it): both 200 with exactly data; the ETag into etag (256 bytes). */
static void expect_twice(uint16_t port, const char *target, const void *data, size_t len,
                         char *etag)
{
    char first[256];
    for (int i = 0; i < 2; i++) {
        response r;
        get(port, target, NULL, &r);
        expect_status(&r, 200);
        expect_bytes(&r, data, len);
        header_copy(&r, "ETag", i == 0 ? first : etag);
        response_free(&r);
    }
    cr_assert_str_eq(first, etag, "%s: the cached answer has another ETag", target);
}

Test(static_files, cached_files_follow_changes)
{
    char *a = put_random("a.bin", 3000, 301);
    char *b = put_random("b.bin", 3000, 302);
    make_dir("sub");
    put_str("sub/index.html", "<p>sub</p>\n");
    put_str("gone.txt", "here for now\n");
    make_dir("d");
    put_str("d/f.txt", "inside\n");
    char outside[700];
    snprintf(outside, sizeof outside, "%s/elsewhere", st_base);
    cr_assert_eq(mkdir(outside, 0755), 0);
    snprintf(outside, sizeof outside, "%s/elsewhere/f.txt", st_base);
    harness_write_path(outside, "secret: " OUTSIDE_MARKER "\n", 8 + strlen(OUTSIDE_MARKER) + 1, 0644);
    settle();
    server s;
    fs_start(&s, NULL);
    uint16_t port = s.port;
    char etag_a[256], etag[256], hdr[400];
    expect_twice(port, "/a.bin", a, 3000, etag_a);
    expect_twice(port, "/sub/", "<p>sub</p>\n", 11, etag);
    expect_twice(port, "/gone.txt", "here for now\n", 13, etag);
    expect_twice(port, "/d/f.txt", "inside\n", 7, etag);

    /* What the cache answers besides whole files. */
    expect_range(port, "/a.bin", "Range: bytes=100-199\r\n", a, 3000, 100, 199);
    expect_range(port, "/a.bin", "Range: bytes=-10\r\n", a, 3000, 2990, 2999);
    snprintf(hdr, sizeof hdr, "If-None-Match: %s\r\n", etag_a);
    expect_304(port, "/a.bin", hdr, etag_a, a, 3000);
    response r;
    ask(port, "HEAD", "/a.bin", NULL, &r);
    expect_status(&r, 200);
    cr_assert_eq(r.content_length, 3000);
    expect_header(&r, "ETag", etag_a);
    response_free(&r);
    get(port, "/a.bin", "Range: bytes=5000-\r\n", &r);
    expect_status(&r, 416);
    expect_header(&r, "Content-Range", "bytes */3000");
    response_free(&r);

    /* Rewritten in place, same size: the new bytes, a new tag, and the
     * old tag no longer gives 304. */
    next_tick();
    put("a.bin", b, 3000);
    expect_twice(port, "/a.bin", b, 3000, etag);
    cr_assert_str_neq(etag, etag_a, "a rewritten file kept its ETag");
    snprintf(hdr, sizeof hdr, "If-None-Match: %s\r\n", etag_a);
    expect_file(port, "/a.bin", hdr, b, 3000);

    /* Replaced by another file renamed over it. */
    next_tick();
    char tmp_path[700];
    snprintf(tmp_path, sizeof tmp_path, "%s.new", www("a.bin"));
    harness_write_path(tmp_path, a, 2999, 0644);
    cr_assert_eq(rename(tmp_path, www("a.bin")), 0);
    expect_twice(port, "/a.bin", a, 2999, etag);

    /* Removed: 404 at once. A directory's index removed: 404 too. */
    cr_assert_eq(unlink(www("gone.txt")), 0);
    get(port, "/gone.txt", NULL, &r);
    expect_status(&r, 404);
    response_free(&r);
    cr_assert_eq(unlink(www("sub/index.html")), 0);
    get(port, "/sub/", NULL, &r);
    expect_status(&r, 404);
    response_free(&r);

    /* A directory on the path swapped for a link that leads out of the
     * root, to a file of the same name: the cached file is not served,
     * and neither is the one outside. */
    char moved[700], target[700];
    snprintf(moved, sizeof moved, "%s/d.old", st_root);
    cr_assert_eq(rename(www("d"), moved), 0);
    snprintf(target, sizeof target, "%s/elsewhere", st_base);
    make_link(target, "d");
    get(port, "/d/f.txt", NULL, &r);
    cr_assert(r.status == 404 || r.status == 403, "a path through a link out answered:\n%s",
              r.head);
    cr_assert_null(memmem(r.body, r.body_len, OUTSIDE_MARKER, strlen(OUTSIDE_MARKER)));
    response_free(&r);
    server_stop(&s);
}

/* Files at the cache's largest size (16 KiB, the default) and one byte
 * past it, and a directory of more small files than fit its 1 MiB: each
 * answer exact, again and again (evictions included). */
Test(static_files, cached_sizes_and_evictions)
{
    char *at = put_random("at.bin", 16384, 401);
    char *past = put_random("past.bin", 16385, 402);
    enum { MANY = 80 };
    char *many[MANY];
    char name[32];
    for (int i = 0; i < MANY; i++) {
        snprintf(name, sizeof name, "m%02d.bin", i);
        many[i] = put_random(name, 16000, 500 + (uint64_t)i);
    }
    settle();
    server s;
    fs_start(&s, NULL);
    char etag[256];
    expect_twice(s.port, "/at.bin", at, 16384, etag);
    expect_twice(s.port, "/past.bin", past, 16385, etag);
    expect_range(s.port, "/at.bin", "Range: bytes=16000-\r\n", at, 16384, 16000, 16383);
    expect_range(s.port, "/past.bin", "Range: bytes=16000-\r\n", past, 16385, 16000, 16384);
    client c;
    client_open(&c, s.port);
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < MANY; i++) {
            snprintf(name, sizeof name, "/m%02d.bin", i);
            client_send_str(&c, request_text("GET", name, NULL));
            response r;
            client_response(&c, &r);
            expect_status(&r, 200);
            expect_bytes(&r, many[i], 16000);
            response_free(&r);
        }
    }
    client_close(&c);
    server_stop(&s);
}

/* Pre-compressed siblings of a cached file: one that appears later is
 * served at once, one removed is no longer, and an older one never. */
Test(static_files, cached_precompressed)
{
    static const char css[] = "body{color:blue}\n";
    put_str("style.css", css);
    size_t css_len = sizeof css - 1;
    settle();
    server s;
    fs_start(&s, NULL);
    uint16_t port = s.port;
    expect_coding(port, "gzip, br", NULL, css, css_len);
    expect_coding(port, "gzip, br", NULL, css, css_len);
    put_str("style.css.gz", "GZ-NOW");
    expect_coding(port, "gzip, br", "gzip", "GZ-NOW", 6);
    expect_coding(port, "gzip, br", "gzip", "GZ-NOW", 6);
    expect_coding(port, NULL, NULL, css, css_len);
    put_str("style.css.br", "BR-NOW");
    expect_coding(port, "gzip, br", "br", "BR-NOW", 6);
    cr_assert_eq(unlink(www("style.css.br")), 0);
    expect_coding(port, "gzip, br", "gzip", "GZ-NOW", 6);
    /* An older sibling is not served. */
    set_mtime("style.css.gz", T0, 0);
    expect_coding(port, "gzip, br", NULL, css, css_len);
    server_stop(&s);
}

/* A sibling kept in the cache as the gzip answer for style.css is not
 * what a request for style.css.gz itself gets: that is a file like any
 * other (its own type, no Content-Encoding), cached or not. */
Test(static_files, cached_sibling_is_not_the_file)
{
    put_str("style.css", "s{}\n");
    put_str("style.css.gz", "GZ-SETTLED");
    set_mtime("style.css", T0, 0);
    set_mtime("style.css.gz", T0 + 1, 0);
    settle();
    server s;
    fs_start(&s, NULL);
    for (int i = 0; i < 2; i++) {
        expect_coding(s.port, "gzip", "gzip", "GZ-SETTLED", 10);
        response r;
        get(s.port, "/style.css.gz", NULL, &r);
        expect_status(&r, 200);
        expect_bytes(&r, "GZ-SETTLED", 10);
        expect_no_header(&r, "Content-Encoding");
        const char *type = resp_header(&r, "Content-Type");
        cr_assert(type && strncmp(type, "text/css", 8) != 0,
                  "style.css.gz answered as the sibling of style.css:\n%s", r.head);
        response_free(&r);
    }
    server_stop(&s);
}

/* Files past the in-memory size are held open by each thread. A held file
 * rewritten in place, replaced by another renamed over it (the held
 * descriptor is the old file's), or removed shows in the very next
 * answer. */
Test(static_files, held_files_follow_changes)
{
    enum { BIG = 100000 };
    char *a = put_random("big.bin", BIG, 601);
    char *b = put_random("other.bin", BIG, 602);
    settle();
    server s;
    fs_start(&s, (const char *const[]){"--threads", "1", NULL});
    uint16_t port = s.port;
    char etag_a[256], etag[256], hdr[400];
    expect_twice(port, "/big.bin", a, BIG, etag_a);
    expect_range(port, "/big.bin", "Range: bytes=99990-\r\n", a, BIG, 99990, BIG - 1);
    snprintf(hdr, sizeof hdr, "If-None-Match: %s\r\n", etag_a);
    expect_304(port, "/big.bin", hdr, etag_a, a, BIG);

    next_tick();
    put("big.bin", b, BIG);
    expect_twice(port, "/big.bin", b, BIG, etag);
    cr_assert_str_neq(etag, etag_a, "a held file rewritten kept its ETag");

    next_tick();
    char tmp_path[700];
    snprintf(tmp_path, sizeof tmp_path, "%s.new", www("big.bin"));
    harness_write_path(tmp_path, a, BIG - 1, 0644);
    cr_assert_eq(rename(tmp_path, www("big.bin")), 0);
    expect_twice(port, "/big.bin", a, BIG - 1, etag);

    cr_assert_eq(unlink(www("big.bin")), 0);
    response r;
    get(port, "/big.bin", NULL, &r);
    expect_status(&r, 404);
    response_free(&r);
    expect_file(port, "/other.bin", NULL, b, BIG);
    server_stop(&s);
}

/* A thread holds at most 64 files open (the default): 70 files served,
 * each answer exact, leave 64 more descriptors open than before, not
 * more. */
Test(static_files, held_files_are_bounded, .timeout = 60)
{
    enum { FILES = 70, SIZE = 20000, HELD = 64 };
    char *data[FILES];
    char name[32];
    for (int i = 0; i < FILES; i++) {
        snprintf(name, sizeof name, "h%02d.bin", i);
        data[i] = put_random(name, SIZE, 700 + (uint64_t)i);
    }
    put_str("small.txt", "small\n");
    settle();
    server s;
    fs_start(&s, (const char *const[]){"--threads", "1", NULL});
    /* One connection throughout, so no other comes and goes while the
     * descriptors are counted. */
    client c;
    client_open(&c, s.port);
    response r;
    client_send_str(&c, request_text("GET", "/small.txt", NULL));
    client_response(&c, &r);
    expect_body(&r, "small\n");
    response_free(&r);
    int fds_before = count_fds(s.pid);
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < FILES; i++) {
            snprintf(name, sizeof name, "/h%02d.bin", i);
            client_send_str(&c, request_text("GET", name, NULL));
            client_response(&c, &r);
            expect_status(&r, 200);
            expect_bytes(&r, data[i], SIZE);
            response_free(&r);
            int held = count_fds(s.pid) - fds_before;
            int expected = round == 0 && i < HELD ? i + 1 : HELD;
            cr_assert_eq(held, expected, "%d files served, %d held", round * FILES + i + 1, held);
        }
    }
    client_close(&c);
    server_stop(&s);
}
