#include "base/map.h"

#include <stdlib.h>
#include <string.h>

#include "base/errors.h"
#include "base/hash.h"

static unsigned log2_of(size_t cap)
{
    unsigned l = 0;
    while (((size_t)1 << l) < cap)
        l++;
    return l;
}

int plumb_map_init(plumb_map *m, size_t capacity)
{
    size_t cap = 16;
    while (cap < capacity && cap <= SIZE_MAX / 4 / sizeof *m->slots)
        cap *= 2;
    m->slots = calloc(cap, sizeof *m->slots);
    if (!m->slots)
        return PLUMB_ENOMEM;
    m->mask = cap - 1;
    m->count = 0;
    m->multiplier = plumb_hash_multiplier();
    m->shift = 64 - log2_of(cap);
    return PLUMB_OK;
}

void plumb_map_free(plumb_map *m)
{
    free(m->slots);
    m->slots = NULL;
    m->mask = 0;
    m->count = 0;
}

void plumb_map_clear(plumb_map *m)
{
    if (m->slots)
        memset(m->slots, 0, (m->mask + 1) * sizeof *m->slots);
    m->count = 0;
}

static int grow(plumb_map *m)
{
    size_t old_cap = m->mask + 1;
    if (old_cap > SIZE_MAX / 2 / sizeof *m->slots)
        return PLUMB_ELIMIT;
    size_t cap = old_cap * 2;
    plumb_map_slot *old = m->slots;
    plumb_map_slot *slots = calloc(cap, sizeof *slots);
    if (!slots)
        return PLUMB_ENOMEM;
    m->slots = slots;
    m->mask = cap - 1;
    m->shift--;
    for (size_t i = 0; i < old_cap; i++) {
        if (old[i].key == 0)
            continue;
        size_t j = plumb_map_home(m, old[i].key);
        while (slots[j].key != 0)
            j = (j + 1) & m->mask;
        slots[j] = old[i];
    }
    free(old);
    return PLUMB_OK;
}

int plumb_map_put(plumb_map *m, uint64_t key, uint32_t value)
{
    /* Keep the load under one half so that probes stay short. */
    if ((m->count + 1) * 2 > m->mask + 1) {
        int rc = grow(m);
        if (rc < 0)
            return rc;
    }
    size_t i = plumb_map_home(m, key);
    while (m->slots[i].key != 0 && m->slots[i].key != key)
        i = (i + 1) & m->mask;
    if (m->slots[i].key == 0)
        m->count++;
    m->slots[i].key = key;
    m->slots[i].value = value;
    return PLUMB_OK;
}

size_t plumb_map_probes(const plumb_map *m, uint64_t key)
{
    size_t n = 1;
    for (size_t i = plumb_map_home(m, key); m->slots[i].key != key && m->slots[i].key != 0;
         i = (i + 1) & m->mask)
        n++;
    return n;
}
