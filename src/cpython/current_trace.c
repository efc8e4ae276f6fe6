/* Which trace the instruments record into, and plumb._plumb.CurrentTrace
 * (plumb.web.trace.current).
 *
 * plumb.web's traces and asynchronous requests are current in a context
 * variable, which follows them into asyncio tasks and the threads asgiref
 * and Starlette run their synchronous code in.  Setting it and resetting it
 * copy the context's map (its HAMT) and make a token: 4,900 instructions a
 * request measured (callgrind, CPython 3.12, a Django context), 40% of all
 * monitoring added to a trivial request.  A synchronous request runs in
 * one thread from its begin to its end, so the monitoring middleware makes
 * its record current in the thread instead: a reference in a thread-local
 * slot, as APM agents keep their transaction by thread.  Work the request
 * hands to another thread is not in its record (the context variable's
 * would be); greenlets share their OS thread, so a worker of gevent or
 * eventlet keeps to the context variable (RequestPath.threads_shared, set by
 * plumb/monitor/agent.py at the process's first request).
 *
 * The context variable is read first, so that a trace activated inside a
 * monitored request (plumb's per-request profiling) records its segments,
 * as when both were in the variable and the innermost won. */
#include "current_trace.h"

#include "compat.h"

#include <stddef.h>

/* An owned reference, or NULL.  initial-exec: the module is loaded once, by
 * the interpreter, so its thread-locals can be reached without a call to
 * __tls_get_addr (as thread_tags.c's). */
static __thread PyObject *thread_record __attribute__((tls_model("initial-exec")));

static int ended(PyObject *record)
{
    return ((RequestRecordObject *)record)->ended;
}

int plumb_current_trace(PyObject *var, PyObject **trace)
{
    if (PyContextVar_Get(var, Py_None, trace) < 0)
        return -1;
    if (*trace == Py_None && thread_record && !ended(thread_record)) {
        Py_DECREF(*trace);
        *trace = Py_NewRef(thread_record);
    }
    return 0;
}

void plumb_record_enter_thread(RequestRecordObject *record)
{
    PyObject *previous = thread_record;
    if (previous && ended(previous))    /* one that ended in another thread */
        Py_CLEAR(previous);
    Py_XSETREF(record->previous_current, previous);     /* the slot's reference */
    record->current_thread = PyThread_get_thread_ident();
    record->in_thread = 1;
    thread_record = Py_NewRef(record);
}

void plumb_record_leave_thread(RequestRecordObject *record)
{
    if (!record->in_thread)
        return;
    record->in_thread = 0;
    PyObject *previous = record->previous_current;
    record->previous_current = NULL;
    if (thread_record == (PyObject *)record
        && record->current_thread == PyThread_get_thread_ident()) {
        thread_record = previous;       /* the reference moves back */
        Py_DECREF(record);              /* the slot's; the caller holds another */
    } else {
        Py_XDECREF(previous);
    }
}

/* -- CurrentTrace(var)(): plumb.web.trace.current ---------------------------------- */

typedef struct {
    PyObject_HEAD
    vectorcallfunc vectorcall;
    PyObject *var;
} CurrentTraceObject;

static PyObject *current_vectorcall(PyObject *callable, PyObject *const *args, size_t nargsf,
                                    PyObject *kwnames)
{
    (void)args;
    if (PyVectorcall_NARGS(nargsf) != 0 || (kwnames && PyTuple_GET_SIZE(kwnames))) {
        PyErr_SetString(PyExc_TypeError, "current() takes no arguments");
        return NULL;
    }
    PyObject *trace;
    if (plumb_current_trace(((CurrentTraceObject *)callable)->var, &trace) < 0)
        return NULL;
    return trace;
}

static PyObject *current_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"var", NULL};
    PyObject *var;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "O!:CurrentTrace", kwlist, &PyContextVar_Type,
                                     &var))
        return NULL;
    CurrentTraceObject *self = (CurrentTraceObject *)type->tp_alloc(type, 0);
    if (!self)
        return NULL;
    self->vectorcall = current_vectorcall;
    self->var = Py_NewRef(var);
    return (PyObject *)self;
}

static void current_dealloc(CurrentTraceObject *self)
{
    Py_XDECREF(self->var);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

PyTypeObject plumb_CurrentTraceType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "plumb._plumb.CurrentTrace",
    .tp_basicsize = sizeof(CurrentTraceObject),
    .tp_dealloc = (destructor)current_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_VECTORCALL,
    .tp_vectorcall_offset = offsetof(CurrentTraceObject, vectorcall),
    .tp_call = PyVectorcall_Call,
    .tp_new = current_new,
    .tp_doc = "CurrentTrace(var)() -> what the instruments record into now: var's value,\n"
              "else the monitored request current in this thread, else None.",
};

int plumb_module_add_current_trace(PyObject *module)
{
    if (PyType_Ready(&plumb_CurrentTraceType) < 0)
        return -1;
    Py_INCREF(&plumb_CurrentTraceType);
    if (PyModule_AddObject(module, "CurrentTrace", (PyObject *)&plumb_CurrentTraceType) < 0) {
        Py_DECREF(&plumb_CurrentTraceType);
        return -1;
    }
    return 0;
}
