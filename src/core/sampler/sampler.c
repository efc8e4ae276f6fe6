#define _GNU_SOURCE
#include "sampler/sampler.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <stdio.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/clock.h"
#include "base/errors.h"
#include "base/grow.h"
#include "sampler/thread_tags.h"

static int check_thread(void *ctx, const plumb_raw_stack *ids);

static void close_seen(plumb_cpu_seen *seen)
{
    close(seen->stat_fd);
    if (seen->schedstat_fd >= 0)
        close(seen->schedstat_fd);
}

int plumb_sampler_init(plumb_sampler *s, int pid, const plumb_py_offsets *off, uintptr_t interp,
                       double rate_hz, int cpu_mode, double duration_s)
{
    memset(s, 0, sizeof *s);
    if (!(rate_hz > 0 && rate_hz <= 1e6) || duration_s < 0)
        return PLUMB_EINVAL;
    s->interval_ns = (int64_t)(1e9 / rate_hz);
    s->duration_ns = (int64_t)(duration_s * 1e9);
    s->cpu_mode = cpu_mode;
    s->pid = pid;
    s->owner_pid = getpid();
    s->read_tags = pid == s->owner_pid;
    atomic_init(&s->stop_requested, 0);
    pthread_mutex_init(&s->notes_lock, NULL);
    pthread_mutex_init(&s->round_lock, NULL);
    plumb_process_source_init(&s->memory, pid);
    int rc = plumb_walker_init(&s->walker, &s->memory.base, off, interp);
    s->walker.check = check_thread;
    if (rc == PLUMB_OK)
        rc = plumb_samples_init(&s->samples, (double)s->interval_ns / 1e9, cpu_mode);
    if (rc == PLUMB_OK)
        rc = plumb_tag_counts_init(&s->tagged, PLUMB_TAG_COUNTS_LIMIT);
    if (rc < 0)
        plumb_sampler_free(s);
    return rc;
}

void plumb_sampler_free(plumb_sampler *s)
{
    if (plumb_sampler_running(s))
        plumb_sampler_stop(s);
    plumb_walker_free(&s->walker);
    plumb_samples_free(&s->samples);
    plumb_tag_counts_free(&s->tagged);
    free(s->notes);
    for (uint32_t i = 0; i < s->ncpu_seen; i++)
        close_seen(&s->cpu_seen[i]);
    free(s->cpu_seen);
    free(s->own_prefix);
    free(s->own_func);
    pthread_mutex_destroy(&s->notes_lock);
    pthread_mutex_destroy(&s->round_lock);
    memset(s, 0, sizeof *s);
}

void plumb_sampler_read_tags(plumb_sampler *s, int on)
{
    s->read_tags = on && s->memory.pid == s->owner_pid;
}

/* The tree and tag counts start afresh (a harvest, a forked child): the
 * function indices the walker and is_own cached are the old tree's. */
static void forget_functions(plumb_sampler *s)
{
    plumb_walker_forget_functions(&s->walker);
    if (s->own_func)
        memset(s->own_func, 0, s->own_func_capacity);
}

/* In a child forked while the sampler ran, its thread does not exist, and
 * may have held either lock at the fork: the locks are made anew, the
 * thread is taken as stopped, and its samples (the parent's, which the
 * parent reports) are dropped, unless there is no memory for a fresh tree.
 * The child's threads are not the parent's: their CPU clocks and stat
 * files are forgotten, and a sampler of its own process samples the child. */
static void forget_parent(plumb_sampler *s)
{
    int self = s->memory.pid == s->owner_pid;
    s->owner_pid = getpid();
    if (self)
        s->pid = s->memory.pid = s->owner_pid;
    pthread_mutex_init(&s->notes_lock, NULL);
    pthread_mutex_init(&s->round_lock, NULL);
    for (uint32_t i = 0; i < s->ncpu_seen; i++)
        close_seen(&s->cpu_seen[i]);
    s->ncpu_seen = 0;
    plumb_page_cache_clear(s->walker.cache);
    if (!s->running)
        return;
    s->running = 0;
    atomic_store(&s->stop_requested, 0);
    plumb_samples fresh;
    plumb_tag_counts fresh_tags;
    if (plumb_samples_init(&fresh, s->samples.interval, s->cpu_mode) < 0)
        return;
    if (plumb_tag_counts_init(&fresh_tags, s->tagged.limit) < 0) {
        plumb_samples_free(&fresh);
        return;
    }
    plumb_samples_free(&s->samples);
    plumb_tag_counts_free(&s->tagged);
    s->samples = fresh;
    s->tagged = fresh_tags;
    s->since_ns = s->started_ns = s->stopped_ns = s->busy_ns = s->cpu_ns = 0;
    s->stacks = s->reused = s->total_taken = s->total_missed = s->total_samples = 0;
    forget_functions(s);
}

