/* Integration tests of the seams any protocol on the zzz server uses,
 * through a protocol that is not HTTP: the line server (lineserver.c) as
 * a child process on 127.0.0.1, driven by raw sockets. Per-thread state
 * from the thread hooks, a partial line that waits without a task, and a
 * hand-over to a second protocol with the bytes that came with the switch.
 * Meson runs this once per I/O driver (TARDY_DRIVER, inherited). */
#include "harness.h"

TestSuite(line, .fini = harness_cleanup, .timeout = 60);

static void start_line(server *s, const char *threads)
{
    server_start(s, binary_path("ZZZ_LINESERVER"),
                 (const char *const[]){"--threads", threads, NULL});
}

/* Exactly n bytes of what the server sends next (bounded), compared. */
static void expect_bytes(client *c, const char *want)
{
    size_t n = strlen(want);
    uint64_t give_up = now_ms() + HANG_GUARD_MS;
    while (c->len < n) {
        cr_assert(!c->eof, "closed; expected \"%s\", have \"%.*s\"", want, (int)c->len,
                  c->buf ? c->buf : "");
        cr_assert(now_ms() < give_up, "expected \"%s\", have \"%.*s\"", want, (int)c->len,
                  c->buf ? c->buf : "");
        client_recv_some(c, HANG_GUARD_MS);
    }
    cr_assert(memcmp(c->buf, want, n) == 0, "expected \"%s\", got \"%.*s\"", want, (int)n, c->buf);
    client_consume(c, n);
}

/* SIGTERM; returns all the server printed after its listening line, and
 * expects a clean exit. */
static char *stop_and_read(server *s)
{
    cr_assert_eq(kill(s->pid, SIGTERM), 0);
    size_t len = 0, cap = 4096;
    char *out = malloc(cap);
    uint64_t give_up = now_ms() + HANG_GUARD_MS;
    while (harness_wait_fd(s->out_fd, POLLIN, give_up)) {
        ssize_t n = read(s->out_fd, out + len, cap - len - 1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        len += (size_t)n;
        cr_assert(len < cap - 1, "too much output");
    }
    out[len] = '\0';
    int status = server_wait(s, HANG_GUARD_MS);
    cr_assert(status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0,
              "the line server did not exit cleanly (%d):\n%s", status, out);
    return out;
}

Test(line, commands)
{
    server s;
    start_line(&s, "1");
    client c;
    client_open(&c, s.port);
    client_send_str(&c, "PING\n");
    expect_bytes(&c, "PONG\n");
    client_send_str(&c, "THREAD\r\nNOPE\nALPN\n");
    expect_bytes(&c, "THREAD 1 2\nERROR\nALPN none\n");
    /* A line in pieces: the connection waits between them with no task. */
    client_send_str(&c, "PI");
    sleep_ms(50);
    client_send_str(&c, "NG\nQU");
    expect_bytes(&c, "PONG\n");
    client_send_str(&c, "IT\n");
    expect_bytes(&c, "BYE\n");
    cr_assert(client_wait_closed(&c, HANG_GUARD_MS, NULL), "QUIT did not close");
    client_close(&c);
    server_stop(&s);
}

/* Each thread gets its own state from on_thread_start, and on_thread_stop
 * sees what it became; on_destroy comes last. */
Test(line, thread_hooks)
{
    server s;
    start_line(&s, "2");
    enum { CONNS = 12 };
    unsigned commands[3] = {0};
    for (int i = 0; i < CONNS; i++) {
        client c;
        client_open(&c, s.port);
        client_send_str(&c, "PING\nTHREAD\n");
        expect_bytes(&c, "PONG\n");
        uint64_t give_up = now_ms() + HANG_GUARD_MS;
        while (!(c.len && memchr(c.buf, '\n', c.len))) {
            cr_assert(!c.eof && now_ms() < give_up, "no THREAD answer");
            client_recv_some(&c, HANG_GUARD_MS);
        }
        unsigned number = 0;
        unsigned long count = 0;
        cr_assert_eq(sscanf(c.buf, "THREAD %u %lu\n", &number, &count), 2, "%.*s", (int)c.len,
                     c.buf);
        cr_assert(number == 1 || number == 2, "thread number %u", number);
        commands[number] += 2;
        cr_assert_eq(count, commands[number], "thread %u counted %lu commands, not %u", number,
                     count, commands[number]);
        client_close(&c);
    }
    char *out = stop_and_read(&s);
    for (unsigned t = 1; t <= 2; t++) {
        char line[96];
        snprintf(line, sizeof line, "thread %u stopped after %u commands\n", t, commands[t]);
        cr_assert(strstr(out, line), "no \"%.*s\" in:\n%s", (int)strlen(line) - 1, line, out);
    }
    const char *destroyed = strstr(out, "destroyed\n");
    cr_assert(destroyed && destroyed > strstr(out, "stopped after"),
              "on_destroy did not come last:\n%s", out);
    free(out);
}

/* A thread whose on_thread_start fails: the server stops and
 * zzz_server_run returns the hook's error. */
Test(line, thread_start_fails)
{
    char *out;
    int rc = run_capture((const char *const[]){binary_path("ZZZ_LINESERVER"), "--port", "0",
                                               "--fail-thread-start", "71", NULL},
                         &out, HANG_GUARD_MS);
    cr_assert_eq(rc, 1, "exit status %d:\n%s", rc, out);
    cr_assert(strstr(out, strerror(71)), "zzz_server_run did not return -EPROTO:\n%s", out);
    cr_assert(!strstr(out, "stopped after"), "on_thread_stop ran for a thread that failed:\n%s",
              out);
    cr_assert(strstr(out, "destroyed"), "%s", out);
    free(out);
}

/* UPPER hands the connection to the upper protocol: the bytes sent with
 * the command, in the same packet, are the new protocol's and are served
 * at once; later ones after a wait. */
Test(line, hand_over)
{
    server s;
    start_line(&s, "1");
    client c;
    client_open(&c, s.port);
    client_send_str(&c, "PING\nUPPER\nhello, ");
    expect_bytes(&c, "PONG\nUPPER\nHELLO, ");
    sleep_ms(50);
    client_send_str(&c, "world\nping\n");
    expect_bytes(&c, "WORLD\nPING\n");
    client_close(&c);

    /* The switch alone; the new protocol's first bytes come after a wait. */
    client_open(&c, s.port);
    client_send_str(&c, "UPPER\r\n");
    expect_bytes(&c, "UPPER\n");
    sleep_ms(50);
    client_send_str(&c, "quit\n");
    expect_bytes(&c, "QUIT\n");
    client_close(&c);

    /* The server still serves the line protocol on new connections. */
    client_open(&c, s.port);
    client_send_str(&c, "THREAD\n");
    expect_bytes(&c, "THREAD 1 4\n");
    client_close(&c);
    server_stop(&s);
}
