/* The epoll driver: try the non-blocking call first and wait for readiness
 * only on EAGAIN. Each descriptor is registered once, edge-triggered, for
 * both directions; the ops waiting on it sit in a per-descriptor list and
 * are retried when an edge arrives. Regular files are always "ready" to
 * epoll, so their reads and writes simply run synchronously.
 *
 * It also remembers, per registered descriptor and direction, whether the
 * descriptor may be ready: an edge says it may, an EAGAIN or a short read
 * says it is not (edge-triggered epoll reports every later arrival; an end
 * of stream already reported keeps it readable). An op in a direction
 * known not ready waits without trying, so a connection going idle after
 * a response costs no poll() call.
 *
 * Receive streams (TARDY_OP_RECV_STREAM) are received ahead, as on
 * io_uring: while one is armed, each edge's bytes are received in the poll
 * itself, into the driver's buffers (params.recv_buffers of
 * recv_buffer_size bytes), before the turn's tasks run. So a connection's
 * next request costs its task no receive call, and bytes received this way
 * arrived before the turn (tardy_io_epoch does not move while the turn's
 * tasks serve them). Free buffers are reused last-in first-out, so a
 * load touches only as many as it holds at once; a descriptor holds at
 * most AHEAD_PER_FD of them, and a stream that reaches that (or finds none
 * free) ends its receive with -ENOBUFS and reads the socket itself. */
#include "driver.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#define EPOLL_BATCH 256
#define EPOLL_WAKE_TAG UINT64_MAX
/* Receive-ahead buffers one descriptor may hold at once: enough for a
 * request's head, without letting one client's upload take them all. */
#define AHEAD_PER_FD 4u

enum { READY_IN = 1, READY_OUT = 2 };
/* What a receive-ahead learns of a socket once: on a byte stream a short
 * read drains it; a message socket gives one message per read. */
enum { SOCK_UNKNOWN = 0, SOCK_BYTES, SOCK_MESSAGES };

typedef struct epoll_fd_slot {
    tardy_op *waiters; /* doubly linked through driver_next/driver_prev */
    bool registered;
    uint8_t ready; /* READY_* the descriptor may be (when registered) */
    bool hup;      /* an edge said end of stream, hang-up or error */
    uint8_t held;  /* receive-ahead buffers its stream has not given back */
    uint8_t sock;  /* SOCK_UNKNOWN, SOCK_BYTES or SOCK_MESSAGES (receive-ahead) */
    bool kicked;   /* on the kick list (epoll_ahead_submit) */
    int kick_next; /* the next kicked descriptor + 1; 0 ends the list */
} epoll_fd_slot;

typedef struct epoll_driver {
    int epfd;
    int wakefd;
    epoll_fd_slot *fds;
    size_t nfds;
    bool have_pwait2;
    /* Receive-ahead (NULL ahead_mem: none): buffer id i is at
     * ahead_mem + i * ahead_size; ahead_free[0..ahead_nfree) are the free
     * ids, the last freed on top; ahead_fd[i] is the descriptor a taken
     * buffer was received from. */
    char *ahead_mem;
    size_t ahead_bytes;
    unsigned ahead_size;
    unsigned ahead_nfree;
    uint32_t *ahead_free;
    int *ahead_fd;
    int kick_head; /* the first kicked descriptor + 1; 0: none */
} epoll_driver;

static void epoll_ahead_free(epoll_driver *d)
{
    if (d->ahead_mem)
        munmap(d->ahead_mem, d->ahead_bytes);
    free(d->ahead_free);
    free(d->ahead_fd);
    d->ahead_mem = NULL;
}

/* Sets up `count` buffers of `size` bytes: address space only, each page
 * touched when a receive first writes to it. */
