/* The format table as the binding uses it (formats.c). */
#ifndef PLUMB_BINDING_FORMATS_H
#define PLUMB_BINDING_FORMATS_H

#include "compat.h"

#include "base/errors.h"
#include "formats/format_table.h"

/* The format named name, or NULL with a ValueError set. */
const plumb_format *plumb_format_arg(const char *name);

/* Writes v to path in fmt: opens, writes, closes.  0 or a plumb_error
 * (PLUMB_EIO with errno saying why; PLUMB_EFORMAT with err's reason). */
int plumb_write_view(const char *path, const plumb_format *fmt, const plumb_profile_view *v,
                     plumb_read_error *err);

/* _plumb.formats(). */
PyObject *plumb_formats_info(PyObject *module, PyObject *ignored);

#endif
