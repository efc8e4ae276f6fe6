/* What each thread is doing, as a 64-bit tag the program sets on itself (a
 * request's id; 0 = nothing), read by the sampler thread for every stack it
 * samples, so that a sample says which request it was taken in.
 *
 * A process-wide table of (thread id, tag) slots, where thread id is
 * pthread_self(), the value CPython keeps as a thread state's thread_id.
 * Each thread writes only its own slot, found on its first write and
 * cached in a _Thread_local, so a write is a load and a store: the program
 * sets a tag around every step of an asyncio task.  The sampler reads a
 * thread's slot by its id without a lock.
 *
 * Bounded: at most PLUMB_THREAD_TAG_SLOTS threads at once hold a slot, and
 * a thread's is one of the few next to its id's hash, so that a lookup
 * reads a bounded number of slots.  A thread that finds none free there
 * (the table full, or crowded) keeps its tag to itself for its life
 * (plumb_thread_tag still returns it) and the sampler sees 0 for it; each
 * such write is counted in plumb_thread_tags_lost.  Nothing is allocated
 * after a thread's first write.  A thread's slot is given up when it ends
 * (a pthread key's destructor), so the table holds the threads alive, not
 * every thread that ever was.
 *
 * pthread ids are reused: glibc's id is the address of the thread's
 * control block, at the top of its stack, and a joined thread's stack is
 * cached for the next thread.  A slot is keyed by id, so a new thread with
 * the id of one that ended would inherit its slot, and the sampler would
 * see the dead thread's tag under the new one's stack until the new one
 * first set a tag.  That cannot happen: a thread's destructor clears its
 * tag and frees its slot before the thread's stack (and so its id) can be
 * reused.  (Without it, a stale tag would be a mislabelled sample of a
 * thread that never tagged itself.)
 *
 * Across fork the child inherits the table, but only the forking thread
 * exists in it, and new threads in the child get ids (stacks) of the
 * parent's other threads.  A pthread_atfork child handler frees every slot
 * but the forking thread's, whose _Thread_local cache stays valid (the
 * table is at the same address in the child). */
#ifndef PLUMB_THREAD_TAGS_H
#define PLUMB_THREAD_TAGS_H

#include <stdint.h>

#define PLUMB_THREAD_TAG_SLOTS 4096   /* a power of two */

/* Sets the calling thread's tag; returns the one it replaces. */
uint64_t plumb_thread_tag_set(uint64_t tag);

/* The calling thread's tag (0 if it never set one). */
uint64_t plumb_thread_tag(void);

/* The tag of the thread whose pthread_self() is thread_id, as its last
 * write left it (0 if it has none); callable from any thread, lock-free. */
uint64_t plumb_thread_tag_of(uint64_t thread_id);

/* Writes of threads that found the table full, since the process started. */
uint64_t plumb_thread_tags_lost(void);

/* Slots held now (for tests: threads that ended give theirs up). */
uint32_t plumb_thread_tags_held(void);

#endif