int plumb_sampler_running(plumb_sampler *s)
{
    if (s->owner_pid && s->owner_pid != getpid())
        forget_parent(s);
    return s->running;
}

int plumb_sampler_note_thread(plumb_sampler *s, uint64_t id, uint64_t native_id)
{
    int rc = PLUMB_OK;
    pthread_mutex_lock(&s->notes_lock);
    uint32_t i = 0;
    while (i < s->nnotes && s->notes[i].id != id)
        i++;
    if (i == s->nnotes) {
        rc = PLUMB_GROW(s->notes, &s->notes_capacity, (size_t)s->nnotes + 1, 16, UINT32_MAX);
        if (rc < 0)
            goto done;
        s->nnotes++;
    }
    s->notes[i] = (plumb_thread_note){.id = id, .native_id = native_id};
done:
    pthread_mutex_unlock(&s->notes_lock);
    return rc;
}

static uint64_t noted_native_id(plumb_sampler *s, uint64_t id)
{
    uint64_t native = 0;
    pthread_mutex_lock(&s->notes_lock);
    for (uint32_t i = 0; i < s->nnotes; i++)
        if (s->notes[i].id == id)
            native = s->notes[i].native_id;
    pthread_mutex_unlock(&s->notes_lock);
    return native;
}

/* A thread's CPU time by its kernel id: Linux encodes per-thread CPU clocks
 * as ~tid << 3 | CPUCLOCK_PERTHREAD (4) | CPUCLOCK_SCHED (2), as glibc's
 * pthread_getcpuclockid does.  A thread that has ended gives an error, not
 * a fault. */
static int thread_cpu_ns(uint64_t tid, int64_t *ns)
{
    clockid_t clock = (clockid_t)((~(unsigned)tid << 3) | 6);
    struct timespec ts;
    if (clock_gettime(clock, &ts) != 0)
        return -1;
    *ns = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
    return 0;
}

/* Another process's thread's CPU time: its per-thread clock cannot be read
 * from here (the kernel allows those only within a thread group), but the
 * first field of /proc/PID/task/TID/schedstat is the same runtime in ns. */
static int remote_cpu_ns(int fd, int64_t *ns)
{
    char buf[128];
    ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
    if (n <= 0)
        return -1;
    buf[n] = 0;
    char *end;
    long long v = strtoll(buf, &end, 10);
    if (end == buf || v < 0)
        return -1;
    *ns = v;
    return 0;
}

static int cpu_ns_of(const plumb_sampler *s, const plumb_cpu_seen *seen, int64_t *ns)
{
    if (s->pid == s->owner_pid)
        return thread_cpu_ns(seen->native_id, ns);
    return remote_cpu_ns(seen->schedstat_fd, ns);
}

/* A thread's /proc files, kept open (pread at offset 0 reads them afresh):
 * found, or opened when first seen; NULL if they cannot be opened.  Its
 * schedstat is opened only to measure another process's thread in CPU
 * mode (cpu_ns_of). */
static plumb_cpu_seen *seen_thread(plumb_sampler *s, uint64_t tid)
{
    for (uint32_t i = 0; i < s->ncpu_seen; i++)
        if (s->cpu_seen[i].native_id == tid)
            return &s->cpu_seen[i];
    if (PLUMB_GROW(s->cpu_seen, &s->cpu_seen_capacity, (size_t)s->ncpu_seen + 1, 16, UINT32_MAX) < 0)
        return NULL;
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/task/%llu/stat", s->pid, (unsigned long long)tid);
    int fd = open(path, O_RDONLY | O_CLOEXEC), sched = -1;
    if (fd < 0)
        return NULL;
    if (s->cpu_mode && s->pid != s->owner_pid) {
        snprintf(path, sizeof path, "/proc/%d/task/%llu/schedstat", s->pid,
                 (unsigned long long)tid);
        sched = open(path, O_RDONLY | O_CLOEXEC);
        if (sched < 0) {
            close(fd);
            return NULL;
        }
    }
    /* -1: a thread seen for the first time earns one interval if running. */
    s->cpu_seen[s->ncpu_seen] = (plumb_cpu_seen){.native_id = tid, .stat_fd = fd,
                                                 .schedstat_fd = sched, .cpu_ns = -1};
    return &s->cpu_seen[s->ncpu_seen++];
}

