/* Internal state of the TCP server: the server, one worker per runtime,
 * and connection records. Not installed. */
#ifndef ZZZ_SERVER_H
#define ZZZ_SERVER_H

#include "last_error.h"
#include "pool.h"
#include "zzz.h"

#include <netinet/in.h>
#include <stdatomic.h>
#include <sys/un.h>

#define ZZZ_DEFAULT_CONN_LIMIT 1024u
#define ZZZ_DEFAULT_BACKLOG 1024u
#define ZZZ_DEFAULT_BUFFER ((size_t)16 * 1024)
#define ZZZ_DEFAULT_STACK ((size_t)64 * 1024)
#define ZZZ_DEFAULT_IDLE_MS 60000u
#define ZZZ_DEFAULT_IO_MS 30000u
#define ZZZ_DEFAULT_DRAIN_MS 10000u
#define ZZZ_DEFAULT_LINGER_MS 2000u
/* An unfinished message that fits this waits in a small buffer. */
#define ZZZ_SMALL_BUFFER ((size_t)1024)
/* A response's end this small is copied into a buffer of this size to be
 * sent while its connection waits, and the write buffer goes back at
 * once: two of them share a page, where a write buffer in flight keeps
 * two pages of its own (its start, and the scratch at its end). */
#define ZZZ_FLY_BUFFER ((size_t)2048)
/* Tasks kept beyond active_limit for on_busy answers, at most. */
#define ZZZ_DEFAULT_BUSY_TASKS 16u

/* LINGERING: its protocol is done and our side is closed; it waits, like
 * a WAITING one, only to drop the client's last bytes (conn_life.c). */
typedef enum conn_state { CONN_FREE, CONN_ACTIVE, CONN_WAITING, CONN_LINGERING } conn_state;

typedef union zzz_sockaddr {
    struct sockaddr sa;
    struct sockaddr_in in;
    struct sockaddr_in6 in6;
} zzz_sockaddr;

struct zzz_worker;
struct zzz_stream_ops; /* plain or TLS (stream.h) */
typedef struct zzz_tls_ctx zzz_tls_ctx;   /* certificates, keys, sessions (tls_config.c) */
typedef struct zzz_tls_conn zzz_tls_conn; /* one connection's engine (tls_stream.c) */

/* One open connection. While it waits it is just this record (and the
 * kernel's socket): no task, no stack, no buffer unless bytes are left. */
struct zzz_conn {
    /* How it waits without a task: its receive stream while that is open
     * (`stream`), else a readiness watch (a new connection's first wait
     * with serve_on_open, TLS). One at a time, so they share the room. */
    union {
        tardy_stream stream;
        tardy_watch watch;
    } rx;
    struct zzz_worker *worker;
    const struct zzz_stream_ops *ops; /* its stream's kind: the server's */
    int fd;
    conn_state state;
    zzz_close close_how; /* zzz_conn_close_mode */
    bool ahead;    /* its last wait was for bytes, received ahead */
    bool stream;   /* rx.stream is open: reads go through it */
    bool in_small; /* `in` is a small buffer (an unfinished message waits) */
    bool expire_call; /* the current wait ends in on_conn, not a close */
    bool expired;     /* this on_conn call is that one (zzz_conn_expired) */
    bool handed;      /* this call handed it over (zzz_conn_hand_over) */
    bool wake;        /* zzz_conn_wake asked for a call not yet made */
    bool woken;       /* this call is that one (zzz_conn_woken) */
    bool cancel_on_drain; /* zzz_conn_cancel_on_drain: a shutdown cancels its task */
    /* When not NULL: the last bytes of a response (flying_len of them,
     * from the pool fly_pool) that its receive stream is sending while
     * the connection waits (conn_flush_ahead), the kernel's until
     * collected. Its progress is kept in write_start, write_last and
     * write_done, as a write's. */
    char *fly;
    zzz_pool *fly_pool;
    zzz_buf in;   /* data NULL when no buffer is held */
    zzz_buf out;
    size_t arena_used; /* scratch taken from the end of `out` (see zzz_conn_arena) */
    uint64_t in_since; /* zzz_conn_buf_since */
    uint64_t sent;     /* zzz_conn_sent */
    uint64_t deadline;
    uint64_t wait_until;    /* zzz_conn_wait_until, for the next wait */
    uint64_t wait_deadline; /* while waiting: when the wait ends */
    size_t flying_len;
    /* The write in progress (zzz_conn_writev), for its progress timeout. */
    bool writing;
    uint64_t write_outer; /* the task's deadline outside the write */
    uint64_t write_start; /* when the write call began */
    uint64_t write_last;  /* when the peer last took bytes */
    uint64_t write_done;  /* bytes the peer has taken in this call */
    tardy_task task;
    zzz_tls_conn *tls; /* TLS state from the worker's pool; NULL until the
                          handshake starts (and always without TLS) */
    void *data;
    /* The protocol it was handed to (NULL: the server's on_conn). */
    zzz_on_conn_fn on_conn;
    void *on_conn_user;
    void (*on_close)(zzz_conn *conn, void *user); /* zzz_conn_on_close */
    void *on_close_user;
    zzz_sockaddr peer;
    socklen_t peer_len;
    struct zzz_conn *next_free;
};

