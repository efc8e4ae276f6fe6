/* Keyword matching for the monitoring path's fast-call methods
 * (fast_args.h). */
#include "fast_args.h"

static int parameter_of(PyObject *key, const char *const *names, int count)
{
    for (int i = 0; i < count; i++)
        if (PyUnicode_Check(key) && PyUnicode_CompareWithASCIIString(key, names[i]) == 0)
            return i;
    return -1;
}

int plumb_fast_args(const char *func, PyObject *const *args, Py_ssize_t nargs,
                    PyObject *kwnames, const char *const *names, int count, int required,
                    PyObject **out)
{
    if (nargs > count) {
        PyErr_Format(PyExc_TypeError, "%s() takes at most %d arguments (%zd given)", func, count,
                     nargs);
        return -1;
    }
    unsigned given = 0;     /* bit i: parameter i given */
    for (Py_ssize_t i = 0; i < nargs; i++) {
        out[i] = args[i];
        given |= 1u << i;
    }
    Py_ssize_t nkw = kwnames ? PyTuple_GET_SIZE(kwnames) : 0;
    for (Py_ssize_t k = 0; k < nkw; k++) {
        PyObject *key = PyTuple_GET_ITEM(kwnames, k);
        int i = parameter_of(key, names, count);
        if (i < 0) {
            PyErr_Format(PyExc_TypeError, "%s() got an unexpected keyword argument %R", func, key);
            return -1;
        }
        if (given & (1u << i)) {
            PyErr_Format(PyExc_TypeError, "%s() got multiple values for argument '%s'", func,
                         names[i]);
            return -1;
        }
        out[i] = args[nargs + k];
        given |= 1u << i;
    }
    for (int i = 0; i < required; i++) {
        if (!(given & (1u << i))) {
            PyErr_Format(PyExc_TypeError, "%s() missing required argument '%s'", func, names[i]);
            return -1;
        }
    }
    return 0;
}
