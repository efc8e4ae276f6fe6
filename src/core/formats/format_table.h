/* The one table of profile formats: each format's name, the file names that
 * choose it, and how it is written and read.  The binding (Profile.dump,
 * Sampler.dump, Stats.dump, plumb convert) and the Python package (the
 * command line's choices, an output's format from its name) all take their
 * formats from here, so a format is added in one place.
 *
 * A writer is given a view of a profile: its function-level numbers, its
 * call trees, or both, whichever its source has.  Each format writes from
 * what it needs and derives the rest where that keeps meaning (pstats'
 * numbers from a tree), and refuses where it would not (stacks from a
 * pstats file's edges: PLUMB_EFORMAT, the reason in err). */
#ifndef PLUMB_FORMAT_TABLE_H
#define PLUMB_FORMAT_TABLE_H

#include <stdint.h>
#include <stdio.h>

#include "formats/readers.h"
#include "model/samples.h"
#include "model/stats.h"

typedef struct plumb_profile_view {
    const plumb_stats *stats;     /* pstats' numbers, or NULL */
    const plumb_samples *tree;    /* call trees, or NULL */
    int tree_exact;               /* tree holds real stacks, not ones rebuilt from edges */
    const char *kind;             /* for JSON: "deterministic", "sampled" or "functions" */
    const char *creator;          /* "plumb", "plumb sample", "plumb convert" */
    const char *command;          /* the profiled command line, or NULL */
    long pid;                     /* the profiled process, 0 if unknown */
    uint64_t lost_events, folded_calls;   /* a deterministic profile's */
} plumb_profile_view;

typedef int (*plumb_format_writer)(FILE *out, const plumb_profile_view *v, plumb_read_error *err);
typedef int (*plumb_stats_reader)(plumb_stats *st, const void *buf, size_t len,
                                  plumb_read_error *err);
typedef int (*plumb_samples_reader)(plumb_samples *s, const void *buf, size_t len,
                                    plumb_read_error *err);

/* What a writer wants of its view (the binding builds only that). */
enum {
    PLUMB_FORMAT_STATS = 1,       /* function-level numbers */
    PLUMB_FORMAT_TREE = 2,        /* call trees */
};

typedef struct plumb_format {
    const char *name;             /* as --format takes it */
    /* File names that choose it, as shell patterns separated by spaces, in
     * the table's order (the first match wins: "*.speedscope.json" before
     * "*.json"); NULL for a format only asked for by name. */
    const char *patterns;
    unsigned wants;               /* PLUMB_FORMAT_STATS | PLUMB_FORMAT_TREE */
    /* The caller gzips what write writes (pprof's files are gzipped
     * protobuf; compression is left to Python's gzip). */
    int gzipped;
    plumb_format_writer write;
    plumb_stats_reader read_stats;      /* readers by kind of result, or NULL */
    plumb_samples_reader read_samples;
} plumb_format;

extern const plumb_format plumb_formats[];
extern const size_t plumb_nformats;

/* The format named name, or NULL. */
const plumb_format *plumb_format_named(const char *name);

#endif
