/* plumb._plumb.Profiler: the C half of plumb.Profile.  It owns a core
 * profile, turns interpreter events (from hook_*.c) into tracer calls, and
 * exports the result as pstats' dict or through the core's writers. */
#include "binding.h"
#include "formats.h"

#include "errors.h"
#include "formats/sample_writers.h"
#include "formats/writers.h"

__thread plumb_tls_thread plumb_tls_current __attribute__((tls_model("initial-exec")));

/* Never 0, so that a thread's zeroed TLS slot matches no profiler. */
static uint64_t next_generation = 1;

/* Makes every thread look its stack up again (profiler.generation). */
static void new_generation(ProfilerObject *self)
{
    self->generation = next_generation++;
    self->fast_generation = self->clock == PLUMB_FAST_CLOCK ? self->generation : UINT64_MAX;
}

/* Profilers enabled now, so that @plumb.profile can tell that it runs
 * inside one (a PEP 523 profiler is invisible to sys.getprofile()). */
static int enabled_profilers;

int plumb_enabled_profilers(void)
{
    return enabled_profilers;
}

/* Set while the user's timer runs in this thread: a PEP 523 hook sees the
 * timer's own frames, and recording them would call the timer again, with
 * no end.  Only the slow paths look: with the user's timer, every event
 * takes them. */
static __thread int timer_running;

static int64_t call_timer(ProfilerObject *self)
{
    PyObject *o = PyObject_CallNoArgs(self->external_timer);
    if (!o) {
        PyErr_WriteUnraisable(self->external_timer);
        return 0;
    }
    int64_t ticks;
    if (PyLong_Check(o) && self->timeunit > 0.0) {
        ticks = PyLong_AsLongLong(o);
    } else {
        /* Seconds as a float: keep nanoseconds. */
        double seconds = PyFloat_AsDouble(o);
        ticks = (int64_t)(seconds * 1e9);
    }
    Py_DECREF(o);
    if (PyErr_Occurred()) {
        PyErr_WriteUnraisable(self->external_timer);
        return 0;
    }
    return ticks;
}

int64_t plumb_profiler_external_now(ProfilerObject *self)
{
    /* A frame that PEP 523 saw end by raising still has its exception set:
     * the timer runs beside it, not into it. */
    plumb_saved_error saved;
    plumb_error_save(&saved);
    timer_running = 1;
    int64_t ticks = call_timer(self);
    timer_running = 0;
    plumb_error_restore(&saved);
    return ticks;
}

plumb_thread *plumb_profiler_slow_thread(ProfilerObject *self)
{
    uint64_t id = (uint64_t)PyThread_get_thread_ident();
    if (!self->all_threads && id != self->only_thread) {
        /* Another thread's events are dropped on the fast path from now on. */
        plumb_tls_current.generation = self->generation;
        plumb_tls_current.thread = NULL;
        return NULL;
    }
    plumb_thread *t = self->profile.threads;
    while (t && t->id != id)
        t = t->next;
    if (!t)
        t = plumb_profile_new_thread(&self->profile, id);
    if (!t) {
        self->profile.lost_events++;
        return NULL;
    }
    plumb_tls_current.generation = self->generation;
    plumb_tls_current.thread = t;
    return t;
}

void plumb_profiler_enter_slow(ProfilerObject *self, uintptr_t key, PyObject *obj)
{
    if (timer_running)
        return;
    plumb_thread *t = plumb_profiler_thread(self);
    if (!t)
        return;
    uint32_t func = plumb_profile_func_for_key(&self->profile, key);
    if (func >= PLUMB_SKIP) {
        if (func == PLUMB_SKIP)
            return;
        func = plumb_profiler_register(self, key, obj);
        if (func >= PLUMB_SKIP)
            return;
    }
    plumb_tracer_enter(&self->profile, t, key, func, plumb_profiler_now(self));
}

