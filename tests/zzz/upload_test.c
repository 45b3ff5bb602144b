/* Integration tests of queries, urlencoded forms and multipart uploads
 * against the form server (formserver.c) as a child process on
 * 127.0.0.1: exact bytes over raw sockets for the fields and for every
 * refusal's status (and that layers see it, and that the connection
 * goes on when the body's framing held), pipelined and chunked bodies,
 * 100-continue, and curl -F uploads saved with zzz_part_save. Once per
 * I/O driver. */
#include "harness.h"

static char upload_dir[256];

static void fini(void)
{
    harness_cleanup();
    harness_free_owned();
    harness_remove_tree(upload_dir);
    upload_dir[0] = '\0';
}

TestSuite(upload, .fini = fini, .timeout = 120);

/* n bytes, freed after the test (harness_own). */
static char *owned_alloc(size_t n)
{
    char *p = malloc(n);
    if (!p)
        abort(); /* said outright: the compiler cannot see cr_assert end the test */
    harness_own(p);
    return p;
}

static void start_forms(server *s, const char *const *extra)
{
    const char *args[16] = {"--threads", "1", "--max-body", "65536"};
    size_t n = 4;
    for (size_t i = 0; extra && extra[i] && n < 15; i++)
        args[n++] = extra[i];
    args[n] = NULL;
    server_start(s, binary_path("ZZZ_FORMSERVER"), args);
}

/* A request's bytes (a body may hold NUL). */
typedef struct msg {
    const char *data;
    size_t len;
} msg;

static msg text_msg(const char *text)
{
    return (msg){text, strlen(text)};
}

/* A POST of body (len bytes) with that Content-Type (NULL: none). */
static msg post(const char *path, const char *type, const char *body, size_t len)
{
    size_t cap = len + 512;
    char *req = owned_alloc(cap);
    int n = snprintf(req, cap, "POST %s HTTP/1.1\r\nHost: t\r\n%s%s%sContent-Length: %zu\r\n\r\n",
                     path, type ? "Content-Type: " : "", type ? type : "", type ? "\r\n" : "", len);
    memcpy(req + n, body, len);
    return (msg){req, (size_t)n + len};
}

/* Sends m on c and reads the answer into r. */
static void ask(client *c, msg m, response *r)
{
    int err = client_send(c, m.data, m.len);
    cr_assert_eq(err, 0, "send: %s", strerror(-err));
    client_response(c, r);
}

/* m on a fresh connection. */
static void exchange_msg(uint16_t port, msg m, response *r)
{
    client c;
    client_open(&c, port);
    ask(&c, m, r);
    client_close(&c);
}

/* The connection still serves: a query answered 200 on it. */
static void expect_open(client *c)
{
    response r;
    ask(c, text_msg("GET /query?still=open HTTP/1.1\r\nHost: t\r\n\r\n"), &r);
    expect_status(&r, 200);
    expect_body(&r, "still=open\n");
    response_free(&r);
}

/* ---- queries ------------------------------------------------------------------ */

Test(upload, query_fields_in_order_with_repeats)
{
    server s;
    start_forms(&s, NULL);
    response r;
    exchange(s.port, "GET /query?a=1&b=x+y&&a=%33&c&%C3%A9=%E2%82%AC HTTP/1.1\r\nHost: t\r\n\r\n",
             &r);
    expect_status(&r, 200);
    expect_body(&r, "a=1\nb=x y\na=3\nc=\n\xc3\xa9=\xe2\x82\xac\n");
    response_free(&r);
    exchange(s.port, "GET /query HTTP/1.1\r\nHost: t\r\n\r\n", &r);
    expect_status(&r, 200);
    expect_body(&r, "");
    response_free(&r);
    server_stop(&s);
}

Test(upload, bad_query_escapes_are_400_and_the_connection_goes_on)
{
    server s;
    start_forms(&s, NULL);
    static const char *const bad[] = {"a=%zz", "a=%00", "ok=1&a=%", "%4=1", "a=%%"};
    client c;
    client_open(&c, s.port);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char req[256];
        snprintf(req, sizeof req, "GET /query?%s HTTP/1.1\r\nHost: t\r\n\r\n", bad[i]);
        response r;
        ask(&c, text_msg(req), &r);
        expect_status(&r, 400);
        cr_assert(header_is(&r, "X-Hook-Status", "400"), "the layer saw %s",
                  resp_header(&r, "X-Hook-Status"));
        cr_assert_not(header_is(&r, "Connection", "close"));
        response_free(&r);
        expect_open(&c);
    }
    client_close(&c);
    server_stop(&s);
}

