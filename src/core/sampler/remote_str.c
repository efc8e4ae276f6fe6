#include "sampler/remote_str.h"

#include <string.h>

#include "base/errors.h"

/* Appends s's UTF-8 encoding of code point c. */
static size_t put_utf8(char *s, uint32_t c)
{
    if (c < 0x80) {
        s[0] = (char)c;
        return 1;
    }
    if (c < 0x800) {
        s[0] = (char)(0xc0 | (c >> 6));
        s[1] = (char)(0x80 | (c & 0x3f));
        return 2;
    }
    if (c < 0x10000) {
        s[0] = (char)(0xe0 | (c >> 12));
        s[1] = (char)(0x80 | ((c >> 6) & 0x3f));
        s[2] = (char)(0x80 | (c & 0x3f));
        return 3;
    }
    if (c > 0x10ffff)
        c = 0xfffd;
    s[0] = (char)(0xf0 | (c >> 18));
    s[1] = (char)(0x80 | ((c >> 12) & 0x3f));
    s[2] = (char)(0x80 | ((c >> 6) & 0x3f));
    s[3] = (char)(0x80 | (c & 0x3f));
    return 4;
}

int plumb_remote_str(plumb_memsource *src, plumb_page_cache *cache, const plumb_py_offsets *o,
                     uintptr_t addr, uint32_t max_chars, char *out, size_t out_size,
                     int64_t *length_out)
{
    unsigned char head[PLUMB_MAX_STR_HEADER];
    if (out_size == 0)
        return PLUMB_EINVAL;
    out[0] = 0;
    if (plumb_memread_cached(src, cache, addr, head, (size_t)o->unicode_compact_data) < 0)
        return PLUMB_EFAULT;
    uintptr_t type;
    memcpy(&type, head + o->object_type, sizeof type);
    if (type != o->unicode_type)
        return PLUMB_EFAULT;
    int64_t length;
    memcpy(&length, head + o->unicode_length, sizeof length);
    uint32_t state;
    memcpy(&state, head + o->unicode_state, sizeof state);
    if (length < 0 || !(state >> o->unicode_compact_bit & 1))
        return PLUMB_EFAULT;
    if (length_out)
        *length_out = length;
    if (max_chars > PLUMB_MAX_NAME)
        max_chars = PLUMB_MAX_NAME;
    if (length > max_chars)
        length = max_chars;
    int ascii = state >> o->unicode_ascii_bit & 1;
    unsigned kind = ascii ? 1 : (state >> o->unicode_kind_shift) & 7;
    if (kind != 1 && kind != 2 && kind != 4)
        return PLUMB_EFAULT;
    unsigned char raw[PLUMB_MAX_NAME * 4];
    uintptr_t data = addr + (uintptr_t)(ascii ? o->unicode_ascii_data : o->unicode_compact_data);
    if (length > 0 && plumb_memread_cached(src, cache, data, raw, (size_t)length * kind) < 0)
        return PLUMB_EFAULT;
    size_t n = 0;
    for (int64_t i = 0; i < length && n + 5 < out_size; i++) {
        uint32_t c = kind == 1 ? raw[i]
                   : kind == 2 ? (uint32_t)raw[2 * i] | (uint32_t)raw[2 * i + 1] << 8
                               : (uint32_t)raw[4 * i] | (uint32_t)raw[4 * i + 1] << 8
                                     | (uint32_t)raw[4 * i + 2] << 16 | (uint32_t)raw[4 * i + 3] << 24;
        n += put_utf8(out + n, c);
    }
    out[n] = 0;
    return PLUMB_OK;
}
