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

/* Several reads in one system call; 0 only if all succeeded whole. */
int plumb_memread_many(plumb_memreader *r, const uintptr_t *addrs, void *const *bufs,
                       const size_t *lens, size_t n);

static inline int plumb_memread_ptr(plumb_memreader *r, uintptr_t addr, uintptr_t *out)
{
    return plumb_memread(r, addr, out, sizeof *out);
}

#endif
