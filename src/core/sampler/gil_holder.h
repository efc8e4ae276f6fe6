/* Which thread holds the GIL, read from the interpreter's memory.  Where
 * the holder is kept depends on the version: before 3.12 _PyRuntime's
 * current thread state (NULL while no thread holds the GIL), from 3.12 the
 * interpreter's own GIL, whose last holder counts only while its locked
 * flag is set.  A probe is those addresses, found once from a layout row;
 * reading it is one or two reads per round. */
#ifndef PLUMB_GIL_HOLDER_H
#define PLUMB_GIL_HOLDER_H

#include <stdint.h>

#include "sampler/memread.h"
#include "sampler/py_layouts.h"

typedef struct plumb_gil_probe {
    uintptr_t holder;     /* where the holder's thread state pointer is */
    uintptr_t locked;     /* where the GIL's locked flag (an int) is; 0: no flag */
} plumb_gil_probe;

/* The probe for the interpreter at interp of the runtime at runtime, laid
 * out as l says: 0, or PLUMB_EINVAL if the row says nothing of the GIL. */
int plumb_gil_probe_from_layout(const plumb_py_layout *l, uintptr_t runtime, uintptr_t interp,
                                plumb_gil_probe *out);

/* The holder's thread state now (0: none holds it), read through cache
 * (which may be NULL): 0, or PLUMB_EFAULT if it could not be read. */
int plumb_gil_probe_read(const plumb_gil_probe *p, plumb_memsource *src, plumb_page_cache *cache,
                         uintptr_t *tstate);

#endif
