/* A connection's life in the server (conn_life.c): wait, wake, serve,
 * close. Not installed. */
#ifndef ZZZ_CONN_LIFE_H
#define ZZZ_CONN_LIFE_H

#include "server.h"

/* Takes a connection record for an accepted socket (the caller has
 * checked the limit) and waits, holding no task, for its first bytes (or,
 * with serve_on_open, for a free task). Closes the socket when it cannot. */
void zzz_conn_accepted(zzz_worker *w, int fd, const zzz_sockaddr *peer, socklen_t peer_len);

/* Ends the wait of a waiting connection early (a drain): its wake-up
 * runs with -ECANCELED and closes it. */
void zzz_conn_wait_cancel(zzz_conn *c);

#endif
