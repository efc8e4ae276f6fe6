#include "tracer/profile.h"

#include <stdlib.h>
#include <string.h>

#include "base/errors.h"
#include "base/grow.h"
#include "tracer/tracer.h"

static void clear_caches(plumb_profile *p)
{
    memset(p->call_cache, 0, sizeof p->call_cache);
}

int plumb_profile_init(plumb_profile *p, int track_edges)
{
    memset(p, 0, sizeof *p);
    p->track_edges = track_edges;
    p->edges_off = track_edges ? 0 : PLUMB_NONE;
    p->track_paths = 1;
    clear_caches(p);
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
    /* The paths can give the counts again if each says its edge: none was
     * made while edges were off and they are on now. */
    int edges_known = 1;
    for (uint32_t i = 0; i < p->npaths; i++) {
        plumb_path *path = &p->paths[i];
        path->calls = 0;
        path->own = 0;
        if (path->edge == PLUMB_NONE && path->parent != PLUMB_NONE
            && p->paths[path->parent].func != PLUMB_NONE)
            edges_known = 0;
    }
    int rooted = p->track_paths;
    for (plumb_thread *t = p->threads; t; t = t->next)
        if (t->root_path == PLUMB_NONE)
            rooted = 0;
    if (rooted && (edges_known || !p->track_edges))
        p->count_per_event = 0;
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
    if (plumb_thread_grow(t) < 0) {
        free(t);
        return NULL;
    }
    t->root_path = PLUMB_NONE;
    if (p->track_paths && append_path(p, PLUMB_NONE, PLUMB_NONE, PLUMB_NONE, &t->root_path) < 0)
        t->root_path = PLUMB_NONE;
    t->top = t->frames;
    *t->top = (plumb_frame){.path = t->root_path, .func = PLUMB_NONE, .edge = PLUMB_NONE};
    t->id = id;
    t->next = p->threads;
    p->threads = t;
    /* A thread without its root path has no paths to count from. */
    if (t->root_path == PLUMB_NONE && !p->count_per_event
        && plumb_profile_count_per_event(p) < 0) {
        p->threads = t->next;
        free(t->frames);
        free(t->func_live);
        free(t->edge_live);
        free(t);
        return NULL;
    }
    return t;
}

int plumb_thread_grow(plumb_thread *t)
{
    size_t depth = t->frames ? (size_t)(t->top - t->frames) : 0;
    /* One more than PLUMB_MAX_DEPTH: the floor. */
    int rc = PLUMB_GROW(t->frames, &t->capacity, (size_t)t->capacity + 1, 64, PLUMB_MAX_DEPTH + 1);
    if (rc < 0)
        return rc;
    t->top = t->frames + depth;
    t->end = t->frames + t->capacity;
    return PLUMB_OK;
}

static int grow_counts(int32_t **counts, uint32_t *capacity, uint32_t wanted)
{
    return PLUMB_GROW_ZEROED(*counts, capacity, wanted, wanted, UINT32_MAX);
}

int plumb_thread_grow_live(plumb_thread *t, const plumb_profile *p)
{
    int rc = grow_counts(&t->func_live, &t->func_live_capacity, p->counts_capacity);
    if (rc == PLUMB_OK)
        rc = grow_counts(&t->edge_live, &t->edge_live_capacity, p->edges_capacity + 1);
    return rc;
}

void plumb_tracer_find_callee(plumb_profile *p, uint32_t caller_func, uint32_t caller_path,
                              uint32_t func, uint32_t *edge, uint32_t *path)
{
    *edge = PLUMB_NONE;
    *path = caller_path;
    if (caller_path != PLUMB_NONE && !(caller_path & PLUMB_PATH_FOLDED)) {
        if (plumb_profile_path(p, caller_path, func, path) == PLUMB_OK) {
            if (!p->track_edges || caller_func == PLUMB_NONE)
                return;
            *edge = p->paths[*path].edge;
            if (*edge != PLUMB_NONE)
                return;
            /* Made while edges were not tracked: give it its edge now, so
             * that the path's edge is the one to count from here on. */
            if (plumb_profile_edge(p, caller_func, func, edge) < 0) {
                p->lost_events++;
                *edge = PLUMB_NONE;
            } else {
                p->paths[*path].edge = *edge;
            }
            return;
        }
        *path = caller_path | PLUMB_PATH_FOLDED;
    } else if (caller_path != PLUMB_NONE) {
        *path = caller_path | PLUMB_PATH_FOLDED;
    }
    if (caller_func != PLUMB_NONE && p->track_edges
        && plumb_profile_edge(p, caller_func, func, edge) < 0) {
        p->lost_events++;
        *edge = PLUMB_NONE;
    }
}

