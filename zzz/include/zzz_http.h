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
 * or a layer that neither answered nor ran the rest) gets zzz's answer as
 * it returns, so layers further out see it: the body's error when its
 * body failed (400, 408, 413, 503: zzz_req_body), else 500.
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

/* ---- errors and limits per group ------------------------------------- */

/* Makes the answer for an error: those zzz makes itself (see "Errors" in
 * docs/zzz.md for every case and its status: 400, 403, 404, 405, 408,
 * 413, 414, 431, 500, 501, 503, 505) and those a handler or layer raises with
 * zzz_res_error. `status` is the status that leaves (already set on
 * res); `why` is a short fixed phrase naming the case ("request head too
 * large"), for logs and pages; it never holds client bytes. The handler
 * adds fields and sends a body (zzz_res_send, zzz_res_text...), and may
 * change the status with zzz_res_status. When it returns without
 * answering, zzz sends its default: the reason phrase and a newline
 * ("Not Found\n") as text/plain; charset=utf-8, the same form for every
 * status. req is NULL when what arrived could not be read as a request
 * (a malformed or too large head, a head that came too slowly, a server
 * too busy to read it): then only res may be used. The handler must not
 * read a body or take the connection over. `user` is shared by every
 * thread. */
typedef void (*zzz_error_handler)(zzz_req *req, zzz_res *res, int status, const char *why,
                                  void *user);

/* Sets the error handler for requests whose path is prefix or lies
 * beneath it (prefixes as zzz_use takes them; "/" for every request). The
 * longest prefix with a handler answers; without one, the server's
 * (zzz_http_config.on_error), then zzz's default. A NULL handler removes
 * the prefix's. Errors without a request (req NULL above) go to the
 * server's. Returns 0; -EINVAL for a NULL router or prefix, or a prefix
 * zzz_use refuses; -ENOMEM. */
int zzz_router_on_error(zzz_router *router, const char *prefix, zzz_error_handler handler,
                        void *user);

/* Answers with an error through the error handlers, as zzz answers its own:
 * sets the status (400..599), then runs the handler that covers the
 * request's path (or zzz's default). For a layer or handler that refuses
 * a request (401, 403, 429...) with the same answers as the rest of the
 * site. Returns 0 once the answer is made; -EINVAL for a status outside
 * 400..599; -EALREADY once the head has been sent; or what sending
 * returned. */
int zzz_res_error(zzz_res *res, int status, const char *why);

/* Sets the most body bytes a request whose path is prefix or lies beneath
 * it may send (prefixes as zzz_use takes them), instead of
 * zzz_http_config.max_body: more is refused with 413, before its bytes
 * are read when its Content-Length says so. The longest prefix with a
 * limit counts; a route's own (zzz_route_max_body) counts before any.
 * 0 removes the prefix's limit; UINT64_MAX means none. zzz_req_body
 * gathers a body into buffers of zzz_http_config.max_body bytes, so where
 * a prefix allows more, read it with zzz_req_read (or as multipart):
 * zzz_req_body returns -E2BIG for a body that does not fit. Returns 0;
 * -EINVAL as zzz_router_on_error; -ENOMEM. */
int zzz_router_max_body(zzz_router *router, const char *prefix, uint64_t max_body);

/* The same for one route, added before with zzz_route. Returns 0; -EINVAL
 * for a NULL argument or a pattern zzz_route refuses; -ENOENT when there
 * is no such route. */
int zzz_route_max_body(zzz_router *router, const char *method, const char *pattern,
                       uint64_t max_body);

/* ---- compression ------------------------------------------------------ */

/* How zzz_use_compression compresses. Zeros mean the defaults. */
typedef struct zzz_compress_config {
    size_t min_bytes;         /* a body of known length under this is sent
                                 as it is; 0: 1024 */
    int gzip_level;           /* 1..9; 0: 5 */
    int brotli_quality;       /* 1..11; 0: 4 (quality 0 cannot be asked) */
    const char *const *types; /* compressible media types, ended by NULL:
                                 "text/html" matches that type, "text/"
                                 every text type; NULL: text/, JSON, JS,
                                 XML, SVG, WASM, and the like. Copied. */
    bool no_gzip;             /* never gzip */
    bool no_brotli;           /* never brotli */
    unsigned max_streams;     /* responses a thread compresses at once
                                 (each holds a compressor: ~270 KiB for
                                 gzip, more for brotli); past it, bodies
                                 leave as they are; 0: 64 */
} zzz_compress_config;

