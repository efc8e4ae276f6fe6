/* The tracer's hot path: what happens to a thread's stack and to the counts
 * on each call and return.  The accounting is cProfile's (Modules/_lsprof.c),
 * so that the numbers match it: a call is counted when it returns; a
 * function's total time counts only its outermost activation (in its own
 * thread); the time of a call is charged to its caller as time spent in
 * callees.  Inline, because the binding calls it on every event.
 *
 * While every call's path is kept (the profile's usual state), a call
 * touches only its frame and its path (calls, own time): the function and
 * edge counts follow from the path tree when they are read
 * (plumb_profile_sync_counts, counts_from_paths.c).  Once a path cannot be
 * kept, or paths are off, the counts are kept per event from then on
 * (p->count_per_event): a folded call's path no longer says its function. */
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

/* Pushes a frame for a call whose edge and path are known, counting per
 * event (p->count_per_event). */
PLUMB_TRACER_INLINE void plumb_tracer_push(plumb_thread *t, uintptr_t key, uint32_t func,
                                           uint32_t edge, uint32_t path, int64_t now)
{
    plumb_frame *f = ++t->top;
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

/* Pushes a frame for a call along a kept path, while the function and edge
 * counts are derived from the paths (!p->count_per_event): the path alone
 * says the function, the edge and every activation below. */
PLUMB_TRACER_INLINE void plumb_tracer_push_path(plumb_thread *t, uintptr_t key, uint32_t path,
                                                int64_t now)
{
    plumb_frame *f = ++t->top;
    f->key = key;
    f->start = now;
    f->children = 0;
    f->path = path;
}

/* The common call, or nothing: returns 1 if it pushed the call found
 * under key at tick now, 0, having changed nothing, if the call needs
 * plumb_tracer_enter (a new key, plumb's own code, a cache miss, a stack or
 * a count array to grow).  It calls nothing, and needs few registers, so
 * that the event callback it is inlined into saves none and sets up no
 * stack frame (inlining a map probe loop as well costs every event six
 * pushes and pops).
 *
 * The call cache gives its function, edge and path from (context, key);
 * while the counts come from the paths, the path is all it needs. */
PLUMB_TRACER_INLINE int plumb_tracer_enter_key(plumb_profile *p, plumb_thread *t, uintptr_t key,
                                               int64_t now)
{
    const plumb_frame *caller = t->top;
    if (PLUMB_UNLIKELY(caller + 1 == t->end))
        return 0;
    uint32_t parent = caller->path;
    if (PLUMB_LIKELY(!p->count_per_event)) {
        /* Every path is kept: the caller's is the context. */
        const plumb_call_slot *s = &p->call_cache[plumb_call_slot_of(parent, key)];
        if (PLUMB_UNLIKELY(s->key != key || s->context != parent))
            return 0;
        plumb_tracer_push_path(t, key, s->path, now);
        return 1;
    }
    uint32_t context = parent;
    /* PLUMB_NONE has the folded bit set: below it means a kept path. */
    if (PLUMB_UNLIKELY(parent >= PLUMB_PATH_FOLDED))
        context = caller->func | PLUMB_PATH_FOLDED;   /* the floor's: PLUMB_NONE */
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
    plumb_frame *f = t->top--;
    int64_t elapsed = now - f->start;
    int64_t own = elapsed - f->children;
    f[-1].children += elapsed;                 /* the floor's are never read */
    if (PLUMB_LIKELY(!p->count_per_event)) {
        plumb_path *path = &p->paths[f->path];
        path->own += own;
        path->calls++;
        return;
    }
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
    if (PLUMB_LIKELY(t->top->key == key))
        plumb_tracer_pop(p, t, now);
    else
        plumb_tracer_exit_unmatched(p, t, key, now);
}

/* Closes every frame of every thread, as cProfile does when profiling is
 * disabled: functions still running are counted up to now. */
static inline void plumb_tracer_close_all(plumb_profile *p, int64_t now)
{
    for (plumb_thread *t = p->threads; t; t = t->next)
        while (t->top != t->frames)
            plumb_tracer_pop(p, t, now);
}

#endif
