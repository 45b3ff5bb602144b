/* Stack overflow reports: a SIGSEGV handler, run on an alternate stack of
 * each runtime thread, that names the task stack size when a fault lands
 * in a task's guard pages. */
#ifndef TARDY_GUARD_H
#define TARDY_GUARD_H

#include <stdbool.h>
#include <stddef.h>

/* What a runtime thread set up, to be undone when it leaves. */
typedef struct tardy_guard_thread {
    void *altstack; /* mapped here; NULL when the thread had one already */
    size_t altstack_size;
} tardy_guard_thread;

/* Installs the process's handler if SIGSEGV still has its default action
 * (a handler of the application's, or of a sanitizer, is left alone).
 * Call before the runtime threads start. */
void tardy_guard_install(void);

/* Gives the calling thread an alternate signal stack when it has none, so
 * that the handler can run after the task's stack is exhausted. Failure
 * (no memory) is not an error: an overflow then still dies of SIGSEGV,
 * only without the message. */
void tardy_guard_thread_enter(tardy_guard_thread *g);

/* Removes and unmaps the alternate stack that enter mapped. */
void tardy_guard_thread_leave(tardy_guard_thread *g);

#endif
