/* plumb._plumb.RequestPath: plumb.monitor's Agent.begin and Agent.end, the
 * two calls every monitored request makes, in C (each Python call on this
 * path costs about a thousand instructions; docs/benchmarks.md).  The
 * Agent owns one per process (made again in a forked child) and binds its
 * begin and end to this object's.
 *
 * The common case is done here: the record made and made current in
 * plumb.web.trace's context variable, the thread tagged, the transaction's
 * index found in the agent's names, its minute recorded in the agent's
 * Metrics through Metrics.record's own C function, the ended request
 * remembered for its samples.  The rare cases call the Agent's Python
 * methods: its first request (_start), a name not indexed yet (_index,
 * under its lock, folding past max_transactions), a failed request's
 * class (_count_error), an X-Ray session's request (_in_session), one
 * over its trace threshold (_consider), the finished cap (_drop).  An
 * exception while ending is handed to _record_failed (counted and
 * logged), never raised: measuring never fails a request.
 *
 * The containers it is given (running, finished, names, name_list, limits)
 * are held: the Agent mutates them and never rebinds them.  What the Agent
 * rebinds (sampler, xray_by_name, _started) is read from its __dict__ on
 * each request.  All of it runs with the GIL held, as the Python did. */
#include "compat.h"

#include <math.h>
#include <stddef.h>

#include <structmember.h>

#include "current_trace.h"
#include "fast_args.h"
#include "metrics_object.h"
#include "py_clocks.h"
#include "request_record.h"
#include "sampler/thread_tags.h"

extern PyTypeObject plumb_MetricsType;

/* Transactions' indices remembered by their name object's address. */
#define INDEX_CACHE_SLOTS 64

typedef struct RequestPathObject {
    PyObject_HEAD
    PyObject *agent;        /* for the rare cases' methods */
    PyObject *agent_dict;   /* its __dict__: what it rebinds is read there */
    PyObject *var;          /* plumb.web.trace's context variable */
    PyObject *metrics;      /* a plumb._plumb.Metrics */
    PyObject *running;      /* tag -> record of a request running now */
    PyObject *finished;     /* tag -> (name, kind, its end) */
    PyObject *names;        /* (name, kind) -> index */
    PyObject *name_list;    /* index -> (name, kind) */
    PyObject *limits;       /* index -> (apdex T in us, trace threshold in s) */
    PyObject *sql_params;
    PyObject *clock;        /* NULL: time.perf_counter itself, read in C; else a callable */
    Py_ssize_t max_finished;
    int threads_shared;     /* set by the agent: greenlets share threads, so in_thread is
                             * not taken (current_trace.c) */
    uint64_t last_tag;      /* tags count from 1 in each process */
    Py_ssize_t index_cache[INDEX_CACHE_SLOTS];   /* see transaction_index; -1: empty */
} RequestPathObject;

static PyObject *str_empty, *str_started_attr, *str_sampler, *str_xray_by_name,
    *str_finished_over_cap, *str_start, *str_index, *str_count_error, *str_in_session,
    *str_consider, *str_drop, *str_record_failed, *int_500;

static PyObject *or_none(PyObject *v)
{
    return v ? v : Py_None;
}

static int read_clock(RequestPathObject *self, double *out)
{
    if (!self->clock) {
        *out = plumb_py_perf_counter();
        return 0;
    }
    PyObject *now = PyObject_CallNoArgs(self->clock);
    if (!now)
        return -1;
    *out = PyFloat_AsDouble(now);
    Py_DECREF(now);
    return *out == -1.0 && PyErr_Occurred() ? -1 : 0;
}

/* An attribute the Agent rebinds, borrowed from its __dict__. */
static PyObject *agent_attr(RequestPathObject *self, PyObject *name)
{
    PyObject *v = PyDict_GetItemWithError(self->agent_dict, name);
    if (!v && !PyErr_Occurred())
        PyErr_Format(PyExc_AttributeError, "the agent has no attribute %R", name);
    return v;
}

