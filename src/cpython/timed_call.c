/* plumb._plumb.TimedCall: a call recorded as a segment of the running
 * request's trace.  Django's middleware are wrapped in one each, and every
 * request's view in one (plumb/contrib/django/handler.py); a Python
 * wrapper's frame costs about a thousand instructions, and these run on
 * every request.
 *
 * TimedCall(function, kind, name, current=None, trace=None, view=False):
 * - with current (a context variable), the trace is the one current at each
 *   call (the variable's, else the thread's record: current_trace.h), and a
 *   call with none current is function's call and nothing else;
 * - with trace, that trace, for each call.
 * view=True keeps the call's arguments after the first (the request) as the
 * segment's (args, kwargs) (None when there are none) and tags the calling thread with the trace's tag
 * while it runs: the view may run in another thread than the one its
 * request began in (asgiref's, under Django's ASGI handler), and the
 * sampler labels the view's samples by that tag.
 *
 * An exception from the call is recorded by its class's name and raised
 * again; recording never fails the call (an Exception while recording is
 * dropped; a KeyboardInterrupt or SystemExit is raised instead, as the
 * Python wrappers did).  Segments go into a RequestRecord directly, into
 * anything else (a plumb.web.trace.Trace) through its segment() method. */
#include "compat.h"

#include <stddef.h>
#include <stdint.h>

#include "fast_args.h"
#include "py_clocks.h"
#include "current_trace.h"
#include "request_record.h"
#include "sampler/thread_tags.h"

typedef struct TimedCallObject {
    PyObject_HEAD
    vectorcallfunc vectorcall;
    PyObject *function, *kind, *name;
    PyObject *current;      /* a context variable, or NULL: trace is fixed */
    PyObject *trace;        /* the fixed trace, or NULL */
    uint64_t tag;           /* the thread's tag during a view's call, or 0 */
    int view;
} TimedCallObject;

static PyObject *str_segment, *str_name_attr, *str_tag;

/* The view's (args, kwargs): the positional arguments after the request
 * and the keyword ones. */
static PyObject *call_arguments(PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    PyObject *positional = PyTuple_New(nargs > 1 ? nargs - 1 : 0);
    PyObject *keywords = positional ? PyDict_New() : NULL;
    if (!keywords) {
        Py_XDECREF(positional);
        return NULL;
    }
    for (Py_ssize_t i = 1; i < nargs; i++) {
        Py_INCREF(args[i]);
        PyTuple_SET_ITEM(positional, i - 1, args[i]);
    }
    Py_ssize_t nkw = kwnames ? PyTuple_GET_SIZE(kwnames) : 0;
    for (Py_ssize_t i = 0; i < nkw; i++) {
        if (PyDict_SetItem(keywords, PyTuple_GET_ITEM(kwnames, i), args[nargs + i]) < 0) {
            Py_DECREF(positional);
            Py_DECREF(keywords);
            return NULL;
        }
    }
    PyObject *pair = PyTuple_Pack(2, positional, keywords);
    Py_DECREF(positional);
    Py_DECREF(keywords);
    return pair;
}

/* The segment recorded into trace: 0, or -1 with an exception. */
static int record(TimedCallObject *self, PyObject *trace, PyObject *const *args,
                  Py_ssize_t nargs, PyObject *kwnames, double started, double seconds,
                  PyObject *exc)
{
    PyObject *error = Py_None, *arguments = Py_None;
    Py_INCREF(error);
    Py_INCREF(arguments);
    PyObject *started_obj = NULL, *seconds_obj = NULL;
    int rc = -1;
    if (exc) {
        Py_SETREF(error, PyObject_GetAttr((PyObject *)Py_TYPE(exc), str_name_attr));
        if (!error)
            goto done;
    }
    /* A view called with the request alone keeps None: its trace shows no
     * arguments either way, and most requests save a tuple and a dict. */
    if (self->view && (nargs > 1 || (kwnames && PyTuple_GET_SIZE(kwnames)))) {
        Py_SETREF(arguments, call_arguments(args, nargs, kwnames));
        if (!arguments)
            goto done;
    }
    if (!(started_obj = PyFloat_FromDouble(started))
        || !(seconds_obj = PyFloat_FromDouble(seconds)))
        goto done;
    if (Py_IS_TYPE(trace, &plumb_RequestRecordType)) {
        rc = plumb_request_record_segment((RequestRecordObject *)trace, self->kind, self->name,
                                          started_obj, seconds_obj, Py_None, error, arguments);
    } else {
        PyObject *stack[] = {trace,       self->kind, self->name, started_obj,
                             seconds_obj, Py_None,    error,      arguments};
        PyObject *r = PyObject_VectorcallMethod(str_segment, stack, self->view ? 8 : 7, NULL);
        rc = r ? 0 : -1;
        Py_XDECREF(r);
    }
done:
    Py_XDECREF(started_obj);
    Py_XDECREF(seconds_obj);
    Py_DECREF(error);
    Py_XDECREF(arguments);
    return rc;
}

