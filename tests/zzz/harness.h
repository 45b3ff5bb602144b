/* Helpers of the HTTP integration tests: start a server binary as a child
 * process and learn its port, talk to it over raw sockets (exact bytes
 * out, responses parsed back: status, headers, Content-Length or chunked
 * bodies), run curl, read a process's RSS. Every wait is bounded, so a
 * hung server fails a test instead of hanging the suite.
 *
 * Built with ZZZ_TEST_TLS (the http-tls tests), the same helpers run the
 * test server with a certificate and their raw client speaks TLS 1.2
 * through OpenSSL: each client_send is one SSL_write of exactly those
 * bytes, and what the server sends back is read through SSL_read. */
#ifndef ZZZ_TEST_HARNESS_H
#define ZZZ_TEST_HARNESS_H

#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifdef ZZZ_TEST_TLS
#include <limits.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>
#endif

/* ZZZ_TEST_SERVER_WRAPPER: a command, words split on spaces, that
 * server_start puts in front of every server binary (tests/valgrind.sh
 * sets "valgrind --leak-check=full --error-exitcode=99 ..."), or NULL. */
static inline const char *harness_wrapper(void)
{
    const char *w = getenv("ZZZ_TEST_SERVER_WRAPPER");
    return w && *w ? w : NULL;
}

/* Longest any single wait may take before the test fails: a guard against
 * hangs, not a performance assertion. Six times longer for a server run
 * under a wrapper, which may be that much slower. (A conditional of two
 * constants, so that compilers know it is never negative.) */
#define HANG_GUARD_MS (harness_wrapper() ? 60000 : 10000)

static inline uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static inline void sleep_ms(unsigned ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* ---- server processes ------------------------------------------------------ */

typedef struct server {
    pid_t pid;
    int out_fd; /* the read end of its stdout (kept open: no SIGPIPE) */
    uint16_t port;
    char driver[32];
    unsigned threads;
} server;

/* Children still running, killed by harness_cleanup() when a test fails
 * half-way. */
static pid_t harness_children[16];

static void harness_track(pid_t pid, bool add)
{
    for (size_t i = 0; i < sizeof harness_children / sizeof harness_children[0]; i++) {
        if (add && harness_children[i] == 0) {
            harness_children[i] = pid;
            return;
        }
        if (!add && harness_children[i] == pid) {
            harness_children[i] = 0;
            return;
        }
    }
}

static inline void harness_cleanup(void)
{
    for (size_t i = 0; i < sizeof harness_children / sizeof harness_children[0]; i++) {
        if (harness_children[i] > 0) {
            kill(harness_children[i], SIGKILL);
            waitpid(harness_children[i], NULL, 0);
            harness_children[i] = 0;
        }
    }
}

/* ---- temporary files and buffers --------------------------------------------- */

/* A fresh directory $TMPDIR/zzz-NAME-XXXXXX (/tmp without TMPDIR), its
 * path into dir (cap bytes). */
static inline void harness_temp_dir(char *dir, size_t cap, const char *name)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, cap, "%s/zzz-%s-XXXXXX", tmp && *tmp ? tmp : "/tmp", name);
    cr_assert(mkdtemp(dir), "mkdtemp %s: %s", dir, strerror(errno));
}

