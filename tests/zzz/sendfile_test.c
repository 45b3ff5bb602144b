/* Integration tests of zzz_conn_sendfile through the file server
 * (fileserver.c) as a child process on 127.0.0.1, driven by raw sockets:
 * exact bytes for whole files, ranges and empty ranges, text queued with
 * zzz_conn_out leaving before the file, keep-alive, several clients and
 * threads at once, slow, stalled and vanishing readers, the write timeout
 * and the drain at shutdown cutting a send, a file that shrinks before it
 * is sent, a file the kernel cannot send itself (the read-and-send path),
 * and bad arguments. The server logs each failed send with its error, and
 * the tests check that error. The files live in a directory of the test's
 * own under $TMPDIR, removed after each test. Meson runs this once per I/O
 * driver (TARDY_DRIVER, inherited), and once more per driver built with
 * ZZZ_TEST_TLS (the client speaks TLS). */
#include "harness.h"

#include <sys/sendfile.h>
#include <sys/stat.h>

/* ---- the served directory ------------------------------------------------------ */

/* The test's directory (each test runs in a process of its own). */
static char sf_dir[512];

static void sf_init(void)
{
    harness_temp_dir(sf_dir, sizeof sf_dir, "sendfile");
}

static void sf_fini(void)
{
    harness_cleanup(); /* the server first: it holds the files open */
    harness_remove_tree(sf_dir);
    sf_dir[0] = '\0';
    harness_free_owned();
}

TestSuite(sendfile, .init = sf_init, .fini = sf_fini, .timeout = 60);

/* sf_dir/name, from a ring of buffers. */
static const char *sf_path(const char *name)
{
    static char paths[4][600];
    static unsigned next;
    char *p = paths[next++ % 4];
    snprintf(p, sizeof paths[0], "%s/%s", sf_dir, name);
    return p;
}

static void write_file(const char *name, const char *data, size_t len)
{
    harness_write_path(sf_path(name), data, len, 0600);
}

/* A file of len random bytes; returns its content (freed by sf_fini). */
static char *make_file(const char *name, size_t len, uint64_t seed)
{
    char *data = harness_own(harness_random_bytes(len, seed));
    write_file(name, data, len);
    return data;
}

/* ---- the server ----------------------------------------------------------------- */

/* Starts the file server on sf_dir with extra arguments (NULL-ended or
 * NULL); over TLS with the "localhost" certificate. */
static void start_files(server *s, const char *const *extra)
{
    const char *args[24];
    size_t n = 0;
    args[n++] = "--dir";
    args[n++] = sf_dir;
#ifdef ZZZ_TEST_TLS
    args[n++] = "--tls-cert";
    args[n++] = harness_tls_file("ec-chain.pem");
    args[n++] = "--tls-key";
    args[n++] = harness_tls_file("ec-key.pem");
#endif
    for (size_t i = 0; extra && extra[i] && n < 23; i++)
        args[n++] = extra[i];
    args[n] = NULL;
    server_start(s, binary_path("ZZZ_FILESERVER"), args);
}

/* What the server printed after its listening line (its failed sends). */
static char sf_log[65536];
static size_t sf_log_len;
static bool sf_log_ended; /* its stdout closed: it has exited */

/* Fails the test when the server has died (a signal, SIGPIPE say, or an
 * exit), saying how. */
static void expect_alive(server *s)
{
    int status;
    pid_t r = waitpid(s->pid, &status, WNOHANG);
    if (r != s->pid)
        return;
    if (WIFSIGNALED(status))
        cr_assert_fail("the file server died of signal %d (%s); it printed:\n%s", WTERMSIG(status),
                       strsignal(WTERMSIG(status)), sf_log);
    cr_assert_fail("the file server exited with status %d; it printed:\n%s", WEXITSTATUS(status),
                   sf_log);
}

/* Reads what the server has printed: waits at most timeout_ms for it to
 * print something, then takes what is there. */
static void log_read(server *s, unsigned timeout_ms)
{
    uint64_t give_up = now_ms() + timeout_ms;
    while (sf_log_len < sizeof sf_log - 1 && harness_wait_fd(s->out_fd, POLLIN, give_up)) {
        ssize_t n = read(s->out_fd, sf_log + sf_log_len, sizeof sf_log - 1 - sf_log_len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            sf_log_ended = true;
            return;
        }
        sf_log_len += (size_t)n;
        sf_log[sf_log_len] = '\0';
        give_up = now_ms(); /* more only if it is there already */
    }
}

/* Waits (bounded) for the server to print a line that begins with
 * `prefix`; returns that line's rest (in sf_log, up to its LF). */
