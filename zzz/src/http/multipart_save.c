/* zzz_part_save: a part's content streamed into a new file, written under
 * a temporary name in the same directory and renamed into place without
 * replacing anything, so the file appears whole or not at all. */
#include "multipart.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Called through syscall(2): not every C library wraps renameat2. */
#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1 << 0)
#endif

static bool name_ok(const char *name)
{
    size_t n = strlen(name);
    return n > 0 && n <= 255 && !strchr(name, '/') && strcmp(name, ".") != 0 &&
           strcmp(name, "..") != 0;
}

/* A temporary file in dir_fd, its name into tmp. Returns the descriptor
 * or -errno. */
static int temp_open(int dir_fd, char tmp[64])
{
    static _Atomic uint64_t counter;
    for (int attempt = 0; attempt < 16; attempt++) {
        /* Distinct per process and call (the clock, a counter, the
         * pid), mixed; O_EXCL turns a collision into another try, never
         * a shared file. */
        uint64_t x = tardy_now() ^ (atomic_fetch_add(&counter, 1) * 0x9E3779B97F4A7C15ull) ^
                     ((uint64_t)getpid() << 40);
        x ^= x >> 31;
        x *= 0xBF58476D1CE4E5B9ull;
        x ^= x >> 29;
        snprintf(tmp, 64, ".zzz-upload-%016llx", (unsigned long long)x);
        int fd = openat(dir_fd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd >= 0)
            return fd;
        if (errno != EEXIST)
            return -errno;
    }
    return -EEXIST;
}

/* Renames tmp to name unless name exists; where the file system cannot
 * (no RENAME_NOREPLACE), links then unlinks, which refuses an existing
 * name just the same. */
static int put_in_place(int dir_fd, const char *tmp, const char *name)
{
    if (syscall(SYS_renameat2, dir_fd, tmp, dir_fd, name, RENAME_NOREPLACE) == 0)
        return 0;
    if (errno != EINVAL && errno != ENOSYS)
        return -errno;
    if (linkat(dir_fd, tmp, dir_fd, name, 0) != 0)
        return -errno;
    unlinkat(dir_fd, tmp, 0);
    return 0;
}

/* Writes all of data at offset. 0 or -errno. */
static int write_all(int fd, const char *data, size_t len, uint64_t offset)
{
    while (len > 0) {
        ssize_t n = tardy_write(fd, data, len, (int64_t)offset);
        if (n < 0)
            return (int)n;
        if (n == 0)
            return -EIO;
        data += n;
        len -= (size_t)n;
        offset += (uint64_t)n;
    }
    return 0;
}

int64_t zzz_part_save(zzz_part *part, int dir_fd, const char *name)
{
    if (!part || !name || !name_ok(name))
        return -EINVAL;
    zzz_multipart *mp = part->mp;
    if (mp->state == MP_FAILED)
        return mp->err;
    struct stat st;
    if (fstatat(dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0)
        return -EEXIST;
    if (errno != ENOENT)
        return -errno;
    char tmp[64];
    int fd = temp_open(dir_fd, tmp);
    if (fd < 0)
        return fd;
    uint64_t written = 0;
    int err = 0;
    while (!part->ended && mp->state == MP_CONTENT) {
        const char *at;
        /* Straight from the reader's buffer: no copy on the way. */
        ssize_t n = zzz_http_mp_content(mp, &at);
        if (n <= 0) {
            err = (int)n;
            break;
        }
        err = write_all(fd, at, (size_t)n, written);
        if (err)
            break;
        zzz_http_mp_consume(mp, (size_t)n);
        part->bytes += (uint64_t)n;
        written += (uint64_t)n;
    }
    if (err == 0 && mp->state == MP_FAILED)
        err = mp->err;
    int close_err = tardy_close(fd);
    if (err == 0 && close_err < 0)
        err = close_err; /* a write the file system reported late (NFS) */
    if (err == 0)
        err = put_in_place(dir_fd, tmp, name);
    if (err) {
        unlinkat(dir_fd, tmp, 0);
        return err;
    }
    return (int64_t)written;
}
