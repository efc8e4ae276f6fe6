/* plumb._plumb.convert_samples: stack profiles from one format to another
 * (plumb convert), in C from the bytes read to the file written. */
#include "binding.h"

#include "../core/readers.h"
#include "../core/sample_writers.h"

static int write_samples(const plumb_samples *s, const char *format, FILE *out, const char *cmd)
{
    if (strcmp(format, "collapsed") == 0)
        return plumb_write_collapsed(s, out);
    if (strcmp(format, "speedscope") == 0)
        return plumb_write_speedscope(s, out, cmd);
    if (strcmp(format, "pstats") == 0)
        return plumb_write_sampled_pstats(s, out);
    if (strcmp(format, "callgrind") == 0) {
        plumb_callgrind_info info = {.creator = "plumb", .cmd = cmd, .pid = 0};
        return plumb_write_sampled_callgrind(s, out, &info);
    }
    if (strcmp(format, "tree") == 0)
        return plumb_write_tree(s, out, 0.5);
    if (strcmp(format, "pprof-raw") == 0)   /* gzipped by plumb/convert.py */
        return plumb_write_pprof(s, out);
    return PLUMB_EINVAL;
}

/* convert_samples(data, in_format, out_path, out_format, interval, name):
 * ValueError with the reader's reason if data is not in_format. */
PyObject *plumb_convert_samples(PyObject *module, PyObject *args)
{
    (void)module;
    Py_buffer data;
    const char *in_format, *out_format, *name = NULL;
    PyObject *path;
    double interval;
    if (!PyArg_ParseTuple(args, "y*sO&sd|z:convert_samples", &data, &in_format,
                          PyUnicode_FSConverter, &path, &out_format, &interval, &name))
        return NULL;
    plumb_samples s;
    plumb_read_error err = {{0}};
    int (*read)(plumb_samples *, const void *, size_t, plumb_read_error *) =
        strcmp(in_format, "speedscope") == 0 ? plumb_read_speedscope
        : strcmp(in_format, "collapsed") == 0 ? plumb_read_collapsed
        : strcmp(in_format, "pprof-raw") == 0 ? plumb_read_pprof : NULL;
    int rc = read ? PLUMB_OK : PLUMB_EINVAL;
    if (rc == PLUMB_OK && !(interval > 0 && interval < 1e6))
        rc = PLUMB_EINVAL;
    if (rc == PLUMB_OK && (rc = plumb_samples_init(&s, interval, 0)) == PLUMB_OK) {
        Py_BEGIN_ALLOW_THREADS
        rc = read(&s, data.buf, (size_t)data.len, &err);
        Py_END_ALLOW_THREADS
        if (rc == PLUMB_OK) {
            FILE *out = fopen(PyBytes_AS_STRING(path), "wb");
            rc = out ? write_samples(&s, out_format, out, name) : PLUMB_EIO;
            if (out && fclose(out) != 0 && rc == PLUMB_OK)
                rc = PLUMB_EIO;
        }
        plumb_samples_free(&s);
    }
    PyBuffer_Release(&data);
    PyObject *result = NULL;
    if (rc == PLUMB_OK) {
        Py_INCREF(Py_None);
        result = Py_None;
    } else if (rc == PLUMB_EFORMAT) {
        PyErr_SetString(PyExc_ValueError, err.message);
    } else if (rc == PLUMB_EIO) {
        PyErr_SetFromErrnoWithFilenameObject(PyExc_OSError, PyTuple_GET_ITEM(args, 2));
    } else if (rc == PLUMB_ENOMEM) {
        PyErr_NoMemory();
    } else {
        PyErr_Format(PyExc_ValueError, "cannot convert %s to %s", in_format, out_format);
    }
    Py_DECREF(path);
    return result;
}
