/* The HTTP server the integration tests (http_test.c, holes_test.c) run
 * as a child process: the public API only, a flag for every limit and
 * timeout, and a route for each behaviour under test. Prints "listening on
 * 127.0.0.1:PORT (driver D, N threads)" once it is up. */
#include <zzz.h>

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

/* GET / */
static void hello(zzz_req *req, zzz_res *res, void *user)
{
    (void)req;
    (void)user;
    zzz_res_header(res, "Content-Type", "text/plain");
    zzz_res_send(res, "Hello, World!", 13);
}

/* POST /echo: the whole body, read at once, sent back as it came. */
static void echo(zzz_req *req, zzz_res *res, void *user)
{
    (void)user;
    zzz_str body;
    if (zzz_req_body(req, &body) != 0)
        return; /* zzz answers 413 / 400 / 408 */
    zzz_res_header(res, "Content-Type", "application/octet-stream");
    zzz_res_send(res, body.ptr, body.len);
}

/* POST /stream-echo: the body read piece by piece and sent back chunked.
 * The first read comes before the head goes out, so a body error still
 * gets its own status. */
static void stream_echo(zzz_req *req, zzz_res *res, void *user)
{
    (void)user;
    char buf[4096];
    ssize_t n;
    while ((n = zzz_req_read(req, buf, sizeof buf)) > 0) {
        if (zzz_res_write(res, buf, (size_t)n) != 0)
            return;
    }
    if (n < 0)
        return;
    zzz_res_end(res);
}

/* POST /count: the body's length, read as a stream. */
static void count(zzz_req *req, zzz_res *res, void *user)
{
    (void)user;
    char buf[4096];
    unsigned long long total = 0;
    ssize_t n;
    while ((n = zzz_req_read(req, buf, sizeof buf)) > 0)
        total += (unsigned long long)n;
    if (n < 0)
        return;
    char body[64];
    int len = snprintf(body, sizeof body, "%llu\n", total);
    zzz_res_send(res, body, (size_t)len);
}

/* GET /slow: an answer that takes 300 ms (graceful shutdown). */
static void slow(zzz_req *req, zzz_res *res, void *user)
{
    (void)req;
    (void)user;
    tardy_sleep(300 * 1000000ull);
    zzz_res_text(res, 200, "slow done\n");
}

/* GET /noanswer: returns without answering (zzz must answer 500). */
static void noanswer(zzz_req *req, zzz_res *res, void *user)
{
    (void)req;
    (void)res;
    (void)user;
}

/* GET /stream: a chunked response of 5 parts. */
static void stream(zzz_req *req, zzz_res *res, void *user)
{
    (void)req;
    (void)user;
    zzz_res_header(res, "Content-Type", "text/plain");
    for (int i = 1; i <= 5; i++) {
        char part[32];
        int n = snprintf(part, sizeof part, "part %d\n", i);
        if (zzz_res_write(res, part, (size_t)n) != 0)
            return;
    }
    zzz_res_end(res);
}

/* GET /big: --big-size bytes (100,000 by default) of a known pattern,
 * a..z over and over (HEAD must not send them). */
static char *big_body;
static size_t big_size = 100000;
/* --send-buffer: SO_SNDBUF of a connection served GET /big (0: the
 * kernel's autotuning), so that a slow reader shows within a small body
 * instead of the kernel taking megabytes of it at once. */
static int big_send_buffer;

static void big(zzz_req *req, zzz_res *res, void *user)
{
    (void)user;
    if (big_send_buffer > 0)
        setsockopt(zzz_conn_fd(zzz_req_conn(req)), SOL_SOCKET, SO_SNDBUF, &big_send_buffer,
                   sizeof big_send_buffer);
    zzz_res_header(res, "Content-Type", "text/plain");
    zzz_res_send(res, big_body, big_size);
}

/* The directory GET /file/:name serves (--file-dir), or -1. */
static int file_dir = -1;

/* A number from the query, or `dflt` when absent. */
static unsigned long long query_number(zzz_req *req, const char *name, unsigned long long dflt)
{
    zzz_str v;
    if (!zzz_req_query_param(req, name, &v) || v.len == 0 || v.len > 20)
        return dflt;
    char text[24];
    memcpy(text, v.ptr, v.len);
    text[v.len] = '\0';
    return strtoull(text, NULL, 10);
}

