#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "base/errors.h"
#include "formats/writers.h"
#include "tracer/profile.h"

/* The two edge types share their first fields (caller, callee); the index
 * sees an edge table as nedges pairs, `stride` bytes apart. */
typedef struct edge_table {
    uint32_t nfuncs, nedges;
    const unsigned char *base;
    size_t stride;
} edge_table;

static uint32_t end_of(const edge_table *t, uint32_t e, int callee)
{
    const unsigned char *edge = t->base + (size_t)e * t->stride;
    uint32_t v;
    memcpy(&v, edge + (callee ? offsetof(plumb_edge, callee) : offsetof(plumb_edge, caller)), sizeof v);
    return v;
}

/* A counting sort of the edges by one of their ends. */
static int build(const edge_table *p, plumb_edge_index *ix, int by_callee)
{
    ix->first = calloc((size_t)p->nfuncs + 1, sizeof *ix->first);
    ix->edges = malloc(((size_t)p->nedges + 1) * sizeof *ix->edges);
    if (!ix->first || !ix->edges) {
        plumb_edge_index_free(ix);
        return PLUMB_ENOMEM;
    }
    for (uint32_t e = 0; e < p->nedges; e++) {
        ix->first[end_of(p, e, by_callee) + 1]++;
    }
    for (uint32_t f = 0; f < p->nfuncs; f++)
        ix->first[f + 1] += ix->first[f];
    uint32_t *fill = malloc(((size_t)p->nfuncs + 1) * sizeof *fill);
    if (!fill) {
        plumb_edge_index_free(ix);
        return PLUMB_ENOMEM;
    }
    for (uint32_t f = 0; f <= p->nfuncs; f++)
        fill[f] = ix->first[f];
    for (uint32_t e = 0; e < p->nedges; e++) {
        ix->edges[fill[end_of(p, e, by_callee)]++] = e;
    }
    free(fill);
    return PLUMB_OK;
}

_Static_assert(offsetof(plumb_edge, caller) == offsetof(plumb_stat_edge, caller)
                   && offsetof(plumb_edge, callee) == offsetof(plumb_stat_edge, callee),
               "edge types share their ends' layout");

int plumb_edge_index_by_callee(const plumb_profile *p, plumb_edge_index *ix)
{
    edge_table t = {p->labels.nfuncs, p->nedges, (const unsigned char *)p->edges, sizeof *p->edges};
    return build(&t, ix, 1);
}

int plumb_stats_edges_by(const plumb_stats *st, int by_callee, plumb_edge_index *ix)
{
    edge_table t = {st->names.nfuncs, st->nedges, (const unsigned char *)st->edges,
                    sizeof *st->edges};
    return build(&t, ix, by_callee);
}

void plumb_edge_index_free(plumb_edge_index *ix)
{
    free(ix->first);
    free(ix->edges);
    ix->first = NULL;
    ix->edges = NULL;
}
