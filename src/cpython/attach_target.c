/* _plumb.attach_info(pid) and _plumb.dump_threads(pid): what attach found
 * in another process, and every thread's stack there now. */
#include "attach_target.h"

#include "attach/thread_dump.h"
#include "sampler/line_table.h"
#include "errors.h"

int plumb_find_target(int pid, plumb_attach_target *t)
{
    int refusal = 0, rc;
    plumb_read_error err = {{0}};
    Py_BEGIN_ALLOW_THREADS
    rc = plumb_attach_find(t, pid, &refusal, &err);
    Py_END_ALLOW_THREADS
    if (rc == PLUMB_OK)
        return 0;
    PyObject *type = refusal == PLUMB_ATTACH_NO_PROCESS      ? PyExc_ProcessLookupError
                     : refusal == PLUMB_ATTACH_NOT_PERMITTED ? PyExc_PermissionError
                     : refusal == PLUMB_ATTACH_NOT_READY     ? PyExc_RuntimeError
                     : refusal                               ? PyExc_ValueError
                                                             : NULL;
    if (!type) {
        plumb_raise(rc, "attach", NULL, NULL);
        return -1;
    }
    PyErr_SetString(type, err.message);
    return -1;
}

static int pid_arg(PyObject *arg, int *pid)
{
    long v = PyLong_AsLong(arg);
    if (v == -1 && PyErr_Occurred())
        return -1;
    if (v <= 0 || v > 0x7fffffff) {
        PyErr_SetString(PyExc_ValueError, "a process id is a positive integer");
        return -1;
    }
    *pid = (int)v;
    return 0;
}

/* attach_info(pid) -> {"version", "version_source", "binary", "runtime", "interp"} */
PyObject *plumb_attach_info(PyObject *module, PyObject *arg)
{
    (void)module;
    int pid;
    plumb_attach_target t;
    if (pid_arg(arg, &pid) < 0 || plumb_find_target(pid, &t) < 0)
        return NULL;
    char version[16];
    plumb_attach_version_text(t.version_hex, version, sizeof version);
    return Py_BuildValue("{sssssssKsKsL}", "version", version, "version_source", t.version_source,
                         "binary", t.binary, "runtime", (unsigned long long)t.runtime, "interp",
                         (unsigned long long)t.interp, "pthread_tid", (long long)t.off.pthread_tid);
}

static PyObject *thread_dict(const plumb_thread_dump *d, const plumb_dumped_thread *th)
{
    PyObject *frames = PyList_New(th->depth);
    if (!frames)
        return NULL;
    for (uint32_t i = 0; i < th->depth; i++) {
        const plumb_func *f = &d->names.funcs[th->funcs[i]];
        PyObject *frame = Py_BuildValue("(sLsL)", f->file, (long long)th->lines[i], f->name,
                                        (long long)f->line);
        if (!frame) {
            Py_DECREF(frames);
            return NULL;
        }
        PyList_SET_ITEM(frames, i, frame);
    }
    PyObject *gil = th->holds_gil < 0 ? Py_None : th->holds_gil ? Py_True : Py_False;
    char state[2] = {th->state, 0};
    return Py_BuildValue("{sKsKszsOsssNsO}", "thread_id", (unsigned long long)th->thread_id,
                         "native_id", (unsigned long long)th->native_id, "name", th->name,
                         "holds_gil", gil, "state", state, "frames", frames, "truncated",
                         th->truncated ? Py_True : Py_False);
}

/* dump_threads(pid) -> [{"thread_id", "native_id", "name" (threading's, or
 * None), "holds_gil", "state",
 * "frames": [(file, line, name, first_line)] outermost first (line: the
 * current one where it could be read, else first_line), "truncated"}] */
PyObject *plumb_dump_threads(PyObject *module, PyObject *arg)
{
    (void)module;
    int pid, rc;
    plumb_attach_target t;
    if (pid_arg(arg, &pid) < 0 || plumb_find_target(pid, &t) < 0)
        return NULL;
    plumb_thread_dump d;
    Py_BEGIN_ALLOW_THREADS
    rc = plumb_attach_dump(&t, &d);
    Py_END_ALLOW_THREADS
    if (rc == PLUMB_EFAULT) {
        plumb_thread_dump_free(&d);
        return PyErr_Format(PyExc_ProcessLookupError,
                            "process %d: its threads could not be read (it has exited?)", pid);
    }
    if (rc < 0) {
        plumb_thread_dump_free(&d);
        return plumb_raise(rc, "dump", NULL, NULL);
    }
    PyObject *out = PyList_New(0);
    for (uint32_t i = 0; out && i < d.count; i++) {
        PyObject *item = thread_dict(&d, &d.threads[i]);
        if (!item || PyList_Append(out, item) < 0)
            Py_CLEAR(out);
        Py_XDECREF(item);
    }
    plumb_thread_dump_free(&d);
    return out;
}

/* _line_at(format, table, first_line, addr) -> line or None: the core's
 * line-table decoder (sampler/line_table.h), for tests against the
 * running CPython's own tables. */
PyObject *plumb_line_at_py(PyObject *module, PyObject *args)
{
    (void)module;
    int format;
    Py_buffer table;
    long long first, addr;
    if (!PyArg_ParseTuple(args, "iy*LL", &format, &table, &first, &addr))
        return NULL;
    int64_t line;
    int rc = plumb_line_at(format, table.buf, (size_t)table.len, first, addr, &line);
    PyBuffer_Release(&table);
    if (rc < 0 || line < 0)
        Py_RETURN_NONE;
    return PyLong_FromLongLong(line);
}
