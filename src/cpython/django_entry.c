/* plumb._plumb.DjangoRequestEntry: MonitoringMiddleware's call for a
 * synchronous Django stack (plumb/contrib/django/monitoring.py), in C:
 * every request of a monitored site goes through it, and its Python
 * version was three frames a request (the middleware's __call__, the
 * close hook's maker and the hook), about a thousand instructions each.
 *
 * DjangoRequestEntry(agent, get_response, name_by_match, exception_name,
 * from_environ, unmatched, *, in_thread=False), called with the request:
 * - begins the request's record (agent.begin, read from the agent on each
 *   call: a forked worker's agent binds a new one), current in the thread
 *   with in_thread (current_trace.c), else in the context variable; with
 *   its queue time
 *   from_environ(META, time()) only when a proxy's header is there; a
 *   begin that fails is handed to agent._record_failed (counted, logged)
 *   and the request served unmeasured;
 * - calls get_response(request); an exception from it ends the record as a
 *   500 (its class by exception_name, unless the view already named one)
 *   and is raised again;
 * - otherwise makes the response's close end the record (a ResponseEnd in
 *   response.close), so that a streaming body is measured to its last
 *   chunk.  A response whose close cannot be replaced ends the record now.
 * A record its view's wrapper did not name (a middleware answered first) is
 * named by name_by_match(request, record) at its end.  Ending never fails
 * the request: an Exception while ending is dropped (agent.end itself
 * counts and logs its own).  So the only exceptions it raises are
 * get_response's, which Django's wrapper of the next middleware has already
 * turned into responses when they were Exceptions: handler.py puts it in
 * the chain without a wrapper of Django's (a Python frame less). */
#include "compat.h"

#include <stddef.h>

#include "py_clocks.h"

typedef struct EntryObject {
    PyObject_HEAD
    vectorcallfunc vectorcall;
    PyObject *agent, *get_response, *name_by_match, *exception_name, *from_environ, *unmatched;
    PyObject *in_thread;    /* True: begin makes the record current in the thread */
} EntryObject;

/* The response's close, replaced: the original's call, then the request's
 * end, once. */
typedef struct ResponseEndObject {
    PyObject_HEAD
    vectorcallfunc vectorcall;
    EntryObject *entry;
    PyObject *close;
    PyObject *record, *request, *response;    /* NULL once ended */
} ResponseEndObject;

static PyTypeObject ResponseEndType;
static PyObject *response_end_vectorcall(PyObject *callable, PyObject *const *args,
                                         size_t nargsf, PyObject *kwnames);

static PyObject *str_web, *str_empty, *str_meta, *str_method, *str_path_info, *str_query_string,
    *str_request_start, *str_queue_start, *str_get, *str_begin, *str_end, *str_error, *str_close,
    *str_status_code, *str_name, *str_record_failed, *int_500;

/* An error while ending, dropped if it is an Exception; a KeyboardInterrupt
 * or SystemExit replaces *exc (raised instead, as Python's wrapper would). */
static void settle(PyObject **exc)
{
    if (!PyErr_Occurred())
        return;
    if (PyErr_ExceptionMatches(PyExc_Exception)) {
        PyErr_Clear();
        return;
    }
    Py_XSETREF(*exc, plumb_error_take());
}

static int meta_has(PyObject *meta, PyObject *key)
{
    return PyDict_CheckExact(meta) ? PyDict_Contains(meta, key) : PySequence_Contains(meta, key);
}

/* meta.get(key, "") as a new reference. */
static PyObject *meta_get(PyObject *meta, PyObject *key)
{
    if (PyDict_CheckExact(meta)) {
        PyObject *v = PyDict_GetItemWithError(meta, key);
        if (!v && PyErr_Occurred())
            return NULL;
        return Py_NewRef(v ? v : str_empty);
    }
    PyObject *stack[] = {meta, key, str_empty};
    return PyObject_VectorcallMethod(str_get, stack, 3, NULL);
}

