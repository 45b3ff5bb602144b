/* The request-target (RFC 9112 3.2, with the URI rules of RFC 3986): its
 * forms (origin, absolute, authority and asterisk), split into path and
 * query for the head parser (parse.c); and percent-decoding, which the
 * framework applies to paths, queries and form bodies.
 *
 * A choice where the RFCs leave room, on the same side as the head
 * parser's (parse.c says why):
 *  - Absolute-form is taken for the schemes "http" and "https" only; its
 *    authority replaces Host (RFC 9112 3.2.2), which must still be present
 *    and valid in HTTP/1.1. Userinfo ('@') in it is refused (RFC 9110 4.2.4).
 */
#include "target.h"
#include "scan.h"

#include <string.h>

/* authority = host [":" port], checked loosely (the characters, and a port
 * of digits when there is a colon after the last ']'). No userinfo. */
static bool valid_authority(const unsigned char *p, const unsigned char *end, bool port_required)
{
    if (p == end || skip_class(p, end, C_HOST) != end)
        return false;
    const unsigned char *colon = NULL;
    for (const unsigned char *q = p; q < end; q++) {
        if (*q == ':')
            colon = q;
        else if (*q == ']')
            colon = NULL;
    }
    if (!colon)
        return !port_required;
    if (colon == p)
        return false;
    for (const unsigned char *q = colon + 1; q < end; q++)
        if (!(cls[*q] & C_DIGIT))
            return false;
    return !port_required || colon + 1 < end;
}

/* Splits the target into path and query after its form (RFC 9112 3.2).
 * `question` is its first '?' or NULL. */
int zzz_http_parse_target(const unsigned char *t, const unsigned char *t_end,
                          const unsigned char *question, bool is_connect, bool is_options,
                          zzz_str *authority, http_head *out)
{
    size_t t_len = (size_t)(t_end - t);
    const unsigned char *path = t;
    *authority = (zzz_str){NULL, 0};

    if (is_connect) {
        /* authority-form, and only it, for CONNECT */
        if (question || !valid_authority(t, t_end, true))
            return -400;
        out->path = mkstr(t, 0);
        out->query = mkstr(t_end, 0);
        return 0;
    }
    if (t[0] == '*' && t_len == 1) {
        if (!is_options)
            return -400;
        out->path = mkstr(t, 1);
        out->query = mkstr(t_end, 0);
        return 0;
    }
    if (t[0] != '/') {
        /* absolute-form: scheme "://" authority path-abempty ["?" query] */
        const unsigned char *scheme_end = t;
        if (!IS_ALPHA(*t))
            return -400;
        scheme_end = skip_class(t + 1, t_end, C_SCHEME);
        size_t scheme_len = (size_t)(scheme_end - t);
        if (!TOKEN_IS(t, scheme_len, "http") && !TOKEN_IS(t, scheme_len, "https"))
            return -400;
        if (t_end - scheme_end < 3 || memcmp(scheme_end, "://", 3) != 0)
            return -400;
        const unsigned char *auth = scheme_end + 3;
        const unsigned char *stop = question ? question : t_end;
        const unsigned char *auth_end = auth;
        while (auth_end < stop && *auth_end != '/')
            auth_end++;
        if (!valid_authority(auth, auth_end, false))
            return -400;
        *authority = mkstr(auth, (size_t)(auth_end - auth));
        if (auth_end == stop) {
            /* no path: it is "/", and the "//" holds one to point at */
            out->path = mkstr(scheme_end + 1, 1);
            out->query =
                question ? mkstr(question + 1, (size_t)(t_end - question - 1)) : mkstr(t_end, 0);
            return 0;
        }
        path = auth_end;
    }
    /* origin-form, or the path-abempty of absolute-form */
    if (question) {
        out->path = mkstr(path, (size_t)(question - path));
        out->query = mkstr(question + 1, (size_t)(t_end - question - 1));
    } else {
        out->path = mkstr(path, (size_t)(t_end - path));
        out->query = mkstr(t_end, 0);
    }
    return 0;
}

/* ---- percent-decoding ---------------------------------------------------- */

ssize_t zzz_http_percent_decode(zzz_str src, char *dst, bool plus_is_space)
{
    const unsigned char *s = (const unsigned char *)src.ptr;
    const unsigned char *end = s + src.len;
    char *d = dst;
    while (s < end) {
        unsigned char c = *s;
        if (c == '%') {
            if (end - s < 3 || !(cls[s[1]] & C_HEX) || !(cls[s[2]] & C_HEX))
                return -1;
            c = (unsigned char)(HEXVAL(s[1]) << 4 | HEXVAL(s[2]));
            s += 3;
        } else {
            if (c == '+' && plus_is_space)
                c = ' ';
            s++;
        }
        /* A NUL would cut the string short for any C consumer downstream. */
        if (c == 0)
            return -1;
        *d++ = (char)c;
    }
    return d - dst;
}