void plumb_profiler_exit_slow(ProfilerObject *self, uintptr_t key)
{
    if (timer_running)
        return;
    int64_t now = plumb_profiler_now(self);
    plumb_thread *t = plumb_profiler_thread(self);
    if (t)
        plumb_tracer_exit(&self->profile, t, key, now);
}

/* UTF-8 of a str; names with lone surrogates are escaped rather than lost. */
static PyObject *utf8_bytes(PyObject *s)
{
    if (!PyUnicode_Check(s))
        return PyBytes_FromString("?");
    return PyUnicode_AsEncodedString(s, "utf-8", "backslashreplace");
}

static PyObject *label_parts(PyObject *obj, long *line, PyObject **file)
{
    if (PyCode_Check(obj)) {
        PyCodeObject *code = (PyCodeObject *)obj;
        *line = code->co_firstlineno;
        *file = utf8_bytes(code->co_filename);
        return *file ? utf8_bytes(code->co_name) : NULL;
    }
    *line = 0;
    *file = PyBytes_FromString("~");
    if (!*file)
        return NULL;
    PyObject *name = Py_TYPE(obj) == &PyMethodDescr_Type ? PyObject_Repr(obj)
                                                         : plumb_label_of_cfunction(obj);
    if (!name)
        return NULL;
    PyObject *bytes = utf8_bytes(name);
    Py_DECREF(name);
    return bytes;
}

char *plumb_own_dir;

/* plumb's own functions: its Python package, and the Profiler's methods
 * (cProfile shows its own disable(); a profile of the program should not). */
static int is_own(PyObject *obj)
{
    if (PyCode_Check(obj)) {
        if (!plumb_own_dir)
            return 0;
        const char *file = PyUnicode_Check(((PyCodeObject *)obj)->co_filename)
                               ? PyUnicode_AsUTF8(((PyCodeObject *)obj)->co_filename) : NULL;
        if (!file) {
            PyErr_Clear();
            return 0;
        }
        size_t n = strlen(plumb_own_dir);
        return strncmp(file, plumb_own_dir, n) == 0 && file[n] == '/';
    }
    if (PyCFunction_Check(obj)) {
        PyObject *owner = ((PyCFunctionObject *)obj)->m_self;
        return owner && PyObject_TypeCheck(owner, &plumb_ProfilerType);
    }
    if (Py_TYPE(obj) == &PyMethodDescr_Type)
        return PyType_IsSubtype(((PyMethodDescrObject *)obj)->d_common.d_type, &plumb_ProfilerType);
    return 0;
}

uint32_t plumb_profiler_register(ProfilerObject *self, uintptr_t key, PyObject *obj)
{
    if (is_own(obj)) {
        if (plumb_profile_skip_key(&self->profile, key) < 0)
            self->profile.lost_events++;
        if (PyCode_Check(obj) && PyList_Append(self->keep_alive, obj) < 0)
            PyErr_Clear();
        return PLUMB_SKIP;
    }
    plumb_saved_error saved;
    plumb_error_save(&saved);
    uint32_t func = PLUMB_NONE;
    long line = 0;
    PyObject *file = NULL;
    PyObject *name = label_parts(obj, &line, &file);
    /* A code object's address is its key, so it is kept alive while the
     * profile lives: a freed one's address could be reused by another.
     * C method tables (the keys of C functions) are static. */
    int kept = PyCode_Check(obj) ? PyList_Append(self->keep_alive, obj) : 0;
    if (name && kept == 0) {
        if (plumb_profile_add_key(&self->profile, key, PyBytes_AS_STRING(file), line,
                                  PyBytes_AS_STRING(name), &func) < 0)
            func = PLUMB_NONE;
    }
    Py_XDECREF(file);
    Py_XDECREF(name);
    if (func == PLUMB_NONE)
        self->profile.lost_events++;
    /* The profiler's own failures never reach the program. */
    PyErr_Clear();
    plumb_error_restore(&saved);
    return func;
}

