/* The rules of RFC 9110 a file server applies, as pure functions: entity
 * tags, HTTP-dates, If-None-Match, If-Range, Range and Accept-Encoding.
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

/* ---- HTTP-dates ---- */

static const char day_names[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
static const char *const day_names_long[7] = {"Sunday",   "Monday", "Tuesday", "Wednesday",
                                              "Thursday", "Friday", "Saturday"};
static const char month_names[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                        "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

/* 0000-01-01T00:00:00Z and 9999-12-31T23:59:59Z: the years four digits
 * can write. */
#define DATE_MIN INT64_C(-62167219200)
#define DATE_MAX INT64_C(253402300799)

static char *put_2digits(char *out, int v)
{
    out[0] = (char)('0' + v / 10 % 10);
    out[1] = (char)('0' + v % 10);
    return out + 2;
}

size_t zzz_http_date_format(char *buf, time_t when)
{
    /* Clamped so that the year has four digits and the form its 29 bytes. */
    int64_t at = (int64_t)when;
    if (at < DATE_MIN)
        at = DATE_MIN;
    if (at > DATE_MAX)
        at = DATE_MAX;
    time_t clamped = (time_t)at;
    struct tm tm;
    if (gmtime_r(&clamped, &tm) == NULL) {
        clamped = 0;
        gmtime_r(&clamped, &tm);
    }
    int year = tm.tm_year + 1900;
    char *p = buf;
    memcpy(p, day_names[tm.tm_wday % 7], 3);
    p += 3;
    *p++ = ',';
    *p++ = ' ';
    p = put_2digits(p, tm.tm_mday);
    *p++ = ' ';
    memcpy(p, month_names[tm.tm_mon % 12], 3);
    p += 3;
    *p++ = ' ';
    p = put_2digits(p, year / 100);
    p = put_2digits(p, year % 100);
    *p++ = ' ';
    p = put_2digits(p, tm.tm_hour);
    *p++ = ':';
    p = put_2digits(p, tm.tm_min);
    *p++ = ':';
    p = put_2digits(p, tm.tm_sec);
    memcpy(p, " GMT", 4);
    p += 4;
    *p = '\0';
    return (size_t)(p - buf);
}

/* n decimal digits exactly at p; -1 if any is not a digit. */
static int digits_at(cursor p, size_t n)
{
    int v = 0;
    for (size_t i = 0; i < n; i++) {
        if (!is_digit(p[i]))
            return -1;
        v = v * 10 + (p[i] - '0');
    }
    return v;
}

/* The index of a three-letter name (case-sensitive, as RFC 9110's %s
 * strings are) in names, or -1. */
static int short_name(cursor p, const char (*names)[4], int count)
{
    for (int i = 0; i < count; i++)
        if (memcmp(p, names[i], 3) == 0)
            return i;
    return -1;
}

static bool is_leap(int year)
{
    return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

/* "HH:MM:SS" at p into tm, within 00:00:00 - 23:59:60 (the grammar's
 * range admits a leap second; timegm carries it into the next minute). */
static bool time_of_day(cursor p, struct tm *tm)
{
    if (p[2] != ':' || p[5] != ':')
        return false;
    tm->tm_hour = digits_at(p, 2);
    tm->tm_min = digits_at(p + 3, 2);
    tm->tm_sec = digits_at(p + 6, 2);
    return tm->tm_hour >= 0 && tm->tm_hour <= 23 && tm->tm_min >= 0 && tm->tm_min <= 59 &&
           tm->tm_sec >= 0 && tm->tm_sec <= 60;
}

/* RFC 9110 5.6.7: a two-digit year more than 50 years in the future is
 * the most recent past year with those digits. Judged by the year on the
 * clock now (the one reading of outside state in this file). */
static int full_year(int two_digits)
{
    time_t now = time(NULL);
    struct tm tm;
    int this_year = gmtime_r(&now, &tm) != NULL ? tm.tm_year + 1900 : 1970;
    int year = this_year - this_year % 100 + two_digits;
    if (year > this_year + 50)
        year -= 100;
    else if (year <= this_year - 50)
        year += 100;
    return year;
}

static bool convert(struct tm *tm, time_t *when)
{
    static const int month_days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (tm->tm_mon < 0 || tm->tm_mday < 1 || tm->tm_year + 1900 < 0)
        return false;
    int days = month_days[tm->tm_mon] + (tm->tm_mon == 1 && is_leap(tm->tm_year + 1900));
    if (tm->tm_mday > days)
        return false;
    tm->tm_isdst = 0;
    tm->tm_wday = tm->tm_yday = 0;
    struct tm copy = *tm;
    time_t t = timegm(&copy);
    /* -1 is also 1969-12-31T23:59:59Z: an error only for another date; past
     * DATE_MAX (9999-12-31 23:59:60) is a year we cannot write */
    if ((int64_t)t > DATE_MAX ||
        (t == (time_t)-1 && !(tm->tm_year == 69 && tm->tm_mon == 11 && tm->tm_mday == 31 &&
                              tm->tm_hour == 23 && tm->tm_min == 59 && tm->tm_sec == 59)))
        return false;
    *when = t;
    return true;
}

bool zzz_http_date_parse(const char *text, size_t len, time_t *when)
{
    if (text == NULL)
        return false;
    cursor p = (cursor)text;
    struct tm tm = {0};
    if (len == 29 && p[3] == ',') {
        /* IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT" */
        if (short_name(p, day_names, 7) < 0 || p[4] != ' ' || p[7] != ' ' || p[11] != ' ' ||
            p[16] != ' ' || memcmp(p + 25, " GMT", 4) != 0)
            return false;
        tm.tm_mday = digits_at(p + 5, 2);
        tm.tm_mon = short_name(p + 8, month_names, 12);
        int year = digits_at(p + 12, 4);
        if (year < 0 || !time_of_day(p + 17, &tm))
            return false;
        tm.tm_year = year - 1900;
        return convert(&tm, when);
    }
    if (len == 24 && p[3] == ' ') {
        /* asctime: "Sun Nov  6 08:49:37 1994" (the day may be " 6" or "06") */
        if (short_name(p, day_names, 7) < 0 || p[7] != ' ' || p[10] != ' ' || p[19] != ' ')
            return false;
        tm.tm_mon = short_name(p + 4, month_names, 12);
        tm.tm_mday = p[8] == ' ' ? digits_at(p + 9, 1) : digits_at(p + 8, 2);
        int year = digits_at(p + 20, 4);
        if (year < 0 || !time_of_day(p + 11, &tm))
            return false;
        tm.tm_year = year - 1900;
        return convert(&tm, when);
    }
    /* RFC 850: "Sunday, 06-Nov-94 08:49:37 GMT" */
    for (int d = 0; d < 7; d++) {
        size_t name_len = strlen(day_names_long[d]);
        if (len != name_len + 24 || memcmp(p, day_names_long[d], name_len) != 0)
            continue;
        cursor q = p + name_len;
        if (q[0] != ',' || q[1] != ' ' || q[4] != '-' || q[8] != '-' || q[11] != ' ' ||
            memcmp(q + 20, " GMT", 4) != 0)
            return false;
        tm.tm_mday = digits_at(q + 2, 2);
        tm.tm_mon = short_name(q + 5, month_names, 12);
        int year = digits_at(q + 9, 2);
        if (year < 0 || !time_of_day(q + 12, &tm))
            return false;
        tm.tm_year = full_year(year) - 1900;
        return convert(&tm, when);
    }
    return false;
}

/* ---- ranges ---- */

#define RANGE_MAX 16
/* 19 digits are below 10^19 < 2^64: no overflow to check digit by digit. */
#define RANGE_DIGITS_MAX 19

/* 1*DIGIT at p, at most RANGE_DIGITS_MAX of them. Returns the byte after;
 * NULL for none or too many. */
static cursor parse_pos(cursor p, cursor end, uint64_t *value)
{
    cursor start = p;
    uint64_t v = 0;
    while (p < end && is_digit(*p)) {
        if (p - start == RANGE_DIGITS_MAX)
            return NULL;
        v = v * 10 + (uint64_t)(*p - '0');
        p++;
    }
    if (p == start)
        return NULL;
    *value = v;
    return p;
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
        uint64_t a, b;
        if (*p == '-') { /* suffix-range: the last b bytes */
            p = parse_pos(p + 1, end, &b);
            if (p == NULL)
                return ZZZ_RANGE_NONE;
            if (b > 0 && size == 0)
                empty_suffix = true;
            else if (b > 0)
                spans[satisfiable++] = (byte_span){size - (b < size ? b : size), size};
        } else { /* int-range: first-pos "-" [ last-pos ] */
            p = parse_pos(p, end, &a);
            if (p == NULL || p == end || *p != '-')
                return ZZZ_RANGE_NONE;
            p++;
            b = UINT64_MAX;
            if (p < end && is_digit(*p)) {
                p = parse_pos(p, end, &b);
                if (p == NULL || a > b)
                    return ZZZ_RANGE_NONE;
            }
            if (a < size)
                spans[satisfiable++] = (byte_span){a, b < size - 1 ? b + 1 : size};
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