/* "GET /count/query?a=" and `plus` '+' (each decodes to a copied space). */
static void count_query(uint16_t port, size_t plus, response *r)
{
    static const char start[] = "GET /count/query?a=", end[] = " HTTP/1.1\r\nHost: t\r\n\r\n";
    size_t len = sizeof start - 1 + plus + sizeof end - 1;
    char *req = owned_alloc(len);
    memcpy(req, start, sizeof start - 1);
    for (size_t i = 0; i < plus; i++)
        req[sizeof start - 1 + i] = '+';
    memcpy(req + sizeof start - 1 + plus, end, sizeof end - 1);
    exchange_msg(port, (msg){req, len}, r);
}

Test(upload, query_copies_at_and_past_the_request_memory)
{
    server s;
    start_forms(&s, (const char *const[]){"--request-memory", "4096", NULL});
    response r;
    count_query(s.port, 4096, &r);
    expect_status(&r, 200);
    expect_body(&r, "1 fields, 4097 bytes\n");
    response_free(&r);
    count_query(s.port, 4097, &r);
    expect_status(&r, 414);
    response_free(&r);
    server_stop(&s);
}

/* ---- urlencoded bodies -------------------------------------------------------- */

static const char urlencoded[] = "application/x-www-form-urlencoded";

static void expect_post(uint16_t port, const char *path, const char *type, const char *body,
                        int status, const char *answer)
{
    response r;
    exchange_msg(port, post(path, type, body, strlen(body)), &r);
    expect_status(&r, status);
    if (answer)
        expect_body(&r, answer);
    response_free(&r);
}

Test(upload, urlencoded_bodies)
{
    server s;
    start_forms(&s, NULL);
    expect_post(s.port, "/form", urlencoded, "name=J%C3%B6rg&colour=red+ish&name=2", 200,
                "name=J\xc3\xb6rg\ncolour=red ish\nname=2\n");
    expect_post(s.port, "/form", "Application/X-WWW-Form-Urlencoded; charset=UTF-8", "a=b", 200,
                "a=b\n");
    expect_post(s.port, "/form", urlencoded, "", 200, "");
    expect_post(s.port, "/form", NULL, "", 200, "");
    server_stop(&s);
}

Test(upload, urlencoded_refusals)
{
    server s;
    start_forms(&s, NULL);
    static const struct {
        const char *type, *body;
        int status;
    } cases[] = {
        {"text/plain", "a=b", 415},
        {NULL, "a=b", 415},
        {"multipart/form-data; boundary=x", "a=b", 415},
        {"application/x-www-form-urlencoded", "a=%zz", 400},
        {"application/x-www-form-urlencoded", "a=%00", 400},
    };
    client c;
    client_open(&c, s.port);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        response r;
        ask(&c, post("/form", cases[i].type, cases[i].body, strlen(cases[i].body)), &r);
        expect_status(&r, cases[i].status);
        char want[8];
        snprintf(want, sizeof want, "%d", cases[i].status);
        cr_assert(header_is(&r, "X-Hook-Status", want));
        response_free(&r);
        expect_open(&c);
    }
    client_close(&c);
    /* Past max_body (64 KiB here): 413 before the handler, as any body. */
    char *big = owned_alloc(65537);
    memset(big, 'a', 65537);
    client_open(&c, s.port);
    msg m = post("/form", urlencoded, big, 65537);
    cr_assert_eq(client_send(&c, m.data, m.len), 0);
    expect_error_and_close(&c, 413);
    client_close(&c);
    server_stop(&s);
}

/* "a=" and `plus` '+' as a body to /count/form. */
static void count_form(uint16_t port, size_t plus, response *r)
{
    char *body = owned_alloc(plus + 3);
    memcpy(body, "a=", 2);
    memset(body + 2, '+', plus);
    exchange_msg(port, post("/count/form", urlencoded, body, plus + 2), r);
}

