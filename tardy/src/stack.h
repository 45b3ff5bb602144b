/* Task stacks: mmap'd with a PROT_NONE guard below, committed by the
 * kernel only as pages are touched. */
#ifndef TARDY_STACK_H
#define TARDY_STACK_H

#include <stddef.h>

/* Bytes of PROT_NONE guard under each stack: several pages, so that a
 * frame somewhat larger than one page still lands in the guard. */
#define TARDY_STACK_GUARD ((size_t)16384)

typedef struct tardy_stack {
    void *map;       /* the whole mapping, guard included; NULL if none */
    size_t map_size;
    void *lo;        /* lowest usable byte */
    size_t size;     /* usable bytes */
    unsigned valgrind_id;
} tardy_stack;

/* Rounds `size` up to whole pages (at least one). */
size_t tardy_stack_round(size_t size);

/* Maps a stack of `size` usable bytes (already rounded). Returns 0 or
 * -errno (-ENOMEM). */
int tardy_stack_map(tardy_stack *s, size_t size);

/* Unmaps it; safe on a stack that was never mapped. */
void tardy_stack_unmap(tardy_stack *s);

/* Clears sanitizer state left on a stack by a task that will not run on
 * it again (no-op without AddressSanitizer). */
void tardy_stack_forget(tardy_stack *s);

#endif
