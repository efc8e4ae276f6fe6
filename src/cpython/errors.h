/* The binding's one mapping from the core's error codes to exceptions:
 * every place that turns a plumb_error into a Python exception calls
 * plumb_raise, so a code means the same exception everywhere. */
#ifndef PLUMB_CPYTHON_ERRORS_H
#define PLUMB_CPYTHON_ERRORS_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "base/errors.h"

/* Sets the exception for rc (negative) and returns NULL:
 *   PLUMB_ENOMEM   MemoryError
 *   PLUMB_EIO      OSError from errno, naming filename (may be NULL)
 *   PLUMB_EFORMAT  ValueError with why's one-line reason
 *   anything else  RuntimeError "plumb <context>: <why, or what the code means>"
 * why may be NULL or empty; context names the part ("sampler", "stats"). */
PyObject *plumb_raise(int rc, const char *context, PyObject *filename, const plumb_read_error *why);

#endif
