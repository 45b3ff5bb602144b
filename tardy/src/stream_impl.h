/* A receive stream's record and its send's, shared by stream.c (the
 * receive and the waits) and stream_send.c (the send). Not installed. */
#ifndef TARDY_SRC_STREAM_IMPL_H
#define TARDY_SRC_STREAM_IMPL_H

#include "runtime.h"

struct stream_impl;

typedef struct stream_send {
    tardy_op op;
    struct stream_impl *stream;
    task_rec *waiter; /* parked in tardy_stream_sent or close */
    struct stream_send *next_free;
    uint64_t moved; /* when the kernel last took bytes (or the start) */
    int result;     /* once over: 0, or the -errno that ended it */
    bool flying;    /* op is in the driver */
    bool cancelled; /* the stream is closing: no rest is sent */
} stream_send;

typedef struct stream_impl {
    tardy_op op;
    timer_node timer; /* the pending wait's deadline */
    launch_rec launch;
    struct tardy_runtime *rt;
    task_rec *reader;    /* parked in read (or in close) */
    stream_send *send;   /* the send in flight or uncollected, or NULL */
    int result;          /* why the last wait's fn started */
    short interrupt_err; /* why the wait's poll was cancelled */
    short sock_err;      /* the error that ended the receive, for the next read */
    uint32_t q_head;     /* buffer ids of bytes not yet read, in order */
    uint32_t q_tail;
    uint32_t q_off; /* bytes of the head buffer already read */
    /* Flags as bits: the record fits the public size with the send. */
    bool open : 1;
    bool reading : 1;     /* a task is in tardy_stream_read */
    bool waiting : 1;     /* a wait is pending: its fn has not been launched */
    bool armed : 1;       /* the receive is in the driver */
    bool polling : 1;     /* a poll is in the driver */
    bool cancel_sent : 1; /* for the op in the driver */
    bool eof : 1;         /* the receive ended at the end of the stream */
    bool starved : 1;     /* the receive ended for want of a buffer */
    bool send_woke : 1;   /* the send's end is to end the polling wait */
} stream_impl;

_Static_assert(sizeof(stream_impl) <= sizeof(tardy_stream), "tardy_stream too small");
_Static_assert(_Alignof(stream_impl) <= _Alignof(tardy_stream), "tardy_stream misaligned");

static inline stream_impl *stream_of(tardy_stream *s)
{
    return (stream_impl *)s;
}

/* stream.c: the pending wait is over, its fn starts with `result`. */
void tardy_stream_wait_end(struct tardy_runtime *rt, stream_impl *s, int result);
/* stream.c: 0 when s is open on rt, else -EBADF or -EPERM. */
int tardy_stream_check(const stream_impl *s, const struct tardy_runtime *rt);

/* stream_send.c, for the close: whether the stream's send is in flight;
 * whether a task waits for it (tardy_stream_sent); cancelling it (what
 * it has not sent is not sent); parking t, not interruptibly, until the
 * kernel has let go of it; giving its record back (in flight no more). */
bool tardy_stream_send_flying(const stream_impl *s);
bool tardy_stream_send_waited(const stream_impl *s);
void tardy_stream_send_cancel(struct tardy_runtime *rt, stream_impl *s);
void tardy_stream_send_await(struct tardy_runtime *rt, stream_impl *s, task_rec *t);
void tardy_stream_send_drop(struct tardy_runtime *rt, stream_impl *s);

#endif
