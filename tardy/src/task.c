/* Tasks: the per-runtime pool of task records and their stacks, spawning
 * (here and on another runtime), yield, join, handles, per-task data,
 * deadlines and cancellation. */
#include "runtime.h"

#include "sanitize.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* A handle packs the runtime's registry slot (12 bits), the record index
 * (24 bits) and the record's generation (28 bits, never 0), so a handle of
 * a finished task never matches the record's next occupant. */
#define HANDLE_GEN_BITS 28
#define HANDLE_INDEX_BITS 24
#define HANDLE_GEN_MASK ((1u << HANDLE_GEN_BITS) - 1)
#define HANDLE_INDEX_MASK ((1u << HANDLE_INDEX_BITS) - 1)

static atomic_uint gen_seed;

tardy_task tardy_task_handle(const task_rec *t)
{
    uint64_t id = ((uint64_t)t->rt->reg_slot << (HANDLE_GEN_BITS + HANDLE_INDEX_BITS)) |
                  ((uint64_t)t->index << HANDLE_GEN_BITS) | t->gen;
    return (tardy_task){id};
}

unsigned tardy_task_handle_slot(tardy_task h)
{
    return (unsigned)(h.id >> (HANDLE_GEN_BITS + HANDLE_INDEX_BITS));
}

task_rec *tardy_task_lookup(struct tardy_runtime *rt, tardy_task h)
{
    uint32_t gen = (uint32_t)(h.id & HANDLE_GEN_MASK);
    uint32_t index = (uint32_t)((h.id >> HANDLE_GEN_BITS) & HANDLE_INDEX_MASK);
    if (gen == 0 || tardy_task_handle_slot(h) != rt->reg_slot || index >= rt->max_tasks)
        return NULL;
    task_rec *t = &rt->tasks[index];
    if (t->gen != gen || t->state == TASK_FREE)
        return NULL;
    return t;
}

int tardy_task_pool_init(struct tardy_runtime *rt)
{
    /* calloc of this size maps zero pages: a record is set up when it is
     * first needed (task_rec_next), so capacity never used costs no
     * resident memory. Until then its generation is 0, which no handle
     * has, and its state TASK_FREE. */
    rt->tasks = calloc(rt->max_tasks, sizeof *rt->tasks);
    rt->spare = calloc(rt->max_tasks, sizeof *rt->spare);
    if (!rt->tasks || !rt->spare) {
        free(rt->tasks);
        free(rt->spare);
        rt->tasks = NULL;
        rt->spare = NULL;
        return -ENOMEM;
    }
    rt->nspare = 0;
    rt->unbound = 0;
    /* Generations start at a different point in every runtime so that a
     * stale handle from an earlier run is unlikely to match. */
    rt->gen_base = atomic_fetch_add(&gen_seed, 0x9e3779u);
    rt->tasks_set_up = 0;
    rt->free_list = NULL;
    return 0;
}

/* A free record: the most recently released one (its stack is the
 * warmest), else one never used before, or NULL when all are taken. */
static task_rec *task_rec_next(struct tardy_runtime *rt)
{
    if (rt->free_list || rt->tasks_set_up == rt->max_tasks)
        return rt->free_list;
    unsigned i = rt->tasks_set_up++;
    task_rec *t = &rt->tasks[i];
    t->rt = rt;
    t->index = i;
    t->timer.idx = -1;
    t->timer.fire = tardy_task_timer_fire;
    t->state = TASK_FREE;
    t->next = NULL;
    /* Other threads read gen (tardy_cancel across runtimes). */
    __atomic_store_n(&t->gen, ((rt->gen_base + i * 7u) & HANDLE_GEN_MASK) | 1u, __ATOMIC_RELEASE);
    rt->free_list = t;
    return t;
}

