/* Internal state of the HTTP layer: the request and response a handler
 * sees, the per-thread state (body buffers, Date cache) and the shared
 * helpers of the connection loop. HTTP is a protocol like any other on
 * the server: it reaches the connection and the server only through
 * zzz.h (pool.h is a plain buffer pool). Not installed. */
#ifndef ZZZ_HTTP_H
#define ZZZ_HTTP_H

#include "chunked.h"
#include "parse.h"
#include "pool.h"
#include "router.h"
#include "zzz.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stddef.h>
#include <sys/socket.h>

#define ZZZ_HTTP_DEFAULT_MAX_TARGET ((size_t)8 * 1024)
#define ZZZ_HTTP_DEFAULT_MAX_HEADER_BYTES ((size_t)16 * 1024)
#define ZZZ_HTTP_DEFAULT_MAX_HEADERS 64u
#define ZZZ_HTTP_DEFAULT_MAX_BODY ((size_t)1024 * 1024)
#define ZZZ_HTTP_DEFAULT_HEADER_MS 10000u
#define ZZZ_HTTP_DEFAULT_BODY_MS 30000u
#define ZZZ_HTTP_DEFAULT_BODY_BUFFERS 16u
#define ZZZ_HTTP_DEFAULT_BODY_MIN_RATE 1024u
#define ZZZ_HTTP_DEFAULT_BODY_GRACE_MS 10000u
#define ZZZ_HTTP_DEFAULT_REQUEST_MEMORY ((size_t)64 * 1024)
/* A larger request_memory is taken as this: "no limit" in effect, with
 * room for the arithmetic. */
#define ZZZ_HTTP_REQUEST_MEMORY_MAX (SIZE_MAX / 4)

/* The HTTP configuration with its defaults filled in. */
typedef struct http_config {
    zzz_router *router;
    http_limits limits;
    size_t max_body;
    uint32_t header_timeout_ms;
    uint32_t body_timeout_ms;
    uint32_t body_min_rate;
    uint32_t body_grace_ms; /* UINT32_MAX: no minimum rate */
    unsigned body_buffers;
    size_t request_memory;
    zzz_error_handler on_error;
    void *on_error_user;
} http_config;

/* State a part of the server (a static mount's cache, say) keeps per
 * thread; see zzz_http_thread_local. */
typedef struct http_local {
    struct http_local *next;
    const void *key;
    void *ptr;
    void (*free_fn)(void *ptr);
} http_local;

/* A block of per-request memory (arena.c). */
typedef struct http_block {
    struct http_block *next;
    size_t size; /* of data */
    _Alignas(max_align_t) char data[];
} http_block;

/* A value of zzz_req_set. */
typedef struct http_value {
    struct http_value *next;
    const void *key;
    void *value;
} http_value;

/* A hook of zzz_res_on_head. */
typedef struct http_hook {
    struct http_hook *next;
    void (*fn)(zzz_res *res, void *user);
    void *user;
} http_hook;

/* Per-thread HTTP state (the server's on_thread_start makes it). */
typedef struct http_thread {
    zzz_pool body_pool;
    http_block *blocks;      /* per-request memory blocks kept for reuse */
    unsigned block_count;
    uint64_t date_refreshed; /* tardy_now() of the last refresh */
    char date_line[64];      /* "Date: ...\r\n" */
    size_t date_len;
    http_local *locals;      /* most recently made first */
} http_thread;

typedef enum body_state { BODY_NONE, BODY_READING, BODY_DONE, BODY_ERROR } body_state;

struct zzz_req {
    zzz_conn *conn;
    zzz_res *res; /* its response (to know whether the answer has begun) */
    const http_config *config;
    http_head head;
    zzz_str path; /* percent-decoded */
    bool early;   /* no request was read: error handlers see NULL */
    router_match match;
    uint64_t max_body; /* this request's limit (route, group or server) */
    /* body */
    body_state body_state;
    uint64_t body_left;    /* Content-Length bytes not yet read */
    uint64_t body_read;    /* bytes handed to the handler so far */
    http_chunked chunked;
    bool continue_sent;
    uint64_t body_start;   /* when the head was whole (the minimum rate's origin) */
    uint64_t body_last;    /* when body bytes last arrived */
    char *body_buf;        /* from the body pool, while held */
    int body_err;          /* -E2BIG, -EPROTO, -ETIMEDOUT... once failed */
    /* per-request memory (arena.c) */
    http_block *blocks;    /* taken, the current one first */
    size_t block_used;     /* bytes of blocks->data given out */
    size_t memory_taken;   /* bytes counted against request_memory */
    http_value *values;
    /* the response's body filter (zzz_res_filter), released at the end */
    const zzz_body_filter *filter;
    void *filter_state;
    int reject_status;     /* zzz_http_req_reject: the answer instead of 500 */
};

