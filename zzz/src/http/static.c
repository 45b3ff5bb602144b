/* Static files: a directory mounted under a prefix (zzz_static) and
 * files held in memory (zzz_static_bytes). A request's path becomes a
 * name beneath the root (static_path.c); the answer follows the rules of
 * static_rules.h: validators, conditions, one range, pre-compressed
 * siblings. The bytes go through zzz_res_sendfile: uncopied from the page
 * cache on plain TCP, read into the record buffer with TLS. */
#include "http.h"
#include "static_impl.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The longest name beneath a root that is served. */
#define STATIC_NAME_MAX 4096
/* Entries a directory listing shows, at most. */
#define STATIC_LIST_MAX 10000

typedef struct static_mount {
    int root_fd;
    unsigned skip; /* the prefix's segments */
    zzz_static_opts opts;
    char *index;         /* opts.index, copied ("" for none) */
    char *cache_control; /* opts.cache_control, copied, or NULL */
} static_mount;

typedef struct static_bytes {
    const char *data; /* the caller's, kept */
    size_t len;
    char *type;
    char etag[ZZZ_ETAG_MAX];
    time_t mtime;
} static_bytes;

static void mount_free(void *p)
{
    static_mount *m = p;
    if (m->root_fd >= 0)
        close(m->root_fd);
    free(m->index);
    free(m->cache_control);
    free(m);
}

static void bytes_free(void *p)
{
    static_bytes *b = p;
    free(b->type);
    free(b);
}

/* ---- the answer ---- */

/* What a file's answer says of it. */
typedef struct static_entity {
    const char *type;
    const char *encoding; /* "br", "gzip" or NULL */
    const char *cache_control;
    char etag[ZZZ_ETAG_MAX];
    char last_modified[32];
    time_t mtime;     /* Last-Modified: never later than now */
    bool date_strong; /* mtime is a strong validator (RFC 9110 8.8.2.2):
                         a second or more before now */
    uint64_t size;
} static_entity;

/* The fields every answer about the entity carries (200, 206, 304). */
static void entity_headers(zzz_res *res, const static_entity *e, bool vary)
{
    zzz_res_header(res, "ETag", e->etag);
    zzz_res_header(res, "Last-Modified", e->last_modified);
    if (e->cache_control)
        zzz_res_header(res, "Cache-Control", e->cache_control);
    if (vary)
        zzz_res_header(res, "Vary", "Accept-Encoding");
}

static bool header(const zzz_req *req, const char *name, zzz_str *value)
{
    return zzz_req_header(req, name, value);
}

/* The preconditions, in RFC 9110 13.2.2's order: If-Match (else
 * If-Unmodified-Since) may fail the request (412); If-None-Match (else
 * If-Modified-Since) may find the client's copy current (304). Returns
 * 412, 304, or 0 to answer with the file. */
static int preconditions(const zzz_req *req, const static_entity *e)
{
    zzz_str v;
    time_t when;
    if (header(req, "If-Match", &v)) {
        if (!zzz_http_if_match(v.ptr, v.len, e->etag))
            return 412;
    } else if (header(req, "If-Unmodified-Since", &v) &&
               zzz_http_date_parse(v.ptr, v.len, &when) && e->mtime > when) {
        return 412;
    }
    if (header(req, "If-None-Match", &v))
        return zzz_http_none_match(v.ptr, v.len, e->etag) ? 304 : 0;
    if (header(req, "If-Modified-Since", &v) && zzz_http_date_parse(v.ptr, v.len, &when) &&
        e->mtime <= when)
        return 304;
    return 0;
}

/* Chooses the part to send: sets *first and *count, and answers 416
 * itself (returns false) when no range can be satisfied. */
