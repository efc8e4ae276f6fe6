/* plumb._plumb.RequestRecord (request_record.h): what the instruments
 * record into while a monitored request runs, on every request, so its
 * sql() and segment() are C: a sum per kind and a tuple per segment,
 * keeping references (the SQL text, the view's arguments) and formatting
 * nothing.  A kept request's tuples become a trace later, in the harvest
 * thread (plumb/monitor/record.py's trace_document).
 *
 * Called with the GIL held, and nothing here releases it or runs Python
 * code between reading the segment count and appending: worker threads of
 * one request (asgiref's, Starlette's pool) may record at once, as they
 * could into the list Python appended to. */
#include "request_record.h"

#include <structmember.h>

#include "fast_args.h"
#include "py_clocks.h"

static PyObject *str_sql, *str_template, *str_http;

static void set_field(PyObject **field, PyObject *value)
{
    Py_XINCREF(value);
    Py_XSETREF(*field, value);
}

static void fill(RequestRecordObject *self, PyObject *tag, PyObject *kind, PyObject *name,
                 PyObject *method, PyObject *path, PyObject *query, PyObject *queue_s,
                 PyObject *sql_params, PyObject *segments, double wall_start, double started)
{
    set_field(&self->tag, tag);
    set_field(&self->kind, kind);
    set_field(&self->name, name);
    set_field(&self->method, method);
    set_field(&self->path, path);
    set_field(&self->query, query);
    set_field(&self->queue_s, queue_s);
    set_field(&self->sql_params, sql_params);
    set_field(&self->status, Py_None);
    set_field(&self->error, Py_None);
    self->thread = 0;
    self->thread_tagged = 0;
    set_field(&self->token, Py_None);
    self->ended = 0;    /* its thread slot's fields stay as they are: zero when new */
    Py_XSETREF(self->segments, segments);   /* stolen */
    self->previous_tag = 0;
    self->sql_s = self->template_s = self->http_s = 0.0;
    self->sql_n = self->template_n = self->http_n = self->dropped = 0;
    self->wall_start = wall_start;
    self->started = started;
}

RequestRecordObject *plumb_request_record_new(PyObject *tag, PyObject *kind, PyObject *name,
                                              PyObject *method, PyObject *path, PyObject *query,
                                              PyObject *queue_s, PyObject *sql_params,
                                              double wall_start, double started)
{
    PyObject *segments = PyList_New(0);
    if (!segments)
        return NULL;
    PyTypeObject *type = &plumb_RequestRecordType;
    RequestRecordObject *self = (RequestRecordObject *)type->tp_alloc(type, 0);
    if (!self) {
        Py_DECREF(segments);
        return NULL;
    }
    fill(self, tag, kind, name, method, path, query, queue_s, sql_params, segments, wall_start,
         started);
    return self;
}

static int record_init(RequestRecordObject *self, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"tag", "kind", "name", "method", "path", "query", "queue_s",
                             "sql_params", NULL};
    PyObject *a[8];
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "OOOOOOOO:RequestRecord", kwlist, &a[0], &a[1],
                                     &a[2], &a[3], &a[4], &a[5], &a[6], &a[7]))
        return -1;
    PyObject *segments = PyList_New(0);
    if (!segments)
        return -1;
    /* As RequestRecord.__init__ read them: time(), then perf_counter(). */
    double wall_start = plumb_py_time();
    fill(self, a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], segments, wall_start,
         plumb_py_perf_counter());
    return 0;
}

static int record_traverse(RequestRecordObject *self, visitproc visit, void *arg)
{
    Py_VISIT(self->tag);
    Py_VISIT(self->kind);
    Py_VISIT(self->name);
    Py_VISIT(self->method);
    Py_VISIT(self->path);
    Py_VISIT(self->query);
    Py_VISIT(self->queue_s);
    Py_VISIT(self->status);
    Py_VISIT(self->error);
    Py_VISIT(self->sql_params);
    Py_VISIT(self->segments);
    Py_VISIT(self->token);
    Py_VISIT(self->previous_current);
    return 0;
}

static int record_clear(RequestRecordObject *self)
{
    Py_CLEAR(self->tag);
    Py_CLEAR(self->kind);
    Py_CLEAR(self->name);
    Py_CLEAR(self->method);
    Py_CLEAR(self->path);
    Py_CLEAR(self->query);
    Py_CLEAR(self->queue_s);
    Py_CLEAR(self->status);
    Py_CLEAR(self->error);
    Py_CLEAR(self->sql_params);
    Py_CLEAR(self->segments);
    Py_CLEAR(self->token);
    Py_CLEAR(self->previous_current);
    return 0;
}

