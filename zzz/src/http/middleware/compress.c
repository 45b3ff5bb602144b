/* The compression layer (zzz_use_compression): brotli or gzip as the
 * client prefers, through a body filter, with compressor state kept per
 * thread between requests. zlib and brotli do the compressing. */
#include "http.h"
#include "router.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#ifdef ZZZ_HAVE_ZLIB
#include <zlib.h>
#endif
#ifdef ZZZ_HAVE_BROTLI
#include <brotli/encode.h>
#endif

enum coding { CODING_NONE, CODING_GZIP, CODING_BR };

/* Compressors a thread keeps for the next responses: a deflate stream is
 * costly to set up and cheap to reset. */
#define COMPRESS_KEEP 16

typedef struct compress_layer {
    size_t min_bytes;
    int gzip_level;
    int brotli_quality;
    bool gzip, brotli;
    unsigned max_streams;
    char **types; /* lower case, ended by NULL */
} compress_layer;

typedef struct compress_thread {
#ifdef ZZZ_HAVE_ZLIB
    z_stream *idle[COMPRESS_KEEP];
#endif
    unsigned idle_count;
    unsigned live; /* compressors in use by this thread's responses */
} compress_thread;

/* Output of one compressor call, in request memory (a task's stack may
 * be small). */
#define COMPRESS_OUT 8192

/* One response's compression: in the request's memory. */
typedef struct compress_state {
    const compress_layer *layer;
    zzz_req *req;
    enum coding coding; /* what Accept-Encoding chose */
    enum coding active; /* what this body is compressed with */
    compress_thread *thread;
    bool counted;       /* counted in thread->live */
    bool gz_begun;      /* the gzip header has gone */
    uint32_t gz_crc;    /* CRC-32 of the bytes given so far */
    uint32_t gz_size;   /* their count, modulo 2^32 (RFC 1952's ISIZE) */
    unsigned char *out; /* COMPRESS_OUT bytes */
#ifdef ZZZ_HAVE_ZLIB
    z_stream *z;
#endif
#ifdef ZZZ_HAVE_BROTLI
    BrotliEncoderState *br;
#endif
} compress_state;

static const char *const default_types[] = {
    "text/",
    "application/json",
    "application/javascript",
    "application/x-javascript",
    "application/ecmascript",
    "application/xml",
    "application/xhtml+xml",
    "application/rss+xml",
    "application/atom+xml",
    "application/ld+json",
    "application/manifest+json",
    "application/geo+json",
    "application/problem+json",
    "application/wasm",
    "application/x-ndjson",
    "application/vnd.api+json",
    "image/svg+xml",
    "image/x-icon",
    "image/vnd.microsoft.icon",
    "image/bmp",
    "font/ttf",
    "font/otf",
    "application/x-font-ttf",
    "application/vnd.ms-fontobject",
    NULL,
};

/* ---- Accept-Encoding ---------------------------------------------------- */

/* The q-value at p (after "q="): 0..1000. Malformed: -1. */
static int parse_q(const char *p, const char *end)
{
    if (p >= end || (*p != '0' && *p != '1'))
        return -1;
    int q = (*p - '0') * 1000;
    p++;
    if (p < end && *p == '.') {
        p++;
        int scale = 100;
        for (int digits = 0; p < end && *p >= '0' && *p <= '9'; p++, digits++) {
            if (digits == 3)
                return -1;
            q += (*p - '0') * scale;
            scale /= 10;
        }
    }
    return p == end && q <= 1000 ? q : -1;
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t';
}

/* One element of Accept-Encoding, [at, end): its coding's name and q
 * (1000 when absent, -1 when malformed). */
static void element_parse(const char *v, size_t at, size_t end, zzz_str *name, int *q)
{
    while (at < end && is_space(v[at]))
        at++;
    size_t name_end = at;
    while (name_end < end && v[name_end] != ';')
        name_end++;
    size_t params = name_end;
    while (name_end > at && is_space(v[name_end - 1]))
        name_end--;
    *name = (zzz_str){v + at, name_end - at};
    *q = 1000;
    while (params < end) {
        size_t p = params + 1;
        while (p < end && is_space(v[p]))
            p++;
        size_t p_end = p;
        while (p_end < end && v[p_end] != ';')
            p_end++;
        params = p_end;
        while (p_end > p && is_space(v[p_end - 1]))
            p_end--;
        if (p_end - p >= 2 && (v[p] == 'q' || v[p] == 'Q') && v[p + 1] == '=')
            *q = parse_q(v + p + 2, v + p_end);
    }
}

