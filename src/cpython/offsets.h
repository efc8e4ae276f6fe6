#ifndef PLUMB_CPYTHON_OFFSETS_H
#define PLUMB_CPYTHON_OFFSETS_H

#include <Python.h>
#include <stdint.h>

#include "base/errors.h"
#include "sampler/pyoffsets.h"

/* The offsets of the running interpreter, and its PyInterpreterState; 0 or
 * a negative plumb_error code, with err naming what was refused when the
 * interpreter's own table (3.13's _Py_DebugOffsets) was. */
int plumb_fill_offsets(plumb_py_offsets *o, uintptr_t *interp, plumb_read_error *err);

/* _layout_mismatches(): the running version's layout row against offsetof. */
PyObject *plumb_layout_mismatches(PyObject *module, PyObject *ignored);

#endif
