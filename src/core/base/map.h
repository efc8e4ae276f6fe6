/* An open-addressing hash map from non-zero 64-bit keys to 32-bit values.
 * The tracer looks up a function by its key (a code object's address) on
 * every call, so lookup is inline and touches one cache line in the common
 * case; cProfile's rotating tree costs a pointer chase per level. */
#ifndef PLUMB_MAP_H
#define PLUMB_MAP_H

#include <stddef.h>
#include <stdint.h>

#define PLUMB_MAP_MISSING UINT32_MAX

typedef struct plumb_map_slot {
    uint64_t key;     /* 0 marks an empty slot */
    uint32_t value;
} plumb_map_slot;

typedef struct plumb_map {
    plumb_map_slot *slots;
    size_t mask;      /* capacity - 1; capacity is a power of two */
    size_t count;
} plumb_map;

static inline size_t plumb_map_home(uint64_t key, size_t mask)
{
    /* Fibonacci hashing: addresses are aligned, so mix the high bits down. */
    return (size_t)((key * 0x9E3779B97F4A7C15ull) >> 29) & mask;
}

static inline uint32_t plumb_map_get(const plumb_map *m, uint64_t key)
{
    size_t i = plumb_map_home(key, m->mask);
    for (;;) {
        const plumb_map_slot *s = &m->slots[i];
        if (s->key == key)
            return s->value;
        if (s->key == 0)
            return PLUMB_MAP_MISSING;
        i = (i + 1) & m->mask;
    }
}

int plumb_map_init(plumb_map *m, size_t capacity);
void plumb_map_free(plumb_map *m);
/* Adds or replaces key's value.  Returns 0 or PLUMB_ENOMEM. */
int plumb_map_put(plumb_map *m, uint64_t key, uint32_t value);

#endif
