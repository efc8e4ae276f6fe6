#define _GNU_SOURCE
#include "memread.h"

#include <errno.h>
#include <string.h>
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

void plumb_page_cache_clear(plumb_page_cache *c)
{
    for (int i = 0; i < PLUMB_CACHE_PAGES; i++)
        c->page[i] = 0;
}

/* One page, from the cache or read whole.  A page is mapped or not as a
 * whole, so reading all of it is safe whenever any byte of it is readable. */
static const unsigned char *cached_page(plumb_memreader *r, plumb_page_cache *c, uintptr_t page)
{
    size_t slot = (page / PLUMB_PAGE) % PLUMB_CACHE_PAGES;
    if (c->page[slot] == page + 1) {
        c->hits++;
        return c->data[slot];
    }
    c->misses++;
    if (plumb_memread(r, page, c->data[slot], PLUMB_PAGE) < 0) {
        c->page[slot] = 0;
        return NULL;
    }
    c->page[slot] = page + 1;
    return c->data[slot];
}

int plumb_memread_cached(plumb_memreader *r, plumb_page_cache *c, uintptr_t addr, void *buf,
                         size_t len)
{
    if (!c)
        return plumb_memread(r, addr, buf, len);
    if (addr == 0 || addr + len < addr)
        return PLUMB_EFAULT;
    unsigned char *out = buf;
    while (len > 0) {
        uintptr_t page = addr & ~(uintptr_t)(PLUMB_PAGE - 1);
        size_t off = addr - page, n = PLUMB_PAGE - off < len ? PLUMB_PAGE - off : len;
        const unsigned char *data = cached_page(r, c, page);
        if (!data)
            return PLUMB_EFAULT;
        memcpy(out, data + off, n);
        out += n;
        addr += n;
        len -= n;
    }
    return PLUMB_OK;
}
