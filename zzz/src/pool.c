/* Buffer pools: a fixed set of equal buffers carved from one mapping at
 * start-up, so the request path never calls malloc. */
#include "pool.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

int zzz_pool_init(zzz_pool *pool, size_t size, unsigned count)
{
    memset(pool, 0, sizeof *pool);
    if (count == 0 || size == 0)
        return 0;
    size_t bytes = size * count;
    void *base = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (base == MAP_FAILED)
        return -ENOMEM;
    pool->free_list = malloc(count * sizeof *pool->free_list);
    if (!pool->free_list) {
        munmap(base, bytes);
        return -ENOMEM;
    }
    pool->base = base;
    pool->size = size;
    pool->count = count;
    pool->free_count = count;
    for (unsigned i = 0; i < count; i++)
        pool->free_list[i] = count - 1 - i;
    return 0;
}

void zzz_pool_fini(zzz_pool *pool)
{
    if (pool->base)
        munmap(pool->base, pool->size * pool->count);
    free(pool->free_list);
    memset(pool, 0, sizeof *pool);
}
