/* Static files: a directory mounted under a prefix (zzz_static) and
 * files held in memory (zzz_static_bytes). A request's path becomes a
 * name beneath the root (static_path.c); the answer follows the rules of
 * static_rules.h: validators, conditions, one range, pre-compressed
 * siblings. The bytes go through zzz_res_sendfile: uncopied from the page
 * cache on plain TCP, read into the record buffer with TLS. */
#include "http.h"
#include "static_impl.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct static_mount {
    int root_fd;
    unsigned skip; /* the prefix's segments */
    zzz_static_opts opts;
    char *index;         /* opts.index, copied ("" for none) */
    char *cache_control; /* opts.cache_control, copied, or NULL */
    size_t cache_bytes;  /* per thread; 0: no cache */
    size_t cache_file_max;
    unsigned cache_fds;
    zzz_mime_type *types; /* opts.types, copied (one block), or NULL */
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
    free(m->types);
    free(m);
}

static void bytes_free(void *p)
{
    static_bytes *b = p;
    free(b->type);
    free(b);
}

/* The entity of the file named rel (for its type) of stat st, sent with
 * Content-Encoding `encoding` (NULL: none). */
static void entity_of(static_entity *e, const static_mount *m, const char *rel, size_t rel_len,
                      const struct stat *st, const char *encoding)
{
    *e = (static_entity){
        .type = zzz_http_mime_type(rel, rel_len, m->opts.types),
        .encoding = encoding,
        .cache_control = m->cache_control,
        /* Whether or not a sibling is served (or looked for), the answer
         * depends on Accept-Encoding wherever siblings may be. */
        .vary = !m->opts.no_precompressed,
        .size = (uint64_t)st->st_size,
    };
    zzz_http_etag(e->etag, (uint64_t)st->st_ino, (uint64_t)st->st_size, (int64_t)st->st_mtim.tv_sec,
                  st->st_mtim.tv_nsec);
    zzz_http_static_entity_dates(e, st->st_mtim.tv_sec);
}

static bool not_older(struct timespec a, struct timespec b)
{
    return a.tv_sec > b.tv_sec || (a.tv_sec == b.tv_sec && a.tv_nsec >= b.tv_nsec);
}

static const char *const codings[][2] = {{"br", ".br"}, {"gzip", ".gz"}};

/* What an answer is sent from: an entry of the cache (pinned), or a
 * descriptor with its entity. */
typedef struct static_rep {
    const static_cached *cached;
    int fd;
    static_entity e;
} static_rep;

/* A sibling NAME.br or NAME.gz the client accepts and that is not older
 * than the file (modified at mtim), into *rep: from the cache (c may be
 * NULL), read into it when it can be kept, else as a descriptor. A
 * sibling found absent is recorded as such. Returns false when there is
 * none to send. rel has room after it for the suffix. */
static bool sibling(const static_mount *m, static_cache *c, const zzz_req *req, char *rel,
                    size_t rel_len, struct timespec mtim, static_rep *rep)
{
    zzz_str ae;
    if (m->opts.no_precompressed || !zzz_req_header(req, "Accept-Encoding", &ae) ||
        rel_len + 4 > STATIC_NAME_MAX)
        return false;
    for (size_t i = 0; i < 2; i++) {
        if (!zzz_http_accepts(ae.ptr, ae.len, codings[i][0]))
            continue;
        memcpy(rel + rel_len, codings[i][1], 4);
        /* Cached under its name and the NUL after it: a key no request
         * has (a NUL in a path is refused), so a request for NAME.gz
         * itself never gets the entry that answers NAME gzip-encoded. */
        size_t len = rel_len + 4;
        const static_cached *known = c ? zzz_http_static_cache_get(c, m->root_fd, rel, len) : NULL;
        if (known) {
            rel[rel_len] = '\0';
            if (!known->absent && not_older(known->mtim, mtim)) {
                *rep = (static_rep){.cached = known, .fd = -1};
                return true;
            }
            zzz_http_static_cache_unpin(c, known);
            continue;
        }
        int fd = zzz_http_static_open(m->root_fd, rel, m->opts.symlinks_out);
        if (fd == -ENOENT && c)
            zzz_http_static_cache_put_absent(c, m->root_fd, rel, len);
        struct stat st;
        if (fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && not_older(st.st_mtim, mtim)) {
            *rep = (static_rep){.fd = fd};
            entity_of(&rep->e, m, rel, rel_len, &st, codings[i][0]);
            if (c && zzz_http_static_cache_wants(c, &st, time(NULL)))
                rep->cached = zzz_http_static_cache_put(c, rel, len, fd, &st, &rep->e);
            rel[rel_len] = '\0';
            if (rep->cached) {
                close(fd);
                rep->fd = -1;
            }
            return true;
        }
        rel[rel_len] = '\0';
        if (fd >= 0)
            close(fd);
    }
    return false;
}