/* GET /file/:name?off=N&len=N&parts=K&chunked=1: len bytes (default: to
 * the end) of a file of --file-dir from off, sent with zzz_res_sendfile
 * in K calls; with a Content-Length unless chunked. */
static void file(zzz_req *req, zzz_res *res, void *user)
{
    (void)user;
    zzz_str name;
    char path[256];
    if (file_dir < 0 || !zzz_req_param(req, "name", &name) || name.len >= sizeof path ||
        name.ptr[0] == '.' || memchr(name.ptr, '/', name.len)) {
        zzz_res_text(res, 404, "no such file\n");
        return;
    }
    memcpy(path, name.ptr, name.len);
    path[name.len] = '\0';
    int fd = openat(file_dir, path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        if (fd >= 0)
            close(fd);
        zzz_res_text(res, 404, "no such file\n");
        return;
    }
    unsigned long long off = query_number(req, "off", 0);
    unsigned long long size = (unsigned long long)st.st_size;
    unsigned long long len = query_number(req, "len", off < size ? size - off : 0);
    unsigned long long parts = query_number(req, "parts", 1);
    if (parts == 0 || parts > 64)
        parts = 1;
    zzz_res_header(res, "Content-Type", "application/octet-stream");
    if (query_number(req, "chunked", 0) == 0)
        zzz_res_content_length(res, len);
    int err = 0;
    for (unsigned long long i = 0; err == 0 && i < parts; i++) {
        unsigned long long piece = i + 1 < parts ? len / parts : len - len / parts * i;
        err = zzz_res_sendfile(res, fd, (off_t)(off + len / parts * i), (size_t)piece);
    }
    if (err == 0)
        err = zzz_res_end(res);
    if (err)
        fprintf(stderr, "testserver: /file/%s: %s\n", path, strerror(-err));
    close(fd);
}

/* GET and POST /ignore: an answer that never reads the body. */
static void ignore(zzz_req *req, zzz_res *res, void *user)
{
    (void)req;
    (void)user;
    zzz_res_text(res, 200, "ignored\n");
}

/* POST /write-then-read: the answer begins (head and a first chunk, sent
 * at once) before the body is read; then the body's length ends it. */
static void write_then_read(zzz_req *req, zzz_res *res, void *user)
{
    (void)user;
    zzz_res_header(res, "Content-Type", "text/plain");
    if (zzz_res_write(res, "started\n", 8) != 0 || zzz_conn_flush(zzz_req_conn(req)) != 0)
        return;
    char buf[4096];
    unsigned long long total = 0;
    ssize_t n;
    while ((n = zzz_req_read(req, buf, sizeof buf)) > 0)
        total += (unsigned long long)n;
    if (n < 0)
        return; /* zzz closes: the answer has begun */
    char line[64];
    int len = snprintf(line, sizeof line, "got %llu\n", total);
    if (zzz_res_write(res, line, (size_t)len) == 0)
        zzz_res_end(res);
}

/* GET /abort: two parts sent, then the answer given up. */
static void abort_stream(zzz_req *req, zzz_res *res, void *user)
{
    (void)user;
    zzz_res_header(res, "Content-Type", "text/plain");
    if (zzz_res_write(res, "part 1\n", 7) != 0 || zzz_res_write(res, "part 2\n", 7) != 0 ||
        zzz_conn_flush(zzz_req_conn(req)) != 0)
        return;
    zzz_res_abort(res);
}

/* GET /unended: two parts, and a return without zzz_res_end. */
static void unended(zzz_req *req, zzz_res *res, void *user)
{
    (void)req;
    (void)user;
    zzz_res_header(res, "Content-Type", "text/plain");
    if (zzz_res_write(res, "part 1\n", 7) == 0)
        zzz_res_write(res, "part 2\n", 7);
}

/* GET /status1xx: what zzz_res_status says to 100 and 101 (interim
 * statuses are no final status), then a plain 200. */
static void status1xx(zzz_req *req, zzz_res *res, void *user)
{
    (void)req;
    (void)user;
    int rc100 = zzz_res_status(res, 100);
    int rc101 = zzz_res_status(res, 101);
    char body[64];
    snprintf(body, sizeof body, "rc %d %d\n", rc100, rc101);
    zzz_res_text(res, 200, body);
}

