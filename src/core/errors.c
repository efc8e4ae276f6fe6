#include "errors.h"

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
