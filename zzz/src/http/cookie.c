/* Cookies (RFC 6265, RFC 6265bis, CHIPS): the request's Cookie fields read
 * as name=value pairs, and Set-Cookie fields checked and composed straight
 * into the response's header lines. Signed cookies are in cookie_sign.c. */
#include "cookie.h"
#include "http.h"

#include <errno.h>
#include <string.h>
#include <time.h>

/* ---- reading ------------------------------------------------------------ */

static bool cookie_ws(char c)
{
    return c == ' ' || c == '\t';
}

/* The next pair of a Cookie field value s[0..len) at or after *pos, which
 * moves past it. Read as a browser writes it, and never refused: a field
 * is what a client sent, and one odd pair must not hide the others. */
static bool cookie_pair_next(const char *s, size_t len, size_t *pos, zzz_str *name, zzz_str *value)
{
    size_t i = *pos;
    while (i < len) {
        const char *semi = memchr(s + i, ';', len - i);
        size_t start = i, end = semi ? (size_t)(semi - s) : len;
        i = semi ? end + 1 : len;
        while (start < end && cookie_ws(s[start]))
            start++;
        while (end > start && cookie_ws(s[end - 1]))
            end--;
        if (start == end)
            continue; /* ";;" or "; ;" */
        const char *eq = memchr(s + start, '=', end - start);
        size_t name_end = eq ? (size_t)(eq - s) : start;
        size_t value_start = eq ? name_end + 1 : start;
        /* A pair without '=' is a nameless cookie: a browser sends one as
         * its value alone (RFC 6265bis 5.8.3). */
        while (name_end > start && cookie_ws(s[name_end - 1]))
            name_end--;
        while (value_start < end && cookie_ws(s[value_start]))
            value_start++;
        /* cookie-value may be wrapped in DQUOTEs, with no escapes inside:
         * unquoting is taking them off. */
        if (end - value_start >= 2 && s[value_start] == '"' && s[end - 1] == '"') {
            value_start++;
            end--;
        }
        *name = (zzz_str){s + start, name_end - start};
        *value = (zzz_str){s + value_start, end - value_start};
        *pos = i;
        return true;
    }
    *pos = len;
    return false;
}

bool zzz_req_cookie_next(const zzz_req *req, zzz_cookie_iter *iter, zzz_str *name, zzz_str *value)
{
    const http_head *head = &req->head;
    while (iter->field < head->header_count) {
        const zzz_header *f = &head->headers[iter->field];
        zzz_str n, v;
        if (f->name.len == 6 && zzz_http_name_eq(f->name, "cookie") &&
            iter->offset <= f->value.len &&
            cookie_pair_next(f->value.ptr, f->value.len, &iter->offset, &n, &v)) {
            if (name)
                *name = n;
            if (value)
                *value = v;
            return true;
        }
        iter->field++;
        iter->offset = 0;
    }
    return false;
}

bool zzz_req_cookie(const zzz_req *req, const char *name, zzz_str *value)
{
    if (!name)
        return false;
    size_t len = strlen(name);
    zzz_cookie_iter iter = {0};
    zzz_str n, v;
    while (zzz_req_cookie_next(req, &iter, &n, &v)) {
        if (n.len == len && memcmp(n.ptr, name, len) == 0) {
            if (value)
                *value = v;
            return true;
        }
    }
    return false;
}

/* ---- checking ----------------------------------------------------------- */

bool zzz_http_cookie_octet(unsigned char c)
{
    /* %x21 / %x23-2B / %x2D-3A / %x3C-5B / %x5D-7E: visible ASCII but
     * DQUOTE, ',', ';' and '\'. */
    return c >= 0x21 && c <= 0x7e && c != '"' && c != ',' && c != ';' && c != '\\';
}

static bool cookie_value_ok(zzz_str v)
{
    const unsigned char *p = (const unsigned char *)v.ptr;
    size_t len = v.len;
    if (len >= 2 && p[0] == '"' && p[len - 1] == '"') {
        p++;
        len -= 2;
    }
    for (size_t i = 0; i < len; i++)
        if (!zzz_http_cookie_octet(p[i]))
            return false;
    return true;
}

static bool cookie_name_ok(zzz_str n)
{
    if (n.len == 0)
        return false;
    for (size_t i = 0; i < n.len; i++)
        if (!zzz_http_is_tchar((unsigned char)n.ptr[i]))
            return false;
    return true;
}

