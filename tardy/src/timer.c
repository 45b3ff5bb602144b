/* The timer heap: sleeps and deadlines of one runtime's tasks. Each task
 * has at most one timer, so the heap is an array of max_tasks pointers
 * allocated at start-up; ties on `when` break by insertion order. */
#include "runtime.h"

#include <errno.h>
#include <stdlib.h>

static bool timer_before(const task_rec *a, const task_rec *b)
{
    if (a->timer_when != b->timer_when)
        return a->timer_when < b->timer_when;
    return a->timer_seq < b->timer_seq;
}

static void timer_place(struct tardy_runtime *rt, unsigned i, task_rec *t)
{
    rt->heap[i] = t;
    t->timer_idx = (int32_t)i;
}

static void timer_sift_up(struct tardy_runtime *rt, unsigned i)
{
    task_rec *t = rt->heap[i];
    while (i > 0) {
        unsigned parent = (i - 1) / 2;
        if (!timer_before(t, rt->heap[parent]))
            break;
        timer_place(rt, i, rt->heap[parent]);
        i = parent;
    }
    timer_place(rt, i, t);
}

static void timer_sift_down(struct tardy_runtime *rt, unsigned i)
{
    task_rec *t = rt->heap[i];
    for (;;) {
        unsigned child = 2 * i + 1;
        if (child >= rt->heap_len)
            break;
        if (child + 1 < rt->heap_len && timer_before(rt->heap[child + 1], rt->heap[child]))
            child++;
        if (!timer_before(rt->heap[child], t))
            break;
        timer_place(rt, i, rt->heap[child]);
        i = child;
    }
    timer_place(rt, i, t);
}

int tardy_timer_init(struct tardy_runtime *rt)
{
    rt->heap = calloc(rt->max_tasks, sizeof *rt->heap);
    rt->heap_len = 0;
    return rt->heap ? 0 : -ENOMEM;
}

void tardy_timer_fini(struct tardy_runtime *rt)
{
    free(rt->heap);
    rt->heap = NULL;
}

void tardy_timer_add(struct tardy_runtime *rt, task_rec *t, uint64_t when)
{
    if (t->timer_idx >= 0)
        tardy_timer_remove(rt, t);
    t->timer_when = when;
    t->timer_seq = rt->timer_seq++;
    rt->heap[rt->heap_len] = t;
    rt->heap_len++;
    timer_sift_up(rt, rt->heap_len - 1);
}

void tardy_timer_remove(struct tardy_runtime *rt, task_rec *t)
{
    if (t->timer_idx < 0)
        return;
    unsigned i = (unsigned)t->timer_idx;
    t->timer_idx = -1;
    rt->heap_len--;
    if (i == rt->heap_len)
        return;
    task_rec *last = rt->heap[rt->heap_len];
    timer_place(rt, i, last);
    if (i > 0 && timer_before(last, rt->heap[(i - 1) / 2]))
        timer_sift_up(rt, i);
    else
        timer_sift_down(rt, i);
}

task_rec *tardy_timer_pop_due(struct tardy_runtime *rt, uint64_t now)
{
    if (rt->heap_len == 0 || rt->heap[0]->timer_when > now)
        return NULL;
    task_rec *t = rt->heap[0];
    tardy_timer_remove(rt, t);
    return t;
}

int64_t tardy_timer_next(struct tardy_runtime *rt, uint64_t now)
{
    if (rt->heap_len == 0)
        return -1;
    uint64_t when = rt->heap[0]->timer_when;
    if (when <= now)
        return 0;
    uint64_t left = when - now;
    return left > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)left;
}
