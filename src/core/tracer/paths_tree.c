/* The tracer's call paths (profile.h) as a call tree (samples.h), so that
 * a deterministic profile reaches the report and the stack formats through
 * the same model as a sampled one: a node's count is its own time along
 * its path in nanoseconds, and s->calls holds its calls. */
#include <math.h>
#include <stdlib.h>

#include "base/errors.h"
#include "model/samples.h"
#include "tracer/profile.h"

static int copy_labels(plumb_samples *s, const plumb_profile *p)
{
    for (uint32_t f = 0; f < p->labels.nfuncs; f++) {
        const plumb_func *fn = &p->labels.funcs[f];
        uint32_t copy;
        int rc = plumb_labels_intern(&s->names, fn->file, fn->line, fn->name, &copy);
        if (rc < 0)
            return rc;
        if (copy != f)   /* labels are unique in p, so a fresh table keeps indices */
            return PLUMB_EINVAL;
    }
    return PLUMB_OK;
}

/* Threads oldest first: the profile keeps them newest first. */
static int add_threads(plumb_samples *s, const plumb_profile *p, uint32_t *node_of_path)
{
    uint32_t n = 0;
    for (const plumb_thread *t = p->threads; t; t = t->next)
        n++;
    const plumb_thread **order = malloc((n ? n : 1) * sizeof *order);
    if (!order)
        return PLUMB_ENOMEM;
    uint32_t i = n;
    for (const plumb_thread *t = p->threads; t; t = t->next)
        order[--i] = t;
    int rc = PLUMB_OK;
    for (i = 0; i < n && rc == PLUMB_OK; i++) {
        const plumb_thread *t = order[i];
        if (t->root_path == PLUMB_NONE || t->root_path >= p->npaths)
            continue;
        uint32_t index;
        rc = plumb_samples_thread(s, t->id, 0, &index);
        if (rc == PLUMB_OK)
            node_of_path[t->root_path] = s->threads[index].root;
    }
    free(order);
    return rc;
}

static uint64_t nanoseconds(int64_t ticks, double ticks_per_second)
{
    if (ticks <= 0 || !(ticks_per_second > 0))
        return 0;
    double ns = (double)ticks * (1e9 / ticks_per_second);
    return ns < 9e18 ? (uint64_t)llround(ns) : (uint64_t)9e18;
}

int plumb_samples_from_paths(plumb_samples *s, const plumb_profile *p)
{
    int rc = plumb_samples_init(s, 1e-9, 0);
    if (rc < 0)
        return rc;
    uint32_t *node_of_path = malloc(((size_t)p->npaths + 1) * sizeof *node_of_path);
    if (!node_of_path) {
        plumb_samples_free(s);
        return PLUMB_ENOMEM;
    }
    for (uint32_t i = 0; i < p->npaths; i++)
        node_of_path[i] = PLUMB_NONE;
    rc = copy_labels(s, p);
    if (rc == PLUMB_OK)
        rc = add_threads(s, p, node_of_path);
    for (uint32_t i = 0; i < p->npaths && rc == PLUMB_OK; i++) {
        const plumb_path *path = &p->paths[i];
        if (path->parent == PLUMB_NONE || path->parent >= i)
            continue;   /* a root (done above), or not a tree: never made by the tracer */
        uint32_t parent = node_of_path[path->parent];
        if (parent == PLUMB_NONE)
            continue;
        rc = plumb_samples_child(s, parent, path->func, &node_of_path[i]);
    }
    if (rc == PLUMB_OK) {
        s->calls = calloc((size_t)s->nnodes + 1, sizeof *s->calls);
        if (!s->calls)
            rc = PLUMB_ENOMEM;
    }
    for (uint32_t i = 0; i < p->npaths && rc == PLUMB_OK; i++) {
        uint32_t node = node_of_path[i];
        if (node == PLUMB_NONE)
            continue;
        plumb_samples_count(s, node, nanoseconds(p->paths[i].own, p->ticks_per_second));
        s->calls[node] += p->paths[i].calls;
    }
    free(node_of_path);
    if (rc < 0)
        plumb_samples_free(s);
    return rc;
}
