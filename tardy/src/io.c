/* The blocking-style I/O calls: each fills a tardy_op in the caller's
 * frame, hands it to the driver and parks the task until it completes. */
#include "blocking.h"
#include "runtime.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>

/* A task parked in an op leaves when the driver completes it: cancelling
 * makes the driver complete it early (tardy_op_complete then returns the
 * interrupt's error). */
static void op_interrupt(struct tardy_runtime *rt, task_rec *t, int err)
{
    (void)err;
    rt->drv->cancel(rt->drv_state, t->park_obj);
}

static const park_kind park_op = {.interrupt = op_interrupt};

int64_t tardy_op_now(struct tardy_runtime *rt, tardy_op *op)
{
    int64_t r = tardy_op_try(op);
    if (rt->drv->observe)
        rt->drv->observe(rt->drv_state, op, r);
    tardy_epoch_note(rt, op, r);
    return r;
}

static int64_t io_run(tardy_op *op)
{
    struct tardy_runtime *rt;
    task_rec *t;
    int err = tardy_call_begin(&rt, &t);
    if (err)
        return err;
    /* MSG_DONTWAIT asks for -EAGAIN instead of a wait, under any driver. */
    if ((op->kind == TARDY_OP_RECV || op->kind == TARDY_OP_SEND || op->kind == TARDY_OP_RECVMSG ||
         op->kind == TARDY_OP_SENDMSG) &&
        (op->flags & MSG_DONTWAIT))
        return tardy_op_now(rt, op);
    if (tardy_file_wants_pool(rt, op)) {
        int64_t r = tardy_file_op(rt, op);
        if (r != TARDY_OP_PENDING) {
            tardy_epoch_note(rt, op, r);
            return r;
        }
    }
    op->owner = t;
    int64_t r = rt->drv->submit(rt->drv_state, op);
    if (r != TARDY_OP_PENDING) {
        tardy_epoch_note(rt, op, r);
        return r;
    }
    return tardy_wait(rt, t, &park_op, op);
}

#define IO_OP(kind_) tardy_op op = {.kind = (kind_), .fd = -1, .offset = -1}

int tardy_socket(int domain, int type, int protocol)
{
    int fd = socket(domain, type | SOCK_NONBLOCK | SOCK_CLOEXEC, protocol);
    return fd < 0 ? -errno : fd;
}

int tardy_accept(int fd, struct sockaddr *addr, socklen_t *addrlen)
{
    IO_OP(TARDY_OP_ACCEPT);
    op.fd = fd;
    op.addr = addr;
    op.addrlen = addrlen;
    return (int)io_run(&op);
}

int tardy_connect(int fd, const struct sockaddr *addr, socklen_t addrlen)
{
    IO_OP(TARDY_OP_CONNECT);
    op.fd = fd;
    op.addr = (struct sockaddr *)addr;
    op.addrlen_in = addrlen;
    return (int)io_run(&op);
}

ssize_t tardy_recv(int fd, void *buf, size_t len, int flags)
{
    IO_OP(TARDY_OP_RECV);
    op.fd = fd;
    op.buf = buf;
    op.len = len;
    op.flags = flags;
    return (ssize_t)io_run(&op);
}

ssize_t tardy_recv_now(int fd, void *buf, size_t len, int flags)
{
    IO_OP(TARDY_OP_RECV);
    op.fd = fd;
    op.buf = buf;
    op.len = len;
    op.flags = flags | MSG_DONTWAIT;
    struct tardy_runtime *rt = tardy_tls_rt;
    return (ssize_t)(rt ? tardy_op_now(rt, &op) : tardy_op_try(&op));
}

ssize_t tardy_send(int fd, const void *buf, size_t len, int flags)
{
    IO_OP(TARDY_OP_SEND);
    op.fd = fd;
    op.buf = (void *)buf;
    op.len = len;
    op.flags = flags;
    return (ssize_t)io_run(&op);
}

ssize_t tardy_recvmsg(int fd, struct msghdr *msg, int flags)
{
    IO_OP(TARDY_OP_RECVMSG);
    op.fd = fd;
    op.msg = msg;
    op.flags = flags;
    return (ssize_t)io_run(&op);
}

ssize_t tardy_sendmsg(int fd, const struct msghdr *msg, int flags)
{
    IO_OP(TARDY_OP_SENDMSG);
    op.fd = fd;
    op.msg = (struct msghdr *)msg;
    op.flags = flags;
    return (ssize_t)io_run(&op);
}

