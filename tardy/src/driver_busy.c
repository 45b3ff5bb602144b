/* The busy-loop driver: no kernel notification at all. Every turn retries
 * each pending operation as a non-blocking call. When nothing progresses
 * it backs off from yielding the CPU to sleeps of up to a millisecond, so
 * an idle runtime does not burn a core. */
#include "driver.h"

#include <errno.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

#define BUSY_MAX_NAP_NS 1000000u /* 1 ms: the wake-up latency when idle */

typedef struct busy_driver {
    tardy_op *head;
    tardy_op *tail;
    atomic_bool woken;
    uint64_t nap_ns;
} busy_driver;

static uint64_t busy_clock(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int busy_init(void **state, const tardy_driver_params *params)
{
    (void)params;
    busy_driver *d = calloc(1, sizeof *d);
    if (!d)
        return -ENOMEM;
    atomic_init(&d->woken, false);
    *state = d;
    return 0;
}

static void busy_fini(void *state)
{
    free(state);
}

static void busy_unlink(busy_driver *d, tardy_op *op)
{
    if (op->driver_prev)
        op->driver_prev->driver_next = op->driver_next;
    else
        d->head = op->driver_next;
    if (op->driver_next)
        op->driver_next->driver_prev = op->driver_prev;
    else
        d->tail = op->driver_prev;
    op->driver_next = op->driver_prev = NULL;
}

static int64_t busy_submit(void *state, tardy_op *op)
{
    busy_driver *d = state;
    int64_t r = tardy_op_try(op);
    if (r != -EAGAIN)
        return r;
    op->driver_next = NULL;
    op->driver_prev = d->tail;
    if (d->tail)
        d->tail->driver_next = op;
    else
        d->head = op;
    d->tail = op;
    return TARDY_OP_PENDING;
}

static void busy_cancel(void *state, tardy_op *op)
{
    busy_driver *d = state;
    busy_unlink(d, op);
    tardy_op_complete(op, -ECANCELED);
}

static int busy_sweep(busy_driver *d)
{
    int done = 0;
    for (tardy_op *op = d->head; op;) {
        tardy_op *next = op->driver_next;
        int64_t r = tardy_op_try(op);
        if (r != -EAGAIN) {
            busy_unlink(d, op);
            tardy_op_complete(op, r);
            done++;
        }
        op = next;
    }
    return done;
}

static int busy_poll(void *state, int64_t timeout_ns)
{
    busy_driver *d = state;
    uint64_t start = busy_clock();
    for (;;) {
        int done = busy_sweep(d);
        bool woken = atomic_exchange(&d->woken, false);
        if (done || woken) {
            d->nap_ns = 0;
            return done;
        }
        if (timeout_ns == 0)
            return 0;
        uint64_t waited = busy_clock() - start;
        if (timeout_ns > 0 && waited >= (uint64_t)timeout_ns)
            return 0;
        /* Back off: a few yields first, then naps that double up to 1 ms. */
        if (d->nap_ns == 0) {
            d->nap_ns = 1000;
            sched_yield();
            continue;
        }
        uint64_t nap = d->nap_ns;
        if (timeout_ns > 0 && nap > (uint64_t)timeout_ns - waited)
            nap = (uint64_t)timeout_ns - waited;
        struct timespec ts = {.tv_sec = (time_t)(nap / 1000000000u), .tv_nsec = (long)(nap % 1000000000u)};
        nanosleep(&ts, NULL);
        if (d->nap_ns < BUSY_MAX_NAP_NS)
            d->nap_ns *= 2;
    }
}

static void busy_wake(void *state)
{
    busy_driver *d = state;
    atomic_store(&d->woken, true);
}

const struct tardy_driver_ops tardy_driver_busy = {
    .api_version = TARDY_DRIVER_API_VERSION,
    .name = "busy",
    .flags = 0,
    .init = busy_init,
    .fini = busy_fini,
    .submit = busy_submit,
    .cancel = busy_cancel,
    .poll = busy_poll,
    .wake = busy_wake,
};
