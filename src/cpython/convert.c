/* plumb._plumb.convert_samples: stack profiles from one format to another
 * (plumb convert), in C from the bytes read to the file written, through
 * the format table. */
#include "binding.h"

#include "errors.h"
#include "formats.h"

/* convert_samples(data, in_format, out_path, out_format, interval, name):
 * a stack profile (or plumb's JSON, which has both numbers and a tree) read
 * with the table's reader, written with out_format's writer.  ValueError
 * with the reader's reason if data is not in_format, or with the writer's
 * if out_format would need what the input lacks. */
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
    const plumb_format *in = plumb_format_named(in_format), *out = plumb_format_named(out_format);
    int json = in && strcmp(in->name, "json") == 0;
    plumb_read_error err = {{0}};
    int rc = out && in && (json || in->read_samples) ? PLUMB_OK : PLUMB_EINVAL;
    if (rc == PLUMB_OK && !(interval > 0 && interval < 1e6))
        rc = PLUMB_EINVAL;
    if (rc == PLUMB_OK && json) {
        /* plumb's JSON: its numbers and its tree, exact or rebuilt. */
        plumb_json_profile jp;
        Py_BEGIN_ALLOW_THREADS
        rc = plumb_read_json_profile(&jp, data.buf, (size_t)data.len, &err);
        Py_END_ALLOW_THREADS
        if (rc == PLUMB_OK) {
            plumb_profile_view view = {.stats = &jp.stats, .tree = jp.has_tree ? &jp.tree : NULL,
                                       .tree_exact = jp.tree_exact, .kind = jp.kind,
                                       .creator = "plumb convert", .command = name};
            rc = plumb_write_view(PyBytes_AS_STRING(path), out, &view, &err);
            plumb_json_profile_free(&jp);
        }
    } else if (rc == PLUMB_OK) {
        plumb_samples s;
        if ((rc = plumb_samples_init(&s, interval, 0)) == PLUMB_OK) {
            Py_BEGIN_ALLOW_THREADS
            rc = in->read_samples(&s, data.buf, (size_t)data.len, &err);
            Py_END_ALLOW_THREADS
            if (rc == PLUMB_OK) {
                plumb_profile_view view = {.tree = &s, .tree_exact = 1, .kind = "sampled",
                                           .creator = "plumb convert", .command = name};
                rc = plumb_write_view(PyBytes_AS_STRING(path), out, &view, &err);
            }
            plumb_samples_free(&s);
        }
    }
    PyBuffer_Release(&data);
    PyObject *result = NULL;
    if (rc == PLUMB_OK) {
        Py_INCREF(Py_None);
        result = Py_None;
    } else if (rc == PLUMB_EINVAL) {
        /* Here EINVAL says the pair of formats (or the interval) is not one
         * this converts: the caller's mistake, so a ValueError. */
        PyErr_Format(PyExc_ValueError, "cannot convert %s to %s", in_format, out_format);
    } else {
        plumb_raise(rc, "convert", PyTuple_GET_ITEM(args, 2), &err);
    }
    Py_DECREF(path);
    return result;
}