static bool choose_range(const zzz_req *req, zzz_res *res, const static_entity *e,
                         uint64_t *first, uint64_t *count, bool *partial)
{
    *first = 0;
    *count = e->size;
    *partial = false;
    zzz_str range, if_range;
    if (!header(req, "Range", &range))
        return true;
    /* A date that is not a strong validator never matches: the earliest
     * time_t, which no HTTP-date reads as. */
    time_t if_date = e->date_strong ? e->mtime : (time_t)INT64_MIN;
    if (header(req, "If-Range", &if_range) &&
        !zzz_http_if_range(if_range.ptr, if_range.len, e->etag, if_date))
        return true; /* the client's part is of another version: all of it */
    uint64_t f, c;
    switch (zzz_http_range(range.ptr, range.len, e->size, &f, &c)) {
    case ZZZ_RANGE_ONE: {
        char content_range[80];
        snprintf(content_range, sizeof content_range, "bytes %llu-%llu/%llu",
                 (unsigned long long)f, (unsigned long long)(f + c - 1),
                 (unsigned long long)e->size);
        zzz_res_status(res, 206);
        zzz_res_header(res, "Content-Range", content_range);
        *first = f;
        *count = c;
        *partial = true;
        return true;
    }
    case ZZZ_RANGE_UNSATISFIABLE: {
        char content_range[48];
        snprintf(content_range, sizeof content_range, "bytes */%llu",
                 (unsigned long long)e->size);
        zzz_res_status(res, 416);
        zzz_res_header(res, "Content-Range", content_range);
        zzz_res_send(res, NULL, 0);
        return false;
    }
    case ZZZ_RANGE_MANY: /* answered whole, as RFC 9110 14.2 allows */
    case ZZZ_RANGE_NONE:
        break;
    }
    return true;
}

/* Answers the head of a file's response: 304, 416, or the fields of a 200
 * or 206 with its length. Returns false when that was the whole answer. */
static bool answer_head(const zzz_req *req, zzz_res *res, const static_entity *e, bool vary,
                        uint64_t *first, uint64_t *count)
{
    int pre = preconditions(req, e);
    if (pre == 304) {
        zzz_res_status(res, 304);
        entity_headers(res, e, vary);
        zzz_res_send(res, NULL, 0);
        return false;
    }
    if (pre == 412) {
        zzz_res_text(res, 412, "Precondition Failed\n");
        return false;
    }
    bool partial;
    if (!choose_range(req, res, e, first, count, &partial))
        return false;
    zzz_res_header(res, "Content-Type", e->type);
    zzz_res_header(res, "X-Content-Type-Options", "nosniff");
    zzz_res_header(res, "Accept-Ranges", "bytes");
    if (e->encoding)
        zzz_res_header(res, "Content-Encoding", e->encoding);
    entity_headers(res, e, vary);
    zzz_res_content_length(res, *count);
    return true;
}

/* The validators of a modification time: Last-Modified is never later
 * than the answer's Date (RFC 9110 8.8.2.1). */
static void entity_dates(static_entity *e, time_t mtime)
{
    time_t now = time(NULL);
    e->mtime = mtime < now ? mtime : now;
    e->date_strong = e->mtime < now;
    zzz_http_date_format(e->last_modified, e->mtime);
}

static void entity_from_stat(static_entity *e, const struct stat *st)
{
    zzz_http_etag(e->etag, (uint64_t)st->st_ino, (uint64_t)st->st_size, (int64_t)st->st_mtim.tv_sec,
                  st->st_mtim.tv_nsec);
    entity_dates(e, st->st_mtim.tv_sec);
    e->size = (uint64_t)st->st_size;
}

/* A sibling NAME.br or NAME.gz the client accepts and that is not older
 * than the file: its descriptor (the stat in *st), or -1. */
static int precompressed(const static_mount *m, const zzz_req *req, char *rel, size_t rel_len,
                         const struct stat *orig, struct stat *st, const char **encoding)
{
    zzz_str ae;
    if (m->opts.no_precompressed || !header(req, "Accept-Encoding", &ae) ||
        rel_len + 4 > STATIC_NAME_MAX)
        return -1;
    static const char *const codings[][2] = {{"br", ".br"}, {"gzip", ".gz"}};
    for (size_t i = 0; i < 2; i++) {
        if (!zzz_http_accepts(ae.ptr, ae.len, codings[i][0]))
            continue;
        memcpy(rel + rel_len, codings[i][1], 4);
        int fd = zzz_http_static_open(m->root_fd, rel, m->opts.symlinks_out);
        rel[rel_len] = '\0';
        if (fd < 0)
            continue;
        if (fstat(fd, st) == 0 && S_ISREG(st->st_mode) &&
            (st->st_mtim.tv_sec > orig->st_mtim.tv_sec ||
             (st->st_mtim.tv_sec == orig->st_mtim.tv_sec &&
              st->st_mtim.tv_nsec >= orig->st_mtim.tv_nsec))) {
            *encoding = codings[i][0];
            return fd;
        }
        close(fd);
    }
    return -1;
}

