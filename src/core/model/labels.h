/* The label table: the functions of a profile as pstats names them, a
 * (file, line, name) label each, under a dense index.  Every profile kind
 * names functions through one: the tracer's (tracer/profile.h, which keeps
 * its per-function counts beside it), stats (stats.h) and sampled trees
 * (samples.h), so that a function read from any file, traced or sampled
 * is one label, and merging or converting profiles is a matter of
 * interning labels.  It is a table of its own so that the model does not
 * carry the tracer's state (keys, edges, paths, threads) to name things.
 *
 * Labels are never removed: an index, once given, names the same label
 * for the table's life. */
#ifndef PLUMB_LABELS_H
#define PLUMB_LABELS_H

#include <stdint.h>

#include "base/map.h"

/* No label (and, in the tables that index by uint32_t, no entry). */
#define PLUMB_NONE UINT32_MAX
/* Not a label but a thing that names no function on purpose: a key whose
 * calls are not profiled (the profiler's own code, tracer/profile.h), a
 * code object stacks leave out (sampler/stackwalk.h). */
#define PLUMB_SKIP (UINT32_MAX - 1)

/* Label indices stay far below both. */
#define PLUMB_MAX_LABELS (PLUMB_NONE / 2)

typedef struct plumb_func {
    char *file;       /* UTF-8; "~" for built-ins, as pstats writes them */
    char *name;       /* UTF-8 */
    int64_t line;
    uint64_t hash;    /* of the label, for the label index */
} plumb_func;

typedef struct plumb_labels {
    plumb_func *funcs;        /* in the order they were first interned */
    uint32_t nfuncs, funcs_capacity;
    plumb_map by_hash;        /* label hash -> first label with that hash */
} plumb_labels;

int plumb_labels_init(plumb_labels *l);
void plumb_labels_free(plumb_labels *l);

/* The label (file, line, name), or PLUMB_NONE. */
uint32_t plumb_labels_find(const plumb_labels *l, const char *file, int64_t line,
                           const char *name);

/* The label (file, line, name), added (its strings copied) if new:
 * PLUMB_OK with its index in *func, or PLUMB_ENOMEM / PLUMB_ELIMIT (then
 * the table is as it was). */
int plumb_labels_intern(plumb_labels *l, const char *file, int64_t line, const char *name,
                        uint32_t *func);

#endif
