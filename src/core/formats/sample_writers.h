/* Writers of a sampled profile (samples.h) to the standard formats, and
 * the views of its call tree that they share (sample_index.c).  Each writer
 * writes to an open stream and returns 0, PLUMB_EIO or PLUMB_ENOMEM; the
 * caller closes the stream.
 *
 * A sample with an empty stack (no frame at all) names no function, so no
 * format can place it: every writer leaves such samples out, and every
 * total a writer reports is of samples with at least one frame.  That keeps
 * the formats' totals equal to one another. */
#ifndef PLUMB_SAMPLE_WRITERS_H
#define PLUMB_SAMPLE_WRITERS_H

#include <stdint.h>
#include <stdio.h>

#include "model/samples.h"
#include "formats/writers.h"

/* Collapsed ("folded") stacks, one line per distinct stack with all threads
 * merged: "outer (file:line);inner (file:line) count". */
int plumb_write_collapsed(const plumb_samples *s, FILE *out);

/* speedscope's JSON file format, one sampled profile per thread.
 * profile_name may be NULL. */
int plumb_write_speedscope(const plumb_samples *s, FILE *out, const char *profile_name);

/* The function-level numbers of s as new stats (stats_from_samples.c):
 * own and cumulative time from samples, no call counts. */
int plumb_stats_from_samples(plumb_stats *st, const plumb_samples *s);

/* A pstats file: plumb_stats_from_samples, written as cProfile would. */
int plumb_write_sampled_pstats(const plumb_samples *s, FILE *out);

/* A Callgrind Format file in nanoseconds; calls= counts samples. */
int plumb_write_sampled_callgrind(const plumb_samples *s, FILE *out,
                                  const plumb_callgrind_info *info);

/* pprof's profile.proto, uncompressed (the caller gzips it): samples/count
 * and wall or cpu/nanoseconds, a "thread" label per sample. */
int plumb_write_pprof(const plumb_samples *s, FILE *out);

/* A call tree guessed from st's caller->callee edges (tree_from_edges.c),
 * for profiles without call paths; its counts are nanoseconds.  s must
 * not be initialised. */
int plumb_tree_from_stats(plumb_samples *s, const plumb_stats *st);

/* plumb's JSON profile (docs/json-format.md): st's functions, numbers and
 * edges, and tree's call tree if tree is not NULL. */
typedef struct plumb_json_info {
    const char *kind;         /* "deterministic", "sampled" or "functions" */
    const char *creator;      /* e.g. "plumb 0.1.0" */
    int tree_exact;           /* the tree is the real call paths, not rebuilt from edges */
    uint64_t lost_events;     /* a deterministic profile's */
    uint64_t folded_calls;
} plumb_json_info;

int plumb_write_json(FILE *out, const plumb_stats *st, const plumb_samples *tree,
                     const plumb_json_info *info);


/* A top-down call tree per thread, in percent of the thread's samples;
 * children under min_percent are folded into one line. */
int plumb_write_tree(const plumb_samples *s, FILE *out, double min_percent);

/* The call tree's children and inclusive counts.  The children of node n
 * are child[first[n]] .. child[first[n+1]-1], in creation order (so roughly
 * in the order they were first sampled). */
typedef struct plumb_sample_index {
    uint64_t *inclusive;   /* per node: its samples and its descendants' */
    uint32_t *first;       /* nnodes + 1 entries */
    uint32_t *child;       /* nnodes entries */
} plumb_sample_index;

int plumb_sample_index_build(const plumb_samples *s, plumb_sample_index *ix);
void plumb_sample_index_free(plumb_sample_index *ix);

/* Groups the nodes 0..n-1 under their parents (PLUMB_NONE: a top node, not
 * grouped), into first/child as above; for trees other than s->nodes. */
int plumb_tree_children(const uint32_t *parent, uint32_t n, uint32_t **first, uint32_t **child);

/* A depth-first walk over first/child from one start node, without
 * recursion (stacks may be deep).  path[0] is the start, path[depth-1] the
 * node last entered; the start itself is never reported. */
typedef struct plumb_tree_walk {
    const uint32_t *first, *child;
    uint32_t *path;
    uint32_t *next;        /* per level: position in child[] of the next child */
    uint32_t depth, capacity;
} plumb_tree_walk;

enum { PLUMB_WALK_DONE = 0, PLUMB_WALK_ENTER = 1, PLUMB_WALK_LEAVE = 2 };

int plumb_tree_walk_begin(plumb_tree_walk *w, const uint32_t *first, const uint32_t *child,
                          uint32_t start);
/* The next step: PLUMB_WALK_ENTER or _LEAVE with *node set, PLUMB_WALK_DONE
 * at the end, or PLUMB_ENOMEM. */
int plumb_tree_walk_next(plumb_tree_walk *w, uint32_t *node);
/* Leaves the node just entered at once: no descent into it, and no
 * PLUMB_WALK_LEAVE for it. */
void plumb_tree_walk_skip(plumb_tree_walk *w);
void plumb_tree_walk_free(plumb_tree_walk *w);

/* Per function and per caller->callee pair: the numbers pstats and
 * callgrind need.  "total" counts a sample once however often the function
 * (or the pair) occurs on its stack, as cProfile counts recursion once. */
typedef struct plumb_sample_edge {
    uint32_t caller, callee;
    uint64_t self;         /* samples whose innermost frame is callee called from caller */
    uint64_t total;        /* samples whose stack holds caller->callee */
} plumb_sample_edge;

typedef struct plumb_sample_totals {
    uint64_t *self;        /* per function: samples with it innermost */
    uint64_t *total;       /* per function: samples with it on the stack */
    plumb_sample_edge *edges;
    uint32_t nedges;
    uint64_t samples;      /* samples with at least one frame */
} plumb_sample_totals;

int plumb_sample_totals_build(const plumb_samples *s, const plumb_sample_index *ix,
                              plumb_sample_totals *t);
/* Orders the edges by callee then caller (by_callee) or by caller then callee. */
void plumb_sample_totals_sort_edges(plumb_sample_totals *t, int by_callee);
void plumb_sample_totals_free(plumb_sample_totals *t);

#endif
