/* Listening sockets and the acceptor (listen.c). Not installed. */
#ifndef ZZZ_LISTEN_H
#define ZZZ_LISTEN_H

#include "server.h"

/* Opens the server's listening sockets (s->listen_fds, s->listen_count;
 * s->port is set to the bound port). Returns 0 or -errno; on failure the
 * sockets opened so far are left for zzz_server_destroy to close. */
int zzz_listen_open(zzz_server *s);

/* A worker's acceptor task (arg: the zzz_worker): accepts until the
 * worker drains, refusing connections past the limit. */
void zzz_listen_acceptor(void *arg);

#endif
