/* wsload: a WebSocket load client for bench/ws/echo.sh. One thread, one
 * epoll set, N connections to an echo server on 127.0.0.1.
 *
 * Each connection does the opening handshake (RFC 6455 4.1: a 101 with
 * Upgrade: websocket and the Sec-WebSocket-Accept its key calls for),
 * then:
 *   load mode: once every connection is open, each sends masked text
 *     messages of --size bytes, --depth at a time, and sends the next as
 *     each echo comes back whole and byte for byte what was sent; for
 *     --secs seconds. Prints one line of key=value figures: messages
 *     echoed, messages/s, the round trip's p50/p99/max, and its own CPU
 *     time as a share of the run's.
 *   idle mode (--idle): opens the connections, --batch handshakes at a
 *     time so the server's listen backlog never overflows, prints
 *     "established N secs=S" once all are open (S: since the first
 *     connect), then sends nothing (it answers pings with pongs, as a
 *     browser would) until SIGTERM or --hold seconds; then prints how
 *     many the server closed meanwhile (0, or the exit status is 1).
 * Every phase is bounded in time: the handshakes by --timeout. Errors
 * (refused, a bad handshake, a wrong echo, a closed connection in load
 * mode) end it with a message on stderr and exit status 1; usage errors
 * with 2. --self-test checks the SHA-1 and the accept key alone.
 *
 * The connections themselves are in wsconn.c; the accept key's SHA-1 in
 * ws_accept.c. */
#include "wsload.h"
#include "ws_accept.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONNS 200000u
#define MAX_DEPTH 1024u
#define MAX_SIZE (16u << 20)

wsload_cfg cfg = {.path = "/",
                  .conns = 64,
                  .size = 64,
                  .depth = 1,
                  .secs = 5,
                  .timeout = 60,
                  .hold = 60,
                  .sources = 1,
                  .batch = 128,
                  .cpu = 1};
wsload_state g;

_Noreturn void fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("wsload: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static volatile sig_atomic_t stop_signal;
static void on_signal(int sig)
{
    stop_signal = sig;
}

/* ---- round-trip times: a log-linear histogram, within 1/64 ---------- */

#define HIST_BUCKETS (64 * 64)
static uint64_t hist[HIST_BUCKETS];
static uint64_t hist_max;

static unsigned hist_index(uint64_t ns)
{
    if (ns < 128)
        return (unsigned)ns;
    unsigned shift = (unsigned)(63 - __builtin_clzll(ns)) - 6;
    return shift * 64 + (unsigned)(ns >> shift);
}

void latency_add(uint64_t ns)
{
    hist[hist_index(ns)]++;
    if (ns > hist_max)
        hist_max = ns;
}

/* The middle of the bucket holding the q-quantile, in ns. */
static double hist_quantile(uint64_t count, double q)
{
    uint64_t rank = (uint64_t)(q * (double)count), seen = 0;
    for (unsigned i = 0; i < HIST_BUCKETS; i++) {
        seen += hist[i];
        if (seen > rank) {
            if (i < 128)
                return i;
            unsigned shift = i / 64 - 1;
            return (double)((uint64_t)(i % 64 + 64) << shift) + (double)(1ull << shift) / 2;
        }
    }
    return (double)hist_max;
}

/* ---- options and the main loop --------------------------------------- */

static unsigned number(const char *opt, const char *s, unsigned lo, unsigned hi)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi) {
        fprintf(stderr, "wsload: %s needs a number from %u to %u\n", opt, lo, hi);
        exit(2);
    }
    return (unsigned)v;
}

static void usage(FILE *f)
{
    fputs("usage: wsload -p PORT [-c CONNS] [-s SIZE] [-d SECS] [--depth N] [--host IPV4]\n"
          "              [--path PATH] [--timeout SECS] [--cpu N|-1] [--batch N]\n"
          "       wsload -p PORT --idle [-c CONNS] [--hold SECS] [--sources N] ...\n"
          "       wsload --self-test\n"
          "defaults: 64 connections, 64-byte messages, 5 s, depth 1, 127.0.0.1, path /,\n"
          "handshakes within 60 s, pinned to CPU 1, 128 handshakes at a time;\n"
          "idle: held 60 s at most (SIGTERM ends it), from 1 source address\n",
          f);
}