/* A path a browser takes as one (RFC 6265bis 5.6.4 uses it only when it
 * starts with '/'); a space could not match a request's path, which is
 * sent percent-encoded. */
static bool cookie_path_ok(const char *path, size_t len)
{
    if (len == 0 || len > ZZZ_COOKIE_ATTR_MAX || path[0] != '/')
        return false;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)path[i];
        if (c <= 0x20 || c >= 0x7f || c == ';')
            return false;
    }
    return true;
}

/* A host name's letters, digits, '-' and '_', in non-empty labels, after
 * at most one leading '.' (which browsers ignore). */
static bool cookie_domain_ok(const char *domain, size_t len)
{
    if (len > ZZZ_COOKIE_ATTR_MAX)
        return false;
    size_t i = len > 0 && domain[0] == '.' ? 1 : 0;
    if (i == len)
        return false;
    bool label_empty = true;
    for (; i < len; i++) {
        unsigned char c = (unsigned char)domain[i];
        if (c == '.') {
            if (label_empty)
                return false;
            label_empty = true;
        } else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                   c == '-' || c == '_') {
            label_empty = false;
        } else {
            return false;
        }
    }
    return !label_empty;
}

/* Does name start with prefix, ASCII case ignored (browsers compare the
 * prefixes so since RFC 6265bis-13)? */
static bool cookie_prefixed(zzz_str name, const char *prefix, size_t len)
{
    return name.len >= len && zzz_http_name_eq((zzz_str){name.ptr, len}, prefix);
}

/* ---- composing ---------------------------------------------------------- */

/* Writes, or only counts when p is NULL, so one routine measures the line
 * and then fills the room taken for it. */
typedef struct cookie_out {
    char *p;
    size_t len;
} cookie_out;

static void out_put(cookie_out *o, const char *s, size_t n)
{
    if (o->p && n)
        memcpy(o->p + o->len, s, n);
    o->len += n;
}

#define OUT_LIT(o, lit) out_put((o), lit, sizeof(lit) - 1)

