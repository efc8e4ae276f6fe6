/* Events from the legacy profile hook (PyEval_SetProfile), CPython 3.9 to
 * 3.11.  The hook is per thread: enable() sets it on every existing thread
 * of the interpreter, and threading.setprofile() hands new threads a
 * bootstrap function that installs it on their first event. */
#include "binding.h"

#ifdef PLUMB_HAVE_LEGACY_HOOK

static int on_event(PyObject *obj, PyFrameObject *frame, int what, PyObject *arg)
{
    ProfilerObject *self = (ProfilerObject *)obj;
    switch (what) {
    case PyTrace_CALL: {
        PyCodeObject *code = plumb_frame_code(frame);
        plumb_profiler_enter(self, (uintptr_t)code, (PyObject *)code);
        break;
    }
    case PyTrace_RETURN:
        plumb_profiler_exit(self, (uintptr_t)plumb_frame_code(frame));
        break;
    case PyTrace_C_CALL:
        if (self->builtins && PyCFunction_Check(arg))
            plumb_profiler_enter(self, (uintptr_t)((PyCFunctionObject *)arg)->m_ml, arg);
        break;
    case PyTrace_C_RETURN:
    case PyTrace_C_EXCEPTION:
        if (self->builtins && PyCFunction_Check(arg))
            plumb_profiler_exit(self, (uintptr_t)((PyCFunctionObject *)arg)->m_ml);
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
