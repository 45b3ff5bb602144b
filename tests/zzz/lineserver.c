/* A small line protocol on the zzz server, run by the tests (line_test.c,
 * tls_test.c) as a child process. It uses only what any protocol can:
 * per-thread state through the thread hooks, the connection calls, the
 * ALPN result, and a hand-over to a second protocol with the bytes that
 * came with the switch. Prints "listening on 127.0.0.1:PORT (driver D, N
 * threads)" once up; at exit, "thread N stopped after C commands" for
 * each thread, then "destroyed".
 *
 *   PING     ->  PONG
 *   THREAD   ->  THREAD <n> <c>: the serving thread's number (from 1, in
 *                the order the threads started) and the commands it has
 *                served, this one included
 *   ALPN     ->  ALPN <protocol agreed through TLS ALPN>, "ALPN -" when
 *                none was, "ALPN none" without TLS
 *   UPPER    ->  UPPER; the connection is then the upper protocol's: the
 *                bytes that follow come back in upper case, for good
 *   QUIT     ->  BYE, and the server closes the connection
 *   other    ->  ERROR
 */
#include <zzz.h>

#include <ctype.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One per thread, made by on_thread_start. */
typedef struct line_thread {
    unsigned number;
    unsigned long commands;
} line_thread;

typedef struct line_server {
    atomic_uint threads_started;
    int fail_thread_start; /* --fail-thread-start: the hook's error */
} line_server;

static int line_thread_start(void *user, void **thread_data)
{
    line_server *ls = user;
    if (ls->fail_thread_start)
        return -ls->fail_thread_start;
    line_thread *t = calloc(1, sizeof *t);
    if (!t)
        return -ENOMEM;
    t->number = atomic_fetch_add(&ls->threads_started, 1) + 1;
    *thread_data = t;
    return 0;
}

static void line_thread_stop(void *user, void *thread_data)
{
    (void)user;
    line_thread *t = thread_data;
    printf("thread %u stopped after %lu commands\n", t->number, t->commands);
    fflush(stdout);
    free(t);
}

static void line_destroy(void *user)
{
    (void)user;
    printf("destroyed\n");
    fflush(stdout);
}

/* The protocol a connection is handed to by UPPER: every byte back in
 * upper case, as it comes. */
static zzz_conn_next upper_on_conn(zzz_conn *conn, void *user)
{
    (void)user;
    zzz_buf *in = zzz_conn_buf(conn);
    if (!in->data)
        return ZZZ_CLOSE;
    for (;;) {
        char chunk[512];
        while (in->len > 0) {
            size_t n = in->len < sizeof chunk ? in->len : sizeof chunk;
            for (size_t i = 0; i < n; i++)
                chunk[i] = (char)toupper((unsigned char)in->data[i]);
            if (zzz_conn_out(conn, chunk, n) != 0)
                return ZZZ_CLOSE;
            zzz_conn_consume(conn, n);
        }
        ssize_t got = zzz_conn_fill_now(conn);
        if (got == -EAGAIN)
            return ZZZ_WAIT; /* the server sends what is queued, then waits */
        if (got <= 0)
            return ZZZ_CLOSE;
    }
}

static bool is_command(const char *line, size_t len, const char *name)
{
    return len == strlen(name) && memcmp(line, name, len) == 0;
}

/* Answers one command (len bytes, without its CRLF or LF) and consumes
 * its line (line_len bytes). Returns 1 to go on, 0 when the connection
 * was handed over or is to close (*close), -errno on failure. */
static int line_command(zzz_conn *conn, line_thread *t, const char *line, size_t len,
                        size_t line_len, bool *close)
{
    t->commands++;
    char reply[128];
    int n;
    if (is_command(line, len, "PING")) {
        n = snprintf(reply, sizeof reply, "PONG\n");
    } else if (is_command(line, len, "THREAD")) {
        n = snprintf(reply, sizeof reply, "THREAD %u %lu\n", t->number, t->commands);
    } else if (is_command(line, len, "ALPN")) {
        zzz_tls_info info;
        if (!zzz_conn_tls(conn, &info))
            n = snprintf(reply, sizeof reply, "ALPN none\n");
        else
            n = snprintf(reply, sizeof reply, "ALPN %s\n", info.alpn ? info.alpn : "-");
    } else if (is_command(line, len, "UPPER")) {
        int err = zzz_conn_out(conn, "UPPER\n", 6);
        if (err)
            return err;
        /* What follows the line is the upper protocol's, already here or not. */
        zzz_conn_consume(conn, line_len);
        return zzz_conn_hand_over(conn, upper_on_conn, NULL);
    } else if (is_command(line, len, "QUIT")) {
        *close = true;
        n = snprintf(reply, sizeof reply, "BYE\n");
    } else {
        n = snprintf(reply, sizeof reply, "ERROR\n");
    }
    int err = zzz_conn_out(conn, reply, (size_t)n);
    if (err)
        return err;
    zzz_conn_consume(conn, line_len);
    return *close ? 0 : 1;
}

