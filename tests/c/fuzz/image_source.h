/* A memory source over a byte buffer standing for an address space from
 * a base address, as the fuzz targets and tests of readers of another
 * process's memory give it: a read outside the buffer fails, as a read of
 * an unmapped page would. */
#ifndef PLUMB_TEST_IMAGE_SOURCE_H
#define PLUMB_TEST_IMAGE_SOURCE_H

#include <stdint.h>
#include <string.h>

#include "sampler/memread.h"

typedef struct image_source {
    plumb_memsource base;
    const uint8_t *data;
    size_t size;
    uintptr_t start;      /* the address of data[0] */
} image_source;

static inline size_t image_read(plumb_memsource *self, const plumb_memrange *ranges, size_t n)
{
    image_source *s = (image_source *)self;
    for (size_t i = 0; i < n; i++) {
        uintptr_t a = ranges[i].addr;
        if (a < s->start || a - s->start > s->size || ranges[i].len > s->size - (a - s->start))
            return i;
        memcpy(ranges[i].buf, s->data + (a - s->start), ranges[i].len);
    }
    return n;
}

static inline image_source image_source_of(const uint8_t *data, size_t size, uintptr_t start)
{
    return (image_source){.base = {.read = image_read}, .data = data, .size = size, .start = start};
}

#endif
