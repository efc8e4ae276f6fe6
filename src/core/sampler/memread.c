#define _GNU_SOURCE
#include "sampler/memread.h"

#include <errno.h>
#include <string.h>
#include <sys/uio.h>

#include "base/errors.h"

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

static void empty(plumb_page_cache *c)
{
    for (int i = 0; i < PLUMB_CACHE_PAGES; i++) {
        c->page[i] = 0;
        c->used[i] = 0;
    }
    c->norder = 0;
}

void plumb_page_cache_clear(plumb_page_cache *c)
{
    empty(c);
}

void plumb_page_cache_begin_round(plumb_memreader *r, plumb_page_cache *c)
{
    uintptr_t last[PLUMB_CACHE_PAGES];
    uint32_t n = c->norder;
    memcpy(last, c->order, n * sizeof *last);
    empty(c);
    plumb_memread_prefetch(r, c, last, n, PLUMB_PAGE);
}

static void note_use(plumb_page_cache *c, size_t slot, uintptr_t page)
{
    if (c->used[slot])
        return;
    c->used[slot] = 1;
    if (c->norder < PLUMB_CACHE_PAGES)
        c->order[c->norder++] = page;
}

/* One page, from the cache or read whole.  A page is mapped or not as a
 * whole, so reading all of it is safe whenever any byte of it is readable. */
static const unsigned char *cached_page(plumb_memreader *r, plumb_page_cache *c, uintptr_t page)
{
    size_t slot = (page / PLUMB_PAGE) % PLUMB_CACHE_PAGES;
    if (c->page[slot] == page + 1) {
        c->hits++;
        note_use(c, slot, page);
        return c->data[slot];
    }
    c->misses++;
    /* The slot's page is replaced: it no longer counts as used. */
    c->used[slot] = 0;
    if (plumb_memread(r, page, c->data[slot], PLUMB_PAGE) < 0) {
        c->page[slot] = 0;
        return NULL;
    }
    c->page[slot] = page + 1;
    note_use(c, slot, page);
    return c->data[slot];
}

int plumb_memread_prefetch(plumb_memreader *r, plumb_page_cache *c, const uintptr_t *addr, size_t n,
                           size_t len)
{
    struct iovec local[PLUMB_CACHE_PAGES], remote[PLUMB_CACHE_PAGES];
    size_t slots[PLUMB_CACHE_PAGES], count = 0;
    unsigned char claimed[PLUMB_CACHE_PAGES] = {0};
    if (!c || len == 0)
        return 0;
    for (size_t i = 0; i < n && count < PLUMB_CACHE_PAGES; i++) {
        if (addr[i] == 0 || addr[i] + len < addr[i])
            continue;
        uintptr_t last = (addr[i] + len - 1) & ~(uintptr_t)(PLUMB_PAGE - 1);
        for (uintptr_t page = addr[i] & ~(uintptr_t)(PLUMB_PAGE - 1);
             page <= last && count < PLUMB_CACHE_PAGES; page += PLUMB_PAGE) {
            size_t slot = (page / PLUMB_PAGE) % PLUMB_CACHE_PAGES;
            /* Cached already, or its slot is taken by another page of this
             * batch (that page is read on demand when needed). */
            if (c->page[slot] == page + 1 || claimed[slot])
                continue;
            claimed[slot] = 1;
            c->page[slot] = 0;
            c->used[slot] = 0;
            slots[count] = slot;
            local[count] = (struct iovec){.iov_base = c->data[slot], .iov_len = PLUMB_PAGE};
            remote[count] = (struct iovec){.iov_base = (void *)page, .iov_len = PLUMB_PAGE};
            count++;
        }
    }
    if (count == 0)
        return 0;
    r->reads++;
    ssize_t got = process_vm_readv(r->pid, local, count, remote, count, 0);
    size_t whole = got > 0 ? (size_t)got / PLUMB_PAGE : 0;
    for (size_t i = 0; i < whole; i++)
        c->page[slots[i]] = (uintptr_t)remote[i].iov_base + 1;
    c->misses += count;
    return (int)whole;
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
