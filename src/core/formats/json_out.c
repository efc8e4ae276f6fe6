#include "formats/json_out.h"

#include <math.h>

void plumb_json_str(FILE *out, const char *utf8)
{
    putc('"', out);
    for (const unsigned char *p = (const unsigned char *)utf8; *p; p++) {
        switch (*p) {
        case '"': fputs("\\\"", out); break;
        case '\\': fputs("\\\\", out); break;
        case '\n': fputs("\\n", out); break;
        case '\r': fputs("\\r", out); break;
        case '\t': fputs("\\t", out); break;
        default:
            if (*p < 0x20)
                fprintf(out, "\\u%04x", *p);
            else
                putc(*p, out);
        }
    }
    putc('"', out);
}

void plumb_json_num(FILE *out, double value)
{
    /* 15 significant digits: 3 * 0.001 prints as 0.003, not 0.0030000000000000001. */
    if (isfinite(value))
        fprintf(out, "%.15g", value);
    else
        putc('0', out);
}
