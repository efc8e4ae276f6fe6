#include "tracer/profile.h"

#include <stdlib.h>
#include <string.h>

#include "base/errors.h"
#include "base/grow.h"
#include "tracer/tracer.h"

int plumb_profile_init(plumb_profile *p, int track_edges)
{
    memset(p, 0, sizeof *p);
    p->track_edges = track_edges;
    p->track_paths = 1;
    p->ticks_per_second = 1e9;
    if (plumb_labels_init(&p->labels) < 0 || plumb_map_init(&p->by_key, 1024) < 0
        || plumb_map_init(&p->by_edge, 1024) < 0 || plumb_map_init(&p->by_path, 1024) < 0) {
        plumb_profile_free(p);
        return PLUMB_ENOMEM;
    }
    return PLUMB_OK;
}

static void free_contents(plumb_profile *p)
{
    plumb_labels_free(&p->labels);
    free(p->func_counts);
    free(p->edges);
    free(p->paths);
    plumb_map_free(&p->by_path);
    plumb_map_free(&p->by_key);
    plumb_map_free(&p->by_edge);
    plumb_thread *t = p->threads;
    while (t) {
        plumb_thread *next = t->next;
        free(t->frames);
        free(t->func_live);
        free(t->edge_live);
        free(t);
        t = next;
    }
}

void plumb_profile_free(plumb_profile *p)
{
    free_contents(p);
    memset(p, 0, sizeof *p);
}

int plumb_profile_clear(plumb_profile *p)
{
    int track_edges = p->track_edges, track_paths = p->track_paths;
    plumb_profile_free(p);
    int rc = plumb_profile_init(p, track_edges);
    p->track_paths = track_paths;
    return rc;
}

void plumb_profile_reset_counts(plumb_profile *p)
{
    memset(p->func_counts, 0, (size_t)p->labels.nfuncs * sizeof *p->func_counts);
    for (uint32_t e = 0; e < p->nedges; e++)
        memset(&p->edges[e].counts, 0, sizeof p->edges[e].counts);
    for (uint32_t i = 0; i < p->npaths; i++) {
        p->paths[i].calls = 0;
        p->paths[i].own = 0;
    }
    p->lost_events = 0;
    p->folded_calls = 0;
}

/* Edge indices stay below PLUMB_SKIP and PLUMB_NONE, as functions do. */
#define MAX_EDGES (PLUMB_NONE / 2)

int plumb_profile_func_for_label(plumb_profile *p, const char *file, int64_t line,
                                 const char *name, uint32_t *func)
{
    /* Counts for one more function first, so that a label never exists
     * without its counts: they grow zeroed, so a new function's are zero
     * (and reset_counts keeps them so).  A full table still finds the
     * labels it has; labels_intern refuses a new one. */
    uint32_t n = p->labels.nfuncs;
    int rc = PLUMB_GROW_ZEROED(p->func_counts, &p->counts_capacity,
                               (size_t)n + (n < PLUMB_MAX_LABELS), 256, PLUMB_MAX_LABELS);
    if (rc < 0)
        return rc;
    return plumb_labels_intern(&p->labels, file, line, name, func);
}

int plumb_profile_add_key(plumb_profile *p, uintptr_t key, const char *file,
                          int64_t line, const char *name, uint32_t *func)
{
    if (key == 0)
        return PLUMB_EINVAL;
    int rc = plumb_profile_func_for_label(p, file, line, name, func);
    if (rc < 0)
        return rc;
    return plumb_map_put(&p->by_key, (uint64_t)key, *func);
}

int plumb_profile_skip_key(plumb_profile *p, uintptr_t key)
{
    if (key == 0)
        return PLUMB_EINVAL;
    return plumb_map_put(&p->by_key, (uint64_t)key, PLUMB_SKIP);
}

int plumb_profile_edge(plumb_profile *p, uint32_t caller, uint32_t callee, uint32_t *edge)
{
    uint64_t key = ((uint64_t)caller + 1) << 32 | callee;
    uint32_t e = plumb_map_get(&p->by_edge, key);
    if (e != PLUMB_MAP_MISSING) {
        *edge = e;
        return PLUMB_OK;
    }
    int rc = PLUMB_GROW(p->edges, &p->edges_capacity, (size_t)p->nedges + 1, 1024, MAX_EDGES);
    if (rc < 0)
        return rc;
    e = p->nedges;
    if (plumb_map_put(&p->by_edge, key, e) < 0)
        return PLUMB_ENOMEM;
    p->edges[e] = (plumb_edge){.caller = caller, .callee = callee};
    p->nedges++;
    *edge = e;
    return PLUMB_OK;
}

