/* time.perf_counter() and time.time() as CPython reads them on Linux, for
 * the monitoring path, which compares its readings with Python's (a
 * record's start with the segments' perf_counter() readings, its end with
 * the harvest's).  CPython reads CLOCK_MONOTONIC and CLOCK_REALTIME into
 * nanoseconds and makes seconds of them the way seconds_of_ns does (whole
 * seconds divided as integers, the rest as a double divided by 1e9), so a
 * reading here is one Python could have made at the same instant; the
 * agreement is tested (tests/test_monitor_request_path.py). */
#ifndef PLUMB_PY_CLOCKS_H
#define PLUMB_PY_CLOCKS_H

#include <stdint.h>
#include <time.h>

static inline double plumb_py_seconds_of_ns(int64_t ns)
{
    /* volatile: the rounding must be the one CPython's division makes. */
    volatile double d;
    if (ns % 1000000000 == 0) {
        d = (double)(ns / 1000000000);
    } else {
        d = (double)ns;
        d /= 1e9;
    }
    return d;
}

static inline double plumb_py_clock_seconds(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return plumb_py_seconds_of_ns((int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec);
}

/* time.perf_counter() */
static inline double plumb_py_perf_counter(void)
{
    return plumb_py_clock_seconds(CLOCK_MONOTONIC);
}

/* time.time() */
static inline double plumb_py_time(void)
{
    return plumb_py_clock_seconds(CLOCK_REALTIME);
}

#endif
