/* Every thread's stack of another process now, read once (plumb dump):
 * the walker's read of each thread (torn reads read again, as when
 * sampling), with what the kernel and the interpreter say of the thread:
 * its kernel id, its name in threading (thread_names.h), whether it holds
 * the GIL, its scheduler state. */
#ifndef PLUMB_THREAD_DUMP_H
#define PLUMB_THREAD_DUMP_H

#include <stdint.h>

#include "attach/attach.h"
#include "model/labels.h"

typedef struct plumb_dumped_thread {
    uint64_t thread_id;           /* threading.get_ident() in the target */
    uint64_t native_id;           /* kernel tid; 0 if not found */
    char *name;                   /* threading's name (UTF-8); NULL if not read */
    int holds_gil;                /* 1, 0, or -1 if unknown */
    char state;                   /* 'R', 'S', 'D', ... ; '?' if unknown */
    int truncated;                /* deeper than PLUMB_MAX_SAMPLE_DEPTH */
    uint32_t depth;
    uint32_t *funcs;              /* labels in names, outermost first */
    int64_t *lines;               /* each frame's current line, or its function's first */
    uint32_t lines_read;          /* frames whose current line was read */
} plumb_dumped_thread;

typedef struct plumb_thread_dump {
    plumb_labels names;
    plumb_dumped_thread *threads;
    uint32_t count, capacity;
    uint64_t failed;              /* threads whose stack could not be read */
    int names_read;               /* 0, or why threading's names were not read */
} plumb_thread_dump;

/* Reads t's threads into out (initialised here): 0, PLUMB_ENOMEM, or
 * PLUMB_EFAULT when the thread list itself could not be read (the target
 * exited). */
int plumb_attach_dump(const plumb_attach_target *t, plumb_thread_dump *out);
void plumb_thread_dump_free(plumb_thread_dump *d);

#endif
