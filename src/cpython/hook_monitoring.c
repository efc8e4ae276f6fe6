/* Events from sys.monitoring (PEP 669), CPython 3.12+.  The callbacks are
 * C objects called through vectorcall, the cheapest way in: cProfile's are
 * bound Python-visible methods.  One tool id, PROFILER_ID, serves every
 * thread of the interpreter. */
#include "binding.h"

#ifdef PLUMB_HAVE_MONITORING

typedef enum callback_kind {
    CALLBACK_PY_START,   /* PY_START, PY_RESUME, PY_THROW: a Python frame runs */
    CALLBACK_PY_END,     /* PY_RETURN, PY_YIELD, PY_UNWIND: it stops running */
    CALLBACK_C_CALL,     /* CALL: maybe a C function */
    CALLBACK_C_END,      /* C_RETURN, C_RAISE */
} callback_kind;

typedef struct CallbackObject {
    PyObject_HEAD
    vectorcallfunc vectorcall;
    ProfilerObject *profiler;   /* strong: sys.monitoring keeps us alive while enabled */
    PyObject *missing;          /* sys.monitoring.MISSING */
} CallbackObject;

/* The key of a C function that a CALL event is about to run, or 0 if it is
 * not one cProfile profiles.  Method descriptors (list.append called as
 * lst.append(x)) are keyed by their method table, as the bound method the
 * legacy hook saw would be. */
static inline uintptr_t c_function_key(PyObject *callable, PyObject *self_arg, PyObject *missing)
{
    /* CALL fires for every call, and most callees are Python functions:
     * reject those by exact type before anything costlier. */
    PyTypeObject *type = Py_TYPE(callable);
    if (type == &PyFunction_Type || type == &PyMethod_Type)
        return 0;
    if (type == &PyMethodDescr_Type)
        return self_arg != missing ? (uintptr_t)((PyMethodDescrObject *)callable)->d_method : 0;
    if (type == &PyCFunction_Type || type == &PyCMethod_Type || PyCFunction_Check(callable))
        return (uintptr_t)((PyCFunctionObject *)callable)->m_ml;
    return 0;
}

/* The slow paths, as tail calls: the callbacks' fast paths then need no
 * stack frame. */
static __attribute__((noinline)) PyObject *enter_slow(ProfilerObject *profiler, uintptr_t key,
                                                      PyObject *obj)
{
    plumb_profiler_enter_slow(profiler, key, obj);
    Py_RETURN_NONE;
}

static __attribute__((noinline)) PyObject *exit_slow(ProfilerObject *profiler, uintptr_t key)
{
    plumb_profiler_exit_slow(profiler, key);
    Py_RETURN_NONE;
}

static PyObject *on_py_start(PyObject *cb, PyObject *const *args, size_t nargsf, PyObject *kw)
{
    (void)kw;
    ProfilerObject *profiler = ((CallbackObject *)cb)->profiler;
    if (PyVectorcall_NARGS(nargsf) >= 1 && !plumb_profiler_try_enter(profiler, (uintptr_t)args[0]))
        return enter_slow(profiler, (uintptr_t)args[0], args[0]);
    Py_RETURN_NONE;
}

static PyObject *on_py_end(PyObject *cb, PyObject *const *args, size_t nargsf, PyObject *kw)
{
    (void)kw;
    ProfilerObject *profiler = ((CallbackObject *)cb)->profiler;
    if (PyVectorcall_NARGS(nargsf) >= 1 && !plumb_profiler_try_exit(profiler, (uintptr_t)args[0]))
        return exit_slow(profiler, (uintptr_t)args[0]);
    Py_RETURN_NONE;
}

/* The first call seen of a method descriptor: bind it to its self, as the
 * legacy hook's event would have, so that it is named as cProfile names it
 * (after what type(self) holds under that name: for list.remove called on a
 * subclass that overrides remove, the override).  A call that cannot bind
 * (list.append("x", 1)) fails before it runs and is not counted, as before
 * 3.12. */
