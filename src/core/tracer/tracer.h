/* The tracer's hot path: what happens to a thread's stack and to the counts
 * on each call and return.  The accounting is cProfile's (Modules/_lsprof.c),
 * so that the numbers match it: a call is counted when it returns; a
 * function's total time counts only its outermost activation (in its own
 * thread); the time of a call is charged to its caller as time spent in
 * callees.  Inline, because the binding calls it on every event. */
#ifndef PLUMB_TRACER_H
#define PLUMB_TRACER_H

#include "base/errors.h"
#include "tracer/profile.h"

/* The fast path is inlined whole into each event callback: a call into a
 * separate function costs a prologue and an epilogue per event, as much as
 * the work itself.  The slow paths are out of line (profile.c). */
#define PLUMB_TRACER_INLINE static inline __attribute__((always_inline))
#define PLUMB_LIKELY(x) __builtin_expect(!!(x), 1)
#define PLUMB_UNLIKELY(x) __builtin_expect(!!(x), 0)

/* The edge and path of a call of func from a frame of caller_func (or
 * from the bottom of a stack: PLUMB_NONE) on caller_path; the slow path
 * of a call, taken when the call caches and the maps miss.  A call whose
 * path cannot be kept gets its caller's path, marked PLUMB_PATH_FOLDED, so
 * that its time stays in the tree; so do the calls under it.  Failures
 * count as lost events, never as errors: the program goes on. */
void plumb_tracer_find_callee(plumb_profile *p, uint32_t caller_func, uint32_t caller_path,
                              uint32_t func, uint32_t *edge, uint32_t *path);

PLUMB_TRACER_INLINE void plumb_counts_close(plumb_counts *c, int outermost, int64_t elapsed,
                                            int64_t own)
{
    if (outermost)
        c->total += elapsed;
    else
        c->recursive_calls++;
    c->own += own;
    c->calls++;
}

/* Pushes a frame for a call whose edge and path are known. */
PLUMB_TRACER_INLINE void plumb_tracer_push(plumb_thread *t, uintptr_t key, uint32_t func,
                                           uint32_t edge, uint32_t path, int64_t now)
{
    plumb_frame *f = &t->frames[t->depth++];
    f->key = key;
    f->start = now;
    f->children = 0;
    f->func = func;
    f->edge = edge;
    f->path = path;
    f->outermost_func = t->func_live[func]++ == 0;
    /* edge + 1 is 0 for PLUMB_NONE, a slot of its own: no branch. */
    f->outermost_edge = t->edge_live[(uint32_t)(edge + 1)]++ == 0;
}

/* The common call, or nothing: returns 1 if it pushed the call of func
 * (found under key) at tick now, 0, having changed nothing but a cache, if
 * the call needs the slow path (a cache miss, a new path or edge, a stack
 * or a count array to grow).
 *
 * The call's path is found in the profile's path cache, under (the
 * caller's path, func); the path knows its edge.  Without a kept path
 * (paths=False, or folded), the edge cache gives the edge.
 *
 * With probe = 0 (the event callbacks) a miss returns at once: the function
 * then calls nothing and needs few registers, so that the callback it is
 * inlined into saves none and sets up no stack frame (inlining the map
 * probes too costs every event six pushes and pops).  With probe = 1
 * (plumb_tracer_enter, out of line) a miss probes the path map (or the
 * edge map) and refills the cache. */
