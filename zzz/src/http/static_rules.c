/* The rules of RFC 9110 a file server applies, as pure functions: entity
 * tags, If-None-Match, If-Range, Range and Accept-Encoding (HTTP-dates:
 * http_date.c).
 * Each reads a field's bytes by length (no NUL needed) and never reads
 * past them; a malformed field gets the answer static_rules.h promises,
 * never a crash. */
#include "static_rules.h"

#include <string.h>

typedef const unsigned char *cursor;

static bool is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

static unsigned char ascii_lower(unsigned char c)
{
    return c >= 'A' && c <= 'Z' ? (unsigned char)(c | 0x20) : c;
}

static cursor skip_ows(cursor p, cursor end)
{
    while (p < end && (*p == ' ' || *p == '\t'))
        p++;
    return p;
}

/* The field's bytes without the whitespace at either end (the head
 * parser strips it already; a caller with a raw value may not). */
static void trim_ows(const char *field, size_t len, cursor *p, cursor *end)
{
    *p = (cursor)field;
    *end = *p + len;
    *p = skip_ows(*p, *end);
    while (*end > *p && ((*end)[-1] == ' ' || (*end)[-1] == '\t'))
        (*end)--;
}

/* A token character (RFC 9110 5.6.2). */
static bool is_tchar(unsigned char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c))
        return true;
    return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* ---- entity tags ---- */

static char *put_hex(char *out, uint64_t v)
{
    char digits[16];
    size_t n = 0;
    do {
        digits[n++] = "0123456789abcdef"[v & 0xF];
        v >>= 4;
    } while (v != 0);
    while (n > 0)
        *out++ = digits[--n];
    return out;
}

/* At most 2 + 16 + 1 + 16 + 1 + 16 + 1 + 8 = 61 bytes and the NUL: the
 * nanoseconds, if in range, take at most 8 hex digits. */
size_t zzz_http_etag(char *buf, uint64_t ino, uint64_t size, int64_t mtime_sec, long mtime_nsec)
{
    uint64_t nsec = mtime_nsec >= 0 && mtime_nsec < 1000000000L ? (uint64_t)mtime_nsec : 0;
    char *p = buf;
    *p++ = '"';
    p = put_hex(p, ino);
    *p++ = '-';
    p = put_hex(p, size);
    *p++ = '-';
    p = put_hex(p, (uint64_t)mtime_sec);
    *p++ = '.';
    p = put_hex(p, nsec);
    *p++ = '"';
    *p = '\0';
    return (size_t)(p - buf);
}

/* An entity tag at [p, end): [ "W/" ] DQUOTE *etagc DQUOTE (RFC 9110
 * 8.8.3; "W/" is case-sensitive). Sets *weak and the opaque tag without
 * its quotes, and returns the byte after it; NULL when malformed. */
static cursor parse_etag(cursor p, cursor end, bool *weak, cursor *opaque, size_t *opaque_len)
{
    *weak = false;
    if (end - p >= 2 && p[0] == 'W' && p[1] == '/') {
        *weak = true;
        p += 2;
    }
    if (p == end || *p != '"')
        return NULL;
    cursor start = ++p;
    /* etagc: %x21 / %x23-7E / obs-text */
    while (p < end && (*p == 0x21 || (*p >= 0x23 && *p != 0x7F)))
        p++;
    if (p == end || *p != '"')
        return NULL;
    *opaque = start;
    *opaque_len = (size_t)(p - start);
    return p + 1;
}

/* The server's own tag, which must be a well-formed entity tag. */
static bool own_etag(const char *etag, bool *weak, cursor *opaque, size_t *opaque_len)
{
    if (etag == NULL)
        return false;
    cursor p = (cursor)etag, end = p + strlen(etag);
    return parse_etag(p, end, weak, opaque, opaque_len) == end;
}

/* Whether the #entity-tag list (or "*") of a field matches etag: by weak
 * comparison (W/ ignored on both sides), or by strong comparison (both
 * strong and equal). */
static bool etag_list_match(const char *field, size_t len, const char *etag, bool strong)
{
    if (field == NULL)
        return false;
    cursor p, end;
    trim_ows(field, len, &p, &end);
    if (end - p == 1 && *p == '*')
        return true;
    bool own_weak;
    cursor own;
    size_t own_len;
    if (!own_etag(etag, &own_weak, &own, &own_len))
        return false;
    /* #entity-tag, empty elements allowed; the whole list is read first,
     * so one malformed member spoils the match. */
    bool matched = false;
    while (p < end) {
        if (*p == ',') {
            p = skip_ows(p + 1, end);
            continue;
        }
        bool weak;
        cursor opaque;
        size_t opaque_len;
        p = parse_etag(p, end, &weak, &opaque, &opaque_len);
        if (p == NULL)
            return false;
        if (opaque_len == own_len && memcmp(opaque, own, own_len) == 0 &&
            (!strong || (!weak && !own_weak)))
            matched = true;
        p = skip_ows(p, end);
        if (p < end && *p != ',')
            return false;
    }
    return matched;
}

