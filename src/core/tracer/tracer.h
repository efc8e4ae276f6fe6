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

/* The edge and path of a call of func from a frame of caller_func (or
 * from the bottom of a stack: PLUMB_NONE) on caller_path; the slow path
 * of a call, taken when the caller's one-entry cache misses.  A call whose
 * path cannot be kept gets its caller's path, marked PLUMB_PATH_FOLDED, so
 * that its time stays in the tree; so do the calls under it.  Failures
 * count as lost events, never as errors: the program goes on. */
void plumb_tracer_find_callee(plumb_profile *p, uint32_t caller_func, uint32_t caller_path,
                              uint32_t func, uint32_t *edge, uint32_t *path);

static inline void plumb_counts_close(plumb_counts *c, int outermost, int64_t elapsed,
                                      int64_t own)
{
    if (outermost)
        c->total += elapsed;
    else
        c->recursive_calls++;
    c->own += own;
    c->calls++;
}

/* A call of func (found under key) starts at tick now. */
static inline void plumb_tracer_enter(plumb_profile *p, plumb_thread *t, uintptr_t key,
                                      uint32_t func, int64_t now)
{
    if (t->depth == t->capacity && plumb_thread_grow(t) < 0) {
        p->lost_events++;
        return;
    }
    uint32_t edge = PLUMB_NONE, path;
    if (t->depth > 0) {
        plumb_frame *caller = &t->frames[t->depth - 1];
        if (caller->last_callee == func) {
            edge = caller->last_edge;
            path = caller->last_path;
        } else {
            plumb_tracer_find_callee(p, caller->func, caller->path, func, &edge, &path);
            caller->last_callee = func;
            caller->last_edge = edge;
            caller->last_path = path;
        }
    } else if (t->bottom_func == func) {
        path = t->bottom_path;
    } else {
        plumb_tracer_find_callee(p, PLUMB_NONE, t->root_path, func, &edge, &path);
        t->bottom_func = func;
        t->bottom_path = path;
    }
    if ((func >= t->func_live_capacity || (edge != PLUMB_NONE && edge >= t->edge_live_capacity))
        && plumb_thread_grow_live(t, p) < 0) {
        p->lost_events++;
        return;
    }
    plumb_frame *f = &t->frames[t->depth++];
    f->key = key;
    f->func = func;
    f->edge = edge;
    f->path = path;
    f->children = 0;
    f->last_callee = PLUMB_NONE;
    f->last_edge = PLUMB_NONE;
    f->last_path = PLUMB_NONE;
    f->outermost_func = t->func_live[func]++ == 0;
    f->outermost_edge = edge != PLUMB_NONE && t->edge_live[edge]++ == 0;
    f->start = now;
}

/* The frame on top of t's stack ends at tick now. */
static inline void plumb_tracer_pop(plumb_profile *p, plumb_thread *t, int64_t now)
{
    plumb_frame *f = &t->frames[--t->depth];
    int64_t elapsed = now - f->start;
    int64_t own = elapsed - f->children;
    if (t->depth > 0)
        t->frames[t->depth - 1].children += elapsed;
    t->func_live[f->func]--;
    plumb_counts_close(&p->func_counts[f->func], f->outermost_func, elapsed, own);
    if (f->edge != PLUMB_NONE) {
        t->edge_live[f->edge]--;
        plumb_counts_close(&p->edges[f->edge].counts, f->outermost_edge, elapsed, own);
    }
    if (f->path != PLUMB_NONE) {
        plumb_path *path = &p->paths[f->path & ~PLUMB_PATH_FOLDED];
        path->own += own;
        if (f->path & PLUMB_PATH_FOLDED)
            p->folded_calls++;
        else
            path->calls++;
    }
}

/* The call found under key returns at tick now.  A return that matches no
 * frame (its call came before profiling started, or was lost) is ignored;
 * one that matches a frame below the top closes the frames above it too,
 * since their own returns were missed. */
static inline void plumb_tracer_exit(plumb_profile *p, plumb_thread *t, uintptr_t key,
                                     int64_t now)
{
    if (t->depth == 0)
        return;
    if (t->frames[t->depth - 1].key != key) {
        uint32_t i = t->depth - 1;
        while (i > 0 && t->frames[i - 1].key != key)
            i--;
        if (i == 0)
            return;
        while (t->depth > i)
            plumb_tracer_pop(p, t, now);
    }
    plumb_tracer_pop(p, t, now);
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