static const char *log_expect(server *s, const char *prefix)
{
    uint64_t give_up = now_ms() + HANG_GUARD_MS;
    for (;;) {
        for (const char *line = sf_log; line && *line;) {
            if (strncmp(line, prefix, strlen(prefix)) == 0)
                return line + strlen(prefix);
            line = strchr(line, '\n');
            line = line ? line + 1 : NULL;
        }
        uint64_t t = now_ms();
        if (sf_log_ended) {
            /* Reaped at once, but allow for the exit to be seen. */
            uint64_t until = t + 1000;
            do {
                expect_alive(s);
                sleep_ms(10);
            } while (now_ms() < until);
        }
        if (t >= give_up || sf_log_ended) {
            expect_alive(s);
            cr_assert_fail("the server did not print \"%s...\"; it printed:\n%s", prefix, sf_log);
        }
        log_read(s, (unsigned)(give_up - t));
    }
}

/* Expects the server to log that the send of `what` ("NAME OFFSET LEN")
 * failed with error `err` (a name as fileserver.c prints them), or with
 * `other` when not NULL. */
static void log_expect_failure(server *s, const char *what, const char *err, const char *other)
{
    char prefix[256];
    snprintf(prefix, sizeof prefix, "sendfile %s: ", what);
    const char *rest = log_expect(s, prefix);
    size_t len = strcspn(rest, "\n");
    bool match = (strlen(err) == len && strncmp(rest, err, len) == 0) ||
                 (other && strlen(other) == len && strncmp(rest, other, len) == 0);
    cr_assert(match, "the send of %s failed with %.*s, not %s%s%s", what, (int)len, rest, err,
              other ? " or " : "", other ? other : "");
}

/* SIGTERM, a clean exit expected; then no send may have failed but those
 * the test counted (`failures` lines "sendfile ..." since sf_log was last
 * emptied; -1: any number). */
