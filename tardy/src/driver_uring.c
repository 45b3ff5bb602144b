/* The io_uring driver: operations are queued as SQEs during a scheduler
 * turn and submitted, together with the wait for completions, in one
 * io_uring_enter per turn. Cancellation is IORING_OP_ASYNC_CANCEL, and a
 * pending read on an eventfd lets other threads wake the ring.
 *
 * Deadlines stay in the scheduler's timer heap, which cancels an op whose
 * deadline passed, as with the other drivers. A kernel timeout linked to
 * each op would cost an SQE, a CQE and a kernel timer armed and disarmed
 * per op: on a keep-alive connection, once per request for the idle
 * watch and again for the response's send (measured: 5% more server CPU
 * per request than the heap). */
#include "driver.h"

#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

/* user_data: an op's address (8-byte aligned), or one of the driver's
 * own small constants. */
#define UD_WAKE ((uint64_t)2)
#define UD_IGNORE ((uint64_t)3)

/* op->driver_state bits */
#define ST_POLLING 0x2u  /* waiting on a poll before retrying after -EAGAIN */
#define ST_CANCELED 0x8u

typedef struct uring_driver {
    struct io_uring ring;
    int wakefd;
    uint64_t wake_buf;
    bool wake_armed;
    unsigned pending; /* ops submitted and not completed */
    bool supported[IORING_OP_LAST];
    /* Receive-ahead: a ring of provided buffers (group AHEAD_GROUP) that
     * the kernel fills for TARDY_OP_RECV_STREAM's multishot receives. */
    struct io_uring_buf_ring *ahead_ring; /* NULL: not in use */
    char *ahead_mem;
    size_t ahead_ring_bytes;
    size_t ahead_mem_bytes;
    unsigned ahead_count; /* ring slots: a power of two, >= the buffers */
    unsigned ahead_size;
} uring_driver;

#define AHEAD_GROUP 0

static void uring_probe_ops(uring_driver *d)
{
    struct io_uring_probe *probe = io_uring_get_probe_ring(&d->ring);
    for (int op = 0; op < IORING_OP_LAST; op++)
        d->supported[op] = probe ? io_uring_opcode_supported(probe, op) : false;
    if (probe)
        io_uring_free_probe(probe);
}

static void uring_ahead_fini(uring_driver *d)
{
    if (!d->ahead_ring)
        return;
    io_uring_unregister_buf_ring(&d->ring, AHEAD_GROUP);
    munmap(d->ahead_ring, d->ahead_ring_bytes);
    munmap(d->ahead_mem, d->ahead_mem_bytes);
    d->ahead_ring = NULL;
}

/* Sets up the receive-ahead buffers. Without them (an old kernel, no
 * memory, none asked for) watches just wait for readiness. */
