/* tardy_driver: the interface between tardy's scheduler and an I/O driver,
 * for writing a driver of your own and plugging it in through
 * tardy_config.custom_driver. Programs that only use tardy need tardy.h
 * alone. */
#ifndef TARDY_DRIVER_H
#define TARDY_DRIVER_H

#include "tardy.h"

#include <poll.h>
#include <stdbool.h>
#include <stdint.h>

/* Exported like tardy.h's declarations (the library hides the rest). */
#pragma GCC visibility push(default)

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------
 * The model
 *
 * A driver is a table of functions, struct tardy_driver_ops. Each runtime
 * (thread) of a tardy_run calls the table's init once to make an instance
 * of its own, and fini once at the end; every other call on that instance
 * comes from the runtime's own thread, except wake, which may come from
 * any thread or a signal handler. Nothing is shared between instances.
 *
 * A task that makes an I/O call fills a tardy_op and the scheduler hands
 * it to submit. Either the op finishes there (submit returns its result)
 * or submit returns TARDY_OP_PENDING and the task parks; the driver then
 * owns the op until it reports the result with tardy_op_complete, from a
 * later poll or cancel. The scheduler calls poll whenever it has nothing
 * to run; that is where pending ops are waited for.
 *
 * Results follow tardy.h's convention: what the syscall would return
 * (>= 0) or its -errno, never -1 with errno. tardy_op_try performs an op
 * as one non-blocking syscall; a readiness driver (poll, epoll, select)
 * calls it first and again whenever the descriptor becomes ready, and only
 * needs to know which readiness to wait for (tardy_op_events).
 *
 * Deadlines and tardy_cancel are the scheduler's: it calls cancel on the
 * pending op and turns the -ECANCELED result into -ETIMEDOUT when a
 * deadline was the cause. A driver keeps no timers for them.
 * ---------------------------------------------------------------------- */

/* The version of this interface. A driver states the version it was
 * built against in tardy_driver_ops.api_version (always set it to this
 * macro); tardy_run refuses a driver whose api_version differs from the
 * library's own with -EPROTO, before any thread starts, rather than run
 * it with a different idea of the structures below. It goes up with every
 * change that a driver compiled against the old header could get wrong:
 * a field added, moved or retyped, an op kind added, a new duty. */
#define TARDY_DRIVER_API_VERSION 1

/* The operations a task can park on. For each kind, the fields of
 * tardy_op that the scheduler fills and what the result is (as the
 * syscall of the same name returns it): */
typedef enum tardy_op_kind {
    /* accept4(fd, addr, addrlen, SOCK_NONBLOCK | SOCK_CLOEXEC): the new
     * descriptor. addr and addrlen may be NULL. */
    TARDY_OP_ACCEPT,
    /* connect(fd, addr, addrlen_in): 0 once connected. tardy_op_try
     * records its attempts in op->tried, so retrying it after readiness
     * reports the outcome of the first attempt. */
    TARDY_OP_CONNECT,
    /* recv(fd, buf, len, flags): the byte count, 0 at end of stream. */
    TARDY_OP_RECV,
    /* send(fd, buf, len, flags | MSG_NOSIGNAL): the byte count. */
    TARDY_OP_SEND,
    /* recvmsg(fd, msg, flags). */
    TARDY_OP_RECVMSG,
    /* sendmsg(fd, msg, flags | MSG_NOSIGNAL). */
    TARDY_OP_SENDMSG,
    /* read(fd, buf, len), or pread at offset when offset >= 0. */
    TARDY_OP_READ,
    /* write(fd, buf, len), or pwrite at offset when offset >= 0. */
    TARDY_OP_WRITE,
    /* readv(fd, iov, iovcnt), or preadv at offset when offset >= 0. */
    TARDY_OP_READV,
    /* writev(fd, iov, iovcnt), or pwritev at offset when offset >= 0. */
    TARDY_OP_WRITEV,
    /* open(path, flags | O_CLOEXEC, mode): the new descriptor. fd is -1. */
    TARDY_OP_OPEN,
    /* close(fd): 0. A driver that keeps anything by descriptor number (a
     * registration, a list of waiters) must drop it before the close,
     * since the number can be reused at once; the epoll driver also ends
     * the ops still waiting on fd, with -EBADF. With TARDY_CLOSE_NOWAIT
     * in flags the caller does not want the result (tardy_close_nowait):
     * the driver may queue the close and finish the op at once with 0,
     * provided the close happens before any op submitted after it is
     * handled (the io_uring driver does so); or close now, as without. */
    TARDY_OP_CLOSE,
    /* stat(path, st): 0, *st filled. driver_scratch points to 256 bytes
     * (room for a struct statx) the driver may use while the op is
     * pending. fd is -1. */
    TARDY_OP_STAT,
    /* unlink(path): 0. fd is -1. */
    TARDY_OP_UNLINK,
    /* mkdir(path, mode): 0. fd is -1. */
    TARDY_OP_MKDIR,
    /* Waits until fd has one of `events`: the events that are set, > 0,
     * POLLERR and POLLHUP included when they are (poll(2)'s revents). */
    TARDY_OP_POLL,
    /* Only for a driver with TARDY_DRIVER_RECV_STREAM (others never see
     * it): a receive on socket fd that stays armed, into buffers of the
     * driver's own (params.recv_buffers of params.recv_buffer_size bytes,
     * ids below recv_buffers). The driver calls op->on_complete once per
     * arrival with the raw result: bytes (> 0) in op->buf/op->len with
     * op->ahead_id, the buffer staying the owner's until it calls
     * give_back(ahead_id); 0 at the end of the stream; -errno (-ENOBUFS:
     * its buffers ran out; -EINVAL: it cannot do this on this kernel). It
     * sets op->more while the receive stays armed; the call with op->more
     * false is the last, and cancel ends it with one. A result without
     * bytes leaves op->buf NULL. (tardy_stream uses it.) */
    TARDY_OP_RECV_STREAM,
    /* The number of kinds; no op has it. */
    TARDY_OP_KIND_COUNT,
} tardy_op_kind;

