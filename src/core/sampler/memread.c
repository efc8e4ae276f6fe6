#define _GNU_SOURCE
#include "sampler/memread.h"

#include <errno.h>
#include <string.h>
#include <sys/uio.h>

#include "base/errors.h"

/* Ranges per process_vm_readv call: the page cache's batches fit in one. */
#define BATCH PLUMB_CACHE_PAGES

static size_t process_read(plumb_memsource *self, const plumb_memrange *ranges, size_t n)
{
    plumb_process_source *s = (plumb_process_source *)self;
    size_t done = 0;
    while (done < n) {
        struct iovec local[BATCH], remote[BATCH];
        size_t count = n - done < BATCH ? n - done : BATCH, want = 0;
        for (size_t i = 0; i < count; i++) {
            const plumb_memrange *r = &ranges[done + i];
            local[i] = (struct iovec){.iov_base = r->buf, .iov_len = r->len};
            remote[i] = (struct iovec){.iov_base = (void *)r->addr, .iov_len = r->len};
            want += r->len;
        }
        self->reads++;
        ssize_t got = process_vm_readv(s->pid, local, count, remote, count, 0);
        /* The kernel never splits a remote range: what it read is whole
         * ranges, in order, up to the first it could not read. */
        size_t left = got > 0 ? (size_t)got : 0;
        for (size_t i = 0; i < count && left >= remote[i].iov_len; i++) {
            left -= remote[i].iov_len;
            done++;
        }
        if ((size_t)(got > 0 ? got : 0) != want)
            break;
    }
    return done;
}

void plumb_process_source_init(plumb_process_source *s, pid_t pid)
{
    s->base = (plumb_memsource){.read = process_read, .reads = 0};
    s->pid = pid;
}

int plumb_memread(plumb_memsource *src, uintptr_t addr, void *buf, size_t len)
{
    if (addr == 0 || len == 0)
        return addr == 0 ? PLUMB_EFAULT : PLUMB_OK;
    plumb_memrange range = {.addr = addr, .buf = buf, .len = len};
    return src->read(src, &range, 1) == 1 ? PLUMB_OK : PLUMB_EFAULT;
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

void plumb_page_cache_begin_round(plumb_memsource *src, plumb_page_cache *c)
{
    uintptr_t last[PLUMB_CACHE_PAGES];
    uint32_t n = c->norder;
    memcpy(last, c->order, n * sizeof *last);
    empty(c);
    plumb_memread_prefetch(src, c, last, n, PLUMB_PAGE);
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
static const unsigned char *cached_page(plumb_memsource *src, plumb_page_cache *c, uintptr_t page)
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
    if (plumb_memread(src, page, c->data[slot], PLUMB_PAGE) < 0) {
        c->page[slot] = 0;
        return NULL;
    }
    c->page[slot] = page + 1;
    note_use(c, slot, page);
    return c->data[slot];
}

int plumb_memread_prefetch(plumb_memsource *src, plumb_page_cache *c, const uintptr_t *addr,
                           size_t n, size_t len)
{
    plumb_memrange ranges[PLUMB_CACHE_PAGES];
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
            ranges[count] = (plumb_memrange){.addr = page, .buf = c->data[slot], .len = PLUMB_PAGE};
            count++;
        }
    }
    if (count == 0)
        return 0;
    size_t whole = src->read(src, ranges, count);
    for (size_t i = 0; i < whole; i++)
        c->page[slots[i]] = ranges[i].addr + 1;
    c->misses += count;
    return (int)whole;
}

int plumb_memread_cached(plumb_memsource *src, plumb_page_cache *c, uintptr_t addr, void *buf,
                         size_t len)
{
    if (!c)
        return plumb_memread(src, addr, buf, len);
    if (addr == 0 || addr + len < addr)
        return PLUMB_EFAULT;
    unsigned char *out = buf;
    while (len > 0) {
        uintptr_t page = addr & ~(uintptr_t)(PLUMB_PAGE - 1);
        size_t off = addr - page, n = PLUMB_PAGE - off < len ? PLUMB_PAGE - off : len;
        const unsigned char *data = cached_page(src, c, page);
        if (!data)
            return PLUMB_EFAULT;
        memcpy(out, data + off, n);
        out += n;
        addr += n;
        len -= n;
    }
    return PLUMB_OK;
}