/* Serves the regular file fd (named rel, stat st). Takes fd. */
static void serve_file(const static_mount *m, zzz_req *req, zzz_res *res, int fd, char *rel,
                       size_t rel_len, const struct stat *st)
{
    static_entity e = {.cache_control = m->cache_control};
    e.type = zzz_http_mime_type(rel, rel_len, m->opts.types);
    struct stat zst;
    int zfd = precompressed(m, req, rel, rel_len, st, &zst, &e.encoding);
    if (zfd >= 0) {
        close(fd);
        fd = zfd;
        st = &zst;
    }
    entity_from_stat(&e, st);
    /* Whether or not a sibling was served (or looked for), the answer
     * depends on Accept-Encoding wherever siblings may be. */
    bool vary = !m->opts.no_precompressed;
    uint64_t first, count;
    if (answer_head(req, res, &e, vary, &first, &count)) {
        int err = zzz_res_sendfile(res, fd, (off_t)first, (size_t)count);
        if (err == 0)
            zzz_res_end(res);
    }
    close(fd);
}

/* ---- directories ---- */

/* 301 to the same path with a slash after it (and the same query). */
static void redirect_slash(zzz_req *req, zzz_res *res)
{
    zzz_str path = zzz_req_path_raw(req), query = zzz_req_query(req);
    char location[STATIC_NAME_MAX + 16];
    if (path.len + query.len + 3 > sizeof location) {
        zzz_res_text(res, 404, "Not Found\n");
        return;
    }
    size_t n = 0;
    memcpy(location, path.ptr, path.len);
    n += path.len;
    location[n++] = '/';
    if (query.len) {
        location[n++] = '?';
        memcpy(location + n, query.ptr, query.len);
        n += query.len;
    }
    location[n] = '\0';
    zzz_res_header(res, "Location", location);
    zzz_res_text(res, 301, "Moved Permanently\n");
}

static int name_order(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Writes s escaped for HTML text and attribute values, or (href)
 * percent-encoded as a path segment. */
static int write_escaped(zzz_res *res, const char *s, bool href)
{
    char out[512];
    size_t n = 0;
    int err = 0;
    for (; *s && err == 0; s++) {
        unsigned char c = (unsigned char)*s;
        char piece[8];
        size_t len;
        if (href && !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                      (c >= '0' && c <= '9') || strchr("-._~", c))) {
            len = (size_t)snprintf(piece, sizeof piece, "%%%02X", c);
        } else if (!href && strchr("&<>\"'", c)) {
            len = (size_t)snprintf(piece, sizeof piece, "&#%d;", c);
        } else {
            piece[0] = (char)c;
            len = 1;
        }
        if (n + len > sizeof out) {
            err = zzz_res_write(res, out, n);
            n = 0;
        }
        memcpy(out + n, piece, len);
        n += len;
    }
    return err ? err : zzz_res_write(res, out, n);
}

/* An HTML listing of the directory fd (names escaped, sorted, dotfiles
 * only when allowed). Takes fd. */