/* agent.method(*argv): 0, or -1 with its exception. */
static int call_agent(RequestPathObject *self, PyObject *method, PyObject **argv, size_t argc)
{
    PyObject *stack[8];
    stack[0] = self->agent;
    for (size_t i = 0; i < argc; i++)
        stack[i + 1] = argv[i];
    PyObject *r = PyObject_VectorcallMethod(method, stack, argc + 1, NULL);
    Py_XDECREF(r);
    return r ? 0 : -1;
}

/* -- begin ------------------------------------------------------------------------- */

/* begin(kind, name, method="", path="", query="", queue_s=None, tag_thread=True,
 *       in_thread=False) */
static PyObject *path_begin(RequestPathObject *self, PyObject *const *args, Py_ssize_t nargs,
                            PyObject *kwnames)
{
    static const char *const names[] = {"kind", "name", "method", "path", "query", "queue_s",
                                        "tag_thread", "in_thread"};
    PyObject *a[8] = {NULL, NULL, str_empty, str_empty, str_empty, Py_None, Py_True, Py_False};
    if (plumb_fast_args("begin", args, nargs, kwnames, names, 8, 2, a) < 0)
        return NULL;
    PyObject *started_flag = PyDict_GetItemWithError(self->agent_dict, str_started_attr);
    if (started_flag != Py_True) {          /* its first request (in this process) */
        if (PyErr_Occurred() || call_agent(self, str_start, NULL, 0) < 0)
            return NULL;
    }
    int tag_thread = PyObject_IsTrue(a[6]);
    int in_thread = tag_thread < 0 ? -1 : PyObject_IsTrue(a[7]);
    if (in_thread < 0)
        return NULL;
    uint64_t tag_value = ++self->last_tag;
    PyObject *tag = PyLong_FromUnsignedLongLong(tag_value);
    if (!tag)
        return NULL;
    double wall_start = plumb_py_time(), started;
    RequestRecordObject *record = NULL;
    if (read_clock(self, &started) == 0)
        record = plumb_request_record_new(tag, a[0], a[1], a[2], a[3], a[4], a[5],
                                          self->sql_params, wall_start, started);
    Py_DECREF(tag);
    if (!record)
        return NULL;
    if (PyDict_SetItem(self->running, record->tag, (PyObject *)record) < 0)
        goto fail;
    if (tag_thread) {
        record->thread = PyThread_get_thread_ident();
        record->thread_tagged = 1;
        record->previous_tag = plumb_thread_tag_set(tag_value);
    }
    if (in_thread && !self->threads_shared) {
        /* No context variable set and reset: see current_trace.c. */
        plumb_record_enter_thread(record);
        return (PyObject *)record;
    }
    PyObject *token = PyContextVar_Set(self->var, (PyObject *)record);
    if (!token)
        goto fail;
    Py_SETREF(record->token, token);
    return (PyObject *)record;
fail:
    Py_DECREF(record);
    return NULL;
}

/* -- end: its steps ---------------------------------------------------------------- */

/* plumb.web.trace.deactivate(token) */
static int deactivate(RequestPathObject *self, PyObject *token)
{
    if (PyContextVar_Reset(self->var, or_none(token)) == 0)
        return 0;
    if (!PyErr_ExceptionMatches(PyExc_ValueError))
        return -1;
    PyErr_Clear();      /* ended in another context (a server closing a body elsewhere) */
    PyObject *t = PyContextVar_Set(self->var, Py_None);
    Py_XDECREF(t);
    return t ? 0 : -1;
}

/* The thread's tag as it was before the request, if it ends in the thread
 * begin() tagged. */
static void restore_thread_tag(RequestRecordObject *record)
{
    if (record->thread_tagged && record->thread == PyThread_get_thread_ident())
        plumb_thread_tag_set(record->previous_tag);
}

