/* Writing the subset of Python's marshal format (version 4) that a pstats
 * file uses: dicts, tuples, str, int and float.  Strings written with
 * plumb_marshal_str_shared are written once and referred to afterwards
 * (FLAG_REF, then 'r' and the index), as marshal.dump does for the file
 * and function names a pstats file repeats in every label. */
#ifndef PLUMB_MARSHAL_OUT_H
#define PLUMB_MARSHAL_OUT_H

#include <stdint.h>
#include <stdio.h>

#include "base/string_table.h"

void plumb_marshal_dict_begin(FILE *out);
void plumb_marshal_dict_end(FILE *out);
void plumb_marshal_tuple(FILE *out, uint32_t size);
void plumb_marshal_str(FILE *out, const char *utf8);
/* utf8 as a shared string: seen holds the strings written so far and must
 * be the only source of references in the file.  0 or PLUMB_ENOMEM. */
int plumb_marshal_str_shared(FILE *out, plumb_string_table *seen, const char *utf8);
void plumb_marshal_int(FILE *out, int64_t value);
void plumb_marshal_float(FILE *out, double value);

#endif
