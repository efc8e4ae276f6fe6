/* CPython 3.13 publishes where its structures keep things: _Py_DebugOffsets,
 * the first member of _PyRuntime, starting with the cookie "xdebugpy" and
 * the version (Include/internal/pycore_runtime.h).  Parsing it here, from
 * raw bytes, serves a reader of this process and of another alike.
 *
 * The table is mirrored below as CPython declares it, section by section,
 * and read by field name: a position counted by hand breaks silently when
 * a section is miscounted, a named field does not.  Everything in it is
 * untrusted (another process's memory, later): each field the walker uses
 * is checked, once, against its section's size and against what the
 * walker reads of that structure, and a failure names the field. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "sampler/debug_offsets.h"

/* 3.13.0's _Py_DebugOffsets.  Every member is a uint64_t (offsets and
 * sizes in bytes), so the struct has no padding and its bytes are the
 * table's. */
typedef struct debug_offsets_313 {
    char cookie[8];
    uint64_t version;
    uint64_t free_threaded;
    struct {
        uint64_t size, finalizing, interpreters_head;
    } runtime_state;
    struct {
        uint64_t size, id, next, threads_head, gc, imports_modules, sysdict, builtins, ceval_gil,
            gil_runtime_state, gil_runtime_state_enabled, gil_runtime_state_locked,
            gil_runtime_state_holder;
    } interpreter_state;
    struct {
        uint64_t size, prev, next, interp, current_frame, thread_id, native_thread_id,
            datastack_chunk, status;
    } thread_state;
    struct {
        uint64_t size, previous, executable, instr_ptr, localsplus, owner;
    } interpreter_frame;
    struct {
        uint64_t size, filename, name, qualname, linetable, firstlineno, argcount,
            localsplusnames, localspluskinds, co_code_adaptive;
    } code_object;
    struct {
        uint64_t size, ob_type;
    } pyobject;
    struct {
        uint64_t size, tp_name, tp_repr, tp_flags;
    } type_object;
    struct {
        uint64_t size, ob_item, ob_size;
    } tuple_object, list_object;
    struct {
        uint64_t size, ma_keys, ma_values;
    } dict_object;
    struct {
        uint64_t size, ob_fval;
    } float_object;
    struct {
        uint64_t size, lv_tag, ob_digit;
    } long_object;
    struct {
        uint64_t size, ob_size, ob_sval;
    } bytes_object;
    struct {
        uint64_t size, state, length, asciiobject_size;
    } unicode_object;
    struct {
        uint64_t size, collecting;
    } gc;
} debug_offsets_313;

/* 3 header words and 70 in sections: a member added or dropped above
 * breaks the build instead of shifting every field after it. */
_Static_assert(sizeof(debug_offsets_313) == 73 * sizeof(uint64_t),
               "debug_offsets_313 must mirror 3.13's _Py_DebugOffsets exactly");
_Static_assert(offsetof(debug_offsets_313, runtime_state) == 24, "header is 24 bytes");
_Static_assert(offsetof(debug_offsets_313, unicode_object) == 67 * sizeof(uint64_t),
               "unicode_object is the 68th word");

size_t plumb_debug_offsets_size(void)
{
    return sizeof(debug_offsets_313);
}

/* A field the walker reads: width bytes at offset, which must end inside
 * the limit named by `within` (its section's size, or what the walker
 * reads of the structure).  For a size (is_size), offset is the size and
 * width what the walker adds to it. */
typedef struct field_check {
    const char *field;
    uint64_t offset, width;
    const char *within;
    uint64_t limit;
    int is_size;
} field_check;

static int check_fields(const field_check *checks, size_t n, plumb_read_error *err)
{
    for (size_t i = 0; i < n; i++) {
        const field_check *c = &checks[i];
        /* Written so that no sum can wrap: offsets are any uint64. */
        if (c->offset <= c->limit && c->width <= c->limit - c->offset)
            continue;
        if (err && c->is_size)
            snprintf(err->message, sizeof err->message,
                     "_Py_DebugOffsets: %s is %" PRIu64 " bytes, more than %s (%" PRIu64 " bytes)",
                     c->field, c->offset, c->within, c->limit - c->width);
        else if (err)
            snprintf(err->message, sizeof err->message,
                     "_Py_DebugOffsets: %s is %" PRIu64 ", outside %s (%" PRIu64 " bytes)",
                     c->field, c->offset, c->within, c->limit);
        return PLUMB_EINVAL;
    }
    return PLUMB_OK;
}