/* The queue time from the proxy's header, or None when it set none. */
static PyObject *queue_time(EntryObject *self, PyObject *meta)
{
    int has = meta_has(meta, str_request_start);
    if (has == 0)
        has = meta_has(meta, str_queue_start);
    if (has <= 0)
        return has < 0 ? NULL : Py_NewRef(Py_None);
    PyObject *now = PyFloat_FromDouble(plumb_py_time());
    if (!now)
        return NULL;
    PyObject *queued = PyObject_CallFunctionObjArgs(self->from_environ, meta, now, NULL);
    Py_DECREF(now);
    return queued;
}

/* agent.begin("web", unmatched, request.method or "", request.path_info,
 * META.get("QUERY_STRING", ""), queued, True, in_thread): the record, a new
 * reference. */
static PyObject *begin_request(EntryObject *self, PyObject *request)
{
    PyObject *record = NULL, *method = NULL, *path = NULL, *query = NULL, *queued = NULL,
             *begin = NULL;
    PyObject *meta = PyObject_GetAttr(request, str_meta);
    if (!meta || !(queued = queue_time(self, meta))
        || !(method = PyObject_GetAttr(request, str_method)))
        goto done;
    int named = PyObject_IsTrue(method);
    if (named < 0)
        goto done;
    if (!named)
        Py_SETREF(method, Py_NewRef(str_empty));
    if (!(path = PyObject_GetAttr(request, str_path_info)) || !(query = meta_get(meta, str_query_string))
        || !(begin = PyObject_GetAttr(self->agent, str_begin)))
        goto done;
    PyObject *stack[] = {str_web, self->unmatched, method, path, query, queued, Py_True,
                         self->in_thread};
    record = PyObject_Vectorcall(begin, stack, 8, NULL);
done:
    Py_XDECREF(meta);
    Py_XDECREF(queued);
    Py_XDECREF(method);
    Py_XDECREF(path);
    Py_XDECREF(query);
    Py_XDECREF(begin);
    return record;
}

/* The record named by its URL's match if its view did not name it, then
 * agent.end(record, status): 0, or -1 with an exception. */
static int end_request(EntryObject *self, PyObject *request, PyObject *record, PyObject *status)
{
    PyObject *name = PyObject_GetAttr(record, str_name);
    if (!name)
        return -1;
    int unnamed = PyObject_RichCompareBool(name, self->unmatched, Py_EQ);
    Py_DECREF(name);
    if (unnamed < 0)
        return -1;
    if (unnamed) {
        PyObject *r = PyObject_CallFunctionObjArgs(self->name_by_match, request, record, NULL);
        if (!r)
            return -1;
        Py_DECREF(r);
    }
    PyObject *end = PyObject_GetAttr(self->agent, str_end);
    if (!end)
        return -1;
    PyObject *stack[] = {record, status};
    PyObject *r = PyObject_Vectorcall(end, stack, 2, NULL);
    Py_DECREF(end);
    Py_XDECREF(r);
    return r ? 0 : -1;
}

/* record.error = record.error or exception_name(exc); the end as a 500. */
static int end_failed(EntryObject *self, PyObject *request, PyObject *record, PyObject *exc)
{
    PyObject *error = PyObject_GetAttr(record, str_error);
    if (!error)
        return -1;
    int has = PyObject_IsTrue(error);
    Py_DECREF(error);
    if (has < 0)
        return -1;
    if (!has) {
        PyObject *name = PyObject_CallOneArg(self->exception_name, exc ? exc : Py_None);
        int rc = name ? PyObject_SetAttr(record, str_error, name) : -1;
        Py_XDECREF(name);
        if (rc < 0)
            return -1;
    }
    return end_request(self, request, record, int_500);
}

/* response.close replaced by a ResponseEnd; a response whose close cannot
 * be is ended now.  0, or -1 with an exception that is not an Exception. */
