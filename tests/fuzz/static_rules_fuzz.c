/* libFuzzer target for the rules a file server applies to a request's
 * fields (zzz/src/http/static_rules.c, mime.c): Range, If-Match,
 * If-None-Match, If-Range, HTTP-dates and Accept-Encoding. The input's
 * first 8 bytes pick a file size (a small one, so a range can be checked
 * byte by byte, or any 64-bit one), the rest is the field's value, given
 * to every reader as an exact-size heap copy. Checked, beyond no crash:
 *  - Range against a reference written here that marks the bytes each
 *    range covers: the same kind, and for ONE the same span, inside the
 *    file (first + count <= size, count > 0, no overflow);
 *  - a strong match (If-Match) is also a weak one (If-None-Match), and
 *    an If-Range tag that applies matches If-Match too;
 *  - a date that parses formats back to the same text (IMF-fixdate, but
 *    for the day name, which is not checked against the date), and
 *    If-Range holding it applies for exactly that time;
 *  - Accept-Encoding reads gzip, GZIP and x-gzip alike;
 *  - a size and a time from the input give an entity tag that matches
 *    itself, and a date that parses back to the time it was made from. */
#include "static_rules.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Not assert(): release builds define NDEBUG, and a fuzzer must never stop
 * checking. */
#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "static_rules_fuzz: %s:%d: check failed: %s\n", __FILE__, __LINE__,    \
                    #cond);                                                                        \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

#define SMALL 64 /* files this small are checked byte by byte */

/* ---- the Range reference ---------------------------------------------------- */

static bool ows(uint8_t c)
{
    return c == ' ' || c == '\t';
}

/* A number as written, as decimal text without its leading zeros (zero
 * is empty): compared as text, so no value is too large. */
typedef struct ref_num {
    const uint8_t *d;
    size_t n;
} ref_num;

/* digits at s[*i..n), any number of them; false for none. */
static bool ref_number(const uint8_t *s, size_t n, size_t *i, ref_num *v)
{
    size_t start = *i;
    while (*i < n && s[*i] == '0')
        (*i)++;
    v->d = s + *i;
    while (*i < n && s[*i] >= '0' && s[*i] <= '9')
        (*i)++;
    v->n = (size_t)(s + *i - v->d);
    return *i > start;
}

/* x against y: below 0, 0 or above 0. */
static int ref_cmp(ref_num x, ref_num y)
{
    if (x.n != y.n)
        return x.n < y.n ? -1 : 1;
    return x.n ? memcmp(x.d, y.d, x.n) : 0;
}

/* v as decimal text in buf. */
static ref_num ref_of(uint64_t v, char buf[24])
{
    int len = snprintf(buf, 24, "%llu", (unsigned long long)v);
    return (ref_num){(const uint8_t *)buf, v == 0 ? 0 : (size_t)len};
}

/* The value of a number below 2^64. */
static uint64_t ref_value(ref_num x)
{
    uint64_t v = 0;
    for (size_t k = 0; k < x.n; k++)
        v = v * 10 + (uint64_t)(x.d[k] - '0');
    return v;
}

/* The kind of s as a Range for a file of `size` bytes; for a small
 * size, the bytes covered are marked in `covered`. */