/* GET /users/:id */
static void user_show(zzz_req *req, zzz_res *res, void *user)
{
    (void)user;
    zzz_str id = {"", 0};
    zzz_req_param(req, "id", &id);
    char body[512];
    int n = snprintf(body, sizeof body, "user %.*s\n", (int)id.len, id.ptr);
    if (n < 0 || (size_t)n >= sizeof body)
        n = 0;
    zzz_res_send(res, body, (size_t)n);
}

/* GET /headers: how many header fields arrived, and the request-target's length. */
static void headers(zzz_req *req, zzz_res *res, void *user)
{
    (void)user;
    char body[64];
    int n = snprintf(body, sizeof body, "%zu %zu\n", zzz_req_header_count(req),
                     zzz_req_target(req).len);
    zzz_res_send(res, body, (size_t)n);
}

/* GET /tls: what the connection's TLS session negotiated, one per line
 * ("tls no" without TLS). */
static void tls_info(zzz_req *req, zzz_res *res, void *user)
{
    (void)user;
    zzz_tls_info info;
    char body[256];
    int n;
    if (zzz_conn_tls(zzz_req_conn(req), &info))
        n = snprintf(body, sizeof body, "version %04x\nsuite %04x\nsni %s\nalpn %s\n", info.version,
                     info.cipher_suite, info.server_name, info.alpn ? info.alpn : "-");
    else
        n = snprintf(body, sizeof body, "tls no\n");
    zzz_res_send(res, body, (size_t)n);
}

/* The protocol GET /upgrade hands its connection to: every byte back in
 * upper case, as it comes. */
static zzz_conn_next upper_on_conn(zzz_conn *conn, void *user)
{
    (void)user;
    zzz_buf *in = zzz_conn_buf(conn);
    if (!in->data)
        return ZZZ_CLOSE;
    for (;;) {
        for (size_t i = 0; i < in->len; i++)
            in->data[i] = (char)toupper((unsigned char)in->data[i]);
        if (in->len && zzz_conn_out(conn, in->data, in->len) != 0)
            return ZZZ_CLOSE;
        zzz_conn_consume(conn, in->len);
        ssize_t n = zzz_conn_fill_now(conn);
        if (n == -EAGAIN)
            return ZZZ_WAIT;
        if (n <= 0)
            return ZZZ_CLOSE;
    }
}

/* GET /upgrade with "Upgrade: upper": 101, then the connection is the
 * upper protocol's, holding no task while it is quiet. */
static void upgrade(zzz_req *req, zzz_res *res, void *user)
{
    (void)user;
    zzz_str want;
    if (!zzz_req_header(req, "Upgrade", &want) || want.len != 5 || memcmp(want.ptr, "upper", 5)) {
        zzz_res_header(res, "Upgrade", "upper");
        zzz_res_text(res, 426, "Upgrade Required\n");
        return;
    }
    zzz_res_header(res, "Upgrade", "upper");
    zzz_conn *conn;
    int err = zzz_res_take_over(res, 101, &conn);
    if (err) {
        char body[64];
        snprintf(body, sizeof body, "take over: %d\n", err);
        zzz_res_text(res, 400, body);
        return;
    }
    zzz_conn_hand_over(conn, upper_on_conn, NULL);
}

/* GET /takeover-echo: 101, then the handler itself serves the connection,
 * straight-line: "echo " and each line, until "bye". */
static void takeover_echo(zzz_req *req, zzz_res *res, void *user)
{
    (void)req;
    (void)user;
    zzz_res_header(res, "Upgrade", "echo");
    zzz_conn *conn;
    if (zzz_res_take_over(res, 101, &conn) != 0)
        return;
    zzz_buf *in = zzz_conn_buf(conn);
    for (;;) {
        char *nl = in->len ? memchr(in->data, '\n', in->len) : NULL;
        if (!nl) {
            if (zzz_conn_fill(conn) <= 0)
                return;
            continue;
        }
        size_t len = (size_t)(nl - in->data) + 1;
        if (zzz_conn_out(conn, "echo ", 5) != 0 || zzz_conn_out(conn, in->data, len) != 0 ||
            zzz_conn_flush(conn) != 0)
            return;
        bool bye = len == 4 && memcmp(in->data, "bye\n", 4) == 0;
        zzz_conn_consume(conn, len);
        if (bye)
            return;
    }
}

