#include "base/grow.h"

#include <stdlib.h>
#include <string.h>

#include "base/errors.h"

int plumb_grow_size_slow(void *items_ptr, size_t *capacity, size_t needed, size_t elem_size,
                         size_t first, size_t limit, int zero)
{
    size_t cap = *capacity;
    if (needed <= cap)
        return PLUMB_OK;
    if (elem_size == 0)
        return PLUMB_EINVAL;
    if (needed > limit)
        return PLUMB_ELIMIT;
    size_t n = cap ? cap : first ? first : 1;
    /* Doubling stops at limit rather than wrapping past it. */
    while (n < needed)
        n = n > limit / 2 ? limit : n * 2;
    if (n > limit)
        n = limit;
    if (n > SIZE_MAX / elem_size)
        return PLUMB_ELIMIT;
    /* The caller's pointer is a T *, not a void *: it is copied in and out
     * as bytes, which reads it as what it is (object pointers share one
     * representation on every platform plumb builds for). */
    void *old;
    memcpy(&old, items_ptr, sizeof old);
    unsigned char *grown = realloc(old, n * elem_size);
    if (!grown)
        return PLUMB_ENOMEM;
    if (zero)
        memset(grown + cap * elem_size, 0, (n - cap) * elem_size);
    memcpy(items_ptr, &grown, sizeof grown);
    *capacity = n;
    return PLUMB_OK;
}

int plumb_grow_u32_slow(void *items_ptr, uint32_t *capacity, size_t needed, size_t elem_size,
                        size_t first, size_t limit, int zero)
{
    size_t cap = *capacity;
    int rc = plumb_grow_size_slow(items_ptr, &cap, needed, elem_size, first,
                             limit < UINT32_MAX ? limit : UINT32_MAX, zero);
    if (rc == PLUMB_OK)
        *capacity = (uint32_t)cap;
    return rc;
}