static zzz_range_kind ref_range(const uint8_t *s, size_t n, uint64_t size, bool *covered)
{
    size_t b = 0, e = n;
    while (b < e && ows(s[b]))
        b++;
    while (e > b && ows(s[e - 1]))
        e--;
    if (e - b < 6 || s[b + 5] != '=')
        return ZZZ_RANGE_NONE;
    static const char unit[] = "bytes";
    for (int k = 0; k < 5; k++) {
        uint8_t c = s[b + (size_t)k];
        if (c >= 'A' && c <= 'Z')
            c = (uint8_t)(c + 32);
        if (c != (uint8_t)unit[k])
            return ZZZ_RANGE_NONE;
    }
    size_t i = b + 6;
    int specs = 0;
    bool any = false, empty_suffix = false;
    uint64_t lo = UINT64_MAX, hi = 0; /* the span of all, for big files */
    int parts = 0;
    uint64_t pf[17], pe[17];
    while (i < e) {
        if (s[i] == ',') {
            i++;
            while (i < e && ows(s[i]))
                i++;
            continue;
        }
        if (++specs > 16)
            return ZZZ_RANGE_NONE;
        uint64_t first = 0, end = 0;
        bool sat;
        char sbuf[24], lbuf[24];
        ref_num size_n = ref_of(size, sbuf);
        if (s[i] == '-') {
            i++;
            ref_num len;
            if (!ref_number(s, e, &i, &len))
                return ZZZ_RANGE_NONE;
            sat = len.n > 0 && size > 0;
            if (len.n > 0 && size == 0)
                empty_suffix = true;
            first = ref_cmp(len, size_n) >= 0 ? 0 : size - ref_value(len);
            end = size;
        } else {
            ref_num a, z = {0};
            bool has_z = false;
            if (!ref_number(s, e, &i, &a) || i >= e || s[i] != '-')
                return ZZZ_RANGE_NONE;
            i++;
            if (i < e && s[i] >= '0' && s[i] <= '9') {
                if (!ref_number(s, e, &i, &z) || ref_cmp(a, z) > 0)
                    return ZZZ_RANGE_NONE;
                has_z = true;
            }
            sat = ref_cmp(a, size_n) < 0;
            if (sat) {
                first = ref_value(a);
                ref_num last_n = ref_of(size - 1, lbuf);
                end = !has_z || ref_cmp(z, last_n) >= 0 ? size : ref_value(z) + 1;
            }
        }
        while (i < e && ows(s[i]))
            i++;
        if (i < e && s[i] != ',')
            return ZZZ_RANGE_NONE;
        if (sat) {
            any = true;
            if (size <= SMALL)
                for (uint64_t k = first; k < end; k++)
                    covered[k] = true;
            lo = first < lo ? first : lo;
            hi = end > hi ? end : hi;
            pf[parts] = first;
            pe[parts] = end;
            parts++;
        }
    }
    if (specs == 0)
        return ZZZ_RANGE_NONE;
    if (!any)
        return empty_suffix ? ZZZ_RANGE_NONE : ZZZ_RANGE_UNSATISFIABLE;
    if (size <= SMALL) {
        /* one part when the covered bytes have no hole */
        for (uint64_t k = lo; k < hi; k++)
            if (!covered[k])
                return ZZZ_RANGE_MANY;
        return ZZZ_RANGE_ONE;
    }
    /* A big file: one part when every byte of [lo, hi) is in some part,
     * judged by sweeping the parts' ends from lo. */
    uint64_t reach = lo;
    bool grew = true;
    while (grew) {
        grew = false;
        for (int k = 0; k < parts; k++)
            if (pf[k] <= reach && pe[k] > reach) {
                reach = pe[k];
                grew = true;
            }
    }
    return reach >= hi ? ZZZ_RANGE_ONE : ZZZ_RANGE_MANY;
}

static void check_range(const char *field, size_t n, uint64_t size)
{
    static bool covered[SMALL];
    memset(covered, 0, sizeof covered);
    uint64_t first = 7, count = 9;
    zzz_range_kind kind = zzz_http_range(field, n, size, &first, &count);
    zzz_range_kind want = ref_range((const uint8_t *)field, n, size, covered);
    CHECK(kind == want);
    if (kind != ZZZ_RANGE_ONE) {
        CHECK(first == 7 && count == 9); /* left alone */
        return;
    }
    CHECK(count > 0 && first < size && count <= size - first);
    if (size <= SMALL) {
        for (uint64_t k = 0; k < size; k++)
            CHECK(covered[k] == (k >= first && k < first + count));
    }
}

