/* The epoll driver: try the non-blocking call first and wait for readiness
 * only on EAGAIN. Each descriptor is registered once, edge-triggered, for
 * both directions; the ops waiting on it sit in a per-descriptor list and
 * are retried when an edge arrives. Regular files are always "ready" to
 * epoll, so their reads and writes simply run synchronously.
 *
 * It also remembers, per registered descriptor and direction, whether the
 * descriptor may be ready: an edge says it may, an EAGAIN or a short read
 * says it is not (edge-triggered epoll reports every later arrival; an end
 * of stream already reported keeps it readable). An op in a direction known not ready waits without trying, so
 * a connection going idle after a response costs no poll() call. */
#include "driver.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#define EPOLL_BATCH 256
#define EPOLL_WAKE_TAG UINT64_MAX

enum { READY_IN = 1, READY_OUT = 2 };

typedef struct epoll_fd_slot {
    tardy_op *waiters; /* doubly linked through driver_next/driver_prev */
    bool registered;
    uint8_t ready; /* READY_* the descriptor may be (when registered) */
    bool hup;      /* an edge said end of stream, hang-up or error */
} epoll_fd_slot;

typedef struct epoll_driver {
    int epfd;
    int wakefd;
    epoll_fd_slot *fds;
    size_t nfds;
    bool have_pwait2;
} epoll_driver;

static int epoll_drv_init(void **state, const tardy_driver_params *params)
{
    (void)params;
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
    *state = d;
    return 0;
}

static void epoll_drv_fini(void *state)
{
    epoll_driver *d = state;
    close(d->wakefd);
    close(d->epfd);
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
    while (slot->waiters) {
        tardy_op *op = slot->waiters;
        epoll_unlink(slot, op);
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

static int64_t epoll_drv_submit(void *state, tardy_op *op)
{
    epoll_driver *d = state;
    if (op->kind == TARDY_OP_CLOSE) {
        epoll_forget(d, op->fd);
        return tardy_op_try(op);
    }
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
        struct epoll_event ev = {
            .events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLPRI | EPOLLET,
            .data.u64 = (uint64_t)op->fd,
        };
        if (epoll_ctl(d->epfd, EPOLL_CTL_ADD, op->fd, &ev) != 0 && errno != EEXIST)
            return -errno;
        slot->registered = true;
        /* What the attempt just found not ready stays so until an edge;
         * the other direction is unknown. */
        slot->ready = (uint8_t)((READY_IN | READY_OUT) & ~dir);
    }
    op->driver_prev = NULL;
    op->driver_next = slot->waiters;
    if (slot->waiters)
        slot->waiters->driver_prev = op;
    slot->waiters = op;
    return TARDY_OP_PENDING;
}

static void epoll_drv_cancel(void *state, tardy_op *op)
{
    epoll_driver *d = state;
    epoll_unlink(&d->fds[op->fd], op);
    tardy_op_complete(op, -ECANCELED);
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
        return errno == EINTR ? 0 : -errno;
    int done = 0;
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
            if (epoll_wants(op, events[i].events)) {
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
    .flags = 0,
    .init = epoll_drv_init,
    .fini = epoll_drv_fini,
    .submit = epoll_drv_submit,
    .cancel = epoll_drv_cancel,
    .poll = epoll_drv_poll,
    .wake = epoll_drv_wake,
    .observe = epoll_drv_observe,
};
