/* What every reader checks of the numbers it read, beyond their syntax:
 * that they can be a profile's.  A file whose bytes parse may still say
 * that a function was called -1 times, or made more primitive calls than
 * calls, or ran for NaN seconds; printed as they are, such numbers make a
 * table that looks like a profile and means nothing.  The rules are here
 * once, for every format that can carry such numbers (pstats, callgrind,
 * plumb's JSON; the samples of pprof, speedscope and collapsed stacks). */
#ifndef PLUMB_READ_CHECKS_H
#define PLUMB_READ_CHECKS_H

#include <stddef.h>
#include <stdint.h>

#include "base/errors.h"
#include "model/stats.h"

/* The largest count read: 2^53, which a double holds exactly (JSON's
 * numbers are doubles) and which leaves room for sums of many files. */
#define PLUMB_MAX_COUNT (INT64_C(1) << 53)
/* The longest time read, in seconds: 30 million years, far beyond any
 * profile and far from overflowing sums. */
#define PLUMB_MAX_SECONDS 1e15

/* Why c cannot be the counts of a caller->callee edge, or NULL if it
 * can: a count below 0 or above PLUMB_MAX_COUNT, more primitive calls
 * than calls, a time that is negative, not finite or above
 * PLUMB_MAX_SECONDS.  (Own time above cumulative time is not refused: a
 * calibrated profile module can write it.) */
const char *plumb_check_counts(const plumb_stat_counts *c);

/* Checks function func of st and the edges [first, end) of st, which are
 * calls into func (its callers, as a pstats entry lists them): every
 * count, as plumb_check_counts, and that the callers' calls add up to no
 * more than the function's calls (each call has one caller at most: the
 * outermost have none).
 *
 * Two things real files do are not refused.  yappi writes a function's
 * counts as (calls, primitive calls), the reverse of pstats' order (its
 * callers' are in pstats' order; pstats prints what it finds, "1/465"):
 * a function with more primitive calls than calls is taken in yappi's
 * order if its callers made its recursive calls (calls less primitive
 * calls) at least.  And the callers' primitive calls are not compared
 * with the function's: a call into a function already running can be the
 * first of its caller->callee pair, so they can add up to more (cProfile
 * writes that for f -> g -> f).  0, or PLUMB_EFORMAT with a reason naming
 * the function in why. */
int plumb_check_function(const plumb_stats *st, uint32_t func, uint32_t first, uint32_t end,
                         char *why, size_t size);

/* The same checks over a whole stats, whatever the order of its edges:
 * 0, PLUMB_ENOMEM, or PLUMB_EFORMAT with the reason in err (no position:
 * the reason names the function). */
int plumb_check_stats(const plumb_stats *st, plumb_read_error *err);

/* Why w cannot be a sample's count or weight (negative, not finite, or
 * beyond any profile's), or NULL. */
const char *plumb_check_weight(double w);

#endif
