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

int64_t plumb_profiler_external_now(ProfilerObject *self);

/* Reads the profiler's clock in ticks. */
static inline int64_t plumb_profiler_now(ProfilerObject *self)
{
    if (self->clock == PLUMB_CLOCK_KIND_TSC)
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

static inline plumb_thread *plumb_profiler_thread(ProfilerObject *self)
{
    if (plumb_tls_current.generation == self->generation)
        return plumb_tls_current.thread;
    return plumb_profiler_slow_thread(self);
}

/* The function for key, registering it under the label of obj (a code
 * object, or a C function or method descriptor) if new.  PLUMB_SKIP if it
 * is plumb's own code, PLUMB_NONE if it cannot be registered. */
uint32_t plumb_profiler_register(ProfilerObject *self, uintptr_t key, PyObject *obj);

static inline void plumb_profiler_enter(ProfilerObject *self, uintptr_t key, PyObject *obj)
{
    plumb_thread *t = plumb_profiler_thread(self);
    if (!t)
        return;
    uint32_t func = plumb_profile_func_for_key(&self->profile, key);
    if (func >= PLUMB_SKIP) {
        if (func == PLUMB_SKIP)
            return;
        func = plumb_profiler_register(self, key, obj);
        if (func >= PLUMB_SKIP)
            return;
    }
    plumb_tracer_enter(&self->profile, t, key, func, plumb_profiler_now(self));
}

static inline void plumb_profiler_exit(ProfilerObject *self, uintptr_t key)
{
    int64_t now = plumb_profiler_now(self);
    plumb_thread *t = plumb_profiler_thread(self);
    if (t)
        plumb_tracer_exit(&self->profile, t, key, now);
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

#ifdef PLUMB_HAVE_EVAL_FRAME_HOOK
/* 0, or -1 (no exception) if frame evaluation belongs to another tool. */
int plumb_evalframe_install(ProfilerObject *self);
void plumb_evalframe_remove(ProfilerObject *self);
#endif

#endif
