/* Reading JSON from untrusted bytes (RFC 8259), for the speedscope reader.
 * The whole text becomes a flat array of nodes that point into it; nesting
 * is limited to PLUMB_JSON_MAX_DEPTH and the node count by the text's
 * length, so no input makes it recurse deep or allocate without bound. */
#ifndef PLUMB_JSON_IN_H
#define PLUMB_JSON_IN_H

#include <stddef.h>
#include <stdint.h>

#include "base/errors.h"

#define PLUMB_JSON_MAX_DEPTH 256
#define PLUMB_JSON_NONE UINT32_MAX

enum plumb_json_kind {
    PLUMB_JSON_NULL,
    PLUMB_JSON_FALSE,
    PLUMB_JSON_TRUE,
    PLUMB_JSON_NUMBER,
    PLUMB_JSON_STRING,
    PLUMB_JSON_ARRAY,
    PLUMB_JSON_OBJECT,
};

typedef struct plumb_json_node {
    uint8_t kind;
    uint32_t start, len;   /* the text: a number's, or a string's between its quotes */
    uint32_t first;        /* first child (an object's are key, value, key, ...) */
    uint32_t next;         /* next sibling */
    uint32_t count;        /* children */
} plumb_json_node;

typedef struct plumb_json {
    const char *text;
    plumb_json_node *nodes;
    uint32_t n, cap;
} plumb_json;

/* Parses text[0..len); node 0 is the root.  0, PLUMB_ENOMEM, or
 * PLUMB_EFORMAT with "at byte N: why" in *err. */
int plumb_json_parse(plumb_json *j, const char *text, size_t len, plumb_read_error *err);
void plumb_json_free(plumb_json *j);

/* The value of an object's member key, or PLUMB_JSON_NONE. */
uint32_t plumb_json_member(const plumb_json *j, uint32_t object, const char *key);

/* A string node's text, unescaped to UTF-8 and NUL-terminated in out
 * (cut to size - 1 bytes): its length, or -1 if the node is no string or
 * holds a NUL (\u0000). */
long plumb_json_string(const plumb_json *j, uint32_t node, char *out, size_t size);

/* A number node's value: 0, or -1 if the node is no number. */
int plumb_json_number(const plumb_json *j, uint32_t node, double *v);

#endif