static PyObject *timed_vectorcall(PyObject *callable, PyObject *const *args, size_t nargsf,
                                  PyObject *kwnames)
{
    TimedCallObject *self = (TimedCallObject *)callable;
    PyObject *trace;
    if (self->current) {
        if (plumb_current_trace(self->current, &trace) < 0)
            return NULL;
        if (trace == Py_None) {
            Py_DECREF(trace);
            return PyObject_Vectorcall(self->function, args, nargsf, kwnames);
        }
    } else {
        trace = self->trace;
        Py_INCREF(trace);
    }
    uint64_t previous = self->tag ? plumb_thread_tag_set(self->tag) : 0;
    double started = plumb_py_perf_counter();
    PyObject *result = PyObject_Vectorcall(self->function, args, nargsf, kwnames);
    double seconds = plumb_py_perf_counter() - started;
    if (self->tag)
        plumb_thread_tag_set(previous);
    PyObject *exc = result ? NULL : plumb_error_take();
    if (record(self, trace, args, PyVectorcall_NARGS(nargsf), kwnames, started, seconds, exc)
        < 0) {
        if (PyErr_ExceptionMatches(PyExc_Exception)) {
            PyErr_Clear();      /* recording must never fail the call */
        } else {
            Py_CLEAR(result);
            Py_XSETREF(exc, plumb_error_take());
        }
    }
    Py_DECREF(trace);
    if (exc) {
        plumb_error_put(exc);
        return NULL;
    }
    return result;
}

/* The trace's tag as an unsigned 64-bit int; 0 (none) if it has none or
 * not one a thread can carry. */
static uint64_t tag_of(PyObject *trace)
{
    PyObject *tag = Py_IS_TYPE(trace, &plumb_RequestRecordType)
                        ? Py_NewRef(((RequestRecordObject *)trace)->tag)
                        : PyObject_GetAttr(trace, str_tag);
    uint64_t value = 0;
    if (tag && PyLong_Check(tag)) {
        value = PyLong_AsUnsignedLongLong(tag);
        if (value == (uint64_t)-1 && PyErr_Occurred())
            value = 0;
    }
    Py_XDECREF(tag);
    PyErr_Clear();
    return value;
}

/* The wrapper, from its constructor's arguments (borrowed). */
static PyObject *timed_make(PyTypeObject *type, PyObject *function, PyObject *kind,
                            PyObject *name, PyObject *current, PyObject *trace, int view)
{
    if (!PyUnicode_Check(kind) || !PyUnicode_Check(name)) {
        PyErr_SetString(PyExc_TypeError, "TimedCall's kind and name are strings");
        return NULL;
    }
    if ((current == Py_None) == (trace == Py_None)) {
        PyErr_SetString(PyExc_TypeError, "TimedCall takes a context variable (current) or a "
                                         "trace, one of the two");
        return NULL;
    }
    if (current != Py_None && !PyContextVar_CheckExact(current)) {
        PyErr_SetString(PyExc_TypeError, "TimedCall's current is a contextvars.ContextVar");
        return NULL;
    }
    if (!PyCallable_Check(function)) {
        PyErr_SetString(PyExc_TypeError, "TimedCall's function is not callable");
        return NULL;
    }
    TimedCallObject *self = (TimedCallObject *)type->tp_alloc(type, 0);
    if (!self)
        return NULL;
    self->vectorcall = timed_vectorcall;
    self->function = Py_NewRef(function);
    self->kind = Py_NewRef(kind);
    self->name = Py_NewRef(name);
    self->current = current == Py_None ? NULL : Py_NewRef(current);
    self->trace = trace == Py_None ? NULL : Py_NewRef(trace);
    self->view = view;
    self->tag = view && self->trace ? tag_of(self->trace) : 0;
    return (PyObject *)self;
}

