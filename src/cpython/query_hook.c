/* plumb._plumb.DjangoQueryHook: Django's connection.execute_wrapper for
 * plumb's traces and monitoring (plumb/contrib/django/sql.py puts its
 * record method first on every connection), in C since it runs around
 * every query of every request.
 *
 * record(execute, sql, params, many, context) reads the current trace (a
 * context variable's, else the thread's record: current_trace.h); with
 * none, or with a query already being recorded further up, it only calls
 * execute.  Otherwise it marks the query as being recorded (so the driver
 * under Django does not record it again), reads the clock around execute
 * (time.perf_counter's, py_clocks.h) and records the query: into a
 * RequestRecord directly, into anything else (a plumb.web.trace.Trace)
 * through its sql() method.  The mark is set only once a driver's own
 * instrument is installed (plumb/web/dbapi.py calls mark_driver_queries()):
 * setting and resetting a context variable is about 2,700 instructions a
 * query (docs/benchmarks.md), and with no driver instrument under Django
 * there is nothing for it to stop.  An exception from execute is recorded
 * by its class's name and raised again; recording never fails the query. */
#include "compat.h"

#include "current_trace.h"
#include "py_clocks.h"
#include "request_record.h"

typedef struct QueryHookObject {
    PyObject_HEAD
    PyObject *current;      /* plumb.web.trace's trace variable */
    PyObject *in_query;     /* ... and its "a query is being recorded" flag */
} QueryHookObject;

static PyObject *str_sql_method, *str_name_attr;

/* Whether a driver's own instrument is installed in this process (set once,
 * never cleared: its wrappers stay). */
static int driver_instrumented;

/* trace.sql(sql, None if many else params, started, seconds, many, error):
 * 0, or -1 with an exception. */
static int record_query(PyObject *trace, PyObject *sql, PyObject *params, PyObject *many,
                        double started, double seconds, PyObject *exc)
{
    int is_many = PyObject_IsTrue(many);
    if (is_many < 0)
        return -1;
    PyObject *error = Py_None;
    Py_INCREF(error);
    if (exc) {
        Py_SETREF(error, PyObject_GetAttr((PyObject *)Py_TYPE(exc), str_name_attr));
        if (!error)
            return -1;
    }
    PyObject *started_obj = PyFloat_FromDouble(started);
    PyObject *seconds_obj = started_obj ? PyFloat_FromDouble(seconds) : NULL;
    PyObject *kept_params = is_many ? Py_None : params;
    int rc = -1;
    if (!seconds_obj) {
        rc = -1;
    } else if (Py_IS_TYPE(trace, &plumb_RequestRecordType)) {
        rc = plumb_request_record_sql((RequestRecordObject *)trace, sql, kept_params, started_obj,
                                      seconds_obj, seconds, many, error);
    } else {
        PyObject *stack[] = {trace, sql, kept_params, started_obj, seconds_obj, many, error};
        PyObject *r = PyObject_VectorcallMethod(str_sql_method, stack, 7, NULL);
        rc = r ? 0 : -1;
        Py_XDECREF(r);
    }
    Py_XDECREF(started_obj);
    Py_XDECREF(seconds_obj);
    Py_DECREF(error);
    return rc;
}

/* The trace to record into (a new reference), or NULL: none is current,
 * or a query is already being recorded.  -1 on error. */
static int recording_trace(QueryHookObject *self, PyObject **trace)
{
    *trace = NULL;
    PyObject *current, *busy;
    if (plumb_current_trace(self->current, &current) < 0)
        return -1;
    if (current == Py_None) {
        Py_DECREF(current);
        return 0;
    }
    if (PyContextVar_Get(self->in_query, Py_False, &busy) < 0) {
        Py_DECREF(current);
        return -1;
    }
    int in_query = PyObject_IsTrue(busy);
    Py_DECREF(busy);
    if (in_query != 0) {
        Py_DECREF(current);
        return in_query < 0 ? -1 : 0;
    }
    *trace = current;
    return 0;
}

