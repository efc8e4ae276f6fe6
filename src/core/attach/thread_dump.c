#include "attach/thread_dump.h"

#include <stdlib.h>
#include <string.h>

#include "base/grow.h"
#include "sampler/stackwalk.h"

typedef struct dump_ctx {
    const plumb_attach_target *target;
    plumb_walker *walker;
    plumb_thread_dump *out;
    uintptr_t gil_holder;
    int gil_known;
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
    t->funcs = malloc((stack->depth ? stack->depth : 1) * sizeof *t->funcs);
    if (!t->funcs)
        return PLUMB_ENOMEM;
    /* Innermost first as read; outermost first as kept.  A frame whose
     * code cannot be read (freed under the walk) is left out. */
    for (uint32_t i = stack->depth; i-- > 0;) {
        uint32_t f;
        rc = plumb_walker_resolve(c->walker, &d->names, stack->codes[i], &f);
        if (rc == PLUMB_ENOMEM || rc == PLUMB_ELIMIT) {
            free(t->funcs);
            return rc;
        }
        if (rc == PLUMB_OK && f != PLUMB_SKIP)
            t->funcs[t->depth++] = f;
    }
    d->count++;
    return PLUMB_OK;
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
        rc = plumb_walk_threads(walker, scratch, add_thread, &c, &out->failed);
    }
    plumb_walker_free(walker);
    free(walker);
    free(scratch);
    return rc;
}

void plumb_thread_dump_free(plumb_thread_dump *d)
{
    for (uint32_t i = 0; i < d->count; i++)
        free(d->threads[i].funcs);
    free(d->threads);
    plumb_labels_free(&d->names);
    memset(d, 0, sizeof *d);
}
