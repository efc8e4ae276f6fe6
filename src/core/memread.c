#define _GNU_SOURCE
#include "memread.h"

#include <errno.h>
#include <sys/uio.h>

#include "errors.h"

void plumb_memreader_init(plumb_memreader *r, pid_t pid)
{
    r->pid = pid;
    r->reads = 0;
}

int plumb_memread(plumb_memreader *r, uintptr_t addr, void *buf, size_t len)
{
    if (addr == 0 || len == 0)
        return addr == 0 ? PLUMB_EFAULT : PLUMB_OK;
    struct iovec local = {.iov_base = buf, .iov_len = len};
    struct iovec remote = {.iov_base = (void *)addr, .iov_len = len};
    r->reads++;
    ssize_t n = process_vm_readv(r->pid, &local, 1, &remote, 1, 0);
    return n == (ssize_t)len ? PLUMB_OK : PLUMB_EFAULT;
}

int plumb_memread_many(plumb_memreader *r, const uintptr_t *addrs, void *const *bufs,
                       const size_t *lens, size_t n)
{
    enum { BATCH = 64 };
    struct iovec local[BATCH], remote[BATCH];
    for (size_t start = 0; start < n; start += BATCH) {
        size_t count = n - start < BATCH ? n - start : BATCH;
        size_t total = 0;
        for (size_t i = 0; i < count; i++) {
            if (addrs[start + i] == 0)
                return PLUMB_EFAULT;
            local[i] = (struct iovec){.iov_base = bufs[start + i], .iov_len = lens[start + i]};
            remote[i] = (struct iovec){.iov_base = (void *)addrs[start + i], .iov_len = lens[start + i]};
            total += lens[start + i];
        }
        r->reads++;
        ssize_t got = process_vm_readv(r->pid, local, count, remote, count, 0);
        if (got != (ssize_t)total)
            return PLUMB_EFAULT;
    }
    return PLUMB_OK;
}
