/* The histogram scheme's functions for Python (plumb/monitor/histogram.py):
 * hist_key, hist_bounds, hist_quantile and the scheme's constants, so that
 * Python and the C table can never disagree about a key. */
#include "binding.h"

#include "model/histogram.h"

/* arg as a C long long (*overflow: 1 above, -1 below its range): 0, or
 * -1 with TypeError (not an int: a float is refused, never truncated). */
static int int_arg(const char *function, const char *what, PyObject *arg, long long *v,
                   int *overflow)
{
    if (!PyLong_Check(arg)) {
        PyErr_Format(PyExc_TypeError, "%s: %s must be an int, not %.100s", function, what,
                     Py_TYPE(arg)->tp_name);
        return -1;
    }
    *v = PyLong_AsLongLongAndOverflow(arg, overflow);
    return *v == -1 && PyErr_Occurred() ? -1 : 0;
}

/* hist_key(us): the key of a duration in integer microseconds (>= 0; any
 * size, the top clamped as the scheme says). */
static PyObject *hist_key(PyObject *module, PyObject *arg)
{
    (void)module;
    int overflow;
    long long us;
    if (int_arg("hist_key()", "us", arg, &us, &overflow) < 0)
        return NULL;
    /* Beyond 2**63: the last bucket, as for every value from PLUMB_HIST_LIMIT_US. */
    if (overflow > 0)
        return PyLong_FromUnsignedLong(plumb_hist_key(UINT64_MAX));
    if (overflow < 0 || us < 0)
        return PyErr_Format(PyExc_ValueError, "hist_key(): us must be >= 0, not %R", arg);
    return PyLong_FromUnsignedLong(plumb_hist_key((uint64_t)us));
}

/* A key from Python: 0, or -1 with TypeError or ValueError naming it. */
static int key_arg(const char *function, PyObject *arg, uint32_t *key)
{
    int overflow;
    long long k;
    if (int_arg(function, "a key", arg, &k, &overflow) < 0)
        return -1;
    if (overflow || !(k >= 0 && plumb_hist_key_valid((uint64_t)k))) {
        PyErr_Format(PyExc_ValueError, "%s: %R is not a key of histogram scheme %d (0..%u)",
                     function, arg, PLUMB_HIST_SCHEME, PLUMB_HIST_KEYS - 1);
        return -1;
    }
    *key = (uint32_t)k;
    return 0;
}

/* hist_bounds(key): (low_us, high_us), the bucket's values low <= v < high. */
static PyObject *hist_bounds(PyObject *module, PyObject *arg)
{
    (void)module;
    uint32_t key;
    uint64_t low, high;
    if (key_arg("hist_bounds()", arg, &key) < 0)
        return NULL;
    plumb_hist_bounds(key, &low, &high);
    return Py_BuildValue("(KK)", (unsigned long long)low, (unsigned long long)high);
}

/* One (key, count) of hist_quantile's argument into *pair, counts
 * summed into *total. */
static int pair_arg(PyObject *key, PyObject *count, plumb_hist_pair *pair, uint64_t *total)
{
    if (key_arg("hist_quantile()", key, &pair->key) < 0)
        return -1;
    int overflow;
    long long c;
    if (int_arg("hist_quantile()", "a count", count, &c, &overflow) < 0)
        return -1;
    if (overflow || c < 0) {
        PyErr_Format(PyExc_ValueError, "hist_quantile(): count %R of key %R is not in 0..2**63-1",
                     count, key);
        return -1;
    }
    pair->count = (uint64_t)c;
    if (__builtin_add_overflow(*total, pair->count, total)) {
        PyErr_SetString(PyExc_ValueError,
                        "hist_quantile(): the counts add up to more than 2**64-1");
        return -1;
    }
    return 0;
}

/* The histogram argument (a dict {key: count} or an iterable of (key,
 * count) pairs) as pairs; NULL with an exception set.  Read from copies
 * (the dict's items, a tuple of the pairs, each pair a tuple) that no
 * __repr__ called for an error message can change under the loop. */
