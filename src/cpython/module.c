/* plumb._plumb: the extension module. */
#include "binding.h"
#include "formats.h"
#include "offsets.h"
#include "attach_target.h"
#include "request_record.h"

static PyObject *tsc_invariant(PyObject *module, PyObject *Py_UNUSED(ignored))
{
    (void)module;
    return PyBool_FromLong(plumb_clock_tsc_is_invariant());
}

static PyObject *enabled_profilers(PyObject *module, PyObject *Py_UNUSED(ignored))
{
    (void)module;
    return PyLong_FromLong(plumb_enabled_profilers());
}

static PyObject *set_own_dir(PyObject *module, PyObject *arg)
{
    (void)module;
    const char *dir = PyUnicode_AsUTF8(arg);
    if (!dir)
        return NULL;
    char *copy = strdup(dir);
    if (!copy)
        return PyErr_NoMemory();
    free(plumb_own_dir);
    plumb_own_dir = copy;
    Py_RETURN_NONE;
}

PyObject *plumb_convert_samples(PyObject *module, PyObject *args);
PyObject *plumb_write_labelled_stacks(PyObject *module, PyObject *args);
PyObject *plumb_set_thread_tag(PyObject *module, PyObject *arg);
PyObject *plumb_get_thread_tag(PyObject *module, PyObject *ignored);
PyObject *plumb_thread_tags_lost_count(PyObject *module, PyObject *ignored);
int plumb_module_add_request_path(PyObject *module);
int plumb_module_add_query_hook(PyObject *module);
int plumb_module_add_timed_call(PyObject *module);
int plumb_module_add_django_entry(PyObject *module);
int plumb_module_add_current_trace(PyObject *module);

static PyMethodDef module_methods[] = {
    {"formats", plumb_formats_info, METH_NOARGS,
     "formats(): the format table, ((name, patterns, writes_from, gzipped, reads), ...)."},
    {"convert_samples", plumb_convert_samples, METH_VARARGS,
     "convert_samples(data, in_format, out_path, out_format, interval[, name])."},
    {"write_labelled_stacks", plumb_write_labelled_stacks, METH_VARARGS,
     "write_labelled_stacks(groups, out_path, out_format, interval[, cpu_mode[, name]]): groups "
     "are (thread name, ((key, value), ...), ((frames, count), ...)), frames (file, line, name) "
     "outermost first; each group one thread whose samples carry its labels."},
    {"enabled_profilers", enabled_profilers, METH_NOARGS,
     "How many plumb profilers are collecting events now."},
    {"_set_own_dir", set_own_dir, METH_O,
     "Code under this directory (plumb's package) is left out of profiles."},
    {"set_thread_tag", plumb_set_thread_tag, METH_O,
     "set_thread_tag(tag): what this thread is doing, for the sampler (an unsigned 64-bit int, "
     "0 = nothing); returns the previous tag."},
    {"thread_tag", plumb_get_thread_tag, METH_NOARGS, "thread_tag(): this thread's tag."},
    {"thread_tags_lost", plumb_thread_tags_lost_count, METH_NOARGS,
     "thread_tags_lost(): tag writes of threads that found the tag table full."},
    {"attach_info", plumb_attach_info, METH_O,
     "attach_info(pid): the CPython found in process pid (version, where it was found), "
     "or ProcessLookupError, PermissionError, ValueError, RuntimeError saying why not."},
    {"dump_threads", plumb_dump_threads, METH_O,
     "dump_threads(pid): every thread's stack in process pid now: [{thread_id, native_id, "
     "name, holds_gil, state, frames (file, line, name, first_line) outermost first, "
     "truncated}]."},
    {"_line_at", plumb_line_at_py, METH_VARARGS,
     "_line_at(format, table, first_line, addr): the line the core's decoder finds at byte "
     "addr of a line table (format 1 co_lnotab, 2 3.10's co_linetable, 3 3.11+'s), or None."},
    {"_layout_mismatches", plumb_layout_mismatches, METH_NOARGS,
     "_layout_mismatches(): [] if the core's layout row for this CPython is what offsetof "
     "measures here; else one line per field that differs."},
    {"tsc_invariant", tsc_invariant, METH_NOARGS,
     "Whether this CPU's time-stamp counter runs at a constant rate."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT,
    .m_name = "plumb._plumb",
    .m_doc = "plumb's C engine: the deterministic tracer and the profile writers.",
    .m_size = -1,
    .m_methods = module_methods,
};

PyMODINIT_FUNC PyInit__plumb(void)
{
    if (PyType_Ready(&plumb_ProfilerType) < 0 || PyType_Ready(&plumb_SamplerType) < 0
        || PyType_Ready(&plumb_StatsType) < 0
        || PyType_Ready(&plumb_MetricsType) < 0 || plumb_version_layer_check() < 0)
        return NULL;
    PyObject *m = PyModule_Create(&module_def);
    if (!m)
        return NULL;
    Py_INCREF(&plumb_ProfilerType);
    Py_INCREF(&plumb_SamplerType);
    Py_INCREF(&plumb_StatsType);
    Py_INCREF(&plumb_MetricsType);
    if (PyModule_AddObject(m, "Profiler", (PyObject *)&plumb_ProfilerType) < 0
        || PyModule_AddObject(m, "Sampler", (PyObject *)&plumb_SamplerType) < 0
        || PyModule_AddObject(m, "Stats", (PyObject *)&plumb_StatsType) < 0
        || PyModule_AddObject(m, "Metrics", (PyObject *)&plumb_MetricsType) < 0
        || plumb_module_add_histogram(m) < 0
        || plumb_module_add_request_record(m) < 0
        || plumb_module_add_request_path(m) < 0
        || plumb_module_add_query_hook(m) < 0
        || plumb_module_add_timed_call(m) < 0
        || plumb_module_add_django_entry(m) < 0
        || plumb_module_add_current_trace(m) < 0
        || plumb_module_add_hook_functions(m) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