static void parse(int argc, char **argv)
{
    static const struct option opts[] = {
        {"port", required_argument, 0, 'p'},    {"conns", required_argument, 0, 'c'},
        {"size", required_argument, 0, 's'},    {"secs", required_argument, 0, 'd'},
        {"depth", required_argument, 0, 'D'},   {"host", required_argument, 0, 'H'},
        {"path", required_argument, 0, 'P'},    {"timeout", required_argument, 0, 'T'},
        {"cpu", required_argument, 0, 'C'},     {"batch", required_argument, 0, 'B'},
        {"idle", no_argument, 0, 'i'},          {"hold", required_argument, 0, 'h'},
        {"sources", required_argument, 0, 'S'}, {"self-test", no_argument, 0, 't'},
        {"help", no_argument, 0, 'x'},          {0, 0, 0, 0},
    };
    unsigned port = 0;
    const char *host = "127.0.0.1";
    int o;
    while ((o = getopt_long(argc, argv, "p:c:s:d:", opts, NULL)) != -1) {
        switch (o) {
        case 'p':
            port = number("--port", optarg, 1, 65535);
            break;
        case 'c':
            cfg.conns = number("--conns", optarg, 1, MAX_CONNS);
            break;
        case 's':
            cfg.size = number("--size", optarg, 0, MAX_SIZE);
            break;
        case 'd':
            cfg.secs = number("--secs", optarg, 1, 3600);
            break;
        case 'D':
            cfg.depth = number("--depth", optarg, 1, MAX_DEPTH);
            break;
        case 'H':
            host = optarg;
            break;
        case 'P':
            cfg.path = optarg;
            break;
        case 'T':
            cfg.timeout = number("--timeout", optarg, 1, 3600);
            break;
        case 'C':
            cfg.cpu = strcmp(optarg, "-1") == 0 ? -1 : (int)number("--cpu", optarg, 0, 4095);
            break;
        case 'B':
            cfg.batch = number("--batch", optarg, 1, MAX_CONNS);
            break;
        case 'i':
            cfg.idle = true;
            break;
        case 'h':
            cfg.hold = number("--hold", optarg, 1, 86400);
            break;
        case 'S':
            cfg.sources = number("--sources", optarg, 1, 250);
            break;
        case 't': {
            int bad = ws_accept_self_test();
            puts(bad ? "self-test failed" : "self-test passed");
            exit(bad);
        }
        case 'x':
            usage(stdout);
            exit(0);
        default:
            usage(stderr);
            exit(2);
        }
    }
    if (port == 0 || optind != argc) {
        usage(stderr);
        exit(2);
    }
    cfg.dst.sin_family = AF_INET;
    cfg.dst.sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, host, &cfg.dst.sin_addr) != 1) {
        fprintf(stderr, "wsload: --host takes an IPv4 address, not %s\n", host);
        exit(2);
    }
    if (strlen(cfg.path) > 256 || cfg.path[0] != '/') {
        fprintf(stderr, "wsload: --path must start with / and be at most 256 bytes\n");
        exit(2);
    }
}

