/* The interpreter's structure offsets for the sampler (src/core/pyoffsets.h),
 * for the CPython this extension is built against: from 3.13, parsed from
 * the _Py_DebugOffsets that CPython publishes; before, measured with
 * offsetof against the version's own internal headers.  This file alone
 * compiles with Py_BUILD_CORE, and it only measures: it calls nothing
 * internal. */
#define Py_BUILD_CORE 1
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <dlfcn.h>
#include <stddef.h>
#include <unistd.h>

#if PY_VERSION_HEX < 0x030D0000
#include <frameobject.h>
#include "internal/pycore_interp.h"
#if PY_VERSION_HEX >= 0x030B0000
#include "internal/pycore_frame.h"
#endif
#endif

#include "sampler/debug_offsets.h"
#include "base/errors.h"
#include "sampler/memread.h"
#include "sampler/pyoffsets.h"
#include "offsets.h"

static void common(plumb_py_offsets *o)
{
    o->version_hex = PY_VERSION_HEX;
    o->object_type = offsetof(PyObject, ob_type);
    o->code_type = (uintptr_t)&PyCode_Type;
    o->unicode_type = (uintptr_t)&PyUnicode_Type;
    o->unicode_length = offsetof(PyASCIIObject, length);
    o->unicode_state = offsetof(PyASCIIObject, state);
    o->unicode_ascii_data = sizeof(PyASCIIObject);
    o->unicode_compact_data = sizeof(PyCompactUnicodeObject);
    /* state: interned:2, kind:3, compact:1, ascii:1, ... from bit 0 (GCC,
     * little-endian) on 3.9 to 3.13. */
    o->unicode_kind_shift = 2;
    o->unicode_compact_bit = 5;
    o->unicode_ascii_bit = 6;
    o->tstate_cframe = -1;
    o->cframe_current_frame = -1;
    o->tstate_native_thread_id = -1;
    o->frame_owner = -1;
    o->frame_owned_by_cstack = -1;
    o->frame_owned_by_generator = -1;
    o->shim_code = 0;
    o->skip_init_cleanup = 0;
    o->tstate_datastack_chunk = -1;
    o->chunk_previous = -1;
    o->chunk_size = -1;
}

#define MAX3(a, b, c) ((a) > (b) ? ((a) > (c) ? (a) : (c)) : ((b) > (c) ? (b) : (c)))

int plumb_fill_offsets(plumb_py_offsets *o, uintptr_t *interp, plumb_read_error *err)
{
    common(o);
    *interp = (uintptr_t)PyInterpreterState_Get();
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
    uintptr_t code_type = o->code_type, unicode_type = o->unicode_type;
    int rc = plumb_offsets_from_debug_offsets(raw, n, o, err);
    o->code_type = code_type;
    o->unicode_type = unicode_type;
    return rc;
#else
    o->tstate_next = offsetof(PyThreadState, next);
    o->tstate_thread_id = offsetof(PyThreadState, thread_id);
    o->code_filename = offsetof(PyCodeObject, co_filename);
    o->code_name = offsetof(PyCodeObject, co_name);
    o->code_firstlineno = offsetof(PyCodeObject, co_firstlineno);
    o->code_size = MAX3(o->code_filename, o->code_name, o->code_firstlineno) + 8;
#if PY_VERSION_HEX < 0x030B0000
    o->interp_threads_head = offsetof(PyInterpreterState, tstate_head);
    o->tstate_frame = offsetof(PyThreadState, frame);
    o->frame_previous = offsetof(PyFrameObject, f_back);
    o->frame_code = offsetof(PyFrameObject, f_code);
    o->frame_size = MAX3(o->frame_previous, o->frame_code, 0) + 8;
#else
    o->interp_threads_head = offsetof(PyInterpreterState, threads.head);
    o->tstate_native_thread_id = offsetof(PyThreadState, native_thread_id);
    o->tstate_datastack_chunk = offsetof(PyThreadState, datastack_chunk);
    o->chunk_previous = offsetof(_PyStackChunk, previous);
    o->chunk_size = offsetof(_PyStackChunk, size);
    o->tstate_cframe = offsetof(PyThreadState, cframe);
    o->tstate_frame = -1;
    o->cframe_current_frame = offsetof(_PyCFrame, current_frame);
    o->frame_previous = offsetof(_PyInterpreterFrame, previous);
    o->frame_code = offsetof(_PyInterpreterFrame, f_code);
    o->frame_owner = offsetof(_PyInterpreterFrame, owner);
    o->frame_owned_by_generator = FRAME_OWNED_BY_GENERATOR;
    o->frame_size = MAX3(o->frame_previous, o->frame_code, o->frame_owner) + 8;
#if PY_VERSION_HEX >= 0x030C0000
    o->frame_owned_by_cstack = FRAME_OWNED_BY_CSTACK;
    o->shim_code = (uintptr_t)((PyInterpreterState *)*interp)->interpreter_trampoline;
    o->skip_init_cleanup = 1;
#endif
#endif
    o->tstate_size = MAX3(MAX3(o->tstate_next, o->tstate_thread_id, o->tstate_datastack_chunk),
                          MAX3(o->tstate_native_thread_id, o->tstate_frame, o->tstate_cframe), 0) + 8;
    (void)err;
    return PLUMB_OK;
#endif
}