/* The coding Accept-Encoding prefers among those the layer has: the
 * highest q above 0, brotli on a tie. Every field of the name counts. */
static enum coding choose_coding(const zzz_req *req, const compress_layer *layer)
{
    int q_gzip = -1, q_br = -1, q_any = -1;
    size_t count = zzz_req_header_count(req);
    for (size_t i = 0; i < count; i++) {
        const zzz_header *h = zzz_req_header_at(req, i);
        if (!zzz_str_eq_nocase(h->name, "accept-encoding"))
            continue;
        const char *v = h->value.ptr;
        size_t len = h->value.len;
        for (size_t at = 0; at < len;) {
            size_t end = at;
            while (end < len && v[end] != ',')
                end++;
            zzz_str name;
            int q;
            element_parse(v, at, end, &name, &q);
            at = end + 1;
            if (q < 0)
                continue;
            if (zzz_str_eq_nocase(name, "gzip") || zzz_str_eq_nocase(name, "x-gzip"))
                q_gzip = q > q_gzip ? q : q_gzip;
            else if (zzz_str_eq_nocase(name, "br"))
                q_br = q > q_br ? q : q_br;
            else if (zzz_str_eq(name, "*"))
                q_any = q > q_any ? q : q_any;
        }
    }
    if (q_gzip < 0)
        q_gzip = q_any;
    if (q_br < 0)
        q_br = q_any;
    if (!layer->gzip)
        q_gzip = 0;
    if (!layer->brotli)
        q_br = 0;
    if (q_br > 0 && q_br >= q_gzip)
        return CODING_BR;
    return q_gzip > 0 ? CODING_GZIP : CODING_NONE;
}

/* ---- compressors -------------------------------------------------------- */

static void *thread_make(const void *key)
{
    (void)key;
    return calloc(1, sizeof(compress_thread));
}

static void thread_free(void *ptr)
{
    compress_thread *t = ptr;
#ifdef ZZZ_HAVE_ZLIB
    for (unsigned i = 0; i < t->idle_count; i++) {
        deflateEnd(t->idle[i]);
        free(t->idle[i]);
    }
#endif
    free(t);
}

/* A compressor for the state's coding, or false (no memory). */
static bool compressor_take(compress_state *st, int64_t length)
{
    if (st->active != CODING_NONE)
        return true; /* begin runs once per response; this one has it */
#ifdef ZZZ_HAVE_ZLIB
    if (st->coding == CODING_GZIP) {
        compress_thread *t = st->thread;
        if (t && t->idle_count > 0) {
            st->z = t->idle[--t->idle_count];
            return deflateReset(st->z) == Z_OK;
        }
        st->z = calloc(1, sizeof *st->z);
        /* -15: raw deflate with a 32 KiB window; the gzip header and
         * trailer (RFC 1952) are written here, the CRC taken over each
         * piece at once, which costs less than zlib's wrapper taking it
         * a window's fill at a time. */
        if (st->z && deflateInit2(st->z, st->layer->gzip_level, Z_DEFLATED, -15, 8,
                                  Z_DEFAULT_STRATEGY) != Z_OK) {
            free(st->z);
            st->z = NULL;
        }
        return st->z != NULL;
    }
#endif
#ifdef ZZZ_HAVE_BROTLI
    if (st->coding == CODING_BR) {
        st->br = BrotliEncoderCreateInstance(NULL, NULL, NULL);
        if (!st->br)
            return false;
        BrotliEncoderSetParameter(st->br, BROTLI_PARAM_QUALITY, (uint32_t)st->layer->brotli_quality);
        BrotliEncoderSetParameter(st->br, BROTLI_PARAM_LGWIN, 20);
        if (length > 0 && length < (int64_t)1 << 30)
            BrotliEncoderSetParameter(st->br, BROTLI_PARAM_SIZE_HINT, (uint32_t)length);
        return true;
    }
#endif
    (void)length;
    return false;
}