static void enter_new_descriptor(ProfilerObject *profiler, uintptr_t key, PyObject *descr,
                                 PyObject *self_arg)
{
    plumb_saved_error saved;
    plumb_error_save(&saved);
    PyObject *bound = Py_TYPE(descr)->tp_descr_get(descr, self_arg, (PyObject *)Py_TYPE(self_arg));
    if (bound && PyCFunction_Check(bound))
        plumb_profiler_enter(profiler, key, bound);
    Py_XDECREF(bound);
    PyErr_Clear();
    plumb_error_restore(&saved);
}

/* A C call the fast path could not record; the map is probed again only
 * here. */
static __attribute__((noinline)) PyObject *c_call_slow(ProfilerObject *profiler, uintptr_t key,
                                                       PyObject *callable, PyObject *self_arg)
{
    if (Py_TYPE(callable) == &PyMethodDescr_Type
        && plumb_profile_func_for_key(&profiler->profile, key) == PLUMB_NONE)
        enter_new_descriptor(profiler, key, callable, self_arg);
    else
        plumb_profiler_enter_slow(profiler, key, callable);
    Py_RETURN_NONE;
}

static PyObject *on_c_call(PyObject *cb, PyObject *const *args, size_t nargsf, PyObject *kw)
{
    (void)kw;
    CallbackObject *self = (CallbackObject *)cb;
    if (PyVectorcall_NARGS(nargsf) >= 4) {
        uintptr_t key = c_function_key(args[2], args[3], self->missing);
        if (key && !plumb_profiler_try_enter(self->profiler, key))
            return c_call_slow(self->profiler, key, args[2], args[3]);
    }
    Py_RETURN_NONE;
}

static PyObject *on_c_end(PyObject *cb, PyObject *const *args, size_t nargsf, PyObject *kw)
{
    (void)kw;
    CallbackObject *self = (CallbackObject *)cb;
    if (PyVectorcall_NARGS(nargsf) >= 4) {
        uintptr_t key = c_function_key(args[2], args[3], self->missing);
        if (key && !plumb_profiler_try_exit(self->profiler, key))
            return exit_slow(self->profiler, key);
    }
    Py_RETURN_NONE;
}

static void callback_dealloc(CallbackObject *self)
{
    Py_XDECREF(self->profiler);
    Py_XDECREF(self->missing);
    PyObject_Free(self);
}

static PyTypeObject CallbackType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "plumb._plumb.MonitoringCallback",
    .tp_basicsize = sizeof(CallbackObject),
    .tp_dealloc = (destructor)callback_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_VECTORCALL,
    .tp_vectorcall_offset = offsetof(CallbackObject, vectorcall),
    .tp_call = PyVectorcall_Call,
    .tp_doc = "A sys.monitoring callback of a plumb profiler.",
};

static const struct {
    const char *event;
    callback_kind kind;
} EVENTS[] = {
    {"PY_START", CALLBACK_PY_START},  {"PY_RESUME", CALLBACK_PY_START},
    {"PY_THROW", CALLBACK_PY_START},  {"PY_RETURN", CALLBACK_PY_END},
    {"PY_YIELD", CALLBACK_PY_END},    {"PY_UNWIND", CALLBACK_PY_END},
    {"CALL", CALLBACK_C_CALL},        {"C_RETURN", CALLBACK_C_END},
    {"C_RAISE", CALLBACK_C_END},
};

static const vectorcallfunc HANDLERS[] = {on_py_start, on_py_end, on_c_call, on_c_end};

static PyObject *monitoring_module(void)
{
    PyObject *sys = PyImport_ImportModule("sys");
    if (!sys)
        return NULL;
    PyObject *mon = PyObject_GetAttrString(sys, "monitoring");
    Py_DECREF(sys);
    return mon;
}

static int tool_id(PyObject *mon, long *id)
{
    PyObject *o = PyObject_GetAttrString(mon, "PROFILER_ID");
    if (!o)
        return -1;
    *id = PyLong_AsLong(o);
    Py_DECREF(o);
    return PyErr_Occurred() ? -1 : 0;
}