/* GET /feed: an answer that ends only with the connection: three ticks
 * written straight to it, then the handler returns and it closes. */
static void feed(zzz_req *req, zzz_res *res, void *user)
{
    (void)req;
    (void)user;
    zzz_res_header(res, "Content-Type", "text/plain");
    zzz_conn *conn;
    if (zzz_res_take_over(res, 200, &conn) != 0)
        return;
    for (int i = 1; i <= 3; i++) {
        char line[32];
        int n = snprintf(line, sizeof line, "tick %d\n", i);
        if (zzz_conn_write(conn, line, (size_t)n) != 0)
            return;
        tardy_sleep(20 * 1000000ull);
    }
}

/* GET /takeover-refused: what zzz_res_take_over says to what it refuses,
 * then a plain answer. */
static void takeover_refused(zzz_req *req, zzz_res *res, void *user)
{
    (void)user;
    zzz_conn *conn = NULL;
    int interim = zzz_res_take_over(res, 100, &conn);
    int no_upgrade = zzz_res_take_over(res, 101, &conn);
    zzz_res_header(res, "Upgrade", "x");
    /* 0 from an HTTP/1.1 request; -EINVAL from an HTTP/1.0 one. */
    int version = zzz_req_version(req) == 0 ? zzz_res_take_over(res, 101, &conn) : 0;
    char body[96];
    snprintf(body, sizeof body, "rc %d %d %d\n", interim, no_upgrade, version);
    int after = zzz_res_text(res, 200, body);
    (void)after;
}

/* POST /takeover-body: take over refused while the body is unread, then
 * granted once it is read; the answer runs to the close. */
static void takeover_body(zzz_req *req, zzz_res *res, void *user)
{
    (void)user;
    zzz_conn *conn;
    int early = zzz_res_take_over(res, 200, &conn);
    zzz_str body;
    if (zzz_req_body(req, &body) != 0)
        return;
    size_t len = body.len;
    int late = zzz_res_take_over(res, 200, &conn);
    if (late != 0)
        return;
    char line[64];
    int n = snprintf(line, sizeof line, "rc %d %d body %zu\n", early, late, len);
    zzz_conn_write(conn, line, (size_t)n);
}

/* GET /arena: scratch from the write buffer until it runs out, with
 * output pending: it fails with -ENOBUFS and never sends to make room. */
static void arena(zzz_req *req, zzz_res *res, void *user)
{
    (void)user;
    zzz_conn *conn = zzz_req_conn(req);
    zzz_buf *out = zzz_conn_outbuf(conn);
    void *mem;
    int too_big = zzz_conn_arena(conn, out->cap + 1, &mem);
    size_t mark = out->len;
    uint64_t sent = zzz_conn_sent(conn);
    static const char filler[1000];
    zzz_conn_out(conn, filler, sizeof filler);
    int err;
    unsigned pieces = 0;
    while ((err = zzz_conn_arena(conn, 512, &mem)) == 0)
        pieces++;
    bool kept = zzz_conn_sent(conn) == sent && out->len == mark + sizeof filler;
    int header = zzz_res_header(res, "X-Late", "no room");
    out->len = mark; /* the filler was never part of the answer */
    char body[96];
    snprintf(body, sizeof body, "rc %d %d header %d kept %d pieces %u\n", too_big, err, header,
             kept, pieces);
    zzz_res_send(res, body, strlen(body));
}

/* GET /echo-header: the request's X-Echo value echoed, uncopied, as
 * X-Echoed (zzz_res_header_str), an empty X-Empty from a NULL pointer;
 * the body gives what the refused forms returned: a NUL inside the name,
 * a NUL inside the value, a CR inside the value, an empty name. */