Test(upload, form_copies_at_and_past_the_request_memory)
{
    server s;
    start_forms(&s, (const char *const[]){"--request-memory", "8192", NULL});
    response r;
    count_form(s.port, 8192, &r);
    expect_status(&r, 200);
    expect_body(&r, "1 fields, 8193 bytes\n");
    response_free(&r);
    count_form(s.port, 8193, &r);
    expect_status(&r, 413);
    response_free(&r);
    server_stop(&s);
}

/* ---- multipart over raw sockets ---------------------------------------------- */

static const char mp_type[] = "multipart/form-data; boundary=XyZ";
#define CD "Content-Disposition: form-data; "

static uint64_t fnv(const char *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)p[i]) * 0x100000001b3ull;
    return h;
}

Test(upload, multipart_fields_and_files)
{
    server s;
    start_forms(&s, NULL);
    static const char body[] = "preamble\r\n--XyZ\r\n" CD "name=\"title\"\r\n\r\nHello\r\n"
                               "--XyZ\r\n" CD "name=\"doc\"; filename=\"a %22b%22\\c.bin\"\r\n"
                               "Content-Type: application/x-test\r\n\r\n\x00\r\n--\xff\r\n"
                               "--XyZ\r\n" CD "name=\"note\"\r\n\r\n\r\n"
                               "--XyZ--\r\nepilogue";
    response r;
    exchange_msg(s.port, post("/mp/upload", mp_type, body, sizeof body - 1), &r);
    expect_status(&r, 200);
    char want[256];
    snprintf(want, sizeof want,
             "title=Hello\ndoc|a %%22b%%22\\c.bin|application/x-test|6|%016llx\nnote=\n",
             (unsigned long long)fnv("\x00\r\n--\xff", 6));
    expect_body(&r, want);
    response_free(&r);
    server_stop(&s);
}

/* A body of `parts` parts, p0, p1 ..., each of `size` bytes of 'x'; as
 * files pN.bin when `files` (the server reads text fields with a limit
 * of its own, 1 KiB). */
static char *parts_body(unsigned parts, size_t size, bool files, size_t *len)
{
    size_t cap = (size_t)parts * (size + 96) + 32;
    char *body = owned_alloc(cap);
    size_t n = 0;
    for (unsigned i = 0; i < parts; i++) {
        n += (size_t)snprintf(body + n, cap - n, "--XyZ\r\n" CD "name=p%u", i);
        if (files)
            n += (size_t)snprintf(body + n, cap - n, "; filename=p%u.bin", i);
        n += (size_t)snprintf(body + n, cap - n, "\r\n\r\n");
        memset(body + n, 'x', size);
        n += size;
        memcpy(body + n, "\r\n", 2);
        n += 2;
    }
    n += (size_t)snprintf(body + n, cap - n, "--XyZ--\r\n");
    *len = n;
    return body;
}

typedef struct refusal {
    const char *what, *path, *type, *body;
    int status;
} refusal;

/* Each case on one connection, answered by zzz with its status (which
 * the layer's hook saw), the connection going on after each. */
static void expect_refusals(uint16_t port, const refusal *cases, size_t count)
{
    client c;
    client_open(&c, port);
    for (size_t i = 0; i < count; i++) {
        response r;
        ask(&c, post(cases[i].path, cases[i].type, cases[i].body, strlen(cases[i].body)), &r);
        cr_assert_eq(r.status, cases[i].status, "%s: %d\n%s%s", cases[i].what, r.status, r.head,
                     r.body);
        char want[8];
        snprintf(want, sizeof want, "%d", cases[i].status);
        cr_assert(header_is(&r, "X-Hook-Status", want), "%s: the layer saw %s", cases[i].what,
                  resp_header(&r, "X-Hook-Status"));
        response_free(&r);
        expect_open(&c);
    }
    client_close(&c);
}

