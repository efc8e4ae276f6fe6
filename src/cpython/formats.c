/* The format table (src/core/formats/format_table.h) as the binding uses
 * it: every dump and conversion names its format here, writes through
 * plumb_write_view, and the Python package reads the table (_plumb.formats)
 * for its choices and for an output's format from its name. */
#include "formats.h"

#include <errno.h>

const plumb_format *plumb_format_arg(const char *name)
{
    const plumb_format *f = plumb_format_named(name);
    if (!f)
        PyErr_Format(PyExc_ValueError, "unknown format '%s'", name);
    return f;
}

int plumb_write_view(const char *path, const plumb_format *fmt, const plumb_profile_view *v,
                     plumb_read_error *err)
{
    FILE *out = fopen(path, "wb");
    if (!out)
        return PLUMB_EIO;
    int rc = fmt->write(out, v, err);
    int saved = errno;
    if (fclose(out) != 0 && rc == PLUMB_OK)
        rc = PLUMB_EIO;
    else
        errno = saved;   /* a writer's EIO says why through errno */
    return rc;
}

/* _plumb.formats(): ((name, patterns, writes_from, gzipped, reads), ...) in
 * the table's order: patterns a tuple of shell patterns, writes_from a
 * tuple of "stats" and/or "tree", reads "stats", "tree" or None. */
PyObject *plumb_formats_info(PyObject *module, PyObject *Py_UNUSED(ignored))
{
    (void)module;
    PyObject *all = PyTuple_New((Py_ssize_t)plumb_nformats);
    for (size_t i = 0; all && i < plumb_nformats; i++) {
        const plumb_format *f = &plumb_formats[i];
        PyObject *patterns = PyUnicode_FromString(f->patterns ? f->patterns : "");
        PyObject *split = patterns ? PyUnicode_Split(patterns, NULL, -1) : NULL;
        Py_XDECREF(patterns);
        PyObject *tuple = split ? PySequence_Tuple(split) : NULL;
        Py_XDECREF(split);
        int stats = (f->wants & PLUMB_FORMAT_STATS) != 0, tree = (f->wants & PLUMB_FORMAT_TREE) != 0;
        PyObject *from = stats && tree ? Py_BuildValue("(ss)", "stats", "tree")
                         : stats       ? Py_BuildValue("(s)", "stats")
                                       : Py_BuildValue("(s)", "tree");
        const char *reads = f->read_stats ? "stats" : f->read_samples ? "tree" : NULL;
        PyObject *entry = tuple && from ? Py_BuildValue("(sOOOz)", f->name, tuple, from,
                                                        f->gzipped ? Py_True : Py_False, reads)
                                        : NULL;
        Py_XDECREF(tuple);
        Py_XDECREF(from);
        if (!entry) {
            Py_DECREF(all);
            return NULL;
        }
        PyTuple_SET_ITEM(all, (Py_ssize_t)i, entry);
    }
    return all;
}