static void compress_release(void *state)
{
    compress_state *st = state;
    if (st->counted) {
        st->thread->live--;
        st->counted = false;
    }
#ifdef ZZZ_HAVE_ZLIB
    if (st->z) {
        compress_thread *t = st->thread;
        if (t && t->idle_count < COMPRESS_KEEP) {
            t->idle[t->idle_count++] = st->z;
        } else {
            deflateEnd(st->z);
            free(st->z);
        }
        st->z = NULL;
    }
#endif
#ifdef ZZZ_HAVE_BROTLI
    if (st->br) {
        BrotliEncoderDestroyInstance(st->br);
        st->br = NULL;
    }
#endif
}

/* ---- the filter --------------------------------------------------------- */

static bool type_compressible(const compress_layer *layer, zzz_str type)
{
    const char *semi = memchr(type.ptr, ';', type.len);
    size_t len = semi ? (size_t)(semi - type.ptr) : type.len;
    while (len > 0 && (type.ptr[len - 1] == ' ' || type.ptr[len - 1] == '\t'))
        len--;
    /* An event stream is never compressed, whatever the list says: each
     * event must reach the browser as it is sent, and a compressor holds
     * bytes back (and some proxies and clients take it ill). */
    static const char event_stream[] = "text/event-stream";
    if (len == sizeof event_stream - 1 && strncasecmp(type.ptr, event_stream, len) == 0)
        return false;
    for (char **t = layer->types; *t; t++) {
        size_t tlen = strlen(*t);
        bool prefix = tlen > 0 && (*t)[tlen - 1] == '/';
        if (prefix ? len > tlen && strncasecmp(type.ptr, *t, tlen) == 0
                   : len == tlen && strncasecmp(type.ptr, *t, tlen) == 0)
            return true;
    }
    return false;
}

/* Says that the answer depends on Accept-Encoding, unless a Vary field
 * says so already (or "*": on everything). A field of its own: several
 * Vary fields are one list. */
static bool vary_accept_encoding(zzz_res *res)
{
    if (zzz_http_res_field_has(res, "Vary", "accept-encoding"))
        return true;
    zzz_str vary;
    if (zzz_res_field(res, "Vary", &vary) && vary.len == 1 && vary.ptr[0] == '*')
        return true;
    return zzz_res_header(res, "Vary", "Accept-Encoding") == 0;
}

/* A strong validator of the identity body does not hold for the
 * compressed one: W/ it, or drop it when it cannot be rewritten. */
static void etag_weaken(zzz_res *res)
{
    zzz_str etag;
    if (!zzz_res_field(res, "ETag", &etag) || (etag.len >= 2 && etag.ptr[0] == 'W'))
        return;
    char weak[258] = "W/";
    bool fits = etag.len <= sizeof weak - 2;
    if (fits)
        memcpy(weak + 2, etag.ptr, etag.len);
    size_t len = etag.len + 2;
    zzz_res_header_remove(res, "ETag");
    if (fits)
        zzz_res_header_str(res, (zzz_str){"ETag", 4}, (zzz_str){weak, len});
}

static bool cache_control_no_transform(const zzz_res *res)
{
    return zzz_http_res_field_has(res, "Cache-Control", "no-transform");
}

/* A 304 gets the fields its 200 would have: Vary, and a weak ETag where
 * the 200 would have been compressed. */
static void compress_not_modified(zzz_res *res, compress_state *st)
{
    zzz_str type;
    if (zzz_res_field(res, "Content-Type", &type) && !type_compressible(st->layer, type))
        return;
    if (zzz_res_field(res, "Content-Encoding", NULL) || cache_control_no_transform(res))
        return;
    vary_accept_encoding(res);
    if (st->coding != CODING_NONE)
        etag_weaken(res);
}

