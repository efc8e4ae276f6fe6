/* CPython 3.13 publishes where its structures keep things: _Py_DebugOffsets,
 * the first member of _PyRuntime, starting with the cookie "xdebugpy" and
 * the version (Include/internal/pycore_runtime.h).  Parsing it here, from
 * raw bytes, serves a reader of this process and of another alike.  Each
 * field is a uint64; the indices below are positions in 3.13's layout. */
#include <string.h>

#include "sampler/debug_offsets.h"
#include "base/errors.h"

enum {
    COOKIE = 0, VERSION = 1, FREE_THREADED = 2,
    RUNTIME = 3,                 /* size, finalizing, interpreters_head */
    INTERP = RUNTIME + 3,        /* size, id, next, threads_head, ... (13) */
    TSTATE = INTERP + 13,        /* size, prev, next, interp, current_frame, thread_id,
                                    native_thread_id, datastack_chunk, status */
    FRAME = TSTATE + 9,          /* size, previous, executable, instr_ptr, localsplus, owner */
    CODE = FRAME + 6,            /* size, filename, name, qualname, linetable, firstlineno, ... (10) */
    PYOBJECT = CODE + 10,        /* size, ob_type */
    TYPE = PYOBJECT + 2,         /* 4 */
    TUPLE = TYPE + 4,            /* 3 */
    LIST = TUPLE + 3,            /* 3 */
    DICT = LIST + 3,             /* 3 */
    FLOAT = DICT + 3,            /* 2 */
    LONG = FLOAT + 2,            /* 3 */
    BYTES = LONG + 3,            /* 3 */
    UNICODE = BYTES + 3,         /* size, state, length, asciiobject_size */
    FIELDS = UNICODE + 4,
};

static uint64_t max3(uint64_t a, uint64_t b, uint64_t c)
{
    uint64_t m = a > b ? a : b;
    return m > c ? m : c;
}

size_t plumb_debug_offsets_size(void)
{
    return FIELDS * sizeof(uint64_t);
}

int plumb_offsets_from_debug_offsets(const void *raw, size_t len, plumb_py_offsets *out)
{
    if (len < plumb_debug_offsets_size() || memcmp(raw, "xdebugpy", 8) != 0)
        return PLUMB_EINVAL;
    uint64_t f[FIELDS];
    memcpy(f, raw, sizeof f);
    uint64_t version = f[VERSION];
    /* Only 3.13's layout is known here; a later version may reorder it. */
    if ((version >> 16) != 0x030D || f[FREE_THREADED] != 0)
        return PLUMB_EINVAL;
    /* Every offset must fall inside the structure it is an offset of (the
     * table is untrusted input too); plumb_py_offsets_check then bounds
     * what the walker reads. */
    if (f[INTERP + 3] >= f[INTERP] || f[TSTATE + 2] >= f[TSTATE] || f[TSTATE + 4] >= f[TSTATE]
        || f[TSTATE + 5] >= f[TSTATE] || f[TSTATE + 6] >= f[TSTATE] || f[TSTATE + 7] >= f[TSTATE] || f[FRAME + 1] >= f[FRAME]
        || f[FRAME + 2] >= f[FRAME] || f[FRAME + 5] >= f[FRAME] || f[CODE + 1] >= f[CODE]
        || f[CODE + 2] >= f[CODE] || f[CODE + 5] >= f[CODE] || f[UNICODE + 1] >= f[UNICODE]
        || f[UNICODE + 2] >= f[UNICODE] || f[UNICODE + 3] > f[UNICODE] || f[PYOBJECT + 1] >= 64)
        return PLUMB_EINVAL;
    out->version_hex = (uint32_t)version;
    out->interp_threads_head = (int64_t)f[INTERP + 3];
    /* The walker reads each structure up to the last field it uses. */
    out->tstate_size = (int64_t)max3(max3(f[TSTATE + 2], f[TSTATE + 4], f[TSTATE + 7]),
                                     max3(f[TSTATE + 5], f[TSTATE + 6], 0), 0) + 8;
    out->tstate_datastack_chunk = (int64_t)f[TSTATE + 7];
    /* _PyStackChunk is not in the table: {previous, size, top, data} on
     * 3.11-3.13 (Include/cpython/pystate.h). */
    out->chunk_previous = 0;
    out->chunk_size = 8;
    out->tstate_next = (int64_t)f[TSTATE + 2];
    out->tstate_frame = (int64_t)f[TSTATE + 4];
    out->tstate_thread_id = (int64_t)f[TSTATE + 5];
    out->tstate_native_thread_id = (int64_t)f[TSTATE + 6];
    out->tstate_cframe = -1;
    out->cframe_current_frame = -1;
    out->frame_size = (int64_t)max3(f[FRAME + 1], f[FRAME + 2], f[FRAME + 5]) + 8;
    out->frame_previous = (int64_t)f[FRAME + 1];
    out->frame_code = (int64_t)f[FRAME + 2];
    out->frame_owner = (int64_t)f[FRAME + 5];
    out->frame_owned_by_cstack = 3;          /* FRAME_OWNED_BY_CSTACK in 3.13 */
    out->frame_owned_by_generator = 1;       /* FRAME_OWNED_BY_GENERATOR in 3.13 */
    out->shim_code = 0;                      /* 3.13 shims hold None, not code */
    out->skip_init_cleanup = 1;              /* _Py_InitCleanup, as in 3.12 */
    out->object_type = (int64_t)f[PYOBJECT + 1];
    out->code_size = (int64_t)max3(f[CODE + 1], f[CODE + 2], max3(f[CODE + 5], f[PYOBJECT + 1], 0)) + 8;
    out->code_filename = (int64_t)f[CODE + 1];
    out->code_name = (int64_t)f[CODE + 2];
    out->code_firstlineno = (int64_t)f[CODE + 5];
    out->unicode_state = (int64_t)f[UNICODE + 1];
    out->unicode_length = (int64_t)f[UNICODE + 2];
    out->unicode_ascii_data = (int64_t)f[UNICODE + 3];
    /* PyCompactUnicodeObject adds utf8_length and utf8 to PyASCIIObject. */
    out->unicode_compact_data = (int64_t)f[UNICODE + 3] + 16;
    out->unicode_kind_shift = 2;
    out->unicode_compact_bit = 5;
    out->unicode_ascii_bit = 6;
    return plumb_py_offsets_check(out);
}