/* Forgets a thread whose files no longer read: it has ended. */
static void forget_seen(plumb_sampler *s, plumb_cpu_seen *seen)
{
    close_seen(seen);
    *seen = s->cpu_seen[--s->ncpu_seen];
}

/* The thread's kernel state now, the third field of its stat file: 'R'
 * running or runnable, 'S' sleeping (a lock, a sleep, the GIL), 'D' ...;
 * 0 if the file no longer reads. */
static char seen_state(const plumb_cpu_seen *seen)
{
    char buf[512];
    ssize_t n = pread(seen->stat_fd, buf, sizeof buf - 1, 0);
    if (n <= 0)
        return 0;
    buf[n] = 0;
    /* "tid (comm) S ...": comm may hold spaces and parentheses; the state
     * follows the last ')'. */
    char *close_paren = strrchr(buf, ')');
    return close_paren && close_paren[1] == ' ' && close_paren[2] ? close_paren[2] : '?';
}

/* How many samples a thread earns this round in CPU mode.  It must be on
 * a CPU now: its kernel state is R (a thread waiting for the GIL, sleeping
 * or blocked is S or D).  R also means runnable, so it is not enough: the
 * thread earns credit for the CPU time it used since the last round, in
 * intervals, and the whole part becomes samples of its current stack.  So
 * a GIL waiter that woke for a moment earns almost nothing, two threads
 * sharing one CPU earn half each, and rounds the sampler missed are paid
 * for with measured CPU time.  A thread found not running loses its
 * credit: the CPU it used before it fell asleep is not charged to the
 * function it sleeps in.  A thread that has ended fails the read and is
 * forgotten. */
static uint64_t cpu_samples(plumb_sampler *s, uint64_t tid)
{
    plumb_cpu_seen *seen = tid ? seen_thread(s, tid) : NULL;
    if (!seen)
        return 0;
    char state = seen_state(seen);
    int64_t cpu;
    if (!state || cpu_ns_of(s, seen, &cpu) < 0) {
        forget_seen(s, seen);
        return 0;
    }
    int64_t used = seen->cpu_ns < 0 ? s->interval_ns : cpu - seen->cpu_ns;
    seen->cpu_ns = cpu;
    if (state != 'R') {
        seen->credit = 0;
        return 0;
    }
    seen->credit += used > 0 ? (double)used / (double)s->interval_ns : 0.0;
    uint64_t earned = (uint64_t)seen->credit;
    seen->credit -= (double)earned;
    return earned;
}

/* Whether a thread is to be sampled under skip_idle (wall mode): its
 * kernel state is R.  A thread whose state cannot be told (no kernel id,
 * its files unreadable) is kept: leaving out a thread that runs would
 * lose samples silently. */
static int thread_active(plumb_sampler *s, uint64_t tid)
{
    plumb_cpu_seen *seen = tid ? seen_thread(s, tid) : NULL;
    if (!seen)
        return 1;
    char state = seen_state(seen);
    if (!state) {
        forget_seen(s, seen);
        return 1;
    }
    return state == 'R';
}

/* Whether the thread state at tstate holds the GIL, as this round began:
 * the holder is read on the round's first thread, through the round's
 * page cache (its page is then fetched with the others at the start of
 * the next round).  A holder that cannot be read is no thread's. */
static int holds_gil(plumb_sampler *s, uintptr_t tstate)
{
    if (s->gil_round != s->total_taken) {
        s->gil_round = s->total_taken;
        if (plumb_gil_probe_read(&s->gil, s->walker.source, s->walker.cache, &s->gil_holder) < 0)
            s->gil_holder = 0;
    }
    return s->gil_holder && tstate == s->gil_holder;
}

