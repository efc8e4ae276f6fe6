/* The deterministic profile: functions, caller->callee edges and what
 * cProfile counts for each, plus the per-thread call stacks that produce the
 * counts.  A function is a label of the profile's label table
 * (model/labels.h), the same kind of table stats and sampled trees name
 * functions with; what only the tracer needs (keys, counts, edges, paths,
 * threads) stays here.  The binding gives each function an opaque key (a
 * code object's or a C method table's address) so that the tracer finds it
 * without looking at names; several keys may share one label and then share
 * one function. */
#ifndef PLUMB_PROFILE_H
#define PLUMB_PROFILE_H

#include <stddef.h>
#include <stdint.h>

#include "base/map.h"
#include "model/labels.h"

/* What cProfile counts for a function, and for each caller->callee edge. */
typedef struct plumb_counts {
    uint64_t calls;           /* every call */
    uint64_t recursive_calls; /* calls made while another activation was live */
    int64_t own;              /* ticks in the body, callees excluded */
    int64_t total;            /* ticks including callees, recursion counted once */
} plumb_counts;

typedef struct plumb_edge {
    uint32_t caller;
    uint32_t callee;
    plumb_counts counts;
} plumb_edge;

/* One call path: func called along one path from its thread's bottom.
 * cProfile keeps only caller->callee edges, from which no tool can tell
 * which of a function's callers its callees' time belongs to; the paths
 * make a report's call tree exact.  A path's parent always has a lower
 * index, so a pass in index order meets parents first. */
typedef struct plumb_path {
    uint32_t parent;          /* PLUMB_NONE for a thread's root (no function) */
    uint32_t func;            /* PLUMB_NONE for a thread's root */
    uint32_t edge;            /* parent's func -> func, PLUMB_NONE if none */
    uint64_t calls;           /* calls along this path that returned */
    int64_t own;              /* ticks in the body along this path */
} plumb_path;

/* Most paths kept; calls along new paths past it are folded into their
 * nearest kept caller (the report says how many).  At 32 bytes a path plus
 * its index, this bounds the tree near 200 MB. */
#ifndef PLUMB_MAX_PATHS            /* tests/c/test_fold.c builds a small one */
#define PLUMB_MAX_PATHS (1u << 22)
#endif
/* Marks a frame's path as its nearest kept caller's (its own was not kept). */
#define PLUMB_PATH_FOLDED (1u << 31)

typedef struct plumb_frame {
    uintptr_t key;
    int64_t start;            /* ticks */
    int64_t children;         /* ticks spent in callees so far */
    uint32_t path;            /* this call's path, or its nearest kept caller's */
    /* Set only while counting per event (plumb_profile.count_per_event);
     * before that the path says them. */
    uint32_t func;
    uint32_t edge;            /* PLUMB_NONE at the bottom of a stack */
    uint8_t outermost_func;   /* no other activation of func below, in this thread */
    uint8_t outermost_edge;
} plumb_frame;

/* One thread's call stack.  The binding finds it per event (a thread-local
 * pointer); the profile owns it.  Recursion is a matter of one thread's
 * stack: a call of f in thread B while thread A is inside f is not
 * recursive, so the live activation counts are kept per thread. */
typedef struct plumb_thread {
    /* frames[0] is the stack's floor, not a call: key 0 (no key's), the
     * root path, no function; its calls are frames[1] up to top.  A call's
     * caller is then always top, with no test for an empty stack. */
    plumb_frame *top;
    plumb_frame *end;         /* frames + capacity: a push at end grows the stack */
    plumb_frame *frames;
    uint32_t capacity;
    int32_t *func_live;       /* activations of each function on this stack */
    int32_t *edge_live;       /* of each edge, at edge + 1: [0] absorbs PLUMB_NONE's
                               * (edge + 1 wraps to 0), so a push needs no branch */
    uint32_t func_live_capacity;
    uint32_t edge_live_capacity;
    uint64_t id;              /* the binding's thread identity, for reports */
    uint32_t root_path;       /* the path under which its bottom calls hang */
    struct plumb_thread *next;
} plumb_thread;

