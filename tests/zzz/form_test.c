/* Unit tests of the urlencoded form parser (zzz/src/http/form.c, included
 * to reach its static functions): splitting into fields, decoding, the
 * escapes refused, repeats and order, zzz_form_get wherever the iteration
 * is, the decoded copies' size, and the Content-Type test. The request
 * side (zzz_req_query_form, zzz_req_body_form, their answers) is tested
 * against a real server in upload_test.c. */
#include "../../zzz/src/http/form.c"

#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>

static void *owned[64];
static size_t owned_count;

static void free_owned(void)
{
    for (size_t i = 0; i < owned_count; i++)
        free(owned[i]);
    owned_count = 0;
}

TestSuite(form, .fini = free_owned);

/* The form over text, as zzz_form_parse makes it, its copies in memory of
 * exactly the size asked for (so ASan sees a byte too many). Returns
 * form_measure's result. */
static int parse_len(const char *text, size_t len, zzz_form *f)
{
    size_t count = 99, copies = 99;
    int err = form_measure(text, len, &count, &copies);
    if (err)
        return err;
    char *decoded = copies ? malloc(copies) : NULL;
    if (decoded) {
        cr_assert_lt(owned_count, 64);
        owned[owned_count++] = decoded;
    }
    form_setup(f, text, len, count, decoded);
    return 0;
}

static int parse(const char *text, zzz_form *f)
{
    return parse_len(text, strlen(text), f);
}

/* Every field as "name=value;" (names and values shown between <>). */
static const char *fields(zzz_form *f)
{
    static char out[1024];
    size_t n = 0;
    zzz_str name, value;
    out[0] = '\0';
    while (zzz_form_next(f, &name, &value))
        n += (size_t)snprintf(out + n, sizeof out - n, "<%.*s>=<%.*s>;", (int)name.len, name.ptr,
                              (int)value.len, value.ptr);
    return out;
}

static void expect_fields(const char *text, const char *want, size_t count)
{
    zzz_form f;
    cr_assert_eq(parse(text, &f), 0, "refused: %s", text);
    cr_assert_eq(zzz_form_count(&f), count, "%s: %zu fields", text, zzz_form_count(&f));
    cr_assert_str_eq(fields(&f), want, "for %s", text);
    /* After the last, it stays at the end. */
    cr_assert_not(zzz_form_next(&f, NULL, NULL));
}

Test(form, splits_fields_in_order_with_repeats)
{
    expect_fields("a=1&b=2&a=3", "<a>=<1>;<b>=<2>;<a>=<3>;", 3);
    expect_fields("", "", 0);
    expect_fields("single", "<single>=<>;", 1);
    expect_fields("a=&=b&=", "<a>=<>;<>=<b>;<>=<>;", 3);
    expect_fields("a=b=c", "<a>=<b=c>;", 1);
}

Test(form, skips_empty_fields)
{
    expect_fields("&&a=1&&&b=2&", "<a>=<1>;<b>=<2>;", 2);
    expect_fields("&", "", 0);
    expect_fields("&&&", "", 0);
}

Test(form, decodes_escapes_and_plus_in_names_and_values)
{
    expect_fields("first+name=J%C3%B6rg+M%c3%bcller", "<first name>=<J\xc3\xb6rg M\xc3\xbcller>;",
                  1);
    expect_fields("q=a%26b%3Dc&x=%2B", "<q>=<a&b=c>;<x>=<+>;", 2);
    expect_fields("%61%62=%7e", "<ab>=<~>;", 1);
    expect_fields("+=+", "< >=< >;", 1);
    expect_fields("a=%25%32%30", "<a>=<%20>;", 1); /* decoded once, not twice */
}

Test(form, refuses_bad_escapes_and_nul)
{
    static const char *const bad[] = {
        "%",       "a=%",   "a=%4",  "a=%4g",       "a=%zz",  "%G0=1",
        "a=1&b=%", "a=%00", "%00=a", "ok=1&bad=%0", "a=%%41",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        zzz_form f;
        cr_assert_eq(parse(bad[i], &f), -EBADMSG, "accepted %s", bad[i]);
    }
    zzz_form f;
    cr_assert_eq(parse_len("a=b\0c", 5, &f), -EBADMSG, "a raw NUL");
    /* %01 and bytes past ASCII are fine: only NUL cuts C strings. */
    cr_assert_eq(parse("a=%01%ff", &f), 0);
}