void tardy_task_pool_fini(struct tardy_runtime *rt)
{
    if (!rt->tasks)
        return;
    for (unsigned i = 0; i < rt->tasks_set_up; i++)
        tardy_stack_unmap(&rt->tasks[i].stack);
    for (unsigned i = 0; i < rt->nspare; i++)
        tardy_stack_unmap(&rt->spare[i]);
    free(rt->tasks);
    free(rt->spare);
    rt->tasks = NULL;
    rt->spare = NULL;
    rt->nspare = 0;
    rt->free_list = NULL;
}

/* Starts a task in a slot the caller has already reserved (rt->used and
 * run->live counted). */
int tardy_task_start(struct tardy_runtime *rt, tardy_fn fn, void *arg, tardy_task *out)
{
    task_rec *t = task_rec_next(rt);
    if (!t)
        return -EAGAIN;
    /* A stack for it to take when it first runs (tardy_task_bind). The
     * new one goes under the spares, not on top: tasks run one after
     * another take the top one, the warmest, so a turn that launches
     * more tasks than there are spares still touches only the stacks of
     * the tasks alive at once, not one per launch. */
    if (rt->nspare == rt->unbound) {
        tardy_stack fresh;
        int err = tardy_stack_map(&fresh, rt->stack_size);
        if (err)
            return err;
        memmove(&rt->spare[1], &rt->spare[0], rt->nspare * sizeof *rt->spare);
        rt->spare[0] = fresh;
        rt->nspare++;
    }
    rt->unbound++;
    rt->free_list = t->next;
    t->fn = fn;
    t->arg = arg;
    t->user = NULL;
    t->park = NULL;
    t->park_obj = NULL;
    t->cancel_pending = false;
    t->interrupt_err = 0;
    t->deadline = 0;
    t->joiners = NULL;
    t->join_next = t->join_prev = t->join_target = NULL;
    t->asan_fake = NULL;
    tardy_task_ready(rt, t, 0);
    if (out)
        *out = tardy_task_handle(t);
    return 0;
}

void tardy_task_bind(struct tardy_runtime *rt, task_rec *t)
{
    t->stack = rt->spare[--rt->nspare];
    rt->unbound--;
    tardy_stack_forget(&t->stack);
    tardy_coro_make(&t->coro, t->stack.lo, t->stack.size, tardy_task_entry, t);
}

void tardy_task_release(struct tardy_runtime *rt, task_rec *t)
{
    /* Its stack goes on top of the spares: the next task to run takes it.
     * (Every released task has run; should one that never did be
     * released, it would give back its claim on a spare instead.) */
    if (t->stack.map)
        rt->spare[rt->nspare++] = t->stack;
    else
        rt->unbound--;
    t->stack.map = NULL;
    t->state = TASK_FREE;
    /* Other threads read gen (tardy_cancel across runtimes). */
    uint32_t gen = ((t->gen + 1) & HANDLE_GEN_MASK) ? ((t->gen + 1) & HANDLE_GEN_MASK) : 1;
    __atomic_store_n(&t->gen, gen, __ATOMIC_RELEASE);
    /* LIFO, so the warmest stack is reused first. */
    t->next = rt->free_list;
    rt->free_list = t;
    atomic_fetch_sub_explicit(&rt->used, 1, memory_order_release);
    if (atomic_fetch_sub(&rt->run->live, 1) == 1)
        tardy_run_wake_all(rt->run);
}

bool tardy_task_reserve(struct tardy_runtime *rt)
{
    unsigned used = atomic_load_explicit(&rt->used, memory_order_relaxed);
    do {
        if (used >= rt->max_tasks)
            return false;
    } while (!atomic_compare_exchange_weak(&rt->used, &used, used + 1));
    return true;
}

/* Counts one more task in the run unless it has already ended. */
static bool run_enter(struct tardy_run *run)
{
    long live = atomic_load(&run->live);
    do {
        if (live <= 0 || atomic_load(&run->stop))
            return false;
    } while (!atomic_compare_exchange_weak(&run->live, &live, live + 1));
    return true;
}