Test(upload, malformed_multipart_is_400_and_415)
{
    server s;
    start_forms(&s, NULL);
    char long_type[160];
    snprintf(long_type, sizeof long_type, "multipart/form-data; boundary=%071d", 0);
    const refusal cases[] = {
        {"no boundary", "/mp/upload", "multipart/form-data", "--XyZ--", 400},
        {"empty boundary", "/mp/upload", "multipart/form-data; boundary=\"\"", "--XyZ--", 400},
        {"71 characters", "/mp/upload", long_type, "--XyZ--", 400},
        {"two boundaries", "/mp/upload", "multipart/form-data; boundary=a; boundary=b", "", 400},
        {"not multipart", "/mp/upload", "text/plain", "--XyZ--", 415},
        {"mixed", "/mp/upload", "multipart/mixed; boundary=XyZ", "--XyZ--", 415},
        {"no type", "/mp/upload", NULL, "--XyZ--", 415},
        {"no delimiter at all", "/mp/upload", mp_type, "just bytes, no boundary", 400},
        {"the end never comes", "/mp/upload", mp_type,
         "--XyZ\r\n" CD "name=a\r\n\r\nbytes and no more", 400},
        {"no close delimiter", "/mp/upload", mp_type, "--XyZ\r\n" CD "name=a\r\n\r\nx\r\n--XyZ",
         400},
        {"a bad delimiter line", "/mp/upload", mp_type, "--XyZ!\r\n" CD "name=a\r\n\r\nx", 400},
        {"a bare LF", "/mp/upload", mp_type, "--XyZ\r\n" CD "name=a\nX: y\r\n\r\nx\r\n--XyZ--",
         400},
        {"a folded line", "/mp/upload", mp_type,
         "--XyZ\r\n" CD "name=a\r\n more\r\n\r\nx\r\n--XyZ--", 400},
        {"no Content-Disposition", "/mp/upload", mp_type,
         "--XyZ\r\nContent-Type: text/plain\r\n\r\nx\r\n--XyZ--", 400},
        {"no name", "/mp/upload", mp_type,
         "--XyZ\r\nContent-Disposition: form-data; filename=a\r\n\r\nx\r\n--XyZ--", 400},
        {"headers cut", "/mp/upload", mp_type, "--XyZ\r\n" CD "name=a\r\n", 400},
        {"skipped, still checked", "/mp/skip", mp_type,
         "--XyZ\r\n" CD "name=a\r\n\r\nx\r\n--XyZ\r\nBad header\r\n\r\nx\r\n--XyZ--", 400},
    };
    expect_refusals(s.port, cases, sizeof cases / sizeof cases[0]);
    server_stop(&s);
}

Test(upload, multipart_limits_at_and_past_them)
{
    server s;
    start_forms(&s, NULL);
    size_t len;
    char *ten = parts_body(2, 10, false, &len), *eleven = parts_body(2, 11, false, &len);
    char *two = parts_body(2, 1, false, &len), *three = parts_body(3, 1, false, &len);
    /* A header section of exactly 64 bytes, and one of 65. */
    const char *h64 = "--XyZ\r\n" CD "name=a\r\nX-Pad: 0123456789abc\r\n\r\nx\r\n--XyZ--";
    const char *h65 = "--XyZ\r\n" CD "name=a\r\nX-Pad: 0123456789abcd\r\n\r\nx\r\n--XyZ--";
    const refusal past[] = {
        {"a part past max_part", "/mp/upload?max_part=10", mp_type, eleven, 413},
        {"skipped past max_part", "/mp/skip?max_part=10", mp_type, eleven, 413},
        {"past max_parts", "/mp/upload?max_parts=2", mp_type, three, 413},
        {"past max_header", "/mp/upload?max_header=64", mp_type, h65, 413},
    };
    expect_refusals(s.port, past, sizeof past / sizeof past[0]);
    response r;
    exchange_msg(s.port, post("/mp/upload?max_part=10", mp_type, ten, strlen(ten)), &r);
    expect_status(&r, 200);
    expect_body(&r, "p0=xxxxxxxxxx\np1=xxxxxxxxxx\n");
    response_free(&r);
    exchange_msg(s.port, post("/mp/upload?max_parts=2", mp_type, two, strlen(two)), &r);
    expect_status(&r, 200);
    expect_body(&r, "p0=x\np1=x\n");
    response_free(&r);
    exchange_msg(s.port, post("/mp/upload?max_header=64", mp_type, h64, strlen(h64)), &r);
    expect_status(&r, 200);
    expect_body(&r, "a=x\n");
    response_free(&r);
    server_stop(&s);
}

