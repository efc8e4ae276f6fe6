/* A sampled profile's function-level numbers as stats (stats.h), so that
 * its pstats file and its report's function table come from one place:
 *   own time   = samples with the function innermost x interval
 *   cumulative = samples with the function anywhere on the stack (once per
 *                sample, as cProfile counts recursion once) x interval
 *   calls      = 0: a sampler sees no calls, and a made-up count would look
 *                like a measurement (pstats leaves percall empty for 0).
 * Per caller->callee pair, the callee's own and cumulative time by the same
 * rules, restricted to stacks where the callee is called from that caller. */
#include <stdlib.h>

#include "base/errors.h"
#include "formats/sample_writers.h"

static int add_funcs(plumb_stats *st, const plumb_samples *s, const plumb_sample_totals *t)
{
    const plumb_labels *p = &s->names;
    for (uint32_t f = 0; f < p->nfuncs; f++) {
        const plumb_func *fn = &p->funcs[f];
        uint32_t g;
        int rc = plumb_stats_func(st, fn->file, fn->line, fn->name, &g);
        if (rc < 0)
            return rc;
        if (g != f)    /* labels are unique, so a fresh table keeps indices */
            return PLUMB_EINVAL;
        if (t->total[f] == 0)
            continue;
        if ((rc = plumb_stats_list(st, f)) < 0)
            return rc;
        st->funcs[f].own = (double)t->self[f] * s->interval;
        st->funcs[f].total = (double)t->total[f] * s->interval;
        st->own_sum += st->funcs[f].own;
    }
    return PLUMB_OK;
}

int plumb_stats_from_samples(plumb_stats *st, const plumb_samples *s)
{
    plumb_sample_index ix;
    plumb_sample_totals t;
    int rc = plumb_sample_index_build(s, &ix);
    if (rc < 0)
        return rc;
    rc = plumb_sample_totals_build(s, &ix, &t);
    plumb_sample_index_free(&ix);
    if (rc < 0)
        return rc;
    plumb_sample_totals_sort_edges(&t, 1);
    if ((rc = plumb_stats_init(st)) < 0) {
        plumb_sample_totals_free(&t);
        return rc;
    }
    rc = add_funcs(st, s, &t);
    for (uint32_t i = 0; i < t.nedges && rc == PLUMB_OK; i++) {
        const plumb_sample_edge *x = &t.edges[i];
        if (x->total == 0)
            continue;
        uint32_t e;
        rc = plumb_stats_append_edge(st, x->caller, x->callee, &e);
        if (rc == PLUMB_OK) {
            st->edges[e].count_only = 0;
            st->edges[e].counts.own = (double)x->self * s->interval;
            st->edges[e].counts.total = (double)x->total * s->interval;
        }
    }
    plumb_sample_totals_free(&t);
    if (rc == PLUMB_OK)
        st->profiles = 1;
    else
        plumb_stats_free(st);
    return rc;
}
