#include "attach/remote_int.h"

#include <string.h>

#include "base/errors.h"

#define MAX_DIGITS 3   /* 64 bits in 30-bit digits (and more than enough in 15-bit ones: refused) */

int plumb_remote_uint64(const plumb_remote_reader *r, uintptr_t addr, uint64_t *value)
{
    const plumb_py_object_layout *l = r->objects;
    unsigned char head[64];
    uintptr_t type;
    if (!addr || !r->long_type || r->off->object_type + 8 > r->objects->long_digits
        || plumb_memread_cached(r->source, r->cache, addr, head, (size_t)l->long_digits) < 0)
        return PLUMB_EFAULT;
    memcpy(&type, head + r->off->object_type, sizeof type);
    if (type != r->long_type)
        return PLUMB_EFAULT;
    int64_t size;
    memcpy(&size, head + l->long_size, sizeof size);
    uint64_t ndigits;
    if (l->long_tag_bits > 0) {
        /* 3.12+: sign in the low two bits (0 positive, 1 zero, 2 negative). */
        uint64_t tag = (uint64_t)size;
        if ((tag & 3) == 2)
            return PLUMB_EFAULT;
        ndigits = tag >> l->long_tag_bits;
    } else {
        if (size < 0)
            return PLUMB_EFAULT;
        ndigits = (uint64_t)size;
    }
    if (ndigits > MAX_DIGITS)
        return PLUMB_EFAULT;
    uint32_t digits[MAX_DIGITS] = {0};
    if (ndigits && plumb_memread_cached(r->source, r->cache, addr + (uintptr_t)l->long_digits,
                                        digits, (size_t)ndigits * 4) < 0)
        return PLUMB_EFAULT;
    uint64_t v = 0;
    for (uint64_t i = ndigits; i-- > 0;) {
        if (digits[i] >> l->long_shift)
            return PLUMB_EFAULT;   /* no digit holds more than its bits */
        uint64_t shifted = v << l->long_shift;
        if (shifted >> l->long_shift != v)
            return PLUMB_EFAULT;   /* more than 64 bits */
        v = shifted | digits[i];
    }
    *value = v;
    return PLUMB_OK;
}