Test(upload, a_boundary_that_never_comes_meets_max_body)
{
    server s;
    start_forms(&s, NULL);
    /* Chunked, so no length says it up front: 100 KiB of content against
     * a max_body of 64 KiB. The body fails, and zzz answers 413. */
    client c;
    client_open(&c, s.port);
    char head[256];
    snprintf(head, sizeof head,
             "POST /mp/upload HTTP/1.1\r\nHost: t\r\nContent-Type: %s\r\n"
             "Transfer-Encoding: chunked\r\n\r\n",
             mp_type);
    client_send_str(&c, head);
    char chunk[4096 + 16];
    const char *first = "--XyZ\r\n" CD "name=a; filename=a\r\n\r\n";
    int n = sprintf(chunk, "%zx\r\n%s\r\n", strlen(first), first);
    cr_assert_eq(client_send(&c, chunk, (size_t)n), 0);
    memset(chunk, 'x', sizeof chunk);
    memcpy(chunk, "1000\r\n", 6);
    memcpy(chunk + 6 + 4096, "\r\n", 2);
    for (int i = 0; i < 25; i++)
        if (client_send(&c, chunk, 6 + 4096 + 2) != 0)
            break; /* the server may have answered and closed */
    expect_error_and_close(&c, 413);
    client_close(&c);
    server_stop(&s);
}

Test(upload, a_handler_that_answers_keeps_its_answer)
{
    server s;
    start_forms(&s, NULL);
    const char *body = "--XyZ\r\n" CD "name=a\r\nBad header\r\n\r\nx\r\n--XyZ--";
    response r;
    exchange_msg(s.port, post("/mp/own", mp_type, body, strlen(body)), &r);
    expect_status(&r, 422);
    expect_body(&r, "mine: Bad message\n");
    cr_assert(header_is(&r, "X-Hook-Status", "422"));
    response_free(&r);
    server_stop(&s);
}

Test(upload, skipping_and_pipelining)
{
    server s;
    start_forms(&s, NULL);
    size_t len;
    char *body = parts_body(3, 5000, true, &len);
    msg one = post("/mp/skip", mp_type, body, len);
    msg two = post("/mp/upload", mp_type, body, len);
    char *both = owned_alloc(one.len + two.len);
    memcpy(both, one.data, one.len);
    memcpy(both + one.len, two.data, two.len);
    client c;
    client_open(&c, s.port);
    cr_assert_eq(client_send(&c, both, one.len + two.len), 0);
    response r;
    client_response(&c, &r);
    expect_status(&r, 200);
    expect_body(&r, "3 parts\n");
    response_free(&r);
    client_response(&c, &r);
    expect_status(&r, 200);
    char want[256], x[5000];
    memset(x, 'x', sizeof x);
    unsigned long long h = (unsigned long long)fnv(x, sizeof x);
    snprintf(want, sizeof want,
             "p0|p0.bin|text/plain|5000|%016llx\np1|p1.bin|text/plain|5000|%016llx\n"
             "p2|p2.bin|text/plain|5000|%016llx\n",
             h, h, h);
    expect_body(&r, want);
    response_free(&r);
    expect_open(&c);
    client_close(&c);
    server_stop(&s);
}

Test(upload, a_body_read_whole_before)
{
    server s;
    start_forms(&s, NULL);
    const char *body = "--XyZ\r\n" CD "name=a\r\n\r\none\r\n--XyZ\r\n" CD "name=b\r\n\r\ntwo\r\n"
                       "--XyZ--";
    response r;
    exchange_msg(s.port, post("/mp/stored", mp_type, body, strlen(body)), &r);
    expect_status(&r, 200);
    expect_body(&r, "a=one\nb=two\n");
    response_free(&r);
    const char *cut = "--XyZ\r\n" CD "name=a\r\n\r\none";
    exchange_msg(s.port, post("/mp/stored", mp_type, cut, strlen(cut)), &r);
    expect_status(&r, 400);
    response_free(&r);
    server_stop(&s);
}

