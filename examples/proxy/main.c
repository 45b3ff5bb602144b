/* proxy: a TCP proxy on tardy, in straight-line code. Each runtime accepts
 * on its own SO_REUSEPORT socket; each connection is two tasks, one per
 * direction, that copy until their side ends and then half-close the
 * other. The upstream is resolved by name for every connection, on the
 * blocking pool, and connected to within a timeout. SIGTERM drains. */
#include "tardy.h"

#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#define PROXY_MAX_THREADS 256u
#define SEC 1000000000ull

static struct {
    char to_host[256];
    uint16_t to_port;
    unsigned long max_conns;
    unsigned long connect_timeout_ms;
    unsigned long drain_timeout_ms;
} opt = {.max_conns = 1024, .connect_timeout_ms = 5000, .drain_timeout_ms = 10000};

static int listeners[PROXY_MAX_THREADS];
static tardy_task acceptors[PROXY_MAX_THREADS];
static atomic_int conns;       /* connections being served */
static atomic_bool draining;
static atomic_int failed;
static int sigfd = -1;
static char listen_label[300];

static void usage(FILE *out)
{
    fprintf(out, "usage: proxy --listen ADDR:PORT --to HOST:PORT [options]\n"
                 "  --listen ADDR:PORT     numeric address to accept on (port 0: any free)\n"
                 "  --to HOST:PORT         upstream, a name or an address ([v6]:port)\n"
                 "  --threads N            runtimes, each with its own listener (default 1)\n"
                 "  --max-conns N          connections at once, past that refused (default 1024)\n"
                 "  --connect-timeout MS   lookup and connect to the upstream (default 5000)\n"
                 "  --drain-timeout MS     on SIGTERM, how long open connections may finish\n"
                 "                         (default 10000); a second SIGTERM stops at once\n");
}

static int parse_unsigned(const char *text, unsigned long max, unsigned long *out)
{
    char *end;
    errno = 0;
    unsigned long value = strtoul(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || text[0] == '-' || value > max)
        return -1;
    *out = value;
    return 0;
}

/* HOST:PORT or [V6]:PORT into host and port. */
static int split_host_port(const char *text, char *host, size_t cap, unsigned long *port)
{
    const char *colon = strrchr(text, ':');
    if (!colon || colon == text)
        return -1;
    const char *h = text;
    size_t hlen = (size_t)(colon - text);
    if (h[0] == '[') {
        if (hlen < 3 || h[hlen - 1] != ']')
            return -1;
        h++;
        hlen -= 2;
    }
    if (hlen >= cap)
        return -1;
    memcpy(host, h, hlen);
    host[hlen] = '\0';
    return parse_unsigned(colon + 1, 65535, port);
}

/* ---- one connection ---------------------------------------------------- */

typedef struct pipe_half {
    int from;
    int to;
    ssize_t error; /* 0, or why the copy stopped early */
} pipe_half;

/* Copies until `from` ends, then tells `to` that no more is coming. */
static void copy(pipe_half *h)
{
    char buf[16384];
    for (;;) {
        ssize_t n = tardy_recv(h->from, buf, sizeof buf, 0);
        if (n <= 0) {
            if (n == 0)
                shutdown(h->to, SHUT_WR);
            h->error = n;
            return;
        }
        for (ssize_t sent = 0; sent < n;) {
            ssize_t w = tardy_send(h->to, buf + sent, (size_t)(n - sent), 0);
            if (w < 0) {
                h->error = w;
                return;
            }
            sent += w;
        }
    }
}

static void copy_task(void *arg)
{
    copy(arg);
}