static bool compress_begin(zzz_res *res, void *state, int64_t length)
{
    compress_state *st = state;
    const compress_layer *layer = st->layer;
    int status = zzz_res_status_code(res);
    if (status == 304) {
        compress_not_modified(res, st);
        return false;
    }
    zzz_str type;
    if (status == 206 || zzz_res_field(res, "Content-Encoding", NULL) ||
        !zzz_res_field(res, "Content-Type", &type) || !type_compressible(layer, type))
        return false;
    if (length >= 0 && (uint64_t)length < layer->min_bytes)
        return false;
    if (cache_control_no_transform(res))
        return false;
    /* Without room for Vary, the answer may not be compressed: a cache
     * would hand the compressed bytes to anyone. */
    if (!vary_accept_encoding(res) || st->coding == CODING_NONE)
        return false;
    bool head = zzz_str_eq(zzz_req_method(st->req), "HEAD");
    if (!head) {
        /* Bounded: past max_streams a thread sends bodies as they are. */
        st->thread = zzz_http_thread_local(zzz_req_conn(st->req), layer, thread_make, thread_free);
        if (!st->thread || st->thread->live >= layer->max_streams)
            return false;
        st->out = zzz_alloc(st->req, COMPRESS_OUT);
        if (!st->out || !compressor_take(st, length))
            return false; /* no memory: sent as it is, which is still right */
        st->thread->live++;
        st->counted = true;
    }
    if (zzz_res_header(res, "Content-Encoding", st->coding == CODING_BR ? "br" : "gzip") != 0)
        return false; /* the compressor goes back at release */
    st->active = st->coding;
    zzz_res_header_remove(res, "Accept-Ranges");
    etag_weaken(res);
    return true;
}

static int compress_data(zzz_res *res, void *state, const void *data, size_t len, bool last)
{
    compress_state *st = state;
    unsigned char *out = st->out;
#ifdef ZZZ_HAVE_ZLIB
    if (st->active == CODING_GZIP) {
        z_stream *z = st->z;
        const unsigned char *in = data;
        /* The header leads the first output: no mtime, no name, Unix. */
        size_t lead = 0;
        if (!st->gz_begun) {
            static const unsigned char header[10] = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3};
            memcpy(out, header, sizeof header);
            lead = sizeof header;
            st->gz_begun = true;
            st->gz_crc = (uint32_t)crc32(0, Z_NULL, 0);
        }
        /* zlib counts in uInt: a larger piece goes in slices. */
        do {
            size_t slice = len > UINT_MAX ? UINT_MAX : len;
            bool final = last && slice == len;
            z->next_in = (Bytef *)(uintptr_t)in;
            z->avail_in = (uInt)slice;
            if (slice > 0)
                st->gz_crc = (uint32_t)crc32(st->gz_crc, in, (uInt)slice);
            st->gz_size += (uint32_t)slice;
            in += slice;
            len -= slice;
            int flush = final ? Z_FINISH : len > 0 ? Z_NO_FLUSH : Z_SYNC_FLUSH;
            for (;;) {
                z->next_out = out + lead;
                z->avail_out = (uInt)(COMPRESS_OUT - lead);
                lead = 0;
                int rc = deflate(z, flush);
                if (rc == Z_STREAM_ERROR)
                    return -EIO;
                size_t produced = COMPRESS_OUT - z->avail_out;
                if (rc == Z_STREAM_END) {
                    /* The trailer: CRC-32 and ISIZE, little-endian. */
                    unsigned char trailer[8];
                    for (int i = 0; i < 4; i++) {
                        trailer[i] = (unsigned char)(st->gz_crc >> (8 * i));
                        trailer[4 + i] = (unsigned char)(st->gz_size >> (8 * i));
                    }
                    if (COMPRESS_OUT - produced >= sizeof trailer) {
                        memcpy(out + produced, trailer, sizeof trailer);
                        produced += sizeof trailer;
                    } else {
                        int err = zzz_res_filter_out(res, out, produced);
                        if (err)
                            return err;
                        memcpy(out, trailer, sizeof trailer);
                        produced = sizeof trailer;
                    }
                }
                int err = zzz_res_filter_out(res, out, produced);
                if (err)
                    return err;
                if (rc == Z_STREAM_END)
                    break;
                /* Everything taken and flushed: deflate left room. */
                if (!final && z->avail_in == 0 && z->avail_out > 0)
                    break;
                /* No progress possible: the flush had ended exactly at
                 * the end of the last output. */
                if (rc == Z_BUF_ERROR && produced == 0) {
                    if (!final && z->avail_in == 0)
                        break;
                    return -EIO;
                }
            }
        } while (len > 0);
        return 0;
    }
