#include "formats/marshal_out.h"

#include <string.h>

static void put_u32(FILE *out, uint32_t v)
{
    unsigned char b[4] = {v & 0xff, (v >> 8) & 0xff, (v >> 16) & 0xff, (v >> 24) & 0xff};
    fwrite(b, 1, 4, out);
}

void plumb_marshal_dict_begin(FILE *out) { putc('{', out); }

/* marshal ends a dict with a NULL object, written as '0'. */
void plumb_marshal_dict_end(FILE *out) { putc('0', out); }

void plumb_marshal_tuple(FILE *out, uint32_t size)
{
    if (size < 256) {
        putc(')', out);
        putc((int)size, out);
    } else {
        putc('(', out);
        put_u32(out, size);
    }
}

#define FLAG_REF 0x80

static void write_str(FILE *out, const char *utf8, int flags)
{
    size_t n = strlen(utf8);
    int ascii = 1;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)utf8[i] >= 0x80)
            ascii = 0;
    if (ascii && n < 256) {
        putc('z' | flags, out);
        putc((int)n, out);
    } else {
        putc('u' | flags, out);
        put_u32(out, (uint32_t)n);
    }
    fwrite(utf8, 1, n, out);
}

void plumb_marshal_str(FILE *out, const char *utf8) { write_str(out, utf8, 0); }

int plumb_marshal_str_shared(FILE *out, plumb_string_table *seen, const char *utf8)
{
    uint32_t index;
    int added = plumb_string_table_intern(seen, utf8, &index);
    if (added < 0)
        return added;
    if (added) {   /* the table's indices are the reader's reference numbers */
        write_str(out, utf8, FLAG_REF);
    } else {
        putc('r', out);
        put_u32(out, index);
    }
    return 0;
}

void plumb_marshal_int(FILE *out, int64_t value)
{
    if (value >= INT32_MIN && value <= INT32_MAX) {
        putc('i', out);
        put_u32(out, (uint32_t)(int32_t)value);
        return;
    }
    /* Larger ints: 'l', a signed count of 15-bit digits, the digits. */
    uint64_t mag = value < 0 ? (uint64_t)0 - (uint64_t)value : (uint64_t)value;
    uint16_t digits[5];
    int n = 0;
    while (mag) {
        digits[n++] = (uint16_t)(mag & 0x7fff);
        mag >>= 15;
    }
    putc('l', out);
    put_u32(out, (uint32_t)(int32_t)(value < 0 ? -n : n));
    for (int i = 0; i < n; i++) {
        putc(digits[i] & 0xff, out);
        putc(digits[i] >> 8, out);
    }
}

void plumb_marshal_float(FILE *out, double value)
{
    unsigned char b[8];
    uint64_t bits;
    memcpy(&bits, &value, 8);
    for (int i = 0; i < 8; i++)
        b[i] = (unsigned char)(bits >> (8 * i));
    putc('g', out);
    fwrite(b, 1, 8, out);
}