struct zzz_res {
    zzz_conn *conn;
    zzz_req *req;
    int status;
    bool head_sent;
    bool done;
    bool head_only;        /* HEAD: headers as for GET, no body */
    bool chunked;
    bool close_delimited;  /* its body ends when the connection closes (1.0) */
    bool aborted;          /* zzz_res_abort */
    bool failed;           /* a write of it failed */
    bool close;            /* Connection: close on this response */
    bool length_set;
    bool upgrade;          /* an Upgrade field was added */
    bool taken_over;       /* zzz_res_take_over: the handler has the connection */
    bool event_stream;     /* zzz_sse_start: whole whenever its handler returns */
    bool filter_decided;   /* the filter's begin has been asked */
    bool filtering;        /* its body goes through req->filter */
    bool filter_promise;   /* a length was promised before the filter */
    bool in_error;         /* an error handler is making it */
    uint64_t filter_promised; /* that length */
    uint64_t filter_in;    /* body bytes given to the filter */
    char *filter_piece;    /* a file's bytes on their way to the filter */
    bool body_error;       /* it answers the request body's failure */
    uint64_t content_length;
    uint64_t body_sent;
    /* Where the answer began: the connection's bytes sent and the write
     * buffer's length then. Until any of it leaves, it can be taken back. */
    uint64_t mark_sent;
    size_t mark_len;
    http_hook *hooks;      /* zzz_res_on_head, the last added first */
    /* Extra header lines ("Name: value\r\n"...) kept in the arena. */
    char *headers;
    size_t headers_len;
    size_t headers_cap;
};

/* Date line of this thread, refreshed at most once a second. */
const char *zzz_http_date_line(http_thread *t, size_t *len);

/* Composes into buf (HTTP_SHORT_ANSWER_MAX bytes) a whole short answer
 * that ends the connection: the status line and Date (as every response
 * head), then `extra` header lines ("Name: value\r\n", or NULL), a
 * text/plain body that is the status phrase and a newline, and
 * Connection: close. Returns its length. */
#define HTTP_SHORT_ANSWER_MAX 512
size_t zzz_http_short_answer(char *buf, http_thread *t, int status, const char *extra);


/* Marks the request's body failed with err before any of it is read
 * (a declared length past the limit). */
void zzz_http_req_fail_body(zzz_req *req, int err);

/* Prepares req/res for a new request whose head was parsed. */
void zzz_http_req_init(zzz_req *req, zzz_conn *conn, const http_config *config);
void zzz_http_res_init(zzz_res *res, zzz_conn *conn, zzz_req *req);

/* After the handler, for a body it did not read to its end: reads and
 * checks the framing of the rest, from what has arrived plus one read
 * that does not wait, dropping the bytes. Returns 0 when the body ended
 * there (the connection can serve what follows), -EAGAIN when it goes on
 * past what has arrived (or the client waits for 100 Continue), or the
 * body's error (-EPROTO broken framing, -E2BIG a chunk past max_body,
 * -ECONNRESET the client left, or the error a handler's read met). */
int zzz_http_req_settle_body(zzz_req *req);
/* Records that the client's input was refused (a malformed form, a
 * multipart part too large ...): a handler that returns without
 * answering gets `status` (400, 413, 414, 415) instead of 500, through
 * the same path (hooks, layers). The first status recorded stays. The
 * body itself is not failed: its framing holds, so the connection may
 * serve its next request. */
void zzz_http_req_reject(zzz_req *req, int status);

/* Gives back the body buffer and the request's memory. */
void zzz_http_req_release(zzz_req *req);

/* Gives the request's memory back to the thread (arena.c). */
void zzz_http_req_memory_release(zzz_req *req);
/* Frees the blocks a thread kept (at its stop). */
void zzz_http_blocks_free(http_thread *t);

/* True when the request has no body or it has been read to its end. */
bool zzz_http_req_body_finished(zzz_req *req);

/* For a connection taken over: drops the head from the receive buffer,
 * so what follows it starts the buffer, and empties the request's
 * strings, which pointed into it. */
void zzz_http_req_forget_head(zzz_req *req);

/* After the handler (errors.c): when nothing answered, answers through
 * the error handlers: the body's error (400, 408, 413, 503: then the
 * connection closes after it) when the request's body failed, else 500.
 * Returns 0 when the response is whole, -EPIPE when it is cut (aborted, a
 * streamed body left unended, a promised length not delivered, a failed
 * write, or the client gone mid-body): the connection must then close
 * without completing it. */
int zzz_http_res_finish(zzz_res *res);

/* Answers with an error through the handler that covers the request
 * (zzz_router_on_error, then zzz_http_config.on_error, then the default
 * text), as zzz_res_error does without its checks. Returns as
 * zzz_res_send. */
int zzz_http_error(zzz_res *res, int status, const char *why);

