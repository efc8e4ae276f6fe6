/* The CPython binding's private header: the Profiler object and what its
 * event sources (hook_monitoring.c, hook_legacy.c) share with it. */
#ifndef PLUMB_BINDING_H
#define PLUMB_BINDING_H

#include "compat.h"

#include "base/clock.h"
#include "tracer/profile.h"
#include "tracer/tracer.h"

typedef enum plumb_clock_kind {
    PLUMB_CLOCK_KIND_TSC,        /* rdtsc, calibrated against CLOCK_MONOTONIC */
    PLUMB_CLOCK_KIND_MONOTONIC,  /* clock_gettime, in nanoseconds */
    PLUMB_CLOCK_KIND_EXTERNAL,   /* the user's timer= callable */
} plumb_clock_kind;

typedef struct ProfilerObject {
    PyObject_HEAD
    plumb_profile profile;
    uint64_t generation;       /* tells this profile's thread stacks from others' */
    /* generation if the fast paths may read the clock inline, else
     * UINT64_MAX, which no thread's slot holds: one compare on the fast
     * path checks both. */
    uint64_t fast_generation;
    PyObject *keep_alive;      /* list: every object whose address is a key */
    PyObject *external_timer;  /* timer=, or NULL */
    double timeunit;           /* timeunit= for an integer-valued timer */
    plumb_clock_kind clock;
    plumb_clock_mark clock_origin;
    int builtins;
    int enabled;
    int calibrated;            /* profile.ticks_per_second is final */
    const char *event_source;  /* what feeds the tracer while enabled */
    int all_threads;           /* threads=True: every thread; else only enable()'s caller */
    uint64_t only_thread;      /* that caller's ident, when not all_threads */
    PyObject *weakrefs;
} ProfilerObject;

extern PyTypeObject plumb_ProfilerType;
extern PyTypeObject plumb_SamplerType;
extern PyTypeObject plumb_StatsType;
extern PyTypeObject plumb_MetricsType;

int64_t plumb_profiler_external_now(ProfilerObject *self);

/* Reads the profiler's clock in ticks. */
PLUMB_TRACER_INLINE int64_t plumb_profiler_now(ProfilerObject *self)
{
    if (PLUMB_LIKELY(self->clock == PLUMB_CLOCK_KIND_TSC))
        return plumb_clock_ticks();
    if (self->clock == PLUMB_CLOCK_KIND_MONOTONIC)
        return plumb_clock_monotonic_ns();
    return plumb_profiler_external_now(self);
}

/* The calling thread's stack in this profile, created on first use; NULL
 * when memory runs out. */
plumb_thread *plumb_profiler_slow_thread(ProfilerObject *self);

typedef struct plumb_tls_thread {
    uint64_t generation;
    plumb_thread *thread;
} plumb_tls_thread;

/* initial-exec: one %fs-relative load per event instead of a call to
 * __tls_get_addr; the slot is 16 bytes, well inside glibc's static TLS
 * reserve for dlopen'ed modules. */
extern __thread plumb_tls_thread plumb_tls_current __attribute__((tls_model("initial-exec")));

PLUMB_TRACER_INLINE plumb_thread *plumb_profiler_thread(ProfilerObject *self)
{
    if (PLUMB_LIKELY(plumb_tls_current.generation == self->generation))
        return plumb_tls_current.thread;
    return plumb_profiler_slow_thread(self);
}

/* The function for key, registering it under the label of obj (a code
 * object, or a C function or method descriptor) if new.  PLUMB_SKIP if it
 * is plumb's own code, PLUMB_NONE if it cannot be registered. */
uint32_t plumb_profiler_register(ProfilerObject *self, uintptr_t key, PyObject *obj);

/* The clock the fast paths read inline: plumb_clock_ticks(), the TSC where
 * there is one (a call to clock_gettime would make every callback save
 * registers and set up a stack frame), else CLOCK_MONOTONIC.  Any other
 * clock (a TSC that is not invariant, the user's timer) takes the slow
 * paths. */