static void serve(void *arg)
{
    int client = (int)(intptr_t)arg;
    int upstream = tardy_connect_host(opt.to_host, opt.to_port, opt.connect_timeout_ms * 1000000ull);
    if (upstream < 0) {
        if (upstream != -ECANCELED)
            fprintf(stderr, "proxy: upstream %s:%u: %s\n", opt.to_host, opt.to_port,
                    strerror(-upstream));
        goto out;
    }
    pipe_half down = {.from = upstream, .to = client};
    pipe_half up = {.from = client, .to = upstream};
    tardy_task other;
    if (tardy_spawn(copy_task, &down, &other) != 0) {
        fprintf(stderr, "proxy: no task for the upstream's direction\n");
        tardy_close(upstream);
        goto out;
    }
    copy(&up);
    /* One side failing (a reset, not an orderly end) ends both. */
    if (up.error < 0)
        tardy_cancel(other);
    while (tardy_join(other) != 0)
        ; /* a cancel aimed at us: the copy of the other half still needs its buffers */
    tardy_close(upstream);
out:
    tardy_close(client);
    atomic_fetch_sub(&conns, 1);
}

/* ---- accepting, draining ---------------------------------------------- */

static void accept_loop(void *arg)
{
    (void)arg;
    unsigned index = tardy_runtime_index(tardy_runtime_self());
    acceptors[index] = tardy_self();
    int listener = listeners[index];
    if (index == 0) {
        printf("proxy: listening on %s, to %s:%u (driver %s, %u threads)\n", listen_label,
               opt.to_host, opt.to_port, tardy_driver_name(), tardy_runtime_count());
        fflush(stdout);
    }
    while (!atomic_load(&draining)) {
        int fd = tardy_accept(listener, NULL, NULL);
        if (fd < 0) {
            if (fd == -ECANCELED)
                break;
            if (fd == -ECONNABORTED || fd == -EINTR)
                continue;
            fprintf(stderr, "proxy: accept: %s (retrying)\n", strerror(-fd));
            tardy_sleep(10 * 1000000ull);
            continue;
        }
        if ((unsigned long)atomic_fetch_add(&conns, 1) >= opt.max_conns) {
            atomic_fetch_sub(&conns, 1);
            tardy_close(fd); /* over the limit: refused at once */
            continue;
        }
        if (tardy_spawn(serve, (void *)(intptr_t)fd, NULL) != 0) {
            atomic_fetch_sub(&conns, 1);
            tardy_close(fd);
        }
    }
    tardy_close(listener);
}

/* On runtime 0: waits for SIGTERM or SIGINT, then stops accepting and
 * lets the open connections finish, up to the drain timeout. */
static void signal_task(void *arg)
{
    (void)arg;
    struct signalfd_siginfo si;
    int r = tardy_poll(sigfd, POLLIN);
    if (r < 0 || read(sigfd, &si, sizeof si) != (ssize_t)sizeof si)
        return;
    atomic_store(&draining, true);
    for (unsigned i = 0; i < tardy_runtime_count(); i++)
        tardy_cancel(acceptors[i]);
    fprintf(stderr, "proxy: draining %d connection(s)\n", atomic_load(&conns));
    uint64_t end = tardy_now() + opt.drain_timeout_ms * 1000000ull;
    while (atomic_load(&conns) > 0) {
        /* A second signal, or the drain timeout, stops at once. */
        if (read(sigfd, &si, sizeof si) == (ssize_t)sizeof si || tardy_now() >= end) {
            fprintf(stderr, "proxy: stopping with %d connection(s) open\n", atomic_load(&conns));
            tardy_stop();
            return;
        }
        tardy_sleep(10 * 1000000ull);
    }
}

static void entry(void *arg)
{
    (void)arg;
    if (tardy_runtime_index(tardy_runtime_self()) == 0 &&
        tardy_spawn(signal_task, NULL, NULL) != 0) {
        atomic_store(&failed, 1);
        tardy_stop();
        return;
    }
    accept_loop(NULL);
}

