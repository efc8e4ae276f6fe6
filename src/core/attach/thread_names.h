/* The threading module's names of another interpreter's threads: on
 * 3.9-3.13 they are only in Python objects, sys.modules['threading']
 * ._active (ident -> Thread), each Thread's _name in its instance
 * attributes.  Read as untrusted data (remote_dict.h, remote_int.h):
 * whatever cannot be read leaves that thread, or every thread, without a
 * name, never fails the dump. */
#ifndef PLUMB_THREAD_NAMES_H
#define PLUMB_THREAD_NAMES_H

#include "attach/remote_reader.h"
#include "sampler/remote_str.h"

#define PLUMB_MAX_THREAD_NAME 256   /* characters of a thread's name kept */

typedef struct plumb_thread_name {
    uint64_t ident;                 /* threading.get_ident() */
    char name[PLUMB_STR_BUFFER(PLUMB_MAX_THREAD_NAME)];
} plumb_thread_name;

typedef struct plumb_thread_names {
    plumb_thread_name *items;
    uint32_t count, capacity;
} plumb_thread_names;

/* Fills out (initialised here) from the interpreter at interp: 0 (some
 * threads may have no entry), PLUMB_EINVAL if threading is not imported
 * there, PLUMB_EFAULT if what leads to it cannot be read, PLUMB_ENOMEM. */
int plumb_read_thread_names(const plumb_remote_reader *r, uintptr_t interp, plumb_thread_names *out);

/* The name read for ident, or NULL. */
const char *plumb_thread_name_of(const plumb_thread_names *names, uint64_t ident);

void plumb_thread_names_free(plumb_thread_names *names);

#endif