static void answer_cached(zzz_req *req, zzz_res *res, const static_cached *f)
{
    if (f->data || f->fd < 0)
        zzz_http_static_answer_bytes(req, res, &f->e, f->data);
    else
        zzz_http_static_answer_fd(req, res, &f->e, f->fd);
}

/* Answers from rep and lets it go (unpin or close). */
static void answer_rep(static_cache *c, zzz_req *req, zzz_res *res, static_rep *rep)
{
    if (rep->cached) {
        answer_cached(req, res, rep->cached);
        zzz_http_static_cache_unpin(c, rep->cached);
    } else {
        zzz_http_static_answer_fd(req, res, &rep->e, rep->fd);
        close(rep->fd);
    }
}

/* Serves the cached file f, named rel (room after it for a suffix).
 * Takes f's pin. */
static void serve_cached(const static_mount *m, static_cache *c, zzz_req *req, zzz_res *res,
                         char *rel, size_t rel_len, const static_cached *f)
{
    static_rep rep;
    if (sibling(m, c, req, rel, rel_len, f->mtim, &rep))
        answer_rep(c, req, res, &rep);
    else
        answer_cached(req, res, f);
    zzz_http_static_cache_unpin(c, f);
}

/* Serves the regular file fd (named rel, stat st): from the cache when it
 * can be kept there, else from the descriptor. Takes fd. */
static void serve_file(const static_mount *m, static_cache *c, zzz_req *req, zzz_res *res, int fd,
                       char *rel, size_t rel_len, const struct stat *st)
{
    static_rep rep = {.fd = fd};
    if (c && zzz_http_static_cache_wants(c, st, time(NULL))) {
        entity_of(&rep.e, m, rel, rel_len, st, NULL);
        const static_cached *f = zzz_http_static_cache_put(c, rel, rel_len, fd, st, &rep.e);
        if (f) {
            close(fd);
            serve_cached(m, c, req, res, rel, rel_len, f);
            return;
        }
    }
    if (sibling(m, c, req, rel, rel_len, st->st_mtim, &rep))
        close(fd);
    else
        entity_of(&rep.e, m, rel, rel_len, st, NULL);
    answer_rep(c, req, res, &rep);
}

/* ---- directories ---- */

/* Appends "/INDEX" (just "INDEX" to the root's "") to the directory name
 * rel. Returns the new length, or 0 without an index or room for it. */
static size_t index_name(const static_mount *m, char *rel, size_t rel_len)
{
    size_t ilen = strlen(m->index);
    if (!ilen || rel_len + ilen + 2 > STATIC_NAME_MAX)
        return 0;
    size_t n = rel_len;
    if (n > 0)
        rel[n++] = '/';
    memcpy(rel + n, m->index, ilen + 1);
    return n + ilen;
}

/* A directory: its index, its listing, or 404. Takes fd. */
static void serve_dir(const static_mount *m, static_cache *c, zzz_req *req, zzz_res *res, int fd,
                      char *rel, size_t rel_len)
{
    size_t n = index_name(m, rel, rel_len);
    if (n) {
        int ifd = zzz_http_static_open(m->root_fd, rel, m->opts.symlinks_out);
        struct stat st;
        if (ifd >= 0 && fstat(ifd, &st) == 0 && S_ISREG(st.st_mode)) {
            close(fd);
            serve_file(m, c, req, res, ifd, rel, n, &st);
            return;
        }
        if (ifd >= 0)
            close(ifd);
        rel[rel_len] = '\0';
    }
    if (m->opts.list_dirs) {
        zzz_http_static_list(m->opts.dotfiles, req, res, fd);
        return;
    }
    close(fd);
    zzz_res_error(res, 404, "no such file");
}

/* ---- the handlers ---- */

static void *cache_make(const void *key)
{
    const static_mount *m = key;
    return zzz_http_static_cache_new(m->cache_bytes, m->cache_file_max, m->cache_fds, 0);
}

/* The mount's cache on the thread serving req, or NULL (none wanted, or
 * out of memory: the files are then read each time). */
static static_cache *mount_cache(const static_mount *m, zzz_req *req)
{
    if (!m->cache_bytes)
        return NULL;
    return zzz_http_thread_local(req->conn, m, cache_make, zzz_http_static_cache_free);
}

