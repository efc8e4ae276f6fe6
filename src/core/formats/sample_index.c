/* What the sampled-profile writers derive from the call tree: children
 * lists, inclusive counts, a depth-first walk, and per-function and
 * per-edge totals.  Everything here is linear in the number of nodes (plus
 * a sort of the edges): profiles can have a million nodes. */
#include <stdlib.h>
#include <string.h>

#include "base/errors.h"
#include "base/grow.h"
#include "formats/sample_writers.h"

/* A counting sort of nodes 0..n-1 by parent, stable, so children stay in
 * creation order.  The parent of node i is the uint32_t at base + i*stride,
 * which lets one routine serve both plumb_node arrays and plain arrays. */
static int group(const char *base, size_t stride, uint32_t n, uint32_t **first_out,
                 uint32_t **child_out)
{
    uint32_t *first = calloc((size_t)n + 1, sizeof *first);
    uint32_t *child = malloc(((size_t)n + 1) * sizeof *child);
    uint32_t *fill = malloc(((size_t)n + 1) * sizeof *fill);
    if (!first || !child || !fill) {
        free(first);
        free(child);
        free(fill);
        return PLUMB_ENOMEM;
    }
    for (uint32_t i = 0; i < n; i++) {
        uint32_t p;
        memcpy(&p, base + (size_t)i * stride, sizeof p);
        if (p != PLUMB_NONE)
            first[p + 1]++;
    }
    for (uint32_t i = 0; i < n; i++)
        first[i + 1] += first[i];
    memcpy(fill, first, (size_t)n * sizeof *fill);
    for (uint32_t i = 0; i < n; i++) {
        uint32_t p;
        memcpy(&p, base + (size_t)i * stride, sizeof p);
        if (p != PLUMB_NONE)
            child[fill[p]++] = i;
    }
    free(fill);
    *first_out = first;
    *child_out = child;
    return PLUMB_OK;
}

int plumb_tree_children(const uint32_t *parent, uint32_t n, uint32_t **first, uint32_t **child)
{
    return group((const char *)parent, sizeof *parent, n, first, child);
}

int plumb_sample_index_build(const plumb_samples *s, plumb_sample_index *ix)
{
    memset(ix, 0, sizeof *ix);
    uint32_t n = s->nnodes;
    ix->inclusive = malloc(((size_t)n + 1) * sizeof *ix->inclusive);
    if (!ix->inclusive)
        return PLUMB_ENOMEM;
    for (uint32_t i = 0; i < n; i++)
        ix->inclusive[i] = s->nodes[i].self;
    /* A parent is created before its children, so one pass from the last
     * node back has added every subtree into its parent before the parent
     * itself is added further up. */
    for (uint32_t i = n; i-- > 0;)
        if (s->nodes[i].parent != PLUMB_NONE)
            ix->inclusive[s->nodes[i].parent] += ix->inclusive[i];
    int rc = n ? group((const char *)&s->nodes[0].parent, sizeof s->nodes[0], n, &ix->first,
                       &ix->child)
               : group(NULL, 0, 0, &ix->first, &ix->child);
    if (rc < 0)
        plumb_sample_index_free(ix);
    return rc;
}

void plumb_sample_index_free(plumb_sample_index *ix)
{
    free(ix->inclusive);
    free(ix->first);
    free(ix->child);
    memset(ix, 0, sizeof *ix);
}

int plumb_tree_walk_begin(plumb_tree_walk *w, const uint32_t *first, const uint32_t *child,
                          uint32_t start)
{
    w->first = first;
    w->child = child;
    w->capacity = 64;
    w->path = malloc(w->capacity * sizeof *w->path);
    w->next = malloc(w->capacity * sizeof *w->next);
    if (!w->path || !w->next) {
        plumb_tree_walk_free(w);
        return PLUMB_ENOMEM;
    }
    w->path[0] = start;
    w->next[0] = first[start];
    w->depth = 1;
    return PLUMB_OK;
}

int plumb_tree_walk_next(plumb_tree_walk *w, uint32_t *node)
{
    if (w->depth == 0)
        return PLUMB_WALK_DONE;
    uint32_t level = w->depth - 1, top = w->path[level];
    if (w->next[level] < w->first[top + 1]) {
        uint32_t c = w->child[w->next[level]++];
        /* Two arrays, one capacity, recorded once both have grown. */
        uint32_t path_cap = w->capacity, next_cap = w->capacity;
        int rc = PLUMB_GROW(w->path, &path_cap, (size_t)w->depth + 1, 64, UINT32_MAX);
        if (rc == PLUMB_OK)
            rc = PLUMB_GROW(w->next, &next_cap, (size_t)w->depth + 1, 64, UINT32_MAX);
        if (rc < 0)
            return rc;
        w->capacity = path_cap;
        w->path[w->depth] = c;
        w->next[w->depth] = w->first[c];
        w->depth++;
        *node = c;
        return PLUMB_WALK_ENTER;
    }
    w->depth--;
    if (w->depth == 0)
        return PLUMB_WALK_DONE;   /* the start node is not reported */
    *node = top;
    return PLUMB_WALK_LEAVE;
}

void plumb_tree_walk_skip(plumb_tree_walk *w)
{
    if (w->depth > 1)
        w->depth--;
}

void plumb_tree_walk_free(plumb_tree_walk *w)
{
    free(w->path);
    free(w->next);
    w->path = w->next = NULL;
    w->depth = w->capacity = 0;
}

void plumb_sample_totals_free(plumb_sample_totals *t)
{
    free(t->self);
    free(t->total);
    free(t->edges);
    memset(t, 0, sizeof *t);
}