ssize_t tardy_read(int fd, void *buf, size_t len, int64_t offset)
{
    IO_OP(TARDY_OP_READ);
    op.fd = fd;
    op.buf = buf;
    op.len = len;
    op.offset = offset < 0 ? -1 : offset;
    return (ssize_t)io_run(&op);
}

ssize_t tardy_write(int fd, const void *buf, size_t len, int64_t offset)
{
    IO_OP(TARDY_OP_WRITE);
    op.fd = fd;
    op.buf = (void *)buf;
    op.len = len;
    op.offset = offset < 0 ? -1 : offset;
    return (ssize_t)io_run(&op);
}

ssize_t tardy_readv(int fd, const struct iovec *iov, int iovcnt, int64_t offset)
{
    IO_OP(TARDY_OP_READV);
    op.fd = fd;
    op.iov = iov;
    op.iovcnt = iovcnt;
    op.offset = offset < 0 ? -1 : offset;
    return (ssize_t)io_run(&op);
}

ssize_t tardy_writev(int fd, const struct iovec *iov, int iovcnt, int64_t offset)
{
    IO_OP(TARDY_OP_WRITEV);
    op.fd = fd;
    op.iov = iov;
    op.iovcnt = iovcnt;
    op.offset = offset < 0 ? -1 : offset;
    return (ssize_t)io_run(&op);
}

int tardy_open(const char *path, int flags, mode_t mode)
{
    IO_OP(TARDY_OP_OPEN);
    op.path = path;
    op.flags = flags;
    op.mode = mode;
    return (int)io_run(&op);
}

static int close_run(int fd, int flags)
{
    /* Closing is cleanup: it must happen even after the deadline passed or
     * a cancel arrived, or the descriptor would leak. Run it without them. */
    struct tardy_runtime *rt = tardy_tls_rt;
    task_rec *t = rt ? rt->current : NULL;
    if (!t)
        return -EPERM;
    uint64_t deadline = t->deadline;
    bool cancel_pending = t->cancel_pending;
    t->deadline = 0;
    t->cancel_pending = false;
    IO_OP(TARDY_OP_CLOSE);
    op.fd = fd;
    op.flags = flags;
    int r = (int)io_run(&op);
    t->deadline = deadline;
    t->cancel_pending = t->cancel_pending || cancel_pending;
    return r;
}

int tardy_close(int fd)
{
    return close_run(fd, 0);
}

int tardy_close_nowait(int fd)
{
    return close_run(fd, TARDY_CLOSE_NOWAIT);
}

int tardy_stat(const char *path, struct stat *st)
{
    /* Room for a struct statx, which the io_uring driver converts. */
    uint64_t statx_buf[32];
    IO_OP(TARDY_OP_STAT);
    op.path = path;
    op.st = st;
    op.driver_scratch = statx_buf;
    return (int)io_run(&op);
}

int tardy_unlink(const char *path)
{
    IO_OP(TARDY_OP_UNLINK);
    op.path = path;
    return (int)io_run(&op);
}

int tardy_mkdir(const char *path, mode_t mode)
{
    IO_OP(TARDY_OP_MKDIR);
    op.path = path;
    op.mode = mode;
    return (int)io_run(&op);
}

int tardy_poll(int fd, short events)
{
    IO_OP(TARDY_OP_POLL);
    op.fd = fd;
    op.events = events;
    return (int)io_run(&op);
}

/* A sleep ends at its timer: the task's own, armed for the sooner of the
 * sleep's end and the deadline, whose fire interrupts with -ETIMEDOUT. */
static void sleep_interrupt(struct tardy_runtime *rt, task_rec *t, int err)
{
    /* The timer must go too, or it would ready the task a second time. */
    if (t->timer.idx >= 0)
        tardy_timer_remove(rt, &t->timer);
    tardy_task_ready(rt, t, err == -ETIMEDOUT && rt->now >= t->sleep_end ? 0 : err);
}

static const park_kind park_sleep = {.interrupt = sleep_interrupt};

int tardy_sleep(uint64_t ns)
{
    struct tardy_runtime *rt;
    task_rec *t;
    int err = tardy_call_begin(&rt, &t);
    if (err)
        return err;
    uint64_t now = tardy_clock_ns();
    uint64_t end = now + ns < now ? UINT64_MAX : now + ns;
    t->sleep_end = end;
    t->park = &park_sleep;
    tardy_timer_add(rt, &t->timer, t->deadline && t->deadline < end ? t->deadline : end);
    return (int)tardy_park(rt, t);
}
