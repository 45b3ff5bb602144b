/* The header rules of multipart/form-data: the boundary of the body's
 * Content-Type, and each part's header section with its
 * Content-Disposition (RFC 7578 4.2, RFC 2046 5.1.1, RFC 8187). */
#include "chars.h"
#include "multipart.h"

#include <errno.h>
#include <string.h>

typedef struct mp_param {
    zzz_str name;
    zzz_str value; /* a quoted string's inside, escapes still in it */
    bool quoted;
} mp_param;

static const char *skip_ows(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t'))
        p++;
    return p;
}

/* The next parameter at *pp: OWS ";" OWS name "=" (token | quoted-string).
 * Returns 1, 0 at the end (a trailing ';' is allowed), -EBADMSG. An
 * unquoted value is taken loosely (any visible byte but ';' and '"', and
 * bytes past ASCII): clients put '/', '=' and UTF-8 there. With escapes,
 * a quoted string has quoted-pairs (RFC 9110 5.6.4: a header field's
 * parameters); without, a backslash is a byte like any other and the
 * string ends at the next '"': how browsers and curl write the names in
 * a part's Content-Disposition (the HTML standard's form encoding sends
 * '\' as it is and '"' as %22), so "C:\dir\" is a name. */
static int param_next(const char **pp, const char *end, mp_param *out, bool escapes)
{
    const char *p = skip_ows(*pp, end);
    if (p == end)
        return 0;
    if (*p != ';')
        return -EBADMSG;
    p = skip_ows(p + 1, end);
    if (p == end)
        return 0;
    const char *name = p;
    while (p < end && (cls[(unsigned char)*p] & C_TCHAR))
        p++;
    if (p == name || p == end || *p != '=')
        return -EBADMSG;
    out->name = (zzz_str){name, (size_t)(p - name)};
    p++;
    if (p < end && *p == '"') {
        const char *v = ++p;
        for (;;) {
            if (p == end)
                return -EBADMSG; /* no closing quote */
            unsigned char c = (unsigned char)*p;
            if (c == '"')
                break;
            if (c == '\\' && !escapes) {
                p++;
                continue;
            }
            if (c == '\\') {
                /* quoted-pair: HTAB, SP, VCHAR, obs-text */
                if (p + 1 == end || !(cls[(unsigned char)p[1]] & C_VALUE))
                    return -EBADMSG;
                p += 2;
                continue;
            }
            if (!(cls[c] & C_QDTEXT))
                return -EBADMSG;
            p++;
        }
        out->value = (zzz_str){v, (size_t)(p - v)};
        out->quoted = true;
        p++;
    } else {
        const char *v = p;
        while (p < end && *p != ';' && *p != '"' && *p != ' ' && *p != '\t' &&
               (cls[(unsigned char)*p] & C_VALUE))
            p++;
        if (p == v)
            return -EBADMSG;
        out->value = (zzz_str){v, (size_t)(p - v)};
        out->quoted = false;
    }
    *pp = p;
    return 1;
}

/* A quoted string's inside without its escapes, into dst. */
static size_t unquote(zzz_str raw, char *dst)
{
    size_t n = 0;
    for (size_t i = 0; i < raw.len; i++) {
        if (raw.ptr[i] == '\\')
            i++;
        dst[n++] = raw.ptr[i];
    }
    return n;
}

static size_t unquoted_len(zzz_str raw)
{
    size_t n = 0;
    for (size_t i = 0; i < raw.len; i++, n++)
        if (raw.ptr[i] == '\\')
            i++;
    return n;
}

/* Matches a token at *pp (any case), followed by the end, OWS or ';'. */
static bool token_is(const char **pp, const char *end, const char *token)
{
    const char *p = skip_ows(*pp, end);
    size_t n = strlen(token);
    if ((size_t)(end - p) < n || !zzz_str_eq_nocase((zzz_str){p, n}, token))
        return false;
    p += n;
    if (p < end && *p != ';' && *p != ' ' && *p != '\t')
        return false;
    *pp = p;
    return true;
}

/* RFC 2046's bcharsnospace. */
static bool is_bchar(unsigned char c)
{
    return IS_ALPHA(c) || IS_DIGIT(c) || (c != '\0' && strchr("'()+_,-./:=?", c));
}

int zzz_http_mp_boundary(zzz_str type, char *out, zzz_str *boundary)
{
    const char *p = type.ptr, *end = type.ptr + type.len;
    if (!token_is(&p, end, "multipart/form-data"))
        return -ENOTSUP;
    bool found = false;
    mp_param prm;
    int r;
    while ((r = param_next(&p, end, &prm, true)) > 0) {
        if (!zzz_str_eq_nocase(prm.name, "boundary"))
            continue;
        if (found)
            return -EBADMSG;
        found = true;
        size_t n = prm.quoted ? unquoted_len(prm.value) : prm.value.len;
        if (n == 0 || n > MP_BOUNDARY_MAX)
            return -EBADMSG;
        if (prm.quoted)
            unquote(prm.value, out);
        else
            memcpy(out, prm.value.ptr, n);
        for (size_t i = 0; i < n; i++)
            if (!is_bchar((unsigned char)out[i]) && !(out[i] == ' ' && i + 1 < n))
                return -EBADMSG;
        *boundary = (zzz_str){out, n};
    }
    if (r < 0 || !found)
        return -EBADMSG;
    return 0;
}

