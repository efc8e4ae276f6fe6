/* Fuzz target: the stack walker (sampler/stackwalk.h) over memory made of
 * the input's bytes, as another process's memory is to attach: untrusted.
 * The bytes are an address space starting at BASE; the interpreter state
 * is at BASE and the type objects at fixed addresses in it, with each
 * version's layout row in turn (3.9-3.12, py_layouts.c).  Every walk must
 * end (bounded loops, cycles caught) without a crash or a read outside the
 * buffers; whatever it resolves must be a label in the table. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/errors.h"
#include "sampler/py_layouts.h"
#include "sampler/stackwalk.h"

#define BASE ((uintptr_t)0x10000000)

typedef struct image_source {
    plumb_memsource base;
    const uint8_t *data;
    size_t size;
} image_source;

static size_t image_read(plumb_memsource *self, const plumb_memrange *ranges, size_t n)
{
    image_source *s = (image_source *)self;
    for (size_t i = 0; i < n; i++) {
        uintptr_t a = ranges[i].addr;
        if (a < BASE || a - BASE > s->size || ranges[i].len > s->size - (a - BASE))
            return i;
        memcpy(ranges[i].buf, s->data + (a - BASE), ranges[i].len);
    }
    return n;
}

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
    }
    return PLUMB_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    image_source src = {.base = {.read = image_read}, .data = data, .size = size};
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
