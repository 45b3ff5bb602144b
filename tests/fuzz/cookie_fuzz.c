/* libFuzzer target for cookies (zzz/src/http/cookie.c and cookie_sign.c):
 * every input is read as up to four Cookie fields (split at '\n') and
 * each cookie found is checked against the contract in zzz_http.h; a
 * signed cookie must never verify out of random bytes. The same bytes
 * then go through the Set-Cookie composer as a name, a value and
 * attributes: what it accepts must be one clean field line that reads
 * back as the value, and a signed cookie must read back, then read as
 * absent once one of its bytes changes. The response's header lines are
 * this file's buffer (zzz_http_res_lines_room below). */
#include "cookie.h"
#include "http.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Not assert(): release builds define NDEBUG, and a fuzzer must never stop
 * checking. */
#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "cookie_fuzz: %s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);  \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

#define MAX_FIELDS 4

static char lines[8192];
static size_t lines_len;

char *zzz_http_res_lines_room(zzz_res *res, size_t len)
{
    if (res->head_sent || len > sizeof lines - lines_len)
        return NULL;
    char *p = lines + lines_len;
    lines_len += len;
    return p;
}

static zzz_cookie_key *fuzz_key(void)
{
    static zzz_cookie_key *key;
    static bool made;
    if (!made) {
        static const char secret[] = "the fuzzer's secret, at least 32 bytes long";
        made = true;
        int err = zzz_cookie_key_create(&key, secret, sizeof secret - 1);
        CHECK(err == 0 || err == -ENOTSUP);
    }
    return key;
}

typedef struct fake {
    zzz_req req;
    zzz_header fields[MAX_FIELDS];
} fake;

static void fake_init(fake *f)
{
    memset(f, 0, sizeof *f);
    f->req.head.headers = f->fields;
}

static void fake_add(fake *f, const char *value, size_t len)
{
    if (f->req.head.header_count < MAX_FIELDS)
        f->fields[f->req.head.header_count++] = (zzz_header){{"Cookie", 6}, {value, len}};
}

static bool ws(char c)
{
    return c == ' ' || c == '\t';
}

static bool within(zzz_str s, const fake *f)
{
    for (unsigned i = 0; i < f->req.head.header_count; i++) {
        zzz_str v = f->fields[i].value;
        if (s.ptr >= v.ptr && s.ptr <= v.ptr + v.len && s.len <= (size_t)(v.ptr + v.len - s.ptr))
            return true;
    }
    return false;
}

/* ---- reading ------------------------------------------------------------- */

static void check_reading(const char *data, size_t size)
{
    fake f;
    fake_init(&f);
    for (size_t start = 0, i = 0; i <= size && f.req.head.header_count < MAX_FIELDS; i++) {
        if (i == size || data[i] == '\n') {
            fake_add(&f, data + start, i - start);
            start = i + 1;
        }
    }
    zzz_cookie_iter it = {0};
    zzz_str n, v;
    size_t count = 0;
    zzz_cookie_key *key = fuzz_key();
    while (zzz_req_cookie_next(&f.req, &it, &n, &v)) {
        CHECK(++count <= size + 1);
        CHECK(within(n, &f) && within(v, &f));
        CHECK(!memchr(n.ptr, ';', n.len) && !memchr(n.ptr, '=', n.len));
        CHECK(!memchr(v.ptr, ';', v.len));
        CHECK(n.len == 0 || (!ws(n.ptr[0]) && !ws(n.ptr[n.len - 1])));
        /* Spaces inside quotes are the value's. */
        bool quoted = v.ptr > data && v.ptr[-1] == '"';
        CHECK(quoted || v.len == 0 || (!ws(v.ptr[0]) && !ws(v.ptr[v.len - 1])));
        /* The first cookie of each name is what zzz_req_cookie finds.
         * Each look-up walks the fields (and a signed one computes an
         * HMAC), so only the first cookies are looked up: checking them
         * all would make a long input cost the square of its cookies. */
        char name[256];
        if (count <= 32 && n.len < sizeof name && !memchr(n.ptr, '\0', n.len)) {
            memcpy(name, n.ptr, n.len);
            name[n.len] = '\0';
            zzz_str first;
            CHECK(zzz_req_cookie(&f.req, name, &first));
            CHECK(first.ptr <= v.ptr);
            /* A signature is 256 bits: random bytes never carry one. */
            CHECK(!zzz_req_cookie_signed(&f.req, key, name, NULL));
        }
    }
    CHECK(!zzz_req_cookie_next(&f.req, &it, NULL, NULL));
}

/* ---- composing ------------------------------------------------------------ */

