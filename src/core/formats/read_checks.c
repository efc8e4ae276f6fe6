#include "formats/read_checks.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

/* Everything but how the two call counts relate. */
static const char *check_numbers(const plumb_stat_counts *c)
{
    if (c->calls < 0 || c->prim_calls < 0)
        return "a negative call count";
    if (c->calls > PLUMB_MAX_COUNT || c->prim_calls > PLUMB_MAX_COUNT)
        return "a call count beyond any profile's";
    /* Written so that NaN fails every test. */
    if (!isfinite(c->own) || !isfinite(c->total))
        return "a time that is not a finite number";
    if (!(c->own >= 0) || !(c->total >= 0))
        return "a negative time";
    if (c->own > PLUMB_MAX_SECONDS || c->total > PLUMB_MAX_SECONDS)
        return "a time beyond any profile's";
    return NULL;
}

const char *plumb_check_counts(const plumb_stat_counts *c)
{
    const char *bad = check_numbers(c);
    if (!bad && c->prim_calls > c->calls)
        bad = "more primitive calls than calls";
    return bad;
}

/* why = "<file>:<line>(<name>): <what>", as pstats names functions. */
static int name_fail(const plumb_stats *st, uint32_t func, const char *what, char *why,
                     size_t size)
{
    const plumb_func *f = &st->names.funcs[func];
    /* Cut to the message's size on purpose (so the return value is looked at). */
    if (snprintf(why, size, "%.60s:%" PRId64 "(%.60s): %s", f->file, f->line, f->name, what) < 0)
        why[0] = 0;
    /* Names come from the file: a newline in one must not make the
     * reason two lines. */
    for (char *c = why; *c; c++)
        if ((unsigned char)*c < 0x20 || *c == 0x7f)
            *c = '?';
    return PLUMB_EFORMAT;
}

static int check_edge(const plumb_stats *st, const plumb_stat_edge *e, char *why, size_t size)
{
    const char *bad = plumb_check_counts(&e->counts);
    if (!bad)
        return PLUMB_OK;
    char what[120];
    const plumb_func *caller = &st->names.funcs[e->caller];
    snprintf(what, sizeof what, "its calls from %.40s: %s", caller->name, bad);
    return name_fail(st, e->callee, what, why, size);
}

/* A function's counts, given the calls its callers made of it. */
static int check_function(const plumb_stats *st, uint32_t func, int64_t callers_calls, char *why,
                          size_t size)
{
    const plumb_stat_counts *c = &st->funcs[func];
    const char *bad = check_numbers(c);
    if (bad)
        return name_fail(st, func, bad, why, size);
    int64_t calls = c->calls;
    if (c->prim_calls > c->calls) {
        /* yappi's order, (calls, primitive calls): then its callers made
         * its calls, and the recursive ones at least (each has a caller). */
        calls = c->prim_calls;
        if (callers_calls < c->prim_calls - c->calls)
            return name_fail(st, func, "more primitive calls than calls", why, size);
    }
    if (callers_calls <= calls)
        return PLUMB_OK;
    char what[120];
    snprintf(what, sizeof what, "its callers made %" PRId64 " calls of it, more than its %" PRId64,
             callers_calls, calls);
    return name_fail(st, func, what, why, size);
}

int plumb_check_function(const plumb_stats *st, uint32_t func, uint32_t first, uint32_t end,
                         char *why, size_t size)
{
    int64_t sum = 0;
    for (uint32_t e = first; e < end; e++) {
        int rc = check_edge(st, &st->edges[e], why, size);
        if (rc < 0)
            return rc;
        /* Each count is at most 2^53; adding stops once the sum is past
         * any function's calls, so it cannot overflow. */
        if (sum <= PLUMB_MAX_COUNT)
            sum += st->edges[e].counts.calls;
    }
    return check_function(st, func, sum, why, size);
}

int plumb_check_stats(const plumb_stats *st, plumb_read_error *err)
{
    char why[sizeof err->message];
    int rc = PLUMB_OK;
    int64_t *sum = calloc((size_t)st->names.nfuncs + 1, sizeof *sum);
    if (!sum)
        return PLUMB_ENOMEM;
    for (uint32_t e = 0; e < st->nedges && rc == PLUMB_OK; e++) {
        rc = check_edge(st, &st->edges[e], why, sizeof why);
        if (sum[st->edges[e].callee] <= PLUMB_MAX_COUNT)
            sum[st->edges[e].callee] += st->edges[e].counts.calls;
    }
    for (uint32_t f = 0; f < st->names.nfuncs && rc == PLUMB_OK; f++)
        rc = check_function(st, f, sum[f], why, sizeof why);
    free(sum);
    return rc == PLUMB_EFORMAT ? plumb_read_fail(err, NULL, 0, why) : rc;
}

const char *plumb_check_weight(double w)
{
    if (!isfinite(w))
        return "a sample weight that is not a finite number";
    if (w < 0)
        return "a negative sample weight";
    if (w > 1e15)
        return "a sample weight beyond any profile's";
    return NULL;
}
