/* The decoder of chunked request bodies (RFC 9112 7.1), trailer fields
 * included: incremental, allocation-free and strict. Not installed. */
#ifndef ZZZ_HTTP_CHUNKED_H
#define ZZZ_HTTP_CHUNKED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Incremental decoder of a chunked body (RFC 9112 7.1). Zero it to start,
 * then set the limits; zero means the default. */
typedef struct http_chunked {
    /* limits */
    uint64_t max_body;        /* 0: none; chunk sizes totalling more: -413 */
    size_t max_line;          /* 0: 4096; a longer chunk-size line (size and
                                 extensions, before the CRLF): -400 */
    unsigned max_trailers;    /* 0: 64; more trailer fields: -431 */
    size_t max_trailer_bytes; /* 0: 16 KiB; more bytes of trailer field lines
                                 (CRLFs included, the final one not): -431 */
    /* the decoder's own */
    int state;
    uint64_t chunk_left;    /* data bytes left in the current chunk */
    uint64_t body_total;    /* chunk sizes declared, the current one excluded */
    size_t line_len;        /* bytes of the current size line */
    size_t trailer_bytes;   /* bytes of trailer field lines so far */
    unsigned trailer_count; /* trailer fields so far */
} http_chunked;

/* Decodes a chunked body from in[0..in_len). Sets *consumed to the input
 * bytes used, and *done to true once the last chunk, the trailer section
 * and the final CRLF have been consumed; input after that is not touched
 * (it is the next request), and later calls consume nothing and return 0.
 *
 * With out, copies the body's bytes there (at most out_cap) and returns how
 * many; in and out may be the same buffer (out <= in). Framing bytes are
 * consumed even when out is full, so a return of 0 with nothing consumed
 * means: more input, or more room, is needed. With out NULL (out_cap is
 * ignored), the body's bytes are consumed, counted in the return value and
 * dropped: the same *consumed, *done and return as copying with room for
 * them all, for a body that must be read past but is not wanted.
 *
 * Every line of the framing ends in CRLF. Returns a negative HTTP status,
 * and the same one from every later call (which consume nothing), for:
 *   -400  a framing error: a chunk-size that is not 1*HEXDIG or does not
 *         fit in 64 bits; a chunk extension outside RFC 9112 7.1.1 (BWS
 *         only around ';' and '='); chunk-data not followed by CRLF; a
 *         trailer field that is not field-name ":" OWS field-value OWS; a
 *         bare CR or LF, a NUL or a CTL where the grammar has none; a size
 *         line past max_line;
 *   -413  the chunk sizes declared so far total more than max_body (found
 *         at the size digit that passes it, before any of that chunk's data);
 *   -431  more than max_trailers trailer fields (found at the first byte of
 *         the one too many), or more than max_trailer_bytes of them (found
 *         at the byte past it).
 * *consumed then counts the input up to and including the byte that showed
 * the error; *done is false. */
ssize_t zzz_http_chunked_decode(http_chunked *st, const char *in, size_t in_len, size_t *consumed,
                                char *out, size_t out_cap, bool *done);

#endif
