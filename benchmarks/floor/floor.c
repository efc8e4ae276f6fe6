/* The hook floor: the cheapest way to be told of the events plumb's tracer
 * needs, doing nothing with them but (optionally) one TSC read each.  A
 * profiler on the same event source cannot cost less than this, so
 * benchmarks/floor.py measures plumb against it, side by side.  Built per
 * interpreter by floor.py, outside the package; not part of plumb.
 *
 *   callback(tsc)            a vectorcall object for sys.monitoring
 *                            (3.12+): returns None, after one rdtsc if tsc;
 *                            the same kind of object plumb registers
 *   legacy_start(tsc), legacy_stop()
 *                            PyEval_SetProfile on this thread: a C function
 *                            that returns 0, after one rdtsc if tsc
 *   evalframe_start(), evalframe_stop()   (3.9-3.11)
 *                            a PEP 523 frame evaluator: rdtsc, CPython's
 *                            evaluator, rdtsc
 *   clock_costs(n)           ns per read of each clock plumb could use
 *   run(f)                   f(): callgrind counts what runs under it */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <frameobject.h>

#include <stdint.h>
#include <time.h>
#include <x86intrin.h>

/* Volatile, so that the compiler keeps every TSC read and its store:
 * what a profiler does with a reading costs at least a store. */
static volatile uint64_t sink;

typedef struct {
    PyObject_HEAD
    vectorcallfunc vectorcall;
} CallbackObject;

static PyObject *cb_noop(PyObject *cb, PyObject *const *args, size_t nargsf, PyObject *kw)
{
    (void)cb;
    (void)args;
    (void)nargsf;
    (void)kw;
    Py_RETURN_NONE;
}

static PyObject *cb_tsc(PyObject *cb, PyObject *const *args, size_t nargsf, PyObject *kw)
{
    (void)cb;
    (void)args;
    (void)nargsf;
    (void)kw;
    sink = __rdtsc();
    Py_RETURN_NONE;
}

static void cb_dealloc(PyObject *self)
{
    PyObject_Free(self);
}

static PyTypeObject CallbackType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "_plumbfloor.Callback",
    .tp_basicsize = sizeof(CallbackObject),
    .tp_dealloc = cb_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_VECTORCALL,
    .tp_vectorcall_offset = offsetof(CallbackObject, vectorcall),
    .tp_call = PyVectorcall_Call,
};

static PyObject *make_callback(PyObject *module, PyObject *arg)
{
    (void)module;
    int tsc = PyObject_IsTrue(arg);
    if (tsc < 0)
        return NULL;
    CallbackObject *c = PyObject_New(CallbackObject, &CallbackType);
    if (!c)
        return NULL;
    c->vectorcall = tsc ? cb_tsc : cb_noop;
    return (PyObject *)c;
}

static int legacy_noop(PyObject *obj, PyFrameObject *frame, int what, PyObject *arg)
{
    (void)obj;
    (void)frame;
    (void)what;
    (void)arg;
    return 0;
}

static int legacy_tsc(PyObject *obj, PyFrameObject *frame, int what, PyObject *arg)
{
    (void)obj;
    (void)frame;
    (void)what;
    (void)arg;
    sink = __rdtsc();
    return 0;
}

static PyObject *legacy_start(PyObject *module, PyObject *arg)
{
    (void)module;
    int tsc = PyObject_IsTrue(arg);
    if (tsc < 0)
        return NULL;
    PyEval_SetProfile(tsc ? legacy_tsc : legacy_noop, NULL);
    Py_RETURN_NONE;
}

static PyObject *legacy_stop(PyObject *module, PyObject *unused)
{
    (void)module;
    (void)unused;
    PyEval_SetProfile(NULL, NULL);
    Py_RETURN_NONE;
}

#if PY_VERSION_HEX < 0x030C0000
#define FLOOR_HAVE_EVAL_FRAME 1
#if PY_VERSION_HEX >= 0x030B0000
typedef struct _PyInterpreterFrame floor_frame;
#else
typedef PyFrameObject floor_frame;
#endif