/* The next piece of data (up to a 0xff byte) as a C string into buf,
 * NULL when the data has run out. */
static const char *piece(const char **data, size_t *size, char *buf, size_t cap)
{
    if (*size == 0)
        return NULL;
    const char *end = memchr(*data, 0xff, *size);
    size_t len = end ? (size_t)(end - *data) : *size;
    size_t keep = len < cap - 1 ? len : cap - 1;
    memcpy(buf, *data, keep);
    buf[keep] = '\0';
    *data += end ? len + 1 : len;
    *size -= end ? len + 1 : len;
    return buf;
}

/* Checks the one line the composer wrote for name=value and reads it
 * back: what the client gets is what was set. Returns the wire value. */
static zzz_str check_line(const char *name, const char *value_start)
{
    CHECK(lines_len > 14 && memcmp(lines + lines_len - 2, "\r\n", 2) == 0);
    for (size_t i = 0; i < lines_len - 2; i++) {
        unsigned char c = (unsigned char)lines[i];
        CHECK(c >= 0x20 && c < 0x7f);
    }
    size_t nlen = strlen(name);
    CHECK(memcmp(lines, "Set-Cookie: ", 12) == 0);
    CHECK(memcmp(lines + 12, name, nlen) == 0 && lines[12 + nlen] == '=');
    const char *v = lines + 12 + nlen + 1;
    size_t vlen = strcspn(v, ";\r");
    CHECK(strncmp(v, value_start, strlen(value_start)) == 0);
    return (zzz_str){v, vlen};
}

static void check_composing(const char *data, size_t size)
{
    if (size < 2)
        return;
    unsigned char flags = (unsigned char)data[0];
    unsigned char age = (unsigned char)data[1];
    data += 2;
    size -= 2;
    char name_buf[128], value_buf[4200], path_buf[64], domain_buf[64];
    const char *name = piece(&data, &size, name_buf, sizeof name_buf);
    const char *value = piece(&data, &size, value_buf, sizeof value_buf);
    const char *path = piece(&data, &size, path_buf, sizeof path_buf);
    const char *domain = piece(&data, &size, domain_buf, sizeof domain_buf);
    zzz_cookie_opts opts = {
        .path = flags & 1 ? path : NULL,
        .domain = flags & 2 ? domain : NULL,
        .max_age = (int64_t)(int8_t)age * 1000,
        .expires = flags & 4 ? (time_t)age * 86400 * 365 : 0,
        .secure = flags & 8,
        .http_only = flags & 16,
        .same_site = (zzz_same_site)((flags >> 5) & 3),
        .partitioned = flags & 128,
    };
    zzz_res res;
    memset(&res, 0, sizeof res);
    lines_len = 0;
    int rc = zzz_res_cookie(&res, name, value, &opts);
    CHECK(rc == 0 || rc == -EINVAL || rc == -ENOBUFS);
    if (rc != 0) {
        CHECK(lines_len == 0);
    } else {
        zzz_str wire = check_line(name, value);
        fake f;
        fake_init(&f);
        fake_add(&f, lines + 12, wire.ptr + wire.len - (lines + 12));
        zzz_str got;
        CHECK(zzz_req_cookie(&f.req, name, &got));
        size_t vlen = strlen(value);
        bool quoted = vlen >= 2 && value[0] == '"' && value[vlen - 1] == '"';
        CHECK(got.len == (quoted ? vlen - 2 : vlen));
        CHECK(memcmp(got.ptr, value + quoted, got.len) == 0);
    }

    zzz_cookie_key *key = fuzz_key();
    if (!key)
        return;
    lines_len = 0;
    rc = zzz_res_cookie_signed(&res, key, name, value, &opts);
    CHECK(rc == 0 || rc == -EINVAL || rc == -ENOBUFS);
    if (rc != 0)
        return;
    zzz_str wire = check_line(name, value);
    static char field[8192];
    size_t nlen = strlen(name);
    memcpy(field, lines + 12, nlen + 1 + wire.len);
    size_t flen = nlen + 1 + wire.len;
    fake f;
    fake_init(&f);
    fake_add(&f, field, flen);
    zzz_str got;
    CHECK(zzz_req_cookie_signed(&f.req, key, name, &got));
    CHECK(got.len == strlen(value) && memcmp(got.ptr, value, got.len) == 0);
    /* One byte of the value or signature changed: absent. */
    size_t at = nlen + 1 + (size_t)age % wire.len;
    field[at] = field[at] == 'A' ? 'B' : 'A';
    CHECK(!zzz_req_cookie_signed(&f.req, key, name, NULL));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_reading((const char *)data, size);
    check_composing((const char *)data, size);
    return 0;
}
