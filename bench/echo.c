/* bench-echo: TCP echo round trips per second over 127.0.0.1 on the driver
 * TARDY_DRIVER selects. C client tasks each send a 64-byte message and
 * wait for it to come back, R times, to an echo server task per
 * connection, which echoes until its client closes; with --threads 1 (the
 * default) clients and servers share one runtime, with --threads 2 they
 * run in two runtimes (two threads). The clock runs from the moment every
 * client is connected and warmed up to the end of the last client's round
 * trips; the median of the repetitions (each a fresh tardy_run with fresh
 * connections) is reported. */
#include "bench_util.h"
#include "tardy.h"

#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define ECHO_MAX_CONNS 4096u
#define ECHO_MSG_SIZE 64u
#define ECHO_WARMUP_TRIPS 50u
#define ECHO_CONNECT_WAIT_NS (5ull * 1000000000u) /* bound on one connect */
#define ECHO_EOF_WAIT_NS (5ull * 1000000000u)     /* last echo to end of stream */

static struct {
    unsigned conns;
    unsigned threads;
    uint64_t per_conn; /* round trips per connection */
} cfg;

/* One repetition's state. Clients all live in one runtime and servers in
 * one, so plain counters are enough. */
static struct {
    int listener;
    struct sockaddr_in addr;
    unsigned ready;    /* clients connected and warmed up */
    unsigned finished; /* clients done with their round trips */
    uint64_t t_start, t_end;
    const char *driver;
} rep;

static void set_nodelay(int fd)
{
    int one = 1;
    if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) < 0)
        bench_die("setsockopt(TCP_NODELAY)", -errno);
}

static void send_all(int fd, const unsigned char *buf, size_t len)
{
    size_t sent = 0;
    while (sent < len) {
        ssize_t n = tardy_send(fd, buf + sent, len - sent, MSG_NOSIGNAL);
        if (n < 0)
            bench_die("send", (int)n);
        sent += (size_t)n;
    }
}

static void recv_all(int fd, unsigned char *buf, size_t len)
{
    size_t got = 0;
    while (got < len) {
        ssize_t n = tardy_recv(fd, buf + got, len - got, 0);
        if (n == 0)
            bench_die("recv", ECONNRESET);
        if (n < 0)
            bench_die("recv", (int)n);
        got += (size_t)n;
    }
}

/* Echoes until the client closes its end (recv returns 0). Once the
 * client's last round trip has been echoed, the end of stream must follow
 * promptly: a deadline bounds that wait (it starts after the timed part,
 * so it costs the round trips nothing), and a run in which the end of
 * stream never comes fails instead of hanging until the watchdog. */
static void echo_server(void *arg)
{
    int fd = (int)(intptr_t)arg;
    unsigned char buf[4096];
    uint64_t expected = (ECHO_WARMUP_TRIPS + cfg.per_conn) * ECHO_MSG_SIZE;
    uint64_t echoed = 0;
    for (;;) {
        if (echoed >= expected && tardy_deadline() == 0)
            tardy_deadline_after(ECHO_EOF_WAIT_NS);
        ssize_t n = tardy_recv(fd, buf, sizeof buf, 0);
        if (n == 0)
            break;
        if (n == -ETIMEDOUT)
            bench_die("server: no end of stream after the last round trip", (int)n);
        if (n < 0)
            bench_die("server recv", (int)n);
        send_all(fd, buf, (size_t)n);
        echoed += (uint64_t)n;
    }
    if (echoed != expected)
        bench_die("server: end of stream before the last round trip", EPROTO);
    tardy_close(fd);
}

static void acceptor(void *arg)
{
    (void)arg;
    for (unsigned i = 0; i < cfg.conns; i++) {
        int fd = tardy_accept(rep.listener, NULL, NULL);
        if (fd < 0)
            bench_die("accept", fd);
        set_nodelay(fd);
        int err = tardy_spawn(echo_server, (void *)(intptr_t)fd, NULL);
        if (err)
            bench_die("spawn server", err);
    }
}

static void round_trip(int fd, uint64_t seq)
{
    unsigned char msg[ECHO_MSG_SIZE], back[ECHO_MSG_SIZE];
    memset(msg, (int)(seq & 0xff), sizeof msg);
    memcpy(msg, &seq, sizeof seq);
    send_all(fd, msg, sizeof msg);
    recv_all(fd, back, sizeof back);
    if (memcmp(msg, back, sizeof msg) != 0)
        bench_die("echo came back different", EPROTO);
}

static void client(void *arg)
{
    (void)arg;
    int fd = tardy_socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        bench_die("socket", fd);
    /* Connecting is set up, not timed; the deadline bounds it. */
    tardy_deadline_after(ECHO_CONNECT_WAIT_NS);
    int err = tardy_connect(fd, (const struct sockaddr *)&rep.addr, sizeof rep.addr);
    if (err)
        bench_die("connect", err);
    tardy_deadline_clear();
    set_nodelay(fd);
    uint64_t seq = 0;
    for (unsigned i = 0; i < ECHO_WARMUP_TRIPS; i++)
        round_trip(fd, seq++);
    /* Start together: the clock starts when the last client is ready. */
    if (++rep.ready == cfg.conns)
        rep.t_start = bench_now_ns();
    while (rep.ready < cfg.conns)
        tardy_yield();
    for (uint64_t i = 0; i < cfg.per_conn; i++)
        round_trip(fd, seq++);
    if (++rep.finished == cfg.conns)
        rep.t_end = bench_now_ns();
    tardy_close(fd);
}

