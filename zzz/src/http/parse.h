/* The HTTP/1.1 request-head parser (RFC 9112): stateless over the bytes
 * received so far, zero-copy (every string points into the caller's
 * buffer), allocation-free and strict. Its code is parse.c, with the field
 * rules in fields.c and the request-target in target.c; after it, the
 * helpers the framework shares: percent-decoding (target.c) and field
 * names (fields.c). The chunked-body decoder is in chunked.h. */
#ifndef ZZZ_HTTP_PARSE_H
#define ZZZ_HTTP_PARSE_H

#include "zzz.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct http_limits {
    size_t max_target;       /* request-target bytes (414 past it) */
    size_t max_head_bytes;   /* whole head, request line and leading empty
                                lines included (431); at most INT_MAX counts */
    unsigned max_headers;    /* header fields (431); <= the headers array */
} http_limits;

typedef enum http_body_kind {
    HTTP_BODY_NONE,    /* no body */
    HTTP_BODY_LENGTH,  /* Content-Length bytes */
    HTTP_BODY_CHUNKED, /* Transfer-Encoding: chunked */
} http_body_kind;

typedef struct http_head {
    zzz_str method;
    zzz_str target;       /* as sent */
    zzz_str path;         /* origin-form path; for absolute-form the path
                             part of the URI ("/" when it has none); for
                             asterisk-form "*"; for authority-form empty */
    zzz_str query;        /* after '?', without it; empty if none */
    int version_minor;    /* 0 or 1 (major is always 1; 1.2 to 1.9 are
                             served as 1.1, RFC 9110 2.5) */
    zzz_header *headers;  /* caller's array, max_headers entries */
    unsigned header_count;
    zzz_str host;         /* the Host field value (empty for 1.0 without one);
                             for absolute-form, the target's authority, which
                             replaces it (RFC 9112 3.2.2) */
    http_body_kind body;  /* "Content-Length: 0" is HTTP_BODY_LENGTH */
    uint64_t content_length; /* HTTP_BODY_LENGTH only (<= INT64_MAX); else 0 */
    bool keep_alive;      /* 1.1 unless "Connection: close"; 1.0 only with
                             "Connection: keep-alive" */
    bool expect_continue; /* "Expect: 100-continue" (1.1 only, RFC 9110 10.1.1) */
    size_t head_len;      /* bytes of the head, leading empty lines and the
                             final empty line included */
} http_head;

/* Parses the request head at the start of buf[0..len).
 * Returns the head's length (> 0) when complete, with *out filled (out->
 * headers must point to an array of lim->max_headers entries); 0 when more
 * bytes are needed (and none seen so far is wrong or over a limit); or a
 * negative HTTP status to answer: -400, -414, -431, -501, -505.
 * Call it again from the start with more bytes after a 0. Every line, the
 * empty ones before the request-line and at the end included, ends in
 * CRLF: a bare LF, or a CR followed by anything but LF, is -400 as soon as
 * it is in buf, never 0 (a CR that is the last byte of buf gives 0: its LF
 * may follow). */
int zzz_http_parse_head(const char *buf, size_t len, const http_limits *lim, http_head *out);

/* Percent-decodes src into dst (dst may equal src.ptr's buffer: decoding
 * never grows). plus_is_space: '+' means ' ' (query strings). Returns the
 * decoded length, or -1 for a malformed escape or a NUL (decoded or raw). */
ssize_t zzz_http_percent_decode(zzz_str src, char *dst, bool plus_is_space);

/* True for a token character (RFC 9110 5.6.2): methods, field names. */
bool zzz_http_is_tchar(unsigned char c);

/* Case-insensitive comparison of a field name with a C string. */
bool zzz_http_name_eq(zzz_str name, const char *cstr);

#endif
