/* Fuzz target: the stack walker (sampler/stackwalk.h) over memory made of
 * the input's bytes, as another process's memory is to attach: untrusted.
 * The bytes are an address space starting at BASE; the interpreter state
 * is at BASE and the type objects at fixed addresses in it, with each
 * version's layout row in turn (3.9-3.12, py_layouts.c).  Every walk must
 * end (bounded loops, cycles caught) without a crash or a read outside the
 * buffers; whatever it resolves must be a label in the table.  Every
 * other input reads current lines too (the object row's offsets, a bytes
 * type at a fixed address: frame_line.c over the same memory). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/errors.h"
#include "image_source.h"
#include "sampler/py_layouts.h"
#include "sampler/stackwalk.h"

#define BASE ((uintptr_t)0x10000000)

typedef struct visit_ctx {
    plumb_walker *walker;
    plumb_labels *names;
} visit_ctx;

static int visit(void *arg, plumb_raw_stack *stack)
{
    visit_ctx *c = arg;
    if (stack->depth > PLUMB_MAX_SAMPLE_DEPTH)
        abort();
    for (uint32_t i = 0; i < stack->depth; i++) {
        uint32_t f;
        if (plumb_walker_resolve(c->walker, c->names, stack->codes[i], &f) == PLUMB_OK
            && f != PLUMB_SKIP && f >= c->names->nfuncs)
            abort();
        int64_t line;
        int rc = plumb_walker_line(c->walker, stack->codes[i], stack->instrs[i], &line);
        if ((rc == PLUMB_OK && line < 0) || (rc != PLUMB_OK && rc != PLUMB_EFAULT
                                              && rc != PLUMB_ENOMEM))
            abort();
    }
    return PLUMB_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    image_source src = image_source_of(data, size, BASE);
    static plumb_walker walker;
    static plumb_raw_stack scratch;
    for (unsigned i = 0; i < plumb_py_layouts_count; i++) {
        plumb_py_offsets off;
        const plumb_py_layout *row = &plumb_py_layouts[i];
        if (plumb_py_offsets_from_layout(row, row->version << 16, &off) < 0)
            abort();   /* every generated row passes the walker's checks */
        off.code_type = BASE + 64;
        off.unicode_type = BASE + 128;
        off.shim_code = BASE + 192;
        off.pthread_tid = row->tstate_native_thread_id < 0 ? 16 : -1;
        const plumb_py_object_layout *objects = plumb_py_object_layout_find(row->version);
        if ((size & 1) && (!objects || plumb_py_offsets_add_lines(&off, objects, BASE + 256) < 0))
            abort();   /* every generated row gives lines */
        plumb_labels names;
        if (plumb_labels_init(&names) < 0)
            return 0;
        if (plumb_walker_init(&walker, &src.base, &off, BASE) == PLUMB_OK) {
            visit_ctx c = {&walker, &names};
            uint64_t failed = 0;
            (void)plumb_walk_threads(&walker, &scratch, visit, &c, &failed);
        }
        plumb_walker_free(&walker);
        plumb_labels_free(&names);
    }
    return 0;
}