static void spawn_clients(void)
{
    for (unsigned i = 0; i < cfg.conns; i++) {
        int err = tardy_spawn(client, NULL, NULL);
        if (err)
            bench_die("spawn client", err);
    }
}

/* First task of every runtime. */
static void entry(void *arg)
{
    (void)arg;
    unsigned index = tardy_runtime_index(tardy_runtime_self());
    if (index == 0) {
        rep.driver = tardy_driver_name();
        int err = tardy_spawn(acceptor, NULL, NULL);
        if (err)
            bench_die("spawn acceptor", err);
    }
    if (index == cfg.threads - 1)
        spawn_clients();
}

static void open_listener(void)
{
    int fd = tardy_socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        bench_die("socket", fd);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof addr;
    if (bind(fd, (struct sockaddr *)&addr, sizeof addr) < 0)
        bench_die("bind 127.0.0.1", -errno);
    if (listen(fd, SOMAXCONN) < 0)
        bench_die("listen", -errno);
    if (getsockname(fd, (struct sockaddr *)&addr, &len) < 0)
        bench_die("getsockname", -errno);
    rep.listener = fd;
    rep.addr = addr;
}

/* One repetition: returns round trips per second. */
static double run_once(void)
{
    memset(&rep, 0, sizeof rep);
    open_listener();
    tardy_config config = {.threads = cfg.threads, .max_tasks = 2 * cfg.conns + 8};
    int err = tardy_run(&config, entry, NULL);
    close(rep.listener);
    if (err)
        bench_die("tardy_run", err);
    double secs = (double)(rep.t_end - rep.t_start) / 1e9;
    return (double)cfg.conns * (double)cfg.per_conn / secs;
}

static unsigned long parse_number(const char *opt, const char *text, unsigned long max)
{
    char *end;
    unsigned long value = strtoul(text, &end, 10);
    if (end == text || *end != '\0' || text[0] == '-' || value == 0 || value > max) {
        fprintf(stderr, "bench-echo: %s wants a number from 1 to %lu, not '%s'\n", opt, max, text);
        exit(2);
    }
    return value;
}

static void usage(FILE *out)
{
    fprintf(out,
            "usage: bench-echo [--conns C] [--round-trips N] [--threads 1|2] [--reps R] "
            "[--quick]\n"
            "  --conns C        client connections (default 16)\n"
            "  --round-trips N  round trips in all, shared out over the connections and\n"
            "                   the repetitions (default 200000)\n"
            "  --threads 1|2    1: clients and servers in one runtime; 2: in two (default 1)\n"
            "  --reps R         repetitions, median reported (default 3)\n"
            "  --quick          a tenth of the round trips, one repetition (CI)\n"
            "The driver is the one TARDY_DRIVER names (io_uring, epoll, busy), else auto.\n");
}

int main(int argc, char **argv)
{
    static const struct option long_options[] = {
        {"conns", required_argument, NULL, 'c'},  {"round-trips", required_argument, NULL, 'n'},
        {"threads", required_argument, NULL, 't'}, {"reps", required_argument, NULL, 'r'},
        {"quick", no_argument, NULL, 'q'},        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    unsigned long conns = 16, total = 200000, threads = 1, reps = 0;
    int quick = 0, opt;
    while ((opt = getopt_long(argc, argv, "c:n:t:r:qh", long_options, NULL)) != -1) {
        switch (opt) {
        case 'c':
            conns = parse_number("--conns", optarg, ECHO_MAX_CONNS);
            break;
        case 'n':
            total = parse_number("--round-trips", optarg, 1000000000ul);
            break;
        case 't':
            threads = parse_number("--threads", optarg, 2);
            break;
        case 'r':
            reps = parse_number("--reps", optarg, 101);
            break;
        case 'q':
            quick = 1;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "bench-echo: unexpected argument '%s'\n", argv[optind]);
        usage(stderr);
        return 2;
    }
    if (quick) {
        total /= 10;
        if (!reps)
            reps = 1;
    }
    if (!reps)
        reps = 3;
    cfg.conns = (unsigned)conns;
    cfg.threads = (unsigned)threads;
    /* The round trips are shared out over the repetitions, so that the
     * default run stays at about 200k round trips in all. */
    uint64_t per_rep = total / reps;
    cfg.per_conn = per_rep / conns ? per_rep / conns : 1;

    signal(SIGPIPE, SIG_IGN);
    bench_watchdog(120);

    double rates[101];
    const char *driver = "?";
    for (unsigned long i = 0; i < reps; i++) {
        rates[i] = run_once();
        driver = rep.driver;
    }
    printf("echo driver=%s threads=%u conns=%u round_trips=%llu reps=%lu rtt_per_sec=%.0f\n",
           driver, cfg.threads, cfg.conns, (unsigned long long)(cfg.per_conn * cfg.conns * reps),
           reps, bench_median(rates, (unsigned)reps));
    return 0;
}
