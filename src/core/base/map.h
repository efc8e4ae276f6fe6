/* An open-addressing hash map from non-zero 64-bit keys to 32-bit values.
 * The tracer looks up a function by its key (a code object's address) on
 * every call, so lookup is inline and touches one cache line in the common
 * case; cProfile's rotating tree costs a pointer chase per level.
 *
 * Keys are not always the process's own: the readers index ids taken from
 * files (pprof's function and location ids), which a fixed multiplier
 * would let a file choose so that all land in one slot.  The multiplier is
 * random per process (base/hash.h), and multiply-shift with a random odd
 * multiplier is a universal family: two keys share a home with chance
 * 2 / capacity whatever they are.  It costs what Fibonacci hashing did,
 * one multiplication and a shift. */
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
    uint64_t multiplier;  /* odd, the process's (plumb_hash_multiplier) */
    unsigned shift;       /* 64 - log2(capacity): the product's top bits are the home */
} plumb_map;

static inline size_t plumb_map_home(const plumb_map *m, uint64_t key)
{
    /* The top bits of the product depend on every bit of the key, so
     * aligned addresses spread as well as any. */
    return (size_t)((key * m->multiplier) >> m->shift);
}

static inline uint32_t plumb_map_get(const plumb_map *m, uint64_t key)
{
    size_t i = plumb_map_home(m, key);
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
/* Empties the map, keeping its capacity. */
void plumb_map_clear(plumb_map *m);
/* Adds or replaces key's value.  Returns 0 or PLUMB_ENOMEM. */
int plumb_map_put(plumb_map *m, uint64_t key, uint32_t value);

/* The slots a lookup of key examines (to find it, or the empty slot that
 * says it is missing): the cost the tests hold down, counted rather than
 * timed so that they are deterministic. */
size_t plumb_map_probes(const plumb_map *m, uint64_t key);

#endif