static inline int harness_remove_entry(const char *path, const struct stat *st, int flag,
                                       struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

/* Removes path and everything beneath it, following no link. */
static inline void harness_remove_tree(const char *path)
{
    if (path && path[0])
        nftw(path, harness_remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* Writes len bytes to path, created or truncated with mode. */
static inline void harness_write_path(const char *path, const void *data, size_t len, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    cr_assert(fd >= 0, "open %s: %s", path, strerror(errno));
    for (size_t done = 0; done < len;) {
        ssize_t n = write(fd, (const char *)data + done, len - done);
        cr_assert(n > 0, "write %s: %s", path, strerror(errno));
        done += (size_t)n;
    }
    cr_assert_eq(close(fd), 0);
}

/* len pseudo-random bytes (xorshift64*, from seed; NUL, CR and LF among
 * them), malloc'ed: content in which a byte out of place or a piece sent
 * twice shows. */
static inline char *harness_random_bytes(size_t len, uint64_t seed)
{
    char *data = malloc(len ? len : 1);
    cr_assert(data);
    uint64_t x = seed | 1;
    for (size_t i = 0; i < len; i++) {
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        data[i] = (char)((x * 0x2545F4914F6CDD1DULL) >> 56);
    }
    return data;
}

/* Buffers a test hands over, freed by harness_free_owned (from a suite's
 * fini) even when an assertion ends the test half-way. */
static void *harness_owned[128];

static inline void *harness_own(void *p)
{
    for (size_t i = 0; i < sizeof harness_owned / sizeof harness_owned[0]; i++) {
        if (!harness_owned[i]) {
            harness_owned[i] = p;
            return p;
        }
    }
    cr_assert_fail("too many buffers for harness_own");
    return p;
}

static inline void harness_free_owned(void)
{
    for (size_t i = 0; i < sizeof harness_owned / sizeof harness_owned[0]; i++) {
        free(harness_owned[i]);
        harness_owned[i] = NULL;
    }
}

/* The path of a binary under test, from the environment (meson passes
 * ZZZ_TESTSERVER, ZZZ_HELLO, ZZZ_ROUTING, ZZZ_KV). */
static inline const char *binary_path(const char *env)
{
    const char *path = getenv(env);
    cr_assert(path && *path, "%s is not set (run the tests through meson test)", env);
    cr_assert(access(path, X_OK) == 0, "%s=%s is not executable", env, path);
    return path;
}

#ifdef ZZZ_TEST_TLS
/* DIR/name in ZZZ_TLS_DIR (made by tests/zzz/tls/make-certs.sh), from a
 * ring of buffers. */
static inline const char *harness_tls_file(const char *name)
{
    static char paths[8][512];
    static unsigned next;
    const char *dir = getenv("ZZZ_TLS_DIR");
    cr_assert(dir && *dir, "ZZZ_TLS_DIR is not set (run the tests through meson test)");
    char *p = paths[next++ % 8];
    snprintf(p, sizeof paths[0], "%s/%s", dir, name);
    cr_assert(access(p, R_OK) == 0, "%s: %s", p, strerror(errno));
    return p;
}
#endif

/* Starts `path --port 0 args...` with stdout on a pipe and waits for its
 * "listening on 127.0.0.1:PORT (driver D, N threads)" line. Over TLS
 * (ZZZ_TEST_TLS), the test server also gets the "localhost" certificate. */
static inline void server_start(server *s, const char *path, const char *const *args)
{
    memset(s, 0, sizeof *s);
    const char *argv[64];
    size_t argc = 0;
    /* The wrapper's words, split in a copy that the child's exec uses. */
    static char wrapper[512];
    const char *w = harness_wrapper();
    if (w) {
        snprintf(wrapper, sizeof wrapper, "%s", w);
        for (char *save = NULL, *word = strtok_r(wrapper, " ", &save); word && argc < 12;
             word = strtok_r(NULL, " ", &save))
            argv[argc++] = word;
    }
    argv[argc++] = path;
    argv[argc++] = "--port";
    argv[argc++] = "0";
#ifdef ZZZ_TEST_TLS
    const char *testserver = getenv("ZZZ_TESTSERVER");
    if (testserver && strcmp(path, testserver) == 0) {
        argv[argc++] = "--tls-cert";
        argv[argc++] = harness_tls_file("ec-chain.pem");
        argv[argc++] = "--tls-key";
        argv[argc++] = harness_tls_file("ec-key.pem");
    }
#endif
    for (size_t i = 0; args && args[i] && argc < 63; i++)
        argv[argc++] = args[i];
    argv[argc] = NULL;

    int pipefd[2];
    cr_assert_eq(pipe2(pipefd, O_CLOEXEC), 0);
    pid_t parent = getpid();
    pid_t pid = fork();
    cr_assert_neq(pid, -1, "fork: %s", strerror(errno));
    if (pid == 0) {
        /* Dies with the test process, even when a failed test skips the stop. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(127);
        dup2(pipefd[1], STDOUT_FILENO);
        execvp(argv[0], (char *const *)argv);
        _exit(127);
    }
    close(pipefd[1]);
    s->pid = pid;
    s->out_fd = pipefd[0];
    harness_track(pid, true);

    char line[256];
    size_t len = 0;
    uint64_t give_up = now_ms() + HANG_GUARD_MS;
    while (!memchr(line, '\n', len)) {
        cr_assert(len < sizeof line - 1, "no newline in the server's first output");
        uint64_t t = now_ms();
        cr_assert(t < give_up, "%s did not print its listening line", path);
        struct pollfd p = {.fd = s->out_fd, .events = POLLIN};
        poll(&p, 1, (int)(give_up - t));
        ssize_t n = read(s->out_fd, line + len, sizeof line - 1 - len);
        if (n < 0 && errno == EINTR)
            continue;
        cr_assert(n > 0, "%s exited before listening", path);
        len += (size_t)n;
    }
    line[len] = '\0';
    unsigned port = 0;
    int got = sscanf(line, "listening on 127.0.0.1:%u (driver %31[^,], %u threads)", &port,
                     s->driver, &s->threads);
    if (got != 3) /* the tls example: "listening on https://127.0.0.1:PORT (driver D, ..." */
        got = sscanf(line, "listening on https://127.0.0.1:%u (driver %31[^,], %u threads", &port,
                     s->driver, &s->threads);
    cr_assert_eq(got, 3, "unexpected first line: %s", line);
    cr_assert(port > 0 && port < 65536);
    s->port = (uint16_t)port;
    /* The driver the test was registered for is the one in use. */
    const char *want = getenv("TARDY_DRIVER");
    if (want && *want && strcmp(want, "auto") != 0)
        cr_assert_str_eq(s->driver, want, "TARDY_DRIVER=%s but the server uses %s", want,
                         s->driver);
}

/* Waits (bounded) for the server to exit; returns its wait status, or -1
 * if it had to be killed. */
static inline int server_wait(server *s, unsigned timeout_ms)
{
    uint64_t give_up = now_ms() + timeout_ms;
    int status = 0;
    for (;;) {
        pid_t r = waitpid(s->pid, &status, WNOHANG);
        if (r == s->pid)
            break;
        if (now_ms() >= give_up) {
            kill(s->pid, SIGKILL);
            waitpid(s->pid, &status, 0);
            status = -1;
            break;
        }
        sleep_ms(5);
    }
    harness_track(s->pid, false);
    close(s->out_fd);
    s->pid = 0;
    return status;
}

/* SIGTERM, then expects a clean exit with status 0. */
static inline void server_stop(server *s)
{
    cr_assert_eq(kill(s->pid, SIGTERM), 0);
    int status = server_wait(s, HANG_GUARD_MS);
    cr_assert_neq(status, -1, "the server did not exit within %d ms of SIGTERM", HANG_GUARD_MS);
    cr_assert(WIFEXITED(status), "the server died of signal %d", WTERMSIG(status));
    cr_assert_eq(WEXITSTATUS(status), 0, "the server exited with status %d", WEXITSTATUS(status));
}

/* The path of an example binary; skips the test when the examples are not
 * built (-Dexamples=false). */
static inline const char *example_path(const char *env)
{
    const char *path = getenv(env);
    if (!path || !*path)
        cr_skip_test("%s is not set: the examples are not built", env);
    return binary_path(env);
}

/* ---- raw clients ------------------------------------------------------------- */

typedef struct client {
    int fd;
    char *buf; /* received and not yet parsed */
    size_t len, cap;
    bool eof;  /* end of stream (or reset) seen */
    int error; /* errno of a failed recv (ECONNRESET ...), 0 if none */
#ifdef ZZZ_TEST_TLS
    SSL *ssl;        /* NULL: plain TCP (client_open_raw) */
    bool tls_failed; /* the handshake or a record failed: no more TLS I/O */
#endif
} client;

static inline int tcp_connect_fd(uint16_t port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    cr_assert(fd >= 0, "socket: %s", strerror(errno));
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(port)};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct timeval tv = {.tv_sec = HANG_GUARD_MS / 1000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0) {
        int err = errno;
        close(fd);
        return -err;
    }
    return fd;
}

/* A connected socket whose receive buffer is set (before connect, so the
 * window it announces is small from the start): the server's sends fill
 * it and must wait for the reader. */
static inline int tcp_connect_small_rcvbuf(uint16_t port, int rcvbuf)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    cr_assert(fd >= 0, "socket: %s", strerror(errno));
    cr_assert_eq(setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf), 0);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(port)};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    cr_assert_eq(connect(fd, (struct sockaddr *)&addr, sizeof addr), 0, "connect: %s",
                 strerror(errno));
    return fd;
}

