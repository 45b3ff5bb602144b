/* poll_driver: a tardy driver over poll(2), built on <tardy_driver.h>
 * alone. Plug it in with tardy_config.custom_driver = &poll_driver. */
#ifndef POLL_DRIVER_H
#define POLL_DRIVER_H

#include "tardy_driver.h"

extern const struct tardy_driver_ops poll_driver;

#endif /* POLL_DRIVER_H */