/* running.pop(tag, None) */
static int forget_running(RequestPathObject *self, PyObject *tag)
{
    if (PyDict_DelItem(self->running, tag) == 0)
        return 0;
    if (!PyErr_ExceptionMatches(PyExc_KeyError))
        return -1;
    PyErr_Clear();
    return 0;
}

static PyObject *indexed(RequestPathObject *self, PyObject *name, PyObject *kind);

/* The transaction's index (a new reference): the agent's names, else its
 * _index(name, kind), which adds it or folds it. */
static PyObject *transaction_index(RequestPathObject *self, PyObject *name, PyObject *kind)
{
    /* A view's name is the same string object on each of its requests, the
     * one the agent's name_list keeps from the first: an entry of
     * name_list holding these very objects is their index (both are
     * append-only, and names maps each pair to its entry), without the key
     * tuple, its hash and the lookup.  The slot holds an index only, checked
     * against name_list's own references, so a freed name cannot be taken
     * for a new one at its address. */
    size_t slot = ((uintptr_t)name >> 4) % INDEX_CACHE_SLOTS;
    Py_ssize_t cached = self->index_cache[slot];
    if (cached >= 0 && cached < PyList_GET_SIZE(self->name_list)) {
        PyObject *pair = PyList_GET_ITEM(self->name_list, cached);
        if (PyTuple_CheckExact(pair) && PyTuple_GET_SIZE(pair) == 2
            && PyTuple_GET_ITEM(pair, 0) == name && PyTuple_GET_ITEM(pair, 1) == kind)
            return PyLong_FromSsize_t(cached);
    }
    PyObject *index = indexed(self, name, kind);
    if (index) {
        Py_ssize_t i = PyLong_AsSsize_t(index);
        if (i == -1 && PyErr_Occurred())
            PyErr_Clear();      /* not an index: end_request says so */
        else
            self->index_cache[slot] = i;
    }
    return index;
}

/* The transaction's index by the agent's names, or its _index. */
static PyObject *indexed(RequestPathObject *self, PyObject *name, PyObject *kind)
{
    PyObject *key = PyTuple_Pack(2, name, kind);
    if (!key)
        return NULL;
    PyObject *index = PyDict_GetItemWithError(self->names, key);
    Py_DECREF(key);
    if (index) {
        Py_INCREF(index);
        return index;
    }
    if (PyErr_Occurred())
        return NULL;
    PyObject *stack[] = {self->agent, name, kind};
    return PyObject_VectorcallMethod(str_index, stack, 3, NULL);
}

/* list[index] as a pair (borrowed items), or -1 with IndexError/ValueError. */
static int pair_at(PyObject *list, Py_ssize_t index, PyObject **first, PyObject **second)
{
    if (index < 0 || index >= PyList_GET_SIZE(list)) {
        PyErr_Format(PyExc_IndexError, "transaction %zd is not indexed", index);
        return -1;
    }
    PyObject *pair = PyList_GET_ITEM(list, index);
    if (!PyTuple_Check(pair) || PyTuple_GET_SIZE(pair) != 2) {
        PyErr_SetString(PyExc_ValueError, "a transaction's entry is not a pair");
        return -1;
    }
    *first = PyTuple_GET_ITEM(pair, 0);
    *second = PyTuple_GET_ITEM(pair, 1);
    return 0;
}

/* int(x) of a float as Python takes it (toward zero), in long long's
 * range: 0, or -1 with ValueError. */
static int whole(double x, long long *out)
{
    if (!isfinite(x) || fabs(x) >= 9.2e18) {
        PyErr_SetString(PyExc_ValueError, "a time plumb cannot record (not finite, or too large)");
        return -1;
    }
    *out = (long long)x;
    return 0;
}

/* Seconds as whole microseconds, rounded (truncating would turn 0.2 ms
 * into 199 us). */
static int microseconds(double seconds, long long *out)
{
    return whole(seconds * 1e6 + 0.5, out);
}

