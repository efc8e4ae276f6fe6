#include "model/samples.h"

#include <stdlib.h>
#include <string.h>

#include "base/errors.h"
#include "base/grow.h"

int plumb_samples_init(plumb_samples *s, double interval, int cpu_mode)
{
    memset(s, 0, sizeof *s);
    s->interval = interval;
    s->cpu_mode = cpu_mode;
    if (plumb_labels_init(&s->names) < 0 || plumb_map_init(&s->children, 1024) < 0) {
        plumb_samples_free(s);
        return PLUMB_ENOMEM;
    }
    return PLUMB_OK;
}

void plumb_samples_free(plumb_samples *s)
{
    plumb_labels_free(&s->names);
    plumb_map_free(&s->children);
    for (uint32_t i = 0; i < s->nthreads; i++) {
        free(s->threads[i].name);
        plumb_sample_labels_free(&s->threads[i]);
    }
    free(s->threads);
    free(s->nodes);
    free(s->calls);
    memset(s, 0, sizeof *s);
}

static int new_node(plumb_samples *s, uint32_t parent, uint32_t func, uint32_t thread,
                    uint32_t *node)
{
    int rc = PLUMB_GROW(s->nodes, &s->nodes_capacity, (size_t)s->nnodes + 1, 1024, PLUMB_NONE / 2);
    if (rc < 0)
        return rc;
    *node = s->nnodes++;
    s->nodes[*node] = (plumb_node){.parent = parent, .func = func, .thread = thread, .self = 0};
    return PLUMB_OK;
}

int plumb_samples_find_thread(const plumb_samples *s, uint64_t id, uint64_t native_id,
                              uint32_t *index)
{
    /* pthread ids are reused as soon as a thread ends; kernel ids are not
     * (until they wrap), so a known kernel id tells two threads apart. */
    for (uint32_t i = 0; i < s->nthreads; i++) {
        const plumb_sampled_thread *t = &s->threads[i];
        if (t->id == id && (!native_id || !t->native_id || t->native_id == native_id)) {
            *index = i;
            return PLUMB_OK;
        }
    }
    return PLUMB_EINVAL;
}

int plumb_samples_thread(plumb_samples *s, uint64_t id, uint64_t native_id, uint32_t *index)
{
    if (plumb_samples_find_thread(s, id, native_id, index) == PLUMB_OK) {
        if (native_id && !s->threads[*index].native_id)
            s->threads[*index].native_id = native_id;
        return PLUMB_OK;
    }
    int rc = PLUMB_GROW(s->threads, &s->threads_capacity, (size_t)s->nthreads + 1, 16, PLUMB_NONE / 2);
    if (rc < 0)
        return rc;
    uint32_t root;
    rc = new_node(s, PLUMB_NONE, PLUMB_NONE, s->nthreads, &root);
    if (rc < 0)
        return rc;
    s->threads[s->nthreads] = (plumb_sampled_thread){.id = id, .native_id = native_id, .root = root,
                                                     .last_leaf = PLUMB_NONE, .last_cpu_ns = -1};
    *index = s->nthreads++;
    return PLUMB_OK;
}

int plumb_samples_name_thread(plumb_samples *s, uint32_t thread, const char *name)
{
    if (thread >= s->nthreads)
        return PLUMB_EINVAL;
    char *copy = strdup(name);
    if (!copy)
        return PLUMB_ENOMEM;
    free(s->threads[thread].name);
    s->threads[thread].name = copy;
    return PLUMB_OK;
}

int plumb_samples_add(plumb_samples *s, uint32_t thread, const uint32_t *funcs, uint32_t depth,
                      uint64_t count)
{
    uint32_t node;
    int rc = plumb_samples_node(s, thread, funcs, depth, &node);
    if (rc == PLUMB_OK)
        plumb_samples_count(s, node, count);
    return rc;
}

void plumb_samples_count(plumb_samples *s, uint32_t node, uint64_t count)
{
    s->nodes[node].self += count;
    s->threads[s->nodes[node].thread].samples += count;
}

int plumb_samples_child(plumb_samples *s, uint32_t node, uint32_t func, uint32_t *child)
{
    uint64_t key = ((uint64_t)node + 1) << 32 | func;
    *child = plumb_map_get(&s->children, key);
    if (*child != PLUMB_MAP_MISSING)
        return PLUMB_OK;
    int rc = new_node(s, node, func, s->nodes[node].thread, child);
    if (rc == PLUMB_OK)
        rc = plumb_map_put(&s->children, key, *child);
    return rc;
}

int plumb_samples_node(plumb_samples *s, uint32_t thread, const uint32_t *funcs, uint32_t depth,
                       uint32_t *out)
{
    if (thread >= s->nthreads)
        return PLUMB_EINVAL;
    uint32_t node = s->threads[thread].root;
    for (uint32_t i = 0; i < depth; i++) {
        int rc = plumb_samples_child(s, node, funcs[i], &node);
        if (rc < 0)
            return rc;
    }
    *out = node;
    return PLUMB_OK;
}

uint32_t plumb_samples_path(const plumb_samples *s, uint32_t node, uint32_t *out, uint32_t max)
{
    uint32_t n = 0;
    for (uint32_t x = node; x != PLUMB_NONE && s->nodes[x].func != PLUMB_NONE; x = s->nodes[x].parent)
        n++;
    if (n > max)
        n = max;
    uint32_t i = n;
    for (uint32_t x = node; i > 0 && x != PLUMB_NONE && s->nodes[x].func != PLUMB_NONE;
         x = s->nodes[x].parent)
        out[--i] = s->nodes[x].func;
    return n;
}

int plumb_sample_weights_add(plumb_sample_weights *sw, uint32_t node, double weight)
{
    int rc = PLUMB_GROW_ZEROED(sw->weight, &sw->cap, (size_t)node + 1, 1024, UINT32_MAX);
    if (rc < 0)
        return rc;
    sw->weight[node] += weight;
    return PLUMB_OK;
}

int plumb_sample_weights_finish(plumb_sample_weights *sw, plumb_samples *s)
{
    int rc = PLUMB_OK;
    for (uint32_t n = 0; n < sw->cap && n < s->nnodes; n++) {
        double w = sw->weight[n] + 0.5;
        if (!(w < 9e15)) {
            rc = PLUMB_ELIMIT;
            break;
        }
        if ((uint64_t)w) {
            plumb_samples_count(s, n, (uint64_t)w);
            s->taken += (uint64_t)w;
        }
    }
    free(sw->weight);
    sw->weight = NULL;
    sw->cap = 0;
    return rc;
}