static void echo_header(zzz_req *req, zzz_res *res, void *user)
{
    (void)user;
    zzz_str v = {NULL, 0};
    zzz_req_header(req, "x-echo", &v);
    int echoed = zzz_res_header_str(res, (zzz_str){"X-Echoed", 8}, v);
    int empty = zzz_res_header_str(res, (zzz_str){"X-Empty", 7}, (zzz_str){NULL, 0});
    int nul_name = zzz_res_header_str(res, (zzz_str){"X-A\0B", 5}, (zzz_str){"v", 1});
    int nul_value = zzz_res_header_str(res, (zzz_str){"X-B", 3}, (zzz_str){"a\0b", 3});
    int cr_value = zzz_res_header_str(res, (zzz_str){"X-C", 3}, (zzz_str){"a\rb", 3});
    int no_name = zzz_res_header_str(res, (zzz_str){"", 0}, (zzz_str){"v", 1});
    /* Only the first 5 bytes of this name: "X-Cut". */
    int part = zzz_res_header_str(res, (zzz_str){"X-Cut-Off", 5}, (zzz_str){"yes-and-more", 3});
    char body[128];
    snprintf(body, sizeof body, "rc %d %d %d %d %d %d %d\n", echoed, empty, nul_name, nul_value,
             cr_value, no_name, part);
    zzz_res_send(res, body, strlen(body));
}

/* GET /nodelay: the connection's TCP_NODELAY as the kernel reports it
 * ("nodelay 1" when Nagle's algorithm is off). */
static void nodelay(zzz_req *req, zzz_res *res, void *user)
{
    (void)user;
    int on = -1;
    socklen_t len = sizeof on;
    if (getsockopt(zzz_conn_fd(zzz_req_conn(req)), IPPROTO_TCP, TCP_NODELAY, &on, &len) != 0)
        on = -errno;
    char body[32];
    snprintf(body, sizeof body, "nodelay %d\n", on);
    zzz_res_send(res, body, strlen(body));
}

/* GET /many-headers: fields of 64 bytes a line ("X-Field-NN: " and a
 * value) until zzz_res_header refuses one; the body says how many went in
 * and what the refusal was. The answer must carry exactly those. */
static void many_headers(zzz_req *req, zzz_res *res, void *user)
{
    (void)req;
    (void)user;
    int err = 0;
    unsigned added = 0;
    while (added < 1000) {
        char name[24], value[64];
        snprintf(name, sizeof name, "X-Field-%03u", added);
        /* name ": " value CRLF: 11 + 2 + 49 + 2 = 64 bytes. */
        snprintf(value, sizeof value, "%03u-%045u", added, added);
        if ((err = zzz_res_header(res, name, value)) != 0)
            break;
        added++;
    }
    char body[64];
    snprintf(body, sizeof body, "added %u rc %d\n", added, err);
    zzz_res_send(res, body, strlen(body));
}

/* A whole file, malloc'ed (NULL, length 0, when it cannot be read). */
static const char *read_text(const char *path, size_t *len)
{
    *len = 0;
    FILE *f = path ? fopen(path, "rb") : NULL;
    if (!f)
        return NULL;
    static char chunk[65536];
    size_t n = fread(chunk, 1, sizeof chunk, f);
    fclose(f);
    char *copy = malloc(n ? n : 1);
    if (!copy)
        return NULL;
    memcpy(copy, chunk, n);
    *len = n;
    return copy;
}

static void on_start(zzz_server *server, const char *driver, void *arg)
{
    printf("listening on %s:%u (driver %s, %u threads)\n", (const char *)arg,
           zzz_server_port(server), driver, zzz_server_threads(server));
    fflush(stdout);
}

static int usage(const char *prog)
{
    fprintf(stderr,
            "usage: %s [--port N] [--threads N] [--conn-limit N] [--max-target N]\n"
            "  [--max-header-bytes N] [--max-headers N] [--max-body N] [--header-timeout-ms N]\n"
            "  [--idle-timeout-ms N] [--body-timeout-ms N] [--drain-timeout-ms N]\n"
            "  [--linger-timeout-ms N] [--active-limit N] [--busy-tasks N] [--read-buffer-size N]\n"
            "  [--write-timeout-ms N] [--write-min-rate N] [--body-min-rate N]\n"
            "  [--body-grace-ms N] [--body-buffers N] [--big-size N] [--send-buffer N]\n"
            "  [--write-buffer-size N]\n"
            "  [--tls-cert FILE --tls-key FILE [--tls-names NAME,NAME...]]... (the first pair\n"
            "  is the default) [--handshake-timeout-ms N] [--session-cache N] [--record-size N]\n"
            "  [--idle-trim-ms N] [--tls-in-memory 1] [--file-dir DIR]\n",
            prog);
    return 2;
}

