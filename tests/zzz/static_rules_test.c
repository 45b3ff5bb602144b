/* Tests of the rules of serving a file (zzz/src/http/static_rules.c):
 * entity tags, HTTP-dates, If-None-Match, If-Range, Range and
 * Accept-Encoding; types by name are in mime_test.c, built into the same
 * program. Every input is copied into a heap buffer of exactly its
 * length, so a sanitizer build catches any read past the bytes given. */
#include "static_rules.h"

#include <criterion/criterion.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* An exact-size heap copy (malloc(0) may be NULL: give one byte then). */
static char *copy_of(const char *s, size_t len)
{
    char *p = malloc(len ? len : 1);
    cr_assert(p);
    memcpy(p, s, len);
    return p;
}

/* The next item of a list of cases separated by '|' (an item may be
 * empty) into item; false past the last one. */
static bool next_item(const char **list, char *item, size_t cap)
{
    if (*list == NULL)
        return false;
    const char *bar = strchr(*list, '|');
    size_t n = bar ? (size_t)(bar - *list) : strlen(*list);
    cr_assert_lt(n, cap);
    memcpy(item, *list, n);
    item[n] = '\0';
    *list = bar ? bar + 1 : NULL;
    return true;
}

static bool date_parse(const char *text, time_t *when)
{
    char *buf = copy_of(text, strlen(text));
    bool ok = zzz_http_date_parse(buf, strlen(text), when);
    free(buf);
    return ok;
}

static bool none_match(const char *field, const char *etag)
{
    char *buf = copy_of(field, strlen(field));
    bool ok = zzz_http_none_match(buf, strlen(field), etag);
    free(buf);
    return ok;
}

static bool if_match(const char *field, const char *etag)
{
    char *buf = copy_of(field, strlen(field));
    bool ok = zzz_http_if_match(buf, strlen(field), etag);
    free(buf);
    return ok;
}

static bool if_range(const char *field, const char *etag, time_t mtime)
{
    char *buf = copy_of(field, strlen(field));
    bool ok = zzz_http_if_range(buf, strlen(field), etag, mtime);
    free(buf);
    return ok;
}

static zzz_range_kind range(const char *field, uint64_t size, uint64_t *first, uint64_t *count)
{
    char *buf = copy_of(field, strlen(field));
    *first = *count = 0xdead;
    zzz_range_kind kind = zzz_http_range(buf, strlen(field), size, first, count);
    free(buf);
    return kind;
}

static bool accepts(const char *field, const char *coding)
{
    char *buf = copy_of(field, strlen(field));
    bool ok = zzz_http_accepts(buf, strlen(field), coding);
    free(buf);
    return ok;
}

/* ---- entity tags ---- */

Test(etag, format)
{
    char buf[ZZZ_ETAG_MAX];
    size_t n = zzz_http_etag(buf, 0x1234, 0x10, 0x5f5e100, 5);
    cr_expect_str_eq(buf, "\"1234-10-5f5e100.5\"");
    cr_expect_eq(n, strlen(buf));
    n = zzz_http_etag(buf, 0, 0, 0, 0);
    cr_expect_str_eq(buf, "\"0-0-0.0\"");
    /* the largest fits, with room */
    n = zzz_http_etag(buf, UINT64_MAX, UINT64_MAX, -1, 999999999);
    cr_expect_str_eq(buf, "\"ffffffffffffffff-ffffffffffffffff-ffffffffffffffff.3b9ac9ff\"");
    cr_expect_eq(n, strlen(buf));
    cr_expect_lt(n, ZZZ_ETAG_MAX);
    /* nanoseconds out of range are read as 0 */
    zzz_http_etag(buf, 1, 2, 3, -7);
    cr_expect_str_eq(buf, "\"1-2-3.0\"");
    zzz_http_etag(buf, 1, 2, 3, 1000000000L);
    cr_expect_str_eq(buf, "\"1-2-3.0\"");
}

Test(etag, changes_with_each_input_and_matches_itself)
{
    char a[ZZZ_ETAG_MAX], b[ZZZ_ETAG_MAX];
    zzz_http_etag(a, 10, 20, 30, 40);
    zzz_http_etag(b, 11, 20, 30, 40);
    cr_expect_str_neq(a, b);
    zzz_http_etag(b, 10, 21, 30, 40);
    cr_expect_str_neq(a, b);
    zzz_http_etag(b, 10, 20, 31, 40);
    cr_expect_str_neq(a, b);
    zzz_http_etag(b, 10, 20, 30, 41);
    cr_expect_str_neq(a, b);
    /* strong, and well-formed for both conditions */
    cr_expect(a[0] == '"' && a[strlen(a) - 1] == '"');
    cr_expect(none_match(a, a));
    cr_expect(if_range(a, a, 0));
}

