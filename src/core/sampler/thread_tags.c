#include "sampler/thread_tags.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>

/* A slot's thread field: 0 while never used (a lookup stops there), FREED
 * once its thread ended (a lookup goes on past it, a claim may take it),
 * else its owner's pthread id (never 0 or ~0: an address). */
#define FREED UINT64_MAX
#define MASK (PLUMB_THREAD_TAG_SLOTS - 1)
/* A thread's slot is one of the PLUMB_THREAD_TAG_PROBES slots from its id's
 * home, so a lookup of a thread that has none (most threads never tag
 * themselves) reads at most that many, however many threads came and went:
 * slots never become 0 again, so without a bound a long-lived process's
 * lookups would end up reading the whole table. */
#define PLUMB_THREAD_TAG_PROBES 64

typedef struct tag_slot {
    _Atomic uint64_t thread;
    _Atomic uint64_t tag;
} tag_slot;

static tag_slot table[PLUMB_THREAD_TAG_SLOTS];
static atomic_ullong lost;

/* The calling thread's slot: NULL before its first write, then a slot of
 * the table or, if the table was full, its own stand-in (thread 0), which
 * the sampler never sees. */
/* Initial-exec, as src/cpython/profiler.c's thread state: in the extension
 * (a shared object) the default model reads them through __tls_get_addr,
 * about 20 instructions, and a request writes its tag several times. */
#define OWN_THREAD_MODEL __attribute__((tls_model("initial-exec")))
static _Thread_local tag_slot *own OWN_THREAD_MODEL;
static _Thread_local tag_slot stand_in OWN_THREAD_MODEL;

static pthread_once_t setup_once = PTHREAD_ONCE_INIT;
static pthread_key_t exit_key;
static int have_exit_key;

/* Memory order.  The tag itself is relaxed: its one writer is its thread,
 * and a 64-bit atomic cannot tear, so the sampler reads either the old tag
 * or the new; which one, for a sample taken at the moment of a change,
 * nothing could decide anyway (the stack was read a moment earlier).
 * Relaxed stores are plain moves, which keeps a write at a load and a
 * store.  The thread field orders a slot's change of owner: a thread that
 * ends clears its tag, then frees the slot with a release store; a new
 * owner's claim (acquire-release compare-exchange) thus comes after that
 * clear, and a reader that loads the new owner's id with acquire cannot
 * then read the old owner's tag.  The reader loads the tag with acquire
 * and the id again: if the slot changed owner in between, the tag may be
 * the new owner's, and it reads 0 instead. */

static void give_up_slot(void *slot)
{
    tag_slot *s = slot;
    atomic_store_explicit(&s->tag, 0, memory_order_relaxed);
    atomic_store_explicit(&s->thread, FREED, memory_order_release);
}

/* In a forked child only the forking thread is left (this one, with its
 * slot): the others' slots are freed before a new thread can take their
 * ids. */
static void forget_parent_threads(void)
{
    for (size_t i = 0; i < PLUMB_THREAD_TAG_SLOTS; i++) {
        tag_slot *s = &table[i];
        if (s == own || atomic_load_explicit(&s->thread, memory_order_relaxed) == 0)
            continue;
        give_up_slot(s);
    }
}

static void setup(void)
{
    have_exit_key = pthread_key_create(&exit_key, give_up_slot) == 0;
    pthread_atfork(NULL, NULL, forget_parent_threads);
}

static size_t home(uint64_t id)
{
    /* Ids are addresses of this process's threads, not chosen by anyone. */
    return (size_t)((id * 0x9E3779B97F4A7C15ull) >> 52) & MASK;
}

/* The first write of a thread: an unused or freed slot near its home. */
static tag_slot *claim(void)
{
    pthread_once(&setup_once, setup);
    uint64_t id = (uint64_t)pthread_self();
    size_t h = home(id);
    /* A thread whose end cannot be seen must not hold a slot: its id's
     * next owner would inherit its tag. */
    for (size_t i = 0; have_exit_key && i < PLUMB_THREAD_TAG_PROBES; i++) {
        tag_slot *s = &table[(h + i) & MASK];
        uint64_t t = atomic_load_explicit(&s->thread, memory_order_relaxed);
        if ((t == 0 || t == FREED)
            && atomic_compare_exchange_strong_explicit(&s->thread, &t, id, memory_order_acq_rel,
                                                       memory_order_relaxed)) {
            if (pthread_setspecific(exit_key, s) == 0)
                return s;
            give_up_slot(s);
            break;
        }
    }
    return &stand_in;
}

uint64_t plumb_thread_tag_set(uint64_t tag)
{
    tag_slot *s = own;
    if (__builtin_expect(s == NULL, 0))
        s = own = claim();
    uint64_t previous = atomic_load_explicit(&s->tag, memory_order_relaxed);
    atomic_store_explicit(&s->tag, tag, memory_order_relaxed);
    if (__builtin_expect(s == &stand_in, 0))
        atomic_fetch_add_explicit(&lost, 1, memory_order_relaxed);
    return previous;
}

uint64_t plumb_thread_tag(void)
{
    tag_slot *s = own;
    return s ? atomic_load_explicit(&s->tag, memory_order_relaxed) : 0;
}

uint64_t plumb_thread_tag_of(uint64_t thread_id)
{
    if (thread_id == 0 || thread_id == FREED)
        return 0;
    size_t h = home(thread_id);
    for (size_t i = 0; i < PLUMB_THREAD_TAG_PROBES; i++) {
        tag_slot *s = &table[(h + i) & MASK];
        uint64_t t = atomic_load_explicit(&s->thread, memory_order_acquire);
        if (t == 0)
            return 0;
        if (t != thread_id)
            continue;
        uint64_t tag = atomic_load_explicit(&s->tag, memory_order_acquire);
        return atomic_load_explicit(&s->thread, memory_order_relaxed) == thread_id ? tag : 0;
    }
    return 0;
}

uint64_t plumb_thread_tags_lost(void)
{
    return atomic_load_explicit(&lost, memory_order_relaxed);
}

uint32_t plumb_thread_tags_held(void)
{
    uint32_t n = 0;
    for (size_t i = 0; i < PLUMB_THREAD_TAG_SLOTS; i++) {
        uint64_t t = atomic_load_explicit(&table[i].thread, memory_order_relaxed);
        n += t != 0 && t != FREED;
    }
    return n;
}