/* The minute the request ended in: int(wall_start + seconds) // 60 * 60. */
static int minute_of(double wall_end, long long *out)
{
    long long s;
    if (whole(wall_end, &s) < 0)
        return -1;
    long long q = s / 60;
    if (s % 60 != 0 && s < 0)
        q--;
    *out = q * 60;
    return 0;
}

/* A Python int made once, when first needed (the rare cases want them). */
static PyObject *lazy_long(PyObject **slot, long long v)
{
    if (!*slot)
        *slot = PyLong_FromLongLong(v);
    return *slot;
}

static PyObject *lazy_float(PyObject **slot, double v)
{
    if (!*slot)
        *slot = PyFloat_FromDouble(v);
    return *slot;
}

/* -- end --------------------------------------------------------------------------- */

typedef struct ending {
    RequestRecordObject *record;
    PyObject *status;
    double ended, seconds;
    PyObject *name, *kind;      /* the transaction's, as indexed (owned) */
    PyObject *index, *minute_obj, *seconds_obj;   /* owned, made when needed */
    long long minute;
    long long v[PLUMB_METRICS_RECORD_VALUES];    /* Metrics.record's values */
} ending;

/* The measures _in_session records again under the session. */
static PyObject *measures_tuple(const long long *v)
{
    return Py_BuildValue("(LLLLLLLLLL)", v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9], v[10],
                         v[11]);
}

/* Remembered for the samples that may reach the next harvest after it;
 * past the cap counted.  Without a sampler there are none. */
static int remember_finished(RequestPathObject *self, ending *e)
{
    PyObject *sampler = agent_attr(self, str_sampler);
    if (!sampler)
        return -1;
    if (sampler == Py_None)
        return 0;
    if (PyDict_GET_SIZE(self->finished) >= self->max_finished)
        return call_agent(self, str_drop, &str_finished_over_cap, 1);
    PyObject *owner = Py_BuildValue("(OOd)", e->name, e->kind, e->ended);
    int rc = owner ? PyDict_SetItem(self->finished, e->record->tag, owner) : -1;
    Py_XDECREF(owner);
    return rc;
}

/* An X-Ray session of its transaction, or a trace over its threshold. */
static int keep_trace(RequestPathObject *self, ending *e, double threshold)
{
    PyObject *xrays = agent_attr(self, str_xray_by_name);
    if (!xrays)
        return -1;
    if (!PyDict_Check(xrays)) {
        PyErr_SetString(PyExc_TypeError, "the agent's xray_by_name is not a dict");
        return -1;
    }
    PyObject *xray = NULL;
    if (PyDict_GET_SIZE(xrays)) {
        xray = PyDict_GetItemWithError(xrays, e->name);
        if (!xray && PyErr_Occurred())
            return -1;
    }
    if (!lazy_float(&e->seconds_obj, e->seconds) || !lazy_long(&e->minute_obj, e->minute))
        return -1;
    if (xray && xray != Py_None) {
        Py_INCREF(xray);
        PyObject *measures = measures_tuple(e->v);
        int rc = -1;
        if (measures) {
            PyObject *argv[] = {xray, (PyObject *)e->record, e->seconds_obj, e->minute_obj,
                                e->name, e->kind, measures};
            rc = call_agent(self, str_in_session, argv, 7);
            Py_DECREF(measures);
        }
        Py_DECREF(xray);
        return rc;
    }
    if (e->seconds >= threshold) {
        PyObject *argv[] = {(PyObject *)e->record, e->seconds_obj, e->minute_obj, e->name,
                            e->kind};
        return call_agent(self, str_consider, argv, 5);
    }
    return 0;
}

