/* echo: a TCP echo server on tardy. Every runtime accepts on its own
 * SO_REUSEPORT socket and serves each connection in a task of its own. */
#include "tardy.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define ECHO_MAX_THREADS 4096u

/* The listeners are bound before tardy_run so that a busy port is reported
 * before anything starts, and so that --port 0 picks one port shared by
 * every runtime. Runtime i accepts on listeners[i]. */
static int listeners[ECHO_MAX_THREADS];
static char listen_label[INET6_ADDRSTRLEN + 16];
static atomic_int failed;

static void usage(FILE *out)
{
    fprintf(out, "usage: echo [--host ADDR] [--port N] [--threads N]\n"
                 "  --host ADDR   address to listen on (default 127.0.0.1)\n"
                 "  --port N      TCP port, 0 for any free one (default 7000)\n"
                 "  --threads N   runtimes, each with its own listener; 0: one per CPU "
                 "(default 1)\n");
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

static void on_stop_signal(int signo)
{
    (void)signo;
    tardy_stop(); /* async-signal-safe */
}

/* Sends all of buf, looping over short sends. */
static ssize_t send_all(int fd, const char *buf, size_t len)
{
    size_t sent = 0;
    while (sent < len) {
        ssize_t n = tardy_send(fd, buf + sent, len - sent, MSG_NOSIGNAL);
        if (n < 0)
            return n;
        sent += (size_t)n;
    }
    return (ssize_t)sent;
}

static void serve_connection(void *arg)
{
    int fd = (int)(intptr_t)arg;
    char buf[4096];
    for (;;) {
        ssize_t n = tardy_recv(fd, buf, sizeof buf, 0);
        if (n == 0)
            break; /* the client closed its side */
        if (n < 0) {
            if (n != -ECONNRESET && n != -ECANCELED)
                fprintf(stderr, "echo: recv: %s\n", strerror((int)-n));
            break;
        }
        ssize_t sent = send_all(fd, buf, (size_t)n);
        if (sent < 0) {
            if (sent != -EPIPE && sent != -ECONNRESET && sent != -ECANCELED)
                fprintf(stderr, "echo: send: %s\n", strerror((int)-sent));
            break;
        }
    }
    int ret = tardy_close(fd);
    if (ret < 0)
        fprintf(stderr, "echo: close: %s\n", strerror(-ret));
}

/* Runs as the first task of every runtime. */
static void accept_loop(void *arg)
{
    (void)arg;
    unsigned index = tardy_runtime_index(tardy_runtime_self());
    int listener = listeners[index];

    if (index == 0) {
        printf("listening on %s (driver %s, %u threads)\n", listen_label, tardy_driver_name(),
               tardy_runtime_count());
        fflush(stdout);
    }

    while (!tardy_stopping()) {
        int fd = tardy_accept(listener, NULL, NULL);
        if (fd < 0) {
            if (fd == -ECONNABORTED || fd == -EINTR)
                continue; /* that client gave up; the next may not */
            if (fd == -EMFILE || fd == -ENFILE || fd == -ENOBUFS || fd == -ENOMEM) {
                /* Out of descriptors or memory: wait for connections to close. */
                fprintf(stderr, "echo: accept: %s (retrying)\n", strerror(-fd));
                tardy_sleep(10 * 1000 * 1000);
                continue;
            }
            if (fd != -ECANCELED) {
                fprintf(stderr, "echo: accept: %s\n", strerror(-fd));
                atomic_store(&failed, 1);
                tardy_stop();
            }
            return;
        }
        int ret = tardy_spawn(serve_connection, (void *)(intptr_t)fd, NULL);
        if (ret < 0) {
            /* -EAGAIN: max_tasks connections are open already. Refuse this one. */
            fprintf(stderr, "echo: cannot serve a new connection: %s\n", strerror(-ret));
            tardy_close(fd);
        }
    }
}

/* Opens, binds and listens on one SO_REUSEPORT socket. Returns the fd or
 * -errno, with *what naming the call that failed. */
static int open_listener(const struct sockaddr *addr, socklen_t addrlen, const char **what)
{
    int fd = tardy_socket(addr->sa_family, SOCK_STREAM, 0);
    if (fd < 0) {
        *what = "socket";
        return fd;
    }
    int one = 1;
    int ret = 0;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0) {
        *what = "setsockopt(SO_REUSEADDR)";
        ret = -errno;
    } else if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) < 0) {
        *what = "setsockopt(SO_REUSEPORT)";
        ret = -errno;
    } else if (bind(fd, addr, addrlen) < 0) {
        *what = "bind";
        ret = -errno;
    } else if (listen(fd, SOMAXCONN) < 0) {
        *what = "listen";
        ret = -errno;
    }
    if (ret < 0) {
        close(fd);
        return ret;
    }
    return fd;
}