/* One operation, pending or about to be. The scheduler fills it before
 * submit (the fields the kind uses, see tardy_op_kind; the others are
 * zero, fd -1 and offset -1 where unused). It lives in the parked task's
 * frame, a tardy_watch or a tardy_stream, so it and every buffer it points to stay
 * valid until the driver completes it, and not a moment longer: after
 * tardy_op_complete the driver must not touch it again (unless op->more
 * says it stays armed). The driver writes only the driver_* fields, and
 * buf/len/ahead_id/more as the receive-ahead rules below say
 * (tardy_op_try also keeps op->tried). */
typedef struct tardy_op {
    tardy_op_kind kind;
    int fd;
    int flags;                 /* recv/send/accept/open/msg flags */
    short events;              /* POLL */
    mode_t mode;               /* OPEN, MKDIR */
    void *buf;                 /* RECV, SEND, READ, WRITE */
    size_t len;
    const struct iovec *iov;   /* READV, WRITEV */
    int iovcnt;
    struct msghdr *msg;        /* RECVMSG, SENDMSG */
    int64_t offset;            /* READ*, WRITE*: -1 = current position */
    const char *path;          /* OPEN, STAT, UNLINK, MKDIR */
    struct stat *st;           /* STAT */
    struct sockaddr *addr;     /* ACCEPT (out), CONNECT (in) */
    socklen_t *addrlen;        /* ACCEPT */
    socklen_t addrlen_in;      /* CONNECT */

    /* Driver scratch: the driver's own while the op is pending (list
     * links, flags, a kernel handle). Their values at submit are not
     * promised (an op may be submitted again after completing): set what
     * you use. The one exception is driver_scratch of a STAT, which the
     * scheduler points at scratch room (see TARDY_OP_STAT). */
    struct tardy_op *driver_next;
    struct tardy_op *driver_prev;
    uint32_t driver_state;
    uint32_t driver_pending;
    uint64_t driver_word[4];
    void *driver_scratch;      /* STAT: points to a struct statx the caller provides */

    /* RECV_STREAM: set by the driver before each on_complete call, with
     * buf and len (see TARDY_OP_RECV_STREAM). */
    uint32_t ahead_id;         /* the buffer to pass to give_back */
    bool more;                 /* the receive is still armed */

    /* Owned by the scheduler: a driver neither reads nor writes these. */
    void *owner;
    /* When set, called on completion instead of waking a task. */
    void (*on_complete)(struct tardy_op *op, int64_t result);
    bool tried;                /* CONNECT: a first attempt was made (tardy_op_try) */
} tardy_op;

/* TARDY_OP_CLOSE's flags: see TARDY_OP_CLOSE. */
#define TARDY_CLOSE_NOWAIT 0x1

/* tardy_driver_ops.flags: the driver takes TARDY_OP_RECV_STREAM (it then
 * must have give_back). Without it, receive streams wait with
 * TARDY_OP_POLL and read with TARDY_OP_RECV. */
#define TARDY_DRIVER_RECV_STREAM 0x1u

/* Returned by submit when the operation will complete later. No result
 * of a real operation has this value. */
#define TARDY_OP_PENDING INT64_MIN

/* What a runtime tells its driver instance at init, from tardy_config
 * with the defaults applied. A driver may ignore any of it. */
typedef struct tardy_driver_params {
    unsigned queue_depth; /* io_uring SQ entries: a hint of the batch size */
    /* The runtime's task limit. Each parked task has at most one op
     * pending; watches and streams add one op each, beyond this
     * number, so it is a sizing hint, not a bound on pending ops. */
    unsigned max_tasks;
    unsigned recv_buffers;     /* receive-ahead buffers (0: none) */
    unsigned recv_buffer_size; /* bytes each */
} tardy_driver_params;

/* A driver. Its table must stay valid and unchanged for as long as any
 * tardy_run uses it (a static const table is the usual way). Start it with
 * designated initialisers; the members not named are then zero, which is
 * "none" for the optional ones. tardy_run checks the table first and
 * refuses, before any thread starts: another api_version with -EPROTO;
 * a NULL name or required function, a flag this version does not know,
 * or TARDY_DRIVER_RECV_STREAM without give_back with -EINVAL. */
