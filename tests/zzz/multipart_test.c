/* Unit tests of the multipart/form-data reader (zzz/src/http/multipart*.c,
 * included to reach their static functions), driven without a socket:
 * the body comes from memory through the reader's pull function, in
 * pieces of every size from 1 byte to whole, and each body must read the
 * same whatever the pieces. Boundaries, delimiters, preamble and
 * epilogue, part headers and Content-Disposition, the limits at and past
 * them, skipping, zzz_part_text, and zzz_part_save into a temporary
 * directory (through tardy, in a one-thread runtime). The answers a
 * server makes of the refusals are tested in upload_test.c. */
#include "../../zzz/src/http/multipart.c"
#include "../../zzz/src/http/multipart_head.c"
#include "../../zzz/src/http/multipart_save.c"

#include <criterion/criterion.h>

#include <stdlib.h>

/* ---- driving the reader from memory --------------------------------------- */

typedef struct feed {
    const char *data;
    size_t len, pos;
    size_t piece;    /* bytes per pull at most; 0: as much as asked */
    int fail_at_end; /* an error to return instead of the body's end */
} feed;

static ssize_t feed_pull(void *ctx, void *buf, size_t len)
{
    feed *f = ctx;
    cr_assert_gt(len, 0, "a pull of 0 bytes reads as the body's end");
    if (f->pos == f->len && f->fail_at_end)
        return f->fail_at_end;
    size_t n = f->len - f->pos;
    if (n > len)
        n = len;
    if (f->piece && n > f->piece)
        n = f->piece;
    memcpy(buf, f->data + f->pos, n);
    f->pos += n;
    return (ssize_t)n;
}

static void *owned[256];
static size_t owned_count;

static void *own(void *p)
{
    cr_assert_not_null(p);
    cr_assert_lt(owned_count, 256);
    owned[owned_count++] = p;
    return p;
}

static void free_owned(void)
{
    for (size_t i = 0; i < owned_count; i++)
        free(owned[i]);
    owned_count = 0;
}

static size_t alloc_budget = SIZE_MAX;

static void *test_alloc(void *ctx, size_t n)
{
    (void)ctx;
    if (n > alloc_budget)
        return NULL;
    alloc_budget -= n;
    return own(malloc(n));
}

static void setup(void)
{
    alloc_budget = SIZE_MAX;
}

TestSuite(multipart, .init = setup, .fini = free_owned);

/* A reader over body (Content-Type type) in pieces of `piece` bytes. */
static zzz_multipart *open_mp(const char *type, const char *body, size_t len, size_t piece,
                              const zzz_multipart_opts *opts, feed *f)
{
    size_t cap = zzz_http_mp_buffer_size(opts);
    zzz_multipart *mp = own(malloc(sizeof *mp));
    char *buf = own(malloc(cap));
    int err = zzz_http_mp_init(mp, (zzz_str){type, strlen(type)}, opts, buf, cap);
    cr_assert_eq(err, 0, "init %s: %d", type, err);
    *f = (feed){.data = body, .len = len, .piece = piece};
    mp->pull = feed_pull;
    mp->pull_ctx = f;
    mp->alloc = test_alloc;
    return mp;
}

/* Reads every part; its account: for each part "name|filename or -|type|
 * content;" and at the end "end" or "error N". Reads content `read_size`
 * bytes at a time. */
static char *account(zzz_multipart *mp, size_t read_size)
{
    size_t cap = 1 << 16, n = 0;
    char *out = own(malloc(cap));
    char *chunk = own(malloc(read_size));
    zzz_part *part;
    int r;
    while ((r = zzz_multipart_next(mp, &part)) == 1) {
        zzz_str name = zzz_part_name(part), file, type = zzz_part_content_type(part);
        bool has_file = zzz_part_filename(part, &file);
        n += (size_t)snprintf(out + n, cap - n, "%.*s|%.*s|%.*s|", (int)name.len, name.ptr,
                              has_file ? (int)file.len : 1, has_file ? file.ptr : "-",
                              (int)type.len, type.ptr);
        ssize_t got;
        while ((got = zzz_part_read(part, chunk, read_size)) > 0) {
            cr_assert_lt(n + (size_t)got, cap - 64);
            memcpy(out + n, chunk, (size_t)got);
            n += (size_t)got;
        }
        if (got < 0) {
            r = (int)got;
            break;
        }
        cr_assert_eq(zzz_part_read(part, chunk, read_size), 0, "0 again after the end");
        out[n++] = ';';
    }
    if (r == 0)
        snprintf(out + n, cap - n, "end");
    else
        snprintf(out + n, cap - n, "error %d", r);
    return out;
}

static const size_t pieces[] = {1, 2, 3, 5, 7, 13, 64, 1000, 0};

/* The account of body, the same in pieces of every size (and read in
 * bytes of several sizes), and equal to want. */
