/* plumb._plumb.Metrics: production monitoring's per-transaction table
 * (model/metrics.h), recorded into inside every request and taken whole at
 * each harvest.
 *
 * No lock of its own: record and take run with the GIL held and call
 * nothing that could release it or run Python code while the table is
 * being changed, so calls from many threads are serialised by the GIL.
 * (A free-threaded build would need a critical section here; plumb does
 * not build for one.) */
#include "binding.h"

#include "errors.h"
#include "metrics_object.h"
#include "model/metrics.h"

typedef struct MetricsObject {
    PyObject_HEAD
    plumb_metrics table;
    int ready;
} MetricsObject;

static int metrics_init(MetricsObject *self, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"max_entries", NULL};
    long long max_entries = 100000;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "|L:Metrics", kwlist, &max_entries))
        return -1;
    if (max_entries < 1 || max_entries > PLUMB_METRICS_MAX_ENTRIES) {
        PyErr_Format(PyExc_ValueError, "max_entries must be between 1 and %lu, not %lld",
                     (unsigned long)PLUMB_METRICS_MAX_ENTRIES, max_entries);
        return -1;
    }
    if (self->ready)
        plumb_metrics_free(&self->table);
    self->ready = 0;
    int rc = plumb_metrics_init(&self->table, (uint32_t)max_entries);
    if (rc < 0) {
        plumb_raise(rc, "metrics", NULL, NULL);
        return -1;
    }
    self->ready = 1;
    return 0;
}

