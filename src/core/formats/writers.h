/* Writers of a deterministic profile to the standard formats.  Each writes
 * to an open stream and returns 0 or PLUMB_EIO; the caller closes it.
 *
 * A tracer profile is only named here (its writers' files include
 * tracer/profile.h): the model's code that shares these headers sees no
 * tracer state. */
#ifndef PLUMB_WRITERS_H
#define PLUMB_WRITERS_H

#include <stdio.h>

#include "model/stats.h"

struct plumb_profile;

/* A pstats file, as cProfile's dump_stats writes it. */
int plumb_write_pstats(const struct plumb_profile *p, FILE *out);
int plumb_write_stats_pstats(const plumb_stats *st, FILE *out);

typedef struct plumb_callgrind_info {
    const char *creator;   /* e.g. "plumb 0.1.0" */
    const char *cmd;       /* the profiled command line, or NULL */
    long pid;
} plumb_callgrind_info;

/* A Callgrind Format file with nanoseconds as its one event. */
int plumb_write_callgrind(const struct plumb_profile *p, FILE *out,
                          const plumb_callgrind_info *info);
int plumb_write_stats_callgrind(const plumb_stats *st, FILE *out, const plumb_callgrind_info *info);

/* Function and edge indices grouped by one end of each edge, for writers
 * that list a function's callers or callees.  first[f]..first[f+1] indexes
 * into edges[]. */
typedef struct plumb_edge_index {
    uint32_t *first;   /* nfuncs + 1 entries */
    uint32_t *edges;   /* nedges entries */
} plumb_edge_index;

int plumb_edge_index_by_callee(const struct plumb_profile *p, plumb_edge_index *ix);
/* By callee (a function's callers) if by_callee, else by caller. */
int plumb_stats_edges_by(const plumb_stats *st, int by_callee, plumb_edge_index *ix);
void plumb_edge_index_free(plumb_edge_index *ix);

#endif