bool zzz_http_none_match(const char *field, size_t len, const char *etag)
{
    return etag_list_match(field, len, etag, false);
}

bool zzz_http_if_match(const char *field, size_t len, const char *etag)
{
    return etag_list_match(field, len, etag, true);
}

bool zzz_http_if_range(const char *field, size_t len, const char *etag, time_t mtime)
{
    if (field == NULL)
        return false;
    cursor p, end;
    trim_ows(field, len, &p, &end);
    /* a tag starts with a quote or "W/"; a date never does ("Wed, ...") */
    if (p < end && (*p == '"' || (end - p >= 2 && p[0] == 'W' && p[1] == '/'))) {
        bool weak, own_weak;
        cursor opaque, own;
        size_t opaque_len, own_len;
        if (parse_etag(p, end, &weak, &opaque, &opaque_len) != end ||
            !own_etag(etag, &own_weak, &own, &own_len))
            return false;
        /* strong comparison: neither may be weak */
        return !weak && !own_weak && opaque_len == own_len && memcmp(opaque, own, own_len) == 0;
    }
    time_t when;
    return zzz_http_date_parse((const char *)p, (size_t)(end - p), &when) && when == mtime;
}

/* ---- ranges ---- */

#define RANGE_MAX 16

/* A position or length as written: its value, 2^64 - 1 for any value
 * past that (which is past any file's end), and its digits without the
 * leading zeros, to order two such values. */
typedef struct range_num {
    uint64_t value;
    cursor digits;
    size_t ndigits;
} range_num;

/* 1*DIGIT at p, any number of them (RFC 9110 14.1.1 sets no limit).
 * Returns the byte after; NULL for no digit. */
static cursor parse_pos(cursor p, cursor end, range_num *num)
{
    cursor start = p;
    uint64_t v = 0;
    while (p < end && *p == '0')
        p++;
    num->digits = p;
    while (p < end && is_digit(*p)) {
        uint64_t d = (uint64_t)(*p - '0');
        v = v > (UINT64_MAX - d) / 10 ? UINT64_MAX : v * 10 + d;
        p++;
    }
    if (p == start)
        return NULL;
    num->value = v;
    num->ndigits = (size_t)(p - num->digits);
    return p;
}

/* Whether a > b, as numbers of any size. */
static bool num_above(const range_num *a, const range_num *b)
{
    if (a->ndigits != b->ndigits)
        return a->ndigits > b->ndigits;
    return memcmp(a->digits, b->digits, a->ndigits) > 0;
}

typedef struct byte_span {
    uint64_t first, end; /* [first, end), end > first */
} byte_span;

/* The satisfiable spans, sorted and merged where they overlap or touch:
 * returns how many stay apart (1 for one contiguous part). */
static size_t merge_spans(byte_span *spans, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        byte_span s = spans[i];
        size_t j = i;
        for (; j > 0 && spans[j - 1].first > s.first; j--)
            spans[j] = spans[j - 1];
        spans[j] = s;
    }
    size_t out = 0;
    for (size_t i = 0; i < n; i++) {
        if (out > 0 && spans[i].first <= spans[out - 1].end) {
            if (spans[i].end > spans[out - 1].end)
                spans[out - 1].end = spans[i].end;
        } else {
            spans[out++] = spans[i];
        }
    }
    return out;
}

zzz_range_kind zzz_http_range(const char *field, size_t len, uint64_t size, uint64_t *first,
                              uint64_t *count)
{
    if (field == NULL)
        return ZZZ_RANGE_NONE;
    cursor p, end;
    trim_ows(field, len, &p, &end);
    /* range-unit "=": the unit is case-insensitive, no space around "=" */
    if (end - p < 6 || p[5] != '=')
        return ZZZ_RANGE_NONE;
    for (size_t i = 0; i < 5; i++)
        if (ascii_lower(p[i]) != (unsigned char)"bytes"[i])
            return ZZZ_RANGE_NONE;
    p += 6;

    byte_span spans[RANGE_MAX];
    size_t specs = 0, satisfiable = 0;
    bool empty_suffix = false; /* a nonzero suffix of an empty file */
    while (p < end) {
        if (*p == ',') {
            p = skip_ows(p + 1, end);
            continue;
        }
        if (++specs > RANGE_MAX)
            return ZZZ_RANGE_NONE;
        range_num a, b;
        if (*p == '-') { /* suffix-range: the last b bytes */
            p = parse_pos(p + 1, end, &b);
            if (p == NULL)
                return ZZZ_RANGE_NONE;
            uint64_t n = b.value;
            if (n > 0 && size == 0)
                empty_suffix = true;
            else if (n > 0)
                spans[satisfiable++] = (byte_span){size - (n < size ? n : size), size};
        } else { /* int-range: first-pos "-" [ last-pos ] */
            p = parse_pos(p, end, &a);
            if (p == NULL || p == end || *p != '-')
                return ZZZ_RANGE_NONE;
            p++;
            uint64_t last = UINT64_MAX;
            if (p < end && is_digit(*p)) {
                p = parse_pos(p, end, &b);
                if (p == NULL || num_above(&a, &b))
                    return ZZZ_RANGE_NONE;
                last = b.value;
            }
            if (a.value < size)
                spans[satisfiable++] = (byte_span){a.value, last < size - 1 ? last + 1 : size};
        }
        p = skip_ows(p, end);
        if (p < end && *p != ',')
            return ZZZ_RANGE_NONE;
    }
    if (specs == 0)
        return ZZZ_RANGE_NONE;
    if (satisfiable == 0)
        return empty_suffix ? ZZZ_RANGE_NONE : ZZZ_RANGE_UNSATISFIABLE;
    if (merge_spans(spans, satisfiable) > 1)
        return ZZZ_RANGE_MANY;
    *first = spans[0].first;
    *count = spans[0].end - spans[0].first;
    return ZZZ_RANGE_ONE;
}

