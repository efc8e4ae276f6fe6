/* What reading another interpreter's objects needs (remote_dict.h,
 * remote_int.h, thread_names.h): where to read (a memory source and its
 * page cache), the walker's offsets (strings, ob_type) and the version's
 * object layout (py_layouts.h), and the type objects that validate what
 * is read.  A type address of 0 means that type is not known: objects
 * claiming it are refused. */
#ifndef PLUMB_REMOTE_READER_H
#define PLUMB_REMOTE_READER_H

#include <stdint.h>

#include "sampler/memread.h"
#include "sampler/py_layouts.h"
#include "sampler/pyoffsets.h"

typedef struct plumb_remote_reader {
    plumb_memsource *source;
    plumb_page_cache *cache;               /* may be NULL */
    const plumb_py_offsets *off;
    const plumb_py_object_layout *objects;
    uintptr_t dict_type, long_type, module_type;
} plumb_remote_reader;

#endif
