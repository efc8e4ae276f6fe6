/* A str object of an interpreter's memory (this process's or another's),
 * read as untrusted data: its type checked against PyUnicode_Type, only
 * compact strings accepted, the text cut at a bound and written as UTF-8.
 * The walker reads function and file names with it, attach threads'
 * names and dict keys. */
#ifndef PLUMB_REMOTE_STR_H
#define PLUMB_REMOTE_STR_H

#include <stddef.h>
#include <stdint.h>

#include "sampler/memread.h"
#include "sampler/pyoffsets.h"

#define PLUMB_MAX_NAME 1024   /* characters of a name kept */

/* The bytes out must have for a string of max_chars characters. */
#define PLUMB_STR_BUFFER(max_chars) ((max_chars) * 4 + 8)

/* The str at addr as UTF-8 in out (NUL-terminated), cut at max_chars
 * characters (at most PLUMB_MAX_NAME) or where out is full: 0, or
 * PLUMB_EFAULT if it is unreadable or no compact str.  *length (if not
 * NULL) is the string's whole length in characters. */
int plumb_remote_str(plumb_memsource *src, plumb_page_cache *cache, const plumb_py_offsets *o,
                     uintptr_t addr, uint32_t max_chars, char *out, size_t out_size,
                     int64_t *length);

#endif