static int set_callbacks(ProfilerObject *self, PyObject *mon, long tool, int install)
{
    PyObject *events = PyObject_GetAttrString(mon, "events");
    PyObject *missing = PyObject_GetAttrString(mon, "MISSING");
    long mask = 0;
    int rc = -1;
    if (!events || !missing)
        goto done;
    for (size_t i = 0; i < sizeof EVENTS / sizeof EVENTS[0]; i++) {
        int is_c = EVENTS[i].kind == CALLBACK_C_CALL || EVENTS[i].kind == CALLBACK_C_END;
        PyObject *ev = PyObject_GetAttrString(events, EVENTS[i].event);
        if (!ev)
            goto done;
        long bit = PyLong_AsLong(ev);
        PyObject *cb = Py_None;
        Py_INCREF(cb);
        if (install && !(is_c && !self->builtins)) {
            CallbackObject *c = PyObject_New(CallbackObject, &CallbackType);
            if (!c) {
                Py_DECREF(ev);
                Py_DECREF(cb);
                goto done;
            }
            c->vectorcall = HANDLERS[EVENTS[i].kind];
            c->profiler = self;
            Py_INCREF(self);
            c->missing = missing;
            Py_INCREF(missing);
            Py_SETREF(cb, (PyObject *)c);
            mask |= bit;
        }
        PyObject *old = PyObject_CallMethod(mon, "register_callback", "lOO", tool, ev, cb);
        Py_DECREF(ev);
        Py_DECREF(cb);
        if (!old)
            goto done;
        Py_DECREF(old);
    }
    PyObject *r = PyObject_CallMethod(mon, "set_events", "ll", tool, mask);
    if (!r)
        goto done;
    Py_DECREF(r);
    rc = 0;
done:
    Py_XDECREF(events);
    Py_XDECREF(missing);
    return rc;
}

int plumb_hook_install(ProfilerObject *self)
{
    self->event_source = "sys.monitoring";
    PyObject *mon = monitoring_module();
    long tool;
    if (!mon)
        return -1;
    if (tool_id(mon, &tool) < 0) {
        Py_DECREF(mon);
        return -1;
    }
    PyObject *r = PyObject_CallMethod(mon, "use_tool_id", "ls", tool, "plumb");
    if (!r) {
        /* The slot is taken: name who holds it instead of a bare ValueError. */
        PyErr_Clear();
        PyObject *holder = PyObject_CallMethod(mon, "get_tool", "l", tool);
        if (holder)
            PyErr_Format(PyExc_ValueError,
                         "another profiler (%R) is already active: sys.monitoring's "
                         "profiler slot is taken", holder);
        Py_XDECREF(holder);
        Py_DECREF(mon);
        return -1;
    }
    Py_DECREF(r);
    if (set_callbacks(self, mon, tool, 1) < 0) {
        plumb_saved_error saved;
        plumb_error_save(&saved);
        set_callbacks(self, mon, tool, 0);
        PyErr_Clear();
        PyObject *f = PyObject_CallMethod(mon, "free_tool_id", "l", tool);
        Py_XDECREF(f);
        PyErr_Clear();
        plumb_error_restore(&saved);
        Py_DECREF(mon);
        return -1;
    }
    Py_DECREF(mon);
    return 0;
}

int plumb_hook_remove(ProfilerObject *self)
{
    PyObject *mon = monitoring_module();
    long tool;
    if (!mon)
        return -1;
    int rc = tool_id(mon, &tool);
    if (rc == 0)
        rc = set_callbacks(self, mon, tool, 0);
    if (rc == 0) {
        PyObject *f = PyObject_CallMethod(mon, "free_tool_id", "l", tool);
        rc = f ? 0 : -1;
        Py_XDECREF(f);
    }
    Py_DECREF(mon);
    return rc;
}

int plumb_module_add_hook_functions(PyObject *module)
{
    (void)module;
    return PyType_Ready(&CallbackType);
}

#endif