/* Ticks per second.  Measured anew while enabled; frozen at disable() so
 * that every export of a stopped profile gives the same seconds. */
static double ticks_per_second(ProfilerObject *self)
{
    if (!self->enabled && self->calibrated)
        return self->profile.ticks_per_second;
    if (self->clock == PLUMB_CLOCK_KIND_TSC) {
        plumb_clock_mark end;
        return plumb_clock_ticks_per_second(self->clock_origin, &end);
    }
    if (self->clock == PLUMB_CLOCK_KIND_EXTERNAL && self->timeunit > 0.0)
        return 1.0 / self->timeunit;
    return 1e9;
}

static int profiler_init(ProfilerObject *self, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"timer", "timeunit", "subcalls", "builtins", "paths", "threads",
                             NULL};
    PyObject *timer = NULL;
    double timeunit = 0.0;
    int subcalls = 1, builtins = 1, paths = 1, threads = 1;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "|Odpppp:Profiler", kwlist, &timer, &timeunit,
                                     &subcalls, &builtins, &paths, &threads))
        return -1;
    self->all_threads = threads;
    if (self->enabled) {
        PyErr_SetString(PyExc_RuntimeError, "cannot reinitialise an enabled profiler");
        return -1;
    }
    if (timer == Py_None)
        timer = NULL;
    Py_XINCREF(timer);
    Py_XSETREF(self->external_timer, timer);
    self->timeunit = timeunit;
    self->builtins = builtins;
    if (timer)
        self->clock = PLUMB_CLOCK_KIND_EXTERNAL;
    else if (plumb_clock_tsc_is_invariant())
        self->clock = PLUMB_CLOCK_KIND_TSC;
    else
        self->clock = PLUMB_CLOCK_KIND_MONOTONIC;
    /* The TSC's rate is the machine's, so one origin serves every profiler
     * of the process: the longer ago it was taken, the better the rate, and
     * only a profile stopped within a millisecond of the first profiler's
     * creation waits for the calibration (per-request profiles would
     * otherwise each wait a millisecond). */
    static plumb_clock_mark process_origin;
    static int have_process_origin;
    if (!have_process_origin) {
        process_origin = plumb_clock_mark_now();
        have_process_origin = 1;
    }
    self->clock_origin = process_origin;
    self->calibrated = 0;
    plumb_profile_free(&self->profile);
    if (plumb_profile_init(&self->profile, subcalls) < 0) {
        PyErr_NoMemory();
        return -1;
    }
    self->profile.track_paths = paths;
    new_generation(self);
    if (!self->keep_alive) {
        self->keep_alive = PyList_New(0);
        if (!self->keep_alive)
            return -1;
    } else if (PyList_SetSlice(self->keep_alive, 0, PY_SSIZE_T_MAX, NULL) < 0) {
        return -1;
    }
    return 0;
}

static PyObject *profiler_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    (void)args;
    (void)kwds;
    ProfilerObject *self = (ProfilerObject *)type->tp_alloc(type, 0);
    if (!self)
        return NULL;
    if (plumb_profile_init(&self->profile, 1) < 0) {
        Py_DECREF(self);
        return PyErr_NoMemory();
    }
    self->all_threads = 1;
    self->builtins = 1;
    self->clock = PLUMB_CLOCK_KIND_MONOTONIC;
    new_generation(self);
    return (PyObject *)self;
}

static int profiler_traverse(ProfilerObject *self, visitproc visit, void *arg)
{
    Py_VISIT(self->external_timer);
    Py_VISIT(self->keep_alive);
    return 0;
}

static int profiler_clear_refs(ProfilerObject *self)
{
    Py_CLEAR(self->external_timer);
    Py_CLEAR(self->keep_alive);
    return 0;
}

