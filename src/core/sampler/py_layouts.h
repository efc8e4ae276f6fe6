/* Where each CPython version keeps what plumb reads of a running
 * interpreter, in one place: a row per minor version (3.9-3.12) in the
 * generated py_layouts.c (scripts/gen-layouts.py measures them with
 * offsetof against each version's internal headers), and for 3.13 the row
 * made from the interpreter's own _Py_DebugOffsets (debug_offsets.c).  The
 * walker's offsets (pyoffsets.h) are derived from a row, for this process
 * (the binding) and for another (attach) alike.  Offsets are in bytes; -1
 * marks a field the version lacks. */
#ifndef PLUMB_PY_LAYOUTS_H
#define PLUMB_PY_LAYOUTS_H

#include <stdint.h>

#include "sampler/pyoffsets.h"

typedef struct plumb_py_layout {
    uint32_t version;                    /* 0x0309: major, minor */
    const char *measured_on;             /* "3.9.18", or "_Py_DebugOffsets" */
    int64_t runtime_interpreters_head;   /* _PyRuntime: the main interpreter */
    int64_t runtime_gil_tstate_current;  /* _PyRuntime: the GIL holder, 3.9-3.11 */
    int64_t interp_threads_head;
    int64_t interp_gil_locked;           /* the interpreter's own GIL, 3.12+: int */
    int64_t interp_gil_holder;           /* and its last holder (a thread state) */
    int64_t interp_trampoline;           /* 3.12: the shim frames' code object */
    int64_t tstate_next;
    int64_t tstate_interp;
    int64_t tstate_thread_id;
    int64_t tstate_native_thread_id;
    int64_t tstate_frame;
    int64_t tstate_cframe;
    int64_t cframe_current_frame;
    int64_t tstate_datastack_chunk;
    int64_t chunk_previous;
    int64_t chunk_size;
    int64_t frame_previous;
    int64_t frame_code;
    int64_t frame_owner;
    int64_t frame_owned_by_generator;
    int64_t frame_owned_by_cstack;
    int64_t object_type;
    int64_t code_filename;
    int64_t code_name;
    int64_t code_firstlineno;
    int64_t unicode_length;
    int64_t unicode_state;
    int64_t unicode_ascii_size;
    int64_t unicode_compact_size;
} plumb_py_layout;

extern const plumb_py_layout plumb_py_layouts[];
extern const unsigned plumb_py_layouts_count;

/* The row for a major.minor (0x030c), or NULL if there is none. */
const plumb_py_layout *plumb_py_layout_find(uint32_t major_minor);

/* The walker's offsets from a row; the type addresses (and 3.12's shim
 * code) are the caller's to fill, since they are where the interpreter
 * was loaded.  0, or PLUMB_EINVAL if the row fails plumb_py_offsets_check. */
int plumb_py_offsets_from_layout(const plumb_py_layout *l, uint32_t version_hex,
                                 plumb_py_offsets *out);

#endif
