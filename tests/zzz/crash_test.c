/* Crashes contained: a handler that overflows its stack kills the server
 * with a message naming the stack size (faultserver.c, GET /overflow);
 * handlers that never return are cut at the drain timeout and the server
 * still exits 0; clients that reset in the middle of responses (writev
 * and sendfile, plain and TLS) never kill the server with SIGPIPE. Once
 * per driver; built again with ZZZ_TEST_TLS for the TLS resets. */
#include "harness.h"

TestSuite(crash, .fini = harness_cleanup, .timeout = 120);

/* ---- resets mid-response: SIGPIPE --------------------------------------------- */

/* Closes c with a reset (SO_LINGER 0) instead of a FIN: the server's next
 * write fails with ECONNRESET or EPIPE. */
static void close_with_reset(client *c)
{
    struct linger lg = {.l_onoff = 1, .l_linger = 0};
    setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
#ifdef ZZZ_TEST_TLS
    /* no close_notify: the session just vanishes */
    if (c->ssl) {
        SSL_free(c->ssl);
        c->ssl = NULL;
    }
#endif
    client_close(c);
}

/* Requests many large answers (pipelined), takes a few kilobytes of them,
 * resets; `rounds` times over, with the reset coming after different
 * amounts. Returns the bytes the clients took in all. */
static size_t reset_mid_response(uint16_t port, const char *request, int rounds)
{
    size_t taken = 0;
    for (int i = 0; i < rounds; i++) {
        client c;
        client_open(&c, port);
        for (int k = 0; k < 4; k++)
            client_send_str(&c, request);
        size_t want = 1000 + (size_t)i * 3000;
        uint64_t give_up = now_ms() + HANG_GUARD_MS;
        while (c.len < want && !c.eof && now_ms() < give_up)
            client_recv_some(&c, 200);
        cr_assert(c.len >= want, "round %d: only %zu bytes of the answers", i, c.len);
        taken += c.len;
        close_with_reset(&c);
    }
    return taken;
}

