/* Writing the subset of Python's marshal format (version 4) that a pstats
 * file uses: dicts, tuples, str, int and float.  Reference flags are never
 * written; marshal.load does not need them. */
#ifndef PLUMB_MARSHAL_OUT_H
#define PLUMB_MARSHAL_OUT_H

#include <stdint.h>
#include <stdio.h>

void plumb_marshal_dict_begin(FILE *out);
void plumb_marshal_dict_end(FILE *out);
void plumb_marshal_tuple(FILE *out, uint32_t size);
void plumb_marshal_str(FILE *out, const char *utf8);
void plumb_marshal_int(FILE *out, int64_t value);
void plumb_marshal_float(FILE *out, double value);

#endif
