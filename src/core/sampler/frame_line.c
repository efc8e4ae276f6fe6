/* A frame's current line (stackwalk.h: plumb_walker_line): the code
 * object's line table, a bytes object of the target, read whole (at most
 * PLUMB_MAX_LINE_TABLE bytes) and decoded at the frame's instruction
 * (line_table.c), which each version keeps its own way. */
#include <stdlib.h>
#include <string.h>

#include "base/errors.h"
#include "sampler/line_table.h"
#include "sampler/stackwalk.h"

#define PLUMB_MAX_LINE_TABLE (256 * 1024)

static uintptr_t word_at(const unsigned char *buf, int64_t off)
{
    uintptr_t v;
    memcpy(&v, buf + off, sizeof v);
    return v;
}

/* The instruction's byte offset in its code. */
static int64_t instruction_offset(const plumb_py_offsets *o, uintptr_t code, uint64_t instr)
{
    switch (o->line_format) {
    case PLUMB_LINES_LNOTAB:
        return (int32_t)(uint32_t)instr;           /* f_lasti, in bytes */
    case PLUMB_LINES_PEP626:
        return (int64_t)(int32_t)(uint32_t)instr * 2;   /* f_lasti, in code units */
    default:
        /* A pointer into co_code_adaptive (3.11-3.12 the previous
         * instruction, 3.13 the current one: either as the interpreter
         * itself reckons lines). */
        return (int64_t)(instr - (uint64_t)(code + (uintptr_t)o->code_code));
    }
}

int plumb_walker_line(plumb_walker *w, uintptr_t code, uint64_t instr, int64_t *line)
{
    const plumb_py_offsets *o = &w->off;
    unsigned char buf[PLUMB_MAX_STRUCT], head[64];
    if (!o->bytes_type || o->line_format == PLUMB_LINES_NONE)
        return PLUMB_EFAULT;
    if (plumb_memread_cached(w->source, w->cache, code, buf, (size_t)o->code_size) < 0
        || word_at(buf, o->object_type) != o->code_type)
        return PLUMB_EFAULT;
    int32_t first;
    memcpy(&first, buf + o->code_firstlineno, sizeof first);
    uintptr_t table = word_at(buf, o->code_linetable);
    if (plumb_memread_cached(w->source, w->cache, table, head, (size_t)o->bytes_data) < 0
        || word_at(head, o->object_type) != o->bytes_type)
        return PLUMB_EFAULT;
    int64_t size = (int64_t)word_at(head, o->bytes_size);
    if (size < 0 || size > PLUMB_MAX_LINE_TABLE)
        return PLUMB_EFAULT;
    uint8_t *bytes = malloc(size ? (size_t)size : 1);
    if (!bytes)
        return PLUMB_ENOMEM;
    int rc = size ? plumb_memread_cached(w->source, w->cache, table + (uintptr_t)o->bytes_data,
                                         bytes, (size_t)size) : PLUMB_OK;
    if (rc == PLUMB_OK)
        rc = plumb_line_at(o->line_format, bytes, (size_t)size, first,
                           instruction_offset(o, code, instr), line);
    free(bytes);
    if (rc == PLUMB_OK && *line < 0)
        rc = PLUMB_EFAULT;   /* no line there */
    return rc;
}