Test(upload, chunked_and_100_continue)
{
    server s;
    start_forms(&s, NULL);
    client c;
    client_open(&c, s.port);
    char head[256];
    snprintf(head, sizeof head,
             "POST /mp/upload HTTP/1.1\r\nHost: t\r\nContent-Type: %s\r\n"
             "Transfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\n",
             mp_type);
    client_send_str(&c, head);
    /* The 100 comes when the handler first reads. */
    uint64_t give_up = now_ms() + HANG_GUARD_MS;
    while (!memmem(c.buf ? c.buf : "", c.len, "\r\n\r\n", 4) && now_ms() < give_up)
        client_recv_some(&c, 100);
    cr_assert(c.len >= 25 && memcmp(c.buf, "HTTP/1.1 100 Continue\r\n\r\n", 25) == 0,
              "no 100 Continue: %.*s", (int)c.len, c.buf);
    client_consume(&c, 25);
    /* The body in chunks that split delimiters and headers anywhere. */
    const char *body = "--XyZ\r\n" CD "name=a\r\n\r\nfirst\r\n--XyZ\r\n" CD "name=b\r\n\r\n"
                       "second\r\n--XyZ--\r\n";
    size_t len = strlen(body);
    for (size_t at = 0, piece = 1; at < len; at += piece, piece = piece % 7 + 1) {
        size_t n = at + piece > len ? len - at : piece;
        char chunk[32];
        int k = sprintf(chunk, "%zx\r\n", n);
        memcpy(chunk + k, body + at, n);
        memcpy(chunk + k + n, "\r\n", 2);
        cr_assert_eq(client_send(&c, chunk, (size_t)k + n + 2), 0);
    }
    client_send_str(&c, "0\r\n\r\n");
    response r;
    client_response(&c, &r);
    expect_status(&r, 200);
    expect_body(&r, "a=first\nb=second\n");
    response_free(&r);
    expect_open(&c);
    client_close(&c);
    server_stop(&s);
}

/* ---- curl -F ------------------------------------------------------------------- */

/* Writes len random bytes to DIR/name; returns them (owned). */
static char *make_file(const char *dir, const char *name, size_t len, uint64_t seed)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    char *data = harness_own(harness_random_bytes(len, seed));
    harness_write_path(path, data, len, 0644);
    return data;
}

static char *file_of(const char *dir, const char *name, size_t *len)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    cr_assert_geq(fd, 0, "%s: %s", path, strerror(errno));
    struct stat st;
    cr_assert_eq(fstat(fd, &st), 0);
    char *data = owned_alloc((size_t)st.st_size + 1);
    cr_assert_eq(read(fd, data, (size_t)st.st_size), st.st_size);
    close(fd);
    *len = (size_t)st.st_size;
    return data;
}

Test(upload, curl_uploads_saved_with_part_save)
{
    char src[256];
    harness_temp_dir(src, sizeof src, "upload-src");
    harness_temp_dir(upload_dir, sizeof upload_dir, "upload-dst");
    server s;
    start_forms(&s,
                (const char *const[]){"--upload-dir", upload_dir, "--max-body", "4000000", NULL});
    char *one = make_file(src, "one.bin", 1, 1);
    char *big = make_file(src, "big.bin", 3000000, 2);
    char url[128], f1[600], f2[600];
    snprintf(url, sizeof url, "http://127.0.0.1:%u/mp/save", s.port);
    snprintf(f1, sizeof f1, "one=@%s/one.bin", src);
    snprintf(f2, sizeof f2, "big=@%s/big.bin;filename=../../x\"y", src);
    char *out;
    const char *argv[] = {"curl", "-sS", "-F", "title=hi", "-F", f1, "-F", f2, url, NULL};
    int rc = run_capture(argv, &out, HANG_GUARD_MS);
    harness_own(out);
    cr_assert_eq(rc, 0, "curl: %s", out);
    cr_assert_str_eq(out, "one|000000-one|1\nbig|000001-big|3000000\n");
    size_t len;
    char *got = file_of(upload_dir, "000000-one", &len);
    cr_assert(len == 1 && got[0] == one[0]);
    got = file_of(upload_dir, "000001-big", &len);
    cr_assert(len == 3000000 && memcmp(got, big, len) == 0);
    /* Nothing else: no temporary file left behind, nothing at ../../x. */
    char *list;
    const char *ls[] = {"ls", "-A", upload_dir, NULL};
    cr_assert_eq(run_capture(ls, &list, HANG_GUARD_MS), 0);
    harness_own(list);
    cr_assert_str_eq(list, "000000-one\n000001-big\n");
    server_stop(&s);
    harness_remove_tree(src);
}

