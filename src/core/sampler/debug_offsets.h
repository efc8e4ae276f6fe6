#ifndef PLUMB_DEBUG_OFFSETS_H
#define PLUMB_DEBUG_OFFSETS_H

#include <stddef.h>

#include "base/errors.h"
#include "sampler/py_layouts.h"
#include "sampler/pyoffsets.h"

/* Bytes of _Py_DebugOffsets that plumb reads (3.13's layout, whole). */
size_t plumb_debug_offsets_size(void);

/* Fills out (3.13's layout row) from a copy of a 3.13 interpreter's
 * _Py_DebugOffsets, and *version_hex with its full version.  0, or PLUMB_EINVAL
 * if the cookie, version or any offset is not what 3.13 could publish;
 * then err (if not NULL) names the field and why, in one line. */
int plumb_layout_from_debug_offsets(const void *raw, size_t len, plumb_py_layout *out,
                                    uint32_t *version_hex, plumb_read_error *err);

/* The same, as the walker's offsets (plumb_py_offsets_from_layout). */
int plumb_offsets_from_debug_offsets(const void *raw, size_t len, plumb_py_offsets *out,
                                     plumb_read_error *err);

/* Overlays on out (3.13's generated object row) the fields the
 * interpreter's own _Py_DebugOffsets has: sys.modules, a dict's keys and
 * values, tp_flags, an int's lv_tag and digits, a bytes object's size and
 * data, a code object's line table and code, a frame's instruction
 * pointer.  0, or PLUMB_EINVAL (out unchanged) if raw is no 3.13 table or
 * the result fails plumb_py_object_layout_check. */
int plumb_object_layout_from_debug_offsets(const void *raw, size_t len, plumb_py_object_layout *out);

#endif