static PyObject *hook_record(QueryHookObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 5) {
        PyErr_Format(PyExc_TypeError,
                     "record(execute, sql, params, many, context) takes 5 arguments (%zd given)",
                     nargs);
        return NULL;
    }
    PyObject *execute = args[0], *const *call = args + 1;
    PyObject *trace;
    if (recording_trace(self, &trace) < 0)
        return NULL;
    if (!trace)
        return PyObject_Vectorcall(execute, call, 4, NULL);
    PyObject *token = NULL;
    if (driver_instrumented && !(token = PyContextVar_Set(self->in_query, Py_True))) {
        Py_DECREF(trace);
        return NULL;
    }
    double started = plumb_py_perf_counter();
    PyObject *result = PyObject_Vectorcall(execute, call, 4, NULL);
    double seconds = plumb_py_perf_counter() - started;
    PyObject *exc = result ? NULL : plumb_error_take();
    if (record_query(trace, args[1], args[2], args[3], started, seconds, exc) < 0) {
        if (PyErr_ExceptionMatches(PyExc_Exception)) {
            PyErr_Clear();      /* recording must never fail the query */
        } else {
            /* KeyboardInterrupt or SystemExit while recording: raised
             * instead, as Python's own wrapper would have. */
            Py_CLEAR(result);
            Py_XSETREF(exc, plumb_error_take());
        }
    }
    Py_DECREF(trace);
    int reset = token ? PyContextVar_Reset(self->in_query, token) : 0;
    Py_XDECREF(token);
    if (reset < 0) {
        Py_XDECREF(result);
        Py_XDECREF(exc);
        return NULL;
    }
    if (exc) {
        plumb_error_put(exc);
        return NULL;
    }
    return result;
}

static PyObject *hook_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"current", "in_query", NULL};
    PyObject *current, *in_query;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "O!O!:DjangoQueryHook", kwlist,
                                     &PyContextVar_Type, &current, &PyContextVar_Type, &in_query))
        return NULL;
    QueryHookObject *self = (QueryHookObject *)type->tp_alloc(type, 0);
    if (!self)
        return NULL;
    Py_INCREF(current);
    Py_INCREF(in_query);
    self->current = current;
    self->in_query = in_query;
    return (PyObject *)self;
}

static void hook_dealloc(QueryHookObject *self)
{
    Py_XDECREF(self->current);
    Py_XDECREF(self->in_query);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyMethodDef hook_methods[] = {
    {"record", (PyCFunction)(void (*)(void))hook_record, METH_FASTCALL,
     "record(execute, sql, params, many, context): execute(sql, params, many, context),\n"
     "recorded into the current trace when there is one (Django's execute_wrapper)."},
    {NULL, NULL, 0, NULL},
};

PyTypeObject plumb_DjangoQueryHookType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "plumb._plumb.DjangoQueryHook",
    .tp_basicsize = sizeof(QueryHookObject),
    .tp_dealloc = (destructor)hook_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "DjangoQueryHook(current, in_query): its record method is Django's\n"
              "execute_wrapper over the trace in context variable current; in_query (a\n"
              "context variable) is set while a query is recorded.",
    .tp_methods = hook_methods,
    .tp_new = hook_new,
};

/* mark_driver_queries(): from now on a recorded query is marked while it
 * runs, for the driver instruments under Django's hook. */
static PyObject *mark_driver_queries(PyObject *module, PyObject *Py_UNUSED(ignored))
{
    (void)module;
    driver_instrumented = 1;
    Py_RETURN_NONE;
}

static PyObject *driver_queries_marked(PyObject *module, PyObject *Py_UNUSED(ignored))
{
    (void)module;
    return PyBool_FromLong(driver_instrumented);
}

static PyMethodDef query_hook_functions[] = {
    {"mark_driver_queries", mark_driver_queries, METH_NOARGS,
     "mark_driver_queries(): a driver's own SQL instrument is installed; Django's query hook\n"
     "marks the queries it records (plumb.web.trace.in_query) from now on."},
    {"driver_queries_marked", driver_queries_marked, METH_NOARGS,
     "driver_queries_marked() -> whether mark_driver_queries() has been called."},
    {NULL, NULL, 0, NULL},
};

int plumb_module_add_query_hook(PyObject *module)
{
    if (PyModule_AddFunctions(module, query_hook_functions) < 0)
        return -1;
    if (!(str_sql_method = PyUnicode_InternFromString("sql"))
        || !(str_name_attr = PyUnicode_InternFromString("__name__"))
        || PyType_Ready(&plumb_DjangoQueryHookType) < 0)
        return -1;
    Py_INCREF(&plumb_DjangoQueryHookType);
    if (PyModule_AddObject(module, "DjangoQueryHook", (PyObject *)&plumb_DjangoQueryHookType) < 0) {
        Py_DECREF(&plumb_DjangoQueryHookType);
        return -1;
    }
    return 0;
}
