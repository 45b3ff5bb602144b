/* custom_driver: runs tardy on a driver of its own (poll_driver.c, a
 * readiness driver over poll(2)) and checks that everything a task does
 * still works on it: a TCP echo round trip over 127.0.0.1, sleeps, file
 * I/O, deadlines and cancels, a descriptor closed under a waiting task,
 * wake-ups across two runtimes; and that a driver built against another
 * version of tardy_driver.h is refused. Prints what it checked and exits
 * 1 on the first failure. */
#include "poll_driver.h"
#include "tardy.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define MS 1000000ull
#define ECHO_BYTES (1u << 20) /* more than both socket buffers: sends must wait */

static atomic_int failures;

#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "custom_driver: %s:%d: ", __FILE__, __LINE__);                         \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fputc('\n', stderr);                                                                   \
            atomic_fetch_add(&failures, 1);                                                        \
        }                                                                                          \
    } while (0)

static unsigned char pattern_byte(size_t i)
{
    return (unsigned char)(i * 7 + i / 251);
}

/* ---- TCP echo ---------------------------------------------------------- */

struct echo {
    int listener;
    int client;
    struct sockaddr_in addr;
    size_t echoed;   /* bytes the server sent back */
    size_t received; /* bytes the client got back, all checked */
};

/* Accepts one connection and echoes it until the client's end of stream. */
static void echo_server(void *arg)
{
    struct echo *e = arg;
    int fd = tardy_accept(e->listener, NULL, NULL);
    CHECK(fd >= 0, "accept: %s", strerror(-fd));
    if (fd < 0)
        return;
    char buf[16384];
    for (;;) {
        ssize_t n = tardy_recv(fd, buf, sizeof buf, 0);
        CHECK(n >= 0, "server recv: %s", strerror((int)-n));
        if (n <= 0)
            break;
        for (ssize_t off = 0; off < n;) {
            ssize_t w = tardy_send(fd, buf + off, (size_t)(n - off), 0);
            CHECK(w > 0, "server send: %s", strerror((int)-w));
            if (w <= 0)
                goto out;
            off += w;
            e->echoed += (size_t)w;
        }
    }
out:
    tardy_close(fd);
}

static void echo_writer(void *arg)
{
    struct echo *e = arg;
    static unsigned char out[ECHO_BYTES];
    for (size_t i = 0; i < sizeof out; i++)
        out[i] = pattern_byte(i);
    for (size_t off = 0; off < sizeof out;) {
        ssize_t w = tardy_send(e->client, out + off, sizeof out - off, 0);
        CHECK(w > 0, "client send: %s", strerror((int)-w));
        if (w <= 0)
            break;
        off += (size_t)w;
    }
    shutdown(e->client, SHUT_WR);
}

static void echo_reader(void *arg)
{
    struct echo *e = arg;
    unsigned char buf[8192];
    for (;;) {
        ssize_t n = tardy_recv(e->client, buf, sizeof buf, 0);
        CHECK(n >= 0, "client recv: %s", strerror((int)-n));
        if (n <= 0)
            return;
        for (ssize_t i = 0; i < n; i++) {
            if (buf[i] != pattern_byte(e->received + (size_t)i)) {
                CHECK(0, "echoed byte %zu differs", e->received + (size_t)i);
                return;
            }
        }
        e->received += (size_t)n;
    }
}