static void stop_files(server *s, int failures)
{
    cr_assert_eq(kill(s->pid, SIGTERM), 0);
    /* Up to the end of its output. */
    uint64_t give_up = now_ms() + HANG_GUARD_MS;
    while (sf_log_len < sizeof sf_log - 1 && harness_wait_fd(s->out_fd, POLLIN, give_up)) {
        ssize_t n = read(s->out_fd, sf_log + sf_log_len, sizeof sf_log - 1 - sf_log_len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        sf_log_len += (size_t)n;
        sf_log[sf_log_len] = '\0';
    }
    int status = server_wait(s, HANG_GUARD_MS);
    cr_assert(status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0,
              "the file server did not exit cleanly (status %d%s%d); it printed:\n%s", status,
              status != -1 && WIFSIGNALED(status) ? ", signal " : ", ",
              status != -1 && WIFSIGNALED(status) ? WTERMSIG(status) : 0, sf_log);
    if (failures >= 0)
        cr_assert_eq(count_substr(sf_log, "sendfile "), (size_t)failures, "failed sends:\n%s",
                     sf_log);
}

/* Forgets what the server has printed so far. */
static void log_clear(void)
{
    sf_log_len = 0;
    sf_log[0] = '\0';
}

/* ---- reading answers ---------------------------------------------------------- */

/* Waits (bounded: the hang guard from the last byte) until the client
 * holds n bytes; false when the connection ended first. */
static bool have_bytes(client *c, size_t n)
{
    uint64_t last = now_ms();
    while (c->len < n) {
        if (c->eof)
            return false;
        cr_assert(now_ms() - last < HANG_GUARD_MS, "waited %d ms for byte %zu of %zu",
                  HANG_GUARD_MS, c->len, n);
        if (client_recv_some(c, 200) > 0)
            last = now_ms();
    }
    return true;
}

/* The next bytes are exactly text. */
static void expect_text(client *c, const char *text)
{
    size_t n = strlen(text);
    bool whole = have_bytes(c, n);
    cr_assert(whole && memcmp(c->buf, text, n) == 0, "expected \"%.*s\", got %s\"%.*s\"",
              (int)strcspn(text, "\n"), text, whole ? "" : "(then the close) ",
              (int)(c->len < n ? c->len : n), c->buf ? c->buf : "");
    client_consume(c, n);
}

/* The next n bytes are data's, exactly; what differs is named. */
static void expect_data(client *c, const char *data, size_t n, const char *what)
{
    bool whole = have_bytes(c, n);
    cr_assert(whole, "%s: the connection ended after %zu of %zu bytes", what, c->len, n);
    if (memcmp(c->buf, data, n) != 0) {
        size_t at = 0;
        while (c->buf[at] == data[at])
            at++;
        cr_assert_fail("%s: byte %zu of %zu differs (got 0x%02x, want 0x%02x)", what, at, n,
                       (unsigned char)c->buf[at], (unsigned char)data[at]);
    }
    client_consume(c, n);
}

/* "OK len\n", then exactly those bytes of data. */
static void expect_file(client *c, const char *data, size_t len, const char *what)
{
    char line[48];
    snprintf(line, sizeof line, "OK %zu\n", len);
    expect_text(c, line);
    expect_data(c, data, len, what);
}

/* GET name offset len on c, and its exact answer from data (the file). */
static void get_range(client *c, const char *name, const char *data, size_t offset, size_t len)
{
    char req[256];
    snprintf(req, sizeof req, "GET %s %zu %zu\n", name, offset, len);
    client_send_str(c, req);
    char what[256];
    snprintf(what, sizeof what, "%s [%zu, +%zu)", name, offset, len);
    expect_file(c, data + offset, len, what);
}

/* The connection is closed by the server, nothing more having come. */
static void expect_closed(client *c)
{
    size_t extra = 0;
    cr_assert(client_wait_closed(c, HANG_GUARD_MS, &extra), "the connection stayed open");
    cr_assert_eq(c->len, 0, "%zu bytes before the close: \"%.*s\"", c->len,
                 (int)(c->len < 80 ? c->len : 80), c->buf);
}

/* The answer to a request for len bytes whose send failed: either it was
 * taken back ("ERR <err>\n"), or it began ("OK len\n") and then fewer than
 * len bytes came, a prefix of want (want_len bytes at most: what the file
 * still had), before the close. Returns the file bytes received. */
static size_t expect_cut(client *c, size_t len, const char *want, size_t want_len, const char *err)
{
    cr_assert(client_wait_closed(c, HANG_GUARD_MS, NULL), "the connection stayed open");
    char ok[48], taken_back[64];
    snprintf(ok, sizeof ok, "OK %zu\n", len);
    snprintf(taken_back, sizeof taken_back, "ERR %s\n", err);
    if (c->len == strlen(taken_back) && memcmp(c->buf, taken_back, c->len) == 0) {
        cr_log_info("the answer was taken back: %s", err);
        client_consume(c, c->len);
        return 0;
    }
    size_t ok_len = strlen(ok);
    cr_assert(c->len >= ok_len && memcmp(c->buf, ok, ok_len) == 0,
              "expected \"%s\" or \"OK %zu\", got \"%.*s\"", taken_back, len,
              (int)(c->len < 80 ? c->len : 80), c->buf ? c->buf : "");
    client_consume(c, ok_len);
    size_t got = c->len;
    cr_assert(len == 0 || got < len, "all %zu bytes came though the send failed", len);
    cr_assert(got <= want_len, "%zu bytes came; the file had %zu", got, want_len);
    if (got && memcmp(c->buf, want, got) != 0)
        cr_assert_fail("the %zu bytes that came are not the file's first ones", got);
    client_consume(c, got);
    return got;
}

/* Closes at once with a reset (SO_LINGER 0), no close_notify: a client
 * that vanishes. */
static void client_abort(client *c)
{
    struct linger lg = {.l_onoff = 1, .l_linger = 0};
    setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
#ifdef ZZZ_TEST_TLS
    c->tls_failed = true;
#endif
    client_close(c);
}

/* A small file served on a fresh connection: the server still works
 * (and when it does not, whether it died says why). */
static void expect_served(server *s, const char *name, const char *data, size_t len)
{
    int fd = tcp_connect_fd(s->port);
    if (fd < 0) {
        sleep_ms(200);
        expect_alive(s);
        cr_assert_fail("connect: %s", strerror(-fd));
    }
    client c;
    client_attach(&c, fd);
    char req[128], ok[48];
    snprintf(req, sizeof req, "GET %s 0 %zu\n", name, len);
    int n = snprintf(ok, sizeof ok, "OK %zu\n", len);
    if (client_send(&c, req, strlen(req)) != 0 || !have_bytes(&c, (size_t)n + len)) {
        sleep_ms(200);
        expect_alive(s);
        cr_assert_fail("the next client was not served: %zu bytes, then the close", c.len);
    }
    expect_file(&c, data, len, name);
    client_close(&c);
}

enum { SMALL_SIZE = 1000, MEDIUM_SIZE = 1 << 20, BIG_SIZE = 8 << 20 };

/* ---- the tests ------------------------------------------------------------------- */

/* A small file whole (its length from fstat, then given), each answer's
 * line (queued) ahead of the bytes; names that leave the directory or do
 * not exist are refused without closing. */
Test(sendfile, small_file)
{
    char *small = make_file("small", SMALL_SIZE, 1);
    server s;
    start_files(&s, NULL);
    client c;
    client_open(&c, s.port);
    client_send_str(&c, "GET small 0 -\n");
    expect_file(&c, small, SMALL_SIZE, "small");
    get_range(&c, "small", small, 0, SMALL_SIZE);
    client_send_str(&c, "GET ../small 0 1\nGET .small 0 1\nGET nothing 0 1\n");
    expect_text(&c, "ERR EACCES\nERR EACCES\nERR ENOENT\n");
    client_send_str(&c, "GET small 0 -\r\nQUIT\n");
    expect_file(&c, small, SMALL_SIZE, "small after CRLF");
    expect_text(&c, "BYE\n");
    expect_closed(&c);
    client_close(&c);
    stop_files(&s, 0);
}

/* 8 MiB of random bytes, byte for byte, twice on one connection. */
Test(sendfile, large_file)
{
    char *big = make_file("big", BIG_SIZE, 2);
    server s;
    start_files(&s, NULL);
    client c;
    client_open(&c, s.port);
    uint64_t start = now_ms();
    client_send_str(&c, "GET big 0 -\n");
    expect_file(&c, big, BIG_SIZE, "big");
    cr_log_info("8 MiB in %llu ms", (unsigned long long)(now_ms() - start));
    get_range(&c, "big", big, 0, BIG_SIZE);
    client_close(&c);
    stop_files(&s, 0);
}

/* Ranges: in the middle, not page-aligned, one byte, the last bytes, a
 * range that spans the 1 MiB turns of the plain sender. */
Test(sendfile, ranges)
{
    char *big = make_file("big", BIG_SIZE, 3);
    server s;
    start_files(&s, NULL);
    client c;
    client_open(&c, s.port);
    get_range(&c, "big", big, 1234567, 3000000);
    get_range(&c, "big", big, 4097, 1);
    get_range(&c, "big", big, 4095, 2);
    get_range(&c, "big", big, BIG_SIZE - 1, 1);
    get_range(&c, "big", big, (1 << 20) - 3, (2 << 20) + 7);
    get_range(&c, "big", big, 65535, 65537);
    client_send_str(&c, "GET big 8388600 -\n");
    expect_file(&c, big + 8388600, BIG_SIZE - 8388600, "the rest from 8388600");
    client_close(&c);
    stop_files(&s, 0);
}

/* A connection with small segments: the client offers 1000-byte ones
 * (TCP_MAXSEG before connect) and a small receive buffer, so the plain
 * sender cuts its calls at whole segments of about 1000 bytes, counted
 * from the answer's head, and many calls end short on a full socket.
 * Whole files and ranges at odd offsets arrive exact. */
Test(sendfile, small_segments_and_short_calls)
{
    char *big = make_file("big", BIG_SIZE, 21);
    server s;
    start_files(&s, NULL);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    cr_assert(fd >= 0, "socket: %s", strerror(errno));
    int mss = 1000, rcvbuf = 16384;
    cr_assert_eq(setsockopt(fd, IPPROTO_TCP, TCP_MAXSEG, &mss, sizeof mss), 0);
    cr_assert_eq(setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf), 0);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(s.port)};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    cr_assert_eq(connect(fd, (struct sockaddr *)&addr, sizeof addr), 0, "connect: %s",
                 strerror(errno));
    client c;
    client_attach(&c, fd);
    get_range(&c, "big", big, 0, BIG_SIZE);
    get_range(&c, "big", big, 12345, 3000001);
    get_range(&c, "big", big, 999, 262145);
    get_range(&c, "big", big, BIG_SIZE - 524289, 524289);
    client_close(&c);
    stop_files(&s, 0);
}