/* The caller->callee pair of every node below a top frame, numbered. */
static int number_edges(const plumb_samples *s, plumb_sample_totals *t, uint32_t *node_edge)
{
    plumb_map ids;
    if (plumb_map_init(&ids, 1024) < 0)
        return PLUMB_ENOMEM;
    uint32_t capacity = 0;
    int rc = PLUMB_OK;
    for (uint32_t n = 0; n < s->nnodes && rc == PLUMB_OK; n++) {
        const plumb_node *x = &s->nodes[n];
        node_edge[n] = PLUMB_NONE;
        if (x->func == PLUMB_NONE || s->nodes[x->parent].func == PLUMB_NONE)
            continue;
        uint32_t caller = s->nodes[x->parent].func;
        uint64_t key = ((uint64_t)caller + 1) << 32 | x->func;
        uint32_t e = plumb_map_get(&ids, key);
        if (e == PLUMB_MAP_MISSING) {
            rc = PLUMB_GROW(t->edges, &capacity, (size_t)t->nedges + 1, 256, PLUMB_NONE / 2);
            if (rc < 0)
                break;
            e = t->nedges;
            rc = plumb_map_put(&ids, key, e);
            if (rc < 0)
                break;
            t->edges[e] = (plumb_sample_edge){.caller = caller, .callee = x->func};
            t->nedges++;
        }
        node_edge[n] = e;
    }
    plumb_map_free(&ids);
    return rc;
}

/* "Samples whose stack holds f at least once": in a depth-first walk, a
 * node whose function is not already on the path above it is the
 * outermost occurrence on every stack through it, so its inclusive count
 * is added and deeper occurrences are not.  A live count per function (and
 * per edge) makes this one pass over the nodes, with no walk up each path
 * and so nothing quadratic in the depth. */
static int accumulate_totals(const plumb_samples *s, const plumb_sample_index *ix,
                             plumb_sample_totals *t, const uint32_t *node_edge)
{
    uint32_t *func_live = calloc((size_t)s->names.nfuncs + 1, sizeof *func_live);
    uint32_t *edge_live = calloc((size_t)t->nedges + 1, sizeof *edge_live);
    int rc = func_live && edge_live ? PLUMB_OK : PLUMB_ENOMEM;
    for (uint32_t th = 0; th < s->nthreads && rc == PLUMB_OK; th++) {
        plumb_tree_walk w;
        rc = plumb_tree_walk_begin(&w, ix->first, ix->child, s->threads[th].root);
        uint32_t n;
        int step = PLUMB_WALK_DONE;
        while (rc == PLUMB_OK && (step = plumb_tree_walk_next(&w, &n)) > 0) {
            uint32_t f = s->nodes[n].func, e = node_edge[n];
            if (step == PLUMB_WALK_LEAVE) {
                func_live[f]--;
                if (e != PLUMB_NONE)
                    edge_live[e]--;
            } else if (ix->inclusive[n] == 0) {
                plumb_tree_walk_skip(&w);   /* nothing sampled below */
            } else {
                if (func_live[f]++ == 0)
                    t->total[f] += ix->inclusive[n];
                if (e != PLUMB_NONE && edge_live[e]++ == 0)
                    t->edges[e].total += ix->inclusive[n];
            }
        }
        if (step < 0)
            rc = step;
        plumb_tree_walk_free(&w);
    }
    free(func_live);
    free(edge_live);
    return rc;
}

int plumb_sample_totals_build(const plumb_samples *s, const plumb_sample_index *ix,
                              plumb_sample_totals *t)
{
    memset(t, 0, sizeof *t);
    size_t nf = (size_t)s->names.nfuncs + 1;
    t->self = calloc(nf, sizeof *t->self);
    t->total = calloc(nf, sizeof *t->total);
    uint32_t *node_edge = malloc(((size_t)s->nnodes + 1) * sizeof *node_edge);
    int rc = t->self && t->total && node_edge ? PLUMB_OK : PLUMB_ENOMEM;
    if (rc == PLUMB_OK)
        rc = number_edges(s, t, node_edge);
    if (rc == PLUMB_OK) {
        for (uint32_t n = 0; n < s->nnodes; n++) {
            const plumb_node *x = &s->nodes[n];
            if (x->func == PLUMB_NONE)
                continue;   /* an empty stack's samples: no function to charge */
            t->self[x->func] += x->self;
            t->samples += x->self;
            if (node_edge[n] != PLUMB_NONE)
                t->edges[node_edge[n]].self += x->self;
        }
        rc = accumulate_totals(s, ix, t, node_edge);
    }
    free(node_edge);
    if (rc < 0)
        plumb_sample_totals_free(t);
    return rc;
}

static int cmp_u32(uint32_t a, uint32_t b) { return (a > b) - (a < b); }

static int by_callee(const void *a, const void *b)
{
    const plumb_sample_edge *x = a, *y = b;
    int c = cmp_u32(x->callee, y->callee);
    return c ? c : cmp_u32(x->caller, y->caller);
}

static int by_caller(const void *a, const void *b)
{
    const plumb_sample_edge *x = a, *y = b;
    int c = cmp_u32(x->caller, y->caller);
    return c ? c : cmp_u32(x->callee, y->callee);
}

void plumb_sample_totals_sort_edges(plumb_sample_totals *t, int callee_first)
{
    if (t->nedges)
        qsort(t->edges, t->nedges, sizeof *t->edges, callee_first ? by_callee : by_caller);
}