#endif
#ifdef ZZZ_HAVE_BROTLI
    if (st->active == CODING_BR) {
        const uint8_t *in = data;
        size_t avail_in = len;
        BrotliEncoderOperation op = last ? BROTLI_OPERATION_FINISH : BROTLI_OPERATION_FLUSH;
        for (;;) {
            uint8_t *next_out = out;
            size_t avail_out = COMPRESS_OUT;
            if (!BrotliEncoderCompressStream(st->br, op, &avail_in, &in, &avail_out, &next_out,
                                             NULL))
                return -EIO;
            int err = zzz_res_filter_out(res, out, COMPRESS_OUT - avail_out);
            if (err)
                return err;
            if (avail_in == 0 && !BrotliEncoderHasMoreOutput(st->br) &&
                (!last || BrotliEncoderIsFinished(st->br)))
                return 0;
        }
    }
#endif
    (void)res;
    (void)data;
    (void)len;
    (void)last;
    (void)out;
    return -EIO;
}

static const zzz_body_filter compress_filter = {
    .begin = compress_begin,
    .data = compress_data,
    .release = compress_release,
};

static void compress_layer_run(zzz_req *req, zzz_res *res, zzz_next *next, void *user)
{
    compress_layer *layer = user;
    compress_state *st = zzz_alloc(req, sizeof *st);
    if (st) {
        memset(st, 0, sizeof *st);
        st->layer = layer;
        st->req = req;
        st->coding = choose_coding(req, layer);
        /* Even when nothing is accepted: the filter adds Vary. */
        zzz_res_filter(res, &compress_filter, st);
    }
    zzz_next_run(next);
}

/* ---- adding it ---------------------------------------------------------- */

static void layer_free(void *ptr)
{
    compress_layer *layer = ptr;
    if (layer->types)
        for (char **t = layer->types; *t; t++)
            free(*t);
    free(layer->types);
    free(layer);
}

int zzz_use_compression(zzz_router *router, const char *prefix, const zzz_compress_config *cfg)
{
    zzz_compress_config none = {0};
    if (!cfg)
        cfg = &none;
    if (!router || !prefix || cfg->gzip_level < 0 || cfg->gzip_level > 9 ||
        cfg->brotli_quality < 0 || cfg->brotli_quality > 11)
        return -EINVAL;
    bool gzip = false, brotli = false;
#ifdef ZZZ_HAVE_ZLIB
    gzip = !cfg->no_gzip;
#endif
#ifdef ZZZ_HAVE_BROTLI
    brotli = !cfg->no_brotli;
#endif
    if (!gzip && !brotli)
        return -ENOTSUP;
    compress_layer *layer = calloc(1, sizeof *layer);
    if (!layer)
        return -ENOMEM;
    layer->min_bytes = cfg->min_bytes ? cfg->min_bytes : 1024;
    layer->gzip_level = cfg->gzip_level ? cfg->gzip_level : 5;
    layer->brotli_quality = cfg->brotli_quality ? cfg->brotli_quality : 4;
    layer->gzip = gzip;
    layer->brotli = brotli;
    layer->max_streams = cfg->max_streams ? cfg->max_streams : 64;
    const char *const *types = cfg->types ? cfg->types : default_types;
    size_t n = 0;
    while (types[n])
        n++;
    layer->types = calloc(n + 1, sizeof *layer->types);
    int err = layer->types ? 0 : -ENOMEM;
    for (size_t i = 0; err == 0 && i < n; i++) {
        size_t len = strlen(types[i]);
        if (len == 0 || len > 255) {
            err = -EINVAL;
            break;
        }
        layer->types[i] = malloc(len + 1);
        if (!layer->types[i]) {
            err = -ENOMEM;
            break;
        }
        for (size_t j = 0; j <= len; j++) {
            char c = types[i][j];
            layer->types[i][j] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
        }
    }
    if (err == 0)
        err = zzz_http_router_own(router, layer, layer_free);
    if (err) {
        layer_free(layer);
        return err;
    }
    /* Owned by the router from here, even if the layer cannot go in. */
    return zzz_use(router, prefix, compress_layer_run, layer);
}
