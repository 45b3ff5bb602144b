/* The static files' cache (static_impl.h): per thread and mount, a hash
 * table of names and a least-recently-used list, bounded in bytes and in
 * descriptors. An entry is one allocation: the entry, its name, its
 * header lines and a small file's bytes (a larger file's entry holds a
 * descriptor instead). A handler pins the entry it sends from, since
 * sending may wait; an entry dropped while pinned is freed (and its
 * descriptor closed) by its last unpin. */
#include "http.h"
#include "static_impl.h"

#include "tardy.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct cache_entry {
    static_cached pub; /* first: what callers see */
    struct cache_entry *chain; /* the bucket's next */
    struct cache_entry *newer, *older;
    uint64_t hash;
    size_t cost;
    unsigned pins;
    bool linked; /* in the table and the list */
    uint64_t used; /* tardy_now of its last get or put */
    /* The tardy_io_epoch of the last check that found the file as it was
     * read (0: none yet). */
    uint64_t checked;
    /* The file it was read from. */
    dev_t dev;
    ino_t ino;
    off_t size;
    struct timespec ctim;
    size_t name_len;
    char *name;
} cache_entry;

struct static_cache {
    cache_entry **buckets;
    size_t nbuckets; /* a power of two */
    size_t count;
    cache_entry *newest, *oldest;
    size_t bytes, max_bytes, file_max;
    unsigned fds, fd_max; /* descriptors held by linked entries */
    uint64_t idle_ns;
};

#define CACHE_FIRST_BUCKETS 16u
/* How long a file must have been left alone to be kept, in seconds: more
 * than the coarsest timestamps (FAT's two seconds) can hide. */
#define CACHE_SETTLED_SECS 2
/* An entry not used for this long goes at the next get or put of its
 * cache: above all, a descriptor is not held for long on a file nobody
 * asks for (a removed file's space comes back when it is closed). */
#define CACHE_IDLE_NS ((uint64_t)10 * 1000 * 1000 * 1000)

static uint64_t name_hash(const char *name, size_t len)
{
    uint64_t h = 0xcbf29ce484222325u;
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)name[i]) * 0x100000001b3u;
    return h;
}

static_cache *zzz_http_static_cache_new(size_t max_bytes, size_t file_max, unsigned fd_max,
                                        uint64_t idle_ns)
{
    static_cache *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->buckets = calloc(CACHE_FIRST_BUCKETS, sizeof *c->buckets);
    if (!c->buckets) {
        free(c);
        return NULL;
    }
    c->nbuckets = CACHE_FIRST_BUCKETS;
    c->max_bytes = max_bytes;
    c->file_max = file_max;
    c->fd_max = fd_max;
    c->idle_ns = idle_ns ? idle_ns : CACHE_IDLE_NS;
    return c;
}

static void entry_free(cache_entry *e)
{
    if (e->pub.fd >= 0)
        close(e->pub.fd);
    free(e);
}

void zzz_http_static_cache_free(void *cache)
{
    static_cache *c = cache;
    if (!c)
        return;
    for (cache_entry *e = c->newest, *next; e; e = next) {
        next = e->older;
        entry_free(e);
    }
    free(c->buckets);
    free(c);
}

static cache_entry *find(const static_cache *c, const char *name, size_t len, uint64_t hash)
{
    for (cache_entry *e = c->buckets[hash & (c->nbuckets - 1)]; e; e = e->chain)
        if (e->hash == hash && e->name_len == len && memcmp(e->name, name, len) == 0)
            return e;
    return NULL;
}

static void list_remove(static_cache *c, cache_entry *e)
{
    if (e->newer)
        e->newer->older = e->older;
    else
        c->newest = e->older;
    if (e->older)
        e->older->newer = e->newer;
    else
        c->oldest = e->newer;
    e->newer = e->older = NULL;
}