/* Answers an error where there is no request to speak of (a head that is
 * malformed, too large or too slow, a server too busy), through
 * zzz_http_config.on_error when set (its req NULL), else the short
 * answer; `extra` are header lines ("Name: value\r\n", or NULL). The
 * answer ends the connection, which closes as `how` says (a 408 at
 * once). Returns 0 or the send's error. */
int zzz_http_error_early(zzz_conn *conn, const http_config *cfg, int status, const char *why,
                         const char *extra, zzz_close how);

/* The status that answers a body that failed with err, and its why. */
int zzz_http_body_error_status(int err);
const char *zzz_http_body_error_why(int err);

/* Whether a response the handler left is whole: done, without a body,
 * or every promised byte delivered (a filtered one is then ended). */
bool zzz_http_res_whole(zzz_res *res);
/* How a connection whose response is cut closes, so it looks cut. */
zzz_close zzz_http_res_cut_close(const zzz_res *res);

/* Asks the body filter, once, whether it takes this body (length: its
 * length, or -1 when unknown); sets res->filtering (response_filter.c). */
void zzz_http_res_filter_decide(zzz_res *res, int64_t length);
/* Feeds body bytes to the filter. Returns 0 or -errno. */
int zzz_http_res_filter_feed(zzz_res *res, const void *data, size_t len, bool last);

/* Reads up to len bytes of file fd at offset (>= 0): what the page
 * cache holds is taken at once, without waiting (tardy_read_cached, one
 * syscall), and only what it lacks goes through tardy_read, which may
 * park. (On io_uring a read in the ring parks the task until the next
 * turn even for cached bytes, holding its stack: a turn of requests for
 * a file not yet in zzz's cache would hold one stack each.) Returns the
 * bytes read (> 0), 0 at the end of the file, or -errno. */
ssize_t zzz_http_file_read(int fd, void *buf, size_t len, int64_t offset);
/* Whether a field called name (any of them) holds text, without regard
 * to case. */
bool zzz_http_res_field_has(const zzz_res *res, const char *name, const char *text);
/* Releases the filter's state (at the request's end). */
void zzz_http_req_filter_release(zzz_req *req);

/* Runs the zzz_res_on_head hooks, once: the list is taken first, so a
 * hook that composes the head itself does not run the rest twice. */
void zzz_http_res_run_hooks(zzz_res *res);

/* 1xx, 204 and 304 carry no body; 1xx and 204 no Content-Length either. */
bool zzz_http_status_has_body(int status);

/* Runs the request's middleware chain around final (middleware.c): the
 * prefix layers `outer` that cover its path, then its route's own
 * (req->match), then final(req, res, final_user). */
void zzz_http_chain_run(zzz_req *req, zzz_res *res, const router_layer *outer,
                        unsigned outer_count, zzz_handler final, void *final_user);

/* Takes back the part of the answer still in the write buffer; false when
 * some of it has left already. */
bool zzz_http_res_take_back(zzz_res *res);

/* The HTTP state of the thread serving the connection. */
static inline http_thread *http_thread_of(zzz_conn *conn)
{
    return zzz_conn_thread_data(conn);
}

/* What the part named `key` (any address that stays unique while the
 * server runs: its state's) keeps on the thread serving conn: made by
 * make(key) the first time that thread asks, freed with free_fn(ptr) when
 * the thread stops (after its last connection). Threads never share it,
 * so it needs no lock. Returns NULL when make returned NULL (asked again
 * next time) or the record of it could not be allocated (then free_fn
 * has freed what make made). */
void *zzz_http_thread_local(zzz_conn *conn, const void *key, void *(*make)(const void *key),
                            void (*free_fn)(void *ptr));

/* Room for len bytes of header lines ("Name: value\r\n"...) that libzzz
 * composes itself, appended to the response's head unchecked: the caller
 * writes exactly len bytes there, with no name zzz manages
 * (Content-Length, Transfer-Encoding, Date, Connection, Upgrade) and no
 * CR, LF or other control byte inside a line. NULL once the head is sent,
 * when the head's 4 KiB of lines are full, or when the write buffer's
 * arena has no room left. */
char *zzz_http_res_lines_room(zzz_res *res, size_t len);

/* Bounds how long bytes we sent may stay unacknowledged before the kernel
 * gives up on the connection (TCP_USER_TIMEOUT; a no-op where the socket
 * is not TCP): a long-lived stream's heartbeats to a client that vanished
 * without a FIN would otherwise sit retransmitted for TCP's quarter of an
 * hour before a read or write saw the end. */
static inline void zzz_http_unacked_limit(zzz_conn *conn, uint32_t ms)
{
    unsigned int value = ms;
    setsockopt(zzz_conn_fd(conn), IPPROTO_TCP, TCP_USER_TIMEOUT, &value, sizeof value);
}

#endif
