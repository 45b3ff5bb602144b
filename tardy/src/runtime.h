/* Internal state shared by the scheduler's modules: tasks, runtimes, runs,
 * the cross-thread inbox and the timer heap. Not installed. */
#ifndef TARDY_RUNTIME_H
#define TARDY_RUNTIME_H

#include "coro.h"
#include "driver.h"
#include "stack.h"
#include "tardy.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#define TARDY_MAX_RUNTIMES 4096u
#define TARDY_MAX_TASKS 0xffffffu
#define TARDY_MAX_WATCHES (1u << 26)
#define TARDY_DEFAULT_TASKS 1024u
#define TARDY_DEFAULT_STACK ((size_t)64 * 1024)
#define TARDY_DEFAULT_QUEUE 256u
#define TARDY_DEFAULT_RECV_BUFFERS 64u
#define TARDY_MAX_RECV_BUFFERS 32768u
#define TARDY_DEFAULT_RECV_BUFFER_SIZE 2048u
#define TARDY_MAX_RECV_BUFFER_SIZE 65536u

/* A node of a runtime's cross-thread inbox (a lock-free LIFO that the
 * owner takes whole and reverses). */
typedef enum remote_kind { REMOTE_WAKE, REMOTE_SPAWN, REMOTE_CANCEL } remote_kind;
typedef struct remote_node {
    struct remote_node *next;
    remote_kind kind;
} remote_node;

typedef struct remote_msg {
    remote_node node;
    tardy_fn fn;
    void *arg;
    tardy_task target;
} remote_msg;

typedef enum task_state { TASK_FREE, TASK_READY, TASK_RUNNING, TASK_PARKED, TASK_DONE } task_state;

struct tardy_runtime;
struct task_rec;

/* A kind of wait a task can park in, and how to end it early: each kind
 * (an op, a sleep, a join, a channel, a stream read) brings its own, so
 * the scheduler needs to know none of them. */
typedef struct park_kind {
    /* The task's deadline passed or it was cancelled: make it ready with
     * err (at once, or when the wait has let go of it, as an op does). */
    void (*interrupt)(struct tardy_runtime *rt, struct task_rec *t, int err);
    /* The wait is recorded outside the task (a channel's waiter list), so
     * a task still parked in it when its runtime ends must leave first:
     * the runtime calls interrupt with -ECANCELED. */
    bool leave_at_exit;
} park_kind;

/* A timer of the heap, embedded in the task, watch or stream it belongs
 * to; fire is called when it is due (it has left the heap). */
typedef struct timer_node {
    uint64_t when;
    uint64_t seq;
    int32_t idx; /* position in the heap, -1 when not in it */
    void (*fire)(struct tardy_runtime *rt, struct timer_node *n);
} timer_node;

/* A task to start for a record that waited without one (a watch, a stream
 * wait): it starts at once when a task slot is free, else it joins the
 * runtime's backlog and starts as soon as one frees. The run's live count
 * must have been taken for it already; the task inherits it. */
typedef struct launch_rec {
    tardy_fn fn;
    void *arg;
    struct launch_rec *next;
    bool queued; /* in the backlog: fn has not started yet */
} launch_rec;

typedef struct task_rec {
    tardy_coro coro;
    struct tardy_runtime *rt;
    tardy_fn fn;
    void *arg;
    void *user;
    uint32_t index;
    uint32_t gen; /* 28 bits, never 0 */
    task_state state;
    const park_kind *park; /* NULL when not parked in an interruptible wait */
    void *park_obj;        /* what the wait's interrupt needs (its op, ...) */
    bool cancel_pending;
    int interrupt_err;   /* 0, or the error an interrupted wait returns */
    int64_t wake_result; /* what park() returns */
    struct task_rec *next; /* ready queue or free list */

    /* Tasks joining this one, and this task's links while it joins. */
    struct task_rec *joiners;
    struct task_rec *join_next;
    struct task_rec *join_prev;
    struct task_rec *join_target;

    uint64_t deadline;   /* 0: none */
    uint64_t sleep_end;
    timer_node timer;

    remote_node rnode; /* for wakes from other threads */
    /* The task's stack, from its first switch to its end (stack.map NULL
     * before: a task that has not run yet holds none, see rt->spare). */
    tardy_stack stack;
    void *asan_fake;
} task_rec;

