/* Strings stored once, for the writers whose formats keep a string table
 * (pprof, plumb's JSON): each distinct string gets the next index.  Open
 * addressing on the whole string (not on a hash alone), so colliding
 * names cost a probe, not a scan. */
#ifndef PLUMB_STRING_TABLE_H
#define PLUMB_STRING_TABLE_H

#include <stddef.h>
#include <stdint.h>

typedef struct plumb_string_table {
    char **strs;          /* copies, in index order */
    uint32_t n, cap;
    uint32_t *slots;      /* index + 1; 0 is empty */
    size_t mask;
} plumb_string_table;

/* s's index in *index: 1 if s was added, 0 if it was there, or
 * PLUMB_ENOMEM / PLUMB_ELIMIT. */
int plumb_string_table_intern(plumb_string_table *t, const char *s, uint32_t *index);
void plumb_string_table_free(plumb_string_table *t);

/* The slots a lookup of s examines, for the tests (base/map.h's probes). */
size_t plumb_string_table_probes(const plumb_string_table *t, const char *s);

#endif
