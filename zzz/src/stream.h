/* The stream between a connection's socket and its protocol: plain TCP or
 * TLS (BearSSL). conn.c and the HTTP code read and write through these
 * calls and never touch the socket for data. Every call runs in the task
 * serving the connection, under the task's deadline (callers set it). Not
 * installed. */
#ifndef ZZZ_STREAM_H
#define ZZZ_STREAM_H

#include "server.h"

/* What one kind of stream does: plain TCP (stream.c) or TLS
 * (tls_stream.c). A connection holds the table of its server's kind
 * (zzz_conn.ops); the zzz_stream_* calls below go through it, so no
 * caller asks which kind it has. */
typedef struct zzz_stream_ops {
    /* Makes the stream ready before the protocol first runs: for TLS,
     * takes the connection's TLS state from the thread's pool and moves
     * the handshake on with what the client has sent, without waiting
     * for more. Returns 1 when this call finished a handshake, 0 when the
     * stream was ready already (plain TCP, or TLS after its handshake),
     * -EAGAIN when the handshake needs the client's next bytes (wait for
     * them, holding no task, until open_deadline), -ETIMEDOUT once that
     * deadline has passed, -ENOBUFS (no TLS state free), -EPROTO (the
     * client spoke something other than acceptable TLS), or the socket's
     * error. */
    int (*open)(zzz_conn *conn);
    /* When an unfinished handshake gives up (tardy_now clock); after the
     * handshake, when a TLS record begun and not yet whole does (the
     * connection then closes, whatever the protocol waits for); 0 when
     * neither applies. */
    uint64_t (*open_deadline)(const zzz_conn *conn);
    /* The connection's wait ended with bytes in its receive stream, and a
     * task now serves it: moves what it can where the protocol reads it
     * (plain: into the receive buffer; TLS: nothing, its reads take the
     * records from the receive stream). Returns > 0 to serve, -EAGAIN
     * when nothing had arrived after all (wait again), 0 when the client
     * closed, or -errno. */
    ssize_t (*arrived)(zzz_conn *conn);
    /* Receives up to len bytes of the protocol's data (decrypted with
     * TLS), without waiting when `now`. Returns the count, 0 at the end of
     * the stream (with TLS: close_notify or the peer's FIN), -EAGAIN
     * (`now` only: nothing has arrived), -EPROTO on a broken TLS record,
     * or the socket's -errno (-ETIMEDOUT at the deadline). */
    ssize_t (*recv)(zzz_conn *conn, void *buf, size_t len, bool now);
    /* Sends all the bytes or fails: 0, or -errno (-EPIPE, -ECONNRESET,
     * -ETIMEDOUT, -EPROTO). With TLS the data is sealed into records and
     * flushed before it returns. */
    int (*writev)(zzz_conn *conn, const struct iovec *iov, int iovcnt);
    /* The last write before a graceful close: sends len bytes (may be
     * none) as writev does, then ends the stream's writing side (TLS:
     * close_notify), the last small records and the alert gathered into
     * one send, so a short final answer (about 450 bytes with TLS) leaves
     * in one packet; close then sends nothing more. With no bytes, close
     * does it all (its close_notify does not wait). Same returns as
     * writev. NULL (plain TCP): the bytes go through writev, and the
     * socket's FIN ends the stream. */
    int (*finish)(zzz_conn *conn, const void *data, size_t len);
    /* Sends head_len bytes at head (what the write buffer held; may be
     * none), then len (> 0) bytes of file fd from offset; the returns of
     * zzz_conn_sendfile. The stream may send the head with the file's
     * first bytes. */
    int (*sendfile)(zzz_conn *conn, const void *head, size_t head_len, int fd, off_t offset,
                    size_t len);
    /* True when the stream holds received data its receive stream no
     * longer shows (TLS: a record read ahead or decrypted, not yet
     * read), so a wait for bytes would not end for it. */
    bool (*pending)(const zzz_conn *conn);
    /* The connection is going idle (no task holds it). */
    void (*idle)(zzz_conn *conn);
    /* Gives memory of a connection idle since idle_before (tardy_now) or
     * earlier back to the kernel, when it holds nothing needed. True
     * when it trimmed. Never blocks. */
    bool (*trim)(zzz_conn *conn, uint64_t idle_before);
    /* Ends the stream before its socket is closed: with TLS and
     * `graceful`, a best-effort close_notify (one non-blocking send)
     * after a finished handshake; then the TLS state goes back to the
     * pool. Without `graceful` nothing is sent (a reset follows: the peer
     * must not see a clean end). Safe on any connection, from any context
     * (it never blocks). */
    void (*close)(zzz_conn *conn, bool graceful);
    /* zzz_conn_tls: false on a plain stream. */
    bool (*info)(const zzz_conn *conn, zzz_tls_info *info);
} zzz_stream_ops;