int plumb_sampler_filter_threads(plumb_sampler *s, int gil_only, const plumb_gil_probe *gil,
                                 int skip_idle)
{
    if (gil_only && (!gil || !gil->holder))
        return PLUMB_EINVAL;
    s->gil_only = gil_only;
    if (gil)
        s->gil = *gil;
    s->gil_round = 0;
    s->skip_idle = skip_idle;
    return PLUMB_OK;
}

int plumb_sampler_set_own_prefix(plumb_sampler *s, const char *prefix)
{
    char *copy = strdup(prefix);
    if (!copy)
        return PLUMB_ENOMEM;
    free(s->own_prefix);
    s->own_prefix = copy;
    return PLUMB_OK;
}

void plumb_sampler_ignore_thread(plumb_sampler *s, uint64_t id)
{
    atomic_store(&s->ignored_thread, id);
}

/* Whether f is the profiler's own code; decided once per function. */
static int is_own(plumb_sampler *s, uint32_t f)
{
    if (!s->own_prefix)
        return 0;
    if (PLUMB_GROW_ZEROED(s->own_func, &s->own_func_capacity, (size_t)f + 1, 256, UINT32_MAX) < 0)
        return 0;
    if (!s->own_func[f]) {
        const char *file = s->samples.names.funcs[f].file;
        size_t n = strlen(s->own_prefix);
        s->own_func[f] = strncmp(file, s->own_prefix, n) == 0 && file[n] == '/' ? 2 : 1;
    }
    return s->own_func[f] == 2;
}

/* The walker's check, before a thread's frames are read (reading them is
 * most of a round's cost: a system call and the kernel's page walk per
 * page of frames and code objects).  In CPU mode a thread that earns no
 * samples is left out unread.  In wall mode a thread of this process whose
 * CPU time has not moved since its stack was last read has not run since:
 * its frames, and the tag it sets itself, are as they were, so that stack
 * is counted again unread.  The clock is exact (the kernel's runtime in
 * ns, a running thread's current slice included), so a thread that ran at
 * all, even for a moment, is read afresh.  Idle threads (a server's pool
 * waiting for work, its accept loop) then cost one clock read a round. */
static int check_thread(void *ctx, const plumb_raw_stack *ids)
{
    plumb_sampler *s = ctx;
    if (ids->thread_id == atomic_load(&s->ignored_thread))
        return PLUMB_THREAD_LEFT_OUT;
    uint64_t native = ids->native_id ? ids->native_id : noted_native_id(s, ids->thread_id);
    s->checked_native = native;
    s->checked_cpu_ns = -1;
    if (s->cpu_mode) {
        /* Every thread's credit is kept, GIL or not: a thread that takes
         * the GIL is not charged then for CPU it used before (in C code
         * that released it). */
        s->checked_weight = cpu_samples(s, native);
        if (s->gil_only && !holds_gil(s, ids->tstate))
            return PLUMB_THREAD_LEFT_OUT;
        return s->checked_weight ? PLUMB_READ_FRAMES : PLUMB_THREAD_LEFT_OUT;
    }
    if (s->gil_only && !holds_gil(s, ids->tstate))
        return PLUMB_THREAD_LEFT_OUT;
    if (s->skip_idle && !thread_active(s, native))
        return PLUMB_THREAD_LEFT_OUT;
    /* Other processes' threads' CPU clocks cannot be read this way. */
    if (!native || s->memory.pid != s->owner_pid || thread_cpu_ns(native, &s->checked_cpu_ns) < 0) {
        s->checked_cpu_ns = -1;
        return PLUMB_READ_FRAMES;
    }
    uint32_t i;
    if (plumb_samples_find_thread(&s->samples, ids->thread_id, native, &i) != PLUMB_OK)
        return PLUMB_READ_FRAMES;
    const plumb_sampled_thread *t = &s->samples.threads[i];
    if (t->last_leaf == PLUMB_NONE || t->native_id != native || t->last_cpu_ns != s->checked_cpu_ns)
        return PLUMB_READ_FRAMES;
    /* A tag set for it by another thread (a request ended elsewhere). */
    if (s->read_tags && plumb_thread_tag_of(ids->thread_id) != t->last_tag)
        return PLUMB_READ_FRAMES;
    return PLUMB_FRAMES_UNCHANGED;
}