/* Adds a layer to prefix (as zzz_use) that compresses response bodies
 * with brotli or gzip, as the request's Accept-Encoding prefers them
 * (q-values; brotli on a tie; "*" counts; q=0 refuses). It compresses a
 * body whose Content-Type is in cfg->types (never text/event-stream,
 * whose events must leave as they are sent), unless the response already
 * has a Content-Encoding, is a 206 or has no content, or its length is
 * known and under min_bytes. A compressible response gets
 * Vary: Accept-Encoding (compressed or not); a compressed one gets
 * Content-Encoding, is sent chunked (no Content-Length), loses
 * Accept-Ranges, and its strong ETag becomes weak (a 304 gets the same
 * Vary and ETag). Streamed bodies are compressed as they are written:
 * each zzz_res_write leaves flushed. A promised length
 * (zzz_res_content_length) is kept to by the bytes given, not sent. Gzip
 * streams are kept per thread between requests; a brotli encoder is
 * made for each response (brotli 1.0 cannot reset one). Returns 0;
 * -EINVAL for a bad router, prefix or level; -ENOTSUP when libzzz was
 * built without zlib and brotli (or without the one left by the no_
 * flags); -ENOMEM. */
int zzz_use_compression(zzz_router *router, const char *prefix, const zzz_compress_config *cfg);

/* ---- built-in layers ---- */

/* Layers libzzz provides. One call adds each, as zzz_use would, for every
 * request whose path is `prefix` or beneath it; its config (NULL, or a
 * zero field, means the default) is checked and copied, lists and strings
 * included, and what the layer keeps belongs to the router until
 * zzz_router_destroy. Each returns 0; -EINVAL for a NULL router or prefix,
 * a prefix zzz_use refuses, or a config its comment refuses; -ENOMEM.
 * Each has a second form, zzz_<name>_layer, that makes the layer without
 * adding it: it sets *layer and *user (valid while the router lives) for
 * zzz_route_use (one route) or zzz_use, and returns the same errors but
 * the prefix's.
 *
 * They run as any layer does (outside in) and see what the layers inside
 * them answer. A sensible order, outermost first: request ID, access log,
 * security headers, CORS (so preflights are answered before
 * credentials are asked for), rate limit, basic auth. The fields they add
 * go on every answer that leaves through the chain, zzz's own 404, 405
 * and 500 included (from a zzz_res_on_head hook), but not on the short
 * answers zzz makes after the chain when a request body fails (400, 408,
 * 413, 503; see zzz_layer), nor on those to a request head it refuses
 * before any layer runs (400, 408, 414, 431, 501). */

/* Request IDs. */
typedef struct zzz_request_id_config {
    const char *header;  /* the field the ID is read from and sent back in;
                            NULL: "X-Request-Id" (a token, at most 64 bytes) */
    size_t max_len;      /* the longest ID taken from a client; 0: 200 (at
                            most 1024) */
    bool ignore_client;  /* always make a new ID */
} zzz_request_id_config;

/* Gives each request an ID: the client's, from the header field, when it
 * is 1 to max_len bytes of letters, digits and "-_.:+/=@~" (the first
 * such field; any other value is ignored, never echoed); else a new one,
 * 16 hex digits drawn from getrandom(2) once per thread, '-', and the
 * thread's count of IDs made, in hex (at least 8 digits): unique in
 * practice across threads and restarts, and made without a system call.
 * The ID goes back in the same field on every answer, unless the handler
 * set that field itself, and handlers and other layers read it with
 * zzz_request_id. Errors: -EINVAL for a header that is not a token or is
 * longer than 64 bytes, a max_len above 1024. */
int zzz_use_request_id(zzz_router *router, const char *prefix, const zzz_request_id_config *cfg);
int zzz_request_id_layer(zzz_router *router, const zzz_request_id_config *cfg, zzz_layer *layer,
                         void **user);