static int epoll_ahead_init(epoll_driver *d, unsigned count, unsigned size)
{
    d->ahead_bytes = (size_t)count * size;
    void *mem = mmap(NULL, d->ahead_bytes, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    d->ahead_free = malloc(count * sizeof *d->ahead_free);
    d->ahead_fd = malloc(count * sizeof *d->ahead_fd);
    d->ahead_mem = mem == MAP_FAILED ? NULL : mem;
    if (!d->ahead_mem || !d->ahead_free || !d->ahead_fd) {
        epoll_ahead_free(d);
        return -ENOMEM;
    }
    d->ahead_size = size;
    /* Id 0 on top: a light load keeps using the first few. */
    for (unsigned i = 0; i < count; i++)
        d->ahead_free[i] = count - 1 - i;
    d->ahead_nfree = count;
    return 0;
}

static int epoll_drv_init(void **state, const tardy_driver_params *params)
{
    epoll_driver *d = calloc(1, sizeof *d);
    if (!d)
        return -ENOMEM;
    d->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (d->epfd < 0) {
        int err = -errno;
        free(d);
        return err == -EINVAL ? -ENOSYS : err;
    }
    d->wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (d->wakefd < 0) {
        int err = -errno;
        close(d->epfd);
        free(d);
        return err;
    }
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = EPOLL_WAKE_TAG};
    if (epoll_ctl(d->epfd, EPOLL_CTL_ADD, d->wakefd, &ev) != 0) {
        int err = -errno;
        close(d->wakefd);
        close(d->epfd);
        free(d);
        return err;
    }
    /* One slot per possible descriptor; calloc of this size maps zero pages
     * that the kernel commits only where descriptors are used. */
    struct rlimit lim;
    size_t n = 65536;
    if (getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur != RLIM_INFINITY && lim.rlim_cur > n)
        n = lim.rlim_cur > (1u << 22) ? (1u << 22) : (size_t)lim.rlim_cur;
    d->fds = calloc(n, sizeof *d->fds);
    if (!d->fds) {
        close(d->wakefd);
        close(d->epfd);
        free(d);
        return -ENOMEM;
    }
    d->nfds = n;
    d->have_pwait2 = true;
    /* Without its buffers (no memory for them) the driver still runs:
     * streams then wait for readiness (RECV_STREAM answers -EINVAL). */
    if (params->recv_buffers && params->recv_buffer_size)
        (void)epoll_ahead_init(d, params->recv_buffers, params->recv_buffer_size);
    *state = d;
    return 0;
}

static void epoll_drv_fini(void *state)
{
    epoll_driver *d = state;
    close(d->wakefd);
    close(d->epfd);
    epoll_ahead_free(d);
    free(d->fds);
    free(d);
}

static epoll_fd_slot *epoll_slot(epoll_driver *d, int fd)
{
    if (fd < 0)
        return NULL;
    if ((size_t)fd >= d->nfds) {
        size_t n = d->nfds;
        while (n <= (size_t)fd)
            n *= 2;
        epoll_fd_slot *grown = realloc(d->fds, n * sizeof *grown);
        if (!grown)
            return NULL;
        memset(grown + d->nfds, 0, (n - d->nfds) * sizeof *grown);
        d->fds = grown;
        d->nfds = n;
    }
    return &d->fds[fd];
}

static void epoll_unlink(epoll_fd_slot *slot, tardy_op *op)
{
    if (op->driver_prev)
        op->driver_prev->driver_next = op->driver_next;
    else
        slot->waiters = op->driver_next;
    if (op->driver_next)
        op->driver_next->driver_prev = op->driver_prev;
    op->driver_next = op->driver_prev = NULL;
}

/* Closing a descriptor: forget its registration and fail its waiters. */
static void epoll_forget(epoll_driver *d, int fd)
{
    if (fd < 0 || (size_t)fd >= d->nfds)
        return;
    epoll_fd_slot *slot = &d->fds[fd];
    if (slot->registered) {
        /* The kernel drops the registration with the last reference to the
         * file; a dup'ed descriptor would keep it, so remove it explicitly. */
        epoll_ctl(d->epfd, EPOLL_CTL_DEL, fd, NULL);
        slot->registered = false;
    }
    slot->ready = 0;
    slot->hup = false;
    slot->held = 0; /* buffers still out are no longer this file's */
    slot->sock = SOCK_UNKNOWN;
    while (slot->waiters) {
        tardy_op *op = slot->waiters;
        epoll_unlink(slot, op);
        if (op->kind == TARDY_OP_RECV_STREAM) {
            op->buf = NULL;
            op->more = false;
        }
        tardy_op_complete(op, -EBADF);
    }
}

/* The direction an op waits for (0: none of the two, such as POLLPRI). */
static uint8_t epoll_direction(const tardy_op *op)
{
    short ev = tardy_op_events(op);
    return (uint8_t)(((ev & (POLLIN | POLLRDHUP)) ? READY_IN : 0) | ((ev & POLLOUT) ? READY_OUT : 0));
}