struct tardy_driver_ops {
    /* TARDY_DRIVER_API_VERSION, as this header defines it. It is the first
     * member in every version, so any runtime can read it. */
    unsigned api_version;
    /* The name tardy_driver_name() reports. Required. */
    const char *name;
    unsigned flags; /* TARDY_DRIVER_RECV_STREAM or 0. (Deadlines are the
                       scheduler's: it cancels an op whose deadline passed.) */

    /* Required. Creates one instance for the calling runtime thread; the
     * instance lives until fini. Returns 0 and sets *state (any pointer,
     * passed back to every other call), or -errno: -ENOSYS when the
     * mechanism is not available on this kernel, -ENOMEM, or the errno of
     * the syscall that failed. A failure makes tardy_run fail with that
     * value, after fini of the instances that did start. params is only
     * valid during the call. */
    int (*init)(void **state, const tardy_driver_params *params);
    /* Required. Frees the instance. Ops still pending (the run is being
     * stopped) are dropped without completion: their memory may already
     * be gone, so fini must not touch them. wake is not called during or
     * after fini. */
    void (*fini)(void *state);

    /* Required. Starts `op`. Returns its result when it finished at once
     * (>= 0 or -errno; a readiness driver tries the non-blocking call
     * first), or TARDY_OP_PENDING when it will be completed later by a
     * call to tardy_op_complete from poll or cancel. It may fail an op it
     * cannot take with -errno (-ENOMEM, -EINVAL for a kind it does not
     * know). submit never calls tardy_op_complete for the op it was
     * given; it may for other pending ops (a CLOSE failing the ops
     * pending on its descriptor). */
    int64_t (*submit)(void *state, tardy_op *op);

    /* Required. Asks that a pending op end early. The driver completes it,
     * now or in a later poll, with -ECANCELED, or with its real result if
     * it had already finished. Called at most once per op, and only for
     * an op that is pending (submitted, TARDY_OP_PENDING returned, not yet
     * completed). */
    void (*cancel)(void *state, tardy_op *op);

    /* Required. Flushes submissions and completes finished ops, waiting
     * up to timeout_ns for at least one event (0: do not wait; -1: until
     * an event or a wake). It may return early (a signal, a spurious
     * wake-up): the scheduler calls again. Returns the number of ops
     * completed (>= 0) or -errno. */
    int (*poll)(void *state, int64_t timeout_ns);

    /* Required. Makes a poll in progress (or the next one) return
     * promptly. Called from any thread and from signal handlers: it must
     * be async-signal-safe and not block. Several wakes may be merged. */
    void (*wake)(void *state);

    /* Optional (NULL: none). The result of a non-blocking call made on this
     * runtime without going through submit (an op with MSG_DONTWAIT), so a
     * readiness driver can keep what it knows of the descriptor current.
     * op is only valid during the call. */
    void (*observe)(void *state, const tardy_op *op, int64_t result);

    /* Optional (NULL: the driver never receives ahead). Takes back the
     * buffer of a TARDY_OP_RECV_STREAM arrival, by its ahead_id, once its
     * bytes have been copied out. */
    void (*give_back)(void *state, uint32_t id);
};

/* Reports the result of a pending op: wakes its task with `result`, or
 * calls op->on_complete. Called by the driver on the runtime's thread,
 * from poll, cancel, or submit (for an op other than the one submitted),
 * exactly once per pending op (for a TARDY_OP_RECV_STREAM op, once per
 * arrival, the last with op->more false). Unlink the op from your own
 * lists first: before returning, the call may run the owner's code, which
 * may submit this same op again, or others, to this driver. */
void tardy_op_complete(tardy_op *op, int64_t result);

/* The readiness op waits for: POLLOUT for the kinds that write (connect
 * included), a POLL op's own events, POLLIN for the rest. */
static inline short tardy_op_events(const tardy_op *op)
{
    switch (op->kind) {
    case TARDY_OP_CONNECT:
    case TARDY_OP_SEND:
    case TARDY_OP_SENDMSG:
    case TARDY_OP_WRITE:
    case TARDY_OP_WRITEV:
        return POLLOUT;
    case TARDY_OP_POLL:
        return op->events;
    default:
        return POLLIN;
    }
}

/* Performs op once as a non-blocking syscall and returns its result
 * (-EAGAIN when it would block, -EINVAL for an unknown kind). A POLL
 * checks with a zero-timeout poll(2) and returns -EAGAIN when none of its
 * events is set. Regular files and the path operations never return
 * -EAGAIN: they run to the end here. It touches no driver state; call it
 * on the runtime's thread, for an op the driver holds. Readiness and busy
 * drivers build on it. */
int64_t tardy_op_try(tardy_op *op);

#ifdef __cplusplus
}
#endif

#pragma GCC visibility pop
#endif /* TARDY_DRIVER_H */