/* The request's ID, valid until the request ends (copied into its
 * memory, so it outlives zzz_res_take_over); empty when no request-ID
 * layer has run for it, or when the request's memory is spent. */
zzz_str zzz_request_id(const zzz_req *req);

/* An access log. */
typedef struct zzz_access_log_config {
    const char *path;    /* the file lines are appended to (opened now with
                            O_APPEND, created with mode 0644 less the umask;
                            closed by zzz_router_destroy); NULL: fd */
    int fd;              /* without a path: the descriptor written to, kept
                            open by the caller while the server runs (not
                            closed); 0: 1, stdout. A pipe is written
                            through a non-blocking descriptor of its own:
                            when its reader falls behind, a batch is
                            dropped (and counted in a "# access log: N
                            lines dropped" line) rather than the thread
                            stopped; lines there are cut to PIPE_BUF
                            (field_max at most 768) so they land whole */
    size_t buffer_bytes; /* lines kept per thread before a write; 0: 64 KiB;
                            at least 5 * field_max + 256, at most 64 MiB */
    uint32_t flush_ms;   /* the longest a line waits to be written; 0: 1000 */
    size_t field_max;    /* each of the request line, referer, user agent,
                            user and request ID is cut to this many bytes,
                            escaped (its end then "..."); 0: 1024; 16 to
                            65536 */
} zzz_access_log_config;

/* Logs each request once the rest of the chain has run, in the combined
 * format with the duration and request ID after it:
 *   HOST - USER [DD/Mon/YYYY:HH:MM:SS +0000] "REQUEST LINE" STATUS BYTES
 *   "REFERER" "USER-AGENT" SECONDS ID
 * HOST is the peer's address ("-" on a Unix socket), USER the name
 * zzz_basic_auth_user gives ("-" without one), the date UTC, STATUS and
 * BYTES those of the answer that left (the body's bytes: 0 for HEAD,
 * 204 and 304), SECONDS the time the rest of the chain took (microsecond
 * precision), ID zzz_request_id's ("-" without one). Quoted fields and
 * the user and ID escape '"' and '\' with a backslash, and control bytes
 * and bytes past 0x7E as \xHH; "-" stands for an absent field. A request
 * whose body failed after the handler (zzz answers it after the chain:
 * 400, 408, 413, 503) is logged with that status and body; one whose
 * client left before an answer, with 499. Lines are kept in a buffer per
 * thread and written (one write(2) per batch; on a pipe, in pieces of
 * whole lines of at most PIPE_BUF bytes, so that threads' lines never
 * interleave) when the buffer is full, flush_ms after the first line of a
 * batch (without holding a task while it waits, on an idle server too),
 * when the server begins to stop, and when a thread stops: no line is
 * lost to a graceful shutdown. A write error drops that batch. Errors:
 * -EINVAL for a field out of range or a negative fd; open(2)'s errors for
 * path (-ENOENT, -EACCES ...). A handler that takes the connection over
 * (zzz_res_take_over) is logged when it returns, with the status it gave
 * (101) and 0 bytes. */
int zzz_use_access_log(zzz_router *router, const char *prefix, const zzz_access_log_config *cfg);
int zzz_access_log_layer(zzz_router *router, const zzz_access_log_config *cfg, zzz_layer *layer,
                         void **user);

/* Cross-origin resource sharing (the Fetch standard's CORS protocol). */
typedef struct zzz_cors_config {
    const char *const *origins; /* the origins allowed, NULL-terminated:
                                   "scheme://host[:port]" each (no path,
                                   no trailing '/'; compared byte for
                                   byte, as browsers send them lower
                                   case), or "null"; or {"*", NULL} for
                                   any. NULL: any */
    const char *const *methods; /* methods a preflight may ask for (GET,
                                   HEAD and POST pass anyway, as Fetch
                                   says); a "*" among them: any; NULL:
                                   GET, HEAD, POST */
    const char *const *headers; /* request fields a preflight may ask for
                                   (compared without case); a "*": any;
                                   NULL: none */
    const char *const *expose;  /* response fields scripts may read
                                   (Access-Control-Expose-Headers); a "*":
                                   all (not with credentials, Fetch says);
                                   NULL: none */
    bool credentials;           /* allow cookies and credentials
                                   (Access-Control-Allow-Credentials); only
                                   with a list of origins */
    int max_age;                /* how long, in seconds, a browser may keep
                                   a preflight's answer; 0: 600; < 0: not
                                   said (the browser's default, 5 s) */
} zzz_cors_config;

