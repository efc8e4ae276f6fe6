#include "model/histogram.h"

#include <math.h>
#include <string.h>

#include "base/errors.h"

int plumb_hist_bounds(uint64_t key, uint64_t *low, uint64_t *high)
{
    if (!plumb_hist_key_valid(key))
        return PLUMB_EINVAL;
    /* Keys below 32 are values (shift 0, as for the octave [32, 64)). */
    unsigned shift = 0;
    if (key >= (1u << PLUMB_HIST_SUB_BITS))
        shift = (unsigned)(key >> PLUMB_HIST_SUB_BITS) - 1;
    uint64_t sub = key - ((uint64_t)shift << PLUMB_HIST_SUB_BITS);
    *low = sub << shift;
    *high = (sub + 1) << shift;
    return PLUMB_OK;
}

int plumb_hist_representative(uint64_t key, double *us)
{
    uint64_t low, high;
    int rc = plumb_hist_bounds(key, &low, &high);
    if (rc < 0)
        return rc;
    /* Both are below 2^36, so the double is exact. */
    *us = ((double)low + (double)(high - 1)) / 2;
    return PLUMB_OK;
}

int plumb_hist_quantile(const plumb_hist_pair *pairs, size_t n, double q, double *us)
{
    if (!(q >= 0 && q <= 1))
        return PLUMB_EINVAL;
    /* Keys are few, so the pairs are summed into one dense count per key:
     * any order and repeated keys cost nothing, and no sort is needed. */
    uint64_t counts[PLUMB_HIST_KEYS];
    memset(counts, 0, sizeof counts);
    uint64_t total = 0;
    for (size_t i = 0; i < n; i++) {
        if (!plumb_hist_key_valid(pairs[i].key))
            return PLUMB_EINVAL;
        if (__builtin_add_overflow(total, pairs[i].count, &total))
            return PLUMB_EINVAL;
        counts[pairs[i].key] += pairs[i].count;
    }
    if (total == 0)
        return PLUMB_EINVAL;
    /* Nearest rank, as the tests' exact quantile of the raw data. */
    double rank_d = ceil(q * (double)total);
    uint64_t rank = rank_d < 1 ? 1 : rank_d >= (double)total ? total : (uint64_t)rank_d;
    uint64_t seen = 0;
    uint32_t key = 0;
    for (; key < PLUMB_HIST_KEYS - 1; key++) {
        seen += counts[key];
        if (seen >= rank)
            break;
    }
    return plumb_hist_representative(key, us);
}
