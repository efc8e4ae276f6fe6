/* An offsets table, whether measured at build time or parsed from a
 * running interpreter's _Py_DebugOffsets, is checked once, here, before any
 * walk uses it: every field must lie inside the bytes the walker reads of
 * its structure, and those sizes inside the walker's buffers. */
#include "base/errors.h"
#include "sampler/pyoffsets.h"

/* A field at off of width bytes fits a structure read as size bytes;
 * off < 0 marks an absent field, allowed where optional. */
static int fits(int64_t off, int64_t width, int64_t size, int optional)
{
    if (off < 0)
        return optional;
    return off + width <= size;
}

int plumb_py_offsets_check(const plumb_py_offsets *o)
{
    const int64_t ptr = (int64_t)sizeof(void *);
    if (o->tstate_size <= 0 || o->tstate_size > PLUMB_MAX_STRUCT || o->frame_size <= 0
        || o->frame_size > PLUMB_MAX_STRUCT || o->code_size <= 0 || o->code_size > PLUMB_MAX_STRUCT
        || o->unicode_compact_data <= 0 || o->unicode_compact_data > PLUMB_MAX_STR_HEADER
        || o->interp_threads_head < 0 || o->interp_threads_head > PLUMB_MAX_POINTER_OFFSET)
        return PLUMB_EINVAL;
    int cframe = o->tstate_cframe >= 0;
    int ok = fits(o->tstate_next, ptr, o->tstate_size, 0)
             && fits(o->tstate_thread_id, ptr, o->tstate_size, 0)
             && fits(o->tstate_native_thread_id, ptr, o->tstate_size, 1)
             && fits(o->tstate_frame, ptr, o->tstate_size, cframe)
             && fits(o->tstate_cframe, ptr, o->tstate_size, 1)
             && fits(o->pthread_tid, 4, PLUMB_MAX_STRUCT, 1)
             && fits(o->tstate_datastack_chunk, ptr, o->tstate_size, 1)
             && (o->tstate_datastack_chunk < 0
                 || (fits(o->chunk_previous, ptr, 16, 0) && fits(o->chunk_size, ptr, 16, 0)))
             && (!cframe || (o->cframe_current_frame >= 0
                             && o->cframe_current_frame <= PLUMB_MAX_POINTER_OFFSET))
             && fits(o->frame_previous, ptr, o->frame_size, 0)
             && fits(o->frame_code, ptr, o->frame_size, 0)
             && fits(o->frame_owner, 1, o->frame_size, 1)
             && fits(o->object_type, ptr, o->code_size, 0)
             && fits(o->code_filename, ptr, o->code_size, 0)
             && fits(o->code_name, ptr, o->code_size, 0)
             && fits(o->code_firstlineno, 4, o->code_size, 0)
             && fits(o->object_type, ptr, o->unicode_compact_data, 0)
             && fits(o->unicode_length, 8, o->unicode_compact_data, 0)
             && fits(o->unicode_state, 4, o->unicode_compact_data, 0)
             && o->unicode_ascii_data > 0 && o->unicode_ascii_data <= o->unicode_compact_data
             && o->unicode_kind_shift >= 0 && o->unicode_kind_shift <= 29
             && o->unicode_compact_bit >= 0 && o->unicode_compact_bit <= 31
             && o->unicode_ascii_bit >= 0 && o->unicode_ascii_bit <= 31
             /* Current lines, read only where bytes_type is set. */
             && (!o->bytes_type
                 || (fits(o->frame_lasti, 4, o->frame_size, 1)
                     && fits(o->frame_instr, ptr, o->frame_size, 1)
                     && (o->frame_lasti >= 0 || o->frame_instr >= 0)
                     && fits(o->code_linetable, ptr, o->code_size, 0)
                     && (o->frame_instr < 0 || (o->code_code >= 0
                                                && o->code_code <= PLUMB_MAX_STRUCT))
                     && o->bytes_data > 0 && o->bytes_data <= 64
                     && fits(o->bytes_size, 8, o->bytes_data, 0)
                     && fits(o->object_type, ptr, o->bytes_data, 0)));
    return ok ? PLUMB_OK : PLUMB_EINVAL;
}