static plumb_hist_pair *pairs_arg(PyObject *hist, Py_ssize_t *n, uint64_t *total)
{
    PyObject *seq = PyDict_Check(hist) ? PyDict_Items(hist) : PySequence_Tuple(hist);
    if (!seq)
        return NULL;
    *n = PySequence_Fast_GET_SIZE(seq);
    plumb_hist_pair *pairs = PyMem_Malloc((size_t)(*n ? *n : 1) * sizeof *pairs);
    if (!pairs) {
        Py_DECREF(seq);
        PyErr_NoMemory();
        return NULL;
    }
    for (Py_ssize_t i = 0; i < *n; i++) {
        PyObject *item = PySequence_Fast_GET_ITEM(seq, i);
        PyObject *pair = PyTuple_Check(item) || PyList_Check(item) ? PySequence_Tuple(item) : NULL;
        int rc = -1;
        if (!pair && !PyErr_Occurred())
            PyErr_Format(PyExc_TypeError,
                         "hist_quantile(): pair %zd is a %.100s, not a (key, count)", i,
                         Py_TYPE(item)->tp_name);
        else if (pair && PyTuple_GET_SIZE(pair) != 2)
            PyErr_Format(PyExc_ValueError, "hist_quantile(): pair %zd has %zd items, not 2", i,
                         PyTuple_GET_SIZE(pair));
        else if (pair)
            rc = pair_arg(PyTuple_GET_ITEM(pair, 0), PyTuple_GET_ITEM(pair, 1), &pairs[i], total);
        Py_XDECREF(pair);
        if (rc < 0) {
            PyMem_Free(pairs);
            Py_DECREF(seq);
            return NULL;
        }
    }
    Py_DECREF(seq);
    return pairs;
}

/* hist_quantile(hist, q): the q-quantile in microseconds (model/histogram.h:
 * nearest rank, the bucket's representative value). */
static PyObject *hist_quantile(PyObject *module, PyObject *args)
{
    (void)module;
    PyObject *hist;
    double q;
    if (!PyArg_ParseTuple(args, "Od:hist_quantile", &hist, &q))
        return NULL;
    if (!(q >= 0 && q <= 1))
        return PyErr_Format(PyExc_ValueError, "hist_quantile(): q must be in [0, 1], not %R",
                            PyTuple_GET_ITEM(args, 1));
    Py_ssize_t n = 0;
    uint64_t total = 0;
    plumb_hist_pair *pairs = pairs_arg(hist, &n, &total);
    if (!pairs)
        return NULL;
    double us = 0;
    int rc = total ? plumb_hist_quantile(pairs, (size_t)n, q, &us) : PLUMB_EINVAL;
    PyMem_Free(pairs);
    if (rc < 0)
        return PyErr_Format(PyExc_ValueError, "hist_quantile(): the histogram is empty");
    return PyFloat_FromDouble(us);
}

static PyMethodDef histogram_functions[] = {
    {"hist_key", hist_key, METH_O,
     "hist_key(us): the histogram key of a duration in integer microseconds."},
    {"hist_bounds", hist_bounds, METH_O,
     "hist_bounds(key): (low_us, high_us), the bucket's values low <= v < high."},
    {"hist_quantile", hist_quantile, METH_VARARGS,
     "hist_quantile(hist, q): the q-quantile (nearest rank, 0 <= q <= 1) in microseconds of\n"
     "a histogram given as a dict {key: count} or (key, count) pairs."},
    {NULL, NULL, 0, NULL},
};

int plumb_module_add_histogram(PyObject *module)
{
    if (PyModule_AddFunctions(module, histogram_functions) < 0
        || PyModule_AddIntConstant(module, "HIST_SCHEME", PLUMB_HIST_SCHEME) < 0
        || PyModule_AddIntConstant(module, "HIST_KEYS", PLUMB_HIST_KEYS) < 0)
        return -1;
    PyObject *limit_us = PyLong_FromUnsignedLongLong(PLUMB_HIST_LIMIT_US);
    if (!limit_us || PyModule_AddObject(module, "HIST_LIMIT_US", limit_us) < 0) {
        Py_XDECREF(limit_us);
        return -1;
    }
    return 0;
}
