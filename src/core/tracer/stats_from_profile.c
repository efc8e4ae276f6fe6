/* The tracer's counts as stats (model/stats.h), in seconds: the writers of
 * a deterministic profile (pstats, callgrind, JSON) write these, so each
 * format has one writer for every function-level profile.  Beside the
 * tracer, not in the model, so that the model does not know the tracer. */
#include <stdlib.h>

#include "base/errors.h"
#include "model/stats.h"
#include "tracer/profile.h"

/* The stats label of profile function f, copied on first use. */
static int stats_label(plumb_stats *st, const plumb_profile *p, uint32_t *map, uint32_t f)
{
    if (map[f] != PLUMB_NONE)
        return PLUMB_OK;
    const plumb_func *fn = &p->labels.funcs[f];
    return plumb_stats_func(st, fn->file, fn->line, fn->name, &map[f]);
}

int plumb_stats_from_profile(plumb_stats *st, const plumb_profile *p)
{
    int rc = plumb_stats_init(st);
    if (rc < 0)
        return rc;
    double seconds = 1.0 / p->ticks_per_second;
    uint32_t *map = malloc(((size_t)p->labels.nfuncs + 1) * sizeof *map);
    if (!map)
        rc = PLUMB_ENOMEM;
    for (uint32_t f = 0; map && f < p->labels.nfuncs; f++)
        map[f] = PLUMB_NONE;
    /* Only the labels this profile's counts use are copied: a profile
     * reused for request after request (plumb.web) knows every function
     * any of them called.  Called functions keep the profile's order. */
    for (uint32_t f = 0; f < p->labels.nfuncs && rc == PLUMB_OK; f++) {
        const plumb_counts *c = &p->func_counts[f];
        if (!c->calls)
            continue;
        rc = stats_label(st, p, map, f);
        if (rc == PLUMB_OK && (rc = plumb_stats_list(st, map[f])) == PLUMB_OK) {
            st->funcs[map[f]] = (plumb_stat_counts){
                .prim_calls = (int64_t)(c->calls - c->recursive_calls), .calls = (int64_t)c->calls,
                .own = (double)c->own * seconds, .total = (double)c->total * seconds};
        }
    }
    for (uint32_t i = 0; i < p->nedges && rc == PLUMB_OK; i++) {
        const plumb_edge *e = &p->edges[i];
        if (e->counts.calls == 0)
            continue;
        uint32_t d;
        if ((rc = stats_label(st, p, map, e->caller)) < 0
            || (rc = stats_label(st, p, map, e->callee)) < 0)
            break;
        rc = plumb_stats_edge(st, map[e->caller], map[e->callee], &d);
        if (rc == PLUMB_OK) {
            st->edges[d].count_only = 0;
            st->edges[d].counts = (plumb_stat_counts){
                .prim_calls = (int64_t)(e->counts.calls - e->counts.recursive_calls),
                .calls = (int64_t)e->counts.calls, .own = (double)e->counts.own * seconds,
                .total = (double)e->counts.total * seconds};
        }
    }
    free(map);
    for (uint32_t i = 0; i < st->norder; i++)
        st->own_sum += st->funcs[st->order[i]].own;
    if (rc == PLUMB_OK)
        st->profiles = 1;
    else
        plumb_stats_free(st);
    return rc;
}