PLUMB_TRACER_INLINE int plumb_tracer_enter_fast(plumb_profile *p, plumb_thread *t,
                                                uintptr_t key, uint32_t func, int64_t now,
                                                int probe)
{
    uint32_t depth = t->depth;
    if (PLUMB_UNLIKELY(depth == t->capacity))
        return 0;
    uint32_t parent = depth > 0 ? t->frames[depth - 1].path : t->root_path;
    uint32_t edge, path;
    /* PLUMB_NONE has the folded bit set: below it means a kept path. */
    if (PLUMB_LIKELY(parent < PLUMB_PATH_FOLDED)) {
        uint32_t *slot = &p->path_cache[plumb_call_slot(parent, func, PLUMB_PATH_CACHE_BITS)];
        path = *slot;
        if (PLUMB_LIKELY(p->paths[path].func == func && p->paths[path].parent == parent)) {
            edge = p->paths[path].edge | p->edges_off;
        } else {
            if (!probe)
                return 0;
            path = plumb_map_get(&p->by_path, ((uint64_t)parent + 1) << 32 | func);
            if (path == PLUMB_MAP_MISSING)
                return 0;
            edge = p->paths[path].edge | p->edges_off;
            /* A path made while edges were off gets its edge on the slow path. */
            if (edge == PLUMB_NONE && depth > 0 && p->track_edges)
                return 0;
            *slot = path;
        }
    } else {
        path = parent;
        edge = PLUMB_NONE;
        if (depth > 0 && p->track_edges) {
            uint32_t caller = t->frames[depth - 1].func;
            plumb_edge_slot *c =
                &p->edge_cache[plumb_call_slot(caller, func, PLUMB_EDGE_CACHE_BITS)];
            if (PLUMB_LIKELY(c->callee == func && c->caller == caller)) {
                edge = c->edge;
            } else {
                if (!probe)
                    return 0;
                edge = plumb_map_get(&p->by_edge, ((uint64_t)caller + 1) << 32 | func);
                if (edge == PLUMB_MAP_MISSING)
                    return 0;
                *c = (plumb_edge_slot){.caller = caller, .callee = func, .edge = edge};
            }
        }
    }
    if (PLUMB_UNLIKELY(func >= t->func_live_capacity
                       || (uint32_t)(edge + 1) >= t->edge_live_capacity))
        return 0;
    plumb_tracer_push(t, key, func, edge, path, now);
    return 1;
}

/* A call of func (found under key) starts at tick now: the fast path, or
 * the slow one (profile.c). */
void plumb_tracer_enter(plumb_profile *p, plumb_thread *t, uintptr_t key, uint32_t func,
                        int64_t now);

/* The frame on top of t's stack ends at tick now. */
PLUMB_TRACER_INLINE void plumb_tracer_pop(plumb_profile *p, plumb_thread *t, int64_t now)
{
    uint32_t depth = --t->depth;
    plumb_frame *f = &t->frames[depth];
    int64_t elapsed = now - f->start;
    int64_t own = elapsed - f->children;
    if (depth > 0)
        f[-1].children += elapsed;
    t->func_live[f->func]--;
    t->edge_live[(uint32_t)(f->edge + 1)]--;
    plumb_counts_close(&p->func_counts[f->func], f->outermost_func, elapsed, own);
    if (f->edge != PLUMB_NONE)
        plumb_counts_close(&p->edges[f->edge].counts, f->outermost_edge, elapsed, own);
    if (f->path != PLUMB_NONE) {
        plumb_path *path = &p->paths[f->path & ~PLUMB_PATH_FOLDED];
        path->own += own;
        if (f->path & PLUMB_PATH_FOLDED)
            p->folded_calls++;
        else
            path->calls++;
    }
}

/* A return that does not match the top frame: closes the frames above the
 * one it matches (their returns were missed), or ignores it if none does
 * (its call came before profiling started, or was lost). */
void plumb_tracer_exit_unmatched(plumb_profile *p, plumb_thread *t, uintptr_t key, int64_t now);

/* The call found under key returns at tick now. */
PLUMB_TRACER_INLINE void plumb_tracer_exit(plumb_profile *p, plumb_thread *t, uintptr_t key,
                                           int64_t now)
{
    if (PLUMB_LIKELY(t->depth > 0 && t->frames[t->depth - 1].key == key))
        plumb_tracer_pop(p, t, now);
    else
        plumb_tracer_exit_unmatched(p, t, key, now);
}

/* Closes every frame of every thread, as cProfile does when profiling is
 * disabled: functions still running are counted up to now. */
static inline void plumb_tracer_close_all(plumb_profile *p, int64_t now)
{
    for (plumb_thread *t = p->threads; t; t = t->next)
        while (t->depth > 0)
            plumb_tracer_pop(p, t, now);
}

#endif
