/* The chunked-body decoder (RFC 9112 7.1): chunk sizes, extensions and
 * data, then the trailer section, decoded incrementally at any byte
 * boundary. Its choices, on the side of one reading of the framing as
 * the head parser's (parse.c and fields.c):
 *  - Every line of the framing ends in CRLF; a bare LF or a bare CR is
 *    400, at the byte that shows it.
 *  - Chunk extensions are checked against the grammar (RFC 9112 7.1.1,
 *    whitespace only around ';' and '=') and ignored; trailer fields are
 *    checked like header fields, under the same kind of limits, and dropped.
 *  - A chunk-size is hex digits and nothing else: no sign, no "0x", no
 *    whitespace before it or before its CRLF, nothing past 64 bits. Limits
 *    on the body count the sizes as declared, so a body too large is refused
 *    at the digit that makes it so, before its data is read.
 */
#include "chunked.h"
#include "chars.h"

#include <string.h>

/* RFC 9112 7.1:
 *   chunk      = chunk-size [ chunk-ext ] CRLF chunk-data CRLF
 *   chunk-ext  = *( BWS ";" BWS ext-name [ BWS "=" BWS ext-val ] )
 *   last-chunk = 1*("0") [ chunk-ext ] CRLF
 *   trailer-section CRLF, the trailer section being *( field-line CRLF )
 * One state per place in that grammar, so the decoder stops and resumes
 * at any byte. The failed states come last: they keep their status. */
enum {
    CH_SIZE_START = 0, /* zero-initialised state: before a chunk-size */
    CH_SIZE,           /* in chunk-size */
    CH_EXT,            /* after the size or a quoted value: ';', BWS or CR */
    CH_EXT_WS,         /* in BWS there: ';' must follow */
    CH_EXT_NAME_START, /* after ';' */
    CH_EXT_NAME,
    CH_EXT_NAME_WS,   /* BWS after a name: '=' or ';' must follow */
    CH_EXT_VAL_START, /* after '=' */
    CH_EXT_VAL_TOKEN,
    CH_EXT_QUOTED,
    CH_EXT_QUOTED_ESC,
    CH_SIZE_LF, /* CR of the size line seen */
    CH_DATA,
    CH_DATA_CR, /* the CRLF after chunk-data */
    CH_DATA_LF,
    CH_TRAILER_START, /* start of a trailer field or of the final CRLF */
    CH_TRAILER_NAME,
    CH_TRAILER_VALUE, /* OWS field-value OWS: the head's value bytes */
    CH_TRAILER_LF,
    CH_FINAL_LF,
    CH_DONE,
    CH_FAIL_400,
    CH_FAIL_413,
    CH_FAIL_431,
};

/* The trailer limits default to the head's (http_limits' usual values):
 * trailers are header fields that come late, and cost what they cost. */
#define DEFAULT_MAX_LINE 4096
#define DEFAULT_MAX_TRAILERS 64
#define DEFAULT_MAX_TRAILER_BYTES (16 * 1024)

static ssize_t chunked_status(int state)
{
    return state == CH_FAIL_413 ? -413 : state == CH_FAIL_431 ? -431 : -400;
}

