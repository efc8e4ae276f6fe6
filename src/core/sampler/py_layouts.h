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

/* Where objects keep what attach reads beyond the stacks: sys.modules, a
 * module's dict, dicts and their keys, instance attributes (a type's dict
 * offset, or 3.11+'s managed dict and values), ints, bytes, a code
 * object's line table and a frame's current instruction.  One row per
 * minor version 3.9-3.13, generated like the rows above. */
typedef struct plumb_py_object_layout {
    uint32_t version;
    const char *measured_on;
    int64_t interp_modules;          /* PyInterpreterState: sys.modules */
    int64_t module_dict;             /* PyModuleObject: md_dict */
    int64_t type_flags;              /* PyTypeObject: tp_flags (unsigned long) */
    int64_t type_basicsize;
    int64_t type_dictoffset;
    int64_t heaptype_cached_keys;    /* PyHeapTypeObject: shared keys of split dicts */
    int64_t tpflags_managed_dict;    /* 3.11+: the flag's value; -1 before */
    int64_t tpflags_inline_values;   /* 3.13 */
    int64_t managed_dict;            /* 3.11+: the dict's offset from the object (negative) */
    int64_t managed_values;          /* 3.11 only: the values' offset from the object */
    int64_t dict_keys;
    int64_t dict_values;
    int64_t keys_size;               /* 3.9-3.10: dk_size (a count) */
    int64_t keys_log2_size;          /* 3.11+: uint8 */
    int64_t keys_log2_index_bytes;   /* 3.11+: uint8 */
    int64_t keys_kind;               /* 3.11+: uint8; 0 = general entries (with hash) */
    int64_t keys_nentries;
    int64_t keys_indices;
    int64_t values_values;           /* the array in PyDictValues */
    int64_t values_valid;            /* 3.13: uint8, inline values in use */
    int64_t long_size;               /* ob_size (3.9-3.11) or lv_tag (3.12+) */
    int64_t long_digits;
    int64_t long_tag_bits;           /* 3.12+: bits of lv_tag below the digit count */
    int64_t long_shift;              /* bits per digit */
    int64_t bytes_size;
    int64_t bytes_data;
    int64_t code_linetable;          /* 3.9 co_lnotab, 3.10+ co_linetable */
    int64_t code_code;               /* 3.11+: co_code_adaptive */
    int64_t frame_lasti;             /* int f_lasti (3.9-3.10), instruction pointer (3.11+) */
} plumb_py_object_layout;

extern const plumb_py_layout plumb_py_layouts[];
extern const unsigned plumb_py_layouts_count;

extern const plumb_py_object_layout plumb_py_object_layouts[];
extern const unsigned plumb_py_object_layouts_count;

/* The row for a major.minor (0x030c), or NULL if there is none. */
const plumb_py_layout *plumb_py_layout_find(uint32_t major_minor);
const plumb_py_object_layout *plumb_py_object_layout_find(uint32_t major_minor);

/* 0 if every offset of an object row lies where its readers read it
 * (within their buffers, each field inside its header); PLUMB_EINVAL
 * otherwise.  Rows are checked before use. */
int plumb_py_object_layout_check(const plumb_py_object_layout *l);

/* Adds to o (made by plumb_py_offsets_from_layout) what reading current
 * lines needs, from the same version's object row: 0, or PLUMB_EINVAL
 * (o left as it was) if the row has none or fails the checks. */
int plumb_py_offsets_add_lines(plumb_py_offsets *o, const plumb_py_object_layout *l,
                               uintptr_t bytes_type);

/* The walker's offsets from a row; the type addresses (and 3.12's shim
 * code) are the caller's to fill, since they are where the interpreter
 * was loaded.  0, or PLUMB_EINVAL if the row fails plumb_py_offsets_check. */
int plumb_py_offsets_from_layout(const plumb_py_layout *l, uint32_t version_hex,
                                 plumb_py_offsets *out);

#endif