static void profiler_dealloc(ProfilerObject *self)
{
    PyObject_GC_UnTrack(self);
    if (self->enabled) {
        enabled_profilers--;
        /* Hooks hold references to the profiler, so this is reached only at
         * interpreter teardown; remove them regardless of errors. */
        plumb_saved_error saved;
        plumb_error_save(&saved);
        if (plumb_hook_remove(self) < 0)
            PyErr_Clear();
        plumb_error_restore(&saved);
    }
    if (self->weakrefs)
        PyObject_ClearWeakRefs((PyObject *)self);
    profiler_clear_refs(self);
    plumb_profile_free(&self->profile);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

/* Events of the calling thread are ignored from now until the next
 * enable(): its TLS slot names this profile but no stack.  plumb run uses
 * it while it waits for the program's threads. */
static PyObject *profiler_ignore_this_thread(ProfilerObject *self, PyObject *Py_UNUSED(ignored))
{
    plumb_tls_current.generation = self->generation;
    plumb_tls_current.thread = NULL;
    Py_RETURN_NONE;
}

static PyObject *profiler_enable(ProfilerObject *self, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"subcalls", "builtins", NULL};
    int subcalls = -1, builtins = -1;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "|pp:enable", kwlist, &subcalls, &builtins))
        return NULL;
    if (plumb_tls_current.generation == self->generation && !plumb_tls_current.thread)
        plumb_tls_current.generation = 0;   /* undo _ignore_this_thread() */
    if (self->enabled)
        Py_RETURN_NONE;
    if (!self->all_threads) {
        /* The thread that enables is the one profiled; threads that cached
         * this profile before must look again, so the generation moves. */
        self->only_thread = (uint64_t)PyThread_get_thread_ident();
        new_generation(self);
    }
    if (subcalls >= 0 && plumb_profile_set_track_edges(&self->profile, subcalls) < 0)
        return PyErr_NoMemory();
    if (builtins >= 0)
        self->builtins = builtins;
    if (plumb_hook_install(self) < 0)
        return NULL;
    self->enabled = 1;
    enabled_profilers++;
    Py_RETURN_NONE;
}

static void stop(ProfilerObject *self)
{
    plumb_tracer_close_all(&self->profile, plumb_profiler_now(self));
    self->calibrated = 0;
    self->profile.ticks_per_second = ticks_per_second(self);
    self->calibrated = 1;
}

static PyObject *profiler_disable(ProfilerObject *self, PyObject *Py_UNUSED(ignored))
{
    if (!self->enabled)
        Py_RETURN_NONE;
    self->enabled = 0;
    enabled_profilers--;
    int rc = plumb_hook_remove(self);
    stop(self);
    if (rc < 0)
        return NULL;
    Py_RETURN_NONE;
}

/* _reset(): zero the counts, keep the functions (plumb.web reuses one
 * profile for request after request: naming a request's hundred functions
 * anew would cost more than profiling it). */
static PyObject *profiler_reset(ProfilerObject *self, PyObject *Py_UNUSED(ignored))
{
    if (self->enabled) {
        PyErr_SetString(PyExc_RuntimeError, "cannot reset an enabled profiler; disable it first");
        return NULL;
    }
    plumb_profile_reset_counts(&self->profile);
    Py_RETURN_NONE;
}

static PyObject *profiler_clear(ProfilerObject *self, PyObject *Py_UNUSED(ignored))
{
    if (self->enabled) {
        PyErr_SetString(PyExc_RuntimeError, "cannot clear an enabled profiler; disable it first");
        return NULL;
    }
    self->calibrated = 0;
    if (plumb_profile_clear(&self->profile) < 0)
        return PyErr_NoMemory();
    /* Thread stacks were freed: make every thread's cached pointer stale. */
    new_generation(self);
    if (PyList_SetSlice(self->keep_alive, 0, PY_SSIZE_T_MAX, NULL) < 0)
        return NULL;
    Py_RETURN_NONE;
}

static PyObject *label_tuple(const plumb_func *f)
{
    return Py_BuildValue("(sLs)", f->file, (long long)f->line, f->name);
}

