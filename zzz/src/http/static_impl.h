/* What the static file server's files share (static.c, static_path.c,
 * static_answer.c, static_dir.c, static_cache.c). Not installed. */
#ifndef ZZZ_HTTP_STATIC_IMPL_H
#define ZZZ_HTTP_STATIC_IMPL_H

#include "static_rules.h"

#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>

/* The longest field value of a type or Cache-Control that a mount takes
 * (zzz_static refuses longer ones), so an entity's lines always fit a
 * response's room for them. */
#define STATIC_VALUE_MAX 256

/* What a file's answer says of it. */
typedef struct static_entity {
    const char *type;     /* the mount's table's or the built-in one's */
    const char *encoding; /* "br", "gzip" or NULL */
    const char *cache_control;
    char etag[ZZZ_ETAG_MAX];
    char last_modified[32];
    time_t mtime;     /* Last-Modified: never later than now */
    bool date_strong; /* mtime is a strong validator (RFC 9110 8.8.2.2):
                         a second or more before now */
    bool vary;        /* Vary: Accept-Encoding (siblings may be served) */
    uint64_t size;
} static_entity;

/* The relative name a request path stands for beneath a mount: the raw
 * path's segments after the mount's first `skip` ones, each
 * percent-decoded once, joined by '/', into rel (cap bytes,
 * NUL-terminated; "" for the mount's root). *trailing_slash says whether
 * the path ended with '/'. Returns the name's length; -ENOENT for a path
 * no served file can have ("." or ".." segments, empty segments, an
 * encoded '/' or '\', NUL or another control byte, bytes that are not
 * shortest-form UTF-8, a bad escape, a leading '.' unless `dotfiles`);
 * -ENAMETOOLONG when it does not fit. */
ssize_t zzz_http_static_rel(zzz_str raw, unsigned skip, bool dotfiles, char *rel, size_t cap,
                            bool *trailing_slash);

/* Opens rel (from zzz_http_static_rel) beneath the directory root_fd for
 * reading, without following a link out of it (unless symlinks_out) or
 * through /proc's magic links, and without blocking on a FIFO. Uses
 * openat2 (RESOLVE_BENEATH); where the kernel lacks it, walks the name a
 * component at a time and refuses every symbolic link (unless
 * symlinks_out). Returns the descriptor (the caller checks its type and
 * closes it), -ENOENT for a name that does not exist or would resolve
 * outside the root, or open's -errno. */
int zzz_http_static_open(int root_fd, const char *rel, bool symlinks_out);

/* ---- the answer (static_answer.c) ---- */

/* Sets e's validators from a modification time: Last-Modified is never
 * later than the answer's Date (RFC 9110 8.8.2.1), and the date is a
 * strong validator only a second or more before now. */
void zzz_http_static_entity_dates(static_entity *e, time_t mtime);

/* Answers the request for the entity e, whose bytes are data (in memory)
 * or in the file fd: 304 or 412 as its preconditions say, 416 for a
 * range past its end, else 200 or 206 with its fields and bytes (none
 * for HEAD). Neither takes data or fd. */
void zzz_http_static_answer_bytes(zzz_req *req, zzz_res *res, const static_entity *e,
                                  const char *data);
void zzz_http_static_answer_fd(zzz_req *req, zzz_res *res, const static_entity *e, int fd);

/* ---- directories (static_dir.c) ---- */

/* The longest name beneath a root that is served, with what may be
 * appended to it: room for "/" and an index name (255 bytes at most) or
 * a sibling's ".br", and the NUL. */
#define STATIC_NAME_MAX 4096
#define STATIC_SUFFIX_ROOM 260

/* Answers 301 with the request's path and a slash after it (and its
 * query): to a directory's URL. 404 when that does not fit. */
void zzz_http_static_redirect_slash(zzz_req *req, zzz_res *res);

/* Answers with an HTML listing of the directory fd: names sorted, escaped
 * as text and percent-encoded in links, dotfiles only with `dotfiles`, at
 * most 10,000 entries. Takes fd. */
void zzz_http_static_list(bool dotfiles, zzz_req *req, zzz_res *res, int fd);

/* ---- the cache (static_cache.c) ----
 *
 * Per thread and mount: small files' bytes with their entity, larger
 * files' open descriptors with theirs, and names known not to exist (the
 * pre-compressed siblings a file lacks). An entry is checked against the
 * file system once per I/O epoch (tardy_io_epoch) before it is used, so
 * an answer from it is never staler than one read from the disk when the
 * request arrived would be. */

typedef struct static_cache static_cache;

/* An entry: a file's entity and bytes, or (absent) a name with no file. */
typedef struct static_cached {
    static_entity e;
    const char *data; /* e.size bytes; NULL when absent or held as fd */
    int fd;           /* the open file when it is too big for data; else -1 */
    bool absent;
    struct timespec mtim; /* the file's, to compare with a sibling's */
} static_cached;

/* A cache holding at most max_bytes (bytes, names and bookkeeping) of
 * files no bigger than file_max, and at most fd_max descriptors of larger
 * files (0: none kept). Entries unused for idle_ns (0: ten seconds) go at
 * its next get or put. NULL when out of memory. */
static_cache *zzz_http_static_cache_new(size_t max_bytes, size_t file_max, unsigned fd_max,
                                        uint64_t idle_ns);

/* Frees the cache (an entry still pinned is a bug). */
void zzz_http_static_cache_free(void *cache);

/* The entry for name (len bytes, a name from zzz_http_static_rel),
 * checked by an fstatat of it beneath root_fd, following links: a file
 * must still be the one read (device, inode, size, modification and
 * change times), an absent name must still not exist. The check is made
 * once per I/O epoch: an entry found current since tardy_io_epoch last
 * moved is not checked again (a change made after that check came after
 * the request too, whose bytes had arrived by then). Outside a runtime
 * every get checks. Returns the entry pinned (unpin it when its bytes or
 * descriptor are no longer needed), or NULL when name is not cached or
 * has changed (the entry is then dropped). */
const static_cached *zzz_http_static_cache_get(static_cache *c, int root_fd, const char *name,
                                               size_t len);

/* Ends a pin of zzz_http_static_cache_get or _put. */
void zzz_http_static_cache_unpin(static_cache *c, const static_cached *f);

/* Whether the file of stat st can be kept: a regular file no bigger
 * than the cache's file_max (or any size when it keeps descriptors),
 * whose modification and change times are two seconds or more before now
 * (a file written now may change again within its file system's
 * timestamp granularity, unseen). */
bool zzz_http_static_cache_wants(const static_cache *c, const struct stat *st, time_t now);

/* Keeps the file fd (opened beneath the root, stat st, which
 * zzz_http_static_cache_wants took) as name, with entity e: its bytes,
 * read now, when it is no bigger than file_max, else a duplicate of fd
 * (fd itself stays the caller's either way). Older entries make room,
 * least recently used first (for a descriptor, the least recently used
 * one when fd_max are held). Returns the entry pinned, or NULL when it
 * was not kept: bigger than the whole cache, out of memory or
 * descriptors, a read error, or the file changed while it was read. */
const static_cached *zzz_http_static_cache_put(static_cache *c, const char *name, size_t len,
                                               int fd, const struct stat *st,
                                               const static_entity *e);

/* Records that name does not exist, when a stat of it beneath root_fd
 * (following links, as zzz_http_static_cache_get checks) agrees: a link
 * that leads out of the root, refused by the open, is not recorded. */
void zzz_http_static_cache_put_absent(static_cache *c, int root_fd, const char *name,
                                      size_t len);

#endif
