/* The interpreter's structure offsets for the sampler of this process: the
 * core's layout row for the running version (src/core/sampler/py_layouts.h:
 * the generated table for 3.9-3.12, this interpreter's own _Py_DebugOffsets
 * from 3.13), the same row attach uses for another process.  This file
 * alone compiles with Py_BUILD_CORE, for _layout_mismatches(): the row set
 * against what offsetof measures in the version's own internal headers, so
 * that every CPython the suite runs on checks its row.  It calls nothing
 * internal. */
#define Py_BUILD_CORE 1
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <dlfcn.h>
#include <stddef.h>
#include <string.h>
#include <unistd.h>

#include <frameobject.h>
#include "internal/pycore_interp.h"
#include "internal/pycore_runtime.h"
#if PY_VERSION_HEX >= 0x030B0000
#include "internal/pycore_frame.h"
#endif

#include "sampler/debug_offsets.h"
#include "base/errors.h"
#include "sampler/memread.h"
#include "sampler/py_layouts.h"
#include "offsets.h"

/* This interpreter's row: the table's, or made from its _Py_DebugOffsets. */
static int running_layout(plumb_py_layout *row, plumb_read_error *err)
{
#if PY_VERSION_HEX >= 0x030D0000
    void *runtime = dlsym(RTLD_DEFAULT, "_PyRuntime");
    if (!runtime)
        return PLUMB_EINVAL;
    unsigned char raw[1024];
    size_t n = plumb_debug_offsets_size();
    plumb_process_source self;
    plumb_process_source_init(&self, getpid());
    if (n > sizeof raw || plumb_memread(&self.base, (uintptr_t)runtime, raw, n) < 0)
        return PLUMB_EFAULT;
    uint32_t version_hex;
    return plumb_layout_from_debug_offsets(raw, n, row, &version_hex, err);
#else
    const plumb_py_layout *found = plumb_py_layout_find(PY_VERSION_HEX >> 16);
    if (!found) {
        if (err)
            snprintf(err->message, sizeof err->message,
                     "no layout row for CPython %d.%d (scripts/gen-layouts.py)", PY_MAJOR_VERSION,
                     PY_MINOR_VERSION);
        return PLUMB_EINVAL;
    }
    *row = *found;
    return PLUMB_OK;
#endif
}

int plumb_fill_offsets(plumb_py_offsets *o, uintptr_t *interp, plumb_read_error *err)
{
    plumb_py_layout row;
    *interp = (uintptr_t)PyInterpreterState_Get();
    int rc = running_layout(&row, err);
    if (rc == PLUMB_OK)
        rc = plumb_py_offsets_from_layout(&row, PY_VERSION_HEX, o);
    if (rc < 0)
        return rc;
    o->code_type = (uintptr_t)&PyCode_Type;
    o->unicode_type = (uintptr_t)&PyUnicode_Type;
    /* 3.12: the shim frames' code, read by the row's offset as attach reads it. */
    if (row.interp_trampoline >= 0)
        memcpy(&o->shim_code, (const char *)*interp + row.interp_trampoline, sizeof o->shim_code);
    return PLUMB_OK;
}

/* One row field against offsetof; a mismatch appended to out as "field:
 * table T, offsetof M". */
static int compare(PyObject *out, const char *field, int64_t table, int64_t measured)
{
    if (table == measured)
        return 0;
    PyObject *line = PyUnicode_FromFormat("%s: table %lld, offsetof %lld", field, (long long)table,
                                          (long long)measured);
    int rc = line ? PyList_Append(out, line) : -1;
    Py_XDECREF(line);
    return rc;
}

