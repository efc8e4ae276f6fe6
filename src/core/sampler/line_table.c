#include "sampler/line_table.h"

#include "base/errors.h"

/* 3.9: the line grows by each pair's increment while the address, grown
 * first, stays at or below addr (Objects/lnotab_notes.txt). */
static int lnotab_line(const uint8_t *t, size_t len, int64_t line, int64_t addr, int64_t *out)
{
    int64_t at = 0;
    for (size_t i = 0; i + 1 < len; i += 2) {
        at += t[i];
        if (at > addr)
            break;
        line += (int8_t)t[i + 1];
    }
    *out = line;
    return PLUMB_OK;
}

/* 3.10: each pair is a range of the address delta's bytes; its line is
 * the running line plus the delta, or none for -128 (which leaves the
 * running line as it was). */
static int pep626_line(const uint8_t *t, size_t len, int64_t line, int64_t addr, int64_t *out)
{
    int64_t end = 0;
    for (size_t i = 0; i + 1 < len; i += 2) {
        int64_t start = end;
        end += t[i];
        int delta = (int8_t)t[i + 1];
        int64_t here = -1;
        if (delta != -128) {
            line += delta;
            here = line;
        }
        if (addr >= start && addr < end) {
            *out = here;
            return PLUMB_OK;
        }
    }
    return PLUMB_EFAULT;
}

/* A varint of the location table: 6-bit chunks, least significant first,
 * bit 6 set on all but the last.  At most five chunks (30 bits) are
 * taken; *p is left after the last read. */
static uint32_t varint(const uint8_t *t, size_t len, size_t *p)
{
    uint32_t value = 0;
    for (unsigned shift = 0; *p < len && shift <= 24; shift += 6) {
        uint8_t b = t[(*p)++];
        value |= (uint32_t)(b & 63) << shift;
        if (!(b & 64))
            break;
    }
    return value;
}

static int64_t signed_varint(const uint8_t *t, size_t len, size_t *p)
{
    uint32_t v = varint(t, len, p);
    return v & 1 ? -(int64_t)(v >> 1) : (int64_t)(v >> 1);
}

/* 3.11+: entries, each starting at a byte with bit 7 set, covering
 * (bits 0-2) + 1 code units of 2 bytes.  Codes: 15 no location; 14 long
 * form and 13 no columns, a signed varint line delta first; 10-12 one
 * line, its delta code - 10; 0-9 short forms on the same line
 * (Objects/locations.md). */
static int location_line(const uint8_t *t, size_t len, int64_t line, int64_t addr, int64_t *out)
{
    int64_t end = 0;
    size_t p = 0;
    while (p < len) {
        uint8_t first = t[p];
        if (!(first & 128))
            return PLUMB_EFAULT;   /* not at an entry's start */
        unsigned code = (first >> 3) & 15;
        int64_t start = end;
        end += ((first & 7) + 1) * 2;
        size_t q = p + 1;
        if (code == 13 || code == 14)
            line += signed_varint(t, len, &q);
        else if (code >= 10 && code <= 12)
            line += code - 10;
        if (addr >= start && addr < end) {
            *out = code == 15 ? -1 : line;
            return PLUMB_OK;
        }
        /* The next entry starts at the next byte with bit 7 set. */
        for (p++; p < len && !(t[p] & 128); p++)
            ;
    }
    return PLUMB_EFAULT;
}

int plumb_line_at(int format, const uint8_t *table, size_t len, int64_t first_line, int64_t addr,
                  int64_t *line)
{
    if (addr < 0) {
        *line = first_line;
        return PLUMB_OK;
    }
    switch (format) {
    case PLUMB_LINES_LNOTAB:
        return lnotab_line(table, len, first_line, addr, line);
    case PLUMB_LINES_PEP626:
        return pep626_line(table, len, first_line, addr, line);
    case PLUMB_LINES_LOCATIONS:
        return location_line(table, len, first_line, addr, line);
    default:
        return PLUMB_EFAULT;
    }
}
