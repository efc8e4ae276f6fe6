/* plumb._plumb.Stats: function-level profiles read, added and written in C
 * (src/core/stats.c, read_pstats.c), for plumb.Stats and `plumb stats`,
 * `merge`, `diff` and `convert`.  A file that cannot be read raises
 * ValueError with the reader's one-line reason; nothing of it is added. */
#include "binding.h"
#include "formats.h"

#include <errno.h>
#include <stdio.h>
#include <sys/stat.h>

#include "errors.h"
#include "formats/readers.h"
#include "model/stats_order.h"
#include "formats/sample_writers.h"
#include "formats/writers.h"

typedef struct StatsObject {
    PyObject_HEAD
    plumb_stats stats;
    int ready;
    plumb_edge_index callers;    /* edges by callee, for get(); built on demand */
    uint32_t callers_nedges;     /* edges it covers; rebuilt when edges were added */
    int callers_built;
} StatsObject;

static void drop_callers_index(StatsObject *self)
{
    if (self->callers_built)
        plumb_edge_index_free(&self->callers);
    self->callers_built = 0;
}

/* Stats.__new__ without __init__ has no tables yet. */
static int not_ready(StatsObject *self)
{
    if (self->ready)
        return 0;
    PyErr_SetString(PyExc_RuntimeError, "Stats.__init__ was not called");
    return 1;
}

static int stats_init(StatsObject *self, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {NULL};
    if (!PyArg_ParseTupleAndKeywords(args, kwds, ":Stats", kwlist))
        return -1;
    drop_callers_index(self);
    if (self->ready)
        plumb_stats_free(&self->stats);
    self->ready = 0;
    if (plumb_stats_init(&self->stats) < 0) {
        PyErr_NoMemory();
        return -1;
    }
    self->ready = 1;
    return 0;
}

