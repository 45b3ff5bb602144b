/* From a request path to an open file beneath a mount's root. The path is
 * split at its raw slashes and each segment percent-decoded once, so an
 * encoded slash or backslash is a byte of a name, never a separator, and
 * is refused; "." and ".." segments, empty segments, NUL, control bytes
 * and bytes that are not UTF-8 (overlong forms included) are refused too.
 * The kernel then resolves the name beneath the root (openat2 with
 * RESOLVE_BENEATH), so a symbolic link cannot lead out either. See
 * static_impl.h. */
#include "static_impl.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

/* A C library without the kernel's headers (musl) lacks openat2's: its
 * argument and flags are the kernel's ABI, and its number (437) is the
 * same on every architecture. */
#if defined(__has_include)
#if __has_include(<linux/openat2.h>)
#include <linux/openat2.h>
#define ZZZ_HAVE_OPENAT2_H 1
#endif
#endif
#ifndef ZZZ_HAVE_OPENAT2_H
struct open_how {
    uint64_t flags;
    uint64_t mode;
    uint64_t resolve;
};
#define RESOLVE_NO_MAGICLINKS 0x02
#define RESOLVE_BENEATH 0x08
#endif
#ifndef SYS_openat2
#define SYS_openat2 437
#endif

static int hex_value(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c |= 0x20;
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* True when s[0..len) is UTF-8 in its shortest form, without surrogates
 * or code points past U+10FFFF. */
static bool utf8_valid(const unsigned char *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        unsigned char c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t n;
        uint32_t cp;
        if (c >= 0xc2 && c <= 0xdf) {
            n = 1;
            cp = c & 0x1f;
        } else if (c >= 0xe0 && c <= 0xef) {
            n = 2;
            cp = c & 0x0f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            n = 3;
            cp = c & 0x07;
        } else {
            return false; /* a continuation byte first, 0xc0/0xc1, or past 0xf4 */
        }
        if (len - i <= n)
            return false;
        for (size_t k = 1; k <= n; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                return false;
            cp = cp << 6 | (s[i + k] & 0x3f);
        }
        if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10ffff ||
            (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        i += n + 1;
    }
    return true;
}

/* Decodes one raw segment into out; -1 for a bad escape or a byte no
 * served name may hold. */
static ssize_t segment_decode(const char *seg, size_t len, char *out)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)seg[i];
        if (c == '%') {
            int hi = i + 2 < len ? hex_value((unsigned char)seg[i + 1]) : -1;
            int lo = i + 2 < len ? hex_value((unsigned char)seg[i + 2]) : -1;
            if (hi < 0 || lo < 0)
                return -1;
            c = (unsigned char)(hi << 4 | lo);
            i += 2;
        }
        if (c < 0x20 || c == 0x7f || c == '/' || c == '\\')
            return -1;
        out[n++] = (char)c;
    }
    return (ssize_t)n;
}

ssize_t zzz_http_static_rel(zzz_str raw, unsigned skip, bool dotfiles, char *rel, size_t cap,
                            bool *trailing_slash)
{
    const char *p = raw.ptr, *end = raw.ptr + raw.len;
    if (raw.len == 0 || p[0] != '/')
        return -ENOENT;
    /* The mount's own segments: the router matched them already, on the
     * decoded path. One that hid an encoded '/' matched more segments
     * than it is, and would shift the name: refused. */
    for (unsigned i = 0; i < skip; i++) {
        const char *slash = memchr(p + 1, '/', (size_t)(end - p - 1));
        if (!slash)
            return -ENOENT;
        size_t len = (size_t)(slash - p - 1);
        if (len + 1 > cap || segment_decode(p + 1, len, rel) < 0)
            return -ENOENT;
        p = slash;
    }
    *trailing_slash = end[-1] == '/';
    size_t used = 0;
    while (p < end) {
        const char *seg = p + 1;
        const char *slash = memchr(seg, '/', (size_t)(end - seg));
        const char *seg_end = slash ? slash : end;
        size_t len = (size_t)(seg_end - seg);
        p = seg_end;
        if (len == 0) {
            if (!slash)
                break; /* the final slash of a directory */
            return -ENOENT; /* "a//b": no file has an empty name */
        }
        /* A decoded segment is never longer than its raw form. */
        if (used + len + 2 > cap)
            return -ENAMETOOLONG;
        if (used > 0)
            rel[used++] = '/';
        ssize_t n = segment_decode(seg, len, rel + used);
        if (n <= 0)
            return -ENOENT;
        const char *name = rel + used;
        if ((n == 1 && name[0] == '.') || (n == 2 && name[0] == '.' && name[1] == '.'))
            return -ENOENT;
        if (name[0] == '.' && !dotfiles)
            return -ENOENT;
        if (!utf8_valid((const unsigned char *)name, (size_t)n))
            return -ENOENT;
        used += (size_t)n;
    }
    rel[used] = '\0';
    return (ssize_t)used;
}

/* openat2 is missing on kernels before 5.6 (and where a filter denies
 * it): remembered once seen. */
static _Atomic int openat2_missing;

/* The fallback: one component at a time, never following a link (the
 * names were checked for ".." already), so nothing resolves outside the
 * root. Links are then refused outright, unless symlinks_out allows
 * following them; links inside the root are refused too, as this walk
 * cannot tell where one leads. */
static int open_walk(int root_fd, const char *rel, int flags, bool symlinks_out)
{
    if (rel[0] == '\0')
        return openat(root_fd, ".", flags);
    int dir = root_fd;
    const char *p = rel;
    for (;;) {
        const char *slash = strchr(p, '/');
        char name[256];
        size_t len = slash ? (size_t)(slash - p) : strlen(p);
        if (len >= sizeof name) {
            if (dir != root_fd)
                close(dir);
            return -ENAMETOOLONG;
        }
        memcpy(name, p, len);
        name[len] = '\0';
        int step_flags = slash ? O_PATH | O_DIRECTORY | O_CLOEXEC : flags;
        if (!symlinks_out)
            step_flags |= O_NOFOLLOW;
        int fd = openat(dir, name, step_flags);
        int err = fd < 0 ? -errno : 0;
        if (dir != root_fd)
            close(dir);
        if (fd < 0)
            return err == -ELOOP ? -ENOENT : err;
        if (!slash)
            return fd;
        dir = fd;
        p = slash + 1;
    }
}

int zzz_http_static_open(int root_fd, const char *rel, bool symlinks_out)
{
    /* Non-blocking, so that a FIFO does not hold the open; no terminal
     * becomes ours. Only regular files are served (the caller checks). */
    int flags = O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC;
    if (!openat2_missing) {
        struct open_how how = {
            .flags = (uint64_t)flags,
            .resolve = RESOLVE_NO_MAGICLINKS | (symlinks_out ? 0 : RESOLVE_BENEATH),
        };
        const char *name = rel[0] ? rel : ".";
        long fd = syscall(SYS_openat2, root_fd, name, &how, sizeof how);
        if (fd >= 0)
            return (int)fd;
        int err = errno;
        if (err != ENOSYS && err != EPERM)
            return err == EXDEV || err == ELOOP ? -ENOENT : -err;
        openat2_missing = 1;
    }
    return open_walk(root_fd, rel, flags, symlinks_out);
}
