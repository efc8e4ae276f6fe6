/* The sampling thread: a native thread, outside the interpreter, that wakes
 * at a fixed rate, reads every Python thread's stack through the walker and
 * adds it to a plumb_samples.  It never takes the GIL, so the program never
 * waits for it. */
#ifndef PLUMB_SAMPLER_H
#define PLUMB_SAMPLER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "model/samples.h"
#include "sampler/gil_holder.h"
#include "sampler/stackwalk.h"
#include "sampler/tag_counts.h"

/* What the program tells the sampler about its threads: the kernel id
 * (needed for CPU mode before 3.11, whose thread states lack it). */
typedef struct plumb_thread_note {
    uint64_t id;
    uint64_t native_id;
} plumb_thread_note;

/* A thread's /proc stat file, kept open, and its CPU time at the last
 * round: together they tell whether it is on a CPU. */
typedef struct plumb_cpu_seen {
    uint64_t native_id;
    int stat_fd;
    int schedstat_fd;    /* another process's thread: its CPU time; -1 for ours */
    int64_t cpu_ns;
    double credit;       /* CPU time not yet turned into samples, in intervals */
} plumb_cpu_seen;

typedef struct plumb_sampler {
    plumb_process_source memory;    /* the interpreter's process (this one) */
    plumb_walker walker;            /* reads through memory */
    /* A round holds round_lock; a harvest takes it to swap the tree and
     * the tag counts for fresh ones, so every round counts in one of them. */
    pthread_mutex_t round_lock;
    plumb_samples samples;          /* the sampler thread's while it runs */
    plumb_tag_counts tagged;        /* samples by thread tag, beside samples */
    int read_tags;                  /* tags are read (only of this process) */
    int owner_pid;                  /* the process that made the sampler */
    int64_t interval_ns;
    int64_t duration_ns;            /* 0: until stopped */
    int cpu_mode;
    pthread_t thread;
    int running;
    atomic_int stop_requested;

    pthread_mutex_t notes_lock;     /* guards notes */
    plumb_thread_note *notes;
    uint32_t nnotes, notes_capacity;

    int pid;
    plumb_cpu_seen *cpu_seen;       /* the sampler thread's own state */
    uint32_t ncpu_seen, cpu_seen_capacity;
    char *own_prefix;               /* files of the profiler's own code, left out */
    uint8_t *own_func;              /* per function: 0 unknown, 1 program's, 2 own */
    uint32_t own_func_capacity;
    atomic_ullong ignored_thread;   /* a thread id not to sample (0: none) */
    /* Which threads are sampled (plumb_sampler_filter_threads): only the
     * GIL's holder, read once a round (gil_round: total_taken then), and
     * in wall mode not those the kernel has waiting. */
    int gil_only;
    plumb_gil_probe gil;
    uint64_t gil_round;
    uintptr_t gil_holder;           /* its thread state; 0 none or unreadable */
    int skip_idle;

    uint64_t round_weight;          /* intervals the current round stands for */
    /* The thread the walker is at, as check_thread found it. */
    uint64_t checked_native;        /* its kernel id, 0 if unknown */
    int64_t checked_cpu_ns;         /* its CPU time (wall mode), -1 if not read */
    uint64_t checked_weight;        /* samples it earned (CPU mode) */
    plumb_raw_stack scratch;
    uint32_t funcs[PLUMB_MAX_SAMPLE_DEPTH];
    int64_t started_ns, stopped_ns;
    int64_t since_ns;               /* start of what samples covers: start or harvest */
    int64_t busy_ns;                /* time in rounds since then */
    int64_t cpu_ns;                 /* the sampler thread's CPU time since then */
    int64_t round_cpu_ns;           /* its CPU clock at the end of its last round */
    uint64_t stacks;                /* stacks counted since then */
    uint64_t reused;                /* of them, counted again unread (check_thread) */
    /* Since init, whatever was harvested: rounds taken and missed, samples
     * counted (what one harvest at the end would hold). */
    uint64_t total_taken, total_missed, total_samples;
} plumb_sampler;

/* What a harvest takes out of a sampler: the tree and tag counts of the
 * interval [started_ns, ended_ns] (the sampler's counters with them), and
 * the sampler's cost in it. */
typedef struct plumb_harvest {
    plumb_samples samples;
    plumb_tag_counts tagged;
    int64_t started_ns, ended_ns;
    int64_t busy_ns;
    int64_t cpu_ns;       /* the sampler thread's CPU time, sleeps and wake-ups included */
    uint64_t stacks, reused;
} plumb_harvest;

int plumb_sampler_init(plumb_sampler *s, int pid, const plumb_py_offsets *off, uintptr_t interp,
                       double rate_hz, int cpu_mode, double duration_s);
void plumb_sampler_free(plumb_sampler *s);

/* Starts the thread; 0, or a negative code. */
int plumb_sampler_start(plumb_sampler *s);
/* Stops and joins it; afterwards s->samples may be read. */
void plumb_sampler_stop(plumb_sampler *s);

/* Whether the thread runs.  In a process forked while it ran (the thread
 * is not there), the sampler becomes a stopped one with no samples (they
 * are the parent's to report) that samples this process when started. */
int plumb_sampler_running(plumb_sampler *s);

/* Takes what was sampled so far into *out and goes on into a fresh tree,
 * running or not; no round is lost or counted twice.  0, or PLUMB_ENOMEM
 * (the sampler keeps its samples).  Free *out with plumb_harvest_free. */
int plumb_sampler_harvest(plumb_sampler *s, plumb_harvest *out);
void plumb_harvest_free(plumb_harvest *h);

/* Whether samples are counted by thread tag (on by default when sampling
 * this process; the tags are this process's). */
void plumb_sampler_read_tags(plumb_sampler *s, int on);

/* Records a thread's kernel id; callable from any thread. */
int plumb_sampler_note_thread(plumb_sampler *s, uint64_t id, uint64_t native_id);

/* Frames of code whose file starts with prefix + "/" are left out of
 * stacks (the profiler's own), with the frames outside them; call before
 * start. */
int plumb_sampler_set_own_prefix(plumb_sampler *s, const char *prefix);

/* Stops sampling the thread with this id (0: none); callable any time. */
void plumb_sampler_ignore_thread(plumb_sampler *s, uint64_t id);

/* Which threads are sampled, set before start: gil_only keeps only the
 * thread holding the GIL as each round begins (gil says where to read it;
 * a round that cannot read it samples no thread); skip_idle leaves out, in
 * wall mode, threads whose kernel state is not R (running or runnable:
 * sleeping, blocked on a lock, on I/O or on the GIL), as CPU mode always
 * does.  A thread whose kernel id is unknown is kept.  0, or PLUMB_EINVAL
 * (gil_only without a probe). */
int plumb_sampler_filter_threads(plumb_sampler *s, int gil_only, const plumb_gil_probe *gil,
                                 int skip_idle);

/* One round of sampling, done by the thread; exposed for tests. */
int plumb_sampler_sample_once(plumb_sampler *s);

#endif
