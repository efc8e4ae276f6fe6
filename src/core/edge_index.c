#include <stdlib.h>

#include "errors.h"
#include "writers.h"

/* A counting sort of the edges by one of their ends. */
static int build(const plumb_profile *p, plumb_edge_index *ix, int by_callee)
{
    ix->first = calloc((size_t)p->nfuncs + 1, sizeof *ix->first);
    ix->edges = malloc(((size_t)p->nedges + 1) * sizeof *ix->edges);
    if (!ix->first || !ix->edges) {
        plumb_edge_index_free(ix);
        return PLUMB_ENOMEM;
    }
    for (uint32_t e = 0; e < p->nedges; e++) {
        uint32_t f = by_callee ? p->edges[e].callee : p->edges[e].caller;
        ix->first[f + 1]++;
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
        uint32_t f = by_callee ? p->edges[e].callee : p->edges[e].caller;
        ix->edges[fill[f]++] = e;
    }
    free(fill);
    return PLUMB_OK;
}

int plumb_edge_index_by_callee(const plumb_profile *p, plumb_edge_index *ix)
{
    return build(p, ix, 1);
}

int plumb_edge_index_by_caller(const plumb_profile *p, plumb_edge_index *ix)
{
    return build(p, ix, 0);
}

void plumb_edge_index_free(plumb_edge_index *ix)
{
    free(ix->first);
    free(ix->edges);
    ix->first = NULL;
    ix->edges = NULL;
}