/* Waits (bounded by give_up, polling at least once) for events on fd;
 * false on a timeout. */
static inline bool harness_wait_fd(int fd, short events, uint64_t give_up)
{
    for (;;) {
        uint64_t t = now_ms();
        struct pollfd p = {.fd = fd, .events = events};
        int r = poll(&p, 1, t < give_up ? (int)(give_up - t) : 0);
        if (r > 0)
            return true;
        if (r == 0 || errno != EINTR)
            return false;
    }
}

#ifdef ZZZ_TEST_TLS
/* Why the last handshake or record failed, in words. */
static char harness_tls_error[512];

/* OpenSSL writes with write(), not send(MSG_NOSIGNAL): a server that has
 * closed would kill the test with SIGPIPE. A handler (not SIG_IGN) turns
 * it into EPIPE here and, unlike SIG_IGN, is reset by exec, so the
 * servers and curl started from the test keep the default. */
static void harness_sigpipe(int sig)
{
    (void)sig;
}

/* One client context per test process: TLS 1.2 only, the server verified
 * against ca.pem as "localhost", ALPN http/1.1, full handshakes (no
 * session cache), an end of stream without close_notify read as an end. */
static inline SSL_CTX *harness_tls_ctx(void)
{
    static SSL_CTX *ctx;
    if (ctx)
        return ctx;
    struct sigaction sa = {.sa_handler = harness_sigpipe, .sa_flags = SA_RESTART};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGPIPE, &sa, NULL);
    SSL_CTX *x = SSL_CTX_new(TLS_client_method());
    cr_assert(x, "SSL_CTX_new failed");
    SSL_CTX_set_min_proto_version(x, TLS1_2_VERSION);
    SSL_CTX_set_max_proto_version(x, TLS1_2_VERSION);
    const char *ca = harness_tls_file("ca.pem");
    cr_assert_eq(SSL_CTX_load_verify_locations(x, ca, NULL), 1, "cannot load %s", ca);
    SSL_CTX_set_verify(x, SSL_VERIFY_PEER, NULL);
    static const unsigned char alpn[] = "\x08http/1.1";
    cr_assert_eq(SSL_CTX_set_alpn_protos(x, alpn, sizeof alpn - 1), 0);
    SSL_CTX_set_options(x, SSL_OP_IGNORE_UNEXPECTED_EOF);
    SSL_CTX_set_mode(x, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    SSL_CTX_set_session_cache_mode(x, SSL_SESS_CACHE_OFF);
    ctx = x;
    return ctx;
}

