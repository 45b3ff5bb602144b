/* Integration tests of TLS: the test server (and the tls example) serving
 * HTTPS on 127.0.0.1 with the certificates of tls/make-certs.sh, driven by
 * curl, openssl s_client and raw sockets carrying hand-made records.
 * Handshakes, versions, suites, ALPN, SNI, resumption, hostile input,
 * timeouts and start-up errors. Meson runs this once per I/O driver
 * (TARDY_DRIVER, inherited by the servers). */
#include "harness.h"

TestSuite(tls, .fini = harness_cleanup, .timeout = 120);

/* The bounds of the hostile-input tests: a connection the server must
 * refuse is closed well before the default handshake timeout (10 s). */
#define REFUSE_MS 3000

/* ---- files and processes --------------------------------------------------- */

/* DIR/name in ZZZ_TLS_DIR (made by make-certs.sh), from a ring of buffers. */
static const char *tls_file(const char *name)
{
    static char paths[32][512];
    static unsigned next;
    const char *dir = getenv("ZZZ_TLS_DIR");
    cr_assert(dir && *dir, "ZZZ_TLS_DIR is not set (run the tests through meson test)");
    char *p = paths[next++ % 32];
    snprintf(p, sizeof paths[0], "%s/%s", dir, name);
    return p;
}

/* A file make-certs.sh must have made. */
static const char *cert_file(const char *name)
{
    const char *p = tls_file(name);
    cr_assert(access(p, R_OK) == 0, "%s: %s", p, strerror(errno));
    return p;
}

/* The test server with one certificate pair (the default) and extra flags. */
static void start_tls(server *s, const char *chain, const char *key, const char *const *extra)
{
    const char *args[40] = {"--threads",      "1",         "--tls-cert",
                            cert_file(chain), "--tls-key", cert_file(key)};
    size_t n = 6;
    for (size_t i = 0; extra && extra[i] && n < 39; i++)
        args[n++] = extra[i];
    args[n] = NULL;
    server_start(s, binary_path("ZZZ_TESTSERVER"), args);
}

/* openssl s_client against the server, trusting ca.pem, with opts; with
 * input, it sends it and waits for the server to close (-ign_eof),
 * without, it closes after the handshake. Output and errors in *out. */
static int s_client_host(uint16_t port, const char *const *opts, const char *input, char **out)
{
    char addr[64];
    snprintf(addr, sizeof addr, "127.0.0.1:%u", port);
    const char *argv[40] = {"openssl", "s_client", "-connect",
                            addr,      "-CAfile",  cert_file("ca.pem")};
    size_t n = 6;
    if (input) {
        argv[n++] = "-ign_eof";
        argv[n++] = "-nocommands";
    }
    for (size_t i = 0; opts && opts[i] && n < 39; i++)
        argv[n++] = opts[i];
    argv[n] = NULL;
    return run_input(argv, input, out, 15000);
}

#define S_CLIENT(port, input, out, ...)                                                            \
    s_client_host((port), (const char *const[]){__VA_ARGS__, NULL}, (input), (out))

/* Did s_client complete a handshake (a new or a resumed session)? */
static bool handshake_done(const char *out)
{
    return (strstr(out, "New, TLSv1.2, Cipher is ") ||
            strstr(out, "Reused, TLSv1.2, Cipher is ")) &&
           !strstr(out, "Cipher is (NONE)");
}

/* The value after `key` on its line in out ("" when absent), in a static buffer. */
static const char *field(const char *out, const char *key)
{
    static char value[256];
    value[0] = '\0';
    const char *p = strstr(out, key);
    if (!p)
        return value;
    p += strlen(key);
    size_t n = strcspn(p, "\r\n");
    if (n >= sizeof value)
        n = sizeof value - 1;
    memcpy(value, p, n);
    value[n] = '\0';
    return value;
}

static bool one_of(const char *s, const char *const *set)
{
    for (; *set; set++)
        if (strcmp(s, *set) == 0)
            return true;
    return false;
}

static const char *const ec_suites[] = {"ECDHE-ECDSA-AES128-GCM-SHA256",
                                        "ECDHE-ECDSA-AES256-GCM-SHA384",
                                        "ECDHE-ECDSA-CHACHA20-POLY1305", NULL};
static const char *const rsa_suites[] = {"ECDHE-RSA-AES128-GCM-SHA256",
                                         "ECDHE-RSA-AES256-GCM-SHA384",
                                         "ECDHE-RSA-CHACHA20-POLY1305", NULL};

/* The IANA number of a suite, as GET /tls prints it. */
static const char *suite_hex(const char *name)
{
    static const char *const map[][2] = {
        {"ECDHE-ECDSA-AES128-GCM-SHA256", "c02b"}, {"ECDHE-ECDSA-AES256-GCM-SHA384", "c02c"},
        {"ECDHE-ECDSA-CHACHA20-POLY1305", "cca9"}, {"ECDHE-RSA-AES128-GCM-SHA256", "c02f"},
        {"ECDHE-RSA-AES256-GCM-SHA384", "c030"},   {"ECDHE-RSA-CHACHA20-POLY1305", "cca8"}};
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (strcmp(name, map[i][0]) == 0)
            return map[i][1];
    cr_assert_fail("unknown suite \"%s\"", name);
    return "";
}

/* A verified TLS 1.2 handshake with one of the allowed suites. */
static void expect_handshake(int rc, const char *out, bool rsa)
{
    cr_assert_eq(rc, 0, "s_client failed (%d):\n%s", rc, out);
    cr_assert(handshake_done(out), "no handshake:\n%s", out);
    cr_assert_str_eq(field(out, "Protocol  : "), "TLSv1.2", "%s", out);
    const char *cipher = field(out, "Cipher    : ");
    cr_assert(one_of(cipher, rsa ? rsa_suites : ec_suites), "unexpected suite %s:\n%s", cipher,
              out);
    cr_assert(strstr(out, "Verify return code: 0 (ok)"), "verification failed:\n%s", out);
}

/* A handshake the server refused: s_client fails and no session exists. */
static void expect_refused(int rc, const char *out, const char *what)
{
    cr_assert(rc != -1, "%s: s_client hung:\n%s", what, out);
    cr_assert(rc != 0, "%s: s_client succeeded:\n%s", what, out);
    cr_assert(!handshake_done(out), "%s: a handshake completed:\n%s", what, out);
}

static const char *curl_url(char *buf, size_t size, const char *host, uint16_t port,
                            const char *path)
{
    snprintf(buf, size, "https://%s:%u%s", host, port, path);
    return buf;
}

/* curl -sv trusting ca.pem, with opts (URLs included). */
static int curl_run(const char *const *opts, char **out)
{
    const char *argv[40] = {"curl", "-sSv", "--max-time", "20", "--cacert", cert_file("ca.pem")};
    size_t n = 6;
    for (size_t i = 0; opts[i] && n < 39; i++)
        argv[n++] = opts[i];
    argv[n] = NULL;
    return run_capture(argv, out, 30000);
}

#define CURL(out, ...) curl_run((const char *const[]){__VA_ARGS__, NULL}, (out))

/* The server still answers a fresh, verified HTTPS request. */
static void expect_serving(uint16_t port)
{
    char url[80];
    char *out;
    int rc = CURL(&out, curl_url(url, sizeof url, "127.0.0.1", port, "/"));
    cr_assert_eq(rc, 0, "curl failed after the test (%d):\n%s", rc, out);
    cr_assert(strstr(out, "Hello, World!"), "%s", out);
    free(out);
}

/* ---- a long-lived TLS client: s_client on pipes ------------------------------ */

typedef struct tls_peer {
    pid_t pid;
    int in_fd, out_fd;
    char *buf;
    size_t len, cap;
    bool eof;
} tls_peer;

/* Connects s_client -quiet (data only on stdout, stdin sent as it comes). */
static void peer_open(tls_peer *c, uint16_t port)
{
    memset(c, 0, sizeof *c);
    char addr[64];
    snprintf(addr, sizeof addr, "127.0.0.1:%u", port);
    const char *argv[] = {"openssl",
                          "s_client",
                          "-connect",
                          addr,
                          "-CAfile",
                          cert_file("ca.pem"),
                          "-verify_return_error",
                          "-alpn",
                          "http/1.1",
                          "-quiet",
                          "-nocommands",
                          NULL};
    int in[2], out[2];
    cr_assert_eq(pipe2(in, O_CLOEXEC), 0);
    cr_assert_eq(pipe2(out, O_CLOEXEC), 0);
    pid_t pid = fork();
    cr_assert_neq(pid, -1);
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        dup2(in[0], STDIN_FILENO);
        dup2(out[1], STDOUT_FILENO);
        int null = open("/dev/null", O_WRONLY);
        dup2(null, STDERR_FILENO);
        execvp(argv[0], (char *const *)argv);
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    c->pid = pid;
    c->in_fd = in[1];
    c->out_fd = out[0];
    harness_track(pid, true);
}

static void peer_send(tls_peer *c, const char *text)
{
    size_t len = strlen(text);
    cr_assert_eq(write(c->in_fd, text, len), (ssize_t)len, "write to s_client: %s",
                 strerror(errno));
}

