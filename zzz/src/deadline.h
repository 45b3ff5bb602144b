/* The running task's deadline for one scope: a call tightens it (or sets
 * its own) on the way in and puts the outer one back on the way out, so
 * an inner timeout never outlives its scope. Not installed. */
#ifndef ZZZ_DEADLINE_H
#define ZZZ_DEADLINE_H

#include "tardy.h"

#include <stdint.h>

/* The earlier of two deadlines, where 0 means none. */
static inline uint64_t zzz_deadline_min(uint64_t a, uint64_t b)
{
    return a && (!b || a < b) ? a : b;
}

/* Tightens the task's deadline to `when` (0: no deadline of its own)
 * unless the current one comes first. Returns the current one, for
 * zzz_deadline_pop at the end of the scope. */
static inline uint64_t zzz_deadline_push(uint64_t when)
{
    uint64_t saved = tardy_deadline();
    if (when && (!saved || when < saved))
        tardy_deadline_set(when);
    return saved;
}

/* Sets the task's deadline to `when` whatever the current one, for a
 * scope that owns its time (a lingering close after the protocol is
 * done). Returns the current one, for zzz_deadline_pop. */
static inline uint64_t zzz_deadline_push_exact(uint64_t when)
{
    uint64_t saved = tardy_deadline();
    tardy_deadline_set(when);
    return saved;
}

/* Ends the scope: the deadline that was current at its push. */
static inline void zzz_deadline_pop(uint64_t saved)
{
    tardy_deadline_set(saved);
}

#endif
