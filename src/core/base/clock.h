/* The tracer's clock.  On x86-64 with an invariant TSC, a tick is one TSC
 * count (rdtsc costs ~10 ns here against ~25 ns for clock_gettime, and the
 * tracer reads the clock on every call and return).  Elsewhere a tick is a
 * nanosecond of CLOCK_MONOTONIC.  Ticks become seconds through a
 * calibration that pairs TSC readings with CLOCK_MONOTONIC readings taken
 * at the start and end of a profile. */
#ifndef PLUMB_CLOCK_H
#define PLUMB_CLOCK_H

#include <stdint.h>
#include <time.h>

#if defined(__x86_64__) && !defined(PLUMB_NO_TSC)
#define PLUMB_CLOCK_TSC 1
#include <x86intrin.h>
#endif

static inline int64_t plumb_clock_monotonic_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static inline int64_t plumb_clock_ticks(void)
{
#ifdef PLUMB_CLOCK_TSC
    return (int64_t)__rdtsc();
#else
    return plumb_clock_monotonic_ns();
#endif
}

/* A pair of readings, one on each clock, taken together. */
typedef struct plumb_clock_mark {
    int64_t ticks;
    int64_t ns;
} plumb_clock_mark;

/* Whether ticks can be trusted as a steady clock on this machine (an
 * invariant TSC).  When not, plumb_clock_ticks() is still used but the
 * binding may choose clock_gettime instead. */
int plumb_clock_tsc_is_invariant(void);

plumb_clock_mark plumb_clock_mark_now(void);

/* Ticks per second measured between two marks.  If they are closer than
 * a millisecond, waits until the end mark is a millisecond after the start
 * so that the ratio is accurate to a few parts in 10^5. */
double plumb_clock_ticks_per_second(plumb_clock_mark start, plumb_clock_mark *end);

#endif
