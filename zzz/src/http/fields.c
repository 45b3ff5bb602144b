/* What the field lines of a request head mean for its framing and its
 * connection (RFC 9110, RFC 9112 6): Host, Expect, Connection,
 * Content-Length and Transfer-Encoding, which the head parser (parse.c)
 * hands to zzz_http_on_field() one field line at a time; and the field-name helpers
 * the framework shares.
 *
 * Choices where the RFCs leave room, on the same side as the head
 * parser's (parse.c says why):
 *  - Transfer-Encoding together with Content-Length is refused (400), not
 *    resolved in favour of chunked, so no byte after a body can be read as
 *    the start of another request by one side and as body by the other.
 *  - Repeated identical Content-Length field lines are accepted (RFC 9110
 *    8.6 allows it); different ones, or a comma list, are refused.
 *  - A transfer-coding other than chunked is 501 (we decode none), unless
 *    chunked comes before it, which leaves the body's end unknowable: 400
 *    (RFC 9112 6.3).
 */
#include "fields.h"
#include "scan.h"

#include <stdint.h>

/* Past a quoted-string starting at p (on its '"'), or NULL if malformed or
 * unterminated before end. */
static const unsigned char *skip_quoted(const unsigned char *p, const unsigned char *end)
{
    for (p++; p < end; p++) {
        if (*p == '"')
            return p + 1;
        if (*p == '\\') {
            if (++p == end || !(cls[*p] & C_VALUE))
                return NULL;
        } else if (!(cls[*p] & C_QDTEXT)) {
            return NULL;
        }
    }
    return NULL;
}

/* Whether the comma list (RFC 9110 5.6.1) in [p, end) has `lit` (lower
 * case) as one of its elements, trimmed of OWS, in any case. */
static bool list_has(const unsigned char *p, const unsigned char *end, const char *lit,
                     size_t lit_len)
{
    while (p < end) {
        p = skip_ows(p, end);
        const unsigned char *elem = p;
        while (p < end && *p != ',')
            p++;
        const unsigned char *elem_end = p;
        while (elem_end > elem && (elem_end[-1] == ' ' || elem_end[-1] == '\t'))
            elem_end--;
        size_t n = (size_t)(elem_end - elem);
        if (n == lit_len) {
            size_t i = 0;
            while (i < n && LOWER(elem[i]) == (unsigned char)lit[i])
                i++;
            if (i == n)
                return true;
        }
        if (p < end)
            p++; /* the comma */
    }
    return false;
}

/* Transfer-Encoding = #transfer-coding, each a token with parameters
 * (RFC 9112 6.1, RFC 9110 10.1.4). Field lines add to one list, and
 * chunked must end it, once. */
static int parse_transfer_encoding(const unsigned char *p, const unsigned char *end,
                                   head_facts *facts)
{
    bool any = false;
    for (;;) {
        p = skip_ows(p, end);
        if (p == end)
            break;
        if (*p == ',') { /* empty list elements are allowed and ignored */
            p++;
            continue;
        }
        const unsigned char *coding = skip_class(p, end, C_TCHAR);
        if (coding == p)
            return -400;
        if (facts->te_chunked) /* chunked is not the final coding */
            return -400;
        bool chunked = TOKEN_IS(p, (size_t)(coding - p), "chunked");
        p = skip_ows(coding, end);
        while (p < end && *p == ';') {
            if (chunked) /* chunked defines no parameters */
                return -400;
            p = skip_ows(p + 1, end);
            const unsigned char *name_end = skip_class(p, end, C_TCHAR);
            if (name_end == p)
                return -400;
            p = skip_ows(name_end, end);
            if (p == end || *p != '=')
                return -400;
            p = skip_ows(p + 1, end);
            if (p < end && *p == '"') {
                p = skip_quoted(p, end);
                if (!p)
                    return -400;
            } else {
                const unsigned char *val_end = skip_class(p, end, C_TCHAR);
                if (val_end == p)
                    return -400;
                p = val_end;
            }
            p = skip_ows(p, end);
        }
        if (p < end && *p != ',')
            return -400;
        if (chunked)
            facts->te_chunked = true;
        else
            facts->te_unknown = true;
        any = true;
    }
    /* An empty Transfer-Encoding says nothing a peer would agree on. */
    return any ? 0 : -400;
}

/* Content-Length = 1*DIGIT, at most INT64_MAX so it survives any signed
 * conversion downstream. */
static int parse_content_length(const unsigned char *p, const unsigned char *end, head_facts *facts)
{
    if (p == end)
        return -400;
    uint64_t n = 0;
    for (; p < end; p++) {
        if (!(cls[*p] & C_DIGIT))
            return -400;
        unsigned d = *p - '0';
        if (n > ((uint64_t)INT64_MAX - d) / 10)
            return -400;
        n = n * 10 + d;
    }
    if (facts->length_seen && n != facts->length)
        return -400;
    facts->length_seen = true;
    facts->length = n;
    return 0;
}

/* Acts on the fields that matter to framing and the connection. The name is
 * known to be a token; the value is trimmed. */
int zzz_http_on_field(const unsigned char *name, size_t name_len, const unsigned char *val,
                      const unsigned char *val_end, int minor, head_facts *facts, http_head *out)
{
    int rc;
    switch (name_len) {
    case 4:
        if (!TOKEN_IS(name, name_len, "host"))
            break;
        if (facts->host_seen)
            return -400;
        facts->host_seen = true;
        if (skip_class(val, val_end, C_HOST) != val_end)
            return -400;
        out->host = mkstr(val, (size_t)(val_end - val));
        break;
    case 6:
        /* RFC 9110 10.1.1: a 1.0 client cannot have meant it. */
        if (TOKEN_IS(name, name_len, "expect") && minor > 0 &&
            list_has(val, val_end, "100-continue", 12))
            facts->expect_continue = true;
        break;
    case 10:
        if (!TOKEN_IS(name, name_len, "connection"))
            break;
        if (list_has(val, val_end, "close", 5))
            facts->conn_close = true;
        if (list_has(val, val_end, "keep-alive", 10))
            facts->conn_keep_alive = true;
        break;
    case 14:
        if (!TOKEN_IS(name, name_len, "content-length"))
            break;
        if (facts->te_seen)
            return -400;
        if ((rc = parse_content_length(val, val_end, facts)) < 0)
            return rc;
        break;
    case 17:
        if (!TOKEN_IS(name, name_len, "transfer-encoding"))
            break;
        /* RFC 9112 6.1: a 1.0 peer may not parse it, so its framing is
         * unknowable; and next to Content-Length it is a smuggling attempt. */
        if (minor == 0 || facts->length_seen)
            return -400;
        facts->te_seen = true;
        if ((rc = parse_transfer_encoding(val, val_end, facts)) < 0)
            return rc;
        break;
    default:
        break;
    }
    return 0;
}

/* ---- field names -------------------------------------------------------- */

bool zzz_http_is_tchar(unsigned char c)
{
    return (cls[c] & C_TCHAR) != 0;
}

bool zzz_http_name_eq(zzz_str name, const char *cstr)
{
    const unsigned char *a = (const unsigned char *)name.ptr;
    const unsigned char *b = (const unsigned char *)cstr;
    for (size_t i = 0; i < name.len; i++)
        if (b[i] == 0 || LOWER(a[i]) != LOWER(b[i]))
            return false;
    return b[name.len] == 0;
}