static void run_leave(struct tardy_run *run)
{
    if (atomic_fetch_sub(&run->live, 1) == 1)
        tardy_run_wake_all(run);
}

int tardy_spawn(tardy_fn fn, void *arg, tardy_task *out)
{
    struct tardy_runtime *rt = tardy_tls_rt;
    if (!rt || !rt->current)
        return -EPERM;
    if (!fn)
        return -EINVAL;
    if (!tardy_task_reserve(rt))
        return -EAGAIN;
    atomic_fetch_add(&rt->run->live, 1);
    int err = tardy_task_start(rt, fn, arg, out);
    if (err) {
        atomic_fetch_sub(&rt->used, 1);
        run_leave(rt->run);
    }
    return err;
}

int tardy_spawn_on(tardy_runtime *rt, tardy_fn fn, void *arg)
{
    if (!rt || !fn)
        return -EINVAL;
    if (rt == tardy_tls_rt && rt->current)
        return tardy_spawn(fn, arg, NULL);
    if (!run_enter(rt->run))
        return -ESRCH;
    if (!tardy_task_reserve(rt)) {
        run_leave(rt->run);
        return -EAGAIN;
    }
    remote_msg *msg = malloc(sizeof *msg);
    if (!msg) {
        atomic_fetch_sub(&rt->used, 1);
        run_leave(rt->run);
        return -ENOMEM;
    }
    msg->node.kind = REMOTE_SPAWN;
    msg->fn = fn;
    msg->arg = arg;
    /* Under the registry lock so that a runtime shutting down either sees
     * the message in its final drain or refuses it here. */
    struct tardy_runtime *live = tardy_registry_lock_get(rt->reg_slot);
    if (live != rt) {
        tardy_registry_unlock();
        free(msg);
        atomic_fetch_sub(&rt->used, 1);
        run_leave(rt->run);
        return -ESRCH;
    }
    tardy_inbox_push(rt, &msg->node);
    tardy_registry_unlock();
    return 0;
}

int tardy_yield(void)
{
    struct tardy_runtime *rt = tardy_tls_rt;
    task_rec *t = rt ? rt->current : NULL;
    if (!t)
        return -EPERM;
    if (t->cancel_pending) {
        t->cancel_pending = false;
        return -ECANCELED;
    }
    tardy_task_ready(rt, t, 0);
    tardy_sched_switch(rt, t, false);
    return 0;
}

/* A joining task leaves its target's list of joiners. */
static void join_interrupt(struct tardy_runtime *rt, task_rec *t, int err)
{
    task_rec *target = t->join_target;
    if (t->join_prev)
        t->join_prev->join_next = t->join_next;
    else if (target)
        target->joiners = t->join_next;
    if (t->join_next)
        t->join_next->join_prev = t->join_prev;
    t->join_next = t->join_prev = NULL;
    t->join_target = NULL;
    tardy_task_ready(rt, t, err);
}

static const park_kind park_join = {.interrupt = join_interrupt};

int tardy_join(tardy_task h)
{
    if (h.id == 0)
        return -EINVAL;
    struct tardy_runtime *rt;
    task_rec *self;
    int err = tardy_call_begin(&rt, &self);
    if (err)
        return err;
    if (tardy_task_handle_slot(h) != rt->reg_slot)
        return -EXDEV;
    task_rec *target = tardy_task_lookup(rt, h);
    if (!target)
        return 0;
    if (target == self)
        return -EDEADLK;
    self->join_target = target;
    self->join_prev = NULL;
    self->join_next = target->joiners;
    if (target->joiners)
        target->joiners->join_prev = self;
    target->joiners = self;
    return (int)tardy_wait(rt, self, &park_join, NULL);
}

tardy_task tardy_self(void)
{
    struct tardy_runtime *rt = tardy_tls_rt;
    if (!rt || !rt->current)
        return (tardy_task){0};
    return tardy_task_handle(rt->current);
}