void plumb_tracer_enter(plumb_profile *p, plumb_thread *t, uintptr_t key, uint32_t func,
                        int64_t now)
{
    if (t->top + 1 == t->end && plumb_thread_grow(t) < 0) {
        p->lost_events++;
        return;
    }
    uint32_t parent = t->top->path;
    /* The floor's function is PLUMB_NONE, as is its root path's. */
    uint32_t caller_func = p->count_per_event ? t->top->func : p->paths[parent].func;
    uint32_t context = parent, edge = PLUMB_NONE, path = parent;
    int cacheable = 1;
    if (parent < PLUMB_PATH_FOLDED) {
        path = plumb_map_get(&p->by_path, ((uint64_t)parent + 1) << 32 | func);
        if (path != PLUMB_MAP_MISSING)
            edge = p->paths[path].edge | p->edges_off;
        /* New, or made while edges were off (it gets its edge now). */
        if (path == PLUMB_MAP_MISSING
            || (edge == PLUMB_NONE && caller_func != PLUMB_NONE && p->track_edges))
            plumb_tracer_find_callee(p, caller_func, parent, func, &edge, &path);
        /* A path not kept (folded) is its caller's, not the cache's to give. */
        cacheable = path < PLUMB_PATH_FOLDED;
        /* Nor can the paths count it, or an edge it lacks. */
        if (!p->count_per_event
            && (!cacheable || (edge == PLUMB_NONE && caller_func != PLUMB_NONE && p->track_edges))
            && plumb_profile_count_per_event(p) < 0) {
            p->lost_events++;
            return;
        }
    } else {
        context = caller_func == PLUMB_NONE ? PLUMB_NONE : caller_func | PLUMB_PATH_FOLDED;
        if (caller_func != PLUMB_NONE && p->track_edges
            && plumb_profile_edge(p, caller_func, func, &edge) < 0) {
            p->lost_events++;
            edge = PLUMB_NONE;
            cacheable = 0;
        }
    }
    /* An edge that could not be made is not cached: the next call tries again. */
    if (edge == PLUMB_NONE && caller_func != PLUMB_NONE && p->track_edges)
        cacheable = 0;
    if (cacheable && key != 0)
        p->call_cache[plumb_call_slot_of(context, key)] = (plumb_call_slot){
            .key = key, .context = context, .path = path, .func = func, .edge = edge};
    if (!p->count_per_event) {
        plumb_tracer_push_path(t, key, path, now);
        return;
    }
    if ((func >= t->func_live_capacity || (uint32_t)(edge + 1) >= t->edge_live_capacity)
        && plumb_thread_grow_live(t, p) < 0) {
        p->lost_events++;
        return;
    }
    plumb_tracer_push(t, key, func, edge, path, now);
}

void plumb_tracer_exit_unmatched(plumb_profile *p, plumb_thread *t, uintptr_t key, int64_t now)
{
    if (t->top == t->frames)
        return;
    /* The top was not it; the floor's key matches none. */
    const plumb_frame *match = t->top - 1;
    while (match > t->frames && match->key != key)
        match--;
    if (match == t->frames)
        return;
    while (t->top != match)
        plumb_tracer_pop(p, t, now);
    plumb_tracer_pop(p, t, now);
}

int plumb_profile_set_track_edges(plumb_profile *p, int on)
{
    on = !!on;
    if (on == p->track_edges)
        return PLUMB_OK;
    int rc = plumb_profile_count_per_event(p);
    if (rc < 0)
        return rc;
    p->track_edges = on;
    p->edges_off = on ? 0 : PLUMB_NONE;
    /* The caches hold edges found under the old setting. */
    clear_caches(p);
    return PLUMB_OK;
}
