/* libFuzzer target for the multipart/form-data reader (zzz/src/http/
 * multipart.c and multipart_head.c): an input is a Content-Type and a
 * body, which the reader gets through a stand-in for zzz_req_read, once
 * in one piece and once in pieces of sizes the input picks (and read in
 * other sizes, some parts taken as text, some skipped, with limits the
 * input picks). Both readings must give the same account (parts, names,
 * filenames, types, content, the error and the answer it set), no part's
 * content may hold the delimiter, and no pull may ask for 0 bytes. */
#include "multipart.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "multipart_fuzz: %s:%d: check failed: %s\n", __FILE__, __LINE__,       \
                    #cond);                                                                        \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/* ---- stand-ins for the request (multipart.c calls these) --------------------- */

static zzz_str type;
static const uint8_t *body;
static size_t body_len, body_pos;
static uint32_t piece_state; /* 0: whole pulls */
static bool fail_at_end;
static char arena[1 << 18];
static size_t arena_used;
static int rejected;

void *zzz_alloc(zzz_req *req, size_t n)
{
    (void)req;
    if (n == 0 || n > sizeof arena - arena_used)
        return NULL;
    void *p = arena + arena_used;
    arena_used += (n + 15) & ~(size_t)15;
    if (arena_used > sizeof arena)
        arena_used = sizeof arena;
    return p;
}

ssize_t zzz_req_read(zzz_req *req, void *buf, size_t len)
{
    (void)req;
    CHECK(len > 0); /* 0 would read as the body's end */
    if (body_pos == body_len)
        return fail_at_end ? -ETIMEDOUT : 0;
    size_t n = body_len - body_pos;
    if (n > len)
        n = len;
    if (piece_state) {
        piece_state = piece_state * 1103515245u + 12345u;
        size_t piece = 1 + (piece_state >> 16) % 67;
        if (n > piece)
            n = piece;
    }
    memcpy(buf, body + body_pos, n);
    body_pos += n;
    return (ssize_t)n;
}

bool zzz_req_header(const zzz_req *req, const char *name, zzz_str *value)
{
    (void)req;
    (void)name;
    *value = type;
    return type.len > 0;
}

void zzz_http_req_reject(zzz_req *req, int status)
{
    (void)req;
    if (!rejected)
        rejected = status;
}

/* ---- one reading ------------------------------------------------------------- */

typedef struct account {
    char *text;
    size_t len, cap;
} account;

static void put(account *a, const void *p, size_t n)
{
    CHECK(a->len + n <= a->cap);
    memcpy(a->text + a->len, p, n);
    a->len += n;
}

static void put_str(account *a, const char *tag, zzz_str s)
{
    put(a, tag, strlen(tag));
    put(a, &s.len, sizeof s.len);
    put(a, s.ptr, s.len);
}

static void put_int(account *a, const char *tag, long v)
{
    put(a, tag, strlen(tag));
    put(a, &v, sizeof v);
}

/* Reads the whole body; its account into a. mode picks limits and how
 * each part is consumed; whole: one pull and big reads. */
static void reading(uint8_t mode, uint8_t pieces, bool whole, account *a)
{
    static zzz_req req; /* zeros: no body read yet, none stored */
    arena_used = 0;
    rejected = 0;
    body_pos = 0;
    piece_state = whole ? 0 : pieces | 0x100u;
    static const uint64_t part_max[] = {0, 64, 7, 1};
    static const size_t header_max[] = {0, 64, 300, 20};
    static const unsigned parts_max[] = {0, 1, 3, 8};
    zzz_multipart_opts opts = {
        .max_part_bytes = part_max[mode & 3],
        .max_header_bytes = header_max[(mode >> 2) & 3],
        .max_parts = parts_max[(mode >> 4) & 3],
    };
    zzz_multipart *mp;
    int r = zzz_req_multipart(&req, &opts, &mp);
    put_int(a, "open", r);
    if (r == 0) {
        zzz_part *part;
        unsigned index = 0;
        char buf[300];
        while ((r = zzz_multipart_next(mp, &part)) == 1) {
            zzz_str file, v;
            put_str(a, "name", zzz_part_name(part));
            if (zzz_part_filename(part, &file))
                put_str(a, "file", file);
            put_str(a, "type", zzz_part_content_type(part));
            if (zzz_part_header(part, "x-a", &v))
                put_str(a, "x-a", v);
            /* How this part is consumed: read, text, or skipped. */
            unsigned how = (mode >> 6) ^ (index++ % 3);
            /* No content holds the delimiter. */
            if (how == 0 || how == 3) {
                ssize_t n;
                size_t size = whole ? sizeof buf : 1 + (index * 37) % sizeof buf;
                size_t start = a->len;
                while ((n = zzz_part_read(part, buf, size)) > 0)
                    put(a, buf, (size_t)n);
                CHECK(!memmem(a->text + start, a->len - start, mp->delim, mp->delim_len));
                put_int(a, "read", (long)n);
            } else if (how == 1) {
                int t = zzz_part_text(part, 100, &v);
                if (t == 0) {
                    CHECK(!memmem(v.ptr, v.len, mp->delim, mp->delim_len));
                    put(a, v.ptr, v.len);
                }
                put_int(a, "text", t);
            }
        }
    }
    put_int(a, "end", r);
    put_int(a, "status", rejected);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2 || size > 1 << 16)
        return 0;
    uint8_t mode = data[0], pieces = data[1];
    data += 2;
    size -= 2;
    const uint8_t *nl = memchr(data, '\n', size < 300 ? size : 300);
    size_t type_len = nl ? (size_t)(nl - data) : 0;
    type = (zzz_str){(const char *)data, type_len};
    body = nl ? nl + 1 : data;
    body_len = size - (size_t)(body - data);
    fail_at_end = pieces & 1;

    static char one[1 << 18], two[1 << 18];
    account a = {one, 0, sizeof one}, b = {two, 0, sizeof two};
    reading(mode, pieces, true, &a);
    reading(mode, pieces, false, &b);
    if (a.len != b.len || memcmp(a.text, b.text, a.len) != 0) {
        fprintf(stderr, "multipart_fuzz: whole and in pieces differ\n");
        abort();
    }
    return 0;
}