static void record_dealloc(RequestRecordObject *self)
{
    PyObject_GC_UnTrack(self);
    if (self->weakrefs)
        PyObject_ClearWeakRefs((PyObject *)self);
    record_clear(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

/* The segment tuple (kind, name, started, seconds, detail, error, extra)
 * appended, or counted in dropped past the bound. */
static int add_segment(RequestRecordObject *self, PyObject *kind, PyObject *name, PyObject *started,
                       PyObject *seconds, PyObject *detail, PyObject *error, PyObject *extra)
{
    if (!self->segments) {   /* made by __new__ alone */
        PyErr_SetString(PyExc_RuntimeError, "RequestRecord.__init__ was not called");
        return -1;
    }
    if (PyList_GET_SIZE(self->segments) >= PLUMB_RECORD_MAX_SEGMENTS) {
        self->dropped++;
        return 0;
    }
    PyObject *segment = PyTuple_Pack(7, kind, name, started, seconds, detail, error, extra);
    if (!segment)
        return -1;
    int rc = PyList_Append(self->segments, segment);
    Py_DECREF(segment);
    return rc;
}

int plumb_request_record_sql(RequestRecordObject *self, PyObject *sql, PyObject *params,
                             PyObject *started, PyObject *seconds_obj, double seconds,
                             PyObject *many, PyObject *error)
{
    self->sql_s += seconds;
    self->sql_n++;
    PyObject *extra = PyTuple_Pack(2, params, many);
    if (!extra)
        return -1;
    int rc = add_segment(self, str_sql, sql, started, seconds_obj, Py_None, error, extra);
    Py_DECREF(extra);
    return rc;
}

/* sql(sql, params, started, seconds, many=False, error=None) */
static PyObject *record_sql(RequestRecordObject *self, PyObject *const *args, Py_ssize_t nargs,
                            PyObject *kwnames)
{
    static const char *const names[] = {"sql", "params", "started", "seconds", "many", "error"};
    PyObject *a[6] = {NULL, NULL, NULL, NULL, Py_False, Py_None};
    if (plumb_fast_args("sql", args, nargs, kwnames, names, 6, 4, a) < 0)
        return NULL;
    double seconds = PyFloat_AsDouble(a[3]);
    if (seconds == -1.0 && PyErr_Occurred())
        return NULL;
    if (plumb_request_record_sql(self, a[0], a[1], a[2], a[3], seconds, a[4], a[5]) < 0)
        return NULL;
    Py_RETURN_NONE;
}

/* Adds seconds to *sum and one to *count: a template's or an HTTP call's. */
static int add_to_sum(PyObject *seconds_obj, double *sum, Py_ssize_t *count)
{
    double seconds = PyFloat_AsDouble(seconds_obj);
    if (seconds == -1.0 && PyErr_Occurred())
        return -1;
    *sum += seconds;
    (*count)++;
    return 0;
}

int plumb_request_record_segment(RequestRecordObject *self, PyObject *kind, PyObject *name,
                                 PyObject *started, PyObject *seconds, PyObject *detail,
                                 PyObject *error, PyObject *arguments)
{
    int is = PyObject_RichCompareBool(kind, str_template, Py_EQ);
    if (is < 0)
        return -1;
    if (is) {
        if (add_to_sum(seconds, &self->template_s, &self->template_n) < 0)
            return -1;
    } else {
        is = PyObject_RichCompareBool(kind, str_http, Py_EQ);
        if (is < 0 || (is && add_to_sum(seconds, &self->http_s, &self->http_n) < 0))
            return -1;
    }
    return add_segment(self, kind, name, started, seconds, detail, error, arguments);
}

/* segment(kind, name, started, seconds, detail=None, error=None, arguments=None) */
static PyObject *record_segment(RequestRecordObject *self, PyObject *const *args,
                                Py_ssize_t nargs, PyObject *kwnames)
{
    static const char *const names[] = {"kind", "name", "started", "seconds", "detail", "error",
                                        "arguments"};
    PyObject *a[7] = {NULL, NULL, NULL, NULL, Py_None, Py_None, Py_None};
    if (plumb_fast_args("segment", args, nargs, kwnames, names, 7, 4, a) < 0)
        return NULL;
    if (plumb_request_record_segment(self, a[0], a[1], a[2], a[3], a[4], a[5], a[6]) < 0)
        return NULL;
    Py_RETURN_NONE;
}

static PyMethodDef record_methods[] = {
    {"sql", (PyCFunction)(void (*)(void))record_sql, METH_FASTCALL | METH_KEYWORDS,
     "sql(sql, params, started, seconds, many=False, error=None): one query (started: a\n"
     "perf_counter() reading), added to the SQL sums and kept as a segment."},
    {"segment", (PyCFunction)(void (*)(void))record_segment, METH_FASTCALL | METH_KEYWORDS,
     "segment(kind, name, started, seconds, detail=None, error=None, arguments=None): one\n"
     "segment (middleware, view, template, http); templates and HTTP calls are summed too."},
    {NULL, NULL, 0, NULL},
};

/* thread: a C value, not an int object, since begin sets it on every request. */
static PyObject *record_get_thread(RequestRecordObject *self, void *closure)
{
    (void)closure;
    if (!self->thread_tagged)
        Py_RETURN_NONE;
    return PyLong_FromUnsignedLong(self->thread);
}

static int record_set_thread(RequestRecordObject *self, PyObject *value, void *closure)
{
    (void)closure;
    if (!value || value == Py_None) {
        self->thread_tagged = 0;
        return 0;
    }
    unsigned long ident = PyLong_AsUnsignedLong(value);
    if (ident == (unsigned long)-1 && PyErr_Occurred())
        return -1;
    self->thread = ident;
    self->thread_tagged = 1;
    return 0;
}

static PyGetSetDef record_getset[] = {
    {"thread", (getter)record_get_thread, (setter)record_set_thread,
     "The thread whose tag the agent set (its ident), or None.", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

#define FIELD(name, type, flags, doc) \
    {#name, type, offsetof(RequestRecordObject, name), flags, doc}

static PyMemberDef record_members[] = {
    FIELD(tag, T_OBJECT, READONLY, "The request's number in its process (its thread tag)."),
    FIELD(kind, T_OBJECT, 0, "\"web\" or \"background\"."),
    FIELD(name, T_OBJECT, 0, "Its transaction's name, as known so far."),
    FIELD(method, T_OBJECT, 0, NULL),
    FIELD(path, T_OBJECT, 0, NULL),
    FIELD(query, T_OBJECT, 0, NULL),
    FIELD(queue_s, T_OBJECT, 0, "Seconds it queued before the application, or None."),
    FIELD(status, T_OBJECT, 0, "Its HTTP status, once ended (None if none was sent)."),
    FIELD(error, T_OBJECT, 0, "The exception class that ended it (\"module.Name\"), or None."),
    FIELD(sql_params, T_OBJECT, 0, "Whether its trace keeps SQL text and parameters."),
    FIELD(segments, T_OBJECT, READONLY,
          "(kind, name, started, seconds, detail, error, extra) tuples; extra is (params, many)\n"
          "for SQL, the view's (args, kwargs) for a view (None if it had none)."),
    FIELD(previous_tag, T_ULONGLONG, 0, "That thread's tag before the request."),
    FIELD(token, T_OBJECT, 0, "The context variable's token, for the end."),
    FIELD(ended, T_INT, READONLY, "Whether the agent has ended it (1) or not (0)."),
    FIELD(started, T_DOUBLE, 0, "perf_counter() at its start."),
    FIELD(wall_start, T_DOUBLE, 0, "time() at its start."),
    FIELD(sql_s, T_DOUBLE, 0, NULL),
    FIELD(sql_n, T_PYSSIZET, 0, NULL),
    FIELD(template_s, T_DOUBLE, 0, NULL),
    FIELD(template_n, T_PYSSIZET, 0, NULL),
    FIELD(http_s, T_DOUBLE, 0, NULL),
    FIELD(http_n, T_PYSSIZET, 0, NULL),
    FIELD(dropped, T_PYSSIZET, 0, "Segments past MAX_SEGMENTS: in the sums, not kept."),
    {NULL, 0, 0, 0, NULL},
};

PyTypeObject plumb_RequestRecordType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "plumb._plumb.RequestRecord",
    .tp_basicsize = sizeof(RequestRecordObject),
    .tp_dealloc = (destructor)record_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "RequestRecord(tag, kind, name, method, path, query, queue_s, sql_params)\n\n"
              "One monitored request while it runs: its name, its start (time() and\n"
              "perf_counter() now) and what the instruments recorded into it.",
    .tp_traverse = (traverseproc)record_traverse,
    .tp_clear = (inquiry)record_clear,
    .tp_weaklistoffset = offsetof(RequestRecordObject, weakrefs),
    .tp_methods = record_methods,
    .tp_members = record_members,
    .tp_getset = record_getset,
    .tp_init = (initproc)record_init,
    .tp_new = PyType_GenericNew,
};

int plumb_module_add_request_record(PyObject *module)
{
    str_sql = PyUnicode_InternFromString("sql");
    str_template = PyUnicode_InternFromString("template");
    str_http = PyUnicode_InternFromString("http");
    if (!str_sql || !str_template || !str_http || PyType_Ready(&plumb_RequestRecordType) < 0)
        return -1;
    if (PyModule_AddIntConstant(module, "RECORD_MAX_SEGMENTS", PLUMB_RECORD_MAX_SEGMENTS) < 0)
        return -1;
    Py_INCREF(&plumb_RequestRecordType);
    if (PyModule_AddObject(module, "RequestRecord", (PyObject *)&plumb_RequestRecordType) < 0) {
        Py_DECREF(&plumb_RequestRecordType);
        return -1;
    }
    return 0;
}