/* Checks the header lines and finds Content-Disposition and Content-Type
 * (each at most once). */
static int head_fields(const zzz_part *part, zzz_str *disposition, zzz_str *type, bool *has_type)
{
    const char *p = part->head, *end = part->head + part->head_len;
    bool has_disposition = false;
    *has_type = false;
    while (p < end) {
        const char *name = p;
        /* A line that starts with a space would be a folded one. */
        while (p < end && (cls[(unsigned char)*p] & C_TCHAR))
            p++;
        if (p == name || p == end || *p != ':')
            return -EBADMSG;
        zzz_str n = {name, (size_t)(p - name)};
        const char *v = skip_ows(p + 1, end);
        p = v;
        while (p < end && (cls[(unsigned char)*p] & C_VALUE))
            p++;
        if (end - p < 2 || p[0] != '\r' || p[1] != '\n')
            return -EBADMSG; /* a bare CR or LF, or a control byte */
        const char *ve = p;
        while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
            ve--;
        p += 2;
        zzz_str value = {v, (size_t)(ve - v)};
        if (zzz_http_name_eq(n, "content-disposition")) {
            if (has_disposition)
                return -EBADMSG;
            has_disposition = true;
            *disposition = value;
        } else if (zzz_http_name_eq(n, "content-type")) {
            if (*has_type)
                return -EBADMSG;
            *has_type = true;
            *type = value;
        }
    }
    return has_disposition ? 0 : -EBADMSG;
}

/* filename*'s ext-value (RFC 8187): charset'language'percent-encoded.
 * Returns 1 when it is UTF-8 (the only charset taken; US-ASCII is a
 * subset) and sets *text to its encoded part; 0 for another charset;
 * -EBADMSG. */
static int ext_value(zzz_str raw, zzz_str *text)
{
    const char *q1 = memchr(raw.ptr, '\'', raw.len);
    if (!q1)
        return -EBADMSG;
    const char *rest = q1 + 1, *end = raw.ptr + raw.len;
    const char *q2 = memchr(rest, '\'', (size_t)(end - rest));
    if (!q2)
        return -EBADMSG;
    zzz_str charset = {raw.ptr, (size_t)(q1 - raw.ptr)};
    *text = (zzz_str){q2 + 1, (size_t)(end - q2 - 1)};
    return zzz_str_eq_nocase(charset, "utf-8") || zzz_str_eq_nocase(charset, "us-ascii");
}

int zzz_http_mp_head(zzz_multipart *mp, zzz_part *part)
{
    zzz_str disposition = {0}, type = {0};
    bool has_type;
    int err = head_fields(part, &disposition, &type, &has_type);
    if (err)
        return err;
    part->content_type = has_type ? type : (zzz_str){"text/plain", 10};
    const char *p = disposition.ptr, *end = disposition.ptr + disposition.len;
    if (!token_is(&p, end, "form-data"))
        return -EBADMSG;
    mp_param prm, name = {0}, file = {0}, file_ext = {0};
    int r;
    while ((r = param_next(&p, end, &prm, false)) > 0) {
        mp_param *slot = zzz_http_name_eq(prm.name, "name")        ? &name
                         : zzz_http_name_eq(prm.name, "filename")  ? &file
                         : zzz_http_name_eq(prm.name, "filename*") ? &file_ext
                                                                   : NULL;
        if (!slot)
            continue;
        if (slot->name.ptr)
            return -EBADMSG; /* twice: which one counts would be a guess */
        *slot = prm;
    }
    if (r < 0 || !name.name.ptr)
        return -EBADMSG;
    zzz_str ext_text = {0};
    int ext = 0;
    if (file_ext.name.ptr) {
        if (file_ext.quoted)
            return -EBADMSG;
        ext = ext_value(file_ext.value, &ext_text);
        if (ext < 0)
            return ext;
    }
    /* A copy is needed only to decode filename*; the rest points into
     * the header lines (a disposition's strings have no escapes). */
    part->name = name.value;
    if (ext) {
        if (!mp->scratch) {
            mp->scratch = mp->alloc(mp->alloc_ctx, mp->max_header_bytes);
            if (!mp->scratch)
                return -ENOMEM;
        }
        ssize_t n = zzz_http_percent_decode(ext_text, mp->scratch, false);
        if (n < 0)
            return -EBADMSG;
        part->filename = (zzz_str){mp->scratch, (size_t)n};
        part->has_filename = true;
    } else if (file.name.ptr) {
        part->filename = file.value;
        part->has_filename = true;
    }
    return 0;
}
