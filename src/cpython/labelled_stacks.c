/* plumb._plumb.write_labelled_stacks: stacks from Python (a monitoring
 * store's profile), each group of them a thread of the call tree carrying
 * its labels (model/samples.h), written in any sample format; pprof keeps
 * the labels on its samples. */
#include "binding.h"

#include "errors.h"
#include "formats.h"

/* One stack (frames, count): frames (file, line, name) outermost first. */
static int add_stack(plumb_samples *s, uint32_t thread, PyObject *stack, uint32_t *funcs)
{
    PyObject *frames;
    unsigned long long count;
    if (!PyArg_ParseTuple(stack, "OK:a stack", &frames, &count))
        return -1;
    PyObject *seq = PySequence_Fast(frames, "a stack's frames must be a sequence");
    if (!seq)
        return -1;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
    /* The outermost frames go past the depth limit, as the sampler's do. */
    Py_ssize_t skip = n > PLUMB_MAX_SAMPLE_DEPTH ? n - PLUMB_MAX_SAMPLE_DEPTH : 0;
    uint32_t depth = 0;
    int rc = PLUMB_OK;
    for (Py_ssize_t i = skip; rc == PLUMB_OK && i < n; i++) {
        const char *file, *name;
        long long line;
        if (!PyArg_ParseTuple(PySequence_Fast_GET_ITEM(seq, i), "sLs:a frame", &file, &line,
                              &name)) {
            Py_DECREF(seq);
            return -1;
        }
        rc = plumb_labels_intern(&s->names, file, line, name, &funcs[depth++]);
    }
    Py_DECREF(seq);
    if (rc == PLUMB_OK && depth > 0 && count > 0)
        rc = plumb_samples_add(s, thread, funcs, depth, count);
    if (rc == PLUMB_OK && depth > 0)
        s->taken += count;
    if (rc < 0) {
        plumb_raise(rc, "labelled stacks", NULL, NULL);
        return -1;
    }
    return 0;
}

/* One group (thread name, ((key, value), ...), ((frames, count), ...)). */
static int add_group(plumb_samples *s, uint32_t index, PyObject *group, uint32_t *funcs)
{
    const char *name;
    PyObject *labels, *stacks;
    if (!PyArg_ParseTuple(group, "sOO:a group of stacks", &name, &labels, &stacks))
        return -1;
    uint32_t thread;
    int rc = plumb_samples_thread(s, (uint64_t)index + 1, 0, &thread);
    if (rc == PLUMB_OK)
        rc = plumb_samples_name_thread(s, thread, name);
    if (rc < 0) {
        plumb_raise(rc, "labelled stacks", NULL, NULL);
        return -1;
    }
    PyObject *seq = PySequence_Fast(labels, "a group's labels must be a sequence");
    if (!seq)
        return -1;
    for (Py_ssize_t i = 0; rc == PLUMB_OK && i < PySequence_Fast_GET_SIZE(seq); i++) {
        const char *key, *value;
        if (!PyArg_ParseTuple(PySequence_Fast_GET_ITEM(seq, i), "ss:a label", &key, &value)) {
            Py_DECREF(seq);
            return -1;
        }
        rc = plumb_samples_label_thread(s, thread, key, value);
    }
    Py_DECREF(seq);
    if (rc < 0) {
        plumb_raise(rc, "labelled stacks", NULL, NULL);
        return -1;
    }
    seq = PySequence_Fast(stacks, "a group's stacks must be a sequence");
    if (!seq)
        return -1;
    for (Py_ssize_t i = 0; i < PySequence_Fast_GET_SIZE(seq); i++) {
        if (add_stack(s, thread, PySequence_Fast_GET_ITEM(seq, i), funcs) < 0) {
            Py_DECREF(seq);
            return -1;
        }
    }
    Py_DECREF(seq);
    return 0;
}

/* write_labelled_stacks(groups, out_path, out_format, interval[, cpu_mode]):
 * groups are (thread name, labels, stacks), one thread of the tree each. */
PyObject *plumb_write_labelled_stacks(PyObject *module, PyObject *args)
{
    (void)module;
    PyObject *groups, *path;
    const char *out_format, *name = NULL;
    double interval;
    int cpu_mode = 0;
    if (!PyArg_ParseTuple(args, "OO&sd|pz:write_labelled_stacks", &groups, PyUnicode_FSConverter,
                          &path, &out_format, &interval, &cpu_mode, &name))
        return NULL;
    const plumb_format *out = plumb_format_named(out_format);
    if (!out || !(interval > 0 && interval < 1e6)) {
        Py_DECREF(path);
        return PyErr_Format(PyExc_ValueError,
                            "cannot write labelled stacks as %s, or at that interval", out_format);
    }
    PyObject *result = NULL, *seq = NULL;
    uint32_t *funcs = PyMem_Malloc(PLUMB_MAX_SAMPLE_DEPTH * sizeof *funcs);
    plumb_samples s;
    int rc = funcs ? plumb_samples_init(&s, interval, cpu_mode) : PLUMB_ENOMEM;
    if (rc < 0) {
        PyMem_Free(funcs);
        Py_DECREF(path);
        return plumb_raise(rc, "labelled stacks", NULL, NULL);
    }
    seq = PySequence_Fast(groups, "groups must be a sequence");
    if (!seq)
        goto done;
    if (PySequence_Fast_GET_SIZE(seq) >= (Py_ssize_t)PLUMB_MAX_LABELS) {
        PyErr_SetString(PyExc_ValueError, "too many groups of stacks");
        goto done;
    }
    for (Py_ssize_t i = 0; i < PySequence_Fast_GET_SIZE(seq); i++)
        if (add_group(&s, (uint32_t)i, PySequence_Fast_GET_ITEM(seq, i), funcs) < 0)
            goto done;
    plumb_read_error err = {{0}};
    plumb_profile_view view = {.tree = &s, .tree_exact = 1, .kind = "sampled",
                               .creator = "plumb", .command = name};
    rc = plumb_write_view(PyBytes_AS_STRING(path), out, &view, &err);
    if (rc < 0)
        plumb_raise(rc, "labelled stacks", path, &err);
    else {
        Py_INCREF(Py_None);
        result = Py_None;
    }
done:
    Py_XDECREF(seq);
    plumb_samples_free(&s);
    PyMem_Free(funcs);
    Py_DECREF(path);
    return result;
}
