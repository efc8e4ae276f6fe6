/* pstats' orders and names for a plumb_stats, in C. */
#ifndef PLUMB_STATS_ORDER_H
#define PLUMB_STATS_ORDER_H

#include <stddef.h>
#include <stdint.h>

#include "model/stats.h"

/* One key of pstats' sort: index into pstats' sort tuple (0 cc, 1 nc,
 * 2 tt, 3 ct, 4 file, 5 line, 6 name, 7 stdname) and direction (1 or -1). */
typedef struct plumb_sort_field {
    int index;
    int direction;
} plumb_sort_field;

/* Listing positions (indices into st->order) sorted as pstats' sort_stats
 * sorts them, equal keys keeping their listing order; out has room for
 * st->norder.  0, PLUMB_EINVAL or PLUMB_ENOMEM. */
int plumb_stats_sorted(const plumb_stats *st, const plumb_sort_field *fields, int nfields,
                       uint32_t *out);

/* pstats' func_std_string: "file:line(name)", or "{...}" for built-ins,
 * as snprintf (the length it would need). */
int plumb_stats_std_name(const plumb_func *f, char *buf, size_t size);

/* Its length in characters, as Python's len() counts them. */
size_t plumb_stats_std_len(const plumb_func *f);

#endif
