/* Arguments of a METH_FASTCALL | METH_KEYWORDS function, positional or by
 * keyword, without the tuple and dict PyArg_ParseTupleAndKeywords wants:
 * the monitoring path's methods run for every request and every query. */
#ifndef PLUMB_FAST_ARGS_H
#define PLUMB_FAST_ARGS_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

/* Fills out[0..count) from args (nargs positional, then one per name in
 * kwnames) by the parameter names; out[i] is left as the caller set it
 * (its default) when not given.  The first `required` must be given.
 * Borrowed references.  0, or -1 with TypeError naming func. */
int plumb_fast_args(const char *func, PyObject *const *args, Py_ssize_t nargs,
                    PyObject *kwnames, const char *const *names, int count, int required,
                    PyObject **out);

#endif