/* After an SSL call failed with e (not WANT_READ / WANT_WRITE): the errno
 * it stands for, 0 for an orderly end of stream (close_notify, or a
 * plain EOF), EPROTO for a TLS failure (described in harness_tls_error,
 * and logged: a server that sends bad records or alerts shows here). */
static inline int harness_tls_errno(client *c, int e, const char *what)
{
    int err = errno;
    unsigned long code = ERR_peek_error();
    int result;
    if (e == SSL_ERROR_ZERO_RETURN) {
        result = 0;
        snprintf(harness_tls_error, sizeof harness_tls_error, "%s: end of stream", what);
    } else if (e == SSL_ERROR_SYSCALL && code == 0) {
        result = err;
        snprintf(harness_tls_error, sizeof harness_tls_error, "%s: %s", what,
                 err ? strerror(err) : "end of stream");
    } else if (ERR_GET_LIB(code) == ERR_LIB_SSL &&
               ERR_GET_REASON(code) == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
        result = 0;
        snprintf(harness_tls_error, sizeof harness_tls_error, "%s: end of stream", what);
    } else {
        result = EPROTO;
        char detail[256];
        ERR_error_string_n(code, detail, sizeof detail);
        long verify = SSL_get_verify_result(c->ssl);
        snprintf(harness_tls_error, sizeof harness_tls_error, "%s: TLS error %d: %s%s%s", what, e,
                 detail, verify != X509_V_OK ? "; certificate: " : "",
                 verify != X509_V_OK ? X509_verify_cert_error_string(verify) : "");
        fprintf(stderr, "harness: %s\n", harness_tls_error);
        c->tls_failed = true;
    }
    ERR_clear_error();
    return result;
}

/* The TLS handshake on c->fd (non-blocking from here on), done within
 * timeout_ms. True when done; false when the server closed, reset or
 * refused it: then c is at end of stream, c->error holds the errno (0:
 * closed, EPROTO: a TLS failure, ETIMEDOUT) and harness_tls_error says
 * why. */
static inline bool client_handshake_within(client *c, unsigned timeout_ms)
{
    SSL *ssl = SSL_new(harness_tls_ctx());
    cr_assert(ssl, "SSL_new failed");
    c->ssl = ssl;
    SSL_set_tlsext_host_name(ssl, "localhost");
    SSL_set1_host(ssl, "localhost");
    cr_assert_eq(SSL_set_fd(ssl, c->fd), 1);
    fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK);
    uint64_t give_up = now_ms() + timeout_ms;
    for (;;) {
        ERR_clear_error();
        errno = 0;
        int r = SSL_connect(ssl);
        if (r == 1)
            return true;
        int e = SSL_get_error(ssl, r);
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
            if (harness_wait_fd(c->fd, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, give_up))
                continue;
            snprintf(harness_tls_error, sizeof harness_tls_error, "handshake: not done in %u ms",
                     timeout_ms);
            c->error = ETIMEDOUT;
        } else {
            c->error = harness_tls_errno(c, e, "handshake");
        }
        c->tls_failed = true;
        c->eof = true;
        return false;
    }
}

