/* Fuzz target: reading threading's names (attach/thread_names.h: dicts,
 * instance attributes, ints, strings) over memory made of the input's
 * bytes, as another process's memory is to attach: untrusted.  The bytes
 * are an address space starting at BASE, the interpreter state at BASE;
 * the type objects are at fixed addresses outside it (only compared).
 * Each version's object row is tried in turn (3.9-3.13, py_layouts.c),
 * with the walker's offsets of that version (3.13: 3.12's, whose strings
 * are alike).  Every read must end without a crash or a read outside the
 * buffers; every name found must be a string of its bound.  Seeds:
 * corpus/thread_names/, written by corpus/make_thread_names_seeds.py. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "attach/thread_names.h"
#include "base/errors.h"
#include "image_source.h"
#include "sampler/py_layouts.h"
#include "sampler/stackwalk.h"

#define BASE ((uintptr_t)0x10000000)
/* The type objects' addresses (make_thread_names_seeds.py uses the same). */
#define CODE_TYPE ((uintptr_t)0x70000000)
#define STR_TYPE ((uintptr_t)0x70000100)
#define DICT_TYPE ((uintptr_t)0x70000200)
#define LONG_TYPE ((uintptr_t)0x70000300)
#define MODULE_TYPE ((uintptr_t)0x70000400)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    image_source src = image_source_of(data, size, BASE);
    static plumb_page_cache cache;
    for (unsigned i = 0; i < plumb_py_object_layouts_count; i++) {
        const plumb_py_object_layout *objects = &plumb_py_object_layouts[i];
        if (plumb_py_object_layout_check(objects) < 0)
            abort();   /* every generated row passes its check */
        const plumb_py_layout *row = plumb_py_layout_find(objects->version);
        if (!row)
            row = &plumb_py_layouts[plumb_py_layouts_count - 1];
        plumb_py_offsets off;
        if (plumb_py_offsets_from_layout(row, row->version << 16, &off) < 0)
            abort();
        off.code_type = CODE_TYPE;
        off.unicode_type = STR_TYPE;
        plumb_remote_reader r = {.source = &src.base, .cache = i % 2 ? &cache : NULL, .off = &off,
                                 .objects = objects, .dict_type = DICT_TYPE,
                                 .long_type = LONG_TYPE, .module_type = MODULE_TYPE};
        plumb_page_cache_clear(&cache);
        plumb_thread_names names;
        int rc = plumb_read_thread_names(&r, BASE, &names);
        if (rc == PLUMB_OK)
            for (uint32_t k = 0; k < names.count; k++)
                if (strlen(names.items[k].name) > PLUMB_MAX_THREAD_NAME * 4)
                    abort();
        if (rc > 0 || names.count > PLUMB_MAX_THREADS)
            abort();
        plumb_thread_names_free(&names);
    }
    return 0;
}