static void out_uint(cookie_out *o, uint64_t v)
{
    char digits[20];
    size_t n = 0;
    do {
        digits[sizeof digits - ++n] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    out_put(o, digits + sizeof digits - n, n);
}

static void out_2digits(cookie_out *o, int v)
{
    char d[2] = {(char)('0' + v / 10), (char)('0' + v % 10)};
    out_put(o, d, 2);
}

/* An IMF-fixdate (RFC 9110 5.6.7), "Sun, 06 Nov 1994 08:49:37 GMT",
 * English whatever the locale. */
static void out_date(cookie_out *o, const struct tm *tm)
{
    static const char days[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    out_put(o, days[tm->tm_wday % 7], 3);
    OUT_LIT(o, ", ");
    out_2digits(o, tm->tm_mday);
    OUT_LIT(o, " ");
    out_put(o, months[tm->tm_mon % 12], 3);
    OUT_LIT(o, " ");
    int year = tm->tm_year + 1900;
    out_2digits(o, year / 100);
    out_2digits(o, year % 100);
    OUT_LIT(o, " ");
    out_2digits(o, tm->tm_hour);
    OUT_LIT(o, ":");
    out_2digits(o, tm->tm_min);
    OUT_LIT(o, ":");
    out_2digits(o, tm->tm_sec);
    OUT_LIT(o, " GMT");
}

/* The whole field line; expires is NULL when none is sent. */
static void out_cookie(cookie_out *o, zzz_str name, zzz_str value, zzz_str suffix,
                       const zzz_cookie_opts *opts, const struct tm *expires, bool clear)
{
    OUT_LIT(o, "Set-Cookie: ");
    out_put(o, name.ptr, name.len);
    OUT_LIT(o, "=");
    out_put(o, value.ptr, value.len);
    out_put(o, suffix.ptr, suffix.len);
    if (clear) {
        /* Max-Age for RFC 6265 clients, Expires for older ones. */
        OUT_LIT(o, "; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0");
    } else {
        if (expires) {
            OUT_LIT(o, "; Expires=");
            out_date(o, expires);
        }
        if (opts->max_age != 0) {
            OUT_LIT(o, "; Max-Age=");
            out_uint(o, opts->max_age > 0 ? (uint64_t)opts->max_age : 0);
        }
    }
    if (opts->domain) {
        OUT_LIT(o, "; Domain=");
        out_put(o, opts->domain, strlen(opts->domain));
    }
    if (opts->path) {
        OUT_LIT(o, "; Path=");
        out_put(o, opts->path, strlen(opts->path));
    }
    if (opts->secure)
        OUT_LIT(o, "; Secure");
    if (opts->http_only)
        OUT_LIT(o, "; HttpOnly");
    switch (opts->same_site) {
    case ZZZ_SAME_SITE_LAX:
        OUT_LIT(o, "; SameSite=Lax");
        break;
    case ZZZ_SAME_SITE_STRICT:
        OUT_LIT(o, "; SameSite=Strict");
        break;
    case ZZZ_SAME_SITE_NONE:
        OUT_LIT(o, "; SameSite=None");
        break;
    default:
        break;
    }
    if (opts->partitioned)
        OUT_LIT(o, "; Partitioned");
    OUT_LIT(o, "\r\n");
}

/* Checks name, value and opts together: the attributes alone, then what
 * the name's prefix and the attributes ask of each other. */
static int cookie_check(zzz_str name, zzz_str value, zzz_str suffix, const zzz_cookie_opts *opts)
{
    if (!cookie_name_ok(name) || !cookie_value_ok(value))
        return -EINVAL;
    if (name.len + value.len + suffix.len > ZZZ_COOKIE_NAME_VALUE_MAX)
        return -EINVAL;
    size_t path_len = opts->path ? strlen(opts->path) : 0;
    if (opts->path && !cookie_path_ok(opts->path, path_len))
        return -EINVAL;
    if (opts->domain && !cookie_domain_ok(opts->domain, strlen(opts->domain)))
        return -EINVAL;
    if ((unsigned)opts->same_site > ZZZ_SAME_SITE_NONE)
        return -EINVAL;
    /* Browsers drop these (RFC 6265bis 5.6.7 step 2 for None; CHIPS for
     * Partitioned): better an error here than a cookie that never comes
     * back. */
    if ((opts->same_site == ZZZ_SAME_SITE_NONE || opts->partitioned) && !opts->secure)
        return -EINVAL;
    if (cookie_prefixed(name, "__secure-", 9) && !opts->secure)
        return -EINVAL;
    if (cookie_prefixed(name, "__host-", 7) &&
        (!opts->secure || opts->domain || path_len != 1 || opts->path[0] != '/'))
        return -EINVAL;
    return 0;
}

int zzz_http_cookie_put(zzz_res *res, zzz_str name, zzz_str value, zzz_str suffix,
                        const zzz_cookie_opts *opts, bool clear)
{
    static const zzz_cookie_opts none;
    if (!opts)
        opts = &none;
    if (res->head_sent)
        return -EALREADY;
    if (!name.ptr || !value.ptr)
        return -EINVAL;
    int err = cookie_check(name, value, suffix, opts);
    if (err)
        return err;
    struct tm tm;
    const struct tm *expires = NULL;
    if (!clear && opts->expires != 0) {
        /* A cookie-date before 1601 is no date to a browser (RFC 6265
         * 5.1.1), and an IMF-fixdate has four digits of year. */
        time_t t = opts->expires;
        if (!gmtime_r(&t, &tm) || tm.tm_year < 1601 - 1900 || tm.tm_year > 9999 - 1900)
            return -EINVAL;
        expires = &tm;
    }
    cookie_out o = {NULL, 0};
    out_cookie(&o, name, value, suffix, opts, expires, clear);
    char *room = zzz_http_res_lines_room(res, o.len);
    if (!room)
        return -ENOBUFS;
    o = (cookie_out){room, 0};
    out_cookie(&o, name, value, suffix, opts, expires, clear);
    return 0;
}

static zzz_str cookie_str(const char *s)
{
    return (zzz_str){s, s ? strlen(s) : 0};
}

int zzz_res_cookie(zzz_res *res, const char *name, const char *value, const zzz_cookie_opts *opts)
{
    return zzz_http_cookie_put(res, cookie_str(name), cookie_str(value), (zzz_str){"", 0}, opts,
                               false);
}

int zzz_res_cookie_clear(zzz_res *res, const char *name, const zzz_cookie_opts *opts)
{
    return zzz_http_cookie_put(res, cookie_str(name), (zzz_str){"", 0}, (zzz_str){"", 0}, opts,
                               true);
}