/* A length of 0 sends nothing (at any offset, past the end too) and the
 * connection goes on. */
Test(sendfile, zero_length)
{
    char *small = make_file("small", SMALL_SIZE, 4);
    write_file("empty", "", 0);
    server s;
    start_files(&s, NULL);
    client c;
    client_open(&c, s.port);
    client_send_str(&c, "GET small 5 0\n");
    expect_text(&c, "OK 0\n");
    client_send_str(&c, "GET small 1000 0\nGET small 99999999 0\nGET empty 0 -\nGET empty 0 0\n");
    expect_text(&c, "OK 0\nOK 0\nOK 0\nOK 0\n");
    get_range(&c, "small", small, 10, 20);
    /* An empty piece between text: still in order. */
    client_send_str(&c, "MIX empty 2\n");
    expect_text(&c, "part 0 0 0\npart 1 0 0\nEND\n");
    client_close(&c);
    stop_files(&s, 0);
}

/* Many answers on one connection, one by one and pipelined, with the
 * receive buffer holding the next requests while a file goes out; then
 * zzz_conn_sent has counted every byte the client got. */
Test(sendfile, keep_alive)
{
    char *medium = make_file("medium", MEDIUM_SIZE, 5);
    char *small = make_file("small", SMALL_SIZE, 6);
    server s;
    start_files(&s, NULL);
    client c;
    client_open(&c, s.port);
    size_t total = 0;
    for (size_t i = 0; i < 20; i++) {
        size_t offset = i * 40503 % MEDIUM_SIZE;
        size_t len = (i * 77777 + 1) % (MEDIUM_SIZE - offset);
        get_range(&c, "medium", medium, offset, len);
        char line[48];
        total += (size_t)snprintf(line, sizeof line, "OK %zu\n", len) + len;
    }
    /* Ten requests in one send. */
    char reqs[1024] = "";
    for (int i = 0; i < 10; i++) {
        char req[64];
        snprintf(req, sizeof req, "GET %s %d %d\n", i % 2 ? "small" : "medium", i * 10, 500 + i);
        strcat(reqs, req);
    }
    client_send_str(&c, reqs);
    for (int i = 0; i < 10; i++) {
        char what[32];
        snprintf(what, sizeof what, "pipelined %d", i);
        expect_file(&c, (i % 2 ? small : medium) + i * 10, (size_t)(500 + i), what);
        char line[48];
        total += (size_t)snprintf(line, sizeof line, "OK %d\n", 500 + i) + (size_t)(500 + i);
    }
    client_send_str(&c, "SENT\n");
    char sent[64];
    snprintf(sent, sizeof sent, "SENT %zu\n", total);
    expect_text(&c, sent);
    client_close(&c);
    stop_files(&s, 0);
}

