/* The api example's todo store: fixed slots taken at start-up, a list of
 * slot numbers kept in id order (ids only grow, so an add appends and a
 * lookup is a binary search), and one mutex around it all. */
#include "store.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

typedef struct slot {
    uint64_t id;
    bool done;
    size_t title_len;
} slot;

struct store {
    pthread_mutex_t lock;
    size_t max_todos;
    size_t max_title;
    uint64_t next_id;
    slot *slots;   /* max_todos */
    char *titles;  /* max_todos * max_title: slot i's title at i * max_title */
    size_t *order; /* slot numbers of the live todos, in id order */
    size_t count;
    size_t *free_slots; /* a stack of the others */
    size_t free_count;
};

int store_create(store **out, size_t max_todos, size_t max_title)
{
    *out = NULL;
    if (max_todos == 0 || max_title == 0)
        return -EINVAL;
    if (max_title > SIZE_MAX / max_todos || max_todos > SIZE_MAX / sizeof(size_t))
        return -ENOMEM;
    store *s = calloc(1, sizeof *s);
    if (!s)
        return -ENOMEM;
    s->max_todos = max_todos;
    s->max_title = max_title;
    s->next_id = 1;
    s->slots = calloc(max_todos, sizeof *s->slots);
    s->titles = malloc(max_todos * max_title);
    s->order = calloc(max_todos, sizeof *s->order);
    s->free_slots = calloc(max_todos, sizeof *s->free_slots);
    if (!s->slots || !s->titles || !s->order || !s->free_slots ||
        pthread_mutex_init(&s->lock, NULL) != 0) {
        free(s->slots);
        free(s->titles);
        free(s->order);
        free(s->free_slots);
        free(s);
        return -ENOMEM;
    }
    /* Slot 0 on top, so a fresh store fills from the start. */
    for (size_t i = 0; i < max_todos; i++)
        s->free_slots[i] = max_todos - 1 - i;
    s->free_count = max_todos;
    *out = s;
    return 0;
}

void store_destroy(store *s)
{
    if (!s)
        return;
    pthread_mutex_destroy(&s->lock);
    free(s->slots);
    free(s->titles);
    free(s->order);
    free(s->free_slots);
    free(s);
}

size_t store_max_title(const store *s)
{
    return s->max_title;
}

/* The first position in order whose id is >= id (count when none is).
 * Called with the lock held. */
static size_t position(const store *s, uint64_t id)
{
    size_t lo = 0, hi = s->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s->slots[s->order[mid]].id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* The position of todo `id` in order, or -1. Called with the lock held. */
static ptrdiff_t find(const store *s, uint64_t id)
{
    size_t at = position(s, id);
    if (at < s->count && s->slots[s->order[at]].id == id)
        return (ptrdiff_t)at;
    return -1;
}

static void slot_set(store *s, size_t i, const char *title, size_t title_len, bool done)
{
    memcpy(s->titles + i * s->max_title, title, title_len);
    s->slots[i].title_len = title_len;
    s->slots[i].done = done;
}

int64_t store_add(store *s, const char *title, size_t title_len, bool done)
{
    if (title_len > s->max_title)
        return -E2BIG;
    pthread_mutex_lock(&s->lock);
    if (s->free_count == 0 || s->next_id > STORE_ID_MAX) {
        pthread_mutex_unlock(&s->lock);
        return -ENOSPC;
    }
    size_t i = s->free_slots[--s->free_count];
    uint64_t id = s->next_id++;
    s->slots[i].id = id;
    slot_set(s, i, title, title_len, done);
    s->order[s->count++] = i; /* the largest id yet: it goes last */
    pthread_mutex_unlock(&s->lock);
    return (int64_t)id;
}

int store_get(store *s, uint64_t id, todo *out, char *buf)
{
    pthread_mutex_lock(&s->lock);
    ptrdiff_t at = find(s, id);
    if (at < 0) {
        pthread_mutex_unlock(&s->lock);
        return -ENOENT;
    }
    const slot *t = &s->slots[s->order[at]];
    memcpy(buf, s->titles + s->order[at] * s->max_title, t->title_len);
    *out = (todo){.id = id, .done = t->done, .title = buf, .title_len = t->title_len};
    pthread_mutex_unlock(&s->lock);
    return 0;
}

int store_replace(store *s, uint64_t id, const char *title, size_t title_len, bool done)
{
    if (title_len > s->max_title)
        return -E2BIG;
    pthread_mutex_lock(&s->lock);
    ptrdiff_t at = find(s, id);
    if (at >= 0)
        slot_set(s, s->order[at], title, title_len, done);
    pthread_mutex_unlock(&s->lock);
    return at >= 0 ? 0 : -ENOENT;
}

int store_remove(store *s, uint64_t id)
{
    pthread_mutex_lock(&s->lock);
    ptrdiff_t at = find(s, id);
    if (at >= 0) {
        size_t i = s->order[at];
        memmove(&s->order[at], &s->order[at + 1], (s->count - (size_t)at - 1) * sizeof *s->order);
        s->count--;
        s->free_slots[s->free_count++] = i;
    }
    pthread_mutex_unlock(&s->lock);
    return at >= 0 ? 0 : -ENOENT;
}

uint64_t store_list(store *s, uint64_t after_id, bool (*fn)(const todo *t, void *arg), void *arg)
{
    uint64_t last = after_id;
    pthread_mutex_lock(&s->lock);
    /* Todos removed since the last call are skipped, ones added show up:
     * each todo is seen at most once, in id order. */
    size_t at = after_id == UINT64_MAX ? s->count : position(s, after_id + 1);
    for (; at < s->count; at++) {
        size_t i = s->order[at];
        todo t = {.id = s->slots[i].id,
                  .done = s->slots[i].done,
                  .title = s->titles + i * s->max_title,
                  .title_len = s->slots[i].title_len};
        if (!fn(&t, arg))
            break;
        last = t.id;
    }
    pthread_mutex_unlock(&s->lock);
    return last;
}
