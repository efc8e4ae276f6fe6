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

/* The common call, or nothing: returns 1 if it pushed the call found
 * under key at tick now, 0, having changed nothing, if the call needs
 * plumb_tracer_enter (a new key, plumb's own code, a cache miss, a stack or
 * a count array to grow).  It calls nothing, and needs few registers, so
 * that the event callback it is inlined into saves none and sets up no
 * stack frame (inlining a map probe loop as well costs every event six
 * pushes and pops).
 *
 * The call cache gives its function, edge and path from (context, key). */
PLUMB_TRACER_INLINE int plumb_tracer_enter_key(plumb_profile *p, plumb_thread *t, uintptr_t key,
                                               int64_t now)
{
    uint32_t depth = t->depth;
    if (PLUMB_UNLIKELY(depth == t->capacity))
        return 0;
    uint32_t parent = depth > 0 ? t->frames[depth - 1].path : t->root_path;
    uint32_t context = parent;
    /* PLUMB_NONE has the folded bit set: below it means a kept path. */
    if (PLUMB_UNLIKELY(parent >= PLUMB_PATH_FOLDED))
        context = depth > 0 ? t->frames[depth - 1].func | PLUMB_PATH_FOLDED : PLUMB_NONE;
    const plumb_call_slot *s = &p->call_cache[plumb_call_slot_of(context, key)];
    if (PLUMB_UNLIKELY(s->key != key || s->context != context))
        return 0;
    uint32_t func = s->func, edge = s->edge;
    uint32_t path = parent < PLUMB_PATH_FOLDED ? s->path : parent;
    if (PLUMB_UNLIKELY(func >= t->func_live_capacity
                       || (uint32_t)(edge + 1) >= t->edge_live_capacity))
        return 0;
    plumb_tracer_push(t, key, func, edge, path, now);
    return 1;
}

/* A call of func (found under key) starts at tick now: any call, the
 * caches refilled (profile.c). */
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