struct tardy_run;

struct tardy_runtime {
    struct tardy_run *run;
    unsigned index;
    unsigned reg_slot;
    const struct tardy_driver_ops *drv;
    void *drv_state;

    task_rec *tasks;
    unsigned max_tasks;
    unsigned tasks_set_up; /* records [0, tasks_set_up) have been set up */
    uint32_t gen_base;
    size_t stack_size;
    task_rec *free_list;
    /* Stacks not bound to a task, the last given back on top (the
     * warmest). A task takes one when it first runs, not when it starts,
     * so tasks started together that each run to the end one after
     * another (a turn's launches) touch one stack between them. There
     * are always at least as many as tasks started and not yet run
     * (unbound), so a first switch never has to map one. */
    tardy_stack *spare;
    unsigned nspare;
    unsigned unbound;
    atomic_uint used; /* alive + reserved by tardy_spawn_on */

    task_rec *ready_head;
    task_rec *ready_tail;
    task_rec *current;
    tardy_coro sched_coro;
    const void *sched_stack_bottom;
    size_t sched_stack_size;

    timer_node **heap;
    /* Receive-ahead buffers queued on streams (stream.c), by buffer id:
     * NULL when the driver has no streams. */
    struct ahead_link *ahead_links;
    bool no_streams; /* the kernel refused a multishot receive */
    /* Records of streams' sends in flight (stream.c), max_tasks of them,
     * mapped at start and touched as used: freed ones are reused first. */
    struct stream_send *send_recs;
    struct stream_send *send_free;
    unsigned send_count;
    unsigned send_fresh; /* records [0, send_fresh) have been used */
    unsigned heap_len;
    unsigned heap_cap;
    uint64_t timer_seq;
    uint64_t now;
    uint64_t io_epoch; /* tardy_io_epoch */

    launch_rec *backlog_head; /* launches waiting for a task slot */
    launch_rec *backlog_tail;

    _Atomic(remote_node *) inbox;
    bool closed; /* guarded by the registry lock: no more messages */

    pthread_t thread;
    int init_err;
};

struct tardy_gate {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    unsigned expected;
    unsigned arrived;
};

struct tardy_run {
    tardy_config config;
    struct tardy_runtime *rts;
    unsigned count;
    atomic_bool stop;
    atomic_long live; /* tasks alive or reserved across the run */
    struct tardy_gate start_gate;
    struct tardy_gate end_gate;
    tardy_fn entry;
    void *entry_arg;
    struct tardy_blocking_pool *pool; /* blocking.c */
};

extern _Thread_local struct tardy_runtime *tardy_tls_rt;

/* A receive that finished brought bytes that may have arrived during this
 * turn: the epoch moves on (tardy_io_epoch). Called for every op that
 * finishes, parked or not (a completion in the driver's poll only adds to
 * the turn's own step). Reads at an offset are of files, not arrivals. */
static inline void tardy_epoch_note(struct tardy_runtime *rt, const tardy_op *op, int64_t result)
{
    if (result > 0 && (op->kind == TARDY_OP_RECV || op->kind == TARDY_OP_RECVMSG ||
                       op->kind == TARDY_OP_RECV_STREAM ||
                       ((op->kind == TARDY_OP_READ || op->kind == TARDY_OP_READV) &&
                        op->offset < 0)))
        rt->io_epoch++;
}

/* Clock. */
uint64_t tardy_clock_ns(void);