static int fail_plain(plumb_read_error *err, const char *what)
{
    if (err)
        snprintf(err->message, sizeof err->message, "_Py_DebugOffsets: %s", what);
    return PLUMB_EINVAL;
}

int plumb_layout_from_debug_offsets(const void *raw, size_t len, plumb_py_layout *out,
                                    uint32_t *version_hex, plumb_read_error *err)
{
    debug_offsets_313 d;
    if (len < sizeof d)
        return fail_plain(err, "shorter than 3.13's table");
    memcpy(&d, raw, sizeof d);
    if (memcmp(d.cookie, "xdebugpy", 8) != 0)
        return fail_plain(err, "no \"xdebugpy\" cookie");
    /* Only 3.13's layout is known here; 3.14 adds fields and sections. */
    if ((d.version >> 16) != 0x030D)
        return fail_plain(err, "version is not 3.13 (a layout this reader does not know)");
    if (d.free_threaded != 0)
        return fail_plain(err, "free_threaded is set (a layout this reader does not know)");

    const uint64_t ptr = sizeof(void *);
    const uint64_t str_header = d.unicode_object.asciiobject_size;
    /* First, each field inside its own section, as CPython measured it. */
    const field_check in_section[] = {
        {"interpreter_state.threads_head", d.interpreter_state.threads_head, ptr,
         "interpreter_state.size", d.interpreter_state.size},
        {"runtime_state.interpreters_head", d.runtime_state.interpreters_head, ptr,
         "runtime_state.size", d.runtime_state.size},
        {"interpreter_state.gil_runtime_state_locked", d.interpreter_state.gil_runtime_state_locked,
         4, "interpreter_state.size", d.interpreter_state.size},
        {"interpreter_state.gil_runtime_state_holder", d.interpreter_state.gil_runtime_state_holder,
         ptr, "interpreter_state.size", d.interpreter_state.size},
        {"thread_state.next", d.thread_state.next, ptr, "thread_state.size", d.thread_state.size},
        {"thread_state.interp", d.thread_state.interp, ptr, "thread_state.size",
         d.thread_state.size},
        {"thread_state.current_frame", d.thread_state.current_frame, ptr, "thread_state.size",
         d.thread_state.size},
        {"thread_state.thread_id", d.thread_state.thread_id, ptr, "thread_state.size",
         d.thread_state.size},
        {"thread_state.native_thread_id", d.thread_state.native_thread_id, ptr,
         "thread_state.size", d.thread_state.size},
        {"thread_state.datastack_chunk", d.thread_state.datastack_chunk, ptr, "thread_state.size",
         d.thread_state.size},
        {"interpreter_frame.previous", d.interpreter_frame.previous, ptr, "interpreter_frame.size",
         d.interpreter_frame.size},
        {"interpreter_frame.executable", d.interpreter_frame.executable, ptr,
         "interpreter_frame.size", d.interpreter_frame.size},
        {"interpreter_frame.owner", d.interpreter_frame.owner, 1, "interpreter_frame.size",
         d.interpreter_frame.size},
        {"code_object.filename", d.code_object.filename, ptr, "code_object.size",
         d.code_object.size},
        {"code_object.name", d.code_object.name, ptr, "code_object.size", d.code_object.size},
        {"code_object.firstlineno", d.code_object.firstlineno, 4, "code_object.size",
         d.code_object.size},
        {"pyobject.ob_type", d.pyobject.ob_type, ptr, "pyobject.size", d.pyobject.size},
        {"unicode_object.asciiobject_size", str_header, 0, "unicode_object.size",
         d.unicode_object.size, 1},
        {"unicode_object.state", d.unicode_object.state, 4, "unicode_object.asciiobject_size",
         str_header},
        {"unicode_object.length", d.unicode_object.length, 8, "unicode_object.asciiobject_size",
         str_header},
        {"pyobject.ob_type", d.pyobject.ob_type, ptr, "code_object.size", d.code_object.size},
        {"pyobject.ob_type", d.pyobject.ob_type, ptr, "unicode_object.asciiobject_size",
         str_header},
    };
    int rc = check_fields(in_section, sizeof in_section / sizeof *in_section, err);
    if (rc < 0)
        return rc;
    /* Then inside what the walker reads of each structure (its buffers:
     * pyoffsets.h), which bounds sizes an honest table could never
     * have. */
    const field_check in_reads[] = {
        {"interpreter_state.threads_head", d.interpreter_state.threads_head, ptr,
         "the interpreter state the walker reads", PLUMB_MAX_POINTER_OFFSET},
        {"runtime_state.interpreters_head", d.runtime_state.interpreters_head, ptr,
         "the runtime state plumb reads", PLUMB_MAX_POINTER_OFFSET},
        {"interpreter_state.gil_runtime_state_holder", d.interpreter_state.gil_runtime_state_holder,
         ptr, "the interpreter state plumb reads", PLUMB_MAX_POINTER_OFFSET},
        {"interpreter_state.gil_runtime_state_locked", d.interpreter_state.gil_runtime_state_locked,
         ptr, "the interpreter state plumb reads", PLUMB_MAX_POINTER_OFFSET},
        {"thread_state.next", d.thread_state.next, ptr, "the thread state the walker reads",
         PLUMB_MAX_STRUCT},
        {"thread_state.interp", d.thread_state.interp, ptr, "the thread state the walker reads",
         PLUMB_MAX_STRUCT},
        {"thread_state.current_frame", d.thread_state.current_frame, ptr,
         "the thread state the walker reads", PLUMB_MAX_STRUCT},
        {"thread_state.thread_id", d.thread_state.thread_id, ptr,
         "the thread state the walker reads", PLUMB_MAX_STRUCT},
        {"thread_state.native_thread_id", d.thread_state.native_thread_id, ptr,
         "the thread state the walker reads", PLUMB_MAX_STRUCT},
        {"thread_state.datastack_chunk", d.thread_state.datastack_chunk, ptr,
         "the thread state the walker reads", PLUMB_MAX_STRUCT},
        {"interpreter_frame.previous", d.interpreter_frame.previous, ptr,
         "the frame the walker reads", PLUMB_MAX_STRUCT},
        {"interpreter_frame.executable", d.interpreter_frame.executable, ptr,
         "the frame the walker reads", PLUMB_MAX_STRUCT},
        {"interpreter_frame.owner", d.interpreter_frame.owner, ptr, "the frame the walker reads",
         PLUMB_MAX_STRUCT},
        {"code_object.filename", d.code_object.filename, ptr, "the code object the walker reads",
         PLUMB_MAX_STRUCT},
        {"code_object.name", d.code_object.name, ptr, "the code object the walker reads",
         PLUMB_MAX_STRUCT},
        {"code_object.firstlineno", d.code_object.firstlineno, ptr,
         "the code object the walker reads", PLUMB_MAX_STRUCT},
        /* A compact str's header is PyASCIIObject plus utf8_length and utf8. */
        {"unicode_object.asciiobject_size", str_header, 16, "the str header the walker reads",
         PLUMB_MAX_STR_HEADER, 1},
    };
    rc = check_fields(in_reads, sizeof in_reads / sizeof *in_reads, err);
    if (rc < 0)
        return rc;

    *version_hex = (uint32_t)d.version;
    *out = (plumb_py_layout){
        .version = 0x030D,
        .measured_on = "_Py_DebugOffsets",
        .runtime_interpreters_head = (int64_t)d.runtime_state.interpreters_head,
        .runtime_gil_tstate_current = -1,
        .interp_threads_head = (int64_t)d.interpreter_state.threads_head,
        .interp_gil_locked = (int64_t)d.interpreter_state.gil_runtime_state_locked,
        .interp_gil_holder = (int64_t)d.interpreter_state.gil_runtime_state_holder,
        .interp_trampoline = -1,             /* 3.13 shims hold None, not code */
        .tstate_next = (int64_t)d.thread_state.next,
        .tstate_interp = (int64_t)d.thread_state.interp,
        .tstate_thread_id = (int64_t)d.thread_state.thread_id,
        .tstate_native_thread_id = (int64_t)d.thread_state.native_thread_id,
        .tstate_frame = (int64_t)d.thread_state.current_frame,
        .tstate_cframe = -1,
        .cframe_current_frame = -1,
        .tstate_datastack_chunk = (int64_t)d.thread_state.datastack_chunk,
        /* _PyStackChunk is not in the table: {previous, size, top, data} on
         * 3.11-3.13 (Include/cpython/pystate.h). */
        .chunk_previous = 0,
        .chunk_size = 8,
        .frame_previous = (int64_t)d.interpreter_frame.previous,
        .frame_code = (int64_t)d.interpreter_frame.executable,
        .frame_owner = (int64_t)d.interpreter_frame.owner,
        .frame_owned_by_generator = 1,       /* FRAME_OWNED_BY_GENERATOR in 3.13 */
        .frame_owned_by_cstack = 3,          /* FRAME_OWNED_BY_CSTACK in 3.13 */
        .object_type = (int64_t)d.pyobject.ob_type,
        .code_filename = (int64_t)d.code_object.filename,
        .code_name = (int64_t)d.code_object.name,
        .code_firstlineno = (int64_t)d.code_object.firstlineno,
        .unicode_length = (int64_t)d.unicode_object.length,
        .unicode_state = (int64_t)d.unicode_object.state,
        .unicode_ascii_size = (int64_t)str_header,
        /* PyCompactUnicodeObject adds utf8_length and utf8 to PyASCIIObject. */
        .unicode_compact_size = (int64_t)str_header + 16,
    };
    return PLUMB_OK;
}