/* Text queued with zzz_conn_out and file pieces alternate: each piece
 * leaves after the text queued before it, and text queued after the last
 * one (END) after it; the next request's answer follows. */
Test(sendfile, interleaved_text_and_file)
{
    char *medium = make_file("medium", MEDIUM_SIZE + 13, 7);
    char *small = make_file("small", SMALL_SIZE, 8);
    server s;
    start_files(&s, NULL);
    client c;
    client_open(&c, s.port);
    size_t sizes[] = {MEDIUM_SIZE + 13, MEDIUM_SIZE + 13, SMALL_SIZE};
    const char *names[] = {"medium", "medium", "small"};
    const char *datas[] = {medium, medium, small};
    size_t parts[] = {7, 1, 64};
    for (size_t r = 0; r < 3; r++) {
        char req[64];
        snprintf(req, sizeof req, "MIX %s %zu\nGET small 3 4\n", names[r], parts[r]);
        client_send_str(&c, req);
        size_t size = sizes[r];
        for (size_t i = 0; i < parts[r]; i++) {
            size_t from = size / parts[r] * i;
            size_t to = i + 1 == parts[r] ? size : size / parts[r] * (i + 1);
            char line[96], what[96];
            snprintf(line, sizeof line, "part %zu %zu %zu\n", i, from, to - from);
            expect_text(&c, line);
            snprintf(what, sizeof what, "%s in %zu: part %zu", names[r], parts[r], i);
            expect_data(&c, datas[r] + from, to - from, what);
        }
        expect_text(&c, "END\n");
        expect_file(&c, small + 3, 4, "the GET after MIX");
    }
    client_close(&c);
    stop_files(&s, 0);
}

/* A reader with a small window that takes a few KiB at a time, and once
 * stops for half the write timeout, still gets every byte: the sends wait
 * for room and are not cut. */
Test(sendfile, slow_reader)
{
    char *medium = make_file("medium", MEDIUM_SIZE, 9);
    server s;
    start_files(&s, (const char *const[]){"--write-timeout-ms", "1000", NULL});
    client c;
    client_open_small_rcvbuf(&c, s.port, 4096);
    client_send_str(&c, "GET medium 0 -\n");
    char ok[48];
    snprintf(ok, sizeof ok, "OK %d\n", MEDIUM_SIZE);
    size_t want = strlen(ok) + MEDIUM_SIZE;
    uint64_t start = now_ms(), last = now_ms();
    bool paused = false;
    unsigned reads = 0;
    while (c.len < want && !c.eof) {
        cr_assert(now_ms() - last < HANG_GUARD_MS, "nothing for %d ms after %zu bytes",
                  HANG_GUARD_MS, c.len);
        if (!paused && c.len > want / 2) {
            paused = true;
            sleep_ms(500);
        }
        sleep_ms(3); /* the reader's pace */
        if (client_recv_some(&c, 200) > 0) {
            last = now_ms();
            reads++;
        }
    }
    cr_log_info("slow reader: %zu bytes in %u reads, %llu ms", c.len, reads,
                (unsigned long long)(now_ms() - start));
    expect_text(&c, ok);
    expect_data(&c, medium, MEDIUM_SIZE, "medium, read slowly");
    client_send_str(&c, "QUIT\n");
    expect_text(&c, "BYE\n");
    client_close(&c);
    stop_files(&s, 0);
}

/* One thread: while a client that reads nothing holds a send of 8 MiB
 * waiting for room, another is served at once; then the first reads its
 * file whole. */
Test(sendfile, stalled_reader_does_not_hold_the_thread)
{
    char *big = make_file("big", BIG_SIZE, 10);
    char *small = make_file("small", SMALL_SIZE, 11);
    server s;
    start_files(&s, NULL);
    client stalled;
    client_open_small_rcvbuf(&stalled, s.port, 4096);
    client_send_str(&stalled, "GET big 0 -\n");
    sleep_ms(200);
    uint64_t start = now_ms();
    for (int i = 0; i < 5; i++)
        expect_served(&s, "small", small, SMALL_SIZE);
    uint64_t took = now_ms() - start;
    cr_assert(took < 3000, "5 small files took %llu ms beside a stalled send",
              (unsigned long long)took);
    expect_file(&stalled, big, BIG_SIZE, "big, after the stall");
    client_close(&stalled);
    stop_files(&s, 0);
}

/* Clients that vanish in the middle of a file (a reset with their window
 * full, or after a pause), or close politely mid-file (a reset all the
 * same: bytes are left unread), or right after asking: the send fails
 * with the peer's error, the server lives and serves the next client.
 * Three times each: a send that the reset meets half-way through one sendfile(2)
 * call is a matter of timing. */
