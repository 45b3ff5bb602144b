/* zzz's HTTP/1.1: a protocol on the server of <zzz.h> (which includes
 * this header; either can be included first). Requests, responses, the
 * router and the HTTP server's configuration. */
#ifndef ZZZ_HTTP_API_H
#define ZZZ_HTTP_API_H

#include <zzz.h>

#pragma GCC visibility push(default)

#ifdef __cplusplus
extern "C" {
#endif

typedef struct zzz_req zzz_req;
typedef struct zzz_res zzz_res;

/* A request handler. It answers through res; if it returns without
 * answering, the server answers 500. */
typedef void (*zzz_handler)(zzz_req *req, zzz_res *res, void *user);

typedef struct zzz_header {
    zzz_str name;
    zzz_str value;
} zzz_header;

/* ---- router ----------------------------------------------------------- */

typedef struct zzz_router zzz_router;

/* Creates an empty router. Returns 0 and sets *out, or -ENOMEM (*out is
 * then NULL). */
int zzz_router_create(zzz_router **out);
void zzz_router_destroy(zzz_router *router);

/* Adds a route. `method` is a token ("GET", "POST", ...); `pattern` is a
 * path of static segments, named parameters (":id") and an optional final
 * wildcard ("*path", which takes the rest of the path, slashes included).
 * Matching cost grows with the path's length, not the number of routes.
 * Returns 0, -EINVAL for a NULL argument, a method that is not a token,
 * a pattern that does not start with '/', an empty or non-alphanumeric
 * parameter name, a wildcard that is not last, more than 16 parameters,
 * or a static segment with a character a path cannot hold (a bad %-escape,
 * %00 or %2F); -EEXIST when the same method and pattern (or a conflicting
 * parameter name at the same place) is already there; -ENOMEM. Copies what
 * it keeps. */
int zzz_route(zzz_router *router, const char *method, const char *pattern, zzz_handler handler,
              void *user);

/* The handler for paths no route matches (default, and with a NULL
 * handler: a plain 404). */
void zzz_router_not_found(zzz_router *router, zzz_handler handler, void *user);

/* ---- middleware --------------------------------------------------------- */

/* The rest of a request's chain, as a layer sees it. */
typedef struct zzz_next zzz_next;

/* A layer: runs around the handler. It may answer itself and return (the
 * rest of the chain then never runs), or call zzz_next_run(next) and act
 * after it returns: read the status (zzz_res_status_code), count the
 * bytes (zzz_res_body_bytes), or, when the handler has not sent its head
 * yet, add fields. Fields for every answer are best added before
 * zzz_next_run, or from a hook (zzz_res_on_head) that runs just before
 * the head is composed. Whatever returns without an answer (a handler,
 * or a layer that neither answered nor ran the rest) gets zzz's 500 as it
 * returns, so layers further out see it; a request whose body failed
 * (400, 408, 413, 503: zzz_req_body) is answered after the chain instead.
 * `user` is the pointer given with the layer; it is shared by every
 * thread. */
typedef void (*zzz_layer)(zzz_req *req, zzz_res *res, zzz_next *next, void *user);

/* Runs the rest of the chain: the next layer, or the handler (or the
 * answer zzz makes when no route matched: 404, 405, 501). The rest runs
 * once: a second call does nothing. */
void zzz_next_run(zzz_next *next);

/* Adds a layer for every request whose path is `prefix` or lies beneath
 * it ("/api" covers "/api" and "/api/users", not "/apis"; a prefix is
 * percent-decoded as a pattern's static segments are): routed or not,
 * so a 404, a 405 or an OPTIONS preflight passes through it too. "/" (or
 * "") covers every request, including "OPTIONS *" and CONNECT. The chain
 * runs from the outside in: layers of "/" first, then those of longer
 * prefixes, each set in the order added, then the route's own
 * (zzz_route_use), then the handler. Paths are compared percent-decoded
 * and exactly, as the router compares them. A route with no layer around
 * it costs nothing more than before. Returns 0; -EINVAL for a NULL router
 * or layer, or a prefix that does not start with '/', has "//", a segment
 * ":name" or "*name", or what zzz_route refuses in a static segment;
 * -ENOMEM.
 * Copies the prefix. */
int zzz_use(zzz_router *router, const char *prefix, zzz_layer layer, void *user);

/* Adds a layer to one route, added before with zzz_route (the same method
 * and pattern text): it runs inside the prefix layers, in the order
 * added. Returns 0; -EINVAL for a NULL argument or a pattern zzz_route
 * would refuse; -ENOENT when there is no such route; -ENOMEM. */
int zzz_route_use(zzz_router *router, const char *method, const char *pattern, zzz_layer layer,
                  void *user);

/* ---- static files ------------------------------------------------------ */

/* A file name extension (without the dot, matched without regard to case)
 * and the Content-Type its files are served with. */
typedef struct zzz_mime_type {
    const char *ext;
    const char *type;
} zzz_mime_type;

/* How a directory is served (zzz_static). Zeros mean the defaults. */
typedef struct zzz_static_opts {
    const char *index;         /* served for a directory; NULL: "index.html",
                                  "": none */
    const char *cache_control; /* the Cache-Control value; NULL: none */
    bool list_dirs;            /* an HTML listing for a directory without
                                  its index (else 404) */
    bool dotfiles;             /* serve names that start with '.' (else 404) */
    bool symlinks_out;         /* follow symbolic links that lead out of the
                                  root (else 404) */
    bool no_precompressed;     /* never serve NAME.br / NAME.gz for NAME */
    const zzz_mime_type *types; /* types that extend or override the
                                   built-in table, ended by {NULL, NULL};
                                   copied */
    /* Small files are kept in memory between requests, with their answer's
     * fields, by each thread, and every request checks the file first (a
     * stat of its name beneath the root, and one of each pre-compressed
     * sibling the client accepts): a file changed, replaced or removed is
     * read again, or not served, at once. A file is kept once it has been left
     * alone for two seconds; the least recently used go first. */
    size_t cache_bytes;        /* memory per thread for it; 0: 1 MiB
                                  (ZZZ_STATIC_CACHE_BYTES) */
    size_t cache_file_max;     /* the largest file kept; 0: 16 KiB
                                  (ZZZ_STATIC_CACHE_FILE_MAX) */
    bool no_cache;             /* keep nothing: open and read every time */
} zzz_static_opts;

#define ZZZ_STATIC_CACHE_BYTES ((size_t)1024 * 1024)
#define ZZZ_STATIC_CACHE_FILE_MAX ((size_t)16 * 1024)

/* Serves the directory `root` under `prefix` ("/assets", or "/" for the
 * whole site): GET and HEAD of prefix/NAME answer with the file NAME
 * beneath root. Only regular files are served. The request path is split
 * at its slashes and each segment percent-decoded once; a path with "."
 * or "..", an encoded '/' or '\', NUL, bytes that are not UTF-8, or a
 * name starting with '.' (unless opts->dotfiles) gets 404, and the
 * kernel resolves the name beneath root (openat2 RESOLVE_BENEATH), so no
 * symbolic link leads out of it (unless opts->symlinks_out; an absolute
 * link is refused even when it points inside). Answers carry
 * Content-Type (the built-in table, opts->types first), a strong ETag,
 * Last-Modified (never later than Date), Accept-Ranges,
 * X-Content-Type-Options: nosniff, and Vary: Accept-Encoding unless
 * opts->no_precompressed. Preconditions go in RFC 9110 13.2.2's order:
 * If-Match and If-Unmodified-Since may give 412, If-None-Match and
 * If-Modified-Since 304; one byte range gives 206 (several: the whole
 * file), an unsatisfiable one 416, and If-Range is honoured. NAME.br or
 * NAME.gz is sent instead of NAME when Accept-Encoding accepts it and it
 * is not older. A directory is answered by its index (opts->index), after a
 * 301 to its path with a trailing slash. May be called for several
 * prefixes. Returns 0, -EINVAL (NULL argument, a prefix that does not
 * start with '/' or has "//", an index name with '/' or longer than 255
 * bytes, a type or
 * Cache-Control that is empty, longer than 255 bytes or has a control
 * byte other than tab, a type entry with an empty extension or no type),
 * root's open error
 * (-ENOENT, -ENOTDIR, -EACCES), zzz_route's errors (-EEXIST when a route
 * of the mount is taken), -ENOMEM. The root directory stays open, and
 * the options are copied, until zzz_router_destroy. */
int zzz_static(zzz_router *router, const char *prefix, const char *root,
               const zzz_static_opts *opts);

/* Serves len bytes at data (kept, not copied: they must outlive the
 * router) as the file at `path` ("/favicon.ico"), with Content-Type
 * `type` (NULL: from path's extension), a strong ETag computed from the
 * bytes now, Last-Modified of now, and the same conditions and ranges as
 * zzz_static. Returns 0, -EINVAL (a NULL path, NULL data with len > 0, a type as
 * zzz_static refuses), zzz_route's errors, -ENOMEM. */
int zzz_static_bytes(zzz_router *router, const char *path, const void *data, size_t len,
                     const char *type);

/* ---- the HTTP server --------------------------------------------------- */

typedef struct zzz_http_config {
    zzz_server_config server;   /* on_conn, on_refuse, on_busy, the thread
                                   hooks, on_destroy, user and
                                   serve_on_open are set by zzz; tls.alpn
                                   defaults to {"http/1.1", NULL} */
    zzz_router *router;         /* required */
    size_t max_target;          /* request-target bytes; 0: 8 KiB (414 past it) */
    size_t max_header_bytes;    /* request head bytes (request line and
                                   header fields); 0: 16 KiB, at most
                                   the read buffer (431 past it) */
    unsigned max_headers;       /* header fields; 0: 64 (431 past it) */
    size_t max_body;            /* body bytes; 0: 1 MiB (413 past it) */
    uint32_t header_timeout_ms; /* a request head must arrive within, from
                                   its first byte; 0: 10 s (408). A head
                                   that arrives in pieces waits between
                                   them holding no task. */
    uint32_t body_timeout_ms;   /* a body read fails when no body byte has
                                   arrived for this long; 0: 30 s (408) */
    uint32_t body_min_rate;     /* bytes per second a body must average,
                                   counted from the end of the head, once
                                   body_grace_ms has passed; 0: 1024 (408) */
    uint32_t body_grace_ms;     /* before the minimum rate applies; 0: 10 s;
                                   UINT32_MAX: no minimum rate */
    unsigned body_buffers;      /* whole-body buffers (max_body each) per
                                   thread, taken when the body's first
                                   bytes arrive; 0: 16 (503 when all are
                                   in use) */
    size_t request_memory;      /* what zzz_alloc may give one request
                                   in all (rounded up to the alignment;
                                   at most SIZE_MAX / 4); 0: 64 KiB */
} zzz_http_config;

/* Creates an HTTP server. Returns as zzz_server_create, and -EINVAL
 * without a router or when max_headers fields would need more than half
 * the write buffer (the header array lives there). */
int zzz_http_server_create(zzz_server **out, const zzz_http_config *config);

/* ---- requests (inside a handler) --------------------------------------- */

zzz_str zzz_req_method(const zzz_req *req);
/* The request-target as sent. */
zzz_str zzz_req_target(const zzz_req *req);
/* The path as sent (without query) and percent-decoded. A path whose
 * decoding would contain NUL is refused with 400 before any handler. */
zzz_str zzz_req_path_raw(const zzz_req *req);
zzz_str zzz_req_path(const zzz_req *req);
/* The raw query string, without '?' (empty when there is none). */
zzz_str zzz_req_query(const zzz_req *req);
/* The first query parameter called `name`, percent- and '+'-decoded.
 * Returns true and sets *value when present; false when absent, and also
 * when that first one's value cannot be decoded (a bad %-escape or %00) or
 * the request's scratch space has no room for its decoded copy. */
bool zzz_req_query_param(zzz_req *req, const char *name, zzz_str *value);
/* A named route parameter (":id" -> "id"), percent-decoded. Returns true
 * and sets *value when the matched route has it. */
bool zzz_req_param(const zzz_req *req, const char *name, zzz_str *value);
/* 0 for HTTP/1.0, 1 for HTTP/1.1. */
int zzz_req_version(const zzz_req *req);
/* The first header called `name` (any case). Returns true and sets *value
 * (when not NULL) if there is one. */
bool zzz_req_header(const zzz_req *req, const char *name, zzz_str *value);
/* All header fields in arrival order, repeats kept; header_at returns
 * NULL past the count. */
size_t zzz_req_header_count(const zzz_req *req);
const zzz_header *zzz_req_header_at(const zzz_req *req, size_t index);
const struct sockaddr *zzz_req_peer(const zzz_req *req, socklen_t *len);
/* The connection, for a protocol upgrade or the like. */
zzz_conn *zzz_req_conn(zzz_req *req);

/* The declared body length, or -1 when chunked, 0 when there is none. */
int64_t zzz_req_content_length(const zzz_req *req);
/* Reads the whole body (up to max_body) into a pooled buffer valid until
 * the handler returns; the buffer is taken once the body's first bytes
 * have arrived. Returns 0, -E2BIG past max_body (a Content-Length or a
 * chunk size that says so is refused before its bytes are read),
 * -ENOBUFS when every body buffer is in use, -ETIMEDOUT (body_timeout_ms
 * without a byte, or under body_min_rate), -EPROTO on bad chunked framing
 * or trailers, -ECONNRESET when the client went away mid-body. On an
 * error, the server answers for the handler (413, 503, 408, 400) unless
 * the handler's answer has already begun to leave; then the connection is
 * closed, so the client never takes a cut answer for a whole one. Also
 * -EALREADY when part of the body was already read with zzz_req_read, and
 * the errors of sending "100 Continue" (-EPIPE ...). A request without a
 * body gives an empty one; a later call gives the same body, or the same
 * error. */
int zzz_req_body(zzz_req *req, zzz_str *body);
/* Streams the body: up to len bytes; 0 at its end (or for a len of 0).
 * Errors as above but -ENOBUFS and -EALREADY; once one is returned, every
 * later read returns it again. The first read of a request with
 * "Expect: 100-continue" sends the interim 100 Continue, unless the final
 * answer has already begun. */
ssize_t zzz_req_read(zzz_req *req, void *buf, size_t len);

/* ---- per-request memory ---------------------------------------------- */

/* Memory for the request's life: n bytes aligned for any type, freed
 * when the request ends (after its answer, or when a handler that took
 * the connection over returns). Each request may take up to
 * zzz_http_config.request_memory bytes in all; past it, or with n of 0,
 * NULL. A handler that gets NULL and returns without answering gets the
 * usual 500. Blocks are kept per thread between requests, so a request
 * does not call malloc once the thread has warmed up (an allocation
 * larger than a block, 4 KiB, has one of its own). */
void *zzz_alloc(zzz_req *req, size_t n);

/* Values handed along a request's chain: a layer sets one, a handler
 * reads it. A key is the address of something of the caller's own (a
 * static variable), so two libraries never collide. Setting a key again
 * replaces its value. zzz_req_set returns 0; -EINVAL for a NULL key;
 * -ENOMEM when the request's memory is spent. zzz_req_get returns the
 * value, or NULL when the key was never set. */
int zzz_req_set(zzz_req *req, const void *key, void *value);
void *zzz_req_get(const zzz_req *req, const void *key);

/* ---- responses ---------------------------------------------------------- */

/* Sets the final status (default 200). Returns 0, -EINVAL for a status
 * outside 200..999 (1xx are interim: not a final status), -EALREADY once
 * the head has been sent. */
int zzz_res_status(zzz_res *res, int status);
/* Adds a header (copied into the write buffer's arena). Content-Length,
 * Transfer-Encoding, Date and Connection are managed by zzz. Returns 0,
 * -EINVAL for a NULL or empty name, a name that is not a token, a value
 * with CR, LF or another control character but tab (which would break the
 * framing), Content-Length, Transfer-Encoding or Date, or Connection with
 * any value but "close" ("close" is taken: the connection closes after
 * this answer); -ENOBUFS when the headers outgrow their 4 KiB (or the
 * write buffer has no room for them); -EALREADY once the head has been
 * sent. */
int zzz_res_header(zzz_res *res, const char *name, const char *value);
/* zzz_res_header with a name and value given by pointer and length (not
 * terminated), so a request's value (a zzz_str) can be echoed without a
 * copy; a NUL byte inside either is refused (-EINVAL), and a NULL ptr is
 * allowed only with len 0 (an empty value). Same returns. */
int zzz_res_header_str(zzz_res *res, zzz_str name, zzz_str value);
/* Sends the whole response with this body and its Content-Length (a 204,
 * 304 or HEAD answer carries no body). It goes into the write buffer, and
 * leaves when that fills or after the handler returns. Returns 0, -EALREADY when
 * the head was already sent (by send, text, write or end), -EPIPE after
 * zzz_res_abort, or zzz_conn_write's errors when it had to send. */
int zzz_res_send(zzz_res *res, const void *body, size_t len);
/* zzz_res_send with a status and a C string (NULL: empty), as
 * text/plain. A status zzz_res_status refuses is ignored (the response
 * keeps the one it had), and so is a Content-Type that finds no room;
 * otherwise returns as zzz_res_header, then as zzz_res_send. */
int zzz_res_text(zzz_res *res, int status, const char *text);
/* Promises a body of len bytes, sent with Content-Length instead of
 * chunked. Returns 0, -EALREADY once the head has been sent. */
int zzz_res_content_length(zzz_res *res, uint64_t len);
/* Streams the body: the first call sends the head, with
 * Transfer-Encoding: chunked unless a length was set with
 * zzz_res_content_length (an HTTP/1.0 client gets a body ended by the
 * close instead). A len of 0 writes only the head. Returns 0; -EMSGSIZE
 * when the bytes would pass the promised length (nothing of data is
 * sent); -EALREADY once the response is done (send, text or end);
 * -EPIPE after zzz_res_abort or after an earlier write or end failed;
 * zzz_conn_write's errors when it had to send (the response is then
 * failed: later writes return -EPIPE and the connection closes). */
int zzz_res_write(zzz_res *res, const void *data, size_t len);
/* Streams len bytes of the file fd from offset as the next part of the
 * body, as zzz_res_write would with those bytes (the first call sends the
 * head; with a promised length the usual answer is
 * zzz_res_content_length, zzz_res_sendfile, zzz_res_end). On plain TCP a
 * large file goes from the page cache to the socket uncopied
 * (zzz_conn_sendfile); a small one is read into the write buffer to leave
 * with the head in one send. To a HEAD request nothing is read or sent.
 * The file's offset does not move; the caller keeps fd. Returns as
 * zzz_res_write, and also -EINVAL for a negative offset, -EBADF, the
 * file's read errors, and -ENODATA when the file ended before len bytes
 * (it shrank): then, as after any failed send, the response is cut and
 * the connection closes. */
int zzz_res_sendfile(zzz_res *res, int fd, off_t offset, size_t len);
/* Ends a streamed response (the final chunk, if chunked); with nothing
 * written yet, it sends the head with a Content-Length of 0, or of the
 * promised length. A handler that returns without ending a response it
 * began leaves it cut: the server closes the connection without the final
 * chunk (or the missing Content-Length bytes), so the client sees it
 * incomplete. Returns 0; -EPIPE when fewer bytes were written than
 * promised (the response is left cut, as above), after zzz_res_abort, or
 * after a failed write; -EALREADY when the response was already done;
 * zzz_conn_write's errors when it had to send. */
int zzz_res_end(zzz_res *res);
/* Gives up on a response mid-stream (a failed source, a failed body
 * read): what has left stays as it is, nothing more is sent (no final
 * chunk), and the connection closes; a body delimited by the close
 * (HTTP/1.0) ends with a reset, so it is never taken for complete. Before
 * any of the answer has left, the connection just closes unanswered.
 * Later writes return -EPIPE. */
void zzz_res_abort(zzz_res *res);
/* True once the response has been fully produced (send, text or end). */
bool zzz_res_done(const zzz_res *res);
/* The status the answer has (200 until set; what was sent once the head
 * has left). */
int zzz_res_status_code(const zzz_res *res);
/* Body bytes produced so far (written or sent; for HEAD, those a GET
 * would have had). */
uint64_t zzz_res_body_bytes(const zzz_res *res);
/* True once the head has been composed: fields can no longer change. */
bool zzz_res_head_sent(const zzz_res *res);
/* Calls fn(res, user) once, just before the response's head is composed
 * (by send, text, write, sendfile, end, take_over, or the 500 zzz makes
 * for a handler that did not answer), while the status and fields can
 * still change: for a layer that adds fields after the handler has run.
 * Hooks run in the reverse order of their adding (the innermost layer's
 * first). Not called for the short answers zzz makes in the handler's
 * stead when a body fails (413, 408, 400: zzz_http_config). Returns 0;
 * -EINVAL for a NULL fn; -EALREADY once the head has been composed;
 * -ENOMEM when the request's memory is spent. */
int zzz_res_on_head(zzz_res *res, void (*fn)(zzz_res *res, void *user), void *user);

/* Hands the connection over to the handler: for a protocol of its own
 * after "101 Switching Protocols" (WebSocket, a custom upgrade), or for
 * an answer that never ends (a feed, a log tail). It sends the head now:
 * the status line, Date and the fields added with zzz_res_header, then,
 * for 101, "Connection: Upgrade" (the handler adds the Upgrade field);
 * for another status, "Connection: close" and no length, so the body is
 * whatever the handler writes to the connection until it closes (to a
 * HEAD request, write nothing). From then on HTTP is done with the
 * connection: the handler reads and writes it with the zzz_conn calls,
 * and when it returns, the connection closes (as zzz_conn_close_mode
 * says) unless it was handed to another protocol (zzz_conn_hand_over),
 * which then serves it without holding a task while it is quiet.
 * The receive buffer then holds exactly what the client sent after the
 * request (and its body): the new protocol's first bytes, when the
 * client did not wait for the 101. The request's strings pointed into
 * that buffer and are gone: copy what you need first.
 * Returns 0 and sets *conn; -EALREADY when the head has already been sent
 * (send, text, write or end); -EINVAL for a status outside 101 and
 * 200..999, or a 101 to an HTTP/1.0 request or without an Upgrade field;
 * -EBUSY when the request's body has not been read to its end (its bytes
 * come first); -EPIPE after zzz_res_abort; or zzz_conn_write's errors
 * (the connection is then good only for closing). */
int zzz_res_take_over(zzz_res *res, int status, zzz_conn **conn);

/* The reason phrase of a status ("Not Found"); "" for unknown ones. */
const char *zzz_status_reason(int status);

/* ---- forms and queries ------------------------------------------------- */

/* Client input that these calls and the multipart ones below refuse also
 * sets the answer of a handler that then returns without answering:
 * instead of zzz's 500 it gets 400 (malformed: -EBADMSG), 413 (too large:
 * -E2BIG, -EFBIG, -EMSGSIZE, or a form or field that does not fit the
 * request's memory), 414 (a query that does not fit it) or 415 (not the
 * expected Content-Type: -ENOTSUP), with the same body and hooks as the
 * 500 (so layers see that status). A handler that answers keeps its own
 * answer. Errors of the body itself (zzz_req_read's) are answered as
 * zzz_req_body says. So `if (err < 0) return;` is a correct handler. */

/* The fields of a query string or an application/x-www-form-urlencoded
 * body (the WHATWG URL standard's rules): fields separated by '&', empty
 * ones skipped, each "name=value", or "name" alone (an empty value).
 * Names and values are percent-decoded, '+' as a space. A form is a small
 * value the caller keeps (on its stack): it points to the text and to the
 * decoded copies, which live in the request's memory (zzz_alloc) until the
 * request ends; a copy of a zzz_form iterates on its own. The strings it
 * gives are not NUL-terminated. Its members are private. */
typedef struct zzz_form {
    const char *text;
    size_t len;
    size_t pos;
    char *decoded;
    size_t decoded_pos;
    size_t count;
} zzz_form;

/* A form over any urlencoded text, which must outlive the form (a
 * request's strings do). Every escape is checked here, so the fields read
 * later cannot fail: a bad escape ('%' without two hex digits) or a NUL
 * (%00 or raw) anywhere refuses the whole text. The decoded copies of the
 * names and values that need one (those with '%' or '+'; the others point
 * into text) take one allocation of at most text.len bytes. Returns 0;
 * -EINVAL for a NULL req or out, or a NULL text.ptr with a length;
 * -EBADMSG; -ENOMEM when the request's memory cannot hold the copies.
 * Sets no answer (the text may come from anywhere). */
int zzz_form_parse(zzz_req *req, zzz_str text, zzz_form *out);

/* zzz_form_parse of the request's query string (zzz_req_query; no query:
 * no fields). Refusals set the answer: -EBADMSG 400, -ENOMEM 414. */
int zzz_req_query_form(zzz_req *req, zzz_form *out);

/* zzz_form_parse of the request's body, read whole with zzz_req_body
 * (bounded by max_body; the text lives in the body buffer). The body must
 * be application/x-www-form-urlencoded (its parameters, such as charset,
 * are ignored: bytes are given as sent); a request with no body and no
 * Content-Type gives an empty form. Returns 0; -ENOTSUP for another or a
 * missing Content-Type (415; the body is left unread); -EBADMSG (400);
 * -ENOMEM (413); zzz_req_body's errors, answered as it says. */
int zzz_req_body_form(zzz_req *req, zzz_form *out);

/* The next field, in order, repeats kept: true and sets *name and *value
 * (either may be NULL); false after the last. */
bool zzz_form_next(zzz_form *form, zzz_str *name, zzz_str *value);

/* The first field called `name` (exact bytes, after decoding), wherever
 * zzz_form_next is: true and sets *value (when not NULL); false when
 * there is none. */
bool zzz_form_get(const zzz_form *form, const char *name, zzz_str *value);

/* How many fields the form has. */
size_t zzz_form_count(const zzz_form *form);

/* ---- multipart --------------------------------------------------------- */

/* A multipart/form-data body (RFC 7578, RFC 2046 5.1), read part by part
 * as it arrives (zzz_req_read), never whole in memory. */
typedef struct zzz_multipart zzz_multipart;
/* One part: its fields, then its content. */
typedef struct zzz_part zzz_part;

/* Limits of zzz_req_multipart. Zeros mean the defaults. The body as a
 * whole is bounded by max_body (-E2BIG, 413). */
typedef struct zzz_multipart_opts {
    uint64_t max_part_bytes; /* content bytes of one part, read or
                                skipped; 0: no limit of its own (-EFBIG,
                                413, past it) */
    size_t max_header_bytes; /* a part's header section, its lines and
                                the empty line that ends it; 0: 8 KiB
                                (-EMSGSIZE, 413, past it) */
    unsigned max_parts;      /* 0: 1000 (-E2BIG, 413, past it) */
} zzz_multipart_opts;

#define ZZZ_MULTIPART_HEADER_BYTES ((size_t)8 * 1024)
#define ZZZ_MULTIPART_PARTS 1000u

/* Starts reading the body as multipart/form-data. The boundary comes from
 * Content-Type ("boundary=", quoted or not, 1 to 70 characters of RFC
 * 2046's set, not ending in a space). Nothing is read yet. The reader
 * takes about 16 KiB of the request's memory (more when max_header_bytes
 * is over 7.5 KiB), and its parts' strings live there too. A body
 * already read whole (zzz_req_body, by a layer say) is read from its
 * buffer. Returns 0 and sets *out; -EINVAL for a NULL req or out;
 * -ENOTSUP when Content-Type is missing or not multipart/form-data (415);
 * -EBADMSG for a missing, repeated or malformed boundary (400); -EALREADY
 * when part of the body was already streamed with zzz_req_read; -ENOMEM
 * when the request's memory cannot hold the reader. */
int zzz_req_multipart(zzz_req *req, const zzz_multipart_opts *opts, zzz_multipart **out);

/* Moves to the next part, reading and dropping what is left of the
 * current one (skipping a part is just calling this again). The preamble
 * before the first boundary and the epilogue after the last are ignored
 * (the epilogue is read to the body's end). Returns 1 and sets *part (valid,
 * with its strings, until the next call or the request's end); 0 after
 * the last part (then every call returns 0); or an error, after which
 * every call (here and on the part) returns it again:
 * -EBADMSG (400): a delimiter line that is not "--boundary" then "--" or
 * optional spaces and CRLF; a header section that is not lines
 * "Name: value" ending in CRLF (a bare CR or LF, a control byte, a
 * folded line); a part without "Content-Disposition: form-data" and a
 * name parameter, or with that field, Content-Type or a parameter twice;
 * a body that ends before the final "--boundary--".
 * -EMSGSIZE, -EFBIG, -E2BIG (413): past a limit of the options (-E2BIG
 * is also the body past max_body); -ENOMEM (413): a part's name or
 * filename has escapes to undo and the request's memory cannot give the
 * room for them (max_header_bytes, taken once); and zzz_req_read's
 * errors. */
int zzz_multipart_next(zzz_multipart *mp, zzz_part **part);

/* The part's name (Content-Disposition's name parameter), with a quoted
 * string's escapes undone. Browsers send '"', CR and LF in names as %22,
 * %0D and %0A: those are given as sent. */
zzz_str zzz_part_name(const zzz_part *part);

/* True when the part is a file (Content-Disposition has filename, or a
 * filename* in UTF-8, which wins: RFC 8187, percent-decoded) and sets
 * *filename (when not NULL): the name the client gave, possibly empty,
 * never NUL inside, and never to be used as a path (it may hold '/',
 * "..", anything). */
bool zzz_part_filename(const zzz_part *part, zzz_str *filename);

/* The part's Content-Type as sent, or "text/plain" when it has none
 * (RFC 7578 4.4). */
zzz_str zzz_part_content_type(const zzz_part *part);

/* The part's first header field called `name` (any case): true and sets
 * *value (when not NULL; without the spaces around it). */
bool zzz_part_header(const zzz_part *part, const char *name, zzz_str *value);

/* Reads up to len bytes of the part's content (as sent: a
 * Content-Transfer-Encoding is not undone). Returns the count; 0 at the
 * part's end (or for a len of 0); or zzz_multipart_next's errors. */
ssize_t zzz_part_read(zzz_part *part, void *buf, size_t len);

/* Reads the rest of the part into the request's memory (its strings'
 * place), for a text field: returns 0 and sets *text; -EFBIG when more
 * than max bytes remain (413 unless answered; the part stays where it
 * was read to, and the next part can still be had); -ENOMEM when the
 * request's memory cannot hold it (413; it takes up to twice the text's
 * length); or zzz_part_read's errors. */
int zzz_part_text(zzz_part *part, size_t max, zzz_str *text);

/* Streams the rest of the part into a new file `name` in the directory
 * dir_fd, created as if with O_CREAT | O_EXCL and mode 0600 (less the
 * umask). The content goes to a temporary file in that directory
 * (".zzz-upload-" and random letters) through tardy_write, which is then
 * renamed to name without replacing anything; on any failure it is
 * removed, so name appears whole or not at all. The file is not synced
 * (fsync it to survive a crash). name is one file name: not empty, ".",
 * or "..", without '/', at most 255 bytes; never pass the client's
 * filename (choose one of your own). Returns the bytes written; -EINVAL
 * for a NULL part or name, or a bad name; -EEXIST when name exists
 * (checked before anything is read, and again at the end); the file
 * system's errors (-ENOSPC, -EACCES, -EDQUOT ...), after which the rest
 * of the part is left unread; or zzz_part_read's errors. */
int64_t zzz_part_save(zzz_part *part, int dir_fd, const char *name);

#ifdef __cplusplus
}
#endif

#pragma GCC visibility pop
#endif /* ZZZ_HTTP_API_H */
