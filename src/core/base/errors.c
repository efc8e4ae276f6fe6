#include "base/errors.h"

#include <stdio.h>

const char *plumb_strerror(int code)
{
    switch (code) {
    case PLUMB_OK: return "success";
    case PLUMB_ENOMEM: return "out of memory";
    case PLUMB_EIO: return "input/output error";
    case PLUMB_EINVAL: return "invalid argument";
    case PLUMB_ELIMIT: return "limit reached";
    case PLUMB_EFAULT: return "unreadable or invalid memory";
    case PLUMB_EFORMAT: return "not a valid file of its format";
    }
    return "unknown error";
}

int plumb_read_fail(plumb_read_error *err, const char *where, size_t at, const char *what)
{
    if (err && where)
        snprintf(err->message, sizeof err->message, "%s %zu: %s", where, at, what);
    else if (err)
        snprintf(err->message, sizeof err->message, "%s", what);
    return PLUMB_EFORMAT;
}