/* Reads one whole response from s_client's stdout (bounded). */
static void peer_response(tls_peer *c, response *r)
{
    uint64_t give_up = now_ms() + HANG_GUARD_MS;
    for (;;) {
        long n = parse_response(c->buf ? c->buf : "", c->len, false, c->eof, r);
        if (n > 0) {
            memmove(c->buf, c->buf + n, c->len - (size_t)n);
            c->len -= (size_t)n;
            return;
        }
        cr_assert(n == 0 && !c->eof, "no complete response over TLS (got %zu bytes: %.*s)", c->len,
                  (int)(c->len < 300 ? c->len : 300), c->buf ? c->buf : "");
        uint64_t t = now_ms();
        cr_assert(t < give_up, "no response over TLS within %d ms (got %zu bytes)", HANG_GUARD_MS,
                  c->len);
        if (c->cap - c->len < 65536) {
            c->cap = c->cap ? c->cap * 2 : 131072;
            c->buf = realloc(c->buf, c->cap);
        }
        struct pollfd p = {.fd = c->out_fd, .events = POLLIN};
        if (poll(&p, 1, (int)(give_up - t)) <= 0)
            continue;
        ssize_t got = read(c->out_fd, c->buf + c->len, c->cap - c->len);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            c->eof = true;
        else
            c->len += (size_t)got;
    }
}

static void peer_expect(tls_peer *c, int status, const char *body)
{
    response r;
    peer_response(c, &r);
    cr_assert_eq(r.status, status, "expected %d, got %d:\n%s", status, r.status, r.head);
    if (body)
        cr_assert(r.body_len == strlen(body) && memcmp(r.body, body, r.body_len) == 0,
                  "expected body \"%s\", got \"%.*s\"", body, (int)r.body_len, r.body);
    response_free(&r);
}

static void peer_close(tls_peer *c)
{
    close(c->in_fd);
    close(c->out_fd);
    kill(c->pid, SIGKILL);
    waitpid(c->pid, NULL, 0);
    harness_track(c->pid, false);
    free(c->buf);
    memset(c, 0, sizeof *c);
}

/* ---- raw TLS records --------------------------------------------------------- */

/* A TLS 1.2 ClientHello in one record, as a minimal client sends it: the
 * ECDHE suites with AES-GCM and ChaCha20 for both key types, x25519 and
 * P-256, ECDSA and RSA signatures, ALPN http/1.1. Returns its length. */
static size_t client_hello(uint8_t out[512])
{
    uint8_t *b = out + 9; /* after the record and handshake headers */
    size_t n = 0;
#define PUT(...)                                                                                   \
    do {                                                                                           \
        const uint8_t bytes_[] = {__VA_ARGS__};                                                    \
        memcpy(b + n, bytes_, sizeof bytes_);                                                      \
        n += sizeof bytes_;                                                                        \
    } while (0)
    PUT(0x03, 0x03); /* client_version */
    for (int i = 0; i < 32; i++)
        b[n++] = (uint8_t)(i * 37 + 11); /* random */
    PUT(0x00);                           /* no session id */
    PUT(0x00, 0x0c, 0xc0, 0x2b, 0xc0, 0x2c, 0xcc, 0xa9, 0xc0, 0x2f, 0xc0, 0x30, 0xcc, 0xa8);
    PUT(0x01, 0x00); /* null compression */
    size_t ext_at = n;
    n += 2;
    PUT(0x00, 0x0a, 0x00, 0x06, 0x00, 0x04, 0x00, 0x1d, 0x00, 0x17); /* groups */
    PUT(0x00, 0x0b, 0x00, 0x02, 0x01, 0x00);                         /* point formats */
    PUT(0x00, 0x0d, 0x00, 0x0a, 0x00, 0x08, 0x04, 0x03, 0x05, 0x03, 0x04, 0x01, 0x05,
        0x01); /* signature algorithms */
    PUT(0x00, 0x10, 0x00, 0x0b, 0x00, 0x09, 0x08, 'h', 't', 't', 'p', '/', '1', '.', '1');
    PUT(0xff, 0x01, 0x00, 0x01, 0x00); /* renegotiation_info */
#undef PUT
    size_t ext_len = n - ext_at - 2;
    b[ext_at] = (uint8_t)(ext_len >> 8);
    b[ext_at + 1] = (uint8_t)ext_len;
    size_t rec_len = n + 4;
    const uint8_t head[9] = {0x16,
                             0x03,
                             0x01,
                             (uint8_t)(rec_len >> 8),
                             (uint8_t)rec_len,
                             0x01,
                             0x00,
                             (uint8_t)(n >> 8),
                             (uint8_t)n};
    memcpy(out, head, sizeof head);
    return 9 + n;
}

/* Are the bytes nothing but whole TLS alert records (what a server may send
 * before it closes on bad input)? */
static bool only_alerts(const uint8_t *p, size_t len)
{
    while (len > 0) {
        if (len < 5 || p[0] != 0x15 || p[1] != 0x03)
            return false;
        size_t rec = 5 + (((size_t)p[3] << 8) | p[4]);
        if (rec > len || rec > 5 + 64)
            return false;
        p += rec;
        len -= rec;
    }
    return true;
}

/* The server closes c within ms, having sent at most alert records. */
static void expect_closed_by_server(client *c, unsigned ms, const char *what)
{
    bool closed = client_wait_closed(c, ms, NULL);
    cr_assert(closed, "%s: the connection is still open after %u ms (%zu bytes received)", what, ms,
              c->len);
    cr_assert(c->error == 0 || c->error == ECONNRESET, "%s: recv failed: %s", what,
              strerror(c->error));
    cr_assert(only_alerts((const uint8_t *)c->buf, c->len),
              "%s: %zu bytes that are not TLS alerts before the close: %.*s", what, c->len,
              (int)(c->len < 100 ? c->len : 100), c->buf ? c->buf : "");
}

/* Reads the start of the server's first flight: a handshake record of TLS
 * 1.2 whose first message is a ServerHello. */
static void expect_server_hello(client *c)
{
    uint64_t give_up = now_ms() + HANG_GUARD_MS;
    while (c->len < 6 && !c->eof && now_ms() < give_up)
        client_recv_some(c, 500);
    cr_assert(c->len >= 6, "no answer to a complete ClientHello (%zu bytes, eof %d)", c->len,
              c->eof);
    const uint8_t *p = (const uint8_t *)c->buf;
    cr_assert(p[0] == 0x16 && p[1] == 0x03 && p[2] == 0x03 && p[5] == 0x02,
              "not a TLS 1.2 ServerHello: %02x %02x %02x .. %02x", p[0], p[1], p[2], p[5]);
}

/* ======================================================================
 * Certificates and keys, through curl and s_client
 * ==================================================================== */

/* curl verifies the chain (only the root is trusted: the server must send
 * the intermediate) by address and by name, reuses one connection for
 * three requests; s_client sees TLS 1.2, an allowed suite, ALPN http/1.1,
 * two certificates and a key of the expected size. */
static void check_cert_pair(const char *chain, const char *key, bool rsa, const char *key_bits)
{
    server s;
    start_tls(&s, chain, key, NULL);
    char url[80], resolve[80];
    curl_url(url, sizeof url, "127.0.0.1", s.port, "/");
    char *out;
    int rc = CURL(&out, url, url, url);
    cr_assert_eq(rc, 0, "curl failed (%d):\n%s", rc, out);
    cr_assert_eq(count_substr(out, "Hello, World!"), 3, "%s", out);
    cr_assert(strstr(out, "Re-using existing connection"), "curl opened new connections:\n%s", out);
    cr_assert(!strstr(out, "Connection #1"), "a second connection:\n%s", out);
    cr_assert(strstr(out, "SSL connection using TLSv1.2 / "), "%s", out);
    cr_assert(strstr(out, rsa ? "/ ECDHE-RSA-" : "/ ECDHE-ECDSA-"), "unexpected suite:\n%s", out);
    cr_assert(strstr(out, "SSL certificate verify ok"), "%s", out);
    cr_assert(strstr(out, "server accepted http/1.1") ||
                  strstr(out, "server accepted to use http/1.1"),
              "ALPN did not choose http/1.1:\n%s", out);
    free(out);

    snprintf(resolve, sizeof resolve, "localhost:%u:127.0.0.1", s.port);
    rc = CURL(&out, "--resolve", resolve, curl_url(url, sizeof url, "localhost", s.port, "/"));
    cr_assert_eq(rc, 0, "curl https://localhost failed (%d):\n%s", rc, out);
    cr_assert(strstr(out, "Hello, World!"), "%s", out);
    free(out);

    rc = S_CLIENT(s.port, NULL, &out, "-alpn", "http/1.1", "-showcerts");
    expect_handshake(rc, out, rsa);
    cr_assert_str_eq(field(out, "ALPN protocol: "), "http/1.1", "%s", out);
    cr_assert(strstr(out, " 0 s:CN = localhost"), "no leaf:\n%s", out);
    cr_assert(strstr(out, " 1 s:CN = zzz test intermediate"), "no intermediate:\n%s", out);
    cr_assert(!strstr(out, " 2 s:"), "more than the chain:\n%s", out);
    cr_assert_str_eq(field(out, "Server public key is "), key_bits, "%s", out);
    /* OpenSSL offers X25519 first: the key exchange that Nettle does
     * when built with it. */
    cr_assert(strstr(field(out, "Server Temp Key: "), "X25519"), "%s", out);
    free(out);
    server_stop(&s);
}

Test(tls, ec_sec1_key)
{
    check_cert_pair("ec-chain.pem", "ec-key.pem", false, "256 bit");
}

Test(tls, ec_pkcs8_key)
{
    check_cert_pair("ec-chain.pem", "ec-key-pkcs8.pem", false, "256 bit");
}

Test(tls, rsa_pkcs1_key)
{
    check_cert_pair("rsa-chain.pem", "rsa-key.pem", true, "2048 bit");
}

Test(tls, rsa_pkcs8_key)
{
    check_cert_pair("rsa-chain.pem", "rsa-key-pkcs8.pem", true, "2048 bit");
}