ssize_t zzz_http_chunked_decode(http_chunked *st, const char *in, size_t in_len, size_t *consumed,
                                char *out, size_t out_cap, bool *done)
{
    const unsigned char *p = (const unsigned char *)in;
    const unsigned char *end = p + in_len;
    size_t written = 0;
    size_t max_line = st->max_line ? st->max_line : DEFAULT_MAX_LINE;
    unsigned max_trailers = st->max_trailers ? st->max_trailers : DEFAULT_MAX_TRAILERS;
    size_t max_trailer_bytes =
        st->max_trailer_bytes ? st->max_trailer_bytes : DEFAULT_MAX_TRAILER_BYTES;
    int state = st->state;

    while (p < end && state < CH_DONE) {
        if (state == CH_DATA) {
            /* chunk_left > 0 here, so this always takes a byte or more,
             * unless out is full. */
            size_t n = (size_t)(end - p);
            if (n > st->chunk_left)
                n = (size_t)st->chunk_left;
            if (out) {
                if (n > out_cap - written)
                    n = out_cap - written;
                if (n == 0)
                    break; /* out is full */
                /* out <= in and every byte copied was consumed first, so
                 * with one buffer the write trails the read and never
                 * overtakes it. */
                memmove(out + written, p, n);
            }
            written += n;
            p += n;
            st->chunk_left -= n;
            if (st->chunk_left == 0)
                state = CH_DATA_CR;
            continue;
        }
        int from = state;
        unsigned char c = *p++;
        /* Size and extension bytes, before the CR, count against max_line. */
        if (state <= CH_EXT_QUOTED_ESC && c != '\r' && ++st->line_len > max_line)
            goto fail_400;
        /* The first byte after the size's digits belongs to what follows. */
        if (state == CH_SIZE && !(cls[c] & C_HEX))
            state = CH_EXT;
        switch (state) {
        case CH_SIZE_START:
            /* No sign, no "0x", no whitespace: a hex digit or nothing. */
            if (!(cls[c] & C_HEX))
                goto fail_400;
            st->chunk_left = HEXVAL(c);
            state = CH_SIZE;
            break;
        case CH_SIZE:
            if (st->chunk_left > (UINT64_MAX >> 4))
                goto fail_400; /* past 64 bits */
            st->chunk_left = (st->chunk_left << 4) | HEXVAL(c);
            break;
        case CH_EXT:
            if (c == ';')
                state = CH_EXT_NAME_START;
            else if (c == ' ' || c == '\t')
                state = CH_EXT_WS;
            else if (c == '\r')
                state = CH_SIZE_LF;
            else
                goto fail_400;
            break;
        case CH_EXT_WS:
            /* BWS belongs before a ';', never before the CRLF. */
            if (c == ';')
                state = CH_EXT_NAME_START;
            else if (c != ' ' && c != '\t')
                goto fail_400;
            break;
        case CH_EXT_NAME_START:
            if (cls[c] & C_TCHAR)
                state = CH_EXT_NAME;
            else if (c != ' ' && c != '\t')
                goto fail_400; /* a bare ';' */
            break;
        case CH_EXT_NAME:
            if (cls[c] & C_TCHAR)
                break;
            if (c == '=')
                state = CH_EXT_VAL_START;
            else if (c == ';')
                state = CH_EXT_NAME_START;
            else if (c == ' ' || c == '\t')
                state = CH_EXT_NAME_WS;
            else if (c == '\r')
                state = CH_SIZE_LF;
            else
                goto fail_400;
            break;
        case CH_EXT_NAME_WS:
            if (c == '=')
                state = CH_EXT_VAL_START;
            else if (c == ';')
                state = CH_EXT_NAME_START;
            else if (c != ' ' && c != '\t')
                goto fail_400;
            break;
        case CH_EXT_VAL_START:
            if (c == '"')
                state = CH_EXT_QUOTED;
            else if (cls[c] & C_TCHAR)
                state = CH_EXT_VAL_TOKEN;
            else if (c != ' ' && c != '\t')
                goto fail_400;
            break;
        case CH_EXT_VAL_TOKEN:
            if (cls[c] & C_TCHAR)
                break;
            if (c == ';')
                state = CH_EXT_NAME_START;
            else if (c == ' ' || c == '\t')
                state = CH_EXT_WS;
            else if (c == '\r')
                state = CH_SIZE_LF;
            else
                goto fail_400;
            break;
        case CH_EXT_QUOTED:
            if (c == '"')
                state = CH_EXT;
            else if (c == '\\')
                state = CH_EXT_QUOTED_ESC;
            else if (!(cls[c] & C_QDTEXT))
                goto fail_400;
            break;
        case CH_EXT_QUOTED_ESC:
            if (!(cls[c] & C_VALUE))
                goto fail_400;
            state = CH_EXT_QUOTED;
            break;
        case CH_SIZE_LF:
            if (c != '\n')
                goto fail_400;
            st->line_len = 0;
            st->body_total += st->chunk_left;
            state = st->chunk_left ? CH_DATA : CH_TRAILER_START;
            break;
        case CH_DATA_CR:
            if (c != '\r')
                goto fail_400;
            state = CH_DATA_LF;
            break;
        case CH_DATA_LF:
            if (c != '\n')
                goto fail_400;
            state = CH_SIZE_START;
            break;
        case CH_TRAILER_START:
            /* Trailer fields follow the rules of header fields (no
             * obs-fold, no space before the colon); they are checked and
             * dropped. Only a name's first byte starts one more field. */
            if (c == '\r') {
                state = CH_FINAL_LF;
            } else if (cls[c] & C_TCHAR) {
                if (++st->trailer_count > max_trailers)
                    goto fail_431;
                state = CH_TRAILER_NAME;
            } else {
                goto fail_400;
            }
            break;
        case CH_TRAILER_NAME:
            if (c == ':')
                state = CH_TRAILER_VALUE;
            else if (!(cls[c] & C_TCHAR))
                goto fail_400;
            break;
        case CH_TRAILER_VALUE:
            if (c == '\r')
                state = CH_TRAILER_LF;
            else if (!(cls[c] & C_VALUE))
                goto fail_400;
            break;
        case CH_TRAILER_LF:
            if (c != '\n')
                goto fail_400;
            state = CH_TRAILER_START;
            break;
        case CH_FINAL_LF:
            if (c != '\n')
                goto fail_400;
            state = CH_DONE;
            break;
        default:
            goto fail_400;
        }
        /* A size's digits are checked against max_body as they come: the
         * sizes so far plus this one, which only grows. body_total <=
         * max_body holds while nothing failed, so this cannot wrap. */
        if (state == CH_SIZE && st->max_body && st->chunk_left > st->max_body - st->body_total)
            goto fail_413;
        /* The bytes of trailer field lines, their CRLFs included (not the
         * final CRLF), count once they are known to be well-formed. */
        if (from >= CH_TRAILER_START && from <= CH_TRAILER_LF && state != CH_FINAL_LF &&
            ++st->trailer_bytes > max_trailer_bytes)
            goto fail_431;
    }
    st->state = state;
    *consumed = (size_t)(p - (const unsigned char *)in);
    *done = state == CH_DONE;
    if (state > CH_DONE)
        return chunked_status(state);
    return (ssize_t)written;

fail_400:
    state = CH_FAIL_400;
    goto fail;
fail_413:
    state = CH_FAIL_413;
    goto fail;
fail_431:
    state = CH_FAIL_431;
fail:
    st->state = state;
    *consumed = (size_t)(p - (const unsigned char *)in);
    *done = false;
    return chunked_status(state);
}
