/* Where a CPython interpreter keeps what the sampler reads: thread states,
 * frames, code objects, strings.  The binding fills this for the version it
 * is built against (src/cpython/offsets.c); the core knows no Python
 * header.  Offsets are in bytes; -1 marks a field the version lacks. */
#ifndef PLUMB_PYOFFSETS_H
#define PLUMB_PYOFFSETS_H

#include <stdint.h>

/* The most the walker reads of one structure, and of a str's header; and
 * the largest offset at which it reads a single pointer (into the
 * interpreter state, which is large). */
#define PLUMB_MAX_STRUCT 4096
#define PLUMB_MAX_STR_HEADER 256
#define PLUMB_MAX_POINTER_OFFSET (1 << 24)

typedef struct plumb_py_offsets {
    uint32_t version_hex;

    int64_t interp_threads_head;     /* PyInterpreterState: first PyThreadState* */

    int64_t tstate_size;             /* bytes to read of a PyThreadState */
    int64_t tstate_next;
    int64_t tstate_thread_id;        /* pthread_t */
    int64_t tstate_native_thread_id; /* kernel tid; -1 before 3.11 */
    /* Before 3.11, for another process: where glibc's struct pthread (at
     * thread_id) holds the kernel tid, an int; -1 when not known. */
    int64_t pthread_tid;
    /* The thread's innermost frame: *(tstate + tstate_frame) before 3.11
     * and from 3.13; *(*(tstate + tstate_cframe) + cframe_current_frame) on
     * 3.11 and 3.12. */
    int64_t tstate_frame;
    int64_t tstate_cframe;
    int64_t cframe_current_frame;

    /* From 3.11 frames live in the thread's data stack, a list of chunks:
     * tstate + tstate_datastack_chunk holds the newest, each chunk holds its
     * size in bytes and the previous chunk.  Only shim frames live
     * elsewhere (on the C stack).  -1 before 3.11. */
    int64_t tstate_datastack_chunk;
    int64_t chunk_previous;
    int64_t chunk_size;

    int64_t frame_size;              /* bytes to read of a frame */
    int64_t frame_previous;
    int64_t frame_code;              /* may hold a non-code object on 3.13 */
    int64_t frame_owner;             /* char; -1 before 3.11 */
    int frame_owned_by_cstack;       /* owner of C-stack shim frames; -1 if none */
    int frame_owned_by_generator;    /* owner of a running generator's frame, which
                                        lives in the generator; -1 before 3.11 */

    int64_t object_type;             /* ob_type in every object */
    int64_t code_size;               /* bytes to read of a code object */
    int64_t code_filename;
    int64_t code_name;
    int64_t code_firstlineno;        /* int */

    int64_t unicode_length;          /* Py_ssize_t */
    int64_t unicode_state;           /* the state bit field, as a uint32 */
    int64_t unicode_ascii_data;      /* sizeof(PyASCIIObject) */
    int64_t unicode_compact_data;    /* sizeof(PyCompactUnicodeObject) */
    /* state bits: kind in bits 2-4, compact bit 5, ascii bit 6 on 3.9-3.13 */
    int unicode_kind_shift;
    int unicode_compact_bit;
    int unicode_ascii_bit;

    uintptr_t code_type;             /* &PyCode_Type, to validate what is read */
    uintptr_t unicode_type;          /* &PyUnicode_Type */
    /* 3.12: the code object of C-stack shim frames (the interpreter's
     * trampoline); 0 where shims have none.  A frame holding it but not
     * marked as a shim is C-stack memory already reused: a torn read. */
    uintptr_t shim_code;
    /* 3.12+: the interpreter's _Py_InitCleanup (run between a class call
     * and its __init__; not exported) is a code object with one string as
     * both its name and its file, and line 0, which no compiled code has.
     * 1 where frames of such code are to be left out of stacks. */
    int skip_init_cleanup;

    /* Current lines (attach's dump; -1 / 0 where not read, as for this
     * process): a frame's current instruction, an int f_lasti (3.9-3.10:
     * in bytes on 3.9, in code units on 3.10) or a pointer into the code
     * (3.11+, at code + code_code); the code's line table (a bytes
     * object: its size and data) and its format (line_table.h). */
    int64_t frame_lasti;
    int64_t frame_instr;
    int64_t code_linetable;
    int64_t code_code;
    int64_t bytes_size;
    int64_t bytes_data;
    int line_format;
    uintptr_t bytes_type;            /* &PyBytes_Type; 0: lines not read */
} plumb_py_offsets;

/* 0 if every offset lies inside the bytes the walker reads of its
 * structure; PLUMB_EINVAL otherwise.  Tables are checked before use. */
int plumb_py_offsets_check(const plumb_py_offsets *o);

#endif
