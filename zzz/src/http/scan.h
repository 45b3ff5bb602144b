/* Small scanning helpers shared by the request-head parser (parse.c), the
 * field rules (fields.c) and the request-target parser (target.c): runs of
 * a character class, optional whitespace, token comparison. Inline, over
 * chars.h's table. The 16-byte SSE2 scanners of field values and targets
 * serve only the head parser and live in parse.c. Not installed. */
#ifndef ZZZ_HTTP_SCAN_H
#define ZZZ_HTTP_SCAN_H

#include "chars.h"
#include "zzz.h"

#include <stdbool.h>
#include <stddef.h>

/* The first byte in [p, end) outside `mask`, or end. Unrolled: these runs
 * (targets, names, values) are where a head's bytes are spent. */
static inline const unsigned char *skip_class(const unsigned char *p, const unsigned char *end,
                                              unsigned char mask)
{
    while (end - p >= 4) {
        if (!(cls[p[0]] & mask))
            return p;
        if (!(cls[p[1]] & mask))
            return p + 1;
        if (!(cls[p[2]] & mask))
            return p + 2;
        if (!(cls[p[3]] & mask))
            return p + 3;
        p += 4;
    }
    while (p < end && (cls[*p] & mask))
        p++;
    return p;
}

static inline const unsigned char *skip_ows(const unsigned char *p, const unsigned char *end)
{
    while (p < end && (*p == ' ' || *p == '\t'))
        p++;
    return p;
}

/* Compares a token with a lower-case literal. Only letters, digits and '-'
 * occur in the literals, and no token byte other than an upper-case letter
 * becomes one of them when OR-ed with 0x20, so this is exact on tokens. */
static inline bool token_is(const unsigned char *p, size_t len, const char *lc, size_t lc_len)
{
    if (len != lc_len)
        return false;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)(p[i] | 0x20) != (unsigned char)lc[i])
            return false;
    return true;
}

#define TOKEN_IS(p, len, lit) token_is((p), (len), lit, sizeof(lit) - 1)

static inline zzz_str mkstr(const unsigned char *p, size_t len)
{
    return (zzz_str){(const char *)p, len};
}

#endif
