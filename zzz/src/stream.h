/* The stream between a connection's socket and its protocol: plain TCP or
 * TLS (BearSSL). conn.c and the HTTP code read and write through these
 * calls and never touch the socket for data. Every call runs in the task
 * serving the connection, under the task's deadline (callers set it). Not
 * installed. */
#ifndef ZZZ_STREAM_H
#define ZZZ_STREAM_H

#include "server.h"

/* Makes the stream ready before the protocol first runs: for TLS, takes
 * the connection's TLS state from the thread's pool and moves the
 * handshake on with what the client has sent, without waiting for more.
 * Returns 1 when this call finished a handshake, 0 when the stream was
 * ready already (plain TCP, or TLS after its handshake), -EAGAIN when the
 * handshake needs the client's next bytes (wait for them, holding no
 * task, until zzz_stream_open_deadline), -ETIMEDOUT once that deadline
 * has passed, -ENOBUFS (no TLS state free), -EPROTO (the client spoke
 * something other than acceptable TLS), or the socket's error. */
int zzz_stream_open(zzz_conn *conn);
/* When an unfinished handshake gives up (tardy_now clock); 0 without one. */
uint64_t zzz_stream_open_deadline(const zzz_conn *conn);

/* Receives up to len bytes of the protocol's data (decrypted with TLS).
 * Returns the count, 0 at the end of the stream (with TLS: close_notify or
 * the peer's FIN), -EPROTO on a broken TLS record, or the socket's -errno
 * (-ETIMEDOUT at the deadline). */
ssize_t zzz_stream_recv(zzz_conn *conn, void *buf, size_t len);
/* Receives from the socket itself (no TLS): through the connection's
 * receive stream when one is open. Same returns as tardy_recv. */
ssize_t zzz_plain_recv(zzz_conn *conn, void *buf, size_t len);
/* zzz_stream_recv without waiting: what has arrived already; -EAGAIN when
 * nothing has. */
ssize_t zzz_stream_recv_now(zzz_conn *conn, void *buf, size_t len);
/* zzz_plain_recv without waiting. */
ssize_t zzz_plain_recv_now(zzz_conn *conn, void *buf, size_t len);

/* Sends all the bytes or fails: 0, or -errno (-EPIPE, -ECONNRESET,
 * -ETIMEDOUT, -EPROTO). With TLS the data is sealed into records and
 * flushed before it returns. */
int zzz_stream_writev(zzz_conn *conn, const struct iovec *iov, int iovcnt);

/* True when the stream holds received data the socket no longer shows
 * (TLS: a decrypted record not yet read), so a readiness watch on the
 * socket would not fire for it. */
bool zzz_stream_pending(const zzz_conn *conn);

/* The connection is going idle (no task holds it). */
void zzz_stream_idle(zzz_conn *conn);

/* Ends the stream before its socket is closed: with TLS and `graceful`, a
 * best-effort close_notify (one non-blocking send) after a finished
 * handshake; then the TLS state goes back to the pool. Without `graceful`
 * nothing is sent (a reset follows: the peer must not see a clean end).
 * Safe on any connection, from any context (it never blocks). */
void zzz_stream_close(zzz_conn *conn, bool graceful);

/* ---- TLS (tls_config.c, tls_stream.c; only with ZZZ_HAVE_TLS) ----------- */

/* Loads and checks every certificate and key of `config`; on failure sets
 * zzz_last_error's message. Returns 0 and sets *out, or -errno. */
int zzz_tls_ctx_create(zzz_tls_ctx **out, const zzz_tls_config *config);
void zzz_tls_ctx_destroy(zzz_tls_ctx *ctx);
/* Bytes of TLS state per connection (engine and record buffers) and of
 * the shared session cache. */
size_t zzz_tls_state_size(const zzz_tls_ctx *ctx);
size_t zzz_tls_cache_size(const zzz_tls_ctx *ctx);

int zzz_tls_open(zzz_conn *conn);
uint64_t zzz_tls_open_deadline(const zzz_conn *conn);
ssize_t zzz_tls_recv(zzz_conn *conn, void *buf, size_t len);
ssize_t zzz_tls_recv_now(zzz_conn *conn, void *buf, size_t len);
int zzz_tls_writev(zzz_conn *conn, const struct iovec *iov, int iovcnt);
bool zzz_tls_pending(const zzz_conn *conn);
void zzz_tls_idle(zzz_conn *conn);
/* Gives the pages of an idle connection's TLS buffers back to the kernel
 * when it has been idle since idle_before (tardy_now) or earlier and the
 * buffers hold nothing the engine needs. True when it trimmed. */
bool zzz_tls_trim(zzz_conn *conn, uint64_t idle_before);
/* How long a TLS connection waits idle before zzz_tls_trim. */
uint64_t zzz_tls_trim_ns(const zzz_tls_ctx *ctx);
void zzz_tls_close(zzz_conn *conn, bool graceful);
bool zzz_tls_info_get(const zzz_conn *conn, zzz_tls_info *info);

#endif
