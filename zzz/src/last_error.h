/* The message behind zzz_last_error, set by whatever makes a server fail
 * to be created (the server, TLS, HTTP). Not installed. */
#ifndef ZZZ_LAST_ERROR_H
#define ZZZ_LAST_ERROR_H

/* Records the reason for a failing zzz_server_create (printf-style), for
 * zzz_last_error (server.c). */
void zzz_set_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
