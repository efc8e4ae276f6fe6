/* plumb._plumb.set_thread_tag and thread_tag: what the calling thread is
 * doing, as the sampler sees it (src/core/sampler/thread_tags.h).  Called
 * around every step of a request's task, so set_thread_tag is METH_O and
 * does no more than convert its argument. */
#include "binding.h"

#include "sampler/thread_tags.h"

static int tag_arg(PyObject *arg, uint64_t *tag)
{
    if (!PyLong_Check(arg)) {
        PyErr_Format(PyExc_TypeError, "a thread tag is an int, not %.100s", Py_TYPE(arg)->tp_name);
        return -1;
    }
    unsigned long long v = PyLong_AsUnsignedLongLong(arg);
    if (v == (unsigned long long)-1 && PyErr_Occurred()) {
        PyErr_SetString(PyExc_OverflowError, "a thread tag is between 0 and 2**64 - 1");
        return -1;
    }
    *tag = v;
    return 0;
}

/* set_thread_tag(tag) -> the previous tag */
PyObject *plumb_set_thread_tag(PyObject *module, PyObject *arg)
{
    (void)module;
    uint64_t tag;
    if (tag_arg(arg, &tag) < 0)
        return NULL;
    return PyLong_FromUnsignedLongLong(plumb_thread_tag_set(tag));
}

/* thread_tag() -> the calling thread's tag */
PyObject *plumb_get_thread_tag(PyObject *module, PyObject *Py_UNUSED(ignored))
{
    (void)module;
    return PyLong_FromUnsignedLongLong(plumb_thread_tag());
}

/* thread_tags_lost() -> writes the sampler could not see (the table was full) */
PyObject *plumb_thread_tags_lost_count(PyObject *module, PyObject *Py_UNUSED(ignored))
{
    (void)module;
    return PyLong_FromUnsignedLongLong(plumb_thread_tags_lost());
}