static int end_on_close(EntryObject *self, PyObject *request, PyObject *record,
                        PyObject *response)
{
    PyObject *close = PyObject_GetAttr(response, str_close);
    ResponseEndObject *hook = close ? PyObject_GC_New(ResponseEndObject, &ResponseEndType) : NULL;
    if (!hook) {
        Py_XDECREF(close);
    } else {
        hook->vectorcall = response_end_vectorcall;
        hook->entry = (EntryObject *)Py_NewRef(self);
        hook->close = close;
        hook->record = Py_NewRef(record);
        hook->request = Py_NewRef(request);
        hook->response = Py_NewRef(response);
        PyObject_GC_Track(hook);
        int rc = PyObject_SetAttr(response, str_close, (PyObject *)hook);
        Py_DECREF(hook);
        if (rc == 0)
            return 0;
    }
    PyObject *exc = NULL;
    settle(&exc);
    if (exc) {
        plumb_error_put(exc);
        return -1;
    }
    PyObject *status = PyObject_GetAttr(response, str_status_code);
    if (!status) {
        PyErr_Clear();
        status = Py_NewRef(Py_None);
    }
    int rc = end_request(self, request, record, status);
    Py_DECREF(status);
    if (rc < 0) {
        settle(&exc);
        if (exc) {
            plumb_error_put(exc);
            return -1;
        }
    }
    return 0;
}

static PyObject *entry_vectorcall(PyObject *callable, PyObject *const *args, size_t nargsf,
                                  PyObject *kwnames)
{
    EntryObject *self = (EntryObject *)callable;
    if (PyVectorcall_NARGS(nargsf) != 1 || (kwnames && PyTuple_GET_SIZE(kwnames))) {
        PyErr_SetString(PyExc_TypeError, "the monitoring middleware is called with the request");
        return NULL;
    }
    PyObject *request = args[0];
    PyObject *record = begin_request(self, request);
    if (!record) {
        if (!PyErr_ExceptionMatches(PyExc_Exception))
            return NULL;
        /* Measuring never fails the request: counted and logged by the
         * agent, and the request served unmeasured. */
        PyObject *exc = plumb_error_take();
        PyObject *r = PyObject_CallMethodOneArg(self->agent, str_record_failed, exc);
        Py_XDECREF(r);
        Py_DECREF(exc);
        PyErr_Clear();
        return PyObject_Vectorcall(self->get_response, args, nargsf, NULL);
    }
    PyObject *response = PyObject_Vectorcall(self->get_response, args, nargsf, NULL);
    if (!response) {
        PyObject *exc = plumb_error_take();
        if (end_failed(self, request, record, exc) < 0)
            settle(&exc);
        Py_DECREF(record);
        plumb_error_put(exc);
        return NULL;
    }
    int rc = end_on_close(self, request, record, response);
    Py_DECREF(record);
    if (rc < 0)
        Py_CLEAR(response);
    return response;
}

/* -- the close hook ---------------------------------------------------------------- */

static PyObject *response_end_vectorcall(PyObject *callable, PyObject *const *args,
                                         size_t nargsf, PyObject *kwnames)
{
    ResponseEndObject *self = (ResponseEndObject *)callable;
    PyObject *result = PyObject_Vectorcall(self->close, args, nargsf, kwnames);
    PyObject *exc = result ? NULL : plumb_error_take();
    if (self->record) {     /* the first close ends the request */
        PyObject *record = self->record, *request = self->request, *response = self->response;
        self->record = self->request = self->response = NULL;
        /* The response held this hook and the hook the response: a cycle
         * only the cyclic collector would free, with the request and its
         * record (measured: 14 us of collection a request).  Closed, the
         * response has its class's close again. */
        if (PyObject_DelAttr(response, str_close) < 0)
            settle(&exc);
        PyObject *status = PyObject_GetAttr(response, str_status_code);
        if (!status) {
            settle(&exc);
            status = Py_NewRef(Py_None);
        }
        if (end_request(self->entry, request, record, status) < 0)
            settle(&exc);
        Py_DECREF(status);
        Py_DECREF(record);
        Py_DECREF(request);
        Py_DECREF(response);
    }
    if (exc) {
        Py_XDECREF(result);
        plumb_error_put(exc);
        return NULL;
    }
    return result;
}

