/* What the static file server's files share (static.c, static_path.c).
 * Not installed. */
#ifndef ZZZ_HTTP_STATIC_IMPL_H
#define ZZZ_HTTP_STATIC_IMPL_H

#include "static_rules.h"

#include <sys/types.h>

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

#endif
