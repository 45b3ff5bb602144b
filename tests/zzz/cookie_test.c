/* Unit tests of cookies (cookie.c, cookie_sign.c, included to reach their
 * static helpers): reading Cookie fields, hostile ones included; every
 * check of the Set-Cookie composer; signed cookies round trip, and read
 * as absent once changed, cut, moved or unsigned. The response's header
 * lines go to a buffer of the test's own (the stub of
 * zzz_http_res_lines_room below), so no connection is needed. */
#include "../../zzz/src/http/cookie.c"
#include "../../zzz/src/http/cookie_sign.c"

#include <criterion/criterion.h>

#include <ctype.h>
#include <limits.h>
#include <stdio.h>

/* ---- a response's header lines, kept here ------------------------------- */

static char lines[32768];
static size_t lines_len;
static size_t lines_cap = sizeof lines;

char *zzz_http_res_lines_room(zzz_res *res, size_t len)
{
    if (res->head_sent || len > lines_cap - lines_len)
        return NULL;
    char *p = lines + lines_len;
    lines_len += len;
    return p;
}

static void lines_reset(void)
{
    lines_len = 0;
    lines_cap = sizeof lines;
}

static void expect_lines(const char *want)
{
    size_t len = strlen(want);
    cr_assert(lines_len == len && memcmp(lines, want, len) == 0, "expected\n%s\ngot\n%.*s", want,
              (int)lines_len, lines);
}

static void setup(void)
{
    lines_reset();
}

TestSuite(cookie, .init = setup);

/* ---- a request's fields -------------------------------------------------- */

#define MAX_FIELDS 8

typedef struct fake_req {
    zzz_req req;
    zzz_header fields[MAX_FIELDS];
} fake_req;

/* A request with the given fields: name, value (NUL-terminated), ... */
static void fake_init(fake_req *f)
{
    memset(f, 0, sizeof *f);
    f->req.head.headers = f->fields;
}

static void fake_add(fake_req *f, const char *name, const char *value, size_t len)
{
    cr_assert(f->req.head.header_count < MAX_FIELDS);
    f->fields[f->req.head.header_count++] = (zzz_header){{name, strlen(name)}, {value, len}};
}

static void fake_cookie(fake_req *f, const char *value)
{
    fake_add(f, "Cookie", value, strlen(value));
}

static bool str_is(zzz_str s, const char *text)
{
    return s.len == strlen(text) && memcmp(s.ptr, text, s.len) == 0;
}

/* The cookies of f as "name=value|name=value|..." into out. */
static void list_cookies(const fake_req *f, char *out, size_t cap)
{
    zzz_cookie_iter it = {0};
    zzz_str n, v;
    size_t len = 0;
    out[0] = '\0';
    while (zzz_req_cookie_next(&f->req, &it, &n, &v)) {
        int k = snprintf(out + len, cap - len, "%s%.*s=%.*s", len ? "|" : "", (int)n.len, n.ptr,
                         (int)v.len, v.ptr);
        cr_assert(k > 0 && (size_t)k < cap - len);
        len += (size_t)k;
    }
}

static void expect_list(const char *cookie, const char *want)
{
    fake_req f;
    fake_init(&f);
    fake_cookie(&f, cookie);
    char got[1024];
    list_cookies(&f, got, sizeof got);
    cr_assert_str_eq(got, want, "Cookie: %s", cookie);
}

/* ---- reading ------------------------------------------------------------- */

Test(cookie, pairs_as_browsers_send_them)
{
    expect_list("a=1; b=2", "a=1|b=2");
    expect_list("a=1", "a=1");
    expect_list("session=abc123; theme=dark; lang=en", "session=abc123|theme=dark|lang=en");
    /* No space after ';', or several, or tabs: all the same. */
    expect_list("a=1;b=2;  c=3;\td=4", "a=1|b=2|c=3|d=4");
    /* Spaces around the name and the value are not theirs. */
    expect_list(" a = 1 ; b\t=\t2 ", "a=1|b=2");
    /* Inside a name or value they are kept. */
    expect_list("a b=c d", "a b=c d");
}

Test(cookie, empty_pairs_are_skipped)
{
    expect_list("", "");
    expect_list(";", "");
    expect_list(";;;; ; \t ;", "");
    expect_list(";a=1;;b=2;", "a=1|b=2");
}

Test(cookie, values_and_the_first_equals_sign)
{
    expect_list("a=", "a=");
    expect_list("a=b=c", "a=b=c"); /* name a, value b=c */
    expect_list("a==", "a==");
    fake_req f;
    fake_init(&f);
    fake_cookie(&f, "a=b=c; tok=x==");
    zzz_str v;
    cr_assert(zzz_req_cookie(&f.req, "a", &v) && str_is(v, "b=c"));
    cr_assert(zzz_req_cookie(&f.req, "tok", &v) && str_is(v, "x=="));
}

Test(cookie, a_pair_without_equals_is_a_nameless_cookie)
{
    expect_list("abc", "=abc");
    expect_list("abc; a=1", "=abc|a=1");
    expect_list("=abc", "=abc");
    expect_list("= abc ", "=abc");
    fake_req f;
    fake_init(&f);
    fake_cookie(&f, "x=1; lonely; =other");
    zzz_str v;
    cr_assert(zzz_req_cookie(&f.req, "", &v) && str_is(v, "lonely"));
    cr_assert_not(zzz_req_cookie(&f.req, "lonely", &v));
}

