/* jansson's memory in the api example: a region for each server thread,
 * taken at start-up, that a request uses and then empties at once, so
 * that answering a request never calls malloc and no request can make
 * jansson take more than the region holds. */
#ifndef API_JSONMEM_H
#define API_JSONMEM_H

#include <stdbool.h>
#include <stddef.h>

/* Takes `threads` regions of `bytes` each and points jansson's
 * allocator at them (call it before any other jansson call, and before
 * the threads start). Returns 0; -EINVAL for zero threads or a region
 * too small to be useful; -ENOMEM. */
int jsonmem_setup(unsigned threads, size_t bytes);

/* Frees the regions, once the threads are done. */
void jsonmem_teardown(void);

/* Opens the calling thread's region, empty: jansson allocates from it
 * until jsonmem_end, and fails (as when out of memory) outside such a
 * scope or once the region is full. What it allocated is gone at
 * jsonmem_end, json_decref or not. A scope must not span a wait: tasks
 * share their thread's region, so one task's scope must end before
 * another's can begin. Returns false when no region is left for this
 * thread (more threads than jsonmem_setup was told of). */
bool jsonmem_begin(void);
void jsonmem_end(void);

/* True when an allocation failed for want of room in the current (or
 * last) scope: jansson does not always say so itself. */
bool jsonmem_exhausted(void);

#endif /* API_JSONMEM_H */