/* pstats' dict: {label: (primitive calls, calls, tottime, cumtime,
 * {caller label: (calls, primitive calls, tottime, cumtime)})}. */
static PyObject *profiler_stats(ProfilerObject *self, PyObject *Py_UNUSED(ignored))
{
    plumb_profile *p = &self->profile;
    if (plumb_profile_sync_counts(p) < 0)
        return PyErr_NoMemory();
    p->ticks_per_second = ticks_per_second(self);
    self->calibrated = !self->enabled;
    double sec = 1.0 / p->ticks_per_second;
    plumb_edge_index callers;
    if (plumb_edge_index_by_callee(p, &callers) < 0)
        return PyErr_NoMemory();
    PyObject *labels = PyList_New(p->labels.nfuncs);
    PyObject *stats = PyDict_New();
    if (!labels || !stats)
        goto fail;
    for (uint32_t f = 0; f < p->labels.nfuncs; f++) {
        PyObject *label = label_tuple(&p->labels.funcs[f]);
        if (!label)
            goto fail;
        PyList_SET_ITEM(labels, f, label);
    }
    for (uint32_t f = 0; f < p->labels.nfuncs; f++) {
        const plumb_counts *c = &p->func_counts[f];
        if (c->calls == 0)
            continue;
        PyObject *callers_dict = PyDict_New();
        if (!callers_dict)
            goto fail;
        for (uint32_t i = callers.first[f]; i < callers.first[f + 1]; i++) {
            const plumb_edge *e = &p->edges[callers.edges[i]];
            if (e->counts.calls == 0)
                continue;
            PyObject *v = Py_BuildValue("(KKdd)", (unsigned long long)e->counts.calls,
                                        (unsigned long long)(e->counts.calls - e->counts.recursive_calls),
                                        e->counts.own * sec, e->counts.total * sec);
            if (!v || PyDict_SetItem(callers_dict, PyList_GET_ITEM(labels, e->caller), v) < 0) {
                Py_XDECREF(v);
                Py_DECREF(callers_dict);
                goto fail;
            }
            Py_DECREF(v);
        }
        PyObject *v = Py_BuildValue("(KKddN)", (unsigned long long)(c->calls - c->recursive_calls),
                                    (unsigned long long)c->calls, c->own * sec, c->total * sec,
                                    callers_dict);
        if (!v || PyDict_SetItem(stats, PyList_GET_ITEM(labels, f), v) < 0) {
            Py_XDECREF(v);
            goto fail;
        }
        Py_DECREF(v);
    }
    Py_DECREF(labels);
    plumb_edge_index_free(&callers);
    return stats;
fail:
    Py_XDECREF(labels);
    Py_XDECREF(stats);
    plumb_edge_index_free(&callers);
    if (!PyErr_Occurred())
        PyErr_NoMemory();
    return NULL;
}

/* Threads' names by id, for the deterministic profile's tree (the tracer
 * knows threads by id only; threading knows their names). */
typedef struct plumb_thread_names {
    const uint64_t *ids;
    const char *const *names;
    uint32_t n;
} plumb_thread_names;

/* The thread names from a dict {thread ident: name}; the
 * strings stay owned by the dict.  0, or -1 with an exception set. */