/* Everything end() does after reading the clock: 0, or -1 with an exception. */
static int end_request(RequestPathObject *self, ending *e)
{
    RequestRecordObject *record = e->record;
    restore_thread_tag(record);
    record->ended = 1;
    if (record->in_thread)
        plumb_record_leave_thread(record);
    else if (deactivate(self, record->token) < 0)
        return -1;
    if (forget_running(self, or_none(record->tag)) < 0)
        return -1;
    Py_INCREF(e->status);
    Py_XSETREF(record->status, e->status);
    e->index = transaction_index(self, or_none(record->name), or_none(record->kind));
    if (!e->index)
        return -1;
    Py_ssize_t index = PyLong_AsSsize_t(e->index);
    PyObject *name, *kind, *apdex, *threshold_obj;
    if ((index == -1 && PyErr_Occurred()) || pair_at(self->name_list, index, &name, &kind) < 0
        || pair_at(self->limits, index, &apdex, &threshold_obj) < 0)
        return -1;
    Py_INCREF(name);
    Py_INCREF(kind);
    e->name = name;
    e->kind = kind;
    long long apdex_us = PyLong_AsLongLong(apdex);
    double threshold = PyFloat_AsDouble(threshold_obj);
    if (PyErr_Occurred() || minute_of(record->wall_start + e->seconds, &e->minute) < 0)
        return -1;
    int error = record->error && record->error != Py_None;
    if (!error && e->status != Py_None) {
        error = PyObject_RichCompareBool(e->status, int_500, Py_GE);
        if (error < 0)
            return -1;
    }
    if (error) {
        if (!lazy_long(&e->minute_obj, e->minute))
            return -1;
        PyObject *argv[] = {e->minute_obj, e->index, (PyObject *)record, e->status};
        if (call_agent(self, str_count_error, argv, 4) < 0)
            return -1;
    }
    long long *v = e->v;
    v[0] = e->minute;
    v[1] = index;
    v[3] = error;
    v[4] = apdex_us;
    v[5] = -1;
    v[7] = record->sql_n;
    v[9] = record->template_n;
    v[11] = record->http_n;
    if (record->queue_s && record->queue_s != Py_None) {
        double queue_s = PyFloat_AsDouble(record->queue_s);
        if ((queue_s == -1.0 && PyErr_Occurred()) || microseconds(queue_s, &v[5]) < 0)
            return -1;
    }
    if (microseconds(e->seconds, &v[2]) < 0 || microseconds(record->sql_s, &v[6]) < 0
        || microseconds(record->template_s, &v[8]) < 0
        || microseconds(record->http_s, &v[10]) < 0)
        return -1;
    if (plumb_metrics_object_record(self->metrics, v) < 0 || remember_finished(self, e) < 0)
        return -1;
    return keep_trace(self, e, threshold);
}

/* An exception while ending: counted and logged by the agent, not raised. */
static void record_failed(RequestPathObject *self)
{
    PyObject *exc = plumb_error_take();
    if (exc && call_agent(self, str_record_failed, &exc, 1) < 0)
        PyErr_WriteUnraisable(self->agent);
    Py_XDECREF(exc);
}

/* end(record, status=None): the request of record ends (its body sent, or
 * it raised). */
static PyObject *path_end(RequestPathObject *self, PyObject *const *args, Py_ssize_t nargs,
                          PyObject *kwnames)
{
    static const char *const names[] = {"record", "status"};
    PyObject *a[2] = {NULL, Py_None};
    if (plumb_fast_args("end", args, nargs, kwnames, names, 2, 1, a) < 0)
        return NULL;
    if (!Py_IS_TYPE(a[0], &plumb_RequestRecordType)) {
        PyErr_Format(PyExc_TypeError, "end() takes the RequestRecord begin() made, not %.100s",
                     Py_TYPE(a[0])->tp_name);
        return NULL;
    }
    ending e = {.record = (RequestRecordObject *)a[0], .status = a[1]};
    if (read_clock(self, &e.ended) < 0)
        return NULL;
    e.seconds = e.ended - e.record->started;
    int rc = end_request(self, &e);
    Py_XDECREF(e.name);
    Py_XDECREF(e.kind);
    Py_XDECREF(e.index);
    Py_XDECREF(e.minute_obj);
    Py_XDECREF(e.seconds_obj);
    if (rc < 0) {
        if (!PyErr_ExceptionMatches(PyExc_Exception))
            return NULL;        /* KeyboardInterrupt, SystemExit: not plumb's to swallow */
        record_failed(self);
    }
    Py_RETURN_NONE;
}

