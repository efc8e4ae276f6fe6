#include "model/labels.h"

#include <stdlib.h>
#include <string.h>

#include "base/errors.h"
#include "base/grow.h"
#include "base/hash.h"

int plumb_labels_init(plumb_labels *l)
{
    memset(l, 0, sizeof *l);
    return plumb_map_init(&l->by_hash, 1024) < 0 ? PLUMB_ENOMEM : PLUMB_OK;
}

void plumb_labels_free(plumb_labels *l)
{
    for (uint32_t i = 0; i < l->nfuncs; i++) {
        free(l->funcs[i].file);
        free(l->funcs[i].name);
    }
    free(l->funcs);
    plumb_map_free(&l->by_hash);
    memset(l, 0, sizeof *l);
}

static uint64_t label_hash(const char *file, int64_t line, const char *name)
{
    /* Keyed (base/hash.h): labels come from programs and files, and equal
     * hashes cost find_label a scan.  The file's length goes first, so
     * that no two labels are fed as the same bytes (a separator byte could
     * appear in a name and move the split).  Never 0, which marks an empty
     * slot in the map. */
    size_t file_len = strlen(file);
    uint64_t file_len64 = file_len, line64 = (uint64_t)line;
    plumb_hasher h;
    plumb_hasher_init(&h);
    plumb_hasher_add(&h, &file_len64, sizeof file_len64);
    plumb_hasher_add(&h, file, file_len);
    plumb_hasher_add(&h, name, strlen(name));
    plumb_hasher_add(&h, &line64, sizeof line64);
    uint64_t v = plumb_hasher_end(&h);
    return v ? v : 1;
}

/* Label hashes are keyed 64-bit hashes: equal ones for different labels
 * come by chance only (about n^2 / 2^65 for n labels), never by a file's
 * choice, so the later label of such a pair is found by a linear scan,
 * which keeps the index a plain hash -> id map. */
static uint32_t find_label(const plumb_labels *l, uint64_t h, const char *file, int64_t line,
                           const char *name)
{
    uint32_t f = plumb_map_get(&l->by_hash, h);
    if (f == PLUMB_MAP_MISSING)
        return PLUMB_NONE;
    const plumb_func *fn = &l->funcs[f];
    if (fn->line == line && strcmp(fn->name, name) == 0 && strcmp(fn->file, file) == 0)
        return f;
    for (uint32_t i = 0; i < l->nfuncs; i++) {
        fn = &l->funcs[i];
        if (fn->hash == h && fn->line == line && strcmp(fn->name, name) == 0
            && strcmp(fn->file, file) == 0)
            return i;
    }
    return PLUMB_NONE;
}

uint32_t plumb_labels_find(const plumb_labels *l, const char *file, int64_t line,
                           const char *name)
{
    return find_label(l, label_hash(file, line, name), file, line, name);
}

int plumb_labels_intern(plumb_labels *l, const char *file, int64_t line, const char *name,
                        uint32_t *func)
{
    uint64_t h = label_hash(file, line, name);
    uint32_t f = find_label(l, h, file, line, name);
    if (f != PLUMB_NONE) {
        *func = f;
        return PLUMB_OK;
    }
    int rc = PLUMB_GROW(l->funcs, &l->funcs_capacity, (size_t)l->nfuncs + 1, 256,
                        PLUMB_MAX_LABELS);
    if (rc < 0)
        return rc;
    char *file_copy = strdup(file);
    char *name_copy = strdup(name);
    if (!file_copy || !name_copy) {
        free(file_copy);
        free(name_copy);
        return PLUMB_ENOMEM;
    }
    f = l->nfuncs;
    if (plumb_map_get(&l->by_hash, h) == PLUMB_MAP_MISSING
        && plumb_map_put(&l->by_hash, h, f) < 0) {
        free(file_copy);
        free(name_copy);
        return PLUMB_ENOMEM;
    }
    l->funcs[f] = (plumb_func){.file = file_copy, .name = name_copy, .line = line, .hash = h};
    l->nfuncs++;
    *func = f;
    return PLUMB_OK;
}