/* Answers CORS. A request without an Origin field, or from an origin not
 * allowed, passes untouched (but for Vary). A preflight (OPTIONS with
 * Origin and Access-Control-Request-Method) is answered here, the rest of
 * the chain never running: 204 with Access-Control-Allow-Origin, -Methods
 * (the list; with "*", the method asked for), -Headers (when fields are
 * asked for: the list; with "*", those asked for), -Credentials and
 * -Max-Age when the origin, the method and every field asked for are
 * allowed, else 403 without them. Another request from an allowed origin
 * passes on, and its answer gets Access-Control-Allow-Origin,
 * -Credentials and -Expose-Headers (unless the handler set
 * Access-Control-Allow-Origin itself). The
 * answer's origin is "*" when any is allowed; with credentials (which
 * need a list of origins), the request's origin, one of the list. Vary:
 * Origin goes on every answer whose fields depend on the origin: on all
 * of them unless any origin is allowed. Errors: -EINVAL for credentials
 * with any origin (every site could act as the user) or with an expose
 * list of "*", an origin that is not as above (or "*" among others) or
 * is longer than 2048 bytes, a method or field name that is neither a
 * token nor "*" or is longer than 256 bytes, an empty list. */
int zzz_use_cors(zzz_router *router, const char *prefix, const zzz_cors_config *cfg);
int zzz_cors_layer(zzz_router *router, const zzz_cors_config *cfg, zzz_layer *layer, void **user);

/* Rate limits. */
typedef struct zzz_rate_limit_config {
    double rate;          /* requests per second a client may make,
                             refilled continuously (0.5: one every two
                             seconds); 0: 10; at most 1e6 */
    unsigned burst;       /* requests a client may make at once after a
                             pause; 0: rate rounded up; at most 1e6 */
    unsigned clients;     /* clients kept track of, at least (rounded up
                             to ten times a power of two; 25.6 bytes each,
                             taken now); 0: 65536; at most 2^24 */
    unsigned ipv6_prefix; /* leading bits of an IPv6 address that name a
                             client (a home or a host usually holds a
                             whole /64); 0: 64; at most 128 */
    /* A key of your own for the client instead of its address (an API
     * key, a user name a layer further out set, an address a trusted
     * proxy gave), valid while the layer runs; an empty key: the request
     * is not limited. NULL: the peer's address (a request over a Unix
     * socket is then not limited). */
    zzz_str (*key)(zzz_req *req, void *key_user);
    void *key_user;
} zzz_rate_limit_config;

/* Limits each client to `rate` requests per second with bursts of
 * `burst`: a token bucket (kept as the time it is full again) shared by
 * all the server's threads, in a table of fixed size taken now, so a
 * request costs no allocation. A table that is full
 * forgets first the client whose bucket is fullest (one that has waited
 * long enough has lost nothing). A request past the limit is answered 429
 * with Retry-After: the seconds until the next would pass, rounded up.
 * IPv4-mapped IPv6 addresses count as IPv4. Errors: -EINVAL for a rate
 * that is negative, not finite or above 1e6, a burst above 1e6, a bucket
 * that would take more than 1e9 seconds to fill (burst / rate), clients
 * above 2^24, an ipv6_prefix above 128. */
int zzz_use_rate_limit(zzz_router *router, const char *prefix, const zzz_rate_limit_config *cfg);
int zzz_rate_limit_layer(zzz_router *router, const zzz_rate_limit_config *cfg, zzz_layer *layer,
                         void **user);

