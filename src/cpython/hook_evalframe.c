/* Events from a PEP 523 frame-evaluation function, CPython 3.9 to 3.11,
 * used when built-ins are not profiled: every Python frame (a call, or a
 * generator or coroutine resuming) runs through plumb_eval, which records
 * its start and end around CPython's own evaluator.  The function is per
 * interpreter, so it covers every thread. */
#include "binding.h"

#ifdef PLUMB_HAVE_EVAL_FRAME_HOOK

/* The profiler plumb_eval reports to; strong while installed.  A frame
 * that began under one profiler and ends after it was removed reports to
 * nobody: the pointer is compared, never followed, once it has changed. */
static ProfilerObject *eval_profiler;

static PyObject *plumb_eval(PyThreadState *tstate, plumb_eval_frame *frame, int throwflag)
{
    ProfilerObject *self = eval_profiler;
    if (!self)
        return _PyEval_EvalFrameDefault(tstate, frame, throwflag);
    PyCodeObject *code = plumb_eval_frame_code(frame);
    if (plumb_eval_frame_creates_generator(frame, code))
        return _PyEval_EvalFrameDefault(tstate, frame, throwflag);
    plumb_profiler_enter(self, (uintptr_t)code, (PyObject *)code);
    PyObject *result = _PyEval_EvalFrameDefault(tstate, frame, throwflag);
    if (eval_profiler == self)
        plumb_profiler_exit(self, (uintptr_t)code);
    return result;
}

int plumb_evalframe_install(ProfilerObject *self)
{
    _PyFrameEvalFunction current = plumb_get_eval_frame();
    /* Another tool (a debugger, a JIT) owns frame evaluation: leave it be. */
    if (current != _PyEval_EvalFrameDefault && current != plumb_eval)
        return -1;
    /* Another plumb profiler is using it: do not take its events away. */
    if (eval_profiler && eval_profiler != self)
        return -1;
    Py_INCREF(self);
    Py_XSETREF(eval_profiler, self);
    plumb_set_eval_frame(plumb_eval);
    return 0;
}

void plumb_evalframe_remove(ProfilerObject *self)
{
    if (eval_profiler != self)
        return;
    /* Installed only over CPython's own evaluator, so that is what returns. */
    plumb_set_eval_frame(_PyEval_EvalFrameDefault);
    eval_profiler = NULL;
    Py_DECREF(self);
}

#endif