Test(upload, curl_fields_and_names_as_browsers_send_them)
{
    char src[256];
    harness_temp_dir(src, sizeof src, "upload-src");
    server s;
    start_forms(&s, NULL);
    char *data = make_file(src, "f.bin", 1000, 3);
    char url[128], f[600];
    snprintf(url, sizeof url, "http://127.0.0.1:%u/mp/upload", s.port);
    snprintf(f, sizeof f, "file=@%s/f.bin;filename=\xc3\xa9t\xc3\xa9.bin;type=image/png", src);
    char *out;
    const char *argv[] = {"curl", "-sS", "-F", "text=a \"quoted\" line", "-F", f, url, NULL};
    int rc = run_capture(argv, &out, HANG_GUARD_MS);
    harness_own(out);
    cr_assert_eq(rc, 0, "curl: %s", out);
    char want[256];
    snprintf(want, sizeof want,
             "text=a \"quoted\" line\nfile|\xc3\xa9t\xc3\xa9.bin|image/png|1000|%016llx\n",
             (unsigned long long)fnv(data, 1000));
    cr_assert_str_eq(out, want);
    server_stop(&s);
    harness_remove_tree(src);
}

/* ---- the form example ------------------------------------------------------------ */

/* Peak resident set size of a process (VmHWM), in bytes, or -1. */
static long long process_peak_rss(pid_t pid)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    long long kb = -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "VmHWM: %lld kB", &kb) == 1)
            break;
    fclose(f);
    return kb < 0 ? -1 : kb * 1024;
}

static void start_example(server *s, const char *dir)
{
    const char *args[] = {"--upload-dir", dir, NULL};
    server_start(s, example_path("ZZZ_FORM"), args);
}

/* sha256sum's digest of path. */
static void sha256_of(const char *path, char hex[65])
{
    char *out;
    const char *argv[] = {"sha256sum", path, NULL};
    cr_assert_eq(run_capture(argv, &out, 60000), 0, "sha256sum %s", path);
    cr_assert(strlen(out) > 64);
    memcpy(hex, out, 64);
    hex[64] = '\0';
    free(out);
}

/* The example's line for a file: its digest and the name it was stored
 * under. */
static void file_line(const char *answer, const char *field, const char *filename, size_t size,
                      char hex[65], char stored[64])
{
    char start[256];
    snprintf(start, sizeof start, "file %s: %s, %zu bytes, sha256 ", field, filename, size);
    const char *line = strstr(answer, start);
    cr_assert(line, "no \"%s\" in:\n%s", start, answer);
    cr_assert_eq(sscanf(line + strlen(start), "%64[0-9a-f], stored as %63[^\n]", hex, stored), 2,
                 "%s", line);
}

/* The two files hold the same bytes (read a MiB at a time). */
static void expect_same_file(const char *a, const char *b)
{
    int fa = open(a, O_RDONLY | O_CLOEXEC), fb = open(b, O_RDONLY | O_CLOEXEC);
    cr_assert(fa >= 0 && fb >= 0, "%s, %s: %s", a, b, strerror(errno));
    size_t size = 1 << 20;
    char *x = owned_alloc(size), *y = owned_alloc(size);
    for (;;) {
        ssize_t n = read(fa, x, size), m = read(fb, y, size);
        cr_assert(n >= 0 && n == m && memcmp(x, y, (size_t)n) == 0, "%s and %s differ", a, b);
        if (n == 0)
            break;
    }
    close(fa);
    close(fb);
}

Test(upload, example_page_has_both_forms)
{
    harness_temp_dir(upload_dir, sizeof upload_dir, "upload-ex");
    server s;
    start_example(&s, upload_dir);
    response r;
    exchange(s.port, "GET / HTTP/1.1\r\nHost: t\r\n\r\n", &r);
    expect_status(&r, 200);
    cr_assert(header_is(&r, "Content-Type", "text/html; charset=utf-8"));
    cr_assert_eq(count_substr(r.body, "<form method=\"post\" action=\"/form\""), 2);
    cr_assert(strstr(r.body, "enctype=\"multipart/form-data\""));
    cr_assert(strstr(r.body, "<input type=\"file\" name=\"files\" multiple>"));
    response_free(&r);
    exchange_msg(
        s.port, post("/form", "application/x-www-form-urlencoded", "name=J%C3%B6rg&colour=red", 25),
        &r);
    expect_status(&r, 200);
    expect_body(&r, "field name: J\xc3\xb6rg\nfield colour: red\n");
    response_free(&r);
    exchange_msg(s.port, post("/form", "multipart/form-data", "x", 1), &r);
    expect_status(&r, 400);
    response_free(&r);
    server_stop(&s);
}