static int response_end_traverse(ResponseEndObject *self, visitproc visit, void *arg)
{
    Py_VISIT(self->entry);
    Py_VISIT(self->close);
    Py_VISIT(self->record);
    Py_VISIT(self->request);
    Py_VISIT(self->response);
    return 0;
}

static int response_end_clear(ResponseEndObject *self)
{
    Py_CLEAR(self->entry);
    Py_CLEAR(self->close);
    Py_CLEAR(self->record);
    Py_CLEAR(self->request);
    Py_CLEAR(self->response);
    return 0;
}

static void response_end_dealloc(ResponseEndObject *self)
{
    PyObject_GC_UnTrack(self);
    response_end_clear(self);
    PyObject_GC_Del(self);
}

static PyObject *response_end_wrapped(ResponseEndObject *self, void *closure)
{
    (void)closure;
    return Py_NewRef(self->close ? self->close : Py_None);
}

static PyGetSetDef response_end_getset[] = {
    {"__wrapped__", (getter)response_end_wrapped, NULL, "The response's own close.", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyTypeObject ResponseEndType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "plumb._plumb.ResponseEnd",
    .tp_basicsize = sizeof(ResponseEndObject),
    .tp_dealloc = (destructor)response_end_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_HAVE_VECTORCALL,
    .tp_vectorcall_offset = offsetof(ResponseEndObject, vectorcall),
    .tp_call = PyVectorcall_Call,
    .tp_traverse = (traverseproc)response_end_traverse,
    .tp_clear = (inquiry)response_end_clear,
    .tp_getset = response_end_getset,
    .tp_doc = "A monitored response's close: its own, then its request's end (once).",
};

/* -- the entry's type -------------------------------------------------------------- */

static PyObject *entry_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"agent",        "get_response", "name_by_match", "exception_name",
                             "from_environ", "unmatched",    "in_thread",     NULL};
    PyObject *agent, *get_response, *name_by_match, *exception_name, *from_environ, *unmatched;
    int in_thread = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "OOOOOU|$p:DjangoRequestEntry", kwlist, &agent,
                                     &get_response, &name_by_match, &exception_name,
                                     &from_environ, &unmatched, &in_thread))
        return NULL;
    EntryObject *self = (EntryObject *)type->tp_alloc(type, 0);
    if (!self)
        return NULL;
    self->vectorcall = entry_vectorcall;
    self->agent = Py_NewRef(agent);
    self->get_response = Py_NewRef(get_response);
    self->name_by_match = Py_NewRef(name_by_match);
    self->exception_name = Py_NewRef(exception_name);
    self->from_environ = Py_NewRef(from_environ);
    self->unmatched = Py_NewRef(unmatched);
    self->in_thread = Py_NewRef(in_thread ? Py_True : Py_False);
    return (PyObject *)self;
}

static int entry_traverse(EntryObject *self, visitproc visit, void *arg)
{
    Py_VISIT(self->agent);
    Py_VISIT(self->get_response);
    Py_VISIT(self->name_by_match);
    Py_VISIT(self->exception_name);
    Py_VISIT(self->from_environ);
    return 0;
}

static int entry_clear(EntryObject *self)
{
    Py_CLEAR(self->agent);
    Py_CLEAR(self->get_response);
    Py_CLEAR(self->name_by_match);
    Py_CLEAR(self->exception_name);
    Py_CLEAR(self->from_environ);
    return 0;
}

static void entry_dealloc(EntryObject *self)
{
    PyObject_GC_UnTrack(self);
    entry_clear(self);
    Py_XDECREF(self->unmatched);
    Py_XDECREF(self->in_thread);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

/* end_failed(request, record, exc): the async middleware's (its begin and
 * call are Python's, awaiting). */
static PyObject *entry_end_failed(EntryObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 3) {
        PyErr_SetString(PyExc_TypeError, "end_failed(request, record, exc) takes 3 arguments");
        return NULL;
    }
    PyObject *exc = NULL;
    if (end_failed(self, args[0], args[1], args[2]) < 0) {
        settle(&exc);
        if (exc) {
            plumb_error_put(exc);
            return NULL;
        }
    }
    Py_RETURN_NONE;
}

