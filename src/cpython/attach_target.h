/* Another process's interpreter, for the binding: found by the core
 * (attach/attach.h), a refusal raised as the exception its kind says. */
#ifndef PLUMB_CPYTHON_ATTACH_TARGET_H
#define PLUMB_CPYTHON_ATTACH_TARGET_H

#include "binding.h"

#include "attach/attach.h"

/* 0, or -1 with ProcessLookupError (no such process), PermissionError
 * (not permitted), ValueError (not Python, an unsupported version) or
 * RuntimeError (an interpreter not running), each with the core's line. */
int plumb_find_target(int pid, plumb_attach_target *t);

PyObject *plumb_attach_info(PyObject *module, PyObject *arg);
PyObject *plumb_dump_threads(PyObject *module, PyObject *arg);
PyObject *plumb_line_at_py(PyObject *module, PyObject *args);

#endif