/* HTTP Basic authentication (RFC 7617). */
typedef struct zzz_basic_auth_config {
    /* Says whether user and password are good (required). It runs in the
     * request's task (it may wait on tardy calls), gets strings valid
     * while it runs, and should compare secrets with zzz_secure_eq. */
    bool (*check)(zzz_str user, zzz_str password, void *user_data);
    void *user_data;
    const char *realm;    /* NULL: "Restricted"; at most 200 bytes, no '"',
                             '\' or control byte */
    size_t max_bytes;     /* the longest Authorization value read; 0: 4096
                             (a longer one gets 401) */
} zzz_basic_auth_config;

/* Lets a request pass when its Authorization field holds Basic
 * credentials that check accepts; answers 401 with WWW-Authenticate:
 * Basic realm="...", charset="UTF-8" otherwise (no field, another scheme,
 * base64 that is not strict RFC 4648 with its padding, no ':', a control
 * byte in the user or password, or check said no). The user name is then
 * zzz_basic_auth_user's. Errors: -EINVAL for a NULL check or a realm as
 * above. */
int zzz_use_basic_auth(zzz_router *router, const char *prefix, const zzz_basic_auth_config *cfg);
int zzz_basic_auth_layer(zzz_router *router, const zzz_basic_auth_config *cfg, zzz_layer *layer,
                         void **user);
/* The user a basic-auth layer let in (until the request ends); empty
 * when none did. */
zzz_str zzz_basic_auth_user(const zzz_req *req);
/* True when a and b hold the same bytes, in a time that depends on a's
 * length only: not on where the bytes differ, nor on b's length. Give
 * the client's value as a, the secret as b. */
bool zzz_secure_eq(zzz_str a, zzz_str b);

/* Security fields on every answer. */
typedef struct zzz_security_headers_config {
    uint32_t hsts_max_age;       /* Strict-Transport-Security max-age, in
                                    seconds; 0: 31536000 (a year) */
    bool hsts_subdomains;        /* "; includeSubDomains" */
    bool hsts_preload;           /* "; preload": needs hsts_subdomains and
                                    a max-age of a year or more */
    bool no_hsts;                /* no Strict-Transport-Security */
    bool hsts_without_tls;       /* send it over plain TCP too: behind a
                                    proxy that does the TLS */
    bool no_nosniff;             /* no X-Content-Type-Options: nosniff */
    const char *frame_options;   /* X-Frame-Options: NULL: "DENY";
                                    "SAMEORIGIN"; "": none */
    const char *referrer_policy; /* Referrer-Policy: NULL:
                                    "strict-origin-when-cross-origin";
                                    "": none */
    const char *content_security_policy; /* NULL or "": none */
} zzz_security_headers_config;

/* Adds, to every answer that does not have the field already:
 * Strict-Transport-Security (only over TLS, as RFC 6797 says, unless
 * hsts_without_tls), X-Content-Type-Options: nosniff, X-Frame-Options,
 * Referrer-Policy and, when one is given, Content-Security-Policy. No
 * policy is sent by default: which sources a site's pages may use is the
 * site's to say ("default-src 'self'" is a strict start). Errors:
 * -EINVAL for a frame option other than DENY or SAMEORIGIN, a referrer
 * policy that is not a comma-separated list of the W3C's tokens, a policy
 * with a control byte or longer than 4096 bytes, a preload without its
 * needs. */
int zzz_use_security_headers(zzz_router *router, const char *prefix,
                             const zzz_security_headers_config *cfg);
int zzz_security_headers_layer(zzz_router *router, const zzz_security_headers_config *cfg,
                               zzz_layer *layer, void **user);

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
    /* Each thread keeps small files in memory between requests, with their
     * answer's fields, and larger ones open (their descriptors, so that a
     * request needs no open, stat or close of its own). Before a file is
     * served from there it is checked (a stat of its name beneath the
     * root, and of each pre-compressed sibling the client accepts), once
     * per turn of the thread's scheduler rather than once per request: a
     * check made after a request's bytes arrived holds for it (see
     * tardy_io_epoch). So a file changed, replaced or removed before a
     * request arrives is read again, or not served, for that request, as
     * without the cache. A file is kept once it has been left alone for
     * two seconds; the least recently used go first, and one not asked for
     * in ten seconds goes at the thread's next request to the mount (its
     * descriptor closed, so a removed file's space comes back). The
     * descriptors count towards the process's RLIMIT_NOFILE (one evicted
     * while an answer is still sent from it closes when that send ends). */
    size_t cache_bytes;        /* memory per thread for it; 0: 1 MiB
                                  (ZZZ_STATIC_CACHE_BYTES) */
    size_t cache_file_max;     /* the largest file kept in memory; 0: 16 KiB
                                  (ZZZ_STATIC_CACHE_FILE_MAX) */
    bool no_cache;             /* keep nothing: open and read every time */
    unsigned cache_fds;        /* larger files held open per thread; 0: 64
                                  (ZZZ_STATIC_CACHE_FDS) */
} zzz_static_opts;