/* A thread that has not run since its last sample (check_thread): that
 * sample's stack and tag count again, for the whole round's weight. */
static int add_unchanged(plumb_sampler *s, const plumb_raw_stack *stack)
{
    uint32_t thread;
    if (plumb_samples_find_thread(&s->samples, stack->thread_id, s->checked_native, &thread) < 0)
        return PLUMB_OK;
    plumb_sampled_thread *t = &s->samples.threads[thread];
    plumb_samples_count(&s->samples, t->last_leaf, s->round_weight);
    (void)plumb_tag_counts_add(&s->tagged, t->last_tag, t->last_leaf, s->round_weight);
    s->total_samples += s->round_weight;
    t->last_round = s->samples.taken;
    s->stacks++;
    s->reused++;
    return PLUMB_OK;
}

static int add_stack(void *ctx, plumb_raw_stack *stack)
{
    plumb_sampler *s = ctx;
    if (stack->unchanged)
        return add_unchanged(s, stack);
    uint64_t native = s->checked_native;
    uint64_t cpu_weight = s->cpu_mode ? s->checked_weight : 0;
    /* Innermost first as read; outermost first as stored.  Frames whose code
     * cannot be read (freed under us) are left out of the stack.  An own
     * frame drops the frames outside it too (the interpreter's start-up,
     * runpy's, a server's loop): the profile starts where the profiler was
     * called, as a deterministic profile does. */
    uint32_t n = 0;
    for (uint32_t i = stack->depth; i-- > 0;) {
        uint32_t f;
        if (plumb_walker_resolve(&s->walker, &s->samples.names, stack->codes[i], &f) != PLUMB_OK
            || f == PLUMB_SKIP)
            continue;
        if (is_own(s, f))
            n = 0;
        else
            s->funcs[n++] = f;
    }
    if (n == 0)
        return PLUMB_OK;   /* only the profiler's own frames, or none readable */
    if (stack->truncated)
        s->samples.truncated++;
    uint64_t tag = s->read_tags ? plumb_thread_tag_of(stack->thread_id) : 0;
    uint32_t thread, leaf;
    int rc = plumb_samples_thread(&s->samples, stack->thread_id, native, &thread);
    if (rc == PLUMB_OK)
        rc = plumb_samples_node(&s->samples, thread, s->funcs, n, &leaf);
    if (rc < 0)
        return rc == PLUMB_ENOMEM || rc == PLUMB_ELIMIT ? rc : PLUMB_OK;
    /* The stack is memory as the round began (the page cache fetched it
     * then); the tag is read now.  A thread that changed its tag in
     * between (an event loop moving to another request's step) gave a
     * stack of one and a tag of the other: such a sample is left
     * unlabelled rather than labelled wrongly (benchmarks/asyncio_labels.py
     * measures both rates). */
    {
        const plumb_sampled_thread *seen = &s->samples.threads[thread];
        if (tag && seen->round_tag_round == s->samples.taken && seen->round_tag != tag)
            tag = 0;
    }
    /* A late round stands for the intervals it missed (wall mode).  The
     * thread's stack changed at some unknown point since its previous
     * sample, so those intervals are split evenly between that sample's
     * stack and this one.  Crediting them all to this one, or dropping
     * them, is biased whenever the sampler is late because the program is
     * busy, which is when it is late (seen: 0.53 and 0.44 against 0.50). */
    plumb_sampled_thread *t = &s->samples.threads[thread];
    uint64_t weight = s->cpu_mode ? cpu_weight : s->round_weight;
    if (!s->cpu_mode && weight > 1 && t->last_leaf != PLUMB_NONE
        && t->last_round + 1 == s->samples.taken) {
        uint64_t back = (weight - 1) / 2;
        plumb_samples_count(&s->samples, t->last_leaf, back);
        (void)plumb_tag_counts_add(&s->tagged, t->last_tag, t->last_leaf, back);
        weight -= back;
    }
    plumb_samples_count(&s->samples, leaf, weight);
    s->total_samples += s->cpu_mode ? cpu_weight : s->round_weight;
    /* Without room the samples stay under tag 0 (counted in overflow). */
    (void)plumb_tag_counts_add(&s->tagged, tag, leaf, weight);
    t->last_leaf = leaf;
    t->last_round = s->samples.taken;
    t->last_tag = tag;
    t->last_cpu_ns = s->checked_cpu_ns;
    s->stacks++;
    return PLUMB_OK;
}

