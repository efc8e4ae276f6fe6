/* Reading an interpreter's memory: this process's or, later, another's.
 * Everything the sampler learns about a running program goes through
 * plumb_memread, which never faults: a frame freed under the reader's feet
 * is an error code, not a crash.  On Linux it is process_vm_readv, which a
 * process may always use on itself. */
#ifndef PLUMB_MEMREAD_H
#define PLUMB_MEMREAD_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct plumb_memreader {
    pid_t pid;
    uint64_t reads;       /* system calls made, for the benchmark */
} plumb_memreader;

void plumb_memreader_init(plumb_memreader *r, pid_t pid);

/* Copies len bytes at addr into buf: 0, or PLUMB_EFAULT if any byte could
 * not be read. */
int plumb_memread(plumb_memreader *r, uintptr_t addr, void *buf, size_t len);

/* A per-round cache of whole pages.  A sampling round reads a thread's
 * frames (contiguous in its data stack from 3.11), then the same few code
 * objects and names again and again: reading each page once per round turns
 * dozens of system calls into a few.  Pages are direct-mapped; the cache is
 * emptied at the start of each round, so nothing read is older than the
 * round. */
#define PLUMB_PAGE 4096
#define PLUMB_CACHE_PAGES 64

typedef struct plumb_page_cache {
    uintptr_t page[PLUMB_CACHE_PAGES];     /* page address + 1; 0 = empty */
    unsigned char data[PLUMB_CACHE_PAGES][PLUMB_PAGE];
    uint64_t hits, misses;
} plumb_page_cache;

void plumb_page_cache_clear(plumb_page_cache *c);

/* Reads into the cache, in one system call, every page that holds a byte
 * of [addr[i], addr[i] + len) and is not cached yet: a stack's code objects
 * lie on pages of their own, and fetching them together costs one call
 * instead of one per page.  Best effort: a page that cannot be read, and
 * every page after it in the call, is left out and read (or found
 * unreadable) on demand.  Returns the pages fetched. */
int plumb_memread_prefetch(plumb_memreader *r, plumb_page_cache *c, const uintptr_t *addr, size_t n,
                           size_t len);

/* Like plumb_memread, through the cache (c may be NULL). */
int plumb_memread_cached(plumb_memreader *r, plumb_page_cache *c, uintptr_t addr, void *buf,
                         size_t len);

#endif
