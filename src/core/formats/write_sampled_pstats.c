/* A sampled profile as a pstats file, so that pstats, snakeviz, gprof2dot
 * and `plumb`'s own table read it like cProfile's.  The numbers are
 * plumb_stats_from_samples's (stats_from_samples.c says what they are). */
#include "base/errors.h"
#include "formats/sample_writers.h"

int plumb_write_sampled_pstats(const plumb_samples *s, FILE *out)
{
    plumb_stats st;
    int rc = plumb_stats_from_samples(&st, s);
    if (rc < 0)
        return rc;
    rc = plumb_write_stats_pstats(&st, out);
    plumb_stats_free(&st);
    return rc;
}