static void list_push(static_cache *c, cache_entry *e)
{
    e->newer = NULL;
    e->older = c->newest;
    if (c->newest)
        c->newest->newer = e;
    else
        c->oldest = e;
    c->newest = e;
}

/* Takes e out of the table and the list; frees it unless pinned. */
static void drop(static_cache *c, cache_entry *e)
{
    cache_entry **at = &c->buckets[e->hash & (c->nbuckets - 1)];
    while (*at != e)
        at = &(*at)->chain;
    *at = e->chain;
    list_remove(c, e);
    c->count--;
    c->bytes -= e->cost;
    if (e->pub.fd >= 0)
        c->fds--;
    e->linked = false;
    if (e->pins == 0)
        entry_free(e);
}

/* Drops the entries left unused for idle_ns (the list's oldest). */
static void expire(static_cache *c, uint64_t now)
{
    while (c->oldest && now - c->oldest->used > c->idle_ns)
        drop(c, c->oldest);
}

/* Doubles the table when it holds more entries than buckets; a failed
 * allocation only leaves the chains longer. */
static void grow(static_cache *c)
{
    if (c->count <= c->nbuckets || c->nbuckets > SIZE_MAX / 2 / sizeof *c->buckets)
        return;
    size_t n = c->nbuckets * 2;
    cache_entry **b = calloc(n, sizeof *b);
    if (!b)
        return;
    for (size_t i = 0; i < c->nbuckets; i++) {
        for (cache_entry *e = c->buckets[i], *next; e; e = next) {
            next = e->chain;
            e->chain = b[e->hash & (n - 1)];
            b[e->hash & (n - 1)] = e;
        }
    }
    free(c->buckets);
    c->buckets = b;
    c->nbuckets = n;
}

/* Links e (pinned once, for the caller), in place of an entry of the
 * same name, after making room for it. */
static void insert(static_cache *c, cache_entry *e)
{
    cache_entry *old = find(c, e->name, e->name_len, e->hash);
    if (old)
        drop(c, old);
    while (c->oldest && c->bytes + e->cost > c->max_bytes)
        drop(c, c->oldest);
    if (e->pub.fd >= 0) {
        /* The least recently used descriptor makes room for this one. */
        for (cache_entry *o = c->oldest; o && c->fds >= c->fd_max; o = o->newer)
            if (o->pub.fd >= 0) {
                drop(c, o);
                break;
            }
        c->fds++;
    }
    cache_entry **at = &c->buckets[e->hash & (c->nbuckets - 1)];
    e->chain = *at;
    *at = e;
    list_push(c, e);
    e->used = tardy_now(); /* the list stays in order of use */
    c->count++;
    c->bytes += e->cost;
    e->linked = true;
    e->pins = 1;
    grow(c);
}

static bool same_time(struct timespec a, struct timespec b)
{
    return a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec;
}

static bool same_file(const cache_entry *e, const struct stat *st)
{
    return e->dev == st->st_dev && e->ino == st->st_ino && e->size == st->st_size &&
           same_time(e->pub.mtim, st->st_mtim) && same_time(e->ctim, st->st_ctim);
}

const static_cached *zzz_http_static_cache_get(static_cache *c, int root_fd, const char *name,
                                               size_t len)
{
    uint64_t now = tardy_now();
    expire(c, now);
    cache_entry *e = find(c, name, len, name_hash(name, len));
    if (!e)
        return NULL;
    /* A check made in this I/O epoch came after the request arrived (see
     * tardy_io_epoch): it holds for this request too. The stat it saves
     * was a sixth of the server's CPU time per small cached file. */
    uint64_t epoch = tardy_io_epoch();
    if (epoch == 0 || e->checked != epoch) {
        struct stat st;
        bool found = fstatat(root_fd, name, &st, 0) == 0;
        bool current = e->pub.absent ? !found && errno == ENOENT : found && same_file(e, &st);
        if (!current) {
            drop(c, e);
            return NULL;
        }
        e->checked = epoch;
    }
    list_remove(c, e);
    list_push(c, e);
    e->used = now;
    e->pins++;
    return &e->pub;
}

