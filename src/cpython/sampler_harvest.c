/* Sampler._harvest(): what a running sampler has collected, taken out as
 * plain data while it goes on into a fresh tree (plumb_sampler_harvest).
 *
 *   frames  [(file, line, name)] per function index
 *   nodes   [(parent node index or -1, function index)], parents first: a
 *           stack is a leaf's chain of parents; each thread has its own
 *           nodes (the same stack in two threads is two chains)
 *   tagged  [(tag, leaf node index, samples)], tag 0 for untagged samples
 *   summary {taken, missed, failed, truncated, tag_overflow, stacks, reused,
 *            busy_ns, cpu_ns, started_ns, ended_ns (CLOCK_MONOTONIC), interval,
 *            mode, threads (sampled in the interval)}
 *
 * Threads' roots (no function) are left out, so a thread's outermost
 * frames have parent -1; functions no node refers to (the profiler's own,
 * which the sampler drops) are left out of frames. */
#include "sampler_object.h"

#include "errors.h"

static PyObject *frames_list(const plumb_samples *s, const uint32_t *func_index, uint32_t nused)
{
    PyObject *frames = PyList_New(nused);
    if (!frames)
        return NULL;
    for (uint32_t f = 0; f < s->names.nfuncs; f++) {
        if (func_index[f] == PLUMB_NONE)
            continue;
        const plumb_func *fn = &s->names.funcs[f];
        PyObject *t = Py_BuildValue("(sLs)", fn->file, (long long)fn->line, fn->name);
        if (!t) {
            Py_DECREF(frames);
            return NULL;
        }
        PyList_SET_ITEM(frames, func_index[f], t);
    }
    return frames;
}

static PyObject *summary_dict(const plumb_harvest *h)
{
    const plumb_samples *s = &h->samples;
    return Py_BuildValue("{sKsKsKsKsKsKsKsLsLsLsLsdsssI}", "taken", (unsigned long long)s->taken,
                         "missed", (unsigned long long)s->missed, "failed",
                         (unsigned long long)s->failed, "truncated",
                         (unsigned long long)s->truncated, "tag_overflow",
                         (unsigned long long)h->tagged.overflow, "stacks",
                         (unsigned long long)h->stacks, "reused", (unsigned long long)h->reused,
                         "busy_ns", (long long)h->busy_ns, "cpu_ns", (long long)h->cpu_ns,
                         "started_ns", (long long)h->started_ns, "ended_ns",
                         (long long)h->ended_ns, "interval", s->interval, "mode",
                         s->cpu_mode ? "cpu" : "wall", "threads", s->nthreads);
}

/* Appends (tag, leaf, count); steals nothing. */
static int append_row(PyObject *list, uint64_t tag, uint32_t leaf, uint64_t count)
{
    PyObject *row = Py_BuildValue("(KIK)", (unsigned long long)tag, leaf, (unsigned long long)count);
    int rc = row ? PyList_Append(list, row) : -1;
    Py_XDECREF(row);
    return rc;
}

static PyObject *harvest_data(const plumb_harvest *h)
{
    const plumb_samples *s = &h->samples;
    const plumb_tag_counts *c = &h->tagged;
    PyObject *frames = NULL, *nodes = NULL, *tagged = NULL, *summary = NULL, *result = NULL;
    /* New indices without roots or unused functions; untagged samples per
     * node (its self count less its tagged ones). */
    uint32_t *node_index = PyMem_Malloc(((size_t)s->nnodes + 1) * sizeof *node_index);
    uint32_t *func_index = PyMem_Malloc(((size_t)s->names.nfuncs + 1) * sizeof *func_index);
    uint64_t *untagged = PyMem_Malloc(((size_t)s->nnodes + 1) * sizeof *untagged);
    if (!node_index || !func_index || !untagged) {
        PyErr_NoMemory();
        goto done;
    }
    for (uint32_t f = 0; f < s->names.nfuncs; f++)
        func_index[f] = PLUMB_NONE;
    uint32_t nkept = 0, nused = 0;
    for (uint32_t n = 0; n < s->nnodes; n++) {
        const plumb_node *node = &s->nodes[n];
        untagged[n] = node->self;
        node_index[n] = node->func == PLUMB_NONE ? PLUMB_NONE : nkept++;
        if (node->func != PLUMB_NONE && func_index[node->func] == PLUMB_NONE)
            func_index[node->func] = nused++;
    }
    if (!(nodes = PyList_New(nkept)) || !(tagged = PyList_New(0)))
        goto done;
    for (uint32_t n = 0; n < s->nnodes; n++) {
        const plumb_node *node = &s->nodes[n];
        if (node_index[n] == PLUMB_NONE)
            continue;
        long long parent = node->parent == PLUMB_NONE || node_index[node->parent] == PLUMB_NONE
                               ? -1
                               : (long long)node_index[node->parent];
        PyObject *t = Py_BuildValue("(LI)", parent, func_index[node->func]);
        if (!t)
            goto done;
        PyList_SET_ITEM(nodes, node_index[n], t);
    }
    for (uint32_t p = 0; p < c->npairs; p++) {
        const plumb_tag_count *pair = &c->pairs[p];
        if (pair->leaf >= s->nnodes || node_index[pair->leaf] == PLUMB_NONE) {
            PyErr_SetString(PyExc_SystemError, "sampler: a tag count of no node");
            goto done;
        }
        /* The tree has the last word: threads=False zeroes the other
         * threads' nodes at stop, and their tagged samples go with them. */
        uint64_t count = pair->count < untagged[pair->leaf] ? pair->count : untagged[pair->leaf];
        untagged[pair->leaf] -= count;
        if (count && append_row(tagged, c->tags[pair->tag], node_index[pair->leaf], count) < 0)
            goto done;
    }
    for (uint32_t n = 0; n < s->nnodes; n++)
        if (untagged[n] && node_index[n] != PLUMB_NONE
            && append_row(tagged, 0, node_index[n], untagged[n]) < 0)
            goto done;
    if (!(frames = frames_list(s, func_index, nused)) || !(summary = summary_dict(h)))
        goto done;
    result = PyTuple_Pack(4, frames, nodes, tagged, summary);
done:
    PyMem_Free(node_index);
    PyMem_Free(func_index);
    PyMem_Free(untagged);
    Py_XDECREF(frames);
    Py_XDECREF(nodes);
    Py_XDECREF(tagged);
    Py_XDECREF(summary);
    return result;
}

PyObject *plumb_sampler_harvest_method(SamplerObject *self, PyObject *Py_UNUSED(ignored))
{
    if (plumb_sampler_check_ready(self) < 0)
        return NULL;
    plumb_harvest h;
    int rc;
    /* The harvest waits for a round to end; rounds never wait for the GIL. */
    Py_BEGIN_ALLOW_THREADS
    rc = plumb_sampler_harvest(&self->sampler, &h);
    Py_END_ALLOW_THREADS
    if (rc < 0)
        return plumb_raise(rc, "sampler", NULL, NULL);
    PyObject *result = harvest_data(&h);
    plumb_harvest_free(&h);
    return result;
}
