#include "attach/thread_dump.h"

#include <stdlib.h>
#include <string.h>

#include "base/grow.h"
#include "attach/thread_names.h"
#include "sampler/stackwalk.h"

typedef struct dump_ctx {
    const plumb_attach_target *target;
    plumb_walker *walker;
    plumb_thread_dump *out;
    uintptr_t gil_holder;
    int gil_known;
    plumb_thread_names names;
} dump_ctx;

static int add_thread(void *arg, plumb_raw_stack *stack)
{
    dump_ctx *c = arg;
    plumb_thread_dump *d = c->out;
    int rc = PLUMB_GROW(d->threads, &d->capacity, (size_t)d->count + 1, 16, PLUMB_MAX_THREADS);
    if (rc < 0)
        return rc;
    plumb_dumped_thread *t = &d->threads[d->count];
    *t = (plumb_dumped_thread){.thread_id = stack->thread_id, .native_id = stack->native_id,
                               .holds_gil = c->gil_known ? stack->tstate == c->gil_holder : -1,
                               .truncated = stack->truncated};
    t->state = t->native_id ? plumb_attach_thread_state(c->target->pid, t->native_id) : '?';
    const char *name = plumb_thread_name_of(&c->names, t->thread_id);
    if (name && !(t->name = strdup(name)))
        return PLUMB_ENOMEM;
    t->funcs = malloc((stack->depth ? stack->depth : 1) * sizeof *t->funcs);
    t->lines = malloc((stack->depth ? stack->depth : 1) * sizeof *t->lines);
    if (!t->funcs || !t->lines) {
        free(t->funcs);
        free(t->lines);
        free(t->name);
        return PLUMB_ENOMEM;
    }
    /* Innermost first as read; outermost first as kept.  A frame whose
     * code cannot be read (freed under the walk) is left out. */
    for (uint32_t i = stack->depth; i-- > 0;) {
        uint32_t f;
        rc = plumb_walker_resolve(c->walker, &d->names, stack->codes[i], &f);
        if (rc == PLUMB_ENOMEM || rc == PLUMB_ELIMIT) {
            free(t->funcs);
            free(t->lines);
            free(t->name);
            return rc;
        }
        if (rc != PLUMB_OK || f == PLUMB_SKIP)
            continue;
        /* The current line where it can be read, else the function's first. */
        int64_t line;
        if (plumb_walker_line(c->walker, stack->codes[i], stack->instrs[i], &line) == PLUMB_OK)
            t->lines_read++;
        else
            line = d->names.funcs[f].line;
        t->lines[t->depth] = line;
        t->funcs[t->depth++] = f;
    }
    d->count++;
    return PLUMB_OK;
}

/* threading's names, before the stacks (a thread started between the two
 * reads is shown without one). */
static int read_names(const plumb_attach_target *t, plumb_memsource *src, plumb_page_cache *cache,
                      plumb_thread_names *names)
{
    memset(names, 0, sizeof *names);
    if (!t->has_objects)
        return PLUMB_EINVAL;
    plumb_remote_reader r = {.source = src, .cache = cache, .off = &t->off, .objects = &t->objects,
                             .dict_type = t->dict_type, .long_type = t->long_type,
                             .module_type = t->module_type};
    plumb_page_cache_begin_round(src, cache);
    return plumb_read_thread_names(&r, t->interp, names);
}

int plumb_attach_dump(const plumb_attach_target *t, plumb_thread_dump *out)
{
    memset(out, 0, sizeof *out);
    int rc = plumb_labels_init(&out->names);
    if (rc < 0)
        return rc;
    plumb_process_source memory;
    plumb_process_source_init(&memory, t->pid);
    plumb_walker *walker = malloc(sizeof *walker);
    plumb_raw_stack *scratch = malloc(sizeof *scratch);
    if (!walker || !scratch) {
        free(walker);
        free(scratch);
        return PLUMB_ENOMEM;
    }
    rc = plumb_walker_init(walker, &memory.base, &t->off, t->interp);
    if (rc == PLUMB_OK) {
        dump_ctx c = {.target = t, .walker = walker, .out = out};
        /* Read before the stacks: the holder may have moved on by the
         * time its stack is read, as it may in any dump. */
        c.gil_known = plumb_attach_gil_holder(t, &memory.base, &c.gil_holder) == PLUMB_OK;
        out->names_read = read_names(t, &memory.base, walker->cache, &c.names);
        rc = plumb_walk_threads(walker, scratch, add_thread, &c, &out->failed);
        plumb_thread_names_free(&c.names);
    }
    plumb_walker_free(walker);
    free(walker);
    free(scratch);
    return rc;
}

void plumb_thread_dump_free(plumb_thread_dump *d)
{
    for (uint32_t i = 0; i < d->count; i++) {
        free(d->threads[i].funcs);
        free(d->threads[i].lines);
        free(d->threads[i].name);
    }
    free(d->threads);
    plumb_labels_free(&d->names);
    memset(d, 0, sizeof *d);
}
