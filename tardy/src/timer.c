/* The timer heap: sleeps and deadlines of one runtime's tasks and watches.
 * Each task or watch has at most one timer node. The array starts with
 * room for every task and grows (rarely) only for watches; ties on `when`
 * break by insertion order, so equal sleeps wake in the order they began. */
#include "runtime.h"

#include <errno.h>
#include <stdlib.h>

static bool timer_before(const timer_node *a, const timer_node *b)
{
    if (a->when != b->when)
        return a->when < b->when;
    return a->seq < b->seq;
}

static void timer_place(struct tardy_runtime *rt, unsigned i, timer_node *t)
{
    rt->heap[i] = t;
    t->idx = (int32_t)i;
}

static void timer_sift_up(struct tardy_runtime *rt, unsigned i)
{
    timer_node *t = rt->heap[i];
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
    timer_node *t = rt->heap[i];
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
    rt->heap_cap = rt->max_tasks + (rt->run->config.max_watches ? rt->run->config.max_watches : 64);
    rt->heap = calloc(rt->heap_cap, sizeof *rt->heap);
    rt->heap_len = 0;
    return rt->heap ? 0 : -ENOMEM;
}

void tardy_timer_fini(struct tardy_runtime *rt)
{
    free(rt->heap);
    rt->heap = NULL;
}

int tardy_timer_add(struct tardy_runtime *rt, timer_node *t, uint64_t when)
{
    if (t->idx >= 0)
        tardy_timer_remove(rt, t);
    if (rt->heap_len == rt->heap_cap) {
        timer_node **grown = realloc(rt->heap, 2 * rt->heap_cap * sizeof *grown);
        if (!grown)
            return -ENOMEM;
        rt->heap = grown;
        rt->heap_cap *= 2;
    }
    t->when = when;
    t->seq = rt->timer_seq++;
    rt->heap[rt->heap_len] = t;
    rt->heap_len++;
    timer_sift_up(rt, rt->heap_len - 1);
    return 0;
}

void tardy_timer_remove(struct tardy_runtime *rt, timer_node *t)
{
    if (t->idx < 0)
        return;
    unsigned i = (unsigned)t->idx;
    t->idx = -1;
    rt->heap_len--;
    if (i == rt->heap_len)
        return;
    timer_node *last = rt->heap[rt->heap_len];
    timer_place(rt, i, last);
    if (i > 0 && timer_before(last, rt->heap[(i - 1) / 2]))
        timer_sift_up(rt, i);
    else
        timer_sift_down(rt, i);
}

timer_node *tardy_timer_pop_due(struct tardy_runtime *rt, uint64_t now)
{
    if (rt->heap_len == 0 || rt->heap[0]->when > now)
        return NULL;
    timer_node *t = rt->heap[0];
    tardy_timer_remove(rt, t);
    return t;
}

int64_t tardy_timer_next(struct tardy_runtime *rt, uint64_t now)
{
    if (rt->heap_len == 0)
        return -1;
    uint64_t when = rt->heap[0]->when;
    if (when <= now)
        return 0;
    uint64_t left = when - now;
    return left > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)left;
}
