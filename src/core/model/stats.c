#include "model/stats.h"

#include <stdlib.h>
#include <string.h>

#include "base/errors.h"
#include "base/grow.h"

int plumb_stats_init(plumb_stats *st)
{
    memset(st, 0, sizeof *st);
    int rc = plumb_labels_init(&st->names);
    if (rc == PLUMB_OK)
        rc = plumb_map_init(&st->by_edge, 1024);
    if (rc < 0)
        plumb_stats_free(st);
    return rc;
}

void plumb_stats_free(plumb_stats *st)
{
    plumb_labels_free(&st->names);
    plumb_map_free(&st->by_edge);
    free(st->funcs);
    free(st->listed);
    free(st->order);
    free(st->edges);
    memset(st, 0, sizeof *st);
}

int plumb_stats_func(plumb_stats *st, const char *file, int64_t line, const char *name,
                     uint32_t *func)
{
    int rc = plumb_labels_intern(&st->names, file, line, name, func);
    if (rc < 0)
        return rc;
    /* Two arrays, one capacity, recorded once both have grown. */
    uint32_t funcs_cap = st->funcs_capacity, listed_cap = st->funcs_capacity;
    rc = PLUMB_GROW_ZEROED(st->funcs, &funcs_cap, (size_t)*func + 1, 256, UINT32_MAX);
    if (rc == PLUMB_OK)
        rc = PLUMB_GROW_ZEROED(st->listed, &listed_cap, (size_t)*func + 1, 256, UINT32_MAX);
    if (rc == PLUMB_OK)
        st->funcs_capacity = funcs_cap;
    return rc;
}

int plumb_stats_list(plumb_stats *st, uint32_t func)
{
    if (st->listed[func])
        return PLUMB_OK;
    int rc = PLUMB_GROW(st->order, &st->order_capacity, (size_t)st->norder + 1, 256, UINT32_MAX);
    if (rc < 0)
        return rc;
    st->order[st->norder++] = func;
    st->listed[func] = 1;
    return PLUMB_OK;
}

static uint64_t edge_key(uint32_t caller, uint32_t callee)
{
    return ((uint64_t)caller + 1) << 32 | callee;
}

/* Puts the appended edges into the index. */
static int index_edges(plumb_stats *st)
{
    for (; st->edges_indexed < st->nedges; st->edges_indexed++) {
        const plumb_stat_edge *e = &st->edges[st->edges_indexed];
        if (plumb_map_put(&st->by_edge, edge_key(e->caller, e->callee), st->edges_indexed) < 0)
            return PLUMB_ENOMEM;
    }
    return PLUMB_OK;
}

int plumb_stats_append_edge(plumb_stats *st, uint32_t caller, uint32_t callee, uint32_t *edge)
{
    int rc = PLUMB_GROW(st->edges, &st->edges_capacity, (size_t)st->nedges + 1, 1024, PLUMB_NONE / 2);
    if (rc < 0)
        return rc;
    /* count_only until a file gives the edge's times. */
    st->edges[st->nedges] = (plumb_stat_edge){.caller = caller, .callee = callee, .count_only = 1};
    *edge = st->nedges++;
    return PLUMB_OK;
}

int plumb_stats_edge(plumb_stats *st, uint32_t caller, uint32_t callee, uint32_t *edge)
{
    int rc = index_edges(st);
    if (rc < 0)
        return rc;
    uint64_t key = edge_key(caller, callee);
    uint32_t e = plumb_map_get(&st->by_edge, key);
    if (e != PLUMB_MAP_MISSING) {
        *edge = e;
        return PLUMB_OK;
    }
    if ((rc = plumb_stats_append_edge(st, caller, callee, &e)) < 0)
        return rc;
    if (plumb_map_put(&st->by_edge, key, e) < 0)
        return PLUMB_ENOMEM;
    st->edges_indexed = st->nedges;
    *edge = e;
    return PLUMB_OK;
}

void plumb_stat_counts_add(plumb_stat_counts *sum, const plumb_stat_counts *c)
{
    sum->prim_calls += c->prim_calls;
    sum->calls += c->calls;
    sum->own += c->own;
    sum->total += c->total;
}

int plumb_stats_add(plumb_stats *dst, const plumb_stats *src)
{
    uint32_t *map = malloc(((size_t)src->names.nfuncs + 1) * sizeof *map);
    if (!map)
        return PLUMB_ENOMEM;
    int rc = PLUMB_OK;
    for (uint32_t f = 0; f < src->names.nfuncs && rc == PLUMB_OK; f++) {
        const plumb_func *fn = &src->names.funcs[f];
        rc = plumb_stats_func(dst, fn->file, fn->line, fn->name, &map[f]);
    }
    for (uint32_t i = 0; i < src->norder && rc == PLUMB_OK; i++) {
        uint32_t f = src->order[i];
        rc = plumb_stats_list(dst, map[f]);
        if (rc == PLUMB_OK)
            plumb_stat_counts_add(&dst->funcs[map[f]], &src->funcs[f]);
    }
    for (uint32_t i = 0; i < src->nedges && rc == PLUMB_OK; i++) {
        const plumb_stat_edge *e = &src->edges[i];
        uint32_t d;
        rc = plumb_stats_edge(dst, map[e->caller], map[e->callee], &d);
        if (rc == PLUMB_OK) {
            plumb_stat_counts_add(&dst->edges[d].counts, &e->counts);
            dst->edges[d].count_only &= e->count_only;
        }
    }
    if (rc == PLUMB_OK) {
        dst->profiles += src->profiles;
        dst->own_sum += src->own_sum;
    }
    free(map);
    return rc;
}