/* Answers every whole line there is, then says what comes next: a
 * partial line waits with the connection (no task held), and the server
 * sends what is queued before it waits. */
static zzz_conn_next line_on_conn(zzz_conn *conn, void *user)
{
    (void)user;
    line_thread *t = zzz_conn_thread_data(conn);
    zzz_buf *in = zzz_conn_buf(conn);
    if (!in->data)
        return ZZZ_CLOSE;
    for (;;) {
        char *nl = in->len ? memchr(in->data, '\n', in->len) : NULL;
        if (nl) {
            size_t len = (size_t)(nl - in->data);
            size_t cmd_len = len > 0 && in->data[len - 1] == '\r' ? len - 1 : len;
            bool close = false;
            int r = line_command(conn, t, in->data, cmd_len, len + 1, &close);
            if (r < 0 || close)
                return ZZZ_CLOSE;
            if (r == 0)
                return ZZZ_WAIT; /* handed over: the upper protocol goes on */
            continue;
        }
        if (in->len == in->cap) {
            zzz_conn_out(conn, "ERROR\n", 6);
            return ZZZ_CLOSE;
        }
        ssize_t got = zzz_conn_fill_now(conn);
        if (got == -EAGAIN)
            return ZZZ_WAIT;
        if (got <= 0)
            return ZZZ_CLOSE;
    }
}

static void on_start(zzz_server *server, const char *driver, void *arg)
{
    (void)arg;
    printf("listening on 127.0.0.1:%u (driver %s, %u threads)\n", zzz_server_port(server), driver,
           zzz_server_threads(server));
    fflush(stdout);
}

static int usage(const char *prog)
{
    fprintf(stderr,
            "usage: %s [--port N] [--threads N] [--tls-cert FILE --tls-key FILE]\n"
            "  [--alpn NAME,NAME...] [--fail-thread-start ERRNO]\n",
            prog);
    return 2;
}

int main(int argc, char **argv)
{
    static line_server ls;
    zzz_server_config cfg = {.host = "127.0.0.1", .threads = 1};
    zzz_tls_cert cert = {0};
    enum { MAX_ALPN = 8 };
    const char *alpn[MAX_ALPN + 1] = {NULL};
    char alpn_text[1024] = "";
    zzz_tls_config tls = {.certs = &cert, .cert_count = 1};
    for (int i = 1; i < argc; i++) {
        const char *flag = argv[i];
        if (i + 1 >= argc)
            return usage(argv[0]);
        const char *arg = argv[++i];
        if (strcmp(flag, "--port") == 0) {
            cfg.port = (uint16_t)atoi(arg);
        } else if (strcmp(flag, "--threads") == 0) {
            cfg.threads = (unsigned)atoi(arg);
        } else if (strcmp(flag, "--tls-cert") == 0) {
            cert.cert_file = arg;
        } else if (strcmp(flag, "--tls-key") == 0) {
            cert.key_file = arg;
        } else if (strcmp(flag, "--alpn") == 0) {
            snprintf(alpn_text, sizeof alpn_text, "%s", arg);
            unsigned count = 0;
            for (char *save = NULL, *name = strtok_r(alpn_text, ",", &save);
                 name && count < MAX_ALPN; name = strtok_r(NULL, ",", &save))
                alpn[count++] = name;
            alpn[count] = NULL;
            tls.alpn = alpn;
        } else if (strcmp(flag, "--fail-thread-start") == 0) {
            ls.fail_thread_start = atoi(arg);
        } else {
            return usage(argv[0]);
        }
    }
    if (cert.cert_file)
        cfg.tls = &tls;
    cfg.on_conn = line_on_conn;
    cfg.on_thread_start = line_thread_start;
    cfg.on_thread_stop = line_thread_stop;
    cfg.on_destroy = line_destroy;
    cfg.user = &ls;
    cfg.on_start = on_start;
    zzz_server *server;
    int err = zzz_server_create(&server, &cfg);
    if (err) {
        fprintf(stderr, "lineserver: cannot start: %s: %s\n", strerror(-err), zzz_last_error());
        return 1;
    }
    err = zzz_server_run(server);
    zzz_server_destroy(server);
    if (err) {
        fprintf(stderr, "lineserver: %s\n", strerror(-err));
        return 1;
    }
    return 0;
}
