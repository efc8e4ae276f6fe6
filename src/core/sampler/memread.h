/* Reading an interpreter's memory: this process's or, later, another's.
 * Everything the sampler learns about a running program goes through a
 * memory source, which never faults: a frame freed under the reader's feet
 * is an error code, not a crash.
 *
 * Two layers.  A source (plumb_memsource) is one function: read these
 * ranges, in order, in as few system calls as it can.  The walker knows
 * only that interface, so reading another process (attach), a core file,
 * or a test's faulty memory is another source, not another walker.  Above
 * it, the page cache (plumb_page_cache) turns a round's many small reads
 * into a few whole-page batches, whatever the source. */
#ifndef PLUMB_MEMREAD_H
#define PLUMB_MEMREAD_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* len bytes at addr (in the source's address space) into buf (ours). */
typedef struct plumb_memrange {
    uintptr_t addr;
    void *buf;
    size_t len;
} plumb_memrange;

typedef struct plumb_memsource plumb_memsource;
struct plumb_memsource {
    /* Reads ranges[0..n) in order, stopping at the first that cannot be
     * read whole (its buffer is then undefined); returns how many were.
     * Must not fault, whatever the addresses. */
    size_t (*read)(plumb_memsource *self, const plumb_memrange *ranges, size_t n);
    uint64_t reads;       /* system calls made, for the benchmark */
};

/* A process's memory through process_vm_readv: this process's, which a
 * process may always read, or another's given ptrace access (Yama's
 * ptrace_scope, CAP_SYS_PTRACE: see docs on attach). */
typedef struct plumb_process_source {
    plumb_memsource base;     /* first: the source the walker is given */
    pid_t pid;
} plumb_process_source;

void plumb_process_source_init(plumb_process_source *s, pid_t pid);

/* Copies len bytes at addr into buf: 0, or PLUMB_EFAULT if any byte could
 * not be read (address 0 never can). */
int plumb_memread(plumb_memsource *src, uintptr_t addr, void *buf, size_t len);

/* A per-round cache of whole pages.  A sampling round reads a thread's
 * frames (contiguous in its data stack from 3.11), then the same few code
 * objects and names again and again: reading each page once per round turns
 * dozens of system calls into a few.  Pages are direct-mapped; the cache is
 * emptied at the start of each round, so nothing read is older than the
 * round.
 *
 * A round mostly needs the pages the last one used (the interpreter state,
 * the thread states, the top of each data stack, the code objects), so a
 * round starts by reading all of those in one system call, in the order
 * they were first used.  Besides saving calls, this reads a thread's state
 * and its frames within a fraction of a microsecond of each other: the
 * thread runs on meanwhile, and the longer the gap the likelier its frame
 * pointer leads to a frame already popped and overwritten.  256 pages
 * (1 MiB, touched only as used): with 64, four threads serving a Django
 * page (five stacks of 60-80 frames a round) thrashed the direct-mapped
 * slots, 34-59 system calls a round against 16-20, and a round cost
 * 227-331 us of CPU against 194-196 (benchmarks/sampler_rounds.py). */
#define PLUMB_PAGE 4096
#define PLUMB_CACHE_PAGES 256

typedef struct plumb_page_cache {
    uintptr_t page[PLUMB_CACHE_PAGES];     /* page address + 1; 0 = empty */
    unsigned char data[PLUMB_CACHE_PAGES][PLUMB_PAGE];
    unsigned char used[PLUMB_CACHE_PAGES];     /* read from this round */
    uintptr_t order[PLUMB_CACHE_PAGES];        /* pages used this round, first use first */
    uint32_t norder;
    uint64_t hits, misses;
} plumb_page_cache;

/* Empties the cache and forgets which pages were used. */
void plumb_page_cache_clear(plumb_page_cache *c);

/* Starts a round: empties the cache, then reads the pages the round before
 * used, in one call (best effort, as plumb_memread_prefetch). */
void plumb_page_cache_begin_round(plumb_memsource *src, plumb_page_cache *c);

/* Reads into the cache, in one system call, every page that holds a byte
 * of [addr[i], addr[i] + len) and is not cached yet: a stack's code objects
 * lie on pages of their own, and fetching them together costs one call
 * instead of one per page.  Best effort: a page that cannot be read, and
 * every page after it in the call, is left out and read (or found
 * unreadable) on demand.  Returns the pages fetched. */
int plumb_memread_prefetch(plumb_memsource *src, plumb_page_cache *c, const uintptr_t *addr,
                           size_t n, size_t len);

/* Like plumb_memread, through the cache (c may be NULL). */
int plumb_memread_cached(plumb_memsource *src, plumb_page_cache *c, uintptr_t addr, void *buf,
                         size_t len);

#endif
