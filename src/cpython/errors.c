#include "errors.h"

#include <errno.h>

PyObject *plumb_raise(int rc, const char *context, PyObject *filename, const plumb_read_error *why)
{
    const char *reason = why && why->message[0] ? why->message : NULL;
    switch (rc) {
    case PLUMB_ENOMEM:
        return PyErr_NoMemory();
    case PLUMB_EIO:
        /* The core's EIO leaves errno as the failed call set it. */
        if (errno == 0)
            errno = EIO;
        return filename ? PyErr_SetFromErrnoWithFilenameObject(PyExc_OSError, filename)
                        : PyErr_SetFromErrno(PyExc_OSError);
    case PLUMB_EFORMAT:
        PyErr_SetString(PyExc_ValueError, reason ? reason : plumb_strerror(rc));
        return NULL;
    default:
        PyErr_Format(PyExc_RuntimeError, "plumb %s: %s", context, reason ? reason : plumb_strerror(rc));
        return NULL;
    }
}
