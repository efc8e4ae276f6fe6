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

/* Py_NewRef came in 3.10. */
#if PY_VERSION_HEX < 0x030A0000
static inline PyObject *plumb_new_ref(PyObject *o)
{
    Py_INCREF(o);
    return o;
}
#define Py_NewRef(o) plumb_new_ref((PyObject *)(o))
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
/* Before 3.12, with built-ins left out, a PEP 523 frame-evaluation
 * function sees every Python frame start and end at a fraction of the
 * legacy hook's cost (on 3.11 that hook makes a frame object per call). */
#define PLUMB_HAVE_EVAL_FRAME_HOOK 1

#if PY_VERSION_HEX >= 0x030B0000
/* 3.11's frames live in _PyInterpreterFrame (Include/internal/
 * pycore_frame.h), which begins: f_func, f_globals, f_builtins, f_locals,
 * f_code.  A PyFrameObject (Include/internal/pycore_frame.h, struct _frame)
 * begins with PyObject_HEAD, f_back, f_frame.  plumb_version_layer_check()
 * verifies both at import and falls back to the public API if they differ. */
typedef struct _PyInterpreterFrame plumb_eval_frame;
extern int plumb_frame_layout_ok;

static inline PyCodeObject *plumb_eval_frame_code(plumb_eval_frame *f)
{
    return ((PyCodeObject **)f)[4];
}

/* On 3.11, calling a generator or coroutine function evaluates its frame
 * once, just to create the generator (RETURN_GENERATOR); the legacy hook,
 * and so cProfile, does not count that as a call.  Such a frame has run no
 * instruction yet: prev_instr, its eighth field, is still before the first. */
static inline int plumb_eval_frame_creates_generator(plumb_eval_frame *f, PyCodeObject *code)
{
    if (!(code->co_flags & (CO_GENERATOR | CO_COROUTINE | CO_ASYNC_GENERATOR)))
        return 0;
    _Py_CODEUNIT *prev_instr = ((_Py_CODEUNIT **)f)[7];
    return prev_instr < _PyCode_CODE(code);
}

static inline PyCodeObject *plumb_frame_code(PyFrameObject *frame)
{
    if (plumb_frame_layout_ok)
        return plumb_eval_frame_code(((plumb_eval_frame **)frame)[3]);
    PyCodeObject *code = PyFrame_GetCode(frame);
    Py_DECREF(code);
    return code;
}
#else
typedef PyFrameObject plumb_eval_frame;

static inline PyCodeObject *plumb_eval_frame_code(plumb_eval_frame *f)
{
    return f->f_code;
}

/* Before 3.11 a generator is made without evaluating its frame. */
static inline int plumb_eval_frame_creates_generator(plumb_eval_frame *f, PyCodeObject *code)
{
    (void)f;
    (void)code;
    return 0;
}

/* The code object of a frame, borrowed: the frame holds a reference. */
static inline PyCodeObject *plumb_frame_code(PyFrameObject *frame)
{
    return frame->f_code;
}
#endif

static inline _PyFrameEvalFunction plumb_get_eval_frame(void)
{
    return _PyInterpreterState_GetEvalFrameFunc(PyInterpreterState_Get());
}

static inline void plumb_set_eval_frame(_PyFrameEvalFunction f)
{
    _PyInterpreterState_SetEvalFrameFunc(PyInterpreterState_Get(), f);
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

/* Checks at import what this layer assumes about struct layouts; 0, or -1
 * with an exception if plumb cannot run on this interpreter. */
int plumb_version_layer_check(void);

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

/* The exception being raised, taken out of the error indicator as an
 * instance carrying its traceback (NULL if none): what the monitoring path
 * hands to Python (logged) or raises again with plumb_error_put. */
static inline PyObject *plumb_error_take(void)
{
#if PY_VERSION_HEX >= 0x030C0000
    return PyErr_GetRaisedException();
#else
    PyObject *type, *value, *traceback;
    PyErr_Fetch(&type, &value, &traceback);
    if (!type)
        return NULL;
    PyErr_NormalizeException(&type, &value, &traceback);
    if (value && traceback)
        PyException_SetTraceback(value, traceback);
    Py_XDECREF(type);
    Py_XDECREF(traceback);
    return value;
#endif
}

/* Raises exc (an instance from plumb_error_take; the reference is stolen). */
static inline void plumb_error_put(PyObject *exc)
{
#if PY_VERSION_HEX >= 0x030C0000
    PyErr_SetRaisedException(exc);
#else
    PyObject *type = (PyObject *)Py_TYPE(exc);
    Py_INCREF(type);
    PyErr_Restore(type, exc, PyException_GetTraceback(exc));
#endif
}

#endif