void zzz_http_static_cache_unpin(static_cache *c, const static_cached *f)
{
    (void)c;
    cache_entry *e = (cache_entry *)f;
    if (--e->pins == 0 && !e->linked)
        entry_free(e);
}

bool zzz_http_static_cache_wants(const static_cache *c, const struct stat *st, time_t now)
{
    bool fits = (uint64_t)st->st_size <= c->file_max || c->fd_max > 0;
    return S_ISREG(st->st_mode) && st->st_size >= 0 && fits &&
           st->st_mtim.tv_sec <= now - CACHE_SETTLED_SECS &&
           st->st_ctim.tv_sec <= now - CACHE_SETTLED_SECS;
}

/* Fills e for the file of stat st and links it, pinned. */
static const static_cached *keep(static_cache *c, cache_entry *e, const static_entity *ent,
                                 const struct stat *st, const char *data)
{
    e->pub.e = *ent;
    e->pub.data = data;
    e->pub.mtim = st->st_mtim;
    e->dev = st->st_dev;
    e->ino = st->st_ino;
    e->size = st->st_size;
    e->ctim = st->st_ctim;
    insert(c, e);
    return &e->pub;
}

/* A new entry for name with room for extra bytes after it, or NULL. */
static cache_entry *entry_new(const static_cache *c, const char *name, size_t len, size_t extra)
{
    if (len > SIZE_MAX / 2 || extra > SIZE_MAX / 2)
        return NULL;
    size_t cost = sizeof(cache_entry) + len + 1 + extra;
    if (cost > c->max_bytes)
        return NULL;
    cache_entry *e = malloc(cost);
    if (!e)
        return NULL;
    memset(e, 0, sizeof *e);
    e->pub.fd = -1;
    e->cost = cost;
    e->name = (char *)(e + 1);
    memcpy(e->name, name, len);
    e->name[len] = '\0';
    e->name_len = len;
    e->hash = name_hash(name, len);
    return e;
}

const static_cached *zzz_http_static_cache_put(static_cache *c, const char *name, size_t len,
                                               int fd, const struct stat *st,
                                               const static_entity *ent)
{
    expire(c, tardy_now());
    if ((uint64_t)st->st_size > c->file_max) {
        /* Too big to hold in memory: its descriptor is held instead, so
         * the next requests need no open, stat or close of their own. */
        cache_entry *e = c->fd_max ? entry_new(c, name, len, 0) : NULL;
        if (!e)
            return NULL;
        e->pub.fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
        if (e->pub.fd < 0) {
            free(e);
            return NULL;
        }
        return keep(c, e, ent, st, NULL);
    }
    size_t size = (size_t)st->st_size;
    cache_entry *e = entry_new(c, name, len, size);
    if (!e)
        return NULL;
    char *data = e->name + len + 1;
    size_t got = 0;
    while (got < size) {
        ssize_t n = zzz_http_file_read(fd, data + got, size - got, (int64_t)got);
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    /* The read may have waited: the file must be as it was before it. */
    struct stat now;
    if (got != size || fstat(fd, &now) != 0 || now.st_size != st->st_size ||
        !same_time(now.st_mtim, st->st_mtim) || !same_time(now.st_ctim, st->st_ctim)) {
        free(e);
        return NULL;
    }
    return keep(c, e, ent, st, data);
}

void zzz_http_static_cache_put_absent(static_cache *c, int root_fd, const char *name, size_t len)
{
    /* The check of every later use must agree, or the entry would be
     * dropped and made again on each request. */
    struct stat st;
    if (fstatat(root_fd, name, &st, 0) == 0 || errno != ENOENT)
        return;
    expire(c, tardy_now());
    cache_entry *e = entry_new(c, name, len, 0);
    if (!e)
        return;
    e->pub.absent = true;
    insert(c, e);
    e->pins = 0; /* nobody holds it */
}
