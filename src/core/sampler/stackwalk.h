/* Walking an interpreter's threads and frames from its memory, as untrusted
 * data: every pointer is read through a memory source (memread.h: this
 * process or another, the walker cannot tell), every object's type is
 * checked against the interpreter's own type objects, and every loop is
 * bounded (threads, frames, string lengths).  Used by the sampler thread,
 * which holds no lock of the interpreter's, so what it reads may change
 * under it: a torn read yields a failed or odd sample, never a crash. */
#ifndef PLUMB_STACKWALK_H
#define PLUMB_STACKWALK_H

#include <stdint.h>

#include "base/map.h"
#include "sampler/memread.h"
#include "sampler/pyoffsets.h"
#include "sampler/remote_str.h"
#include "model/samples.h"

#define PLUMB_MAX_THREADS 4096
#define PLUMB_TORN_RETRIES 2  /* more reads of a stack found torn */
#define PLUMB_MAX_CHUNKS 256  /* data stack chunks checked per thread */

/* One thread's stack as read: code object addresses, innermost first. */
typedef struct plumb_raw_stack {
    uint64_t thread_id;
    uint64_t native_id;       /* 0 if the interpreter does not record it */
    uintptr_t tstate;         /* the thread state's address */
    uint32_t depth;
    int truncated;            /* deeper than PLUMB_MAX_SAMPLE_DEPTH */
    int unchanged;            /* not read: the check said it is as last visited */
    uintptr_t codes[PLUMB_MAX_SAMPLE_DEPTH];
    /* Each frame's current instruction as read (f_lasti, or the
     * instruction pointer from 3.11), where lines are read (the offsets'
     * bytes_type set); 0 otherwise. */
    uint64_t instrs[PLUMB_MAX_SAMPLE_DEPTH];
} plumb_raw_stack;

/* What a walker's check says of a thread, from its ids alone, before its
 * frames are read: read them; they are unchanged since the visitor last
 * saw them (visit is called with unchanged set and nothing read); or the
 * thread is left out (not visited). */
enum plumb_thread_verdict {
    PLUMB_READ_FRAMES = 0,
    PLUMB_FRAMES_UNCHANGED = 1,
    PLUMB_THREAD_LEFT_OUT = 2,
};
typedef int (*plumb_thread_check)(void *ctx, const plumb_raw_stack *ids);

typedef struct plumb_code_entry {
    uintptr_t code, name, file;
    int64_t line;
    uint32_t func;
} plumb_code_entry;

typedef struct plumb_walker {
    plumb_memsource *source;          /* borrowed; outlives the walker */
    plumb_py_offsets off;
    uintptr_t interp;                 /* the PyInterpreterState to walk */
    plumb_map code_index;             /* code address -> entry */
    plumb_code_entry *codes;
    uint32_t ncodes, codes_capacity;
    plumb_page_cache *cache;          /* per round; NULL reads directly */
    plumb_thread_check check;         /* NULL: every thread's frames are read */
    uint64_t retries;                 /* stacks read again after a torn read */
    /* The thread being read: its data stack chunks [start, end), where
     * every frame but a shim must lie (3.11+); nchunks 0 = not checked. */
    uintptr_t chunk_start[PLUMB_MAX_CHUNKS], chunk_end[PLUMB_MAX_CHUNKS];
    uint32_t nchunks;
    char name_text[PLUMB_STR_BUFFER(PLUMB_MAX_NAME)];   /* scratch for resolve */
    char file_text[PLUMB_STR_BUFFER(PLUMB_MAX_NAME)];
} plumb_walker;

/* Walks the interpreter at interp in source's address space. */
int plumb_walker_init(plumb_walker *w, plumb_memsource *source, const plumb_py_offsets *off,
                      uintptr_t interp);
void plumb_walker_free(plumb_walker *w);

/* Calls visit for each thread state with a Python stack (w->check, if set,
 * is asked first, with the same ctx).  A thread whose
 * stack cannot be read, or reads as no one moment's stack after
 * PLUMB_TORN_RETRIES more tries, is counted in *failed and skipped.  Returns 0, or
 * PLUMB_EFAULT if the thread list itself could not be read. */
typedef int (*plumb_stack_visitor)(void *ctx, plumb_raw_stack *stack);
int plumb_walk_threads(plumb_walker *w, plumb_raw_stack *scratch, plumb_stack_visitor visit,
                       void *ctx, uint64_t *failed);

/* The function (a label in names) of a code object; validated on every
 * call, since a freed code object's address may be reused.  PLUMB_SKIP for
 * the interpreter's shim code, which stacks leave out. */
int plumb_walker_resolve(plumb_walker *w, plumb_labels *names, uintptr_t code, uint32_t *func);

/* The current line of a frame running code at its instruction instr (as
 * read into plumb_raw_stack.instrs), from the code's line table
 * (line_table.h): 0 with *line, or PLUMB_EFAULT (unreadable, no line, or
 * lines not read for this version). */
int plumb_walker_line(plumb_walker *w, uintptr_t code, uint64_t instr, int64_t *line);

/* Forgets which function each code object is: the labels table resolve
 * filled is no longer the one it will be given (a harvest swapped it). */
void plumb_walker_forget_functions(plumb_walker *w);

#endif
