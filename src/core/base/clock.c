#define _GNU_SOURCE
#include "base/clock.h"

#include <stdio.h>
#include <string.h>

int plumb_clock_tsc_is_invariant(void)
{
#ifdef PLUMB_CLOCK_TSC
    /* Linux lists constant_tsc and nonstop_tsc in /proc/cpuinfo when the TSC
     * ticks at one rate across frequency changes and idle states. */
    static int cached = -1;
    if (cached >= 0)
        return cached;
    int constant = 0, nonstop = 0;
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (f) {
        char line[4096];
        while (fgets(line, sizeof line, f)) {
            if (strncmp(line, "flags", 5) != 0)
                continue;
            constant = strstr(line, " constant_tsc") != NULL;
            nonstop = strstr(line, " nonstop_tsc") != NULL;
            break;
        }
        fclose(f);
    }
    cached = constant && nonstop;
    return cached;
#else
    return 0;
#endif
}

plumb_clock_mark plumb_clock_mark_now(void)
{
    plumb_clock_mark m;
    m.ns = plumb_clock_monotonic_ns();
    m.ticks = plumb_clock_ticks();
    return m;
}

double plumb_clock_ticks_per_second(plumb_clock_mark start, plumb_clock_mark *end)
{
#ifdef PLUMB_CLOCK_TSC
    *end = plumb_clock_mark_now();
    while (end->ns - start.ns < 1000000)
        *end = plumb_clock_mark_now();
    return (double)(end->ticks - start.ticks) * 1e9 / (double)(end->ns - start.ns);
#else
    *end = plumb_clock_mark_now();
    (void)start;
    return 1e9;
#endif
}
