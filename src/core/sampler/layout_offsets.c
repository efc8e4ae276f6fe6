/* From a version's layout row (py_layouts.h) to the offsets the walker
 * reads by: one derivation for every version and every reader (this
 * process, or another through attach). */
#include "base/errors.h"
#include "sampler/line_table.h"
#include "sampler/py_layouts.h"

const plumb_py_layout *plumb_py_layout_find(uint32_t major_minor)
{
    for (unsigned i = 0; i < plumb_py_layouts_count; i++)
        if (plumb_py_layouts[i].version == major_minor)
            return &plumb_py_layouts[i];
    return NULL;
}

const plumb_py_object_layout *plumb_py_object_layout_find(uint32_t major_minor)
{
    for (unsigned i = 0; i < plumb_py_object_layouts_count; i++)
        if (plumb_py_object_layouts[i].version == major_minor)
            return &plumb_py_object_layouts[i];
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
    o->frame_lasti = o->frame_instr = o->code_linetable = o->code_code = -1;
    o->bytes_size = o->bytes_data = -1;
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

static int within(int64_t off, int64_t width, int64_t size, int optional)
{
    if (off == -1)
        return optional;
    return off >= 0 && off + width <= size;
}

int plumb_py_object_layout_check(const plumb_py_object_layout *l)
{
    const int64_t word = 8, head = 64;   /* the readers' header buffers: 64 bytes */
    int new_keys = l->keys_size == -1;
    int ok = l->interp_modules >= 0 && l->interp_modules <= PLUMB_MAX_POINTER_OFFSET
             && within(l->module_dict, word, PLUMB_MAX_STRUCT, 0)
             && within(l->dict_keys, word, PLUMB_MAX_STRUCT, 0)
             && within(l->dict_values, word, PLUMB_MAX_STRUCT, 0)
             && within(l->type_flags, word, PLUMB_MAX_STRUCT, 0)
             && within(l->type_basicsize, word, PLUMB_MAX_STRUCT, 0)
             && within(l->type_dictoffset, word, PLUMB_MAX_STRUCT, 0)
             && within(l->heaptype_cached_keys, word, PLUMB_MAX_STRUCT, 0)
             && l->keys_indices > 0 && l->keys_indices <= head
             && within(l->keys_nentries, word, l->keys_indices, 0)
             && within(l->keys_size, word, l->keys_indices, 1)
             && within(l->keys_log2_size, 1, l->keys_indices, !new_keys)
             && within(l->keys_log2_index_bytes, 1, l->keys_indices, !new_keys)
             && within(l->keys_kind, 1, l->keys_indices, !new_keys)
             && within(l->values_values, 0, head, 0) && within(l->values_valid, 1, head, 1)
             && l->long_digits > 0 && l->long_digits <= head
             && within(l->long_size, word, l->long_digits, 0)
             && l->long_tag_bits >= 0 && l->long_tag_bits <= 8
             && (l->long_shift == 15 || l->long_shift == 30)
             && l->bytes_data > 0 && l->bytes_data <= head
             && within(l->bytes_size, word, l->bytes_data, 0)
             && within(l->code_linetable, word, PLUMB_MAX_STRUCT, 0)
             && within(l->code_code, 0, PLUMB_MAX_STRUCT, 1)
             && within(l->frame_lasti, word, PLUMB_MAX_STRUCT, 1)
             /* Negative offsets from an object: at most a few words before it. */
             && (l->managed_dict == -1 || (l->managed_dict < 0 && l->managed_dict >= -head))
             && (l->managed_values == -1 || (l->managed_values < 0 && l->managed_values >= -head))
             && (l->tpflags_managed_dict == -1 || l->tpflags_managed_dict > 0)
             && (l->tpflags_inline_values == -1 || l->tpflags_inline_values > 0);
    return ok ? PLUMB_OK : PLUMB_EINVAL;
}

int plumb_py_offsets_add_lines(plumb_py_offsets *o, const plumb_py_object_layout *l,
                               uintptr_t bytes_type)
{
    if (plumb_py_object_layout_check(l) < 0 || l->frame_lasti < 0 || !bytes_type)
        return PLUMB_EINVAL;
    uint32_t minor = o->version_hex >> 16;
    plumb_py_offsets lines = *o;
    lines.line_format = minor == 0x0309   ? PLUMB_LINES_LNOTAB
                        : minor == 0x030A ? PLUMB_LINES_PEP626
                                          : PLUMB_LINES_LOCATIONS;
    if (minor >= 0x030B) {
        if (l->code_code < 0)
            return PLUMB_EINVAL;
        lines.frame_instr = l->frame_lasti;
        lines.code_code = l->code_code;
    } else {
        lines.frame_lasti = l->frame_lasti;
    }
    lines.code_linetable = l->code_linetable;
    lines.bytes_size = l->bytes_size;
    lines.bytes_data = l->bytes_data;
    lines.bytes_type = bytes_type;
    lines.frame_size = max2(lines.frame_size, l->frame_lasti + 8);
    lines.code_size = max2(lines.code_size, l->code_linetable + 8);
    if (plumb_py_offsets_check(&lines) < 0)
        return PLUMB_EINVAL;
    *o = lines;
    return PLUMB_OK;
}