Test(tls, p384_key)
{
    check_cert_pair("p384-chain.pem", "p384-key.pem", false, "384 bit");
}

Test(tls, p521_key)
{
    check_cert_pair("p521-chain.pem", "p521-key.pem", false, "521 bit");
}

/* ======================================================================
 * Bodies: large requests and responses, with default and small records
 * ==================================================================== */

static char *temp_path(void)
{
    char *path = strdup("/tmp/zzz-tls-test-XXXXXX");
    int fd = mkstemp(path);
    cr_assert(fd >= 0);
    close(fd);
    return path;
}

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    cr_assert(f, "%s: %s", path, strerror(errno));
    size_t cap = 1 << 20, n = 0;
    char *buf = malloc(cap);
    size_t got;
    while ((got = fread(buf + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap)
            buf = realloc(buf, cap *= 2);
    }
    fclose(f);
    *len = n;
    return buf;
}

static void check_bodies(uint16_t port)
{
    /* POST /echo, 200 KB of every byte value */
    size_t len = 200 * 1024;
    char *data = malloc(len);
    uint32_t x = 12345;
    for (size_t i = 0; i < len; i++) {
        x = x * 1103515245u + 12345u;
        data[i] = (char)(x >> 16);
    }
    char *in = temp_path(), *outpath = temp_path();
    FILE *f = fopen(in, "wb");
    cr_assert(f && fwrite(data, 1, len, f) == len);
    fclose(f);
    char url[80], arg[128];
    snprintf(arg, sizeof arg, "@%s", in);
    char *out;
    int rc =
        CURL(&out, "-H", "Expect:", "-H", "Content-Type: application/octet-stream", "--data-binary",
             arg, "-o", outpath, curl_url(url, sizeof url, "127.0.0.1", port, "/echo"));
    cr_assert_eq(rc, 0, "curl POST failed (%d):\n%s", rc, out);
    cr_assert(strstr(out, "< HTTP/1.1 200 OK"), "%s", out);
    free(out);
    size_t got_len;
    char *got = read_file(outpath, &got_len);
    cr_assert_eq(got_len, len, "echoed %zu bytes of %zu", got_len, len);
    cr_assert_eq(memcmp(got, data, len), 0, "the echo differs");
    free(got);

    /* GET /big: 100,000 bytes of 'a' + i % 26 */
    rc = CURL(&out, "-o", outpath, curl_url(url, sizeof url, "127.0.0.1", port, "/big"));
    cr_assert_eq(rc, 0, "curl GET /big failed (%d):\n%s", rc, out);
    free(out);
    got = read_file(outpath, &got_len);
    cr_assert_eq(got_len, 100000, "GET /big: %zu bytes", got_len);
    for (size_t i = 0; i < got_len; i++)
        cr_assert_eq(got[i], (char)('a' + i % 26), "GET /big differs at byte %zu", i);
    free(got);
    unlink(in);
    unlink(outpath);
    free(in);
    free(outpath);
    free(data);
}

Test(tls, large_bodies)
{
    server s;
    start_tls(&s, "ec-chain.pem", "ec-key.pem", NULL);
    check_bodies(s.port);
    server_stop(&s);
    start_tls(&s, "rsa-chain.pem", "rsa-key.pem", NULL);
    check_bodies(s.port);
    server_stop(&s);
}

/* The largest application-data record s_client -msg saw from the server,
 * and how many there were. */
static size_t max_app_record(const char *out, size_t *count)
{
    size_t max = 0;
    *count = 0;
    for (const char *p = strstr(out, "<<< "); p; p = strstr(p + 4, "<<< ")) {
        const char *eol = strchr(p, '\n');
        if (!eol || !memmem(p, (size_t)(eol - p), "RecordHeader", 12))
            continue;
        unsigned b[5];
        if (sscanf(eol + 1, " %x %x %x %x %x", &b[0], &b[1], &b[2], &b[3], &b[4]) == 5 &&
            b[0] == 0x17) {
            size_t len = (size_t)b[3] << 8 | b[4];
            if (len > max)
                max = len;
            (*count)++;
        }
    }
    return max;
}

/* --record-size 512: the response comes in records of at most 512 bytes of
 * plaintext (plus the AEAD's nonce and tag) and still arrives whole. */
Test(tls, small_records)
{
    server s;
    start_tls(&s, "ec-chain.pem", "ec-key.pem",
              (const char *const[]){"--record-size", "512", NULL});
    check_bodies(s.port);
    char *out;
    int rc = S_CLIENT(s.port, "GET /big HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", &out,
                      "-msg", "-alpn", "http/1.1");
    cr_assert_eq(rc, 0, "s_client failed (%d):\n%.2000s", rc, out);
    size_t count;
    size_t max = max_app_record(out, &count);
    cr_assert(count >= 100000 / 512, "only %zu application records for 100,000 bytes", count);
    cr_assert(max <= 512 + 24, "a record of %zu bytes with --record-size 512", max);
    free(out);
    server_stop(&s);

    /* The default allows far larger records: the bound above means something. */
    start_tls(&s, "ec-chain.pem", "ec-key.pem", NULL);
    rc = S_CLIENT(s.port, "GET /big HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", &out, "-msg",
                  "-alpn", "http/1.1");
    cr_assert_eq(rc, 0, "s_client failed (%d):\n%.2000s", rc, out);
    max = max_app_record(out, &count);
    cr_assert(max > 512 + 24 && max <= 16384 + 24, "largest record %zu bytes by default", max);
    free(out);
    server_stop(&s);
}

/* ======================================================================
 * Suites, versions and ALPN as the connection reports them (GET /tls)
 * ==================================================================== */

static void check_suite(uint16_t port, const char *cipher, const char *hex)
{
    char *out;
    int rc = S_CLIENT(port, "GET /tls HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", &out,
                      "-tls1_2", "-cipher", cipher, "-alpn", "http/1.1");
    cr_assert_eq(rc, 0, "s_client -cipher %s failed (%d):\n%s", cipher, rc, out);
    cr_assert(handshake_done(out), "%s", out);
    cr_assert_str_eq(field(out, "Cipher    : "), cipher, "%s", out);
    char want[32];
    snprintf(want, sizeof want, "suite %s\n", hex);
    cr_assert(strstr(out, "version 0303\n"), "%s", out);
    cr_assert(strstr(out, want), "GET /tls does not say %s:\n%s", want, out);
    cr_assert(strstr(out, "alpn http/1.1\n"), "%s", out);
    free(out);
}

Test(tls, suites_reported)
{
    server s;
    start_tls(&s, "ec-chain.pem", "ec-key.pem", NULL);
    check_suite(s.port, "ECDHE-ECDSA-AES128-GCM-SHA256", "c02b");
    check_suite(s.port, "ECDHE-ECDSA-AES256-GCM-SHA384", "c02c");
    check_suite(s.port, "ECDHE-ECDSA-CHACHA20-POLY1305", "cca9");
    server_stop(&s);
    start_tls(&s, "rsa-chain.pem", "rsa-key.pem", NULL);
    check_suite(s.port, "ECDHE-RSA-AES128-GCM-SHA256", "c02f");
    check_suite(s.port, "ECDHE-RSA-AES256-GCM-SHA384", "c030");
    check_suite(s.port, "ECDHE-RSA-CHACHA20-POLY1305", "cca8");
    server_stop(&s);
}

/* A plain curl request: TLS 1.2, one of the EC suites, ALPN http/1.1, no
 * SNI for an address. */
Test(tls, curl_tls_info)
{
    server s;
    start_tls(&s, "ec-chain.pem", "ec-key.pem", NULL);
    char url[80];
    char *out;
    int rc = CURL(&out, curl_url(url, sizeof url, "127.0.0.1", s.port, "/tls"));
    cr_assert_eq(rc, 0, "curl failed (%d):\n%s", rc, out);
    cr_assert(strstr(out, "version 0303\n"), "%s", out);
    cr_assert(strstr(out, "suite c02b\n") || strstr(out, "suite c02c\n") ||
                  strstr(out, "suite cca9\n"),
              "%s", out);
    cr_assert(strstr(out, "alpn http/1.1\n"), "%s", out);
    cr_assert(strstr(out, "sni \n"), "curl sends no SNI for an address:\n%s", out);
    free(out);
    server_stop(&s);
}

Test(tls, alpn)
{
    server s;
    start_tls(&s, "ec-chain.pem", "ec-key.pem", NULL);
    char *out;

    /* http/1.1 chosen among several */
    int rc = S_CLIENT(s.port, NULL, &out, "-alpn", "h2,http/1.1");
    expect_handshake(rc, out, false);
    cr_assert_str_eq(field(out, "ALPN protocol: "), "http/1.1", "%s", out);
    free(out);

    /* only h2: refused with no_application_protocol (RFC 7301) */
    rc = S_CLIENT(s.port, NULL, &out, "-alpn", "h2");
    expect_refused(rc, out, "-alpn h2");
    cr_assert(strstr(out, "no application protocol") || strstr(out, "alert number 120"),
              "not refused with no_application_protocol:\n%s", out);
    free(out);
    rc = S_CLIENT(s.port, NULL, &out, "-alpn", "spdy/3,h2");
    expect_refused(rc, out, "-alpn spdy/3,h2");
    free(out);
    expect_serving(s.port);

    /* no ALPN at all: a handshake without it */
    rc = S_CLIENT(s.port, "GET /tls HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", &out,
                  "-tls1_2");
    expect_handshake(rc, out, false);
    cr_assert(strstr(out, "No ALPN negotiated"), "%s", out);
    cr_assert(strstr(out, "alpn -\n"), "GET /tls without ALPN:\n%s", out);
    free(out);
    server_stop(&s);
}

