/* jansson's allocator for the api example: a bump pointer in the calling
 * thread's region, reset at each scope's start; jansson's frees do
 * nothing, as the whole region is emptied at once. */
#include "jsonmem.h"

#include <errno.h>
#include <jansson.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>

typedef struct region {
    char *base;
    size_t size;
    size_t used;
    bool open;
    bool exhausted; /* an allocation failed in this scope */
} region;

static region *regions;
static unsigned region_count;
static atomic_uint regions_claimed;
/* The region of the calling thread, claimed by its first scope. */
static _Thread_local region *mine;

static void *jsonmem_alloc(size_t n)
{
    region *r = mine;
    if (!r || !r->open)
        return NULL;
    size_t align = _Alignof(max_align_t);
    size_t need = (n + align - 1) & ~(align - 1);
    if (n > r->size || need > r->size - r->used) {
        r->exhausted = true;
        return NULL;
    }
    void *p = r->base + r->used;
    r->used += need;
    return p;
}

static void jsonmem_free(void *p)
{
    (void)p;
}

int jsonmem_setup(unsigned threads, size_t bytes)
{
    if (threads == 0 || bytes < 1024)
        return -EINVAL;
    regions = calloc(threads, sizeof *regions);
    if (!regions)
        return -ENOMEM;
    region_count = threads;
    for (unsigned i = 0; i < threads; i++) {
        /* Region sizes are multiples of the alignment, so a bump never
         * passes the end. */
        regions[i].size = bytes & ~(_Alignof(max_align_t) - 1);
        regions[i].base = malloc(regions[i].size);
        if (!regions[i].base) {
            jsonmem_teardown();
            return -ENOMEM;
        }
    }
    json_set_alloc_funcs(jsonmem_alloc, jsonmem_free);
    return 0;
}

void jsonmem_teardown(void)
{
    for (unsigned i = 0; regions && i < region_count; i++)
        free(regions[i].base);
    free(regions);
    regions = NULL;
    region_count = 0;
    json_set_alloc_funcs(malloc, free);
}

bool jsonmem_begin(void)
{
    if (!mine) {
        unsigned i = atomic_fetch_add(&regions_claimed, 1);
        if (i >= region_count)
            return false;
        mine = &regions[i];
    }
    mine->used = 0;
    mine->open = true;
    mine->exhausted = false;
    return true;
}

void jsonmem_end(void)
{
    if (mine)
        mine->open = false;
}

bool jsonmem_exhausted(void)
{
    return mine && mine->exhausted;
}