static int append_path(plumb_profile *p, uint32_t parent, uint32_t func, uint32_t edge,
                       uint32_t *path)
{
    int rc = PLUMB_GROW(p->paths, &p->paths_capacity, (size_t)p->npaths + 1, 1024, PLUMB_MAX_PATHS);
    if (rc < 0)
        return rc;
    *path = p->npaths;
    p->paths[p->npaths++] = (plumb_path){.parent = parent, .func = func, .edge = edge};
    return PLUMB_OK;
}

int plumb_profile_path(plumb_profile *p, uint32_t parent, uint32_t func, uint32_t *path)
{
    uint64_t key = ((uint64_t)parent + 1) << 32 | func;
    uint32_t found = plumb_map_get(&p->by_path, key);
    if (found != PLUMB_MAP_MISSING) {
        *path = found;
        return PLUMB_OK;
    }
    uint32_t edge = PLUMB_NONE;
    uint32_t caller = p->paths[parent].func;
    if (caller != PLUMB_NONE && p->track_edges) {
        int rc = plumb_profile_edge(p, caller, func, &edge);
        if (rc < 0)
            return rc;
    }
    int rc = append_path(p, parent, func, edge, path);
    if (rc < 0)
        return rc;
    if (plumb_map_put(&p->by_path, key, *path) < 0) {
        p->npaths--;
        return PLUMB_ENOMEM;
    }
    return PLUMB_OK;
}

plumb_thread *plumb_profile_new_thread(plumb_profile *p, uint64_t id)
{
    plumb_thread *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->root_path = PLUMB_NONE;
    t->bottom_func = PLUMB_NONE;
    if (p->track_paths && append_path(p, PLUMB_NONE, PLUMB_NONE, PLUMB_NONE, &t->root_path) < 0)
        t->root_path = PLUMB_NONE;
    t->bottom_func = PLUMB_NONE;
    t->id = id;
    t->next = p->threads;
    p->threads = t;
    return t;
}

int plumb_thread_grow(plumb_thread *t)
{
    return PLUMB_GROW(t->frames, &t->capacity, (size_t)t->capacity + 1, 64, PLUMB_MAX_DEPTH);
}

static int grow_counts(int32_t **counts, uint32_t *capacity, uint32_t wanted)
{
    return PLUMB_GROW_ZEROED(*counts, capacity, wanted, wanted, UINT32_MAX);
}

int plumb_thread_grow_live(plumb_thread *t, const plumb_profile *p)
{
    int rc = grow_counts(&t->func_live, &t->func_live_capacity, p->counts_capacity);
    if (rc == PLUMB_OK)
        rc = grow_counts(&t->edge_live, &t->edge_live_capacity, p->edges_capacity);
    return rc;
}

void plumb_tracer_find_callee(plumb_profile *p, uint32_t caller_func, uint32_t caller_path,
                              uint32_t func, uint32_t *edge, uint32_t *path)
{
    *edge = PLUMB_NONE;
    *path = caller_path;
    if (caller_path != PLUMB_NONE && !(caller_path & PLUMB_PATH_FOLDED)) {
        if (plumb_profile_path(p, caller_path, func, path) == PLUMB_OK) {
            if (p->track_edges)
                *edge = p->paths[*path].edge;
            if (*edge != PLUMB_NONE || caller_func == PLUMB_NONE || !p->track_edges)
                return;
        } else {
            *path = caller_path | PLUMB_PATH_FOLDED;
        }
    } else if (caller_path != PLUMB_NONE) {
        *path = caller_path | PLUMB_PATH_FOLDED;
    }
    if (caller_func != PLUMB_NONE && p->track_edges
        && plumb_profile_edge(p, caller_func, func, edge) < 0) {
        p->lost_events++;
        *edge = PLUMB_NONE;
    }
}
