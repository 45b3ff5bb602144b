/* zzz_str helpers (zzz.h): comparisons and decimal integers, for values
 * that point into a request and are not NUL-terminated. */
#include "zzz.h"

#include <errno.h>
#include <string.h>

bool zzz_str_eq(zzz_str s, const char *text)
{
    if (!text)
        return false;
    size_t len = strlen(text);
    return len == s.len && (len == 0 || memcmp(s.ptr, text, len) == 0);
}

static unsigned char ascii_lower(unsigned char c)
{
    return c >= 'A' && c <= 'Z' ? (unsigned char)(c + ('a' - 'A')) : c;
}

bool zzz_str_eq_nocase(zzz_str s, const char *text)
{
    if (!text)
        return false;
    size_t i = 0;
    for (; i < s.len && text[i]; i++)
        if (ascii_lower((unsigned char)s.ptr[i]) != ascii_lower((unsigned char)text[i]))
            return false;
    return i == s.len && text[i] == '\0';
}

/* The digits of s from `from` as a value no larger than max. */
static int digits(zzz_str s, size_t from, uint64_t max, uint64_t *out)
{
    if (from >= s.len)
        return -EINVAL;
    uint64_t v = 0;
    bool over = false;
    for (size_t i = from; i < s.len; i++) {
        unsigned char c = (unsigned char)s.ptr[i];
        if (c < '0' || c > '9')
            return -EINVAL;
        unsigned d = c - '0';
        /* Keep reading after an overflow: a bad byte later is -EINVAL. */
        if (v > (max - d) / 10)
            over = true;
        else
            v = v * 10 + d;
    }
    if (over)
        return -ERANGE;
    *out = v;
    return 0;
}

int zzz_str_to_u64(zzz_str s, uint64_t *out)
{
    return digits(s, 0, UINT64_MAX, out);
}

int zzz_str_to_i64(zzz_str s, int64_t *out)
{
    bool negative = s.len > 0 && s.ptr[0] == '-';
    size_t from = s.len > 0 && (s.ptr[0] == '-' || s.ptr[0] == '+') ? 1 : 0;
    uint64_t magnitude;
    /* INT64_MIN's magnitude is one more than INT64_MAX's. */
    int err = digits(s, from, negative ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX,
                     &magnitude);
    if (err)
        return err;
    if (!negative)
        *out = (int64_t)magnitude;
    else if (magnitude == (uint64_t)INT64_MAX + 1)
        *out = INT64_MIN;
    else
        *out = -(int64_t)magnitude;
    return 0;
}
