/* A readiness driver over poll(2), written against the public driver
 * interface only. Each op is tried once as a non-blocking call
 * (tardy_op_try); one that would block joins the pending list, and every
 * poll builds a pollfd array from that list, waits, and tries again the
 * ops whose descriptor became ready. A pipe wakes the wait from other
 * threads. O(pending ops) per turn: fine for tens of descriptors, which is
 * what poll(2) is for; epoll and io_uring are the built-in answers for
 * thousands. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* ppoll, pipe2 */
#endif
#include "poll_driver.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

/* op->driver_state: the op is on the pending list. */
#define PD_LINKED 0x1u

typedef struct pd_state {
    tardy_op *head; /* pending ops, linked through driver_next/driver_prev */
    size_t count;
    /* Scratch for one poll: fds[0] is the wake pipe, fds[i + 1] the
     * descriptor of polled[i]. Grown by submit, so poll never allocates. */
    struct pollfd *fds;
    tardy_op **polled;
    size_t cap; /* ops the two arrays have room for */
    int wake_read;
    int wake_write;
} pd_state;

static int pd_reserve(pd_state *d, size_t need)
{
    if (need <= d->cap)
        return 0;
    size_t cap = d->cap * 2;
    while (cap < need)
        cap *= 2;
    struct pollfd *fds = realloc(d->fds, (cap + 1) * sizeof *fds);
    if (!fds)
        return -ENOMEM;
    d->fds = fds;
    tardy_op **polled = realloc(d->polled, cap * sizeof *polled);
    if (!polled)
        return -ENOMEM; /* fds merely has room to spare */
    d->polled = polled;
    d->cap = cap;
    return 0;
}

static int pd_init(void **state, const tardy_driver_params *params)
{
    (void)params; /* no queue to size, no receive-ahead buffers */
    pd_state *d = calloc(1, sizeof *d);
    if (!d)
        return -ENOMEM;
    d->fds = malloc(17 * sizeof *d->fds);
    d->polled = malloc(16 * sizeof *d->polled);
    int pipefd[2];
    if (!d->fds || !d->polled || pipe2(pipefd, O_NONBLOCK | O_CLOEXEC) != 0) {
        int err = d->fds && d->polled ? -errno : -ENOMEM;
        free(d->fds);
        free(d->polled);
        free(d);
        return err;
    }
    d->cap = 16;
    d->wake_read = pipefd[0];
    d->wake_write = pipefd[1];
    *state = d;
    return 0;
}

static void pd_fini(void *state)
{
    /* Ops still on the list belong to tasks that are being torn down:
     * they are dropped, not completed. */
    pd_state *d = state;
    close(d->wake_read);
    close(d->wake_write);
    free(d->fds);
    free(d->polled);
    free(d);
}

static void pd_link(pd_state *d, tardy_op *op)
{
    op->driver_state = PD_LINKED;
    op->driver_prev = NULL;
    op->driver_next = d->head;
    if (d->head)
        d->head->driver_prev = op;
    d->head = op;
    d->count++;
}

static void pd_unlink(pd_state *d, tardy_op *op)
{
    if (op->driver_prev)
        op->driver_prev->driver_next = op->driver_next;
    else
        d->head = op->driver_next;
    if (op->driver_next)
        op->driver_next->driver_prev = op->driver_prev;
    op->driver_next = op->driver_prev = NULL;
    op->driver_state = 0;
    d->count--;
}

/* A descriptor is about to be closed: its number may be reused at once,
 * so the ops still waiting on it end now. */
static void pd_forget(pd_state *d, int fd)
{
    for (tardy_op *op = d->head; op;) {
        if (op->fd != fd) {
            op = op->driver_next;
            continue;
        }
        pd_unlink(d, op);
        tardy_op_complete(op, -EBADF);
        op = d->head; /* the completion may have changed the list */
    }
}

static int64_t pd_submit(void *state, tardy_op *op)
{
    pd_state *d = state;
    if (op->kind == TARDY_OP_CLOSE) {
        pd_forget(d, op->fd);
        return tardy_op_try(op);
    }
    int64_t r = tardy_op_try(op);
    if (r != -EAGAIN)
        return r;
    int err = pd_reserve(d, d->count + 1);
    if (err)
        return err;
    pd_link(d, op);
    return TARDY_OP_PENDING;
}

static void pd_cancel(void *state, tardy_op *op)
{
    pd_state *d = state;
    pd_unlink(d, op);
    tardy_op_complete(op, -ECANCELED);
}

/* What a ready descriptor means for op: its result, or -EAGAIN to keep
 * waiting (an event for another direction, a spurious wake-up). */
static int64_t pd_attempt(tardy_op *op, short revents)
{
    if (op->kind == TARDY_OP_POLL) {
        short got = (short)(revents & (op->events | POLLERR | POLLHUP | POLLNVAL));
        return got ? got : -EAGAIN;
    }
    if (revents & POLLNVAL)
        return -EBADF; /* closed behind tardy's back */
    return tardy_op_try(op);
}

static int pd_poll(void *state, int64_t timeout_ns)
{
    pd_state *d = state;
    d->fds[0] = (struct pollfd){.fd = d->wake_read, .events = POLLIN};
    size_t n = 0;
    for (tardy_op *op = d->head; op; op = op->driver_next) {
        d->fds[n + 1] = (struct pollfd){.fd = op->fd, .events = tardy_op_events(op)};
        d->polled[n++] = op;
    }
    struct timespec ts = {.tv_sec = (time_t)(timeout_ns / 1000000000),
                          .tv_nsec = (long)(timeout_ns % 1000000000)};
    int ready = ppoll(d->fds, (nfds_t)(n + 1), timeout_ns < 0 ? NULL : &ts, NULL);
    if (ready < 0)
        return errno == EINTR ? 0 : -errno;
    if (ready == 0)
        return 0;
    if (d->fds[0].revents) {
        char drain[64];
        while (read(d->wake_read, drain, sizeof drain) > 0) {
        }
    }
    int done = 0;
    for (size_t i = 0; i < n; i++) {
        /* A completion runs the op's owner, which may submit (growing the
         * arrays) or end other ops: index through d afresh each time, and
         * skip an op that left the list meanwhile. */
        short revents = d->fds[i + 1].revents;
        tardy_op *op = d->polled[i];
        if (!revents || !(op->driver_state & PD_LINKED))
            continue;
        int64_t r = pd_attempt(op, revents);
        if (r == -EAGAIN)
            continue;
        pd_unlink(d, op);
        tardy_op_complete(op, r);
        done++;
    }
    return done;
}

static void pd_wake(void *state)
{
    /* Any thread, or a signal handler: write(2) is async-signal-safe, and
     * the handler's interrupted code must find errno as it left it. A full
     * pipe (-EAGAIN) means a wake-up is already pending. */
    pd_state *d = state;
    int saved = errno;
    char one = 1;
    ssize_t w = write(d->wake_write, &one, 1);
    (void)w;
    errno = saved;
}

const struct tardy_driver_ops poll_driver = {
    .api_version = TARDY_DRIVER_API_VERSION,
    .name = "poll",
    .init = pd_init,
    .fini = pd_fini,
    .submit = pd_submit,
    .cancel = pd_cancel,
    .poll = pd_poll,
    .wake = pd_wake,
};