Test(form, copies_only_what_needs_decoding)
{
    const char *text = "plain=value&esc=%41B&plus=a+b&n%41me=x";
    size_t count, copies;
    cr_assert_eq(form_measure(text, strlen(text), &count, &copies), 0);
    cr_assert_eq(count, 4);
    cr_assert_eq(copies, 2 + 3 + 4, "esc's \"AB\", plus's \"a b\", \"nAme\": %zu", copies);
    zzz_form f;
    cr_assert_eq(parse(text, &f), 0);
    zzz_str name, value;
    cr_assert(zzz_form_next(&f, &name, &value));
    /* Unescaped strings point into the text itself. */
    cr_assert_eq(name.ptr, text);
    cr_assert_eq(value.ptr, text + 6);
    cr_assert(zzz_form_next(&f, &name, &value));
    cr_assert_eq(name.ptr, text + 12);
    cr_assert(value.ptr == f.decoded && value.len == 2 && memcmp(value.ptr, "AB", 2) == 0);
}

Test(form, get_finds_the_first_wherever_next_is)
{
    zzz_form f;
    cr_assert_eq(parse("a=1&b=%32&a=3&c", &f), 0);
    zzz_str v, n;
    cr_assert(zzz_form_next(&f, &n, &v));
    cr_assert(zzz_form_next(&f, &n, &v));
    cr_assert(zzz_form_next(&f, &n, &v)); /* at the second "a" */
    cr_assert(zzz_form_get(&f, "a", &v));
    cr_assert(v.len == 1 && v.ptr[0] == '1');
    cr_assert(zzz_form_get(&f, "b", &v));
    cr_assert(v.len == 1 && v.ptr[0] == '2');
    cr_assert(zzz_form_get(&f, "c", &v));
    cr_assert_eq(v.len, 0);
    cr_assert(zzz_form_get(&f, "c", NULL));
    cr_assert_not(zzz_form_get(&f, "d", &v));
    cr_assert_not(zzz_form_get(&f, "", &v));
    cr_assert_not(zzz_form_get(&f, "A", &v), "names are exact bytes");
    /* get did not move next: the last field comes next. */
    cr_assert(zzz_form_next(&f, &n, &v));
    cr_assert(n.len == 1 && n.ptr[0] == 'c');
    cr_assert_not(zzz_form_next(&f, &n, &v));
}

Test(form, get_matches_decoded_names)
{
    zzz_form f;
    cr_assert_eq(parse("first+name=Ada&e%2Dmail=a%40b", &f), 0);
    zzz_str v;
    cr_assert(zzz_form_get(&f, "first name", &v));
    cr_assert(v.len == 3 && memcmp(v.ptr, "Ada", 3) == 0);
    cr_assert(zzz_form_get(&f, "e-mail", &v));
    cr_assert(v.len == 3 && memcmp(v.ptr, "a@b", 3) == 0);
    cr_assert_not(zzz_form_get(&f, "first+name", &v));
}

Test(form, a_copy_iterates_on_its_own)
{
    zzz_form f;
    cr_assert_eq(parse("x=%31&y=%32", &f), 0);
    zzz_str v;
    cr_assert(zzz_form_next(&f, NULL, &v));
    zzz_form g = f;
    cr_assert(zzz_form_next(&g, NULL, &v));
    cr_assert(v.ptr[0] == '2');
    cr_assert_not(zzz_form_next(&g, NULL, &v));
    cr_assert(zzz_form_next(&f, NULL, &v), "the original is where it was");
    cr_assert(v.ptr[0] == '2');
}

Test(form, media_type)
{
    const char *t = "application/x-www-form-urlencoded";
    cr_assert(media_type_is((zzz_str){t, strlen(t)}, t));
    static const char *const yes[] = {
        "application/x-www-form-urlencoded",
        "Application/X-WWW-Form-URLEncoded",
        "application/x-www-form-urlencoded; charset=UTF-8",
        "application/x-www-form-urlencoded ;charset=utf-8",
        "  application/x-www-form-urlencoded  ",
    };
    static const char *const no[] = {
        "application/x-www-form-urlencodedx",
        "application/x-www-form-urlencoded x",
        "multipart/form-data; boundary=x",
        "application/json",
        "",
        "application/x-www-form",
    };
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++)
        cr_assert(media_type_is((zzz_str){yes[i], strlen(yes[i])}, t), "%s", yes[i]);
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++)
        cr_assert_not(media_type_is((zzz_str){no[i], strlen(no[i])}, t), "%s", no[i]);
}
