/* Channels: bounded FIFO queues of fixed-size messages. A mutex guards
 * each channel; a waiting task leaves a chan_waiter in its own frame, and
 * whoever satisfies it copies the message directly and wakes the task on
 * its own runtime (through that runtime's inbox when it is another). */
#include "runtime.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

typedef struct chan_waiter {
    struct chan_waiter *next;
    struct chan_waiter *prev;
    task_rec *task;
    void *buf; /* the sender's message or the receiver's destination */
    bool queued;
    struct tardy_chan *chan;
    struct chan_waiter_list *list;
} chan_waiter;

typedef struct chan_waiter_list {
    chan_waiter *head;
    chan_waiter *tail;
} chan_waiter_list;

struct tardy_chan {
    pthread_mutex_t lock;
    size_t elem_size;
    size_t capacity;
    size_t head;
    size_t count;
    bool closed;
    chan_waiter_list senders;
    chan_waiter_list receivers;
    unsigned char *ring;
};

static void list_push(chan_waiter_list *l, chan_waiter *w)
{
    w->next = NULL;
    w->prev = l->tail;
    if (l->tail)
        l->tail->next = w;
    else
        l->head = w;
    l->tail = w;
    w->list = l;
    w->queued = true;
}

static void list_unlink(chan_waiter_list *l, chan_waiter *w)
{
    if (w->prev)
        w->prev->next = w->next;
    else
        l->head = w->next;
    if (w->next)
        w->next->prev = w->prev;
    else
        l->tail = w->prev;
    w->next = w->prev = NULL;
    w->queued = false;
}

static chan_waiter *list_pop(chan_waiter_list *l)
{
    chan_waiter *w = l->head;
    if (w)
        list_unlink(l, w);
    return w;
}

int tardy_chan_create(tardy_chan **out, size_t elem_size, size_t capacity)
{
    if (!out || elem_size == 0)
        return -EINVAL;
    if (capacity && elem_size > SIZE_MAX / capacity)
        return -ENOMEM;
    tardy_chan *ch = calloc(1, sizeof *ch);
    if (!ch)
        return -ENOMEM;
    if (capacity) {
        ch->ring = malloc(elem_size * capacity);
        if (!ch->ring) {
            free(ch);
            return -ENOMEM;
        }
    }
    pthread_mutex_init(&ch->lock, NULL);
    ch->elem_size = elem_size;
    ch->capacity = capacity;
    *out = ch;
    return 0;
}

void tardy_chan_destroy(tardy_chan *ch)
{
    if (!ch)
        return;
    pthread_mutex_destroy(&ch->lock);
    free(ch->ring);
    free(ch);
}

static void *ring_slot(tardy_chan *ch, size_t i)
{
    return ch->ring + ((ch->head + i) % ch->capacity) * ch->elem_size;
}

/* Tries to send without waiting. Returns 0 and, when a receiver was
 * waiting, sets *wake to it; -EAGAIN when full; -EPIPE when closed.
 * Called with the lock held. */
static int chan_send_locked(tardy_chan *ch, const void *msg, task_rec **wake)
{
    if (ch->closed)
        return -EPIPE;
    chan_waiter *r = list_pop(&ch->receivers);
    if (r) {
        memcpy(r->buf, msg, ch->elem_size);
        *wake = r->task;
        return 0;
    }
    if (ch->count < ch->capacity) {
        memcpy(ring_slot(ch, ch->count), msg, ch->elem_size);
        ch->count++;
        return 0;
    }
    return -EAGAIN;
}

static int chan_recv_locked(tardy_chan *ch, void *msg, task_rec **wake)
{
    if (ch->count > 0) {
        memcpy(msg, ring_slot(ch, 0), ch->elem_size);
        ch->head = (ch->head + 1) % ch->capacity;
        ch->count--;
        chan_waiter *s = list_pop(&ch->senders);
        if (s) {
            memcpy(ring_slot(ch, ch->count), s->buf, ch->elem_size);
            ch->count++;
            *wake = s->task;
        }
        return 0;
    }
    chan_waiter *s = list_pop(&ch->senders);
    if (s) {
        memcpy(msg, s->buf, ch->elem_size);
        *wake = s->task;
        return 0;
    }
    return ch->closed ? -EPIPE : -EAGAIN;
}

/* A parked waiter's deadline passed or it was cancelled (on its own
 * runtime's thread), or its runtime is ending. If a sender or receiver
 * already took it off the list, its wake-up is on the way and wins. */
static void chan_interrupt(struct tardy_runtime *rt, task_rec *t, int err)
{
    (void)rt;
    chan_waiter *w = t->park_obj;
    if (!w)
        return;
    tardy_chan *ch = w->chan;
    pthread_mutex_lock(&ch->lock);
    bool was_queued = w->queued;
    if (was_queued)
        list_unlink(w->list, w);
    pthread_mutex_unlock(&ch->lock);
    if (was_queued && t->rt == tardy_tls_rt)
        tardy_task_ready(t->rt, t, err);
}

/* The waiter is on the channel's list, so a task still parked here when
 * its runtime ends must leave it first. */
static const park_kind park_chan = {.interrupt = chan_interrupt, .leave_at_exit = true};

static int chan_op(tardy_chan *ch, void *msg, bool sending, bool may_wait)
{
    struct tardy_runtime *rt = NULL;
    task_rec *t = NULL;
    if (may_wait) {
        int err = tardy_call_begin(&rt, &t);
        if (err)
            return err;
    }
    task_rec *wake = NULL;
    pthread_mutex_lock(&ch->lock);
    int r = sending ? chan_send_locked(ch, msg, &wake) : chan_recv_locked(ch, msg, &wake);
    if (r != -EAGAIN || !may_wait) {
        pthread_mutex_unlock(&ch->lock);
        if (wake)
            tardy_task_wake(wake, 0);
        return r;
    }
    chan_waiter w = {.task = t, .buf = msg, .chan = ch};
    list_push(sending ? &ch->senders : &ch->receivers, &w);
    pthread_mutex_unlock(&ch->lock);
    return (int)tardy_wait(rt, t, &park_chan, &w);
}

int tardy_chan_send(tardy_chan *ch, const void *msg)
{
    return chan_op(ch, (void *)msg, true, true);
}

int tardy_chan_recv(tardy_chan *ch, void *msg)
{
    return chan_op(ch, msg, false, true);
}

int tardy_chan_try_send(tardy_chan *ch, const void *msg)
{
    return chan_op(ch, (void *)msg, true, false);
}

int tardy_chan_try_recv(tardy_chan *ch, void *msg)
{
    return chan_op(ch, msg, false, false);
}

void tardy_chan_close(tardy_chan *ch)
{
    pthread_mutex_lock(&ch->lock);
    ch->closed = true;
    /* Detach the waiters first: once woken, their frames may vanish. */
    chan_waiter_list woken = {0};
    chan_waiter *w;
    while ((w = list_pop(&ch->senders)) != NULL)
        list_push(&woken, w);
    while ((w = list_pop(&ch->receivers)) != NULL)
        list_push(&woken, w);
    task_rec *tasks_head = NULL;
    for (w = woken.head; w; w = w->next) {
        w->task->next = tasks_head; /* parked tasks' queue link is free */
        tasks_head = w->task;
        w->queued = false;
    }
    pthread_mutex_unlock(&ch->lock);
    while (tasks_head) {
        task_rec *t = tasks_head;
        tasks_head = t->next;
        tardy_task_wake(t, -EPIPE);
    }
}
