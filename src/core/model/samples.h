/* A sampled profile: every stack seen, stored once, as a call tree per
 * thread.  A node is a function called along one path from its thread's
 * root; a sample adds one to the self count of the node of its innermost
 * frame.  Identical stacks share their nodes, so memory grows with the
 * number of distinct call paths, not with the number of samples.
 *
 * Functions are labels (labels.h: file, line, name), as in stats and the
 * tracer's profile, so that deterministic and sampled profiles name things
 * the same way.  A deterministic profile's call paths become such a tree
 * beside the tracer (plumb_samples_from_paths, tracer/profile.h). */
#ifndef PLUMB_SAMPLES_H
#define PLUMB_SAMPLES_H

#include <stdint.h>

#include "base/map.h"
#include "model/labels.h"

typedef struct plumb_node {
    uint32_t parent;      /* PLUMB_NONE for a thread's root */
    uint32_t func;        /* PLUMB_NONE for a thread's root */
    uint32_t thread;      /* index into plumb_samples.threads */
    uint64_t self;        /* samples whose innermost frame is this node; in
                             wall mode a round that came late counts for the
                             intervals it stands for */
} plumb_node;

/* One key=value pair that every sample of a thread carries, for tools
 * that filter samples by label (pprof's Sample.label).  A monitored
 * site's profile gives each (transaction, kind, host) a "thread" of its
 * own carrying them, so a thread of the tree is then a label set. */
typedef struct plumb_sample_label {
    char *key, *value;    /* UTF-8, owned */
} plumb_sample_label;

typedef struct plumb_sampled_thread {
    uint64_t id;          /* the interpreter's thread id (pthread_t) */
    uint64_t native_id;   /* the kernel's thread id, 0 if unknown */
    char *name;           /* UTF-8, from threading; NULL if unknown */
    uint32_t root;        /* its root node */
    uint64_t samples;     /* samples counted for this thread */
    uint32_t last_leaf;   /* the sampler's: the node of its previous sample */
    uint64_t last_round;  /* ... and that sample's round */
    uint64_t last_tag;    /* ... and its thread tag (sampler/thread_tags.h) */
    int64_t last_cpu_ns;  /* ... and its CPU time when its stack was read (-1: unknown) */
    uint64_t round_tag;   /* the sampler's: its tag read as the round began, */
    uint64_t round_tag_round;  /* ... in this round (0: not read) */
    plumb_sample_label *labels;   /* its samples' labels, in the order given */
    uint32_t nlabels;
} plumb_sampled_thread;

typedef struct plumb_samples {
    plumb_labels names;           /* the functions */
    plumb_node *nodes;
    uint32_t nnodes, nodes_capacity;
    plumb_map children;           /* (parent+1)<<32 | func -> node */
    plumb_sampled_thread *threads;
    uint32_t nthreads, threads_capacity;
    double interval;              /* seconds between samples, for time units */
    /* Per node, calls that returned along its path, when the tree is a
     * deterministic profile's (plumb_samples_from_paths; its "samples" are
     * then nanoseconds); NULL for a sampled profile. */
    uint64_t *calls;
    int cpu_mode;                 /* counts are of threads on a CPU */
    /* The run's summary. */
    uint64_t taken;               /* sampling rounds done */
    uint64_t missed;              /* rounds skipped because the sampler was late */
    uint64_t failed;              /* thread stacks that could not be read */
    uint64_t truncated;           /* stacks cut at the depth limit */
} plumb_samples;

/* The deepest stack recorded; deeper frames (the outermost) are dropped. */
#define PLUMB_MAX_SAMPLE_DEPTH 1024

int plumb_samples_init(plumb_samples *s, double interval, int cpu_mode);
void plumb_samples_free(plumb_samples *s);

/* The index of thread (id, native_id) if the tree has it: 0, or
 * PLUMB_EINVAL when it does not (nothing is added). */
int plumb_samples_find_thread(const plumb_samples *s, uint64_t id, uint64_t native_id,
                              uint32_t *index);

/* The index of the thread with this id, created if new. */
int plumb_samples_thread(plumb_samples *s, uint64_t id, uint64_t native_id, uint32_t *index);
/* Sets a thread's name (copied). */
int plumb_samples_name_thread(plumb_samples *s, uint32_t thread, const char *name);

/* Gives every sample of a thread the label key=value (both copied); a
 * key it already has takes the new value.  PLUMB_EINVAL for no such
 * thread, PLUMB_ELIMIT past PLUMB_MAX_SAMPLE_LABELS on one thread. */
#define PLUMB_MAX_SAMPLE_LABELS 64
int plumb_samples_label_thread(plumb_samples *s, uint32_t thread, const char *key,
                               const char *value);
/* Frees a thread's labels (plumb_samples_free does, for every thread). */
void plumb_sample_labels_free(plumb_sampled_thread *t);

/* Adds `count` samples of one stack of thread `thread`: funcs[0] is the
 * outermost frame, funcs[depth-1] the innermost. */
int plumb_samples_add(plumb_samples *s, uint32_t thread, const uint32_t *funcs, uint32_t depth,
                      uint64_t count);

/* The node of one stack of thread `thread`, created if new, without
 * counting a sample. */
int plumb_samples_node(plumb_samples *s, uint32_t thread, const uint32_t *funcs, uint32_t depth,
                       uint32_t *node);

/* The child of node for func, created if new. */
int plumb_samples_child(plumb_samples *s, uint32_t node, uint32_t func, uint32_t *child);

/* Adds count samples to a node (and its thread). */
void plumb_samples_count(plumb_samples *s, uint32_t node, uint64_t count);

/* Samples that arrive as fractions (another tool's times, to be counted in
 * intervals): added up per node while reading, rounded once per node at
 * the end, so that many small weights do not round away. */
typedef struct plumb_sample_weights {
    double *weight;
    uint32_t cap;
} plumb_sample_weights;

int plumb_sample_weights_add(plumb_sample_weights *sw, uint32_t node, double weight);

/* Counts the rounded weights into s (and s->taken) and frees them: 0, or
 * PLUMB_ELIMIT if a weight is beyond any real profile. */
int plumb_sample_weights_finish(plumb_sample_weights *sw, plumb_samples *s);

/* The functions of node's path, outermost first, into out (at most max);
 * returns how many. */
uint32_t plumb_samples_path(const plumb_samples *s, uint32_t node, uint32_t *out, uint32_t max);

#endif