/* Scheduler (runtime.c). */
/* Switches from task t back to the scheduler (dying: t has finished). */
void tardy_sched_switch(struct tardy_runtime *rt, task_rec *t, bool dying);
void tardy_task_ready(struct tardy_runtime *rt, task_rec *t, int64_t result);
void tardy_task_wake(task_rec *t, int64_t result); /* from any thread */
void tardy_inbox_push(struct tardy_runtime *rt, remote_node *node);
void tardy_run_wake_all(struct tardy_run *run);
/* A runtime's loop, until its run is over (run.c starts it). */
void tardy_runtime_loop(struct tardy_runtime *rt);
void tardy_task_interrupt(struct tardy_runtime *rt, task_rec *t, int err);
/* The fire of a task's own timer (its deadline, or a sleep's end). */
void tardy_task_timer_fire(struct tardy_runtime *rt, timer_node *n);
/* The checks every task-only call makes first: -EPERM outside a task,
 * -ECANCELED for a pending cancel, -ETIMEDOUT past the deadline. */
int tardy_call_begin(struct tardy_runtime **rt_out, task_rec **t_out);
/* Parks `t` in a wait of `kind` (obj: its park_obj) until woken, with
 * its deadline armed. */
int64_t tardy_wait(struct tardy_runtime *rt, task_rec *t, const park_kind *kind, void *obj);
/* Parks `t` in a wait that only the waited-for event ends. */
int64_t tardy_park(struct tardy_runtime *rt, task_rec *t);
/* One non-blocking attempt of op, outside the driver, that the driver
 * still hears of (observe), so a readiness driver stays current (io.c). */
int64_t tardy_op_now(struct tardy_runtime *rt, tardy_op *op);

/* Tasks (task.c). */
int tardy_task_pool_init(struct tardy_runtime *rt);
void tardy_task_pool_fini(struct tardy_runtime *rt);
int tardy_task_start(struct tardy_runtime *rt, tardy_fn fn, void *arg, tardy_task *out);
/* Gives a task that has not run yet its stack (a spare) and makes its
 * coroutine: just before its first switch. */
void tardy_task_bind(struct tardy_runtime *rt, task_rec *t);
void tardy_task_release(struct tardy_runtime *rt, task_rec *t);
task_rec *tardy_task_lookup(struct tardy_runtime *rt, tardy_task h);
tardy_task tardy_task_handle(const task_rec *t);
unsigned tardy_task_handle_slot(tardy_task h);
void tardy_task_entry(void *arg);
/* Reserves a task slot (rt->used); false when max_tasks are alive. */
bool tardy_task_reserve(struct tardy_runtime *rt);
/* Starts l->fn(l->arg) in a task now, or queues it (see launch_rec). */
void tardy_launch(struct tardy_runtime *rt, launch_rec *l);
/* Starts queued launches while task slots are free. */
void tardy_launch_backlog_run(struct tardy_runtime *rt);

/* Timers (timer.c): a binary min-heap of timer nodes keyed by (when, seq).
 * Adding never fails for tasks (room for max_tasks is kept); it returns
 * -ENOMEM only when growing for watches fails. */
int tardy_timer_init(struct tardy_runtime *rt);
void tardy_timer_fini(struct tardy_runtime *rt);
int tardy_timer_add(struct tardy_runtime *rt, timer_node *n, uint64_t when);
void tardy_timer_remove(struct tardy_runtime *rt, timer_node *n);
timer_node *tardy_timer_pop_due(struct tardy_runtime *rt, uint64_t now);
/* Nanoseconds to the next timer, 0 if due, -1 if none. */
int64_t tardy_timer_next(struct tardy_runtime *rt, uint64_t now);

/* Receive-ahead buffers queued on a stream (stream.c). */
typedef struct ahead_link {
    char *data;
    uint32_t len;
    uint32_t next; /* the next buffer id in its stream's queue, or AHEAD_NONE */
} ahead_link;
#define AHEAD_NONE UINT32_MAX
/* The send records' pool (stream.c): mapped at a runtime's start,
 * unmapped at its end. */
int tardy_stream_sends_init(struct tardy_runtime *rt);
void tardy_stream_sends_fini(struct tardy_runtime *rt);
/* Registry (run.c). */
struct tardy_runtime *tardy_registry_lock_get(unsigned slot);
void tardy_registry_unlock(void);

#endif