/* The tracer's call cache, direct-mapped, 12 KB so that it stays in L1: it
 * maps (the call's context, the callee's key) to what the call needs, its
 * function, edge and path, so that a hit costs a hash, a load and two
 * compares and no map probe at all.  The context is the caller's path when
 * it is kept; else (paths=False, or folded) the caller's function with
 * PLUMB_PATH_FOLDED set (PLUMB_NONE at the bottom of a stack), and the
 * call's path is then the caller's.  Empty slots hold key 0 (no key is 0). */
#define PLUMB_CALL_CACHE_BITS 9

typedef struct plumb_call_slot {
    uint64_t key;
    uint32_t context;
    uint32_t path;
    uint32_t func;
    uint32_t edge;
} plumb_call_slot;

static inline uint32_t plumb_call_slot_of(uint32_t context, uint64_t key)
{
    /* Fibonacci hashing: the product's top bits, which every bit of the
     * key and the context reaches (a key's low bits, always 0 in an
     * aligned address, cost nothing), so that consecutive paths (as
     * recursion makes them) land far apart. */
    return (uint32_t)((key ^ ((uint64_t)context << 24)) * 0x9E3779B97F4A7C15ull
                      >> (64 - PLUMB_CALL_CACHE_BITS));
}

typedef struct plumb_profile {
    plumb_labels labels;      /* the functions */
    /* Per function, grown with labels (never behind them) by the
     * functions below, which are the only way functions are added.  Up to
     * date only after plumb_profile_sync_counts, as are the edges' counts. */
    plumb_counts *func_counts;
    uint32_t counts_capacity;

    plumb_edge *edges;
    uint32_t nedges, edges_capacity;

    plumb_map by_key;         /* key -> function */
    plumb_map by_edge;        /* (caller+1)<<32 | callee -> edge */

    plumb_path *paths;
    uint32_t npaths, paths_capacity;
    plumb_map by_path;        /* (parent+1)<<32 | func -> path */

    plumb_call_slot call_cache[1u << PLUMB_CALL_CACHE_BITS];

    plumb_thread *threads;
    /* 0 while every call's path is kept: calls count only on their paths,
     * and the function and edge counts are derived from them.  1 once a
     * path could not be kept (or paths are off): each call counts its
     * function and edge too, from then on (plumb_profile_count_per_event). */
    int count_per_event;
    int track_edges;          /* cProfile's subcalls=; change it with
                               * plumb_profile_set_track_edges */
    uint32_t edges_off;       /* PLUMB_NONE when !track_edges, else 0: a cached
                               * path's edge | edges_off is the edge to count */
    int track_paths;          /* keep call paths (plumb_path) */
    uint64_t folded_calls;    /* calls whose path was not kept (PLUMB_MAX_PATHS) */
    uint64_t lost_events;     /* events dropped for lack of memory or depth */
    double ticks_per_second;  /* set by the binding when it stops the clock */
} plumb_profile;

/* Deepest stack kept per thread; deeper calls are counted as lost.  CPython's
 * recursion limit keeps real programs far below it. */
#define PLUMB_MAX_DEPTH (1u << 20)

/* Paths are kept (track_paths) unless the binding clears the flag before
 * the first event. */
int plumb_profile_init(plumb_profile *p, int track_edges);
void plumb_profile_free(plumb_profile *p);
/* Turns edge tracking (cProfile's subcalls=) on or off between runs (every
 * stack empty); the tracer's caches, which hold edges, start again.  Paths
 * made under the old setting would give the wrong edge counts, so counting
 * goes per event: PLUMB_ENOMEM if it cannot (nothing changed). */
int plumb_profile_set_track_edges(plumb_profile *p, int on);

/* Makes func_counts and the edges' counts those of every call that has
 * returned, deriving them from the paths unless they are counted per event:
 * a function's calls, own time and recursive calls are its paths'; its total
 * time is that of its paths with no activation of it below (cProfile counts
 * an outermost activation's time only), and likewise per edge.  Call it
 * before reading them; PLUMB_ENOMEM if the derivation's scratch cannot be
 * had (the counts are then zero). */