extern const zzz_stream_ops zzz_plain_ops;
#ifdef ZZZ_HAVE_TLS
extern const zzz_stream_ops zzz_tls_ops;
#endif

static inline int zzz_stream_open(zzz_conn *c)
{
    return c->ops->open(c);
}
static inline uint64_t zzz_stream_open_deadline(const zzz_conn *c)
{
    return c->ops->open_deadline(c);
}
static inline ssize_t zzz_stream_arrived(zzz_conn *c)
{
    return c->ops->arrived(c);
}
static inline ssize_t zzz_stream_recv(zzz_conn *c, void *buf, size_t len)
{
    return c->ops->recv(c, buf, len, false);
}
/* zzz_stream_recv without waiting: what has arrived already; -EAGAIN when
 * nothing has. */
static inline ssize_t zzz_stream_recv_now(zzz_conn *c, void *buf, size_t len)
{
    return c->ops->recv(c, buf, len, true);
}
static inline int zzz_stream_writev(zzz_conn *c, const struct iovec *iov, int iovcnt)
{
    return c->ops->writev(c, iov, iovcnt);
}
/* Whether the stream has a finish step of its own (TLS). */
static inline bool zzz_stream_has_finish(const zzz_conn *c)
{
    return c->ops->finish != NULL;
}
static inline int zzz_stream_finish(zzz_conn *c, const void *data, size_t len)
{
    return c->ops->finish(c, data, len);
}
static inline bool zzz_stream_pending(const zzz_conn *c)
{
    return c->ops->pending(c);
}
static inline void zzz_stream_idle(zzz_conn *c)
{
    c->ops->idle(c);
}
static inline bool zzz_stream_trim(zzz_conn *c, uint64_t idle_before)
{
    return c->ops->trim(c, idle_before);
}
static inline void zzz_stream_close(zzz_conn *c, bool graceful)
{
    c->ops->close(c, graceful);
}

/* The socket's own bytes (no TLS), for the streams and the lingering
 * close: through the connection's receive stream when one is open, else
 * from the socket. Waits under the task's deadline unless `now` (then
 * -EAGAIN when nothing has arrived). Same returns as tardy_recv. */
ssize_t zzz_plain_recv(zzz_conn *conn, void *buf, size_t len, bool now);

/* A file send that keeps the thread: past this many bytes without the
 * socket filling up, it lets the thread's other tasks run. */
#define ZZZ_SENDFILE_TURN ((size_t)1 << 20)

/* The most one sendfile(2) call is asked for. One call for the whole rest
 * of a large file fills the socket's buffer (megabytes) each time, which
 * cost 1.3 times the CPU per byte of 256 KiB calls on loopback (100 MiB
 * fetched 20 times by curl, the server on one CPU; 128 KiB was as good,
 * 512 KiB in between). */
#define ZZZ_SENDFILE_CHUNK ((size_t)256 * 1024)

/* Sends len bytes of file fd from offset by reading them into buf (cap
 * bytes) and handing each piece to the stream's writev: what a stream
 * does when the kernel cannot send the file itself. Returns as
 * zzz_conn_sendfile. */
int zzz_stream_sendfile_copy(zzz_conn *conn, int fd, off_t offset, size_t len, char *buf,
                             size_t cap);

/* ---- TLS (tls_config.c, tls_stream.c; only with ZZZ_HAVE_TLS) ----------- */

/* Loads and checks every certificate and key of `config`; on failure sets
 * zzz_last_error's message. Returns 0 and sets *out, or -errno. */
int zzz_tls_ctx_create(zzz_tls_ctx **out, const zzz_tls_config *config);
void zzz_tls_ctx_destroy(zzz_tls_ctx *ctx);
/* Bytes of TLS state per connection (engine and record buffers) and of
 * the shared session cache. */
size_t zzz_tls_state_size(const zzz_tls_ctx *ctx);
size_t zzz_tls_cache_size(const zzz_tls_ctx *ctx);

/* How long a TLS connection waits idle before its trim. */
uint64_t zzz_tls_trim_ns(const zzz_tls_ctx *ctx);

/* SIGPIPE over a server's run, so that sendfile needs no mask change per
 * call. hold, on the thread that runs the server, before its runtimes
 * start: blocks it (the runtimes' threads and tasks inherit the mask) and
 * returns true, or false when it was blocked already (left to its owner,
 * and sendfile guards each call itself). Each runtime thread is told with
 * zzz_stream_sigpipe_held(held) as it starts. release, after the run,
 * with hold's result: takes back any SIGPIPE left pending and unblocks
 * it. */
bool zzz_stream_hold_sigpipe(void);
void zzz_stream_sigpipe_held(bool held);
void zzz_stream_release_sigpipe(bool held);

#endif
