/* The same pseudo-random events, sent to several profiles at once, so
 * that tests can tell whether their counts agree: three threads, a few
 * functions calling each other and themselves, missed and stray returns.
 * Calls enter as the binding enters them (the fast path, else the slow). */
#ifndef PLUMB_TEST_LOCKSTEP_H
#define PLUMB_TEST_LOCKSTEP_H

#include <stdint.h>

#include "check.h"
#include "base/errors.h"
#include "base/map.h"
#include "tracer/profile.h"
#include "tracer/tracer.h"

enum { LOCKSTEP_MAX = 4, LOCKSTEP_FUNCS = 6, LOCKSTEP_THREADS = 3, LOCKSTEP_DEPTH = 30 };

typedef struct lockstep {
    int n;
    plumb_profile ps[LOCKSTEP_MAX];
    plumb_thread *threads[LOCKSTEP_MAX][LOCKSTEP_THREADS];
    uint64_t state;
    int64_t now;
} lockstep;

/* n profiles tracking edges, each with the functions registered; the
 * caller sets what differs (track_paths...) before lockstep_start. */
static void lockstep_init(lockstep *l, int n)
{
    l->n = n;
    l->state = 12345;
    l->now = 0;
    for (int k = 0; k < n; k++) {
        CHECK(plumb_profile_init(&l->ps[k], 1) == PLUMB_OK);
        for (uint32_t f = 0; f < LOCKSTEP_FUNCS; f++) {
            uint32_t func = PLUMB_NONE;
            CHECK(plumb_profile_add_key(&l->ps[k], 0x100 + 16 * f, "prog.py", f, "f", &func)
                  == PLUMB_OK && func == f);
        }
    }
}

/* The threads' stacks: their first events. */
static void lockstep_start(lockstep *l)
{
    for (int k = 0; k < l->n; k++)
        for (int i = 0; i < LOCKSTEP_THREADS; i++)
            CHECK((l->threads[k][i] = plumb_profile_new_thread(&l->ps[k], (uint64_t)i)) != NULL);
}

static void lockstep_free(lockstep *l)
{
    for (int k = 0; k < l->n; k++)
        plumb_profile_free(&l->ps[k]);
}

/* One event, to every profile; returns the thread it happened in. */
static int lockstep_step(lockstep *l)
{
    l->state = l->state * 6364136223846793005ull + 1442695040888963407ull;
    uint64_t r = l->state >> 33;
    int i = (int)(r % LOCKSTEP_THREADS);
    uint32_t f = (uint32_t)(r >> 8) % LOCKSTEP_FUNCS;
    int kind = (int)((r >> 16) % 100);
    uintptr_t key = 0x100 + 16 * f;
    l->now += (int64_t)((r >> 24) % 7);
    for (int k = 0; k < l->n; k++) {
        plumb_profile *p = &l->ps[k];
        plumb_thread *t = l->threads[k][i];
        if (kind < 52 && plumb_thread_depth(t) < LOCKSTEP_DEPTH) {
            if (!plumb_tracer_enter_key(p, t, key, l->now))
                plumb_tracer_enter(p, t, key, f, l->now);
        } else if (kind < 96 && plumb_thread_depth(t) > 0) {
            plumb_tracer_exit(p, t, t->top->key, l->now);
        } else {
            plumb_tracer_exit(p, t, key, l->now);   /* missed or stray returns */
        }
    }
    return i;
}

static int lockstep_same_counts(const plumb_counts *a, const plumb_counts *b)
{
    return a->calls == b->calls && a->recursive_calls == b->recursive_calls && a->own == b->own
           && a->total == b->total;
}

static const plumb_counts *lockstep_edge(const plumb_profile *p, uint32_t caller, uint32_t callee)
{
    static const plumb_counts none;
    uint32_t e = plumb_map_get(&p->by_edge, ((uint64_t)caller + 1) << 32 | callee);
    return e == PLUMB_MAP_MISSING ? &none : &p->edges[e].counts;
}

/* 1 if every profile, synced, has the first one's function and edge counts. */
static int lockstep_agree(lockstep *l)
{
    int ok = 1;
    for (int k = 0; k < l->n; k++)
        ok &= plumb_profile_sync_counts(&l->ps[k]) == PLUMB_OK;
    for (int k = 1; k < l->n; k++)
        for (uint32_t f = 0; f < LOCKSTEP_FUNCS; f++) {
            ok &= lockstep_same_counts(&l->ps[0].func_counts[f], &l->ps[k].func_counts[f]);
            for (uint32_t g = 0; g < LOCKSTEP_FUNCS; g++)
                ok &= lockstep_same_counts(lockstep_edge(&l->ps[0], f, g),
                                           lockstep_edge(&l->ps[k], f, g));
        }
    return ok;
}

#endif
