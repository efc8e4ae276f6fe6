/* cProfile's counts per function and per caller->callee edge, derived from
 * the call paths, so that a call on the hot path touches only its frame and
 * its path (tracer.h).  A path is a whole stack: the activations live when a
 * call along it was made are its ancestors', so whether the call was
 * recursive (another activation of its function, or of its edge, below it)
 * is a property of the path, found by one walk of the tree. */
#include <stdlib.h>
#include <string.h>

#include "base/errors.h"
#include "tracer/profile.h"

/* Marks a walk's stack entry as leaving the path rather than entering it. */
#define LEAVE (1u << 31)

typedef struct derivation {
    int64_t *ticks;           /* per path: time of its calls that returned */
    uint32_t *first;          /* children of path i: kids[first[i] .. first[i + 1]) */
    uint32_t *kids;
    uint32_t *walk;           /* the walk's stack, at most an enter and a leave per path */
    int32_t *func_live;       /* activations of each function on the walk's path */
    int32_t *edge_live;
} derivation;

static void derivation_free(derivation *d)
{
    free(d->ticks);
    free(d->first);
    free(d->kids);
    free(d->walk);
    free(d->func_live);
    free(d->edge_live);
}

static int derivation_init(derivation *d, const plumb_profile *p)
{
    size_t n = p->npaths;
    d->ticks = malloc(n * sizeof *d->ticks);
    d->first = calloc(n + 1, sizeof *d->first);
    d->kids = malloc(n * sizeof *d->kids);
    d->walk = malloc(2 * n * sizeof *d->walk);
    d->func_live = calloc((size_t)p->labels.nfuncs + 1, sizeof *d->func_live);
    d->edge_live = calloc((size_t)p->nedges + 1, sizeof *d->edge_live);
    if (!d->ticks || !d->first || !d->kids || !d->walk || !d->func_live || !d->edge_live) {
        derivation_free(d);
        return PLUMB_ENOMEM;
    }
    return PLUMB_OK;
}

/* The time of each path's returned calls: its own time plus its children's,
 * less what the children's returned calls gave to a call along it that is
 * still running (a frame's children), which has not returned.  A path's
 * parent has a lower index, so one pass from the top sums the tree. */
static void sum_ticks(derivation *d, const plumb_profile *p)
{
    uint32_t n = p->npaths;
    for (uint32_t i = 0; i < n; i++)
        d->ticks[i] = p->paths[i].own;
    for (const plumb_thread *t = p->threads; t; t = t->next)
        for (uint32_t k = 1; k <= plumb_thread_depth(t); k++)
            if (t->frames[k].path < n)
                d->ticks[t->frames[k].path] -= t->frames[k].children;
    for (uint32_t i = n; i-- > 0;)
        if (p->paths[i].parent != PLUMB_NONE)
            d->ticks[p->paths[i].parent] += d->ticks[i];
}

/* Children lists, by counting paths per parent. */
static void link_children(derivation *d, const plumb_profile *p)
{
    uint32_t n = p->npaths;
    for (uint32_t i = 0; i < n; i++)
        if (p->paths[i].parent != PLUMB_NONE)
            d->first[p->paths[i].parent + 1]++;
    for (uint32_t i = 0; i < n; i++)
        d->first[i + 1] += d->first[i];
    /* walk serves as the fill cursor here. */
    memcpy(d->walk, d->first, n * sizeof *d->walk);
    for (uint32_t i = 0; i < n; i++)
        if (p->paths[i].parent != PLUMB_NONE)
            d->kids[d->walk[p->paths[i].parent]++] = i;
}

static void add_counts(plumb_counts *c, int outermost, const plumb_path *path, int64_t ticks)
{
    c->calls += path->calls;
    c->own += path->own;
    if (outermost)
        c->total += ticks;
    else
        c->recursive_calls += path->calls;
}

/* Enters path i on the walk: counts it for its function and edge, as the
 * tracer would have per call. */
static void enter_path(derivation *d, plumb_profile *p, uint32_t i)
{
    const plumb_path *path = &p->paths[i];
    if (path->func == PLUMB_NONE)
        return;
    add_counts(&p->func_counts[path->func], d->func_live[path->func]++ == 0, path, d->ticks[i]);
    if (p->track_edges && path->edge != PLUMB_NONE)
        add_counts(&p->edges[path->edge].counts, d->edge_live[path->edge]++ == 0, path,
                   d->ticks[i]);
}

static void leave_path(derivation *d, const plumb_profile *p, uint32_t i)
{
    const plumb_path *path = &p->paths[i];
    if (path->func == PLUMB_NONE)
        return;
    d->func_live[path->func]--;
    if (p->track_edges && path->edge != PLUMB_NONE)
        d->edge_live[path->edge]--;
}

static void walk_tree(derivation *d, plumb_profile *p, uint32_t root)
{
    uint32_t top = 0;
    d->walk[top++] = root;
    while (top > 0) {
        uint32_t e = d->walk[--top];
        if (e & LEAVE) {
            leave_path(d, p, e & ~LEAVE);
            continue;
        }
        enter_path(d, p, e);
        d->walk[top++] = e | LEAVE;
        for (uint32_t k = d->first[e]; k < d->first[e + 1]; k++)
            d->walk[top++] = d->kids[k];
    }
}

int plumb_profile_sync_counts(plumb_profile *p)
{
    if (p->count_per_event)
        return PLUMB_OK;
    if (p->func_counts)
        memset(p->func_counts, 0, (size_t)p->labels.nfuncs * sizeof *p->func_counts);
    for (uint32_t e = 0; e < p->nedges; e++)
        memset(&p->edges[e].counts, 0, sizeof p->edges[e].counts);
    if (p->npaths == 0)
        return PLUMB_OK;
    derivation d;
    if (derivation_init(&d, p) < 0)
        return PLUMB_ENOMEM;
    sum_ticks(&d, p);
    link_children(&d, p);
    for (uint32_t i = 0; i < p->npaths; i++)
        if (p->paths[i].parent == PLUMB_NONE)
            walk_tree(&d, p, i);
    derivation_free(&d);
    return PLUMB_OK;
}

int plumb_profile_count_per_event(plumb_profile *p)
{
    if (p->count_per_event)
        return PLUMB_OK;
    for (plumb_thread *t = p->threads; t; t = t->next) {
        int rc = plumb_thread_grow_live(t, p);
        if (rc < 0)
            return rc;
    }
    int rc = plumb_profile_sync_counts(p);
    if (rc < 0)
        return rc;
    /* The frames now running were pushed with their paths only: give them
     * what a per-event push records. */
    for (plumb_thread *t = p->threads; t; t = t->next) {
        if (t->func_live)
            memset(t->func_live, 0, t->func_live_capacity * sizeof *t->func_live);
        if (t->edge_live)
            memset(t->edge_live, 0, t->edge_live_capacity * sizeof *t->edge_live);
        for (uint32_t k = 1; k <= plumb_thread_depth(t); k++) {
            plumb_frame *f = &t->frames[k];
            const plumb_path *path = &p->paths[f->path];
            f->func = path->func;
            f->edge = path->edge | p->edges_off;
            f->outermost_func = t->func_live[f->func]++ == 0;
            f->outermost_edge = t->edge_live[(uint32_t)(f->edge + 1)]++ == 0;
        }
    }
    p->count_per_event = 1;
    return PLUMB_OK;
}