/* -- the object -------------------------------------------------------------------- */

static PyObject *path_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"agent", "var", "metrics", "running", "finished", "names",
                             "name_list", "limits", "max_finished", "sql_params", "clock", NULL};
    PyObject *agent, *var, *metrics, *running, *finished, *names, *name_list, *limits,
        *sql_params, *clock;
    Py_ssize_t max_finished;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "OO!O!O!O!O!O!O!nOO:RequestPath", kwlist,
                                     &agent, &PyContextVar_Type, &var, &plumb_MetricsType,
                                     &metrics, &PyDict_Type, &running, &PyDict_Type, &finished,
                                     &PyDict_Type, &names, &PyList_Type, &name_list, &PyList_Type,
                                     &limits, &max_finished, &sql_params, &clock))
        return NULL;
    PyObject *agent_dict = PyObject_GetAttrString(agent, "__dict__");
    if (!agent_dict)
        return NULL;
    if (!PyDict_Check(agent_dict)) {
        Py_DECREF(agent_dict);
        PyErr_SetString(PyExc_TypeError, "RequestPath: the agent's __dict__ is not a dict");
        return NULL;
    }
    /* time.perf_counter itself is read here, in C; any other clock (a
     * test's) is called. */
    PyObject *time = PyImport_ImportModule("time");
    PyObject *perf_counter = time ? PyObject_GetAttrString(time, "perf_counter") : NULL;
    Py_XDECREF(time);
    if (!perf_counter) {
        Py_DECREF(agent_dict);
        return NULL;
    }
    int own_clock = clock == perf_counter;
    Py_DECREF(perf_counter);
    if (!own_clock && !PyCallable_Check(clock)) {
        Py_DECREF(agent_dict);
        PyErr_SetString(PyExc_TypeError, "RequestPath: clock must be callable");
        return NULL;
    }
    RequestPathObject *self = (RequestPathObject *)type->tp_alloc(type, 0);
    if (!self) {
        Py_DECREF(agent_dict);
        return NULL;
    }
    PyObject **fields[] = {&self->agent, &self->var, &self->metrics, &self->running,
                           &self->finished, &self->names, &self->name_list, &self->limits,
                           &self->sql_params};
    PyObject *values[] = {agent, var, metrics, running, finished, names, name_list, limits,
                          sql_params};
    for (size_t i = 0; i < sizeof fields / sizeof *fields; i++) {
        Py_INCREF(values[i]);
        *fields[i] = values[i];
    }
    self->agent_dict = agent_dict;
    if (!own_clock) {
        Py_INCREF(clock);
        self->clock = clock;
    }
    self->max_finished = max_finished;
    for (size_t i = 0; i < INDEX_CACHE_SLOTS; i++)
        self->index_cache[i] = -1;
    return (PyObject *)self;
}

static int path_traverse(RequestPathObject *self, visitproc visit, void *arg)
{
    Py_VISIT(self->agent);
    Py_VISIT(self->agent_dict);
    Py_VISIT(self->var);
    Py_VISIT(self->metrics);
    Py_VISIT(self->running);
    Py_VISIT(self->finished);
    Py_VISIT(self->names);
    Py_VISIT(self->name_list);
    Py_VISIT(self->limits);
    Py_VISIT(self->sql_params);
    Py_VISIT(self->clock);
    return 0;
}

static int path_clear(RequestPathObject *self)
{
    Py_CLEAR(self->agent);
    Py_CLEAR(self->agent_dict);
    Py_CLEAR(self->var);
    Py_CLEAR(self->metrics);
    Py_CLEAR(self->running);
    Py_CLEAR(self->finished);
    Py_CLEAR(self->names);
    Py_CLEAR(self->name_list);
    Py_CLEAR(self->limits);
    Py_CLEAR(self->sql_params);
    Py_CLEAR(self->clock);
    return 0;
}