static void expect_account_opts(const char *type, const char *body, size_t len,
                                const zzz_multipart_opts *opts, const char *want)
{
    for (size_t i = 0; i < sizeof pieces / sizeof pieces[0]; i++) {
        size_t read_size = i % 3 == 0 ? 1 : i % 3 == 1 ? 7 : 65536;
        feed f;
        zzz_multipart *mp = open_mp(type, body, len, pieces[i], opts, &f);
        const char *got = account(mp, read_size);
        cr_assert_str_eq(got, want, "in pieces of %zu, read by %zu:\n got %s\nwant %s", pieces[i],
                         read_size, got, want);
        /* After the end or an error, the same again. */
        zzz_part *part;
        int again = zzz_multipart_next(mp, &part);
        cr_assert_eq(again, strcmp(want + strlen(want) - 3, "end") == 0 ? 0 : mp->err);
    }
}

static void expect_account(const char *body, const char *want)
{
    expect_account_opts("multipart/form-data; boundary=XyZ", body, strlen(body), NULL, want);
}

#define CD "Content-Disposition: form-data; "

/* ---- bodies ------------------------------------------------------------------ */

Test(multipart, fields_and_files)
{
    expect_account("--XyZ\r\n" CD "name=\"title\"\r\n\r\nHello\r\n"
                   "--XyZ\r\n" CD "name=\"doc\"; filename=\"a.txt\"\r\n"
                   "Content-Type: text/x-test\r\n\r\nline 1\r\nline 2\r\n\r\n"
                   "--XyZ\r\n" CD "name=\"empty\"\r\n\r\n\r\n"
                   "--XyZ--\r\n",
                   "title|-|text/plain|Hello;doc|a.txt|text/x-test|line 1\r\nline 2\r\n;"
                   "empty|-|text/plain|;end");
}

Test(multipart, content_that_looks_like_a_delimiter)
{
    /* Near misses: "--XyZ" without the CRLF before it, "\r\n--Xy", a
     * lone CR, "\r\n-" at a piece's end. */
    expect_account("--XyZ\r\n" CD "name=a\r\n\r\nx--XyZ\r--Xy\r\n--XyY\n--XyZ-\r\r\n-\r\n"
                   "--XyZ--",
                   "a|-|text/plain|x--XyZ\r--Xy\r\n--XyY\n--XyZ-\r\r\n-;end");
}

Test(multipart, a_part_that_ends_with_its_header_section)
{
    /* RFC 2046: body-part := MIME-part-headers [CRLF *OCTET]; without the
     * content, the section's last CRLF starts the delimiter. */
    expect_account("--XyZ\r\n" CD "name=a\r\n\r\n--XyZ\r\n" CD "name=b\r\n\r\n\r\n--XyZ\r\n" CD
                   "name=c\r\n\r\n--XyZ--",
                   "a|-|text/plain|;b|-|text/plain|;c|-|text/plain|;end");
}

Test(multipart, preamble_and_epilogue_are_ignored)
{
    expect_account("This is a preamble.\r\n--XyY in it\r\n--XyZ\r\n" CD "name=a\r\n\r\n1\r\n"
                   "--XyZ--\r\nand an epilogue\r\n--XyZ\r\n" CD "name=b\r\n\r\n2",
                   "a|-|text/plain|1;end");
    expect_account("\r\n--XyZ\r\n" CD "name=a\r\n\r\n1\r\n--XyZ--", "a|-|text/plain|1;end");
}

Test(multipart, no_parts_at_all)
{
    expect_account("--XyZ--\r\n", "end");
    expect_account("preamble\r\n--XyZ--", "end");
}

Test(multipart, transport_padding_after_a_boundary)
{
    expect_account("--XyZ \t \r\n" CD "name=a\r\n\r\n1\r\n--XyZ\t\r\n" CD "name=b\r\n\r\n2\r\n"
                   "--XyZ--  \r\n",
                   "a|-|text/plain|1;b|-|text/plain|2;end");
}

Test(multipart, broken_delimiter_lines)
{
    char want[64];
    snprintf(want, sizeof want, "error %d", -EBADMSG);
    expect_account("--XyZX\r\n" CD "name=a\r\n\r\n1\r\n--XyZ--", want);
    expect_account("--XyZ\n" CD "name=a\r\n\r\n1\r\n--XyZ--", want);
    expect_account("--XyZ \r" CD "name=a\r\n\r\n1\r\n--XyZ--", want);
    snprintf(want, sizeof want, "a|-|text/plain|1;error %d", -EBADMSG);
    expect_account("--XyZ\r\n" CD "name=a\r\n\r\n1\r\n--XyZ-\r\n", want);
    expect_account("--XyZ\r\n" CD "name=a\r\n\r\n1\r\n--XyZ?", want);
}

