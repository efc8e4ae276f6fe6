/* plumb._plumb.Sampler: the C half of plumb.Sampler.  It owns a core
 * sampler (a native thread reading this interpreter's memory) and exports
 * what it collected. */
#include "binding.h"
#include "formats.h"

#include <unistd.h>

#include "formats/sample_writers.h"
#include "sampler/sampler.h"
#include "errors.h"
#include "offsets.h"
#include "attach_target.h"

#include "sampler_object.h"

static int sampler_init(SamplerObject *self, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"rate", "mode", "duration", "tags", "pid", "gil", "idle", NULL};
    double rate = 1000.0, duration = 0.0;
    const char *mode = "wall";
    int tags = 1, pid = 0, gil_only = 0, idle = 1;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "|dsdpipp:Sampler", kwlist, &rate, &mode,
                                     &duration, &tags, &pid, &gil_only, &idle))
        return -1;
    if (pid < 0) {
        PyErr_SetString(PyExc_ValueError, "a process id is a positive integer");
        return -1;
    }
    int cpu = strcmp(mode, "cpu") == 0;
    if (!cpu && strcmp(mode, "wall") != 0) {
        PyErr_Format(PyExc_ValueError, "mode must be 'wall' or 'cpu', not %R",
                     PyTuple_GET_ITEM(args, 1));
        return -1;
    }
    if (!(rate > 0 && rate <= 100000)) {
        PyErr_SetString(PyExc_ValueError, "rate must be between 0 and 100000 samples per second");
        return -1;
    }
    if (duration < 0) {
        PyErr_SetString(PyExc_ValueError, "duration cannot be negative");
        return -1;
    }
    if (self->ready && plumb_sampler_running(&self->sampler)) {
        PyErr_SetString(PyExc_RuntimeError, "cannot reinitialise a running sampler");
        return -1;
    }
    if (self->ready)
        plumb_sampler_free(&self->sampler);
    self->ready = 0;
    plumb_py_offsets off;
    uintptr_t interp;
    plumb_gil_probe gil = {0};
    plumb_read_error why = {{0}};
    int rc;
    if (gil_only && (!pid || pid == getpid())) {
        /* This process's own layout row is not at hand here, nor needed:
         * --gil is an option of attaching. */
        PyErr_SetString(PyExc_ValueError, "gil=True samples another process (give its pid)");
        return -1;
    }
    if (pid && pid != getpid()) {
        /* Another process: its interpreter found (or refused) by attach. */
        plumb_attach_target *target = PyMem_Malloc(sizeof *target);
        if (!target) {
            PyErr_NoMemory();
            return -1;
        }
        if (plumb_find_target(pid, target) < 0) {
            PyMem_Free(target);
            return -1;
        }
        off = target->off;
        interp = target->interp;
        int gil_known = plumb_gil_probe_from_layout(&target->layout, target->runtime,
                                                    target->interp, &gil) == PLUMB_OK;
        PyMem_Free(target);
        if (gil_only && !gil_known) {
            PyErr_SetString(PyExc_ValueError, "gil=True: this Python's GIL holder is not known");
            return -1;
        }
        rc = PLUMB_OK;
    } else {
        pid = getpid();
        rc = plumb_fill_offsets(&off, &interp, &why);
    }
    if (rc == PLUMB_OK)
        rc = plumb_sampler_init(&self->sampler, pid, &off, interp, rate, cpu, duration);
    if (rc < 0) {
        /* why names the field when the interpreter's own table was refused. */
        plumb_raise(rc, "sampler", NULL, &why);
        return -1;
    }
    plumb_sampler_read_tags(&self->sampler, tags);
    (void)plumb_sampler_filter_threads(&self->sampler, gil_only, &gil, !idle);
    self->ready = 1;
    if (!self->names && !(self->names = PyDict_New()))
        return -1;
    return 0;
}

