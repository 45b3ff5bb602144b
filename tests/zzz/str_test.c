/* Unit tests of the zzz_str helpers (zzz/src/str.c): exact and
 * case-blind comparison, and decimal integers at and past their limits.
 * Every input is copied into a heap buffer of exactly its length, so a
 * sanitizer build catches a read past the bytes given. */
#include <zzz.h>

#include <criterion/criterion.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* An exact-size heap copy of len bytes, as a zzz_str; free with drop. */
static zzz_str str_of(const char *bytes, size_t len)
{
    char *p = malloc(len ? len : 1);
    cr_assert(p);
    memcpy(p, bytes, len);
    return (zzz_str){p, len};
}

static zzz_str text(const char *t)
{
    return str_of(t, strlen(t));
}

static void drop(zzz_str s)
{
    free((void *)s.ptr);
}

static bool eq(const char *a, const char *b)
{
    zzz_str s = text(a);
    bool r = zzz_str_eq(s, b);
    drop(s);
    return r;
}

static bool eq_nocase(const char *a, const char *b)
{
    zzz_str s = text(a);
    bool r = zzz_str_eq_nocase(s, b);
    drop(s);
    return r;
}

Test(str, eq)
{
    cr_assert(eq("", ""));
    cr_assert(eq("abc", "abc"));
    cr_assert_not(eq("abc", "abd"));
    cr_assert_not(eq("abc", "ab"));
    cr_assert_not(eq("ab", "abc"));
    cr_assert_not(eq("abc", "ABC"));
    cr_assert_not(eq("", "a"));
    zzz_str s = text("abc");
    cr_assert_not(zzz_str_eq(s, NULL));
    drop(s);
    /* A NUL inside the string is a byte like any other. */
    s = str_of("ab\0c", 4);
    cr_assert_not(zzz_str_eq(s, "ab"));
    drop(s);
}

Test(str, eq_nocase)
{
    cr_assert(eq_nocase("Content-Type", "content-type"));
    cr_assert(eq_nocase("CONTENT-TYPE", "Content-Type"));
    cr_assert(eq_nocase("", ""));
    cr_assert_not(eq_nocase("Content-Type", "content-typ"));
    cr_assert_not(eq_nocase("Content-Typ", "content-type"));
    /* Only ASCII letters fold: '[' (0x5B) and '{' (0x7B), '@' and '`',
     * differ by the case bit and are still different bytes. */
    cr_assert_not(eq_nocase("[", "{"));
    cr_assert_not(eq_nocase("@", "`"));
    cr_assert_not(eq_nocase("^", "~"));
    /* Bytes above ASCII compare exactly: U+00C9 is not U+00E9. */
    cr_assert_not(eq_nocase("\xc3\x89", "\xc3\xa9"));
    cr_assert(eq_nocase("\xc3\x89", "\xc3\x89"));
    zzz_str s = text("a");
    cr_assert_not(zzz_str_eq_nocase(s, NULL));
    drop(s);
    s = str_of("ab\0", 3);
    cr_assert_not(zzz_str_eq_nocase(s, "ab"));
    drop(s);
}

static int to_u64(const char *t, size_t len, uint64_t *v)
{
    zzz_str s = str_of(t, len);
    int r = zzz_str_to_u64(s, v);
    drop(s);
    return r;
}

static int to_i64(const char *t, size_t len, int64_t *v)
{
    zzz_str s = str_of(t, len);
    int r = zzz_str_to_i64(s, v);
    drop(s);
    return r;
}

#define U64(t, v) to_u64(t, strlen(t), v)
#define I64(t, v) to_i64(t, strlen(t), v)

Test(str, to_u64)
{
    uint64_t v = 0;
    cr_assert_eq(U64("0", &v), 0);
    cr_assert_eq(v, 0);
    cr_assert_eq(U64("42", &v), 0);
    cr_assert_eq(v, 42);
    cr_assert_eq(U64("000123", &v), 0);
    cr_assert_eq(v, 123);
    /* At the limit and one past it. */
    cr_assert_eq(U64("18446744073709551615", &v), 0);
    cr_assert_eq(v, UINT64_MAX);
    v = 7;
    cr_assert_eq(U64("18446744073709551616", &v), -ERANGE);
    cr_assert_eq(U64("18446744073709551620", &v), -ERANGE);
    cr_assert_eq(U64("99999999999999999999999", &v), -ERANGE);
    cr_assert_eq(v, 7, "a refused value changed *out");
    /* Not a decimal integer. */
    const char *bad[] = {"", "-1", "+1", " 1", "1 ", "0x10", "1e3", "1.0", "12a", "a12", "--",
                         "\xd9\xa1" /* ARABIC-INDIC DIGIT ONE */};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cr_assert_eq(U64(bad[i], &v), -EINVAL, "\"%s\"", bad[i]);
        cr_assert_eq(v, 7);
    }
    cr_assert_eq(to_u64("12\0" "3", 4, &v), -EINVAL, "a NUL inside");
    /* A bad byte after an overflow is still a bad byte. */
    cr_assert_eq(U64("99999999999999999999x", &v), -EINVAL);
}

Test(str, to_i64)
{
    int64_t v = 0;
    cr_assert_eq(I64("0", &v), 0);
    cr_assert_eq(v, 0);
    cr_assert_eq(I64("-0", &v), 0);
    cr_assert_eq(v, 0);
    cr_assert_eq(I64("+17", &v), 0);
    cr_assert_eq(v, 17);
    cr_assert_eq(I64("-17", &v), 0);
    cr_assert_eq(v, -17);
    /* At both limits and one past each. */
    cr_assert_eq(I64("9223372036854775807", &v), 0);
    cr_assert_eq(v, INT64_MAX);
    cr_assert_eq(I64("-9223372036854775808", &v), 0);
    cr_assert_eq(v, INT64_MIN);
    v = 7;
    cr_assert_eq(I64("9223372036854775808", &v), -ERANGE);
    cr_assert_eq(I64("+9223372036854775808", &v), -ERANGE);
    cr_assert_eq(I64("-9223372036854775809", &v), -ERANGE);
    cr_assert_eq(v, 7, "a refused value changed *out");
    const char *bad[] = {"", "-", "+", "+-1", "-+1", "--1", " -1", "-1 ", "- 1", "1-", "0x1"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cr_assert_eq(I64(bad[i], &v), -EINVAL, "\"%s\"", bad[i]);
        cr_assert_eq(v, 7);
    }
}
