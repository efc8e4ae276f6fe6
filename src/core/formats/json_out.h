/* The little JSON a writer needs: strings with proper escaping, and
 * numbers that are always valid JSON. */
#ifndef PLUMB_JSON_OUT_H
#define PLUMB_JSON_OUT_H

#include <stdio.h>

/* A JSON string, quotes included.  UTF-8 passes through unchanged; '"',
 * '\\' and control characters are escaped. */
void plumb_json_str(FILE *out, const char *utf8);

/* A JSON number; NaN and infinities, which JSON cannot spell, become 0. */
void plumb_json_num(FILE *out, double value);

#endif
