/* Events from the legacy profile hook (PyEval_SetProfile), CPython 3.9 to
 * 3.11.  The hook is per thread: enable() sets it on every existing thread
 * of the interpreter, and threading.setprofile() hands new threads a
 * bootstrap function that installs it on their first event. */
#include "binding.h"

#ifdef PLUMB_HAVE_LEGACY_HOOK

/* The slow paths, as tail calls: the fast paths then need no stack frame. */
static __attribute__((noinline)) int enter_slow(ProfilerObject *self, uintptr_t key,
                                                PyObject *obj)
{
    plumb_profiler_enter_slow(self, key, obj);
    return 0;
}

static __attribute__((noinline)) int exit_slow(ProfilerObject *self, uintptr_t key)
{
    plumb_profiler_exit_slow(self, key);
    return 0;
}

/* A C call or return of a callable that is not exactly a built-in
 * function: a subclass of it (PyCMethod_Type) is profiled, anything else
 * is not, as cProfile does. */
static __attribute__((noinline)) int c_event_slow(ProfilerObject *self, int what, PyObject *arg)
{
    if (!PyCFunction_Check(arg))
        return 0;
    uintptr_t key = (uintptr_t)((PyCFunctionObject *)arg)->m_ml;
    if (what == PyTrace_C_CALL)
        plumb_profiler_enter(self, key, arg);
    else
        plumb_profiler_exit(self, key);
    return 0;
}

static int on_event(PyObject *obj, PyFrameObject *frame, int what, PyObject *arg)
{
    ProfilerObject *self = (ProfilerObject *)obj;
    uintptr_t key;
    switch (what) {
    case PyTrace_CALL: {
        PyCodeObject *code = plumb_frame_code(frame);
        if (!plumb_profiler_try_enter(self, (uintptr_t)code))
            return enter_slow(self, (uintptr_t)code, (PyObject *)code);
        break;
    }
    case PyTrace_RETURN:
        key = (uintptr_t)plumb_frame_code(frame);
        if (!plumb_profiler_try_exit(self, key))
            return exit_slow(self, key);
        break;
    case PyTrace_C_CALL:
        if (!self->builtins)
            break;
        /* A subclass needs PyType_IsSubtype, a call: out of line. */
        if (Py_TYPE(arg) != &PyCFunction_Type)
            return c_event_slow(self, what, arg);
        key = (uintptr_t)((PyCFunctionObject *)arg)->m_ml;
        if (!plumb_profiler_try_enter(self, key))
            return enter_slow(self, key, arg);
        break;
    case PyTrace_C_RETURN:
    case PyTrace_C_EXCEPTION:
        if (!self->builtins)
            break;
        if (Py_TYPE(arg) != &PyCFunction_Type)
            return c_event_slow(self, what, arg);
        key = (uintptr_t)((PyCFunctionObject *)arg)->m_ml;
        if (!plumb_profiler_try_exit(self, key))
            return exit_slow(self, key);
        break;
    }
    return 0;
}

/* Called as a sys.setprofile() function in a new thread: swaps itself for
 * the C hook.  Its m_self is the profiler. */
static PyObject *bootstrap_thread(PyObject *profiler, PyObject *args)
{
    (void)args;
    if (((ProfilerObject *)profiler)->enabled)
        PyEval_SetProfile(on_event, profiler);
    else
        PyEval_SetProfile(NULL, NULL);
    Py_RETURN_NONE;
}

static PyMethodDef bootstrap_def = {"_plumb_thread_bootstrap", bootstrap_thread, METH_VARARGS,
                                    NULL};

static int set_threading_profile(PyObject *func)
{
    PyObject *threading = PyImport_ImportModule("threading");
    if (!threading)
        return -1;
    PyObject *r = PyObject_CallMethod(threading, "setprofile", "O", func);
    Py_DECREF(threading);
    Py_XDECREF(r);
    return r ? 0 : -1;
}

int plumb_hook_install(ProfilerObject *self)
{
    if (!self->builtins && plumb_evalframe_install(self) == 0) {
        self->event_source = "PEP 523 frame evaluation";
        return 0;
    }
    self->event_source = "PyEval_SetProfile";
    PyObject *bootstrap = PyCFunction_New(&bootstrap_def, (PyObject *)self);
    if (!bootstrap)
        return -1;
    int rc = set_threading_profile(bootstrap);
    Py_DECREF(bootstrap);
    if (rc < 0)
        return -1;
    PyThreadState *current = PyThreadState_Get();
    PyInterpreterState *interp = PyThreadState_GetInterpreter(current);
    for (PyThreadState *t = PyInterpreterState_ThreadHead(interp); t; t = PyThreadState_Next(t))
        if (plumb_set_thread_profile(t, on_event, (PyObject *)self) < 0)
            return -1;
    return 0;
}

int plumb_hook_remove(ProfilerObject *self)
{
    if (strcmp(self->event_source, "PyEval_SetProfile") != 0) {
        plumb_evalframe_remove(self);
        return 0;
    }
    PyThreadState *current = PyThreadState_Get();
    PyInterpreterState *interp = PyThreadState_GetInterpreter(current);
    int rc = 0;
    for (PyThreadState *t = PyInterpreterState_ThreadHead(interp); t; t = PyThreadState_Next(t))
        if (plumb_thread_profile_func(t) == on_event && t->c_profileobj == (PyObject *)self)
            if (plumb_set_thread_profile(t, NULL, NULL) < 0)
                rc = -1;
    if (set_threading_profile(Py_None) < 0)
        rc = -1;
    return rc;
}

int plumb_module_add_hook_functions(PyObject *module)
{
    (void)module;
    return 0;
}

#endif