typedef struct zzz_worker {
    struct zzz_server *server;
    unsigned index;
    int listen_fd;
    zzz_conn *conns;       /* conn_limit records, set up on first use */
    unsigned conns_used;   /* records ever used: conns[0..conns_used) */
    zzz_conn *free_conns;
    unsigned open;
    unsigned active;
    unsigned flying; /* connections with a fly (at most active_limit) */
    zzz_pool in_pool;
    zzz_pool small_pool; /* ZZZ_SMALL_BUFFER each, for waiting messages */
    zzz_pool out_pool;
    zzz_pool fly_pool; /* ZZZ_FLY_BUFFER each, for responses' small ends */
    zzz_pool tls_pool; /* TLS state, one per open connection (with TLS) */
    tardy_task acceptor;
    bool draining;
    /* The sentinel sleeps until the drain timeout; the last connection to
     * close wakes it (cancels its sleep), so a stop takes no longer than
     * the requests in flight. Set only while it sleeps so. */
    tardy_task drain_sleeper;
    bool thread_started; /* on_thread_start returned 0: on_thread_stop is due */
    void *thread_data;   /* what on_thread_start stored (zzz_conn_thread_data) */
} zzz_worker;

struct zzz_server {
    zzz_server_config cfg; /* defaults filled in */
    int *listen_fds;
    unsigned listen_count;
    uint16_t port;
    int stop_pipe[2];
    atomic_bool stopping;
    atomic_uint open_total;
    zzz_worker *workers;
    zzz_tls_ctx *tls; /* NULL without TLS */
    const struct zzz_stream_ops *stream_ops; /* every connection's kind */
    bool sigpipe_held; /* zzz_server_run blocked SIGPIPE for the run */
    atomic_int start_error; /* the first thread's start-up error (zzz_server_run) */
};

/* Runs an I/O call under the connection's deadline (or now + timeout). */
uint64_t zzz_conn_io_deadline(const zzz_conn *conn, uint32_t timeout_ms);

/* The stream calls these around each send of a zzz_conn_writev: the first
 * sets the task's deadline for the send (from the last progress, and the
 * minimum rate), the second records the bytes the peer took. Outside a
 * zzz_conn_writev they do nothing: the caller's deadline applies. */
void zzz_conn_send_arm(zzz_conn *conn);
void zzz_conn_send_progress(zzz_conn *conn, size_t n);

/* When the write in progress is due to have moved again, from its
 * write_start, write_last and write_done: write_timeout_ms after the peer
 * last took bytes, sooner when write_min_rate is set and it has fallen
 * behind that rate (after a first write_timeout_ms of grace). */
uint64_t zzz_conn_write_due(const zzz_conn *conn);

/* zzz_conn_flush for the last time before a graceful close: what the
 * write buffer holds goes out, and with TLS close_notify with it (one
 * send for a short answer; the close then sends nothing more). 0 or
 * -errno, as zzz_conn_flush. */
int zzz_conn_finish(zzz_conn *conn);

/* Notes that bytes were appended to the receive buffer (for
 * zzz_conn_buf_since): call it before raising in.len. */
void zzz_conn_in_arrived(zzz_conn *conn);

/* Moves what an unfinished message left in the receive buffer to a small
 * buffer when it fits one, and gives the buffer back when it is empty:
 * for a connection about to wait. */
void zzz_conn_park_input(zzz_conn *conn);

/* The read end of the server's stop pipe: readable, and left so, once the
 * server begins to stop. Per-thread work of a protocol that waits for a
 * time (the HTTP access log's flush) watches it too, so that it ends with
 * the drain instead of holding the runtime open until its time. */
int zzz_server_stop_fd(const zzz_server *server);

#endif
