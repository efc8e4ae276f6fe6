/* A function-level profile as pstats holds one: for each function (a
 * label), primitive and total calls, own and cumulative seconds; for each
 * caller->callee edge the same four numbers, or, as the pure-Python profile
 * module writes them, a bare call count.  This is what `plumb stats`,
 * `merge`, `diff` and `convert` work on, whoever wrote the file.
 *
 * Times are seconds as doubles, as in the files, so that adding profiles
 * gives the sums pstats.Stats.add gives. */
#ifndef PLUMB_STATS_H
#define PLUMB_STATS_H

#include <stdint.h>

#include "base/map.h"
#include "model/labels.h"

typedef struct plumb_stat_counts {
    int64_t prim_calls;     /* pstats' cc: calls not made while the function was live */
    int64_t calls;          /* nc */
    double own;             /* tt, seconds */
    double total;           /* ct, seconds */
} plumb_stat_counts;

typedef struct plumb_stat_edge {
    uint32_t caller, callee;
    plumb_stat_counts counts;
    /* Every file that had this edge gave only a call count (the profile
     * module): then prim_calls == calls and the times are 0, and writers
     * give a count again. */
    int count_only;
} plumb_stat_edge;

typedef struct plumb_stats {
    plumb_labels names;           /* the functions; funcs[] is indexed alike */
    plumb_stat_counts *funcs;     /* per label */
    uint8_t *listed;              /* 1 if the label is a key of the stats, not only a caller */
    uint32_t funcs_capacity;
    /* Listed functions in the order they were first listed: a file's own
     * order, then each added file's new functions, as pstats.Stats keeps
     * its dict (its "random" listing order and its stable sorts follow it). */
    uint32_t *order;
    uint32_t norder, order_capacity;
    plumb_stat_edge *edges;
    uint32_t nedges, edges_capacity;
    plumb_map by_edge;            /* (caller+1)<<32 | callee -> edge */
    uint32_t edges_indexed;       /* edges[0..edges_indexed) are in by_edge */
    uint64_t profiles;            /* how many profiles were added */
    /* Own time summed as pstats sums it: each profile's functions in its
     * order, then the profiles' sums in the order they were added (so the
     * printed total is pstats' to the last bit). */
    double own_sum;
} plumb_stats;

int plumb_stats_init(plumb_stats *st);
void plumb_stats_free(plumb_stats *st);

/* The function with this label, created (not listed, zero counts) if new. */
int plumb_stats_func(plumb_stats *st, const char *file, int64_t line, const char *name,
                     uint32_t *func);

/* Marks a function listed (a key of the stats), appending it to the order
 * the first time. */
int plumb_stats_list(plumb_stats *st, uint32_t func);

/* The edge caller->callee, created with zero counts if new. */
int plumb_stats_edge(plumb_stats *st, uint32_t caller, uint32_t callee, uint32_t *edge);

/* Appends an edge known to be new, leaving it out of the edge index until
 * something looks an edge up (readers, which check newness themselves:
 * indexing a file's edges in one pass at the end is cheaper than one
 * insertion at a time). */
int plumb_stats_append_edge(plumb_stats *st, uint32_t caller, uint32_t callee, uint32_t *edge);

/* Adds every count of src to dst, as pstats.Stats.add does; src is left
 * as it was.  0 or PLUMB_ENOMEM / PLUMB_ELIMIT (then dst may hold part of
 * src: callers discard it). */
int plumb_stats_add(plumb_stats *dst, const plumb_stats *src);

/* Adds c to *sum, field by field. */
void plumb_stat_counts_add(plumb_stat_counts *sum, const plumb_stat_counts *c);

#endif