/* The line server (lineserver.c) over TLS, with an ALPN list of its own
 * ("a,b"; NULL: none), and extra flags. */
static void start_line_tls(server *s, const char *alpn)
{
    const char *args[8] = {"--tls-cert", cert_file("ec-chain.pem"), "--tls-key",
                           cert_file("ec-key.pem")};
    size_t n = 4;
    if (alpn) {
        args[n++] = "--alpn";
        args[n++] = alpn;
    }
    args[n] = NULL;
    server_start(s, binary_path("ZZZ_LINESERVER"), args);
}

/* A protocol other than HTTP names its own ALPN list and reads what was
 * agreed (its ALPN command answers zzz_tls_info.alpn). */
Test(tls, alpn_of_another_protocol)
{
    server s;
    start_line_tls(&s, "zzz-line,zzz-line2");
    char *out;

    /* Among several offered, the server's order wins. */
    int rc = S_CLIENT(s.port, "ALPN\nQUIT\n", &out, "-alpn", "zzz-line2,zzz-line");
    expect_handshake(rc, out, false);
    cr_assert_str_eq(field(out, "ALPN protocol: "), "zzz-line", "%s", out);
    cr_assert(strstr(out, "ALPN zzz-line\nBYE\n"), "%s", out);
    free(out);
    rc = S_CLIENT(s.port, "ALPN\nQUIT\n", &out, "-alpn", "h2,zzz-line2");
    expect_handshake(rc, out, false);
    cr_assert(strstr(out, "ALPN zzz-line2\nBYE\n"), "%s", out);
    free(out);

    /* None of its protocols (HTTP's, say): no_application_protocol. */
    rc = S_CLIENT(s.port, NULL, &out, "-alpn", "http/1.1");
    expect_refused(rc, out, "-alpn http/1.1");
    cr_assert(strstr(out, "no application protocol") || strstr(out, "alert number 120"),
              "not refused with no_application_protocol:\n%s", out);
    free(out);

    /* No ALPN at all: served without. */
    rc = S_CLIENT(s.port, "ALPN\nQUIT\n", &out, "-tls1_2");
    expect_handshake(rc, out, false);
    cr_assert(strstr(out, "ALPN -\nBYE\n"), "%s", out);
    free(out);
    server_stop(&s);

    /* A server with no list ignores an offer: no ALPN, and served. */
    start_line_tls(&s, NULL);
    rc = S_CLIENT(s.port, "ALPN\nQUIT\n", &out, "-alpn", "h2");
    expect_handshake(rc, out, false);
    cr_assert(strstr(out, "No ALPN negotiated"), "%s", out);
    cr_assert(strstr(out, "ALPN -\nBYE\n"), "%s", out);
    free(out);
    server_stop(&s);
}

/* An ALPN name of 256 bytes is refused at start-up, with the reason. */
Test(tls, alpn_bad_name)
{
    char name[300];
    memset(name, 'a', 256);
    name[256] = '\0';
    char *out;
    int rc = run_capture((const char *const[]){binary_path("ZZZ_LINESERVER"), "--port", "0",
                                               "--tls-cert", cert_file("ec-chain.pem"),
                                               "--tls-key", cert_file("ec-key.pem"), "--alpn",
                                               name, NULL},
                         &out, 10000);
    cr_assert_eq(rc, 1, "%s", out);
    cr_assert(strstr(out, "tls: alpn: protocol name 1 is longer than 255 bytes"), "%s", out);
    free(out);
}

/* ======================================================================
 * Resumption
 * ==================================================================== */

static void start_sni(server *s);

static void new_session(uint16_t port, const char *file)
{
    char *out;
    int rc = S_CLIENT(port, NULL, &out, "-alpn", "http/1.1", "-sess_out", file);
    expect_handshake(rc, out, false);
    cr_assert(strstr(out, "New, TLSv1.2"), "%s", out);
    free(out);
}

/* Resumes the session in file (or tries) with opts: true when the server
 * resumed it. Either way, the connection serves GET /tls. */
static bool resume_with(uint16_t port, const char *file, const char *sni)
{
    char *out;
    const char *req = "GET /tls HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    int rc =
        sni ? S_CLIENT(port, req, &out, "-alpn", "http/1.1", "-sess_in", file, "-servername", sni)
            : S_CLIENT(port, req, &out, "-alpn", "http/1.1", "-sess_in", file);
    expect_handshake(rc, out, false);
    cr_assert(strstr(out, "version 0303\n") && strstr(out, "alpn http/1.1\n"),
              "GET /tls on the session:\n%s", out);
    char want[64];
    snprintf(want, sizeof want, "suite %s\n", suite_hex(field(out, "Cipher    : ")));
    cr_assert(strstr(out, want), "GET /tls does not say %s:\n%s", want, out);
    snprintf(want, sizeof want, "sni %s\n", sni ? sni : "");
    cr_assert(strstr(out, want), "GET /tls does not say \"%s\":\n%s", want, out);
    bool reused = strstr(out, "Reused, TLSv1.2") != NULL;
    cr_assert(reused || strstr(out, "New, TLSv1.2"), "%s", out);
    free(out);
    return reused;
}

static bool resume(uint16_t port, const char *file)
{
    return resume_with(port, file, NULL);
}

Test(tls, session_resumption)
{
    server s;
    start_tls(&s, "ec-chain.pem", "ec-key.pem", NULL);
    char *a = temp_path();
    new_session(s.port, a);
    cr_assert(resume(s.port, a), "the session was not resumed");
    cr_assert(resume(s.port, a), "the session was not resumed twice");
    server_stop(&s);

    /* A session made with SNI, resumed with it: the name is still known. */
    start_sni(&s);
    char *b = temp_path();
    char *out;
    int rc = S_CLIENT(s.port, NULL, &out, "-alpn", "http/1.1", "-servername", "alpha.test",
                      "-sess_out", b);
    expect_handshake(rc, out, false);
    cr_assert(strstr(out, "subject=CN = alpha.test\n"), "%s", out);
    free(out);
    cr_assert(resume_with(s.port, b, "alpha.test"), "a session with SNI was not resumed");
    server_stop(&s);
    unlink(b);
    free(b);

    /* A fresh server knows nothing of it: a full handshake instead. */
    start_tls(&s, "ec-chain.pem", "ec-key.pem", NULL);
    cr_assert(!resume(s.port, a), "a new server resumed an unknown session");
    server_stop(&s);
    unlink(a);
    free(a);
}

/* --session-cache 1: the second session pushes the first out. */
Test(tls, session_cache_lru)
{
    server s;
    start_tls(&s, "ec-chain.pem", "ec-key.pem",
              (const char *const[]){"--session-cache", "1", NULL});
    char *a = temp_path(), *b = temp_path();
    new_session(s.port, a);
    cr_assert(resume(s.port, a), "the only session was not resumed");
    new_session(s.port, b);
    /* b first: a failed resumption makes a new session, which would evict b */
    cr_assert(resume(s.port, b), "the newest session was not resumed");
    cr_assert(!resume(s.port, a), "the oldest session survived in a cache of 1");
    server_stop(&s);
    unlink(a);
    unlink(b);
    free(a);
    free(b);
}

/* ======================================================================
 * SNI
 * ==================================================================== */

static void start_sni(server *s)
{
    start_tls(s, "ec-chain.pem", "ec-key.pem",
              (const char *const[]){"--tls-cert", cert_file("alpha-chain.pem"), "--tls-key",
                                    cert_file("alpha-key.pem"), "--tls-names", "alpha.test",
                                    "--tls-cert", cert_file("beta-chain.pem"), "--tls-key",
                                    cert_file("beta-key.pem"), "--tls-names",
                                    "beta.test,*.beta.test", NULL});
}

/* The subject s_client saw for a name (NULL: no SNI at all). */
static void expect_subject(uint16_t port, const char *name, const char *cn, bool rsa)
{
    char *out;
    int rc = name ? S_CLIENT(port, NULL, &out, "-alpn", "http/1.1", "-servername", name)
                  : S_CLIENT(port, NULL, &out, "-alpn", "http/1.1", "-noservername");
    expect_handshake(rc, out, rsa);
    char want[64];
    snprintf(want, sizeof want, "subject=CN = %s\n", cn);
    cr_assert(strstr(out, want), "SNI %s: expected %s:\n%s", name ? name : "(none)", cn, out);
    free(out);
}

Test(tls, sni)
{
    server s;
    start_sni(&s);
    expect_subject(s.port, "alpha.test", "alpha.test", false);
    expect_subject(s.port, "ALPHA.Test", "alpha.test", false);
    expect_subject(s.port, "beta.test", "beta.test", true);
    expect_subject(s.port, "www.beta.test", "beta.test", true);
    expect_subject(s.port, "a.b.beta.test", "localhost", false); /* one label only */
    expect_subject(s.port, "xbeta.test", "localhost", false);
    expect_subject(s.port, "unknown.test", "localhost", false);
    expect_subject(s.port, "localhost", "localhost", false);
    expect_subject(s.port, NULL, "localhost", false);

    /* curl by name: verified against the name, which /tls reports */
    char url[80], resolve[80];
    const char *names[] = {"alpha.test", "www.beta.test"};
    for (size_t i = 0; i < 2; i++) {
        snprintf(resolve, sizeof resolve, "%s:%u:127.0.0.1", names[i], s.port);
        char *out;
        int rc =
            CURL(&out, "--resolve", resolve, curl_url(url, sizeof url, names[i], s.port, "/tls"));
        cr_assert_eq(rc, 0, "curl %s failed (%d):\n%s", url, rc, out);
        char want[64];
        snprintf(want, sizeof want, "sni %s\n", names[i]);
        cr_assert(strstr(out, want), "GET /tls does not say %s:\n%s", want, out);
        free(out);
    }
    server_stop(&s);
}

