/* Task stacks: one mapping each, guard page(s) at the low end so that an
 * overflow faults at once, registered with Valgrind when it is present. */
#include "stack.h"

#include "sanitize.h"

#include <errno.h>
#include <sys/mman.h>
#include <unistd.h>

#ifdef TARDY_HAVE_VALGRIND
#include <valgrind/valgrind.h>
#endif

static size_t stack_page_size(void)
{
    long page = sysconf(_SC_PAGESIZE);
    return page > 0 ? (size_t)page : 4096;
}

size_t tardy_stack_round(size_t size)
{
    size_t page = stack_page_size();
    if (size == 0)
        size = page;
    return (size + page - 1) / page * page;
}

int tardy_stack_map(tardy_stack *s, size_t size)
{
    size_t map_size = size + TARDY_STACK_GUARD;
    void *map = mmap(NULL, map_size, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
    if (map == MAP_FAILED)
        return -errno;
    if (mprotect(map, TARDY_STACK_GUARD, PROT_NONE) != 0) {
        int err = -errno;
        munmap(map, map_size);
        return err;
    }
    s->map = map;
    s->map_size = map_size;
    s->lo = (char *)map + TARDY_STACK_GUARD;
    s->size = size;
#ifdef TARDY_HAVE_VALGRIND
    s->valgrind_id = VALGRIND_STACK_REGISTER(s->lo, (char *)s->lo + size);
#endif
    return 0;
}

void tardy_stack_forget(tardy_stack *s)
{
    if (s->map)
        TARDY_ASAN_UNPOISON(s->lo, s->size);
}

void tardy_stack_unmap(tardy_stack *s)
{
    if (!s->map)
        return;
    tardy_stack_forget(s);
#ifdef TARDY_HAVE_VALGRIND
    VALGRIND_STACK_DEREGISTER(s->valgrind_id);
#endif
    munmap(s->map, s->map_size);
    s->map = NULL;
}
