/* Everything plumb knows about differences between CPython versions lives
 * in this header: which event source the tracer uses, and how to reach the
 * few objects whose access changed.  Other files test the PLUMB_* feature
 * macros, never PY_VERSION_HEX. */
#ifndef PLUMB_COMPAT_H
#define PLUMB_COMPAT_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <frameobject.h>

#if PY_VERSION_HEX < 0x03090000
#error "plumb needs CPython 3.9 or newer"
#endif

/* 3.12 brought sys.monitoring (PEP 669): events reach C callables, for
 * every thread, without the legacy hook's frame objects.  Before it, the
 * legacy profile hook is set on each thread. */
#if PY_VERSION_HEX >= 0x030C0000
#define PLUMB_HAVE_MONITORING 1
#else
#define PLUMB_HAVE_LEGACY_HOOK 1
#endif

#ifdef PLUMB_HAVE_LEGACY_HOOK
/* The code object of a frame, borrowed: the frame holds a reference. */
static inline PyCodeObject *plumb_frame_code(PyFrameObject *frame)
{
#if PY_VERSION_HEX < 0x030B0000
    return frame->f_code;
#else
    PyCodeObject *code = PyFrame_GetCode(frame);
    Py_DECREF(code);
    return code;
#endif
}

/* Installs the profile hook on another thread; public as _PyEval_SetProfile
 * from 3.9 to 3.11. */
static inline int plumb_set_thread_profile(PyThreadState *tstate, Py_tracefunc func, PyObject *arg)
{
    return _PyEval_SetProfile(tstate, func, arg);
}

static inline Py_tracefunc plumb_thread_profile_func(PyThreadState *tstate)
{
    return tstate->c_profilefunc;
}
#endif

/* A name looked up along a type's MRO without invoking descriptors,
 * borrowed; what cProfile uses to name bound C methods. */
static inline PyObject *plumb_type_lookup(PyTypeObject *type, PyObject *name)
{
    return _PyType_Lookup(type, name);
}

/* The exception in flight, kept aside while plumb itself calls into Python
 * so that the profiler never changes the program's error state. */
typedef struct plumb_saved_error {
#if PY_VERSION_HEX >= 0x030C0000
    PyObject *exc;
#else
    PyObject *type, *value, *traceback;
#endif
} plumb_saved_error;

static inline void plumb_error_save(plumb_saved_error *s)
{
#if PY_VERSION_HEX >= 0x030C0000
    s->exc = PyErr_GetRaisedException();
#else
    PyErr_Fetch(&s->type, &s->value, &s->traceback);
#endif
}

static inline void plumb_error_restore(plumb_saved_error *s)
{
#if PY_VERSION_HEX >= 0x030C0000
    PyErr_SetRaisedException(s->exc);
#else
    PyErr_Restore(s->type, s->value, s->traceback);
#endif
}

#endif
