/* zzz: networked services on tardy. A TCP server that serves each
 * connection with a task while it has work and with nothing at all while
 * it waits, and HTTP/1.1 on top of it, so handlers are straight-line C.
 * This header and those it includes, <zzz_http.h> and <zzz_sse.h>, are
 * the whole public API of libzzz: this one holds the server, its
 * connections and TLS, the others HTTP and server-sent events. */
#ifndef ZZZ_H
#define ZZZ_H

#include <tardy.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

/* The shared library is built with hidden visibility: what is declared
 * here, and only that, is exported. */
#pragma GCC visibility push(default)

#ifdef __cplusplus
extern "C" {
#endif

/* Conventions: calls return >= 0 or -errno, as tardy's do. Calls on a
 * connection, request or response are made from the task serving it. */

/* A byte string that points into someone else's memory (not terminated). */
typedef struct zzz_str {
    const char *ptr;
    size_t len;
} zzz_str;

/* True when s holds exactly the bytes of the NUL-terminated text (a NULL
 * text matches nothing). */
bool zzz_str_eq(zzz_str s, const char *text);

/* The same, with ASCII letters compared without regard to case (other
 * bytes exactly): for header names and tokens. */
bool zzz_str_eq_nocase(zzz_str s, const char *text);

/* Parses s as a decimal integer: ASCII digits only (for the signed form,
 * one leading '-' or '+' first), nothing before or after, no space.
 * Returns 0 with the value in *out; -EINVAL for an empty string, a sign
 * alone or any other byte (*out untouched); -ERANGE when the value does
 * not fit (*out untouched). Leading zeros are allowed. */
int zzz_str_to_u64(zzz_str s, uint64_t *out);
int zzz_str_to_i64(zzz_str s, int64_t *out);

/* ========================================================================
 * TCP server (protocol-agnostic)
 * ====================================================================== */

typedef struct zzz_server zzz_server;
typedef struct zzz_conn zzz_conn;

/* What a protocol does with a connection after serving what arrived. */
typedef enum zzz_conn_next {
    ZZZ_CLOSE = 0, /* close it (see zzz_conn_close_mode for how) */
    ZZZ_WAIT = 1,  /* hand it back: the server watches it, holding no task
                      or stack, and calls on_conn again when more bytes
                      arrive (or closes it after idle_timeout_ms, or at the
                      time given to zzz_conn_wait_until). Bytes left in the
                      receive buffer are kept, as an unfinished message
                      whose rest is awaited: they are not served again
                      until more arrive. */
} zzz_conn_next;

/* Serves a connection: runs in its own task. Called when a new
 * connection's first bytes arrive (at once on accept with serve_on_open)
 * and again each time a waiting connection becomes readable, so a
 * protocol whose client speaks first finds bytes to read. */
typedef zzz_conn_next (*zzz_on_conn_fn)(zzz_conn *conn, void *user);

/* Called instead of on_conn for a connection accepted over the limit,
 * just before the server closes it (HTTP answers 503 here). It must not
 * block for long: it runs on the accepting task. fd is non-blocking. */
typedef void (*zzz_on_refuse_fn)(int fd, void *user);

/* Called instead of on_conn when a waiting connection has bytes to serve
 * while active_limit connections are being served already (every task is
 * busy with a handler). It runs in one of the busy_tasks kept in reserve
 * for this and must be quick: answer and return ZZZ_CLOSE (HTTP sends 503
 * with Retry-After), or ZZZ_WAIT to be called again when more bytes
 * come. NULL: on_conn runs anyway, as soon as a task is free. */
typedef zzz_conn_next (*zzz_on_busy_fn)(zzz_conn *conn, void *user);

/* ---- TLS (through BearSSL; see zzz_server_config.tls) ------------------ */

/* A certificate chain and its private key. Each comes from a PEM file or
 * from PEM text in memory (the file wins when both are set); both are read
 * once, by zzz_server_create, and nothing here is kept after it returns. */
typedef struct zzz_tls_cert {
    const char *cert_file;  /* PEM, "CERTIFICATE" blocks: the leaf first,
                               then its intermediates; all are sent */
    const char *key_file;   /* PEM: "PRIVATE KEY" (PKCS#8), "RSA PRIVATE
                               KEY" or "EC PRIVATE KEY"; RSA or EC
                               (P-256, P-384, P-521) */
    const char *cert_pem;   /* in-memory alternatives to the files */
    size_t cert_pem_len;
    const char *key_pem;
    size_t key_pem_len;
    /* Host names this pair answers for when the client names one (SNI):
     * exact names, or "*.example.com" for one label under example.com;
     * compared without case. NULL-terminated; NULL: none (such a pair is
     * only used as the default). */
    const char *const *names;
} zzz_tls_cert;

/* TLS for every connection of a server. TLS 1.2 only, ECDHE key exchange
 * with AES-GCM or ChaCha20-Poly1305 only; ALPN as `alpn` says; sessions
 * are resumed from one LRU cache that all the server's threads share
 * (behind a lock). A zero field means "the default". */
typedef struct zzz_tls_config {
    const zzz_tls_cert *certs; /* required; certs[0] is the default: it
                                  serves clients that name no host or a
                                  host no pair lists */
    unsigned cert_count;
    unsigned session_cache_size;   /* sessions remembered, by all threads
                                      together (about 100 bytes each);
                                      0: 1024 */
    uint32_t handshake_timeout_ms; /* from the first byte to a finished
                                      handshake; 0: 10 s. Between the
                                      client's flights the connection
                                      waits holding no task. After the
                                      handshake, a record must also
                                      arrive whole within it of its
                                      first byte (else: closed) */
    size_t record_size;            /* plaintext bytes per record sent, 512
                                      to 16384; 0: 16384 */
    uint32_t idle_trim_ms;         /* a connection idle this long gives its
                                      record buffers' pages back to the
                                      kernel (they come back, zeroed, when
                                      it is next used); 0: 1 s */
    /* The application protocols the server speaks, for ALPN (RFC 7301):
     * names of 1 to 255 bytes, most preferred first, NULL-terminated, at
     * most 16; copied. A client that offers ALPN gets the first of these
     * that it offers too, and the protocol reads which in
     * zzz_tls_info.alpn; a client that offers only others is refused
     * with the no_application_protocol alert; one that offers none is
     * served (alpn NULL). NULL: no ALPN, a client's offer is ignored
     * (zzz_http_server_create puts {"http/1.1", NULL} here then). */
    const char *const *alpn;
} zzz_tls_config;

/* Server configuration. A zero field means "the default". */
typedef struct zzz_server_config {
    const char *host;          /* numeric IPv4 or IPv6 address to bind (no
                                  name lookup); NULL: "127.0.0.1" */
    uint16_t port;             /* 0: an ephemeral port (see zzz_server_port) */
    const char *unix_path;     /* listen on this Unix socket instead; a
                                  stale socket file there is removed. The
                                  string must stay valid until
                                  zzz_server_destroy, which unlinks it */
    unsigned threads;          /* runtimes; 0: one per CPU */
    unsigned conn_limit;       /* open connections per thread; 0: 1024 */
    unsigned active_limit;     /* connections served at once per thread
                                  (tasks, stacks and buffers in the pools,
                                  each committed only when touched); past
                                  it, bytes that arrive go to on_busy;
                                  0 (or more than conn_limit): conn_limit */
    unsigned busy_tasks;       /* tasks kept beyond active_limit for on_busy
                                  (each with a stack and, while it answers,
                                  buffers); arrivals past them wait for a
                                  task; 0: min(active_limit, 16) */
    unsigned backlog;          /* listen backlog; 0: 1024 */
    size_t read_buffer_size;   /* per active connection; 0: 16 KiB */
    size_t write_buffer_size;  /* per active connection; 0: 16 KiB */
    size_t stack_size;         /* per task; 0: 64 KiB */
    uint32_t idle_timeout_ms;  /* a waiting connection is closed after; 0: 60 s */
    uint32_t first_byte_timeout_ms; /* a new connection that sends nothing is
                                  closed after; 0: idle_timeout_ms (HTTP:
                                  header_timeout_ms) */
    bool serve_on_open;        /* run on_conn at accept, before any byte
                                  arrives (for protocols where the server
                                  speaks first); it then holds a task */
    uint32_t read_timeout_ms;  /* a read waits at most this for its first
                                  byte; 0: 30 s */
    uint32_t write_timeout_ms; /* a write fails when the peer has taken no
                                  byte for this long (counted from the last
                                  progress, as a slow but steady reader is
                                  never cut); 0: 30 s */
    uint32_t write_min_rate;   /* bytes per second a write call must average
                                  once it has run write_timeout_ms (a peer
                                  that takes a byte now and then is cut);
                                  0: no minimum */
    uint32_t drain_timeout_ms; /* graceful shutdown waits at most; 0: 10 s.
                                  Tasks still serving are cancelled 100 ms
                                  (or a quarter of it, if less) before it
                                  passes; at it, the runtimes stop even
                                  under a handler that ignores the cancel
                                  (it is not resumed again); only a call
                                  running on tardy's blocking pool (a
                                  getaddrinfo, a file call on epoll/busy)
                                  is waited for until it returns */
    uint32_t linger_timeout_ms; /* a lingering close (zzz_conn_linger) reads
                                  and drops the client's bytes for at most;
                                  0: 2 s */
    bool no_signal_handlers;   /* leave SIGINT/SIGTERM alone (by default
                                  zzz_server_run drains on either) */
    tardy_driver_kind driver;  /* as tardy_config.driver */
    zzz_on_conn_fn on_conn;    /* required */
    zzz_on_refuse_fn on_refuse;
    zzz_on_busy_fn on_busy;
    void *user;                /* passed to on_conn, on_refuse and on_busy */
    /* Called once when the server is up, from its first runtime, with the
     * name of the I/O driver in use (to print "listening on ..."). */
    void (*on_start)(zzz_server *server, const char *driver, void *start_arg);
    void *start_arg;
    /* Serve TLS on this server (NULL: plain TCP). Every connection starts
     * with a handshake before on_conn runs; on_conn then reads and writes
     * plaintext through the zzz_conn calls below, as it would without TLS
     * (zzz_conn_fd gives the socket, which carries records: do not use it
     * for data). on_refuse is not called: a refused connection is closed
     * before any handshake. */
    const zzz_tls_config *tls;
    /* Per-thread state for the protocol (HTTP keeps its body buffers and
     * Date line there). on_thread_start runs once on each of the server's
     * threads, in a task of its runtime, before that thread accepts a
     * connection; what it stores in *thread_data (NULL to start with) is
     * what zzz_conn_thread_data returns to that thread's connections. It
     * returns 0, or a -errno: that thread then serves nothing, the server
     * stops, and zzz_server_run returns the error. on_thread_stop runs
     * once for every thread whose on_thread_start returned 0, after the
     * server has stopped serving (when the runtimes have ended, on the
     * thread that called zzz_server_run), and frees what it was given.
     * Both get `user`; either may be NULL. */
    int (*on_thread_start)(void *user, void **thread_data);
    void (*on_thread_stop)(void *user, void *thread_data);
    /* Called once by zzz_server_destroy, after everything else, so that
     * the protocol can free what `user` points at. Not called when
     * zzz_server_create fails: `user` is then still the caller's. */
    void (*on_destroy)(void *user);
} zzz_server_config;

/* Creates a server and binds its listening sockets now (one SO_REUSEPORT
 * socket per thread), so the port is known and bind errors show here.
 * With tls, it also loads every certificate and key and checks that each
 * key matches its certificate. Returns 0 and sets *out, or:
 * -EINVAL (no on_conn, more than 4096 threads, a host that is not a
 * numeric address, a bad TLS setting, a certificate or key that cannot be
 * read as PEM, a key that does not match), -ENOENT / -EACCES (a file that
 * cannot be opened), -ENOTSUP (tls asked of a libzzz built without it, or
 * an unsupported key type), -ENAMETOOLONG (unix_path longer than a socket
 * address holds), -ENOMEM, or the -errno of socket/bind/listen
 * (-EADDRINUSE ...). On failure, zzz_last_error says why in words (naming
 * the file, for TLS). */
int zzz_server_create(zzz_server **out, const zzz_server_config *config);

/* Why the last zzz_server_create or zzz_http_server_create on this thread
 * failed ("tls: key.pem: the key does not match the certificate in
 * cert.pem"); "" when it did not. Valid until the next such call. */
const char *zzz_last_error(void);

/* True when this libzzz was built with TLS (BearSSL). */
bool zzz_tls_available(void);

/* The bound TCP port (useful with port 0); 0 on a Unix socket. */
uint16_t zzz_server_port(const zzz_server *server);

/* The number of runtimes the server will run on. */
unsigned zzz_server_threads(const zzz_server *server);

/* Serves until zzz_server_stop, SIGINT or SIGTERM, then shuts down
 * gracefully: stops accepting, lets connections being served finish up to
 * drain_timeout_ms, closes idle ones. Returns 0, -ENOMEM, or tardy_run's
 * -errno from the runtimes' start-up (-ENOSYS when the driver asked for
 * is unavailable, -EINVAL for a bad TARDY_DRIVER value, -EBUSY when
 * called from inside a tardy runtime), or the first error a thread met
 * as it started (on_thread_start's, or -ENOMEM for its pools). Call it
 * once, from a thread outside tardy. While it runs, the server's threads
 * (the calling one included) hold SIGPIPE blocked, so a client that
 * leaves mid-file never stops the process; threads and processes started
 * from them inherit the mask (a child then gets EPIPE from a write to a
 * closed pipe, as under servers that ignore SIGPIPE). When it returns,
 * the calling thread's mask is as it was, and a SIGPIPE left pending
 * (the process's own included) has been dropped. */
int zzz_server_run(zzz_server *server);

/* Starts the graceful shutdown. Any thread; async-signal-safe. */
void zzz_server_stop(zzz_server *server);

/* Closes the listening sockets, frees the server (after run returns),
 * and last calls on_destroy. */
void zzz_server_destroy(zzz_server *server);

/* ---- connections (inside on_conn) ------------------------------------ */

/* The connection's receive buffer: `data[0..len)` holds bytes received and
 * not yet consumed. on_conn may find bytes here at its start: the ones that
 * woke the connection, received ahead by the driver (io_uring), so read
 * through the calls below, not from zzz_conn_fd, which would miss them.
 * It is borrowed from a pool while on_conn runs (read_buffer_size bytes);
 * when on_conn returns ZZZ_WAIT with len == 0 it goes back to the pool,
 * and with len > 0 (an unfinished message) the connection keeps the bytes,
 * in a small buffer when they fit one, so that many slow clients with
 * half a message each cost little memory.
 * When the pool has no buffer to lend, data is NULL and len and cap are 0
 * (or, for a connection that kept an unfinished message in a small
 * buffer, that buffer is returned, cap being its smaller size). The pool
 * holds a buffer for every open connection, so on the server's own tasks
 * this does not happen; zzz_conn_fill reports it as -ENOBUFS. */
typedef struct zzz_buf {
    char *data;
    size_t len;
    size_t cap;
} zzz_buf;

zzz_buf *zzz_conn_buf(zzz_conn *conn);

/* Receives more bytes at the end of the buffer. Returns the count, 0 at
 * end of stream, -ENOBUFS when the buffer is full (or none could be
 * had), -ETIMEDOUT after read_timeout_ms (or at the deadline given with
 * zzz_conn_set_deadline, or the task's own if sooner), -ECANCELED,
 * another -errno of the socket's (-ECONNRESET ...), or -EPROTO on TLS
 * when the client sent a broken record or an alert. */
ssize_t zzz_conn_fill(zzz_conn *conn);

/* zzz_conn_fill without waiting: appends what has already arrived.
 * Returns the count (> 0), 0 at end of stream, -EAGAIN when nothing is
 * there yet, -ENOBUFS when the buffer is full, or another -errno (as
 * zzz_conn_fill's). */
ssize_t zzz_conn_fill_now(zzz_conn *conn);

/* When the oldest byte now in the receive buffer arrived (tardy_now
 * clock), counted across waits; bytes left behind by zzz_conn_consume
 * count from that call. 0 when the buffer is empty. A protocol bounds a
 * message that arrives slowly with it (HTTP: header_timeout_ms). */
uint64_t zzz_conn_buf_since(const zzz_conn *conn);

/* Drops the first n bytes of the buffer (all of them when n >= len). */
void zzz_conn_consume(zzz_conn *conn, size_t n);

/* Reads into buf: first what the buffer holds (without waiting), else from
 * the socket. Returns the count, 0 at end of stream (or for a len of 0),
 * and the errors of zzz_conn_fill but -ENOBUFS. */
ssize_t zzz_conn_read(zzz_conn *conn, void *buf, size_t len);

/* Reads into buf from the socket's stream, past the receive buffer and
 * leaving it as it is: for a protocol that keeps a message in the buffer
 * (HTTP: the request head, which the handler's strings point into) while
 * it streams what follows, once it has taken the bytes the buffer holds
 * after that message. Returns as zzz_conn_read. */
ssize_t zzz_conn_recv(zzz_conn *conn, void *buf, size_t len);

/* Sends all of it or fails: 0, -ETIMEDOUT when the peer took nothing for
 * write_timeout_ms (or fell under write_min_rate, or the deadline of
 * zzz_conn_set_deadline passed), -EPIPE / -ECONNRESET when the peer went
 * away, -ECANCELED, or on TLS -EPIPE once the session is closed and
 * -EPROTO when the engine fails. After a failure an unknown part of the
 * data has left; the connection is good only for closing. */
int zzz_conn_write(zzz_conn *conn, const void *data, size_t len);
int zzz_conn_writev(zzz_conn *conn, const struct iovec *iov, int iovcnt);

/* Sends len bytes of the file fd from offset, after what the write
 * buffer holds (it is flushed first), under zzz_conn_write's timeouts.
 * Plain TCP hands the pages to the socket (sendfile), uncopied, and falls
 * back to reading and sending when the file cannot be sent that way; TLS
 * reads the file in record-sized pieces and seals them. The file's offset
 * is not moved (the caller's descriptor can be shared). fd must be open
 * for reading; the caller keeps and closes it. Returns 0 once all len
 * bytes have left, -ENODATA when the file ended first (it shrank: the
 * peer has an unknown part of them, so close the connection), -EINVAL for
 * a negative offset, a read error of the file's (-EIO, -EBADF, ...) or
 * zzz_conn_write's errors. A file on a slow disk may keep the thread
 * waiting for the read on the epoll and busy drivers. */
int zzz_conn_sendfile(zzz_conn *conn, int fd, off_t offset, size_t len);

/* The per-connection write buffer (borrowed like the receive buffer):
 * append with zzz_conn_out, send with zzz_conn_flush. Its data is NULL
 * when the pool has none to lend, which the pool's size (a buffer per
 * task the server runs) rules out on the server's own tasks. */
zzz_buf *zzz_conn_outbuf(zzz_conn *conn);
/* Appends data to the write buffer; nothing is sent while it fits, so 0
 * then means "queued", not "sent". When it does not fit, data of half the
 * free room or more is sent at once after what is pending (uncopied);
 * smaller data first flushes what is pending and is then queued. Without
 * a write buffer it is zzz_conn_write. Returns 0 or, when it had to send,
 * zzz_conn_write's errors. */
int zzz_conn_out(zzz_conn *conn, const void *data, size_t len);
/* Bytes that can still be appended to the write buffer without sending
 * (its capacity less what it holds and the scratch lent by
 * zzz_conn_arena); 0 without a write buffer. A protocol may write that
 * many bytes at zzz_conn_outbuf()->data + len itself and then raise len. */
size_t zzz_conn_out_room(const zzz_conn *conn);
/* Sends what the write buffer holds and empties it. Returns 0 (also when
 * nothing was pending) or zzz_conn_write's errors; the buffer is emptied
 * either way, so a failed flush is not retried by the next one. */
int zzz_conn_flush(zzz_conn *conn);

/* Bytes this connection has handed to its stream so far (flushed output
 * and direct writes). A protocol compares two readings to learn whether
 * any part of an answer has left: until then, it may still take the answer
 * back by cutting zzz_conn_outbuf()->len to where the answer began. */
uint64_t zzz_conn_sent(const zzz_conn *conn);

/* Scratch memory for what a protocol decodes or composes while it serves
 * a message (HTTP: the header array, a decoded path, the fields a handler
 * adds), taken from the end of the write buffer, so it costs no buffer
 * of its own: size bytes, 8-byte aligned, valid until
 * zzz_conn_arena_reset or until on_conn returns. The write buffer's room
 * for output shrinks by as much. It never sends anything to make room,
 * so it never waits: returns 0 and sets *mem, or -ENOBUFS when pending
 * output and the scratch already taken leave less than size bytes (a
 * caller that may wait can zzz_conn_flush and try again), or when no
 * write buffer could be had. */
int zzz_conn_arena(zzz_conn *conn, size_t size, void **mem);
/* Gives back all the scratch (between messages); what pointed into it is
 * gone. */
void zzz_conn_arena_reset(zzz_conn *conn);

/* How the connection closes when on_conn next returns ZZZ_CLOSE. */
typedef enum zzz_close {
    /* Send what is pending, end our side, and linger (below) when client
     * bytes are left unread: in the receive buffer, or already arrived. */
    ZZZ_CLOSE_AUTO = 0,
    /* Always linger: the client may still be sending (an error before its
     * whole request body was read). */
    ZZZ_CLOSE_LINGER,
    /* Send what is pending and close without lingering (a client that
     * stalled is not waited for). */
    ZZZ_CLOSE_NOW,
    /* Drop what is pending and reset the connection (RST): for an answer
     * cut short whose end the client could otherwise take for complete. */
    ZZZ_CLOSE_RESET,
} zzz_close;

/* Sets how the connection closes (default ZZZ_CLOSE_AUTO; each on_conn
 * call starts at the default). A lingering close sends what is pending,
 * ends our side (close_notify with TLS, then FIN) and reads and drops what
 * still arrives until the client closes or linger_timeout_ms passes, so
 * the client reads the answer instead of a connection reset destroying it.
 * While it lingers the connection holds no task and no buffer, and the
 * protocol may no longer wake it. No lingering during a graceful
 * shutdown. */
void zzz_conn_close_mode(zzz_conn *conn, zzz_close how);

/* zzz_conn_close_mode(conn, ZZZ_CLOSE_LINGER). */
void zzz_conn_linger(zzz_conn *conn);

/* Ends the next wait (ZZZ_WAIT) at when_ns (tardy_now clock) instead of
 * after idle_timeout_ms, and at that time runs on_conn once more, with
 * zzz_conn_expired() true, instead of closing the connection: the
 * protocol can answer (HTTP: 408 for a head that arrives too slowly).
 * Applies to one wait; each on_conn call starts without it. A protocol
 * the connection was handed to (zzz_conn_hand_over) that waits this way
 * is also served once more when a graceful shutdown begins, with
 * zzz_conn_closing() true, to say goodbye (a WebSocket's 1001); whatever
 * it returns, the connection then closes. */
void zzz_conn_wait_until(zzz_conn *conn, uint64_t when_ns);

/* True in an on_conn call made because the time of zzz_conn_wait_until
 * passed before more bytes arrived. */
bool zzz_conn_expired(const zzz_conn *conn);

/* An absolute deadline (tardy_now clock) for this connection's reads and
 * writes, in place of the per-call timeouts; 0 restores them. */
void zzz_conn_set_deadline(zzz_conn *conn, uint64_t when_ns);
/* The deadline zzz_conn_set_deadline set; 0 when none is. */
uint64_t zzz_conn_deadline(const zzz_conn *conn);

/* The socket, for options (setsockopt) and addresses. Do not read it:
 * on io_uring the connection's receive stream takes bytes out of the
 * socket as they arrive, so only zzz_conn_read and friends see them all. */
int zzz_conn_fd(const zzz_conn *conn);
const struct sockaddr *zzz_conn_peer(const zzz_conn *conn, socklen_t *len);
/* True once the server is shutting down: finish up and close. */
bool zzz_conn_closing(const zzz_conn *conn);
/* Marks the task serving the connection as waiting for nothing but its
 * client on a stream with no end of its own (an event stream, a quiet
 * WebSocket), or clears the mark. While it is marked, a graceful shutdown
 * cancels the task's pending call at once (it returns -ECANCELED) rather
 * than letting it hold the drain for drain_timeout_ms; marking it during
 * a shutdown cancels its next call. Set it just around such a wait: a
 * cancel that finds the task between calls (its wait had just ended) is
 * kept for its next call, so clearing the mark during a shutdown takes
 * that cancel back (it yields once to do so). Each on_conn call starts
 * unmarked. */
void zzz_conn_cancel_on_drain(zzz_conn *conn, bool on);
/* A pointer the protocol may keep with the connection across waits. */
void *zzz_conn_data(const zzz_conn *conn);
void zzz_conn_set_data(zzz_conn *conn, void *data);
/* What the server's on_thread_start stored for the thread serving the
 * connection (NULL without one): the protocol's per-thread state. A
 * protocol the connection was handed to (zzz_conn_hand_over) sees the
 * server's protocol's. */
void *zzz_conn_thread_data(const zzz_conn *conn);

/* Hands the connection to another protocol for the rest of its life (a
 * protocol upgrade). Once the current call returns, whatever it returns,
 * on_conn(conn, user) serves the connection in place of the server's
 * on_conn: at once when the receive buffer holds bytes (the new
 * protocol's first, which came with or after the switch), else when its
 * next bytes arrive (it waits holding no task, as after ZZZ_WAIT).
 * on_busy is not called for it any more: its bytes wait for a free task
 * instead. The connection's data pointer is kept. During a graceful
 * shutdown it is closed instead. Returns 0, or -EINVAL for a NULL
 * on_conn. */
int zzz_conn_hand_over(zzz_conn *conn, zzz_on_conn_fn on_conn, void *user);
/* Asks for one more on_conn call for a connection that has no new bytes:
 * for a protocol whose work can come from elsewhere (a message queued for
 * a WebSocket by another connection). A waiting connection stops waiting
 * and is served as soon as a task is free; one being served now is served
 * again right after its current call returns ZZZ_WAIT, instead of
 * waiting. That call sees zzz_conn_woken() true, and must expect no new
 * bytes. Call it from a task of the connection's own thread (another
 * thread hands the work over through a channel first). Returns 0 (also
 * when a wake is pending already), -ENOTCONN when the connection has
 * closed, or is closing (its protocol ended it and it lingers). */
int zzz_conn_wake(zzz_conn *conn);
/* True in an on_conn call that a zzz_conn_wake asked for (bytes may have
 * arrived too). */
bool zzz_conn_woken(const zzz_conn *conn);
/* Calls fn(conn, user) once when the connection closes, whoever closes
 * it (its protocol, an idle timeout, the client, a shutdown), before its
 * record is reused: for a protocol that keeps state of its own with the
 * connection (a WebSocket's, freed there). fn must not read or write the
 * connection, and may run outside any task. One hook per connection; a
 * later call replaces it, NULL removes it. */
void zzz_conn_on_close(zzz_conn *conn, void (*fn)(zzz_conn *conn, void *user), void *user);
/* The server the connection belongs to. */
zzz_server *zzz_conn_server(const zzz_conn *conn);

/* Connections open / served now, summed over the server's threads. */
unsigned zzz_server_open_conns(const zzz_server *server);

/* What a connection's TLS session negotiated. */
typedef struct zzz_tls_info {
    uint16_t version;        /* 0x0303: TLS 1.2 */
    uint16_t cipher_suite;   /* its IANA number (0xC02B: ECDHE-ECDSA-AES128-GCM-SHA256) */
    const char *server_name; /* the host the client named (SNI); "" if none */
    const char *alpn;        /* the protocol agreed through ALPN; NULL if none */
} zzz_tls_info;

/* True when the connection runs over TLS; then fills *info (when not NULL)
 * with pointers valid while the connection is open. */
bool zzz_conn_tls(const zzz_conn *conn, zzz_tls_info *info);

/* Memory the server sets aside, per thread, as configured: the ceilings
 * behind the pools (the kernel commits pages only as they are touched). */
typedef struct zzz_server_memory {
    size_t conn_record;    /* bytes per open connection's record */
    size_t read_buffer;    /* per active connection (and waiters whose
                              unfinished message outgrew the small one) */
    size_t small_buffer;   /* per waiting connection with an unfinished
                              message that fits it */
    size_t write_buffer;   /* per active connection */
    size_t stack;          /* per active connection's task */
    size_t tls_state;      /* per TLS connection, for its whole life: the
                              engine and its record buffers; 0 without TLS */
    size_t tls_session_cache; /* the session cache, once for the whole
                                 server (its threads share it) */
} zzz_server_memory;

void zzz_server_memory_info(const zzz_server *server, zzz_server_memory *out);

#ifdef __cplusplus
}
#endif

#pragma GCC visibility pop

/* HTTP/1.1, one protocol on this server. */
#include <zzz_http.h>
/* On HTTP: server-sent events and WebSocket. */
#include <zzz_sse.h>
#include <zzz_ws.h>

#endif /* ZZZ_H */