#define CHECK(field, measured)                                                                    \
    if (compare(out, #field, row.field, (int64_t)(measured)) < 0)                               \
        goto fail
#define ABSENT(field) CHECK(field, -1)

/* _layout_mismatches(): [] when the running version's row is what offsetof
 * measures here; otherwise one line per field that differs. */
PyObject *plumb_layout_mismatches(PyObject *module, PyObject *Py_UNUSED(ignored))
{
    (void)module;
    plumb_py_layout row;
    plumb_read_error err = {{0}};
    if (running_layout(&row, &err) < 0)
        return PyErr_Format(PyExc_RuntimeError, "no layout: %s", err.message);
    PyObject *out = PyList_New(0);
    if (!out)
        return NULL;
    CHECK(runtime_interpreters_head, offsetof(_PyRuntimeState, interpreters.head));
    CHECK(tstate_next, offsetof(PyThreadState, next));
    CHECK(tstate_interp, offsetof(PyThreadState, interp));
    CHECK(tstate_thread_id, offsetof(PyThreadState, thread_id));
    CHECK(object_type, offsetof(PyObject, ob_type));
    CHECK(code_filename, offsetof(PyCodeObject, co_filename));
    CHECK(code_name, offsetof(PyCodeObject, co_name));
    CHECK(code_firstlineno, offsetof(PyCodeObject, co_firstlineno));
    CHECK(unicode_length, offsetof(PyASCIIObject, length));
    CHECK(unicode_state, offsetof(PyASCIIObject, state));
    CHECK(unicode_ascii_size, sizeof(PyASCIIObject));
    CHECK(unicode_compact_size, sizeof(PyCompactUnicodeObject));
#if PY_VERSION_HEX < 0x030B0000
    CHECK(runtime_gil_tstate_current, offsetof(_PyRuntimeState, gilstate.tstate_current));
    CHECK(interp_threads_head, offsetof(PyInterpreterState, tstate_head));
    CHECK(tstate_frame, offsetof(PyThreadState, frame));
    CHECK(frame_previous, offsetof(PyFrameObject, f_back));
    CHECK(frame_code, offsetof(PyFrameObject, f_code));
    ABSENT(tstate_native_thread_id);
    ABSENT(tstate_cframe);
    ABSENT(tstate_datastack_chunk);
    ABSENT(frame_owner);
    ABSENT(interp_gil_locked);
    ABSENT(interp_trampoline);
#else
    CHECK(interp_threads_head, offsetof(PyInterpreterState, threads.head));
    CHECK(tstate_native_thread_id, offsetof(PyThreadState, native_thread_id));
    CHECK(tstate_datastack_chunk, offsetof(PyThreadState, datastack_chunk));
    CHECK(chunk_previous, offsetof(_PyStackChunk, previous));
    CHECK(chunk_size, offsetof(_PyStackChunk, size));
    CHECK(frame_previous, offsetof(_PyInterpreterFrame, previous));
    CHECK(frame_owner, offsetof(_PyInterpreterFrame, owner));
    CHECK(frame_owned_by_generator, FRAME_OWNED_BY_GENERATOR);
#if PY_VERSION_HEX < 0x030D0000
    CHECK(tstate_cframe, offsetof(PyThreadState, cframe));
    CHECK(cframe_current_frame, offsetof(_PyCFrame, current_frame));
    CHECK(frame_code, offsetof(_PyInterpreterFrame, f_code));
    ABSENT(tstate_frame);
#else
    CHECK(tstate_frame, offsetof(PyThreadState, current_frame));
    CHECK(frame_code, offsetof(_PyInterpreterFrame, f_executable));
    ABSENT(tstate_cframe);
#endif
#if PY_VERSION_HEX < 0x030C0000
    CHECK(runtime_gil_tstate_current, offsetof(_PyRuntimeState, gilstate.tstate_current));
    ABSENT(interp_gil_locked);
    ABSENT(frame_owned_by_cstack);
#else
    ABSENT(runtime_gil_tstate_current);
    CHECK(interp_gil_locked, offsetof(PyInterpreterState, _gil.locked));
    CHECK(interp_gil_holder, offsetof(PyInterpreterState, _gil.last_holder));
    CHECK(frame_owned_by_cstack, FRAME_OWNED_BY_CSTACK);
#endif
#if PY_VERSION_HEX >= 0x030C0000 && PY_VERSION_HEX < 0x030D0000
    CHECK(interp_trampoline, offsetof(PyInterpreterState, interpreter_trampoline));
#else
    ABSENT(interp_trampoline);
#endif
#endif
    return out;
fail:
    Py_DECREF(out);
    return NULL;
}
