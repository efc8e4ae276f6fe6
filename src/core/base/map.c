#include "base/map.h"

#include <stdlib.h>

#include "base/errors.h"

int plumb_map_init(plumb_map *m, size_t capacity)
{
    size_t cap = 16;
    while (cap < capacity)
        cap *= 2;
    m->slots = calloc(cap, sizeof *m->slots);
    if (!m->slots)
        return PLUMB_ENOMEM;
    m->mask = cap - 1;
    m->count = 0;
    return PLUMB_OK;
}

void plumb_map_free(plumb_map *m)
{
    free(m->slots);
    m->slots = NULL;
    m->mask = 0;
    m->count = 0;
}

static void insert_slot(plumb_map_slot *slots, size_t mask, uint64_t key, uint32_t value)
{
    size_t i = plumb_map_home(key, mask);
    while (slots[i].key != 0 && slots[i].key != key)
        i = (i + 1) & mask;
    slots[i].key = key;
    slots[i].value = value;
}

static int grow(plumb_map *m)
{
    size_t old_cap = m->mask + 1;
    size_t cap = old_cap * 2;
    plumb_map_slot *slots = calloc(cap, sizeof *slots);
    if (!slots)
        return PLUMB_ENOMEM;
    for (size_t i = 0; i < old_cap; i++)
        if (m->slots[i].key != 0)
            insert_slot(slots, cap - 1, m->slots[i].key, m->slots[i].value);
    free(m->slots);
    m->slots = slots;
    m->mask = cap - 1;
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
    size_t i = plumb_map_home(key, m->mask);
    while (m->slots[i].key != 0 && m->slots[i].key != key)
        i = (i + 1) & m->mask;
    if (m->slots[i].key == 0)
        m->count++;
    m->slots[i].key = key;
    m->slots[i].value = value;
    return PLUMB_OK;
}