/* ---- the others --------------------------------------------------------------- */

static const char *const tags[] = {"\"abc\"", "W/\"abc\"", "\"\"", "\"1-2-3.4\"", "bad", NULL};

static void check_conditions(const char *field, size_t n)
{
    for (size_t t = 0; t < sizeof tags / sizeof tags[0]; t++) {
        bool strong = zzz_http_if_match(field, n, tags[t]);
        bool weak = zzz_http_none_match(field, n, tags[t]);
        if (strong)
            CHECK(weak);
        /* An If-Range tag that applies is a strong match (a date, which
         * may apply too, holds no quote). */
        if (zzz_http_if_range(field, n, tags[t], 0) && memchr(field, '"', n))
            CHECK(strong);
    }
    CHECK(!zzz_http_if_match(NULL, 0, "\"abc\"") && !zzz_http_none_match(NULL, 0, "\"abc\""));
}

static void check_date(const char *field, size_t n)
{
    time_t when;
    if (!zzz_http_date_parse(field, n, &when))
        return;
    char again[32];
    CHECK(zzz_http_date_format(again, when) == 29);
    /* A leap second (":60") is carried into the next minute. */
    if (n == 29 && memcmp(field + 23, "60", 2) != 0)
        CHECK(memcmp(again + 3, field + 3, 26) == 0);
    time_t back;
    CHECK(zzz_http_date_parse(again, 29, &back) && back == when);
    CHECK(zzz_http_if_range(field, n, "\"t\"", when));
    CHECK(!zzz_http_if_range(field, n, "\"t\"", when + 1));
}

static void check_accepts(const char *field, size_t n)
{
    bool gzip = zzz_http_accepts(field, n, "gzip");
    CHECK(zzz_http_accepts(field, n, "GZIP") == gzip);
    CHECK(zzz_http_accepts(field, n, "x-gzip") == gzip);
    (void)zzz_http_accepts(field, n, "br");
    (void)zzz_http_accepts(field, n, "identity");
    CHECK(zzz_http_accepts(NULL, 0, "identity") && !zzz_http_accepts(NULL, 0, "gzip"));
}

/* What the server writes itself, from numbers the input picks. */
static void check_made(uint64_t a, uint64_t b)
{
    char etag[ZZZ_ETAG_MAX];
    size_t len = zzz_http_etag(etag, a, b, (int64_t)(a ^ b), (long)(b % 2000000000));
    CHECK(len <= 61 && strlen(etag) == len);
    CHECK(zzz_http_if_match(etag, len, etag) && zzz_http_none_match(etag, len, etag));
    CHECK(zzz_http_if_range(etag, len, etag, 0));
    /* A date within 0000..9999 parses back to itself. */
    int64_t t = (int64_t)(a % (UINT64_C(253402300799) + UINT64_C(62167219200))) -
                INT64_C(62167219200);
    char date[32];
    CHECK(zzz_http_date_format(date, (time_t)t) == 29);
    time_t back;
    CHECK(zzz_http_date_parse(date, 29, &back) && back == (time_t)t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 8 || size > 4096)
        return 0;
    uint64_t pick = 0;
    for (int i = 0; i < 8; i++)
        pick = pick << 8 | data[i];
    /* Half the inputs get a small file, checked byte by byte. */
    uint64_t file_size = (pick & 1) ? (pick >> 1) % (SMALL + 1) : pick >> 1;
    size_t n = size - 8;
    char *field = malloc(n ? n : 1);
    CHECK(field);
    memcpy(field, data + 8, n);

    check_range(field, n, file_size);
    check_range(field, n, pick); /* sizes up to 2^64 - 1 */
    check_conditions(field, n);
    check_date(field, n);
    check_accepts(field, n);
    const char *type = zzz_http_mime_type(field, n, NULL);
    CHECK(type && strchr(type, '/'));
    check_made(pick, n);

    free(field);
    return 0;
}
