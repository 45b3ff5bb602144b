/* One attempt at an operation as a non-blocking syscall: what the epoll
 * and busy drivers retry, and what any driver falls back to for an
 * operation its kernel interface lacks. */
#include "driver.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

static int64_t op_ret(ssize_t r)
{
    return r < 0 ? -(int64_t)errno : (int64_t)r;
}

static int64_t op_try_connect(tardy_op *op)
{
    int r = connect(op->fd, op->addr, op->addrlen_in);
    int err = r == 0 ? 0 : errno;
    bool retry = op->tried;
    op->tried = true;
    if (err == 0)
        return 0;
    if (err == EINPROGRESS || err == EALREADY || err == EAGAIN)
        return -EAGAIN;
    /* A repeated connect on a socket that finished connecting says so. */
    if (err == EISCONN && retry)
        return 0;
    return -(int64_t)err;
}

int64_t tardy_op_try(tardy_op *op)
{
    switch (op->kind) {
    case TARDY_OP_ACCEPT:
        return op_ret(accept4(op->fd, op->addr, op->addrlen, SOCK_NONBLOCK | SOCK_CLOEXEC));
    case TARDY_OP_CONNECT:
        return op_try_connect(op);
    case TARDY_OP_RECV:
        return op_ret(recv(op->fd, op->buf, op->len, op->flags | MSG_DONTWAIT));
    case TARDY_OP_SEND:
        return op_ret(send(op->fd, op->buf, op->len, op->flags | MSG_DONTWAIT | MSG_NOSIGNAL));
    case TARDY_OP_RECVMSG:
        return op_ret(recvmsg(op->fd, op->msg, op->flags | MSG_DONTWAIT));
    case TARDY_OP_SENDMSG:
        return op_ret(sendmsg(op->fd, op->msg, op->flags | MSG_DONTWAIT | MSG_NOSIGNAL));
    case TARDY_OP_READ:
        return op_ret(op->offset < 0 ? read(op->fd, op->buf, op->len)
                                     : pread(op->fd, op->buf, op->len, (off_t)op->offset));
    case TARDY_OP_WRITE:
        return op_ret(op->offset < 0 ? write(op->fd, op->buf, op->len)
                                     : pwrite(op->fd, op->buf, op->len, (off_t)op->offset));
    case TARDY_OP_READV:
        return op_ret(op->offset < 0 ? readv(op->fd, op->iov, op->iovcnt)
                                     : preadv(op->fd, op->iov, op->iovcnt, (off_t)op->offset));
    case TARDY_OP_WRITEV:
        return op_ret(op->offset < 0 ? writev(op->fd, op->iov, op->iovcnt)
                                     : pwritev(op->fd, op->iov, op->iovcnt, (off_t)op->offset));
    case TARDY_OP_OPEN:
        return op_ret(open(op->path, op->flags | O_CLOEXEC, op->mode));
    case TARDY_OP_CLOSE:
        return op_ret(close(op->fd));
    case TARDY_OP_STAT:
        return op_ret(stat(op->path, op->st));
    case TARDY_OP_UNLINK:
        return op_ret(unlink(op->path));
    case TARDY_OP_MKDIR:
        return op_ret(mkdir(op->path, op->mode));
    case TARDY_OP_POLL: {
        struct pollfd pfd = {.fd = op->fd, .events = op->events};
        int r = poll(&pfd, 1, 0);
        if (r < 0)
            return -(int64_t)errno;
        if (r == 0)
            return -EAGAIN;
        return pfd.revents;
    }
    case TARDY_OP_RECV_STREAM: /* only drivers with TARDY_DRIVER_RECV_STREAM */
    case TARDY_OP_KIND_COUNT:
        break;
    }
    return -EINVAL;
}