Test(upload, example_uploads_of_1_byte_and_10_mib)
{
    char src[256];
    harness_temp_dir(src, sizeof src, "upload-src");
    harness_temp_dir(upload_dir, sizeof upload_dir, "upload-ex");
    server s;
    start_example(&s, upload_dir);
    make_file(src, "one.bin", 1, 5);
    make_file(src, "ten.bin", (size_t)10 << 20, 6);
    char url[128], f1[600], f2[600];
    snprintf(url, sizeof url, "http://127.0.0.1:%u/form", s.port);
    snprintf(f1, sizeof f1, "files=@%s/one.bin", src);
    snprintf(f2, sizeof f2, "files=@%s/ten.bin", src);
    char *out;
    const char *argv[] = {"curl", "-sS", "-F", "title=two files", "-F", f1, "-F", f2, url, NULL};
    int rc = run_capture(argv, &out, 60000);
    harness_own(out);
    cr_assert_eq(rc, 0, "curl: %s", out);
    cr_assert(strncmp(out, "field title: two files\n", 23) == 0, "%s", out);
    static const struct {
        const char *name;
        size_t size;
    } files[] = {{"one.bin", 1}, {"ten.bin", (size_t)10 << 20}};
    for (size_t i = 0; i < 2; i++) {
        char hex[65], want[65], stored[64], a[600], b[600];
        file_line(out, "files", files[i].name, files[i].size, hex, stored);
        snprintf(a, sizeof a, "%s/%s", src, files[i].name);
        snprintf(b, sizeof b, "%s/%s", upload_dir, stored);
        sha256_of(a, want);
        cr_assert_str_eq(hex, want, "%s", files[i].name);
        expect_same_file(a, b);
    }
    server_stop(&s);
    harness_remove_tree(src);
}

/* 200 MiB through the example, whose resident memory must stay under 32
 * MiB: the upload is streamed, never held. It runs on one driver only
 * (ZZZ_BIG_UPLOAD_DRIVER: io_uring where it is built, whose file writes
 * are the asynchronous ones): writing, sending, storing and hashing 200
 * MiB takes seconds, and the code that streams is the same on every
 * driver, which the 10 MiB case covers. */
Test(upload, example_upload_of_200_mib_in_little_memory, .timeout = 300)
{
    const char *driver = getenv("TARDY_DRIVER"), *big = getenv("ZZZ_BIG_UPLOAD_DRIVER");
    if (!driver || !big || strcmp(driver, big) != 0)
        cr_skip_test("the 200 MiB upload runs on %s only", big ? big : "one driver");
    char src[256];
    harness_temp_dir(src, sizeof src, "upload-src");
    harness_temp_dir(upload_dir, sizeof upload_dir, "upload-ex");
    server s;
    start_example(&s, upload_dir);
    size_t mib = (size_t)1 << 20, size = 200 * mib;
    char path[600];
    snprintf(path, sizeof path, "%s/big.bin", src);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    cr_assert_geq(fd, 0);
    for (size_t i = 0; i < 200; i++) {
        char *chunk = harness_random_bytes(mib, 1000 + i);
        cr_assert_eq(write(fd, chunk, mib), (ssize_t)mib);
        free(chunk);
    }
    close(fd);
    char url[128], f[700];
    snprintf(url, sizeof url, "http://127.0.0.1:%u/form", s.port);
    snprintf(f, sizeof f, "files=@%s", path);
    char *out;
    const char *argv[] = {"curl", "-sS", "-F", f, url, NULL};
    int rc = run_capture(argv, &out, 240000);
    harness_own(out);
    cr_assert_eq(rc, 0, "curl: %s", out);
    long long peak = process_peak_rss(s.pid);
    cr_assert(peak > 0 && peak < 32ll << 20, "the server peaked at %lld bytes", peak);
    char hex[65], want[65], stored[64], copy[600];
    file_line(out, "files", "big.bin", size, hex, stored);
    sha256_of(path, want);
    cr_assert_str_eq(hex, want);
    snprintf(copy, sizeof copy, "%s/%s", upload_dir, stored);
    expect_same_file(path, copy);
    server_stop(&s);
    harness_remove_tree(src);
}
