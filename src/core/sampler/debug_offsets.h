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

#endif
