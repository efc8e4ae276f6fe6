/* cProfile's names for C functions, so that pstats keys match its own:
 *   builtins.len         -> <built-in method builtins.len>
 *   [].append            -> <method 'append' of 'list' objects>
 *   a module function f  -> <built-in method mod.f> (or <mod.f> without self)
 */
#include "binding.h"

PyObject *plumb_label_of_cfunction(PyObject *obj)
{
    PyCFunctionObject *fn = (PyCFunctionObject *)obj;
    const char *name = fn->m_ml->ml_name;
    if (fn->m_self == NULL) {
        PyObject *mod = fn->m_module;
        PyObject *modname = NULL;
        if (mod && PyUnicode_Check(mod)) {
            modname = mod;
            Py_INCREF(modname);
        } else if (mod && PyModule_Check(mod)) {
            modname = PyModule_GetNameObject(mod);
            if (!modname)
                PyErr_Clear();
        }
        if (modname) {
            PyObject *res = NULL;
            if (PyUnicode_CompareWithASCIIString(modname, "builtins") != 0)
                res = PyUnicode_FromFormat("<%U.%s>", modname, name);
            Py_DECREF(modname);
            if (res)
                return res;
            PyErr_Clear();
        }
        return PyUnicode_FromFormat("<%s>", name);
    }
    /* A bound method: the repr of what its type holds under that name,
     * e.g. the method descriptor list.append. */
    PyObject *key = PyUnicode_FromString(name);
    if (key) {
        PyObject *attr = plumb_type_lookup(Py_TYPE(fn->m_self), key);
        Py_DECREF(key);
        if (attr) {
            Py_INCREF(attr);
            PyObject *res = PyObject_Repr(attr);
            Py_DECREF(attr);
            if (res)
                return res;
        }
    }
    PyErr_Clear();
    if (fn->m_module && PyUnicode_Check(fn->m_module))
        return PyUnicode_FromFormat("<built-in method %U.%s>", fn->m_module, name);
    return PyUnicode_FromFormat("<built-in method %s>", name);
}
