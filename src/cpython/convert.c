/* plumb._plumb.convert_samples: stack profiles from one format to another
 * (plumb convert), in C from the bytes read to the file written. */
#include "binding.h"

#include "errors.h"
#include "formats/readers.h"
#include "formats/sample_writers.h"

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
    if (strcmp(format, "json") == 0)
        return plumb_write_sampled_json(s, out, "plumb convert");
    return PLUMB_EINVAL;
}

/* A plumb JSON profile to out_format: function-level formats from its
 * numbers, stack formats from its tree (refused, PLUMB_EINVAL, when the
 * tree was rebuilt from edges or is missing: that would invent stacks). */
static int write_json_profile(const plumb_json_profile *jp, const char *format, FILE *out,
                              const char *cmd, plumb_read_error *err)
{
    if (strcmp(format, "json") == 0) {
        plumb_json_info info = {.kind = jp->kind, .creator = "plumb convert",
                                .tree_exact = jp->tree_exact};
        return plumb_write_json(out, &jp->stats, jp->has_tree ? &jp->tree : NULL, &info);
    }
    if (strcmp(format, "pstats") == 0)
        return plumb_write_stats_pstats(&jp->stats, out);
    if (strcmp(format, "callgrind") == 0) {
        plumb_callgrind_info info = {.creator = "plumb", .cmd = cmd, .pid = 0};
        return plumb_write_stats_callgrind(&jp->stats, out, &info);
    }
    if (!jp->has_tree || !jp->tree_exact)
        return plumb_read_fail(err, NULL, 0,
                               "its call tree was rebuilt from callers and callees, so it holds "
                               "no real stacks to write");
    return write_samples(&jp->tree, format, out, cmd);
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
    int json = strcmp(in_format, "json") == 0;
    int rc = read || json ? PLUMB_OK : PLUMB_EINVAL;
    if (rc == PLUMB_OK && !(interval > 0 && interval < 1e6))
        rc = PLUMB_EINVAL;
    if (rc == PLUMB_OK && json) {
        plumb_json_profile jp;
        Py_BEGIN_ALLOW_THREADS
        rc = plumb_read_json_profile(&jp, data.buf, (size_t)data.len, &err);
        Py_END_ALLOW_THREADS
        if (rc == PLUMB_OK) {
            FILE *out = fopen(PyBytes_AS_STRING(path), "wb");
            rc = out ? write_json_profile(&jp, out_format, out, name, &err) : PLUMB_EIO;
            if (out && fclose(out) != 0 && rc == PLUMB_OK)
                rc = PLUMB_EIO;
            plumb_json_profile_free(&jp);
        }
    } else if (rc == PLUMB_OK && (rc = plumb_samples_init(&s, interval, 0)) == PLUMB_OK) {
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