int plumb_profile_sync_counts(plumb_profile *p);

/* Switches to counting per event: the counts derived so far are made real
 * and the live activations of every thread's stack are counted, so that
 * calls made before and returning after the switch count as they would
 * have.  PLUMB_ENOMEM leaves the profile as it was. */
int plumb_profile_count_per_event(plumb_profile *p);

/* Forgets every count and function, keeping the profile usable. */
int plumb_profile_clear(plumb_profile *p);

/* Zeroes every count but keeps the functions, edges, paths and threads
 * (whose stacks must be empty): a profile reused for the next run of the
 * same code skips naming its functions again.  Writers leave out what has
 * no calls.  Counting goes back to the paths if every thread has its root
 * path and edges were tracked alike throughout. */
void plumb_profile_reset_counts(plumb_profile *p);

/* The function for key, PLUMB_NONE if the key is new, PLUMB_SKIP if it is
 * not profiled. */
static inline uint32_t plumb_profile_func_for_key(const plumb_profile *p, uintptr_t key)
{
    return plumb_map_get(&p->by_key, (uint64_t)key);
}

/* Registers key under the label (file, line, name), creating the function
 * if no key had that label yet.  Stores the function's index in *func. */
int plumb_profile_add_key(plumb_profile *p, uintptr_t key, const char *file,
                          int64_t line, const char *name, uint32_t *func);

/* Marks key as not profiled: its function is PLUMB_SKIP. */
int plumb_profile_skip_key(plumb_profile *p, uintptr_t key);

/* The function with this label, or PLUMB_NONE. */
static inline uint32_t plumb_profile_find_label(const plumb_profile *p, const char *file,
                                                int64_t line, const char *name)
{
    return plumb_labels_find(&p->labels, file, line, name);
}

/* Finds the function with this label, creating it (with no key and zero
 * counts).  Not plumb_labels_intern on p->labels: that would leave the
 * function without counts. */
int plumb_profile_func_for_label(plumb_profile *p, const char *file, int64_t line,
                                 const char *name, uint32_t *func);

/* The edge caller->callee, created if new. */
int plumb_profile_edge(plumb_profile *p, uint32_t caller, uint32_t callee, uint32_t *edge);

/* The path of func called under parent, created if new: PLUMB_OK, or
 * PLUMB_ELIMIT / PLUMB_ENOMEM when it cannot be kept. */
int plumb_profile_path(plumb_profile *p, uint32_t parent, uint32_t func, uint32_t *path);

/* A new empty stack for a thread, with its root path. */
plumb_thread *plumb_profile_new_thread(plumb_profile *p, uint64_t id);

/* Grows a thread's stack by one slot; PLUMB_ENOMEM or PLUMB_ELIMIT on failure. */
int plumb_thread_grow(plumb_thread *t);

/* How many calls are on t's stack. */
static inline uint32_t plumb_thread_depth(const plumb_thread *t)
{
    return (uint32_t)(t->top - t->frames);
}

/* Sizes a thread's live counts to the profile's function and edge tables. */
int plumb_thread_grow_live(plumb_thread *t, const plumb_profile *p);

/* The profile in the model's terms (model/stats.h, model/samples.h), for
 * the writers and the report: here, beside the profile, so that the model
 * knows nothing of the tracer. */
struct plumb_stats;
struct plumb_samples;

/* The counts as new stats (in seconds): its writers write it this way, so
 * each format has one writer for every function-level profile.  Only the
 * functions its counts use are copied (stats_from_profile.c). */
int plumb_stats_from_profile(struct plumb_stats *st, const plumb_profile *p);

/* The call paths as a tree whose counts are nanoseconds of own time
 * (s->interval = 1e-9), with calls per node in s->calls.  Functions keep
 * the profile's indices; threads are in the order they first made a call.
 * s must not be initialised (paths_tree.c). */
int plumb_samples_from_paths(struct plumb_samples *s, const plumb_profile *p);

#endif