Test(cookie, quoted_values_lose_their_quotes)
{
    expect_list("a=\"xyz\"", "a=xyz");
    expect_list("a=\"\"", "a=");
    expect_list("a= \"x y\" ", "a=x y");
    /* Not a pair of quotes around the whole: kept as sent. */
    expect_list("a=\"", "a=\"");
    expect_list("a=\"x", "a=\"x");
    expect_list("a=x\"", "a=x\"");
    expect_list("a=\"x\"y", "a=\"x\"y");
    /* Only one pair comes off. */
    expect_list("a=\"\"x\"\"", "a=\"x\"");
    /* A quoted value's bytes point into the field: nothing is copied. */
    fake_req f;
    fake_init(&f);
    const char *field = "k=\"v\"";
    fake_cookie(&f, field);
    zzz_str v;
    cr_assert(zzz_req_cookie(&f.req, "k", &v));
    cr_assert_eq(v.ptr, field + 3);
    cr_assert_eq(v.len, 1);
}

Test(cookie, names_match_exactly_and_the_first_wins)
{
    fake_req f;
    fake_init(&f);
    fake_cookie(&f, "Sid=upper; sid=first; sid=second");
    zzz_str v;
    cr_assert(zzz_req_cookie(&f.req, "sid", &v) && str_is(v, "first"));
    cr_assert(zzz_req_cookie(&f.req, "Sid", &v) && str_is(v, "upper"));
    cr_assert_not(zzz_req_cookie(&f.req, "SID", &v));
    cr_assert_not(zzz_req_cookie(&f.req, "si", &v));
    cr_assert_not(zzz_req_cookie(&f.req, "sidx", &v));
    cr_assert_not(zzz_req_cookie(&f.req, NULL, &v));
    cr_assert(zzz_req_cookie(&f.req, "sid", NULL)); /* only asks */
}

Test(cookie, several_cookie_fields_read_as_one_list)
{
    fake_req f;
    fake_init(&f);
    fake_cookie(&f, "a=1; b=2");
    fake_add(&f, "Host", "example.com", 11);
    fake_add(&f, "COOKIE", "c=3", 3);
    fake_add(&f, "Set-Cookie", "evil=1", 6); /* not a request's cookie */
    fake_add(&f, "Cookie2", "evil=2", 6);
    fake_add(&f, "cookie", "", 0);
    fake_add(&f, "cookie", "b=late; d=4", 11);
    char got[256];
    list_cookies(&f, got, sizeof got);
    cr_assert_str_eq(got, "a=1|b=2|c=3|b=late|d=4");
    zzz_str v;
    cr_assert(zzz_req_cookie(&f.req, "b", &v) && str_is(v, "2"));
    cr_assert(zzz_req_cookie(&f.req, "d", &v) && str_is(v, "4"));
    cr_assert_not(zzz_req_cookie(&f.req, "evil", &v));
}

Test(cookie, no_cookie_field_no_cookies)
{
    fake_req f;
    fake_init(&f);
    zzz_cookie_iter it = {0};
    cr_assert_not(zzz_req_cookie_next(&f.req, &it, NULL, NULL));
    cr_assert_not(zzz_req_cookie(&f.req, "a", NULL));
    fake_add(&f, "Accept", "*/*", 3);
    cr_assert_not(zzz_req_cookie_next(&f.req, &it, NULL, NULL));
}

Test(cookie, the_iterator_stays_at_its_end)
{
    fake_req f;
    fake_init(&f);
    fake_cookie(&f, "a=1");
    zzz_cookie_iter it = {0};
    zzz_str n;
    cr_assert(zzz_req_cookie_next(&f.req, &it, &n, NULL) && str_is(n, "a"));
    for (int i = 0; i < 3; i++)
        cr_assert_not(zzz_req_cookie_next(&f.req, &it, &n, NULL));
    /* An offset past its field (a caller's garbage) ends that field. */
    it = (zzz_cookie_iter){.field = 0, .offset = 1000};
    cr_assert_not(zzz_req_cookie_next(&f.req, &it, NULL, NULL));
    it = (zzz_cookie_iter){.field = 1000, .offset = 0};
    cr_assert_not(zzz_req_cookie_next(&f.req, &it, NULL, NULL));
}

/* ---- hostile fields ----------------------------------------------------- */

Test(cookie, thousands_of_separators)
{
    size_t len = 100000;
    char *s = malloc(len);
    cr_assert(s);
    memset(s, ';', len);
    fake_req f;
    fake_init(&f);
    fake_add(&f, "Cookie", s, len);
    cr_assert_not(zzz_req_cookie(&f.req, "a", NULL));
    zzz_cookie_iter it = {0};
    cr_assert_not(zzz_req_cookie_next(&f.req, &it, NULL, NULL));
    /* The same with one cookie at the very end. */
    memcpy(s + len - 3, "a=1", 3);
    zzz_str v;
    cr_assert(zzz_req_cookie(&f.req, "a", &v) && str_is(v, "1"));
    free(s);
}

Test(cookie, thousands_of_pairs_each_read_once)
{
    size_t count = 20000;
    char *s = malloc(count * 16);
    cr_assert(s);
    size_t len = 0;
    for (size_t i = 0; i < count; i++)
        len += (size_t)sprintf(s + len, "k%zu=%zu;", i % 1000, i);
    fake_req f;
    fake_init(&f);
    fake_add(&f, "Cookie", s, len);
    zzz_cookie_iter it = {0};
    zzz_str n, v;
    size_t seen = 0;
    while (zzz_req_cookie_next(&f.req, &it, &n, &v)) {
        char want[32];
        snprintf(want, sizeof want, "%zu", seen);
        cr_assert(str_is(v, want), "pair %zu", seen);
        seen++;
    }
    cr_assert_eq(seen, count);
    cr_assert(zzz_req_cookie(&f.req, "k999", &v) && str_is(v, "999"));
    free(s);
}