Test(sendfile, client_disconnects_mid_file)
{
    make_file("big", BIG_SIZE, 12);
    char *small = make_file("small", SMALL_SIZE, 13);
    server s;
    start_files(&s, NULL);
    for (int round = 0; round < 12; round++) {
        int how = round % 4;
        client c;
        client_open_small_rcvbuf(&c, s.port, 4096);
        client_send_str(&c, "GET big 0 -\n");
        if (how == 0 || how == 2) {
            while (c.len < 64 * 1024)
                cr_assert(have_bytes(&c, c.len + 1), "closed after %zu bytes", c.len);
        } else if (how == 1) {
            sleep_ms(100);
        }
        if (how == 2)
            client_close(&c);
        else
            client_abort(&c);
        /* Asked and gone at once (how 3), the request may die with the
         * connection before the server reads it: no failure to expect. */
        if (how < 3)
            log_expect_failure(&s, "big 0 8388608", "ECONNRESET", "EPIPE");
        else
            sleep_ms(50);
        expect_alive(&s);
        expect_served(&s, "small", small, SMALL_SIZE);
        log_clear(); /* the next round's line is a new one */
    }
    stop_files(&s, -1);
}

/* A reader that takes nothing more is cut after the write timeout (0.5
 * s without progress): the send fails with -ETIMEDOUT, the connection
 * closes before the file's end, and the server goes on. */
Test(sendfile, stalled_reader_cut)
{
    make_file("big", BIG_SIZE, 20);
    char *small = make_file("small", SMALL_SIZE, 21);
    server s;
    start_files(&s, (const char *const[]){"--write-timeout-ms", "500", NULL});
    client c;
    client_open_small_rcvbuf(&c, s.port, 4096);
    client_send_str(&c, "GET big 0 -\n");
    uint64_t start = now_ms();
    log_expect_failure(&s, "big 0 8388608", "ETIMEDOUT", NULL);
    uint64_t took = now_ms() - start;
    cr_log_info("cut after %llu ms", (unsigned long long)took);
    cr_assert(took >= 400, "cut after %llu ms, before the write timeout (500 ms)",
              (unsigned long long)took);
    size_t got = 0;
    uint64_t give_up = now_ms() + HANG_GUARD_MS;
    while (!c.eof && now_ms() < give_up) {
        client_recv_some(&c, 200);
        got += c.len;
        client_consume(&c, c.len);
    }
    cr_assert(c.eof, "the connection stayed open after the cut");
    cr_assert(got < BIG_SIZE, "all of the file came though the send was cut");
    client_close(&c);
    expect_served(&s, "small", small, SMALL_SIZE);
    stop_files(&s, 1);
}

/* SIGTERM while a send waits for a reader that takes nothing: the drain
 * (0.5 s) ends it, and the server exits cleanly, in time. */
Test(sendfile, shutdown_during_send)
{
    make_file("big", BIG_SIZE, 22);
    server s;
    start_files(&s, (const char *const[]){"--drain-timeout-ms", "500", NULL});
    client c;
    client_open_small_rcvbuf(&c, s.port, 4096);
    client_send_str(&c, "GET big 0 -\n");
    cr_assert(have_bytes(&c, 1000), "nothing came");
    sleep_ms(100);
    uint64_t start = now_ms();
    stop_files(&s, -1);
    uint64_t took = now_ms() - start;
    cr_log_info("stopped in %llu ms; it printed: %s", (unsigned long long)took, sf_log);
    cr_assert(took < 5000, "the drain of 500 ms took %llu ms", (unsigned long long)took);
    cr_assert(strstr(sf_log, "sendfile big 0 8388608: "), "the send did not fail: %s", sf_log);
    client_close(&c);
}

/* Two threads, eight clients at once, each reading a bit in turn: every
 * one gets its own range exactly. */
Test(sendfile, concurrent_clients)
{
    char *big = make_file("big", BIG_SIZE, 23);
    server s;
    start_files(&s, (const char *const[]){"--threads", "2", NULL});
    enum { CLIENTS = 8 };
    client cs[CLIENTS];
    size_t offsets[CLIENTS], lens[CLIENTS], want[CLIENTS];
    for (int i = 0; i < CLIENTS; i++) {
        client_open_small_rcvbuf(&cs[i], s.port, 16384);
        offsets[i] = (size_t)i * 777777;
        lens[i] = (size_t)(1 << 20) + (size_t)i * 4099;
        char req[96];
        snprintf(req, sizeof req, "GET big %zu %zu\n", offsets[i], lens[i]);
        client_send_str(&cs[i], req);
        char ok[48];
        want[i] = (size_t)snprintf(ok, sizeof ok, "OK %zu\n", lens[i]) + lens[i];
    }
    uint64_t last = now_ms();
    for (bool more = true; more;) {
        more = false;
        for (int i = 0; i < CLIENTS; i++) {
            if (cs[i].len >= want[i])
                continue;
            more = true;
            cr_assert(!cs[i].eof, "client %d: closed after %zu of %zu bytes", i, cs[i].len,
                      want[i]);
            if (client_recv_some(&cs[i], 10) > 0)
                last = now_ms();
        }
        cr_assert(now_ms() - last < HANG_GUARD_MS, "no progress for %d ms", HANG_GUARD_MS);
    }
    for (int i = 0; i < CLIENTS; i++) {
        char what[48];
        snprintf(what, sizeof what, "client %d", i);
        expect_file(&cs[i], big + offsets[i], lens[i], what);
        client_close(&cs[i]);
    }
    stop_files(&s, 0);
}

