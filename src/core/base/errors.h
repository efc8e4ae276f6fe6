/* The core's one error convention: functions return 0 on success or a
 * negative plumb_error code.  The CPython binding turns codes into
 * exceptions; nothing in the core knows about Python. */
#ifndef PLUMB_ERRORS_H
#define PLUMB_ERRORS_H

#include <stddef.h>

enum plumb_error {
    PLUMB_OK = 0,
    PLUMB_ENOMEM = -1,   /* an allocation failed */
    PLUMB_EIO = -2,      /* writing or reading a file failed; errno says why */
    PLUMB_EINVAL = -3,   /* an argument or the state does not allow this */
    PLUMB_ELIMIT = -4,   /* a fixed bound (table size, depth) was reached */
    PLUMB_EFAULT = -5,   /* memory that could not be read, or read as nonsense */
    PLUMB_EFORMAT = -6,  /* a file that is not what it should be; a plumb_read_error says why */
};

/* Why a file could not be read: one line naming what is wrong and where
 * (a byte offset or a line number), filled by the readers with
 * PLUMB_EFORMAT. */
typedef struct plumb_read_error {
    char message[200];
} plumb_read_error;

/* Fills err (if not NULL) with "<where> <at>: <what>" ("at byte 12: ...",
 * "line 3: ..."), or just what if where is NULL; returns PLUMB_EFORMAT. */
int plumb_read_fail(plumb_read_error *err, const char *where, size_t at, const char *what);

/* A short English description of a code, for error messages. */
const char *plumb_strerror(int code);

#endif