Test(cookie, pairs_without_equals_and_huge_values)
{
    size_t len = 1 << 20;
    char *s = malloc(len);
    cr_assert(s);
    memset(s, 'x', len);
    fake_req f;
    fake_init(&f);
    fake_add(&f, "Cookie", s, len);
    zzz_str v;
    cr_assert(zzz_req_cookie(&f.req, "", &v));
    cr_assert_eq(v.len, len);
    s[0] = 'n';
    s[1] = '=';
    cr_assert(zzz_req_cookie(&f.req, "n", &v));
    cr_assert_eq(v.len, len - 2);
    free(s);
}

Test(cookie, nul_and_non_ascii_bytes_are_only_bytes)
{
    /* The head parser refuses NUL in a field; this reader must not care. */
    static const char field[] = "a=x\0y; \0=1; b=\xc3\xa9t\xc3\xa9; \xff\xfe=z; c=\"\0\"";
    fake_req f;
    fake_init(&f);
    fake_add(&f, "Cookie", field, sizeof field - 1);
    zzz_str v;
    cr_assert(zzz_req_cookie(&f.req, "a", &v));
    cr_assert(v.len == 3 && memcmp(v.ptr, "x\0y", 3) == 0);
    cr_assert(zzz_req_cookie(&f.req, "b", &v) && str_is(v, "\xc3\xa9t\xc3\xa9"));
    cr_assert(zzz_req_cookie(&f.req, "\xff\xfe", &v) && str_is(v, "z"));
    cr_assert(zzz_req_cookie(&f.req, "c", &v));
    cr_assert(v.len == 1 && v.ptr[0] == '\0');
    size_t count = 0;
    zzz_cookie_iter it = {0};
    while (zzz_req_cookie_next(&f.req, &it, NULL, NULL))
        count++;
    cr_assert_eq(count, 5);
}

Test(cookie, random_fields_stay_inside_their_bytes)
{
    uint64_t x = 0x9e3779b97f4a7c15ULL;
    static const char alphabet[] = "ab=;; \t\"\"\0x\xff";
    for (int round = 0; round < 2000; round++) {
        char s[64];
        size_t len = (size_t)(round % 64);
        for (size_t i = 0; i < len; i++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            s[i] = alphabet[x % (sizeof alphabet - 1)];
        }
        fake_req f;
        fake_init(&f);
        fake_add(&f, "Cookie", s, len);
        zzz_cookie_iter it = {0};
        zzz_str n, v;
        size_t count = 0;
        while (zzz_req_cookie_next(&f.req, &it, &n, &v)) {
            cr_assert(n.ptr >= s && n.ptr + n.len <= s + len);
            cr_assert(v.ptr >= s && v.ptr + v.len <= s + len);
            cr_assert(!memchr(n.ptr, ';', n.len) && !memchr(v.ptr, ';', v.len));
            cr_assert(!memchr(n.ptr, '=', n.len));
            cr_assert(++count <= len);
        }
    }
}

/* ---- composing Set-Cookie ------------------------------------------------ */

static zzz_res res_open;

Test(cookie, a_bare_cookie)
{
    cr_assert_eq(zzz_res_cookie(&res_open, "a", "1", NULL), 0);
    expect_lines("Set-Cookie: a=1\r\n");
}

Test(cookie, every_attribute_in_order)
{
    zzz_cookie_opts o = {.path = "/app",
                         .domain = "example.com",
                         .max_age = 3600,
                         .expires = 784111777,
                         .secure = true,
                         .http_only = true,
                         .same_site = ZZZ_SAME_SITE_STRICT,
                         .partitioned = true};
    cr_assert_eq(zzz_res_cookie(&res_open, "sid", "abc", &o), 0);
    expect_lines("Set-Cookie: sid=abc; Expires=Sun, 06 Nov 1994 08:49:37 GMT; Max-Age=3600; "
                 "Domain=example.com; Path=/app; Secure; HttpOnly; SameSite=Strict; "
                 "Partitioned\r\n");
}

Test(cookie, several_cookies_append)
{
    zzz_cookie_opts lax = {.same_site = ZZZ_SAME_SITE_LAX};
    zzz_cookie_opts none = {.same_site = ZZZ_SAME_SITE_NONE, .secure = true};
    cr_assert_eq(zzz_res_cookie(&res_open, "a", "1", &lax), 0);
    cr_assert_eq(zzz_res_cookie(&res_open, "a", "2", &none), 0);
    cr_assert_eq(zzz_res_cookie(&res_open, "b", "", NULL), 0);
    expect_lines("Set-Cookie: a=1; SameSite=Lax\r\n"
                 "Set-Cookie: a=2; Secure; SameSite=None\r\n"
                 "Set-Cookie: b=\r\n");
}

Test(cookie, max_age_zero_is_none_and_negative_removes)
{
    zzz_cookie_opts o = {.max_age = 0};
    cr_assert_eq(zzz_res_cookie(&res_open, "a", "1", &o), 0);
    o.max_age = -1;
    cr_assert_eq(zzz_res_cookie(&res_open, "a", "1", &o), 0);
    o.max_age = INT64_MIN;
    cr_assert_eq(zzz_res_cookie(&res_open, "a", "1", &o), 0);
    o.max_age = 1;
    cr_assert_eq(zzz_res_cookie(&res_open, "a", "1", &o), 0);
    o.max_age = INT64_MAX;
    cr_assert_eq(zzz_res_cookie(&res_open, "a", "1", &o), 0);
    expect_lines("Set-Cookie: a=1\r\n"
                 "Set-Cookie: a=1; Max-Age=0\r\n"
                 "Set-Cookie: a=1; Max-Age=0\r\n"
                 "Set-Cookie: a=1; Max-Age=1\r\n"
                 "Set-Cookie: a=1; Max-Age=9223372036854775807\r\n");
}

