/* The parts of the Callgrind Format that the deterministic and the sampled
 * writers share: the header and compressed file and function names.  Both
 * name functions from a label table (a stats' or a tree's names). */
#ifndef PLUMB_CALLGRIND_OUT_H
#define PLUMB_CALLGRIND_OUT_H

#include <stdint.h>
#include <stdio.h>

#include "model/labels.h"
#include "formats/writers.h"

/* Name compression state: "(id) name" the first time, "(id)" after. */
typedef struct plumb_callgrind_names {
    uint32_t *file_of;           /* function -> file id (1-based) */
    unsigned char *file_named;   /* file id -> already written with its name */
    unsigned char *func_named;   /* function -> already written with its name */
} plumb_callgrind_names;

/* Gives functions that share a file the same file id. */
int plumb_callgrind_names_init(plumb_callgrind_names *n, const plumb_labels *p);
void plumb_callgrind_names_free(plumb_callgrind_names *n);

/* "key=(id) file" / "key=(id) name:line", e.g. key "fl" or "cfl". */
void plumb_callgrind_put_file(FILE *out, const char *key, const plumb_labels *p,
                              plumb_callgrind_names *n, uint32_t f);
void plumb_callgrind_put_func(FILE *out, const char *key, const plumb_labels *p,
                              plumb_callgrind_names *n, uint32_t f);

/* Text that runs to the end of a line, with line breaks made spaces. */
void plumb_callgrind_put_clean(FILE *out, const char *s);

/* From "# callgrind format" to "events: ns", inclusive. */
void plumb_callgrind_header(FILE *out, const plumb_callgrind_info *info);

#endif
