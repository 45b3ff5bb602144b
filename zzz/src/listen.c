/* Listening and accepting: one SO_REUSEPORT socket per thread (one Unix
 * socket shared by all), each worker's acceptor task, and the connection
 * limit, past which a new connection is refused at once. */
#include "listen.h"
#include "conn_life.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int listen_tcp(const zzz_server_config *cfg, uint16_t port, uint16_t *bound)
{
    zzz_sockaddr addr;
    socklen_t len;
    memset(&addr, 0, sizeof addr);
    const char *host = cfg->host ? cfg->host : "127.0.0.1";
    if (inet_pton(AF_INET, host, &addr.in.sin_addr) == 1) {
        addr.in.sin_family = AF_INET;
        addr.in.sin_port = htons(port);
        len = sizeof addr.in;
    } else if (inet_pton(AF_INET6, host, &addr.in6.sin6_addr) == 1) {
        addr.in6.sin6_family = AF_INET6;
        addr.in6.sin6_port = htons(port);
        len = sizeof addr.in6;
    } else {
        return -EINVAL;
    }
    int fd = tardy_socket(addr.sa.sa_family, SOCK_STREAM, 0);
    if (fd < 0)
        return fd;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    /* Nagle off for every connection: Linux gives an accepted socket the
     * listener's TCP_NODELAY, which saves a setsockopt per connection. */
    if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0 ||
        setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0 ||
        bind(fd, &addr.sa, len) != 0 || listen(fd, (int)cfg->backlog) != 0) {
        int err = -errno;
        close(fd);
        return err;
    }
    if (getsockname(fd, &addr.sa, &len) == 0)
        *bound = ntohs(addr.sa.sa_family == AF_INET ? addr.in.sin_port : addr.in6.sin6_port);
    return fd;
}

static int listen_unix(const zzz_server_config *cfg)
{
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    if (strlen(cfg->unix_path) >= sizeof addr.sun_path)
        return -ENAMETOOLONG;
    strcpy(addr.sun_path, cfg->unix_path);
    int fd = tardy_socket(AF_UNIX, SOCK_STREAM, 0);
    if (fd < 0)
        return fd;
    unlink(cfg->unix_path); /* a stale socket from an earlier run */
    if (bind(fd, (struct sockaddr *)&addr, sizeof addr) != 0 ||
        listen(fd, (int)cfg->backlog) != 0) {
        int err = -errno;
        close(fd);
        return err;
    }
    return fd;
}

int zzz_listen_open(zzz_server *s)
{
    /* Unix sockets cannot share a port: all threads accept on one. */
    s->listen_count = s->cfg.unix_path ? 1 : s->cfg.threads;
    s->listen_fds = calloc(s->listen_count, sizeof *s->listen_fds);
    int err = s->listen_fds ? 0 : -ENOMEM;
    for (unsigned i = 0; s->listen_fds && i < s->listen_count; i++)
        s->listen_fds[i] = -1; /* destroy closes only what was opened */
    for (unsigned i = 0; i < s->listen_count && err == 0; i++) {
        int fd = s->cfg.unix_path ? listen_unix(&s->cfg)
                                  : listen_tcp(&s->cfg, i ? s->port : s->cfg.port, &s->port);
        if (fd < 0)
            err = fd;
        else
            s->listen_fds[i] = fd;
    }
    return err;
}

static void worker_accept_one(zzz_worker *w, int fd, const zzz_sockaddr *peer, socklen_t peer_len)
{
    zzz_server *s = w->server;
    if (w->open >= s->cfg.conn_limit || w->draining) {
        /* A TLS client cannot read anything before a handshake. */
        if (s->cfg.on_refuse && !s->tls)
            s->cfg.on_refuse(fd, s->cfg.user);
        tardy_close(fd);
        return;
    }
    zzz_conn_accepted(w, fd, peer, peer_len);
}

void zzz_listen_acceptor(void *arg)
{
    zzz_worker *w = arg;
    while (!w->draining) {
        zzz_sockaddr peer;
        socklen_t peer_len = sizeof peer;
        int fd = tardy_accept(w->listen_fd, &peer.sa, &peer_len);
        if (fd >= 0) {
            worker_accept_one(w, fd, &peer, peer_len);
            continue;
        }
        if (fd == -ECANCELED || w->draining)
            break;
        if (fd == -EMFILE || fd == -ENFILE || fd == -ENOBUFS || fd == -ENOMEM) {
            /* Out of descriptors or memory: pause rather than spin. */
            tardy_sleep(10 * 1000000u);
        }
        /* ECONNABORTED and friends: the next connection may be fine. */
    }
}