static void metrics_dealloc(MetricsObject *self)
{
    if (self->ready)
        plumb_metrics_free(&self->table);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static int check_ready(MetricsObject *self)
{
    if (self->ready)
        return 0;
    PyErr_SetString(PyExc_RuntimeError, "Metrics.__init__ was not called");
    return -1;
}

/* record()'s arguments, in order, with the ranges they may take. */
enum { RECORD_NARGS = PLUMB_METRICS_RECORD_VALUES };
static const struct {
    const char *name;
    long long low, high;
} record_args[RECORD_NARGS] = {
    {"minute", 0, (long long)(PLUMB_METRICS_MINUTE_LIMIT - 1)},
    {"txn", 0, (long long)UINT32_MAX - 1},
    {"duration_us", 0, LLONG_MAX},
    {"error", 0, 1},
    {"apdex_t_us", 0, LLONG_MAX},
    {"queue_us", -1, LLONG_MAX},
    {"sql_us", 0, LLONG_MAX},
    {"sql_count", 0, LLONG_MAX},
    {"template_us", 0, LLONG_MAX},
    {"template_count", 0, LLONG_MAX},
    {"http_us", 0, LLONG_MAX},
    {"http_count", 0, LLONG_MAX},
};

/* Value i in its range: 0, or -1 with ValueError. */
static int check_value(long long v, int i)
{
    if (PLUMB_UNLIKELY(v < record_args[i].low || v > record_args[i].high)) {
        PyErr_Format(PyExc_ValueError, "Metrics.record(): %s must be in %lld..%lld, not %lld",
                     record_args[i].name, record_args[i].low, record_args[i].high, v);
        return -1;
    }
    return 0;
}

/* Argument i as an int in its range: 0, or -1 with TypeError (not an int:
 * a float is refused, never truncated) or ValueError (out of range). */
static int record_arg(PyObject *arg, int i, long long *out)
{
    if (PLUMB_UNLIKELY(!PyLong_Check(arg))) {
        PyErr_Format(PyExc_TypeError, "Metrics.record(): %s must be an int, not %.100s",
                     record_args[i].name, Py_TYPE(arg)->tp_name);
        return -1;
    }
    int overflow;
    long long v = PyLong_AsLongLongAndOverflow(arg, &overflow);
    if (PLUMB_UNLIKELY(v == -1 && PyErr_Occurred()))
        return -1;
    if (PLUMB_UNLIKELY(overflow)) {
        PyErr_Format(PyExc_ValueError, "Metrics.record(): %s must be in %lld..%lld, not %R",
                     record_args[i].name, record_args[i].low, record_args[i].high, arg);
        return -1;
    }
    *out = v;
    return check_value(v, i);
}

int plumb_metrics_object_record(PyObject *metrics, const long long *v)
{
    MetricsObject *self = (MetricsObject *)metrics;
    if (PLUMB_UNLIKELY(check_ready(self) < 0))
        return -1;
    for (int i = 0; i < RECORD_NARGS; i++)
        if (check_value(v[i], i) < 0)
            return -1;
    plumb_request_measures r = {
        .minute = (uint64_t)v[0],
        .txn = (uint32_t)v[1],
        .duration_us = (uint64_t)v[2],
        .error = (int)v[3],
        .apdex_t_us = (uint64_t)v[4],
        .queue_us = v[5],
        .sql_us = (uint64_t)v[6],
        .sql_count = (uint64_t)v[7],
        .template_us = (uint64_t)v[8],
        .template_count = (uint64_t)v[9],
        .http_us = (uint64_t)v[10],
        .http_count = (uint64_t)v[11],
    };
    int rc = plumb_metrics_record(&self->table, &r);
    if (PLUMB_UNLIKELY(rc == PLUMB_EINVAL)) {   /* unreachable: the ranges above */
        plumb_raise(rc, "metrics", NULL, NULL);
        return -1;
    }
    return rc == PLUMB_OK;
}

/* record(minute, txn, duration_us, error, apdex_t_us, queue_us, sql_us,
 * sql_count, template_us, template_count, http_us, http_count): True, or
 * False when the record was dropped (counted in dropped).  Positional
 * only, through vectorcall: no tuple, no keyword parsing, no allocation
 * once the entry and its bucket exist. */
static PyObject *metrics_record(MetricsObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (PLUMB_UNLIKELY(nargs != RECORD_NARGS)) {
        PyErr_Format(PyExc_TypeError, "Metrics.record() takes %d positional arguments (%zd given)",
                     RECORD_NARGS, nargs);
        return NULL;
    }
    long long v[RECORD_NARGS];
    for (int i = 0; i < RECORD_NARGS; i++)
        if (record_arg(args[i], i, &v[i]) < 0)
            return NULL;
    int rc = plumb_metrics_object_record((PyObject *)self, v);
    return rc < 0 ? NULL : PyBool_FromLong(rc);
}

static PyObject *entry_histogram(const plumb_metrics_entry *e, plumb_hist_pair *buckets)
{
    PyObject *hist = PyDict_New();
    uint32_t n = hist ? plumb_metrics_entry_buckets(e, buckets) : 0;
    for (uint32_t i = 0; i < n; i++) {
        PyObject *key = PyLong_FromUnsignedLong(buckets[i].key);
        PyObject *count = key ? PyLong_FromUnsignedLongLong(buckets[i].count) : NULL;
        int rc = count ? PyDict_SetItem(hist, key, count) : -1;
        Py_XDECREF(key);
        Py_XDECREF(count);
        if (rc < 0) {
            Py_CLEAR(hist);
            break;
        }
    }
    return hist;
}

static PyObject *entry_tuple(const plumb_metrics_entry *e, plumb_hist_pair *buckets)
{
    PyObject *hist = entry_histogram(e, buckets);
    if (!hist)
        return NULL;
    return Py_BuildValue("(KIKKKKKKKKKKKKKKKKN)", (unsigned long long)e->minute, (unsigned)e->txn,
                         (unsigned long long)e->count, (unsigned long long)e->errors,
                         (unsigned long long)e->total_us, (unsigned long long)e->min_us,
                         (unsigned long long)e->max_us, (unsigned long long)e->satisfied,
                         (unsigned long long)e->tolerating, (unsigned long long)e->frustrated,
                         (unsigned long long)e->queue_us, (unsigned long long)e->queue_count,
                         (unsigned long long)e->sql_us, (unsigned long long)e->sql_count,
                         (unsigned long long)e->template_us,
                         (unsigned long long)e->template_count, (unsigned long long)e->http_us,
                         (unsigned long long)e->http_count, hist);
}

/* take(): every entry as a tuple (the harvest), the table left empty.
 * The entries are moved out before any Python object is made, since making
 * one may run a collection and finalizers that record into this table. */
static PyObject *metrics_take(MetricsObject *self, PyObject *Py_UNUSED(ignored))
{
    if (check_ready(self) < 0)
        return NULL;
    plumb_metrics_batch batch;
    int rc = plumb_metrics_take(&self->table, &batch);
    if (rc < 0)
        return plumb_raise(rc, "metrics", NULL, NULL);
    plumb_hist_pair *buckets = PyMem_Malloc(PLUMB_HIST_KEYS * sizeof *buckets);
    PyObject *list = buckets ? PyList_New(batch.count) : PyErr_NoMemory();
    for (uint32_t i = 0; list && i < batch.count; i++) {
        PyObject *t = entry_tuple(&batch.entries[i], buckets);
        if (!t)
            Py_CLEAR(list);
        else
            PyList_SET_ITEM(list, i, t);
    }
    if (!list) {
        /* What could not be handed over is lost: say so in dropped. */
        for (uint32_t i = 0; i < batch.count; i++)
            self->table.dropped += batch.entries[i].count;
    }
    PyMem_Free(buckets);
    plumb_metrics_batch_free(&batch);
    return list;
}

static PyObject *metrics_dropped(MetricsObject *self, void *Py_UNUSED(closure))
{
    return PyLong_FromUnsignedLongLong(self->ready ? self->table.dropped : 0);
}

static Py_ssize_t metrics_len(MetricsObject *self)
{
    return self->ready ? (Py_ssize_t)self->table.count : 0;
}

static PyMethodDef metrics_methods[] = {
    {"record", (PyCFunction)(void (*)(void))metrics_record, METH_FASTCALL,
     "record(minute, txn, duration_us, error, apdex_t_us, queue_us, sql_us, sql_count,\n"
     "       template_us, template_count, http_us, http_count)\n\n"
     "Adds one request (ints; times in microseconds; error 0 or 1; queue_us -1 when the\n"
     "request carried no queue time).  True, or False if it was dropped and counted\n"
     "(the table full, a bucket's count at 2**32-1, no memory)."},
    {"take", (PyCFunction)metrics_take, METH_NOARGS,
     "take(): [(minute, txn, count, errors, total_us, min_us, max_us, satisfied, tolerating,\n"
     "frustrated, queue_us, queue_count, sql_us, sql_count, template_us, template_count,\n"
     "http_us, http_count, {key: count}), ...] in first-recorded order; empties the table."},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef metrics_getset[] = {
    {"dropped", (getter)metrics_dropped, NULL, "Records dropped since the table was made.", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PySequenceMethods metrics_as_sequence = {
    .sq_length = (lenfunc)metrics_len,
};

PyTypeObject plumb_MetricsType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "plumb._plumb.Metrics",
    .tp_basicsize = sizeof(MetricsObject),
    .tp_dealloc = (destructor)metrics_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Metrics(max_entries=100000)\n\n"
              "Per-(minute, transaction) counters and latency histograms, bounded: a record\n"
              "for a new entry beyond max_entries is dropped and counted in dropped.",
    .tp_methods = metrics_methods,
    .tp_getset = metrics_getset,
    .tp_as_sequence = &metrics_as_sequence,
    .tp_init = (initproc)metrics_init,
    .tp_new = PyType_GenericNew,
};
