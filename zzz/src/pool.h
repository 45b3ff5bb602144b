/* Buffer pools (pool.c): taking and giving back a buffer are a few
 * instructions on the request path, so they are inline here. Not
 * installed. */
#ifndef ZZZ_POOL_H
#define ZZZ_POOL_H

#include <stddef.h>

/* A fixed set of equal buffers carved from one mapping; the kernel commits
 * a buffer's pages only once they are touched. */
typedef struct zzz_pool {
    char *base;
    size_t size; /* bytes per buffer */
    unsigned count;
    unsigned free_count;
    unsigned *free_list; /* indices of free buffers (a stack: warm first) */
} zzz_pool;

/* Maps count buffers of size bytes (none when either is 0). 0 or -ENOMEM. */
int zzz_pool_init(zzz_pool *pool, size_t size, unsigned count);
void zzz_pool_fini(zzz_pool *pool);

/* A free buffer, the most recently given back first; NULL when empty. */
static inline char *zzz_pool_get(zzz_pool *pool)
{
    if (pool->free_count == 0)
        return NULL;
    unsigned i = pool->free_list[--pool->free_count];
    return pool->base + (size_t)i * pool->size;
}

static inline void zzz_pool_put(zzz_pool *pool, char *buf)
{
    unsigned i = (unsigned)((size_t)(buf - pool->base) / pool->size);
    pool->free_list[pool->free_count++] = i;
}

#endif
