#ifndef PLUMB_CPYTHON_OFFSETS_H
#define PLUMB_CPYTHON_OFFSETS_H

#include <stdint.h>

#include "sampler/pyoffsets.h"

/* The offsets of the running interpreter, and its PyInterpreterState; 0 or
 * a negative plumb_error code. */
int plumb_fill_offsets(plumb_py_offsets *o, uintptr_t *interp);

#endif
