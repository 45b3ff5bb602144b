/* Files on the readiness drivers (epoll, busy): a regular file is always
 * "ready" to them, so a read that misses the page cache would stall the
 * whole runtime. Such calls go to the blocking pool instead; io_uring
 * keeps them in its ring. Also tardy_read_cached, the page-cache attempt
 * alone, under every driver. */
#include "blocking.h"

#include <errno.h>
#include <sys/stat.h>
#include <sys/uio.h>

bool tardy_file_wants_pool(const struct tardy_runtime *rt, const tardy_op *op)
{
    if (rt->drv != &tardy_driver_epoll && rt->drv != &tardy_driver_busy)
        return false;
    switch (op->kind) {
    case TARDY_OP_READ:
    case TARDY_OP_WRITE:
    case TARDY_OP_READV:
    case TARDY_OP_WRITEV:
    case TARDY_OP_OPEN:
    case TARDY_OP_STAT:
    case TARDY_OP_UNLINK:
    case TARDY_OP_MKDIR:
        return true;
    default:
        return false;
    }
}

static int64_t file_job(void *arg)
{
    return tardy_op_try(arg);
}

/* One attempt that never waits for the disk: RWF_NOWAIT gives what the
 * page cache holds, or EAGAIN; on a socket or pipe it is a non-blocking
 * read or write. */
static int64_t file_try_nowait(tardy_op *op)
{
    struct iovec one = {.iov_base = op->buf, .iov_len = op->len};
    const struct iovec *iov = &one;
    int iovcnt = 1;
    if (op->kind == TARDY_OP_READV || op->kind == TARDY_OP_WRITEV) {
        iov = op->iov;
        iovcnt = op->iovcnt;
    }
#ifdef RWF_NOWAIT
    off_t offset = op->offset < 0 ? -1 : (off_t)op->offset;
    ssize_t r = op->kind == TARDY_OP_READ || op->kind == TARDY_OP_READV
                    ? preadv2(op->fd, iov, iovcnt, offset, RWF_NOWAIT)
                    : pwritev2(op->fd, iov, iovcnt, offset, RWF_NOWAIT);
    return r < 0 ? -(int64_t)errno : (int64_t)r;
#else
    /* A C library without preadv2 (musl): no way to ask without waiting,
     * so the caller decides by the descriptor's type. */
    (void)iov;
    (void)iovcnt;
    return -EOPNOTSUPP;
#endif
}

static bool file_wants_bytes(const tardy_op *op)
{
    if (op->kind == TARDY_OP_READ)
        return op->len > 0;
    if (op->kind != TARDY_OP_READV)
        return false;
    for (int i = 0; i < op->iovcnt; i++)
        if (op->iov[i].iov_len > 0)
            return true;
    return false;
}

/* Whether result r of file_try_nowait leaves the outcome open, for the
 * plain call to tell: EAGAIN, not cached (or a socket with nothing to
 * give); EOPNOTSUPP, this file (or kernel) cannot say without waiting;
 * EINVAL and ENOSYS, a kernel without the flag; and 0 for a read that
 * wanted bytes: some kernels answer a non-waiting read of uncached pages
 * with 0, as at the end of the file. */
static bool file_nowait_unsure(const tardy_op *op, int64_t r)
{
    return r == -EAGAIN || r == -EOPNOTSUPP || r == -EINVAL || r == -ENOSYS ||
           (r == 0 && file_wants_bytes(op));
}

ssize_t tardy_read_cached(int fd, void *buf, size_t len, int64_t offset)
{
    if (offset < 0)
        return -EINVAL;
    if (len == 0)
        return 0;
    tardy_op op = {.kind = TARDY_OP_READ, .fd = fd, .buf = buf, .len = len, .offset = offset};
    int64_t r = file_try_nowait(&op);
    return file_nowait_unsure(&op, r) ? -EAGAIN : (ssize_t)r;
}

static bool is_disk_file(int fd)
{
    struct stat st;
    return fstat(fd, &st) == 0 && (S_ISREG(st.st_mode) || S_ISBLK(st.st_mode));
}

int64_t tardy_file_op(struct tardy_runtime *rt, tardy_op *op)
{
    bool rw = op->kind == TARDY_OP_READ || op->kind == TARDY_OP_WRITE ||
              op->kind == TARDY_OP_READV || op->kind == TARDY_OP_WRITEV;
    if (rw) {
        int64_t r = file_try_nowait(op);
        if (!file_nowait_unsure(op, r)) {
            if (rt->drv->observe)
                rt->drv->observe(rt->drv_state, op, r);
            return r;
        }
        if (!is_disk_file(op->fd))
            return TARDY_OP_PENDING;
    }
    int64_t result = 0;
    int err = tardy_blocking_call(file_job, op, NULL, true, &result);
    return err ? err : result;
}