int main(int argc, char **argv)
{
    const char *listen_arg = NULL, *to_arg = NULL;
    unsigned long threads = 1, to_port = 0;
    static const struct option long_options[] = {
        {"listen", required_argument, NULL, 'l'},
        {"to", required_argument, NULL, 'u'},
        {"threads", required_argument, NULL, 't'},
        {"max-conns", required_argument, NULL, 'm'},
        {"connect-timeout", required_argument, NULL, 'c'},
        {"drain-timeout", required_argument, NULL, 'd'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int o;
    while ((o = getopt_long(argc, argv, "l:u:t:m:c:d:h", long_options, NULL)) != -1) {
        unsigned long *target = NULL, max = 0;
        switch (o) {
        case 'l':
            listen_arg = optarg;
            continue;
        case 'u':
            to_arg = optarg;
            continue;
        case 't':
            target = &threads, max = PROXY_MAX_THREADS;
            break;
        case 'm':
            target = &opt.max_conns, max = 1000000;
            break;
        case 'c':
            target = &opt.connect_timeout_ms, max = 3600000;
            break;
        case 'd':
            target = &opt.drain_timeout_ms, max = 3600000;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
        if (parse_unsigned(optarg, max, target) < 0 || (o == 't' && *target == 0)) {
            fprintf(stderr, "proxy: --%s wants a number up to %lu, not '%s'\n",
                    long_options[o == 't' ? 2 : o == 'm' ? 3 : o == 'c' ? 4 : 5].name, max, optarg);
            return 2;
        }
    }
    if (optind < argc || !listen_arg || !to_arg) {
        usage(stderr);
        return 2;
    }
    if (split_host_port(to_arg, opt.to_host, sizeof opt.to_host, &to_port) < 0 || to_port == 0) {
        fprintf(stderr, "proxy: --to wants HOST:PORT, not '%s'\n", to_arg);
        return 2;
    }
    opt.to_port = (uint16_t)to_port;

    char host[256];
    unsigned long port;
    if (split_host_port(listen_arg, host, sizeof host, &port) < 0) {
        fprintf(stderr, "proxy: --listen wants ADDR:PORT, not '%s'\n", listen_arg);
        return 2;
    }
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_NUMERICHOST | AI_PASSIVE};
    struct addrinfo *info;
    int gai = getaddrinfo(host, NULL, &hints, &info);
    if (gai != 0) {
        fprintf(stderr, "proxy: --listen '%s': %s\n", host, gai_strerror(gai));
        return 2;
    }
    struct sockaddr_storage addr;
    socklen_t addrlen = info->ai_addrlen;
    memcpy(&addr, info->ai_addr, addrlen);
    freeaddrinfo(info);
    in_port_t *port_field = addr.ss_family == AF_INET ? &((struct sockaddr_in *)&addr)->sin_port
                                                      : &((struct sockaddr_in6 *)&addr)->sin6_port;
    *port_field = htons((uint16_t)port);
    for (unsigned i = 0; i < threads; i++) {
        int fd = tardy_socket(addr.ss_family, SOCK_STREAM, 0);
        int one = 1;
        if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
            setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) < 0 ||
            bind(fd, (struct sockaddr *)&addr, addrlen) < 0 || listen(fd, SOMAXCONN) < 0 ||
            getsockname(fd, (struct sockaddr *)&addr, &addrlen) < 0) {
            fprintf(stderr, "proxy: listen on %s: %s\n", listen_arg,
                    strerror(fd < 0 ? -fd : errno));
            return 1;
        }
        listeners[i] = fd; /* with port 0, the others take the port the first got */
    }
    snprintf(listen_label, sizeof listen_label,
             addr.ss_family == AF_INET6 ? "[%s]:%u" : "%s:%u", host, ntohs(*port_field));

    /* Signals are read from a signalfd by a task: blocked in every thread
     * (the runtimes inherit this mask). */
    sigset_t stop_set;
    sigemptyset(&stop_set);
    sigaddset(&stop_set, SIGTERM);
    sigaddset(&stop_set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop_set, NULL);
    signal(SIGPIPE, SIG_IGN);
    sigfd = signalfd(-1, &stop_set, SFD_NONBLOCK | SFD_CLOEXEC);
    if (sigfd < 0) {
        fprintf(stderr, "proxy: signalfd: %s\n", strerror(errno));
        return 1;
    }
    /* Any runtime may get all the connections: two tasks each, and a
     * connect's racing attempts for a moment. */
    tardy_config cfg = {.threads = (unsigned)threads,
                        .max_tasks = (unsigned)(opt.max_conns * 3 + 16)};
    int r = tardy_run(&cfg, entry, NULL);
    if (r < 0) {
        fprintf(stderr, "proxy: tardy_run: %s\n", strerror(-r));
        return 1;
    }
    return atomic_load(&failed) ? 1 : 0;
}
