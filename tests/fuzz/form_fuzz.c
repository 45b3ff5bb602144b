/* libFuzzer target for the urlencoded form parser (zzz/src/http/form.c,
 * with target.c's percent-decoding): every input is parsed as a form
 * (zzz_form_parse, and as a request's query and urlencoded body through
 * stand-ins for the request calls), and what it gives is checked against
 * a plain reference decoder written here: the same verdict, the same
 * fields in the same order, zzz_form_get finding each name's first
 * value, and the decoded copies within what the request's memory gave. */
#include "http.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "form_fuzz: %s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);    \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/* ---- stand-ins for the request (form.c calls these) ---------------------- */

static const uint8_t *input;
static size_t input_len;
static char arena[1 << 18];
static size_t arena_used, arena_limit;
static int rejected;

void *zzz_alloc(zzz_req *req, size_t n)
{
    (void)req;
    if (n == 0 || n > arena_limit - arena_used)
        return NULL;
    void *p = arena + arena_used;
    arena_used += (n + 15) & ~(size_t)15;
    if (arena_used > arena_limit)
        arena_used = arena_limit;
    return p;
}

zzz_str zzz_req_query(const zzz_req *req)
{
    (void)req;
    return (zzz_str){(const char *)input, input_len};
}

bool zzz_req_header(const zzz_req *req, const char *name, zzz_str *value)
{
    (void)req;
    (void)name;
    *value = (zzz_str){"application/x-www-form-urlencoded; charset=utf-8", 48};
    return true;
}

int64_t zzz_req_content_length(const zzz_req *req)
{
    (void)req;
    return (int64_t)input_len;
}

int zzz_req_body(zzz_req *req, zzz_str *body)
{
    (void)req;
    *body = (zzz_str){(const char *)input, input_len};
    return 0;
}

void zzz_http_req_reject(zzz_req *req, int status)
{
    (void)req;
    rejected = status;
}

/* ---- the reference ----------------------------------------------------------- */

static int hexval(uint8_t c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decodes s[0, n) into out; its length, or -1 when it cannot be. */
static ssize_t ref_decode(const uint8_t *s, size_t n, char *out)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        int c = s[i];
        if (c == '+') {
            c = ' ';
        } else if (c == '%') {
            if (i + 2 >= n)
                return -1;
            int hi = hexval(s[i + 1]), lo = hexval(s[i + 2]);
            if (hi < 0 || lo < 0)
                return -1;
            c = hi * 16 + lo;
            i += 2;
        }
        if (c == 0)
            return -1;
        out[o++] = (char)c;
    }
    return (ssize_t)o;
}

typedef struct ref_field {
    char *name, *value;
    size_t name_len, value_len;
} ref_field;

/* Splits and decodes the whole input; the field count, or -1. */
static long ref_parse(ref_field *fields, size_t cap, char *store)
{
    long count = 0;
    size_t at = 0;
    for (size_t i = 0; i <= input_len;) {
        size_t j = i;
        while (j < input_len && input[j] != '&')
            j++;
        if (j > i) {
            size_t eq = i;
            while (eq < j && input[eq] != '=')
                eq++;
            CHECK((size_t)count < cap);
            ref_field *f = &fields[count++];
            ssize_t n = ref_decode(input + i, eq - i, store + at);
            if (n < 0)
                return -1;
            f->name = store + at;
            f->name_len = (size_t)n;
            at += (size_t)n;
            size_t vs = eq < j ? eq + 1 : j;
            ssize_t v = ref_decode(input + vs, j - vs, store + at);
            if (v < 0)
                return -1;
            f->value = store + at;
            f->value_len = (size_t)v;
            at += (size_t)v;
        }
        i = j + 1;
    }
    return count;
}

static bool same(zzz_str s, const char *p, size_t n)
{
    return s.len == n && (n == 0 || memcmp(s.ptr, p, n) == 0);
}

/* The form against the reference's fields. */
static void check_form(zzz_form *f, const ref_field *fields, long count)
{
    CHECK((long)zzz_form_count(f) == count);
    zzz_str name, value;
    for (long i = 0; i < count; i++) {
        CHECK(zzz_form_next(f, &name, &value));
        CHECK(same(name, fields[i].name, fields[i].name_len));
        CHECK(same(value, fields[i].value, fields[i].value_len));
        CHECK(!memchr(name.ptr, 0, name.len) && !memchr(value.ptr, 0, value.len));
        /* get: the first field of that name (names without NUL, so the
         * C string is the whole name). Each look-up walks the form, so
         * only the first fields are looked up: checking them all would
         * make a long input cost the square of its fields. */
        char cname[256];
        if (i < 64 && name.len < sizeof cname) {
            memcpy(cname, name.ptr, name.len);
            cname[name.len] = '\0';
            long first = 0;
            while (!same((zzz_str){fields[first].name, fields[first].name_len}, name.ptr, name.len))
                first++;
            zzz_str got;
            CHECK(zzz_form_get(f, cname, &got));
            CHECK(same(got, fields[first].value, fields[first].value_len));
        }
    }
    CHECK(!zzz_form_next(f, &name, &value));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096)
        return 0;
    input = data;
    input_len = size;
    static ref_field fields[4096];
    static char store[8192];
    long count = ref_parse(fields, 4096, store);

    zzz_req *req = (zzz_req *)(uintptr_t)1; /* never looked at */
    zzz_form f;
    /* Roomy memory: the verdict is the reference's. */
    arena_used = 0;
    arena_limit = sizeof arena;
    int err = zzz_form_parse(req, (zzz_str){(const char *)data, size}, &f);
    CHECK(count < 0 ? err == -EBADMSG : err == 0);
    if (err == 0) {
        CHECK(arena_used <= size + 16);
        check_form(&f, fields, count);
    }
    /* The request's query and body: the same verdict, and the refusal's
     * answer recorded. */
    arena_used = 0;
    rejected = 0;
    err = zzz_req_query_form(req, &f);
    CHECK(count < 0 ? err == -EBADMSG && rejected == 400 : err == 0 && rejected == 0);
    if (err == 0)
        check_form(&f, fields, count);
    arena_used = 0;
    rejected = 0;
    err = zzz_req_body_form(req, &f);
    CHECK(count < 0 ? err == -EBADMSG && rejected == 400 : err == 0 && rejected == 0);
    /* Memory that the data decides: refused with -ENOMEM (and 413) when
     * too small, never anything else. */
    if (count >= 0 && size > 0) {
        arena_used = 0;
        arena_limit = data[0] % (size + 1);
        rejected = 0;
        err = zzz_req_body_form(req, &f);
        CHECK(err == 0 || (err == -ENOMEM && rejected == 413));
        if (err == 0)
            check_form(&f, fields, count);
    }
    return 0;
}