/* ======================================================================
 * Clients the server refuses
 * ==================================================================== */

Test(tls, refused_versions_and_suites)
{
    server s;
    start_tls(&s, "ec-chain.pem", "ec-key.pem", NULL);
    char *out;
    int rc = S_CLIENT(s.port, NULL, &out, "-tls1_3");
    expect_refused(rc, out, "-tls1_3");
    free(out);
    rc = S_CLIENT(s.port, NULL, &out, "-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0");
    expect_refused(rc, out, "-tls1_1");
    free(out);
    rc = S_CLIENT(s.port, NULL, &out, "-tls1", "-cipher", "DEFAULT@SECLEVEL=0");
    expect_refused(rc, out, "-tls1");
    free(out);
    rc = S_CLIENT(s.port, NULL, &out, "-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-SHA256");
    expect_refused(rc, out, "CBC ECDHE-ECDSA-AES128-SHA256");
    free(out);
    rc = S_CLIENT(s.port, NULL, &out, "-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-SHA");
    expect_refused(rc, out, "CBC ECDHE-ECDSA-AES128-SHA");
    free(out);
    rc = S_CLIENT(s.port, NULL, &out, "-tls1_2", "-cipher", "AES128-SHA");
    expect_refused(rc, out, "AES128-SHA");
    free(out);
    /* a suite the key cannot sign for */
    rc = S_CLIENT(s.port, NULL, &out, "-tls1_2", "-cipher", "ECDHE-RSA-AES128-GCM-SHA256");
    expect_refused(rc, out, "ECDHE-RSA against an EC key");
    free(out);
    expect_serving(s.port);
    server_stop(&s);

    start_tls(&s, "rsa-chain.pem", "rsa-key.pem", NULL);
    rc = S_CLIENT(s.port, NULL, &out, "-tls1_2", "-cipher", "AES128-GCM-SHA256");
    expect_refused(rc, out, "static RSA AES128-GCM-SHA256");
    free(out);
    rc = S_CLIENT(s.port, NULL, &out, "-tls1_2", "-cipher", "AES256-GCM-SHA384");
    expect_refused(rc, out, "static RSA AES256-GCM-SHA384");
    free(out);
    rc = S_CLIENT(s.port, NULL, &out, "-tls1_2", "-cipher", "ECDHE-RSA-AES128-SHA");
    expect_refused(rc, out, "CBC ECDHE-RSA-AES128-SHA");
    free(out);
    rc = S_CLIENT(s.port, NULL, &out, "-tls1_3");
    expect_refused(rc, out, "-tls1_3 (RSA)");
    free(out);
    expect_serving(s.port);
    server_stop(&s);
}

/* ======================================================================
 * Hostile input on raw sockets
 * ==================================================================== */

/* The control for the tests below: the hand-made ClientHello, whole, gets
 * a ServerHello; then a client that vanishes mid-handshake costs nothing. */
Test(tls, raw_client_hello_answered)
{
    server s;
    start_tls(&s, "ec-chain.pem", "ec-key.pem", NULL);
    uint8_t hello[512];
    size_t len = client_hello(hello);
    client c;
    client_open(&c, s.port);
    cr_assert_eq(client_send(&c, hello, len), 0);
    expect_server_hello(&c);
    client_close(&c);
    server_stop(&s);
    start_tls(&s, "rsa-chain.pem", "rsa-key.pem", NULL);
    client_open(&c, s.port);
    cr_assert_eq(client_send(&c, hello, len), 0);
    expect_server_hello(&c);
    client_close(&c);
    expect_serving(s.port);
    server_stop(&s);
}

/* The first n bytes of a ClientHello, then the end of the stream: closed. */
Test(tls, truncated_client_hello)
{
    server s;
    start_tls(&s, "ec-chain.pem", "ec-key.pem", NULL);
    uint8_t hello[512];
    size_t len = client_hello(hello);
    size_t cuts[] = {1, 3, 5, 9, 20, 50, len / 2, len - 1};
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        client c;
        client_open(&c, s.port);
        cr_assert_eq(client_send(&c, hello, cuts[i]), 0);
        sleep_ms(20);
        shutdown(c.fd, SHUT_WR);
        char what[64];
        snprintf(what, sizeof what, "%zu of %zu ClientHello bytes", cuts[i], len);
        expect_closed_by_server(&c, REFUSE_MS, what);
        client_close(&c);
    }
    /* and with a close, not a half-close */
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        client c;
        client_open(&c, s.port);
        cr_assert_eq(client_send(&c, hello, cuts[i]), 0);
        client_close(&c);
    }
    expect_serving(s.port);
    server_stop(&s);
}

/* Bytes that are no TLS at all are refused on sight, without waiting for
 * the client to go away. */
static void expect_refused_bytes(uint16_t port, const void *data, size_t len, const char *what)
{
    client c;
    client_open(&c, port);
    int err = client_send(&c, data, len);
    cr_assert(err == 0 || err == -ECONNRESET || err == -EPIPE, "%s: send: %s", what,
              strerror(-err));
    expect_closed_by_server(&c, REFUSE_MS, what);
    cr_assert(!memmem(c.buf ? c.buf : "", c.len, "HTTP/", 5), "%s: a plaintext answer", what);
    client_close(&c);
}

Test(tls, garbage_and_plaintext)
{
    server s;
    start_tls(&s, "ec-chain.pem", "ec-key.pem", NULL);
    uint8_t junk[1000];
    uint32_t x = 99;
    for (size_t i = 0; i < sizeof junk; i++) {
        x = x * 1103515245u + 12345u;
        junk[i] = (uint8_t)(x >> 16);
    }
    junk[0] = 0xff; /* no record type (0x80 would read as an SSL 2 hello) */
    expect_refused_bytes(s.port, junk, sizeof junk, "random bytes");

    /* a well-formed handshake record whose content is noise */
    uint8_t rec[5 + 200];
    memcpy(rec, (const uint8_t[]){0x16, 0x03, 0x01, 0x00, 200}, 5);
    memcpy(rec + 5, junk + 5, 200);
    rec[5] = 0x01; /* "ClientHello" */
    expect_refused_bytes(s.port, rec, sizeof rec, "a noise ClientHello");

    /* application data before any handshake */
    memcpy(rec, (const uint8_t[]){0x17, 0x03, 0x03, 0x00, 200}, 5);
    expect_refused_bytes(s.port, rec, sizeof rec, "application data first");

    /* a record longer than TLS allows */
    memcpy(rec, (const uint8_t[]){0x16, 0x03, 0x01, 0xff, 0xff}, 5);
    expect_refused_bytes(s.port, rec, sizeof rec, "a 65535-byte record");

    const char *plain = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    expect_refused_bytes(s.port, plain, strlen(plain), "plaintext HTTP");
    expect_serving(s.port);
    server_stop(&s);
}