Test(multipart, a_body_that_ends_early)
{
    char want[64];
    snprintf(want, sizeof want, "error %d", -EBADMSG);
    expect_account("", want);
    expect_account("no boundary here", want);
    expect_account("--XyZ", want);
    expect_account("--XyZ\r\n" CD "name=a\r\n", want); /* in the headers */
    snprintf(want, sizeof want, "a|-|text/plain|contenterror %d", -EBADMSG);
    expect_account("--XyZ\r\n" CD "name=a\r\n\r\ncontent", want);
    snprintf(want, sizeof want, "a|-|text/plain|content;error %d", -EBADMSG);
    expect_account("--XyZ\r\n" CD "name=a\r\n\r\ncontent\r\n--XyZ", want);
    snprintf(want, sizeof want, "a|-|text/plain|content\r\n--Xyerror %d", -EBADMSG);
    expect_account("--XyZ\r\n" CD "name=a\r\n\r\ncontent\r\n--Xy", want);
}

Test(multipart, the_pull_error_is_kept)
{
    const char *body = "--XyZ\r\n" CD "name=a\r\n\r\nabcdefghij";
    feed f;
    zzz_multipart *mp =
        open_mp("multipart/form-data; boundary=XyZ", body, strlen(body), 0, NULL, &f);
    f.fail_at_end = -ETIMEDOUT;
    zzz_part *part;
    cr_assert_eq(zzz_multipart_next(mp, &part), 1);
    char buf[16];
    /* The last 6 bytes may begin a delimiter: they wait for more. */
    cr_assert_eq(zzz_part_read(part, buf, sizeof buf), 4);
    cr_assert_eq(zzz_part_read(part, buf, sizeof buf), -ETIMEDOUT);
    cr_assert_eq(zzz_part_read(part, buf, sizeof buf), -ETIMEDOUT);
    cr_assert_eq(zzz_multipart_next(mp, &part), -ETIMEDOUT);
}

/* ---- boundaries ---------------------------------------------------------------- */

static int boundary_of(const char *type, char *out, size_t *len)
{
    zzz_str b;
    int err = zzz_http_mp_boundary((zzz_str){type, strlen(type)}, out, &b);
    if (err == 0)
        *len = b.len;
    return err;
}

