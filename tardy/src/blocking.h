/* The blocking-work pool as the rest of the library sees it (blocking.c):
 * made and ended with the run, used by tardy_blocking, the name calls and
 * the file calls of the readiness drivers. */
#ifndef TARDY_SRC_BLOCKING_H
#define TARDY_SRC_BLOCKING_H

#include "runtime.h"

#define TARDY_DEFAULT_BLOCKING_THREADS 16u
#define TARDY_MAX_BLOCKING_THREADS 1024u
#define TARDY_DEFAULT_BLOCKING_IDLE_MS 10000u

struct tardy_blocking_pool;

/* Makes an empty pool (no thread starts until the first job). */
int tardy_blocking_pool_create(struct tardy_blocking_pool **out, unsigned max_threads,
                               unsigned idle_ms);
/* Ends the pool once every runtime of its run has ended: waits for the
 * jobs still running (their tasks gave up on them) and their threads. */
void tardy_blocking_pool_destroy(struct tardy_blocking_pool *p);

/* tardy_blocking_drop (drop may be NULL), and with hold set a job that has started is
 * waited for whatever happens (the task then returns 0 and its result,
 * never -ETIMEDOUT or -ECANCELED): for a job that uses the task's own
 * memory. */
int tardy_blocking_call(tardy_blocking_fn fn, void *arg, void (*drop)(void *arg, int64_t result),
                        bool hold, int64_t *result);

/* Files on the readiness drivers (file.c): whether op goes to the pool on
 * this runtime, and running it there. tardy_file_op returns the op's
 * result, or TARDY_OP_PENDING when the op is not a file's after all and
 * takes the driver's usual path. */
bool tardy_file_wants_pool(const struct tardy_runtime *rt, const tardy_op *op);
int64_t tardy_file_op(struct tardy_runtime *rt, tardy_op *op);

#endif /* TARDY_SRC_BLOCKING_H */
