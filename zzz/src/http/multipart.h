/* The multipart/form-data reader's state, shared by its files: the
 * delimiter scanner and the part API (multipart.c), the header rules
 * (multipart_head.c) and saving a part to a file (multipart_save.c). The
 * reader pulls its bytes through a function, so it can be driven without
 * a socket (the fuzz target does). Not installed. */
#ifndef ZZZ_HTTP_MULTIPART_H
#define ZZZ_HTTP_MULTIPART_H

#include "http.h"

/* Where the body comes from: like zzz_req_read (a count, 0 at its end,
 * or -errno). */
typedef ssize_t (*mp_pull_fn)(void *ctx, void *buf, size_t len);

/* RFC 2046: a boundary is 1 to 70 characters. */
#define MP_BOUNDARY_MAX 70
/* The buffer's size beyond the largest header section: what one pull
 * may fill while a part's content streams through. */
#define MP_WINDOW ((size_t)8 * 1024)

struct zzz_part {
    zzz_multipart *mp;
    zzz_str name;
    zzz_str filename;
    bool has_filename;
    zzz_str content_type; /* "text/plain" when none was sent */
    const char *head;     /* its header lines, each ending in CRLF */
    size_t head_len;
    uint64_t bytes; /* content bytes consumed so far */
    bool ended;     /* its delimiter has been reached */
};

typedef enum mp_state {
    MP_PREAMBLE, /* before the first delimiter */
    MP_CONTENT,  /* in a part's content */
    MP_DELIM,    /* right after a delimiter ("\r\n--boundary") */
    MP_DONE,     /* after the close delimiter */
    MP_FAILED,
} mp_state;

struct zzz_multipart {
    zzz_req *req; /* for refusals' answers; NULL when driven alone */
    mp_pull_fn pull;
    void *pull_ctx;
    /* The bytes: [0, base) the current part's header lines (kept until
     * the next part), [start, end) received and not yet consumed. */
    char *buf;
    size_t cap, base, start, end;
    bool eof; /* the pull said the body has ended */
    mp_state state;
    int err; /* MP_FAILED: what every call returns */
    /* What is known of [start, end): `known` bytes of content with no
     * delimiter among them, then the delimiter when `hit`. */
    size_t known;
    bool hit;
    /* At a part's first content byte: RFC 2046 lets a part end with its
     * header section, whose last CRLF then starts the delimiter, so
     * "--boundary" here is one. */
    bool fresh;
    char delim[4 + MP_BOUNDARY_MAX]; /* "\r\n--" boundary */
    size_t delim_len;
    uint64_t max_part_bytes;
    size_t max_header_bytes;
    unsigned max_parts;
    unsigned parts;
    char *scratch;                       /* max_header_bytes for decoded names, taken
                                            when a part first needs it */
    void *(*alloc)(void *ctx, size_t n); /* for scratch and zzz_part_text */
    void *alloc_ctx;
    zzz_part part;
};

/* Sets up mp over a body of Content-Type `type`, with limits (zeros:
 * defaults) and a buffer of cap bytes (zzz_http_mp_buffer_size). Returns
 * 0, -ENOTSUP (not multipart/form-data), -EBADMSG (no usable boundary). */
int zzz_http_mp_init(zzz_multipart *mp, zzz_str type, const zzz_multipart_opts *opts, char *buf,
                     size_t cap);
/* The buffer mp needs for those limits. */
size_t zzz_http_mp_buffer_size(const zzz_multipart_opts *opts);

/* Consumes n bytes of content (at most what zzz_http_mp_content gave). */
void zzz_http_mp_consume(zzz_multipart *mp, size_t n);
/* The next run of the current part's content in the buffer: sets *at and
 * returns its length (> 0); 0 at the part's end; or the error (mp then
 * failed). */
ssize_t zzz_http_mp_content(zzz_multipart *mp, const char **at);
/* Fails mp with err (unless it has failed already): returns the error. */
int zzz_http_mp_fail(zzz_multipart *mp, int err);

/* multipart_head.c: checks the header section head[0, len) (its lines,
 * each ending in CRLF, without the empty line) and fills the part's
 * name, filename and type. Returns 0, -EBADMSG, -ENOMEM (no scratch). */
int zzz_http_mp_head(zzz_multipart *mp, zzz_part *part);
/* The boundary of a Content-Type value: 0 and sets *boundary (pointing
 * into type, or unescaped into out, MP_BOUNDARY_MAX bytes), -ENOTSUP,
 * -EBADMSG. */
int zzz_http_mp_boundary(zzz_str type, char *out, zzz_str *boundary);

#endif