/* ---- content codings ---- */

/* A coding's name, with RFC 9110 8.4.1's aliases x-gzip and x-compress
 * read as gzip and compress. */
static void coding_name(cursor *p, size_t *len)
{
    if ((*len == 6 || *len == 10) && ascii_lower((*p)[0]) == 'x' && (*p)[1] == '-') {
        cursor rest = *p + 2;
        size_t rest_len = *len - 2;
        static const char *const aliased[] = {"gzip", "compress"};
        for (size_t i = 0; i < 2; i++) {
            if (strlen(aliased[i]) != rest_len)
                continue;
            size_t j = 0;
            while (j < rest_len && ascii_lower(rest[j]) == (unsigned char)aliased[i][j])
                j++;
            if (j == rest_len) {
                *p = rest;
                *len = rest_len;
            }
        }
    }
}

static bool name_eq(cursor a, size_t a_len, cursor b, size_t b_len)
{
    if (a_len != b_len)
        return false;
    for (size_t i = 0; i < a_len; i++)
        if (ascii_lower(a[i]) != ascii_lower(b[i]))
            return false;
    return true;
}

/* qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] ), in
 * thousandths. Returns the byte after it, or NULL. */
static cursor parse_qvalue(cursor p, cursor end, int *q)
{
    if (p == end || (*p != '0' && *p != '1'))
        return NULL;
    bool one = *p++ == '1';
    int thousandths = 0, scale = 100;
    if (p < end && *p == '.') {
        p++;
        for (int n = 0; n < 3 && p < end && is_digit(*p); n++, p++) {
            if (one && *p != '0')
                return NULL;
            thousandths += (*p - '0') * scale;
            scale /= 10;
        }
    }
    *q = one ? 1000 : thousandths;
    return p;
}

/* One member of Accept-Encoding: codings [ OWS ";" OWS "q=" qvalue ]
 * ("q" in either case), up to the next comma or the end. */
static bool parse_member(cursor p, cursor end, cursor *name, size_t *name_len, int *q)
{
    cursor start = p;
    while (p < end && is_tchar(*p))
        p++;
    if (p == start)
        return false;
    *name = start;
    *name_len = (size_t)(p - start);
    *q = 1000;
    p = skip_ows(p, end);
    if (p < end && *p == ';') {
        p = skip_ows(p + 1, end);
        if (end - p < 2 || ascii_lower(p[0]) != 'q' || p[1] != '=')
            return false;
        p = parse_qvalue(p + 2, end, q);
        if (p == NULL)
            return false;
        p = skip_ows(p, end);
    }
    return p == end;
}

bool zzz_http_accepts(const char *field, size_t len, const char *coding)
{
    if (coding == NULL)
        return false;
    cursor want = (cursor)coding;
    size_t want_len = strlen(coding);
    coding_name(&want, &want_len);
    bool identity = name_eq(want, want_len, (cursor) "identity", 8);
    if (field == NULL)
        return identity;
    cursor p, end;
    trim_ows(field, len, &p, &end);
    int named_q = -1, star_q = -1; /* the first well-formed listing counts */
    while (p < end) {
        cursor comma = memchr(p, ',', (size_t)(end - p));
        cursor member_end = comma != NULL ? comma : end;
        cursor name;
        size_t name_len;
        int q;
        if (parse_member(skip_ows(p, member_end), member_end, &name, &name_len, &q)) {
            coding_name(&name, &name_len);
            if (name_len == 1 && name[0] == '*') {
                if (star_q < 0)
                    star_q = q;
            } else if (named_q < 0 && name_eq(name, name_len, want, want_len)) {
                named_q = q;
            }
        }
        p = comma != NULL ? comma + 1 : end;
    }
    if (named_q >= 0)
        return named_q > 0;
    if (star_q >= 0)
        return star_q > 0;
    return identity; /* RFC 9110 12.5.3: identity unless excluded */
}