static const char *const timed_params[] = {"function", "kind", "name", "current", "trace",
                                           "view"};

/* TimedCall(...) called the fast way: a view's wrapper is made on every
 * request. */
static PyObject *timed_type_vectorcall(PyObject *type, PyObject *const *args, size_t nargsf,
                                       PyObject *kwnames)
{
    PyObject *a[6] = {NULL, NULL, NULL, Py_None, Py_None, Py_False};
    if (plumb_fast_args("TimedCall", args, PyVectorcall_NARGS(nargsf), kwnames, timed_params, 6,
                        3, a) < 0)
        return NULL;
    int view = PyObject_IsTrue(a[5]);
    if (view < 0)
        return NULL;
    return timed_make((PyTypeObject *)type, a[0], a[1], a[2], a[3], a[4], view);
}

static PyObject *timed_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"function", "kind", "name", "current", "trace", "view", NULL};
    PyObject *function, *kind, *name, *current = Py_None, *trace = Py_None;
    int view = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "OOO|OOp:TimedCall", kwlist, &function, &kind,
                                     &name, &current, &trace, &view))
        return NULL;
    return timed_make(type, function, kind, name, current, trace, view);
}

static int timed_traverse(TimedCallObject *self, visitproc visit, void *arg)
{
    Py_VISIT(self->function);
    Py_VISIT(self->trace);
    return 0;
}

static int timed_clear(TimedCallObject *self)
{
    Py_CLEAR(self->function);
    Py_CLEAR(self->trace);
    return 0;
}

static void timed_dealloc(TimedCallObject *self)
{
    PyObject_GC_UnTrack(self);
    timed_clear(self);
    Py_XDECREF(self->kind);
    Py_XDECREF(self->name);
    Py_XDECREF(self->current);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *timed_wrapped(TimedCallObject *self, void *closure)
{
    (void)closure;
    return Py_NewRef(self->function ? self->function : Py_None);
}

static PyObject *timed_get_name(TimedCallObject *self, void *closure)
{
    (void)closure;
    return Py_NewRef(self->name);
}

static PyGetSetDef timed_getset[] = {
    {"__wrapped__", (getter)timed_wrapped, NULL, "The function called.", NULL},
    {"name", (getter)timed_get_name, NULL, "The segment's name.", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

PyTypeObject plumb_TimedCallType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "plumb._plumb.TimedCall",
    .tp_basicsize = sizeof(TimedCallObject),
    .tp_dealloc = (destructor)timed_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_HAVE_VECTORCALL,
    .tp_vectorcall_offset = offsetof(TimedCallObject, vectorcall),
    .tp_call = PyVectorcall_Call,
    .tp_traverse = (traverseproc)timed_traverse,
    .tp_clear = (inquiry)timed_clear,
    .tp_getset = timed_getset,
    .tp_new = timed_new,
    .tp_vectorcall = timed_type_vectorcall,
    .tp_doc = "TimedCall(function, kind, name, current=None, trace=None, view=False)\n\n"
              "function, its calls recorded as segments (kind, name) of the trace current\n"
              "in context variable current at each call, or of trace; view=True keeps a\n"
              "call's arguments after the first and tags the thread with the trace's tag.",
};

/* -- CoroutineFunctionCheck ------------------------------------------------------- */

/* plumb._plumb.CoroutineFunctionCheck(check): check(f), answered False
 * without calling check when f is a TimedCall.  Django asks
 * inspect.iscoroutinefunction of every request's view wrapper, and of one
 * that is not a Python function inspect takes its slow way
 * (_signature_is_functionlike: two Python frames and eight C calls, about
 * 0.5 us a request).  A TimedCall is a synchronous callable with neither a
 * __code__ nor a coroutine marker, so False is what inspect (and asyncio's
 * older check) says of it. */
typedef struct CoroutineCheckObject {
    PyObject_HEAD
    vectorcallfunc vectorcall;
    PyObject *check;
} CoroutineCheckObject;

static PyObject *check_vectorcall(PyObject *callable, PyObject *const *args, size_t nargsf,
                                  PyObject *kwnames)
{
    CoroutineCheckObject *self = (CoroutineCheckObject *)callable;
    if (PyVectorcall_NARGS(nargsf) == 1 && !kwnames && Py_IS_TYPE(args[0], &plumb_TimedCallType))
        Py_RETURN_FALSE;
    return PyObject_Vectorcall(self->check, args, nargsf, kwnames);
}

static PyObject *check_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"check", NULL};
    PyObject *check;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "O:CoroutineFunctionCheck", kwlist, &check))
        return NULL;
    if (!PyCallable_Check(check)) {
        PyErr_SetString(PyExc_TypeError, "CoroutineFunctionCheck's check is not callable");
        return NULL;
    }
    CoroutineCheckObject *self = (CoroutineCheckObject *)type->tp_alloc(type, 0);
    if (!self)
        return NULL;
    self->vectorcall = check_vectorcall;
    self->check = Py_NewRef(check);
    return (PyObject *)self;
}