/* ---- HTTP-dates ---- */

Test(date, format)
{
    char buf[30];
    cr_expect_eq(zzz_http_date_format(buf, 0), 29);
    cr_expect_str_eq(buf, "Thu, 01 Jan 1970 00:00:00 GMT");
    zzz_http_date_format(buf, 784111777);
    cr_expect_str_eq(buf, "Sun, 06 Nov 1994 08:49:37 GMT");
    zzz_http_date_format(buf, 951782400);
    cr_expect_str_eq(buf, "Tue, 29 Feb 2000 00:00:00 GMT");
    zzz_http_date_format(buf, 1483228799);
    cr_expect_str_eq(buf, "Sat, 31 Dec 2016 23:59:59 GMT");
    zzz_http_date_format(buf, -1);
    cr_expect_str_eq(buf, "Wed, 31 Dec 1969 23:59:59 GMT");
    /* clamped to four-digit years, still 29 bytes */
    cr_expect_eq(zzz_http_date_format(buf, (time_t)INT64_C(253402300799)), 29);
    cr_expect_str_eq(buf, "Fri, 31 Dec 9999 23:59:59 GMT");
    cr_expect_eq(zzz_http_date_format(buf, (time_t)INT64_C(253402300800)), 29);
    cr_expect_str_eq(buf, "Fri, 31 Dec 9999 23:59:59 GMT");
    cr_expect_eq(zzz_http_date_format(buf, (time_t)INT64_MAX), 29);
    cr_expect_str_eq(buf, "Fri, 31 Dec 9999 23:59:59 GMT");
    cr_expect_eq(zzz_http_date_format(buf, (time_t)INT64_MIN), 29);
    cr_expect_str_eq(buf, "Sat, 01 Jan 0000 00:00:00 GMT");
}

Test(date, round_trip)
{
    char buf[30];
    uint64_t seed = 0x9e3779b97f4a7c15u;
    for (int i = 0; i < 20000; i++) {
        seed = seed * 6364136223846793005u + 1442695040888963407u;
        /* anywhere from year 0 to 9999 */
        int64_t t = INT64_C(-62167219200) + (int64_t)((seed >> 11) % UINT64_C(315569520000));
        cr_assert_eq(zzz_http_date_format(buf, (time_t)t), 29);
        time_t back;
        cr_assert(date_parse(buf, &back), "%s", buf);
        cr_assert_eq((int64_t)back, t, "%s", buf);
    }
}

Test(date, three_forms)
{
    time_t when;
    cr_expect(date_parse("Sun, 06 Nov 1994 08:49:37 GMT", &when));
    cr_expect_eq(when, 784111777);
    cr_expect(date_parse("Sunday, 06-Nov-94 08:49:37 GMT", &when));
    cr_expect_eq(when, 784111777);
    cr_expect(date_parse("Sun Nov  6 08:49:37 1994", &when));
    cr_expect_eq(when, 784111777);
    cr_expect(date_parse("Sun Nov 06 08:49:37 1994", &when));
    cr_expect_eq(when, 784111777);
    cr_expect(date_parse("Tue Feb 29 00:00:00 2000", &when));
    cr_expect_eq(when, 951782400);
    /* every long day name has its own length */
    static const char *const days[] = {"Monday", "Tuesday",  "Wednesday", "Thursday",
                                       "Friday", "Saturday", "Sunday"};
    for (size_t i = 0; i < 7; i++) {
        char text[40];
        snprintf(text, sizeof text, "%s, 06-Nov-94 08:49:37 GMT", days[i]);
        cr_expect(date_parse(text, &when), "%s", text);
        cr_expect_eq(when, 784111777);
    }
    /* the day name is checked for form, not against the date */
    cr_expect(date_parse("Mon, 06 Nov 1994 08:49:37 GMT", &when));
    cr_expect_eq(when, 784111777);
    /* a leap second is within the grammar's range */
    cr_expect(date_parse("Sat, 31 Dec 2016 23:59:60 GMT", &when));
    cr_expect_eq(when, 1483228800);
    /* ... but not the one that would carry into the year 10000, which no
     * date we send can write (found by fuzzing) */
    cr_expect(!date_parse("Fri, 31 Dec 9999 23:59:60 GMT", &when));
    cr_expect(date_parse("Fri, 31 Dec 9999 23:59:59 GMT", &when));
}