int plumb_offsets_from_debug_offsets(const void *raw, size_t len, plumb_py_offsets *out,
                                     plumb_read_error *err)
{
    plumb_py_layout layout;
    uint32_t version_hex;
    int rc = plumb_layout_from_debug_offsets(raw, len, &layout, &version_hex, err);
    if (rc < 0)
        return rc;
    /* The checks above have named whatever would fail here. */
    if (plumb_py_offsets_from_layout(&layout, version_hex, out) < 0)
        return fail_plain(err, "offsets outside what the walker reads");
    return PLUMB_OK;
}

int plumb_object_layout_from_debug_offsets(const void *raw, size_t len, plumb_py_object_layout *out)
{
    debug_offsets_313 d;
    if (len < sizeof d)
        return PLUMB_EINVAL;
    memcpy(&d, raw, sizeof d);
    if (memcmp(d.cookie, "xdebugpy", 8) != 0 || (d.version >> 16) != 0x030D || d.free_threaded)
        return PLUMB_EINVAL;
    /* Each is bounded by the row's check below; any uint64 larger than a
     * row holds is refused there, not wrapped. */
    const uint64_t fields[] = {d.interpreter_state.imports_modules, d.dict_object.ma_keys,
                               d.dict_object.ma_values, d.type_object.tp_flags,
                               d.long_object.lv_tag, d.long_object.ob_digit,
                               d.bytes_object.ob_size, d.bytes_object.ob_sval,
                               d.code_object.linetable, d.code_object.co_code_adaptive,
                               d.interpreter_frame.instr_ptr};
    for (size_t i = 0; i < sizeof fields / sizeof *fields; i++)
        if (fields[i] > PLUMB_MAX_POINTER_OFFSET)
            return PLUMB_EINVAL;
    plumb_py_object_layout l = *out;
    l.measured_on = "_Py_DebugOffsets";
    l.interp_modules = (int64_t)d.interpreter_state.imports_modules;
    l.dict_keys = (int64_t)d.dict_object.ma_keys;
    l.dict_values = (int64_t)d.dict_object.ma_values;
    l.type_flags = (int64_t)d.type_object.tp_flags;
    l.long_size = (int64_t)d.long_object.lv_tag;
    l.long_digits = (int64_t)d.long_object.ob_digit;
    l.bytes_size = (int64_t)d.bytes_object.ob_size;
    l.bytes_data = (int64_t)d.bytes_object.ob_sval;
    l.code_linetable = (int64_t)d.code_object.linetable;
    l.code_code = (int64_t)d.code_object.co_code_adaptive;
    l.frame_lasti = (int64_t)d.interpreter_frame.instr_ptr;
    if (plumb_py_object_layout_check(&l) < 0)
        return PLUMB_EINVAL;
    *out = l;
    return PLUMB_OK;
}