static int check_traverse(CoroutineCheckObject *self, visitproc visit, void *arg)
{
    Py_VISIT(self->check);
    return 0;
}

static int check_clear(CoroutineCheckObject *self)
{
    Py_CLEAR(self->check);
    return 0;
}

static void check_dealloc(CoroutineCheckObject *self)
{
    PyObject_GC_UnTrack(self);
    check_clear(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *check_wrapped(CoroutineCheckObject *self, void *closure)
{
    (void)closure;
    return Py_NewRef(self->check ? self->check : Py_None);
}

static PyGetSetDef check_getset[] = {
    {"__wrapped__", (getter)check_wrapped, NULL, "The check it answers for.", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyTypeObject CoroutineCheckType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "plumb._plumb.CoroutineFunctionCheck",
    .tp_basicsize = sizeof(CoroutineCheckObject),
    .tp_dealloc = (destructor)check_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_HAVE_VECTORCALL,
    .tp_vectorcall_offset = offsetof(CoroutineCheckObject, vectorcall),
    .tp_call = PyVectorcall_Call,
    .tp_traverse = (traverseproc)check_traverse,
    .tp_clear = (inquiry)check_clear,
    .tp_getset = check_getset,
    .tp_new = check_new,
    .tp_doc = "CoroutineFunctionCheck(check)\n\n"
              "check(f) (an iscoroutinefunction), answered False at once when f is a\n"
              "TimedCall: what inspect says of one, without its slow path.",
};

int plumb_module_add_timed_call(PyObject *module)
{
    if (!(str_segment = PyUnicode_InternFromString("segment"))
        || !(str_name_attr = PyUnicode_InternFromString("__name__"))
        || !(str_tag = PyUnicode_InternFromString("tag"))
        || PyType_Ready(&plumb_TimedCallType) < 0 || PyType_Ready(&CoroutineCheckType) < 0)
        return -1;
    Py_INCREF(&CoroutineCheckType);
    if (PyModule_AddObject(module, "CoroutineFunctionCheck", (PyObject *)&CoroutineCheckType)
        < 0) {
        Py_DECREF(&CoroutineCheckType);
        return -1;
    }
    Py_INCREF(&plumb_TimedCallType);
    if (PyModule_AddObject(module, "TimedCall", (PyObject *)&plumb_TimedCallType) < 0) {
        Py_DECREF(&plumb_TimedCallType);
        return -1;
    }
    return 0;
}