/* client_handshake_within the hang guard. */
static inline bool client_handshake(client *c)
{
    return client_handshake_within(c, HANG_GUARD_MS);
}
#endif

/* A TCP connection and, over TLS (ZZZ_TEST_TLS), a finished handshake. */
static inline void client_open(client *c, uint16_t port)
{
    memset(c, 0, sizeof *c);
    c->fd = tcp_connect_fd(port);
    cr_assert(c->fd >= 0, "connect to 127.0.0.1:%u: %s", port, strerror(-c->fd));
#ifdef ZZZ_TEST_TLS
    cr_assert(client_handshake(c), "TLS handshake with 127.0.0.1:%u failed: %s", port,
              harness_tls_error);
#endif
}

/* A TCP connection only, even over TLS: for what happens before a
 * handshake (client_handshake may follow). */
static inline void client_open_raw(client *c, uint16_t port)
{
    memset(c, 0, sizeof *c);
    c->fd = tcp_connect_fd(port);
    cr_assert(c->fd >= 0, "connect to 127.0.0.1:%u: %s", port, strerror(-c->fd));
}

/* A client on a connected socket (tcp_connect_fd). Over TLS it runs the
 * handshake first; a server that refuses it leaves the client at end of
 * stream, so sends fail and client_wait_closed says closed. */
static inline void client_attach(client *c, int fd)
{
    memset(c, 0, sizeof *c);
    c->fd = fd;
#ifdef ZZZ_TEST_TLS
    client_handshake(c);
#endif
}

/* client_open on a socket with a small receive buffer
 * (tcp_connect_small_rcvbuf). */
static inline void client_open_small_rcvbuf(client *c, uint16_t port, int rcvbuf)
{
    client_attach(c, tcp_connect_small_rcvbuf(port, rcvbuf));
#ifdef ZZZ_TEST_TLS
    cr_assert(!c->tls_failed, "TLS handshake failed: %s", harness_tls_error);
#endif
}

static inline void client_close(client *c)
{
#ifdef ZZZ_TEST_TLS
    if (c->ssl) {
        /* A polite close (close_notify) where the session is still sound;
         * one attempt, whatever the peer did meanwhile. */
        if (!c->tls_failed && SSL_is_init_finished(c->ssl))
            SSL_shutdown(c->ssl);
        ERR_clear_error();
        SSL_free(c->ssl);
    }
#endif
    if (c->fd >= 0)
        close(c->fd);
    free(c->buf);
    memset(c, 0, sizeof *c);
    c->fd = -1;
}

/* Sends all of it; returns 0 or -errno (the peer may have closed). */
static inline int client_send(client *c, const void *data, size_t len)
{
    const char *p = data;
#ifdef ZZZ_TEST_TLS
    if (c->ssl) {
        if (c->tls_failed)
            return c->error ? -c->error : -EPIPE;
        /* Each wait for the socket is bounded, as SO_SNDTIMEO bounds send(). */
        uint64_t give_up = now_ms() + HANG_GUARD_MS;
        while (len > 0) {
            ERR_clear_error();
            errno = 0;
            int n = SSL_write(c->ssl, p, len > INT_MAX ? INT_MAX : (int)len);
            if (n > 0) {
                p += n;
                len -= (size_t)n;
                give_up = now_ms() + HANG_GUARD_MS;
                continue;
            }
            int e = SSL_get_error(c->ssl, n);
            if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
                if (harness_wait_fd(c->fd, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, give_up))
                    continue;
                return -ETIMEDOUT;
            }
            int err = harness_tls_errno(c, e, "write");
            return err ? -err : -EPIPE;
        }
        return 0;
    }