int plumb_sampler_sample_once(plumb_sampler *s)
{
    s->samples.taken++;
    s->total_taken++;
    if (!s->round_weight)
        s->round_weight = 1;
    if (s->read_tags) {
        /* Each known thread's tag as the round begins, before its stack is
         * read; add_stack compares it with the tag it reads after. */
        for (uint32_t i = 0; i < s->samples.nthreads; i++) {
            plumb_sampled_thread *t = &s->samples.threads[i];
            t->round_tag = plumb_thread_tag_of(t->id);
            t->round_tag_round = s->samples.taken;
        }
    }
    int rc = plumb_walk_threads(&s->walker, &s->scratch, add_stack, s, &s->samples.failed);
    if (rc == PLUMB_EFAULT)
        s->samples.failed++;
    return rc == PLUMB_EFAULT ? PLUMB_OK : rc;
}

/* Asks the scheduler for short time slices (Linux 6.12+'s EEVDF custom
 * slice: sched_runtime on a SCHED_OTHER thread, no privilege needed).  A
 * task with a shorter slice has an earlier virtual deadline, so when the
 * sampler wakes on a CPU where a program thread is running it runs at once
 * instead of waiting out that thread's slice.  Measured: with two threads
 * handing the GIL back and forth on a 2-CPU machine, the sampler missed
 * 5-19% of its rounds at 1 kHz without it.  Older kernels refuse or ignore
 * the field; the sampler then runs as before. */
static void ask_for_short_slices(void)
{
#ifdef SYS_sched_setattr
    struct {
        uint32_t size, policy;
        uint64_t flags;
        int32_t nice;
        uint32_t priority;
        uint64_t runtime, deadline, period;
    } attr = {.size = 48, .policy = 0 /* SCHED_OTHER */, .runtime = 100 * 1000 /* ns */};
    (void)syscall(SYS_sched_setattr, 0, &attr, 0);
#endif
}

/* The calling thread's CPU time: the sampler's own cost, its sleeps'
 * wake-ups included, which its time in rounds (busy_ns) leaves out.
 * Measured on a 2-CPU VM: waking 100 times a second took 46 us of CPU a
 * wake-up before any work. */
static int64_t own_cpu_ns(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0)
        return 0;
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Adds the CPU time used since the last call to s->cpu_ns; round_lock held. */
static void count_own_cpu(plumb_sampler *s)
{
    int64_t now = own_cpu_ns();
    s->cpu_ns += now - s->round_cpu_ns;
    s->round_cpu_ns = now;
}

static void *run(void *arg)
{
    plumb_sampler *s = arg;
    /* Linux lets a sleeping thread wake up to 50 us late by default (timer
     * slack): a whole interval at 20 kHz.  Measured here: 20 kHz missed
     * 42-84% of its rounds with the default, 1-4% with 1 ns. */
    prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
    /* Named, so that top -H, perf and /proc/PID/task show which thread
     * is the profiler's. */
    prctl(PR_SET_NAME, (unsigned long)"plumb-sampler", 0UL, 0UL, 0UL);
    ask_for_short_slices();
    int64_t next = plumb_clock_monotonic_ns();
    pthread_mutex_lock(&s->round_lock);
    s->started_ns = next;
    if (!s->since_ns)
        s->since_ns = next;
    s->round_cpu_ns = own_cpu_ns();
    pthread_mutex_unlock(&s->round_lock);
    while (!atomic_load(&s->stop_requested)) {
        next += s->interval_ns;
        s->round_weight = 1;
        int64_t now = plumb_clock_monotonic_ns();
        if (now < next) {
            struct timespec until = {.tv_sec = next / 1000000000, .tv_nsec = next % 1000000000};
            while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until, NULL) == EINTR)
                ;
            now = plumb_clock_monotonic_ns();
        }
        /* From here to the end of the round, what is counted goes into the
         * tree a harvest takes or into the one it leaves. */
        pthread_mutex_lock(&s->round_lock);
        /* Late by whole intervals (the sleep overran, or the last round took
         * too long): those rounds are missed, not run late, even if this is
         * the last round, so that taken + missed is the rounds due. */
        if (now - next >= s->interval_ns) {
            int64_t skipped = (now - next) / s->interval_ns;
            s->samples.missed += (uint64_t)skipped;
            s->total_missed += (uint64_t)skipped;
            /* This round stands for them in wall mode (split with the
             * previous round in add_stack).  In CPU mode whether a thread was
             * on a CPU during the missed intervals is unknown. */
            if (!s->cpu_mode)
                s->round_weight = 1 + (uint64_t)skipped;
            next += skipped * s->interval_ns;
        }
        if (atomic_load(&s->stop_requested)
            || (s->duration_ns && next - s->started_ns > s->duration_ns)) {
            pthread_mutex_unlock(&s->round_lock);
            break;
        }
        int rc = plumb_sampler_sample_once(s);
        s->busy_ns += plumb_clock_monotonic_ns() - now;
        count_own_cpu(s);
        pthread_mutex_unlock(&s->round_lock);
        /* Out of memory: stop sampling, keep what was collected. */
        if (rc < 0)
            break;
    }
    pthread_mutex_lock(&s->round_lock);
    s->stopped_ns = plumb_clock_monotonic_ns();
    count_own_cpu(s);
    pthread_mutex_unlock(&s->round_lock);
    return NULL;
}