static void static_handle(zzz_req *req, zzz_res *res, void *user)
{
    const static_mount *m = user;
    /* The name is no longer than the raw path; after it, room for "/" and
     * an index name (at most 255 bytes) or ".br". Sized to the request,
     * so a task's stack stays shallow for the usual short names. */
    zzz_str raw = zzz_req_path_raw(req);
    size_t name_cap = raw.len + 1 < STATIC_NAME_MAX - 256 ? raw.len + 1 : STATIC_NAME_MAX - 256;
    char rel[name_cap + STATIC_SUFFIX_ROOM];
    bool slash;
    ssize_t len = zzz_http_static_rel(raw, m->skip, m->opts.dotfiles, rel, name_cap, &slash);
    if (len < 0) {
        zzz_res_error(res, 404, "no such file");
        return;
    }
    static_cache *c = mount_cache(m, req);
    if (c) {
        /* A file (or a directory's index) read before, unchanged since:
         * no open, no read. A name with a slash can only be a directory's. */
        size_t n = slash ? index_name(m, rel, (size_t)len) : (size_t)len;
        const static_cached *f = n ? zzz_http_static_cache_get(c, m->root_fd, rel, n) : NULL;
        if (f && !f->absent) {
            serve_cached(m, c, req, res, rel, n, f);
            return;
        }
        if (f)
            zzz_http_static_cache_unpin(c, f);
        rel[len] = '\0';
    }
    int fd = zzz_http_static_open(m->root_fd, rel, m->opts.symlinks_out);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        if (fd >= 0)
            close(fd);
        bool denied = fd == -EACCES || fd == -EPERM;
        zzz_res_error(res, denied ? 403 : 404, denied ? "file not readable" : "no such file");
        return;
    }
    if (S_ISDIR(st.st_mode)) {
        if (!slash) {
            close(fd);
            zzz_http_static_redirect_slash(req, res);
            return;
        }
        serve_dir(m, c, req, res, fd, rel, (size_t)len);
        return;
    }
    if (!S_ISREG(st.st_mode) || slash) {
        /* No devices, FIFOs or sockets; a file is not a directory. */
        close(fd);
        zzz_res_error(res, 404, "no such file");
        return;
    }
    serve_file(m, c, req, res, fd, rel, (size_t)len, &st);
}

/* The mount's own path without its slash: to the directory's URL. */
static void static_redirect(zzz_req *req, zzz_res *res, void *user)
{
    (void)user;
    zzz_http_static_redirect_slash(req, res);
}

static void bytes_handle(zzz_req *req, zzz_res *res, void *user)
{
    const static_bytes *b = user;
    static_entity e = {.type = b->type, .size = b->len};
    memcpy(e.etag, b->etag, sizeof e.etag);
    zzz_http_static_entity_dates(&e, b->mtime);
    zzz_http_static_answer_bytes(req, res, &e, b->data);
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

/* A field value libzzz may put in a head unchecked: 1 to 255 bytes
 * (under STATIC_VALUE_MAX), no control byte but tab. */
static bool value_ok(const char *v)
{
    size_t n = 0;
    for (; v[n] && n < STATIC_VALUE_MAX; n++) {
        unsigned char c = (unsigned char)v[n];
        if ((c < 0x20 && c != '\t') || c == 0x7f)
            return false;
    }
    return n > 0 && n < STATIC_VALUE_MAX;
}

/* The mount's options that go into heads as given: its types (each with
 * an extension) and its Cache-Control. */
static bool opts_ok(const zzz_static_opts *opts)
{
    if (opts->cache_control && !value_ok(opts->cache_control))
        return false;
    for (const zzz_mime_type *t = opts->types; t && t->ext; t++)
        if (!t->ext[0] || !t->type || !value_ok(t->type))
            return false;
    return true;
}

/* A copy of a types table in one block (entries, then their strings), so
 * what goes into heads unchecked cannot change after the check; NULL
 * when out of memory. */
static zzz_mime_type *copy_types(const zzz_mime_type *types)
{
    size_t count = 0, bytes = 0;
    for (const zzz_mime_type *t = types; t->ext; t++, count++)
        bytes += strlen(t->ext) + 1 + strlen(t->type) + 1;
    zzz_mime_type *copy = malloc((count + 1) * sizeof *copy + bytes);
    if (!copy)
        return NULL;
    char *text = (char *)(copy + count + 1);
    for (size_t i = 0; i < count; i++) {
        size_t elen = strlen(types[i].ext) + 1, tlen = strlen(types[i].type) + 1;
        memcpy(text, types[i].ext, elen);
        copy[i].ext = text;
        text += elen;
        memcpy(text, types[i].type, tlen);
        copy[i].type = text;
        text += tlen;
    }
    copy[count] = (zzz_mime_type){NULL, NULL};
    return copy;
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
    if (opts && !opts_ok(opts))
        return -EINVAL;
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
    if (m->opts.types) {
        m->types = copy_types(m->opts.types);
        m->opts.types = m->types;
    }
    if (!m->opts.no_cache) {
        m->cache_bytes = m->opts.cache_bytes ? m->opts.cache_bytes : ZZZ_STATIC_CACHE_BYTES;
        m->cache_file_max = m->opts.cache_file_max ? m->opts.cache_file_max
                                                   : ZZZ_STATIC_CACHE_FILE_MAX;
        m->cache_fds = m->opts.cache_fds ? m->opts.cache_fds : ZZZ_STATIC_CACHE_FDS;
    }
    bool bad_index = m->index && (strchr(m->index, '/') || strlen(m->index) > 255);
    if (!m->index || (opts && opts->cache_control && !m->cache_control) ||
        (opts && opts->types && !m->types) || bad_index) {
        err = bad_index ? -EINVAL : -ENOMEM;
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
    if (!router || !path || (!data && len > 0) || (type && !value_ok(type)))
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