static void stats_dealloc(StatsObject *self)
{
    drop_callers_index(self);
    if (self->ready)
        plumb_stats_free(&self->stats);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

/* Reads one profile from bytes into a fresh stats, then adds it: a file
 * that fails leaves self as it was.  The first file is read straight into
 * self (and self emptied again if it fails): adding it would copy it. */
static PyObject *add_buffer(StatsObject *self, const void *buf, size_t len,
                            plumb_stats_reader read)
{
    if (not_ready(self))
        return NULL;
    plumb_stats one;
    plumb_read_error err = {{0}};
    int direct = self->stats.names.nfuncs == 0 && self->stats.profiles == 0;
    int rc = direct ? PLUMB_OK : plumb_stats_init(&one);
    if (rc == PLUMB_OK) {
        Py_BEGIN_ALLOW_THREADS
        if (direct) {
            rc = read(&self->stats, buf, len, &err);
        } else {
            rc = read(&one, buf, len, &err);
            if (rc == PLUMB_OK)
                rc = plumb_stats_add(&self->stats, &one);
        }
        Py_END_ALLOW_THREADS
    }
    if (direct && rc < 0) {
        plumb_stats_free(&self->stats);
        if (plumb_stats_init(&self->stats) < 0) {
            self->ready = 0;
            return PyErr_NoMemory();
        }
    }
    if (!direct)
        plumb_stats_free(&one);
    if (rc < 0)
        return plumb_raise(rc, "stats", NULL, &err);
    Py_RETURN_NONE;
}

/* add_bytes(data, format="pstats"): any format the table reads into stats
 * (pstats, callgrind, json). */
static PyObject *stats_add_bytes(StatsObject *self, PyObject *args)
{
    Py_buffer view;
    const char *format = "pstats";
    if (!PyArg_ParseTuple(args, "y*|s:add_bytes", &view, &format))
        return NULL;
    const plumb_format *fmt = plumb_format_arg(format);
    if (fmt && !fmt->read_stats) {
        PyErr_Format(PyExc_ValueError, "cannot read %s into Stats", format);
        fmt = NULL;
    }
    PyObject *r = fmt ? add_buffer(self, view.buf, (size_t)view.len, fmt->read_stats) : NULL;
    PyBuffer_Release(&view);
    return r;
}

/* The whole file in memory: the readers take it at once (a 50 MB pstats
 * file is read in one pass).  OSError if it cannot be read. */
static PyObject *stats_add_file(StatsObject *self, PyObject *arg)
{
    PyObject *path;
    if (!PyUnicode_FSConverter(arg, &path))
        return NULL;
    FILE *in = fopen(PyBytes_AS_STRING(path), "rb");
    Py_DECREF(path);
    if (!in)
        return PyErr_SetFromErrnoWithFilenameObject(PyExc_OSError, arg);
    struct stat st;
    unsigned char *buf = NULL;
    size_t len = 0;
    int ok = fstat(fileno(in), &st) == 0;
    if (ok && S_ISDIR(st.st_mode)) {
        errno = EISDIR;
        ok = 0;
    }
    if (ok) {
        len = (size_t)st.st_size;
        buf = malloc(len + 1);
        ok = buf && fread(buf, 1, len, in) == len;
        if (!buf)
            errno = ENOMEM;
    }
    fclose(in);
    if (!ok) {
        free(buf);
        return PyErr_SetFromErrnoWithFilenameObject(PyExc_OSError, arg);
    }
    PyObject *r = add_buffer(self, buf, len, plumb_read_pstats);
    free(buf);
    return r;
}

static PyObject *stats_add(StatsObject *self, PyObject *arg);

/* write(path, format, command=None): function-level numbers only, so the
 * stack formats are refused (a pstats file's edges are not stacks). */
static PyObject *stats_write(StatsObject *self, PyObject *args)
{
    if (not_ready(self))
        return NULL;
    PyObject *path;
    const char *format, *cmd = NULL;
    if (!PyArg_ParseTuple(args, "O&s|z:write", PyUnicode_FSConverter, &path, &format, &cmd))
        return NULL;
    const plumb_format *fmt = plumb_format_arg(format);
    if (!fmt) {
        Py_DECREF(path);
        return NULL;
    }
    plumb_profile_view view = {.stats = &self->stats, .kind = "functions", .creator = "plumb",
                               .command = cmd};
    plumb_read_error err = {{0}};
    int rc = plumb_write_view(PyBytes_AS_STRING(path), fmt, &view, &err);
    Py_DECREF(path);
    if (rc < 0)
        return plumb_raise(rc, "stats", PyTuple_GET_ITEM(args, 0), &err);
    Py_RETURN_NONE;
}

static PyObject *label_tuple(const plumb_func *fn)
{
    return Py_BuildValue("(sLs)", fn->file, (long long)fn->line, fn->name);
}

static PyObject *counts_tuple(const plumb_stat_counts *c, int calls_first)
{
    return Py_BuildValue("(LLdd)", (long long)(calls_first ? c->calls : c->prim_calls),
                         (long long)(calls_first ? c->prim_calls : c->calls), c->own, c->total);
}

/* The stats as pstats.Stats holds them: {(file, line, name): (cc, nc, tt,
 * ct, {caller: (nc, cc, tt, ct) or a count})}, listed functions in order. */
static PyObject *stats_pstats_dict(StatsObject *self, PyObject *Py_UNUSED(ignored))
{
    if (not_ready(self))
        return NULL;
    const plumb_stats *st = &self->stats;
    uint32_t n = st->names.nfuncs;
    PyObject *result = PyDict_New();
    PyObject **labels = calloc((size_t)n + 1, sizeof *labels);
    PyObject **callers = calloc((size_t)n + 1, sizeof *callers);
    if (!result || !labels || !callers)
        goto fail;
    for (uint32_t f = 0; f < n; f++) {
        const plumb_func *fn = &st->names.funcs[f];
        labels[f] = label_tuple(fn);
        if (!labels[f])
            goto fail;
        if (st->listed[f] && !(callers[f] = PyDict_New()))
            goto fail;
    }
    for (uint32_t i = 0; i < st->nedges; i++) {
        const plumb_stat_edge *e = &st->edges[i];
        if (!callers[e->callee])
            continue;   /* a callee that is not listed: pstats has nowhere to put it */
        PyObject *value = e->count_only ? PyLong_FromLongLong(e->counts.calls)
                                        : counts_tuple(&e->counts, 1);
        if (!value || PyDict_SetItem(callers[e->callee], labels[e->caller], value) < 0) {
            Py_XDECREF(value);
            goto fail;
        }
        Py_DECREF(value);
    }
    for (uint32_t i = 0; i < st->norder; i++) {
        uint32_t f = st->order[i];
        const plumb_stat_counts *c = &st->funcs[f];
        PyObject *value = Py_BuildValue("(LLddO)", (long long)c->prim_calls, (long long)c->calls,
                                        c->own, c->total, callers[f]);
        if (!value || PyDict_SetItem(result, labels[f], value) < 0) {
            Py_XDECREF(value);
            goto fail;
        }
        Py_DECREF(value);
    }
    for (uint32_t f = 0; f < n; f++) {
        Py_DECREF(labels[f]);
        Py_XDECREF(callers[f]);
    }
    free(labels);
    free(callers);
    return result;
fail:
    for (uint32_t f = 0; labels && callers && f < n; f++) {
        Py_XDECREF(labels[f]);
        Py_XDECREF(callers[f]);
    }
    free(labels);
    free(callers);
    Py_XDECREF(result);
    return PyErr_Occurred() ? NULL : PyErr_NoMemory();
}

/* labels(): the listed functions' labels, in listing order. */
static PyObject *stats_labels(StatsObject *self, PyObject *Py_UNUSED(ignored))
{
    if (not_ready(self))
        return NULL;
    const plumb_stats *st = &self->stats;
    PyObject *list = PyList_New(st->norder);
    for (uint32_t i = 0; list && i < st->norder; i++) {
        PyObject *label = label_tuple(&st->names.funcs[st->order[i]]);
        if (!label) {
            Py_CLEAR(list);
            break;
        }
        PyList_SET_ITEM(list, i, label);
    }
    return list;
}

/* sorted_labels(fields): labels sorted as pstats sorts with a sort tuple
 * of (index, direction) pairs. */
static PyObject *stats_sorted_labels(StatsObject *self, PyObject *arg)
{
    if (not_ready(self))
        return NULL;
    PyObject *seq = PySequence_Fast(arg, "fields must be a sequence of (index, direction)");
    if (!seq)
        return NULL;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
    plumb_sort_field *fields = PyMem_Calloc((size_t)n + 1, sizeof *fields);
    uint32_t *order = PyMem_Calloc((size_t)self->stats.norder + 1, sizeof *order);
    PyObject *result = NULL;
    if (!fields || !order) {
        PyErr_NoMemory();
        goto done;
    }
    for (Py_ssize_t i = 0; i < n; i++)
        if (!PyArg_ParseTuple(PySequence_Fast_GET_ITEM(seq, i), "ii", &fields[i].index,
                              &fields[i].direction))
            goto done;
    int rc = plumb_stats_sorted(&self->stats, fields, (int)n, order);
    if (rc < 0) {
        if (rc == PLUMB_EINVAL)
            PyErr_SetString(PyExc_ValueError, "sort field index must be 0-7");
        else
            plumb_raise(rc, "stats", NULL, NULL);
        goto done;
    }
    result = PyList_New(self->stats.norder);
    for (uint32_t i = 0; result && i < self->stats.norder; i++) {
        PyObject *label = label_tuple(&self->stats.names.funcs[self->stats.order[order[i]]]);
        if (!label) {
            Py_CLEAR(result);
            break;
        }
        PyList_SET_ITEM(result, i, label);
    }
done:
    PyMem_Free(fields);
    PyMem_Free(order);
    Py_DECREF(seq);
    return result;
}

/* get(label): (cc, nc, tt, ct, callers) as in pstats' dict; KeyError if
 * the label is not listed. */
static PyObject *stats_get(StatsObject *self, PyObject *label)
{
    if (not_ready(self))
        return NULL;
    const char *file, *name;
    long long line;
    if (!PyTuple_Check(label) || !PyArg_ParseTuple(label, "sLs", &file, &line, &name)) {
        PyErr_Clear();
        PyErr_SetObject(PyExc_KeyError, label);
        return NULL;
    }
    plumb_stats *st = &self->stats;
    uint32_t f = plumb_labels_find(&st->names, file, line, name);
    if (f == PLUMB_NONE || !st->listed[f]) {
        PyErr_SetObject(PyExc_KeyError, label);
        return NULL;
    }
    if (!self->callers_built || self->callers_nedges != st->nedges) {
        drop_callers_index(self);
        int rc = plumb_stats_edges_by(st, 1, &self->callers);
        if (rc < 0)
            return plumb_raise(rc, "stats", NULL, NULL);
        self->callers_built = 1;
        self->callers_nedges = st->nedges;
    }
    PyObject *callers = PyDict_New();
    for (uint32_t k = self->callers.first[f]; callers && k < self->callers.first[f + 1]; k++) {
        const plumb_stat_edge *e = &st->edges[self->callers.edges[k]];
        PyObject *key = label_tuple(&st->names.funcs[e->caller]);
        PyObject *value = e->count_only ? PyLong_FromLongLong(e->counts.calls)
                                        : counts_tuple(&e->counts, 1);
        if (!key || !value || PyDict_SetItem(callers, key, value) < 0)
            Py_CLEAR(callers);
        Py_XDECREF(key);
        Py_XDECREF(value);
    }
    if (!callers)
        return NULL;
    const plumb_stat_counts *c = &st->funcs[f];
    PyObject *value = Py_BuildValue("(LLddN)", (long long)c->prim_calls, (long long)c->calls,
                                    c->own, c->total, callers);
    return value;
}

/* totals(): what pstats' get_top_level_stats computes: (total calls,
 * primitive calls, total own time summed as pstats sums it, the longest
 * func_std_string, [labels of functions the old "jprofile" profiler
 * called]). */
static PyObject *stats_totals(StatsObject *self, PyObject *Py_UNUSED(ignored))
{
    if (not_ready(self))
        return NULL;
    const plumb_stats *st = &self->stats;
    long long calls = 0, prim = 0;
    double tt = st->own_sum;
    size_t width = 0;
    for (uint32_t i = 0; i < st->norder; i++) {
        const plumb_func *fn = &st->names.funcs[st->order[i]];
        const plumb_stat_counts *c = &st->funcs[st->order[i]];
        calls += c->calls;
        prim += c->prim_calls;
        size_t w = plumb_stats_std_len(fn);
        if (w > width)
            width = w;
    }
    PyObject *top = PyList_New(0);
    uint32_t jprofile = plumb_labels_find(&st->names, "jprofile", 0, "profiler");
    for (uint32_t e = 0; top && jprofile != PLUMB_NONE && e < st->nedges; e++) {
        if (st->edges[e].caller != jprofile || !st->listed[st->edges[e].callee])
            continue;
        PyObject *label = label_tuple(&st->names.funcs[st->edges[e].callee]);
        if (!label || PyList_Append(top, label) < 0)
            Py_CLEAR(top);
        Py_XDECREF(label);
    }
    if (!top)
        return NULL;
    return Py_BuildValue("(LLdnN)", calls, prim, tt, (Py_ssize_t)width, top);
}

static PyObject *stats_profiles(StatsObject *self, void *Py_UNUSED(closure))
{
    return PyLong_FromUnsignedLongLong(self->stats.profiles);
}

static PyObject *stats_functions(StatsObject *self, void *Py_UNUSED(closure))
{
    return PyLong_FromUnsignedLong(self->stats.norder);
}

static PyMethodDef stats_methods[] = {
    {"add_file", (PyCFunction)stats_add_file, METH_O,
     "add_file(path): adds a pstats file; ValueError says why a file is not one."},
    {"add_bytes", (PyCFunction)stats_add_bytes, METH_VARARGS,
     "add_bytes(data, format='pstats'): adds a pstats or callgrind file's bytes."},
    {"add", (PyCFunction)stats_add, METH_O, "add(other): adds another Stats."},
    {"write", (PyCFunction)stats_write, METH_VARARGS,
     "write(path, format[, cmd]): writes 'pstats', 'callgrind' or 'json'."},
    {"pstats_dict", (PyCFunction)stats_pstats_dict, METH_NOARGS,
     "The stats as pstats.Stats keeps them in its .stats dict."},
    {"labels", (PyCFunction)stats_labels, METH_NOARGS, "Listed functions' labels, in order."},
    {"sorted_labels", (PyCFunction)stats_sorted_labels, METH_O,
     "sorted_labels(((index, direction), ...)): labels in pstats' sort order."},
    {"get", (PyCFunction)stats_get, METH_O, "get(label): one entry of pstats' dict."},
    {"totals", (PyCFunction)stats_totals, METH_NOARGS,
     "(total_calls, prim_calls, total_tt, max_name_len, top_level labels)."},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef stats_getset[] = {
    {"profiles", (getter)stats_profiles, NULL, "How many profiles were added.", NULL},
    {"functions", (getter)stats_functions, NULL, "How many functions are listed.", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

PyTypeObject plumb_StatsType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "plumb._plumb.Stats",
    .tp_basicsize = sizeof(StatsObject),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Function-level profiles (pstats' model), read, added and written in C.",
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)stats_init,
    .tp_dealloc = (destructor)stats_dealloc,
    .tp_methods = stats_methods,
    .tp_getset = stats_getset,
};

static PyObject *stats_add(StatsObject *self, PyObject *arg)
{
    if (not_ready(self))
        return NULL;
    if (!PyObject_TypeCheck(arg, &plumb_StatsType))
        return PyErr_Format(PyExc_TypeError, "can only add a Stats, not %.100s", Py_TYPE(arg)->tp_name);
    if (not_ready((StatsObject *)arg))
        return NULL;
    int rc = plumb_stats_add(&self->stats, &((StatsObject *)arg)->stats);
    if (rc < 0)
        return plumb_raise(rc, "stats", NULL, NULL);
    Py_RETURN_NONE;
}
