/* Growing an array, in one place: every table in the core that grows by
 * doubling goes through here, so the two ways such code goes wrong (a
 * capacity that wraps when doubled, an element count whose byte size
 * overflows size_t, both of which make realloc return a buffer smaller
 * than the code then writes) are checked once, not at each site.  Many
 * tables are sized from untrusted files, so a count near a type's limit is
 * a matter of input, not of memory. */
#ifndef PLUMB_GROW_H
#define PLUMB_GROW_H

#include <stddef.h>
#include <stdint.h>

/* Makes the array at *items_ptr (a T **, passed as void *: its capacity in
 * *capacity elements of elem_size bytes, NULL while 0) hold at least needed
 * elements.  The capacity doubles, from `first` when it is 0, and is
 * clamped to `limit` (the table's own bound: a uint32_t index type, a
 * sentinel value kept out of range).  With zero set, the new elements are
 * zeroed.  Returns 0; PLUMB_ELIMIT if needed exceeds limit or the bytes
 * overflow size_t; PLUMB_ENOMEM if realloc fails.  On failure the array
 * and its capacity are as they were. */
int plumb_grow_size_slow(void *items_ptr, size_t *capacity, size_t needed, size_t elem_size,
                         size_t first, size_t limit, int zero);
int plumb_grow_u32_slow(void *items_ptr, uint32_t *capacity, size_t needed, size_t elem_size,
                        size_t first, size_t limit, int zero);

/* Inline for the common case, where nothing grows: the readers and the
 * tracer ask once per item. */
static inline int plumb_grow_size(void *items_ptr, size_t *capacity, size_t needed,
                                  size_t elem_size, size_t first, size_t limit, int zero)
{
    if (needed <= *capacity)
        return 0;
    return plumb_grow_size_slow(items_ptr, capacity, needed, elem_size, first, limit, zero);
}

/* The same for a uint32_t capacity (limit at most UINT32_MAX). */
static inline int plumb_grow_u32(void *items_ptr, uint32_t *capacity, size_t needed,
                                 size_t elem_size, size_t first, size_t limit, int zero)
{
    if (needed <= *capacity)
        return 0;
    return plumb_grow_u32_slow(items_ptr, capacity, needed, elem_size, first, limit, zero);
}

/* PLUMB_GROW(arr, &cap, needed, first, limit): arr is the array's pointer
 * (an lvalue), cap its capacity (uint32_t or size_t); the element size is
 * taken from arr, so it cannot be the wrong one.  An expression: its value
 * is the return code; it hides no return. */
#define PLUMB_GROW_(items, capacity, needed, first, limit, zero)                          \
    _Generic((capacity), uint32_t *: plumb_grow_u32, size_t *: plumb_grow_size)(         \
        &(items), (capacity), (needed), sizeof *(items), (first), (limit), (zero))
#define PLUMB_GROW(items, capacity, needed, first, limit) \
    PLUMB_GROW_(items, capacity, needed, first, limit, 0)
#define PLUMB_GROW_ZEROED(items, capacity, needed, first, limit) \
    PLUMB_GROW_(items, capacity, needed, first, limit, 1)

#endif
