/* Readers of profile files.  Each takes the whole file in memory, treats it
 * as untrusted (every length and type is checked, nothing is trusted to
 * end), and returns 0, PLUMB_ENOMEM, or PLUMB_EFORMAT with a one-line
 * reason in *err. */
#ifndef PLUMB_READERS_H
#define PLUMB_READERS_H

#include <stddef.h>

#include "base/errors.h"
#include "model/samples.h"
#include "model/stats.h"

/* A pstats file (cProfile, profile, yappi, plumb) into st, which must be
 * empty (merge with plumb_stats_add); on failure st holds part of the file
 * and is to be discarded. */
int plumb_read_pstats(plumb_stats *st, const void *buf, size_t len, plumb_read_error *err);

/* A Callgrind Format file (plumb, valgrind, pyprof2calltree) into st,
 * which must be empty: own time, calls and per-caller inclusive time as
 * the format gives them (read_callgrind.c says what it cannot give). */
int plumb_read_callgrind(plumb_stats *st, const void *buf, size_t len, plumb_read_error *err);

/* Collapsed stacks (plumb, py-spy, Austin, stackcollapse) into s, which
 * must be initialised with the interval one sample stands for.  Austin's
 * "T<thread>" markers make threads; other stacks go to one thread. */
int plumb_read_collapsed(plumb_samples *s, const void *buf, size_t len, plumb_read_error *err);

/* pprof's profile.proto, decompressed, into s: one thread per "thread"
 * label; the count sample type, else a time one (read_pprof.c). */
int plumb_read_pprof(plumb_samples *s, const void *buf, size_t len, plumb_read_error *err);

/* speedscope's JSON file format into s: one thread per profile, sampled
 * or evented; time weights become samples of s->interval. */
int plumb_read_speedscope(plumb_samples *s, const void *buf, size_t len, plumb_read_error *err);

/* plumb's JSON profile (docs/json-format.md): its function-level numbers,
 * and its call tree if it has one (has_tree; tree_exact unless it was
 * rebuilt from edges).  On failure nothing is left to free. */
typedef struct plumb_json_profile {
    plumb_stats stats;
    plumb_samples tree;
    int has_tree;
    int tree_exact;
    char kind[16];           /* "deterministic", "sampled" or "functions" */
} plumb_json_profile;

int plumb_read_json_profile(plumb_json_profile *out, const void *buf, size_t len,
                            plumb_read_error *err);
void plumb_json_profile_free(plumb_json_profile *p);

/* Only the function-level numbers of a plumb JSON profile, into st, which
 * must be empty (as plumb_read_pstats). */
int plumb_read_json_stats(plumb_stats *st, const void *buf, size_t len, plumb_read_error *err);

#endif
