/* The driver interface as the scheduler sees it: the public part, which a
 * driver of one's own is written against, is tardy_driver.h; what is
 * here is for the library alone. */
#ifndef TARDY_SRC_DRIVER_H
#define TARDY_SRC_DRIVER_H

#include "tardy_driver.h"

/* Built-in drivers. io_uring's table exists only when built with liburing. */
extern const struct tardy_driver_ops tardy_driver_io_uring;
extern const struct tardy_driver_ops tardy_driver_epoll;
extern const struct tardy_driver_ops tardy_driver_busy;

#endif /* TARDY_SRC_DRIVER_H */
