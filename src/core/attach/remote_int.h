/* An int of another interpreter (PyLongObject, its type checked): 30-bit
 * digits after ob_size (3.9-3.11) or lv_tag (3.12+: digit count above the
 * sign bits). */
#ifndef PLUMB_REMOTE_INT_H
#define PLUMB_REMOTE_INT_H

#include "attach/remote_reader.h"

/* The non-negative int at addr if it fits 64 bits: 0, or PLUMB_EFAULT
 * (unreadable, not an int, negative or too large). */
int plumb_remote_uint64(const plumb_remote_reader *r, uintptr_t addr, uint64_t *value);

#endif