#define ZZZ_STATIC_CACHE_BYTES ((size_t)1024 * 1024)
#define ZZZ_STATIC_CACHE_FILE_MAX ((size_t)16 * 1024)
#define ZZZ_STATIC_CACHE_FDS 64u

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
    size_t max_body;            /* body bytes, and the size of each
                                   whole-body buffer; 0: 1 MiB (413 past
                                   it); see zzz_router_max_body */
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
    zzz_error_handler on_error; /* makes the server's error answers
                                   (zzz_error_handler); NULL: zzz's */
    void *on_error_user;
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
 * first). Not called when a handler's answer is taken back because the
 * body it left unread turned out broken (the 400 that replaces it is
 * made afresh). Returns 0;
 * -EINVAL for a NULL fn; -EALREADY once the head has been composed;
 * -ENOMEM when the request's memory is spent. */
int zzz_res_on_head(zzz_res *res, void (*fn)(zzz_res *res, void *user), void *user);

/* The value of the response's first field called name (any case), as
 * added so far; true and *value set (when not NULL) if there is one. The
 * value is valid until the response's fields next change (a field added
 * or removed). */
bool zzz_res_field(const zzz_res *res, const char *name, zzz_str *value);
/* Removes every field called name (any case) added so far. Returns how
 * many it removed; -EALREADY once the head has been composed. */
int zzz_res_header_remove(zzz_res *res, const char *name);

/* ---- body filters ---------------------------------------------------- */

/* A body filter transforms a response's body on its way out (compression
 * is one): whatever the handler sends (send, text, write, sendfile, end)
 * goes through it, and what it passes on with zzz_res_filter_out is what
 * leaves. All calls come from the task serving the request. */
typedef struct zzz_body_filter {
    /* Once, just before the head is composed (after the hooks), for a
     * status with a body: returns true to filter this body, false to step
     * aside (nothing else is then called but release). `length` is the
     * body's length when known (zzz_res_send, zzz_res_content_length),
     * else -1. It may add or remove fields. A filtered body has no
     * Content-Length: it is chunked (HTTP/1.1) or ends with the
     * connection (HTTP/1.0). To a HEAD request, begin is called (so the
     * fields are GET's) but data never is. */
    bool (*begin)(zzz_res *res, void *state, int64_t length);
    /* (begin is also called for a 304, with length 0 and its return
     * ignored: a 304 carries the fields its 200 would have had, RFC 9110
     * 15.4.5.) */
    /* The next piece of the body (len may be 0); `last` is true once, for
     * its end. Passes output on with zzz_res_filter_out. Returns 0, or
     * -errno: the response then fails (cut; the connection closes). */
    int (*data)(zzz_res *res, void *state, const void *data, size_t len, bool last);
    /* Once, when the request ends, whatever happened (NULL: none): gives
     * back what state holds. */
    void (*release)(void *state);
} zzz_body_filter;

/* Puts filter in the response's way, with state (the caller's; kept
 * until release). One filter per response. Returns 0; -EINVAL for a NULL
 * filter or one without begin and data; -EBUSY when the response has one
 * already; -EALREADY once the head has been composed. */
int zzz_res_filter(zzz_res *res, const zzz_body_filter *filter, void *state);

/* From a filter's data: sends len bytes of filtered body. Returns 0;
 * -EINVAL outside a filtered body's data; or zzz_conn_write's errors. */
int zzz_res_filter_out(zzz_res *res, const void *data, size_t len);

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