/* Hostile connections open at once do not hold up a good client. */
Test(tls, bad_clients_concurrent)
{
    server s;
    start_tls(&s, "ec-chain.pem", "ec-key.pem", NULL);
    uint8_t hello[512];
    size_t len = client_hello(hello);
    enum { N = 12 };
    client bad[N];
    for (int i = 0; i < N; i++) {
        client_open(&bad[i], s.port);
        switch (i % 3) {
        case 0: /* stalled mid-hello */
            cr_assert_eq(client_send(&bad[i], hello, 40), 0);
            break;
        case 1: /* stalled after a whole hello */
            cr_assert_eq(client_send(&bad[i], hello, len), 0);
            break;
        default: /* connected, silent */
            break;
        }
    }
    /* plaintext while they wait */
    client p;
    client_open(&p, s.port);
    client_send_str(&p, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    expect_serving(s.port);
    expect_closed_by_server(&p, REFUSE_MS, "plaintext HTTP beside stalled handshakes");
    client_close(&p);
    for (int i = 0; i < N; i++)
        client_close(&bad[i]);
    expect_serving(s.port);
    server_stop(&s);
}

/* --handshake-timeout-ms 300: a handshake that stalls is closed after it,
 * whether the client stopped mid-hello or after it; a keep-alive
 * connection that finished its handshake before is not disturbed, even
 * when idle for longer than that. */
Test(tls, handshake_timeout)
{
    server s;
    start_tls(&s, "ec-chain.pem", "ec-key.pem",
              (const char *const[]){"--handshake-timeout-ms", "300", NULL});
    tls_peer kept;
    peer_open(&kept, s.port);
    peer_send(&kept, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    peer_expect(&kept, 200, "Hello, World!");

    uint8_t hello[512];
    size_t len = client_hello(hello);
    size_t sent[] = {40, len};
    for (size_t i = 0; i < 2; i++) {
        client c;
        client_open(&c, s.port);
        uint64_t t0 = now_ms();
        cr_assert_eq(client_send(&c, hello, sent[i]), 0);
        /* served meanwhile */
        peer_send(&kept, "GET /users/7 HTTP/1.1\r\nHost: x\r\n\r\n");
        peer_expect(&kept, 200, "user 7\n");
        bool closed = client_wait_closed(&c, 5000, NULL);
        uint64_t took = now_ms() - t0;
        cr_assert(closed, "a handshake stalled after %zu bytes is open after 5 s", sent[i]);
        cr_assert(took >= 200 && took <= 3000,
                  "a handshake stalled after %zu bytes closed after %llu ms (timeout 300)", sent[i],
                  (unsigned long long)took);
        if (i == 1) {
            /* the server's flight, then at most alerts */
            const uint8_t *b = (const uint8_t *)c.buf;
            cr_assert(c.len >= 6 && b[0] == 0x16 && b[5] == 0x02, "no ServerHello");
        } else {
            cr_assert(only_alerts((const uint8_t *)c.buf, c.len), "%zu bytes before the close",
                      c.len);
        }
        client_close(&c);
    }
    sleep_ms(400);
    peer_send(&kept, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    peer_expect(&kept, 200, "Hello, World!");
    peer_close(&kept);
    expect_serving(s.port);
    server_stop(&s);
}

/* ======================================================================
 * One connection, many requests, records split and joined
 * ==================================================================== */

Test(tls, keepalive_records)
{
    server s;
    start_tls(&s, "ec-chain.pem", "ec-key.pem", NULL);
    tls_peer c;
    peer_open(&c, s.port);
    peer_send(&c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    peer_expect(&c, 200, "Hello, World!");

    /* a request in two records, the connection idle between them */
    peer_send(&c, "GET /users/12 HTTP/1.1\r\n");
    sleep_ms(200);
    peer_send(&c, "Host: x\r\n\r\n");
    peer_expect(&c, 200, "user 12\n");

    /* three pipelined requests in one record */
    peer_send(&c, "GET /users/1 HTTP/1.1\r\nHost: x\r\n\r\n"
                  "GET /users/2 HTTP/1.1\r\nHost: x\r\n\r\n"
                  "GET /users/3 HTTP/1.1\r\nHost: x\r\n\r\n");
    peer_expect(&c, 200, "user 1\n");
    peer_expect(&c, 200, "user 2\n");
    peer_expect(&c, 200, "user 3\n");

    /* idle a while, then more */
    sleep_ms(500);
    peer_send(&c, "GET /big HTTP/1.1\r\nHost: x\r\n\r\n");
    response r;
    peer_response(&c, &r);
    cr_assert_eq(r.status, 200);
    cr_assert_eq(r.body_len, 100000);
    for (size_t i = 0; i < r.body_len; i++)
        cr_assert_eq(r.body[i], (char)('a' + i % 26), "GET /big differs at byte %zu", i);
    response_free(&r);
    peer_send(&c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    peer_expect(&c, 200, "Hello, World!");
    peer_close(&c);
    server_stop(&s);
}

/* The handshake timeout runs from the first byte: a connection silent for
 * longer than it, then a ClientHello, is answered. */
Test(tls, handshake_timeout_from_first_byte)
{
    server s;
    start_tls(&s, "ec-chain.pem", "ec-key.pem",
              (const char *const[]){"--handshake-timeout-ms", "300", NULL});
    uint8_t hello[512];
    size_t len = client_hello(hello);
    client c;
    client_open(&c, s.port);
    sleep_ms(700);
    cr_assert_eq(client_send(&c, hello, len), 0);
    expect_server_hello(&c);
    client_close(&c);
    server_stop(&s);
}

/* A ClientHello trickled a byte every 50 ms does not stretch the handshake
 * timeout: closed about 300 ms after its first byte. */
Test(tls, handshake_timeout_trickle)
{
    server s;
    start_tls(&s, "ec-chain.pem", "ec-key.pem",
              (const char *const[]){"--handshake-timeout-ms", "300", NULL});
    uint8_t hello[512];
    size_t len = client_hello(hello);
    client c;
    client_open(&c, s.port);
    uint64_t t0 = now_ms();
    size_t sent = 0;
    while (sent < len && !c.eof) {
        if (client_send(&c, hello + sent, 1) != 0)
            break;
        sent++;
        client_recv_some(&c, 50);
    }
    if (!c.eof)
        client_wait_closed(&c, 3000, NULL);
    uint64_t took = now_ms() - t0;
    cr_assert(c.eof, "a trickled ClientHello (%zu of %zu bytes) is still open", sent, len);
    cr_assert(took >= 200 && took <= 1500,
              "a trickled handshake closed after %llu ms (timeout 300), %zu of %zu bytes sent",
              (unsigned long long)took, sent, len);
    cr_assert(sent < len, "the whole trickled ClientHello was taken");
    client_close(&c);
    expect_serving(s.port);
    server_stop(&s);
}

/* ---- a relay that splits the client's records ------------------------------ */

typedef struct relay {
    pid_t pid;
    uint16_t port;
} relay;

static int relay_connect(uint16_t port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(port)};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0)
        _exit(3);
    return fd;
}

static bool relay_write(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return false;
        p += w;
        n -= (size_t)w;
    }
    return true;
}

/* A child process that accepts one connection and relays it to the server:
 * the client's bytes `chunk` at a time, each sent alone gap_ms after the
 * last (so records arrive split across many reads); the server's as they
 * come. */
static void relay_start(relay *r, uint16_t server_port, size_t chunk, unsigned gap_ms)
{
    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    cr_assert(lfd >= 0);
    struct sockaddr_in addr = {.sin_family = AF_INET};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t alen = sizeof addr;
    cr_assert_eq(bind(lfd, (struct sockaddr *)&addr, sizeof addr), 0);
    cr_assert_eq(listen(lfd, 4), 0);
    cr_assert_eq(getsockname(lfd, (struct sockaddr *)&addr, &alen), 0);
    r->port = ntohs(addr.sin_port);
    pid_t parent = getpid();
    pid_t pid = fork();
    cr_assert_neq(pid, -1);
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(127);
        int cfd = accept(lfd, NULL, NULL);
        if (cfd < 0)
            _exit(2);
        int one = 1;
        setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        int sfd = relay_connect(server_port);
        bool up_open = true, down_open = true;
        char buf[16384];
        while (up_open || down_open) {
            struct pollfd p[2] = {{.fd = up_open ? cfd : -1, .events = POLLIN},
                                  {.fd = down_open ? sfd : -1, .events = POLLIN}};
            if (poll(p, 2, -1) < 0) {
                if (errno == EINTR)
                    continue;
                _exit(4);
            }
            if (p[0].revents) {
                ssize_t n = recv(cfd, buf, sizeof buf, 0);
                if (n <= 0) {
                    up_open = false;
                    shutdown(sfd, SHUT_WR);
                }
                for (ssize_t off = 0; n > 0 && off < n; off += (ssize_t)chunk) {
                    size_t k = (size_t)(n - off) < chunk ? (size_t)(n - off) : chunk;
                    if (!relay_write(sfd, buf + off, k))
                        _exit(0);
                    sleep_ms(gap_ms);
                }
            }
            if (p[1].revents) {
                ssize_t n = recv(sfd, buf, sizeof buf, 0);
                if (n <= 0) {
                    down_open = false;
                    shutdown(cfd, SHUT_WR);
                } else if (!relay_write(cfd, buf, (size_t)n)) {
                    _exit(0);
                }
            }
        }
        _exit(0);
    }
    close(lfd);
    r->pid = pid;
    harness_track(pid, true);
}

static void relay_stop(relay *r)
{
    kill(r->pid, SIGKILL);
    waitpid(r->pid, NULL, 0);
    harness_track(r->pid, false);
}

/* Every record the client sends reaches the server a byte (or a few) at a
 * time, the connection idle between them: the handshake and the requests
 * still go through whole. */
Test(tls, records_split_across_reads)
{
    server s;
    start_tls(&s, "ec-chain.pem", "ec-key.pem", NULL);
    relay r;
    relay_start(&r, s.port, 1, 1);
    char *out;
    int rc = S_CLIENT(r.port,
                      "GET /tls HTTP/1.1\r\nHost: x\r\n\r\nGET /users/9 HTTP/1.1\r\nHost: "
                      "x\r\nConnection: close\r\n\r\n",
                      &out, "-alpn", "http/1.1");
    expect_handshake(rc, out, false);
    cr_assert(strstr(out, "version 0303\n") && strstr(out, "alpn http/1.1\n"), "%s", out);
    cr_assert(strstr(out, "user 9\n"), "no second response:\n%s", out);
    free(out);
    relay_stop(&r);

    /* a body of 3000 bytes, 7 bytes per read */
    char request[4096];
    int n = snprintf(
        request, sizeof request,
        "POST /echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 3000\r\n\r\n");
    for (int i = 0; i < 3000; i++)
        request[n + i] = (char)('A' + i % 23);
    request[n + 3000] = '\0';
    relay_start(&r, s.port, 7, 1);
    rc = S_CLIENT(r.port, request, &out, "-alpn", "http/1.1");
    expect_handshake(rc, out, false);
    cr_assert(strstr(out, "Content-Length: 3000\r\n"), "%s", out);
    cr_assert(strstr(out, request + n), "the echo differs:\n%s", out);
    free(out);
    relay_stop(&r);
    expect_serving(s.port);
    server_stop(&s);
}

/* Many clients at once on several threads: curl in parallel. */
Test(tls, parallel_clients_threads)
{
    server s;
    start_tls(&s, "ec-chain.pem", "ec-key.pem", (const char *const[]){"--threads", "4", NULL});
    cr_assert_eq(s.threads, 4);
    enum { URLS = 60 };
    char urls[URLS][80];
    const char *argv[URLS + 16] = {"curl",
                                   "-sS",
                                   "--max-time",
                                   "30",
                                   "--cacert",
                                   cert_file("ca.pem"),
                                   "-Z",
                                   "--parallel-max",
                                   "30",
                                   "-w",
                                   "[%{http_code}]\n"};
    size_t n = 11;
    for (int i = 0; i < URLS; i++)
        argv[n++] = curl_url(urls[i], sizeof urls[i], "127.0.0.1", s.port,
                             i % 3 == 0   ? "/big"
                             : i % 3 == 1 ? "/tls"
                                          : "/");
    argv[n] = NULL;
    char *out;
    int rc = run_capture(argv, &out, 60000);
    cr_assert_eq(rc, 0, "curl failed (%d):\n%.3000s", rc, out);
    cr_assert_eq(count_substr(out, "[200]"), URLS, "%.3000s", out);
    cr_assert_eq(count_substr(out, "Hello, World!"), URLS / 3, "%.3000s", out);
    cr_assert_eq(count_substr(out, "version 0303\n"), URLS / 3, "%.3000s", out);
    free(out);
    server_stop(&s);
}

/* Connections that fail their handshake in every way give their slot back:
 * with --conn-limit 8, after dozens of them, eight clients still fit (and
 * a ninth does not). */
Test(tls, failed_handshakes_free_their_slots)
{
    enum { LIMIT = 8 };
    server s;
    start_tls(&s, "ec-chain.pem", "ec-key.pem",
              (const char *const[]){"--conn-limit", "8", "--handshake-timeout-ms", "200", NULL});
    uint8_t hello[512];
    size_t len = client_hello(hello);
    for (int i = 0; i < 40; i++) {
        client c;
        client_open(&c, s.port);
        switch (i % 5) {
        case 0: /* part of a hello, then gone */
            client_send(&c, hello, 30);
            break;
        case 1: /* a whole hello, then gone */
            client_send(&c, hello, len);
            sleep_ms(5);
            break;
        case 2: /* garbage */
            client_send(&c, "\xff\xfe garbage", 10);
            client_wait_closed(&c, REFUSE_MS, NULL);
            break;
        case 3: /* half a hello, then a half-close */
            client_send(&c, hello, len / 2);
            shutdown(c.fd, SHUT_WR);
            client_wait_closed(&c, REFUSE_MS, NULL);
            break;
        default: /* gone without a byte */
            break;
        }
        client_close(&c);
    }
    /* and a batch that times out */
    client stalled[LIMIT];
    for (int i = 0; i < LIMIT; i++) {
        client_open(&stalled[i], s.port);
        client_send(&stalled[i], hello, 20);
    }
    for (int i = 0; i < LIMIT; i++) {
        cr_assert(client_wait_closed(&stalled[i], REFUSE_MS, NULL), "stalled handshake %d open", i);
        client_close(&stalled[i]);
    }

    /* Eight clients fit once the server has seen every close (bounded retry). */
    uint64_t give_up = now_ms() + 3000;
    for (;;) {
        char url[80];
        char *out;
        int rc = CURL(&out, curl_url(url, sizeof url, "127.0.0.1", s.port, "/"));
        bool ok = rc == 0 && strstr(out, "Hello, World!");
        free(out);
        if (ok)
            break;
        cr_assert(now_ms() < give_up, "no client fits after the failed handshakes");
        sleep_ms(50);
    }
    tls_peer peers[LIMIT];
    for (int i = 0; i < LIMIT; i++) {
        peer_open(&peers[i], s.port);
        peer_send(&peers[i], "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
        peer_expect(&peers[i], 200, "Hello, World!");
    }
    char *out;
    int rc = S_CLIENT(s.port, NULL, &out, "-alpn", "http/1.1");
    expect_refused(rc, out, "a ninth client over --conn-limit 8");
    free(out);
    for (int i = 0; i < LIMIT; i++) {
        peer_send(&peers[i], "GET /users/5 HTTP/1.1\r\nHost: x\r\n\r\n");
        peer_expect(&peers[i], 200, "user 5\n");
        peer_close(&peers[i]);
    }
    server_stop(&s);
}

/* ECDHE over each curve a client may insist on (with the RSA certificate:
 * an OpenSSL client wants the EC certificate's own curve among its groups). */
/* Every group with an RSA and an EC certificate: X25519 goes through
 * Nettle when built with it, the NIST curves through BearSSL. */
Test(tls, key_exchange_groups)
{
    const char *pairs[][2] = {{"rsa-chain.pem", "rsa-key.pem"}, {"ec-chain.pem", "ec-key.pem"}};
    for (size_t p = 0; p < 2; p++) {
        server s;
        start_tls(&s, pairs[p][0], pairs[p][1], NULL);
        const char *groups[][2] = {{"X25519", "X25519"},
                                   {"P-256", "prime256v1"},
                                   {"P-384", "secp384r1"},
                                   {"P-521", "secp521r1"}};
        /* In TLS 1.2 the client's groups also name the curves it takes
         * certificates on: the EC pair needs P-256 listed, and then the
         * server may pick P-256 over the other NIST curves. */
        size_t count = p == 0 ? sizeof groups / sizeof groups[0] : 2;
        for (size_t i = 0; i < count; i++) {
            char list[64];
            snprintf(list, sizeof list, "%s%s", groups[i][0], p == 1 && i == 0 ? ":P-256" : "");
            char *out;
            int rc = S_CLIENT(s.port, NULL, &out, "-alpn", "http/1.1", "-groups", list);
            expect_handshake(rc, out, p == 0);
            cr_assert(strstr(field(out, "Server Temp Key: "), groups[i][1]), "-groups %s:\n%s",
                      groups[i][0], out);
            free(out);
        }
        server_stop(&s);
    }
}

/* A client that asks to renegotiate does not hurt the server. */
Test(tls, renegotiation_attempt)
{
    server s;
    start_tls(&s, "ec-chain.pem", "ec-key.pem", NULL);
    char *out;
    char addr[64];
    snprintf(addr, sizeof addr, "127.0.0.1:%u", s.port);
    /* without -ign_eof, s_client reads "R" as its renegotiate command */
    int rc =
        run_input((const char *const[]){"sh", "-c",
                                        "(sleep 0.3; printf 'R\\n'; sleep 0.5) | openssl s_client "
                                        "-connect \"$0\" -CAfile \"$1\"",
                                        addr, cert_file("ca.pem"), NULL},
                  NULL, &out, 15000);
    cr_assert(rc != -1, "s_client hung:\n%s", out);
    cr_assert(strstr(out, "RENEGOTIATING"), "no renegotiation tried:\n%s", out);
    free(out);
    expect_serving(s.port);
    server_stop(&s);
}

/* A client that stops reading while megabytes are sent to it, then reads
 * them; one that vanishes in the middle of a response. */
Test(tls, slow_and_vanishing_readers)
{
    server s;
    start_tls(&s, "ec-chain.pem", "ec-key.pem", NULL);
    char pipelined[20 * 40];
    pipelined[0] = '\0';
    for (int i = 0; i < 20; i++)
        strcat(pipelined, "GET /big HTTP/1.1\r\nHost: x\r\n\r\n");
    tls_peer c;
    peer_open(&c, s.port);
    peer_send(&c, pipelined);
    sleep_ms(700);
    for (int i = 0; i < 20; i++) {
        response r;
        peer_response(&c, &r);
        cr_assert_eq(r.status, 200);
        cr_assert_eq(r.body_len, 100000, "response %d: %zu bytes", i, r.body_len);
        for (size_t k = 0; k < r.body_len; k++)
            cr_assert_eq(r.body[k], (char)('a' + k % 26), "response %d differs at %zu", i, k);
        response_free(&r);
    }
    peer_send(&c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    peer_expect(&c, 200, "Hello, World!");

    /* killed while 2 MB are on their way */
    tls_peer v;
    for (int k = 0; k < 5; k++) {
        peer_open(&v, s.port);
        peer_send(&v, pipelined);
        sleep_ms(50 + 20 * k);
        peer_close(&v);
    }
    peer_send(&c, "GET /users/3 HTTP/1.1\r\nHost: x\r\n\r\n");
    peer_expect(&c, 200, "user 3\n");
    peer_close(&c);
    expect_serving(s.port);
    server_stop(&s);
}

/* True when s_client's stdout ends (the server closed) within ms. */
static bool peer_wait_eof(tls_peer *c, unsigned ms)
{
    uint64_t give_up = now_ms() + ms;
    char buf[4096];
    while (!c->eof) {
        uint64_t t = now_ms();
        if (t >= give_up)
            return false;
        struct pollfd p = {.fd = c->out_fd, .events = POLLIN};
        if (poll(&p, 1, (int)(give_up - t)) <= 0)
            continue;
        ssize_t n = read(c->out_fd, buf, sizeof buf);
        if (n == 0 || (n < 0 && errno != EINTR))
            c->eof = true;
    }
    return true;
}

/* An established TLS connection left idle is closed after the idle
 * timeout, not the handshake timeout. */
Test(tls, idle_timeout)
{
    server s;
    start_tls(
        &s, "ec-chain.pem", "ec-key.pem",
        (const char *const[]){"--idle-timeout-ms", "800", "--handshake-timeout-ms", "200", NULL});
    tls_peer c;
    peer_open(&c, s.port);
    peer_send(&c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    peer_expect(&c, 200, "Hello, World!");
    uint64_t t0 = now_ms();
    cr_assert(peer_wait_eof(&c, 5000),
              "an idle TLS connection is open after 5 s (idle timeout 800)");
    uint64_t took = now_ms() - t0;
    cr_assert(took >= 600 && took <= 3000, "an idle TLS connection closed after %llu ms (800)",
              (unsigned long long)took);
    peer_close(&c);
    server_stop(&s);
}

/* SIGTERM: a request in flight over TLS completes, an idle TLS connection
 * is closed, the server exits 0. */
Test(tls, graceful_shutdown)
{
    server s;
    start_tls(&s, "ec-chain.pem", "ec-key.pem", NULL);
    tls_peer idle, busy;
    peer_open(&idle, s.port);
    peer_send(&idle, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    peer_expect(&idle, 200, "Hello, World!");
    peer_open(&busy, s.port);
    peer_send(&busy, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    peer_expect(&busy, 200, "Hello, World!");
    peer_send(&busy, "GET /slow HTTP/1.1\r\nHost: x\r\n\r\n");
    sleep_ms(100);
    uint64_t t0 = now_ms();
    server_stop(&s);
    cr_assert(now_ms() - t0 < 5000, "shutdown took %llu ms", (unsigned long long)(now_ms() - t0));
    peer_expect(&busy, 200, "slow done\n");
    cr_assert(peer_wait_eof(&idle, 3000), "the idle TLS connection outlived the server");
    peer_close(&idle);
    peer_close(&busy);
}

/* ======================================================================
 * Start-up errors
 * ==================================================================== */

/* The test server with these flags must refuse to start, quickly, with a
 * message that names `culprit` (NULL: anything) and the errno text. */
static void expect_startup_error(const char *const *flags, const char *culprit, const char *err)
{
    const char *argv[40] = {binary_path("ZZZ_TESTSERVER"), "--port", "0", "--threads", "1"};
    size_t n = 5;
    for (size_t i = 0; flags[i] && n < 39; i++)
        argv[n++] = flags[i];
    argv[n] = NULL;
    char *out;
    uint64_t t0 = now_ms();
    int rc = run_capture(argv, &out, 5000);
    uint64_t took = now_ms() - t0;
    cr_assert(rc != -1, "the server started (or hung) with a bad configuration (%s):\n%s",
              culprit ? culprit : err, out);
    cr_assert(rc != 0, "the server exited 0:\n%s", out);
    cr_assert(!strstr(out, "listening on"), "the server started:\n%s", out);
    cr_assert(took < 3000, "%llu ms to fail", (unsigned long long)took);
    cr_assert(strstr(out, "testserver: cannot start: "), "%s", out);
    if (err)
        cr_assert(strstr(out, err), "expected \"%s\" in:\n%s", err, out);
    if (culprit)
        cr_assert(strstr(out, culprit), "the message does not name %s:\n%s", culprit, out);
    free(out);
}

#define STARTUP_ERROR(culprit, err, ...)                                                           \
    expect_startup_error((const char *const[]){__VA_ARGS__, NULL}, (culprit), (err))

Test(tls, startup_errors)
{
    const char *missing = tls_file("missing-chain.pem");
    STARTUP_ERROR(missing, "No such file or directory", "--tls-cert", missing, "--tls-key",
                  cert_file("ec-key.pem"));
    const char *missing_key = tls_file("missing-key.pem");
    STARTUP_ERROR(missing_key, "No such file or directory", "--tls-cert", cert_file("ec-chain.pem"),
                  "--tls-key", missing_key);

    /* keys that do not match: another type, then the same type */
    STARTUP_ERROR(cert_file("rsa-key.pem"), "Invalid argument", "--tls-cert",
                  cert_file("ec-chain.pem"), "--tls-key", cert_file("rsa-key.pem"));
    STARTUP_ERROR(cert_file("alpha-key.pem"), "Invalid argument", "--tls-cert",
                  cert_file("ec-chain.pem"), "--tls-key", cert_file("alpha-key.pem"));
    STARTUP_ERROR(cert_file("ec-key.pem"), "Invalid argument", "--tls-cert",
                  cert_file("rsa-chain.pem"), "--tls-key", cert_file("ec-key.pem"));

    /* a PEM file with no certificate in it */
    STARTUP_ERROR(cert_file("rsa-key.pem"), "Invalid argument", "--tls-cert",
                  cert_file("rsa-key.pem"), "--tls-key", cert_file("ec-key.pem"));

    /* a key type zzz does not support */
    STARTUP_ERROR(cert_file("ed25519-key.pem"), "Operation not supported", "--tls-cert",
                  cert_file("ec-chain.pem"), "--tls-key", cert_file("ed25519-key.pem"));

    /* a bad pair that is not the default one */
    STARTUP_ERROR(cert_file("beta-key.pem"), "Invalid argument", "--tls-cert",
                  cert_file("ec-chain.pem"), "--tls-key", cert_file("ec-key.pem"), "--tls-cert",
                  cert_file("alpha-chain.pem"), "--tls-key", cert_file("beta-key.pem"),
                  "--tls-names", "alpha.test");

    /* a certificate without a key; record sizes outside 512..16384 */
    STARTUP_ERROR(NULL, "Invalid argument", "--tls-cert", cert_file("ec-chain.pem"));
    STARTUP_ERROR(NULL, "Invalid argument", "--tls-cert", cert_file("ec-chain.pem"), "--tls-key",
                  cert_file("ec-key.pem"), "--record-size", "100");
    STARTUP_ERROR(NULL, "Invalid argument", "--tls-cert", cert_file("ec-chain.pem"), "--tls-key",
                  cert_file("ec-key.pem"), "--record-size", "20000");
}

/* A CERTIFICATE block with nothing inside (found by the tls_pem fuzz
 * target: appending its zero bytes used a NULL buffer, undefined
 * behaviour that UBSan stops on) is refused like any certificate that
 * cannot be decoded, naming the file; and an empty key block likewise. */
Test(tls, empty_pem_blocks)
{
    char dir[256], chain[300], key[300];
    harness_temp_dir(dir, sizeof dir, "tls-empty");
    snprintf(chain, sizeof chain, "%s/empty-chain.pem", dir);
    snprintf(key, sizeof key, "%s/empty-key.pem", dir);
    FILE *f = fopen(chain, "w");
    cr_assert(f);
    fputs("-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n", f);
    fclose(f);
    f = fopen(key, "w");
    cr_assert(f);
    fputs("-----BEGIN PRIVATE KEY-----\n-----END PRIVATE KEY-----\n", f);
    fclose(f);
    STARTUP_ERROR(chain, "Invalid argument", "--tls-cert", chain, "--tls-key",
                  cert_file("ec-key.pem"));
    STARTUP_ERROR(key, "Invalid argument", "--tls-cert", cert_file("ec-chain.pem"), "--tls-key",
                  key);
    STARTUP_ERROR("certificate 1 (in memory)", "Invalid argument", "--tls-cert", chain,
                  "--tls-key", cert_file("ec-key.pem"), "--tls-in-memory", "1");
    harness_remove_tree(dir);
}

/* Certificates and keys handed over as PEM text in memory: served alike;
 * a bad in-memory pair is named by its place in the list. */
Test(tls, pem_in_memory)
{
    server s;
    start_tls(&s, "rsa-chain.pem", "rsa-key.pem",
              (const char *const[]){"--tls-cert", cert_file("alpha-chain.pem"), "--tls-key",
                                    cert_file("alpha-key.pem"), "--tls-names", "alpha.test",
                                    "--tls-in-memory", "1", NULL});
    char *out;
    int rc = S_CLIENT(s.port, NULL, &out, "-servername", "alpha.test");
    expect_handshake(rc, out, false);
    cr_assert(strstr(out, "CN = alpha.test") || strstr(out, "CN=alpha.test"), "%s", out);
    free(out);
    rc = S_CLIENT(s.port, "GET /tls HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", &out,
                  "-alpn", "http/1.1");
    expect_handshake(rc, out, true);
    cr_assert(strstr(out, "suite c02f\n"), "the RSA pair did not serve:\n%s", out);
    free(out);
    server_stop(&s);

    STARTUP_ERROR("key 1 (in memory)", "Invalid argument", "--tls-cert", cert_file("ec-chain.pem"),
                  "--tls-key", cert_file("rsa-key.pem"), "--tls-in-memory", "1");
    STARTUP_ERROR("certificate 1 (in memory)", "Invalid argument", "--tls-cert",
                  cert_file("ec-key.pem"), "--tls-key", cert_file("ec-key.pem"), "--tls-in-memory",
                  "1");
}

/* ======================================================================
 * The tls example
 * ==================================================================== */

Test(tls, example)
{
    server s;
    server_start(&s, example_path("ZZZ_TLS_EXAMPLE"),
                 (const char *const[]){"--cert", cert_file("ec-chain.pem"), "--key",
                                       cert_file("ec-key.pem"), NULL});
    char url[80], resolve[80];
    snprintf(resolve, sizeof resolve, "localhost:%u:127.0.0.1", s.port);
    curl_url(url, sizeof url, "localhost", s.port, "/");
    char *out;
    int rc = CURL(&out, "--resolve", resolve, url, url);
    cr_assert_eq(rc, 0, "curl failed (%d):\n%s", rc, out);
    cr_assert_eq(count_substr(out, "Hello, World!"), 2, "%s", out);
    cr_assert(strstr(out, "SSL connection using TLSv1.2 / ECDHE-ECDSA-"), "%s", out);
    cr_assert(strstr(out, "Re-using existing connection"), "%s", out);
    free(out);
    server_stop(&s);

    /* a missing certificate: a non-zero exit that names it */
    const char *missing = tls_file("missing-chain.pem");
    rc = run_capture((const char *const[]){example_path("ZZZ_TLS_EXAMPLE"), "--port", "0", "--cert",
                                           missing, "--key", cert_file("ec-key.pem"), NULL},
                     &out, 5000);
    cr_assert(rc > 0, "the example started without its certificate (%d):\n%s", rc, out);
    cr_assert(strstr(out, missing), "the error does not name %s:\n%s", missing, out);
    cr_assert(!strstr(out, "listening on"), "%s", out);
    free(out);
}
