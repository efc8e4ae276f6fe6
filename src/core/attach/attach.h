/* Attaching to another process's CPython: finding its interpreter from
 * outside (its memory map, the ELF file holding _PyRuntime, the version,
 * the layout row for that version) and checking what was found before
 * anything uses it.  Reads only: the target is never stopped or written. */
#ifndef PLUMB_ATTACH_H
#define PLUMB_ATTACH_H

#include <stdint.h>

#include "attach/proc_maps.h"
#include "base/errors.h"
#include "sampler/memread.h"
#include "sampler/py_layouts.h"
#include "sampler/pyoffsets.h"

/* Why a target was refused: the kind, for the caller's exception, with a
 * one-line message in the plumb_read_error. */
enum plumb_attach_refusal {
    PLUMB_ATTACH_OK = 0,
    PLUMB_ATTACH_NO_PROCESS,      /* no such process (or it has exited) */
    PLUMB_ATTACH_NOT_PERMITTED,   /* its maps or memory may not be read */
    PLUMB_ATTACH_NOT_PYTHON,      /* no CPython in its memory map */
    PLUMB_ATTACH_UNSUPPORTED,     /* a CPython whose layout plumb does not know */
    PLUMB_ATTACH_NOT_READY,       /* found, but not as a running interpreter */
};

typedef struct plumb_attach_target {
    int pid;
    uint32_t version_hex;         /* PY_VERSION_HEX, or major.minor << 16 */
    const char *version_source;   /* "_Py_DebugOffsets", "Py_Version", ... */
    char binary[PLUMB_MAX_MAP_PATH + 1];   /* the file holding _PyRuntime */
    uintptr_t bias;               /* its load bias */
    uintptr_t runtime;            /* &_PyRuntime in the target */
    uintptr_t interp;             /* the main interpreter */
    plumb_py_layout layout;
    plumb_py_offsets off;         /* for the walker, type addresses filled */
    /* Beyond the stacks (thread names, lines): the version's object row
     * (3.13: with what its _Py_DebugOffsets has), if has_objects, and
     * the types that validate what is read (0 if not found). */
    plumb_py_object_layout objects;
    int has_objects;
    uintptr_t dict_type, long_type, module_type;
} plumb_attach_target;

/* Finds and checks pid's interpreter: PLUMB_OK, or a negative code with
 * *refusal saying why and err the line to show. */
int plumb_attach_find(plumb_attach_target *t, int pid, int *refusal, plumb_read_error *err);

/* The target's GIL holder now: a thread state's address, 0 if none holds
 * it, PLUMB_EFAULT if unreadable. */
int plumb_attach_gil_holder(const plumb_attach_target *t, plumb_memsource *src, uintptr_t *tstate);

/* A thread's kernel state letter ('R' running, 'S' sleeping, ...) from
 * /proc/PID/task/TID/stat; '?' if unknown. */
char plumb_attach_thread_state(int pid, uint64_t tid);

/* Writes "3.12.1" (or "3.12" when only that is known) into out. */
void plumb_attach_version_text(uint32_t version_hex, char *out, size_t size);

#endif