#ifdef PLUMB_CLOCK_TSC
#define PLUMB_FAST_CLOCK PLUMB_CLOCK_KIND_TSC
#else
#define PLUMB_FAST_CLOCK PLUMB_CLOCK_KIND_MONOTONIC
#endif

/* The general cases of an event (profiler.c): a thread seen for the first
 * time, a new key, a cache miss, the user's timer.  Out of line, so that
 * the callbacks' fast paths save no registers. */
void plumb_profiler_enter_slow(ProfilerObject *self, uintptr_t key, PyObject *obj);
void plumb_profiler_exit_slow(ProfilerObject *self, uintptr_t key);

/* The common call: the thread's stack from its TLS slot, the clock, and
 * the tracer's fast path (no map probe when paths are kept).  Returns 1 if
 * the event is dealt with (recorded, or not to be: a thread not profiled),
 * 0 if it needs plumb_profiler_enter_slow (which also skips plumb's own
 * code). */
PLUMB_TRACER_INLINE int plumb_profiler_try_enter(ProfilerObject *self, uintptr_t key)
{
    if (PLUMB_UNLIKELY(plumb_tls_current.generation != self->fast_generation))
        return 0;
    plumb_thread *t = plumb_tls_current.thread;
    if (!t)
        return 1;
    return plumb_tracer_enter_key(&self->profile, t, key, plumb_clock_ticks());
}

PLUMB_TRACER_INLINE void plumb_profiler_enter(ProfilerObject *self, uintptr_t key, PyObject *obj)
{
    if (!plumb_profiler_try_enter(self, key))
        plumb_profiler_enter_slow(self, key, obj);
}

/* The common return: the clock first (so that the profiler's own work
 * falls after the call's end), the thread's stack, the top frame's key,
 * the tracer's pop.  Returns 1 if the event is dealt with, 0 if it needs
 * plumb_profiler_exit_slow. */
PLUMB_TRACER_INLINE int plumb_profiler_try_exit(ProfilerObject *self, uintptr_t key)
{
    /* The clock may be read before it is known to be the one to read:
     * the slow path reads its own. */
    int64_t now = plumb_clock_ticks();
    if (PLUMB_UNLIKELY(plumb_tls_current.generation != self->fast_generation))
        return 0;
    plumb_thread *t = plumb_tls_current.thread;
    if (!t)
        return 1;
    if (PLUMB_UNLIKELY(t->top->key != key))     /* the floor's key, 0, is none */
        return 0;
    plumb_tracer_pop(&self->profile, t, now);
    return 1;
}

PLUMB_TRACER_INLINE void plumb_profiler_exit(ProfilerObject *self, uintptr_t key)
{
    if (!plumb_profiler_try_exit(self, key))
        plumb_profiler_exit_slow(self, key);
}

/* Code from files under this directory (the plumb package) is not
 * profiled; set by plumb/__init__.py.  UTF-8, or NULL. */
extern char *plumb_own_dir;

/* Labels as cProfile gives them (Modules/_lsprof.c, normalizeUserObj). */
PyObject *plumb_label_of_cfunction(PyObject *cfunc);

/* How many profilers are enabled now. */
int plumb_enabled_profilers(void);

/* Event sources.  Each returns 0, or -1 with an exception set. */
int plumb_hook_install(ProfilerObject *self);
int plumb_hook_remove(ProfilerObject *self);
int plumb_module_add_hook_functions(PyObject *module);

/* hist_key, hist_bounds, hist_quantile, HIST_SCHEME (histogram.c): 0, or -1
 * with an exception set. */
int plumb_module_add_histogram(PyObject *module);

#ifdef PLUMB_HAVE_EVAL_FRAME_HOOK
/* 0, or -1 (no exception) if frame evaluation belongs to another tool. */
int plumb_evalframe_install(ProfilerObject *self);
void plumb_evalframe_remove(ProfilerObject *self);
#endif

#endif