void *tardy_task_data(void)
{
    struct tardy_runtime *rt = tardy_tls_rt;
    return rt && rt->current ? rt->current->user : NULL;
}

void tardy_task_set_data(void *data)
{
    struct tardy_runtime *rt = tardy_tls_rt;
    if (rt && rt->current)
        rt->current->user = data;
}

void tardy_deadline_set(uint64_t when_ns)
{
    struct tardy_runtime *rt = tardy_tls_rt;
    if (rt && rt->current)
        rt->current->deadline = when_ns;
}

void tardy_deadline_after(uint64_t ns)
{
    uint64_t now = tardy_now();
    uint64_t when = now + ns < now ? UINT64_MAX : now + ns;
    tardy_deadline_set(when);
}

void tardy_deadline_clear(void)
{
    tardy_deadline_set(0);
}

uint64_t tardy_deadline(void)
{
    struct tardy_runtime *rt = tardy_tls_rt;
    return rt && rt->current ? rt->current->deadline : 0;
}

int tardy_cancel(tardy_task h)
{
    if (h.id == 0)
        return -EINVAL;
    struct tardy_runtime *self_rt = tardy_tls_rt;
    if (self_rt && tardy_task_handle_slot(h) == self_rt->reg_slot) {
        task_rec *t = tardy_task_lookup(self_rt, h);
        if (!t)
            return -ESRCH;
        if (t == self_rt->current) {
            t->cancel_pending = true;
            return 0;
        }
        tardy_task_interrupt(self_rt, t, -ECANCELED);
        return 0;
    }
    remote_msg *msg = malloc(sizeof *msg);
    if (!msg)
        return -ENOMEM;
    msg->node.kind = REMOTE_CANCEL;
    msg->target = h;
    struct tardy_runtime *rt = tardy_registry_lock_get(tardy_task_handle_slot(h));
    /* The record's generation tells whether the task has ended; the records
     * live as long as the runtime is registered, which the lock holds. */
    uint32_t index = (uint32_t)((h.id >> HANDLE_GEN_BITS) & HANDLE_INDEX_MASK);
    if (!rt || index >= rt->max_tasks ||
        __atomic_load_n(&rt->tasks[index].gen, __ATOMIC_ACQUIRE) != (uint32_t)(h.id & HANDLE_GEN_MASK)) {
        tardy_registry_unlock();
        free(msg);
        return -ESRCH;
    }
    tardy_inbox_push(rt, &msg->node);
    tardy_registry_unlock();
    return 0;
}

/* ---- launches: tasks for records that waited without one --------------- */

static void backlog_append(struct tardy_runtime *rt, launch_rec *l)
{
    l->queued = true;
    l->next = NULL;
    if (rt->backlog_tail)
        rt->backlog_tail->next = l;
    else
        rt->backlog_head = l;
    rt->backlog_tail = l;
}

/* Starts l in a task slot already reserved; false (slot given back) when
 * no stack could be had. */
static bool launch_start(struct tardy_runtime *rt, launch_rec *l)
{
    l->queued = false;
    if (tardy_task_start(rt, l->fn, l->arg, NULL) == 0)
        return true;
    atomic_fetch_sub(&rt->used, 1);
    return false;
}

void tardy_launch(struct tardy_runtime *rt, launch_rec *l)
{
    /* Behind the backlog, in order; and a launch that cannot get a stack
     * now waits there for one to free. */
    if (rt->backlog_head || !tardy_task_reserve(rt) || !launch_start(rt, l))
        backlog_append(rt, l);
}

void tardy_launch_backlog_run(struct tardy_runtime *rt)
{
    while (rt->backlog_head && tardy_task_reserve(rt)) {
        launch_rec *l = rt->backlog_head;
        if (!launch_start(rt, l)) {
            l->queued = true; /* no stack to be had now: next turn */
            return;
        }
        rt->backlog_head = l->next;
        if (!rt->backlog_head)
            rt->backlog_tail = NULL;
        l->next = NULL;
    }
}
