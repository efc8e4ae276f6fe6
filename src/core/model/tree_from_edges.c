/* A call tree guessed from caller->callee edges, for profiles that hold no
 * call paths (pstats and callgrind files from other tools).  Like
 * gprof's and snakeviz's, the guess shares a function's time out among
 * the places it is called from in proportion to the time each caller's
 * calls took: exact when a function is called from one place, a guess when
 * from several (which is why plumb's tracer keeps paths).  The report
 * says which kind of tree it shows.
 *
 * A root is a function whose callers explain less than all its cumulative
 * time: a program's bottom frame has no callers at all, but cProfile also
 * lists the outermost exec() with callers (imports run later) and a
 * thread's bottom frame with an empty caller entry.  Its node stands for
 * the unexplained part; failing any, the function with the largest
 * cumulative time is the root.  A function's node stands for `share` of
 * its cumulative time: its own time x share, and for
 * each callee the edge's cumulative time x share.  A callee already on the
 * path (recursion) is not expanded again, and branches under a
 * ten-thousandth of the total are cut, so the tree stays small; both leave
 * their time out of the tree rather than place it wrongly. */
#include <math.h>
#include <stdlib.h>

#include "base/errors.h"
#include "formats/sample_writers.h"

#define MAX_NODES 200000u
#define MAX_DEPTH 512u

typedef struct level {
    uint32_t node, func;
    double share;        /* of func's cumulative time this node stands for */
    uint32_t next;       /* next position in the caller index */
} level;

static uint64_t ns(double seconds)
{
    double v = seconds * 1e9;
    return v > 0 && v < 9e18 ? (uint64_t)llround(v) : 0;
}

/* The cumulative time of the callee's calls along edge e. */
static double edge_time(const plumb_stats *st, const plumb_stat_edge *e)
{
    if (!e->count_only)
        return e->counts.total;
    const plumb_stat_counts *callee = &st->funcs[e->callee];
    return callee->calls > 0 ? callee->total * (double)e->counts.calls / (double)callee->calls : 0;
}

static int expand(plumb_samples *s, const plumb_stats *st, const plumb_edge_index *by_caller,
                  uint32_t root_func, double root_share, uint32_t thread_root, double cut,
                  uint32_t *on_path, level *stack)
{
    const plumb_stat_counts *rc0 = &st->funcs[root_func];
    uint32_t node;
    int rc = plumb_samples_child(s, thread_root, root_func, &node);
    if (rc < 0)
        return rc;
    plumb_samples_count(s, node, ns(rc0->own * root_share));
    uint32_t depth = 0;
    stack[depth++] = (level){node, root_func, root_share, by_caller->first[root_func]};
    on_path[root_func]++;
    while (depth > 0) {
        level *top = &stack[depth - 1];
        if (top->next == by_caller->first[top->func + 1] || depth == MAX_DEPTH
            || s->nnodes >= MAX_NODES) {
            on_path[top->func]--;
            depth--;
            continue;
        }
        const plumb_stat_edge *e = &st->edges[by_caller->edges[top->next++]];
        const plumb_stat_counts *callee = &st->funcs[e->callee];
        double time = edge_time(st, e) * top->share;
        if (on_path[e->callee] || time < cut || !(callee->total > 0))
            continue;
        double share = time / callee->total;
        if (share > 1)
            share = 1;
        rc = plumb_samples_child(s, top->node, e->callee, &node);
        if (rc < 0)
            return rc;
        plumb_samples_count(s, node, ns(callee->own * share));
        on_path[e->callee]++;
        stack[depth++] = (level){node, e->callee, share, by_caller->first[e->callee]};
    }
    return PLUMB_OK;
}

int plumb_tree_from_stats(plumb_samples *s, const plumb_stats *st)
{
    int rc = plumb_samples_init(s, 1e-9, 0);
    if (rc < 0)
        return rc;
    uint32_t n = st->names.nfuncs;
    plumb_edge_index by_caller = {0};
    double *explained = calloc((size_t)n + 1, sizeof *explained);
    uint32_t *on_path = calloc((size_t)n + 1, sizeof *on_path);
    level *stack = malloc(MAX_DEPTH * sizeof *stack);
    if (!explained || !on_path || !stack)
        rc = PLUMB_ENOMEM;
    if (rc == PLUMB_OK)
        rc = plumb_stats_edges_by(st, 0, &by_caller);
    for (uint32_t f = 0; f < n && rc == PLUMB_OK; f++) {
        const plumb_func *fn = &st->names.funcs[f];
        if ((rc = plumb_labels_intern(&s->names, fn->file, fn->line, fn->name, &(uint32_t){0})) < 0)
            break;
    }
    double total = 0;
    for (uint32_t i = 0; i < st->nedges && rc == PLUMB_OK; i++)
        if (st->edges[i].caller != st->edges[i].callee)
            explained[st->edges[i].callee] += edge_time(st, &st->edges[i]);
    uint32_t biggest = PLUMB_NONE;
    for (uint32_t i = 0; i < st->norder && rc == PLUMB_OK; i++) {
        uint32_t f = st->order[i];
        double unexplained = st->funcs[f].total - explained[f];
        /* Rounding leaves crumbs: a thousandth of the function is none. */
        explained[f] = unexplained > 1e-3 * st->funcs[f].total ? unexplained / st->funcs[f].total : 0;
        total += explained[f] * st->funcs[f].total;
        if (biggest == PLUMB_NONE || st->funcs[f].total > st->funcs[biggest].total)
            biggest = f;
    }
    uint32_t thread;
    if (rc == PLUMB_OK)
        rc = plumb_samples_thread(s, 0, 0, &thread);
    int any = 0;
    /* explained[f] now holds the share of f that is a root. */
    for (uint32_t i = 0; i < st->norder && rc == PLUMB_OK; i++) {
        uint32_t f = st->order[i];
        if (!(explained[f] > 0) || !(st->funcs[f].total > 0))
            continue;
        rc = expand(s, st, &by_caller, f, explained[f], s->threads[thread].root, total * 1e-4,
                    on_path, stack);
        any = 1;
    }
    if (rc == PLUMB_OK && !any && biggest != PLUMB_NONE && st->funcs[biggest].total > 0)
        rc = expand(s, st, &by_caller, biggest, 1.0, s->threads[thread].root,
                    st->funcs[biggest].total * 1e-4, on_path, stack);
    plumb_edge_index_free(&by_caller);
    free(explained);
    free(on_path);
    free(stack);
    if (rc < 0)
        plumb_samples_free(s);
    return rc;
}