static int thread_names_from(PyObject *dict, plumb_thread_names *names)
{
    names->n = 0;
    names->ids = NULL;
    names->names = NULL;
    if (!dict || dict == Py_None)
        return 0;
    if (!PyDict_Check(dict)) {
        PyErr_SetString(PyExc_TypeError, "thread names must be a dict");
        return -1;
    }
    Py_ssize_t n = PyDict_Size(dict), pos = 0, i = 0;
    uint64_t *ids = PyMem_Calloc((size_t)n + 1, sizeof *ids);
    const char **strs = PyMem_Calloc((size_t)n + 1, sizeof *strs);
    if (!ids || !strs) {
        PyMem_Free(ids);
        PyMem_Free(strs);
        PyErr_NoMemory();
        return -1;
    }
    PyObject *key, *value;
    while (PyDict_Next(dict, &pos, &key, &value) && i < n) {
        if (!PyLong_Check(key) || !PyUnicode_Check(value))
            continue;
        uint64_t id = PyLong_AsUnsignedLongLongMask(key);
        const char *name = PyUnicode_AsUTF8(value);
        if (!name) {
            PyErr_Clear();
            continue;
        }
        ids[i] = id;
        strs[i++] = name;
    }
    names->ids = ids;
    names->names = strs;
    names->n = (uint32_t)i;
    return 0;
}

/* The deterministic profile as the format table's writers see it: its
 * numbers (pstats' model) and, when it kept call paths, its exact tree
 * (paths_tree.c: nanoseconds of own time along each path, threads named),
 * each built only if fmt writes from it.  (Collapsed stacks of it are
 * written in microseconds, after a line that says so: write_collapsed.c.) */
static int write_profile(plumb_profile *p, const plumb_thread_names *names,
                         const char *path, const plumb_format *fmt, const char *cmd,
                         plumb_read_error *err)
{
    plumb_stats st;
    plumb_samples tree;
    int have_stats = 0, have_tree = 0;
    int rc = plumb_profile_sync_counts(p);
    if (rc == PLUMB_OK && (fmt->wants & PLUMB_FORMAT_STATS)
        && (rc = plumb_stats_from_profile(&st, p)) == PLUMB_OK)
        have_stats = 1;
    if (rc == PLUMB_OK && (fmt->wants & PLUMB_FORMAT_TREE) && p->track_paths && p->npaths > 0
        && (rc = plumb_samples_from_paths(&tree, p)) == PLUMB_OK) {
        have_tree = 1;
        for (uint32_t t = 0; names && t < tree.nthreads && rc == PLUMB_OK; t++)
            for (uint32_t i = 0; i < names->n; i++)
                if (names->ids[i] == tree.threads[t].id && names->names[i]) {
                    rc = plumb_samples_name_thread(&tree, t, names->names[i]);
                    break;
                }
    }
    if (rc == PLUMB_OK) {
        plumb_profile_view view = {.stats = have_stats ? &st : NULL,
                                   .tree = have_tree ? &tree : NULL, .tree_exact = have_tree,
                                   .kind = "deterministic", .creator = "plumb", .command = cmd,
                                   .pid = (long)getpid(), .lost_events = p->lost_events,
                                   .folded_calls = p->folded_calls};
        rc = plumb_write_view(path, fmt, &view, err);
    }
    if (have_tree)
        plumb_samples_free(&tree);
    if (have_stats)
        plumb_stats_free(&st);
    return rc;
}

/* _write(path, format, command=None, thread_names=None): writes the
 * profile in any format of the table. */
static PyObject *profiler_write(ProfilerObject *self, PyObject *args)
{
    PyObject *path;
    const char *format;
    const char *cmd = NULL;
    PyObject *thread_names = NULL;
    if (!PyArg_ParseTuple(args, "O&s|zO:_write", PyUnicode_FSConverter, &path, &format, &cmd,
                          &thread_names))
        return NULL;
    const plumb_format *fmt = plumb_format_arg(format);
    if (!fmt) {
        Py_DECREF(path);
        return NULL;
    }
    /* JSON rebuilds a tree from the edges (and says so); stack formats
     * cannot. */
    if (fmt->wants == PLUMB_FORMAT_TREE && !self->profile.track_paths) {
        Py_DECREF(path);
        return PyErr_Format(PyExc_ValueError,
                            "a profile made with paths=False has no call paths to write as %s",
                            format);
    }
    plumb_thread_names names;
    if (thread_names_from(thread_names, &names) < 0) {
        Py_DECREF(path);
        return NULL;
    }
    self->profile.ticks_per_second = ticks_per_second(self);
    self->calibrated = !self->enabled;
    plumb_read_error err = {{0}};
    int rc = write_profile(&self->profile, &names, PyBytes_AS_STRING(path), fmt, cmd, &err);
    PyMem_Free((void *)names.ids);
    PyMem_Free((void *)names.names);
    if (rc < 0)
        plumb_raise(rc, "profiler", PyTuple_GET_ITEM(args, 0), &err);
    Py_DECREF(path);
    if (rc < 0)
        return NULL;
    Py_RETURN_NONE;
}