static void sampler_dealloc(SamplerObject *self)
{
    if (self->ready) {
        /* Joining a thread that takes no lock of ours cannot deadlock. */
        Py_BEGIN_ALLOW_THREADS
        plumb_sampler_stop(&self->sampler);
        Py_END_ALLOW_THREADS
        plumb_sampler_free(&self->sampler);
    }
    Py_XDECREF(self->names);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

int plumb_sampler_check_ready(SamplerObject *self)
{
    if (!self->ready) {
        PyErr_SetString(PyExc_RuntimeError, "the sampler was not initialised");
        return -1;
    }
    return 0;
}

static PyObject *sampler_start(SamplerObject *self, PyObject *Py_UNUSED(ignored))
{
    if (plumb_sampler_check_ready(self) < 0)
        return NULL;
    if (plumb_sampler_running(&self->sampler))
        Py_RETURN_NONE;
    int rc = plumb_sampler_start(&self->sampler);
    if (rc < 0)
        return plumb_raise(rc, "sampler", NULL, NULL);
    Py_RETURN_NONE;
}

static PyObject *sampler_stop(SamplerObject *self, PyObject *Py_UNUSED(ignored))
{
    if (plumb_sampler_check_ready(self) < 0)
        return NULL;
    /* The sampler thread never waits for the GIL; release it while joining. */
    Py_BEGIN_ALLOW_THREADS
    plumb_sampler_stop(&self->sampler);
    Py_END_ALLOW_THREADS
    Py_RETURN_NONE;
}

/* _note_thread(id, native_id, name): what threading knows of a thread. */
static PyObject *sampler_note_thread(SamplerObject *self, PyObject *args)
{
    unsigned long long id, native_id;
    PyObject *name;
    if (!PyArg_ParseTuple(args, "KKU:_note_thread", &id, &native_id, &name) || plumb_sampler_check_ready(self) < 0)
        return NULL;
    if (plumb_sampler_note_thread(&self->sampler, id, native_id) < 0)
        return PyErr_NoMemory();
    /* Keyed by kernel id where known: pthread ids are reused. */
    PyObject *key = native_id ? Py_BuildValue("(sK)", "native", native_id)
                              : PyLong_FromUnsignedLongLong(id);
    if (!key || PyDict_SetItem(self->names, key, name) < 0) {
        Py_XDECREF(key);
        return NULL;
    }
    Py_DECREF(key);
    Py_RETURN_NONE;
}

/* Thread names go into the samples when they are exported (only then is
 * the sampler thread known to be stopped). */
static int apply_names(SamplerObject *self)
{
    plumb_samples *s = &self->sampler.samples;
    for (uint32_t i = 0; i < s->nthreads; i++) {
        PyObject *key = s->threads[i].native_id
                            ? Py_BuildValue("(sK)", "native", (unsigned long long)s->threads[i].native_id)
                            : PyLong_FromUnsignedLongLong(s->threads[i].id);
        if (!key)
            return -1;
        PyObject *name = PyDict_GetItemWithError(self->names, key);
        Py_DECREF(key);
        if (!name) {
            if (PyErr_Occurred())
                return -1;
            continue;
        }
        const char *utf8 = PyUnicode_AsUTF8(name);
        if (!utf8)
            return -1;
        if (plumb_samples_name_thread(s, i, utf8) < 0) {
            PyErr_NoMemory();
            return -1;
        }
    }
    return 0;
}

static int check_stopped(SamplerObject *self)
{
    if (plumb_sampler_check_ready(self) < 0)
        return -1;
    if (plumb_sampler_running(&self->sampler)) {
        PyErr_SetString(PyExc_RuntimeError, "stop the sampler before reading its samples");
        return -1;
    }
    return apply_names(self);
}

/* _stacks(): [(thread id, thread name or None, [(file, line, name), ...] outermost first, count)] */
static PyObject *sampler_stacks(SamplerObject *self, PyObject *Py_UNUSED(ignored))
{
    if (check_stopped(self) < 0)
        return NULL;
    plumb_samples *s = &self->sampler.samples;
    PyObject *result = PyList_New(0);
    uint32_t *path = PyMem_Malloc(PLUMB_MAX_SAMPLE_DEPTH * sizeof *path);
    if (!result || !path)
        goto fail;
    for (uint32_t n = 0; n < s->nnodes; n++) {
        const plumb_node *node = &s->nodes[n];
        if (!node->self)
            continue;
        uint32_t depth = plumb_samples_path(s, n, path, PLUMB_MAX_SAMPLE_DEPTH);
        PyObject *frames = PyList_New(depth);
        if (!frames)
            goto fail;
        for (uint32_t i = 0; i < depth; i++) {
            const plumb_func *f = &s->names.funcs[path[i]];
            PyObject *t = Py_BuildValue("(sLs)", f->file, (long long)f->line, f->name);
            if (!t) {
                Py_DECREF(frames);
                goto fail;
            }
            PyList_SET_ITEM(frames, i, t);
        }
        const plumb_sampled_thread *th = &s->threads[node->thread];
        PyObject *item = Py_BuildValue("(KzNK)", (unsigned long long)th->id, th->name, frames,
                                       (unsigned long long)node->self);
        if (!item || PyList_Append(result, item) < 0) {
            Py_XDECREF(item);
            goto fail;
        }
        Py_DECREF(item);
    }
    PyMem_Free(path);
    return result;
fail:
    PyMem_Free(path);
    Py_XDECREF(result);
    return PyErr_Occurred() ? NULL : PyErr_NoMemory();
}

static PyObject *sampler_summary(SamplerObject *self, PyObject *Py_UNUSED(ignored))
{
    if (plumb_sampler_check_ready(self) < 0)
        return NULL;
    plumb_sampler *z = &self->sampler;
    (void)plumb_sampler_running(z);   /* a forked child's copy is reset first */
    const plumb_samples *s = &z->samples;
    double elapsed = z->since_ns && z->stopped_ns > z->since_ns ? (z->stopped_ns - z->since_ns) / 1e9
                                                                : 0.0;
    return Py_BuildValue("{sKsKsKsKsLsLsKsKsKsKsKsKsdsdsssIsdsIsIsKsKsK}", "total_taken",
                         (unsigned long long)z->total_taken, "total_missed",
                         (unsigned long long)z->total_missed, "total_samples",
                         (unsigned long long)z->total_samples, "tag_overflow",
                         (unsigned long long)z->tagged.overflow, "busy_ns", (long long)z->busy_ns,
                         "cpu_ns", (long long)z->cpu_ns, "stacks", (unsigned long long)z->stacks,
                         "reused", (unsigned long long)z->reused, "taken", (unsigned long long)s->taken,
                         "missed", (unsigned long long)s->missed, "failed",
                         (unsigned long long)s->failed, "truncated",
                         (unsigned long long)s->truncated, "interval", s->interval, "rate",
                         1.0 / s->interval, "mode", s->cpu_mode ? "cpu" : "wall", "threads",
                         s->nthreads, "elapsed", elapsed, "nodes", s->nnodes, "functions",
                         s->names.nfuncs, "reads", (unsigned long long)z->walker.source->reads,
                         "retried", (unsigned long long)z->walker.retries, "pages",
                         (unsigned long long)(z->walker.cache ? z->walker.cache->misses : 0));
}

/* What the samples are to the format table's writers: call trees, real
 * stacks, made by plumb sample. */
static plumb_profile_view samples_view(SamplerObject *self, const char *cmd)
{
    return (plumb_profile_view){.tree = &self->sampler.samples, .tree_exact = 1,
                                .kind = "sampled", .creator = "plumb sample",
                                .command = cmd, .pid = (long)self->sampler.pid};
}

/* _write(path, format, command=None) */
static PyObject *sampler_write(SamplerObject *self, PyObject *args)
{
    PyObject *path;
    const char *format, *cmd = NULL;
    if (!PyArg_ParseTuple(args, "O&s|z:_write", PyUnicode_FSConverter, &path, &format, &cmd))
        return NULL;
    const plumb_format *fmt = plumb_format_arg(format);
    if (!fmt || check_stopped(self) < 0) {
        Py_DECREF(path);
        return NULL;
    }
    plumb_profile_view view = samples_view(self, cmd);
    plumb_read_error err = {{0}};
    int rc = plumb_write_view(PyBytes_AS_STRING(path), fmt, &view, &err);
    Py_DECREF(path);
    if (rc < 0)
        return plumb_raise(rc, "sampler", PyTuple_GET_ITEM(args, 0), &err);
    Py_RETURN_NONE;
}

/* _text(format): what _write would write, as a str. */
static PyObject *sampler_text(SamplerObject *self, PyObject *args)
{
    const char *format;
    if (!PyArg_ParseTuple(args, "s:_text", &format))
        return NULL;
    const plumb_format *fmt = plumb_format_arg(format);
    if (!fmt || check_stopped(self) < 0)
        return NULL;
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    if (!out)
        return PyErr_NoMemory();
    plumb_profile_view view = samples_view(self, NULL);
    plumb_read_error err = {{0}};
    int rc = fmt->write(out, &view, &err);
    fclose(out);
    PyObject *result = rc < 0 ? plumb_raise(rc, "sampler", NULL, &err)
                              : PyUnicode_DecodeUTF8(buf, (Py_ssize_t)len, "replace");
    free(buf);
    return result;
}

static PyObject *sampler_set_own_dir(SamplerObject *self, PyObject *arg)
{
    const char *dir = PyUnicode_AsUTF8(arg);
    if (!dir || plumb_sampler_check_ready(self) < 0)
        return NULL;
    if (plumb_sampler_set_own_prefix(&self->sampler, dir) < 0)
        return PyErr_NoMemory();
    Py_RETURN_NONE;
}

static PyObject *sampler_ignore_this_thread(SamplerObject *self, PyObject *Py_UNUSED(ignored))
{
    if (plumb_sampler_check_ready(self) < 0)
        return NULL;
    plumb_sampler_ignore_thread(&self->sampler, (uint64_t)PyThread_get_thread_ident());
    Py_RETURN_NONE;
}

/* _keep_only_thread(ident): forgets the samples of every other thread, for
 * a profile of one thread (a web request's); the sampler reads every
 * thread, so the others are dropped once it has stopped. */
static PyObject *sampler_keep_only_thread(SamplerObject *self, PyObject *arg)
{
    unsigned long long ident = PyLong_AsUnsignedLongLongMask(arg);
    if (PyErr_Occurred() || check_stopped(self) < 0)
        return NULL;
    plumb_samples *s = &self->sampler.samples;
    for (uint32_t n = 0; n < s->nnodes; n++)
        if (s->threads[s->nodes[n].thread].id != ident)
            s->nodes[n].self = 0;
    for (uint32_t t = 0; t < s->nthreads; t++)
        if (s->threads[t].id != ident)
            s->threads[t].samples = 0;
    Py_RETURN_NONE;
}

/* _ignore_thread(ident): stop sampling the thread with this ident (0: none). */
static PyObject *sampler_ignore_thread(SamplerObject *self, PyObject *arg)
{
    unsigned long long ident = PyLong_AsUnsignedLongLong(arg);
    if ((ident == (unsigned long long)-1 && PyErr_Occurred()) || plumb_sampler_check_ready(self) < 0)
        return NULL;
    plumb_sampler_ignore_thread(&self->sampler, ident);
    Py_RETURN_NONE;
}

static PyObject *sampler_running(SamplerObject *self, void *Py_UNUSED(closure))
{
    return PyBool_FromLong(self->ready && plumb_sampler_running(&self->sampler));
}

static PyMethodDef sampler_methods[] = {
    {"start", (PyCFunction)sampler_start, METH_NOARGS, "Start the sampling thread."},
    {"stop", (PyCFunction)sampler_stop, METH_NOARGS, "Stop the sampling thread and wait for it."},
    {"_note_thread", (PyCFunction)sampler_note_thread, METH_VARARGS,
     "_note_thread(id, native_id, name): what threading knows of a thread."},
    {"_stacks", (PyCFunction)sampler_stacks, METH_NOARGS,
     "Every stack sampled: (thread id, name, frames outermost first, count)."},
    {"summary", (PyCFunction)sampler_summary, METH_NOARGS,
     "Samples taken, missed and failed, the interval, rate and mode."},
    {"_write", (PyCFunction)sampler_write, METH_VARARGS,
     "_write(path, format, command=None): collapsed, speedscope, pstats, callgrind or tree."},
    {"_text", (PyCFunction)sampler_text, METH_VARARGS, "_text(format): the output as a str."},
    {"_keep_only_thread", (PyCFunction)sampler_keep_only_thread, METH_O,
     "_keep_only_thread(ident): drop the samples of every other thread (after stop)."},
    {"_set_own_dir", (PyCFunction)sampler_set_own_dir, METH_O,
     "Frames of code under this directory are left out of stacks."},
    {"_harvest", (PyCFunction)plumb_sampler_harvest_method, METH_NOARGS,
     "_harvest() -> (frames, nodes, tagged, summary): what was sampled so far, taken out; "
     "the sampler goes on afresh."},
    {"_ignore_thread", (PyCFunction)sampler_ignore_thread, METH_O,
     "_ignore_thread(ident): stop sampling this thread (0: sample every thread)."},
    {"_ignore_this_thread", (PyCFunction)sampler_ignore_this_thread, METH_NOARGS,
     "Stop sampling the calling thread."},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef sampler_getset[] = {
    {"running", (getter)sampler_running, NULL, "Whether the sampling thread runs.", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

PyTypeObject plumb_SamplerType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "plumb._plumb.Sampler",
    .tp_basicsize = sizeof(SamplerObject),
    .tp_dealloc = (destructor)sampler_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
    .tp_doc = "Sampler(rate=1000, mode='wall', duration=0, tags=True, pid=0, gil=False, "
              "idle=True)\n\n"
              "Statistical profiler: a native thread samples every Python thread's stack, "
              "of this process or (pid) of another.",
    .tp_methods = sampler_methods,
    .tp_getset = sampler_getset,
    .tp_init = (initproc)sampler_init,
    .tp_new = PyType_GenericNew,
};