/* RFC 850's two-digit year: more than 50 years ahead is the past century. */
Test(date, rfc850_century)
{
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    int this_year = tm.tm_year + 1900;
    for (int yy = 0; yy < 100; yy++) {
        char text[40];
        snprintf(text, sizeof text, "Friday, 01-Jan-%02d 00:00:00 GMT", yy);
        time_t when;
        cr_assert(date_parse(text, &when), "%s", text);
        struct tm got;
        gmtime_r(&when, &got);
        int year = got.tm_year + 1900;
        cr_expect_eq(year % 100, yy, "%s", text);
        cr_expect(year <= this_year + 50 && year > this_year - 50, "%s: %d", text, year);
    }
    time_t when;
    cr_expect(date_parse("Sunday, 06-Nov-94 08:49:37 GMT", &when));
    cr_expect_eq(when, 784111777);
}

Test(date, rejects)
{
    /* cases, each between bars */
    static const char bad[] = "|Sun, 06 Nov 1994 08:49:37 UTC|"
                              "Sun, 06 Nov 1994 08:49:37 gmt|sun, 06 Nov 1994 08:49:37 GMT|"
                              "Sux, 06 Nov 1994 08:49:37 GMT|Sun, 06 nov 1994 08:49:37 GMT|"
                              "Sun, 06 Xyz 1994 08:49:37 GMT|Sun, 6 Nov 1994 08:49:37 GMT|"
                              "Sun, 06 Nov 94 08:49:37 GMT|Sun,  06 Nov 1994 08:49:37 GMT|"
                              "Sun, 06 Nov 1994 08:49:37 GMT | Sun, 06 Nov 1994 08:49:37 GMT|"
                              "Sun, 06 Nov 1994 08:49:37|Sun, 06 Nov 1994 8:49:37 GMT|"
                              "Sun, 06 Nov 1994 08.49.37 GMT|Sun, 00 Nov 1994 08:49:37 GMT|"
                              "Sun, 31 Nov 1994 08:49:37 GMT|Sun, 32 Jan 1994 08:49:37 GMT|"
                              "Sun, 30 Feb 2000 00:00:00 GMT|Sun, 29 Feb 2019 00:00:00 GMT|"
                              "Sun, 29 Feb 1900 00:00:00 GMT|Sun, 06 Nov 1994 24:00:00 GMT|"
                              "Sun, 06 Nov 1994 08:60:00 GMT|Sun, 06 Nov 1994 08:49:61 GMT|"
                              "Sun, 06 Nov 1994 08:49:-1 GMT|Sun, 06 Nov +994 08:49:37 GMT|"
                              "Sun, 0x Nov 1994 08:49:37 GMT|Sun, 06 Nov 1994 08:49:3a GMT|"
                              "Sunday, 06 Nov 1994 08:49:37 GMT|Sun, 06-Nov-94 08:49:37 GMT|"
                              "Sunday, 06-Nov-1994 08:49:37 GMT|Sunday, 06-Nov-94 08:49:37 UTC|"
                              "Sunday,06-Nov-94 08:49:37 GMT |Sunday, 06 Nov 94 08:49:37 GMT|"
                              "sunday, 06-Nov-94 08:49:37 GMT|Sun Nov 6 08:49:37 1994|"
                              "Sun Nov  6 08:49:37 94|Sun Nov  6 08:49:37 1994 |"
                              "Sun Nov  0 08:49:37 1994|Sun Nov 31 08:49:37 1994|"
                              "Sun Nov  6 08:49:37 1994 GMT|Sun Nov  6 08:49:37  994|"
                              "Sun, Nov  6 08:49:37 1994|Sun Nov \t6 08:49:37 1994|"
                              "1994-11-06T08:49:37Z|784111777|"
                              "Sun, 06 Nov 1994 08:49:37 GMTSun, 06 Nov 1994 08:49:37 GMT";
    char item[80];
    size_t checked = 0;
    for (const char *list = bad; next_item(&list, item, sizeof item); checked++) {
        time_t when = 12345;
        cr_expect_not(date_parse(item, &when), "\"%s\"", item);
    }
    cr_expect_eq(checked, 47);
    time_t when;
    cr_expect_not(zzz_http_date_parse("Sun, 06 Nov 1994 08:49:37 G\0T", 29, &when));
    cr_expect_not(zzz_http_date_parse(NULL, 0, &when));
    /* leap years that are: */
    cr_expect(date_parse("Sun, 29 Feb 2000 00:00:00 GMT", &when));
    cr_expect(date_parse("Sun, 29 Feb 2024 00:00:00 GMT", &when));
    cr_expect(date_parse("Sun, 29 Feb 2400 00:00:00 GMT", &when));
}

