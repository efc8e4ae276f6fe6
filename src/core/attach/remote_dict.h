/* Dicts of another interpreter, read as untrusted data: entries visited in
 * order, in bounded batches, from the keys object (3.9-3.10: dk_size and
 * its index width; 3.11+: dk_log2_size, dk_log2_index_bytes, dk_kind) and
 * the values (the entries' own, or a split table's), and an object's
 * instance attributes (its dict at tp_dictoffset, or 3.11+'s managed dict
 * and values, inline from 3.13). */
#ifndef PLUMB_REMOTE_DICT_H
#define PLUMB_REMOTE_DICT_H

#include "attach/remote_reader.h"

#define PLUMB_MAX_DICT_ENTRIES 65536   /* entries visited in one dict */

/* Called for each entry with a key and a value: 0 to go on, 1 to stop,
 * or a negative code (returned as is). */
typedef int (*plumb_dict_visitor)(void *ctx, uintptr_t key, uintptr_t value);

/* Visits the dict at addr (its type checked): 0, 1 if a visitor stopped,
 * PLUMB_EFAULT if it cannot be read or makes no sense. */
int plumb_remote_dict_each(const plumb_remote_reader *r, uintptr_t dict, plumb_dict_visitor visit,
                           void *ctx);

/* The value under the str key (compared as UTF-8 text) in the dict at
 * addr: 0 with *value set, PLUMB_EINVAL if the key is not there,
 * PLUMB_EFAULT if the dict cannot be read. */
int plumb_remote_dict_get(const plumb_remote_reader *r, uintptr_t dict, const char *key,
                          uintptr_t *value);

/* The instance attribute named key of the object at obj, as
 * plumb_remote_dict_get. */
int plumb_remote_attribute(const plumb_remote_reader *r, uintptr_t obj, const char *key,
                           uintptr_t *value);

#endif
