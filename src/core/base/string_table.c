#include "base/string_table.h"

#include <stdlib.h>
#include <string.h>

#include "base/errors.h"
#include "base/grow.h"
#include "base/hash.h"

/* Keyed (base/hash.h): the strings are names from profiled programs and
 * read files, and the slot is the hash's low bits, which an unkeyed hash
 * would let a file choose. */
static uint64_t str_hash(const char *s)
{
    return plumb_hash_bytes(s, strlen(s));
}

static int grow_slots(plumb_string_table *t)
{
    if (t->mask > SIZE_MAX / 4 / sizeof *t->slots)
        return PLUMB_ELIMIT;
    size_t cap = t->mask ? (t->mask + 1) * 2 : 1024;
    uint32_t *slots = calloc(cap, sizeof *slots);
    if (!slots)
        return PLUMB_ENOMEM;
    for (uint32_t i = 0; i < t->n; i++) {
        size_t j = str_hash(t->strs[i]) & (cap - 1);
        while (slots[j])
            j = (j + 1) & (cap - 1);
        slots[j] = i + 1;
    }
    free(t->slots);
    t->slots = slots;
    t->mask = cap - 1;
    return PLUMB_OK;
}

int plumb_string_table_intern(plumb_string_table *t, const char *s, uint32_t *index)
{
    /* At most half full, so probes stay short. */
    if ((size_t)(t->n + 1) * 2 > t->mask + 1 && grow_slots(t) < 0)
        return PLUMB_ENOMEM;
    size_t j = str_hash(s) & t->mask;
    for (; t->slots[j]; j = (j + 1) & t->mask) {
        if (strcmp(t->strs[t->slots[j] - 1], s) == 0) {
            *index = t->slots[j] - 1;
            return 0;
        }
    }
    /* Indices + 1 fill the slots, and the slots double with the strings. */
    int rc = PLUMB_GROW(t->strs, &t->cap, (size_t)t->n + 1, 256, UINT32_MAX / 4);
    if (rc < 0)
        return rc;
    char *copy = strdup(s);
    if (!copy)
        return PLUMB_ENOMEM;
    t->strs[t->n] = copy;
    t->slots[j] = ++t->n;
    *index = t->n - 1;
    return 1;
}

size_t plumb_string_table_probes(const plumb_string_table *t, const char *s)
{
    size_t n = 1;
    if (!t->slots)
        return n;
    for (size_t j = str_hash(s) & t->mask;
         t->slots[j] && strcmp(t->strs[t->slots[j] - 1], s) != 0; j = (j + 1) & t->mask)
        n++;
    return n;
}

void plumb_string_table_free(plumb_string_table *t)
{
    for (uint32_t i = 0; i < t->n; i++)
        free(t->strs[i]);
    free(t->strs);
    free(t->slots);
    memset(t, 0, sizeof *t);
}
