/* The seam between the scheduler and an I/O driver. A driver is a table of
 * functions (struct tardy_driver_ops); one instance of it serves one
 * runtime and is only ever called from that runtime's thread, except
 * `wake`. To plug in a driver of your own, include this header and pass a
 * table in tardy_config.custom_driver. */
#ifndef TARDY_DRIVER_H
#define TARDY_DRIVER_H

#include "tardy.h"

#include <poll.h>
#include <stdbool.h>
#include <stdint.h>

/* The operations a task can park on. */
typedef enum tardy_op_kind {
    TARDY_OP_ACCEPT,
    TARDY_OP_CONNECT,
    TARDY_OP_RECV,
    TARDY_OP_SEND,
    TARDY_OP_RECVMSG,
    TARDY_OP_SENDMSG,
    TARDY_OP_READ,
    TARDY_OP_WRITE,
    TARDY_OP_READV,
    TARDY_OP_WRITEV,
    TARDY_OP_OPEN,
    TARDY_OP_CLOSE,
    TARDY_OP_STAT,
    TARDY_OP_UNLINK,
    TARDY_OP_MKDIR,
    TARDY_OP_POLL,
    TARDY_OP_RECV_STREAM,
    TARDY_OP_KIND_COUNT,
} tardy_op_kind;

/* One pending operation. It lives in the parked task's frame, so it (and
 * every buffer it points to) stays valid until the driver completes it. */
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

    /* Driver scratch: free for the driver's use while the op is pending. */
    struct tardy_op *driver_next;
    struct tardy_op *driver_prev;
    uint32_t driver_state;
    uint32_t driver_pending;
    uint64_t driver_word[4];
    void *driver_scratch;      /* STAT: points to a struct statx the caller provides */

    /* RECV_STREAM: set by the driver before each on_complete call. */
    uint32_t ahead_id;         /* the buffer to pass to give_back */
    bool more;                 /* the receive is still armed */

    /* Owned by the scheduler. */
    void *owner;
    /* When set, called on completion instead of waking a task. */
    void (*on_complete)(struct tardy_op *op, int64_t result);
    bool tried;                /* CONNECT: a first attempt was made */
} tardy_op;

/* TARDY_OP_RECV_STREAM, only for drivers with TARDY_DRIVER_RECV_STREAM in
 * their flags: a receive on socket fd that stays armed, into buffers of
 * the driver's own. The driver calls op->on_complete once per arrival with
 * the raw result: bytes (> 0) in op->buf/op->len with op->ahead_id to
 * pass to give_back once they are copied out; 0 at the end of the stream;
 * -errno (-ENOBUFS: its buffers ran out; -EINVAL: the kernel cannot do
 * it). It sets op->more while the receive stays armed; the call with
 * op->more false is the last. cancel ends it (a last call follows). A
 * result without bytes leaves op->buf NULL. */

/* tardy_driver_ops.flags: the driver takes TARDY_OP_RECV_STREAM (and has
 * give_back). Without it, a receive stream waits with TARDY_OP_POLL. */
#define TARDY_DRIVER_RECV_STREAM 0x1u

/* Returned by submit when the operation will complete later. */
#define TARDY_OP_PENDING INT64_MIN

typedef struct tardy_driver_params {
    unsigned queue_depth; /* io_uring SQ entries */
    unsigned max_tasks;   /* at most this many ops are pending at once */
    unsigned recv_buffers;     /* receive-ahead buffers (0: none) */
    unsigned recv_buffer_size; /* bytes each */
} tardy_driver_params;

struct tardy_driver_ops {
    const char *name;
    unsigned flags; /* TARDY_DRIVER_RECV_STREAM or 0. (Deadlines are the
                       scheduler's: it cancels an op whose deadline passed.) */

    /* Creates one driver instance for the calling runtime thread. Returns 0
     * and sets *state, or -errno (-ENOSYS: not available on this kernel). */
    int (*init)(void **state, const tardy_driver_params *params);
    /* Frees the instance. Pending ops are dropped without completion. */
    void (*fini)(void *state);

    /* Starts `op`. Returns its result when it finished at once (>= 0 or
     * -errno; a readiness driver tries the non-blocking call first), or
     * TARDY_OP_PENDING when it will be completed later by a call to
     * tardy_op_complete from poll or cancel. submit never calls
     * tardy_op_complete itself. */
    int64_t (*submit)(void *state, tardy_op *op);

    /* Asks that a pending op end early. The driver completes it, now or in
     * a later poll, with -ECANCELED, or with its real result if it had
     * already finished. Called at most once per op. */
    void (*cancel)(void *state, tardy_op *op);

    /* Flushes submissions and completes finished ops, waiting up to
     * timeout_ns for at least one event (0: do not wait; -1: until an event
     * or a wake). Returns the number of ops completed or -errno. */
    int (*poll)(void *state, int64_t timeout_ns);

    /* Makes a poll in progress (or the next one) return promptly. Called
     * from any thread and from signal handlers: async-signal-safe. */
    void (*wake)(void *state);

    /* Optional (NULL: none). The result of a non-blocking call made on this
     * runtime without going through submit (an op with MSG_DONTWAIT), so a
     * readiness driver can keep what it knows of the descriptor current. */
    void (*observe)(void *state, const tardy_op *op, int64_t result);

    /* Optional (NULL: the driver never receives ahead). Takes back the
     * buffer of a TARDY_OP_RECV_STREAM arrival, by its ahead_id, once its
     * bytes have been copied out. */
    void (*give_back)(void *state, uint32_t id);
};

/* Called by a driver when a pending op has finished. */
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
 * (-EAGAIN when it would block). Readiness and busy drivers build on it. */
int64_t tardy_op_try(tardy_op *op);

/* Built-in drivers. io_uring's table exists only when built with liburing. */
extern const struct tardy_driver_ops tardy_driver_io_uring;
extern const struct tardy_driver_ops tardy_driver_epoll;
extern const struct tardy_driver_ops tardy_driver_busy;

#endif /* TARDY_DRIVER_H */
