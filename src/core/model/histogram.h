/* Latency histograms that merge by adding counts: production monitoring
 * (plumb.monitor) keeps one per transaction and minute, and a percentile
 * of any window, over any set of workers and hosts, is read from the sum
 * of their histograms, never from an average of percentiles.
 *
 * The bucket scheme (PLUMB_HIST_SCHEME 1).  Keys are stored (in a store's
 * tables, in files), so this scheme must never change; a different one
 * needs a new scheme number, and stores must tell the two apart.
 *
 *   Values are integer microseconds, log-linear buckets (HDR-style) with
 *   B = PLUMB_HIST_SUB_BITS = 5, so 2^B = 32 sub-buckets per octave:
 *
 *   - a value v below 2^B = 32 is its own bucket: key = v;
 *   - a value v >= 32 with top bit e (2^e <= v < 2^(e+1), e >= 5) lies in
 *     the octave [2^e, 2^(e+1)), split into 32 buckets 2^shift wide,
 *     shift = e - B: key = (shift << B) + (v >> shift), which runs over
 *     (shift << B) + 32 .. (shift << B) + 63.  The octave [32, 64) has
 *     shift 0, so there too key = v: keys run on from 0 without a gap;
 *   - values of PLUMB_HIST_LIMIT_US = 2^36 us (19.1 hours) and above are
 *     counted as 2^36 - 1, in the last bucket [2^36 - 2^30, 2^36), key 1023
 *     (18.8 to 19.1 hours): a percentile read there means "18.8 hours or
 *     more".  The exact maximum is kept beside the histogram.
 *
 *   So keys are 0 .. PLUMB_HIST_KEYS - 1 = 1023, every one of them a
 *   bucket some value lands in, and a key's bounds are
 *       key < 32:   [key, key + 1)
 *       otherwise:  shift = (key >> B) - 1, sub = key - (shift << B) (32..63),
 *                   [sub << shift, (sub + 1) << shift)
 *
 * Accuracy.  A bucket's representative value is the middle of the integers
 * it holds, (low + high - 1) / 2.  Below 64 us that is the value itself;
 * from 64 us a bucket of width w = 2^shift starts at low >= 32 w, so the
 * representative is within (w - 1) / 2 / low < 1/64 (1.5625%) of every
 * value in it: the promise of 2% from 0.1 ms to an hour holds, with room,
 * from 0 to 2^36 us.  A quantile (nearest rank, below) is the
 * representative of the bucket holding the value of that rank, so it too
 * is within 1/64 of the exact nearest-rank value of the raw data.
 *
 * The key is a count of leading zeros, a shift and an add: no log(). */
#ifndef PLUMB_HISTOGRAM_H
#define PLUMB_HISTOGRAM_H

#include <stddef.h>
#include <stdint.h>

#define PLUMB_HIST_SCHEME 1
#define PLUMB_HIST_SUB_BITS 5
#define PLUMB_HIST_LIMIT_US ((uint64_t)1 << 36)
#define PLUMB_HIST_KEYS 1024u

/* One bucket of a histogram given as pairs (a store's rows, a dict). */
typedef struct plumb_hist_pair {
    uint32_t key;
    uint64_t count;
} plumb_hist_pair;

/* The key of a value in microseconds (any value: 0, and above
 * PLUMB_HIST_LIMIT_US, included). */
static inline uint32_t plumb_hist_key(uint64_t us)
{
    if (us >= PLUMB_HIST_LIMIT_US)
        us = PLUMB_HIST_LIMIT_US - 1;
    if (us < ((uint64_t)1 << PLUMB_HIST_SUB_BITS))
        return (uint32_t)us;
    unsigned top_bit = 63 - (unsigned)__builtin_clzll(us);
    unsigned shift = top_bit - PLUMB_HIST_SUB_BITS;
    return (uint32_t)(((uint64_t)shift << PLUMB_HIST_SUB_BITS) + (us >> shift));
}

/* Whether key is one of this scheme's (keys read back from stores and
 * files are untrusted). */
static inline int plumb_hist_key_valid(uint64_t key)
{
    return key < PLUMB_HIST_KEYS;
}

/* A valid key's bucket: the values v with *low <= v < *high.
 * PLUMB_EINVAL for a key that is not the scheme's. */
int plumb_hist_bounds(uint64_t key, uint64_t *low, uint64_t *high);

/* A valid key's representative value: the middle of the integers in its
 * bucket.  PLUMB_EINVAL for a key that is not the scheme's. */
int plumb_hist_representative(uint64_t key, double *us);

/* The q-quantile (0 <= q <= 1) of the histogram given as n pairs, in any
 * order, a key possibly repeated (its counts add): the representative of
 * the bucket holding the value of nearest rank r = ceil(q * total),
 * at least 1 (so q = 0 reads the smallest bucket, q = 1 the largest).
 * Counts of 0 are allowed and count nothing.  PLUMB_EINVAL for a key that
 * is not the scheme's, q outside [0, 1] or NaN, an empty histogram (total
 * 0) or a total that overflows 64 bits. */
int plumb_hist_quantile(const plumb_hist_pair *pairs, size_t n, double q, double *us);

#endif