static void setup(void)
{
    struct rlimit rl;
    rlim_t need = (rlim_t)cfg.conns + 32;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < need) {
        if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < need)
            fail("%u connections need %llu files; RLIMIT_NOFILE allows %llu", cfg.conns,
                 (unsigned long long)need, (unsigned long long)rl.rlim_max);
        rl.rlim_cur = need;
        if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
            fail("setrlimit(RLIMIT_NOFILE): %s", strerror(errno));
    }
    if (cfg.cpu >= 0) {
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET(cfg.cpu, &set);
        if (sched_setaffinity(0, sizeof set, &set) < 0)
            fprintf(stderr, "wsload: not pinned to CPU %d: %s\n", cfg.cpu, strerror(errno));
    }
    /* SIGTERM and SIGINT arrive only inside epoll_pwait: no wake-up lost. */
    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigset_t block;
    sigemptyset(&block);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGINT);
    sigprocmask(SIG_BLOCK, &block, NULL);

    g.ep = epoll_create1(EPOLL_CLOEXEC);
    if (g.ep < 0)
        fail("epoll_create1: %s", strerror(errno));
    /* Payloads are checked as they stream in: the input buffer needs to
     * hold a handshake's answer or a control frame, not a message. */
    g.in_cap = cfg.idle ? 2048 : 16384;
    g.out_cap = 1024 + (cfg.idle ? 0 : (size_t)cfg.depth * (cfg.size + 14));
    g.c = calloc(cfg.conns, sizeof *g.c);
    g.pattern = malloc(cfg.size + 1u);
    if (!g.c || !g.pattern)
        fail("out of memory");
    for (unsigned i = 0; i < cfg.size; i++)
        g.pattern[i] = (uint8_t)('a' + i % 26);
    for (unsigned i = 0; i < cfg.conns; i++) {
        conn *c = &g.c[i];
        c->fd = -1;
        c->in = malloc(g.in_cap);
        c->out = malloc(g.out_cap);
        c->sent_ns = malloc(cfg.depth * sizeof *c->sent_ns);
        if (!c->in || !c->out || !c->sent_ns)
            fail("out of memory for %u connections", cfg.conns);
    }
    if (getrandom(&g.rng, sizeof g.rng, 0) != sizeof g.rng || g.rng == 0)
        g.rng = (uint32_t)now_ns() | 1;
}

static void report_load(uint64_t end)
{
    double secs = (double)(end - g.t_start) / 1e9;
    if (g.messages == 0)
        fail("no echo came back in %.1f s", secs);
    /* Its own CPU time over the whole run, handshakes included: near 100%
     * says the client, not the server, set the pace. */
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double cpu = (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
                 (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
    printf("conns=%u size=%u depth=%u secs=%.3f messages=%llu msg_per_s=%.0f p50_us=%.1f "
           "p99_us=%.1f max_us=%.1f cpu_pct=%.0f\n",
           cfg.conns, cfg.size, cfg.depth, secs, (unsigned long long)g.messages,
           (double)g.messages / secs, hist_quantile(g.messages, 0.50) / 1e3,
           hist_quantile(g.messages, 0.99) / 1e3, (double)hist_max / 1e3,
           100 * cpu / ((double)(end - g.t_begin) / 1e9));
}

int main(int argc, char **argv)
{
    parse(argc, argv);
    setup();
    sigset_t unblocked;
    sigprocmask(SIG_SETMASK, NULL, &unblocked);
    sigdelset(&unblocked, SIGTERM);
    sigdelset(&unblocked, SIGINT);

    g.t_begin = now_ns();
    uint64_t setup_end = g.t_begin + (uint64_t)cfg.timeout * 1000000000u;
    while (g.started < cfg.conns && g.pending < cfg.batch)
        conn_start();
    struct epoll_event evs[256];
    for (;;) {
        uint64_t now = now_ns(), deadline;
        if (g.established < cfg.conns)
            deadline = setup_end;
        else
            deadline = g.t_start + (uint64_t)(cfg.idle ? cfg.hold : cfg.secs) * 1000000000u;
        if (now >= deadline && g.established < cfg.conns)
            fail("%u of %u connections open after %u s", g.established, cfg.conns, cfg.timeout);
        if (now >= deadline)
            break;
        if (stop_signal && (!cfg.idle || g.established < cfg.conns))
            fail("stopped by signal %d", (int)stop_signal);
        if (stop_signal)
            break;
        int ms = (int)((deadline - now + 999999) / 1000000);
        int n = epoll_pwait(g.ep, evs, 256, ms, &unblocked);
        if (n < 0 && errno != EINTR)
            fail("epoll_wait: %s", strerror(errno));
        for (int i = 0; i < n; i++) {
            conn *c = &g.c[evs[i].data.u32];
            if (c->state != ST_CLOSED)
                conn_event(c, evs[i].events);
        }
    }
    uint64_t end = now_ns();
    g.running = false;
    if (cfg.idle)
        printf("closed_by_server=%u held_secs=%.1f\n", g.closed_by_server,
               (double)(end - g.t_start) / 1e9);
    else
        report_load(end);
    fflush(stdout);
    for (unsigned i = 0; i < cfg.conns; i++)
        if (g.c[i].state != ST_CLOSED && g.c[i].fd >= 0)
            close(g.c[i].fd);
    return g.closed_by_server > 0;
}
