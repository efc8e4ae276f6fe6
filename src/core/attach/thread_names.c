#include "attach/thread_names.h"

#include <stdlib.h>
#include <string.h>

#include "attach/remote_dict.h"
#include "attach/remote_int.h"
#include "base/errors.h"
#include "base/grow.h"
#include "sampler/stackwalk.h"

typedef struct names_ctx {
    const plumb_remote_reader *r;
    plumb_thread_names *out;
} names_ctx;

/* One entry of _active: an ident and its Thread.  An entry that cannot be
 * read is left out (its thread is shown without a name). */
static int add_name(void *arg, uintptr_t key, uintptr_t thread)
{
    names_ctx *c = arg;
    uint64_t ident;
    uintptr_t name;
    if (plumb_remote_uint64(c->r, key, &ident) < 0
        || plumb_remote_attribute(c->r, thread, "_name", &name) < 0)
        return 0;
    plumb_thread_names *out = c->out;
    int rc = PLUMB_GROW(out->items, &out->capacity, (size_t)out->count + 1, 8, PLUMB_MAX_THREADS);
    if (rc < 0)
        return rc == PLUMB_ELIMIT ? 1 : rc;
    plumb_thread_name *t = &out->items[out->count];
    t->ident = ident;
    if (plumb_remote_str(c->r->source, c->r->cache, c->r->off, name, PLUMB_MAX_THREAD_NAME,
                         t->name, sizeof t->name, NULL) == PLUMB_OK)
        out->count++;
    return 0;
}

int plumb_read_thread_names(const plumb_remote_reader *r, uintptr_t interp, plumb_thread_names *out)
{
    memset(out, 0, sizeof *out);
    const plumb_py_object_layout *l = r->objects;
    uintptr_t modules = 0, threading = 0, type = 0, module_dict = 0, active = 0;
    if (plumb_memread_cached(r->source, r->cache, interp + (uintptr_t)l->interp_modules, &modules,
                             sizeof modules) < 0)
        return PLUMB_EFAULT;
    int rc = plumb_remote_dict_get(r, modules, "threading", &threading);
    if (rc < 0)
        return rc;
    if (!r->module_type
        || plumb_memread_cached(r->source, r->cache, threading + (uintptr_t)r->off->object_type,
                                &type, sizeof type) < 0
        || type != r->module_type
        || plumb_memread_cached(r->source, r->cache, threading + (uintptr_t)l->module_dict,
                                &module_dict, sizeof module_dict) < 0)
        return PLUMB_EFAULT;
    rc = plumb_remote_dict_get(r, module_dict, "_active", &active);
    if (rc < 0)
        return rc;
    names_ctx c = {r, out};
    rc = plumb_remote_dict_each(r, active, add_name, &c);
    return rc < 0 ? rc : PLUMB_OK;
}

const char *plumb_thread_name_of(const plumb_thread_names *names, uint64_t ident)
{
    for (uint32_t i = 0; i < names->count; i++)
        if (names->items[i].ident == ident)
            return names->items[i].name;
    return NULL;
}

void plumb_thread_names_free(plumb_thread_names *names)
{
    free(names->items);
    memset(names, 0, sizeof *names);
}