#endif
    while (len > 0) {
        ssize_t n = send(c->fd, p, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static inline void client_send_str(client *c, const char *text)
{
    int err = client_send(c, text, strlen(text));
    cr_assert_eq(err, 0, "send: %s", strerror(-err));
}

/* One recv into the buffer, waiting at most timeout_ms. Returns the count,
 * 0 at end of stream, -ETIMEDOUT, or -errno. */
static inline ssize_t client_recv_some(client *c, int timeout_ms)
{
    if (c->eof)
        return 0;
    if (c->cap - c->len < 65536) {
        c->cap = c->cap ? c->cap * 2 : 131072;
        c->buf = realloc(c->buf, c->cap);
        cr_assert(c->buf);
    }
#ifdef ZZZ_TEST_TLS
    if (c->ssl) {
        /* Poll only when OpenSSL holds nothing already read; a partial
         * record (WANT_READ) waits for more within the same bound. */
        uint64_t give_up = now_ms() + (uint64_t)(timeout_ms > 0 ? timeout_ms : 0);
        for (;;) {
            if (c->tls_failed) {
                c->eof = true;
                return c->error ? -c->error : 0;
            }
            if (!SSL_has_pending(c->ssl) && !harness_wait_fd(c->fd, POLLIN, give_up))
                return -ETIMEDOUT;
            size_t room = c->cap - c->len;
            ERR_clear_error();
            errno = 0;
            int n = SSL_read(c->ssl, c->buf + c->len, room > INT_MAX ? INT_MAX : (int)room);
            if (n > 0) {
                c->len += (size_t)n;
                return n;
            }
            int e = SSL_get_error(c->ssl, n);
            if (e == SSL_ERROR_WANT_READ) {
                /* Part of a record is buffered (SSL_has_pending is true
                 * for it, so the poll above is skipped): wait for the rest
                 * here, or a record cut short would spin past the bound. */
                if (!harness_wait_fd(c->fd, POLLIN, give_up))
                    return -ETIMEDOUT;
                continue;
            }
            if (e == SSL_ERROR_WANT_WRITE) {
                if (!harness_wait_fd(c->fd, POLLOUT, give_up))
                    return -ETIMEDOUT;
                continue;
            }
            int err = harness_tls_errno(c, e, "read");
            c->eof = true;
            c->error = err;
            return err ? -err : 0;
        }
    }
#endif
    struct pollfd p = {.fd = c->fd, .events = POLLIN};
    int r;
    do
        r = poll(&p, 1, timeout_ms);
    while (r < 0 && errno == EINTR);
    if (r == 0)
        return -ETIMEDOUT;
    ssize_t n = recv(c->fd, c->buf + c->len, c->cap - c->len, 0);
    if (n > 0) {
        c->len += (size_t)n;
        return n;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        return -ETIMEDOUT;
    c->eof = true;
    c->error = n < 0 ? errno : 0;
    return n < 0 ? -errno : 0;
}

/* Drops the first n buffered bytes. */
static inline void client_consume(client *c, size_t n)
{
    memmove(c->buf, c->buf + n, c->len - n);
    c->len -= n;
}

/* Waits (bounded) for the server to close the connection. Returns true
 * when it did; *extra gets the bytes that arrived meanwhile (should be 0). */
static inline bool client_wait_closed(client *c, unsigned timeout_ms, size_t *extra)
{
    size_t before = c->len;
    uint64_t give_up = now_ms() + timeout_ms;
    while (!c->eof) {
        uint64_t t = now_ms();
        if (t >= give_up)
            break;
        client_recv_some(c, (int)(give_up - t));
    }
    if (extra)
        *extra = c->len - before;
    return c->eof;
}

/* ---- responses ----------------------------------------------------------------- */

typedef struct response {
    int status;
    int minor;
    char *head; /* the status line and headers, NUL-terminated */
    char *body; /* de-chunked, NUL-terminated */
    size_t body_len;
    bool chunked;
    long long content_length; /* -1 when absent */
    size_t raw_len;           /* bytes of the response on the wire */
} response;

static inline void response_free(response *r)
{
    free(r->head);
    free(r->body);
    memset(r, 0, sizeof *r);
}

/* The value of the first header `name` (any case) in r, copied into a
 * static buffer; NULL when absent. */
static inline const char *resp_header(const response *r, const char *name)
{
    static char value[1024];
    size_t nlen = strlen(name);
    const char *line = strstr(r->head, "\r\n");
    while (line && line[2] != '\0') {
        line += 2;
        const char *eol = strstr(line, "\r\n");
        if (!eol)
            break;
        if ((size_t)(eol - line) > nlen && line[nlen] == ':' &&
            strncasecmp(line, name, nlen) == 0) {
            const char *v = line + nlen + 1;
            while (*v == ' ' || *v == '\t')
                v++;
            size_t vlen = (size_t)(eol - v);
            while (vlen > 0 && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t'))
                vlen--;
            if (vlen >= sizeof value)
                vlen = sizeof value - 1;
            memcpy(value, v, vlen);
            value[vlen] = '\0';
            return value;
        }
        line = eol;
    }
    return NULL;
}

/* The response's value of header name is value (case-insensitively). */
static inline bool header_is(const response *r, const char *name, const char *value)
{
    const char *v = resp_header(r, name);
    return v && strcasecmp(v, value) == 0;
}

static inline void expect_status(const response *r, int status)
{
    cr_assert_eq(r->status, status, "expected %d, got %d:\n%s%s", status, r->status, r->head,
                 r->body ? r->body : "");
}

static inline void expect_body(const response *r, const char *body)
{
    size_t len = strlen(body);
    cr_assert(r->body_len == len && memcmp(r->body, body, len) == 0,
              "expected body \"%s\", got %zu bytes \"%.*s\"", body, r->body_len,
              (int)(r->body_len < 200 ? r->body_len : 200), r->body);
}

static inline int resp_header_count(const response *r, const char *name)
{
    int n = 0;
    size_t nlen = strlen(name);
    for (const char *line = strstr(r->head, "\r\n"); line; line = strstr(line + 2, "\r\n"))
        if (strncasecmp(line + 2, name, nlen) == 0 && line[2 + nlen] == ':')
            n++;
    return n;
}

/* Parses one response at the start of buf. Returns its length, 0 when more
 * bytes are needed, -1 when it is malformed. head_only: the response to a
 * HEAD (no body whatever the headers say). at_eof: no more bytes will come
 * (a body delimited by the close ends here). */
static inline long parse_response(const char *buf, size_t len, bool head_only, bool at_eof,
                                  response *r)
{
    memset(r, 0, sizeof *r);
    const char *end_head = memmem(buf, len, "\r\n\r\n", 4);
    if (!end_head)
        return 0;
    size_t head_len = (size_t)(end_head - buf) + 4;
    int minor = -1, status = 0;
    if (sscanf(buf, "HTTP/1.%d %d ", &minor, &status) != 2 || status < 100 || status > 999)
        return -1;
    r->head = strndup(buf, head_len);
    r->status = status;
    r->minor = minor;
    r->content_length = -1;
    const char *cl = resp_header(r, "Content-Length");
    if (cl)
        r->content_length = strtoll(cl, NULL, 10);
    const char *te = resp_header(r, "Transfer-Encoding");
    r->chunked = te && strcasecmp(te, "chunked") == 0;
    const char *p = buf + head_len, *end = buf + len;
    if (head_only || status < 200 || status == 204 || status == 304) {
        r->body = strdup("");
        r->raw_len = head_len;
        return (long)head_len;
    }
    if (r->chunked) {
        char *body = malloc(len + 1);
        size_t blen = 0;
        for (;;) {
            const char *eol = memmem(p, (size_t)(end - p), "\r\n", 2);
            if (!eol)
                goto more;
            char *after;
            unsigned long long size = strtoull(p, &after, 16);
            if (after == p) {
                free(body);
                free(r->head);
                r->head = NULL;
                return -1;
            }
            p = eol + 2;
            if (size == 0) {
                /* trailers until an empty line */
                for (;;) {
                    const char *tl = memmem(p, (size_t)(end - p), "\r\n", 2);
                    if (!tl)
                        goto more;
                    bool empty = tl == p;
                    p = tl + 2;
                    if (empty)
                        break;
                }
                break;
            }
            if ((size_t)(end - p) < size + 2)
                goto more;
            memcpy(body + blen, p, size);
            blen += size;
            p += size + 2;
        }
        body[blen] = '\0';
        r->body = body;
        r->body_len = blen;
        r->raw_len = (size_t)(p - buf);
        return (long)r->raw_len;
    more:
        free(body);
        free(r->head);
        r->head = NULL;
        return 0;
    }
    size_t blen;
    if (r->content_length >= 0) {
        if ((size_t)(end - p) < (size_t)r->content_length) {
            free(r->head);
            r->head = NULL;
            return 0;
        }
        blen = (size_t)r->content_length;
    } else {
        if (!at_eof) {
            free(r->head);
            r->head = NULL;
            return 0;
        }
        blen = (size_t)(end - p);
    }
    r->body = malloc(blen + 1);
    memcpy(r->body, p, blen);
    r->body[blen] = '\0';
    r->body_len = blen;
    r->raw_len = head_len + blen;
    return (long)r->raw_len;
}

/* Reads one whole response (bounded wait). Returns 0, or -1 when the
 * connection ended first or the bytes were not a response. */
static inline int client_read_response_ex(client *c, response *r, bool head_only)
{
    uint64_t give_up = now_ms() + HANG_GUARD_MS;
    for (;;) {
        long n = parse_response(c->buf ? c->buf : "", c->len, head_only, c->eof, r);
        if (n > 0) {
            client_consume(c, (size_t)n);
            return 0;
        }
        if (n < 0 || c->eof)
            return -1;
        uint64_t t = now_ms();
        if (t >= give_up)
            return -1;
        client_recv_some(c, (int)(give_up - t));
    }
}

static inline void client_response(client *c, response *r)
{
    int err = client_read_response_ex(c, r, false);
    cr_assert_eq(err, 0, "no complete response (got %zu bytes: %.*s)", c->len,
                 (int)(c->len < 300 ? c->len : 300), c->buf ? c->buf : "");
}

static inline void client_response_head(client *c, response *r)
{
    int err = client_read_response_ex(c, r, true);
    cr_assert_eq(err, 0, "no complete response to HEAD (got %zu bytes)", c->len);
}

/* One request on a fresh connection: sends it, reads the response. */
static inline void exchange(uint16_t port, const char *request, response *r)
{
    client c;
    client_open(&c, port);
    client_send_str(&c, request);
    client_response(&c, r);
    client_close(&c);
}

/* Expects an error response: the status, Connection: close, then the
 * connection closed with nothing after the response. */
static inline void expect_error_and_close(client *c, int status)
{
    response r;
    client_response(c, &r);
    cr_assert_eq(r.status, status, "expected %d, got %d:\n%s", status, r.status, r.head);
    const char *conn = resp_header(&r, "Connection");
    cr_assert(conn && strcasecmp(conn, "close") == 0, "a %d without Connection: close:\n%s", status,
              r.head);
    response_free(&r);
    size_t extra = 0;
    cr_assert(client_wait_closed(c, HANG_GUARD_MS, &extra), "the connection stayed open after a %d",
              status);
    cr_assert_eq(extra, 0, "%zu bytes after the %d response: %.*s", extra, status,
                 (int)(c->len < 200 ? c->len : 200), c->buf);
    cr_assert_eq(c->len, 0, "bytes after the %d response: %.*s", status,
                 (int)(c->len < 200 ? c->len : 200), c->buf);
}

/* ---- other processes --------------------------------------------------------- */

/* Runs argv (PATH searched) with `input` (NULL: nothing) on its stdin,
 * then end of file, and its stdout and stderr captured together into a
 * malloc'ed, NUL-terminated *out. Returns the exit status, -1 on a signal
 * or a hang (killed after timeout_ms). */
static inline int run_input(const char *const *argv, const char *input, char **out,
                            unsigned timeout_ms)
{
    size_t in_len = input ? strlen(input) : 0;
    cr_assert(in_len < 60000, "input too long for a pipe");
    int in[2], pipefd[2];
    cr_assert_eq(pipe2(in, O_CLOEXEC), 0);
    cr_assert_eq(pipe2(pipefd, O_CLOEXEC), 0);
    pid_t pid = fork();
    cr_assert_neq(pid, -1);
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        dup2(in[0], STDIN_FILENO);
        dup2(pipefd[1], STDOUT_FILENO);
        dup2(pipefd[1], STDERR_FILENO);
        execvp(argv[0], (char *const *)argv);
        _exit(127);
    }
    close(in[0]);
    close(pipefd[1]);
    if (in_len)
        cr_assert_eq(write(in[1], input, in_len), (ssize_t)in_len);
    close(in[1]);
    size_t len = 0, cap = 65536;
    char *buf = malloc(cap);
    uint64_t give_up = now_ms() + timeout_ms;
    bool killed = false;
    for (;;) {
        uint64_t t = now_ms();
        if (t >= give_up) {
            kill(pid, SIGKILL);
            killed = true;
            break;
        }
        struct pollfd p = {.fd = pipefd[0], .events = POLLIN};
        if (poll(&p, 1, (int)(give_up - t)) <= 0)
            continue;
        if (cap - len < 4096)
            buf = realloc(buf, cap *= 2);
        ssize_t n = read(pipefd[0], buf + len, cap - len - 1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        len += (size_t)n;
    }
    buf[len] = '\0';
    close(pipefd[0]);
    int status;
    waitpid(pid, &status, 0);
    *out = buf;
    if (killed || !WIFEXITED(status))
        return -1;
    return WEXITSTATUS(status);
}

/* run_input with nothing on stdin. */
static inline int run_capture(const char *const *argv, char **out, unsigned timeout_ms)
{
    return run_input(argv, NULL, out, timeout_ms);
}

/* Resident set size of a process, in bytes (VmRSS), or -1. */
static inline long long process_rss(pid_t pid)
{
    /* Under a wrapper (valgrind) the process is the wrapper, whose memory
     * says nothing of the server's: the test cannot measure, so it skips. */
    if (harness_wrapper())
        cr_skip_test("a server under %s has the wrapper's RSS", harness_wrapper());
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    char line[256];
    long long kb = -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %lld kB", &kb) == 1)
            break;
    fclose(f);
    return kb < 0 ? -1 : kb * 1024;
}

static inline size_t count_substr(const char *hay, const char *needle)
{
    size_t n = 0, nlen = strlen(needle);
    for (const char *p = strstr(hay, needle); p; p = strstr(p + nlen, needle))
        n++;
    return n;
}

#endif