static void list_dir(const static_mount *m, zzz_req *req, zzz_res *res, int fd)
{
    DIR *d = fdopendir(fd);
    if (!d) {
        close(fd);
        zzz_res_text(res, 500, "Internal Server Error\n");
        return;
    }
    char **names = NULL;
    size_t count = 0, cap = 0;
    for (struct dirent *ent; (ent = readdir(d)) && count < STATIC_LIST_MAX;) {
        if (ent->d_name[0] == '.' && (!m->opts.dotfiles || !strcmp(ent->d_name, ".") ||
                                      !strcmp(ent->d_name, "..")))
            continue;
        bool dir = ent->d_type == DT_DIR;
        if (count == cap) {
            size_t ncap = cap ? cap * 2 : 64;
            char **grown = realloc(names, ncap * sizeof *names);
            if (!grown)
                break;
            names = grown;
            cap = ncap;
        }
        size_t len = strlen(ent->d_name);
        char *copy = malloc(len + 2);
        if (!copy)
            break;
        memcpy(copy, ent->d_name, len);
        copy[len] = dir ? '/' : '\0';
        copy[len + 1] = '\0';
        names[count++] = copy;
    }
    closedir(d);
    qsort(names, count, sizeof *names, name_order);
    zzz_res_header(res, "Content-Type", "text/html; charset=utf-8");
    zzz_res_header(res, "X-Content-Type-Options", "nosniff");
    zzz_res_header(res, "Cache-Control", "no-cache");
    zzz_str path = zzz_req_path(req);
    char path_text[STATIC_NAME_MAX + 1];
    size_t plen = path.len < STATIC_NAME_MAX ? path.len : STATIC_NAME_MAX;
    memcpy(path_text, path.ptr, plen);
    path_text[plen] = '\0';
    static const char open[] = "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Index of ";
    int err = zzz_res_write(res, open, sizeof open - 1);
    if (!err)
        err = write_escaped(res, path_text, false);
    static const char mid[] = "</title></head>\n<body><h1>Index of ";
    if (!err)
        err = zzz_res_write(res, mid, sizeof mid - 1);
    if (!err)
        err = write_escaped(res, path_text, false);
    static const char list[] = "</h1>\n<ul>\n<li><a href=\"../\">../</a></li>\n";
    if (!err)
        err = zzz_res_write(res, list, sizeof list - 1);
    for (size_t i = 0; i < count && !err; i++) {
        size_t len = strlen(names[i]);
        bool dir = len > 0 && names[i][len - 1] == '/';
        if (dir)
            names[i][len - 1] = '\0';
        err = zzz_res_write(res, "<li><a href=\"", 13);
        if (!err)
            err = write_escaped(res, names[i], true);
        if (!err)
            err = zzz_res_write(res, dir ? "/\">" : "\">", dir ? 3 : 2);
        if (!err)
            err = write_escaped(res, names[i], false);
        if (!err)
            err = zzz_res_write(res, dir ? "/</a></li>\n" : "</a></li>\n", dir ? 11 : 10);
    }
    static const char close_list[] = "</ul>\n</body></html>\n";
    if (!err)
        err = zzz_res_write(res, close_list, sizeof close_list - 1);
    if (!err)
        zzz_res_end(res);
    for (size_t i = 0; i < count; i++)
        free(names[i]);
    free(names);
}

/* A directory: its index, its listing, or 404. Takes fd. */
static void serve_dir(const static_mount *m, zzz_req *req, zzz_res *res, int fd, char *rel,
                      size_t rel_len)
{
    if (m->index[0]) {
        size_t ilen = strlen(m->index);
        if (rel_len + ilen + 2 <= STATIC_NAME_MAX) {
            size_t n = rel_len;
            if (n > 0)
                rel[n++] = '/';
            memcpy(rel + n, m->index, ilen + 1);
            int ifd = zzz_http_static_open(m->root_fd, rel, m->opts.symlinks_out);
            struct stat st;
            if (ifd >= 0 && fstat(ifd, &st) == 0 && S_ISREG(st.st_mode)) {
                close(fd);
                serve_file(m, req, res, ifd, rel, n + ilen, &st);
                return;
            }
            if (ifd >= 0)
                close(ifd);
            rel[rel_len] = '\0';
        }
    }
    if (m->opts.list_dirs) {
        list_dir(m, req, res, fd);
        return;
    }
    close(fd);
    zzz_res_text(res, 404, "Not Found\n");
}

/* ---- the handlers ---- */

static void static_handle(zzz_req *req, zzz_res *res, void *user)
{
    const static_mount *m = user;
    /* Room after the name for "/index" or ".br". */
    char rel[STATIC_NAME_MAX + 1];
    bool slash;
    ssize_t len = zzz_http_static_rel(zzz_req_path_raw(req), m->skip, m->opts.dotfiles, rel,
                                      STATIC_NAME_MAX - 256, &slash);
    if (len < 0) {
        zzz_res_text(res, 404, "Not Found\n");
        return;
    }
    int fd = zzz_http_static_open(m->root_fd, rel, m->opts.symlinks_out);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        if (fd >= 0)
            close(fd);
        bool denied = fd == -EACCES || fd == -EPERM;
        zzz_res_text(res, denied ? 403 : 404, denied ? "Forbidden\n" : "Not Found\n");
        return;
    }
    if (S_ISDIR(st.st_mode)) {
        if (!slash) {
            close(fd);
            redirect_slash(req, res);
            return;
        }
        serve_dir(m, req, res, fd, rel, (size_t)len);
        return;
    }
    if (!S_ISREG(st.st_mode) || slash) {
        /* No devices, FIFOs or sockets; a file is not a directory. */
        close(fd);
        zzz_res_text(res, 404, "Not Found\n");
        return;
    }
    serve_file(m, req, res, fd, rel, (size_t)len, &st);
}