/* end_on_close(request, record, response) -> response */
static PyObject *entry_end_on_close(EntryObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 3) {
        PyErr_SetString(PyExc_TypeError,
                        "end_on_close(request, record, response) takes 3 arguments");
        return NULL;
    }
    if (end_on_close(self, args[0], args[1], args[2]) < 0)
        return NULL;
    return Py_NewRef(args[2]);
}

static PyMethodDef entry_methods[] = {
    {"end_failed", (PyCFunction)(void (*)(void))entry_end_failed, METH_FASTCALL,
     "end_failed(request, record, exc): the request ended by exc, as a 500."},
    {"end_on_close", (PyCFunction)(void (*)(void))entry_end_on_close, METH_FASTCALL,
     "end_on_close(request, record, response) -> response, whose close ends the request."},
    {NULL, NULL, 0, NULL},
};

static PyObject *entry_wrapped(EntryObject *self, void *closure)
{
    (void)closure;
    return Py_NewRef(self->get_response ? self->get_response : Py_None);
}

static PyGetSetDef entry_getset[] = {
    {"__wrapped__", (getter)entry_wrapped, NULL, "The rest of the middleware chain.", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

PyTypeObject plumb_DjangoRequestEntryType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "plumb._plumb.DjangoRequestEntry",
    .tp_basicsize = sizeof(EntryObject),
    .tp_dealloc = (destructor)entry_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_HAVE_VECTORCALL,
    .tp_vectorcall_offset = offsetof(EntryObject, vectorcall),
    .tp_call = PyVectorcall_Call,
    .tp_traverse = (traverseproc)entry_traverse,
    .tp_clear = (inquiry)entry_clear,
    .tp_getset = entry_getset,
    .tp_methods = entry_methods,
    .tp_new = entry_new,
    .tp_doc = "DjangoRequestEntry(agent, get_response, name_by_match, exception_name,\n"
              "from_environ, unmatched, *, in_thread=False)\n\n"
              "The monitoring middleware's call for a synchronous stack: the request begun,\n"
              "get_response called, the request ended when its response closes.",
};

int plumb_module_add_django_entry(PyObject *module)
{
    if (!(str_web = PyUnicode_InternFromString("web"))
        || !(str_empty = PyUnicode_InternFromString(""))
        || !(str_meta = PyUnicode_InternFromString("META"))
        || !(str_method = PyUnicode_InternFromString("method"))
        || !(str_path_info = PyUnicode_InternFromString("path_info"))
        || !(str_query_string = PyUnicode_InternFromString("QUERY_STRING"))
        || !(str_request_start = PyUnicode_InternFromString("HTTP_X_REQUEST_START"))
        || !(str_queue_start = PyUnicode_InternFromString("HTTP_X_QUEUE_START"))
        || !(str_get = PyUnicode_InternFromString("get"))
        || !(str_begin = PyUnicode_InternFromString("begin"))
        || !(str_end = PyUnicode_InternFromString("end"))
        || !(str_error = PyUnicode_InternFromString("error"))
        || !(str_close = PyUnicode_InternFromString("close"))
        || !(str_status_code = PyUnicode_InternFromString("status_code"))
        || !(str_name = PyUnicode_InternFromString("name"))
        || !(str_record_failed = PyUnicode_InternFromString("_record_failed"))
        || !(int_500 = PyLong_FromLong(500)) || PyType_Ready(&ResponseEndType) < 0
        || PyType_Ready(&plumb_DjangoRequestEntryType) < 0)
        return -1;
    Py_INCREF(&plumb_DjangoRequestEntryType);
    if (PyModule_AddObject(module, "DjangoRequestEntry", (PyObject *)&plumb_DjangoRequestEntryType)
        < 0) {
        Py_DECREF(&plumb_DjangoRequestEntryType);
        return -1;
    }
    return 0;
}