Test(cookie, expires_is_an_imf_fixdate_in_range)
{
    struct {
        time_t t;
        const char *want; /* NULL: refused */
    } cases[] = {
        {1, "Thu, 01 Jan 1970 00:00:01 GMT"},
        {-1, "Wed, 31 Dec 1969 23:59:59 GMT"},
        {951782400, "Tue, 29 Feb 2000 00:00:00 GMT"},
        {253402300799, "Fri, 31 Dec 9999 23:59:59 GMT"}, /* the last second of 9999 */
        {253402300800, NULL},                            /* year 10000 */
        {-11644473600, "Mon, 01 Jan 1601 00:00:00 GMT"}, /* the first of 1601 */
        {-11644473601, NULL},                            /* 1600 */
        {(time_t)INT64_MAX, NULL},
        {(time_t)INT64_MIN, NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        lines_reset();
        zzz_cookie_opts o = {.expires = cases[i].t};
        int rc = zzz_res_cookie(&res_open, "a", "1", &o);
        if (!cases[i].want) {
            cr_assert_eq(rc, -EINVAL, "expires %lld", (long long)cases[i].t);
            cr_assert_eq(lines_len, 0);
            continue;
        }
        cr_assert_eq(rc, 0, "expires %lld", (long long)cases[i].t);
        char want[128];
        snprintf(want, sizeof want, "Set-Cookie: a=1; Expires=%s\r\n", cases[i].want);
        expect_lines(want);
    }
}

Test(cookie, names_are_tokens)
{
    static const char tchars[] = "!#$%&'*+-.^_`|~09azAZ";
    for (const char *p = tchars; *p; p++) {
        char name[2] = {*p, '\0'};
        cr_assert_eq(zzz_res_cookie(&res_open, name, "v", NULL), 0, "name %s", name);
    }
    for (int c = 1; c < 256; c++) {
        if (strchr(tchars, c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
            (c >= '0' && c <= '9'))
            continue;
        char name[4] = {'a', (char)c, 'b', '\0'};
        cr_assert_eq(zzz_res_cookie(&res_open, name, "v", NULL), -EINVAL, "byte 0x%02x", c);
    }
    cr_assert_eq(zzz_res_cookie(&res_open, "", "v", NULL), -EINVAL);
    cr_assert_eq(zzz_res_cookie(&res_open, NULL, "v", NULL), -EINVAL);
}

Test(cookie, values_are_cookie_octets)
{
    for (int c = 1; c < 256; c++) {
        bool octet = c >= 0x21 && c <= 0x7e && c != '"' && c != ',' && c != ';' && c != '\\';
        char value[4] = {'a', (char)c, 'b', '\0'};
        lines_reset();
        int rc = zzz_res_cookie(&res_open, "n", value, NULL);
        cr_assert_eq(rc, octet ? 0 : -EINVAL, "byte 0x%02x", c);
        /* The same inside quotes: quotes do not let more in. */
        char quoted[6] = {'"', 'a', (char)c, 'b', '"', '\0'};
        rc = zzz_res_cookie(&res_open, "n", quoted, NULL);
        cr_assert_eq(rc, octet ? 0 : -EINVAL, "quoted byte 0x%02x", c);
    }
    lines_reset();
    cr_assert_eq(zzz_res_cookie(&res_open, "n", "\"\"", NULL), 0);
    cr_assert_eq(zzz_res_cookie(&res_open, "n", "\"x\"", NULL), 0);
    expect_lines("Set-Cookie: n=\"\"\r\nSet-Cookie: n=\"x\"\r\n");
    cr_assert_eq(zzz_res_cookie(&res_open, "n", "\"", NULL), -EINVAL);
    cr_assert_eq(zzz_res_cookie(&res_open, "n", "\"x", NULL), -EINVAL);
    cr_assert_eq(zzz_res_cookie(&res_open, "n", "x\"", NULL), -EINVAL);
    cr_assert_eq(zzz_res_cookie(&res_open, "n", "\"x\"y\"", NULL), -EINVAL);
    cr_assert_eq(zzz_res_cookie(&res_open, "n", NULL, NULL), -EINVAL);
}

Test(cookie, name_and_value_up_to_4096_bytes)
{
    static char value[5000];
    memset(value, 'v', sizeof value - 1);
    value[4096 - 3] = '\0'; /* "abc" + 4093 = 4096 */
    cr_assert_eq(zzz_res_cookie(&res_open, "abc", value, NULL), 0);
    value[4096 - 3] = 'v';
    value[4096 - 2] = '\0'; /* 4097 */
    cr_assert_eq(zzz_res_cookie(&res_open, "abc", value, NULL), -EINVAL);
}

Test(cookie, paths)
{
    static const char *const good[] = {"/",     "/a", "/a/b/", "/%20x", "/a,b=c&d!~*'()",
                                       "/a\"b", NULL};
    static const char *const bad[] = {"",    "a",     "a/",    "/a b", "/a;b",      "/a\tb", "/\r",
                                      "/\n", "/\x7f", "/\x01", " /",   "/\xc3\xa9", NULL};
    for (size_t i = 0; good[i]; i++) {
        zzz_cookie_opts o = {.path = good[i]};
        cr_assert_eq(zzz_res_cookie(&res_open, "a", "1", &o), 0, "path \"%s\"", good[i]);
    }
    for (size_t i = 0; bad[i]; i++) {
        zzz_cookie_opts o = {.path = bad[i]};
        cr_assert_eq(zzz_res_cookie(&res_open, "a", "1", &o), -EINVAL, "path \"%s\"", bad[i]);
    }
    static char path[1100];
    memset(path, 'p', sizeof path - 1);
    path[0] = '/';
    path[1024] = '\0';
    zzz_cookie_opts o = {.path = path};
    cr_assert_eq(zzz_res_cookie(&res_open, "a", "1", &o), 0);
    path[1024] = 'p';
    path[1025] = '\0';
    cr_assert_eq(zzz_res_cookie(&res_open, "a", "1", &o), -EINVAL);
}

Test(cookie, domains)
{
    static const char *const good[] = {"example.com", ".example.com", "a-b_c.Example.COM",
                                       "localhost",   "127.0.0.1",    "xn--bcher-kva.example",
                                       NULL};
    static const char *const bad[] = {
        "",      ".",    "..example.com", "a..b",        "a.",  "exa mple.com", "ex;ample.com",
        "[::1]", "a:80", "a/b",           "\xc3\xa9.fr", "a\r", "a,b",          "*.a.com",
        NULL};
    for (size_t i = 0; good[i]; i++) {
        zzz_cookie_opts o = {.domain = good[i]};
        cr_assert_eq(zzz_res_cookie(&res_open, "a", "1", &o), 0, "domain \"%s\"", good[i]);
    }
    for (size_t i = 0; bad[i]; i++) {
        zzz_cookie_opts o = {.domain = bad[i]};
        cr_assert_eq(zzz_res_cookie(&res_open, "a", "1", &o), -EINVAL, "domain \"%s\"", bad[i]);
    }
    static char domain[1100];
    memset(domain, 'd', sizeof domain - 1);
    domain[1024] = '\0';
    zzz_cookie_opts o = {.domain = domain};
    cr_assert_eq(zzz_res_cookie(&res_open, "a", "1", &o), 0);
    domain[1024] = 'd';
    domain[1025] = '\0';
    cr_assert_eq(zzz_res_cookie(&res_open, "a", "1", &o), -EINVAL);
}

Test(cookie, same_site_none_and_partitioned_need_secure)
{
    zzz_cookie_opts o = {.same_site = ZZZ_SAME_SITE_NONE};
    cr_assert_eq(zzz_res_cookie(&res_open, "a", "1", &o), -EINVAL);
    o.secure = true;
    cr_assert_eq(zzz_res_cookie(&res_open, "a", "1", &o), 0);
    o = (zzz_cookie_opts){.partitioned = true};
    cr_assert_eq(zzz_res_cookie(&res_open, "a", "1", &o), -EINVAL);
    o.secure = true;
    cr_assert_eq(zzz_res_cookie(&res_open, "a", "1", &o), 0);
    o = (zzz_cookie_opts){.same_site = ZZZ_SAME_SITE_STRICT};
    cr_assert_eq(zzz_res_cookie(&res_open, "a", "1", &o), 0);
    o.same_site = (zzz_same_site)(ZZZ_SAME_SITE_NONE + 1);
    cr_assert_eq(zzz_res_cookie(&res_open, "a", "1", &o), -EINVAL);
    o.same_site = (zzz_same_site)-1;
    cr_assert_eq(zzz_res_cookie(&res_open, "a", "1", &o), -EINVAL);
    expect_lines("Set-Cookie: a=1; Secure; SameSite=None\r\n"
                 "Set-Cookie: a=1; Secure; Partitioned\r\n"
                 "Set-Cookie: a=1; SameSite=Strict\r\n");
}

Test(cookie, the_secure_prefix)
{
    zzz_cookie_opts o = {0};
    cr_assert_eq(zzz_res_cookie(&res_open, "__Secure-id", "1", &o), -EINVAL);
    cr_assert_eq(zzz_res_cookie(&res_open, "__secure-id", "1", &o), -EINVAL);
    cr_assert_eq(zzz_res_cookie(&res_open, "__SECURE-", "1", &o), -EINVAL);
    cr_assert_eq(zzz_res_cookie(&res_open, "__Secure", "1", &o), 0); /* no '-': no prefix */
    cr_assert_eq(zzz_res_cookie(&res_open, "_Secure-id", "1", &o), 0);
    o.secure = true;
    o.domain = "example.com";
    o.path = "/x";
    cr_assert_eq(zzz_res_cookie(&res_open, "__Secure-id", "1", &o), 0);
}

Test(cookie, the_host_prefix)
{
    zzz_cookie_opts ok = {.secure = true, .path = "/"};
    cr_assert_eq(zzz_res_cookie(&res_open, "__Host-id", "1", &ok), 0);
    cr_assert_eq(zzz_res_cookie(&res_open, "__hOsT-id", "1", &ok), 0);
    zzz_cookie_opts o = ok;
    o.secure = false;
    cr_assert_eq(zzz_res_cookie(&res_open, "__Host-id", "1", &o), -EINVAL);
    cr_assert_eq(zzz_res_cookie(&res_open, "__host-id", "1", &o), -EINVAL);
    o = ok;
    o.domain = "example.com";
    cr_assert_eq(zzz_res_cookie(&res_open, "__Host-id", "1", &o), -EINVAL);
    o = ok;
    o.path = NULL;
    cr_assert_eq(zzz_res_cookie(&res_open, "__Host-id", "1", &o), -EINVAL);
    o.path = "/app";
    cr_assert_eq(zzz_res_cookie(&res_open, "__Host-id", "1", &o), -EINVAL);
    o.path = "//";
    cr_assert_eq(zzz_res_cookie(&res_open, "__Host-id", "1", &o), -EINVAL);
    expect_lines("Set-Cookie: __Host-id=1; Path=/; Secure\r\n"
                 "Set-Cookie: __hOsT-id=1; Path=/; Secure\r\n");
}

Test(cookie, clear_expires_with_the_same_scope)
{
    cr_assert_eq(zzz_res_cookie_clear(&res_open, "a", NULL), 0);
    zzz_cookie_opts o = {.path = "/app",
                         .domain = "example.com",
                         .max_age = 3600,   /* ignored */
                         .expires = 999999, /* ignored */
                         .secure = true,
                         .http_only = true,
                         .same_site = ZZZ_SAME_SITE_LAX,
                         .partitioned = true};
    cr_assert_eq(zzz_res_cookie_clear(&res_open, "b", &o), 0);
    expect_lines("Set-Cookie: a=; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0\r\n"
                 "Set-Cookie: b=; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; "
                 "Domain=example.com; Path=/app; Secure; HttpOnly; SameSite=Lax; Partitioned\r\n");
    /* Its checks are zzz_res_cookie's. */
    cr_assert_eq(zzz_res_cookie_clear(&res_open, "__Host-a", NULL), -EINVAL);
    zzz_cookie_opts host = {.secure = true, .path = "/"};
    lines_reset();
    cr_assert_eq(zzz_res_cookie_clear(&res_open, "__Host-a", &host), 0);
    expect_lines("Set-Cookie: __Host-a=; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; "
                 "Path=/; Secure\r\n");
    cr_assert_eq(zzz_res_cookie_clear(&res_open, "a b", NULL), -EINVAL);
    cr_assert_eq(zzz_res_cookie_clear(&res_open, NULL, NULL), -EINVAL);
    zzz_cookie_opts bad_path = {.path = "x"};
    cr_assert_eq(zzz_res_cookie_clear(&res_open, "a", &bad_path), -EINVAL);
}

Test(cookie, header_errors)
{
    zzz_res sent = {.head_sent = true};
    cr_assert_eq(zzz_res_cookie(&sent, "a", "1", NULL), -EALREADY);
    cr_assert_eq(zzz_res_cookie_clear(&sent, "a", NULL), -EALREADY);
    /* Room for exactly one line, then none: nothing half-written. */
    lines_cap = strlen("Set-Cookie: a=1\r\n");
    cr_assert_eq(zzz_res_cookie(&res_open, "a", "1", NULL), 0);
    cr_assert_eq(zzz_res_cookie(&res_open, "a", "1", NULL), -ENOBUFS);
    cr_assert_eq(lines_len, lines_cap);
    lines_reset();
    lines_cap = strlen("Set-Cookie: a=1\r\n") - 1;
    cr_assert_eq(zzz_res_cookie(&res_open, "a", "1", NULL), -ENOBUFS);
    cr_assert_eq(lines_len, 0);
}

/* ---- signed cookies ------------------------------------------------------ */

static const char secret_a[] = "0123456789abcdef0123456789abcdef";

#ifdef ZZZ_HAVE_TLS

static const char secret_b[] = "fedcba9876543210fedcba9876543210-longer-is-fine";

static zzz_cookie_key *key_of(const char *secret)
{
    zzz_cookie_key *key;
    cr_assert_eq(zzz_cookie_key_create(&key, secret, strlen(secret)), 0);
    return key;
}

/* Signs name=value into the lines and gives back the cookie's wire value
 * (what follows "name=" up to ';' or CRLF), in out. */
static void sign(const zzz_cookie_key *key, const char *name, const char *value, char *out,
                 size_t cap)
{
    lines_reset();
    cr_assert_eq(zzz_res_cookie_signed(&res_open, key, name, value, NULL), 0);
    size_t prefix = strlen("Set-Cookie: ") + strlen(name) + 1;
    cr_assert(lines_len > prefix + 2);
    size_t len = lines_len - prefix - 2;
    cr_assert(len < cap);
    memcpy(out, lines + prefix, len);
    out[len] = '\0';
}

/* Reads name back with key from a request whose Cookie field is field. */
static bool read_signed(const zzz_cookie_key *key, const char *field, const char *name,
                        zzz_str *value)
{
    static fake_req f;
    fake_init(&f);
    fake_add(&f, "Cookie", field, strlen(field));
    return zzz_req_cookie_signed(&f.req, key, name, value);
}

Test(cookie, keys_need_32_bytes_of_secret)
{
    zzz_cookie_key *key = (zzz_cookie_key *)&key;
    cr_assert_eq(zzz_cookie_key_create(&key, secret_a, 31), -EINVAL);
    cr_assert_null(key);
    cr_assert_eq(zzz_cookie_key_create(&key, NULL, 32), -EINVAL);
    cr_assert_eq(zzz_cookie_key_create(NULL, secret_a, 32), -EINVAL);
    cr_assert_eq(zzz_cookie_key_create(&key, secret_a, 32), 0);
    cr_assert_eq(zzz_cookie_key_accept(key, secret_b, 31), -EINVAL);
    cr_assert_eq(zzz_cookie_key_accept(NULL, secret_b, 32), -EINVAL);
    for (int i = 0; i < 20; i++) /* grows */
        cr_assert_eq(zzz_cookie_key_accept(key, secret_b, 32 + (size_t)i % 8), 0);
    zzz_cookie_key_destroy(key);
    zzz_cookie_key_destroy(NULL);
}

Test(cookie, signed_round_trip)
{
    zzz_cookie_key *key = key_of(secret_a);
    static const char *const values[] = {"hello",  "",  "a.b.c", "user=42&role=admin",
                                         "x-_.~!", NULL};
    for (size_t i = 0; values[i]; i++) {
        char wire[256], field[300];
        sign(key, "sid", values[i], wire, sizeof wire);
        size_t vlen = strlen(values[i]);
        cr_assert_eq(strlen(wire), vlen + 44, "%s", wire);
        cr_assert(memcmp(wire, values[i], vlen) == 0 && wire[vlen] == '.');
        for (size_t k = vlen + 1; k < vlen + 44; k++)
            cr_assert(isalnum((unsigned char)wire[k]) || wire[k] == '-' || wire[k] == '_');
        snprintf(field, sizeof field, "other=1; sid=%s; z=2", wire);
        zzz_str v;
        cr_assert(read_signed(key, field, "sid", &v), "%s", field);
        cr_assert(str_is(v, values[i]));
        /* The plain reader sees the value with its signature. */
        static fake_req f;
        fake_init(&f);
        fake_cookie(&f, field);
        cr_assert(zzz_req_cookie(&f.req, "sid", &v) && str_is(v, wire));
        /* Quotes a client or proxy put around it come off first. */
        snprintf(field, sizeof field, "sid=\"%s\"", wire);
        cr_assert(read_signed(key, field, "sid", &v) && str_is(v, values[i]));
    }
    /* Signing is deterministic: the same value gives the same cookie. */
    char w1[128], w2[128];
    sign(key, "sid", "v", w1, sizeof w1);
    sign(key, "sid", "v", w2, sizeof w2);
    cr_assert_str_eq(w1, w2);
    zzz_cookie_key_destroy(key);
}

Test(cookie, signed_lines_carry_the_options)
{
    zzz_cookie_key *key = key_of(secret_a);
    zzz_cookie_opts o = {.secure = true, .path = "/", .http_only = true};
    cr_assert_eq(zzz_res_cookie_signed(&res_open, key, "__Host-s", "v", &o), 0);
    cr_assert(lines_len > 60);
    cr_assert(memcmp(lines, "Set-Cookie: __Host-s=v.", 23) == 0);
    cr_assert(memcmp(lines + 23 + 43, "; Path=/; Secure; HttpOnly\r\n", 28) == 0, "%.*s",
              (int)lines_len, lines);
    /* The prefix rules hold for signed cookies too. */
    cr_assert_eq(zzz_res_cookie_signed(&res_open, key, "__Host-s", "v", NULL), -EINVAL);
    zzz_cookie_key_destroy(key);
}

Test(cookie, each_changed_byte_reads_absent)
{
    zzz_cookie_key *key = key_of(secret_a);
    char wire[128], field[160];
    sign(key, "sid", "user42", wire, sizeof wire);
    size_t len = strlen(wire);
    for (size_t i = 0; i < len; i++) {
        for (int delta = 1; delta < 3; delta++) {
            char bad[128];
            memcpy(bad, wire, len + 1);
            bad[i] = (char)(bad[i] == 'z' ? 'A' : bad[i] + delta);
            if (bad[i] == ';' || bad[i] == '"' || bad[i] == '\\' || bad[i] == ',')
                bad[i] = 'Q';
            if (bad[i] == wire[i])
                continue;
            snprintf(field, sizeof field, "sid=%s", bad);
            cr_assert_not(read_signed(key, field, "sid", NULL), "changed byte %zu: %s", i, bad);
        }
    }
    /* Changed case of one base64url letter: another byte, refused. */
    char bad[128];
    memcpy(bad, wire, len + 1);
    for (size_t i = len - 1; i > len - 44; i--) {
        if (isalpha((unsigned char)bad[i])) {
            bad[i] ^= 0x20;
            break;
        }
    }
    snprintf(field, sizeof field, "sid=%s", bad);
    cr_assert_not(read_signed(key, field, "sid", NULL));
    zzz_cookie_key_destroy(key);
}

Test(cookie, cut_or_lengthened_reads_absent)
{
    zzz_cookie_key *key = key_of(secret_a);
    char wire[128], field[200];
    sign(key, "sid", "user42", wire, sizeof wire);
    size_t len = strlen(wire);
    for (size_t cut = 0; cut < len; cut++) {
        snprintf(field, sizeof field, "sid=%.*s", (int)cut, wire);
        cr_assert_not(read_signed(key, field, "sid", NULL), "cut to %zu", cut);
        /* Cut from the front too. */
        snprintf(field, sizeof field, "sid=%s", wire + len - cut);
        cr_assert_not(read_signed(key, field, "sid", NULL), "front cut to %zu", cut);
    }
    snprintf(field, sizeof field, "sid=%sA", wire);
    cr_assert_not(read_signed(key, field, "sid", NULL));
    snprintf(field, sizeof field, "sid=x%s", wire);
    cr_assert_not(read_signed(key, field, "sid", NULL));
    zzz_cookie_key_destroy(key);
}

Test(cookie, unsigned_renamed_or_foreign_reads_absent)
{
    zzz_cookie_key *key = key_of(secret_a);
    zzz_cookie_key *other = key_of(secret_b);
    char wire[128], field[200];
    sign(key, "sid", "user42", wire, sizeof wire);
    /* The value alone. */
    cr_assert_not(read_signed(key, "sid=user42", "sid", NULL));
    /* Moved to another name: its signature was for "sid". */
    snprintf(field, sizeof field, "admin=%s", wire);
    cr_assert_not(read_signed(key, field, "admin", NULL));
    snprintf(field, sizeof field, "Sid=%s", wire);
    cr_assert_not(read_signed(key, field, "Sid", NULL));
    /* The name moved into the value: "si" + "d=user42" is not it either. */
    char moved[160];
    snprintf(moved, sizeof moved, "si=d=%s", wire);
    cr_assert_not(read_signed(key, moved, "si", NULL));
    /* Another secret. */
    snprintf(field, sizeof field, "sid=%s", wire);
    cr_assert_not(read_signed(other, field, "sid", NULL));
    cr_assert(read_signed(key, field, "sid", NULL));
    /* NULL arguments. */
    cr_assert_not(read_signed(NULL, field, "sid", NULL));
    cr_assert_not(read_signed(key, field, NULL, NULL));
    zzz_cookie_key_destroy(key);
    zzz_cookie_key_destroy(other);
}

Test(cookie, a_bad_cookie_does_not_hide_a_good_one)
{
    zzz_cookie_key *key = key_of(secret_a);
    char wire[128], field[300];
    sign(key, "sid", "good", wire, sizeof wire);
    snprintf(field, sizeof field,
             "sid=planted; sid=bad.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA; sid=%s", wire);
    zzz_str v;
    cr_assert(read_signed(key, field, "sid", &v) && str_is(v, "good"));
    zzz_cookie_key_destroy(key);
}

Test(cookie, rotation_signs_with_the_first_and_reads_all)
{
    zzz_cookie_key *old = key_of(secret_a);
    zzz_cookie_key *rotated = key_of(secret_b);
    cr_assert_eq(zzz_cookie_key_accept(rotated, secret_a, strlen(secret_a)), 0);
    zzz_cookie_key *fresh = key_of(secret_b);
    char by_old[128], by_rotated[128], field[200];
    sign(old, "sid", "v", by_old, sizeof by_old);
    sign(rotated, "sid", "v", by_rotated, sizeof by_rotated);
    cr_assert_str_neq(by_old, by_rotated);
    snprintf(field, sizeof field, "sid=%s", by_old);
    cr_assert(read_signed(rotated, field, "sid", NULL));
    cr_assert_not(read_signed(fresh, field, "sid", NULL));
    snprintf(field, sizeof field, "sid=%s", by_rotated);
    cr_assert(read_signed(rotated, field, "sid", NULL));
    cr_assert(read_signed(fresh, field, "sid", NULL));
    cr_assert_not(read_signed(old, field, "sid", NULL));
    zzz_cookie_key_destroy(old);
    zzz_cookie_key_destroy(rotated);
    zzz_cookie_key_destroy(fresh);
}

Test(cookie, signed_values_are_checked)
{
    zzz_cookie_key *key = key_of(secret_a);
    cr_assert_eq(zzz_res_cookie_signed(&res_open, NULL, "a", "v", NULL), -EINVAL);
    cr_assert_eq(zzz_res_cookie_signed(&res_open, key, NULL, "v", NULL), -EINVAL);
    cr_assert_eq(zzz_res_cookie_signed(&res_open, key, "a", NULL, NULL), -EINVAL);
    cr_assert_eq(zzz_res_cookie_signed(&res_open, key, "a", "\"v\"", NULL), -EINVAL);
    cr_assert_eq(zzz_res_cookie_signed(&res_open, key, "a", "v;w", NULL), -EINVAL);
    cr_assert_eq(zzz_res_cookie_signed(&res_open, key, "a b", "v", NULL), -EINVAL);
    zzz_res sent = {.head_sent = true};
    cr_assert_eq(zzz_res_cookie_signed(&sent, key, "a", "v", NULL), -EALREADY);
    cr_assert_eq(lines_len, 0);
    /* The signature counts in the 4096 bytes of name and value. */
    static char value[5000];
    memset(value, 'v', sizeof value - 1);
    value[4096 - 1 - 44] = '\0';
    cr_assert_eq(zzz_res_cookie_signed(&res_open, key, "a", value, NULL), 0);
    value[4096 - 1 - 44] = 'v';
    value[4096 - 44] = '\0';
    cr_assert_eq(zzz_res_cookie_signed(&res_open, key, "a", value, NULL), -EINVAL);
    zzz_cookie_key_destroy(key);
}

#else

Test(cookie, signed_cookies_refuse_without_tls)
{
    zzz_cookie_key *key = (zzz_cookie_key *)&key;
    cr_assert_eq(zzz_cookie_key_create(&key, secret_a, strlen(secret_a)), -ENOTSUP);
    cr_assert_null(key);
    cr_assert_eq(zzz_cookie_key_accept(NULL, secret_a, strlen(secret_a)), -ENOTSUP);
    cr_assert_eq(zzz_res_cookie_signed(&res_open, NULL, "a", "v", NULL), -ENOTSUP);
    fake_req f;
    fake_init(&f);
    fake_cookie(&f, "a=v");
    cr_assert_not(zzz_req_cookie_signed(&f.req, NULL, "a", NULL));
    zzz_cookie_key_destroy(NULL);
}

Test(cookie, signed_round_trip)
{
    cr_skip_test("signed cookies need BearSSL, which this build (without TLS) lacks");
}

#endif