Test(multipart, boundary_from_content_type)
{
    char b[MP_BOUNDARY_MAX];
    size_t len;
    static const struct {
        const char *type, *boundary;
    } ok[] = {
        {"multipart/form-data; boundary=abc", "abc"},
        {"Multipart/Form-Data;boundary=abc", "abc"},
        {"multipart/form-data; charset=utf-8; BOUNDARY=a-b_c", "a-b_c"},
        {"multipart/form-data; boundary=\"a b:c\"", "a b:c"},
        {"multipart/form-data; boundary=\"a\\bc\"", "abc"},
        {"multipart/form-data; boundary=----WebKitFormBoundary7MA4YWxkTrZu0gW",
         "----WebKitFormBoundary7MA4YWxkTrZu0gW"},
        {"multipart/form-data; boundary==_Part_1/x?y,z'(0)+.", "=_Part_1/x?y,z'(0)+."},
        {"multipart/form-data; boundary=abc;", "abc"},
        {" multipart/form-data ; boundary=abc ", "abc"},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        cr_assert_eq(boundary_of(ok[i].type, b, &len), 0, "%s", ok[i].type);
        cr_assert(len == strlen(ok[i].boundary) && memcmp(b, ok[i].boundary, len) == 0,
                  "%s gave %.*s", ok[i].type, (int)len, b);
    }
    static const char *const bad[] = {
        "multipart/form-data",
        "multipart/form-data; charset=utf-8",
        "multipart/form-data; boundary=",
        "multipart/form-data; boundary=\"\"",
        "multipart/form-data; boundary=a; boundary=b",
        "multipart/form-data; boundary=\"ab \"",
        "multipart/form-data; boundary=a*b",
        "multipart/form-data; boundary=\"a\\\"b\"",
        "multipart/form-data; boundary=\"abc",
        "multipart/form-data; boundary",
        "multipart/form-data; =abc",
        "multipart/form-data boundary=abc",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        cr_assert_eq(boundary_of(bad[i], b, &len), -EBADMSG, "%s", bad[i]);
    static const char *const other[] = {
        "multipart/mixed; boundary=abc",
        "application/x-www-form-urlencoded",
        "multipart/form-datax; boundary=abc",
        "",
        "text/plain",
    };
    for (size_t i = 0; i < sizeof other / sizeof other[0]; i++)
        cr_assert_eq(boundary_of(other[i], b, &len), -ENOTSUP, "%s", other[i]);
}

Test(multipart, boundary_lengths_1_to_70)
{
    char type[160], b[MP_BOUNDARY_MAX];
    size_t len;
    char long_one[72];
    memset(long_one, 'q', sizeof long_one);
    snprintf(type, sizeof type, "multipart/form-data; boundary=%.70s", long_one);
    cr_assert_eq(boundary_of(type, b, &len), 0);
    cr_assert_eq(len, 70);
    snprintf(type, sizeof type, "multipart/form-data; boundary=%.71s", long_one);
    cr_assert_eq(boundary_of(type, b, &len), -EBADMSG);
    snprintf(type, sizeof type, "multipart/form-data; boundary=\"%.71s\"", long_one);
    cr_assert_eq(boundary_of(type, b, &len), -EBADMSG);
    cr_assert_eq(boundary_of("multipart/form-data; boundary=q", b, &len), 0);
    cr_assert_eq(len, 1);

    /* A 70-byte and a 1-byte boundary in use. */
    char body[512];
    snprintf(body, sizeof body, "--%.70s\r\n" CD "name=a\r\n\r\nx\r\n--%.70s--", long_one,
             long_one);
    snprintf(type, sizeof type, "multipart/form-data; boundary=%.70s", long_one);
    expect_account_opts(type, body, strlen(body), NULL, "a|-|text/plain|x;end");
    const char *one = "--q\r\n" CD "name=a\r\n\r\n-q\r\n-\r\n--q--";
    expect_account_opts("multipart/form-data; boundary=q", one, strlen(one), NULL,
                        "a|-|text/plain|-q\r\n-;end");
}

/* ---- part headers ------------------------------------------------------------ */

Test(multipart, disposition_parameters)
{
    /* Backslashes are bytes like any other (browsers and curl send a '"'
     * as %22): a Windows path, and a name that ends in one. */
    expect_account("--XyZ\r\n" CD "name=\"a\\b\\\"; filename=\"C:\\x\\y.txt\"\r\n\r\n1\r\n"
                   "--XyZ\r\ncontent-disposition: FORM-DATA;NAME=plain;FILENAME=\"\"\r\n\r\n2\r\n"
                   "--XyZ\r\n" CD "name=\"f\"; filename=\"fallback\"; "
                   "filename*=UTF-8''%e2%82%ac%20rates.txt\r\n\r\n3\r\n"
                   "--XyZ\r\n" CD "filename*=iso-8859-1'en'%A3; name=g; filename=\"ascii\"\r\n\r\n"
                   "4\r\n"
                   "--XyZ\r\n" CD "name=\"x%22y\"; size=12; other=\"a;b\"\r\n\r\n5\r\n"
                   "--XyZ--",
                   "a\\b\\|C:\\x\\y.txt|text/plain|1;plain||text/plain|2;"
                   "f|\xe2\x82\xac rates.txt|text/plain|3;g|ascii|text/plain|4;"
                   "x%22y|-|text/plain|5;end");
}

Test(multipart, raw_utf8_in_quoted_names)
{
    expect_account("--XyZ\r\n" CD "name=\"\xc3\xa9t\xc3\xa9\"; filename=\"\xe2\x9c\x93.png\"\r\n"
                   "Content-Type: image/png\r\n\r\n\x89PNG\r\n--XyZ--",
                   "\xc3\xa9t\xc3\xa9|\xe2\x9c\x93.png|image/png|\x89PNG;end");
}

Test(multipart, malformed_part_headers)
{
    static const char *const heads[] = {
        "Content-Type: text/plain\r\n",                   /* no Content-Disposition */
        "Content-Disposition: attachment; name=a\r\n",    /* not form-data */
        "Content-Disposition: form-data\r\n",             /* no name */
        "Content-Disposition: form-data; filename=x\r\n", /* no name */
        CD "name=a; name=b\r\n",                          /* a parameter twice */
        CD "name=a; filename=x; FileName=y\r\n",
        CD "name=a\r\n" CD "name=b\r\n", /* the field twice */
        CD "name=a\r\nContent-Type: a/b\r\ncontent-type: c/d\r\n",
        CD "name=a\nX-Y: z\r\n",                 /* a bare LF */
        CD "name=a\rX-Y: z\r\n",                 /* a bare CR */
        CD "name=a\r\nX-Y: z\r\n continued\r\n", /* a folded line */
        CD "name=a\r\n X-Y: z\r\n",
        CD "name=a\r\nNo colon here\r\n",
        CD "name=a\r\n: empty name\r\n",
        CD "name=a\r\nX-Y : z\r\n",     /* space before the colon */
        CD "name=a\r\nX-Y: a\x01z\r\n", /* a control byte */
        CD "name=\"a\r\n",              /* no closing quote */
        CD "name=a b\r\n",
        CD "name=\"a\" x\r\n",
        CD "name=\"a\\\x01\"\r\n",
        CD "name=a; filename*=\"UTF-8''x\"\r\n", /* ext-value quoted */
        CD "name=a; filename*=UTF-8'x\r\n",      /* one quote */
        CD "name=a; filename*=UTF-8''%zz\r\n",
        CD "name=a; filename*=UTF-8''a%00b\r\n",
        "", /* no fields at all */
    };
    char want[64];
    snprintf(want, sizeof want, "error %d", -EBADMSG);
    for (size_t i = 0; i < sizeof heads / sizeof heads[0]; i++) {
        char body[512];
        snprintf(body, sizeof body, "--XyZ\r\n%s\r\ncontent\r\n--XyZ--", heads[i]);
        feed f;
        zzz_multipart *mp =
            open_mp("multipart/form-data; boundary=XyZ", body, strlen(body), 0, NULL, &f);
        cr_assert_str_eq(account(mp, 100), want, "head %zu: %s", i, heads[i]);
    }
    /* A NUL in a header. */
    const char nul[] = "--XyZ\r\n" CD "name=a\0b\r\n\r\nx\r\n--XyZ--";
    expect_account_opts("multipart/form-data; boundary=XyZ", nul, sizeof nul - 1, NULL, want);
}

Test(multipart, any_header_by_name)
{
    const char *body = "--XyZ\r\n" CD "name=a\r\nX-Custom:  spaced value \t\r\n"
                       "Content-Type:image/gif\r\nx-custom: second\r\nX-Empty:\r\n\r\n1\r\n"
                       "--XyZ--";
    feed f;
    zzz_multipart *mp =
        open_mp("multipart/form-data; boundary=XyZ", body, strlen(body), 3, NULL, &f);
    zzz_part *part;
    cr_assert_eq(zzz_multipart_next(mp, &part), 1);
    zzz_str v;
    cr_assert(zzz_part_header(part, "x-custom", &v));
    cr_assert(zzz_str_eq(v, "spaced value"), "%.*s", (int)v.len, v.ptr);
    cr_assert(zzz_part_header(part, "CONTENT-TYPE", &v));
    cr_assert(zzz_str_eq(v, "image/gif"));
    cr_assert(zzz_str_eq(zzz_part_content_type(part), "image/gif"));
    cr_assert(zzz_part_header(part, "X-Empty", &v));
    cr_assert_eq(v.len, 0);
    cr_assert(zzz_part_header(part, "content-disposition", &v));
    cr_assert(zzz_str_eq(v, "form-data; name=a"));
    cr_assert_not(zzz_part_header(part, "X-Custo", &v));
    cr_assert_not(zzz_part_header(part, "X-Customs", NULL));
    /* The header lines stay put while the content streams. */
    char c;
    cr_assert_eq(zzz_part_read(part, &c, 1), 1);
    cr_assert(zzz_part_header(part, "x-custom", &v));
    cr_assert(zzz_str_eq(v, "spaced value"));
    cr_assert_eq(zzz_multipart_next(mp, &part), 0);
}

/* ---- limits -------------------------------------------------------------------- */

/* A body of `parts` parts named p0, p1 ..., each with `size` bytes of 'x'. */
static char *body_of(unsigned parts, size_t size, size_t *len)
{
    size_t cap = (size_t)parts * (size + 128) + 64;
    char *body = own(malloc(cap));
    size_t n = 0;
    for (unsigned i = 0; i < parts; i++) {
        n += (size_t)snprintf(body + n, cap - n, "--XyZ\r\n" CD "name=p%u\r\n\r\n", i);
        memset(body + n, 'x', size);
        n += size;
        n += (size_t)snprintf(body + n, cap - n, "\r\n");
    }
    n += (size_t)snprintf(body + n, cap - n, "--XyZ--\r\n");
    *len = n;
    return body;
}

/* Reads (or, when skip, skips) every part; the last result of next(). */
static int run_all(const char *body, size_t len, const zzz_multipart_opts *opts, size_t piece,
                   bool skip, unsigned *parts)
{
    feed f;
    zzz_multipart *mp = open_mp("multipart/form-data; boundary=XyZ", body, len, piece, opts, &f);
    zzz_part *part;
    int r;
    char buf[333];
    *parts = 0;
    while ((r = zzz_multipart_next(mp, &part)) == 1) {
        (*parts)++;
        if (skip)
            continue;
        ssize_t n;
        while ((n = zzz_part_read(part, buf, sizeof buf)) > 0) {
        }
        if (n < 0)
            return (int)n;
    }
    return r;
}

Test(multipart, part_bytes_at_and_past_the_limit)
{
    zzz_multipart_opts opts = {.max_part_bytes = 1000};
    size_t len;
    unsigned parts;
    for (int skip = 0; skip < 2; skip++) {
        for (size_t p = 0; p < 3; p++) {
            size_t piece = p == 0 ? 1 : p == 1 ? 97 : 0;
            char *body = body_of(3, 1000, &len);
            cr_assert_eq(run_all(body, len, &opts, piece, skip, &parts), 0);
            cr_assert_eq(parts, 3);
            body = body_of(3, 1001, &len);
            cr_assert_eq(run_all(body, len, &opts, piece, skip, &parts), -EFBIG,
                         "skip %d piece %zu", skip, piece);
            cr_assert_eq(parts, 1);
        }
    }
    /* Content up to the limit is given, then the error, however the body
     * arrives. */
    char want[64];
    snprintf(want, sizeof want, "a|-|text/plain|0123456789error %d", -EFBIG);
    const char *over = "--XyZ\r\n" CD "name=a\r\n\r\n0123456789ABCDE\r\n--XyZ--";
    zzz_multipart_opts ten = {.max_part_bytes = 10};
    expect_account_opts("multipart/form-data; boundary=XyZ", over, strlen(over), &ten, want);
    /* The default: no limit of its own. */
    char *body = body_of(2, 100000, &len);
    cr_assert_eq(run_all(body, len, NULL, 0, false, &parts), 0);
}

Test(multipart, parts_at_and_past_the_limit)
{
    zzz_multipart_opts opts = {.max_parts = 5};
    size_t len;
    unsigned parts;
    char *body = body_of(5, 3, &len);
    cr_assert_eq(run_all(body, len, &opts, 0, false, &parts), 0);
    cr_assert_eq(parts, 5);
    body = body_of(6, 3, &len);
    cr_assert_eq(run_all(body, len, &opts, 0, true, &parts), -E2BIG);
    cr_assert_eq(parts, 5);
    /* The default, 1000. */
    body = body_of(1000, 0, &len);
    cr_assert_eq(run_all(body, len, NULL, 7, true, &parts), 0);
    cr_assert_eq(parts, 1000);
    body = body_of(1001, 0, &len);
    cr_assert_eq(run_all(body, len, NULL, 0, true, &parts), -E2BIG);
}

/* A part whose header section (its lines and the empty line) is exactly
 * `section` bytes. */
static char *body_with_section(size_t section, size_t *len)
{
    const char *first = CD "name=a\r\nX-Pad: ";
    size_t pad = section - strlen(first) - 4;
    char *body = own(malloc(section + 128));
    size_t n = (size_t)sprintf(body, "--XyZ\r\n%s", first);
    memset(body + n, 'p', pad);
    n += pad;
    n += (size_t)sprintf(body + n, "\r\n\r\ncontent\r\n--XyZ--");
    *len = n;
    return body;
}

Test(multipart, header_bytes_at_and_past_the_limit)
{
    size_t len;
    unsigned parts;
    static const size_t limits[] = {100, 1000, ZZZ_MULTIPART_HEADER_BYTES, 20000};
    for (size_t i = 0; i < sizeof limits / sizeof limits[0]; i++) {
        zzz_multipart_opts opts = {.max_header_bytes = i == 2 ? 0 : limits[i]};
        for (size_t piece = 0; piece < 200; piece += 199) {
            char *body = body_with_section(limits[i], &len);
            cr_assert_eq(run_all(body, len, &opts, piece, false, &parts), 0, "limit %zu",
                         limits[i]);
            cr_assert_eq(parts, 1);
            body = body_with_section(limits[i] + 1, &len);
            cr_assert_eq(run_all(body, len, &opts, piece, false, &parts), -EMSGSIZE, "limit %zu",
                         limits[i]);
        }
    }
}

Test(multipart, the_buffer_is_never_full_when_pulled)
{
    /* feed_pull asserts len > 0: headers of the largest size, with content
     * after them in the same pull, then delimiters split everywhere. */
    zzz_multipart_opts opts = {.max_header_bytes = 300};
    size_t len;
    unsigned parts;
    char *body = body_with_section(300, &len);
    for (size_t piece = 0; piece < 40; piece++)
        cr_assert_eq(run_all(body, len, &opts, piece, false, &parts), 0);
}

/* ---- skipping, text ------------------------------------------------------------ */

Test(multipart, skipping_parts_read_in_part)
{
    const char *body = "--XyZ\r\n" CD "name=a\r\n\r\n0123456789\r\n"
                       "--XyZ\r\n" CD "name=b\r\n\r\nabcdef\r\n"
                       "--XyZ\r\n" CD "name=c\r\n\r\nlast\r\n--XyZ--";
    for (size_t piece = 0; piece < 12; piece++) {
        feed f;
        zzz_multipart *mp =
            open_mp("multipart/form-data; boundary=XyZ", body, strlen(body), piece, NULL, &f);
        zzz_part *part;
        char buf[8];
        cr_assert_eq(zzz_multipart_next(mp, &part), 1);
        ssize_t got = zzz_part_read(part, buf, 3);
        cr_assert(got > 0 && got <= 3);
        cr_assert_eq(zzz_multipart_next(mp, &part), 1);
        cr_assert(zzz_str_eq(zzz_part_name(part), "b"));
        cr_assert_eq(zzz_multipart_next(mp, &part), 1);
        cr_assert(zzz_str_eq(zzz_part_name(part), "c"));
        zzz_str text;
        cr_assert_eq(zzz_part_text(part, 100, &text), 0);
        cr_assert(zzz_str_eq(text, "last"));
        cr_assert_eq(zzz_part_text(part, 100, &text), 0, "the rest: nothing");
        cr_assert_eq(text.len, 0);
        cr_assert_eq(zzz_multipart_next(mp, &part), 0);
        cr_assert_eq(zzz_multipart_next(mp, &part), 0);
        cr_assert_eq(f.pos, f.len, "read to the end");
    }
}

Test(multipart, text_at_and_past_its_max)
{
    size_t len;
    char *body = body_of(3, 5000, &len);
    feed f;
    zzz_multipart *mp = open_mp("multipart/form-data; boundary=XyZ", body, len, 777, NULL, &f);
    zzz_part *part;
    zzz_str text;
    cr_assert_eq(zzz_multipart_next(mp, &part), 1);
    cr_assert_eq(zzz_part_text(part, 5000, &text), 0);
    cr_assert_eq(text.len, 5000);
    for (size_t i = 0; i < text.len; i++)
        cr_assert_eq(text.ptr[i], 'x');
    cr_assert_eq(zzz_multipart_next(mp, &part), 1);
    cr_assert_eq(zzz_part_text(part, 4999, &text), -EFBIG);
    /* Not fatal: the next part is still there. */
    cr_assert_eq(zzz_multipart_next(mp, &part), 1);
    cr_assert(zzz_str_eq(zzz_part_name(part), "p2"));
    alloc_budget = 4000;
    cr_assert_eq(zzz_part_text(part, 5000, &text), -ENOMEM);
    cr_assert_eq(zzz_multipart_next(mp, &part), 0);
}

/* ---- large content ------------------------------------------------------------- */

Test(multipart, a_megabyte_of_every_byte_value)
{
    size_t size = 1 << 20;
    char *content = own(malloc(size));
    uint64_t x = 88172645463325252ull;
    for (size_t i = 0; i < size; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        content[i] = (char)x;
    }
    /* Plenty of near misses: every proper prefix of the delimiter. */
    for (size_t i = 0; i + 8 < size; i += 1021)
        memcpy(content + i, "\r\n--XyZ", (i / 1021) % 6 + 1);
    size_t cap = size + 256, n = 0;
    char *body = own(malloc(cap));
    n += (size_t)sprintf(body, "--XyZ\r\n" CD "name=f; filename=\"big.bin\"\r\n\r\n");
    memcpy(body + n, content, size);
    n += size;
    n += (size_t)sprintf(body + n, "\r\n--XyZ--\r\n");
    static const size_t big_pieces[] = {1, 4093, 65536, 0};
    static const size_t reads[] = {4093, 1, 100000, 8192};
    char *got = own(malloc(size));
    for (size_t k = 0; k < 4; k++) {
        feed f;
        zzz_multipart *mp =
            open_mp("multipart/form-data; boundary=XyZ", body, n, big_pieces[k], NULL, &f);
        zzz_part *part;
        cr_assert_eq(zzz_multipart_next(mp, &part), 1);
        size_t total = 0;
        ssize_t r;
        while ((r = zzz_part_read(part, got + total,
                                  size - total < reads[k] ? size + 1 - total : reads[k])) > 0)
            total += (size_t)r;
        cr_assert_eq(r, 0);
        cr_assert_eq(total, size, "pieces of %zu, reads of %zu: %zu", big_pieces[k], reads[k],
                     total);
        cr_assert(memcmp(got, content, size) == 0, "pieces of %zu", big_pieces[k]);
        cr_assert_eq(zzz_multipart_next(mp, &part), 0);
    }
}

/* ---- zzz_part_save ------------------------------------------------------------- */

static char dir[256];
static int dir_fd = -1;

static void save_setup(void)
{
    setup();
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/zzz-multipart-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    cr_assert(mkdtemp(dir), "mkdtemp: %s", strerror(errno));
    dir_fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
    cr_assert_geq(dir_fd, 0);
}

static void save_teardown(void)
{
    free_owned();
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    cr_assert_eq(system(cmd), 0);
    close(dir_fd);
}

/* The names in the directory, sorted, joined by ','. */
static const char *listing(void)
{
    static char out[1024];
    char cmd[300];
    snprintf(cmd, sizeof cmd, "ls -A '%s' | sort | paste -sd, -", dir);
    FILE *p = popen(cmd, "r");
    cr_assert_not_null(p);
    size_t n = fread(out, 1, sizeof out - 1, p);
    pclose(p);
    while (n > 0 && out[n - 1] == '\n')
        n--;
    out[n] = '\0';
    return out;
}

static char *file_contents(const char *name, size_t *len)
{
    int fd = openat(dir_fd, name, O_RDONLY | O_CLOEXEC);
    cr_assert_geq(fd, 0, "%s: %s", name, strerror(errno));
    struct stat st;
    cr_assert_eq(fstat(fd, &st), 0);
    cr_assert_eq(st.st_mode & 077, 0, "mode %o", st.st_mode & 0777);
    char *data = own(malloc((size_t)st.st_size + 1));
    cr_assert_eq(read(fd, data, (size_t)st.st_size), st.st_size);
    close(fd);
    *len = (size_t)st.st_size;
    return data;
}

typedef void (*save_body)(void);

static void run_task(void *arg)
{
    ((save_body)(uintptr_t)arg)();
}

/* Runs body as the first task of a one-thread runtime (tardy_write needs
 * one). */
static void in_runtime(save_body body)
{
    tardy_config cfg = {.threads = 1};
    cr_assert_eq(tardy_run(&cfg, run_task, (void *)(uintptr_t)body), 0);
}

static const char save_body_text[] = "--XyZ\r\n" CD "name=a; filename=\"../../etc/passwd\"\r\n\r\n"
                                     "first file\r\ncontent\r\n"
                                     "--XyZ\r\n" CD "name=b; filename=\"\"\r\n\r\n\r\n"
                                     "--XyZ\r\n" CD "name=c\r\n\r\nthird\r\n"
                                     "--XyZ\r\n" CD "name=d\r\n\r\nfourth\r\n--XyZ--";

static void save_files(void)
{
    feed f;
    zzz_multipart *mp = open_mp("multipart/form-data; boundary=XyZ", save_body_text,
                                strlen(save_body_text), 5, NULL, &f);
    zzz_part *part;
    cr_assert_eq(zzz_multipart_next(mp, &part), 1);
    static const char *const bad[] = {"", ".", "..", "a/b", "/abs", "x/"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        cr_assert_eq(zzz_part_save(part, dir_fd, bad[i]), -EINVAL, "%s", bad[i]);
    char long_name[300];
    memset(long_name, 'n', 256);
    long_name[256] = '\0';
    cr_assert_eq(zzz_part_save(part, dir_fd, long_name), -EINVAL);
    cr_assert_eq(zzz_part_save(part, dir_fd, NULL), -EINVAL);
    cr_assert_eq(zzz_part_save(part, dir_fd, "one"), 19);
    cr_assert_eq(zzz_part_save(part, dir_fd, "again"), 0, "the part is spent: an empty file");
    cr_assert_eq(zzz_multipart_next(mp, &part), 1);
    cr_assert_eq(zzz_part_save(part, dir_fd, "one"), -EEXIST);
    cr_assert_eq(zzz_part_save(part, dir_fd, "empty"), 0);
    cr_assert_eq(zzz_multipart_next(mp, &part), 1);
    /* Taken before anything was read: the part is still whole. */
    cr_assert_eq(zzz_part_save(part, dir_fd, "again"), -EEXIST);
    zzz_str text;
    cr_assert_eq(zzz_part_text(part, 100, &text), 0);
    cr_assert(zzz_str_eq(text, "third"));
    cr_assert_eq(zzz_multipart_next(mp, &part), 1);
    cr_assert_eq(zzz_part_save(part, -1, "x"), -EBADF);
    cr_assert_eq(zzz_part_save(part, dir_fd, "fourth"), 6);
    cr_assert_eq(zzz_multipart_next(mp, &part), 0);
}

Test(multipart, save_to_new_files, .init = save_setup, .fini = save_teardown)
{
    in_runtime(save_files);
    cr_assert_str_eq(listing(), "again,empty,fourth,one");
    size_t len;
    char *data = file_contents("one", &len);
    cr_assert(len == 19 && memcmp(data, "first file\r\ncontent", 19) == 0);
    file_contents("empty", &len);
    cr_assert_eq(len, 0);
    data = file_contents("fourth", &len);
    cr_assert(len == 6 && memcmp(data, "fourth", 6) == 0);
}

static void save_cut(void)
{
    static const char body[] = "--XyZ\r\n" CD "name=a; filename=x\r\n\r\nsome bytes but no end";
    feed f;
    zzz_multipart *mp =
        open_mp("multipart/form-data; boundary=XyZ", body, sizeof body - 1, 4, NULL, &f);
    zzz_part *part;
    cr_assert_eq(zzz_multipart_next(mp, &part), 1);
    cr_assert_eq(zzz_part_save(part, dir_fd, "cut"), -EBADMSG);
    cr_assert_eq(zzz_part_save(part, dir_fd, "cut"), -EBADMSG);
    cr_assert_eq(zzz_multipart_next(mp, &part), -EBADMSG);

    zzz_multipart_opts opts = {.max_part_bytes = 10};
    size_t len;
    char *big = body_of(1, 11, &len);
    mp = open_mp("multipart/form-data; boundary=XyZ", big, len, 3, &opts, &f);
    cr_assert_eq(zzz_multipart_next(mp, &part), 1);
    cr_assert_eq(zzz_part_save(part, dir_fd, "big"), -EFBIG);
}

Test(multipart, save_leaves_nothing_on_failure, .init = save_setup, .fini = save_teardown)
{
    in_runtime(save_cut);
    cr_assert_str_eq(listing(), "");
}