static void path_dealloc(RequestPathObject *self)
{
    PyObject_GC_UnTrack(self);
    path_clear(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *path_cleared_error(void)
{
    PyErr_SetString(PyExc_RuntimeError, "RequestPath: cleared by the garbage collector");
    return NULL;
}

static PyObject *path_begin_checked(RequestPathObject *self, PyObject *const *args,
                                    Py_ssize_t nargs, PyObject *kwnames)
{
    return self->agent ? path_begin(self, args, nargs, kwnames) : path_cleared_error();
}

static PyObject *path_end_checked(RequestPathObject *self, PyObject *const *args,
                                  Py_ssize_t nargs, PyObject *kwnames)
{
    return self->agent ? path_end(self, args, nargs, kwnames) : path_cleared_error();
}

static PyMemberDef path_members[] = {
    {"threads_shared", T_INT, offsetof(RequestPathObject, threads_shared), 0,
     "Nonzero: greenlets share this process's threads, and begin() keeps every record in\n"
     "the context variable, in_thread or not."},
    {NULL, 0, 0, 0, NULL},
};

static PyMethodDef path_methods[] = {
    {"begin", (PyCFunction)(void (*)(void))path_begin_checked, METH_FASTCALL | METH_KEYWORDS,
     "begin(kind, name, method=\"\", path=\"\", query=\"\", queue_s=None, tag_thread=True,\n"
     "      in_thread=False)\n\n"
     "A request (kind \"web\") or background task starts in this thread: its RequestRecord,\n"
     "current in plumb.web.trace's context variable (in_thread=True: in this thread, for a\n"
     "request that ends in it); tag_thread=False: the caller tags the steps itself (asyncio)."},
    {"end", (PyCFunction)(void (*)(void))path_end_checked, METH_FASTCALL | METH_KEYWORDS,
     "end(record, status=None): the request of record ends (its body sent, or it raised).\n"
     "Never raises for what goes wrong in measuring: that is counted (record_failed)."},
    {NULL, NULL, 0, NULL},
};

PyTypeObject plumb_RequestPathType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "plumb._plumb.RequestPath",
    .tp_basicsize = sizeof(RequestPathObject),
    .tp_dealloc = (destructor)path_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "RequestPath(agent, var, metrics, running, finished, names, name_list, limits,\n"
              "            max_finished, sql_params, clock)\n\n"
              "plumb.monitor.agent.Agent's begin() and end() in C, over the agent's own state;\n"
              "its rare cases call the agent's methods.",
    .tp_traverse = (traverseproc)path_traverse,
    .tp_clear = (inquiry)path_clear,
    .tp_methods = path_methods,
    .tp_members = path_members,
    .tp_new = path_new,
};

int plumb_module_add_request_path(PyObject *module)
{
    struct {
        PyObject **slot;
        const char *text;
    } strings[] = {
        {&str_empty, ""},
        {&str_started_attr, "_started"},
        {&str_sampler, "sampler"},
        {&str_xray_by_name, "xray_by_name"},
        {&str_finished_over_cap, "finished_over_cap"},
        {&str_start, "_start"},
        {&str_index, "_index"},
        {&str_count_error, "_count_error"},
        {&str_in_session, "_in_session"},
        {&str_consider, "_consider"},
        {&str_drop, "_drop"},
        {&str_record_failed, "_record_failed"},
    };
    for (size_t i = 0; i < sizeof strings / sizeof *strings; i++)
        if (!(*strings[i].slot = PyUnicode_InternFromString(strings[i].text)))
            return -1;
    if (!(int_500 = PyLong_FromLong(500)) || PyType_Ready(&plumb_RequestPathType) < 0)
        return -1;
    Py_INCREF(&plumb_RequestPathType);
    if (PyModule_AddObject(module, "RequestPath", (PyObject *)&plumb_RequestPathType) < 0) {
        Py_DECREF(&plumb_RequestPathType);
        return -1;
    }
    return 0;
}