/* ---- cookies ------------------------------------------------------------ */

/* Reading. The request's Cookie fields (RFC 6265 4.2; a client may send
 * several, read as one list in their order) are split at ';' into
 * name=value pairs, read leniently, as browsers write them: spaces and
 * tabs around a name or value are dropped, empty pairs skipped, a pair
 * without '=' is a cookie with an empty name (a browser sends a nameless
 * cookie as its value alone), the first '=' ends the name, and a value in
 * double quotes ("abc") is given without them (cookie values have no
 * escapes: nothing is copied). Other bytes are given as sent: names are
 * not checked to be tokens, and a non-ASCII byte is kept. The strings
 * point into the request's head and live as long as its other strings
 * (until the handler returns, or until zzz_res_take_over). */

/* The first cookie called exactly `name` (case matters). Returns true and
 * sets *value (when not NULL); false when there is none or name is NULL. */
bool zzz_req_cookie(const zzz_req *req, const char *name, zzz_str *value);

/* Where zzz_req_cookie_next is among a request's cookies. Start from
 * zero ({0}); its fields are zzz's. */
typedef struct zzz_cookie_iter {
    size_t field;
    size_t offset;
} zzz_cookie_iter;

/* The next cookie, in the order sent, repeats kept: returns true and sets
 * *name and *value (either may be NULL), or false at the end (and again
 * after it). Each step costs the bytes it passes, so walking all the
 * cookies reads each byte once. */
bool zzz_req_cookie_next(const zzz_req *req, zzz_cookie_iter *iter, zzz_str *name, zzz_str *value);

/* Writing: SameSite (RFC 6265bis 4.1.2.7). DEFAULT sends none (browsers
 * then mostly treat the cookie as Lax). NONE sends the cookie on
 * cross-site requests too, and needs secure. */
typedef enum zzz_same_site {
    ZZZ_SAME_SITE_DEFAULT = 0,
    ZZZ_SAME_SITE_LAX,
    ZZZ_SAME_SITE_STRICT,
    ZZZ_SAME_SITE_NONE,
} zzz_same_site;

/* The attributes of a Set-Cookie (RFC 6265 4.1, RFC 6265bis, CHIPS).
 * Zeros (or NULL options) mean: none of them, a cookie for this host and
 * the request's directory that lasts until the browser closes. */
typedef struct zzz_cookie_opts {
    const char *path;   /* Path: starts with '/', then visible ASCII but
                           ';' (no space, no control byte), at most 1024
                           bytes; NULL: none (the browser takes the
                           request's directory) */
    const char *domain; /* Domain ("example.com": this host and the names
                           beneath it): letters, digits, '-', '_' and '.'
                           (one leading '.' allowed, ignored by browsers),
                           1 to 1024 bytes; NULL: none (this host only) */
    int64_t max_age;    /* Max-Age in seconds; 0: none; negative:
                           "Max-Age=0", which removes the cookie now */
    time_t expires;     /* Expires, an IMF-fixdate (Max-Age wins where
                           both are sent); 0: none; a date from the year
                           1601 to 9999 */
    bool secure;        /* Secure: sent over HTTPS only */
    bool http_only;     /* HttpOnly: hidden from the page's scripts */
    zzz_same_site same_site;
    bool partitioned; /* Partitioned (CHIPS): kept apart per top-level
                         site; needs secure */
} zzz_cookie_opts;

/* Adds a Set-Cookie field to the response: name=value and the attributes
 * of opts (NULL: none). Each call adds one more field; a response may
 * carry several. name is a token (RFC 9110 5.6.2); value is cookie-octets
 * (visible ASCII but DQUOTE, ',', ';' and '\'), empty allowed, optionally
 * wrapped whole in double quotes; name and value together at most 4096
 * bytes (browsers drop larger cookies). A name that starts with
 * "__Secure-" (in any case, as browsers compare) needs secure; one with
 * "__Host-" needs secure, path "/" and no domain. Returns 0; -EINVAL for
 * a NULL name or value, a bad name, value, path, domain, expires or
 * same_site, SameSite=None or partitioned without secure, or a prefix's
 * rule unmet; as zzz_res_header: -ENOBUFS when the header lines are full,
 * -EALREADY once the head has been sent. */