/* The mount's own path without its slash: to the directory's URL. */
static void static_redirect(zzz_req *req, zzz_res *res, void *user)
{
    (void)user;
    redirect_slash(req, res);
}

static void bytes_handle(zzz_req *req, zzz_res *res, void *user)
{
    const static_bytes *b = user;
    static_entity e = {.type = b->type, .size = b->len};
    memcpy(e.etag, b->etag, sizeof e.etag);
    entity_dates(&e, b->mtime);
    uint64_t first, count;
    if (!answer_head(req, res, &e, false, &first, &count))
        return;
    if (zzz_res_write(res, b->data + first, (size_t)count) == 0)
        zzz_res_end(res);
}

/* ---- mounting ---- */

static char *copy_text(const char *s)
{
    size_t len = strlen(s);
    char *c = malloc(len + 1);
    if (c)
        memcpy(c, s, len + 1);
    return c;
}

/* The prefix without a final slash ("" for "/"), and its segments. */
static int prefix_normalize(const char *prefix, char *out, size_t cap, unsigned *segments)
{
    size_t len = strlen(prefix);
    if (len == 0 || prefix[0] != '/' || len >= cap)
        return -EINVAL;
    while (len > 0 && prefix[len - 1] == '/')
        len--;
    memcpy(out, prefix, len);
    out[len] = '\0';
    *segments = 0;
    for (size_t i = 0; i < len; i++) {
        if (out[i] == '/') {
            if (i + 1 < len && out[i + 1] == '/')
                return -EINVAL;
            (*segments)++;
        }
    }
    return 0;
}

int zzz_static(zzz_router *router, const char *prefix, const char *root,
               const zzz_static_opts *opts)
{
    if (!router || !prefix || !root)
        return -EINVAL;
    char base[1024], pattern[1040];
    unsigned segments;
    int err = prefix_normalize(prefix, base, sizeof base, &segments);
    if (err)
        return err;
    static_mount *m = calloc(1, sizeof *m);
    if (!m)
        return -ENOMEM;
    m->root_fd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (m->root_fd < 0) {
        err = -errno;
        free(m);
        return err;
    }
    m->skip = segments;
    if (opts)
        m->opts = *opts;
    m->index = copy_text(m->opts.index ? m->opts.index : "index.html");
    m->cache_control = m->opts.cache_control ? copy_text(m->opts.cache_control) : NULL;
    m->opts.index = NULL;
    m->opts.cache_control = NULL;
    if (!m->index || (opts && opts->cache_control && !m->cache_control) ||
        strchr(m->index, '/')) {
        err = m->index && strchr(m->index, '/') ? -EINVAL : -ENOMEM;
        mount_free(m);
        return err;
    }
    err = zzz_http_router_own(router, m, mount_free);
    if (err) {
        mount_free(m);
        return err;
    }
    snprintf(pattern, sizeof pattern, "%s/*path", base);
    err = zzz_route(router, "GET", pattern, static_handle, m);
    if (err == 0 && base[0])
        err = zzz_route(router, "GET", base, static_redirect, m);
    return err;
}

int zzz_static_bytes(zzz_router *router, const char *path, const void *data, size_t len,
                     const char *type)
{
    if (!router || !path || (!data && len > 0))
        return -EINVAL;
    static_bytes *b = calloc(1, sizeof *b);
    if (!b)
        return -ENOMEM;
    b->data = data;
    b->len = len;
    b->type = copy_text(type ? type : zzz_http_mime_type(path, strlen(path), NULL));
    if (!b->type) {
        free(b);
        return -ENOMEM;
    }
    /* A strong tag from the bytes themselves (FNV-1a), and start-up as
     * the modification time. */
    uint64_t h = 0xcbf29ce484222325u;
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)((const char *)data)[i]) * 0x100000001b3u;
    snprintf(b->etag, sizeof b->etag, "\"%llx-%zx\"", (unsigned long long)h, len);
    b->mtime = time(NULL);
    int err = zzz_http_router_own(router, b, bytes_free);
    if (err) {
        bytes_free(b);
        return err;
    }
    return zzz_route(router, "GET", path, bytes_handle, b);
}