static void check_echo(void)
{
    struct echo e = {.listener = -1, .client = -1};
    e.addr.sin_family = AF_INET;
    e.addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof e.addr;
    e.listener = tardy_socket(AF_INET, SOCK_STREAM, 0);
    CHECK(e.listener >= 0, "socket: %s", strerror(-e.listener));
    if (e.listener < 0)
        return;
    /* Small socket buffers (the accepted socket inherits the listener's),
     * so that sends and receives on both sides wait in the driver. */
    int small = 4096;
    setsockopt(e.listener, SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
    setsockopt(e.listener, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    if (bind(e.listener, (struct sockaddr *)&e.addr, sizeof e.addr) != 0 ||
        listen(e.listener, 8) != 0 ||
        getsockname(e.listener, (struct sockaddr *)&e.addr, &len) != 0) {
        CHECK(0, "listen on 127.0.0.1: %s", strerror(errno));
        tardy_close(e.listener);
        return;
    }
    tardy_task server, writer, reader;
    int err = tardy_spawn(echo_server, &e, &server);
    CHECK(err == 0, "spawn: %s", strerror(-err));
    e.client = tardy_socket(AF_INET, SOCK_STREAM, 0);
    setsockopt(e.client, SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
    setsockopt(e.client, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    err = tardy_connect(e.client, (struct sockaddr *)&e.addr, sizeof e.addr);
    CHECK(err == 0, "connect: %s", strerror(-err));
    if (err == 0 && tardy_spawn(echo_writer, &e, &writer) == 0 &&
        tardy_spawn(echo_reader, &e, &reader) == 0) {
        tardy_join(writer);
        tardy_join(reader);
    }
    tardy_join(server);
    CHECK(e.echoed == ECHO_BYTES && e.received == ECHO_BYTES,
          "echo: %zu bytes sent, %zu echoed, %zu back", (size_t)ECHO_BYTES, e.echoed, e.received);
    tardy_close(e.client);
    tardy_close(e.listener);
    printf("echo: %u bytes over 127.0.0.1 and back, byte for byte\n", ECHO_BYTES);
}

/* ---- sleeps, files --------------------------------------------------- */

static void check_sleep(void)
{
    uint64_t before = tardy_now();
    int err = tardy_sleep(20 * MS);
    uint64_t took = tardy_now() - before;
    CHECK(err == 0, "sleep: %s", strerror(-err));
    CHECK(took >= 20 * MS && took < 2000 * MS, "a 20 ms sleep took %llu ns",
          (unsigned long long)took);
    printf("sleep: 20 ms took %.1f ms\n", (double)took / 1e6);
}

static void check_file(void)
{
    char path[64];
    snprintf(path, sizeof path, "/tmp/tardy-custom-driver-%ld", (long)getpid());
    static char data[100000], back[sizeof data];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (char)pattern_byte(i);
    int fd = tardy_open(path, O_CREAT | O_EXCL | O_RDWR, 0600);
    CHECK(fd >= 0, "open %s: %s", path, strerror(-fd));
    if (fd < 0)
        return;
    ssize_t w = tardy_write(fd, data, sizeof data, 0);
    ssize_t r = tardy_read(fd, back, sizeof back, 0);
    struct stat st;
    int serr = tardy_stat(path, &st);
    CHECK(w == (ssize_t)sizeof data, "write: %zd", w);
    CHECK(r == (ssize_t)sizeof back && memcmp(data, back, sizeof data) == 0, "read back: %zd", r);
    CHECK(serr == 0 && st.st_size == (off_t)sizeof data, "stat: %d", serr);
    CHECK(tardy_close(fd) == 0, "close");
    CHECK(tardy_unlink(path) == 0, "unlink");
    CHECK(tardy_open(path, O_RDONLY, 0) == -ENOENT, "open after unlink");
    printf("file: %zu bytes written, read back and stat'ed\n", sizeof data);
}

/* ---- deadlines, cancels, a close under a waiting task ------------------ */

struct parked {
    int fd;
    ssize_t result;
};

static void park_in_recv(void *arg)
{
    struct parked *p = arg;
    char c;
    p->result = tardy_recv(p->fd, &c, 1, 0);
}

static void check_cancel(void)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) != 0) {
        CHECK(0, "socketpair: %s", strerror(errno));
        return;
    }
    /* A deadline reaches the pending op through the driver's cancel. */
    char c;
    tardy_deadline_after(20 * MS);
    ssize_t r = tardy_recv(sv[0], &c, 1, 0);
    tardy_deadline_clear();
    CHECK(r == -ETIMEDOUT, "recv past its deadline: %zd", r);

    /* So does tardy_cancel. */
    struct parked p = {.fd = sv[0]};
    tardy_task t;
    tardy_spawn(park_in_recv, &p, &t);
    tardy_sleep(5 * MS);
    tardy_cancel(t);
    tardy_join(t);
    CHECK(p.result == -ECANCELED, "cancelled recv: %zd", p.result);

    /* Closing a descriptor ends what waits on it. */
    p.result = 0;
    tardy_spawn(park_in_recv, &p, &t);
    tardy_sleep(5 * MS);
    CHECK(tardy_close(sv[0]) == 0, "close");
    tardy_join(t);
    CHECK(p.result == -EBADF, "recv on a closed descriptor: %zd", p.result);
    tardy_close(sv[1]);
    printf("cancel: deadline -ETIMEDOUT, tardy_cancel -ECANCELED, close -EBADF\n");
}

static void single_entry(void *arg)
{
    (void)arg;
    const char *name = tardy_driver_name();
    CHECK(name && strcmp(name, "poll") == 0, "driver name: %s", name ? name : "(null)");
    check_sleep();
    check_file();
    check_cancel();
    check_echo();
}

/* ---- two runtimes: every message wakes the other thread's poll --------- */

#define ROUNDS 1000

struct ping_pong {
    tardy_chan *ping;
    tardy_chan *pong;
    atomic_uint done;
};

static void pair_entry(void *arg)
{
    struct ping_pong *pp = arg;
    uint64_t n;
    if (tardy_runtime_index(tardy_runtime_self()) == 0) {
        for (n = 0; n < ROUNDS; n++) {
            uint64_t back = 0;
            if (tardy_chan_send(pp->ping, &n) != 0 || tardy_chan_recv(pp->pong, &back) != 0 ||
                back != n + 1)
                break;
        }
        CHECK(n == ROUNDS, "ping-pong stopped at round %llu", (unsigned long long)n);
        atomic_store(&pp->done, (unsigned)n);
        tardy_chan_close(pp->ping);
    } else {
        while (tardy_chan_recv(pp->ping, &n) == 0) {
            n++;
            if (tardy_chan_send(pp->pong, &n) != 0)
                break;
        }
    }
}

int main(void)
{
    alarm(60); /* never outlive a harness that forgot us */

    /* A driver built against another tardy_driver.h is refused up front. */
    struct tardy_driver_ops other = poll_driver;
    other.api_version = TARDY_DRIVER_API_VERSION + 1;
    tardy_config cfg = {.threads = 1, .custom_driver = &other};
    int err = tardy_run(&cfg, single_entry, NULL);
    CHECK(err == -EPROTO, "a driver of API version %u: tardy_run returned %d (%s)",
          other.api_version, err, strerror(-err));
    printf("version: a driver of API version %u is refused (%s)\n", other.api_version,
           strerror(-err));

    cfg.custom_driver = &poll_driver;
    err = tardy_run(&cfg, single_entry, NULL);
    CHECK(err == 0, "tardy_run: %s", strerror(-err));

    struct ping_pong pp = {0};
    if (tardy_chan_create(&pp.ping, sizeof(uint64_t), 1) != 0 ||
        tardy_chan_create(&pp.pong, sizeof(uint64_t), 1) != 0) {
        fprintf(stderr, "custom_driver: out of memory\n");
        return 1;
    }
    cfg.threads = 2;
    err = tardy_run(&cfg, pair_entry, &pp);
    CHECK(err == 0, "tardy_run on two threads: %s", strerror(-err));
    printf("wake: %u round trips between two runtimes\n", atomic_load(&pp.done));
    tardy_chan_destroy(pp.ping);
    tardy_chan_destroy(pp.pong);

    int failed = atomic_load(&failures);
    if (failed) {
        fprintf(stderr, "custom_driver: %d check(s) failed\n", failed);
        return 1;
    }
    printf("all checks passed (driver poll)\n");
    return 0;
}