static PyObject *profiler_lost_events(ProfilerObject *self, void *Py_UNUSED(closure))
{
    return PyLong_FromUnsignedLongLong(self->profile.lost_events);
}

static PyObject *profiler_clock_name(ProfilerObject *self, void *Py_UNUSED(closure))
{
    static const char *names[] = {"tsc", "monotonic", "external"};
    return PyUnicode_FromString(names[self->clock]);
}

static PyObject *profiler_event_source(ProfilerObject *self, void *Py_UNUSED(closure))
{
    if (!self->event_source)
        Py_RETURN_NONE;
    return PyUnicode_FromString(self->event_source);
}

static PyObject *profiler_enabled(ProfilerObject *self, void *Py_UNUSED(closure))
{
    return PyBool_FromLong(self->enabled);
}

static PyMethodDef profiler_methods[] = {
    {"enable", (PyCFunction)(void (*)(void))profiler_enable, METH_VARARGS | METH_KEYWORDS,
     "enable(subcalls=True, builtins=True)\nStart collecting events from every thread."},
    {"disable", (PyCFunction)profiler_disable, METH_NOARGS,
     "Stop collecting; calls still running are counted up to now."},
    {"clear", (PyCFunction)profiler_clear, METH_NOARGS, "Forget everything collected."},
    {"_reset", (PyCFunction)profiler_reset, METH_NOARGS,
     "_reset(): zero every count, keeping the functions named so far."},
    {"_ignore_this_thread", (PyCFunction)profiler_ignore_this_thread, METH_NOARGS,
     "Ignore the calling thread's events until the next enable()."},
    {"_stats", (PyCFunction)profiler_stats, METH_NOARGS, "The profile as pstats' dict."},
    {"_write", (PyCFunction)profiler_write, METH_VARARGS,
     "_write(path, format, command=None, thread_names=None): write 'pstats', 'callgrind', "
     "'json', or the call paths as 'collapsed', 'speedscope', 'tree' or 'pprof' (not gzipped)."},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef profiler_getset[] = {
    {"lost_events", (getter)profiler_lost_events, NULL,
     "Events dropped for lack of memory or stack depth.", NULL},
    {"clock", (getter)profiler_clock_name, NULL, "The clock in use.", NULL},
    {"enabled", (getter)profiler_enabled, NULL, "Whether events are being collected.", NULL},
    {"event_source", (getter)profiler_event_source, NULL,
     "What feeds the tracer: sys.monitoring, PyEval_SetProfile or PEP 523 frame evaluation.",
     NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

PyTypeObject plumb_ProfilerType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "plumb._plumb.Profiler",
    .tp_basicsize = sizeof(ProfilerObject),
    .tp_dealloc = (destructor)profiler_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "Profiler(timer=None, timeunit=0.0, subcalls=True, builtins=True, paths=True, "
              "threads=True)\n\n"
              "Deterministic profiler: counts every call and its time, per thread.",
    .tp_traverse = (traverseproc)profiler_traverse,
    .tp_clear = (inquiry)profiler_clear_refs,
    .tp_weaklistoffset = offsetof(ProfilerObject, weakrefs),
    .tp_methods = profiler_methods,
    .tp_getset = profiler_getset,
    .tp_init = (initproc)profiler_init,
    .tp_new = profiler_new,
};