/* The file shrinks between the server's fstat (HOLD answers its size)
 * and the send (after GO): the send fails with -ENODATA, the client gets
 * no more than what is left, a prefix, and the close; others are served. */
Test(sendfile, truncated_before_send)
{
    char *medium = make_file("shrink", MEDIUM_SIZE, 14);
    char *small = make_file("small", SMALL_SIZE, 15);
    server s;
    start_files(&s, NULL);
    size_t cut_to[] = {300001, 0};
    for (int round = 0; round < 2; round++) {
        write_file("shrink", medium, MEDIUM_SIZE);
        client c;
        client_open(&c, s.port);
        client_send_str(&c, "HOLD shrink\n");
        char ok[48];
        snprintf(ok, sizeof ok, "OK %d\n", MEDIUM_SIZE);
        expect_text(&c, ok);
        cr_assert_eq(truncate(sf_path("shrink"), (off_t)cut_to[round]), 0, "truncate: %s",
                     strerror(errno));
        client_send_str(&c, "GO\n");
        cr_assert(client_wait_closed(&c, HANG_GUARD_MS, NULL), "the connection stayed open");
        cr_assert(c.len < MEDIUM_SIZE, "all %d bytes came from a file cut to %zu", MEDIUM_SIZE,
                  cut_to[round]);
        cr_assert(c.len <= cut_to[round], "%zu bytes came from a file cut to %zu", c.len,
                  cut_to[round]);
        cr_assert(c.len == 0 || memcmp(c.buf, medium, c.len) == 0,
                  "the %zu bytes that came are not the file's first ones", c.len);
        cr_log_info("cut to %zu: %zu bytes came", cut_to[round], c.len);
        client_close(&c);
        log_expect_failure(&s, "shrink 0 1048576", "ENODATA", NULL);
        log_clear();
        expect_served(&s, "small", small, SMALL_SIZE);
    }
    stop_files(&s, 0);
}

/* More asked than the file has, or from past its end: -ENODATA, the
 * connection closes before len bytes came; the next client is served. */
Test(sendfile, past_the_end)
{
    char *small = make_file("small", SMALL_SIZE, 16);
    server s;
    start_files(&s, NULL);
    client c;
    client_open(&c, s.port);
    client_send_str(&c, "GET small 0 1100\n");
    size_t got = expect_cut(&c, 1100, small, SMALL_SIZE, "ENODATA");
    cr_log_info("1100 of 1000: %zu came", got);
    client_close(&c);
    log_expect_failure(&s, "small 0 1100", "ENODATA", NULL);

    client_open(&c, s.port);
    get_range(&c, "small", small, 0, 10); /* an answer before, on the same connection */
    client_send_str(&c, "GET small 1000 1\n");
    expect_cut(&c, 1, NULL, 0, "ENODATA");
    client_close(&c);
    log_expect_failure(&s, "small 1000 1", "ENODATA", NULL);

    client_open(&c, s.port);
    client_send_str(&c, "GET small 1099511627776 10\n");
    expect_cut(&c, 10, NULL, 0, "ENODATA");
    client_close(&c);
    log_expect_failure(&s, "small 1099511627776 10", "ENODATA", NULL);

    /* Lengths whose end lies past what an off_t can hold. */
    client_open(&c, s.port);
    client_send_str(&c, "GET small 10 18446744073709551615\n");
    expect_cut(&c, SIZE_MAX, small + 10, SMALL_SIZE - 10, "ENODATA");
    client_close(&c);
    log_expect_failure(&s, "small 10 18446744073709551615", "ENODATA", NULL);
    client_open(&c, s.port);
    client_send_str(&c, "GET small 9223372036854775000 9223372036854775000\n");
    expect_cut(&c, 9223372036854775000u, NULL, 0, "ENODATA");
    client_close(&c);
    log_expect_failure(&s, "small 9223372036854775000 9223372036854775000", "ENODATA", "EINVAL");

    expect_served(&s, "small", small, SMALL_SIZE);
    stop_files(&s, 5);
}

/* A negative offset: -EINVAL, nothing of the file sent, the connection
 * closed; the server goes on. */
Test(sendfile, negative_offset)
{
    char *small = make_file("small", SMALL_SIZE, 17);
    server s;
    start_files(&s, NULL);
    client c;
    client_open(&c, s.port);
    client_send_str(&c, "GET small -1 10\n");
    expect_cut(&c, 10, NULL, 0, "EINVAL");
    client_close(&c);
    log_expect_failure(&s, "small -1 10", "EINVAL", NULL);

    client_open(&c, s.port);
    get_range(&c, "small", small, 0, 10);
    client_send_str(&c, "GET small -9223372036854775808 0\n");
    expect_cut(&c, 0, NULL, 0, "EINVAL");
    client_close(&c);
    log_expect_failure(&s, "small -9223372036854775808 0", "EINVAL", NULL);

    expect_served(&s, "small", small, SMALL_SIZE);
    stop_files(&s, 2);
}