int main(int argc, char **argv)
{
    zzz_http_config cfg = {.server = {.host = "127.0.0.1", .port = 0, .threads = 1}};
    enum { MAX_CERTS = 8, MAX_NAMES = 8 };
    static zzz_tls_cert certs[MAX_CERTS];
    static const char *names[MAX_CERTS][MAX_NAMES + 1];
    static char names_text[MAX_CERTS][256];
    zzz_tls_config tls = {.certs = certs};
    bool use_tls = false;
    bool in_memory = false; /* hand zzz the PEM text instead of file names */
    for (int i = 1; i < argc; i++) {
        const char *flag = argv[i];
        if (i + 1 >= argc)
            return usage(argv[0]);
        const char *arg = argv[++i];
        unsigned long long v = strtoull(arg, NULL, 10);
        if (strcmp(flag, "--tls-cert") == 0) {
            if (tls.cert_count == MAX_CERTS)
                return usage(argv[0]);
            certs[tls.cert_count++].cert_file = arg;
            use_tls = true;
        } else if (strcmp(flag, "--tls-key") == 0 && tls.cert_count > 0) {
            certs[tls.cert_count - 1].key_file = arg;
        } else if (strcmp(flag, "--tls-names") == 0 && tls.cert_count > 0) {
            unsigned k = tls.cert_count - 1, count = 0;
            snprintf(names_text[k], sizeof names_text[k], "%s", arg);
            for (char *save = NULL, *name = strtok_r(names_text[k], ",", &save);
                 name && count < MAX_NAMES; name = strtok_r(NULL, ",", &save))
                names[k][count++] = name;
            names[k][count] = NULL;
            certs[k].names = names[k];
        } else if (strcmp(flag, "--handshake-timeout-ms") == 0)
            tls.handshake_timeout_ms = (uint32_t)v;
        else if (strcmp(flag, "--session-cache") == 0)
            tls.session_cache_size = (unsigned)v;
        else if (strcmp(flag, "--record-size") == 0)
            tls.record_size = (size_t)v;
        else if (strcmp(flag, "--idle-trim-ms") == 0)
            tls.idle_trim_ms = (uint32_t)v;
        else if (strcmp(flag, "--tls-in-memory") == 0)
            in_memory = v != 0;
        else if (strcmp(flag, "--port") == 0)
            cfg.server.port = (uint16_t)v;
        else if (strcmp(flag, "--threads") == 0)
            cfg.server.threads = (unsigned)v;
        else if (strcmp(flag, "--conn-limit") == 0)
            cfg.server.conn_limit = (unsigned)v;
        else if (strcmp(flag, "--max-target") == 0)
            cfg.max_target = (size_t)v;
        else if (strcmp(flag, "--max-header-bytes") == 0)
            cfg.max_header_bytes = (size_t)v;
        else if (strcmp(flag, "--max-headers") == 0)
            cfg.max_headers = (unsigned)v;
        else if (strcmp(flag, "--max-body") == 0)
            cfg.max_body = (size_t)v;
        else if (strcmp(flag, "--header-timeout-ms") == 0)
            cfg.header_timeout_ms = (uint32_t)v;
        else if (strcmp(flag, "--idle-timeout-ms") == 0)
            cfg.server.idle_timeout_ms = (uint32_t)v;
        else if (strcmp(flag, "--body-timeout-ms") == 0)
            cfg.body_timeout_ms = (uint32_t)v;
        else if (strcmp(flag, "--drain-timeout-ms") == 0)
            cfg.server.drain_timeout_ms = (uint32_t)v;
        else if (strcmp(flag, "--linger-timeout-ms") == 0)
            cfg.server.linger_timeout_ms = (uint32_t)v;
        else if (strcmp(flag, "--active-limit") == 0)
            cfg.server.active_limit = (unsigned)v;
        else if (strcmp(flag, "--busy-tasks") == 0)
            cfg.server.busy_tasks = (unsigned)v;
        else if (strcmp(flag, "--read-buffer-size") == 0)
            cfg.server.read_buffer_size = (size_t)v;
        else if (strcmp(flag, "--write-buffer-size") == 0)
            cfg.server.write_buffer_size = (size_t)v;
        else if (strcmp(flag, "--write-timeout-ms") == 0)
            cfg.server.write_timeout_ms = (uint32_t)v;
        else if (strcmp(flag, "--write-min-rate") == 0)
            cfg.server.write_min_rate = (uint32_t)v;
        else if (strcmp(flag, "--body-min-rate") == 0)
            cfg.body_min_rate = (uint32_t)v;
        else if (strcmp(flag, "--body-grace-ms") == 0)
            cfg.body_grace_ms = (uint32_t)v;
        else if (strcmp(flag, "--body-buffers") == 0)
            cfg.body_buffers = (unsigned)v;
        else if (strcmp(flag, "--big-size") == 0)
            big_size = (size_t)v;
        else if (strcmp(flag, "--send-buffer") == 0)
            big_send_buffer = (int)v;
        else if (strcmp(flag, "--file-dir") == 0) {
            file_dir = open(arg, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
            if (file_dir < 0) {
                fprintf(stderr, "testserver: --file-dir %s: %s\n", arg, strerror(errno));
                return 1;
            }
        }
        else
            return usage(argv[0]);
    }
    big_body = malloc(big_size ? big_size : 1);
    if (!big_body) {
        fprintf(stderr, "testserver: no memory for a %zu-byte /big\n", big_size);
        return 1;
    }
    for (size_t i = 0; i < big_size; i++)
        big_body[i] = (char)('a' + i % 26);
    zzz_router *router;
    int err = zzz_router_create(&router);
    struct {
        const char *method, *pattern;
        zzz_handler handler;
    } routes[] = {
        {"GET", "/", hello},
        {"POST", "/echo", echo},
        {"POST", "/stream-echo", stream_echo},
        {"POST", "/count", count},
        {"GET", "/slow", slow},
        {"GET", "/noanswer", noanswer},
        {"GET", "/stream", stream},
        {"GET", "/big", big},
        {"GET", "/users/:id", user_show},
        {"GET", "/headers", headers},
        {"GET", "/tls", tls_info},
        {"GET", "/ignore", ignore},
        {"POST", "/ignore", ignore},
        {"POST", "/write-then-read", write_then_read},
        {"GET", "/abort", abort_stream},
        {"GET", "/unended", unended},
        {"GET", "/status1xx", status1xx},
        {"GET", "/upgrade", upgrade},
        {"GET", "/takeover-echo", takeover_echo},
        {"GET", "/feed", feed},
        {"GET", "/takeover-refused", takeover_refused},
        {"POST", "/takeover-body", takeover_body},
        {"GET", "/arena", arena},
        {"GET", "/many-headers", many_headers},
        {"GET", "/echo-header", echo_header},
        {"GET", "/nodelay", nodelay},
        {"GET", "/file/:name", file},
    };
    for (size_t i = 0; err == 0 && i < sizeof routes / sizeof routes[0]; i++)
        err = zzz_route(router, routes[i].method, routes[i].pattern, routes[i].handler, NULL);
    if (err) {
        fprintf(stderr, "testserver: router: %s\n", strerror(-err));
        return 1;
    }
    cfg.router = router;
    if (use_tls)
        cfg.server.tls = &tls;
    for (unsigned i = 0; in_memory && i < tls.cert_count; i++) {
        certs[i].cert_pem = read_text(certs[i].cert_file, &certs[i].cert_pem_len);
        certs[i].key_pem = read_text(certs[i].key_file, &certs[i].key_pem_len);
        certs[i].cert_file = certs[i].key_file = NULL;
    }
    cfg.server.on_start = on_start;
    cfg.server.start_arg = (void *)cfg.server.host;
    zzz_server *server;
    err = zzz_http_server_create(&server, &cfg);
    if (err) {
        fprintf(stderr, "testserver: cannot start: %s: %s\n", strerror(-err), zzz_last_error());
        zzz_router_destroy(router);
        return 1;
    }
    err = zzz_server_run(server);
    zzz_server_destroy(server);
    zzz_router_destroy(router);
    free(big_body);
    if (err) {
        fprintf(stderr, "testserver: %s\n", strerror(-err));
        return 1;
    }
    return 0;
}