int main(int argc, char **argv)
{
    const char *host = "127.0.0.1";
    unsigned long port = 7000;
    unsigned long threads = 1;

    static const struct option long_options[] = {
        {"host", required_argument, NULL, 'H'},
        {"port", required_argument, NULL, 'p'},
        {"threads", required_argument, NULL, 't'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int opt;
    while ((opt = getopt_long(argc, argv, "H:p:t:h", long_options, NULL)) != -1) {
        switch (opt) {
        case 'H':
            host = optarg;
            break;
        case 'p':
            if (parse_unsigned(optarg, 65535, &port) < 0) {
                fprintf(stderr, "echo: --port wants a number from 0 to 65535, not '%s'\n", optarg);
                return 2;
            }
            break;
        case 't':
            if (parse_unsigned(optarg, ECHO_MAX_THREADS, &threads) < 0) {
                fprintf(stderr, "echo: --threads wants a number from 0 to %u, not '%s'\n",
                        ECHO_MAX_THREADS, optarg);
                return 2;
            }
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
        fprintf(stderr, "echo: unexpected argument '%s'\n", argv[optind]);
        usage(stderr);
        return 2;
    }
    if (threads == 0) {
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);
        threads = cpus < 1                        ? 1
                  : cpus > (long)ECHO_MAX_THREADS ? ECHO_MAX_THREADS
                                                  : (unsigned long)cpus;
    }

    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_NUMERICHOST | AI_PASSIVE};
    struct addrinfo *info;
    int gai = getaddrinfo(host, NULL, &hints, &info);
    if (gai != 0) {
        fprintf(stderr, "echo: --host '%s': %s\n", host, gai_strerror(gai));
        return 2;
    }
    struct sockaddr_storage addr;
    socklen_t addrlen = info->ai_addrlen;
    memcpy(&addr, info->ai_addr, addrlen);
    freeaddrinfo(info);
    if (addr.ss_family == AF_INET)
        ((struct sockaddr_in *)&addr)->sin_port = htons((uint16_t)port);
    else
        ((struct sockaddr_in6 *)&addr)->sin6_port = htons((uint16_t)port);

    for (unsigned i = 0; i < threads; i++) {
        const char *what = "";
        int fd = open_listener((struct sockaddr *)&addr, addrlen, &what);
        if (fd < 0) {
            fprintf(stderr, "echo: %s %s port %lu: %s\n", what, host, port, strerror(-fd));
            for (unsigned j = 0; j < i; j++)
                close(listeners[j]);
            return 1;
        }
        listeners[i] = fd;
        if (i == 0 && port == 0) {
            /* Bind the other runtimes' sockets to the port the kernel chose. */
            if (getsockname(fd, (struct sockaddr *)&addr, &addrlen) < 0) {
                fprintf(stderr, "echo: getsockname: %s\n", strerror(errno));
                close(fd);
                return 1;
            }
            port = addr.ss_family == AF_INET ? ntohs(((struct sockaddr_in *)&addr)->sin_port)
                                             : ntohs(((struct sockaddr_in6 *)&addr)->sin6_port);
        }
    }
    snprintf(listen_label, sizeof listen_label, addr.ss_family == AF_INET6 ? "[%s]:%lu" : "%s:%lu",
             host, port);

    struct sigaction sa = {.sa_handler = on_stop_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN); /* a vanished client is an -EPIPE, not a death */

    tardy_config config = {.threads = (unsigned)threads};
    int ret = tardy_run(&config, accept_loop, NULL);

    for (unsigned i = 0; i < threads; i++)
        close(listeners[i]);
    if (ret < 0) {
        fprintf(stderr, "echo: tardy_run: %s\n", strerror(-ret));
        return 1;
    }
    return atomic_load(&failed) ? 1 : 0;
}