/* Learns from an attempt's result what the descriptor is not ready for. */
static void epoll_note(epoll_fd_slot *slot, const tardy_op *op, int64_t r)
{
    if (!slot)
        return;
    bool drained = r == -EAGAIN;
    /* A stream socket that gave less than asked has nothing more until its
     * next edge, unless an edge already said end of stream (or error):
     * then the end is still to be read, and no edge will come for it.
     * (Short writes prove nothing: the kernel signals room again only
     * after a send that found none.) */
    if (r > 0 && op->kind == TARDY_OP_RECV && (size_t)r < op->len && !slot->hup)
        drained = true;
    if (op->kind == TARDY_OP_POLL)
        drained = r == -EAGAIN || r == 0;
    if (drained)
        slot->ready &= (uint8_t)~epoll_direction(op);
}

/* Registers fd with epoll, edge-triggered, both directions; its slot's
 * readiness becomes `ready`. 0 or -errno. */
static int epoll_register(epoll_driver *d, epoll_fd_slot *slot, int fd, uint8_t ready)
{
    struct epoll_event ev = {
        .events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLPRI | EPOLLET,
        .data.u64 = (uint64_t)fd,
    };
    if (epoll_ctl(d->epfd, EPOLL_CTL_ADD, fd, &ev) != 0 && errno != EEXIST)
        return -errno;
    slot->registered = true;
    slot->ready = ready;
    return 0;
}

/* Puts op among its descriptor's waiters. */
static void epoll_link(epoll_fd_slot *slot, tardy_op *op)
{
    op->driver_prev = NULL;
    op->driver_next = slot->waiters;
    if (slot->waiters)
        slot->waiters->driver_prev = op;
    slot->waiters = op;
}

static bool epoll_wants(const tardy_op *op, uint32_t events)
{
    if (events & (EPOLLERR | EPOLLHUP))
        return true;
    short ev = tardy_op_events(op);
    return ((ev & POLLOUT) && (events & EPOLLOUT)) ||
           ((ev & (POLLIN | POLLRDHUP)) && (events & (EPOLLIN | EPOLLRDHUP))) ||
           ((ev & POLLPRI) && (events & EPOLLPRI));
}

/* One receive-ahead of op's socket into a free buffer: the bytes (> 0,
 * in op->buf/len/ahead_id, the buffer now the owner's), or what recv(2)
 * said (0, -errno; no buffer taken), or -ENOBUFS when the descriptor has
 * its share or none is free. */
static int64_t epoll_ahead_recv(epoll_driver *d, epoll_fd_slot *slot, tardy_op *op)
{
    op->buf = NULL;
    if (slot->held >= AHEAD_PER_FD || d->ahead_nfree == 0)
        return -ENOBUFS;
    uint32_t id = d->ahead_free[d->ahead_nfree - 1];
    char *buf = d->ahead_mem + (size_t)id * d->ahead_size;
    ssize_t n;
    do
        n = recv(op->fd, buf, d->ahead_size, MSG_DONTWAIT);
    while (n < 0 && errno == EINTR);
    if (n <= 0)
        return n < 0 ? -(int64_t)errno : 0;
    d->ahead_nfree--;
    d->ahead_fd[id] = op->fd;
    slot->held++;
    op->buf = buf;
    op->len = (size_t)n;
    op->ahead_id = id;
    return n;
}

/* Whether a receive-ahead result leaves the socket with nothing more
 * until its next edge (and the receive armed). A short read proves it
 * only on a byte stream: a datagram or SEQPACKET socket may hold more
 * messages. */
static bool epoll_ahead_drained(const epoll_driver *d, const epoll_fd_slot *slot, int64_t r)
{
    return r == -EAGAIN ||
           (r > 0 && (size_t)r < d->ahead_size && !slot->hup && slot->sock == SOCK_BYTES);
}

/* An edge for armed receive op: hands over what the socket holds, an
 * arrival per buffer, until it is drained (op stays armed) or the receive
 * ends (the end of the stream, an error, no buffer: the last call). */
static int epoll_ahead_edge(epoll_driver *d, epoll_fd_slot *slot, tardy_op *op)
{
    for (;;) {
        int64_t r = epoll_ahead_recv(d, slot, op);
        bool drained = epoll_ahead_drained(d, slot, r);
        if (drained)
            slot->ready &= (uint8_t)~READY_IN;
        if (r == -EAGAIN)
            return 0;
        op->more = r > 0;
        if (!op->more)
            epoll_unlink(slot, op);
        tardy_op_complete(op, r);
        if (!op->more)
            return 1;
        if (drained)
            return 0;
    }
}

/* Arms receive op. Its bytes are always received in the poll: a socket
 * registered now is reported there if it holds bytes already, and one
 * that may hold bytes no edge will announce (a receive ended before
 * draining it) is put on the kick list, which the poll visits without
 * waiting. */