int plumb_sampler_start(plumb_sampler *s)
{
    if (plumb_sampler_running(s))
        return PLUMB_EINVAL;
    /* The sampler takes no signals: they belong to the program's threads. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    atomic_store(&s->stop_requested, 0);
    s->stopped_ns = 0;   /* the thread has not stopped since this start */
    int err = pthread_create(&s->thread, NULL, run, s);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (err)
        return PLUMB_ENOMEM;
    s->running = 1;
    return PLUMB_OK;
}

void plumb_sampler_stop(plumb_sampler *s)
{
    if (!plumb_sampler_running(s))
        return;
    atomic_store(&s->stop_requested, 1);
    pthread_join(s->thread, NULL);
    s->running = 0;
}

/* Whether the thread still samples (it ends by itself after a duration):
 * it set stopped_ns after its last start. */
static int thread_samples(const plumb_sampler *s)
{
    return s->running && s->stopped_ns <= s->started_ns;
}

int plumb_sampler_harvest(plumb_sampler *s, plumb_harvest *out)
{
    memset(out, 0, sizeof *out);
    (void)plumb_sampler_running(s);   /* a forked child's copy is reset first */
    plumb_samples fresh;
    plumb_tag_counts fresh_tags;
    int rc = plumb_samples_init(&fresh, s->samples.interval, s->cpu_mode);
    if (rc < 0)
        return rc;
    rc = plumb_tag_counts_init(&fresh_tags, s->tagged.limit);
    if (rc < 0) {
        plumb_samples_free(&fresh);
        return rc;
    }
    pthread_mutex_lock(&s->round_lock);
    int64_t now = plumb_clock_monotonic_ns();
    int sampling = thread_samples(s);
    out->samples = s->samples;
    out->tagged = s->tagged;
    out->started_ns = s->since_ns ? s->since_ns : now;
    out->ended_ns = sampling || !s->since_ns ? now : s->stopped_ns;
    out->busy_ns = s->busy_ns;
    out->cpu_ns = s->cpu_ns;
    out->stacks = s->stacks;
    out->reused = s->reused;
    s->samples = fresh;
    s->tagged = fresh_tags;
    /* A stopped sampler's next interval starts when it is started again. */
    s->since_ns = sampling ? now : 0;
    s->busy_ns = s->cpu_ns = 0;
    s->stacks = s->reused = 0;
    /* The new tree's threads have no previous sample (a late round's
     * intervals then all go to its stack, none lost), and its functions
     * are new indices.  CPU credit is the threads', not the tree's: it
     * carries on, so CPU time used before the harvest is paid after it. */
    forget_functions(s);
    pthread_mutex_unlock(&s->round_lock);
    return PLUMB_OK;
}

void plumb_harvest_free(plumb_harvest *h)
{
    plumb_samples_free(&h->samples);
    plumb_tag_counts_free(&h->tagged);
    memset(h, 0, sizeof *h);
}