static PyObject *eval_tsc(PyThreadState *tstate, floor_frame *frame, int throwflag)
{
    sink = __rdtsc();
    PyObject *r = _PyEval_EvalFrameDefault(tstate, frame, throwflag);
    sink = __rdtsc();
    return r;
}

static PyObject *evalframe_start(PyObject *module, PyObject *unused)
{
    (void)module;
    (void)unused;
    _PyInterpreterState_SetEvalFrameFunc(PyInterpreterState_Get(), eval_tsc);
    Py_RETURN_NONE;
}

static PyObject *evalframe_stop(PyObject *module, PyObject *unused)
{
    (void)module;
    (void)unused;
    _PyInterpreterState_SetEvalFrameFunc(PyInterpreterState_Get(), _PyEval_EvalFrameDefault);
    Py_RETURN_NONE;
}
#endif

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* ns per read, each clock read n times back to back (a dependent chain
 * through sink would serialise them more than a profiler does; back to
 * back is what two events a few ns apart see). */
static PyObject *clock_costs(PyObject *module, PyObject *arg)
{
    (void)module;
    long n = PyLong_AsLong(arg);
    if (n <= 0) {
        if (!PyErr_Occurred())
            PyErr_SetString(PyExc_ValueError, "n must be positive");
        return NULL;
    }
    PyObject *out = PyDict_New();
    if (!out)
        return NULL;
    struct timespec ts;
    unsigned aux;
    double t0, t1;
#define MEASURE(name, stmt)                                                            \
    do {                                                                               \
        t0 = now_ns();                                                                 \
        for (long i = 0; i < n; i++) {                                                 \
            stmt;                                                                      \
        }                                                                              \
        t1 = now_ns();                                                                 \
        PyObject *v = PyFloat_FromDouble((t1 - t0) / (double)n);                       \
        if (!v || PyDict_SetItemString(out, name, v) < 0) {                            \
            Py_XDECREF(v);                                                             \
            Py_DECREF(out);                                                            \
            return NULL;                                                               \
        }                                                                              \
        Py_DECREF(v);                                                                  \
    } while (0)
    MEASURE("rdtsc", sink = __rdtsc());
    MEASURE("rdtscp", sink = __rdtscp(&aux));
    MEASURE("lfence+rdtsc", (_mm_lfence(), sink = __rdtsc()));
    MEASURE("clock_gettime(MONOTONIC)",
            (clock_gettime(CLOCK_MONOTONIC, &ts), sink = (uint64_t)ts.tv_nsec));
    MEASURE("clock_gettime(MONOTONIC_RAW)",
            (clock_gettime(CLOCK_MONOTONIC_RAW, &ts), sink = (uint64_t)ts.tv_nsec));
#undef MEASURE
    return out;
}

/* run(f): f().  A function of its own so that callgrind can count only
 * the workload: --collect-atstart=no --toggle-collect=floor_run. */
static PyObject *floor_run(PyObject *module, PyObject *f)
{
    (void)module;
    return PyObject_CallNoArgs(f);
}

static PyMethodDef methods[] = {
    {"run", floor_run, METH_O, "run(f): f(), where callgrind can find it."},
    {"callback", make_callback, METH_O, "callback(tsc): a sys.monitoring callback."},
    {"legacy_start", legacy_start, METH_O, "legacy_start(tsc): PyEval_SetProfile hook."},
    {"legacy_stop", legacy_stop, METH_NOARGS, "Remove the legacy hook."},
#ifdef FLOOR_HAVE_EVAL_FRAME
    {"evalframe_start", evalframe_start, METH_NOARGS, "PEP 523 hook, two rdtsc per frame."},
    {"evalframe_stop", evalframe_stop, METH_NOARGS, "Restore CPython's evaluator."},
#endif
    {"clock_costs", clock_costs, METH_O, "clock_costs(n): ns per read of each clock."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef moduledef = {
    PyModuleDef_HEAD_INIT, "_plumbfloor", "The hook floor (benchmarks/floor).", -1, methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__plumbfloor(void)
{
    if (PyType_Ready(&CallbackType) < 0)
        return NULL;
    return PyModule_Create(&moduledef);
}