/* A file whose reads fail (a directory: -EISDIR), which sendfile(2)
 * refuses too: the read's error, not a hang or a crash. */
Test(sendfile, read_error)
{
    char *small = make_file("small", SMALL_SIZE, 18);
    cr_assert_eq(mkdir(sf_path("sub"), 0700), 0);
    server s;
    start_files(&s, NULL);
    client c;
    client_open(&c, s.port);
    client_send_str(&c, "GET sub 0 10\n");
    expect_cut(&c, 10, NULL, 0, "EISDIR");
    client_close(&c);
    log_expect_failure(&s, "sub 0 10", "EISDIR", NULL);
    expect_served(&s, "small", small, SMALL_SIZE);
    stop_files(&s, 1);
}

/* Reads all of path into a malloc'ed buffer; *len its size. */
static char *slurp(const char *path, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    cr_assert(fd >= 0, "open %s: %s", path, strerror(errno));
    size_t cap = 1 << 16, n = 0;
    char *data = malloc(cap);
    for (;;) {
        if (cap - n < 4096)
            data = realloc(data, cap *= 2);
        ssize_t r = read(fd, data + n, cap - n);
        cr_assert(r >= 0, "read %s: %s", path, strerror(errno));
        if (r == 0)
            break;
        n += (size_t)r;
    }
    close(fd);
    *len = n;
    return data;
}

/* A file sendfile(2) refuses but read takes: /proc/PID/environ (procfs
 * gives it no splice support; on Linux 6.x sendfile fails with EINVAL),
 * here the server's own, made a few hundred KiB by the test's environment
 * so that the read-and-send path goes round many times. Its size is 0 to
 * fstat, so lengths are given. Over TLS every file takes that path. */
Test(sendfile, file_sendfile_cannot_send)
{
    char *small = make_file("small", SMALL_SIZE, 19);
    /* The server inherits it; stable for its life (the area exec set up). */
    for (int i = 0; i < 3; i++) {
        char name[32];
        snprintf(name, sizeof name, "ZZZ_SENDFILE_FILL%d", i);
        enum { FILL = 100 * 1024 };
        char *value = harness_random_bytes(FILL, (uint64_t)i + 100);
        for (size_t k = 0; k < FILL; k++)
            value[k] = (char)('a' + (unsigned char)value[k] % 26);
        value[FILL - 1] = '\0';
        cr_assert_eq(setenv(name, value, 1), 0);
        free(value);
    }
    server s;
    start_files(&s, NULL);
    char proc[64];
    snprintf(proc, sizeof proc, "/proc/%d/environ", (int)s.pid);
    cr_assert_eq(symlink(proc, sf_path("environ")), 0, "symlink: %s", strerror(errno));
    if (access(proc, R_OK) != 0)
        cr_skip_test("%s cannot be read here (%s): ptrace restrictions?", proc, strerror(errno));
    size_t env_len;
    char *env = harness_own(slurp(proc, &env_len));
    cr_assert(env_len > 300000, "the environment is only %zu bytes", env_len);

    /* The kernel here really refuses it (else this case proves less). */
    int probe = open(proc, O_RDONLY | O_CLOEXEC);
    cr_assert(probe >= 0, "open %s: %s", proc, strerror(errno));
    int pair[2];
    cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair), 0);
    off_t at = 0;
    ssize_t sent = sendfile(pair[0], probe, &at, 100);
    int sent_errno = errno;
    close(pair[0]);
    close(pair[1]);
    close(probe);
    if (sent >= 0)
        cr_log_warn("sendfile(2) takes %s on this kernel: the read-and-send path is not "
                    "exercised here",
                    proc);
    else
        cr_log_info("sendfile(2) on %s: %s", proc, strerror(sent_errno));

    client c;
    client_open(&c, s.port);
    get_range(&c, "environ", env, 0, env_len);
    get_range(&c, "environ", env, 1000, env_len - 2000);
    get_range(&c, "environ", env, env_len - 1, 1);
    char req[96];
    snprintf(req, sizeof req, "GET environ 0 -\n");
    client_send_str(&c, req);
    expect_text(&c, "OK 0\n"); /* procfs says size 0 */
    /* Past its end: the read returns 0 before len bytes. */
    snprintf(req, sizeof req, "GET environ 5 %zu\n", env_len);
    client_send_str(&c, req);
    size_t got = expect_cut(&c, env_len, env + 5, env_len - 5, "ENODATA");
    cr_log_info("%zu of %zu bytes from 5 came", got, env_len);
    client_close(&c);
    char what[96];
    snprintf(what, sizeof what, "environ 5 %zu", env_len);
    log_expect_failure(&s, what, "ENODATA", NULL);
    expect_served(&s, "small", small, SMALL_SIZE);
    stop_files(&s, 1);
}