static int64_t epoll_ahead_submit(epoll_driver *d, tardy_op *op)
{
    if (!d->ahead_mem)
        return -EINVAL;
    epoll_fd_slot *slot = epoll_slot(d, op->fd);
    if (!slot)
        return -ENOMEM;
    if (slot->sock == SOCK_UNKNOWN) {
        /* Once per descriptor (epoll_forget forgets it). */
        int type = 0;
        socklen_t len = sizeof type;
        bool bytes =
            getsockopt(op->fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0 || type == SOCK_STREAM;
        slot->sock = bytes ? SOCK_BYTES : SOCK_MESSAGES;
    }
    if (!slot->registered) {
        /* The kernel reports bytes already there at the next poll. */
        int err = epoll_register(d, slot, op->fd, READY_OUT);
        if (err) {
            /* A descriptor epoll cannot watch (EPERM: no poll support)
             * answers what a receive on it says: -ENOTSOCK, as io_uring's. */
            int64_t r = err == -EPERM ? epoll_ahead_recv(d, slot, op) : err;
            return r == -EAGAIN ? err : r;
        }
    }
    op->more = false;
    op->buf = NULL;
    epoll_link(slot, op);
    if ((slot->ready & READY_IN) && !slot->kicked) {
        slot->kicked = true;
        slot->kick_next = d->kick_head;
        d->kick_head = op->fd + 1;
    }
    return TARDY_OP_PENDING;
}

/* The armed receives of one descriptor, after an edge or a kick. */
static int epoll_ahead_visit(epoll_driver *d, epoll_fd_slot *slot, uint32_t events)
{
    int done = 0;
    for (tardy_op *op = slot->waiters; op;) {
        tardy_op *next = op->driver_next;
        if (op->kind == TARDY_OP_RECV_STREAM && epoll_wants(op, events))
            done += epoll_ahead_edge(d, slot, op);
        op = next;
    }
    return done;
}

/* Visits the kicked descriptors (see epoll_ahead_submit). */
static int epoll_ahead_kicks(epoll_driver *d)
{
    int done = 0;
    while (d->kick_head) {
        int fd = d->kick_head - 1;
        epoll_fd_slot *slot = &d->fds[fd];
        d->kick_head = slot->kick_next;
        slot->kicked = false;
        if (slot->registered && (slot->ready & READY_IN))
            done += epoll_ahead_visit(d, slot, EPOLLIN);
    }
    return done;
}

static void epoll_give_back(void *state, uint32_t id)
{
    epoll_driver *d = state;
    int fd = d->ahead_fd[id];
    if (fd >= 0 && (size_t)fd < d->nfds && d->fds[fd].held > 0)
        d->fds[fd].held--;
    d->ahead_fd[id] = -1;
    d->ahead_free[d->ahead_nfree++] = id;
}

static int64_t epoll_drv_submit(void *state, tardy_op *op)
{
    epoll_driver *d = state;
    if (op->kind == TARDY_OP_CLOSE) {
        epoll_forget(d, op->fd);
        return tardy_op_try(op);
    }
    if (op->kind == TARDY_OP_RECV_STREAM)
        return epoll_ahead_submit(d, op);
    epoll_fd_slot *slot = op->fd >= 0 && (size_t)op->fd < d->nfds ? &d->fds[op->fd] : NULL;
    uint8_t dir = epoll_direction(op);
    /* Known not ready: wait for the edge without a syscall. */
    bool skip_try = slot && slot->registered && dir && !(slot->ready & dir);
    if (!skip_try) {
        int64_t r = tardy_op_try(op);
        epoll_note(slot, op, r);
        if (r != -EAGAIN)
            return r;
    }
    slot = epoll_slot(d, op->fd);
    if (!slot)
        return -ENOMEM;
    if (!slot->registered) {
        /* What the attempt just found not ready stays so until an edge;
         * the other direction is unknown. */
        int err = epoll_register(d, slot, op->fd, (uint8_t)((READY_IN | READY_OUT) & ~dir));
        if (err)
            return err;
    }
    epoll_link(slot, op);
    return TARDY_OP_PENDING;
}

static void epoll_drv_cancel(void *state, tardy_op *op)
{
    epoll_driver *d = state;
    epoll_unlink(&d->fds[op->fd], op);
    if (op->kind == TARDY_OP_RECV_STREAM) {
        op->buf = NULL;
        op->more = false;
    }
    tardy_op_complete(op, -ECANCELED);
}

/* epoll_pwait2 (Linux 5.11: a timeout finer than a millisecond) through
 * syscall(2), since not every C library wraps it (musl 1.2.3 does not).
 * Fails with ENOSYS on older kernels. */
static int epoll_wait_ns(int epfd, struct epoll_event *events, int max, const struct timespec *ts)
{
#ifdef SYS_epoll_pwait2
    return (int)syscall(SYS_epoll_pwait2, epfd, events, max, ts, NULL, (size_t)0);
#else
    (void)epfd, (void)events, (void)max, (void)ts;
    errno = ENOSYS;
    return -1;
#endif
}

static int epoll_drv_poll(void *state, int64_t timeout_ns)
{
    epoll_driver *d = state;
    struct epoll_event events[EPOLL_BATCH];
    int n;
    if (d->kick_head)
        timeout_ns = 0;
    if (d->have_pwait2 && timeout_ns >= 0) {
        struct timespec ts = {.tv_sec = (time_t)(timeout_ns / 1000000000),
                              .tv_nsec = (long)(timeout_ns % 1000000000)};
        n = epoll_wait_ns(d->epfd, events, EPOLL_BATCH, &ts);
        if (n < 0 && errno == ENOSYS) {
            d->have_pwait2 = false;
            return 0;
        }
    } else {
        int ms = -1;
        if (timeout_ns >= 0) {
            int64_t rounded = (timeout_ns + 999999) / 1000000;
            ms = rounded > 1000000 ? 1000000 : (int)rounded;
        }
        n = epoll_wait(d->epfd, events, EPOLL_BATCH, ms);
    }
    if (n < 0)
        return errno == EINTR ? epoll_ahead_kicks(d) : -errno;
    int done = epoll_ahead_kicks(d);
    for (int i = 0; i < n; i++) {
        if (events[i].data.u64 == EPOLL_WAKE_TAG) {
            uint64_t count;
            ssize_t rd = read(d->wakefd, &count, sizeof count);
            (void)rd;
            continue;
        }
        int fd = (int)events[i].data.u64;
        epoll_fd_slot *slot = &d->fds[fd];
        uint32_t ev = events[i].events;
        slot->ready |= (uint8_t)(((ev & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) ? READY_IN : 0) |
                                 ((ev & (EPOLLOUT | EPOLLHUP | EPOLLERR)) ? READY_OUT : 0));
        if (ev & (EPOLLRDHUP | EPOLLHUP | EPOLLERR))
            slot->hup = true;
        for (tardy_op *op = slot->waiters; op;) {
            tardy_op *next = op->driver_next;
            if (op->kind == TARDY_OP_RECV_STREAM) {
                if (epoll_wants(op, events[i].events))
                    done += epoll_ahead_edge(d, slot, op);
            } else if (epoll_wants(op, events[i].events)) {
                /* A poll needs no syscall: the event says what is ready
                 * (epoll and poll share their bit values on Linux). */
                int64_t r;
                if (op->kind == TARDY_OP_POLL) {
                    r = (int64_t)(events[i].events &
                                  ((uint32_t)(uint16_t)op->events | EPOLLERR | EPOLLHUP));
                    if (r == 0)
                        r = -EAGAIN; /* an edge for the other direction */
                } else {
                    r = tardy_op_try(op);
                    epoll_note(slot, op, r);
                }
                if (r != -EAGAIN) {
                    epoll_unlink(slot, op);
                    tardy_op_complete(op, r);
                    done++;
                }
            }
            op = next;
        }
    }
    return done;
}

static void epoll_drv_observe(void *state, const tardy_op *op, int64_t result)
{
    epoll_driver *d = state;
    if (op->fd >= 0 && (size_t)op->fd < d->nfds && d->fds[op->fd].registered)
        epoll_note(&d->fds[op->fd], op, result);
}

static void epoll_drv_wake(void *state)
{
    epoll_driver *d = state;
    uint64_t one = 1;
    ssize_t w = write(d->wakefd, &one, sizeof one);
    (void)w;
}

const struct tardy_driver_ops tardy_driver_epoll = {
    .api_version = TARDY_DRIVER_API_VERSION,
    .name = "epoll",
    .flags = TARDY_DRIVER_RECV_STREAM,
    .init = epoll_drv_init,
    .fini = epoll_drv_fini,
    .submit = epoll_drv_submit,
    .cancel = epoll_drv_cancel,
    .poll = epoll_drv_poll,
    .wake = epoll_drv_wake,
    .observe = epoll_drv_observe,
    .give_back = epoll_give_back,
};
