/* Reading the subset of Python's marshal format that pstats files use, from
 * untrusted bytes: dicts, tuples, str, int (32-bit and long) and float
 * (binary and text), with the reference flags Python's own writer adds.
 *
 * It is a cursor, not a generic decoder: the pstats reader asks for what
 * its schema expects at each position, so nesting is as deep as the schema
 * and no more, and nothing is built but what the schema keeps.  Every length
 * is checked against the bytes left before anything is read or allocated,
 * so a hostile length fails at once; the reference table grows by one entry
 * per object read, so it is bounded by the file's size.
 *
 * References: an object whose type byte carries FLAG_REF (0x80) is given
 * the next index in the order objects begin (a container's index is taken
 * before its contents are read, as marshal does), and `r` + u32 index
 * reuses it.  The table records what each referenced object was, as far as
 * a pstats reader can use it: a number, a string, or a label the reader has
 * already turned into a function.
 *
 * One more thing a pstats file can hold: the profile module labels the
 * code it was given to run (python -m profile's script) ('profile', 0,
 * <code object>), so its name is a marshalled code object, with every
 * constant of the script inside.  plumb_mi_name reads it for its name,
 * file and first line, skipping the rest with plumb_mi_skip: any marshal
 * object, bounded in depth, every length checked, every flagged object
 * given its reference index (later labels refer to strings inside it). */
#ifndef PLUMB_MARSHAL_IN_H
#define PLUMB_MARSHAL_IN_H

#include <stddef.h>
#include <stdint.h>

#include "base/errors.h"

enum plumb_mref_kind {
    PLUMB_MREF_PENDING = 0,   /* reserved by a container not finished, or never usable */
    PLUMB_MREF_INT,
    PLUMB_MREF_FLOAT,
    PLUMB_MREF_STR,
    PLUMB_MREF_LABEL,         /* a (file, line, name) tuple, as a function index */
    PLUMB_MREF_CODE,          /* a code object: its name, file and first line */
    PLUMB_MREF_OTHER,         /* anything else read (bytes, a constant's tuple, ...) */
};

/* A code object's name, file (pointing into the buffer) and first line. */
typedef struct plumb_mi_code {
    const char *name, *file;
    uint32_t name_len, file_len;
    int64_t line;
} plumb_mi_code;

typedef struct plumb_mref {
    uint8_t kind;
    union {
        int64_t i;
        double d;
        struct {
            uint32_t off, len;   /* into the buffer */
        } s;
        uint32_t func;
        struct {
            uint32_t name_off, name_len, file_off, file_len;
            int32_t line;
        } code;
    } v;
} plumb_mref;

typedef struct plumb_marshal_in {
    const unsigned char *buf;
    size_t len, pos;
    plumb_mref *refs;
    uint32_t nrefs, refs_capacity;
    int code_ints;   /* a code object's leading ints: 6 (3.8-3.10), 5 (3.11+), 0 not seen yet */
    plumb_read_error *err;
} plumb_marshal_in;

void plumb_mi_init(plumb_marshal_in *m, const void *buf, size_t len, plumb_read_error *err);
void plumb_mi_free(plumb_marshal_in *m);

/* Records "at byte N: <what>" in the error and returns PLUMB_EFORMAT. */
int plumb_mi_fail(plumb_marshal_in *m, const char *what);

/* An int ('i', 'l' that fits in 64 bits, or a reference to one). */
int plumb_mi_int(plumb_marshal_in *m, int64_t *v);

/* A number as a double: a float ('g', 'f') or an int. */
int plumb_mi_number(plumb_marshal_in *m, double *v);

/* A str: *s points into the buffer (UTF-8, checked, no NUL byte), *n bytes. */
int plumb_mi_str(plumb_marshal_in *m, const char **s, uint32_t *n);

/* A function's name: a str, as plumb_mi_str (then *code is untouched and
 * *is_code 0), or a code object (or a reference to one): *is_code 1 and
 * its name, file and first line in *code. */
int plumb_mi_name(plumb_marshal_in *m, const char **s, uint32_t *n, int *is_code,
                  plumb_mi_code *code);

/* Skips one object of any type marshal writes, nested at most
 * PLUMB_MI_MAX_DEPTH deep. */
#define PLUMB_MI_MAX_DEPTH 100
int plumb_mi_skip(plumb_marshal_in *m);

/* A dict: plumb_mi_dict_begin, then plumb_mi_dict_more before each key
 * (sets *more to 0 at the dict's end marker, which it consumes). */
int plumb_mi_dict_begin(plumb_marshal_in *m);
int plumb_mi_dict_more(plumb_marshal_in *m, int *more);

/* A tuple's header: its size in *n.  If the tuple carries a reference
 * flag, *ref is its index (fill it with plumb_mi_set_label once the
 * contents are read), else UINT32_MAX.  If instead the bytes hold a
 * reference to an earlier label, *label is that function and *n is 0;
 * otherwise *label is UINT32_MAX. */
int plumb_mi_tuple(plumb_marshal_in *m, uint32_t *n, uint32_t *ref, uint32_t *label);
void plumb_mi_set_label(plumb_marshal_in *m, uint32_t ref, uint32_t func);

/* The next type byte without consuming it, flag removed; -1 at the end. */
int plumb_mi_peek(const plumb_marshal_in *m);

#endif