/* ---- If-None-Match ---- */

Test(none_match, rules)
{
    const char *tag = "\"abc\"";
    cr_expect(none_match("\"abc\"", tag));
    cr_expect(none_match("W/\"abc\"", tag)); /* weak comparison */
    cr_expect(none_match("\"abc\"", "W/\"abc\""));
    cr_expect(none_match("W/\"abc\"", "W/\"abc\""));
    cr_expect(none_match("\"x\", \"abc\"", tag));
    cr_expect(none_match("\"x\",\"abc\"", tag));
    cr_expect(none_match("\"x\" \t,\t W/\"abc\" , \"y\"", tag));
    cr_expect(none_match(", ,\"abc\",,", tag)); /* empty elements */
    cr_expect(none_match("  \"abc\"  ", tag));
    cr_expect(none_match("*", tag));
    cr_expect(none_match(" * ", tag));
    cr_expect(none_match("*", "\"other\""));
    cr_expect(none_match("\"\"", "\"\""));
    cr_expect(none_match("\"a\\b\"", "\"a\\b\""));
    cr_expect(none_match("\"\xe9t\xe9\"", "\"\xe9t\xe9\""));
    cr_expect(none_match("\"a!#~\"", "\"a!#~\""));
    /* no match */
    cr_expect_not(none_match("\"abd\"", tag));
    cr_expect_not(none_match("\"ABC\"", tag)); /* opaque tags are case-sensitive */
    cr_expect_not(none_match("\"ab\"", tag));
    cr_expect_not(none_match("\"abcd\"", tag));
    cr_expect_not(none_match("", tag));
    cr_expect_not(none_match(",, ,", tag));
    /* malformed: nothing matches, even a listed tag */
    static const char *const bad[] = {"abc",           "\"abc",      "abc\"",      "\"abc\" \"x\"",
                                      "\"abc\"x",      "w/\"abc\"",  "W\"abc\"",   "W/ \"abc\"",
                                      "W/abc",         "\"abc\", x", "x, \"abc\"", "\"abc\";q=1",
                                      "*, \"abc\"",    "\"abc\", *", "**",         "\"a b\"",
                                      "\"a\x01\"",     "\"a\x7f\"",  "'abc'",      "\"abc\"\"\"",
                                      "\"abc\",\"x\"x"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        cr_expect_not(none_match(bad[i], tag), "%s", bad[i]);
    cr_expect_not(zzz_http_none_match("\"abc\"\0", 6, tag));
    cr_expect_not(zzz_http_none_match(NULL, 0, tag));
    cr_expect_not(none_match("\"abc\"", NULL));
    cr_expect_not(none_match("\"abc\"", "abc")); /* our own tag must be well-formed */
}

/* If-Match compares strongly: a weak tag on either side never matches. */
Test(if_match, rules)
{
    const char *tag = "\"abc\"";
    cr_expect(if_match("\"abc\"", tag));
    cr_expect(if_match("\"x\", \"abc\"", tag));
    cr_expect(if_match(", \"abc\" ,", tag));
    cr_expect(if_match("*", tag));
    cr_expect(if_match(" * ", "W/\"abc\""));
    cr_expect_not(if_match("W/\"abc\"", tag));
    cr_expect_not(if_match("\"abc\"", "W/\"abc\""));
    cr_expect_not(if_match("W/\"abc\"", "W/\"abc\""));
    cr_expect_not(if_match("\"abd\"", tag));
    cr_expect_not(if_match("", tag));
    cr_expect_not(if_match("\"abc\" x", tag)); /* malformed: fails */
    cr_expect_not(if_match("*, \"abc\"", tag));
    cr_expect_not(zzz_http_if_match(NULL, 0, tag));
}

/* ---- If-Range ---- */

Test(if_range, rules)
{
    const char *tag = "\"v1\"";
    time_t mtime = 784111777;
    cr_expect(if_range("\"v1\"", tag, mtime));
    cr_expect(if_range(" \"v1\" ", tag, mtime));
    cr_expect_not(if_range("W/\"v1\"", tag, mtime));      /* a weak tag never */
    cr_expect_not(if_range("\"v1\"", "W/\"v1\"", mtime)); /* nor a weak own tag */
    cr_expect_not(if_range("\"v2\"", tag, mtime));
    cr_expect_not(if_range("\"V1\"", tag, mtime));
    cr_expect_not(if_range("\"v1\", \"v2\"", tag, mtime)); /* one tag, not a list */
    cr_expect_not(if_range("\"v1", tag, mtime));
    cr_expect_not(if_range("\"v1\"x", tag, mtime));
    cr_expect_not(if_range("*", tag, mtime));
    cr_expect_not(if_range("", tag, mtime));
    cr_expect_not(if_range("\"v1\"", NULL, mtime));
    /* dates: exactly the modification time */
    cr_expect(if_range("Sun, 06 Nov 1994 08:49:37 GMT", tag, mtime));
    cr_expect(if_range("Sunday, 06-Nov-94 08:49:37 GMT", tag, mtime));
    cr_expect(if_range("Sun Nov  6 08:49:37 1994", tag, mtime));
    cr_expect_not(if_range("Sun, 06 Nov 1994 08:49:36 GMT", tag, mtime));
    cr_expect_not(if_range("Sun, 06 Nov 1994 08:49:38 GMT", tag, mtime));
    cr_expect_not(if_range("Sun, 06 Nov 1994 08:49:37 XYZ", tag, mtime));
    /* a date may start with 'W' and is still a date */
    cr_expect(if_range("Wed, 31 Dec 1969 23:59:59 GMT", tag, -1));
    cr_expect(if_range("Wed Dec 31 23:59:59 1969", tag, -1));
    cr_expect(if_range("Wednesday, 06-Nov-02 08:49:37 GMT", tag, 1036572577));
    cr_expect_not(if_range("Wed, 31 Dec 1969 23:59:59 GMT", tag, 0));
    cr_expect_not(zzz_http_if_range(NULL, 0, tag, mtime));
}

/* ---- Range ---- */

#define EXPECT_ONE(field, size, want_first, want_count)                                            \
    do {                                                                                           \
        uint64_t f_, c_;                                                                           \
        cr_expect_eq(range(field, size, &f_, &c_), ZZZ_RANGE_ONE, "\"%s\"", field);                \
        cr_expect(f_ == (want_first) && c_ == (want_count),                                        \
                  "\"%s\": %" PRIu64 "+%" PRIu64 ", not %" PRIu64 "+%" PRIu64, field, f_, c_,      \
                  (uint64_t)(want_first), (uint64_t)(want_count));                                 \
    } while (0)

#define EXPECT_KIND(field, size, kind)                                                             \
    do {                                                                                           \
        uint64_t f_, c_;                                                                           \
        cr_expect_eq(range(field, size, &f_, &c_), kind, "\"%s\" (size %" PRIu64 ")", field,       \
                     (uint64_t)(size));                                                            \
    } while (0)

Test(range, single)
{
    EXPECT_ONE("bytes=0-499", 1000, 0, 500);
    EXPECT_ONE("bytes=500-999", 1000, 500, 500);
    EXPECT_ONE("bytes=500-", 1000, 500, 500);
    EXPECT_ONE("bytes=-200", 1000, 800, 200);
    EXPECT_ONE("bytes=-1000", 1000, 0, 1000);
    EXPECT_ONE("bytes=-5000", 1000, 0, 1000);
    EXPECT_ONE("bytes=0-0", 1000, 0, 1);
    EXPECT_ONE("bytes=999-", 1000, 999, 1);
    EXPECT_ONE("bytes=999-999", 1000, 999, 1);
    EXPECT_ONE("bytes=0-5000", 1000, 0, 1000); /* clipped */
    EXPECT_ONE("bytes=0-", 1, 0, 1);
    EXPECT_ONE("bytes=-1", 1, 0, 1);
    EXPECT_ONE("bytes=007-008", 1000, 7, 2);
    EXPECT_ONE("BYTES=0-1", 1000, 0, 2); /* the unit is case-insensitive */
    EXPECT_ONE("Bytes=0-1", 1000, 0, 2);
    EXPECT_ONE(" bytes=0-1 \t", 1000, 0, 2);
    EXPECT_ONE("bytes=0-1,", 1000, 0, 2);
    EXPECT_ONE("bytes=,0-1", 1000, 0, 2);
    EXPECT_ONE("bytes=0-1 , ", 1000, 0, 2);
}

Test(range, unsatisfiable)
{
    EXPECT_KIND("bytes=1000-", 1000, ZZZ_RANGE_UNSATISFIABLE);
    EXPECT_KIND("bytes=1000-2000", 1000, ZZZ_RANGE_UNSATISFIABLE);
    EXPECT_KIND("bytes=-0", 1000, ZZZ_RANGE_UNSATISFIABLE);
    EXPECT_KIND("bytes=-000", 1000, ZZZ_RANGE_UNSATISFIABLE);
    EXPECT_KIND("bytes=2000-,3000-3001,-0", 1000, ZZZ_RANGE_UNSATISFIABLE);
    EXPECT_KIND("bytes=9999999999999999999-", 1000, ZZZ_RANGE_UNSATISFIABLE);
    /* an empty file: no byte range fits; a nonzero suffix is satisfiable
     * by the RFC's letter but empty, so it is answered whole */
    EXPECT_KIND("bytes=0-", 0, ZZZ_RANGE_UNSATISFIABLE);
    EXPECT_KIND("bytes=0-0", 0, ZZZ_RANGE_UNSATISFIABLE);
    EXPECT_KIND("bytes=-0", 0, ZZZ_RANGE_UNSATISFIABLE);
    EXPECT_KIND("bytes=-1", 0, ZZZ_RANGE_NONE);
    EXPECT_KIND("bytes=0-1,-5", 0, ZZZ_RANGE_NONE);
}

Test(range, many_and_coalesced)
{
    EXPECT_KIND("bytes=0-1,5-6", 1000, ZZZ_RANGE_MANY);
    EXPECT_KIND("bytes=0-1, 5-6", 1000, ZZZ_RANGE_MANY);
    EXPECT_KIND("bytes=0-1 ,\t5-6", 1000, ZZZ_RANGE_MANY);
    EXPECT_KIND("bytes=0-0,-1", 1000, ZZZ_RANGE_MANY);
    EXPECT_KIND("bytes=500-600,0-1,-1", 1000, ZZZ_RANGE_MANY);
    /* overlapping or touching parts are one part */
    EXPECT_ONE("bytes=0-10,5-20", 1000, 0, 21);
    EXPECT_ONE("bytes=0-9,10-19", 1000, 0, 20);
    EXPECT_ONE("bytes=10-19,0-9", 1000, 0, 20);
    EXPECT_ONE("bytes=0-499,-600", 1000, 0, 1000);
    EXPECT_ONE("bytes=0-0,-1", 1, 0, 1);
    EXPECT_ONE("bytes=5-5,5-5,5-5", 1000, 5, 1);
    EXPECT_ONE("bytes=0-,100-200", 1000, 0, 1000);
    /* only the satisfiable parts count */
    EXPECT_ONE("bytes=0-1,2000-3000", 1000, 0, 2);
    EXPECT_ONE("bytes=-0,5-6", 1000, 5, 2);
    EXPECT_ONE("bytes=0-1,,2-3", 1000, 0, 4);
}

Test(range, invalid)
{
    /* cases, each between bars */
    static const char bad[] =
        "|bytes|bytes=|bytes=,|bytes= 0-1|bytes =0-1|bytes:0-1|items=0-1|byte=0-1|"
        "bytesx=0-1|bytes=5-4|bytes=abc|bytes=0|bytes=-|bytes=--1|bytes=0--1|bytes=1-2-3|"
        "bytes=+1-2|bytes=0x1-2|bytes=0-1;|bytes=0 -1|bytes=0- 1|bytes=- 1|bytes=0-1 2-3|"
        "bytes=0-1,x|bytes=0-1,5-4|bytes=0-1,-|bytes=1.5-2|bytes=0-1\r\n|bytes=\xff-1|"
        "bytes==0-1|bytes=0-1=";
    char item[80];
    size_t checked = 0;
    for (const char *list = bad; next_item(&list, item, sizeof item); checked++)
        EXPECT_KIND(item, 1000, ZZZ_RANGE_NONE);
    cr_expect_eq(checked, 32);
    uint64_t f, c;
    cr_expect_eq(zzz_http_range(NULL, 0, 1000, &f, &c), ZZZ_RANGE_NONE);
    cr_expect_eq(zzz_http_range("bytes=0-1\0", 10, 1000, &f, &c), ZZZ_RANGE_NONE);
}

Test(range, overflow)
{
    /* Any number of digits is read; a value past 2^64 - 1 is past the
     * end: the rest of the file as a last-pos or suffix, unsatisfiable as
     * a first-pos. */
    EXPECT_ONE("bytes=0-9999999999999999999", 1000, 0, 1000);
    EXPECT_ONE("bytes=-9999999999999999999", 1000, 0, 1000);
    EXPECT_ONE("bytes=0000000000000000001-", 1000, 1, 999);
    EXPECT_ONE("bytes=0-99999999999999999999", 1000, 0, 1000);
    EXPECT_ONE("bytes=5-18446744073709551615", 1000, 5, 995);
    EXPECT_ONE("bytes=5-18446744073709551616", 1000, 5, 995);
    EXPECT_ONE("bytes=-18446744073709551617", 1000, 0, 1000);
    EXPECT_ONE("bytes=00000000000000000000-1", 1000, 0, 2);
    EXPECT_ONE("bytes=000000000000000000000000000000000000000000999-", 1000, 999, 1);
    EXPECT_ONE("bytes=990-999999999999999999999999999999999999999999999", 1000, 990, 10);
    EXPECT_KIND("bytes=18446744073709551615-", 1000, ZZZ_RANGE_UNSATISFIABLE);
    EXPECT_KIND("bytes=18446744073709551616-", 1000, ZZZ_RANGE_UNSATISFIABLE);
    EXPECT_KIND("bytes=99999999999999999999999999999999999999-", 1000, ZZZ_RANGE_UNSATISFIABLE);
    /* first-pos past last-pos is invalid, however large both are */
    EXPECT_KIND("bytes=99999999999999999999999999999999999999-1", 1000, ZZZ_RANGE_NONE);
    EXPECT_KIND("bytes=18446744073709551616-18446744073709551615", 1000, ZZZ_RANGE_NONE);
    EXPECT_KIND("bytes=99999999999999999999-18446744073709551616", 1000, ZZZ_RANGE_NONE);
    EXPECT_KIND("bytes=0-1,20000000000000000000-19999999999999999999", 1000, ZZZ_RANGE_NONE);
    EXPECT_KIND("bytes=0020-19", 1000, ZZZ_RANGE_NONE);
    EXPECT_ONE("bytes=0019-00020", 1000, 19, 2);
    EXPECT_KIND("bytes=20000000000000000000-20000000000000000000", 1000, ZZZ_RANGE_UNSATISFIABLE);
    EXPECT_KIND("bytes=0-1,99999999999999999999-", 1000, ZZZ_RANGE_ONE);
    /* files at the edge of 64 bits */
    EXPECT_ONE("bytes=-1", UINT64_MAX, UINT64_MAX - 1, 1);
    EXPECT_ONE("bytes=9999999999999999998-", UINT64_MAX, UINT64_C(9999999999999999998),
               UINT64_MAX - UINT64_C(9999999999999999998));
    EXPECT_ONE("bytes=0-9999999999999999999", UINT64_MAX, 0, UINT64_C(10000000000000000000));
    EXPECT_ONE("bytes=1-", UINT64_MAX, 1, UINT64_MAX - 1);
    EXPECT_ONE("bytes=18446744073709551614-99999999999999999999999", UINT64_MAX, UINT64_MAX - 1, 1);
    EXPECT_ONE("bytes=-99999999999999999999999", UINT64_MAX, 0, UINT64_MAX);
}

Test(range, element_limit)
{
    char field[512] = "bytes=";
    for (int i = 0; i < 16; i++) {
        char part[24];
        snprintf(part, sizeof part, "%s%d-%d", i ? "," : "", i * 10, i * 10 + 1);
        strcat(field, part);
    }
    EXPECT_KIND(field, 1000, ZZZ_RANGE_MANY);
    strcat(field, ",,, ,"); /* empty elements are not ranges */
    EXPECT_KIND(field, 1000, ZZZ_RANGE_MANY);
    strcat(field, "500-501");
    EXPECT_KIND(field, 1000, ZZZ_RANGE_NONE);
    /* 17 copies of one part: still more than 16 */
    strcpy(field, "bytes=0-0");
    for (int i = 0; i < 16; i++)
        strcat(field, ",0-0");
    EXPECT_KIND(field, 1000, ZZZ_RANGE_NONE);
    /* a long run of commas with one range */
    memset(field, ',', sizeof field - 1);
    memcpy(field, "bytes=", 6);
    field[sizeof field - 1] = '\0';
    memcpy(field + 100, "3-4", 3);
    EXPECT_ONE(field, 1000, 3, 2);
}

/* ---- Accept-Encoding ---- */

Test(accepts, names_and_weights)
{
    cr_expect(accepts("gzip", "gzip"));
    cr_expect_not(accepts("gzip", "br"));
    cr_expect(accepts("gzip, deflate, br", "br"));
    cr_expect(accepts("gzip,br", "br"));
    cr_expect(accepts("GZIP", "gzip")); /* codings are case-insensitive */
    cr_expect(accepts("gzip", "GZip"));
    cr_expect(accepts("br;q=1", "br"));
    cr_expect(accepts("br;q=1.", "br"));
    cr_expect(accepts("br;q=1.000", "br"));
    cr_expect(accepts("br;q=0.001", "br"));
    cr_expect(accepts("br;q=0.5", "br"));
    cr_expect(accepts("br;Q=0.5", "br"));
    cr_expect(accepts("br ; q=0.5", "br"));
    cr_expect(accepts("br\t;\tq=0.5 ,gzip", "br"));
    cr_expect_not(accepts("br;q=0", "br"));
    cr_expect_not(accepts("br;q=0.", "br"));
    cr_expect_not(accepts("br;q=0.0", "br"));
    cr_expect_not(accepts("br;q=0.000", "br"));
    cr_expect(accepts("br;q=0, gzip", "gzip"));
    cr_expect_not(accepts("br;q=0, br", "br")); /* the first listing counts */
    cr_expect(accepts("br, br;q=0", "br"));
    cr_expect(accepts("x-gzip", "gzip")); /* RFC 9110 8.4.1.3 */
    cr_expect(accepts("gzip", "x-gzip"));
    cr_expect(accepts("X-Compress", "compress"));
    cr_expect_not(accepts("x-br", "br"));
    cr_expect_not(accepts("brotli", "br"));
    cr_expect_not(accepts("b", "br"));
    cr_expect_not(accepts("gzipx", "gzip"));
    cr_expect(accepts(",, br ,,", "br"));
}

Test(accepts, star_and_identity)
{
    cr_expect(accepts("*", "br"));
    cr_expect(accepts("*", "gzip"));
    cr_expect(accepts("*;q=0.1", "br"));
    cr_expect_not(accepts("*;q=0", "br"));
    cr_expect(accepts("*, br;q=0", "gzip"));
    cr_expect_not(accepts("*, br;q=0", "br")); /* a name beats "*" */
    cr_expect_not(accepts("br;q=0, *", "br"));
    cr_expect(accepts("*;q=0, br", "br"));
    /* identity: acceptable unless excluded */
    cr_expect(accepts("gzip", "identity"));
    cr_expect(accepts("", "identity"));
    cr_expect_not(accepts("", "gzip")); /* an empty field asks for no coding */
    cr_expect_not(accepts("identity;q=0", "identity"));
    cr_expect_not(accepts("*;q=0", "identity"));
    cr_expect(accepts("*;q=0, identity", "identity"));
    cr_expect(accepts("*;q=0, identity;q=0.5", "identity"));
    cr_expect(accepts("IDENTITY", "identity"));
    cr_expect(zzz_http_accepts(NULL, 0, "identity"));
    cr_expect_not(zzz_http_accepts(NULL, 0, "gzip"));
    cr_expect_not(accepts("gzip", NULL));
}

Test(accepts, malformed_members_skipped)
{
    static const char *const bad[] = {
        "br;q=2", "br;q=1.001", "br;q=1.5",  "br;q=0.5000",  "br;q=.5",    "br;q=",  "br;q",
        "br;",    "br;q = 0.5", "br;q= 0.5", "br;q=0.5;x=1", "br;level=1", "br q=1", "br br",
        "\"br\"", "br;q=-1",    "br;q=0x1",  "br;q=1e0",     "br;qq=1",    "b\x01r", "br;q=0.5x",
        ";q=1",   "br\"",       "br/1",      "br;q=1;"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cr_expect_not(accepts(bad[i], "br"), "%s", bad[i]);
        /* a good member after it still counts */
        char field[64];
        snprintf(field, sizeof field, "%s, gzip;q=0.3", bad[i]);
        cr_expect(accepts(field, "gzip"), "%s", field);
    }
    /* a malformed listing does not shadow a good one */
    cr_expect(accepts("br;q=2, br", "br"));
    cr_expect_not(accepts("br;q=2, br;q=0", "br"));
    cr_expect(accepts("gzip;q=abc, br", "br"));
    cr_expect_not(zzz_http_accepts("br\0", 3, "br"));
    cr_expect(zzz_http_accepts("br, gzip", 2, "br")); /* only len bytes */
    cr_expect_not(zzz_http_accepts("br, gzip", 2, "gzip"));
}