int zzz_res_cookie(zzz_res *res, const char *name, const char *value, const zzz_cookie_opts *opts);

/* Removes a cookie from the browser: a Set-Cookie of name with an empty
 * value, "Max-Age=0" and an Expires in the past (1 January 1970). A
 * browser drops only the cookie of the same name, path and domain (and,
 * if partitioned, partition), so give the opts it was set with: their
 * path, domain, secure, http_only, same_site and partitioned are sent,
 * and checked as zzz_res_cookie does (a "__Host-" cookie is removed only
 * by a Set-Cookie that meets its rules); max_age and expires are ignored.
 * Returns as zzz_res_cookie. */
int zzz_res_cookie_clear(zzz_res *res, const char *name, const zzz_cookie_opts *opts);

/* Signed cookies: a value the client can read but not change. The cookie
 * carries the value, '.', and an HMAC-SHA256 (in base64url, 43
 * characters) of the name and value under a key of the server's: a cookie
 * whose value was changed, cut or moved to another name no longer matches
 * it. The value is not hidden. Needs BearSSL: in a libzzz built without
 * TLS (zzz_tls_available() false), these calls exist but refuse
 * (-ENOTSUP; zzz_req_cookie_signed finds nothing). */
typedef struct zzz_cookie_key zzz_cookie_key;

/* Makes a key from a secret of at least 32 random bytes (not a password:
 * nothing slows down guessing it); the key kept is derived from it, and
 * the secret is not kept. Returns 0 and sets *out; -EINVAL for a NULL
 * argument or a secret under 32 bytes; -ENOMEM; -ENOTSUP without TLS
 * (*out is NULL on error). The key is only read while serving: share
 * one between threads. */
int zzz_cookie_key_create(zzz_cookie_key **out, const void *secret, size_t len);

/* For rotation: cookies signed with this older secret still read as
 * valid; new ones are signed with the key's first secret. Add the old
 * secrets before serving (the key must not change while read). Returns
 * 0; -EINVAL as zzz_cookie_key_create; -ENOMEM; -ENOTSUP without TLS. */
int zzz_cookie_key_accept(zzz_cookie_key *key, const void *secret, size_t len);

/* Frees a key (NULL is allowed) and wipes its secrets from memory. */
void zzz_cookie_key_destroy(zzz_cookie_key *key);

/* zzz_res_cookie with value signed by key: sends name=value.MAC. value is
 * cookie-octets without quotes; with its 44 bytes of signature, name and
 * value must fit the 4096. Returns as zzz_res_cookie, and -EINVAL for a
 * NULL key or a quoted value; -ENOTSUP without TLS. */
int zzz_res_cookie_signed(zzz_res *res, const zzz_cookie_key *key, const char *name,
                          const char *value, const zzz_cookie_opts *opts);

/* The first cookie called `name` whose signature is valid under key (or
 * one of its older secrets), compared in constant time. Returns true and
 * sets *value (when not NULL) to the value that was signed, without its
 * signature (pointing into the request, living as zzz_req_cookie's);
 * false when no cookie of that name carries a valid signature (unsigned,
 * cut, changed, signed for another name or with an unknown secret), for
 * a NULL argument, or without TLS. A cookie of the same name that fails
 * does not hide a valid one after it (a stale or planted cookie for
 * another path or a parent domain comes first in Cookie). */
bool zzz_req_cookie_signed(const zzz_req *req, const zzz_cookie_key *key, const char *name,
                           zzz_str *value);
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
 * is also the body past max_body); -ENOMEM (413): a part's filename*
 * has escapes to undo and the request's memory cannot give the room for
 * them (max_header_bytes, taken once); and zzz_req_read's errors. */
int zzz_multipart_next(zzz_multipart *mp, zzz_part **part);

/* The part's name (Content-Disposition's name parameter), as sent. A
 * quoted string there ends at the next '"' and a backslash is a byte
 * like any other, as browsers and curl write it (the HTML standard sends
 * '"', CR and LF as %22, %0D and %0A, given as sent, and '\' as it is:
 * "C:\dir\" is a name). */
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