static void uring_ahead_init(uring_driver *d, const tardy_driver_params *params)
{
    if (params->recv_buffers == 0 || params->recv_buffer_size == 0 || !d->supported[IORING_OP_RECV])
        return;
    /* The ring's size must be a power of two; it holds exactly the buffers
     * asked for (ids below recv_buffers), the rest of its slots unused. */
    unsigned count = 1;
    while (count < params->recv_buffers)
        count <<= 1;
    unsigned buffers = params->recv_buffers;
    d->ahead_count = count;
    d->ahead_size = params->recv_buffer_size;
    d->ahead_ring_bytes = count * sizeof(struct io_uring_buf);
    d->ahead_mem_bytes = (size_t)buffers * d->ahead_size;
    void *ring = mmap(NULL, d->ahead_ring_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (ring == MAP_FAILED)
        return;
    /* Untouched pages cost nothing: a buffer is paid for when first used. */
    void *mem = mmap(NULL, d->ahead_mem_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED) {
        munmap(ring, d->ahead_ring_bytes);
        return;
    }
    struct io_uring_buf_reg reg = {.ring_addr = (uint64_t)(uintptr_t)ring, .ring_entries = count, .bgid = AHEAD_GROUP};
    if (io_uring_register_buf_ring(&d->ring, &reg, 0) != 0) {
        /* Before Linux 5.19. */
        munmap(ring, d->ahead_ring_bytes);
        munmap(mem, d->ahead_mem_bytes);
        return;
    }
    d->ahead_ring = ring;
    d->ahead_mem = mem;
    io_uring_buf_ring_init(d->ahead_ring);
    int mask = io_uring_buf_ring_mask(count);
    for (unsigned i = 0; i < buffers; i++)
        io_uring_buf_ring_add(d->ahead_ring, d->ahead_mem + (size_t)i * d->ahead_size, d->ahead_size,
                              (unsigned short)i, mask, (int)i);
    io_uring_buf_ring_advance(d->ahead_ring, (int)buffers);
}

static void uring_give_back(void *state, uint32_t id)
{
    uring_driver *d = state;
    io_uring_buf_ring_add(d->ahead_ring, d->ahead_mem + (size_t)id * d->ahead_size, d->ahead_size,
                          (unsigned short)id, io_uring_buf_ring_mask(d->ahead_count), 0);
    io_uring_buf_ring_advance(d->ahead_ring, 1);
}

static int uring_init(void **state, const tardy_driver_params *params)
{
    uring_driver *d = calloc(1, sizeof *d);
    if (!d)
        return -ENOMEM;
    unsigned entries = params->queue_depth ? params->queue_depth : 256;
    /* Room for a completion of every task and some streams' before each
     * harvest, up to 4096 (64 KiB of ring, resident once the ring has
     * wrapped), rather than a server with a high task limit keeping a
     * megabyte of ring for bursts it may never see. Past that a burst
     * spills into the kernel's overflow list (IORING_FEAT_NODROP, as old
     * as IORING_SETUP_CQSIZE), flushed when the ring is next entered, and
     * a multishot receive may end (its stream re-arms it, or polls). */
    unsigned cq = params->max_tasks * 2 + 64;
    if (cq > 4096)
        cq = 4096;
    if (cq < entries * 2)
        cq = entries * 2;
    /* Newest kernels first: one submitter thread, task work run only when
     * we ask for completions, so completions cost no interrupts. */
    static const unsigned flag_sets[] = {
        IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_SUBMIT_ALL,
        IORING_SETUP_COOP_TASKRUN | IORING_SETUP_SUBMIT_ALL,
        0,
    };
    int err = -ENOSYS;
    for (size_t i = 0; i < sizeof flag_sets / sizeof flag_sets[0]; i++) {
        struct io_uring_params p;
        memset(&p, 0, sizeof p);
        p.flags = flag_sets[i] | IORING_SETUP_CQSIZE;
        p.cq_entries = cq;
        err = io_uring_queue_init_params(entries, &d->ring, &p);
        if (err != -EINVAL)
            break;
    }
    if (err) {
        free(d);
        /* Disabled by sysctl (EPERM), seccomp (ENOSYS/EPERM) or absent. */
        return err == -ENOMEM ? err : -ENOSYS;
    }
    d->wakefd = eventfd(0, EFD_CLOEXEC);
    if (d->wakefd < 0) {
        err = -errno;
        io_uring_queue_exit(&d->ring);
        free(d);
        return err;
    }
    uring_probe_ops(d);
    uring_ahead_init(d, params);
    *state = d;
    return 0;
}

static struct io_uring_sqe *uring_sqe(uring_driver *d)
{
    struct io_uring_sqe *sqe = io_uring_get_sqe(&d->ring);
    while (!sqe) {
        /* The queue is full within one turn: flush it early. */
        io_uring_submit(&d->ring);
        sqe = io_uring_get_sqe(&d->ring);
    }
    return sqe;
}

static int uring_opcode(tardy_op_kind kind)
{
    switch (kind) {
    case TARDY_OP_ACCEPT: return IORING_OP_ACCEPT;
    case TARDY_OP_CONNECT: return IORING_OP_CONNECT;
    case TARDY_OP_RECV: return IORING_OP_RECV;
    case TARDY_OP_SEND: return IORING_OP_SEND;
    case TARDY_OP_RECVMSG: return IORING_OP_RECVMSG;
    case TARDY_OP_SENDMSG: return IORING_OP_SENDMSG;
    case TARDY_OP_READ: return IORING_OP_READ;
    case TARDY_OP_WRITE: return IORING_OP_WRITE;
    case TARDY_OP_READV: return IORING_OP_READV;
    case TARDY_OP_WRITEV: return IORING_OP_WRITEV;
    case TARDY_OP_OPEN: return IORING_OP_OPENAT;
    case TARDY_OP_CLOSE: return IORING_OP_CLOSE;
    case TARDY_OP_STAT: return IORING_OP_STATX;
    case TARDY_OP_UNLINK: return IORING_OP_UNLINKAT;
    case TARDY_OP_MKDIR: return IORING_OP_MKDIRAT;
    case TARDY_OP_POLL: return IORING_OP_POLL_ADD;
    case TARDY_OP_RECV_STREAM: return IORING_OP_RECV;
    case TARDY_OP_KIND_COUNT: break;
    }
    return -1;
}

static void uring_prep(struct io_uring_sqe *sqe, tardy_op *op)
{
    /* io_uring treats an offset of -1 as "the current file position". */
    uint64_t off = op->offset < 0 ? (uint64_t)-1 : (uint64_t)op->offset;
    if (op->driver_state & ST_POLLING) {
        io_uring_prep_poll_add(sqe, op->fd, (unsigned)tardy_op_events(op));
        return;
    }
    switch (op->kind) {
    case TARDY_OP_ACCEPT:
        io_uring_prep_accept(sqe, op->fd, op->addr, op->addrlen, SOCK_NONBLOCK | SOCK_CLOEXEC);
        break;
    case TARDY_OP_CONNECT:
        io_uring_prep_connect(sqe, op->fd, op->addr, op->addrlen_in);
        break;
    case TARDY_OP_RECV:
        io_uring_prep_recv(sqe, op->fd, op->buf, op->len, op->flags);
        break;
    case TARDY_OP_SEND:
        io_uring_prep_send(sqe, op->fd, op->buf, op->len, op->flags | MSG_NOSIGNAL);
        break;
    case TARDY_OP_RECVMSG:
        io_uring_prep_recvmsg(sqe, op->fd, op->msg, (unsigned)op->flags);
        break;
    case TARDY_OP_SENDMSG:
        io_uring_prep_sendmsg(sqe, op->fd, op->msg, (unsigned)op->flags | MSG_NOSIGNAL);
        break;
    case TARDY_OP_READ:
        io_uring_prep_read(sqe, op->fd, op->buf, (unsigned)op->len, off);
        break;
    case TARDY_OP_WRITE:
        io_uring_prep_write(sqe, op->fd, op->buf, (unsigned)op->len, off);
        break;
    case TARDY_OP_READV:
        io_uring_prep_readv(sqe, op->fd, op->iov, (unsigned)op->iovcnt, off);
        break;
    case TARDY_OP_WRITEV:
        io_uring_prep_writev(sqe, op->fd, op->iov, (unsigned)op->iovcnt, off);
        break;
    case TARDY_OP_OPEN:
        io_uring_prep_openat(sqe, AT_FDCWD, op->path, op->flags | O_CLOEXEC, op->mode);
        break;
    case TARDY_OP_CLOSE:
        io_uring_prep_close(sqe, op->fd);
        break;
    case TARDY_OP_STAT:
        io_uring_prep_statx(sqe, AT_FDCWD, op->path, 0, STATX_BASIC_STATS,
                            (struct statx *)op->driver_scratch);
        break;
    case TARDY_OP_UNLINK:
        io_uring_prep_unlinkat(sqe, AT_FDCWD, op->path, 0);
        break;
    case TARDY_OP_MKDIR:
        io_uring_prep_mkdirat(sqe, AT_FDCWD, op->path, op->mode);
        break;
    case TARDY_OP_POLL:
        io_uring_prep_poll_add(sqe, op->fd, (unsigned)op->events);
        break;
    case TARDY_OP_RECV_STREAM:
        /* Receive into buffers the kernel picks, each time data comes,
         * until cancelled or out of buffers. (Not IORING_RECVSEND_POLL_FIRST:
         * with it, an end of stream that comes with the last bytes on a
         * Unix socket was never reported. An empty ring ends the receive
         * at once instead, which the stream handles.) */
        io_uring_prep_recv_multishot(sqe, op->fd, NULL, 0, 0);
        sqe->flags |= IOSQE_BUFFER_SELECT;
        sqe->buf_group = AHEAD_GROUP;
        break;
    case TARDY_OP_KIND_COUNT:
        break;
    }
}

/* Queues op. */
static void uring_issue(uring_driver *d, tardy_op *op)
{
    struct io_uring_sqe *sqe = uring_sqe(d);
    uring_prep(sqe, op);
    io_uring_sqe_set_data64(sqe, (uint64_t)(uintptr_t)op);
}

static void uring_stat_convert(const struct statx *sx, struct stat *st)
{
    memset(st, 0, sizeof *st);
    st->st_dev = makedev(sx->stx_dev_major, sx->stx_dev_minor);
    st->st_ino = sx->stx_ino;
    st->st_mode = sx->stx_mode;
    st->st_nlink = sx->stx_nlink;
    st->st_uid = sx->stx_uid;
    st->st_gid = sx->stx_gid;
    st->st_rdev = makedev(sx->stx_rdev_major, sx->stx_rdev_minor);
    st->st_size = (off_t)sx->stx_size;
    st->st_blksize = sx->stx_blksize;
    st->st_blocks = (blkcnt_t)sx->stx_blocks;
    st->st_atim.tv_sec = sx->stx_atime.tv_sec;
    st->st_atim.tv_nsec = sx->stx_atime.tv_nsec;
    st->st_mtim.tv_sec = sx->stx_mtime.tv_sec;
    st->st_mtim.tv_nsec = sx->stx_mtime.tv_nsec;
    st->st_ctim.tv_sec = sx->stx_ctime.tv_sec;
    st->st_ctim.tv_nsec = sx->stx_ctime.tv_nsec;
}

static int64_t uring_submit(void *state, tardy_op *op)
{
    uring_driver *d = state;
    int opcode = uring_opcode(op->kind);
    if (opcode < 0 || !d->supported[opcode])
        return tardy_op_try(op); /* an old kernel: do it synchronously */
    op->driver_state = 0;
    if (op->kind == TARDY_OP_RECV_STREAM && !d->ahead_ring)
        return -EINVAL; /* no buffer ring on this kernel */
    if (op->kind == TARDY_OP_CLOSE && (op->flags & TARDY_CLOSE_NOWAIT)) {
        /* Its result is not wanted: it goes with the turn's submissions,
         * in order, and its completion is dropped. */
        struct io_uring_sqe *sqe = uring_sqe(d);
        io_uring_prep_close(sqe, op->fd);
        io_uring_sqe_set_data64(sqe, UD_IGNORE);
        return 0;
    }
    uring_issue(d, op);
    d->pending++;
    return TARDY_OP_PENDING;
}

static void uring_cancel(void *state, tardy_op *op)
{
    uring_driver *d = state;
    op->driver_state |= ST_CANCELED;
    struct io_uring_sqe *sqe = uring_sqe(d);
    io_uring_prep_cancel64(sqe, (uint64_t)(uintptr_t)op, 0);
    io_uring_sqe_set_data64(sqe, UD_IGNORE);
}

/* Hands the bytes of a receive-ahead CQE to op's owner (op->buf, len,
 * ahead_id; true), or gives back a buffer that came without bytes. */
static bool uring_ahead_bytes(uring_driver *d, tardy_op *op, int64_t res, unsigned cqe_flags)
{
    op->buf = NULL;
    if (!(cqe_flags & IORING_CQE_F_BUFFER))
        return false;
    uint32_t id = cqe_flags >> IORING_CQE_BUFFER_SHIFT;
    if (res <= 0) {
        uring_give_back(d, id);
        return false;
    }
    op->buf = d->ahead_mem + (size_t)id * d->ahead_size;
    op->len = (size_t)res;
    op->ahead_id = id;
    return true;
}

/* The CQE of one issue of op has arrived with result res. */
static int uring_finish(uring_driver *d, tardy_op *op, int64_t res, unsigned cqe_flags)
{
    if (op->kind == TARDY_OP_RECV_STREAM) {
        /* One arrival of a multishot receive: the raw result, and whether
         * the receive stays armed. */
        uring_ahead_bytes(d, op, res, cqe_flags);
        op->more = (cqe_flags & IORING_CQE_F_MORE) != 0;
        if (!op->more)
            d->pending--;
        tardy_op_complete(op, res);
        return 1;
    }
    bool polling = (op->driver_state & ST_POLLING) != 0;
    bool stopped = (op->driver_state & ST_CANCELED) != 0;
    if (polling && op->kind != TARDY_OP_POLL) {
        /* The readiness poll of an op that answered -EAGAIN ended. */
        if (stopped)
            res = -ECANCELED;
        else if (res >= 0) {
            op->driver_state &= ~ST_POLLING;
            uring_issue(d, op);
            return 0;
        }
    } else if (res == -EAGAIN && !stopped && op->kind != TARDY_OP_POLL) {
        /* A non-blocking descriptor made the kernel answer EAGAIN (reads
         * and writes honour O_NONBLOCK): wait for readiness, then retry. */
        op->driver_state |= ST_POLLING;
        uring_issue(d, op);
        return 0;
    }
    if (op->kind == TARDY_OP_STAT && res == 0 && !polling)
        uring_stat_convert((const struct statx *)op->driver_scratch, op->st);
    d->pending--;
    tardy_op_complete(op, res);
    return 1;
}

static int uring_reap(uring_driver *d)
{
    struct io_uring_cqe *cqe;
    int done = 0;
    /* Each entry is handed back before it is acted on: a completion's
     * callback may submit (a stream re-arms), and with the ring full a
     * submission must find room for the kernel's next completions. */
    while (io_uring_peek_cqe(&d->ring, &cqe) == 0) {
        uint64_t ud = cqe->user_data;
        int64_t res = cqe->res;
        unsigned flags = cqe->flags;
        io_uring_cqe_seen(&d->ring, cqe);
        if (ud == UD_WAKE) {
            d->wake_armed = false;
            continue;
        }
        /* LIBURING_UDATA_TIMEOUT: liburing's own wait timeout on kernels
         * without IORING_FEAT_EXT_ARG. */
        if (ud == UD_IGNORE || ud == LIBURING_UDATA_TIMEOUT)
            continue;
        done += uring_finish(d, (tardy_op *)(uintptr_t)ud, res, flags);
    }
    return done;
}

static void uring_arm_wake(uring_driver *d)
{
    if (d->wake_armed)
        return;
    struct io_uring_sqe *sqe = uring_sqe(d);
    io_uring_prep_read(sqe, d->wakefd, &d->wake_buf, sizeof d->wake_buf, 0);
    io_uring_sqe_set_data64(sqe, UD_WAKE);
    d->wake_armed = true;
}

static int uring_poll(void *state, int64_t timeout_ns)
{
    uring_driver *d = state;
    int done = 0;
    if (timeout_ns != 0)
        uring_arm_wake(d);
    if (timeout_ns == 0) {
        int r = io_uring_submit_and_get_events(&d->ring);
        if (r < 0 && r != -EINTR && r != -EAGAIN && r != -EBUSY)
            return r;
    } else {
        struct __kernel_timespec ts = {.tv_sec = timeout_ns / 1000000000,
                                       .tv_nsec = timeout_ns % 1000000000};
        struct io_uring_cqe *cqe;
        int r = io_uring_submit_and_wait_timeout(&d->ring, &cqe, 1, timeout_ns > 0 ? &ts : NULL, NULL);
        if (r < 0 && r != -ETIME && r != -EINTR && r != -EAGAIN && r != -EBUSY)
            return r;
    }
    done += uring_reap(d);
    return done;
}

static void uring_wake(void *state)
{
    uring_driver *d = state;
    uint64_t one = 1;
    ssize_t w = write(d->wakefd, &one, sizeof one);
    (void)w;
}

static void uring_fini(void *state)
{
    uring_driver *d = state;
    /* Ops may still point into task stacks that are about to be unmapped:
     * cancel them all and wait (a bounded while) for the kernel to let go. */
    if (d->pending) {
        struct io_uring_sqe *sqe = uring_sqe(d);
        io_uring_prep_cancel64(sqe, 0, IORING_ASYNC_CANCEL_ANY);
        io_uring_sqe_set_data64(sqe, UD_IGNORE);
        for (int i = 0; i < 100 && d->pending; i++) {
            struct __kernel_timespec ts = {.tv_sec = 0, .tv_nsec = 10000000};
            struct io_uring_cqe *cqe;
            io_uring_submit_and_wait_timeout(&d->ring, &cqe, 1, &ts, NULL);
            struct io_uring_cqe *c;
            unsigned head, seen = 0;
            io_uring_for_each_cqe(&d->ring, head, c)
            {
                seen++;
                uint64_t ud = c->user_data;
                if (ud == UD_WAKE || ud == UD_IGNORE || ud == LIBURING_UDATA_TIMEOUT)
                    continue;
                if (c->flags & IORING_CQE_F_MORE)
                    continue; /* a multishot op that stays armed */
                d->pending--;
            }
            io_uring_cq_advance(&d->ring, seen);
        }
    }
    uring_ahead_fini(d);
    io_uring_queue_exit(&d->ring);
    close(d->wakefd);
    free(d);
}

const struct tardy_driver_ops tardy_driver_io_uring = {
    .api_version = TARDY_DRIVER_API_VERSION,
    .name = "io_uring",
    .flags = TARDY_DRIVER_RECV_STREAM,
    .init = uring_init,
    .fini = uring_fini,
    .submit = uring_submit,
    .cancel = uring_cancel,
    .poll = uring_poll,
    .wake = uring_wake,
    .give_back = uring_give_back,
};
