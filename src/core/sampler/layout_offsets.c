/* From a version's layout row (py_layouts.h) to the offsets the walker
 * reads by: one derivation for every version and every reader (this
 * process, or another through attach). */
#include "base/errors.h"
#include "sampler/py_layouts.h"

const plumb_py_layout *plumb_py_layout_find(uint32_t major_minor)
{
    for (unsigned i = 0; i < plumb_py_layouts_count; i++)
        if (plumb_py_layouts[i].version == major_minor)
            return &plumb_py_layouts[i];
    return NULL;
}

static int64_t max2(int64_t a, int64_t b)
{
    return a > b ? a : b;
}

int plumb_py_offsets_from_layout(const plumb_py_layout *l, uint32_t version_hex,
                                 plumb_py_offsets *o)
{
    *o = (plumb_py_offsets){0};
    o->version_hex = version_hex;
    o->interp_threads_head = l->interp_threads_head;
    o->tstate_next = l->tstate_next;
    o->tstate_thread_id = l->tstate_thread_id;
    o->tstate_native_thread_id = l->tstate_native_thread_id;
    o->pthread_tid = -1;
    o->tstate_frame = l->tstate_frame;
    o->tstate_cframe = l->tstate_cframe;
    o->cframe_current_frame = l->cframe_current_frame;
    o->tstate_datastack_chunk = l->tstate_datastack_chunk;
    o->chunk_previous = l->chunk_previous;
    o->chunk_size = l->chunk_size;
    o->frame_previous = l->frame_previous;
    o->frame_code = l->frame_code;
    o->frame_owner = l->frame_owner;
    o->frame_owned_by_cstack = (int)l->frame_owned_by_cstack;
    o->frame_owned_by_generator = (int)l->frame_owned_by_generator;
    o->object_type = l->object_type;
    o->code_filename = l->code_filename;
    o->code_name = l->code_name;
    o->code_firstlineno = l->code_firstlineno;
    o->unicode_length = l->unicode_length;
    o->unicode_state = l->unicode_state;
    o->unicode_ascii_data = l->unicode_ascii_size;
    o->unicode_compact_data = l->unicode_compact_size;
    /* state: interned:2, kind:3, compact:1, ascii:1, ... from bit 0 (GCC,
     * little-endian) on 3.9 to 3.13 (Include/cpython/unicodeobject.h). */
    o->unicode_kind_shift = 2;
    o->unicode_compact_bit = 5;
    o->unicode_ascii_bit = 6;
    /* 3.12 and 3.13 run _Py_InitCleanup's code between a class call and
     * its __init__ (pyoffsets.h). */
    o->skip_init_cleanup = (version_hex >> 16) >= 0x030C;
    /* Each structure is read up to the last field used, each read as 8
     * bytes at most (plumb_py_offsets_check holds every field to it). */
    o->tstate_size = max2(max2(max2(l->tstate_next, l->tstate_thread_id),
                               max2(l->tstate_native_thread_id, l->tstate_frame)),
                          max2(max2(l->tstate_cframe, l->tstate_datastack_chunk), l->tstate_interp))
                     + 8;
    o->frame_size = max2(max2(l->frame_previous, l->frame_code), l->frame_owner) + 8;
    o->code_size = max2(max2(l->code_filename, l->code_name),
                        max2(l->code_firstlineno, l->object_type)) + 8;
    return plumb_py_offsets_check(o);
}