Test(crash, resets_mid_response_never_kill_the_server)
{
    char dir[256];
    harness_temp_dir(dir, sizeof dir, "crash");
    char path[300];
    snprintf(path, sizeof path, "%s/big.bin", dir);
    size_t file_size = 8u << 20;
    char *data = harness_random_bytes(file_size, 7);
    harness_write_path(path, data, file_size, 0644);
    free(data);

    server s;
    /* small send buffers, so that the server is always mid-write */
    server_start(&s, binary_path("ZZZ_TESTSERVER"),
                 (const char *const[]){"--big-size", "4000000", "--send-buffer", "16384",
                                       "--file-dir", dir, NULL});
    uint64_t t0 = now_ms();
    size_t taken = reset_mid_response(s.port, "GET /big HTTP/1.1\r\nHost: x\r\n\r\n", 12);
    taken += reset_mid_response(s.port, "GET /file/big.bin HTTP/1.1\r\nHost: x\r\n\r\n", 12);
    taken += reset_mid_response(s.port, "GET /file/big.bin?chunked=1&parts=7 HTTP/1.1\r\nHost: x\r\n\r\n",
                                6);
    fprintf(stderr, "crash: 30 clients reset mid-response (%s, %s) after %zu bytes in all, %llu ms\n",
#ifdef ZZZ_TEST_TLS
            "TLS",
#else
            "plain",
#endif
            s.driver, taken, (unsigned long long)(now_ms() - t0));
    /* alive, and serving */
    response r;
    exchange(s.port, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", &r);
    expect_status(&r, 200);
    expect_body(&r, "Hello, World!");
    response_free(&r);
    cr_assert_eq(waitpid(s.pid, NULL, WNOHANG), 0, "the server died");
    server_stop(&s); /* exits 0: not killed by a signal */
    harness_remove_tree(dir);
}

#ifndef ZZZ_TEST_TLS

/* ---- the fault server --------------------------------------------------------- */

/* Starts faultserver.c with its stderr in a temporary file (err_path). */
static void start_fault(server *s, char *err_path, size_t cap, const char *const *args)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(err_path, cap, "%s/zzz-fault-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    int fd = mkstemp(err_path);
    cr_assert(fd >= 0, "mkstemp: %s", strerror(errno));
    fflush(stderr);
    int saved = dup(2);
    dup2(fd, 2);
    close(fd);
    server_start(s, binary_path("ZZZ_FAULTSERVER"), args);
    dup2(saved, 2);
    close(saved);
}

static char *slurp(const char *path)
{
    static char text[8192];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t n = fd >= 0 ? read(fd, text, sizeof text - 1) : -1;
    text[n > 0 ? n : 0] = '\0';
    if (fd >= 0)
        close(fd);
    return text;
}

/* A handler that overflows its stack: the process dies of SIGSEGV (the
 * guard page, not silent corruption), and stderr names the stack size
 * the server was configured with. */
static void overflow_with(const char *stack_size, const char *want)
{
    server s;
    char err_path[256];
    start_fault(&s, err_path, sizeof err_path,
                (const char *const[]){"--stack-size", stack_size, NULL});
    /* another connection, served before the fault */
    response r;
    exchange(s.port, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", &r);
    expect_status(&r, 200);
    response_free(&r);
    client c;
    client_open(&c, s.port);
    uint64_t t0 = now_ms();
    client_send_str(&c, "GET /overflow HTTP/1.1\r\nHost: x\r\n\r\n");
    int status = server_wait(&s, HANG_GUARD_MS);
    uint64_t took = now_ms() - t0;
    client_close(&c);
    const char *err = slurp(err_path);
    unlink(err_path);
    cr_assert_neq(status, -1, "the server did not die of its overflow");
    cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV,
              "the server did not die of SIGSEGV (status %#x); stderr:\n%s", status, err);
    cr_assert(strstr(err, want), "no \"%s\" in the server's stderr:\n%s", want, err);
    cr_assert(strstr(err, "raise tardy_config.stack_size"), "stderr:\n%s", err);
    fprintf(stderr, "crash: overflow of a %s-byte stack (%s): SIGSEGV after %llu ms\n",
            stack_size, s.driver, (unsigned long long)took);
}

Test(crash, stack_overflow_names_the_stack_size)
{
    overflow_with("65536", "tardy: task stack overflow (stack size 65536 bytes)");
    overflow_with("262144", "tardy: task stack overflow (stack size 262144 bytes)");
}

/* Handlers that never return (sleeping, yielding, reading in a loop and
 * ignoring every error, cancellation included) hold only their own
 * connections: others are served meanwhile; at SIGTERM the server exits
 * 0 within the drain timeout all the same. */
Test(crash, endless_handlers_are_cut_at_the_drain_timeout)
{
    server s;
    char err_path[256];
    start_fault(&s, err_path, sizeof err_path,
                (const char *const[]){"--drain-timeout-ms", "800", "--read-timeout-ms", "200",
                                      NULL});
    const char *paths[] = {"/hang-sleep", "/hang-yield", "/hang-read", "/hang-yield"};
    client stuck[4];
    for (int i = 0; i < 4; i++) {
        client_open(&stuck[i], s.port);
        char req[128];
        snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", paths[i]);
        client_send_str(&stuck[i], req);
    }
    sleep_ms(300);
    for (int i = 0; i < 5; i++) {
        response r;
        exchange(s.port, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", &r);
        expect_status(&r, 200);
        expect_body(&r, "Hello, World!");
        response_free(&r);
    }
    uint64_t t0 = now_ms();
    cr_assert_eq(kill(s.pid, SIGTERM), 0);
    int status = server_wait(&s, HANG_GUARD_MS);
    uint64_t took = now_ms() - t0;
    const char *err = slurp(err_path);
    unlink(err_path);
    cr_assert_neq(status, -1, "endless handlers kept the server alive %d ms after SIGTERM",
                  HANG_GUARD_MS);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %#x; stderr:\n%s", status,
              err);
    /* closed, with nothing half-sent: no answer was begun */
    for (int i = 0; i < 4; i++) {
        cr_assert(client_wait_closed(&stuck[i], 3000, NULL), "%s still open", paths[i]);
        cr_assert_eq(stuck[i].len, 0, "%s got %zu bytes", paths[i], stuck[i].len);
        client_close(&stuck[i]);
    }
    fprintf(stderr, "crash: 4 endless handlers (%s): exit 0 %llu ms after SIGTERM "
                    "(drain timeout 800 ms)\n",
            s.driver, (unsigned long long)took);
    /* loose: the drain timeout, plus start-up noise on a loaded machine */
    cr_assert(took < 5000, "exit took %llu ms", (unsigned long long)took);
}

#endif
