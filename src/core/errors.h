/* The core's one error convention: functions return 0 on success or a
 * negative plumb_error code.  The CPython binding turns codes into
 * exceptions; nothing in the core knows about Python. */
#ifndef PLUMB_ERRORS_H
#define PLUMB_ERRORS_H

enum plumb_error {
    PLUMB_OK = 0,
    PLUMB_ENOMEM = -1,   /* an allocation failed */
    PLUMB_EIO = -2,      /* writing or reading a file failed; errno says why */
    PLUMB_EINVAL = -3,   /* an argument or the state does not allow this */
    PLUMB_ELIMIT = -4,   /* a fixed bound (table size, depth) was reached */
    PLUMB_EFAULT = -5,   /* memory that could not be read, or read as nonsense */
};

/* A short English description of a code, for error messages. */
const char *plumb_strerror(int code);

#endif
